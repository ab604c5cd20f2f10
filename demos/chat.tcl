# chat.tcl --
#
#	Two versions of a chat protocol and peers of both generations: a
#	server that speaks chat/2 and chat/1, an old client that knows only
#	chat/1 and a new one that knows both. Each connection negotiates the
#	highest version both ends have. Run from the build directory:
#
#	    tclsh demos/chat.tcl
#
#	It prints the negotiated versions, a transcript and the server's
#	counters, and exits 0; 1 if anything did not happen as expected.

lappend auto_path [file dirname [file dirname [file normalize [info script]]]]
package require p2pjobs

namespace eval chat {
    variable nicks {}		;# Server: cid -> nick.
    variable transcript {}	;# Clients: what arrived, in order.
    variable changed 0		;# Bumped on every arrival (for vwait).
    variable late 0		;# Set when a wait times out.

    proc nick {cid} {
	variable nicks
	if {[dict exists $nicks $cid]} {
	    return [dict get $nicks $cid]
	}
	return guest$cid
    }
    # Server: pass a line on to everyone else.
    proc say {text} {
	lassign [p2p::caller] server cid
	$server broadcast -avoid $cid [list said [nick $cid] $text]
	return
    }
    # Clients: note what arrived, and on which client.
    proc arrived {args} {
	note [lindex [p2p::caller] 0] {*}$args
    }
    proc note {client args} {
	variable transcript
	variable changed
	lappend transcript [list [namespace tail $client] {*}$args]
	incr changed
	return
    }
}

# The root "chat" has no "<-": both ends speak the same chat/N, so one
# table holds what the server accepts (say, nick, who) and what clients
# accept (said, people).
p2p::protocol register chat/1 {
    define say {text} {chat::say $text}
    define said {who text} {chat::arrived said $who $text}
}
p2p::protocol register chat/2 {
    define say {text} {chat::say $text}
    define said {who text} {chat::arrived said $who $text}
    define nick {name} {
	dict set chat::nicks [lindex [p2p::caller] 1] $name
	return
    }
    define who {} {
	set server [lindex [p2p::caller] 0]
	list people [lsort [lmap cid [$server connections] {chat::nick $cid}]]
    }
    define people {names} {chat::arrived people $names}
}

# await --
#	Runs the event loop until cond (an expression) holds; exits 1 after
#	ms milliseconds.
proc await {cond {ms 5000}} {
    set timer [after $ms {set chat::late 1; incr chat::changed}]
    while {![uplevel 1 [list expr $cond]]} {
	if {$chat::late} {
	    puts stderr "chat: timed out waiting for $cond"
	    exit 1
	}
	vwait chat::changed
    }
    after cancel $timer
}

proc check {cond message} {
    if {![uplevel 1 [list expr $cond]]} {
	puts stderr "chat: $message"
	exit 1
    }
}

set server [p2p::server new -port 0]
p2p::protocol init $server chat
set address 127.0.0.1:[$server cget -port]

p2p::client create old -address $address -protocol chat \
    -onerror {apply {{client cid msg} {chat::note $client error $msg}}}
p2p::protocol install old chat/1		;# An old peer: chat/1 only.
p2p::client create new -address $address -protocol chat
p2p::protocol init new chat			;# chat/2 and chat/1.
old connect
new connect

foreach cid [$server connections] {
    puts "server: connection $cid speaks [$server connectionSpeaks $cid]"
}
puts "old client speaks [old connectionSpeaks [old cid]],\
    new client speaks [new connectionSpeaks [new cid]]"
check {[old connectionSpeaks [old cid]] eq "chat/1"} "old did not get chat/1"
check {[new connectionSpeaks [new cid]] eq "chat/2"} "new did not get chat/2"

new send {nick alice}
old send {say {hello, anyone there?}}
await {[llength $chat::transcript] == 1}
new send {say {hi, alice here}}
new send {who}
old send {who}				;# Not in chat/1: an exception.
await {[llength $chat::transcript] == 4}

puts "transcript:"
foreach line $chat::transcript {
    puts "  $line"
}
proc heard {pattern} {
    expr {[lsearch -glob $chat::transcript $pattern] >= 0}
}
check {[heard {new said guest* {hello, anyone there?}}]} "new did not hear old"
check {[heard {old said alice {hi, alice here}}]} "old did not hear alice"
check {[heard {new people {alice guest*}}]} "who did not list both"
check {[heard {old error {*unknown command "who"*}}]} "old's who not refused"

puts "server stats: [$server stats]"
old destroy
new destroy
$server destroy
exit 0
