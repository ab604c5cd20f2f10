/*
 * p2pError.c --
 *
 *	Error messages and error codes in Tcl's voice, and the one mapping
 *	from libuv status codes to them.
 */

#include "p2pjobsInt.h"
#include <stdarg.h>
#include <stdio.h>

/*
 *----------------------------------------------------------------------
 *
 * P2pUvErrorCode --
 *
 *	The error code list for a libuv status: {P2P UV ENAME {message}}.
 *
 * Results:
 *	A new Tcl_Obj with refcount 0.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
P2pUvErrorCode(
    int status)
{
    Tcl_Obj *codeObj = Tcl_NewListObj(0, NULL);

    Tcl_ListObjAppendElement(NULL, codeObj, Tcl_NewStringObj("P2P", -1));
    Tcl_ListObjAppendElement(NULL, codeObj, Tcl_NewStringObj("UV", -1));
    Tcl_ListObjAppendElement(NULL, codeObj,
	    Tcl_NewStringObj(uv_err_name(status), -1));
    Tcl_ListObjAppendElement(NULL, codeObj,
	    Tcl_NewStringObj(uv_strerror(status), -1));
    return codeObj;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pUvError --
 *
 *	Leaves "WHAT: libuv message" in the interpreter with the error code
 *	of P2pUvErrorCode.
 *
 * Results:
 *	TCL_ERROR.
 *
 *----------------------------------------------------------------------
 */

int
P2pUvError(
    Tcl_Interp *interp,
    int status,
    const char *what)
{
    if (interp != NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("%s: %s", what,
		uv_strerror(status)));
	Tcl_SetObjErrorCode(interp, P2pUvErrorCode(status));
    }
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pAppendChoices --
 *
 *	Appends the words of a list as Tcl's messages name choices:
 *	"a", "a or b", "a, b, or c".
 *
 *----------------------------------------------------------------------
 */

void
P2pAppendChoices(
    Tcl_Obj *msgObj,
    Tcl_Obj *listObj)
{
    Tcl_Obj **words;
    int n, k;

    Tcl_ListObjGetElements(NULL, listObj, &n, &words);
    for (k = 0; k < n; k++) {
	if (k > 0) {
	    Tcl_AppendToObj(msgObj, (n > 2) ? ", " : " ", -1);
	}
	if (k == n - 1 && n > 1) {
	    Tcl_AppendToObj(msgObj, "or ", -1);
	}
	Tcl_AppendObjToObj(msgObj, words[k]);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * P2pError --
 *
 *	Leaves a formatted message and an error code (given as a
 *	space-separated string of words, e.g. "P2P CONN CLOSED").
 *
 * Results:
 *	TCL_ERROR.
 *
 *----------------------------------------------------------------------
 */

int
P2pError(
    Tcl_Interp *interp,
    const char *codes,
    const char *fmt,
    ...)
{
    char buf[1024];
    va_list ap;

    if (interp == NULL) {
	return TCL_ERROR;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(buf, -1));
    Tcl_SetObjErrorCode(interp, Tcl_NewStringObj(codes, -1));
    return TCL_ERROR;
}
