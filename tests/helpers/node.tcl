# node.tcl --
#
#	Test helper: a network node in its own process.
#
#	    tclsh node.tcl authority ?option value ...?
#		p2p::authority new -port 0 with the options; prints its port.
#	    tclsh node.tcl worker N ?-liar 1? ?option value ...?
#		N p2p::worker objects (virtual peers) with the options
#		(-authorities among them); prints their ports on one line.
#		With -liar 1 the workers corrupt every job result (for the
#		redundancy tests).
#
#	Then answers lines on stdin:
#	    states		the worker states, one list
#	    options NAME	the value of option NAME in each worker
#	    peers		the chosen peers of each worker, one list each
#	    done		the jobs each worker finished
#	    tree FILE DEPTH FANOUT INPUT
#				the first worker, as a foreman with its key
#				(so on its account), submits the tree job of script
#				FILE (-maxdepth DEPTH -fanout FANOUT) on the
#				input in file INPUT; prints "tree STATUS
#				RESULT ERROR NODES" when it ends (NODES:
#				the node dicts of `$f tree`)
#	    quit		exits
#	It exits when stdin is closed, so it never outlives the test.

lappend auto_path [file dirname [file dirname [file dirname \
	[file normalize [info script]]]]]
package require p2pjobs

set argv [lassign $argv role]
set nodes {}
switch -- $role {
    authority {
	set a [p2p::authority new -port 0 {*}$argv]
	lappend nodes $a
	puts [$a port]
    }
    worker {
	set argv [lassign $argv n]
	set liar 0
	if {[lindex $argv 0] eq "-liar"} {
	    set argv [lassign $argv - liar]
	}
	# A liar's results: the worker's own, with the script's result and
	# the output changed.
	oo::class create Liar {
	    method Finish {key result} {
		next $key [my Forge $result]
	    }
	    # Script jobs of p2p:worker<-foreman/2 end together.
	    method Deliver {h cid keys results} {
		next $h $cid $keys [lmap r $results {my Forge $r}]
	    }
	    # The worker's fast path (jobs run at once, results straight
	    # into the reply) is bypassed: every result goes through
	    # Finish or Deliver.
	    method OnRun2 {h cid id token spec} {
		my OnRuns $h $cid [list $id $token $spec]
	    }
	    method RunsNow {h cid jobs} {
		return -
	    }
	    method Forge {result} {
		if {[dict exists $result result]} {
		    dict append result result " (forged)"
		}
		dict append result stdout "forged\n"
		return $result
	    }
	}
	for {set i 0} {$i < $n} {incr i} {
	    # The key pair is kept here too: a foreman of this process may
	    # spend the worker's account (see "tree").
	    set id [p2p::identity generate]
	    set w [p2p::worker new -identity $id {*}$argv]
	    set ::identity($w) $id
	    if {$liar} {
		oo::objdefine $w mixin -append Liar
	    }
	    lappend nodes $w
	}
	puts [lmap w $nodes {lindex [split [$w address] :] end}]
    }
    default {
	puts "usage: node.tcl authority|worker ..."
	exit 1
    }
}
flush stdout

proc command {} {
    if {[gets stdin line] < 0} {
	if {[eof stdin]} {
	    exit 0
	}
	return
    }
    switch -- [lindex $line 0] {
	states {puts [lmap w $::nodes {$w state}]}
	options {puts [lmap w $::nodes {$w option [lindex $line 1]}]}
	peers {puts [lmap w $::nodes {$w peers}]}
	done {puts [lmap w $::nodes {$w done}]}
	tree {
	    lassign $line - file depth fanout input
	    set w [lindex $::nodes 0]
	    set f [p2p::foreman new -authorities [$w authority] \
		-identity $::identity($w)]
	    set id [$f submit -tree [readFile $file] -input [readFile $input] \
		-maxdepth $depth -fanout $fanout -command [list treeDone $f]]
	}
	quit {exit 0}
	default {puts "unknown: $line"}
    }
    flush stdout
}
proc readFile {path} {
    set f [open $path]
    set data [read $f]
    close $f
    return $data
}

proc treeDone {f id result} {
    puts [list tree [dict get $result status] [dict get $result result] \
	[dict get $result error] [$f tree $id]]
    flush stdout
    after idle [list $f destroy]
}

fconfigure stdin -blocking 0
fileevent stdin readable command
vwait forever
