/* SPDX-License-Identifier: MIT */
/*
 * sibling.h - find a program built beside the running one.
 *
 * One program links exactly one environment and one implementation, so the
 * command line runs the others as separate programs from the same build
 * folder: `kvtorture stress` runs kvstress, `--impl kernel` the kernel
 * variant, `kvbench policies` kvstress.  Their paths are relative to the
 * folder of the running executable (/proc/self/exe), so a build folder works
 * wherever it is and whatever the current directory.  Context: any thread
 * of a command-line program.
 */
#ifndef KVTORTURE_SIBLING_H
#define KVTORTURE_SIBLING_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The path of @rel, relative to the running program's folder, into @buf
 * (@len bytes).  False, with errno set, when the program cannot find itself
 * or the path does not fit.
 */
static inline bool kvt_sibling_path(const char *rel, char *buf, size_t len)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", self, rel) >= len) {
		errno = ENAMETOOLONG;
		return false;
	}
	return true;
}

#endif /* KVTORTURE_SIBLING_H */
