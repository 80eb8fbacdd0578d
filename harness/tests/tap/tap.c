// SPDX-License-Identifier: MIT
/*
 * tap.c - the TAP producer of tap.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

static unsigned int tap_count, tap_failed;

static bool tap_vreport(const char *file, int line, bool cond, const char *fmt, va_list ap)
{
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%s %u - ", cond ? "ok" : "not ok", tap_count);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond && file)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vreport(NULL, 0, cond, fmt, ap);
	va_end(ap);
	return cond;
}

bool tap_ok_at(const char *file, int line, bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vreport(file, line, cond, fmt, ap);
	va_end(ap);
	return cond;
}

bool tap_eq_u64(uint64_t got, uint64_t want, const char *what)
{
	if (tap_ok(got == want, "%s", what))
		return true;
	printf("#   got:  %" PRIu64 "\n#   want: %" PRIu64 "\n", got, want);
	return false;
}

bool tap_eq_str(const char *got, const char *want, const char *what)
{
	bool same = got && want && strcmp(got, want) == 0;

	if (tap_ok(same, "%s", what))
		return true;
	printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)", want ? want : "(null)");
	return false;
}

bool tap_eq_at(const char *file, int line, uint64_t a, uint64_t b, const char *a_text,
	       const char *b_text, const char *what)
{
	return tap_ok_at(file, line, a == b, "%s: %s == %s (%" PRIu64 " vs %" PRIu64 ")",
			 what, a_text, b_text, a, b);
}

void tap_diag(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *line = buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		printf("# %s\n", line);
	}
	fflush(stdout);
}

int tap_done(void)
{
	printf("1..%u\n", tap_count);
	if (tap_failed)
		printf("# %u of %u checks failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

int tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	return 0;
}
