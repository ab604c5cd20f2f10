# worker.tcl --
#
#	p2p::worker: a worker node (DESIGN 3). Each object has its own
#	p2p::server, its own option values and its own state machines, so
#	that several workers (virtual peers) may live in one process.
#
#	The authority connection is a p2p::fsm with the states idle,
#	connecting, registered, waiting and refused. The worker tries its
#	authorities in random order, registers (address, slots, kinds,
#	wonks, price, peers), takes the options the authority pushes, sends
#	a heartbeat every reregister_interval ms (and soon after its peers
#	changed), and fails over to another authority when its connection
#	drops. The peer mesh is p2p::mesh (library/mesh.tcl), the answers to
#	solicitations p2p::bidding (library/bidding.tcl), both mixed in.

namespace eval ::p2p {}

oo::class create ::p2p::worker {
    superclass ::p2p::net::node
    mixin ::p2p::mesh ::p2p::bidding ::p2p::execution ::p2p::treeworker
    variable Server Address Config Opts Auth AuthClient Order Tried \
	AfterId Refused Candidates Timers Account Security AuthPin

    # Option defaults of every worker (instance values start from these,
    # then -options, then what the authority pushes).
    method Defaults {} {
	dict create max_peer_connections 4 random_peers 1 max_incoming 16 \
	    reregister_interval 10000 retry_delay 1000 connect_timeout 2000 \
	    ping_interval 5000 probe_count 8 probe_timeout 1000 \
	    rebuild_delay 200 \
	    mesh_interval 30000 token_memory 60000 max_queue 16 \
	    job_timeout 600000 sandbox_pool 8 max_output_file 16777216 \
	    solicit_rate 100 solicit_burst 200 tree_ttl 3 tree_hop 250
    }

    # USAGE: p2p::worker new -authorities {host:port?/NODEID? ...} ?-port 0?
    #	?-host 127.0.0.1? ?-slots n? ?-kinds {script exec tree}? ?-price n?
    #	?-network name? ?-options dict? ?-wonks n? ?-apps dict?
    #	?-workdir dir? ?-user name? ?-data dir? ?-identity keypair?
    #	?-secure 1? ?-netsecret string?
    constructor {args} {
	set Config [dict create -authorities {} -port 0 -host 127.0.0.1 \
	    -slots [::p2p::net::cores] -kinds {script exec tree} -price 1 \
	    -network default -options {} -wonks -1 -apps {} -workdir "" \
	    -user "" -data "" -identity "" -secure 1 -netsecret ""]
	set Config [p2p::net::nodeOptions p2p::worker $Config $args]
	set Security [p2p::net::security $Config]
	foreach opt {-slots -price} {
	    set v [dict get $Config $opt]
	    if {![string is integer -strict $v] || $v < 0} {
		return -code error -errorcode [list P2P USAGE BADVALUE $opt] \
		    "bad value \"$v\" for $opt: must be a non-negative integer"
	    }
	}
	set Opts [dict merge [my Defaults] [dict get $Config -options]]
	set Candidates {}
	set Timers {}
	set Account {}
	set AuthClient ""
	set AfterId ""
	set Tried {}
	set Refused ""
	set Server [p2p::server new -host [dict get $Config -host] \
	    -port [dict get $Config -port] {*}$Security]
	set Address [dict get $Config -host]:[$Server cget -port]
	::p2p::net::own $Server [self] $Address
	::p2p::protocol init $Server p2p:peer
	::p2p::protocol init $Server p2p:worker<-foreman
	$Server configure -ondisconnect [list [namespace which my] ServerDown]
	::p2p::log attach $Server -node $Address

	set Auth [p2p::fsm new -name "authority fsm of $Address" -initial idle]
	set me [namespace which my]
	$Auth state connecting -enter [list $me EnterConnecting]
	$Auth state registered -enter [list $me EnterRegistered]
	$Auth state waiting -enter [list $me EnterWaiting]
	$Auth state refused
	foreach {from to} {
	    idle connecting  connecting connecting  connecting registered
	    connecting waiting  connecting refused  registered connecting
	    waiting connecting  * idle
	} {
	    $Auth transition $from $to
	}
	if {[catch {dict size [dict get $Config -apps]}]} {
	    return -code error -errorcode {P2P USAGE BADVALUE -apps} \
		"bad value for -apps: must be a dict name -> program path"
	}
	my MeshInit
	my BidInit
	my ExecInit
	my Later 0 Start
	# The performance estimate, measured on libuv's thread pool.
	if {[dict get $Config -wonks] < 0} {
	    ::p2p::wonks async [list ::apply {{obj wonks} {
		if {[info object isa object $obj]} {
		    $obj SetWonks $wonks
		}
	    }} [self]]
	}
    }

    # Later --
    #	after ms, calling a method; the destructor cancels what is left.
    method Later {ms args} {
	if {[llength $Timers] > 20} {
	    set pending [after info]
	    set Timers [lmap id $Timers {
		expr {$id in $pending ? $id : [continue]}
	    }]
	}
	lappend Timers [after $ms [list [namespace which my] {*}$args]]
    }

    # SetWonks --
    #	Records the estimate; the next heartbeat carries it.
    method SetWonks {wonks} {
	dict set Config -wonks $wonks
	if {[$Auth state] eq "registered"} {
	    my Heartbeat
	}
    }

    destructor {
	catch {my MeshDestroy}
	catch {my BidDestroy}
	catch {my TreeDestroy}
	catch {my ExecDestroy}
	catch {after cancel $AfterId}
	if {[info exists Timers]} {
	    foreach id $Timers {
		after cancel $id
	    }
	}
	if {[info exists AuthClient] && $AuthClient ne ""} {
	    ::p2p::net::disown $AuthClient
	    catch {$AuthClient destroy}
	}
	if {[info exists Server]} {
	    ::p2p::net::disown $Server
	    catch {$Server destroy}
	}
	if {[info exists Auth]} {
	    catch {$Auth destroy}
	}
    }

    # USAGE: $w address		-> host:port it listens on
    method address {} {
	return $Address
    }

    # USAGE: $w state		-> state of the authority connection
    method state {} {
	$Auth state
    }

    # USAGE: $w authority		-> host:port of the authority it is
    #				   registered with, "" if none
    method authority {} {
	if {[$Auth state] ne "registered"} {
	    return ""
	}
	$AuthClient cget -address
    }

    # USAGE: $w option name ?value?	-> this worker's option value
    method option {name args} {
	if {![dict exists $Opts $name]} {
	    return -code error -errorcode [list P2P OPTION UNKNOWN $name] \
		"unknown option \"$name\": must be\
		[join [lsort [dict keys $Opts]] {, }]"
	}
	if {[llength $args]} {
	    dict set Opts $name [lindex $args 0]
	}
	dict get $Opts $name
    }

    # USAGE: $w options		-> dict of this worker's option values
    method options {} {
	return $Opts
    }

    # USAGE: $w info		-> what it registers with the authority
    method info {} {
	dict create network [dict get $Config -network] address $Address \
	    slots [dict get $Config -slots] kinds [dict get $Config -kinds] \
	    wonks [dict get $Config -wonks] price [dict get $Config -price] \
	    peers [my peers] free [my FreeSlots] done [my done] \
	    {*}[expr {[dict size $Account] ? $Account : {}}]
    }

    # USAGE: $w account		-> the name of its ledger account, "" if
    #				   none yet
    method account {} {
	expr {[dict exists $Account account] ? [dict get $Account account] : ""}
    }

    # USAGE: $w id		-> its node id (p2p::identity id)
    method id {} {
	p2p::identity id [dict get $Security -identity public]
    }

    # The authority's ledger has this worker's account (named by its key).
    method OnAccount {h cid name args} {
	set Account [dict create account $name]
	return
    }

    # Log --
    #	An event in the log, under this worker's address.
    method Log {channel kind peer message} {
	::p2p::log event -node $Address $channel $kind $peer $message
    }

    # ------------------------------------------------------------------
    # Authority connection
    # ------------------------------------------------------------------

    method Start {} {
	set Order [p2p::net::shuffle [dict get $Config -authorities]]
	set Tried {}
	$Auth goto connecting
    }

    # EnterConnecting --
    #	Connects (asynchronously) to the next authority in Order.
    method EnterConnecting {fsm from to} {
	my DropAuthClient
	if {[llength $Order] == 0} {
	    $Auth goto waiting
	    return
	}
	set Order [lassign $Order entry]
	lassign [p2p::net::authority $entry] addr AuthPin
	set me [namespace which my]
	set AuthClient [p2p::client new -address $addr -async 1 \
	    -protocol p2p:authority<-node {*}$Security \
	    -timeout [dict get $Opts connect_timeout] \
	    -onprotocol [list $me AuthUp] -ondisconnect [list $me AuthDown]]
	::p2p::net::own $AuthClient [self] $Address
	::p2p::protocol init $AuthClient p2p:node<-authority
	my Log system connecting $addr "authority"
	$AuthClient connect
    }

    method EnterRegistered {fsm from to} {
	set Order [p2p::net::shuffle [dict get $Config -authorities]]
	set Tried {}
	my Log system registered [$AuthClient cget -address] \
	    "as $Address"
	my ScheduleHeartbeat
	my fetchPeers
	my TreeRegistered
    }

    method EnterWaiting {fsm from to} {
	my Log error noauthority "" \
	    "no authority reachable: [join $Tried {; }]"
	set AfterId [after [dict get $Opts retry_delay] \
	    [list [namespace which my] Start]]
    }

    method AuthUp {h cid protocol} {
	if {$h ne $AuthClient} {
	    return
	}
	set wrong [p2p::net::pin $h $cid $AuthPin]
	if {$wrong ne ""} {
	    my Log error refused [$h cget -address] "not the authority: $wrong"
	    lappend Tried "[$h cget -address] ($wrong)"
	    $h configure -ondisconnect {}
	    $h close $cid
	    my Later 0 Failover $h
	    return
	}
	::p2p::net::tell $Address $h [list register [my info]]
    }

    method AuthDown {h cid reason} {
	if {$h ne $AuthClient} {
	    return
	}
	set addr [$h cget -address]
	lappend Tried "$addr ($reason)"
	my Log system disconnect $addr "authority: $reason"
	my Later 0 Failover $h
    }

    # Failover --
    #	After the authority connection ended: the next authority.
    method Failover {h} {
	if {$h ne $AuthClient || [$Auth state] eq "refused"} {
	    return
	}
	catch {after cancel $AfterId}
	$Auth goto connecting
    }

    method DropAuthClient {} {
	if {$AuthClient ne ""} {
	    ::p2p::net::disown $AuthClient
	    set c $AuthClient
	    set AuthClient ""
	    after idle [list catch [list $c destroy]]
	}
    }

    method ScheduleHeartbeat {} {
	catch {after cancel $AfterId}
	set AfterId [after [dict get $Opts reregister_interval] \
	    [list [namespace which my] Heartbeat]]
    }

    method Heartbeat {} {
	if {[$Auth state] ne "registered"} {
	    return
	}
	catch {::p2p::net::tell $Address $AuthClient [list heartbeat [my info]]}
	my ScheduleHeartbeat
    }

    # ------------------------------------------------------------------
    # Protocol p2p:node<-authority/1
    # ------------------------------------------------------------------

    method OnOptions {h cid args} {
	if {[llength $args] % 2} {
	    error "options must come in name value pairs"
	}
	set ignored {}
	foreach {name value} $args {
	    if {[dict exists $Opts $name]} {
		dict set Opts $name $value
	    } else {
		lappend ignored $name
	    }
	}
	my Log system options [$h cget -address] \
	    "set [join [dict keys $args] {, }]"
	if {[dict get $Opts reregister_interval] > 0
		&& [$Auth state] eq "registered"} {
	    my ScheduleHeartbeat
	}
	return
    }

    method OnRegistered {h cid address} {
	if {[$Auth state] eq "connecting"} {
	    $Auth goto registered
	}
	return
    }

    method OnException {h cid message} {
	my Log error exception [my LinkAddr $h $cid] $message
	if {$h eq $AuthClient && [string match {network * refused*} $message]} {
	    set Refused $message
	    $Auth goto refused
	}
	return
    }

    # The authority's sample of other workers: the candidates the mesh
    # probes.
    method OnPeers {h cid peers} {
	set Candidates [lsearch -all -inline -not -exact $peers $Address]
	my Log system candidates [$h cget -address] \
	    "[llength $Candidates] candidates"
	my MeshBuild
	return
    }

    # USAGE: $w candidates	-> the last peer sample from the authority
    method candidates {} {
	return $Candidates
    }

    # USAGE: $w fetchPeers ?n?	-> asks the authority for a peer sample
    #				   (the answer updates candidates)
    method fetchPeers {{n ""}} {
	if {[$Auth state] ne "registered"} {
	    return -code error -errorcode {P2P NET NOTREGISTERED} \
		"worker $Address is not registered with an authority"
	}
	if {[$AuthClient cid] eq ""} {
	    # Lost a moment ago: Failover (already scheduled) registers
	    # again, and then asks.
	    return
	}
	::p2p::net::tell $Address $AuthClient [list peers {*}$n]
	return
    }

    # USAGE: $w refused		-> why the authority refused it, or ""
    method refused {} {
	return $Refused
    }

}

# The wonks callback calls it from outside.
oo::define ::p2p::worker export SetWonks
