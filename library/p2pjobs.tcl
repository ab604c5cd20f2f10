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

# options.tcl logs through log.tcl at run time only; protocol.tcl's
# standard `options` command calls p2p::options. Source them in this order.
apply {{dir} {
    foreach file {log.tcl options.tcl protocol.tcl} {
	uplevel #0 [list source [file join $dir $file]]
    }
}} $::p2p::library

# P2pjobs_Init provides the package; provide it here only when the
# library files are sourced on their own (say, by a documentation tool).
if {[package provide p2pjobs] eq ""} {
    package provide p2pjobs 0.1
}
