# all.tcl --
#
#	Runs every tests/*.test file with tcltest (each in its own tclsh by
#	default) and exits with status 1 when any test failed or any test
#	file ended in an error. Options are passed to tcltest, e.g.
#
#	    tclsh tests/all.tcl -file server.test -match server-2.*
#	    tclsh tests/all.tcl -singleproc 1 -verbose bpe
#
#	The package is found in the build tree (the directory above this one,
#	which holds pkgIndex.tcl) after anything TCLLIBPATH names.

package require tcltest 2.5
namespace import ::tcltest::*

set testsDir [file dirname [file normalize [info script]]]
set buildDir [file dirname $testsDir]
if {$buildDir ni $auto_path} {
    lappend auto_path $buildDir
}

# Test files in child processes find the build tree the same way (through
# common.tcl), and keep whatever TCLLIBPATH already says first.
if {[info exists env(TCLLIBPATH)]} {
    if {$buildDir ni $env(TCLLIBPATH)} {
	set env(TCLLIBPATH) [concat $env(TCLLIBPATH) [list $buildDir]]
    }
} else {
    set env(TCLLIBPATH) [list $buildDir]
}

configure -testdir $testsDir -singleproc 0
if {[llength $argv]} {
    configure {*}$argv
}

# runAllTests resets its counters after printing the totals and does not
# set an exit status. The cleanup hook runs just before the totals are
# printed (for -singleproc 1 also once per file, with running totals):
# keep the last numbers, and the files that ended in an error, which
# runAllTests keeps in a local variable of its own.
set ::allFailed 0
set ::allPassed 0
set ::allSkipped 0
set ::allTotal 0
set ::allFileErrors {}
proc ::tcltest::cleanupTestsHook {} {
    variable numTests
    set ::allFailed $numTests(Failed)
    set ::allPassed $numTests(Passed)
    set ::allSkipped $numTests(Skipped)
    set ::allTotal $numTests(Total)
    for {set level [info level]} {$level > 0} {incr level -1} {
	if {[string match *runAllTests [lindex [info level $level] 0]]} {
	    upvar #$level testFileFailures failures
	    if {[info exists failures]} {
		set ::allFileErrors $failures
	    }
	    break
	}
    }
}

runAllTests

set status 0
if {$::allFailed > 0} {
    puts [outputChannel] "FAILED: $::allFailed test(s) failed"
    set status 1
}
if {[llength $::allFileErrors]} {
    puts [outputChannel] "FAILED: test file(s) ended in an error:\
	    [lmap f $::allFileErrors {file tail $f}]"
    set status 1
}
if {$::allTotal == 0 && $status == 0} {
    puts [outputChannel] "FAILED: no test ran"
    set status 1
}
# The plain closing line that CI reads, whatever runner it knows.
puts [outputChannel] "tests: $::allPassed passed, $::allFailed failed,\
	$::allSkipped skipped"
flush [outputChannel]
exit $status
