# fsm.tcl --
#
#	p2p::fsm: a small finite-state machine class for the network's
#	nodes (the authority connection and the peer mesh of a worker).
#
#	A machine has named states, each with optional -enter and -leave
#	hooks, and optional transitions FROM -> TO with an -change hook.
#	Hooks are command prefixes called at global level with three
#	arguments appended: the machine, the state left and the state
#	entered. `goto` runs, in this order,
#
#	    leave hook of the old state   (state still the old one)
#	    change hook of the transition (state already the new one)
#	    enter hook of the new state
#
#	When any of them raises an error the machine is back in the old
#	state and goto raises that error to its caller: the transition did
#	not happen (hooks that already ran are not undone; they should only
#	do what is safe to repeat).
#
#	A goto called from inside a hook of the same machine is queued and
#	made once the current transition has completed (it is dropped if
#	that transition is rolled back); it returns the empty string.

namespace eval ::p2p {}

oo::class create ::p2p::fsm {
    variable State States Transitions Busy Queue History Name

    # USAGE: p2p::fsm new|create name ?-name text? ?-initial state?
    #	The machine starts in -initial (default "idle"), a state that is
    #	created if needed; its enter hook does not run.
    constructor {args} {
	set States {}
	set Transitions {}
	set Busy 0
	set Queue {}
	set History {}
	set Name [self]
	set initial idle
	if {[llength $args] % 2} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"p2p::fsm new ?-name text?\
		?-initial state?\""
	}
	foreach {opt value} $args {
	    switch -exact -- $opt {
		-name {set Name $value}
		-initial {set initial $value}
		default {
		    return -code error \
			-errorcode [list P2P USAGE OPTION $opt] \
			"bad option \"$opt\": must be -initial or -name"
		}
	    }
	}
	my state $initial
	set State $initial
    }

    # USAGE: $fsm state ?name ?-enter cmd? ?-leave cmd??
    #	Without arguments: the current state. With a name: declares the
    #	state (or changes its hooks) and returns the name.
    method state {args} {
	if {[llength $args] == 0} {
	    return $State
	}
	set args [lassign $args name]
	if {$name eq "" || [llength $args] % 2} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] state ?name ?-enter cmd?\
		?-leave cmd??\""
	}
	if {![dict exists $States $name]} {
	    dict set States $name {-enter {} -leave {}}
	}
	foreach {opt value} $args {
	    if {$opt ni {-enter -leave}} {
		return -code error -errorcode [list P2P USAGE OPTION $opt] \
		    "bad option \"$opt\": must be -enter or -leave"
	    }
	    dict set States $name $opt $value
	}
	return $name
    }

    # USAGE: $fsm transition from to ?-change cmd?
    #	Allows the transition from -> to ("*" for either matches any
    #	state). Once a machine has transitions, goto only makes allowed
    #	ones; a machine without any allows every transition.
    method transition {args} {
	if {[llength $args] ni {2 4}} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] transition from to\
		?-change cmd?\""
	}
	lassign $args from to opt value
	if {[llength $args] == 4 && $opt ne "-change"} {
	    return -code error -errorcode [list P2P USAGE OPTION $opt] \
		"bad option \"$opt\": must be -change"
	}
	foreach s [list $from $to] {
	    if {$s ne "*"} {
		my state $s
	    }
	}
	dict set Transitions [list $from $to] $value
	return
    }

    # USAGE: $fsm states
    #	The declared states, sorted.
    method states {} {
	lsort [dict keys $States]
    }

    # USAGE: $fsm history ?n?
    #	The last n (default 20) transitions made, oldest first, each
    #	{ms from to}.
    method history {{n 20}} {
	lrange $History end-[expr {$n - 1}] end
    }

    # USAGE: $fsm goto state
    #	Makes the transition to state, running the hooks (see the file
    #	header). Returns the new state.
    method goto {args} {
	if {[llength $args] != 1} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] goto state\""
	}
	set to [lindex $args 0]
	if {![dict exists $States $to]} {
	    set valid [lsort [dict keys $States]]
	    return -code error -errorcode [list P2P FSM UNKNOWN $to] \
		"unknown state \"$to\" in $Name: must be [my Or $valid]"
	}
	if {$Busy} {
	    lappend Queue $to
	    return
	}
	set from $State
	set change [my Allowed $from $to]
	set Busy 1
	try {
	    my Hook [dict get $States $from -leave] $from $to
	    set State $to
	    my Hook $change $from $to
	    my Hook [dict get $States $to -enter] $from $to
	} on error {msg opts} {
	    set State $from
	    set Queue {}
	    set Busy 0
	    dict set opts -errorinfo "[dict get $opts -errorinfo]\n \
		(transition $from -> $to of $Name, rolled back)"
	    return -options $opts $msg
	}
	set Busy 0
	lappend History [list [clock milliseconds] $from $to]
	if {[llength $History] > 100} {
	    set History [lrange $History end-49 end]
	}
	# Queued gotos, in order; the first that fails stops the rest.
	while {[llength $Queue]} {
	    set Queue [lassign $Queue next]
	    my goto $next
	}
	return $State
    }

    # Allowed --
    #	The change hook of the transition from -> to, or an error when
    #	the machine has transitions and none matches.
    method Allowed {from to} {
	if {[dict size $Transitions] == 0} {
	    return {}
	}
	foreach key [list [list $from $to] [list $from *] [list * $to] \
		[list * *]] {
	    if {[dict exists $Transitions $key]} {
		return [dict get $Transitions $key]
	    }
	}
	set valid {}
	dict for {key cmd} $Transitions {
	    lassign $key f t
	    if {$f eq $from || $f eq "*"} {
		lappend valid $t
	    }
	}
	if {[llength $valid] == 0} {
	    set must "no transition leaves \"$from\""
	} else {
	    set must "must be [my Or [lsort -unique $valid]]"
	}
	return -level 2 -code error \
	    -errorcode [list P2P FSM TRANSITION $from $to] \
	    "no transition from \"$from\" to \"$to\" in $Name: $must"
    }

    # Hook --
    #	Calls a hook prefix (if any) at global level.
    method Hook {cmd from to} {
	if {[llength $cmd]} {
	    uplevel #0 [list {*}$cmd [self] $from $to]
	}
    }

    # Or --
    #	"a", "a or b", "a, b, or c".
    method Or {l} {
	switch -- [llength $l] {
	    0 {return "(none)"}
	    1 {return [lindex $l 0]}
	    2 {return [join $l " or "]}
	    default {return "[join [lrange $l 0 end-1] {, }], or [lindex $l end]"}
	}
    }
}
