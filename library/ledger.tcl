# ledger.tcl --
#
#	p2p::ledger: the points ledger of an authority (DESIGN 3, "Ledger"):
#	accounts, grants, escrow, release (pay the worker), refund (back to
#	the payer) and expiry, kept through TDBC in SQLite (default, one
#	file) or PostgreSQL (shared by several authorities).
#
#	Sub-escrows (tree jobs, issue 8): an escrow has an owner (who may
#	release or refund it: its payer) and may have a holder, who may
#	carve child escrows from it: same payer, owned by the holder, held
#	by another account, and so on down the tree. A child refunded or
#	expired returns what it holds to its parent while that is open,
#	else to the payer. The ledger records owner and holder; the
#	authority (banking.tcl) decides who may ask for what.
#
#	Double entry: every operation writes journal rows whose amounts sum
#	to zero. Points come from the system account "@world" (its balance
#	is minus the points ever granted) and wait in escrow under the
#	system account "@escrow" (one journal row per escrow movement,
#	carrying the escrow id). User account names never begin with "@".
#
#	Idempotence: every mutating operation carries an operation id
#	chosen by the caller. The first call claims it (a row of the table
#	ops, UNIQUE on opid) and stores its outcome, result or error, in
#	the same transaction as its journal rows; a repeat returns that
#	first outcome and changes nothing. Errors in the arguments (a bad
#	amount, a bad name) are raised before the id is looked at and are
#	not outcomes; errors of the database (a crash, a lost connection)
#	roll the transaction back, so the id stays free for a retry.
#
#	Concurrency (PostgreSQL, several authorities): every check that
#	matters is repeated in the WHERE clause of the UPDATE that acts on
#	it (balance >= amount, state = 'open'), so READ COMMITTED suffices;
#	an operation locks escrow rows (a child before its parent: by
#	decreasing id) or @world, then one account row, always in that
#	order, and a deadlock or serialisation failure is retried. In SQLite every transaction starts with a write, which
#	takes the file's write lock at once (waiting up to -timeout ms for
#	another process).
#
#	Durability (SQLite): WAL mode, synchronous FULL by default: a
#	commit returns only after the WAL is on disk, so an acknowledged
#	operation survives kill -9 and power loss. -synchronous normal
#	skips that fsync: still safe against kill -9 of the process (the
#	WAL write is in the kernel before commit returns) but not against
#	a crash of the machine. doc/ledger.n says more.
#
#	Speed (SQLite): tdbc::sqlite3 makes a TclOO result set for every
#	statement (35 us); unless -direct 0, the same SQL runs on the
#	sqlite3 handle of the TDBC connection, inside the TDBC transaction
#	(7 us), which doubles the operations per second (see Q).
#
#	TDBC is required lazily, in the constructor, so this file loads
#	without it.

namespace eval ::p2p {}
namespace eval ::p2p::Ledger {
    # The largest amount of one operation, and of all grants together:
    # with these, no balance or sum can overflow a 64-bit integer.
    variable maxAmount 1000000000000000
    variable maxGranted 1000000000000000000

    # Migrations, in order: version -> list of SQL statements. %SERIAL%
    # is the driver's auto-numbered primary key, :now the time.
    variable migrations {
	1 {
	    {CREATE TABLE accounts (
		name TEXT PRIMARY KEY,
		balance BIGINT NOT NULL DEFAULT 0,
		created BIGINT NOT NULL,
		CHECK (balance >= 0 OR name = '@world'))}
	    {INSERT INTO accounts (name, balance, created)
		VALUES ('@world', 0, :now)}
	    {CREATE TABLE ops (
		seq %SERIAL%,
		opid TEXT UNIQUE,
		kind TEXT NOT NULL,
		args TEXT NOT NULL,
		outcome TEXT NOT NULL DEFAULT 'pending',
		result TEXT NOT NULL DEFAULT '',
		errorcode TEXT NOT NULL DEFAULT '',
		at BIGINT NOT NULL)}
	    {CREATE TABLE escrows (
		id %SERIAL%,
		op BIGINT NOT NULL REFERENCES ops (seq),
		payer TEXT NOT NULL REFERENCES accounts (name),
		amount BIGINT NOT NULL CHECK (amount > 0),
		state TEXT NOT NULL,
		payee TEXT REFERENCES accounts (name),
		created BIGINT NOT NULL,
		closed BIGINT)}
	    {CREATE TABLE journal (
		id %SERIAL%,
		op BIGINT NOT NULL REFERENCES ops (seq),
		account TEXT NOT NULL,
		escrow BIGINT REFERENCES escrows (id),
		amount BIGINT NOT NULL CHECK (amount <> 0))}
	}
	2 {
	    {ALTER TABLE escrows ADD COLUMN remaining BIGINT NOT NULL
		DEFAULT 0}
	    {UPDATE escrows SET remaining = amount WHERE state = 'open'}
	    {ALTER TABLE escrows ADD COLUMN expires BIGINT}
	    {CREATE INDEX journal_account ON journal (account, id)}
	    {CREATE INDEX journal_op ON journal (op)}
	    {CREATE INDEX escrows_due ON escrows (state, expires)}
	}
	3 {
	    {ALTER TABLE escrows ADD COLUMN parent BIGINT
		REFERENCES escrows (id)}
	    {ALTER TABLE escrows ADD COLUMN owner TEXT
		REFERENCES accounts (name)}
	    {ALTER TABLE escrows ADD COLUMN holder TEXT
		REFERENCES accounts (name)}
	    {UPDATE escrows SET owner = payer}
	    {CREATE INDEX escrows_parent ON escrows (parent)}
	}
	4 {
	    {CREATE TABLE nonces (
		account TEXT NOT NULL,
		nonce TEXT NOT NULL,
		at BIGINT NOT NULL,
		PRIMARY KEY (account, nonce))}
	    {CREATE INDEX nonces_at ON nonces (at)}
	}
    }
}

oo::class create ::p2p::ledger {
    variable Db Driver Stmts Depth Where Sync Direct Window

    # USAGE: p2p::ledger new ?-file path? ?-postgres conninfo?
    #	?-synchronous full|normal? ?-timeout ms? ?-direct bool?
    #	?-window ms?
    #	Opens (creating and migrating as needed) a ledger: SQLite in
    #	-file (default ledger.sqlite in the current directory), or
    #	PostgreSQL when -postgres gives "key=value ..." or a
    #	postgres:// URL.
    constructor {args} {
	set Stmts {}
	set Depth 0
	set Direct ""
	if {[llength $args] % 2} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"p2p::ledger new ?-file path?\
		?-postgres conninfo? ?-synchronous full|normal?\
		?-timeout ms? ?-direct bool? ?-window ms?\""
	}
	set opts [dict create -file "" -postgres "" -synchronous full \
	    -timeout 5000 -direct 0 -window 300000]
	foreach {opt value} $args {
	    if {![dict exists $opts $opt]} {
		return -code error -errorcode [list P2P USAGE OPTION $opt] \
		    "bad option \"$opt\": must be -direct, -file, -postgres,\
		    -synchronous, -timeout, or -window"
	    }
	    dict set opts $opt $value
	}
	if {![string is boolean -strict [dict get $opts -direct]]} {
	    return -code error -errorcode [list P2P USAGE BADVALUE -direct] \
		"bad value \"[dict get $opts -direct]\" for -direct: must be\
		a boolean"
	}
	set Sync [string tolower [dict get $opts -synchronous]]
	if {$Sync ni {full normal}} {
	    return -code error \
		-errorcode [list P2P USAGE BADVALUE -synchronous] \
		"bad value \"[dict get $opts -synchronous]\" for\
		-synchronous: must be full or normal"
	}
	set Window [dict get $opts -window]
	if {![string is integer -strict $Window] || $Window <= 0} {
	    return -code error -errorcode [list P2P USAGE BADVALUE -window] \
		"bad value \"$Window\" for -window: must be a positive integer"
	}
	set timeout [dict get $opts -timeout]
	if {![string is integer -strict $timeout] || $timeout < 0} {
	    return -code error -errorcode [list P2P USAGE BADVALUE -timeout] \
		"bad value \"$timeout\" for -timeout: must be a\
		non-negative integer"
	}
	if {[dict get $opts -file] ne "" && [dict get $opts -postgres] ne ""} {
	    return -code error -errorcode {P2P USAGE CONFLICT} \
		"-file and -postgres exclude each other"
	}
	if {[dict get $opts -postgres] ne ""} {
	    set Driver postgres
	    set conn [::p2p::Ledger::Conninfo [dict get $opts -postgres]]
	    ::p2p::Ledger::Require tdbc::postgres
	    set Where "postgres [::p2p::Ledger::Describe $conn]"
	    set Db [tdbc::postgres::connection new {*}$conn \
		-timeout [expr {max(1, $timeout / 1000)}]]
	} else {
	    set Driver sqlite
	    set file [dict get $opts -file]
	    if {$file eq ""} {
		set file ledger.sqlite
	    }
	    ::p2p::Ledger::Require tdbc::sqlite3
	    set Where "sqlite [file normalize $file]"
	    set Db [tdbc::sqlite3::connection new $file]
	    $Db configure -timeout $timeout
	    # journal_mode is stored in the file; synchronous and
	    # foreign_keys hold for this connection.
	    $Db allrows {PRAGMA journal_mode = WAL}
	    $Db allrows "PRAGMA synchronous = [string toupper $Sync]"
	    $Db allrows {PRAGMA foreign_keys = ON}
	    # The direct path: the same SQL on the connection's own sqlite3
	    # handle, in the same transactions (see Q).
	    if {[dict get $opts -direct]
		    && ![catch {$Db getDBhandle} handle]} {
		set Direct $handle
		$Direct cache size 100
	    }
	}
	my Migrate
    }

    destructor {
	if {[info exists Stmts] && $Direct eq ""} {
	    dict for {sql stmt} $Stmts {
		catch {$stmt close}
	    }
	}
	if {[info exists Db]} {
	    catch {$Db close}
	}
    }

    # USAGE: $l close
    #	Closes the database and destroys the ledger object.
    method close {} {
	my destroy
    }

    # USAGE: $l schema
    #	The schema version of the database (after migration).
    method schema {} {
	lindex [my Q {SELECT max(version) AS v FROM schema_version}] 0 1
    }

    # USAGE: $l where
    #	Which database this is: "sqlite /path" or "postgres host=...".
    method where {} {
	return $Where
    }

    # ------------------------------------------------------------------
    # Accounts and reading.
    # ------------------------------------------------------------------

    # USAGE: $l account name ?-create bool?
    #	With -create 1, makes the account (balance 0) unless it exists.
    #	Otherwise an error when it does not exist. Returns the name.
    method account {args} {
	if {[llength $args] ni {1 3}} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] account name ?-create\
		bool?\""
	}
	lassign $args name opt value
	if {[llength $args] == 3} {
	    if {$opt ne "-create"} {
		return -code error -errorcode [list P2P USAGE OPTION $opt] \
		    "bad option \"$opt\": must be -create"
	    }
	    if {![string is boolean -strict $value]} {
		return -code error \
		    -errorcode [list P2P USAGE BADVALUE -create] \
		    "bad value \"$value\" for -create: must be a boolean"
	    }
	} else {
	    set value 0
	}
	::p2p::Ledger::Name $name
	if {$value} {
	    my Q {INSERT INTO accounts (name, balance, created)
		VALUES (:name, 0, :now) ON CONFLICT (name) DO NOTHING} \
		[dict create name $name now [clock milliseconds]]
	} else {
	    my Balance $name
	}
	return $name
    }

    # USAGE: $l accounts ?pattern?
    #	The names of the accounts (matching the glob pattern), sorted.
    method accounts {{pattern *}} {
	set names {}
	foreach row [my Q {SELECT name FROM accounts WHERE name <> '@world'}] {
	    if {[string match $pattern [dict get $row name]]} {
		lappend names [dict get $row name]
	    }
	}
	lsort $names
    }

    # USAGE: $l balance account
    method balance {args} {
	if {[llength $args] != 1} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] balance account\""
	}
	::p2p::Ledger::Name [lindex $args 0]
	my Balance [lindex $args 0]
    }

    # USAGE: $l history ?account? ?-limit n?
    #	Journal rows, newest first, as dicts: id opid kind account
    #	amount escrow at (opid and escrow empty when there is none).
    #	-limit defaults to 100; 0 means all.
    method history {args} {
	set account ""
	if {[llength $args] % 2} {
	    set args [lassign $args account]
	    ::p2p::Ledger::Name $account
	}
	set limit 100
	foreach {opt value} $args {
	    if {$opt ne "-limit"} {
		if {[string match -* $opt]} {
		    return -code error -errorcode [list P2P USAGE OPTION $opt] \
			"bad option \"$opt\": must be -limit"
		}
		return -code error -errorcode {TCL WRONGARGS} \
		    "wrong # args: should be \"[self] history ?account?\
		    ?-limit n?\""
	    }
	    if {![string is integer -strict $value] || $value < 0} {
		return -code error -errorcode [list P2P USAGE BADVALUE -limit] \
		    "bad value \"$value\" for -limit: must be a non-negative\
		    integer"
	    }
	    set limit $value
	}
	set sql {SELECT j.id AS id, o.opid AS opid, o.kind AS kind,
	    j.account AS account, j.amount AS amount, j.escrow AS escrow,
	    o.at AS at FROM journal j JOIN ops o ON o.seq = j.op}
	if {$account ne ""} {
	    my Balance $account
	    append sql { WHERE j.account = :account}
	}
	append sql { ORDER BY j.id DESC}
	if {$limit > 0} {
	    append sql { LIMIT :limit}
	}
	::p2p::Ledger::Fill {id opid kind account amount escrow at} \
	    [my Q $sql [dict create account $account limit $limit]]
    }

    # USAGE: $l escrows ?-state s? ?-payer name? ?-parent id? ?-id n?
    #	The escrows that match, oldest first, as dicts: id payer amount
    #	remaining state payee created expires closed opid parent owner
    #	holder (empty when there is none).
    method escrows {args} {
	if {[llength $args] % 2} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] escrows ?-state s?\
		?-payer name? ?-parent id? ?-id n?\""
	}
	set sql {SELECT e.id AS id, e.payer AS payer, e.amount AS amount,
	    e.remaining AS remaining, e.state AS state, e.payee AS payee,
	    e.created AS created, e.expires AS expires, e.closed AS closed,
	    o.opid AS opid, e.parent AS parent, e.owner AS owner,
	    e.holder AS holder FROM escrows e JOIN ops o ON o.seq = e.op}
	set where {}
	set params {}
	foreach {opt value} $args {
	    switch -exact -- $opt {
		-state {
		    lappend where {e.state = :state}
		    dict set params state $value
		}
		-payer {
		    lappend where {e.payer = :payer}
		    dict set params payer $value
		}
		-id - -parent {
		    if {![string is entier -strict $value]} {
			return -code error \
			    -errorcode [list P2P USAGE BADVALUE $opt] \
			    "bad value \"$value\" for $opt: must be an\
			    integer"
		    }
		    set key [string range $opt 1 end]
		    lappend where "e.$key = :$key"
		    dict set params $key $value
		}
		default {
		    return -code error -errorcode [list P2P USAGE OPTION $opt] \
			"bad option \"$opt\": must be -id, -parent, -payer,\
			or -state"
		}
	    }
	}
	if {[llength $where]} {
	    append sql " WHERE [join $where { AND }]"
	}
	append sql { ORDER BY e.id}
	::p2p::Ledger::Fill {id payer amount remaining state payee created
	    expires closed opid parent owner holder} [my Q $sql $params]
    }

    # USAGE: $l operation opid
    #	The stored outcome of an operation id, as a dict: kind args
    #	outcome (ok or error) result errorcode at; empty when the id
    #	was never used.
    method operation {args} {
	if {[llength $args] != 1} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] operation opid\""
	}
	lindex [my Q {SELECT kind, args, outcome, result, errorcode, at
	    FROM ops WHERE opid = :opid} [dict create opid [lindex $args 0]]] 0
    }

    # ------------------------------------------------------------------
    # Operations: each one transaction, each with its operation id.
    # ------------------------------------------------------------------

    # USAGE: $l grant opid account amount
    #	Points from nowhere (counted as granted). Returns the balance
    #	after the grant.
    method grant {args} {
	if {[llength $args] != 3} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] grant opid account amount\""
	}
	lassign $args opid account amount
	::p2p::Ledger::Opid $opid
	::p2p::Ledger::Name $account
	set amount [::p2p::Ledger::Amount $amount]
	my Run grant $opid [list $account $amount]
    }

    # USAGE: $l escrow opid payer amount ?-expires ms? ?-holder account?
    #	Moves amount from payer into a new escrow; -expires ms from now
    #	it is refunded by expire unless released or refunded before.
    #	-holder names the account that may carve child escrows from it
    #	(carve). Returns the escrow id.
    method escrow {args} {
	if {[llength $args] ni {3 5 7}} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] escrow opid payer amount\
		?-expires ms? ?-holder account?\""
	}
	set opts [::p2p::Ledger::Options [lrange $args 3 end] \
	    {-expires -holder}]
	lassign $args opid payer amount
	::p2p::Ledger::Opid $opid
	::p2p::Ledger::Name $payer
	set amount [::p2p::Ledger::Amount $amount]
	# Without a holder, the arguments an escrow had before holders
	# existed (a repeat of an old operation id still matches).
	set canon [list $payer $amount [dict get $opts -expires]]
	if {[dict get $opts -holder] ne ""} {
	    lappend canon [dict get $opts -holder]
	}
	my Run escrow $opid $canon
    }

    # USAGE: $l carve opid parent amount holder ?-expires ms?
    #	Moves amount from what remains in the open escrow parent into a
    #	new child escrow: same payer, owned by the parent's holder (who
    #	alone may release or refund it), held by holder (who may carve
    #	from it in turn). Returns the child's id.
    method carve {args} {
	if {[llength $args] ni {4 6}} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] carve opid parent amount\
		holder ?-expires ms?\""
	}
	set opts [::p2p::Ledger::Options [lrange $args 4 end] -expires]
	lassign $args opid parent amount holder
	::p2p::Ledger::Opid $opid
	set parent [::p2p::Ledger::EscrowId $parent]
	set amount [::p2p::Ledger::Amount $amount]
	::p2p::Ledger::Name $holder
	my Run carve $opid [list $parent $amount $holder \
	    [dict get $opts -expires]]
    }

    # USAGE: $l release opid escrow payee ?-amount n?
    #	Pays the escrow (or n points of it; the rest stays in escrow) to
    #	payee. Returns the amount paid.
    method release {args} {
	if {[llength $args] ni {3 5}} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] release opid escrow payee\
		?-amount n?\""
	}
	lassign $args opid escrow payee opt amount
	if {[llength $args] == 5} {
	    if {$opt ne "-amount"} {
		return -code error -errorcode [list P2P USAGE OPTION $opt] \
		    "bad option \"$opt\": must be -amount"
	    }
	    set amount [::p2p::Ledger::Amount $amount]
	}
	::p2p::Ledger::Opid $opid
	set escrow [::p2p::Ledger::EscrowId $escrow]
	::p2p::Ledger::Name $payee
	my Run release $opid [list $escrow $payee $amount]
    }

    # USAGE: $l refund opid escrow
    #	Returns what remains in the escrow to its parent, when it was
    #	carved from one that is still open, else to its payer. Returns
    #	the amount refunded.
    method refund {args} {
	if {[llength $args] != 2} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] refund opid escrow\""
	}
	lassign $args opid escrow
	::p2p::Ledger::Opid $opid
	set escrow [::p2p::Ledger::EscrowId $escrow]
	my Run refund $opid [list $escrow]
    }

    # USAGE: $l expire ?now?
    #	Refunds every open escrow whose deadline is at or before now
    #	(default: clock milliseconds), one transaction each. Returns
    #	how many it refunded.
    method expire {args} {
	if {[llength $args] > 1} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] expire ?now?\""
	}
	if {[llength $args]} {
	    set now [lindex $args 0]
	    if {![string is entier -strict $now]} {
		return -code error -errorcode [list P2P USAGE BADVALUE now] \
		    "bad time \"$now\": must be milliseconds as from clock\
		    milliseconds"
	    }
	} else {
	    set now [clock milliseconds]
	}
	set n 0
	foreach row [my Q {SELECT id FROM escrows
		WHERE state = 'open' AND expires <= :now ORDER BY id} \
		[dict create now $now]] {
	    set id [dict get $row id]
	    incr n [my Retry {my Tx {my ExpireOne $id $now}}]
	}
	return $n
    }

    # USAGE: $l nonce window	-> -window, in ms
    #	   $l nonce use account nonce	-> 1 the first time, else 0
    #	   $l nonce forget ?now?	-> how many were forgotten
    #	The nonces of signed requests: `use` records account's nonce
    #	(committed before it returns) and says whether it was new;
    #	`forget` drops those recorded more than two windows before now,
    #	which requests with a nonce that old are refused for anyway.
    method nonce {args} {
	set usage "[self] nonce window | use account nonce | forget ?now?"
	switch -- [lindex $args 0]/[llength $args] {
	    window/1 {
		return $Window
	    }
	    use/3 {
		lassign $args - account nonce
		::p2p::Ledger::Name $account
		return [llength [my Retry {my Tx {
		    my Q {INSERT INTO nonces (account, nonce, at)
			VALUES (:account, :nonce, :now)
			ON CONFLICT (account, nonce) DO NOTHING
			RETURNING at} [dict create account $account \
			nonce $nonce now [clock milliseconds]]
		}}]]
	    }
	    forget/1 - forget/2 {
		set now [expr {[llength $args] == 2 ? [lindex $args 1]
		    : [clock milliseconds]}]
		if {![string is entier -strict $now]} {
		    return -code error -errorcode [list P2P USAGE BADVALUE now] \
			"bad time \"$now\": must be milliseconds"
		}
		return [my Retry {my Tx {
		    my X {DELETE FROM nonces WHERE at < :before} \
			[dict create before [expr {$now - 2 * $Window}]]
		}}]
	    }
	    default {
		return -code error -errorcode {TCL WRONGARGS} \
		    "wrong # args: should be \"$usage\""
	    }
	}
    }

    # USAGE: $l batch script
    #	Runs script (at the caller's level) as one transaction: the
    #	operations it makes commit together (one disk flush for all), or
    #	not at all when script raises an error. Operations inside are
    #	acknowledged only when batch returns.
    method batch {args} {
	if {[llength $args] != 1} {
	    return -code error -errorcode {TCL WRONGARGS} \
		"wrong # args: should be \"[self] batch script\""
	}
	# Tx evaluates its script one level up; that level evaluates the
	# caller's script one further up, at the caller of batch.
	my Tx [list uplevel 1 [lindex $args 0]]
    }

    # USAGE: $l check
    #	Verifies the ledger: sum of balances + open escrows = sum of
    #	grants, every balance (and escrow) equals the sum of its journal
    #	rows, every operation's rows sum to zero, no balance is
    #	negative, the escrows form trees (owners, payers, amounts) and
    #	each was funded by the operation that made it. Returns a dict: ok (0 or 1), granted, balances,
    #	escrowed, problems (a list of texts).
    method check {} {
	my Tx {
	    if {$Driver eq "postgres"} {
		# One snapshot for every query of the check.
		my Q {SET TRANSACTION ISOLATION LEVEL REPEATABLE READ}
	    }
	    set result [my Check]
	}
	return $result
    }

    # ------------------------------------------------------------------
    # Internals.
    # ------------------------------------------------------------------

    # Check --
    #	The body of check, inside a transaction.
    method Check {} {
	set problems {}
	set world [my Q {SELECT balance FROM accounts WHERE name = '@world'}]
	if {[llength $world] != 1} {
	    lappend problems "the account @world is missing"
	    set granted 0
	} else {
	    set granted [expr {-[dict get [lindex $world 0] balance]}]
	}
	set balances [my Sum {SELECT sum(balance) AS s FROM accounts
	    WHERE name <> '@world'}]
	set escrowed [my Sum {SELECT sum(remaining) AS s FROM escrows
	    WHERE state = 'open'}]
	if {$balances + $escrowed != $granted} {
	    lappend problems "balances $balances + escrowed $escrowed =\
		[expr {$balances + $escrowed}], but granted $granted"
	}
	# Every account against its journal rows.
	set bad {}
	foreach row [my Q {SELECT a.name AS name, a.balance AS balance,
		COALESCE(j.s, 0) AS s FROM accounts a LEFT JOIN
		(SELECT account, sum(amount) AS s FROM journal
		    GROUP BY account) j ON j.account = a.name
		WHERE a.balance <> COALESCE(j.s, 0) ORDER BY a.name}] {
	    lappend bad "account \"[dict get $row name]\" has balance\
		[dict get $row balance] but its journal sums to\
		[dict get $row s]"
	}
	foreach row [my Q {SELECT name FROM accounts
		WHERE balance < 0 AND name <> '@world' ORDER BY name}] {
	    lappend bad "account \"[dict get $row name]\" is negative"
	}
	foreach row [my Q {SELECT DISTINCT j.account AS account
		FROM journal j LEFT JOIN accounts a ON a.name = j.account
		WHERE a.name IS NULL AND j.account <> '@escrow'
		ORDER BY j.account}] {
	    lappend bad "journal rows of unknown account\
		\"[dict get $row account]\""
	}
	# Every escrow against its journal rows: what remains while open,
	# nothing once closed.
	foreach row [my Q {SELECT e.id AS id, e.state AS state,
		e.remaining AS remaining, COALESCE(j.s, 0) AS s
		FROM escrows e LEFT JOIN
		(SELECT escrow, sum(amount) AS s FROM journal
		    WHERE account = '@escrow' GROUP BY escrow) j
		ON j.escrow = e.id
		WHERE COALESCE(j.s, 0) <> CASE WHEN e.state = 'open'
		    THEN e.remaining ELSE 0 END
		OR e.remaining < 0 OR e.remaining > e.amount
		OR e.state NOT IN ('open', 'released', 'refunded',
		    'expired') ORDER BY e.id}] {
	    lappend bad "escrow [dict get $row id] ([dict get $row state],\
		remaining [dict get $row remaining]) but its journal sums to\
		[dict get $row s]"
	}
	# The tree of escrows: a root is owned by its payer; a child was
	# carved after its parent, from it, by its holder: same payer,
	# owned by the parent's holder, and no more than the parent held.
	foreach row [my Q {SELECT e.id AS id, e.parent AS parent,
		e.payer AS payer, e.owner AS owner, e.amount AS amount,
		p.id AS pid, p.payer AS ppayer, p.holder AS pholder,
		p.amount AS pamount FROM escrows e
		LEFT JOIN escrows p ON p.id = e.parent
		WHERE (e.parent IS NULL AND (e.owner IS NULL
		    OR e.owner <> e.payer))
		OR (e.parent IS NOT NULL AND (p.id IS NULL OR p.id >= e.id
		    OR p.payer <> e.payer OR p.holder IS NULL
		    OR e.owner IS NULL OR e.owner <> p.holder
		    OR e.amount > p.amount))
		ORDER BY e.id}] {
	    set id [dict get $row id]
	    set g [list ::p2p::Ledger::Get $row]
	    if {[{*}$g parent] eq ""} {
		lappend bad "escrow $id has payer \"[{*}$g payer]\" but owner\
		    \"[{*}$g owner]\""
	    } elseif {[{*}$g pid] eq "" || [{*}$g pid] >= $id} {
		lappend bad "escrow $id has parent [{*}$g parent], which is\
		    [expr {[{*}$g pid] eq "" ? "unknown" : "not older"}]"
	    } else {
		lappend bad "escrow $id (payer \"[{*}$g payer]\", owner\
		    \"[{*}$g owner]\", amount [{*}$g amount]) does not fit\
		    its parent [{*}$g parent] (payer \"[{*}$g ppayer]\",\
		    holder \"[{*}$g pholder]\", amount [{*}$g pamount])"
	    }
	}
	# Where the points of each escrow came from: the journal rows of
	# the operation that made it move its amount from the payer (a
	# root) or out of the parent (a child) into it, and nothing else.
	foreach row [my Q {SELECT e.id AS id FROM escrows e
		WHERE NOT EXISTS (SELECT 1 FROM journal j
		    WHERE j.op = e.op AND j.escrow = e.id
		    AND j.account = '@escrow' AND j.amount = e.amount)
		OR NOT EXISTS (SELECT 1 FROM journal j
		    WHERE j.op = e.op AND j.amount = -e.amount
		    AND ((e.parent IS NULL AND j.account = e.payer
			AND j.escrow = e.id)
		    OR (e.parent IS NOT NULL AND j.account = '@escrow'
			AND j.escrow = e.parent)))
		OR (SELECT count(*) FROM journal j WHERE j.op = e.op) <> 2
		ORDER BY e.id}] {
	    lappend bad "escrow [dict get $row id]: the journal rows of the\
		operation that made it do not fund it"
	}
	foreach row [my Q {SELECT j.op AS op, o.opid AS opid,
		sum(j.amount) AS s FROM journal j LEFT JOIN ops o
		ON o.seq = j.op GROUP BY j.op, o.opid
		HAVING sum(j.amount) <> 0 ORDER BY j.op}] {
	    set opid [expr {[dict exists $row opid]
		? [dict get $row opid] : "#[dict get $row op]"}]
	    lappend bad "operation \"$opid\": journal rows sum to\
		[dict get $row s], not 0"
	}
	if {[llength $bad] > 20} {
	    set more [expr {[llength $bad] - 20}]
	    set bad [lrange $bad 0 19]
	    lappend bad "... and $more more"
	}
	lappend problems {*}$bad
	dict create ok [expr {[llength $problems] == 0}] granted $granted \
	    balances $balances escrowed $escrowed problems $problems
    }

    # Sum --
    #	The value of a query "SELECT sum(...) AS s", 0 for NULL.
    method Sum {sql} {
	set row [lindex [my Q $sql] 0]
	if {[dict exists $row s] && [dict get $row s] ne ""} {
	    return [dict get $row s]
	}
	return 0
    }

    # Balance --
    #	The balance of an account, or an error when it does not exist.
    method Balance {name} {
	set rows [my Q {SELECT balance FROM accounts WHERE name = :name} \
	    [dict create name $name]]
	if {![llength $rows]} {
	    ::p2p::Ledger::Unknown $name
	}
	dict get [lindex $rows 0] balance
    }

    # Run --
    #	Makes one operation (kind with canonical arguments args) under
    #	opid in a transaction of its own (or of the batch around it),
    #	then returns its outcome: the result, or the error the first
    #	call under this opid raised.
    method Run {kind opid canon} {
	set outcome [my Retry [list my Tx [list my Once $kind $opid $canon]]]
	lassign $outcome status value code
	if {$status eq "ok"} {
	    return $value
	}
	return -code error -errorcode $code $value
    }

    # Retry --
    #	Evaluates script, again (up to 5 times) when the database
    #	rolled the transaction back because of a deadlock or a
    #	serialisation failure. Inside a batch the error goes to the
    #	batch.
    method Retry {script} {
	set attempt 0
	while 1 {
	    try {
		return [uplevel 1 $script]
	    } trap {TDBC TRANSACTION_ROLLBACK} {msg opts} {
		if {$Depth > 0 || [incr attempt] >= 5} {
		    return -options $opts $msg
		}
	    }
	}
    }

    # Tx --
    #	Evaluates script (at the caller's level) in a transaction, or
    #	directly when a transaction (a batch) is already open.
    method Tx {script} {
	if {$Depth > 0} {
	    return [uplevel 1 $script]
	}
	incr Depth
	try {
	    return [uplevel 1 [list $Db transaction $script]]
	} finally {
	    incr Depth -1
	}
    }

    # Once --
    #	Inside a transaction: claims opid, or returns the outcome stored
    #	under it. The result is a list: ok result, or error message
    #	errorcode. Errors of the ledger (P2P LEDGER ...) are outcomes
    #	and stored; they are raised before the operation writes
    #	anything but the ops row. Any other error rolls back.
    method Once {kind opid canon} {
	set now [clock milliseconds]
	# The first statement writes (SQLite takes its lock at once).
	set claim [my Q {INSERT INTO ops (opid, kind, args, at)
	    VALUES (:opid, :kind, :args, :now)
	    ON CONFLICT (opid) DO NOTHING RETURNING seq} \
	    [dict create opid $opid kind $kind args $canon now $now]]
	if {![llength $claim]} {
	    set first [lindex [my Q {SELECT kind, args, outcome, result,
		errorcode FROM ops WHERE opid = :opid} \
		[dict create opid $opid]] 0]
	    if {[dict get $first kind] ne $kind
		    || [dict get $first args] ne $canon} {
		throw [list P2P LEDGER OPID REUSED $opid] "operation\
		    \"$opid\" was already made with other arguments:\
		    [dict get $first kind] [dict get $first args]"
	    }
	    return [list [dict get $first outcome] [dict get $first result] \
		[dict get $first errorcode]]
	}
	set seq [dict get [lindex $claim 0] seq]
	try {
	    set result [my Do$kind $seq $now {*}$canon]
	} trap {P2P LEDGER} {msg opts} {
	    set code [dict get $opts -errorcode]
	    my Q {UPDATE ops SET outcome = 'error', result = :msg,
		errorcode = :code WHERE seq = :seq} \
		[dict create msg $msg code $code seq $seq]
	    return [list error $msg $code]
	}
	my Q {UPDATE ops SET outcome = 'ok', result = :result
	    WHERE seq = :seq} [dict create result $result seq $seq]
	return [list ok $result]
    }

    # Journal --
    #	Writes the two journal rows of a movement of amount from one
    #	account to another under operation seq.
    method Journal {seq from to amount {escrow ""}} {
	set p [dict create op $seq from $from to $to \
	    debit [expr {-$amount}] credit $amount]
	if {$escrow ne ""} {
	    dict set p escrow $escrow
	}
	my Q {INSERT INTO journal (op, account, escrow, amount)
	    VALUES (:op, :from, :escrow, :debit), (:op, :to, :escrow, :credit)} $p
    }

    # Credit --
    #	Adds amount to an existing account.
    method Credit {name amount} {
	my Q {UPDATE accounts SET balance = balance + :amount
	    WHERE name = :name} [dict create name $name amount $amount]
    }

    method Dogrant {seq now account amount} {
	my Balance $account
	# Compare a column with a parameter: SQLite converts a number
	# bound as text by the column's affinity only then.
	set min [expr {$amount - $::p2p::Ledger::maxGranted}]
	set rows [my Q {UPDATE accounts SET balance = balance - :amount
	    WHERE name = '@world' AND balance >= :min
	    RETURNING balance} [dict create amount $amount min $min]]
	if {![llength $rows]} {
	    throw {P2P LEDGER LIMIT} "grant of $amount would take the points\
		ever granted past $::p2p::Ledger::maxGranted"
	}
	set rows [my Q {UPDATE accounts SET balance = balance + :amount
	    WHERE name = :name RETURNING balance} \
	    [dict create name $account amount $amount]]
	my Journal $seq @world $account $amount
	dict get [lindex $rows 0] balance
    }

    method Doescrow {seq now payer amount expires {holder ""}} {
	if {$holder ne ""} {
	    my Balance $holder
	}
	set rows [my Q {UPDATE accounts SET balance = balance - :amount
	    WHERE name = :name AND balance >= :amount RETURNING balance} \
	    [dict create name $payer amount $amount]]
	if {![llength $rows]} {
	    ::p2p::Ledger::Funds account $payer [my Balance $payer] $amount
	}
	set p [dict create op $seq payer $payer amount $amount now $now]
	if {$expires ne ""} {
	    dict set p expires [expr {$now + $expires}]
	}
	if {$holder ne ""} {
	    dict set p holder $holder
	}
	set id [dict get [lindex [my Q {INSERT INTO escrows (op, payer, amount,
	    remaining, state, created, expires, owner, holder) VALUES (:op,
	    :payer, :amount, :amount, 'open', :now, :expires, :payer, :holder)
	    RETURNING id} $p] 0] id]
	my Journal $seq $payer @escrow $amount $id
	return $id
    }

    method Docarve {seq now parent amount holder expires} {
	# Every error before the first change (Once keeps what was
	# written before an error of the ledger).
	set e [my Lock $parent $now $holder]
	set owner [::p2p::Ledger::Get $e holder]
	if {$owner eq ""} {
	    throw [list P2P LEDGER HOLDER $parent] \
		"escrow $parent has no holder: nobody may carve from it"
	}
	set remaining [dict get $e remaining]
	if {$amount > $remaining} {
	    ::p2p::Ledger::Funds escrow $parent $remaining $amount
	}
	my Q {UPDATE escrows SET remaining = remaining - :amount
	    WHERE id = :id} [dict create amount $amount id $parent]
	set p [dict create op $seq payer [dict get $e payer] amount $amount \
	    now $now parent $parent owner $owner holder $holder]
	if {$expires ne ""} {
	    dict set p expires [expr {$now + $expires}]
	}
	set id [dict get [lindex [my Q {INSERT INTO escrows (op, payer, amount,
	    remaining, state, created, expires, parent, owner, holder)
	    VALUES (:op, :payer, :amount, :amount, 'open', :now, :expires,
	    :parent, :owner, :holder) RETURNING id} $p] 0] id]
	my Move $seq $parent $id $amount
	return $id
    }

    method Dorelease {seq now escrow payee amount} {
	set e [my Lock $escrow $now $payee]
	set remaining [dict get $e remaining]
	if {$amount eq ""} {
	    set amount $remaining
	} elseif {$amount > $remaining} {
	    ::p2p::Ledger::Funds escrow $escrow $remaining $amount
	}
	my Q {UPDATE escrows SET remaining = remaining - :amount,
	    state = CASE WHEN remaining = :amount THEN 'released'
		ELSE 'open' END,
	    closed = CASE WHEN remaining = :amount THEN :now
		ELSE closed END,
	    payee = :payee WHERE id = :id} \
	    [dict create amount $amount now $now payee $payee id $escrow]
	# An escrow whose points all went into children pays nothing
	# (and writes no journal rows: they are never 0).
	if {$amount > 0} {
	    my Credit $payee $amount
	    my Journal $seq @escrow $payee $amount $escrow
	}
	return $amount
    }

    method Dorefund {seq now escrow} {
	# A refund is allowed past the deadline (expire would do the same).
	set e [my Lock $escrow "" ""]
	my Q {UPDATE escrows SET remaining = 0, state = 'refunded',
	    closed = :now WHERE id = :id} [dict create now $now id $escrow]
	my Return $seq $e
    }

    # Return --
    #	Inside an operation: gives what remained in escrow e (a dict
    #	with id, payer, remaining, parent), which was just closed, back
    #	to its parent when it has one that is still open, else to its
    #	payer. Returns the amount.
    method Return {seq e} {
	set id [dict get $e id]
	set remaining [dict get $e remaining]
	if {$remaining == 0} {
	    return 0
	}
	set parent [::p2p::Ledger::Get $e parent]
	if {$parent ne "" && [llength [my Q {UPDATE escrows
		SET remaining = remaining + :amount
		WHERE id = :id AND state = 'open' RETURNING id} \
		[dict create amount $remaining id $parent]]]} {
	    my Move $seq $id $parent $remaining
	} else {
	    my Credit [dict get $e payer] $remaining
	    my Journal $seq @escrow [dict get $e payer] $remaining $id
	}
	return $remaining
    }

    # Move --
    #	Writes the two journal rows of a movement of amount from one
    #	escrow to another (both rows of the account @escrow).
    method Move {seq from to amount} {
	my Q {INSERT INTO journal (op, account, escrow, amount)
	    VALUES (:op, '@escrow', :from, :debit),
		(:op, '@escrow', :to, :credit)} \
	    [dict create op $seq from $from to $to debit [expr {-$amount}] \
		credit $amount]
    }

    # Lock --
    #	Inside an operation: an error unless escrow id is open (and,
    #	when now is given, not past its deadline; when payee is given,
    #	payee is an account). Otherwise writes the escrow's row without
    #	changing it, which locks it against other authorities
    #	(PostgreSQL) until the transaction ends, so that what was read
    #	stays true, and returns its id, payer, remaining, parent and
    #	holder as a dict (parent and holder missing when NULL).
    #
    #	Escrows are locked in the order of decreasing id (a child, then
    #	its parent: Return), then one account.
    method Lock {id now payee} {
	set p [dict create id $id]
	if {$now ne ""} {
	    dict set p now $now
	}
	if {$payee ne ""} {
	    dict set p payee $payee
	}
	set rows [my Q {UPDATE escrows SET state = state
	    WHERE id = :id AND state = 'open'
	    AND (CAST(:now AS BIGINT) IS NULL OR expires IS NULL
		OR expires > CAST(:now AS BIGINT))
	    AND (CAST(:payee AS TEXT) IS NULL OR EXISTS
		(SELECT 1 FROM accounts WHERE name = CAST(:payee AS TEXT)))
	    RETURNING id, payer, remaining, parent, holder} $p]
	if {[llength $rows]} {
	    return [lindex $rows 0]
	}
	# Why not, in the order: unknown escrow, its state, the payee.
	my Open [my Escrow $id] $now
	if {$payee ne ""} {
	    my Balance $payee
	}
	throw [list P2P LEDGER STATE $id changed] \
	    "escrow $id changed during the operation"
    }

    # ExpireOne --
    #	Inside a transaction: refunds escrow id (to its parent when that
    #	is still open, as refund does) if it is still open and due at
    #	now. Returns 1 if it did, else 0.
    method ExpireOne {id now} {
	# The first statement writes (SQLite takes its lock at once).
	set n [my X {UPDATE escrows SET state = 'expired', closed = :now
	    WHERE id = :id AND state = 'open' AND expires <= :now} \
	    [dict create id $id now $now]]
	if {$n != 1} {
	    return 0
	}
	set e [my Escrow $id]
	my Q {UPDATE escrows SET remaining = 0 WHERE id = :id} \
	    [dict create id $id]
	set seq [dict get [lindex [my Q {INSERT INTO ops (kind, args,
	    outcome, result, at) VALUES ('expire', :args, 'ok', :remaining,
	    :now) RETURNING seq} [dict create args [list $id] \
	    remaining [dict get $e remaining] now $now]] 0] seq]
	my Return $seq $e
	return 1
    }

    # Escrow --
    #	The row of an escrow as a dict, or an error when there is none.
    method Escrow {id} {
	set rows [my Q {SELECT id, payer, amount, remaining, state, payee,
	    expires, parent, holder FROM escrows WHERE id = :id} \
	    [dict create id $id]]
	if {![llength $rows]} {
	    throw [list P2P LEDGER ESCROW $id] "unknown escrow \"$id\""
	}
	lindex $rows 0
    }

    # Open --
    #	An error unless the escrow (a row from Escrow) is open and not
    #	past its deadline at now.
    method Open {e now} {
	set id [dict get $e id]
	set state [dict get $e state]
	if {$state eq "open" && $now ne "" && [dict exists $e expires]
		&& [dict get $e expires] ne ""
		&& [dict get $e expires] <= $now} {
	    set state expired
	}
	switch -exact -- $state {
	    open {
		return
	    }
	    expired {
		set msg "escrow $id has expired"
	    }
	    default {
		set msg "escrow $id is already $state"
	    }
	}
	throw [list P2P LEDGER STATE $id $state] $msg
    }

    # Q --
    #	Executes a statement (prepared once per ledger) with the
    #	parameters in dict params; returns its rows as dicts (a NULL
    #	column is missing from its row).
    #
    #	With SQLite, unless -direct 0, the statement runs on the sqlite3
    #	handle of the TDBC connection, in the TDBC transaction, exactly
    #	as tdbc::sqlite3 would run it (the same binding of variables
    #	from the dict, the same NULL marker) but without a TclOO result
    #	set per statement: 7 us instead of 35 us a statement, which
    #	doubles the operations per second (doc/ledger.n).
    method Q {sql {params {}}} {
	if {$Direct ne ""} {
	    if {![dict exists $Stmts $sql]} {
		dict set Stmts $sql [my Dialect $sql]
	    }
	    return [::p2p::Ledger::Direct $Direct [dict get $Stmts $sql] \
		$params]
	}
	if {![dict exists $Stmts $sql]} {
	    dict set Stmts $sql [$Db prepare [my Dialect $sql]]
	}
	# "--": without it the statement parses params as options, and
	# SQLite then binds numbers as text.
	[dict get $Stmts $sql] allrows -as dicts -- $params
    }

    # X --
    #	Like Q, for a statement without rows: returns how many rows it
    #	changed.
    method X {sql {params {}}} {
	if {$Direct ne ""} {
	    my Q $sql $params
	    return [$Direct changes]
	}
	if {![dict exists $Stmts $sql]} {
	    dict set Stmts $sql [$Db prepare [my Dialect $sql]]
	}
	set rs [[dict get $Stmts $sql] execute $params]
	try {
	    return [$rs rowcount]
	} finally {
	    $rs close
	}
    }

    # Dialect --
    #	SQL text for this driver.
    method Dialect {sql} {
	if {$Driver eq "postgres"} {
	    set serial {BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY}
	} else {
	    set serial {INTEGER PRIMARY KEY}
	}
	string map [list %SERIAL% $serial] $sql
    }

    # Migrate --
    #	Brings the schema to the newest version, one migration per
    #	transaction, each recorded in schema_version.
    method Migrate {} {
	set migrations $::p2p::Ledger::migrations
	set newest [lindex $migrations end-1]
	if {$Driver eq "sqlite"} {
	    # Outside a transaction: a plain statement waits (-timeout) for
	    # another process's lock.
	    $Db allrows {CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)}
	}
	while 1 {
	    set done [my Tx {
		if {$Driver eq "postgres"} {
		    # Authorities sharing the database migrate one at a
		    # time (the lock ends with the transaction).
		    $Db allrows {SELECT pg_advisory_xact_lock(7007001)}
		    $Db allrows {CREATE TABLE IF NOT EXISTS schema_version (
			version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)}
		} else {
		    # A write first: takes the file's lock at once.
		    $Db allrows {UPDATE schema_version SET version = version
			WHERE version < 0}
		}
		set v [lindex [$Db allrows -as lists \
		    {SELECT max(version) FROM schema_version}] 0 0]
		if {$v eq ""} {
		    set v 0
		}
		if {$v > $newest} {
		    throw [list P2P LEDGER SCHEMA $v] "ledger database\
			has schema version $v; this p2pjobs knows versions\
			up to $newest"
		}
		if {$v < $newest} {
		    set next [expr {$v + 1}]
		    set now [clock milliseconds]
		    foreach sql [dict get $migrations $next] {
			$Db allrows [my Dialect $sql] [dict create now $now]
		    }
		    $Db allrows {INSERT INTO schema_version (version, applied)
			VALUES (:next, :now)} [dict create next $next now $now]
		}
		expr {$v >= $newest}
	    }]
	    if {$done} {
		break
	    }
	}
    }
}

# ----------------------------------------------------------------------
# Helpers: argument checks and errors.
# ----------------------------------------------------------------------

namespace eval ::p2p::Ledger {
    # Direct --
    #	Runs sql on a sqlite3 handle with the variables of dict -params
    #	(the local names begin with "-", which no SQL parameter can);
    #	returns the rows as dicts without NULL columns, whose value is
    #	the marker tdbc::sqlite3 sets with "nullvalue".
    proc Direct {-db -sql -params} {
	dict with -params {}
	set -rows {}
	${-db} eval ${-sql} -row {
	    set -d {}
	    foreach -c ${-row(*)} {
		if {[set -row(${-c})] ne "\ufffd"} {
		    dict set -d ${-c} [set -row(${-c})]
		}
	    }
	    lappend -rows ${-d}
	}
	return ${-rows}
    }

    # Require --
    #	package require of a TDBC driver, with a clear error.
    proc Require {pkg} {
	if {[catch {package require $pkg} msg]} {
	    return -code error -errorcode [list P2P LEDGER DRIVER $pkg] \
		"p2p::ledger needs the Tcl package $pkg: $msg"
	}
    }

    # Amount --
    #	A positive integer amount, or an error.
    proc Amount {value} {
	variable maxAmount
	if {![regexp {^[1-9][0-9]{0,15}$} $value] || $value > $maxAmount} {
	    return -code error -errorcode [list P2P LEDGER AMOUNT $value] \
		"bad amount \"$value\": must be a positive integer up to\
		$maxAmount"
	}
	return $value
    }

    # Name --
    #	An account name: 1 to 200 characters, no control characters,
    #	not beginning with "@" (system accounts).
    proc Name {name} {
	if {[string length $name] > 200 || [regexp {^@|^$|[[:cntrl:]]} $name]} {
	    return -code error -errorcode [list P2P LEDGER NAME $name] \
		"bad account name \"$name\": must be 1 to 200 characters,\
		no control characters, not beginning with @"
	}
    }

    # Opid --
    #	An operation id: 1 to 200 characters, no control characters.
    proc Opid {opid} {
	if {[string length $opid] > 200 || [regexp {^$|[[:cntrl:]]} $opid]} {
	    return -code error -errorcode [list P2P LEDGER OPID BAD $opid] \
		"bad operation id \"$opid\": must be 1 to 200 characters,\
		no control characters"
	}
    }

    # Options --
    #	The options of escrow or carve (pairs in args, each one of the
    #	list valid) as a dict with every valid option ("" when not
    #	given), or an error naming the bad one.
    proc Options {args valid} {
	set opts {}
	foreach opt $valid {
	    dict set opts $opt ""
	}
	foreach {opt value} $args {
	    if {$opt ni $valid} {
		if {[llength $valid] == 1} {
		    set must [lindex $valid 0]
		} else {
		    set must "[join [lrange $valid 0 end-1] {, }] or\
			[lindex $valid end]"
		}
		return -code error -errorcode [list P2P USAGE OPTION $opt] \
		    "bad option \"$opt\": must be $must"
	    }
	    switch -- $opt {
		-expires {
		    if {![regexp {^[1-9][0-9]{0,14}$} $value]} {
			return -code error \
			    -errorcode [list P2P USAGE BADVALUE -expires] \
			    "bad value \"$value\" for -expires: must be a\
			    positive number of milliseconds"
		    }
		}
		-holder {
		    Name $value
		}
	    }
	    dict set opts $opt $value
	}
	return $opts
    }

    # Get --
    #	The value of key in a row (dict) from Q, "" for a NULL column.
    proc Get {row key} {
	if {[dict exists $row $key]} {
	    return [dict get $row $key]
	}
	return ""
    }

    # EscrowId --
    #	An escrow id (a positive integer), or an error.
    proc EscrowId {id} {
	if {![regexp {^[1-9][0-9]{0,17}$} $id]} {
	    return -code error -errorcode [list P2P LEDGER ESCROW $id] \
		"unknown escrow \"$id\""
	}
	return $id
    }

    # Fill --
    #	Rows as dicts with exactly the given keys, in that order ("" for
    #	a NULL column, which TDBC leaves out of its row).
    proc Fill {keys rows} {
	lmap row $rows {
	    set d {}
	    foreach k $keys {
		dict set d $k [expr {[dict exists $row $k]
		    ? [dict get $row $k] : ""}]
	    }
	    set d
	}
    }

    proc Unknown {name} {
	return -level 2 -code error -errorcode [list P2P LEDGER ACCOUNT $name] \
	    "unknown account \"$name\""
    }

    # Funds --
    #	The overdraft error of an account or an escrow.
    proc Funds {kind name balance amount} {
	set what [expr {$kind eq "account" ? "\"$name\"" : $name}]
	return -level 2 -code error \
	    -errorcode [list P2P LEDGER FUNDS $kind $name $balance $amount] \
	    "insufficient funds in $kind $what: balance $balance, amount\
	    $amount"
    }

    # Conninfo --
    #	Options of tdbc::postgres::connection from "key=value ..." (as
    #	libpq takes them; values may be 'quoted') or a postgres:// URL.
    proc Conninfo {spec} {
	set pairs {}
	if {[regexp {^postgres(?:ql)?://([^/?]*)(?:/([^?]*))?(?:\?(.*))?$} \
		$spec -> authority db query]} {
	    set hostport $authority
	    if {[regexp {^(.*)@([^@]*)$} $authority -> userinfo hostport]} {
		if {[regexp {^([^:]*):(.*)$} $userinfo -> user pass]} {
		    lappend pairs user [Unquote $user] password [Unquote $pass]
		} else {
		    lappend pairs user [Unquote $userinfo]
		}
	    }
	    if {[regexp {^(\[[^\]]*\]|[^:]*)(?::(\d*))?$} $hostport -> host \
		    port]} {
		set host [string trim $host {[]}]
		if {$host ne ""} {
		    lappend pairs host [Unquote $host]
		}
		if {$port ne ""} {
		    lappend pairs port $port
		}
	    } else {
		Bad $spec "bad host:port \"$hostport\""
	    }
	    if {$db ne ""} {
		lappend pairs dbname [Unquote $db]
	    }
	    if {$query ne ""} {
		foreach kv [split $query &] {
		    if {![regexp {^([^=]+)=(.*)$} $kv -> k v]} {
			Bad $spec "bad parameter \"$kv\""
		    }
		    lappend pairs [Unquote $k] [Unquote $v]
		}
	    }
	} else {
	    set rest [string trim $spec]
	    while {$rest ne ""} {
		if {[regexp {^(\w+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*(.*)$} $rest \
			-> k v rest]} {
		    regsub -all {\\(.)} $v {\1} v
		} elseif {![regexp {^(\w+)\s*=\s*(\S*)\s*(.*)$} $rest -> k v \
			rest]} {
		    Bad $spec "expected key=value at \"$rest\""
		}
		lappend pairs $k $v
	    }
	}
	set map {host -host hostaddr -hostaddr port -port dbname -db
	    user -user password -password sslmode -sslmode options -options}
	set opts {}
	foreach {k v} $pairs {
	    if {![dict exists $map $k]} {
		Bad $spec "unknown parameter \"$k\": must be\
		    [join [dict keys $map] {, }]"
	    }
	    lappend opts [dict get $map $k] $v
	}
	return $opts
    }

    proc Bad {spec why} {
	return -level 2 -code error -errorcode {P2P LEDGER CONNINFO} \
	    "bad PostgreSQL connection \"$spec\": $why"
    }

    # Unquote --
    #	Decodes %XX escapes of a URL part.
    proc Unquote {s} {
	set bytes ""
	while {[regexp -indices {%([0-9A-Fa-f]{2})} $s all hex]} {
	    append bytes [encoding convertto utf-8 \
		[string range $s 0 [expr {[lindex $all 0] - 1}]]]
	    append bytes [format %c 0x[string range $s {*}$hex]]
	    set s [string range $s [expr {[lindex $all 1] + 1}] end]
	}
	append bytes [encoding convertto utf-8 $s]
	encoding convertfrom utf-8 $bytes
    }

    # Describe --
    #	Connection options without the password, for messages.
    proc Describe {opts} {
	set l {}
	foreach {k v} $opts {
	    if {$k ne "-password"} {
		lappend l "[string range $k 1 end]=$v"
	    }
	}
	join $l " "
    }
}
