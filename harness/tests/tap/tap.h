/* SPDX-License-Identifier: MIT */
/*
 * tap.h - the one TAP producer of the project's test programs.
 *
 * Each check prints "ok N - what" or "not ok N - what"; a failed comparison
 * also prints both operands, and a failed TAP_OK/TAP_EQ the file and line.
 * tap_done() prints the plan and returns the exit status: 0 when every check
 * passed, 1 otherwise.  tap_skip_all() is the plan of a program that has
 * nothing to check here.  One implementation (tap.c), linked by every test
 * program through tap_dep, so the counters are one per program however many
 * files report.  Context: the test program's threads; calls are serialised
 * by the callers (checks run on the main thread, or under the test's lock).
 */
#ifndef KVTORTURE_TAP_H
#define KVTORTURE_TAP_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

/* One check: @cond, described by a printf format.  Returns @cond. */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, naming @file and @line when it fails (TAP_OK). */
bool tap_ok_at(const char *file, int line, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define TAP_OK(cond, ...) tap_ok_at(__FILE__, __LINE__, !!(cond), __VA_ARGS__)

/* Comparisons that print both operands when they fail.  Return the result. */
bool tap_eq_u64(uint64_t got, uint64_t want, const char *what);
bool tap_eq_str(const char *got, const char *want, const char *what);
bool tap_eq_at(const char *file, int line, uint64_t a, uint64_t b, const char *a_text,
	       const char *b_text, const char *what);
/* Unsigned equality of two expressions, both printed (with their text) on failure. */
#define TAP_EQ(a, b, what) tap_eq_at(__FILE__, __LINE__, (uint64_t)(a), (uint64_t)(b), #a, #b, (what))

/* A diagnostic: every line of it starts with "# ". */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the plan; the exit status (0 all passed, 1 any failed). */
int tap_done(void);
/* The plan of a program with nothing to check here, and why; exit status 0. */
int tap_skip_all(const char *why);

#endif /* KVTORTURE_TAP_H */
