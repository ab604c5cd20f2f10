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
#include <errno.h>
#include <poll.h>

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
 * P2ppLoopBridgePoll --
 *
 *	Sleeps until libuv has I/O or ms milliseconds passed, in this
 *	thread (p2p::vwait's fast path, generic/p2pWait.c).
 *
 * Results:
 *	1 when libuv has I/O, 0 on timeout (or a signal), -1 when this
 *	platform cannot wait so.
 *
 *----------------------------------------------------------------------
 */

int
P2ppLoopBridgePoll(
    P2pLoop *loopPtr,
    int ms)
{
    struct pollfd pfd;
    int n;

    pfd.fd = uv_backend_fd(&loopPtr->uv);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0) {
	return -1;
    }
    n = poll(&pfd, 1, ms);
    if (n < 0) {
	return errno == EINTR ? 0 : -1;
    }
    return n > 0;
}
