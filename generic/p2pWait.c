/*
 * p2pWait.c --
 *
 *	p2p::vwait: vwait for code whose events are mostly the network's.
 *
 *	Tcl 8.6's unix notifier waits in a helper thread. Every time the
 *	main thread waits, even for no time at all, it tells that thread
 *	(a pipe write), the thread selects and answers through a condition
 *	variable: a few context switches per wait, that is per message when
 *	one job runs at a time. While messages flow, p2p::vwait sleeps in
 *	libuv's own poll instead (P2pLoopRunOnce: one epoll_wait, bounded by
 *	POLL_MS), and runs everything else Tcl has to do (queued events, due
 *	timers, idle callbacks) with Tcl_ServiceAll, which never waits.
 *	Tcl_ServiceAll's check step then leaves libuv be (it was just run);
 *	libuv runs again when Tcl found nothing to do (waiting) or, without
 *	waiting, every other pass while Tcl keeps finding work. So a message
 *	costs one wake-up in epoll_wait, its read and its reply's write.
 *	When libuv ran because Tcl found nothing to do, the messages it
 *	brought are served right after it (P2pLoopRunOnce with service:
 *	no Tcl event, no Tcl_ServiceAll), and Tcl_ServiceAll runs on the
 *	next pass unless the wait is over by then.
 *
 *	Tcl's own file events (its channels, Tk's display) only reach the
 *	event queue through the notifier, so they are asked for with a
 *	Tcl_DoOneEvent that does not wait: whenever libuv found nothing for
 *	POLL_MS, and at least every FILES_MS while messages flow. Once the
 *	network has been quiet for QUIET_MS, p2p::vwait waits in
 *	Tcl_DoOneEvent as vwait does, until the next event of any kind. So a
 *	Tcl timer runs at most POLL_MS late, a channel's fileevent at most
 *	FILES_MS, and an idle process sleeps.
 */

#include "p2pjobsInt.h"

#define POLL_MS		1	/* Longest sleep in libuv on the fast path. */
#define FILES_MS	5	/* Tcl's file events are polled this often. */
#define QUIET_MS	20	/* Quiet this long: wait as vwait does. */

static char *	WaitVarProc(ClientData clientData, Tcl_Interp *interp,
		    const char *name1, const char *name2, int flags);
static int	ServiceAll(P2pLoop *loopPtr);
static long	MsBetween(const Tcl_Time *thenPtr, const Tcl_Time *nowPtr);
static int	FlagSet(ClientData clientData);

static char *
WaitVarProc(
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
    *(int *) clientData = 1;
    return NULL;
}

/*
 * Tcl_ServiceAll does nothing unless the thread's service mode is
 * TCL_SERVICE_ALL, which it is not by default, nor inside an event
 * handler (as vwait in a handler does, this runs events nested). Its
 * check step, which comes before any handler runs, leaves libuv be.
 */

static int
ServiceAll(
    P2pLoop *loopPtr)
{
    int oldMode = Tcl_SetServiceMode(TCL_SERVICE_ALL);
    int found;

    loopPtr->skipCheck = 1;
    found = Tcl_ServiceAll();
    loopPtr->skipCheck = 0;
    Tcl_SetServiceMode(oldMode);
    return found;
}

static long
MsBetween(
    const Tcl_Time *thenPtr,
    const Tcl_Time *nowPtr)
{
    return (nowPtr->sec - thenPtr->sec) * 1000
	    + (nowPtr->usec - thenPtr->usec) / 1000;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pWaitUntil --
 *
 *	Runs the event loop, as p2p::vwait does, until doneProc (called
 *	with clientData after every step) returns true. varName is the
 *	variable named in the error of a loop with nothing left to wait
 *	for. (p2p::vwait waits so for a trace on a variable; the farm's
 *	`wait`, generic/p2pFarmMethods.c, for a count its traces change.)
 *
 * Results:
 *	TCL_OK once doneProc said so; else TCL_ERROR with the errors of
 *	vwait (would wait forever, limit exceeded, canceled).
 *
 * Side effects:
 *	Anything the event handlers do.
 *
 *----------------------------------------------------------------------
 */

int
P2pWaitUntil(
    Tcl_Interp *interp,
    P2pWaitDoneProc *doneProc,
    ClientData clientData,
    const char *varName)
{
    P2pLoop *loopPtr = P2pLoopGet();
    int done = 0, foundEvent = 1, fast = 1, busy = 1, ready;
    Tcl_Time now, active, files;

    /*
     * busy: how many passes running Tcl_ServiceAll found work (at most
     * 2), 0 when the last found none. It starts at 1: what the caller
     * left to do (an idle callback, output to write) comes first.
     *
     * The clock is read once a pass, at its start: what the pass found
     * is dated then, a millisecond early at most (a wait in libuv).
     */

    Tcl_GetTime(&active);
    files = active;
    while (!(done = doneProc(clientData)) && foundEvent) {
	if (!fast || loopPtr == NULL) {
	    foundEvent = Tcl_DoOneEvent(TCL_ALL_EVENTS);
	    Tcl_GetTime(&active);
	    files = active;
	    fast = 1;
	    busy = 1;
	} else {
	    Tcl_GetTime(&now);
	    if (MsBetween(&files, &now) >= FILES_MS) {
		/*
		 * The notifier's round trip, for Tcl's file events: also
		 * while Tcl_ServiceAll finds work every time, so that they
		 * are never starved. Its check step runs libuv.
		 */
		if (Tcl_DoOneEvent(TCL_ALL_EVENTS|TCL_DONT_WAIT)) {
		    active = now;
		}
		files = now;
		busy = 1;
	    } else if (busy == 0 && MsBetween(&active, &now) >= QUIET_MS) {
		fast = 0;
	    } else {
		ready = 0;
		if (busy != 1) {
		    /*
		     * Tcl found nothing to do: wait in libuv, and serve
		     * what it brings at once (Tcl's queue was empty, so
		     * nothing is overtaken). Or Tcl keeps finding work:
		     * look at the network without waiting, its news
		     * queued behind Tcl's.
		     */
		    ready = P2pLoopRunOnce(loopPtr, busy == 0 ? POLL_MS : 0,
			    busy == 0);
		    if (ready > 0) {
			active = now;
		    } else if (ready < 0) {
			fast = 0;
		    } else if (busy != 1) {
			/* A quiet millisecond: Tcl's file events too. */
			if (Tcl_DoOneEvent(TCL_ALL_EVENTS|TCL_DONT_WAIT)) {
			    active = now;
			}
			files = now;
		    }
		}
		if (!fast) {
		    /* Tcl_DoOneEvent, next pass. */
		} else if (ready > 0 && busy == 0) {
		    /*
		     * Served already. Tcl's turn next pass (what the
		     * handlers left: output, idle callbacks, due timers),
		     * unless the wait is over.
		     */
		    busy = 1;
		} else if (ServiceAll(loopPtr)) {
		    active = now;
		    busy = busy == 1 ? 2 : 1;
		} else {
		    busy = 0;
		}
	    }
	}
	if (Tcl_Canceled(interp, TCL_LEAVE_ERR_MSG) == TCL_ERROR) {
	    break;
	}
	if (Tcl_LimitExceeded(interp)) {
	    Tcl_ResetResult(interp);
	    Tcl_SetObjResult(interp, Tcl_NewStringObj("limit exceeded", -1));
	    break;
	}
    }
    if (!done && !foundEvent) {
	Tcl_ResetResult(interp);
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("can't wait for variable"
		" \"%s\": would wait forever", varName));
	Tcl_SetErrorCode(interp, "TCL", "EVENT", "NO_SOURCES", NULL);
	return TCL_ERROR;
    }
    if (!done) {
	return TCL_ERROR;
    }
    Tcl_ResetResult(interp);
    return TCL_OK;
}

static int
FlagSet(
    ClientData clientData)
{
    return *(int *) clientData;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pVwaitObjCmd --
 *
 *	p2p::vwait varName: runs the event loop until the global (or fully
 *	qualified) variable varName is written or unset, like vwait.
 *
 * Results:
 *	A standard Tcl result; the errors of vwait (would wait forever,
 *	limit exceeded, canceled).
 *
 * Side effects:
 *	Anything the event handlers do.
 *
 *----------------------------------------------------------------------
 */

int
P2pVwaitObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    int done = 0, code;
    const char *name;

    (void) clientData;
    if (objc != 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "varName");
	return TCL_ERROR;
    }
    name = Tcl_GetString(objv[1]);
    if (Tcl_TraceVar2(interp, name, NULL,
	    TCL_GLOBAL_ONLY|TCL_TRACE_WRITES|TCL_TRACE_UNSETS, WaitVarProc,
	    &done) != TCL_OK) {
	return TCL_ERROR;
    }
    code = P2pWaitUntil(interp, FlagSet, &done, name);
    Tcl_UntraceVar2(interp, name, NULL,
	    TCL_GLOBAL_ONLY|TCL_TRACE_WRITES|TCL_TRACE_UNSETS, WaitVarProc,
	    &done);
    return code;
}
