// SPDX-License-Identifier: MIT
/*
 * test_kernel_owner.c - the kernel build reports storage-page ownership from
 * the kernel's own lists (PER-CPU), so the checker follows every page the
 * kernel's code attaches to a krc and gets back.
 *
 *   test_kernel_owner        (TAP; a skip plan on a kernel with the chain layout)
 *
 * A program fills pages on two CPUs and leaves them attached; between ops, at
 * rest, the pages each CPU owns per the reports must equal the pages the
 * kernel's lists hold (the snapshot walks them), and after the final barrier
 * every page must be back.  Kernels before 6.3 attach pages by plain
 * assignment, which the shim cannot see: there the test is skipped.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "exec.h"
#include "kernel_impl.h"
#include "kvfree_rcu.h"
#include "ops.h"
#include "sim.h"

static const char program[] =
	"kvtorture-repro 1\n"
	"config cpus=2 policy=kernel page-entries=4 cache-pages=3 drain-ns=10000000 "
	"short-ns=1000000 refill-kick-ns=0 backoff-ns=10000000 watermark=4 rate-calls=16 "
	"rate-window-ns=10000000 gp=explicit gp-ns=1000000 pool-pages=4\n"
	/* A miss on each CPU kicks the refill; then pages fill up. */
	"queue cpu=0 ctx=task form=head ch=slab\n"
	"queue cpu=1 ctx=task form=head ch=vmalloc\n"
	"run-pending\n"
	"queue-loop cpu=0 ctx=kthread form=head ch=slab mask=none k=9\n"
	"queue-loop cpu=1 ctx=kthread form=head ch=vmalloc mask=none k=5\n"
	"run-pending\n";

static int nr_tests, nr_failed;
static unsigned long most_owned;
static bool reported;

static void ok(bool cond, const char *what, unsigned long a, unsigned long b)
{
	nr_tests++;
	if (!cond)
		nr_failed++;
	printf("%s %d - %s (%lu, %lu)\n", cond ? "ok" : "not ok", nr_tests, what, a, b);
}

static void after_op(size_t idx, void *arg)
{
	(void)arg;
	if (sim_tasks_alive())
		return;
	for (int cpu = 0; cpu < 2; cpu++) {
		struct kvfree_rcu_cpu_stats st;
		unsigned long owned = 0;

		if (!kvfree_rcu_snapshot(cpu, &st))
			continue;
		reported |= check_pages_owned(cpu, &owned);
		if (owned > most_owned)
			most_owned = owned;
		if (owned != st.bulk_pages) {
			char what[96];

			snprintf(what, sizeof(what), "after op %zu, cpu%d: reported pages = walked pages",
				 idx, cpu);
			ok(false, what, owned, st.bulk_pages);
		}
	}
}

int main(void)
{
	struct kvt_run_opts opts;
	struct kvt_prog prog;
	struct kvt_err err;
	unsigned long left = 0;
	int rc;

	if (!kvt_kernel_reports_pages()) {
		printf("1..0 # SKIP kernel %s attaches pages without a list operation (chain layout)\n",
		       kvt_kernel_version());
		return 0;
	}
	if (kvt_prog_parse(program, strlen(program), "test_kernel_owner", &prog, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 99;
	}
	kvt_run_opts_default(&opts);
	opts.mode = CHECK_RECORD;
	opts.after_op = after_op;
	rc = kvt_run(&prog, &opts);
	kvt_prog_free(&prog);
	ok(rc == 0, "the program passes on the kernel's code", (unsigned long)rc, 0);
	ok(reported, "the kernel's list operations reported page ownership", reported, 1);
	ok(most_owned >= 2, "a CPU owned several pages at once, per the reports", most_owned, 2);
	for (int cpu = 0; cpu < 2; cpu++) {
		unsigned long owned = 0;

		check_pages_owned(cpu, &owned);
		left += owned;
	}
	ok(left == 0, "after the final barrier every page was given back", left, 0);
	printf("1..%d\n", nr_tests);
	return nr_failed ? 1 : 0;
}
