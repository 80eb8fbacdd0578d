/* SPDX-License-Identifier: MIT */
/*
 * env_work.c - timers, work queues, delayed work and rcu_work of the posix
 * environment.
 *
 * Timers: kenv_timer_init() lists the timer in a fixed registry; the timer
 * thread scans it, and fires a due timer by running its handler as a hardirq
 * of the timer's CPU (the first online CPU if that one is offline).  Arming
 * and cancelling are single atomic operations on timer->state, so they work
 * from any context, a signal handler included.
 *
 * Work: each CPU has one kworker serving both queues (highpri first).
 * work->state holds PENDING (queued or waiting for its timer or GP), RUNNING,
 * TIMER (a delayed work's timer still has to queue it), CANCEL, and above
 * WORK_GEN_SHIFT a generation bumped at each queueing; work->seq is the
 * generation of the last completed run, which is what flush waits for.  A
 * work is pushed on a lock-free per-CPU inbox by whoever made it PENDING, and
 * never runs concurrently with itself: re-queued while running, it goes to
 * the kworker already running it.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

#include "env_internal.h"

#define TIMER_PENDING 1u
#define TIMER_RUNNING 2u

#define WORK_PENDING 1u
#define WORK_RUNNING 2u
#define WORK_TIMER 4u
#define WORK_CANCEL 8u
#define WORK_GEN_SHIFT 8
#define WORK_GEN_MASK 0xffffffu

#define MAX_TIMERS 4096

static struct kenv_timer *_Atomic timer_registry[MAX_TIMERS];
static _Atomic(int) nr_timers;
static _Atomic(uint64_t) timer_next_wake;
static sem_t timer_wake;
static pthread_t timer_thr;
static pthread_t kworker_thr[KENV_NR_CPUS_MAX];

static void sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------------------
 * Timers
 */

void kenv_timer_init(struct kenv_timer *timer, kenv_timer_fn func)
{
	int n = atomic_load(&nr_timers);

	timer->func = func;
	timer->expires = 0;
	atomic_store(&timer->state, 0);
	timer->cpu = 0;
	timer->next = NULL;
	timer->env_priv = NULL;
	/* Re-initialising a timer (the implementation's exit and init) keeps its slot. */
	for (int i = 0; i < n && i < MAX_TIMERS; i++)
		if (atomic_load(&timer_registry[i]) == timer)
			return;
	n = atomic_fetch_add(&nr_timers, 1);
	if (n >= MAX_TIMERS)
		KENV_DIE("too many timers");
	atomic_store(&timer_registry[n], timer);
}

void kenv_timer_start(struct kenv_timer *timer, uint64_t delay_ns)
{
	uint64_t expires = kenv_clock_ns() + delay_ns;

	__atomic_store_n(&timer->expires, expires, __ATOMIC_RELAXED);
	__atomic_store_n(&timer->cpu, kenv_cpu(), __ATOMIC_RELAXED);
	/* Release: expires and cpu are visible to the timer thread that sees PENDING. */
	atomic_fetch_or_explicit(&timer->state, TIMER_PENDING, memory_order_release);
	if (expires < atomic_load_explicit(&timer_next_wake, memory_order_relaxed))
		sem_post(&timer_wake);
}

bool kenv_timer_cancel(struct kenv_timer *timer)
{
	return atomic_fetch_and(&timer->state, ~TIMER_PENDING) & TIMER_PENDING;
}

static void timer_fire(struct posix_thread *self, struct kenv_timer *timer)
{
	int cpu = posix_effective_cpu(__atomic_load_n(&timer->cpu, __ATOMIC_RELAXED));

	atomic_store(&self->cpu, cpu);
	posix_frame_push(KENV_CTX_HARDIRQ);
	timer->func(timer);
	posix_frame_pop();
	atomic_fetch_and(&timer->state, ~TIMER_RUNNING);
	atomic_fetch_add(&posix_stat_timers, 1);
	/* irq exit: this is not the CPU's thread, so its ksoftirqd runs what was raised. */
	if (atomic_load(&posix_cpus[cpu].softirq_pending))
		sem_post(&posix_cpus[cpu].ksoftirqd_wake);
}

static void *timer_main(void *arg)
{
	struct posix_thread *self = posix_cur();

	(void)arg;
	while (!atomic_load(&posix_stopping)) {
		uint64_t now = kenv_clock_ns();
		uint64_t next = now + 10 * 1000 * 1000;
		int n = atomic_load(&nr_timers);
		struct timespec ts;
		uint64_t wait;

		for (int i = 0; i < n && i < MAX_TIMERS; i++) {
			struct kenv_timer *timer = atomic_load(&timer_registry[i]);
			unsigned int s;
			uint64_t exp;

			if (!timer)
				continue;
			s = atomic_load_explicit(&timer->state, memory_order_acquire);
			if (!(s & TIMER_PENDING))
				continue;
			exp = __atomic_load_n(&timer->expires, __ATOMIC_RELAXED);
			if (exp > now) {
				if (exp < next)
					next = exp;
				continue;
			}
			/* Claim the expiry; a concurrent cancel or re-arm wins or loses here. */
			if (atomic_compare_exchange_strong(&timer->state, &s,
							   (s & ~TIMER_PENDING) | TIMER_RUNNING))
				timer_fire(self, timer);
		}
		atomic_store(&timer_next_wake, next);
		now = kenv_clock_ns();
		if (next <= now)
			continue;
		wait = next - now;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)wait;
		while (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		sem_timedwait(&timer_wake, &ts);
		/* Armers raced with the computation of next: they posted; we rescan. */
		atomic_store(&timer_next_wake, 0);
	}
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Work queues
 */

void kenv_work_init(struct kenv_work *work, kenv_work_fn func)
{
	work->func = func;
	atomic_store(&work->state, 0);
	work->cpu = 0;
	work->wq = KENV_WQ_RECLAIM;
	work->next = NULL;
	work->seq = 0;
	work->env_priv = NULL;
}

static void dwork_timer_fn(struct kenv_timer *timer);

void kenv_delayed_work_init(struct kenv_delayed_work *dwork, kenv_work_fn func)
{
	kenv_work_init(&dwork->work, func);
	kenv_timer_init(&dwork->timer, dwork_timer_fn);
}

void kenv_rcu_work_init(struct kenv_rcu_work *rwork, kenv_work_fn func)
{
	kenv_work_init(&rwork->work, func);
	rwork->wq = KENV_WQ_RECLAIM;
}

/* Push a PENDING work (the caller made it so) on a kworker's inbox. */
static void work_push(struct kenv_work *work, int cpu)
{
	struct posix_cpu *c;
	struct kenv_work *old;

	/* Non-reentrancy: a work still running goes to the kworker running it. */
	if (atomic_load(&work->state) & WORK_RUNNING)
		cpu = __atomic_load_n(&work->cpu, __ATOMIC_RELAXED);
	__atomic_store_n(&work->cpu, cpu, __ATOMIC_RELAXED);
	c = &posix_cpus[cpu];
	old = atomic_load(&c->wq_inbox[work->wq]);
	/* Release: the queuer's writes happen before the work function runs. */
	do {
		work->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&c->wq_inbox[work->wq], &old, work,
							 memory_order_release,
							 memory_order_relaxed));
	sem_post(&c->kworker_wake);
}

/* Make @work PENDING (plus @extra) and bump its generation; false if it already was. */
static bool work_claim(struct kenv_work *work, unsigned int extra)
{
	unsigned int s = atomic_load(&work->state);
	unsigned int ns;

	do {
		if (s & WORK_PENDING)
			return false;
		ns = ((s & ~WORK_CANCEL) | WORK_PENDING | extra) + (1u << WORK_GEN_SHIFT);
	} while (!atomic_compare_exchange_weak(&work->state, &s, ns));
	return true;
}

bool kenv_queue_work(enum kenv_wq wq, struct kenv_work *work)
{
	if (!work_claim(work, 0))
		return false;
	work->wq = wq;
	work_push(work, kenv_cpu());
	return true;
}

static void dwork_timer_fn(struct kenv_timer *timer)
{
	struct kenv_delayed_work *dwork = (struct kenv_delayed_work *)
		((char *)timer - offsetof(struct kenv_delayed_work, timer));

	/* Only the holder of TIMER queues: a stale re-armed expiry finds it clear. */
	if (atomic_fetch_and(&dwork->work.state, ~WORK_TIMER) & WORK_TIMER)
		work_push(&dwork->work, kenv_cpu());
}

bool kenv_queue_delayed_work(enum kenv_wq wq, struct kenv_delayed_work *dwork,
			     uint64_t delay_ns)
{
	if (!delay_ns)
		return kenv_queue_work(wq, &dwork->work);
	if (!work_claim(&dwork->work, WORK_TIMER))
		return false;
	dwork->work.wq = wq;
	kenv_timer_start(&dwork->timer, delay_ns);
	return true;
}

bool kenv_mod_delayed_work(enum kenv_wq wq, struct kenv_delayed_work *dwork,
			   uint64_t delay_ns)
{
	unsigned int s = atomic_load(&dwork->work.state);

	if (s & WORK_PENDING) {
		/* Still waiting for its timer: move the expiry (a late fire is ignored). */
		if (s & WORK_TIMER)
			kenv_timer_start(&dwork->timer, delay_ns);
		return true;
	}
	return !kenv_queue_delayed_work(wq, dwork, delay_ns);
}

bool kenv_delayed_work_pending(const struct kenv_delayed_work *dwork)
{
	return atomic_load(&dwork->work.state) & WORK_PENDING;
}

uint64_t kenv_delayed_work_expires(const struct kenv_delayed_work *dwork)
{
	return __atomic_load_n(&dwork->timer.expires, __ATOMIC_RELAXED);
}

static bool gen_reached(const struct kenv_work *work, unsigned int gen)
{
	unsigned int done = (unsigned int)__atomic_load_n(&work->seq, __ATOMIC_ACQUIRE);

	return ((done - gen) & WORK_GEN_MASK) < (WORK_GEN_MASK + 1) / 2;
}

void kenv_flush_work(struct kenv_work *work)
{
	unsigned int s;

	check_might_sleep("flush_work");
	s = atomic_load(&work->state);
	if (!(s & (WORK_PENDING | WORK_RUNNING)))
		return;
	while (!gen_reached(work, (s >> WORK_GEN_SHIFT) & WORK_GEN_MASK) &&
	       !atomic_load(&posix_stopping))
		sleep_us(50);
}

bool kenv_cancel_delayed_work_sync(struct kenv_delayed_work *dwork)
{
	struct kenv_work *work = &dwork->work;
	bool was_pending = false;
	unsigned int s;

	check_might_sleep("cancel_delayed_work_sync");
	kenv_timer_cancel(&dwork->timer);
	s = atomic_fetch_and(&work->state, ~WORK_TIMER);
	if (s & WORK_TIMER) {
		/* We took TIMER: nobody pushed it, so the pending instance is ours to drop. */
		atomic_fetch_and(&work->state, ~WORK_PENDING);
		was_pending = true;
	} else if (s & WORK_PENDING) {
		/* Already on an inbox: the kworker drops it when it gets there. */
		atomic_fetch_or(&work->state, WORK_CANCEL);
		was_pending = true;
	}
	while ((atomic_load(&work->state) & (WORK_PENDING | WORK_RUNNING)) &&
	       !atomic_load(&posix_stopping))
		sleep_us(50);
	return was_pending;
}

static void rwork_gp_cb(struct kenv_rcu_head *head)
{
	struct kenv_rcu_work *rwork = (struct kenv_rcu_work *)
		((char *)head - offsetof(struct kenv_rcu_work, rcu));

	work_push(&rwork->work, __atomic_load_n(&rwork->work.cpu, __ATOMIC_RELAXED));
}

bool kenv_queue_rcu_work(enum kenv_wq wq, struct kenv_rcu_work *rwork)
{
	if (!work_claim(&rwork->work, 0))
		return false;
	rwork->wq = wq;
	rwork->work.wq = wq;
	__atomic_store_n(&rwork->work.cpu, kenv_cpu(), __ATOMIC_RELAXED);
	kenv_call_rcu(&rwork->rcu, rwork_gp_cb);
	return true;
}

void kenv_flush_rcu_work(struct kenv_rcu_work *rwork)
{
	kenv_flush_work(&rwork->work);
}

bool kenv_rcu_work_busy(const struct kenv_rcu_work *rwork)
{
	return atomic_load(&rwork->work.state) & (WORK_PENDING | WORK_RUNNING);
}

static void run_work(struct posix_thread *self, struct kenv_work *work, int cpu)
{
	unsigned int s = atomic_load(&work->state);
	unsigned int gen;

	for (;;) {
		if (s & WORK_CANCEL) {
			atomic_fetch_and(&work->state, ~(WORK_PENDING | WORK_CANCEL));
			return;
		}
		/*
		 * Non-reentrant, like the kernel's work queues: an instance queued
		 * again while the previous one still runs (on another kworker)
		 * waits for it.  Otherwise the new instance could finish first and
		 * satisfy a flush (kvfree_rcu_barrier() flushes the batch work)
		 * while the old one is still freeing what it took.
		 */
		if (s & WORK_RUNNING) {
			sleep_us(20);
			s = atomic_load(&work->state);
			continue;
		}
		if (atomic_compare_exchange_weak(&work->state, &s,
						 (s & ~WORK_PENDING) | WORK_RUNNING))
			break;
	}
	gen = (s >> WORK_GEN_SHIFT) & WORK_GEN_MASK;
	atomic_store(&self->cpu, posix_effective_cpu(cpu));
	atomic_store(&self->last_site, "work");
	work->func(work);
	/* Release: what the function did is visible to whoever flush saw finish. */
	__atomic_store_n(&work->seq, gen, __ATOMIC_RELEASE);
	atomic_fetch_and(&work->state, ~WORK_RUNNING);
	atomic_fetch_add(&posix_stat_works, 1);
}

static void *kworker_main(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct posix_cpu *c = &posix_cpus[cpu];
	struct posix_thread *self = posix_cur();

	while (!atomic_load(&posix_stopping)) {
		struct timespec ts;
		bool ran;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		sem_timedwait(&c->kworker_wake, &ts);
		do {
			ran = false;
			for (int wq = KENV_WQ_HIGHPRI;; wq = KENV_WQ_RECLAIM) {
				struct kenv_work *list, *rev = NULL;

				list = atomic_exchange_explicit(&c->wq_inbox[wq], NULL,
								memory_order_acquire);
				/* LIFO inbox: reverse to run in queue order. */
				while (list) {
					struct kenv_work *next = list->next;

					list->next = rev;
					rev = list;
					list = next;
				}
				while (rev) {
					struct kenv_work *next = rev->next;

					run_work(self, rev, cpu);
					rev = next;
					ran = true;
				}
				if (wq == KENV_WQ_RECLAIM)
					break;
			}
			kenv_sched_point("kworker");
		} while (ran);
	}
	return NULL;
}

void posix_work_start(void)
{
	char name[32];

	if (sem_init(&timer_wake, 0, 0))
		KENV_DIE("sem_init");
	atomic_store(&timer_next_wake, 0);
	posix_thread_create(&timer_thr, "timer", POSIX_ROLE_ENV, 0, timer_main, NULL);
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		snprintf(name, sizeof(name), "cpu%d/kworker", cpu);
		posix_thread_create(&kworker_thr[cpu], name, POSIX_ROLE_KWORKER, cpu,
				    kworker_main, (void *)(intptr_t)cpu);
	}
}

void posix_work_stop(void)
{
	sem_post(&timer_wake);
	pthread_join(timer_thr, NULL);
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		sem_post(&posix_cpus[cpu].kworker_wake);
		pthread_join(kworker_thr[cpu], NULL);
	}
}
