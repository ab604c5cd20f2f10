# jobsworker.tcl --
#
#	The worker process's instructions per job (issue 4): an authority
#	and a foreman in this process, one worker process (`p2pjobs worker
#	-slots 1`) under callgrind, bench/jobs.tcl's trivial script job
#	run n1 times and then, with a new worker, n2 times; the difference
#	of the worker's totals divided by n2 - n1 is what the worker
#	process pays a job: the message, the sandbox, the reply, the event
#	loop, the socket and the crypto, all of it (jobsprof counts the
#	worker's in-process part only).
#
#	-mode seq: one job at a time (submit, wait, next), as
#	bench/jobs.tcl -pinned 1 does; -mode batch: all submitted at once,
#	so that the foreman sends them in `runs` messages.
#
#	    tclsh bench/jobsworker.tcl ?-n1 1000? ?-n2 3000? ?-mode seq|batch?
#		?-out /tmp/jobsworker?
#
#	It keeps the two callgrind files (OUT-N.out) for callgrind_annotate
#	and prints the per-job instructions. Needs valgrind.

package require Tcl 8.6
source [file join [file dirname [file normalize [info script]]] jobs.tcl]

namespace eval ::jobsworker {}

# Worker --
#	Starts one worker process under callgrind writing to file out.
proc ::jobsworker::Worker {authority out} {
    set chan [open |[list valgrind --tool=callgrind --callgrind-out-file=$out \
	[info nameofexecutable] [file join $::jobs::srcDir bin p2pjobs] \
	worker -slots 1 -authority $authority 2>@stderr] r]
    lappend ::jobs::procs [list $chan [pid $chan]]
    if {[gets $chan line] < 0} {
	error "worker process exited"
    }
    return [list $chan [pid $chan]]
}

# Total --
#	The instructions of a callgrind file.
proc ::jobsworker::Total {out} {
    set f [open $out]
    set data [read $f]
    close $f
    if {![regexp -line {^(?:summary|totals): (\d+)} $data -> n]} {
	error "no total in $out"
    }
    return $n
}

# Run --
#	m jobs through one worker under callgrind; returns its total.
proc ::jobsworker::Run {m mode out} {
    set a [p2p::authority new -port 0]
    lassign [Worker [$a address] $out] chan pid
    ::jobs::Wait [list apply {{a} {
	set ws [$a workers]
	expr {[dict size $ws] == 1}
    }} $a] 120000
    set f [p2p::foreman new -authorities [list [$a address]]]
    if {$mode eq "seq"} {
	# (As ::jobs::Sequential, each wait bounded.)
	for {set i 0} {$i < $m + 8} {incr i} {
	    set id [$f submit -job [::jobs::Spec $i]]
	    $f wait $id -timeout 60000
	    $f forget $id
	}
    } else {
	::jobs::Batch $f $m
    }
    $f destroy
    # A fatal signal still lets callgrind write its file; close waits
    # for the process.
    exec kill -TERM $pid
    catch {close $chan}
    set ::jobs::procs {}
    $a destroy
    Total $out
}

proc ::jobsworker::Main {argv} {
    set o [dict create -n1 1000 -n2 3000 -mode seq -out /tmp/jobsworker]
    foreach {k v} $argv {
	if {![dict exists $o $k]} {
	    puts stderr "usage: tclsh bench/jobsworker.tcl ?-n1 1000? ?-n2 3000?\
		?-mode seq|batch? ?-out PREFIX?"
	    exit 2
	}
	dict set o $k $v
    }
    package require p2pjobs
    set mode [dict get $o -mode]
    set totals {}
    foreach n [list [dict get $o -n1] [dict get $o -n2]] {
	set out [dict get $o -out]-$mode-$n.out
	set t [Run $n $mode $out]
	puts "$n jobs ($mode): $t instructions ($out)"
	lappend totals $n $t
    }
    lassign $totals n1 t1 n2 t2
    puts [format "worker process, %s: %.1fk instructions a job" $mode \
	[expr {($t2 - $t1) / double($n2 - $n1) / 1000}]]
}

if {[catch {::jobsworker::Main $argv} msg]} {
    ::jobs::StopAll
    puts stderr "bench jobsworker: $msg"
    exit 1
}
exit 0
