// SPDX-License-Identifier: MIT
/*
 * benv_work.c - timers, work queues and RCU of the timing environment.
 *
 * Timers live in a registry that the timer thread scans.  In worker mode it
 * fires a due timer itself, as a hardirq of the timer's CPU; in inline mode it
 * only tells that CPU's thread (once per expiry), which claims and runs the
 * timer at its next point, so a cancel made meanwhile still wins.
 *
 * Work: work->state holds PENDING (queued, or waiting for its timer or GP),
 * RUNNING, TIMER (the delayed work's timer has yet to queue it), CANCEL, and
 * above WORK_GEN_SHIFT a generation bumped at each queueing; work->seq is the
 * generation of the last completed run, which flush waits for.  Whoever makes
 * a work PENDING pushes it on a CPU's lock-free inbox; a work re-queued while
 * it runs goes to the CPU running it, so it never runs concurrently with
 * itself.
 *
 * RCU: the GP thread keeps a kernel-style sequence counter, odd while a GP
 * runs: it takes the queued callbacks, makes the counter odd, runs one
 * urcu_memb_synchronize_rcu(), makes it even, then invokes the callbacks in
 * softirq context.  A cookie is the counter value at which a GP that began
 * after the cookie was taken has ended ((s + 3) & ~1).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include "benv_internal.h"

#define TIMER_PENDING 1u
#define TIMER_RUNNING 2u

#define WORK_PENDING 1u
#define WORK_RUNNING 2u
#define WORK_TIMER 4u
#define WORK_CANCEL 8u
#define WORK_GEN_SHIFT 8
#define WORK_GEN_MASK 0xffffffu

#define MAX_TIMERS 512
#define IDLE_WAIT_NS (20u * 1000 * 1000)
#define FLUSH_POLL_NS (100u * 1000)

static struct kenv_timer *_Atomic timers[MAX_TIMERS];
static _Atomic(int) nr_timers;
static _Atomic(uint64_t) timer_next_wake;
static sem_t timer_wake;
static pthread_t timer_thr;

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
	/* Re-initialising a timer (exit, then init again) keeps its slot. */
	for (int i = 0; i < n && i < MAX_TIMERS; i++)
		if (atomic_load(&timers[i]) == timer)
			return;
	n = atomic_fetch_add(&nr_timers, 1);
	if (n >= MAX_TIMERS)
		KENV_DIE("too many timers");
	atomic_store(&timers[n], timer);
}

void kenv_timer_start(struct kenv_timer *timer, uint64_t delay_ns)
{
	uint64_t expires = kenv_clock_ns() + delay_ns;

	__atomic_store_n(&timer->expires, expires, __ATOMIC_RELAXED);
	__atomic_store_n(&timer->cpu, kenv_cpu(), __ATOMIC_RELAXED);
	/* Release: expires and cpu are visible to whoever sees PENDING. */
	atomic_fetch_or_explicit(&timer->state, TIMER_PENDING, memory_order_release);
	/* Earlier than the timer thread's wake-up, or it is scanning (UINT64_MAX). */
	if (expires < atomic_load(&timer_next_wake))
		sem_post(&timer_wake);
}

bool kenv_timer_cancel(struct kenv_timer *timer)
{
	return atomic_fetch_and(&timer->state, ~TIMER_PENDING) & TIMER_PENDING;
}

/* Claim an expired @timer (a concurrent cancel or re-arm wins or loses here) and run it. */
static void timer_try_fire(struct kenv_timer *timer, int cpu, uint64_t now)
{
	struct benv_thread *self = benv_cur();
	unsigned int s = atomic_load_explicit(&timer->state, memory_order_acquire);

	if (!(s & TIMER_PENDING) || __atomic_load_n(&timer->expires, __ATOMIC_RELAXED) > now)
		return;
	if (!atomic_compare_exchange_strong(&timer->state, &s,
					    (s & ~TIMER_PENDING) | TIMER_RUNNING))
		return;
	self->cpu = cpu;
	benv_frame_push(KENV_CTX_HARDIRQ);
	timer->func(timer);
	benv_frame_pop();
	atomic_fetch_and(&timer->state, ~TIMER_RUNNING);
	atomic_fetch_add_explicit(&benv_stat_timers, 1, memory_order_relaxed);
}

void benv_run_cpu_timers(int cpu)
{
	uint64_t now = kenv_clock_ns();
	int n = atomic_load(&nr_timers);

	for (int i = 0; i < n && i < MAX_TIMERS; i++) {
		struct kenv_timer *timer = atomic_load(&timers[i]);

		if (timer && __atomic_load_n(&timer->cpu, __ATOMIC_RELAXED) == cpu)
			timer_try_fire(timer, cpu, now);
	}
}

static void *timer_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&benv_stopping)) {
		uint64_t now = kenv_clock_ns();
		uint64_t next = now + IDLE_WAIT_NS;
		int n = atomic_load(&nr_timers);

		for (int i = 0; i < n && i < MAX_TIMERS; i++) {
			struct kenv_timer *timer = atomic_load(&timers[i]);
			uint64_t exp;
			int cpu;

			if (!timer || !(atomic_load(&timer->state) & TIMER_PENDING))
				continue;
			exp = __atomic_load_n(&timer->expires, __ATOMIC_RELAXED);
			cpu = __atomic_load_n(&timer->cpu, __ATOMIC_RELAXED);
			if (benv_cfg.reclaim == BENV_RECLAIM_INLINE) {
				/* Tell the CPU once per expiry; from then on it is its timer. */
				if ((uintptr_t)timer->env_priv == exp)
					continue;
				if (exp <= now) {
					timer->env_priv = (void *)(uintptr_t)exp;
					benv_cpu_post(cpu, BENV_PEND_TIMER);
					continue;
				}
			} else if (exp <= now) {
				timer_try_fire(timer, cpu, now);
				/* irq exit on another thread: the CPU runs what was raised. */
				if (atomic_load(&benv_cpus[cpu].softirq_mask))
					benv_cpu_post(cpu, BENV_PEND_SOFTIRQ);
				continue;
			}
			if (exp < next)
				next = exp;
		}
		atomic_store(&timer_next_wake, next);
		now = kenv_clock_ns();
		if (next > now)
			benv_sem_wait_ns(&timer_wake, next - now);
		/* Armers from now on post: they may race with the scan. */
		atomic_store(&timer_next_wake, UINT64_MAX);
	}
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Work
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

/* Push a work the caller made PENDING on @cpu's inbox, and wake its runner. */
static void work_push(struct kenv_work *work, int cpu)
{
	struct benv_cpu *c;
	struct kenv_work *old;

	if (atomic_load(&work->state) & WORK_RUNNING)
		cpu = __atomic_load_n(&work->cpu, __ATOMIC_RELAXED);
	__atomic_store_n(&work->cpu, cpu, __ATOMIC_RELAXED);
	c = &benv_cpus[cpu];
	old = atomic_load(&c->inbox);
	/* Release: the queuer's writes happen before the work function runs. */
	do {
		work->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&c->inbox, &old, work,
							 memory_order_release,
							 memory_order_relaxed));
	if (benv_cfg.reclaim == BENV_RECLAIM_INLINE)
		benv_cpu_post(cpu, BENV_PEND_WORK);
	else if (atomic_load(&c->worker_idle))
		sem_post(&c->worker_wake);
}

/* Make @work PENDING (plus @extra), bumping its generation; false if it already was. */
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

	/* Only the taker of TIMER queues: a stale expiry finds it clear. */
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
		/* Still waiting for its timer: move the expiry. */
		if (s & WORK_TIMER)
			kenv_timer_start(&dwork->timer, delay_ns);
		return true;
	}
	return !kenv_queue_delayed_work(wq, dwork, delay_ns);
}

bool kenv_delayed_work_pending(const struct kenv_delayed_work *dwork)
{
	return atomic_load(&((struct kenv_delayed_work *)dwork)->work.state) & WORK_PENDING;
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
	unsigned int s = atomic_load(&work->state);

	if (!(s & (WORK_PENDING | WORK_RUNNING)))
		return;
	while (!gen_reached(work, (s >> WORK_GEN_SHIFT) & WORK_GEN_MASK) &&
	       !atomic_load(&benv_stopping))
		benv_sleep_ns(FLUSH_POLL_NS);
}

bool kenv_cancel_delayed_work_sync(struct kenv_delayed_work *dwork)
{
	struct kenv_work *work = &dwork->work;
	bool was_pending = false;
	unsigned int s;

	kenv_timer_cancel(&dwork->timer);
	s = atomic_fetch_and(&work->state, ~WORK_TIMER);
	if (s & WORK_TIMER) {
		/* We took TIMER: nobody pushed it, so the pending instance is ours to drop. */
		atomic_fetch_and(&work->state, ~WORK_PENDING);
		was_pending = true;
	} else if (s & WORK_PENDING) {
		/* On an inbox already: its runner drops it. */
		atomic_fetch_or(&work->state, WORK_CANCEL);
		was_pending = true;
	}
	while ((atomic_load(&work->state) & (WORK_PENDING | WORK_RUNNING)) &&
	       !atomic_load(&benv_stopping))
		benv_sleep_ns(FLUSH_POLL_NS);
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
	return atomic_load(&((struct kenv_rcu_work *)rwork)->work.state) &
	       (WORK_PENDING | WORK_RUNNING);
}

static void run_work(struct kenv_work *work, int cpu)
{
	struct benv_thread *self = benv_cur();
	unsigned int s = atomic_load(&work->state);
	unsigned int gen;

	do {
		if (s & WORK_CANCEL) {
			atomic_fetch_and(&work->state, ~(WORK_PENDING | WORK_CANCEL));
			return;
		}
	} while (!atomic_compare_exchange_weak(&work->state, &s,
					       (s & ~WORK_PENDING) | WORK_RUNNING));
	gen = (s >> WORK_GEN_SHIFT) & WORK_GEN_MASK;
	self->cpu = cpu;
	benv_frame_push(KENV_CTX_KTHREAD);
	work->func(work);
	benv_frame_pop();
	/* Release: what the function did is visible to whoever flush saw finish. */
	__atomic_store_n(&work->seq, gen, __ATOMIC_RELEASE);
	atomic_fetch_and(&work->state, ~WORK_RUNNING);
	atomic_fetch_add_explicit(&benv_stat_works, 1, memory_order_relaxed);
}

void benv_run_inbox(int cpu)
{
	struct benv_cpu *c = &benv_cpus[cpu];
	struct kenv_work *list;

	while ((list = atomic_exchange_explicit(&c->inbox, NULL, memory_order_acquire))) {
		struct kenv_work *rev = NULL;

		/* LIFO inbox: reverse to run in queue order. */
		while (list) {
			struct kenv_work *next = list->next;

			list->next = rev;
			rev = list;
			list = next;
		}
		while (rev) {
			struct kenv_work *next = rev->next;

			run_work(rev, cpu);
			rev = next;
		}
	}
}

static void *kworker_main(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct benv_cpu *c = &benv_cpus[cpu];

	while (!atomic_load(&benv_stopping)) {
		atomic_store(&c->worker_idle, true);
		if (!atomic_load(&c->inbox))
			benv_sem_wait_ns(&c->worker_wake, IDLE_WAIT_NS);
		atomic_store(&c->worker_idle, false);
		benv_run_inbox(cpu);
	}
	return NULL;
}

void benv_work_start(void)
{
	atomic_store(&nr_timers, 0);
	for (int i = 0; i < MAX_TIMERS; i++)
		atomic_store(&timers[i], NULL);
	atomic_store(&timer_next_wake, UINT64_MAX);
	if (sem_init(&timer_wake, 0, 0))
		KENV_DIE("sem_init");
	benv_thread_create(&timer_thr, BENV_ROLE_ENV, 0, timer_main, NULL);
	if (benv_cfg.reclaim != BENV_RECLAIM_WORKER)
		return;
	for (int cpu = 0; cpu < benv_cfg.nr_cpus; cpu++)
		benv_thread_create(&benv_cpus[cpu].worker_thr, BENV_ROLE_KWORKER, cpu,
				   kworker_main, (void *)(intptr_t)cpu);
}

void benv_work_stop(void)
{
	sem_post(&timer_wake);
	pthread_join(timer_thr, NULL);
	sem_destroy(&timer_wake);
	if (benv_cfg.reclaim != BENV_RECLAIM_WORKER)
		return;
	for (int cpu = 0; cpu < benv_cfg.nr_cpus; cpu++) {
		sem_post(&benv_cpus[cpu].worker_wake);
		pthread_join(benv_cpus[cpu].worker_thr, NULL);
	}
}

/* ---------------------------------------------------------------------------
 * RCU
 */

static _Atomic(unsigned long) gp_seq;
static _Atomic(uint64_t) gp_count;
static _Atomic(unsigned long) gp_wanted;
static _Atomic(bool) gp_idle;
static sem_t gp_wake;
static pthread_t gp_thr;

static struct kenv_rcu_head *_Atomic cb_inbox;
static _Atomic(uint64_t) cb_queued, cb_done;

static pthread_mutex_t gp_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gp_cond = PTHREAD_COND_INITIALIZER;
static _Atomic(int) gp_sleepers;

static bool seq_passed(unsigned long seq, unsigned long cookie)
{
	return (long)(seq - cookie) >= 0;
}

static unsigned long cookie_now(void)
{
	return (atomic_load(&gp_seq) + 3) & ~1UL;
}

static void gp_request(unsigned long cookie)
{
	unsigned long w = atomic_load(&gp_wanted);

	while (!seq_passed(w, cookie) && !atomic_compare_exchange_weak(&gp_wanted, &w, cookie))
		;
	if (atomic_load(&gp_idle))
		sem_post(&gp_wake);
}

unsigned long kenv_get_state_synchronize_rcu(void)
{
	unsigned long cookie = cookie_now();

	if (benv_cfg.gp_on_get_state)
		gp_request(cookie);
	return cookie;
}

bool kenv_poll_state_synchronize_rcu(unsigned long cookie)
{
	return seq_passed(atomic_load(&gp_seq), cookie);
}

void kenv_rcu_read_lock(void)
{
	urcu_memb_read_lock();
	benv_cur()->rcu_nest++;
}

void kenv_rcu_read_unlock(void)
{
	benv_cur()->rcu_nest--;
	urcu_memb_read_unlock();
}

void kenv_call_rcu(struct kenv_rcu_head *head, void (*func)(struct kenv_rcu_head *))
{
	struct kenv_rcu_head *old = atomic_load(&cb_inbox);

	head->func = func;
	atomic_fetch_add(&cb_queued, 1);
	/* Release: the callback's state is visible to the GP thread that takes it. */
	do {
		head->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&cb_inbox, &old, head,
							 memory_order_release,
							 memory_order_relaxed));
	gp_request(cookie_now());
}

static void wait_until(bool (*done)(uint64_t), uint64_t arg)
{
	pthread_mutex_lock(&gp_mutex);
	atomic_fetch_add(&gp_sleepers, 1);
	while (!done(arg) && !atomic_load(&benv_stopping)) {
		struct timespec ts;

		/* Bounded: also covers a broadcast that raced with our check. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 5 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&gp_cond, &gp_mutex, &ts);
	}
	atomic_fetch_sub(&gp_sleepers, 1);
	pthread_mutex_unlock(&gp_mutex);
}

static bool cookie_done(uint64_t cookie)
{
	return kenv_poll_state_synchronize_rcu((unsigned long)cookie);
}

static bool callbacks_done(uint64_t target)
{
	return atomic_load(&cb_done) >= target;
}

void kenv_synchronize_rcu(void)
{
	unsigned long cookie = cookie_now();

	gp_request(cookie);
	wait_until(cookie_done, cookie);
}

void kenv_rcu_barrier(void)
{
	uint64_t target = atomic_load(&cb_queued);

	gp_request(cookie_now());
	wait_until(callbacks_done, target);
}

static void run_callbacks(struct kenv_rcu_head *list)
{
	struct benv_thread *self = benv_cur();
	struct kenv_rcu_head *rev = NULL;
	uint64_t n = 0;

	while (list) {
		struct kenv_rcu_head *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	benv_frame_push(KENV_CTX_SOFTIRQ);
	self->bh++;
	while (rev) {
		struct kenv_rcu_head *next = rev->next;

		rev->func(rev);
		rev = next;
		n++;
	}
	self->bh--;
	benv_frame_pop();
	atomic_fetch_add(&benv_stat_cbs, n);
	atomic_fetch_add(&cb_done, n);
}

static void *gp_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&benv_stopping)) {
		struct kenv_rcu_head *batch;

		if (seq_passed(atomic_load(&gp_seq), atomic_load(&gp_wanted))) {
			atomic_store(&gp_idle, true);
			/* Re-check after announcing the sleep: a request may have raced. */
			if (seq_passed(atomic_load(&gp_seq), atomic_load(&gp_wanted)))
				benv_sem_wait_ns(&gp_wake, IDLE_WAIT_NS);
			atomic_store(&gp_idle, false);
			continue;
		}
		/* Callbacks queued before the counter goes odd wait for this GP. */
		batch = atomic_exchange_explicit(&cb_inbox, NULL, memory_order_acquire);
		atomic_fetch_add(&gp_seq, 1);
		urcu_memb_synchronize_rcu();
		atomic_fetch_add(&gp_seq, 1);
		atomic_fetch_add(&gp_count, 1);
		if (batch)
			run_callbacks(batch);
		if (atomic_load(&gp_sleepers)) {
			pthread_mutex_lock(&gp_mutex);
			pthread_cond_broadcast(&gp_cond);
			pthread_mutex_unlock(&gp_mutex);
		}
	}
	return NULL;
}

void benv_rcu_start(void)
{
	atomic_store(&cb_inbox, NULL);
	atomic_store(&cb_queued, 0);
	atomic_store(&cb_done, 0);
	atomic_store(&gp_count, 0);
	atomic_store(&gp_wanted, atomic_load(&gp_seq));
	if (sem_init(&gp_wake, 0, 0))
		KENV_DIE("sem_init");
	benv_thread_create(&gp_thr, BENV_ROLE_ENV, 0, gp_main, NULL);
}

void benv_rcu_stop(void)
{
	sem_post(&gp_wake);
	pthread_join(gp_thr, NULL);
	sem_destroy(&gp_wake);
}

uint64_t benv_rcu_gps(void)
{
	return atomic_load(&gp_count);
}
