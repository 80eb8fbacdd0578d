/* SPDX-License-Identifier: MIT */
/*
 * test_sim_pct - PCT scheduling (sim.h, sim_config.pct_depth) finds a race
 * in a lockless-then-lock window that the default scheduler cannot reach.
 *
 * The model, not the implementation: three tasks each add one to a counter,
 * reading it without the lock and writing it back after taking the lock, as
 * code that reads a count outside the lock and uses it inside does:
 *
 *	v = READ_ONCE(count);
 *	raw_spin_lock_irqsave(&lock, flags);
 *	WRITE_ONCE(count, v + 1);	(the model also counts it stale if
 *	raw_spin_unlock_irqrestore(...);  count != v here: the update is lost)
 *
 * One stale write needs one task preempted between its read and its
 * local_irq_save while another runs its whole update: two orderings, a bug
 * of depth 2.  Two stale writes need a second task preempted in its window
 * too, while a third updates: depth 3.  The default scheduler preempts and
 * interrupts only at its instrumentation points, and there is none in that
 * window (the lock's is taken with irqs already off), so no seed,
 * preemption, interrupt or migration rate finds either.  Under PCT every
 * access to shared state is a point; one change point only ever lowers one
 * task, and only a lowered task is preempted (the others always have the
 * highest priority of what is runnable), so depth 2 finds the first bug and
 * never the second, and depth 3 finds both, at rates above PCT's bound
 * 1/(n k^(d-1)).  Everything is deterministic: fixed seeds, fixed results.
 */
#include <inttypes.h>
#include <string.h>

#include "check.h"
#include "kcompat.h"
#include "sim.h"
#include "tap.h"

#define NR_TASKS 3

static struct {
	raw_spinlock_t lock;
	int count;		/* protected by lock, read without it (the bug) */
	int stale;		/* writes whose value changed since it was read */
} model;

static void adder(void *arg)
{
	unsigned long flags;
	int v;

	(void)arg;
	v = READ_ONCE(model.count);
	raw_spin_lock_irqsave(&model.lock, flags);
	model.stale += model.count != v;
	WRITE_ONCE(model.count, v + 1);
	raw_spin_unlock_irqrestore(&model.lock, flags);
}

/* Spawned from the driver, it makes the adders runnable together. */
static void parent(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < NR_TASKS; i++)
		sim_spawn(i % 2, KENV_CTX_TASK, adder, NULL, "adder");
}

struct outcome {
	int lost;		/* stale writes (each loses an update), -1: a violation */
	uint64_t hash;
	unsigned long steps;	/* PCT steps the run took */
};

/* One run; @depth 0: the default scheduler at its most aggressive. */
static struct outcome run(uint64_t seed, unsigned int depth, uint64_t steps)
{
	struct sim_config cfg;
	struct sim_stats st;
	struct outcome out;

	sim_config_default(&cfg);
	cfg.nr_cpus = 2;
	cfg.seed = seed;
	if (depth) {
		cfg.pct_depth = depth;
		cfg.pct_steps = steps;
		cfg.migrate_permille = 300;
	} else {
		cfg.preempt_permille = 1000;
		cfg.migrate_permille = 300;
		cfg.irq_permille = 300;
		cfg.sched_random = true;
	}
	sim_init(&cfg);
	raw_spin_lock_init(&model.lock);
	model.count = 0;
	model.stale = 0;
	sim_spawn(0, KENV_CTX_TASK, parent, NULL, "parent");
	sim_run_pending();
	out.lost = model.stale;
	out.hash = check_trace_hash();
	sim_stats(&st);
	out.steps = st.pct_steps;
	if (check_violated(NULL) != INV_NR)
		out.lost = -1;
	sim_fini();
	return out;
}

/* Over seeds 1..@runs: how many runs made at least one / two stale writes. */
static void explore(unsigned int depth, uint64_t steps, unsigned int runs, unsigned int *one,
		    unsigned int *two, unsigned int *broken)
{
	*one = *two = *broken = 0;
	for (uint64_t seed = 1; seed <= runs; seed++) {
		struct outcome o = run(seed, depth, steps);

		*broken += o.lost < 0;
		*one += o.lost >= 1;
		*two += o.lost >= 2;
	}
}

int main(void)
{
	unsigned int one, two, broken, runs = 4000;
	struct outcome a, b;
	uint64_t k;

	check_set_mode(CHECK_RECORD);

	/* k: the steps of a run (every run of this model takes about the same). */
	a = run(1, 1, 1);
	k = a.steps;
	tap_ok(a.lost == 0 && k >= 12, "pct depth 1 (no change point): no stale write, %" PRIu64
	       " steps", k);

	explore(0, 0, runs, &one, &two, &broken);
	tap_ok(broken == 0, "default scheduler: the model breaks no invariant");
	tap_ok(one == 0, "default scheduler, %u seeds, every point preempting: never a stale write "
	       "(%u)", runs, one);

	explore(2, k, runs, &one, &two, &broken);
	tap_ok(broken == 0, "pct depth 2: the model breaks no invariant");
	tap_ok(one > 0, "pct depth 2 finds the depth-2 race: %u of %u runs made a stale write", one,
	       runs);
	tap_ok(one * NR_TASKS * k >= runs, "... at least as often as PCT's bound 1/(n k) = 1/%" PRIu64,
	       NR_TASKS * k);
	tap_ok(two == 0, "pct depth 2 never makes two stale writes (a depth-3 race): %u", two);

	explore(3, k, runs, &one, &two, &broken);
	tap_ok(broken == 0, "pct depth 3: the model breaks no invariant");
	tap_ok(two > 0, "pct depth 3 finds the depth-3 race: %u of %u runs made two stale writes",
	       two, runs);
	tap_ok(two * NR_TASKS * k * k >= runs, "... at least as often as PCT's bound 1/(n k^2) = 1/%"
	       PRIu64, NR_TASKS * k * k);

	a = run(42, 3, k);
	b = run(42, 3, k);
	tap_ok(a.hash == b.hash && a.lost == b.lost && a.steps == b.steps,
	       "pct: the same seed gives the same run (trace %016" PRIx64 ")", a.hash);
	return tap_done();
}
