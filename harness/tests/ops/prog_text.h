/* SPDX-License-Identifier: MIT */
/*
 * prog_text.h - the canonical text of a program as a malloc'd string, for the
 * op language tests.  Dies (exit 99) when printing fails.
 */
#ifndef KVTORTURE_TESTS_OPS_PROG_TEXT_H
#define KVTORTURE_TESTS_OPS_PROG_TEXT_H

#include <stdio.h>
#include <stdlib.h>

#include "ops.h"

static inline char *print_to_string(const struct kvt_prog *prog)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f || kvt_prog_print(prog, f) != 0) {
		perror("print");
		exit(99);
	}
	fclose(f);
	return buf;
}

#endif /* KVTORTURE_TESTS_OPS_PROG_TEXT_H */
