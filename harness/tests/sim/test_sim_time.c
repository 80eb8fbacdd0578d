/* SPDX-License-Identifier: MIT */
/*
 * test_sim_time - virtual time, timers and work queues of the sim: timers
 * fire at their virtual time in hardirq context on the arming CPU; work
 * pending-bit semantics; delayed work queue/mod/cancel; flush waits for the
 * instance queued before it; work runs in kthread context.
 */
#include <string.h>

#include "check.h"
#include "kenv.h"
#include "sim.h"
#include "tap.h"

static unsigned long sim_stats_sleeps(void)
{
	struct sim_stats st;

	sim_stats(&st);
	return st.sleeps;
}

static void setup(unsigned int cpus)
{
	struct sim_config cfg;

	sim_config_default(&cfg);
	cfg.nr_cpus = cpus;
	sim_init(&cfg);
}

/* ---- timers ------------------------------------------------------------------ */

static struct kenv_timer timer;
static struct {
	int fired;
	uint64_t at;
	enum kenv_ctx ctx;
	bool irqs_off, preemptible;
	int cpu;
} tf;

static void timer_fn(struct kenv_timer *t)
{
	tf.fired++;
	tf.at = kenv_clock_ns();
	tf.ctx = kenv_context();
	tf.irqs_off = kenv_irqs_disabled();
	tf.preemptible = kenv_preemptible();
	tf.cpu = kenv_cpu();
}

static void arm_from_task(void *arg)
{
	kenv_timer_start(&timer, (uint64_t)(uintptr_t)arg);
}

static void test_timers(void)
{
	setup(2);
	memset(&tf, 0, sizeof(tf));
	kenv_timer_init(&timer, timer_fn);

	sim_set_driver_cpu(1);
	kenv_timer_start(&timer, 1000);
	sim_advance(999);
	TAP_EQ(tf.fired, 0, "timer: not fired 1 ns early");
	sim_advance(1);
	TAP_EQ(tf.fired, 1, "timer: fired at its expiry");
	TAP_EQ(tf.at, 1000, "timer: virtual time at the handler");
	TAP_EQ(tf.ctx, KENV_CTX_HARDIRQ, "timer: handler context");
	TAP_OK(tf.irqs_off && !tf.preemptible, "timer: irqs off, not preemptible in the handler");
	TAP_EQ(tf.cpu, 1, "timer: fires on the CPU that armed it");

	kenv_timer_start(&timer, 500);
	TAP_OK(kenv_timer_cancel(&timer), "timer: cancel of an armed timer returns true");
	TAP_OK(!kenv_timer_cancel(&timer), "timer: cancel of an idle timer returns false");
	sim_advance(10000);
	TAP_EQ(tf.fired, 1, "timer: a cancelled timer does not fire");
	kenv_timer_start(&timer, 500);
	TAP_OK(kenv_timer_cancel_sync(&timer) && !kenv_timer_cancel_sync(&timer),
	       "timer: cancel_sync of an armed timer returns true, then false");
	TAP_OK(!kenv_timer_pending(&timer), "timer: not pending after cancel_sync");

	/* Re-arming moves the expiry; it fires once. */
	kenv_timer_start(&timer, 100);
	kenv_timer_start(&timer, 300);
	sim_advance(200);
	TAP_EQ(tf.fired, 1, "timer: re-armed timer did not fire at the old expiry");
	sim_advance(100);
	TAP_EQ(tf.fired, 2, "timer: re-armed timer fired once at the new expiry");
	TAP_EQ(tf.at, 11300, "timer: new expiry time");

	sim_set_driver_cpu(0);
	sim_spawn(0, KENV_CTX_TASK, arm_from_task, (void *)(uintptr_t)50, "armer");
	TAP_OK(sim_next_event(&tf.at) && tf.at == sim_now() + 50, "timer: next event is the armed timer");
	sim_advance(50);
	TAP_OK(tf.fired == 3 && tf.cpu == 0, "timer: armed in a task on cpu0 fires there (cpu %d)",
	       tf.cpu);
	sim_fini();
}

/* ---- work ---------------------------------------------------------------------- */

static struct kenv_work work;
static struct kenv_delayed_work dwork;
static char log_buf[128];
static struct {
	int runs;
	uint64_t at;
	enum kenv_ctx ctx;
	int cpu;
	bool sleepable;
} wf;

static void log_add(const char *s)
{
	strncat(log_buf, s, sizeof(log_buf) - strlen(log_buf) - 1);
}

static void work_fn(struct kenv_work *w)
{
	wf.runs++;
	wf.at = kenv_clock_ns();
	wf.ctx = kenv_context();
	wf.cpu = kenv_cpu();
	wf.sleepable = kenv_preemptible();
	log_add("W");
}

static void flusher(void *arg)
{
	(void)arg;
	log_add("f");
	kenv_flush_work(&work);
	log_add("F");
}

static void test_work(void)
{
	setup(2);
	memset(&wf, 0, sizeof(wf));
	log_buf[0] = 0;
	kenv_work_init(&work, work_fn);

	TAP_OK(kenv_queue_work(KENV_WQ_HIGHPRI, &work), "work: first queue returns true");
	TAP_OK(!kenv_queue_work(KENV_WQ_HIGHPRI, &work), "work: queue while pending returns false");
	sim_run_pending();
	TAP_EQ(wf.runs, 1, "work: a doubly queued work runs once");
	TAP_EQ(wf.ctx, KENV_CTX_KTHREAD, "work: runs in kthread context");
	TAP_OK(wf.sleepable, "work: a work function may sleep");
	TAP_OK(kenv_queue_work(KENV_WQ_HIGHPRI, &work), "work: queue again after it ran");
	sim_run_pending();
	TAP_EQ(wf.runs, 2, "work: queued again, runs again");

	/* flush from a task waits for the instance queued before it. */
	kenv_queue_work(KENV_WQ_RECLAIM, &work);
	log_buf[0] = 0;
	{
		int id = sim_spawn(1, KENV_CTX_TASK, flusher, NULL, "flusher");

		TAP_OK(!sim_task_done(id), "flush_work: the task blocks while the work is queued");
		sim_run_pending();
		TAP_OK(sim_task_done(id), "flush_work: the task finished after the work ran");
	}
	TAP_OK(!strcmp(log_buf, "fWF"), "flush_work: order flush-start, work, flush-return (%s)",
	       log_buf);
	/* flush from the driver drives the sim. */
	kenv_queue_work(KENV_WQ_RECLAIM, &work);
	kenv_flush_work(&work);
	TAP_EQ(wf.runs, 4, "flush_work from the driver ran the work before returning");
	TAP_EQ(sim_stats_sleeps(), 2, "flush_work: both flushes slept");
	sim_fini();
}

/* ---- delayed work ------------------------------------------------------------- */

static void dwork_fn(struct kenv_work *w)
{
	struct kenv_delayed_work *dw = kenv_to_delayed_work(w);

	work_fn(w);
	TAP_OK(dw == &dwork && !kenv_delayed_work_pending(dw),
	       "dwork: func runs with pending cleared (so it may re-queue)");
}

static void test_delayed_work(void)
{
	setup(1);
	memset(&wf, 0, sizeof(wf));
	kenv_delayed_work_init(&dwork, dwork_fn);

	TAP_OK(!kenv_delayed_work_pending(&dwork), "dwork: idle after init");
	TAP_OK(kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork, 1000), "dwork: queue returns true");
	TAP_OK(kenv_delayed_work_pending(&dwork), "dwork: pending after queue");
	TAP_EQ(kenv_delayed_work_expires(&dwork), 1000, "dwork: expiry");
	TAP_OK(!kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork, 500),
	       "dwork: queue while pending returns false");
	TAP_EQ(kenv_delayed_work_expires(&dwork), 1000, "dwork: a refused queue keeps the expiry");
	TAP_OK(kenv_mod_delayed_work(KENV_WQ_RECLAIM, &dwork, 200),
	       "dwork: mod of a pending work returns true");
	TAP_EQ(kenv_delayed_work_expires(&dwork), 200, "dwork: mod re-arms to the new delay");
	sim_advance(199);
	TAP_EQ(wf.runs, 0, "dwork: not run before the new expiry");
	sim_advance(1);
	TAP_EQ(wf.runs, 1, "dwork: ran at the new expiry");
	TAP_EQ(wf.at, 200, "dwork: run time");
	TAP_OK(!kenv_delayed_work_pending(&dwork), "dwork: idle after it ran");

	TAP_OK(!kenv_mod_delayed_work(KENV_WQ_RECLAIM, &dwork, 100),
	       "dwork: mod of an idle work returns false and queues it");
	TAP_OK(kenv_delayed_work_pending(&dwork), "dwork: pending after mod of idle");
	TAP_OK(kenv_cancel_delayed_work_sync(&dwork), "dwork: cancel of a pending work returns true");
	TAP_OK(!kenv_cancel_delayed_work_sync(&dwork), "dwork: cancel of an idle work returns false");
	sim_advance(1000);
	TAP_EQ(wf.runs, 1, "dwork: a cancelled work does not run");

	kenv_queue_delayed_work(KENV_WQ_RECLAIM, &dwork, 0);
	sim_run_pending();
	TAP_EQ(wf.runs, 2, "dwork: delay 0 runs without time passing");
	TAP_EQ(wf.at, sim_now(), "dwork: delay 0 run time is now");
	sim_fini();
}

/* ---- rcu_work ---------------------------------------------------------------------- */

static struct kenv_rcu_work rwork;
static unsigned long gps_at_run;

static void rwork_fn(struct kenv_work *w)
{
	struct sim_stats st;

	sim_stats(&st);
	gps_at_run = st.gps_completed;
	work_fn(w);
}

static void test_rcu_work(void)
{
	setup(1);
	memset(&wf, 0, sizeof(wf));
	kenv_rcu_work_init(&rwork, rwork_fn);

	TAP_OK(!kenv_rcu_work_busy(&rwork), "rcu_work: idle after init");
	TAP_OK(kenv_queue_rcu_work(KENV_WQ_RECLAIM, &rwork), "rcu_work: queue returns true");
	TAP_OK(kenv_rcu_work_busy(&rwork), "rcu_work: busy while waiting for its GP");
	TAP_OK(!kenv_queue_rcu_work(KENV_WQ_RECLAIM, &rwork), "rcu_work: queue while busy returns false");
	TAP_OK(sim_gp_needed(), "rcu_work: it asked for a GP");
	sim_run_pending();
	sim_advance(1000000);
	TAP_EQ(wf.runs, 0, "rcu_work: does not run without a GP (explicit mode)");
	TAP_OK(sim_gp_complete(), "rcu_work: a GP completes");
	TAP_EQ(wf.runs, 0, "rcu_work: the GP callback only queues the work");
	sim_run_pending();
	TAP_EQ(wf.runs, 1, "rcu_work: ran after the GP");
	TAP_EQ(gps_at_run, 1, "rcu_work: one GP had completed when it ran");
	TAP_OK(!kenv_rcu_work_busy(&rwork), "rcu_work: idle after it ran");

	/* flush_rcu_work from the driver pushes the GP through itself. */
	kenv_queue_rcu_work(KENV_WQ_RECLAIM, &rwork);
	kenv_flush_rcu_work(&rwork);
	TAP_EQ(wf.runs, 2, "flush_rcu_work: returns after the work ran");
	TAP_EQ(gps_at_run, 2, "flush_rcu_work: after a second GP");
	sim_fini();
}

int main(void)
{
	check_set_mode(CHECK_RECORD);
	test_timers();
	test_work();
	test_delayed_work();
	test_rcu_work();
	return tap_done();
}
