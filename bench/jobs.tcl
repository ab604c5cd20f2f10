# jobs.tcl --
#
#	Benchmark of running jobs (issue 4): trivial script jobs (reverse a
#	64-byte string, a different one from the job before) end to end through a foreman: submitted as a batch
#	(one solicitation, dispatch pipelined) with 2 and 8 worker
#	processes, in jobs per second; and one job at a time, latency p50
#	and p99, with every process pinned to one core and unpinned. The
#	authority and the foreman run in this process; each worker is a
#	`bin/p2pjobs worker -slots 1` process on 127.0.0.1. During the batch
#	with 2 workers it also measures CPU time per job (utime+stime from
#	/proc/PID/stat, 10 ms ticks) of this process (the foreman; the
#	authority is idle meanwhile) and of the workers (all their work per
#	job: message in, slot, interpreter, script, result out).
#
#	Baseline, measured in the same run: a plain-Tcl job farm
#	(bench/tclfarm.tcl) whose server, in this process, hands the same
#	jobs over sockets to 2 worker processes, keeping a window of 16 jobs
#	per worker; and the same farm one job at a time (one worker
#	process, the next job sent when the last answer came back), unpinned
#	and on one core. The share of core 0 the hypervisor took (steal,
#	/proc/stat) during the one-core runs is printed too: this VM's
#	one-core figures move by half with it.
#
#	It prints a table and, unless -nodoc 1, replaces the section between
#	<!-- begin jobs --> and <!-- end jobs --> of doc/performance.md.
#
#	USAGE: tclsh bench/jobs.tcl ?-jobs 20000? ?-seq 2000? ?-rounds 3?
#		?-pinnedrounds 5?
#		?-doc FILE? ?-nodoc 1?
#	(internal: -pinned 1 runs only the sequential test and its baseline
#	and prints {p50 p99 baselineP50 baselineP99}; with -baseline 0 too,
#	only the first two, for callgrind)

package require Tcl 8.6

namespace eval ::jobs {
    variable benchDir [file dirname [file normalize [info script]]]
    variable srcDir [file dirname $benchDir]
    variable procs {}
    # The jobs' strings: 1024 different ones of 64 bytes, job i reversing
    # the (i % 1024)th, so that no job is the same as the one before (a
    # worker or foreman could otherwise gain from the repetition) and
    # the baseline farm sends the same strings. wants: their reversals.
    variable payloads {}
    variable wants {}
    for {set i 0} {$i < 1024} {incr i} {
	set s [format %04d%s $i [string range [string repeat abcdefgh 8] 4 end]]
	lappend payloads $s
	lappend wants [string reverse $s]
    }
    unset i s
}
source [file join $::jobs::benchDir docsection.tcl]

proc ::jobs::Log {msg} {
    puts stderr "bench jobs: $msg"
    flush stderr
}

proc ::jobs::StartWorkers {n authority} {
    variable srcDir
    variable procs
    for {set i 0} {$i < $n} {incr i} {
	set chan [open |[list [info nameofexecutable] \
	    [file join $srcDir bin p2pjobs] worker -slots 1 \
	    -authority $authority 2>@stderr] r]
	lappend procs [list $chan [pid $chan]]
	if {[gets $chan line] < 0} {
	    error "worker process exited"
	}
    }
}

proc ::jobs::StopAll {} {
    variable procs
    foreach p $procs {
	lassign $p chan pid
	catch {exec kill -KILL $pid}
	catch {close $chan}
    }
    set procs {}
}

proc ::jobs::Wait {script ms} {
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![uplevel 1 $script]} {
	if {[clock milliseconds] > $deadline} {
	    error "timeout waiting for: $script"
	}
	after 50 {set ::jobs::tick 1}
	vwait ::jobs::tick
    }
}

# Cpu --
#	CPU time (utime + stime) of process pid in microseconds, or "" where
#	there is no /proc.
proc ::jobs::Cpu {pid} {
    if {[catch {
	set f [open /proc/$pid/stat]
	set stat [read $f]
	close $f
    }]} {
	return ""
    }
    # The fields after the command name (which may hold spaces).
    set fields [string range $stat [expr {[string last ")" $stat] + 2}] end]
    expr {([lindex $fields 11] + [lindex $fields 12]) * 1000000
	/ [Ticks]}
}

proc ::jobs::Ticks {} {
    variable ticks
    if {![info exists ticks]} {
	set ticks 100
	catch {set ticks [exec getconf CLK_TCK]}
    }
    return $ticks
}

# CpuPerJob --
#	Microseconds of CPU per job from two samples {self workers...}.
proc ::jobs::CpuPerJob {before after m} {
    if {"" in $before || "" in $after} {
	return {"" ""}
    }
    set self [expr {([lindex $after 0] - [lindex $before 0]) / double($m)}]
    set workers [expr {([tcl::mathop::+ {*}[lrange $after 1 end]]
	- [tcl::mathop::+ {*}[lrange $before 1 end]]) / double($m)}]
    list [format %.1f $self] [format %.1f $workers]
}

# CpuSample --
#	CPU times of this process and of the workers.
proc ::jobs::CpuSample {} {
    variable procs
    list [Cpu [pid]] {*}[lmap p $procs {Cpu [lindex $p 1]}]
}

# Switches --
#	Context switches (voluntary and not) of every thread of process
#	pid, or "" where there is no /proc.
proc ::jobs::Switches {pid} {
    set n 0
    foreach status [glob -nocomplain /proc/$pid/task/*/status] {
	if {[catch {
	    set f [open $status]
	    set text [read $f]
	    close $f
	}]} {
	    continue
	}
	foreach {-> count} [regexp -all -inline -line \
		{^(?:non)?voluntary_ctxt_switches:\s*(\d+)} $text] {
	    incr n $count
	}
    }
    expr {[file isdirectory /proc/$pid/task] ? $n : ""}
}

# SwitchSample --
#	Context switches of this process and of the workers.
proc ::jobs::SwitchSample {} {
    variable procs
    list [Switches [pid]] {*}[lmap p $procs {Switches [lindex $p 1]}]
}

# Median --
#	The median of values ("" if any is "").
proc ::jobs::Median {values} {
    if {"" in $values} {
	return ""
    }
    set s [lsort -real $values]
    set n [llength $s]
    if {$n % 2} {
	return [lindex $s [expr {$n / 2}]]
    }
    expr {([lindex $s [expr {$n / 2 - 1}]] + [lindex $s [expr {$n / 2}]]) / 2.0}
}

proc ::jobs::Percentile {values p} {
    set s [lsort -real $values]
    lindex $s [expr {min([llength $s] - 1, int([llength $s] * $p))}]
}

# Network --
#	An authority here and n worker processes, meshed; returns {a f}.
proc ::jobs::Network {n} {
    set a [p2p::authority new -port 0]
    StartWorkers $n [$a address]
    Wait [list apply {{a n} {
	set ws [$a workers]
	expr {[dict size $ws] == $n && [lsearch -exact [lmap {k w} $ws {
	    llength [dict get $w peers]}] 0] < 0}
    }} $a $n] 30000
    set f [p2p::foreman new -authorities [list [$a address]]]
    list $a $f
}

# Spec --
#	The spec of job i: reverse the (i % 1024)th string.
proc ::jobs::Spec {i} {
    variable payloads
    dict create kind script script {string reverse $s} \
	vars [list s [lindex $payloads [expr {$i & 1023}]]]
}

# Check --
#	An error unless result r is job i's.
proc ::jobs::Check {i r} {
    variable wants
    if {[dict get $r status] ne "ok"
	    || [dict get $r result] ne [lindex $wants [expr {$i & 1023}]]} {
	error "job $i: wrong result: $r"
    }
}

# Batch --
#	m jobs submitted at once; returns jobs per second.
proc ::jobs::Batch {f m} {
    # Warm up: bids, connections, interpreters.
    foreach id [lmap i {1 2 3 4 5 6 7 8} {$f submit -job [Spec $i]}] {
	$f wait $id
	$f forget $id
    }
    set t0 [clock microseconds]
    set ids {}
    for {set i 0} {$i < $m} {incr i} {
	lappend ids [$f submit -job [Spec $i]]
    }
    set i 0
    foreach id $ids {
	Check $i [$f wait $id -timeout 120000]
	$f forget $id
	incr i
    }
    expr {$m / (([clock microseconds] - $t0) / 1e6)}
}

# Sequential --
#	m jobs one at a time; returns {p50 p99} in microseconds.
proc ::jobs::Sequential {f m} {
    foreach i {1 2 3 4 5 6 7 8} {
	set id [$f submit -job [Spec $i]]
	$f wait $id
	$f forget $id
    }
    set times {}
    for {set i 0} {$i < $m} {incr i} {
	set t [clock microseconds]
	set id [$f submit -job [Spec $i]]
	set r [$f wait $id]
	lappend times [expr {[clock microseconds] - $t}]
	Check $i $r
	$f forget $id
    }
    list [Percentile $times 0.5] [Percentile $times 0.99]
}

# Farm --
#	The plain-Tcl baseline: m jobs over sockets to 2 worker processes
#	with a window of 16 each; returns jobs per second.
proc ::jobs::Farm {m} {
    variable benchDir
    variable procs
    variable farm
    array set farm [list next 0 done 0 m $m conns {}]
    set srv [socket -server [namespace code FarmAccept] -myaddr 127.0.0.1 0]
    set port [lindex [fconfigure $srv -sockname] 2]
    for {set i 0} {$i < 2} {incr i} {
	set chan [open |[list [info nameofexecutable] \
	    [file join $benchDir tclfarm.tcl] $port 2>@stderr] r]
	lappend procs [list $chan [pid $chan]]
    }
    Wait {expr {[llength $::jobs::farm(conns)] == 2}} 10000
    set t0 [clock microseconds]
    foreach c $farm(conns) {
	for {set i 0} {$i < 16} {incr i} {
	    FarmSend $c
	}
	flush $c
    }
    vwait ::jobs::farm(finished)
    set rate [expr {$m / (([clock microseconds] - $t0) / 1e6)}]
    foreach c $farm(conns) {
	close $c
    }
    close $srv
    StopAll
    return $rate
}
# FarmSequential --
#	The plain-Tcl baseline one job at a time: m jobs (after 8 to warm
#	up), each handed to one worker process (bench/tclfarm.tcl) when the
#	last one's answer came back; returns {p50 p99} in microseconds.
proc ::jobs::FarmSequential {m} {
    variable benchDir
    variable procs
    variable payloads
    variable wants
    variable farm
    array set farm [list conns {} answer {}]
    set srv [socket -server [namespace code FarmAccept] -myaddr 127.0.0.1 0]
    set port [lindex [fconfigure $srv -sockname] 2]
    set chan [open |[list [info nameofexecutable] \
	[file join $benchDir tclfarm.tcl] $port 2>@stderr] r]
    lappend procs [list $chan [pid $chan]]
    Wait {expr {[llength $::jobs::farm(conns)] == 1}} 10000
    set c [lindex $farm(conns) 0]
    fileevent $c readable [namespace code [list FarmAnswer $c]]
    set times {}
    for {set i 0} {$i < $m + 8} {incr i} {
	set t [clock microseconds]
	puts $c "$i [lindex $payloads [expr {$i & 1023}]]"
	flush $c
	vwait ::jobs::farm(answer)
	if {$i >= 8} {
	    lappend times [expr {[clock microseconds] - $t}]
	}
	if {$farm(answer) ne "$i [lindex $wants [expr {$i & 1023}]]"} {
	    error "farm: wrong result $farm(answer)"
	}
    }
    close $c
    close $srv
    StopAll
    list [Percentile $times 0.5] [Percentile $times 0.99]
}
proc ::jobs::FarmAnswer {chan} {
    variable farm
    if {[gets $chan line] >= 0} {
	set farm(answer) $line
    } elseif {[eof $chan]} {
	error "farm: worker closed its socket"
    }
}

proc ::jobs::FarmAccept {chan addr port} {
    variable farm
    fconfigure $chan -buffering full -translation lf -blocking 0
    fileevent $chan readable [namespace code [list FarmRead $chan]]
    lappend farm(conns) $chan
}
proc ::jobs::FarmSend {chan} {
    variable farm
    variable payloads
    if {$farm(next) < $farm(m)} {
	puts $chan "[incr farm(next)] [lindex $payloads [expr {$farm(next) & 1023}]]"
    }
}
proc ::jobs::FarmRead {chan} {
    variable farm
    variable wants
    while {[gets $chan line] >= 0} {
	if {[lindex $line 1] ne [lindex $wants [expr {[lindex $line 0] & 1023}]]} {
	    error "farm: wrong result $line"
	}
	if {[incr farm(done)] == $farm(m)} {
	    set farm(finished) 1
	}
	FarmSend $chan
    }
    flush $chan
}

proc ::jobs::Main {argv} {
    variable srcDir
    set o [dict create -jobs 20000 -seq 2000 -rounds 3 -pinnedrounds 5 \
	-nodoc 0 -pinned 0 \
	-baseline 1 \
	-doc [file join $srcDir doc performance.md]]
    foreach {k v} $argv {
	if {![dict exists $o $k]} {
	    puts stderr "usage: tclsh bench/jobs.tcl ?-jobs N? ?-seq N? ?-rounds N?\
		?-pinnedrounds N?\
		?-doc FILE? ?-nodoc 1?"
	    exit 2
	}
	dict set o $k $v
    }
    package require p2pjobs
    if {[dict get $o -pinned]} {
	lassign [Network 2] a f
	set seq [Sequential $f [dict get $o -seq]]
	$f destroy
	StopAll
	$a destroy
	if {[dict get $o -baseline]} {
	    lappend seq {*}[FarmSequential [dict get $o -seq]]
	}
	puts $seq
	return
    }
    set started [clock seconds]
    dict set o load [LoadAverage]
    set rows {}
    Log "baseline: plain-Tcl farm, 2 workers, window 16"
    set farm [Farm [dict get $o -jobs]]
    Log "baseline: [format %.0f $farm] jobs/s"
    dict set rows seqBase [FarmSequential [dict get $o -seq]]
    Log "baseline: one job at a time, p50/p99 [dict get $rows seqBase] us"
    set rounds [dict get $o -rounds]
    foreach n {2 8} {
	lassign [Network $n] a f
	# With 2 workers, rounds batches (the machine's noise moves one
	# run by a fifth and more): the medians are reported.
	set rates {}
	set cpus {}
	for {set r 0} {$r < ($n == 2 ? $rounds : 1)} {incr r} {
	    set before [CpuSample]
	    lappend rates [Batch $f [dict get $o -jobs]]
	    # Batch's warm-up (8 jobs) is in the interval too.
	    lappend cpus [CpuPerJob $before [CpuSample] \
		[expr {[dict get $o -jobs] + 8}]]
	}
	set rate [Median $rates]
	if {$n == 2} {
	    dict set rows cpu [list [Median [lmap c $cpus {lindex $c 0}]] \
		[Median [lmap c $cpus {lindex $c 1}]]]
	    dict set rows batchRange [list [tcl::mathfunc::min {*}$rates] \
		[tcl::mathfunc::max {*}$rates]]
	    Log "2 workers: batches [lmap r $rates {format %.0f $r}] jobs/s,\
		CPU per job (foreman, workers) $cpus us"
	}
	Log "$n workers: [format %.0f $rate] jobs/s pipelined"
	dict set rows batch$n $rate
	if {$n == 2} {
	    set before [CpuSample]
	    set switches [SwitchSample]
	    dict set rows seq [Sequential $f [dict get $o -seq]]
	    # Sequential's warm-up (8 jobs) is in the interval too.
	    set m [expr {[dict get $o -seq] + 8}]
	    dict set rows seqCpu [CpuPerJob $before [CpuSample] $m]
	    dict set rows seqSwitches [lmap v [CpuPerJob $switches \
		[SwitchSample] $m] {expr {$v eq "" ? "" : round($v)}}]
	    Log "2 workers: sequential p50/p99 [dict get $rows seq] us,\
		CPU per job (foreman, workers) [dict get $rows seqCpu] us,\
		context switches per job [dict get $rows seqSwitches]"
	}
	$f destroy
	StopAll
	$a destroy
    }
    # Pinned: the same, every process on core 0, -pinnedrounds times
    # (each takes seconds; the host's load moves one by half): the run
    # with the median p50 is reported.
    set runs {}
    set steal0 [Steal]
    set rounds [dict get $o -pinnedrounds]
    for {set r 0} {$r < $rounds} {incr r} {
	lappend runs [exec taskset -c 0 [info nameofexecutable] \
	    [info script] -pinned 1 -seq [dict get $o -seq] 2>@stderr]
    }
    dict set rows steal [StealShare $steal0 [Steal]]
    set runs [lsort -integer -index 0 $runs]
    dict set rows seqPinned [lindex $runs [expr {[llength $runs] / 2}]]
    dict set rows seqPinnedRange [list [lindex $runs 0 0] [lindex $runs end 0]]
    Log "pinned: sequential p50/p99 of $rounds runs: $runs us"
    set table [Table $rows $farm]
    puts $table
    if {![dict get $o -nodoc]} {
	::bench::writeSection [dict get $o -doc] jobs [Section $table $rows $farm $started $o]
	Log "wrote [dict get $o -doc]"
    }
}

proc ::jobs::Table {rows farm} {
    set out "| measure | p2pjobs | plain-Tcl farm (baseline) |\n|---|---:|---:|\n"
    lassign [dict get $rows batchRange] lo hi
    append out [format "| jobs/s, 2 workers, batch (median; range) | %.0f (%.0f-%.0f) | %.0f |\n" \
	[dict get $rows batch2] $lo $hi $farm]
    append out [format "| jobs/s, 8 workers, batch | %.0f | |\n" \
	[dict get $rows batch8]]
    lassign [dict get $rows cpu] self workers
    append out "| CPU per job, us, foreman process (2 workers, batch, median) | $self | |\n"
    append out "| CPU per job, us, worker process (2 workers, batch, median) | $workers | |\n"
    lassign [dict get $rows seq] p50 p99
    append out "| one job at a time, p50 / p99 us, unpinned | $p50 / $p99 | [join [dict get $rows seqBase] { / }] |\n"
    lassign [dict get $rows seqCpu] self workers
    append out "| one job at a time, CPU per job, us, foreman / workers | $self / $workers | |\n"
    lassign [dict get $rows seqSwitches] self workers
    append out "| one job at a time, context switches per job, foreman / workers | $self / $workers | |\n"
    lassign [dict get $rows seqPinned] p50 p99 b50 b99
    lassign [dict get $rows seqPinnedRange] lo hi
    append out "| one job at a time, p50 / p99 us, all on one core (median run; p50 range) | $p50 / $p99 ($lo-$hi) | $b50 / $b99 |\n"
    set steal [dict get $rows steal]
    if {$steal ne ""} {
	append out "| share of core 0 taken by the host (steal) during the one-core runs | $steal% | |\n"
    }
}

proc ::jobs::Section {table rows farm started o} {
    set out "<!-- begin jobs -->\n## Jobs (issue 4)\n\n"
    append out "Generated by `tclsh bench/jobs.tcl` (run by `make bench`) on\
	[clock format $started -format {%Y-%m-%d %H:%M:%S %Z}][dict get $o load]\
	(before the run).\n\n"
    append out "Trivial script jobs (`string reverse` of a 64-byte string, each job a different one of 1024)\
	end to end through `p2p::foreman`: submit, bids (one solicitation for\
	the batch), dispatch, run in a warm safe interpreter on the worker,\
	result back, `wait`. The authority and the foreman in one process,\
	each worker its own process (`p2pjobs worker -slots 1`), on\
	127.0.0.1. Batch: [dict get $o -jobs] jobs submitted at once, then\
	waited for; with 2 workers [dict get $o -rounds] times in a row, and\
	the table gives the medians (one run on this shared VM moves by a\
	fifth and more). One at a time: [dict get $o -seq] jobs, each\
	submitted after the last finished; all on one core\
	[dict get $o -pinnedrounds] times, the run with the median p50 shown. Baseline in the same run: a plain-Tcl farm\
	(`bench/tclfarm.tcl`) handing the same jobs as lines over sockets to 2\
	worker processes with a window of 16 jobs each; one at a time, the\
	same farm with one worker process, each job sent when the last\
	answer came back (on one core: in the same pinned run, after the\
	p2pjobs network stopped). Steal: the share of core 0 that the\
	hypervisor gave to others during the one-core runs (/proc/stat);\
	on this VM the one-core figures of both columns rise with it. CPU per job:\
	utime+stime (from /proc) over the batch with 2 workers, of this\
	process (the foreman; the authority in it is idle meanwhile) and of\
	the workers together, divided by the jobs: a worker's figure is all\
	it does for a job (message in, slot, interpreter, script, result\
	out). The same over the jobs one at a time, and their context\
	switches (voluntary and not, of every thread, from\
	/proc/PID/task/*/status). The foreman and workers speak\
	p2p:worker<-foreman/2 (jobs and results in batches); the foreman's\
	`wait` and the worker processes wait in `p2p::vwait`.\n\n"
    append out $table
    set b2 [dict get $rows batch2]
    lassign [dict get $rows seqPinned] p50
    set w [lindex [dict get $rows cpu] 1]
    append out "\nTargets of issue 4: >= 20,000 jobs/s with 2 workers:\
	[expr {$b2 >= 20000 ? "met" : "not met"}] ([format %.0f $b2]);\
	sequential p50 <= 60 us on one core:\
	[expr {$p50 <= 60 ? "met" : "not met"}] ($p50 us); a worker's\
	per-job overhead under 20 us of CPU:\
	[expr {$w eq "" ? "not measured" : $w < 20 ? "met" : "not met"}]\
	([expr {$w eq "" ? "no /proc" : "$w us, all its work per job"}]).\n"
    append out "<!-- end jobs -->\n"
}

# Steal --
#	The counters of core 0 in /proc/stat ({} where there is none).
proc ::jobs::Steal {} {
    if {[catch {
	set f [open /proc/stat]
	set stat [read $f]
	close $f
    }] || ![regexp -line {^cpu0 (.*)$} $stat -> fields]} {
	return {}
    }
    return $fields
}

# StealShare --
#	The share (percent) of core 0's time between two samples of Steal
#	that the hypervisor gave to others (the eighth field), or "".
proc ::jobs::StealShare {before after} {
    if {[llength $before] < 8 || [llength $after] < 8} {
	return ""
    }
    set total [expr {[tcl::mathop::+ {*}[lrange $after 0 7]]
	- [tcl::mathop::+ {*}[lrange $before 0 7]]}]
    if {$total <= 0} {
	return ""
    }
    format %.1f [expr {100.0 * ([lindex $after 7] - [lindex $before 7])
	/ $total}]
}

# LoadAverage --
#	", load average L" (the 1-minute figure of /proc/loadavg: above 0,
#	other processes were taking some of the CPU), or "".
proc ::jobs::LoadAverage {} {
    if {[catch {
	set f [open /proc/loadavg]
	set load [lindex [read $f] 0]
	close $f
    }]} {
	return ""
    }
    return ", load average $load"
}

if {[info exists argv0] && [file normalize $argv0] eq [file normalize [info script]]} {
    if {[catch {::jobs::Main $argv} msg]} {
	::jobs::StopAll
	puts stderr "bench jobs: $msg"
	exit 1
    }
    ::jobs::StopAll
    exit 0
}
