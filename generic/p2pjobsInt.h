/*
 * p2pjobsInt.h --
 *
 *	Structures and prototypes shared by the C files of p2pjobs. Nothing
 *	here is public API; see p2pjobs.h for that.
 */

#ifndef _P2PJOBSINT_H
#define _P2PJOBSINT_H

#include <tcl.h>
#include <tclOO.h>
#include <uv.h>
#include <string.h>
#include "p2pjobs.h"
#include "p2pFrame.h"
#include "p2pSecure.h"

#ifndef MODULE_SCOPE
#define MODULE_SCOPE extern
#endif

typedef struct P2pConn P2pConn;
typedef struct P2pHandler P2pHandler;

/*
 * A growable byte buffer. Owned by whatever embeds it; freed with
 * P2pBufFree.
 */

typedef struct P2pBuf {
    unsigned char *bytes;
    size_t len;
    size_t cap;
} P2pBuf;

/*
 * Traffic counters, kept per handler and per connection.
 */

typedef struct P2pStats {
    Tcl_WideInt framesIn;
    Tcl_WideInt framesOut;
    Tcl_WideInt bytesIn;
    Tcl_WideInt bytesOut;
    Tcl_WideInt errors;
} P2pStats;

/*
 * What a protocol command is being run for: pushed on the C stack around
 * every dispatch so that p2p::caller can answer.
 */

typedef struct P2pCaller {
    P2pHandler *handlerPtr;
    long cid;
    struct P2pCaller *prevPtr;
} P2pCaller;

/*
 * P2pTask --
 *
 *	Work that a libuv callback hands to the Tcl side: run from the next
 *	service event, in the order queued. Owned by the queue until run;
 *	the proc frees whatever clientData needs freeing.
 */

typedef void (P2pTaskProc)(void *clientData);

typedef struct P2pTask {
    P2pTaskProc *proc;
    void *clientData;
    struct P2pTask *nextPtr;
} P2pTask;

/*
 * P2pLoop --
 *
 *	One per thread (Tcl thread data), created the first time the package
 *	is loaded in that thread and kept until the thread ends. It owns the
 *	libuv loop and the list of connections waiting to be serviced by the
 *	Tcl event that P2pLoopMarkReady queues.
 */

typedef struct P2pLoop {
    uv_loop_t uv;
    int initialized;
    int running;		/* Inside uv_run: re-entry guard. */
    int eventQueued;		/* A service event sits in Tcl's queue. */
    P2pConn *readyHead;		/* Connections that need servicing. */
    P2pConn *readyTail;
    P2pConn *flushHead;		/* Connections with unwritten output. */
    P2pCaller *callerPtr;	/* Innermost protocol command running. */
    long nextCid;		/* Connection ids are unique per thread. */
    int numHandlers;		/* Live handler structs (p2p::debug). */
    int numConns;		/* Live connection structs (p2p::debug). */
    P2pBuf scratch;		/* Encoding buffer for broadcast. */
    P2pBuf readBuf;		/* Where every read lands first. */
    P2pTask *taskHead;		/* Tasks queued by libuv callbacks. */
    P2pTask *taskTail;
    void *wonksPtr;		/* Performance estimate (p2pWonks.c). */
    void *bridgePtr;		/* Platform part of the bridge. */
    uv_timer_t boundTimer;	/* Bounds P2pLoopRunOnce's wait. */
    unsigned long numQueued;	/* Service events asked for, ever. */
    int skipCheck;		/* The next check step leaves libuv be. */
    int direct;			/* In P2pLoopRunOnce's libuv run: news is
				 * serviced by it, no Tcl event queued. */
    int noAesGcm;		/* p2p::debug aesgcm 0: offer none. */
    uint64_t rekeyBytes;	/* p2p::debug rekey; 0: the default. */
} P2pLoop;

/*
 * P2pProtocol --
 *
 *	One installed version of a protocol: NAME/VERSION and the table of the
 *	commands it accepts. Reference counted: the handler's table holds one
 *	reference and every connection speaking it holds one; freed at zero.
 */

typedef struct P2pProtocol {
    int refCount;
    Tcl_Obj *nameObj;		/* "root/version" */
    char *root;			/* ckalloc'd copy of the root. */
    int version;
    Tcl_HashTable commands;	/* Command name -> P2pCommand*. */
    Tcl_Obj *commandsObj;	/* Sorted list of command names. */
} P2pProtocol;

typedef struct P2pCommand {
    int prefixc;
    Tcl_Obj **prefixv;		/* Command prefix words, each ref-counted. */
    Tcl_Obj *prefixObj;		/* The list they came from. */
} P2pCommand;

/*
 * Connection flags.
 */

#define CONN_CLOSING		(1<<0)	/* uv_close called. */
#define CONN_NEED_CONNECT	(1<<1)	/* -onconnect not fired yet. */
#define CONN_NEED_DISCONNECT	(1<<2)	/* -ondisconnect not fired yet. */
#define CONN_EOF		(1<<3)	/* Peer closed or read failed. */
#define CONN_DISPATCHING	(1<<4)	/* A ServiceConn frame is active. */
#define CONN_READ_STOPPED	(1<<5)	/* uv_read_stop for input backlog. */
#define CONN_WRITING		(1<<6)	/* A uv_write is in flight. */
#define CONN_IN_READY		(1<<7)	/* On the loop's ready list. */
#define CONN_IN_FLUSH		(1<<8)	/* On the loop's flush list. */
#define CONN_READING		(1<<9)	/* uv_read_start called. */
#define CONN_SILENT		(1<<10)	/* Closed by destroy: no callbacks. */
#define CONN_REGISTERED		(1<<11)	/* In the handler's table. */

/*
 * P2pConn --
 *
 *	One TCP connection of a handler. The handler creates it (accept or
 *	connect) and P2pConnClose ends it; the memory lives on while refCount
 *	is positive: one reference for the open libuv handle (dropped in the
 *	close callback), one while on the ready list, one for each active
 *	ServiceConn frame. Each connection holds a reference on its handler.
 */

struct P2pConn {
    uv_tcp_t tcp;		/* tcp.data points back here. */
    uv_connect_t connectReq;	/* Outbound connect, clients only. */
    P2pHandler *handlerPtr;
    long cid;
    int flags;
    int refCount;
    Tcl_Obj *nameObj;		/* Nice name, default the peer address. */
    Tcl_Obj *peerObj;		/* "host:port" of the peer. */
    Tcl_Obj *reasonObj;		/* Why it closed. */
    P2pProtocol *protocolPtr;	/* What it speaks, NULL before agreement. */
    P2pBuf in;			/* Bytes read; consumed from inStart. */
    size_t inStart;
    P2pBuf out;			/* Queued output not yet given to libuv. */
    size_t inflight;		/* Bytes in the uv_write in flight. */
    P2pStats stats;
    P2pSecure *securePtr;	/* Handshake and keys, NULL without
				 * -identity. ckalloc'd, wiped and freed
				 * with the connection. */
    P2pBuf raw;			/* With securePtr: bytes read, before the
				 * handshake or decryption moves them to in. */
    P2pBuf wire;		/* With securePtr: bytes ready to write
				 * (handshake, then frames moved from out,
				 * sealed when encrypting). */
    P2pConn *readyPrev, *readyNext;
    P2pConn *flushNext;
};

/*
 * Connection ids as one-word hash keys (long is 32 bits on 64-bit
 * Windows, so go through intptr_t).
 */

#define CID_KEY(cid)	((char *) (intptr_t) (cid))

/*
 * Handler kinds and client connection states.
 */

enum { P2P_SERVER, P2P_CLIENT };
enum {
    CLIENT_IDLE, CLIENT_CONNECTING, CLIENT_NEGOTIATING, CLIENT_OPEN
};

#define HANDLER_DEAD		(1<<0)

/*
 * P2pHandler --
 *
 *	The C side of a p2p::server or p2p::client object, attached to it as
 *	TclOO metadata. The object's metadata delete callback (destroy, rename
 *	to {} or interpreter deletion) is the only way it dies: it marks the
 *	handler dead, closes its connections and handles, and drops the
 *	object's reference. The memory is freed when the last reference goes:
 *	one per connection, one per open libuv handle of its own, one per
 *	active script call that touches it.
 */

struct P2pHandler {
    int kind;			/* P2P_SERVER or P2P_CLIENT. */
    int flags;
    int refCount;
    Tcl_Interp *interp;
    Tcl_Object object;		/* NULL once the object is gone. */
    P2pLoop *loopPtr;
    Tcl_HashTable protocols;	/* "root/version" -> P2pProtocol*. */
    Tcl_HashTable conns;	/* cid (one-word key) -> P2pConn*. */
    Tcl_Obj *onConnect, *onProtocol, *onDisconnect, *onError;
    Tcl_WideInt maxFrame;
    Tcl_WideInt maxOutput;
    P2pStats stats;
    Tcl_WideInt accepted;

    /* Identity (-identity, -secure, -netsecret): new connections only. */
    Tcl_Obj *identityObj;	/* As given, NULL for none. */
    unsigned char idPk[32];
    unsigned char idSk[64];	/* Wiped when the handler is freed. */
    int secure;
    Tcl_Obj *netSecretObj;

    /* Servers. */
    uv_tcp_t listener;
    int listening;
    Tcl_Obj *hostObj;
    Tcl_Obj *portObj;		/* As given: N, N? or 0. */
    int boundPort;

    /* Clients. */
    Tcl_Obj *addressObj;
    Tcl_Obj *rootObj;		/* -protocol: root offered to the server. */
    int timeoutMs;
    int async;
    int state;			/* CLIENT_* */
    P2pConn *connPtr;		/* The one connection, or NULL. */
    uv_timer_t timer;		/* Connect timeout. */
    int timerOpen;
    Tcl_Obj *offerObj;		/* Names offered in the pending connect. */
    Tcl_Obj *failMsgObj;	/* Why the last connect failed. */
    Tcl_Obj *failCodeObj;
};

/*
 * p2pLoop.c
 */

MODULE_SCOPE P2pLoop *	P2pLoopGet(void);
MODULE_SCOPE void	P2pLoopMarkReady(P2pConn *connPtr);
MODULE_SCOPE void	P2pLoopWake(P2pLoop *loopPtr);
MODULE_SCOPE void	P2pLoopQueueTask(P2pLoop *loopPtr, P2pTaskProc *proc,
			    void *clientData);
MODULE_SCOPE void	P2pLoopUnlinkReady(P2pConn *connPtr);
MODULE_SCOPE void	P2pLoopWantFlush(P2pConn *connPtr);
MODULE_SCOPE int	P2pLoopPending(P2pLoop *loopPtr);
MODULE_SCOPE int	P2pLoopCountHandles(P2pLoop *loopPtr);
MODULE_SCOPE int	P2pLoopRunOnce(P2pLoop *loopPtr, int ms,
			    int service);

/*
 * p2pConn.c
 */

MODULE_SCOPE P2pConn *	P2pConnNew(P2pHandler *handlerPtr);
MODULE_SCOPE void	P2pConnRegister(P2pConn *connPtr);
MODULE_SCOPE int	P2pConnStartReading(P2pConn *connPtr);
MODULE_SCOPE void	P2pConnClose(P2pConn *connPtr, Tcl_Obj *reasonObj);
MODULE_SCOPE void	P2pConnCloseStr(P2pConn *connPtr, const char *reason);
MODULE_SCOPE void	P2pConnRelease(P2pConn *connPtr);
MODULE_SCOPE void	P2pConnFlush(P2pConn *connPtr);
MODULE_SCOPE void	P2pConnQueued(P2pConn *connPtr, size_t frameLen);
MODULE_SCOPE int	P2pConnQueueRaw(Tcl_Interp *interp, P2pConn *connPtr,
			    const unsigned char *body, size_t len);
MODULE_SCOPE void	P2pConnService(P2pConn *connPtr);
MODULE_SCOPE void	P2pConnSetPeer(P2pConn *connPtr);
MODULE_SCOPE P2pConn *	P2pConnFind(Tcl_Interp *interp, P2pHandler *hPtr,
			    Tcl_Obj *cidObj);

/*
 * p2pMessage.c: messages <-> frames.
 */

MODULE_SCOPE int	P2pMessageEncode(Tcl_Interp *interp, P2pBuf *bufPtr,
			    int objc, Tcl_Obj *const objv[],
			    Tcl_WideInt maxFrame, size_t *frameLenPtr);
MODULE_SCOPE int	P2pMessageDecode(const unsigned char *body,
			    size_t len, Tcl_Obj ***objvPtr, int *objcPtr,
			    Tcl_Obj **stackv, int stackc, const char **errPtr);
MODULE_SCOPE void	P2pMessageInit(void);

/*
 * p2pDispatch.c
 */

MODULE_SCOPE void	P2pDispatch(P2pConn *connPtr, int objc,
			    Tcl_Obj *const objv[]);
MODULE_SCOPE int	P2pSendMessage(Tcl_Interp *interp, P2pConn *connPtr,
			    Tcl_Obj *msgObj);
MODULE_SCOPE int	P2pSendWords(Tcl_Interp *interp, P2pConn *connPtr,
			    int objc, Tcl_Obj *const objv[]);
MODULE_SCOPE void	P2pInvokeCallback(P2pHandler *hPtr, Tcl_Obj *cmdObj,
			    int objc, Tcl_Obj *const objv[]);

/*
 * p2pProtocol.c
 */

MODULE_SCOPE int	P2pProtocolAdd(Tcl_Interp *interp, P2pHandler *hPtr,
			    Tcl_Obj *nameObj, Tcl_Obj *mapObj);
MODULE_SCOPE int	P2pProtocolMethod(Tcl_Interp *interp,
			    P2pHandler *hPtr, int skip, int objc,
			    Tcl_Obj *const objv[]);
MODULE_SCOPE P2pProtocol *P2pProtocolFind(P2pHandler *hPtr,
			    const char *name);
MODULE_SCOPE void	P2pProtocolRelease(P2pProtocol *protoPtr);
MODULE_SCOPE void	P2pProtocolDeleteAll(P2pHandler *hPtr);
MODULE_SCOPE int	P2pProtocolSplitName(const char *name, int len,
			    int *rootLenPtr, int *versionPtr);
MODULE_SCOPE Tcl_Obj *	P2pProtocolReverseRoot(const char *root, int len);
MODULE_SCOPE Tcl_Obj *	P2pProtocolNames(P2pHandler *hPtr);

/*
 * p2pHandler.c
 */

MODULE_SCOPE int	P2pHandlerClassesInit(Tcl_Interp *interp);
MODULE_SCOPE P2pHandler *P2pHandlerNew(Tcl_Interp *interp,
			    Tcl_Object object, int kind);
MODULE_SCOPE void	P2pHandlerPreserve(P2pHandler *hPtr);
MODULE_SCOPE void	P2pHandlerRelease(P2pHandler *hPtr);
MODULE_SCOPE Tcl_Obj *	P2pHandlerName(P2pHandler *hPtr);
MODULE_SCOPE int	P2pClientSend(Tcl_Interp *interp, P2pHandler *hPtr,
			    Tcl_Obj *msgObj);
MODULE_SCOPE int	P2pHandlerConfigure(Tcl_Interp *interp,
			    P2pHandler *hPtr, int objc,
			    Tcl_Obj *const objv[], int creating);
MODULE_SCOPE void	P2pHandlerCountIn(P2pConn *connPtr, size_t bytes);
MODULE_SCOPE const Tcl_ObjectMetadataType P2pHandlerMetaType;

/*
 * p2pServer.c, p2pClient.c
 */

MODULE_SCOPE int	P2pServerListen(Tcl_Interp *interp, P2pHandler *hPtr);
MODULE_SCOPE void	P2pServerClose(P2pHandler *hPtr);
MODULE_SCOPE int	P2pClientConnect(Tcl_Interp *interp, P2pHandler *hPtr);
MODULE_SCOPE void	P2pClientNegotiated(P2pConn *connPtr, int objc,
			    Tcl_Obj *const objv[]);
MODULE_SCOPE void	P2pClientConnGone(P2pConn *connPtr);
MODULE_SCOPE void	P2pClientClose(P2pHandler *hPtr);
MODULE_SCOPE int	P2pParseAddress(Tcl_Interp *interp, const char *host,
			    int port, struct sockaddr_storage *addrPtr);

/*
 * p2pBuf.c and p2pError.c
 */

MODULE_SCOPE void	P2pBufReserve(P2pBuf *bufPtr, size_t more);
MODULE_SCOPE void	P2pBufAppend(P2pBuf *bufPtr, const void *bytes,
			    size_t len);
MODULE_SCOPE void	P2pBufFree(P2pBuf *bufPtr);
MODULE_SCOPE int	P2pUvError(Tcl_Interp *interp, int status,
			    const char *what);
MODULE_SCOPE Tcl_Obj *	P2pUvErrorCode(int status);
MODULE_SCOPE void	P2pAppendChoices(Tcl_Obj *msgObj, Tcl_Obj *listObj);
MODULE_SCOPE int	P2pMetaCloneNone(Tcl_Interp *interp, ClientData oldData,
		    ClientData *newDataPtr);
MODULE_SCOPE int	P2pClassMethodsObjCmd(ClientData clientData,
			    Tcl_Interp *interp, int objc,
			    Tcl_Obj *const objv[]);
MODULE_SCOPE int	P2pError(Tcl_Interp *interp, const char *codes,
			    const char *fmt, ...);

/*
 * Platform hooks: unix/ and win/.
 */

MODULE_SCOPE int	P2ppLoopBridgeInit(P2pLoop *loopPtr);
MODULE_SCOPE void	P2ppLoopBridgeFinalize(P2pLoop *loopPtr);
MODULE_SCOPE void	P2ppLoopBridgeArm(P2pLoop *loopPtr, int timeoutMs);
MODULE_SCOPE int	P2ppLoopBridgeRun(P2pLoop *loopPtr, int wait);
MODULE_SCOPE int	P2ppRaiseFdLimit(void);
MODULE_SCOPE double	P2ppLoadAverage(void);
MODULE_SCOPE long long	P2ppFreeMemory(void);
/* The process runner's platform hooks (unix/p2pUnixExec.c). */
MODULE_SCOPE int	P2ppExecKillGroup(int pid);
MODULE_SCOPE void	P2ppExecKeepDescriptors(void);
MODULE_SCOPE int	P2ppExecPrivileged(void);
MODULE_SCOPE int	P2ppExecUser(Tcl_Interp *interp, const char *name,
			    uv_uid_t *uidPtr, uv_gid_t *gidPtr);
MODULE_SCOPE int	P2ppExecFindProgram(const char *program,
			    const char *path, const char *cwd,
			    Tcl_DString *dsPtr);
MODULE_SCOPE const char *P2ppExecLimiter(void);
/* Key files of p2p::identity (unix/p2pUnixIdentity.c). */
MODULE_SCOPE int	P2ppKeyFileRead(Tcl_Interp *interp, Tcl_Obj *pathObj,
			    Tcl_DString *dsPtr);
MODULE_SCOPE int	P2ppKeyFileCreate(Tcl_Interp *interp,
			    Tcl_Obj *pathObj, const char *bytes, size_t len);

/*
 * p2pIdentity.c
 */

MODULE_SCOPE int	P2pIdentityFromObj(Tcl_Interp *interp,
			    Tcl_Obj *dictObj, unsigned char *pk,
			    unsigned char *sk);

/*
 * p2pJobRun.c: the per-job path of p2p::sandbox.
 */

MODULE_SCOPE int	P2pJobRunInit(Tcl_Interp *interp);
MODULE_SCOPE int	P2pJobRunIn(Tcl_Interp *interp, Tcl_Obj *childObj,
			    Tcl_Obj *specsObj, int optc,
			    Tcl_Obj *const optv[], Tcl_Obj *tagsObj,
			    int *cleanPtr, Tcl_Obj **resultsPtr);
MODULE_SCOPE int	P2pJobOptionsGood(int optc, Tcl_Obj *const optv[],
			    Tcl_Obj **tagsPtr);
MODULE_SCOPE Tcl_Obj *	P2pJobScriptSpec(Tcl_Obj *specObj,
			    Tcl_Obj *likeObj);
MODULE_SCOPE Tcl_Obj *	P2pJobReply(int numIds, Tcl_Obj *const ids[],
			    int numResults, Tcl_Obj *const results[]);

/*
 * p2pPool.c: the sandbox's pool of job interpreters, and the worker's
 * lone run.
 */

MODULE_SCOPE int	P2pPoolInit(Tcl_Interp *interp);
MODULE_SCOPE int	P2pLoneRunInit(Tcl_Interp *interp);
MODULE_SCOPE int	P2pPoolRuns(Tcl_Interp *interp, Tcl_Obj *sandboxObj,
			    Tcl_Obj *keyObj, Tcl_Obj *specsObj, int optc,
			    Tcl_Obj *const optv[], Tcl_Obj *tagsObj);
MODULE_SCOPE int	P2pSameString(Tcl_Obj *aObj, Tcl_Obj *bObj);

/*
 * p2pPlainList.c: a plain string read as a list in one pass.
 */

MODULE_SCOPE int	P2pPlainWord(const char **pPtr, const char *end,
		    const char **startPtr, int *lengthPtr);
MODULE_SCOPE Tcl_Obj *	P2pPlainList(Tcl_Obj *objPtr);
MODULE_SCOPE Tcl_Obj *	P2pPlainListLike(Tcl_Obj *objPtr, Tcl_Obj *likeObj);
MODULE_SCOPE int	P2pPlainListObjCmd(ClientData clientData,
			    Tcl_Interp *interp, int objc,
			    Tcl_Obj *const objv[]);

/*
 * p2pFarm.c: the per-result path of the foreman's job farm.
 */

/*
 * p2pVarHandle.c: a variable reached through its Var struct, not its
 * name. Embedded by its owner; Init, then Get and Set, then Free.
 */

typedef struct P2pVarHandle {
    Tcl_Obj *nameObj;		/* The variable's qualified name. */
    Tcl_Var var;		/* Its Var, held, or NULL (not found yet). */
} P2pVarHandle;

MODULE_SCOPE void	P2pVarHandleSetup(Tcl_Interp *interp);
MODULE_SCOPE void	P2pVarHandleInit(P2pVarHandle *vhPtr,
			    Tcl_Obj *nameObj);
MODULE_SCOPE void	P2pVarHandleFree(P2pVarHandle *vhPtr);
MODULE_SCOPE Tcl_Obj *	P2pVarHandleGet(Tcl_Interp *interp,
			    P2pVarHandle *vhPtr, int flags);
MODULE_SCOPE Tcl_Obj *	P2pVarHandleSet(Tcl_Interp *interp,
			    P2pVarHandle *vhPtr, Tcl_Obj *valueObj,
			    int flags);

MODULE_SCOPE int	P2pFarmInit(Tcl_Interp *interp);
#define P2P_FARM_VARS 6		/* Jobs Runs Inflight Batch Queue Head */
MODULE_SCOPE int	P2pFarmResults(Tcl_Interp *interp,
			    P2pVarHandle *vars, Tcl_Obj *nsObj,
			    Tcl_Obj *addrObj, Tcl_Obj *messageObj,
			    int logOpen, Tcl_Obj *escrowsObj, int *nextPtr,
			    Tcl_Obj **settledPtr, Tcl_Obj **restPtr);
MODULE_SCOPE int	P2pFarmDispatch(Tcl_Interp *interp,
			    P2pVarHandle *vars, int objc,
			    Tcl_Obj *const objv[], Tcl_Obj **sendPtr,
			    Tcl_WideInt *nums);
MODULE_SCOPE int	P2pFarmSubmit(Tcl_Interp *interp,
			    P2pVarHandle *vars, Tcl_Obj *nsObj,
			    Tcl_Obj *idObj, int numWords,
			    Tcl_Obj *const words[], int *statusPtr,
			    Tcl_Obj **classPtr);
MODULE_SCOPE int	P2pFarmEnqueue(Tcl_Interp *interp,
			    P2pVarHandle *vars, Tcl_Obj *classObj,
			    Tcl_Obj *idObj);
MODULE_SCOPE Tcl_Obj *	P2pFarmPlainList(Tcl_Obj *stringObj);
MODULE_SCOPE Tcl_Obj *	P2pFarmNumbered(const char *prefix, int prefixLength,
			    int separator, Tcl_WideInt n);

/*
 * p2pFarmMethods.c: the farm's methods submit, wait, forget and
 * OnResults in C.
 */

MODULE_SCOPE int	P2pFarmMethodsInit(Tcl_Interp *interp);

/*
 * p2pWait.c: the event loop of p2p::vwait, until a condition holds.
 */

typedef int (P2pWaitDoneProc)(ClientData clientData);
MODULE_SCOPE int	P2pWaitUntil(Tcl_Interp *interp,
			    P2pWaitDoneProc *doneProc, ClientData clientData,
			    const char *varName);

/*
 * Commands made in p2pInit.c and p2pDebug.c.
 */

MODULE_SCOPE Tcl_ObjCmdProc P2pCallerObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc P2pDebugObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc P2pWonksObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc P2pVwaitObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc P2pNetDispatchObjCmd;
MODULE_SCOPE void	P2pOwnerInit(Tcl_Interp *interp);
MODULE_SCOPE P2pCaller *P2pCallerCurrent(Tcl_Interp *interp,
			    const char *command);
MODULE_SCOPE Tcl_ObjCmdProc P2pExecObjCmd;
MODULE_SCOPE Tcl_ObjCmdProc P2pIdentityObjCmd;

#endif /* _P2PJOBSINT_H */
