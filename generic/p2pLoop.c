/*
 * p2pLoop.c --
 *
 *	The bridge between libuv and Tcl's event loop. Each thread has one
 *	uv_loop_t, driven by a Tcl event source: the setup step flushes
 *	queued output and tells Tcl how long it may block (from
 *	uv_backend_timeout); the check step runs uv_run(UV_RUN_NOWAIT). libuv
 *	callbacks never evaluate Tcl: they put connections on a ready list
 *	and queue one Tcl event, whose handler runs the scripts. The platform
 *	part (unix/, win/) wakes the notifier when libuv has I/O.
 *
 *	p2p::vwait's fast path (p2pWait.c) runs libuv itself instead, with
 *	P2pLoopRunOnce, and tells the check step of its Tcl_ServiceAll to
 *	leave libuv be: libuv was just run, or is about to be.
 */

#include "p2pjobsInt.h"

typedef struct ServiceEvent {
    Tcl_Event header;
    P2pLoop *loopPtr;
} ServiceEvent;

static Tcl_ThreadDataKey loopKey;

static void		SetupProc(ClientData clientData, int flags);
static void		CheckProc(ClientData clientData, int flags);
static int		ServiceEventProc(Tcl_Event *evPtr, int flags);
static void		ServiceReady(P2pLoop *loopPtr);
static void		QueueServiceEvent(P2pLoop *loopPtr);
static void		FlushAll(P2pLoop *loopPtr);
static void		CountHandleProc(uv_handle_t *handle, void *arg);
static void		BoundProc(uv_timer_t *timerPtr);

/*
 *----------------------------------------------------------------------
 *
 * P2pLoopGet --
 *
 *	The loop of the calling thread, made on first use.
 *
 * Results:
 *	The thread's P2pLoop, or NULL if libuv could not make a loop.
 *
 * Side effects:
 *	The first call in a thread initializes the uv loop, creates the
 *	event source and arms the platform bridge.
 *
 *----------------------------------------------------------------------
 */

P2pLoop *
P2pLoopGet(void)
{
    P2pLoop *loopPtr = (P2pLoop *)
	    Tcl_GetThreadData(&loopKey, sizeof(P2pLoop));

    if (!loopPtr->initialized) {
	if (uv_loop_init(&loopPtr->uv) != 0) {
	    return NULL;
	}
	loopPtr->uv.data = loopPtr;
	loopPtr->nextCid = 1;
	uv_timer_init(&loopPtr->uv, &loopPtr->boundTimer);
	uv_unref((uv_handle_t *) &loopPtr->boundTimer);
	Tcl_CreateEventSource(SetupProc, CheckProc, loopPtr);
	if (P2ppLoopBridgeInit(loopPtr) != TCL_OK) {
	    Tcl_DeleteEventSource(SetupProc, CheckProc, loopPtr);
	    uv_loop_close(&loopPtr->uv);
	    return NULL;
	}
	loopPtr->initialized = 1;
    }
    return loopPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * SetupProc --
 *
 *	Event source setup step, called before Tcl blocks. Writes all queued
 *	output (so that everything scripts sent since the last wait leaves
 *	in as few syscalls as possible) and bounds Tcl's block time by
 *	libuv's next timer (not in p2p::vwait's Tcl_ServiceAll, skipCheck,
 *	which never blocks).
 *
 *----------------------------------------------------------------------
 */

static void
SetupProc(
    ClientData clientData,
    int flags)
{
    P2pLoop *loopPtr = (P2pLoop *) clientData;
    Tcl_Time block = {0, 0};
    int timeout;

    if (!(flags & TCL_FILE_EVENTS)) {
	return;
    }
    FlushAll(loopPtr);
    if (loopPtr->skipCheck) {
	/*
	 * p2p::vwait's Tcl_ServiceAll, which never blocks: p2p::vwait
	 * bounds its own wait in libuv.
	 */
	return;
    }
    if (loopPtr->readyHead != NULL || loopPtr->taskHead != NULL) {
	Tcl_SetMaxBlockTime(&block);
	return;
    }
    if (!uv_loop_alive(&loopPtr->uv)) {
	P2ppLoopBridgeArm(loopPtr, -1);
	return;
    }
    uv_update_time(&loopPtr->uv);
    timeout = uv_backend_timeout(&loopPtr->uv);
    if (timeout >= 0) {
	block.sec = timeout / 1000;
	block.usec = (timeout % 1000) * 1000;
	Tcl_SetMaxBlockTime(&block);
    }
    P2ppLoopBridgeArm(loopPtr, timeout);
}

/*
 *----------------------------------------------------------------------
 *
 * CheckProc --
 *
 *	Event source check step, called after Tcl waited (whether or not
 *	anything was readable, so that due timers fire). Runs libuv once
 *	without blocking; its callbacks fill the ready list. Not when
 *	p2p::vwait's fast path said so (skipCheck, good for one step).
 *
 *----------------------------------------------------------------------
 */

static void
CheckProc(
    ClientData clientData,
    int flags)
{
    P2pLoop *loopPtr = (P2pLoop *) clientData;

    if (loopPtr->skipCheck) {
	loopPtr->skipCheck = 0;
	return;
    }
    if (!(flags & TCL_FILE_EVENTS) || loopPtr->running) {
	return;
    }
    loopPtr->running = 1;
    uv_run(&loopPtr->uv, UV_RUN_NOWAIT);
    loopPtr->running = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pLoopRunOnce --
 *
 *	p2p::vwait's fast path: writes all queued output, then runs libuv
 *	once in this thread, sleeping in libuv's own poll (epoll_wait) for
 *	at most ms milliseconds (none if ms is 0) until it has I/O. One
 *	syscall for a wake-up, where a poll() on libuv's descriptor and then
 *	a uv_run that does not wait made two.
 *
 *	If service is true, what libuv's callbacks made ready (connections,
 *	tasks) is serviced here, as the service event would, without a Tcl
 *	event: for a caller that knows Tcl's event queue held nothing to
 *	serve before it (so that nothing is overtaken). The scripts run
 *	after libuv's run, so a vwait or update in them runs libuv again.
 *
 * Results:
 *	1 when libuv's callbacks gave Tcl work (a service event was asked
 *	for, or done here), 0 when not, -1 when the caller must wait as
 *	vwait does: libuv has nothing to wait for, is running already, or
 *	this platform does not let this thread run it (P2ppLoopBridgeRun).
 *
 * Side effects:
 *	libuv's callbacks; the output's writes; with service, anything the
 *	protocol commands and callbacks do.
 *
 *----------------------------------------------------------------------
 */

int
P2pLoopRunOnce(
    P2pLoop *loopPtr,
    int ms,
    int service)
{
    unsigned long queued = loopPtr->numQueued;
    int code;

    if (loopPtr->running) {
	return -1;
    }
    FlushAll(loopPtr);
    if (!uv_loop_alive(&loopPtr->uv)) {
	return -1;
    }
    if (ms > 0) {
	uv_update_time(&loopPtr->uv);
	uv_timer_start(&loopPtr->boundTimer, BoundProc, (uint64_t) ms, 0);
    }
    loopPtr->running = 1;
    loopPtr->direct = service;
    code = P2ppLoopBridgeRun(loopPtr, ms > 0);
    loopPtr->direct = 0;
    loopPtr->running = 0;
    if (ms > 0) {
	uv_timer_stop(&loopPtr->boundTimer);
    }
    if (code < 0) {
	return -1;
    }
    if (loopPtr->numQueued == queued) {
	return 0;
    }
    if (service) {
	/* As inside Tcl_DoOneEvent: no Tcl_ServiceAll from handlers. */
	int oldMode = Tcl_SetServiceMode(TCL_SERVICE_NONE);

	ServiceReady(loopPtr);
	Tcl_SetServiceMode(oldMode);
    }
    return 1;
}

/*
 * The bound's timer: its firing ends libuv's wait. It may fire before
 * the wait, not after it: uv_run reads the clock again before it runs
 * its timers, and a millisecond may have begun since the timer was
 * started (or the loop's time was old). Then, without uv_stop, libuv
 * would compute its wait from the timers left, none perhaps, and wait
 * for I/O alone: p2p::vwait stuck in epoll_wait while Tcl's timers are
 * due (loop-4.9). uv_stop makes that wait 0; uv_run clears the flag.
 */

static void
BoundProc(
    uv_timer_t *timerPtr)
{
    uv_stop(timerPtr->loop);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pLoopMarkReady --
 *
 *	Puts a connection on the ready list (once) and makes sure a service
 *	event is queued. Called from libuv callbacks and from C code that
 *	wants a connection's callbacks to fire from the event loop.
 *
 * Side effects:
 *	Takes a reference on the connection while it is listed.
 *
 *----------------------------------------------------------------------
 */

void
P2pLoopMarkReady(
    P2pConn *connPtr)
{
    P2pLoop *loopPtr = connPtr->handlerPtr->loopPtr;

    if (!(connPtr->flags & CONN_IN_READY)) {
	connPtr->flags |= CONN_IN_READY;
	connPtr->refCount++;
	connPtr->readyNext = NULL;
	connPtr->readyPrev = loopPtr->readyTail;
	if (loopPtr->readyTail) {
	    loopPtr->readyTail->readyNext = connPtr;
	} else {
	    loopPtr->readyHead = connPtr;
	}
	loopPtr->readyTail = connPtr;
    }
    QueueServiceEvent(loopPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pLoopUnlinkReady --
 *
 *	Takes a connection off the ready list. The caller inherits the
 *	reference the list held.
 *
 *----------------------------------------------------------------------
 */

void
P2pLoopUnlinkReady(
    P2pConn *connPtr)
{
    P2pLoop *loopPtr = connPtr->handlerPtr->loopPtr;

    if (connPtr->readyPrev) {
	connPtr->readyPrev->readyNext = connPtr->readyNext;
    } else {
	loopPtr->readyHead = connPtr->readyNext;
    }
    if (connPtr->readyNext) {
	connPtr->readyNext->readyPrev = connPtr->readyPrev;
    } else {
	loopPtr->readyTail = connPtr->readyPrev;
    }
    connPtr->readyPrev = connPtr->readyNext = NULL;
    connPtr->flags &= ~CONN_IN_READY;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pLoopWake --
 *
 *	Makes the current or next Tcl_DoOneEvent return: for libuv news
 *	that changes C state a script waits on (a failed connect) without
 *	any connection becoming ready.
 *
 *----------------------------------------------------------------------
 */

void
P2pLoopWake(
    P2pLoop *loopPtr)
{
    QueueServiceEvent(loopPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pLoopQueueTask --
 *
 *	Queues work for the Tcl side; a libuv callback's way to get a script
 *	run. The task runs from the next service event.
 *
 *----------------------------------------------------------------------
 */

void
P2pLoopQueueTask(
    P2pLoop *loopPtr,
    P2pTaskProc *proc,
    void *clientData)
{
    P2pTask *taskPtr = (P2pTask *) ckalloc(sizeof(P2pTask));

    taskPtr->proc = proc;
    taskPtr->clientData = clientData;
    taskPtr->nextPtr = NULL;
    if (loopPtr->taskTail) {
	loopPtr->taskTail->nextPtr = taskPtr;
    } else {
	loopPtr->taskHead = taskPtr;
    }
    loopPtr->taskTail = taskPtr;
    QueueServiceEvent(loopPtr);
}

static void
QueueServiceEvent(
    P2pLoop *loopPtr)
{
    ServiceEvent *evPtr;

    loopPtr->numQueued++;
    if (loopPtr->eventQueued || loopPtr->direct) {
	return;
    }
    evPtr = (ServiceEvent *) ckalloc(sizeof(ServiceEvent));
    evPtr->header.proc = ServiceEventProc;
    evPtr->loopPtr = loopPtr;
    loopPtr->eventQueued = 1;
    Tcl_QueueEvent((Tcl_Event *) evPtr, TCL_QUEUE_TAIL);
}

/*
 *----------------------------------------------------------------------
 *
 * ServiceEventProc --
 *
 *	The Tcl event that runs scripts for libuv's news: services every
 *	connection on the ready list, in the order they became ready.
 *
 * Results:
 *	1 (the event is done), or 0 when file events are not being
 *	serviced now.
 *
 * Side effects:
 *	Runs protocol commands and callbacks.
 *
 *----------------------------------------------------------------------
 */

static int
ServiceEventProc(
    Tcl_Event *evPtr,
    int flags)
{
    P2pLoop *loopPtr = ((ServiceEvent *) evPtr)->loopPtr;

    if (!(flags & TCL_FILE_EVENTS)) {
	return 0;
    }
    loopPtr->eventQueued = 0;
    ServiceReady(loopPtr);
    return 1;
}

/*
 * ServiceReady: every connection on the ready list in the order they
 * became ready, then every task; for the service event, and for
 * P2pLoopRunOnce with service.
 */

static void
ServiceReady(
    P2pLoop *loopPtr)
{
    P2pConn *connPtr;

    while ((connPtr = loopPtr->readyHead) != NULL) {
	P2pLoopUnlinkReady(connPtr);
	P2pConnService(connPtr);
	P2pConnRelease(connPtr);
    }
    while (loopPtr->taskHead != NULL) {
	P2pTask *taskPtr = loopPtr->taskHead;

	loopPtr->taskHead = taskPtr->nextPtr;
	if (loopPtr->taskHead == NULL) {
	    loopPtr->taskTail = NULL;
	}
	taskPtr->proc(taskPtr->clientData);
	ckfree((char *) taskPtr);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pLoopWantFlush, FlushAll --
 *
 *	Output queued by scripts is written when the loop is about to block
 *	(or earlier, when a connection queued much). P2pLoopWantFlush puts a
 *	connection on the flush list; FlushAll writes them all.
 *
 *----------------------------------------------------------------------
 */

void
P2pLoopWantFlush(
    P2pConn *connPtr)
{
    P2pLoop *loopPtr = connPtr->handlerPtr->loopPtr;

    if (!(connPtr->flags & CONN_IN_FLUSH)) {
	connPtr->flags |= CONN_IN_FLUSH;
	connPtr->refCount++;
	connPtr->flushNext = loopPtr->flushHead;
	loopPtr->flushHead = connPtr;
    }
}

static void
FlushAll(
    P2pLoop *loopPtr)
{
    while (loopPtr->flushHead != NULL) {
	P2pConn *connPtr = loopPtr->flushHead;

	loopPtr->flushHead = connPtr->flushNext;
	connPtr->flushNext = NULL;
	connPtr->flags &= ~CONN_IN_FLUSH;
	P2pConnFlush(connPtr);
	P2pConnRelease(connPtr);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pLoopPending, P2pLoopCountHandles --
 *
 *	Introspection for p2p::debug: connections waiting for service or
 *	flush, and live libuv handles.
 *
 *----------------------------------------------------------------------
 */

int
P2pLoopPending(
    P2pLoop *loopPtr)
{
    int n = 0;
    P2pConn *connPtr;

    for (connPtr = loopPtr->readyHead; connPtr; connPtr = connPtr->readyNext) {
	n++;
    }
    for (connPtr = loopPtr->flushHead; connPtr; connPtr = connPtr->flushNext) {
	n++;
    }
    return n;
}

/* The bound's timer is the loop's own, not a handle scripts made. */

static void
CountHandleProc(
    uv_handle_t *handle,
    void *arg)
{
    P2pLoop *loopPtr = (P2pLoop *) handle->loop->data;

    if (handle != (uv_handle_t *) &loopPtr->boundTimer) {
	(*(int *) arg)++;
    }
}

int
P2pLoopCountHandles(
    P2pLoop *loopPtr)
{
    int n = 0;

    uv_walk(&loopPtr->uv, CountHandleProc, &n);
    return n;
}
