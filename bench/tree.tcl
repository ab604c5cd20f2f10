# tree.tcl --
#
#	Benchmark of tree jobs (issue 8): the primes below N counted by a
#	tree job (split in fanout 3, depth 3: 15 nodes, each working on an
#	equal share, sieving), on 1, 2, 4 and 8 worker processes; speed-up
#	and efficiency against 1 worker. Then the overhead of the tree: the
#	same 15 pieces run as a flat farm of 15 script jobs on the 8
#	workers, for the CPU-bound count and for a trivial one (N small:
#	nearly all of the time is the machinery). The authority and the
#	foreman run in this process; each worker is a `bin/p2pjobs worker
#	-slots 1` process on 127.0.0.1. Each time is the median of -runs.
#
#	It prints the tables and, unless -nodoc 1, replaces the section
#	between <!-- begin tree --> and <!-- end tree --> of
#	doc/performance.md.
#
#	USAGE: tclsh bench/tree.tcl ?-n 1000000? ?-runs 3? ?-doc FILE?
#		?-nodoc 1?

package require Tcl 8.6

namespace eval ::tree {
    variable benchDir [file dirname [file normalize [info script]]]
    variable srcDir [file dirname $benchDir]
    variable procs {}
    # Pieces of equal work: a node keeps 1/S of its range, S being the
    # nodes of the subtree it heads, and hands S(L-1)/S(L) to each
    # of the fanout-1 others.
    variable script {
	proc nodes {levels fanout} {
	    set s 1
	    for {set i 0} {$i < $levels} {incr i} {
		set s [expr {1 + ($fanout - 1) * $s}]
	    }
	    return $s
	}
	proc split {input info} {
	    lassign $input lo hi
	    set f [dict get $info fanout]
	    set levels [expr {[dict get $info maxdepth] - [dict get $info depth]}]
	    set all [nodes $levels $f]
	    set sub [nodes [expr {$levels - 1}] $f]
	    set own [expr {($hi - $lo) / $all}]
	    set pieces [list [list $lo [expr {$lo + $own}]]]
	    set a [expr {$lo + $own}]
	    for {set i 1} {$i < $f} {incr i} {
		set b [expr {$i == $f - 1 ? $hi : $a + ($hi - $lo) * $sub / $all}]
		lappend pieces [list $a $b]
		set a $b
	    }
	    return $pieces
	}
	proc work {piece} {
	    lassign $piece lo hi
	    set lo [expr {max($lo, 2)}]
	    if {$hi <= $lo} {
		return 0
	    }
	    set mark [lrepeat [expr {$hi - $lo}] 1]
	    for {set d 2} {$d * $d < $hi} {incr d} {
		set m [expr {max($d * $d, ($lo + $d - 1) / $d * $d)}]
		for {} {$m < $hi} {incr m $d} {
		    lset mark [expr {$m - $lo}] 0
		}
	    }
	    tcl::mathop::+ {*}$mark
	}
	proc merge {results} {
	    tcl::mathop::+ {*}$results
	}
    }
}
source [file join $::tree::benchDir docsection.tcl]

proc ::tree::Log {msg} {
    puts stderr "bench tree: $msg"
    flush stderr
}

proc ::tree::StartWorkers {n authority} {
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

proc ::tree::StopAll {} {
    variable procs
    foreach p $procs {
	lassign $p chan pid
	catch {exec kill -KILL $pid}
	catch {close $chan}
    }
    set procs {}
}

proc ::tree::Wait {script ms} {
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![uplevel 1 $script]} {
	if {[clock milliseconds] > $deadline} {
	    error "timeout waiting for: $script"
	}
	after 50 {set ::tree::tick 1}
	vwait ::tree::tick
    }
}

proc ::tree::Median {values} {
    set s [lsort -real $values]
    lindex $s [expr {[llength $s] / 2}]
}

# Network --
#	An authority here and n worker processes, meshed; returns {a f}.
proc ::tree::Network {n} {
    set a [p2p::authority new -port 0]
    StartWorkers $n [$a address]
    Wait [list apply {{a n} {
	set ws [$a workers]
	expr {[dict size $ws] == $n && ($n == 1 || [lsearch -exact [lmap {k w} $ws {
	    llength [dict get $w peers]}] 0] < 0)}
    }} $a $n] 30000
    set f [p2p::foreman new -authorities [list [$a address]]]
    list $a $f
}

# Tree --
#	One tree job on {0 n}; returns {ms result nodes workers}.
proc ::tree::Tree {f n} {
    variable script
    set t0 [clock microseconds]
    set id [$f submit -tree $script -input [list 0 $n] -maxdepth 3 \
	-fanout 3 -timeout 600000]
    set r [$f wait $id -timeout 600000]
    set ms [expr {([clock microseconds] - $t0) / 1000.0}]
    if {[dict get $r status] ne "ok"} {
	error "tree job: [dict get $r error]"
    }
    set nodes [$f tree $id]
    $f forget $id
    list $ms [dict get $r result] [llength $nodes] \
	[llength [lsort -unique [lmap x $nodes {dict get $x node}]]]
}

# Pieces --
#	The pieces the tree works on, computed here with the script.
proc ::tree::Pieces {n} {
    variable script
    interp create -safe sim
    sim eval $script
    set out {}
    set todo [list [list 0 [list 0 $n]]]
    while {[llength $todo]} {
	set todo [lassign $todo item]
	lassign $item depth in
	if {$depth < 3} {
	    set pieces [sim eval [list split $in [dict create depth $depth \
		maxdepth 3 fanout 3]]]
	    lappend out [lindex $pieces 0]
	    foreach p [lrange $pieces 1 end] {
		lappend todo [list [expr {$depth + 1}] $p]
	    }
	} else {
	    lappend out $in
	}
    }
    interp delete sim
    return $out
}

# Flat --
#	The same pieces as script jobs at once, merged here; returns
#	{ms result}.
proc ::tree::Flat {f n} {
    variable script
    set t0 [clock microseconds]
    set ids [lmap p [Pieces $n] {
	$f submit -job [dict create kind script \
	    script "$script\nwork \$piece" vars [list piece $p] \
	    limits {time 600000}] -timeout 600000
    }]
    set sum 0
    foreach id $ids {
	set r [$f wait $id -timeout 600000]
	if {[dict get $r status] ne "ok"} {
	    error "flat job: [dict get $r error]"
	}
	incr sum [dict get $r result]
	$f forget $id
    }
    list [expr {([clock microseconds] - $t0) / 1000.0}] $sum
}

proc ::tree::Main {argv} {
    variable srcDir
    variable script
    set o [dict create -n 1000000 -runs 3 -nodoc 0 \
	-doc [file join $srcDir doc performance.md]]
    foreach {k v} $argv {
	if {![dict exists $o $k]} {
	    puts stderr "usage: tclsh bench/tree.tcl ?-n N? ?-runs N? ?-doc FILE? ?-nodoc 1?"
	    exit 2
	}
	dict set o $k $v
    }
    set started [clock seconds]
    lappend ::auto_path $srcDir
    package require p2pjobs
    set n [dict get $o -n]
    set runs [dict get $o -runs]
    # The count, here, once.
    interp create -safe local
    local eval $script
    set t0 [clock microseconds]
    set want [local eval [list work [list 0 $n]]]
    set localMs [expr {([clock microseconds] - $t0) / 1000.0}]
    interp delete local
    Log "local count: $want primes below $n in $localMs ms"
    set speed {}
    foreach w {1 2 4 8} {
	lassign [Network $w] a f
	set times {}
	for {set i 0} {$i < $runs} {incr i} {
	    lassign [Tree $f $n] ms result nodes used
	    if {$result != $want} {
		error "tree on $w workers counted $result, not $want"
	    }
	    lappend times $ms
	}
	dict set speed $w [list [Median $times] $nodes $used]
	Log "$w workers: [Median $times] ms ($nodes nodes on $used workers)"
	if {$w == 8} {
	    # The overhead of the tree against a flat farm, CPU-bound and
	    # trivial, on the same 8 workers.
	    foreach {label size} [list cpu $n trivial 150] {
		set tt {}
		set ft {}
		for {set i 0} {$i < $runs} {incr i} {
		    lassign [Tree $f $size] ms result
		    lappend tt $ms
		    lassign [Flat $f $size] ms sum
		    if {$sum != $result} {
			error "flat farm counted $sum, the tree $result"
		    }
		    lappend ft $ms
		}
		dict set overhead $label [list [Median $tt] [Median $ft]]
		Log "$label: tree [Median $tt] ms, flat [Median $ft] ms"
	    }
	}
	$f destroy
	$a destroy
	StopAll
    }
    set base [lindex [dict get $speed 1] 0]
    set t1 "| worker processes | tree job ms | speed-up | efficiency | nodes (workers used) |\n|---:|---:|---:|---:|---|\n"
    dict for {w v} $speed {
	lassign $v ms nodes used
	set s [expr {$base / $ms}]
	append t1 [format "| %d | %.0f | %.2f | %.0f%% | %d (%d) |\n" $w $ms $s \
	    [expr {100.0 * $s / $w}] $nodes $used]
    }
    set t2 "| pieces | depth-3 tree ms | flat farm of the same 15 pieces ms | tree overhead ms |\n|---|---:|---:|---:|\n"
    foreach {label text} [list cpu "primes below $n" trivial "primes below 150 (trivial)"] {
	lassign [dict get $overhead $label] tms fms
	append t2 [format "| %s | %.1f | %.1f | %.1f |\n" $text $tms $fms \
	    [expr {$tms - $fms}]]
    }
    puts $t1
    puts $t2
    if {![dict get $o -nodoc]} {
	set cpus [llength [regexp -all -inline -line {^processor} \
	    [exec cat /proc/cpuinfo]]]
	set section "<!-- begin tree -->\n## Tree jobs (issue 8)\n\n"
	append section "Generated by `tclsh bench/tree.tcl` (run by `make bench`) on\
	    [clock format $started -gmt 1 -format {%Y-%m-%d %H:%M:%S UTC}],\
	    on $cpus logical CPUs.\n\n"
	append section "A tree job counts the primes below $n (a sieve per piece,\
	    in a safe interpreter): split in 3 down to depth 3, 15 nodes, each\
	    working on an equal share (the script sizes the pieces from depth,\
	    maxdepth and fanout). The authority and the foreman in this\
	    process, each worker its own process (`p2pjobs worker -slots 1`)\
	    on 127.0.0.1; median of $runs runs. The same count here, in one\
	    interpreter: [format %.0f $localMs] ms.\n\n"
	append section $t1 "\n"
	append section "With $cpus cores, more worker processes than cores cannot\
	    go faster: the speed-up saturates at $cpus, and efficiency falls\
	    as workers are added beyond that.\n\n"
	append section "Overhead of the tree: the same 15 pieces as a flat farm of\
	    15 script jobs submitted at once to the 8 workers (merged by the\
	    foreman), beside the tree, where each node asks its own mesh for bids\
	    before it splits. No ledger in these runs: nothing is paid. With\
	    one worker nobody else bids, so the root works on every piece\
	    itself (one node): that row is the work without the tree.\n\n"
	append section $t2
	append section "<!-- end tree -->\n"
	::bench::writeSection [dict get $o -doc] tree $section
	Log "wrote [dict get $o -doc]"
    }
}

if {[info exists argv0] && [file normalize $argv0] eq [file normalize [info script]]} {
    if {[catch {::tree::Main $argv} msg]} {
	::tree::StopAll
	puts stderr "bench tree: $msg"
	exit 1
    }
    exit 0
}
