# options.tcl --
#
#	p2p::options: named settings of a node (max_peer_connections and the
#	like), with defaults and descriptions, change traces, and a way for a
#	peer (an authority, usually) to set them through an `options`
#	protocol command.
#
#	Options live in the interpreter: one node per process, as a rule.
#	Virtual peers sharing one process share their options too.

namespace eval ::p2p::options {
    namespace ensemble create -map {
	apply	::p2p::options::Apply
	forget	::p2p::options::Forget
	get	::p2p::options::Get
	info	::p2p::options::Info
	names	::p2p::options::Names
	receive	::p2p::options::Receive
	register ::p2p::options::Register
	reset	::p2p::options::Reset
	set	::p2p::options::Set
	trace	::p2p::options::Trace
	untrace	::p2p::options::Untrace
    }

    # name -> dict value, default, description
    variable Options {}
    # name -> list of command prefixes
    variable Traces {}
}

# USAGE: p2p::options register name default ?description?
#	Declares an option. Registering a name again changes its default and
#	description and keeps its current value. Returns the current value.
proc ::p2p::options::Register {name default {description ""}} {
    variable Options
    if {$name eq ""} {
	return -code error -errorcode {P2P OPTION BADNAME {}} \
	    "option name must not be empty"
    }
    if {[dict exists $Options $name]} {
	dict set Options $name default $default
	dict set Options $name description $description
    } else {
	dict set Options $name [dict create value $default \
	    default $default description $description]
    }
    return [dict get $Options $name value]
}

# USAGE: p2p::options get name
proc ::p2p::options::Get {name} {
    variable Options
    Known $name
    return [dict get $Options $name value]
}

# USAGE: p2p::options set name value
#	Sets an option; its traces run when the value changes. Returns the
#	value.
proc ::p2p::options::Set {name value} {
    Known $name
    Change $name $value
    return $value
}

# USAGE: p2p::options reset name
#	Sets an option back to its default. Returns the value.
proc ::p2p::options::Reset {name} {
    variable Options
    Known $name
    set value [dict get $Options $name default]
    Change $name $value
    return $value
}

# USAGE: p2p::options names ?pattern?
#	Registered option names matching the glob pattern, sorted.
proc ::p2p::options::Names {{pattern *}} {
    variable Options
    lsort [dict keys $Options $pattern]
}

# USAGE: p2p::options info name
#	A dict with the keys value, default and description.
proc ::p2p::options::Info {name} {
    variable Options
    Known $name
    return [dict get $Options $name]
}

# USAGE: p2p::options forget name
#	Removes an option and its traces.
proc ::p2p::options::Forget {name} {
    variable Options
    variable Traces
    Known $name
    dict unset Options $name
    dict unset Traces $name
    return
}

# USAGE: p2p::options trace name command
#	command (a prefix) is called with the name and the new value,
#	at global level, each time the option's value changes. Errors in it
#	go to the background error handler.
proc ::p2p::options::Trace {name command} {
    variable Traces
    Known $name
    dict lappend Traces $name $command
    return
}

# USAGE: p2p::options untrace name command
#	Removes a trace added with p2p::options trace (no error if absent).
proc ::p2p::options::Untrace {name command} {
    variable Traces
    Known $name
    if {[dict exists $Traces $name]} {
	set l [dict get $Traces $name]
	set i [lsearch -exact $l $command]
	if {$i >= 0} {
	    dict set Traces $name [lreplace $l $i $i]
	}
    }
    return
}

# USAGE: p2p::options apply settings
#	settings is a dict name -> value. Known options are set, unknown
#	ones left alone. Returns the sorted list of names that were ignored.
proc ::p2p::options::Apply {settings} {
    variable Options
    if {[catch {dict size $settings}]} {
	return -code error -errorcode {P2P OPTION BADSETTINGS} \
	    "settings must be a dict of option name -> value"
    }
    set ignored {}
    dict for {name value} $settings {
	if {[dict exists $Options $name]} {
	    Change $name $value
	} else {
	    lappend ignored $name
	}
    }
    return [lsort -unique $ignored]
}

# USAGE: p2p::options receive ?name value ...?
#	For protocol bodies:  define options {args} {p2p::options receive {*}$args}
#	(or `include options`). Applies the settings like p2p::options apply,
#	logs the names it ignored (channel system, kind options) and returns
#	nothing, so that no reply goes back to the peer.
proc ::p2p::options::Receive {args} {
    if {[llength $args] % 2} {
	return -code error -errorcode {P2P OPTION BADSETTINGS} \
	    "options must come in name value pairs"
    }
    set ignored [Apply $args]
    if {[llength $ignored]} {
	set peer ""
	if {![catch {::p2p::caller} who]} {
	    lassign $who handler cid
	    catch {$handler connectionName $cid} peer
	}
	::p2p::log event system options $peer \
	    "ignored unknown options: [join $ignored {, }]"
    }
    return
}

# Known --
#	Errors unless name is a registered option.
proc ::p2p::options::Known {name} {
    variable Options
    if {[dict exists $Options $name]} {
	return
    }
    set valid [lsort [dict keys $Options]]
    switch -- [llength $valid] {
	0 {
	    set must "no options are registered"
	}
	1 {
	    set must "must be [lindex $valid 0]"
	}
	2 {
	    set must "must be [join $valid { or }]"
	}
	default {
	    set must "must be [join [lrange $valid 0 end-1] {, }],\
		or [lindex $valid end]"
	}
    }
    return -level 2 -code error -errorcode [list P2P OPTION UNKNOWN $name] \
	"unknown option \"$name\": $must"
}

# Change --
#	Stores a value and runs the traces when it differs from the old one.
proc ::p2p::options::Change {name value} {
    variable Options
    variable Traces
    if {[dict get $Options $name value] eq $value} {
	return
    }
    dict set Options $name value $value
    if {![dict exists $Traces $name]} {
	return
    }
    foreach command [dict get $Traces $name] {
	if {[catch {uplevel #0 [linsert $command end $name $value]} msg opts]} {
	    set handler [interp bgerror {}]
	    catch {uplevel #0 [linsert $handler end $msg $opts]}
	}
    }
}
