/*
 * p2pFrame.c --
 *
 *	Scanning of frames and iteration over their elements. Nothing here
 *	allocates, evaluates or trusts its input: every length is checked
 *	against the bytes present before it is used.
 */

#include "p2pFrame.h"
#include <string.h>

/*
 *----------------------------------------------------------------------
 *
 * P2pFrameScan --
 *
 *	Looks at the bytes at the start of an input buffer.
 *
 * Results:
 *	P2P_FRAME_NEED when the header or body is incomplete; P2P_FRAME_OK
 *	with *frameLenPtr set to header plus body length when a whole frame
 *	is present; P2P_FRAME_TOOBIG when the header announces a body longer
 *	than maxFrame (*frameLenPtr then holds the announced body length).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
P2pFrameScan(
    const unsigned char *buf,
    size_t avail,
    size_t maxFrame,
    size_t *frameLenPtr)
{
    size_t bodyLen;

    if (avail < P2P_FRAME_HEADER) {
	return P2P_FRAME_NEED;
    }
    bodyLen = P2pGetU32(buf);
    if (bodyLen > maxFrame) {
	*frameLenPtr = bodyLen;
	return P2P_FRAME_TOOBIG;
    }
    if (avail - P2P_FRAME_HEADER < bodyLen) {
	return P2P_FRAME_NEED;
    }
    *frameLenPtr = P2P_FRAME_HEADER + bodyLen;
    return P2P_FRAME_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pFrameCursorInit, P2pFrameNextElement --
 *
 *	Iterate over the elements of a frame body.
 *
 * Results:
 *	P2pFrameNextElement returns P2P_FRAME_OK and fills *elPtr, or
 *	P2P_FRAME_NEED (0) at the end of the body, or a negative code when the
 *	body is malformed: an element header or element running past the
 *	end, an unknown tag, or a text element that is not strict UTF-8.
 *
 * Side effects:
 *	Advances the cursor.
 *
 *----------------------------------------------------------------------
 */

void
P2pFrameCursorInit(
    P2pFrameCursor *curPtr,
    const unsigned char *body,
    size_t len)
{
    curPtr->next = body;
    curPtr->end = body + len;
}

int
P2pFrameNextElement(
    P2pFrameCursor *curPtr,
    P2pElement *elPtr)
{
    size_t left = (size_t) (curPtr->end - curPtr->next);
    size_t size;
    const unsigned char *p = curPtr->next;

    if (left == 0) {
	return P2P_FRAME_NEED;
    }
    if (left < P2P_ELEMENT_HEADER) {
	return P2P_FRAME_MALFORMED;
    }
    size = P2pGetU32(p + 1);
    if (size > left - P2P_ELEMENT_HEADER) {
	return P2P_FRAME_MALFORMED;
    }
    elPtr->tag = p[0];
    elPtr->data = p + P2P_ELEMENT_HEADER;
    elPtr->size = size;
    elPtr->hasNul = 0;
    elPtr->ascii = 0;
    elPtr->wide = 0;
    switch (p[0]) {
    case P2P_TAG_TEXT:
	if (!P2pUtf8Check(elPtr->data, size, &elPtr->ascii, &elPtr->hasNul)) {
	    return P2P_FRAME_BADUTF8;
	}
	if (!elPtr->ascii) {
	    const unsigned char *q;

	    for (q = elPtr->data; q < elPtr->data + size; q++) {
		if (*q >= 0xF0) {
		    elPtr->wide = 1;
		    break;
		}
	    }
	}
	break;
    case P2P_TAG_BINARY:
	break;
    default:
	return P2P_FRAME_BADTAG;
    }
    curPtr->next = elPtr->data + size;
    return P2P_FRAME_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pUtf8Check --
 *
 *	Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates,
 *	nothing above U+10FFFF.
 *
 * Results:
 *	1 when valid, 0 otherwise. *asciiPtr tells whether every byte was
 *	below 0x80 and *hasNulPtr whether a 0x00 byte occurred.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
P2pUtf8Check(
    const unsigned char *p,
    size_t n,
    int *asciiPtr,
    int *hasNulPtr)
{
    const unsigned char *end = p + n;
    int ascii = 1, hasNul = 0;

    /*
     * Eight bytes at a time while they are ASCII (the common case); a
     * word holds a zero byte when (w - 0x01..01) & ~w & 0x80..80 is set.
     */

    while (end - p >= 8) {
	uint64_t w;

	memcpy(&w, p, 8);
	if (w & 0x8080808080808080ULL) {
	    break;
	}
	if ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) {
	    hasNul = 1;
	}
	p += 8;
    }
    while (p < end) {
	unsigned c = *p;

	if (c < 0x80) {
	    hasNul |= (c == 0);
	    p++;
	    continue;
	}
	ascii = 0;
	if (c >= 0xC2 && c <= 0xDF) {
	    if (end - p < 2 || (p[1] & 0xC0) != 0x80) {
		return 0;
	    }
	    p += 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
	    unsigned lo = (c == 0xE0) ? 0xA0 : 0x80;
	    unsigned hi = (c == 0xED) ? 0x9F : 0xBF;

	    if (end - p < 3 || p[1] < lo || p[1] > hi
		    || (p[2] & 0xC0) != 0x80) {
		return 0;
	    }
	    p += 3;
	} else if (c >= 0xF0 && c <= 0xF4) {
	    unsigned lo = (c == 0xF0) ? 0x90 : 0x80;
	    unsigned hi = (c == 0xF4) ? 0x8F : 0xBF;

	    if (end - p < 4 || p[1] < lo || p[1] > hi
		    || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) {
		return 0;
	    }
	    p += 4;
	} else {
	    return 0;
	}
    }
    *asciiPtr = ascii;
    *hasNulPtr = hasNul;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pFrameErrorString --
 *
 *	Words for a negative result of the scanner or iterator.
 *
 *----------------------------------------------------------------------
 */

const char *
P2pFrameErrorString(
    int code)
{
    switch (code) {
    case P2P_FRAME_TOOBIG:
	return "frame too large";
    case P2P_FRAME_MALFORMED:
	return "element runs past the end of the frame";
    case P2P_FRAME_BADUTF8:
	return "text element is not valid UTF-8";
    case P2P_FRAME_BADTAG:
	return "unknown element tag";
    default:
	return "no error";
    }
}
