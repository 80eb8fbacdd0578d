// SPDX-License-Identifier: MIT
/*
 * test_catalogue.c - the historical-bug catalogue reader and `kvtorture bugs`.
 *
 * The real catalogue loads, names a known invariant per bug and has a
 * reproducer that parses; every kind of malformed catalogue is refused with a
 * message naming the file and the line at fault; the subcommand answers bad
 * usage and a malformed file with exit status 2.  TAP output.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bugs.h"
#include "catalogue.h"
#include "check.h"
#include "cli.h"
#include "ops.h"
#include "tap.h"


#define HEADER "id\tinvariant\tengines\tcommit\tversion\ttitle\tmechanism\tfidelity\n"
#define GOOD_B1 "B1\tPROGRESS\tsim,afl\t594aa5975b9b\tv5.9\tTitle\tMechanism.\tFaithful.\n"

/* @text must be refused with a message starting "t.tsv:@line: " and containing @word. */
static void refused(const char *text, unsigned int line, const char *word, const char *what)
{
	struct bug_catalogue cat;
	char err[640], want[32];
	int rc = bug_catalogue_parse(text, strlen(text), "t.tsv", &cat, err, sizeof(err));

	snprintf(want, sizeof(want), "t.tsv:%u: ", line);
	if (!tap_ok(rc == -1 && strncmp(err, want, strlen(want)) == 0 && strstr(err, word), "%s", what))
		printf("#   rc %d, message '%s'\n#   want it to start with '%s' and name '%s'\n",
		       rc, rc == -1 ? err : "", want, word);
	bug_catalogue_free(&cat);
}

/* kvt_cmd_bugs() with stdout and stderr silenced (they would mix into TAP). */
static int run_bugs(int argc, char **argv)
{
	int out = dup(1), errfd = dup(2), null = open("/dev/null", O_WRONLY);
	int rc;

	fflush(stdout);
	fflush(stderr);
	dup2(null, 1);
	dup2(null, 2);
	rc = kvt_cmd_bugs(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(errfd, 2);
	close(out);
	close(errfd);
	close(null);
	return rc;
}

static void test_real_catalogue(void)
{
	struct bug_catalogue cat;
	char err[640], path[4200];
	bool inv_ok = true, repro_ok = true;

	snprintf(path, sizeof(path), "%s/corpus/bugs/catalogue.tsv", KVT_SOURCE_ROOT);
	if (!tap_ok(bug_catalogue_load(path, &cat, err, sizeof(err)) == 0,
		    "the source tree's catalogue loads")) {
		printf("#   %s\n", err);
		return;
	}
	if (!tap_ok(cat.nr >= 10, "it lists at least the ten re-injectable bugs"))
		printf("#   got %zu\n", cat.nr);
	for (size_t i = 0; i < cat.nr; i++) {
		const struct bug_entry *e = &cat.bugs[i];
		struct kvt_prog prog;
		struct kvt_err perr;

		if (strcmp(check_inv_name(e->invariant), e->field[BUG_INVARIANT]) != 0)
			inv_ok = false;
		snprintf(path, sizeof(path), "%s/corpus/bugs/%s.kvt", KVT_SOURCE_ROOT,
			 e->field[BUG_ID]);
		if (kvt_prog_load(path, &prog, &perr) != 0) {
			printf("#   %s\n", perr.msg);
			repro_ok = false;
			continue;
		}
		if (prog.nr == 0) {
			printf("#   %s has no ops\n", path);
			repro_ok = false;
		}
		kvt_prog_free(&prog);
	}
	tap_ok(inv_ok, "every bug names its invariant as the checker prints it");
	tap_ok(repro_ok, "every bug has a text reproducer with ops beside the catalogue");
	tap_ok(bug_catalogue_find(&cat, "B8") && !bug_catalogue_find(&cat, "B0"),
	       "find returns listed IDs only");
	bug_catalogue_free(&cat);
}

static void test_malformed(void)
{
	struct bug_catalogue cat;
	char err[640];

	tap_ok(bug_catalogue_parse("# c\n\n" HEADER GOOD_B1, strlen("# c\n\n" HEADER GOOD_B1),
				   "t.tsv", &cat, err, sizeof(err)) == 0 && cat.nr == 1 &&
	       cat.bugs[0].line == 4 && cat.bugs[0].engines == (BUG_ENGINE_SIM | BUG_ENGINE_AFL),
	       "a well-formed catalogue parses, with line numbers and engines");
	bug_catalogue_free(&cat);

	refused("id\tinvariant\n" GOOD_B1, 1, "header", "a short header is refused at line 1");
	refused("# only comments\n\n", 2, "header", "a catalogue without a header is refused");
	refused(HEADER GOOD_B1 "B2\tPROGRESS\tsim\n", 3, "3 tab-separated",
		"a row with too few fields is refused at its line");
	refused(HEADER "B2\tSPEED\tsim\t594aa5975b9b\tv5.9\tT\tM\tF\n", 2, "SPEED",
		"an unknown invariant is refused");
	refused(HEADER "B2\tPROGRESS\tsim,kfuzz\t594aa5975b9b\tv5.9\tT\tM\tF\n", 2, "kfuzz",
		"an unknown engine is refused");
	refused(HEADER "B2\tPROGRESS\tsim,\t594aa5975b9b\tv5.9\tT\tM\tF\n", 2, "engines",
		"a trailing comma in engines is refused");
	refused(HEADER "B2\tPROGRESS\tsim\t594aa59\tv5.9\tT\tM\tF\n", 2, "commit",
		"a short commit hash is refused");
	refused(HEADER "B2\tPROGRESS\tsim\t594aa5975b9b\t5.9\tT\tM\tF\n", 2, "version",
		"a version without 'v' is refused");
	refused(HEADER "B2\tPROGRESS\tsim\t594aa5975b9b\tv5.9\t\tM\tF\n", 2, "title",
		"an empty field is refused");
	refused(HEADER "X2\tPROGRESS\tsim\t594aa5975b9b\tv5.9\tT\tM\tF\n", 2, "X2",
		"an ID not of the form B<n> is refused");
	refused(HEADER GOOD_B1 "\n" GOOD_B1, 4, "line 2", "a duplicate ID names both lines");
}

static void test_subcommand(void)
{
	char path[4200];
	char *list[] = { "bugs", NULL };
	char *bad_opt[] = { "bugs", "--bogus", NULL };
	char *bad_field[] = { "bugs", "--field", "colour", "B8", NULL };
	char *bad_id[] = { "bugs", "B999", NULL };
	char *ids[] = { "bugs", "--expect-ids", "B1,B2,B3,B4,B5,B6,B7,B8,B9,B12", NULL };
	char *fewer[] = { "bugs", "--expect-ids", "B1,B2", NULL };
	char *verify_other[] = { "bugs", "--verify", "B999", NULL };

	unsetenv("KVT_BUG_CATALOGUE");
	tap_ok(run_bugs(1, list) == 0, "kvtorture bugs lists the catalogue");
	tap_ok(run_bugs(2, bad_opt) == 2, "an unknown option is bad usage (2)");
	tap_ok(run_bugs(4, bad_field) == 2, "an unknown column is bad usage (2)");
	tap_ok(run_bugs(2, bad_id) == 2, "an unknown ID is bad usage (2)");
	tap_ok(run_bugs(3, ids) == 0, "--expect-ids accepts the catalogue's own IDs");
	tap_ok(run_bugs(3, fewer) == 1, "--expect-ids fails when the lists differ");
	tap_ok(run_bugs(3, verify_other) == 2, "--verify of an unknown ID is bad usage (2)");

	snprintf(path, sizeof(path), "%s/malformed.tsv", KVT_BUGS_TEST_DIR);
	setenv("KVT_BUG_CATALOGUE", path, 1);
	tap_ok(run_bugs(1, list) == 2, "a malformed catalogue file exits 2");
	snprintf(path, sizeof(path), "%s/no-such-catalogue.tsv", KVT_BUGS_TEST_DIR);
	setenv("KVT_BUG_CATALOGUE", path, 1);
	tap_ok(run_bugs(1, list) == 2, "a missing catalogue file exits 2");
	unsetenv("KVT_BUG_CATALOGUE");
}

int main(void)
{
	static const struct kvt_cli_variant variant = { .impl = "reference", .injected_bug = "" };

	kvt_cli = &variant;
	test_real_catalogue();
	test_malformed();
	test_subcommand();
	return tap_done();
}
