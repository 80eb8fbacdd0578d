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
 * while they are stranded, before the final barrier frees everything.  A
 * program found by seeded exploration (random interrupts, preemption ...)
 * is replayed exactly as found instead: the extra snapshots take locks, whose
 * scheduling points would draw from its seeded stream and change its
 * schedule.
 *
 * The file says what to expect on which kernels, in comment lines
 *   # kernel-expect: VERSIONS INVARIANT-ID
 *   # kernel-fixed-by: PATCH-FILE-NAME...
 * VERSIONS is a version prefix ("6.1.": every 6.1.y) or a lower bound
 * (">=6.12": 6.12 and every later kernel).  On a kernel it names, the run
 * must report that invariant first, unless the build applied one of the
 * patches kernel-fixed-by names (-Dkernel_patch, compared by file name): then,
 * as on every other kernel, it must pass.  Exit 0 when the outcome is the
 * expected one, 1 when not, 2 on a bad file, 99 on a set-up error.
 */
#include <stdbool.h>
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

/* "6.12.117" -> 6 * 65536 + 12 * 256 + 117 (the sublevel capped at 255); -1 if not a version. */
static long version_code(const char *v)
{
	unsigned int a, b, c = 0;

	if (sscanf(v, "%u.%u.%u", &a, &b, &c) < 2)
		return -1;
	return (long)a * 65536 + (long)b * 256 + (c > 255 ? 255 : c);
}

/* Whether @version is one of @spec: a prefix, or ">=X.Y[.Z]". -1 on a bad spec. */
static int version_matches(const char *spec, const char *version)
{
	if (!strncmp(spec, ">=", 2)) {
		long want = version_code(spec + 2), have = version_code(version);

		if (want < 0)
			return -1;
		return have >= want;
	}
	return !strncmp(version, spec, strlen(spec));
}

/* Whether the build applied a patch named @name (KVT_K_PATCHES, by file name). */
static bool patch_applied(const char *name)
{
	const char *p = kvt_kernel_patches();
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		bool starts = p == kvt_kernel_patches() || p[-1] == ' ';

		if (starts && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

/* The expected invariant on this kernel, INV_NR for "must pass"; -1 on error. */
static int read_expectation(const char *path, const char *version)
{
	char line[512], spec[128], inv_name[64];
	FILE *f = fopen(path, "r");
	int expect = INV_NR, lineno = 0;
	bool fixed = false;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		enum check_inv inv;
		int match;

		lineno++;
		if (!strncmp(line, "# kernel-fixed-by:", 18)) {
			for (char *tok = strtok(line + 18, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
				fixed |= patch_applied(tok);
			continue;
		}
		if (strncmp(line, "# kernel-expect:", 16))
			continue;
		if (sscanf(line + 16, " %127s %63s", spec, inv_name) != 2 ||
		    !check_inv_parse(inv_name, &inv) || (match = version_matches(spec, version)) < 0) {
			fprintf(stderr, "%s:%d: expected '# kernel-expect: VERSION-PREFIX|>=X.Y ID'\n",
				path, lineno);
			fclose(f);
			return -1;
		}
		if (match)
			expect = (int)inv;
	}
	fclose(f);
	return fixed ? INV_NR : expect;
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
	if (!prog.cfg.irq_permille && !prog.cfg.nmi_permille && !prog.cfg.preempt_permille &&
	    !prog.cfg.migrate_permille && !prog.cfg.alloc_fail_permille)
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
	printf("%s on kernel %s%s%s: %s (expected: %s)\n", argv[1], version,
	       *kvt_kernel_patches() ? " patched with " : "", kvt_kernel_patches(),
	       res.violated == INV_NR ? "pass" : check_inv_name(res.violated),
	       expect == INV_NR ? "pass" : check_inv_name((enum check_inv)expect));
	return (int)res.violated == expect ? 0 : 1;
}
