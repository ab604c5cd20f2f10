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
#	  * made by the C part (generic/p2pJobRun.c, ::p2p::Internal::jobArm):
#	    puts (stdout and stderr are captured; any other channel is one
#	    the job made itself) and progress (calls the job's -progress
#	    prefix); aliased into the sandbox: ::tcl::clock::getenv (clock
#	    sees TZ and TCL_TZ of the worker, no other variable of its
#	    environment).
#
#	A job is run by ::p2p::Internal::jobRun, in C: it sets the job's
#	variables and limits, evaluates its script at global level,
#	measures it and cleans up after it. Of the job interpreter's
#	commands, which a job may replace, that cleanup calls only
#	::tcl::info::globals and ::tcl::info::cmdcount (and the unset
#	traces a job left); it unsets a job's -vars with the function of
#	unset as the interpreter had it when made, not through the command. Several jobs of one key run in one call
#	(`runs`).
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

namespace eval ::p2p::Internal {}

# ::p2p::Internal::sandboxInterrupted --
#	Results, then those of the jobs not run because their sandbox was
#	destroyed meanwhile (a procedure: the sandbox's methods are gone).
proc ::p2p::Internal::sandboxInterrupted {results specs opts} {
    foreach spec $specs {
	if {[dict exists $opts -worker]} {
	    set now [clock milliseconds]
	    lappend results [dict create status error result "" \
		error "job interrupted: sandbox destroyed" stdout "" \
		stderr "" exit 1 signal "" outputs {} \
		worker [dict get $opts -worker] started $now \
		finished $now ms 0]
	} else {
	    lappend results [dict create status error \
		result "job interrupted: sandbox destroyed" \
		errorcode {P2P SANDBOX DESTROYED} errorinfo "" \
		elapsed 0 commands 0 stdout "" stderr ""]
	}
    }
    return $results
}

oo::class create ::p2p::sandbox {
    variable Size Commands Time Output

    # USAGE: p2p::sandbox new|create name ?-size n? ?-commands n?
    #	?-time ms? ?-output chars?
    #	-size: the most idle interpreters kept warm, all keys together
    #	(default 8, 0 keeps none); -commands, -time and -output: the
    #	default limits of each job.
    constructor {args} {
	# The pool (idle interpreters per key, those running a job, the
	# counts of stats) is kept in C (generic/p2pPool.c), made at the
	# end. What the C part keeps per interpreter (its globals when
	# made, its command count, the running job's output) lives with
	# the interpreter.
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
	my PoolInit $Size $Commands $Time $Output
    }

    destructor {
	my PoolClose
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
	set spec [dict create script [lindex $args 0]]
	set key ""
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
		    dict set spec vars $value
		}
		-commands {set commands [my Count $opt $value 1]}
		-time {set time [my Count $opt $value 1]}
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
	lindex [my runs $key [list $spec] -commands $commands -time $time \
	    -output $output -progress $progress] 0
    }

    # USAGE: $sb runs key specs ?-commands n? ?-time ms? ?-output chars?
    #	?-progress cmd? ?-tags list? ?-worker address?
    #	Runs several jobs of key in turn, each a dict: script, vars
    #	and limits (commands, time ms; never longer than -time). Returns
    #	their results, in order: dicts as run returns them, or with
    #	-worker, in the form of a worker's job result (doc/jobs.n). A
    #	bad spec is an error result, not an error. -progress: the
    #	prefix called by the job's progress, with the job's element of
    #	-tags (when given) and the message appended.
    #	(A method in C, generic/p2pPool.c: the jobs go to an idle
    #	interpreter of key or a new one, and a new one again after a job
    #	that left its interpreter unusable; then back to the pool, or
    #	deleted.)

    # USAGE: $sb stats
    #	A dict: created, reused and discarded (interpreters, since the
    #	sandbox was made) and live (interpreters existing now, idle or
    #	running a job). (A method in C.)

    # RunsOptions --
    #	The options of runs when jobRun would not take them as they are
    #	(runs, in C, calls this): the error about them, or {opts tags}:
    #	the options as jobRun takes them (the defaults, then the
    #	caller's; the last of an option given twice counts), without
    #	-tags, and the value of -tags.
    method RunsOptions {args} {
	set opts [list -commands $Commands -time $Time -output $Output]
	set tags {}
	foreach {opt value} $args {
	    switch -exact -- $opt {
		-commands - -time {
		    set value [my Count $opt $value 1]
		}
		-output {set value [my Count $opt $value 0]}
		-tags {
		    set tags $value
		    continue
		}
		-progress - -worker {}
		default {
		    return -code error \
			-errorcode [list P2P USAGE OPTION $opt] \
			"bad option \"$opt\": must be -commands,\
			-output, -progress, -tags, -time, or -worker"
		}
	    }
	    lappend opts $opt $value
	}
	list $opts $tags
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
	    }
	    interp alias $i ::tcl::clock::getenv {} $me Getenv
	    ::p2p::Internal::jobArm $i
	} on error {msg opts} {
	    interp delete $i
	    return -options $opts $msg
	}
	return $i
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

# runs, stats, PoolInit and PoolClose: in C.
::p2p::Internal::poolMethods ::p2p::sandbox
