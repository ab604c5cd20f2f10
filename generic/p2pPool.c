/*
 * p2pPool.c --
 *
 *	The pool of job interpreters of p2p::sandbox (library/sandbox.tcl),
 *	in C: which interpreter a job gets (an idle one of its key, or a new
 *	one made by the sandbox's Tcl method Make), running its jobs
 *	(generic/p2pJobRun.c), and whether the interpreter goes back to the
 *	pool or is deleted. A run of a lone job is one C call from the
 *	sandbox's method, or from the worker's (P2pPoolRuns), without a
 *	Tcl method in between.
 *
 *	The methods of p2p::sandbox made here (::p2p::Internal::poolMethods
 *	adds them to the class):
 *
 *	    $sb runs key specs ?option value ...?
 *	    $sb stats
 *	    my PoolInit size commands time output
 *	    my PoolClose
 *
 *	The policy is the one sandbox.tcl describes (its header): a pooled
 *	interpreter belongs to one key for life, the pool keeps at most
 *	-size idle interpreters (the least recently used goes first), an
 *	interpreter whose job left it unusable, or whose key is empty, is
 *	deleted after its job.
 */

#include "p2pjobsInt.h"

/*
 * Pool --
 *
 *	What a sandbox keeps in C: its metadata (poolMetaType). Made by
 *	PoolInit (the sandbox's constructor); emptied by PoolClose (its
 *	destructor), which deletes the interpreters; freed, through
 *	Tcl_EventuallyFree, when the object is deleted and no runs holds it
 *	(Tcl_Preserve) any more.
 */

typedef struct PoolEntry {
    Tcl_Obj *nameObj;		/* The interpreter's path (a reference). */
    Tcl_Obj *keyObj;		/* Its key (a reference). */
} PoolEntry;

typedef struct Pool {
    int closed;			/* PoolClose ran: no interpreter left. */
    int size;			/* Most idle interpreters, all keys. */
    Tcl_Obj *defaults[6];	/* -commands n -time ms -output chars. */
    Tcl_Obj *makeObj;		/* {OBJNS::my Make} */
    PoolEntry *idle;		/* Least recently used first. */
    int numIdle, maxIdle;
    PoolEntry *busy;		/* Running a job (runs can nest: a progress
				 * prefix may run jobs too). */
    int numBusy, maxBusy;
    Tcl_WideInt created, reused, discarded;
} Pool;

static void	PoolMetaDelete(ClientData clientData);
static void	PoolFree(char *blockPtr);
static Pool *	PoolOf(Tcl_Interp *interp, Tcl_Object object);
static void	EntryAdd(PoolEntry **entriesPtr, int *numPtr, int *maxPtr,
		    Tcl_Obj *nameObj, Tcl_Obj *keyObj);
static void	EntryRemove(PoolEntry *entries, int *numPtr, int at);
static int	NonEmpty(Tcl_Obj *objPtr);
static void	DeleteChild(Tcl_Interp *interp, Tcl_Obj *nameObj);
static void	Discard(Tcl_Interp *interp, Pool *poolPtr, Tcl_Obj *nameObj);
static Tcl_Obj *Fresh(Tcl_Interp *interp, Pool *poolPtr, Tcl_Obj *keyObj);
static void	AppendResults(Tcl_Obj **resultsPtr, int numDone,
		    Tcl_Obj *const done[]);
static Tcl_MethodCallProc RunsMethod, StatsMethod, PoolInitMethod,
		    PoolCloseMethod;

static const Tcl_ObjectMetadataType poolMetaType = {
    TCL_OO_METADATA_VERSION_CURRENT, "p2p::sandbox pool", PoolMetaDelete,
    P2pMetaCloneNone
};

static const Tcl_MethodType poolMethods[] = {
    {TCL_OO_METHOD_VERSION_CURRENT, "runs", RunsMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "stats", StatsMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "PoolInit", PoolInitMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "PoolClose", PoolCloseMethod, NULL,
	NULL},
    {0, NULL, NULL, NULL, NULL}
};

/*
 *----------------------------------------------------------------------
 *
 * P2pPoolInit --
 *
 *	Makes ::p2p::Internal::poolMethods.
 *
 *----------------------------------------------------------------------
 */

int
P2pPoolInit(
    Tcl_Interp *interp)
{
    Tcl_CreateObjCommand(interp, "::p2p::Internal::poolMethods",
	    P2pClassMethodsObjCmd, (ClientData) poolMethods, NULL);
    return TCL_OK;
}

/*
 * The metadata's life.
 */

static void
PoolMetaDelete(
    ClientData clientData)
{
    Pool *poolPtr = (Pool *) clientData;
    int i;

    /*
     * (PoolClose, from the destructor, deleted the interpreters; if it did
     * not run, as when the whole interpreter goes, only references are
     * let go of here.)
     */

    poolPtr->closed = 1;
    for (i = 0; i < poolPtr->numIdle; i++) {
	Tcl_DecrRefCount(poolPtr->idle[i].nameObj);
	Tcl_DecrRefCount(poolPtr->idle[i].keyObj);
    }
    poolPtr->numIdle = 0;
    for (i = 0; i < poolPtr->numBusy; i++) {
	Tcl_DecrRefCount(poolPtr->busy[i].nameObj);
	Tcl_DecrRefCount(poolPtr->busy[i].keyObj);
    }
    poolPtr->numBusy = 0;
    Tcl_EventuallyFree(poolPtr, PoolFree);
}

static void
PoolFree(
    char *blockPtr)
{
    Pool *poolPtr = (Pool *) blockPtr;
    int i;

    for (i = 0; i < 6; i++) {
	Tcl_DecrRefCount(poolPtr->defaults[i]);
    }
    Tcl_DecrRefCount(poolPtr->makeObj);
    if (poolPtr->idle != NULL) {
	ckfree(poolPtr->idle);
    }
    if (poolPtr->busy != NULL) {
	ckfree(poolPtr->busy);
    }
    ckfree(poolPtr);
}

/*
 * PoolOf --
 *	The pool of a sandbox object, or NULL (with a message) if it has
 *	none.
 */

static Pool *
PoolOf(
    Tcl_Interp *interp,
    Tcl_Object object)
{
    Pool *poolPtr = Tcl_ObjectGetMetadata(object, &poolMetaType);

    if (poolPtr == NULL && interp != NULL) {
	P2pError(interp, "P2P SANDBOX NOPOOL", "object \"%s\" has no pool",
		Tcl_GetString(Tcl_GetObjectName(interp, object)));
    }
    return poolPtr;
}

/*
 * EntryAdd, EntryRemove, P2pSameString --
 *	An entry at the end of a list of entries (taking references), and
 *	the removal of one (whose references go to the caller). Whether two
 *	values have the same string (keys, names; the worker's lone run
 *	compares its words so too).
 */

static void
EntryAdd(
    PoolEntry **entriesPtr,
    int *numPtr,
    int *maxPtr,
    Tcl_Obj *nameObj,
    Tcl_Obj *keyObj)
{
    if (*numPtr == *maxPtr) {
	*maxPtr = *maxPtr ? 2 * *maxPtr : 8;
	*entriesPtr = ckrealloc(*entriesPtr, *maxPtr * sizeof(PoolEntry));
    }
    Tcl_IncrRefCount(nameObj);
    Tcl_IncrRefCount(keyObj);
    (*entriesPtr)[*numPtr].nameObj = nameObj;
    (*entriesPtr)[*numPtr].keyObj = keyObj;
    (*numPtr)++;
}

static void
EntryRemove(
    PoolEntry *entries,
    int *numPtr,
    int at)
{
    (*numPtr)--;
    memmove(entries + at, entries + at + 1,
	    (*numPtr - at) * sizeof(PoolEntry));
}

int
P2pSameString(
    Tcl_Obj *aObj,
    Tcl_Obj *bObj)
{
    int aLen, bLen;
    const char *a, *b;

    if (aObj == bObj) {
	return 1;
    }
    a = Tcl_GetStringFromObj(aObj, &aLen);
    b = Tcl_GetStringFromObj(bObj, &bLen);
    return aLen == bLen && memcmp(a, b, aLen) == 0;
}

static int
NonEmpty(
    Tcl_Obj *objPtr)
{
    int len;

    Tcl_GetStringFromObj(objPtr, &len);
    return len > 0;
}

/*
 * DeleteChild --
 *	`catch {interp delete NAME}`, the interpreter's result kept.
 */

static void
DeleteChild(
    Tcl_Interp *interp,
    Tcl_Obj *nameObj)
{
    Tcl_InterpState state = Tcl_SaveInterpState(interp, TCL_OK);
    Tcl_Obj *words[3];
    int i;

    words[0] = Tcl_NewStringObj("::interp", -1);
    words[1] = Tcl_NewStringObj("delete", -1);
    words[2] = nameObj;
    for (i = 0; i < 3; i++) {
	Tcl_IncrRefCount(words[i]);
    }
    Tcl_EvalObjv(interp, 3, words, TCL_EVAL_GLOBAL);
    for (i = 0; i < 3; i++) {
	Tcl_DecrRefCount(words[i]);
    }
    Tcl_RestoreInterpState(interp, state);
}

/*
 * Discard --
 *	Deletes the interpreter nameObj (idle or not) and counts it.
 */

static void
Discard(
    Tcl_Interp *interp,
    Pool *poolPtr,
    Tcl_Obj *nameObj)
{
    int i;

    Tcl_IncrRefCount(nameObj);
    for (i = 0; i < poolPtr->numIdle; i++) {
	if (P2pSameString(poolPtr->idle[i].nameObj, nameObj)) {
	    Tcl_Obj *keyObj = poolPtr->idle[i].keyObj;

	    Tcl_DecrRefCount(poolPtr->idle[i].nameObj);
	    EntryRemove(poolPtr->idle, &poolPtr->numIdle, i);
	    Tcl_DecrRefCount(keyObj);
	    break;
	}
    }
    DeleteChild(interp, nameObj);
    Tcl_DecrRefCount(nameObj);
    poolPtr->discarded++;
}

/*
 * Fresh --
 *	A new interpreter for a job of keyObj (its name, with a reference
 *	for the caller), or NULL with the error of Make. When the pool is
 *	full, a job of a key makes room: the least recently used idle
 *	interpreter goes.
 */

static Tcl_Obj *
Fresh(
    Tcl_Interp *interp,
    Pool *poolPtr,
    Tcl_Obj *keyObj)
{
    Tcl_Obj *nameObj, **words;
    int n;

    if (NonEmpty(keyObj)) {
	while (poolPtr->numIdle > 0 && poolPtr->numIdle >= poolPtr->size) {
	    Discard(interp, poolPtr, poolPtr->idle[0].nameObj);
	}
    }
    Tcl_ListObjGetElements(NULL, poolPtr->makeObj, &n, &words);
    if (Tcl_EvalObjv(interp, n, words, 0) != TCL_OK) {
	return NULL;
    }
    nameObj = Tcl_GetObjResult(interp);
    Tcl_IncrRefCount(nameObj);
    Tcl_ResetResult(interp);
    poolPtr->created++;
    return nameObj;
}

/*
 * AppendResults --
 *	Appends done to the list *resultsPtr (a reference, made if NULL; an
 *	unshared copy if it was shared).
 */

static void
AppendResults(
    Tcl_Obj **resultsPtr,
    int numDone,
    Tcl_Obj *const done[])
{
    Tcl_Obj *resultsObj = *resultsPtr;

    if (resultsObj == NULL) {
	resultsObj = Tcl_NewListObj(0, NULL);
	Tcl_IncrRefCount(resultsObj);
    } else if (Tcl_IsShared(resultsObj)) {
	Tcl_Obj *copyObj = Tcl_DuplicateObj(resultsObj);

	Tcl_DecrRefCount(resultsObj);
	resultsObj = copyObj;
	Tcl_IncrRefCount(resultsObj);
    }
    Tcl_ListObjReplace(NULL, resultsObj, INT_MAX, 0, numDone, done);
    *resultsPtr = resultsObj;
}

/*
 *----------------------------------------------------------------------
 *
 * PoolRuns --
 *
 *	The sandbox object's runs (see RunsMethod), the options given as
 *	jobRun takes them (optv, without -tags; tagsObj or NULL), already
 *	checked.
 *
 * Results:
 *	TCL_OK with the list of results as interp's result, or TCL_ERROR.
 *
 * Side effects:
 *	Runs the jobs; makes and deletes interpreters.
 *
 *----------------------------------------------------------------------
 */

static int
PoolRuns(
    Tcl_Interp *interp,
    Pool *poolPtr,
    Tcl_Obj *keyObj,
    Tcl_Obj *specsObj,
    int optc,
    Tcl_Obj *const optv[],
    Tcl_Obj *tagsObj)
{
    Tcl_Obj **specs, *resultsObj = NULL, *nameObj, *batchObj, *doneObj;
    Tcl_Obj *restTagsObj = NULL, **tags = NULL, **done;
    int numSpecs, numTags = 0, at = 0, fresh, clean, numDone, i, code;
    int keyed = NonEmpty(keyObj);

    if (Tcl_ListObjGetElements(interp, specsObj, &numSpecs, &specs)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    if (tagsObj != NULL && Tcl_ListObjGetElements(interp, tagsObj, &numTags,
	    &tags) != TCL_OK) {
	return TCL_ERROR;
    }
    Tcl_IncrRefCount(specsObj);
    Tcl_IncrRefCount(keyObj);
    if (tagsObj != NULL) {
	Tcl_IncrRefCount(tagsObj);
    }
    Tcl_Preserve(poolPtr);
    code = TCL_OK;
    while (at < numSpecs) {
	/*
	 * (The lists again: a job's progress prefix may have changed their
	 * representation.)
	 */

	Tcl_ListObjGetElements(NULL, specsObj, &numSpecs, &specs);
	if (tagsObj != NULL) {
	    Tcl_ListObjGetElements(NULL, tagsObj, &numTags, &tags);
	}

	/*
	 * An idle interpreter of this key, or a new one.
	 */

	nameObj = NULL;
	fresh = 0;
	if (keyed) {
	    for (i = 0; i < poolPtr->numIdle; i++) {
		if (P2pSameString(poolPtr->idle[i].keyObj, keyObj)) {
		    nameObj = poolPtr->idle[i].nameObj;
		    Tcl_DecrRefCount(poolPtr->idle[i].keyObj);
		    EntryRemove(poolPtr->idle, &poolPtr->numIdle, i);
		    break;
		}
	    }
	}
	if (nameObj == NULL) {
	    nameObj = Fresh(interp, poolPtr, keyObj);
	    if (nameObj == NULL) {
		code = TCL_ERROR;
		break;
	    }
	    fresh = 1;
	}
	EntryAdd(&poolPtr->busy, &poolPtr->numBusy, &poolPtr->maxBusy,
		nameObj, keyObj);

	/*
	 * Its jobs: all that are left (one if it has no key), with their
	 * tags.
	 */

	if (at == 0 && (keyed || numSpecs == 1)) {
	    batchObj = specsObj;
	} else {
	    batchObj = Tcl_NewListObj(keyed ? numSpecs - at : 1, specs + at);
	}
	if (tagsObj != NULL && at > 0) {
	    restTagsObj = Tcl_NewListObj(at < numTags ? numTags - at : 0,
		    tags + at);
	} else {
	    restTagsObj = tagsObj;
	}
	Tcl_IncrRefCount(batchObj);
	if (restTagsObj != NULL) {
	    Tcl_IncrRefCount(restTagsObj);
	}
	code = P2pJobRunIn(interp, nameObj, batchObj, optc, optv,
		restTagsObj, &clean, &doneObj);
	Tcl_DecrRefCount(batchObj);
	if (restTagsObj != NULL) {
	    Tcl_DecrRefCount(restTagsObj);
	}
	if (code != TCL_OK) {
	    /* (Busy until the sandbox goes, as the Tcl sandbox left it.) */
	    Tcl_DecrRefCount(nameObj);
	    break;
	}
	Tcl_IncrRefCount(doneObj);
	Tcl_ListObjGetElements(NULL, doneObj, &numDone, &done);

	if (poolPtr->closed) {
	    /*
	     * The sandbox was destroyed meanwhile (by a progress callback):
	     * its interpreters are gone already.
	     */

	    Tcl_Obj *words[4];

	    AppendResults(&resultsObj, numDone, done);
	    Tcl_ListObjGetElements(NULL, specsObj, &numSpecs, &specs);
	    words[0] = Tcl_NewStringObj("::p2p::Internal::sandboxInterrupted",
		    -1);
	    words[1] = resultsObj;
	    words[2] = Tcl_NewListObj(numSpecs - at - numDone,
		    specs + at + numDone);
	    words[3] = Tcl_NewListObj(optc, optv);
	    for (i = 0; i < 4; i++) {
		Tcl_IncrRefCount(words[i]);
	    }
	    code = Tcl_EvalObjv(interp, 4, words, TCL_EVAL_GLOBAL);
	    for (i = 0; i < 4; i++) {
		Tcl_DecrRefCount(words[i]);
	    }
	    Tcl_DecrRefCount(doneObj);
	    Tcl_DecrRefCount(nameObj);
	    Tcl_DecrRefCount(resultsObj);
	    resultsObj = NULL;
	    goto done;
	}
	for (i = poolPtr->numBusy - 1; i >= 0; i--) {
	    if (poolPtr->busy[i].nameObj == nameObj) {
		Tcl_DecrRefCount(poolPtr->busy[i].nameObj);
		Tcl_DecrRefCount(poolPtr->busy[i].keyObj);
		EntryRemove(poolPtr->busy, &poolPtr->numBusy, i);
		break;
	    }
	}
	poolPtr->reused += numDone - fresh;
	if (resultsObj == NULL) {
	    /* (All of them in one go: the usual case.) */
	    resultsObj = doneObj;
	} else {
	    AppendResults(&resultsObj, numDone, done);
	    Tcl_DecrRefCount(doneObj);
	}
	at += numDone;

	/*
	 * Back to the pool, or gone.
	 */

	if (clean && keyed) {
	    EntryAdd(&poolPtr->idle, &poolPtr->numIdle, &poolPtr->maxIdle,
		    nameObj, keyObj);
	    while (poolPtr->numIdle > poolPtr->size) {
		Discard(interp, poolPtr, poolPtr->idle[0].nameObj);
	    }
	} else {
	    Discard(interp, poolPtr, nameObj);
	}
	Tcl_DecrRefCount(nameObj);
    }
    if (code == TCL_OK) {
	Tcl_SetObjResult(interp, resultsObj ? resultsObj : Tcl_NewObj());
    }
    if (resultsObj != NULL) {
	Tcl_DecrRefCount(resultsObj);
    }

  done:
    Tcl_Release(poolPtr);
    if (tagsObj != NULL) {
	Tcl_DecrRefCount(tagsObj);
    }
    Tcl_DecrRefCount(keyObj);
    Tcl_DecrRefCount(specsObj);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pPoolRuns --
 *
 *	`$sb runs key specs -worker ... -time ... -progress ... -tags ...`
 *	for C callers (the worker's lone run): sandboxObj is the sandbox's
 *	name, optv good options of runs without -tags.
 *
 * Results:
 *	As runs.
 *
 *----------------------------------------------------------------------
 */

int
P2pPoolRuns(
    Tcl_Interp *interp,
    Tcl_Obj *sandboxObj,
    Tcl_Obj *keyObj,
    Tcl_Obj *specsObj,
    int optc,
    Tcl_Obj *const optv[],
    Tcl_Obj *tagsObj)
{
    Tcl_Object object = Tcl_GetObjectFromObj(interp, sandboxObj);
    Pool *poolPtr;
    Tcl_Obj *words[6 + 8];

    if (object == NULL || (poolPtr = PoolOf(interp, object)) == NULL) {
	return TCL_ERROR;
    }
    if (optc > 8) {
	return P2pError(interp, "P2P USAGE", "too many options");
    }
    memcpy(words, poolPtr->defaults, 6 * sizeof(Tcl_Obj *));
    memcpy(words + 6, optv, optc * sizeof(Tcl_Obj *));
    return PoolRuns(interp, poolPtr, keyObj, specsObj, 6 + optc, words,
	    tagsObj);
}

/*
 *----------------------------------------------------------------------
 *
 * RunsMethod --
 *
 *	$sb runs key specs ?-commands n? ?-time ms? ?-output chars?
 *	?-progress cmd? ?-tags list? ?-worker address? (doc in
 *	sandbox.tcl). Options that jobRun would not take as they are go
 *	through the Tcl method RunsOptions, which says what is wrong.
 *
 *----------------------------------------------------------------------
 */

static int
RunsMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Object object = Tcl_ObjectContextObject(context);
    int skip = Tcl_ObjectContextSkippedArgs(context);
    Pool *poolPtr;
    Tcl_Obj *stackv[6 + 16], **optv = stackv, *tagsObj = NULL;
    Tcl_Obj *checkedObj = NULL, **elems;
    int optc, code, n, i;

    (void) clientData;
    if (objc - skip < 2) {
	Tcl_WrongNumArgs(interp, skip, objv, "key specs ?arg ...?");
	return TCL_ERROR;
    }
    poolPtr = PoolOf(interp, object);
    if (poolPtr == NULL) {
	return TCL_ERROR;
    }
    optc = 6 + objc - skip - 2;
    if (optc > 6 + 16) {
	optv = ckalloc(optc * sizeof(Tcl_Obj *));
    }
    memcpy(optv, poolPtr->defaults, 6 * sizeof(Tcl_Obj *));
    memcpy(optv + 6, objv + skip + 2, (optc - 6) * sizeof(Tcl_Obj *));
    if (!P2pJobOptionsGood(optc, optv, &tagsObj)) {
	/*
	 * `my RunsOptions option value ...`: {opts tags}, or the error.
	 */

	Tcl_Obj *myObj, *callObj;

	callObj = Tcl_NewListObj(0, NULL);
	Tcl_ListObjIndex(NULL, poolPtr->makeObj, 0, &myObj);
	Tcl_ListObjAppendElement(NULL, callObj, myObj);
	Tcl_ListObjAppendElement(NULL, callObj,
		Tcl_NewStringObj("RunsOptions", -1));
	Tcl_ListObjReplace(NULL, callObj, 2, 0, objc - skip - 2,
		objv + skip + 2);
	Tcl_IncrRefCount(callObj);
	code = Tcl_EvalObjEx(interp, callObj, 0);
	Tcl_DecrRefCount(callObj);
	if (code != TCL_OK) {
	    goto done;
	}
	checkedObj = Tcl_GetObjResult(interp);
	Tcl_IncrRefCount(checkedObj);
	Tcl_ResetResult(interp);
	if (Tcl_ListObjIndex(interp, checkedObj, 1, &tagsObj) != TCL_OK
		|| Tcl_ListObjIndex(interp, checkedObj, 0, &callObj)
		    != TCL_OK
		|| Tcl_ListObjGetElements(interp, callObj, &n, &elems)
		    != TCL_OK) {
	    code = TCL_ERROR;
	    goto done;
	}
	if (optv != stackv) {
	    ckfree(optv);
	}
	optv = stackv;
	if (n > 6 + 16) {
	    optv = ckalloc(n * sizeof(Tcl_Obj *));
	}
	for (i = 0; i < n; i++) {
	    optv[i] = elems[i];
	}
	optc = n;
	if (tagsObj != NULL && !NonEmpty(tagsObj)) {
	    tagsObj = NULL;
	}
    } else if (tagsObj != NULL) {
	/* (-tags goes to PoolRuns by itself.) */
	int j = 0;

	for (i = 0; i < optc; i += 2) {
	    if (strcmp(Tcl_GetString(optv[i]), "-tags") != 0) {
		optv[j++] = optv[i];
		optv[j++] = optv[i + 1];
	    }
	}
	optc = j;
    }
    code = PoolRuns(interp, poolPtr, objv[skip], objv[skip + 1], optc,
	    optv, tagsObj);

  done:
    if (checkedObj != NULL) {
	Tcl_DecrRefCount(checkedObj);
    }
    if (optv != stackv) {
	ckfree(optv);
    }
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * StatsMethod --
 *
 *	$sb stats: a dict: created, reused and discarded (interpreters,
 *	since the sandbox was made) and live (interpreters existing now,
 *	idle or running a job).
 *
 *----------------------------------------------------------------------
 */

static int
StatsMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const objv[])
{
    int skip = Tcl_ObjectContextSkippedArgs(context);
    Pool *poolPtr;
    Tcl_Obj *words[8];

    (void) clientData;
    if (objc != skip) {
	Tcl_WrongNumArgs(interp, skip, objv, NULL);
	return TCL_ERROR;
    }
    poolPtr = PoolOf(interp, Tcl_ObjectContextObject(context));
    if (poolPtr == NULL) {
	return TCL_ERROR;
    }
    words[0] = Tcl_NewStringObj("created", -1);
    words[1] = Tcl_NewWideIntObj(poolPtr->created);
    words[2] = Tcl_NewStringObj("reused", -1);
    words[3] = Tcl_NewWideIntObj(poolPtr->reused);
    words[4] = Tcl_NewStringObj("discarded", -1);
    words[5] = Tcl_NewWideIntObj(poolPtr->discarded);
    words[6] = Tcl_NewStringObj("live", -1);
    words[7] = Tcl_NewIntObj(poolPtr->numIdle + poolPtr->numBusy);
    Tcl_SetObjResult(interp, Tcl_NewListObj(8, words));
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * PoolInitMethod --
 *
 *	my PoolInit size commands time output: the sandbox's pool, empty,
 *	with the sandbox's settings (checked by its constructor).
 *
 *----------------------------------------------------------------------
 */

static int
PoolInitMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Object object = Tcl_ObjectContextObject(context);
    int skip = Tcl_ObjectContextSkippedArgs(context), size, i;
    Pool *poolPtr;
    Tcl_Obj *myObj;

    (void) clientData;
    if (objc - skip != 4) {
	Tcl_WrongNumArgs(interp, skip, objv, "size commands time output");
	return TCL_ERROR;
    }
    if (Tcl_GetIntFromObj(interp, objv[skip], &size) != TCL_OK) {
	return TCL_ERROR;
    }
    if (Tcl_ObjectGetMetadata(object, &poolMetaType) != NULL) {
	return P2pError(interp, "P2P USAGE", "the pool is made already");
    }
    poolPtr = ckalloc(sizeof(Pool));
    memset(poolPtr, 0, sizeof(Pool));
    poolPtr->size = size;
    poolPtr->defaults[0] = Tcl_NewStringObj("-commands", -1);
    poolPtr->defaults[1] = objv[skip + 1];
    poolPtr->defaults[2] = Tcl_NewStringObj("-time", -1);
    poolPtr->defaults[3] = objv[skip + 2];
    poolPtr->defaults[4] = Tcl_NewStringObj("-output", -1);
    poolPtr->defaults[5] = objv[skip + 3];
    for (i = 0; i < 6; i++) {
	Tcl_IncrRefCount(poolPtr->defaults[i]);
    }
    myObj = Tcl_NewStringObj(Tcl_GetObjectNamespace(object)->fullName, -1);
    Tcl_AppendToObj(myObj, "::my", -1);
    poolPtr->makeObj = Tcl_NewListObj(1, &myObj);
    Tcl_ListObjAppendElement(NULL, poolPtr->makeObj,
	    Tcl_NewStringObj("Make", -1));
    Tcl_IncrRefCount(poolPtr->makeObj);
    Tcl_ObjectSetMetadata(object, &poolMetaType, poolPtr);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * PoolCloseMethod --
 *
 *	my PoolClose (the sandbox's destructor): deletes its interpreters,
 *	idle and running; a runs under way then returns what it has.
 *
 *----------------------------------------------------------------------
 */

static int
PoolCloseMethod(
    ClientData clientData,
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const objv[])
{
    Pool *poolPtr;
    PoolEntry entry;

    (void) clientData;
    (void) objc;
    (void) objv;
    poolPtr = Tcl_ObjectGetMetadata(Tcl_ObjectContextObject(context),
	    &poolMetaType);
    if (poolPtr == NULL) {
	return TCL_OK;
    }
    poolPtr->closed = 1;
    while (poolPtr->numIdle > 0) {
	entry = poolPtr->idle[0];
	EntryRemove(poolPtr->idle, &poolPtr->numIdle, 0);
	DeleteChild(interp, entry.nameObj);
	Tcl_DecrRefCount(entry.nameObj);
	Tcl_DecrRefCount(entry.keyObj);
    }
    while (poolPtr->numBusy > 0) {
	entry = poolPtr->busy[0];
	EntryRemove(poolPtr->busy, &poolPtr->numBusy, 0);
	DeleteChild(interp, entry.nameObj);
	Tcl_DecrRefCount(entry.nameObj);
	Tcl_DecrRefCount(entry.keyObj);
    }
    return TCL_OK;
}
