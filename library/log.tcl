# log.tcl --
#
#	p2p::log: the event log of a node. One event per line, each line a
#	Tcl list of six elements
#
#	    time node channel kind peer message
#
#	time is ISO-8601 UTC with milliseconds (2026-11-21T17:03:05.123Z).
#	Control characters inside a field are written as backslash escapes,
#	so that an event never spans two lines and reads back unchanged as a
#	list. Lines are buffered and flushed whenever the event loop goes
#	idle (and by p2p::log flush, p2p::log file, and exit).
#
#	Logging never raises into its caller because of the file: a failed
#	write is reported once to the background error handler, and the
#	events after it are dropped until p2p::log file is called again.

namespace eval ::p2p::log {
    namespace ensemble create -map {
	attach	 ::p2p::log::Attach
	channel	 ::p2p::log::Channel
	channels ::p2p::log::Channels
	detach	 ::p2p::log::Detach
	event	 ::p2p::log::Event
	file	 ::p2p::log::File
	flush	 ::p2p::log::Flush
	node	 ::p2p::log::Node
	read	 ::p2p::log::Read
    }

    variable Path ""		;# The log file, "" when none.
    variable Chan ""		;# Its channel.
    variable Node ""		;# Written in the node field of every line.
    variable Failed 0		;# 1 once a write failed (reported once).
    variable Open 0		;# 1 while events are written (a file is
				;# open and writing it has not failed): hot
				;# paths skip building events when 0.
    variable FlushId ""		;# The pending idle flush.
    variable Sec -1		;# Cache: the last second formatted...
    variable SecText ""		;# ...and its text.
    variable Parsed {}		;# Cache for Read: "date time" -> seconds.

    # channel -> 1 (on) or 0 (off)
    variable States {debug 0 error 1 system 1 traffic 0}

    # handler -> cid -> peer name, for logging disconnects whose
    # connection is gone already.
    variable Peers {}

    # handler -> node address, for handlers attached with -node (the
    # virtual peers of one process each log under their own address).
    variable Nodes {}

    # Control characters and what a list element needs escaped around
    # them, for Element.
    variable Escapes {}
    foreach c {\\ \{ \} \[ \] $ \" ; " "} {
	lappend Escapes $c \\$c
    }
    lappend Escapes \n \\n \r \\r \t \\t
    for {set i 0} {$i < 32} {incr i} {
	set c [format %c $i]
	if {$c ni {\n \r \t}} {
	    lappend Escapes $c [format \\u%04x $i]
	}
    }
    lappend Escapes \x7f \\u007f
    unset c i
}

# USAGE: p2p::log file ?path?
#	Opens path for appending (creating it) as the log file, after
#	flushing and closing the previous one; "" closes it. Without path,
#	returns the current one.
proc ::p2p::log::File {args} {
    variable Path
    variable Chan
    variable Failed
    variable Open
    if {[llength $args] > 1} {
	return -code error -errorcode {TCL WRONGARGS} \
	    {wrong # args: should be "p2p::log file ?path?"}
    }
    if {[llength $args] == 0} {
	return $Path
    }
    set path [lindex $args 0]
    set new ""
    if {$path ne ""} {
	set new [open $path a]
	fconfigure $new -encoding utf-8 -translation lf -buffering full
    }
    if {$Chan ne ""} {
	catch {close $Chan}
    }
    set Chan $new
    set Path $path
    set Failed 0
    set Open [expr {$new ne ""}]
    return $path
}

# USAGE: p2p::log node ?address?
#	Sets (or returns) the address written in the node field.
proc ::p2p::log::Node {args} {
    variable Node
    if {[llength $args] > 1} {
	return -code error -errorcode {TCL WRONGARGS} \
	    {wrong # args: should be "p2p::log node ?address?"}
    }
    if {[llength $args]} {
	set Node [lindex $args 0]
    }
    return $Node
}

# USAGE: p2p::log channel name ?on|off?
#	Turns a channel on or off (creating it), or returns its state as
#	1 or 0.
proc ::p2p::log::Channel {args} {
    variable States
    if {[llength $args] ni {1 2}} {
	return -code error -errorcode {TCL WRONGARGS} \
	    {wrong # args: should be "p2p::log channel name ?on|off?"}
    }
    set args [lassign $args name]
    if {[llength $args] == 0} {
	Known $name
	return [dict get $States $name]
    }
    set state [lindex $args 0]
    if {![string is boolean -strict $state]} {
	return -code error -errorcode [list P2P LOG BADSTATE $state] \
	    "bad state \"$state\": must be on or off"
    }
    if {$name eq "" || [regexp {\s} $name]} {
	return -code error -errorcode [list P2P LOG BADNAME $name] \
	    "bad channel name \"$name\": must be a word"
    }
    dict set States $name [expr {$state ? 1 : 0}]
    return [dict get $States $name]
}

# USAGE: p2p::log channels
#	A dict channel -> 1 or 0, sorted by channel.
proc ::p2p::log::Channels {} {
    variable States
    set result {}
    foreach name [lsort [dict keys $States]] {
	dict set result $name [dict get $States $name]
    }
    return $result
}

# USAGE: p2p::log event ?-node address? channel kind peer message
#	Writes one line when channel is on and a file is open. -node
#	replaces the process's node address for this event.
proc ::p2p::log::Event {args} {
    variable States
    variable Chan
    variable Node
    variable FlushId
    variable Failed
    set node $Node
    if {[lindex $args 0] eq "-node" && [llength $args] == 6} {
	set args [lassign $args - node]
	if {$node eq ""} {
	    set node $Node
	}
    }
    if {[llength $args] != 4} {
	return -code error -errorcode {TCL WRONGARGS} \
	    {wrong # args: should be "p2p::log event ?-node address? channel kind peer message"}
    }
    lassign $args channel kind peer message
    if {![dict exists $States $channel]} {
	Known $channel
    }
    if {![dict get $States $channel] || $Chan eq "" || $Failed} {
	return
    }
    set line [Line [Now] $node $channel $kind $peer $message]
    if {[catch {puts $Chan $line} msg opts]} {
	Failure $msg $opts
	return
    }
    if {$FlushId eq ""} {
	set FlushId [after idle ::p2p::log::IdleFlush]
    }
    return
}

# USAGE: p2p::log flush
#	Writes buffered lines now. Errors are handled as for event.
proc ::p2p::log::Flush {} {
    variable Chan
    variable Failed
    if {$Chan ne "" && !$Failed && [catch {flush $Chan} msg opts]} {
	Failure $msg $opts
    }
    return
}

# USAGE: p2p::log attach handler ?-node address?
#	Logs the connects (system connect), negotiations (system protocol),
#	disconnects with their reason (system disconnect) and errors (error
#	error) of a handler by setting its -onconnect, -onprotocol,
#	-ondisconnect and -onerror. Callbacks set before are kept and called
#	after the logging; set after, they replace it (attach again then).
#	With -node, the handler's events carry that node address.
proc ::p2p::log::Attach {handler args} {
    variable Peers
    variable Nodes
    if {[llength $args] ni {0 2} || ([llength $args] == 2
	    && [lindex $args 0] ne "-node")} {
	return -code error -errorcode {TCL WRONGARGS} \
	    {wrong # args: should be "p2p::log attach handler ?-node address?"}
    }
    set handler [uplevel 1 [list namespace which -command $handler]]
    if {[llength $args]} {
	dict set Nodes $handler [lindex $args 1]
    }
    foreach {option kind} {
	-onconnect connect -onprotocol protocol
	-ondisconnect disconnect -onerror error
    } {
	set previous [$handler cget $option]
	if {[lindex $previous 0] eq "::p2p::log::Hook"} {
	    continue
	}
	$handler configure $option [list ::p2p::log::Hook $kind $previous]
    }
    if {![dict exists $Peers $handler]} {
	dict set Peers $handler {}
	trace add command $handler delete ::p2p::log::HandlerGone
    }
    return
}

# USAGE: p2p::log detach handler
#	Undoes p2p::log attach: the callbacks that were chained get their
#	place back.
proc ::p2p::log::Detach {handler} {
    variable Peers
    set handler [uplevel 1 [list namespace which -command $handler]]
    foreach option {-onconnect -onprotocol -ondisconnect -onerror} {
	set current [$handler cget $option]
	if {[lindex $current 0] eq "::p2p::log::Hook"} {
	    $handler configure $option [lindex $current 2]
	}
    }
    if {[dict exists $Peers $handler]} {
	dict unset Peers $handler
	trace remove command $handler delete ::p2p::log::HandlerGone
    }
    dict unset Nodes $handler
    return
}

# USAGE: p2p::log read path
#	Parses a log file into a list of dicts with the keys time, node,
#	channel, kind, peer, message, and ms (time in milliseconds since
#	the epoch). A last line without its newline (still being written)
#	is left out; any other line that is not a six-element list with a
#	valid time is an error.
proc ::p2p::log::Read {path} {
    set f [open $path r]
    try {
	fconfigure $f -encoding utf-8 -translation lf
	set data [read $f]
    } finally {
	close $f
    }
    set lines [split $data \n]
    # The element after the last newline: "" or an unfinished line.
    set lines [lrange $lines 0 end-1]
    set events {}
    set n 0
    foreach line $lines {
	incr n
	if {$line eq ""} {
	    continue
	}
	if {[catch {llength $line} len] || $len != 6} {
	    return -code error -errorcode [list P2P LOG MALFORMED $n] \
		"malformed line $n in \"$path\": not a list of 6 elements"
	}
	lassign $line time node channel kind peer message
	set ms [ParseTime $time]
	if {$ms eq ""} {
	    return -code error -errorcode [list P2P LOG MALFORMED $n] \
		"malformed line $n in \"$path\": bad time \"$time\""
	}
	lappend events [dict create time $time ms $ms node $node \
	    channel $channel kind $kind peer $peer message $message]
    }
    return $events
}

# Now --
#	The current time as ISO-8601 UTC with milliseconds.
proc ::p2p::log::Now {} {
    variable Sec
    variable SecText
    set ms [clock milliseconds]
    set sec [expr {$ms / 1000}]
    if {$sec != $Sec} {
	set SecText [clock format $sec -format %Y-%m-%dT%H:%M:%S \
	    -timezone :UTC]
	set Sec $sec
    }
    return [format %s.%03dZ $SecText [expr {$ms % 1000}]]
}

# ParseTime --
#	Milliseconds since the epoch of a time as Now writes it, or "".
proc ::p2p::log::ParseTime {time} {
    variable Parsed
    if {![regexp {^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z$} $time \
	    -> whole frac]} {
	return ""
    }
    if {![dict exists $Parsed $whole]} {
	if {[catch {clock scan $whole -format %Y-%m-%dT%H:%M:%S \
		-timezone :UTC} sec]} {
	    return ""
	}
	if {[dict size $Parsed] > 10000} {
	    set Parsed {}
	}
	dict set Parsed $whole $sec
    }
    scan $frac %d frac
    return [expr {[dict get $Parsed $whole] * 1000 + $frac}]
}

# Line --
#	One log line (without its newline) from its fields.
proc ::p2p::log::Line {args} {
    set els {}
    foreach field $args {
	lappend els [Element $field]
    }
    return [join $els " "]
}

# Element --
#	A field as a list element that holds no control character: such a
#	field is written with backslash escapes instead of braces.
proc ::p2p::log::Element {s} {
    variable Escapes
    if {![regexp {[\x00-\x1f\x7f]} $s]} {
	return [list $s]
    }
    return [string map $Escapes $s]
}

# Known --
#	Errors unless channel exists.
proc ::p2p::log::Known {channel} {
    variable States
    if {[dict exists $States $channel]} {
	return
    }
    set valid [lsort [dict keys $States]]
    return -level 2 -code error -errorcode [list P2P LOG UNKNOWN $channel] \
	"unknown log channel \"$channel\": must be\
	[join [lrange $valid 0 end-1] {, }], or [lindex $valid end]"
}

# IdleFlush --
#	The idle callback event schedules.
proc ::p2p::log::IdleFlush {} {
    variable FlushId
    set FlushId ""
    Flush
}

# Failure --
#	A write failed: report it once through the background error handler.
proc ::p2p::log::Failure {msg opts} {
    variable Failed
    variable Path
    variable Open
    if {$Failed} {
	return
    }
    set Failed 1
    set Open 0
    dict set opts -errorcode [list P2P LOG WRITE $Path]
    set msg "cannot write log file \"$Path\": $msg"
    catch {uplevel #0 [linsert [interp bgerror {}] end $msg $opts]}
}

# Hook --
#	The callback p2p::log attach installs: logs, then calls the callback
#	it replaced.
proc ::p2p::log::Hook {kind previous handler cid args} {
    variable Peers
    variable Nodes
    variable Node
    set node [expr {[dict exists $Nodes $handler]
	? [dict get $Nodes $handler] : $Node}]
    # The name of a connection that is gone is the one remembered.
    if {[catch {$handler connectionName $cid} peer]} {
	if {[dict exists $Peers $handler $cid]} {
	    set peer [dict get $Peers $handler $cid]
	} else {
	    set peer $cid
	}
    }
    switch -- $kind {
	connect {
	    if {[dict exists $Peers $handler]} {
		dict set Peers $handler $cid $peer
	    }
	    Event -node $node system connect $peer "cid $cid"
	}
	protocol {
	    if {[dict exists $Peers $handler]} {
		dict set Peers $handler $cid $peer
	    }
	    Event -node $node system protocol $peer [lindex $args 0]
	}
	disconnect {
	    if {[dict exists $Peers $handler $cid]} {
		dict unset Peers $handler $cid
	    }
	    Event -node $node system disconnect $peer [lindex $args 0]
	}
	error {
	    Event -node $node error error $peer [lindex $args 0]
	}
    }
    if {[llength $previous]} {
	uplevel #0 [list {*}$previous $handler $cid {*}$args]
    }
    return
}

# Forget --
#	Command delete trace of attached handlers.
proc ::p2p::log::HandlerGone {old new op} {
    variable Peers
    variable Nodes
    dict unset Peers $old
    dict unset Nodes $old
}
