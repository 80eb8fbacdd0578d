// SPDX-License-Identifier: MIT
/*
 * fuzz_repro_parser.c - fuzz the text reproducer parser.
 *
 * Any byte string must parse cleanly or be rejected with a "FILE:LINE: ..."
 * message, never crash.  What parses must print to a canonical text that
 * parses again to the same program (text -> parse -> print is stable), and a
 * program the binary form can hold must survive encode -> decode unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ops.h"

#define FUZZ_MAX_TEXT 8192

static void fail(const char *what)
{
	fprintf(stderr, "fuzz-repro-parser: %s\n", what);
	abort();
}

static char *print_prog(const struct kvt_prog *prog, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		fail("open_memstream failed");
	if (kvt_prog_print(prog, f) != 0)
		fail("kvt_prog_print failed");
	fclose(f);
	return text;
}

static bool same_ops(const struct kvt_prog *a, const struct kvt_prog *b)
{
	return a->nr == b->nr && (a->nr == 0 || memcmp(a->ops, b->ops, a->nr * sizeof(*a->ops)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvt_prog prog = { 0 }, again = { 0 }, decoded = { 0 };
	struct kvt_err err;
	size_t len1, len2, blen;
	char *text1, *text2;
	const char *why;
	uint8_t *bin;

	if (size > FUZZ_MAX_TEXT)
		return 0;
	if (kvt_prog_parse((const char *)data, size, "input", &prog, &err) != 0) {
		if (strncmp(err.msg, "input:", 6) != 0)
			fail("error message does not name the file and line");
		return 0;
	}

	text1 = print_prog(&prog, &len1);
	if (kvt_prog_parse(text1, len1, "printed", &again, &err) != 0) {
		fprintf(stderr, "%s\n--- printed text ---\n%s", err.msg, text1);
		fail("printed text does not parse");
	}
	text2 = print_prog(&again, &len2);
	if (len1 != len2 || memcmp(text1, text2, len1) != 0)
		fail("text -> parse -> print is not stable");
	if (!same_ops(&prog, &again))
		fail("reparsed ops differ");

	if (kvt_prog_encode(&prog, &bin, &blen, &why)) {
		kvt_prog_decode(bin, blen, &decoded);
		if (!same_ops(&prog, &decoded))
			fail("encode -> decode changed the ops");
		kvt_prog_free(&decoded);
		free(bin);
	}

	free(text1);
	free(text2);
	kvt_prog_free(&prog);
	kvt_prog_free(&again);
	return 0;
}
