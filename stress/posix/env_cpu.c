/* SPDX-License-Identifier: MIT */
/*
 * env_cpu.c - the CPU threads of the posix environment and their preemption
 * points.
 *
 * Each emulated CPU has one CPU thread in task context.  Between runs of the
 * workload (posix_set_cpu_workload) or while idle, and at every
 * posix_point() its job calls, it serves what was posted to its CPU: a job
 * of posix_cpus_begin() (run once), softirqs raised for its CPU when there
 * is no ksoftirqd, and in inline reclaim mode the work queued on its CPU and
 * its expired timers.  Posting (posix_cpu_post) sets a bit in the CPU's
 * pending word and wakes the thread only if it waits, so a busy CPU thread
 * is told with one atomic and finds out with one relaxed load.
 */
#include <errno.h>
#include <stdio.h>

#include "env_internal.h"

/* An idle CPU thread looks around this often even when nothing is posted. */
#define CPU_IDLE_NS (20u * 1000 * 1000)
/* An offline CPU thread checks for online this often. */
#define CPU_PARKED_NS (1000u * 1000)

static void (*_Atomic cpu_workload)(int cpu, void *arg);
static void *_Atomic cpu_workload_arg;

/* posix_cpus_begin(): the job, its generation, and how many CPUs finished it. */
static void (*_Atomic job_fn)(int cpu, void *arg);
static void *_Atomic job_arg;
static _Atomic(unsigned int) job_gen;
static _Atomic(int) job_done;
static sem_t job_finished;

void posix_cpu_post(int cpu, unsigned int bit)
{
	struct posix_cpu *c = &posix_cpus[cpu];

	/*
	 * seq_cst here and in the waiter (the idle flag, then the re-check of
	 * pending): either the waiter sees the bit, or we see it idle.
	 */
	if (bit && (atomic_fetch_or(&c->pending, bit) & bit))
		return;
	if (atomic_load(&c->cpu_idle))
		sem_post(&c->cpu_wake);
}

void posix_run_pending(void)
{
	struct posix_thread *t = posix_cur();
	int cpu;
	unsigned int bits;

	/* Only where the kernel could switch to this CPU's kworker or ksoftirqd. */
	if (t->role != POSIX_ROLE_CPU || t->depth > 1 || !posix_thread_preemptible(t))
		return;
	cpu = atomic_load_explicit(&t->cpu, memory_order_relaxed);
	/* Take every bit but JOB, which only the CPU thread's loop consumes. */
	while ((bits = atomic_fetch_and(&posix_cpus[cpu].pending, POSIX_PEND_JOB) &
		       ~POSIX_PEND_JOB)) {
		if (bits & POSIX_PEND_TIMER)
			posix_run_cpu_timers(cpu);
		if (bits & (POSIX_PEND_SOFTIRQ | POSIX_PEND_TIMER))
			posix_do_softirq(cpu);
		if (bits & POSIX_PEND_WORK)
			posix_run_inbox(cpu);
	}
}

static void run_job(int cpu, unsigned int *seen_gen)
{
	unsigned int gen = atomic_load(&job_gen);
	void (*fn)(int cpu, void *arg);

	if (gen == *seen_gen)
		return;
	*seen_gen = gen;
	fn = atomic_load(&job_fn);
	if (fn)
		fn(cpu, atomic_load(&job_arg));
	if (atomic_fetch_add(&job_done, 1) + 1 == posix_cfg.nr_cpus)
		sem_post(&job_finished);
}

static void cpu_idle(struct posix_cpu *c)
{
	atomic_store(&c->cpu_idle, true);
	if (!atomic_load(&c->pending))
		posix_sem_wait_ns(&c->cpu_wake, CPU_IDLE_NS);
	atomic_store(&c->cpu_idle, false);
}

static void *cpu_main(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct posix_cpu *c = &posix_cpus[cpu];
	unsigned int seen_gen = 0;

	while (!atomic_load(&posix_stopping)) {
		void (*fn)(int, void *);

		if (!atomic_load(&c->online)) {
			/* Acknowledge: no task of ours runs on the dying CPU. */
			atomic_store(&c->cpu_parked, 1);
			posix_sleep_ns(CPU_PARKED_NS);
			continue;
		}
		atomic_store(&c->cpu_parked, 0);
		/* Look before the locked and: the workload loop comes here often. */
		if ((atomic_load_explicit(&c->pending, memory_order_relaxed) & POSIX_PEND_JOB) &&
		    (atomic_fetch_and(&c->pending, ~POSIX_PEND_JOB) & POSIX_PEND_JOB))
			run_job(cpu, &seen_gen);
		posix_run_pending();
		/* Back from a "system call": softirqs raised meanwhile run here. */
		if (atomic_load(&c->softirq_pending))
			posix_do_softirq(cpu);
		fn = atomic_load(&cpu_workload);
		if (fn)
			fn(cpu, atomic_load(&cpu_workload_arg));
		else
			cpu_idle(c);
		kenv_sched_point("cpu_loop");
	}
	atomic_store(&c->cpu_parked, 1);
	return NULL;
}

void posix_set_cpu_workload(void (*fn)(int cpu, void *arg), void *arg)
{
	atomic_store(&cpu_workload_arg, arg);
	atomic_store(&cpu_workload, fn);
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++)
		posix_cpu_post(cpu, 0);
}

void posix_cpus_begin(void (*fn)(int cpu, void *arg), void *arg)
{
	atomic_store(&job_fn, fn);
	atomic_store(&job_arg, arg);
	atomic_store(&job_done, 0);
	atomic_fetch_add(&job_gen, 1);
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++)
		posix_cpu_post(cpu, POSIX_PEND_JOB);
}

bool posix_cpus_done(void)
{
	return atomic_load(&job_done) == posix_cfg.nr_cpus;
}

void posix_cpus_wait(void)
{
	while (sem_wait(&job_finished) && errno == EINTR)
		;
}

void posix_run_on_cpus(void (*fn)(int cpu, void *arg), void *arg)
{
	posix_cpus_begin(fn, arg);
	posix_cpus_wait();
}

void posix_cpus_start(void)
{
	char name[32];

	if (sem_init(&job_finished, 0, 0))
		KENV_DIE("sem_init");
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		snprintf(name, sizeof(name), "cpu%d", cpu);
		posix_thread_create(&posix_cpus[cpu].cpu_thr, name, POSIX_ROLE_CPU, cpu, cpu_main,
				    (void *)(intptr_t)cpu);
	}
}

void posix_cpus_stop(void)
{
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		sem_post(&posix_cpus[cpu].cpu_wake);
		pthread_join(posix_cpus[cpu].cpu_thr, NULL);
	}
	sem_destroy(&job_finished);
}
