/* SPDX-License-Identifier: MIT */
/*
 * benv_internal.h - state shared by the files of the timing environment.
 *
 * A thread's record is thread-local and written only by its own thread (the
 * emulated interrupts run on the thread they interrupt, as plain calls), so
 * its fields are plain.  Per-CPU words that other threads post to are atomic.
 */
#ifndef KVTORTURE_BENV_INTERNAL_H
#define KVTORTURE_BENV_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "benv.h"

#define BENV_MAX_FRAMES 6

enum benv_role {
	BENV_ROLE_OTHER,	/* unregistered (liburcu's workers) */
	BENV_ROLE_MAIN,
	BENV_ROLE_CPU,
	BENV_ROLE_KWORKER,
	BENV_ROLE_ENV,		/* GP and timer threads */
};

struct benv_thread {
	enum benv_role role;
	int cpu;
	int depth;				/* frames in use, >= 1 */
	enum kenv_ctx ctx[BENV_MAX_FRAMES];
	bool saved_irq_off[BENV_MAX_FRAMES];
	bool irq_off;
	unsigned int preempt, bh, locks, rcu_nest;
};

/* Bits of struct benv_cpu.pending: what the CPU thread has to look at. */
#define BENV_PEND_WORK 1u	/* inline mode: work on the CPU's inbox */
#define BENV_PEND_TIMER 2u	/* inline mode: a timer of this CPU expired */
#define BENV_PEND_SOFTIRQ 4u	/* a softirq was raised on this CPU */
#define BENV_PEND_JOB 8u	/* benv_run_on_cpus() has a job */

struct benv_cpu {
	_Atomic(unsigned int) pending;
	_Atomic(unsigned int) softirq_mask;
	_Atomic(bool) cpu_idle;			/* the CPU thread waits on cpu_wake */
	sem_t cpu_wake;
	struct kenv_work *_Atomic inbox;	/* LIFO; reversed when taken */
	_Atomic(bool) worker_idle;		/* worker mode: the kworker waits */
	sem_t worker_wake;
	pthread_t cpu_thr, worker_thr;
} __attribute__((aligned(64)));

extern struct benv_cpu benv_cpus[KENV_NR_CPUS_MAX];
extern struct benv_config benv_cfg;
extern _Atomic(bool) benv_stopping;
extern _Atomic(uint64_t) benv_stat_works, benv_stat_timers, benv_stat_softirqs, benv_stat_cbs;

/*
 * The caller's record; threads the environment did not create (liburcu's
 * workers) share a thread-local stand-in: task context on CPU 0.
 */
extern BENV_TLS struct benv_thread *benv_me;
extern BENV_TLS struct benv_thread benv_anon;
static inline struct benv_thread *benv_cur(void)
{
	struct benv_thread *t = benv_me;

	return t ? t : &benv_anon;
}

void benv_frame_push(enum kenv_ctx ctx);
void benv_frame_pop(void);
/* Make @cpu's thread look at @bit: set it, and wake the thread if it waits. */
void benv_cpu_post(int cpu, unsigned int bit);
/* Wait on @sem for at most @ns, announcing it through @idle. */
void benv_sem_wait_ns(sem_t *sem, uint64_t ns);
void benv_sleep_ns(uint64_t ns);
void benv_thread_create(pthread_t *thr, enum benv_role role, int cpu,
			void *(*fn)(void *), void *arg);

/* benv_work.c */
void benv_work_start(void);
void benv_work_stop(void);
/* Inline mode, on @cpu's thread: run its expired timers, then its inbox. */
void benv_run_cpu_timers(int cpu);
void benv_run_inbox(int cpu);
void benv_rcu_start(void);
void benv_rcu_stop(void);
uint64_t benv_rcu_gps(void);

#endif /* KVTORTURE_BENV_INTERNAL_H */
