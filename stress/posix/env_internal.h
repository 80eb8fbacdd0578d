/* SPDX-License-Identifier: MIT */
/*
 * env_internal.h - state shared by the files of the posix environment, and
 * the switch between its two flavours.
 *
 * Flavours: the files are compiled twice (stress/meson.build).  The checked
 * flavour is the default; the unchecked one is built with
 * -DPOSIX_UNCHECKED=1.  ENV_CHECK(hook) is a checker hook called with
 * interrupts held back in the checked flavour and nothing at all in the
 * unchecked one (its arguments are not even evaluated), so a timing run pays
 * for no check; the few other differences sit under #if POSIX_CHECKED, and
 * the files that are nothing but checking (interrupt signals, hotplug, the
 * watchdog, the malloc interposer) are left out of the unchecked build.
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
#include <stddef.h>
#include <sys/types.h>

#include "posix_env.h"
#include "splitmix64.h"

#if defined(POSIX_UNCHECKED) && POSIX_UNCHECKED
#define POSIX_CHECKED 0
#else
#define POSIX_CHECKED 1
#endif

#if POSIX_CHECKED
#include <signal.h>

#include "check.h"
/*
 * A checker hook, with interrupts held back meanwhile so that a handler
 * rarely finds its thread inside the checker.
 */
#define ENV_CHECK(hook)				\
	do {					\
		posix_irq_hold();		\
		hook;				\
		posix_irq_unhold();		\
	} while (0)
/* Orders the thread record against this thread's signal handlers. */
#define ENV_SIGNAL_FENCE() atomic_signal_fence(memory_order_seq_cst)
/* Fields a signal handler of the same thread reads or changes. */
#define ENV_SIGNAL_SHARED volatile
#else
#define ENV_CHECK(hook) do { } while (0)
#define ENV_SIGNAL_FENCE() do { } while (0)
#define ENV_SIGNAL_SHARED
#endif

/*
 * The watchdog and the hang dump read other threads' records without
 * synchronisation on purpose (a hung thread cannot cooperate): exempt those
 * readers from ThreadSanitizer instead of reporting the intended races.
 * POSIX_TSAN: this file is built with ThreadSanitizer.
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POSIX_TSAN 1
#define RACY_READER __attribute__((no_sanitize("thread")))
#endif
#endif
#if !defined(POSIX_TSAN) && defined(__SANITIZE_THREAD__)
#define POSIX_TSAN 1
#define RACY_READER __attribute__((no_sanitize_thread))
#endif
#ifndef RACY_READER
#define RACY_READER
#endif

#define POSIX_MAX_FRAMES 8

/* One execution context on a thread: its base, or a softirq/hardirq/NMI on top. */
struct posix_frame {
	enum kenv_ctx ctx;
	bool saved_irq_off;		/* the mask of the interrupted frame */
	unsigned int nr_locks;		/* raw locks held (posix_lock_count) */
#if POSIX_CHECKED
	struct check_task ct;
#endif
};

struct posix_thread {
	bool registered;
	int id;				/* index in posix_thread_table[] */
	enum posix_role role;
	_Atomic(int) cpu;		/* the CPU the thread runs on now */
	pid_t tid;
	char name[32];
	/* Written by the thread and its handlers only. */
	ENV_SIGNAL_SHARED bool irq_off;	/* the soft mask */
	unsigned int preempt, bh, rcu_nest;
	ENV_SIGNAL_SHARED int depth;	/* frames in use, frames[depth - 1] is current */
	/*
	 * The byte offset of frames[depth - 1] in this record, kept beside the
	 * depth so the fast paths (lock owner tag, context queries) find the
	 * current frame with one load and an add.  An offset rather than a
	 * pointer: the thread-local stand-in can be initialised statically.
	 */
	ENV_SIGNAL_SHARED unsigned int top;
	struct posix_frame frames[POSIX_MAX_FRAMES];
	unsigned int env_internal;	/* >0: the env allocates for itself */
	uint64_t rng;			/* splitmix64 state: this thread's stream */
#if POSIX_CHECKED
	char frame_names[KENV_CTX_NR][48];
	volatile unsigned int irq_hold;	/* >0: interrupts wait, irqs stay "on" */
	_Atomic(int) irq_pending;	/* an interrupt arrived while masked */
	unsigned int cpu_enter;		/* posix_cpu_enter() nesting */
	/* Read by the watchdog. */
	_Atomic(const char *) last_site;
	_Atomic(uint64_t) points;
	_Atomic(uint64_t) starve_until;
	/*
	 * For a hang dump: the work this thread waits for in a flush or a
	 * cancel; the one it runs; the rest of the list it took from an inbox,
	 * still to run after it.
	 */
	struct kenv_work *_Atomic wait_work;
	struct kenv_work *_Atomic run_work;
	struct kenv_work *_Atomic run_next;
	/* For a hang dump: the raw lock this thread spins for, if any. */
	struct kenv_lock *_Atomic spins_on;
	/* For a hang dump: this thread's token in the checker (its lock's holder). */
	uintptr_t check_token;
#endif
};

/*
 * Records live in a static table (never freed, and not reused until the next
 * posix_env_start(), so the watchdog may read the record of a thread that has
 * exited); the thread-local pointer finds the caller's.  Unregistered threads
 * each have a thread-local stand-in: task context on CPU 0.
 */
extern struct posix_thread posix_thread_table[POSIX_MAX_THREADS];
extern _Atomic(int) posix_nr_registered;
extern POSIX_TLS struct posix_thread *posix_me;
extern POSIX_TLS struct posix_thread posix_anon;

static inline struct posix_thread *posix_cur(void)
{
	struct posix_thread *t = posix_me;

	return t ? t : &posix_anon;
}

#define POSIX_FRAME_OFFSET(d) \
	((unsigned int)(offsetof(struct posix_thread, frames) + (size_t)(d) * sizeof(struct posix_frame)))

static inline struct posix_frame *posix_cur_frame(struct posix_thread *t)
{
	return (struct posix_frame *)((char *)t + t->top);
}

/*
 * Who holds a raw lock.  Checked flavour: the frame (the lock word holds the
 * holder's frame, the count is the frame's), so an interrupt or NMI
 * re-entering a lock of its own thread is recognised.  Unchecked flavour:
 * the thread, counted in its base frame, as nothing interrupts a thread
 * there unless it asks (posix_irq_enter) and the frame bookkeeping would be
 * paid for on every lock.
 */
static inline uintptr_t posix_lock_owner(struct posix_thread *t)
{
#if POSIX_CHECKED
	return (uintptr_t)posix_cur_frame(t);
#else
	return (uintptr_t)t;
#endif
}

static inline unsigned int *posix_lock_count(struct posix_thread *t)
{
#if POSIX_CHECKED
	return &posix_cur_frame(t)->nr_locks;
#else
	return &t->frames[0].nr_locks;
#endif
}

/*
 * Call a test-only hook (posix_*_hook) if one is set, loading it once: a
 * test that clears it meanwhile must not have NULL called.
 */
static inline void posix_run_hook(void (*_Atomic *hook)(void))
{
	void (*fn)(void) = atomic_load_explicit(hook, memory_order_relaxed);

	if (fn)
		fn();
}

static inline void posix_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/*
 * Leave one level of a nesting count of the thread record (preempt, bh,
 * rcu_nest) for @what, the enable that pairs with its disable.  The checked
 * flavour reports an enable without its disable to the checker and leaves
 * the count at 0 (returns false).
 */
static inline bool posix_nest_leave(unsigned int *count, const char *what)
{
	ENV_SIGNAL_FENCE();
#if POSIX_CHECKED
	if (*count == 0) {
		ENV_CHECK(check_nest_exit(what, 0));
		return false;
	}
#endif
	(void)what;
	--*count;
	return true;
}

/* Bits of struct posix_cpu.pending: what the CPU thread has to look at. */
#define POSIX_PEND_WORK 1u	/* inline mode: work on the CPU's inbox */
#define POSIX_PEND_TIMER 2u	/* inline mode: a timer of this CPU expired */
#define POSIX_PEND_SOFTIRQ 4u	/* no ksoftirqd: a softirq was raised on this CPU */
#define POSIX_PEND_JOB 8u	/* posix_cpus_begin() has a job */

struct posix_cpu {
	/* Posted to by any thread (posix_cpu_post), taken by the CPU thread. */
	_Atomic(unsigned int) pending;
	_Atomic(bool) cpu_idle;			/* the CPU thread waits on cpu_wake */
	sem_t cpu_wake;
	_Atomic(unsigned int) softirq_pending;	/* raised softirqs, by number */
	_Atomic(int) softirq_running;		/* a softirq pass is running for this CPU */
	sem_t ksoftirqd_wake;
	struct kenv_work *_Atomic wq_inbox[KENV_WQ_NR];	/* LIFO, reversed when taken */
	_Atomic(bool) kworker_idle;		/* worker mode: the kworker waits */
	sem_t kworker_wake;
	_Atomic(bool) online;
	_Atomic(int) users;			/* threads inside posix_cpu_enter() here */
	_Atomic(pid_t) cpu_tid;			/* the CPU thread, for tgkill */
	_Atomic(int) cpu_parked;		/* the CPU thread acknowledged offline */
	pthread_t cpu_thr, kworker_thr, ksoftirqd_thr;
	_Atomic(uint64_t) irqs, irqs_replayed, nmis, softirqs;
} __attribute__((aligned(64)));

extern struct posix_cpu posix_cpus[KENV_NR_CPUS_MAX];
extern struct posix_env_config posix_cfg;
extern _Atomic(bool) posix_stopping;
/* How many times the environment was started (a run of phases starts it once each). */
extern _Atomic(unsigned int) posix_env_generation;
extern _Atomic(uint64_t) posix_stat_works, posix_stat_timers, posix_stat_rcu_cbs;
extern _Atomic(uint64_t) posix_interpose_reports;

/* env_core.c: output without allocation, sleeping. */
void posix_fd_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void posix_sleep_ns(uint64_t ns);
/* Wait on @sem for at most @ns (a signal may end the wait early). */
void posix_sem_wait_ns(sem_t *sem, uint64_t ns);

/* env_thread.c: the registry. */
void posix_register_self(const char *name, enum posix_role role, int cpu);
/* Forget every record.  Context: posix_env_start(), nothing else registered runs. */
void posix_registry_reset(void);

/* env_ctx.c: frames and context queries. */
void posix_frame_push(enum kenv_ctx ctx);
void posix_frame_pop(void);
/* Whether @t is inside a softirq, hardirq or NMI frame. */
bool posix_in_interrupt(const struct posix_thread *t);
/* Whether @t's current frame could be preempted (task/kthread, nothing off, no lock). */
bool posix_thread_preemptible(const struct posix_thread *t);
/* The first online CPU when @cpu is offline (where its kworker and timers run). */
int posix_effective_cpu(int cpu);
const char *posix_ctx_name(enum kenv_ctx ctx);

/* env_softirq.c */
/* Run @cpu's pending softirqs in the caller (ksoftirqd, bh enable, irq exit, points). */
void posix_do_softirq(int cpu);
/* Softirqs are pending on @cpu and nobody in an exit path will run them: wake their runner. */
void posix_softirq_kick(int cpu);
void posix_softirq_start(void);
void posix_softirq_stop(void);

/* env_cpu.c */
/* Make @cpu's thread look at @bit (0: just wake it if it waits).  Async-signal-safe. */
void posix_cpu_post(int cpu, unsigned int bit);
void posix_cpus_start(void);
void posix_cpus_stop(void);

/* env_timer.c */
/*
 * timer->state: PENDING, and above it the number of fires running (a timer
 * armed again while its handler runs may be claimed again before it ends).
 */
#define POSIX_TIMER_PENDING 1u
#define POSIX_TIMER_RUNNING_ONE 2u
void posix_timer_start(void);
void posix_timer_stop(void);
/* Inline mode, on @cpu's thread: fire its expired timers. */
void posix_run_cpu_timers(int cpu);
/*
 * Wait until no fire of @timer runs: one claimed before the caller cancelled
 * it has finished.  Context: may sleep; not from @timer's own handler.
 */
void posix_timer_sync(const struct kenv_timer *timer);

/* env_work.c */
void posix_work_start(void);
void posix_work_stop(void);
/* Run the work on @cpu's inboxes until they are empty (kworker, or the CPU thread inline). */
void posix_run_inbox(int cpu);
/*
 * Test only: called as kenv_queue_rcu_work() begins, before the work is
 * claimed; the caller may hold a raw lock.
 */
extern void (*_Atomic posix_queue_rcu_work_hook)(void);
#if POSIX_CHECKED
/*
 * Hang dump: the work @t waits for, with its state, and the work it runs
 * with those it took to run next; then (posix_dump_inboxes) what waits on
 * every CPU's inboxes.  Racy reads, bounded walks.
 */
void posix_dump_thread_work(int fd, const struct posix_thread *t);
void posix_dump_inboxes(int fd);
#endif

/* env_rcu.c */
/*
 * Test only: called by the GP thread between taking the queued callbacks and
 * starting the grace period that will invoke them.
 */
extern void (*_Atomic posix_gp_taken_hook)(void);
#if POSIX_CHECKED
/* Hang dump: the GP counter, what is asked of it, and the callbacks' counts. */
void posix_dump_rcu(int fd);
#endif
void posix_rcu_start(void);
void posix_rcu_stop(void);
uint64_t posix_rcu_gps(void);
uint64_t posix_rcu_seq(void);

/* env_page.c */
/* Test only: called by page_get() with the page allocator's mutex held. */
extern void (*_Atomic posix_page_locked_hook)(void);
#if POSIX_CHECKED
/* Hang dump: who holds the page allocator's mutex, if anyone.  Racy read. */
void posix_dump_page_lock(int fd);
#endif
void posix_page_start(void);
void posix_page_stop(void);
void posix_page_stats(struct posix_env_stats *st);

/* env_obj.c */
void posix_obj_start(void);
void posix_obj_stop(void);

#if POSIX_CHECKED
/* env_ctx.c: whether the caller is atomic for an allocation (lock, mask, hardirq, NMI). */
bool posix_alloc_forbidden(void);

/* env_irq.c: interrupts as signals. */
/* Install the handlers and block the interrupt signals in the caller. */
void posix_irq_start(void);
/* Block the interrupt signals in the caller, the old mask into @old. */
void posix_irq_block(sigset_t *old);
/* A CPU thread starts / ends: publish it as the signals' target, unblock / block them. */
void posix_irq_cpu_thread_begin(int cpu);
void posix_irq_cpu_thread_end(int cpu);
/* Deliver interrupts held back by the mask (the caller just turned irqs on). */
void posix_irq_replay(struct posix_thread *t, bool in_signal);
/* Run the irq / NMI handler here, as if one had arrived (chaos injection). */
void posix_irq_inject(struct posix_thread *t);
void posix_nmi_inject(struct posix_thread *t);

/* env_hotplug.c: move a user thread to a random online CPU (chaos). */
void posix_cpu_migrate(struct posix_thread *t);
#endif

#endif /* KVTORTURE_POSIX_ENV_INTERNAL_H */
