/*
 * p2pUnixIdentity.c --
 *
 *	The unix part of p2p::identity (generic/p2pIdentity.c): reading a
 *	key file only when no one but its owner can read it, and creating
 *	one atomically with mode 0600.
 */

#include "p2pjobsInt.h"
#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define KEYFILE_MAX	4096

/*
 *----------------------------------------------------------------------
 *
 * P2ppKeyFileRead --
 *
 *	Reads a key file of at most 4096 bytes.
 *
 * Results:
 *	TCL_OK with the contents appended to dsPtr; TCL_CONTINUE when the
 *	file does not exist; TCL_ERROR with a message when it cannot be
 *	read, is not a regular file, or group or others may read or write
 *	it.
 *
 *----------------------------------------------------------------------
 */

int
P2ppKeyFileRead(
    Tcl_Interp *interp,
    Tcl_Obj *pathObj,
    Tcl_DString *dsPtr)
{
    const char *native = (const char *) Tcl_FSGetNativePath(pathObj);
    const char *path = Tcl_GetString(pathObj);
    struct stat st;
    char buf[KEYFILE_MAX + 1];
    ssize_t n;
    size_t got = 0;
    int fd;

    if (native == NULL) {
	return P2pError(interp, "P2P IDENTITY PATH", "bad key file path"
		" \"%s\"", path);
    }
    fd = open(native, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) {
	if (errno == ENOENT) {
	    return TCL_CONTINUE;
	}
	return P2pError(interp, "P2P IDENTITY FILE", "cannot read key file"
		" \"%s\": %s", path, Tcl_PosixError(interp));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
	close(fd);
	return P2pError(interp, "P2P IDENTITY FILE", "key file \"%s\" is not"
		" a regular file", path);
    }
    if (st.st_mode & 077) {
	close(fd);
	return P2pError(interp, "P2P IDENTITY MODE", "key file \"%s\" may be"
		" read by others (mode %04o): it must be 0600 (chmod 600 it,"
		" or make a new key)", path, (unsigned) (st.st_mode & 07777));
    }
    while (got < sizeof(buf)
	    && (n = read(fd, buf + got, sizeof(buf) - got)) != 0) {
	if (n < 0) {
	    if (errno == EINTR) {
		continue;
	    }
	    close(fd);
	    return P2pError(interp, "P2P IDENTITY FILE", "cannot read key"
		    " file \"%s\": %s", path, Tcl_PosixError(interp));
	}
	got += (size_t) n;
    }
    close(fd);
    if (got > KEYFILE_MAX) {
	return P2pError(interp, "P2P IDENTITY MALFORMED", "malformed key file"
		" \"%s\": too large", path);
    }
    Tcl_DStringAppend(dsPtr, buf, (int) got);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppKeyFileCreate --
 *
 *	Creates a key file that must not exist yet (O_CREAT|O_EXCL, mode
 *	0600), writes it, and syncs it and its directory.
 *
 * Results:
 *	TCL_OK; TCL_CONTINUE when the file appeared meanwhile (EEXIST);
 *	TCL_ERROR with a message otherwise (a missing directory, say). A
 *	failed write removes the partial file.
 *
 *----------------------------------------------------------------------
 */

int
P2ppKeyFileCreate(
    Tcl_Interp *interp,
    Tcl_Obj *pathObj,
    const char *bytes,
    size_t len)
{
    const char *native = (const char *) Tcl_FSGetNativePath(pathObj);
    const char *path = Tcl_GetString(pathObj);
    Tcl_Obj *dirObj, *splitObj;
    size_t done = 0;
    int fd, n;

    if (native == NULL) {
	return P2pError(interp, "P2P IDENTITY PATH", "bad key file path"
		" \"%s\"", path);
    }
    fd = open(native, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0) {
	if (errno == EEXIST) {
	    return TCL_CONTINUE;
	}
	return P2pError(interp, "P2P IDENTITY FILE", "cannot create key file"
		" \"%s\": %s", path, Tcl_PosixError(interp));
    }
    while (done < len) {
	ssize_t n = write(fd, bytes + done, len - done);

	if (n < 0 && errno == EINTR) {
	    continue;
	}
	if (n <= 0) {
	    break;
	}
	done += (size_t) n;
    }
    if (done < len || fsync(fd) != 0) {
	P2pError(interp, "P2P IDENTITY FILE", "cannot write key file"
		" \"%s\": %s", path, Tcl_PosixError(interp));
	close(fd);
	unlink(native);
	return TCL_ERROR;
    }
    close(fd);

    /*
     * Make the new directory entry durable too.
     */

    splitObj = Tcl_FSSplitPath(pathObj, &n);
    Tcl_IncrRefCount(splitObj);
    if (n > 1) {
	const char *dir;

	dirObj = Tcl_FSJoinPath(splitObj, n - 1);
	Tcl_IncrRefCount(dirObj);
	dir = (const char *) Tcl_FSGetNativePath(dirObj);
	if (dir && (fd = open(dir, O_RDONLY)) >= 0) {
	    fsync(fd);
	    close(fd);
	}
	Tcl_DecrRefCount(dirObj);
    }
    Tcl_DecrRefCount(splitObj);
    return TCL_OK;
}
