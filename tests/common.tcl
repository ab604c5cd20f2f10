# common.tcl --
#
#	Helpers shared by the tcltest suites of p2pjobs: bounded waits on the
#	event loop, helper processes, raw Tcl sockets with hand-built frames,
#	and leak checks. Every .test file sources this file after requiring
#	tcltest; it finds the package in the build tree (the directory above
#	tests/, which holds pkgIndex.tcl) unless TCLLIBPATH names another.
#
#	Nothing here sleeps for a fixed time: every wait polls a condition
#	through the event loop and gives up, with an error, at a deadline.

package require tcltest 2.5
namespace import -force ::tcltest::*

namespace eval ::p2ptest {
    variable dir [file dirname [file normalize [info script]]]
    variable buildDir [file dirname $dir]
    variable seq 0		;# Unique names for wait variables.
    variable raws {}		;# Raw sockets opened by rawConnect.
    variable helpers {}		;# Helper processes started by startHelper.
    variable rbuf		;# Per raw socket: bytes read, not consumed.
    array set rbuf {}
    variable bgerrors {}	;# Background errors not yet looked at.
    variable base		;# Leak baseline: objects handles pending.
}

# The build tree comes after any TCLLIBPATH entries (which tclsh put first
# in auto_path), so an explicit TCLLIBPATH wins.
if {$::p2ptest::buildDir ni $::auto_path} {
    lappend ::auto_path $::p2ptest::buildDir
}
package require p2pjobs

# Background errors (errors in callbacks go there) are collected instead
# of printed: checkLeaks reports the ones no test looked at.
interp bgerror {} ::p2ptest::BgError
proc ::p2ptest::BgError {msg opts} {
    variable bgerrors
    lappend bgerrors $msg
}

# bgErrors --
#	Returns the background errors collected so far and forgets them.
proc bgErrors {} {
    set l $::p2ptest::bgerrors
    set ::p2ptest::bgerrors {}
    return $l
}

# slowMs --
#	A deadline that exists to catch a hang, not to measure: ms times
#	P2PTEST_SLOW (default 1). make test-asan sets it, since code under
#	the sanitizers runs several times slower and a loaded machine has
#	slow moments on top of that. A test's result must not depend on it.
set ::p2ptest::slow [expr {[info exists ::env(P2PTEST_SLOW)]
    && [string is integer -strict $::env(P2PTEST_SLOW)]
    && $::env(P2PTEST_SLOW) > 0 ? $::env(P2PTEST_SLOW) : 1}]
proc slowMs {ms} {
    expr {$ms * $::p2ptest::slow}
}

# waitFor --
#	Polls the expression cond (evaluated in the caller's scope) through
#	the event loop until it is true.
# Results:
#	1, or an error (code P2PTEST TIMEOUT) after timeout milliseconds
#	(stretched by slowMs).
proc waitFor {cond {timeout 5000}} {
    set timeout [slowMs $timeout]
    set deadline [expr {[clock milliseconds] + $timeout}]
    set var ::p2ptest::tick([incr ::p2ptest::seq])
    while {![uplevel 1 [list expr $cond]]} {
	if {[clock milliseconds] >= $deadline} {
	    unset -nocomplain $var
	    return -code error -errorcode {P2PTEST TIMEOUT} \
		"timeout after $timeout ms waiting for: $cond"
	}
	set id [after 5 [list set $var 1]]
	vwait $var
	after cancel $id
    }
    unset -nocomplain $var
    return 1
}

# pause --
#	Runs the event loop for ms milliseconds. Only for shaping traffic or
#	giving something the chance to happen that must NOT happen; never
#	relied on for something that must happen.
proc pause {ms} {
    set var ::p2ptest::tick([incr ::p2ptest::seq])
    after $ms [list set $var 1]
    vwait $var
    unset $var
}

# record --
#	A callback prefix: appends its arguments as one element to the
#	global list ::events.
proc record {args} {
    lappend ::events $args
    return
}

# reset --
#	Empties the lists tests collect into (::events from record, ::got
#	from the client-side protocol commands).
proc reset {} {
    set ::events {}
    set ::got {}
    bgErrors
    return
}

# ----------------------------------------------------------------------
# Helper processes.
# ----------------------------------------------------------------------

# startHelper --
#	Starts tests/helpers/FILE (or FILE if absolute) in a child tclsh with
#	args, and reads the first line it prints (a server helper prints its
#	port there).
# Results:
#	{chan pid firstLine}. The helper is killed by killHelper (cleanupAll
#	kills any that are left).
proc startHelper {file args} {
    if {[file pathtype $file] ne "absolute"} {
	set file [file join $::p2ptest::dir helpers $file]
    }
    set chan [open |[list [interpreter] $file {*}$args 2>@1] r+]
    fconfigure $chan -blocking 0 -buffering line -translation lf
    set h [list $chan [pid $chan] ""]
    lappend ::p2ptest::helpers $h
    if {[catch {helperRead $h 10000} line]} {
	killHelper $h
	return -code error "helper [file tail $file] did not start: $line"
    }
    lset h 2 $line
    set ::p2ptest::helpers [lreplace $::p2ptest::helpers end end $h]
    return $h
}

# ----------------------------------------------------------------------
# A private PostgreSQL cluster (for the ledger's tests): created in a
# temporary directory, listening on a unix socket there only, run as
# the user postgres when the tests run as root, stopped by pid.
# ----------------------------------------------------------------------

# pgBinDir --
#	The directory of the newest PostgreSQL server binaries, or "".
proc pgBinDir {} {
    set dirs [lsort -dictionary [glob -nocomplain -type d \
	/usr/lib/postgresql/*/bin]]
    foreach dir [lreverse $dirs] {
	if {[file executable $dir/initdb] && [file executable $dir/pg_ctl]} {
	    return $dir
	}
    }
    set initdb [auto_execok initdb]
    if {$initdb ne "" && [auto_execok pg_ctl] ne ""} {
	return [file dirname [lindex $initdb 0]]
    }
    return ""
}

# As root, the server runs as the user postgres (it refuses root).
proc pgAsUser {} {
    expr {[exec id -u] == 0 ? "postgres" : ""}
}

testConstraint postgres [expr {[pgBinDir] ne ""
    && ![catch {package require tdbc::postgres}]
    && ([pgAsUser] eq "" || (![catch {exec id -u postgres}]
	&& [auto_execok runuser] ne ""))}]

# pgRun --
#	Runs a server program as the server's user; returns its output.
proc pgRun {args} {
    # Without the sanitizer runtime that `make test-asan` preloads into
    # every child: the server's programs hang under it.
    set cmd [list env -u LD_PRELOAD [file join [pgBinDir] [lindex $args 0]] \
	{*}[lrange $args 1 end]]
    if {[pgAsUser] ne ""} {
	set cmd [list runuser -u [pgAsUser] -- {*}$cmd]
    }
    exec {*}$cmd 2>@1
}

# pgStart --
#	Creates a cluster in a new temporary directory and starts it,
#	listening on a unix socket there only. Sets ::pg (dir, port,
#	pid); a failure is kept in ::pg(error) and fails the tests.
proc pgStart {} {
    global pg
    set pg(dir) /tmp/p2pledger-[pid]
    file delete -force $pg(dir)
    file mkdir $pg(dir)
    if {[pgAsUser] ne ""} {
	file attributes $pg(dir) -owner [pgAsUser]
    }
    set pg(port) [freePort]
    if {[catch {
	pgRun initdb -D $pg(dir)/data -A trust -U postgres -E UTF8 \
	    --no-sync
	pgRun pg_ctl -D $pg(dir)/data -l $pg(dir)/server.log -w -t 60 \
	    -o "-k $pg(dir) -p $pg(port) -h ''" start
	set f [open $pg(dir)/data/postmaster.pid]
	set pg(pid) [gets $f]
	close $f
    } msg]} {
	set pg(error) "could not start PostgreSQL: $msg"
    }
}

# pgStop --
#	Stops the cluster by pid (fast shutdown, then SIGKILL if it takes
#	more than 20 s) and removes its directory.
proc pgStop {} {
    global pg
    if {[info exists pg(pid)]} {
	catch {exec kill -INT $pg(pid)}
	set deadline [expr {[clock milliseconds] + 20000}]
	while {[file exists /proc/$pg(pid)]
		&& [clock milliseconds] < $deadline} {
	    pause 50
	}
	catch {exec kill -KILL $pg(pid)}
	unset pg(pid)
    }
    if {[info exists pg(dir)]} {
	file delete -force $pg(dir)
    }
}

# startXvfb --
#	Starts a virtual X server on a display it picks itself
#	(-displayfd); returns a helper whose third element is the DISPLAY
#	(":N"). Lines that are not the display number (warnings about a
#	display already taken by another server) are skipped.
proc startXvfb {{screen 640x480x24}} {
    set chan [open |[list Xvfb -displayfd 1 -nolisten tcp -screen 0 \
	    $screen 2>@1] r]
    fconfigure $chan -blocking 0 -buffering line
    set h [list $chan [pid $chan] ""]
    lappend ::p2ptest::helpers $h
    set seen {}
    set deadline [expr {[clock milliseconds] + 10000}]
    while {1} {
	set ms [expr {$deadline - [clock milliseconds]}]
	if {$ms <= 0 || [catch {helperRead $h $ms} line]} {
	    killHelper $h
	    error "Xvfb did not start: [join $seen { / }]"
	}
	if {[string is integer -strict $line]} {
	    break
	}
	lappend seen $line
    }
    # The helper list holds it with its display now.
    set i [lsearch -exact $::p2ptest::helpers $h]
    set h [list $chan [pid $chan] :$line]
    set ::p2ptest::helpers [lreplace $::p2ptest::helpers $i $i $h]
    return $h
}

# workers --
#	Starts a process (tests/helpers/node.tcl) with n workers of an
#	authority; returns {helper addresses}. args go to each worker (or
#	-liar 1 first).
proc workers {n authority args} {
    set h [startHelper node.tcl worker $n {*}[lrange $args 0 1] \
	-authorities [list $authority] {*}[lrange $args 2 end]]
    list $h [lmap p [lindex $h 2] {string cat 127.0.0.1: $p}]
}

# helperRead --
#	Next line a helper printed, waiting at most timeout ms.
proc helperRead {h {timeout 5000}} {
    set chan [lindex $h 0]
    set deadline [expr {[clock milliseconds] + $timeout}]
    set got ""
    while {[gets $chan line] < 0} {
	if {[eof $chan]} {
	    return -code error "helper exited"
	}
	if {[::p2ptest::WaitReadable $chan $deadline] != 1} {
	    return -code error -errorcode {P2PTEST TIMEOUT} \
		"no line from helper within $timeout ms"
	}
    }
    return $line
}

# helperSend --
#	Sends one line to a helper's stdin.
proc helperSend {h line} {
    puts [lindex $h 0] $line
    flush [lindex $h 0]
}

# killHelper --
#	Kills a helper by pid and closes its channel.
proc killHelper {h} {
    lassign $h chan pids
    foreach pid $pids {
	catch {exec kill -KILL $pid}
    }
    catch {fconfigure $chan -blocking 1}
    catch {close $chan}
    set i [lsearch -exact $::p2ptest::helpers $h]
    if {$i >= 0} {
	set ::p2ptest::helpers [lreplace $::p2ptest::helpers $i $i]
    }
    return
}

# ----------------------------------------------------------------------
# Raw sockets and hand-built frames (core.md, "Wire format"):
#	frame   := length:u32 big-endian, body[length]
#	element := tag:u8, size:u32 big-endian, data[size]
#	tag 0 text (strict UTF-8), tag 1 binary
# ----------------------------------------------------------------------

# rawConnect --
#	A plain Tcl socket to 127.0.0.1:port (or host:port), binary and
#	non-blocking.
proc rawConnect {port {host 127.0.0.1}} {
    set s [socket $host $port]
    fconfigure $s -translation binary -blocking 0 -buffering none
    set ::p2ptest::rbuf($s) ""
    lappend ::p2ptest::raws $s
    return $s
}

# rawSend --
#	Writes bytes on a raw socket.
proc rawSend {s bytes} {
    puts -nonewline $s $bytes
    flush $s
}

# rawClose --
proc rawClose {s} {
    catch {close $s}
    unset -nocomplain ::p2ptest::rbuf($s)
    set i [lsearch -exact $::p2ptest::raws $s]
    if {$i >= 0} {
	set ::p2ptest::raws [lreplace $::p2ptest::raws $i $i]
    }
    return
}

# rawPort --
#	The local port of a raw socket (the server sees it as the peer).
proc rawPort {s} {
    lindex [fconfigure $s -sockname] 2
}

# element --
#	One element: tag is text, binary or a number (any byte, for
#	malformed frames). Text is encoded as UTF-8; binary and numeric tags
#	take data as bytes.
proc element {tag data} {
    switch -- $tag {
	text {
	    set bytes [encoding convertto utf-8 $data]
	    set t 0
	}
	binary {
	    set bytes $data
	    set t 1
	}
	default {
	    set bytes $data
	    set t $tag
	}
    }
    return [binary format cIa* $t [string length $bytes] $bytes]
}

# frame --
#	Wire bytes of one frame whose elements are given as {tag data} pairs,
#	e.g. frame {text echo} [list binary $bytes].
proc frame {args} {
    set body ""
    foreach el $args {
	append body [element {*}$el]
    }
    return [frameBody $body]
}

# frameBody --
#	Wire bytes of a frame around a body given as bytes.
proc frameBody {body} {
    return [binary format Ia* [string length $body] $body]
}

# msg --
#	Wire bytes of a message whose words are all text elements.
proc msg {args} {
    set els {}
    foreach w $args {
	lappend els [list text $w]
    }
    return [frame {*}$els]
}

# hex --
#	Lower-case hex of bytes.
proc hex {bytes} {
    binary scan $bytes H* h
    return $h
}

proc ::p2ptest::WaitReadable {chan deadline} {
    set var ::p2ptest::readable([incr ::p2ptest::seq])
    set $var 0
    set ms [expr {$deadline - [clock milliseconds]}]
    if {$ms < 0} {
	set ms 0
    }
    fileevent $chan readable [list set $var 1]
    set id [after $ms [list set $var 2]]
    vwait $var
    after cancel $id
    catch {fileevent $chan readable {}}
    set r [set $var]
    unset $var
    return $r
}

# readBody --
#	Reads the next frame from a raw socket.
# Results:
#	The frame body (bytes). Errors with code {P2PTEST EOF} when the
#	peer closed first, {P2PTEST TIMEOUT} after timeout ms.
proc readBody {s {timeout 3000}} {
    upvar #0 ::p2ptest::rbuf($s) buf
    set deadline [expr {[clock milliseconds] + $timeout}]
    while {1} {
	if {[string length $buf] >= 4} {
	    binary scan $buf Iu len
	    if {[string length $buf] >= 4 + $len} {
		set body [string range $buf 4 [expr {3 + $len}]]
		set buf [string range $buf [expr {4 + $len}] end]
		return $body
	    }
	}
	set data [read $s]
	if {$data ne ""} {
	    append buf $data
	    continue
	}
	if {[eof $s]} {
	    return -code error -errorcode {P2PTEST EOF} \
		"eof (with [string length $buf] bytes unconsumed)"
	}
	if {[::p2ptest::WaitReadable $s $deadline] != 1} {
	    return -code error -errorcode {P2PTEST TIMEOUT} \
		"no frame within $timeout ms"
	}
    }
}

# parseBody --
#	Splits a frame body into its elements.
# Results:
#	A list of {tag bytes} pairs, tag a number; an error if the elements
#	do not tile the body.
proc parseBody {body} {
    set els {}
    set i 0
    set n [string length $body]
    while {$i < $n} {
	if {$n - $i < 5} {
	    return -code error "element header runs past the body"
	}
	binary scan $body @${i}cuIu tag size
	incr i 5
	if {$size > $n - $i} {
	    return -code error "element runs past the body"
	}
	lappend els [list $tag [string range $body $i [expr {$i + $size - 1}]]]
	incr i $size
    }
    return $els
}

# readElements --
#	The next frame from a raw socket as {tag bytes} pairs.
proc readElements {s {timeout 3000}} {
    parseBody [readBody $s $timeout]
}

# readFrame --
#	The next message from a raw socket as a Tcl list: text elements
#	decoded from UTF-8, binary elements as byte arrays.
proc readFrame {s {timeout 3000}} {
    set words {}
    foreach el [readElements $s $timeout] {
	lassign $el tag bytes
	if {$tag == 0} {
	    lappend words [encoding convertfrom utf-8 $bytes]
	} else {
	    lappend words $bytes
	}
    }
    return $words
}

# readEof --
#	Reads (and drops) from a raw socket until the peer closes it.
# Results:
#	The number of bytes dropped; an error after timeout ms.
proc readEof {s {timeout 3000}} {
    upvar #0 ::p2ptest::rbuf($s) buf
    set deadline [expr {[clock milliseconds] + $timeout}]
    set n [string length $buf]
    set buf ""
    while {1} {
	if {[catch {read $s} data]} {
	    # ECONNRESET counts as closed.
	    return $n
	}
	incr n [string length $data]
	if {[eof $s]} {
	    return $n
	}
	if {$data ne ""} {
	    continue
	}
	if {[::p2ptest::WaitReadable $s $deadline] != 1} {
	    return -code error -errorcode {P2PTEST TIMEOUT} \
		"peer did not close within $timeout ms"
	}
    }
}

# rawNegotiate --
#	Offers protocols on a raw socket and returns the server's answer.
proc rawNegotiate {s offers {timeout 3000}} {
    rawSend $s [msg protocol $offers]
    readFrame $s $timeout
}

# rawSocketIsOpen --
#	True when a raw socket has not seen EOF (non-destructively: whatever
#	is readable is kept for readBody).
proc rawPoll {s} {
    if {[catch {read $s} data]} {
	return 0
    }
    append ::p2ptest::rbuf($s) $data
    return [expr {![eof $s]}]
}

# ----------------------------------------------------------------------
# Peers of a node: a node's servers demand an identity handshake
# (doc/protocol.md section 10), so a test that speaks to a node message by
# message does it through a p2p::client with a key pair of its own.
# ----------------------------------------------------------------------

# peerConnect --
#	A client with a fresh identity (or -identity) connected to the node
#	at 127.0.0.1:port, offering protocol root (versions: those of its
#	reverse to install, highest first). Every message the node sends is
#	queued for peerRead. Options are the client's (-netsecret, -secure,
#	-identity ...).
proc peerConnect {port root {versions 1} args} {
    set c [p2p::client new -address 127.0.0.1:$port -protocol $root \
	-identity [p2p::identity generate] {*}$args]
    set rev [p2p::protocol reverse $root]
    foreach v $versions {
	set map [dict create exception [list ::p2ptest::Heard $c exception]]
	foreach cmd [p2p::protocol commands $rev/$v] {
	    dict set map $cmd [list ::p2ptest::Heard $c $cmd]
	}
	$c protocol add $rev/$v $map
    }
    set ::p2ptest::heard($c) {}
    $c connect
    return $c
}

proc ::p2ptest::Heard {c args} {
    lappend ::p2ptest::heard($c) $args
    return
}

# peerSend --
#	Sends message (a list) to the node.
proc peerSend {c message} {
    $c send [$c cid] $message
}

# peerRead --
#	The next message the node sent on c, waiting at most timeout ms
#	(error code P2PTEST TIMEOUT, or P2PTEST EOF once c is closed).
proc peerRead {c {timeout 3000}} {
    set deadline [expr {[clock milliseconds] + $timeout}]
    while {![llength $::p2ptest::heard($c)]} {
	if {[$c cid] eq ""} {
	    return -code error -errorcode {P2PTEST EOF} "connection closed"
	}
	if {[clock milliseconds] > $deadline} {
	    return -code error -errorcode {P2PTEST TIMEOUT} \
		"no message in $timeout ms"
	}
	pause 5
    }
    set ::p2ptest::heard($c) [lassign $::p2ptest::heard($c) m]
    return $m
}

# peerHello --
#	A peer of the worker at port that said hello as a foreman (root
#	p2p:worker<-foreman, the given versions).
proc peerHello {port {versions 1} args} {
    set c [peerConnect $port p2p:worker<-foreman $versions {*}$args]
    peerSend $c [list hello default foreman]
    peerRead $c
    return $c
}

# ----------------------------------------------------------------------
# Servers and clients used by many tests.
# ----------------------------------------------------------------------

namespace eval ::t {
    # Server side of chat/1 and chat/2.
    proc echo {args} {
	list echoed {*}$args
    }
    proc quiet {args} {
	return
    }
    proc fail {msg} {
	error $msg
    }
    proc caller {} {
	list caller {*}[p2p::caller]
    }
    proc version {v} {
	list version $v
    }
    # Client side: keeps what arrives in ::got.
    proc got {args} {
	lappend ::got $args
	return
    }
}

# chatMap --
#	Command map of the server side of chat/N.
proc chatMap {{version 1}} {
    dict create echo ::t::echo quiet ::t::quiet fail ::t::fail \
	caller ::t::caller version [list ::t::version $version]
}

# gotMap --
#	Command map of the client side: every reply word lands in ::got.
proc gotMap {args} {
    set m {}
    foreach w [concat {echoed version caller} $args] {
	dict set m $w [list ::t::got $w]
    }
    return $m
}

# chatServer --
#	Creates server NAME on a free port speaking chat/1 (and the given
#	options). Returns its port.
proc chatServer {name args} {
    p2p::server create $name -port 0 {*}$args
    $name protocol add chat/1 [chatMap 1]
    return [$name cget -port]
}

# chatClient --
#	Creates client NAME for 127.0.0.1:port speaking chat/1 (replies land
#	in ::got). Does not connect.
proc chatClient {name port args} {
    p2p::client create $name -address 127.0.0.1:$port -protocol chat \
	{*}$args
    $name protocol add chat/1 [gotMap]
    return $name
}

# serverCid --
#	The cid a server gave the connection of a raw socket (found by the
#	peer address), waiting for it to be accepted.
proc serverCid {srv s {timeout 3000}} {
    set peer 127.0.0.1:[rawPort $s]
    set deadline [expr {[clock milliseconds] + $timeout}]
    while {1} {
	foreach cid [$srv connections] {
	    if {[dict get [$srv stats $cid] peer] eq $peer} {
		return $cid
	    }
	}
	if {[clock milliseconds] > $deadline} {
	    return -code error "server $srv never accepted $peer"
	}
	pause 5
    }
}

# freePort --
#	A port that was free a moment ago (bound by a plain Tcl socket then
#	closed).
proc freePort {} {
    set s [socket -server {apply {args {}}} -myaddr 127.0.0.1 0]
    set port [lindex [fconfigure $s -sockname] 2]
    close $s
    return $port
}

# ----------------------------------------------------------------------
# Cleanup and leak checks.
# ----------------------------------------------------------------------

# cleanupAll --
#	Destroys every server and client object, closes raw sockets and
#	kills helpers that tests left behind.
proc cleanupAll {} {
    foreach cls {::p2p::server ::p2p::client} {
	foreach obj [info class instances $cls] {
	    catch {$obj destroy}
	}
	foreach sub [info class subclasses $cls] {
	    foreach obj [info class instances $sub] {
		catch {$obj destroy}
	    }
	}
    }
    foreach s $::p2ptest::raws {
	rawClose $s
    }
    foreach h $::p2ptest::helpers {
	killHelper $h
    }
    return
}

proc ::p2ptest::Counts {} {
    list [p2p::debug objects] [p2p::debug handles] [p2p::debug pending]
}

# checkLeaks --
#	Waits (boundedly, through the event loop, so that close callbacks
#	run) until p2p::debug objects, handles and pending are back at their
#	baseline, and that no background error went unnoticed.
# Results:
#	Empty, or an error naming what leaked.
proc checkLeaks {{timeout 3000}} {
    set base $::p2ptest::base
    if {[catch {waitFor {[::p2ptest::Counts] eq $base} $timeout}]} {
	lassign [::p2ptest::Counts] o h p
	lassign $base bo bh bp
	return -code error "leak: objects $o (baseline $bo), handles $h\
		(baseline $bh), pending $p (baseline $bp)"
    }
    set errs [bgErrors]
    if {[llength $errs]} {
	return -code error "unexpected background errors: $errs"
    }
    return
}

# The baseline: what the package holds with no object alive, after one
# server has been made and destroyed (so that anything the loop creates
# on first use is counted).
proc ::p2ptest::Baseline {} {
    set objects [p2p::debug objects]
    p2p::server create ::p2ptest::probe -port 0
    ::p2ptest::probe destroy
    if {[catch {waitFor {[p2p::debug objects] == $objects} 2000}]} {
	puts stderr "warning: objects did not return to $objects after\
		destroying a server"
    }
    set ::p2ptest::base [::p2ptest::Counts]
}
::p2ptest::Baseline

# A whole test file must not hang the run: after P2PTEST_FILE_TIMEOUT
# seconds (default 300, stretched by slowMs) the file gives up with an
# error. (A timer event gets through any wait that runs the event loop.)
if {![info exists ::p2ptest::watchdog]} {
    set ::p2ptest::watchdog [after [slowMs [expr {1000 * (
	[info exists ::env(P2PTEST_FILE_TIMEOUT)]
	? $::env(P2PTEST_FILE_TIMEOUT) : 300)}]] {
	puts stderr "watchdog: [file tail [info script]] did not finish in\
		time; giving up"
	exit 2
    }]
}

# ----------------------------------------------------------------------
# Constraints.
# ----------------------------------------------------------------------

# Process CPU time in clock ticks (utime + stime) from /proc/self/stat.
proc cpuTicks {} {
    set f [open /proc/self/stat]
    set line [read $f]
    close $f
    # The command name (field 2) is in parentheses and may hold spaces.
    set rest [string range $line [expr {[string last ")" $line] + 2}] end]
    # rest starts at field 3; utime and stime are fields 14 and 15.
    expr {[lindex $rest 11] + [lindex $rest 12]}
}
testConstraint procStat [expr {![catch {cpuTicks}]}]

# Another local IPv4 address than loopback, if the machine has one.
proc otherLocalAddress {} {
    if {[catch {exec hostname -I} addrs]} {
	return ""
    }
    foreach a $addrs {
	if {[regexp {^\d+\.\d+\.\d+\.\d+$} $a] && ![string match 127.* $a]} {
	    # Make sure a plain socket can listen and connect there.
	    if {[catch {
		set l [socket -server {apply {{c a p} {close $c}}} -myaddr $a 0]
		set p [lindex [fconfigure $l -sockname] 2]
		set c [socket $a $p]
		close $c
		close $l
	    }]} {
		catch {close $l}
		continue
	    }
	    return $a
	}
    }
    return ""
}
