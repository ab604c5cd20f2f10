# p2pserver.tcl --
#
#	The p2pjobs server of the benchmarks: a p2p::server on 127.0.0.1
#	(port 0 unless given) with one protocol, bench/1, whose only command
#	is "echo {x} {return $x}". Installed with the core's own method
#	($s protocol add), so nothing but the C core and one proc is
#	measured. The load generator negotiates bench/1 first.
#
#	Prints the port on stdout; exits when stdin reaches EOF.
#
#	USAGE: tclsh p2pserver.tcl ?PORT?   (with the package on auto_path)

package require p2pjobs

namespace eval ::bench {}

proc ::bench::echo {x} {
    return $x
}

proc ::bench::StdinReadable {} {
    if {[gets stdin line] < 0 && [chan eof stdin]} {
	set ::bench::done 1
    }
}

set port [expr {$argc > 0 ? [lindex $argv 0] : 0}]
set server [p2p::server new -port $port]
$server protocol add bench/1 {echo ::bench::echo}
puts [$server cget -port]
flush stdout
chan configure stdin -blocking 0
chan event stdin readable ::bench::StdinReadable
vwait ::bench::done
$server destroy
