/*
 * loadgen.c --
 *
 *	Load generator of the p2pjobs benchmarks (bench/run.tcl drives it).
 *	One libuv loop, one thread, connections to 127.0.0.1 only. It speaks
 *	either the p2pjobs frame format (-wire p2p, doc/protocol.md) or
 *	newline-terminated lines (-wire line, for the plain Tcl baseline),
 *	sends "echo PAYLOAD" messages and checks that every reply is exactly
 *	PAYLOAD. Before measuring, each connection negotiates: it sends
 *	"protocol NAME" and waits for the reply "protocol NAME" (all three
 *	benchmark servers answer it, so all do the same work).
 *
 *	Modes:
 *	  pipeline  -conns C connections, each keeping -window W messages in
 *		    flight (refilled once per read, in one write), for
 *		    -seconds T after -warmup S: messages/s.
 *	  rtt	    one connection, one message at a time, samples after
 *		    -warmup S until -count N or -seconds T: p50/p99/mean us.
 *	  conns	    -conns K connections opened at once (at most -inflight
 *		    M connecting at a time, 0 = no cap), each negotiates and
 *		    does one echo round trip; reports the completion time,
 *		    then keeps them all open until a line or EOF arrives on
 *		    stdin (or -hold S seconds pass) so that the server's
 *		    memory can be read meanwhile; then closes them.
 *
 *	Output: one line "result key=value ..." on stdout. Errors go to
 *	stderr with exit status 1.
 *
 *	Build: cc -O2 -o loadgen loadgen.c $(pkg-config --cflags --libs libuv)
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <uv.h>

#include "benchwire.h"

#define MAX_FRAME	(4u * 1024 * 1024)

enum { WIRE_P2P, WIRE_LINE };
enum { MODE_PIPELINE, MODE_RTT, MODE_CONNS };
enum { ST_IDLE, ST_CONNECTING, ST_NEGOTIATING, ST_RUNNING, ST_DONE,
       ST_CLOSED };

/*
 * One client connection. Owned by the global array G.conns; its handle
 * is closed by CloseConn (or at the end) and the carry freed in the close
 * callback.
 */

typedef struct Conn {
    uv_tcp_t tcp;
    uv_connect_t connectReq;
    Carry carry;
    int state;
    int inited;			/* tcp handle initialised. */
    int closing;		/* uv_close called. */
    long inflight;		/* Echo messages sent, not yet answered. */
    uint64_t sentAt;		/* rtt: hrtime of the last send. */
} Conn;

typedef struct WriteReq {
    uv_write_t req;
    uv_buf_t buf;		/* Points into static message memory. */
} WriteReq;

/*
 * Settings and counters of the run.
 */

static struct {
    int port;
    int wire;
    int mode;
    long nconns;
    long window;
    double seconds;
    double warmup;
    long count;
    long payloadLen;
    const char *protocol;
    double hold;
    double timeout;
    long maxInflight;

    uv_loop_t *loop;
    Conn *conns;
    unsigned char *echoMsgs;	/* window copies of the echo message. */
    size_t echoLen;
    unsigned char *echoReply;
    size_t echoReplyLen;
    unsigned char *protoMsg;
    size_t protoLen;

    long started;		/* Connections started. */
    long ready;			/* Negotiated. */
    long done;			/* conns: round trip complete. */
    long failed;		/* conns: failed before their reply. */
    long lost;			/* conns: closed by the server while held. */
    int stopping;
    int finished;
    uint64_t t0;		/* hrtime at start. */
    uint64_t tStart;		/* hrtime when all connections are ready. */
    uint64_t tWarm;		/* hrtime when the warm-up ended. */
    uint64_t tEnd;
    uint64_t sentTotal;
    uint64_t recvTotal;
    uint64_t recvWarm;
    double cpuWarm;

    double *samples;		/* rtt: us per sample; conns: ms per conn. */
    long nsamples;
    long maxSamples;

    uv_timer_t phaseTimer;
    uv_timer_t timeoutTimer;
    uv_timer_t holdTimer;
    uv_pipe_t stdinPipe;
    int stdinOpen;
} G;

static unsigned char readBuf[READ_BUF_SIZE];
static Conn *readConn;		/* The connection readBuf was handed to. */

static void	AllocProc(uv_handle_t *h, size_t hint, uv_buf_t *bufPtr);
static void	ReadProc(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
static void	ConnectProc(uv_connect_t *req, int status);
static void	WriteProc(uv_write_t *req, int status);
static void	CloseProc(uv_handle_t *h);
static void	StartConn(Conn *c);
static void	ConnReady(Conn *c);
static void	ConnFailed(Conn *c, const char *why, int status);
static void	CloseConn(Conn *c);
static void	CloseAll(void);
static void	Refill(Conn *c);
static void	Send(Conn *c, const unsigned char *data, size_t len);
static void	Finish(void);
static void	Fatal(const char *fmt, ...);
static double	CpuSeconds(void);

/*
 *----------------------------------------------------------------------
 *
 * Fatal --
 *
 *	Prints an error to stderr and exits with status 1.
 *
 *----------------------------------------------------------------------
 */

static void
Fatal(
    const char *fmt,
    ...)
{
    va_list ap;

    fflush(stdout);
    fputs("loadgen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double
CpuSeconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
	    + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
CompareDouble(
    const void *a,
    const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return (x < y) ? -1 : (x > y);
}

/*
 *----------------------------------------------------------------------
 *
 * Percentile --
 *
 *	Nearest-rank percentile of the sorted array v[0..n-1].
 *
 *----------------------------------------------------------------------
 */

static double
Percentile(
    const double *v,
    long n,
    double pct)
{
    long rank;

    if (n <= 0) {
	return 0.0;
    }
    rank = (long) (pct / 100.0 * n + 0.999999);
    if (rank < 1) {
	rank = 1;
    }
    if (rank > n) {
	rank = n;
    }
    return v[rank - 1];
}

/*
 *----------------------------------------------------------------------
 *
 * BuildMessages --
 *
 *	Builds the wire bytes of the echo message (window copies back to
 *	back, so that any refill is one contiguous slice), the expected
 *	echo reply and the negotiation message, which is also its own
 *	expected reply.
 *
 *----------------------------------------------------------------------
 */

static void
BuildMessages(void)
{
    static const char alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t p = (size_t) G.payloadLen, n = strlen(G.protocol), i;
    unsigned char *payload = (unsigned char *) malloc(p + 1), *q, *one;
    long w;

    for (i = 0; i < p; i++) {
	payload[i] = (unsigned char) alphabet[(i * 7 + 3) % 62];
    }
    if (G.wire == WIRE_P2P) {
	G.echoLen = 4 + 5 + 4 + 5 + p;
	G.echoReplyLen = 4 + 5 + p;
	G.protoLen = (n > 0) ? 4 + 5 + 8 + 5 + n : 0;
    } else {
	G.echoLen = 5 + p + 1;
	G.echoReplyLen = p + 1;
	G.protoLen = (n > 0) ? 9 + n + 1 : 0;
    }
    one = (unsigned char *) malloc(G.echoLen);
    G.echoReply = (unsigned char *) malloc(G.echoReplyLen);
    G.protoMsg = (unsigned char *) malloc(G.protoLen + 1);
    if (G.wire == WIRE_P2P) {
	q = Be32Put(one, (uint32_t) (G.echoLen - 4));
	*q++ = TAG_TEXT;
	q = Be32Put(q, 4);
	memcpy(q, "echo", 4);
	q += 4;
	*q++ = TAG_TEXT;
	q = Be32Put(q, (uint32_t) p);
	memcpy(q, payload, p);

	q = Be32Put(G.echoReply, (uint32_t) (G.echoReplyLen - 4));
	*q++ = TAG_TEXT;
	q = Be32Put(q, (uint32_t) p);
	memcpy(q, payload, p);

	if (n > 0) {
	    q = Be32Put(G.protoMsg, (uint32_t) (G.protoLen - 4));
	    *q++ = TAG_TEXT;
	    q = Be32Put(q, 8);
	    memcpy(q, "protocol", 8);
	    q += 8;
	    *q++ = TAG_TEXT;
	    q = Be32Put(q, (uint32_t) n);
	    memcpy(q, G.protocol, n);
	}
    } else {
	memcpy(one, "echo ", 5);
	memcpy(one + 5, payload, p);
	one[5 + p] = '\n';
	memcpy(G.echoReply, payload, p);
	G.echoReply[p] = '\n';
	if (n > 0) {
	    memcpy(G.protoMsg, "protocol ", 9);
	    memcpy(G.protoMsg + 9, G.protocol, n);
	    G.protoMsg[9 + n] = '\n';
	}
    }
    G.echoMsgs = (unsigned char *) malloc(G.echoLen * (size_t) G.window);
    for (w = 0; w < G.window; w++) {
	memcpy(G.echoMsgs + (size_t) w * G.echoLen, one, G.echoLen);
    }
    free(one);
    free(payload);
}

/*
 *----------------------------------------------------------------------
 *
 * Describe --
 *
 *	Renders an unexpected reply for an error message: the elements of
 *	a frame, or the line, printable bytes only, truncated.
 *
 *----------------------------------------------------------------------
 */

static const char *
Describe(
    const unsigned char *p,
    size_t n)
{
    static char out[400];
    size_t o = 0, i = 0, end = n;

    if (G.wire == WIRE_P2P) {
	i = 4;
	while (i + 5 <= end && o < sizeof(out) - 8) {
	    size_t sz = Be32Get(p + i + 1), k;

	    i += 5;
	    if (o > 0) {
		out[o++] = ' ';
	    }
	    out[o++] = '{';
	    for (k = 0; k < sz && i + k < end && o < sizeof(out) - 8; k++) {
		unsigned char ch = p[i + k];
		out[o++] = (ch >= 32 && ch < 127) ? (char) ch : '?';
	    }
	    out[o++] = '}';
	    i += sz;
	}
    } else {
	for (; i < end && o < sizeof(out) - 8; i++) {
	    unsigned char ch = p[i];
	    out[o++] = (ch >= 32 && ch < 127) ? (char) ch : '?';
	}
    }
    out[o] = '\0';
    return out;
}

/*
 *----------------------------------------------------------------------
 *
 * OnReply --
 *
 *	Handles one complete reply (frame or line) of a connection.
 *
 *----------------------------------------------------------------------
 */

static void
OnReply(
    Conn *c,
    const unsigned char *p,
    size_t n)
{
    uint64_t now;

    if (c->state == ST_NEGOTIATING) {
	if (n != G.protoLen || memcmp(p, G.protoMsg, n) != 0) {
	    Fatal("negotiation failed: server replied: %s", Describe(p, n));
	}
	ConnReady(c);
	return;
    }
    if (c->state != ST_RUNNING || c->inflight <= 0) {
	Fatal("unsolicited reply: %s", Describe(p, n));
    }
    if (n != G.echoReplyLen || memcmp(p, G.echoReply, n) != 0) {
	Fatal("wrong echo reply: %s", Describe(p, n));
    }
    c->inflight--;
    G.recvTotal++;
    switch (G.mode) {
    case MODE_PIPELINE:
	break;
    case MODE_RTT:
	now = uv_hrtime();
	if (G.tWarm != 0 && !G.stopping) {
	    G.samples[G.nsamples++] = (now - c->sentAt) / 1e3;
	    if (G.nsamples >= G.maxSamples || now >= G.tEnd) {
		Finish();
	    }
	} else if (G.tWarm == 0 && now >= G.tStart
		+ (uint64_t) (G.warmup * 1e9)) {
	    G.tWarm = now;
	    G.recvWarm = G.recvTotal;
	    G.cpuWarm = CpuSeconds();
	    G.tEnd = now + (uint64_t) (G.seconds * 1e9);
	}
	break;
    case MODE_CONNS:
	now = uv_hrtime();
	c->state = ST_DONE;
	G.done++;
	G.samples[G.nsamples++] = (now - G.t0) / 1e6;
	if (G.started < G.nconns) {
	    StartConn(&G.conns[G.started]);
	}
	if (G.done + G.failed == G.nconns) {
	    Finish();
	}
	break;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * AllocProc, ReadProc --
 *
 *	Reads land in readBuf after the connection's carry; every complete
 *	reply is handled, the tail becomes the new carry, and (pipeline,
 *	rtt) the window is refilled with one write.
 *
 *----------------------------------------------------------------------
 */

static void
AllocProc(
    uv_handle_t *h,
    size_t hint,
    uv_buf_t *bufPtr)
{
    Conn *c = (Conn *) h->data;

    (void) hint;
    readConn = c;
    if (c->carry.len > 0) {
	memcpy(readBuf, c->carry.bytes, c->carry.len);
    }
    bufPtr->base = (char *) readBuf + c->carry.len;
    bufPtr->len = sizeof(readBuf) - c->carry.len;
}

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
	if (c->state == ST_DONE) {
	    G.lost++;
	    CloseConn(c);
	} else {
	    ConnFailed(c, "connection closed by the server", (int) nread);
	}
	return;
    }
    if (readConn != c) {
	Fatal("internal error: read buffer handed to another connection");
    }
    avail = c->carry.len + (size_t) nread;
    for (;;) {
	size_t unit;

	if (G.wire == WIRE_P2P) {
	    uint32_t len;

	    if (avail - off < 4) {
		break;
	    }
	    len = Be32Get(readBuf + off);
	    if (len > MAX_FRAME) {
		Fatal("server sent a frame of %u bytes", len);
	    }
	    if (avail - off < 4 + (size_t) len) {
		break;
	    }
	    unit = 4 + (size_t) len;
	    if (len == 0) {
		off += unit;		/* Keepalive. */
		continue;
	    }
	} else {
	    const unsigned char *nl = (const unsigned char *)
		    memchr(readBuf + off, '\n', avail - off);

	    if (nl == NULL) {
		break;
	    }
	    unit = (size_t) (nl - (readBuf + off)) + 1;
	}
	OnReply(c, readBuf + off, unit);
	off += unit;
	if (c->closing) {
	    return;
	}
    }
    if (CarryKeep(&c->carry, readBuf + off, avail - off) != 0) {
	Fatal("reply too long (%zu bytes without an end)", avail - off);
    }
    if (c->state == ST_RUNNING && G.mode != MODE_CONNS) {
	Refill(c);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Send --
 *
 *	Writes bytes that stay valid for the whole run (static message
 *	memory): at once if the socket takes them, the rest queued.
 *
 *----------------------------------------------------------------------
 */

static void
Send(
    Conn *c,
    const unsigned char *data,
    size_t len)
{
    uv_buf_t buf = uv_buf_init((char *) data, (unsigned) len);
    int n = uv_try_write((uv_stream_t *) &c->tcp, &buf, 1);

    if (n == UV_EAGAIN || n == UV_ENOSYS) {
	n = 0;
    }
    if (n < 0) {
	ConnFailed(c, "write failed", n);
	return;
    }
    if ((size_t) n < len) {
	WriteReq *w = (WriteReq *) malloc(sizeof(WriteReq));
	int status;

	w->buf = uv_buf_init((char *) data + n, (unsigned) (len - n));
	status = uv_write(&w->req, (uv_stream_t *) &c->tcp, &w->buf, 1,
		WriteProc);
	if (status != 0) {
	    free(w);
	    ConnFailed(c, "write failed", status);
	}
    }
}

static void
WriteProc(
    uv_write_t *req,
    int status)
{
    Conn *c = (Conn *) req->handle->data;

    free(req);
    if (status < 0 && status != UV_ECANCELED && !c->closing) {
	ConnFailed(c, "write failed", status);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Refill --
 *
 *	Tops the connection's messages in flight up to the window, in one
 *	write. For rtt the window is 1 and the send time is recorded.
 *
 *----------------------------------------------------------------------
 */

static void
Refill(
    Conn *c)
{
    long k = G.window - c->inflight;

    if (G.stopping || c->closing || k <= 0) {
	return;
    }
    if (G.mode == MODE_RTT) {
	c->sentAt = uv_hrtime();
    }
    c->inflight += k;
    G.sentTotal += (uint64_t) k;
    Send(c, G.echoMsgs, G.echoLen * (size_t) k);
}

/*
 *----------------------------------------------------------------------
 *
 * StartConn, ConnectProc --
 *
 *	Opens a connection to 127.0.0.1:port and sends the negotiation
 *	message once connected.
 *
 *----------------------------------------------------------------------
 */

static void
StartConn(
    Conn *c)
{
    struct sockaddr_in addr;
    int status;

    G.started++;
    uv_ip4_addr("127.0.0.1", G.port, &addr);
    status = uv_tcp_init(G.loop, &c->tcp);
    if (status != 0) {
	Fatal("uv_tcp_init: %s", uv_strerror(status));
    }
    c->inited = 1;
    c->tcp.data = c;
    c->state = ST_CONNECTING;
    status = uv_tcp_connect(&c->connectReq, &c->tcp,
	    (const struct sockaddr *) &addr, ConnectProc);
    if (status != 0) {
	ConnFailed(c, "connect failed", status);
    }
}

static void
ConnectProc(
    uv_connect_t *req,
    int status)
{
    Conn *c = (Conn *) req->handle->data;

    if (status == UV_ECANCELED || c->closing) {
	return;
    }
    if (status != 0) {
	ConnFailed(c, "connect failed", status);
	return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    status = uv_read_start((uv_stream_t *) &c->tcp, AllocProc, ReadProc);
    if (status != 0) {
	ConnFailed(c, "read start failed", status);
	return;
    }
    if (G.protoLen > 0) {
	c->state = ST_NEGOTIATING;
	Send(c, G.protoMsg, G.protoLen);
    } else {
	ConnReady(c);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * ConnReady --
 *
 *	A connection has negotiated. Pipeline and rtt start measuring when
 *	all are ready; conns sends its one message at once.
 *
 *----------------------------------------------------------------------
 */

static void PhaseProc(uv_timer_t *t);

static void
ConnReady(
    Conn *c)
{
    long i;

    c->state = ST_RUNNING;
    G.ready++;
    if (G.mode == MODE_CONNS) {
	c->inflight = 1;
	G.sentTotal++;
	Send(c, G.echoMsgs, G.echoLen);
	return;
    }
    if (G.ready < G.nconns) {
	return;
    }
    uv_timer_stop(&G.timeoutTimer);
    G.tStart = uv_hrtime();
    if (G.mode == MODE_PIPELINE) {
	uv_timer_start(&G.phaseTimer, PhaseProc,
		(uint64_t) (G.warmup * 1000 + 0.5), 0);
    }
    for (i = 0; i < G.nconns; i++) {
	Refill(&G.conns[i]);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * PhaseProc --
 *
 *	pipeline: the first expiry ends the warm-up, the second the run.
 *
 *----------------------------------------------------------------------
 */

static void
PhaseProc(
    uv_timer_t *t)
{
    if (G.tWarm == 0) {
	G.tWarm = uv_hrtime();
	G.recvWarm = G.recvTotal;
	G.cpuWarm = CpuSeconds();
	uv_timer_start(t, PhaseProc, (uint64_t) (G.seconds * 1000 + 0.5), 0);
	return;
    }
    Finish();
}

/*
 *----------------------------------------------------------------------
 *
 * TimeoutProc --
 *
 *	Bounds the setup phase (pipeline, rtt: an error) and the round
 *	trips of conns (the ones still missing count as failed).
 *
 *----------------------------------------------------------------------
 */

static void
TimeoutProc(
    uv_timer_t *t)
{
    long i;

    (void) t;
    if (G.mode != MODE_CONNS) {
	Fatal("timeout: %ld of %ld connections negotiated after %g s",
		G.ready, G.nconns, G.timeout);
    }
    fprintf(stderr, "loadgen: timeout: %ld of %ld round trips done after"
	    " %g s\n", G.done, G.nconns, G.timeout);
    G.started = G.nconns;
    for (i = 0; i < G.nconns; i++) {
	Conn *c = &G.conns[i];

	if (c->state != ST_DONE && c->state != ST_CLOSED) {
	    G.failed++;
	    CloseConn(c);
	}
    }
    Finish();
}

/*
 *----------------------------------------------------------------------
 *
 * ConnFailed --
 *
 *	A connection failed: fatal in pipeline and rtt, counted in conns.
 *
 *----------------------------------------------------------------------
 */

static void
ConnFailed(
    Conn *c,
    const char *why,
    int status)
{
    if (G.stopping && G.mode != MODE_CONNS) {
	CloseConn(c);
	return;
    }
    if (G.mode != MODE_CONNS) {
	Fatal("%s: %s", why, uv_strerror(status));
    }
    if (c->state == ST_CLOSED) {
	return;
    }
    if (c->state == ST_DONE) {
	G.lost++;
	CloseConn(c);
	return;
    }
    if (G.failed == 0) {
	fprintf(stderr, "loadgen: first failure after %ld round trips: %s:"
		" %s\n", G.done, why, uv_strerror(status));
    }
    G.failed++;
    CloseConn(c);
    if (G.started < G.nconns) {
	StartConn(&G.conns[G.started]);
    }
    if (G.done + G.failed == G.nconns && !G.finished) {
	Finish();
    }
}

static void
CloseProc(
    uv_handle_t *h)
{
    Conn *c = (Conn *) h->data;

    CarryFree(&c->carry);
}

static void
CloseConn(
    Conn *c)
{
    if (c->inited && !c->closing) {
	c->closing = 1;
	c->state = ST_CLOSED;
	uv_read_stop((uv_stream_t *) &c->tcp);
	uv_close((uv_handle_t *) &c->tcp, CloseProc);
    }
}

static void
CloseAll(void)
{
    long i;

    if (G.mode == MODE_CONNS && G.finished == 1) {
	G.finished = 2;
	printf("held lost=%ld\n", G.lost);
	fflush(stdout);
    }
    for (i = 0; i < G.nconns; i++) {
	CloseConn(&G.conns[i]);
    }
    uv_timer_stop(&G.phaseTimer);
    uv_timer_stop(&G.timeoutTimer);
    uv_timer_stop(&G.holdTimer);
    if (G.stdinOpen) {
	G.stdinOpen = 0;
	uv_close((uv_handle_t *) &G.stdinPipe, NULL);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Hold --
 *
 *	conns: the result is out; keep the connections open until stdin
 *	says so (a line or EOF) or -hold seconds pass.
 *
 *----------------------------------------------------------------------
 */

static char stdinBuf[256];

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
    if (nread != 0) {
	CloseAll();
    }
}

static void
HoldProc(
    uv_timer_t *t)
{
    (void) t;
    CloseAll();
}

static void
Hold(void)
{
    if (uv_guess_handle(0) == UV_NAMED_PIPE
	    && uv_pipe_init(G.loop, &G.stdinPipe, 0) == 0) {
	if (uv_pipe_open(&G.stdinPipe, 0) == 0 && uv_read_start(
		(uv_stream_t *) &G.stdinPipe, StdinAllocProc,
		StdinReadProc) == 0) {
	    G.stdinOpen = 1;
	} else {
	    uv_close((uv_handle_t *) &G.stdinPipe, NULL);
	}
    }
    if (!G.stdinOpen && G.hold <= 0) {
	CloseAll();
	return;
    }
    if (G.hold > 0) {
	uv_timer_start(&G.holdTimer, HoldProc,
		(uint64_t) (G.hold * 1000 + 0.5), 0);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Finish --
 *
 *	Prints the result line. pipeline and rtt close everything; conns
 *	holds its connections.
 *
 *----------------------------------------------------------------------
 */

static void
Finish(void)
{
    uint64_t now = uv_hrtime();
    double cpu = CpuSeconds(), wall = (now - G.t0) / 1e9;
    const char *wire = (G.wire == WIRE_P2P) ? "p2p" : "line";

    if (G.finished) {
	return;
    }
    G.finished = 1;
    G.stopping = 1;
    switch (G.mode) {
    case MODE_PIPELINE: {
	double secs = (now - G.tWarm) / 1e9;
	uint64_t msgs = G.recvTotal - G.recvWarm;

	printf("result mode=pipeline wire=%s conns=%ld window=%ld"
		" seconds=%.3f msgs=%llu rate=%.0f total=%llu lg_cpu=%.3f"
		" lg_wall=%.3f lg_busy=%.3f\n", wire, G.nconns, G.window,
		secs, (unsigned long long) msgs, msgs / secs,
		(unsigned long long) G.recvTotal, cpu, wall,
		(cpu - G.cpuWarm) / secs);
	CloseAll();
	break;
    }
    case MODE_RTT: {
	double sum = 0.0, secs = (now - G.tWarm) / 1e9;
	long i;

	for (i = 0; i < G.nsamples; i++) {
	    sum += G.samples[i];
	}
	qsort(G.samples, (size_t) G.nsamples, sizeof(double), CompareDouble);
	printf("result mode=rtt wire=%s samples=%ld p50_us=%.2f p99_us=%.2f"
		" mean_us=%.2f min_us=%.2f max_us=%.2f total=%llu"
		" lg_cpu=%.3f lg_wall=%.3f lg_busy=%.3f\n", wire, G.nsamples,
		Percentile(G.samples, G.nsamples, 50),
		Percentile(G.samples, G.nsamples, 99),
		G.nsamples ? sum / G.nsamples : 0.0,
		G.nsamples ? G.samples[0] : 0.0,
		G.nsamples ? G.samples[G.nsamples - 1] : 0.0,
		(unsigned long long) G.recvTotal, cpu, wall,
		(cpu - G.cpuWarm) / secs);
	CloseAll();
	break;
    }
    case MODE_CONNS:
	qsort(G.samples, (size_t) G.nsamples, sizeof(double), CompareDouble);
	printf("result mode=conns wire=%s conns=%ld completed=%ld failed=%ld"
		" complete_ms=%.1f p50_ms=%.1f p99_ms=%.1f total=%llu"
		" lg_cpu=%.3f lg_wall=%.3f\n", wire, G.nconns, G.done,
		G.failed, (now - G.t0) / 1e6,
		Percentile(G.samples, G.nsamples, 50),
		Percentile(G.samples, G.nsamples, 99),
		(unsigned long long) G.recvTotal, cpu, wall);
	uv_timer_stop(&G.timeoutTimer);
	Hold();
	break;
    }
    fflush(stdout);
}

/*
 *----------------------------------------------------------------------
 *
 * main --
 *
 *----------------------------------------------------------------------
 */

static void
Usage(void)
{
    fprintf(stderr, "usage: loadgen -port N ?-wire p2p|line?"
	    " ?-mode pipeline|rtt|conns? ?-conns N? ?-window N? ?-seconds S?"
	    " ?-warmup S? ?-count N? ?-payload BYTES? ?-protocol NAME?"
	    " ?-hold S? ?-timeout S? ?-inflight N?\n");
    exit(1);
}

int
main(
    int argc,
    char **argv)
{
    int i;
    long nofile, need;

    G.port = -1;
    G.wire = WIRE_P2P;
    G.mode = MODE_PIPELINE;
    G.nconns = -1;
    G.window = -1;
    G.seconds = 5.0;
    G.warmup = 0.5;
    G.count = 100000;
    G.payloadLen = 64;
    G.protocol = "bench/1";
    G.hold = 60.0;
    G.timeout = 60.0;
    G.maxInflight = 0;

    for (i = 1; i < argc; i += 2) {
	const char *opt = argv[i], *val;

	if (i + 1 >= argc) {
	    Usage();
	}
	val = argv[i + 1];
	if (strcmp(opt, "-port") == 0) {
	    G.port = atoi(val);
	} else if (strcmp(opt, "-wire") == 0) {
	    if (strcmp(val, "p2p") == 0) {
		G.wire = WIRE_P2P;
	    } else if (strcmp(val, "line") == 0) {
		G.wire = WIRE_LINE;
	    } else {
		Usage();
	    }
	} else if (strcmp(opt, "-mode") == 0) {
	    if (strcmp(val, "pipeline") == 0) {
		G.mode = MODE_PIPELINE;
	    } else if (strcmp(val, "rtt") == 0) {
		G.mode = MODE_RTT;
	    } else if (strcmp(val, "conns") == 0) {
		G.mode = MODE_CONNS;
	    } else {
		Usage();
	    }
	} else if (strcmp(opt, "-conns") == 0) {
	    G.nconns = atol(val);
	} else if (strcmp(opt, "-window") == 0) {
	    G.window = atol(val);
	} else if (strcmp(opt, "-seconds") == 0) {
	    G.seconds = atof(val);
	} else if (strcmp(opt, "-warmup") == 0) {
	    G.warmup = atof(val);
	} else if (strcmp(opt, "-count") == 0) {
	    G.count = atol(val);
	} else if (strcmp(opt, "-payload") == 0) {
	    G.payloadLen = atol(val);
	} else if (strcmp(opt, "-protocol") == 0) {
	    G.protocol = val;
	} else if (strcmp(opt, "-hold") == 0) {
	    G.hold = atof(val);
	} else if (strcmp(opt, "-timeout") == 0) {
	    G.timeout = atof(val);
	} else if (strcmp(opt, "-inflight") == 0) {
	    G.maxInflight = atol(val);
	} else {
	    Usage();
	}
    }
    if (G.port <= 0 || G.port > 65535) {
	Usage();
    }
    if (G.mode == MODE_RTT) {
	G.nconns = 1;
	G.window = 1;
    } else if (G.mode == MODE_CONNS) {
	if (G.nconns < 0) {
	    G.nconns = 10000;
	}
	G.window = 1;
    } else {
	if (G.nconns < 0) {
	    G.nconns = 8;
	}
	if (G.window < 0) {
	    G.window = 128;
	}
    }
    if (G.nconns < 1 || G.window < 1 || G.payloadLen < 1
	    || G.payloadLen > 65536 || G.seconds <= 0 || G.warmup < 0
	    || G.count < 1 || G.timeout <= 0) {
	Usage();
    }
    if (strpbrk(G.protocol, " \n") != NULL) {
	Fatal("protocol name must not contain spaces or newlines");
    }

    nofile = RaiseNofile();
    need = G.nconns + 16;
    if (nofile >= 0 && nofile < need) {
	Fatal("RLIMIT_NOFILE is %ld, %ld connections need %ld", nofile,
		G.nconns, need);
    }

    BuildMessages();
    G.loop = uv_default_loop();
    G.conns = (Conn *) calloc((size_t) G.nconns, sizeof(Conn));
    if (G.mode == MODE_RTT) {
	G.maxSamples = G.count;
    } else if (G.mode == MODE_CONNS) {
	G.maxSamples = G.nconns;
    }
    if (G.maxSamples > 0) {
	G.samples = (double *) malloc((size_t) G.maxSamples * sizeof(double));
    }
    if (G.conns == NULL || (G.maxSamples > 0 && G.samples == NULL)) {
	Fatal("out of memory");
    }
    uv_timer_init(G.loop, &G.phaseTimer);
    uv_timer_init(G.loop, &G.timeoutTimer);
    uv_timer_init(G.loop, &G.holdTimer);
    uv_timer_start(&G.timeoutTimer, TimeoutProc,
	    (uint64_t) (G.timeout * 1000 + 0.5), 0);

    G.t0 = uv_hrtime();
    {
	long first = G.nconns;

	if (G.mode == MODE_CONNS && G.maxInflight > 0
		&& G.maxInflight < first) {
	    first = G.maxInflight;
	}
	while (G.started < first) {
	    StartConn(&G.conns[G.started]);
	}
    }
    uv_run(G.loop, UV_RUN_DEFAULT);
    if (!G.finished) {
	Fatal("event loop ended before the run finished");
    }
    if (G.mode == MODE_CONNS && G.lost > 0) {
	fprintf(stderr, "loadgen: %ld held connections were closed by the"
		" server\n", G.lost);
    }
    uv_loop_close(G.loop);
    return 0;
}
