// SPDX-License-Identifier: MIT
/*
 * unit.c - unit tests of the reference implementation, one per behaviour, on
 * the deterministic simulation with explicit grace periods and virtual time.
 *
 * Each test is run as its own process: `unit NAME` (meson registers every
 * name as a test "unit-NAME").  A test asserts outcomes through the
 * implementation's snapshot, the simulation's counters and the checker; every
 * test that does not provoke a violation on purpose ends by quiescing the
 * system and requiring that check_final() finds every invariant held.
 *
 * Exit status: 0 pass, 1 fail (the failed comparison is printed with both
 * operands), 2 unknown test name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kvfree_rcu.h"
#include "sim.h"
#include "unit.h"

/* ---- assertions ------------------------------------------------------------ */

static const char *current_test = "?";

void unit_fail(const char *file, int line, const char *expr)
{
	const char *report = NULL;

	fprintf(stderr, "%s:%d: %s: FAILED: %s\n", file, line, current_test, expr);
	if (check_violated(&report) != INV_NR && report)
		fprintf(stderr, "checker saw:\n%s\n", report);
	exit(1);
}

void unit_fail_eq(const char *file, int line, const char *a, const char *b,
		  unsigned long long va, unsigned long long vb, const char *op)
{
	const char *report = NULL;

	fprintf(stderr, "%s:%d: %s: FAILED: %s %s %s (%llu vs %llu)\n", file, line,
		current_test, a, op, b, va, vb);
	if (check_violated(&report) != INV_NR && report)
		fprintf(stderr, "checker saw:\n%s\n", report);
	exit(1);
}

/* ---- fixtures ------------------------------------------------------------- */

struct kvfree_rcu_config ucfg;

void unit_setup(unsigned int cpus, enum kvfree_policy policy, unsigned int entries,
		unsigned int cache, void (*tweak)(struct kvfree_rcu_config *cfg,
						  struct sim_config *sc))
{
	struct sim_config sc;

	sim_config_default(&sc);
	sc.nr_cpus = cpus;
	kvfree_rcu_config_default(&ucfg);
	ucfg.nr_cpus = cpus;
	ucfg.policy = policy;
	ucfg.page_entries = entries;
	ucfg.cache_pages = cache;
	ucfg.drain_delay_ns = 100 * MS;
	ucfg.short_delay_ns = 1 * MS;
	ucfg.backoff_ns = 50 * MS;
	if (tweak)
		tweak(&ucfg, &sc);
	sim_init(&sc);
	check_set_mode(CHECK_RECORD);
	sim_set_hotplug_hooks(kvfree_rcu_cpu_offline, kvfree_rcu_cpu_online);
	EXPECT(kvfree_rcu_init(&ucfg));
}

/* Quiesce, barrier, and require every invariant to have held. */
void unit_finish_clean(void)
{
	EXPECT(sim_quiesce());
	check_barrier_begin();
	kvfree_rcu_barrier();
	check_barrier_end();
	EXPECT(sim_quiesce());
	EXPECT(check_final());
	EXPECT_EQ(check_violated(NULL), INV_NR);
	kvfree_rcu_exit();
	sim_fini();
}

struct kvfree_rcu_cpu_stats unit_snap(unsigned int cpu)
{
	struct kvfree_rcu_cpu_stats st;

	if (!kvfree_rcu_snapshot((int)cpu, &st))
		unit_fail(__FILE__, __LINE__, "kvfree_rcu_snapshot");
	return st;
}

struct sim_stats unit_sim(void)
{
	struct sim_stats st;

	sim_stats(&st);
	return st;
}

/* ---- queueing from any context ------------------------------------------- */

#define NR_QARGS 4096
static struct qarg {
	struct tobj *obj;
	bool headless;
	enum check_expect expect;
	enum kvt_unit_mask mask;
} qargs[NR_QARGS];
static unsigned int nr_qargs;

static void do_queue(void *p)
{
	struct qarg *q = p;
	unsigned long flags = 0;

	switch (q->mask) {
	case UNIT_MASK_IRQS:
		flags = kenv_local_irq_save();
		break;
	case UNIT_MASK_PREEMPT:
		kenv_preempt_disable();
		break;
	case UNIT_MASK_NONE:
		break;
	}
	check_obj_queued(q->obj, kenv_cpu(), kenv_context(), q->headless, q->expect);
	if (q->headless)
		kvfree_rcu_mightsleep(q->obj);
	else
		kvfree_rcu(q->obj, rh);
	check_obj_queue_returned(q->obj);
	switch (q->mask) {
	case UNIT_MASK_IRQS:
		kenv_local_irq_restore(flags);
		break;
	case UNIT_MASK_PREEMPT:
		kenv_preempt_enable();
		break;
	case UNIT_MASK_NONE:
		break;
	}
}

struct tobj *unit_obj(bool vmalloc)
{
	return sim_obj_alloc(sizeof(struct tobj), vmalloc);
}

void unit_queue_obj(unsigned int cpu, enum kenv_ctx ctx, struct tobj *obj, bool headless,
		    enum check_expect expect, enum kvt_unit_mask mask)
{
	struct qarg *q;

	if (nr_qargs == NR_QARGS)
		unit_fail(__FILE__, __LINE__, "too many queued objects in one test");
	q = &qargs[nr_qargs++];
	q->obj = obj;
	q->headless = headless;
	q->expect = expect;
	q->mask = mask;
	switch (ctx) {
	case KENV_CTX_TASK:
	case KENV_CTX_KTHREAD:
		EXPECT(sim_spawn(cpu, ctx, do_queue, q, "unit-queue") >= 0);
		break;
	default:
		EXPECT(sim_call_irq(cpu, ctx, do_queue, q));
		break;
	}
}

struct tobj *unit_queue(unsigned int cpu, enum kenv_ctx ctx, bool vmalloc, bool headless)
{
	struct tobj *obj = unit_obj(vmalloc);

	unit_queue_obj(cpu, ctx, obj, headless, CHECK_EXPECT_FREE, UNIT_MASK_NONE);
	return obj;
}

void unit_queue_n(unsigned int cpu, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		unit_queue(cpu, KENV_CTX_TASK, false, false);
}

/*
 * Fill @cpu's page cache the way the kernel policy does: a first two-argument
 * call misses (it lands on the list) and kicks the refill worker.
 */
void unit_prime_cache(unsigned int cpu)
{
	unit_queue(cpu, KENV_CTX_TASK, false, false);
	sim_run_pending();
	EXPECT_EQ(unit_snap(cpu).cached_pages, ucfg.cache_pages);
}

/* Fire the monitor of every CPU: advance past the drain delay. */
void unit_run_monitor(void)
{
	sim_advance(ucfg.drain_delay_ns + MS);
}

/* Complete a GP and run what it released (batch work, callbacks). */
void unit_gp(void)
{
	EXPECT(sim_gp_complete());
	sim_run_pending();
}

/* ---- registry -------------------------------------------------------------- */

/* Every UNIT_TEST's record, gathered by the linker (unit.h). */
extern const struct unit_test *const __start_unit_tests[];
extern const struct unit_test *const __stop_unit_tests[];

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (const struct unit_test *const *t = __start_unit_tests; t < __stop_unit_tests; t++)
			printf("%s\n", (*t)->name);
		return 0;
	}
	/* The debug-only assertion tier fires where it is compiled in (unit-debug-assert). */
	if (argc == 2 && strcmp(argv[1], "--debug-assert") == 0) {
#ifdef KENV_DEBUG
		KENV_ASSERT(argc == 1);
		return 1;
#else
		printf("KENV_ASSERT is compiled out (-Ddebug_asserts=enabled compiles it in)\n");
		return 77;
#endif
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s NAME | --list | --debug-assert\n", argv[0]);
		return 2;
	}
	for (const struct unit_test *const *t = __start_unit_tests; t < __stop_unit_tests; t++) {
		if (strcmp((*t)->name, argv[1]) != 0)
			continue;
		current_test = (*t)->name;
		(*t)->fn();
		printf("ok %s\n", current_test);
		return 0;
	}
	fprintf(stderr, "%s: no test named '%s' (try --list)\n", argv[0], argv[1]);
	return 2;
}
