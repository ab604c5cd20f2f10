# tkpeer.tcl --
#
#	Run by wish (tests/tk.test): a p2p server and client in a Tk
#	application, their traffic interleaved with Tk events, timers and
#	widget updates. Prints one line with what it saw, then exits.
#
#	USAGE: wish tkpeer.tcl BUILDDIR

lappend auto_path [lindex $argv 0]
package require p2pjobs

proc echo {x} { return [list heard $x] }
proc heard {x} { lappend ::heard $x; return }

set server [p2p::server new -port 0]
$server protocol add tk/1 {echo ::echo}
set client [p2p::client new -address 127.0.0.1:[$server cget -port] \
	-protocol tk -timeout 5000]
$client protocol add tk/1 {heard ::heard}
$client connect

set heard {}
set tk {}
button .b -text start
pack .b
tkwait visibility .b
bind .b <<Ping>> {lappend ::tk [.b cget -text]}
after 5000 {set ::heard timeout}

# Each message's reply triggers a widget change and a Tk virtual event,
# whose handler sends the next message: Tk and the network must both run.
proc step {i} {
    .b configure -text step$i
    event generate .b <<Ping>> -when tail
    after idle [list $::client send [list echo $i]]
}
trace add variable ::heard write {apply {args {
    set n [llength $::heard]
    if {$n < 5 && $::heard ne "timeout"} { step $n }
}}}
step 0
while {[llength $::heard] < 5 && $::heard ne "timeout"} {
    vwait ::heard
}
update
puts [list heard $heard tk $tk]
$client destroy
$server destroy
exit
