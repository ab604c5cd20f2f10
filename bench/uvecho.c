/*
 * uvecho.c --
 *
 *	Raw C baseline of the p2pjobs benchmarks: a libuv server that speaks
 *	the p2pjobs frame format (doc/protocol.md) with no Tcl at all. It
 *	answers every "echo X" frame with a frame holding X as its one
 *	element, every "protocol X ..." frame with the same frame (the
 *	negotiation the load generator does first), anything else with
 *	"exception {unknown command}". All replies produced by one read go
 *	out in one write. Frames are checked as the core checks them
 *	(length bound, elements tiling the body, known tags; UTF-8 is not
 *	checked here).
 *
 *	Binds 127.0.0.1 on an ephemeral port (or -port N) and prints the
 *	port on stdout. Exits when stdin reaches EOF, if stdin is a pipe.
 *
 *	Build: cc -O2 -o uvecho uvecho.c $(pkg-config --cflags --libs libuv)
 */

#include <stdio.h>
#include <uv.h>

#include "benchwire.h"

#define MAX_FRAME	(4u * 1024 * 1024)

/*
 * One accepted connection. Freed in its close callback.
 */

typedef struct Conn {
    uv_tcp_t tcp;
    Carry carry;
    int closing;
} Conn;

typedef struct WriteReq {
    uv_write_t req;
    uv_buf_t buf;
    unsigned char data[1];	/* Copy of the unwritten output. */
} WriteReq;

static uv_loop_t *loop;
static uv_tcp_t listener;
static uv_pipe_t stdinPipe;
static unsigned char readBuf[READ_BUF_SIZE];
static unsigned char *outBuf;	/* Replies of the current read. */
static size_t outLen, outCap;
static char stdinBuf[64];

static void
CloseProc(
    uv_handle_t *h)
{
    Conn *c = (Conn *) h->data;

    CarryFree(&c->carry);
    free(c);
}

static void
CloseConn(
    Conn *c)
{
    if (!c->closing) {
	c->closing = 1;
	uv_close((uv_handle_t *) &c->tcp, CloseProc);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * OutReserve --
 *
 *	Makes room for n more bytes in the output buffer.
 *
 *----------------------------------------------------------------------
 */

static unsigned char *
OutReserve(
    size_t n)
{
    if (outLen + n > outCap) {
	size_t cap = outCap ? outCap : 65536;

	while (cap < outLen + n) {
	    cap *= 2;
	}
	outBuf = (unsigned char *) realloc(outBuf, cap);
	if (outBuf == NULL) {
	    fprintf(stderr, "uvecho: out of memory\n");
	    exit(1);
	}
	outCap = cap;
    }
    return outBuf + outLen;
}

/*
 *----------------------------------------------------------------------
 *
 * Answer --
 *
 *	Handles the frame body [body, body+len): appends the reply to the
 *	output buffer.
 *
 * Results:
 *	0, or -1 if the frame is malformed (the caller closes).
 *
 *----------------------------------------------------------------------
 */

static int
Answer(
    const unsigned char *body,
    size_t len)
{
    const unsigned char *el[2] = {NULL, NULL};
    size_t elLen[2] = {0, 0}, off = 0;
    int n = 0;
    unsigned char *q;

    while (off < len) {
	size_t sz;

	if (len - off < 5 || body[off] > 0x01) {
	    return -1;
	}
	sz = Be32Get(body + off + 1);
	if (sz > len - off - 5) {
	    return -1;
	}
	if (n < 2) {
	    el[n] = body + off;
	    elLen[n] = 5 + sz;
	}
	n++;
	off += 5 + sz;
    }
    if (n == 0) {
	return 0;
    }
    if (elLen[0] == 9 && memcmp(el[0] + 5, "echo", 4) == 0 && n == 2) {
	q = OutReserve(4 + elLen[1]);
	q = Be32Put(q, (uint32_t) elLen[1]);
	memcpy(q, el[1], elLen[1]);
	outLen += 4 + elLen[1];
    } else if (elLen[0] == 13 && memcmp(el[0] + 5, "protocol", 8) == 0) {
	q = OutReserve(4 + len);
	q = Be32Put(q, (uint32_t) len);
	memcpy(q, body, len);
	outLen += 4 + len;
    } else {
	static const char ex[] = "exception";
	static const char msg[] = "unknown command";
	size_t blen = 5 + sizeof(ex) - 1 + 5 + sizeof(msg) - 1;

	q = OutReserve(4 + blen);
	q = Be32Put(q, (uint32_t) blen);
	*q++ = TAG_TEXT;
	q = Be32Put(q, sizeof(ex) - 1);
	memcpy(q, ex, sizeof(ex) - 1);
	q += sizeof(ex) - 1;
	*q++ = TAG_TEXT;
	q = Be32Put(q, sizeof(msg) - 1);
	memcpy(q, msg, sizeof(msg) - 1);
	outLen += 4 + blen;
    }
    return 0;
}

static void
WriteProc(
    uv_write_t *req,
    int status)
{
    Conn *c = (Conn *) req->handle->data;

    free(req);
    if (status < 0) {
	CloseConn(c);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Flush --
 *
 *	Writes the output buffer: directly if the socket takes it all,
 *	otherwise the rest is copied into a write request.
 *
 *----------------------------------------------------------------------
 */

static void
Flush(
    Conn *c)
{
    uv_buf_t buf = uv_buf_init((char *) outBuf, (unsigned) outLen);
    int n = uv_try_write((uv_stream_t *) &c->tcp, &buf, 1);

    if (n == UV_EAGAIN || n == UV_ENOSYS) {
	n = 0;
    }
    if (n < 0) {
	CloseConn(c);
    } else if ((size_t) n < outLen) {
	size_t rest = outLen - (size_t) n;
	WriteReq *w = (WriteReq *) malloc(sizeof(WriteReq) + rest);

	memcpy(w->data, outBuf + n, rest);
	w->buf = uv_buf_init((char *) w->data, (unsigned) rest);
	if (uv_write(&w->req, (uv_stream_t *) &c->tcp, &w->buf, 1,
		WriteProc) != 0) {
	    free(w);
	    CloseConn(c);
	}
    }
    outLen = 0;
}

static void
AllocProc(
    uv_handle_t *h,
    size_t hint,
    uv_buf_t *bufPtr)
{
    Conn *c = (Conn *) h->data;

    (void) hint;
    if (c->carry.len > 0) {
	memcpy(readBuf, c->carry.bytes, c->carry.len);
    }
    bufPtr->base = (char *) readBuf + c->carry.len;
    bufPtr->len = sizeof(readBuf) - c->carry.len;
}

/*
 *----------------------------------------------------------------------
 *
 * ReadProc --
 *
 *	Answers every complete frame of the read, keeps the tail, writes
 *	the replies once.
 *
 *----------------------------------------------------------------------
 */

static void
ReadProc(
    uv_stream_t *s,
    ssize_t nread,
    const uv_buf_t *b)
{
    Conn *c = (Conn *) s->data;
    size_t avail, off = 0;

    (void) b;
    if (nread == 0) {
	return;
    }
    if (nread < 0) {
	CloseConn(c);
	return;
    }
    avail = c->carry.len + (size_t) nread;
    outLen = 0;
    while (avail - off >= 4) {
	uint32_t len = Be32Get(readBuf + off);

	if (len > MAX_FRAME) {
	    CloseConn(c);
	    return;
	}
	if (avail - off < 4 + (size_t) len) {
	    break;
	}
	if (Answer(readBuf + off + 4, len) != 0) {
	    CloseConn(c);
	    return;
	}
	off += 4 + (size_t) len;
    }
    if (avail - off > CARRY_MAX) {
	/*
	 * A frame bigger than the carry may hold: this benchmark server
	 * does not take those.
	 */

	CloseConn(c);
	return;
    }
    CarryKeep(&c->carry, readBuf + off, avail - off);
    if (outLen > 0) {
	Flush(c);
    }
}

static void
AcceptProc(
    uv_stream_t *server,
    int status)
{
    Conn *c;

    if (status != 0) {
	return;
    }
    c = (Conn *) calloc(1, sizeof(Conn));
    if (c == NULL) {
	return;
    }
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *) &c->tcp) != 0) {
	CloseConn(c);
	return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_read_start((uv_stream_t *) &c->tcp, AllocProc, ReadProc) != 0) {
	CloseConn(c);
    }
}

static void
StdinAllocProc(
    uv_handle_t *h,
    size_t hint,
    uv_buf_t *bufPtr)
{
    (void) h;
    (void) hint;
    bufPtr->base = stdinBuf;
    bufPtr->len = sizeof(stdinBuf);
}

static void
StdinReadProc(
    uv_stream_t *s,
    ssize_t nread,
    const uv_buf_t *b)
{
    (void) s;
    (void) b;
    if (nread < 0) {
	exit(0);
    }
}

int
main(
    int argc,
    char **argv)
{
    struct sockaddr_in addr;
    struct sockaddr_storage name;
    int nameLen = sizeof(name), port = 0, status;

    if (argc == 3 && strcmp(argv[1], "-port") == 0) {
	port = atoi(argv[2]);
    } else if (argc != 1) {
	fprintf(stderr, "usage: uvecho ?-port N?\n");
	return 1;
    }
    RaiseNofile();
    loop = uv_default_loop();
    uv_tcp_init(loop, &listener);
    uv_ip4_addr("127.0.0.1", port, &addr);
    status = uv_tcp_bind(&listener, (const struct sockaddr *) &addr, 0);
    if (status == 0) {
	status = uv_listen((uv_stream_t *) &listener, 4096, AcceptProc);
    }
    if (status != 0) {
	fprintf(stderr, "uvecho: %s\n", uv_strerror(status));
	return 1;
    }
    uv_tcp_getsockname(&listener, (struct sockaddr *) &name, &nameLen);
    printf("%d\n", ntohs(((struct sockaddr_in *) &name)->sin_port));
    fflush(stdout);

    if (uv_guess_handle(0) == UV_NAMED_PIPE) {
	uv_pipe_init(loop, &stdinPipe, 0);
	if (uv_pipe_open(&stdinPipe, 0) == 0) {
	    uv_read_start((uv_stream_t *) &stdinPipe, StdinAllocProc,
		    StdinReadProc);
	}
    }
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
