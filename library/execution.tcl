# execution.tcl --
#
#	p2p::execution: how a worker runs jobs (DESIGN 2.5 and 3), a class
#	mixed into p2p::worker. A foreman that received a worker's bid
#	sends, on its p2p:worker<-foreman connection,
#
#	    run JOBID TOKEN SPEC
#
#	The worker refuses (`refused JOBID REASON`) a job whose TOKEN is not
#	one it bid on, of a kind it does not accept, of an application it
#	does not allow, or when no slot is free; otherwise it answers
#	`accepted JOBID`, runs the job, may send `progress JOBID MESSAGE`,
#	and ends with `result JOBID RESULT`. `cancel JOBID` stops a job
#	(the result then says cancelled). A foreman whose connection drops
#	has its running exec jobs cancelled: it will re-issue them.
#
#	p2p:worker<-foreman/2 has no `accepted`, takes several jobs at once
#	(`runs {JOBID TOKEN SPEC ...}`) and sends results in batches
#	(`results {JOBID RESULT ...}`): those of the jobs that finished
#	while one message was handled go back together, as its reply.
#
#	SPEC is a dict. Kind script: script, vars (dict: the input, as
#	variables), limits (commands, time ms). Kind exec: app (a name on
#	the worker's -apps allow-list), args (list), stdin, files (dict of
#	relative name -> content, written to a fresh per-job directory),
#	outputs (relative names read back), limits (time ms, cpu s, as
#	bytes, files, procs).
#
#	RESULT is a dict: status (ok, error, limit, timeout, cancelled,
#	refused), result (a script's result), error (what went wrong, when
#	status is not ok), stdout, stderr, exit, signal, outputs (dict name
#	-> content), worker (address), ms (run time) and started, finished
#	(ms since the epoch).
#
#	The worker provides Address, Config, Opts, Server, Hellos, the
#	methods Log, SendKey and Admitted; bidding.tcl records the tokens
#	it bid on in Offered.

namespace eval ::p2p {}

oo::class create ::p2p::execution {
    variable Address Config Opts Server Hellos Offered Running Sandbox \
	JobSeq WorkDir RunQueue Done Waiting NextId Collect Collected \
	ExecProgress

    method ExecInit {} {
	set Offered {}
	set Running {}
	set RunQueue {}
	set NextId ""
	# While a message of p2p:worker<-foreman/2 is handled: its
	# connection {h cid}, and the results (id result ...) of its jobs
	# that finished meanwhile, sent back together as its reply.
	set Collect ""
	set Collected {}
	set Done 0
	set JobSeq 0
	# The progress prefix of jobs run straight away (RunsNow).
	set ExecProgress [list [namespace which my] ProgressNow]
	my TreeInit
	set Sandbox [p2p::sandbox new -size [dict get $Opts sandbox_pool]]
	# A worker running as root runs exec jobs as nobody.
	if {[dict get $Config -user] eq "" && [::p2p::net::isRoot]} {
	    dict set Config -user nobody
	}
	set WorkDir [dict get $Config -workdir]
	if {$WorkDir eq ""} {
	    set WorkDir [file join [my TempDir] \
		p2pjobs-[pid]-[string map {: -} $Address]]
	}
    }

    method ExecDestroy {} {
	catch {after cancel $NextId}
	if {[info exists Running]} {
	    dict for {key job} $Running {
		if {[dict exists $job exec]} {
		    catch {p2p::exec cancel [dict get $job exec]}
		}
		catch {file delete -force [dict get $job dir]}
	    }
	}
	set Running {}
	if {[info exists Sandbox]} {
	    catch {$Sandbox destroy}
	}
	if {[info exists WorkDir]} {
	    catch {file delete $WorkDir}
	}
    }

    method TempDir {} {
	foreach var {TMPDIR TMP TEMP} {
	    if {[info exists ::env($var)] && [file isdirectory $::env($var)]} {
		return $::env($var)
	    }
	}
	return /tmp
    }

    # USAGE: $w running		-> number of jobs running
    method running {} {
	dict size $Running
    }

    # USAGE: $w done		-> number of jobs this worker finished
    method done {} {
	expr {$Done + [my LoneDone]}
    }

    # FreeSlots --
    #	Slots not taken by a job (running or queued; a tree job waiting
    #	for its pieces takes none).
    method FreeSlots {} {
	expr {max(0, [dict get $Config -slots] - [dict size $Running] + $Waiting)}
    }

    # QueueRoom --
    #	Jobs this worker would still accept beyond its slots.
    method QueueRoom {} {
	expr {max(0, min([dict get $Opts max_queue],
	    [dict get $Config -slots] + [dict get $Opts max_queue]
	    - [dict size $Running]))}
    }

    # Offer --
    #	Called by OnSolicit when this worker bid under token.
    method Offer {token} {
	dict set Offered $token [clock milliseconds]
    }

    # ForgetOffers --
    #	Forgets the tokens bid on before old (ms since the epoch).
    method ForgetOffers {old} {
	dict for {token ms} $Offered {
	    if {$ms < $old} {
		dict unset Offered $token
	    }
	}
    }

    # ------------------------------------------------------------------
    # Protocol: run, cancel
    # ------------------------------------------------------------------

    method OnRun {h cid id token spec} {
	my Admitted $h $cid
	set reason [my Refusal $token $spec]
	if {$reason ne ""} {
	    my Log system refused [my LinkAddr $h $cid] "job $id: $reason"
	    return [list refused $id $reason]
	}
	set key [list $h $cid $id]
	if {[dict exists $Running $key]} {
	    return [list refused $id "job $id is already running here"]
	}
	dict set Running $key [dict create spec $spec token $token \
	    started [clock milliseconds] state queued]
	lappend RunQueue $key
	# Accepted goes out before the job starts (a script job runs to
	# its end in one go).
	::p2p::net::send $Address $h $cid [list accepted $id]
	my Next
	return
    }

    # p2p:worker<-foreman/2: run (one job) and runs (several), with no
    # `accepted`; results go back in batches.
    #	OnRun2 h cid id token spec (a method in C, generic/p2pLoneRun.c):
    #	the common case, as in OnRuns, for one job (no log file, nothing
    #	queued or waiting, a free slot, an admitted connection, a script
    #	job on a token bid on, an id not running here) runs it at once
    #	in the sandbox and returns the reply, as RunsNow would; anything
    #	else is `my OnRuns $h $cid [list $id $token $spec]`. The jobs it
    #	ran are counted by LoneDone, not in Done.

    method OnRuns {h cid jobs} {
	my Admitted $h $cid
	# (A plain string read in one pass: generic/p2pPlainList.c.)
	set jobs [::p2p::Internal::plainList $jobs]
	if {[catch {llength $jobs} n] || $n % 3} {
	    return -code error -errorcode {P2P JOB BADRUNS} \
		"bad jobs: must be a list of rid token spec ..."
	}
	if {!$::p2p::log::Open && ![llength $RunQueue] && !$Waiting
		&& [dict size $Running] < [dict get $Config -slots]
		&& [dict size $Running] + $n / 3
		    <= [dict get $Config -slots] + [dict get $Opts max_queue]
		&& "script" in [dict get $Config -kinds]} {
	    set results [my RunsNow $h $cid $jobs]
	    if {[llength $results] != 1} {
		return $results
	    }
	}
	# (Saved and put back: a job that enters the event loop, as a tree
	# job may, lets another message of this kind be handled meanwhile.)
	set outer [list $Collect $Collected]
	set Collect [list $h $cid]
	set Collected {}
	# What the common case (a script job on a token bid on, with room)
	# needs: checked here, without a call of Refusal per job.
	set room [expr {[dict get $Config -slots] == 0 ? 0
	    : [dict get $Config -slots] + [dict get $Opts max_queue]}]
	set script [expr {"script" in [dict get $Config -kinds]}]
	set code [catch {
	    foreach {id token spec} $jobs {
		if {$script && ![catch {dict get $spec kind} kind]
			&& $kind eq "script" && [dict exists $Offered $token]
			&& [dict size $Running] - $Waiting < $room} {
		    set reason ""
		} else {
		    set reason [my Refusal $token $spec]
		}
		set key [list $h $cid $id]
		if {$reason eq "" && [dict exists $Running $key]} {
		    set reason "job $id is already running here"
		}
		if {$reason ne ""} {
		    if {$::p2p::log::Open} {
			my Log system refused [my LinkAddr $h $cid] \
			    "job $id: $reason"
		    }
		    catch {::p2p::net::send $Address $h $cid \
			[list refused $id $reason]}
		    continue
		}
		dict set Running $key [dict create spec $spec token $token \
		    started [clock milliseconds] state queued v 2]
		lappend RunQueue $key
	    }
	    my Next
	} msg opts]
	set results $Collected
	lassign $outer Collect Collected
	if {$code} {
	    if {[llength $results]} {
		catch {::p2p::net::send $Address $h $cid [list results $results]}
	    }
	    return -options $opts $msg
	}
	if {[llength $results]} {
	    return [list results $results]
	}
	return
    }

    # RunsNow --
    #	The common case of a runs message, when no job is queued or
    #	waiting, a slot is free and there is room for all its jobs: if
    #	they are all script jobs of one token bid on, with new ids, they
    #	run at once in one call of the sandbox, as Next and Deliver would
    #	run them (they finish in that call: no other message is handled
    #	meanwhile, so they need no place in Running), and the reply with
    #	their results is returned. Otherwise "-", having done nothing.
    method RunsNow {h cid jobs} {
	lassign $jobs id token
	if {![dict exists $Offered $token]} {
	    return -
	}
	# (Checked in C: script jobs of token, no id twice.)
	set batch [::p2p::Internal::jobBatch $token $jobs]
	if {![llength $batch]} {
	    return -
	}
	lassign $batch ids specs
	if {[dict size $Running]} {
	    foreach id $ids {
		if {[dict exists $Running [list $h $cid $id]]} {
		    return -
		}
	    }
	}
	set results [$Sandbox runs [list $h $cid $token] $specs \
	    -worker $Address -time [dict get $Opts job_timeout] \
	    -progress [linsert $ExecProgress end $h $cid] -tags $ids]
	incr Done [llength $ids]
	# ({results {id result ...}}, its string made in C.)
	return [::p2p::Internal::jobReply $ids $results]
    }

    # ProgressNow --
    #	Progress of a job run by RunsNow (the job is not in Running).
    method ProgressNow {h cid id message} {
	catch {
	    ::p2p::net::send $Address $h $cid [list progress $id $message]
	    $h flush $cid
	}
	return
    }

    # Next --
    #	Starts queued jobs while slots are free.
    method Next {} {
	if {$NextId ne ""} {
	    after cancel $NextId
	    set NextId ""
	}
	while {[llength $RunQueue]} {
	    # Every job in Running is queued (and then in RunQueue) or
	    # running, unless tree jobs wait for their pieces: then count.
	    if {$Waiting} {
		set active 0
		dict for {key job} $Running {
		    incr active [expr {[dict get $job state] eq "running"}]
		}
	    } else {
		set active [expr {[dict size $Running] - [llength $RunQueue]}]
	    }
	    if {$active >= [dict get $Config -slots]} {
		return
	    }
	    set RunQueue [lassign $RunQueue key]
	    if {![dict exists $Running $key]} {
		continue
	    }
	    set job [dict get $Running $key]
	    if {[dict exists $job v] && [dict get $job spec kind] eq "script"
		    && !$::p2p::log::Open && ![dict exists $job cancelled]} {
		# Script jobs of p2p:worker<-foreman/2 run to their end in
		# one go: this one and those queued right behind it for
		# the same batch (connection and token) run together, in
		# one call of the sandbox, and their results go back
		# together (Deliver).
		set keys [list $key]
		set specs [list [dict get $job spec]]
		set batch [list {*}[lrange $key 0 1] [dict get $job token]]
		set n 0
		lassign $batch h cid token
		foreach next $RunQueue {
		    if {![dict exists $Running $next]} {
			break
		    }
		    set job [dict get $Running $next]
		    if {[lindex $next 0] ne $h || [lindex $next 1] ne $cid
			    || [dict get $job token] ne $token
			    || ![dict exists $job v] || [dict exists $job cancelled]
			    || [dict get $job spec kind] ne "script"} {
			break
		    }
		    lappend keys $next
		    lappend specs [dict get $job spec]
		    incr n
		}
		set RunQueue [lrange $RunQueue $n end]
		my Deliver $h $cid $keys [$Sandbox runs $batch $specs \
		    -worker $Address -time [dict get $Opts job_timeout] \
		    -progress [list [namespace which my] Progress] -tags $keys]
		continue
	    }
	    dict set Running $key state running
	    dict set Running $key started [clock milliseconds]
	    my RunJob $key
	}
    }

    # Deliver --
    #	The results of jobs keys of p2p:worker<-foreman/2 on connection
    #	{h cid}, finished together: their slots are freed and the results
    #	sent in one message (or collected as the reply of the message
    #	being handled).
    method Deliver {h cid keys results} {
	set out {}
	foreach key $keys result $results {
	    dict unset Running $key
	    lappend out [lindex $key 2] $result
	}
	incr Done [llength $keys]
	if {$Collect eq [list $h $cid]} {
	    lappend Collected {*}$out
	} else {
	    catch {::p2p::net::send $Address $h $cid [list results $out]}
	}
    }

    method OnCancel {h cid id} {
	my Admitted $h $cid
	set key [list $h $cid $id]
	if {![dict exists $Running $key]} {
	    return
	}
	dict set Running $key cancelled 1
	if {[dict exists $Running $key exec]} {
	    p2p::exec cancel [dict get $Running $key exec]
	} elseif {[my IsTree $key]} {
	    my TreeAbandon $key
	    my Finish $key [dict create status cancelled error "cancelled"]
	}
	return
    }

    # Refusal --
    #	Why this worker will not run spec under token, or "".
    method Refusal {token spec} {
	if {[catch {dict size $spec}] || ![dict exists $spec kind]} {
	    return "bad job: the spec must be a dict with a kind"
	}
	if {![dict exists $Offered $token]} {
	    return "no bid for token $token: ask for bids first"
	}
	set kind [dict get $spec kind]
	if {$kind ni [dict get $Config -kinds]} {
	    return "kind \"$kind\" not accepted: accepts\
		[join [dict get $Config -kinds] {, }]"
	}
	if {$kind ni {script exec tree}} {
	    return "kind \"$kind\" unknown: must be script, exec or tree"
	}
	set slots [dict get $Config -slots]
	if {$slots == 0 || [dict size $Running] - $Waiting
		>= $slots + [dict get $Opts max_queue]} {
	    return "no free slot: $slots of $slots busy, [dict get $Opts max_queue]\
		jobs queued"
	}
	if {$kind eq "exec"} {
	    set app [expr {[dict exists $spec app] ? [dict get $spec app] : ""}]
	    set apps [dict get $Config -apps]
	    if {![dict exists $apps $app]} {
		return "application \"$app\" not allowed here: allowed\
		    [expr {[dict size $apps] ? [join [lsort [dict keys $apps]] {, }] : "none"}]"
	    }
	    foreach section {files outputs} {
		if {![dict exists $spec $section]} {
		    continue
		}
		set names [dict get $spec $section]
		if {$section eq "files"} {
		    if {[catch {dict keys $names} names]} {
			return "bad job: files must be a dict name -> content"
		    }
		}
		foreach name $names {
		    set bad [my BadName $name]
		    if {$bad ne ""} {
			return $bad
		    }
		}
	    }
	}
	return ""
    }

    # BadName --
    #	Why a file name of a job is not allowed, or "": names are
    #	relative, without "..", inside the job's directory.
    method BadName {name} {
	if {$name eq "" || [file pathtype $name] ne "relative"
		|| [string match ~* $name]
		|| ".." in [file split $name]} {
	    return "bad file name \"$name\": must be relative, inside the\
		job's directory, without \"..\""
	}
	return ""
    }

    # ------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------

    method RunJob {key} {
	if {![dict exists $Running $key]} {
	    return
	}
	set job [dict get $Running $key]
	if {[dict exists $job cancelled]} {
	    my Finish $key [dict create status cancelled \
		error "cancelled before it started"]
	    return
	}
	set spec [dict get $job spec]
	if {$::p2p::log::Open} {
	    lassign $key h cid id
	    my Log system started [my LinkAddr $h $cid] \
		"job $id [dict get $spec kind]"
	    # A script job holds the event loop until it ends: the log
	    # would not see it start before.
	    ::p2p::log flush
	}
	if {[dict get $spec kind] eq "script"} {
	    my RunScript $key $spec
	} elseif {[dict get $spec kind] eq "tree"} {
	    my RunTree $key $spec
	} else {
	    my RunExec $key $spec
	}
    }

    method RunScript {key spec} {
	lassign $key h cid id
	# Interpreters are reused only within one batch of one submitter.
	set opts [list -key [list $h $cid [dict get $Running $key token]] \
	    -time [dict get $Opts job_timeout]]
	if {[dict exists $spec vars]} {
	    lappend opts -vars [dict get $spec vars]
	}
	if {[dict exists $spec limits]} {
	    set limits [dict get $spec limits]
	    if {[dict exists $limits commands]} {
		lappend opts -commands [dict get $limits commands]
	    }
	    # Never longer than the worker's own limit.
	    if {[dict exists $limits time]
		    && [string is integer -strict [dict get $limits time]]} {
		lappend opts -time [expr {min([dict get $limits time],
		    [dict get $Opts job_timeout])}]
	    }
	}
	lappend opts -progress [list [namespace which my] Progress $key]
	set script [expr {[dict exists $spec script]
	    ? [dict get $spec script] : ""}]
	if {[catch {$Sandbox run $script {*}$opts} r]} {
	    my Finish $key [dict create status error exit 1 \
		error "bad job: $r"]
	    return
	}
	set result [dict create status [dict get $r status] \
	    stdout [dict get $r stdout] stderr [dict get $r stderr] exit 0 \
	    signal "" outputs {}]
	if {[dict get $r status] eq "ok"} {
	    dict set result result [dict get $r result]
	} else {
	    dict set result result ""
	    dict set result error [dict get $r result]
	    dict set result exit 1
	}
	my Finish $key $result
    }

    method RunExec {key spec} {
	lassign $key h cid id
	set dir [file join $WorkDir job-[incr JobSeq]]
	dict set Running $key dir $dir
	set user [dict get $Config -user]
	try {
	    file mkdir $dir
	    if {[dict exists $spec files]} {
		dict for {name content} [dict get $spec files] {
		    set path [file join $dir $name]
		    file mkdir [file dirname $path]
		    set f [open $path wb]
		    puts -nonewline $f $content
		    close $f
		}
	    }
	    if {$user ne ""} {
		# The job's user owns its directory and nothing else.
		exec chown -R $user $dir
	    }
	    set opts [list -cwd $dir {*}[expr {$user ne "" ? [list -user $user] : {}}] -command \
		[list [namespace which my] ExecDone $key] \
		-onoutput [list [namespace which my] ExecOutput $key]]
	    if {[dict exists $spec stdin]} {
		lappend opts -stdin [dict get $spec stdin]
	    }
	    set limits [expr {[dict exists $spec limits]
		? [dict get $spec limits] : {}}]
	    foreach {name opt} {time -timeout cpu -cpu as -as files -files
		    procs -procs} {
		if {[dict exists $limits $name]} {
		    lappend opts $opt [dict get $limits $name]
		}
	    }
	    if {![dict exists $limits time]} {
		lappend opts -timeout [dict get $Opts job_timeout]
	    }
	    set program [dict get $Config -apps [dict get $spec app]]
	    set args [expr {[dict exists $spec args] ? [dict get $spec args] : {}}]
	    dict set Running $key exec \
		[p2p::exec start {*}$opts -- {*}$program {*}$args]
	} on error {msg} {
	    my Finish $key [dict create status error \
		error "cannot start job: $msg"]
	}
    }

    # ExecOutput --
    #	A chunk of an exec job's output: progress for the foreman.
    method ExecOutput {key execId stream data} {
	if {$stream eq "stdout"} {
	    my Progress $key [string range $data 0 1023]
	}
    }

    method ExecDone {key execId r} {
	if {![dict exists $Running $key]} {
	    return
	}
	set dir [dict get $Running $key dir]
	set spec [dict get $Running $key spec]
	set outputs {}
	set missing {}
	if {[dict exists $spec outputs]} {
	    foreach name [dict get $spec outputs] {
		set path [file join $dir $name]
		if {[file isfile $path]
			&& [file size $path] <= [dict get $Opts max_output_file]} {
		    set f [open $path rb]
		    dict set outputs $name [read $f]
		    close $f
		} else {
		    lappend missing $name
		}
	    }
	}
	catch {file delete -force $dir}
	set status ok
	set error ""
	if {[dict get $r cancelled]} {
	    set status cancelled
	    set error "cancelled"
	} elseif {[dict get $r timedout]} {
	    set status timeout
	    set error [dict get $r reason]
	} elseif {[dict get $r status] != 0 || [dict get $r signal] ne ""} {
	    set status error
	    set error [dict get $r reason]
	} elseif {[llength $missing]} {
	    set status error
	    set error "outputs not written: [join $missing {, }]"
	}
	my Finish $key [dict create status $status error $error \
	    stdout [dict get $r stdout] stderr [dict get $r stderr] \
	    exit [dict get $r status] signal [dict get $r signal] \
	    outputs $outputs result ""]
    }

    # Progress --
    #	Streams a progress message of a running job to its foreman.
    method Progress {key message} {
	if {![dict exists $Running $key]} {
	    return
	}
	lassign $key h cid id
	catch {
	    ::p2p::net::send $Address $h $cid [list progress $id $message]
	    $h flush $cid
	}
	return
    }

    # Finish --
    #	Sends the result and frees the slot.
    method Finish {key result} {
	if {![dict exists $Running $key]} {
	    return
	}
	lassign $key h cid id
	set job [dict get $Running $key]
	dict unset Running $key
	if {[dict exists $job cancelled] && [dict get $result status] eq "ok"} {
	    dict set result status cancelled
	    dict set result error "cancelled"
	}
	set now [clock milliseconds]
	dict set result worker $Address
	dict set result started [dict get $job started]
	dict set result finished $now
	dict set result ms [expr {$now - [dict get $job started]}]
	foreach k {error stdout stderr exit signal outputs result} {
	    if {![dict exists $result $k]} {
		dict set result $k ""
	    }
	}
	incr Done
	if {$::p2p::log::Open} {
	    my Log system finished [my LinkAddr $h $cid] \
		"job $id [dict get $result status] in [dict get $result ms] ms"
	}
	if {![dict exists $job v]} {
	    # p2p:worker<-foreman/1
	    catch {::p2p::net::send $Address $h $cid [list result $id $result]}
	} elseif {$Collect eq [lrange $key 0 1]} {
	    lappend Collected $id $result
	} else {
	    catch {::p2p::net::send $Address $h $cid \
		[list results [list $id $result]]}
	}
	if {[llength $RunQueue] && $NextId eq ""} {
	    set NextId [after 0 [list [namespace which my] Next]]
	}
    }

    # ExecLinkDown --
    #	The foreman of running jobs is gone: stop them.
    method ExecLinkDown {h cid} {
	dict for {key job} $Running {
	    if {[lindex $key 0] eq $h && [lindex $key 1] eq $cid} {
		if {[dict exists $job exec]} {
		    dict set Running $key cancelled 1
		    catch {p2p::exec cancel [dict get $job exec]}
		} else {
		    my TreeAbandon $key
		    dict unset Running $key
		    set i [lsearch -exact $RunQueue $key]
		    if {$i >= 0} {
			set RunQueue [lreplace $RunQueue $i $i]
		    }
		}
	    }
	}
    }
}

# OnRun2 and LoneDone: in C.
::p2p::Internal::loneRunMethods ::p2p::execution
