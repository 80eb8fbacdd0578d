/* SPDX-License-Identifier: MIT */
/*
 * env_timer.c - timers of the posix environment (the hrtimers of kenv.h, and
 * the timers behind delayed work).
 *
 * kenv_timer_init() lists a timer in a fixed registry that the timer thread
 * scans.  Arming and cancelling are single atomic operations on
 * timer->state, so they work from any context, a signal handler included.
 * A due timer is claimed by one compare-and-swap (a concurrent cancel or
 * re-arm wins or loses there) and its handler runs as a hardirq of the
 * timer's CPU (the first online CPU if that one is offline):
 *
 *   worker mode   on the timer thread, which then hands the softirqs the
 *                 handler raised to their runner (it is not the CPU's
 *                 thread, so its irq exit cannot run them);
 *   inline mode   on the CPU thread: the timer thread only tells it, once
 *                 per expiry, and the CPU thread claims and fires the timer
 *                 at its next preemption point.
 */
#include <stdio.h>

#include "env_internal.h"

#define MAX_TIMERS 4096
/* The longest the timer thread sleeps: an earlier expiry posts timer_wake. */
#define TIMER_IDLE_NS (20u * 1000 * 1000)
/* A handler is a few stores: posix_timer_sync() polls often. */
#define TIMER_SYNC_POLL_NS (10u * 1000)

static struct kenv_timer *_Atomic timer_registry[MAX_TIMERS];
static _Atomic(int) nr_timers;
/* When the timer thread wakes up next; UINT64_MAX while it scans. */
static _Atomic(uint64_t) timer_next_wake;
static sem_t timer_wake;
static pthread_t timer_thr;

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
	/* Release: expires and cpu are visible to whoever sees PENDING. */
	atomic_fetch_or_explicit(&timer->state, POSIX_TIMER_PENDING, memory_order_release);
	/* Earlier than the timer thread's wake-up, or it is scanning: tell it. */
	if (expires < atomic_load(&timer_next_wake))
		sem_post(&timer_wake);
}

bool kenv_timer_cancel(struct kenv_timer *timer)
{
	return atomic_fetch_and(&timer->state, ~POSIX_TIMER_PENDING) & POSIX_TIMER_PENDING;
}

bool kenv_timer_cancel_sync(struct kenv_timer *timer)
{
	bool was = kenv_timer_cancel(timer);

	/* A fire claimed before the cancel may still run its handler. */
	posix_timer_sync(timer);
	return was;
}

bool kenv_timer_pending(const struct kenv_timer *timer)
{
	return atomic_load_explicit(&((struct kenv_timer *)timer)->state, memory_order_relaxed) &
	       POSIX_TIMER_PENDING;
}

/*
 * One fire of @timer has ended.  The implementation may initialise a timer
 * again while a fire of it runs (the kernel's refill kick does, before each
 * hrtimer_start()): that zeroed the count, which must not go below zero.
 */
static void fire_done(struct kenv_timer *timer)
{
	unsigned int s = atomic_load(&timer->state);

	while (s >= POSIX_TIMER_RUNNING_ONE &&
	       !atomic_compare_exchange_weak(&timer->state, &s, s - POSIX_TIMER_RUNNING_ONE))
		;
}

/* Claim @timer if it is due at @now and run it here as a hardirq of @cpu. */
static bool timer_try_fire(struct kenv_timer *timer, int cpu, uint64_t now)
{
	struct posix_thread *self = posix_cur();
	unsigned int s = atomic_load_explicit(&timer->state, memory_order_acquire);

	if (!(s & POSIX_TIMER_PENDING) || __atomic_load_n(&timer->expires, __ATOMIC_RELAXED) > now)
		return false;
	if (!atomic_compare_exchange_strong(&timer->state, &s,
					    (s & ~POSIX_TIMER_PENDING) + POSIX_TIMER_RUNNING_ONE))
		return false;
	atomic_store_explicit(&self->cpu, cpu, memory_order_relaxed);
	posix_frame_push(KENV_CTX_HARDIRQ);
	timer->func(timer);
	posix_frame_pop();
	fire_done(timer);
	atomic_fetch_add_explicit(&posix_stat_timers, 1, memory_order_relaxed);
	return true;
}

void posix_timer_sync(const struct kenv_timer *timer)
{
#if POSIX_CHECKED
	/* What a hang dump shows for a canceller that waits here. */
	atomic_store(&posix_cur()->last_site, "timer_sync");
#endif
	while ((atomic_load(&((struct kenv_timer *)timer)->state) & ~POSIX_TIMER_PENDING) &&
	       !atomic_load(&posix_stopping))
		posix_sleep_ns(TIMER_SYNC_POLL_NS);
}

static int timer_cpu(const struct kenv_timer *timer)
{
	return posix_effective_cpu(__atomic_load_n(&timer->cpu, __ATOMIC_RELAXED));
}

void posix_run_cpu_timers(int cpu)
{
	uint64_t now = kenv_clock_ns();
	int n = atomic_load(&nr_timers);

	for (int i = 0; i < n && i < MAX_TIMERS; i++) {
		struct kenv_timer *timer = atomic_load(&timer_registry[i]);

		if (timer && timer_cpu(timer) == cpu)
			timer_try_fire(timer, cpu, now);
	}
}

/* One expired timer, seen by the timer thread at @now. */
static void timer_expired(struct kenv_timer *timer, uint64_t exp, uint64_t now)
{
	int cpu = timer_cpu(timer);

	if (posix_cfg.reclaim == POSIX_RECLAIM_INLINE) {
		/* Tell the CPU once per expiry; from then on it is its timer. */
		if ((uintptr_t)timer->env_priv != exp) {
			timer->env_priv = (void *)(uintptr_t)exp;
			posix_cpu_post(cpu, POSIX_PEND_TIMER);
		}
		return;
	}
	/* irq exit on another thread: the softirqs' runner takes what was raised. */
	if (timer_try_fire(timer, cpu, now) && atomic_load(&posix_cpus[cpu].softirq_pending))
		posix_softirq_kick(cpu);
}

/* Scan the registry at @now; returns when the next timer is due. */
static uint64_t timer_scan(uint64_t now)
{
	uint64_t next = now + TIMER_IDLE_NS;
	int n = atomic_load(&nr_timers);

	for (int i = 0; i < n && i < MAX_TIMERS; i++) {
		struct kenv_timer *timer = atomic_load(&timer_registry[i]);
		uint64_t exp;

		if (!timer || !(atomic_load(&timer->state) & POSIX_TIMER_PENDING))
			continue;
		exp = __atomic_load_n(&timer->expires, __ATOMIC_RELAXED);
		if (exp <= now)
			timer_expired(timer, exp, now);
		else if (exp < next)
			next = exp;
	}
	return next;
}

static void *timer_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&posix_stopping)) {
		uint64_t next = timer_scan(kenv_clock_ns());
		uint64_t now;

		atomic_store(&timer_next_wake, next);
		now = kenv_clock_ns();
		if (next > now)
			posix_sem_wait_ns(&timer_wake, next - now);
		/* From now on armers post: they may race with the scan. */
		atomic_store(&timer_next_wake, UINT64_MAX);
	}
	return NULL;
}

void posix_timer_start(void)
{
	/* A new run: the timers of the last one are gone. */
	for (int i = 0; i < MAX_TIMERS; i++)
		atomic_store(&timer_registry[i], NULL);
	atomic_store(&nr_timers, 0);
	atomic_store(&timer_next_wake, UINT64_MAX);
	if (sem_init(&timer_wake, 0, 0))
		KENV_DIE("sem_init");
	posix_thread_create(&timer_thr, "timer", POSIX_ROLE_ENV, 0, timer_main, NULL);
}

void posix_timer_stop(void)
{
	sem_post(&timer_wake);
	pthread_join(timer_thr, NULL);
	sem_destroy(&timer_wake);
}
