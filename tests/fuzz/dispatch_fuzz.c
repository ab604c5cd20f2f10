/*
 * dispatch_fuzz.c --
 *
 *	libFuzzer target for the way from bytes on a socket to a protocol
 *	command and back: a real p2p::server in a real Tcl interpreter
 *	accepts a loopback TCP connection, and each input is what the peer
 *	sends on it. The server's own code does the rest: libuv reads the
 *	bytes (p2pConn.c), the frames are cut (p2pFrame.c) and decoded
 *	(p2pMessage.c), the first word is looked up in the table of the
 *	protocol the connection negotiated (p2pDispatch.c, p2pProtocol.c),
 *	the Tcl proc runs, and its result or error is framed back and
 *	written to the socket, where this file reads it.
 *
 *	Each input is processed synchronously: one connection is opened, the
 *	input written, and the interpreter's event loop run until the server
 *	has consumed every byte and written every reply (or closed the
 *	connection), then the connection is ended and the loop run until the
 *	server has freed it. Every wait is bounded (a hang aborts).
 *
 *	Besides letting the sanitizers watch, the target predicts the
 *	replies from the input and abort()s when the server disagrees:
 *
 *	  - every reply is a well-formed frame;
 *	  - "protocol OFFER..." answers "protocol fuzz/N" with the highest
 *	    version offered (1 or 2), else an exception; a second one is an
 *	    exception;
 *	  - before negotiation every word but "exception" (which is silently
 *	    reported) gets an exception;
 *	  - echo returns its arguments byte for byte with their tags (text
 *	    or binary), swap (fuzz/2 only) its two arguments swapped, fail
 *	    and any unknown command an exception;
 *	  - the server closes the connection exactly when the input holds a
 *	    frame over -maxframe or a malformed one; then the replies are a
 *	    prefix of those predicted for the frames before it, else exactly
 *	    those;
 *	  - after each input: no connection left, -onconnect and
 *	    -ondisconnect fired once each, no background error.
 *
 *	Frames are cut and elements iterated for the prediction with the
 *	functions of p2pFrame.c, which frame_fuzz.c checks against a
 *	reference of its own.
 *
 *	Build and run: make fuzz, make fuzz-smoke (see Makefile.in).
 */

/*
 * This file is the application: it calls libtcl directly, but libtcl
 * does not export the TclOO functions, which are reached through the stub
 * table that P2pjobs_Init sets up (it is called before any of them).
 */

#define USE_TCLOO_STUBS

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "p2pjobsInt.h"

int LLVMFuzzerInitialize(int *argcPtr, char ***argvPtr);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
    do { \
	if (!(cond)) { \
	    Fail(#cond, __LINE__); \
	} \
    } while (0)

/*
 * The server's -maxframe. Inputs longer than FUZZ_MAX_INPUT are ignored: with
 * them a reply (an echo, or an exception quoting a word, binary words
 * growing to at most twice their size as text) always fits in a frame.
 */

#define FUZZ_MAX_FRAME	65536
#define FUZZ_MAX_INPUT	16384

/*
 * How long one input may take before it counts as a hang, in ms.
 */

#define DEADLINE_MS	20000

/*
 * One predicted reply.
 */

enum { REPLY_EXACT, REPLY_EXCEPTION };

typedef struct Reply {
    int kind;			/* REPLY_EXACT: the words below;
				 * REPLY_EXCEPTION: "exception MESSAGE". */
    int numWords;
    P2pElement *words;		/* Point into the input or at constants;
				 * ckalloc'd array. */
} Reply;

typedef struct Prediction {
    Reply *replies;
    int numReplies;
    int room;
    int fatal;			/* The input has a frame that must close
				 * the connection. */
} Prediction;

/*
 * The interpreter and the server, made once.
 */

static Tcl_Interp *interp;
static P2pHandler *serverPtr;
static P2pLoop *loopPtr;
static Tcl_Encoding utf8;
static int serverPort;
static long inputs;		/* Inputs processed so far. */

static void		Fail(const char *what, int line);
static int		Elapsed(const struct timespec *startPtr);
static long		IntVar(const char *name);
static int		IsWord(const P2pElement *elPtr, const char *word);
static Reply *		AddReply(Prediction *predPtr, int kind, int numWords);
static void		Predict(const uint8_t *data, size_t size,
			    Prediction *predPtr);
static void		PredictMessage(const unsigned char *body, size_t len,
			    int *versionPtr, Prediction *predPtr);
static void		FreePrediction(Prediction *predPtr);
static int		CheckReplies(const unsigned char *buf, size_t len,
			    const Prediction *predPtr);
static P2pConn *	ServerConn(void);
static int		Idle(const P2pConn *connPtr);
static void		Pump(int clientFd);

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
    fprintf(stderr, "dispatch_fuzz.c:%d: invariant violated: %s\n", line,
	    what);
    abort();
}

/*
 *----------------------------------------------------------------------
 *
 * LLVMFuzzerInitialize --
 *
 *	Creates the interpreter, loads the package (linked in), and starts a
 *	server on 127.0.0.1 with two versions of the protocol "fuzz":
 *	fuzz/1 has echo and fail, fuzz/2 also swap.
 *
 * Results:
 *	0.
 *
 * Side effects:
 *	Aborts when any of that fails.
 *
 *----------------------------------------------------------------------
 */

int
LLVMFuzzerInitialize(
    int *argcPtr,
    char ***argvPtr)
{
    static const char *script =
	"namespace eval ::fuzz {\n"
	"    variable connects 0 disconnects 0 errors 0 bgerrors 0\n"
	"    proc echo {args} {return $args}\n"
	"    proc fail {args} {\n"
	"        return -code error -errorcode {FUZZ FAIL} \"failed\"\n"
	"    }\n"
	"    proc swap {a b} {list $b $a}\n"
	"    proc count {var args} {incr ::fuzz::$var}\n"
	"}\n"
	"interp bgerror {} {::fuzz::count bgerrors}\n"
	"p2p::server create ::fuzz::server -host 127.0.0.1 -port 0"
	"    -onconnect {::fuzz::count connects}"
	"    -ondisconnect {::fuzz::count disconnects}"
	"    -onerror {::fuzz::count errors}\n"
	"::fuzz::server protocol add fuzz/1 {"
	"    echo ::fuzz::echo fail ::fuzz::fail}\n"
	"::fuzz::server protocol add fuzz/2 {"
	"    echo ::fuzz::echo fail ::fuzz::fail swap ::fuzz::swap}\n"
	"::fuzz::server cget -port\n";
    Tcl_Object object;
    Tcl_Obj *maxFrameObj;

    (void) argcPtr;
    signal(SIGPIPE, SIG_IGN);
    Tcl_FindExecutable((*argvPtr)[0]);
    interp = Tcl_CreateInterp();
    utf8 = Tcl_GetEncoding(NULL, "utf-8");
    CHECK(utf8 != NULL);
    if (P2pjobs_Init(interp) != TCL_OK
	    || Tcl_Eval(interp, script) != TCL_OK
	    || Tcl_GetIntFromObj(interp, Tcl_GetObjResult(interp),
		    &serverPort) != TCL_OK) {
	fprintf(stderr, "dispatch_fuzz.c: setup failed: %s\n",
		Tcl_GetStringResult(interp));
	abort();
    }
    maxFrameObj = Tcl_ObjPrintf("::fuzz::server configure -maxframe %d",
	    FUZZ_MAX_FRAME);
    Tcl_IncrRefCount(maxFrameObj);
    CHECK(Tcl_EvalObjEx(interp, maxFrameObj, 0) == TCL_OK);
    Tcl_DecrRefCount(maxFrameObj);
    object = Tcl_GetObjectFromObj(interp,
	    Tcl_NewStringObj("::fuzz::server", -1));
    CHECK(object != NULL);
    serverPtr = (P2pHandler *) Tcl_ObjectGetMetadata(object,
	    &P2pHandlerMetaType);
    CHECK(serverPtr != NULL && serverPtr->kind == P2P_SERVER);
    loopPtr = serverPtr->loopPtr;
    CHECK(loopPtr->numConns == 0);
    Tcl_ResetResult(interp);
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Elapsed, IntVar --
 *
 *	Milliseconds since *startPtr; the integer value of a variable of
 *	the namespace ::fuzz.
 *
 *----------------------------------------------------------------------
 */

static int
Elapsed(
    const struct timespec *startPtr)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int) ((now.tv_sec - startPtr->tv_sec) * 1000
	    + (now.tv_nsec - startPtr->tv_nsec) / 1000000);
}

static long
IntVar(
    const char *name)
{
    Tcl_Obj *objPtr = Tcl_GetVar2Ex(interp, name, NULL, TCL_GLOBAL_ONLY);
    long value;

    CHECK(objPtr != NULL);
    CHECK(Tcl_GetLongFromObj(NULL, objPtr, &value) == TCL_OK);
    return value;
}

/*
 *----------------------------------------------------------------------
 *
 * IsWord --
 *
 *	Whether an element is the given ASCII word. The core looks words up
 *	by their string, and a text or binary element made of the same
 *	ASCII bytes has the same string.
 *
 *----------------------------------------------------------------------
 */

static int
IsWord(
    const P2pElement *elPtr,
    const char *word)
{
    size_t n = strlen(word);

    return elPtr->size == n && memcmp(elPtr->data, word, n) == 0;
}

/*
 *----------------------------------------------------------------------
 *
 * AddReply, FreePrediction --
 *
 *	Append a predicted reply with room for numWords words; free them
 *	all.
 *
 *----------------------------------------------------------------------
 */

static Reply *
AddReply(
    Prediction *predPtr,
    int kind,
    int numWords)
{
    Reply *replyPtr;

    if (predPtr->numReplies == predPtr->room) {
	predPtr->room = predPtr->room ? 2 * predPtr->room : 16;
	predPtr->replies = (Reply *) ckrealloc((char *) predPtr->replies,
		predPtr->room * sizeof(Reply));
    }
    replyPtr = &predPtr->replies[predPtr->numReplies++];
    replyPtr->kind = kind;
    replyPtr->numWords = numWords;
    replyPtr->words = (P2pElement *) ckalloc(
	    (numWords ? numWords : 1) * sizeof(P2pElement));
    return replyPtr;
}

static void
FreePrediction(
    Prediction *predPtr)
{
    int i;

    for (i = 0; i < predPtr->numReplies; i++) {
	ckfree((char *) predPtr->replies[i].words);
    }
    if (predPtr->replies) {
	ckfree((char *) predPtr->replies);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * Predict --
 *
 *	Cuts the input into frames as the server must and predicts the
 *	replies to them, up to the first frame that must close the
 *	connection or the incomplete rest.
 *
 * Results:
 *	Fills *predPtr.
 *
 *----------------------------------------------------------------------
 */

static void
Predict(
    const uint8_t *data,
    size_t size,
    Prediction *predPtr)
{
    size_t off = 0, frameLen;
    int version = 0;

    memset(predPtr, 0, sizeof(*predPtr));
    while (off < size) {
	P2pFrameCursor cur;
	P2pElement el;
	int code = P2pFrameScan(data + off, size - off, FUZZ_MAX_FRAME,
		&frameLen);

	if (code == P2P_FRAME_NEED) {
	    break;
	}
	if (code == P2P_FRAME_TOOBIG) {
	    predPtr->fatal = 1;
	    break;
	}
	CHECK(code == P2P_FRAME_OK);

	/*
	 * The body must be a sequence of valid elements.
	 */

	P2pFrameCursorInit(&cur, data + off + P2P_FRAME_HEADER,
		frameLen - P2P_FRAME_HEADER);
	while ((code = P2pFrameNextElement(&cur, &el)) == P2P_FRAME_OK) {
	    /* Just checking. */
	}
	if (code != P2P_FRAME_NEED) {
	    predPtr->fatal = 1;
	    break;
	}
	if (frameLen > P2P_FRAME_HEADER) {
	    PredictMessage(data + off + P2P_FRAME_HEADER,
		    frameLen - P2P_FRAME_HEADER, &version, predPtr);
	}
	off += frameLen;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * PredictMessage --
 *
 *	The reply to one well-formed message, given the protocol version
 *	negotiated so far (0: none yet), which it may change.
 *
 * Results:
 *	Appends zero or one reply to *predPtr.
 *
 *----------------------------------------------------------------------
 */

static void
PredictMessage(
    const unsigned char *body,
    size_t len,
    int *versionPtr,
    Prediction *predPtr)
{
    static const unsigned char protocolWord[] = "protocol";
    static const unsigned char name1[] = "fuzz/1", name2[] = "fuzz/2";
    P2pElement stackWords[16], *words = stackWords, el;
    P2pFrameCursor cur;
    int numWords = 0, room = 16, i;
    Reply *replyPtr;

    P2pFrameCursorInit(&cur, body, len);
    while (P2pFrameNextElement(&cur, &el) == P2P_FRAME_OK) {
	if (numWords == room) {
	    P2pElement *newWords = (P2pElement *) ckalloc(
		    2 * room * sizeof(P2pElement));

	    memcpy(newWords, words, numWords * sizeof(P2pElement));
	    if (words != stackWords) {
		ckfree((char *) words);
	    }
	    words = newWords;
	    room *= 2;
	}
	words[numWords++] = el;
    }
    CHECK(numWords > 0);

    if (IsWord(&words[0], "protocol")) {
	int best = 0;

	if (*versionPtr == 0) {
	    /*
	     * One word is a list of offers, several words are one offer
	     * each; an offer that is not a list matches nothing.
	     */

	    if (numWords == 2) {
		Tcl_Obj *offerObj, **offers;
		int numOffers;

		if (words[1].tag == P2P_TAG_BINARY) {
		    offerObj = Tcl_NewByteArrayObj(words[1].data,
			    (int) words[1].size);
		} else {
		    Tcl_DString ds;

		    Tcl_DStringInit(&ds);
		    Tcl_ExternalToUtfDString(utf8,
			    (const char *) words[1].data,
			    (int) words[1].size, &ds);
		    offerObj = Tcl_NewStringObj(Tcl_DStringValue(&ds),
			    Tcl_DStringLength(&ds));
		    Tcl_DStringFree(&ds);
		}
		Tcl_IncrRefCount(offerObj);
		if (Tcl_ListObjGetElements(NULL, offerObj, &numOffers,
			&offers) == TCL_OK) {
		    for (i = 0; i < numOffers; i++) {
			int n;
			const char *s = Tcl_GetStringFromObj(offers[i], &n);

			if (n == 6 && memcmp(s, "fuzz/2", 6) == 0) {
			    best = 2;
			} else if (n == 6 && memcmp(s, "fuzz/1", 6) == 0
				&& best < 1) {
			    best = 1;
			}
		    }
		}
		Tcl_DecrRefCount(offerObj);
	    } else {
		for (i = 1; i < numWords; i++) {
		    if (IsWord(&words[i], "fuzz/2")) {
			best = 2;
		    } else if (IsWord(&words[i], "fuzz/1") && best < 1) {
			best = 1;
		    }
		}
	    }
	}
	if (best) {
	    replyPtr = AddReply(predPtr, REPLY_EXACT, 2);
	    replyPtr->words[0].tag = P2P_TAG_TEXT;
	    replyPtr->words[0].data = protocolWord;
	    replyPtr->words[0].size = 8;
	    replyPtr->words[1].tag = P2P_TAG_TEXT;
	    replyPtr->words[1].data = (best == 2) ? name2 : name1;
	    replyPtr->words[1].size = 6;
	    *versionPtr = best;
	} else {
	    AddReply(predPtr, REPLY_EXCEPTION, 2);
	}
    } else if (IsWord(&words[0], "exception")) {
	/*
	 * Reported to -onerror, never answered.
	 */
    } else if (*versionPtr == 0) {
	AddReply(predPtr, REPLY_EXCEPTION, 2);
    } else if (IsWord(&words[0], "echo")) {
	if (numWords > 1) {
	    replyPtr = AddReply(predPtr, REPLY_EXACT, numWords - 1);
	    memcpy(replyPtr->words, words + 1,
		    (numWords - 1) * sizeof(P2pElement));
	}
    } else if (IsWord(&words[0], "swap") && *versionPtr == 2
	    && numWords == 3) {
	replyPtr = AddReply(predPtr, REPLY_EXACT, 2);
	replyPtr->words[0] = words[2];
	replyPtr->words[1] = words[1];
    } else {
	/*
	 * fail, swap with the wrong arguments or in fuzz/1, unknown words.
	 */

	AddReply(predPtr, REPLY_EXCEPTION, 2);
    }
    if (words != stackWords) {
	ckfree((char *) words);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * CheckReplies --
 *
 *	Compares what the server sent with the prediction: it must be a
 *	sequence of complete, well-formed frames, each the predicted reply
 *	in order.
 *
 * Results:
 *	The number of replies found (they matched, or this aborted).
 *
 *----------------------------------------------------------------------
 */

static int
CheckReplies(
    const unsigned char *buf,
    size_t len,
    const Prediction *predPtr)
{
    size_t off = 0, frameLen;
    int n = 0;

    while (off < len) {
	const Reply *replyPtr;
	P2pFrameCursor cur;
	P2pElement el;
	int code = P2pFrameScan(buf + off, len - off, FUZZ_MAX_FRAME, &frameLen);
	int w = 0;

	CHECK(code == P2P_FRAME_OK);
	CHECK(n < predPtr->numReplies);
	replyPtr = &predPtr->replies[n];
	P2pFrameCursorInit(&cur, buf + off + P2P_FRAME_HEADER,
		frameLen - P2P_FRAME_HEADER);
	while ((code = P2pFrameNextElement(&cur, &el)) == P2P_FRAME_OK) {
	    CHECK(w < replyPtr->numWords);
	    if (replyPtr->kind == REPLY_EXACT) {
		const P2pElement *wantPtr = &replyPtr->words[w];

		CHECK(el.tag == wantPtr->tag);
		CHECK(el.size == wantPtr->size);
		CHECK(el.size == 0
			|| memcmp(el.data, wantPtr->data, el.size) == 0);
	    } else {
		CHECK(el.tag == P2P_TAG_TEXT);
		CHECK(w == 1 || IsWord(&el, "exception"));
	    }
	    w++;
	}
	CHECK(code == P2P_FRAME_NEED);
	CHECK(w == replyPtr->numWords);
	off += frameLen;
	n++;
    }
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * ServerConn, Idle --
 *
 *	The server's connection (it has at most one), NULL when there is
 *	none; whether a connection has nothing left to do: not waiting to be
 *	serviced, not servicing, nothing left to write.
 *
 *----------------------------------------------------------------------
 */

static P2pConn *
ServerConn(void)
{
    Tcl_HashSearch search;
    Tcl_HashEntry *entryPtr = Tcl_FirstHashEntry(&serverPtr->conns,
	    &search);

    CHECK(serverPtr->conns.numEntries <= 1);
    return entryPtr ? (P2pConn *) Tcl_GetHashValue(entryPtr) : NULL;
}

static int
Idle(
    const P2pConn *connPtr)
{
    return !(connPtr->flags & (CONN_IN_READY | CONN_DISPATCHING
	    | CONN_WRITING | CONN_NEED_CONNECT))
	    && connPtr->out.len == 0;
}

/*
 *----------------------------------------------------------------------
 *
 * Pump --
 *
 *	Runs the interpreter's event loop without blocking; if it had
 *	nothing to do, waits (at most 1 ms) until libuv or the client
 *	socket has something.
 *
 *----------------------------------------------------------------------
 */

static void
Pump(
    int clientFd)
{
    struct pollfd fds[2];
    int did = 0, n = 0;

    while (n++ < 100 && Tcl_DoOneEvent(TCL_ALL_EVENTS | TCL_DONT_WAIT)) {
	did = 1;
    }
    if (!did) {
	fds[0].fd = uv_backend_fd(&loopPtr->uv);
	fds[0].events = POLLIN;
	fds[1].fd = clientFd;
	fds[1].events = POLLIN;
	poll(fds, clientFd >= 0 ? 2 : 1, 1);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * LLVMFuzzerTestOneInput --
 *
 *	The libFuzzer entry point: one connection carrying the input.
 *
 * Results:
 *	0.
 *
 * Side effects:
 *	Aborts on a violated invariant or a hang.
 *
 *----------------------------------------------------------------------
 */

int
LLVMFuzzerTestOneInput(
    const uint8_t *data,
    size_t size)
{
    Prediction pred;
    struct sockaddr_in addr;
    struct timespec start;
    struct linger lin;
    unsigned char *got = NULL;
    size_t sent = 0, gotLen = 0, gotCap = 0;
    Tcl_WideInt accepted0 = serverPtr->accepted;
    int fd, eof = 0, serverClosed = -1, numReplies;
    P2pConn *connPtr;

    if (size > FUZZ_MAX_INPUT) {
	return 0;
    }
    Predict(data, size, &pred);
    clock_gettime(CLOCK_MONOTONIC, &start);

    /*
     * Connect (the kernel completes it without the server's accept) and
     * send without blocking from then on.
     */

    fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short) serverPort);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
    CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);

    /*
     * Until the server has consumed everything and answered, or closed.
     */

    while (serverClosed < 0) {
	CHECK(Elapsed(&start) < DEADLINE_MS);
	if (sent < size && !eof) {
	    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);

	    if (n > 0) {
		sent += (size_t) n;
	    } else {
		CHECK(errno == EAGAIN || errno == EWOULDBLOCK
			|| errno == ECONNRESET || errno == EPIPE);
	    }
	}
	Pump(fd);
	while (!eof) {
	    ssize_t n;

	    if (gotCap - gotLen < 4096) {
		gotCap = 2 * gotCap + 4096;
		got = (unsigned char *) ckrealloc((char *) got, gotCap);
	    }
	    n = recv(fd, got + gotLen, gotCap - gotLen, 0);
	    if (n > 0) {
		gotLen += (size_t) n;
	    } else if (n == 0 || errno == ECONNRESET) {
		eof = 1;
	    } else {
		CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
		break;
	    }
	}
	if (serverPtr->accepted != accepted0 + 1) {
	    CHECK(serverPtr->accepted == accepted0);
	    continue;
	}
	connPtr = ServerConn();
	if (connPtr == NULL) {
	    if (eof) {
		serverClosed = 1;
	    }
	} else {
	    CHECK(!eof);
	    if (sent == size && connPtr->stats.bytesIn == (Tcl_WideInt) size
		    && Idle(connPtr)
		    && connPtr->stats.bytesOut == (Tcl_WideInt) gotLen) {
		serverClosed = 0;
	    }
	}
    }

    /*
     * The replies, and whether the server closed when it should have.
     */

    CHECK(serverClosed == pred.fatal);
    numReplies = CheckReplies(got, gotLen, &pred);
    if (!pred.fatal) {
	CHECK(numReplies == pred.numReplies);
    }

    /*
     * End the connection: a reset when the server still has it (so that
     * no TIME_WAIT accumulates), then wait until the server freed it.
     */

    if (!serverClosed) {
	lin.l_onoff = 1;
	lin.l_linger = 0;
	CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)) == 0);
    }
    close(fd);
    while (ServerConn() != NULL || loopPtr->numConns != 0) {
	CHECK(Elapsed(&start) < DEADLINE_MS);
	Pump(-1);
    }
    while (Tcl_DoOneEvent(TCL_ALL_EVENTS | TCL_DONT_WAIT)) {
	/* Deliver what is still queued (background errors). */
    }

    inputs++;
    CHECK(IntVar("::fuzz::connects") == inputs);
    CHECK(IntVar("::fuzz::disconnects") == inputs);
    CHECK(IntVar("::fuzz::bgerrors") == 0);
    CHECK(loopPtr->callerPtr == NULL);
    CHECK(loopPtr->readyHead == NULL);
    Tcl_ResetResult(interp);

    FreePrediction(&pred);
    if (got) {
	ckfree((char *) got);
    }
    return 0;
}
