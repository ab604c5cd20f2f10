# secureserver.tcl --
#
#	Test helper: a p2p::server with an identity in its own process,
#	speaking chat/1 (echo). Its key pair lives in KEYFILE (created on
#	first use by p2p::identity file). Prints "PORT PUBLICKEY" on the
#	first line of stdout, then one line per connection that ends:
#	    disconnect REASON
#	It exits when stdin is closed, so it never outlives the test.
#	AESGCM and REKEY, when given, are its p2p::debug aesgcm and rekey.
#
#	Usage: tclsh secureserver.tcl KEYFILE SECURE ?NETSECRET? ?AESGCM?
#		?REKEY?

lappend auto_path [file dirname [file dirname [file dirname \
	[file normalize [info script]]]]]
package require p2pjobs

lassign $argv keyfile secure netsecret aesgcm rekey
if {$aesgcm ne ""} {
    p2p::debug aesgcm $aesgcm
}
if {$rekey ne ""} {
    p2p::debug rekey $rekey
}
set id [p2p::identity file $keyfile]
proc echo {args} {list echoed {*}$args}
proc gone {h cid reason} {puts [list disconnect $reason]}
p2p::server create srv -port 0 -identity $id -secure $secure \
	-netsecret $netsecret -ondisconnect gone
srv protocol add chat/1 {echo echo}

fconfigure stdout -buffering line
fconfigure stdin -blocking 0
fileevent stdin readable {
    if {[gets stdin line] < 0 && [eof stdin]} {
	exit 0
    }
}
puts [list [srv cget -port] [dict get $id public]]
vwait forever
