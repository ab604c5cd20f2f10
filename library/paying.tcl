# paying.tcl --
#
#	p2p::paying: the foreman's side of the points ledger, a class mixed
#	into p2p::foreman. When its authority keeps a ledger, the foreman
#	has an account there (named by its key, created at its first
#	hello) and pays for every run of a job:
#
#	  * before the job goes to a worker, the bid's price is put in
#	    escrow (an escrow per run);
#	  * an accepted result releases that escrow to the worker that ran
#	    the job; with redundancy, the workers of the majority are paid
#	    and the others refunded;
#	  * a run that ends without a result (refused, worker lost, timed
#	    out, cancelled) is refunded, and so is every run of a job that
#	    fails or is cancelled.
#
#	Ledger requests are signed with the foreman's key, with a fresh
#	nonce each time one is sent (p2p::net::signed), and carry an
#	operation id made from the run's id, so a request sent again after
#	a lost connection is not carried out twice. The requests wait in
#	Pending until the authority answers; on a lost connection they are
#	sent again.
#
#	The foreman provides Config, Client, Jobs and the methods Connect,
#	SendWorker, EndRun, Settle.

namespace eval ::p2p {}

oo::class create ::p2p::paying {
    variable Config Client Jobs Account Pending Escrows ResendId Session \
	Security PayingOwn

    method PayInit {} {
	set Account {}
	set Pending {}
	set Escrows {}
	set ResendId ""
	# Run ids start again in every foreman object: with this in the
	# operation ids, two objects on one account never share one.
	set Session [format %08x [expr {int(rand() * 0xffffffff)}]][pid]
	# Whether Paying is the one below: not decided yet (PayingOwn).
	set PayingOwn ""
    }

    method PayDestroy {} {
	catch {after cancel $ResendId}
    }

    # USAGE: $f account		-> the foreman's ledger account, "" if none
    method account {} {
	expr {[dict exists $Account account] ? [dict get $Account account] : ""}
    }

    # USAGE: $f balance ?account?	-> points of an account (default: its own)
    method balance {{account ""}} {
	if {$account eq ""} {
	    my Connect
	    set account [my account]
	    if {$account eq ""} {
		return -code error -errorcode {P2P LEDGER NONE} \
		    "no account: the authority keeps no ledger"
	    }
	}
	lindex [my Ask [list balance $account] balance] 1
    }

    # USAGE: $f history ?limit?	-> the journal rows of its account
    method history {{limit 100}} {
	my Connect
	if {[my account] eq ""} {
	    return -code error -errorcode {P2P LEDGER NONE} \
		"no account: the authority keeps no ledger"
	}
	lindex [my Ask [::p2p::net::signed [dict get $Security -identity] \
	    [dict get $Config -network] history [my account] [list $limit]] \
	    history] 1
    }

    # Paying --
    #	True when the authority keeps a ledger (it gave us an account).
    method Paying {} {
	expr {[dict size $Account] > 0}
    }

    # PayingOwn --
    #	1 if the object's Paying is the one above, 0 if a class, mixin or
    #	the object itself defines another, or a filter is in the way;
    #	sets PayingOwn. The farm's pass in C (OnePass, in
    #	generic/p2pFarmMethods.c) then reads Account instead of calling
    #	Paying, for every job: it calls this once, at the first job it
    #	passes, while PayingOwn is "" (PayInit's). A Paying defined, a
    #	mixin or a filter added after that is not seen unless PayingOwn
    #	is set to "" again.
    method PayingOwn {} {
	set PayingOwn 0
	set self [self object]
	if {[llength [info object filters $self]]
		|| "Paying" in [info object methods $self -private]} {
	    return 0
	}
	# Every class whose methods the object has: its mixins and class,
	# theirs, and their superclasses.
	set todo [list {*}[info object mixins $self] [info object class $self]]
	set seen {}
	while {[llength $todo]} {
	    set todo [lassign $todo class]
	    if {[dict exists $seen $class]} {
		continue
	    }
	    dict set seen $class 1
	    if {[llength [info class filters $class]]
		    || ($class ne "::p2p::paying"
			&& "Paying" in [info class methods $class -private])} {
		return 0
	    }
	    lappend todo {*}[info class mixins $class] \
		{*}[info class superclasses $class]
	}
	set PayingOwn [dict exists $seen ::p2p::paying]
    }

    # Hold --
    #	Puts the price of run rid (job id on addr) in escrow; then calls
    #	Held. Returns 0 when there is no ledger: the run goes at once.
    method Hold {id rid addr price token} {
	if {![my Paying]} {
	    return 0
	}
	set spec [dict get $Jobs $id spec]
	set expires [expr {[dict get $Jobs $id timeout] + 60000}]
	set words [list escrow $price $expires]
	set budget ""
	if {[dict get $spec kind] eq "tree"} {
	    # A tree run's escrow is its budget, held by the worker (it
	    # carves its pieces' escrows out of it); a tree foreman of a
	    # worker carves it out of the escrow of its own tree run.
	    set budget [my TreeBudget $spec $price]
	    if {[dict exists $spec fund]} {
		set words [list carve [dict get $spec fund] $budget $expires \
		    $addr]
	    } else {
		set words [list escrow $budget $expires $addr]
	    }
	}
	dict set Escrows $rid [dict create job $id addr $addr escrow "" \
	    state pending token $token price $price budget $budget]
	my Request esc-$Session-$rid $words \
	    [list [namespace which my] Held $rid]
	return 1
    }

    # Held --
    #	The escrow of a run is in place (or failed).
    method Held {rid status result} {
	if {![dict exists $Escrows $rid]} {
	    return
	}
	set e [dict get $Escrows $rid]
	set id [dict get $e job]
	set addr [dict get $e addr]
	if {$status ne "ok"} {
	    dict unset Escrows $rid
	    if {[dict exists $Jobs $id active $addr]
		    && [dict get $Jobs $id active $addr rid] eq $rid} {
		my EndRun $id $addr
		my Settle $id failed [dict create status failed \
		    error "cannot pay for job $id: $result"]
	    }
	    return
	}
	dict set Escrows $rid escrow $result
	dict set Escrows $rid state held
	if {[dict exists $Jobs $id active $addr]
		&& [dict get $Jobs $id active $addr rid] eq $rid
		&& [dict get $Jobs $id state] eq "running"} {
	    set spec [dict get $Jobs $id spec]
	    if {[dict get $e budget] ne ""} {
		dict set spec escrow $result
		dict set spec budget [dict get $e budget]
	    }
	    my SendWorker $addr [list run $rid [dict get $e token] $spec]
	} else {
	    # The run ended while the escrow was on its way.
	    my Refund $rid
	}
    }

    # Pay --
    #	Releases the escrow of run rid to the worker that ran it.
    method Pay {rid} {
	my Close $rid rel release
    }

    # Refund --
    #	Gives the escrow of run rid back.
    method Refund {rid} {
	my Close $rid ref refund
    }

    method Close {rid prefix op} {
	if {![dict exists $Escrows $rid]} {
	    return
	}
	set e [dict get $Escrows $rid]
	if {[dict get $e state] eq "pending"} {
	    # Held will see the run is over and refund it.
	    return
	}
	dict unset Escrows $rid
	set words [list $op [dict get $e escrow]]
	if {$op eq "release"} {
	    lappend words [dict get $e addr]
	    if {[dict get $e budget] ne ""} {
		# A tree run: its worker is paid its price, the rest of the
		# budget goes back (to the payer, or to the parent escrow).
		lappend words [dict get $e price]
	    }
	}
	my Request $prefix-$Session-$rid $words [list [namespace which my] Closed \
	    $op $rid [dict get $e job]]
	if {$op eq "release" && [dict get $e budget] ne ""} {
	    my Request rest-$Session-$rid [list refund [dict get $e escrow]] \
		[list [namespace which my] Closed refund $rid [dict get $e job]]
	}
    }

    method Closed {op rid id status result} {
	if {$status ne "ok"} {
	    ::p2p::log event error ledger "" "$op for run $rid: $result"
	} else {
	    ::p2p::log event system $op "" "run $rid of $id: $result points"
	}
    }

    # Request --
    #	Sends a ledger request, words: COMMAND WORD ... (its account,
    #	proof and opid are added); callback is called with status (ok or
    #	error) and the result.
    method Request {opid words callback} {
	dict set Pending $opid [list $words $callback 0]
	my SendPending $opid
    }

    # Signed --
    #	The pending request opid as sent now: signed, with a new nonce.
    method Signed {opid} {
	set words [lindex [dict get $Pending $opid] 0]
	::p2p::net::signed [dict get $Security -identity] \
	    [dict get $Config -network] [lindex $words 0] \
	    [dict get $Account account] [list $opid {*}[lrange $words 1 end]]
    }

    method SendPending {opid} {
	if {[catch {
	    my Connect
	    ::p2p::net::tell "" $Client [my Signed $opid]
	} msg]} {
	    ::p2p::log event error ledger "" "$opid: $msg (will retry)"
	    my Resend
	}
    }

    # Resend --
    #	Sends every pending request again, soon (after a lost authority).
    method Resend {} {
	if {$ResendId eq "" && [dict size $Pending]} {
	    set ResendId [after 500 [list [namespace which my] ResendNow]]
	}
    }

    method ResendNow {} {
	set ResendId ""
	foreach opid [dict keys $Pending] {
	    my SendPending $opid
	}
    }

    # p2p:node<-authority/1
    method OnAccount {h cid name args} {
	set Account [dict create account $name]
	return
    }

    method OnLedger {h cid opid status result {code {}}} {
	if {![dict exists $Pending $opid]} {
	    return
	}
	lassign [dict get $Pending $opid] message callback tries
	# Not the ledger's final word (a payee not registered yet, the
	# database): the same request again, a little later, a few times.
	if {$status eq "error" && [lrange $code 0 1] ne {P2P LEDGER}
		&& [lrange $code 0 2] ne {P2P BANK DENIED}
		&& [lrange $code 0 2] ne {P2P BANK ESCROW} && $tries < 20} {
	    dict set Pending $opid [list $message $callback [incr tries]]
	    after 500 [list [namespace which my] SendAgain $opid]
	    return
	}
	dict unset Pending $opid
	uplevel #0 [list {*}$callback $status $result]
	return
    }

    method SendAgain {opid} {
	if {[dict exists $Pending $opid]} {
	    my SendPending $opid
	}
    }
}

oo::define ::p2p::foreman mixin -append ::p2p::paying
