/*
 * p2pWonks.c --
 *
 *	The performance estimate of this machine ("wonks"): the wall time,
 *	in milliseconds, of a fixed computation over memory and floating
 *	point. Lower is faster. It runs on libuv's thread pool, never on the
 *	loop thread, and is kept per thread; it is measured again when the
 *	load average or free memory moved by more than a tolerance since the
 *	last measurement.
 */

#include "p2pjobsInt.h"
#include <math.h>
#include <stdlib.h>

/*
 * The computation: WONKS_DOUBLES doubles (8 MiB), WONKS_PASSES passes of
 * a strided, cache-unfriendly update with a square root each. About
 * 30 ms on a current 2-core virtual machine.
 */

#define WONKS_DOUBLES	(1 << 20)
#define WONKS_PASSES	6

/*
 * A refresh is due when the 1-minute load average moved by more than
 * LOAD_TOLERANCE, or free memory by more than MEMORY_TOLERANCE of its
 * value at the last measurement.
 */

#define LOAD_TOLERANCE		0.5
#define MEMORY_TOLERANCE	0.10

typedef struct Waiter {
    Tcl_Interp *interp;		/* Preserved while waiting. */
    Tcl_Obj *cmdObj;		/* Callback prefix, value appended. */
    struct Waiter *nextPtr;
} Waiter;

/*
 * Wonks --
 *
 *	Per-thread state, hung off P2pLoop.wonksPtr and never freed (one
 *	small struct per thread). `work` is owned by libuv while running.
 */

typedef struct Wonks {
    double value;		/* Last estimate in ms; < 0 before any. */
    Tcl_WideInt measuredAt;	/* [clock milliseconds] of that estimate. */
    double load;		/* 1-minute load average then. */
    double freeMemory;		/* Free bytes then. */
    int running;		/* A measurement is on the thread pool. */
    int runs;			/* Measurements completed. */
    double result;		/* Written by the pool thread. */
    uv_work_t work;
    Waiter *waiters;
    P2pLoop *loopPtr;
} Wonks;

static void	WorkProc(uv_work_t *req);
static void	AfterWorkProc(uv_work_t *req, int status);
static void	NotifyProc(void *clientData);
static int	StartMeasure(Wonks *wPtr);
static int	RefreshDue(Wonks *wPtr);

static Wonks *
GetWonks(
    P2pLoop *loopPtr)
{
    if (loopPtr->wonksPtr == NULL) {
	Wonks *wPtr = (Wonks *) ckalloc(sizeof(Wonks));

	memset(wPtr, 0, sizeof(Wonks));
	wPtr->value = -1.0;
	wPtr->work.data = wPtr;
	wPtr->loopPtr = loopPtr;
	loopPtr->wonksPtr = wPtr;
    }
    return (Wonks *) loopPtr->wonksPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * WorkProc --
 *
 *	Runs on a pool thread: the fixed computation, timed. Touches only
 *	its own memory and wPtr->result.
 *
 *----------------------------------------------------------------------
 */

static void
WorkProc(
    uv_work_t *req)
{
    Wonks *wPtr = (Wonks *) req->data;
    double *a = (double *) malloc(sizeof(double) * WONKS_DOUBLES);
    uint64_t start = uv_hrtime();
    size_t i, j, mask = WONKS_DOUBLES - 1;
    volatile double sink = 0.0;

    if (a == NULL) {
	wPtr->result = -1.0;
	return;
    }
    for (i = 0; i < WONKS_DOUBLES; i++) {
	a[i] = (double) (i % 1000) + 0.5;
    }
    for (j = 0; j < WONKS_PASSES; j++) {
	for (i = 0; i < WONKS_DOUBLES; i++) {
	    size_t k = (i * 7919 + j) & mask;

	    a[i] = a[i] * 0.999999 + sqrt(a[k]) * 1e-3;
	}
    }
    for (i = 0; i < WONKS_DOUBLES; i += 4096) {
	sink += a[i];
    }
    (void) sink;
    free(a);
    wPtr->result = (double) (uv_hrtime() - start) / 1e6;
}

/*
 *----------------------------------------------------------------------
 *
 * AfterWorkProc --
 *
 *	Back on the loop thread, inside uv_run: record the estimate and
 *	queue the notification of waiters for the Tcl side.
 *
 *----------------------------------------------------------------------
 */

static void
AfterWorkProc(
    uv_work_t *req,
    int status)
{
    Wonks *wPtr = (Wonks *) req->data;
    double load[3];
    Tcl_Time now;

    wPtr->running = 0;
    if (status == 0 && wPtr->result > 0) {
	uv_loadavg(load);
	Tcl_GetTime(&now);
	wPtr->value = wPtr->result;
	wPtr->load = load[0];
	wPtr->freeMemory = (double) uv_get_free_memory();
	wPtr->measuredAt = (Tcl_WideInt) now.sec * 1000 + now.usec / 1000;
	wPtr->runs++;
    }
    P2pLoopQueueTask(wPtr->loopPtr, NotifyProc, wPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * NotifyProc --
 *
 *	From the service event: calls every waiting callback with the value.
 *
 *----------------------------------------------------------------------
 */

static void
NotifyProc(
    void *clientData)
{
    Wonks *wPtr = (Wonks *) clientData;
    Waiter *waiterPtr;

    if (wPtr->running) {
	return;		/* Waiters want the measurement under way. */
    }
    waiterPtr = wPtr->waiters;
    wPtr->waiters = NULL;
    while (waiterPtr) {
	Waiter *nextPtr = waiterPtr->nextPtr;
	Tcl_Interp *interp = waiterPtr->interp;

	if (!Tcl_InterpDeleted(interp)) {
	    Tcl_Obj *callObj = Tcl_DuplicateObj(waiterPtr->cmdObj);
	    Tcl_InterpState state;
	    int code;

	    Tcl_IncrRefCount(callObj);
	    Tcl_ListObjAppendElement(NULL, callObj,
		    Tcl_NewDoubleObj(wPtr->value));
	    state = Tcl_SaveInterpState(interp, TCL_OK);
	    code = Tcl_EvalObjEx(interp, callObj, TCL_EVAL_GLOBAL);
	    if (code != TCL_OK) {
		Tcl_BackgroundException(interp, code);
	    }
	    Tcl_RestoreInterpState(interp, state);
	    Tcl_DecrRefCount(callObj);
	}
	Tcl_DecrRefCount(waiterPtr->cmdObj);
	Tcl_Release(interp);
	ckfree((char *) waiterPtr);
	waiterPtr = nextPtr;
    }
}

static int
StartMeasure(
    Wonks *wPtr)
{
    int status;

    if (wPtr->running) {
	return 0;
    }
    status = uv_queue_work(&wPtr->loopPtr->uv, &wPtr->work, WorkProc,
	    AfterWorkProc);
    if (status == 0) {
	wPtr->running = 1;
    }
    return status;
}

static int
RefreshDue(
    Wonks *wPtr)
{
    double load[3], freeMemory;

    if (wPtr->value < 0) {
	return 1;
    }
    uv_loadavg(load);
    freeMemory = (double) uv_get_free_memory();
    return fabs(load[0] - wPtr->load) > LOAD_TOLERANCE
	    || fabs(freeMemory - wPtr->freeMemory)
	    > MEMORY_TOLERANCE * wPtr->freeMemory;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pWonksObjCmd --
 *
 *	p2p::wonks               the estimate (ms); measures first if there
 *	                         is none, refreshes in the background when due
 *	p2p::wonks refresh       measure now and return the new estimate
 *	p2p::wonks async CMD     return at once; CMD is called with the value
 *	                         when the measurement under way (or a new
 *	                         one) finishes
 *	p2p::wonks info          dict: wonks measured load freeMemory
 *	                         refreshing runs
 *
 *	Waiting keeps the event loop running, as vwait does.
 *
 *----------------------------------------------------------------------
 */

int
P2pWonksObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subs[] = {"async", "info", "refresh", NULL};
    enum { ASYNC, INFO, REFRESH };
    P2pLoop *loopPtr = P2pLoopGet();
    Wonks *wPtr = GetWonks(loopPtr);
    int index = -1, status;

    (void) clientData;
    if (objc > 1 && Tcl_GetIndexFromObj(interp, objv[1], subs,
	    "subcommand", 0, &index) != TCL_OK) {
	return TCL_ERROR;
    }
    if ((index == ASYNC && objc != 3) || (index != ASYNC && objc > 2)) {
	Tcl_WrongNumArgs(interp, 1, objv, "?refresh|info|async command?");
	return TCL_ERROR;
    }
    if (index == INFO) {
	Tcl_Obj *dictObj = Tcl_NewDictObj();

	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("wonks", -1),
		Tcl_NewDoubleObj(wPtr->value));
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("measured", -1),
		Tcl_NewWideIntObj(wPtr->measuredAt));
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("load", -1),
		Tcl_NewDoubleObj(wPtr->load));
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("freeMemory", -1),
		Tcl_NewWideIntObj((Tcl_WideInt) wPtr->freeMemory));
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("refreshing", -1),
		Tcl_NewBooleanObj(wPtr->running));
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("runs", -1),
		Tcl_NewIntObj(wPtr->runs));
	Tcl_SetObjResult(interp, dictObj);
	return TCL_OK;
    }
    if (index == ASYNC) {
	Waiter *waiterPtr = (Waiter *) ckalloc(sizeof(Waiter));

	if ((status = StartMeasure(wPtr)) != 0) {
	    ckfree((char *) waiterPtr);
	    return P2pUvError(interp, status, "cannot start the measurement");
	}
	waiterPtr->interp = interp;
	Tcl_Preserve(interp);
	waiterPtr->cmdObj = objv[2];
	Tcl_IncrRefCount(objv[2]);
	waiterPtr->nextPtr = wPtr->waiters;
	wPtr->waiters = waiterPtr;
	return TCL_OK;
    }
    if (index == REFRESH || wPtr->value < 0) {
	int runs = wPtr->runs;

	if ((status = StartMeasure(wPtr)) != 0) {
	    return P2pUvError(interp, status, "cannot start the measurement");
	}
	while (wPtr->runs == runs && wPtr->running) {
	    Tcl_DoOneEvent(TCL_ALL_EVENTS);
	}
	if (wPtr->value < 0) {
	    return P2pError(interp, "P2P WONKS FAILED", "the performance"
		    " measurement failed (out of memory?)");
	}
    } else if (RefreshDue(wPtr)) {
	StartMeasure(wPtr);
    }
    Tcl_SetObjResult(interp, Tcl_NewDoubleObj(wPtr->value));
    return TCL_OK;
}
