/*
 * p2pClient.c --
 *
 *	A client has at most one connection: connect (non-blocking, bounded
 *	by -timeout), offer the versions of its -protocol root it can speak,
 *	and take the server's choice. "$client connect" waits in the event
 *	loop for the outcome unless -async is set.
 */

#include "p2pjobsInt.h"
#include <stdlib.h>

static void	ConnectProc(uv_connect_t *req, int status);
static void	TimeoutProc(uv_timer_t *timer);
static void	TimerCloseProc(uv_handle_t *handle);
static void	Fail(P2pHandler *hPtr, Tcl_Obj *msgObj, Tcl_Obj *codeObj);
static Tcl_Obj *OfferList(Tcl_Interp *interp, P2pHandler *hPtr);

/*
 *----------------------------------------------------------------------
 *
 * OfferList --
 *
 *	The names this client offers: ROOT/V for every V such that
 *	reverse(ROOT)/V is installed here, highest first.
 *
 * Results:
 *	A new list with refcount 0, or NULL with an error in interp.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
OfferList(
    Tcl_Interp *interp,
    P2pHandler *hPtr)
{
    int len, rootLen, version, n, i, count = 0;
    const char *root = Tcl_GetStringFromObj(hPtr->rootObj, &len);
    Tcl_Obj *ownObj, *namesObj, **names, *offerObj;

    if (len == 0) {
	P2pError(interp, "P2P USAGE NOPROTOCOL", "no -protocol given:"
		" set the protocol root to offer");
	return NULL;
    }
    ownObj = P2pProtocolReverseRoot(root, len);
    Tcl_IncrRefCount(ownObj);
    namesObj = P2pProtocolNames(hPtr);
    offerObj = Tcl_NewListObj(0, NULL);
    Tcl_ListObjGetElements(NULL, namesObj, &n, &names);
    for (i = 0; i < n; i++) {
	int nlen;
	const char *name = Tcl_GetStringFromObj(names[i], &nlen);

	if (P2pProtocolSplitName(name, nlen, &rootLen, &version)
		&& rootLen == ownObj->length
		&& memcmp(name, Tcl_GetString(ownObj), rootLen) == 0) {
	    Tcl_ListObjAppendElement(NULL, offerObj,
		    Tcl_ObjPrintf("%s/%d", root, version));
	    count++;
	}
    }
    Tcl_DecrRefCount(namesObj);
    if (count == 0) {
	P2pError(interp, "P2P PROTOCOL NONE", "no version of \"%s\" is"
		" installed on this client, so it has nothing to offer for"
		" \"%s\"", Tcl_GetString(ownObj), root);
	Tcl_DecrRefCount(ownObj);
	Tcl_DecrRefCount(offerObj);
	return NULL;
    }
    Tcl_DecrRefCount(ownObj);
    return offerObj;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pClientConnect --
 *
 *	$client connect: starts connecting and, unless -async, waits in
 *	the event loop until the protocol is agreed, the connect failed or
 *	the timeout passed.
 *
 * Results:
 *	The cid, or "" with -async; TCL_ERROR with the reason otherwise.
 *
 *----------------------------------------------------------------------
 */

int
P2pClientConnect(
    Tcl_Interp *interp,
    P2pHandler *hPtr)
{
    const char *address = Tcl_GetString(hPtr->addressObj);
    const char *colon = strrchr(address, ':');
    struct sockaddr_storage addr;
    char host[256];
    char *end;
    long port;
    Tcl_Obj *offerObj;
    P2pConn *connPtr;
    int status, code;

    if (hPtr->state != CLIENT_IDLE) {
	return P2pError(interp, "P2P USAGE BUSY", "already connected or"
		" connecting");
    }
    if (colon == NULL || colon == address
	    || (size_t) (colon - address) >= sizeof(host)) {
	return P2pError(interp, "P2P USAGE BADADDRESS", "bad address \"%s\":"
		" must be host:port", address);
    }
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port <= 0 || port > 65535) {
	return P2pError(interp, "P2P USAGE BADADDRESS", "bad address \"%s\":"
		" must be host:port", address);
    }
    memcpy(host, address, colon - address);
    host[colon - address] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
	memmove(host, host + 1, strlen(host));
	host[strlen(host) - 1] = '\0';
    }
    if (P2pParseAddress(interp, host, (int) port, &addr) != TCL_OK) {
	return TCL_ERROR;
    }
    if ((offerObj = OfferList(interp, hPtr)) == NULL) {
	return TCL_ERROR;
    }
    Tcl_IncrRefCount(offerObj);

    connPtr = P2pConnNew(hPtr);
    connPtr->connectReq.data = connPtr;
    status = uv_tcp_connect(&connPtr->connectReq, &connPtr->tcp,
	    (struct sockaddr *) &addr, ConnectProc);
    if (status != 0) {
	P2pConnClose(connPtr, NULL);
	Tcl_DecrRefCount(offerObj);
	return P2pUvError(interp, status, "cannot connect");
    }
    if (hPtr->offerObj) {
	Tcl_DecrRefCount(hPtr->offerObj);
    }
    hPtr->offerObj = offerObj;
    if (hPtr->failMsgObj) {
	Tcl_DecrRefCount(hPtr->failMsgObj);
	Tcl_DecrRefCount(hPtr->failCodeObj);
	hPtr->failMsgObj = hPtr->failCodeObj = NULL;
    }
    hPtr->connPtr = connPtr;
    hPtr->state = CLIENT_CONNECTING;
    if (!hPtr->timerOpen) {
	uv_timer_init(&hPtr->loopPtr->uv, &hPtr->timer);
	hPtr->timer.data = hPtr;
	hPtr->timerOpen = 1;
	P2pHandlerPreserve(hPtr);
    }
    uv_update_time(&hPtr->loopPtr->uv);
    uv_timer_start(&hPtr->timer, TimeoutProc, (uint64_t) hPtr->timeoutMs, 0);

    if (hPtr->async) {
	return TCL_OK;
    }

    /*
     * Wait like vwait: other events keep being serviced meanwhile.
     */

    P2pHandlerPreserve(hPtr);
    while (!(hPtr->flags & HANDLER_DEAD) && hPtr->connPtr == connPtr
	    && (hPtr->state == CLIENT_CONNECTING
	    || hPtr->state == CLIENT_NEGOTIATING)) {
	Tcl_DoOneEvent(TCL_ALL_EVENTS);
    }
    if (hPtr->flags & HANDLER_DEAD) {
	code = P2pError(interp, "P2P CONN CLOSED", "client destroyed while"
		" connecting");
    } else if (hPtr->state == CLIENT_OPEN && hPtr->connPtr == connPtr) {
	Tcl_SetObjResult(interp, Tcl_NewLongObj(connPtr->cid));
	code = TCL_OK;
    } else if (hPtr->failMsgObj) {
	Tcl_SetObjResult(interp, hPtr->failMsgObj);
	Tcl_SetObjErrorCode(interp, hPtr->failCodeObj);
	code = TCL_ERROR;
    } else {
	code = P2pError(interp, "P2P CONN CLOSED", "connection closed while"
		" connecting");
    }
    P2pHandlerRelease(hPtr);
    return code;
}

/*
 *----------------------------------------------------------------------
 *
 * ConnectProc --
 *
 *	libuv: the TCP connect finished. On success, registers the
 *	connection, starts reading and sends the offer.
 *
 *----------------------------------------------------------------------
 */

static void
ConnectProc(
    uv_connect_t *req,
    int status)
{
    P2pConn *connPtr = (P2pConn *) req->data;
    P2pHandler *hPtr = connPtr->handlerPtr;
    Tcl_Obj *words[2];

    if (connPtr->flags & CONN_CLOSING) {
	return;				/* Timed out or destroyed. */
    }
    if (status < 0) {
	Tcl_Obj *msgObj = Tcl_ObjPrintf("cannot connect to %s: %s",
		Tcl_GetString(hPtr->addressObj), uv_strerror(status));

	Fail(hPtr, msgObj, P2pUvErrorCode(status));
	return;
    }
    hPtr->state = CLIENT_NEGOTIATING;
    P2pConnRegister(connPtr);
    P2pConnStartReading(connPtr);
    words[0] = Tcl_NewStringObj("protocol", 8);
    words[1] = hPtr->offerObj;
    Tcl_IncrRefCount(words[0]);
    P2pSendWords(NULL, connPtr, 2, words);
    Tcl_DecrRefCount(words[0]);
    P2pConnFlush(connPtr);
}

static void
TimeoutProc(
    uv_timer_t *timer)
{
    P2pHandler *hPtr = (P2pHandler *) timer->data;

    if (hPtr->state == CLIENT_CONNECTING
	    || hPtr->state == CLIENT_NEGOTIATING) {
	Tcl_Obj *msgObj = Tcl_ObjPrintf("connect to %s timed out after %d ms%s",
		Tcl_GetString(hPtr->addressObj), hPtr->timeoutMs,
		hPtr->state == CLIENT_NEGOTIATING
		? " (no answer to the protocol offer)" : "");

	Fail(hPtr, msgObj, Tcl_NewStringObj("P2P TIMEOUT", -1));
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Fail --
 *
 *	A connect attempt failed: remember why (for the waiting connect),
 *	close the connection with that reason (-ondisconnect tells async
 *	callers).
 *
 *----------------------------------------------------------------------
 */

static void
Fail(
    P2pHandler *hPtr,
    Tcl_Obj *msgObj,
    Tcl_Obj *codeObj)
{
    P2pConn *connPtr = hPtr->connPtr;

    if (hPtr->failMsgObj) {
	Tcl_DecrRefCount(hPtr->failMsgObj);
	Tcl_DecrRefCount(hPtr->failCodeObj);
    }
    hPtr->failMsgObj = msgObj;
    hPtr->failCodeObj = codeObj;
    Tcl_IncrRefCount(msgObj);
    Tcl_IncrRefCount(codeObj);
    if (connPtr) {
	if (!(connPtr->flags & CONN_REGISTERED) && hPtr->async
		&& hPtr->onDisconnect) {
	    /*
	     * Never connected: still tell an async caller, through the
	     * same callback, with the reason.
	     */

	    connPtr->flags |= CONN_NEED_DISCONNECT;
	}
	P2pConnClose(connPtr, msgObj);
    }
    hPtr->state = CLIENT_IDLE;
    P2pLoopWake(hPtr->loopPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pClientNegotiated --
 *
 *	The server answered the offer: "protocol NAME" (one we offered) or
 *	"exception MESSAGE".
 *
 *----------------------------------------------------------------------
 */

void
P2pClientNegotiated(
    P2pConn *connPtr,
    int objc,
    Tcl_Obj *const objv[])
{
    P2pHandler *hPtr = connPtr->handlerPtr;
    Tcl_Obj **offers, *ownObj;
    int n, i, len, rootLen, version, offered = 0;
    const char *name;
    P2pProtocol *protoPtr;

    if (hPtr->state != CLIENT_NEGOTIATING || hPtr->connPtr != connPtr) {
	return;
    }
    if (strcmp(Tcl_GetString(objv[0]), "exception") == 0) {
	Fail(hPtr, objc > 1 ? objv[1] : Tcl_NewStringObj("refused", -1),
		Tcl_ObjPrintf("P2P PROTOCOL NONE {%s}",
		Tcl_GetString(hPtr->offerObj)));
	return;
    }
    name = (objc == 2) ? Tcl_GetStringFromObj(objv[1], &len) : "";
    if (objc != 2 || !P2pProtocolSplitName(name, len, &rootLen, &version)) {
	Fail(hPtr, Tcl_NewStringObj("bad protocol answer from server", -1),
		Tcl_NewStringObj("P2P PROTOCOL BADANSWER", -1));
	return;
    }
    Tcl_ListObjGetElements(NULL, hPtr->offerObj, &n, &offers);
    for (i = 0; i < n && !offered; i++) {
	offered = (strcmp(Tcl_GetString(offers[i]), name) == 0);
    }
    ownObj = P2pProtocolReverseRoot(name, rootLen);
    Tcl_AppendPrintfToObj(ownObj, "/%d", version);
    Tcl_IncrRefCount(ownObj);
    protoPtr = P2pProtocolFind(hPtr, Tcl_GetString(ownObj));
    Tcl_DecrRefCount(ownObj);
    if (!offered || protoPtr == NULL) {
	Fail(hPtr, Tcl_ObjPrintf("server chose \"%s\", which was not offered",
		name), Tcl_NewStringObj("P2P PROTOCOL BADANSWER", -1));
	return;
    }
    protoPtr->refCount++;
    connPtr->protocolPtr = protoPtr;
    hPtr->state = CLIENT_OPEN;
    uv_timer_stop(&hPtr->timer);
    if (hPtr->onProtocol) {
	Tcl_Obj *args[3];

	args[0] = P2pHandlerName(hPtr);
	args[1] = Tcl_NewLongObj(connPtr->cid);
	args[2] = protoPtr->nameObj;
	P2pInvokeCallback(hPtr, hPtr->onProtocol, 3, args);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pClientConnGone --
 *
 *	The client's connection is closing (any reason): back to idle so
 *	that connect may be called again.
 *
 *----------------------------------------------------------------------
 */

void
P2pClientConnGone(
    P2pConn *connPtr)
{
    P2pHandler *hPtr = connPtr->handlerPtr;

    if (hPtr->connPtr == connPtr) {
	hPtr->connPtr = NULL;
	if (hPtr->state != CLIENT_IDLE && hPtr->failMsgObj == NULL) {
	    hPtr->failMsgObj = connPtr->reasonObj
		    ? connPtr->reasonObj : Tcl_NewStringObj("closed", -1);
	    hPtr->failCodeObj = Tcl_NewStringObj("P2P CONN CLOSED", -1);
	    Tcl_IncrRefCount(hPtr->failMsgObj);
	    Tcl_IncrRefCount(hPtr->failCodeObj);
	}
	hPtr->state = CLIENT_IDLE;
	if (hPtr->timerOpen) {
	    uv_timer_stop(&hPtr->timer);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pClientClose --
 *
 *	destroy: closes a connection still being made and the timer.
 *
 *----------------------------------------------------------------------
 */

void
P2pClientClose(
    P2pHandler *hPtr)
{
    if (hPtr->connPtr) {
	hPtr->connPtr->flags |= CONN_SILENT;
	P2pConnCloseStr(hPtr->connPtr, "handler destroyed");
    }
    if (hPtr->timerOpen) {
	hPtr->timerOpen = 0;
	uv_close((uv_handle_t *) &hPtr->timer, TimerCloseProc);
    }
}

static void
TimerCloseProc(
    uv_handle_t *handle)
{
    P2pHandlerRelease((P2pHandler *) handle->data);
}
