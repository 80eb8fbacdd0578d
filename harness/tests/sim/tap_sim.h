/* SPDX-License-Identifier: MIT */
/*
 * tap_sim.h - a minimal TAP producer for the sim environment's tests: every
 * comparison prints both operands, the plan is printed at the end, and the
 * exit status is 1 when any check failed.
 */
#ifndef KVTORTURE_TAP_SIM_H
#define KVTORTURE_TAP_SIM_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static int tap_count, tap_failures;

static inline __attribute__((format(printf, 4, 5)))
bool tap_ok_(bool cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failures++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

#define TAP_OK(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* Unsigned equality, both sides printed. */
#define TAP_EQ(a, b, name)							\
	do {									\
		uint64_t tap_a_ = (uint64_t)(a), tap_b_ = (uint64_t)(b);	\
		tap_ok_(tap_a_ == tap_b_, __FILE__, __LINE__,			\
			"%s: %s == %s (%" PRIu64 " vs %" PRIu64 ")", (name),	\
			#a, #b, tap_a_, tap_b_);				\
	} while (0)

static inline __attribute__((format(printf, 1, 2))) void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Print the plan; the process exit status. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

#endif /* KVTORTURE_TAP_SIM_H */
