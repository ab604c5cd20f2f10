# run.tcl --
#
#	Benchmark driver of p2pjobs (issue 2). `make bench` runs it from the
#	build directory. It builds the C load generator and the raw libuv
#	echo server into bench/build/ (cc + pkg-config libuv) when needed,
#	then measures three servers in the same run, each in its own process,
#	against the load generator in another, all on 127.0.0.1 with 64-byte
#	payloads:
#
#	    tcl  bench/tclserver.tcl  plain Tcl: socket, fileevent, gets/puts
#	    uv   bench/uvecho.c       raw C on libuv, same frames as p2pjobs
#	    p2p  bench/p2pserver.tcl  p2pjobs, protocol bench/1 {echo {x} ...}
#
#	Benchmarks: pipelined echo (messages/s and server CPU seconds per
#	million messages), sequential round trips with server and load
#	generator pinned to one core and unpinned (p50/p99 us), and 10,000
#	(and 1,000) concurrent connections each doing one round trip
#	(completion time, server RSS per held connection). It prints the
#	tables and writes doc/performance.md (full runs only, unless -doc).
#
#	USAGE: tclsh bench/run.tcl ?-quick? ?-reps N? ?-servers {tcl uv p2p}?
#		?-doc FILE? ?-nodoc?

package require Tcl 8.6

namespace eval ::bench {
    variable benchDir [file dirname [file normalize [info script]]]
    variable srcDir [file dirname $benchDir]
    variable buildDir [pwd]
    variable binDir [file join $buildDir bench build]
    variable wait			;# ReadLine's vwait target, by channel.
    variable raw {}			;# Every loadgen result line.
    variable notes {}			;# Observations for the document.
    variable clkTck 100

    # Settings of a full run and of -quick.
    # pipeShapes: other connections x window shapes of the pipelined
    # test, measured once each for context (the targets use pipeConns x
    # pipeWindow).
    variable cfg [dict create \
	reps 5 pipeSeconds 3 pipeWarmup 1 pipeConns 8 pipeWindow 128 \
	pipeShapes {{1 1024} {64 16}} shapeSeconds 3 \
	rttSeconds 2 rttWarmup 0.5 rttCount 1000000 \
	conns {10000 1000} connsReps 3 connsTimeout 60]
    variable quickCfg [dict create \
	reps 1 connsReps 1 pipeSeconds 2 pipeWarmup 0.5 pipeShapes {} \
	rttSeconds 1 rttWarmup 0.2]

    variable labels [dict create \
	tcl "plain Tcl server" uv "raw C libuv server" p2p "p2pjobs"]
}

# ::bench::Log --
#
#	Progress on stderr, so that stdout carries the tables only.

proc ::bench::Log {msg} {
    puts stderr "bench: $msg"
    flush stderr
}

# ::bench::Build --
#
#	Compiles PROGRAM.c into bench/build/PROGRAM unless it is up to date.
#	Returns the path of the executable.

proc ::bench::Build {program} {
    variable benchDir
    variable binDir
    set src [file join $benchDir $program.c]
    set hdr [file join $benchDir benchwire.h]
    set exe [file join $binDir $program]
    if {[file exists $exe]
	    && [file mtime $exe] >= [file mtime $src]
	    && [file mtime $exe] >= [file mtime $hdr]} {
	return $exe
    }
    file mkdir $binDir
    set uv [exec pkg-config --cflags --libs libuv]
    set cc [expr {[info exists ::env(CC)] ? $::env(CC) : "cc"}]
    Log "building $exe"
    exec {*}$cc -O2 -Wall -o $exe $src {*}$uv >@ stderr 2>@ stderr
    return $exe
}

# ::bench::ReadLine --
#
#	Reads one line from a non-blocking channel, waiting at most MS
#	milliseconds. Returns the line; error on EOF or timeout.

proc ::bench::ReadLine {chan ms what} {
    variable wait
    set deadline [expr {[clock milliseconds] + $ms}]
    while {1} {
	if {[gets $chan line] >= 0} {
	    return $line
	}
	if {[chan eof $chan]} {
	    error "$what: ended without the expected output"
	}
	set left [expr {$deadline - [clock milliseconds]}]
	if {$left <= 0} {
	    error "$what: no output within [expr {$ms / 1000.0}] s"
	}
	set wait($chan) ""
	chan event $chan readable [list set ::bench::wait($chan) readable]
	set id [after $left [list set ::bench::wait($chan) timeout]]
	vwait ::bench::wait($chan)
	after cancel $id
	chan event $chan readable {}
	unset wait($chan)
    }
}

# ::bench::Launch --
#
#	Starts CMD as a separate process with the soft descriptor limit
#	raised to the hard one (and pinned to core 0 if PINNED), stdout
#	and stdin piped to us, stderr to ERRFILE. Returns the channel.

proc ::bench::Launch {cmd pinned errFile} {
    if {$pinned} {
	set cmd [list taskset -c 0 {*}$cmd]
    }
    set sh {ulimit -S -n "$(ulimit -H -n)" 2>/dev/null; exec "$@"}
    set chan [open |[list sh -c $sh sh {*}$cmd 2> $errFile] r+]
    chan configure $chan -blocking 0 -buffering line
    return $chan
}

# ::bench::StartServer --
#
#	Starts server KIND; returns a dict: chan pid port kind errFile.

proc ::bench::StartServer {kind {pinned 0}} {
    variable benchDir
    variable binDir
    set tclsh [info nameofexecutable]
    switch -- $kind {
	tcl {set cmd [list $tclsh [file join $benchDir tclserver.tcl]]}
	uv  {set cmd [list [file join $binDir uvecho]]}
	p2p {set cmd [list $tclsh [file join $benchDir p2pserver.tcl]]}
    }
    set errFile [file join $binDir server-$kind.err]
    set chan [Launch $cmd $pinned $errFile]
    set pid [lindex [pid $chan] 0]
    set server [dict create chan $chan pid $pid kind $kind errFile $errFile]
    if {[catch {ReadLine $chan 10000 "$kind server"} port]
	    || ![string is integer -strict $port]} {
	StopServer $server
	error "$kind server did not start: $port [ErrTail $errFile]"
    }
    dict set server port $port
    return $server
}

# ::bench::StopServer --
#
#	Kills the server by pid and reaps it.

proc ::bench::StopServer {server} {
    set pid [dict get $server pid]
    catch {exec kill $pid}
    set chan [dict get $server chan]
    catch {chan configure $chan -blocking 1}
    catch {close $chan}
}

# ::bench::ErrTail --
#
#	The last line a process wrote to its error file, or "".

proc ::bench::ErrTail {errFile} {
    if {[catch {
	set f [open $errFile r]
	set text [string trim [read $f]]
	close $f
    }]} {
	return ""
    }
    return [lindex [split $text \n] end]
}

# ::bench::Alive --

proc ::bench::Alive {pid} {
    if {[catch {
	set f [open /proc/$pid/stat r]
	set stat [read $f]
	close $f
    }]} {
	return 0
    }
    set state [lindex [string range $stat [string last ")" $stat]+2 end] 0]
    return [expr {$state ni {Z X}}]
}

# ::bench::CpuSeconds --
#
#	utime + stime of a process, from /proc/PID/stat.

proc ::bench::CpuSeconds {pid} {
    variable clkTck
    set f [open /proc/$pid/stat r]
    set stat [read $f]
    close $f
    set fields [split [string range $stat [string last ")" $stat]+2 end]]
    # Field 3 (state) is index 0 here: utime is field 14, stime 15.
    return [expr {([lindex $fields 11] + [lindex $fields 12])
		  / double($clkTck)}]
}

# ::bench::MachineBusy --
#
#	CPU seconds the whole machine spent not idle (user, nice, system,
#	irq, softirq, steal; all CPUs), from /proc/stat.

proc ::bench::MachineBusy {} {
    variable clkTck
    set f [open /proc/stat r]
    set line [gets $f]
    close $f
    lassign $line - user nice system idle iowait irq softirq steal
    return [expr {($user + $nice + $system + $irq + $softirq + $steal)
		  / double($clkTck)}]
}

# ::bench::RssKiB --
#
#	VmRSS of a process in KiB.

proc ::bench::RssKiB {pid} {
    set f [open /proc/$pid/status r]
    set status [read $f]
    close $f
    if {![regexp -line {^VmRSS:\s+(\d+)\s+kB} $status -> kib]} {
	error "no VmRSS for process $pid"
    }
    return $kib
}

# ::bench::TcpCounters --
#
#	The kernel's TcpExt counters ListenOverflows (connections refused
#	because the accept queue was full) and TCPSynRetrans, from
#	/proc/net/netstat ({0 0} if unreadable). System-wide, but nothing
#	else runs on loopback during the benchmark.

proc ::bench::TcpCounters {} {
    set counters {0 0}
    catch {
	set f [open /proc/net/netstat r]
	set lines [split [read $f] \n]
	close $f
	foreach {names values} $lines {
	    if {[lindex $names 0] eq "TcpExt:"} {
		foreach n $names v $values {
		    set c($n) $v
		}
		set counters [list $c(ListenOverflows) $c(TCPSynRetrans)]
	    }
	}
    }
    return $counters
}

# ::bench::Loadgen --
#
#	Runs the load generator with ARGS (pinned to core 0 if PINNED) and
#	returns its result as a dict. With HELD, a command prefix, the
#	load generator keeps its connections open after reporting; HELD is
#	called with the result dict and returns a dict merged into it, then
#	the load generator is told to close.

proc ::bench::Loadgen {tag argList pinned timeoutMs {held {}}} {
    variable binDir
    variable raw
    set errFile [file join $binDir loadgen.err]
    set chan [Launch [list [file join $binDir loadgen] {*}$argList] \
	$pinned $errFile]
    set result ""
    set code [catch {
	set line [ReadLine $chan $timeoutMs loadgen]
	if {![string match "result *" $line]} {
	    error "loadgen: unexpected output: $line"
	}
	lappend raw "$tag: [string range $line 7 end]"
	set result [dict create]
	foreach pair [lrange [split $line] 1 end] {
	    lassign [split $pair =] key value
	    dict set result $key $value
	}
	if {[llength $held]} {
	    set result [dict merge $result [{*}$held $result]]
	    puts $chan close
	    flush $chan
	}
	# Wait for the end of its output: it has closed its connections.
	# conns mode reports how many held connections the server dropped.
	while {1} {
	    set line [ReadLine $chan 30000 loadgen]
	    if {[regexp {^held lost=(\d+)} $line -> lost]} {
		dict set result lost $lost
	    }
	}
    } msg]
    catch {chan configure $chan -blocking 1}
    catch {close $chan}
    set diag [ErrTail $errFile]
    if {$code && ![string match "*ended without the expected output" $msg]} {
	error "$msg [expr {$diag ne "" ? "($diag)" : ""}]"
    }
    if {$result eq ""} {
	error "loadgen failed: $diag"
    }
    if {$diag ne ""} {
	dict set result diag $diag
    }
    return $result
}

# ::bench::Measure --
#
#	Runs one load generator pass against SERVER and adds the server's
#	CPU seconds (total and per million messages) to its result.

proc ::bench::Measure {tag server argList pinned timeoutMs} {
    set pid [dict get $server pid]
    set cpu0 [CpuSeconds $pid]
    set busy0 [MachineBusy]
    set r [Loadgen $tag [list -port [dict get $server port] {*}$argList] \
	$pinned $timeoutMs]
    set cpu [expr {[CpuSeconds $pid] - $cpu0}]
    set other [expr {[MachineBusy] - $busy0 - $cpu - [dict get $r lg_cpu]}]
    dict set r server_cpu $cpu
    dict set r other_cpu [expr {$other / [dict get $r lg_wall]}]
    dict set r server_busy [expr {$cpu / [dict get $r lg_wall]}]
    dict set r cpu_per_M [expr {[dict get $r total] > 0
	? $cpu / [dict get $r total] * 1e6 : 0.0}]
    return $r
}

proc ::bench::Wire {kind} {
    return [expr {$kind eq "tcl" ? "line" : "p2p"}]
}

# ::bench::RunPipeline, RunRtt, RunConns --
#
#	One measurement each, on a fresh server process.

proc ::bench::RunPipeline {kind {conns ""} {window ""} {seconds ""}} {
    variable cfg
    if {$conns eq ""} {
	set conns [dict get $cfg pipeConns]
	set window [dict get $cfg pipeWindow]
	set seconds [dict get $cfg pipeSeconds]
    }
    set s [StartServer $kind]
    try {
	return [Measure "$kind pipeline ${conns}x$window" $s \
	    [list -wire [Wire $kind] -mode pipeline -conns $conns \
		 -window $window -seconds $seconds \
		 -warmup [dict get $cfg pipeWarmup]] 0 \
	    [expr {int(($seconds + 30) * 1000)}]]
    } finally {
	StopServer $s
    }
}

proc ::bench::RunRtt {kind pinned} {
    variable cfg
    set s [StartServer $kind $pinned]
    try {
	set seconds [dict get $cfg rttSeconds]
	return [Measure "$kind rtt[expr {$pinned ? { same-core} : {}}]" $s \
	    [list -wire [Wire $kind] -mode rtt \
	    -seconds $seconds -warmup [dict get $cfg rttWarmup] \
	    -count [dict get $cfg rttCount]] $pinned \
	    [expr {int(($seconds + 30) * 1000)}]]
    } finally {
	StopServer $s
    }
}

proc ::bench::RunConns {kind n} {
    variable cfg
    set s [StartServer $kind]
    try {
	set pid [dict get $s pid]
	set rss0 [RssKiB $pid]
	set cpu0 [CpuSeconds $pid]
	set tcp0 [TcpCounters]
	set timeout [dict get $cfg connsTimeout]
	set r [Loadgen "$kind conns" [list -port [dict get $s port] -wire [Wire $kind] \
	    -mode conns -conns $n -timeout $timeout -hold 60] 0 \
	    [expr {int(($timeout + 30) * 1000)}] \
	    [list ::bench::HeldSample $pid]]
	dict set r rss0 $rss0
	lassign [TcpCounters] overflows synRetrans
	dict set r listen_overflows [expr {$overflows - [lindex $tcp0 0]}]
	dict set r syn_retrans [expr {$synRetrans - [lindex $tcp0 1]}]
	dict set r server_died [expr {![Alive $pid]}]
	dict set r server_cpu [expr {[dict get $r rss_held] eq "" ? ""
	    : [dict get $r cpu_held] - $cpu0}]
	if {[dict get $r rss_held] ne "" && [dict get $r completed] > 0} {
	    dict set r kib_per_conn [expr {
		([dict get $r rss_held] - $rss0) / double([dict get $r completed])}]
	} else {
	    dict set r kib_per_conn ""
	}
	if {[dict get $r server_died]} {
	    dict set r server_err [ErrTail [dict get $s errFile]]
	}
	return $r
    } finally {
	StopServer $s
    }
}

# ::bench::HeldSample --
#
#	Called while the load generator holds its connections: the server's
#	RSS and CPU time now ("" if it died).

proc ::bench::HeldSample {pid result} {
    if {![Alive $pid] || [catch {
	set sample [dict create rss_held [RssKiB $pid] \
	    cpu_held [CpuSeconds $pid]]
    }]} {
	return [dict create rss_held "" cpu_held 0]
    }
    return $sample
}

# ::bench::AddResult --
#
#	Appends result R to the runs of KIND under KEY in the dict in
#	VARNAME (key -> kind -> list of result dicts).

proc ::bench::AddResult {varName key kind r} {
    upvar 1 $varName results
    set runs {}
    if {[dict exists $results $key $kind]} {
	set runs [dict get $results $key $kind]
    }
    lappend runs $r
    dict set results $key $kind $runs
}

# ::bench::Median, Range --

proc ::bench::Median {values} {
    set v [lsort -real $values]
    set n [llength $v]
    if {$n == 0} {
	return ""
    }
    if {$n % 2} {
	return [lindex $v [expr {$n / 2}]]
    }
    return [expr {([lindex $v [expr {$n / 2 - 1}]]
		   + [lindex $v [expr {$n / 2}]]) / 2.0}]
}

proc ::bench::Range {values fmt} {
    if {[llength $values] < 2} {
	return ""
    }
    set v [lsort -real $values]
    return "[format $fmt [lindex $v 0]]–[format $fmt [lindex $v end]]"
}

# ::bench::Field --
#
#	The values of KEY over the runs of KIND in RESULTS (a dict kind ->
#	list of result dicts), skipping failed runs.

proc ::bench::Field {results kind key} {
    set values {}
    if {![dict exists $results $kind]} {
	return {}
    }
    foreach r [dict get $results $kind] {
	if {[dict exists $r $key] && [string is double -strict [dict get $r $key]]} {
	    lappend values [dict get $r $key]
	}
    }
    return $values
}

# ::bench::Fmt --
#
#	Median of KEY formatted with FMT, with the range over repetitions
#	when there are several, or "failed".

proc ::bench::Fmt {results kind key fmt} {
    set values [Field $results $kind $key]
    if {![llength $values]} {
	return "failed"
    }
    set text [format $fmt [Median $values]]
    set range [Range $values $fmt]
    if {$range ne ""} {
	append text " ($range)"
    }
    return $text
}

proc ::bench::Group {n} {
    # 1234567 -> 1,234,567
    set n [format %.0f $n]
    while {[regsub {^([-+]?\d+)(\d{3})} $n {\1,\2} n]} {}
    return $n
}

# ::bench::MachineInfo --

proc ::bench::MachineInfo {} {
    variable srcDir
    set info [dict create]
    set model unknown
    set ncpu 0
    catch {
	set f [open /proc/cpuinfo r]
	foreach line [split [read $f] \n] {
	    if {[regexp {^model name\s*:\s*(.*)$} $line -> m]} {
		set model $m
	    }
	    if {[regexp {^processor\s*:} $line]} {
		incr ncpu
	    }
	}
	close $f
    }
    catch {set ncpu [exec nproc]}
    dict set info cpu $model
    dict set info nproc $ncpu
    dict set info kernel [exec uname -srm]
    set os unknown
    catch {
	set f [open /etc/os-release r]
	regexp -line {^PRETTY_NAME="?([^"\n]*)"?} [read $f] -> os
	close $f
    }
    dict set info os $os
    dict set info tcl [info patchlevel]
    dict set info libuv [exec pkg-config --modversion libuv]
    set cc unknown
    catch {set cc [lindex [split [exec cc --version] \n] 0]}
    dict set info cc $cc
    set rev unknown
    catch {
	set rev [exec git -C $srcDir rev-parse --short HEAD]
	if {[exec git -C $srcDir status --porcelain --untracked-files=no] ne ""} {
	    append rev " (with uncommitted changes)"
	}
    }
    dict set info rev $rev
    set p2p unknown
    catch {
	set p2p [exec [info nameofexecutable] << {puts [package require p2pjobs]}]
    }
    dict set info p2pjobs $p2p
    dict set info memory [expr {[lindex [exec grep MemTotal /proc/meminfo] 1] / 1024}]
    return $info
}

# ::bench::Table --
#
#	A markdown table: HEADER is a list of column titles, ROWS a list of
#	lists.

proc ::bench::Table {header rows} {
    set out "| [join $header " | "] |\n"
    append out "|[string repeat " --- |" [llength $header]]\n"
    foreach row $rows {
	append out "| [join $row " | "] |\n"
    }
    return $out
}

# ::bench::Report --
#
#	Builds the whole report (markdown) from the results.

proc ::bench::Report {machine results started elapsed quick} {
    variable cfg
    variable labels
    variable notes
    variable raw
    set servers [dict get $cfg servers]
    set reps [dict get $cfg reps]
    set connsReps [dict get $cfg connsReps]
    if {$reps > 1} {
	set repNote "Each figure is the median of $reps runs ($connsReps for the\
	    connection tests), with the range over the runs in parentheses;\
	    the servers' runs are interleaved, each on a fresh server process."
    } else {
	set repNote "One run per figure, each on a fresh server process."
    }

    set out "# Performance of the p2pjobs core\n\n"
    append out "Generated by `make bench` (`bench/run.tcl`[expr {$quick ? " -quick" : ""}]) "
    append out "on [clock format $started -format {%Y-%m-%d %H:%M:%S %Z}], "
    append out "in [format %.0f $elapsed] s. Every number below comes from that run; "
    append out "rerun `make bench` to refresh this file rather than editing it.\n"
    append out "(`tclsh bench/run.tcl -quick -doc FILE` from a build directory makes a\n"
    append out "shorter run; the C programs of `bench/` are built into `bench/build/`.)\n\n"

    append out "## Machine\n\n"
    append out "* CPU: [dict get $machine cpu], [dict get $machine nproc] logical CPUs\n"
    append out "* Memory: [dict get $machine memory] MiB\n"
    append out "* OS: [dict get $machine os], kernel [dict get $machine kernel]\n"
    append out "* Tcl [dict get $machine tcl], libuv [dict get $machine libuv], [dict get $machine cc]\n"
    append out "* p2pjobs [dict get $machine p2pjobs], source revision [dict get $machine rev]\n\n"

    append out "## Method\n\n"
    append out "Three servers, each in its own process, are measured in the same run\n"
    append out "against one load generator (`bench/loadgen.c`, C on libuv, one thread) in\n"
    append out "another process, over 127.0.0.1, with 64-byte payloads:\n\n"
    append out "* **[dict get $labels tcl]** (`bench/tclserver.tcl`): `socket -server`, `fileevent`\n"
    append out "  readable, `gets` until the input buffer is used up, `puts` into a fully\n"
    append out "  buffered channel (`-buffersize 65536`), one `flush` per readable event; the\n"
    append out "  first word of each line is looked up in a dict of procs. One line per\n"
    append out "  message (`echo PAYLOAD`).\n"
    append out "* **[dict get $labels uv]** (`bench/uvecho.c`): parses the p2pjobs frames and writes\n"
    append out "  the replies of each read in one write; no Tcl.\n"
    append out "* **[dict get $labels p2p]** (`bench/p2pserver.tcl`): `p2p::server` with protocol\n"
    append out "  `bench/1` holding `echo {x} {return \$x}`, installed with\n"
    append out "  `\$s protocol add bench/1 {echo ::bench::echo}`.\n\n"
    append out "Every connection first negotiates (`protocol bench/1`, answered in kind by\n"
    append out "all three servers), then sends `echo PAYLOAD`; the load generator checks\n"
    append out "that every reply is exactly the payload. Server CPU time is utime+stime from\n"
    append out "`/proc/PID/stat` ([expr {1000 / $::bench::clkTck}] ms ticks) over the whole load generator run, warm-up\n"
    append out "included, divided by all the messages of that run. Memory is `VmRSS` from\n"
    append out "`/proc/PID/status` of a fresh server before the connections and while they\n"
    append out "are all held open after their round trip. $repNote\n\n"

    # Pipelined throughput.
    set pc [dict get $cfg pipeConns]
    set pw [dict get $cfg pipeWindow]
    append out "## Pipelined echo\n\n"
    append out "$pc connections, each keeping $pw messages in flight (refilled after\n"
    append out "every read, in one write), [dict get $cfg pipeSeconds] s measured after\n"
    append out "[dict get $cfg pipeWarmup] s of warm-up. \"Server busy\" is the server's CPU\n"
    append out "time over the whole load generator run (1.0: one core saturated);\n"
    append out "\"load generator busy\" is the load generator's CPU time over the measured\n"
    append out "interval: below 1.0 it was waiting for the server.\n\n"
    set rows {}
    foreach kind $servers {
	set tr [dict get $results pipeline]
	lappend rows [list [dict get $labels $kind] \
	    [FmtGroup $tr $kind rate] \
	    [Fmt $tr $kind cpu_per_M %.2f] \
	    [Fmt $tr $kind server_busy %.2f] \
	    [Fmt $tr $kind lg_busy %.2f]]
    }
    append out [Table {Server "Messages/s" "Server CPU s per million messages" "Server busy" "Load generator busy"} $rows]
    append out "\n"
    set shapes [dict get $cfg pipeShapes]
    if {[llength $shapes]} {
	append out "The same test with other shapes (connections × messages in flight),\n"
	append out "one run of [dict get $cfg shapeSeconds] s each, for context; the targets use\n"
	append out "the ${pc} × $pw runs above.\n\n"
	set rows {}
	foreach shape $shapes {
	    lassign $shape c w
	    if {![dict exists $results shape$c/$w]} {
		continue
	    }
	    set tr [dict get $results shape$c/$w]
	    foreach kind $servers {
		lappend rows [list "$c × $w" [dict get $labels $kind] \
		    [FmtGroup $tr $kind rate] \
		    [Fmt $tr $kind cpu_per_M %.2f] \
		    [Fmt $tr $kind server_busy %.2f] \
		    [Fmt $tr $kind lg_busy %.2f]]
	    }
	}
	append out [Table {Shape Server "Messages/s" "Server CPU s per million messages" "Server busy" "Load generator busy"} $rows]
	append out "\n"
    }

    # Round trips.
    append out "## Sequential request/reply\n\n"
    append out "One connection, one message at a time, [dict get $cfg rttSeconds] s of\n"
    append out "samples after [dict get $cfg rttWarmup] s of warm-up. *Same core*: server\n"
    append out "and load generator both started under `taskset -c 0`. *Unpinned*: the\n"
    append out "scheduler places them.\n\n"
    set rows {}
    foreach pin {1 0} {
	set tr [dict get $results [expr {$pin ? "rttPinned" : "rtt"}]]
	foreach kind $servers {
	    lappend rows [list [expr {$pin ? "same core" : "unpinned"}] \
		[dict get $labels $kind] \
		[Fmt $tr $kind p50_us %.1f] [Fmt $tr $kind p99_us %.1f] \
		[Fmt $tr $kind mean_us %.1f] [FmtGroup $tr $kind samples] \
		[Fmt $tr $kind cpu_per_M %.1f]]
	}
    }
    append out [Table {Placement Server "p50 µs" "p99 µs" "mean µs" Samples "Server CPU s per million"} $rows]
    append out "\n"

    # Connections.
    foreach n [dict get $cfg conns] {
	set tr [dict get $results conns$n]
	append out "## [Group $n] concurrent connections\n\n"
	append out "[Group $n] connections opened at once to one server; each negotiates,\n"
	append out "does one echo round trip and then stays open. Round trips completed is\n"
	append out "the worst run's count. Completion time runs from\n"
	append out "the first connect to the last reply. Memory per connection is (RSS while\n"
	append out "all are held − RSS of the fresh server) / connections completed.\n"
	append out "Accept queue overflows is the kernel's `ListenOverflows` count over the\n"
	append out "run (the listen backlog is 4096 everywhere): each such connection's\n"
	append out "handshake is retried by the client after 1 s, then 2 s more.\n\n"
	set rows {}
	foreach kind $servers {
	    set ok [Field $tr $kind completed]
	    set done [expr {[llength $ok] ? [tcl::mathfunc::min {*}$ok] : 0}]
	    set complete [Fmt $tr $kind complete_ms %.0f]
	    if {$done < $n} {
		if {[tcl::mathfunc::max 0 {*}[Field $tr $kind server_died]]} {
		    set complete "— (server died)"
		} else {
		    set complete "$complete (not all completed)"
		}
	    }
	    lappend rows [list [dict get $labels $kind] \
		"[Group $done] / [Group $n]" $complete \
		[Fmt $tr $kind listen_overflows %.0f] \
		[Fmt $tr $kind rss0 %.0f] [Fmt $tr $kind rss_held %.0f] \
		[Fmt $tr $kind kib_per_conn %.2f] \
		[Fmt $tr $kind server_cpu %.2f]]
	}
	append out [Table {Server "Round trips completed" "Completion ms" "Accept queue overflows" "RSS before KiB" "RSS held KiB" "KiB per connection" "Server CPU s"} $rows]
	append out "\n"
    }

    # Targets.
    append out "## Targets (issue 2)\n\n"
    append out [Table {Target Measured Met} [Targets $results]]
    append out "\n"

    if {[llength $notes]} {
	append out "## Notes from this run\n\n"
	foreach note $notes {
	    append out "* $note\n"
	}
	append out "\n"
    }
    append out "## Raw load generator results\n\n"
    append out "```\n[join $raw \n]\n```\n"
    return $out
}

proc ::bench::FmtGroup {results kind key} {
    set values [Field $results $kind $key]
    if {![llength $values]} {
	return "failed"
    }
    set text [Group [Median $values]]
    if {[llength $values] > 1} {
	set v [lsort -real $values]
	append text " ([Group [lindex $v 0]]–[Group [lindex $v end]])"
    }
    return $text
}

# ::bench::Targets --
#
#	Rows {target measured met} for the four targets of the issue.

proc ::bench::Targets {results} {
    set rows {}
    set na "not measured"
    set pipe [dict get $results pipeline]
    set p2p [Median [Field $pipe p2p rate]]
    set tcl [Median [Field $pipe tcl rate]]
    if {$p2p ne "" && $tcl ne ""} {
	set ratio [expr {double($p2p) / $tcl}]
	lappend rows [list "pipelined throughput ≥ 2× the plain Tcl server" \
	    [format "%.2f× (%s vs %s messages/s)" $ratio [Group $p2p] [Group $tcl]] \
	    [YesNo [expr {$ratio >= 2.0}]]]
    } else {
	lappend rows [list "pipelined throughput ≥ 2× the plain Tcl server" $na —]
    }
    if {$p2p ne ""} {
	lappend rows [list "pipelined throughput ≥ 1,000,000 messages/s" \
	    "[Group $p2p] messages/s" [YesNo [expr {$p2p >= 1e6}]]]
    } else {
	lappend rows [list "pipelined throughput ≥ 1,000,000 messages/s" $na —]
    }
    set rtt [dict get $results rttPinned]
    set p2p [Median [Field $rtt p2p p50_us]]
    set tcl [Median [Field $rtt tcl p50_us]]
    if {$p2p ne "" && $tcl ne ""} {
	lappend rows [list "same-core p50 round trip ≤ the plain Tcl server's" \
	    [format "%.1f µs vs %.1f µs" $p2p $tcl] \
	    [YesNo [expr {$p2p <= $tcl}]]]
    } else {
	lappend rows [list "same-core p50 round trip ≤ the plain Tcl server's" $na —]
    }
    if {[dict exists $results conns10000]} {
	set c [dict get $results conns10000]
	set done [Field $c p2p completed]
	set kib [Field $c p2p kib_per_conn]
	if {[llength $done] && [llength $kib]} {
	    set allDone [expr {[tcl::mathfunc::min {*}$done] == 10000}]
	    set worst [tcl::mathfunc::max {*}$kib]
	    lappend rows [list "10,000 connections held, ≤ 8 KiB server memory per idle connection" \
		[format "%s of 10,000 held; %.2f KiB per connection (worst run %.2f)" \
		     [Group [tcl::mathfunc::min {*}$done]] [Median $kib] $worst] \
		[YesNo [expr {$allDone && $worst <= 8.0}]]]
	} else {
	    lappend rows [list "10,000 connections held, ≤ 8 KiB server memory per idle connection" \
		"failed" no]
	}
    }
    return $rows
}

proc ::bench::YesNo {b} {
    return [expr {$b ? "yes" : "**no**"}]
}

# ::bench::Main --

# ::bench::KeepSections --
#
#	The report followed by the sections other benchmarks wrote into the
#	old document between <!-- begin NAME --> and <!-- end NAME -->
#	markers (bench/bids.tcl), so that a run of this one keeps them.

proc ::bench::KeepSections {docFile report} {
    if {![file exists $docFile]} {
	return $report
    }
    set f [open $docFile]
    fconfigure $f -encoding utf-8
    set old [read $f]
    close $f
    foreach {section name} [regexp -all -inline \
	    {<!-- begin (\w+) -->.*?<!-- end \1 -->\n?} $old] {
	append report "\n" [string trimright $section \n] "\n"
    }
    return $report
}

proc ::bench::Main {argv} {
    variable cfg
    variable quickCfg
    variable srcDir
    variable buildDir
    variable binDir
    variable notes
    variable clkTck

    set quick 0
    set docFile [file join $srcDir doc performance.md]
    set writeDoc 1
    set docGiven 0
    set servers {tcl uv p2p}
    set reps ""
    for {set i 0} {$i < [llength $argv]} {incr i} {
	set opt [lindex $argv $i]
	switch -- $opt {
	    -quick {set quick 1}
	    -nodoc {set writeDoc 0}
	    -doc {set docFile [file normalize [lindex $argv [incr i]]]; set docGiven 1}
	    -reps {set reps [lindex $argv [incr i]]}
	    -servers {set servers [lindex $argv [incr i]]}
	    default {
		puts stderr "usage: tclsh bench/run.tcl ?-quick? ?-reps N?\
		    ?-servers {tcl uv p2p}? ?-doc FILE? ?-nodoc?"
		exit 2
	    }
	}
    }
    if {$quick} {
	set cfg [dict merge $cfg $quickCfg]
	if {!$docGiven} {
	    # A quick run does not overwrite the document of a full one.
	    set writeDoc 0
	}
    }
    if {$reps ne ""} {
	dict set cfg reps $reps
	dict set cfg connsReps $reps
    }
    dict set cfg servers $servers
    catch {set clkTck [exec getconf CLK_TCK]}

    # The build directory's package, if the caller did not say where.
    if {[file exists [file join $buildDir pkgIndex.tcl]]} {
	if {![info exists ::env(TCLLIBPATH)]} {
	    set ::env(TCLLIBPATH) [list $buildDir]
	} elseif {$buildDir ni $::env(TCLLIBPATH)} {
	    set ::env(TCLLIBPATH) [linsert $::env(TCLLIBPATH) 0 $buildDir]
	}
    }
    Build loadgen
    Build uvecho

    set started [clock seconds]
    set t0 [clock milliseconds]
    set machine [MachineInfo]
    set results [dict create pipeline {} rtt {} rttPinned {}]
    foreach n [dict get $cfg conns] {
	dict set results conns$n {}
    }

    # Interleave the servers within each repetition, so that a slow
    # moment of the machine does not fall on one server only.
    for {set rep 1} {$rep <= [dict get $cfg reps]} {incr rep} {
	foreach kind $servers {
	    foreach {key script} {
		pipeline {RunPipeline $kind}
		rttPinned {RunRtt $kind 1}
		rtt {RunRtt $kind 0}
	    } {
		Log "run $rep: $kind $key"
		if {[catch $script r]} {
		    Log "  FAILED: $r"
		    lappend notes "Run $rep, $kind, $key failed: $r"
		    continue
		}
		Log "  $r"
		AddResult results $key $kind $r
	    }
	}
    }
    foreach shape [dict get $cfg pipeShapes] {
	lassign $shape conns window
	foreach kind $servers {
	    Log "$kind pipeline ${conns}x$window"
	    if {[catch {
		RunPipeline $kind $conns $window [dict get $cfg shapeSeconds]
	    } r]} {
		Log "  FAILED: $r"
		lappend notes "$kind, pipeline ${conns}x$window failed: $r"
		continue
	    }
	    Log "  $r"
	    AddResult results shape$conns/$window $kind $r
	}
    }
    foreach n [dict get $cfg conns] {
	for {set rep 1} {$rep <= [dict get $cfg connsReps]} {incr rep} {
	    foreach kind $servers {
		Log "run $rep: $kind $n connections"
		if {[catch {RunConns $kind $n} r]} {
		    Log "  FAILED: $r"
		    lappend notes "Run $rep, $kind, $n connections failed: $r"
		    continue
		}
		Log "  $r"
		AddResult results conns$n $kind $r
		set why {}
		if {[dict get $r server_died]} {
		    lappend why "the server process died\
			([expr {[dict get $r server_err] ne ""
			    ? "its last words: `[dict get $r server_err]`"
			    : "no message"}])"
		}
		if {[dict get $r completed] < $n} {
		    lappend why "[Group [dict get $r completed]] of [Group $n]\
			round trips completed"
		}
		if {[dict exists $r diag]} {
		    lappend why "load generator: `[dict get $r diag]`"
		}
		if {[llength $why]} {
		    lappend notes "Run $rep, $kind, [Group $n] connections:\
			[join $why {; }]."
		}
	    }
	}
    }
    set worst 0.0
    dict for {key byKind} $results {
	dict for {kind runs} $byKind {
	    foreach r $runs {
		if {[dict exists $r other_cpu] && [dict get $r other_cpu] > $worst} {
		    set worst [dict get $r other_cpu]
		    set worstWhat "$kind $key"
		}
	    }
	}
    }
    if {$worst > 0.1} {
	lappend notes "Something besides the server and the load generator\
	    kept the machine busy during some measurements (kernel work for\
	    them included, or other processes, or the hypervisor taking\
	    time): at worst [format %.2f $worst] CPUs on average over a\
	    run ($worstWhat). The medians damp such disturbances; the\
	    ranges show them."
    }
    foreach key [dict keys $results] {
	if {![string match pipeline* $key] && ![string match shape* $key]} {
	    continue
	}
	dict for {kind runs} [dict get $results $key] {
	    set busy [Median [Field [dict get $results $key] $kind lg_busy]]
	    if {$busy ne "" && $busy > 0.8} {
		lappend notes "The load generator was busy [format %.2f $busy]\
		    of the measured time against the [dict get $::bench::labels $kind]\
		    ($key): that figure is a lower bound, set by the load generator\
		    and by the machine's [dict get $machine nproc] CPUs that server\
		    and load generator share."
	    }
	}
    }
    set elapsed [expr {([clock milliseconds] - $t0) / 1000.0}]
    set report [Report $machine $results $started $elapsed $quick]
    puts $report
    if {$writeDoc} {
	file mkdir [file dirname $docFile]
	set report [KeepSections $docFile $report]
	set f [open $docFile w]
	fconfigure $f -encoding utf-8
	puts -nonewline $f $report
	close $f
	Log "wrote $docFile"
    }
    set f [open [file join $binDir last-run.md] w]
    fconfigure $f -encoding utf-8
    puts -nonewline $f $report
    close $f
}

::bench::Main $argv
