/* SPDX-License-Identifier: MIT */
/*
 * test_posix_env.c - unit tests of the posix environment's primitives, on
 * their own (no kvfree_rcu): the soft irq mask and its replay, NMIs through
 * the mask, polled cookies against call_rcu, work, delayed work, cancel,
 * rcu_work, timers, raw locks and softirqs at bh enable.  TAP output.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "posix_env.h"

static int test_nr, failures;

#define OK(cond, ...)                                               \
	do {                                                        \
		bool ok_ = (cond);                                  \
		printf("%s %d - ", ok_ ? "ok" : "not ok", ++test_nr); \
		printf(__VA_ARGS__);                                \
		printf("\n");                                       \
		if (!ok_) {                                         \
			failures++;                                 \
			printf("#   failed: %s\n", #cond);          \
		}                                                   \
	} while (0)

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- interrupts: the CPU thread runs the checks as its workload ---------- */

static _Atomic(int) irqs_seen, nmis_seen, irq_ctx_ok, mask_results;
static _Atomic(bool) mask_done;

static void test_irq(int cpu)
{
	(void)cpu;
	if (kenv_context() == KENV_CTX_HARDIRQ && kenv_irqs_disabled() && !kenv_preemptible())
		atomic_fetch_add(&irq_ctx_ok, 1);
	atomic_fetch_add(&irqs_seen, 1);
}

static void test_nmi(int cpu)
{
	(void)cpu;
	atomic_fetch_add(&nmis_seen, 1);
}

static void mask_workload(int cpu, void *arg)
{
	unsigned long flags;
	int before, during_nmi;

	(void)arg;
	if (cpu != 0 || atomic_load(&mask_done))
		return;
	before = atomic_load(&irqs_seen);
	flags = kenv_local_irq_save();
	posix_raise_irq(0);
	posix_raise_nmi(0);
	/* Signals are delivered on return to user space; give them time. */
	for (int i = 0; i < 50 && atomic_load(&nmis_seen) == 0; i++)
		sleep_ms(1);
	during_nmi = atomic_load(&nmis_seen);
	if (atomic_load(&irqs_seen) == before)
		atomic_fetch_or(&mask_results, 1);	/* held back while masked */
	if (during_nmi == 1)
		atomic_fetch_or(&mask_results, 2);	/* the NMI ignored the mask */
	kenv_local_irq_restore(flags);
	if (atomic_load(&irqs_seen) == before + 1)
		atomic_fetch_or(&mask_results, 4);	/* replayed on restore */
	atomic_store(&mask_done, true);
}

/* ---- RCU ------------------------------------------------------------------ */

struct item {
	struct kenv_rcu_head rh;
	unsigned long cookie;
};

static _Atomic(long) cb_bad, cb_done;

static void item_cb(struct kenv_rcu_head *h)
{
	struct item *it = (struct item *)h;

	if (!kenv_poll_state_synchronize_rcu(it->cookie))
		atomic_fetch_add(&cb_bad, 1);
	atomic_fetch_add(&cb_done, 1);
	free(it);
}

static void *rcu_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		struct item *it = malloc(sizeof(*it));

		it->cookie = kenv_get_state_synchronize_rcu();
		kenv_call_rcu(&it->rh, item_cb);
	}
	return NULL;
}

/* ---- work ----------------------------------------------------------------- */

static _Atomic(int) work_runs, work_ctx_ok, dwork_runs;
static _Atomic(uint64_t) dwork_ran_at;
static struct kenv_work work;
static struct kenv_delayed_work dwork, dwork2, dwork3;
static struct kenv_rcu_work rwork;
static unsigned long rwork_cookie;
static _Atomic(int) rwork_ok;
static struct kenv_timer timer;
static _Atomic(int) timer_ctx_ok;

static void work_fn(struct kenv_work *w)
{
	(void)w;
	if (kenv_context() == KENV_CTX_KTHREAD && kenv_preemptible())
		atomic_fetch_add(&work_ctx_ok, 1);
	sleep_ms(5);
	atomic_fetch_add(&work_runs, 1);
}

static void dwork_fn(struct kenv_work *w)
{
	(void)w;
	atomic_store(&dwork_ran_at, kenv_clock_ns());
	atomic_fetch_add(&dwork_runs, 1);
}

static void rwork_fn(struct kenv_work *w)
{
	(void)w;
	atomic_store(&rwork_ok, kenv_poll_state_synchronize_rcu(rwork_cookie) ? 1 : -1);
}

static void timer_fn(struct kenv_timer *t)
{
	(void)t;
	atomic_store(&timer_ctx_ok, kenv_context() == KENV_CTX_HARDIRQ && kenv_irqs_disabled());
}

/* ---- locks and softirqs --------------------------------------------------- */

static struct kenv_lock lock;
static long counter;

static void *lock_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200000; i++) {
		unsigned long flags = kenv_local_irq_save();

		kenv_raw_spin_lock(&lock);
		counter++;
		kenv_raw_spin_unlock(&lock);
		kenv_local_irq_restore(flags);
	}
	return NULL;
}

static _Atomic(int) softirq_runs, softirq_ctx_ok;

static void test_softirq(void)
{
	if (kenv_in_softirq() && kenv_context() == KENV_CTX_SOFTIRQ)
		atomic_fetch_add(&softirq_ctx_ok, 1);
	atomic_fetch_add(&softirq_runs, 1);
}

int main(void)
{
	struct posix_env_config cfg;
	pthread_t thr[3];
	uint64_t t0;
	bool pending;

	posix_env_config_default(&cfg);
	cfg.nr_cpus = 2;
	check_reset();
	posix_env_start(&cfg);
	printf("1..22\n");

	/* The main thread is a task on CPU 0. */
	OK(kenv_context() == KENV_CTX_TASK && kenv_preemptible() && kenv_cpu() == 0,
	   "main thread: preemptible task on cpu 0");

	/* Soft mask, replay, NMI through the mask. */
	posix_set_irq_handler(test_irq);
	posix_set_nmi_handler(test_nmi);
	posix_set_cpu_workload(mask_workload, NULL);
	for (int i = 0; i < 2000 && !atomic_load(&mask_done); i++)
		sleep_ms(1);
	posix_set_cpu_workload(NULL, NULL);
	OK(atomic_load(&mask_results) & 1, "an interrupt is held back while irqs are masked");
	OK(atomic_load(&mask_results) & 2, "an NMI is delivered through the mask");
	OK(atomic_load(&mask_results) & 4, "the held-back interrupt is replayed on restore");
	posix_raise_irq(1);
	for (int i = 0; i < 200 && atomic_load(&irqs_seen) < 2; i++)
		sleep_ms(1);
	OK(atomic_load(&irq_ctx_ok) == atomic_load(&irqs_seen) && atomic_load(&irqs_seen) >= 2,
	   "handlers run in hardirq context with irqs off (%d of %d)",
	   atomic_load(&irq_ctx_ok), atomic_load(&irqs_seen));

	/* Polled cookies against call_rcu callbacks. */
	for (int i = 0; i < 3; i++)
		posix_thread_create(&thr[i], "rcu", POSIX_ROLE_KTHREAD, i % 2, rcu_thread, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(thr[i], NULL);
	kenv_rcu_barrier();
	OK(atomic_load(&cb_done) == 60000, "rcu_barrier waited for all 60000 callbacks (%ld)",
	   (long)atomic_load(&cb_done));
	OK(atomic_load(&cb_bad) == 0, "every cookie taken before call_rcu passed by its callback (%ld bad)",
	   (long)atomic_load(&cb_bad));
	{
		unsigned long c;
		bool passed;

		/* Our own read-side section keeps any GP from ending meanwhile. */
		kenv_rcu_read_lock();
		c = kenv_get_state_synchronize_rcu();
		sleep_ms(20);
		passed = kenv_poll_state_synchronize_rcu(c);
		kenv_rcu_read_unlock();
		OK(!passed, "a cookie does not pass while a reader that predates it is inside");
		kenv_synchronize_rcu();
		OK(kenv_poll_state_synchronize_rcu(c), "it has after synchronize_rcu");
	}

	/* Work: queue semantics and flush. */
	kenv_delayed_work_init(&dwork3, dwork_fn);
	OK(kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork3, 10000000000ull) &&
	   !kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork3, 1) &&
	   !kenv_queue_work(KENV_WQ_RECLAIM, &dwork3.work) &&
	   kenv_cancel_delayed_work_sync(&dwork3),
	   "queueing: true, then false while pending, until cancelled");
	kenv_work_init(&work, work_fn);
	kenv_queue_work(KENV_WQ_HIGHPRI, &work);
	kenv_flush_work(&work);
	OK(atomic_load(&work_runs) == 1 && atomic_load(&work_ctx_ok) == 1,
	   "flush_work waits for the run, which was preemptible kthread context");

	/* Delayed work: runs after the delay; cancel before expiry stops it. */
	kenv_delayed_work_init(&dwork, dwork_fn);
	t0 = kenv_clock_ns();
	kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork, 20 * 1000 * 1000);
	OK(kenv_delayed_work_pending(&dwork), "a delayed work is pending while its timer waits");
	kenv_flush_work(&dwork.work);
	OK(atomic_load(&dwork_runs) == 1 && atomic_load(&dwork_ran_at) - t0 >= 20 * 1000 * 1000,
	   "the delayed work ran once, not before its delay");
	kenv_delayed_work_init(&dwork2, dwork_fn);
	kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork2, 200 * 1000 * 1000);
	OK(kenv_mod_delayed_work(KENV_WQ_RECLAIM, &dwork2, 300 * 1000 * 1000),
	   "mod_delayed_work of a pending work says it was pending");
	pending = kenv_cancel_delayed_work_sync(&dwork2);
	sleep_ms(350);
	OK(pending && atomic_load(&dwork_runs) == 1 && !kenv_delayed_work_pending(&dwork2),
	   "cancel_delayed_work_sync before expiry: was pending, never runs");

	/* rcu_work: the function runs after a GP that began after the queueing. */
	kenv_rcu_work_init(&rwork, rwork_fn);
	kenv_rcu_read_lock();
	rwork_cookie = kenv_get_state_synchronize_rcu();
	pending = kenv_queue_rcu_work(KENV_WQ_RECLAIM, &rwork);
	sleep_ms(10);
	pending = pending && kenv_rcu_work_busy(&rwork) && !atomic_load(&rwork_ok);
	kenv_rcu_read_unlock();
	OK(pending, "queue_rcu_work: busy, not run while a reader that predates it is inside");
	kenv_flush_rcu_work(&rwork);
	OK(atomic_load(&rwork_ok) == 1, "flush_rcu_work: ran, after a full GP");

	/* Timers: hardirq context; cancel reports pending. */
	kenv_timer_init(&timer, timer_fn);
	kenv_timer_start(&timer, 1000 * 1000 * 1000);
	OK(kenv_timer_cancel(&timer) && !kenv_timer_cancel(&timer),
	   "timer_cancel: pending once, then not");
	kenv_timer_start(&timer, 1000 * 1000);
	for (int i = 0; i < 200 && !atomic_load(&timer_ctx_ok); i++)
		sleep_ms(1);
	OK(atomic_load(&timer_ctx_ok), "a timer fires in hardirq context with irqs off");

	/* Raw locks: mutual exclusion under contention, held tracking. */
	kenv_lock_init(&lock, "test_lock");
	for (int i = 0; i < 3; i++)
		posix_thread_create(&thr[i], "locker", POSIX_ROLE_KTHREAD, i % 2, lock_thread, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(thr[i], NULL);
	kenv_raw_spin_lock(&lock);
	pending = kenv_lock_held(&lock) && !kenv_preemptible();
	kenv_raw_spin_unlock(&lock);
	OK(counter == 600000 && pending && !kenv_lock_held(&lock),
	   "raw lock: %ld of 600000 increments, held/preemptible tracked", counter);

	/* Softirqs: raised under bh-off, run at the bh enable in softirq context. */
	posix_open_softirq(POSIX_SOFTIRQ_FLOOD, test_softirq);
	kenv_local_bh_disable();
	posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
	OK(atomic_load(&softirq_runs) == 0, "a softirq raised with bh off waits");
	kenv_local_bh_enable();
	OK(atomic_load(&softirq_runs) == 1 && atomic_load(&softirq_ctx_ok) == 1,
	   "and runs at the bh enable, in softirq context");

	posix_env_stop();
	return failures ? 1 : 0;
}
