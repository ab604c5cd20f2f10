/*
 * p2pWinLoop.c --
 *
 *	The Windows half of the loop bridge. libuv on Windows has no backend
 *	descriptor that Tcl's notifier could watch: all of its news (socket
 *	I/O, accepted connections, uv_async_send, process exits, thread pool
 *	results) arrives as completion packets on the loop's I/O completion
 *	port. So each loop gets a helper thread that, while the Tcl thread
 *	is about to block, waits on that port too. When a packet arrives the
 *	helper puts it back on the port unchanged, for the Tcl thread's next
 *	uv_run to find, and wakes the Tcl thread with Tcl_ThreadAlert.
 *
 *	The helper thread never calls libuv: every uv_* call stays on the
 *	thread that owns the loop, as libuv requires. See win/README.md for
 *	the design and why it was chosen.
 *
 *	NOT BUILT OR TESTED: this file was written on Linux, where it can
 *	only be syntax-checked with a cross compiler.
 */

#include "p2pjobsInt.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

/*
 * The completion key of the packet that P2ppLoopBridgeFinalize posts to
 * wake the helper. libuv posts its own packets with key 0 and ignores
 * packets without an OVERLAPPED, so a stray one of ours is harmless.
 */

#define WAKE_KEY ((ULONG_PTR) 0x70327077)	/* "p2pw" */

/*
 * WinBridge --
 *
 *	The platform part of one P2pLoop (loopPtr->bridgePtr). Made by
 *	P2ppLoopBridgeInit on the loop's thread, freed by
 *	P2ppLoopBridgeFinalize on the same thread after the helper thread
 *	has been joined. The fields below the mutex are shared with the
 *	helper thread and only touched with the mutex held.
 */

typedef struct WinBridge {
    HANDLE iocp;		/* The loop's completion port (not ours). */
    Tcl_ThreadId owner;		/* The Tcl thread that owns the loop. */
    Tcl_ThreadId helper;	/* The thread that waits on the port. */
    Tcl_Mutex mutex;
    Tcl_Condition cond;		/* Signalled on arm and on stop. */
    int armed;			/* The owner wants the port watched. */
    int waiting;		/* The helper is (about to be) in GQCS. */
    int stop;			/* Finalize asked the helper to end. */
    DWORD timeoutMs;		/* How long the armed wait may last. */
} WinBridge;

static Tcl_ThreadCreateType HelperThreadProc(ClientData clientData);

/*
 *----------------------------------------------------------------------
 *
 * P2ppLoopBridgeInit --
 *
 *	Called once per thread, after uv_loop_init: starts the helper thread
 *	of the loop.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR if the thread could not be started.
 *
 * Side effects:
 *	Sets loopPtr->bridgePtr.
 *
 *----------------------------------------------------------------------
 */

int
P2ppLoopBridgeInit(
    P2pLoop *loopPtr)
{
    WinBridge *bridgePtr = (WinBridge *) ckalloc(sizeof(WinBridge));

    memset(bridgePtr, 0, sizeof(WinBridge));
    bridgePtr->iocp = loopPtr->uv.iocp;
    bridgePtr->owner = Tcl_GetCurrentThread();
    bridgePtr->timeoutMs = INFINITE;
    if (Tcl_CreateThread(&bridgePtr->helper, HelperThreadProc, bridgePtr,
	    TCL_THREAD_STACK_DEFAULT, TCL_THREAD_JOINABLE) != TCL_OK) {
	Tcl_MutexFinalize(&bridgePtr->mutex);
	Tcl_ConditionFinalize(&bridgePtr->cond);
	ckfree((char *) bridgePtr);
	return TCL_ERROR;
    }
    loopPtr->bridgePtr = bridgePtr;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppLoopBridgeFinalize --
 *
 *	Stops and joins the helper thread and frees the bridge. Must be
 *	called on the loop's thread, outside uv_run and before
 *	uv_loop_close closes the completion port.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May post one packet with WAKE_KEY to the port (see WAKE_KEY).
 *
 *----------------------------------------------------------------------
 */

void
P2ppLoopBridgeFinalize(
    P2pLoop *loopPtr)
{
    WinBridge *bridgePtr = (WinBridge *) loopPtr->bridgePtr;
    int result, waiting;

    if (bridgePtr == NULL) {
	return;
    }
    Tcl_MutexLock(&bridgePtr->mutex);
    bridgePtr->stop = 1;
    waiting = bridgePtr->waiting;
    Tcl_ConditionNotify(&bridgePtr->cond);
    Tcl_MutexUnlock(&bridgePtr->mutex);

    /*
     * A helper inside GetQueuedCompletionStatus needs a packet to return.
     * No uv_run is active on this thread now, so only the helper can take
     * it. If the helper set "waiting" but has not reached the call yet,
     * the packet waits for it in the port.
     */

    if (waiting) {
	PostQueuedCompletionStatus(bridgePtr->iocp, 0, WAKE_KEY, NULL);
    }
    Tcl_JoinThread(bridgePtr->helper, &result);
    Tcl_MutexFinalize(&bridgePtr->mutex);
    Tcl_ConditionFinalize(&bridgePtr->cond);
    ckfree((char *) bridgePtr);
    loopPtr->bridgePtr = NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppLoopBridgeArm --
 *
 *	Called from the event source's setup step, just before Tcl may
 *	block: lets the helper watch the port for at most timeoutMs
 *	milliseconds (-1: no limit). The limit only decides when the helper
 *	gives up: Tcl's own block time, set by the setup step from the same
 *	uv_backend_timeout, is what makes due libuv timers fire.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Wakes the helper thread if it is idle.
 *
 *----------------------------------------------------------------------
 */

void
P2ppLoopBridgeArm(
    P2pLoop *loopPtr,
    int timeoutMs)
{
    WinBridge *bridgePtr = (WinBridge *) loopPtr->bridgePtr;

    if (bridgePtr == NULL || timeoutMs == 0) {
	/*
	 * With a zero timeout Tcl does not block at all and the check step
	 * polls the port itself: waking the helper would only cost a
	 * context switch.
	 */

	return;
    }
    Tcl_MutexLock(&bridgePtr->mutex);
    bridgePtr->timeoutMs = (timeoutMs < 0) ? INFINITE : (DWORD) timeoutMs;
    if (!bridgePtr->armed) {
	bridgePtr->armed = 1;
	Tcl_ConditionNotify(&bridgePtr->cond);
    }
    Tcl_MutexUnlock(&bridgePtr->mutex);
}

/*
 *----------------------------------------------------------------------
 *
 * HelperThreadProc --
 *
 *	The helper thread: waits until armed, then waits for one completion
 *	packet, puts it back and alerts the owner; then waits to be armed
 *	again, which happens only after the owner's check step has run
 *	uv_run. So a packet it put back is never taken again by the helper
 *	before libuv had its chance, and the helper never spins.
 *
 *	libuv creates the port with a concurrency of one. A thread that
 *	called GetQueuedCompletionStatus on the port counts as running on it
 *	until it waits, so the helper is released with a packet only while
 *	the owner is blocked in Tcl's notifier, which is exactly when it is
 *	needed; while the owner runs, its own uv_run takes the packets.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Re-posts completion packets; calls Tcl_ThreadAlert.
 *
 *----------------------------------------------------------------------
 */

static Tcl_ThreadCreateType
HelperThreadProc(
    ClientData clientData)
{
    WinBridge *bridgePtr = (WinBridge *) clientData;

    for (;;) {
	DWORD bytes = 0, timeoutMs;
	ULONG_PTR key = 0;
	OVERLAPPED *overlappedPtr = NULL;
	BOOL ok;
	int alert = 0, gone = 0;

	Tcl_MutexLock(&bridgePtr->mutex);
	while (!bridgePtr->stop && !bridgePtr->armed) {
	    Tcl_ConditionWait(&bridgePtr->cond, &bridgePtr->mutex, NULL);
	}
	if (bridgePtr->stop) {
	    Tcl_MutexUnlock(&bridgePtr->mutex);
	    break;
	}
	bridgePtr->waiting = 1;
	timeoutMs = bridgePtr->timeoutMs;
	Tcl_MutexUnlock(&bridgePtr->mutex);

	ok = GetQueuedCompletionStatus(bridgePtr->iocp, &bytes, &key,
		&overlappedPtr, timeoutMs);

	if (overlappedPtr != NULL) {
	    /*
	     * A packet for libuv, whether its I/O succeeded (ok) or failed
	     * (!ok): libuv reads the status and byte count from the
	     * OVERLAPPED itself, which the kernel filled in before queueing
	     * the packet, so re-posting loses nothing.
	     */

	    PostQueuedCompletionStatus(bridgePtr->iocp, bytes, key,
		    overlappedPtr);
	    alert = 1;
	} else if (ok) {
	    /*
	     * A packet without an OVERLAPPED: ours from Finalize (the loop
	     * re-checks "stop"), or someone else's, which is passed on.
	     */

	    if (key != WAKE_KEY) {
		PostQueuedCompletionStatus(bridgePtr->iocp, bytes, key, NULL);
		alert = 1;
	    }
	} else if (GetLastError() != WAIT_TIMEOUT) {
	    /*
	     * The port was closed under us (ERROR_ABANDONED_WAIT_0) or is
	     * invalid: nothing more can arrive.
	     */

	    gone = 1;
	}

	Tcl_MutexLock(&bridgePtr->mutex);
	bridgePtr->waiting = 0;
	bridgePtr->armed = 0;
	Tcl_MutexUnlock(&bridgePtr->mutex);

	if (alert) {
	    /*
	     * Waking the notifier is enough, no event need be queued:
	     * Tcl_DoOneEvent runs every event source's check step after
	     * each wait, and ours runs uv_run.
	     */

	    Tcl_ThreadAlert(bridgePtr->owner);
	}
	if (gone) {
	    break;
	}
    }
    TCL_THREAD_CREATE_RETURN;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppLoopBridgeRun --
 *
 *	Not on Windows: the helper thread owns the completion port, so
 *	p2p::vwait waits as vwait does.
 *
 *----------------------------------------------------------------------
 */

int
P2ppLoopBridgeRun(
    P2pLoop *loopPtr,
    int wait)
{
    (void) loopPtr;
    (void) wait;
    return -1;
}
