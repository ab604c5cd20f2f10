# bids.tcl --
#
#	Benchmark of the network (issue 3): bid latency, from `$f bids` to
#	the merged answer, with 8, 50, 200 and 1,000 workers, at time to
#	live 3, 4 and 5, and the messages one solicitation costs. The
#	authority and the foreman run in this process; the workers are
#	virtual peers, `bin/p2pjobs worker -peers N`, at most 250 to a
#	process. Everything on 127.0.0.1. Beside each figure: the round trip
#	of one `ping` from the foreman to a worker, measured in the same run
#	(the floor of any request through the network).
#
#	It prints a table and, unless -nodoc, replaces the section between
#	the markers <!-- begin bids --> and <!-- end bids --> of
#	doc/performance.md (appending it when absent).
#
#	USAGE: tclsh bench/bids.tcl ?-quick 1? ?-sizes {8 50 200 1000}?
#		?-ttls {3 4 5}? ?-reps 5? ?-doc FILE? ?-nodoc 1?

package require Tcl 8.6

namespace eval ::bids {
    variable benchDir [file dirname [file normalize [info script]]]
    variable srcDir [file dirname $benchDir]
    variable procs {}		;# {chan pid} of every worker process
}
source [file join $::bids::benchDir docsection.tcl]

proc ::bids::Log {msg} {
    puts stderr "bench bids: $msg"
    flush stderr
}

# Start --
#	n workers in processes of at most per workers; returns when all
#	of them printed their address.
proc ::bids::Start {n authority {per 250}} {
    variable srcDir
    variable procs
    set left $n
    while {$left > 0} {
	set k [expr {min($per, $left)}]
	set chan [open |[list [info nameofexecutable] \
	    [file join $srcDir bin p2pjobs] worker -peers $k \
	    -authority $authority 2>@stderr] r]
	lappend procs [list $chan [pid $chan]]
	for {set i 0} {$i < $k} {incr i} {
	    if {[gets $chan line] < 0} {
		error "worker process exited: [read $chan]"
	    }
	}
	incr left -$k
    }
}

proc ::bids::StopAll {} {
    variable procs
    foreach p $procs {
	lassign $p chan pid
	catch {exec kill -KILL $pid}
	catch {close $chan}
    }
    set procs {}
}

# Connected --
#	True when the authority knows n workers, each with a peer, and
#	their mesh is connected.
proc ::bids::Connected {a n} {
    set ws [$a workers]
    if {[dict size $ws] != $n} {
	return 0
    }
    set adj {}
    dict for {addr info} $ws {
	if {[llength [dict get $info peers]] == 0} {
	    return 0
	}
	foreach p [dict get $info peers] {
	    dict lappend adj $addr $p
	    dict lappend adj $p $addr
	}
    }
    set start [lindex [dict keys $ws] 0]
    set seen [dict create $start 1]
    set todo [list $start]
    while {[llength $todo]} {
	set todo [lassign $todo x]
	foreach y [dict get $adj $x] {
	    if {![dict exists $seen $y]} {
		dict set seen $y 1
		lappend todo $y
	    }
	}
    }
    expr {[dict size $seen] == $n}
}

proc ::bids::WaitFor {script ms} {
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![uplevel 1 $script]} {
	if {[clock milliseconds] > $deadline} {
	    return 0
	}
	after 100 {set ::bids::tick 1}
	vwait ::bids::tick
    }
    return 1
}

proc ::bids::Median {values} {
    set s [lsort -real $values]
    set n [llength $s]
    if {$n == 0} {
	return 0
    }
    if {$n % 2} {
	return [lindex $s [expr {$n / 2}]]
    }
    expr {([lindex $s [expr {$n / 2 - 1}]] + [lindex $s [expr {$n / 2}]]) / 2.0}
}

# PingRtt --
#	Median round trip (ms) of a ping from a p2p::client to a worker
#	(with a key pair of its own and encryption, as a foreman).
proc ::bids::PingRtt {addr reps} {
    set c [p2p::client new -address $addr -protocol p2p:worker<-foreman \
	-identity [p2p::identity generate] -secure 1]
    $c protocol add p2p:foreman<-worker/1 [list \
	pong [namespace which PongCmd] welcome [namespace which Quiet] \
	exception [namespace which Quiet] proffer [namespace which Quiet]]
    $c connect
    $c send [list hello default foreman]
    set times {}
    for {set i 0} {$i < $reps} {incr i} {
	set t [clock microseconds]
	$c send [list ping $i]
	vwait ::bids::pong
	lappend times [expr {([clock microseconds] - $t) / 1000.0}]
    }
    $c destroy
    Median $times
}
proc ::bids::PongCmd {seq} {
    set ::bids::pong $seq
    return
}
proc ::bids::Quiet {args} {
    return
}

proc ::bids::Main {argv} {
    variable srcDir
    set sizes {8 50 200 1000}
    set ttls {3 4 5}
    set reps 5
    set doc [file join $srcDir doc performance.md]
    set writeDoc 1
    foreach {opt value} $argv {
	switch -- $opt {
	    -quick {if {$value} {set sizes {8 50 200}; set reps 3}}
	    -sizes {set sizes $value}
	    -ttls {set ttls $value}
	    -reps {set reps $value}
	    -doc {set doc [file normalize $value]}
	    -nodoc {if {$value} {set writeDoc 0}}
	    default {
		puts stderr "usage: tclsh bench/bids.tcl ?-quick 1? ?-sizes list?\
		    ?-ttls list? ?-reps n? ?-doc FILE? ?-nodoc 1?"
		exit 2
	    }
	}
    }
    package require p2pjobs
    set started [clock seconds]
    set rows {}
    foreach n $sizes {
	set a [p2p::authority new -port 0]
	Log "$n workers: starting"
	set t0 [clock milliseconds]
	Start $n [$a address]
	if {![WaitFor [list Connected $a $n] [expr {30000 + 100 * $n}]]} {
	    Log "$n workers: mesh not connected in time, skipped"
	    StopAll
	    $a destroy
	    continue
	}
	set formed [expr {[clock milliseconds] - $t0}]
	Log "$n workers: mesh connected in $formed ms"
	set f [p2p::foreman new -authorities [list [$a address]]]
	set rtt [PingRtt [lindex [dict keys [$a workers]] 0] 200]
	foreach ttl $ttls {
	    set ms {}
	    set got {}
	    set msgs {}
	    for {set r 0} {$r < $reps} {incr r} {
		set bids [$f bids -job {kind script} -ttl $ttl -hop 250]
		set round [$f lastRound]
		lappend ms [dict get $round ms]
		lappend got [llength $bids]
		lappend msgs [dict get $round messages]
	    }
	    set row [dict create workers $n ttl $ttl ms [Median $ms] \
		max [lindex [lsort -real $ms] end] bids [Median $got] \
		messages [Median $msgs] rtt $rtt formed $formed]
	    lappend rows $row
	    Log "$n workers ttl $ttl: [dict get $row ms] ms, [dict get $row bids]\
		bids, [dict get $row messages] messages"
	}
	$f destroy
	StopAll
	$a destroy
    }
    set table [Table $rows]
    puts $table
    if {$writeDoc} {
	::bench::writeSection $doc bids [Section $table $rows $started $reps]
	Log "wrote $doc"
    }
}

proc ::bids::Table {rows} {
    set out "| workers | ttl | bids received | median ms | worst ms | messages | ping rtt ms | mesh formed in ms |\n"
    append out "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    foreach r $rows {
	append out [format "| %d | %d | %s | %.1f | %.1f | %s | %.3f | %d |\n" \
	    [dict get $r workers] [dict get $r ttl] [dict get $r bids] \
	    [dict get $r ms] [dict get $r max] [dict get $r messages] \
	    [dict get $r rtt] [dict get $r formed]]
    }
    return $out
}

proc ::bids::Section {table rows started reps} {
    set target "no 200-worker run"
    foreach r $rows {
	if {[dict get $r workers] == 200} {
	    set ok [expr {[dict get $r bids] == 200 && [dict get $r ms] < 1000}]
	    set target [expr {$ok ? "met" : "not met"}]
	    if {$ok} {
		append target " (ttl [dict get $r ttl]: [dict get $r bids] bids\
		    in [format %.1f [dict get $r ms]] ms)"
		break
	    }
	}
    }
    set out "<!-- begin bids -->\n## Bid latency (the network, issue 3)\n\n"
    append out "Generated by `tclsh bench/bids.tcl` (run by `make bench`) on\
	[clock format $started -format {%Y-%m-%d %H:%M:%S %Z}].\n\n"
    append out "An authority and a foreman in one process; N workers as virtual\
	peers (`bin/p2pjobs worker -peers`, at most 250 to a process) on\
	127.0.0.1, meshed with the default options (4 chosen peers each, one\
	of them a random pick). Each row: $reps solicitations of `\$f bids -job\
	{kind script} -ttl TTL -hop 250` (3 entry workers), the median and\
	worst time from the call to the merged answer, the bids received\
	(median), and the messages the solicitation cost (solicit and proffer\
	messages, counted by the workers and reported up the tree). The\
	baseline is the round trip of one `ping` from a client to a worker in\
	the same run: no request through the network can be faster.\n\n"
    append out $table
    append out "\nTarget (bids from 200 workers in under 1 s): $target.\n"
    append out "<!-- end bids -->\n"
}

if {[info exists argv0] && [file normalize $argv0] eq [file normalize [info script]]} {
    if {[catch {::bids::Main $argv} msg]} {
	::bids::StopAll
	puts stderr "bench bids: $msg"
	exit 1
    }
    ::bids::StopAll
    exit 0
}
