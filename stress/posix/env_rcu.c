/* SPDX-License-Identifier: MIT */
/*
 * env_rcu.c - grace periods, polled cookies, call_rcu and rcu_barrier of the
 * posix environment, on liburcu (memb flavor).
 *
 * liburcu 0.13 has no polled API, so the GP thread keeps a kernel-style
 * sequence counter: it makes the counter odd (a GP started), runs one
 * urcu_memb_synchronize_rcu() (every reader that began before has left), and
 * makes it even again (ended).  A cookie is the counter value at which a full
 * GP that began after the cookie was taken has ended:
 *   idle (even s): the next GP, which ends at s + 2;
 *   in progress (odd s): that GP may have begun before us, so the one after,
 *   ending at s + 3.
 * The checker hears of each GP with the counter already odd (started) and
 * still odd (ended), so its model is never more lenient than the cookies.
 *
 * call_rcu callbacks are pushed on a lock-free list (async-signal-safe); just
 * before each GP starts the GP thread takes the whole list, and invokes it
 * after that GP ended, in softirq context.  While the list is not empty the
 * GP thread runs GPs, whatever the cookies ask for (gp_owed()).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

#include <urcu/urcu-memb.h>

#include "env_internal.h"

/*
 * liburcu 0.13 is not built for ThreadSanitizer: it cannot see that a reader's
 * unlock happens before the end of the grace period that waited for it.  Say
 * so explicitly (liburcu 0.15 does the same internally).
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KVT_TSAN 1
#endif
#endif
#if !defined(KVT_TSAN) && defined(__SANITIZE_THREAD__)
#define KVT_TSAN 1
#endif
#ifdef KVT_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char rcu_hb;
#define RCU_HB_RELEASE() __tsan_release(&rcu_hb)
#define RCU_HB_ACQUIRE() __tsan_acquire(&rcu_hb)
#else
#define RCU_HB_RELEASE() do { } while (0)
#define RCU_HB_ACQUIRE() do { } while (0)
#endif

/* Backstop only: every request posts gp_wake while the GP thread idles. */
#define GP_IDLE_NS (20u * 1000 * 1000)
#define GP_SLEEPER_NS (5u * 1000 * 1000)

/* Written by the GP thread only; read anywhere. */
static _Atomic(unsigned long) gp_seq;
static _Atomic(uint64_t) gp_count;
/* The highest cookie anyone waits for: the GP thread runs GPs until it passed. */
static _Atomic(unsigned long) gp_wanted;
static _Atomic(bool) gp_idle;
static sem_t gp_wake;
static pthread_t gp_thr;

/* call_rcu: pushed by anyone, taken by the GP thread at a GP start. */
static struct kenv_rcu_head *_Atomic cb_inbox;
static _Atomic(uint64_t) cb_queued;
static _Atomic(uint64_t) cb_done;	/* advanced after a whole batch ran */

void (*_Atomic posix_gp_taken_hook)(void);

/* Sleepers in synchronize_rcu and rcu_barrier. */
static pthread_mutex_t gp_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gp_cond = PTHREAD_COND_INITIALIZER;
static _Atomic(int) gp_sleepers;

static bool seq_passed(unsigned long seq, unsigned long cookie)
{
	/* Wrap-safe: the counter only moves forward. */
	return (long)(seq - cookie) >= 0;
}

static void gp_request(unsigned long cookie)
{
	unsigned long w = atomic_load(&gp_wanted);

	while (!seq_passed(w, cookie) &&
	       !atomic_compare_exchange_weak(&gp_wanted, &w, cookie))
		;
	/* Wake the GP thread only if it sleeps: sem_post is async-signal-safe. */
	if (atomic_load(&gp_idle))
		sem_post(&gp_wake);
}

static unsigned long cookie_now(void)
{
	return (atomic_load(&gp_seq) + 3) & ~1UL;
}

/*
 * Like the kernel's get_state_synchronize_rcu(), taking a cookie does not ask
 * for a grace period (unless configured to): call_rcu(), synchronize_rcu()
 * and rcu_barrier() do.  Asking on every call made the GP thread run grace
 * periods back to back under a flood, each one a membarrier() that
 * interrupts every CPU thread.
 */
unsigned long kenv_get_state_synchronize_rcu(void)
{
	unsigned long cookie = cookie_now();

	if (posix_cfg.gp_on_get_state)
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
	posix_cur()->rcu_nest++;
	ENV_SIGNAL_FENCE();
}

void kenv_rcu_read_unlock(void)
{
	if (!posix_nest_leave(&posix_cur()->rcu_nest, "rcu_read_unlock"))
		return;
	RCU_HB_RELEASE();
	urcu_memb_read_unlock();
}

void kenv_call_rcu(struct kenv_rcu_head *head, void (*func)(struct kenv_rcu_head *))
{
	struct kenv_rcu_head *old = atomic_load(&cb_inbox);

	head->func = func;
	atomic_fetch_add(&cb_queued, 1);
	/*
	 * Release: the callback's state is visible to the GP thread that takes
	 * it.  seq_cst with the GP thread's idle flag: either it sees the
	 * callback before it sleeps, or gp_request() sees it idle and wakes it.
	 */
	do {
		head->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&cb_inbox, &old, head,
							 memory_order_seq_cst,
							 memory_order_relaxed));
	gp_request(cookie_now());
}

static void wait_for(bool (*done)(uint64_t), uint64_t arg)
{
	pthread_mutex_lock(&gp_mutex);
	atomic_fetch_add(&gp_sleepers, 1);
	while (!done(arg) && !atomic_load(&posix_stopping)) {
		struct timespec ts;

		/* A bounded wait also covers a broadcast that raced with our check. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += GP_SLEEPER_NS;
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
	unsigned long cookie;

	ENV_CHECK(check_might_sleep("synchronize_rcu"));
	kenv_sched_point("synchronize_rcu");
	cookie = cookie_now();
	gp_request(cookie);
	wait_for(cookie_done, cookie);
}

void kenv_rcu_barrier(void)
{
	uint64_t target = atomic_load(&cb_queued);

	ENV_CHECK(check_might_sleep("rcu_barrier"));
	gp_request(cookie_now());
	wait_for(callbacks_done, target);
}

/* ---------------------------------------------------------------------------
 * The GP thread
 */

static void run_callbacks(struct kenv_rcu_head *list)
{
	struct posix_thread *self = posix_cur();
	struct kenv_rcu_head *rev = NULL;
	uint64_t n = 0;

	/* The inbox is LIFO: reverse it to run callbacks in queue order. */
	while (list) {
		struct kenv_rcu_head *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	posix_frame_push(KENV_CTX_SOFTIRQ);
	self->bh++;
	while (rev) {
		struct kenv_rcu_head *next = rev->next;

		rev->func(rev);
		rev = next;
		n++;
	}
	self->bh--;
	posix_frame_pop();
	atomic_fetch_add(&posix_stat_rcu_cbs, n);
	atomic_fetch_add(&cb_done, n);
}

/*
 * Whether a GP is owed: one a cookie waits for, or one for callbacks queued
 * since the last GP took its batch.  The cookie alone does not cover them: a
 * callback queued just after the take, by a caller that read the counter
 * just before the GP started, asks for the GP in progress, which does not
 * invoke it.  Seen as a flush_rcu_work() that waited for good once the flood
 * paused and nothing else asked for a GP.
 */
static bool gp_owed(void)
{
	return !seq_passed(atomic_load(&gp_seq), atomic_load(&gp_wanted)) ||
	       atomic_load(&cb_inbox);
}

/* Sleep until a GP is owed; false when the environment stops meanwhile. */
static bool gp_wait_for_request(void)
{
	while (!gp_owed()) {
		if (atomic_load(&posix_stopping))
			return false;
		atomic_store(&gp_idle, true);
		/* Re-check after announcing the sleep: a request may have raced. */
		if (!gp_owed())
			posix_sem_wait_ns(&gp_wake, GP_IDLE_NS);
		atomic_store(&gp_idle, false);
	}
	return true;
}

static void *gp_main(void *arg)
{
	(void)arg;
	while (gp_wait_for_request()) {
		struct kenv_rcu_head *batch;

		/*
		 * Take the callbacks before the counter goes odd: each of them was
		 * queued before this GP started, so every cookie its queuer took
		 * before call_rcu() has passed when this GP ends.
		 */
		batch = atomic_exchange_explicit(&cb_inbox, NULL, memory_order_acquire);
		posix_run_hook(&posix_gp_taken_hook);
		/* GP start: odd counter first, then the checker (see the top comment). */
		atomic_fetch_add(&gp_seq, 1);
		ENV_CHECK(check_gp_started());
		kenv_sched_point("gp_start");
		if (!posix_cfg.gp_early) {
			urcu_memb_synchronize_rcu();
			RCU_HB_ACQUIRE();
		}
		ENV_CHECK(check_gp_ended());
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

#if POSIX_CHECKED
RACY_READER void posix_dump_rcu(int fd)
{
	posix_fd_printf(fd, "rcu: gp_seq %lu, wanted %lu, gp thread %s; callbacks queued %llu, "
			"done %llu, %s waiting for a GP\n",
			atomic_load(&gp_seq), atomic_load(&gp_wanted),
			atomic_load(&gp_idle) ? "idle" : "busy",
			(unsigned long long)atomic_load(&cb_queued),
			(unsigned long long)atomic_load(&cb_done),
			atomic_load(&cb_inbox) ? "some" : "none");
}
#endif

void posix_rcu_start(void)
{
	/* A new run: callbacks of the last one were dropped with it. */
	atomic_store(&cb_inbox, NULL);
	atomic_store(&cb_queued, 0);
	atomic_store(&cb_done, 0);
	atomic_store(&gp_count, 0);
	atomic_store(&gp_wanted, atomic_load(&gp_seq));
	atomic_store(&gp_idle, false);
	if (sem_init(&gp_wake, 0, 0))
		KENV_DIE("sem_init");
	posix_thread_create(&gp_thr, "rcu_gp", POSIX_ROLE_ENV, 0, gp_main, NULL);
}

void posix_rcu_stop(void)
{
	/* Callbacks still queued now are dropped: the implementation has exited. */
	atomic_store(&posix_stopping, true);
	sem_post(&gp_wake);
	pthread_join(gp_thr, NULL);
	sem_destroy(&gp_wake);
}

uint64_t posix_rcu_gps(void)
{
	return atomic_load(&gp_count);
}

uint64_t posix_rcu_seq(void)
{
	return atomic_load(&gp_seq);
}
