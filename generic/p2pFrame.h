/*
 * p2pFrame.h --
 *
 *	The wire format of p2pjobs: length-prefixed frames whose bodies are a
 *	sequence of tagged elements. Plain C with no Tcl dependency, so that the
 *	parser can be fuzzed on its own. doc/protocol.md specifies the format.
 */

#ifndef _P2PFRAME_H
#define _P2PFRAME_H

#include <stddef.h>
#include <stdint.h>

#define P2P_FRAME_HEADER	4	/* u32 big-endian body length */
#define P2P_ELEMENT_HEADER	5	/* u8 tag + u32 big-endian size */

#define P2P_TAG_TEXT		0x00	/* strict UTF-8 */
#define P2P_TAG_BINARY		0x01	/* raw bytes */

/*
 * Results of the scanner and the element iterator.
 */

#define P2P_FRAME_OK		1
#define P2P_FRAME_NEED		0
#define P2P_FRAME_TOOBIG	(-1)
#define P2P_FRAME_MALFORMED	(-2)
#define P2P_FRAME_BADUTF8	(-3)
#define P2P_FRAME_BADTAG	(-4)

typedef struct P2pElement {
    const unsigned char *data;	/* Points into the frame body. */
    size_t size;
    int tag;			/* P2P_TAG_TEXT or P2P_TAG_BINARY. */
    int hasNul;			/* Text element contains a 0x00 byte. */
    int ascii;			/* Text element is pure 7-bit ASCII. */
    int wide;			/* Text element has 4-byte sequences. */
} P2pElement;

typedef struct P2pFrameCursor {
    const unsigned char *next;	/* Next element header. */
    const unsigned char *end;	/* One past the body. */
} P2pFrameCursor;

int	P2pFrameScan(const unsigned char *buf, size_t avail, size_t maxFrame,
	    size_t *frameLenPtr);
void	P2pFrameCursorInit(P2pFrameCursor *curPtr, const unsigned char *body,
	    size_t len);
int	P2pFrameNextElement(P2pFrameCursor *curPtr, P2pElement *elPtr);
int	P2pUtf8Check(const unsigned char *p, size_t n, int *asciiPtr,
	    int *hasNulPtr);
const char *P2pFrameErrorString(int code);

/*
 * Writing: the header of a frame and of an element, big-endian.
 */

static inline void
P2pPutU32(
    unsigned char *p,
    uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

static inline uint32_t
P2pGetU32(
    const unsigned char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
	    | ((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

#endif /* _P2PFRAME_H */
