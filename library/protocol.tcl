# protocol.tcl --
#
#	p2p::protocol: the registry of protocol definitions. A definition is
#	a NAME/VERSION and a body of `define CMD ARGS BODY` statements; each
#	define makes a proc. `p2p::protocol init` installs every registered
#	version of a root on a handler through the C method
#	`$handler protocol add NAME/VERSION CMDMAP`; the C core negotiates
#	versions and dispatches messages to the procs.
#
#	Each registered NAME/VERSION gets its own namespace,
#	::p2p::protocol::defs::pN (protocol names hold characters such as
#	"<-" and ":" that do not make safe namespace names). The body runs
#	there, so it may also hold `variable` and `proc` statements for
#	state and helpers. `define CMD ...` makes the proc cmd.CMD in that
#	namespace: the prefix keeps a protocol command named, say, `info` or
#	`set` from shadowing the Tcl command of that name for the other procs
#	of the protocol.

namespace eval ::p2p::protocol {
    namespace ensemble create -map {
	commands ::p2p::protocol::Commands
	forget	 ::p2p::protocol::Forget
	init	 ::p2p::protocol::Init
	install	 ::p2p::protocol::Install
	map	 ::p2p::protocol::Map
	names	 ::p2p::protocol::Names
	register ::p2p::protocol::Register
	reverse	 ::p2p::protocol::Reverse
    }

    # NAME/VERSION -> dict body, namespace, map (command -> prefix)
    variable Registry {}
    # Namespace -> dict of the commands defined so far, while its body runs.
    variable Defining {}
    variable Seq 0

    # The commands a body sees besides the ordinary ones (through its
    # namespace path).
    namespace eval Body {}
    namespace eval defs {}
}

# USAGE: p2p::protocol register name/version body
#	Evaluates body in a fresh namespace and records the commands its
#	define statements make. Registering the same name with the same body
#	again does nothing; with another body it is an error. Returns the
#	name.
proc ::p2p::protocol::Register {name/version body} {
    set name ${name/version}
    variable Registry
    variable Defining
    variable Seq
    SplitName $name
    if {[dict exists $Registry $name]} {
	if {[dict get $Registry $name body] eq $body} {
	    return $name
	}
	return -code error -errorcode [list P2P PROTOCOL EXISTS $name] \
	    "protocol \"$name\" is already registered with a different body"
    }
    set ns ::p2p::protocol::defs::p[incr Seq]
    namespace eval $ns [list namespace path ::p2p::protocol::Body]
    dict set Defining $ns [dict create name $name map {}]
    set code [catch {namespace eval $ns $body} msg opts]
    set map [dict get $Defining $ns map]
    dict unset Defining $ns
    if {$code == 1} {
	namespace delete $ns
	dict append opts -errorinfo "\n    (body of protocol \"$name\")"
	return -options $opts $msg
    }
    dict set Registry $name [dict create body $body namespace $ns map $map]
    return $name
}

# USAGE: p2p::protocol init handler root
#	Installs every registered version of root on handler (a server, or
#	a client with its own receiving root: the reverse of its -protocol).
#	Returns the names installed, highest version first.
proc ::p2p::protocol::Init {handler root} {
    variable Registry
    set names [Names]
    set found {}
    foreach name $names {
	if {[lindex [SplitName $name] 0] eq $root} {
	    lappend found $name
	}
    }
    if {[llength $found] == 0} {
	set roots [lsort -unique [lmap name $names {
	    lindex [SplitName $name] 0
	}]]
	if {[llength $roots]} {
	    set must "must be one of: [join $roots {, }]"
	} else {
	    set must "no protocol is registered"
	}
	return -code error -errorcode [list P2P PROTOCOL UNKNOWN $root] \
	    "unknown protocol root \"$root\": $must"
    }
    foreach name $found {
	$handler protocol add $name [dict get $Registry $name map]
    }
    return $found
}

# USAGE: p2p::protocol install handler name/version ?name/version ...?
#	Installs the given registered versions only (an old peer, a test).
#	Returns the names.
proc ::p2p::protocol::Install {handler args} {
    variable Registry
    if {[llength $args] == 0} {
	return -code error -errorcode {TCL WRONGARGS} "wrong # args: should\
	    be \"p2p::protocol install handler name/version ?name/version\
	    ...?\""
    }
    set names $args
    foreach name $names {
	Registered $name
    }
    foreach name $names {
	$handler protocol add $name [dict get $Registry $name map]
    }
    return $names
}

# USAGE: p2p::protocol names ?pattern?
#	Registered names matching the glob pattern, sorted by root, highest
#	version first within a root.
proc ::p2p::protocol::Names {{pattern *}} {
    variable Registry
    set pairs {}
    foreach name [dict keys $Registry $pattern] {
	lappend pairs [list $name {*}[SplitName $name]]
    }
    set pairs [lsort -index 2 -integer -decreasing $pairs]
    set pairs [lsort -index 1 -dictionary $pairs]
    lmap pair $pairs {lindex $pair 0}
}

# USAGE: p2p::protocol commands name/version
#	The sorted command words a registered protocol defines.
proc ::p2p::protocol::Commands {name/version} {
    set name ${name/version}
    variable Registry
    Registered $name
    lsort [dict keys [dict get $Registry $name map]]
}

# USAGE: p2p::protocol map name/version
#	The command map of a registered protocol: command word -> the
#	fully-qualified proc, as `$handler protocol add` takes it.
proc ::p2p::protocol::Map {name/version} {
    set name ${name/version}
    variable Registry
    Registered $name
    dict get $Registry $name map
}

# USAGE: p2p::protocol forget name/version
#	Removes a registration and its namespace. Handlers that installed it
#	keep their table, whose commands then fail.
proc ::p2p::protocol::Forget {name/version} {
    set name ${name/version}
    variable Registry
    Registered $name
    namespace delete [dict get $Registry $name namespace]
    dict unset Registry $name
    return
}

# USAGE: p2p::protocol reverse root
#	The root the other side of a connection uses: "ns:a<-b" gives
#	"ns:b<-a"; a root without "<-" is its own reverse.
proc ::p2p::protocol::Reverse {root} {
    set arrow [string first "<-" $root]
    if {$arrow < 0} {
	return $root
    }
    set colon [string last ":" $root $arrow]
    set prefix [string range $root 0 $colon]
    set a [string range $root [expr {$colon + 1}] [expr {$arrow - 1}]]
    set b [string range $root [expr {$arrow + 2}] end]
    return $prefix$b<-$a
}

# USAGE (in a protocol body): define command arglist body
#	Makes the proc cmd.COMMAND in the protocol's namespace; a message
#	whose first word is COMMAND calls it with the other words as
#	arguments. A non-empty result is the reply.
proc ::p2p::protocol::Body::define {command arglist body} {
    set ns [uplevel 1 {namespace current}]
    ::p2p::protocol::Claim $ns $command
    set proc ${ns}::cmd.$command
    proc $proc $arglist $body
    dict set ::p2p::protocol::Defining $ns map $command [list $proc]
    return
}

# USAGE (in a protocol body): forward command prefix ?word ...?
#	A message whose first word is COMMAND calls the command prefix
#	(its first word a fully qualified command) with the other words
#	appended: define without a proc in between.
proc ::p2p::protocol::Body::forward {command prefix args} {
    set ns [uplevel 1 {namespace current}]
    ::p2p::protocol::Claim $ns $command
    if {![string match ::* $prefix]} {
	return -code error -errorcode [list P2P PROTOCOL BADPREFIX $prefix] \
	    "bad command prefix \"$prefix\" for \"$command\": must be\
	    fully qualified"
    }
    dict set ::p2p::protocol::Defining $ns map $command [list $prefix {*}$args]
    return
}

# Claim --
#	Checks that command may be defined in the body running in namespace
#	ns (errors from the caller's caller otherwise).
proc ::p2p::protocol::Claim {ns command} {
    variable Defining
    if {![dict exists $Defining $ns]} {
	return -level 2 -code error -errorcode {P2P PROTOCOL DEFINE} \
	    "[lindex [info level -1] 0] may only be called in the body of\
	    p2p::protocol register"
    }
    set name [dict get $Defining $ns name]
    if {$command eq "" || [string match *::* $command]} {
	return -level 2 -code error \
	    -errorcode [list P2P PROTOCOL BADCOMMAND $command] \
	    "bad command name \"$command\" in protocol \"$name\":\
	    must be a non-empty word without \"::\""
    }
    if {$command eq "protocol"} {
	return -level 2 -code error -errorcode {P2P PROTOCOL RESERVED protocol} \
	    "command \"protocol\" is reserved for negotiation"
    }
    if {[dict exists $Defining $ns map $command]} {
	return -level 2 -code error \
	    -errorcode [list P2P PROTOCOL DUPLICATE $command] \
	    "command \"$command\" is defined twice in protocol \"$name\""
    }
}

# USAGE (in a protocol body): include command ?command ...?
#	Defines standard commands. The only one so far:
#	  options   define options {args} {p2p::options receive {*}$args}
proc ::p2p::protocol::Body::include {args} {
    foreach command $args {
	switch -- $command {
	    options {
		uplevel 1 {define options {args} {
		    ::p2p::options receive {*}$args
		}}
	    }
	    default {
		return -code error \
		    -errorcode [list P2P PROTOCOL INCLUDE $command] \
		    "unknown standard command \"$command\": must be options"
	    }
	}
    }
    return
}

# SplitName --
#	Checks a protocol name: ROOT/VERSION, ROOT a non-empty word without
#	"/", VERSION a positive integer without leading zeros (at most 9
#	digits, as the C core takes them).
# Results:
#	{root version}, or an error from the caller's caller.
proc ::p2p::protocol::SplitName {name} {
    if {[regexp {^([^\s/]+)/([1-9][0-9]{0,8})$} $name -> root version]} {
	return [list $root $version]
    }
    return -level 2 -code error -errorcode [list P2P PROTOCOL BADNAME $name] \
	"bad protocol name \"$name\": must be ROOT/VERSION with a positive\
	integer version"
}

# Registered --
#	Errors (from the caller) unless name is registered.
proc ::p2p::protocol::Registered {name} {
    variable Registry
    if {[dict exists $Registry $name]} {
	return
    }
    set names [Names]
    if {[llength $names]} {
	set must "must be one of: [join $names {, }]"
    } else {
	set must "no protocol is registered"
    }
    return -level 2 -code error -errorcode [list P2P PROTOCOL UNKNOWN $name] \
	"unknown protocol \"$name\": $must"
}
