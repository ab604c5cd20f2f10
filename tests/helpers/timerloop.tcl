# timerloop.tcl --
#
#	Test helper (loop.test): a p2p::server and a client connected to it
#	in this process, so that libuv's loop is alive and quiet; then n
#	times a Tcl timer of 1 ms awaited with p2p::vwait. Prints "ready"
#	when connected and "done n" at the end. A p2p::vwait that waits in
#	libuv for I/O alone, past its bound, never ends (the test kills it).
#
#	Usage: tclsh timerloop.tcl n

lappend auto_path [file dirname [file dirname [file dirname \
	[file normalize [info script]]]]]
package require p2pjobs

set n [lindex $argv 0]
p2p::server create srv -port 0
srv protocol add chat/1 [list echo [list list echoed]]
p2p::client create talker -address 127.0.0.1:[srv cget -port] \
	-protocol chat
talker protocol add chat/1 [list echoed [list set ::echoed]]
talker connect
puts ready
flush stdout
for {set i 0} {$i < $n} {incr i} {
    after 1 {set ::x 1}
    p2p::vwait ::x
}
puts "done $i"
flush stdout
talker destroy
srv destroy
