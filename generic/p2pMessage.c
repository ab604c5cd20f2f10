/*
 * p2pMessage.c --
 *
 *	Messages (Tcl lists) to frames and back. A text element travels as
 *	standard UTF-8; a pure byte array travels as a binary element and
 *	arrives as a byte array. Tcl 8.6 keeps strings in its own modified
 *	UTF-8 (NUL as C0 80, characters beyond the BMP as surrogate pairs),
 *	so the rare strings that hold those are converted; all others are
 *	copied as they are.
 */

#include "p2pjobsInt.h"

static const Tcl_ObjType *byteArrayTypePtr;
static const Tcl_ObjType *listTypePtr;
static const Tcl_ObjType *dictTypePtr;

/*
 * What a character asks of a list element that holds it (ListString):
 * nothing, braces, or more (Tcl's string for the list is asked for).
 */

enum { CH_PLAIN, CH_BRACE, CH_OTHER };
static unsigned char charClass[256];
static Tcl_Encoding utf8Encoding;

/*
 *----------------------------------------------------------------------
 *
 * P2pMessageInit --
 *
 *	Looks up what encoding needs once per process.
 *
 *----------------------------------------------------------------------
 */

void
P2pMessageInit(void)
{
    if (byteArrayTypePtr == NULL) {
	byteArrayTypePtr = Tcl_GetObjType("bytearray");
	listTypePtr = Tcl_GetObjType("list");
	dictTypePtr = Tcl_GetObjType("dict");
    }
    if (charClass[0] == 0) {
	const char *p;

	for (p = " \t\n\v\f\r[$;"; *p; p++) {
	    charClass[(unsigned char) *p] = CH_BRACE;
	}
	for (p = "{}\\]\""; *p; p++) {
	    charClass[(unsigned char) *p] = CH_OTHER;
	}
	charClass[0] = CH_OTHER;
    }
    if (utf8Encoding == NULL) {
	utf8Encoding = Tcl_GetEncoding(NULL, "utf-8");
    }
}

/*
 *----------------------------------------------------------------------
 *
 * NeedsConversion --
 *
 *	Whether a string in Tcl's internal form differs from standard UTF-8:
 *	it holds C0 80 (NUL) or an encoded surrogate (ED A0..BF).
 *
 *----------------------------------------------------------------------
 */

static int
NeedsConversion(
    const unsigned char *p,
    size_t n)
{
    const unsigned char *end = p + n;

    if (memchr(p, 0xC0, n) != NULL) {
	return 1;
    }
    while ((p = memchr(p, 0xED, (size_t) (end - p))) != NULL) {
	if (p + 1 < end && p[1] >= 0xA0) {
	    return 1;
	}
	p++;
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * NewInternalString --
 *
 *	A string object from standard UTF-8 that holds NUL bytes or
 *	characters beyond the BMP. Tcl's decoder handles the latter but
 *	copies a 0x00 byte as is, while Tcl's internal form needs C0 80
 *	for it; that part is done here.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
NewInternalString(
    const unsigned char *data,
    size_t size,
    int wide)
{
    Tcl_DString ds, out;
    const unsigned char *p, *end;
    Tcl_Obj *objPtr;

    Tcl_DStringInit(&ds);
    if (wide) {
	Tcl_ExternalToUtfDString(utf8Encoding, (const char *) data,
		(int) size, &ds);
	data = (const unsigned char *) Tcl_DStringValue(&ds);
	size = (size_t) Tcl_DStringLength(&ds);
    }
    Tcl_DStringInit(&out);
    for (p = data, end = data + size; p < end; p++) {
	if (*p == 0) {
	    Tcl_DStringAppend(&out, "\xC0\x80", 2);
	} else {
	    const unsigned char *q = p;

	    while (q < end && *q != 0) {
		q++;
	    }
	    Tcl_DStringAppend(&out, (const char *) p, (int) (q - p));
	    p = q - 1;
	}
    }
    objPtr = Tcl_NewStringObj(Tcl_DStringValue(&out),
	    Tcl_DStringLength(&out));
    Tcl_DStringFree(&out);
    Tcl_DStringFree(&ds);
    return objPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * ListString --
 *
 *	Appends to a buffer the string Tcl would make for a list or dict
 *	that has none (a spec made by [dict create] or [list]), without
 *	making it: no string kept in the value, no scan of each element
 *	character by character twice. Only the plain cases: every element
 *	is either written as it is (none of Tcl's special characters) or
 *	between braces (only spaces, tabs, newlines, [ $ ;); an element
 *	with a brace, backslash, ] or ", or that begins with #, and a
 *	nested list or dict deeper than LIST_DEPTH, give up. An element
 *	that is a list or dict without a string is written the same way,
 *	then braced when it needs it.
 *
 * Results:
 *	1 with the string appended, or 0 with the buffer's length where it
 *	was: the caller asks Tcl for the string.
 *
 *----------------------------------------------------------------------
 */

#define LIST_DEPTH	4

static int
ClassOf(
    const unsigned char *p,
    size_t len)
{
    const unsigned char *end = p + len;
    int cls = CH_PLAIN;

    if (len > 0 && *p == '#') {
	return CH_OTHER;
    }
    for (; p + 4 <= end; p += 4) {
	cls |= charClass[p[0]] | charClass[p[1]] | charClass[p[2]]
		| charClass[p[3]];
    }
    for (; p < end; p++) {
	cls |= charClass[*p];
    }
    return cls >= CH_OTHER ? CH_OTHER : cls;
}

static int
IsPureList(
    Tcl_Obj *objPtr)
{
    return objPtr->bytes == NULL && (objPtr->typePtr == listTypePtr
	    || objPtr->typePtr == dictTypePtr);
}

static int ListString(P2pBuf *bufPtr, Tcl_Obj *objPtr, int depth);

static int
ListElement(
    P2pBuf *bufPtr,
    Tcl_Obj *objPtr,
    int first,
    int depth)
{
    const unsigned char *data;
    unsigned char *q;
    size_t at, len;
    int n, cls;

    if (IsPureList(objPtr)) {
	P2pBufReserve(bufPtr, 2);
	if (!first) {
	    bufPtr->bytes[bufPtr->len++] = ' ';
	}
	at = bufPtr->len;
	bufPtr->bytes[bufPtr->len++] = '{';
	if (depth >= LIST_DEPTH || !ListString(bufPtr, objPtr, depth + 1)) {
	    return 0;
	}
	len = bufPtr->len - at - 1;
	cls = ClassOf(bufPtr->bytes + at + 1, len);
	if (cls == CH_OTHER) {
	    return 0;
	}
	if (cls == CH_PLAIN && len > 0) {
	    memmove(bufPtr->bytes + at, bufPtr->bytes + at + 1, len);
	    bufPtr->len--;
	} else {
	    P2pBufReserve(bufPtr, 1);
	    bufPtr->bytes[bufPtr->len++] = '}';
	}
	return 1;
    }
    data = (const unsigned char *) Tcl_GetStringFromObj(objPtr, &n);
    len = (size_t) n;
    cls = ClassOf(data, len);
    if (cls == CH_OTHER) {
	return 0;
    }
    P2pBufReserve(bufPtr, len + 3);
    q = bufPtr->bytes + bufPtr->len;
    if (!first) {
	*q++ = ' ';
    }
    if (cls == CH_PLAIN && len > 0) {
	memcpy(q, data, len);
	q += len;
    } else {
	*q++ = '{';
	memcpy(q, data, len);
	q += len;
	*q++ = '}';
    }
    bufPtr->len = (size_t) (q - bufPtr->bytes);
    return 1;
}

static int
ListString(
    P2pBuf *bufPtr,
    Tcl_Obj *objPtr,
    int depth)
{
    Tcl_Obj **elems, *keyObj, *valueObj;
    Tcl_DictSearch search;
    int n, i, done, ok = 1;

    if (objPtr->typePtr == listTypePtr) {
	if (Tcl_ListObjGetElements(NULL, objPtr, &n, &elems) != TCL_OK) {
	    return 0;
	}
	for (i = 0; i < n && ok; i++) {
	    ok = ListElement(bufPtr, elems[i], i == 0, depth);
	}
	return ok;
    }
    if (Tcl_DictObjFirst(NULL, objPtr, &search, &keyObj, &valueObj, &done)
	    != TCL_OK) {
	return 0;
    }
    for (i = 0; !done && ok; i++) {
	ok = ListElement(bufPtr, keyObj, i == 0, depth)
		&& ListElement(bufPtr, valueObj, 0, depth);
	Tcl_DictObjNext(&search, &keyObj, &valueObj, &done);
    }
    Tcl_DictObjDone(&search);
    return ok;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pMessageEncode --
 *
 *	Appends one frame carrying the words objv to a buffer.
 *
 * Results:
 *	TCL_OK with *frameLenPtr set, or TCL_ERROR (message larger than
 *	maxFrame) with the buffer unchanged and an error in interp (if
 *	given).
 *
 *----------------------------------------------------------------------
 */

int
P2pMessageEncode(
    Tcl_Interp *interp,
    P2pBuf *bufPtr,
    int objc,
    Tcl_Obj *const objv[],
    Tcl_WideInt maxFrame,
    size_t *frameLenPtr)
{
    size_t start = bufPtr->len;
    size_t bodyLen;
    int i;

    P2pBufReserve(bufPtr, P2P_FRAME_HEADER);
    bufPtr->len += P2P_FRAME_HEADER;
    for (i = 0; i < objc; i++) {
	Tcl_Obj *objPtr = objv[i];
	const unsigned char *data;
	int len, tag = P2P_TAG_TEXT;
	Tcl_DString ds;
	unsigned char *hdr;

	if (IsPureList(objPtr)) {
	    size_t at = bufPtr->len;

	    P2pBufReserve(bufPtr, P2P_ELEMENT_HEADER);
	    bufPtr->len += P2P_ELEMENT_HEADER;
	    if (ListString(bufPtr, objPtr, 0) && !NeedsConversion(
		    bufPtr->bytes + at + P2P_ELEMENT_HEADER,
		    bufPtr->len - at - P2P_ELEMENT_HEADER)) {
		bufPtr->bytes[at] = (unsigned char) P2P_TAG_TEXT;
		P2pPutU32(bufPtr->bytes + at + 1, (uint32_t)
			(bufPtr->len - at - P2P_ELEMENT_HEADER));
		continue;
	    }
	    bufPtr->len = at;
	}
	Tcl_DStringInit(&ds);
	if (objPtr->typePtr == byteArrayTypePtr && objPtr->bytes == NULL) {
	    data = Tcl_GetByteArrayFromObj(objPtr, &len);
	    tag = P2P_TAG_BINARY;
	} else {
	    data = (const unsigned char *) Tcl_GetStringFromObj(objPtr, &len);
	    if (NeedsConversion(data, (size_t) len)) {
		Tcl_UtfToExternalDString(utf8Encoding, (const char *) data,
			len, &ds);
		data = (const unsigned char *) Tcl_DStringValue(&ds);
		len = Tcl_DStringLength(&ds);
	    }
	}
	P2pBufReserve(bufPtr, P2P_ELEMENT_HEADER + (size_t) len);
	hdr = bufPtr->bytes + bufPtr->len;
	hdr[0] = (unsigned char) tag;
	P2pPutU32(hdr + 1, (uint32_t) len);
	memcpy(hdr + P2P_ELEMENT_HEADER, data, (size_t) len);
	bufPtr->len += P2P_ELEMENT_HEADER + (size_t) len;
	Tcl_DStringFree(&ds);
    }
    bodyLen = bufPtr->len - start - P2P_FRAME_HEADER;
    if ((Tcl_WideInt) bodyLen > maxFrame) {
	bufPtr->len = start;
	return P2pError(interp, "P2P FRAME TOOBIG",
		"message of %lu bytes exceeds -maxframe %lld",
		(unsigned long) bodyLen, (long long) maxFrame);
    }
    P2pPutU32(bufPtr->bytes + start, (uint32_t) bodyLen);
    *frameLenPtr = P2P_FRAME_HEADER + bodyLen;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pMessageDecode --
 *
 *	Turns a frame body into words. Uses stackv when the message has at
 *	most stackc words, else allocates an array the caller frees.
 *
 * Results:
 *	TCL_OK with *objvPtr and *objcPtr set (each word holds a reference), or
 *	TCL_ERROR with *errPtr naming what was wrong.
 *
 *----------------------------------------------------------------------
 */

int
P2pMessageDecode(
    const unsigned char *body,
    size_t len,
    Tcl_Obj ***objvPtr,
    int *objcPtr,
    Tcl_Obj **stackv,
    int stackc,
    const char **errPtr)
{
    P2pFrameCursor cursor;
    P2pElement el;
    Tcl_Obj **objv = stackv;
    int objc = 0, room = stackc, code;

    P2pFrameCursorInit(&cursor, body, len);
    while ((code = P2pFrameNextElement(&cursor, &el)) == P2P_FRAME_OK) {
	Tcl_Obj *objPtr;

	if (objc == room) {
	    Tcl_Obj **newv = (Tcl_Obj **) ckalloc(2 * room * sizeof(Tcl_Obj *));

	    memcpy(newv, objv, objc * sizeof(Tcl_Obj *));
	    if (objv != stackv) {
		ckfree((char *) objv);
	    }
	    objv = newv;
	    room *= 2;
	}
	if (el.tag == P2P_TAG_BINARY) {
	    objPtr = Tcl_NewByteArrayObj(el.data, (int) el.size);
	} else if (!el.hasNul && !el.wide) {
	    objPtr = Tcl_NewStringObj((const char *) el.data, (int) el.size);
	} else {
	    objPtr = NewInternalString(el.data, el.size, el.wide);
	}
	Tcl_IncrRefCount(objPtr);
	objv[objc++] = objPtr;
    }
    if (code < 0) {
	int i;

	for (i = 0; i < objc; i++) {
	    Tcl_DecrRefCount(objv[i]);
	}
	if (objv != stackv) {
	    ckfree((char *) objv);
	}
	*errPtr = P2pFrameErrorString(code);
	return TCL_ERROR;
    }
    *objvPtr = objv;
    *objcPtr = objc;
    return TCL_OK;
}
