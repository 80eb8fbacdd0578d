/* SPDX-License-Identifier: MIT */
/*
 * test_check_fmt.c - the checker's signal-safe formatter renders what
 * snprintf() renders, for every conversion the harness uses, and truncates
 * the same way; so does it from arguments recorded as words (the trace's
 * lazy text), which check_fmt_args() counts and types.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "check_fmt.h"
#include "fake_env.h"

static void same(const char *what, const char *mine, const char *libc)
{
	bool ok = strcmp(mine, libc) == 0;

	tap_ok(ok, "%s", what);
	if (!ok)
		tap_diag("check_fmt: \"%s\"\nsnprintf:  \"%s\"", mine, libc);
}

#define SAME(...)								\
	do {									\
		char a_[256], b_[256];						\
		check_fmt(a_, sizeof(a_), __VA_ARGS__);				\
		snprintf(b_, sizeof(b_), __VA_ARGS__);				\
		same(#__VA_ARGS__, a_, b_);					\
	} while (0)

/* The same, rendered from the arguments recorded as check_trace() records them. */
#define SAME_WORDS(fmt_, ...)							\
	do {									\
		const uint64_t w_[CHECK_TRACE_ARGS] = {				\
			CHECK_TRACE_WORDS_(CHECK_TRACE_NARGS_(__VA_ARGS__), ##__VA_ARGS__) \
		};								\
		char a_[256], b_[256];						\
		uint32_t strs_;							\
		unsigned int n_ = check_fmt_args(fmt_, &strs_);			\
		check_fmt_words(a_, sizeof(a_), fmt_, w_, n_);			\
		snprintf(b_, sizeof(b_), fmt_, ##__VA_ARGS__);			\
		same("words: " #fmt_ ", " #__VA_ARGS__, a_, b_);		\
	} while (0)

static void test_words(void)
{
	char small[8];
	uint32_t strs;
	size_t n;

	SAME_WORDS("plain text");
	SAME_WORDS("%d %i %d", 0, -17, INT_MIN);
	SAME_WORDS("%u %x %X %o", 4000000000u, 0xdeadbeefu, 0xabcu, 8u);
	SAME_WORDS("%ld %lu %lld %llu", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX);
	SAME_WORDS("%zu %zd %jd %td", (size_t)12345, (ssize_t)-3, (intmax_t)-9, (ptrdiff_t)77);
	SAME_WORDS("%hhd %hhu %hd %hu", (signed char)-44, (unsigned char)200, (short)-1234,
		   (unsigned short)60000);
	SAME_WORDS("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, -42, 42, 42);
	SAME_WORDS("[%.3d] [%8.3d] [%-8.3x] [%.0d]", 7, -7, 255u, 0);
	SAME_WORDS("[%#x] [%#o] [%#X] [%#x]", 255u, 8u, 255u, 0u);
	SAME_WORDS("[%s] [%10s] [%-10s] [%.2s]", "abc", "abc", "abc", "abc");
	SAME_WORDS("[%*s] [%.*s] [%*d]", 6, "ab", 1, "xyz", -4, 7);
	SAME_WORDS("[%c%c] [%3c] [%%] %d%%", 'o', 'k', 'z', 100);
	SAME_WORDS("random %016" PRIx64 " %" PRIu64 "/%" PRIu64, UINT64_MAX, (uint64_t)3,
		   (uint64_t)7);
	SAME_WORDS("preempt co%d %s cpu%u->cpu%u at %s", -1, "kvt-queue", 0u, 1u, "irq_restore");

	tap_ok(check_fmt_args("%d %s %*s %% %.*s", &strs) == 6 && strs == ((1u << 1) | (1u << 3) |
									  (1u << 5)),
	       "check_fmt_args: every word counted, '*' included; strings marked");
	tap_ok(check_fmt_args("no conversion %%", &strs) == 0 && strs == 0,
	       "check_fmt_args: none");
	n = check_fmt_words(small, sizeof(small), "%s-%d",
			    (const uint64_t[]){ (uintptr_t)"abcdef", 12345 }, 2);
	tap_ok(n == 7 && strcmp(small, "abcdef-") == 0,
	       "words: truncated like check_fmt(), NUL-terminated");
	n = check_fmt_words(small, sizeof(small), "%d %d", (const uint64_t[]){ 5 }, 1);
	tap_ok(n == 3 && strcmp(small, "5 0") == 0, "words: a missing word reads as 0");
}

int main(void)
{
	char small[8];
	size_t n;
	int x = 5;

	SAME("plain text");
	SAME("%d %i %d", 0, -17, INT_MIN);
	SAME("%u %x %X %o", 4000000000u, 0xdeadbeefu, 0xabcu, 8u);
	SAME("%ld %lu %lld %llu", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX);
	SAME("%zu %zd %jd %td", (size_t)12345, (ssize_t)-3, (intmax_t)-9, (ptrdiff_t)77);
	SAME("%hhd %hhu %hd %hu", (signed char)-44, (unsigned char)200, (short)-1234,
	     (unsigned short)60000);
	SAME("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, -42, 42, 42);
	SAME("[%.3d] [%8.3d] [%-8.3x] [%.0d]", 7, -7, 255u, 0);
	SAME("[%#x] [%#o] [%#X] [%#x]", 255u, 8u, 255u, 0u);
	SAME("[%s] [%10s] [%-10s] [%.2s] [%*s] [%.*s]", "abc", "abc", "abc", "abc", 6, "ab",
	     1, "xyz");
	SAME("[%c%c] [%3c] [%%]", 'o', 'k', 'z');
	SAME("%p %p", (void *)&x, (void *)0x1000);
	SAME("[%18p] [%-18p]", (void *)0x1234, (void *)0x1234);
	SAME("%p", (void *)NULL);
	{
		/* glibc prints "(null)"; the compiler refuses a literal NULL for %s. */
		char a[16];
		const char *volatile nul = NULL;

		check_fmt(a, sizeof(a), "%s", nul);
		same("%s of NULL", a, "(null)");
	}
	SAME("%d%%", 100);
	SAME("%.2f and %g", 3.14159, 2.5);	/* the vsnprintf fallback */

	n = check_fmt(small, sizeof(small), "%s-%d", "abcdef", 12345);
	tap_ok(n == 7 && strcmp(small, "abcdef-") == 0,
	       "truncation: NUL-terminated, returns the length written");
	n = check_fmt(small, 1, "%d", 5);
	tap_ok(n == 0 && small[0] == 0, "truncation: a one-byte buffer holds the NUL only");
	test_words();
	return tap_done();
}
