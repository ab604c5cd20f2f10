# silent.tcl --
#
#	Test helper: a plain Tcl listening socket that accepts connections,
#	reads and discards whatever arrives and never answers (a peer that
#	never negotiates). Prints its port on the first line of stdout and
#	exits when stdin is closed.

proc accept {chan addr port} {
    fconfigure $chan -blocking 0 -translation binary
    fileevent $chan readable [list drain $chan]
}

proc drain {chan} {
    read $chan
    if {[eof $chan]} {
	close $chan
    }
}

proc command {} {
    if {[gets stdin line] < 0 && [eof stdin]} {
	exit 0
    }
}

set listener [socket -server accept -myaddr 127.0.0.1 0]
fconfigure stdout -buffering line
fconfigure stdin -blocking 0
fileevent stdin readable command
puts [lindex [fconfigure $listener -sockname] 2]
vwait forever
