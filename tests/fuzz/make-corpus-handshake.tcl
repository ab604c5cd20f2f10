# make-corpus-handshake.tcl --
#
#	Writes the seed corpus of the handshake fuzzer
#	(tests/fuzz/handshake_fuzz.c): inputs in its layout (a flags byte,
#	then pieces of u16 big-endian length and bytes) whose pieces look
#	like handshake messages of doc/protocol.md and like encrypted frames.
#	The output is committed; rerun after changing this file:
#
#	    tclsh tests/fuzz/make-corpus-handshake.tcl ?DIR?
#
#	DIR defaults to corpus-handshake/ next to this script. Files are
#	named after what they hold; existing seeds of the same name are
#	replaced. Seeds are fixed bytes (no randomness), so reruns write
#	identical files.

namespace eval ::corpus {
    variable dir [file join [file dirname [file normalize [info script]]] \
	    corpus-handshake]
}

# ::corpus::Key CHAR --
#	32 bytes of CHAR (a stand-in key).
proc ::corpus::Key {char} {
    return [string repeat $char 32]
}

# ::corpus::Msg1 VERSION FLAGS / Msg2 / Msg3 --
#	Handshake message bodies with stand-in keys, signatures and MACs.
proc ::corpus::Msg1 {{version 2} {flags 0}} {
    return [binary format a4ccca32a32 P2HS 1 $version $flags \
	    [Key i] [Key e]]
}
proc ::corpus::Msg2 {{version 2} {flags 0}} {
    return [binary format a4ccca32a32a64a32 P2HS 2 $version $flags \
	    [Key I] [Key E] [string repeat s 64] [Key m]]
}
proc ::corpus::Msg3 {} {
    return [binary format a4ca64a32 P2HS 3 [string repeat S 64] [Key M]]
}

# ::corpus::Sealed LEN --
#	A made-up encrypted frame: u32 ciphertext length LEN, LEN bytes.
proc ::corpus::Sealed {len} {
    return [binary format Ia* $len [string repeat x $len]]
}

# ::corpus::Input FLAGS PIECE ... --
#	One fuzzer input.
proc ::corpus::Input {flags args} {
    set out [binary format c $flags]
    foreach piece $args {
	append out [binary format Sa* [string length $piece] $piece]
    }
    return $out
}

proc ::corpus::Write {name bytes} {
    variable dir
    set f [open [file join $dir $name] wb]
    puts -nonewline $f $bytes
    close $f
}

proc ::corpus::Main {argv} {
    variable dir
    if {[llength $argv]} {
	set dir [lindex $argv 0]
    }
    file mkdir $dir
    Write empty ""
    Write flags-only [binary format c 3]
    Write msg1-msg3 [Input 0 [Msg1] [Msg3]]
    Write msg1-encrypt [Input 1 [Msg1 2 1] [Msg3]]
    Write msg1-aesgcm [Input 3 [Msg1 2 3] [Msg3]]
    Write msg1-version1 [Input 2 [Msg1 1 0] [Msg3]]
    Write msg1-version3 [Input 2 [Msg1 3 0] [Msg3]]
    Write msg1-short [Input 0 [string range [Msg1] 0 20] ""]
    Write msg1-plain-frame [Input 0 \
	    [binary format caI 0 protocol 0] ""]
    Write msg2-forged [Input 1 [Msg1] [Msg2 2 1] "" ""]
    Write msg2-aesgcm-unoffered [Input 9 [Msg1 2 1] [Msg2 2 3] "" ""]
    Write msg2-tail [Input 0 [Msg1] [Msg2] [Key m] ""]
    Write msg2-netsecret [Input 4 [Msg1] [Msg2] "" ""]
    Write sealed-frames [Input 3 [Msg1] [Msg2] "" \
	    "[Sealed 20][Sealed 40][Sealed 3]"]
    Write sealed-chacha-rekey [Input [expr {3 | 8 | 32}] [Msg1] [Msg2] "" \
	    "[Sealed 20][Sealed 40]"]
    Write sealed-toobig [Input 1 "" "" "" [binary format I 0x7fffffff]]
    Write sealed-partial [Input 1 "" "" "" [string range [Sealed 64] 0 30]]
}

::corpus::Main $argv
