/* SPDX-License-Identifier: MIT */
/*
 * catalogue.h - the historical-bug catalogue: reading corpus/bugs/catalogue.tsv.
 *
 * One data file describes every historical kvfree_rcu() bug that can be
 * re-injected into the reference implementation (meson -Dinject=ID): its ID,
 * the invariant it breaks, the engines expected to catch it, the kernel commit
 * and version that fixed it, a title, its mechanism in two sentences, and how
 * faithfully this design re-creates it.  `kvtorture bugs`, the 'bugs' test
 * suite and ci/hunt all read that one file.
 *
 * Format: UTF-8 text, tab-separated.  Empty lines and lines starting with '#'
 * are comments.  The first other line is the header, exactly the column names
 * of enum bug_field joined by tabs; every following line is one bug with
 * exactly BUG_FIELD_NR fields, none empty.
 *
 * Pure code: no environment, no global state.  Context: any thread.
 */
#ifndef KVTORTURE_CLI_CATALOGUE_H
#define KVTORTURE_CLI_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#include "check.h"

/* The columns, in file order. */
enum bug_field {
	BUG_ID,		/* "B8": 'B' and a number */
	BUG_INVARIANT,	/* an ID of DESIGN.md section 4, as check_inv_parse() reads it */
	BUG_ENGINES,	/* comma list of sim, libfuzzer, afl, stress; or "none" */
	BUG_COMMIT,	/* fixing kernel commit(s): 12+ hex digits, comma-separated */
	BUG_VERSION,	/* kernel version of the fix: "v6.3" */
	BUG_TITLE,
	BUG_MECHANISM,	/* two sentences */
	BUG_FIDELITY,	/* how the re-injected bug relates to the original */
	BUG_FIELD_NR
};

/* The engines of ci/hunt, as bits of struct bug_entry.engines. */
enum bug_engine {
	BUG_ENGINE_SIM = 1u << 0,
	BUG_ENGINE_LIBFUZZER = 1u << 1,
	BUG_ENGINE_AFL = 1u << 2,
	BUG_ENGINE_STRESS = 1u << 3,
};

struct bug_entry {
	const char *field[BUG_FIELD_NR];	/* NUL-terminated, inside the catalogue's text */
	enum check_inv invariant;
	unsigned int engines;			/* enum bug_engine bits */
	unsigned int line;			/* line number in the file */
};

#define BUG_CATALOGUE_MAX 64

struct bug_catalogue {
	char *text;				/* malloc'd copy, split in place */
	struct bug_entry bugs[BUG_CATALOGUE_MAX];
	size_t nr;
	char path[4096];			/* where it was read from */
};

/* "id", "invariant", ...: the header's column names.  NULL out of range. */
const char *bug_field_name(enum bug_field field);

/*
 * Parse @len bytes of catalogue text named @filename into @cat (which then
 * owns a copy of the text; release it with bug_catalogue_free()).  Returns 0,
 * or -1 with @err set to "FILENAME:LINE: what is wrong" and @cat empty.
 */
int bug_catalogue_parse(const char *text, size_t len, const char *filename,
			struct bug_catalogue *cat, char *err, size_t err_len);

/*
 * Read and parse the file at @path.  Returns 0, or -1 with @err naming the
 * file (and the line, for a malformed catalogue).
 */
int bug_catalogue_load(const char *path, struct bug_catalogue *cat, char *err, size_t err_len);

/* The entry of @id (case-sensitive, "B8"), or NULL. */
const struct bug_entry *bug_catalogue_find(const struct bug_catalogue *cat, const char *id);

/* Release what parse/load allocated; safe on a zeroed or failed catalogue. */
void bug_catalogue_free(struct bug_catalogue *cat);

#endif /* KVTORTURE_CLI_CATALOGUE_H */
