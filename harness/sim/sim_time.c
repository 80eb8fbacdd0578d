/* SPDX-License-Identifier: MIT */
/*
 * sim_time.c - virtual time and driving the system to rest: the next event,
 * sim_advance(), the driver's own waits, sim_quiesce(), kenv_clock_ns().
 *
 * Time moves only when the driver moves it (sim_advance) or when the driver
 * waits or quiesces and nothing else can run: then it jumps to the next
 * timer or automatic GP end, and grace periods start and end even in
 * explicit mode.
 */
#include <inttypes.h>
#include <stdint.h>

#include "sim_internal.h"

static bool next_event(uint64_t *when)
{
	uint64_t t, best = 0;
	bool found = false;

	if (sim_timer_next(&t)) {
		best = t;
		found = true;
	}
	if (sim.cfg.auto_gp && sim_rcu_auto_end_time(&t) && sim_rcu_readers_allow() &&
	    (!found || t < best)) {
		best = t;
		found = true;
	}
	if (found)
		*when = best;
	return found;
}

bool sim_next_event(uint64_t *when)
{
	return next_event(when);
}

static void set_time(uint64_t t)
{
	if (t > sim.now) {
		sim.now = t;
		check_trace("time %" PRIu64, t);
	}
}

void sim_advance(uint64_t ns)
{
	uint64_t target = ns > UINT64_MAX - sim.now ? UINT64_MAX : sim.now + ns;
	uint64_t next;
	unsigned int n;

	sim_assert_driver(__func__);
	sim_run_pending();
	for (n = 0; n < SIM_DRIVE_STEPS_MAX; n++) {
		if (!next_event(&next) || next > target)
			break;
		set_time(next);
		/* An event due now that cannot be taken (irqs off) ends the walk. */
		if (!sim_run_pending())
			break;
	}
	set_time(target);
	sim_run_pending();
}

uint64_t sim_now(void)
{
	return sim.now;
}

enum drive { DRIVE_MOVED, DRIVE_IDLE, DRIVE_READERS };

/*
 * One step towards quiescence, for the driver when it waits or quiesces:
 * run what is runnable, else end or start a GP (in explicit mode too), else
 * jump to the next timer.
 */
static enum drive drive_once(void)
{
	uint64_t t;
	bool timer = sim_timer_next(&t);

	if (sim_sched_step())
		return DRIVE_MOVED;
	if (sim_gp_in_progress()) {
		uint64_t end;

		if (!sim_rcu_readers_allow()) {
			if (!timer)
				return DRIVE_READERS;
			set_time(t);
			return DRIVE_MOVED;
		}
		if (sim.cfg.auto_gp && sim_rcu_auto_end_time(&end) && end > sim.now) {
			set_time(timer && t < end ? t : end);
			return DRIVE_MOVED;
		}
		sim_rcu_end_gp();
		return DRIVE_MOVED;
	}
	if (sim_gp_needed()) {
		sim_rcu_start_gp();
		return DRIVE_MOVED;
	}
	if (timer) {
		set_time(t);
		return DRIVE_MOVED;
	}
	return DRIVE_IDLE;
}

/*
 * The driver context blocks on @w: it cannot switch away, so it drives the
 * rest of the system (drive_once) until @w holds.
 */
void sim_driver_wait(struct sim_wait *w)
{
	unsigned int n;

	sim.driver_wait = w;
	check_trace("driver waits: %s", w->what);
	for (n = 0; !sim_wait_done(w); n++) {
		enum drive r;

		if (n >= SIM_DRIVE_STEPS_MAX) {
			check_stall_busy("the driver", w->what, (int)sim.cfg.driver_cpu, n, sim.now);
			break;
		}
		r = drive_once();
		if (r == DRIVE_MOVED)
			continue;
		check_stall_blocked("the driver", w->what, (int)sim.cfg.driver_cpu, 0,
				    r == DRIVE_READERS ? "a reader blocks the grace period" : NULL);
		break;
	}
	sim.driver_wait = NULL;
}

bool sim_quiesce(void)
{
	unsigned int n, i, blocked;

	sim_assert_driver(__func__);
	for (n = 0; n < SIM_DRIVE_STEPS_MAX; n++) {
		enum drive r = drive_once();

		if (r == DRIVE_MOVED)
			continue;
		if (r == DRIVE_READERS) {
			check_trace("quiesce: readers hold the grace period");
			return false;
		}
		for (i = 0, blocked = 0; i < sim.nr_co_used; i++)
			blocked += sim.co[i]->state == SIM_CO_BLOCKED;
		if (blocked) {
			check_stall_blocked("quiesce", NULL, -1, blocked, NULL);
			return false;
		}
		check_trace("quiet at %" PRIu64, sim.now);
		return true;
	}
	check_stall_busy("quiesce", NULL, -1, n, sim.now);
	return false;
}

uint64_t kenv_clock_ns(void)
{
	return sim.now;
}
