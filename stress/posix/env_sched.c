/* SPDX-License-Identifier: MIT */
/*
 * env_sched.c - might_sleep, cond_resched and the scheduling points of the
 * posix environment.
 *
 * Checked flavour: a scheduling point is where the environment plays the
 * adversary, from the thread's seeded random stream: it replays interrupts
 * held back by the mask, injects interrupts and NMIs on CPU threads, spins,
 * and where the caller could be preempted yields, sleeps, migrates a user
 * thread to another CPU or starves the thread (rr-chaos style).  Every point
 * is counted and named for the watchdog.
 *
 * Unchecked flavour: all of them are empty.  A timing run preempts nothing
 * on purpose; the CPU threads' own preemption points are posix_point().
 */
#include <sched.h>

#include "env_internal.h"

#if POSIX_CHECKED

void kenv_might_sleep(const char *site)
{
	ENV_CHECK(check_might_sleep(site));
	kenv_sched_point(site);
}

void kenv_cond_resched(void)
{
	ENV_CHECK(check_might_sleep("cond_resched"));
	kenv_sched_point("cond_resched");
}

static bool ppm_hit(struct posix_thread *t, unsigned int ppm)
{
	return ppm && splitmix64_next(&t->rng) % 1000000u < ppm;
}

/* Chaos that may happen anywhere, atomic or not. */
static void point_anywhere(struct posix_thread *t, const struct posix_chaos *ch)
{
	if (t->role == POSIX_ROLE_CPU) {
		if (!t->irq_off && atomic_load_explicit(&t->irq_pending, memory_order_relaxed))
			posix_irq_replay(t, false);
		if (ppm_hit(t, ch->nmi_inject_ppm))
			posix_nmi_inject(t);
		if (!t->irq_off && !t->irq_hold && ppm_hit(t, ch->irq_inject_ppm))
			posix_irq_inject(t);
	}
	if (ppm_hit(t, ch->spin_ppm) && ch->spin_max_ns) {
		uint64_t end = kenv_clock_ns() + splitmix64_next(&t->rng) % ch->spin_max_ns;

		while (kenv_clock_ns() < end)
			posix_cpu_relax();
	}
}

/* Chaos only where the caller could be preempted. */
static void point_preemptible(struct posix_thread *t, const struct posix_chaos *ch)
{
	uint64_t until;

	if (ppm_hit(t, ch->yield_ppm))
		sched_yield();
	if (ppm_hit(t, ch->sleep_ppm) && ch->sleep_max_ns)
		posix_sleep_ns(1 + splitmix64_next(&t->rng) % ch->sleep_max_ns);
	if (t->cpu_enter && t->role == POSIX_ROLE_USER && ppm_hit(t, ch->migrate_ppm))
		posix_cpu_migrate(t);
	until = atomic_load_explicit(&t->starve_until, memory_order_relaxed);
	if (until) {
		uint64_t now = kenv_clock_ns();

		if (now < until && !atomic_load(&posix_stopping))
			posix_sleep_ns(until - now);
		atomic_store(&t->starve_until, 0);
	}
}

void kenv_sched_point(const char *site)
{
	struct posix_thread *t = posix_me;

	if (!t)
		return;
	atomic_store_explicit(&t->last_site, site, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->points, 1, memory_order_relaxed);
	point_anywhere(t, &posix_cfg.chaos);
	if (posix_thread_preemptible(t))
		point_preemptible(t, &posix_cfg.chaos);
}

RACY_READER bool posix_thread_starvable(int id)
{
	enum posix_role role;

	if (id < 0 || id >= posix_nr_threads())
		return false;
	/* Starving env threads would only stall the clock of the run itself. */
	role = posix_thread_table[id].role;
	return role != POSIX_ROLE_ENV && role != POSIX_ROLE_MAIN;
}

void posix_starve(int id, uint64_t until_ns)
{
	if (posix_thread_starvable(id))
		atomic_store(&posix_thread_table[id].starve_until, until_ns);
}

#else /* !POSIX_CHECKED */

void kenv_might_sleep(const char *site)
{
	(void)site;
}

void kenv_cond_resched(void)
{
}

void kenv_sched_point(const char *site)
{
	(void)site;
}

#endif
