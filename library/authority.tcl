# authority.tcl --
#
#	p2p::authority: the superpeer of a network (DESIGN 3). It registers
#	workers (address, slots, kinds, wonks, price, peers, last seen),
#	expires the silent ones, answers `peers` with a bounded random
#	sample, `workers` with entry points for foremen, pushes its option
#	settings to every node that registers, and reports `status`.
#	Nodes of another network are refused at their first message.

namespace eval ::p2p {}

oo::class create ::p2p::authority {
    variable Server Network Expire Sample Options Workers Admitted \
	ExpireId Address Security

    # USAGE: p2p::authority new ?-port 9001? ?-host 127.0.0.1?
    #	?-network name? ?-data dir? ?-expire ms? ?-sample n?
    #	?-options dict? ?-ledger none|sqlite:PATH|postgres://...?
    #	?-grant n? ?-identity keypair? ?-secure 1? ?-netsecret string?
    constructor {args} {
	set opts [dict create -port 9001 -host 127.0.0.1 -network default \
	    -data "" -expire 30000 -sample 20 -options {} -ledger "" \
	    -grant 100 -identity "" -secure 1 -netsecret ""]
	if {[llength $args] % 2} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"p2p::authority new ?-option value\
		...?\""
	}
	foreach {opt value} $args {
	    if {![dict exists $opts $opt]} {
		return -code error -errorcode [list P2P USAGE OPTION $opt] \
		    "bad option \"$opt\": must be [join [lsort [dict keys $opts]] {, }]"
	    }
	    dict set opts $opt $value
	}
	foreach opt {-expire -sample -grant} {
	    if {![string is integer -strict [dict get $opts $opt]]
		    || [dict get $opts $opt] < ($opt eq "-grant" ? 0 : 1)} {
		return -code error -errorcode [list P2P USAGE BADVALUE $opt] \
		    "bad value \"[dict get $opts $opt]\" for $opt: must be a\
		    positive integer"
	    }
	}
	set Security [::p2p::net::security $opts]
	set Network [dict get $opts -network]
	set Expire [dict get $opts -expire]
	set Sample [dict get $opts -sample]
	set Options [dict get $opts -options]
	set Workers {}
	set Admitted {}
	my BankInit [dict get $opts -data] [dict get $opts -ledger] \
	    [dict get $opts -grant]
	set Server [p2p::server new -host [dict get $opts -host] \
	    -port [dict get $opts -port] {*}$Security]
	set Address [dict get $opts -host]:[$Server cget -port]
	::p2p::net::own $Server [self]
	::p2p::protocol init $Server p2p:authority<-node
	$Server configure -ondisconnect [list [namespace which my] Dropped]
	::p2p::log attach $Server
	set ExpireId [after [expr {max(50, $Expire / 4)}] \
	    [list [namespace which my] ExpireTick]]
	::p2p::log event system start $Address \
	    "authority of network $Network, node [my id]"
    }

    destructor {
	catch {after cancel $ExpireId}
	catch {my BankDestroy}
	if {[info exists Server]} {
	    ::p2p::net::disown $Server
	    catch {$Server destroy}
	}
    }

    # USAGE: $a address		-> host:port it listens on
    method address {} {
	return $Address
    }

    # USAGE: $a id		-> its node id (p2p::identity id)
    method id {} {
	p2p::identity id [dict get $Security -identity public]
    }

    # USAGE: $a port
    method port {} {
	$Server cget -port
    }

    # USAGE: $a server		-> its p2p::server
    method server {} {
	return $Server
    }

    # USAGE: $a workers		-> dict address -> info of live workers
    method workers {} {
	return $Workers
    }

    # USAGE: $a status		-> dict network, address, workers
    method status {} {
	set now [clock milliseconds]
	set ws {}
	dict for {addr info} $Workers {
	    dict set info age [expr {$now - [dict get $info lastSeen]}]
	    dict unset info cid
	    dict set ws $addr $info
	}
	dict create network $Network address $Address workers $ws
    }

    # USAGE: $a options ?dict?	-> the settings pushed to nodes
    method options {args} {
	if {[llength $args]} {
	    set Options [lindex $args 0]
	}
	return $Options
    }

    # ------------------------------------------------------------------
    # Protocol p2p:authority<-node/1
    # ------------------------------------------------------------------

    method OnHello {h cid network {role foreman} args} {
	my CheckNetwork $h $cid $network
	dict set Admitted $cid $role
	set push [my Bind $h $cid]
	if {$push ne ""} {
	    ::p2p::net::send $Address $h $cid $push
	}
	list admitted $Network
    }

    method OnRegister {h cid info} {
	my Record $h $cid $info 1
    }

    method OnHeartbeat {h cid info} {
	my Record $h $cid $info 0
	return
    }

    method OnPeers {h cid {n ""}} {
	my Admitted $cid
	if {$n eq "" || ![string is integer -strict $n] || $n <= 0
		|| $n > $Sample} {
	    set n $Sample
	}
	set asker [dict get $Admitted $cid]
	set others [lsearch -all -inline -not -exact [dict keys $Workers] $asker]
	list peers [lrange [p2p::net::shuffle $others] 0 [expr {$n - 1}]]
    }

    method OnWorkers {h cid {n ""}} {
	my Admitted $cid
	if {$n eq "" || ![string is integer -strict $n] || $n <= 0
		|| $n > $Sample} {
	    set n $Sample
	}
	set result {}
	foreach addr [lrange [p2p::net::shuffle [dict keys $Workers]] 0 [expr {$n - 1}]] {
	    set info [dict get $Workers $addr]
	    dict unset info cid
	    lappend result $info
	}
	list workers $result
    }

    method OnStatus {h cid} {
	my Admitted $cid
	list status [my status]
    }

    # ------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------

    method CheckNetwork {h cid network} {
	if {$network ne $Network} {
	    ::p2p::log event error refused [$h connectionName $cid] \
		"network \"$network\""
	    after idle [list catch [list $h close $cid]]
	    return -level 2 -code error \
		-errorcode [list P2P NET NETWORK $network $Network] \
		"network \"$network\" refused: this authority serves network\
		\"$Network\""
	}
    }

    method Admitted {cid} {
	if {![dict exists $Admitted $cid]} {
	    return -level 2 -code error -errorcode {P2P NET NOTADMITTED} \
		"send \"hello NETWORK\" or \"register INFO\" first"
	}
    }

    # Record --
    #	Registers (first) or refreshes a worker. Returns the reply.
    method Record {h cid info first} {
	if {[catch {dict size $info}] || ![dict exists $info address]} {
	    return -level 2 -code error -errorcode {P2P NET BADINFO} \
		"bad worker info: must be a dict with at least address"
	}
	set network [expr {[dict exists $info network]
	    ? [dict get $info network] : ""}]
	my CheckNetwork $h $cid $network
	set addr [dict get $info address]
	set known [dict exists $Workers $addr]
	set entry [dict create address $addr slots 1 kinds {} wonks -1 \
	    price 0 peers {}]
	dict for {k v} $info {
	    if {$k in {slots kinds wonks price peers free}} {
		dict set entry $k $v
	    }
	}
	dict set entry lastSeen [clock milliseconds]
	dict set entry cid $cid
	if {$first} {
	    set push [my Bind $h $cid]
	    if {$push ne ""} {
		::p2p::net::send $Address $h $cid $push
		dict set entry account [lindex $push 1]
	    }
	} elseif {$known && [dict exists $Workers $addr account]} {
	    dict set entry account [dict get $Workers $addr account]
	}
	dict set Workers $addr $entry
	dict set Admitted $cid $addr
	if {!$known} {
	    ::p2p::log event system registered $addr \
		"slots [dict get $entry slots] wonks [dict get $entry wonks]"
	}
	if {!$first} {
	    return
	}
	if {[dict size $Options]} {
	    ::p2p::net::send $Address $h $cid [list options {*}$Options]
	}
	list registered $addr
    }

    method Dropped {h cid reason} {
	if {![dict exists $Admitted $cid]} {
	    return
	}
	set who [dict get $Admitted $cid]
	dict unset Admitted $cid
	if {[dict exists $Workers $who]
		&& [dict get $Workers $who cid] == $cid} {
	    dict unset Workers $who
	    ::p2p::log event system expired $who "connection lost: $reason"
	}
    }

    method ExpireTick {} {
	set now [clock milliseconds]
	dict for {addr info} $Workers {
	    if {$now - [dict get $info lastSeen] > $Expire} {
		dict unset Workers $addr
		::p2p::log event system expired $addr "silent"
	    }
	}
	set ExpireId [after [expr {max(50, $Expire / 4)}] \
	    [list [namespace which my] ExpireTick]]
    }

}
