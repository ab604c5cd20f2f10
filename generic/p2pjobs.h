/*
 * p2pjobs.h --
 *
 *	Public declarations of the p2pjobs extension. The extension's
 *	interface is its Tcl commands; C callers need only the entry point.
 */

#ifndef _P2PJOBS_H
#define _P2PJOBS_H

#include <tcl.h>

#define P2PJOBS_VERSION "0.1"

#ifdef BUILD_p2pjobs
#undef TCL_STORAGE_CLASS
#define TCL_STORAGE_CLASS DLLEXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

EXTERN int P2pjobs_Init(Tcl_Interp *interp);

#ifdef __cplusplus
}
#endif

#undef TCL_STORAGE_CLASS
#define TCL_STORAGE_CLASS DLLIMPORT

#endif /* _P2PJOBS_H */
