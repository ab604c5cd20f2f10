# netproto.tcl --
#
#	The protocols of the network (DESIGN 3): what an authority accepts
#	from nodes (p2p:authority<-node/1), what a node accepts from an
#	authority (p2p:node<-authority/1), what workers of the mesh say to
#	each other (p2p:peer/1), what a worker and a foreman say to each
#	other (p2p:worker<-foreman/1 and /2, p2p:foreman<-worker/1 and
#	/2). Every command is a thin proc that
#	finds the node object owning the handler the message arrived on
#	(p2p::caller) and calls its method On<command> with the cid and the
#	message's words. Objects claim their handlers with
#	p2p::net::own handler object.
#
#	A method's non-empty result is sent back as the reply; methods that
#	must not reply return "".

namespace eval ::p2p::net {
    # handler -> {owning node object, node address for the log}
    variable Owners {}
}

# p2p::net::shuffle --
#	The list in a random order (Fisher-Yates).
proc ::p2p::net::shuffle {list} {
    set len [llength $list]
    for {set i [expr {$len - 1}]} {$i > 0} {incr i -1} {
	set j [expr {int(rand() * ($i + 1))}]
	set tmp [lindex $list $i]
	lset list $i [lindex $list $j]
	lset list $j $tmp
    }
    return $list
}

# p2p::net::nodeOptions --
#	Options of a node's constructor (`CLASS new -authorities list ?-option
#	value ...?`) applied over the defaults; every node needs an authority.
#	Errors are raised as the constructor's own (-level 2).
proc ::p2p::net::nodeOptions {class defaults argList} {
    set defaults [parseOptions $defaults $argList \
	"$class new -authorities list ?-option value ...?"]
    if {[llength [dict get $defaults -authorities]] == 0} {
	return -code error -level 2 -errorcode {P2P USAGE NOAUTHORITY} \
	    "no authority given: use -authorities {host:port ...}"
    }
    return $defaults
}

# p2p::net::parseOptions --
#	"-option value ..." applied over a dict of defaults; an odd count
#	or an option not in defaults is an error of the caller's caller
#	(-level 2), usage saying how it is called.
proc ::p2p::net::parseOptions {defaults argList usage} {
    if {[llength $argList] % 2} {
	return -code error -level 2 -errorcode {TCL WRONGARGS} \
	    "wrong # args: should be \"$usage\""
    }
    foreach {opt value} $argList {
	if {![dict exists $defaults $opt]} {
	    return -code error -level 2 \
		-errorcode [list P2P USAGE OPTION $opt] \
		"bad option \"$opt\": must be [join [lsort [dict keys $defaults]] {, }]"
	}
	dict set defaults $opt $value
    }
    return $defaults
}

# USAGE: p2p::net::own handler object ?node?
#	Messages arriving on handler are dispatched to object's methods;
#	node is the address the traffic is logged under.
# p2p::net::node --
#	The base class of worker and foreman: what a node does with a
#	message of p2p:node<-authority/1 it has no use for (nothing). A
#	class defines On<Command> for the ones it handles.
oo::class create ::p2p::net::node {
    foreach command {options registered admitted peers workers status
	    account ledger history balance} {
	method On[string totitle $command] {h cid args} {
	    return
	}
    }
}

# p2p::net::cores --
#	The number of processor cores (cached), the default of -slots.
proc ::p2p::net::cores {} {
    variable Cores
    if {![info exists Cores]} {
	set Cores 1
	catch {
	    set f [open /proc/cpuinfo]
	    set n [regexp -all -line {^processor\s*:} [read $f]]
	    close $f
	    if {$n > 0} {
		set Cores $n
	    }
	}
    }
    return $Cores
}

# p2p::net::security --
#	The handler options every server and client of a node is made
#	with, from its options -identity, -secure, -netsecret and -data:
#	its key pair (-identity, else the key file DATA/node.key, made
#	on first start, else a fresh pair for this run), encryption, and
#	the network secret. Errors are the constructor's (-level 2).
proc ::p2p::net::security {config} {
    set secure [dict get $config -secure]
    if {![string is boolean -strict $secure]} {
	return -code error -level 2 -errorcode {P2P USAGE BADVALUE -secure} \
	    "bad value \"$secure\" for -secure: must be a boolean"
    }
    set identity [dict get $config -identity]
    if {$identity eq ""} {
	set dir [dict get $config -data]
	if {$dir eq ""} {
	    set identity [p2p::identity generate]
	} elseif {[catch {
	    file mkdir $dir
	    p2p::identity file [file join $dir node.key]
	} identity opts]} {
	    return -code error -level 2 -errorcode [dict get $opts -errorcode] \
		$identity
	}
    } elseif {[catch {
	p2p::identity verify [dict get $identity public] check \
	    [p2p::identity sign [dict get $identity secret] check]
    } ok] || !$ok} {
	return -code error -level 2 -errorcode {P2P USAGE BADVALUE -identity} \
	    "bad value for -identity: must be a key pair, a dict public KEY\
	    secret KEY (p2p::identity generate)"
    }
    list -identity $identity -secure $secure \
	-netsecret [dict get $config -netsecret]
}

# p2p::net::authority --
#	An entry of -authorities, host:port or host:port/NODEID, as
#	{address id}: with NODEID, the authority there must hold the key of
#	that node id (see pin), so that no one else can pose as it.
proc ::p2p::net::authority {entry} {
    lassign [split $entry /] address id
    list $address $id
}

# p2p::net::pin --
#	"" when the peer of connection cid holds the key of node id (or id
#	is empty), else why not.
proc ::p2p::net::pin {handler cid id} {
    if {$id eq ""} {
	return ""
    }
    set got [p2p::identity id [$handler connectionKey $cid]]
    if {$got eq $id} {
	return ""
    }
    return "[$handler cget -address] is node $got, not $id"
}

# p2p::net::signed --
#	A ledger request of the account's holder (p2p:authority<-node/1):
#	COMMAND ACCOUNT {NONCE SIGNATURE} WORD ..., signed with the secret
#	key of identity. The nonce is the time in ms and 8 random bytes;
#	the signature covers the network's name, the command, the account,
#	the nonce and the words (see p2p::net::signedText).
proc ::p2p::net::signed {identity network command account words} {
    set nonce [clock milliseconds].[p2p::identity random 8]
    set sig [p2p::identity sign [dict get $identity secret] \
	[signedText $network $command $account $nonce $words]]
    list $command $account [list $nonce $sig] {*}$words
}

# p2p::net::signedText --
#	What the signature of a ledger request covers.
proc ::p2p::net::signedText {network command account nonce words} {
    list p2pjobs-ledger/1 $network $command $account $nonce {*}$words
}

# p2p::net::isRoot --
#	True when this process runs as root (cached).
proc ::p2p::net::isRoot {} {
    variable Root
    if {![info exists Root]} {
	set Root [expr {![catch {exec id -u} uid] && $uid == 0}]
    }
    return $Root
}

proc ::p2p::net::own {handler object {node ""}} {
    variable Owners
    # The object's own `my`, looked up once: Dispatch calls it directly.
    dict set Owners $handler [list $object $node \
	[info object namespace $object]::my]
    return
}

# USAGE: p2p::net::disown handler
proc ::p2p::net::disown {handler} {
    variable Owners
    dict unset Owners $handler
    return
}

# DispatchLogged --
#	What ::p2p::net::Dispatch (generic/p2pOwner.c, the protocol
#	command of every node's protocols) does while the log's traffic
#	channel is on: calls method (On<Command>) of the owner of the
#	calling handler with the cid and args, and logs the message in
#	(and the reply out) under the owner's node address.
proc ::p2p::net::DispatchLogged {command method args} {
    variable Owners
    lassign [::p2p::caller] handler cid
    if {[catch {dict get $Owners $handler} owner]} {
	return -code error -errorcode {P2P NET NOOWNER} \
	    "no node owns handler \"$handler\""
    }
    set peer [Peer $handler $cid]
    ::p2p::log event -node [lindex $owner 1] traffic in $peer $command
    if {[catch {[lindex $owner 2] $method $handler $cid {*}$args} \
	    reply opts]} {
	set usage [Usage $command $method $reply $opts]
	if {$usage ne ""} {
	    return -code error -errorcode {P2P NET WRONGARGS} $usage
	}
	return -options $opts $reply
    }
    if {$reply ne ""} {
	::p2p::log event -node [lindex $owner 1] traffic out $peer \
	    [lindex $reply 0]
    }
    return $reply
}

# Usage --
#	For an error of method that says its arguments were wrong, the
#	same said in the protocol's terms; otherwise "".
proc ::p2p::net::Usage {command method msg opts} {
    if {[dict exists $opts -errorcode]
	    && [dict get $opts -errorcode] eq {TCL WRONGARGS} && [regexp \
	    "should be \"\\S+ $method h cid ?(\[^\"\]*)\"\$" $msg -> usage]} {
	return "wrong # args: should be \"[string trim "$command $usage"]\""
    }
    return ""
}

# USAGE: p2p::net::send node handler cid message
#	Sends message on a connection, logging it (traffic out) under node.
proc ::p2p::net::send {node handler cid message} {
    if {$::p2p::log::Open && [dict get $::p2p::log::States traffic]} {
	::p2p::log event -node $node traffic out [Peer $handler $cid] \
	    [lindex $message 0]
    }
    $handler send $cid $message
}

# USAGE: p2p::net::tell node client message
#	The same for a client's own connection.
proc ::p2p::net::tell {node client message} {
    send $node $client [$client cid] $message
}

# Peer --
#	The name of a connection for the log.
proc ::p2p::net::Peer {handler cid} {
    if {[catch {$handler connectionName $cid} peer]} {
	return $cid
    }
    return $peer
}

# p2p:authority<-node/1 -- what an authority accepts.
#   hello NETWORK ROLE ?ACCOUNT SECRET?
#                             admit a foreman or a status client (with a
#                             ledger: `account NAME SECRET` pushed first)
#   register INFO             INFO dict: network address slots kinds
#                             wonks price peers; reply `registered ADDR`
#                             (after an `options` push)
#   heartbeat INFO            the same, no options push, no reply
#   peers ?N?                 reply `peers {ADDR ...}` (random, not asker)
#   workers ?N?               reply `workers {INFO ...}`
#   status                    reply `status DICT`
#   escrow, release, refund, history, balance: the ledger (banking.tcl)
::p2p::protocol register p2p:authority<-node/1 {
    foreach c {hello register heartbeat peers workers status escrow release
	    refund history balance carve} {
	forward $c ::p2p::net::Dispatch $c On[string totitle $c]
    }
}

# p2p:node<-authority/1 -- what a node accepts from an authority.
::p2p::protocol register p2p:node<-authority/1 {
    foreach c {options registered admitted peers workers status account
	    ledger history balance exception} {
	forward $c ::p2p::net::Dispatch $c On[string totitle $c]
    }
}

# p2p:peer/1 -- what workers of the mesh say to each other (symmetric:
# both ends of a link accept the same commands).
#   hello NETWORK ADDRESS     first message of the connecting side;
#                             reply `welcome ADDRESS`, or an exception
#                             and the connection closed
#   ping SEQ                  reply `pong SEQ` (round-trip latency)
#   join ADDRESS              become a mesh link; reply `joined ADDRESS`
#                             or `full ADDRESS`
#   solicit TOKEN TTL PATH JOB HOPMS
#                             ask for bids (see library/bidding.tcl);
#                             answered once by `proffer`
#   proffer TOKEN BIDS DECLINES STATS
::p2p::protocol register p2p:peer/1 {
    foreach c {hello welcome ping pong join joined full solicit proffer
	    exception} {
	forward $c ::p2p::net::Dispatch $c On[string totitle $c]
    }
}

# p2p:worker<-foreman/1 -- what a worker accepts from a foreman.
#   hello NETWORK foreman     reply `welcome ADDRESS`
#   ping SEQ                  reply `pong SEQ`
#   solicit TOKEN TTL PATH JOB HOPMS   reply `proffer ...` once
#   run JOBID TOKEN SPEC      reply `accepted JOBID` or `refused JOBID
#                             REASON`; then `progress JOBID MESSAGE`...
#                             and `result JOBID RESULT`
#   cancel JOBID              stops it (its result says cancelled)
::p2p::protocol register p2p:worker<-foreman/1 {
    foreach c {hello ping solicit run cancel} {
	forward $c ::p2p::net::Dispatch $c On[string totitle $c]
    }
}

# p2p:foreman<-worker/1 -- what a foreman accepts from a worker.
::p2p::protocol register p2p:foreman<-worker/1 {
    foreach c {welcome pong proffer accepted refused progress result
	    exception} {
	forward $c ::p2p::net::Dispatch $c On[string totitle $c]
    }
}

# p2p:worker<-foreman/2 -- /1 with jobs in batches and no `accepted`.
#   hello, ping, solicit, cancel   as in /1
#   run JOBID TOKEN SPEC      one job: `refused JOBID REASON`, or
#                             `progress JOBID MESSAGE`... then its result
#                             in `results`
#   runs JOBS                 JOBS: a list JOBID TOKEN SPEC JOBID TOKEN
#                             SPEC ...; each as run
# The worker sends results in batches, `results {JOBID RESULT ...}`: those
# of the jobs that finished while it handled one message go in one reply.
::p2p::protocol register p2p:worker<-foreman/2 {
    foreach c {hello ping solicit cancel runs} {
	forward $c ::p2p::net::Dispatch $c On[string totitle $c]
    }
    forward run ::p2p::net::Dispatch run OnRun2
}

# p2p:foreman<-worker/2 -- what a foreman accepts from a worker of /2.
::p2p::protocol register p2p:foreman<-worker/2 {
    foreach c {welcome pong proffer refused progress results exception} {
	forward $c ::p2p::net::Dispatch $c On[string totitle $c]
    }
}
