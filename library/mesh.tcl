# mesh.tcl --
#
#	p2p::mesh: the peer mesh of a worker (DESIGN 3), a class mixed into
#	p2p::worker. The worker's authority sends it a random sample of
#	other workers (the candidates); the mesh connects to probe_count
#	of them, pings each (the probes), keeps the max_peer_connections fastest as its
#	chosen peers (a `join` each; a worker refuses a join with `full`
#	once it holds max_incoming links from others) and closes the other
#	probes. Of those places, random_peers (default 1) go to candidates
#	picked at random, so that clusters of nearby workers stay tied
#	together (see Order). A chosen peer that drops is replaced after rebuild_delay
#	ms; a mesh short of peers tries again after 250 ms, doubling up to
#	4 s (or mesh_interval if less); a full mesh looks again every
#	mesh_interval ms.
#
#	A link is a connection in either direction: the ones this worker
#	chose (out) and the ones others chose (in). Both carry pings (their
#	round-trip time is the link's latency) and solicitations.
#
#	The state machine (p2p::fsm) has the states idle, probing, choosing
#	and meshed.
#
#	Connections are identified by a key {handler cid}. The worker
#	provides Address, Config, Opts, Server, Auth, Candidates, the methods Later,
#	Log and Heartbeat, and BidLinkDown (library/bidding.tcl).

namespace eval ::p2p {}

oo::class create ::p2p::mesh {
    variable Address Config Opts Server Auth Candidates Links Probes Mesh Hellos \
	PingSeq Pings Ranked Joining JoiningRandom MeshDelay MeshTimer ProbeTimer InfoId \
	Security

    method MeshInit {} {
	set Links {}
	set Probes {}
	set Hellos {}
	set Pings {}
	set PingSeq 0
	set Ranked {}
	set Joining ""
	set JoiningRandom 0
	set MeshDelay 250
	set MeshTimer ""
	set ProbeTimer ""
	set InfoId ""
	set Mesh [p2p::fsm new -name "mesh fsm of $Address" -initial idle]
	set me [namespace which my]
	$Mesh state probing -enter [list $me EnterProbing]
	$Mesh state choosing -enter [list $me EnterChoosing]
	$Mesh state meshed -enter [list $me EnterMeshed]
	foreach {from to} {
	    idle probing  meshed probing  probing choosing  choosing meshed
	    * idle
	} {
	    $Mesh transition $from $to
	}
	my Later [dict get $Opts ping_interval] PingTick
    }

    method MeshDestroy {} {
	foreach id [list $MeshTimer $ProbeTimer $InfoId] {
	    catch {after cancel $id}
	}
	set clients [lmap {addr probe} $Probes {dict get $probe client}]
	dict for {key link} $Links {
	    if {[dict get $link out]} {
		lappend clients [lindex $key 0]
	    }
	}
	set Probes {}
	set Links {}
	# Their callbacks would call this object after it is gone.
	foreach c $clients {
	    ::p2p::net::disown $c
	    catch {$c configure -onprotocol {} -ondisconnect {}}
	    catch {$c destroy}
	}
	catch {$Mesh destroy}
    }

    # USAGE: $w peers		-> the addresses of the peers it chose
    method peers {} {
	set result {}
	dict for {key link} $Links {
	    if {[dict get $link chosen]} {
		lappend result [dict get $link addr]
	    }
	}
	lsort -unique $result
    }

    # USAGE: $w links		-> a dict per link: address, direction
    #				   (in or out), chosen and random (0/1), rtt (ms, -1
    #				   before the first pong)
    method links {} {
	set result {}
	dict for {key link} $Links {
	    lappend result [dict create address [dict get $link addr] \
		direction [expr {[dict get $link out] ? "out" : "in"}] \
		chosen [dict get $link chosen] random [dict get $link random] \
		rtt [my Ms [dict get $link rtt]]]
	}
	return $result
    }

    # USAGE: $w meshState	-> state of the mesh (idle, probing,
    #				   choosing, meshed)
    method meshState {} {
	$Mesh state
    }

    # USAGE: $w rebuild		-> builds the mesh again now (fetching a
    #				   new sample when registered)
    method rebuild {} {
	my MeshSchedule 0
	return
    }

    # ------------------------------------------------------------------
    # Building
    # ------------------------------------------------------------------

    # MeshBuild --
    #	Starts a round of probing unless one is under way.
    method MeshBuild {} {
	if {[$Mesh state] in {idle meshed}} {
	    $Mesh goto probing
	}
    }

    # MeshSchedule --
    #	The next look at the mesh, ms from now: a fresh sample from the
    #	authority (whose answer starts MeshBuild), or the last sample
    #	when not registered.
    method MeshSchedule {ms} {
	catch {after cancel $MeshTimer}
	set MeshTimer [after $ms [list [namespace which my] MeshTick]]
    }

    method MeshTick {} {
	set MeshTimer ""
	if {[$Auth state] eq "registered"} {
	    my fetchPeers
	} else {
	    my MeshBuild
	}
    }

    method EnterProbing {fsm from to} {
	set chosen [my peers]
	set linked [lmap {key link} $Links {dict get $link addr}]
	if {[llength $chosen] < [dict get $Opts max_peer_connections]} {
	    set n 0
	    foreach addr [p2p::net::shuffle $Candidates] {
		if {$addr eq $Address || $addr in $linked
			|| [dict exists $Probes $addr]} {
		    continue
		}
		if {[incr n] > [dict get $Opts probe_count]} {
		    break
		}
		my Probe $addr
	    }
	}
	if {[dict size $Probes] == 0} {
	    $Mesh goto choosing
	    return
	}
	set ProbeTimer [after [dict get $Opts probe_timeout] \
	    [list [namespace which my] ProbesDone]]
    }

    # Probe --
    #	Connects to a candidate; once connected it says hello and pings.
    method Probe {addr} {
	set me [namespace which my]
	set c [p2p::client new -address $addr -async 1 -protocol p2p:peer \
	    {*}$Security \
	    -timeout [dict get $Opts connect_timeout] \
	    -onprotocol [list $me ProbeUp] \
	    -ondisconnect [list $me ClientDown]]
	::p2p::net::own $c [self] $Address
	::p2p::protocol init $c p2p:peer
	::p2p::log attach $c -node $Address
	dict set Probes $addr [dict create client $c rtt -1]
	if {[catch {$c connect} msg]} {
	    dict unset Probes $addr
	    my DropClient $c
	}
    }

    method ProbeUp {h cid protocol} {
	my SendKey [list $h $cid] \
	    [list hello [dict get $Config -network] $Address]
	my Ping [list $h $cid]
    }

    # ProbeAddr --
    #	The candidate address a probe client belongs to, or "".
    method ProbeAddr {h} {
	dict for {addr probe} $Probes {
	    if {[dict get $probe client] eq $h} {
		return $addr
	    }
	}
	return ""
    }

    method ProbesDone {} {
	catch {after cancel $ProbeTimer}
	set ProbeTimer ""
	if {[$Mesh state] eq "probing"} {
	    $Mesh goto choosing
	}
    }

    # EnterChoosing --
    #	Ranks the answered probes and the links others made to us by
    #	latency; ChooseNext joins the fastest until the mesh is full.
    method EnterChoosing {fsm from to} {
	catch {after cancel $ProbeTimer}
	set ProbeTimer ""
	set ranked {}
	dict for {addr probe} $Probes {
	    if {[dict get $probe rtt] >= 0} {
		lappend ranked [list [dict get $probe rtt] probe $addr]
	    }
	}
	set chosen [my peers]
	dict for {key link} $Links {
	    if {![dict get $link chosen] && [dict get $link addr] ni $chosen} {
		set rtt [dict get $link rtt]
		lappend ranked [list [expr {$rtt < 0 ? 1e9 : $rtt}] link $key]
	    }
	}
	set Ranked [my Order [lsort -real -index 0 $ranked]]
	my ChooseNext
    }

    # Order --
    #	The order to try candidates in: the fastest, except that
    #	random_peers of the places (less those already held) go to
    #	candidates picked at random among the slower ones. Latency alone
    #	splits the mesh by locality (the workers of one process, of one
    #	site, find each other fastest); a random link ties the clusters
    #	together. Each entry gets a fifth element: 1 for a random pick.
    method Order {ranked} {
	set need [expr {[dict get $Opts max_peer_connections]
	    - [llength [my peers]]}]
	set held 0
	dict for {key link} $Links {
	    incr held [expr {[dict get $link chosen] && [dict get $link random]}]
	}
	set random [expr {min($need,
	    max(0, [dict get $Opts random_peers] - $held))}]
	set fast [expr {$need - $random}]
	set result [lmap r [lrange $ranked 0 [expr {$fast - 1}]] {
	    linsert $r end 0
	}]
	set rest [lrange $ranked $fast end]
	for {set i 0} {$i < $random && [llength $rest]} {incr i} {
	    set j [expr {int(rand() * [llength $rest])}]
	    lappend result [linsert [lindex $rest $j] end 1]
	    set rest [lreplace $rest $j $j]
	}
	concat $result [lmap r $rest {linsert $r end 0}]
    }

    method ChooseNext {} {
	set Joining ""
	set max [dict get $Opts max_peer_connections]
	while {[llength [my peers]] < $max && [llength $Ranked]} {
	    set Ranked [lassign $Ranked first]
	    lassign $first rtt what id random
	    if {$what eq "link"} {
		if {[dict exists $Links $id]
			&& [dict get $Links $id addr] ni [my peers]} {
		    dict set Links $id chosen 1
		    dict set Links $id random $random
		}
		continue
	    }
	    if {![dict exists $Probes $id] || $id in [my peers]} {
		continue
	    }
	    set c [dict get $Probes $id client]
	    if {[$c cid] eq ""} {
		continue
	    }
	    set Joining $id
	    set JoiningRandom $random
	    my SendKey [list $c [$c cid]] [list join $Address]
	    set ProbeTimer [after [dict get $Opts probe_timeout] \
		[list [namespace which my] JoinTimeout $id]]
	    return
	}
	$Mesh goto meshed
    }

    method JoinTimeout {addr} {
	catch {after cancel $ProbeTimer}
	set ProbeTimer ""
	if {$Joining eq $addr} {
	    my Log system full $addr "no answer to join"
	    my ChooseNext
	}
    }

    # EnterMeshed --
    #	Closes the probes not chosen, reports the peers and plans the
    #	next look.
    method EnterMeshed {fsm from to} {
	dict for {addr probe} $Probes {
	    my DropClient [dict get $probe client]
	}
	set Probes {}
	set Ranked {}
	set peers [my peers]
	my Log system peers "" [join $peers " "]
	my InfoChanged
	if {[llength $peers] < [dict get $Opts max_peer_connections]} {
	    my MeshSchedule $MeshDelay
	    set MeshDelay [expr {min(2 * $MeshDelay, 4000,
		[dict get $Opts mesh_interval])}]
	} else {
	    set MeshDelay 250
	    my MeshSchedule [dict get $Opts mesh_interval]
	}
    }

    # InfoChanged --
    #	Tells the authority (soon, once for a burst of changes).
    method InfoChanged {} {
	if {$InfoId eq ""} {
	    set InfoId [after 50 [list [namespace which my] SendInfo]]
	}
    }

    method SendInfo {} {
	set InfoId ""
	my Heartbeat
    }

    # ------------------------------------------------------------------
    # Links
    # ------------------------------------------------------------------

    # ClientDown --
    #	-ondisconnect of a probe or of a link this worker made.
    method ClientDown {h cid reason} {
	set addr [my ProbeAddr $h]
	if {$addr ne ""} {
	    dict unset Probes $addr
	    my DropClient $h
	    switch -- [$Mesh state] {
		probing {my CheckProbes}
		choosing {
		    if {$Joining eq $addr} {
			catch {after cancel $ProbeTimer}
			my ChooseNext
		    }
		}
	    }
	    return
	}
	my LinkDown $h $cid $reason
	my DropClient $h
    }

    # ServerDown --
    #	-ondisconnect of the worker's server.
    method ServerDown {h cid reason} {
	dict unset Hellos [list $h $cid]
	my ExecLinkDown $h $cid
	my LinkDown $h $cid $reason
    }

    method LinkDown {h cid reason} {
	set key [list $h $cid]
	my BidLinkDown $key
	if {![dict exists $Links $key]} {
	    return
	}
	set link [dict get $Links $key]
	dict unset Links $key
	if {[dict get $link chosen]} {
	    my Log system dropped [dict get $link addr] $reason
	    set MeshDelay 250
	    my MeshSchedule [dict get $Opts rebuild_delay]
	}
	my InfoChanged
    }

    method DropClient {c} {
	::p2p::net::disown $c
	catch {$c configure -onprotocol {} -ondisconnect {}}
	after idle [list catch [list $c destroy]]
    }

    method CheckProbes {} {
	dict for {addr probe} $Probes {
	    if {[dict get $probe rtt] < 0} {
		return
	    }
	}
	my ProbesDone
    }

    # SendKey --
    #	Sends a message on the connection {handler cid}.
    method SendKey {key message} {
	lassign $key h cid
	::p2p::net::send $Address $h $cid $message
    }

    # Ping / PingTick --
    #	Every ping_interval ms, a ping on every link; pongs set the rtt.
    method Ping {key} {
	set seq [incr PingSeq]
	dict set Pings $seq [list $key [clock microseconds]]
	catch {my SendKey $key [list ping $seq]}
    }

    method PingTick {} {
	set old [expr {[clock microseconds] - 30000000}]
	dict for {seq ping} $Pings {
	    if {[lindex $ping 1] < $old} {
		dict unset Pings $seq
	    }
	}
	foreach key [dict keys $Links] {
	    my Ping $key
	}
	my Later [dict get $Opts ping_interval] PingTick
    }

    # Admitted --
    #	Errors (in the caller's protocol command) unless the connection
    #	said hello, or is one this worker made.
    method Admitted {h cid} {
	if {$h eq $Server && ![dict exists $Hellos [list $h $cid]]} {
	    return -level 2 -code error -errorcode {P2P NET NOTADMITTED} \
		"send \"hello NETWORK ADDRESS\" first"
	}
    }

    # Ms --
    #	Microseconds as milliseconds with three decimals (-1 stays -1).
    method Ms {us} {
	expr {$us < 0 ? -1 : double(round($us)) / 1000.0}
    }

    # ------------------------------------------------------------------
    # Protocol p2p:peer/1 (and the hello and ping of
    # p2p:worker<-foreman/1)
    # ------------------------------------------------------------------

    method OnHello {h cid network who} {
	set mine [dict get $Config -network]
	if {$network ne $mine} {
	    my Log error refused [$h connectionName $cid] \
		"network \"$network\""
	    after idle [list catch [list $h close $cid]]
	    return -code error -errorcode [list P2P NET NETWORK $network $mine] \
		"network \"$network\" refused: this worker belongs to network\
		\"$mine\""
	}
	dict set Hellos [list $h $cid] $who
	list welcome $Address
    }

    method OnWelcome {h cid address} {
	return
    }

    method OnPing {h cid seq} {
	my Admitted $h $cid
	list pong $seq
    }

    method OnPong {h cid seq} {
	if {![dict exists $Pings $seq]} {
	    return
	}
	lassign [dict get $Pings $seq] key sent
	dict unset Pings $seq
	set rtt [expr {[clock microseconds] - $sent}]
	if {[dict exists $Links $key]} {
	    set old [dict get $Links $key rtt]
	    dict set Links $key rtt [expr {$old < 0 ? $rtt
		: round(0.75 * $old + 0.25 * $rtt)}]
	    return
	}
	set addr [my ProbeAddr $h]
	if {$addr ne ""} {
	    dict set Probes $addr rtt $rtt
	    if {[$Mesh state] eq "probing"} {
		my CheckProbes
	    }
	}
	return
    }

    method OnJoin {h cid address} {
	my Admitted $h $cid
	set incoming 0
	dict for {key link} $Links {
	    incr incoming [expr {![dict get $link out]}]
	}
	if {$incoming >= [dict get $Opts max_incoming]} {
	    my Log system full $address "$incoming incoming links"
	    return [list full $Address]
	}
	dict set Links [list $h $cid] \
	    [dict create addr $address out 0 chosen 0 random 0 rtt -1]
	my Log system joined $address "link in"
	my Ping [list $h $cid]
	my InfoChanged
	list joined $Address
    }

    method OnJoined {h cid address} {
	set addr [my ProbeAddr $h]
	if {$addr eq "" || $addr ne $Joining} {
	    return
	}
	catch {after cancel $ProbeTimer}
	set rtt [dict get $Probes $addr rtt]
	dict unset Probes $addr
	dict set Links [list $h $cid] \
	    [dict create addr $addr out 1 chosen 1 random $JoiningRandom rtt $rtt]
	my Log system chose $addr "rtt [my Ms $rtt] ms[expr {$JoiningRandom
	    ? " (random pick)" : ""}]"
	my ChooseNext
	return
    }

    method OnFull {h cid address} {
	set addr [my ProbeAddr $h]
	if {$addr eq "" || $addr ne $Joining} {
	    return
	}
	catch {after cancel $ProbeTimer}
	dict unset Probes $addr
	my DropClient $h
	my ChooseNext
	return
    }
}
