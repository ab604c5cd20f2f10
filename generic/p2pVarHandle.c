/*
 * p2pVarHandle.c --
 *
 *	A handle to a Tcl variable: the variable's Var struct, found once by
 *	its qualified name and kept (as upvar and `variable` keep theirs,
 *	by the reference count of its hash entry), so that a read or a
 *	write does not look the name up again. The lookup by name costs
 *	about 1k instructions (TclObjLookupVarEx: the name parsed, the
 *	namespaces searched); a read through the handle a few.
 *
 *	The Var struct is Tcl's own (tclInt.h, from the private headers;
 *	TclPtrGetVar and TclPtrSetVar are in the internal stubs of later
 *	8.6 releases: configure checks the headers, and a Tcl older than
 *	those headers gets no handles, only names). The handle reads and writes the value directly only when
 *	Tcl's bytecode would (TclIsVarDirectReadable, ...Writable: a scalar,
 *	no trace of that access); a traced variable goes through
 *	TclPtrGetVar and TclPtrSetVar, which run its traces; a variable that
 *	is a link (upvar), whose hash entry is gone (its namespace deleted),
 *	or that does not exist, is read and written by its name
 *	(Tcl_ObjGetVar2, Tcl_ObjSetVar2), as without a handle, and found
 *	again at the next access. An unset leaves the Var in its table
 *	(the handle holds it), undefined: `set` makes it again in the same
 *	struct, so the handle still holds the variable.
 *
 *	A P2pVarHandle is embedded by its owner (P2pVarHandleInit), used
 *	with the interpreter the variable lives in, and released with
 *	P2pVarHandleFree, which lets go of the Var (freed then if its
 *	namespace is gone and nothing else holds it).
 */

#include "tclInt.h"
#include "p2pjobsInt.h"

/*
 * Whether the Tcl loaded has TclPtrGetVar and TclPtrSetVar in its
 * internal stubs table: it does if it is at least the version of the
 * headers this file was compiled with (which declare them). Else every
 * access is by name. Set by P2pVarHandleSetup, per process (a Tcl is
 * loaded once).
 */

static int haveVarPtrStubs = -1;

static Var *	Held(Tcl_Interp *interp, P2pVarHandle *vhPtr);
static void	Release(P2pVarHandle *vhPtr);

/*
 *----------------------------------------------------------------------
 *
 * P2pVarHandleSetup --
 *
 *	Finds out once whether handles can be used with the Tcl loaded
 *	(P2pFarmMethodsInit calls it).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sets haveVarPtrStubs.
 *
 *----------------------------------------------------------------------
 */

void
P2pVarHandleSetup(
    Tcl_Interp *interp)
{
    if (haveVarPtrStubs < 0) {
	haveVarPtrStubs = Tcl_PkgPresent(interp, "Tcl", TCL_PATCH_LEVEL,
		0) != NULL;
	Tcl_ResetResult(interp);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pVarHandleInit, P2pVarHandleFree --
 *
 *	Readies a handle for the variable of qualified name nameObj (found
 *	at the first access), and releases it.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Init holds a reference to nameObj; Free lets go of it and of the
 *	Var (Release).
 *
 *----------------------------------------------------------------------
 */

void
P2pVarHandleInit(
    P2pVarHandle *vhPtr,
    Tcl_Obj *nameObj)
{
    vhPtr->nameObj = nameObj;
    Tcl_IncrRefCount(nameObj);
    vhPtr->var = NULL;
}

void
P2pVarHandleFree(
    P2pVarHandle *vhPtr)
{
    Release(vhPtr);
    if (vhPtr->nameObj != NULL) {
	Tcl_DecrRefCount(vhPtr->nameObj);
	vhPtr->nameObj = NULL;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Release --
 *
 *	Lets go of the handle's Var, if it holds one.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	The Var is freed (or its entry deleted) if it is undefined and
 *	nothing else holds it (TclCleanupVar, as the end of an upvar does).
 *
 *----------------------------------------------------------------------
 */

static void
Release(
    P2pVarHandle *vhPtr)
{
    Var *varPtr = (Var *) vhPtr->var;

    if (varPtr != NULL) {
	vhPtr->var = NULL;
	VarHashRefCount(varPtr)--;
	if (TclIsVarUndefined(varPtr)) {
	    TclCleanupVar(varPtr, NULL);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Held --
 *
 *	The Var of the handle, found by name if it has none (or its hash
 *	entry is gone: the Var is let go first).
 *
 * Results:
 *	The Var, or NULL: none, or not one a handle may use (a link, an
 *	array element, no Tcl with the internal stubs needed).
 *
 * Side effects:
 *	May hold a Var, or let one go.
 *
 *----------------------------------------------------------------------
 */

static Var *
Held(
    Tcl_Interp *interp,
    P2pVarHandle *vhPtr)
{
    Var *varPtr = (Var *) vhPtr->var;

    if (varPtr != NULL && !TclIsVarDeadHash(varPtr)) {
	return TclIsVarLink(varPtr) ? NULL : varPtr;
    }
    Release(vhPtr);
    if (haveVarPtrStubs <= 0) {
	return NULL;
    }
    varPtr = (Var *) Tcl_FindNamespaceVar(interp,
	    Tcl_GetString(vhPtr->nameObj), NULL, TCL_GLOBAL_ONLY);
    if (varPtr == NULL || !TclIsVarInHash(varPtr)
	    || TclIsVarArrayElement(varPtr) || TclIsVarDeadHash(varPtr)) {
	return NULL;
    }
    VarHashRefCount(varPtr)++;
    vhPtr->var = (Tcl_Var) varPtr;
    return TclIsVarLink(varPtr) ? NULL : varPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pVarHandleGet, P2pVarHandleSet --
 *
 *	Read and set the handle's variable, as Tcl_ObjGetVar2 and
 *	Tcl_ObjSetVar2 with its name and TCL_GLOBAL_ONLY do (flags: 0 or
 *	TCL_LEAVE_ERR_MSG).
 *
 * Results:
 *	The value (no reference for the caller), or NULL (an error message
 *	in interp with TCL_LEAVE_ERR_MSG). Set: valueObj, freed on error
 *	if it had no reference, as Tcl_ObjSetVar2 does.
 *
 * Side effects:
 *	Set sets the variable (its write traces run, if it has any). Either
 *	may hold the Var.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
P2pVarHandleGet(
    Tcl_Interp *interp,
    P2pVarHandle *vhPtr,
    int flags)
{
    Var *varPtr = Held(interp, vhPtr);

    if (varPtr == NULL) {
	return Tcl_ObjGetVar2(interp, vhPtr->nameObj, NULL,
		TCL_GLOBAL_ONLY|flags);
    }
    if (TclIsVarDirectReadable(varPtr)) {
	return varPtr->value.objPtr;
    }
    return TclPtrGetVar(interp, (Tcl_Var) varPtr, NULL, vhPtr->nameObj,
	    NULL, TCL_GLOBAL_ONLY|flags);
}

Tcl_Obj *
P2pVarHandleSet(
    Tcl_Interp *interp,
    P2pVarHandle *vhPtr,
    Tcl_Obj *valueObj,
    int flags)
{
    Var *varPtr = Held(interp, vhPtr);
    Tcl_Obj *oldObj;

    if (varPtr == NULL) {
	return Tcl_ObjSetVar2(interp, vhPtr->nameObj, NULL, valueObj,
		TCL_GLOBAL_ONLY|flags);
    }
    if (TclIsVarDirectWritable(varPtr)) {
	oldObj = varPtr->value.objPtr;
	if (oldObj != valueObj) {
	    varPtr->value.objPtr = valueObj;
	    Tcl_IncrRefCount(valueObj);
	    if (oldObj != NULL) {
		Tcl_DecrRefCount(oldObj);
	    }
	}
	return valueObj;
    }
    return TclPtrSetVar(interp, (Tcl_Var) varPtr, NULL, vhPtr->nameObj,
	    NULL, valueObj, TCL_GLOBAL_ONLY|flags);
}
