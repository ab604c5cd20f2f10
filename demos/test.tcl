# test.tcl --
#
#	The p2pjobs demo: a window on a small network running on this
#	machine.
#
#	    wish demos/test.tcl ?-workers n? ?-geometry WxH?
#
#	Start launches an authority and n workers, each its own process on
#	127.0.0.1 writing every event (and every message in and out) to a
#	log in a fresh run directory. The window reads those logs and shows,
#	at any moment of the run, the P2P network the workers formed (the
#	peers each one chose) or the messages they exchanged; the time bar
#	steps from event to event, jumps anywhere, or follows the present
#	(Live). Get Bids asks the network for bids on a job; Spend submits
#	jobs paid with points through a foreman inside this process and
#	shows them dispatched, running, re-issued and finished, and the
#	points moving. Tree Job submits one tree job (library/tree.tcl)
#	and draws its tree over the network as it grows, from the `tree`
#	events of the foreman's log. Stop, and closing the window, kill every process
#	Start launched, by pid.
#
#	The procs of the last section ("Test interface") let
#	tests/demo.test drive the demo under Xvfb.

package require Tk 8.6

namespace eval ::demo {
    # The source tree: bin/p2pjobs, and the package when it is built in
    # place.
    variable here [file dirname [file dirname [file normalize [info script]]]]
}
if {[file exists [file join $::demo::here pkgIndex.tcl]]
	&& $::demo::here ni $::auto_path} {
    lappend ::auto_path $::demo::here
}
package require p2pjobs

namespace eval ::demo {
    variable maxWorkers 32
    variable window 300		;# ms of traffic the traffic view shows.

    # What Start launched: pid -> dict chan role name address price.
    variable procs {}
    variable run {}		;# dir authority workers started
    variable running 0		;# 1 between Start and Stop.
    variable runSeq 0		;# Numbers the run directories.
    variable runDirs {}		;# Run directories made, deleted on exit.
    variable foreman ""		;# The foreman object of the run.
    variable busy 0		;# 1 while a foreman call waits.
    variable stopWanted 0	;# Stop was pressed meanwhile.
    variable waitSeq 0
    variable tickId ""

    # What the window shows.
    variable nWorkers 6		;# The Workers: entry.
    variable points 30		;# The Points: entry of Spend.
    variable view network	;# network or traffic.
    variable live 1		;# Follow the present.
    variable offset 0		;# Shown time, ms after the first event.
    variable timeText ""
    variable viewText ""
    variable errorText "Errors: 0"
    variable statusText "Press Start to launch a network on this machine."
    variable ledgerText ""

    # Logs read: path -> {size events}; events as lists
    # {ms node channel kind peer message}.
    variable cache
    array set cache {}
    variable M			;# The model built from the logs (Build).
    variable built 0

    # Layout: node -> {x y} in 0..1 of the drawing area, for the nodes
    # dragged (pinned) or laid out by New Layout; the others sit at their
    # default places.
    variable pos {}
    variable layoutSeq 0
    variable pinned {}		;# node -> 1 for the nodes dragged.
    variable drag {}		;# Being dragged: dict node x y moved.
    variable hover ""
    variable selected ""	;# The node whose details are shown.
    variable asked {}		;# node -> what the authority said of it.
    variable ids {}		;# node -> small integer, for canvas tags.

    # Bids and jobs.
    variable bids {}		;# The last bids (dicts), best first.
    variable bidInfo ""
    variable jobs {}		;# id -> dict vars price result
    variable ledgerNow ""	;# The foreman's points, from the ledger.
    variable ledgerId ""

    # A reply (to the request on the left) is drawn black in the traffic
    # view; the other messages are requests (blue), exceptions red.
    variable replies {
	hello {welcome admitted} ping pong join {joined full}
	register registered peers peers workers workers status status
	balance balance history history run {accepted refused}
	solicit proffer escrow ledger release ledger refund ledger
    }

    variable colors {
	authority #e8912d authorityLine #8a4b0f
	worker #3d7dd8 workerLine #1d4f96
	foreman #8e5bb5 foremanLine #55307a
	dead #c4c4c4 deadLine #8c8c8c
	peer #7d8896 register #d9a066 job #2ea35a
	request #2b6cd4 reply #202020 exception #d62728
	highlight #ff7f0e faded #e6e6e6
	tree-working #0f9d8f tree-waiting #e0a100 tree-merging #c2185b
	tree-done #1c3f94 tree-failed #d62728
    }

    # The job Spend submits: some arithmetic (a few tenths of a second),
    # reporting its progress four times. Its result depends on seed only,
    # so that anyone can check it.
    variable jobScript {
	set x $seed
	for {set q 1} {$q <= 4} {incr q} {
	    for {set i 0} {$i < $n} {incr i} {
		set x [expr {($x * 1103515245 + 12345) % 2147483648}]
	    }
	    progress "$q/4"
	}
	set x
    }
    variable jobSize 100000

    # The tree job of Tree Job: counts the primes below treeLimit by
    # trial division, a range {lo hi} split into fanout ranges while it
    # holds 20,000 numbers or more, down to treeDepth; each node keeps
    # its first piece and hands on the others (a few tenths of a second
    # of work each). The window checks the count with a sieve here.
    variable treeScript {
	proc split {input info} {
	    lassign $input lo hi
	    if {$hi - $lo < 20000} {
		return {}
	    }
	    set n [dict get $info fanout]
	    set step [expr {($hi - $lo + $n - 1) / $n}]
	    set pieces {}
	    for {set a $lo} {$a < $hi} {incr a $step} {
		lappend pieces [list $a [expr {min($a + $step, $hi)}]]
	    }
	    return $pieces
	}
	proc work {piece} {
	    lassign $piece lo hi
	    set count 0
	    for {set n [expr {max($lo, 2)}]} {$n < $hi} {incr n} {
		set prime 1
		for {set d 2} {$d * $d <= $n} {incr d} {
		    if {$n % $d == 0} {
			set prime 0
			break
		    }
		}
		incr count $prime
	    }
	    return $count
	}
	proc merge {results} {
	    tcl::mathop::+ {*}$results
	}
    }
    variable treeLimit 360000
    variable treeDepth 2
    variable treeFanout 3
    variable trees {}		;# id -> dict budget result local
}

# ----------------------------------------------------------------------
# Processes: the authority and the workers of a run.
# ----------------------------------------------------------------------

# demo::Tclsh --
#	The tclsh that runs bin/p2pjobs: this interpreter when it is one,
#	otherwise the tclsh beside this wish (or on the PATH).
proc ::demo::Tclsh {} {
    set exe [info nameofexecutable]
    if {![string match *wish* [file tail $exe]]} {
	return $exe
    }
    foreach name [list tclsh[info tclversion] tclsh] {
	set path [file join [file dirname $exe] $name]
	if {[file executable $path]} {
	    return $path
	}
    }
    foreach name [list tclsh[info tclversion] tclsh] {
	set path [auto_execok $name]
	if {$path ne ""} {
	    return [lindex $path 0]
	}
    }
    return -code error -errorcode {DEMO NOTCLSH} \
	"no tclsh found to run bin/p2pjobs"
}

# demo::Spawn --
#	Launches bin/p2pjobs role args... and remembers its pid.
# Results:
#	The pid.
proc ::demo::Spawn {role name args} {
    variable here
    variable procs
    set cmd [list [Tclsh] [file join $here bin p2pjobs] $role {*}$args \
	2>@stderr]
    set chan [open |$cmd r]
    fconfigure $chan -blocking 0 -buffering line
    set pid [pid $chan]
    dict set procs $pid [dict create chan $chan role $role name $name \
	address "" price ""]
    return $pid
}

# demo::ReadLine --
#	The next line a process prints, waiting (through the event loop)
#	at most ms milliseconds.
proc ::demo::ReadLine {chan ms} {
    variable waitSeq
    set deadline [expr {[clock milliseconds] + $ms}]
    set var ::demo::wake([incr waitSeq])
    while {[gets $chan line] < 0} {
	if {[eof $chan]} {
	    return -code error -errorcode {DEMO EXITED} "it exited"
	}
	set left [expr {$deadline - [clock milliseconds]}]
	if {$left <= 0} {
	    return -code error -errorcode {DEMO TIMEOUT} \
		"no line within $ms ms"
	}
	fileevent $chan readable [list set $var 1]
	set id [after $left [list set $var 0]]
	vwait $var
	after cancel $id
	fileevent $chan readable {}
	unset $var
    }
    return $line
}

# demo::WorkerLine --
#	Readable handler of a worker's stdout: its first line says its
#	address.
proc ::demo::WorkerLine {pid} {
    variable procs
    if {![dict exists $procs $pid]} {
	return
    }
    set chan [dict get $procs $pid chan]
    if {[gets $chan line] >= 0} {
	if {[regexp {^worker (\S+)} $line -> addr]} {
	    dict set procs $pid address $addr
	}
	fileevent $chan readable {}
    } elseif {[eof $chan]} {
	fileevent $chan readable {}
	Status "worker [dict get $procs $pid name] (pid $pid) exited"
    }
}

# demo::Gone --
#	True when process pid has exited (no longer in /proc, or a zombie).
proc ::demo::Gone {pid} {
    if {[catch {open /proc/$pid/stat} f]} {
	return 1
    }
    set stat [read $f]
    close $f
    set state [lindex [string range $stat [string last ) $stat]+1 end] 0]
    return [expr {$state in {Z X}}]
}

# demo::Kill --
#	Ends the processes pids (TERM, then KILL after 3 s) and waits for
#	them: closing a channel reaps its process.
proc ::demo::Kill {pids} {
    variable procs
    foreach pid $pids {
	catch {exec kill $pid}
    }
    set deadline [expr {[clock milliseconds] + 3000}]
    foreach pid $pids {
	while {![Gone $pid] && [clock milliseconds] < $deadline} {
	    after 10
	}
	if {![Gone $pid]} {
	    catch {exec kill -KILL $pid}
	}
    }
    foreach pid $pids {
	if {[dict exists $procs $pid]} {
	    set chan [dict get $procs $pid chan]
	    catch {fconfigure $chan -blocking 1}
	    catch {close $chan}
	    dict unset procs $pid
	}
    }
}

# demo::KillAll --
#	Ends every process of the run, workers first (so that they do not
#	log the authority's end as errors).
proc ::demo::KillAll {} {
    variable procs
    variable foreman
    variable ledgerId
    after cancel $ledgerId
    set ledgerId ""
    if {$foreman ne ""} {
	catch {$foreman destroy}
	set foreman ""
    }
    set workers {}
    set others {}
    dict for {pid p} $procs {
	if {[dict get $p role] eq "worker"} {
	    lappend workers $pid
	} else {
	    lappend others $pid
	}
    }
    Kill $workers
    Kill $others
}

# demo::NewRunDir --
#	A fresh directory for a run; the previous ones of this process are
#	deleted.
proc ::demo::NewRunDir {} {
    variable runSeq
    variable runDirs
    foreach dir $runDirs {
	catch {file delete -force $dir}
    }
    set tmp /tmp
    if {[info exists ::env(TMPDIR)] && [file isdirectory $::env(TMPDIR)]} {
	set tmp $::env(TMPDIR)
    }
    set dir [file join $tmp p2pjobs-demo-[pid]-[incr runSeq]]
    file delete -force $dir
    file mkdir $dir
    set runDirs [list $dir]
    return $dir
}

# ----------------------------------------------------------------------
# The buttons.
# ----------------------------------------------------------------------

# demo::start --
#	Start: an authority and n workers (prices 1, 2, 3, 1, ...; one
#	slot each), and a foreman in this process.
# Results:
#	The authority's address.
proc ::demo::start {{n ""}} {
    variable nWorkers
    variable maxWorkers
    variable procs
    variable running
    variable run
    variable foreman
    variable live
    if {$n ne ""} {
	set nWorkers $n
    }
    set n [string trim $nWorkers]
    if {![string is integer -strict $n] || $n < 1 || $n > $maxWorkers} {
	return -code error -errorcode [list DEMO USAGE WORKERS $n] \
	    "bad number of workers \"$n\": must be an integer from 1 to\
	    $maxWorkers"
    }
    NotBusy
    if {$running || [dict size $procs]} {
	stop
    }
    Busy 1
    try {
	set dir [NewRunDir]
	p2p::log file [file join $dir foreman.log]
	p2p::log node foreman
	p2p::log channel traffic on
	set pid [Spawn authority authority -port 0 \
	    -data [file join $dir authority] \
	    -log [file join $dir authority.log]]
	if {[catch {ReadLine [dict get $procs $pid chan] 10000} line]} {
	    return -code error -errorcode {DEMO START} \
		"the authority did not start: $line"
	}
	if {![regexp {^authority (\S+)} $line -> addr]} {
	    return -code error -errorcode {DEMO START} \
		"the authority did not start: $line"
	}
	dict set procs $pid address $addr
	for {set k 1} {$k <= $n} {incr k} {
	    set price [expr {1 + ($k - 1) % 3}]
	    set pid [Spawn worker w$k -authority $addr -slots 1 \
		-price $price -log [file join $dir w$k.log]]
	    dict set procs $pid price $price
	    fileevent [dict get $procs $pid chan] readable \
		[list ::demo::WorkerLine $pid]
	}
	set foreman [p2p::foreman new -authorities [list $addr] \
	    -data [file join $dir foreman]]
	set run [dict create dir $dir authority $addr workers $n \
	    started [clock milliseconds]]
	set running 1
	Forget
	set live 1
	Status "Started an authority at $addr and $n workers (run\
	    directory $dir)."
    } on error {msg opts} {
	KillAll
	p2p::log file ""
	set running 0
	Status "Start failed: $msg"
	return -options $opts $msg
    } finally {
	Busy 0
    }
    Tick
    return $addr
}

# demo::stop --
#	Stop: kills every process of the run (by pid) and loads the final
#	logs.
proc ::demo::stop {} {
    variable running
    variable procs
    variable run
    variable tickId
    variable busy
    variable stopWanted
    if {$busy} {
	# A foreman call is waiting further up the stack: stop once it
	# returned (Busy 0).
	set stopWanted 1
	Status "Stopping as soon as the request waiting is answered..."
	return
    }
    set stopWanted 0
    after cancel $tickId
    set tickId ""
    if {!$running && [dict size $procs] == 0} {
	return
    }
    KillAll
    set running 0
    catch {p2p::log flush}
    p2p::log file ""
    Reload
    Status "Stopped: every process of the run ended. The logs stay in\
	[dict get $run dir] until the next Start."
    Buttons
    return
}

# demo::getBids --
#	Get Bids: asks the network for bids on a script job and lists them.
# Results:
#	The bids, best first.
proc ::demo::getBids {} {
    variable foreman
    variable bids
    variable bidInfo
    Need
    Busy 1
    try {
	set bids [$foreman bids -job {kind script} -declined declined]
	set round [$foreman lastRound]
	set bidInfo "[llength $bids] bids, [llength $declined] declined,\
	    [dict get $round messages] messages, [format %.1f \
	    [dict get $round ms]] ms"
    } finally {
	Busy 0
    }
    set t .side.bids.tree
    $t delete [$t children {}]
    foreach b $bids {
	$t insert {} end -values [list [Name [dict get $b address]] \
	    [dict get $b price] [format %.1f [dict get $b wonks]] \
	    [format %.2f [dict get $b latency]] [dict get $b hops]]
    }
    Reload
    return $bids
}

# demo::spend --
#	Spend: as many jobs as points pays for at the highest price bid
#	(each job offers that price; a worker asking less is paid less).
# Results:
#	The ids of the jobs.
proc ::demo::spend {{amount ""}} {
    variable points
    variable foreman
    variable bids
    variable jobs
    variable jobScript
    variable jobSize
    if {$amount ne ""} {
	set points $amount
    }
    set amount [string trim $points]
    if {![string is integer -strict $amount] || $amount < 1} {
	return -code error -errorcode [list DEMO USAGE POINTS $amount] \
	    "bad number of points \"$amount\": must be a positive integer"
    }
    Need
    if {[llength $bids] == 0} {
	getBids
    }
    if {[llength $bids] == 0} {
	return -code error -errorcode {DEMO NOBIDS} \
	    "no worker bid: nothing to spend the points on"
    }
    set price [tcl::mathfunc::max {*}[lmap b $bids {dict get $b price}]]
    set count [expr {$amount / $price}]
    if {$count == 0} {
	return -code error -errorcode {DEMO POINTS} \
	    "$amount points do not pay for one job: the workers ask up to\
	    $price"
    }
    set ids {}
    for {set i 0} {$i < $count} {incr i} {
	set vars [list seed [expr {[dict size $jobs] + 1}] n $jobSize]
	set id [$foreman submit -job [list kind script script $jobScript \
	    vars $vars price $price limits {time 60000 commands 100000000}] \
	    -command ::demo::JobDone]
	dict set jobs $id [dict create vars $vars price $price result {}]
	p2p::log event system submitted "" "job $id price $price"
	lappend ids $id
    }
    Status "Submitted $count jobs at up to $price points each ($amount\
	points)."
    Reload
    return $ids
}

# demo::treeJob --
#	Tree Job: one tree job (the primes below treeLimit), paid with
#	points: the Points: entry is its budget, which each node shares
#	among the pieces it hands on; each node's worker is paid the price
#	it bid. The tree is drawn over the P2P Network view as it grows.
# Results:
#	The job's id.
proc ::demo::treeJob {{amount ""}} {
    variable points
    variable foreman
    variable bids
    variable trees
    variable treeScript
    variable treeLimit
    variable treeDepth
    variable treeFanout
    if {$amount ne ""} {
	set points $amount
    }
    set amount [string trim $points]
    if {![string is integer -strict $amount] || $amount < 1} {
	return -code error -errorcode [list DEMO USAGE POINTS $amount] \
	    "bad number of points \"$amount\": must be a positive integer"
    }
    Need
    if {[llength $bids] == 0} {
	getBids
    }
    if {[llength $bids] == 0} {
	return -code error -errorcode {DEMO NOBIDS} \
	    "no worker bid: nothing to spend the points on"
    }
    set price [tcl::mathfunc::max {*}[lmap b $bids {dict get $b price}]]
    if {$amount < $price} {
	return -code error -errorcode {DEMO POINTS} \
	    "$amount points do not pay for one piece: the workers ask up to\
	    $price"
    }
    # (With -price, a node would hand its pieces no more budget than
    # that price: they could not split further.)
    set id [$foreman submit -tree $treeScript -input [list 0 $treeLimit] \
	-maxdepth $treeDepth -fanout $treeFanout -budget $amount \
	-command ::demo::TreeDone]
    dict set trees $id [dict create budget $amount result {} local {}]
    p2p::log event system submitted "" "job $id tree budget $amount"
    Status "Submitted tree job $id: the primes below $treeLimit, depth <=\
	$treeDepth, fanout <= $treeFanout, $amount points at most."
    Reload
    return $id
}

# demo::TreeDone --
#	The -command of a tree job: keeps the result, counts the primes
#	here (a sieve) to check it, says both on the status line.
proc ::demo::TreeDone {id result} {
    variable trees
    variable foreman
    variable treeLimit
    if {![dict exists $trees $id]} {
	return
    }
    dict set trees $id result $result
    set nodes [$foreman tree $id]
    set workers [llength [lsort -unique [lmap n $nodes {dict get $n node}]]]
    if {[dict get $result status] eq "ok"} {
	set local [CountPrimes $treeLimit]
	dict set trees $id local $local
	set got [dict get $result result]
	Status "Tree job $id: $got primes below $treeLimit, from [llength \
	    $nodes] nodes on $workers workers; counted here: $local,\
	    [expr {$got == $local ? "the same" : "DIFFERENT"}]."
    } else {
	Status "Tree job $id: [dict get $result status]:\
	    [dict get $result error]"
    }
    JobDone $id $result
}

# demo::CountPrimes --
#	The primes below limit, by a sieve of Eratosthenes.
proc ::demo::CountPrimes {limit} {
    if {$limit < 3} {
	return 0
    }
    set sieve [lrepeat $limit 1]
    lset sieve 0 0
    lset sieve 1 0
    for {set p 2} {$p * $p < $limit} {incr p} {
	if {[lindex $sieve $p]} {
	    for {set m [expr {$p * $p}]} {$m < $limit} {incr m $p} {
		lset sieve $m 0
	    }
	}
    }
    tcl::mathop::+ {*}$sieve
}

# demo::JobDone --
#	The -command of the jobs: keeps the result, reads the balance.
proc ::demo::JobDone {id result} {
    variable jobs
    if {[dict exists $jobs $id]} {
	dict set jobs $id result $result
    }
    variable ledgerId
    after cancel $ledgerId
    set ledgerId [after 300 ::demo::LedgerLater]
}

# demo::LedgerLater --
#	Reads the foreman's points from the ledger, unless a foreman call
#	is waiting (then later).
proc ::demo::LedgerLater {} {
    variable busy
    variable running
    variable foreman
    variable ledgerNow
    variable ledgerText
    if {!$running || $foreman eq ""} {
	return
    }
    if {$busy} {
	variable ledgerId [after 300 ::demo::LedgerLater]
	return
    }
    Busy 1
    try {
	set ledgerNow [$foreman balance]
	set ledgerText "Foreman: $ledgerNow points in the ledger"
    } on error {msg} {
	set ledgerText "Ledger: $msg"
    } finally {
	Busy 0
    }
}

# demo::Need --
#	Errors unless a network runs and no foreman call waits.
proc ::demo::Need {} {
    variable running
    if {!$running} {
	return -code error -level 2 -errorcode {DEMO NOTRUNNING} \
	    "no network: press Start first"
    }
    NotBusy
}

proc ::demo::NotBusy {} {
    variable busy
    if {$busy} {
	return -code error -level 2 -errorcode {DEMO BUSY} \
	    "busy: a request to the network is still waiting"
    }
}

# demo::Busy --
#	Marks a foreman call (which runs the event loop) as waiting: the
#	buttons that would start another are disabled meanwhile.
proc ::demo::Busy {on} {
    variable busy $on
    variable stopWanted
    if {[winfo exists .]} {
	. configure -cursor [expr {$on ? "watch" : ""}]
    }
    Buttons
    if {!$on && $stopWanted} {
	after idle {demo::Do demo::stop}
    }
}

# demo::Buttons --
#	Enables the buttons that make sense now.
proc ::demo::Buttons {} {
    variable busy
    variable running
    if {![winfo exists .top.start]} {
	return
    }
    set idle [expr {$busy ? "disabled" : "!disabled"}]
    set net [expr {$busy || !$running ? "disabled" : "!disabled"}]
    .top.start state $idle
    .top.stop state [expr {$running ? "!disabled" : "disabled"}]
    .side.bids.get state $net
    .side.jobs.spend state $net
    .side.jobs.treejob state $net
}

# demo::Do --
#	Runs a button's command; an error goes to the status line.
proc ::demo::Do {args} {
    if {[catch {uplevel #0 $args} msg]} {
	Status $msg
	bell
    }
}

proc ::demo::Status {text} {
    variable statusText $text
}

# demo::Quit --
#	Closing the window: stops the network, deletes the run directory.
proc ::demo::Quit {} {
    variable runDirs
    variable tickId
    after cancel $tickId
    catch {KillAll}
    catch {p2p::log file ""}
    foreach dir $runDirs {
	catch {file delete -force $dir}
    }
    exit 0
}

# ----------------------------------------------------------------------
# The logs and the model built from them.
# ----------------------------------------------------------------------

# demo::Forget --
#	Forgets what was shown of the previous run.
proc ::demo::Forget {} {
    variable cache
    variable built 0
    variable M
    variable pos {}
    variable pinned {}
    variable ids {}
    variable bids {}
    variable bidInfo ""
    variable jobs {}
    variable trees {}
    variable ledgerNow ""
    variable ledgerText ""
    variable selected ""
    variable asked {}
    variable offset 0
    array unset cache
    array set cache {}
    EmptyModel
    if {[winfo exists .side.bids.tree]} {
	.side.bids.tree delete [.side.bids.tree children {}]
    }
    catch {destroy .details}
}

# demo::LogFiles --
#	{path role name ...} of the run's logs. The foreman's comes first:
#	for events of the same millisecond, its "dispatched" is then read
#	before the worker's "started".
proc ::demo::LogFiles {} {
    variable run
    set dir [dict get $run dir]
    set files [list [file join $dir foreman.log] foreman foreman \
	[file join $dir authority.log] authority authority]
    for {set k 1} {$k <= [dict get $run workers]} {incr k} {
	lappend files [file join $dir w$k.log] worker w$k
    }
    return $files
}

# demo::Reload --
#	Reads the logs that grew since last time (p2p::log read), rebuilds
#	the model and redraws. While Live, the shown time is the last
#	event's.
proc ::demo::Reload {} {
    variable run
    variable cache
    variable built
    variable live
    if {![dict exists $run dir]} {
	return
    }
    catch {p2p::log flush}
    set changed 0
    foreach {path role name} [LogFiles] {
	if {![file exists $path]} {
	    continue
	}
	set size [file size $path]
	if {[info exists cache($path)] && [lindex $cache($path) 0] == $size} {
	    continue
	}
	if {[catch {p2p::log read $path} events]} {
	    Status "Cannot read [file tail $path]: $events"
	    continue
	}
	set list {}
	foreach e $events {
	    lappend list [list [dict get $e ms] [dict get $e node] \
		[dict get $e channel] [dict get $e kind] [dict get $e peer] \
		[dict get $e message]]
	}
	set cache($path) [list $size $list]
	set changed 1
    }
    if {$changed || !$built} {
	Build
	set built 1
    }
    if {$live} {
	GoLive
    } else {
	Redraw
    }
}

# demo::Build --
#	The model (array M) from the events in the cache:
#	    t0 t1		first and last event (ms since the epoch)
#	    nodes		node names in a stable order: the authority,
#				workers, foreman (addresses, or "foreman")
#	    role,N label,N first,N dead,N
#	    peers,N		{ms peerList} ... from "system peers"
#	    registered,N	ms of the first registration
#	    msgs		{ms from to word type} ... (type request,
#				reply or exception), sorted; msgMs their ms
#	    netTimes msgTimes	the moments < and > step to, per view
#	    jobs job,ID		ids; {ms state worker} ... per job
#	    cost,ID		points paid for job ID
#	    pay			{ms worker points} ... releases
#	    finished,N		ms of each run a worker finished
#	    grant errors
#	A message is taken from the receiver's log ("traffic in"), where
#	every node logs every message it receives. The sender is the peer
#	named there; a connection accepted (named by its ephemeral port)
#	is traced back to its node: a foreman's by its protocol or its
#	hello, a worker's by its registration or its join, or else by the
#	nearest "system connect" of a worker to this node.
proc ::demo::Build {} {
    variable cache
    variable M
    variable replies
    EmptyModel

    # The node of each file, and the set of known node names.
    set files {}
    set known {}
    foreach {path role name} [LogFiles] {
	if {![info exists cache($path)]} {
	    continue
	}
	set events [lindex $cache($path) 1]
	set node ""
	if {$role eq "foreman"} {
	    set node foreman
	} else {
	    foreach e $events {
		if {[lindex $e 1] ne ""} {
		    set node [lindex $e 1]
		    break
		}
	    }
	}
	if {$node eq "" || [llength $events] == 0} {
	    continue
	}
	lappend files $node $role $name $events
	dict set known $node $role
    }

    # Per file: events (node filled in), messages, connection tracing.
    set all {}
    set recs {}
    array set conn {}		;# node|peer -> key of its connection now
    array set acceptAt {}	;# key -> ms accepted
    array set resolved {}	;# key -> node at the other end
    array set outConn {}	;# node -> {ms from} ... connects made to it
    foreach {node role name events} $files {
	set M(role,$node) $role
	set M(label,$node) [Label $node $role $name]
	set M(first,$node) ""
	set M(dead,$node) ""
	set M(peers,$node) {}
	set M(registered,$node) ""
	set M(finished,$node) {}
	set seq 0
	set lastRegister ""
	set lastJoin ""
	foreach e $events {
	    lassign $e ms enode channel kind peer message
	    if {$enode eq ""} {
		set enode $node
		lset e 1 $node
	    }
	    lappend all $e
	    if {$enode ne $node} {
		continue
	    }
	    if {$M(first,$node) eq ""} {
		set M(first,$node) $ms
	    }
	    set ephemeral [expr {![dict exists $known $peer]}]
	    switch -- $channel/$kind {
		system/connect {
		    if {$ephemeral} {
			set key $node|$peer|[incr seq]
			set conn($node|$peer) $key
			set acceptAt($key) $ms
		    } else {
			lappend outConn($peer) [list $ms $node]
		    }
		}
		system/protocol {
		    if {$ephemeral && [string match *<-foreman* $message]
			    && [info exists conn($node|$peer)]} {
			set resolved($conn($node|$peer)) foreman
		    }
		}
		traffic/in {
		    if {!$ephemeral} {
			lappend recs [list $ms $peer $node $message]
			continue
		    }
		    if {![info exists conn($node|$peer)]} {
			set conn($node|$peer) $node|$peer|[incr seq]
			set acceptAt($conn($node|$peer)) $ms
		    }
		    set key $conn($node|$peer)
		    lappend recs [list $ms $key $node $message]
		    if {$role eq "authority" && $message eq "hello"} {
			set resolved($key) foreman
		    } elseif {$role eq "authority" && $message eq "register"} {
			set lastRegister $key
		    } elseif {$message eq "join"} {
			set lastJoin $key
		    }
		}
		system/registered {
		    if {$role eq "authority"} {
			regexp {slots (\d+)} $message -> M(slots,$peer)
		    }
		    if {$role eq "authority" && $lastRegister ne ""} {
			set resolved($lastRegister) $peer
			set lastRegister ""
		    } elseif {$role eq "worker" && $M(registered,$node) eq ""} {
			set M(registered,$node) $ms
		    }
		}
		system/joined {
		    if {$lastJoin ne ""
			    && [string match "*link in*" $message]} {
			set resolved($lastJoin) $peer
			set lastJoin ""
		    }
		}
		system/peers {
		    lappend M(peers,$node) [list $ms $message]
		}
		system/finished {
		    lappend M(finished,$node) $ms
		}
		system/account {
		    regexp {granted (\d+)} $message -> M(grant)
		}
	    }
	}
    }

    # Connections still unknown: the nearest connect made to that node.
    array set claimed {}
    foreach key [lsort [array names acceptAt]] {
	if {[info exists resolved($key)]} {
	    set claimed($key) 1
	}
    }
    foreach key [lsort [array names acceptAt]] {
	if {[info exists resolved($key)]} {
	    continue
	}
	set node [lindex [split $key |] 0]
	if {![info exists outConn($node)]} {
	    continue
	}
	set best ""
	set bestGap 250
	set i 0
	foreach c $outConn($node) {
	    lassign $c ms from
	    set gap [expr {abs($ms - $acceptAt($key))}]
	    if {$gap < $bestGap && ![info exists claimed($node|$i)]} {
		set best $i
		set bestGap $gap
	    }
	    incr i
	}
	if {$best ne ""} {
	    set claimed($node|$best) 1
	    set resolved($key) [lindex $outConn($node) $best 1]
	}
    }

    # Messages, sorted, with their type.
    set msgs {}
    foreach r [lsort -integer -index 0 $recs] {
	lassign $r ms from to word
	if {[info exists resolved($from)]} {
	    set from $resolved($from)
	}
	if {![dict exists $known $from] || $from eq $to} {
	    continue
	}
	set back [list $to $from]
	set type request
	if {$word eq "exception"} {
	    set type exception
	    if {[info exists pending($back)]} {
		set pending($back) [lrange $pending($back) 1 end]
	    }
	} else {
	    if {[info exists pending($back)]} {
		set i 0
		foreach q $pending($back) {
		    if {[dict exists $replies $q]
			    && $word in [dict get $replies $q]} {
			set type reply
			set pending($back) [lreplace $pending($back) $i $i]
			break
		    }
		    incr i
		}
	    }
	    if {$type eq "request" && [dict exists $replies $word]} {
		lappend pending([list $from $to]) $word
		set pending([list $from $to]) \
		    [lrange $pending([list $from $to]) end-15 end]
	    }
	}
	lappend msgs [list $ms $from $to $word $type]
    }
    set M(msgs) $msgs
    set M(msgMs) [lmap m $msgs {lindex $m 0}]
    set M(msgTimes) [lsort -integer -unique $M(msgMs)]

    # The whole run in time order: jobs, payments, deaths, errors.
    set all [lsort -integer -index 0 $all]
    set M(t0) [lindex $all 0 0]
    set M(t1) [lindex $all end 0]
    if {$M(t0) eq ""} {
	set M(t0) [set M(t1) [clock milliseconds]]
    }
    set netTimes {}
    array set runWorker {}	;# sender|run id -> worker
    array set runJob {}		;# worker|run id -> job id (the foreman's)
    array set sentTo {}		;# worker -> ids of the jobs sent to it
    array set lastTree {}	;# worker -> the last tree job it is in
    foreach e $all {
	lassign $e ms node channel kind peer message
	if {$channel eq "error"} {
	    lappend M(errors) $e
	    lappend netTimes $ms
	    continue
	}
	if {$channel eq "traffic" && $kind eq "in" && $node eq "foreman"
		&& $message eq "progress"} {
	    # A worker reports progress: unless its slots are all taken by
	    # jobs known to run, it runs the oldest job it was sent (its own
	    # "started" may be logged only when the job is over).
	    if {[info exists sentTo($peer)]} {
		set busySlots 0
		set oldest ""
		foreach id $sentTo($peer) {
		    lassign [lindex $M(job,$id) end] - state worker
		    if {$worker ne $peer} {
			continue
		    }
		    if {$state eq "running"} {
			incr busySlots
		    } elseif {$state eq "dispatched" && $oldest eq ""} {
			set oldest $id
		    }
		}
		set slots [expr {[info exists M(slots,$peer)]
		    ? $M(slots,$peer) : 1}]
		if {$oldest ne "" && $busySlots < $slots} {
		    JobState $oldest $ms running $peer
		    lappend netTimes $ms
		}
	    }
	    continue
	}
	if {$channel ne "system"} {
	    continue
	}
	# The jobs are the foreman's; a worker splitting a tree job is a
	# foreman for its pieces too, whose runs and payments count here
	# only as the tree's.
	set origin [expr {$node eq "foreman"}]
	if {!$origin && $kind in {submitted reissue done failed cancelled}} {
	    continue
	}
	switch -- $kind {
	    peers - registered - dropped - chose - killed {
		lappend netTimes $ms
		if {$kind eq "killed" && [info exists M(dead,$peer)]
			&& $M(dead,$peer) eq ""} {
		    set M(dead,$peer) $ms
		}
	    }
	    submitted {
		# Logged once submit returned: the job may be dispatched
		# already.
		if {[regexp {^job (\S+)} $message -> id]
			&& ![info exists M(job,$id)]} {
		    JobState $id $ms queued ""
		    lappend netTimes $ms
		}
	    }
	    dispatched {
		if {[regexp {^job (\S+) as (\S+)} $message -> id rid]} {
		    set runWorker($node|$rid) $peer
		    if {!$origin} {
			continue
		    }
		    set runJob($peer|$rid) $id
		    set M(rid,$id) $rid
		    lappend sentTo($peer) $id
		    JobState $id $ms dispatched $peer
		    lappend netTimes $ms
		}
	    }
	    started - finished {
		# A worker's side of the job's current run (the foreman's
		# dispatched came first), until the job ended.
		if {[regexp {^job (\S+)} $message -> rid]
			&& [info exists runJob($node|$rid)]} {
		    set id $runJob($node|$rid)
		    set state [lindex $M(job,$id) end 1]
		    if {$M(rid,$id) eq $rid
			    && $state in {dispatched running}
			    && !($kind eq "started" && $state eq "running")} {
			JobState $id $ms [expr {$kind eq "started"
			    ? "running" : "result sent"}] $node
			lappend netTimes $ms
		    }
		}
	    }
	    reissue {
		if {[regexp {^job ([^:]+): (.*)$} $message -> id why]} {
		    JobState $id $ms re-issued $peer
		    lappend netTimes $ms
		}
	    }
	    done - failed - cancelled {
		if {[regexp {^job ([^:]+): (.*)$} $message -> id status]} {
		    set state [expr {$kind eq "done" ? "done" : $kind}]
		    if {$status ni {ok ""} && $kind eq "done"} {
			set state "done ($status)"
		    }
		    JobState $id $ms $state ""
		    lappend netTimes $ms
		}
	    }
	    release {
		if {[regexp {^run (\S+) of (\S+): (\d+) points} $message \
			-> rid id n] && [info exists runWorker($node|$rid)]} {
		    # A worker pays its tree's pieces out of the escrow the
		    # foreman gave it: the foreman's points, for that tree.
		    if {!$origin} {
			set id [expr {[info exists lastTree($node)]
			    ? $lastTree($node) : ""}]
		    }
		    lappend M(pay) [list $ms $runWorker($node|$rid) $n $id]
		    lappend netTimes $ms
		}
	    }
	    tree {
		# A node of a tree job changed (the origin logs them all).
		if {$origin && [regexp {^job (\S+) path \{([^\}]*)\} depth (\d+)\
			(\S+)(?: pieces (\d+))?} $message -> id path depth state \
			pieces]} {
		    if {![info exists M(tree,$id)]} {
			lappend M(trees) $id
			set M(tree,$id) {}
		    }
		    lappend M(tree,$id) [list $ms $path $peer $depth $state \
			$pieces]
		    set lastTree($peer) $id
		    lappend netTimes $ms
		}
	    }
	}
    }
    foreach n [concat [dict keys $known]] {
	if {$M(first,$n) ne ""} {
	    lappend netTimes $M(first,$n)
	}
    }
    set M(netTimes) [lsort -integer -unique $netTimes]

    # Nodes in a stable order: authority, workers as started, foreman.
    foreach role {authority worker foreman} {
	foreach {node r name events} $files {
	    if {$r eq $role && $M(first,$node) ne ""} {
		lappend M(nodes) $node
		Id $node
	    }
	}
    }
    ErrorsChanged
}

# demo::EmptyModel --
#	The model of no run at all.
proc ::demo::EmptyModel {} {
    variable M
    array unset M
    set now [clock milliseconds]
    array set M [list t0 $now t1 $now nodes {} msgs {} msgMs {} \
	msgTimes {} netTimes {} jobs {} pay {} errors {} grant 100 trees {}]
}

# demo::JobState --
#	Adds a state to a job's history in the model.
proc ::demo::JobState {id ms state worker} {
    variable M
    if {![info exists M(job,$id)]} {
	lappend M(jobs) $id
	set M(job,$id) {}
    }
    if {$worker eq "" && [llength $M(job,$id)]} {
	set worker [lindex $M(job,$id) end 2]
    }
    lappend M(job,$id) [list $ms $state $worker]
}

# demo::Label --
#	The text under a node.
proc ::demo::Label {node role name} {
    set port [lindex [split $node :] end]
    switch -- $role {
	authority {return "authority\n:$port"}
	worker {return "$name\n:$port"}
	default {return $role}
    }
}

# demo::Name --
#	A node's short name (w3, authority, foreman) for the tables.
proc ::demo::Name {node} {
    variable M
    if {[info exists M(label,$node)]} {
	return [lindex [split $M(label,$node) \n] 0]
    }
    variable procs
    dict for {pid p} $procs {
	if {[dict get $p address] eq $node} {
	    return [dict get $p name]
	}
    }
    return $node
}

# demo::Id --
#	A small integer per node, for canvas tags.
proc ::demo::Id {node} {
    variable ids
    if {![dict exists $ids $node]} {
	dict set ids $node [dict size $ids]
    }
    dict get $ids $node
}

# ----------------------------------------------------------------------
# The state of the network at the shown time.
# ----------------------------------------------------------------------

# demo::Now --
#	The shown time, ms since the epoch.
proc ::demo::Now {} {
    variable M
    variable offset
    expr {$M(t0) + round($offset)}
}

# demo::Present --
#	The nodes that exist at time t.
proc ::demo::Present {t} {
    variable M
    lmap n $M(nodes) {
	expr {$M(first,$n) <= $t ? $n : [continue]}
    }
}

# demo::Seconds --
#	A time as seconds after the first event, for people.
proc ::demo::Seconds {ms} {
    variable M
    format %.3f [expr {($ms - $M(t0)) / 1000.0}]
}

proc ::demo::Alive {n t} {
    variable M
    expr {$M(dead,$n) eq "" || $M(dead,$n) > $t}
}

# demo::PeersAt --
#	The peers worker n had chosen at time t.
proc ::demo::PeersAt {n t} {
    variable M
    set peers {}
    foreach p $M(peers,$n) {
	if {[lindex $p 0] > $t} {
	    break
	}
	set peers [lindex $p 1]
    }
    return $peers
}

# demo::Links --
#	The peer links at time t: {a b mutual} for each pair of live
#	workers of which one chose the other.
proc ::demo::Links {t} {
    variable M
    set chosen {}
    set live {}
    foreach n [Present $t] {
	if {$M(role,$n) eq "worker" && [Alive $n $t]} {
	    dict set live $n 1
	}
    }
    dict for {n -} $live {
	foreach p [PeersAt $n $t] {
	    if {[dict exists $live $p] && $p ne $n} {
		dict set chosen [list $n $p] 1
	    }
	}
    }
    set links {}
    set seen {}
    dict for {pair -} $chosen {
	lassign $pair a b
	set key [lsort $pair]
	if {[dict exists $seen $key]} {
	    continue
	}
	dict set seen $key 1
	lappend links [list {*}$key [dict exists $chosen [list $b $a]]]
    }
    return $links
}

# demo::JobsAt --
#	{id state worker reissues cost} of each job at time t.
proc ::demo::JobsAt {t} {
    variable M
    set rows {}
    foreach id $M(jobs) {
	set state ""
	set worker ""
	set reissues 0
	foreach s $M(job,$id) {
	    lassign $s ms st w
	    if {$ms > $t} {
		break
	    }
	    set state $st
	    set worker $w
	    if {$st eq "re-issued"} {
		incr reissues
	    }
	}
	if {$state eq ""} {
	    continue
	}
	set cost 0
	foreach p $M(pay) {
	    if {[lindex $p 0] <= $t && [lindex $p 3] eq $id} {
		incr cost [lindex $p 2]
	    }
	}
	lappend rows [list $id $state $worker $reissues $cost]
    }
    return $rows
}

# demo::PointsAt --
#	Points of each node at time t, from the payments logged: the grant,
#	less what the foreman paid, plus what each worker earned.
proc ::demo::PointsAt {t} {
    variable M
    set points {}
    foreach n $M(nodes) {
	if {$M(role,$n) ne "authority"} {
	    dict set points $n $M(grant)
	}
    }
    foreach p $M(pay) {
	lassign $p ms worker n
	if {$ms > $t} {
	    break
	}
	if {[dict exists $points foreman]} {
	    dict incr points foreman -$n
	}
	if {[dict exists $points $worker]} {
	    dict incr points $worker $n
	}
    }
    return $points
}

# demo::TreesAt --
#	The tree jobs shown at time t: those under way then, or else the
#	last one begun by then. A list of {id nodes}, nodes a dict path ->
#	dict node depth state pieces (the node at path P is the parent of
#	those at P+{i}; a piece re-issued has its new worker).
proc ::demo::TreesAt {t} {
    variable M
    set shown {}
    set last {}
    foreach id $M(trees) {
	set nodes [TreeNodesAt $id $t]
	if {![dict exists $nodes {}]} {
	    continue
	}
	if {[dict get $nodes {} state] in {done failed}} {
	    set last [list $id $nodes]
	} else {
	    lappend shown [list $id $nodes]
	}
    }
    if {[llength $shown] == 0 && [llength $last]} {
	lappend shown $last
    }
    return $shown
}

# demo::TreeNodesAt --
#	The nodes of tree job id at time t: a dict path -> dict node depth
#	state pieces.
proc ::demo::TreeNodesAt {id t} {
    variable M
    set nodes {}
    foreach e $M(tree,$id) {
	lassign $e ms path node depth state pieces
	if {$ms > $t} {
	    break
	}
	if {$pieces eq "" && [dict exists $nodes $path]
		&& [dict get $nodes $path node] eq $node} {
	    set pieces [dict get $nodes $path pieces]
	}
	dict set nodes $path [dict create node $node depth $depth \
	    state $state pieces $pieces]
    }
    return $nodes
}

# demo::Price --
#	The price a worker asks (as Start gave it), or "".
proc ::demo::Price {node} {
    variable procs
    dict for {pid p} $procs {
	if {[dict get $p address] eq $node} {
	    return [dict get $p price]
	}
    }
    variable bids
    foreach b $bids {
	if {[dict get $b address] eq $node} {
	    return [dict get $b price]
	}
    }
    return ""
}

# ----------------------------------------------------------------------
# Layout.
# ----------------------------------------------------------------------

# demo::Area --
#	The drawing area of the canvas: {x0 y0 x1 y1}, above the legend.
proc ::demo::Area {} {
    set w [winfo width .view.c]
    set h [winfo height .view.c]
    set rows [llength [LegendRows $w]]
    list 14 12 [expr {$w - 14}] [expr {$h - 16 - 18 * $rows}]
}

# demo::DefaultXY --
#	Where a node sits unless moved: the workers on an ellipse in the
#	order they were started, so that their mesh has the middle to
#	itself; the authority in the top right corner, the foreman in the
#	top left one. Pixels.
proc ::demo::DefaultXY {node area} {
    variable M
    variable run
    lassign $area x0 y0 x1 y1
    set cx [expr {($x0 + $x1) / 2.0}]
    set cy [expr {($y0 + $y1) / 2.0}]
    switch -- $M(role,$node) {
	authority {
	    return [list [expr {$x1 - 44}] [expr {$y0 + 26}]]
	}
	foreman {
	    return [list [expr {$x0 + 36}] [expr {$y0 + 24}]]
	}
    }
    set k [string range [Name $node] 1 end]
    set n [expr {max(1, [dict get $run workers])}]
    # Half a step off the top: no worker sits on the line between the
    # corners.
    set a [expr {-acos(-1) / 2 + 2 * acos(-1) * ($k - 0.5) / $n}]
    set rx [expr {max(40, ($x1 - $x0) / 2.0 - 62)}]
    set ry [expr {max(40, ($y1 - $y0) / 2.0 - 40)}]
    list [expr {$cx + $rx * cos($a)}] [expr {$cy + $ry * sin($a)}]
}

# demo::Radius --
proc ::demo::Radius {role} {
    expr {$role eq "authority" ? 18 : $role eq "foreman" ? 16 : 13}
}

# demo::LabelBox --
#	Where a node's label goes: {anchor x y box}, box {x0 y0 x1 y1}.
#	Outward from the middle of the area, or the first side that keeps
#	it inside the area.
proc ::demo::LabelBox {node x y area} {
    variable M
    lassign $area ax0 ay0 ax1 ay1
    set cx [expr {($ax0 + $ax1) / 2.0}]
    set cy [expr {($ay0 + $ay1) / 2.0}]
    set r [expr {[Radius $M(role,$node)] + 3}]
    set lines [split $M(label,$node) \n]
    set w 0
    foreach line $lines {
	set w [expr {max($w, [font measure DemoLabel $line])}]
    }
    set h [expr {[llength $lines] * [font metrics DemoLabel -linespace]}]
    set dx [expr {$x - $cx}]
    set dy [expr {$y - $cy}]
    set order {s n e w}
    if {hypot($dx, $dy) > 20} {
	set a [expr {atan2($dy, $dx) * 180 / acos(-1)}]
	set sector [expr {int(floor(($a + 22.5) / 45.0)) % 8}]
	if {$sector < 0} {
	    incr sector 8
	}
	set outward [lindex {e se s sw w nw n ne} $sector]
	set order [list $outward s n e w]
    }
    foreach side $order {
	# side: where the label lies, seen from the node.
	set ox [expr {[string match *e* $side] ? 1
	    : [string match *w* $side] ? -1 : 0}]
	set oy [expr {[string match *s* $side] ? 1
	    : [string match *n* $side] ? -1 : 0}]
	set lx [expr {$x + $ox * $r * ($oy ? 0.75 : 1)}]
	set ly [expr {$y + $oy * $r * ($ox ? 0.75 : 1)}]
	set bx0 [expr {$ox > 0 ? $lx : $ox < 0 ? $lx - $w : $lx - $w / 2.0}]
	set by0 [expr {$oy > 0 ? $ly : $oy < 0 ? $ly - $h : $ly - $h / 2.0}]
	set box [list $bx0 $by0 [expr {$bx0 + $w}] [expr {$by0 + $h}]]
	if {$bx0 >= $ax0 - 10 && $by0 >= $ay0 - 10 && $bx0 + $w <= $ax1 + 10
		&& $by0 + $h <= $ay1 + 20} {
	    break
	}
    }
    set anchor [string map {n s s n e w w e} $side]
    list $anchor $lx $ly $box
}

# demo::Box --
#	A node's box: its shape and its label, with a margin.
proc ::demo::Box {node x y area} {
    variable M
    set r [Radius $M(role,$node)]
    lassign [lindex [LabelBox $node $x $y $area] 3] bx0 by0 bx1 by1
    list [expr {min($x - $r, $bx0) - 3}] [expr {min($y - $r, $by0) - 3}] \
	[expr {max($x + $r, $bx1) + 3}] [expr {max($y + $r, $by1) + 3}]
}

# demo::Place --
#	Pixel positions of nodes: dict node -> {x y}. Nodes whose boxes
#	overlap are pushed apart (the dragged ones stay where they were
#	put), so that labels never overlap.
proc ::demo::Place {nodes} {
    variable pos
    variable drag
    variable M
    set area [Area]
    lassign $area x0 y0 x1 y1
    set xy {}
    foreach n $nodes {
	if {[dict exists $pos $n]} {
	    lassign [dict get $pos $n] nx ny
	    dict set xy $n [list [expr {$x0 + $nx * ($x1 - $x0)}] \
		[expr {$y0 + $ny * ($y1 - $y0)}]]
	} else {
	    dict set xy $n [DefaultXY $n $area]
	}
    }
    variable pinned
    set fixed $pinned
    if {[dict exists $drag node]} {
	dict set fixed [dict get $drag node] 1
    }
    for {set iter 0} {$iter < 60} {incr iter} {
	set boxes {}
	foreach n $nodes {
	    dict set boxes $n [Box $n {*}[dict get $xy $n] $area]
	}
	set moved 0
	set count [llength $nodes]
	for {set i 0} {$i < $count} {incr i} {
	    set a [lindex $nodes $i]
	    for {set j [expr {$i + 1}]} {$j < $count} {incr j} {
		set b [lindex $nodes $j]
		lassign [dict get $boxes $a] ax0 ay0 ax1 ay1
		lassign [dict get $boxes $b] bx0 by0 bx1 by1
		set ox [expr {min($ax1, $bx1) - max($ax0, $bx0)}]
		set oy [expr {min($ay1, $by1) - max($ay0, $by0)}]
		if {$ox <= 0 || $oy <= 0} {
		    continue
		}
		lassign [dict get $xy $a] xa ya
		lassign [dict get $xy $b] xb yb
		# Push along the axis that needs less.
		if {$ox < $oy} {
		    set d [expr {($ox + 1) * ($xa <= $xb ? -1 : 1)}]
		    set push [list $d 0]
		} else {
		    set d [expr {($oy + 1) * ($ya <= $yb ? -1 : 1)}]
		    set push [list 0 $d]
		}
		set fa [expr {[dict exists $fixed $a] ? 0 : 1}]
		set fb [expr {[dict exists $fixed $b] ? 0 : 1}]
		if {$fa + $fb == 0} {
		    continue
		}
		set share [expr {1.0 / ($fa + $fb)}]
		lassign $push px py
		dict set xy $a [Clamp [expr {$xa + $fa * $share * $px}] \
		    [expr {$ya + $fa * $share * $py}] $area]
		dict set xy $b [Clamp [expr {$xb - $fb * $share * $px}] \
		    [expr {$yb - $fb * $share * $py}] $area]
		set moved 1
		dict set boxes $a [Box $a {*}[dict get $xy $a] $area]
		dict set boxes $b [Box $b {*}[dict get $xy $b] $area]
	    }
	}
	if {!$moved} {
	    break
	}
    }
    return $xy
}

proc ::demo::Clamp {x y area} {
    lassign $area x0 y0 x1 y1
    list [expr {min(max($x, $x0 + 16), $x1 - 16)}] \
	[expr {min(max($y, $y0 + 16), $y1 - 16)}]
}

# demo::NewLayout --
#	New Layout: a force-directed layout of the nodes present (workers
#	linked as peers attract, all nodes repel, the authority stays in
#	the middle), from a new random start each time. Forgets the drags.
proc ::demo::NewLayout {} {
    variable pos {}
    variable pinned {}
    variable layoutSeq
    variable M
    set t [Now]
    set nodes [Present $t]
    if {[llength $nodes] == 0} {
	Redraw
	return
    }
    lassign [Area] x0 y0 x1 y1
    set w [expr {max(100, $x1 - $x0 - 140)}]
    set h [expr {max(100, $y1 - $y0 - 90)}]
    expr {srand([incr layoutSeq] * 7919 + [clock milliseconds] % 1000)}
    set xy {}
    foreach n $nodes {
	if {$M(role,$n) eq "authority"} {
	    dict set xy $n [list [expr {$w / 2.0}] [expr {$h / 2.0}]]
	} else {
	    dict set xy $n [list [expr {rand() * $w}] [expr {rand() * $h}]]
	}
    }
    set edges {}
    foreach l [Links $t] {
	lappend edges [lrange $l 0 1]
    }
    set k [expr {sqrt($w * $h / double([llength $nodes]))}]
    set temp [expr {$w / 8.0}]
    for {set iter 0} {$iter < 120} {incr iter} {
	set disp {}
	foreach a $nodes {
	    dict set disp $a {0.0 0.0}
	}
	foreach a $nodes {
	    lassign [dict get $xy $a] xa ya
	    set fx 0.0
	    set fy 0.0
	    foreach b $nodes {
		if {$a eq $b} {
		    continue
		}
		lassign [dict get $xy $b] xb yb
		set dx [expr {$xa - $xb}]
		set dy [expr {$ya - $yb}]
		set d [expr {max(1.0, hypot($dx, $dy))}]
		set f [expr {$k * $k / $d}]
		set fx [expr {$fx + $dx / $d * $f}]
		set fy [expr {$fy + $dy / $d * $f}]
	    }
	    # Gravity keeps loose nodes in.
	    set fx [expr {$fx + ($w / 2.0 - $xa) * 0.3}]
	    set fy [expr {$fy + ($h / 2.0 - $ya) * 0.3}]
	    dict set disp $a [list $fx $fy]
	}
	foreach e $edges {
	    lassign $e a b
	    lassign [dict get $xy $a] xa ya
	    lassign [dict get $xy $b] xb yb
	    set dx [expr {$xa - $xb}]
	    set dy [expr {$ya - $yb}]
	    set d [expr {max(1.0, hypot($dx, $dy))}]
	    set f [expr {$d * $d / $k}]
	    lassign [dict get $disp $a] ax ay
	    lassign [dict get $disp $b] bx by
	    dict set disp $a [list [expr {$ax - $dx / $d * $f}] \
		[expr {$ay - $dy / $d * $f}]]
	    dict set disp $b [list [expr {$bx + $dx / $d * $f}] \
		[expr {$by + $dy / $d * $f}]]
	}
	foreach a $nodes {
	    if {$M(role,$a) eq "authority"} {
		# It stays in the middle.
		continue
	    }
	    lassign [dict get $disp $a] fx fy
	    set f [expr {max(0.01, hypot($fx, $fy))}]
	    set step [expr {min($f, $temp)}]
	    lassign [dict get $xy $a] xa ya
	    dict set xy $a [list [expr {$xa + $fx / $f * $step}] \
		[expr {$ya + $fy / $f * $step}]]
	}
	set temp [expr {max(1.0, $temp * 0.96)}]
    }
    # Fit into the area around its middle (where the authority is), in
    # fractions of the area.
    set sx 0.0
    set sy 0.0
    foreach n $nodes {
	lassign [dict get $xy $n] x y
	set sx [expr {max($sx, abs($x - $w / 2.0))}]
	set sy [expr {max($sy, abs($y - $h / 2.0))}]
    }
    set mx [expr {70.0 / ($x1 - $x0)}]
    set my [expr {45.0 / ($y1 - $y0)}]
    foreach n $nodes {
	lassign [dict get $xy $n] x y
	set fx [expr {$sx > 0 ? ($x - $w / 2.0) / $sx : 0}]
	set fy [expr {$sy > 0 ? ($y - $h / 2.0) / $sy : 0}]
	dict set pos $n [list [expr {0.5 + $fx * (0.5 - $mx)}] \
	    [expr {0.5 + $fy * (0.5 - $my)}]]
    }
    Redraw
}

# ----------------------------------------------------------------------
# Drawing.
# ----------------------------------------------------------------------

# demo::Redraw --
#	Draws the shown view at the shown time, and the tables.
proc ::demo::Redraw {} {
    variable M
    variable view
    variable colors
    variable offset
    variable timeText
    variable viewText
    variable hover
    set c .view.c
    if {![winfo exists $c]} {
	return
    }
    $c delete all
    set t [Now]
    set span [expr {$M(t1) - $M(t0)}]
    .time.scale configure -to [expr {max(1, $span)}]
    set nodes [Present $t]
    set xy [Place $nodes]
    if {$view eq "network"} {
	set info [DrawNetwork $c $t $nodes $xy]
    } else {
	set info [DrawTraffic $c $t $nodes $xy]
    }
    DrawNodes $c $t $nodes $xy
    DrawLegend $c
    set timeText [format "%s UTC  +%.3f s of %.3f s" \
	[clock format [expr {$t / 1000}] -format %H:%M:%S \
	-timezone :UTC].[format %03d [expr {$t % 1000}]] \
	[expr {$offset / 1000.0}] [expr {$span / 1000.0}]]
    set viewText [expr {$view eq "network" ? "P2P network" : "Network traffic"}]
    append viewText ": " $info
    Tables $t
    if {$hover ne ""} {
	Highlight $hover
    }
    if {[winfo exists .details]} {
	Details
    }
}

# demo::DrawNetwork --
#	Peer links (thicker when both chose each other), registrations
#	with the authority (dashed), the foreman's running jobs.
proc ::demo::DrawNetwork {c t nodes xy} {
    variable M
    variable colors
    set authority ""
    foreach n $nodes {
	if {$M(role,$n) eq "authority"} {
	    set authority $n
	}
    }
    if {$authority ne ""} {
	lassign [dict get $xy $authority] ax ay
	foreach n $nodes {
	    if {$M(role,$n) eq "worker" && $M(registered,$n) ne ""
		    && $M(registered,$n) <= $t && [Alive $n $t]} {
		lassign [dict get $xy $n] x y
		$c create line $x $y $ax $ay -fill [dict get $colors register] \
		    -dash {4 4} -width 1 \
		    -tags [list link reglink e[Id $n] e[Id $authority]]
	    }
	}
    }
    set links [Links $t]
    foreach l $links {
	lassign $l a b mutual
	lassign [dict get $xy $a] xa ya
	lassign [dict get $xy $b] xb yb
	$c create line $xa $ya $xb $yb -fill [dict get $colors peer] \
	    -width [expr {$mutual ? 3 : 2}] \
	    -tags [list link peerlink e[Id $a] e[Id $b]]
    }
    set running 0
    set waiting 0
    if {[dict exists $xy foreman]} {
	lassign [dict get $xy foreman] fx fy
	foreach row [JobsAt $t] {
	    lassign $row id state worker
	    if {$state in {dispatched running} && [dict exists $xy $worker]} {
		lassign [dict get $xy $worker] x y
		$c create line $fx $fy $x $y -fill [dict get $colors job] \
		    -dash {6 3} -width 1 \
		    -tags [list link joblink e[Id foreman] e[Id $worker]]
		incr [expr {$state eq "running" ? "running" : "waiting"}]
	    }
	}
    }
    set workers [llength [lmap n $nodes {
	expr {$M(role,$n) eq "worker" && [Alive $n $t] ? 1 : [continue]}
    }]]
    set info "$workers workers, [llength $links] peer links; jobs: $running\
	running, $waiting sent and waiting"
    foreach tree [DrawTree $c $t $nodes $xy] {
	lassign $tree id count over
	append info "; tree $id: $count nodes, $over"
    }
    return $info
}

# demo::TreeState --
#	The state a tree node is drawn in (splitting counts as working).
proc ::demo::TreeState {state} {
    expr {$state in {waiting merging done failed} ? $state : "working"}
}

# demo::DrawTree --
#	The tree jobs shown at time t (TreesAt) over the network: an arrow
#	from each node's worker to each of its children's, in the child's
#	state's colour, labelled with the child's depth where the label
#	covers no node and no other label; a dashed ring round the root's
#	worker. Arrows between the same two workers curve apart.
# Results:
#	{id nodes state} of each tree drawn.
proc ::demo::DrawTree {c t nodes xy} {
    variable M
    variable colors
    set area [Area]
    set placed {}
    foreach n $nodes {
	lappend placed [Box $n {*}[dict get $xy $n] $area]
    }
    set lh [font metrics DemoSmall -linespace]
    set pairs {}
    set drawn {}
    foreach tree [TreesAt $t] {
	lassign $tree id tnodes
	dict for {path info} $tnodes {
	    set node [dict get $info node]
	    set state [TreeState [dict get $info state]]
	    set color [dict get $colors tree-$state]
	    if {![dict exists $xy $node]} {
		continue
	    }
	    lassign [dict get $xy $node] xb yb
	    set r [Radius $M(role,$node)]
	    if {$path eq ""} {
		set rr [expr {$r + 8}]
		$c create oval [expr {$xb - $rr}] [expr {$yb - $rr}] \
		    [expr {$xb + $rr}] [expr {$yb + $rr}] -outline $color \
		    -width 2 -dash {4 2} -tags [list treeroot e[Id $node]]
		continue
	    }
	    set ppath [lrange $path 0 end-1]
	    if {![dict exists $tnodes $ppath]} {
		continue
	    }
	    set from [dict get $tnodes $ppath node]
	    if {![dict exists $xy $from]} {
		continue
	    }
	    lassign [dict get $xy $from] xa ya
	    dict incr pairs [list $from $node]
	    set k [dict get $pairs [list $from $node]]
	    set tags [list link treeedge tree-$state e[Id $from] e[Id $node]]
	    if {$from eq $node} {
		# (A worker never takes its own pieces; drawn all the same.)
		set d [expr {$r + 18 + 8 * $k}]
		set coords [list [expr {$xa + $r}] [expr {$ya - 4}] \
		    [expr {$xa + $d}] [expr {$ya - $d}] \
		    [expr {$xa + $d}] [expr {$ya + $d}] \
		    [expr {$xa + $r + 2}] [expr {$ya + 4}]]
		set lx [expr {$xa + $d + 4}]
		set ly $ya
	    } else {
		set dx [expr {$xb - $xa}]
		set dy [expr {$yb - $ya}]
		set len [expr {max(1.0, hypot($dx, $dy))}]
		# Bent to the right of the direction of travel: the two
		# directions of a pair never share a curve.
		set s [expr {18.0 * $k}]
		set px [expr {-$dy / $len}]
		set py [expr {$dx / $len}]
		set cx [expr {($xa + $xb) / 2.0 + 2 * $s * $px}]
		set cy [expr {($ya + $yb) / 2.0 + 2 * $s * $py}]
		set ra [expr {[Radius $M(role,$from)] + 3}]
		set rb [expr {$r + 5}]
		set ua [expr {max(1.0, hypot($cx - $xa, $cy - $ya))}]
		set ub [expr {max(1.0, hypot($cx - $xb, $cy - $yb))}]
		set coords [list \
		    [expr {$xa + ($cx - $xa) / $ua * $ra}] \
		    [expr {$ya + ($cy - $ya) / $ua * $ra}] $cx $cy \
		    [expr {$xb + ($cx - $xb) / $ub * $rb}] \
		    [expr {$yb + ($cy - $yb) / $ub * $rb}]]
		# The label beside the curve's apex, outwards.
		set lx [expr {($xa + $xb) / 2.0 + ($s + 4 + $lh / 2.0) * $px}]
		set ly [expr {($ya + $yb) / 2.0 + ($s + 4 + $lh / 2.0) * $py}]
	    }
	    $c create line $coords -smooth true -fill $color -width 3 \
		-arrow last -arrowshape {10 12 4} -tags $tags
	    set text "d[dict get $info depth]"
	    set tw [font measure DemoSmall $text]
	    set box [list [expr {$lx - $tw / 2.0 - 1}] [expr {$ly - $lh / 2.0}] \
		[expr {$lx + $tw / 2.0 + 1}] [expr {$ly + $lh / 2.0}]]
	    if {![Overlaps $box $placed]} {
		lappend placed $box
		$c create text $lx $ly -text $text -fill $color \
		    -font DemoSmall -tags [list treelabel e[Id $from] e[Id $node]]
	    }
	}
	set rootState [dict get $tnodes {} state]
	lappend drawn [list $id [dict size $tnodes] [expr {$rootState in
	    {done failed} ? $rootState : "under way"}]]
    }
    return $drawn
}

# demo::DrawTraffic --
#	The messages of the last window ms as arrows, one per sender,
#	receiver and type (request, reply, exception), labelled with their
#	command names where a label fits without covering another; the
#	peer links faint behind.
proc ::demo::DrawTraffic {c t nodes xy} {
    variable M
    variable colors
    variable window
    set area [Area]
    foreach l [Links $t] {
	lassign $l a b
	lassign [dict get $xy $a] xa ya
	lassign [dict get $xy $b] xb yb
	$c create line $xa $ya $xb $yb -fill #eef0f3 -width 2 -tags bg
    }
    if {![string is integer -strict $window] || $window < 1} {
	set window 300
    }
    set hi [lsearch -bisect -integer $M(msgMs) $t]
    set lo [lsearch -bisect -integer $M(msgMs) [expr {$t - $window}]]
    set groups {}
    set latest {}
    set last ""
    set count 0
    for {set i [expr {$lo + 1}]} {$i <= $hi} {incr i} {
	lassign [lindex $M(msgs) $i] ms from to word type
	if {![dict exists $xy $from] || ![dict exists $xy $to]} {
	    continue
	}
	incr count
	set key [list $from $to $type]
	dict lappend groups $key $word
	dict set latest $key $i
	set last $key
    }
    # Labels are placed newest first, each where it covers no node and
    # no other label.
    set placed {}
    foreach n $nodes {
	lappend placed [Box $n {*}[dict get $xy $n] $area]
    }
    set keys [lsort -integer -decreasing -command [list apply {{latest a b} {
	expr {[dict get $latest $a] - [dict get $latest $b]}
    }} $latest] [dict keys $groups]]
    set shift {request 4 reply 10 exception 16}
    set lh [font metrics DemoSmall -linespace]
    foreach key $keys {
	set words [dict get $groups $key]
	lassign $key from to type
	lassign [dict get $xy $from] xa ya
	lassign [dict get $xy $to] xb yb
	set dx [expr {$xb - $xa}]
	set dy [expr {$yb - $ya}]
	set d [expr {max(1.0, hypot($dx, $dy))}]
	set ux [expr {$dx / $d}]
	set uy [expr {$dy / $d}]
	# Offset to the right of the direction of travel: the two
	# directions of a pair never share a line.
	set s [dict get $shift $type]
	set px [expr {-$uy * $s}]
	set py [expr {$ux * $s}]
	set ra [expr {[Radius $M(role,$from)] + 3}]
	set rb [expr {[Radius $M(role,$to)] + 5}]
	set color [dict get $colors $type]
	set width [expr {$key eq $last ? 3 : 1.5}]
	$c create line [expr {$xa + $ux * $ra + $px}] \
	    [expr {$ya + $uy * $ra + $py}] [expr {$xb - $ux * $rb + $px}] \
	    [expr {$yb - $uy * $rb + $py}] -fill $color -width $width \
	    -arrow last -arrowshape {9 11 4} \
	    -tags [list link msg e[Id $from] e[Id $to]]
	set distinct {}
	foreach w $words {
	    dict incr distinct $w
	}
	set shown [lmap {w n} [lrange $distinct 0 3] {
	    expr {$n > 1 ? "$w \u00d7$n" : $w}
	}]
	set text [join $shown ", "]
	if {[dict size $distinct] > 2} {
	    append text ", \u2026"
	}
	set tw [font measure DemoSmall $text]
	set side [expr {$s + 3 + $lh / 2.0}]
	foreach f {0.5 0.38 0.62 0.28 0.72} {
	    set lx [expr {$xa + $dx * $f - $uy * $side}]
	    set ly [expr {$ya + $dy * $f + $ux * $side}]
	    set box [list [expr {$lx - $tw / 2.0 - 1}] \
		[expr {$ly - $lh / 2.0}] [expr {$lx + $tw / 2.0 + 1}] \
		[expr {$ly + $lh / 2.0}]]
	    if {![Overlaps $box $placed]} {
		lappend placed $box
		$c create rectangle $box -fill white -outline "" \
		    -tags [list msglabel]
		$c create text $lx $ly -text $text -fill $color \
		    -font DemoSmall -tags [list msglabel e[Id $from] e[Id $to]]
		break
	    }
	}
    }
    return "$count messages in the last $window ms"
}

# demo::Overlaps --
#	True when box overlaps one of boxes.
proc ::demo::Overlaps {box boxes} {
    lassign $box x0 y0 x1 y1
    foreach b $boxes {
	lassign $b bx0 by0 bx1 by1
	if {min($x1, $bx1) > max($x0, $bx0)
		&& min($y1, $by1) > max($y0, $by0)} {
	    return 1
	}
    }
    return 0
}

# demo::DrawNodes --
#	The nodes (authority a diamond, workers circles, the foreman a
#	triangle; grey once killed; a green ring while running a job) and
#	their labels.
proc ::demo::DrawNodes {c t nodes xy} {
    variable M
    variable colors
    variable selected
    set busy {}
    foreach row [JobsAt $t] {
	lassign $row id state worker
	if {$state eq "running"} {
	    dict incr busy $worker
	}
    }
    foreach n $nodes {
	lassign [dict get $xy $n] x y
	set role $M(role,$n)
	set r [Radius $role]
	set tags [list node shape n[Id $n]]
	set fill [dict get $colors $role]
	set line [dict get $colors ${role}Line]
	if {![Alive $n $t]} {
	    set fill [dict get $colors dead]
	    set line [dict get $colors deadLine]
	}
	if {[dict exists $busy $n]} {
	    $c create oval [expr {$x - $r - 5}] [expr {$y - $r - 5}] \
		[expr {$x + $r + 5}] [expr {$y + $r + 5}] \
		-outline [dict get $colors job] -width 3 \
		-tags [list node ring n[Id $n]]
	}
	switch -- $role {
	    authority {
		$c create polygon $x [expr {$y - $r}] [expr {$x + $r}] $y \
		    $x [expr {$y + $r}] [expr {$x - $r}] $y \
		    -fill $fill -outline $line -width 2 -tags $tags
	    }
	    foreman {
		$c create polygon $x [expr {$y - $r}] \
		    [expr {$x + $r * 0.9}] [expr {$y + $r * 0.6}] \
		    [expr {$x - $r * 0.9}] [expr {$y + $r * 0.6}] \
		    -fill $fill -outline $line -width 2 -tags $tags
	    }
	    default {
		$c create oval [expr {$x - $r}] [expr {$y - $r}] \
		    [expr {$x + $r}] [expr {$y + $r}] \
		    -fill $fill -outline $line -width 2 -tags $tags
	    }
	}
	if {$n eq $selected} {
	    $c create rectangle [expr {$x - $r - 4}] [expr {$y - $r - 4}] \
		[expr {$x + $r + 4}] [expr {$y + $r + 4}] -outline #222222 \
		-dash {2 2} -tags [list node n[Id $n]]
	}
	lassign [LabelBox $n $x $y [Area]] anchor lx ly
	set id [$c create text $lx $ly -text $M(label,$n) -anchor $anchor \
	    -justify center -font DemoLabel -fill #1b1b1b \
	    -tags [list node label n[Id $n]]]
	set bg [$c create rectangle [$c bbox $id] -fill white -outline "" \
	    -tags [list node labelbg n[Id $n]]]
	$c lower $bg $id
    }
}

# demo::LegendItems --
#	The legend of the shown view: {sample text} pairs; a sample is
#	{shape role}, {line color width dash arrow}, {ring} or {}.
proc ::demo::LegendItems {} {
    variable view
    variable window
    variable M
    set items {
	{shape authority} authority {shape worker} worker
	{shape foreman} foreman
    }
    if {$view eq "network"} {
	lappend items {line peer 2 {} none} "peer link" \
	    {line peer 3 {} none} "chosen both ways" \
	    {line register 1 {4 4} none} "registered" \
	    {line job 1 {6 3} none} "job sent" {ring} "running a job"
	if {[llength $M(trees)]} {
	    lappend items {line tree-working 2.5 {} last} "tree piece: working" \
		{line tree-waiting 2.5 {} last} waiting \
		{line tree-merging 2.5 {} last} merging \
		{line tree-done 2.5 {} last} done \
		{line tree-failed 2.5 {} last} failed {treeroot} "tree root"
	}
    } else {
	lappend items {line request 2 {} last} request \
	    {line reply 2 {} last} reply {line exception 2 {} last} exception \
	    {} "(the last $window ms; thick: the latest)"
    }
    return $items
}

# demo::LegendRows --
#	The legend laid out in rows for a canvas width w: a list of rows,
#	each a list of {x sample text}.
proc ::demo::LegendRows {w} {
    set rows {}
    set row {}
    set x 12
    foreach {sample text} [LegendItems] {
	set width [expr {($sample eq "" ? 0 : [lindex $sample 0] eq "line"
	    ? 28 : 18) + [font measure DemoSmall $text] + 16}]
	if {$x + $width > $w - 8 && [llength $row]} {
	    lappend rows $row
	    set row {}
	    set x 12
	}
	lappend row [list $x $sample $text]
	incr x $width
    }
    lappend rows $row
    return $rows
}

# demo::DrawLegend --
#	At the bottom of the canvas, in as many rows as it takes.
proc ::demo::DrawLegend {c} {
    variable colors
    set w [winfo width $c]
    set rows [LegendRows $w]
    set y [expr {[winfo height $c] - 12 - 18 * ([llength $rows] - 1)}]
    $c create line 0 [expr {$y - 12}] $w [expr {$y - 12}] -fill #e4e4e4 \
	-tags legend
    foreach row $rows {
	foreach item $row {
	    lassign $item x sample text
	    switch -- [lindex $sample 0] {
		shape {
		    set role [lindex $sample 1]
		    set fill [dict get $colors $role]
		    set line [dict get $colors ${role}Line]
		    switch -- $role {
			authority {
			    $c create polygon [expr {$x + 6}] [expr {$y - 7}] \
				[expr {$x + 13}] $y [expr {$x + 6}] \
				[expr {$y + 7}] [expr {$x - 1}] $y \
				-fill $fill -outline $line -tags legend
			}
			worker {
			    $c create oval $x [expr {$y - 6}] [expr {$x + 12}] \
				[expr {$y + 6}] -fill $fill -outline $line \
				-tags legend
			}
			foreman {
			    $c create polygon [expr {$x + 6}] [expr {$y - 7}] \
				[expr {$x + 13}] [expr {$y + 5}] \
				[expr {$x - 1}] [expr {$y + 5}] \
				-fill $fill -outline $line -tags legend
			}
		    }
		    incr x 18
		}
		line {
		    lassign $sample - color width dash arrow
		    $c create line $x $y [expr {$x + 22}] $y \
			-fill [dict get $colors $color] -width $width \
			-dash $dash -arrow $arrow -tags legend
		    incr x 28
		}
		ring {
		    $c create oval $x [expr {$y - 6}] [expr {$x + 12}] \
			[expr {$y + 6}] -outline [dict get $colors job] \
			-width 2 -tags legend
		    incr x 18
		}
		treeroot {
		    $c create oval $x [expr {$y - 6}] [expr {$x + 12}] \
			[expr {$y + 6}] -outline [dict get $colors tree-done] \
			-width 2 -dash {4 2} -tags legend
		    incr x 18
		}
	    }
	    $c create text $x $y -text $text -anchor w -font DemoSmall \
		-tags legend
	}
	incr y 18
    }
}

# demo::Highlight --
#	Hovering: the node's links and messages stand out, the others fade.
proc ::demo::Highlight {node} {
    variable colors
    set c .view.c
    if {![dict exists [set ::demo::ids] $node]} {
	return
    }
    set tag e[Id $node]
    foreach item [$c find withtag link] {
	if {$tag ni [$c gettags $item]} {
	    $c itemconfigure $item -fill [dict get $colors faded]
	}
    }
    foreach item [$c find withtag $tag] {
	if {"link" in [$c gettags $item]} {
	    $c itemconfigure $item -fill [dict get $colors highlight] \
		-width 4
	    $c raise $item link
	}
    }
}

# demo::NodeAt --
#	The node of the canvas item under the pointer, or "".
proc ::demo::NodeAt {} {
    set c .view.c
    foreach tag [$c gettags current] {
	if {[regexp {^n(\d+)$} $tag -> i]} {
	    dict for {node id} [set ::demo::ids] {
		if {$id == $i} {
		    return $node
		}
	    }
	}
    }
    return ""
}

# demo::Hover, Unhover --
#	The pointer moved over the canvas, or left it: the node under it
#	is highlighted. (Redraw deletes the item under the pointer; the
#	canvas names the new one "current" at the next motion.)
proc ::demo::Hover {} {
    variable hover
    variable drag
    if {[dict exists $drag node]} {
	return
    }
    set node [NodeAt]
    if {$node ne $hover} {
	set hover $node
	Redraw
    }
}

proc ::demo::Unhover {} {
    variable hover
    variable drag
    if {$hover ne "" && ![dict exists $drag node]} {
	set hover ""
	Redraw
    }
}

# demo::Press, Motion, Release --
#	Dragging a node, or clicking it (a release where it was pressed).
proc ::demo::Press {x y} {
    variable drag
    set node [NodeAt]
    if {$node ne ""} {
	set drag [dict create node $node x $x y $y moved 0]
    }
}

proc ::demo::Motion {x y} {
    variable drag
    variable pos
    if {![dict exists $drag node]} {
	return
    }
    if {!([dict get $drag moved] || abs($x - [dict get $drag x]) > 3
	    || abs($y - [dict get $drag y]) > 3)} {
	return
    }
    dict set drag moved 1
    variable pinned
    dict set pinned [dict get $drag node] 1
    lassign [Area] x0 y0 x1 y1
    set x [expr {min(max($x, $x0 + 16), $x1 - 16)}]
    set y [expr {min(max($y, $y0 + 16), $y1 - 16)}]
    dict set pos [dict get $drag node] [list \
	[expr {($x - $x0) / double($x1 - $x0)}] \
	[expr {($y - $y0) / double($y1 - $y0)}]]
    Redraw
}

proc ::demo::Release {} {
    variable drag
    variable selected
    if {![dict exists $drag node]} {
	return
    }
    set node [dict get $drag node]
    set moved [dict get $drag moved]
    set drag {}
    if {$moved} {
	Redraw
    } else {
	set selected $node
	Details 1
	Redraw
    }
}

# ----------------------------------------------------------------------
# Details of a node, the errors, the tables.
# ----------------------------------------------------------------------

# demo::Details --
#	The window describing the selected node at the shown time; with
#	ask, also what the authority and the ledger say now (while the
#	network runs).
proc ::demo::Details {{ask 0}} {
    variable selected
    variable M
    variable running
    variable busy
    variable foreman
    variable procs
    variable asked
    set n $selected
    if {$n eq "" || ![info exists M(role,$n)]} {
	return
    }
    set w .details
    if {![winfo exists $w]} {
	toplevel $w
	wm title $w "Node details"
	wm transient $w .
	text $w.text -width 52 -height 20 -font DemoText -relief flat \
	    -background #fbfbfb -wrap word -padx 8 -pady 6
	ttk::frame $w.bar
	ttk::button $w.bar.kill -text "Kill this worker" \
	    -command {demo::Do demo::KillNode}
	ttk::button $w.bar.close -text Close -command [list destroy $w]
	pack $w.bar.close $w.bar.kill -side right -padx 4 -pady 4
	pack $w.bar -side bottom -fill x
	pack $w.text -fill both -expand 1
	set x [expr {[winfo rootx .] + [winfo width .] - 480}]
	wm geometry $w +[expr {max(0, $x)}]+[expr {[winfo rooty .] + 60}]
    }
    set t [Now]
    set role $M(role,$n)
    set lines {}
    lappend lines "[Name $n] ($role)" "address      $n" \
	"first seen   +[Seconds $M(first,$n)] s" "" "At the shown time:"
    if {![Alive $n $t]} {
	lappend lines "  killed at +[Seconds $M(dead,$n)] s"
    }
    if {$role eq "worker"} {
	set peers [lmap p [PeersAt $n $t] {Name $p}]
	if {[llength $peers] == 0} {
	    set peers [list "none yet"]
	}
	lappend lines "  peers      [join $peers {, }]"
	set done 0
	foreach ms $M(finished,$n) {
	    if {$ms <= $t} {
		incr done
	    }
	}
	lappend lines "  jobs run   $done"
	lappend lines "  price      [Price $n] points a job"
	set pieces {}
	foreach id $M(trees) {
	    dict for {path info} [TreeNodesAt $id $t] {
		if {[dict get $info node] ne $n} {
		    continue
		}
		set split [expr {[dict get $info pieces] ne ""
		    ? ", split in [dict get $info pieces]" : ""}]
		lappend pieces "    $id path \{$path\}: depth\
		    [dict get $info depth]$split, [dict get $info state]"
	    }
	}
	if {[llength $pieces]} {
	    lappend lines "  tree pieces [llength $pieces]" {*}$pieces
	}
    }
    set points [PointsAt $t]
    if {[dict exists $points $n]} {
	lappend lines "  points     [dict get $points $n] (grant and payments\
	    logged)"
    }
    set linked [lmap l [Links $t] {
	lassign $l a b
	expr {$a eq $n ? [Name $b] : $b eq $n ? [Name $a] : [continue]}
    }]
    if {$role eq "worker"} {
	lappend lines "  links      [llength $linked] (chosen by it or by them)"
    }
    if {$ask && $running && !$busy && $foreman ne ""
	    && $role ne "authority"} {
	dict set asked $n [Ask $n $role]
	if {![winfo exists $w]} {
	    # Closed while the authority answered.
	    return
	}
    }
    if {[dict exists $asked $n]} {
	lappend lines "" {*}[dict get $asked $n]
    }
    $w.text configure -state normal
    $w.text delete 1.0 end
    $w.text insert end [join $lines \n]
    $w.text configure -state disabled
    set killable 0
    dict for {pid p} $procs {
	if {[dict get $p address] eq $n && [dict get $p role] eq "worker"} {
	    set killable 1
	}
    }
    $w.bar.kill state [expr {$killable ? "!disabled" : "disabled"}]
}

# demo::Ask --
#	What the authority and the ledger say about a node now: lines.
proc ::demo::Ask {n role} {
    variable foreman
    set lines [list "Now, says the authority ([clock format [clock seconds] \
	-format %H:%M:%S]):"]
    Busy 1
    try {
	if {$role eq "worker"} {
	    set status [$foreman status]
	    if {![dict exists $status workers $n]} {
		return [lappend lines "  not registered"]
	    }
	    set info [dict get $status workers $n]
	    foreach key {wonks slots free price} {
		if {[dict exists $info $key]} {
		    lappend lines [format "  %-10s %s" $key \
			[dict get $info $key]]
		}
	    }
	    if {[dict exists $info account]} {
		lappend lines [format "  %-10s %s (ledger)" points \
		    [$foreman balance [dict get $info account]]]
	    }
	} else {
	    lappend lines [format "  %-10s %s (ledger)" points \
		[$foreman balance]]
	}
    } on error {msg} {
	lappend lines "  $msg"
    } finally {
	Busy 0
    }
    return $lines
}

# demo::KillNode --
#	Kills the selected worker's process (its running job is then
#	re-issued by the foreman).
proc ::demo::KillNode {} {
    variable selected
    variable procs
    dict for {pid p} $procs {
	if {[dict get $p address] eq $selected} {
	    Kill [list $pid]
	    p2p::log event -node demo system killed $selected "pid $pid"
	    Status "Killed [Name $selected] (pid $pid)."
	    Reload
	    return
	}
    }
}

# demo::ErrorsChanged --
#	The errors button and window after a reload.
proc ::demo::ErrorsChanged {} {
    variable M
    variable errorText
    set n [llength $M(errors)]
    set errorText "Errors: $n"
    if {[winfo exists .top.errors]} {
	.top.errors configure -style [expr {$n ? "Errors.TButton" : "TButton"}]
    }
    if {[winfo exists .errors]} {
	FillErrors
    }
}

# demo::ShowErrors --
#	The errors button: a window listing the error events.
proc ::demo::ShowErrors {} {
    set w .errors
    if {![winfo exists $w]} {
	toplevel $w
	wm title $w "Errors"
	wm transient $w .
	ttk::treeview $w.tree -columns {time node kind message} \
	    -show headings -height 12
	foreach {col text width} {time Time 90 node Node 90 kind Kind 90
		message Message 460} {
	    $w.tree heading $col -text $text -anchor w
	    $w.tree column $col -width $width -anchor w \
		-stretch [expr {$col eq "message"}]
	}
	ttk::scrollbar $w.sb -command [list $w.tree yview]
	$w.tree configure -yscrollcommand [list $w.sb set]
	ttk::button $w.close -text Close -command [list destroy $w]
	pack $w.close -side bottom -anchor e -padx 4 -pady 4
	pack $w.sb -side right -fill y
	pack $w.tree -fill both -expand 1
    }
    FillErrors
}

proc ::demo::FillErrors {} {
    variable M
    set tree .errors.tree
    $tree delete [$tree children {}]
    foreach e $M(errors) {
	lassign $e ms node channel kind peer message
	$tree insert {} end -values [list \
	    +[Seconds $ms] [Name $node] $kind \
	    [string trim "$peer $message"]]
    }
}

# demo::Tables --
#	The jobs and balances at time t.
proc ::demo::Tables {t} {
    variable M
    set tree .side.jobs.tree
    $tree delete [$tree children {}]
    foreach row [JobsAt $t] {
	lassign $row id state worker reissues cost
	set tag [lindex $state 0]
	$tree insert {} end -values [list $id $state \
	    [expr {$worker eq "" ? "" : [Name $worker]}] $reissues \
	    [expr {$cost ? $cost : ""}]] -tags [list $tag]
    }
    set tree .side.balances.tree
    $tree delete [$tree children {}]
    set points [PointsAt $t]
    set jobsRun {}
    foreach n $M(nodes) {
	if {$M(role,$n) eq "worker"} {
	    set done 0
	    foreach ms $M(finished,$n) {
		if {$ms <= $t} {
		    incr done
		}
	    }
	    dict set jobsRun $n $done
	}
    }
    foreach n [Present $t] {
	if {![dict exists $points $n]} {
	    continue
	}
	$tree insert {} end -values [list [Name $n] $M(role,$n) [Price $n] \
	    [expr {[dict exists $jobsRun $n] ? [dict get $jobsRun $n] : ""}] \
	    [dict get $points $n]]
    }
}

# ----------------------------------------------------------------------
# Time.
# ----------------------------------------------------------------------

# demo::SetTime --
#	Shows the moment offset ms after the first event.
proc ::demo::SetTime {ms} {
    variable offset
    variable M
    set offset [expr {max(0, min($ms, $M(t1) - $M(t0)))}]
    Redraw
}

# demo::Slid --
#	The slider moved (by hand): leave Live.
proc ::demo::Slid {value} {
    variable live 0
    SetTime [expr {round($value)}]
}

# demo::Step --
#	< and >: the previous or next moment the view changes: in the
#	network view, when nodes, peer links, registrations or the jobs
#	running change; in the traffic view, when a message arrives.
proc ::demo::Step {dir} {
    variable M
    variable view
    variable live 0
    set t [Now]
    if {$view eq "network"} {
	set times $M(netTimes)
    } else {
	set times $M(msgTimes)
    }
    if {$dir > 0} {
	set i [expr {[lsearch -bisect -integer $times $t] + 1}]
	set candidates [lrange $times $i end]
    } else {
	set i [lsearch -bisect -integer $times [expr {$t - 1}]]
	set candidates [lreverse [lrange $times 0 $i]]
    }
    foreach c $candidates {
	if {$view ne "network"
		|| [Signature $c] ne [Signature [expr {$c - 1}]]} {
	    SetTime [expr {$c - $M(t0)}]
	    return
	}
    }
}

# demo::Signature --
#	What the network view draws at time t, less the places.
proc ::demo::Signature {t} {
    variable M
    set nodes [Present $t]
    set jobs [lmap row [JobsAt $t] {
	lassign $row id state worker
	expr {$state in {dispatched running} ? [list $id $state $worker]
	    : [continue]}
    }]
    set registered [lmap n $nodes {
	expr {$M(registered,$n) ne "" && $M(registered,$n) <= $t ? $n
	    : [continue]}
    }]
    set dead [lmap n $nodes {
	expr {[Alive $n $t] ? [continue] : $n}
    }]
    list $nodes [Links $t] $jobs $registered $dead [TreesAt $t]
}

# demo::GoLive --
#	Shows the last event.
proc ::demo::GoLive {} {
    variable M
    SetTime [expr {$M(t1) - $M(t0)}]
}

# demo::LiveToggled --
proc ::demo::LiveToggled {} {
    variable live
    if {$live} {
	Reload
    }
}

# demo::Tick --
#	While the network runs and Live is on: reloads the logs that grew,
#	every half second or so (less often when a reload takes longer).
#	Off Live, what is shown stays as it is until Reload.
proc ::demo::Tick {} {
    variable tickId
    variable running
    variable live
    after cancel $tickId
    set tickId ""
    if {!$running} {
	return
    }
    set start [clock milliseconds]
    if {$live} {
	Reload
    }
    set took [expr {[clock milliseconds] - $start}]
    set tickId [after [expr {max(500, 3 * $took)}] ::demo::Tick]
}

# ----------------------------------------------------------------------
# The window.
# ----------------------------------------------------------------------

proc ::demo::Window {} {
    variable maxWorkers
    wm title . "p2pjobs demo"
    wm protocol . WM_DELETE_WINDOW ::demo::Quit
    wm minsize . 900 560
    # 1280x800 unless the screen is smaller or wish was given -geometry.
    if {![info exists ::geometry]} {
	set sw [winfo screenwidth .]
	set sh [winfo screenheight .]
	wm geometry . [expr {min(1280, $sw)}]x[expr {min(800, $sh - 40)}]
    }

    font create DemoLabel -family Helvetica -size 9
    font create DemoSmall -family Helvetica -size 8
    font create DemoText -family Courier -size 9
    ttk::style configure Errors.TButton -foreground #c0392b
    ttk::style configure Treeview -rowheight 18
    ttk::style configure TLabelframe.Label -font TkHeadingFont

    ttk::frame .top -padding {6 4}
    ttk::button .top.start -text Start -command {demo::Do demo::start}
    ttk::button .top.stop -text Stop -command {demo::Do demo::stop}
    ttk::button .top.reload -text Reload -command {demo::Do demo::Reload}
    ttk::button .top.layout -text "New Layout" \
	-command {demo::Do demo::NewLayout}
    ttk::label .top.wl -text "Workers:"
    ttk::spinbox .top.workers -from 1 -to $maxWorkers -width 4 \
	-textvariable ::demo::nWorkers
    ttk::separator .top.s1 -orient vertical
    ttk::radiobutton .top.network -text "P2P Network" -value network \
	-variable ::demo::view -command ::demo::Redraw
    ttk::radiobutton .top.traffic -text "Network traffic" -value traffic \
	-variable ::demo::view -command ::demo::Redraw
    ttk::separator .top.s2 -orient vertical
    ttk::button .top.errors -textvariable ::demo::errorText \
	-command {demo::Do demo::ShowErrors}
    pack .top.start .top.stop .top.reload .top.layout -side left -padx 2
    pack .top.wl -side left -padx {10 2}
    pack .top.workers -side left
    pack .top.s1 -side left -fill y -padx 8
    pack .top.network .top.traffic -side left -padx 2
    pack .top.s2 -side left -fill y -padx 8
    pack .top.errors -side left

    ttk::frame .time -padding {6 2}
    ttk::button .time.prev -text < -width 3 -command {demo::Step -1}
    ttk::scale .time.scale -from 0 -to 1 -orient horizontal \
	-variable ::demo::offset -command ::demo::Slid
    ttk::button .time.next -text > -width 3 -command {demo::Step 1}
    ttk::checkbutton .time.live -text Live -variable ::demo::live \
	-command ::demo::LiveToggled
    ttk::label .time.text -textvariable ::demo::timeText -width 40 \
	-font DemoText
    pack .time.prev -side left
    pack .time.scale -side left -fill x -expand 1 -padx 4
    ttk::label .time.wl -text "Traffic of the last"
    ttk::spinbox .time.window -from 50 -to 5000 -increment 50 -width 5 \
	-textvariable ::demo::window -command ::demo::Redraw
    bind .time.window <Return> ::demo::Redraw
    ttk::label .time.ms -text ms
    pack .time.next .time.live -side left -padx 2
    pack .time.text -side left -padx {8 0}
    pack .time.wl -side left -padx {12 2}
    pack .time.window .time.ms -side left

    ttk::label .status -textvariable ::demo::statusText -padding {8 2} \
	-relief sunken

    ttk::frame .side -padding {4 0 6 0}
    ttk::labelframe .side.bids -text "Bids" -padding 4
    ttk::frame .side.bids.bar
    ttk::button .side.bids.get -text "Get Bids" \
	-command {demo::Do demo::getBids}
    ttk::label .side.bids.info -textvariable ::demo::bidInfo -font DemoSmall
    pack .side.bids.get -in .side.bids.bar -side left
    pack .side.bids.info -in .side.bids.bar -side left -padx 6
    Tree .side.bids {worker Worker 64 price Price 48 wonks Wonks 62
	latency "Latency" 70 hops Hops 56} 5

    ttk::labelframe .side.jobs -text "Jobs" -padding 4
    ttk::frame .side.jobs.bar
    ttk::label .side.jobs.pl -text "Points:"
    ttk::spinbox .side.jobs.points -from 1 -to 1000 -width 5 \
	-textvariable ::demo::points
    ttk::button .side.jobs.spend -text Spend -command {demo::Do demo::spend}
    ttk::button .side.jobs.treejob -text "Tree Job" \
	-command {demo::Do demo::treeJob}
    ttk::label .side.jobs.ledger -textvariable ::demo::ledgerText \
	-font DemoSmall
    pack .side.jobs.pl .side.jobs.points .side.jobs.spend .side.jobs.treejob \
	-in .side.jobs.bar -side left -padx 2
    Tree .side.jobs {job Job 54 state State 96 worker Worker 62
	reissues Re-issued 78 cost Cost 52} 7
    pack .side.jobs.ledger -side top -anchor w -before .side.jobs.box
    .side.jobs.tree tag configure running -foreground #1e7d43
    .side.jobs.tree tag configure dispatched -foreground #2b6cd4
    .side.jobs.tree tag configure re-issued -foreground #c25e00
    .side.jobs.tree tag configure failed -foreground #c0392b
    .side.jobs.tree tag configure done -foreground #555555
    .side.jobs.tree tag configure result -foreground #555555
    .side.jobs.tree tag configure queued -foreground #777777

    ttk::labelframe .side.balances -text "Points at the shown time" \
	-padding 4
    Tree .side.balances {node Node 70 role Role 70 price Price 44
	jobs "Jobs run" 72 points Points 56} 5

    pack .side.bids .side.jobs .side.balances -side top -fill both \
	-expand 1 -pady {0 4}

    ttk::frame .view
    ttk::label .view.info -textvariable ::demo::viewText -padding {8 2} \
	-background white
    pack .view.info -side top -fill x
    canvas .view.c -background white -highlightthickness 0 -width 600 \
	-height 400
    pack .view.c -fill both -expand 1

    pack .top -side top -fill x
    pack .status -side bottom -fill x
    pack .time -side bottom -fill x
    pack .side -side right -fill y
    pack .view -side left -fill both -expand 1

    set c .view.c
    bind $c <Motion> ::demo::Hover
    bind $c <Leave> ::demo::Unhover
    $c bind node <ButtonPress-1> {::demo::Press %x %y}
    bind $c <B1-Motion> {::demo::Motion %x %y}
    bind $c <ButtonRelease-1> ::demo::Release
    bind $c <Configure> {after idle ::demo::Redraw}
    bind . <Left> {demo::Step -1}
    bind . <Right> {demo::Step 1}
    Buttons
}

# demo::Tree --
#	A treeview with a scrollbar in frame w (w.tree).
proc ::demo::Tree {w columns height} {
    set cols {}
    foreach {col text width} $columns {
	lappend cols $col
    }
    ttk::frame $w.box
    ttk::treeview $w.tree -columns $cols -show headings -height $height \
	-selectmode none
    foreach {col text width} $columns {
	$w.tree heading $col -text $text -anchor w
	$w.tree column $col -width $width -minwidth 30 -anchor w -stretch 0
    }
    ttk::scrollbar $w.sb -command [list $w.tree yview]
    $w.tree configure -yscrollcommand [list $w.sb set]
    pack $w.tree -in $w.box -side left -fill both -expand 1
    pack $w.sb -in $w.box -side right -fill y
    if {[winfo exists $w.bar]} {
	pack $w.bar -side top -fill x -pady {0 4}
    }
    pack $w.box -side top -fill both -expand 1
}

# ----------------------------------------------------------------------
# Test interface: what tests/demo.test calls (through
# tests/helpers/demodriver.tcl). The buttons call the lower-case procs
# above: start, stop, getBids, spend.
# ----------------------------------------------------------------------

# demo::nodeCount, linkCount --
#	The nodes and the peer links drawn now.
proc ::demo::nodeCount {} {
    llength [.view.c find withtag shape]
}

proc ::demo::linkCount {} {
    llength [.view.c find withtag peerlink]
}

# demo::center, fill --
#	Where a node's shape is drawn (its centre, in canvas pixels), and
#	its colour.
proc ::demo::center {node} {
    set item [lindex [.view.c find withtag shape&&n[Id $node]] 0]
    lassign [.view.c coords $item] x0 y0 x1 y1
    list [expr {round(($x0 + $x1) / 2)}] [expr {round(($y0 + $y1) / 2)}]
}

proc ::demo::fill {node} {
    .view.c itemcget [lindex [.view.c find withtag shape&&n[Id $node]] 0] \
	-fill
}

# demo::highlighted, linksOf --
#	The link items drawn highlighted; those of a node.
proc ::demo::highlighted {} {
    variable colors
    lmap item [.view.c find withtag link] {
	expr {[.view.c itemcget $item -fill] eq [dict get $colors highlight]
	    ? $item : [continue]}
    }
}

proc ::demo::linksOf {node} {
    .view.c find withtag link&&e[Id $node]
}

# demo::address --
#	The address of a worker by its name (w1, w2, ...).
proc ::demo::address {name} {
    variable procs
    dict for {pid p} $procs {
	if {[dict get $p name] eq $name} {
	    return [dict get $p address]
	}
    }
    return ""
}

# demo::pids --
#	The processes started by the last Start (still running or not).
proc ::demo::pids {} {
    variable procs
    dict keys $procs
}

# demo::addresses --
#	The workers' addresses (as they printed them).
proc ::demo::addresses {} {
    variable procs
    set result {}
    dict for {pid p} $procs {
	if {[dict get $p role] eq "worker"} {
	    lappend result [dict get $p address]
	}
    }
    return $result
}

# demo::setTime, timeSpan, now --
#	The shown time (ms after the first event); leaves Live.
proc ::demo::setTime {ms} {
    variable live 0
    SetTime $ms
    return [expr {[Now] - $::demo::M(t0)}]
}

proc ::demo::timeSpan {} {
    variable M
    expr {$M(t1) - $M(t0)}
}

proc ::demo::now {} {
    variable M
    expr {[Now] - $M(t0)}
}

# demo::show --
#	Chooses the view (network or traffic), as the radio buttons do.
proc ::demo::show {name} {
    variable view $name
    Redraw
}

# demo::canvasState --
#	What the canvas shows: each item's type, coordinates, text or
#	colours, width and dashes, in drawing order (to compare two
#	moments).
proc ::demo::canvasState {} {
    set c .view.c
    lmap item [$c find all] {
	set e [list [$c type $item] [lmap v [$c coords $item] {
	    expr {round($v)}
	}]]
	switch -- [$c type $item] {
	    text {
		lappend e [$c itemcget $item -text]
	    }
	    line {
		lappend e [$c itemcget $item -fill] [$c itemcget $item -width] \
		    [$c itemcget $item -dash]
	    }
	    default {
		lappend e [$c itemcget $item -fill] \
		    [$c itemcget $item -outline]
	    }
	}
	set e
    }
}

# demo::labelOverlaps --
#	Pairs of node labels (and node shapes) whose boxes overlap on the
#	canvas, by their nodes' names.
proc ::demo::labelOverlaps {} {
    set c .view.c
    set boxes {}
    dict for {node id} [set ::demo::ids] {
	foreach item [$c find withtag n$id] {
	    set tags [$c gettags $item]
	    if {"label" in $tags || "shape" in $tags} {
		lappend boxes [list $node [$c bbox $item]]
	    }
	}
    }
    set overlaps {}
    set n [llength $boxes]
    for {set i 0} {$i < $n} {incr i} {
	lassign [lindex $boxes $i] a abox
	for {set j [expr {$i + 1}]} {$j < $n} {incr j} {
	    lassign [lindex $boxes $j] b bbox
	    if {$a eq $b} {
		continue
	    }
	    lassign $abox ax0 ay0 ax1 ay1
	    lassign $bbox bx0 by0 bx1 by1
	    if {min($ax1, $bx1) > max($ax0, $bx0)
		    && min($ay1, $by1) > max($ay0, $by0)} {
		lappend overlaps [list [Name $a] [Name $b]]
	    }
	}
    }
    lsort -unique $overlaps
}

# demo::results --
#	The results of the jobs Spend submitted: id -> result dict ({} while
#	it runs).
proc ::demo::results {} {
    variable jobs
    set r {}
    dict for {id j} $jobs {
	dict set r $id [dict get $j result]
    }
    return $r
}

# demo::jobRows --
#	The rows of the Jobs table.
proc ::demo::jobRows {} {
    lmap item [.side.jobs.tree children {}] {
	.side.jobs.tree item $item -values
    }
}

# demo::balance --
#	Points of an account (default: the foreman's) in the ledger.
proc ::demo::balance {{account ""}} {
    variable foreman
    Need
    Busy 1
    try {
	return [$foreman balance {*}$account]
    } finally {
	Busy 0
    }
}

# demo::accounts --
#	The workers' ledger accounts, as the authority says: address ->
#	account.
proc ::demo::accounts {} {
    variable foreman
    Need
    Busy 1
    try {
	set accounts {}
	dict for {addr info} [dict get [$foreman status] workers] {
	    if {[dict exists $info account]} {
		dict set accounts $addr [dict get $info account]
	    }
	}
	return $accounts
    } finally {
	Busy 0
    }
}

# demo::peakTime --
#	The moment (ms after the first event) with the most jobs running.
proc ::demo::peakTime {} {
    variable M
    set best 0
    set bestT [expr {$M(t1) - $M(t0)}]
    foreach t $M(netTimes) {
	set n 0
	foreach row [JobsAt $t] {
	    if {[lindex $row 1] eq "running"} {
		incr n
	    }
	}
	if {$n > $best} {
	    set best $n
	    set bestT [expr {$t - $M(t0)}]
	}
    }
    return $bestT
}

# demo::treeEdges, treeRoots --
#	The tree arrows drawn now, and the roots marked.
proc ::demo::treeEdges {} {
    .view.c find withtag treeedge
}

proc ::demo::treeRoots {} {
    .view.c find withtag treeroot
}

# demo::treeResults --
#	The tree jobs Tree Job submitted: id -> dict budget result local (result {} while it runs; local: the count made here).
proc ::demo::treeResults {} {
    variable trees
    return $trees
}

# demo::treeNodes --
#	The nodes of tree job id as the foreman says ($f tree).
proc ::demo::treeNodes {id} {
    variable foreman
    $foreman tree $id
}

# demo::treeTimes --
#	The first and last moments (ms after the first event) the logs
#	show a node of tree job id.
proc ::demo::treeTimes {id} {
    variable M
    list [expr {[lindex $M(tree,$id) 0 0] - $M(t0)}] \
	[expr {[lindex $M(tree,$id) end 0] - $M(t0)}]
}

# demo::treePeakTime --
#	The moment (ms after the first event) when the most tree nodes
#	are under way (not done), the latest of equals.
proc ::demo::treePeakTime {} {
    variable M
    set best -1
    set bestT [expr {$M(t1) - $M(t0)}]
    foreach t $M(netTimes) {
	set n 0
	foreach tree [TreesAt $t] {
	    dict for {path info} [lindex $tree 1] {
		if {[dict get $info state] ne "done"} {
		    incr n
		}
	    }
	}
	if {$n > 0 && $n >= $best} {
	    set best $n
	    set bestT [expr {$t - $M(t0)}]
	}
    }
    return $bestT
}

# demo::maxRunning --
#	The most jobs the Jobs table ever shows running on one worker at
#	one moment.
proc ::demo::maxRunning {} {
    variable M
    set most 0
    foreach t $M(netTimes) {
	set count {}
	foreach row [JobsAt $t] {
	    lassign $row id state worker
	    if {$state eq "running"} {
		dict incr count $worker
	    }
	}
	foreach n [dict values $count] {
	    set most [expr {max($most, $n)}]
	}
    }
    return $most
}

# demo::firstTime --
#	The moment (ms after the first event) of the first system event of
#	a kind (dispatched, peers, ...), or "".
proc ::demo::firstTime {kind} {
    variable cache
    variable M
    set first ""
    foreach path [array names cache] {
	foreach e [lindex $cache($path) 1] {
	    if {[lindex $e 2] eq "system" && [lindex $e 3] eq $kind} {
		set ms [lindex $e 0]
		if {$first eq "" || $ms < $first} {
		    set first $ms
		}
		break
	    }
	}
    }
    expr {$first eq "" ? "" : $first - $M(t0)}
}

# ----------------------------------------------------------------------

namespace eval ::demo {
    EmptyModel
    set i [lsearch -exact $::argv -workers]
    if {$i >= 0} {
	set nWorkers [lindex $::argv $i+1]
    }
    unset i
    Window
}
