/*
 * p2pUnixExec.c --
 *
 *	The unix part of p2p::exec (generic/p2pExec.c): killing process
 *	groups, users for -user, and finding programs and prlimit for the
 *	resource limits.
 */

#include "p2pjobsInt.h"
#include <sys/types.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Where execvp looks when PATH is not set (glibc's default), and where
 * prlimit may be.
 */

#define DEFAULT_PATH	"/bin:/usr/bin"

static const char *const limiters[] = {
    "/usr/bin/prlimit", "/bin/prlimit", "/usr/local/bin/prlimit", NULL
};

/*
 * Where P2ppExecKeepDescriptors looks without /proc/self/fd: descriptors
 * below this (or the soft limit on open files, if lower).
 */

#define SCAN_FDS	4096

static void	KeepDescriptor(int fd);

/*
 *----------------------------------------------------------------------
 *
 * P2ppExecKillGroup --
 *
 *	Sends SIGKILL to the process group whose id is pid (a child started
 *	detached is the leader of its own session and group).
 *
 * Results:
 *	0, or a negative libuv error (UV_ESRCH when the group is empty).
 *
 *----------------------------------------------------------------------
 */

int
P2ppExecKillGroup(
    int pid)
{
    if (pid <= 0) {
	return UV_EINVAL;
    }
    return kill(-pid, SIGKILL) == 0 ? 0 : -errno;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppExecPrivileged --
 *
 *	Whether this process runs as root (RLIMIT_NPROC does not bind it,
 *	and only it can switch users).
 *
 *----------------------------------------------------------------------
 */

int
P2ppExecPrivileged(void)
{
    return geteuid() == 0;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppExecUser --
 *
 *	The user and primary group ids of a user name (or a numeric uid),
 *	for a child that is to run as that user.
 *
 * Results:
 *	TCL_OK, or TCL_ERROR with {P2P EXEC USER NOTROOT} when this process
 *	cannot switch users or {P2P EXEC USER UNKNOWN name}.
 *
 *----------------------------------------------------------------------
 */

int
P2ppExecUser(
    Tcl_Interp *interp,
    const char *name,
    uv_uid_t *uidPtr,
    uv_gid_t *gidPtr)
{
    struct passwd pw, *pwPtr = NULL;
    char buf[4096];
    Tcl_DString ds;
    char *end;
    long number;

    if (geteuid() != 0) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("-user needs root: this"
		" process runs as uid %ld", (long) geteuid()));
	Tcl_SetErrorCode(interp, "P2P", "EXEC", "USER", "NOTROOT", NULL);
	return TCL_ERROR;
    }
    Tcl_UtfToExternalDString(NULL, name, -1, &ds);
    if (getpwnam_r(Tcl_DStringValue(&ds), &pw, buf, sizeof(buf), &pwPtr)
	    != 0) {
	pwPtr = NULL;
    }
    if (pwPtr == NULL && name[0] != '\0') {
	number = strtol(name, &end, 10);
	if (*end == '\0' && number >= 0 && getpwuid_r((uid_t) number, &pw,
		buf, sizeof(buf), &pwPtr) != 0) {
	    pwPtr = NULL;
	}
    }
    Tcl_DStringFree(&ds);
    if (pwPtr == NULL) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("unknown user \"%s\"",
		name));
	Tcl_SetErrorCode(interp, "P2P", "EXEC", "USER", "UNKNOWN", name,
		NULL);
	return TCL_ERROR;
    }
    *uidPtr = pwPtr->pw_uid;
    *gidPtr = pwPtr->pw_gid;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * Runnable --
 *
 *	Whether path (relative to cwd when relative and cwd is not NULL)
 *	names a regular file that may be executed.
 *
 * Results:
 *	0, UV_EACCES (there but not executable) or UV_ENOENT.
 *
 *----------------------------------------------------------------------
 */

static int
Runnable(
    const char *path,
    const char *cwd)
{
    Tcl_DString ds;
    struct stat st;
    int result;

    Tcl_DStringInit(&ds);
    if (path[0] != '/' && cwd != NULL) {
	Tcl_DStringAppend(&ds, cwd, -1);
	Tcl_DStringAppend(&ds, "/", 1);
    }
    Tcl_DStringAppend(&ds, path, -1);
    if (stat(Tcl_DStringValue(&ds), &st) != 0) {
	result = UV_ENOENT;
    } else if (!S_ISREG(st.st_mode)
	    || access(Tcl_DStringValue(&ds), X_OK) != 0) {
	result = UV_EACCES;
    } else {
	result = 0;
    }
    Tcl_DStringFree(&ds);
    return result;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppExecFindProgram --
 *
 *	Finds a program as execvp would in a child whose PATH is path (NULL:
 *	unset) and whose working directory is cwd (NULL: ours). A name with
 *	a slash is taken as it is.
 *
 * Results:
 *	0 with the path to give exec in *dsPtr (initialized here, always),
 *	or UV_ENOENT / UV_EACCES.
 *
 *----------------------------------------------------------------------
 */

int
P2ppExecFindProgram(
    const char *program,
    const char *path,
    const char *cwd,
    Tcl_DString *dsPtr)
{
    const char *p, *colon;
    int result = UV_ENOENT, status;

    Tcl_DStringInit(dsPtr);
    if (program[0] == '\0') {
	return UV_ENOENT;
    }
    if (strchr(program, '/') != NULL) {
	Tcl_DStringAppend(dsPtr, program, -1);
	return Runnable(program, cwd);
    }
    if (path == NULL) {
	path = DEFAULT_PATH;
    }
    for (p = path; ; p = colon + 1) {
	colon = strchr(p, ':');
	Tcl_DStringSetLength(dsPtr, 0);
	if (colon == NULL ? (*p == '\0') : (colon == p)) {
	    Tcl_DStringAppend(dsPtr, ".", 1);
	} else {
	    Tcl_DStringAppend(dsPtr, p, colon ? (int) (colon - p) : -1);
	}
	Tcl_DStringAppend(dsPtr, "/", 1);
	Tcl_DStringAppend(dsPtr, program, -1);
	status = Runnable(Tcl_DStringValue(dsPtr), cwd);
	if (status == 0) {
	    return 0;
	}
	if (status == UV_EACCES) {
	    result = UV_EACCES;
	}
	if (colon == NULL) {
	    break;
	}
    }
    Tcl_DStringSetLength(dsPtr, 0);
    return result;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppExecLimiter --
 *
 *	Where prlimit is.
 *
 * Results:
 *	Its path, or NULL when it is not installed.
 *
 *----------------------------------------------------------------------
 */

const char *
P2ppExecLimiter(void)
{
    int i;

    for (i = 0; limiters[i] != NULL; i++) {
	if (access(limiters[i], X_OK) == 0) {
	    return limiters[i];
	}
    }
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppExecKeepDescriptors --
 *
 *	Marks every descriptor of this process from 3 up close-on-exec, so
 *	that a child started next gets its standard input, output and error
 *	and nothing else: not the descriptors this process inherited from
 *	its own parent (a shell's, a test harness's), which libuv's spawn
 *	would otherwise pass on.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	The descriptors stay open here; only exec closes them (in children
 *	of this process started by any means, Tcl's exec too).
 *
 *----------------------------------------------------------------------
 */

void
P2ppExecKeepDescriptors(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    long max;
    int fd;

    if (dir != NULL) {
	while ((entry = readdir(dir)) != NULL) {
	    fd = atoi(entry->d_name);
	    if (fd > 2 && fd != dirfd(dir)) {
		KeepDescriptor(fd);
	    }
	}
	closedir(dir);
	return;
    }
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > SCAN_FDS) {
	max = SCAN_FDS;
    }
    for (fd = 3; fd < max; fd++) {
	KeepDescriptor(fd);
    }
}

static void
KeepDescriptor(
    int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags >= 0 && !(flags & FD_CLOEXEC)) {
	(void) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}
