/*
 * p2pPlainList.c --
 *
 *	A list read from a string in one pass, for the plain strings that a
 *	job's spec and its vars are on the wire (words and braced words
 *	without a backslash): Tcl's own reading of a list's string (a pass
 *	to count, a pass per element, each element scanned again) costs
 *	some five times as much for them. Anything else is left to Tcl, so
 *	a list read here has the elements Tcl would find.
 *
 *	    ::p2p::Internal::plainList value
 *
 *	is the same for Tcl (the worker's runs reads its jobs so).
 */

#include "p2pjobsInt.h"

/*
 * The characters that separate the elements of a list (Tcl's
 * TclIsSpaceProc), and those that end the plain reading of a word that is
 * not braced (a backslash, a brace, a quote: Tcl reads them with rules of
 * their own; NUL, which a Tcl string does not hold).
 */

#define C_SPACE	1
#define C_STOP	2

static const unsigned char charClass[256] = {
    ['\t'] = C_SPACE, ['\n'] = C_SPACE, ['\v'] = C_SPACE, ['\f'] = C_SPACE,
    ['\r'] = C_SPACE, [' '] = C_SPACE,
    ['\0'] = C_STOP, ['\\'] = C_STOP, ['{'] = C_STOP, ['}'] = C_STOP,
    ['"'] = C_STOP
};

#define MAX_LOCAL 16

/*
 * Inside braces only a brace, a backslash or NUL stops the reading: eight
 * characters at a time are looked at for one of them (a byte of x equal
 * to b: the classic test for a zero byte, on x ^ b in every byte), and
 * passed over together when none is there.
 */

#define BYTES(b)	((uint64_t) (b) * 0x0101010101010101ULL)
#define HAS_BYTE(x, b)	((((x) ^ BYTES(b)) - BYTES(1)) \
			    & ~((x) ^ BYTES(b)) & BYTES(0x80))

static inline int
BraceStop8(
    const char *p)
{
    uint64_t x;

    memcpy(&x, p, sizeof(x));
    return (HAS_BYTE(x, '{') | HAS_BYTE(x, '}') | HAS_BYTE(x, '\\')
	    | HAS_BYTE(x, 0)) != 0;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pPlainWord, P2pPlainList --
 *
 *	P2pPlainWord: the next word of a list's string from *pPtr (up to
 *	end), if it is plain: a word without a backslash, brace or quote,
 *	or a braced word without a backslash followed by a space or the
 *	end. P2pPlainList: the list of the string of objPtr when every
 *	element is so. P2pPlainListLike: the same, for a string that is
 *	mostly the one likeObj (a list, or NULL) was read from (the next
 *	spec of a worker, whose words are mostly the last one's): an
 *	element with the characters of likeObj's element at its index is
 *	that element itself, shared, not a new one; and when all of them
 *	are, the list is likeObj itself.
 *
 * Results:
 *	P2pPlainWord: 1 with the word's characters (*startPtr, *lengthPtr)
 *	and *pPtr past it; 0 at the end; -1 if the next word is not plain.
 *	P2pPlainList, P2pPlainListLike: a list (no reference for the
 *	caller, no string: its elements are those Tcl would read; new, or
 *	likeObj), or NULL: objPtr's string is not that plain (the caller
 *	reads it as Tcl does, with its errors).
 *
 *----------------------------------------------------------------------
 */

int
P2pPlainWord(
    const char **pPtr,
    const char *end,
    const char **startPtr,
    int *lengthPtr)
{
    const char *p = *pPtr, *start;
    int depth;

    while (p < end && charClass[(unsigned char) *p] == C_SPACE) {
	p++;
    }
    if (p == end) {
	*pPtr = end;
	return 0;
    }
    if (*p == '{') {
	start = ++p;
	for (depth = 1; p < end; p++) {
	    if (end - p >= 8 && !BraceStop8(p)) {
		p += 7;
		continue;
	    }
	    if (*p == '{') {
		depth++;
	    } else if (*p == '}') {
		if (--depth == 0) {
		    break;
		}
	    } else if (*p == '\\' || *p == '\0') {
		return -1;
	    }
	}
	if (p == end || (p + 1 < end
		&& charClass[(unsigned char) p[1]] != C_SPACE)) {
	    return -1;
	}
	*startPtr = start;
	*lengthPtr = (int) (p - start);
	*pPtr = p + 1;
	return 1;
    }
    for (start = p; p < end && charClass[(unsigned char) *p] == 0; p++) {
	/* (A word's character.) */
    }
    if (p < end && charClass[(unsigned char) *p] == C_STOP) {
	return -1;
    }
    *startPtr = start;
    *lengthPtr = (int) (p - start);
    *pPtr = p;
    return 1;
}

Tcl_Obj *
P2pPlainList(
    Tcl_Obj *objPtr)
{
    return P2pPlainListLike(objPtr, NULL);
}

Tcl_Obj *
P2pPlainListLike(
    Tcl_Obj *objPtr,
    Tcl_Obj *likeObj)
{
    int len, n = 0, max = MAX_LOCAL, found, i, numLike = 0, same = 1;
    int likeLen;
    const char *p = Tcl_GetStringFromObj(objPtr, &len);
    const char *end = p + len, *start, *s;
    Tcl_Obj *local[MAX_LOCAL], **elems = local, *listObj = NULL;
    Tcl_Obj **likes = NULL;

    if (likeObj != NULL && Tcl_ListObjGetElements(NULL, likeObj, &numLike,
	    &likes) != TCL_OK) {
	numLike = 0;
    }
    while ((found = P2pPlainWord(&p, end, &start, &len)) == 1) {
	if (n == max) {
	    Tcl_Obj **more = ckalloc(2 * max * sizeof(Tcl_Obj *));

	    memcpy(more, elems, n * sizeof(Tcl_Obj *));
	    if (elems != local) {
		ckfree(elems);
	    }
	    elems = more;
	    max *= 2;
	}
	if (n < numLike && (s = Tcl_GetStringFromObj(likes[n], &likeLen),
		likeLen == len) && memcmp(s, start, len) == 0) {
	    elems[n] = likes[n];
	} else {
	    elems[n] = Tcl_NewStringObj(start, len);
	    same = 0;
	}
	Tcl_IncrRefCount(elems[n]);
	n++;
    }
    if (found == 0) {
	listObj = same && n == numLike && likeObj != NULL ? likeObj
		: Tcl_NewListObj(n, elems);
    }
    for (i = 0; i < n; i++) {
	Tcl_DecrRefCount(elems[i]);
    }
    if (elems != local) {
	ckfree(elems);
    }
    return listObj;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pPlainListObjCmd --
 *
 *	::p2p::Internal::plainList value: value read as a list by
 *	P2pPlainList when it is a plain string (the worker's runs reads the
 *	jobs of its message so), else value itself, for Tcl to read.
 *
 * Results:
 *	A standard Tcl result.
 *
 *----------------------------------------------------------------------
 */

int
P2pPlainListObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Obj *listObj = NULL;

    (void) clientData;
    if (objc != 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "value");
	return TCL_ERROR;
    }
    if (objv[1]->typePtr == NULL) {
	listObj = P2pPlainList(objv[1]);
    }
    Tcl_SetObjResult(interp, listObj ? listObj : objv[1]);
    return TCL_OK;
}
