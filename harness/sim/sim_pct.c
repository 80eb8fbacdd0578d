/* SPDX-License-Identifier: MIT */
/*
 * sim_pct.c - PCT scheduling (sim.h, sim_config.pct_depth) and the
 * fine-grained scheduling points of kenv.h that it turns on.
 *
 * Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
 * Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of
 * Finding Bugs", ASPLOS 2010): each coroutine draws a random priority when it
 * is made, the highest-priority runnable coroutine runs, and at d - 1 change
 * points, steps drawn uniformly from [1, k], the coroutine that is running
 * drops below every priority given so far.  A bug that needs d orderings
 * between n coroutines to happen is hit by one run with probability at least
 * 1 / (n k^(d-1)): the first ordering needs the right coroutine on top (1/n),
 * each further one a change point on the right step (1/k).
 *
 * In the sim a step is a scheduling point (sim_point) reached by a coroutine
 * (handlers count as the coroutine they interrupted; main, the driver, is not
 * a PCT thread and counts nothing).  A priority only matters where the
 * coroutine could be preempted (sim_sleepable()): there it yields to a
 * runnable coroutine of higher priority.  That is what the kernel allows: a
 * context holding a raw lock or with irqs or preemption off keeps the CPU.
 * The fine-grained points make every access to shared state such a step.
 *
 * Priorities are 62-bit draws (distinct but for a tie once in 2^31 runs of a
 * few thousand coroutines, broken by coroutine id); change points give -1,
 * -2, ...  Every draw comes from the run's PRNG in a fixed order, so a seed
 * and the configuration name the run, and with PCT off nothing here draws or
 * traces: the default scheduler's traces stay what they were.
 */
#include <inttypes.h>
#include <string.h>

#include "sim_internal.h"

/* kenv.h: written here only (sim_init), read by every fine-grained point. */
_Atomic(bool) kenv_fine_points;

/* Insert @step into the sorted change points still ahead; false when full. */
static bool change_insert(uint64_t step)
{
	unsigned int i;

	if (sim.pct.nr >= SIM_PCT_CHANGES_MAX)
		return false;
	for (i = sim.pct.nr; i > sim.pct.next && sim.pct.change[i - 1] > step; i--)
		sim.pct.change[i] = sim.pct.change[i - 1];
	sim.pct.change[i] = step;
	sim.pct.nr++;
	return true;
}

void sim_pct_init(void)
{
	memset(&sim.pct, 0, sizeof(sim.pct));
	sim.pct.on = sim.cfg.pct_depth > 0;
	atomic_store_explicit(&kenv_fine_points, sim.pct.on, memory_order_relaxed);
	if (!sim.pct.on)
		return;
	for (unsigned int i = 1; i < sim.cfg.pct_depth; i++)
		change_insert(1 + sim_rng_below(sim.cfg.pct_steps));
	check_trace("pct depth=%u steps=%" PRIu64 " changes=%u first=%" PRIu64, sim.cfg.pct_depth,
		    sim.cfg.pct_steps, sim.pct.nr, sim.pct.nr ? sim.pct.change[0] : 0);
}

bool sim_pct_change_after(uint64_t steps)
{
	uint64_t at = sim.pct.step + 1 + steps;

	if (!sim.pct.on || at < steps || !change_insert(at))
		return false;
	check_trace("pct change point at step %" PRIu64, at);
	return true;
}

void sim_pct_spawned(struct sim_co *co)
{
	co->pct_prio = 0;
	if (!sim.pct.on)
		return;
	co->pct_prio = 1 + (int64_t)(sim_rng_next() >> 2);
	check_trace("pct co%d prio %" PRId64, co->id, co->pct_prio);
}

/* Whether @a runs before @b. */
static bool pct_before(const struct sim_co *a, const struct sim_co *b)
{
	return a->pct_prio > b->pct_prio || (a->pct_prio == b->pct_prio && a->id < b->id);
}

unsigned int sim_pct_pick(void)
{
	unsigned int best = 0;

	for (unsigned int i = 1; i < sim.runq_nr; i++)
		if (pct_before(sim.runq[i], sim.runq[best]))
			best = i;
	return best;
}

void sim_pct_step(const char *site)
{
	struct sim_co *co = sim.cur;

	sim.pct.step++;
	sim.st.pct_steps++;
	while (sim.pct.next < sim.pct.nr && sim.pct.change[sim.pct.next] <= sim.pct.step) {
		sim.pct.next++;
		co->pct_prio = --sim.pct.low;
		sim.st.pct_changes++;
		check_trace("pct change step %" PRIu64 " co%d %s prio %" PRId64 " at %s",
			    sim.pct.step, co->id, co->name, co->pct_prio, site);
	}
}

bool sim_pct_should_yield(void)
{
	if (sim.nr_blocked)
		sim_wake_blocked();
	for (unsigned int i = 0; i < sim.runq_nr; i++)
		if (pct_before(sim.runq[i], sim.cur))
			return true;
	return false;
}

/* kenv.h: only called while kenv_fine_points is set, i.e. under PCT. */
void kenv_sched_point_fine(const char *site)
{
	sim_point(site);
}

/* kenv.h: the access point of builds with coverage feedback. */
void kenv_access_point_out(const char *site)
{
	if (atomic_load_explicit(&kenv_fine_points, memory_order_relaxed))
		kenv_sched_point_fine(site);
}
