/*
 * p2pFarm.c --
 *
 *	The per-job path of the foreman's job farm (library/farm.tcl) in C:
 *	the results of a `results` message (p2p:foreman<-worker/2) that
 *	need no policy are settled here, on the farm's own variables, in
 *	one command per message instead of some thirty Tcl commands per
 *	result. The farm keeps everything else (re-issue, redundancy,
 *	payment, -command, logging): this command stops at the first
 *	result that needs any of it and the farm's Tcl loop handles that
 *	one.
 *
 *	    ::p2p::Internal::farmResults ns addr results start logOpen escrows
 *		-> {next settled}
 *
 *	ns is the farm object's namespace (its variables Jobs, Runs and
 *	Inflight), addr the worker's address, results the message's list
 *	{rid result ...}, start the index of the first rid to look at,
 *	logOpen whether the log file is open ($::p2p::log::Open) and
 *	escrows the farm's Escrows (values the method reads cheaply from
 *	its compiled locals: a farm variable read from C costs some 1,700
 *	instructions, through TclOO's variable resolver). From there, in
 *	order, each pair is either
 *	  - ignored, as farm.tcl ignores it: a run unknown on that worker
 *	    (or no longer its), or a result without a status;
 *	  - forgotten: the run ends (Runs, the job's active, Inflight) but
 *	    its job is already settled;
 *	  - settled: a job of redundancy 1, without -command, no escrow
 *	    for the run, no log file open, and the result of a worker (it
 *	    has every key of a result): the run ends and the job is done,
 *	    with that result plus id, reissues and attempts (0 and empty
 *	    when the job has none);
 *	or it needs the farm: the command stops there, changing nothing
 *	for that pair, and returns its index as next (the length of
 *	results when all were done). settled is the list of the ids of the
 *	jobs settled, which the caller then sets Settled to, once (what a
 *	`wait` waits for), if it is not empty. A results that is not a list
 *	of pairs is the error of the message (P2P JOB BADRESULTS), before
 *	the other arguments are looked at.
 *
 *	    ::p2p::Internal::farmDispatch ns queue i head now offers class
 *		ttl connVer seq -> {next head seq}
 *
 *	The inner loop of a pass over a class's queue (PumpNow), for the
 *	jobs that need no policy. The bids are those of the class's offer
 *	in offers (the farm's Offers: a dict of {token bids time} by
 *	class) if it is fresh (at most ttl ms old at time now), else none.
 *	From index i of the list queue, in
 *	order, a job no longer queued is stepped over (and the head moves
 *	past it if it was there); a queued job of redundancy 1 with no run
 *	and no excluded worker goes to the bid the farm would pick (the
 *	first of the bids with a free slot, else the least loaded with queue
 *	room), if that worker speaks p2p:worker<-foreman/2 (a job's keys
 *	results and excluded, when absent, are empty): the run is
 *	recorded (Jobs, Runs, Inflight) and added to Batch, which the pass
 *	sends. connVer is the farm's ConnVer (the version each worker
 *	speaks), seq its Seq: the runs take the numbers after it. The
 *	command stops at the first job it cannot dispatch so (no bid left,
 *	another worker version, a re-issued or redundant job), changing
 *	nothing for it, and returns its index as next (the length of queue
 *	if none), the head and the last number taken (seq if none), which
 *	the caller sets Seq to. The caller makes sure that there is no
 *	escrow to hold (Paying) and no log file open.
 *
 *	    ::p2p::Internal::farmSubmit ns id options
 *		-> {id more} or nothing
 *
 *	The queueing half of submit, for the options of every job (-job,
 *	-command, -redundancy, -retries, -timeout): their values are
 *	checked (the errors of submit), and the job id gets its entry in
 *	Jobs and joins its class's queue (Queue, Head).
 *	more is 1 when other jobs of its class wait before it (the farm
 *	then pumps soon rather than now). With any other option (a tree
 *	job, or a bad option) it returns nothing, having changed nothing:
 *	the farm parses those itself.
 *
 *	The commands are meant to be called from ns itself (the farm's
 *	methods pass [namespace current]): the variables are then found by
 *	their simple names in that namespace, with no qualified name built
 *	or parsed (that cost some 5,000 instructions per variable per
 *	call). From elsewhere they are found by qualified names.
 */

#include "p2pjobsInt.h"

/*
 * The words this file looks up in dicts, and the names of the farm's
 * variables (V_*, looked up in the farm's namespace), made once per
 * thread.
 */

enum {
    F_STATUS, F_CANCELLED, F_ACTIVE, F_RID, F_STATE, F_DONE, F_FAILED,
    F_K, F_COMMAND, F_RESULT, F_ID, F_REISSUES, F_ATTEMPTS, F_WORKER,
    F_OUTPUTS, F_SIGNAL, F_EXIT, F_STDERR, F_STDOUT, F_ERROR,
    F_QUEUED, F_RUNNING, F_RESULTS, F_EXCLUDED, F_TIMEOUT, F_SPEC,
    F_ADDRESS, F_FREE, F_QUEUE, F_SENT, F_KIND, F_PRICE, F_RETRIES,
    F_TIME, F_BIDS, F_TOKEN, F_RUN,
    V_JOBS, V_RUNS, V_INFLIGHT, V_BATCH, V_QUEUE, V_HEAD,
    NUM_FARM_KEYS
};

static const char *const farmKeyNames[NUM_FARM_KEYS] = {
    "status", "cancelled", "active", "rid", "state", "done", "failed",
    "k", "command", "result", "id", "reissues", "attempts", "worker",
    "outputs", "signal", "exit", "stderr", "stdout", "error",
    "queued", "running", "results", "excluded", "timeout", "spec",
    "address", "free", "queue", "sent", "kind", "price", "retries",
    "time", "bids", "token", "run",
    "Jobs", "Runs", "Inflight", "Batch", "Queue", "Head"
};

#define PLAIN_KEYS 24

/*
 * Values that every job has, the same (defaults of submit, what a
 * result without reissues or attempts gets, an empty word): one object
 * each per thread, shared by every job rather than one each (no script
 * changes a value in place: Tcl copies a shared one).
 */

enum { C_EMPTY, C_ZERO, C_ONE, C_THREE, C_TIMEOUT, NUM_CONSTS };
static const int constValues[NUM_CONSTS] = { 0, 0, 1, 3, 600000 };

typedef struct FarmKeys {
    int made;			/* The exit handler is registered. */
    Tcl_Obj *objs[NUM_FARM_KEYS];
    Tcl_Obj *consts[NUM_CONSTS];	/* By C_*: "", then integers. */
    Tcl_Obj *classObj;		/* The class farmSubmit made last, {kind
				 * price}, or NULL: the next job of that
				 * class gets the same (its string, the key
				 * of Queue and Head, is not made again). */
    Tcl_Obj *plainKeys[PLAIN_KEYS];
				/* The keys of the dict PlainDict made last,
				 * in order, or NULL: the next result of a
				 * worker has the same keys, which it takes
				 * rather than make them again. */
    int plainCount;		/* How many keys that dict had. */
    int plainComplete;		/* Whether those keys are all those of a
				 * worker's result (workerKeys): 1 or 0, -1
				 * when not known. */
} FarmKeys;

static Tcl_ThreadDataKey farmKeysKey;

/*
 * The words of a results message read in place (P2pFarmResults): where
 * each starts in the message's string, and its length.
 */

#define MAX_WORDS 16

typedef struct PlainWords {
    int count;
    const char *start[MAX_WORDS];
    int length[MAX_WORDS];
} PlainWords;

static int	FarmResults(Tcl_Interp *interp, Tcl_Obj *nsObj,
		    P2pVarHandle *handles, Tcl_Obj *addrObj,
		    Tcl_Obj *resultsObj, PlainWords *pwPtr, int start,
		    int logOpen, Tcl_Obj *escrowsObj, int *nextPtr,
		    Tcl_Obj **settledPtr);
static int	FarmResultsObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	FarmDispatchObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	FarmDispatch(P2pVarHandle *handles, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[], Tcl_Obj **sendPtr,
		    Tcl_WideInt *nums);
static int	FarmSubmitObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static Tcl_Obj *const *KeyTable(void);
static Tcl_Obj *JobClass(Tcl_Obj *kindObj, Tcl_Obj *priceObj);
static void	FarmKeysExitProc(ClientData clientData);
static Tcl_Obj *DictAt(Tcl_Obj *const *keys, Tcl_Obj *dictObj, int key);
static Tcl_Obj *RunRid(Tcl_Obj *const *keys, Tcl_Obj *runObj);
static int	IsFinal(Tcl_Obj *stateObj);
static Tcl_Obj *PlainDict(const char *p, int length, int *sameKeysPtr);

/*
 * How a command names the farm's variables during one call: by their
 * simple names, with TCL_NAMESPACE_ONLY, when called from the farm's
 * namespace (its methods: no name built, no qualified name parsed);
 * else by qualified names, made when first needed and let go at the end
 * of the call (nothing is kept from one call to the next); through the
 * handles the farm's methods in C keep (P2pFarmResults ...), if given.
 */

typedef struct FarmVars {
    Tcl_Obj *const *keys;	/* KeyTable(). */
    Tcl_Obj *nsObj;		/* The farm's namespace, as given. */
    int flags;			/* TCL_NAMESPACE_ONLY or 0. */
    Tcl_Obj *names[NUM_FARM_KEYS - V_JOBS];
				/* Qualified names (flags 0), or NULL. */
    P2pVarHandle *handles;	/* The handles of the variables (the farm's
				 * methods in C give theirs), or NULL. */
} FarmVars;

static void	EnterFarm(Tcl_Interp *interp, Tcl_Obj *nsObj,
		    P2pVarHandle *handles, FarmVars *fvPtr);
static Tcl_Obj *FarmGet(Tcl_Interp *interp, FarmVars *fvPtr, int var,
		    int flags);
static Tcl_Obj *FarmVarName(FarmVars *fvPtr, int var);
static Tcl_Obj *FarmSet(Tcl_Interp *interp, FarmVars *fvPtr, int var,
		    Tcl_Obj *elemObj, Tcl_Obj *valueObj);
static void	LeaveFarm(FarmVars *fvPtr);
static Tcl_Obj *OwnVar(Tcl_Interp *interp, FarmVars *fvPtr, int var);
static Tcl_Obj *Unshared(Tcl_Obj *dictObj, Tcl_Obj *keyObj,
		    Tcl_Obj *valueObj);
static int	Enqueue(Tcl_Interp *interp, FarmVars *fvPtr,
		    Tcl_Obj *classObj, Tcl_Obj *idObj, int *morePtr);

/*
 *----------------------------------------------------------------------
 *
 * P2pFarmInit --
 *
 *	Makes ::p2p::Internal::farmResults, farmDispatch and farmSubmit.
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
P2pFarmInit(
    Tcl_Interp *interp)
{
    if (Tcl_FindNamespace(interp, "::p2p::Internal", NULL, 0) == NULL
	    && Tcl_CreateNamespace(interp, "::p2p::Internal", NULL,
		NULL) == NULL) {
	return TCL_ERROR;
    }
    Tcl_CreateObjCommand(interp, "::p2p::Internal::farmResults",
	    FarmResultsObjCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::Internal::farmDispatch",
	    FarmDispatchObjCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::Internal::farmSubmit",
	    FarmSubmitObjCmd, NULL, NULL);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * FarmResultsObjCmd --
 *
 *	::p2p::Internal::farmResults ns addr results start logOpen
 *	escrows: see the header of this file.
 *
 * Results:
 *	TCL_OK with {next settled}, or TCL_ERROR (bad arguments, or a
 *	variable of the farm that is missing or not a dict).
 *
 * Side effects:
 *	Changes the farm's variables Jobs, Runs and Inflight.
 *
 *----------------------------------------------------------------------
 */

static int
FarmResultsObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj **pairs, *settledObj, *out[2];
    int numPairs, start = 0, logOpen = 0, next;

    if (objc != 7) {
	Tcl_WrongNumArgs(interp, 1, objv,
		"ns addr results start logOpen escrows");
	return TCL_ERROR;
    }

    /*
     * Results not a list of pairs is the error (FarmResults), before
     * the other arguments are looked at.
     */

    if (Tcl_ListObjGetElements(NULL, objv[3], &numPairs,
	    &pairs) == TCL_OK && numPairs % 2 == 0
	    && (Tcl_GetIntFromObj(interp, objv[4], &start) != TCL_OK
	    || Tcl_GetBooleanFromObj(interp, objv[5], &logOpen) != TCL_OK)) {
	return TCL_ERROR;
    }
    if (FarmResults(interp, objv[1], clientData, objv[2], objv[3], NULL,
	    start, logOpen, objv[6], &next, &settledObj) != TCL_OK) {
	return TCL_ERROR;
    }
    out[0] = Tcl_NewIntObj(next);
    out[1] = settledObj;
    Tcl_SetObjResult(interp, Tcl_NewListObj(2, out));
    Tcl_DecrRefCount(settledObj);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * FarmResults --
 *
 *	farmResults's work (see the header of this file), with its
 *	arguments as values: the farm of namespace nsObj, or of the
 *	variables handles (the P2P_FARM_VARS handles, or NULL), the
 *	results of worker addrObj (the list resultsObj, or the words of a
 *	message read in place, pwPtr, if resultsObj is NULL) from pair
 *	start on, logOpen and the farm's Escrows.
 *
 * Results:
 *	TCL_OK with *nextPtr and *settledPtr (a list with a reference for
 *	the caller), or TCL_ERROR (results not a list of pairs, or a
 *	variable of the farm that is missing or not a dict).
 *
 * Side effects:
 *	Changes the farm's variables Jobs, Runs and Inflight.
 *
 *----------------------------------------------------------------------
 */

static int
FarmResults(
    Tcl_Interp *interp,
    Tcl_Obj *nsObj,
    P2pVarHandle *handles,
    Tcl_Obj *addrObj,
    Tcl_Obj *resultsObj,
    PlainWords *pwPtr,
    int start,
    int logOpen,
    Tcl_Obj *escrowsObj,
    int *nextPtr,
    Tcl_Obj **settledPtr)
{
    Tcl_Obj **pairs = NULL, *jobsObj, *runsObj, *inflightObj;
    Tcl_Obj *resultObj, *doneObj, *settledObj;
    Tcl_Obj *const *keys;
    FarmVars vars;
    FarmKeys *fkPtr = Tcl_GetThreadData(&farmKeysKey, sizeof(FarmKeys));
    int numPairs, i, j, numEscrows = 0;
    int code = TCL_OK;
    static const int workerKeys[] = {
	F_WORKER, F_OUTPUTS, F_SIGNAL, F_EXIT, F_STDERR, F_STDOUT,
	F_ERROR, F_RESULT
    };

    if (resultsObj == NULL) {
	numPairs = pwPtr->count;	/* (Even: P2pFarmResults.) */
    } else if (Tcl_ListObjGetElements(NULL, resultsObj, &numPairs,
	    &pairs) != TCL_OK || numPairs % 2) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(
		"bad results: must be a list of rid result ...", -1));
	Tcl_SetErrorCode(interp, "P2P", "JOB", "BADRESULTS", NULL);
	return TCL_ERROR;
    }
    if (start < 0) {
	start = 0;
    }
    if (Tcl_DictObjSize(NULL, escrowsObj, &numEscrows) != TCL_OK) {
	numEscrows = 1;			/* Not a dict: ask the farm. */
    }

    /*
     * The list of pairs and escrows are held for the whole loop: the
     * elements are theirs.
     */

    EnterFarm(interp, nsObj, handles, &vars);
    keys = vars.keys;
    doneObj = keys[F_DONE];
    if (resultsObj != NULL) {
	Tcl_IncrRefCount(resultsObj);
    }
    Tcl_IncrRefCount(escrowsObj);

    /*
     * Jobs, Runs and Inflight are changed in place, as `dict set` does:
     * each is made its variable's own value first. No script runs
     * until the end (Settled is set last), so they stay so.
     */

    if ((jobsObj = OwnVar(interp, &vars, V_JOBS)) == NULL
	    || (runsObj = OwnVar(interp, &vars, V_RUNS)) == NULL
	    || (inflightObj = OwnVar(interp, &vars, V_INFLIGHT)) == NULL) {
	code = TCL_ERROR;
	goto done;
    }
    settledObj = Tcl_NewObj();
    Tcl_IncrRefCount(settledObj);

    for (i = start; i < numPairs; i += 2) {
	Tcl_Obj *ridObj = NULL, *idObj, *jobObj, *activeObj, *runObj;
	Tcl_Obj *valueObj, *statusObj, *stateObj, *countObj, *ownObj = NULL;
	const char *rid, *dot, *runRid;
	int ridLen, k, n, final, complete, sameKeys = 0, plain = 0;

	if (pairs != NULL) {
	    ridObj = pairs[i];
	    resultObj = pairs[i + 1];
	    rid = Tcl_GetStringFromObj(ridObj, &ridLen);
	} else {
	    resultObj = NULL;		/* (Made from its words below.) */
	    rid = pwPtr->start[i];
	    ridLen = pwPtr->length[i];
	}
	dot = memchr(rid, '.', ridLen);
	idObj = Tcl_NewStringObj(rid, dot ? (int) (dot - rid) : ridLen);
	Tcl_IncrRefCount(idObj);

	/*
	 * Not a run of ours on that worker: ignored.
	 */

	if (Tcl_DictObjGet(NULL, jobsObj, idObj, &jobObj) != TCL_OK
		|| jobObj == NULL
		|| (activeObj = DictAt(keys, jobObj, F_ACTIVE)) == NULL
		|| Tcl_DictObjGet(NULL, activeObj, addrObj,
		    &runObj) != TCL_OK || runObj == NULL
		|| (valueObj = RunRid(keys, runObj)) == NULL
		|| (runRid = Tcl_GetStringFromObj(valueObj, &n), n != ridLen)
		|| memcmp(runRid, rid, ridLen) != 0) {
	    Tcl_DecrRefCount(idObj);
	    continue;
	}
	if (ridObj == NULL) {
	    ridObj = valueObj;		/* (The same rid: the run's.) */
	}
	if ((stateObj = DictAt(keys, jobObj, F_STATE)) == NULL) {
	    Tcl_DecrRefCount(idObj);
	    break;
	}
	final = IsFinal(stateObj);
	if (final && resultObj == NULL) {
	    /* (Only its status is looked at.) */
	    ownObj = Tcl_NewStringObj(pwPtr->start[i + 1],
		    pwPtr->length[i + 1]);
	    Tcl_IncrRefCount(ownObj);
	    resultObj = ownObj;
	}
	if (!final) {
	    /*
	     * What the farm must decide: a job of several workers (votes),
	     * an escrow to pay, a -command to call, a log event to write.
	     * (The farm ignores a result without a status as this command
	     * does.)
	     */

	    if (logOpen
		    || (valueObj = DictAt(keys, jobObj, F_K)) == NULL
		    || Tcl_GetIntFromObj(NULL, valueObj, &k) != TCL_OK
		    || k != 1
		    || (valueObj = DictAt(keys, jobObj, F_COMMAND)) == NULL
		    || Tcl_ListObjLength(NULL, valueObj, &n) != TCL_OK
		    || n != 0
		    || (numEscrows > 0
			&& (Tcl_DictObjGet(NULL, escrowsObj, ridObj,
			    &valueObj) != TCL_OK || valueObj != NULL))) {
		Tcl_DecrRefCount(idObj);
		break;
	    }

	    /*
	     * The result that becomes the job's gets keys of its own: a
	     * result as it came in a message, a string not parsed yet, is
	     * made a dict of its own from its words (PlainDict), or copied
	     * as a string and the copy parsed, rather than parsed and then
	     * copied as a dict (which cost some 3,900 instructions).
	     */

	    if (resultObj == NULL) {
		/* (Its words in the message.) */
		ownObj = PlainDict(pwPtr->start[i + 1], pwPtr->length[i + 1],
			&sameKeys);
		plain = ownObj != NULL;
		if (ownObj == NULL) {
		    ownObj = Tcl_NewStringObj(pwPtr->start[i + 1],
			    pwPtr->length[i + 1]);
		}
		Tcl_IncrRefCount(ownObj);
		resultObj = ownObj;
	    } else if (resultObj->typePtr == NULL
		    && resultObj->bytes != NULL) {
		ownObj = PlainDict(resultObj->bytes, resultObj->length,
			&sameKeys);
		plain = ownObj != NULL;
		if (ownObj == NULL) {
		    ownObj = Tcl_DuplicateObj(resultObj);
		}
		Tcl_IncrRefCount(ownObj);
		resultObj = ownObj;
	    }
	}

	/*
	 * No status: ignored.
	 */

	if (Tcl_DictObjGet(NULL, resultObj, keys[F_STATUS],
		&statusObj) != TCL_OK || statusObj == NULL) {
	    if (ownObj != NULL) {
		Tcl_DecrRefCount(ownObj);
	    }
	    Tcl_DecrRefCount(idObj);
	    continue;
	}
	if (!final) {
	    /*
	     * A cancelled run (re-issued) and a result to complete are
	     * the farm's. A result with the keys of the one PlainDict made
	     * before, in the same places, has the same keys: they are
	     * looked for once.
	     */

	    complete = strcmp(Tcl_GetString(statusObj), "cancelled") != 0;
	    if (complete && !(sameKeys && fkPtr->plainComplete == 1)) {
		for (j = 0; complete
			&& j < (int) (sizeof(workerKeys) / sizeof(int)); j++) {
		    if (DictAt(keys, resultObj, workerKeys[j]) == NULL) {
			complete = 0;
		    }
		}
		if (plain) {
		    fkPtr->plainComplete = complete;
		}
	    }
	    if (!complete) {
		if (ownObj != NULL) {
		    Tcl_DecrRefCount(ownObj);
		}
		Tcl_DecrRefCount(idObj);
		break;
	    }
	}

	/*
	 * The run ends: dict unset Runs $rid; dict unset Jobs $id active
	 * $addr; the worker's count in Inflight falls.
	 */

	Tcl_DictObjRemove(NULL, runsObj, ridObj);
	jobObj = Unshared(jobsObj, idObj, jobObj);
	/* (A copy of the job holds the same active.) */
	activeObj = Unshared(jobObj, keys[F_ACTIVE], activeObj);
	Tcl_DictObjRemove(NULL, activeObj, addrObj);
	if (Tcl_DictObjGet(NULL, inflightObj, addrObj,
		&countObj) == TCL_OK && countObj != NULL) {
	    if (Tcl_GetIntFromObj(NULL, countObj, &n) != TCL_OK) {
		n = 1;
	    }
	    if (n - 1 <= 0) {
		Tcl_DictObjRemove(NULL, inflightObj, addrObj);
	    } else {
		Tcl_DictObjPut(NULL, inflightObj, addrObj,
			Tcl_NewIntObj(n - 1));
	    }
	}
	if (final) {
	    Tcl_InvalidateStringRep(jobsObj);
	    if (ownObj != NULL) {
		Tcl_DecrRefCount(ownObj);
	    }
	    Tcl_DecrRefCount(idObj);
	    continue;
	}

	/*
	 * Settled: the result with id, reissues and attempts; the job
	 * done.
	 */

	if (ownObj == NULL) {
	    resultObj = Tcl_DuplicateObj(resultObj);	/* The list's. */
	    Tcl_IncrRefCount(resultObj);
	}
	Tcl_DictObjPut(NULL, resultObj, keys[F_ID], idObj);
	valueObj = DictAt(keys, jobObj, F_REISSUES);
	Tcl_DictObjPut(NULL, resultObj, keys[F_REISSUES],
		valueObj ? valueObj : fkPtr->consts[C_ZERO]);
	valueObj = DictAt(keys, jobObj, F_ATTEMPTS);
	Tcl_DictObjPut(NULL, resultObj, keys[F_ATTEMPTS],
		valueObj ? valueObj : fkPtr->consts[C_EMPTY]);
	Tcl_DictObjPut(NULL, jobObj, keys[F_STATE], doneObj);
	Tcl_DictObjPut(NULL, jobObj, keys[F_RESULT], resultObj);
	Tcl_DecrRefCount(resultObj);
	Tcl_InvalidateStringRep(jobsObj);
	Tcl_ListObjAppendElement(NULL, settledObj, idObj);
	Tcl_DecrRefCount(idObj);
    }

    *nextPtr = i < numPairs ? i : numPairs;
    *settledPtr = settledObj;

  done:
    LeaveFarm(&vars);
    if (resultsObj != NULL) {
	Tcl_DecrRefCount(resultsObj);
    }
    Tcl_DecrRefCount(escrowsObj);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * FarmDispatchObjCmd --
 *
 *	::p2p::Internal::farmDispatch ns queue i head now offers class ttl
 *	connVer seq: see the header of this file.
 *
 * Results:
 *	TCL_OK with {next head seq}, or TCL_ERROR (bad arguments, or a
 *	variable of the farm that is missing or not a dict).
 *
 * Side effects:
 *	Changes the farm's variables Jobs, Runs, Inflight and Batch.
 *
 *----------------------------------------------------------------------
 */

static int
FarmDispatchObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    return FarmDispatch(clientData, interp, objc, objv, NULL, NULL);
}

/*
 *----------------------------------------------------------------------
 *
 * FarmDispatch --
 *
 *	farmDispatch's work, with the farm's handles (or NULL) and, from C
 *	(OnePass, p2pFarmMethods.c), sendPtr: if not NULL, the first job
 *	dispatched is the last (the others are left as not dispatched), and
 *	its run does not go in Batch: sendPtr[0] is its worker's address,
 *	sendPtr[1] the message that sends it, {run rid token spec} (each
 *	with a reference for the caller), both NULL if none was dispatched.
 *	nums, if not NULL (from C too), holds i, head, now and seq (objv's
 *	are not read) and gets next, head and seq back (nums[0], [1] and
 *	[3]) in place of the command's result.
 *
 * Results:
 *	Those of farmDispatch.
 *
 * Side effects:
 *	Those of farmDispatch.
 *
 *----------------------------------------------------------------------
 */

static int
FarmDispatch(
    P2pVarHandle *handles,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[],
    Tcl_Obj **sendPtr,
    Tcl_WideInt *nums)		/* Or NULL: see above. */
{
    Tcl_Obj **ids, **bids = NULL, *jobsObj, *runsObj, *inflightObj;
    Tcl_Obj *batchObj = NULL, *connVerObj, *tokenObj, *offerObj, *out[3];
    Tcl_Obj *bidsObj = NULL, *timeObj;
    Tcl_Obj *const *keys;
    FarmVars vars;
    int numIds, numBids = 0, i, head, b, code = TCL_OK;
    Tcl_WideInt now, ttl, seq, time;

    if (objc != 11) {
	Tcl_WrongNumArgs(interp, 1, objv,
		"ns queue i head now offers class ttl connVer seq");
	return TCL_ERROR;
    }
    keys = KeyTable();
    if (nums != NULL) {
	i = (int) nums[0];
	head = (int) nums[1];
	now = nums[2];
	seq = nums[3];
    } else if (Tcl_GetIntFromObj(interp, objv[3], &i) != TCL_OK
	    || Tcl_GetIntFromObj(interp, objv[4], &head) != TCL_OK
	    || Tcl_GetWideIntFromObj(interp, objv[5], &now) != TCL_OK
	    || Tcl_GetWideIntFromObj(interp, objv[10], &seq) != TCL_OK) {
	return TCL_ERROR;
    }
    if (Tcl_ListObjGetElements(interp, objv[2], &numIds, &ids) != TCL_OK
	    || Tcl_DictObjGet(interp, objv[6], objv[7], &offerObj) != TCL_OK
	    || Tcl_GetWideIntFromObj(interp, objv[8], &ttl) != TCL_OK
	    || Tcl_DictObjSize(interp, objv[9], &b) != TCL_OK) {
	return TCL_ERROR;
    }

    /*
     * The class's bids, if its offer is fresh. (An offer without a time
     * gives none: the farm's Tcl then says what is wrong.)
     */

    tokenObj = NULL;
    if (offerObj != NULL
	    && (timeObj = DictAt(keys, offerObj, F_TIME)) != NULL
	    && Tcl_GetWideIntFromObj(NULL, timeObj, &time) == TCL_OK
	    && now - time <= ttl) {
	bidsObj = DictAt(keys, offerObj, F_BIDS);
	tokenObj = DictAt(keys, offerObj, F_TOKEN);
	if (bidsObj != NULL && Tcl_ListObjGetElements(interp, bidsObj,
		&numBids, &bids) != TCL_OK) {
	    return TCL_ERROR;
	}
    }
    if (bidsObj == NULL || tokenObj == NULL) {
	numBids = 0;			/* No dispatch: no token needed. */
    }
    connVerObj = objv[9];
    if (sendPtr != NULL) {
	sendPtr[0] = sendPtr[1] = NULL;
    }
    EnterFarm(interp, objv[1], handles, &vars);
    Tcl_IncrRefCount(objv[2]);
    Tcl_IncrRefCount(objv[6]);
    Tcl_IncrRefCount(connVerObj);

    /*
     * Made their variables' own, to be changed in place: no script runs
     * before the end.
     */

    if ((jobsObj = OwnVar(interp, &vars, V_JOBS)) == NULL
	    || (runsObj = OwnVar(interp, &vars, V_RUNS)) == NULL
	    || (inflightObj = OwnVar(interp, &vars, V_INFLIGHT)) == NULL
	    || (sendPtr == NULL
		&& (batchObj = OwnVar(interp, &vars, V_BATCH)) == NULL)) {
	code = TCL_ERROR;
	goto done;
    }

    for (; i < numIds; i++) {
	Tcl_Obj *idObj = ids[i], *jobObj, *valueObj, *pickObj = NULL;
	Tcl_Obj *addrObj = NULL, *ridObj, *runObj, *elems[3], *listObj;
	Tcl_Obj *activeObj, *elems4[4], *specObj;
	const char *id;
	int k, free, queue, busy, ver, idLength, pickBusy = 0;
	double load, bestLoad = 0.0;
	Tcl_WideInt timeout;

	if (Tcl_DictObjGet(NULL, jobsObj, idObj, &jobObj) != TCL_OK) {
	    break;
	}
	if (jobObj != NULL && (valueObj = DictAt(keys, jobObj, F_STATE)) == NULL) {
	    break;
	}
	if (jobObj == NULL
		|| strcmp(Tcl_GetString(valueObj), "queued") != 0) {
	    if (i == head) {
		head++;
	    }
	    continue;
	}
	if ((valueObj = DictAt(keys, jobObj, F_K)) == NULL
		|| Tcl_GetIntFromObj(NULL, valueObj, &k) != TCL_OK || k != 1
		|| (activeObj = DictAt(keys, jobObj, F_ACTIVE)) == NULL
		|| Tcl_DictObjSize(NULL, activeObj, &k) != TCL_OK || k != 0
		|| ((valueObj = DictAt(keys, jobObj, F_RESULTS)) != NULL
		    && (Tcl_DictObjSize(NULL, valueObj, &k) != TCL_OK
		    || k != 0))
		|| ((valueObj = DictAt(keys, jobObj, F_EXCLUDED)) != NULL
		    && (Tcl_ListObjLength(NULL, valueObj, &k) != TCL_OK
		    || k != 0))
		|| (valueObj = DictAt(keys, jobObj, F_TIMEOUT)) == NULL
		|| Tcl_GetWideIntFromObj(NULL, valueObj, &timeout) != TCL_OK
		|| (specObj = DictAt(keys, jobObj, F_SPEC)) == NULL) {
	    break;
	}

	/*
	 * The bid to take: the first with a free slot; else the least
	 * loaded with queue room (the best bid on a tie). (No worker is
	 * excluded and the job has no run: every bid is a candidate.)
	 */

	for (b = 0; b < numBids; b++) {
	    Tcl_Obj *bidAddrObj = DictAt(keys, bids[b], F_ADDRESS);

	    if (bidAddrObj == NULL
		    || (valueObj = DictAt(keys, bids[b], F_FREE)) == NULL
		    || Tcl_GetIntFromObj(NULL, valueObj, &free) != TCL_OK) {
		pickObj = NULL;
		break;			/* The farm says what is wrong. */
	    }
	    if (free < 1) {
		free = 1;
	    }
	    busy = 0;
	    if (Tcl_DictObjGet(NULL, inflightObj, bidAddrObj,
		    &valueObj) == TCL_OK && valueObj != NULL
		    && Tcl_GetIntFromObj(NULL, valueObj, &busy) != TCL_OK) {
		pickObj = NULL;
		break;
	    }
	    if (busy < free) {
		pickObj = bids[b];
		addrObj = bidAddrObj;
		pickBusy = busy;
		break;
	    }
	    queue = 0;
	    if ((valueObj = DictAt(keys, bids[b], F_QUEUE)) != NULL
		    && Tcl_GetIntFromObj(NULL, valueObj, &queue) != TCL_OK) {
		pickObj = NULL;
		break;
	    }
	    if (busy < free + queue) {
		load = (double) busy / free;
		if (pickObj == NULL || load < bestLoad) {
		    pickObj = bids[b];
		    addrObj = bidAddrObj;
		    pickBusy = busy;
		    bestLoad = load;
		}
	    }
	}
	if (pickObj == NULL
		|| Tcl_DictObjGet(NULL, connVerObj, addrObj,
		    &valueObj) != TCL_OK || valueObj == NULL
		|| Tcl_GetIntFromObj(NULL, valueObj, &ver) != TCL_OK
		|| ver < 2) {
	    break;
	}

	/*
	 * Dispatch: the run is recorded and goes in this pass's batch for
	 * its worker.
	 */

	id = Tcl_GetStringFromObj(idObj, &idLength);
	ridObj = P2pFarmNumbered(id, idLength, '.', ++seq);
	Tcl_IncrRefCount(ridObj);
	jobObj = Unshared(jobsObj, idObj, jobObj);
	Tcl_DictObjPut(NULL, jobObj, keys[F_STATE], keys[F_RUNNING]);
	/* (A copy of the job holds the same active.) */
	activeObj = Unshared(jobObj, keys[F_ACTIVE], activeObj);
	/*
	 * The run, the dict {rid $rid sent $now}, made as a list (RunRid
	 * reads it as one; Tcl reads it as the dict).
	 */

	elems4[0] = keys[F_RID];
	elems4[1] = ridObj;
	elems4[2] = keys[F_SENT];
	elems4[3] = Tcl_NewWideIntObj(now);
	runObj = Tcl_NewListObj(4, elems4);
	Tcl_DictObjPut(NULL, activeObj, addrObj, runObj);
	elems[0] = idObj;
	elems[1] = addrObj;
	elems[2] = Tcl_NewWideIntObj(now + timeout);
	Tcl_DictObjPut(NULL, runsObj, ridObj, Tcl_NewListObj(3, elems));
	Tcl_DictObjPut(NULL, inflightObj, addrObj,
		Tcl_NewIntObj(pickBusy + 1));
	if (sendPtr != NULL) {
	    /*
	     * The run to send now, the last of this call.
	     */

	    Tcl_Obj *messageObjv[4];

	    messageObjv[0] = keys[F_RUN];
	    messageObjv[1] = ridObj;
	    messageObjv[2] = tokenObj;
	    messageObjv[3] = specObj;
	    sendPtr[0] = addrObj;
	    sendPtr[1] = Tcl_NewListObj(4, messageObjv);
	    Tcl_IncrRefCount(sendPtr[0]);
	    Tcl_IncrRefCount(sendPtr[1]);
	    Tcl_DecrRefCount(ridObj);
	    if (i++ == head) {
		head++;
	    }
	    break;
	}
	if (Tcl_DictObjGet(NULL, batchObj, addrObj, &listObj) != TCL_OK
		|| listObj == NULL) {
	    listObj = Tcl_NewObj();
	    Tcl_DictObjPut(NULL, batchObj, addrObj, listObj);
	} else {
	    listObj = Unshared(batchObj, addrObj, listObj);
	}
	Tcl_ListObjAppendElement(NULL, listObj, ridObj);
	Tcl_ListObjAppendElement(NULL, listObj, tokenObj);
	Tcl_ListObjAppendElement(NULL, listObj, specObj);
	Tcl_InvalidateStringRep(batchObj);
	Tcl_DecrRefCount(ridObj);
	if (i == head) {
	    head++;
	}
    }
    if (nums != NULL) {
	nums[0] = i;
	nums[1] = head;
	nums[3] = seq;
    } else {
	out[0] = Tcl_NewIntObj(i);
	out[1] = Tcl_NewIntObj(head);
	out[2] = Tcl_NewWideIntObj(seq);
	Tcl_SetObjResult(interp, Tcl_NewListObj(3, out));
    }

  done:
    LeaveFarm(&vars);
    Tcl_DecrRefCount(objv[2]);
    Tcl_DecrRefCount(objv[6]);
    Tcl_DecrRefCount(connVerObj);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * FarmSubmitObjCmd --
 *
 *	::p2p::Internal::farmSubmit ns id options: see the header of this
 *	file.
 *
 * Results:
 *	TCL_OK with {id more} or an empty result (an option for the farm
 *	to parse); TCL_ERROR for a bad value (submit's message and error
 *	code) or a variable of the farm that is missing or not a dict.
 *
 * Side effects:
 *	Changes the farm's variables Jobs, Queue and Head.
 *
 *----------------------------------------------------------------------
 */

static int
FarmSubmitObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj **words;
    int numWords, status;

    if (objc != 4) {
	Tcl_WrongNumArgs(interp, 1, objv, "ns id options");
	return TCL_ERROR;
    }
    if (Tcl_ListObjGetElements(interp, objv[3], &numWords,
	    &words) != TCL_OK) {
	return TCL_ERROR;
    }
    Tcl_IncrRefCount(objv[3]);
    if (P2pFarmSubmit(interp, clientData, objv[1], objv[2], numWords,
	    words, &status, NULL) != TCL_OK) {
	Tcl_DecrRefCount(objv[3]);
	return TCL_ERROR;
    }
    Tcl_DecrRefCount(objv[3]);
    if (status < 0) {
	return TCL_OK;			/* (Left to the farm.) */
    }
    /* {id more} */
    Tcl_SetObjResult(interp, Tcl_NewListObj(1, &objv[2]));
    Tcl_ListObjAppendElement(NULL, Tcl_GetObjResult(interp),
	    Tcl_NewBooleanObj(status == 1));
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pFarmSubmit --
 *
 *	farmSubmit's work, with the farm's handles (or NULL), the job's
 *	id and its options as words; and, from C (SubmitMethod,
 *	p2pFarmMethods.c), classPtr: if not NULL and no job is queued
 *	(Queue is empty), the job gets its entry in Jobs but is not queued:
 *	*classPtr is its class (with a reference for the caller), which
 *	either dispatches it at once or queues it (P2pFarmEnqueue).
 *
 * Results:
 *	TCL_OK with *statusPtr: -1 for an option left to the farm (nothing
 *	changed), 0 queued, 1 queued behind other jobs of its class, 2 not
 *	queued (classPtr); or TCL_ERROR (farmSubmit's).
 *
 * Side effects:
 *	Changes the farm's variables Jobs, Queue and Head.
 *
 *----------------------------------------------------------------------
 */

int
P2pFarmSubmit(
    Tcl_Interp *interp,
    P2pVarHandle *handles,
    Tcl_Obj *nsObj,
    Tcl_Obj *idObj,
    int numWords,
    Tcl_Obj *const words[],
    int *statusPtr,
    Tcl_Obj **classPtr)
{
    static const char *const options[] = {
	"-job", "-command", "-redundancy", "-retries", "-timeout", NULL
    };
    enum { O_JOB, O_COMMAND, O_REDUNDANCY, O_RETRIES, O_TIMEOUT };
    Tcl_Obj *given[5] = {NULL, NULL, NULL, NULL, NULL};
    Tcl_Obj *kindObj = NULL, *priceObj = NULL, *classObj;
    Tcl_Obj *jobObj, *jobsObj, *queueObj;
    Tcl_Obj *const *keys;
    FarmKeys *fkPtr;
    FarmVars vars;
    int i, index, value, other = 0, n, more = 0, code = TCL_OK;

    *statusPtr = -1;
    if (numWords % 2) {
	return TCL_OK;
    }
    for (i = 0; i < numWords; i += 2) {
	if (Tcl_GetIndexFromObj(NULL, words[i], options, "option",
		TCL_EXACT, &index) != TCL_OK) {
	    other = 1;
	    continue;
	}
	given[index] = words[i + 1];
	if (index >= O_REDUNDANCY) {
	    int min = index == O_RETRIES ? 0 : 1;

	    if (Tcl_GetIntFromObj(NULL, words[i + 1], &value) != TCL_OK
		    || value < min) {
		Tcl_SetObjResult(interp, Tcl_ObjPrintf(
			"bad value \"%s\" for %s: must be an integer >= %d",
			Tcl_GetString(words[i + 1]), options[index], min));
		Tcl_SetErrorCode(interp, "P2P", "USAGE", "BADVALUE",
			options[index], NULL);
		return TCL_ERROR;
	    }
	}
    }
    if (other) {
	return TCL_OK;
    }
    keys = KeyTable();
    fkPtr = Tcl_GetThreadData(&farmKeysKey, sizeof(FarmKeys));
    if (given[O_JOB] == NULL
	    || Tcl_DictObjGet(NULL, given[O_JOB], keys[F_KIND],
		&kindObj) != TCL_OK || kindObj == NULL) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj("bad value for -job: must"
		" be a dict with at least a kind", -1));
	Tcl_SetErrorCode(interp, "P2P", "USAGE", "BADVALUE", "-job", NULL);
	return TCL_ERROR;
    }
    Tcl_DictObjGet(NULL, given[O_JOB], keys[F_PRICE], &priceObj);
    classObj = JobClass(kindObj, priceObj);
    Tcl_IncrRefCount(classObj);

    /*
     * As submit's `dict set Jobs`, `dict lappend Queue` and `dict set
     * Head` do: each variable made its own first, then changed in place.
     * (Not queued, with classPtr, while no job is.)
     */

    EnterFarm(interp, nsObj, handles, &vars);
    if ((jobsObj = OwnVar(interp, &vars, V_JOBS)) == NULL) {
	code = TCL_ERROR;
	goto done;
    }
    if (classPtr != NULL
	    && (queueObj = FarmGet(interp, &vars, V_QUEUE, 0)) != NULL
	    && Tcl_DictObjSize(NULL, queueObj, &n) == TCL_OK && n == 0) {
	*classPtr = classObj;
	Tcl_IncrRefCount(classObj);
	*statusPtr = 2;
    } else if (Enqueue(interp, &vars, classObj, idObj, &more) != TCL_OK) {
	code = TCL_ERROR;
	goto done;
    } else {
	*statusPtr = more;
    }
    jobObj = Tcl_NewDictObj();
    Tcl_DictObjPut(NULL, jobObj, keys[F_SPEC], given[O_JOB]);
    Tcl_DictObjPut(NULL, jobObj, keys[F_STATE], keys[F_QUEUED]);
    Tcl_DictObjPut(NULL, jobObj, keys[F_COMMAND],
	    given[O_COMMAND] ? given[O_COMMAND] : fkPtr->consts[C_EMPTY]);
    Tcl_DictObjPut(NULL, jobObj, keys[F_K],
	    given[O_REDUNDANCY] ? given[O_REDUNDANCY] : fkPtr->consts[C_ONE]);
    Tcl_DictObjPut(NULL, jobObj, keys[F_RETRIES],
	    given[O_RETRIES] ? given[O_RETRIES] : fkPtr->consts[C_THREE]);
    Tcl_DictObjPut(NULL, jobObj, keys[F_TIMEOUT],
	    given[O_TIMEOUT] ? given[O_TIMEOUT] : fkPtr->consts[C_TIMEOUT]);
    Tcl_DictObjPut(NULL, jobObj, keys[F_ACTIVE], Tcl_NewObj());
    Tcl_DictObjPut(NULL, jobsObj, idObj, jobObj);

  done:
    LeaveFarm(&vars);
    Tcl_DecrRefCount(classObj);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * Enqueue --
 *
 *	`dict lappend Queue $class $id`, and Head's entry for the class
 *	(0) if it has none, as submit does.
 *
 * Results:
 *	TCL_OK with *morePtr (whether jobs of the class wait before it), or
 *	TCL_ERROR (Queue or Head not a dict, or missing).
 *
 * Side effects:
 *	Changes Queue and Head.
 *
 *----------------------------------------------------------------------
 */

static int
Enqueue(
    Tcl_Interp *interp,
    FarmVars *fvPtr,
    Tcl_Obj *classObj,
    Tcl_Obj *idObj,
    int *morePtr)
{
    FarmKeys *fkPtr = Tcl_GetThreadData(&farmKeysKey, sizeof(FarmKeys));
    Tcl_Obj *queueObj, *headObj, *listObj;
    int n, head;

    if ((queueObj = OwnVar(interp, fvPtr, V_QUEUE)) == NULL
	    || (headObj = OwnVar(interp, fvPtr, V_HEAD)) == NULL
	    || Tcl_DictObjGet(interp, queueObj, classObj,
		&listObj) != TCL_OK) {
	return TCL_ERROR;
    }
    if (listObj == NULL) {
	listObj = Tcl_NewObj();
	Tcl_DictObjPut(NULL, queueObj, classObj, listObj);
    } else {
	listObj = Unshared(queueObj, classObj, listObj);
    }
    if (Tcl_ListObjAppendElement(interp, listObj, idObj) != TCL_OK) {
	return TCL_ERROR;
    }
    Tcl_ListObjLength(NULL, listObj, &n);
    if (Tcl_DictObjGet(interp, headObj, classObj, &listObj) != TCL_OK
	    || (listObj != NULL
		&& Tcl_GetIntFromObj(interp, listObj, &head) != TCL_OK)) {
	return TCL_ERROR;
    }
    if (listObj == NULL) {
	head = 0;
	Tcl_DictObjPut(NULL, headObj, classObj, fkPtr->consts[C_ZERO]);
    }
    *morePtr = n - head > 1;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pFarmResults, P2pFarmDispatch, P2pFarmEnqueue --
 *
 *	farmResults, farmDispatch and farmSubmit called from C (the farm's methods in
 *	C, generic/p2pFarmMethods.c), with objv as the commands take it
 *	(objv[0] the command's name) and the farm's variables Jobs, Runs,
 *	Inflight, Batch, Queue and Head reached through handles
 *	(p2pVarHandle.c): vars holds the P2P_FARM_VARS handles, in that
 *	order, kept by the caller. P2pFarmResults takes farmResults's
 *	arguments as values (from the first pair: start 0), the results
 *	as the message's word (read as P2pFarmPlainList or Tcl reads it,
 *	or, a few plain words, in place), and gives next and settled (with
 *	a reference) rather than a list of them, and in *restPtr the
 *	results as a list (with a reference) if some are left, else
 *	NULL.
 *	P2pFarmDispatch's sendPtr and nums: see FarmDispatch. (P2pFarmSubmit
 *	is above.) P2pFarmEnqueue queues the job id of class classObj that
 *	P2pFarmSubmit did not queue.
 *
 * Results:
 *	Those of the commands.
 *
 * Side effects:
 *	Those of the commands.
 *
 *----------------------------------------------------------------------
 */

int
P2pFarmResults(
    Tcl_Interp *interp,
    P2pVarHandle *vars,
    Tcl_Obj *nsObj,
    Tcl_Obj *addrObj,
    Tcl_Obj *messageObj,
    int logOpen,
    Tcl_Obj *escrowsObj,
    int *nextPtr,
    Tcl_Obj **settledPtr,
    Tcl_Obj **restPtr)
{
    PlainWords pw;
    Tcl_Obj *resultsObj = NULL;
    const char *p, *end;
    int length, found = -1, numPairs, code;

    /*
     * A message's string of a few plain words (P2pPlainWord) is read in
     * place: no list made of it, no string for each word.
     */

    Tcl_IncrRefCount(messageObj);
    pw.count = 0;
    if (messageObj->typePtr == NULL && messageObj->bytes != NULL) {
	p = messageObj->bytes;
	end = p + messageObj->length;
	while (pw.count < MAX_WORDS && (found = P2pPlainWord(&p, end,
		&pw.start[pw.count], &pw.length[pw.count])) == 1) {
	    pw.count++;
	}
	if (found == 1) {
	    const char *more;

	    found = P2pPlainWord(&p, end, &more, &length) == 0
		    ? 0 : -1;		/* (More words: not in place.) */
	}
    }
    if (found != 0 || pw.count % 2) {
	resultsObj = P2pFarmPlainList(messageObj);
	if (resultsObj == NULL) {
	    resultsObj = messageObj;
	}
	Tcl_IncrRefCount(resultsObj);
    }
    code = FarmResults(interp, nsObj, vars, addrObj, resultsObj, &pw, 0,
	    logOpen, escrowsObj, nextPtr, settledPtr);

    /*
     * The results as a list where some are left (for the farm's
     * ResultsRest).
     */

    *restPtr = NULL;
    numPairs = pw.count;
    if (code == TCL_OK && resultsObj != NULL
	    && Tcl_ListObjLength(interp, resultsObj, &numPairs) != TCL_OK) {
	Tcl_DecrRefCount(*settledPtr);
	code = TCL_ERROR;
    }
    if (code == TCL_OK && *nextPtr < numPairs) {
	if (resultsObj == NULL) {
	    resultsObj = P2pFarmPlainList(messageObj);
	    Tcl_IncrRefCount(resultsObj);
	}
	*restPtr = resultsObj;
	Tcl_IncrRefCount(resultsObj);
    }
    if (resultsObj != NULL) {
	Tcl_DecrRefCount(resultsObj);
    }
    Tcl_DecrRefCount(messageObj);
    return code;
}

int
P2pFarmDispatch(
    Tcl_Interp *interp,
    P2pVarHandle *vars,
    int objc,
    Tcl_Obj *const objv[],
    Tcl_Obj **sendPtr,
    Tcl_WideInt *nums)
{
    return FarmDispatch(vars, interp, objc, objv, sendPtr, nums);
}

int
P2pFarmEnqueue(
    Tcl_Interp *interp,
    P2pVarHandle *vars,
    Tcl_Obj *classObj,
    Tcl_Obj *idObj)
{
    FarmVars fv;
    int more, code;

    EnterFarm(interp, NULL, vars, &fv);
    code = Enqueue(interp, &fv, classObj, idObj, &more);
    LeaveFarm(&fv);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * JobClass --
 *
 *	A job's class, the list {kind price} (price empty if the job has
 *	none): the one made last if it is the same (kind and price as
 *	strings), else a new one, kept for the next job.
 *
 * Results:
 *	The class (no reference for the caller).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
JobClass(
    Tcl_Obj *kindObj,
    Tcl_Obj *priceObj)		/* NULL if none. */
{
    FarmKeys *fkPtr = Tcl_GetThreadData(&farmKeysKey, sizeof(FarmKeys));
    Tcl_Obj *elems[2], **lastPtr;
    int numLast;
    const char *price = priceObj ? Tcl_GetString(priceObj) : "";

    if (fkPtr->classObj != NULL
	    && Tcl_ListObjGetElements(NULL, fkPtr->classObj, &numLast,
		&lastPtr) == TCL_OK && numLast == 2
	    && strcmp(Tcl_GetString(lastPtr[0]),
		Tcl_GetString(kindObj)) == 0
	    && strcmp(Tcl_GetString(lastPtr[1]), price) == 0) {
	return fkPtr->classObj;
    }
    elems[0] = kindObj;
    elems[1] = priceObj ? priceObj : Tcl_NewObj();
    if (fkPtr->classObj != NULL) {
	Tcl_DecrRefCount(fkPtr->classObj);
    }
    fkPtr->classObj = Tcl_NewListObj(2, elems);
    Tcl_IncrRefCount(fkPtr->classObj);
    return fkPtr->classObj;
}

/*
 *----------------------------------------------------------------------
 *
 * EnterFarm --
 *
 *	Readies the names of the farm's variables for one call: see
 *	FarmVars. (The farm's methods call from its namespace, as
 *	[namespace current]; farm.test also calls from elsewhere; the
 *	farm's methods in C, generic/p2pFarmMethods.c, give the handles
 *	they keep.)
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills *fvPtr, which LeaveFarm empties.
 *
 *----------------------------------------------------------------------
 */

static void
EnterFarm(
    Tcl_Interp *interp,
    Tcl_Obj *nsObj,
    P2pVarHandle *handles,	/* The P2P_FARM_VARS handles, or NULL. */
    FarmVars *fvPtr)
{
    int i;

    fvPtr->keys = KeyTable();
    fvPtr->nsObj = nsObj;
    fvPtr->handles = handles;
    for (i = 0; i < NUM_FARM_KEYS - V_JOBS; i++) {
	fvPtr->names[i] = NULL;
    }
    if (handles != NULL) {
	fvPtr->flags = TCL_GLOBAL_ONLY;
	return;
    }
    fvPtr->flags = strcmp(Tcl_GetCurrentNamespace(interp)->fullName,
	    Tcl_GetString(nsObj)) == 0 ? TCL_NAMESPACE_ONLY : 0;
}

/*
 *----------------------------------------------------------------------
 *
 * FarmGet, FarmSet --
 *
 *	Read and set the farm's variable farmKeyNames[var] (FarmSet: its
 *	element elemObj unless NULL), as Tcl_ObjGetVar2 and
 *	Tcl_ObjSetVar2 do (FarmGet with flags 0 or TCL_LEAVE_ERR_MSG).
 *	FarmVarName gives the name to use.
 *
 * Results:
 *	The value, or NULL (with a message in interp).
 *
 * Side effects:
 *	FarmSet sets the variable (its traces may run).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
FarmVarName(
    FarmVars *fvPtr,
    int var)
{
    Tcl_Obj **namePtr;

    if (fvPtr->flags & TCL_NAMESPACE_ONLY) {
	return fvPtr->keys[var];
    }
    namePtr = &fvPtr->names[var - V_JOBS];
    if (*namePtr == NULL) {
	*namePtr = Tcl_ObjPrintf("%s::%s", Tcl_GetString(fvPtr->nsObj),
		farmKeyNames[var]);
	Tcl_IncrRefCount(*namePtr);
    }
    return *namePtr;
}

static Tcl_Obj *
FarmGet(
    Tcl_Interp *interp,
    FarmVars *fvPtr,
    int var,
    int flags)
{
    if (fvPtr->handles != NULL) {
	return P2pVarHandleGet(interp, &fvPtr->handles[var - V_JOBS], flags);
    }
    return Tcl_ObjGetVar2(interp, FarmVarName(fvPtr, var), NULL,
	    fvPtr->flags | flags);
}

static Tcl_Obj *
FarmSet(
    Tcl_Interp *interp,
    FarmVars *fvPtr,
    int var,
    Tcl_Obj *elemObj,
    Tcl_Obj *valueObj)
{
    if (fvPtr->handles != NULL) {
	return P2pVarHandleSet(interp, &fvPtr->handles[var - V_JOBS],
		valueObj, TCL_LEAVE_ERR_MSG);
    }
    return Tcl_ObjSetVar2(interp, FarmVarName(fvPtr, var), elemObj,
	    valueObj, fvPtr->flags | TCL_LEAVE_ERR_MSG);
}

/*
 *----------------------------------------------------------------------
 *
 * LeaveFarm --
 *
 *	Lets go of the names EnterFarm and FarmVarName made.
 *
 *----------------------------------------------------------------------
 */

static void
LeaveFarm(
    FarmVars *fvPtr)
{
    int i;

    for (i = 0; i < NUM_FARM_KEYS - V_JOBS; i++) {
	if (fvPtr->names[i] != NULL) {
	    Tcl_DecrRefCount(fvPtr->names[i]);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * OwnVar --
 *
 *	The value of the farm's variable farmKeyNames[var], made its own (copied and set again if
 *	shared) so that it can be changed in place.
 *
 * Results:
 *	The value, or NULL with an error message.
 *
 * Side effects:
 *	May set the variable.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
OwnVar(
    Tcl_Interp *interp,
    FarmVars *fvPtr,
    int var)
{
    Tcl_Obj *valueObj = FarmGet(interp, fvPtr, var, TCL_LEAVE_ERR_MSG);
    int size;

    if (valueObj != NULL && Tcl_IsShared(valueObj)) {
	valueObj = FarmSet(interp, fvPtr, var, NULL,
		Tcl_DuplicateObj(valueObj));
    }
    if (valueObj != NULL
	    && Tcl_DictObjSize(interp, valueObj, &size) != TCL_OK) {
	return NULL;
    }
    return valueObj;
}

/*
 *----------------------------------------------------------------------
 *
 * Unshared --
 *
 *	The value valueObj of keyObj in dictObj (which this command may
 *	change), made the dict's own: copied and put back if shared.
 *
 * Results:
 *	The value, unshared.
 *
 * Side effects:
 *	May change dictObj.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
Unshared(
    Tcl_Obj *dictObj,
    Tcl_Obj *keyObj,
    Tcl_Obj *valueObj)
{
    if (Tcl_IsShared(valueObj)) {
	valueObj = Tcl_DuplicateObj(valueObj);
	Tcl_DictObjPut(NULL, dictObj, keyObj, valueObj);
    } else {
	Tcl_InvalidateStringRep(dictObj);
    }
    return valueObj;
}

/*
 *----------------------------------------------------------------------
 *
 * DictAt --
 *
 *	The value of the word farmKeyNames[key] in a dict.
 *
 * Results:
 *	The value, or NULL if there is none (or dictObj is not a dict).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
DictAt(
    Tcl_Obj *const *keys,	/* KeyTable() */
    Tcl_Obj *dictObj,
    int key)
{
    Tcl_Obj *valueObj = NULL;

    if (Tcl_DictObjGet(NULL, dictObj, keys[key], &valueObj) != TCL_OK) {
	return NULL;
    }
    return valueObj;
}

/*
 *----------------------------------------------------------------------
 *
 * RunRid --
 *
 *	The rid of a run in a job's active: the value of rid in the dict
 *	runObj, read without making a dict of the list {rid R sent T}
 *	that farmDispatch makes (any other value is read as a dict).
 *
 * Results:
 *	The rid, or NULL if there is none.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
RunRid(
    Tcl_Obj *const *keys,	/* KeyTable() */
    Tcl_Obj *runObj)
{
    static const Tcl_ObjType *listTypePtr = NULL;
    Tcl_Obj **elems;
    int n;

    if (listTypePtr == NULL) {
	listTypePtr = Tcl_GetObjType("list");
    }
    if (runObj->typePtr == listTypePtr
	    && Tcl_ListObjGetElements(NULL, runObj, &n, &elems) == TCL_OK
	    && n == 4 && strcmp(Tcl_GetString(elems[0]), "rid") == 0
	    && strcmp(Tcl_GetString(elems[2]), "rid") != 0) {
	return elems[1];
    }
    return DictAt(keys, runObj, F_RID);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pFarmNumbered --
 *
 *	A string of prefix, then the character separator (unless 0), then
 *	the number n in decimal: the id of a run, "$id.$seq", or of a job,
 *	"job$n", made without a format string (which cost more than the
 *	rest of recording the run).
 *
 * Results:
 *	A new Tcl_Obj (no reference).
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
P2pFarmNumbered(
    const char *prefix,
    int prefixLength,
    int separator,
    Tcl_WideInt n)
{
    char digits[TCL_INTEGER_SPACE + 2], *p = digits + sizeof(digits);
    char local[64];
    Tcl_WideUInt u = n < 0 ? -(Tcl_WideUInt) n : (Tcl_WideUInt) n;
    int length;
    Tcl_Obj *obj;

    do {
	*--p = (char) ('0' + u % 10);
	u /= 10;
    } while (u != 0);
    if (n < 0) {
	*--p = '-';
    }
    if (separator) {
	*--p = (char) separator;
    }
    length = (int) (digits + sizeof(digits) - p);
    if (prefixLength + length <= (int) sizeof(local)) {
	/* (One copy, into the new object.) */
	memcpy(local, prefix, prefixLength);
	memcpy(local + prefixLength, p, length);
	return Tcl_NewStringObj(local, prefixLength + length);
    }
    obj = Tcl_NewObj();
    Tcl_SetObjLength(obj, prefixLength + length);
    memcpy(Tcl_GetString(obj), prefix, prefixLength);
    memcpy(Tcl_GetString(obj) + prefixLength, p, length);
    return obj;
}

/*
 *----------------------------------------------------------------------
 *
 * PlainDict --
 *
 *	The dict that a string is, when it is a list of an even number of
 *	plain words (P2pPlainWord). A key given twice keeps its
 *	first place and its last value, as in Tcl's own dict. The keys are
 *	those of the dict made last where they are the same, in the same
 *	place (a worker's results all have the same keys). *sameKeysPtr
 *	says whether all were (the same keys in the same order): what is
 *	known of those keys (plainComplete) then holds for this dict too;
 *	else it is not known any more.
 *
 * Results:
 *	A new dict (no reference), or NULL if the string is not so.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
PlainDict(
    const char *p,		/* The string's characters ... */
    int length,			/* ... and their number. */
    int *sameKeysPtr)
{
    FarmKeys *fkPtr = Tcl_GetThreadData(&farmKeysKey, sizeof(FarmKeys));
    int n, i = 0, keyLength, found;
    const char *end = p + length, *start, *key;
    Tcl_Obj *dictObj = Tcl_NewDictObj(), *keyObj = NULL, *wordObj;
    Tcl_Obj **lastPtr;
    int same = 1;

    while ((found = P2pPlainWord(&p, end, &start, &n)) == 1) {
	if (keyObj != NULL) {
	    wordObj = n ? Tcl_NewStringObj(start, n)
		    : fkPtr->consts[C_EMPTY];
	    Tcl_DictObjPut(NULL, dictObj, keyObj, wordObj);
	    Tcl_DecrRefCount(keyObj);
	    keyObj = NULL;
	    continue;
	}
	if (i < PLAIN_KEYS) {
	    /*
	     * A key: the one in that place last time, if the same.
	     */

	    lastPtr = &fkPtr->plainKeys[i++];
	    if (*lastPtr != NULL) {
		key = Tcl_GetStringFromObj(*lastPtr, &keyLength);
		if (keyLength != n || memcmp(key, start, n) != 0) {
		    Tcl_DecrRefCount(*lastPtr);
		    *lastPtr = NULL;
		}
	    }
	    if (*lastPtr == NULL) {
		same = 0;
		*lastPtr = Tcl_NewStringObj(start, n);
		Tcl_IncrRefCount(*lastPtr);
	    }
	    keyObj = *lastPtr;
	} else {
	    same = 0;
	    keyObj = Tcl_NewStringObj(start, n);
	}
	Tcl_IncrRefCount(keyObj);
    }
    if (i != fkPtr->plainCount) {
	same = 0;
	fkPtr->plainCount = i;
    }
    if (!same) {
	fkPtr->plainComplete = -1;
    }
    *sameKeysPtr = same;
    if (keyObj != NULL) {
	Tcl_DecrRefCount(keyObj);
    }
    if (found < 0 || keyObj != NULL) {
	Tcl_IncrRefCount(dictObj);
	Tcl_DecrRefCount(dictObj);
	return NULL;
    }
    return dictObj;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pFarmPlainList --
 *
 *	The list that the string of stringObj (a string not parsed yet,
 *	such as the results of a `results` message) is, when it is made of
 *	plain words (P2pPlainList): the farm's OnResults hands it to
 *	farmResults and ResultsRest in place of the message's word, the
 *	same value, not scanned again.
 *
 * Results:
 *	A new list (no reference), or NULL if stringObj is not a pure
 *	string or not so (Tcl parses it then).
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
P2pFarmPlainList(
    Tcl_Obj *stringObj)
{
    if (stringObj->typePtr != NULL || stringObj->bytes == NULL) {
	return NULL;
    }
    return P2pPlainList(stringObj);
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

/*
 *----------------------------------------------------------------------
 *
 * KeyTable --
 *
 *	The words farmKeyNames as Tcl_Objs of this thread, by index (no
 *	reference for the caller). Each command asks once per call (a
 *	thread data lookup per word cost more than the dict lookup).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *const *
KeyTable(void)
{
    FarmKeys *fkPtr = Tcl_GetThreadData(&farmKeysKey, sizeof(FarmKeys));
    int i;

    if (!fkPtr->made) {
	fkPtr->made = 1;
	Tcl_CreateThreadExitHandler(FarmKeysExitProc, NULL);
	for (i = 0; i < NUM_FARM_KEYS; i++) {
	    fkPtr->objs[i] = Tcl_NewStringObj(farmKeyNames[i], -1);
	    Tcl_IncrRefCount(fkPtr->objs[i]);
	}
	for (i = 0; i < NUM_CONSTS; i++) {
	    fkPtr->consts[i] = i == C_EMPTY ? Tcl_NewObj()
		    : Tcl_NewIntObj(constValues[i]);
	    Tcl_IncrRefCount(fkPtr->consts[i]);
	}
    }
    return fkPtr->objs;
}

/*
 *----------------------------------------------------------------------
 *
 * FarmKeysExitProc --
 *
 *	At the exit of a thread (or of the process): lets go of its words.
 *
 *----------------------------------------------------------------------
 */

static void
FarmKeysExitProc(
    ClientData clientData)
{
    FarmKeys *fkPtr = Tcl_GetThreadData(&farmKeysKey, sizeof(FarmKeys));
    int i;

    (void) clientData;
    for (i = 0; i < NUM_FARM_KEYS; i++) {
	if (fkPtr->objs[i] != NULL) {
	    Tcl_DecrRefCount(fkPtr->objs[i]);
	    fkPtr->objs[i] = NULL;
	}
    }
    for (i = 0; i < NUM_CONSTS; i++) {
	if (fkPtr->consts[i] != NULL) {
	    Tcl_DecrRefCount(fkPtr->consts[i]);
	    fkPtr->consts[i] = NULL;
	}
    }
    if (fkPtr->classObj != NULL) {
	Tcl_DecrRefCount(fkPtr->classObj);
	fkPtr->classObj = NULL;
    }
    for (i = 0; i < PLAIN_KEYS; i++) {
	if (fkPtr->plainKeys[i] != NULL) {
	    Tcl_DecrRefCount(fkPtr->plainKeys[i]);
	    fkPtr->plainKeys[i] = NULL;
	}
    }
    fkPtr->plainCount = 0;
    fkPtr->plainComplete = -1;
    fkPtr->made = 0;
}
