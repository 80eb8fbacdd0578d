/* SPDX-License-Identifier: MIT */
/*
 * check_fmt.h - printf-style formatting into fixed buffers, safe in signal
 * handlers.
 *
 * The checker formats trace events and violation reports from any context,
 * including a signal handler that interrupted malloc or stdio, so it cannot
 * rely on stdio.  check_vfmt() renders the conversions the harness uses
 * (d i u x X o p s c %, with flags, width, precision and the hh h l ll z j t
 * length modifiers) itself, without allocating or locking.  A conversion it
 * does not know (floating point, %n, ...) falls back to vsnprintf() for the
 * whole string: correct, but no longer async-signal-safe, so the checker's
 * own formats never use one.
 */
#ifndef KVTORTURE_CHECK_FMT_H
#define KVTORTURE_CHECK_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Format into @buf of @size bytes (>= 1), always NUL-terminated, truncated to
 * fit.  Returns the length written (not the length that would have been).
 * Context: any (see above for the fallback).
 */
size_t check_vfmt(char *buf, size_t size, const char *fmt, va_list ap);
size_t check_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Formats whose arguments were recorded as 64-bit words (the trace,
 * check.h): each integer converted with (uint64_t)(uintptr_t), signed ones
 * sign-extended, each string (%s) as its address.
 *
 * check_fmt_args() returns how many words @fmt consumes (a '*' width or
 * precision takes one), and sets bit i of *@strs when word i is a string (the
 * first 32 words).  check_fmt_words() renders @fmt from @words (@nwords of
 * them; missing ones read as 0) exactly as check_fmt() renders it from the
 * original arguments, truncated the same way.  Floating-point conversions
 * cannot be recorded as words: they print "?".  Context: any.
 */
unsigned int check_fmt_args(const char *fmt, uint32_t *strs);
size_t check_fmt_words(char *buf, size_t size, const char *fmt, const uint64_t *words,
		       unsigned int nwords);

#endif /* KVTORTURE_CHECK_FMT_H */
