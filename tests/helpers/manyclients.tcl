# manyclients.tcl --
#
#	Test helper: opens N p2p::client connections (-async 1) to a chat/1
#	server at 127.0.0.1:PORT, all at once. Each client, once it speaks
#	chat/1, sends "echo I" and expects "echoed I". Output lines:
#	    started			at once
#	    done OK FAILED FIRSTERROR	when every client got its reply or
#					failed (FIRSTERROR: a reason, or "")
#	    notes N			each time all N clients have received
#					a "note" message the server broadcast
#	Lines on stdin: "close" closes all clients (prints "closed" when
#	done), "quit" exits; so does the end of stdin.
#
#	Usage: tclsh manyclients.tcl PORT N

if {[llength $argv] != 2} {
    puts stderr "usage: [file tail [info script]] PORT N"
    exit 1
}
lappend auto_path [file dirname [file dirname [file dirname \
	[file normalize [info script]]]]]
package require p2pjobs

lassign $argv port n
set ok 0
set failed 0
set firstError ""
set notes 0
set finished 0

proc echoed {i args} {
    global ok
    if {$args eq [list $i]} {
	incr ok
    } else {
	Fail "client $i got \"echoed $args\""
    }
    Check
    return
}

proc note {args} {
    global notes n
    if {[incr notes] == $n} {
	puts "notes $n"
	set notes 0
    }
    return
}

proc ready {i obj cid proto} {
    if {[catch {$obj send [list echo $i]} msg]} {
	Fail "client $i: send: $msg"
    }
}

proc dropped {i obj cid reason} {
    global finishedSet
    if {![info exists finishedSet($i)]} {
	Fail "client $i disconnected: $reason"
    }
}

proc Fail {msg} {
    global failed firstError
    incr failed
    if {$firstError eq ""} {
	set firstError $msg
    }
    Check
}

proc Check {} {
    global ok failed n firstError finished
    if {!$finished && $ok + $failed >= $n} {
	set finished 1
	puts [list done $ok $failed $firstError]
    }
}

proc command {} {
    global n finishedSet
    if {[gets stdin line] < 0} {
	if {[eof stdin]} {
	    exit 0
	}
	return
    }
    switch -- $line {
	close {
	    for {set i 0} {$i < $n} {incr i} {
		set finishedSet($i) 1
		c$i destroy
	    }
	    puts closed
	}
	quit {exit 0}
    }
}

fconfigure stdout -buffering line
fconfigure stdin -blocking 0
fileevent stdin readable command
puts started
for {set i 0} {$i < $n} {incr i} {
    p2p::client create c$i -address 127.0.0.1:$port -protocol chat \
	    -async 1 -timeout 30000 -onprotocol [list ready $i] \
	    -ondisconnect [list dropped $i]
    c$i protocol add chat/1 [list echoed [list echoed $i] note note]
    c$i connect
}
vwait forever
