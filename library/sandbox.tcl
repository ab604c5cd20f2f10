# sandbox.tcl --
#
#	p2p::sandbox: runs "script" jobs (DESIGN 2.5), Tcl scripts written
#	by strangers, in safe child interpreters bounded by `interp limit`
#	(commands and wall-clock time), and keeps a warm pool of those
#	interpreters so that many tiny jobs stay cheap.
#
#	A job interpreter is made by `interp create -safe`, then:
#
#	  * hidden: interp (no child interpreters, no access to limits),
#	    after, vwait and update (nothing runs after the job returned,
#	    and a job never enters the worker's event loop), and puts;
#	  * deleted: chan pipe (a safe interpreter may otherwise make OS
#	    pipes), ::tcl::encoding::system (which, from a safe interpreter
#	    of Tcl 8.6, sets the system encoding of the whole process), and
#	    the namespace ::tcl::unsupported (assemble and friends);
#	  * aliased into the sandbox: puts (stdout and stderr are captured;
#	    any other channel is one the job made itself), progress (calls
#	    the job's -progress prefix) and ::tcl::clock::getenv (clock
#	    sees TZ and TCL_TZ of the worker, no other variable of its
#	    environment);
#	  * one hidden proc, p2pRun, that runs a job: sets its variables,
#	    evaluates its script at global level, measures it and cleans
#	    up after it. A job can neither call nor replace a hidden
#	    command, and one call of it is all a job costs in crossings.
#
#	Reuse. A pooled interpreter belongs to one key (say, a submitter's
#	batch) for life: it is never handed to a job of another key, so
#	nothing crosses keys. Between two jobs of one key, the global
#	variables a job created (its -vars among them) are unset; the rest
#	of what it did (procs, namespaces, renamed commands, traces, changes
#	to tcl_platform ...) stays for the next job of that key, as it would
#	in one process running the whole batch. An interpreter is discarded
#	instead of pooled when its job hit a limit, when the job left a
#	channel open or a global it could not unset, or when the cleanup
#	failed. A job without a key gets an interpreter of its own, used
#	once.
#
#	Everything the sandbox evaluates in a job interpreter runs while
#	that job's limits are in force, so a job that redefined core
#	commands to trap the next job of its key costs that job, at most,
#	its own budget.
#
#	Not bounded: memory, and the time taken by one long built-in command
#	(a huge lsort or string repeat), which the limits only see when it
#	returns. A worker that must bound those runs script jobs in a
#	process of their own (p2p::exec with rlimits).

namespace eval ::p2p {}

oo::class create ::p2p::sandbox {
    variable Size Commands Time Output Idle Busy Keep Used Stats Out Err \
	Prog Max Over

    # USAGE: p2p::sandbox new|create name ?-size n? ?-commands n?
    #	?-time ms? ?-output chars?
    #	-size: the most idle interpreters kept warm, all keys together
    #	(default 8, 0 keeps none); -commands, -time and -output: the
    #	default limits of each job.
    constructor {args} {
	# Idle: {interp key} pairs, least recently used first. Busy:
	# interp -> key of those running a job. Per interp: Keep, the
	# global variables it had when made (a dict name -> ""), and Used,
	# its info cmdcount after its last job.
	set Idle {}
	set Busy {}
	array set Keep {}
	array set Used {}
	set Stats [dict create created 0 reused 0 discarded 0]
	# Per running job, by interp: captured stdout and stderr, the
	# progress prefix, the output limit, and whether it was exceeded.
	array set Out {}
	array set Err {}
	array set Prog {}
	array set Max {}
	array set Over {}
	set Size 8
	set Commands 10000000
	set Time 10000
	set Output 1048576
	if {[llength $args] % 2} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"p2p::sandbox new ?-size n?\
		?-commands n? ?-time ms? ?-output chars?\""
	}
	foreach {opt value} $args {
	    switch -exact -- $opt {
		-size {set Size [my Count $opt $value 0]}
		-commands {set Commands [my Count $opt $value 1]}
		-time {set Time [my Count $opt $value 1]}
		-output {set Output [my Count $opt $value 0]}
		default {
		    return -code error \
			-errorcode [list P2P USAGE OPTION $opt] \
			"bad option \"$opt\": must be -commands, -output,\
			-size, or -time"
		}
	    }
	}
    }

    destructor {
	foreach pair $Idle {
	    catch {interp delete [lindex $pair 0]}
	}
	dict for {i key} $Busy {
	    catch {interp delete $i}
	}
	set Idle {}
	set Busy {}
    }

    # USAGE: $sb run script ?-key k? ?-vars dict? ?-commands n? ?-time ms?
    #	?-output chars? ?-progress cmd?
    #	Runs script in a job interpreter of key k. Returns a dict:
    #	status (ok, error or limit), result, errorcode, errorinfo,
    #	stdout, stderr, elapsed (us) and commands.
    method run {args} {
	if {[llength $args] % 2 == 0} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] run script ?-key k?\
		?-vars dict? ?-commands n? ?-time ms? ?-output chars?\
		?-progress cmd?\""
	}
	set script [lindex $args 0]
	set key ""
	set vars {}
	set commands $Commands
	set time $Time
	set output $Output
	set progress {}
	foreach {opt value} [lrange $args 1 end] {
	    switch -exact -- $opt {
		-key {set key $value}
		-vars {
		    # Fast check of all names at once; Vars says what is
		    # wrong.
		    if {[catch {dict keys $value} names]
			    || ![regexp {^(?:\w+(?: \w+)*)?$} $names]} {
			my Vars $value
		    }
		    set vars $value
		}
		-commands {set commands [my Count $opt $value 1]}
		-time {
		    # The worker gives it for every job: the usual value
		    # needs no call of Count.
		    if {[string is integer -strict $value] && $value >= 1
			    && $value <= 2147483647} {
			set time [expr {$value}]
		    } else {
			set time [my Count $opt $value 1]
		    }
		}
		-output {set output [my Count $opt $value 0]}
		-progress {
		    if {[catch {llength $value}]} {
			return -code error \
			    -errorcode [list P2P USAGE BADVALUE $opt] \
			    "bad value for -progress: must be a command\
			    prefix (a list)"
		    }
		    set progress $value
		}
		default {
		    return -code error \
			-errorcode [list P2P USAGE OPTION $opt] \
			"bad option \"$opt\": must be -commands, -key,\
			-output, -progress, -time, or -vars"
		}
	    }
	}

	# An idle interpreter of this key, or a new one.
	set n [expr {$key eq "" ? -1 : [lsearch -exact -index 1 $Idle $key]}]
	if {$n >= 0} {
	    set i [lindex $Idle $n 0]
	    set Idle [lreplace $Idle $n $n]
	    dict incr Stats reused
	} else {
	    set i [my Fresh $key]
	}
	dict set Busy $i $key
	set Out($i) ""
	set Err($i) ""
	set Prog($i) $progress
	set Max($i) $output
	set Over($i) 0

	# The limits, then one call into the interpreter. The command
	# limit counts from the interpreter's count after its last job,
	# with room for what p2pRun does around the script (so a job may
	# run a few dozen commands more than its limit).
	set deadline [expr {[clock milliseconds] + $time}]
	interp limit $i time -seconds [expr {$deadline / 1000}] \
	    -milliseconds [expr {$deadline % 1000}]
	interp limit $i command -value \
	    [expr {$Used($i) + $commands + 4 * [dict size $vars] + 32}]
	set t0 [clock microseconds]
	set code [catch {
	    interp invokehidden $i p2pRun $script $vars $Keep($i)
	} res opts]
	set elapsed [expr {[clock microseconds] - $t0}]

	if {![info exists Busy] || ![dict exists $Busy $i]} {
	    # The sandbox was destroyed meanwhile (by a progress callback):
	    # its interpreters are gone already.
	    return [dict create status error \
		result "job interrupted: sandbox destroyed" \
		errorcode {P2P SANDBOX DESTROYED} errorinfo "" \
		elapsed $elapsed commands 0 stdout "" stderr ""]
	}
	dict unset Busy $i
	if {$code == 0 && [llength $res] == 6} {
	    lassign $res jcode result jopts count clean Used($i)
	    if {$jcode == 0} {
		set r [dict create status ok result $result errorcode "" \
		    errorinfo "" elapsed $elapsed commands $count \
		    stdout $Out($i) stderr $Err($i)]
	    } else {
		set r [my Done $jcode $result $jopts]
		dict set r elapsed $elapsed
		dict set r commands $count
		dict set r stdout $Out($i)
		dict set r stderr $Err($i)
	    }
	} else {
	    set r [my Failed $i $res $opts $commands $time $deadline]
	    dict set r elapsed $elapsed
	    dict set r stdout $Out($i)
	    dict set r stderr $Err($i)
	    set clean 0
	}
	unset Out($i) Err($i) Prog($i) Max($i) Over($i)

	# Back to the pool, or gone.
	if {$clean eq "1" && $key ne "" && [string is entier -strict $Used($i)]
		&& $Used($i) < 1000000000} {
	    interp limit $i time -seconds {} -milliseconds {}
	    lappend Idle [list $i $key]
	    while {[llength $Idle] > $Size} {
		my Discard [lindex $Idle 0 0]
	    }
	} else {
	    my Discard $i
	}
	return $r
    }

    # USAGE: $sb stats
    #	A dict: created, reused and discarded (interpreters, since the
    #	sandbox was made) and live (interpreters existing now, idle or
    #	running a job).
    method stats {} {
	dict create created [dict get $Stats created] \
	    reused [dict get $Stats reused] \
	    discarded [dict get $Stats discarded] \
	    live [expr {[llength $Idle] + [dict size $Busy]}]
    }

    # Done --
    #	The result dict of a job whose script ran to its end (with a
    #	return code, result and options as caught by p2pRun).
    method Done {code result opts} {
	if {$code == 2} {
	    # The script's own return: at the top level, -code applies.
	    set code [expr {[dict get $opts -level] == 1
		? [dict get $opts -code] : 0}]
	}
	switch -- $code {
	    0 {
		return [dict create status ok result $result errorcode "" \
		    errorinfo "" elapsed 0 commands 0]
	    }
	    1 {
		set info [expr {[dict exists $opts -errorinfo]
		    ? [dict get $opts -errorinfo] : $result}]
		# Without the last frame, p2pRun's uplevel.
		set n [string last "\n    (\"uplevel\" body line" $info]
		if {$n >= 0} {
		    set info [string range $info 0 [expr {$n - 1}]]
		}
		return [dict create status error result $result \
		    errorcode [expr {[dict exists $opts -errorcode]
			? [dict get $opts -errorcode] : "NONE"}] \
		    errorinfo $info elapsed 0 commands 0]
	    }
	    3 - 4 {
		set what [expr {$code == 3 ? "break" : "continue"}]
		set result "invoked \"$what\" outside of a loop"
	    }
	    default {
		set result "command returned bad code: $code"
	    }
	}
	return [dict create status error result $result \
	    errorcode {TCL RESULT UNEXPECTED} errorinfo "" elapsed 0 \
	    commands 0]
    }

    # Failed --
    #	The result dict of a job whose p2pRun did not return: a limit
    #	(status limit, and which one), or else an error of the
    #	interpreter itself, say a core command that an earlier job of
    #	the key broke (status error).
    method Failed {i msg opts commands time deadline} {
	set ec [expr {[dict exists $opts -errorcode]
	    ? [dict get $opts -errorcode] : "NONE"}]
	if {$Over($i)} {
	    set max $Max($i)
	    return [dict create status limit \
		result "output limit of $max characters exceeded" \
		errorcode [list P2P SANDBOX LIMIT OUTPUT $max] errorinfo "" \
		elapsed 0 commands 0]
	}
	if {[lrange $ec 0 1] eq {TCL LIMIT}} {
	    set what [lindex $ec 2]
	} elseif {$msg eq "" || $msg eq "command count limit exceeded"} {
	    # What an exceeded interpreter says to any further command.
	    set what [expr {[clock milliseconds] >= $deadline
		? "TIME" : "COMMANDS"}]
	} else {
	    return [dict create status error result $msg errorcode $ec \
		errorinfo "" elapsed 0 commands 0]
	}
	if {$what eq "TIME"} {
	    return [dict create status limit \
		result "time limit of $time ms exceeded" \
		errorcode [list P2P SANDBOX LIMIT TIME $time] errorinfo "" \
		elapsed 0 commands 0]
	}
	return [dict create status limit \
	    result "command limit of $commands exceeded" \
	    errorcode [list P2P SANDBOX LIMIT COMMANDS $commands] \
	    errorinfo "" elapsed 0 commands $commands]
    }

    # Fresh --
    #	A new interpreter for a job of key. When the pool is full, a job
    #	of a key that has no idle interpreter makes room: the least
    #	recently used idle interpreter goes.
    method Fresh {key} {
	if {$key ne ""} {
	    while {[llength $Idle] && [llength $Idle] >= $Size} {
		my Discard [lindex $Idle 0 0]
	    }
	}
	return [my Make]
    }

    # Discard --
    #	Deletes interpreter i (idle or not).
    method Discard {i} {
	set n [lsearch -exact -index 0 $Idle $i]
	if {$n >= 0} {
	    set Idle [lreplace $Idle $n $n]
	}
	unset -nocomplain Keep($i) Used($i)
	if {[interp exists $i]} {
	    interp delete $i
	}
	dict incr Stats discarded
    }

    # Make --
    #	A new job interpreter (see the file header for what it holds).
    method Make {} {
	set i [interp create -safe]
	set me [namespace which my]
	try {
	    foreach cmd {interp after vwait update puts} {
		interp hide $i $cmd
	    }
	    interp eval $i {
		namespace ensemble configure ::chan -map [dict remove \
		    [namespace ensemble configure ::chan -map] pipe]
		rename ::tcl::chan::pipe {}
		rename ::tcl::encoding::system {}
		rename ::tcl::clock::getenv {}
		namespace delete ::tcl::unsupported
		# p2pRun script vars keep --
		#	Sets the job's variables, runs its script at global
		#	level, then unsets the globals that are not in keep.
		#	Returns {code result options commands clean
		#	cmdcount}, clean 1 when nothing is left that must
		#	not reach the next job of the key.
		proc p2pRun {script vars keep} {
		    foreach {name value} $vars {
			set ::$name $value
		    }
		    set c0 [info cmdcount]
		    set code [catch {uplevel #0 $script} result opts]
		    set c1 [info cmdcount]
		    foreach {name value} $vars {
			unset -nocomplain ::$name
		    }
		    set g [info globals]
		    if {[llength $g] != [dict size $keep]} {
			foreach name $g {
			    if {![dict exists $keep $name]} {
				unset -nocomplain ::$name
			    }
			}
			set g [info globals]
		    }
		    set clean [expr {[llength $g] == [dict size $keep]
			&& [llength [chan names]] == 0}]
		    list $code $result $opts [expr {$c1 - $c0 - 5}] $clean \
			[info cmdcount]
		}
	    }
	    interp hide $i p2pRun
	    interp alias $i puts {} $me Puts $i
	    interp alias $i progress {} $me Progress $i
	    interp alias $i ::tcl::clock::getenv {} $me Getenv
	    set keep {}
	    foreach v [interp eval $i {info globals}] {
		dict set keep $v ""
	    }
	    set Keep($i) $keep
	    set Used($i) [interp eval $i {info cmdcount}]
	} on error {msg opts} {
	    interp delete $i
	    return -options $opts $msg
	}
	dict incr Stats created
	return $i
    }

    # Puts --
    #	puts inside job interpreter i: stdout and stderr are captured
    #	(at most Max($i) characters together: beyond that the job is
    #	stopped by its command limit and ends with status limit); other
    #	channels are the job's own and get the real puts.
    method Puts {i args} {
	set nonl 0
	if {[llength $args] > 1 && [lindex $args 0] eq "-nonewline"} {
	    set nonl 1
	}
	switch -- [expr {[llength $args] - $nonl}] {
	    1 {
		set chan stdout
	    }
	    2 {
		set chan [lindex $args $nonl]
	    }
	    default {
		return -code error -errorcode {TCL WRONGARGS} \
		    "wrong # args: should be \"puts ?-nonewline? ?channelId?\
		    string\""
	    }
	}
	if {$chan ni {stdout stderr}} {
	    return [interp invokehidden $i puts {*}$args]
	}
	if {![info exists Out($i)]} {
	    # Only reachable by code a job left behind: refuse.
	    return -code error -errorcode {P2P SANDBOX IDLE} \
		"no job is running"
	}
	set s [lindex $args end]
	if {!$nonl} {
	    append s \n
	}
	if {[string length $Out($i)] + [string length $Err($i)]
		+ [string length $s] > $Max($i)} {
	    # Stop the job: its next command hits the command limit.
	    set Over($i) 1
	    interp limit $i command -value 0
	    return -code error \
		-errorcode [list P2P SANDBOX LIMIT OUTPUT $Max($i)] \
		"output limit of $Max($i) characters exceeded"
	}
	if {$chan eq "stdout"} {
	    append Out($i) $s
	} else {
	    append Err($i) $s
	}
	return
    }

    # Progress --
    #	progress inside job interpreter i: calls the job's -progress
    #	prefix with the message, at global level. An error there is an
    #	error of the progress command (message and error code only: the
    #	job does not see the worker's stack).
    method Progress {i args} {
	if {[llength $args] != 1} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"progress message\""
	}
	if {[info exists Prog($i)] && [llength $Prog($i)]
		&& [catch {uplevel #0 [list {*}$Prog($i) [lindex $args 0]]} \
		    msg opts] == 1} {
	    return -code error -errorcode [dict get $opts -errorcode] $msg
	}
	return
    }

    # Getenv --
    #	::tcl::clock::getenv of job interpreters: the time zone only.
    method Getenv {name} {
	if {$name in {TZ TCL_TZ} && [info exists ::env($name)]} {
	    return $::env($name)
	}
	return ""
    }

    # Count --
    #	Checks the value of a numeric option: an integer from min to max.
    #	(-commands is at most 10^9, and an interpreter whose count passed
    #	10^9 is not reused: counts stay within 32 bits.)
    method Count {opt value min} {
	set max [expr {$opt eq "-commands" ? 1000000000 : 2147483647}]
	if {![string is entier -strict $value] || $value < $min
		|| $value > $max} {
	    return -level 2 -code error \
		-errorcode [list P2P USAGE BADVALUE $opt] \
		"bad value \"$value\" for $opt: must be an integer from\
		$min to $max"
	}
	return [expr {$value}]
    }

    # Vars --
    #	Checks the value of -vars: a dict of plain variable names.
    method Vars {value} {
	if {[catch {dict size $value}]} {
	    return -level 2 -code error \
		-errorcode {P2P USAGE BADVALUE -vars} \
		"bad value for -vars: must be a dict name -> value"
	}
	foreach name [dict keys $value] {
	    if {![regexp {^\w+$} $name]} {
		return -level 2 -code error \
		    -errorcode {P2P USAGE BADVALUE -vars} \
		    "bad variable name \"$name\" in -vars: must be\
		    letters, digits and underscores"
	    }
	}
	return $value
    }
}
