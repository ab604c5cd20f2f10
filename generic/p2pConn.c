/*
 * p2pConn.c --
 *
 *	One TCP connection: its buffers, reading and writing on libuv, its
 *	orderly end, and servicing (callbacks and dispatch of the frames that
 *	arrived) from the Tcl event loop.
 */

#include "p2pjobsInt.h"

/*
 * Reading stops while this much unconsumed input holds a complete frame
 * (a protocol command that waits in vwait must not let a flooding peer
 * grow the buffer without bound); output beyond FLUSH_NOW is written at
 * once rather than when the loop next blocks.
 */

#define READ_HIGH_WATER		(1024 * 1024)
#define READ_CHUNK		(64 * 1024)
#define FLUSH_NOW		(64 * 1024)

/*
 * A write in flight owns the buffer it writes.
 */

typedef struct WriteReq {
    uv_write_t req;
    P2pConn *connPtr;
    unsigned char *bytes;
    size_t len;
} WriteReq;

static void	AllocProc(uv_handle_t *handle, size_t hint, uv_buf_t *bufPtr);
static void	ReadProc(uv_stream_t *stream, ssize_t nread,
		    const uv_buf_t *bufPtr);
static void	WriteProc(uv_write_t *req, int status);
static void	CloseProc(uv_handle_t *handle);
static void	ServiceFrames(P2pConn *connPtr);
static void	FireDisconnect(P2pConn *connPtr);
static void	SecureStart(P2pConn *connPtr);
static void	SecureIngest(P2pConn *connPtr);
static void	SecureMoveOut(P2pConn *connPtr);
static void	AppendFrame(P2pBuf *bufPtr, const unsigned char *body,
		    size_t len);

/*
 *----------------------------------------------------------------------
 *
 * P2pConnNew --
 *
 *	Makes a connection struct for a handler with an initialized (not yet
 *	connected) TCP handle.
 *
 * Results:
 *	The connection, with one reference (for its open handle).
 *
 * Side effects:
 *	Takes a reference on the handler.
 *
 *----------------------------------------------------------------------
 */

P2pConn *
P2pConnNew(
    P2pHandler *hPtr)
{
    P2pConn *connPtr = (P2pConn *) ckalloc(sizeof(P2pConn));

    memset(connPtr, 0, sizeof(P2pConn));
    uv_tcp_init(&hPtr->loopPtr->uv, &connPtr->tcp);
    connPtr->tcp.data = connPtr;
    connPtr->handlerPtr = hPtr;
    connPtr->cid = hPtr->loopPtr->nextCid++;
    connPtr->refCount = 1;
    P2pHandlerPreserve(hPtr);
    hPtr->loopPtr->numConns++;
    return connPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnRegister --
 *
 *	Enters an established connection in its handler's table, so that
 *	scripts can name it, and arranges for -onconnect to fire.
 *
 *----------------------------------------------------------------------
 */

void
P2pConnRegister(
    P2pConn *connPtr)
{
    P2pHandler *hPtr = connPtr->handlerPtr;
    int isNew;
    Tcl_HashEntry *entryPtr = Tcl_CreateHashEntry(&hPtr->conns,
	    CID_KEY(connPtr->cid), &isNew);

    Tcl_SetHashValue(entryPtr, connPtr);
    connPtr->flags |= CONN_REGISTERED | CONN_NEED_CONNECT;
    uv_tcp_nodelay(&connPtr->tcp, 1);
    P2pConnSetPeer(connPtr);
    if (hPtr->identityObj) {
	SecureStart(connPtr);
    }
    P2pLoopMarkReady(connPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnSetPeer --
 *
 *	Records the peer's address as "host:port", which is also the
 *	connection's default name.
 *
 *----------------------------------------------------------------------
 */

void
P2pConnSetPeer(
    P2pConn *connPtr)
{
    struct sockaddr_storage addr;
    int len = sizeof(addr);
    char host[64] = "?";
    int port = 0;

    if (uv_tcp_getpeername(&connPtr->tcp, (struct sockaddr *) &addr,
	    &len) == 0) {
	if (addr.ss_family == AF_INET6) {
	    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &addr;

	    uv_ip6_name(a6, host, sizeof(host));
	    port = ntohs(a6->sin6_port);
	} else {
	    struct sockaddr_in *a4 = (struct sockaddr_in *) &addr;

	    uv_ip4_name(a4, host, sizeof(host));
	    port = ntohs(a4->sin_port);
	}
    }
    if (connPtr->peerObj) {
	Tcl_DecrRefCount(connPtr->peerObj);
    }
    connPtr->peerObj = (addr.ss_family == AF_INET6)
	    ? Tcl_ObjPrintf("[%s]:%d", host, port)
	    : Tcl_ObjPrintf("%s:%d", host, port);
    Tcl_IncrRefCount(connPtr->peerObj);
    if (connPtr->nameObj == NULL) {
	connPtr->nameObj = connPtr->peerObj;
	Tcl_IncrRefCount(connPtr->nameObj);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnStartReading --
 *
 *	Starts (or resumes) reading from the connection.
 *
 * Results:
 *	0 or a libuv error status.
 *
 *----------------------------------------------------------------------
 */

int
P2pConnStartReading(
    P2pConn *connPtr)
{
    int status;

    if (connPtr->flags & (CONN_CLOSING | CONN_EOF | CONN_READING)) {
	return 0;
    }
    status = uv_read_start((uv_stream_t *) &connPtr->tcp, AllocProc,
	    ReadProc);
    if (status == 0) {
	connPtr->flags |= CONN_READING;
	connPtr->flags &= ~CONN_READ_STOPPED;
    }
    return status;
}

/*
 * Reads land in one buffer of the loop; ReadProc copies what arrived into
 * the connection, whose own buffer is freed whenever it has been consumed.
 * So an idle connection holds no buffer at all.
 */

static void
AllocProc(
    uv_handle_t *handle,
    size_t hint,
    uv_buf_t *bufPtr)
{
    P2pConn *connPtr = (P2pConn *) handle->data;
    P2pBuf *readPtr = &connPtr->handlerPtr->loopPtr->readBuf;

    (void) hint;
    if (readPtr->cap < READ_CHUNK) {
	P2pBufReserve(readPtr, READ_CHUNK);
    }
    bufPtr->base = (char *) readPtr->bytes;
    bufPtr->len = readPtr->cap;
}

/*
 *----------------------------------------------------------------------
 *
 * ReadProc --
 *
 *	libuv read callback: keeps the bytes and marks the connection
 *	ready. Evaluates nothing.
 *
 *----------------------------------------------------------------------
 */

static void
ReadProc(
    uv_stream_t *stream,
    ssize_t nread,
    const uv_buf_t *bufPtr)
{
    P2pConn *connPtr = (P2pConn *) stream->data;
    size_t unread, frameLen;

    if (nread == 0) {
	return;
    }
    if (nread < 0) {
	uv_read_stop(stream);
	connPtr->flags &= ~CONN_READING;
	connPtr->flags |= CONN_EOF;
	if (nread != UV_EOF && connPtr->reasonObj == NULL) {
	    connPtr->reasonObj = Tcl_ObjPrintf("read failed: %s",
		    uv_strerror((int) nread));
	    Tcl_IncrRefCount(connPtr->reasonObj);
	}
	P2pLoopMarkReady(connPtr);
	return;
    }
    P2pHandlerCountIn(connPtr, (size_t) nread);
    if (connPtr->securePtr) {
	P2pBufAppend(&connPtr->raw, bufPtr->base, (size_t) nread);
	SecureIngest(connPtr);
	if (connPtr->flags & CONN_CLOSING) {
	    return;
	}
    } else {
	P2pBufAppend(&connPtr->in, bufPtr->base, (size_t) nread);
    }
    unread = connPtr->in.len - connPtr->inStart;
    if (unread >= READ_HIGH_WATER && P2pFrameScan(
	    connPtr->in.bytes + connPtr->inStart, unread,
	    (size_t) connPtr->handlerPtr->maxFrame, &frameLen)
	    != P2P_FRAME_NEED) {
	uv_read_stop(stream);
	connPtr->flags &= ~CONN_READING;
	connPtr->flags |= CONN_READ_STOPPED;
    }
    P2pLoopMarkReady(connPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnQueued --
 *
 *	Bookkeeping after a frame was appended to the output buffer: counts
 *	it, enforces -maxoutput, and schedules the write.
 *
 * Side effects:
 *	May close the connection ("output limit exceeded").
 *
 *----------------------------------------------------------------------
 */

void
P2pConnQueued(
    P2pConn *connPtr,
    size_t frameLen)
{
    P2pHandler *hPtr = connPtr->handlerPtr;
    size_t queued = connPtr->out.len + connPtr->wire.len + connPtr->inflight;

    connPtr->stats.framesOut++;
    connPtr->stats.bytesOut += frameLen;
    hPtr->stats.framesOut++;
    hPtr->stats.bytesOut += frameLen;
    if ((Tcl_WideInt) queued > hPtr->maxOutput) {
	Tcl_Obj *reasonObj = Tcl_ObjPrintf(
		"output limit exceeded: %" TCL_LL_MODIFIER "d bytes queued"
		" (-maxoutput %" TCL_LL_MODIFIER "d)",
		(Tcl_WideInt) queued, (Tcl_WideInt) hPtr->maxOutput);

	connPtr->stats.errors++;
	hPtr->stats.errors++;
	P2pConnClose(connPtr, reasonObj);
	return;
    }
    if (connPtr->out.len >= FLUSH_NOW && !(connPtr->flags & CONN_WRITING)) {
	P2pConnFlush(connPtr);
    } else {
	P2pLoopWantFlush(connPtr);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnQueueRaw --
 *
 *	Queues bytes as the body of one frame, as they are: no message is
 *	built and -maxframe is not applied. On a connection that encrypts
 *	the frame is sealed like any other. For p2p::debug rawframe: tests
 *	that play a peer sending what no well-behaved peer sends.
 *
 *	The length always fits the u32 header: a Tcl 8.6 byte array has
 *	fewer than 2^31 bytes.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR (connection closed) with a message in interp.
 *
 *----------------------------------------------------------------------
 */

int
P2pConnQueueRaw(
    Tcl_Interp *interp,
    P2pConn *connPtr,
    const unsigned char *body,
    size_t len)
{
    if (connPtr->flags & CONN_CLOSING) {
	return P2pError(interp, "P2P CONN CLOSED", "connection %ld is closed",
		connPtr->cid);
    }
    AppendFrame(&connPtr->out, body, len);
    P2pConnQueued(connPtr, P2P_FRAME_HEADER + len);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnFlush --
 *
 *	Writes queued output: first with uv_try_write (no callback, usually
 *	all of it), the rest with one uv_write that takes over the buffer.
 *
 * Side effects:
 *	May close the connection on a write error.
 *
 *----------------------------------------------------------------------
 */

void
P2pConnFlush(
    P2pConn *connPtr)
{
    uv_buf_t buf;
    int n;
    WriteReq *wPtr;
    P2pBuf *outPtr = &connPtr->out;

    if ((connPtr->flags & CONN_CLOSING) || (connPtr->flags & CONN_WRITING)) {
	return;
    }
    if (connPtr->securePtr) {
	SecureMoveOut(connPtr);
	outPtr = &connPtr->wire;
    }
    if (outPtr->len == 0) {
	return;
    }
    buf = uv_buf_init((char *) outPtr->bytes, (unsigned) outPtr->len);
    n = uv_try_write((uv_stream_t *) &connPtr->tcp, &buf, 1);
    if (n == (int) outPtr->len) {
	P2pBufFree(outPtr);
	return;
    }
    if (n < 0 && n != UV_EAGAIN) {
	Tcl_Obj *reasonObj = Tcl_ObjPrintf("write failed: %s",
		uv_strerror(n));

	P2pConnClose(connPtr, reasonObj);
	return;
    }
    if (n < 0) {
	n = 0;
    }
    wPtr = (WriteReq *) ckalloc(sizeof(WriteReq));
    wPtr->req.data = wPtr;
    wPtr->connPtr = connPtr;
    wPtr->bytes = outPtr->bytes;
    wPtr->len = outPtr->len - (size_t) n;
    outPtr->bytes = NULL;
    outPtr->len = outPtr->cap = 0;
    buf = uv_buf_init((char *) wPtr->bytes + n, (unsigned) wPtr->len);
    if (uv_write(&wPtr->req, (uv_stream_t *) &connPtr->tcp, &buf, 1,
	    WriteProc) != 0) {
	ckfree((char *) wPtr->bytes);
	ckfree((char *) wPtr);
	P2pConnCloseStr(connPtr, "write failed");
	return;
    }
    connPtr->inflight = wPtr->len;
    connPtr->flags |= CONN_WRITING;
    connPtr->refCount++;
}

static void
WriteProc(
    uv_write_t *req,
    int status)
{
    WriteReq *wPtr = (WriteReq *) req->data;
    P2pConn *connPtr = wPtr->connPtr;

    connPtr->flags &= ~CONN_WRITING;
    connPtr->inflight = 0;
    ckfree((char *) wPtr->bytes);
    ckfree((char *) wPtr);
    if (status < 0) {
	if (status != UV_ECANCELED && !(connPtr->flags & CONN_CLOSING)) {
	    Tcl_Obj *reasonObj = Tcl_ObjPrintf("write failed: %s",
		    uv_strerror(status));

	    P2pConnClose(connPtr, reasonObj);
	}
    } else if (connPtr->out.len > 0 || connPtr->wire.len > 0) {
	P2pLoopWantFlush(connPtr);
    }
    P2pConnRelease(connPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnClose --
 *
 *	Ends a connection: it leaves its handler's table at once, its handle
 *	is closed, and -ondisconnect fires later from the event loop with
 *	the reason (unless the handler is being destroyed). A second call is
 *	a no-op. The reason object's reference is taken (may be refcount 0).
 *
 *----------------------------------------------------------------------
 */

void
P2pConnClose(
    P2pConn *connPtr,
    Tcl_Obj *reasonObj)
{
    P2pHandler *hPtr = connPtr->handlerPtr;

    if (reasonObj) {
	Tcl_IncrRefCount(reasonObj);
    }
    if (connPtr->flags & CONN_CLOSING) {
	if (reasonObj) {
	    Tcl_DecrRefCount(reasonObj);
	}
	return;
    }
    connPtr->flags |= CONN_CLOSING;
    if (reasonObj) {
	if (connPtr->reasonObj) {
	    Tcl_DecrRefCount(connPtr->reasonObj);
	}
	connPtr->reasonObj = reasonObj;
    } else if (connPtr->reasonObj == NULL) {
	connPtr->reasonObj = Tcl_NewStringObj("closed", -1);
	Tcl_IncrRefCount(connPtr->reasonObj);
    }
    if (connPtr->flags & CONN_REGISTERED) {
	Tcl_HashEntry *entryPtr = Tcl_FindHashEntry(&hPtr->conns,
		CID_KEY(connPtr->cid));

	if (entryPtr) {
	    Tcl_DeleteHashEntry(entryPtr);
	}
	if (!(connPtr->flags & CONN_SILENT)) {
	    connPtr->flags |= CONN_NEED_DISCONNECT;
	}
    }
    if (hPtr->kind == P2P_CLIENT) {
	P2pClientConnGone(connPtr);
    }
    uv_close((uv_handle_t *) &connPtr->tcp, CloseProc);
    if (connPtr->flags & CONN_NEED_DISCONNECT) {
	P2pLoopMarkReady(connPtr);
    }
}

void
P2pConnCloseStr(
    P2pConn *connPtr,
    const char *reason)
{
    P2pConnClose(connPtr, Tcl_NewStringObj(reason, -1));
}

static void
CloseProc(
    uv_handle_t *handle)
{
    P2pConnRelease((P2pConn *) handle->data);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnRelease --
 *
 *	Drops a reference; the last one frees the connection and drops its
 *	reference on the handler.
 *
 *----------------------------------------------------------------------
 */

void
P2pConnRelease(
    P2pConn *connPtr)
{
    P2pHandler *hPtr = connPtr->handlerPtr;

    if (--connPtr->refCount > 0) {
	return;
    }
    if (connPtr->protocolPtr) {
	P2pProtocolRelease(connPtr->protocolPtr);
    }
    if (connPtr->nameObj) {
	Tcl_DecrRefCount(connPtr->nameObj);
    }
    if (connPtr->peerObj) {
	Tcl_DecrRefCount(connPtr->peerObj);
    }
    if (connPtr->reasonObj) {
	Tcl_DecrRefCount(connPtr->reasonObj);
    }
    P2pBufFree(&connPtr->in);
    P2pBufFree(&connPtr->out);
    if (connPtr->securePtr) {
	P2pSecureWipe(connPtr->securePtr);
	ckfree((char *) connPtr->securePtr);
	P2pBufFree(&connPtr->raw);
	P2pBufFree(&connPtr->wire);
    }
    hPtr->loopPtr->numConns--;
    ckfree((char *) connPtr);
    P2pHandlerRelease(hPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnFind --
 *
 *	Looks up a connection of a handler by the cid a script gave.
 *
 * Results:
 *	The connection, or NULL with an error in the interpreter.
 *
 *----------------------------------------------------------------------
 */

P2pConn *
P2pConnFind(
    Tcl_Interp *interp,
    P2pHandler *hPtr,
    Tcl_Obj *cidObj)
{
    long cid;
    Tcl_HashEntry *entryPtr;

    if (Tcl_GetLongFromObj(NULL, cidObj, &cid) == TCL_OK) {
	entryPtr = Tcl_FindHashEntry(&hPtr->conns, CID_KEY(cid));
	if (entryPtr) {
	    return (P2pConn *) Tcl_GetHashValue(entryPtr);
	}
    }
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("unknown connection \"%s\"",
	    Tcl_GetString(cidObj)));
    Tcl_SetErrorCode(interp, "P2P", "CONN", "UNKNOWN",
	    Tcl_GetString(cidObj), NULL);
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pConnService --
 *
 *	Runs, from the Tcl event loop, everything a connection has pending:
 *	-onconnect, the dispatch of every complete frame in order, the end
 *	of input, -ondisconnect, and the write of what that produced.
 *	A connection already being serviced further up the C stack (its
 *	protocol command is in vwait) is left to that frame, which looks at
 *	the buffer again when the command returns.
 *
 *----------------------------------------------------------------------
 */

void
P2pConnService(
    P2pConn *connPtr)
{
    P2pHandler *hPtr = connPtr->handlerPtr;
    int secured;

    if (connPtr->flags & CONN_DISPATCHING) {
	return;
    }
    connPtr->flags |= CONN_DISPATCHING;
    connPtr->refCount++;
    P2pHandlerPreserve(hPtr);

    /*
     * With an -identity, nothing happens before the handshake is done:
     * neither -onconnect nor any dispatch.
     */

    secured = (connPtr->securePtr == NULL
	    || connPtr->securePtr->state == P2P_HS_DONE);
    if (secured && (connPtr->flags & CONN_NEED_CONNECT)) {
	connPtr->flags &= ~CONN_NEED_CONNECT;
	if (!(hPtr->flags & HANDLER_DEAD) && hPtr->onConnect) {
	    Tcl_Obj *args[2];

	    args[0] = P2pHandlerName(hPtr);
	    args[1] = Tcl_NewLongObj(connPtr->cid);
	    P2pInvokeCallback(hPtr, hPtr->onConnect, 2, args);
	}
    }
    if (secured) {
	ServiceFrames(connPtr);
    }
    if ((connPtr->flags & CONN_EOF) && !(connPtr->flags & CONN_CLOSING)) {
	size_t unread = connPtr->in.len - connPtr->inStart;

	if (connPtr->reasonObj == NULL) {
	    if (!secured) {
		connPtr->reasonObj = Tcl_NewStringObj("handshake failed:"
			" the peer closed the connection (it has no"
			" -identity, or it refused this side)", -1);
	    } else if (connPtr->securePtr && connPtr->securePtr->encrypt
		    && connPtr->raw.len > 0) {
		connPtr->reasonObj = Tcl_ObjPrintf("peer closed mid-frame"
			" (%lu bytes of an encrypted frame)",
			(unsigned long) connPtr->raw.len);
	    } else if (unread >= P2P_FRAME_HEADER) {
		connPtr->reasonObj = Tcl_ObjPrintf("peer closed mid-frame"
			" (%lu of %lu bytes)", (unsigned long) unread,
			(unsigned long) (P2P_FRAME_HEADER + P2pGetU32(
			connPtr->in.bytes + connPtr->inStart)));
	    } else if (unread > 0) {
		connPtr->reasonObj = Tcl_ObjPrintf("peer closed mid-frame"
			" (%lu of 4 header bytes)", (unsigned long) unread);
	    } else {
		connPtr->reasonObj = Tcl_NewStringObj("closed by peer", -1);
	    }
	    Tcl_IncrRefCount(connPtr->reasonObj);
	}

	/*
	 * A peer that half-closed after its last request still gets the
	 * replies to it.
	 */

	P2pConnFlush(connPtr);
	P2pConnClose(connPtr, NULL);
    }
    if (connPtr->flags & CONN_NEED_DISCONNECT) {
	FireDisconnect(connPtr);
    }
    connPtr->flags &= ~CONN_DISPATCHING;
    if (!(connPtr->flags & CONN_CLOSING)) {
	P2pConnFlush(connPtr);
	if (connPtr->flags & CONN_READ_STOPPED) {
	    P2pConnStartReading(connPtr);
	}
    }
    P2pHandlerRelease(hPtr);
    P2pConnRelease(connPtr);
}

static void
FireDisconnect(
    P2pConn *connPtr)
{
    P2pHandler *hPtr = connPtr->handlerPtr;

    connPtr->flags &= ~CONN_NEED_DISCONNECT;
    if (!(hPtr->flags & HANDLER_DEAD) && hPtr->onDisconnect) {
	Tcl_Obj *args[3];

	args[0] = P2pHandlerName(hPtr);
	args[1] = Tcl_NewLongObj(connPtr->cid);
	args[2] = connPtr->reasonObj;
	P2pInvokeCallback(hPtr, hPtr->onDisconnect, 3, args);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ServiceFrames --
 *
 *	Dispatches every complete frame in the input buffer, one at a time,
 *	until the buffer holds no complete frame or the connection or its
 *	handler went away. A frame too large or malformed closes the
 *	connection with the reason.
 *
 *----------------------------------------------------------------------
 */

static void
ServiceFrames(
    P2pConn *connPtr)
{
    P2pHandler *hPtr = connPtr->handlerPtr;
    Tcl_Obj *stackv[16];

    while (!(connPtr->flags & CONN_CLOSING)
	    && !(hPtr->flags & HANDLER_DEAD)
	    && connPtr->in.len > connPtr->inStart) {
	const unsigned char *start = connPtr->in.bytes + connPtr->inStart;
	size_t unread = connPtr->in.len - connPtr->inStart;
	size_t frameLen;
	int code, objc, i;
	Tcl_Obj **objv;
	const char *err;

	code = P2pFrameScan(start, unread, (size_t) hPtr->maxFrame,
		&frameLen);
	if (code == P2P_FRAME_NEED) {
	    break;
	}
	if (code == P2P_FRAME_TOOBIG) {
	    connPtr->stats.errors++;
	    hPtr->stats.errors++;
	    P2pConnClose(connPtr, Tcl_ObjPrintf(
		    "frame of %" TCL_LL_MODIFIER "d bytes exceeds -maxframe %"
		    TCL_LL_MODIFIER "d", (Tcl_WideInt) frameLen,
		    (Tcl_WideInt) hPtr->maxFrame));
	    break;
	}
	connPtr->inStart += frameLen;
	connPtr->stats.framesIn++;
	hPtr->stats.framesIn++;
	if (frameLen == P2P_FRAME_HEADER) {
	    continue;			/* Keepalive. */
	}
	code = P2pMessageDecode(start + P2P_FRAME_HEADER,
		frameLen - P2P_FRAME_HEADER, &objv, &objc, stackv, 16, &err);
	if (code != TCL_OK) {
	    connPtr->stats.errors++;
	    hPtr->stats.errors++;
	    P2pConnClose(connPtr, Tcl_ObjPrintf("malformed frame: %s", err));
	    break;
	}
	P2pDispatch(connPtr, objc, objv);
	for (i = 0; i < objc; i++) {
	    Tcl_DecrRefCount(objv[i]);
	}
	if (objv != stackv) {
	    ckfree((char *) objv);
	}
    }
    if (connPtr->inStart == connPtr->in.len) {
	P2pBufFree(&connPtr->in);
	connPtr->inStart = 0;
    } else if (connPtr->inStart > 0) {
	memmove(connPtr->in.bytes, connPtr->in.bytes + connPtr->inStart,
		connPtr->in.len - connPtr->inStart);
	connPtr->in.len -= connPtr->inStart;
	connPtr->inStart = 0;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * SecureStart --
 *
 *	A connection of a handler with an -identity was established: makes
 *	its handshake state and, on a client, queues message 1.
 *
 *----------------------------------------------------------------------
 */

static void
SecureStart(
    P2pConn *connPtr)
{
    P2pHandler *hPtr = connPtr->handlerPtr;
    unsigned char body[P2P_HS_MAX_LEN];
    const char *net = "";
    int netLen = 0;
    size_t len;

    if (hPtr->netSecretObj) {
	net = Tcl_GetStringFromObj(hPtr->netSecretObj, &netLen);
    }
    connPtr->securePtr = (P2pSecure *) ckalloc(sizeof(P2pSecure));
    P2pSecureInit(connPtr->securePtr, hPtr->kind == P2P_CLIENT
	    ? P2P_HS_CLIENT : P2P_HS_SERVER, hPtr->idPk, hPtr->idSk,
	    (const unsigned char *) net, (size_t) netLen, hPtr->secure);
    if (hPtr->loopPtr->noAesGcm) {
	connPtr->securePtr->offerAes = 0;
    }
    if (hPtr->loopPtr->rekeyBytes > 0) {
	connPtr->securePtr->rekeyBytes = hPtr->loopPtr->rekeyBytes;
    }
    len = P2pSecureStart(connPtr->securePtr, body);
    if (len > 0) {
	AppendFrame(&connPtr->wire, body, len);
    }
}

static void
AppendFrame(
    P2pBuf *bufPtr,
    const unsigned char *body,
    size_t len)
{
    P2pBufReserve(bufPtr, P2P_FRAME_HEADER + len);
    P2pPutU32(bufPtr->bytes + bufPtr->len, (uint32_t) len);
    memcpy(bufPtr->bytes + bufPtr->len + P2P_FRAME_HEADER, body, len);
    bufPtr->len += P2P_FRAME_HEADER + len;
}

/*
 *----------------------------------------------------------------------
 *
 * SecureMoveOut --
 *
 *	Once the handshake is done, moves the frames queued in out to the
 *	wire buffer, sealing each when the connection encrypts. Before, out
 *	is held as it is.
 *
 *----------------------------------------------------------------------
 */

static void
SecureMoveOut(
    P2pConn *connPtr)
{
    P2pSecure *sPtr = connPtr->securePtr;
    P2pBuf *outPtr = &connPtr->out, *wirePtr = &connPtr->wire;
    size_t pos = 0;

    if (sPtr->state != P2P_HS_DONE || outPtr->len == 0) {
	return;
    }
    if (!sPtr->encrypt) {
	if (wirePtr->len == 0) {
	    P2pBuf tmp = *wirePtr;

	    *wirePtr = *outPtr;
	    *outPtr = tmp;
	} else {
	    P2pBufAppend(wirePtr, outPtr->bytes, outPtr->len);
	    outPtr->len = 0;
	}
	return;
    }

    /*
     * out holds whole frames only: every writer appends one at a time.
     */

    while (outPtr->len - pos >= P2P_FRAME_HEADER) {
	size_t frameLen = P2P_FRAME_HEADER + P2pGetU32(outPtr->bytes + pos);

	if (frameLen > outPtr->len - pos) {
	    break;
	}
	P2pBufReserve(wirePtr, P2P_SEAL_HEADER + frameLen + P2P_SEAL_TAG);
	P2pSecureSeal(sPtr, outPtr->bytes + pos, frameLen,
		wirePtr->bytes + wirePtr->len);
	wirePtr->len += P2P_SEAL_HEADER + frameLen + P2P_SEAL_TAG;
	pos += frameLen;
    }
    if (pos == outPtr->len) {
	P2pBufFree(outPtr);
    } else {
	memmove(outPtr->bytes, outPtr->bytes + pos, outPtr->len - pos);
	outPtr->len -= pos;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * SecureIngest --
 *
 *	From ReadProc: takes what arrived in raw. During the handshake, runs
 *	its messages and queues the answers; after it, decrypts each sealed
 *	frame into in (or, without encryption, moves the bytes there as
 *	they are). Evaluates nothing.
 *
 * Side effects:
 *	May close the connection with the reason: "handshake failed: ...",
 *	"frame failed authentication", a frame too large.
 *
 *----------------------------------------------------------------------
 */

static void
SecureIngest(
    P2pConn *connPtr)
{
    P2pSecure *sPtr = connPtr->securePtr;
    P2pHandler *hPtr = connPtr->handlerPtr;
    P2pBuf *rawPtr = &connPtr->raw;
    size_t pos = 0;

    while (!(connPtr->flags & CONN_CLOSING) && pos < rawPtr->len) {
	const unsigned char *start = rawPtr->bytes + pos;
	size_t avail = rawPtr->len - pos, len, plainLen;
	int code;

	if (sPtr->state != P2P_HS_DONE) {
	    unsigned char reply[P2P_HS_MAX_LEN];
	    size_t replyLen;

	    code = P2pFrameScan(start, avail, P2P_HS_MAX_LEN, &len);
	    if (code == P2P_FRAME_NEED) {
		break;
	    }
	    if (code == P2P_FRAME_OK) {
		pos += len;
		code = P2pSecureHandle(sPtr, start + P2P_FRAME_HEADER,
			len - P2P_FRAME_HEADER, reply, &replyLen);
	    } else {
		code = P2pSecureHandle(sPtr, start, 0, reply, &replyLen);
	    }
	    if (code != P2P_HS_OK) {
		connPtr->stats.errors++;
		hPtr->stats.errors++;
		P2pConnClose(connPtr, Tcl_ObjPrintf("handshake failed: %s",
			sPtr->error));
		break;
	    }
	    if (replyLen > 0) {
		AppendFrame(&connPtr->wire, reply, replyLen);
	    }
	    if (replyLen > 0 || sPtr->state == P2P_HS_DONE) {
		P2pConnFlush(connPtr);
	    }
	    continue;
	}
	if (!sPtr->encrypt) {
	    P2pBufAppend(&connPtr->in, start, avail);
	    pos += avail;
	    break;
	}
	code = P2pSecureScan(start, avail, (size_t) hPtr->maxFrame, &len);
	if (code == P2P_FRAME_NEED) {
	    break;
	}
	if (code == P2P_FRAME_TOOBIG) {
	    connPtr->stats.errors++;
	    hPtr->stats.errors++;
	    P2pConnClose(connPtr, Tcl_ObjPrintf("frame of %" TCL_LL_MODIFIER
		    "d bytes exceeds -maxframe %" TCL_LL_MODIFIER "d",
		    (Tcl_WideInt) (len - P2P_FRAME_HEADER - P2P_SEAL_TAG),
		    (Tcl_WideInt) hPtr->maxFrame));
	    break;
	}
	if (code == P2P_FRAME_OK) {
	    P2pBufReserve(&connPtr->in, len);
	    code = P2pSecureOpen(sPtr, start, len,
		    connPtr->in.bytes + connPtr->in.len, &plainLen);
	}
	if (code != P2P_FRAME_OK) {
	    connPtr->stats.errors++;
	    hPtr->stats.errors++;
	    P2pConnCloseStr(connPtr, code == P2P_SEAL_AUTH
		    ? "frame failed authentication"
		    : "malformed frame: not one sealed frame");
	    break;
	}
	connPtr->in.len += plainLen;
	pos += len;
    }
    if (connPtr->flags & CONN_CLOSING) {
	P2pBufFree(rawPtr);
    } else if (pos == rawPtr->len) {
	P2pBufFree(rawPtr);
    } else if (pos > 0) {
	memmove(rawPtr->bytes, rawPtr->bytes + pos, rawPtr->len - pos);
	rawPtr->len -= pos;
    }
}
