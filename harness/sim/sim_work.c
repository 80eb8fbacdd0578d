/* SPDX-License-Identifier: MIT */
/*
 * sim_work.c - timers, work queues, delayed and rcu work, softirqs.
 *
 * Timers sit on one list sorted by expiry (ties in arming order) and fire as
 * hardirqs on the CPU that armed them.  Work waits on its CPU's FIFO worklist
 * until a kworker coroutine of that CPU takes it; a CPU gets a new kworker
 * whenever it has work and none of its workers is runnable (the others
 * sleep), which is how the kernel's concurrency-managed pools behave.  A work
 * item never runs on two workers at once.
 *
 * Work state bits live in kenv_work.state, the work's ordinal (for traces,
 * which must not contain addresses) in its upper half, the generation last
 * queued in kenv_work.seq and the generation last finished in env_priv.
 * A work's memory must stay valid until its func has returned.
 */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "sim_internal.h"

_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "env_priv holds a 64-bit generation");

static const char *const wq_names[KENV_WQ_NR] = {
	[KENV_WQ_RECLAIM] = "reclaim",
	[KENV_WQ_HIGHPRI] = "highpri",
};

void sim_work_reset(void)
{
	unsigned int i;

	sim.timers = NULL;
	sim.nr_timers = 0;
	sim.timer_ord = 0;
	sim.work_ord = 0;
	for (i = 0; i < KENV_SOFTIRQ_NR; i++)
		sim.softirq_fn[i] = NULL;
}

/* ---- timers ---------------------------------------------------------------- */

static unsigned long timer_ord(const struct kenv_timer *t)
{
	return (unsigned long)(uintptr_t)t->env_priv;
}

static bool timer_armed(const struct kenv_timer *t)
{
	return atomic_load_explicit(&t->state, memory_order_relaxed) != 0;
}

static void timer_unlink(struct kenv_timer *t)
{
	struct kenv_timer **pp;

	for (pp = &sim.timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			sim.nr_timers--;
			return;
		}
	}
}

void kenv_timer_init(struct kenv_timer *timer, kenv_timer_fn func)
{
	if (timer_armed(timer))
		timer_unlink(timer);
	timer->func = func;
	timer->expires = 0;
	atomic_store_explicit(&timer->state, 0, memory_order_relaxed);
	timer->cpu = -1;
	timer->next = NULL;
	timer->env_priv = (void *)++sim.timer_ord;
}

void kenv_timer_start(struct kenv_timer *timer, uint64_t delay_ns)
{
	struct kenv_timer **pp;

	if (check_nmi_unsafe("kenv_timer_start"))
		return;
	if (timer_armed(timer))
		timer_unlink(timer);
	timer->expires = delay_ns > UINT64_MAX - sim.now ? UINT64_MAX : sim.now + delay_ns;
	timer->cpu = (int)sim_cur_cpu();
	for (pp = &sim.timers; *pp && (*pp)->expires <= timer->expires; pp = &(*pp)->next)
		;
	timer->next = *pp;
	*pp = timer;
	sim.nr_timers++;
	atomic_store_explicit(&timer->state, 1, memory_order_relaxed);
	check_trace("timer t%lu armed cpu%d +%" PRIu64, timer_ord(timer), timer->cpu, delay_ns);
}

bool kenv_timer_cancel(struct kenv_timer *timer)
{
	if (check_nmi_unsafe("kenv_timer_cancel"))
		return false;
	if (!timer_armed(timer))
		return false;
	timer_unlink(timer);
	atomic_store_explicit(&timer->state, 0, memory_order_relaxed);
	check_trace("timer t%lu cancelled", timer_ord(timer));
	return true;
}

/*
 * A handler runs nested on the CPU it interrupts and returns before anything
 * switches (sim_irq.c): no other context ever sees one in flight, so there is
 * nothing to wait for.
 */
bool kenv_timer_cancel_sync(struct kenv_timer *timer)
{
	return kenv_timer_cancel(timer);
}

bool kenv_timer_pending(const struct kenv_timer *timer)
{
	return timer_armed(timer);
}

static void timer_irq(void *arg)
{
	struct kenv_timer *t = arg;

	t->func(t);
}

static void timer_fire(struct kenv_timer *t)
{
	timer_unlink(t);
	atomic_store_explicit(&t->state, 0, memory_order_relaxed);
	sim.st.timers_fired++;
	check_trace("timer t%lu fires cpu%d", timer_ord(t), t->cpu);
	sim_run_on((unsigned int)t->cpu, KENV_CTX_HARDIRQ, timer_irq, t);
}

bool sim_timer_fire_due(void)
{
	struct kenv_timer *t;

	for (t = sim.timers; t && t->expires <= sim.now; t = t->next) {
		if (!sim.cpu[t->cpu].irqs_off) {
			timer_fire(t);
			return true;
		}
	}
	return false;
}

bool sim_timer_fire_due_on(unsigned int cpu)
{
	struct kenv_timer *t;

	for (t = sim.timers; t && t->expires <= sim.now; t = t->next) {
		if ((unsigned int)t->cpu == cpu) {
			timer_fire(t);
			return true;
		}
	}
	return false;
}

bool sim_timer_next(uint64_t *when)
{
	if (!sim.timers)
		return false;
	*when = sim.timers->expires;
	return true;
}

void sim_timer_migrate(unsigned int from, unsigned int to)
{
	struct kenv_timer *t;

	for (t = sim.timers; t; t = t->next)
		if ((unsigned int)t->cpu == from)
			t->cpu = (int)to;
}

/* ---- work ------------------------------------------------------------------ */

static unsigned int wstate(const struct kenv_work *w)
{
	return atomic_load_explicit(&w->state, memory_order_relaxed);
}

static unsigned int wflags(const struct kenv_work *w)
{
	return wstate(w) & ((1u << SIM_W_ORD_SHIFT) - 1);
}

static unsigned int word(const struct kenv_work *w)
{
	return wstate(w) >> SIM_W_ORD_SHIFT;
}

/*
 * A load and a store, not a locked read-modify-write: the simulation runs on
 * one thread and switches only at its own points, never between the two.
 */
static void wset(struct kenv_work *w, unsigned int bits)
{
	atomic_store_explicit(&w->state, wstate(w) | bits, memory_order_relaxed);
}

static void wclear(struct kenv_work *w, unsigned int bits)
{
	atomic_store_explicit(&w->state, wstate(w) & ~bits, memory_order_relaxed);
}

static uint64_t wdone(const struct kenv_work *w)
{
	return (uint64_t)(uintptr_t)w->env_priv;
}

void kenv_work_init(struct kenv_work *work, kenv_work_fn func)
{
	work->func = func;
	atomic_store_explicit(&work->state,
			      (unsigned int)(++sim.work_ord << SIM_W_ORD_SHIFT),
			      memory_order_relaxed);
	work->cpu = -1;
	work->wq = KENV_WQ_RECLAIM;
	work->next = NULL;
	work->seq = 0;
	work->env_priv = (void *)0;
}

static void dwork_timer_fn(struct kenv_timer *timer)
{
	struct kenv_delayed_work *dw =
		(struct kenv_delayed_work *)((char *)timer - offsetof(struct kenv_delayed_work, timer));

	wclear(&dw->work, SIM_W_TIMER);
	sim_work_enqueue(dw->work.wq, &dw->work, sim_cur_cpu());
}

void kenv_delayed_work_init(struct kenv_delayed_work *dwork, kenv_work_fn func)
{
	kenv_work_init(&dwork->work, func);
	kenv_timer_init(&dwork->timer, dwork_timer_fn);
}

void kenv_rcu_work_init(struct kenv_rcu_work *rwork, kenv_work_fn func)
{
	kenv_work_init(&rwork->work, func);
	rwork->rcu.next = NULL;
	rwork->rcu.func = NULL;
	rwork->wq = KENV_WQ_RECLAIM;
}

void sim_work_enqueue(enum kenv_wq wq, struct kenv_work *work, unsigned int cpu)
{
	struct sim_cpu *c;

	/*
	 * The unbound queue may run anywhere: a random online CPU when
	 * exploring migrations, else the queueing CPU, as the kernel prefers.
	 */
	if (wq == KENV_WQ_RECLAIM && sim.cfg.migrate_permille)
		cpu = sim_random_online_cpu(-1);
	else if (cpu >= sim.cfg.nr_cpus || !sim.cpu[cpu].online)
		cpu = sim_first_online_cpu(-1);
	c = &sim.cpu[cpu];
	work->wq = wq;
	work->cpu = (int)cpu;
	work->next = NULL;
	if (c->work_tail)
		c->work_tail->next = work;
	else
		c->work_head = work;
	c->work_tail = work;
	wset(work, SIM_W_QUEUED);
	check_trace("work w%u queued %s cpu%u", word(work), wq_names[wq], cpu);
}

static void work_unlink(struct kenv_work *work)
{
	struct sim_cpu *c = &sim.cpu[work->cpu];
	struct kenv_work **pp, *prev = NULL;

	for (pp = &c->work_head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == work) {
			*pp = work->next;
			if (c->work_tail == work)
				c->work_tail = prev;
			work->next = NULL;
			wclear(work, SIM_W_QUEUED);
			return;
		}
	}
}

bool kenv_queue_work(enum kenv_wq wq, struct kenv_work *work)
{
	if (check_nmi_unsafe("kenv_queue_work"))
		return false;
	if (wflags(work) & SIM_W_PENDING)
		return false;
	wset(work, SIM_W_PENDING);
	work->seq++;
	sim_work_enqueue(wq, work, sim_cur_cpu());
	return true;
}

static void dwork_arm(enum kenv_wq wq, struct kenv_delayed_work *dwork, uint64_t delay_ns)
{
	dwork->work.wq = wq;
	if (!delay_ns) {
		sim_work_enqueue(wq, &dwork->work, sim_cur_cpu());
		return;
	}
	wset(&dwork->work, SIM_W_TIMER);
	kenv_timer_start(&dwork->timer, delay_ns);
}

bool kenv_queue_delayed_work(enum kenv_wq wq, struct kenv_delayed_work *dwork,
			     uint64_t delay_ns)
{
	if (check_nmi_unsafe("kenv_queue_delayed_work"))
		return false;
	if (wflags(&dwork->work) & SIM_W_PENDING)
		return false;
	wset(&dwork->work, SIM_W_PENDING);
	dwork->work.seq++;
	check_trace("dwork w%u queue +%" PRIu64, word(&dwork->work), delay_ns);
	dwork_arm(wq, dwork, delay_ns);
	return true;
}

/* Take a pending @dwork off its timer or worklist, keeping it pending. */
static void dwork_grab(struct kenv_delayed_work *dwork)
{
	unsigned int f = wflags(&dwork->work);

	if (f & SIM_W_TIMER) {
		kenv_timer_cancel(&dwork->timer);
		wclear(&dwork->work, SIM_W_TIMER);
	}
	if (f & SIM_W_QUEUED)
		work_unlink(&dwork->work);
}

bool kenv_mod_delayed_work(enum kenv_wq wq, struct kenv_delayed_work *dwork,
			   uint64_t delay_ns)
{
	bool was;

	if (check_nmi_unsafe("kenv_mod_delayed_work"))
		return false;
	was = wflags(&dwork->work) & SIM_W_PENDING;
	dwork_grab(dwork);
	if (!was) {
		wset(&dwork->work, SIM_W_PENDING);
		dwork->work.seq++;
	}
	check_trace("dwork w%u mod +%" PRIu64 " (%s)", word(&dwork->work), delay_ns,
		    was ? "was pending" : "was idle");
	dwork_arm(wq, dwork, delay_ns);
	return was;
}

bool kenv_delayed_work_pending(const struct kenv_delayed_work *dwork)
{
	return wflags(&dwork->work) & SIM_W_PENDING;
}

uint64_t kenv_delayed_work_expires(const struct kenv_delayed_work *dwork)
{
	/* Queued already (or idle): it is due now. */
	if (wflags(&dwork->work) & SIM_W_TIMER)
		return dwork->timer.expires;
	return sim.now;
}

bool sim_work_done(const struct sim_wait *w)
{
	return wdone(w->work) >= w->target;
}

/* Block until @work's generation @target has finished (if allowed to). */
static void work_wait(struct kenv_work *work, uint64_t target, bool can, const char *what)
{
	struct sim_wait w;

	if (!can || wdone(work) >= target)
		return;
	memset(&w, 0, sizeof(w));
	w.kind = SIM_WAIT_WORK;
	w.what = what;
	w.work = work;
	w.target = target;
	sim_block(&w);
}

bool kenv_cancel_delayed_work_sync(struct kenv_delayed_work *dwork)
{
	bool can = sim_might_block("cancel_delayed_work_sync");
	struct kenv_work *w = &dwork->work;
	bool was = wflags(w) & SIM_W_PENDING;

	dwork_grab(dwork);
	wclear(w, SIM_W_PENDING);
	check_trace("dwork w%u cancel (%s)", word(w), was ? "was pending" : "was idle");
	if (wflags(w) & SIM_W_RUNNING)
		work_wait(w, wdone(w) + 1, can, "cancel_delayed_work_sync");
	return was;
}

void kenv_flush_work(struct kenv_work *work)
{
	bool can = sim_might_block("flush_work");
	unsigned int f = wflags(work);

	/* Like the kernel: an item still waiting for its timer or GP is not waited for. */
	if (f & SIM_W_QUEUED)
		work_wait(work, work->seq, can, "flush_work");
	else if (f & SIM_W_RUNNING)
		work_wait(work, wdone(work) + 1, can, "flush_work");
}

static void rwork_cb(struct kenv_rcu_head *head)
{
	struct kenv_rcu_work *rwork =
		(struct kenv_rcu_work *)((char *)head - offsetof(struct kenv_rcu_work, rcu));

	wclear(&rwork->work, SIM_W_RCU);
	sim_work_enqueue(rwork->wq, &rwork->work, sim_cur_cpu());
}

bool kenv_queue_rcu_work(enum kenv_wq wq, struct kenv_rcu_work *rwork)
{
	if (check_nmi_unsafe("kenv_queue_rcu_work"))
		return false;
	if (wflags(&rwork->work) & SIM_W_PENDING)
		return false;
	rwork->work.seq++;
	rwork->wq = wq;
	rwork->work.wq = wq;
	if (sim.rwork_early) {
		sim.rwork_early--;
		wset(&rwork->work, SIM_W_PENDING | SIM_W_EARLY);
		check_trace("rwork w%u queued, runs without a GP (fault)", word(&rwork->work));
		sim_work_enqueue(wq, &rwork->work, sim_cur_cpu());
		return true;
	}
	wset(&rwork->work, SIM_W_PENDING | SIM_W_RCU);
	check_trace("rwork w%u queued, waits for a GP", word(&rwork->work));
	sim_rcu_queue(&rwork->rcu, rwork_cb);
	return true;
}

void sim_rcu_work_early(unsigned int n)
{
	sim.rwork_early = n;
	check_trace("rcu works early: next %u", n);
}

void kenv_flush_rcu_work(struct kenv_rcu_work *rwork)
{
	bool can = sim_might_block("flush_rcu_work");
	struct kenv_work *w = &rwork->work;
	unsigned int f = wflags(w);

	if (f & SIM_W_PENDING)
		work_wait(w, w->seq, can, "flush_rcu_work");
	else if (f & SIM_W_RUNNING)
		work_wait(w, wdone(w) + 1, can, "flush_rcu_work");
}

bool kenv_work_busy(const struct kenv_work *work)
{
	return wflags(work) & (SIM_W_PENDING | SIM_W_RUNNING);
}

bool kenv_rcu_work_busy(const struct kenv_rcu_work *rwork)
{
	return kenv_work_busy(&rwork->work);
}

/* The first item on @cpu's worklist that is not running elsewhere. */
static struct kenv_work *work_first_eligible(unsigned int cpu)
{
	struct kenv_work *w;

	for (w = sim.cpu[cpu].work_head; w; w = w->next)
		if (!(wflags(w) & SIM_W_RUNNING))
			return w;
	return NULL;
}

bool sim_work_eligible(unsigned int cpu)
{
	return sim.cpu[cpu].work_head && work_first_eligible(cpu);
}

void sim_worker_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct sim_co *co = sim.cur;
		struct kenv_work *w = work_first_eligible(co->cpu);
		uint64_t gen;
		unsigned int ord;

		if (!w)
			return;
		work_unlink(w);
		/* Pending clears before func runs, so func may queue it again. */
		wclear(w, SIM_W_PENDING);
		wset(w, SIM_W_RUNNING);
		gen = w->seq;
		ord = word(w);
		sim.st.works_run++;
		check_trace("work w%u runs cpu%u", ord, co->cpu);
		if (wflags(w) & SIM_W_EARLY) {
			wclear(w, SIM_W_EARLY);
			co->ct.rcu_work_early = true;
			check_rcu_work_early();
		}
		w->func(w);
		co->ct.rcu_work_early = false;
		wclear(w, SIM_W_RUNNING);
		w->env_priv = (void *)(uintptr_t)gen;
		sim_wake_note(SIM_WAIT_WORK);
		sim_context_ended("a work item");
		sim_point("worker");
	}
}

void sim_work_migrate(unsigned int from, unsigned int to)
{
	struct sim_cpu *f = &sim.cpu[from], *t = &sim.cpu[to];
	struct kenv_work *w;

	if (!f->work_head)
		return;
	for (w = f->work_head; w; w = w->next)
		w->cpu = (int)to;
	if (t->work_tail)
		t->work_tail->next = f->work_head;
	else
		t->work_head = f->work_head;
	t->work_tail = f->work_tail;
	f->work_head = NULL;
	f->work_tail = NULL;
}

/* ---- softirqs -------------------------------------------------------------- */

void kenv_open_softirq(enum kenv_softirq nr, void (*fn)(void))
{
	if ((unsigned int)nr >= KENV_SOFTIRQ_NR)
		KENV_DIE("kenv_open_softirq: bad softirq number");
	sim.softirq_fn[nr] = fn;
}

void kenv_raise_softirq(enum kenv_softirq nr)
{
	if (check_nmi_unsafe("kenv_raise_softirq"))
		return;
	if ((unsigned int)nr >= KENV_SOFTIRQ_NR)
		KENV_DIE("kenv_raise_softirq: bad softirq number");
	sim_this_cpu()->softirq_pending |= 1u << nr;
	check_trace("softirq %u raised cpu%u", (unsigned int)nr, sim_cur_cpu());
}

/* __do_softirq: a bounded number of restarts, the rest is left to ksoftirqd. */
static void softirq_body(void *arg)
{
	unsigned int cpu = (unsigned int)(uintptr_t)arg;
	struct sim_cpu *c = &sim.cpu[cpu];
	unsigned int restart, nr;

	for (restart = 0; c->softirq_pending && restart < 10; restart++) {
		unsigned int pending = c->softirq_pending;

		c->softirq_pending = 0;
		for (nr = 0; nr < SIM_NR_SOFTIRQS; nr++) {
			if (!(pending & (1u << nr)))
				continue;
			sim.st.softirqs_run++;
			check_trace("softirq %u runs cpu%u", nr, cpu);
			if (nr == SIM_SOFTIRQ_RCU)
				sim_rcu_invoke_ready(cpu);
			else if (sim.softirq_fn[nr])
				sim.softirq_fn[nr]();
		}
	}
}

void sim_do_softirq(unsigned int cpu)
{
	if (!sim.cpu[cpu].softirq_pending)
		return;
	sim_run_on(cpu, KENV_CTX_SOFTIRQ, softirq_body, (void *)(uintptr_t)cpu);
}

void sim_irq_exit(unsigned int cpu)
{
	const struct sim_frame *f = sim_top();
	const struct sim_cpu *c = &sim.cpu[cpu];

	if (!c->softirq_pending || c->bh || c->irqs_off)
		return;
	if (f->ctx == KENV_CTX_SOFTIRQ || f->ctx == KENV_CTX_HARDIRQ || f->ctx == KENV_CTX_NMI)
		return;
	sim_do_softirq(cpu);
}

bool sim_ksoftirqd(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++) {
		const struct sim_cpu *c = &sim.cpu[cpu];

		if (c->online && c->softirq_pending && !c->irqs_off && !c->bh) {
			check_trace("ksoftirqd cpu%u", cpu);
			sim_do_softirq(cpu);
			return true;
		}
	}
	return false;
}
