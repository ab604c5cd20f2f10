/*
 * p2pServer.c --
 *
 *	A server listens on host:port (an exact port, the first free one at
 *	or above N with "N?", or any with 0) and accepts connections.
 */

#include "p2pjobsInt.h"
#include <stdlib.h>

static void	ConnectionProc(uv_stream_t *server, int status);
static void	ListenerCloseProc(uv_handle_t *handle);

/*
 *----------------------------------------------------------------------
 *
 * P2pParseAddress --
 *
 *	A numeric IPv4 or IPv6 address (or "localhost") and a port to a
 *	socket address. Names are not resolved here: the loop must never
 *	block on DNS.
 *
 *----------------------------------------------------------------------
 */

int
P2pParseAddress(
    Tcl_Interp *interp,
    const char *host,
    int port,
    struct sockaddr_storage *addrPtr)
{
    if (strcmp(host, "localhost") == 0) {
	host = "127.0.0.1";
    }
    if (uv_ip4_addr(host, port, (struct sockaddr_in *) addrPtr) == 0
	    || uv_ip6_addr(host, port, (struct sockaddr_in6 *) addrPtr) == 0) {
	return TCL_OK;
    }
    return P2pError(interp, "P2P USAGE BADADDRESS", "bad address \"%s\":"
	    " must be a numeric IPv4 or IPv6 address or localhost", host);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pServerListen --
 *
 *	Binds and listens per -host and -port.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR with a message naming the address.
 *
 *----------------------------------------------------------------------
 */

int
P2pServerListen(
    Tcl_Interp *interp,
    P2pHandler *hPtr)
{
    const char *host = Tcl_GetString(hPtr->hostObj);
    const char *portSpec = Tcl_GetString(hPtr->portObj);
    char *end;
    int first = (int) strtol(portSpec, &end, 10);
    int search = (*end == '?');
    int last = search ? 65535 : first;
    int port, status = 0;
    struct sockaddr_storage addr;

    if (P2pParseAddress(interp, host, first, &addr) != TCL_OK) {
	return TCL_ERROR;
    }
    for (port = first; port <= last; port++) {
	P2pParseAddress(NULL, host, port, &addr);
	uv_tcp_init(&hPtr->loopPtr->uv, &hPtr->listener);
	hPtr->listener.data = hPtr;
	status = uv_tcp_bind(&hPtr->listener, (struct sockaddr *) &addr, 0);
	if (status == 0) {
	    status = uv_listen((uv_stream_t *) &hPtr->listener, 4096,
		    ConnectionProc);
	}
	if (status == 0) {
	    break;
	}

	/*
	 * Close the failed handle and let libuv finish closing it before
	 * trying the next port (the handle struct is reused).
	 */

	P2pHandlerPreserve(hPtr);
	uv_close((uv_handle_t *) &hPtr->listener, ListenerCloseProc);
	uv_run(&hPtr->loopPtr->uv, UV_RUN_NOWAIT);
	if (status != UV_EADDRINUSE || !search) {
	    break;
	}
    }
    if (status != 0) {
	Tcl_Obj *whatObj = Tcl_ObjPrintf("cannot listen on %s:%s", host,
		portSpec);

	P2pUvError(interp, status, Tcl_GetString(whatObj));
	Tcl_DecrRefCount(whatObj);
	return TCL_ERROR;
    }
    P2pHandlerPreserve(hPtr);		/* For the open listener. */
    hPtr->listening = 1;
    {
	struct sockaddr_storage bound;
	int len = sizeof(bound);

	uv_tcp_getsockname(&hPtr->listener, (struct sockaddr *) &bound, &len);
	hPtr->boundPort = ntohs(bound.ss_family == AF_INET6
		? ((struct sockaddr_in6 *) &bound)->sin6_port
		: ((struct sockaddr_in *) &bound)->sin_port);
    }
    return TCL_OK;
}

static void
ListenerCloseProc(
    uv_handle_t *handle)
{
    P2pHandlerRelease((P2pHandler *) handle->data);
}

/*
 *----------------------------------------------------------------------
 *
 * ConnectionProc --
 *
 *	libuv: a connection is waiting. Accepts it, starts reading, and
 *	marks it ready so that -onconnect fires from the Tcl event loop.
 *
 *----------------------------------------------------------------------
 */

static void
ConnectionProc(
    uv_stream_t *server,
    int status)
{
    P2pHandler *hPtr = (P2pHandler *) server->data;
    P2pConn *connPtr;

    if (status < 0 || (hPtr->flags & HANDLER_DEAD)) {
	return;
    }
    connPtr = P2pConnNew(hPtr);
    if (uv_accept(server, (uv_stream_t *) &connPtr->tcp) != 0) {
	P2pConnClose(connPtr, NULL);
	return;
    }
    hPtr->accepted++;
    P2pConnRegister(connPtr);
    P2pConnStartReading(connPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pServerClose --
 *
 *	Stops listening (destroy).
 *
 *----------------------------------------------------------------------
 */

void
P2pServerClose(
    P2pHandler *hPtr)
{
    if (hPtr->listening) {
	hPtr->listening = 0;
	uv_close((uv_handle_t *) &hPtr->listener, ListenerCloseProc);
    }
}
