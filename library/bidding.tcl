# bidding.tcl --
#
#	p2p::bidding: how a worker answers a solicitation (DESIGN 3), a
#	class mixed into p2p::worker.
#
#	    solicit TOKEN TTL PATH JOB HOPMS
#
#	arrives from a foreman or from a peer. PATH lists the workers the
#	request went through, JOB is the job description (a dict: kind,
#	price the foreman offers, count of similar jobs), HOPMS the time
#	allowed per hop. The worker
#
#	  * answers a TOKEN it has seen before at once with an empty
#	    proffer (so no bid is counted twice and no one waits for it);
#	  * otherwise makes its own bid, or a decline saying why (kind not
#	    accepted, no free slot, price below its minimum);
#	  * when TTL > 1, forwards the request with TTL-1 to its links whose
#	    address is not on the path nor the sender's, and gathers their
#	    proffers until all answered (or their link dropped) or
#	    (TTL-1) * HOPMS ms have passed;
#	  * answers exactly once:
#
#	    proffer TOKEN BIDS DECLINES STATS
#
#	BIDS is a list of dicts (address price wonks free slots kinds
#	latency hops), DECLINES a list of dicts (address reason), STATS a
#	dict (messages: the solicit and proffer messages sent below this
#	worker). A parent adds the round-trip time of the link a proffer
#	came over to the latency of each bid in it, so that a bid's latency
#	is that of the path from the foreman.
#
#	Each connection may send solicit_rate solicitations a second, in
#	bursts of up to solicit_burst (a token bucket per connection, worker
#	options). Beyond that a solicitation is answered at once with an
#	empty proffer, STATS {messages 0 limited 1}, and no bid: a flooder
#	gets nothing and costs little, while other connections are served.
#	A solicit_rate of 0 turns the limit off.
#
#	The worker provides Address, Config, Opts, Links (library/mesh.tcl)
#	and the methods Admitted, SendKey, Log, Later, Ms and FreeSlots.

namespace eval ::p2p {}

oo::class create ::p2p::bidding {
    variable Address Config Opts Links Seen Pending Buckets

    method BidInit {} {
	set Seen {}
	set Pending {}
	set Buckets {}
	my Later [dict get $Opts token_memory] SeenTick
    }

    method BidDestroy {} {
	if {[info exists Pending]} {
	    dict for {token p} $Pending {
		after cancel [dict get $p timer]
	    }
	}
	set Pending {}
	set Buckets {}
    }

    # USAGE: $w bid job	-> {bid DICT} or {decline DICT}: what this
    #				   worker answers for job (a dict)
    method bid {job} {
	my OwnBid $job 0
    }

    # OwnBid --
    #	This worker's bid for job, or its reason to decline.
    method OwnBid {job hops} {
	set kind [expr {[dict exists $job kind] ? [dict get $job kind] : "script"}]
	set kinds [dict get $Config -kinds]
	set price [dict get $Config -price]
	set free [my FreeSlots]
	if {$kind ni $kinds} {
	    return [list decline [dict create address $Address reason \
		"kind \"$kind\" not accepted: accepts [join $kinds {, }]"]]
	}
	if {$free <= 0} {
	    return [list decline [dict create address $Address reason \
		"no free slot: [dict get $Config -slots] of\
		[dict get $Config -slots] busy"]]
	}
	if {[dict exists $job price] && [dict get $job price] < $price} {
	    return [list decline [dict create address $Address reason \
		"price [dict get $job price] below minimum $price"]]
	}
	list bid [dict create address $Address price $price \
	    wonks [dict get $Config -wonks] free $free queue [my QueueRoom] \
	    slots [dict get $Config -slots] kinds $kinds latency 0.0 \
	    hops $hops]
    }

    # ------------------------------------------------------------------
    # Protocol: solicit and proffer
    # ------------------------------------------------------------------

    method OnSolicit {h cid token ttl path job {hop 250}} {
	my Admitted $h $cid
	if {![my SolicitAllowed [list $h $cid]]} {
	    return [list proffer $token {} {} {messages 0 limited 1}]
	}
	if {![string is integer -strict $ttl] || $ttl < 0} {
	    error "bad ttl \"$ttl\": must be a non-negative integer"
	}
	if {![string is integer -strict $hop] || $hop < 1 || $hop > 60000} {
	    error "bad hop time \"$hop\": must be an integer from 1 to 60000 ms"
	}
	if {[catch {llength $path}] || [catch {dict size $job}]} {
	    error "bad solicitation: path must be a list and job a dict"
	}
	set from [my LinkAddr $h $cid]
	if {[dict exists $Seen $token]} {
	    my Log traffic duplicate $from "token $token"
	    return [list proffer $token {} {} {messages 0 duplicate 1}]
	}
	dict set Seen $token [clock milliseconds]
	lassign [my OwnBid $job [llength $path]] what record
	set bids {}
	set declines {}
	if {$what eq "bid"} {
	    lappend bids $record
	    my Offer $token
	} else {
	    lappend declines $record
	}
	set targets {}
	if {$ttl > 1} {
	    set skip [list {*}$path $from $Address]
	    dict for {key link} $Links {
		set addr [dict get $link addr]
		if {$addr ni $skip} {
		    lappend targets $key
		    lappend skip $addr
		}
	    }
	}
	if {[llength $targets] == 0} {
	    my Log system bid $from "token $token: answered alone"
	    return [list proffer $token $bids $declines {messages 0}]
	}
	set message [list solicit $token [expr {$ttl - 1}] \
	    [linsert $path end $Address] $job $hop]
	set sent {}
	foreach key $targets {
	    if {![catch {my SendKey $key $message}]} {
		lappend sent $key
	    }
	}
	set timer [after [expr {($ttl - 1) * $hop}] \
	    [list [namespace which my] BidDeadline $token]]
	dict set Pending $token [dict create parent [list $h $cid] \
	    waiting $sent bids $bids declines $declines timer $timer \
	    messages [expr {2 * [llength $sent]}]]
	my Log system forward $from \
	    "token $token ttl $ttl to [llength $sent] peers"
	if {[llength $sent] == 0} {
	    my BidFinish $token
	}
	return
    }

    method OnProffer {h cid token bids declines {stats {}}} {
	set key [list $h $cid]
	if {![dict exists $Pending $token]
		|| $key ni [dict get $Pending $token waiting]} {
	    my Log error proffer [my LinkAddr $h $cid] \
		"unexpected proffer for token $token"
	    return
	}
	set rtt [expr {[dict exists $Links $key]
	    ? max(0, [dict get $Links $key rtt]) : 0}]
	set rtt [my Ms $rtt]
	foreach bid $bids {
	    if {[catch {dict get $bid latency} latency]
		    || ![string is double -strict $latency]} {
		my Log error proffer [my LinkAddr $h $cid] "malformed bid"
		continue
	    }
	    dict set bid latency [expr {round(($latency + $rtt) * 1000) / 1000.0}]
	    dict update Pending $token p {
		dict lappend p bids $bid
	    }
	}
	dict update Pending $token p {
	    dict lappend p declines {*}$declines
	    if {![catch {dict get $stats messages} n]
		    && [string is integer -strict $n]} {
		dict incr p messages $n
	    }
	}
	my BidAnswered $token $key
	return
    }

    # ------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------

    # BidAnswered --
    #	One awaited peer answered (or is gone): finish when none is left.
    method BidAnswered {token key} {
	set waiting [dict get $Pending $token waiting]
	set i [lsearch -exact $waiting $key]
	if {$i >= 0} {
	    dict set Pending $token waiting [lreplace $waiting $i $i]
	}
	if {[llength [dict get $Pending $token waiting]] == 0} {
	    my BidFinish $token
	}
    }

    method BidDeadline {token} {
	if {![dict exists $Pending $token]} {
	    return
	}
	set late [lmap key [dict get $Pending $token waiting] {
	    my LinkAddr {*}$key
	}]
	my Log system deadline "" \
	    "token $token: no answer from [join $late {, }]"
	my BidFinish $token
    }

    # BidFinish --
    #	Sends the one proffer for token to whoever asked.
    method BidFinish {token} {
	set p [dict get $Pending $token]
	dict unset Pending $token
	after cancel [dict get $p timer]
	set parent [dict get $p parent]
	set bids [dict get $p bids]
	if {[catch {my SendKey $parent [list proffer $token $bids \
		[dict get $p declines] \
		[dict create messages [dict get $p messages]]]} msg]} {
	    my Log error proffer "" "token $token: $msg"
	    return
	}
	my Log system bid [my LinkAddr {*}$parent] \
	    "token $token: [llength $bids] bids"
    }

    # SolicitAllowed --
    #	Takes a token from the bucket of the connection key (refilled at
    #	solicit_rate a second, holding at most solicit_burst). Returns 0
    #	when the bucket is empty, and then logs, at most once a second per
    #	connection, how many solicitations it refused.
    method SolicitAllowed {key} {
	set rate [dict get $Opts solicit_rate]
	set burst [dict get $Opts solicit_burst]
	if {![string is double -strict $rate] || $rate <= 0} {
	    return 1
	}
	if {![string is double -strict $burst] || $burst < 1} {
	    set burst 1
	}
	set now [clock milliseconds]
	if {[dict exists $Buckets $key]} {
	    lassign [dict get $Buckets $key] tokens last logged refused
	    set tokens [expr {min($burst,
		$tokens + ($now - $last) * $rate / 1000.0)}]
	} else {
	    lassign [list $burst 0 0] tokens logged refused
	}
	if {$tokens >= 1} {
	    dict set Buckets $key [list [expr {$tokens - 1}] $now $logged $refused]
	    return 1
	}
	incr refused
	if {$now - $logged >= 1000} {
	    my Log error limited [my LinkAddr {*}$key] \
		"$refused solicitations over the limit ($rate a second,\
		bursts of $burst): answered with empty proffers"
	    set logged $now
	    set refused 0
	}
	dict set Buckets $key [list $tokens $now $logged $refused]
	return 0
    }

    # BidLinkDown --
    #	A connection closed: it answers nothing more, and its bucket is
    #	forgotten.
    method BidLinkDown {key} {
	dict unset Buckets $key
	dict for {token p} $Pending {
	    if {$key in [dict get $p waiting]} {
		my BidAnswered $token $key
	    }
	}
    }

    # LinkAddr --
    #	The address of the worker at the other end of a connection, or
    #	its connection name when it is not a link (a foreman).
    method LinkAddr {h cid} {
	set key [list $h $cid]
	if {[dict exists $Links $key]} {
	    return [dict get $Links $key addr]
	}
	if {[catch {$h connectionName $cid} name]} {
	    return $cid
	}
	return $name
    }

    # SeenTick --
    #	Forgets tokens older than token_memory ms.
    method SeenTick {} {
	set old [expr {[clock milliseconds] - [dict get $Opts token_memory]}]
	dict for {token ms} $Seen {
	    if {$ms < $old} {
		dict unset Seen $token
	    }
	}
	my ForgetOffers $old
	my Later [dict get $Opts token_memory] SeenTick
    }
}
