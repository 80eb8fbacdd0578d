/* SPDX-License-Identifier: MIT */
/*
 * env_hotplug.c - CPU hotplug of the posix environment (checked flavour
 * only): taking CPUs offline and online, the flooders' stays on a CPU, and
 * migrating a user thread to another CPU.
 *
 * A CPU goes offline in two steps: its online flag drops (no new stay
 * begins, interrupts and softirq passes for it stop), then the caller waits
 * until the CPU thread has parked, no thread is inside posix_cpu_enter() on
 * it and no softirq pass runs.  Its kworker and timers keep running,
 * reporting the first online CPU as theirs (posix_effective_cpu).
 */
#include "env_internal.h"

#if !POSIX_CHECKED
#error "env_hotplug.c belongs to the checked flavour only"
#endif

#define OFFLINE_POLL_NS (100u * 1000)

bool posix_cpu_offline(int cpu)
{
	struct posix_cpu *c;

	/* Inline reclaim runs a CPU's work on its CPU thread, which parks offline. */
	if (cpu <= 0 || cpu >= posix_cfg.nr_cpus || posix_cfg.reclaim != POSIX_RECLAIM_WORKER)
		return false;
	c = &posix_cpus[cpu];
	if (!atomic_exchange(&c->online, false))
		return false;
	ENV_CHECK(check_might_sleep("posix_cpu_offline"));
	posix_cpu_post(cpu, 0);
	while ((!atomic_load(&c->cpu_parked) || atomic_load(&c->users) ||
		atomic_load(&c->softirq_running)) &&
	       !atomic_load(&posix_stopping))
		posix_sleep_ns(OFFLINE_POLL_NS);
	return true;
}

void posix_cpu_online(int cpu)
{
	if (cpu < 0 || cpu >= posix_cfg.nr_cpus)
		return;
	/*
	 * A stale acknowledgement must not let the next offline skip the wait:
	 * the CPU thread may be in an interrupt taken before it saw us online.
	 */
	atomic_store(&posix_cpus[cpu].cpu_parked, 0);
	atomic_store(&posix_cpus[cpu].online, true);
	posix_softirq_kick(cpu);
}

int posix_cpu_enter(void)
{
	struct posix_thread *t = posix_cur();
	int cpu = atomic_load(&t->cpu);

	for (int tries = 0;; tries++) {
		struct posix_cpu *c = &posix_cpus[cpu];

		if (atomic_load(&c->online)) {
			atomic_fetch_add(&c->users, 1);
			/* Re-check: offline sets the flag first, then waits for users. */
			if (atomic_load(&c->online))
				break;
			atomic_fetch_sub(&c->users, 1);
		}
		cpu = tries < 4 ? (int)(splitmix64_next(&t->rng) % (uint64_t)posix_cfg.nr_cpus) : 0;
	}
	atomic_store(&t->cpu, cpu);
	t->cpu_enter++;
	return cpu;
}

int posix_cpu_enter_avoiding(bool (*avoid)(int cpu))
{
	struct posix_thread *t = posix_cur();
	int n = posix_cfg.nr_cpus, from = atomic_load(&t->cpu);

	/* Only a user task moves, as at a scheduling point; the current CPU first. */
	for (int i = 0; t->role == POSIX_ROLE_USER && i < n; i++) {
		int cpu = (from + i) % n;

		if (atomic_load(&posix_cpus[cpu].online) && !avoid(cpu)) {
			atomic_store(&t->cpu, cpu);
			break;
		}
	}
	return posix_cpu_enter();
}

void posix_cpu_exit(void)
{
	struct posix_thread *t = posix_cur();

	t->cpu_enter--;
	atomic_fetch_sub(&posix_cpus[atomic_load(&t->cpu)].users, 1);
}

void posix_cpu_migrate(struct posix_thread *t)
{
	int old = atomic_load(&t->cpu);
	int cpu = (int)(splitmix64_next(&t->rng) % (uint64_t)posix_cfg.nr_cpus);

	if (cpu == old || !atomic_load(&posix_cpus[cpu].online))
		return;
	atomic_fetch_add(&posix_cpus[cpu].users, 1);
	if (!atomic_load(&posix_cpus[cpu].online)) {
		atomic_fetch_sub(&posix_cpus[cpu].users, 1);
		return;
	}
	atomic_store(&t->cpu, cpu);
	atomic_fetch_sub(&posix_cpus[old].users, 1);
}
