/* SPDX-License-Identifier: MIT */
/*
 * test_sim_ctx - execution contexts of the sim: an injected hardirq is held
 * back while irqs are disabled and delivered on restore; an NMI ignores the
 * mask; softirqs run at bh enable, at irq exit and in ksoftirqd; preemption
 * and migration happen only where preemptible and change kenv_cpu(); kthreads
 * stay on their CPU; a lock re-taken by an interrupt is reported (LOCKING)
 * without hanging; a sleeping call in atomic context is reported
 * (NO-ALLOC-ATOMIC) and returns.
 */
#include <string.h>

#include "check.h"
#include "kenv.h"
#include "sim.h"
#include "tap.h"

static char log_buf[256];

static void log_add(const char *s)
{
	strncat(log_buf, s, sizeof(log_buf) - strlen(log_buf) - 1);
}

static void setup(unsigned int cpus)
{
	struct sim_config cfg;

	sim_config_default(&cfg);
	cfg.nr_cpus = cpus;
	sim_init(&cfg);
	log_buf[0] = 0;
}

static struct {
	enum kenv_ctx ctx;
	bool in_hardirq, in_nmi, in_softirq, irqs_off;
	int cpu;
} seen;

static void note(void)
{
	seen.ctx = kenv_context();
	seen.in_hardirq = kenv_in_hardirq();
	seen.in_nmi = kenv_in_nmi();
	seen.in_softirq = kenv_in_softirq();
	seen.irqs_off = kenv_irqs_disabled();
	seen.cpu = kenv_cpu();
}

static void irq_fn(void *arg)
{
	(void)arg;
	note();
	log_add("I");
}

static void nmi_fn(void *arg)
{
	(void)arg;
	log_add("N");
	TAP_OK(kenv_in_nmi() && !kenv_in_hardirq(), "nmi: in_nmi inside the handler");
}

static void masked_task(void *arg)
{
	unsigned long flags;

	(void)arg;
	flags = kenv_local_irq_save();
	kenv_sched_point("masked");
	log_add("p");
	kenv_local_irq_restore(flags);
	log_add("r");
}

static void test_irq_mask(void)
{
	setup(1);
	sim_inject(0, KENV_CTX_HARDIRQ, irq_fn, NULL);
	sim_spawn(0, KENV_CTX_TASK, masked_task, NULL, "masked");
	TAP_OK(!strcmp(log_buf, "pIr"), "hardirq: held back while masked, delivered on restore (%s)",
	       log_buf);
	TAP_EQ(seen.ctx, KENV_CTX_HARDIRQ, "hardirq: handler context");
	TAP_OK(seen.in_hardirq && seen.irqs_off && !seen.in_nmi && !seen.in_softirq,
	       "hardirq: in_hardirq, irqs off inside, not in a softirq");

	log_buf[0] = 0;
	sim_inject(0, KENV_CTX_NMI, nmi_fn, NULL);
	sim_spawn(0, KENV_CTX_TASK, masked_task, NULL, "masked");
	TAP_OK(!strcmp(log_buf, "Npr"), "nmi: delivered at the first point despite the mask (%s)",
	       log_buf);

	/* Nothing reaches a point on the CPU: delivered when the sim is idle. */
	log_buf[0] = 0;
	sim_inject(0, KENV_CTX_HARDIRQ, irq_fn, NULL);
	sim_run_pending();
	TAP_OK(!strcmp(log_buf, "I"), "hardirq: delivered to the idle CPU (%s)", log_buf);
	sim_fini();
}

static void softirq_fn(void)
{
	note();
	log_add("S");
}

static void bh_task(void *arg)
{
	(void)arg;
	kenv_local_bh_disable();
	kenv_raise_softirq(KENV_SOFTIRQ_KVFREE);
	kenv_sched_point("bh off");
	log_add("b");
	kenv_local_bh_enable();
	log_add("e");
}

static void raising_irq(void *arg)
{
	(void)arg;
	kenv_raise_softirq(KENV_SOFTIRQ_KVFREE);
	log_add("I");
}

static void point_task(void *arg)
{
	(void)arg;
	kenv_sched_point("here");
	log_add("p");
}

/* A softirq that a hardirq interrupts: the hardirq is inside the softirq too. */
static void interrupted_softirq_fn(void)
{
	sim_inject(kenv_cpu(), KENV_CTX_HARDIRQ, irq_fn, NULL);
	kenv_sched_point("softirq");
	log_add("S");
	TAP_OK(kenv_in_softirq() && !kenv_in_hardirq(), "softirq: in_softirq again after the hardirq");
}

static void test_softirq(void)
{
	setup(2);
	kenv_open_softirq(KENV_SOFTIRQ_KVFREE, softirq_fn);

	sim_spawn(1, KENV_CTX_TASK, bh_task, NULL, "bh");
	TAP_OK(!strcmp(log_buf, "bSe"), "softirq: runs at bh enable (%s)", log_buf);
	TAP_EQ(seen.ctx, KENV_CTX_SOFTIRQ, "softirq: handler context");
	TAP_OK(seen.in_softirq && !seen.irqs_off && seen.cpu == 1,
	       "softirq: in_softirq, irqs on, on the raising CPU");

	log_buf[0] = 0;
	sim_inject(0, KENV_CTX_HARDIRQ, raising_irq, NULL);
	sim_spawn(0, KENV_CTX_TASK, point_task, NULL, "p");
	TAP_OK(!strcmp(log_buf, "ISp"), "softirq: raised in a hardirq runs at irq exit (%s)", log_buf);

	log_buf[0] = 0;
	kenv_raise_softirq(KENV_SOFTIRQ_KVFREE);
	TAP_OK(!strcmp(log_buf, ""), "softirq: raised in task context waits for ksoftirqd");
	sim_run_pending();
	TAP_OK(!strcmp(log_buf, "S"), "softirq: ksoftirqd ran it (%s)", log_buf);

	log_buf[0] = 0;
	kenv_open_softirq(KENV_SOFTIRQ_KVFREE, interrupted_softirq_fn);
	sim_spawn(1, KENV_CTX_TASK, bh_task, NULL, "bh");
	TAP_OK(!strcmp(log_buf, "bISe"), "softirq: a hardirq interrupts it (%s)", log_buf);
	TAP_OK(seen.in_hardirq && seen.in_softirq,
	       "softirq: the hardirq that interrupted it is in_softirq too");
	TAP_OK(!kenv_in_softirq(), "softirq: not in_softirq once it returned");
	sim_fini();
}

static int cpu_before, cpu_after;

static void migrating(void *arg)
{
	(void)arg;
	cpu_before = kenv_cpu();
	kenv_sched_point("may migrate");
	cpu_after = kenv_cpu();
}

static struct kenv_lock lock;

static void locked_points(void *arg)
{
	(void)arg;
	kenv_raw_spin_lock(&lock);
	sim_set_next_preempt((unsigned int)kenv_cpu(), -1);
	kenv_sched_point("under lock");
	log_add("l");
	kenv_raw_spin_unlock(&lock);
	log_add("u");
	kenv_sched_point("after");
	log_add("a");
}

static void test_preempt(void)
{
	struct sim_stats st;
	int id;

	setup(2);
	sim_set_next_preempt(0, 1);
	id = sim_spawn(0, KENV_CTX_TASK, migrating, NULL, "mover");
	TAP_OK(!sim_task_done(id), "migrate: the task was preempted at its point");
	sim_run_pending();
	TAP_OK(sim_task_done(id), "migrate: it finished once rescheduled");
	TAP_EQ(cpu_before, 0, "migrate: ran on cpu0 first");
	TAP_EQ(cpu_after, 1, "migrate: kenv_cpu() is cpu1 after the migration");
	sim_stats(&st);
	TAP_EQ(st.migrations, 1, "migrate: one migration counted");

	sim_set_next_preempt(0, 1);
	sim_spawn(0, KENV_CTX_KTHREAD, migrating, NULL, "kthread");
	sim_run_pending();
	TAP_OK(cpu_before == 0 && cpu_after == 0, "migrate: a kthread is preempted but stays on its CPU");

	kenv_lock_init(&lock, "test_lock");
	log_buf[0] = 0;
	id = sim_spawn(0, KENV_CTX_TASK, locked_points, NULL, "locker");
	TAP_OK(!strcmp(log_buf, "l"), "preempt: not under a raw lock, but right at unlock (%s)",
	       log_buf);
	sim_run_pending();
	TAP_OK(sim_task_done(id) && !strcmp(log_buf, "lua"), "preempt: resumed after unlock (%s)",
	       log_buf);
	sim_stats(&st);
	TAP_EQ(st.preemptions, 3, "preempt: three preemptions in all");
	sim_fini();
}

static void relock_irq(void *arg)
{
	(void)arg;
	kenv_raw_spin_lock(&lock);
	kenv_raw_spin_unlock(&lock);
}

static void lock_without_irqsave(void *arg)
{
	(void)arg;
	kenv_raw_spin_lock(&lock);
	/* An interrupt taking the same lock arrives: a self-deadlock. */
	kenv_sched_point("holding");
	kenv_raw_spin_unlock(&lock);
	log_add("done");
}

static void sleep_in_atomic(void *arg)
{
	unsigned long flags;

	(void)arg;
	flags = kenv_local_irq_save();
	kenv_synchronize_rcu();
	kenv_rcu_barrier();
	kenv_local_irq_restore(flags);
	kenv_raw_spin_lock(&lock);
	TAP_OK(kenv_page_alloc(KENV_GFP_POOL) != NULL, "nolocks: a POOL page under the lock");
	TAP_OK(kenv_page_alloc(KENV_GFP_NOWAIT) != NULL, "allocation: NOWAIT under the lock (reported)");
	kenv_raw_spin_unlock(&lock);
	log_add("back");
}

static void test_negative(void)
{
	setup(1);
	check_set_quiet(true);
	kenv_lock_init(&lock, "test_lock");
	sim_inject(0, KENV_CTX_HARDIRQ, relock_irq, NULL);
	sim_spawn(0, KENV_CTX_TASK, lock_without_irqsave, NULL, "locker");
	TAP_OK(check_count(INV_LOCKING) >= 1, "LOCKING: an irq re-taking a held lock is reported (%lu)",
	       check_count(INV_LOCKING));
	TAP_OK(!strcmp(log_buf, "done"), "LOCKING: and the run went on without hanging");
	sim_fini();

	setup(1);
	check_set_quiet(true);
	kenv_lock_init(&lock, "test_lock");
	sim_spawn(0, KENV_CTX_TASK, sleep_in_atomic, NULL, "sleeper");
	TAP_EQ(check_count(INV_NO_ALLOC_ATOMIC), 3,
	       "NO-ALLOC-ATOMIC: synchronize, barrier and a NOWAIT page under a lock, not the POOL page");
	TAP_OK(!strcmp(log_buf, "back"), "NO-ALLOC-ATOMIC: blocking calls returned, no deadlock");
	check_set_quiet(false);
	sim_fini();
}

/* ---- hotplug ------------------------------------------------------------------- */

static struct kenv_timer hp_timer;
static struct kenv_work hp_work;
static struct kenv_rcu_head hp_head;
static struct {
	int timer_cpu, work_cpu, cb_cpu, hook_cpu, hook_arg, task_cpu;
	bool hook_saw_offline;
} hp;

static void hp_timer_fn(struct kenv_timer *t)
{
	(void)t;
	hp.timer_cpu = kenv_cpu();
}

static void hp_work_fn(struct kenv_work *w)
{
	(void)w;
	hp.work_cpu = kenv_cpu();
}

static void hp_cb(struct kenv_rcu_head *h)
{
	(void)h;
	hp.cb_cpu = kenv_cpu();
}

static void hp_offline_hook(int cpu)
{
	hp.hook_cpu = kenv_cpu();
	hp.hook_arg = cpu;
	hp.hook_saw_offline = !kenv_cpu_online(cpu);
	/* A hook may sleep: the driver drives the sim meanwhile. */
	kenv_synchronize_rcu();
}

static void hp_setup_on_cpu2(void *arg)
{
	(void)arg;
	kenv_timer_start(&hp_timer, 1000);
	kenv_queue_work(KENV_WQ_HIGHPRI, &hp_work);
	kenv_call_rcu(&hp_head, hp_cb);
	/* Preempted here (set by the driver), offlined while runnable. */
	kenv_sched_point("before offline");
	hp.task_cpu = kenv_cpu();
}

static void test_hotplug(void)
{
	int id;

	setup(3);
	memset(&hp, 0xff, sizeof(hp));
	kenv_timer_init(&hp_timer, hp_timer_fn);
	kenv_work_init(&hp_work, hp_work_fn);
	sim_set_hotplug_hooks(hp_offline_hook, NULL);
	sim_set_next_preempt(2, -1);
	id = sim_spawn(2, KENV_CTX_TASK, hp_setup_on_cpu2, NULL, "hp");
	TAP_OK(!sim_task_done(id), "hotplug: the task waits, preempted, on cpu2");
	TAP_OK(sim_cpu_offline(2), "hotplug: cpu2 goes offline");
	TAP_OK(!kenv_cpu_online(2), "hotplug: cpu2 is offline");
	TAP_OK(hp.hook_cpu == 0 && hp.hook_arg == 2 && hp.hook_saw_offline,
	       "hotplug: the hook ran on cpu%d for cpu%d after it went down", hp.hook_cpu,
	       hp.hook_arg);
	TAP_OK(sim_quiesce(), "hotplug: quiesces");
	TAP_OK(sim_task_done(id) && hp.task_cpu == 0, "hotplug: the task finished on cpu%d",
	       hp.task_cpu);
	TAP_OK(hp.timer_cpu == 0 && hp.work_cpu == 0 && hp.cb_cpu == 0,
	       "hotplug: timer, work and callback moved to cpu0 (%d %d %d)", hp.timer_cpu,
	       hp.work_cpu, hp.cb_cpu);
	TAP_OK(sim_spawn(2, KENV_CTX_TASK, point_task, NULL, "p") < 0,
	       "hotplug: nothing can be spawned on an offline CPU");
	TAP_OK(sim_cpu_offline(1), "hotplug: cpu1 goes offline too");
	TAP_OK(!sim_cpu_offline(0), "hotplug: the last online CPU stays");
	TAP_OK(sim_cpu_online(2) && kenv_cpu_online(2), "hotplug: cpu2 comes back");
	TAP_OK(sim_spawn(2, KENV_CTX_TASK, point_task, NULL, "p") >= 0,
	       "hotplug: and runs tasks again");
	sim_fini();
}

/* ---- PROGRESS ---------------------------------------------------------------- */

static struct kenv_work self_flush;

static void self_flush_fn(struct kenv_work *w)
{
	/* Waits for itself: a deadlock the sim must report, not hang on. */
	kenv_queue_work(KENV_WQ_HIGHPRI, w);
	kenv_flush_work(w);
}

static void test_progress(void)
{
	int r;

	setup(1);
	check_set_quiet(true);
	kenv_work_init(&self_flush, self_flush_fn);
	kenv_queue_work(KENV_WQ_HIGHPRI, &self_flush);
	TAP_OK(!sim_quiesce(), "PROGRESS: a work flushing itself never quiesces");
	TAP_EQ(check_count(INV_PROGRESS), 1, "PROGRESS: ... and is reported");
	check_set_quiet(false);
	sim_fini();

	/* A reader holding a GP is no implementation bug: no report. */
	setup(1);
	r = sim_reader_begin(0);
	kenv_call_rcu(&hp_head, hp_cb);
	sim_gp_start();
	sim_reader_end(r);
	r = sim_reader_begin(0);
	sim_gp_try_end();
	kenv_call_rcu(&hp_head, hp_cb);
	TAP_OK(!sim_quiesce(), "quiesce: false while a reader holds the GP");
	TAP_EQ(check_count(INV_PROGRESS), 0, "quiesce: a reader inside is not a PROGRESS failure");
	sim_reader_end(r);
	TAP_OK(sim_quiesce(), "quiesce: true once the reader left");
	sim_fini();
}

int main(void)
{
	check_set_mode(CHECK_RECORD);
	test_irq_mask();
	test_softirq();
	test_preempt();
	test_negative();
	test_hotplug();
	test_progress();
	return tap_done();
}
