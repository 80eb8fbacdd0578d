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
#include "tap.h"

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

static unsigned long most_owned;
static bool reported;

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
		if (owned != st.bulk_pages)
			TAP_OK(false, "after op %zu, cpu%d: reported pages (%lu) = walked pages (%lu)",
			       idx, cpu, owned, st.bulk_pages);
	}
}

int main(void)
{
	struct kvt_run_opts opts;
	struct kvt_prog prog;
	struct kvt_err err;
	unsigned long left = 0;
	int rc;

	if (!kvt_kernel_reports_pages())
		return tap_skip_all("this kernel attaches pages without a list operation (chain layout)");
	if (kvt_prog_parse(program, strlen(program), "test_kernel_owner", &prog, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 99;
	}
	kvt_run_opts_default(&opts);
	opts.mode = CHECK_RECORD;
	opts.after_op = after_op;
	rc = kvt_run(&prog, &opts);
	kvt_prog_free(&prog);
	TAP_EQ(rc, 0, "the program passes on the kernel's code");
	TAP_OK(reported, "the kernel's list operations reported page ownership");
	TAP_OK(most_owned >= 2, "a CPU owned several pages at once, per the reports (%lu)", most_owned);
	for (int cpu = 0; cpu < 2; cpu++) {
		unsigned long owned = 0;

		check_pages_owned(cpu, &owned);
		left += owned;
	}
	TAP_EQ(left, 0, "after the final barrier every page was given back");
	return tap_done();
}
