# farm.tcl --
#
#	p2p::farming: the foreman's job farm (DESIGN 3), a class mixed into
#	p2p::foreman.
#
#	    set id [$f submit -job $spec ?-command cmd? ?-redundancy k?
#	            ?-retries n? ?-timeout ms?]
#	    $f wait $id ?-timeout ms?	-> the result dict
#	    $f status ?$id?		-> state of one job, or counts
#	    $f cancel $id
#
#	Submitted jobs wait in a queue. Jobs of one class (kind and price)
#	share the bids of one solicitation (it carries the number of jobs
#	queued, `count`: one solicitation prices a batch); the bids are
#	used, best first, for offer_ttl ms, then asked for again. Each
#	bidder gets at most its free slots plus its queue room at bid time
#	of this foreman's jobs at once. A job whose worker refuses it,
#	drops, or does not answer within -timeout ms is re-issued to the
#	next bidder (never the same worker again for that job), until
#	-retries re-issues; then it fails, with every attempt listed. A job
#	whose script or program fails is not re-issued: its result says so
#	(status error, limit or timeout, with the worker's error text).
#
#	With -redundancy k, the job runs on k distinct workers at once;
#	once the k results are in, the one a majority (more than half of k)
#	agrees on (same status, result, stdout and outputs) is accepted and
#	the workers whose results differ are reported in `disagreed`.
#	Without a majority the job fails.
#
#	To a worker that speaks p2p:worker<-foreman/2, the jobs dispatched
#	in one pass over the queues go in one `runs` message, and its
#	results come back in batches (`results`).
#
#	The foreman provides Config, Seq, Rounds, ConnVer, ConnOf, Conns,
#	ConnUp, SendWorker, SolicitStart and Rank; paying.tcl Escrows, Hold, Pay
#	and Refund. (Per job, a method call costs about as much as
#	a dozen dict operations: the paths run for every job read those
#	variables rather than call a method that would.)

namespace eval ::p2p {}

oo::class create ::p2p::farming {
    # (The variables read for every job first, those that
    # generic/p2pFarm.c reads first of all: at every call of a method,
    # and every read of a variable from C, a variable is found by a
    # search of this list.)
    variable Jobs Runs Inflight Batch Queue Head PumpId Pumping LogOpen \
	Offers Config ConnVer Seq ConnUp Conns ConnOf Escrows Settled Waits \
	JobSeq Soliciting SweepId

    method FarmInit {} {
	# (The variables the farm's methods in C, generic/p2pFarmMethods.c,
	# read at every job they reach through handles to their Var
	# structs, generic/p2pVarHandle.c, not by name.)
	set Jobs {}
	set Queue {}
	set Head {}
	set Offers {}
	set Inflight {}
	set Soliciting {}
	set PumpId ""
	set JobSeq 0
	set Runs {}
	set Pumping 0
	set Batch {}
	# LogOpen: ::p2p::log::Open, linked (read by the per-job paths: a
	# qualified name is looked up at each read, a variable of the
	# object is a compiled local).
	namespace eval [namespace current] {
	    upvar #0 ::p2p::log::Open LogOpen
	}
	# Settled: the ids of the jobs settled last, set whenever jobs are
	# settled (what `wait` waits for); Waits(timeout-$id): a wait's
	# timeout is past. (A vwait on an array would be woken, and its
	# trace looked up again, by every element set.)
	set Settled {}
	array set Waits {}
	# (What the C method wait looks at instead of a trace of its own:
	# generic/p2pFarmMethods.c.)
	::p2p::Internal::farmWatch [namespace current]
	set SweepId [after 1000 [list [namespace which my] Sweep]]
    }

    method FarmDestroy {} {
	catch {after cancel $PumpId}
	catch {after cancel $SweepId}
	# The retries of a pass after no bids (`after 500 ... Pump`, one
	# per failure, not kept) would find no object.
	set pump [list [namespace which my] Pump]
	foreach id [after info] {
	    if {![catch {after info $id} i] && [lindex $i 0] eq $pump} {
		after cancel $id
	    }
	}
    }

    # Sweep --
    #	Once a second: the runs past their job's -timeout are re-issued.
    #	(One timer for all runs: an `after` per run costs more than the
    #	job.)
    method Sweep {} {
	set now [clock milliseconds]
	dict for {rid run} $Runs {
	    lassign $run id addr deadline
	    if {$now >= $deadline} {
		my TimedOut $id $addr $rid
	    }
	}
	set SweepId [after 1000 [list [namespace which my] Sweep]]
    }

    # USAGE: $f submit -job dict ?-command cmd? ?-redundancy k?
    #	?-retries n? ?-timeout ms?	-> job id
    #	or $f submit -tree script -input data ?-maxdepth n? ?-fanout n?
    #	?-budget points? ?-price n? ...	(a tree job: library/tree.tcl)
    #	(A method in C, generic/p2pFarmMethods.c, made below.) The
    #	options of every job are checked, and the job queued, by
    #	::p2p::Internal::farmSubmit (generic/p2pFarm.c) under the id
    #	job[expr {$JobSeq + 1}]; a tree job, or a bad option, goes by
    #	SubmitOther. A job gets only the keys every job needs (spec state
    #	command k retries timeout active); reissues (0), attempts,
    #	excluded, results, rids, progress (empty) and starved come when
    #	needed: read them with a default. (A job refused takes no id.)
    #	Then, unless a pump is under way ($Pumping), it dispatches now
    #	(PumpNow, after `after cancel $PumpId`: one job at a time then
    #	costs no trip through the event loop), or soon (Pump) behind
    #	other jobs of its class (a batch being submitted: one pass soon
    #	serves them all).

    # SubmitOther --
    #	submit with options farmSubmit leaves to the farm: a tree job
    #	(library/tree.tcl) or a bad option. Returns what farmSubmit does.
    method SubmitOther {options} {
	if {[llength $options] % 2} {
	    ::p2p::net::parseOptions {} $options \
		"[self] submit -job dict ?-option value ...?"
	}
	set o [::p2p::net::parseOptions [dict create -job {} -command {} \
	    -redundancy 1 -retries 3 -timeout 600000 -tree {} -input {} \
	    -maxdepth 3 -fanout 4 -budget {} -price {}] $options ""]
	if {[dict get $o -tree] ne ""} {
	    dict set o -job [my TreeSpec $o]
	}
	set r [::p2p::Internal::farmSubmit [namespace current] \
	    job[expr {$JobSeq + 1}] \
	    [dict filter $o key -job -command -redundancy -retries -timeout]]
	incr JobSeq
	return $r
    }

    # USAGE: $f wait id ?-timeout ms?	-> the job's result dict
    #	(A method in C, generic/p2pFarmMethods.c, made below: it waits
    #	for a job as `::p2p::vwait [namespace current]::Settled` until
    #	the job is settled or Waits(timeout-$id) exists, then as
    #	WaitExpired; with options, or for an unknown job, it is
    #	WaitFor.)

    # WaitFor --
    #	wait with options.
    method WaitFor {id args} {
	if {![dict exists $Jobs $id]} {
	    my Known $id
	}
	set timeout ""
	foreach {opt value} $args {
	    if {$opt ne "-timeout"} {
		return -code error -errorcode [list P2P USAGE OPTION $opt] \
		    "bad option \"$opt\": must be -timeout"
	    }
	    set timeout $value
	}
	if {[dict get $Jobs $id state] in {done failed cancelled}} {
	    return [dict get $Jobs $id result]
	}
	# (Variables of this namespace: no `my varname`.)
	set ns [namespace current]
	set tid ""
	if {$timeout ne ""} {
	    set tid [after $timeout "[list set ${ns}::Waits(timeout-$id) 1];\
		[list set ${ns}::Settled {}]"]
	}
	while {[dict get $Jobs $id state] ni {done failed cancelled}
		&& ![info exists Waits(timeout-$id)]} {
	    ::p2p::vwait ${ns}::Settled
	}
	if {$tid ne ""} {
	    after cancel $tid
	}
	if {[info exists Waits(timeout-$id)]} {
	    my WaitExpired $id $timeout
	}
	dict get $Jobs $id result
    }

    # WaitExpired --
    #	The error of a wait for job id whose -timeout (timeout ms) is
    #	past.
    method WaitExpired {id timeout} {
	unset Waits(timeout-$id)
	return -code error -errorcode [list P2P TIMEOUT $id] \
	    "job $id not finished within $timeout ms (state\
	    [dict get $Jobs $id state])"
    }

    # USAGE: $f status ?id|-jobs?	-> dict of one job (state, attempts,
    #				   workers, reissues, progress); with -jobs
    #				   the counts of all jobs by state; alone
    #				   the authority's status
    method status {args} {
	if {[llength $args] == 0} {
	    # The authority's status (the foreman's own method).
	    return [next]
	}
	set id [lindex $args 0]
	if {$id eq "-jobs"} {
	    set counts [dict create queued 0 running 0 done 0 failed 0 \
		cancelled 0]
	    dict for {jid job} $Jobs {
		dict incr counts [dict get $job state]
	    }
	    return $counts
	}
	my Known $id
	set job [dict merge {reissues 0 attempts {} progress {}} \
	    [dict get $Jobs $id]]
	dict create state [dict get $job state] \
	    workers [dict keys [dict get $job active]] \
	    attempts [dict get $job attempts] \
	    reissues [dict get $job reissues] \
	    progress [dict get $job progress]
    }

    # USAGE: $f jobs		-> the ids of all jobs submitted
    method jobs {} {
	dict keys $Jobs
    }

    # USAGE: $f forget id	-> forgets a finished job
    #	(A method in C, generic/p2pFarmMethods.c, made below: `dict unset
    #	Jobs $id` if the job is done, failed or cancelled; the error of
    #	Known if there is no such job.)

    # USAGE: $f cancel id
    method cancel {id} {
	my Known $id
	if {[dict get $Jobs $id state] in {done failed cancelled}} {
	    return
	}
	dict for {addr run} [dict get $Jobs $id active] {
	    catch {my SendWorker $addr [list cancel [dict get $run rid]]}
	    my Refund [dict get $run rid]
	}
	my Release $id
	my Settle $id cancelled [dict create status cancelled \
	    error "cancelled by the foreman"]
	return
    }

    method Known {id} {
	if {![dict exists $Jobs $id]} {
	    return -level 2 -code error -errorcode [list P2P JOB UNKNOWN $id] \
		"unknown job \"$id\""
	}
    }

    # ------------------------------------------------------------------
    # Dispatch
    # ------------------------------------------------------------------

    # Pump --
    #	Dispatches queued jobs (soon: once for a burst of events).
    method Pump {} {
	if {$PumpId eq ""} {
	    set PumpId [after 0 [list [namespace which my] PumpNow]]
	}
    }

    # PumpNow --
    #	Each class's queue is a list with a head index (taking from the
    #	front is then cheap); entries of jobs no longer queued are
    #	skipped when met. A job that no bidder can take now stops the
    #	scan of its class, unless the job excludes some workers (it
    #	failed on them), in which case up to 64 such jobs are stepped
    #	over. Then the runs the pass gathered for workers of
    #	p2p:worker<-foreman/2 are sent: one message per worker (unless
    #	send is 0, as bench/jobsprof.tcl measures the pass alone).
    method PumpNow {{send 1}} {
	set PumpId ""
	set Pumping 1
	try {
	    # (The pass over the queues, here rather than in a method of
	    # its own: a method call per pass. Few variables: each costs
	    # at every call, see PumpClass.)
	    set now [clock milliseconds]
	    # (Asked once per pass, not per job: see the dispatch below.)
	    set paying [my Paying]
	    foreach class [dict keys $Queue] {
		set q [dict get $Queue $class]
		set h [dict get $Head $class]
		set i $h
		# The jobs that need no policy (see generic/p2pFarm.c) are
		# dispatched in C, to the class's fresh bids, up to the first
		# that does: from that one on, PumpClass.
		if {!$paying && !$LogOpen} {
		    lassign [::p2p::Internal::farmDispatch \
			[namespace current] $q $i $h $now $Offers $class \
			[dict get $Config -offerttl] $ConnVer $Seq] i h Seq
		}
		if {$i < [llength $q]} {
		    my PumpClass $class $q $i $h $now $paying
		} else {
		    # (All dispatched: the head is at the end.)
		    dict unset Queue $class
		    dict unset Head $class
		}
	    }
	} finally {
	    set Pumping 0
	    # (What was SendBatches, inlined: a method call per pass.)
	    # (The locals of the pass serve again here: q is the batch,
	    # class a worker's address, h its message. Each local a method
	    # names costs about 0.9k instructions at every call, see
	    # PumpClass.)
	    if {$send && [dict size $Batch]} {
		set q $Batch
		# (A value of its own, not the literal {}, which is shared:
		# farmDispatch, which changes Batch in place, would copy it
		# and set the variable again, at every pass.)
		set Batch [lrepeat 0 {}]
		dict for {class h} $q {
		    if {[llength $h] == 3} {
			set h [list run {*}$h]
		    } else {
			set h [list runs $h]
		    }
		    # (SendWorker inlined for a worker already connected, and
		    # p2p::net::tell too while there is no log to write.)
		    if {[dict exists $ConnUp $class]
			    && [dict get $ConnUp $class]} {
			if {$LogOpen} {
			    ::p2p::net::tell "" [dict get $Conns $class] $h
			} else {
			    [dict get $Conns $class] send $h
			}
		    } else {
			my SendWorker $class $h
		    }
		}
	    }
	}
    }

    # PumpClass --
    #	The pass over the queue q of class (head h), from its job i on,
    #	that farmDispatch did not dispatch (or from the head, when every
    #	job is the farm's: a ledger or a log file), to the end of the
    #	class's pass: its queue and head kept, and bids asked for if
    #	jobs wait. (A method of its own: in TclOO each variable of a
    #	method, its own or not, costs a search of the class's variables
    #	at every call, some 600 instructions; PumpNow, run for every
    #	job one at a time, is kept to few.)
    method PumpClass {class q i h now paying} {
	# The class's fresh bids, if any.
	set bids {}
	set token ""
	if {[dict exists $Offers $class]} {
	    set offer [dict get $Offers $class]
	    if {$now - [dict get $offer time]
		    <= [dict get $Config -offerttl]} {
		set bids [dict get $offer bids]
		set token [dict get $offer token]
	    }
	}
	set n [llength $q]
	set skipped 0
	set waiting 0
	set stuck 0
	set fast [expr {!$paying && !$LogOpen}]
	# (Job i is the farm's if fast: farmDispatch stopped there.)
	set resume 0
	for {} {$i < $n} {incr i} {
	    if {$fast && $resume} {
		lassign [::p2p::Internal::farmDispatch [namespace current] \
		    $q $i $h $now $Offers $class \
		    [dict get $Config -offerttl] $ConnVer $Seq] i h Seq
		if {$i >= $n} {
		    break
		}
	    }
	    set resume 1
	    set id [lindex $q $i]
	    if {![dict exists $Jobs $id]
		    || [dict get $Jobs $id state] ne "queued"} {
		if {$i == $h} {
		    incr h
		}
		continue
	    }
	    set need [expr {[dict get $Jobs $id k]
		- [dict size [dict get $Jobs $id active]]
		- ([dict exists $Jobs $id results]
		    ? [dict size [dict get $Jobs $id results]] : 0)}]
	    set excluded [expr {[dict exists $Jobs $id excluded]
		? [dict get $Jobs $id excluded] : {}}]
	    while {$need > 0} {
		# The bid to take: the free slots of the bidders, best
		# bid first; once all are taken, their queues, least
		# loaded first (best bid on a tie).
		set pick ""
		set bestLoad ""
		foreach bid $bids {
		    set addr [dict get $bid address]
		    if {$addr in $excluded
			    || [dict exists $Jobs $id active $addr]
			    || [dict exists $Jobs $id results $addr]} {
			continue
		    }
		    set slots [expr {max(1, [dict get $bid free])}]
		    set busy [expr {[dict exists $Inflight $addr]
			? [dict get $Inflight $addr] : 0}]
		    if {$busy < $slots} {
			set pick $bid
			break
		    }
		    set queue [expr {[dict exists $bid queue]
			? [dict get $bid queue] : 0}]
		    if {$busy < $slots + $queue} {
			set load [expr {double($busy) / $slots}]
			if {$pick eq "" || $load < $bestLoad} {
			    set pick $bid
			    set bestLoad $load
			}
		    }
		}
		if {$pick eq ""} {
		    break
		}
		# Dispatch: job id goes to the worker of the bid.
		set addr [dict get $pick address]
		set rid $id.[incr Seq]
		dict set Jobs $id state running
		dict set Jobs $id active $addr \
		    [dict create rid $rid sent $now]
		dict set Jobs $id dispatched $now
		dict set Runs $rid [list $id $addr \
		    [expr {$now + [dict get $Jobs $id timeout]}]]
		dict incr Inflight $addr
		incr need -1
		if {$LogOpen} {
		    ::p2p::log event system dispatched $addr \
			"job $id as $rid"
		}
		# With a ledger the run waits for its escrow
		# (paying.tcl). (Through Hold, and Paying, which a tree
		# foreman redefines: asked once per pass.)
		if {$paying && [my Hold $id $rid $addr \
			[dict get $pick price] $token]} {
		    continue
		}
		if {[dict exists $ConnVer $addr]
			&& [dict get $ConnVer $addr] >= 2} {
		    # Sent with the others of this pass (PumpNow).
		    dict lappend Batch $addr $rid $token \
			[dict get $Jobs $id spec]
		} else {
		    my SendWorker $addr [list run $rid $token \
			[dict get $Jobs $id spec]]
		}
	    }
	    set idle [expr {[dict size [dict get $Jobs $id active]] == 0}]
	    if {$need > 0 && $idle && [my Exhausted $class $id]} {
		my Shortfall $id
		set need 0
	    }
	    if {$need > 0} {
		incr waiting
		# The workers this job cannot go to again: those it failed
		# on, and with -redundancy those running or done with a
		# copy of it.
		set used $excluded
		if {[dict get $Jobs $id k] > 1} {
		    lappend used {*}[dict keys [dict get $Jobs $id active]]
		    if {[dict exists $Jobs $id results]} {
			lappend used {*}[dict keys [dict get $Jobs $id results]]
		    }
		    # Copies are out, more wanted: it stays queued.
		    dict set Jobs $id state queued
		}
		if {[llength $used] == 0} {
		    break
		}
		# Every bidder used: new bids, once no copy of it runs (a
		# result then pumps again).
		if {!$stuck && $idle && [my Excludes $class $used]} {
		    set stuck 1
		}
		if {[incr skipped] > 64} {
		    break
		}
		continue
	    }
	    if {$i == $h} {
		incr h
	    }
	}
	if {$h >= $n} {
	    dict unset Queue $class
	    dict unset Head $class
	    return
	}
	if {$h > 1024 && 2 * $h > $n} {
	    dict set Queue $class [lrange $q $h end]
	    set h 0
	}
	dict set Head $class $h
	if {$waiting} {
	    my NeedBids $class [expr {$n - $h}] $stuck
	}
    }

    # Excludes --
    #	True when the list excluded holds every bidder of class (or
    #	there are no bids).
    method Excludes {class excluded} {
	if {![dict exists $Offers $class]} {
	    return 1
	}
	foreach bid [dict get $Offers $class bids] {
	    if {[dict get $bid address] ni $excluded} {
		return 0
	    }
	}
	return 1
    }

    # Enqueue --
    #	Puts job id at the end of its class's queue; returns the class.
    method Enqueue {id} {
	set class [my Class [dict get $Jobs $id spec]]
	dict lappend Queue $class $id
	if {![dict exists $Head $class]} {
	    dict set Head $class 0
	}
	return $class
    }

    # Queued --
    #	The ids in the queue of class (some may no longer be queued).
    method Queued {class} {
	if {![dict exists $Queue $class]} {
	    return {}
	}
	lrange [dict get $Queue $class] [dict get $Head $class] end
    }

    # Class --
    #	Jobs of one class share bids: kind and price.
    method Class {spec} {
	list [dict get $spec kind] \
	    [expr {[dict exists $spec price] ? [dict get $spec price] : ""}]
    }

    # Exhausted --
    #	True when fresh bids of class exist and every bidder already
    #	failed job id, or (-redundancy) gave a result for it: no one is
    #	left to try. For a redundant job only bids asked for after its
    #	last copy went out count (a bid may have come too late for the
    #	round its first copies were dispatched from).
    method Exhausted {class id} {
	if {![dict exists $Offers $class]} {
	    return 0
	}
	set offer [dict get $Offers $class]
	if {[clock milliseconds] - [dict get $offer time] > 2000} {
	    return 0
	}
	set used [expr {[dict exists $Jobs $id excluded]
	    ? [dict get $Jobs $id excluded] : {}}]
	if {[dict exists $Jobs $id results]
		&& [dict size [dict get $Jobs $id results]]} {
	    if {[dict get $offer time] <= [dict get $Jobs $id dispatched]} {
		return 0
	    }
	    lappend used {*}[dict keys [dict get $Jobs $id results]]
	}
	if {[llength $used] == 0} {
	    return 0
	}
	foreach bid [dict get $offer bids] {
	    if {[dict get $bid address] ni $used} {
		return 0
	    }
	}
	return 1
    }

    # Shortfall --
    #	Job id cannot get a worker: every bidder failed it, or it wants
    #	more distinct workers (-redundancy) than there are bidders. It
    #	fails; the escrows of its results are refunded.
    method Shortfall {id} {
	set tried [lmap a [expr {[dict exists $Jobs $id attempts]
	    ? [dict get $Jobs $id attempts] : {}}] {join $a {: }}]
	if {![dict exists $Jobs $id results]
		|| [dict size [dict get $Jobs $id results]] == 0} {
	    my Settle $id failed [dict create status failed \
		error "job $id failed on every worker that bid:\
		[join $tried {; }]"]
	    return
	}
	set done [dict keys [dict get $Jobs $id results]]
	dict for {a rid} [dict get $Jobs $id rids] {
	    my Refund $rid
	}
	my Settle $id failed [dict create status failed \
	    error "job $id needs [dict get $Jobs $id k] distinct workers:\
	    [llength $done] gave results ([join $done {, }]) and no other\
	    bid[expr {[llength $tried] ? " (failed: [join $tried {; }])" : ""}]"]
    }

    # NeedBids --
    #	Asks for bids for a class, unless a round is under way. stuck
    #	says that a waiting job has failed on every current bidder.
    method NeedBids {class count stuck} {
	if {[dict exists $Soliciting $class]} {
	    return
	}
	# Fresh bids that are all busy: wait for a job to finish.
	if {[dict exists $Offers $class] && [clock milliseconds]
		- [dict get $Offers $class time] <= [dict get $Config -offerttl]
		&& !$stuck} {
	    return
	}
	lassign $class kind price
	set job [dict create kind $kind count $count]
	if {$price ne ""} {
	    dict set job price $price
	}
	dict set Soliciting $class 1
	if {[catch {
	    my SolicitStart $job [dict get $Config -ttl] \
		[dict get $Config -hop] [dict get $Config -entries] \
		[expr {[dict get $Config -ttl] * [dict get $Config -hop] + 1000}] \
		[list [namespace which my] GotBids $class]
	} msg]} {
	    dict unset Soliciting $class
	    # No workers (or no authority): try again later.
	    ::p2p::log event error bids "" $msg
	    my FailStarved $class $msg
	    after 500 [list [namespace which my] Pump]
	}
    }

    method GotBids {class round} {
	dict unset Soliciting $class
	set bids [my Rank [dict get $round bids]]
	dict set Offers $class [dict create token [dict get $round token] \
	    bids $bids time [clock milliseconds] \
	    declines [dict get $round declines]]
	if {[llength $bids] == 0} {
	    set why [lmap d [dict get $round declines] {
		string cat [dict get $d address] ": " [dict get $d reason]
	    }]
	    my FailStarved $class "no bids[expr {[llength $why]
		? " (declined: [join $why {; }])" : ""}]"
	    after 500 [list [namespace which my] Pump]
	    return
	}
	my Pump
    }

    # FailStarved --
    #	Counts a failed attempt to find workers for the queued jobs of
    #	class; a job fails once that happened more than its retries.
    method FailStarved {class why} {
	foreach id [my Queued $class] {
	    if {![dict exists $Jobs $id]
		    || [dict get $Jobs $id state] ne "queued"} {
		continue
	    }
	    dict update Jobs $id job {
		dict incr job starved
	    }
	    if {[dict get $Jobs $id starved] > [dict get $Jobs $id retries]} {
		my Settle $id failed [dict create status failed \
		    error "no worker for the job: $why"]
	    }
	}
    }

    # Attempt --
    #	One run of job id on addr ended without a result: re-issue it.
    method Attempt {id addr rid outcome} {
	if {![dict exists $Jobs $id]
		|| ![dict exists $Jobs $id active $addr]
		|| [dict get $Jobs $id active $addr rid] ne $rid} {
	    return
	}
	my EndRun $id $addr
	my Refund $rid
	dict update Jobs $id job {
	    dict lappend job attempts [list $addr $outcome]
	    dict lappend job excluded $addr
	    dict incr job reissues
	}
	::p2p::log event system reissue $addr "job $id: $outcome"
	if {[dict get $Jobs $id reissues] > [dict get $Jobs $id retries]} {
	    my Release $id
	    my Settle $id failed [dict create status failed \
		error "job $id failed [dict get $Jobs $id reissues] times:\
		[join [lmap a [dict get $Jobs $id attempts] {join $a {: }}] {; }]"]
	    return
	}
	if {[dict get $Jobs $id state] eq "running"} {
	    dict set Jobs $id state queued
	    my Enqueue $id
	}
	my Pump
    }

    # EndRun --
    #	Forgets the run of job id on addr.
    method EndRun {id addr} {
	if {[dict exists $Jobs $id active $addr]} {
	    dict unset Runs [dict get $Jobs $id active $addr rid]
	    dict unset Jobs $id active $addr
	}
	if {[dict exists $Inflight $addr]} {
	    dict incr Inflight $addr -1
	    if {[dict get $Inflight $addr] <= 0} {
		dict unset Inflight $addr
	    }
	}
    }

    # Release --
    #	Ends every run of job id (after cancel, or once it is settled).
    method Release {id} {
	foreach addr [dict keys [dict get $Jobs $id active]] {
	    my EndRun $id $addr
	}
    }

    method TimedOut {id addr rid} {
	catch {my SendWorker $addr [list cancel $rid]}
	my Attempt $id $addr $rid "no result within\
	    [dict get $Jobs $id timeout] ms"
    }

    # JobsLost --
    #	A worker's connection dropped: its jobs are re-issued.
    method JobsLost {addr reason} {
	dict for {id job} $Jobs {
	    if {[dict exists $job active $addr]} {
		my Attempt $id $addr [dict get $job active $addr rid] \
		    "worker lost: $reason"
	    }
	}
	dict unset Inflight $addr
    }

    # Settle --
    #	The job's final state and result; calls its -command.
    method Settle {id state result} {
	if {[dict get $Jobs $id state] in {done failed cancelled}} {
	    return
	}
	# Every result has these keys (a worker's result has them all: no
	# merge for it).
	if {![dict exists $result worker] || ![dict exists $result outputs]
		|| ![dict exists $result signal] || ![dict exists $result exit]
		|| ![dict exists $result stderr] || ![dict exists $result stdout]
		|| ![dict exists $result error] || ![dict exists $result result]} {
	    set result [dict merge {result {} error {} stdout {} stderr {}
		exit {} signal {} outputs {} worker {}} $result]
	}
	dict set result id $id
	dict set result reissues [expr {[dict exists $Jobs $id reissues]
	    ? [dict get $Jobs $id reissues] : 0}]
	dict set result attempts [expr {[dict exists $Jobs $id attempts]
	    ? [dict get $Jobs $id attempts] : {}}]
	dict set Jobs $id state $state
	dict set Jobs $id result $result
	set Settled [list $id]
	if {$LogOpen} {
	    ::p2p::log event system $state "" \
		"job $id: [dict get $result status]"
	}
	set cmd [dict get $Jobs $id command]
	if {[llength $cmd]} {
	    after 0 [list {*}$cmd $id $result]
	}
	# A slot is free: dispatch what waits (nothing waits: no pass, and
	# no event for it, one job at a time). (Pump inlined.)
	if {[dict size $Queue] && $PumpId eq ""} {
	    set PumpId [after 0 [list [namespace which my] PumpNow]]
	}
    }

    # ------------------------------------------------------------------
    # Protocol p2p:foreman<-worker/1: accepted, refused, progress, result;
    # /2: refused, progress, results
    # ------------------------------------------------------------------

    # RunOf --
    #	{id addr} of a run id sent to the worker on handler h, or "".
    method RunOf {h rid} {
	set id [lindex [split $rid .] 0]
	# (ConnAddr)
	set addr [expr {[dict exists $ConnOf $h] ? [dict get $ConnOf $h] : ""}]
	if {![dict exists $Jobs $id] || ![dict exists $Jobs $id active $addr]
		|| [dict get $Jobs $id active $addr rid] ne $rid} {
	    return ""
	}
	list $id $addr
    }

    method OnAccepted {h cid rid} {
	return
    }

    method OnRefused {h cid rid reason} {
	set run [my RunOf $h $rid]
	if {[llength $run] == 0} {
	    return
	}
	lassign $run id addr
	if {[string match "no bid for token*" $reason]} {
	    # The worker forgot our bids: ask again.
	    dict unset Offers [my Class [dict get $Jobs $id spec]]
	}
	my Attempt $id $addr $rid "refused: $reason"
	return
    }

    method OnProgress {h cid rid message} {
	set run [my RunOf $h $rid]
	if {[llength $run] == 0} {
	    return
	}
	lassign $run id addr
	if {[lindex $message 0] eq "tree"} {
	    my TreeNode $id [lindex $message 1]
	    return
	}
	dict update Jobs $id job {
	    dict set job progress [lrange [linsert [expr {
		[dict exists $job progress] ? [dict get $job progress] : {}
	    }] end [list $addr $message]] end-9 end]
	}
	return
    }

    # p2p:foreman<-worker/2: results in batches.
    #	OnResults h cid results is a method in C (generic/p2pFarmMethods.c,
    #	made below): the results that need no policy (a worker's result
    #	of a job without -command, -redundancy, escrow or log file: most)
    #	are settled by ::p2p::Internal::farmResults (generic/p2pFarm.c,
    #	which also says when results is not a list of pairs), up to the
    #	first that does: from that one on, ResultsRest. Settled is then
    #	set to the ids settled, and a pass is due (Pump) if jobs wait.

    # ResultsRest --
    #	The rest of OnResults from the pair at index i of results, which
    #	farmResults left to the farm (done: the ids it settled before).
    #	Each such result goes to ResultIn, then farmResults goes on after
    #	it.
    method ResultsRest {h results i done} {
	set addr [expr {[dict exists $ConnOf $h] ? [dict get $ConnOf $h] : ""}]
	set n [llength $results]
	set settled 0
	while {1} {
	    if {[llength $done]} {
		set Settled $done
		set settled 1
	    }
	    if {$i >= $n} {
		break
	    }
	    if {[my ResultIn $addr [lindex $results $i] \
		    [lindex $results $i+1]]} {
		set settled 1
	    }
	    incr i 2
	    lassign [::p2p::Internal::farmResults [namespace current] $addr \
		$results $i $LogOpen $Escrows] i done
	}
	# (The end of Settle, once for the results settled inline.)
	if {$settled && [dict size $Queue] && $PumpId eq ""} {
	    set PumpId [after 0 [list [namespace which my] PumpNow]]
	}
	return
    }

    # ResultIn --
    #	A result of run rid from the worker at addr that farmResults
    #	left to the farm (OnResults). Returns 1 when it settled the job
    #	without Settle (which then leaves the pump to OnResults). (A
    #	method of its own: see PumpClass; OnResults is run for every
    #	message.)
    method ResultIn {addr rid result} {
	set dot [string first . $rid]
	set id [expr {$dot < 0 ? $rid : [string range $rid 0 $dot-1]}]
	if {![dict exists $Jobs $id active $addr]
		|| [dict get $Jobs $id active $addr rid] ne $rid
		|| [catch {dict get $result status} status]} {
	    return 0
	}
	if {$status eq "cancelled"
		&& [dict get $Jobs $id state] ni {done failed cancelled}} {
	    my Attempt $id $addr $rid "cancelled on the worker"
	    return 0
	}
	dict unset Runs $rid
	dict unset Jobs $id active $addr
	if {[dict exists $Inflight $addr]} {
	    if {[dict incr Inflight $addr -1] <= 0} {
		dict unset Inflight $addr
	    }
	}
	if {[dict get $Jobs $id state] in {done failed cancelled}} {
	    return 0
	}
	if {[dict get $Jobs $id k] == 1} {
	    # The worker ran it: it is paid, whatever the job's own
	    # outcome.
	    if {[dict exists $Escrows $rid]} {
		my Pay $rid
	    }
	    if {$LogOpen || ![dict exists $result worker]
		    || ![dict exists $result outputs]
		    || ![dict exists $result signal]
		    || ![dict exists $result exit]
		    || ![dict exists $result stderr]
		    || ![dict exists $result stdout]
		    || ![dict exists $result error]
		    || ![dict exists $result result]
		    || [llength [dict get $Jobs $id command]]} {
		my Settle $id done $result
		return 0
	    }
	    # Settle, inlined for a worker's result of a job without
	    # -command, with no log file.
	    dict set result id $id
	    dict set result reissues [expr {[dict exists $Jobs $id reissues]
		? [dict get $Jobs $id reissues] : 0}]
	    dict set result attempts [expr {[dict exists $Jobs $id attempts]
		? [dict get $Jobs $id attempts] : {}}]
	    dict set Jobs $id state done
	    dict set Jobs $id result $result
	    set Settled [list $id]
	    set settled 1
	    return 0
	}
	dict set Jobs $id rids $addr $rid
	my Vote $id $addr $result
	if {[dict get $Jobs $id state] eq "queued"} {
	    # It waits for more workers than it had: look again.
	    my Pump
	}
	return 0
    }

    method OnResult {h cid rid result} {
	my OnResults $h $cid [list $rid $result]
    }

    # Vote --
    #	Redundancy: a result from one of k workers. Once all k are in,
    #	the result a majority agrees on is accepted and the others are
    #	named; waiting for all k (rather than settling at the first
    #	majority) is what lets a dishonest worker be caught.
    method Vote {id addr result} {
	dict set Jobs $id results $addr $result
	set k [dict get $Jobs $id k]
	if {[dict size [dict get $Jobs $id results]] < $k
		|| [dict size [dict get $Jobs $id active]] > 0} {
	    return
	}
	set quorum [expr {$k / 2 + 1}]
	set groups {}
	dict for {a r} [dict get $Jobs $id results] {
	    dict lappend groups [my Fingerprint $r] $a
	}
	dict for {fp addrs} $groups {
	    if {[llength $addrs] >= $quorum} {
		set winner [dict get $Jobs $id results [lindex $addrs 0]]
		set others [lmap a [dict keys [dict get $Jobs $id results]] {
		    expr {$a in $addrs ? [continue] : $a}
		}]
		dict set winner agreed $addrs
		dict set winner disagreed $others
		dict for {a rid} [dict get $Jobs $id rids] {
		    if {$a in $addrs} {
			my Pay $rid
		    } else {
			my Refund $rid
		    }
		}
		if {[llength $others]} {
		    ::p2p::log event error disagree "" \
			"job $id: [join $others {, }] disagreed with the majority"
		}
		my Settle $id done $winner
		return
	    }
	}
	dict for {a rid} [dict get $Jobs $id rids] {
	    my Refund $rid
	}
	my Settle $id failed [dict create status failed \
	    error "no majority of $quorum among $k results:\
	    [dict size $groups] different answers" \
	    disagreed [dict keys [dict get $Jobs $id results]]]
    }

    # Fingerprint --
    #	What redundant results must agree on.
    method Fingerprint {r} {
	set fp {}
	foreach key {status result stdout outputs exit} {
	    lappend fp [expr {[dict exists $r $key] ? [dict get $r $key] : ""}]
	}
	return $fp
    }
}

# submit, wait, forget and OnResults, run for every job, are methods in C
# (one job at a time then costs no frame, variables or bytecode of a Tcl
# method for them, and the farm's variables they read from C are found
# without TclOO's resolver of a method's frame).
::p2p::Internal::farmMethods ::p2p::farming
