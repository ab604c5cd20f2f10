/*
 * p2pMethods.c --
 *
 *	Methods in C for classes made in Tcl: the library defines a class
 *	in its script, then a command made here adds the methods of a
 *	table to it (library/farm.tcl, sandbox.tcl and execution.tcl).
 *	Their metadata is the object's own: a copy (oo::copy) starts
 *	without it (P2pMetaCloneNone).
 */

#include "p2pjobsInt.h"

/*
 *----------------------------------------------------------------------
 *
 * P2pClassMethodsObjCmd --
 *
 *	NAME class: adds to class every method of the table clientData
 *	(a Tcl_MethodType array ended by one with a NULL name). A method
 *	whose name starts with a lower-case letter is exported, others
 *	are not (TclOO's own rule for methods made by script).
 *
 * Results:
 *	TCL_OK, or TCL_ERROR (P2P USAGE BADVALUE) if class is no class.
 *
 * Side effects:
 *	Defines (or replaces) those methods of class.
 *
 *----------------------------------------------------------------------
 */

int
P2pClassMethodsObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    const Tcl_MethodType *typePtr = clientData;
    Tcl_Object object;
    Tcl_Class cls;

    if (objc != 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "class");
	return TCL_ERROR;
    }
    object = Tcl_GetObjectFromObj(interp, objv[1]);
    if (object == NULL) {
	return TCL_ERROR;
    }
    cls = Tcl_GetObjectAsClass(object);
    if (cls == NULL) {
	return P2pError(interp, "P2P USAGE BADVALUE", "\"%s\" is not a class",
		Tcl_GetString(objv[1]));
    }
    for (; typePtr->name != NULL; typePtr++) {
	Tcl_NewMethod(interp, cls, Tcl_NewStringObj(typePtr->name, -1),
		typePtr->name[0] >= 'a' && typePtr->name[0] <= 'z', typePtr,
		NULL);
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pMetaCloneNone --
 *
 *	The cloneProc of the metadata of the classes above: the copy of an
 *	object gets none, and makes its own at its first use. (A NULL
 *	cloneProc would give the copy the same pointer, freed twice.)
 *
 * Results:
 *	TCL_OK, *newDataPtr NULL.
 *
 *----------------------------------------------------------------------
 */

int
P2pMetaCloneNone(
    Tcl_Interp *interp,
    ClientData oldData,
    ClientData *newDataPtr)
{
    (void) interp;
    (void) oldData;
    *newDataPtr = NULL;
    return TCL_OK;
}
