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
 *	    ::p2p::Internal::farmResults ns addr results start
 *		-> {next settled}
 *
 *	ns is the farm object's namespace (its variables Jobs, Runs,
 *	Inflight, Escrows and the array Waits), addr the worker's address,
 *	results the message's list {rid result ...}, start the index of
 *	the first rid to look at. From there, in order, each pair is
 *	either
 *	  - ignored, as farm.tcl ignores it: a run unknown on that worker
 *	    (or no longer its), or a result without a status;
 *	  - forgotten: the run ends (Runs, the job's active, Inflight) but
 *	    its job is already settled;
 *	  - settled: a job of redundancy 1, without -command, no escrow
 *	    for the run, no log file open, and the result of a worker (it
 *	    has every key of a result): the run ends and the job is done,
 *	    with that result plus id, reissues and attempts, and
 *	    Waits($id) is set to done;
 *	or it needs the farm: the command stops there, changing nothing
 *	for that pair, and returns its index as next (the length of
 *	results when all were done). settled is 1 when a job was settled.
 */

#include "p2pjobsInt.h"

/*
 * The words this file looks up in dicts, made once per thread.
 */

enum {
    F_STATUS, F_CANCELLED, F_ACTIVE, F_RID, F_STATE, F_DONE, F_FAILED,
    F_K, F_COMMAND, F_RESULT, F_ID, F_REISSUES, F_ATTEMPTS, F_WORKER,
    F_OUTPUTS, F_SIGNAL, F_EXIT, F_STDERR, F_STDOUT, F_ERROR,
    NUM_FARM_KEYS
};

static const char *const farmKeyNames[NUM_FARM_KEYS] = {
    "status", "cancelled", "active", "rid", "state", "done", "failed",
    "k", "command", "result", "id", "reissues", "attempts", "worker",
    "outputs", "signal", "exit", "stderr", "stdout", "error"
};

typedef struct FarmKeys {
    int made;			/* The exit handler is registered. */
    Tcl_Obj *objs[NUM_FARM_KEYS];
} FarmKeys;

static Tcl_ThreadDataKey farmKeysKey;

static int	FarmResultsObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static Tcl_Obj *FarmKey(int key);
static void	FarmKeysExitProc(ClientData clientData);
static Tcl_Obj *DictAt(Tcl_Obj *dictObj, int key);
static int	IsFinal(Tcl_Obj *stateObj);
static Tcl_Obj *OwnVar(Tcl_Interp *interp, Tcl_Obj *varObj);
static Tcl_Obj *Unshared(Tcl_Obj *dictObj, Tcl_Obj *keyObj,
		    Tcl_Obj *valueObj);

/*
 *----------------------------------------------------------------------
 *
 * P2pFarmInit --
 *
 *	Makes ::p2p::Internal::farmResults.
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
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * FarmResultsObjCmd --
 *
 *	::p2p::Internal::farmResults ns addr results start: see the
 *	header of this file.
 *
 * Results:
 *	TCL_OK with {next settled}, or TCL_ERROR (bad arguments, or a
 *	variable of the farm that is missing or not a dict).
 *
 * Side effects:
 *	Changes the farm's variables Jobs, Runs, Inflight and Waits.
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
    Tcl_Obj **pairs, *jobsVar, *runsVar, *inflightVar, *escrowsVar;
    Tcl_Obj *waitsVar, *jobsObj, *runsObj, *inflightObj, *escrowsObj, *openObj, *resultObj;
    Tcl_Obj *addrObj, *doneObj, *settledObj, **settledIds, *out[2];
    const char *ns;
    int numPairs, start, i, j, logOpen, numEscrows = 0, numSettled = 0;
    int code = TCL_OK;
    static const int workerKeys[] = {
	F_WORKER, F_OUTPUTS, F_SIGNAL, F_EXIT, F_STDERR, F_STDOUT,
	F_ERROR, F_RESULT
    };

    (void) clientData;
    if (objc != 5) {
	Tcl_WrongNumArgs(interp, 1, objv, "ns addr results start");
	return TCL_ERROR;
    }
    if (Tcl_ListObjGetElements(interp, objv[3], &numPairs,
	    &pairs) != TCL_OK
	    || Tcl_GetIntFromObj(interp, objv[4], &start) != TCL_OK) {
	return TCL_ERROR;
    }
    if (numPairs % 2) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(
		"bad results: must be a list of rid result ...", -1));
	Tcl_SetErrorCode(interp, "P2P", "JOB", "BADRESULTS", NULL);
	return TCL_ERROR;
    }
    if (start < 0) {
	start = 0;
    }
    addrObj = objv[2];
    doneObj = FarmKey(F_DONE);

    /*
     * The farm's variables, by their qualified names. The list of pairs
     * is held for the whole loop: its elements are its own.
     */

    ns = Tcl_GetString(objv[1]);
    jobsVar = Tcl_ObjPrintf("%s::Jobs", ns);
    runsVar = Tcl_ObjPrintf("%s::Runs", ns);
    inflightVar = Tcl_ObjPrintf("%s::Inflight", ns);
    escrowsVar = Tcl_ObjPrintf("%s::Escrows", ns);
    waitsVar = Tcl_ObjPrintf("%s::Waits", ns);
    Tcl_IncrRefCount(jobsVar);
    Tcl_IncrRefCount(runsVar);
    Tcl_IncrRefCount(inflightVar);
    Tcl_IncrRefCount(escrowsVar);
    Tcl_IncrRefCount(waitsVar);
    Tcl_IncrRefCount(objv[3]);

    openObj = Tcl_GetVar2Ex(interp, "::p2p::log::Open", NULL,
	    TCL_GLOBAL_ONLY);
    if (openObj == NULL
	    || Tcl_GetBooleanFromObj(NULL, openObj, &logOpen) != TCL_OK) {
	logOpen = 1;
    }
    escrowsObj = Tcl_ObjGetVar2(interp, escrowsVar, NULL, 0);
    if (escrowsObj != NULL
	    && Tcl_DictObjSize(NULL, escrowsObj, &numEscrows) != TCL_OK) {
	numEscrows = 1;			/* Not a dict: ask the farm. */
    }

    /*
     * Jobs, Runs and Inflight are changed in place, as `dict set` does:
     * each is made its variable's own value first. No script runs
     * until the end (Waits is set last), so they stay so.
     */

    if ((jobsObj = OwnVar(interp, jobsVar)) == NULL
	    || (runsObj = OwnVar(interp, runsVar)) == NULL
	    || (inflightObj = OwnVar(interp, inflightVar)) == NULL) {
	code = TCL_ERROR;
	goto done;
    }
    settledObj = Tcl_NewObj();
    Tcl_IncrRefCount(settledObj);

    for (i = start; i < numPairs; i += 2) {
	Tcl_Obj *ridObj = pairs[i], *idObj, *jobObj, *activeObj, *runObj;
	Tcl_Obj *valueObj, *statusObj, *stateObj, *countObj;
	const char *rid, *dot;
	int ridLen, k, n, final, complete;

	resultObj = pairs[i + 1];
	rid = Tcl_GetStringFromObj(ridObj, &ridLen);
	dot = strchr(rid, '.');
	idObj = Tcl_NewStringObj(rid, dot ? (int) (dot - rid) : ridLen);
	Tcl_IncrRefCount(idObj);

	/*
	 * Not a run of ours on that worker, or no status: ignored.
	 */

	if (Tcl_DictObjGet(NULL, jobsObj, idObj, &jobObj) != TCL_OK
		|| jobObj == NULL
		|| (activeObj = DictAt(jobObj, F_ACTIVE)) == NULL
		|| Tcl_DictObjGet(NULL, activeObj, addrObj,
		    &runObj) != TCL_OK || runObj == NULL
		|| (valueObj = DictAt(runObj, F_RID)) == NULL
		|| strcmp(Tcl_GetString(valueObj), rid) != 0
		|| Tcl_DictObjGet(NULL, resultObj, FarmKey(F_STATUS),
		    &statusObj) != TCL_OK || statusObj == NULL) {
	    Tcl_DecrRefCount(idObj);
	    continue;
	}
	if ((stateObj = DictAt(jobObj, F_STATE)) == NULL) {
	    Tcl_DecrRefCount(idObj);
	    break;
	}
	final = IsFinal(stateObj);
	if (!final) {
	    /*
	     * What the farm must decide: a cancelled run (re-issued), a
	     * job of several workers (votes), an escrow to pay, a
	     * -command to call, a log event to write, a result to
	     * complete.
	     */

	    complete = 1;
	    for (j = 0; j < (int) (sizeof(workerKeys) / sizeof(int)); j++) {
		if (DictAt(resultObj, workerKeys[j]) == NULL) {
		    complete = 0;
		    break;
		}
	    }
	    if (!complete || logOpen
		    || strcmp(Tcl_GetString(statusObj), "cancelled") == 0
		    || (valueObj = DictAt(jobObj, F_K)) == NULL
		    || Tcl_GetIntFromObj(NULL, valueObj, &k) != TCL_OK
		    || k != 1
		    || (valueObj = DictAt(jobObj, F_COMMAND)) == NULL
		    || Tcl_ListObjLength(NULL, valueObj, &n) != TCL_OK
		    || n != 0) {
		Tcl_DecrRefCount(idObj);
		break;
	    }
	    if (numEscrows > 0) {
		if (escrowsObj == NULL || Tcl_DictObjGet(NULL, escrowsObj,
			ridObj, &valueObj) != TCL_OK || valueObj != NULL) {
		    Tcl_DecrRefCount(idObj);
		    break;
		}
	    }
	}

	/*
	 * The run ends: dict unset Runs $rid; dict unset Jobs $id active
	 * $addr; the worker's count in Inflight falls.
	 */

	Tcl_DictObjRemove(NULL, runsObj, ridObj);
	jobObj = Unshared(jobsObj, idObj, jobObj);
	activeObj = Unshared(jobObj, FarmKey(F_ACTIVE),
		DictAt(jobObj, F_ACTIVE));
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
	    Tcl_DecrRefCount(idObj);
	    continue;
	}

	/*
	 * Settled: the result with id, reissues and attempts; the job
	 * done; Waits($id) set (what a `wait` waits for).
	 */

	resultObj = Tcl_DuplicateObj(resultObj);	/* The list's is its own. */
	Tcl_IncrRefCount(resultObj);
	Tcl_DictObjPut(NULL, resultObj, FarmKey(F_ID), idObj);
	valueObj = DictAt(jobObj, F_REISSUES);
	Tcl_DictObjPut(NULL, resultObj, FarmKey(F_REISSUES),
		valueObj ? valueObj : Tcl_NewIntObj(0));
	valueObj = DictAt(jobObj, F_ATTEMPTS);
	Tcl_DictObjPut(NULL, resultObj, FarmKey(F_ATTEMPTS),
		valueObj ? valueObj : Tcl_NewObj());
	Tcl_DictObjPut(NULL, jobObj, FarmKey(F_STATE), doneObj);
	Tcl_DictObjPut(NULL, jobObj, FarmKey(F_RESULT), resultObj);
	Tcl_DecrRefCount(resultObj);
	Tcl_InvalidateStringRep(jobsObj);
	Tcl_ListObjAppendElement(NULL, settledObj, idObj);
	Tcl_DecrRefCount(idObj);
    }

    /*
     * Waits($id) of each job settled: what a `wait` waits for (its trace
     * may run a script: the farm's variables are final by now).
     */

    Tcl_ListObjGetElements(NULL, settledObj, &numSettled, &settledIds);
    for (j = 0; j < numSettled; j++) {
	if (Tcl_ObjSetVar2(interp, waitsVar, settledIds[j], doneObj,
		TCL_LEAVE_ERR_MSG) == NULL) {
	    code = TCL_ERROR;
	    break;
	}
    }

    if (code == TCL_OK) {
	out[0] = Tcl_NewIntObj(i < numPairs ? i : numPairs);
	out[1] = Tcl_NewIntObj(numSettled > 0);
	Tcl_SetObjResult(interp, Tcl_NewListObj(2, out));
    }
    Tcl_DecrRefCount(settledObj);

  done:
    Tcl_DecrRefCount(objv[3]);
    Tcl_DecrRefCount(jobsVar);
    Tcl_DecrRefCount(runsVar);
    Tcl_DecrRefCount(inflightVar);
    Tcl_DecrRefCount(escrowsVar);
    Tcl_DecrRefCount(waitsVar);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * OwnVar --
 *
 *	The value of a variable, made its own (copied and set again if
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
    Tcl_Obj *varObj)
{
    Tcl_Obj *valueObj = Tcl_ObjGetVar2(interp, varObj, NULL,
	    TCL_LEAVE_ERR_MSG);
    int size;

    if (valueObj != NULL && Tcl_IsShared(valueObj)) {
	valueObj = Tcl_ObjSetVar2(interp, varObj, NULL,
		Tcl_DuplicateObj(valueObj), TCL_LEAVE_ERR_MSG);
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
    Tcl_Obj *dictObj,
    int key)
{
    Tcl_Obj *valueObj = NULL;

    if (Tcl_DictObjGet(NULL, dictObj, FarmKey(key), &valueObj) != TCL_OK) {
	return NULL;
    }
    return valueObj;
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
 * FarmKey --
 *
 *	The word farmKeyNames[key] as a Tcl_Obj of this thread (no
 *	reference for the caller).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
FarmKey(
    int key)
{
    FarmKeys *fkPtr = Tcl_GetThreadData(&farmKeysKey, sizeof(FarmKeys));

    if (fkPtr->objs[key] == NULL) {
	if (!fkPtr->made) {
	    fkPtr->made = 1;
	    Tcl_CreateThreadExitHandler(FarmKeysExitProc, NULL);
	}
	fkPtr->objs[key] = Tcl_NewStringObj(farmKeyNames[key], -1);
	Tcl_IncrRefCount(fkPtr->objs[key]);
    }
    return fkPtr->objs[key];
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
    fkPtr->made = 0;
}
