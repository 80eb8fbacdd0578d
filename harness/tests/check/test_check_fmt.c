/* SPDX-License-Identifier: MIT */
/*
 * test_check_fmt.c - the checker's signal-safe formatter renders what
 * snprintf() renders, for every conversion the harness uses, and truncates
 * the same way.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
	return tap_done();
}
