/*
 * benchwire.h --
 *
 *	Small helpers shared by the benchmark programs loadgen.c and
 *	uvecho.c: big-endian integers of the p2pjobs frame format
 *	(doc/protocol.md), the carry buffer that keeps the unparsed tail of
 *	a connection's input between reads, and raising the descriptor
 *	limit. Header-only so that each program is one cc command.
 */

#ifndef BENCHWIRE_H
#define BENCHWIRE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define TAG_TEXT	0x00
#define TAG_BINARY	0x01

/*
 * All reads of one process land in one static buffer (libuv calls
 * alloc_cb, read() and read_cb back to back for one stream, so nothing
 * else can touch it in between). Before a read the connection's carry
 * (the incomplete frame or line left over from the previous read) is
 * copied to the front, so the parser always sees contiguous bytes and an
 * idle connection holds no read buffer at all.
 */

#define READ_BUF_SIZE	(256 * 1024)
#define CARRY_MAX	(READ_BUF_SIZE / 2)

typedef struct Carry {
    unsigned char *bytes;	/* Malloc'ed, NULL while empty and small. */
    size_t len;
    size_t cap;
} Carry;

static inline uint32_t
Be32Get(
    const unsigned char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
	    | ((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static inline unsigned char *
Be32Put(
    unsigned char *p,
    uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
    return p + 4;
}

/*
 *----------------------------------------------------------------------
 *
 * CarryKeep --
 *
 *	Keeps the n unparsed bytes at p for the next read.
 *
 * Results:
 *	0, or -1 if the tail is longer than CARRY_MAX (the peer sent a
 *	frame or line far bigger than anything this benchmark exchanges).
 *
 *----------------------------------------------------------------------
 */

static inline int
CarryKeep(
    Carry *cPtr,
    const unsigned char *p,
    size_t n)
{
    if (n > CARRY_MAX) {
	return -1;
    }
    if (n > cPtr->cap) {
	size_t cap = (n < 256) ? 256 : n;
	unsigned char *b = (unsigned char *) malloc(cap);

	if (b == NULL) {
	    return -1;
	}
	free(cPtr->bytes);
	cPtr->bytes = b;
	cPtr->cap = cap;
    }
    if (n > 0) {
	memmove(cPtr->bytes, p, n);
    }
    cPtr->len = n;
    if (n == 0 && cPtr->cap > 4096) {
	free(cPtr->bytes);
	cPtr->bytes = NULL;
	cPtr->cap = 0;
    }
    return 0;
}

static inline void
CarryFree(
    Carry *cPtr)
{
    free(cPtr->bytes);
    cPtr->bytes = NULL;
    cPtr->len = cPtr->cap = 0;
}

/*
 *----------------------------------------------------------------------
 *
 * RaiseNofile --
 *
 *	Raises the soft RLIMIT_NOFILE to the hard limit.
 *
 * Results:
 *	The soft limit now in force, -1 if unknown.
 *
 *----------------------------------------------------------------------
 */

static inline long
RaiseNofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
	return -1;
    }
    if (rl.rlim_cur < rl.rlim_max) {
	rl.rlim_cur = rl.rlim_max;
	(void) setrlimit(RLIMIT_NOFILE, &rl);
	(void) getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long) rl.rlim_cur;
}

#endif /* BENCHWIRE_H */
