# p2pjobs.tcl --
#
#	The Tcl half of p2pjobs. pkgIndex.tcl sources this file right after
#	loading the shared library, which has already made the namespace
#	::p2p with the classes p2p::handler, p2p::server and p2p::client and
#	the commands p2p::caller and p2p::debug. This file sources the other
#	library files from its own directory.

namespace eval ::p2p {
    variable library [file dirname [file normalize [info script]]]
}

# The other library files: log, options, protocol and netproto first (the
# rest may use them when sourced: netproto holds the base class of the
# nodes), then every other .tcl file here in name order. A class mixed
# into another is defined in a file whose name sorts before that
# class's (mesh, bidding, execution before worker; farm before foreman)
# or attaches itself (banking to authority, paying to foreman).
apply {{dir} {
    set first {log.tcl options.tcl protocol.tcl netproto.tcl}
    set rest {}
    foreach path [lsort [glob -nocomplain -directory $dir -tails *.tcl]] {
	if {$path ni $first && $path ne "p2pjobs.tcl"} {
	    lappend rest $path
	}
    }
    foreach file [concat $first $rest] {
	uplevel #0 [list source [file join $dir $file]]
    }
}} $::p2p::library

# P2pjobs_Init provides the package; provide it here only when the
# library files are sourced on their own (say, by a documentation tool).
if {[package provide p2pjobs] eq ""} {
    package provide p2pjobs 0.1
}
