/*
 * p2pOwner.c --
 *
 *	::p2p::net::Dispatch, the protocol commands of the nodes: a message
 *	goes to a method of the node object that owns the handler it came
 *	in on (library/netproto.tcl: `p2p::net::own`, the Owners dict, and
 *	the protocol bodies that `forward` their commands here). It runs
 *	once per message, so the common case is in C: no log of traffic.
 *	With the log's traffic channel on, ::p2p::net::DispatchLogged (the
 *	same in Tcl, with the logging) does it.
 */

#include "p2pjobsInt.h"

#define STACK_WORDS 16

static int	TrafficLogged(Tcl_Interp *interp);
static int	WrongArgs(Tcl_Interp *interp, Tcl_Obj *commandObj,
		    Tcl_Obj *methodObj);

/*
 * TrafficLogged --
 *
 *	Whether the event log writes traffic: $::p2p::log::Open and the
 *	traffic channel's state.
 */

static int
TrafficLogged(
    Tcl_Interp *interp)
{
    Tcl_Obj *openObj, *statesObj, *onObj, *keyObj;
    int open = 0, on = 0;

    openObj = Tcl_GetVar2Ex(interp, "::p2p::log::Open", NULL,
	    TCL_GLOBAL_ONLY);
    if (openObj == NULL || Tcl_GetBooleanFromObj(NULL, openObj, &open)
	    != TCL_OK || !open) {
	return 0;
    }
    statesObj = Tcl_GetVar2Ex(interp, "::p2p::log::States", NULL,
	    TCL_GLOBAL_ONLY);
    if (statesObj == NULL) {
	return 0;
    }
    keyObj = Tcl_NewStringObj("traffic", -1);
    Tcl_IncrRefCount(keyObj);
    if (Tcl_DictObjGet(NULL, statesObj, keyObj, &onObj) != TCL_OK
	    || onObj == NULL
	    || Tcl_GetBooleanFromObj(NULL, onObj, &on) != TCL_OK) {
	on = 0;
    }
    Tcl_DecrRefCount(keyObj);
    return on;
}

/*
 * WrongArgs --
 *
 *	After the method failed: when its error says its arguments were
 *	wrong, says the same in the protocol's terms (::p2p::net::Usage),
 *	with the error code {P2P NET WRONGARGS}. Otherwise leaves the error
 *	as it is.
 */

static int
WrongArgs(
    Tcl_Interp *interp,
    Tcl_Obj *commandObj,
    Tcl_Obj *methodObj)
{
    Tcl_Obj *msgObj = Tcl_GetObjResult(interp);
    Tcl_Obj *optsObj = Tcl_GetReturnOptions(interp, TCL_ERROR);
    Tcl_Obj *callv[5];
    int code, usage;

    Tcl_IncrRefCount(msgObj);
    Tcl_IncrRefCount(optsObj);
    callv[0] = Tcl_NewStringObj("::p2p::net::Usage", -1);
    callv[1] = commandObj;
    callv[2] = methodObj;
    callv[3] = msgObj;
    callv[4] = optsObj;
    Tcl_IncrRefCount(callv[0]);
    code = Tcl_EvalObjv(interp, 5, callv, TCL_EVAL_GLOBAL);
    Tcl_DecrRefCount(callv[0]);
    usage = (code == TCL_OK && Tcl_GetCharLength(Tcl_GetObjResult(interp)));
    if (usage) {
	Tcl_SetErrorCode(interp, "P2P", "NET", "WRONGARGS", NULL);
    } else {
	Tcl_SetReturnOptions(interp, optsObj);
	Tcl_SetObjResult(interp, msgObj);
    }
    Tcl_DecrRefCount(optsObj);
    Tcl_DecrRefCount(msgObj);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pNetDispatchObjCmd --
 *
 *	::p2p::net::Dispatch command method ?arg ...?, called by a protocol
 *	command: calls `method handler cid arg ...` of the node object that
 *	owns the calling handler (its `my`, the third element of the
 *	handler's entry in ::p2p::net::Owners) and returns what it returns.
 *
 * Results:
 *	The method's result; {P2P NET NOOWNER} when no node owns the
 *	handler; {P2P NET WRONGARGS} for a message with the wrong number of
 *	words.
 *
 *----------------------------------------------------------------------
 */

int
P2pNetDispatchObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    P2pCaller *callerPtr;
    Tcl_Obj *ownersObj, *handlerObj, *ownerObj, *myObj;
    Tcl_Obj *stackv[STACK_WORDS], **callv = stackv;
    int callc, code, i;

    (void) clientData;
    if (objc < 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "command method ?arg ...?");
	return TCL_ERROR;
    }
    callerPtr = P2pCallerCurrent(interp, "p2p::net::Dispatch");
    if (callerPtr == NULL) {
	return TCL_ERROR;
    }
    if (TrafficLogged(interp)) {
	callv = (Tcl_Obj **) ckalloc(objc * sizeof(Tcl_Obj *));
	callv[0] = Tcl_NewStringObj("::p2p::net::DispatchLogged", -1);
	Tcl_IncrRefCount(callv[0]);
	for (i = 1; i < objc; i++) {
	    callv[i] = objv[i];
	}
	code = Tcl_EvalObjv(interp, objc, callv, 0);
	Tcl_DecrRefCount(callv[0]);
	ckfree((char *) callv);
	return code;
    }
    handlerObj = P2pHandlerName(callerPtr->handlerPtr);
    Tcl_IncrRefCount(handlerObj);
    ownersObj = Tcl_GetVar2Ex(interp, "::p2p::net::Owners", NULL,
	    TCL_GLOBAL_ONLY);
    if (ownersObj == NULL
	    || Tcl_DictObjGet(NULL, ownersObj, handlerObj, &ownerObj) != TCL_OK
	    || ownerObj == NULL
	    || Tcl_ListObjIndex(NULL, ownerObj, 2, &myObj) != TCL_OK
	    || myObj == NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("no node owns handler"
		" \"%s\"", Tcl_GetString(handlerObj)));
	Tcl_SetErrorCode(interp, "P2P", "NET", "NOOWNER", NULL);
	Tcl_DecrRefCount(handlerObj);
	return TCL_ERROR;
    }

    /*
     * my method handler cid arg ...: my and handler are held for the
     * call (the method may change Owners).
     */

    callc = objc + 1;
    if (callc > STACK_WORDS) {
	callv = (Tcl_Obj **) ckalloc(callc * sizeof(Tcl_Obj *));
    }
    callv[0] = myObj;
    callv[1] = objv[2];
    callv[2] = handlerObj;
    callv[3] = Tcl_NewLongObj(callerPtr->cid);
    for (i = 3; i < objc; i++) {
	callv[i + 1] = objv[i];
    }
    Tcl_IncrRefCount(myObj);
    Tcl_IncrRefCount(callv[3]);
    code = Tcl_EvalObjv(interp, callc, callv, 0);
    Tcl_DecrRefCount(callv[3]);
    Tcl_DecrRefCount(myObj);
    if (callv != stackv) {
	ckfree((char *) callv);
    }
    Tcl_DecrRefCount(handlerObj);
    if (code == TCL_ERROR) {
	return WrongArgs(interp, objv[1], objv[2]);
    }
    return code;
}
