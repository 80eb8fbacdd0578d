// SPDX-License-Identifier: MIT
/*
 * bugs.c - `kvtorture bugs` (see bugs.h).
 *
 * Listing reads the catalogue only.  --verify replays one bug's reproducer in
 * the simulation, quietly, and compares the outcome with what this build must
 * give: the catalogued invariant when the program was built with that bug
 * (kvtorture-<ID>, or a -Dinject=<ID> build), a clean pass when it was built
 * without any bug.  That is the 'bugs' test suite's whole check, and the same
 * comparison ci/hunt makes for what its engines find.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bugs.h"
#include "catalogue.h"
#include "cli.h"
#include "check.h"
#include "exec.h"
#include "ops.h"

#define EXIT_VIOLATION 1
#define EXIT_USAGE 2
#define EXIT_SETUP 99

/* The bug this program was built with, "" for none (its variant, cli.h). */
#define injected_bug (kvt_cli->injected_bug)

static const char bugs_help[] =
	"usage: kvtorture bugs [ID...]            describe the catalogued bugs (all, or these)\n"
	"       kvtorture bugs --ids              their IDs, one per line\n"
	"       kvtorture bugs --field NAME ID    one field of one bug (id, invariant, engines,\n"
	"                                         commit, version, title, mechanism, fidelity)\n"
	"       kvtorture bugs --reproducer ID    the path of ID's reproducer\n"
	"       kvtorture bugs --built            the bug built into this program, or 'none'\n"
	"       kvtorture bugs --expect-ids B1,B2,...  check the catalogue lists exactly these\n"
	"       kvtorture bugs --verify ID [FILE] replay ID's reproducer (or FILE): a build with\n"
	"                                         ID must report its invariant, a build without\n"
	"                                         bugs must pass\n"
	"The historical kvfree_rcu() bugs that can be re-injected (meson -Dinject=ID, or\n"
	"the kvtorture-ID programs of the build).  The catalogue is read from\n"
	"$KVT_BUG_CATALOGUE, else from corpus/bugs/catalogue.tsv of the source tree.\n"
	"Exit: 0 pass, 1 a reproducer misbehaved, 2 bad usage or malformed catalogue.\n";

static int bugs_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvtorture bugs: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see 'kvtorture bugs --help')\n");
	return EXIT_USAGE;
}

/* Where the catalogue is; NULL (with a message) if nowhere. */
static const char *catalogue_path(char *buf, size_t len)
{
	const char *env = getenv("KVT_BUG_CATALOGUE");

	if (env && *env)
		return env;
#ifdef KVT_SOURCE_ROOT
	if (snprintf(buf, len, "%s/corpus/bugs/catalogue.tsv", KVT_SOURCE_ROOT) < (int)len)
		return buf;
#else
	(void)buf;
	(void)len;
#endif
	fprintf(stderr, "kvtorture bugs: no catalogue: set KVT_BUG_CATALOGUE\n");
	return NULL;
}

/* @id's reproducer: <ID>.kvt in the catalogue's folder. */
static void reproducer_path(const struct bug_catalogue *cat, const char *id, char *buf,
			    size_t len)
{
	const char *slash = strrchr(cat->path, '/');
	int dir_len = slash ? (int)(slash - cat->path) : 1;

	snprintf(buf, len, "%.*s/%s.kvt", dir_len, slash ? cat->path : ".", id);
}

/* Print @label and @text wrapped at 78 columns, indented by @indent spaces. */
static void print_wrapped(const char *label, const char *text, int indent)
{
	int col = printf("%*s%s", indent, "", label);
	bool first = true;

	while (*text) {
		size_t word = strcspn(text, " ");

		if (!first && col + 1 + (int)word > 78) {
			col = printf("\n%*s", indent + 12, "") - 1;
		} else {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", (int)word, text);
		text += word;
		while (*text == ' ')
			text++;
		first = false;
	}
	putchar('\n');
}

static void describe(const struct bug_catalogue *cat, const struct bug_entry *e)
{
	char repro[4200], commits[256];

	reproducer_path(cat, e->field[BUG_ID], repro, sizeof(repro));
	snprintf(commits, sizeof(commits), "%s", e->field[BUG_COMMIT]);
	for (char *p = commits; *p; p++)
		if (*p == ',')
			*p = '+';
	printf("%-4s %s\n", e->field[BUG_ID], e->field[BUG_TITLE]);
	printf("     fixed by:   %s (%s)\n", commits, e->field[BUG_VERSION]);
	printf("     breaks:     %s\n", e->field[BUG_INVARIANT]);
	printf("     caught by:  %s\n", e->field[BUG_ENGINES]);
	print_wrapped("mechanism: ", e->field[BUG_MECHANISM], 5);
	print_wrapped("here:      ", e->field[BUG_FIDELITY], 5);
	printf("     reproducer: %s%s\n\n", repro,
	       strcmp(injected_bug, e->field[BUG_ID]) ? "" : "   (built into this program)");
}

/* Replay @path quietly; the first violation, or INV_NR for a pass; -1: bad input. */
static int replay_quiet(const char *path, enum check_inv *violated)
{
	struct kvt_prog prog;
	struct kvt_err err;
	struct kvt_run_opts opts;
	struct kvt_run_result res;
	char repro[4300];
	int rc;

	if (kvt_prog_load(path, &prog, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	kvt_run_opts_default(&opts);
	opts.mode = CHECK_RECORD;
	snprintf(repro, sizeof(repro), "kvtorture replay %s", path);
	opts.repro = repro;
	rc = kvt_run(&prog, &opts);
	kvt_run_last(&res);
	kvt_prog_free(&prog);
	if (rc == 2) {
		fprintf(stderr, "%s: the implementation refused this configuration\n", path);
		return -1;
	}
	*violated = rc == 0 ? INV_NR : res.violated;
	return 0;
}

static int verify(const struct bug_catalogue *cat, const char *id, const char *file)
{
	const struct bug_entry *e = bug_catalogue_find(cat, id);
	char repro[4200];
	enum check_inv got;
	bool has_bug;

	if (!e)
		return bugs_usage("no bug '%s' in the catalogue", id);
	if (*injected_bug && strcmp(injected_bug, id) != 0) {
		fprintf(stderr, "kvtorture bugs: this program is built with %s, not %s: "
			"use kvtorture-%s or a build without bugs\n", injected_bug, id, id);
		return EXIT_USAGE;
	}
	has_bug = *injected_bug != '\0';
	if (file)
		snprintf(repro, sizeof(repro), "%s", file);
	else
		reproducer_path(cat, id, repro, sizeof(repro));
	if (replay_quiet(repro, &got) != 0)
		return EXIT_USAGE;
	if (has_bug && got == e->invariant) {
		printf("%s: caught: %s on the %s build, as catalogued\n", repro,
		       check_inv_name(got), id);
		return 0;
	}
	if (!has_bug && got == INV_NR) {
		printf("%s: passes on the build without bugs\n", repro);
		return 0;
	}
	if (has_bug)
		printf("%s: NOT CAUGHT as catalogued: the %s build gave %s, the catalogue says %s\n",
		       repro, id, got == INV_NR ? "a pass" : check_inv_name(got),
		       e->field[BUG_INVARIANT]);
	else
		printf("%s: FAILS on the build without bugs: %s\n", repro, check_inv_name(got));
	return EXIT_VIOLATION;
}

/* The catalogue must list exactly the comma-separated @ids. */
static int expect_ids(const struct bug_catalogue *cat, const char *ids)
{
	char buf[1024], *save = NULL;
	size_t listed = 0;
	int rc = 0;

	snprintf(buf, sizeof(buf), "%s", ids);
	for (char *id = strtok_r(buf, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
		listed++;
		if (!bug_catalogue_find(cat, id)) {
			printf("%s: %s is built as a bug variant but not catalogued\n", cat->path, id);
			rc = EXIT_VIOLATION;
		}
	}
	for (size_t i = 0; i < cat->nr; i++) {
		const char *id = cat->bugs[i].field[BUG_ID];
		size_t n = strlen(id);
		bool found = false;

		for (const char *p = ids; (p = strstr(p, id)); p += n)
			if ((p == ids || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
				found = true;
		if (!found) {
			printf("%s:%u: %s is catalogued but not built as a bug variant\n",
			       cat->path, cat->bugs[i].line, id);
			rc = EXIT_VIOLATION;
		}
	}
	if (!rc)
		printf("%s: %zu bugs, the same as the build's %zu variants\n", cat->path, cat->nr,
		       listed);
	return rc;
}

static bool field_parse(const char *name, enum bug_field *field)
{
	for (unsigned int i = 0; i < BUG_FIELD_NR; i++) {
		if (strcmp(name, bug_field_name((enum bug_field)i)) == 0) {
			*field = (enum bug_field)i;
			return true;
		}
	}
	return false;
}

/* What `kvtorture bugs` was asked to do; one at a time. */
enum bugs_mode { BUGS_DESCRIBE, BUGS_BUILT, BUGS_IDS, BUGS_FIELD, BUGS_REPRO, BUGS_EXPECT, BUGS_VERIFY };

/*
 * The options: one mode, its value, and the positional arguments left in
 * argv[optind..].  Returns -1 to go on, else an exit status (help, bad usage).
 */
static int bugs_options(int argc, char **argv, enum bugs_mode *mode, const char **value)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "built", no_argument, NULL, BUGS_BUILT },
		{ "ids", no_argument, NULL, BUGS_IDS },
		{ "field", required_argument, NULL, BUGS_FIELD },
		{ "reproducer", required_argument, NULL, BUGS_REPRO },
		{ "expect-ids", required_argument, NULL, BUGS_EXPECT },
		{ "verify", required_argument, NULL, BUGS_VERIFY },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	opterr = 0;
	*mode = BUGS_DESCRIBE;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(bugs_help, stdout);
			return 0;
		}
		if (c == ':')
			return bugs_usage("%s needs a value", argv[optind - 1]);
		if (c == '?')
			return bugs_usage("unknown option '%s'", argv[optind - 1]);
		if (*mode != BUGS_DESCRIBE)
			return bugs_usage("takes one of --built, --ids, --field, --reproducer, "
					  "--expect-ids, --verify, not '%s' too", argv[optind - 1]);
		*mode = (enum bugs_mode)c;
		*value = optarg;
	}
	return -1;
}

int kvt_cmd_bugs(int argc, char **argv)
{
	struct bug_catalogue cat;
	char pathbuf[4096], err[640], repro[4200];
	const char *path, *value = NULL;
	enum bugs_mode mode;
	enum bug_field field;
	int rc = bugs_options(argc, argv, &mode, &value), nargs;

	if (rc >= 0)
		return rc;
	rc = 0;
	nargs = argc - optind;
	if (mode == BUGS_BUILT) {
		if (nargs)
			return bugs_usage("--built takes no argument%s", "");
		printf("%s\n", *injected_bug ? injected_bug : "none");
		return 0;
	}
	path = catalogue_path(pathbuf, sizeof(pathbuf));
	if (!path)
		return EXIT_USAGE;
	if (bug_catalogue_load(path, &cat, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvtorture bugs: %s\n", err);
		return EXIT_USAGE;
	}

	switch (mode) {
	case BUGS_IDS:
		if (nargs) {
			rc = bugs_usage("--ids takes no argument%s", "");
			break;
		}
		for (size_t i = 0; i < cat.nr; i++)
			printf("%s\n", cat.bugs[i].field[BUG_ID]);
		break;
	case BUGS_FIELD: {
		const struct bug_entry *e;

		if (nargs != 1 || !field_parse(value, &field))
			rc = bugs_usage("--field needs a column name and an ID%s", "");
		else if (!(e = bug_catalogue_find(&cat, argv[optind])))
			rc = bugs_usage("no bug '%s' in the catalogue", argv[optind]);
		else
			printf("%s\n", e->field[field]);
		break;
	}
	case BUGS_REPRO:
		if (nargs)
			rc = bugs_usage("--reproducer needs an ID%s", "");
		else if (!bug_catalogue_find(&cat, value))
			rc = bugs_usage("no bug '%s' in the catalogue", value);
		else {
			reproducer_path(&cat, value, repro, sizeof(repro));
			printf("%s\n", repro);
		}
		break;
	case BUGS_EXPECT:
		rc = nargs ? bugs_usage("--expect-ids needs a comma-separated list%s", "")
			   : expect_ids(&cat, value);
		break;
	case BUGS_VERIFY:
		rc = nargs > 1 ? bugs_usage("--verify needs an ID and optionally a FILE%s", "")
			       : verify(&cat, value, nargs ? argv[optind] : NULL);
		break;
	case BUGS_DESCRIBE:
		if (!nargs) {
			printf("%zu historical kvfree_rcu() bugs (%s):\n\n", cat.nr, cat.path);
			for (size_t i = 0; i < cat.nr; i++)
				describe(&cat, &cat.bugs[i]);
		}
		for (int i = optind; i < argc && !rc; i++) {
			const struct bug_entry *e = bug_catalogue_find(&cat, argv[i]);

			if (!e)
				rc = bugs_usage("no bug '%s' in the catalogue", argv[i]);
			else
				describe(&cat, e);
		}
		break;
	case BUGS_BUILT:
		break;
	}
	bug_catalogue_free(&cat);
	return rc;
}
