/*
 * p2pFarmMethods.c --
 *
 *	The job farm's methods `submit`, `wait`, `forget` and `OnResults`
 *	(library/farm.tcl) as methods of the class ::p2p::farming
 *	implemented in C: one job at a time runs each for every job, and a
 *	method in Tcl costs a frame, the resolution of each variable it
 *	names, and its bytecode (some 7k instructions a call), a C method
 *	none of that.
 *
 *	    ::p2p::Internal::farmMethods class
 *
 *	gives class (the farm's) the public methods submit, wait and
 *	forget and the private OnResults:
 *
 *	    $f submit ?-option value ...?	-> id
 *
 *	    as the farm's submit was (SubmitMethod); the pass that follows
 *	    is in C when it is plain (OnePass), else the farm's PumpNow.
 *
 *	    $f wait id	-> the job's result
 *
 *	    returns the result of job id once it is done, failed or
 *	    cancelled, running the event loop meanwhile as p2p::vwait does.
 *	    It does not trace a variable by name at every call: the farm's
 *	    variables Settled (set whenever jobs are settled) and Waits
 *	    (Waits(timeout-$id): a wait's -timeout is past) carry traces
 *	    for the farm's life (farmWatch below) that count their writes,
 *	    and the wait looks at the job again when the count of Settled
 *	    moved. With options, or for a job it does not find, it is the
 *	    farm's WaitFor (the same call in Tcl); when a -timeout of
 *	    another wait for the job is past, its WaitExpired.
 *
 *	    $f forget id
 *
 *	    forgets a finished job (its entry in Jobs); an unknown job is
 *	    an error (P2P JOB UNKNOWN id).
 *
 *	    OnResults h cid results
 *
 *	    a `results` message of p2p:foreman<-worker/2, as the farm's
 *	    OnResults was (OnResultsMethod).
 *
 *	    ::p2p::Internal::farmWatch ns
 *
 *	puts those traces on the variables Settled and Waits of the farm
 *	whose namespace is ns (FarmInit calls it once they exist).
 *
 *	The farm's variables that these methods, and farmSubmit and
 *	farmResults and farmDispatch under them, read at every job (Jobs
 *	Runs Inflight Batch Queue Head Pumping PumpId JobSeq ConnOf
 *	Escrows Offers Config ConnVer Seq ConnUp Conns Settled, paying.tcl's
 *	Account and PayingOwn, and ::p2p::log::Open, which the farm's LogOpen links to) are reached
 *	through handles to their Var structs (p2pVarHandle.c): no name is
 *	looked up (some 1k instructions each) unless a variable is gone or
 *	a link. Waits is read by its qualified name. Each object keeps the
 *	handles (its metadata) from its first call on, and lets go of them
 *	when it dies.
 */

#include "p2pjobsInt.h"

/*
 * What the traces count, per thread (any farm's Settled wakes every
 * wait of the thread, which then looks at its own job).
 */

enum { W_STATE, W_RESULT, W_OFFERTTL, W_RUN, W_RUNS, W_SEND, NUM_WORDS };
static const char *const wordNames[NUM_WORDS] = {
    "state", "result", "-offerttl", "run", "runs", "send"
};

typedef struct WatchCounts {
    unsigned long settled;	/* Writes (and unsets) of any Settled. */
    long timeouts;		/* Elements written into any Waits, less
				 * those unset: while it is 0, no wait's
				 * -timeout is pending, and Waits is not
				 * looked at. (Never below the number of
				 * elements that exist.) */
    int made;			/* The words below are made. */
    Tcl_Obj *words[NUM_WORDS];	/* wordNames, by W_*. */
} WatchCounts;

static Tcl_ThreadDataKey watchKey;

/*
 * A farm object's names and handles, its metadata: made at its first
 * call of a method here, freed with the object, or after, by the last
 * method call that holds it (a wait, whose event loop may destroy the
 * object).
 */

enum {
    E_JOBS, E_RUNS, E_INFLIGHT, E_BATCH, E_QUEUE, E_HEAD,
				/* P2P_FARM_VARS, in p2pFarm.c's order. */
    E_PUMPING, E_PUMPID, E_JOBSEQ, E_CONNOF, E_ESCROWS, E_OFFERS,
    E_CONFIG, E_CONNVER, E_SEQ, E_CONNUP, E_CONNS, E_SETTLED,
    E_ACCOUNT, E_PAYINGOWN,	/* (paying.tcl's.) */
    E_LOGOPEN,
    NUM_VARS
};

static const char *const varNames[NUM_VARS] = {
    "Jobs", "Runs", "Inflight", "Batch", "Queue", "Head", "Pumping",
    "PumpId", "JobSeq", "ConnOf", "Escrows", "Offers", "Config",
    "ConnVer", "Seq", "ConnUp", "Conns", "Settled", "Account",
    "PayingOwn",
    NULL			/* The farm's LogOpen is a link to this: */
};
#define LOG_OPEN "::p2p::log::Open"

enum {
    N_WAITS, N_SETTLED, N_MY, N_NS,
    NUM_NAMES
};

static const char *const nameFormats[NUM_NAMES] = {
    "%s::Waits", "%s::Settled", "%s::my", "%s"
};

typedef struct FarmNames {
    int refCount;		/* The object's, and each call's that
				 * holds it. */
    P2pVarHandle vars[NUM_VARS];
				/* The object's variables Jobs ... Settled
				 * ($ns::Jobs ...) and ::p2p::log::Open,
				 * reached through handles. */
    Tcl_Obj *objs[NUM_NAMES];	/* The qualified names $ns::Waits ...,
				 * $ns::my, and $ns. */
    Tcl_Obj *pumpNowObj;	/* The list {$ns::my PumpNow}. */
    Tcl_Obj *pumpObj;		/* The list {$ns::my Pump}. */
    Tcl_Obj *payingObj;		/* The list {$ns::my Paying}. */
    Tcl_Obj *payingOwnObj;	/* The list {$ns::my PayingOwn}. */
} FarmNames;

static int	FarmWatchObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	WaitMethod(ClientData clientData, Tcl_Interp *interp,
		    Tcl_ObjectContext context, int objc,
		    Tcl_Obj *const *objv);
static int	ForgetMethod(ClientData clientData, Tcl_Interp *interp,
		    Tcl_ObjectContext context, int objc,
		    Tcl_Obj *const *objv);
static int	SubmitMethod(ClientData clientData, Tcl_Interp *interp,
		    Tcl_ObjectContext context, int objc,
		    Tcl_Obj *const *objv);
static int	OnResultsMethod(ClientData clientData, Tcl_Interp *interp,
		    Tcl_ObjectContext context, int objc,
		    Tcl_Obj *const *objv);
static Tcl_Obj *GetVar(Tcl_Interp *interp, FarmNames *fnPtr, int name,
		    int flags);
static Tcl_Obj *SetVar(Tcl_Interp *interp, FarmNames *fnPtr, int name,
		    Tcl_Obj *valueObj);
static Tcl_Obj *SetWide(Tcl_Interp *interp, FarmNames *fnPtr, int name,
		    Tcl_WideInt value);
static int	EvalCall(Tcl_Interp *interp, Tcl_Obj *callObj);
static int	OnePass(Tcl_Interp *interp, FarmNames *fnPtr,
		    Tcl_Obj *classObj, Tcl_Obj *qObj);
static int	Paying(Tcl_Interp *interp, FarmNames *fnPtr, int *payingPtr);
static int	SendRun(Tcl_Interp *interp, FarmNames *fnPtr,
		    Tcl_Obj *addrObj, Tcl_Obj *messageObj);
static Tcl_Obj *OwnValue(Tcl_Interp *interp, FarmNames *fnPtr, int name);
static char *	SettledTraceProc(ClientData clientData, Tcl_Interp *interp,
		    const char *name1, const char *name2, int flags);
static char *	WaitsTraceProc(ClientData clientData, Tcl_Interp *interp,
		    const char *name1, const char *name2, int flags);
static int	SettledSince(ClientData clientData);
static WatchCounts *Counts(void);
static void	CountsExitProc(ClientData clientData);
static FarmNames *Names(Tcl_Object object);
static void	NamesDeleteProc(ClientData clientData);
static void	ReleaseNames(FarmNames *fnPtr);
static Tcl_Obj *JobOf(Tcl_Interp *interp, FarmNames *fnPtr,
		    Tcl_Obj *idObj);
static int	TimeoutPast(Tcl_Interp *interp, FarmNames *fnPtr,
		    Tcl_Obj *idObj);
static int	CallFarm(Tcl_Interp *interp, FarmNames *fnPtr,
		    const char *method, int objc, Tcl_Obj *const objv[]);
static int	IsFinal(Tcl_Obj *stateObj);

static const Tcl_MethodType farmMethods[] = {
    {TCL_OO_METHOD_VERSION_CURRENT, "wait", WaitMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "forget", ForgetMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "submit", SubmitMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "OnResults", OnResultsMethod, NULL,
	NULL},
    {0, NULL, NULL, NULL, NULL}
};
static const Tcl_ObjectMetadataType namesMetaType = {
    TCL_OO_METADATA_VERSION_CURRENT, "p2p farm names", NamesDeleteProc,
    P2pMetaCloneNone
};

/*
 *----------------------------------------------------------------------
 *
 * P2pFarmMethodsInit --
 *
 *	Makes ::p2p::Internal::farmMethods and farmWatch.
 *
 * Results:
 *	TCL_OK or TCL_ERROR.
 *
 * Side effects:
 *	Creates the namespace ::p2p::Internal if needed.
 *
 *----------------------------------------------------------------------
 */

int
P2pFarmMethodsInit(
    Tcl_Interp *interp)
{
    if (Tcl_FindNamespace(interp, "::p2p::Internal", NULL, 0) == NULL
	    && Tcl_CreateNamespace(interp, "::p2p::Internal", NULL,
		NULL) == NULL) {
	return TCL_ERROR;
    }
    P2pVarHandleSetup(interp);
    Tcl_CreateObjCommand(interp, "::p2p::Internal::farmMethods",
	    P2pClassMethodsObjCmd, (ClientData) farmMethods, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::Internal::farmWatch",
	    FarmWatchObjCmd, NULL, NULL);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * FarmWatchObjCmd --
 *
 *	::p2p::Internal::farmWatch ns: see the header of this file.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR if ns::Settled or ns::Waits cannot be traced
 *	(no such namespace).
 *
 * Side effects:
 *	Traces on both variables, for as long as they exist.
 *
 *----------------------------------------------------------------------
 */

static int
FarmWatchObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    WatchCounts *wcPtr = Counts();
    Tcl_Obj *nameObj;
    int code;

    (void) clientData;
    if (objc != 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "ns");
	return TCL_ERROR;
    }
    nameObj = Tcl_ObjPrintf("%s::Settled", Tcl_GetString(objv[1]));
    Tcl_IncrRefCount(nameObj);
    code = Tcl_TraceVar2(interp, Tcl_GetString(nameObj), NULL,
	    TCL_GLOBAL_ONLY|TCL_TRACE_WRITES|TCL_TRACE_UNSETS,
	    SettledTraceProc, wcPtr);
    Tcl_DecrRefCount(nameObj);
    if (code != TCL_OK) {
	return TCL_ERROR;
    }
    nameObj = Tcl_ObjPrintf("%s::Waits", Tcl_GetString(objv[1]));
    Tcl_IncrRefCount(nameObj);
    code = Tcl_TraceVar2(interp, Tcl_GetString(nameObj), NULL,
	    TCL_GLOBAL_ONLY|TCL_TRACE_WRITES|TCL_TRACE_UNSETS,
	    WaitsTraceProc, wcPtr);
    Tcl_DecrRefCount(nameObj);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * SettledTraceProc, WaitsTraceProc --
 *
 *	The traces of farmWatch: a write or unset of Settled counts (as
 *	p2p::vwait's trace would wake); an element written into Waits
 *	counts as a pending timeout, one unset as one fewer.
 *
 * Results:
 *	NULL.
 *
 * Side effects:
 *	Changes the thread's WatchCounts.
 *
 *----------------------------------------------------------------------
 */

static char *
SettledTraceProc(
    ClientData clientData,
    Tcl_Interp *interp,
    const char *name1,
    const char *name2,
    int flags)
{
    (void) interp;
    (void) name1;
    (void) name2;
    (void) flags;
    ((WatchCounts *) clientData)->settled++;
    return NULL;
}

static char *
WaitsTraceProc(
    ClientData clientData,
    Tcl_Interp *interp,
    const char *name1,
    const char *name2,
    int flags)
{
    WatchCounts *wcPtr = clientData;

    (void) interp;
    (void) name1;
    if (name2 == NULL) {
	return NULL;			/* The whole array: its farm dies. */
    }
    if (flags & TCL_TRACE_WRITES) {
	wcPtr->timeouts++;
    } else if ((flags & TCL_TRACE_UNSETS) && wcPtr->timeouts > 0) {
	wcPtr->timeouts--;
    }
    return NULL;
}

/*
 * The event loop of wait runs until the count of Settled moves from
 * the value it had.
 */

typedef struct SettledWait {
    WatchCounts *wcPtr;
    unsigned long start;
} SettledWait;

static int
SettledSince(
    ClientData clientData)
{
    SettledWait *swPtr = clientData;

    return swPtr->wcPtr->settled != swPtr->start;
}

/*
 *----------------------------------------------------------------------
 *
 * WaitMethod --
 *
 *	$f wait id ?-timeout ms?: see the header of this file.
 *
 * Results:
 *	The job's result, or an error (those of the farm's WaitFor and
 *	WaitExpired, or of the event loop).
 *
 * Side effects:
 *	Runs the event loop until the job is settled.
 *
 *----------------------------------------------------------------------
 */

static int
WaitMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const *objv)
{
    int skip = Tcl_ObjectContextSkippedArgs(context), code = TCL_OK;
    FarmNames *fnPtr = Names(Tcl_ObjectContextObject(context));
    WatchCounts *wcPtr = Counts();
    Tcl_Obj *idObj, *jobObj, *stateObj, *resultObj, *expiredObjv[2];
    SettledWait sw;

    (void) clientData;
    if (objc < skip + 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "id ?arg ...?");
	return TCL_ERROR;
    }
    if (objc > skip + 1) {
	return CallFarm(interp, fnPtr, "WaitFor", objc - skip, objv + skip);
    }
    idObj = objv[skip];
    sw.wcPtr = wcPtr;
    sw.start = wcPtr->settled;
    jobObj = JobOf(interp, fnPtr, idObj);
    if (jobObj == NULL || Tcl_DictObjGet(NULL, jobObj, wcPtr->words[W_STATE],
	    &stateObj) != TCL_OK || stateObj == NULL) {
	return CallFarm(interp, fnPtr, "WaitFor", 1, &idObj);
    }
    if (!IsFinal(stateObj)) {
	/*
	 * As the farm's `while` did: until the job is settled or a
	 * -timeout of another wait for it is past. The object may die
	 * while events run: its names are held.
	 */

	fnPtr->refCount++;
	while (!(wcPtr->timeouts > 0 && TimeoutPast(interp, fnPtr, idObj))) {
	    code = P2pWaitUntil(interp, SettledSince, &sw,
		    Tcl_GetString(fnPtr->objs[N_SETTLED]));
	    if (code != TCL_OK) {
		break;
	    }
	    sw.start = wcPtr->settled;
	    jobObj = JobOf(interp, fnPtr, idObj);
	    if (jobObj == NULL || Tcl_DictObjGet(NULL, jobObj,
		    wcPtr->words[W_STATE], &stateObj) != TCL_OK
		    || stateObj == NULL) {
		/* (The farm's error.) */
		code = CallFarm(interp, fnPtr, "WaitFor", 1, &idObj);
		goto release;
	    }
	    if (IsFinal(stateObj)) {
		break;
	    }
	}
	if (code == TCL_OK && wcPtr->timeouts > 0
		&& TimeoutPast(interp, fnPtr, idObj)) {
	    expiredObjv[0] = idObj;
	    expiredObjv[1] = Tcl_NewObj();
	    code = CallFarm(interp, fnPtr, "WaitExpired", 2, expiredObjv);
	    if (code == TCL_OK) {
		/* (WaitExpired returned: what the farm's `wait` did.) */
		jobObj = JobOf(interp, fnPtr, idObj);
	    }
	}
	if (code == TCL_OK && (jobObj == NULL
		|| Tcl_DictObjGet(NULL, jobObj, wcPtr->words[W_RESULT],
		    &resultObj) != TCL_OK || resultObj == NULL)) {
	    code = CallFarm(interp, fnPtr, "WaitFor", 1, &idObj);
	} else if (code == TCL_OK) {
	    Tcl_SetObjResult(interp, resultObj);
	}
    release:
	ReleaseNames(fnPtr);
	return code;
    }
    if (jobObj == NULL || Tcl_DictObjGet(NULL, jobObj, wcPtr->words[W_RESULT],
	    &resultObj) != TCL_OK || resultObj == NULL) {
	return CallFarm(interp, fnPtr, "WaitFor", 1, &idObj);
    }
    Tcl_SetObjResult(interp, resultObj);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ForgetMethod --
 *
 *	$f forget id: see the header of this file.
 *
 * Results:
 *	Empty, or an error (unknown job; Jobs not a dict).
 *
 * Side effects:
 *	Removes a finished job from the farm's Jobs.
 *
 *----------------------------------------------------------------------
 */

static int
ForgetMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const *objv)
{
    int skip = Tcl_ObjectContextSkippedArgs(context);
    FarmNames *fnPtr = Names(Tcl_ObjectContextObject(context));
    WatchCounts *wcPtr = Counts();
    Tcl_Obj *jobsObj, *jobObj, *stateObj, *idObj;

    (void) clientData;
    if (objc != skip + 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "id");
	return TCL_ERROR;
    }
    idObj = objv[skip];
    jobsObj = GetVar(interp, fnPtr, E_JOBS, TCL_LEAVE_ERR_MSG);
    if (jobsObj == NULL
	    || Tcl_DictObjGet(interp, jobsObj, idObj, &jobObj) != TCL_OK) {
	return TCL_ERROR;
    }
    if (jobObj == NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("unknown job \"%s\"",
		Tcl_GetString(idObj)));
	Tcl_SetErrorCode(interp, "P2P", "JOB", "UNKNOWN",
		Tcl_GetString(idObj), NULL);
	return TCL_ERROR;
    }
    if (Tcl_DictObjGet(interp, jobObj, wcPtr->words[W_STATE],
	    &stateObj) != TCL_OK) {
	return TCL_ERROR;
    }
    if (stateObj == NULL) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(
		"key \"state\" not known in dictionary", -1));
	Tcl_SetErrorCode(interp, "TCL", "LOOKUP", "DICT", "state", NULL);
	return TCL_ERROR;
    }
    if (IsFinal(stateObj)) {
	/* As `dict unset Jobs $id`: the variable's own value changed. */
	if (Tcl_IsShared(jobsObj)) {
	    jobsObj = SetVar(interp, fnPtr, E_JOBS, Tcl_DuplicateObj(jobsObj));
	    if (jobsObj == NULL) {
		return TCL_ERROR;
	    }
	}
	Tcl_DictObjRemove(NULL, jobsObj, idObj);
    }
    Tcl_ResetResult(interp);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * SubmitMethod --
 *
 *	$f submit ?-option value ...?: the farm's submit (library/farm.tcl
 *	says what it does): the job queued by farmSubmit (P2pFarmSubmit)
 *	under the id job[expr {$JobSeq + 1}], or by the farm's SubmitOther
 *	(a tree job, a bad option); then, unless a pass is under way
 *	(Pumping), a pass now (PumpNow, after the pump that was due is
 *	cancelled), or soon (Pump) when other jobs of its class wait
 *	before it. When no pass is under way, no pump due and no job
 *	queued, farmSubmit does not queue the job: OnePass dispatches it
 *	(no entry made in Queue and Head, and removed, for it), or it is
 *	queued then (P2pFarmEnqueue) and the pass is PumpNow's, as if it
 *	had been queued first (also when OnePass fails before the job was
 *	dispatched).
 *
 * Results:
 *	The job's id, or the errors of farmSubmit, SubmitOther or the
 *	pass.
 *
 * Side effects:
 *	Those of farmSubmit and of the pass.
 *
 *----------------------------------------------------------------------
 */

static int
SubmitMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const *objv)
{
    int skip = Tcl_ObjectContextSkippedArgs(context), code, n, flag;
    int status, pumping, alone;
    FarmNames *fnPtr = Names(Tcl_ObjectContextObject(context));
    Tcl_Obj *optionsObj = NULL, *valueObj, *rObj = NULL, **elems;
    Tcl_Obj *idObj, *classObj = NULL, *qObj;
    Tcl_WideInt seq;

    (void) clientData;
    valueObj = GetVar(interp, fnPtr, E_JOBSEQ, TCL_LEAVE_ERR_MSG);
    if (valueObj == NULL
	    || Tcl_GetWideIntFromObj(interp, valueObj, &seq) != TCL_OK) {
	return TCL_ERROR;
    }

    /*
     * A job that is dispatched at once (no pass under way, no pump due,
     * no job queued: see below) need not be queued first: farmSubmit
     * leaves it to OnePass then, which queues it if it does not
     * dispatch it.
     */

    alone = 0;
    if ((valueObj = GetVar(interp, fnPtr, E_PUMPING, 0)) != NULL
	    && Tcl_GetBooleanFromObj(NULL, valueObj, &pumping) == TCL_OK
	    && !pumping
	    && (valueObj = GetVar(interp, fnPtr, E_PUMPID, 0)) != NULL) {
	(void) Tcl_GetStringFromObj(valueObj, &n);
	alone = (n == 0);
    }
    idObj = P2pFarmNumbered("job", 3, 0, seq + 1);
    Tcl_IncrRefCount(idObj);
    code = P2pFarmSubmit(interp, fnPtr->vars, fnPtr->objs[N_NS], idObj,
	    objc - skip, objv + skip, &status, alone ? &classObj : NULL);
    if (code != TCL_OK) {
	goto done;
    }
    if (status >= 0) {
	if (SetWide(interp, fnPtr, E_JOBSEQ, seq + 1) == NULL) {
	    code = TCL_ERROR;
	    goto done;
	}
	if (status == 2) {
	    /*
	     * Not queued: dispatched now, else queued and PumpNow's pass
	     * (which takes it, or asks for bids).
	     */

	    qObj = Tcl_NewListObj(1, &idObj);
	    Tcl_IncrRefCount(qObj);
	    code = OnePass(interp, fnPtr, classObj, qObj);
	    Tcl_DecrRefCount(qObj);
	    if (code != TCL_OK && (valueObj = JobOf(interp, fnPtr,
		    idObj)) != NULL && Tcl_DictObjGet(NULL, valueObj,
		    Counts()->words[W_STATE], &valueObj) == TCL_OK
		    && valueObj != NULL
		    && strcmp(Tcl_GetString(valueObj), "queued") == 0) {
		if (P2pFarmEnqueue(interp, fnPtr->vars, classObj,
			idObj) != TCL_OK) {
		    code = TCL_ERROR;
		} else if (code == TCL_CONTINUE) {
		    code = EvalCall(interp, fnPtr->pumpNowObj);
		}
	    }
	    if (code == TCL_OK) {
		Tcl_SetObjResult(interp, idObj);
	    }
	    goto done;
	}
	rObj = idObj;
	flag = status;
    } else {
	optionsObj = Tcl_NewListObj(objc - skip, objv + skip);
	Tcl_IncrRefCount(optionsObj);
	code = CallFarm(interp, fnPtr, "SubmitOther", 1, &optionsObj);
	if (code != TCL_OK) {
	    goto done;
	}
	valueObj = Tcl_GetObjResult(interp);
	if (Tcl_ListObjGetElements(interp, valueObj, &n, &elems) != TCL_OK) {
	    code = TCL_ERROR;
	    goto done;
	}
	if (n < 2) {
	    Tcl_SetObjResult(interp, Tcl_NewStringObj(
		    "bad answer of farmSubmit", -1));
	    code = TCL_ERROR;
	    goto done;
	}
	if (Tcl_GetBooleanFromObj(interp, elems[1], &flag) != TCL_OK) {
	    code = TCL_ERROR;
	    goto done;
	}
	rObj = elems[0];
    }
    Tcl_IncrRefCount(rObj);

    /*
     * Dispatch now (one job at a time then costs no trip through the
     * event loop), unless a pass is under way; soon behind other jobs of
     * its class (a batch being submitted: one pass then serves them
     * all).
     */

    valueObj = GetVar(interp, fnPtr, E_PUMPING, TCL_LEAVE_ERR_MSG);
    if (valueObj == NULL
	    || Tcl_GetBooleanFromObj(interp, valueObj, &pumping) != TCL_OK) {
	code = TCL_ERROR;
	goto done;
    }
    if (!pumping) {
	if (flag) {
	    code = EvalCall(interp, fnPtr->pumpObj);
	} else {
	    valueObj = GetVar(interp, fnPtr, E_PUMPID, TCL_LEAVE_ERR_MSG);
	    if (valueObj == NULL) {
		code = TCL_ERROR;
		goto done;
	    }
	    Tcl_GetStringFromObj(valueObj, &n);
	    code = TCL_CONTINUE;
	    if (n == 0) {
		code = OnePass(interp, fnPtr, NULL, NULL);
	    } else {
		Tcl_Obj *cancelObjv[3];

		/* catch {after cancel $PumpId} */
		cancelObjv[0] = Tcl_NewStringObj("::after", -1);
		cancelObjv[1] = Tcl_NewStringObj("cancel", -1);
		cancelObjv[2] = valueObj;
		valueObj = Tcl_NewListObj(3, cancelObjv);
		Tcl_IncrRefCount(valueObj);
		(void) Tcl_EvalObjEx(interp, valueObj, 0);
		Tcl_DecrRefCount(valueObj);
	    }
	    if (code == TCL_CONTINUE) {
		code = EvalCall(interp, fnPtr->pumpNowObj);
	    }
	}
	if (code != TCL_OK) {
	    goto done;
	}
    }
    Tcl_SetObjResult(interp, rObj);

  done:
    if (rObj != NULL) {
	Tcl_DecrRefCount(rObj);
    }
    if (classObj != NULL) {
	Tcl_DecrRefCount(classObj);
    }
    if (optionsObj != NULL) {
	Tcl_DecrRefCount(optionsObj);
    }
    Tcl_DecrRefCount(idObj);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * OnePass --
 *
 *	The pass PumpNow makes after submit, in C, when it is the plain
 *	one of a job submitted alone: no pump due (PumpId empty), one
 *	class queued, holding that one job from its head (or, with
 *	classObj, no job queued and the job of qObj not queued), no log
 *	file open, no ledger (the farm's Paying): farmDispatch
 *	(P2pFarmDispatch) with the class's bids. If it dispatched the job,
 *	the class leaves Queue and Head (if queued), Seq takes the run's
 *	number, and
 *	the run goes to its worker as PumpNow sends it (`run`; SendWorker
 *	for a worker not connected yet): straight from farmDispatch when
 *	Batch is empty, else with the batch (`runs` for more than one).
 *
 * Results:
 *	TCL_CONTINUE when the pass is PumpNow's (not plain, or the job was
 *	not dispatched: nothing changed); else TCL_OK, or TCL_ERROR.
 *
 * Side effects:
 *	Those of farmDispatch; Queue, Head, Seq and Batch; the message
 *	sent.
 *
 *----------------------------------------------------------------------
 */

static int
OnePass(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    Tcl_Obj *classObj,		/* The class of a job not queued, or NULL:
				 * the one class queued. */
    Tcl_Obj *qObj)		/* With classObj: the list {id}. */
{
    Tcl_Obj *queueObj, *headObj, *valueObj, *batchObj;
    Tcl_Obj *callObjv[11], **elems, *addrObj, *runsObj, *sendObjs[2];
    Tcl_Obj *messageObj, *wordObjv[2], *runObjv[4];
    WatchCounts *wcPtr = Counts();
    Tcl_DictSearch search;
    Tcl_Time time;
    int done, n, head, flag, code = TCL_OK, i, direct = 0;
    int queued = 0;
    Tcl_WideInt nums[4];

    sendObjs[0] = sendObjs[1] = NULL;

    if (classObj != NULL) {
	head = 0;
    } else {
	queueObj = GetVar(interp, fnPtr, E_QUEUE, 0);
	if (queueObj == NULL
		|| Tcl_DictObjSize(NULL, queueObj, &n) != TCL_OK || n != 1
		|| Tcl_DictObjFirst(NULL, queueObj, &search, &classObj,
		    &qObj, &done) != TCL_OK) {
	    return TCL_CONTINUE;
	}
	Tcl_DictObjDone(&search);
	queued = 1;
	headObj = GetVar(interp, fnPtr, E_HEAD, 0);
	if (headObj == NULL
		|| Tcl_DictObjGet(NULL, headObj, classObj, &valueObj) != TCL_OK
		|| valueObj == NULL
		|| Tcl_GetIntFromObj(NULL, valueObj, &head) != TCL_OK
		|| Tcl_ListObjLength(NULL, qObj, &n) != TCL_OK
		|| n != head + 1) {
	    return TCL_CONTINUE;
	}
    }
    valueObj = GetVar(interp, fnPtr, E_LOGOPEN, 0);
    if (valueObj == NULL
	    || Tcl_GetBooleanFromObj(NULL, valueObj, &flag) != TCL_OK
	    || flag) {
	return TCL_CONTINUE;
    }
    callObjv[6] = GetVar(interp, fnPtr, E_OFFERS, 0);
    valueObj = GetVar(interp, fnPtr, E_CONFIG, 0);
    callObjv[9] = GetVar(interp, fnPtr, E_CONNVER, 0);
    callObjv[10] = GetVar(interp, fnPtr, E_SEQ, 0);
    if (callObjv[6] == NULL || valueObj == NULL || callObjv[9] == NULL
	    || callObjv[10] == NULL) {
	return TCL_CONTINUE;
    }
    if (Tcl_DictObjGet(NULL, valueObj, wcPtr->words[W_OFFERTTL],
	    &callObjv[8]) != TCL_OK || callObjv[8] == NULL) {
	return TCL_CONTINUE;
    }

    /*
     * Paying last: it may be a method (a tree foreman's asks its
     * worker). The values read are held across it.
     */

    callObjv[0] = fnPtr->objs[N_MY];
    callObjv[1] = fnPtr->objs[N_NS];
    callObjv[2] = qObj;
    callObjv[3] = callObjv[4] = callObjv[5] = fnPtr->objs[N_NS];
				/* (Not read: nums.) */
    Tcl_GetTime(&time);
    nums[0] = nums[1] = head;
    nums[2] = (Tcl_WideInt) time.sec * 1000 + time.usec / 1000;
    callObjv[7] = classObj;
    for (i = 2; i < 11; i++) {
	Tcl_IncrRefCount(callObjv[i]);
    }
    code = Paying(interp, fnPtr, &flag);
    if (code == TCL_OK && flag) {
	code = TCL_CONTINUE;
    }
    if (code == TCL_OK) {
	/*
	 * The run goes straight to its worker (sendObjs) when Batch holds
	 * none to send with it.
	 */

	batchObj = GetVar(interp, fnPtr, E_BATCH, 0);
	direct = batchObj != NULL
		&& Tcl_DictObjSize(NULL, batchObj, &n) == TCL_OK && n == 0;
	if (Tcl_GetWideIntFromObj(interp, callObjv[10], &nums[3]) != TCL_OK) {
	    code = TCL_ERROR;
	} else {
	    code = P2pFarmDispatch(interp, fnPtr->vars, 11, callObjv,
		    direct ? sendObjs : NULL, nums);
	}
    }
    if (code == TCL_OK && nums[0] <= head) {
	code = TCL_CONTINUE;		/* Not dispatched: PumpNow's. */
    }
    if (code == TCL_OK && queued) {
	/*
	 * Dispatched: the class leaves the queues.
	 */

	if ((queueObj = OwnValue(interp, fnPtr, E_QUEUE)) == NULL
		|| (headObj = OwnValue(interp, fnPtr, E_HEAD)) == NULL) {
	    code = TCL_ERROR;
	} else {
	    Tcl_DictObjRemove(NULL, queueObj, classObj);
	    Tcl_DictObjRemove(NULL, headObj, classObj);
	}
    }
    for (i = 2; i < 11; i++) {
	Tcl_DecrRefCount(callObjv[i]);
    }
    if (code == TCL_OK && SetWide(interp, fnPtr, E_SEQ, nums[3]) == NULL) {
	code = TCL_ERROR;		/* (Seq: the last run's number.) */
    }
    if (direct && sendObjs[0] != NULL) {
	if (code == TCL_OK) {
	    code = SendRun(interp, fnPtr, sendObjs[0], sendObjs[1]);
	}
	Tcl_DecrRefCount(sendObjs[0]);
	Tcl_DecrRefCount(sendObjs[1]);
	if (code == TCL_OK) {
	    Tcl_ResetResult(interp);
	}
	return code;
    }
    if (code != TCL_OK) {
	return code;
    }

    /*
     * The batch, a message per worker (PumpNow's send): Batch is a new
     * value of its own.
     */

    batchObj = GetVar(interp, fnPtr, E_BATCH, TCL_LEAVE_ERR_MSG);
    if (batchObj == NULL) {
	return TCL_ERROR;
    }
    Tcl_IncrRefCount(batchObj);
    if (SetVar(interp, fnPtr, E_BATCH, Tcl_NewObj()) == NULL
	    || Tcl_DictObjFirst(interp, batchObj, &search, &addrObj, &runsObj,
		&done) != TCL_OK) {
	Tcl_DecrRefCount(batchObj);
	return TCL_ERROR;
    }
    for (; !done && code == TCL_OK;
	    Tcl_DictObjNext(&search, &addrObj, &runsObj, &done)) {
	if (Tcl_ListObjGetElements(interp, runsObj, &n, &elems) != TCL_OK) {
	    code = TCL_ERROR;
	    break;
	}
	if (n == 3) {
	    runObjv[0] = wcPtr->words[W_RUN];
	    memcpy(runObjv + 1, elems, 3 * sizeof(Tcl_Obj *));
	    messageObj = Tcl_NewListObj(4, runObjv);
	} else {
	    wordObjv[0] = wcPtr->words[W_RUNS];
	    wordObjv[1] = runsObj;
	    messageObj = Tcl_NewListObj(2, wordObjv);
	}
	Tcl_IncrRefCount(messageObj);
	code = SendRun(interp, fnPtr, addrObj, messageObj);
	Tcl_DecrRefCount(messageObj);
    }
    Tcl_DictObjDone(&search);
    Tcl_DecrRefCount(batchObj);
    if (code == TCL_OK) {
	Tcl_ResetResult(interp);
    }
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * SendRun --
 *
 *	Sends messageObj (run or runs) to the worker addrObj, as PumpNow
 *	does: [dict get $Conns $addr] send $message to a worker connected
 *	(ConnUp), else the farm's SendWorker.
 *
 * Results:
 *	Those of the send.
 *
 * Side effects:
 *	The message sent (or SendWorker's).
 *
 *----------------------------------------------------------------------
 */

/*
 *----------------------------------------------------------------------
 *
 * OwnSend --
 *
 *	The client a worker connection object names when its `send` is
 *	p2p::handler's own C method, for SendRun to call that method's code
 *	(P2pClientSend) without the method call. Whether it is, is decided
 *	once an object, with public introspection: [info object call $c
 *	send] is that method alone (no filter, no mixin's, subclass's or
 *	object's send before it); the answer stays in the object's metadata
 *	(sendOwnMetaType). A send defined on the object (mixin, filter,
 *	method) after its first run is not seen.
 *
 * Results:
 *	The client's P2pHandler, or NULL: send it with the method.
 *
 *----------------------------------------------------------------------
 */

static void
SendOwnDelete(
    ClientData clientData)
{
    (void) clientData;			/* Not allocated: a flag. */
}

static const Tcl_ObjectMetadataType sendOwnMetaType = {
    TCL_OO_METADATA_VERSION_CURRENT, "p2p farm send own", SendOwnDelete,
    P2pMetaCloneNone
};

#define SEND_OWN	((ClientData) 1)
#define SEND_NOT_OWN	((ClientData) 2)

static P2pHandler *
OwnSend(
    Tcl_Interp *interp,
    Tcl_Obj *connObj)
{
    Tcl_Object object = Tcl_GetObjectFromObj(interp, connObj);
    P2pHandler *hPtr;
    ClientData verdict;

    if (object == NULL) {
	Tcl_ResetResult(interp);
	return NULL;
    }
    hPtr = Tcl_ObjectGetMetadata(object, &P2pHandlerMetaType);
    if (hPtr == NULL || hPtr->kind != P2P_CLIENT
	    || (hPtr->flags & HANDLER_DEAD)) {
	return NULL;
    }
    verdict = Tcl_ObjectGetMetadata(object, &sendOwnMetaType);
    if (verdict == NULL) {
	Tcl_Obj *wordObjv[5];
	int i, code;

	wordObjv[0] = Tcl_NewStringObj("::info", -1);
	wordObjv[1] = Tcl_NewStringObj("object", -1);
	wordObjv[2] = Tcl_NewStringObj("call", -1);
	wordObjv[3] = connObj;
	wordObjv[4] = Tcl_NewStringObj("send", -1);
	for (i = 0; i < 5; i++) {
	    Tcl_IncrRefCount(wordObjv[i]);
	}
	code = Tcl_EvalObjv(interp, 5, wordObjv, TCL_EVAL_GLOBAL);
	verdict = code == TCL_OK && strcmp(Tcl_GetStringResult(interp),
		"{method send ::p2p::handler send}") == 0
		? SEND_OWN : SEND_NOT_OWN;
	for (i = 0; i < 5; i++) {
	    Tcl_DecrRefCount(wordObjv[i]);
	}
	Tcl_ResetResult(interp);
	Tcl_ObjectSetMetadata(object, &sendOwnMetaType, verdict);
    }
    return verdict == SEND_OWN ? hPtr : NULL;
}

static int
SendRun(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    Tcl_Obj *addrObj,
    Tcl_Obj *messageObj)
{
    WatchCounts *wcPtr = Counts();
    Tcl_Obj *valueObj, *wordObjv[3];
    int flag = 0, code;

    valueObj = GetVar(interp, fnPtr, E_CONNUP, 0);
    if (valueObj != NULL && Tcl_DictObjGet(NULL, valueObj, addrObj,
	    &valueObj) == TCL_OK && valueObj != NULL) {
	(void) Tcl_GetBooleanFromObj(NULL, valueObj, &flag);
    }
    valueObj = flag ? GetVar(interp, fnPtr, E_CONNS, 0) : NULL;
    if (valueObj != NULL && Tcl_DictObjGet(NULL, valueObj, addrObj,
	    &valueObj) == TCL_OK && valueObj != NULL) {
	/* [dict get $Conns $addr] send $message */
	P2pHandler *hPtr = OwnSend(interp, valueObj);

	if (hPtr != NULL) {
	    return P2pClientSend(interp, hPtr, messageObj);
	}
	wordObjv[0] = valueObj;
	wordObjv[1] = wcPtr->words[W_SEND];
	wordObjv[2] = messageObj;
	Tcl_IncrRefCount(wordObjv[0]);
	Tcl_IncrRefCount(wordObjv[1]);
	code = Tcl_EvalObjv(interp, 3, wordObjv, 0);
	Tcl_DecrRefCount(wordObjv[0]);
	Tcl_DecrRefCount(wordObjv[1]);
    } else {
	wordObjv[0] = addrObj;
	wordObjv[1] = messageObj;
	code = CallFarm(interp, fnPtr, "SendWorker", 2, wordObjv);
    }
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * Paying --
 *
 *	The farm's `my Paying` (is there a ledger to pay?), as OnePass
 *	asks it. When the object's Paying is paying.tcl's own, its
 *	answer, [dict size $Account] > 0, is read here from the variable
 *	Account; else (a tree foreman's asks its worker, a subclass or
 *	mixin may say anything) the method is called. Whether it is
 *	paying.tcl's own is the variable PayingOwn: 1 or 0, or empty
 *	(PayInit's) until the first pass here, which asks paying.tcl's
 *	PayingOwn (it looks at the object's classes, mixins, methods and
 *	filters, and sets the variable). So it is decided once, at the
 *	object's first job passed here: Paying defined, mixins or filters
 *	added after that are not seen, unless PayingOwn is set to "" again
 *	(doc/foreman.n). Without PayingOwn (a farm with no paying.tcl),
 *	or with an Account that is no dict, the method is called.
 *
 * Results:
 *	TCL_OK with *payingPtr set, or the errors of Paying or PayingOwn.
 *
 * Side effects:
 *	Those of the method; PayingOwn set the first time.
 *
 *----------------------------------------------------------------------
 */

static int
Paying(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    int *payingPtr)
{
    Tcl_Obj *valueObj = GetVar(interp, fnPtr, E_PAYINGOWN, 0);
    int own = 0, n, code;

    if (valueObj != NULL) {
	(void) Tcl_GetStringFromObj(valueObj, &n);
	if (n == 0) {
	    code = EvalCall(interp, fnPtr->payingOwnObj);
	    if (code != TCL_OK) {
		return code;
	    }
	    valueObj = GetVar(interp, fnPtr, E_PAYINGOWN, 0);
	}
    }
    if (valueObj != NULL
	    && Tcl_GetBooleanFromObj(NULL, valueObj, &own) == TCL_OK && own
	    && (valueObj = GetVar(interp, fnPtr, E_ACCOUNT, 0)) != NULL
	    && Tcl_DictObjSize(NULL, valueObj, &n) == TCL_OK) {
	*payingPtr = (n > 0);
	return TCL_OK;
    }
    code = EvalCall(interp, fnPtr->payingObj);
    if (code == TCL_OK && Tcl_GetBooleanFromObj(interp,
	    Tcl_GetObjResult(interp), payingPtr) != TCL_OK) {
	code = TCL_ERROR;
    }
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * OwnValue --
 *
 *	The value of the farm's variable varNames[name], made its own
 *	(copied and set again if shared) to be changed in place.
 *
 * Results:
 *	The value, or NULL with an error.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
OwnValue(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    int name)
{
    Tcl_Obj *valueObj = GetVar(interp, fnPtr, name, TCL_LEAVE_ERR_MSG);

    if (valueObj != NULL && Tcl_IsShared(valueObj)) {
	valueObj = SetVar(interp, fnPtr, name, Tcl_DuplicateObj(valueObj));
    }
    if (valueObj != NULL) {
	Tcl_InvalidateStringRep(valueObj);
    }
    return valueObj;
}

/*
 *----------------------------------------------------------------------
 *
 * OnResultsMethod --
 *
 *	The farm's OnResults h cid results (a `results` message of
 *	p2p:foreman<-worker/2 on handler h): the results that need no
 *	policy are settled by farmResults (P2pFarmResults), up to the
 *	first that does: from that one on, the farm's ResultsRest. When
 *	farmResults settled jobs, Settled is set to their ids (what a
 *	wait waits for) and, if jobs are queued, a pass is due (Pump).
 *
 * Results:
 *	Empty, or the errors of farmResults and ResultsRest.
 *
 * Side effects:
 *	Those of farmResults and ResultsRest.
 *
 *----------------------------------------------------------------------
 */

static int
OnResultsMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const *objv)
{
    int skip = Tcl_ObjectContextSkippedArgs(context), code, n, next, flag;
    FarmNames *fnPtr = Names(Tcl_ObjectContextObject(context));
    Tcl_Obj *valueObj, *addrObj = NULL, *escrowsObj, *settledObj;
    Tcl_Obj *restObjv[4], *restObj;

    (void) clientData;
    if (objc != skip + 3) {
	Tcl_WrongNumArgs(interp, skip, objv, "h cid results");
	return TCL_ERROR;
    }
    valueObj = GetVar(interp, fnPtr, E_CONNOF, TCL_LEAVE_ERR_MSG);
    if (valueObj == NULL || Tcl_DictObjGet(interp, valueObj, objv[skip],
	    &addrObj) != TCL_OK) {
	return TCL_ERROR;
    }

    /*
     * The results, the message's word as it came (a string): read in
     * place, or as a list (P2pFarmResults); what is left goes on as a
     * list (restObj).
     */

    if (addrObj == NULL) {
	addrObj = Tcl_NewObj();
    }
    Tcl_IncrRefCount(addrObj);
    if ((valueObj = GetVar(interp, fnPtr, E_LOGOPEN,
	    TCL_LEAVE_ERR_MSG)) == NULL
	    || Tcl_GetBooleanFromObj(interp, valueObj, &flag) != TCL_OK
	    || (escrowsObj = GetVar(interp, fnPtr, E_ESCROWS,
		TCL_LEAVE_ERR_MSG)) == NULL) {
	code = TCL_ERROR;
    } else {
	code = P2pFarmResults(interp, fnPtr->vars, fnPtr->objs[N_NS],
		addrObj, objv[skip + 2], flag, escrowsObj, &next, &settledObj,
		&restObj);
    }
    Tcl_DecrRefCount(addrObj);
    if (code != TCL_OK) {
	return code;
    }
    if (restObj != NULL) {
	/* tailcall my ResultsRest $h $results {*}$r */
	restObjv[0] = objv[skip];
	restObjv[1] = restObj;
	restObjv[2] = Tcl_NewIntObj(next);
	restObjv[3] = settledObj;
	code = CallFarm(interp, fnPtr, "ResultsRest", 4, restObjv);
	Tcl_DecrRefCount(settledObj);
	Tcl_DecrRefCount(restObj);
	return code;
    }
    if (Tcl_ListObjLength(NULL, settledObj, &n) == TCL_OK && n > 0) {
	if (SetVar(interp, fnPtr, E_SETTLED, settledObj) == NULL) {
	    Tcl_DecrRefCount(settledObj);
	    return TCL_ERROR;
	}

	/*
	 * The end of Settle, once for the results settled: a slot is
	 * free, a pass is due if jobs wait (Pump, if none is due yet).
	 */

	valueObj = GetVar(interp, fnPtr, E_QUEUE, TCL_LEAVE_ERR_MSG);
	if (valueObj == NULL
		|| Tcl_DictObjSize(interp, valueObj, &n) != TCL_OK) {
	    Tcl_DecrRefCount(settledObj);
	    return TCL_ERROR;
	}
	if (n > 0 && (code = EvalCall(interp, fnPtr->pumpObj)) != TCL_OK) {
	    Tcl_DecrRefCount(settledObj);
	    return code;
	}
    }
    Tcl_DecrRefCount(settledObj);
    Tcl_ResetResult(interp);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GetVar, SetVar --
 *
 *	The value of the farm's variable varNames[name] (flags: 0 or
 *	TCL_LEAVE_ERR_MSG), through its handle; SetVar sets it.
 *
 * Results:
 *	The value (no reference for the caller), or NULL.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
GetVar(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    int name,
    int flags)
{
    return P2pVarHandleGet(interp, &fnPtr->vars[name], flags);
}

static Tcl_Obj *
SetVar(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    int name,
    Tcl_Obj *valueObj)
{
    return P2pVarHandleSet(interp, &fnPtr->vars[name], valueObj,
	    TCL_LEAVE_ERR_MSG);
}

/*
 *----------------------------------------------------------------------
 *
 * SetWide --
 *
 *	Sets the farm's variable varNames[name] to the integer value: its
 *	value object changed in place when only the variable holds it (as
 *	`incr` does), else a new one; set either way (its traces run).
 *
 * Results:
 *	The value, or NULL with an error.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
SetWide(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    int name,
    Tcl_WideInt value)
{
    Tcl_Obj *valueObj = GetVar(interp, fnPtr, name, 0);

    if (valueObj != NULL && !Tcl_IsShared(valueObj)) {
	Tcl_SetWideIntObj(valueObj, value);
    } else {
	valueObj = Tcl_NewWideIntObj(value);
    }
    return SetVar(interp, fnPtr, name, valueObj);
}

/*
 *----------------------------------------------------------------------
 *
 * EvalCall --
 *
 *	Calls the command of the list callObj ({$ns::my Method}, of the
 *	names), its words as they are (the name of `my` keeps the command
 *	it found).
 *
 * Results:
 *	The command's.
 *
 *----------------------------------------------------------------------
 */

static int
EvalCall(
    Tcl_Interp *interp,
    Tcl_Obj *callObj)
{
    Tcl_Obj **words;
    int numWords, code;

    Tcl_IncrRefCount(callObj);
    Tcl_ListObjGetElements(NULL, callObj, &numWords, &words);
    code = Tcl_EvalObjv(interp, numWords, words, 0);
    Tcl_DecrRefCount(callObj);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * JobOf --
 *
 *	The entry of job idObj in the farm's Jobs.
 *
 * Results:
 *	The job's dict (no reference for the caller), or NULL if there is
 *	no such job (or Jobs is missing or no dict).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
JobOf(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    Tcl_Obj *idObj)
{
    Tcl_Obj *jobsObj, *jobObj = NULL;

    jobsObj = GetVar(interp, fnPtr, E_JOBS, 0);
    if (jobsObj == NULL
	    || Tcl_DictObjGet(NULL, jobsObj, idObj, &jobObj) != TCL_OK) {
	return NULL;
    }
    return jobObj;
}

/*
 *----------------------------------------------------------------------
 *
 * TimeoutPast --
 *
 *	Whether Waits(timeout-$id) of the farm exists (a -timeout of a
 *	wait for job idObj is past).
 *
 *----------------------------------------------------------------------
 */

static int
TimeoutPast(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    Tcl_Obj *idObj)
{
    Tcl_Obj *elemObj = Tcl_ObjPrintf("timeout-%s", Tcl_GetString(idObj));
    int past;

    Tcl_IncrRefCount(elemObj);
    past = Tcl_ObjGetVar2(interp, fnPtr->objs[N_WAITS], elemObj,
	    TCL_GLOBAL_ONLY) != NULL;
    Tcl_DecrRefCount(elemObj);
    return past;
}

/*
 *----------------------------------------------------------------------
 *
 * CallFarm --
 *
 *	my $method {*}$objv: a method of the farm in Tcl, where the C
 *	methods leave a call to it.
 *
 * Results:
 *	Its result.
 *
 * Side effects:
 *	Those of the method.
 *
 *----------------------------------------------------------------------
 */

static int
CallFarm(
    Tcl_Interp *interp,
    FarmNames *fnPtr,
    const char *method,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj *callObj = Tcl_NewListObj(1, &fnPtr->objs[N_MY]);
    int code;

    Tcl_ListObjAppendElement(NULL, callObj, Tcl_NewStringObj(method, -1));
    Tcl_ListObjReplace(NULL, callObj, 2, 0, objc, objv);
    Tcl_IncrRefCount(callObj);
    code = Tcl_EvalObjEx(interp, callObj, 0);
    Tcl_DecrRefCount(callObj);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * Names --
 *
 *	The names of a farm object's variables and of its `my` (its
 *	metadata, made at the first call).
 *
 * Results:
 *	The names.
 *
 * Side effects:
 *	May make the object's metadata.
 *
 *----------------------------------------------------------------------
 */

static FarmNames *
Names(
    Tcl_Object object)
{
    FarmNames *fnPtr = Tcl_ObjectGetMetadata(object, &namesMetaType);
    const char *ns;
    Tcl_Obj *elems[2];
    int i;

    if (fnPtr == NULL) {
	ns = Tcl_GetObjectNamespace(object)->fullName;
	fnPtr = (FarmNames *) ckalloc(sizeof(FarmNames));
	fnPtr->refCount = 1;
	for (i = 0; i < NUM_NAMES; i++) {
	    fnPtr->objs[i] = Tcl_ObjPrintf(nameFormats[i], ns);
	    Tcl_IncrRefCount(fnPtr->objs[i]);
	}
	for (i = 0; i < NUM_VARS; i++) {
	    P2pVarHandleInit(&fnPtr->vars[i], varNames[i] != NULL
		    ? Tcl_ObjPrintf("%s::%s", ns, varNames[i])
		    : Tcl_NewStringObj(LOG_OPEN, -1));
	}
	elems[0] = fnPtr->objs[N_MY];
	elems[1] = Tcl_NewStringObj("PumpNow", -1);
	fnPtr->pumpNowObj = Tcl_NewListObj(2, elems);
	Tcl_IncrRefCount(fnPtr->pumpNowObj);
	elems[1] = Tcl_NewStringObj("Pump", -1);
	fnPtr->pumpObj = Tcl_NewListObj(2, elems);
	Tcl_IncrRefCount(fnPtr->pumpObj);
	elems[1] = Tcl_NewStringObj("Paying", -1);
	fnPtr->payingObj = Tcl_NewListObj(2, elems);
	Tcl_IncrRefCount(fnPtr->payingObj);
	elems[1] = Tcl_NewStringObj("PayingOwn", -1);
	fnPtr->payingOwnObj = Tcl_NewListObj(2, elems);
	Tcl_IncrRefCount(fnPtr->payingOwnObj);
	Tcl_ObjectSetMetadata(object, &namesMetaType, fnPtr);
    }
    return fnPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * NamesDeleteProc, ReleaseNames --
 *
 *	The object's reference to its names goes (with the object), or a
 *	call's; the last frees them.
 *
 *----------------------------------------------------------------------
 */

static void
NamesDeleteProc(
    ClientData clientData)
{
    ReleaseNames(clientData);
}

static void
ReleaseNames(
    FarmNames *fnPtr)
{
    int i;

    if (--fnPtr->refCount > 0) {
	return;
    }
    for (i = 0; i < NUM_NAMES; i++) {
	Tcl_DecrRefCount(fnPtr->objs[i]);
    }
    for (i = 0; i < NUM_VARS; i++) {
	P2pVarHandleFree(&fnPtr->vars[i]);
    }
    Tcl_DecrRefCount(fnPtr->pumpNowObj);
    Tcl_DecrRefCount(fnPtr->pumpObj);
    Tcl_DecrRefCount(fnPtr->payingObj);
    Tcl_DecrRefCount(fnPtr->payingOwnObj);
    ckfree((char *) fnPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * Counts --
 *
 *	The thread's WatchCounts (and its words, made at the first call).
 *
 *----------------------------------------------------------------------
 */

static WatchCounts *
Counts(void)
{
    WatchCounts *wcPtr = Tcl_GetThreadData(&watchKey, sizeof(WatchCounts));
    int i;

    if (!wcPtr->made) {
	wcPtr->made = 1;
	for (i = 0; i < NUM_WORDS; i++) {
	    wcPtr->words[i] = Tcl_NewStringObj(wordNames[i], -1);
	    Tcl_IncrRefCount(wcPtr->words[i]);
	}
	Tcl_CreateThreadExitHandler(CountsExitProc, NULL);
    }
    return wcPtr;
}

static void
CountsExitProc(
    ClientData clientData)
{
    WatchCounts *wcPtr = Tcl_GetThreadData(&watchKey, sizeof(WatchCounts));
    int i;

    (void) clientData;
    if (wcPtr->made) {
	for (i = 0; i < NUM_WORDS; i++) {
	    Tcl_DecrRefCount(wcPtr->words[i]);
	}
	wcPtr->made = 0;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * IsFinal --
 *
 *	Whether a job's state is final: done, failed or cancelled.
 *
 *----------------------------------------------------------------------
 */

static int
IsFinal(
    Tcl_Obj *stateObj)
{
    const char *state = Tcl_GetString(stateObj);

    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0
	    || strcmp(state, "cancelled") == 0;
}
