# netproto.tcl --
#
#	The protocols of the network (DESIGN 3): what an authority accepts
#	from nodes (p2p:authority<-node/1), what a node accepts from an
#	authority (p2p:node<-authority/1). Every command is a thin proc that
#	finds the node object owning the handler the message arrived on
#	(p2p::caller) and calls its method On<command> with the cid and the
#	message's words. Objects claim their handlers with
#	p2p::net::own handler object.
#
#	A method's non-empty result is sent back as the reply; methods that
#	must not reply return "".

namespace eval ::p2p::net {
    # handler -> owning node object
    variable Owners {}
}

# USAGE: p2p::net::own handler object
#	Messages arriving on handler are dispatched to object's methods.
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
    if {[llength $argList] % 2} {
	return -code error -level 2 -errorcode {TCL WRONGARGS} \
	    "wrong # args: should be \"$class new -authorities list\
	    ?-option value ...?\""
    }
    foreach {opt value} $argList {
	if {![dict exists $defaults $opt]} {
	    return -code error -level 2 \
		-errorcode [list P2P USAGE OPTION $opt] \
		"bad option \"$opt\": must be [join [lsort [dict keys $defaults]] {, }]"
	}
	dict set defaults $opt $value
    }
    if {[llength [dict get $defaults -authorities]] == 0} {
	return -code error -level 2 -errorcode {P2P USAGE NOAUTHORITY} \
	    "no authority given: use -authorities {host:port ...}"
    }
    return $defaults
}

proc ::p2p::net::own {handler object} {
    variable Owners
    dict set Owners $handler $object
    return
}

# USAGE: p2p::net::disown handler
proc ::p2p::net::disown {handler} {
    variable Owners
    dict unset Owners $handler
    return
}

# Dispatch --
#	Calls On$command of the owner of the calling handler with the cid
#	and args.
proc ::p2p::net::Dispatch {command args} {
    variable Owners
    lassign [::p2p::caller] handler cid
    if {![dict exists $Owners $handler]} {
	return -code error -errorcode {P2P NET NOOWNER} \
	    "no node owns handler \"$handler\""
    }
    set obj [dict get $Owners $handler]
    tailcall [info object namespace $obj]::my On[string totitle $command] $handler $cid {*}$args
}

# p2p:authority<-node/1 -- what an authority accepts.
#   hello NETWORK ROLE        admit a foreman or a status client
#   register INFO             INFO dict: network address slots kinds
#                             wonks price peers; reply `registered ADDR`
#                             (after an `options` push)
#   heartbeat INFO            the same, no options push, no reply
#   peers ?N?                 reply `peers {ADDR ...}` (random, not asker)
#   workers ?N?               reply `workers {INFO ...}`
#   status                    reply `status DICT`
::p2p::protocol register p2p:authority<-node/1 {
    foreach c {hello register heartbeat peers workers status} {
	define $c {args} "::p2p::net::Dispatch $c {*}\$args"
    }
}

# p2p:node<-authority/1 -- what a node accepts from an authority.
::p2p::protocol register p2p:node<-authority/1 {
    foreach c {options registered admitted peers workers status exception} {
	define $c {args} "::p2p::net::Dispatch $c {*}\$args"
    }
}
