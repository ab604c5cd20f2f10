/*
 * p2pIdentity.c --
 *
 *	p2p::identity: Ed25519 key pairs of nodes (generated, or kept in a
 *	key file of mode 0600), node ids derived from public keys, detached
 *	signatures and random nonces. Keys and signatures are lower-case hex
 *	in Tcl. The crypto is in p2pSecure.c; the file access in unix/.
 */

#include "p2pjobsInt.h"
#include "p2pSecure.h"
#include <sodium.h>

#define KEYFILE_MAGIC	"p2pjobs-identity"
#define RANDOM_MAX	(1024 * 1024)

static Tcl_Obj *	KeyDict(const unsigned char *pk,
			    const unsigned char *sk);
static int		MessageBytes(Tcl_Obj *objPtr, Tcl_DString *dsPtr,
			    const unsigned char **bytesPtr, size_t *lenPtr);
static int		KeyFile(Tcl_Interp *interp, Tcl_Obj *pathObj);

/*
 *----------------------------------------------------------------------
 *
 * KeyDict --
 *
 *	The dict "public HEX64 secret HEX128" of a key pair.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
KeyDict(
    const unsigned char *pk,
    const unsigned char *sk)
{
    char hex[2 * P2P_HS_SECRET + 1];
    Tcl_Obj *dictObj = Tcl_NewDictObj();

    P2pHexEncode(pk, 32, hex);
    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("public", -1),
	    Tcl_NewStringObj(hex, -1));
    P2pHexEncode(sk, 64, hex);
    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("secret", -1),
	    Tcl_NewStringObj(hex, -1));
    sodium_memzero(hex, sizeof(hex));
    return dictObj;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pIdentityFromObj --
 *
 *	Parses an identity dict (as made by p2p::identity generate) and
 *	checks that its secret key belongs to its public key.
 *
 * Results:
 *	TCL_OK with pk and sk filled, or TCL_ERROR with a message (in
 *	interp, if not NULL) naming what is wrong.
 *
 *----------------------------------------------------------------------
 */

int
P2pIdentityFromObj(
    Tcl_Interp *interp,
    Tcl_Obj *dictObj,
    unsigned char *pk,
    unsigned char *sk)
{
    Tcl_Obj *pubObj = NULL, *secObj = NULL, *keyObj;
    int len;
    const char *s;

    keyObj = Tcl_NewStringObj("public", -1);
    Tcl_IncrRefCount(keyObj);
    if (Tcl_DictObjGet(NULL, dictObj, keyObj, &pubObj) != TCL_OK) {
	pubObj = NULL;
    }
    Tcl_SetStringObj(keyObj, "secret", -1);
    if (Tcl_DictObjGet(NULL, dictObj, keyObj, &secObj) != TCL_OK) {
	secObj = NULL;
    }
    Tcl_DecrRefCount(keyObj);
    if (pubObj == NULL || secObj == NULL) {
	return P2pError(interp, "P2P IDENTITY MALFORMED", "bad identity: must"
		" be a dict with keys public and secret (see p2p::identity"
		" generate)");
    }
    s = Tcl_GetStringFromObj(pubObj, &len);
    if (P2pHexDecode(s, (size_t) len, pk, 32) != 0) {
	return P2pError(interp, "P2P IDENTITY MALFORMED", "bad identity:"
		" public must be 64 hex digits");
    }
    s = Tcl_GetStringFromObj(secObj, &len);
    if (P2pHexDecode(s, (size_t) len, sk, 64) != 0) {
	return P2pError(interp, "P2P IDENTITY MALFORMED", "bad identity:"
		" secret must be 128 hex digits");
    }
    if (!P2pIdentityCheck(pk, sk)) {
	sodium_memzero(sk, 64);
	return P2pError(interp, "P2P IDENTITY MISMATCH", "bad identity: the"
		" secret key does not belong to the public key");
    }
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * MessageBytes --
 *
 *	The bytes a signature covers: those of a byte array, else the
 *	UTF-8 encoding of the string (NUL as one zero byte).
 *
 * Results:
 *	TCL_OK; *bytesPtr points into objPtr or into dsPtr, which the
 *	caller frees.
 *
 *----------------------------------------------------------------------
 */

static int
MessageBytes(
    Tcl_Obj *objPtr,
    Tcl_DString *dsPtr,
    const unsigned char **bytesPtr,
    size_t *lenPtr)
{
    static const Tcl_ObjType *byteArrayTypePtr = NULL;
    static Tcl_Encoding utf8 = NULL;
    int len;

    if (byteArrayTypePtr == NULL) {
	byteArrayTypePtr = Tcl_GetObjType("bytearray");
	utf8 = Tcl_GetEncoding(NULL, "utf-8");
    }
    Tcl_DStringInit(dsPtr);
    if (objPtr->typePtr == byteArrayTypePtr && objPtr->bytes == NULL) {
	*bytesPtr = Tcl_GetByteArrayFromObj(objPtr, &len);
	*lenPtr = (size_t) len;
	return TCL_OK;
    }
    {
	const char *s = Tcl_GetStringFromObj(objPtr, &len);

	Tcl_UtfToExternalDString(utf8, s, len, dsPtr);
    }
    *bytesPtr = (const unsigned char *) Tcl_DStringValue(dsPtr);
    *lenPtr = (size_t) Tcl_DStringLength(dsPtr);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * KeyFile --
 *
 *	p2p::identity file PATH: reads the key pair kept in PATH, or makes
 *	one and creates PATH (mode 0600) when it does not exist. The file
 *	is one line: "p2pjobs-identity 1 PUBLICHEX SECRETHEX".
 *
 *----------------------------------------------------------------------
 */

static int
KeyFile(
    Tcl_Interp *interp,
    Tcl_Obj *pathObj)
{
    unsigned char pk[32], sk[64];
    char pkHex[65], skHex[129];
    Tcl_DString ds;
    int attempt, code, n;
    const char **words;

    for (attempt = 0; attempt < 2; attempt++) {
	Tcl_DStringInit(&ds);
	code = P2ppKeyFileRead(interp, pathObj, &ds);
	if (code == TCL_ERROR) {
	    Tcl_DStringFree(&ds);
	    return TCL_ERROR;
	}
	if (code == TCL_OK) {
	    Tcl_Obj *dictObj;

	    if (Tcl_SplitList(NULL, Tcl_DStringValue(&ds), &n, &words)
		    != TCL_OK) {
		n = 0;
		words = NULL;
	    }
	    sodium_memzero(Tcl_DStringValue(&ds), Tcl_DStringLength(&ds));
	    Tcl_DStringFree(&ds);
	    if (n != 4 || strcmp(words[0], KEYFILE_MAGIC) != 0
		    || strcmp(words[1], "1") != 0) {
		if (words) {
		    ckfree((char *) words);
		}
		return P2pError(interp, "P2P IDENTITY MALFORMED", "malformed"
			" key file \"%s\": must be one line \"%s 1 PUBLIC"
			" SECRET\"", Tcl_GetString(pathObj), KEYFILE_MAGIC);
	    }
	    dictObj = Tcl_NewDictObj();
	    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("public", -1),
		    Tcl_NewStringObj(words[2], -1));
	    Tcl_DictObjPut(NULL, dictObj, Tcl_NewStringObj("secret", -1),
		    Tcl_NewStringObj(words[3], -1));
	    ckfree((char *) words);
	    Tcl_IncrRefCount(dictObj);
	    code = P2pIdentityFromObj(interp, dictObj, pk, sk);
	    Tcl_DecrRefCount(dictObj);
	    if (code != TCL_OK) {
		Tcl_Obj *msgObj = Tcl_ObjPrintf("malformed key file \"%s\": ",
			Tcl_GetString(pathObj));

		Tcl_AppendObjToObj(msgObj, Tcl_GetObjResult(interp));
		Tcl_SetObjResult(interp, msgObj);
		return TCL_ERROR;
	    }
	    Tcl_SetObjResult(interp, KeyDict(pk, sk));
	    sodium_memzero(sk, sizeof(sk));
	    return TCL_OK;
	}

	/*
	 * No file: make a key and create the file; if another process
	 * created it meanwhile, read theirs.
	 */

	Tcl_DStringFree(&ds);
	crypto_sign_keypair(pk, sk);
	P2pHexEncode(pk, 32, pkHex);
	P2pHexEncode(sk, 64, skHex);
	Tcl_DStringInit(&ds);
	Tcl_DStringAppend(&ds, KEYFILE_MAGIC " 1 ", -1);
	Tcl_DStringAppend(&ds, pkHex, -1);
	Tcl_DStringAppend(&ds, " ", 1);
	Tcl_DStringAppend(&ds, skHex, -1);
	Tcl_DStringAppend(&ds, "\n", 1);
	code = P2ppKeyFileCreate(interp, pathObj, Tcl_DStringValue(&ds),
		(size_t) Tcl_DStringLength(&ds));
	sodium_memzero(Tcl_DStringValue(&ds), Tcl_DStringLength(&ds));
	sodium_memzero(skHex, sizeof(skHex));
	Tcl_DStringFree(&ds);
	if (code == TCL_ERROR) {
	    sodium_memzero(sk, sizeof(sk));
	    return TCL_ERROR;
	}
	if (code == TCL_OK) {
	    Tcl_SetObjResult(interp, KeyDict(pk, sk));
	    sodium_memzero(sk, sizeof(sk));
	    return TCL_OK;
	}
    }
    return P2pError(interp, "P2P IDENTITY FILE", "key file \"%s\" keeps"
	    " appearing and vanishing", Tcl_GetString(pathObj));
}

/*
 *----------------------------------------------------------------------
 *
 * P2pIdentityObjCmd --
 *
 *	p2p::identity generate | file PATH | id PUBLIC | sign SECRET MESSAGE
 *	| verify PUBLIC MESSAGE SIGNATURE | random N
 *
 *----------------------------------------------------------------------
 */

int
P2pIdentityObjCmd(
    ClientData clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subs[] = {
	"file", "generate", "id", "random", "sign", "verify", NULL
    };
    enum { FILE_, GENERATE, ID, RANDOM, SIGN, VERIFY };
    static const int argCount[] = {3, 2, 3, 3, 4, 5};
    static const char *const argUsage[] = {
	"path", "", "public", "n", "secret message",
	"public message signature"
    };
    unsigned char pk[32], sk[64], sig[64];
    char hex[129];
    const unsigned char *bytes;
    size_t len;
    Tcl_DString ds;
    const char *s;
    int index, n;

    (void) clientData;
    if (objc < 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "subcommand ?arg ...?");
	return TCL_ERROR;
    }
    if (Tcl_GetIndexFromObj(interp, objv[1], subs, "subcommand", 0, &index)
	    != TCL_OK) {
	return TCL_ERROR;
    }
    if (objc != argCount[index]) {
	Tcl_WrongNumArgs(interp, 2, objv, argUsage[index]);
	return TCL_ERROR;
    }
    switch (index) {
    case FILE_:
	return KeyFile(interp, objv[2]);
    case GENERATE:
	crypto_sign_keypair(pk, sk);
	Tcl_SetObjResult(interp, KeyDict(pk, sk));
	sodium_memzero(sk, sizeof(sk));
	return TCL_OK;
    case ID:
	s = Tcl_GetStringFromObj(objv[2], &n);
	if (P2pHexDecode(s, (size_t) n, pk, 32) != 0) {
	    return P2pError(interp, "P2P IDENTITY MALFORMED", "bad public key"
		    " \"%s\": must be 64 hex digits", s);
	}
	P2pIdentityNodeId(pk, hex);
	Tcl_SetObjResult(interp, Tcl_NewStringObj(hex, -1));
	return TCL_OK;
    case RANDOM: {
	Tcl_Obj *resultObj;

	if (Tcl_GetIntFromObj(NULL, objv[2], &n) != TCL_OK || n < 0
		|| n > RANDOM_MAX) {
	    return P2pError(interp, "P2P USAGE BADVALUE", "bad count \"%s\":"
		    " must be an integer from 0 to %d",
		    Tcl_GetString(objv[2]), RANDOM_MAX);
	}
	resultObj = Tcl_NewObj();
	Tcl_SetObjLength(resultObj, 2 * n);
	{
	    unsigned char *buf = (unsigned char *) ckalloc(n ? n : 1);

	    randombytes_buf(buf, (size_t) n);
	    P2pHexEncode(buf, (size_t) n, Tcl_GetString(resultObj));
	    ckfree((char *) buf);
	}
	Tcl_SetObjResult(interp, resultObj);
	return TCL_OK;
    }
    case SIGN:
	s = Tcl_GetStringFromObj(objv[2], &n);
	if (P2pHexDecode(s, (size_t) n, sk, 64) != 0) {
	    return P2pError(interp, "P2P IDENTITY MALFORMED", "bad secret key:"
		    " must be 128 hex digits");
	}
	MessageBytes(objv[3], &ds, &bytes, &len);
	crypto_sign_detached(sig, NULL, bytes, len, sk);
	Tcl_DStringFree(&ds);
	sodium_memzero(sk, sizeof(sk));
	P2pHexEncode(sig, 64, hex);
	Tcl_SetObjResult(interp, Tcl_NewStringObj(hex, -1));
	return TCL_OK;
    case VERIFY: {
	int ok = 0;

	s = Tcl_GetStringFromObj(objv[2], &n);
	if (P2pHexDecode(s, (size_t) n, pk, 32) == 0) {
	    s = Tcl_GetStringFromObj(objv[4], &n);
	    if (P2pHexDecode(s, (size_t) n, sig, 64) == 0) {
		MessageBytes(objv[3], &ds, &bytes, &len);
		ok = crypto_sign_verify_detached(sig, bytes, len, pk) == 0;
		Tcl_DStringFree(&ds);
	    }
	}
	Tcl_SetObjResult(interp, Tcl_NewBooleanObj(ok));
	return TCL_OK;
    }
    }
    return TCL_OK;
}
