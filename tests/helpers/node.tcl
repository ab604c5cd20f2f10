# node.tcl --
#
#	Test helper: a network node in its own process.
#
#	    tclsh node.tcl authority ?option value ...?
#		p2p::authority new -port 0 with the options; prints its port.
#	    tclsh node.tcl worker N ?option value ...?
#		N p2p::worker objects (virtual peers) with the options
#		(-authorities among them); prints their ports on one line.
#
#	Then answers lines on stdin:
#	    states		the worker states, one list
#	    options NAME	the value of option NAME in each worker
#	    peers		the chosen peers of each worker, one list each
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
	for {set i 0} {$i < $n} {incr i} {
	    lappend nodes [p2p::worker new {*}$argv]
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
	quit {exit 0}
	default {puts "unknown: $line"}
    }
    flush stdout
}
fconfigure stdin -blocking 0
fileevent stdin readable command
vwait forever
