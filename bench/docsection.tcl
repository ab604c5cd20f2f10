# docsection.tcl --
#
#	Shared by the benchmarks that write a section of doc/performance.md:
#	replaces the text between <!-- begin NAME --> and <!-- end NAME -->
#	(markers included) of a file, or appends the section when the file
#	has no such markers yet.
#
#	USAGE: source bench/docsection.tcl; ::bench::writeSection FILE NAME TEXT
#	(TEXT starts with the begin marker and ends with the end marker and
#	a newline.)

namespace eval ::bench {}

proc ::bench::writeSection {doc name section} {
    set text ""
    if {[file exists $doc]} {
	set f [open $doc]
	set text [read $f]
	close $f
    }
    set begin "<!-- begin $name -->"
    set end "<!-- end $name -->\n"
    set b [string first $begin $text]
    set e [string first $end $text]
    if {$b >= 0 && $e > $b} {
	set text [string replace $text $b \
	    [expr {$e + [string length $end] - 1}] $section]
    } else {
	append text "\n" $section
    }
    set f [open $doc w]
    puts -nonewline $f $text
    close $f
}
