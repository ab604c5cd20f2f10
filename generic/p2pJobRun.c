/*
 * p2pJobRun.c --
 *
 *	The per-job path of p2p::sandbox (library/sandbox.tcl) in C: runs
 *	script jobs, one after the other, in a safe child interpreter that
 *	the sandbox made, with their variables, limits, captured output and
 *	progress, and cleans up after each. The sandbox keeps the policy
 *	(which interpreter a job gets, the pool, when to discard); this
 *	file does what used to be its hidden proc p2pRun, its puts and
 *	progress aliases and its limit handling, without a Tcl command in
 *	the parent per job.
 *
 *	    ::p2p::Internal::jobArm child
 *	    ::p2p::Internal::jobRun child specs ?option value ...?
 *
 *	jobArm makes a job interpreter's puts and progress (commands of the
 *	child, written in C) and remembers its global variables and command
 *	count. jobRun runs the jobs of specs (each a dict: script, vars,
 *	limits {commands n time ms}) in turn and returns {clean results}:
 *	the result of each job that ran (a dict), and whether the
 *	interpreter may run the next job of its key. It stops after a job
 *	that left the interpreter unusable (a limit, an open channel, a
 *	global it could not unset, a failed cleanup): the caller runs the
 *	rest in a fresh interpreter. The sandbox's pool (p2pPool.c) calls
 *	the same in C (P2pJobRunIn), after P2pJobOptionsGood checked the
 *	options of its runs in one go.
 */

#include "p2pjobsInt.h"

/*
 * JobInterp --
 *
 *	What this file keeps per job interpreter, as the child's assoc data
 *	"p2pJobInterp". Owned jointly (refCount) by that assoc data, the
 *	child's puts and progress commands, and a running jobRun; freed
 *	when the last of them lets go (interpreter deletion ends the first
 *	three).
 */

typedef struct JobInterp {
    int refCount;
    Tcl_Interp *parent;		/* Where progress prefixes run. */
    Tcl_Interp *child;		/* The job interpreter; NULL once it is
				 * being deleted (its assoc data went). */
    Tcl_HashTable keep;		/* Names of the globals when armed. */
    int numKeep;
    Tcl_WideInt used;		/* [info cmdcount] after the last job. */
    int active;			/* A job is running. */
    Tcl_Obj *outObj;		/* Captured stdout, stderr of that job. */
    Tcl_Obj *errObj;
    Tcl_WideInt numChars;	/* Characters captured, both together. */
    Tcl_WideInt maxChars;	/* The job's output limit. */
    int over;			/* The output limit was exceeded. */
    Tcl_Obj *progressObj;	/* The job's progress prefix, or NULL. */
    Tcl_Obj *tagObj;		/* Its word after the prefix, or NULL. */
    Tcl_Obj *cmdcountObj;	/* ::tcl::info::cmdcount */
    Tcl_Obj *globalsObj;	/* ::tcl::info::globals */
    Tcl_ObjCmdProc *cmdcountProc;
				/* Their functions when armed: called
				 * directly while they are still the
				 * commands of those names. */
    Tcl_ObjCmdProc *globalsProc;
    Tcl_ObjCmdProc *unsetProc;	/* The function of the child's unset when
				 * armed (or NULL), and its client data: */
    ClientData unsetData;	/* the cleanup unsets a job's vars with
				 * it, called directly (UnsetVar). */
    Tcl_Obj *unsetObjv[3];	/* unset -nocomplain NAME */
    Tcl_Obj *nameObj;		/* The child's path in the parent. */
    Tcl_Obj *scriptObj;		/* The last job's script: compiled for the
				 * child, it serves the next job with the
				 * same text (the jobs of a batch). */
    Tcl_Obj *varsObj;		/* The last job's vars (as its spec had them)
				 * and their pairs, checked (GetPairs,
				 * CheckVars): the next job with the same
				 * object takes the pairs as they are. */
    Tcl_Obj *varsListObj;
} JobInterp;

#define JOB_ASSOC	"p2pJobInterp"

/*
 * What follows the result in a worker's result of a job that ended well
 * and wrote nothing, up to the worker's address (see WorkerResult).
 */

#define OK_TAIL \
    " error {} stdout {} stderr {} exit 0 signal {} outputs {}"
#define OK_TAIL_LEN	((int) sizeof(OK_TAIL) - 1)
#define LOCAL_PAIRS	8	/* P2pJobReply's pairs on the stack. */
#define MAX_COMMANDS	1000000000
#define MAX_TIME	2147483647

/*
 * Options of jobRun.
 */

typedef struct RunOptions {
    Tcl_WideInt commands;	/* Default command limit. */
    int time;			/* Default (and longest) time limit, ms. */
    Tcl_WideInt output;		/* Output limit, characters. */
    Tcl_Obj *progressObj;	/* Prefix, or NULL. */
    Tcl_Obj *tagsObj;		/* Per job: a word added to the prefix. */
    Tcl_Obj *workerObj;		/* Worker's address: results in its form. */
    Tcl_DString worker;		/* OK_TAIL " worker ADDRESS" as a result has
				 * them (made by RunJobs for the batch). */
    int workerSafe;		/* AppendValue's answer for it. */
} RunOptions;

/*
 * The words this file puts in and looks up in dicts, made once per thread
 * (and let go when it exits) instead of once per job.
 */

enum {
    K_SCRIPT, K_VARS, K_LIMITS, K_COMMANDS, K_TIME, K_STATUS, K_RESULT,
    K_ERRORCODE, K_ERRORINFO, K_ELAPSED, K_STDOUT, K_STDERR, K_ERROR,
    K_OK, K_LIMIT, K_LEVEL, K_CODE, K_OPT_ERRORINFO, K_OPT_ERRORCODE,
    K_KIND, K_RESULTS, NUM_KEYS
};

static const char *const keyNames[NUM_KEYS] = {
    "script", "vars", "limits", "commands", "time", "status", "result",
    "errorcode", "errorinfo", "elapsed", "stdout", "stderr", "error",
    "ok", "limit", "-level", "-code", "-errorinfo", "-errorcode",
    "kind", "results"
};

#define MAX_KEPT_OPTS 16

typedef struct ThreadKeys {
    int made;			/* The exit handler is registered. */
    Tcl_Obj *objs[NUM_KEYS];
    JobInterp *lastPtr;		/* The job interpreter of the last jobRun
				 * (a reference), found again by its name
				 * without Tcl_GetSlave's parse of a path. */
    int numOpts;		/* The options of the last jobRun (a
				 * reference each), or -1, */
    Tcl_Obj *optv[MAX_KEPT_OPTS];
    RunOptions opts;		/* and what ParseOptions made of them: the
				 * same objects (values that do not change)
				 * give the same. */
} ThreadKeys;

static Tcl_ThreadDataKey keysKey;

/*
 * The type of a job result in a worker's form (WorkerResult) whose string
 * may be an element of a list as {STRING}, which is what Tcl would make of
 * it: see AppendValue. Only its type says so (no internal
 * representation); anything that takes the value as a list, a dict ...
 * gives it another. jobReply puts such results in its list as they are,
 * without going over their characters twice more.
 */

static const Tcl_ObjType jobResultType = {
    "p2pJobResult", NULL, NULL, NULL, NULL
};

/*
 * What one job came to.
 */

typedef struct JobOutcome {
    const char *status;		/* ok, error or limit. */
    Tcl_Obj *resultObj;		/* The result or the error message. */
    Tcl_Obj *errorCodeObj;
    Tcl_Obj *errorInfoObj;
    Tcl_WideInt commands;
    int bad;			/* A bad spec: nothing ran. */
} JobOutcome;

static void	JobInterpRelease(JobInterp *jiPtr);
static void	VarsForget(JobInterp *jiPtr);
static void	AssocDeleteProc(ClientData clientData, Tcl_Interp *interp);
static void	CmdDeleteProc(ClientData clientData);
static int	HiddenPuts(JobInterp *jiPtr, Tcl_Interp *child, int objc,
		    Tcl_Obj *const objv[]);
static int	PutsObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	ProgressObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	JobArmObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	JobRunObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	JobBatchObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	JobReplyObjCmd(ClientData clientData, Tcl_Interp *interp,
		    int objc, Tcl_Obj *const objv[]);
static int	KeptOptions(Tcl_Interp *interp, ThreadKeys *tkPtr,
		    int objc, Tcl_Obj *const objv[], RunOptions *optsPtr);
static void	OptionsForget(ThreadKeys *tkPtr);
static int	ParseOptions(Tcl_Interp *interp, int objc,
		    Tcl_Obj *const objv[], RunOptions *optsPtr);
static Tcl_Obj *RunJobs(Tcl_Interp *child, JobInterp *jiPtr,
		    Tcl_Obj *specsObj, RunOptions *optsPtr, int *cleanPtr);
static Tcl_ObjCmdProc *CoreProc(Tcl_Interp *child, Tcl_Obj *nameObj,
		    ClientData *clientDataPtr);
static int	CallCore(Tcl_Interp *child, Tcl_Obj *nameObj,
		    Tcl_ObjCmdProc *proc);
static int	CommandCount(Tcl_Interp *child, JobInterp *jiPtr,
		    Tcl_WideInt *countPtr);
static int	RunOne(Tcl_Interp *child, JobInterp *jiPtr, Tcl_Obj *specObj,
		    const RunOptions *optsPtr, Tcl_Obj *tagObj,
		    JobOutcome *outPtr);
static int	CheckVars(int numElems, Tcl_Obj *const elems[],
		    Tcl_Obj **msgPtr);
static int	Cleanup(Tcl_Interp *child, JobInterp *jiPtr,
		    int numVars, Tcl_Obj *const vars[]);
static int	NoChannels(Tcl_Interp *child);
static Tcl_Obj *ResultDict(const JobOutcome *outPtr, JobInterp *jiPtr,
		    Tcl_WideInt elapsed);
static Tcl_WideInt NowMicros(void);
static void	Outcome(JobOutcome *outPtr, const char *status,
		    Tcl_Obj *resultObj, Tcl_Obj *errorCodeObj,
		    Tcl_Obj *errorInfoObj);
static Tcl_Obj *DictValue(Tcl_Obj *dictObj, int key);
static int	PairValue(Tcl_Obj *obj, int key, Tcl_Obj **valuePtr);
static void	UnsetVar(Tcl_Interp *child, JobInterp *jiPtr,
		    Tcl_Obj *nameObj);
static int	GetPairs(Tcl_Obj *obj, Tcl_Obj *likeObj, Tcl_Obj **listPtr,
		    int *numPtr, Tcl_Obj ***elemsPtr);
static Tcl_Obj *StatusObj(const char *status);
static int	AppendValue(Tcl_DString *dsPtr, const char *key,
		    const char *value, int len);
static int	AppendObj(Tcl_DString *dsPtr, const char *key,
		    Tcl_Obj *objPtr);
static char *	NumberBack(char *end, const char *key, Tcl_WideInt value);
static void	AppendNumber(Tcl_DString *dsPtr, const char *key,
		    Tcl_WideInt value);
static Tcl_Obj *WorkerResult(const JobOutcome *outPtr, JobInterp *jiPtr,
		    const RunOptions *optsPtr, Tcl_WideInt startedMs,
		    Tcl_WideInt finishedMs);
static Tcl_Obj *Key(int key);
static void	KeysExitProc(ClientData clientData);
static int	UnexpectedCode(Tcl_Obj *ecObj);

/*
 *----------------------------------------------------------------------
 *
 * P2pJobRunInit --
 *
 *	Makes ::p2p::Internal::jobArm, jobRun, jobBatch and jobReply, and
 *	the commands of the sandbox's pool (p2pPool.c) and of the worker's
 *	lone run (p2pLoneRun.c).
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
P2pJobRunInit(
    Tcl_Interp *interp)
{
    if (Tcl_FindNamespace(interp, "::p2p::Internal", NULL, 0) == NULL
	    && Tcl_CreateNamespace(interp, "::p2p::Internal", NULL,
		NULL) == NULL) {
	return TCL_ERROR;
    }
    Tcl_CreateObjCommand(interp, "::p2p::Internal::jobArm", JobArmObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::Internal::jobRun", JobRunObjCmd,
	    NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::Internal::jobBatch",
	    JobBatchObjCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::Internal::jobReply",
	    JobReplyObjCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::Internal::plainList",
	    P2pPlainListObjCmd, NULL, NULL);
    if (P2pPoolInit(interp) != TCL_OK) {
	return TCL_ERROR;
    }
    return P2pLoneRunInit(interp);
}

/*
 *----------------------------------------------------------------------
 *
 * NowMicros --
 *
 *	The time of day in microseconds.
 *
 *----------------------------------------------------------------------
 */

static Tcl_WideInt
NowMicros(void)
{
    Tcl_Time now;

    Tcl_GetTime(&now);
    return (Tcl_WideInt) now.sec * 1000000 + now.usec;
}

/*
 *----------------------------------------------------------------------
 *
 * JobInterpRelease, AssocDeleteProc, CmdDeleteProc --
 *
 *	Drop one reference to a JobInterp; the last frees it.
 *
 *----------------------------------------------------------------------
 */

static void
JobInterpRelease(
    JobInterp *jiPtr)
{
    if (--jiPtr->refCount > 0) {
	return;
    }
    Tcl_DeleteHashTable(&jiPtr->keep);
    if (jiPtr->outObj) {
	Tcl_DecrRefCount(jiPtr->outObj);
    }
    if (jiPtr->errObj) {
	Tcl_DecrRefCount(jiPtr->errObj);
    }
    if (jiPtr->progressObj) {
	Tcl_DecrRefCount(jiPtr->progressObj);
    }
    if (jiPtr->tagObj) {
	Tcl_DecrRefCount(jiPtr->tagObj);
    }
    Tcl_DecrRefCount(jiPtr->cmdcountObj);
    Tcl_DecrRefCount(jiPtr->globalsObj);
    Tcl_DecrRefCount(jiPtr->unsetObjv[0]);
    Tcl_DecrRefCount(jiPtr->unsetObjv[1]);
    Tcl_DecrRefCount(jiPtr->nameObj);
    if (jiPtr->scriptObj) {
	Tcl_DecrRefCount(jiPtr->scriptObj);
    }
    VarsForget(jiPtr);
    ckfree(jiPtr);
}

/*
 * VarsForget --
 *	Lets go of the last job's vars and their pairs.
 */

static void
VarsForget(
    JobInterp *jiPtr)
{
    if (jiPtr->varsObj != NULL) {
	Tcl_DecrRefCount(jiPtr->varsObj);
	Tcl_DecrRefCount(jiPtr->varsListObj);
	jiPtr->varsObj = jiPtr->varsListObj = NULL;
    }
}

static void
AssocDeleteProc(
    ClientData clientData,
    Tcl_Interp *interp)
{
    JobInterp *jiPtr = (JobInterp *) clientData;

    (void) interp;

    /*
     * The child goes (the JobInterp may stay a while, as jobRun's last):
     * its script's bytecode goes with it.
     */

    jiPtr->child = NULL;
    if (jiPtr->scriptObj != NULL) {
	Tcl_DecrRefCount(jiPtr->scriptObj);
	jiPtr->scriptObj = NULL;
    }
    VarsForget(jiPtr);
    JobInterpRelease(jiPtr);
}

static void
CmdDeleteProc(
    ClientData clientData)
{
    JobInterpRelease((JobInterp *) clientData);
}

/*
 *----------------------------------------------------------------------
 *
 * CommandCount --
 *
 *	[info cmdcount] of the child (through ::tcl::info::cmdcount, as the
 *	job would call it).
 *
 * Results:
 *	TCL_OK, or TCL_ERROR with the error in the child.
 *
 *----------------------------------------------------------------------
 */

static int
CommandCount(
    Tcl_Interp *child,
    JobInterp *jiPtr,
    Tcl_WideInt *countPtr)
{
    if (CallCore(child, jiPtr->cmdcountObj, jiPtr->cmdcountProc) != TCL_OK) {
	return TCL_ERROR;
    }
    return Tcl_GetWideIntFromObj(child, Tcl_GetObjResult(child), countPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * CoreProc, CallCore --
 *
 *	CoreProc: the function of the child's command nameObj (fully
 *	qualified), if it is a plain one, else NULL. CallCore: calls that
 *	command, without arguments, in the child: its function proc
 *	directly (not through an evaluation) when the command still has it,
 *	else as any command (when a job renamed or replaced it, and it
 *	fails or does what it does now, as before).
 *
 * Results:
 *	A standard Tcl result, in the child.
 *
 *----------------------------------------------------------------------
 */

static Tcl_ObjCmdProc *
CoreProc(
    Tcl_Interp *child,
    Tcl_Obj *nameObj,
    ClientData *clientDataPtr)
{
    Tcl_Command token = Tcl_GetCommandFromObj(child, nameObj);
    Tcl_CmdInfo info;

    if (token == NULL || !Tcl_GetCommandInfoFromToken(token, &info)
	    || !info.isNativeObjectProc || info.objProc == NULL) {
	return NULL;
    }
    *clientDataPtr = info.objClientData;
    return info.objProc;
}

static int
CallCore(
    Tcl_Interp *child,
    Tcl_Obj *nameObj,
    Tcl_ObjCmdProc *proc)
{
    ClientData clientData;

    if (proc != NULL && CoreProc(child, nameObj, &clientData) == proc) {
	/*
	 * As an evaluation would: the reset copies an error's errorInfo
	 * and errorCode to their globals (which the cleanup then finds).
	 */

	Tcl_ResetResult(child);
	return proc(clientData, child, 1, &nameObj);
    }
    return Tcl_EvalObjv(child, 1, &nameObj, TCL_EVAL_GLOBAL);
}

/*
 *----------------------------------------------------------------------
 *
 * JobArmObjCmd --
 *
 *	::p2p::Internal::jobArm child: makes puts and progress in the
 *	child (whose own puts the sandbox has hidden) and remembers its
 *	globals and command count.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	See above.
 *
 *----------------------------------------------------------------------
 */

static int
JobArmObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Interp *child;
    JobInterp *jiPtr;
    Tcl_Obj **names;
    int numNames, i, isNew;

    (void) clientData;
    if (objc != 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "child");
	return TCL_ERROR;
    }
    child = Tcl_GetSlave(interp, Tcl_GetString(objv[1]));
    if (child == NULL) {
	return TCL_ERROR;
    }
    if (Tcl_GetAssocData(child, JOB_ASSOC, NULL) != NULL) {
	return P2pError(interp, "P2P SANDBOX ARMED", "interpreter \"%s\" is"
		" a job interpreter already", Tcl_GetString(objv[1]));
    }
    jiPtr = ckalloc(sizeof(JobInterp));
    memset(jiPtr, 0, sizeof(JobInterp));
    jiPtr->parent = interp;
    jiPtr->child = child;
    Tcl_InitHashTable(&jiPtr->keep, TCL_STRING_KEYS);
    jiPtr->cmdcountObj = Tcl_NewStringObj("::tcl::info::cmdcount", -1);
    Tcl_IncrRefCount(jiPtr->cmdcountObj);
    jiPtr->globalsObj = Tcl_NewStringObj("::tcl::info::globals", -1);
    Tcl_IncrRefCount(jiPtr->globalsObj);
    jiPtr->nameObj = objv[1];
    Tcl_IncrRefCount(jiPtr->nameObj);
    jiPtr->refCount = 1;
    {
	ClientData clientData;

	jiPtr->cmdcountProc = CoreProc(child, jiPtr->cmdcountObj,
		&clientData);
	jiPtr->globalsProc = CoreProc(child, jiPtr->globalsObj, &clientData);
    }
    jiPtr->unsetObjv[0] = Tcl_NewStringObj("::unset", -1);
    Tcl_IncrRefCount(jiPtr->unsetObjv[0]);
    jiPtr->unsetObjv[1] = Tcl_NewStringObj("-nocomplain", -1);
    Tcl_IncrRefCount(jiPtr->unsetObjv[1]);
    jiPtr->unsetProc = CoreProc(child, jiPtr->unsetObjv[0],
	    &jiPtr->unsetData);

    if (Tcl_EvalObjv(child, 1, &jiPtr->globalsObj, TCL_EVAL_GLOBAL) != TCL_OK
	    || Tcl_ListObjGetElements(child, Tcl_GetObjResult(child),
		&numNames, &names) != TCL_OK) {
	goto childError;
    }
    for (i = 0; i < numNames; i++) {
	Tcl_CreateHashEntry(&jiPtr->keep, Tcl_GetString(names[i]), &isNew);
    }
    jiPtr->numKeep = jiPtr->keep.numEntries;
    if (CommandCount(child, jiPtr, &jiPtr->used) != TCL_OK) {
	goto childError;
    }
    Tcl_ResetResult(child);

    /* One reference each: the assoc data and the two commands. */
    jiPtr->refCount += 3;
    Tcl_SetAssocData(child, JOB_ASSOC, AssocDeleteProc, jiPtr);
    Tcl_CreateObjCommand(child, "::puts", PutsObjCmd, jiPtr, CmdDeleteProc);
    Tcl_CreateObjCommand(child, "::progress", ProgressObjCmd, jiPtr,
	    CmdDeleteProc);
    JobInterpRelease(jiPtr);
    return TCL_OK;

  childError:
    Tcl_SetObjResult(interp, Tcl_GetObjResult(child));
    Tcl_ResetResult(child);
    JobInterpRelease(jiPtr);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * HiddenPuts --
 *
 *	The child's real (hidden) puts, invoked as the sandbox always did:
 *	interp invokehidden, from the parent.
 *
 * Results:
 *	A standard Tcl result, in the child.
 *
 *----------------------------------------------------------------------
 */

static int
HiddenPuts(
    JobInterp *jiPtr,
    Tcl_Interp *child,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Interp *parent = jiPtr->parent;
    Tcl_Obj *cmdObj = Tcl_NewListObj(0, NULL);
    int code;

    Tcl_ListObjAppendElement(NULL, cmdObj, Tcl_NewStringObj("::interp", -1));
    Tcl_ListObjAppendElement(NULL, cmdObj,
	    Tcl_NewStringObj("invokehidden", -1));
    Tcl_ListObjAppendElement(NULL, cmdObj, jiPtr->nameObj);
    Tcl_ListObjAppendElement(NULL, cmdObj, Tcl_NewStringObj("puts", -1));
    Tcl_ListObjReplace(NULL, cmdObj, 4, 0, objc - 1, objv + 1);
    Tcl_IncrRefCount(cmdObj);
    jiPtr->refCount++;
    Tcl_Preserve(parent);
    code = Tcl_EvalObjEx(parent, cmdObj, TCL_EVAL_GLOBAL);
    Tcl_DecrRefCount(cmdObj);
    Tcl_SetObjResult(child, Tcl_GetObjResult(parent));
    if (code == TCL_ERROR) {
	Tcl_Obj *optsObj = Tcl_GetReturnOptions(parent, code);
	Tcl_Obj *ecObj;

	Tcl_IncrRefCount(optsObj);
	ecObj = DictValue(optsObj, K_OPT_ERRORCODE);
	if (ecObj != NULL) {
	    Tcl_SetObjErrorCode(child, ecObj);
	}
	Tcl_DecrRefCount(optsObj);
    }
    Tcl_ResetResult(parent);
    Tcl_Release(parent);
    JobInterpRelease(jiPtr);
    return code == TCL_ERROR ? TCL_ERROR : TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * PutsObjCmd --
 *
 *	puts inside a job interpreter: stdout and stderr are captured (at
 *	most the job's output limit, both together: beyond it the job is
 *	stopped by its command limit and ends with status limit); other
 *	channels are the job's own and get the real, hidden puts.
 *
 * Results:
 *	A standard Tcl result.
 *
 *----------------------------------------------------------------------
 */

static int
PutsObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    JobInterp *jiPtr = clientData;
    int nonl = 0, toErr;
    const char *chan;
    Tcl_Obj *strObj;
    Tcl_WideInt len;

    if (objc > 2 && strcmp(Tcl_GetString(objv[1]), "-nonewline") == 0) {
	nonl = 1;
    }
    switch (objc - nonl) {
    case 2:
	chan = "stdout";
	break;
    case 3:
	chan = Tcl_GetString(objv[1 + nonl]);
	break;
    default:
	Tcl_SetObjResult(interp, Tcl_NewStringObj("wrong # args: should be"
		" \"puts ?-nonewline? ?channelId? string\"", -1));
	Tcl_SetErrorCode(interp, "TCL", "WRONGARGS", NULL);
	return TCL_ERROR;
    }
    if (strcmp(chan, "stdout") == 0) {
	toErr = 0;
    } else if (strcmp(chan, "stderr") == 0) {
	toErr = 1;
    } else {
	return HiddenPuts(jiPtr, interp, objc, objv);
    }
    if (!jiPtr->active) {
	/* Only reachable by code a job left behind: refuse. */
	return P2pError(interp, "P2P SANDBOX IDLE", "no job is running");
    }
    strObj = objv[objc - 1];
    len = Tcl_GetCharLength(strObj) + !nonl;
    if (jiPtr->numChars + len > jiPtr->maxChars) {
	char max[TCL_INTEGER_SPACE * 2];

	/* Stop the job: its next command hits the command limit. */
	jiPtr->over = 1;
	Tcl_LimitSetCommands(interp, 0);
	Tcl_LimitTypeSet(interp, TCL_LIMIT_COMMANDS);
	snprintf(max, sizeof(max), "%" TCL_LL_MODIFIER "d", jiPtr->maxChars);
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("output limit of %s"
		" characters exceeded", max));
	Tcl_SetErrorCode(interp, "P2P", "SANDBOX", "LIMIT", "OUTPUT", max,
		NULL);
	return TCL_ERROR;
    }
    jiPtr->numChars += len;
    {
	Tcl_Obj **targetPtr = toErr ? &jiPtr->errObj : &jiPtr->outObj;

	if (Tcl_IsShared(*targetPtr)) {
	    Tcl_Obj *copyObj = Tcl_DuplicateObj(*targetPtr);

	    Tcl_DecrRefCount(*targetPtr);
	    *targetPtr = copyObj;
	    Tcl_IncrRefCount(copyObj);
	}
	Tcl_AppendObjToObj(*targetPtr, strObj);
	if (!nonl) {
	    Tcl_AppendToObj(*targetPtr, "\n", 1);
	}
    }
    Tcl_ResetResult(interp);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ProgressObjCmd --
 *
 *	progress inside a job interpreter: calls the job's progress prefix
 *	in the parent with the message, at global level. An error there is
 *	an error of the progress command (message and error code only: the
 *	job does not see the worker's stack).
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	Whatever the prefix does; it may even delete the child.
 *
 *----------------------------------------------------------------------
 */

static int
ProgressObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    JobInterp *jiPtr = clientData;
    Tcl_Interp *parent = jiPtr->parent;
    Tcl_Obj *cmdObj, *optsObj, *codeObj, *keyObj;
    int code;

    if (objc != 2) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj("wrong # args: should be"
		" \"progress message\"", -1));
	Tcl_SetErrorCode(interp, "TCL", "WRONGARGS", NULL);
	return TCL_ERROR;
    }
    Tcl_ResetResult(interp);
    if (!jiPtr->active || jiPtr->progressObj == NULL) {
	return TCL_OK;
    }
    cmdObj = Tcl_DuplicateObj(jiPtr->progressObj);
    Tcl_IncrRefCount(cmdObj);
    if ((jiPtr->tagObj != NULL && Tcl_ListObjAppendElement(NULL, cmdObj,
	    jiPtr->tagObj) != TCL_OK)
	    || Tcl_ListObjAppendElement(NULL, cmdObj, objv[1]) != TCL_OK) {
	Tcl_DecrRefCount(cmdObj);
	return TCL_OK;
    }
    jiPtr->refCount++;
    Tcl_Preserve(parent);
    code = Tcl_EvalObjEx(parent, cmdObj, TCL_EVAL_GLOBAL);
    Tcl_DecrRefCount(cmdObj);
    if (code == TCL_ERROR) {
	optsObj = Tcl_GetReturnOptions(parent, code);
	Tcl_IncrRefCount(optsObj);
	keyObj = Tcl_NewStringObj("-errorcode", -1);
	Tcl_IncrRefCount(keyObj);
	if (Tcl_DictObjGet(NULL, optsObj, keyObj, &codeObj) != TCL_OK
		|| codeObj == NULL) {
	    codeObj = Tcl_NewStringObj("NONE", -1);
	}
	Tcl_SetObjResult(interp, Tcl_GetObjResult(parent));
	Tcl_SetObjErrorCode(interp, codeObj);
	Tcl_DecrRefCount(keyObj);
	Tcl_DecrRefCount(optsObj);
    }
    Tcl_ResetResult(parent);
    Tcl_Release(parent);
    JobInterpRelease(jiPtr);
    return code == TCL_ERROR ? TCL_ERROR : TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * CheckVars --
 *
 *	Checks a job's vars, as the numElems elements of their dict
 *	(GetPairs): plain variable names (letters, digits and
 *	underscores).
 *
 * Results:
 *	1 if good; 0 with a message in *msgPtr otherwise.
 *
 *----------------------------------------------------------------------
 */

static int
CheckVars(
    int numElems,
    Tcl_Obj *const elems[],
    Tcl_Obj **msgPtr)
{
    Tcl_Obj *keyObj;
    int i;

    for (i = 0; i < numElems; i += 2) {
	int len, n;
	const char *p;
	const char *end;
	Tcl_UniChar ch = 0;

	keyObj = elems[i];
	p = Tcl_GetStringFromObj(keyObj, &len);
	end = p + len;
	if (len == 0) {
	    goto bad;
	}
	while (p < end) {
	    n = Tcl_UtfToUniChar(p, &ch);
	    if (!Tcl_UniCharIsWordChar(ch)) {
		goto bad;
	    }
	    p += n;
	}
	continue;
      bad:
	*msgPtr = Tcl_ObjPrintf("bad variable name \"%s\" in -vars: must be"
		" letters, digits and underscores", Tcl_GetString(keyObj));
	return 0;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * UnsetVar --
 *
 *	Unsets the child's global variable nameObj (a plain name, checked by
 *	CheckVars), as Tcl_UnsetVar2 with TCL_GLOBAL_ONLY would: no error
 *	if it is gone, its unset traces run. With the function of the
 *	child's own unset (as it was when armed: whatever a job made of the
 *	command since, it is not called), `unset -nocomplain NAME` is that
 *	function called directly, at the child's global level (where the
 *	cleanup runs, between jobs): the name object is used as it is, where
 *	Tcl_UnsetVar2 makes one of the string and frees it.
 *
 *----------------------------------------------------------------------
 */

static void
UnsetVar(
    Tcl_Interp *child,
    JobInterp *jiPtr,
    Tcl_Obj *nameObj)
{
    if (jiPtr->unsetProc != NULL) {
	jiPtr->unsetObjv[2] = nameObj;
	jiPtr->unsetProc(jiPtr->unsetData, child, 3, jiPtr->unsetObjv);
	jiPtr->unsetObjv[2] = NULL;
    } else {
	Tcl_UnsetVar2(child, Tcl_GetString(nameObj), NULL, TCL_GLOBAL_ONLY);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Cleanup --
 *
 *	After a job: unsets its variables (vars: the numVars elements of
 *	their dict) and any other global it created, and takes the command
 *	count for the next job's limit. It runs under the job's limits.
 *
 * Results:
 *	1 when nothing is left that must not reach the next job of the key
 *	(no new global, no channel, no error), else 0.
 *
 *----------------------------------------------------------------------
 */

static int
Cleanup(
    Tcl_Interp *child,
    JobInterp *jiPtr,
    int numVars,
    Tcl_Obj *const vars[])
{
    Tcl_Obj **names;
    int numNames, i;

    for (i = 0; i < numVars; i += 2) {
	UnsetVar(child, jiPtr, vars[i]);
    }
    if (CallCore(child, jiPtr->globalsObj, jiPtr->globalsProc) != TCL_OK
	    || Tcl_ListObjGetElements(child, Tcl_GetObjResult(child),
		&numNames, &names) != TCL_OK) {
	return 0;
    }
    if (numNames != jiPtr->numKeep) {
	Tcl_Obj *listObj = Tcl_GetObjResult(child);

	Tcl_IncrRefCount(listObj);
	for (i = 0; i < numNames; i++) {
	    const char *name = Tcl_GetString(names[i]);

	    if (Tcl_FindHashEntry(&jiPtr->keep, name) == NULL) {
		Tcl_UnsetVar2(child, name, NULL, TCL_GLOBAL_ONLY);
	    }
	}
	Tcl_DecrRefCount(listObj);
	if (CallCore(child, jiPtr->globalsObj, jiPtr->globalsProc)
		!= TCL_OK || Tcl_ListObjLength(child, Tcl_GetObjResult(child),
		    &numNames) != TCL_OK || numNames != jiPtr->numKeep) {
	    return 0;
	}
    }
    if (!NoChannels(child)) {
	return 0;
    }
    if (CommandCount(child, jiPtr, &jiPtr->used) != TCL_OK) {
	return 0;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * NoChannels --
 *
 *	Whether the child has no channel (as [chan names] would say, without
 *	making the list of their names). Its channels are in the table that
 *	Tcl keeps as its assoc data "tclIO" (tclIO.c); the table is made
 *	with the first channel, and a safe interpreter gets none of the
 *	standard channels in it. Without that table (another Tcl), the names
 *	are asked for.
 *
 * Results:
 *	1 if the child has no channel, else 0 (also on an error).
 *
 *----------------------------------------------------------------------
 */

static int
NoChannels(
    Tcl_Interp *child)
{
    Tcl_HashTable *tablePtr = Tcl_GetAssocData(child, "tclIO", NULL);
    int numChans;

    if (tablePtr != NULL) {
	return tablePtr->numEntries == 0;
    }
    return Tcl_GetChannelNames(child) == TCL_OK
	    && Tcl_ListObjLength(child, Tcl_GetObjResult(child), &numChans)
		== TCL_OK && numChans == 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Outcome --
 *
 *	Fills *outPtr (whose objects it holds a reference to, dropping
 *	those it held before).
 *
 *----------------------------------------------------------------------
 */

static void
Outcome(
    JobOutcome *outPtr,
    const char *status,
    Tcl_Obj *resultObj,
    Tcl_Obj *errorCodeObj,
    Tcl_Obj *errorInfoObj)
{
    Tcl_Obj **slots[3];
    Tcl_Obj *values[3];
    int i;

    slots[0] = &outPtr->resultObj;
    slots[1] = &outPtr->errorCodeObj;
    slots[2] = &outPtr->errorInfoObj;
    values[0] = resultObj;
    values[1] = errorCodeObj;
    values[2] = errorInfoObj;
    for (i = 0; i < 3; i++) {
	if (values[i]) {
	    Tcl_IncrRefCount(values[i]);
	}
	if (*slots[i]) {
	    Tcl_DecrRefCount(*slots[i]);
	}
	*slots[i] = values[i];
    }
    outPtr->status = status;
}

/*
 *----------------------------------------------------------------------
 *
 * DictValue --
 *
 *	The value of key in dictObj, or NULL (also when dictObj is not a
 *	dict).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
DictValue(
    Tcl_Obj *dictObj,
    int key)
{
    Tcl_Obj *valueObj = NULL;

    if (Tcl_DictObjGet(NULL, dictObj, Key(key), &valueObj) != TCL_OK) {
	valueObj = NULL;
    }
    return valueObj;
}

/*
 *----------------------------------------------------------------------
 *
 * PairValue --
 *
 *	The value of key in obj, a dict (a list of key value pairs; the
 *	last pair of a key counts, as in a dict), in *valuePtr, or NULL. A
 *	list is read as one, without making it a dict (whose hash table
 *	costs more than the few lookups of a job's spec).
 *
 * Results:
 *	TCL_OK, or TCL_ERROR if obj is not a dict.
 *
 *----------------------------------------------------------------------
 */

static int
PairValue(
    Tcl_Obj *obj,
    int key,
    Tcl_Obj **valuePtr)
{
    static const Tcl_ObjType *dictTypePtr = NULL;
    Tcl_Obj **elems;
    int numElems, i, len, keyLen;
    const char *keyName = keyNames[key], *s;

    *valuePtr = NULL;
    if (dictTypePtr == NULL) {
	dictTypePtr = Tcl_GetObjType("dict");
    }
    if (dictTypePtr != NULL && obj->typePtr == dictTypePtr) {
	return Tcl_DictObjGet(NULL, obj, Key(key), valuePtr);
    }
    if (Tcl_ListObjGetElements(NULL, obj, &numElems, &elems) != TCL_OK
	    || numElems % 2) {
	return TCL_ERROR;
    }
    keyLen = (int) strlen(keyName);
    for (i = numElems - 2; i >= 0; i -= 2) {
	s = Tcl_GetStringFromObj(elems[i], &len);
	if (len == keyLen && memcmp(s, keyName, len) == 0) {
	    *valuePtr = elems[i + 1];
	    break;
	}
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GetPairs --
 *
 *	The keys and values of obj, a dict, as a flat list: *listPtr (which
 *	the caller lets go of) and its elements. Duplicate keys of a list
 *	that is not a dict yet are all there, the last counting. A plain
 *	string is read like likeObj (the last job's pairs, or NULL): the
 *	words it has in common with them at the same place are theirs.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR if obj is not a dict.
 *
 *----------------------------------------------------------------------
 */

static int
GetPairs(
    Tcl_Obj *obj,
    Tcl_Obj *likeObj,
    Tcl_Obj **listPtr,
    int *numPtr,
    Tcl_Obj ***elemsPtr)
{
    static const Tcl_ObjType *dictTypePtr = NULL;
    Tcl_Obj *listObj = obj;

    if (dictTypePtr == NULL) {
	dictTypePtr = Tcl_GetObjType("dict");
    }
    if (obj->typePtr == NULL) {
	/*
	 * (A plain string, as vars come in a message: read in one pass,
	 * its words shared with likeObj's where they are the same.)
	 */
	listObj = P2pPlainListLike(obj, likeObj);
	if (listObj == NULL) {
	    listObj = obj;
	}
    } else if (dictTypePtr != NULL && obj->typePtr == dictTypePtr) {
	Tcl_DictSearch search;
	Tcl_Obj *keyObj, *valueObj;
	int done;

	Tcl_DictObjFirst(NULL, obj, &search, &keyObj, &valueObj, &done);
	listObj = Tcl_NewListObj(0, NULL);
	for (; !done; Tcl_DictObjNext(&search, &keyObj, &valueObj, &done)) {
	    Tcl_ListObjAppendElement(NULL, listObj, keyObj);
	    Tcl_ListObjAppendElement(NULL, listObj, valueObj);
	}
    }
    Tcl_IncrRefCount(listObj);
    if (Tcl_ListObjGetElements(NULL, listObj, numPtr, elemsPtr) != TCL_OK
	    || *numPtr % 2) {
	Tcl_DecrRefCount(listObj);
	return TCL_ERROR;
    }
    *listPtr = listObj;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * Key --
 *
 *	The word keyNames[key] as a Tcl_Obj of this thread (no reference
 *	for the caller).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
Key(
    int key)
{
    ThreadKeys *tkPtr = Tcl_GetThreadData(&keysKey, sizeof(ThreadKeys));

    if (tkPtr->objs[key] == NULL) {
	if (!tkPtr->made) {
	    tkPtr->made = 1;
	    tkPtr->numOpts = -1;
	    Tcl_CreateThreadExitHandler(KeysExitProc, NULL);
	}
	tkPtr->objs[key] = Tcl_NewStringObj(keyNames[key], -1);
	Tcl_IncrRefCount(tkPtr->objs[key]);
    }
    return tkPtr->objs[key];
}

/*
 *----------------------------------------------------------------------
 *
 * KeysExitProc --
 *
 *	At the exit of a thread (or of the process, with Tcl_Finalize):
 *	lets go of its words.
 *
 *----------------------------------------------------------------------
 */

static void
KeysExitProc(
    ClientData clientData)
{
    ThreadKeys *tkPtr = Tcl_GetThreadData(&keysKey, sizeof(ThreadKeys));
    int i;

    (void) clientData;
    for (i = 0; i < NUM_KEYS; i++) {
	if (tkPtr->objs[i] != NULL) {
	    Tcl_DecrRefCount(tkPtr->objs[i]);
	    tkPtr->objs[i] = NULL;
	}
    }
    if (tkPtr->lastPtr != NULL) {
	JobInterpRelease(tkPtr->lastPtr);
	tkPtr->lastPtr = NULL;
    }
    OptionsForget(tkPtr);
    tkPtr->made = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * UnexpectedCode --
 *
 *	Whether an error code is Tcl's {TCL UNEXPECTED_RESULT_CODE n}: a
 *	script evaluated at the top level of an interpreter that ended with
 *	break, continue or a code of its own gets that error instead.
 *
 *----------------------------------------------------------------------
 */

static int
UnexpectedCode(
    Tcl_Obj *ecObj)
{
    Tcl_Obj **words;
    int numWords;

    return ecObj != NULL
	    && Tcl_ListObjGetElements(NULL, ecObj, &numWords, &words) == TCL_OK
	    && numWords == 3 && strcmp(Tcl_GetString(words[0]), "TCL") == 0
	    && strcmp(Tcl_GetString(words[1]), "UNEXPECTED_RESULT_CODE") == 0;
}

/*
 *----------------------------------------------------------------------
 *
 * RunOne --
 *
 *	Runs one job in the child: sets its variables, its limits, evaluates
 *	its script at global level, then cleans up (Cleanup).
 *
 * Results:
 *	1 if the child may run the next job of its key, else 0. *outPtr
 *	says how the job ended (its objects hold a reference each).
 *
 * Side effects:
 *	Whatever the script does, in the child.
 *
 *----------------------------------------------------------------------
 */

static int
RunOne(
    Tcl_Interp *child,
    JobInterp *jiPtr,
    Tcl_Obj *specObj,
    const RunOptions *optsPtr,
    Tcl_Obj *tagObj,
    JobOutcome *outPtr)
{
    Tcl_Obj *scriptObj, *varsObj, *limitsObj, *valueObj, *listObj = NULL;
    Tcl_Obj *optsObj = NULL, *msgObj = NULL, **elems = NULL;
    Tcl_WideInt commands = optsPtr->commands, c0, c1;
    int time = optsPtr->time, code, clean, level, numElems = 0, i;
    Tcl_Time deadline;

    memset(outPtr, 0, sizeof(JobOutcome));

    /*
     * The spec: script, vars, limits {commands n time ms}. (Read as a
     * list of pairs, as it came in a message, unless it is a dict
     * already: the same values, without a hash table per job.)
     */

    if (PairValue(specObj, K_SCRIPT, &scriptObj) != TCL_OK) {
	msgObj = Tcl_NewStringObj("the spec must be a dict", -1);
	goto badSpec;
    }
    PairValue(specObj, K_VARS, &varsObj);
    PairValue(specObj, K_LIMITS, &limitsObj);
    if (limitsObj != NULL) {
	if (PairValue(limitsObj, K_COMMANDS, &valueObj) != TCL_OK) {
	    valueObj = NULL;
	}
	if (valueObj != NULL && (Tcl_GetWideIntFromObj(NULL, valueObj,
		&commands) != TCL_OK || commands < 1
		|| commands > MAX_COMMANDS)) {
	    msgObj = Tcl_ObjPrintf("bad value \"%s\" for -commands: must be"
		    " an integer from 1 to %d", Tcl_GetString(valueObj),
		    MAX_COMMANDS);
	    goto badSpec;
	}
	if (PairValue(limitsObj, K_TIME, &valueObj) != TCL_OK) {
	    valueObj = NULL;
	}
	if (valueObj != NULL
		&& Tcl_GetIntFromObj(NULL, valueObj, &time) == TCL_OK) {
	    /* Never longer than the default. */
	    if (time > optsPtr->time) {
		time = optsPtr->time;
	    }
	    if (time < 1) {
		msgObj = Tcl_ObjPrintf("bad value \"%d\" for -time: must be"
			" an integer from 1 to %d", time, MAX_TIME);
		goto badSpec;
	    }
	} else {
	    time = optsPtr->time;
	}
    }
    if (varsObj != NULL && varsObj == jiPtr->varsObj) {
	/* (The last job's vars again: their pairs, checked then.) */
	listObj = jiPtr->varsListObj;
	Tcl_IncrRefCount(listObj);
	Tcl_ListObjGetElements(NULL, listObj, &numElems, &elems);
    } else if (varsObj != NULL) {
	/* (Its pairs serve the check, the setting and the cleanup.) */
	if (GetPairs(varsObj, jiPtr->varsListObj, &listObj, &numElems,
		&elems) != TCL_OK) {
	    msgObj = Tcl_NewStringObj("bad value for -vars: must be a dict"
		    " name -> value", -1);
	    goto badSpec;
	}
	if (!CheckVars(numElems, elems, &msgObj)) {
	    Tcl_DecrRefCount(listObj);
	    goto badSpec;
	}
	VarsForget(jiPtr);
	jiPtr->varsObj = varsObj;
	jiPtr->varsListObj = listObj;
	Tcl_IncrRefCount(varsObj);
	Tcl_IncrRefCount(listObj);
    }
    scriptObj = scriptObj ? scriptObj : Tcl_NewObj();
    if (jiPtr->scriptObj != NULL && jiPtr->scriptObj != scriptObj) {
	int len1, len2;
	const char *s1 = Tcl_GetStringFromObj(scriptObj, &len1);
	const char *s2 = Tcl_GetStringFromObj(jiPtr->scriptObj, &len2);

	if (len1 == len2 && memcmp(s1, s2, len1) == 0) {
	    /* The same script again: keep its bytecode. */
	    scriptObj = jiPtr->scriptObj;
	}
    }
    Tcl_IncrRefCount(scriptObj);
    if (jiPtr->scriptObj != scriptObj) {
	if (jiPtr->scriptObj != NULL) {
	    Tcl_DecrRefCount(jiPtr->scriptObj);
	}
	jiPtr->scriptObj = scriptObj;
	Tcl_IncrRefCount(scriptObj);
    }
    Tcl_IncrRefCount(specObj);

    /* The job's state: output capture, progress. */
    Tcl_SetObjLength(jiPtr->outObj, 0);
    Tcl_SetObjLength(jiPtr->errObj, 0);
    jiPtr->numChars = 0;
    jiPtr->maxChars = optsPtr->output;
    jiPtr->over = 0;
    if (optsPtr->progressObj != NULL) {
	/* (The prefix and the tag: put together only if progress is
	 * called.) */
	jiPtr->progressObj = optsPtr->progressObj;
	Tcl_IncrRefCount(jiPtr->progressObj);
	if (tagObj != NULL) {
	    jiPtr->tagObj = tagObj;
	    Tcl_IncrRefCount(tagObj);
	}
    }
    jiPtr->active = 1;

    /*
     * Variables, then the limits, then the script. The command limit
     * counts from the child's count after its last job, with room for
     * what is done around the script (so a job may run a few dozen
     * commands more than its limit).
     */

    Tcl_ResetResult(child);
    code = TCL_OK;
    for (i = 0; i < numElems && code == TCL_OK; i += 2) {
	if (Tcl_ObjSetVar2(child, elems[i], NULL, elems[i + 1],
		TCL_GLOBAL_ONLY | TCL_LEAVE_ERR_MSG) == NULL) {
	    code = TCL_ERROR;
	}
    }
    Tcl_GetTime(&deadline);
    deadline.sec += time / 1000;
    deadline.usec += (time % 1000) * 1000;
    if (deadline.usec >= 1000000) {
	deadline.sec++;
	deadline.usec -= 1000000;
    }
    Tcl_LimitSetTime(child, &deadline);
    Tcl_LimitTypeSet(child, TCL_LIMIT_TIME);
    Tcl_LimitSetCommands(child, (int) (jiPtr->used + commands
	    + 2 * numElems + 32));
    Tcl_LimitTypeSet(child, TCL_LIMIT_COMMANDS);
    if (code != TCL_OK) {
	goto failed;
    }
    c0 = jiPtr->used;

    code = Tcl_EvalObjEx(child, scriptObj, TCL_EVAL_GLOBAL);
    if (Tcl_InterpDeleted(child)) {
	goto destroyed;
    }
    if (jiPtr->over || Tcl_LimitExceeded(child)) {
	goto failed;
    }
    if (code != TCL_OK) {
	optsObj = Tcl_GetReturnOptions(child, code);
	Tcl_IncrRefCount(optsObj);
    }

    /* How the script ended. */
    if (code == TCL_RETURN) {
	/* The script's own return: at the top level, -code applies. */
	valueObj = DictValue(optsObj, K_LEVEL);
	if (valueObj != NULL
		&& Tcl_GetIntFromObj(NULL, valueObj, &level) == TCL_OK
		&& level == 1) {
	    valueObj = DictValue(optsObj, K_CODE);
	    if (valueObj == NULL
		    || Tcl_GetIntFromObj(NULL, valueObj, &code) != TCL_OK) {
		code = TCL_OK;
	    }
	} else {
	    code = TCL_OK;
	}
    }
    switch (code) {
    case TCL_OK:
	Outcome(outPtr, "ok", Tcl_GetObjResult(child), NULL, NULL);
	break;
    case TCL_ERROR: {
	Tcl_Obj *infoObj = DictValue(optsObj, K_OPT_ERRORINFO);
	Tcl_Obj *ecObj = DictValue(optsObj, K_OPT_ERRORCODE);

	if (UnexpectedCode(ecObj)) {
	    /*
	     * Tcl's own error for a break, continue or other code that
	     * reached the top level: said as the sandbox always did.
	     */

	    Outcome(outPtr, "error", Tcl_GetObjResult(child),
		    Tcl_NewStringObj("TCL RESULT UNEXPECTED", -1), NULL);
	    break;
	}
	Outcome(outPtr, "error", Tcl_GetObjResult(child),
		ecObj ? ecObj : Tcl_NewStringObj("NONE", -1),
		infoObj ? infoObj : Tcl_GetObjResult(child));
	break;
    }
    case TCL_BREAK:
    case TCL_CONTINUE:
	Outcome(outPtr, "error", Tcl_ObjPrintf("invoked \"%s\" outside of a"
		" loop", code == TCL_BREAK ? "break" : "continue"),
		Tcl_NewStringObj("TCL RESULT UNEXPECTED", -1), NULL);
	break;
    default:
	Outcome(outPtr, "error", Tcl_ObjPrintf("command returned bad code:"
		" %d", code), Tcl_NewStringObj("TCL RESULT UNEXPECTED", -1),
		NULL);
	break;
    }
    if (optsObj != NULL) {
	Tcl_DecrRefCount(optsObj);
	optsObj = NULL;
    }
    if (CommandCount(child, jiPtr, &c1) != TCL_OK) {
	code = TCL_ERROR;
	goto failed;
    }
    /*
     * (+ 1: the count as it always was, when [info cmdcount] was
     * evaluated, counting itself; it is called directly now.)
     */

    outPtr->commands = c1 - c0 + 1;
    if (outPtr->commands < 0) {
	outPtr->commands = 0;
    }

    clean = Cleanup(child, jiPtr, numElems, elems);
    if (Tcl_InterpDeleted(child)) {
	goto destroyed;
    }
    if (jiPtr->over || Tcl_LimitExceeded(child)) {
	/* The cleanup ran into a limit: the job's. */
	code = TCL_ERROR;
	goto failed;
    }
    if (clean) {
	Tcl_LimitTypeReset(child, TCL_LIMIT_TIME);
	if (jiPtr->used >= MAX_COMMANDS) {
	    clean = 0;
	}
    }
    goto done;

  failed:
    /*
     * A limit, or an error of the interpreter itself outside the script
     * (say, a core command that an earlier job of the key broke).
     */

    clean = 0;
    outPtr->commands = 0;
    if (jiPtr->over) {
	char max[TCL_INTEGER_SPACE * 2];

	snprintf(max, sizeof(max), "%" TCL_LL_MODIFIER "d", jiPtr->maxChars);
	Outcome(outPtr, "limit", Tcl_ObjPrintf("output limit of %s"
		" characters exceeded", max), Tcl_ObjPrintf("P2P SANDBOX"
		" LIMIT OUTPUT %s", max), NULL);
    } else if (Tcl_LimitExceeded(child)) {
	if (Tcl_LimitTypeExceeded(child, TCL_LIMIT_TIME)) {
	    Outcome(outPtr, "limit", Tcl_ObjPrintf("time limit of %d ms"
		    " exceeded", time), Tcl_ObjPrintf("P2P SANDBOX LIMIT TIME"
		    " %d", time), NULL);
	} else {
	    char n[TCL_INTEGER_SPACE * 2];

	    snprintf(n, sizeof(n), "%" TCL_LL_MODIFIER "d", commands);
	    Outcome(outPtr, "limit", Tcl_ObjPrintf("command limit of %s"
		    " exceeded", n), Tcl_ObjPrintf("P2P SANDBOX LIMIT"
		    " COMMANDS %s", n), NULL);
	    outPtr->commands = commands;
	}
    } else {
	Tcl_Obj *ecObj;

	optsObj = Tcl_GetReturnOptions(child, code);
	Tcl_IncrRefCount(optsObj);
	ecObj = DictValue(optsObj, K_OPT_ERRORCODE);
	Outcome(outPtr, "error", Tcl_GetObjResult(child),
		ecObj ? ecObj : Tcl_NewStringObj("NONE", -1), NULL);
	Tcl_DecrRefCount(optsObj);
    }
    goto done;

  destroyed:
    clean = 0;
    if (optsObj != NULL) {
	Tcl_DecrRefCount(optsObj);
    }
    Outcome(outPtr, "error", Tcl_NewStringObj("job interrupted: sandbox"
	    " destroyed", -1), Tcl_NewStringObj("P2P SANDBOX DESTROYED", -1),
	    NULL);
    outPtr->commands = 0;
    Tcl_SetObjLength(jiPtr->outObj, 0);
    Tcl_SetObjLength(jiPtr->errObj, 0);

  done:
    jiPtr->active = 0;
    if (jiPtr->progressObj) {
	Tcl_DecrRefCount(jiPtr->progressObj);
	jiPtr->progressObj = NULL;
    }
    if (jiPtr->tagObj) {
	Tcl_DecrRefCount(jiPtr->tagObj);
	jiPtr->tagObj = NULL;
    }
    Tcl_DecrRefCount(scriptObj);
    Tcl_DecrRefCount(specObj);
    if (listObj != NULL) {
	Tcl_DecrRefCount(listObj);
    }
    if (!Tcl_InterpDeleted(child)) {
	Tcl_ResetResult(child);
    }
    return clean;

  badSpec:
    outPtr->bad = 1;
    Outcome(outPtr, "error", msgObj, Tcl_NewStringObj("P2P USAGE BADVALUE",
	    -1), NULL);
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * StatusObj --
 *
 *	The word of a status (ok, error or limit), shared.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
StatusObj(
    const char *status)
{
    return Key(status[0] == 'o' ? K_OK : status[0] == 'l' ? K_LIMIT
	    : K_ERROR);
}

/*
 *----------------------------------------------------------------------
 *
 * ResultDict --
 *
 *	The result dict of one job in the sandbox's form: status result
 *	errorcode errorinfo elapsed commands stdout stderr (WorkerResult
 *	makes a worker's form).
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
ResultDict(
    const JobOutcome *outPtr,
    JobInterp *jiPtr,
    Tcl_WideInt elapsed)
{
    Tcl_Obj *kv[16];
    int n = 0;
    Tcl_Obj *emptyObj = Tcl_NewObj(), *listObj;

    Tcl_IncrRefCount(emptyObj);
#define PUT(k, v) \
    (kv[n++] = Key(k), kv[n++] = (v))
    PUT(K_STATUS, StatusObj(outPtr->status));
    PUT(K_RESULT, outPtr->resultObj);
    PUT(K_ERRORCODE, outPtr->errorCodeObj ? outPtr->errorCodeObj : emptyObj);
    PUT(K_ERRORINFO, outPtr->errorInfoObj ? outPtr->errorInfoObj : emptyObj);
    PUT(K_ELAPSED, Tcl_NewWideIntObj(elapsed));
    PUT(K_COMMANDS, Tcl_NewWideIntObj(outPtr->commands));
    PUT(K_STDOUT, outPtr->bad ? emptyObj : jiPtr->outObj);
    PUT(K_STDERR, outPtr->bad ? emptyObj : jiPtr->errObj);
#undef PUT

    /*
     * A flat list of unique keys is a dict. stdout and stderr are the
     * capture objects themselves: the next job replaces them (they are
     * shared now) instead of emptying them.
     */

    listObj = Tcl_NewListObj(n, kv);
    Tcl_DecrRefCount(emptyObj);
    return listObj;
}

/*
 *----------------------------------------------------------------------
 *
 * AppendValue, AppendObj, AppendNumber, NumberBack --
 *
 *	Append a key (text) and a value, as a word of a list after a space,
 *	to a string being built. NumberBack writes " KEY NUMBER" (a short
 *	key) into a buffer from the back, ending at end.
 *
 * Results:
 *	NumberBack: where it began writing.
 *	AppendValue, AppendObj: 1 if the value went in as it is or in
 *	braces, not with backslashes. (A string made only of such words,
 *	joined by spaces, has balanced braces and no backslash that Tcl's
 *	scan of a list element would stop at, and does not begin with a
 *	brace or a hash: as an element of a list, Tcl writes it {STRING}.)
 *
 *----------------------------------------------------------------------
 */

/*
 * The characters that make Tcl quote a list element (TclScanElement) other
 * than at its start, where a hash is one too; NUL, which a Tcl string does
 * not hold, is left to Tcl.
 */

static const char listSpecial[256] = {
    ['\0'] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1,
    [' '] = 1, ['"'] = 1, ['$'] = 1, [';'] = 1, ['['] = 1, ['\\'] = 1,
    [']'] = 1, ['{'] = 1, ['}'] = 1
};

static int
AppendValue(
    Tcl_DString *dsPtr,
    const char *key,
    const char *value,
    int len)
{
    int flags = TCL_DONT_QUOTE_HASH, need, at, i;

    Tcl_DStringAppend(dsPtr, key, -1);
    if (len == 0) {
	Tcl_DStringAppend(dsPtr, " {}", 3);
	return 1;
    }

    /*
     * A value without a character that a list quotes goes in as it is
     * (not at the start of a list, a hash is such a character too):
     * Tcl's scan of it, a character at a time, costs more.
     */

    for (i = 0; i < len && !listSpecial[(unsigned char) value[i]]; i++) {
	/* (Nothing.) */
    }
    if (i == len) {
	at = Tcl_DStringLength(dsPtr);
	Tcl_DStringSetLength(dsPtr, at + 1 + len);
	Tcl_DStringValue(dsPtr)[at] = ' ';
	memcpy(Tcl_DStringValue(dsPtr) + at + 1, value, len);
	return 1;
    }
    need = Tcl_ScanCountedElement(value, len, &flags);
    at = Tcl_DStringLength(dsPtr) + 1;
    Tcl_DStringSetLength(dsPtr, at + need);
    Tcl_DStringValue(dsPtr)[at - 1] = ' ';
    need = Tcl_ConvertCountedElement(value, len, Tcl_DStringValue(dsPtr) + at,
	    flags);
    Tcl_DStringSetLength(dsPtr, at + need);
    return need == len || (need == len + 2
	    && Tcl_DStringValue(dsPtr)[at] == '{');
}

static int
AppendObj(
    Tcl_DString *dsPtr,
    const char *key,
    Tcl_Obj *objPtr)
{
    int len;
    const char *value = Tcl_GetStringFromObj(objPtr, &len);

    return AppendValue(dsPtr, key, value, len);
}

static char *
NumberBack(
    char *end,
    const char *key,
    Tcl_WideInt value)
{
    char *p = end;
    Tcl_WideUInt u = value < 0 ? -(Tcl_WideUInt) value : (Tcl_WideUInt) value;
    size_t keyLen = strlen(key);

    /* (By hand: snprintf cost more than the rest of a result.) */
    do {
	*--p = (char) ('0' + u % 10);
	u /= 10;
    } while (u != 0);
    if (value < 0) {
	*--p = '-';
    }
    *--p = ' ';
    p -= keyLen;
    memcpy(p, key, keyLen);
    return p;
}

static void
AppendNumber(
    Tcl_DString *dsPtr,
    const char *key,
    Tcl_WideInt value)
{
    char buf[TCL_INTEGER_SPACE + 16];
    char *p = NumberBack(buf + sizeof(buf), key, value);

    Tcl_DStringAppend(dsPtr, p, (int) (buf + sizeof(buf) - p));
}

/*
 *----------------------------------------------------------------------
 *
 * WorkerResult --
 *
 *	The result of one job in the form of a worker's job result, made
 *	as the string of the dict (status result error stdout stderr exit
 *	signal outputs worker started finished ms) that goes on the wire:
 *	written directly, it costs a fraction of a list's string.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
WorkerResult(
    const JobOutcome *outPtr,
    JobInterp *jiPtr,
    const RunOptions *optsPtr,
    Tcl_WideInt startedMs,
    Tcl_WideInt finishedMs)
{
    Tcl_DString ds;
    Tcl_Obj *resultObj;
    int ok = strcmp(outPtr->status, "ok") == 0, safe = optsPtr->workerSafe;
    int len, at;
    const char *value;
    char buf[3 * TCL_INTEGER_SPACE + 32], *p, *end = buf + sizeof(buf);

    Tcl_DStringInit(&ds);
    if (outPtr->bad) {
	Tcl_Obj *msgObj = Tcl_ObjPrintf("bad job: %s",
		Tcl_GetString(outPtr->resultObj));

	Tcl_IncrRefCount(msgObj);
	Tcl_DStringAppend(&ds, "status error result {}", -1);
	safe &= AppendObj(&ds, " error", msgObj);
	Tcl_DecrRefCount(msgObj);
	Tcl_DStringAppend(&ds, " stdout {} stderr {} exit 1", -1);
    } else if (ok && (Tcl_GetStringFromObj(jiPtr->outObj, &len), len == 0)
	    && (Tcl_GetStringFromObj(jiPtr->errObj, &len), len == 0)) {
	/*
	 * (The common case: the words after the result are those made
	 * for the batch, up to the times. Room for all of it at once.)
	 */

	value = Tcl_GetStringFromObj(outPtr->resultObj, &len);
	Tcl_DStringSetLength(&ds, len + Tcl_DStringLength(&optsPtr->worker)
		+ (int) sizeof(buf) + 32);
	Tcl_DStringSetLength(&ds, 0);
	Tcl_DStringAppend(&ds, "status ok", 9);
	safe &= AppendValue(&ds, " result", value, len);
	Tcl_DStringAppend(&ds, Tcl_DStringValue(&optsPtr->worker),
		Tcl_DStringLength(&optsPtr->worker));
	goto times;
    } else {
	Tcl_DStringAppend(&ds, "status ", -1);
	Tcl_DStringAppend(&ds, outPtr->status, -1);
	if (ok) {
	    safe &= AppendObj(&ds, " result", outPtr->resultObj);
	    Tcl_DStringAppend(&ds, " error {}", -1);
	} else {
	    Tcl_DStringAppend(&ds, " result {}", -1);
	    safe &= AppendObj(&ds, " error", outPtr->resultObj);
	}
	safe &= AppendObj(&ds, " stdout", jiPtr->outObj);
	safe &= AppendObj(&ds, " stderr", jiPtr->errObj);
	AppendNumber(&ds, " exit", !ok);
    }
    Tcl_DStringAppend(&ds, " signal {} outputs {}", -1);
    Tcl_DStringAppend(&ds, Tcl_DStringValue(&optsPtr->worker) + OK_TAIL_LEN,
	    Tcl_DStringLength(&optsPtr->worker) - OK_TAIL_LEN);

  times:
    /* (The three numbers written back to front into one buffer.) */
    p = NumberBack(end, " ms", finishedMs - startedMs);
    p = NumberBack(p, " finished", finishedMs);
    p = NumberBack(p, " started", startedMs);
    at = Tcl_DStringLength(&ds);
    Tcl_DStringSetLength(&ds, at + (int) (end - p));
    memcpy(Tcl_DStringValue(&ds) + at, p, end - p);
    if (ds.string != ds.staticSpace) {
	/*
	 * The string of the result is the DString's own (ckalloc'd)
	 * memory, taken over as Tcl_DStringResult takes it over.
	 */

	resultObj = Tcl_NewObj();
	resultObj->bytes = ds.string;
	resultObj->length = ds.length;
    } else {
	resultObj = Tcl_NewStringObj(ds.string, ds.length);
	Tcl_DStringFree(&ds);
    }
    if (safe) {
	/* (A pure string: no internal representation to let go of.) */
	resultObj->typePtr = &jobResultType;
    }
    return resultObj;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseOptions --
 *
 *	The options of jobRun (objv, objc of them: option value ...) into
 *	*optsPtr, over the defaults it sets first. With interp NULL, it only
 *	says whether they are good (for P2pJobOptionsGood, which leaves
 *	anything unusual to the sandbox's Tcl).
 *
 * Results:
 *	TCL_OK or TCL_ERROR (with a message in interp, if not NULL).
 *
 *----------------------------------------------------------------------
 */

static int
ParseOptions(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[],
    RunOptions *optsPtr)
{
    static const char *const options[] = {
	"-commands", "-output", "-progress", "-tags", "-time", "-worker",
	NULL
    };
    enum { OPT_COMMANDS, OPT_OUTPUT, OPT_PROGRESS, OPT_TAGS, OPT_TIME,
	OPT_WORKER };
    int i, index;
    Tcl_WideInt value;

    optsPtr->commands = 10000000;
    optsPtr->time = 10000;
    optsPtr->output = 1048576;
    optsPtr->progressObj = NULL;
    optsPtr->tagsObj = NULL;
    optsPtr->workerObj = NULL;
    if (objc % 2) {
	return TCL_ERROR;
    }
    for (i = 0; i < objc; i += 2) {
	if (Tcl_GetIndexFromObj(interp, objv[i], options, "option", 0,
		&index) != TCL_OK) {
	    return TCL_ERROR;
	}
	switch (index) {
	case OPT_COMMANDS:
	case OPT_OUTPUT:
	case OPT_TIME:
	    if (Tcl_GetWideIntFromObj(interp, objv[i + 1], &value) != TCL_OK) {
		return TCL_ERROR;
	    }
	    if (value < (index == OPT_OUTPUT ? 0 : 1) || value > (index
		    == OPT_COMMANDS ? MAX_COMMANDS : MAX_TIME)) {
		if (interp != NULL) {
		    P2pError(interp, "P2P USAGE BADVALUE", "bad value"
			    " \"%s\" for %s", Tcl_GetString(objv[i + 1]),
			    options[index]);
		}
		return TCL_ERROR;
	    }
	    if (index == OPT_COMMANDS) {
		optsPtr->commands = value;
	    } else if (index == OPT_OUTPUT) {
		optsPtr->output = value;
	    } else {
		optsPtr->time = (int) value;
	    }
	    break;
	case OPT_PROGRESS:
	    optsPtr->progressObj = objv[i + 1];
	    break;
	case OPT_TAGS:
	    optsPtr->tagsObj = objv[i + 1];
	    break;
	case OPT_WORKER:
	    optsPtr->workerObj = objv[i + 1];
	    break;
	}
    }
    if (optsPtr->progressObj != NULL) {
	int len;

	if (Tcl_ListObjLength(interp, optsPtr->progressObj, &len) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (len == 0) {
	    optsPtr->progressObj = NULL;
	}
    }
    if (optsPtr->tagsObj != NULL
	    && Tcl_ListObjLength(interp, optsPtr->tagsObj, &index) != TCL_OK) {
	return TCL_ERROR;
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * KeptOptions, OptionsForget --
 *
 *	KeptOptions: ParseOptions for jobRun, whose options are mostly the
 *	very objects of the last call (the pool's defaults, the worker's
 *	kept -worker, -time and -progress): then what they gave then,
 *	without going over them again. The objects are held meanwhile, so
 *	that they are not changed, nor freed and made again at the same
 *	address. OptionsForget lets go of them.
 *
 * Results:
 *	As ParseOptions.
 *
 *----------------------------------------------------------------------
 */

static int
KeptOptions(
    Tcl_Interp *interp,
    ThreadKeys *tkPtr,
    int objc,
    Tcl_Obj *const objv[],
    RunOptions *optsPtr)
{
    int i;

    if (tkPtr->made && objc == tkPtr->numOpts) {
	for (i = 0; i < objc && objv[i] == tkPtr->optv[i]; i++) {
	    /* (The same object.) */
	}
	if (i == objc) {
	    *optsPtr = tkPtr->opts;
	    return TCL_OK;
	}
    }
    if (ParseOptions(interp, objc, objv, optsPtr) != TCL_OK) {
	return TCL_ERROR;
    }
    if (tkPtr->made && objc <= MAX_KEPT_OPTS) {
	for (i = 0; i < objc; i++) {
	    Tcl_IncrRefCount(objv[i]);
	}
	OptionsForget(tkPtr);
	memcpy(tkPtr->optv, objv, objc * sizeof(Tcl_Obj *));
	tkPtr->numOpts = objc;
	tkPtr->opts = *optsPtr;
    }
    return TCL_OK;
}

static void
OptionsForget(
    ThreadKeys *tkPtr)
{
    int i;

    for (i = 0; i < tkPtr->numOpts; i++) {
	Tcl_DecrRefCount(tkPtr->optv[i]);
    }
    tkPtr->numOpts = -1;
}

/*
 *----------------------------------------------------------------------
 *
 * RunJobs --
 *
 *	Runs the jobs of specsObj in the armed, idle child, in turn, until
 *	one leaves it unusable (the work of jobRun, its options parsed).
 *
 * Results:
 *	The list of the results of the jobs that ran (no reference for the
 *	caller); *cleanPtr: 1 if the child may run the next job of its key.
 *
 * Side effects:
 *	Runs the jobs.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
RunJobs(
    Tcl_Interp *child,
    JobInterp *jiPtr,
    Tcl_Obj *specsObj,
    RunOptions *optsPtr,
    int *cleanPtr)
{
    Tcl_Obj **specs, **tags = NULL, *resultsObj;
    int numSpecs, numTags = 0, i, clean = 1;

    /* (Both lists checked by the callers.) */
    Tcl_IncrRefCount(specsObj);
    Tcl_ListObjGetElements(NULL, specsObj, &numSpecs, &specs);
    if (optsPtr->tagsObj != NULL) {
	Tcl_IncrRefCount(optsPtr->tagsObj);
	Tcl_ListObjGetElements(NULL, optsPtr->tagsObj, &numTags, &tags);
    }
    if (optsPtr->progressObj) {
	Tcl_IncrRefCount(optsPtr->progressObj);
    }
    if (optsPtr->workerObj) {
	Tcl_IncrRefCount(optsPtr->workerObj);
	Tcl_DStringInit(&optsPtr->worker);
	Tcl_DStringAppend(&optsPtr->worker, OK_TAIL, OK_TAIL_LEN);
	optsPtr->workerSafe = AppendObj(&optsPtr->worker, " worker",
		optsPtr->workerObj);
    }

    if (jiPtr->outObj == NULL) {
	jiPtr->outObj = Tcl_NewObj();
	Tcl_IncrRefCount(jiPtr->outObj);
	jiPtr->errObj = Tcl_NewObj();
	Tcl_IncrRefCount(jiPtr->errObj);
    }
    jiPtr->refCount++;
    Tcl_Preserve(child);
    resultsObj = Tcl_NewListObj(0, NULL);
    for (i = 0; i < numSpecs && clean; i++) {
	JobOutcome out;
	Tcl_WideInt t0, t1;

	if (Tcl_IsShared(jiPtr->outObj)) {
	    Tcl_DecrRefCount(jiPtr->outObj);
	    jiPtr->outObj = Tcl_NewObj();
	    Tcl_IncrRefCount(jiPtr->outObj);
	}
	if (Tcl_IsShared(jiPtr->errObj)) {
	    Tcl_DecrRefCount(jiPtr->errObj);
	    jiPtr->errObj = Tcl_NewObj();
	    Tcl_IncrRefCount(jiPtr->errObj);
	}
	t0 = NowMicros();
	clean = RunOne(child, jiPtr, specs[i], optsPtr,
		i < numTags ? tags[i] : NULL, &out);
	t1 = NowMicros();
	if (Tcl_InterpDeleted(child)) {
	    clean = 0;
	}
	Tcl_ListObjAppendElement(NULL, resultsObj, optsPtr->workerObj != NULL
		? WorkerResult(&out, jiPtr, optsPtr, t0 / 1000, t1 / 1000)
		: ResultDict(&out, jiPtr, t1 - t0));
	Tcl_DecrRefCount(out.resultObj);
	if (out.errorCodeObj) {
	    Tcl_DecrRefCount(out.errorCodeObj);
	}
	if (out.errorInfoObj) {
	    Tcl_DecrRefCount(out.errorInfoObj);
	}
    }
    Tcl_Release(child);
    JobInterpRelease(jiPtr);
    if (optsPtr->progressObj) {
	Tcl_DecrRefCount(optsPtr->progressObj);
    }
    if (optsPtr->workerObj) {
	Tcl_DStringFree(&optsPtr->worker);
	Tcl_DecrRefCount(optsPtr->workerObj);
    }
    if (optsPtr->tagsObj) {
	Tcl_DecrRefCount(optsPtr->tagsObj);
    }
    Tcl_DecrRefCount(specsObj);
    *cleanPtr = clean;
    return resultsObj;
}

/*
 *----------------------------------------------------------------------
 *
 * JobRunObjCmd --
 *
 *	::p2p::Internal::jobRun child specs ?-commands n? ?-time ms?
 *	?-output chars? ?-progress prefix? ?-tags list? ?-worker address?
 *
 *	Runs the jobs of specs in the armed child, in turn, until one
 *	leaves it unusable. -commands and -time are the limits of a job
 *	whose spec has none (a spec's time is never longer than -time);
 *	-progress is the prefix that the child's progress calls, with the
 *	job's word of -tags and the message appended.
 *
 * Results:
 *	{clean results}: the result dicts of the jobs that ran, and 1 if
 *	the child may run the next job of its key.
 *
 * Side effects:
 *	Runs the jobs.
 *
 *----------------------------------------------------------------------
 */

static int
JobRunObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj *resultsObj, *pair[2];
    int clean;

    (void) clientData;
    if (objc < 3 || objc % 2 == 0) {
	Tcl_WrongNumArgs(interp, 1, objv, "child specs ?option value ...?");
	return TCL_ERROR;
    }
    if (P2pJobRunIn(interp, objv[1], objv[2], objc - 3, objv + 3, NULL,
	    &clean, &resultsObj) != TCL_OK) {
	return TCL_ERROR;
    }
    pair[0] = Tcl_NewBooleanObj(clean);
    pair[1] = resultsObj;
    Tcl_SetObjResult(interp, Tcl_NewListObj(2, pair));
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pJobRunIn --
 *
 *	jobRun for C callers (the sandbox's pool, generic/p2pPool.c): runs
 *	the jobs of specsObj (a list) in the armed child named childObj,
 *	with the options optv (as jobRun takes them; tagsObj, if not NULL,
 *	is the value of -tags).
 *
 * Results:
 *	TCL_OK with *resultsPtr (the results of the jobs that ran, no
 *	reference for the caller) and *cleanPtr; or TCL_ERROR, with a
 *	message in interp.
 *
 * Side effects:
 *	Runs the jobs.
 *
 *----------------------------------------------------------------------
 */

int
P2pJobRunIn(
    Tcl_Interp *interp,
    Tcl_Obj *childObj,
    Tcl_Obj *specsObj,
    int optc,
    Tcl_Obj *const optv[],
    Tcl_Obj *tagsObj,
    int *cleanPtr,
    Tcl_Obj **resultsPtr)
{
    Tcl_Interp *child;
    JobInterp *jiPtr;
    RunOptions opts;
    int numSpecs, len, lastLen;
    const char *name;
    ThreadKeys *tkPtr = Tcl_GetThreadData(&keysKey, sizeof(ThreadKeys));

    /*
     * The child: the one of the last call again (the usual case: the
     * next batch of a key), if it lives and has that name here, else
     * looked up.
     */

    name = Tcl_GetStringFromObj(childObj, &len);
    jiPtr = tkPtr->lastPtr;
    child = NULL;
    if (jiPtr != NULL && jiPtr->child != NULL && jiPtr->parent == interp
	    && !Tcl_InterpDeleted(jiPtr->child)) {
	const char *lastName = Tcl_GetStringFromObj(jiPtr->nameObj, &lastLen);

	if (lastLen == len && memcmp(lastName, name, len) == 0) {
	    child = jiPtr->child;
	}
    }
    if (child == NULL) {
	child = Tcl_GetSlave(interp, name);
	if (child == NULL) {
	    return TCL_ERROR;
	}
	jiPtr = Tcl_GetAssocData(child, JOB_ASSOC, NULL);
	if (jiPtr == NULL) {
	    return P2pError(interp, "P2P SANDBOX UNARMED", "interpreter \"%s\""
		    " is not a job interpreter", name);
	}
	if (!tkPtr->made) {
	    /* (Key makes the exit handler that lets go of lastPtr.) */
	    Key(K_SCRIPT);
	}
	jiPtr->refCount++;
	if (tkPtr->lastPtr != NULL) {
	    JobInterpRelease(tkPtr->lastPtr);
	}
	tkPtr->lastPtr = jiPtr;
    }
    if (jiPtr->active) {
	return P2pError(interp, "P2P SANDBOX BUSY", "interpreter \"%s\" is"
		" running a job", name);
    }
    if (KeptOptions(interp, tkPtr, optc, optv, &opts) != TCL_OK
	    || Tcl_ListObjLength(interp, specsObj, &numSpecs) != TCL_OK) {
	return TCL_ERROR;
    }
    if (tagsObj != NULL) {
	if (Tcl_ListObjLength(interp, tagsObj, &len) != TCL_OK) {
	    return TCL_ERROR;
	}
	opts.tagsObj = tagsObj;
    }
    *resultsPtr = RunJobs(child, jiPtr, specsObj, &opts, cleanPtr);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pJobOptionsGood --
 *
 *	Whether the options optv (as jobRun takes them) are all good: known,
 *	with values in range (the sandbox's runs leaves anything else to its
 *	Tcl method RunsOptions).
 *
 * Results:
 *	1 if so, with *tagsPtr the value of -tags (or NULL); else 0.
 *
 *----------------------------------------------------------------------
 */

int
P2pJobOptionsGood(
    int optc,
    Tcl_Obj *const optv[],
    Tcl_Obj **tagsPtr)
{
    RunOptions opts;

    if (ParseOptions(NULL, optc, optv, &opts) != TCL_OK) {
	return 0;
    }
    *tagsPtr = opts.tagsObj;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pJobScriptSpec --
 *
 *	Whether spec (a job's spec, as it came) is a script job: `dict get
 *	$spec kind` is script. Read as jobRun reads specs (a string is
 *	read as a list, not made a dict; a plain string by P2pPlainListLike,
 *	into a list, which jobRun then reads). likeObj (or NULL) is a
 *	script job's spec read so before, likely to have words in common
 *	with this one (the last spec of the same worker, or of the same
 *	message): those words are shared, not made again.
 *
 * Results:
 *	The spec as read (specObj, likeObj, or a new list with no
 *	reference), or NULL if it is not a script job.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
P2pJobScriptSpec(
    Tcl_Obj *specObj,
    Tcl_Obj *likeObj)
{
    Tcl_Obj *kindObj, *listObj = NULL;
    const char *s;
    int len;

    if (specObj->typePtr == NULL
	    && (listObj = P2pPlainListLike(specObj, likeObj)) != NULL) {
	specObj = listObj;
    }
    if (PairValue(specObj, K_KIND, &kindObj) == TCL_OK && kindObj != NULL) {
	s = Tcl_GetStringFromObj(kindObj, &len);
	if (len == 6 && memcmp(s, "script", 6) == 0) {
	    return specObj;
	}
    }
    if (listObj != NULL) {
	Tcl_IncrRefCount(listObj);
	Tcl_DecrRefCount(listObj);
    }
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pJobReply --
 *
 *	The worker's reply to a message whose jobs ran at once (jobReply for
 *	C callers): see JobReplyObjCmd.
 *
 * Results:
 *	The reply (no reference for the caller), or NULL if ids and results
 *	are both empty.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
P2pJobReply(
    int numIds,
    Tcl_Obj *const ids[],
    int numResults,
    Tcl_Obj *const results[])
{
    Tcl_Obj *localElems[2 * LOCAL_PAIRS], **elems = localElems;
    Tcl_Obj *emptyObj, *pairsObj, *pair[2];
    int localFlags[2 * LOCAL_PAIRS], *flags = localFlags;
    int n, i, len, total;
    const char *s;
    char *bytes, *p;

    n = numIds > numResults ? numIds : numResults;
    if (n == 0) {
	return NULL;
    }
    emptyObj = Tcl_NewObj();
    Tcl_IncrRefCount(emptyObj);
    if (n > LOCAL_PAIRS) {
	elems = ckalloc(2 * n * sizeof(Tcl_Obj *));
	flags = ckalloc(2 * n * sizeof(int));
    }

    /*
     * The string's length first (at most: what Tcl's scan of each element
     * says), then the string, in one block.
     */

    total = 2 * n;
    for (i = 0; i < 2 * n; i++) {
	Tcl_Obj *objPtr = i % 2 == 0
		? (i / 2 < numIds ? ids[i / 2] : emptyObj)
		: (i / 2 < numResults ? results[i / 2] : emptyObj);

	elems[i] = objPtr;
	s = Tcl_GetStringFromObj(objPtr, &len);
	if (objPtr->typePtr == &jobResultType) {
	    flags[i] = -1;
	    total += len + 2;
	} else {
	    flags[i] = i > 0 ? TCL_DONT_QUOTE_HASH : 0;
	    total += Tcl_ScanCountedElement(s, len, &flags[i]);
	}
    }
    p = bytes = ckalloc(total);
    for (i = 0; i < 2 * n; i++) {
	s = Tcl_GetStringFromObj(elems[i], &len);
	if (i > 0) {
	    *p++ = ' ';
	}
	if (flags[i] == -1) {
	    *p++ = '{';
	    memcpy(p, s, len);
	    p += len;
	    *p++ = '}';
	} else {
	    p += Tcl_ConvertCountedElement(s, len, p, flags[i]);
	}
    }
    *p = '\0';
    pairsObj = Tcl_NewListObj(2 * n, elems);
    if (elems != localElems) {
	ckfree(elems);
	ckfree(flags);
    }
    Tcl_DecrRefCount(emptyObj);

    /* (A list has no string until asked for one: this is it.) */
    pairsObj->bytes = bytes;
    pairsObj->length = (int) (p - bytes);
    pair[0] = Key(K_RESULTS);
    pair[1] = pairsObj;
    return Tcl_NewListObj(2, pair);
}

/*
 *----------------------------------------------------------------------
 *
 * JobBatchObjCmd --
 *
 *	::p2p::Internal::jobBatch token jobs: the worker's RunsNow asks
 *	whether the jobs of a runs message (a list: id token spec ...) are
 *	all script jobs (a spec whose kind is script) of token, each with
 *	an id of its own, so that they may run at once in one call of the
 *	sandbox, without a look at each in Tcl.
 *
 * Results:
 *	{ids specs} if so, else an empty list.
 *
 *----------------------------------------------------------------------
 */

static int
JobBatchObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj **jobs, *specObj = NULL, *idsObj, *specsObj, *pair[2];
    Tcl_HashTable seen;
    int numJobs, i, len, tokenLen, isNew, ok = 1;
    const char *token, *s;

    (void) clientData;
    if (objc != 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "token jobs");
	return TCL_ERROR;
    }
    if (Tcl_ListObjGetElements(NULL, objv[2], &numJobs, &jobs) != TCL_OK
	    || numJobs == 0 || numJobs % 3) {
	return TCL_OK;
    }
    token = Tcl_GetStringFromObj(objv[1], &tokenLen);
    Tcl_InitHashTable(&seen, TCL_STRING_KEYS);
    idsObj = Tcl_NewListObj(0, NULL);
    specsObj = Tcl_NewListObj(0, NULL);
    Tcl_IncrRefCount(idsObj);
    Tcl_IncrRefCount(specsObj);
    for (i = 0; i < numJobs && ok; i += 3) {
	s = Tcl_GetStringFromObj(jobs[i + 1], &len);
	ok = len == tokenLen && memcmp(s, token, len) == 0
		&& (specObj = P2pJobScriptSpec(jobs[i + 2], specObj)) != NULL;
	if (ok) {
	    /*
	     * (The spec as read: jobRun reads it again. The next spec
	     * shares the words it has in common with this one.)
	     */

	    Tcl_ListObjAppendElement(NULL, specsObj, specObj);
	    Tcl_ListObjAppendElement(NULL, idsObj, jobs[i]);
	    Tcl_CreateHashEntry(&seen, Tcl_GetString(jobs[i]), &isNew);
	    ok = isNew;
	}
    }
    Tcl_DeleteHashTable(&seen);
    if (ok) {
	pair[0] = idsObj;
	pair[1] = specsObj;
	Tcl_SetObjResult(interp, Tcl_NewListObj(2, pair));
    }
    Tcl_DecrRefCount(idsObj);
    Tcl_DecrRefCount(specsObj);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * JobReplyObjCmd --
 *
 *	::p2p::Internal::jobReply ids results: the worker's reply to a
 *	message whose jobs ran at once, {results {ID RESULT ...}}, the
 *	words of ids and results taken in turn (as foreach would: an empty
 *	word for the missing ones). The list of pairs has its string made
 *	here, as Tcl would make it: a result in a worker's form made by
 *	jobRun (jobResultType) goes in as {RESULT}, without the two passes
 *	over its characters that Tcl's scan and conversion of an element
 *	take.
 *
 * Results:
 *	The reply, or an empty list if ids and results are empty.
 *
 *----------------------------------------------------------------------
 */

static int
JobReplyObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj **ids, **results, *replyObj;
    int numIds, numResults;

    (void) clientData;
    if (objc != 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "ids results");
	return TCL_ERROR;
    }
    if (Tcl_ListObjGetElements(interp, objv[1], &numIds, &ids) != TCL_OK
	    || Tcl_ListObjGetElements(interp, objv[2], &numResults,
		&results) != TCL_OK) {
	return TCL_ERROR;
    }
    replyObj = P2pJobReply(numIds, ids, numResults, results);
    if (replyObj != NULL) {
	Tcl_SetObjResult(interp, replyObj);
    }
    return TCL_OK;
}
