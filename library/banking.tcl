# banking.tcl --
#
#	p2p::banking: the authority's side of the points ledger (DESIGN 3,
#	"Ledger"), a class mixed into p2p::authority. The ledger itself is
#	p2p::ledger (library/ledger.tcl): SQLite in the authority's -data
#	directory, or PostgreSQL (-ledger postgres://...).
#
#	Accounts. Every node has a key pair (p2p::net::security) and every
#	connection to the authority proves which key its peer holds (the
#	handshake of -identity, doc/protocol.md section 10). A node's
#	account is named by its key, `p2p::identity id PUBLIC-KEY`: it is
#	made (with a grant of -grant points) the first time the node says
#	hello (foreman) or registers (worker), and pushed as `account
#	NAME`. No secret is kept or sent: whoever holds the key holds the
#	account, on any authority sharing the ledger.
#
#	Requests (p2p:authority<-node/1), each signed by the account's key
#	(p2p::net::signed: PROOF is {NONCE SIGNATURE}), with an operation
#	id chosen by the caller (repeating one returns the first outcome):
#
#	    escrow ACCOUNT PROOF OPID AMOUNT ?EXPIRES-MS? ?HOLDER-ADDRESS?
#	    carve ACCOUNT PROOF OPID PARENT AMOUNT EXPIRES-MS HOLDER-ADDRESS
#	    release ACCOUNT PROOF OPID ESCROW WORKER-ADDRESS ?AMOUNT?
#	    refund ACCOUNT PROOF OPID ESCROW
#	    history ACCOUNT PROOF ?LIMIT?
#	    balance ACCOUNT
#
#	A signed request is accepted only over a connection whose peer
#	holds ACCOUNT's key, with a valid signature, a nonce whose time is
#	within -window ms (5 minutes) of the authority's clock, and a
#	nonce the ledger has not seen from that account (kept in the
#	ledger's nonces table, so a replay is refused after a restart and
#	by every authority of a shared ledger). Refusals are exceptions
#	(P2P LEDGER DENIED, SIGNATURE, STALE or REPLAY). The rest is
#	answered by `ledger OPID ok RESULT` or `ledger OPID error MESSAGE
#	CODE` (see Outcome). The ledger records OPID as ACCOUNT/OPID, so
#	the ids of different nodes cannot collide.
#	(history: `history ACCOUNT ROWS`, balance: `balance ACCOUNT N`).
#	Only an escrow's owner (its payer, or for a child escrow the one
#	who carved it) may release or refund it; a release pays the account
#	of the worker registered at WORKER-ADDRESS (AMOUNT: only that much,
#	the rest stays open). Sub-escrows, for tree jobs: an escrow made
#	with HOLDER-ADDRESS is held by the account of the worker registered
#	there; only that account may carve child escrows from it, each held
#	by the worker at the carve's HOLDER-ADDRESS (reply `ledger OPID ok
#	CHILD-ID`). What a child returns on refund or expiry goes back into
#	its parent while the parent is open. EXPIRES-MS "" means none, and
#	HOLDER-ADDRESS "" no holder (escrow only). Open escrows past their
#	deadline are refunded every second.

namespace eval ::p2p {}

oo::class create ::p2p::banking {
    variable Ledger Grant Workers ExpireLedgerId Address Network

    # BankInit --
    #	Opens the ledger described by -ledger and -data ("" without
    #	-data: no ledger, points are not kept).
    method BankInit {data spec grant} {
	set Ledger ""
	set Grant $grant
	set ExpireLedgerId ""
	if {$spec eq "none" || ($spec eq "" && $data eq "")} {
	    return
	}
	if {[string match postgres://* $spec] || [string match postgresql://* $spec]} {
	    set Ledger [p2p::ledger new -postgres $spec]
	} elseif {[string match sqlite:* $spec]} {
	    set Ledger [p2p::ledger new -file [string range $spec 7 end]]
	} elseif {$spec eq ""} {
	    file mkdir $data
	    set Ledger [p2p::ledger new -file [file join $data ledger.sqlite]]
	} else {
	    return -code error -errorcode [list P2P USAGE BADVALUE -ledger] \
		"bad value \"$spec\" for -ledger: must be none,\
		sqlite:PATH or postgres://..."
	}
	set ExpireLedgerId [after 1000 [list [namespace which my] ExpireLedger]]
    }

    method BankDestroy {} {
	catch {after cancel $ExpireLedgerId}
	if {[info exists Ledger] && $Ledger ne ""} {
	    catch {$Ledger destroy}
	}
    }

    # USAGE: $a ledger		-> the p2p::ledger object, "" if none
    method ledger {} {
	return $Ledger
    }

    # Bind --
    #	The account of the node on connection cid, named by its key,
    #	made with its grant when it is new. Returns the `account`
    #	message to push, or "" without a ledger.
    method Bind {h cid} {
	if {$Ledger eq ""} {
	    return ""
	}
	set account [p2p::identity id [$h connectionKey $cid]]
	if {[catch {$Ledger balance $account}]} {
	    $Ledger account $account -create 1
	    if {$Grant > 0} {
		# Granted once: the operation id makes a second grant a no-op.
		$Ledger grant grant-$account $account $Grant
	    }
	    ::p2p::log event system account $account "created, granted $Grant"
	}
	list account $account
    }

    # Prove --
    #	Errors unless the words of a signed request (command, account,
    #	proof, words) are account's: its key holds the connection, the
    #	signature is good, and the nonce is fresh and not seen before
    #	(then it is recorded).
    method Prove {h cid command account proof words} {
	set key [$h connectionKey $cid]
	if {[p2p::identity id $key] ne $account} {
	    return -code error -errorcode {P2P LEDGER DENIED} \
		"account \"$account\" is not this connection's: its peer holds\
		the key of [p2p::identity id $key]"
	}
	lassign $proof nonce sig
	if {[llength $proof] != 2
		|| ![regexp {^(\d{1,15})\.[0-9a-f]{16}$} $nonce -> ms]} {
	    return -code error -errorcode {P2P LEDGER SIGNATURE} \
		"malformed proof of $command: must be {NONCE SIGNATURE}"
	}
	if {![p2p::identity verify $key [::p2p::net::signedText $Network \
		$command $account $nonce $words] $sig]} {
	    return -code error -errorcode {P2P LEDGER SIGNATURE} \
		"bad signature on $command of account \"$account\""
	}
	set skew [expr {abs([clock milliseconds] - $ms)}]
	if {$skew > [$Ledger nonce window]} {
	    return -code error -errorcode {P2P LEDGER STALE} \
		"stale $command of account \"$account\": its nonce is $skew ms\
		off this authority's clock"
	}
	if {![$Ledger nonce use $account $nonce]} {
	    return -code error -errorcode {P2P LEDGER REPLAY} \
		"replayed $command of account \"$account\": nonce $nonce was\
		used before"
	}
    }

    # Signed --
    #	Runs script (at the caller's level) for a signed request of
    #	account: its words after the proof, named by usage (optional
    #	ones as ?name?, "" when left out), are set in the caller, and
    #	the proof is checked (Prove) first. The nonce is committed in a
    #	transaction of its own, before the operation's (each of which
    #	the ledger retries on a serialisation failure; a request refused
    #	after its nonce was recorded is sent again with another nonce).
    method Signed {h cid command usage account proof words script} {
	if {$Ledger eq ""} {
	    return -code error -errorcode {P2P LEDGER NONE} \
		"this authority keeps no ledger"
	}
	set min [llength [lsearch -all -inline -not -glob $usage {\?*}]]
	if {[llength $words] < $min || [llength $words] > [llength $usage]} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"$command ACCOUNT PROOF\
		[string toupper $usage]\""
	}
	set rest $words
	foreach name $usage {
	    upvar 1 [string trim $name ?] v
	    set rest [lassign $rest v]
	}
	my Prove $h $cid $command $account $proof $words
	uplevel 1 $script
    }

    # Outcome --
    #	Runs a ledger operation; the `ledger` reply, with the error code
    #	when it failed: P2P LEDGER ... is the ledger's final word on that
    #	operation id; P2P BANK RETRY ... may succeed later (a payee not
    #	registered yet); anything else (the database) is worth sending
    #	again with the same id.
    method Outcome {opid script} {
	if {[catch {uplevel 1 $script} result opts]} {
	    return [list ledger $opid error $result [dict get $opts -errorcode]]
	}
	list ledger $opid ok $result
    }

    method OnEscrow {h cid account proof args} {
	my Signed $h $cid escrow {opid amount ?expires? ?holder?} $account \
		$proof $args {
	    my Outcome $opid {
		set opts {}
		if {$expires ne ""} {
		    lappend opts -expires $expires
		}
		if {$holder ne ""} {
		    lappend opts -holder [my WorkerAccount $holder]
		}
		$Ledger escrow $account/$opid $account $amount {*}$opts
	    }
	}
    }

    method OnCarve {h cid account proof args} {
	my Signed $h $cid carve {opid parent amount expires holder} $account \
		$proof $args {
	    my Outcome $opid {
		my Allowed $parent $account holder
		set opts {}
		if {$expires ne ""} {
		    lappend opts -expires $expires
		}
		$Ledger carve $account/$opid $parent $amount \
		    [my WorkerAccount $holder] {*}$opts
	    }
	}
    }

    method OnRelease {h cid account proof args} {
	my Signed $h $cid release {opid escrow worker ?amount?} $account \
		$proof $args {
	    my Outcome $opid {
		my Allowed $escrow $account owner
		set opts {}
		if {$amount ne ""} {
		    lappend opts -amount $amount
		}
		$Ledger release $account/$opid $escrow \
		    [my WorkerAccount $worker] {*}$opts
	    }
	}
    }

    method OnRefund {h cid account proof args} {
	my Signed $h $cid refund {opid escrow} $account $proof $args {
	    my Outcome $opid {
		my Allowed $escrow $account owner
		$Ledger refund $account/$opid $escrow
	    }
	}
    }

    method OnBalance {h cid account} {
	if {$Ledger eq ""} {
	    error "this authority keeps no ledger"
	}
	list balance $account [$Ledger balance $account]
    }

    method OnHistory {h cid account proof args} {
	my Signed $h $cid history {?limit?} $account $proof $args {
	    if {$limit eq ""} {
		set limit 100
	    }
	    list history $account [$Ledger history $account -limit $limit]
	}
    }

    # WorkerAccount --
    #	The account of the worker registered now at address, or an
    #	error worth retrying later (it may register again).
    method WorkerAccount {address} {
	if {![dict exists $Workers $address account]} {
	    return -code error \
		-errorcode [list P2P BANK RETRY NOPAYEE $address] \
		"no account for worker $address (not registered now)"
	}
	dict get $Workers $address account
    }

    # Allowed --
    #	Errors unless account is the owner (who may release or refund)
    #	or the holder (who may carve) of escrow, as role says.
    method Allowed {escrow account role} {
	if {![string is entier -strict $escrow]} {
	    return -code error -errorcode [list P2P BANK ESCROW $escrow] \
		"bad escrow id \"$escrow\""
	}
	set rows [$Ledger escrows -id $escrow]
	if {[llength $rows] == 0} {
	    return -code error -errorcode [list P2P BANK ESCROW $escrow] \
		"unknown escrow $escrow"
	}
	if {[dict get [lindex $rows 0] $role] ne $account} {
	    set why [expr {$role eq "owner" ? "is not $account's"
		: "is not held by $account"}]
	    return -code error -errorcode [list P2P BANK DENIED $escrow] \
		"escrow $escrow $why"
	}
    }

    method ExpireLedger {} {
	catch {$Ledger nonce forget}
	if {[catch {$Ledger expire} n]} {
	    ::p2p::log event error ledger "" "expire: $n"
	} elseif {$n > 0} {
	    ::p2p::log event system expired "" "$n escrows refunded"
	}
	set ExpireLedgerId [after 1000 [list [namespace which my] ExpireLedger]]
    }
}

oo::define ::p2p::authority mixin -append ::p2p::banking
