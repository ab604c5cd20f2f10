# tree.tcl --
#
#	Tree jobs (DESIGN 3, "Tree jobs"): a job whose script splits its
#	input, works on a piece and merges results, run across the network
#	as a tree that grows as deep as the script decides.
#
#	    set id [$f submit -tree $script -input $data ?-maxdepth 3?
#	            ?-fanout 4? ?-budget points? ?-price n? ...]
#	    $f wait $id		-> the merged result (the usual result dict)
#	    $f tree $id		-> the nodes of the tree seen so far
#
#	The script defines three procedures, called in a safe interpreter
#	of the worker that runs the piece:
#
#	    split INPUT INFO	-> a list of pieces; one piece (or none):
#				   work on INPUT here, do not split
#	    work PIECE		-> the piece's result
#	    merge RESULTS	-> one result from the results of the pieces,
#				   in the order of the pieces
#
#	INFO is a dict: depth (0 at the root), maxdepth, fanout, bids (how
#	many other workers bid for the pieces), size (string length of
#	INPUT) and budget (points left for the pieces, "" without a
#	ledger). split is not called at maxdepth, nor with a fanout of 1.
#
#	A worker that splits becomes a foreman for the pieces
#	(p2p::treeforeman, one per worker): it asks its own mesh for bids,
#	keeps the first piece for itself and submits the others as tree
#	jobs one level deeper, works on its piece while they run, then
#	merges. A failed or lost piece is re-issued like any job. The slot
#	of a worker waiting for its pieces is free for other jobs.
#
#	Points. A tree job is paid out of one budget: the origin escrows
#	it (-budget, by default the bid's price times the most nodes the
#	tree may have) with the worker as its holder; the worker carves an
#	escrow for each piece it hands on out of it (the ledger records
#	the parent of each), and so on down. A piece's result releases its
#	escrow at the price its worker bid and refunds the rest to the
#	parent's escrow (paying.tcl), so the origin pays exactly the prices
#	of the pieces run.
#
#	Progress. Every node reports `tree DICT` progress to its foreman,
#	which passes its children's on up: the origin sees every node
#	(path, node, depth, size, pieces, sizes, state) as the tree grows,
#	logs it (event `tree`) and keeps it for `$f tree $id`.

namespace eval ::p2p {}

# ----------------------------------------------------------------------
# The foreman's side (mixed into p2p::foreman)
# ----------------------------------------------------------------------

oo::class create ::p2p::treeing {
    variable Jobs TreeNodes

    # TreeSpec --
    #	The job spec of submit's -tree options (a dict of them).
    method TreeSpec {o} {
	foreach {opt min} {-maxdepth 0 -fanout 1} {
	    set v [dict get $o $opt]
	    if {![string is integer -strict $v] || $v < $min} {
		return -level 2 -code error \
		    -errorcode [list P2P USAGE BADVALUE $opt] \
		    "bad value \"$v\" for $opt: must be an integer >= $min"
	    }
	}
	set spec [dict create kind tree script [dict get $o -tree] \
	    input [dict get $o -input] depth 0 \
	    maxdepth [dict get $o -maxdepth] fanout [dict get $o -fanout] \
	    path {}]
	foreach {opt key} {-budget budget -price price} {
	    set v [dict get $o $opt]
	    if {$v eq ""} {
		continue
	    }
	    if {![string is integer -strict $v] || $v < 1} {
		return -level 2 -code error \
		    -errorcode [list P2P USAGE BADVALUE $opt] \
		    "bad value \"$v\" for $opt: must be a positive integer"
	    }
	    dict set spec $key $v
	}
	return $spec
    }

    # TreeBudget --
    #	The points a tree run at price may spend: its spec's budget, or
    #	price times the most nodes its tree may have below and at it.
    method TreeBudget {spec price} {
	if {[dict exists $spec budget]} {
	    return [dict get $spec budget]
	}
	set nodes 0
	set level 1
	set fanout [dict get $spec fanout]
	for {set d [dict get $spec depth]} {$d <= [dict get $spec maxdepth]} \
		{incr d} {
	    incr nodes $level
	    set level [expr {$level * $fanout}]
	}
	expr {max(1, $price) * $nodes}
    }

    # USAGE: $f tree id	-> the nodes of tree job id seen so far, root
    #			   first: dicts path node depth size pieces sizes
    #			   state (splitting, working, waiting, merging,
    #			   done, failed)
    method tree {id} {
	my Known $id
	if {![info exists TreeNodes] || ![dict exists $TreeNodes $id]} {
	    return {}
	}
	set nodes [dict values [dict get $TreeNodes $id]]
	lsort -command {::apply {{a b} {
	    set pa [dict get $a path]
	    set pb [dict get $b path]
	    if {[llength $pa] != [llength $pb]} {
		return [expr {[llength $pa] - [llength $pb]}]
	    }
	    string compare $pa $pb
	}}} $nodes
    }

    # TreeNode --
    #	A `tree` progress message of job id: records the node.
    method TreeNode {id node} {
	if {[catch {dict get $node path} path]} {
	    return
	}
	if {![info exists TreeNodes]} {
	    set TreeNodes {}
	}
	if {[dict exists $TreeNodes $id $path]} {
	    set node [dict merge [dict get $TreeNodes $id $path] $node]
	}
	dict set TreeNodes $id $path $node
	::p2p::log event system tree [dict get $node node] \
	    "job $id path {$path} depth [dict get $node depth]\
	    [dict get $node state][expr {[dict exists $node pieces]
		&& [dict get $node pieces] ne ""
		? " pieces [dict get $node pieces] sizes {[dict get $node sizes]}"
		: ""}]"
    }
}

oo::define ::p2p::foreman mixin -append ::p2p::treeing

# ----------------------------------------------------------------------
# The foreman a worker becomes for the pieces of its tree jobs
# ----------------------------------------------------------------------

# p2p::treeforeman --
#	A foreman inside a worker: its solicitations enter the mesh at the
#	worker itself (whose own bid is dropped), its ledger requests go
#	over the worker's authority connection on the worker's account,
#	and `tree` progress of its pieces is passed on up.
oo::class create ::p2p::treeforeman {
    superclass ::p2p::foreman
    variable TreeWorker TreeAddr

    constructor {worker address args} {
	next {*}$args
	# The worker's methods used here are not exported.
	set TreeWorker [info object namespace $worker]::my
	set TreeAddr $address
    }

    # Entry workers: the worker itself.
    method workers {{n ""}} {
	list [dict create address $TreeAddr]
    }

    # Bids: not the worker's own (it works on its own piece anyway).
    method Rank {bids} {
	next [lmap b $bids {
	    expr {[dict get $b address] eq $TreeAddr ? [continue] : $b}
	}]
    }
}

# p2p::treepaying --
#	What a tree foreman changes in the methods its superclass gets
#	from its mixins (a subclass's own methods come after those).
oo::class create ::p2p::treepaying {
    variable Account Pending TreeWorker TreeAddr

    method Paying {} {
	set Account [$TreeWorker TreeAccount]
	expr {[dict size $Account] > 0}
    }

    method Connect {} {
	return -code error -errorcode {P2P TREE NOAUTHORITY} \
	    "a worker's tree foreman has no authority connection of its own"
    }

    method SendPending {opid} {
	if {[catch {
	    $TreeWorker TreeSend [my Signed $opid]
	} msg]} {
	    ::p2p::log event -node $TreeAddr error ledger "" \
		"$opid: $msg (will retry)"
	    my Resend
	}
    }

    method OnProgress {h cid rid message} {
	next $h $cid $rid $message
	if {[lindex $message 0] eq "tree"} {
	    $TreeWorker TreeRelay [lindex [split $rid .] 0] $message
	}
	return
    }
}

oo::define ::p2p::treeforeman mixin ::p2p::treepaying

# ----------------------------------------------------------------------
# The worker's side (mixed into p2p::worker)
# ----------------------------------------------------------------------

oo::class create ::p2p::treeworker {
    variable Address Config Opts Running Sandbox Trees TreeFo ChildOf \
	Waiting Account AuthClient Auth Security

    method TreeInit {} {
	set Trees {}
	set ChildOf {}
	set Waiting 0
	set TreeFo ""
    }

    method TreeDestroy {} {
	if {[info exists TreeFo] && $TreeFo ne ""} {
	    catch {$TreeFo destroy}
	    set TreeFo ""
	}
    }

    # TreeAccount, TreeSend, TreeRelay: for the tree foreman.
    method TreeAccount {} {
	return $Account
    }

    method TreeSend {message} {
	if {$AuthClient eq "" || [$Auth state] ne "registered"} {
	    error "not registered with an authority now"
	}
	::p2p::net::tell $Address $AuthClient $message
    }

    method TreeRelay {childJob message} {
	if {[dict exists $ChildOf $childJob]} {
	    set key [dict get $ChildOf $childJob]
	    if {[dict exists $Trees $key]} {
		my Progress $key $message
	    }
	}
    }

    # The authority answered a ledger request of the tree foreman.
    method OnLedger {h cid args} {
	if {$TreeFo ne ""} {
	    [info object namespace $TreeFo]::my OnLedger $h $cid {*}$args
	}
	return
    }

    # TreeRegistered --
    #	(Re)registered with an authority: ledger requests waiting for it
    #	go now.
    method TreeRegistered {} {
	if {$TreeFo ne ""} {
	    [info object namespace $TreeFo]::my Resend
	}
    }

    method Fo {} {
	if {$TreeFo eq ""} {
	    set TreeFo [::p2p::treeforeman new [self] $Address \
		-authorities [dict get $Config -authorities] \
		-network [dict get $Config -network] {*}$Security]
	}
	return $TreeFo
    }

    # RunTree --
    #	Starts a tree job (Running entry key): asks for bids when it may
    #	split, else works on it whole.
    method RunTree {key spec} {
	foreach {field test} {script {string length} input {string length}
		depth {string is integer -strict} maxdepth {string is integer -strict}
		fanout {string is integer -strict} path {string is list}} {
	    if {![dict exists $spec $field]
		    || [catch {{*}$test [dict get $spec $field]} ok] || !$ok} {
		my Finish $key [dict create status error exit 1 \
		    error "bad tree job: field \"$field\" missing or malformed"]
		return
	    }
	}
	set budget ""
	if {[dict exists $spec budget]} {
	    set budget [expr {[dict get $spec budget] - [dict get $Config -price]}]
	}
	dict set Trees $key [dict create spec $spec budget $budget state splitting \
	    pieces {} results {} children {} waiting 0 bids 0]
	my TreeReport $key splitting
	if {[dict get $spec depth] >= [dict get $spec maxdepth]
		|| [dict get $spec fanout] < 2} {
	    my TreeSplit $key {}
	    return
	}
	# Ask the mesh who would take pieces (the price ceiling: the job's,
	# and never more than the budget left).
	set job [dict create kind tree count [dict get $spec fanout]]
	set ceiling [my TreeCeiling $spec $budget 1]
	if {$ceiling ne ""} {
	    dict set job price $ceiling
	}
	my TreeWaiting $key 1
	set fo [my Fo]
	if {[catch {
	    [info object namespace $fo]::my SolicitStart $job \
		[dict get $Opts tree_ttl] [dict get $Opts tree_hop] 1 \
		[expr {[dict get $Opts tree_ttl] * [dict get $Opts tree_hop] + 1000}] \
		[list [namespace which my] TreeBids $key]
	} msg]} {
	    my Log error tree "" "bids for job [lindex $key 2]: $msg"
	    my TreeWaiting $key 0
	    my TreeSplit $key {}
	}
    }

    # TreeCeiling --
    #	The most a piece may cost when the budget is shared by n
    #	pieces: the job's price, bounded by the budget ("" = no bound).
    method TreeCeiling {spec budget n} {
	set ceiling [expr {[dict exists $spec price] ? [dict get $spec price] : ""}]
	if {$budget ne ""} {
	    set share [expr {$budget / max(1, $n)}]
	    if {$ceiling eq "" || $share < $ceiling} {
		set ceiling $share
	    }
	}
	return $ceiling
    }

    method TreeBids {key round} {
	if {![dict exists $Trees $key]} {
	    return
	}
	my TreeWaiting $key 0
	# Others' bids only: this worker works on its own piece anyway.
	my TreeSplit $key [lmap b [dict get $round bids] {
	    expr {[dict get $b address] eq $Address ? [continue] : $b}
	}] $round
    }

    # TreeWaiting --
    #	Marks the job as waiting (its slot free for others) or not.
    method TreeWaiting {key on} {
	set was [dict get $Trees $key waiting]
	if {$was == $on} {
	    return
	}
	dict set Trees $key waiting $on
	incr Waiting [expr {$on ? 1 : -1}]
	if {[dict exists $Running $key]} {
	    dict set Running $key state [expr {$on ? "waiting" : "running"}]
	}
	if {$on} {
	    after 0 [list [namespace which my] Next]
	}
    }

    # TreeRun --
    #	Calls a procedure of the job's script in the sandbox; returns
    #	{ok value} or {error message}.
    method TreeRun {key call vars} {
	lassign $key h cid id
	set spec [dict get $Trees $key spec]
	set opts [list -key [list tree $h $cid] -vars $vars \
	    -time [dict get $Opts job_timeout]]
	if {[dict exists $spec limits]} {
	    set limits [dict get $spec limits]
	    if {[dict exists $limits commands]} {
		lappend opts -commands [dict get $limits commands]
	    }
	    if {[dict exists $limits time]
		    && [string is integer -strict [dict get $limits time]]} {
		lappend opts -time [expr {min([dict get $limits time],
		    [dict get $Opts job_timeout])}]
	    }
	}
	if {[catch {
	    $Sandbox run "[dict get $spec script]\n$call" {*}$opts
	} r]} {
	    return [list error $r]
	}
	if {[dict get $r status] ne "ok"} {
	    return [list error "[lindex $call 0]: [dict get $r result]"]
	}
	list ok [dict get $r result]
    }

    # TreeSplit --
    #	Splits the input (unless at maxdepth), hands the pieces but the
    #	first to bidders, works on the first.
    method TreeSplit {key bids {round {}}} {
	set t [dict get $Trees $key]
	set spec [dict get $t spec]
	set input [dict get $spec input]
	set depth [dict get $spec depth]
	set pieces [list $input]
	if {$depth < [dict get $spec maxdepth] && [dict get $spec fanout] > 1} {
	    set info [dict create depth $depth \
		maxdepth [dict get $spec maxdepth] \
		fanout [dict get $spec fanout] bids [llength $bids] \
		size [string length $input] budget [dict get $t budget]]
	    lassign [my TreeRun $key {split $input $info} \
		[dict create input $input info $info]] status pieces
	    if {$status ne "ok"} {
		my TreeDone $key [dict create status error exit 1 error $pieces]
		return
	    }
	    if {[catch {llength $pieces} n]} {
		my TreeDone $key [dict create status error exit 1 \
		    error "split: the result is not a list"]
		return
	    }
	    if {$n == 0} {
		set pieces [list $input]
	    } elseif {$n > [dict get $spec fanout]} {
		my TreeDone $key [dict create status error exit 1 \
		    error "split: $n pieces, more than the fanout\
		    [dict get $spec fanout]"]
		return
	    }
	}
	set n [llength $pieces]
	dict set Trees $key pieces $pieces
	set sizes [lmap p $pieces {string length $p}]
	lassign $key h cid id
	if {$n > 1} {
	    my Log system tree [my LinkAddr $h $cid] "job $id path\
		{[dict get $spec path]} depth $depth split $n sizes {$sizes}"
	}
	# The pieces handed on, and what each may cost.
	set budget [dict get $t budget]
	set ceiling [my TreeCeiling $spec $budget [expr {$n - 1}]]
	set bidders [lmap b $bids {
	    expr {$ceiling eq "" || [dict get $b price] <= $ceiling
		? $b : [continue]}
	}]
	set delegate [expr {$n > 1 && [llength $bidders] > 0
	    && ($ceiling eq "" || $ceiling >= 1)}]
	my TreeReport $key working [expr {$n > 1 ? $n : ""}] $sizes
	if {$delegate} {
	    set fo [my Fo]
	    set ns [info object namespace $fo]
	    set child [dict create kind tree script [dict get $spec script] \
		depth [expr {$depth + 1}] maxdepth [dict get $spec maxdepth] \
		fanout [dict get $spec fanout]]
	    if {[dict exists $spec limits]} {
		dict set child limits [dict get $spec limits]
	    }
	    if {$ceiling ne ""} {
		dict set child price $ceiling
	    }
	    if {$budget ne ""} {
		# Its share of what is left (the price ceiling may be lower).
		dict set child budget [expr {$budget / max(1, $n - 1)}]
	    }
	    if {[dict exists $spec escrow]} {
		dict set child fund [dict get $spec escrow]
	    }
	    # The bids just gathered serve the pieces.
	    if {[dict size $round]} {
		dict set round bids $bidders
		${ns}::my GotBids [${ns}::my Class $child] $round
	    }
	    for {set i 1} {$i < $n} {incr i} {
		dict set child input [lindex $pieces $i]
		dict set child path [linsert [dict get $spec path] end $i]
		set jid [$fo submit -job $child \
		    -command [list [namespace which my] TreeChild $key $i]]
		dict set ChildOf $jid $key
		dict set Trees $key children $jid $i
	    }
	    set own 1
	} else {
	    set own $n
	}
	# This worker's own piece (all of them when none is handed on).
	for {set i 0} {$i < $own} {incr i} {
	    lassign [my TreeRun $key {work $piece} \
		[dict create piece [lindex $pieces $i]]] status r
	    if {$status ne "ok"} {
		my TreeDone $key [dict create status error exit 1 error $r]
		return
	    }
	    dict set Trees $key results $i $r
	}
	my TreeMaybeMerge $key
    }

    # TreeChild --
    #	A piece handed on came back.
    method TreeChild {key i jid result} {
	dict unset ChildOf $jid
	catch {[my Fo] forget $jid}
	if {![dict exists $Trees $key]} {
	    return
	}
	if {[dict get $result status] ne "ok"} {
	    my TreeDone $key [dict create status error exit 1 \
		error "piece $i: [dict get $result error]"]
	    return
	}
	dict set Trees $key results $i [dict get $result result]
	my TreeMaybeMerge $key
    }

    # TreeMaybeMerge --
    #	Once every piece has its result: merges them and returns.
    method TreeMaybeMerge {key} {
	set t [dict get $Trees $key]
	set n [llength [dict get $t pieces]]
	if {[dict size [dict get $t results]] < $n} {
	    if {![dict get $t waiting]} {
		my TreeReport $key waiting
		my TreeWaiting $key 1
	    }
	    return
	}
	my TreeWaiting $key 0
	if {$n == 1} {
	    my TreeDone $key [dict create status ok exit 0 \
		result [dict get $t results 0]]
	    return
	}
	my TreeReport $key merging
	set results [lmap i [lsort -integer [dict keys [dict get $t results]]] {
	    dict get $t results $i
	}]
	lassign [my TreeRun $key {merge $results} \
	    [dict create results $results]] status r
	if {$status ne "ok"} {
	    my TreeDone $key [dict create status error exit 1 error $r]
	    return
	}
	my TreeDone $key [dict create status ok exit 0 result $r]
    }

    # TreeReport --
    #	Tells the foreman (and through it the origin) how this node is.
    method TreeReport {key state {pieces ""} {sizes ""}} {
	set spec [dict get $Trees $key spec]
	set node [dict create path [dict get $spec path] node $Address \
	    depth [dict get $spec depth] size [string length \
	    [dict get $spec input]] state $state]
	if {$pieces ne ""} {
	    dict set node pieces $pieces
	    dict set node sizes $sizes
	}
	my Progress $key [list tree $node]
    }

    # TreeDone --
    #	The tree job ends with result.
    method TreeDone {key result} {
	if {![dict exists $Trees $key]} {
	    return
	}
	my TreeWaiting $key 0
	my TreeReport $key [expr {[dict get $result status] eq "ok"
	    ? "done" : "failed"}]
	my TreeAbandon $key
	my Finish $key $result
    }

    # TreeAbandon --
    #	Forgets a tree job, cancelling its pieces still out.
    method TreeAbandon {key} {
	if {![dict exists $Trees $key]} {
	    return
	}
	if {[dict get $Trees $key waiting]} {
	    incr Waiting -1
	}
	dict for {jid i} [dict get $Trees $key children] {
	    if {[dict exists $ChildOf $jid]} {
		dict unset ChildOf $jid
		catch {$TreeFo cancel $jid}
		catch {$TreeFo forget $jid}
	    }
	}
	dict unset Trees $key
    }

    # IsTree --
    #	True when the Running entry key is a tree job under way.
    method IsTree {key} {
	dict exists $Trees $key
    }
}

# (p2p::worker lists p2p::treeworker among its mixins: worker.tcl is
# sourced after this file.)
