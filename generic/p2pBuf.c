/*
 * p2pBuf.c --
 *
 *	Growable byte buffers for connection input and output.
 */

#include "p2pjobsInt.h"

/*
 *----------------------------------------------------------------------
 *
 * P2pBufReserve --
 *
 *	Makes room for at least `more` bytes past the buffer's length.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May reallocate the buffer (growing it by at least half).
 *
 *----------------------------------------------------------------------
 */

void
P2pBufReserve(
    P2pBuf *bufPtr,
    size_t more)
{
    size_t need = bufPtr->len + more;
    size_t cap;

    if (need <= bufPtr->cap) {
	return;
    }
    cap = bufPtr->cap ? bufPtr->cap + bufPtr->cap / 2 : 4096;
    if (cap < need) {
	cap = need;
    }
    bufPtr->bytes = (unsigned char *) ckrealloc((char *) bufPtr->bytes, cap);
    bufPtr->cap = cap;
}

void
P2pBufAppend(
    P2pBuf *bufPtr,
    const void *bytes,
    size_t len)
{
    P2pBufReserve(bufPtr, len);
    memcpy(bufPtr->bytes + bufPtr->len, bytes, len);
    bufPtr->len += len;
}

void
P2pBufFree(
    P2pBuf *bufPtr)
{
    if (bufPtr->bytes) {
	ckfree((char *) bufPtr->bytes);
    }
    bufPtr->bytes = NULL;
    bufPtr->len = bufPtr->cap = 0;
}
