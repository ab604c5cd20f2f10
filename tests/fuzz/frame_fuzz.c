/*
 * frame_fuzz.c --
 *
 *	libFuzzer target for the frame parser of generic/p2pFrame.c. The input
 *	is what a peer might send: a byte stream that is cut into frames with
 *	P2pFrameScan, whose elements are then iterated with
 *	P2pFrameNextElement, as the connection code does. Besides letting the
 *	sanitizers watch every read, the target checks the parser against
 *	invariants and against a reference decoding written here
 *	independently, and abort()s on any disagreement.
 *
 *	Every buffer handed to the parser is an exact-size heap copy, so that
 *	AddressSanitizer reports a read even one byte past what was given.
 *
 *	Build and run: make fuzz, make fuzz-smoke (see Makefile.in).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "p2pFrame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
    do { \
	if (!(cond)) { \
	    Fail(#cond, __LINE__); \
	} \
    } while (0)

/*
 * The limits under which each input is parsed: the default -maxframe, a
 * small one so that P2P_FRAME_TOOBIG is reached often, and zero (only
 * keepalives are acceptable).
 */

static const size_t maxFrames[] = {4194304, 64, 0};
#define NUM_MAXFRAMES (sizeof(maxFrames) / sizeof(maxFrames[0]))

/*
 * How one pass over a stream ended.
 */

typedef struct StreamResult {
    size_t frames;		/* Complete frames consumed. */
    size_t consumed;		/* Bytes of those frames. */
    int last;			/* Scan result that stopped the pass:
				 * P2P_FRAME_NEED or P2P_FRAME_TOOBIG. */
    size_t announced;		/* With TOOBIG: the announced body length. */
} StreamResult;

static void		Fail(const char *what, int line);
static unsigned char *	Copy(const unsigned char *p, size_t n);
static int		RefUtf8(const unsigned char *p, size_t n,
			    int *asciiPtr, int *hasNulPtr, int *widePtr);
static void		CheckUtf8(const unsigned char *p, size_t n);
static void		CheckBody(const unsigned char *frame, size_t bodyLen);
static void		CheckPrefixes(const unsigned char *frame,
			    size_t frameLen, size_t maxFrame);
static void		ScanWhole(const uint8_t *data, size_t size,
			    size_t maxFrame, StreamResult *resPtr);
static void		ScanChunked(const uint8_t *data, size_t size,
			    size_t maxFrame, StreamResult *resPtr);

/*
 *----------------------------------------------------------------------
 *
 * Fail --
 *
 *	Reports a violated invariant.
 *
 * Results:
 *	None; does not return.
 *
 * Side effects:
 *	Writes to stderr and aborts, which libFuzzer records as a crash.
 *
 *----------------------------------------------------------------------
 */

static void
Fail(
    const char *what,
    int line)
{
    fprintf(stderr, "frame_fuzz.c:%d: invariant violated: %s\n", line, what);
    abort();
}

/*
 *----------------------------------------------------------------------
 *
 * Copy --
 *
 *	Copies n bytes into a heap block of exactly that size (one byte when
 *	n is 0, never read).
 *
 * Results:
 *	The copy; the caller frees it.
 *
 * Side effects:
 *	Allocates memory; aborts when none is left.
 *
 *----------------------------------------------------------------------
 */

static unsigned char *
Copy(
    const unsigned char *p,
    size_t n)
{
    unsigned char *q = malloc(n ? n : 1);

    CHECK(q != NULL);
    if (n) {
	memcpy(q, p, n);
    }
    return q;
}

/*
 *----------------------------------------------------------------------
 *
 * RefUtf8 --
 *
 *	Reference validation of strict UTF-8, written independently of
 *	P2pUtf8Check: it decodes every sequence to its code point and rejects
 *	overlong forms, surrogates and values above U+10FFFF.
 *
 * Results:
 *	1 when valid, 0 otherwise. When valid, *asciiPtr tells whether every
 *	byte was below 0x80, *hasNulPtr whether a 0x00 byte occurred and
 *	*widePtr whether a 4-byte sequence occurred.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
RefUtf8(
    const unsigned char *p,
    size_t n,
    int *asciiPtr,
    int *hasNulPtr,
    int *widePtr)
{
    static const uint32_t minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t i = 0;
    int ascii = 1, hasNul = 0, wide = 0;

    while (i < n) {
	unsigned lead = p[i];
	size_t len, k;
	uint32_t cp;

	if (lead < 0x80) {
	    hasNul |= (lead == 0);
	    i++;
	    continue;
	}
	ascii = 0;

	/*
	 * The number of leading one bits gives the sequence length.
	 */

	for (len = 0; len < 8 && (lead & (0x80u >> len)); len++) {
	    /* count */
	}
	if (len < 2 || len > 4 || n - i < len) {
	    return 0;
	}
	cp = lead & (0xFFu >> (len + 1));
	for (k = 1; k < len; k++) {
	    if ((p[i + k] >> 6) != 2) {
		return 0;
	    }
	    cp = (cp << 6) | (p[i + k] & 0x3F);
	}
	if (cp < minimum[len] || cp > 0x10FFFF
		|| (cp >= 0xD800 && cp <= 0xDFFF)) {
	    return 0;
	}
	wide |= (len == 4);
	i += len;
    }
    *asciiPtr = ascii;
    *hasNulPtr = hasNul;
    *widePtr = wide;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * CheckUtf8 --
 *
 *	Compares P2pUtf8Check with RefUtf8 on some bytes.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Aborts on disagreement.
 *
 *----------------------------------------------------------------------
 */

static void
CheckUtf8(
    const unsigned char *p,
    size_t n)
{
    unsigned char *q = Copy(p, n);
    int ascii = -1, hasNul = -1, refAscii, refHasNul, refWide;
    int ok = P2pUtf8Check(q, n, &ascii, &hasNul);

    CHECK(ok == 0 || ok == 1);
    CHECK(ok == RefUtf8(q, n, &refAscii, &refHasNul, &refWide));
    if (ok) {
	CHECK(ascii == refAscii);
	CHECK(hasNul == refHasNul);
    }
    free(q);
}

/*
 *----------------------------------------------------------------------
 *
 * CheckBody --
 *
 *	Iterates over the elements of one complete frame and checks each
 *	result against the bytes: elements lie inside the body one after
 *	the other, their headers say what the iterator reports, the flags of
 *	text elements match the reference decoding, and when iteration ends
 *	normally the elements rebuild the body exactly. An error must be the
 *	one the bytes at the cursor call for.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Aborts on a violated invariant.
 *
 *----------------------------------------------------------------------
 */

static void
CheckBody(
    const unsigned char *frame,
    size_t bodyLen)
{
    unsigned char *body = Copy(frame + P2P_FRAME_HEADER, bodyLen);
    unsigned char *rebuilt = malloc(bodyLen ? bodyLen : 1);
    const unsigned char *end = body + bodyLen;
    size_t used = 0, count = 0, dataSum = 0;
    P2pFrameCursor cur;

    CHECK(rebuilt != NULL);
    P2pFrameCursorInit(&cur, body, bodyLen);
    for (;;) {
	const unsigned char *hdr = body + used;
	size_t left = bodyLen - used;
	P2pElement el;
	int code, ascii, hasNul, wide;

	CHECK(cur.next == hdr);
	CHECK(cur.end == end);
	memset(&el, 0x5A, sizeof(el));
	code = P2pFrameNextElement(&cur, &el);
	CHECK(P2pFrameErrorString(code) != NULL);

	if (code == P2P_FRAME_NEED) {
	    /*
	     * The end: the elements tiled the body exactly.
	     */

	    CHECK(left == 0);
	    CHECK(used == bodyLen);
	    CHECK(used == count * P2P_ELEMENT_HEADER + dataSum);
	    CHECK(bodyLen == 0 || memcmp(rebuilt, body, bodyLen) == 0);
	    break;
	}
	CHECK(left > 0);

	if (code == P2P_FRAME_OK) {
	    CHECK(left >= P2P_ELEMENT_HEADER);
	    CHECK(el.tag == hdr[0]);
	    CHECK(el.tag == P2P_TAG_TEXT || el.tag == P2P_TAG_BINARY);
	    CHECK(el.size == P2pGetU32(hdr + 1));
	    CHECK(el.data == hdr + P2P_ELEMENT_HEADER);
	    CHECK(el.size <= left - P2P_ELEMENT_HEADER);
	    CHECK(el.data >= body && el.data + el.size <= end);
	    CHECK(cur.next == el.data + el.size);
	    if (el.tag == P2P_TAG_TEXT) {
		CHECK(RefUtf8(el.data, el.size, &ascii, &hasNul, &wide));
		CHECK(el.ascii == ascii);
		CHECK(el.hasNul == hasNul);
		CHECK(el.wide == wide);
	    }

	    /*
	     * Rebuild the element from what the iterator reported.
	     */

	    rebuilt[used] = (unsigned char) el.tag;
	    P2pPutU32(rebuilt + used + 1, (uint32_t) el.size);
	    if (el.size) {
		memcpy(rebuilt + used + P2P_ELEMENT_HEADER, el.data, el.size);
	    }
	    used += P2P_ELEMENT_HEADER + el.size;
	    dataSum += el.size;
	    count++;
	    CHECK(count <= bodyLen / P2P_ELEMENT_HEADER);
	    continue;
	}

	/*
	 * An error: it must be the one the bytes at the cursor call for.
	 */

	if (left < P2P_ELEMENT_HEADER
		|| P2pGetU32(hdr + 1) > left - P2P_ELEMENT_HEADER) {
	    CHECK(code == P2P_FRAME_MALFORMED);
	} else if (hdr[0] != P2P_TAG_TEXT && hdr[0] != P2P_TAG_BINARY) {
	    CHECK(code == P2P_FRAME_BADTAG);
	} else {
	    CHECK(hdr[0] == P2P_TAG_TEXT);
	    CHECK(code == P2P_FRAME_BADUTF8);
	    CHECK(!RefUtf8(hdr + P2P_ELEMENT_HEADER, P2pGetU32(hdr + 1),
		    &ascii, &hasNul, &wide));
	}
	break;
    }
    free(rebuilt);
    free(body);
}

/*
 *----------------------------------------------------------------------
 *
 * CheckPrefixes --
 *
 *	Offers the scanner prefixes of a complete frame, as a connection
 *	sees it while the frame arrives, each in a buffer of exactly that
 *	size: every proper prefix must give P2P_FRAME_NEED, the whole frame
 *	P2P_FRAME_OK with the same length.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Aborts on a violated invariant.
 *
 *----------------------------------------------------------------------
 */

static void
CheckPrefixes(
    const unsigned char *frame,
    size_t frameLen,
    size_t maxFrame)
{
    size_t lens[8], i, n = 0, len;

    lens[n++] = 0;
    lens[n++] = 1;
    lens[n++] = 3;
    lens[n++] = 4;
    lens[n++] = frameLen / 2;
    lens[n++] = frameLen - 1;
    lens[n++] = frameLen;
    for (i = 0; i < n; i++) {
	unsigned char *buf;
	int code;

	if (lens[i] > frameLen) {
	    continue;
	}
	buf = Copy(frame, lens[i]);
	len = (size_t) -1;
	code = P2pFrameScan(buf, lens[i], maxFrame, &len);
	if (lens[i] < frameLen) {
	    CHECK(code == P2P_FRAME_NEED);
	} else {
	    CHECK(code == P2P_FRAME_OK);
	    CHECK(len == frameLen);
	}
	free(buf);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ScanWhole --
 *
 *	Cuts the whole input into frames, checking each scan against the
 *	header bytes and each complete frame with CheckPrefixes and
 *	CheckBody. A frame with a malformed body does not stop the pass (the
 *	scanner does not look inside bodies); TOOBIG does, as the connection
 *	would be closed.
 *
 * Results:
 *	Fills *resPtr.
 *
 * Side effects:
 *	Aborts on a violated invariant.
 *
 *----------------------------------------------------------------------
 */

static void
ScanWhole(
    const uint8_t *data,
    size_t size,
    size_t maxFrame,
    StreamResult *resPtr)
{
    size_t off = 0;

    memset(resPtr, 0, sizeof(*resPtr));
    for (;;) {
	const unsigned char *p = data + off;
	size_t avail = size - off, len = (size_t) -1;
	unsigned char *buf = Copy(p, avail);
	int code = P2pFrameScan(buf, avail, maxFrame, &len);
	uint32_t announced;

	free(buf);
	CHECK(P2pFrameErrorString(code) != NULL);
	if (avail < P2P_FRAME_HEADER) {
	    CHECK(code == P2P_FRAME_NEED);
	    resPtr->last = code;
	    break;
	}
	announced = P2pGetU32(p);
	if (announced > maxFrame) {
	    CHECK(code == P2P_FRAME_TOOBIG);
	    CHECK(len == announced);
	    resPtr->last = code;
	    resPtr->announced = announced;
	    break;
	}
	if (announced > avail - P2P_FRAME_HEADER) {
	    CHECK(code == P2P_FRAME_NEED);
	    resPtr->last = code;
	    break;
	}
	CHECK(code == P2P_FRAME_OK);
	CHECK(len == P2P_FRAME_HEADER + (size_t) announced);
	CHECK(len <= avail);
	CheckPrefixes(p, len, maxFrame);
	CheckBody(p, announced);
	off += len;
	resPtr->frames++;
	resPtr->consumed = off;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ScanChunked --
 *
 *	Simulates a receiving connection: the input arrives in chunks of
 *	pseudo-random sizes (derived from the input, so runs are
 *	reproducible), is appended to a receive buffer, and after each chunk
 *	complete frames are consumed from the front of the buffer.
 *
 * Results:
 *	Fills *resPtr, which must equal what ScanWhole found.
 *
 * Side effects:
 *	Aborts on a violated invariant.
 *
 *----------------------------------------------------------------------
 */

static void
ScanChunked(
    const uint8_t *data,
    size_t size,
    size_t maxFrame,
    StreamResult *resPtr)
{
    unsigned char *rbuf = malloc(size ? size : 1);
    size_t have = 0, start = 0, fed = 0;
    uint32_t state = 2166136261u;
    size_t i;

    CHECK(rbuf != NULL);
    memset(resPtr, 0, sizeof(*resPtr));
    resPtr->last = P2P_FRAME_NEED;
    for (i = 0; i < size && i < 16; i++) {
	state = (state ^ data[i]) * 16777619u;
    }
    while (fed < size) {
	size_t chunk;

	state = state * 1103515245u + 12345u;
	chunk = 1 + (state >> 16) % 97;
	if (chunk > size - fed) {
	    chunk = size - fed;
	}
	memcpy(rbuf + have, data + fed, chunk);
	have += chunk;
	fed += chunk;

	for (;;) {
	    size_t len = (size_t) -1;
	    int code = P2pFrameScan(rbuf + start, have - start, maxFrame,
		    &len);

	    if (code == P2P_FRAME_OK) {
		CHECK(len >= P2P_FRAME_HEADER && len <= have - start);
		start += len;
		resPtr->frames++;
		resPtr->consumed = start;
		continue;
	    }
	    if (code == P2P_FRAME_TOOBIG) {
		resPtr->last = code;
		resPtr->announced = len;
		free(rbuf);
		return;
	    }
	    CHECK(code == P2P_FRAME_NEED);
	    break;
	}
    }
    free(rbuf);
}

/*
 *----------------------------------------------------------------------
 *
 * LLVMFuzzerTestOneInput --
 *
 *	The libFuzzer entry point.
 *
 * Results:
 *	Always 0.
 *
 * Side effects:
 *	Aborts on a violated invariant.
 *
 *----------------------------------------------------------------------
 */

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    size_t i;

    CheckUtf8(data, size);
    for (i = 0; i < NUM_MAXFRAMES; i++) {
	StreamResult whole, chunked;

	ScanWhole(data, size, maxFrames[i], &whole);
	ScanChunked(data, size, maxFrames[i], &chunked);
	CHECK(whole.frames == chunked.frames);
	CHECK(whole.consumed == chunked.consumed);
	CHECK(whole.last == chunked.last);
	CHECK(whole.announced == chunked.announced);
    }
    return 0;
}
