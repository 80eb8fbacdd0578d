/* SPDX-License-Identifier: MIT */
/*
 * env_softirq.c - softirqs of the posix environment.
 *
 * Raising a softirq sets its bit in the raising CPU's pending mask.  Who
 * runs it: the irq exit, the bh enable or the softirq pass that the raise
 * happened inside of; anywhere else its runner is woken (posix_softirq_kick):
 * the CPU's ksoftirqd thread, or with posix_env_config.ksoftirqd off the CPU
 * thread itself, at its next preemption point.  A pass never runs
 * concurrently with another pass of the same CPU (softirq_running), so a
 * handler is never re-entered on its CPU, whichever thread runs it.
 */
#include <stdio.h>

#include "env_internal.h"

/* Set before the runs, read by any runner: plain atomics of function pointers. */
static void (*_Atomic softirq_fns[POSIX_SOFTIRQ_NR])(void);

/* Rounds of one pass before the rest is left to the runner (as the kernel's restart limit). */
#define SOFTIRQ_ROUNDS 10
#define KSOFTIRQD_IDLE_NS (10u * 1000 * 1000)

void kenv_open_softirq(enum kenv_softirq nr, void (*fn)(void))
{
	posix_open_softirq((unsigned int)nr, fn);
}

void posix_open_softirq(unsigned int nr, void (*fn)(void))
{
	if (nr >= POSIX_SOFTIRQ_NR)
		KENV_DIE("softirq number out of range");
	atomic_store(&softirq_fns[nr], fn);
}

/* Async-signal-safe: an atomic or a sem_post. */
void posix_softirq_kick(int cpu)
{
	if (posix_cfg.ksoftirqd)
		sem_post(&posix_cpus[cpu].ksoftirqd_wake);
	else
		posix_cpu_post(cpu, POSIX_PEND_SOFTIRQ);
}

void posix_raise_softirq(unsigned int nr)
{
	struct posix_thread *t = posix_cur();
	int cpu = kenv_cpu();

	atomic_fetch_or(&posix_cpus[cpu].softirq_pending, 1u << nr);
	/*
	 * An irq exit, the bh enable or the running softirq pass will see the
	 * bit; anywhere else nothing would, so wake the runner.
	 */
	if (!t->bh && !posix_in_interrupt(t))
		posix_softirq_kick(cpu);
}

void kenv_raise_softirq(enum kenv_softirq nr)
{
	posix_raise_softirq((unsigned int)nr);
}

void posix_do_softirq(int cpu)
{
	struct posix_thread *t = posix_cur();
	struct posix_cpu *c = &posix_cpus[cpu];
	int expected = 0;

	if (!atomic_compare_exchange_strong(&c->softirq_running, &expected, 1))
		return;
	/* Checked under the flag: posix_cpu_offline() waits for a pass in progress. */
	if (!atomic_load(&c->online)) {
		atomic_store(&c->softirq_running, 0);
		return;
	}
	for (int round = 0; round < SOFTIRQ_ROUNDS; round++) {
		unsigned int pending = atomic_exchange(&c->softirq_pending, 0);

		if (!pending)
			break;
		posix_frame_push(KENV_CTX_SOFTIRQ);
		t->bh++;
		for (unsigned int nr = 0; nr < POSIX_SOFTIRQ_NR; nr++) {
			void (*fn)(void) = atomic_load(&softirq_fns[nr]);

			if (!(pending & (1u << nr)) || !fn)
				continue;
			atomic_fetch_add_explicit(&c->softirqs, 1, memory_order_relaxed);
			fn();
		}
		t->bh--;
		posix_frame_pop();
	}
	atomic_store(&c->softirq_running, 0);
	if (atomic_load(&c->softirq_pending))
		posix_softirq_kick(cpu);
}

static void *ksoftirqd_main(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct posix_cpu *c = &posix_cpus[cpu];

	while (!atomic_load(&posix_stopping)) {
		posix_sem_wait_ns(&c->ksoftirqd_wake, KSOFTIRQD_IDLE_NS);
		kenv_sched_point("ksoftirqd");
		if (atomic_load(&c->online) && atomic_load(&c->softirq_pending))
			posix_do_softirq(cpu);
	}
	return NULL;
}

void posix_softirq_start(void)
{
	char name[32];

	if (!posix_cfg.ksoftirqd)
		return;
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		snprintf(name, sizeof(name), "cpu%d/ksoftirqd", cpu);
		posix_thread_create(&posix_cpus[cpu].ksoftirqd_thr, name, POSIX_ROLE_KSOFTIRQD,
				    cpu, ksoftirqd_main, (void *)(intptr_t)cpu);
	}
}

void posix_softirq_stop(void)
{
	if (!posix_cfg.ksoftirqd)
		return;
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		sem_post(&posix_cpus[cpu].ksoftirqd_wake);
		pthread_join(posix_cpus[cpu].ksoftirqd_thr, NULL);
	}
}
