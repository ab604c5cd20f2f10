# foreman.tcl --
#
#	p2p::foreman: the client API of the network (DESIGN 3). This session
#	has its authority half: it connects to one of its authorities (in
#	random order, failing over to the next), says hello with its
#	network name, and asks for workers or the status. `bids` (the
#	solicitation through the mesh) is not written yet.
#
#	The methods are synchronous: they run the event loop (as vwait
#	does) until the answer arrives or -timeout ms have passed.

namespace eval ::p2p {}

oo::class create ::p2p::foreman {
    variable Config Client Reply Seq

    # USAGE: p2p::foreman new -authorities {host:port ...}
    #	?-network name? ?-timeout ms?
    constructor {args} {
	set Config [dict create -authorities {} -network default \
	    -timeout 3000]
	set Config [p2p::net::nodeOptions p2p::foreman $Config $args]
	set Client ""
	set Seq 0
	array set Reply {}
    }

    destructor {
	my Drop
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
	    $Client send $request
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
	    vwait $var
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
	foreach addr [p2p::net::shuffle [dict get $Config -authorities]] {
	    set c [p2p::client new -address $addr \
		-protocol p2p:authority<-node \
		-timeout [dict get $Config -timeout] \
		-ondisconnect [list [namespace which my] Lost]]
	    ::p2p::net::own $c [self]
	    ::p2p::protocol init $c p2p:node<-authority
	    if {[catch {$c connect} msg]} {
		lappend tried "$addr ($msg)"
		::p2p::net::disown $c
		$c destroy
		continue
	    }
	    set Client $c
	    unset -nocomplain Reply(admitted) Reply(-)
	    $c send [list hello [dict get $Config -network] foreman]
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

    method Lost {h cid reason} {
	if {$h eq $Client} {
	    set Reply(-) [list lost $reason]
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
    method OnPeers {h cid peers} {
	return
    }
    method OnOptions {h cid args} {
	return
    }
    method OnRegistered {h cid args} {
	return
    }
    method OnException {h cid message} {
	set Reply(-) [list exception $message]
	return
    }

}
