# tclfarm.tcl --
#
#	The baseline of bench/jobs.tcl: a job farm in plain Tcl. The farm
#	(a `socket -server` in the benchmark's process, see Farm in
#	jobs.tcl) hands jobs as lines "ID DATA" to worker processes over
#	sockets, keeping a window of 16 jobs per worker; this file is the
#	worker: it reverses DATA and answers "ID RESULT".
#
#	USAGE: tclsh bench/tclfarm.tcl PORT

set chan [socket 127.0.0.1 [lindex $argv 0]]
fconfigure $chan -buffering full -translation lf -blocking 0

proc Work {chan} {
    while {[gets $chan line] >= 0} {
	set i [string first " " $line]
	puts $chan "[string range $line 0 [expr {$i - 1}]] [string reverse \
	    [string range $line [expr {$i + 1}] end]]"
    }
    flush $chan
    if {[eof $chan]} {
	exit 0
    }
}
fileevent $chan readable [list Work $chan]
vwait forever
