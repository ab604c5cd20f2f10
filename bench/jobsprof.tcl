# jobsprof.tcl --
#
#	Where a job's time goes, without sockets (issue 4): the per-job
#	work of a foreman and of a worker, measured in this process by
#	stage, so that it can be run under callgrind for exact instruction
#	counts (the "Where a job's time goes" part of doc/performance.md):
#
#	    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
#		tclsh bench/jobsprof.tcl -jobs N -stages S
#
#	for two values of N; the difference of the totals divided by the
#	difference of N is the cost per job of the stages up to S.
#
#	Foreman stages: 1 submit, 2 the pass over the queue that dispatches
#	(to a fake worker with an always fresh bid, speaking
#	p2p:worker<-foreman/2: its runs are not sent), 3 the results (the
#	same result for every job, as if they had come back, in `results`
#	of 16), 4 wait and
#	forget. Worker: `runs` of 16 (-batch) trivial script jobs, answered
#	to a fake connection, from the message's words (strings, made
#	before, from a template) to the string of each word of the reply; a
#	-batch of 1 (a `run`) is what one job at a time pays per message.
#
#	It reaches into the objects' internals (variables and unexported
#	methods): it measures this version of them, nothing more.
#
#	USAGE: tclsh bench/jobsprof.tcl ?-jobs 2000? ?-stages 0-4? ?-worker 1?
#	    ?-batch 16?
#	(-stages 0: no foreman.)

package require Tcl 8.6

namespace eval ::jobsprof {
    variable payload [string repeat abcdefgh 8]
}

# A handler that sends nothing: the fake worker's connection.
proc ::jobsprof::Conn {args} {}

# Send --
#	What sending a reply takes of it: the string of each word.
proc ::jobsprof::Send {reply} {
    foreach word $reply {
	string bytelength $word
    }
}

proc ::jobsprof::Spec {} {
    variable payload
    dict create kind script script {string reverse $s} vars [list s $payload]
}

# Foreman --
#	n jobs through the foreman's stages 1..stages; returns a dict
#	stage -> microseconds per job.
proc ::jobsprof::Foreman {n stages} {
    variable payload
    set f [p2p::foreman new -authorities {127.0.0.1:1}]
    set ns [info object namespace $f]
    set my ${ns}::my
    set ${ns}::Offers [dict create {script {}} [dict create token tok \
	time [clock milliseconds] declines {} bids [list [dict create \
	address w:1 price 1 wonks 1 free 1000000 slots 1 queue 0 latency 1]]]]
    set ${ns}::ConnVer {w:1 2}
    set ${ns}::ConnOf [list [namespace which Conn] w:1]
    set result [dict create status ok result [string reverse $payload] \
	stdout {} stderr {} exit 0 signal {} outputs {} worker w:1 \
	started 1 finished 1 ms 0 error {}]
    set times {}
    # Submitted while a pass is under way: queued, not dispatched.
    set ${ns}::Pumping 1
    set t [clock microseconds]
    set ids {}
    for {set i 0} {$i < $n} {incr i} {
	lappend ids [$f submit -job [Spec]]
    }
    dict set times submit [expr {([clock microseconds] - $t) / double($n)}]
    set ${ns}::Pumping 0
    if {$stages >= 2} {
	set t [clock microseconds]
	$my PumpNow 0
	dict set times dispatch \
	    [expr {([clock microseconds] - $t) / double($n)}]
	set runs [dict get [set ${ns}::Batch] w:1]
	set ${ns}::Batch {}
    }
    if {$stages >= 3} {
	# As a worker of /2 sends them: results in batches of 16.
	set batches {}
	set batch {}
	foreach {rid token spec} $runs {
	    lappend batch $rid $result
	    if {[llength $batch] == 32} {
		lappend batches $batch
		set batch {}
	    }
	}
	if {[llength $batch]} {
	    lappend batches $batch
	}
	set t [clock microseconds]
	foreach batch $batches {
	    $my OnResults [namespace which Conn] 1 $batch
	}
	dict set times result [expr {([clock microseconds] - $t) / double($n)}]
    }
    if {$stages >= 4} {
	set t [clock microseconds]
	foreach id $ids {
	    $f wait $id
	    $f forget $id
	}
	dict set times wait [expr {([clock microseconds] - $t) / double($n)}]
    }
    $f destroy
    return $times
}

# Worker --
#	n jobs through a worker, in runs of batch; returns microseconds per
#	job.
proc ::jobsprof::Worker {n batch} {
    set a [p2p::authority new -port 0]
    set w [p2p::worker new -authorities [list [$a address]] -slots 1]
    set my [info object namespace $w]::my
    $my Offer tok
    # The messages, made first from a template (cheaply: callgrind
    # counts this too): strings, as their words come off the wire,
    # parsed by the worker (one job alone comes in a `run`).
    set jobs {}
    for {set j 0} {$j < $batch} {incr j} {
	lappend jobs r@.$j tok [Spec]
    }
    set msgs {}
    for {set i 0} {$i < $n} {incr i $batch} {
	if {$batch == 1} {
	    lappend msgs [lmap word $jobs {
		string range "[string map [list @ $i] $word] " 0 end-1
	    }]
	} else {
	    set msg [string map [list @ $i] $jobs]
	    string bytelength $msg
	    lappend msgs $msg
	}
    }
    set t [clock microseconds]
    if {$batch == 1} {
	foreach words $msgs {
	    Send [$my OnRun2 [namespace which Conn] 1 {*}$words]
	}
    } else {
	foreach msg $msgs {
	    Send [$my OnRuns [namespace which Conn] 1 $msg]
	}
    }
    set us [expr {([clock microseconds] - $t) / double($n)}]
    $w destroy
    $a destroy
    return $us
}

proc ::jobsprof::Main {argv} {
    set o [dict create -jobs 2000 -stages 4 -worker 1 -batch 16]
    foreach {k v} $argv {
	if {![dict exists $o $k]} {
	    puts stderr "usage: tclsh bench/jobsprof.tcl ?-jobs N? ?-stages 0-4?\
		?-worker 0|1? ?-batch N?"
	    exit 2
	}
	dict set o $k $v
    }
    package require p2pjobs
    set n [dict get $o -jobs]
    if {[dict get $o -stages] > 0} {
	set times [Foreman $n [dict get $o -stages]]
	puts "foreman, us per job: [join [lmap {k v} $times {
	    format "%s %.1f" $k $v
	}] {, }]"
    }
    if {[dict get $o -worker]} {
	puts [format "worker, us per job (runs of %d): %.1f" \
	    [dict get $o -batch] [Worker $n [dict get $o -batch]]]
    }
}

if {[info exists argv0]
	&& [file normalize $argv0] eq [file normalize [info script]]} {
    ::jobsprof::Main $argv
    exit 0
}
