/* SPDX-License-Identifier: MIT */
/*
 * env_internal.h - state shared by the files of the posix environment.
 *
 * The thread record is thread-local: only its own thread and that thread's
 * signal handlers write it (so plain fields suffice: a handler's changes are
 * balanced before it returns); the watchdog reads the records of others
 * without synchronisation for its hang dump, knowing they may be torn.
 */
#ifndef KVTORTURE_POSIX_ENV_INTERNAL_H
#define KVTORTURE_POSIX_ENV_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "check.h"
#include "posix_env.h"

#define POSIX_MAX_FRAMES 8

/* One execution context on a thread: its base, or a softirq/hardirq/NMI on top. */
struct posix_frame {
	enum kenv_ctx ctx;
	bool saved_irq_off;		/* the mask of the interrupted frame */
	unsigned int nr_locks;		/* raw locks this frame holds */
	struct check_task ct;
};

struct posix_thread {
	bool registered;
	int id;				/* index in posix_threads[] */
	enum posix_role role;
	_Atomic(int) cpu;		/* the CPU the thread runs on now */
	int home_cpu;
	pid_t tid;
	pthread_t pth;
	char name[32];
	char frame_names[KENV_CTX_NR][48];
	/* Written by the thread and its handlers only. */
	volatile bool irq_off;		/* the soft mask */
	volatile unsigned int irq_hold;	/* >0: interrupts wait, irqs stay "on" */
	unsigned int preempt, bh, rcu_nest;
	volatile int depth;		/* frames in use, frames[depth - 1] is current */
	struct posix_frame frames[POSIX_MAX_FRAMES];
	_Atomic(int) irq_pending;	/* an interrupt arrived while masked */
	unsigned int env_internal;	/* >0: the env allocates for itself */
	unsigned int cpu_enter;		/* posix_cpu_enter() nesting */
	uint64_t rng;
	/* Read by the watchdog. */
	_Atomic(const char *) last_site;
	_Atomic(uint64_t) points;
	_Atomic(uint64_t) starve_until;
};

/*
 * Records live in a static table (never freed, so the watchdog may read the
 * record of a thread that has exited); the thread-local pointer finds the
 * caller's.  Unregistered threads get a thread-local stand-in.
 */
extern struct posix_thread posix_thread_table[POSIX_MAX_THREADS];
extern _Atomic(int) posix_nr_registered;
extern __thread struct posix_thread *posix_me;
extern __thread struct posix_thread posix_anon;

static inline struct posix_thread *posix_cur(void)
{
	struct posix_thread *t = posix_me;

	return t ? t : &posix_anon;
}

static inline struct posix_frame *posix_cur_frame(struct posix_thread *t)
{
	int d = t->depth;

	return &t->frames[d > 0 ? d - 1 : 0];
}

struct posix_cpu {
	_Atomic(bool) online;
	_Atomic(int) users;		/* threads inside posix_cpu_enter() here */
	_Atomic(pid_t) cpu_tid;		/* the CPU thread, for tgkill */
	_Atomic(int) cpu_parked;	/* the CPU thread acknowledged offline */
	pthread_t cpu_thr, kworker_thr, ksoftirqd_thr;
	_Atomic(unsigned int) softirq_pending;
	_Atomic(int) softirq_running;	/* a softirq pass is running for this CPU */
	sem_t ksoftirqd_wake;
	sem_t kworker_wake;
	struct kenv_work *_Atomic wq_inbox[KENV_WQ_NR];	/* LIFO, reversed when taken */
	_Atomic(uint64_t) irqs, irqs_replayed, nmis, softirqs;
};

extern struct posix_cpu posix_cpus[KENV_NR_CPUS_MAX];
extern struct posix_env_config posix_cfg;
extern _Atomic(bool) posix_stopping;
extern _Atomic(uint64_t) posix_stat_works, posix_stat_timers, posix_stat_rcu_cbs;
extern _Atomic(uint64_t) posix_interpose_reports;

/* Frames (env_ctx.c). */
void posix_frame_push(enum kenv_ctx ctx);
void posix_frame_pop(void);
/* The first online CPU when @cpu is offline (where its kworker and timers run). */
int posix_effective_cpu(int cpu);
/* Run @cpu's pending softirqs in the caller (ksoftirqd, bh enable, irq exit). */
void posix_do_softirq(int cpu);
/* Whether the caller is atomic for an allocation (lock, mask, hardirq, NMI). */
bool posix_alloc_forbidden(void);
void posix_register_self(const char *name, enum posix_role role, int cpu);
uint64_t posix_rand_next(uint64_t *state);

/* RCU (env_rcu.c). */
void posix_rcu_start(void);
void posix_rcu_stop(void);
uint64_t posix_rcu_gps(void);
uint64_t posix_rcu_seq(void);

/* Timers and work (env_work.c). */
void posix_work_start(void);
void posix_work_stop(void);

/* Memory (env_mem.c). */
void posix_mem_start(void);
void posix_mem_stop(void);
void posix_mem_stats(struct posix_env_stats *st);

#endif /* KVTORTURE_POSIX_ENV_INTERNAL_H */
