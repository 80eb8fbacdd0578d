/* SPDX-License-Identifier: MIT */
/*
 * test_posix_env.c - unit tests of the posix environment's primitives, on
 * their own (no kvfree_rcu), in its checked flavour: the soft irq mask and
 * its replay, NMIs through the mask, polled cookies against call_rcu, work,
 * delayed work, cancel, rcu_work, timers, raw locks and softirqs at bh
 * enable; the events the environment reports reaching the checker, which
 * judges them; then a second run in the timing configuration (inline
 * reclaim, no ksoftirqd): jobs on every CPU, work, timers and softirqs at
 * the CPU thread's preemption points, emulated hardirqs.  TAP output.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "check_internal.h"	/* the checker's lock, held by hand */
#include "env_internal.h"	/* a timer's fire in flight, made by hand */
#include "posix_env.h"
#include "posix_obj.h"
#include "tap.h"

#define OK(cond, ...) TAP_OK(cond, __VA_ARGS__)
/*
 * How long, in 1 ms sleeps, a wait for something that must happen (a fire,
 * a signal's delivery, a thread reaching a point) goes on before the check
 * after it fails.  A passing run never waits it out; this machine's host
 * has stalled every thread of a process for several seconds at once.
 */
#define PATIENCE_MS 10000

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

/* ---- events the environment reports: the checker judges them ------------ */

/* How many violations of @inv one call of @fn adds. */
static unsigned long added(enum check_inv inv, void (*fn)(void))
{
	unsigned long before = check_count(inv);

	fn();
	return check_count(inv) - before;
}

static void oom_refill(void)
{
	void *sleeping, *noretry;

	posix_set_fault_ppm(1000000);
	sleeping = kenv_page_alloc(KENV_GFP_KERNEL);
	noretry = kenv_page_alloc(KENV_GFP_KERNEL | KENV_GFP_NORETRY | KENV_GFP_NOMEMALLOC);
	posix_set_fault_ppm(0);
	if (sleeping || noretry)
		printf("# an allocation did not fail under a 100%% fault rate\n");
}

static void page_free_locked(void)
{
	void *page = kenv_page_alloc(KENV_GFP_NOWAIT);
	unsigned long flags = kenv_local_irq_save();

	kenv_raw_spin_lock(&lock);
	kenv_page_free(page);
	kenv_raw_spin_unlock(&lock);
	kenv_local_irq_restore(flags);
}

static void unqueue_twice(void)
{
	struct kvt_obj *obj = kvt_obj_alloc(16, false);

	kenv_debug_obj_queue(obj);
	kenv_debug_obj_unqueue(obj);
	kenv_debug_obj_unqueue(obj);
	kvt_obj_discard(obj);
}

static void reader_sees_reuse(void)
{
	struct kvt_obj *obj = kvt_obj_alloc(16, false);

	kenv_rcu_read_lock();
	kvt_obj_verify(obj, obj->gen + 1, "test reader");
	kenv_rcu_read_unlock();
	kvt_obj_discard(obj);
}

static void preempt_unbalanced(void)
{
	kenv_preempt_enable();
}

static void test_events(void)
{
	check_set_mode(CHECK_RECORD);
	check_set_quiet(true);
	OK(added(INV_BOUNDED, oom_refill) == 1,
	   "a failed KERNEL page allocation is BOUNDED (OOM), a NORETRY|NOMEMALLOC one is not");
	OK(added(INV_NO_ALLOC_ATOMIC, page_free_locked) == 1,
	   "a page given back under a raw lock is NO-ALLOC-ATOMIC");
	OK(added(INV_EXACTLY_ONCE, unqueue_twice) == 1,
	   "a second debug-objects unqueue is EXACTLY-ONCE");
	OK(added(INV_GP_SAFETY, reader_sees_reuse) == 1,
	   "a reader finding an object's memory reused is GP-SAFETY");
	OK(added(INV_LOCKING, preempt_unbalanced) == 1,
	   "preempt_enable without a disable is LOCKING");
	check_set_mode(CHECK_ABORT);
	check_set_quiet(false);
	check_reset();
}

/* ---- the timing configuration: inline reclaim, no ksoftirqd ------------- */

static _Atomic(int) job_cpus, job_ctx_ok, inline_work_ok, inline_timer_ok, inline_softirq_ok;
static _Atomic(int) irq_exit_softirq_ok;
static _Atomic(int) job_thread[2];
static struct kenv_work inline_work;
static struct kenv_timer inline_timer;

static void inline_work_fn(struct kenv_work *w)
{
	(void)w;
	/* On the CPU thread that queued it, in a kthread frame of its own. */
	atomic_store(&inline_work_ok, posix_thread_id() == atomic_load(&job_thread[1]) &&
				      kenv_context() == KENV_CTX_KTHREAD && kenv_preemptible() ? 1 : -1);
}

static void inline_timer_fn(struct kenv_timer *t)
{
	(void)t;
	atomic_store(&inline_timer_ok, posix_thread_id() == atomic_load(&job_thread[1]) &&
				       kenv_in_hardirq() && kenv_irqs_disabled() ? 1 : -1);
}

static void inline_softirq_fn(void)
{
	if (posix_thread_id() == atomic_load(&job_thread[1]) && kenv_in_softirq())
		atomic_fetch_add(&inline_softirq_ok, 1);
	else
		atomic_store(&inline_softirq_ok, -100);
}

/* Call posix_point() until *@flag is set (or a second passed). */
static void point_until(_Atomic(int) *flag)
{
	for (int i = 0; i < 1000 && !atomic_load(flag); i++) {
		posix_point();
		sleep_ms(1);
	}
}

static void count_job(int cpu, void *arg)
{
	(void)arg;
	atomic_store(&job_thread[cpu], posix_thread_id());
	if (kenv_cpu() == cpu && kenv_context() == KENV_CTX_TASK && kenv_preemptible())
		atomic_fetch_add(&job_ctx_ok, 1);
	atomic_fetch_add(&job_cpus, 1);
}

static void inline_job(int cpu, void *arg)
{
	(void)arg;
	if (cpu != 1)
		return;
	kenv_queue_work(KENV_WQ_RECLAIM, &inline_work);
	point_until(&inline_work_ok);
	kenv_timer_start(&inline_timer, 1000 * 1000);
	point_until(&inline_timer_ok);
	posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
	point_until(&inline_softirq_ok);
	/* Raised inside an emulated hardirq: runs at its exit, on this thread. */
	posix_irq_enter();
	if (kenv_in_hardirq() && kenv_irqs_disabled() && !kenv_preemptible()) {
		int before = atomic_load(&inline_softirq_ok);

		posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
		posix_irq_exit();
		atomic_store(&irq_exit_softirq_ok, atomic_load(&inline_softirq_ok) == before + 1);
	} else {
		posix_irq_exit();
	}
}

static void test_timing_configuration(void)
{
	struct posix_env_config cfg;
	struct posix_env_stats st;

	posix_env_config_default(&cfg);
	cfg.nr_cpus = 2;
	cfg.reclaim = POSIX_RECLAIM_INLINE;
	cfg.ksoftirqd = false;
	posix_env_start(&cfg);
	OK(kenv_context() == KENV_CTX_TASK && kenv_cpu() == 0,
	   "a second run: the main thread is registered again");
	posix_run_on_cpus(count_job, NULL);
	OK(atomic_load(&job_cpus) == 2 && atomic_load(&job_ctx_ok) == 2,
	   "a job runs once on every CPU thread, in preemptible task context on its CPU");
	OK(!posix_cpu_offline(1), "no CPU goes offline in inline reclaim mode");

	kenv_work_init(&inline_work, inline_work_fn);
	kenv_timer_init(&inline_timer, inline_timer_fn);
	posix_open_softirq(POSIX_SOFTIRQ_FLOOD, inline_softirq_fn);
	posix_cpus_begin(inline_job, NULL);
	posix_cpus_wait();
	OK(posix_cpus_done(), "posix_cpus_done() once the job returned everywhere");
	OK(atomic_load(&inline_work_ok) == 1,
	   "inline: work runs on the CPU thread that queued it, at its point, kthread context");
	OK(atomic_load(&inline_timer_ok) == 1,
	   "inline: a timer fires on its CPU thread, at its point, in hardirq context");
	OK(atomic_load(&inline_softirq_ok) >= 1,
	   "no ksoftirqd: a softirq raised in task context runs on its CPU thread");
	OK(atomic_load(&irq_exit_softirq_ok) == 1,
	   "an emulated hardirq runs the softirqs it raised at its exit");

	/* Queued by the main thread on CPU 0: the idle CPU thread is woken and runs it. */
	atomic_store(&work_runs, 0);
	kenv_work_init(&work, work_fn);
	kenv_queue_work(KENV_WQ_HIGHPRI, &work);
	kenv_flush_work(&work);
	OK(atomic_load(&work_runs) == 1, "inline: work queued from outside runs on the idle CPU thread");
	posix_env_stats(&st);
	OK(st.works_run == 2 && st.timers_fired == 1 && st.pages_in_use == 0,
	   "the second run's counters start from zero (%llu works, %llu timers)",
	   (unsigned long long)st.works_run, (unsigned long long)st.timers_fired);
	posix_env_stop();
}

static void test_interrupts(void)
{
	int raises = 1;
	bool first_sent, sent;

	/* The main thread is a task on CPU 0. */
	OK(kenv_context() == KENV_CTX_TASK && kenv_preemptible() && kenv_cpu() == 0,
	   "main thread: preemptible task on cpu 0");

	/* Soft mask, replay, NMI through the mask. */
	posix_set_irq_handler(test_irq);
	posix_set_nmi_handler(test_nmi);
	posix_set_cpu_workload(mask_workload, NULL);
	for (int i = 0; i < PATIENCE_MS && !atomic_load(&mask_done); i++)
		sleep_ms(1);
	posix_set_cpu_workload(NULL, NULL);
	OK(atomic_load(&mask_results) & 1, "an interrupt is held back while irqs are masked");
	OK(atomic_load(&mask_results) & 2, "an NMI is delivered through the mask");
	OK(atomic_load(&mask_results) & 4, "the held-back interrupt is replayed on restore");
	first_sent = sent = posix_raise_irq(1);
	/*
	 * As long as for the workload above: a loaded host delays the signal's
	 * delivery.  One not seen within a second is raised again: a clean-clone
	 * run under TSan once saw none in 10 s, cause unknown; what is checked
	 * here is the handler's context, and the message counts the raises.
	 * A first signal that could not be sent at all (CPU 1's thread not
	 * registered, or offline) fails.
	 */
	for (int i = 0; i < PATIENCE_MS && atomic_load(&irqs_seen) < 2; i++) {
		if (i && i % 1000 == 0) {
			sent = posix_raise_irq(1);
			raises++;
		}
		sleep_ms(1);
	}
	OK(first_sent && atomic_load(&irq_ctx_ok) == atomic_load(&irqs_seen) &&
	   atomic_load(&irqs_seen) >= 2,
	   "handlers run in hardirq context with irqs off (%d of %d; raised %d time(s), the first "
	   "signal %s, the last %s)", atomic_load(&irq_ctx_ok), atomic_load(&irqs_seen), raises,
	   first_sent ? "sent" : "not sent", sent ? "sent" : "not sent");
}

/*
 * A callback queued just after the GP thread took its batch, with a cookie
 * read before that GP started: the GP ends at the cookie, and the callback,
 * left for the next one, must still get it.  The hook queues it from the GP
 * thread, inside that window.
 */
static struct kenv_rcu_head trigger_head, late_head;
static _Atomic(bool) hook_armed, late_ran;

static void trigger_cb(struct kenv_rcu_head *h)
{
	(void)h;
}

static void late_cb(struct kenv_rcu_head *h)
{
	(void)h;
	atomic_store(&late_ran, true);
}

static void gp_taken(void)
{
	if (atomic_exchange(&hook_armed, false))
		kenv_call_rcu(&late_head, late_cb);
}

static void test_rcu_late_callback(void)
{
	bool ran;

	atomic_store(&posix_gp_taken_hook, gp_taken);
	atomic_store(&hook_armed, true);
	kenv_call_rcu(&trigger_head, trigger_cb);
	for (int i = 0; i < 1000 && !atomic_load(&late_ran); i++)
		sleep_ms(1);
	ran = atomic_load(&late_ran);
	atomic_store(&posix_gp_taken_hook, NULL);
	OK(ran && !atomic_load(&hook_armed),
	   "a callback queued between a GP's taking of the batch and its start still runs "
	   "(ran within 1 s: %d)", ran);
	kenv_rcu_barrier();
}

static void test_rcu(void)
{
	pthread_t thr[3];
	unsigned long c;
	bool passed;

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

	/* Our own read-side section keeps any GP from ending meanwhile. */
	kenv_rcu_read_lock();
	c = kenv_get_state_synchronize_rcu();
	sleep_ms(20);
	passed = kenv_poll_state_synchronize_rcu(c);
	kenv_rcu_read_unlock();
	OK(!passed, "a cookie does not pass while a reader that predates it is inside");
	kenv_synchronize_rcu();
	OK(kenv_poll_state_synchronize_rcu(c), "it has after synchronize_rcu");
	test_rcu_late_callback();
}

static void test_work(void)
{
	uint64_t t0;
	bool pending;

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
}

/*
 * A delayed work's timer fires just as the work is cancelled, and a queuer
 * comes in right after: the fire, claimed before the cancel, must not push
 * the new instance before its delay.  The fire in flight is made by hand, as
 * the timer thread's claim leaves it (the timer off pending, a fire counted
 * running), and reaches its handler when the test says.
 */
static _Atomic(int) dwork4_runs;
static _Atomic(bool) cancel4_done;
static struct kenv_delayed_work dwork4;

static void dwork4_fn(struct kenv_work *w)
{
	(void)w;
	atomic_fetch_add(&dwork4_runs, 1);
}

static void *cancel4_thread(void *arg)
{
	(void)arg;
	kenv_cancel_delayed_work_sync(&dwork4);
	atomic_store(&cancel4_done, true);
	return NULL;
}

static void test_fire_during_cancel(void)
{
	const uint64_t long_delay = 10000000000ull;
	pthread_t thr;
	bool waited, requeued;

	kenv_delayed_work_init(&dwork4, dwork4_fn);
	kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork4, long_delay);
	kenv_timer_cancel(&dwork4.timer);
	atomic_fetch_add(&dwork4.timer.state, POSIX_TIMER_RUNNING_ONE);
	posix_thread_create(&thr, "canceller", POSIX_ROLE_KTHREAD, 0, cancel4_thread, NULL);
	for (int i = 0; i < 50 && !atomic_load(&cancel4_done); i++)
		sleep_ms(1);
	waited = !atomic_load(&cancel4_done);
	requeued = kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork4, long_delay);
	dwork4.timer.func(&dwork4.timer);
	atomic_fetch_sub(&dwork4.timer.state, POSIX_TIMER_RUNNING_ONE);
	pthread_join(thr, NULL);
	if (!requeued)
		kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork4, long_delay);
	sleep_ms(50);
	OK(waited && atomic_load(&dwork4_runs) == 0 && kenv_delayed_work_pending(&dwork4),
	   "cancel_delayed_work_sync waits for a fire in flight; the work queued next waits "
	   "for its delay (cancel waited: %d, runs: %d)", waited, atomic_load(&dwork4_runs));
	kenv_cancel_delayed_work_sync(&dwork4);
}

/*
 * A cancel waits for the instance running when it began, not for one queued
 * while it waits: a flood re-arms the monitor at every call, and the
 * barriers' cancels of it waited for each new arming's delay in turn (three
 * barrier threads past a 10 s checkpoint in kernel-stress-all under TSan).
 */
static _Atomic(bool) dwork5_in, dwork5_go, cancel5_done;
static struct kenv_delayed_work dwork5;

static void dwork5_fn(struct kenv_work *w)
{
	(void)w;
	atomic_store(&dwork5_in, true);
	while (!atomic_load(&dwork5_go))
		sleep_ms(1);
}

static void *cancel5_thread(void *arg)
{
	(void)arg;
	kenv_cancel_delayed_work_sync(&dwork5);
	atomic_store(&cancel5_done, true);
	return NULL;
}

/* The hang dump, read back: whether it holds @what. */
static bool dump_has(const char *what)
{
	static char buf[1 << 16];
	FILE *f = tmpfile();
	size_t n;

	if (!f)
		return false;
	posix_dump_threads(fileno(f));
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return strstr(buf, what) != NULL;
}

/*
 * Whether the hang dump shows a thread in a cancel's wait for @w, a kworker
 * running @w, and each of them as the same work.
 */
static bool dump_shows_cancel_wait(const struct kenv_work *w)
{
	char waits[64], runs[64];

	snprintf(waits, sizeof(waits), "waits for work %p: state running", (const void *)w);
	snprintf(runs, sizeof(runs), "runs work %p: state running", (const void *)w);
	return dump_has("last=cancel_work") && dump_has(waits) && dump_has(runs);
}

static void test_cancel_ignores_new_instance(void)
{
	const uint64_t long_delay = 10000000000ull;
	pthread_t thr;
	bool waited, returned, pending, dumped;

	kenv_delayed_work_init(&dwork5, dwork5_fn);
	kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork5, 0);
	for (int i = 0; i < PATIENCE_MS && !atomic_load(&dwork5_in); i++)
		sleep_ms(1);
	posix_thread_create(&thr, "canceller", POSIX_ROLE_KTHREAD, 0, cancel5_thread, NULL);
	sleep_ms(20);
	waited = !atomic_load(&cancel5_done);
	dumped = dump_shows_cancel_wait(&dwork5.work);
	kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork5, long_delay);
	atomic_store(&dwork5_go, true);
	for (int i = 0; i < 1000 && !atomic_load(&cancel5_done); i++)
		sleep_ms(1);
	returned = atomic_load(&cancel5_done);
	pending = kenv_delayed_work_pending(&dwork5);
	pthread_join(thr, NULL);
	OK(waited && returned && pending,
	   "cancel_delayed_work_sync waits for the running instance, not for one queued "
	   "meanwhile (waited: %d, returned within 1 s: %d, new one pending: %d)", waited,
	   returned, pending);
	OK(dumped, "a hang dump shows the canceller waiting for the work its kworker runs");
	kenv_cancel_delayed_work_sync(&dwork5);
}

/*
 * A cancel drops an instance that waits on a busy runner's inbox at once, as
 * the kernel takes it off the worklist, instead of waiting for the runner to
 * reach it; the work can be queued again at once, and a delayed instance
 * queued behind the dropped entry still waits for its delay.
 */
static _Atomic(bool) blocker_in, blocker_go;
static _Atomic(int) dwork7_runs, cancel7_done;
static _Atomic(uint64_t) dwork7_ran_at;
static struct kenv_work blocker;
static struct kenv_delayed_work dwork7;

static void blocker_fn(struct kenv_work *w)
{
	(void)w;
	atomic_store(&blocker_in, true);
	while (!atomic_load(&blocker_go))
		sleep_ms(1);
	atomic_store(&blocker_in, false);
}

static void dwork7_fn(struct kenv_work *w)
{
	(void)w;
	atomic_store(&dwork7_ran_at, kenv_clock_ns());
	atomic_fetch_add(&dwork7_runs, 1);
}

static void *cancel7_thread(void *arg)
{
	(void)arg;
	atomic_store(&cancel7_done, kenv_cancel_delayed_work_sync(&dwork7) ? 1 : 2);
	return NULL;
}

/* Hold cpu0's kworker in the blocker, then queue dwork7 behind it. */
static void block_and_queue(void)
{
	atomic_store(&blocker_go, false);
	kenv_queue_work(KENV_WQ_RECLAIM, &blocker);
	for (int i = 0; i < PATIENCE_MS && !atomic_load(&blocker_in); i++)
		sleep_ms(1);
	kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork7, 0);
}

static void release_blocker(void)
{
	atomic_store(&blocker_go, true);
	kenv_flush_work(&blocker);
}

static void test_cancel_behind_busy_runner(void)
{
	const uint64_t delay = 200ull * 1000 * 1000;
	pthread_t thr;
	int returned, requeued, runs_after_requeue;
	uint64_t queued_at;
	bool held_back;

	kenv_work_init(&blocker, blocker_fn);
	kenv_delayed_work_init(&dwork7, dwork7_fn);

	/* Dropped while the runner is busy elsewhere. */
	block_and_queue();
	posix_thread_create(&thr, "canceller", POSIX_ROLE_KTHREAD, 1, cancel7_thread, NULL);
	for (int i = 0; i < 1000 && !atomic_load(&cancel7_done); i++)
		sleep_ms(1);
	returned = atomic_load(&cancel7_done);
	/* Queued again while the dropped entry is still on the inbox: it runs once. */
	requeued = kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork7, 0);
	release_blocker();
	pthread_join(thr, NULL);
	for (int i = 0; i < 1000 && atomic_load(&dwork7_runs) < 1; i++)
		sleep_ms(1);
	sleep_ms(20);
	runs_after_requeue = atomic_load(&dwork7_runs);
	OK(returned == 1 && requeued && runs_after_requeue == 1,
	   "cancel_delayed_work_sync drops an instance behind a busy runner at once "
	   "(returned, pending, while the runner was busy: %d), and the work queued again "
	   "runs once (queued: %d, runs: %d)", returned == 1, requeued, runs_after_requeue);

	/* Dropped, then queued with a delay behind the dropped entry. */
	block_and_queue();
	kenv_cancel_delayed_work_sync(&dwork7);
	queued_at = kenv_clock_ns();
	kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork7, delay);
	release_blocker();
	for (int i = 0; i < PATIENCE_MS && atomic_load(&dwork7_runs) < 2; i++)
		sleep_ms(1);
	held_back = atomic_load(&dwork7_ran_at) >= queued_at + delay;
	OK(atomic_load(&dwork7_runs) == 2 && held_back,
	   "a delayed instance queued behind a dropped entry runs once, after its delay "
	   "(runs: %d, after its delay: %d)", atomic_load(&dwork7_runs), held_back);
}

/*
 * The kernel's refill kick initialises its hrtimer again before each start,
 * and may do it while the last fire still runs: the fire's end must then
 * count nothing, or the timer reads as fired-in-flight forever and a
 * cancel's wait for it never ends.
 */
static _Atomic(int) reinit_runs;
static struct kenv_timer reinit_timer;

static void reinit_fn(struct kenv_timer *t)
{
	kenv_timer_init(t, reinit_fn);
	atomic_fetch_add(&reinit_runs, 1);
}

static uint64_t timers_fired(void)
{
	struct posix_env_stats st;

	posix_env_stats(&st);
	return st.timers_fired;
}

static void test_timer_reinit_in_fire(void)
{
	uint64_t fired = timers_fired();
	unsigned int state;

	kenv_timer_init(&reinit_timer, reinit_fn);
	kenv_timer_start(&reinit_timer, 1000 * 1000);
	/* The fire is counted after its end has touched the state. */
	for (int i = 0; i < PATIENCE_MS && timers_fired() == fired; i++)
		sleep_ms(1);
	state = atomic_load(&reinit_timer.state);
	OK(atomic_load(&reinit_runs) == 1 && state == 0,
	   "a timer initialised again while its fire runs counts no fire after it "
	   "(runs: %d, state: %#x)", atomic_load(&reinit_runs), state);
}

/*
 * hrtimer_cancel() waits for a handler running elsewhere: the kernel's exit
 * cancels the refill kick's timer and then the work its handler queues.  The
 * fire in flight is made by hand, as in test_fire_during_cancel().
 */
static struct kenv_timer sync_timer;
static _Atomic(bool) sync_cancel_done;

static void sync_timer_fn(struct kenv_timer *t)
{
	(void)t;
}

static void *sync_cancel_thread(void *arg)
{
	(void)arg;
	kenv_timer_cancel_sync(&sync_timer);
	atomic_store(&sync_cancel_done, true);
	return NULL;
}

static void test_timer_cancel_sync(void)
{
	pthread_t thr;
	bool waited, ended;

	kenv_timer_init(&sync_timer, sync_timer_fn);
	kenv_timer_start(&sync_timer, 1000 * 1000 * 1000);
	OK(kenv_timer_cancel_sync(&sync_timer) && !kenv_timer_cancel_sync(&sync_timer),
	   "timer_cancel_sync: pending once, then not");
	atomic_fetch_add(&sync_timer.state, POSIX_TIMER_RUNNING_ONE);
	posix_thread_create(&thr, "canceller", POSIX_ROLE_KTHREAD, 0, sync_cancel_thread, NULL);
	for (int i = 0; i < 50 && !atomic_load(&sync_cancel_done); i++)
		sleep_ms(1);
	waited = !atomic_load(&sync_cancel_done);
	atomic_fetch_sub(&sync_timer.state, POSIX_TIMER_RUNNING_ONE);
	pthread_join(thr, NULL);
	ended = atomic_load(&sync_cancel_done);
	OK(waited && ended, "timer_cancel_sync waits for a fire in flight, and returns after its "
	   "end (waited: %d, returned: %d)", waited, ended);
}

/*
 * A checkpoint that cannot pause the flood names the thread that stayed
 * atomic since the pause began (posix_stuck_since()): one spinning under a
 * raw lock with irqs off is named, one sleeping is not.
 */
static struct kenv_lock spin_lock;
static _Atomic(int) spinner_id = -1;
static _Atomic(bool) spin_stop;

static void *spinner_thread(void *arg)
{
	unsigned long flags;

	(void)arg;
	flags = kenv_local_irq_save();
	kenv_raw_spin_lock(&spin_lock);
	atomic_store(&spinner_id, (int)(posix_cur() - posix_thread_table));
	while (!atomic_load(&spin_stop))
		;
	kenv_raw_spin_unlock(&spin_lock);
	kenv_local_irq_restore(flags);
	return NULL;
}

static void *sleeper_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&spin_stop))
		sleep_ms(1);
	return NULL;
}

/*
 * A hang dump names the holder of the page allocator's mutex: a thread held
 * inside page_get() (posix_page_locked_hook) shows as its holder, and the
 * lock shows free once it has left.
 */
static _Atomic(bool) page_hold_in, page_hold_go;

static void page_hold(void)
{
	if (!posix_me || strcmp(posix_me->name, "page-holder"))
		return;
	atomic_store(&page_hold_in, true);
	for (int i = 0; i < PATIENCE_MS && !atomic_load(&page_hold_go); i++)
		sleep_ms(1);
}

static void *page_holder_thread(void *arg)
{
	(void)arg;
	kenv_page_free(kenv_page_alloc(KENV_GFP_KERNEL));
	return NULL;
}

static void test_dump_page_lock(void)
{
	pthread_t thr;
	bool held, freed;

	atomic_store(&posix_page_locked_hook, page_hold);
	posix_thread_create(&thr, "page-holder", POSIX_ROLE_KTHREAD, 0, page_holder_thread, NULL);
	for (int i = 0; i < PATIENCE_MS && !atomic_load(&page_hold_in); i++)
		sleep_ms(1);
	held = dump_has("page allocator lock: held by page-holder");
	atomic_store(&page_hold_go, true);
	pthread_join(thr, NULL);
	atomic_store(&posix_page_locked_hook, NULL);
	freed = dump_has("page allocator lock: free");
	OK(held && freed, "the hang dump names the page allocator lock's holder (held: %d, "
	   "free after: %d)", held, freed);
}

/* The same for the checker's own lock, which threads spin on without a scheduling point. */
static _Atomic(bool) checker_hold_in, checker_hold_go;

static void *checker_holder_thread(void *arg)
{
	(void)arg;
	check_shadow_lock();
	atomic_store(&checker_hold_in, true);
	for (int i = 0; i < PATIENCE_MS && !atomic_load(&checker_hold_go); i++)
		sleep_ms(1);
	check_shadow_unlock();
	return NULL;
}

static void test_dump_checker_lock(void)
{
	pthread_t thr;
	bool held, freed;

	posix_thread_create(&thr, "checker-holder", POSIX_ROLE_KTHREAD, 0, checker_holder_thread,
			    NULL);
	for (int i = 0; i < PATIENCE_MS && !atomic_load(&checker_hold_in); i++)
		sleep_ms(1);
	held = dump_has("checker lock: held by checker-holder");
	atomic_store(&checker_hold_go, true);
	pthread_join(thr, NULL);
	freed = dump_has("checker lock: free");
	OK(held && freed, "the hang dump names the checker lock's holder (held: %d, free after: %d)",
	   held, freed);
}

/* A second thread that wants spin_lock while the spinner holds it. */
static _Atomic(bool) lock_waiter_done;

static void *lock_waiter_thread(void *arg)
{
	unsigned long flags;

	(void)arg;
	flags = kenv_local_irq_save();
	kenv_raw_spin_lock(&spin_lock);
	kenv_raw_spin_unlock(&spin_lock);
	kenv_local_irq_restore(flags);
	atomic_store(&lock_waiter_done, true);
	return NULL;
}

/*
 * posix_cpu_enter_avoiding(): a user thread on a CPU the caller avoids moves
 * to the next online one it does not (a duty cycle's quiet CPU: a flooder
 * that stayed there left the other CPU without calls); a kthread stays on its
 * own; with every CPU avoided, a user thread stays too.
 */
static bool avoid_cpu0(int cpu)
{
	return cpu == 0;
}

static bool avoid_all(int cpu)
{
	(void)cpu;
	return true;
}

static void *enter_avoiding_thread(void *arg)
{
	int *got = arg;

	got[0] = posix_cpu_enter_avoiding(avoid_cpu0);
	posix_cpu_exit();
	got[1] = posix_cpu_enter_avoiding(avoid_all);
	posix_cpu_exit();
	return NULL;
}

static void test_enter_avoiding(void)
{
	int user[2] = { -1, -1 }, kthread[2] = { -1, -1 };
	pthread_t thr;

	posix_thread_create(&thr, "enter-user", POSIX_ROLE_USER, 0, enter_avoiding_thread, user);
	pthread_join(thr, NULL);
	posix_thread_create(&thr, "enter-kthread", POSIX_ROLE_KTHREAD, 0, enter_avoiding_thread,
			    kthread);
	pthread_join(thr, NULL);
	OK(user[0] == 1 && user[1] == 1, "a user thread on an avoided CPU enters the next one, "
	   "and stays there when every CPU is avoided (entered cpu%d, then cpu%d)", user[0],
	   user[1]);
	OK(kthread[0] == 0 && kthread[1] == 0, "a kthread enters its own CPU, avoided or not "
	   "(entered cpu%d, then cpu%d)", kthread[0], kthread[1]);
}

static void test_stuck_since(void)
{
	static uint64_t points[POSIX_MAX_THREADS];
	pthread_t spinner, sleeper, waiter;
	int before, named;
	bool spin_dumped;

	kenv_lock_init(&spin_lock, "spin_lock");
	posix_thread_create(&sleeper, "sleeper", POSIX_ROLE_KTHREAD, 1, sleeper_thread, NULL);
	posix_points_snapshot(points);
	sleep_ms(20);
	before = posix_stuck_since(points);
	posix_thread_create(&spinner, "spinner", POSIX_ROLE_KTHREAD, 0, spinner_thread, NULL);
	for (int i = 0; i < PATIENCE_MS && atomic_load(&spinner_id) < 0; i++)
		sleep_ms(1);
	posix_points_snapshot(points);
	sleep_ms(20);
	named = posix_stuck_since(points);
	posix_thread_create(&waiter, "lock-waiter", POSIX_ROLE_KTHREAD, 1, lock_waiter_thread, NULL);
	sleep_ms(20);
	spin_dumped = !atomic_load(&lock_waiter_done) &&
		      dump_has("spins on spin_lock: held by spinner (frame 0, kthread)");
	atomic_store(&spin_stop, true);
	pthread_join(spinner, NULL);
	pthread_join(sleeper, NULL);
	pthread_join(waiter, NULL);
	OK(spin_dumped, "a hang dump names the lock a thread spins on and the thread holding it");
	OK(before == -1 && named >= 0 && named == atomic_load(&spinner_id),
	   "posix_stuck_since names the thread spinning atomic, not the sleeping one "
	   "(before the spinner: %d, named: %d, spinner: %d)", before, named,
	   atomic_load(&spinner_id));
}

/*
 * Starvation by the host: a reclaiming thread (role ENV) pinned beside a
 * spinning thread on one CPU, at nice 19, waits for that CPU nearly all the
 * time it is runnable.  posix_starved_ns() counts that, the hang dump shows
 * it against the thread, and a quiet spell (the pair gone) counts far less.
 */
static _Atomic(bool) starve_stop;
static _Atomic(int) starve_ready;
static int starve_cpu;

static void pin_here(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(starve_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *starve_hog(void *arg)
{
	(void)arg;
	pin_here();
	atomic_fetch_add(&starve_ready, 1);
	while (!atomic_load_explicit(&starve_stop, memory_order_relaxed))
		;
	return NULL;
}

/* Pinned beside the hog at nice 19: the starved reclaimer, or flooder. */
static void *niced_spinner(void *arg)
{
	(void)arg;
	pin_here();
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	atomic_fetch_add(&starve_ready, 1);
	while (!atomic_load_explicit(&starve_stop, memory_order_relaxed))
		;
	return NULL;
}

/* Samples posix_starved_ns() for @ms; returns what it grew by. */
static uint64_t starved_over(unsigned int ms)
{
	uint64_t before = posix_starved_ns();

	for (unsigned int t = 0; t < ms; t += 25) {
		sleep_ms(25);
		(void)posix_starved_ns();
	}
	return posix_starved_ns() - before;
}

static void test_starved(void)
{
	static char buf[1 << 16];
	unsigned long long ran = 0, waited = 0;
	char state = '?';
	const char *line;
	cpu_set_t mine;
	pthread_t hog, victim;
	uint64_t t0, hog_ns, hog_wall, idle_ns, idle_wall;
	FILE *f;
	size_t n;

	starve_cpu = 0;
	if (!sched_getaffinity(0, sizeof(mine), &mine))
		while (starve_cpu < CPU_SETSIZE - 1 && !CPU_ISSET(starve_cpu, &mine))
			starve_cpu++;
	pthread_create(&hog, NULL, starve_hog, NULL);
	posix_thread_create(&victim, "starved-reclaimer", POSIX_ROLE_ENV, 0, niced_spinner,
			    NULL);
	while (atomic_load(&starve_ready) < 2)
		sleep_ms(1);
	(void)posix_watchdog_scan(UINT64_MAX);	/* the dump's "since" starts here */
	(void)posix_starved_ns();
	t0 = kenv_clock_ns();
	hog_ns = starved_over(600);
	hog_wall = kenv_clock_ns() - t0;
	f = tmpfile();
	n = 0;
	if (f) {
		posix_dump_threads(fileno(f));
		rewind(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	line = strstr(buf, "starved-reclaimer");
	line = line ? strstr(line, "since: ") : NULL;
	if (line)
		sscanf(line, "since: on a CPU %llu ms, waiting for one %llu ms; state %c", &ran,
		       &waited, &state);
	atomic_store(&starve_stop, true);
	pthread_join(hog, NULL);
	pthread_join(victim, NULL);
	t0 = kenv_clock_ns();
	idle_ns = starved_over(600);
	idle_wall = kenv_clock_ns() - t0;
	OK(hog_ns >= hog_wall / 2, "a reclaiming thread at nice 19 beside a spinner counts as "
	   "starved: %llu of %llu ms", (unsigned long long)(hog_ns / 1000000u),
	   (unsigned long long)(hog_wall / 1000000u));
	OK(idle_ns < idle_wall / 2 && idle_ns < hog_ns,
	   "with the pair gone, far less counts: %llu of %llu ms",
	   (unsigned long long)(idle_ns / 1000000u), (unsigned long long)(idle_wall / 1000000u));
	OK(waited > ran && state == 'R', "the hang dump shows the thread waiting for a CPU: "
	   "on one %llu ms, waiting %llu ms, state %c", ran, waited, state);
}

/*
 * The other threads count only when the host holds them in its kernel (D).
 * A flooder (role USER) at nice 19 beside the spinner, runnable and off the
 * CPU as the reclaimer above was, counts nothing: the flood's own threads
 * keep the readers, always runnable, off the CPUs all the time.  A flooder
 * blocked in the host's kernel counts: a thread whose vfork child sleeps
 * until the test has sampled (clone() with CLONE_VFORK, the parent waits
 * killable, which Linux shows as D).  Not under TSan, whose clone()
 * interceptor cannot take a child that shares the address space.
 */

#ifndef POSIX_TSAN
static const struct timespec vfork_nap = { .tv_sec = 0, .tv_nsec = 5 * 1000000l };
/* Set by the vfork child once it runs; set by the test once it has sampled. */
static int vfork_running, vfork_release;

/* The vfork child: the parent's memory, its own stack; system calls only. */
__attribute__((no_sanitize("address", "undefined")))
static int vfork_child(void *arg)
{
	(void)arg;
	__atomic_store_n(&vfork_running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&vfork_release, __ATOMIC_ACQUIRE))
		syscall(SYS_nanosleep, &vfork_nap, NULL);
	return 0;
}

static void *blocked_flooder(void *arg)
{
	static char stack[1 << 16] __attribute__((aligned(16)));
	pid_t child;

	(void)arg;
	child = clone(vfork_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	if (child > 0)
		waitpid(child, NULL, 0);
	return (void *)(intptr_t)(child > 0);
}
#endif

static void test_starved_flooder(void)
{
	pthread_t hog, victim;
	uint64_t t0, ns, wall;

	atomic_store(&starve_stop, false);
	atomic_store(&starve_ready, 0);
	pthread_create(&hog, NULL, starve_hog, NULL);
	posix_thread_create(&victim, "starved-flooder", POSIX_ROLE_USER, 0, niced_spinner, NULL);
	while (atomic_load(&starve_ready) < 2)
		sleep_ms(1);
	/*
	 * Up to three windows, the first that counts less than half: a host
	 * stall holding the environment's threads in D counts, rightly, and
	 * is rare enough not to come back three times.
	 */
	for (int tries = 0; tries < 3; tries++) {
		(void)posix_starved_ns();
		t0 = kenv_clock_ns();
		ns = starved_over(600);
		wall = kenv_clock_ns() - t0;
		if (ns < wall / 2)
			break;
		tap_diag("window %d counted %llu of %llu ms", tries + 1,
			 (unsigned long long)(ns / 1000000u), (unsigned long long)(wall / 1000000u));
	}
	atomic_store(&starve_stop, true);
	pthread_join(hog, NULL);
	pthread_join(victim, NULL);
	OK(ns < wall / 2, "a flooder at nice 19 beside a spinner, runnable, counts (next to) "
	   "nothing: %llu of %llu ms", (unsigned long long)(ns / 1000000u),
	   (unsigned long long)(wall / 1000000u));
#ifndef POSIX_TSAN
	{
		void *cloned = NULL;

		posix_thread_create(&victim, "blocked-flooder", POSIX_ROLE_USER, 0,
				    blocked_flooder, NULL);
		for (int ms = 0; ms < PATIENCE_MS &&
				 !__atomic_load_n(&vfork_running, __ATOMIC_ACQUIRE); ms++)
			sleep_ms(1);
		sleep_ms(20);
		(void)posix_starved_ns();
		t0 = kenv_clock_ns();
		ns = starved_over(600);
		wall = kenv_clock_ns() - t0;
		__atomic_store_n(&vfork_release, 1, __ATOMIC_RELEASE);
		pthread_join(victim, &cloned);
		OK(cloned && ns >= wall / 2, "a flooder blocked in the host's kernel (a vfork "
		   "parent) counts: %llu of %llu ms (cloned: %d)",
		   (unsigned long long)(ns / 1000000u), (unsigned long long)(wall / 1000000u),
		   cloned != NULL);
	}
#endif
}

static void test_timer_lock_softirq(void)
{
	pthread_t thr[3];
	bool held;

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
	held = kenv_lock_held(&lock) && !kenv_preemptible();
	kenv_raw_spin_unlock(&lock);
	OK(counter == 600000 && held && !kenv_lock_held(&lock),
	   "raw lock: %ld of 600000 increments, held/preemptible tracked", counter);

	/* Softirqs: raised under bh-off, run at the bh enable in softirq context. */
	posix_open_softirq(POSIX_SOFTIRQ_FLOOD, test_softirq);
	kenv_local_bh_disable();
	posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
	OK(atomic_load(&softirq_runs) == 0, "a softirq raised with bh off waits");
	kenv_local_bh_enable();
	OK(atomic_load(&softirq_runs) == 1 && atomic_load(&softirq_ctx_ok) == 1,
	   "and runs at the bh enable, in softirq context");
}

int main(void)
{
	struct posix_env_config cfg;

	posix_env_config_default(&cfg);
	cfg.nr_cpus = 2;
	check_reset();
	posix_env_start(&cfg);
	test_interrupts();
	test_rcu();
	test_work();
	test_fire_during_cancel();
	test_cancel_ignores_new_instance();
	test_cancel_behind_busy_runner();
	test_timer_reinit_in_fire();
	test_timer_cancel_sync();
	test_enter_avoiding();
	test_stuck_since();
	test_dump_page_lock();
	test_dump_checker_lock();
	test_timer_lock_softirq();
	test_events();
	test_starved();
	test_starved_flooder();
	posix_env_stop();
	test_timing_configuration();
	return tap_done();
}
