/*
 * p2pInit.c --
 *
 *	Entry point of the p2pjobs package, and the small commands that
 *	belong to no object: p2p::caller and p2p::debug.
 */

#include "p2pjobsInt.h"

TCL_DECLARE_MUTEX(initMutex)
static int processInitialized = 0;

static int	Cipher(Tcl_Interp *interp, P2pLoop *loopPtr,
		    const char *sub, int objc, Tcl_Obj *const objv[]);
static int	RawFrame(Tcl_Interp *interp, int objc,
		    Tcl_Obj *const objv[]);
static P2pConn *	DebugConn(Tcl_Interp *interp, Tcl_Obj *handlerObj,
		    Tcl_Obj *cidObj);

/*
 *----------------------------------------------------------------------
 *
 * P2pjobs_Init --
 *
 *	Loads the C part of the package into an interpreter: the classes
 *	p2p::handler, p2p::server and p2p::client and the commands
 *	p2p::caller and p2p::debug. There is deliberately no SafeInit: the
 *	package opens sockets and must not load into safe interpreters.
 *
 * Results:
 *	TCL_OK or TCL_ERROR.
 *
 * Side effects:
 *	On first load in a process raises the soft limit on open files to
 *	the hard limit (unix), so that a server can hold many connections.
 *
 *----------------------------------------------------------------------
 */

int
P2pjobs_Init(
    Tcl_Interp *interp)
{
    if (Tcl_InitStubs(interp, "8.6", 0) == NULL) {
	return TCL_ERROR;
    }
    if (Tcl_OOInitStubs(interp) == NULL) {
	return TCL_ERROR;
    }
    Tcl_MutexLock(&initMutex);
    if (!processInitialized) {
	P2ppRaiseFdLimit();
	P2pMessageInit();
	if (P2pSecureLibInit() != 0) {
	    Tcl_MutexUnlock(&initMutex);
	    Tcl_SetObjResult(interp, Tcl_NewStringObj("p2pjobs: cannot"
		    " initialize libsodium", -1));
	    return TCL_ERROR;
	}
	processInitialized = 1;
    }
    Tcl_MutexUnlock(&initMutex);
    if (P2pLoopGet() == NULL) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj("p2pjobs: cannot create"
		" the libuv loop", -1));
	return TCL_ERROR;
    }
    if (Tcl_CreateNamespace(interp, "::p2p", NULL, NULL) == NULL
	    && Tcl_FindNamespace(interp, "::p2p", NULL, 0) == NULL) {
	return TCL_ERROR;
    }
    if (P2pHandlerClassesInit(interp) != TCL_OK) {
	return TCL_ERROR;
    }
    Tcl_CreateObjCommand(interp, "::p2p::caller", P2pCallerObjCmd, NULL,
	    NULL);
    Tcl_CreateObjCommand(interp, "::p2p::debug", P2pDebugObjCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::vwait", P2pVwaitObjCmd, NULL, NULL);
    P2pOwnerInit(interp);
    Tcl_CreateObjCommand(interp, "::p2p::wonks", P2pWonksObjCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::exec", P2pExecObjCmd, NULL, NULL);
    Tcl_CreateObjCommand(interp, "::p2p::identity", P2pIdentityObjCmd, NULL,
	    NULL);
    if (P2pJobRunInit(interp) != TCL_OK || P2pFarmInit(interp) != TCL_OK
	    || P2pFarmMethodsInit(interp) != TCL_OK) {
	return TCL_ERROR;
    }
    return Tcl_PkgProvide(interp, "p2pjobs", P2PJOBS_VERSION);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pCallerObjCmd --
 *
 *	p2p::caller: inside a protocol command, the handler object and the
 *	cid of the connection whose message is being handled.
 *
 *----------------------------------------------------------------------
 */

int
P2pCallerObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    P2pCaller *callerPtr;
    Tcl_Obj *pair[2];

    (void) clientData;
    if (objc != 1) {
	Tcl_WrongNumArgs(interp, 1, objv, NULL);
	return TCL_ERROR;
    }
    callerPtr = P2pCallerCurrent(interp, "p2p::caller");
    if (callerPtr == NULL) {
	return TCL_ERROR;
    }
    pair[0] = P2pHandlerName(callerPtr->handlerPtr);
    pair[1] = Tcl_NewLongObj(callerPtr->cid);
    Tcl_SetObjResult(interp, Tcl_NewListObj(2, pair));
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pCallerCurrent --
 *
 *	The innermost protocol command running in interp: its handler and
 *	connection.
 *
 * Results:
 *	The caller, or NULL with {P2P USAGE NOCALLER} in interp when
 *	command was called outside a protocol command.
 *
 *----------------------------------------------------------------------
 */

P2pCaller *
P2pCallerCurrent(
    Tcl_Interp *interp,
    const char *command)
{
    P2pLoop *loopPtr = P2pLoopGet();
    P2pCaller *callerPtr = loopPtr ? loopPtr->callerPtr : NULL;

    if (callerPtr == NULL || callerPtr->handlerPtr->interp != interp
	    || callerPtr->handlerPtr->object == NULL) {
	P2pError(interp, "P2P USAGE NOCALLER", "%s called outside a protocol"
		" command", command);
	return NULL;
    }
    return callerPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pDebugObjCmd --
 *
 *	p2p::debug handles|objects|pending: introspection for the test
 *	suite's leak checks. p2p::debug rawframe handler cid bytes: queues
 *	bytes as one frame body on a connection, as they are (sealed when
 *	the connection encrypts), so that a test can play a peer that sends
 *	what no message would encode. p2p::debug aesgcm ?bool?, rekey
 *	?bytes? and cipher handler cid: the record cipher (Cipher).
 *
 *----------------------------------------------------------------------
 */

int
P2pDebugObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subs[] = {
	"aesgcm", "cipher", "handles", "objects", "pending", "rawframe",
	"rekey", NULL
    };
    enum { AESGCM, CIPHER, HANDLES, OBJECTS, PENDING, RAWFRAME, REKEY };
    P2pLoop *loopPtr = P2pLoopGet();
    int index, value = 0;

    (void) clientData;
    if (objc < 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "subcommand ?arg ...?");
	return TCL_ERROR;
    }
    if (Tcl_GetIndexFromObj(interp, objv[1], subs, "subcommand", 0, &index)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    if (index == RAWFRAME) {
	return RawFrame(interp, objc, objv);
    }
    if (index == AESGCM || index == CIPHER || index == REKEY) {
	return Cipher(interp, loopPtr, index == AESGCM ? "aesgcm"
		: index == CIPHER ? "cipher" : "rekey", objc, objv);
    }
    if (objc != 2) {
	Tcl_WrongNumArgs(interp, 2, objv, NULL);
	return TCL_ERROR;
    }
    switch (index) {
    case HANDLES:
	value = P2pLoopCountHandles(loopPtr);
	break;
    case OBJECTS:
	value = loopPtr->numHandlers + loopPtr->numConns;
	break;
    case PENDING:
	value = P2pLoopPending(loopPtr);
	break;
    }
    Tcl_SetObjResult(interp, Tcl_NewIntObj(value));
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DebugConn --
 *
 *	The connection cidObj of the handler handlerObj (a p2p::server or
 *	p2p::client object of this interpreter), for p2p::debug.
 *
 * Results:
 *	The connection, or NULL with the error in interp.
 *
 *----------------------------------------------------------------------
 */

static P2pConn *
DebugConn(
    Tcl_Interp *interp,
    Tcl_Obj *handlerObj,
    Tcl_Obj *cidObj)
{
    Tcl_Object object = Tcl_GetObjectFromObj(interp, handlerObj);
    P2pHandler *hPtr;

    Tcl_ResetResult(interp);
    hPtr = object ? (P2pHandler *) Tcl_ObjectGetMetadata(object,
	    &P2pHandlerMetaType) : NULL;
    if (hPtr == NULL || (hPtr->flags & HANDLER_DEAD)) {
	P2pError(interp, "P2P USAGE NOTHANDLER", "\"%s\" is not a"
		" p2p::server or p2p::client", Tcl_GetString(handlerObj));
	return NULL;
    }
    return P2pConnFind(interp, hPtr, cidObj);
}

/*
 *----------------------------------------------------------------------
 *
 * RawFrame --
 *
 *	p2p::debug rawframe handler cid bytes. The handler is a p2p::server
 *	or p2p::client object of this interpreter; bytes are taken as a
 *	byte array (characters above \xff keep their low byte, as binary
 *	format does).
 *
 * Results:
 *	A standard Tcl result, empty on success.
 *
 * Side effects:
 *	The frame is queued like any other output of the connection.
 *
 *----------------------------------------------------------------------
 */

static int
RawFrame(
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    P2pConn *connPtr;
    const unsigned char *bytes;
    int len;

    if (objc != 5) {
	Tcl_WrongNumArgs(interp, 2, objv, "handler cid bytes");
	return TCL_ERROR;
    }
    if ((connPtr = DebugConn(interp, objv[2], objv[3])) == NULL) {
	return TCL_ERROR;
    }
    bytes = Tcl_GetByteArrayFromObj(objv[4], &len);
    return P2pConnQueueRaw(interp, connPtr, bytes, (size_t) len);
}

/*
 *----------------------------------------------------------------------
 *
 * Cipher --
 *
 *	p2p::debug aesgcm ?bool?: whether handshakes of this thread offer
 *	AES-256-GCM (1 by default where the CPU has it; 0 leaves
 *	ChaCha20-Poly1305-IETF). p2p::debug rekey ?bytes?: after how much
 *	use a connection's keys are replaced (doc/protocol.md 10.6), for
 *	handshakes from now on; 0 is the default, 4 GiB. p2p::debug cipher
 *	handler cid: the cipher of one connection's frames, "" when they are
 *	in clear or its handshake is not done.
 *
 * Results:
 *	A standard Tcl result: the setting, or the cipher.
 *
 *----------------------------------------------------------------------
 */

static int
Cipher(
    Tcl_Interp *interp,
    P2pLoop *loopPtr,
    const char *sub,
    int objc,
    Tcl_Obj *const objv[])
{
    int on;
    Tcl_WideInt bytes;

    if (sub[0] == 'c') {
	P2pConn *connPtr;

	if (objc != 4) {
	    Tcl_WrongNumArgs(interp, 2, objv, "handler cid");
	    return TCL_ERROR;
	}
	if ((connPtr = DebugConn(interp, objv[2], objv[3])) == NULL) {
	    return TCL_ERROR;
	}
	Tcl_SetObjResult(interp, Tcl_NewStringObj(connPtr->securePtr
		? P2pSecureCipher(connPtr->securePtr) : "", -1));
	return TCL_OK;
    }
    if (objc > 3) {
	Tcl_WrongNumArgs(interp, 2, objv, sub[0] == 'a' ? "?boolean?"
		: "?bytes?");
	return TCL_ERROR;
    }
    if (sub[0] == 'a') {
	if (objc == 3) {
	    if (Tcl_GetBooleanFromObj(interp, objv[2], &on) != TCL_OK) {
		return TCL_ERROR;
	    }
	    loopPtr->noAesGcm = !on;
	}
	Tcl_SetObjResult(interp, Tcl_NewBooleanObj(!loopPtr->noAesGcm
		&& P2pSecureHasAes()));
	return TCL_OK;
    }
    if (objc == 3) {
	if (Tcl_GetWideIntFromObj(interp, objv[2], &bytes) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (bytes < 0) {
	    return P2pError(interp, "P2P USAGE BADVALUE", "expected a count"
		    " of bytes >= 0 but got \"%s\"", Tcl_GetString(objv[2]));
	}
	loopPtr->rekeyBytes = (uint64_t) bytes;
    }
    Tcl_SetObjResult(interp, Tcl_NewWideIntObj(loopPtr->rekeyBytes > 0
	    ? (Tcl_WideInt) loopPtr->rekeyBytes
	    : (Tcl_WideInt) P2P_REKEY_BYTES));
    return TCL_OK;
}
