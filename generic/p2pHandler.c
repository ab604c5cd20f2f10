/*
 * p2pHandler.c --
 *
 *	The TclOO classes p2p::handler (the methods servers and clients
 *	share), p2p::server and p2p::client, their options, and the lifetime
 *	of the P2pHandler struct behind each object.
 */

#include "p2pjobsInt.h"
#include <stdlib.h>
#include <sodium.h>

static void	DeleteMeta(ClientData clientData);
static int	CloneMeta(Tcl_Interp *interp, ClientData src, ClientData *dst);

const Tcl_ObjectMetadataType P2pHandlerMetaType = {
    TCL_OO_METADATA_VERSION_CURRENT, "p2p::handler", DeleteMeta, CloneMeta
};

/*
 * Options. Which kinds of handler have each, and whether it can change
 * after creation.
 */

#define OPT_SERVER	1
#define OPT_CLIENT	2
#define OPT_BOTH	3

typedef struct OptionSpec {
    const char *name;
    int kinds;
    int createOnly;
} OptionSpec;

enum {
    OPT_ADDRESS, OPT_ASYNC, OPT_HOST, OPT_IDENTITY, OPT_MAXFRAME,
    OPT_MAXOUTPUT, OPT_NETSECRET, OPT_ONCONNECT, OPT_ONDISCONNECT,
    OPT_ONERROR, OPT_ONPROTOCOL, OPT_PORT, OPT_PROTOCOL, OPT_SECURE,
    OPT_TIMEOUT, OPT_COUNT
};

static const OptionSpec options[OPT_COUNT] = {
    {"-address", OPT_CLIENT, 0},
    {"-async", OPT_CLIENT, 0},
    {"-host", OPT_SERVER, 1},
    {"-identity", OPT_BOTH, 0},
    {"-maxframe", OPT_BOTH, 0},
    {"-maxoutput", OPT_BOTH, 0},
    {"-netsecret", OPT_BOTH, 0},
    {"-onconnect", OPT_BOTH, 0},
    {"-ondisconnect", OPT_BOTH, 0},
    {"-onerror", OPT_BOTH, 0},
    {"-onprotocol", OPT_BOTH, 0},
    {"-port", OPT_SERVER, 1},
    {"-protocol", OPT_CLIENT, 0},
    {"-secure", OPT_BOTH, 0},
    {"-timeout", OPT_CLIENT, 0},
};

/*
 * Per kind, the option names in alphabetical order (for error messages
 * from Tcl_GetIndexFromObj) and their OPT_* index.
 */

static const char *optionNames[2][OPT_COUNT + 1];
static int optionIndex[2][OPT_COUNT];

static void
InitOptionNames(void)
{
    int kind, i, n;

    if (optionNames[0][0] != NULL) {
	return;
    }
    for (kind = 0; kind < 2; kind++) {
	for (i = 0, n = 0; i < OPT_COUNT; i++) {
	    if (options[i].kinds & (kind == P2P_SERVER ? OPT_SERVER
		    : OPT_CLIENT)) {
		optionNames[kind][n] = options[i].name;
		optionIndex[kind][n] = i;
		n++;
	    }
	}
	optionNames[kind][n] = NULL;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pHandlerNew --
 *
 *	Makes the C side of a new server or client object, with defaults.
 *
 * Results:
 *	The handler, holding one reference for its object.
 *
 *----------------------------------------------------------------------
 */

P2pHandler *
P2pHandlerNew(
    Tcl_Interp *interp,
    Tcl_Object object,
    int kind)
{
    P2pHandler *hPtr = (P2pHandler *) ckalloc(sizeof(P2pHandler));

    memset(hPtr, 0, sizeof(P2pHandler));
    hPtr->kind = kind;
    hPtr->refCount = 1;
    hPtr->interp = interp;
    hPtr->object = object;
    hPtr->loopPtr = P2pLoopGet();
    Tcl_InitHashTable(&hPtr->protocols, TCL_STRING_KEYS);
    Tcl_InitHashTable(&hPtr->conns, TCL_ONE_WORD_KEYS);
    hPtr->maxFrame = 4 * 1024 * 1024;
    hPtr->maxOutput = 16 * 1024 * 1024;
    hPtr->timeoutMs = 5000;
    hPtr->hostObj = Tcl_NewStringObj("127.0.0.1", -1);
    Tcl_IncrRefCount(hPtr->hostObj);
    hPtr->portObj = Tcl_NewIntObj(0);
    Tcl_IncrRefCount(hPtr->portObj);
    hPtr->addressObj = Tcl_NewObj();
    Tcl_IncrRefCount(hPtr->addressObj);
    hPtr->rootObj = Tcl_NewObj();
    Tcl_IncrRefCount(hPtr->rootObj);
    hPtr->loopPtr->numHandlers++;
    return hPtr;
}

void
P2pHandlerPreserve(
    P2pHandler *hPtr)
{
    hPtr->refCount++;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pHandlerRelease --
 *
 *	Drops a reference; the last frees the struct (the object is gone by
 *	then, and so are all connections and libuv handles).
 *
 *----------------------------------------------------------------------
 */

void
P2pHandlerRelease(
    P2pHandler *hPtr)
{
    Tcl_Obj **objs[] = {
	&hPtr->onConnect, &hPtr->onProtocol, &hPtr->onDisconnect,
	&hPtr->onError, &hPtr->hostObj, &hPtr->portObj, &hPtr->addressObj,
	&hPtr->rootObj, &hPtr->offerObj, &hPtr->failMsgObj,
	&hPtr->failCodeObj, &hPtr->identityObj, &hPtr->netSecretObj
    };
    size_t i;

    if (--hPtr->refCount > 0) {
	return;
    }
    for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
	if (*objs[i]) {
	    Tcl_DecrRefCount(*objs[i]);
	}
    }
    sodium_memzero(hPtr->idSk, sizeof(hPtr->idSk));
    P2pProtocolDeleteAll(hPtr);
    Tcl_DeleteHashTable(&hPtr->protocols);
    Tcl_DeleteHashTable(&hPtr->conns);
    hPtr->loopPtr->numHandlers--;
    ckfree((char *) hPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * DeleteMeta --
 *
 *	The object is being deleted (destroy, rename to {}, interpreter
 *	deletion): the only way a handler dies. Writes what it can of
 *	queued output, closes every connection and handle without
 *	callbacks, and drops the object's reference.
 *
 *----------------------------------------------------------------------
 */

static void
DeleteMeta(
    ClientData clientData)
{
    P2pHandler *hPtr = (P2pHandler *) clientData;
    Tcl_HashSearch search;
    Tcl_HashEntry *entryPtr;

    hPtr->flags |= HANDLER_DEAD;
    hPtr->object = NULL;
    while ((entryPtr = Tcl_FirstHashEntry(&hPtr->conns, &search)) != NULL) {
	P2pConn *connPtr = (P2pConn *) Tcl_GetHashValue(entryPtr);

	connPtr->flags |= CONN_SILENT;
	P2pConnFlush(connPtr);
	P2pConnCloseStr(connPtr, "handler destroyed");
    }
    if (hPtr->kind == P2P_SERVER) {
	P2pServerClose(hPtr);
    } else {
	P2pClientClose(hPtr);
    }
    P2pHandlerRelease(hPtr);
}

static int
CloneMeta(
    Tcl_Interp *interp,
    ClientData src,
    ClientData *dst)
{
    (void) src;
    (void) dst;
    if (interp) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj(
		"p2p handlers cannot be copied", -1));
    }
    return TCL_ERROR;
}

Tcl_Obj *
P2pHandlerName(
    P2pHandler *hPtr)
{
    if (hPtr->object == NULL) {
	return Tcl_NewObj();
    }
    return Tcl_GetObjectName(hPtr->interp, hPtr->object);
}

void
P2pHandlerCountIn(
    P2pConn *connPtr,
    size_t bytes)
{
    connPtr->stats.bytesIn += bytes;
    connPtr->handlerPtr->stats.bytesIn += bytes;
}

/*
 *----------------------------------------------------------------------
 *
 * GetOption, P2pHandlerConfigure --
 *
 *	Read and set options. Configure validates each value before it
 *	takes effect; at creation every option may be set, later only those
 *	not marked createOnly.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
GetOption(
    P2pHandler *hPtr,
    int opt)
{
    Tcl_Obj *objPtr;

    switch (opt) {
    case OPT_ADDRESS:
	return hPtr->addressObj;
    case OPT_ASYNC:
	return Tcl_NewBooleanObj(hPtr->async);
    case OPT_HOST:
	return hPtr->hostObj;
    case OPT_IDENTITY:
	objPtr = hPtr->identityObj;
	break;
    case OPT_NETSECRET:
	objPtr = hPtr->netSecretObj;
	break;
    case OPT_SECURE:
	return Tcl_NewBooleanObj(hPtr->secure);
    case OPT_MAXFRAME:
	return Tcl_NewWideIntObj(hPtr->maxFrame);
    case OPT_MAXOUTPUT:
	return Tcl_NewWideIntObj(hPtr->maxOutput);
    case OPT_ONCONNECT:
	objPtr = hPtr->onConnect;
	break;
    case OPT_ONDISCONNECT:
	objPtr = hPtr->onDisconnect;
	break;
    case OPT_ONERROR:
	objPtr = hPtr->onError;
	break;
    case OPT_ONPROTOCOL:
	objPtr = hPtr->onProtocol;
	break;
    case OPT_PORT:
	return hPtr->listening ? Tcl_NewIntObj(hPtr->boundPort)
		: hPtr->portObj;
    case OPT_PROTOCOL:
	return hPtr->rootObj;
    case OPT_TIMEOUT:
	return Tcl_NewIntObj(hPtr->timeoutMs);
    default:
	objPtr = NULL;
    }
    return objPtr ? objPtr : Tcl_NewObj();
}

static void
SetObj(
    Tcl_Obj **slotPtr,
    Tcl_Obj *valueObj,
    int emptyIsNull)
{
    int len;

    if (*slotPtr) {
	Tcl_DecrRefCount(*slotPtr);
    }
    Tcl_GetStringFromObj(valueObj, &len);
    if (emptyIsNull && len == 0) {
	*slotPtr = NULL;
	return;
    }
    *slotPtr = valueObj;
    Tcl_IncrRefCount(valueObj);
}

static int
GetPositiveWide(
    Tcl_Interp *interp,
    Tcl_Obj *objPtr,
    const char *opt,
    Tcl_WideInt *valuePtr)
{
    Tcl_WideInt v;

    if (Tcl_GetWideIntFromObj(NULL, objPtr, &v) != TCL_OK || v <= 0
	    || v > 0x7FFFFFFF) {
	return P2pError(interp, "P2P USAGE BADVALUE", "bad value \"%s\" for"
		" %s: must be a positive integer up to 2147483647",
		Tcl_GetString(objPtr), opt);
    }
    *valuePtr = v;
    return TCL_OK;
}

static int
FindOption(
    Tcl_Interp *interp,
    P2pHandler *hPtr,
    Tcl_Obj *nameObj,
    int *optPtr)
{
    int index;

    InitOptionNames();
    if (Tcl_GetIndexFromObj(interp, nameObj, optionNames[hPtr->kind],
	    "option", 0, &index) != TCL_OK) {
	Tcl_SetErrorCode(interp, "P2P", "USAGE", "OPTION",
		Tcl_GetString(nameObj), NULL);
	return TCL_ERROR;
    }
    *optPtr = optionIndex[hPtr->kind][index];
    return TCL_OK;
}

int
P2pHandlerConfigure(
    Tcl_Interp *interp,
    P2pHandler *hPtr,
    int objc,
    Tcl_Obj *const objv[],
    int creating)
{
    int i;

    if (objc % 2) {
	int opt;

	if (FindOption(interp, hPtr, objv[objc - 1], &opt) != TCL_OK) {
	    return TCL_ERROR;
	}
	return P2pError(interp, "P2P USAGE NOVALUE", "value for \"%s\""
		" missing", Tcl_GetString(objv[objc - 1]));
    }
    for (i = 0; i < objc; i += 2) {
	Tcl_Obj *valueObj = objv[i + 1];
	Tcl_WideInt w;
	int opt, b;

	if (FindOption(interp, hPtr, objv[i], &opt) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (options[opt].createOnly && !creating) {
	    return P2pError(interp, "P2P USAGE READONLY", "option \"%s\" can"
		    " only be set when the object is created",
		    options[opt].name);
	}
	switch (opt) {
	case OPT_ADDRESS:
	case OPT_PROTOCOL:
	    if (hPtr->state != CLIENT_IDLE) {
		return P2pError(interp, "P2P USAGE BUSY", "cannot change %s"
			" while connected", options[opt].name);
	    }
	    SetObj(opt == OPT_ADDRESS ? &hPtr->addressObj : &hPtr->rootObj,
		    valueObj, 0);
	    break;
	case OPT_ASYNC:
	    if (Tcl_GetBooleanFromObj(interp, valueObj, &b) != TCL_OK) {
		return TCL_ERROR;
	    }
	    hPtr->async = b;
	    break;
	case OPT_HOST:
	    SetObj(&hPtr->hostObj, valueObj, 0);
	    break;
	case OPT_IDENTITY: {
	    unsigned char pk[32], sk[64];
	    int len;

	    Tcl_GetStringFromObj(valueObj, &len);
	    if (len > 0) {
		if (P2pIdentityFromObj(interp, valueObj, pk, sk) != TCL_OK) {
		    return TCL_ERROR;
		}
		memcpy(hPtr->idPk, pk, 32);
		memcpy(hPtr->idSk, sk, 64);
		sodium_memzero(sk, sizeof(sk));
	    } else {
		sodium_memzero(hPtr->idSk, sizeof(hPtr->idSk));
	    }
	    SetObj(&hPtr->identityObj, valueObj, 1);
	    break;
	}
	case OPT_NETSECRET:
	    SetObj(&hPtr->netSecretObj, valueObj, 1);
	    break;
	case OPT_SECURE:
	    if (Tcl_GetBooleanFromObj(interp, valueObj, &b) != TCL_OK) {
		return TCL_ERROR;
	    }
	    hPtr->secure = b;
	    break;
	case OPT_MAXFRAME:
	case OPT_MAXOUTPUT:
	    if (GetPositiveWide(interp, valueObj, options[opt].name, &w)
		    != TCL_OK) {
		return TCL_ERROR;
	    }
	    if (opt == OPT_MAXFRAME) {
		hPtr->maxFrame = w;
	    } else {
		hPtr->maxOutput = w;
	    }
	    break;
	case OPT_ONCONNECT:
	    SetObj(&hPtr->onConnect, valueObj, 1);
	    break;
	case OPT_ONDISCONNECT:
	    SetObj(&hPtr->onDisconnect, valueObj, 1);
	    break;
	case OPT_ONERROR:
	    SetObj(&hPtr->onError, valueObj, 1);
	    break;
	case OPT_ONPROTOCOL:
	    SetObj(&hPtr->onProtocol, valueObj, 1);
	    break;
	case OPT_PORT: {
	    const char *s = Tcl_GetString(valueObj);
	    char *end;
	    long port = strtol(s, &end, 10);

	    if (end == s || (*end != '\0' && strcmp(end, "?") != 0)
		    || port < 0 || port > 65535) {
		return P2pError(interp, "P2P USAGE BADVALUE", "bad value \"%s\""
			" for -port: must be N, N? or 0 with N from 1 to"
			" 65535", s);
	    }
	    SetObj(&hPtr->portObj, valueObj, 0);
	    break;
	}
	case OPT_TIMEOUT:
	    if (GetPositiveWide(interp, valueObj, "-timeout", &w) != TCL_OK) {
		return TCL_ERROR;
	    }
	    hPtr->timeoutMs = (int) w;
	    break;
	}
    }
    return TCL_OK;
}

/*
 * ----------------------------------------------------------------------
 * Methods. Each finds its handler from the object's metadata.
 * ----------------------------------------------------------------------
 */

#define METHOD(name) \
    static int name(ClientData clientData, Tcl_Interp *interp, \
	    Tcl_ObjectContext context, int objc, Tcl_Obj *const objv[])

static P2pHandler *
GetHandler(
    Tcl_Interp *interp,
    Tcl_ObjectContext context)
{
    P2pHandler *hPtr = (P2pHandler *) Tcl_ObjectGetMetadata(
	    Tcl_ObjectContextObject(context), &P2pHandlerMetaType);

    if (hPtr == NULL) {
	P2pError(interp, "P2P USAGE UNINITIALIZED", "object is not"
		" initialized: a subclass constructor must call next");
    }
    return hPtr;
}

#define HANDLER_AND_SKIP \
    P2pHandler *hPtr = GetHandler(interp, context); \
    int skip = Tcl_ObjectContextSkippedArgs(context); \
    (void) clientData; \
    if (hPtr == NULL) { return TCL_ERROR; }

METHOD(ConfigureMethod)
{
    HANDLER_AND_SKIP;
    if (objc - skip == 0) {
	Tcl_Obj *listObj = Tcl_NewListObj(0, NULL);
	int i;

	InitOptionNames();
	for (i = 0; optionNames[hPtr->kind][i]; i++) {
	    int opt = optionIndex[hPtr->kind][i];

	    Tcl_ListObjAppendElement(NULL, listObj,
		    Tcl_NewStringObj(options[opt].name, -1));
	    Tcl_ListObjAppendElement(NULL, listObj, GetOption(hPtr, opt));
	}
	Tcl_SetObjResult(interp, listObj);
	return TCL_OK;
    }
    if (objc - skip == 1) {
	int opt;

	if (FindOption(interp, hPtr, objv[skip], &opt) != TCL_OK) {
	    return TCL_ERROR;
	}
	Tcl_SetObjResult(interp, GetOption(hPtr, opt));
	return TCL_OK;
    }
    return P2pHandlerConfigure(interp, hPtr, objc - skip, objv + skip, 0);
}

METHOD(CgetMethod)
{
    int opt;
    HANDLER_AND_SKIP;

    if (objc - skip != 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "option");
	return TCL_ERROR;
    }
    if (FindOption(interp, hPtr, objv[skip], &opt) != TCL_OK) {
	return TCL_ERROR;
    }
    Tcl_SetObjResult(interp, GetOption(hPtr, opt));
    return TCL_OK;
}

METHOD(ProtocolMethod)
{
    HANDLER_AND_SKIP;
    return P2pProtocolMethod(interp, hPtr, skip, objc, objv);
}

static int
CompareLong(
    const void *a,
    const void *b)
{
    long x = *(const long *) a, y = *(const long *) b;

    return (x > y) - (x < y);
}

/*
 * The registered connections, ascending by cid, optionally only those
 * whose protocol matches a glob pattern. The caller frees *cidsPtr.
 */

static int
CollectConns(
    P2pHandler *hPtr,
    const char *pattern,
    P2pConn ***connsPtr)
{
    Tcl_HashSearch search;
    Tcl_HashEntry *entryPtr;
    long *cids = (long *) ckalloc(sizeof(long) * (hPtr->conns.numEntries + 1));
    P2pConn **conns;
    int n = 0, i;

    for (entryPtr = Tcl_FirstHashEntry(&hPtr->conns, &search); entryPtr;
	    entryPtr = Tcl_NextHashEntry(&search)) {
	P2pConn *connPtr = (P2pConn *) Tcl_GetHashValue(entryPtr);

	if (pattern && !Tcl_StringMatch(connPtr->protocolPtr
		? Tcl_GetString(connPtr->protocolPtr->nameObj) : "",
		pattern)) {
	    continue;
	}
	cids[n++] = connPtr->cid;
    }
    qsort(cids, (size_t) n, sizeof(long), CompareLong);
    conns = (P2pConn **) ckalloc(sizeof(P2pConn *) * (n + 1));
    for (i = 0; i < n; i++) {
	conns[i] = (P2pConn *) Tcl_GetHashValue(Tcl_FindHashEntry(
		&hPtr->conns, CID_KEY(cids[i])));
    }
    ckfree((char *) cids);
    *connsPtr = conns;
    return n;
}

METHOD(ConnectionsMethod)
{
    P2pConn **conns;
    int n, i;
    Tcl_Obj *listObj;
    HANDLER_AND_SKIP;

    if (objc - skip > 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "?pattern?");
	return TCL_ERROR;
    }
    n = CollectConns(hPtr, objc - skip == 1 ? Tcl_GetString(objv[skip])
	    : NULL, &conns);
    listObj = Tcl_NewListObj(0, NULL);
    for (i = 0; i < n; i++) {
	Tcl_ListObjAppendElement(NULL, listObj, Tcl_NewLongObj(conns[i]->cid));
    }
    ckfree((char *) conns);
    Tcl_SetObjResult(interp, listObj);
    return TCL_OK;
}

METHOD(ConnectionNameMethod)
{
    P2pConn *connPtr;
    HANDLER_AND_SKIP;

    if (objc - skip < 1 || objc - skip > 2) {
	Tcl_WrongNumArgs(interp, skip, objv, "cid ?name?");
	return TCL_ERROR;
    }
    if ((connPtr = P2pConnFind(interp, hPtr, objv[skip])) == NULL) {
	return TCL_ERROR;
    }
    if (objc - skip == 2) {
	SetObj(&connPtr->nameObj, objv[skip + 1], 0);
    }
    Tcl_SetObjResult(interp, connPtr->nameObj);
    return TCL_OK;
}

METHOD(ConnectionKeyMethod)
{
    P2pConn *connPtr;
    char hex[65];
    HANDLER_AND_SKIP;

    if (objc - skip != 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "cid");
	return TCL_ERROR;
    }
    if ((connPtr = P2pConnFind(interp, hPtr, objv[skip])) == NULL) {
	return TCL_ERROR;
    }
    if (connPtr->securePtr && connPtr->securePtr->state == P2P_HS_DONE) {
	P2pHexEncode(connPtr->securePtr->peerIdPk, 32, hex);
	Tcl_SetObjResult(interp, Tcl_NewStringObj(hex, -1));
    }
    return TCL_OK;
}

METHOD(ConnectionSpeaksMethod)
{
    P2pConn *connPtr;
    HANDLER_AND_SKIP;

    if (objc - skip < 1 || objc - skip > 2) {
	Tcl_WrongNumArgs(interp, skip, objv, "cid ?protocol?");
	return TCL_ERROR;
    }
    if ((connPtr = P2pConnFind(interp, hPtr, objv[skip])) == NULL) {
	return TCL_ERROR;
    }
    if (objc - skip == 2) {
	P2pProtocol *protoPtr = P2pProtocolFind(hPtr,
		Tcl_GetString(objv[skip + 1]));

	if (protoPtr == NULL) {
	    return P2pError(interp, "P2P PROTOCOL UNKNOWN", "unknown protocol"
		    " \"%s\": not installed on this handler",
		    Tcl_GetString(objv[skip + 1]));
	}
	protoPtr->refCount++;
	if (connPtr->protocolPtr) {
	    P2pProtocolRelease(connPtr->protocolPtr);
	}
	connPtr->protocolPtr = protoPtr;
    }
    Tcl_SetObjResult(interp, connPtr->protocolPtr
	    ? connPtr->protocolPtr->nameObj : Tcl_NewObj());
    return TCL_OK;
}

/*
 * The connection a client's one-argument send (or a cid) names.
 */

static P2pConn *
ClientConn(
    Tcl_Interp *interp,
    P2pHandler *hPtr)
{
    if (hPtr->connPtr == NULL || hPtr->state != CLIENT_OPEN
	    || (hPtr->connPtr->flags & CONN_CLOSING)) {
	P2pError(interp, "P2P CONN CLOSED", "not connected");
	return NULL;
    }
    return hPtr->connPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pClientSend --
 *
 *	A client's one-argument send, `$client send message`: SendMethod's,
 *	and the farm's for a run when the method is this one (SendRun,
 *	p2pFarmMethods.c).
 *
 * Results:
 *	Those of P2pSendMessage, or TCL_ERROR "not connected".
 *
 *----------------------------------------------------------------------
 */

int
P2pClientSend(
    Tcl_Interp *interp,
    P2pHandler *hPtr,
    Tcl_Obj *msgObj)
{
    P2pConn *connPtr = ClientConn(interp, hPtr);

    if (connPtr == NULL) {
	return TCL_ERROR;
    }
    return P2pSendMessage(interp, connPtr, msgObj);
}

METHOD(SendMethod)
{
    P2pConn *connPtr;
    HANDLER_AND_SKIP;

    if (objc - skip == 1 && hPtr->kind == P2P_CLIENT) {
	return P2pClientSend(interp, hPtr, objv[skip]);
    }
    if (objc - skip != 2) {
	Tcl_WrongNumArgs(interp, skip, objv, hPtr->kind == P2P_CLIENT
		? "?cid? message" : "cid message");
	return TCL_ERROR;
    }
    if ((connPtr = P2pConnFind(interp, hPtr, objv[skip])) == NULL) {
	return TCL_ERROR;
    }
    return P2pSendMessage(interp, connPtr, objv[skip + 1]);
}

METHOD(BroadcastMethod)
{
    static const char *const opts[] = {"-avoid", "-protocol", NULL};
    const char *pattern = NULL;
    Tcl_Obj *avoidObj = NULL, *listObj, **words;
    P2pConn **conns;
    P2pBuf *scratchPtr;
    int i, n, nwords, index;
    size_t frameLen;
    HANDLER_AND_SKIP;

    for (i = skip; i < objc - 1; i += 2) {
	if (Tcl_GetIndexFromObj(interp, objv[i], opts, "option", 0, &index)
		!= TCL_OK) {
	    return TCL_ERROR;
	}
	if (i + 1 >= objc - 1) {
	    Tcl_WrongNumArgs(interp, skip, objv,
		    "?-protocol pattern? ?-avoid cids? message");
	    return TCL_ERROR;
	}
	if (index == 0) {
	    avoidObj = objv[i + 1];
	} else {
	    pattern = Tcl_GetString(objv[i + 1]);
	}
    }
    if (i != objc - 1) {
	Tcl_WrongNumArgs(interp, skip, objv,
		"?-protocol pattern? ?-avoid cids? message");
	return TCL_ERROR;
    }
    if (Tcl_ListObjGetElements(interp, objv[objc - 1], &nwords, &words)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    scratchPtr = &hPtr->loopPtr->scratch;
    scratchPtr->len = 0;
    if (P2pMessageEncode(interp, scratchPtr, nwords, words, hPtr->maxFrame,
	    &frameLen) != TCL_OK) {
	return TCL_ERROR;
    }
    n = CollectConns(hPtr, pattern, &conns);
    listObj = Tcl_NewListObj(0, NULL);
    for (i = 0; i < n; i++) {
	P2pConn *connPtr = conns[i];

	if (avoidObj) {
	    Tcl_Obj **avoid;
	    int na, k, skipIt = 0;
	    long cid;

	    Tcl_ListObjGetElements(NULL, avoidObj, &na, &avoid);
	    for (k = 0; k < na && !skipIt; k++) {
		skipIt = Tcl_GetLongFromObj(NULL, avoid[k], &cid) == TCL_OK
			&& cid == connPtr->cid;
	    }
	    if (skipIt) {
		continue;
	    }
	}
	if ((connPtr->flags & CONN_CLOSING) || connPtr->protocolPtr == NULL) {
	    continue;
	}
	P2pBufAppend(&connPtr->out, scratchPtr->bytes, frameLen);
	Tcl_ListObjAppendElement(NULL, listObj, Tcl_NewLongObj(connPtr->cid));
	P2pConnQueued(connPtr, frameLen);
    }
    ckfree((char *) conns);
    Tcl_SetObjResult(interp, listObj);
    return TCL_OK;
}

METHOD(FlushMethod)
{
    HANDLER_AND_SKIP;

    if (objc - skip > 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "?cid?");
	return TCL_ERROR;
    }
    if (objc - skip == 1) {
	P2pConn *connPtr = P2pConnFind(interp, hPtr, objv[skip]);

	if (connPtr == NULL) {
	    return TCL_ERROR;
	}
	P2pConnFlush(connPtr);
    } else {
	P2pConn **conns;
	int n = CollectConns(hPtr, NULL, &conns), i;

	for (i = 0; i < n; i++) {
	    P2pConnFlush(conns[i]);
	}
	ckfree((char *) conns);
    }
    return TCL_OK;
}

METHOD(CloseMethod)
{
    P2pConn *connPtr;
    HANDLER_AND_SKIP;

    if (objc - skip != 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "cid");
	return TCL_ERROR;
    }
    if ((connPtr = P2pConnFind(interp, hPtr, objv[skip])) == NULL) {
	return TCL_ERROR;
    }
    P2pConnFlush(connPtr);
    P2pConnCloseStr(connPtr, "closed");
    return TCL_OK;
}

static void
PutStats(
    Tcl_Obj *dictObj,
    const P2pStats *sPtr)
{
    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("framesIn", -1),
	    Tcl_NewWideIntObj(sPtr->framesIn));
    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("framesOut", -1),
	    Tcl_NewWideIntObj(sPtr->framesOut));
    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("bytesIn", -1),
	    Tcl_NewWideIntObj(sPtr->bytesIn));
    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("bytesOut", -1),
	    Tcl_NewWideIntObj(sPtr->bytesOut));
    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("errors", -1),
	    Tcl_NewWideIntObj(sPtr->errors));
}

METHOD(StatsMethod)
{
    Tcl_Obj *dictObj = Tcl_NewDictObj();
    HANDLER_AND_SKIP;

    if (objc - skip > 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "?cid?");
	return TCL_ERROR;
    }
    if (objc - skip == 1) {
	P2pConn *connPtr = P2pConnFind(interp, hPtr, objv[skip]);

	if (connPtr == NULL) {
	    return TCL_ERROR;
	}
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("name", -1),
		connPtr->nameObj ? connPtr->nameObj : Tcl_NewObj());
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("protocol", -1),
		connPtr->protocolPtr ? connPtr->protocolPtr->nameObj
		: Tcl_NewObj());
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("peer", -1),
		connPtr->peerObj ? connPtr->peerObj : Tcl_NewObj());
	PutStats(dictObj, &connPtr->stats);
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("queued", -1),
		Tcl_NewWideIntObj((Tcl_WideInt)
		(connPtr->out.len + connPtr->inflight)));
    } else {
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("connections", -1),
		Tcl_NewIntObj(hPtr->conns.numEntries));
	Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("accepted", -1),
		Tcl_NewWideIntObj(hPtr->accepted));
	PutStats(dictObj, &hPtr->stats);
    }
    Tcl_SetObjResult(interp, dictObj);
    return TCL_OK;
}

/*
 * Constructors and the client-only methods.
 */

static int
Construct(
    Tcl_Interp *interp,
    Tcl_ObjectContext context,
    int objc,
    Tcl_Obj *const objv[],
    int kind)
{
    Tcl_Object object = Tcl_ObjectContextObject(context);
    int skip = Tcl_ObjectContextSkippedArgs(context);
    P2pHandler *hPtr;

    if (Tcl_ObjectGetMetadata(object, &P2pHandlerMetaType) != NULL) {
	return P2pError(interp, "P2P USAGE", "object is already initialized");
    }
    if (P2pLoopGet() == NULL) {
	return P2pError(interp, "P2P UV INIT", "could not create the libuv"
		" loop");
    }
    hPtr = P2pHandlerNew(interp, object, kind);
    Tcl_ObjectSetMetadata(object, &P2pHandlerMetaType, hPtr);
    if (P2pHandlerConfigure(interp, hPtr, objc - skip, objv + skip, 1)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    if (kind == P2P_SERVER) {
	return P2pServerListen(interp, hPtr);
    }
    return TCL_OK;
}

METHOD(ServerCtor)
{
    (void) clientData;
    return Construct(interp, context, objc, objv, P2P_SERVER);
}

METHOD(ClientCtor)
{
    (void) clientData;
    return Construct(interp, context, objc, objv, P2P_CLIENT);
}

METHOD(HandlerCtor)
{
    (void) clientData;
    (void) context;
    (void) objc;
    (void) objv;
    return P2pError(interp, "P2P USAGE ABSTRACT", "p2p::handler is"
	    " abstract: create a p2p::server or a p2p::client");
}

METHOD(ConnectMethod)
{
    HANDLER_AND_SKIP;
    if (objc - skip != 0) {
	Tcl_WrongNumArgs(interp, skip, objv, NULL);
	return TCL_ERROR;
    }
    return P2pClientConnect(interp, hPtr);
}

METHOD(CidMethod)
{
    HANDLER_AND_SKIP;
    if (objc - skip != 0) {
	Tcl_WrongNumArgs(interp, skip, objv, NULL);
	return TCL_ERROR;
    }
    if (hPtr->connPtr && (hPtr->connPtr->flags & CONN_REGISTERED)
	    && !(hPtr->connPtr->flags & CONN_CLOSING)) {
	Tcl_SetObjResult(interp, Tcl_NewLongObj(hPtr->connPtr->cid));
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pHandlerClassesInit --
 *
 *	Creates the classes ::p2p::handler, ::p2p::server and ::p2p::client
 *	in an interpreter and gives them their C methods.
 *
 *----------------------------------------------------------------------
 */

static const Tcl_MethodType handlerMethods[] = {
    {TCL_OO_METHOD_VERSION_CURRENT, "broadcast", BroadcastMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "cget", CgetMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "close", CloseMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "configure", ConfigureMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "connectionKey", ConnectionKeyMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "connectionName", ConnectionNameMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "connectionSpeaks", ConnectionSpeaksMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "connections", ConnectionsMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "flush", FlushMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "protocol", ProtocolMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "send", SendMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "stats", StatsMethod, NULL, NULL},
    {0, NULL, NULL, NULL, NULL}
};

static const Tcl_MethodType clientMethods[] = {
    {TCL_OO_METHOD_VERSION_CURRENT, "cid", CidMethod, NULL, NULL},
    {TCL_OO_METHOD_VERSION_CURRENT, "connect", ConnectMethod, NULL, NULL},
    {0, NULL, NULL, NULL, NULL}
};

static Tcl_Class
MakeClass(
    Tcl_Interp *interp,
    const char *script,
    const char *name)
{
    Tcl_Object object;
    Tcl_Obj *nameObj;

    if (Tcl_Eval(interp, script) != TCL_OK) {
	return NULL;
    }
    nameObj = Tcl_NewStringObj(name, -1);
    Tcl_IncrRefCount(nameObj);
    object = Tcl_GetObjectFromObj(interp, nameObj);
    Tcl_DecrRefCount(nameObj);
    return object ? Tcl_GetObjectAsClass(object) : NULL;
}

static void
AddMethods(
    Tcl_Interp *interp,
    Tcl_Class cls,
    const Tcl_MethodType *types)
{
    for (; types->name; types++) {
	Tcl_NewMethod(interp, cls, Tcl_NewStringObj(types->name, -1), 1,
		types, NULL);
    }
}

static const Tcl_MethodType handlerCtorType = {
    TCL_OO_METHOD_VERSION_CURRENT, "p2p::handler constructor", HandlerCtor,
    NULL, NULL
};
static const Tcl_MethodType serverCtorType = {
    TCL_OO_METHOD_VERSION_CURRENT, "p2p::server constructor", ServerCtor,
    NULL, NULL
};
static const Tcl_MethodType clientCtorType = {
    TCL_OO_METHOD_VERSION_CURRENT, "p2p::client constructor", ClientCtor,
    NULL, NULL
};

int
P2pHandlerClassesInit(
    Tcl_Interp *interp)
{
    Tcl_Class handlerCls, serverCls, clientCls;

    handlerCls = MakeClass(interp, "::oo::class create ::p2p::handler",
	    "::p2p::handler");
    serverCls = MakeClass(interp, "::oo::class create ::p2p::server"
	    " {superclass ::p2p::handler}", "::p2p::server");
    clientCls = MakeClass(interp, "::oo::class create ::p2p::client"
	    " {superclass ::p2p::handler}", "::p2p::client");
    if (!handlerCls || !serverCls || !clientCls) {
	return TCL_ERROR;
    }
    AddMethods(interp, handlerCls, handlerMethods);
    AddMethods(interp, clientCls, clientMethods);
    Tcl_ClassSetConstructor(interp, handlerCls, Tcl_NewMethod(interp,
	    handlerCls, NULL, 1, &handlerCtorType, NULL));
    Tcl_ClassSetConstructor(interp, serverCls, Tcl_NewMethod(interp,
	    serverCls, NULL, 1, &serverCtorType, NULL));
    Tcl_ClassSetConstructor(interp, clientCls, Tcl_NewMethod(interp,
	    clientCls, NULL, 1, &clientCtorType, NULL));
    return TCL_OK;
}
