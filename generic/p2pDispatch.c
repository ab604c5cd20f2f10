/*
 * p2pDispatch.c --
 *
 *	From words to a protocol command and back: the first word of a
 *	message is looked up in the table of the protocol its connection
 *	speaks and the command prefix found there is called with the other
 *	words. Nothing here evaluates message text as a script. The
 *	reserved word "protocol" negotiates what a connection speaks.
 */

#include "p2pjobsInt.h"

static void	Negotiate(P2pConn *connPtr, int objc, Tcl_Obj *const objv[]);
static void	ReplyException(P2pConn *connPtr, Tcl_Obj *msgObj);
static void	ReportError(P2pConn *connPtr, Tcl_Obj *msgObj);
static int	PickProtocol(P2pHandler *hPtr, Tcl_Obj *offersObj,
		    P2pProtocol **protoPtrPtr);
static int	ResultWords(Tcl_Obj *resultObj, int *nPtr,
		    Tcl_Obj ***wordsPtr, Tcl_Obj **oneWordPtr);

#define STACK_WORDS 16

/*
 *----------------------------------------------------------------------
 *
 * P2pDispatch --
 *
 *	Handles one message that arrived on a connection.
 *
 * Side effects:
 *	Runs the protocol command; queues its reply or an exception; fires
 *	-onerror on errors. The caller holds references on the connection
 *	and the handler, which may be dead when this returns.
 *
 *----------------------------------------------------------------------
 */

void
P2pDispatch(
    P2pConn *connPtr,
    int objc,
    Tcl_Obj *const objv[])
{
    P2pHandler *hPtr = connPtr->handlerPtr;
    Tcl_Interp *interp = hPtr->interp;
    const char *word;
    Tcl_HashEntry *entryPtr;
    P2pCommand *cmdPtr;
    Tcl_Obj *stackv[STACK_WORDS], **callv = stackv, *resultObj;
    int callc, code, i;
    P2pCaller caller;

    if (objc == 0) {
	return;
    }
    word = Tcl_GetString(objv[0]);
    if (word[0] == 'p' && strcmp(word, "protocol") == 0) {
	Negotiate(connPtr, objc, objv);
	return;
    }
    if (connPtr->protocolPtr == NULL) {
	if (strcmp(word, "exception") == 0) {
	    if (hPtr->kind == P2P_CLIENT) {
		P2pClientNegotiated(connPtr, objc, objv);
	    } else {
		ReportError(connPtr, Tcl_ObjPrintf("exception from peer: %s",
			objc > 1 ? Tcl_GetString(objv[1]) : ""));
	    }
	    return;
	}
	ReplyException(connPtr, Tcl_NewStringObj("no protocol chosen: send"
		" \"protocol NAME/VERSION ...\" first", -1));
	return;
    }
    entryPtr = Tcl_FindHashEntry(&connPtr->protocolPtr->commands, word);
    if (entryPtr == NULL) {
	if (strcmp(word, "exception") == 0) {
	    ReportError(connPtr, Tcl_ObjPrintf("exception from peer: %s",
		    objc > 1 ? Tcl_GetString(objv[1]) : ""));
	} else {
	    Tcl_Obj *listObj = connPtr->protocolPtr->commandsObj;
	    int n;
	    Tcl_Obj *msgObj = Tcl_ObjPrintf("unknown command \"%s\": must be ",
		    word);

	    Tcl_ListObjLength(NULL, listObj, &n);
	    P2pAppendChoices(msgObj, listObj);
	    if (n == 0) {
		Tcl_AppendToObj(msgObj, "(no commands defined)", -1);
	    }
	    ReplyException(connPtr, msgObj);
	    ReportError(connPtr, Tcl_ObjPrintf("unknown command \"%s\"", word));
	}
	return;
    }

    /*
     * Build prefix + arguments and call it at global level.
     */

    cmdPtr = (P2pCommand *) Tcl_GetHashValue(entryPtr);
    Tcl_IncrRefCount(cmdPtr->prefixObj);	/* Protects prefixv. */
    callc = cmdPtr->prefixc + objc - 1;
    if (callc > STACK_WORDS) {
	callv = (Tcl_Obj **) ckalloc(callc * sizeof(Tcl_Obj *));
    }
    for (i = 0; i < cmdPtr->prefixc; i++) {
	callv[i] = cmdPtr->prefixv[i];
    }
    for (i = 1; i < objc; i++) {
	callv[cmdPtr->prefixc + i - 1] = objv[i];
    }
    caller.handlerPtr = hPtr;
    caller.cid = connPtr->cid;
    caller.prevPtr = hPtr->loopPtr->callerPtr;
    hPtr->loopPtr->callerPtr = &caller;
    code = Tcl_EvalObjv(interp, callc, callv, TCL_EVAL_GLOBAL);
    hPtr->loopPtr->callerPtr = caller.prevPtr;
    if (callv != stackv) {
	ckfree((char *) callv);
    }
    Tcl_DecrRefCount(cmdPtr->prefixObj);

    resultObj = Tcl_GetObjResult(interp);
    Tcl_IncrRefCount(resultObj);
    Tcl_ResetResult(interp);
    if (code == TCL_ERROR) {
	connPtr->stats.errors++;
	hPtr->stats.errors++;
	if (!(connPtr->flags & CONN_CLOSING)) {
	    ReplyException(connPtr, resultObj);
	}
	ReportError(connPtr, resultObj);
    } else if (!(connPtr->flags & CONN_CLOSING)) {
	int n;
	Tcl_Obj **words, *oneWord;

	if (ResultWords(resultObj, &n, &words, &oneWord) != TCL_OK) {
	    Tcl_Obj *msgObj = Tcl_ObjPrintf("result of \"%s\" is not a list",
		    word);

	    Tcl_IncrRefCount(msgObj);
	    connPtr->stats.errors++;
	    hPtr->stats.errors++;
	    ReplyException(connPtr, msgObj);
	    ReportError(connPtr, msgObj);
	    Tcl_DecrRefCount(msgObj);
	} else if (n > 0) {
	    if (P2pSendWords(interp, connPtr, n, words) != TCL_OK) {
		Tcl_Obj *msgObj = Tcl_GetObjResult(interp);

		Tcl_IncrRefCount(msgObj);
		Tcl_ResetResult(interp);
		ReplyException(connPtr, msgObj);
		ReportError(connPtr, msgObj);
		Tcl_DecrRefCount(msgObj);
	    }
	}
    }
    Tcl_DecrRefCount(resultObj);
}

/*
 *----------------------------------------------------------------------
 *
 * ResultWords --
 *
 *	The words of a command's result. A result that is already a list is
 *	used as it is; a plain string with none of the characters that list
 *	syntax gives meaning to is one word as it stands, and is not turned
 *	into a list (the common "return $x" case); anything else is parsed.
 *
 * Results:
 *	TCL_OK with *nPtr and *wordsPtr set (possibly pointing at
 *	*oneWordPtr), or TCL_ERROR when the result is not a list.
 *
 *----------------------------------------------------------------------
 */

static int
ResultWords(
    Tcl_Obj *resultObj,
    int *nPtr,
    Tcl_Obj ***wordsPtr,
    Tcl_Obj **oneWordPtr)
{
    static const Tcl_ObjType *listTypePtr = NULL;

    if (listTypePtr == NULL) {
	listTypePtr = Tcl_GetObjType("list");
    }
    if (resultObj->typePtr != listTypePtr && resultObj->bytes != NULL
	    && resultObj->length > 0) {
	const unsigned char *p = (const unsigned char *) resultObj->bytes;
	const unsigned char *end = p + resultObj->length;

	while (p < end && *p > ' ' && *p != '{' && *p != '}' && *p != '"'
		&& *p != '\\') {
	    p++;
	}
	if (p == end) {
	    *oneWordPtr = resultObj;
	    *wordsPtr = oneWordPtr;
	    *nPtr = 1;
	    return TCL_OK;
	}
    }
    return Tcl_ListObjGetElements(NULL, resultObj, nPtr, wordsPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * Negotiate --
 *
 *	The word "protocol". On a server connection that speaks nothing
 *	yet: an offer of NAME/VERSION words (one list or several words);
 *	the highest version the server has installed wins and is announced
 *	back. On a client connection: the server's answer.
 *
 *----------------------------------------------------------------------
 */

static void
Negotiate(
    P2pConn *connPtr,
    int objc,
    Tcl_Obj *const objv[])
{
    P2pHandler *hPtr = connPtr->handlerPtr;
    P2pProtocol *protoPtr = NULL;
    Tcl_Obj *offersObj, *reply[2];

    if (hPtr->kind == P2P_CLIENT) {
	P2pClientNegotiated(connPtr, objc, objv);
	return;
    }
    if (connPtr->protocolPtr != NULL) {
	ReplyException(connPtr, Tcl_ObjPrintf("protocol already chosen: %s",
		Tcl_GetString(connPtr->protocolPtr->nameObj)));
	return;
    }
    offersObj = (objc == 2) ? objv[1] : Tcl_NewListObj(objc - 1, objv + 1);
    Tcl_IncrRefCount(offersObj);
    if (PickProtocol(hPtr, offersObj, &protoPtr) != TCL_OK
	    || protoPtr == NULL) {
	Tcl_Obj *namesObj = P2pProtocolNames(hPtr);
	int n;

	Tcl_ListObjLength(NULL, namesObj, &n);
	ReplyException(connPtr, Tcl_ObjPrintf("no common protocol: offered"
		" %s; this server speaks %s", Tcl_GetString(offersObj),
		n ? Tcl_GetString(namesObj) : "nothing"));
	Tcl_DecrRefCount(namesObj);
	Tcl_DecrRefCount(offersObj);
	return;
    }
    Tcl_DecrRefCount(offersObj);
    protoPtr->refCount++;
    connPtr->protocolPtr = protoPtr;
    reply[0] = objv[0];
    reply[1] = protoPtr->nameObj;
    P2pSendWords(NULL, connPtr, 2, reply);
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
 * PickProtocol --
 *
 *	The installed protocol with the highest version among the offered
 *	names (the first offered wins a tie).
 *
 * Results:
 *	TCL_ERROR if the offer is not a list; else TCL_OK with
 *	*protoPtrPtr set (NULL when nothing matched).
 *
 *----------------------------------------------------------------------
 */

static int
PickProtocol(
    P2pHandler *hPtr,
    Tcl_Obj *offersObj,
    P2pProtocol **protoPtrPtr)
{
    Tcl_Obj **offers;
    int n, i;
    P2pProtocol *bestPtr = NULL;

    if (Tcl_ListObjGetElements(NULL, offersObj, &n, &offers) != TCL_OK) {
	return TCL_ERROR;
    }
    for (i = 0; i < n; i++) {
	P2pProtocol *protoPtr = P2pProtocolFind(hPtr,
		Tcl_GetString(offers[i]));

	if (protoPtr && (bestPtr == NULL
		|| protoPtr->version > bestPtr->version)) {
	    bestPtr = protoPtr;
	}
    }
    *protoPtrPtr = bestPtr;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * ReplyException, ReportError --
 *
 *	Queue "exception MESSAGE" to the peer; tell the script through
 *	-onerror (called with: handler cid message).
 *
 *----------------------------------------------------------------------
 */

static void
ReplyException(
    P2pConn *connPtr,
    Tcl_Obj *msgObj)
{
    Tcl_Obj *words[2];

    Tcl_IncrRefCount(msgObj);
    words[0] = Tcl_NewStringObj("exception", 9);
    words[1] = msgObj;
    Tcl_IncrRefCount(words[0]);
    P2pSendWords(NULL, connPtr, 2, words);
    Tcl_DecrRefCount(words[0]);
    Tcl_DecrRefCount(msgObj);
}

static void
ReportError(
    P2pConn *connPtr,
    Tcl_Obj *msgObj)
{
    P2pHandler *hPtr = connPtr->handlerPtr;

    Tcl_IncrRefCount(msgObj);
    if (hPtr->onError && !(hPtr->flags & HANDLER_DEAD)) {
	Tcl_Obj *args[3];

	args[0] = P2pHandlerName(hPtr);
	args[1] = Tcl_NewLongObj(connPtr->cid);
	args[2] = msgObj;
	P2pInvokeCallback(hPtr, hPtr->onError, 3, args);
    }
    Tcl_DecrRefCount(msgObj);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pSendWords, P2pSendMessage --
 *
 *	Queue a message on a connection. P2pSendMessage takes a Tcl list.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR (connection closed, message too large, not a
 *	list) with a message in interp if one was given.
 *
 *----------------------------------------------------------------------
 */

int
P2pSendWords(
    Tcl_Interp *interp,
    P2pConn *connPtr,
    int objc,
    Tcl_Obj *const objv[])
{
    size_t frameLen;

    if (connPtr->flags & CONN_CLOSING) {
	return P2pError(interp, "P2P CONN CLOSED", "connection %ld is closed",
		connPtr->cid);
    }
    if (P2pMessageEncode(interp, &connPtr->out, objc, objv,
	    connPtr->handlerPtr->maxFrame, &frameLen) != TCL_OK) {
	return TCL_ERROR;
    }
    P2pConnQueued(connPtr, frameLen);
    return TCL_OK;
}

int
P2pSendMessage(
    Tcl_Interp *interp,
    P2pConn *connPtr,
    Tcl_Obj *msgObj)
{
    int objc;
    Tcl_Obj **objv;

    if (Tcl_ListObjGetElements(interp, msgObj, &objc, &objv) != TCL_OK) {
	return TCL_ERROR;
    }
    return P2pSendWords(interp, connPtr, objc, objv);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pInvokeCallback --
 *
 *	Calls a callback prefix with arguments appended, at global level.
 *	Errors go to the interpreter's background error handler. The
 *	interpreter's result is left as it was.
 *
 *----------------------------------------------------------------------
 */

void
P2pInvokeCallback(
    P2pHandler *hPtr,
    Tcl_Obj *cmdObj,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Interp *interp = hPtr->interp;
    Tcl_Obj *callObj = Tcl_DuplicateObj(cmdObj);
    Tcl_InterpState state;
    int i, code;

    Tcl_IncrRefCount(callObj);
    for (i = 0; i < objc; i++) {
	Tcl_ListObjAppendElement(NULL, callObj, objv[i]);
    }
    Tcl_Preserve(interp);
    state = Tcl_SaveInterpState(interp, TCL_OK);
    code = Tcl_EvalObjEx(interp, callObj, TCL_EVAL_GLOBAL);
    if (code != TCL_OK && code != TCL_BREAK && code != TCL_CONTINUE) {
	Tcl_BackgroundException(interp, code);
    }
    Tcl_RestoreInterpState(interp, state);
    Tcl_Release(interp);
    Tcl_DecrRefCount(callObj);
}
