# ledgerdriver.tcl --
#
#	Test helper for tests/ledger.test: performs a deterministic series
#	of random ledger operations and prints each one once it has been
#	acknowledged (the call returned), so that a test can kill -9 it at
#	any moment and know what it was told.
#
#	    tclsh ledgerdriver.tcl LEDGER.TCL DB SEED FROM COUNT ?option value?
#
#	LEDGER.TCL	the library file to source (library/ledger.tcl)
#	DB		the ledger's options, e.g. {-file /tmp/x.sqlite}
#	SEED		seed of the series
#	FROM COUNT	performs operations FROM .. COUNT-1
#	-expire 0|1	whether the series holds expire calls (default 1)
#	-batch n	makes n operations per batch (default 1: none)
#
#	Expire has no operation id: made again after a restart, it
#	refunds what is due then. Without batches that is what it
#	refunded the first time (nothing came after it); a batch that
#	committed but was not acknowledged is made again after the
#	operations that followed it, so use -expire 0 with -batch when
#	comparing with a reference run.
#
#	Operation i is a function of SEED and i only (its arguments never
#	depend on the state of the ledger), so a driver restarted at the
#	operation it was making when killed repeats it with the same
#	operation id and the same arguments. A release or refund names the
#	escrow made by an earlier operation j, which it learns by repeating
#	operation j (the ledger returns its first outcome).
#
#	Output, one line each, flushed:
#	    ready			the ledger is open
#	    ack I ok RESULT		operation opI returned RESULT
#	    ack I error ERRORCODE	operation opI raised an error
#	    ack I repeat J ok|error ...	a repeat of opJ returned that
#	    ack I expire N		expire refunded N escrows
#	    done

lassign $argv lib db seed from count
set opts [dict merge {-expire 1 -batch 1} [lrange $argv 5 end]]
source $lib
fconfigure stdout -buffering line

set accounts {a0 a1 a2 a3 a4}

# Draws --
#	The random numbers of operation i: a list of floats in [0,1).
proc Draws {i} {
    global seed
    expr {srand(($seed * 7919 + $i * 104729 + 1) % 2147483647)}
    lmap k {1 2 3 4 5 6} {expr {rand()}}
}

proc Pick {list r} {
    lindex $list [expr {int($r * [llength $list])}]
}

# Kind --
#	What operation i is: grant, escrow, release, refund, expire or
#	repeat.
proc Kind {i} {
    global opts
    set r [lindex [Draws $i] 0]
    if {$i < 5} {
	return grant
    }
    if {$r < 0.10} {
	return grant
    } elseif {$r < 0.50} {
	return escrow
    } elseif {$r < 0.72} {
	return release
    } elseif {$r < 0.85} {
	return refund
    } elseif {$r < 0.90 && [dict get $opts -expire]} {
	return expire
    }
    return repeat
}

# Earlier --
#	An operation before i whose kind is in kinds (searched back from
#	a random point), or -1.
proc Earlier {i r kinds} {
    set j [expr {$i - 1 - int($r * min($i, 60))}]
    while {$j >= 0 && [Kind $j] ni $kinds} {
	incr j -1
    }
    return $j
}

# Call --
#	The ledger call of operation i (for grant, escrow, release and
#	refund): a list of words after "$ledger".
proc Call {l i} {
    global accounts
    lassign [Draws $i] r0 r1 r2 r3 r4 r5
    set kind [Kind $i]
    switch -- $kind {
	grant {
	    if {$i < 5} {
		return [list grant op$i [lindex $accounts $i] 200]
	    }
	    return [list grant op$i [Pick $accounts $r1] \
		[expr {1 + int($r2 * 50)}]]
	}
	escrow {
	    set call [list escrow op$i [Pick $accounts $r1] \
		[expr {1 + int($r2 * 30)}]]
	    if {$r3 < 0.3} {
		lappend call -expires 3600000
	    }
	    return $call
	}
	release - refund {
	    set id [EscrowOf $l [Earlier $i $r4 escrow]]
	    if {$kind eq "refund"} {
		return [list refund op$i $id]
	    }
	    set call [list release op$i $id [Pick $accounts $r1]]
	    if {$r3 < 0.3} {
		lappend call -amount [expr {1 + int($r5 * 10)}]
	    }
	    return $call
	}
    }
    error "operation $i is a $kind"
}

# EscrowOf --
#	The escrow id made by operation j (by repeating it), or an id that
#	names no escrow when there is no such operation or it failed.
proc EscrowOf {l j} {
    if {$j < 0 || [catch {$l {*}[Call $l $j]} id]} {
	return 999999999
    }
    return $id
}

# Outcome --
#	"ok RESULT" or "error ERRORCODE" of a call.
proc Outcome {l call} {
    if {[catch {$l {*}$call} result opts]} {
	set code [dict get $opts -errorcode]
	if {[lindex $code 0] ne "P2P"} {
	    # Not an outcome of the ledger: let the test see it.
	    return -options $opts $result
	}
	return [list error $code]
    }
    return [list ok $result]
}

# Step --
#	Performs operation i; returns its ack line.
proc Step {l i} {
    switch -- [Kind $i] {
	expire {
	    return "ack $i expire [$l expire 4102444800000]"
	}
	repeat {
	    set j [Earlier $i [lindex [Draws $i] 1] {grant escrow release refund}]
	    if {$j < 0} {
		return "ack $i repeat -1"
	    }
	    return "ack $i repeat $j [Outcome $l [Call $l $j]]"
	}
	default {
	    return "ack $i [Outcome $l [Call $l $i]]"
	}
    }
}

set l [p2p::ledger new {*}$db]
foreach a $accounts {
    $l account $a -create 1
}
puts ready
set batch [dict get $opts -batch]
for {set i $from} {$i < $count} {incr i $batch} {
    set end [expr {min($count, $i + $batch)}]
    if {$batch == 1} {
	puts [Step $l $i]
    } else {
	# Acknowledged only once the batch has committed.
	set acks [$l batch {
	    set acks {}
	    for {set k $i} {$k < $end} {incr k} {
		lappend acks [Step $l $k]
	    }
	    set acks
	}]
	puts [join $acks \n]
    }
}
$l close
puts done
