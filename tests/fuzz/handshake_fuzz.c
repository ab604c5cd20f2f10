/*
 * handshake_fuzz.c --
 *
 *	libFuzzer target for the handshake and the encrypted frames of
 *	generic/p2pSecure.c. The input is cut into pieces, each fed as a
 *	hostile peer would: as message 1 to a fresh server, as message 2 to
 *	a client that sent message 1, as message 3 to a server that sent
 *	message 2, and as a stream of encrypted frames to both ends of a
 *	session that completed an honest handshake. Nothing may crash or
 *	read out of bounds; a forged message must never complete a
 *	handshake, and no frame made up by the fuzzer may decrypt.
 *
 *	Input layout: byte 0 selects flags (bit 0: client wants encryption,
 *	bit 1: server wants it, bit 2: the client's network secret differs,
 *	bit 3: the client offers no AES-256-GCM, bit 4: the server offers
 *	none, bit 5: keys are replaced every 100 bytes), then pieces, each a
 *	u16 big-endian length and that many bytes. The honest session
 *	checks the cipher both ends chose, frames across key replacements,
 *	and that ends replacing keys at other points fail authentication.
 *
 *	Every buffer handed to the code is an exact-size heap copy, so that
 *	AddressSanitizer reports a read even one byte past what was given.
 *
 *	Build: clang -fsanitize=fuzzer,address,undefined -Igeneric
 *	    tests/fuzz/handshake_fuzz.c generic/p2pSecure.c -lsodium
 *	(the Makefile's fuzz rules add $(FUZZ_LIBS) for the library).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "p2pFrame.h"
#include "p2pSecure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
    do { \
	if (!(cond)) { \
	    fprintf(stderr, "handshake_fuzz: %s (line %d)\n", #cond, \
		    __LINE__); \
	    abort(); \
	} \
    } while (0)

static unsigned char clientPk[32], clientSk[64];
static unsigned char serverPk[32], serverSk[64];
static int ready = 0;

static unsigned char *
Copy(
    const unsigned char *p,
    size_t n)
{
    unsigned char *q = (unsigned char *) malloc(n ? n : 1);

    CHECK(q != NULL);
    if (n) {
	memcpy(q, p, n);
    }
    return q;
}

/*
 * Feeds one piece as a handshake message to sPtr; an output produced
 * must fit the largest message.
 */

static int
Feed(
    P2pSecure *sPtr,
    const unsigned char *piece,
    size_t len)
{
    unsigned char *copy = Copy(piece, len);
    unsigned char out[P2P_HS_MAX_LEN + 16];
    size_t outLen = 12345;
    int code = P2pSecureHandle(sPtr, copy, len, out, &outLen);

    CHECK(outLen <= P2P_HS_MAX_LEN);
    CHECK(code == P2P_HS_OK || (code == P2P_HS_ERROR && sPtr->error
	    && sPtr->state == P2P_HS_FAILED));
    free(copy);
    return code;
}

/*
 * Feeds a piece as a stream of encrypted frames to sPtr (scan, open),
 * under a small and a large -maxframe. A fuzzer cannot forge a tag.
 */

static void
FeedSealed(
    P2pSecure *sPtr,
    const unsigned char *piece,
    size_t len)
{
    static const size_t maxFrames[] = {4194304, 64, 0};
    size_t m;

    for (m = 0; m < sizeof(maxFrames) / sizeof(maxFrames[0]); m++) {
	unsigned char *copy = Copy(piece, len);
	size_t pos = 0;
	uint64_t before = sPtr->rxCount;

	while (pos < len) {
	    size_t recLen = 0, plainLen = 0;
	    int code = P2pSecureScan(copy + pos, len - pos, maxFrames[m],
		    &recLen);
	    unsigned char *rec, *out;

	    if (code != P2P_FRAME_OK) {
		CHECK(code == P2P_FRAME_NEED || code == P2P_FRAME_TOOBIG
			|| code == P2P_FRAME_MALFORMED);
		break;
	    }
	    CHECK(recLen >= P2P_SEAL_HEADER + P2P_FRAME_HEADER + P2P_SEAL_TAG
		    && recLen <= len - pos);
	    rec = Copy(copy + pos, recLen);
	    out = (unsigned char *) malloc(recLen - P2P_SEAL_HEADER
		    - P2P_SEAL_TAG);
	    code = P2pSecureOpen(sPtr, rec, recLen, out, &plainLen);
	    CHECK(code == P2P_SEAL_AUTH || code == P2P_FRAME_MALFORMED);
	    free(out);
	    free(rec);
	    pos += recLen;
	}
	CHECK(sPtr->rxCount == before);
	free(copy);
    }
}

/*
 * An honest handshake between a client and a server: both end DONE
 * with each other's keys and the same cipher, and frames sealed by one
 * open at the other, in both directions, across key replacements.
 */

static void
Honest(
    P2pSecure *cPtr,
    P2pSecure *sPtr,
    int flags)
{
    unsigned char m1[P2P_HS_MAX_LEN], m2[P2P_HS_MAX_LEN], m3[P2P_HS_MAX_LEN];
    size_t n1, n2, n3, plainLen;
    unsigned char frame[9] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    unsigned char rec[64], plain[64];
    int i;

    P2pSecureInit(cPtr, P2P_HS_CLIENT, clientPk, clientSk,
	    (const unsigned char *) "net", 3, flags & 1);
    P2pSecureInit(sPtr, P2P_HS_SERVER, serverPk, serverSk,
	    (const unsigned char *) "net", 3, flags & 2);
    if (flags & 8) {
	cPtr->offerAes = 0;
    }
    if (flags & 16) {
	sPtr->offerAes = 0;
    }
    if (flags & 32) {
	cPtr->rekeyBytes = sPtr->rekeyBytes = 100;
    }
    n1 = P2pSecureStart(cPtr, m1);
    CHECK(n1 == P2P_HS_MSG1_LEN);
    CHECK(P2pSecureHandle(sPtr, m1, n1, m2, &n2) == P2P_HS_OK);
    CHECK(n2 == P2P_HS_MSG2_LEN);
    CHECK(P2pSecureHandle(cPtr, m2, n2, m3, &n3) == P2P_HS_OK);
    CHECK(n3 == P2P_HS_MSG3_LEN && cPtr->state == P2P_HS_DONE);
    CHECK(P2pSecureHandle(sPtr, m3, n3, m1, &n1) == P2P_HS_OK);
    CHECK(n1 == 0 && sPtr->state == P2P_HS_DONE);
    CHECK(memcmp(cPtr->peerIdPk, serverPk, 32) == 0);
    CHECK(memcmp(sPtr->peerIdPk, clientPk, 32) == 0);
    CHECK(cPtr->encrypt == sPtr->encrypt
	    && cPtr->encrypt == ((flags & 3) != 0));
    CHECK(cPtr->aes == sPtr->aes && cPtr->aes == (P2pSecureHasAes()
	    && !(flags & 24)));
    for (i = 0; i < 6; i++) {
	P2pSecure *fromPtr = (i & 1) ? sPtr : cPtr;
	P2pSecure *toPtr = (i & 1) ? cPtr : sPtr;

	frame[8] = (unsigned char) i;
	CHECK(P2pSecureSeal(fromPtr, frame, sizeof(frame), rec) == 0);
	CHECK(P2pSecureOpen(toPtr, rec, sizeof(frame) + 20, plain,
		&plainLen) == P2P_FRAME_OK);
	CHECK(plainLen == sizeof(frame) && memcmp(plain, frame, 9) == 0);
    }

    /*
     * The server replaces its receive key after the next frame, the
     * client its send key not: the frame after fails authentication.
     * (The fuzzer's frames below fail whatever the keys.)
     */

    cPtr->rekeyBytes = P2P_REKEY_BYTES;
    sPtr->rekeyBytes = 1;
    CHECK(P2pSecureSeal(cPtr, frame, sizeof(frame), rec) == 0);
    CHECK(P2pSecureOpen(sPtr, rec, sizeof(frame) + 20, plain, &plainLen)
	    == P2P_FRAME_OK);
    CHECK(P2pSecureSeal(cPtr, frame, sizeof(frame), rec) == 0);
    CHECK(P2pSecureOpen(sPtr, rec, sizeof(frame) + 20, plain, &plainLen)
	    == P2P_SEAL_AUTH);
}

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    P2pSecure client, server, c2, s2;
    unsigned char m1[P2P_HS_MAX_LEN], m2[P2P_HS_MAX_LEN];
    const unsigned char *pieces[4];
    size_t lens[4], pos = 1, n1, n2;
    int flags, i, n = 0;
    const char *clientNet;

    if (!ready) {
	CHECK(P2pSecureLibInit() == 0);
	crypto_sign_keypair(clientPk, clientSk);
	crypto_sign_keypair(serverPk, serverSk);
	ready = 1;
    }
    if (size < 1) {
	return 0;
    }
    flags = data[0];
    clientNet = (flags & 4) ? "other" : "net";
    while (n < 4 && pos + 2 <= size) {
	size_t len = ((size_t) data[pos] << 8) | data[pos + 1];

	pos += 2;
	if (len > size - pos) {
	    len = size - pos;
	}
	pieces[n] = data + pos;
	lens[n++] = len;
	pos += len;
    }
    for (i = n; i < 4; i++) {
	pieces[i] = data + size;
	lens[i] = 0;
    }

    /*
     * Piece 0 as message 1 to a fresh server; if it is accepted, piece 1
     * as message 3 after it. A message 3 must be signed over a
     * transcript that holds the server's fresh ephemeral key, with a
     * secret key the fuzzer never sees: it must always fail.
     */

    P2pSecureInit(&server, P2P_HS_SERVER, serverPk, serverSk,
	    (const unsigned char *) "net", 3, flags & 2);
    if (Feed(&server, pieces[0], lens[0]) == P2P_HS_OK) {
	CHECK(server.state == P2P_HS_WAIT3);
	CHECK(Feed(&server, pieces[1], lens[1]) == P2P_HS_ERROR);
    }
    P2pSecureWipe(&server);

    /*
     * Piece 1 as message 2 to a client that sent message 1: it was not
     * signed by anyone's key over this transcript, so it fails.
     */

    P2pSecureInit(&client, P2P_HS_CLIENT, clientPk, clientSk,
	    (const unsigned char *) clientNet, strlen(clientNet), flags & 1);
    CHECK(P2pSecureStart(&client, m1) == P2P_HS_MSG1_LEN);
    CHECK(Feed(&client, pieces[1], lens[1]) == P2P_HS_ERROR);
    P2pSecureWipe(&client);

    /*
     * A real message 2, then the fuzzer's bytes spliced over its tail
     * (piece 2 replaces its last bytes): must fail unless unchanged.
     */

    P2pSecureInit(&client, P2P_HS_CLIENT, clientPk, clientSk,
	    (const unsigned char *) clientNet, strlen(clientNet), flags & 1);
    P2pSecureInit(&server, P2P_HS_SERVER, serverPk, serverSk,
	    (const unsigned char *) "net", 3, flags & 2);
    n1 = P2pSecureStart(&client, m1);
    CHECK(P2pSecureHandle(&server, m1, n1, m2, &n2) == P2P_HS_OK);
    if (lens[2] > 0) {
	size_t k = lens[2] < n2 ? lens[2] : n2;
	int same = memcmp(m2 + n2 - k, pieces[2], k) == 0;

	memcpy(m2 + n2 - k, pieces[2], k);
	i = Feed(&client, m2, n2);
	CHECK(same || i == P2P_HS_ERROR);
    } else {
	i = Feed(&client, m2, n2);
	CHECK((flags & 4) ? i == P2P_HS_ERROR : i == P2P_HS_OK);
    }
    P2pSecureWipe(&client);
    P2pSecureWipe(&server);

    /*
     * Piece 3 as encrypted frames to both ends of an honest session.
     */

    Honest(&c2, &s2, flags);
    FeedSealed(&s2, pieces[3], lens[3]);
    FeedSealed(&c2, pieces[3], lens[3]);
    P2pSecureWipe(&c2);
    P2pSecureWipe(&s2);
    return 0;
}
