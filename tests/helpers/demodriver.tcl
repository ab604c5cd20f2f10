# demodriver.tcl --
#
#	Run by wish (tests/demo.test): loads the demo (demos/test.tcl), then
#	evaluates each line read on stdin as a script at global level and
#	answers it with one line, the list {ok result} or {error message}.
#	Both ways, backslashes are doubled and newlines written \n, undone
#	with subst -nocommands -novariables. When stdin closes it stops the
#	demo's network and exits, as closing the window does. Background
#	errors (errors in the demo's callbacks) are printed to stderr and
#	kept in ::bgerrors, for the test to look at, instead of opening
#	Tk's dialog.
#
#	USAGE: wish demodriver.tcl SRCDIR

set bgerrors {}
interp bgerror {} [list apply {{msg opts} {
    lappend ::bgerrors $msg
    puts stderr "demodriver: background error: [dict get $opts -errorinfo]"
}}]

set srcdir [lindex $argv 0]
set argv {}
source [file join $srcdir demos test.tcl]

proc Answer {status result} {
    puts [string map {\\ \\\\ \n \\n} [list $status $result]]
    flush stdout
}

proc Line {} {
    if {$demo::busy} {
	# A request of the demo to the network waits in a vwait below this
	# event handler: a script that asked the network too would wait
	# in a vwait above it, and neither could end before the other.
	# Read the line later, once that request is answered.
	fileevent stdin readable {}
	after 20 {fileevent stdin readable Line}
	return
    }
    if {[gets stdin line] < 0} {
	if {[eof stdin]} {
	    fileevent stdin readable {}
	    demo::Quit
	}
	return
    }
    set script [subst -nocommands -novariables $line]
    if {[catch {uplevel #0 $script} result]} {
	Answer error $result
    } else {
	Answer ok $result
    }
}

fconfigure stdin -blocking 0 -buffering line
fconfigure stdout -buffering line
fileevent stdin readable Line
Answer ok ready
