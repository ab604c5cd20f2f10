/*
 * p2pUnixLimits.c --
 *
 *	Process facts and limits on unix: the open-files limit, load
 *	average and free memory.
 */

#include "p2pjobsInt.h"
#include <sys/resource.h>
#include <stdlib.h>

/*
 *----------------------------------------------------------------------
 *
 * P2ppRaiseFdLimit --
 *
 *	Raises the soft limit on open descriptors to the hard limit: the
 *	core's sockets are not Tcl channels and are not bound by select's
 *	1024, so a server can hold as many connections as the system lets.
 *
 * Results:
 *	The new soft limit, or -1 if it could not be read.
 *
 *----------------------------------------------------------------------
 */

int
P2ppRaiseFdLimit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
	return -1;
    }
    if (rl.rlim_cur < rl.rlim_max) {
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (int) rl.rlim_cur;
}

double
P2ppLoadAverage(void)
{
    double load[1];

    return getloadavg(load, 1) == 1 ? load[0] : -1.0;
}

long long
P2ppFreeMemory(void)
{
    return (long long) uv_get_free_memory();
}
