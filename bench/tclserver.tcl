# tclserver.tcl --
#
#	Plain Tcl baseline of the p2pjobs benchmarks: what one writes without
#	the extension. socket -server on 127.0.0.1 (port 0 unless given),
#	one line per message, fileevent readable, gets in a loop until the
#	buffered input is used up, puts into a fully buffered channel and one
#	flush per readable event. The first word of each line is looked up in
#	a dict of procs and the proc is called with the other words (the line
#	is read as a list; nothing is eval'ed). A non-empty result goes back
#	as one line.
#
#	Commands: "echo X" returns X; "protocol NAME ..." returns
#	"protocol NAME ..." (the load generator negotiates first, as it does
#	with the p2pjobs server, so that all servers do the same work).
#
#	Prints the port on stdout; exits when stdin reaches EOF.
#
#	USAGE: tclsh tclserver.tcl ?PORT?

namespace eval ::tclbench {
    variable commands [dict create \
	echo	 ::tclbench::Echo \
	protocol ::tclbench::Protocol]
}

proc ::tclbench::Echo {x} {
    return $x
}

proc ::tclbench::Protocol {args} {
    return [linsert $args 0 protocol]
}

# ::tclbench::Accept --
#
#	socket -server callback: configures the new channel.

proc ::tclbench::Accept {chan host port} {
    chan configure $chan -blocking 0 -buffering full -buffersize 65536 \
	-translation lf
    chan event $chan readable [list ::tclbench::Readable $chan]
}

# ::tclbench::Readable --
#
#	Answers every complete line buffered on the channel, then flushes
#	once.

proc ::tclbench::Readable {chan} {
    variable commands
    while {[gets $chan line] >= 0} {
	if {[catch {
	    set args [lassign $line cmd]
	    if {![dict exists $commands $cmd]} {
		error "unknown command \"$cmd\""
	    }
	    [dict get $commands $cmd] {*}$args
	} result]} {
	    set result [list exception $result]
	}
	if {$result ne ""} {
	    puts $chan $result
	}
    }
    if {[chan eof $chan]} {
	catch {close $chan}
	return
    }
    if {[catch {flush $chan}]} {
	catch {close $chan}
    }
}

proc ::tclbench::StdinReadable {} {
    if {[gets stdin line] < 0 && [chan eof stdin]} {
	set ::tclbench::done 1
    }
}

set port [expr {$argc > 0 ? [lindex $argv 0] : 0}]
set listener [socket -server ::tclbench::Accept -myaddr 127.0.0.1 $port]
puts [lindex [chan configure $listener -sockname] 2]
flush stdout
chan configure stdin -blocking 0
chan event stdin readable ::tclbench::StdinReadable
vwait ::tclbench::done
