/*
 * p2pUnixLoop.c --
 *
 *	The unix half of the loop bridge: libuv's backend descriptor (epoll
 *	or kqueue) becomes readable whenever libuv has I/O, so it is handed
 *	to Tcl's notifier as a file handler. The handler itself does
 *	nothing: waking the notifier is enough, because the generic event
 *	source's check step then runs uv_run.
 */

#include "p2pjobsInt.h"

static void
WakeProc(
    ClientData clientData,
    int mask)
{
    (void) clientData;
    (void) mask;
}

int
P2ppLoopBridgeInit(
    P2pLoop *loopPtr)
{
    int fd = uv_backend_fd(&loopPtr->uv);

    if (fd < 0) {
	return TCL_ERROR;
    }
    Tcl_CreateFileHandler(fd, TCL_READABLE, WakeProc, loopPtr);

    /*
     * Tcl 8.6's threaded notifier starts its helper thread, and opens the
     * pipe that thread selects on, lazily at the first wait. If that
     * happens after a script opened a thousand sockets, the pipe's
     * descriptors are above FD_SETSIZE and select() aborts the process.
     * A wait that does not block starts it now, while descriptors are
     * low. It services nothing: events it finds are only queued.
     */

    {
	Tcl_Time zero = {0, 0};

	Tcl_WaitForEvent(&zero);
    }
    return TCL_OK;
}

void
P2ppLoopBridgeFinalize(
    P2pLoop *loopPtr)
{
    Tcl_DeleteFileHandler(uv_backend_fd(&loopPtr->uv));
}

void
P2ppLoopBridgeArm(
    P2pLoop *loopPtr,
    int timeoutMs)
{
    /* Nothing: Tcl's notifier already watches the backend descriptor. */
    (void) loopPtr;
    (void) timeoutMs;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppLoopBridgeRun --
 *
 *	Runs libuv once in this thread (P2pLoopRunOnce, for p2p::vwait's
 *	fast path): waiting in its poll until it has I/O or its next timer
 *	is due if wait is true, else not waiting.
 *
 * Results:
 *	0: on unix this thread may always do so.
 *
 *----------------------------------------------------------------------
 */

int
P2ppLoopBridgeRun(
    P2pLoop *loopPtr,
    int wait)
{
    uv_run(&loopPtr->uv, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT);
    return 0;
}
