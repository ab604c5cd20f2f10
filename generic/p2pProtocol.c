/*
 * p2pProtocol.c --
 *
 *	Versioned protocol tables of a handler: NAME/VERSION -> (command word
 *	-> command prefix). The Tcl library fills them from protocol bodies
 *	(p2p::protocol init); the dispatcher reads them.
 */

#include "p2pjobsInt.h"

static void	FreeProtocol(P2pProtocol *protoPtr);

/*
 *----------------------------------------------------------------------
 *
 * P2pProtocolSplitName --
 *
 *	Checks that name is ROOT/VERSION with a non-empty root and a positive
 *	decimal version.
 *
 * Results:
 *	1 with the root's length and the version, or 0.
 *
 *----------------------------------------------------------------------
 */

int
P2pProtocolSplitName(
    const char *name,
    int len,
    int *rootLenPtr,
    int *versionPtr)
{
    int slash = len - 1, version = 0;

    while (slash >= 0 && name[slash] != '/') {
	slash--;
    }
    if (slash <= 0 || slash == len - 1 || len - slash > 10) {
	return 0;
    }
    for (int i = slash + 1; i < len; i++) {
	if (name[i] < '0' || name[i] > '9') {
	    return 0;
	}
	version = version * 10 + (name[i] - '0');
    }
    if (version <= 0) {
	return 0;
    }
    *rootLenPtr = slash;
    *versionPtr = version;
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pProtocolReverseRoot --
 *
 *	The root the other side of a connection uses: "ns:a<-b" becomes
 *	"ns:b<-a"; a root without "<-" is its own reverse.
 *
 * Results:
 *	A new Tcl_Obj (refcount 0).
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
P2pProtocolReverseRoot(
    const char *root,
    int len)
{
    int arrow = -1, colon = -1, i;
    Tcl_Obj *objPtr;

    for (i = 0; i + 1 < len; i++) {
	if (root[i] == '<' && root[i + 1] == '-') {
	    arrow = i;
	    break;
	}
    }
    if (arrow < 0) {
	return Tcl_NewStringObj(root, len);
    }
    for (i = 0; i < arrow; i++) {
	if (root[i] == ':') {
	    colon = i;
	}
    }
    objPtr = Tcl_NewStringObj(root, colon + 1);
    Tcl_AppendToObj(objPtr, root + arrow + 2, len - arrow - 2);
    Tcl_AppendToObj(objPtr, "<-", 2);
    Tcl_AppendToObj(objPtr, root + colon + 1, arrow - colon - 1);
    return objPtr;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pProtocolAdd --
 *
 *	Installs (or replaces) NAME/VERSION on a handler with the commands
 *	of a dict word -> command prefix. Connections already speaking a
 *	replaced version keep the old table until they close.
 *
 *----------------------------------------------------------------------
 */

int
P2pProtocolAdd(
    Tcl_Interp *interp,
    P2pHandler *hPtr,
    Tcl_Obj *nameObj,
    Tcl_Obj *mapObj)
{
    int len, rootLen, version, n, i, isNew;
    const char *name = Tcl_GetStringFromObj(nameObj, &len);
    Tcl_Obj **kv;
    P2pProtocol *protoPtr;
    Tcl_HashEntry *entryPtr;

    if (!P2pProtocolSplitName(name, len, &rootLen, &version)) {
	return P2pError(interp, "P2P PROTOCOL BADNAME", "bad protocol name"
		" \"%s\": must be ROOT/VERSION with a positive integer"
		" version", name);
    }
    if (Tcl_ListObjGetElements(interp, mapObj, &n, &kv) != TCL_OK) {
	return TCL_ERROR;
    }
    if (n % 2) {
	return P2pError(interp, "P2P PROTOCOL BADMAP", "command map of"
		" \"%s\" must be a dict of command -> command prefix", name);
    }
    for (i = 0; i < n; i += 2) {
	const char *word = Tcl_GetString(kv[i]);
	int pc;
	Tcl_Obj **pv;

	if (strcmp(word, "protocol") == 0) {
	    return P2pError(interp, "P2P PROTOCOL RESERVED", "command"
		    " \"protocol\" is reserved for negotiation");
	}
	if (Tcl_ListObjGetElements(interp, kv[i + 1], &pc, &pv) != TCL_OK) {
	    return TCL_ERROR;
	}
	if (pc == 0) {
	    return P2pError(interp, "P2P PROTOCOL BADMAP", "empty command"
		    " prefix for \"%s\"", word);
	}
    }

    protoPtr = (P2pProtocol *) ckalloc(sizeof(P2pProtocol));
    protoPtr->refCount = 1;
    protoPtr->nameObj = Tcl_NewStringObj(name, len);
    Tcl_IncrRefCount(protoPtr->nameObj);
    protoPtr->root = ckalloc(rootLen + 1);
    memcpy(protoPtr->root, name, rootLen);
    protoPtr->root[rootLen] = '\0';
    protoPtr->version = version;
    Tcl_InitHashTable(&protoPtr->commands, TCL_STRING_KEYS);
    protoPtr->commandsObj = Tcl_NewListObj(0, NULL);
    Tcl_IncrRefCount(protoPtr->commandsObj);
    for (i = 0; i < n; i += 2) {
	P2pCommand *cmdPtr = (P2pCommand *) ckalloc(sizeof(P2pCommand));

	entryPtr = Tcl_CreateHashEntry(&protoPtr->commands,
		Tcl_GetString(kv[i]), &isNew);
	if (!isNew) {
	    P2pCommand *oldPtr = (P2pCommand *) Tcl_GetHashValue(entryPtr);

	    Tcl_DecrRefCount(oldPtr->prefixObj);
	    ckfree((char *) oldPtr);
	} else {
	    Tcl_ListObjAppendElement(NULL, protoPtr->commandsObj, kv[i]);
	}
	cmdPtr->prefixObj = Tcl_DuplicateObj(kv[i + 1]);
	Tcl_IncrRefCount(cmdPtr->prefixObj);
	Tcl_ListObjGetElements(NULL, cmdPtr->prefixObj, &cmdPtr->prefixc,
		&cmdPtr->prefixv);
	Tcl_SetHashValue(entryPtr, cmdPtr);
    }

    /*
     * Sort the names for messages: lsort of the list.
     */

    {
	Tcl_Obj *cmd[2];

	cmd[0] = Tcl_NewStringObj("lsort", 5);
	cmd[1] = protoPtr->commandsObj;
	Tcl_IncrRefCount(cmd[0]);
	if (Tcl_EvalObjv(interp, 2, cmd, TCL_EVAL_GLOBAL) == TCL_OK) {
	    Tcl_DecrRefCount(protoPtr->commandsObj);
	    protoPtr->commandsObj = Tcl_GetObjResult(interp);
	    Tcl_IncrRefCount(protoPtr->commandsObj);
	}
	Tcl_DecrRefCount(cmd[0]);
	Tcl_ResetResult(interp);
    }

    entryPtr = Tcl_CreateHashEntry(&hPtr->protocols, name, &isNew);
    if (!isNew) {
	P2pProtocolRelease((P2pProtocol *) Tcl_GetHashValue(entryPtr));
    }
    Tcl_SetHashValue(entryPtr, protoPtr);
    return TCL_OK;
}

P2pProtocol *
P2pProtocolFind(
    P2pHandler *hPtr,
    const char *name)
{
    Tcl_HashEntry *entryPtr = Tcl_FindHashEntry(&hPtr->protocols, name);

    return entryPtr ? (P2pProtocol *) Tcl_GetHashValue(entryPtr) : NULL;
}

void
P2pProtocolRelease(
    P2pProtocol *protoPtr)
{
    if (--protoPtr->refCount <= 0) {
	FreeProtocol(protoPtr);
    }
}

static void
FreeProtocol(
    P2pProtocol *protoPtr)
{
    Tcl_HashSearch search;
    Tcl_HashEntry *entryPtr;

    for (entryPtr = Tcl_FirstHashEntry(&protoPtr->commands, &search);
	    entryPtr; entryPtr = Tcl_NextHashEntry(&search)) {
	P2pCommand *cmdPtr = (P2pCommand *) Tcl_GetHashValue(entryPtr);

	Tcl_DecrRefCount(cmdPtr->prefixObj);
	ckfree((char *) cmdPtr);
    }
    Tcl_DeleteHashTable(&protoPtr->commands);
    Tcl_DecrRefCount(protoPtr->commandsObj);
    Tcl_DecrRefCount(protoPtr->nameObj);
    ckfree(protoPtr->root);
    ckfree((char *) protoPtr);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pProtocolDeleteAll --
 *
 *	Drops the handler's references on all its protocols.
 *
 *----------------------------------------------------------------------
 */

void
P2pProtocolDeleteAll(
    P2pHandler *hPtr)
{
    Tcl_HashSearch search;
    Tcl_HashEntry *entryPtr;

    for (entryPtr = Tcl_FirstHashEntry(&hPtr->protocols, &search);
	    entryPtr; entryPtr = Tcl_NextHashEntry(&search)) {
	P2pProtocolRelease((P2pProtocol *) Tcl_GetHashValue(entryPtr));
    }
    Tcl_DeleteHashTable(&hPtr->protocols);
    Tcl_InitHashTable(&hPtr->protocols, TCL_STRING_KEYS);
}

/*
 *----------------------------------------------------------------------
 *
 * P2pProtocolNames --
 *
 *	Sorted names of the installed protocols, highest version first
 *	within a root.
 *
 * Results:
 *	A new list (refcount 1: the caller releases it).
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
P2pProtocolNames(
    P2pHandler *hPtr)
{
    Tcl_HashSearch search;
    Tcl_HashEntry *entryPtr;
    Tcl_Obj *listObj = Tcl_NewListObj(0, NULL);
    Tcl_Obj *cmd[4], *resultObj;

    for (entryPtr = Tcl_FirstHashEntry(&hPtr->protocols, &search);
	    entryPtr; entryPtr = Tcl_NextHashEntry(&search)) {
	P2pProtocol *protoPtr = (P2pProtocol *) Tcl_GetHashValue(entryPtr);

	Tcl_ListObjAppendElement(NULL, listObj, protoPtr->nameObj);
    }
    cmd[0] = Tcl_NewStringObj("lsort", -1);
    cmd[1] = Tcl_NewStringObj("-dictionary", -1);
    cmd[2] = Tcl_NewStringObj("-decreasing", -1);
    cmd[3] = listObj;
    for (int i = 0; i < 4; i++) {
	Tcl_IncrRefCount(cmd[i]);
    }
    if (Tcl_EvalObjv(hPtr->interp, 4, cmd, TCL_EVAL_GLOBAL) == TCL_OK) {
	resultObj = Tcl_GetObjResult(hPtr->interp);
    } else {
	resultObj = listObj;
    }
    Tcl_IncrRefCount(resultObj);
    Tcl_ResetResult(hPtr->interp);
    for (int i = 0; i < 4; i++) {
	Tcl_DecrRefCount(cmd[i]);
    }
    return resultObj;
}

/*
 *----------------------------------------------------------------------
 *
 * P2pProtocolMethod --
 *
 *	$handler protocol add|remove|names|commands ...
 *
 *----------------------------------------------------------------------
 */

int
P2pProtocolMethod(
    Tcl_Interp *interp,
    P2pHandler *hPtr,
    int skip,
    int objc,
    Tcl_Obj *const objv[])
{
    static const char *const subs[] = {
	"add", "commands", "names", "remove", NULL
    };
    enum { ADD, COMMANDS, NAMES, REMOVE };
    int index;
    P2pProtocol *protoPtr;
    Tcl_HashEntry *entryPtr;

    if (objc - skip < 1) {
	Tcl_WrongNumArgs(interp, skip, objv, "subcommand ?arg ...?");
	return TCL_ERROR;
    }
    objc -= skip;
    if (Tcl_GetIndexFromObj(interp, objv[skip], subs, "subcommand", 0,
	    &index) != TCL_OK) {
	return TCL_ERROR;
    }
    switch (index) {
    case ADD:
	if (objc != 3) {
	    Tcl_WrongNumArgs(interp, skip + 1, objv, "name/version map");
	    return TCL_ERROR;
	}
	return P2pProtocolAdd(interp, hPtr, objv[skip + 1], objv[skip + 2]);
    case NAMES:
	if (objc != 1) {
	    Tcl_WrongNumArgs(interp, skip + 1, objv, NULL);
	    return TCL_ERROR;
	}
	{
	    Tcl_Obj *namesObj = P2pProtocolNames(hPtr);

	    Tcl_SetObjResult(interp, namesObj);
	    Tcl_DecrRefCount(namesObj);
	}
	return TCL_OK;
    case COMMANDS:
    case REMOVE:
	if (objc != 2) {
	    Tcl_WrongNumArgs(interp, skip + 1, objv, "name/version");
	    return TCL_ERROR;
	}
	entryPtr = Tcl_FindHashEntry(&hPtr->protocols, Tcl_GetString(objv[skip + 1]));
	if (entryPtr == NULL) {
	    Tcl_Obj *namesObj = P2pProtocolNames(hPtr);
	    int n;

	    Tcl_ListObjLength(NULL, namesObj, &n);
	    Tcl_Obj *msgObj = Tcl_ObjPrintf("unknown protocol \"%s\": ",
		    Tcl_GetString(objv[skip + 1]));

	    if (n) {
		Tcl_AppendToObj(msgObj, "must be ", -1);
		P2pAppendChoices(msgObj, namesObj);
	    } else {
		Tcl_AppendToObj(msgObj, "no protocols installed", -1);
	    }
	    Tcl_SetObjResult(interp, msgObj);
	    Tcl_DecrRefCount(namesObj);
	    Tcl_SetErrorCode(interp, "P2P", "PROTOCOL", "UNKNOWN",
		    Tcl_GetString(objv[skip + 1]), NULL);
	    return TCL_ERROR;
	}
	protoPtr = (P2pProtocol *) Tcl_GetHashValue(entryPtr);
	if (index == COMMANDS) {
	    Tcl_SetObjResult(interp, protoPtr->commandsObj);
	} else {
	    Tcl_DeleteHashEntry(entryPtr);
	    P2pProtocolRelease(protoPtr);
	}
	return TCL_OK;
    }
    return TCL_OK;
}
