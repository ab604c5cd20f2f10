# make-corpus.tcl --
#
#	Writes the seed corpora of the fuzz targets: a few valid and invalid
#	byte streams in the wire format of doc/protocol.md, for the frame
#	parser (corpus-frame/, tests/fuzz/frame_fuzz.c) and for the
#	dispatcher (corpus-dispatch/, tests/fuzz/dispatch_fuzz.c: what a
#	peer sends to a server that speaks fuzz/1 and fuzz/2). The output is
#	committed; rerun after changing this file:
#
#	    tclsh tests/fuzz/make-corpus.tcl ?DIR?     (or: make fuzz-corpus)
#
#	DIR defaults to the directory of this script; the corpora are
#	written to DIR/corpus-NAME/. Files are named after what they hold;
#	existing seeds of the same name are replaced.

namespace eval ::corpus {
    variable top [file dirname [file normalize [info script]]]
    variable dir
}

# ::corpus::Element TAG DATA --
#	One element: tag byte, u32 big-endian size, data bytes. DATA is a
#	byte string (characters 0..255).
proc ::corpus::Element {tag data} {
    return [binary format cIa* $tag [string length $data] $data]
}

# ::corpus::Text STRING --
#	A text element holding STRING encoded as UTF-8.
proc ::corpus::Text {string} {
    return [Element 0 [encoding convertto utf-8 $string]]
}

# ::corpus::Binary BYTES --
#	A binary element.
proc ::corpus::Binary {bytes} {
    return [Element 1 $bytes]
}

# ::corpus::Frame BODY --
#	A frame: u32 big-endian body length, then BODY.
proc ::corpus::Frame {body} {
    return [binary format Ia* [string length $body] $body]
}

# ::corpus::Message WORD ... --
#	A frame of text elements, one per word.
proc ::corpus::Message {args} {
    set body ""
    foreach word $args {
	append body [Text $word]
    }
    return [Frame $body]
}

# ::corpus::Write NAME BYTES --
#	Writes one seed file.
proc ::corpus::Write {name bytes} {
    variable dir
    set f [open [file join $dir $name] wb]
    puts -nonewline $f $bytes
    close $f
}

proc ::corpus::Main {argv} {
    variable top
    variable dir
    if {[llength $argv] > 1} {
	puts stderr "usage: tclsh make-corpus.tcl ?DIR?"
	exit 2
    }
    if {[llength $argv] == 1} {
	set top [lindex $argv 0]
    }
    set dir [file join $top corpus-frame]
    file mkdir $dir
    FrameSeeds
    set dir [file join $top corpus-dispatch]
    file mkdir $dir
    DispatchSeeds
}

# ::corpus::FrameSeeds --
#	The seeds of frame_fuzz.
proc ::corpus::FrameSeeds {} {
    # Valid streams.
    Write valid-keepalive [Frame ""]
    Write valid-echo [Message echo hi]
    Write valid-protocol-offer \
	    [Message protocol "chat<-client/3 chat<-client/2 chat<-client/1"]
    Write valid-protocol-reply [Message protocol chat<-client/2]
    Write valid-exception \
	    [Message exception {unknown command "foo": must be a, b, or c}]
    Write valid-empty-elements [Frame [Text ""][Binary ""][Text ""]]
    Write valid-binary [Frame [Text put][Binary [binary format c* {
	0 1 2 3 127 128 192 193 237 245 254 255
    }]]]
    Write valid-text-nul [Frame [Text "a\u0000b"][Text "\u0000"]]
    Write valid-utf8 [Frame [join [list [Text "caf\u00e9"] \
	    [Text "\u20ac \u0800 \uffff"] [Text "\ud7ff \ue000"]] ""]]
    # 4-byte sequences, written as bytes because Tcl 8.6 strings are BMP only.
    Write valid-utf8-4byte [Frame [Element 0 [binary format c* {
	0xF0 0x90 0x80 0x80 0x20 0xF4 0x8F 0xBF 0xBF 0x20 0xF0 0x9F 0x98 0x80
    }]]]
    Write valid-stream [join [list [Message echo one] [Frame ""] \
	    [Message echo two three] \
	    [Frame [Text send][Binary [string repeat \x00\xff 40]]]] ""]
    set words {}
    for {set i 0} {$i < 60} {incr i} {
	lappend words w$i
    }
    Write valid-many-elements [Message {*}$words]
    Write valid-large-element [Frame [Text data][Binary \
	    [string repeat [binary format c* {1 2 3 4 5 6 7 8}] 200]]]

    # Incomplete streams: the scanner must ask for more.
    Write need-header [binary format c* {0 0 0}]
    Write need-body [string range [Message echo hi] 0 end-3]
    Write need-after-frame [Message echo hi][binary format c* {0 0 1}]

    # Bodies that do not tile: elements running past the end, leftovers.
    Write malformed-short-header [Frame [binary format c* {0 0 0}]]
    Write malformed-size-past-end [Frame [binary format cIa* 0 10 abc]]
    Write malformed-trailing-bytes [Frame [Text echo][binary format c* {0 0}]]
    Write malformed-huge-element-size \
	    [Frame [binary format cIa* 1 0xFFFFFFFF xyz]]
    Write malformed-then-valid \
	    [Frame [binary format cIa* 0 9 ab]][Message echo hi]

    # Unknown tags.
    Write badtag-2 [Frame [Element 2 abc]]
    Write badtag-ff-after-text [Frame [Text echo][Element 255 x]]

    # Invalid UTF-8 in text elements (the same bytes are fine as binary).
    foreach {name bytes} {
	overlong-nul      {0xC0 0x80}
	overlong-slash    {0xE0 0x80 0xAF}
	overlong-4byte    {0xF0 0x8F 0xBF 0xBF}
	surrogate         {0xED 0xA0 0x80}
	above-10ffff      {0xF4 0x90 0x80 0x80}
	lead-f5           {0xF5 0x80 0x80 0x80}
	lone-continuation {0x41 0x80 0x42}
	truncated         {0x41 0xE2 0x82}
	lead-ff           {0xFF}
    } {
	set data [binary format c* $bytes]
	Write badutf8-$name [Frame [Text echo][Element 0 $data]]
	Write valid-binary-$name [Frame [Text echo][Binary $data]]
    }

    # Frames over the limits the fuzzer uses (4194304, 64 and 0).
    Write toobig-max [binary format I 0xFFFFFFFF]
    Write toobig-default [binary format Ia* 4194305 abc]
    Write toobig-65 [Message echo [string repeat x 60]]
    Write toobig-after-valid [Message echo hi][binary format I 0x7FFFFFFF]
}

# ::corpus::DispatchSeeds --
#	The seeds of dispatch_fuzz: streams a peer sends to a server that
#	speaks fuzz/1 (echo, fail) and fuzz/2 (also swap a b), with -maxframe
#	65536.
proc ::corpus::DispatchSeeds {} {
    set hello2 [Message protocol fuzz/2]
    set hello1 [Message protocol fuzz/1]

    # Negotiation.
    Write offer-2 $hello2
    Write offer-1 $hello1
    Write offer-list [Message protocol "fuzz/1 fuzz/2 other/9"]
    Write offer-words [Message protocol other/1 fuzz/1 fuzz/2]
    Write offer-none [Message protocol other/1]
    Write offer-empty [Message protocol]
    Write offer-notalist [Message protocol "fuzz/2 \{"]
    Write offer-binary [Frame [Text protocol][Binary fuzz/2]]
    Write offer-twice $hello2$hello1
    Write before-offer [Message echo hi]$hello2
    Write exception-before-offer [Message exception oops]$hello2

    # Commands.
    Write echo $hello2[Message echo hi there]
    Write echo-none $hello2[Message echo]
    Write echo-binary $hello2[Frame [Text echo][Binary \
	    [binary format c* {0 1 2 127 128 255}]][Text x]]
    Write echo-nul $hello2[Frame [Text echo][Text "a\u0000b"]]
    Write echo-utf8 $hello2[Frame [Text echo][Text "caf\u00e9 \u20ac"]]
    Write echo-4byte $hello2[Frame [Text echo][Element 0 [binary format c* {
	0xF0 0x9F 0x98 0x80 0x20 0xF4 0x8F 0xBF 0xBF
    }]]]
    Write echo-listy $hello2[Message echo "a b" "\{" "\\" {"}]
    Write echo-empty-words $hello2[Frame [Text echo][Text ""][Binary ""]]
    set words {}
    for {set i 0} {$i < 40} {incr i} {
	lappend words w$i
    }
    Write echo-many $hello2[Message echo {*}$words]
    Write swap $hello2[Message swap a b]
    Write swap-binary $hello2[Frame [Text swap][Binary \x00\xff][Text z]]
    Write swap-wrong-args $hello2[Message swap a]
    Write swap-in-1 $hello1[Message swap a b]
    Write fail $hello2[Message fail now]
    Write unknown $hello2[Message nosuch x]
    Write unknown-binary $hello2[Frame [Binary \xff\xfe][Text x]]
    Write exception $hello2[Message exception "from peer"]
    Write keepalives [Frame ""]$hello2[Frame ""][Message echo k][Frame ""]
    Write stream $hello1[Message echo one][Message fail][Message echo two]

    # What closes the connection, after replies that must still arrive
    # (or not: a reply queued with the bad frame may be lost).
    Write close-toobig $hello2[Message echo hi][binary format I 65537]
    Write close-badtag $hello2[Message echo hi][Frame [Element 2 x]]
    Write close-badutf8 $hello2[Message echo hi][Frame [Text echo][Element 0 \
	    [binary format c* {0xC0 0x80}]]]
    Write close-malformed $hello2[Frame [binary format cIa* 0 9 ab]]

    # Incomplete: the server waits for the rest.
    Write incomplete $hello2[string range [Message echo hello] 0 end-2]
}

::corpus::Main $argv
