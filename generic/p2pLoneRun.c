/*
 * p2pLoneRun.c --
 *
 *	The worker's `run` of p2p:worker<-foreman/2 (library/execution.tcl),
 *	a method in C: in the plain case (no log file, nothing queued or
 *	waiting, a free slot, an admitted connection, a script job on a
 *	token this worker bid on, an id not running here) the job runs at
 *	once in the sandbox's pool (p2pPool.c), from the message's words to
 *	the reply's string, with no Tcl method in between; anything else
 *	goes to the Tcl method OnRuns, as a runs message of one job.
 *
 *	    ::p2p::Internal::loneRunMethods class
 *
 *	adds the methods OnRun2 and LoneDone (the jobs run here, which the
 *	method `done` adds to Done) to class (::p2p::execution).
 *
 *	The object variables the plain case reads are kept here between
 *	messages, as their values: reading them by name from C costs some
 *	1,600 instructions each (TclOO's resolver), a method of Tcl some 500
 *	each at every call. A trace on each variable forgets its value when
 *	it is written or unset, so that the next message reads it again; no
 *	reference is held (holding one would make every `dict set` of the
 *	variable copy it). A value is only used while its variable still
 *	holds it, which the trace makes sure of, and not across a script.
 */

#include "p2pjobsInt.h"

/*
 * The variables watched: the object's (named in its namespace), and the
 * log's flag.
 */

enum {
    V_OPEN, V_RUNQUEUE, V_WAITING, V_RUNNING, V_CONFIG, V_SERVER, V_HELLOS,
    V_OFFERED, V_SANDBOX, V_ADDRESS, V_OPTS, V_PROGRESS, NUM_VARS
};

static const char *const varNames[NUM_VARS] = {
    "::p2p::log::Open", "RunQueue", "Waiting", "Running", "Config",
    "Server", "Hellos", "Offered", "Sandbox", "Address", "Opts",
    "ExecProgress"
};

/*
 * The keys looked up in the dicts Config and Opts, and the options of the
 * sandbox's runs.
 */

enum {
    K_SLOTS, K_KINDS, K_TIMEOUT, K_WORKER, K_TIME, K_PROGRESS, NUM_KEYS
};

static const char *const keyNames[NUM_KEYS] = {
    "-slots", "-kinds", "job_timeout", "-worker", "-time", "-progress"
};

struct LoneRun;

typedef struct Watched {
    struct LoneRun *lrPtr;	/* Whose. */
    Tcl_Obj *nameObj;		/* Qualified name. */
    Tcl_Obj *valueObj;		/* The value (no reference), or NULL: read
				 * it again. */
    int traced;			/* The trace is set. */
    unsigned epoch;		/* Counts its writes and unsets: what was
				 * made of the value (Derived) holds while
				 * the count is the same. */
} Watched;

/*
 * Derived --
 *
 *	What a message made of watched variables and of its words, kept for
 *	the next (whose words are mostly the same: one foreman, one
 *	connection, one token). Each part holds while the epochs of the
 *	variables it was made of are the same; the objects are held (a
 *	reference each) and are never changed in place (they are shared
 *	when passed on).
 */

typedef struct Derived {
    int configOk;		/* slots and script hold. */
    unsigned configEpoch;
    int slots;			/* Config's -slots. */
    int script;			/* "script" is in Config's -kinds. */
    int admittedOk;		/* h and cid (below) are admitted. */
    unsigned serverEpoch, hellosEpoch;
    int offeredOk;		/* token (below) is in Offered. */
    unsigned offeredEpoch;
    Tcl_Obj *keyObj;		/* {h cid token} of the last plain run, or
				 * NULL: its elements are the h, cid and
				 * token the parts above speak of. */
    Tcl_Obj *progressObj;	/* [linsert $ExecProgress end h cid], or
				 * NULL. */
    unsigned progressEpoch;
    Tcl_Obj *timeoutObj;	/* Opts' job_timeout, or NULL. */
    unsigned optsEpoch;
    Tcl_Obj *specObj;		/* The last script job's spec as read, or
				 * NULL: the next spec shares its words
				 * (P2pJobScriptSpec). */
    Tcl_Obj *specsObj;		/* [list specObj], or NULL. */
    Tcl_Obj *idsObj;		/* A list of one id (the last run's), or
				 * NULL: its element replaced for the next
				 * run while nothing else holds it. */
} Derived;

/*
 * LoneRun --
 *
 *	What a worker object keeps here: its metadata (loneRunMetaType),
 *	made at its first run. Owned jointly (refCount) by the metadata and
 *	each trace set; freed when the last lets go (the object's deletion
 *	deletes the metadata, then the variables of its namespace, which
 *	ends their traces).
 */

typedef struct LoneRun {
    int refCount;
    Tcl_Interp *interp;
    Watched vars[NUM_VARS];
    Tcl_WideInt done;		/* Jobs finished here. */
    Tcl_Obj *keys[NUM_KEYS];	/* The words looked up in dicts. */
    Tcl_Obj *onRunsObj;		/* {OBJNS::my OnRuns} */
    Derived d;
} LoneRun;

static void	LoneRunMetaDelete(ClientData clientData);
static void	LoneRunRelease(LoneRun *lrPtr);
static LoneRun *LoneRunOf(Tcl_Interp *interp, Tcl_Object object);
static Tcl_Obj *Value(Tcl_Interp *interp, Watched *wPtr);
static char *	WatchedTraceProc(ClientData clientData, Tcl_Interp *interp,
		    const char *name1, const char *name2, int flags);
static Tcl_Obj *DictWord(LoneRun *lrPtr, Tcl_Obj *dictObj, int key);
static void	KeyFor(LoneRun *lrPtr, Tcl_Obj *const w[]);
static int	Plain(Tcl_Interp *interp, LoneRun *lrPtr, Tcl_Obj *const w[],
		    Tcl_Obj **specPtr);
static int	Timeout(Tcl_Interp *interp, LoneRun *lrPtr);
static int	Progress(Tcl_Interp *interp, LoneRun *lrPtr);
static Tcl_MethodCallProc OnRun2Method, LoneDoneMethod;

static const Tcl_ObjectMetadataType loneRunMetaType = {
    TCL_OO_METADATA_VERSION_CURRENT, "p2p::execution lone run",
    LoneRunMetaDelete, P2pMetaCloneNone
};

static const Tcl_MethodType loneRunMethods[] = {
    {TCL_OO_METHOD_VERSION_CURRENT, "OnRun2", OnRun2Method, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "LoneDone", LoneDoneMethod, NULL,
	NULL},
    {0, NULL, NULL, NULL, NULL}
};

/*
 *----------------------------------------------------------------------
 *
 * P2pLoneRunInit --
 *
 *	Makes ::p2p::Internal::loneRunMethods.
 *
 *----------------------------------------------------------------------
 */

int
P2pLoneRunInit(
    Tcl_Interp *interp)
{
    Tcl_CreateObjCommand(interp, "::p2p::Internal::loneRunMethods",
	    P2pClassMethodsObjCmd, (ClientData) loneRunMethods, NULL);
    return TCL_OK;
}

/*
 * The metadata's life.
 */

static void
LoneRunMetaDelete(
    ClientData clientData)
{
    LoneRun *lrPtr = (LoneRun *) clientData;
    Watched *wPtr = &lrPtr->vars[V_OPEN];

    /*
     * The log's flag outlives the object: its trace goes now. (Those of
     * the object's variables go with them, when its namespace goes.)
     */

    if (wPtr->traced) {
	Tcl_UntraceVar2(lrPtr->interp, Tcl_GetString(wPtr->nameObj), NULL,
		TCL_GLOBAL_ONLY|TCL_TRACE_WRITES|TCL_TRACE_UNSETS,
		WatchedTraceProc, wPtr);
	wPtr->traced = 0;
	wPtr->valueObj = NULL;
	lrPtr->refCount--;
    }
    LoneRunRelease(lrPtr);
}

static void
LoneRunRelease(
    LoneRun *lrPtr)
{
    int i;

    if (--lrPtr->refCount > 0) {
	return;
    }
    for (i = 0; i < NUM_VARS; i++) {
	Tcl_DecrRefCount(lrPtr->vars[i].nameObj);
    }
    for (i = 0; i < NUM_KEYS; i++) {
	Tcl_DecrRefCount(lrPtr->keys[i]);
    }
    Tcl_DecrRefCount(lrPtr->onRunsObj);
    if (lrPtr->d.keyObj != NULL) {
	Tcl_DecrRefCount(lrPtr->d.keyObj);
    }
    if (lrPtr->d.progressObj != NULL) {
	Tcl_DecrRefCount(lrPtr->d.progressObj);
    }
    if (lrPtr->d.timeoutObj != NULL) {
	Tcl_DecrRefCount(lrPtr->d.timeoutObj);
    }
    if (lrPtr->d.specObj != NULL) {
	Tcl_DecrRefCount(lrPtr->d.specObj);
    }
    if (lrPtr->d.specsObj != NULL) {
	Tcl_DecrRefCount(lrPtr->d.specsObj);
    }
    if (lrPtr->d.idsObj != NULL) {
	Tcl_DecrRefCount(lrPtr->d.idsObj);
    }
    ckfree(lrPtr);
}

/*
 * LoneRunOf --
 *	The object's LoneRun, made at its first run.
 */

static LoneRun *
LoneRunOf(
    Tcl_Interp *interp,
    Tcl_Object object)
{
    LoneRun *lrPtr = Tcl_ObjectGetMetadata(object, &loneRunMetaType);
    const char *ns;
    Tcl_Obj *myObj;
    int i;

    if (lrPtr != NULL) {
	return lrPtr;
    }
    ns = Tcl_GetObjectNamespace(object)->fullName;
    lrPtr = ckalloc(sizeof(LoneRun));
    memset(lrPtr, 0, sizeof(LoneRun));
    lrPtr->refCount = 1;
    lrPtr->interp = interp;
    for (i = 0; i < NUM_VARS; i++) {
	Watched *wPtr = &lrPtr->vars[i];

	wPtr->lrPtr = lrPtr;
	if (varNames[i][0] == ':') {
	    wPtr->nameObj = Tcl_NewStringObj(varNames[i], -1);
	} else {
	    wPtr->nameObj = Tcl_ObjPrintf("%s::%s", ns, varNames[i]);
	}
	Tcl_IncrRefCount(wPtr->nameObj);
    }
    for (i = 0; i < NUM_KEYS; i++) {
	lrPtr->keys[i] = Tcl_NewStringObj(keyNames[i], -1);
	Tcl_IncrRefCount(lrPtr->keys[i]);
    }
    myObj = Tcl_ObjPrintf("%s::my", ns);
    lrPtr->onRunsObj = Tcl_NewListObj(1, &myObj);
    Tcl_ListObjAppendElement(NULL, lrPtr->onRunsObj,
	    Tcl_NewStringObj("OnRuns", -1));
    Tcl_IncrRefCount(lrPtr->onRunsObj);
    Tcl_ObjectSetMetadata(object, &loneRunMetaType, lrPtr);
    return lrPtr;
}

/*
 * Value --
 *	The value of a watched variable (NULL if it has none), read once
 *	and kept until the variable is written or unset.
 */

static Tcl_Obj *
Value(
    Tcl_Interp *interp,
    Watched *wPtr)
{
    const char *name;

    if (wPtr->valueObj != NULL) {
	return wPtr->valueObj;
    }
    name = Tcl_GetString(wPtr->nameObj);
    if (!wPtr->traced) {
	if (Tcl_TraceVar2(interp, name, NULL,
		TCL_GLOBAL_ONLY|TCL_TRACE_WRITES|TCL_TRACE_UNSETS,
		WatchedTraceProc, wPtr) != TCL_OK) {
	    /* (No such namespace: nothing to read.) */
	    Tcl_ResetResult(interp);
	    return NULL;
	}
	wPtr->traced = 1;
	wPtr->lrPtr->refCount++;
    }
    wPtr->valueObj = Tcl_GetVar2Ex(interp, name, NULL, TCL_GLOBAL_ONLY);
    return wPtr->valueObj;
}

static char *
WatchedTraceProc(
    ClientData clientData,
    Tcl_Interp *interp,
    const char *name1,
    const char *name2,
    int flags)
{
    Watched *wPtr = (Watched *) clientData;

    (void) interp;
    (void) name1;
    (void) name2;
    wPtr->valueObj = NULL;
    wPtr->epoch++;
    if (flags & TCL_TRACE_DESTROYED) {
	wPtr->traced = 0;
	LoneRunRelease(wPtr->lrPtr);
    }
    return NULL;
}

/*
 * DictWord --
 *	The value of key in dictObj, or NULL (none, or not a dict).
 */

static Tcl_Obj *
DictWord(
    LoneRun *lrPtr,
    Tcl_Obj *dictObj,
    int key)
{
    Tcl_Obj *valueObj;

    if (Tcl_DictObjGet(NULL, dictObj, lrPtr->keys[key], &valueObj)
	    != TCL_OK) {
	return NULL;
    }
    return valueObj;
}

/*
 * KeyFor --
 *	Makes the kept key {h cid token} that of the run h cid id token spec
 *	(w), unless it is already: what was derived from the last one's h
 *	and cid, or from its token, is forgotten when they differ.
 */

static void
KeyFor(
    LoneRun *lrPtr,
    Tcl_Obj *const w[])
{
    Derived *dPtr = &lrPtr->d;
    Tcl_Obj **elems, *words[3];
    int n;

    if (dPtr->keyObj != NULL) {
	Tcl_ListObjGetElements(NULL, dPtr->keyObj, &n, &elems);
	if (P2pSameString(elems[0], w[0])
		&& P2pSameString(elems[1], w[1])) {
	    if (P2pSameString(elems[2], w[3])) {
		return;
	    }
	} else {
	    dPtr->admittedOk = 0;
	    if (dPtr->progressObj != NULL) {
		Tcl_DecrRefCount(dPtr->progressObj);
		dPtr->progressObj = NULL;
	    }
	}
	dPtr->offeredOk = 0;
	Tcl_DecrRefCount(dPtr->keyObj);
    }
    words[0] = w[0];
    words[1] = w[1];
    words[2] = w[3];
    dPtr->keyObj = Tcl_NewListObj(3, words);
    Tcl_IncrRefCount(dPtr->keyObj);
}

/*
 * Plain --
 *	Whether the run h cid id token spec (w) is the plain case (see the
 *	file's header), read from the watched variables as OnRuns would.
 *	What it finds of the variables and of h, cid and token is kept
 *	(lrPtr->d) for the next message, which mostly has the same. The
 *	spec as read (P2pJobScriptSpec) goes in *specPtr, with a reference
 *	for the caller, whether the case is plain or not.
 */

static int
Plain(
    Tcl_Interp *interp,
    LoneRun *lrPtr,
    Tcl_Obj *const w[],
    Tcl_Obj **specPtr)
{
    Derived *dPtr = &lrPtr->d;
    Watched *vars = lrPtr->vars;
    Tcl_Obj *objPtr, *keyObj, *valueObj, **elems, *pair[3];
    Tcl_WideInt n;
    int flag, size, slots, numElems, i, len, found;
    const char *s, *t;
    static const char script[] = "script";

#define VAR(v) \
    if ((objPtr = Value(interp, &vars[v])) == NULL) { \
	return 0; \
    }

    VAR(V_OPEN);
    if (Tcl_GetBooleanFromObj(NULL, objPtr, &flag) != TCL_OK || flag) {
	return 0;
    }
    VAR(V_RUNQUEUE);
    if (Tcl_ListObjLength(NULL, objPtr, &len) != TCL_OK || len) {
	return 0;
    }
    VAR(V_WAITING);
    if (Tcl_GetWideIntFromObj(NULL, objPtr, &n) != TCL_OK || n) {
	return 0;
    }
    VAR(V_RUNNING);
    if (Tcl_DictObjSize(NULL, objPtr, &size) != TCL_OK) {
	return 0;
    }

    /*
     * A free slot; "script" in -kinds.
     */

    VAR(V_CONFIG);
    if (!dPtr->configOk || dPtr->configEpoch != vars[V_CONFIG].epoch) {
	valueObj = DictWord(lrPtr, objPtr, K_SLOTS);
	if (valueObj == NULL
		|| Tcl_GetIntFromObj(NULL, valueObj, &slots) != TCL_OK) {
	    return 0;
	}
	valueObj = DictWord(lrPtr, objPtr, K_KINDS);
	if (valueObj == NULL || Tcl_ListObjGetElements(NULL, valueObj,
		&numElems, &elems) != TCL_OK) {
	    return 0;
	}
	for (i = 0, found = 0; i < numElems && !found; i++) {
	    s = Tcl_GetStringFromObj(elems[i], &len);
	    found = len == 6 && memcmp(s, script, 6) == 0;
	}
	dPtr->slots = slots;
	dPtr->script = found;
	dPtr->configOk = 1;
	dPtr->configEpoch = vars[V_CONFIG].epoch;
    }
    if (size >= dPtr->slots || !dPtr->script) {
	return 0;
    }

    /*
     * A script job.
     */

    if ((*specPtr = P2pJobScriptSpec(w[4], dPtr->specObj)) == NULL) {
	return 0;
    }
    Tcl_IncrRefCount(*specPtr);
    if (dPtr->specObj != *specPtr) {
	if (dPtr->specObj != NULL) {
	    Tcl_DecrRefCount(dPtr->specObj);
	}
	dPtr->specObj = *specPtr;
	Tcl_IncrRefCount(dPtr->specObj);
	if (dPtr->specsObj != NULL) {
	    Tcl_DecrRefCount(dPtr->specsObj);
	    dPtr->specsObj = NULL;
	}
    }
    KeyFor(lrPtr, w);

    /*
     * Admitted: a connection to the server said hello first.
     */

    VAR(V_SERVER);
    if (!dPtr->admittedOk || dPtr->serverEpoch != vars[V_SERVER].epoch
	    || dPtr->hellosEpoch != vars[V_HELLOS].epoch) {
	s = Tcl_GetStringFromObj(objPtr, &len);
	t = Tcl_GetStringFromObj(w[0], &i);
	if (len == i && memcmp(s, t, len) == 0) {
	    VAR(V_HELLOS);
	    pair[0] = w[0];
	    pair[1] = w[1];
	    keyObj = Tcl_NewListObj(2, pair);
	    Tcl_IncrRefCount(keyObj);
	    found = Tcl_DictObjGet(NULL, objPtr, keyObj, &valueObj) == TCL_OK
		    && valueObj != NULL;
	    Tcl_DecrRefCount(keyObj);
	    if (!found) {
		return 0;
	    }
	}
	dPtr->admittedOk = 1;
	dPtr->serverEpoch = vars[V_SERVER].epoch;
	dPtr->hellosEpoch = vars[V_HELLOS].epoch;
    }

    /*
     * A token bid on; an id not running here.
     */

    VAR(V_OFFERED);
    if (!dPtr->offeredOk || dPtr->offeredEpoch != vars[V_OFFERED].epoch) {
	if (Tcl_DictObjGet(NULL, objPtr, w[3], &valueObj) != TCL_OK
		|| valueObj == NULL) {
	    return 0;
	}
	dPtr->offeredOk = 1;
	dPtr->offeredEpoch = vars[V_OFFERED].epoch;
    }
    if (size > 0) {
	VAR(V_RUNNING);
	pair[0] = w[0];
	pair[1] = w[1];
	pair[2] = w[2];
	keyObj = Tcl_NewListObj(3, pair);
	Tcl_IncrRefCount(keyObj);
	found = Tcl_DictObjGet(NULL, objPtr, keyObj, &valueObj) != TCL_OK
		|| valueObj != NULL;
	Tcl_DecrRefCount(keyObj);
	if (found) {
	    return 0;
	}
    }
    return 1;
#undef VAR
}

/*
 * Timeout, Progress --
 *	Whether the run's -time (Opts' job_timeout) and -progress
 *	([linsert $ExecProgress end h cid], h and cid those of the kept key)
 *	can be had; they are then in lrPtr->d, made again only when their
 *	variable changed (or h and cid did).
 */

static int
Timeout(
    Tcl_Interp *interp,
    LoneRun *lrPtr)
{
    Derived *dPtr = &lrPtr->d;
    Tcl_Obj *objPtr = Value(interp, &lrPtr->vars[V_OPTS]);

    if (objPtr == NULL) {
	return 0;
    }
    if (dPtr->timeoutObj == NULL
	    || dPtr->optsEpoch != lrPtr->vars[V_OPTS].epoch) {
	if (dPtr->timeoutObj != NULL) {
	    Tcl_DecrRefCount(dPtr->timeoutObj);
	}
	dPtr->timeoutObj = DictWord(lrPtr, objPtr, K_TIMEOUT);
	if (dPtr->timeoutObj == NULL) {
	    return 0;
	}
	Tcl_IncrRefCount(dPtr->timeoutObj);
	dPtr->optsEpoch = lrPtr->vars[V_OPTS].epoch;
    }
    return 1;
}

static int
Progress(
    Tcl_Interp *interp,
    LoneRun *lrPtr)
{
    Derived *dPtr = &lrPtr->d;
    Tcl_Obj *objPtr = Value(interp, &lrPtr->vars[V_PROGRESS]), **elems;
    Tcl_Obj *listObj;
    int n;

    if (objPtr == NULL) {
	return 0;
    }
    if (dPtr->progressObj == NULL
	    || dPtr->progressEpoch != lrPtr->vars[V_PROGRESS].epoch) {
	if (Tcl_ListObjGetElements(NULL, objPtr, &n, &elems) != TCL_OK) {
	    return 0;
	}
	listObj = Tcl_NewListObj(n, elems);
	Tcl_ListObjGetElements(NULL, dPtr->keyObj, &n, &elems);
	Tcl_ListObjReplace(NULL, listObj, INT_MAX, 0, 2, elems);
	Tcl_IncrRefCount(listObj);
	if (dPtr->progressObj != NULL) {
	    Tcl_DecrRefCount(dPtr->progressObj);
	}
	dPtr->progressObj = listObj;
	dPtr->progressEpoch = lrPtr->vars[V_PROGRESS].epoch;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * OnRun2Method --
 *
 *	my OnRun2 h cid id token spec: a `run` of p2p:worker<-foreman/2
 *	(library/execution.tcl). The plain case runs the job here, as
 *	RunsNow would: `$Sandbox runs {h cid token} [list spec] -worker
 *	$Address -time JOB_TIMEOUT -progress [linsert $ExecProgress end h
 *	cid] -tags [list id]`, counts it and returns the reply; anything
 *	else is `my OnRuns h cid [list id token spec]`.
 *
 * Results:
 *	The reply ({results {ID RESULT}}), or what OnRuns returns.
 *
 *----------------------------------------------------------------------
 */

static int
OnRun2Method(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const objv[])
{
    int skip = Tcl_ObjectContextSkippedArgs(context), code, i, n;
    LoneRun *lrPtr;
    Tcl_Obj *const *w = objv + skip;
    Tcl_Obj *words[6], *optv[6], *keyObj, *specsObj, *idsObj, *specObj;
    Tcl_Obj *sandboxObj, *replyObj, **elems;
    Derived *dPtr;

    (void) clientData;
    if (objc - skip != 5) {
	Tcl_WrongNumArgs(interp, skip, objv, "h cid id token spec");
	return TCL_ERROR;
    }
    lrPtr = LoneRunOf(interp, Tcl_ObjectContextObject(context));
    dPtr = &lrPtr->d;
    specObj = NULL;
    if (!Plain(interp, lrPtr, w, &specObj)
	    || (sandboxObj = Value(interp, &lrPtr->vars[V_SANDBOX])) == NULL
	    || (optv[1] = Value(interp, &lrPtr->vars[V_ADDRESS])) == NULL
	    || !Timeout(interp, lrPtr)
	    || !Progress(interp, lrPtr)) {
	/*
	 * Not plain: OnRuns, as a runs of one job.
	 */

	Tcl_Obj *callObj = lrPtr->onRunsObj;

	if (specObj != NULL) {
	    Tcl_DecrRefCount(specObj);
	}

	/* (Held: the object, and lrPtr, may go meanwhile.) */
	Tcl_IncrRefCount(callObj);
	Tcl_ListObjGetElements(NULL, callObj, &n, &elems);
	words[0] = elems[0];
	words[1] = elems[1];
	words[2] = w[0];
	words[3] = w[1];
	words[4] = Tcl_NewListObj(3, w + 2);
	Tcl_IncrRefCount(words[4]);
	code = Tcl_EvalObjv(interp, 5, words, 0);
	Tcl_DecrRefCount(words[4]);
	Tcl_DecrRefCount(callObj);
	return code;
    }

    /*
     * The plain case. (The values of the variables, and what was made of
     * them, are held from here, and lrPtr: the job may change them, or
     * destroy the object.)
     */

    optv[0] = lrPtr->keys[K_WORKER];
    optv[2] = lrPtr->keys[K_TIME];
    optv[3] = dPtr->timeoutObj;
    optv[4] = lrPtr->keys[K_PROGRESS];
    optv[5] = dPtr->progressObj;
    for (i = 0; i < 6; i++) {
	Tcl_IncrRefCount(optv[i]);
    }
    Tcl_IncrRefCount(sandboxObj);
    keyObj = dPtr->keyObj;
    Tcl_IncrRefCount(keyObj);
    /* (specObj is dPtr->specObj, which Plain kept.) */
    if (dPtr->specsObj == NULL) {
	dPtr->specsObj = Tcl_NewListObj(1, &specObj);
	Tcl_IncrRefCount(dPtr->specsObj);
    }
    specsObj = dPtr->specsObj;
    Tcl_IncrRefCount(specsObj);
    Tcl_DecrRefCount(specObj);
    if (dPtr->idsObj != NULL && !Tcl_IsShared(dPtr->idsObj)) {
	Tcl_ListObjReplace(NULL, dPtr->idsObj, 0, 1, 1, w + 2);
    } else {
	if (dPtr->idsObj != NULL) {
	    Tcl_DecrRefCount(dPtr->idsObj);
	}
	dPtr->idsObj = Tcl_NewListObj(1, w + 2);
	Tcl_IncrRefCount(dPtr->idsObj);
    }
    idsObj = dPtr->idsObj;
    Tcl_IncrRefCount(idsObj);
    lrPtr->refCount++;
    code = P2pPoolRuns(interp, sandboxObj, keyObj, specsObj, 6, optv,
	    idsObj);
    if (code == TCL_OK) {
	lrPtr->done++;
    }
    LoneRunRelease(lrPtr);
    Tcl_DecrRefCount(idsObj);
    Tcl_DecrRefCount(specsObj);
    Tcl_DecrRefCount(keyObj);
    Tcl_DecrRefCount(sandboxObj);
    for (i = 0; i < 6; i++) {
	Tcl_DecrRefCount(optv[i]);
    }
    if (code != TCL_OK) {
	return code;
    }
    if (Tcl_ListObjGetElements(interp, Tcl_GetObjResult(interp), &n,
	    &elems) != TCL_OK) {
	return TCL_ERROR;
    }
    replyObj = P2pJobReply(1, w + 2, n, elems);
    if (replyObj != NULL) {
	Tcl_SetObjResult(interp, replyObj);
    } else {
	Tcl_ResetResult(interp);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * LoneDoneMethod --
 *
 *	my LoneDone: the number of jobs run by OnRun2's plain case (the
 *	worker's `done` adds them to Done).
 *
 *----------------------------------------------------------------------
 */

static int
LoneDoneMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const objv[])
{
    int skip = Tcl_ObjectContextSkippedArgs(context);
    LoneRun *lrPtr;

    (void) clientData;
    if (objc != skip) {
	Tcl_WrongNumArgs(interp, skip, objv, NULL);
	return TCL_ERROR;
    }
    lrPtr = Tcl_ObjectGetMetadata(Tcl_ObjectContextObject(context),
	    &loneRunMetaType);
    Tcl_SetObjResult(interp, Tcl_NewWideIntObj(lrPtr ? lrPtr->done : 0));
    return TCL_OK;
}
