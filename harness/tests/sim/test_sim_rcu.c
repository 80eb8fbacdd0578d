/* SPDX-License-Identifier: MIT */
/*
 * test_sim_rcu - the sim's grace periods: a GP cannot end while a reader
 * that predates it is inside (and can while only younger readers are);
 * polled cookies pass exactly after a full GP, across the counter wrap;
 * synchronize_rcu blocks a coroutine until the GP; call_rcu callbacks run in
 * softirq context on their CPU after the GP; rcu_barrier; automatic GPs take
 * their configured virtual duration; read-side sections in code hold GPs.
 */
#include <string.h>

#include "check.h"
#include "kenv.h"
#include "sim.h"
#include "tap.h"

static void setup(unsigned int cpus, bool auto_gp, uint64_t gp_ns)
{
	struct sim_config cfg;

	sim_config_default(&cfg);
	cfg.nr_cpus = cpus;
	cfg.auto_gp = auto_gp;
	cfg.gp_duration_ns = gp_ns;
	sim_init(&cfg);
}

static unsigned long gps_completed(void)
{
	struct sim_stats st;

	sim_stats(&st);
	return st.gps_completed;
}

static void test_readers(void)
{
	int old, young;

	setup(2, false, 0);
	old = sim_reader_begin(0);
	TAP_OK(old >= 0, "readers: begin returns an id");
	sim_gp_start();
	TAP_OK(sim_gp_in_progress(), "readers: GP in progress after start");
	TAP_OK(!sim_gp_try_end(), "readers: a GP cannot end while an older reader is inside");
	young = sim_reader_begin(1);
	sim_reader_end(old);
	TAP_OK(sim_gp_try_end(), "readers: ends once the older reader left, a younger one inside");
	TAP_EQ(sim_readers_inside(), 1, "readers: the younger reader is still inside");
	TAP_OK(!sim_gp_complete(), "readers: the next GP is held by the (now older) reader");
	TAP_OK(sim_gp_in_progress(), "readers: ... and stays in progress");
	sim_reader_end(young);
	TAP_OK(sim_gp_complete(), "readers: completes once it left");
	TAP_EQ(gps_completed(), 2, "readers: two GPs completed");
	sim_fini();
}

static void test_cookies(void)
{
	unsigned long c, c2, seq0;
	int i, bad = 0;

	setup(1, false, 0);
	seq0 = sim_gp_seq();
	c = kenv_get_state_synchronize_rcu();
	TAP_OK(!kenv_poll_state_synchronize_rcu(c), "cookie: not passed before any GP");
	TAP_OK(!sim_gp_needed(), "cookie: get_state alone asks for no GP");
	TAP_OK(sim_gp_complete(), "cookie: one GP");
	TAP_OK(kenv_poll_state_synchronize_rcu(c), "cookie: taken while idle, passed after one GP");

	sim_gp_start();
	c2 = kenv_get_state_synchronize_rcu();
	TAP_OK(sim_gp_try_end(), "cookie: the GP in progress ends");
	TAP_OK(!kenv_poll_state_synchronize_rcu(c2),
	       "cookie: taken during a GP, not passed by the end of that GP");
	sim_gp_complete();
	TAP_OK(kenv_poll_state_synchronize_rcu(c2), "cookie: passed after the next full GP");

	/* The counter starts 300 GPs below the wrap: cross it. */
	for (i = 0; i < 400; i++) {
		c = kenv_get_state_synchronize_rcu();
		bad += kenv_poll_state_synchronize_rcu(c);
		sim_gp_complete();
		bad += !kenv_poll_state_synchronize_rcu(c);
		bad += !kenv_poll_state_synchronize_rcu(c2);
	}
	TAP_EQ(bad, 0, "cookie: 400 GPs across the counter wrap poll correctly");
	TAP_OK(sim_gp_seq() < seq0, "cookie: the sequence counter wrapped (%lu < %lu)",
	       sim_gp_seq(), seq0);
	sim_fini();
}

static int sync_done;

static void syncer(void *arg)
{
	(void)arg;
	kenv_synchronize_rcu();
	sync_done = 1;
}

static void test_synchronize(void)
{
	int id, r;

	setup(2, false, 0);
	sync_done = 0;
	r = sim_reader_begin(0);
	id = sim_spawn(1, KENV_CTX_TASK, syncer, NULL, "syncer");
	TAP_OK(!sim_task_done(id) && !sync_done, "synchronize_rcu: the task blocks");
	sim_run_pending();
	sim_advance(1000000000);
	TAP_OK(!sync_done, "synchronize_rcu: explicit mode, no GP, still blocked");
	TAP_OK(!sim_gp_complete(), "synchronize_rcu: the GP is held by the reader");
	sim_run_pending();
	TAP_OK(!sync_done, "synchronize_rcu: still blocked while the reader is inside");
	sim_reader_end(r);
	TAP_OK(sim_gp_complete(), "synchronize_rcu: the GP ends");
	sim_run_pending();
	TAP_OK(sync_done && sim_task_done(id), "synchronize_rcu: the task returned after the GP");
	TAP_EQ(gps_completed(), 1, "synchronize_rcu: after exactly one GP");
	sim_fini();
}

static struct kenv_rcu_head heads[4];
static struct {
	int n;
	enum kenv_ctx ctx[4];
	int cpu[4];
	uint64_t at[4];
} cb;

static void rcu_cb(struct kenv_rcu_head *h)
{
	cb.ctx[cb.n] = kenv_context();
	cb.cpu[cb.n] = kenv_cpu();
	cb.at[cb.n] = kenv_clock_ns();
	cb.n++;
	(void)h;
}

static void queue_cb(void *arg)
{
	kenv_call_rcu(arg, rcu_cb);
}

static void test_call_rcu(void)
{
	setup(2, false, 0);
	memset(&cb, 0, sizeof(cb));
	sim_spawn(1, KENV_CTX_TASK, queue_cb, &heads[0], "caller");
	TAP_OK(sim_gp_needed(), "call_rcu: asks for a GP");
	sim_run_pending();
	TAP_EQ(cb.n, 0, "call_rcu: nothing runs before the GP");
	sim_gp_start();
	sim_spawn(1, KENV_CTX_TASK, queue_cb, &heads[1], "caller");
	TAP_OK(sim_gp_try_end(), "call_rcu: first GP ends");
	sim_run_pending();
	TAP_EQ(cb.n, 1, "call_rcu: only the callback queued before the GP ran");
	TAP_EQ(cb.ctx[0], KENV_CTX_SOFTIRQ, "call_rcu: callback in softirq context");
	TAP_EQ(cb.cpu[0], 1, "call_rcu: callback on the queueing CPU");
	sim_gp_complete();
	TAP_EQ(cb.n, 2, "call_rcu: the second callback after the second GP");
	sim_fini();

	/* Automatic GPs take gp_duration_ns of virtual time. */
	setup(2, true, 5000);
	memset(&cb, 0, sizeof(cb));
	sim_spawn(0, KENV_CTX_TASK, queue_cb, &heads[0], "caller");
	sim_run_pending();
	TAP_OK(sim_gp_in_progress(), "auto: a GP started by itself");
	sim_advance(4999);
	TAP_EQ(cb.n, 0, "auto: not before the GP duration");
	sim_advance(1);
	TAP_EQ(cb.n, 1, "auto: callback after the GP duration");
	TAP_EQ(cb.at[0], 5000, "auto: callback time");
	TAP_OK(!sim_gp_in_progress() && !sim_gp_needed(), "auto: idle when nothing needs a GP");

	/* rcu_barrier from the driver waits for callbacks on every CPU. */
	sim_spawn(0, KENV_CTX_TASK, queue_cb, &heads[1], "caller");
	sim_spawn(1, KENV_CTX_TASK, queue_cb, &heads[2], "caller");
	sim_spawn(1, KENV_CTX_TASK, queue_cb, &heads[3], "caller");
	kenv_rcu_barrier();
	TAP_EQ(cb.n, 4, "rcu_barrier: every earlier callback ran before it returned");
	TAP_OK(sim_quiesce(), "auto: quiesces");
	sim_fini();
}

static struct {
	unsigned long cookie;
	bool passed;
} rt;

static void code_reader(void *arg)
{
	(void)arg;
	kenv_rcu_read_lock();
	rt.cookie = kenv_get_state_synchronize_rcu();
	/* A bug on purpose: reported, and it must return, not deadlock. */
	kenv_synchronize_rcu();
	rt.passed = kenv_poll_state_synchronize_rcu(rt.cookie);
	kenv_rcu_read_unlock();
}

static void test_code_readers(void)
{
	setup(1, false, 0);
	memset(&rt, 0, sizeof(rt));
	check_set_quiet(true);
	sim_spawn(0, KENV_CTX_TASK, code_reader, NULL, "reader");
	check_set_quiet(false);
	TAP_EQ(check_count(INV_NO_ALLOC_ATOMIC), 1,
	       "rcu_read_lock: synchronize_rcu inside a read-side section is reported");
	TAP_OK(!rt.passed, "rcu_read_lock: ... and returned without a GP over its own reader");
	TAP_OK(sim_gp_in_progress(), "rcu_read_lock: the GP it started stayed in progress");
	TAP_OK(sim_gp_try_end(), "rcu_read_lock: the GP ends after the section closed");
	TAP_OK(kenv_poll_state_synchronize_rcu(rt.cookie), "rcu_read_lock: cookie passed then");
	sim_fini();
}

int main(void)
{
	check_set_mode(CHECK_RECORD);
	test_readers();
	test_cookies();
	test_synchronize();
	test_call_rcu();
	test_code_readers();
	return tap_done();
}
