# echoserver.tcl --
#
#	Test helper: a p2p::server in its own process. Speaks chat/V for each
#	version given (default 1) with the commands echo, quiet, fail and
#	version. Prints its port on the first line of stdout, then answers
#	lines on stdin:
#	    stats		prints the handler's stats dict
#	    connections		prints its connection ids
#	    quit		exits
#	It exits too when stdin is closed, so it never outlives the test.
#
#	Usage: tclsh echoserver.tcl ?version ...?

lappend auto_path [file dirname [file dirname [file dirname \
	[file normalize [info script]]]]]
package require p2pjobs

namespace eval ::t {
    proc echo {args} {list echoed {*}$args}
    proc quiet {args} {return}
    proc fail {msg} {error $msg}
}

set versions [expr {[llength $argv] ? $argv : {1}}]
p2p::server create srv -port 0
foreach v $versions {
    srv protocol add chat/$v [list echo ::t::echo quiet ::t::quiet \
	    fail ::t::fail version [list list version $v]]
}

proc command {} {
    if {[gets stdin line] < 0} {
	if {[eof stdin]} {
	    exit 0
	}
	return
    }
    switch -- [lindex $line 0] {
	stats {puts [srv stats]}
	connections {puts [srv connections]}
	quit {exit 0}
	default {puts "error: unknown command $line"}
    }
}

fconfigure stdout -buffering line
fconfigure stdin -blocking 0
fileevent stdin readable command
puts [srv cget -port]
vwait forever
