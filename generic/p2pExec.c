/*
 * p2pExec.c --
 *
 *	p2p::exec, the process runner: starts a program as a child process
 *	with uv_spawn (never through a shell), in its own session and so its
 *	own process group, collects its output as bytes, and reports how it
 *	ended. A wall-clock timeout and cancellation kill the whole process
 *	group; resource limits are set by running the program through
 *	prlimit (util-linux), which sets them on itself and then execs the
 *	program. libuv callbacks only update C state and queue a task
 *	(P2pLoopQueueTask); the task runs the -onoutput and -command
 *	scripts from the Tcl event loop.
 */

#include "p2pjobsInt.h"
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#define DEFAULT_MAX_OUTPUT	1048576

/*
 * Output waiting for -onoutput: when this much is undelivered, reading
 * from the child stops until the Tcl side caught up (the child then
 * blocks on a full pipe instead of the worker buffering without bound).
 */

#define PENDING_LIMIT		(1 << 20)

/*
 * After the program exited (and what it left in its process group was
 * killed), output still in the pipes is read to the end; a descendant
 * that escaped into a session of its own may keep a pipe open, so
 * reading gives up this long after the exit.
 */

#define DRAIN_GRACE_MS		2000

#define READ_BUF_SIZE		65536

enum { STREAM_OUT, STREAM_ERR };
static const char *const streamNames[] = {"stdout", "stderr"};

/*
 * Process flags.
 */

#define P_EXITED	(1<<0)	/* exit callback came: status is known. */
#define P_FINISHED	(1<<1)	/* Exited and pipes drained: result made. */
#define P_KILLED	(1<<2)	/* We sent SIGKILL to the group. */
#define P_TIMEDOUT	(1<<3)	/* ... because of -timeout. */
#define P_CANCELLED	(1<<4)	/* ... because of cancel or interp death. */
#define P_IN_TABLE	(1<<5)	/* Listed in its interp's table. */
#define P_TASK_QUEUED	(1<<6)	/* A TaskProc is queued for it. */
#define P_REPORTED	(1<<7)	/* The task passed the end (-command). */

typedef struct ExecInterp ExecInterp;
typedef struct ExecThread ExecThread;

/*
 * Stream --
 *
 *	The read end of the child's stdout or stderr. Embedded in its
 *	ExecProc.
 */

typedef struct Stream {
    uv_pipe_t pipe;		/* pipe.data points to the ExecProc. */
    int open;			/* Initialized and uv_close not called. */
    int done;			/* No more reading: EOF, error, given up. */
    int paused;			/* uv_read_stop for -onoutput backlog. */
    P2pBuf kept;		/* The first maxOutput bytes. */
    int truncated;		/* More arrived than kept. */
} Stream;

/*
 * Chunk --
 *
 *	Output not yet given to -onoutput, in arrival order; consecutive
 *	reads of one stream are merged. Owned by the process's list.
 */

typedef struct Chunk {
    int stream;
    P2pBuf bytes;
    struct Chunk *nextPtr;
} Chunk;

/*
 * ExecProc --
 *
 *	One child process, made by "p2p::exec start". It is reference
 *	counted: one reference while any of its libuv handles is open
 *	(dropped by the last close callback), one while it is listed in its
 *	interpreter's table (until "wait" or -command collected it), one per
 *	queued task and one per "wait" in progress. Freed at zero. The
 *	handles are closed only after the process exited (never before:
 *	an unwatched child would stay a zombie), so every started process
 *	is reaped. Interpreter deletion detaches it (interp NULL, no more
 *	scripts) and kills it.
 */

typedef struct ExecProc {
    Tcl_Interp *interp;		/* NULL once detached. */
    ExecInterp *ownerPtr;	/* Per-interp state, NULL once detached. */
    ExecThread *threadPtr;	/* NULL after the thread's exit handler. */
    P2pLoop *loopPtr;
    int refCount;
    int flags;
    int handles;		/* libuv handles not yet closed. */
    Tcl_Obj *idObj;		/* "execN" */
    Tcl_Obj *programObj;	/* As given to start. */
    Tcl_Obj *commandObj;	/* -command prefix or NULL. */
    Tcl_Obj *onOutputObj;	/* -onoutput prefix or NULL. */
    int pid;
    uv_process_t process;
    uv_timer_t timer;		/* -timeout, then the drain grace. */
    uv_pipe_t inPipe;		/* Only with -stdin data. */
    int inOpen;
    uv_write_t writeReq;
    char *inBytes;		/* -stdin data, ckalloc'd, until written. */
    size_t inLen;
    Stream streams[2];
    Tcl_WideInt maxOutput;
    int timeoutMs;		/* 0: none. */
    int cpuLimit;		/* Limits asked for, 0 when not. */
    Tcl_WideInt asLimit;
    uint64_t startNs, endNs;
    int64_t exitStatus;
    int termSignal;
    Chunk *chunkHead, *chunkTail;
    size_t pendingBytes;	/* Bytes in the chunks. */
    Tcl_Obj *resultObj;		/* The result dict once finished. */
    struct ExecProc *prevPtr, *nextPtr;		/* Thread's live list. */
    struct ExecProc *iPrevPtr, *iNextPtr;	/* Interp's list. */
} ExecProc;

/*
 * ExecInterp --
 *
 *	Per-interpreter state, kept as assoc data and freed when the
 *	interpreter is deleted. `table` maps ids to the processes not yet
 *	collected; the list holds every live process started from this
 *	interpreter, collected or not.
 */

struct ExecInterp {
    Tcl_Interp *interp;
    Tcl_HashTable table;	/* id -> ExecProc*, each a reference. */
    ExecProc *head, *tail;
};

/*
 * ExecThread --
 *
 *	Per-thread state (Tcl thread data): the id counter, every live
 *	process of the thread (killed by the thread exit handler) and the
 *	buffer every pipe read lands in first.
 */

struct ExecThread {
    int initialized;
    long nextId;
    ExecProc *head, *tail;
    char readBuf[READ_BUF_SIZE];
};

static Tcl_ThreadDataKey threadKey;

#define ASSOC_KEY "p2pjobs:exec"

/*
 * What "start" accepts.
 */

static const char *const startOptions[] = {
    "-as", "-command", "-cpu", "-cwd", "-env", "-files", "-maxoutput",
    "-onoutput", "-procs", "-stdin", "-timeout", "-user", NULL
};
enum {
    OPT_AS, OPT_COMMAND, OPT_CPU, OPT_CWD, OPT_ENV, OPT_FILES,
    OPT_MAXOUTPUT, OPT_ONOUTPUT, OPT_PROCS, OPT_STDIN, OPT_TIMEOUT,
    OPT_USER
};

typedef struct StartOpts {
    Tcl_Obj *cwdObj, *envObj, *stdinObj, *commandObj, *onOutputObj;
    Tcl_Obj *userObj;
    Tcl_WideInt maxOutput;
    int timeoutMs;
    int cpu, files, procs;
    Tcl_WideInt as;
} StartOpts;

/*
 * A vector of C strings in the system encoding (argv, envp), kept in one
 * DString.
 */

typedef struct StrVec {
    Tcl_DString ds;
    int count, cap;
    int *offsets;
    char **ptrs;
} StrVec;

static ExecThread *	GetThread(void);
static ExecInterp *	GetInterpState(Tcl_Interp *interp);
static void		InterpDeleteProc(ClientData clientData,
			    Tcl_Interp *interp);
static void		ThreadExitProc(ClientData clientData);
static int		StartCmd(Tcl_Interp *interp, ExecInterp *ePtr,
			    int objc, Tcl_Obj *const objv[]);
static int		ParseStartOptions(Tcl_Interp *interp, int objc,
			    Tcl_Obj *const objv[], StartOpts *optsPtr,
			    int *indexPtr);
static int		WaitCmd(Tcl_Interp *interp, ExecInterp *ePtr,
			    int objc, Tcl_Obj *const objv[]);
static ExecProc *	Lookup(Tcl_Interp *interp, ExecInterp *ePtr,
			    Tcl_Obj *idObj);
static void		Forget(ExecProc *pPtr);
static void		Detach(ExecProc *pPtr);
static void		Release(ExecProc *pPtr);
static void		FreeProc(ExecProc *pPtr);
static void		KillGroup(ExecProc *pPtr, int why);
static void		CloseHandle(ExecProc *pPtr, uv_handle_t *handle);
static void		CloseProc(uv_handle_t *handle);
static void		ExitProc(uv_process_t *process, int64_t status,
			    int termSignal);
static void		TimerProc(uv_timer_t *timer);
static void		AllocProc(uv_handle_t *handle, size_t size,
			    uv_buf_t *bufPtr);
static void		ReadProc(uv_stream_t *stream, ssize_t nread,
			    const uv_buf_t *bufPtr);
static void		WriteProc(uv_write_t *req, int status);
static void		StopStream(ExecProc *pPtr, int which);
static void		PauseReading(ExecProc *pPtr);
static void		ResumeReading(ExecProc *pPtr);
static void		MaybeFinish(ExecProc *pPtr);
static void		Finish(ExecProc *pPtr);
static Tcl_Obj *	Reason(ExecProc *pPtr);
static void		QueueTask(ExecProc *pPtr);
static void		TaskProc(void *clientData);
static void		Invoke(ExecProc *pPtr, Tcl_Obj *cmdObj, int objc,
			    Tcl_Obj *const objv[]);
static void		FreeChunks(ExecProc *pPtr);
static Tcl_WideInt	ElapsedMs(ExecProc *pPtr);
static void		VecInit(StrVec *vPtr);
static void		VecAdd(StrVec *vPtr, const char *bytes, int len,
			    int external);
static char **		VecFinish(StrVec *vPtr);
static void		VecFree(StrVec *vPtr);

/*
 *----------------------------------------------------------------------
 *
 * GetThread, GetInterpState --
 *
 *	The calling thread's state (its exit handler installed on first
 *	use) and an interpreter's state (made on first use, freed with the
 *	interpreter).
 *
 *----------------------------------------------------------------------
 */

static ExecThread *
GetThread(void)
{
    ExecThread *tPtr = (ExecThread *)
	    Tcl_GetThreadData(&threadKey, sizeof(ExecThread));

    if (!tPtr->initialized) {
	tPtr->initialized = 1;
	tPtr->nextId = 1;
	Tcl_CreateThreadExitHandler(ThreadExitProc, tPtr);
    }
    return tPtr;
}

static ExecInterp *
GetInterpState(
    Tcl_Interp *interp)
{
    ExecInterp *ePtr = (ExecInterp *) Tcl_GetAssocData(interp, ASSOC_KEY,
	    NULL);

    if (ePtr == NULL) {
	ePtr = (ExecInterp *) ckalloc(sizeof(ExecInterp));
	ePtr->interp = interp;
	Tcl_InitHashTable(&ePtr->table, TCL_STRING_KEYS);
	ePtr->head = ePtr->tail = NULL;
	Tcl_SetAssocData(interp, ASSOC_KEY, InterpDeleteProc, ePtr);
    }
    return ePtr;
}

/*
 *----------------------------------------------------------------------
 *
 * InterpDeleteProc --
 *
 *	The interpreter is being deleted: every process it started is
 *	detached (no script runs for it any more) and, if still running,
 *	killed with its process group. The processes live on until libuv
 *	reaped them and closed their handles.
 *
 *----------------------------------------------------------------------
 */

static void
InterpDeleteProc(
    ClientData clientData,
    Tcl_Interp *interp)
{
    ExecInterp *ePtr = (ExecInterp *) clientData;

    (void) interp;
    while (ePtr->head != NULL) {
	ExecProc *pPtr = ePtr->head;

	pPtr->refCount++;
	KillGroup(pPtr, P_CANCELLED);
	Detach(pPtr);
	Release(pPtr);
    }
    Tcl_DeleteHashTable(&ePtr->table);
    ckfree((char *) ePtr);
}

/*
 *----------------------------------------------------------------------
 *
 * ThreadExitProc --
 *
 *	The thread ends (in the main thread: the process exits): kills
 *	every child still running, with its process group, so that no job
 *	outlives its worker. The structures are not freed: that would need
 *	the loop to run the close callbacks, and it will not run again.
 *
 *----------------------------------------------------------------------
 */

static void
ThreadExitProc(
    ClientData clientData)
{
    ExecThread *tPtr = (ExecThread *) clientData;
    ExecProc *pPtr;

    for (pPtr = tPtr->head; pPtr != NULL; pPtr = pPtr->nextPtr) {
	if (!(pPtr->flags & P_EXITED) && pPtr->pid > 0) {
	    P2ppExecKillGroup(pPtr->pid);
	}
	pPtr->threadPtr = NULL;
    }
    tPtr->head = tPtr->tail = NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pExecObjCmd --
 *
 *	p2p::exec start ?-option value ...? ?--? program ?arg ...?
 *	p2p::exec wait id ?-timeout ms?
 *	p2p::exec cancel id
 *	p2p::exec info id
 *	p2p::exec list
 *
 *	See doc/exec.n.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	Starts, waits for and kills child processes.
 *
 *----------------------------------------------------------------------
 */

int
P2pExecObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subs[] = {
	"cancel", "info", "list", "start", "wait", NULL
    };
    enum { CANCEL, INFO, LIST, START, WAIT };
    ExecInterp *ePtr;
    ExecProc *pPtr;
    int index;

    (void) clientData;
    if (objc < 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "subcommand ?arg ...?");
	return TCL_ERROR;
    }
    if (Tcl_GetIndexFromObj(interp, objv[1], subs, "subcommand", 0, &index)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    ePtr = GetInterpState(interp);
    switch (index) {
    case START:
	return StartCmd(interp, ePtr, objc, objv);
    case WAIT:
	return WaitCmd(interp, ePtr, objc, objv);
    case CANCEL:
	if (objc != 3) {
	    Tcl_WrongNumArgs(interp, 2, objv, "id");
	    return TCL_ERROR;
	}
	if ((pPtr = Lookup(interp, ePtr, objv[2])) == NULL) {
	    return TCL_ERROR;
	}
	if (pPtr->flags & (P_EXITED | P_KILLED)) {
	    Tcl_SetObjResult(interp, Tcl_NewBooleanObj(0));
	} else {
	    KillGroup(pPtr, P_CANCELLED);
	    Tcl_SetObjResult(interp, Tcl_NewBooleanObj(1));
	}
	return TCL_OK;
    case INFO: {
	Tcl_Obj *dictObj;

	if (objc != 3) {
	    Tcl_WrongNumArgs(interp, 2, objv, "id");
	    return TCL_ERROR;
	}
	if ((pPtr = Lookup(interp, ePtr, objv[2])) == NULL) {
	    return TCL_ERROR;
	}
	dictObj = Tcl_NewDictObj();
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("pid", -1),
		Tcl_NewIntObj(pPtr->pid));
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("program", -1),
		pPtr->programObj);
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("elapsed", -1),
		Tcl_NewWideIntObj(ElapsedMs(pPtr)));
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("state", -1),
		Tcl_NewStringObj((pPtr->flags & P_EXITED) ? "ended"
		: "running", -1));
	Tcl_SetObjResult(interp, dictObj);
	return TCL_OK;
    }
    case LIST: {
	Tcl_Obj *listObj;

	if (objc != 2) {
	    Tcl_WrongNumArgs(interp, 2, objv, NULL);
	    return TCL_ERROR;
	}
	listObj = Tcl_NewListObj(0, NULL);
	for (pPtr = ePtr->head; pPtr != NULL; pPtr = pPtr->iNextPtr) {
	    if (pPtr->flags & P_IN_TABLE) {
		Tcl_ListObjAppendElement(NULL, listObj, pPtr->idObj);
	    }
	}
	Tcl_SetObjResult(interp, listObj);
	return TCL_OK;
    }
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ParseStartOptions --
 *
 *	Reads the options of "start" from objv[2] on, up to "--" or the
 *	first word that does not start with "-".
 *
 * Results:
 *	TCL_OK with *indexPtr at the program word, or TCL_ERROR.
 *
 *----------------------------------------------------------------------
 */

static int
ParseStartOptions(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[],
    StartOpts *optsPtr,
    int *indexPtr)
{
    int i, index, n;

    for (i = 2; i < objc; i += 2) {
	const char *word = Tcl_GetString(objv[i]);
	Tcl_Obj *valueObj;

	if (word[0] != '-') {
	    break;
	}
	if (strcmp(word, "--") == 0) {
	    i++;
	    break;
	}
	if (Tcl_GetIndexFromObj(interp, objv[i], startOptions, "option", 0,
		&index) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (i + 1 >= objc) {
	    return P2pError(interp, "P2P USAGE VALUE",
		    "value for \"%s\" missing", startOptions[index]);
	}
	valueObj = objv[i + 1];
	switch (index) {
	case OPT_CWD:
	    optsPtr->cwdObj = valueObj;
	    break;
	case OPT_ENV:
	    if (Tcl_DictObjSize(interp, valueObj, &n) != TCL_OK) {
		return TCL_ERROR;
	    }
	    optsPtr->envObj = valueObj;
	    break;
	case OPT_STDIN:
	    optsPtr->stdinObj = valueObj;
	    break;
	case OPT_COMMAND:
	case OPT_ONOUTPUT:
	    if (Tcl_ListObjLength(interp, valueObj, &n) != TCL_OK) {
		return TCL_ERROR;
	    }
	    if (index == OPT_COMMAND) {
		optsPtr->commandObj = n ? valueObj : NULL;
	    } else {
		optsPtr->onOutputObj = n ? valueObj : NULL;
	    }
	    break;
	case OPT_USER:
	    optsPtr->userObj = valueObj;
	    break;
	case OPT_MAXOUTPUT:
	    if (Tcl_GetWideIntFromObj(interp, valueObj, &optsPtr->maxOutput)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    if (optsPtr->maxOutput < 0) {
		return P2pError(interp, "P2P USAGE VALUE", "-maxoutput must"
			" be a number of bytes >= 0, got \"%s\"",
			Tcl_GetString(valueObj));
	    }
	    break;
	case OPT_AS:
	    if (Tcl_GetWideIntFromObj(interp, valueObj, &optsPtr->as)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    if (optsPtr->as <= 0) {
		return P2pError(interp, "P2P USAGE VALUE", "-as must be a"
			" positive number of bytes, got \"%s\"",
			Tcl_GetString(valueObj));
	    }
	    break;
	default: {
	    /* -cpu -files -procs -timeout: integers. */
	    int value, *ptr;
	    const char *what;

	    if (Tcl_GetIntFromObj(interp, valueObj, &value) != TCL_OK) {
		return TCL_ERROR;
	    }
	    switch (index) {
	    case OPT_CPU:
		ptr = &optsPtr->cpu;
		what = "a positive number of seconds";
		break;
	    case OPT_FILES:
		ptr = &optsPtr->files;
		what = "a positive number of files";
		break;
	    case OPT_PROCS:
		ptr = &optsPtr->procs;
		what = "a positive number of processes";
		break;
	    default:
		ptr = &optsPtr->timeoutMs;
		what = "a number of milliseconds >= 0";
		break;
	    }
	    if (value < (index == OPT_TIMEOUT ? 0 : 1)) {
		return P2pError(interp, "P2P USAGE VALUE", "%s must be %s,"
			" got \"%s\"", startOptions[index], what,
			Tcl_GetString(valueObj));
	    }
	    *ptr = value;
	    break;
	}
	}
    }
    *indexPtr = i;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * StartCmd --
 *
 *	p2p::exec start: checks the options, spawns the program and starts
 *	reading its output.
 *
 * Results:
 *	The new process's id, or an error ({P2P EXEC ...} for a program
 *	that cannot be started).
 *
 * Side effects:
 *	A child process runs.
 *
 *----------------------------------------------------------------------
 */

static int
StartCmd(
    Tcl_Interp *interp,
    ExecInterp *ePtr,
    int objc,
    Tcl_Obj *const objv[])
{
    ExecThread *tPtr = GetThread();
    P2pLoop *loopPtr = P2pLoopGet();
    StartOpts opts;
    StrVec argv, envv;
    Tcl_DString cwdDs, pathDs, programDs;
    uv_process_options_t options;
    uv_stdio_container_t stdio[3];
    uv_uid_t uid = 0;
    uv_gid_t gid = 0;
    ExecProc *pPtr;
    const char *program, *cwd = NULL, *limiter = NULL;
    int first = 2, i, status, useUser = 0, limited, isNew;
    Tcl_HashEntry *hPtr;
    char idBuf[32];

    memset(&opts, 0, sizeof(opts));
    opts.maxOutput = DEFAULT_MAX_OUTPUT;
    if (ParseStartOptions(interp, objc, objv, &opts, &first) != TCL_OK) {
	return TCL_ERROR;
    }
    if (first >= objc) {
	Tcl_WrongNumArgs(interp, 2, objv,
		"?-option value ...? ?--? program ?arg ...?");
	return TCL_ERROR;
    }
    limited = opts.cpu || opts.as || opts.files || opts.procs;

    /*
     * Checks that need no allocation first.
     */

    if (opts.cwdObj != NULL) {
	uv_fs_t req;
	int isDir;

	Tcl_UtfToExternalDString(NULL, Tcl_GetString(opts.cwdObj), -1,
		&cwdDs);
	status = uv_fs_stat(&loopPtr->uv, &req, Tcl_DStringValue(&cwdDs),
		NULL);
	isDir = (status == 0 && (req.statbuf.st_mode & S_IFMT) == S_IFDIR);
	uv_fs_req_cleanup(&req);
	if (!isDir) {
	    Tcl_DStringFree(&cwdDs);
	    Tcl_SetObjResult(interp, Tcl_ObjPrintf("working directory \"%s\""
		    " %s", Tcl_GetString(opts.cwdObj), status == 0
		    ? "is not a directory" : "does not exist"));
	    Tcl_SetErrorCode(interp, "P2P", "EXEC", "CWD",
		    Tcl_GetString(opts.cwdObj), NULL);
	    return TCL_ERROR;
	}
	cwd = Tcl_DStringValue(&cwdDs);
    }
    if (opts.userObj != NULL) {
	if (P2ppExecUser(interp, Tcl_GetString(opts.userObj), &uid, &gid)
		!= TCL_OK) {
	    goto optsError;
	}
	useUser = 1;
    }
    if (limited) {
	if (opts.procs && !useUser && P2ppExecPrivileged()) {
	    P2pError(interp, "P2P EXEC LIMIT ROOT", "-procs does not bind"
		    " root: give -user too");
	    goto optsError;
	}
	if ((limiter = P2ppExecLimiter()) == NULL) {
	    P2pError(interp, "P2P EXEC LIMIT NOPRLIMIT", "resource limits"
		    " need prlimit (util-linux), which was not found");
	    goto optsError;
	}
    }

    /*
     * The argument vector: the program and its arguments, behind prlimit
     * and its options when limits are asked for. prlimit is given the
     * program found the way execvp would find it (PATH of the child's
     * environment), so that a missing program fails here as it would
     * without limits.
     */

    VecInit(&argv);
    VecInit(&envv);
    Tcl_DStringInit(&programDs);
    Tcl_DStringInit(&pathDs);
    if (opts.envObj != NULL) {
	Tcl_DictSearch search;
	Tcl_Obj *keyObj, *valueObj;
	int done;

	Tcl_DictObjFirst(NULL, opts.envObj, &search, &keyObj, &valueObj,
		&done);
	for (; !done; Tcl_DictObjNext(&search, &keyObj, &valueObj, &done)) {
	    const char *key = Tcl_GetString(keyObj);
	    Tcl_DString entry;

	    if (key[0] == '\0' || strchr(key, '=') != NULL) {
		Tcl_DictObjDone(&search);
		P2pError(interp, "P2P USAGE VALUE", "bad environment"
			" variable name \"%s\"", key);
		goto error;
	    }
	    Tcl_DStringInit(&entry);
	    Tcl_DStringAppend(&entry, key, -1);
	    Tcl_DStringAppend(&entry, "=", 1);
	    Tcl_DStringAppend(&entry, Tcl_GetString(valueObj), -1);
	    VecAdd(&envv, Tcl_DStringValue(&entry),
		    Tcl_DStringLength(&entry), 0);
	    Tcl_DStringFree(&entry);
	    if (strcmp(key, "PATH") == 0) {
		Tcl_DStringFree(&pathDs);
		Tcl_UtfToExternalDString(NULL, Tcl_GetString(valueObj), -1,
			&pathDs);
	    }
	}
    } else {
	const char *path = Tcl_GetVar2(interp, "env", "PATH",
		TCL_GLOBAL_ONLY);

	if (path != NULL) {
	    Tcl_UtfToExternalDString(NULL, path, -1, &pathDs);
	}
    }
    Tcl_UtfToExternalDString(NULL, Tcl_GetString(objv[first]), -1,
	    &programDs);
    program = Tcl_DStringValue(&programDs);
    if (limited) {
	Tcl_DString foundDs;
	char buf[80];

	status = P2ppExecFindProgram(program, Tcl_DStringLength(&pathDs)
		? Tcl_DStringValue(&pathDs) : NULL, cwd, &foundDs);
	if (status != 0) {
	    Tcl_DStringFree(&foundDs);
	    goto spawnError;
	}
	VecAdd(&argv, limiter, -1, 1);
	if (opts.cpu) {
	    /*
	     * The hard limit a second later: SIGXCPU first (which says what
	     * happened), SIGKILL if the program ignores it.
	     */

	    sprintf(buf, "--cpu=%d:%d", opts.cpu,
		    opts.cpu < INT_MAX ? opts.cpu + 1 : opts.cpu);
	    VecAdd(&argv, buf, -1, 1);
	}
	if (opts.as) {
	    sprintf(buf, "--as=%" TCL_LL_MODIFIER "d:%" TCL_LL_MODIFIER "d",
		    opts.as, opts.as);
	    VecAdd(&argv, buf, -1, 1);
	}
	if (opts.files) {
	    sprintf(buf, "--nofile=%d:%d", opts.files, opts.files);
	    VecAdd(&argv, buf, -1, 1);
	}
	if (opts.procs) {
	    sprintf(buf, "--nproc=%d:%d", opts.procs, opts.procs);
	    VecAdd(&argv, buf, -1, 1);
	}
	VecAdd(&argv, "--", -1, 1);
	VecAdd(&argv, Tcl_DStringValue(&foundDs), -1, 1);
	Tcl_DStringFree(&foundDs);
    } else {
	VecAdd(&argv, program, -1, 1);
    }
    for (i = first + 1; i < objc; i++) {
	const char *arg;
	int len;

	arg = Tcl_GetStringFromObj(objv[i], &len);
	VecAdd(&argv, arg, len, 0);
    }

    /*
     * The process structure and its handles. From here on, failures are
     * cleaned up by closing the handles: the last close callback frees
     * the structure.
     */

    pPtr = (ExecProc *) ckalloc(sizeof(ExecProc));
    memset(pPtr, 0, sizeof(ExecProc));
    pPtr->interp = interp;
    pPtr->loopPtr = loopPtr;
    pPtr->threadPtr = tPtr;
    pPtr->refCount = 1;		/* For the open handles. */
    pPtr->maxOutput = opts.maxOutput;
    pPtr->timeoutMs = opts.timeoutMs;
    pPtr->cpuLimit = opts.cpu;
    pPtr->asLimit = opts.as;
    pPtr->programObj = objv[first];
    Tcl_IncrRefCount(pPtr->programObj);
    pPtr->prevPtr = tPtr->tail;
    if (tPtr->tail) {
	tPtr->tail->nextPtr = pPtr;
    } else {
	tPtr->head = pPtr;
    }
    tPtr->tail = pPtr;

    uv_timer_init(&loopPtr->uv, &pPtr->timer);
    pPtr->timer.data = pPtr;
    pPtr->handles++;
    for (i = 0; i < 2; i++) {
	uv_pipe_init(&loopPtr->uv, &pPtr->streams[i].pipe, 0);
	pPtr->streams[i].pipe.data = pPtr;
	pPtr->streams[i].open = 1;
	pPtr->handles++;
    }
    memset(stdio, 0, sizeof(stdio));
    stdio[0].flags = UV_IGNORE;
    if (opts.stdinObj != NULL) {
	int len;
	unsigned char *bytes = Tcl_GetByteArrayFromObj(opts.stdinObj, &len);

	if (len > 0) {
	    pPtr->inBytes = ckalloc(len);
	    memcpy(pPtr->inBytes, bytes, len);
	    pPtr->inLen = len;
	    uv_pipe_init(&loopPtr->uv, &pPtr->inPipe, 0);
	    pPtr->inPipe.data = pPtr;
	    pPtr->inOpen = 1;
	    pPtr->handles++;
	    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	    stdio[0].data.stream = (uv_stream_t *) &pPtr->inPipe;
	}
    }
    for (i = 0; i < 2; i++) {
	stdio[i + 1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[i + 1].data.stream = (uv_stream_t *) &pPtr->streams[i].pipe;
    }

    memset(&options, 0, sizeof(options));
    options.exit_cb = ExitProc;
    options.args = VecFinish(&argv);
    options.file = options.args[0];
    options.env = (opts.envObj != NULL) ? VecFinish(&envv) : NULL;
    options.cwd = cwd;
    options.flags = UV_PROCESS_DETACHED;
    if (useUser) {
	options.flags |= UV_PROCESS_SETUID | UV_PROCESS_SETGID;
	options.uid = uid;
	options.gid = gid;
    }
    options.stdio_count = 3;
    options.stdio = stdio;
    pPtr->process.data = pPtr;
    pPtr->startNs = uv_hrtime();
    P2ppExecKeepDescriptors();
    status = uv_spawn(&loopPtr->uv, &pPtr->process, &options);
    pPtr->handles++;		/* Initialized even on failure. */
    if (status != 0) {
	CloseHandle(pPtr, (uv_handle_t *) &pPtr->process);
	CloseHandle(pPtr, (uv_handle_t *) &pPtr->timer);
	for (i = 0; i < 2; i++) {
	    StopStream(pPtr, i);
	}
	if (pPtr->inOpen) {
	    pPtr->inOpen = 0;
	    CloseHandle(pPtr, (uv_handle_t *) &pPtr->inPipe);
	}
	goto spawnError;
    }
    pPtr->pid = pPtr->process.pid;

    /*
     * Running: read, write, time.
     */

    for (i = 0; i < 2; i++) {
	status = uv_read_start((uv_stream_t *) &pPtr->streams[i].pipe,
		AllocProc, ReadProc);
	if (status != 0) {
	    StopStream(pPtr, i);
	}
    }
    if (pPtr->inOpen) {
	uv_buf_t buf = uv_buf_init(pPtr->inBytes, (unsigned) pPtr->inLen);

	pPtr->writeReq.data = pPtr;
	if (uv_write(&pPtr->writeReq, (uv_stream_t *) &pPtr->inPipe, &buf, 1,
		WriteProc) != 0) {
	    pPtr->inOpen = 0;
	    CloseHandle(pPtr, (uv_handle_t *) &pPtr->inPipe);
	}
    }
    if (pPtr->timeoutMs > 0) {
	uv_update_time(&loopPtr->uv);
	uv_timer_start(&pPtr->timer, TimerProc, pPtr->timeoutMs, 0);
    }

    /*
     * Registration.
     */

    sprintf(idBuf, "exec%ld", tPtr->nextId++);
    pPtr->idObj = Tcl_NewStringObj(idBuf, -1);
    Tcl_IncrRefCount(pPtr->idObj);
    if (opts.commandObj != NULL) {
	pPtr->commandObj = opts.commandObj;
	Tcl_IncrRefCount(pPtr->commandObj);
    }
    if (opts.onOutputObj != NULL) {
	pPtr->onOutputObj = opts.onOutputObj;
	Tcl_IncrRefCount(pPtr->onOutputObj);
    }
    pPtr->ownerPtr = ePtr;
    pPtr->iPrevPtr = ePtr->tail;
    if (ePtr->tail) {
	ePtr->tail->iNextPtr = pPtr;
    } else {
	ePtr->head = pPtr;
    }
    ePtr->tail = pPtr;
    hPtr = Tcl_CreateHashEntry(&ePtr->table, idBuf, &isNew);
    Tcl_SetHashValue(hPtr, pPtr);
    pPtr->flags |= P_IN_TABLE;
    pPtr->refCount++;

    VecFree(&argv);
    VecFree(&envv);
    Tcl_DStringFree(&programDs);
    Tcl_DStringFree(&pathDs);
    if (cwd != NULL) {
	Tcl_DStringFree(&cwdDs);
    }
    Tcl_SetObjResult(interp, pPtr->idObj);
    return TCL_OK;

  spawnError:
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("cannot start \"%s\": %s",
	    Tcl_GetString(objv[first]), uv_strerror(status)));
    Tcl_SetErrorCode(interp, "P2P", "EXEC", "SPAWN", uv_err_name(status),
	    uv_strerror(status), NULL);

  error:
    VecFree(&argv);
    VecFree(&envv);
    Tcl_DStringFree(&programDs);
    Tcl_DStringFree(&pathDs);

  optsError:
    if (cwd != NULL) {
	Tcl_DStringFree(&cwdDs);
    }
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * WaitTimerProc, WaitCmd --
 *
 *	p2p::exec wait id ?-timeout ms?: runs the event loop until the
 *	process finished (exited, pipes drained, output chunks delivered)
 *	and returns its result dict, which collects it. With -timeout, an
 *	error {P2P EXEC TIMEOUT id} after that long; the process goes on.
 *
 *----------------------------------------------------------------------
 */

static void
WaitTimerProc(
    ClientData clientData)
{
    *(int *) clientData = 1;
}

static int
WaitCmd(
    Tcl_Interp *interp,
    ExecInterp *ePtr,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const waitOptions[] = {"-timeout", NULL};
    ExecProc *pPtr;
    Tcl_TimerToken timer = NULL;
    int timeoutMs = -1, expired = 0, index, code = TCL_OK;

    if (objc != 3 && objc != 5) {
	Tcl_WrongNumArgs(interp, 2, objv, "id ?-timeout ms?");
	return TCL_ERROR;
    }
    if (objc == 5) {
	if (Tcl_GetIndexFromObj(interp, objv[3], waitOptions, "option", 0,
		&index) != TCL_OK
		|| Tcl_GetIntFromObj(interp, objv[4], &timeoutMs) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (timeoutMs < 0) {
	    return P2pError(interp, "P2P USAGE VALUE", "-timeout must be a"
		    " number of milliseconds >= 0, got \"%s\"",
		    Tcl_GetString(objv[4]));
	}
    }
    if ((pPtr = Lookup(interp, ePtr, objv[2])) == NULL) {
	return TCL_ERROR;
    }
    pPtr->refCount++;
    if (timeoutMs >= 0) {
	timer = Tcl_CreateTimerHandler(timeoutMs, WaitTimerProc, &expired);
    }
    while (!((pPtr->flags & P_FINISHED) && pPtr->chunkHead == NULL)
	    && !expired && pPtr->interp != NULL) {
	Tcl_DoOneEvent(TCL_ALL_EVENTS);
    }
    if (timer != NULL && !expired) {
	Tcl_DeleteTimerHandler(timer);
    }
    if ((pPtr->flags & P_FINISHED) && pPtr->chunkHead == NULL) {
	Tcl_SetObjResult(interp, pPtr->resultObj);
	Forget(pPtr);
    } else if (pPtr->interp == NULL) {
	code = P2pError(interp, "P2P EXEC DETACHED", "process \"%s\" was"
		" detached from this interpreter", Tcl_GetString(objv[2]));
    } else {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("process \"%s\" still"
		" running after %d ms", Tcl_GetString(pPtr->idObj),
		timeoutMs));
	Tcl_SetErrorCode(interp, "P2P", "EXEC", "TIMEOUT",
		Tcl_GetString(pPtr->idObj), NULL);
	code = TCL_ERROR;
    }
    Release(pPtr);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * Lookup, Forget --
 *
 *	Lookup finds a process by id in the interpreter's table (an error
 *	{P2P EXEC UNKNOWN id} if it is not there). Forget takes it out of
 *	the table: collected.
 *
 *----------------------------------------------------------------------
 */

static ExecProc *
Lookup(
    Tcl_Interp *interp,
    ExecInterp *ePtr,
    Tcl_Obj *idObj)
{
    Tcl_HashEntry *hPtr = Tcl_FindHashEntry(&ePtr->table,
	    Tcl_GetString(idObj));

    if (hPtr == NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("unknown process \"%s\"",
		Tcl_GetString(idObj)));
	Tcl_SetErrorCode(interp, "P2P", "EXEC", "UNKNOWN",
		Tcl_GetString(idObj), NULL);
	return NULL;
    }
    return (ExecProc *) Tcl_GetHashValue(hPtr);
}

static void
Forget(
    ExecProc *pPtr)
{
    Tcl_HashEntry *hPtr;

    if (!(pPtr->flags & P_IN_TABLE) || pPtr->ownerPtr == NULL) {
	return;
    }
    hPtr = Tcl_FindHashEntry(&pPtr->ownerPtr->table,
	    Tcl_GetString(pPtr->idObj));
    if (hPtr != NULL) {
	Tcl_DeleteHashEntry(hPtr);
    }
    pPtr->flags &= ~P_IN_TABLE;
    Release(pPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * Detach --
 *
 *	Cuts a process loose from its interpreter: out of the table and the
 *	interpreter's list, callbacks dropped. Its handles stay until it
 *	exits.
 *
 *----------------------------------------------------------------------
 */

static void
Detach(
    ExecProc *pPtr)
{
    ExecInterp *ePtr = pPtr->ownerPtr;

    if (ePtr == NULL) {
	return;
    }
    Forget(pPtr);
    if (pPtr->iPrevPtr) {
	pPtr->iPrevPtr->iNextPtr = pPtr->iNextPtr;
    } else {
	ePtr->head = pPtr->iNextPtr;
    }
    if (pPtr->iNextPtr) {
	pPtr->iNextPtr->iPrevPtr = pPtr->iPrevPtr;
    } else {
	ePtr->tail = pPtr->iPrevPtr;
    }
    pPtr->iPrevPtr = pPtr->iNextPtr = NULL;
    pPtr->ownerPtr = NULL;
    pPtr->interp = NULL;
    if (pPtr->commandObj) {
	Tcl_DecrRefCount(pPtr->commandObj);
	pPtr->commandObj = NULL;
    }
    if (pPtr->onOutputObj) {
	Tcl_DecrRefCount(pPtr->onOutputObj);
	pPtr->onOutputObj = NULL;
    }
    FreeChunks(pPtr);
    ResumeReading(pPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * Release, FreeProc --
 *
 *	Drops a reference; the last one frees the process structure (all
 *	its handles are closed by then).
 *
 *----------------------------------------------------------------------
 */

static void
Release(
    ExecProc *pPtr)
{
    if (--pPtr->refCount <= 0) {
	FreeProc(pPtr);
    }
}

static void
FreeProc(
    ExecProc *pPtr)
{
    ExecThread *tPtr = pPtr->threadPtr;
    int i;

    Detach(pPtr);
    if (tPtr != NULL) {
	if (pPtr->prevPtr) {
	    pPtr->prevPtr->nextPtr = pPtr->nextPtr;
	} else {
	    tPtr->head = pPtr->nextPtr;
	}
	if (pPtr->nextPtr) {
	    pPtr->nextPtr->prevPtr = pPtr->prevPtr;
	} else {
	    tPtr->tail = pPtr->prevPtr;
	}
    }
    for (i = 0; i < 2; i++) {
	P2pBufFree(&pPtr->streams[i].kept);
    }
    FreeChunks(pPtr);
    if (pPtr->inBytes) {
	ckfree(pPtr->inBytes);
    }
    if (pPtr->idObj) {
	Tcl_DecrRefCount(pPtr->idObj);
    }
    Tcl_DecrRefCount(pPtr->programObj);
    if (pPtr->resultObj) {
	Tcl_DecrRefCount(pPtr->resultObj);
    }
    ckfree((char *) pPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * FreeChunks --
 *
 *	Drops the output chunks not yet handed to -onoutput.
 *
 *----------------------------------------------------------------------
 */

static void
FreeChunks(
    ExecProc *pPtr)
{
    while (pPtr->chunkHead != NULL) {
	Chunk *cPtr = pPtr->chunkHead;

	pPtr->chunkHead = cPtr->nextPtr;
	P2pBufFree(&cPtr->bytes);
	ckfree((char *) cPtr);
    }
    pPtr->chunkTail = NULL;
    pPtr->pendingBytes = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * KillGroup --
 *
 *	Sends SIGKILL to the process group of a running process (the
 *	program and whatever it started that stayed in its group), and
 *	records why: P_TIMEDOUT or P_CANCELLED.
 *
 *----------------------------------------------------------------------
 */

static void
KillGroup(
    ExecProc *pPtr,
    int why)
{
    if ((pPtr->flags & (P_EXITED | P_KILLED)) || pPtr->pid <= 0) {
	return;
    }
    pPtr->flags |= P_KILLED | why;
    P2ppExecKillGroup(pPtr->pid);
}

/*
 *----------------------------------------------------------------------
 *
 * CloseHandle, CloseProc --
 *
 *	Every handle of a process is closed through CloseHandle; the close
 *	callback of the last one drops the handles' reference.
 *
 *----------------------------------------------------------------------
 */

static void
CloseHandle(
    ExecProc *pPtr,
    uv_handle_t *handle)
{
    (void) pPtr;
    if (!uv_is_closing(handle)) {
	uv_close(handle, CloseProc);
    }
}

static void
CloseProc(
    uv_handle_t *handle)
{
    ExecProc *pPtr = (ExecProc *) handle->data;

    if (--pPtr->handles == 0) {
	Release(pPtr);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ExitProc --
 *
 *	libuv reaped the child. Records how it ended, kills what it left in
 *	its process group (so that nothing of a job outlives it, and no
 *	leftover holds the output pipes open), and finishes once the pipes
 *	are drained; if they are not yet, gives them DRAIN_GRACE_MS.
 *
 *----------------------------------------------------------------------
 */

static void
ExitProc(
    uv_process_t *process,
    int64_t status,
    int termSignal)
{
    ExecProc *pPtr = (ExecProc *) process->data;

    pPtr->endNs = uv_hrtime();
    pPtr->exitStatus = status;
    pPtr->termSignal = termSignal;
    pPtr->flags |= P_EXITED;
    P2ppExecKillGroup(pPtr->pid);
    uv_timer_stop(&pPtr->timer);
    if (!pPtr->streams[0].done || !pPtr->streams[1].done) {
	uv_timer_start(&pPtr->timer, TimerProc, DRAIN_GRACE_MS, 0);
    }
    MaybeFinish(pPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * TimerProc --
 *
 *	Before the exit: the -timeout expired, kill the group. After it:
 *	the drain grace expired, stop reading (unless reading waits for
 *	-onoutput to catch up, which is not the child's fault).
 *
 *----------------------------------------------------------------------
 */

static void
TimerProc(
    uv_timer_t *timer)
{
    ExecProc *pPtr = (ExecProc *) timer->data;
    int i;

    if (!(pPtr->flags & P_EXITED)) {
	KillGroup(pPtr, P_TIMEDOUT);
	return;
    }
    if (pPtr->streams[0].paused || pPtr->streams[1].paused) {
	uv_timer_start(&pPtr->timer, TimerProc, DRAIN_GRACE_MS, 0);
	return;
    }
    for (i = 0; i < 2; i++) {
	StopStream(pPtr, i);
    }
    MaybeFinish(pPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * AllocProc, ReadProc --
 *
 *	Output of the child: every read lands in the thread's buffer, the
 *	first maxOutput bytes of each stream are kept, the rest counted as
 *	truncation. With -onoutput every byte is also queued for the
 *	callback, and reading pauses while PENDING_LIMIT bytes wait.
 *
 *----------------------------------------------------------------------
 */

static void
AllocProc(
    uv_handle_t *handle,
    size_t size,
    uv_buf_t *bufPtr)
{
    ExecThread *tPtr = GetThread();

    (void) handle;
    (void) size;
    *bufPtr = uv_buf_init(tPtr->readBuf, READ_BUF_SIZE);
}

static void
ReadProc(
    uv_stream_t *stream,
    ssize_t nread,
    const uv_buf_t *bufPtr)
{
    ExecProc *pPtr = (ExecProc *) stream->data;
    int which = (stream == (uv_stream_t *) &pPtr->streams[0].pipe)
	    ? STREAM_OUT : STREAM_ERR;
    Stream *sPtr = &pPtr->streams[which];
    size_t keep;

    if (nread < 0) {
	StopStream(pPtr, which);
	MaybeFinish(pPtr);
	return;
    }
    if (nread == 0) {
	return;
    }
    keep = (size_t) nread;
    if ((Tcl_WideInt) (sPtr->kept.len + keep) > pPtr->maxOutput) {
	keep = (size_t) (pPtr->maxOutput - (Tcl_WideInt) sPtr->kept.len);
	sPtr->truncated = 1;
    }
    if (keep > 0) {
	P2pBufAppend(&sPtr->kept, bufPtr->base, keep);
    }
    if (pPtr->onOutputObj != NULL) {
	Chunk *cPtr = pPtr->chunkTail;

	if (cPtr == NULL || cPtr->stream != which) {
	    cPtr = (Chunk *) ckalloc(sizeof(Chunk));
	    memset(cPtr, 0, sizeof(Chunk));
	    cPtr->stream = which;
	    if (pPtr->chunkTail) {
		pPtr->chunkTail->nextPtr = cPtr;
	    } else {
		pPtr->chunkHead = cPtr;
	    }
	    pPtr->chunkTail = cPtr;
	}
	P2pBufAppend(&cPtr->bytes, bufPtr->base, (size_t) nread);
	pPtr->pendingBytes += (size_t) nread;
	if (pPtr->pendingBytes >= PENDING_LIMIT) {
	    PauseReading(pPtr);
	}
	QueueTask(pPtr);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * StopStream, PauseReading, ResumeReading --
 *
 *	StopStream ends reading from a pipe for good and closes it.
 *	PauseReading and ResumeReading apply the -onoutput backlog limit.
 *
 *----------------------------------------------------------------------
 */

static void
StopStream(
    ExecProc *pPtr,
    int which)
{
    Stream *sPtr = &pPtr->streams[which];

    sPtr->done = 1;
    sPtr->paused = 0;
    if (sPtr->open) {
	sPtr->open = 0;
	uv_read_stop((uv_stream_t *) &sPtr->pipe);
	CloseHandle(pPtr, (uv_handle_t *) &sPtr->pipe);
    }
}

static void
PauseReading(
    ExecProc *pPtr)
{
    int i;

    for (i = 0; i < 2; i++) {
	Stream *sPtr = &pPtr->streams[i];

	if (sPtr->open && !sPtr->done && !sPtr->paused) {
	    uv_read_stop((uv_stream_t *) &sPtr->pipe);
	    sPtr->paused = 1;
	}
    }
}

static void
ResumeReading(
    ExecProc *pPtr)
{
    int i;

    if (pPtr->pendingBytes >= PENDING_LIMIT) {
	return;
    }
    for (i = 0; i < 2; i++) {
	Stream *sPtr = &pPtr->streams[i];

	if (sPtr->paused) {
	    sPtr->paused = 0;
	    if (sPtr->open && !sPtr->done && uv_read_start(
		    (uv_stream_t *) &sPtr->pipe, AllocProc, ReadProc) != 0) {
		StopStream(pPtr, i);
		MaybeFinish(pPtr);
	    }
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * WriteProc --
 *
 *	The -stdin data is written (or the child stopped reading it):
 *	close stdin, so the child sees end of file.
 *
 *----------------------------------------------------------------------
 */

static void
WriteProc(
    uv_write_t *req,
    int status)
{
    ExecProc *pPtr = (ExecProc *) req->data;

    (void) status;
    if (pPtr->inBytes) {
	ckfree(pPtr->inBytes);
	pPtr->inBytes = NULL;
    }
    if (pPtr->inOpen) {
	pPtr->inOpen = 0;
	CloseHandle(pPtr, (uv_handle_t *) &pPtr->inPipe);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * MaybeFinish, Finish --
 *
 *	A process is finished when it exited and both pipes are done: the
 *	result dict is made, the remaining handles are closed and a task
 *	is queued to run -command.
 *
 *----------------------------------------------------------------------
 */

static void
MaybeFinish(
    ExecProc *pPtr)
{
    if ((pPtr->flags & (P_EXITED | P_FINISHED)) == P_EXITED
	    && pPtr->streams[0].done && pPtr->streams[1].done) {
	Finish(pPtr);
    }
}

static void
Finish(
    ExecProc *pPtr)
{
    Tcl_Obj *dictObj = Tcl_NewDictObj();
    Tcl_Obj *truncObj = Tcl_NewListObj(0, NULL);
    int i;

    pPtr->flags |= P_FINISHED;
    uv_timer_stop(&pPtr->timer);
    CloseHandle(pPtr, (uv_handle_t *) &pPtr->timer);
    CloseHandle(pPtr, (uv_handle_t *) &pPtr->process);
    if (pPtr->inOpen) {
	pPtr->inOpen = 0;
	CloseHandle(pPtr, (uv_handle_t *) &pPtr->inPipe);
    }

#define PUT(key, valueObj) \
    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj((key), -1), (valueObj))

    PUT("id", pPtr->idObj);
    PUT("pid", Tcl_NewIntObj(pPtr->pid));
    PUT("status", Tcl_NewWideIntObj(pPtr->termSignal ? -1
	    : (Tcl_WideInt) pPtr->exitStatus));
    PUT("signal", Tcl_NewStringObj(pPtr->termSignal
	    ? Tcl_SignalId(pPtr->termSignal) : "", -1));
    for (i = 0; i < 2; i++) {
	Stream *sPtr = &pPtr->streams[i];

	PUT(streamNames[i], Tcl_NewByteArrayObj(sPtr->kept.bytes,
		(int) sPtr->kept.len));
	P2pBufFree(&sPtr->kept);
	if (sPtr->truncated) {
	    Tcl_ListObjAppendElement(NULL, truncObj,
		    Tcl_NewStringObj(streamNames[i], -1));
	}
    }
    PUT("truncated", truncObj);
    PUT("timedout", Tcl_NewBooleanObj(pPtr->flags & P_TIMEDOUT));
    PUT("cancelled", Tcl_NewBooleanObj(pPtr->flags & P_CANCELLED));
    PUT("elapsed", Tcl_NewWideIntObj(ElapsedMs(pPtr)));
    PUT("reason", Reason(pPtr));
#undef PUT

    pPtr->resultObj = dictObj;
    Tcl_IncrRefCount(dictObj);
    QueueTask(pPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * Reason --
 *
 *	One readable sentence on how the process ended.
 *
 * Results:
 *	A new string object.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
Reason(
    ExecProc *pPtr)
{
    const char *name;

    if (pPtr->termSignal == 0) {
	return Tcl_ObjPrintf("exited with status %" TCL_LL_MODIFIER "d",
		(Tcl_WideInt) pPtr->exitStatus);
    }
    name = Tcl_SignalId(pPtr->termSignal);
    if ((pPtr->flags & P_TIMEDOUT) && pPtr->termSignal == SIGKILL) {
	return Tcl_ObjPrintf("killed by SIGKILL after the %d ms timeout",
		pPtr->timeoutMs);
    }
    if ((pPtr->flags & P_CANCELLED) && pPtr->termSignal == SIGKILL) {
	return Tcl_NewStringObj("killed by SIGKILL: cancelled", -1);
    }
    if (pPtr->cpuLimit && strcmp(name, "SIGXCPU") == 0) {
	return Tcl_ObjPrintf("CPU limit of %d s exceeded (SIGXCPU)",
		pPtr->cpuLimit);
    }
    if (pPtr->cpuLimit && pPtr->termSignal == SIGKILL) {
	return Tcl_ObjPrintf("killed by SIGKILL, probably at the hard CPU"
		" limit of %d s (it ignored SIGXCPU at %d s)",
		pPtr->cpuLimit + 1, pPtr->cpuLimit);
    }
    if (pPtr->asLimit && (strcmp(name, "SIGSEGV") == 0
	    || strcmp(name, "SIGABRT") == 0 || strcmp(name, "SIGBUS") == 0
	    || pPtr->termSignal == SIGKILL)) {
	return Tcl_ObjPrintf("killed by %s (address space limit of %"
		TCL_LL_MODIFIER "d bytes)", name, pPtr->asLimit);
    }
    return Tcl_ObjPrintf("killed by %s", name);
}

/*
 *----------------------------------------------------------------------
 *
 * QueueTask, TaskProc --
 *
 *	The Tcl side of a process's news, run from the loop's service
 *	event: hands the queued output chunks to -onoutput, resumes reading
 *	if it was paused, and once finished calls -command (which collects
 *	the process).
 *
 *----------------------------------------------------------------------
 */

static void
QueueTask(
    ExecProc *pPtr)
{
    if (pPtr->flags & P_TASK_QUEUED) {
	return;
    }
    pPtr->flags |= P_TASK_QUEUED;
    pPtr->refCount++;
    P2pLoopQueueTask(pPtr->loopPtr, TaskProc, pPtr);
}

static void
TaskProc(
    void *clientData)
{
    ExecProc *pPtr = (ExecProc *) clientData;
    Tcl_Interp *interp = pPtr->interp;

    pPtr->flags &= ~P_TASK_QUEUED;
    if (interp == NULL || Tcl_InterpDeleted(interp)) {
	FreeChunks(pPtr);
	ResumeReading(pPtr);
	Release(pPtr);
	return;
    }
    Tcl_Preserve(interp);
    while (pPtr->chunkHead != NULL && pPtr->interp != NULL
	    && !Tcl_InterpDeleted(interp)) {
	Chunk *cPtr = pPtr->chunkHead;
	Tcl_Obj *args[2];

	pPtr->chunkHead = cPtr->nextPtr;
	if (pPtr->chunkHead == NULL) {
	    pPtr->chunkTail = NULL;
	}
	pPtr->pendingBytes -= cPtr->bytes.len;
	args[0] = Tcl_NewStringObj(streamNames[cPtr->stream], -1);
	args[1] = Tcl_NewByteArrayObj(cPtr->bytes.bytes,
		(int) cPtr->bytes.len);
	P2pBufFree(&cPtr->bytes);
	ckfree((char *) cPtr);
	Tcl_IncrRefCount(args[0]);
	Tcl_IncrRefCount(args[1]);
	if (pPtr->onOutputObj != NULL) {
	    Invoke(pPtr, pPtr->onOutputObj, 2, args);
	}
	Tcl_DecrRefCount(args[0]);
	Tcl_DecrRefCount(args[1]);
    }
    ResumeReading(pPtr);
    if ((pPtr->flags & (P_FINISHED | P_REPORTED)) == P_FINISHED
	    && pPtr->chunkHead == NULL && pPtr->interp != NULL
	    && !Tcl_InterpDeleted(interp)) {
	pPtr->flags |= P_REPORTED;
	if (pPtr->commandObj != NULL) {
	    Forget(pPtr);
	    Invoke(pPtr, pPtr->commandObj, 1, &pPtr->resultObj);
	}
    }
    Tcl_Release(interp);
    Release(pPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * Invoke --
 *
 *	Calls a callback prefix with the process id and objv appended, at
 *	global level; errors go to the background error handler. The
 *	caller holds a reference on the process and preserves the interp.
 *
 *----------------------------------------------------------------------
 */

static void
Invoke(
    ExecProc *pPtr,
    Tcl_Obj *cmdObj,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Interp *interp = pPtr->interp;
    Tcl_Obj *callObj = Tcl_DuplicateObj(cmdObj);
    Tcl_InterpState state;
    int code, i;

    Tcl_IncrRefCount(callObj);
    Tcl_ListObjAppendElement(NULL, callObj, pPtr->idObj);
    for (i = 0; i < objc; i++) {
	Tcl_ListObjAppendElement(NULL, callObj, objv[i]);
    }
    state = Tcl_SaveInterpState(interp, TCL_OK);
    code = Tcl_EvalObjEx(interp, callObj, TCL_EVAL_GLOBAL);
    if (code != TCL_OK) {
	Tcl_BackgroundException(interp, code);
    }
    Tcl_RestoreInterpState(interp, state);
    Tcl_DecrRefCount(callObj);
}

/*
 *----------------------------------------------------------------------
 *
 * ElapsedMs --
 *
 *	Milliseconds from the start to the exit, or to now while running.
 *
 *----------------------------------------------------------------------
 */

static Tcl_WideInt
ElapsedMs(
    ExecProc *pPtr)
{
    uint64_t end = (pPtr->flags & P_EXITED) ? pPtr->endNs : uv_hrtime();

    return (Tcl_WideInt) ((end - pPtr->startNs) / 1000000);
}

/*
 *----------------------------------------------------------------------
 *
 * VecInit, VecAdd, VecFinish, VecFree --
 *
 *	A NULL-terminated vector of C strings for argv and envp. VecAdd
 *	converts UTF-8 to the system encoding unless `external` says the
 *	bytes already are in it.
 *
 *----------------------------------------------------------------------
 */

static void
VecInit(
    StrVec *vPtr)
{
    Tcl_DStringInit(&vPtr->ds);
    vPtr->count = vPtr->cap = 0;
    vPtr->offsets = NULL;
    vPtr->ptrs = NULL;
}

static void
VecAdd(
    StrVec *vPtr,
    const char *bytes,
    int len,
    int external)
{
    if (vPtr->count == vPtr->cap) {
	vPtr->cap = vPtr->cap ? 2 * vPtr->cap : 16;
	vPtr->offsets = (int *) ckrealloc((char *) vPtr->offsets,
		vPtr->cap * sizeof(int));
    }
    vPtr->offsets[vPtr->count++] = Tcl_DStringLength(&vPtr->ds);
    if (external) {
	Tcl_DStringAppend(&vPtr->ds, bytes, len);
    } else {
	Tcl_DString tmp;

	Tcl_UtfToExternalDString(NULL, bytes, len, &tmp);
	Tcl_DStringAppend(&vPtr->ds, Tcl_DStringValue(&tmp),
		Tcl_DStringLength(&tmp));
	Tcl_DStringFree(&tmp);
    }

    /*
     * The terminating NUL is part of the data: the next string starts
     * after it.
     */

    Tcl_DStringAppend(&vPtr->ds, "", 1);
}

static char **
VecFinish(
    StrVec *vPtr)
{
    char *base = Tcl_DStringValue(&vPtr->ds);
    int i;

    vPtr->ptrs = (char **) ckalloc((vPtr->count + 1) * sizeof(char *));
    for (i = 0; i < vPtr->count; i++) {
	vPtr->ptrs[i] = base + vPtr->offsets[i];
    }
    vPtr->ptrs[vPtr->count] = NULL;
    return vPtr->ptrs;
}

static void
VecFree(
    StrVec *vPtr)
{
    Tcl_DStringFree(&vPtr->ds);
    if (vPtr->offsets) {
	ckfree((char *) vPtr->offsets);
    }
    if (vPtr->ptrs) {
	ckfree((char *) vPtr->ptrs);
    }
    VecInit(vPtr);
}
