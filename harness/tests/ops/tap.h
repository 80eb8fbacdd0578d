/* SPDX-License-Identifier: MIT */
/*
 * tap.h - a minimal TAP producer for the op language tests.
 *
 * Each check prints "ok N - what" or "not ok N - what" with both operands of a
 * failed comparison; tap_done() prints the plan and returns the exit status
 * (0 when every check passed, 1 otherwise).  Single-threaded test mains only.
 */
#ifndef KVTORTURE_TESTS_OPS_TAP_H
#define KVTORTURE_TESTS_OPS_TAP_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned int tap_n, tap_failed;

static inline bool tap_ok(bool cond, const char *what)
{
	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %u - %s\n", cond ? "" : "not ", tap_n, what);
	fflush(stdout);
	return cond;
}

static inline bool tap_eq_u64(uint64_t got, uint64_t want, const char *what)
{
	if (!tap_ok(got == want, what)) {
		printf("#   got:  %" PRIu64 "\n#   want: %" PRIu64 "\n", got, want);
		return false;
	}
	return true;
}

static inline bool tap_eq_str(const char *got, const char *want, const char *what)
{
	bool same = got && want && strcmp(got, want) == 0;

	if (!tap_ok(same, what)) {
		printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)", want ? want : "(null)");
		return false;
	}
	return true;
}

static inline int tap_done(void)
{
	printf("1..%u\n", tap_n);
	if (tap_failed)
		printf("# %u of %u checks failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* KVTORTURE_TESTS_OPS_TAP_H */
