# jobsone.tcl --
#
#	One job at a time with the whole network in this process (issue 4):
#	an authority, two workers and a foreman, over 127.0.0.1, running
#	bench/jobs.tcl's trivial script job n times, each submitted after
#	the last finished. Every fixed cost per message and per call is
#	then paid per job, on both sides, in one process, so that callgrind
#	counts all of it exactly:
#
#	    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
#		tclsh bench/jobsone.tcl -jobs N
#
#	for two values of N (500 and 1500 in doc/performance.md); the
#	difference of the totals divided by the difference of N is the
#	instructions per job. It prints the Tcl commands (info cmdcount)
#	and the wall time per job; with -calls 1, also how often each proc
#	and method of the library ran per job (traced: slow, and the time
#	then means nothing).
#
#	USAGE: tclsh bench/jobsone.tcl ?-jobs 1000? ?-calls 0|1?

package require Tcl 8.6
source [file join [file dirname [file normalize [info script]]] jobs.tcl]

namespace eval ::jobsone {}

# Trace --
#	Counts, in ::jobsone::calls, every call of a method of the objects
#	and of a proc under ::p2p.
proc ::jobsone::Trace {objects} {
    foreach o $objects {
	trace add execution [info object namespace $o]::my enter \
	    [list apply {{o cmd op} {
		incr ::jobsone::calls([info object class $o]:[lindex $cmd 1])
	    }} $o]
    }
    TraceProcs ::p2p
}

proc ::jobsone::TraceProcs {ns} {
    foreach p [info procs ${ns}::*] {
	trace add execution $p enter [list apply {{p cmd op} {
	    incr ::jobsone::calls($p)
	}} $p]
    }
    foreach child [namespace children $ns] {
	TraceProcs $child
    }
}

proc ::jobsone::Main {argv} {
    set o [dict create -jobs 1000 -calls 0]
    foreach {k v} $argv {
	if {![dict exists $o $k] || ![string is integer -strict $v]} {
	    puts stderr "usage: tclsh bench/jobsone.tcl ?-jobs N? ?-calls 0|1?"
	    exit 2
	}
	dict set o $k $v
    }
    package require p2pjobs
    set a [p2p::authority new -port 0]
    set ws {}
    foreach i {1 2} {
	lappend ws [p2p::worker new -slots 1 -authorities [list [$a address]]]
    }
    ::jobs::Wait [list apply {{a n} {
	set ws [$a workers]
	expr {[dict size $ws] == $n && [lsearch -exact [lmap {k w} $ws {
	    llength [dict get $w peers]}] 0] < 0}
    }} $a 2] 30000
    set f [p2p::foreman new -authorities [list [$a address]]]
    # Warm up: bids, connections, interpreters.
    ::jobs::Sequential $f 200
    variable calls
    array set calls {}
    if {[dict get $o -calls]} {
	Trace [list $a {*}$ws $f]
    }
    set m [dict get $o -jobs]
    set c0 [info cmdcount]
    set t0 [clock microseconds]
    lassign [::jobs::Sequential $f $m] p50 p99
    set us [expr {([clock microseconds] - $t0) / double($m)}]
    puts [format "per job: %.1f Tcl commands, %.1f us (p50 %s, p99 %s)" \
	[expr {([info cmdcount] - $c0) / double($m)}] $us $p50 $p99]
    foreach {k v} [lsort -stride 2 -integer -index 1 -decreasing \
	    [array get calls]] {
	puts [format "%8.2f %s" [expr {$v / double($m)}] $k]
    }
    $f destroy
    foreach w $ws {
	$w destroy
    }
    $a destroy
}

::jobsone::Main $argv
