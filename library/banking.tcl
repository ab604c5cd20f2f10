# banking.tcl --
#
#	p2p::banking: the authority's side of the points ledger (DESIGN 3,
#	"Ledger"), a class mixed into p2p::authority. The ledger itself is
#	p2p::ledger (library/ledger.tcl): SQLite in the authority's -data
#	directory, or PostgreSQL (-ledger postgres://...).
#
#	Accounts. A node that says hello (foreman) or registers (worker)
#	without an account gets one: a fresh name and a secret, pushed as
#	`account NAME SECRET`, and an initial grant (-grant points). A node
#	that comes back sends its NAME and SECRET (hello's third and fourth
#	words, register's info keys account and secret) and gets `account
#	NAME {}` (keep yours). The secrets live in DATA/accounts (mode
#	0600), one "name secret" line each. Several authorities sharing a
#	PostgreSQL ledger share that directory too.
#
#	Requests (p2p:authority<-node/1), each carrying the account and its
#	secret, and an operation id chosen by the caller (repeating one
#	returns the first outcome):
#
#	    escrow ACCOUNT SECRET OPID AMOUNT ?EXPIRES-MS? ?HOLDER-ADDRESS?
#	    carve ACCOUNT SECRET OPID PARENT AMOUNT EXPIRES-MS HOLDER-ADDRESS
#	    release ACCOUNT SECRET OPID ESCROW WORKER-ADDRESS ?AMOUNT?
#	    refund ACCOUNT SECRET OPID ESCROW
#	    history ACCOUNT SECRET ?LIMIT?
#	    balance ACCOUNT
#
#	accepted only over the connection the account said hello (or
#	registered) on; answered by `ledger OPID ok RESULT` or `ledger OPID
#	error MESSAGE CODE` (see Outcome). The ledger records OPID as
#	ACCOUNT/OPID, so the ids of different nodes cannot collide.
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
    variable Ledger Secrets SecretsFile Grant Workers ExpireLedgerId \
	Address Bound

    # BankInit --
    #	Opens the ledger described by -ledger and -data ("" without
    #	-data: no ledger, points are not kept).
    method BankInit {data spec grant} {
	set Ledger ""
	set Bound {}
	set Secrets {}
	set SecretsFile ""
	set Grant $grant
	set ExpireLedgerId ""
	if {$spec eq "none" || ($spec eq "" && $data eq "")} {
	    return
	}
	if {$data ne ""} {
	    file mkdir $data
	    set SecretsFile [file join $data accounts]
	    my LoadSecrets
	}
	if {[string match postgres://* $spec] || [string match postgresql://* $spec]} {
	    set Ledger [p2p::ledger new -postgres $spec]
	} elseif {[string match sqlite:* $spec]} {
	    set Ledger [p2p::ledger new -file [string range $spec 7 end]]
	} elseif {$spec eq ""} {
	    set Ledger [p2p::ledger new -file [file join $data ledger.sqlite]]
	} else {
	    return -code error -errorcode [list P2P USAGE BADVALUE -ledger] \
		"bad value \"$spec\" for -ledger: must be none,\
		sqlite:PATH or postgres://..."
	}
	set ExpireLedgerId [after 1000 [list [namespace which my] ExpireLedger]]
    }

    # LoadSecrets --
    #	Reads the secrets file (again: authorities that share a ledger
    #	and a data directory learn each other's accounts this way).
    method LoadSecrets {} {
	if {$SecretsFile eq "" || ![file exists $SecretsFile]} {
	    return
	}
	set f [open $SecretsFile]
	foreach line [split [read $f] \n] {
	    if {[llength $line] == 2} {
		dict set Secrets {*}$line
	    }
	}
	close $f
    }

    # Known --
    #	True when secret is account's (reading the file again once when
    #	the account is not known yet).
    method Known {account secret} {
	if {![dict exists $Secrets $account]} {
	    my LoadSecrets
	}
	expr {[dict exists $Secrets $account]
	    && [dict get $Secrets $account] eq $secret}
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
    #	The account of a node that says hello or registers: its own,
    #	when it proves it, or a new one. Returns the `account` message
    #	to push, or "" without a ledger.
    method Bind {cid account secret} {
	if {$Ledger eq ""} {
	    return ""
	}
	if {$account ne "" && [my Known $account $secret]} {
	    dict set Bound $cid $account
	    return [list account $account {}]
	}
	set account acct-[my Random 8]
	set secret [my Random 16]
	$Ledger account $account -create 1
	if {$Grant > 0} {
	    $Ledger grant grant-$account $account $Grant
	}
	dict set Secrets $account $secret
	if {$SecretsFile ne ""} {
	    set f [open $SecretsFile {WRONLY APPEND CREAT} 0600]
	    puts $f [list $account $secret]
	    close $f
	}
	::p2p::log event system account $account "created, granted $Grant"
	dict set Bound $cid $account
	list account $account $secret
    }

    # Unbind --
    #	The connection cid is gone.
    method Unbind {cid} {
	dict unset Bound $cid
    }

    # Random --
    #	n random bytes, in hex, from the system's generator.
    method Random {n} {
	set f [open /dev/urandom rb]
	set bytes [read $f $n]
	close $f
	binary scan $bytes H* hex
	return $hex
    }

    # Prove --
    #	Errors unless secret is account's and the request came over the
    #	connection that account said hello (or registered) on.
    method Prove {cid account secret} {
	if {$Ledger eq ""} {
	    return -level 2 -code error -errorcode {P2P LEDGER NONE} \
		"this authority keeps no ledger"
	}
	if {![my Known $account $secret]} {
	    return -level 2 -code error -errorcode {P2P LEDGER DENIED} \
		"account \"$account\": wrong or missing secret"
	}
	if {![dict exists $Bound $cid] || [dict get $Bound $cid] ne $account} {
	    return -level 2 -code error -errorcode {P2P LEDGER DENIED} \
		"account \"$account\" is not this connection's: say hello\
		with it first"
	}
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

    method OnEscrow {h cid account secret opid amount {expires ""}
	    {holder ""}} {
	my Prove $cid $account $secret
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

    method OnCarve {h cid account secret opid parent amount expires holder} {
	my Prove $cid $account $secret
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

    method OnRelease {h cid account secret opid escrow worker {amount ""}} {
	my Prove $cid $account $secret
	my Outcome $opid {
	    my Allowed $escrow $account owner
	    set opts {}
	    if {$amount ne ""} {
		lappend opts -amount $amount
	    }
	    $Ledger release $account/$opid $escrow [my WorkerAccount $worker] \
		{*}$opts
	}
    }

    method OnRefund {h cid account secret opid escrow} {
	my Prove $cid $account $secret
	my Outcome $opid {
	    my Allowed $escrow $account owner
	    $Ledger refund $account/$opid $escrow
	}
    }

    method OnBalance {h cid account} {
	if {$Ledger eq ""} {
	    error "this authority keeps no ledger"
	}
	list balance $account [$Ledger balance $account]
    }

    method OnHistory {h cid account secret {limit 100}} {
	my Prove $cid $account $secret
	list history $account [$Ledger history $account -limit $limit]
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
	if {[catch {$Ledger expire} n]} {
	    ::p2p::log event error ledger "" "expire: $n"
	} elseif {$n > 0} {
	    ::p2p::log event system expired "" "$n escrows refunded"
	}
	set ExpireLedgerId [after 1000 [list [namespace which my] ExpireLedger]]
    }
}

oo::define ::p2p::authority mixin -append ::p2p::banking
