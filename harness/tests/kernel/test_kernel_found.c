// SPDX-License-Identifier: MIT
/*
 * test_kernel_found.c - replay a reproducer of a finding in a real kernel's
 * kvfree_rcu code (corpus/found/kernel-*), on the kernel build, with the
 * mid-run checks on.
 *
 *   test_kernel_found FILE
 *
 * Beyond `kvtorture replay`, ACCOUNTING and BOUNDED (check_accounting()) are
 * checked after every op at which the simulation is at rest (no spawned task
 * alive), not only at the end: a kernel that strands storage pages shows it
 * while they are stranded, before the final barrier frees everything.
 *
 * The file says what to expect on which kernels, in a comment line
 *   # kernel-expect: VERSION-PREFIX INVARIANT-ID
 * e.g. "# kernel-expect: 6.1. BOUNDED": on a kernel whose version starts with
 * the prefix the run must report that invariant first; on any other kernel it
 * must pass (the finding is fixed there).  Exit 0 when the outcome is the
 * expected one, 1 when not, 2 on a bad file, 99 on a set-up error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "exec.h"
#include "kernel_impl.h"
#include "ops.h"
#include "sim.h"

static void check_between_ops(size_t idx, void *arg)
{
	(void)idx;
	(void)arg;
	if (!sim_tasks_alive())
		check_accounting();
}

/* The expected invariant on this kernel, INV_NR for "must pass"; -1 on error. */
static int read_expectation(const char *path, const char *version)
{
	char line[512], prefix[128], inv_name[64];
	FILE *f = fopen(path, "r");
	int expect = INV_NR, lineno = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		enum check_inv inv;

		lineno++;
		if (strncmp(line, "# kernel-expect:", 16))
			continue;
		if (sscanf(line + 16, " %127s %63s", prefix, inv_name) != 2 ||
		    !check_inv_parse(inv_name, &inv)) {
			fprintf(stderr, "%s:%d: expected '# kernel-expect: VERSION-PREFIX ID'\n",
				path, lineno);
			fclose(f);
			return -1;
		}
		if (!strncmp(version, prefix, strlen(prefix)))
			expect = (int)inv;
	}
	fclose(f);
	return expect;
}

int main(int argc, char **argv)
{
	const char *version = kvt_kernel_version();
	struct kvt_run_opts opts;
	struct kvt_run_result res;
	struct kvt_prog prog;
	struct kvt_err err;
	char repro[4200];
	int expect, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	expect = read_expectation(argv[1], version);
	if (expect < 0)
		return 2;
	if (kvt_prog_load(argv[1], &prog, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	kvt_run_opts_default(&opts);
	opts.mode = CHECK_RECORD;
	opts.after_op = check_between_ops;
	snprintf(repro, sizeof(repro), "%s %s", argv[0], argv[1]);
	opts.repro = repro;
	rc = kvt_run(&prog, &opts);
	kvt_run_last(&res);
	kvt_prog_free(&prog);
	if (rc == 2) {
		fprintf(stderr, "%s: the implementation refused the configuration\n", argv[1]);
		return 2;
	}
	printf("%s on kernel %s: %s (expected: %s)\n", argv[1], version,
	       res.violated == INV_NR ? "pass" : check_inv_name(res.violated),
	       expect == INV_NR ? "pass" : check_inv_name((enum check_inv)expect));
	return (int)res.violated == expect ? 0 : 1;
}
