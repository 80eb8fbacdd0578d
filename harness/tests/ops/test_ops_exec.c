/* SPDX-License-Identifier: MIT */
/*
 * test_ops_exec.c - the op executor against the real implementation in the sim.
 *
 * A small program per op kind passes under every refill policy; the same input
 * run twice gives the same trace hash; decoded random inputs run and pass; the
 * executor's own reader-end check fires on a corrupted object (negative test).
 * Prints (does not assert) the executions per second of random inputs.  TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "exec.h"
#include "ops.h"
#include "splitmix64.h"
#include "tap.h"

#define CONFIG \
	"kvtorture-repro 1\n" \
	"config cpus=2 policy=%s page-entries=4 cache-pages=2 drain-ns=20000000 " \
	"short-ns=1000000 refill-kick-ns=1000000 backoff-ns=10000000 gp=%s gp-ns=5000000 " \
	"pool-pages=2\n"

struct case_prog {
	const char *name;
	const char *ops;
};

/* Each covers one op kind (and what it needs around it to do something). */
static const struct case_prog cases[] = {
	{ "queue task/kthread, both forms and channels",
	  "queue cpu=0 ctx=task form=head ch=slab\n"
	  "queue cpu=1 ctx=kthread form=headless ch=vmalloc\n"
	  "queue cpu=0 ctx=task form=headless ch=slab\n"
	  "queue cpu=1 ctx=kthread form=head ch=vmalloc\n" },
	{ "queue softirq/hardirq",
	  "queue cpu=0 ctx=softirq form=head ch=slab\n"
	  "queue cpu=1 ctx=hardirq form=head ch=vmalloc\n" },
	{ "publish, unpublish, retire",
	  "publish slot=1 ch=slab\n"
	  "publish slot=2 ch=vmalloc\n"
	  "unpublish slot=2\n"
	  "retire cpu=1 ctx=kthread form=headless slot=1\n"
	  "retire cpu=0 ctx=hardirq form=head slot=2\n"
	  "retire cpu=0 ctx=task form=head slot=3\n" },
	{ "readers across a retire",
	  "publish slot=0 ch=slab\n"
	  "reader-begin cpu=1 id=0\n"
	  "reader-deref id=0 slot=0\n"
	  "retire cpu=0 ctx=task form=head slot=0\n"
	  "gp-start\n"
	  "gp-try-end\n"
	  "advance ns=100000000\n"
	  "reader-end id=0\n"
	  "gp-try-end\n"
	  "gp-complete\n"
	  "advance ns=100000000\n" },
	{ "GP steps, time and pending work",
	  "queue cpu=0 ctx=task form=head ch=slab\n"
	  "gp-start\n"
	  "gp-try-end\n"
	  "gp-complete\n"
	  "advance ns=25000000\n"
	  "run-pending\n"
	  "gp-complete\n"
	  "advance ns=2500000000\n"
	  "run-pending\n" },
	{ "inject-irq into a flood",
	  "inject-irq cpu=0 ch=slab\n"
	  "inject-irq cpu=0 ch=vmalloc\n"
	  "queue-loop cpu=0 ctx=task form=head ch=slab mask=none k=8\n"
	  "run-pending\n" },
	{ "inject-nmi into a flood",
	  "inject-nmi cpu=1 ch=slab\n"
	  "queue-loop cpu=1 ctx=kthread form=head ch=slab mask=irqs k=8\n"
	  "run-pending\n" },
	{ "preempt and migrate a flood",
	  "preempt cpu=0\n"
	  "queue-loop cpu=0 ctx=task form=headless ch=slab mask=none k=12\n"
	  "migrate cpu=0 to=1\n"
	  "queue-loop cpu=0 ctx=task form=head ch=vmalloc mask=none k=12\n"
	  "run-pending\n"
	  "advance ns=30000000\n" },
	{ "failing allocations",
	  "fail-allocs n=5\n"
	  "queue-loop cpu=0 ctx=task form=headless ch=slab mask=none k=10\n"
	  "queue-loop cpu=1 ctx=kthread form=head ch=slab mask=bh k=10\n"
	  "gp-complete\n"
	  "advance ns=50000000\n" },
	{ "shrinker",
	  "queue-loop cpu=0 ctx=task form=head ch=slab mask=preempt k=9\n"
	  "shrink-count cpu=0\n"
	  "run-pending\n"
	  "shrink-scan cpu=1 n=100\n"
	  "queue cpu=0 ctx=task form=head ch=slab\n"
	  "advance ns=20000000\n" },
	{ "barrier",
	  "queue-loop cpu=1 ctx=task form=head ch=slab mask=none k=6\n"
	  "barrier cpu=0 ctx=task\n"
	  "queue cpu=1 ctx=softirq form=head ch=vmalloc\n"
	  "barrier cpu=1 ctx=kthread\n"
	  "run-pending\n" },
	{ "CPU offline and online",
	  "queue-loop cpu=1 ctx=task form=head ch=slab mask=none k=6\n"
	  "queue cpu=1 ctx=hardirq form=head ch=vmalloc\n"
	  "cpu-offline cpu=1\n"
	  "queue cpu=1 ctx=task form=head ch=slab\n"
	  "advance ns=30000000\n"
	  "cpu-online cpu=1\n"
	  "queue cpu=1 ctx=task form=head ch=slab\n" },
	{ "misuse: double queue",
	  "misuse-double cpu=0 ctx=task ch=slab\n"
	  "misuse-double cpu=1 ctx=hardirq ch=vmalloc\n" },
	{ "misuse: NMI calls",
	  "misuse-nmi cpu=0 ch=slab\n"
	  "misuse-nmi cpu=1 ch=vmalloc\n" },
	{ "misuse: headless from atomic context",
	  "misuse-headless-atomic cpu=0 why=irqs-off ch=slab\n"
	  "misuse-headless-atomic cpu=0 why=preempt-off ch=slab\n"
	  "misuse-headless-atomic cpu=1 why=bh-off ch=vmalloc\n"
	  "misuse-headless-atomic cpu=1 why=rcu-read ch=slab\n"
	  "misuse-headless-atomic cpu=0 why=softirq ch=slab\n"
	  "misuse-headless-atomic cpu=1 why=hardirq ch=slab\n" },
};

static const char *const policies[] = { "kernel", "watermark", "nolocks" };

static int parse_case(const char *policy, const char *gp, const char *ops, struct kvt_prog *prog)
{
	char text[4096];
	struct kvt_err err;

	snprintf(text, sizeof(text), CONFIG "%s", policy, gp, ops);
	if (kvt_prog_parse(text, strlen(text), "case", prog, &err)) {
		printf("# %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void record_opts(struct kvt_run_opts *opts)
{
	kvt_run_opts_default(opts);
	opts->mode = CHECK_RECORD;
	opts->repro = "test_ops_exec";
}

static void test_cases(void)
{
	for (size_t p = 0; p < 3; p++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct kvt_run_opts opts;
			struct kvt_prog prog;
			struct kvt_run_result res;
			char what[160];
			int ret;

			snprintf(what, sizeof(what), "%s passes (policy %s, %s GPs)", cases[i].name,
				 policies[p], i % 2 ? "auto" : "explicit");
			if (parse_case(policies[p], i % 2 ? "auto" : "explicit", cases[i].ops, &prog)) {
				tap_ok(false, "%s", what);
				continue;
			}
			record_opts(&opts);
			ret = kvt_run(&prog, &opts);
			kvt_run_last(&res);
			if (!tap_eq_u64((uint64_t)ret, 0, what))
				printf("#   first violation: %s\n",
				       res.violated < INV_NR ? check_inv_name(res.violated) : "none");
			kvt_prog_free(&prog);
		}
}

static void test_determinism(void)
{
	struct kvt_run_opts opts;
	struct kvt_prog prog, other;
	uint64_t h1, h2, h3;

	parse_case("kernel", "explicit",
		   "publish slot=0 ch=slab\n"
		   "reader-begin cpu=1 id=0\n"
		   "reader-deref id=0 slot=0\n"
		   "inject-irq cpu=0 ch=slab\n"
		   "queue-loop cpu=0 ctx=task form=headless ch=slab mask=none k=9\n"
		   "retire cpu=1 ctx=task form=head slot=0\n"
		   "migrate cpu=1 to=0\n"
		   "queue-loop cpu=1 ctx=task form=head ch=vmalloc mask=none k=5\n"
		   "advance ns=30000000\n"
		   "reader-end id=0\n"
		   "gp-complete\n"
		   "advance ns=30000000\n", &prog);
	record_opts(&opts);
	tap_eq_u64((uint64_t)kvt_run(&prog, &opts), 0, "determinism program passes");
	h1 = kvt_run_trace_hash();
	kvt_run(&prog, &opts);
	h2 = kvt_run_trace_hash();
	tap_ok(h1 != 0, "the trace hash is set");
	tap_eq_u64(h2, h1, "the same input run twice gives the same trace hash");

	parse_case("kernel", "explicit", "queue cpu=0 ctx=task form=head ch=slab\n", &other);
	kvt_run(&other, &opts);
	h3 = kvt_run_trace_hash();
	tap_ok(h3 != h1, "a different input gives a different trace hash");
	kvt_run(&prog, &opts);
	tap_eq_u64(kvt_run_trace_hash(), h1, "and the first again gives the first hash");

	/* The fuzz targets' runs leave the hash out, and only their own runs. */
	opts.no_trace_hash = true;
	tap_eq_u64((uint64_t)kvt_run(&prog, &opts), 0, "without the hash the program passes");
	tap_eq_u64(kvt_run_trace_hash(), 0, "without the hash the run reports none");
	opts.no_trace_hash = false;
	kvt_run(&prog, &opts);
	tap_eq_u64(kvt_run_trace_hash(), h1, "the next run with the hash gives the first hash");
	kvt_prog_free(&prog);
	kvt_prog_free(&other);
}

static uint64_t rng_state = 1234;

static uint64_t rng(void)
{
	return splitmix64_next(&rng_state);
}

static void test_random_inputs(void)
{
	enum { RUNS = 300, SIZE = KVT_CONFIG_BYTES + 50 * KVT_OP_BYTES };
	unsigned int failed = 0;
	struct timespec t0, t1;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int r = 0; r < RUNS; r++) {
		uint8_t buf[SIZE];
		struct kvt_run_opts opts;
		struct kvt_prog prog;

		for (size_t i = 0; i < SIZE; i++)
			buf[i] = (uint8_t)rng();
		kvt_prog_decode(buf, SIZE, &prog);
		record_opts(&opts);
		if (kvt_run(&prog, &opts) != 0) {
			struct kvt_run_result res;

			kvt_run_last(&res);
			if (failed++ < 3) {
				printf("# random input %u failed (%s):\n", r,
				       res.violated < INV_NR ? check_inv_name(res.violated) : "final");
				fflush(stdout);
				kvt_prog_write_fd(&prog, 1);
			}
		}
		kvt_prog_free(&prog);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# %u random 50-op inputs in %.3f s: %.0f exec/s\n", RUNS, secs, RUNS / secs);
	tap_eq_u64(failed, 0, "decoded random inputs run and pass");

	/* kvt_prog_random programs, as `kvtorture sim` runs them. */
	failed = 0;
	for (unsigned int s = 1; s <= 30; s++) {
		struct kvt_run_opts opts;
		struct kvt_prog prog;

		kvt_prog_random(&prog, s, 80, (enum kvt_policy)(s % KVT_POLICY_NR));
		record_opts(&opts);
		if (kvt_run(&prog, &opts) != 0)
			failed++;
		kvt_prog_free(&prog);
	}
	tap_eq_u64(failed, 0, "kvt_prog_random programs run and pass");
}

/* Negative test: the reader-end check sees an object changed under a reader. */
static void corrupt_slot0(size_t idx, void *arg)
{
	struct kvt_obj *obj = kvt_run_slot(0);

	(void)arg;
	if (idx == 2 && obj)
		obj->canary = 0;
}

static void test_reader_check_fires(void)
{
	struct kvt_run_opts opts;
	struct kvt_prog prog;
	struct kvt_run_result res;
	int ret;

	parse_case("kernel", "explicit",
		   "publish slot=0 ch=slab\n"
		   "reader-begin cpu=0 id=3\n"
		   "reader-deref id=3 slot=0\n"
		   "reader-end id=3\n", &prog);
	record_opts(&opts);
	opts.quiet = true;
	opts.after_op = corrupt_slot0;
	ret = kvt_run(&prog, &opts);
	kvt_run_last(&res);
	tap_eq_u64((uint64_t)ret, 1, "a corrupted object under a reader fails the run");
	tap_eq_u64(res.violated, INV_GP_SAFETY, "as GP-SAFETY");
	kvt_prog_free(&prog);
}

int main(void)
{
	test_cases();
	test_determinism();
	test_random_inputs();
	test_reader_check_fires();
	return tap_done();
}
