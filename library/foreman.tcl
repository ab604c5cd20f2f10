# foreman.tcl --
#
#	p2p::foreman: the client API of the network (DESIGN 3). It connects
#	to one of its authorities (in random order, failing over to the
#	next), says hello with its network name, and asks for workers or
#	the status. `bids` asks a few entry workers (from the authority) to
#	solicit bids through the mesh (library/bidding.tcl) and merges their
#	proffers. Running the jobs is not written yet.
#
#	The methods are synchronous: they run the event loop (as vwait
#	does) until the answer arrives or -timeout ms have passed.

namespace eval ::p2p {}

oo::class create ::p2p::foreman {
    superclass ::p2p::net::node
    mixin ::p2p::farming
    variable Config Client Reply Seq Conns ConnOf ConnUp Outbox Rtt Pings \
	Rounds ConnVer Security

    # USAGE: p2p::foreman new -authorities {host:port?/NODEID? ...}
    #	?-network name? ?-timeout ms? ?-offerttl ms? ?-data dir?
    #	?-ttl n? ?-hop ms? ?-entries n?	(the solicitations of submit)
    #	?-identity keypair? ?-secure 1? ?-netsecret string?
    constructor {args} {
	set Config [dict create -authorities {} -network default \
	    -timeout 3000 -offerttl 30000 -data "" -ttl 4 -hop 250 -entries 3 \
	    -identity "" -secure 1 -netsecret ""]
	set Config [p2p::net::nodeOptions p2p::foreman $Config $args]
	set Security [p2p::net::security $Config]
	foreach opt {-ttl -hop -entries -offerttl} {
	    set v [dict get $Config $opt]
	    if {![string is integer -strict $v] || $v <= 0} {
		return -code error -errorcode [list P2P USAGE BADVALUE $opt] \
		    "bad value \"$v\" for $opt: must be a positive integer"
	    }
	}
	set Client ""
	set Seq 0
	set Conns {}
	set ConnOf {}
	set ConnUp {}
	set ConnVer {}
	set Outbox {}
	set Rtt {}
	set Pings {}
	set Rounds {}
	array set Reply {}
	my FarmInit
	my PayInit
    }

    destructor {
	my Drop
	catch {my FarmDestroy}
	catch {my PayDestroy}
	if {[info exists Rounds]} {
	    dict for {token round} $Rounds {
		catch {after cancel [dict get $round timer]}
	    }
	}
	if {[info exists Conns]} {
	    dict for {addr c} $Conns {
		::p2p::net::disown $c
		catch {$c configure -onprotocol {} -ondisconnect {}}
		catch {$c destroy}
	    }
	}
    }

    # USAGE: $f bids -job dict ?-timeout ms? ?-ttl n? ?-entries n?
    #	?-hop ms? ?-declined varName?
    #	-> the bids (dicts: address price wonks free slots kinds latency
    #	   hops), best first: lowest price, then lowest wonks (unknown
    #	   last), then lowest latency. One solicitation with the token sent
    #	   to -entries workers (default 3) from the authority, spreading
    #	   -ttl hops (default 4) through the mesh with -hop ms (default
    #	   250) allowed per hop; it returns when every entry answered or
    #	   after -timeout ms (default ttl * hop + 1000). The workers that
    #	   declined, and why, go to the variable -declined names (a list
    #	   of dicts: address reason).
    method bids {args} {
	set o [dict create -job {} -timeout "" -ttl 4 -entries 3 -hop 250 \
	    -declined ""]
	set o [::p2p::net::parseOptions $o $args \
	    "[self] bids -job dict ?-option value ...?"]
	if {[catch {dict size [dict get $o -job]}]} {
	    return -code error -errorcode {P2P USAGE BADVALUE -job} \
		"bad value for -job: must be a dict (kind, price, ...)"
	}
	foreach opt {-ttl -entries -hop} {
	    set v [dict get $o $opt]
	    if {![string is integer -strict $v] || $v <= 0} {
		return -code error -errorcode [list P2P USAGE BADVALUE $opt] \
		    "bad value \"$v\" for $opt: must be a positive integer"
	    }
	}
	set timeout [dict get $o -timeout]
	if {$timeout eq ""} {
	    set timeout [expr {[dict get $o -ttl] * [dict get $o -hop] + 1000}]
	}
	if {[dict get $o -declined] ne ""} {
	    upvar 1 [dict get $o -declined] declined
	}
	set declined {}
	set round [my Solicit [dict get $o -job] [dict get $o -ttl] \
	    [dict get $o -hop] [dict get $o -entries] $timeout]
	set declined [dict get $round declines]
	my Rank [dict get $round bids]
    }

    # USAGE: $f id		-> its node id (p2p::identity id)
    method id {} {
	p2p::identity id [dict get $Security -identity public]
    }

    # USAGE: $f lastRound	-> dict of the last bids round: token, bids,
    #				   declines, entries, messages, ms, late
    method lastRound {} {
	dict get $Rounds last
    }

    # Solicit --
    #	One solicitation round, waited for; returns its dict (see
    #	lastRound).
    method Solicit {job ttl hop entries timeout} {
	set var [my varname Reply]
	set token [my SolicitStart $job $ttl $hop $entries $timeout \
	    [list ::apply {{var round} {
		set ${var}(round-[dict get $round token]) $round
	    }} $var]]
	while {![info exists Reply(round-$token)]} {
	    ::p2p::vwait $var
	}
	set round $Reply(round-$token)
	unset Reply(round-$token)
	return $round
    }

    # SolicitStart --
    #	Starts a solicitation round: the token goes to entries entry
    #	workers; when all answered, or after timeout ms, done is called
    #	with the round's dict appended. Returns the token.
    method SolicitStart {job ttl hop entries timeout done} {
	set infos [my workers $entries]
	if {[llength $infos] == 0} {
	    return -code error -errorcode {P2P NET NOWORKERS} \
		"no workers: the authority [my authority] knows none"
	}
	set token [format %08x%08x [expr {int(rand() * 0xffffffff)}] \
	    [expr {int(rand() * 0xffffffff)}]]-[incr Seq]
	set entryAddrs [lmap info $infos {dict get $info address}]
	dict set Rounds $token [dict create token $token bids {} \
	    declines {} entries $entryAddrs waiting $entryAddrs \
	    messages [expr {2 * [llength $entryAddrs]}] late {} \
	    unreachable {} start [clock microseconds] done $done \
	    timer [after $timeout [list [namespace which my] SolicitEnd $token]]]
	::p2p::log event system solicit "" \
	    "token $token ttl $ttl to [join $entryAddrs {, }]"
	foreach addr $entryAddrs {
	    my SendWorker $addr [list solicit $token $ttl {} $job $hop]
	}
	return $token
    }

    # SolicitEnd --
    #	Closes a round and calls its done callback.
    method SolicitEnd {token} {
	if {![dict exists $Rounds $token]} {
	    return
	}
	set round [dict get $Rounds $token]
	dict unset Rounds $token
	after cancel [dict get $round timer]
	set done [dict get $round done]
	dict set round late [dict get $round waiting]
	dict set round ms [expr {([clock microseconds]
	    - [dict get $round start]) / 1000.0}]
	set round [dict remove $round waiting done timer start]
	dict set Rounds last $round
	::p2p::log event system bids "" "token $token:\
	    [llength [dict get $round bids]] bids,\
	    [llength [dict get $round declines]] declines in\
	    [dict get $round ms] ms"
	uplevel #0 [list {*}$done $round]
    }

    # Rank --
    #	Bids best first: price, then wonks (unknown, -1, last), then
    #	latency. lsort is stable, so sorting by the least important key
    #	first gives the order.
    method Rank {bids} {
	set bids [lsort -real -index 0 [lmap b $bids {
	    list [dict get $b latency] $b
	}]]
	set bids [lsort -real -index 0 [lmap pair $bids {
	    set w [dict get [lindex $pair 1] wonks]
	    list [expr {$w < 0 ? 1e18 : $w}] [lindex $pair 1]
	}]]
	set bids [lsort -real -index 0 [lmap pair $bids {
	    list [dict get [lindex $pair 1] price] [lindex $pair 1]
	}]]
	lmap pair $bids {lindex $pair 1}
    }

    # SendWorker --
    #	Sends a message to a worker, connecting first if needed (the
    #	message waits in an outbox until the connection is up).
    method SendWorker {addr message} {
	if {![dict exists $Conns $addr]} {
	    my WorkerConnect $addr
	}
	set c [dict get $Conns $addr]
	if {[dict get $ConnUp $addr]} {
	    ::p2p::net::tell "" $c $message
	} else {
	    dict lappend Outbox $addr $message
	}
    }

    method WorkerConnect {addr} {
	set me [namespace which my]
	set c [p2p::client new -address $addr -async 1 {*}$Security \
	    -protocol p2p:worker<-foreman -timeout [dict get $Config -timeout] \
	    -onprotocol [list $me WorkerUp $addr] \
	    -ondisconnect [list $me WorkerLost $addr]]
	::p2p::net::own $c [self]
	::p2p::protocol init $c p2p:foreman<-worker
	dict set Conns $addr $c
	dict set ConnOf $c $addr
	dict set ConnUp $addr 0
	dict set Outbox $addr {}
	if {[catch {$c connect} msg]} {
	    after 0 [list $me WorkerLost $addr $c "" $msg]
	}
    }

    method WorkerUp {addr h cid protocol} {
	if {![dict exists $Conns $addr] || [dict get $Conns $addr] ne $h} {
	    return
	}
	dict set ConnUp $addr 1
	# The version of p2p:worker<-foreman the connection speaks.
	dict set ConnVer $addr [lindex [split $protocol /] end]
	::p2p::net::tell "" $h [list hello [dict get $Config -network] foreman]
	dict set Pings [incr Seq] [list $addr [clock microseconds]]
	::p2p::net::tell "" $h [list ping $Seq]
	foreach message [dict get $Outbox $addr] {
	    ::p2p::net::tell "" $h $message
	}
	dict set Outbox $addr {}
    }

    method DropWorker {addr} {
	if {[dict exists $Conns $addr]} {
	    set c [dict get $Conns $addr]
	    dict unset Conns $addr
	    dict unset ConnOf $c
	    dict unset ConnUp $addr
	    dict unset ConnVer $addr
	    dict unset Outbox $addr
	    ::p2p::net::disown $c
	    catch {$c configure -onprotocol {} -ondisconnect {}}
	    after idle [list catch [list $c destroy]]
	}
    }

    method WorkerLost {addr h cid reason} {
	if {![dict exists $Conns $addr] || [dict get $Conns $addr] ne $h} {
	    return
	}
	my DropWorker $addr
	::p2p::log event system disconnect $addr "worker: $reason"
	dict for {token round} $Rounds {
	    if {$token ne "last" && $addr in [dict get $round waiting]} {
		dict update Rounds $token r {
		    dict lappend r unreachable [list $addr $reason]
		}
		my Answered $token $addr
	    }
	}
	my JobsLost $addr $reason
    }

    # Answered --
    #	An entry worker answered (or is gone).
    method Answered {token addr} {
	set waiting [dict get $Rounds $token waiting]
	set i [lsearch -exact $waiting $addr]
	if {$i >= 0} {
	    set waiting [lreplace $waiting $i $i]
	    dict set Rounds $token waiting $waiting
	}
	if {[llength $waiting] == 0} {
	    my SolicitEnd $token
	}
    }

    # ConnAddr --
    #	The worker address of a connection of this foreman.
    method ConnAddr {h} {
	if {[dict exists $ConnOf $h]} {
	    return [dict get $ConnOf $h]
	}
	return ""
    }

    # USAGE: $f workers ?n?	-> list of worker info dicts (entry points)
    method workers {{n ""}} {
	lindex [my Ask [list workers {*}$n] workers] 0
    }

    # USAGE: $f status		-> the authority's status dict
    method status {} {
	lindex [my Ask status status] 0
    }

    # USAGE: $f authority		-> the authority it talks to, "" if none
    method authority {} {
	if {$Client eq "" || [$Client cid] eq ""} {
	    return ""
	}
	$Client cget -address
    }

    # Ask --
    #	Sends request to the authority and waits for the reply whose
    #	first word is answer. On a lost connection, retries once through
    #	another authority.
    method Ask {request answer} {
	for {set try 0} {$try < 2} {incr try} {
	    my Connect
	    unset -nocomplain Reply($answer)
	    ::p2p::net::tell "" $Client $request
	    set result [my Wait $answer]
	    if {[lindex $result 0] eq "ok"} {
		return [lindex $result 1]
	    }
	    if {[lindex $result 0] eq "exception"} {
		return -code error -errorcode {P2P NET EXCEPTION} \
		    [lindex $result 1]
	    }
	    my Drop
	}
	return -code error -errorcode {P2P NET LOST} \
	    "lost the authority while waiting for \"$answer\""
    }

    # Wait --
    #	{ok words}, {exception msg}, {lost reason} or a timeout error.
    method Wait {answer} {
	set var [my varname Reply]
	set id [after [dict get $Config -timeout] \
	    [list set ${var}($answer) {timeout {}}]]
	while {![info exists Reply($answer)] && ![info exists Reply(-)]} {
	    ::p2p::vwait $var
	}
	after cancel $id
	if {[info exists Reply(-)]} {
	    set r $Reply(-)
	    unset Reply(-)
	    return $r
	}
	set r $Reply($answer)
	unset Reply($answer)
	if {[lindex $r 0] eq "timeout"} {
	    return -code error -errorcode {P2P TIMEOUT} \
		"no \"$answer\" from authority [my authority] within\
		[dict get $Config -timeout] ms"
	}
	return $r
    }

    # Connect --
    #	Makes sure there is an admitted connection to an authority.
    method Connect {} {
	if {$Client ne "" && [$Client cid] ne ""} {
	    return
	}
	my Drop
	set tried {}
	foreach entry [p2p::net::shuffle [dict get $Config -authorities]] {
	    lassign [p2p::net::authority $entry] addr pin
	    set c [p2p::client new -address $addr {*}$Security \
		-protocol p2p:authority<-node \
		-timeout [dict get $Config -timeout] \
		-ondisconnect [list [namespace which my] Lost]]
	    ::p2p::net::own $c [self]
	    ::p2p::protocol init $c p2p:node<-authority
	    if {[catch {$c connect} msg]
		    || [set msg [p2p::net::pin $c [$c cid] $pin]] ne ""} {
		lappend tried "$addr ($msg)"
		::p2p::net::disown $c
		$c destroy
		continue
	    }
	    set Client $c
	    unset -nocomplain Reply(admitted) Reply(-)
	    ::p2p::net::tell "" $c [list hello [dict get $Config -network] foreman]
	    set r [my Wait admitted]
	    if {[lindex $r 0] eq "ok"} {
		::p2p::log event system admitted $addr foreman
		return
	    }
	    if {[lindex $r 0] eq "exception"} {
		my Drop
		return -code error -errorcode {P2P NET REFUSED} [lindex $r 1]
	    }
	    lappend tried "$addr ([lindex $r 1])"
	    my Drop
	}
	return -code error -errorcode {P2P NET NOAUTHORITY} \
	    "no authority reachable: tried [join $tried {, }]"
    }

    method Drop {} {
	if {[info exists Client] && $Client ne ""} {
	    ::p2p::net::disown $Client
	    catch {$Client destroy}
	    set Client ""
	}
    }

    # Lost --
    #	The authority's connection ended. An exception that came just
    #	before the end (a refusal) is kept: it says why.
    method Lost {h cid reason} {
	if {$h eq $Client} {
	    if {![info exists Reply(-)]} {
		set Reply(-) [list lost $reason]
	    }
	    my Resend
	}
    }

    # p2p:node<-authority/1
    method OnAdmitted {h cid network} {
	set Reply(admitted) [list ok $network]
	return
    }
    method OnWorkers {h cid workers} {
	set Reply(workers) [list ok [list $workers]]
	return
    }
    method OnStatus {h cid status} {
	set Reply(status) [list ok [list $status]]
	return
    }
    method OnBalance {h cid account n} {
	set Reply(balance) [list ok [list $account $n]]
	return
    }
    method OnHistory {h cid account rows} {
	set Reply(history) [list ok [list $account $rows]]
	return
    }
    method OnException {h cid message} {
	if {$h ne $Client} {
	    ::p2p::log event error exception [my ConnAddr $h] $message
	    return
	}
	set Reply(-) [list exception $message]
	return
    }

    # p2p:foreman<-worker/1 and /2
    method OnWelcome {h cid address} {
	return
    }
    method OnPong {h cid seq} {
	if {[dict exists $Pings $seq]} {
	    lassign [dict get $Pings $seq] addr sent
	    dict unset Pings $seq
	    dict set Rtt $addr [expr {[clock microseconds] - $sent}]
	}
	return
    }
    method OnProffer {h cid token bids declines {stats {}}} {
	set addr [my ConnAddr $h]
	if {![dict exists $Rounds $token] || $token eq "last"
		|| $addr ni [dict get $Rounds $token waiting]} {
	    ::p2p::log event error proffer $addr "unexpected proffer $token"
	    return
	}
	set rtt [expr {[dict exists $Rtt $addr]
	    ? [dict get $Rtt $addr] / 1000.0 : 0.0}]
	foreach bid $bids {
	    if {[catch {dict get $bid latency} latency]
		    || ![string is double -strict $latency]} {
		continue
	    }
	    dict set bid latency [expr {round(($latency + $rtt) * 1000) / 1000.0}]
	    dict update Rounds $token r {
		dict lappend r bids $bid
	    }
	}
	dict update Rounds $token r {
	    dict lappend r declines {*}$declines
	    if {![catch {dict get $stats messages} n]
		    && [string is integer -strict $n]} {
		dict incr r messages $n
	    }
	}
	my Answered $token $addr
	return
    }

}
