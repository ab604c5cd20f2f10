/*
 * p2pWinLimits.c --
 *
 *	Process facts and limits on Windows: the open-files limit, an
 *	estimate of the load average and free memory.
 *
 *	NOT BUILT OR TESTED: this file was written on Linux, where it can
 *	only be syntax-checked with a cross compiler.
 */

#include "p2pjobsInt.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <stdio.h>
#include <math.h>

/*
 * The most CRT stdio streams the C runtime allows (the UCRT's documented
 * maximum for _setmaxstdio).
 */

#define MAX_STDIO 8192

/*
 * State of the load estimate, shared by all threads.
 */

TCL_DECLARE_MUTEX(loadMutex)
static int loadSampled = 0;	/* A previous sample exists. */
static ULONGLONG lastIdle, lastBusy, lastTick;
static double loadAverage = 0.0;

/*
 *----------------------------------------------------------------------
 *
 * P2ppRaiseFdLimit --
 *
 *	On Windows the core's sockets are SOCKET handles, not C runtime
 *	descriptors, and no per-process limit like RLIMIT_NOFILE applies to
 *	them. The one limit that can be raised is the C runtime's number of
 *	stdio streams (512 by default), which Tcl and job code may use.
 *
 * Results:
 *	The new maximum number of stdio streams, or -1 on failure.
 *
 * Side effects:
 *	Calls _setmaxstdio.
 *
 *----------------------------------------------------------------------
 */

int
P2ppRaiseFdLimit(void)
{
    int n = _getmaxstdio();

    if (n < MAX_STDIO) {
	if (_setmaxstdio(MAX_STDIO) == -1) {
	    return n;
	}
	n = _getmaxstdio();
    }
    return n;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppLoadAverage --
 *
 *	Windows has no load average. This estimates one in the unix sense
 *	(busy processors, averaged over about a minute): the fraction of
 *	processor time not idle since the previous call (since boot on the
 *	first call), times the number of processors, smoothed exponentially
 *	with a time constant of 60 seconds as unix does for its 1-minute
 *	figure. It is an estimate of running work only: threads waiting for
 *	a processor are not counted, as unix would count them.
 *
 * Results:
 *	The estimate, or -1.0 if the system times cannot be read.
 *
 * Side effects:
 *	Updates the shared sample.
 *
 *----------------------------------------------------------------------
 */

static ULONGLONG
FileTimeValue(
    const FILETIME *ftPtr)
{
    return ((ULONGLONG) ftPtr->dwHighDateTime << 32) | ftPtr->dwLowDateTime;
}

double
P2ppLoadAverage(void)
{
    FILETIME idleFt, kernelFt, userFt;
    ULONGLONG idle, busy, tick, dIdle, dBusy;
    SYSTEM_INFO info;
    double fraction, result;

    if (!GetSystemTimes(&idleFt, &kernelFt, &userFt)) {
	return -1.0;
    }
    GetSystemInfo(&info);

    /*
     * Kernel time includes idle time; summed over all processors.
     */

    idle = FileTimeValue(&idleFt);
    busy = FileTimeValue(&kernelFt) + FileTimeValue(&userFt) - idle;
    tick = GetTickCount64();

    Tcl_MutexLock(&loadMutex);
    if (!loadSampled) {
	dIdle = idle;
	dBusy = busy;
    } else {
	dIdle = idle - lastIdle;
	dBusy = busy - lastBusy;
    }
    fraction = (dIdle + dBusy > 0)
	    ? (double) dBusy / (double) (dIdle + dBusy) : 0.0;
    fraction *= (double) info.dwNumberOfProcessors;
    if (!loadSampled) {
	loadAverage = fraction;
    } else {
	double decay = exp(-(double) (tick - lastTick) / 60000.0);

	loadAverage = loadAverage * decay + fraction * (1.0 - decay);
    }
    lastIdle = idle;
    lastBusy = busy;
    lastTick = tick;
    loadSampled = 1;
    result = loadAverage;
    Tcl_MutexUnlock(&loadMutex);
    return result;
}

/*
 *----------------------------------------------------------------------
 *
 * P2ppFreeMemory --
 *
 *	Physical memory available to processes.
 *
 * Results:
 *	Bytes, or -1 if it cannot be read.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

long long
P2ppFreeMemory(void)
{
    MEMORYSTATUSEX status;

    status.dwLength = sizeof(status);
    if (!GlobalMemoryStatusEx(&status)) {
	return -1;
    }
    return (long long) status.ullAvailPhys;
}
