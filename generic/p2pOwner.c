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

/*
 * The values of ::p2p::net::Owners and ::p2p::log::Open, kept between
 * messages: reading them by their qualified names cost some 2,000
 * instructions each per message. A trace on each variable forgets the
 * value whenever the variable is written or unset, so that the next
 * message reads it again. No reference is held (holding one would make
 * every `dict set Owners` copy the dict): a value is only used while
 * its variable still holds it, which the trace makes sure of.
 */

typedef struct CachedVar {
    const char *name;		/* Qualified name. */
    Tcl_Obj *valueObj;		/* The value, or NULL: read it again. */
    int traced;			/* The trace is set. */
} CachedVar;

typedef struct DispatchVars {
    Tcl_Interp *interp;		/* Where the command and traces are. */
    CachedVar owners;
    CachedVar open;
} DispatchVars;

static Tcl_Obj *CachedValue(Tcl_Interp *interp, CachedVar *cvPtr);
static char *	CachedVarTraceProc(ClientData clientData, Tcl_Interp *interp,
		    const char *name1, const char *name2, int flags);
static void	DispatchDeleteProc(ClientData clientData);
static int	TrafficLogged(Tcl_Interp *interp, DispatchVars *dvPtr);
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
    Tcl_Interp *interp,
    DispatchVars *dvPtr)
{
    Tcl_Obj *openObj, *statesObj, *onObj, *keyObj;
    int open = 0, on = 0;

    openObj = CachedValue(interp, &dvPtr->open);
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
 * CachedValue --
 *
 *	The value of the global variable cvPtr->name (NULL if it has none),
 *	read once and kept until the variable is written or unset.
 */

static Tcl_Obj *
CachedValue(
    Tcl_Interp *interp,
    CachedVar *cvPtr)
{
    if (cvPtr->valueObj != NULL) {
	return cvPtr->valueObj;
    }
    if (!cvPtr->traced) {
	if (Tcl_TraceVar2(interp, cvPtr->name, NULL,
		TCL_GLOBAL_ONLY|TCL_TRACE_WRITES|TCL_TRACE_UNSETS,
		CachedVarTraceProc, cvPtr) != TCL_OK) {
	    /* No such namespace yet: read it each time. */
	    Tcl_ResetResult(interp);
	    return Tcl_GetVar2Ex(interp, cvPtr->name, NULL, TCL_GLOBAL_ONLY);
	}
	cvPtr->traced = 1;
    }
    cvPtr->valueObj = Tcl_GetVar2Ex(interp, cvPtr->name, NULL,
	    TCL_GLOBAL_ONLY);
    return cvPtr->valueObj;
}

static char *
CachedVarTraceProc(
    ClientData clientData,
    Tcl_Interp *interp,
    const char *name1,
    const char *name2,
    int flags)
{
    CachedVar *cvPtr = (CachedVar *) clientData;

    (void) interp;
    (void) name1;
    (void) name2;
    cvPtr->valueObj = NULL;
    if (flags & TCL_TRACE_DESTROYED) {
	cvPtr->traced = 0;
    }
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pOwnerInit --
 *
 *	Makes ::p2p::net::Dispatch in interp.
 *
 *----------------------------------------------------------------------
 */

void
P2pOwnerInit(
    Tcl_Interp *interp)
{
    DispatchVars *dvPtr = (DispatchVars *) ckalloc(sizeof(DispatchVars));

    dvPtr->interp = interp;
    dvPtr->owners.name = "::p2p::net::Owners";
    dvPtr->owners.valueObj = NULL;
    dvPtr->owners.traced = 0;
    dvPtr->open.name = "::p2p::log::Open";
    dvPtr->open.valueObj = NULL;
    dvPtr->open.traced = 0;
    Tcl_CreateObjCommand(interp, "::p2p::net::Dispatch", P2pNetDispatchObjCmd,
	    dvPtr, DispatchDeleteProc);
}

/*
 * DispatchDeleteProc --
 *
 *	The command is gone: its traces go too (unless their variables went
 *	first), then its record.
 */

static void
DispatchDeleteProc(
    ClientData clientData)
{
    DispatchVars *dvPtr = (DispatchVars *) clientData;
    CachedVar *vars[2];
    int i;

    vars[0] = &dvPtr->owners;
    vars[1] = &dvPtr->open;
    for (i = 0; i < 2; i++) {
	if (vars[i]->traced) {
	    Tcl_UntraceVar2(dvPtr->interp, vars[i]->name, NULL,
		    TCL_GLOBAL_ONLY|TCL_TRACE_WRITES|TCL_TRACE_UNSETS,
		    CachedVarTraceProc, vars[i]);
	}
    }
    ckfree((char *) dvPtr);
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
    DispatchVars *dvPtr = (DispatchVars *) clientData;
    P2pCaller *callerPtr;
    Tcl_Obj *ownersObj, *handlerObj, *ownerObj, *myObj;
    Tcl_Obj *stackv[STACK_WORDS], **callv = stackv;
    int callc, code, i;

    if (objc < 3) {
	Tcl_WrongNumArgs(interp, 1, objv, "command method ?arg ...?");
	return TCL_ERROR;
    }
    callerPtr = P2pCallerCurrent(interp, "p2p::net::Dispatch");
    if (callerPtr == NULL) {
	return TCL_ERROR;
    }
    if (TrafficLogged(interp, dvPtr)) {
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
    ownersObj = CachedValue(interp, &dvPtr->owners);
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
