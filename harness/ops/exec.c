/* SPDX-License-Identifier: MIT */
/*
 * exec.c - run an op program in the simulation (see exec.h).
 *
 * All state is file-static and belongs to the one run in progress: the sim is
 * single-threaded and the executor runs on the driver's stack, so nothing here
 * needs a lock.  Coroutines and handlers get a pointer to their op's call
 * record, which lives until the end of the run because a blocked coroutine or
 * a held-back interrupt may read it long after its op was issued.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "exec.h"
#include "kenv.h"
#include "kvfree_rcu.h"
#include "ops.h"
#include "sim.h"

/* One op's arguments, as its coroutine or handler reads them. */
struct exec_call {
	unsigned int cpu;
	enum kenv_ctx ctx;
	bool headless;
	bool vmalloc;
	enum kvt_mask mask;
	enum kvt_why why;
	unsigned long n;
	struct kvt_obj *obj;	/* retire and NMI: the object to queue */
	void (*fn)(void *arg);	/* the body body_entry() runs */
	bool started;		/* body_entry() ran */
};

struct exec_slot {
	struct kvt_obj *obj;	/* owned until queued; NULL: empty */
	bool published;
};

/* What a reader reached, to check at its end that it still lives. */
#define READER_SEEN_MAX 4
struct exec_reader {
	int sim_id;		/* -1: not inside */
	unsigned int cpu;
	unsigned int nr_seen;
	const struct kvt_obj *seen[READER_SEEN_MAX];
	uint64_t seen_serial[READER_SEEN_MAX];
};

/* Objects for exploration NMIs, which may not allocate. */
#define NMI_STASH 8

static struct {
	struct exec_slot slots[KVT_SLOTS];
	struct exec_reader readers[KVT_READERS];
	struct exec_call *calls;
	uint64_t next_serial;
	/* Set between init and teardown: exploration interrupts may queue. */
	bool ready;
	struct kvt_obj *nmi_stash[NMI_STASH];
	unsigned int nr_nmi_stash;
	/* Barrier coroutines between begin and end (the checker tracks a few). */
	unsigned int barriers_running;
	struct kvt_run_result last;
} ex;

void kvt_run_opts_default(struct kvt_run_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->trace_fd = -1;
	opts->mode = CHECK_ABORT;
}

/* ---------------------------------------------------------------------------
 * Objects and the calls into the implementation
 */

/* Context: any but NMI. */
static struct kvt_obj *obj_new(bool vmalloc)
{
	struct kvt_obj *obj = sim_obj_alloc(sizeof(*obj), vmalloc);

	obj->rh.next = NULL;
	obj->rh.func = NULL;
	obj->canary = KVT_OBJ_CANARY;
	obj->serial = ++ex.next_serial;
	return obj;
}

/*
 * Hand @obj to kvfree_rcu() from the calling context, telling the checker
 * first what must become of it and afterwards that the call returned (BARRIER
 * only covers calls that returned).  Context: as the form allows, or any for
 * the misuse expectations.
 */
static void obj_queue(struct kvt_obj *obj, bool headless, enum check_expect expect)
{
	check_obj_queued(obj, kenv_cpu(), kenv_context(), headless, expect);
	if (headless)
		kvfree_rcu_mightsleep(obj);
	else
		kvfree_rcu(obj, rh);
	check_obj_queue_returned(obj);
}

/* ---------------------------------------------------------------------------
 * Coroutine and handler bodies
 */

/* queue and retire: task, kthread, softirq or hardirq. */
static void body_queue(void *arg)
{
	struct exec_call *c = arg;
	struct kvt_obj *obj = c->obj ? c->obj : obj_new(c->vmalloc);

	obj_queue(obj, c->headless, CHECK_EXPECT_FREE);
}

/* NMI: the call is refused; the object was allocated beforehand. */
static void body_nmi(void *arg)
{
	struct exec_call *c = arg;

	obj_queue(c->obj, false, CHECK_EXPECT_REFUSED);
}

/*
 * A flood from one task: k objects with preemption, bh or irqs optionally
 * disabled around the whole loop (a kthread flood of the thread's list).
 * Between calls a voluntary preemption point when nothing is disabled, an
 * instrumentation point otherwise, so injected interrupts can land mid-flood.
 */
static void body_queue_loop(void *arg)
{
	struct exec_call *c = arg;
	unsigned long flags = 0;

	switch (c->mask) {
	case KVT_MASK_PREEMPT:
		kenv_preempt_disable();
		break;
	case KVT_MASK_BH:
		kenv_local_bh_disable();
		break;
	case KVT_MASK_IRQS:
		flags = kenv_local_irq_save();
		break;
	case KVT_MASK_NONE:
		break;
	}
	for (unsigned long i = 0; i < c->n; i++) {
		obj_queue(obj_new(c->vmalloc), c->headless, CHECK_EXPECT_FREE);
		if (c->mask == KVT_MASK_NONE)
			kenv_cond_resched();
		else
			kenv_sched_point("kvt-queue-loop");
	}
	switch (c->mask) {
	case KVT_MASK_PREEMPT:
		kenv_preempt_enable();
		break;
	case KVT_MASK_BH:
		kenv_local_bh_enable();
		break;
	case KVT_MASK_IRQS:
		kenv_local_irq_restore(flags);
		break;
	case KVT_MASK_NONE:
		break;
	}
}

/*
 * The second kvfree_rcu() of a queued object.  The read-side section keeps a
 * GP from ending between the two calls, so the object cannot have been freed
 * (a double queue of a freed object would be a use-after-free of the driver).
 */
static void body_misuse_double(void *arg)
{
	struct exec_call *c = arg;
	struct kvt_obj *obj = obj_new(c->vmalloc);

	kenv_rcu_read_lock();
	obj_queue(obj, false, CHECK_EXPECT_FREE);
	obj_queue(obj, false, CHECK_EXPECT_DOUBLE);
	kenv_rcu_read_unlock();
}

/* kvfree_rcu_mightsleep() where sleeping is not allowed: reported and leaked. */
static void body_misuse_headless_atomic(void *arg)
{
	struct exec_call *c = arg;
	struct kvt_obj *obj = obj_new(c->vmalloc);
	unsigned long flags = 0;

	switch (c->why) {
	case KVT_WHY_IRQS_OFF:
		flags = kenv_local_irq_save();
		break;
	case KVT_WHY_PREEMPT_OFF:
		kenv_preempt_disable();
		break;
	case KVT_WHY_BH_OFF:
		kenv_local_bh_disable();
		break;
	case KVT_WHY_RCU_READ:
		kenv_rcu_read_lock();
		break;
	default:	/* softirq, hardirq: atomic by the context it runs in */
		break;
	}
	obj_queue(obj, true, CHECK_EXPECT_REFUSED);
	switch (c->why) {
	case KVT_WHY_IRQS_OFF:
		kenv_local_irq_restore(flags);
		break;
	case KVT_WHY_PREEMPT_OFF:
		kenv_preempt_enable();
		break;
	case KVT_WHY_BH_OFF:
		kenv_local_bh_enable();
		break;
	case KVT_WHY_RCU_READ:
		kenv_rcu_read_unlock();
		break;
	default:
		break;
	}
}

/* More barriers at once add nothing; the checker follows up to 16. */
#define EXEC_BARRIERS_MAX 8

static void body_barrier(void *arg)
{
	(void)arg;
	ex.barriers_running++;
	check_barrier_begin();
	kvfree_rcu_barrier();
	check_barrier_end();
	ex.barriers_running--;
}

/* A change of any of these means something else ran on the sim meanwhile. */
static unsigned long sim_activity(void)
{
	struct sim_stats st;

	sim_stats(&st);
	return st.switches + st.irqs_delivered + st.nmis_delivered + st.softirqs_run +
	       st.timers_fired + st.works_run;
}

/* check_shrink_count()'s question: nothing else ran since @arg's sim_activity(). */
static bool sim_unchanged(void *arg)
{
	return sim_activity() == *(const unsigned long *)arg;
}

static void body_shrink_count(void *arg)
{
	unsigned long before = sim_activity(), count;

	(void)arg;
	count = kfree_rcu_shrink_count();
	check_trace("kvt shrink-count -> %lu", count);
	/* The count is compared with snapshots only if nothing else ran since. */
	check_shrink_count(count, sim_unchanged, &before);
}

/* Objects the implementation freed so far, over all CPUs.  Context: sleep. */
static unsigned long objs_freed(void)
{
	struct kvfree_rcu_cpu_stats st;
	unsigned long sum = 0;

	for (int cpu = 0; cpu < kenv_nr_cpus(); cpu++)
		if (check_krc_snapshot(cpu, &st))
			sum += st.objs_freed;
	return sum;
}

/*
 * The shrinker core's order: count, then scan.  BOUNDED after it (caches empty,
 * refill backing off) holds only if nothing else ran in between, which the
 * sim's counters tell, and if the scan freed nothing itself: the monitor it
 * runs frees ready pages and, like the kernel's, recycles them into the cache.
 */
static void body_shrink_scan(void *arg)
{
	struct exec_call *c = arg;
	unsigned long before = sim_activity(), freed_before = objs_freed();
	unsigned long count, freed, flags;
	struct check_shrink_before held;
	bool have_held;

	count = kfree_rcu_shrink_count();
	check_shrink_count(count, NULL, NULL);
	/* What each CPU holds, for a scan that should stop before the last. */
	have_held = count != KVFREE_SHRINK_EMPTY && c->n < count && check_shrink_scan_begin(&held);
	freed = kfree_rcu_shrink_scan(c->n);
	check_trace("kvt shrink-scan count %lu scan %lu -> %lu", count, c->n, freed);
	if (count == KVFREE_SHRINK_EMPTY)
		return;
	/*
	 * Snapshots take the krc locks, whose unlock is a scheduling point: with
	 * irqs on, a refill could run between the test below and the check.
	 * Irqs off, nothing but an NMI (which sim_activity() counts) can.
	 */
	flags = kenv_local_irq_save();
	if (objs_freed() == freed_before && sim_activity() == before) {
		/*
		 * The scan stops once nr_to_scan is covered, leaving later CPUs
		 * alone: only a scan asked to cover everything empties every
		 * cache.
		 */
		if (c->n >= count)
			check_after_shrinker();
		else if (have_held)
			check_shrink_scan_end(&held, c->n);
	}
	kenv_local_irq_restore(flags);
}

/* Exploration interrupts (sim_config.irq_fn / nmi_fn). */
static void explore_irq(void *arg)
{
	(void)arg;
	if (ex.ready)
		obj_queue(obj_new(false), false, CHECK_EXPECT_FREE);
}

static void explore_nmi(void *arg)
{
	(void)arg;
	if (ex.ready && ex.nr_nmi_stash)
		obj_queue(ex.nmi_stash[--ex.nr_nmi_stash], false, CHECK_EXPECT_REFUSED);
}

/* ---------------------------------------------------------------------------
 * Ops
 */

static bool cpu_usable(unsigned int cpu)
{
	return cpu < (unsigned int)kenv_nr_cpus() && kenv_cpu_online((int)cpu);
}

/* Every coroutine body starts here, so the driver knows it started. */
static void body_entry(void *arg)
{
	struct exec_call *c = arg;

	c->started = true;
	c->fn(c);
}

/* Run @fn in @c->ctx on @c->cpu; false if it could not start. */
static bool start_in_ctx(struct exec_call *c, void (*fn)(void *), const char *name)
{
	if (!cpu_usable(c->cpu))
		return false;
	c->fn = fn;
	c->started = false;
	switch (c->ctx) {
	case KENV_CTX_TASK:
	case KENV_CTX_KTHREAD:
		/*
		 * A coroutine that ran to its end may already be gone when
		 * sim_spawn() returns, so whether it started is told by the
		 * body itself as well as by the id.
		 */
		return sim_spawn(c->cpu, c->ctx, body_entry, c, name) >= 0 || c->started;
	default:
		/* Held back by a CPU with irqs off, it still runs later: started. */
		sim_call_irq(c->cpu, c->ctx, body_entry, c);
		return true;
	}
}

static void reader_end(struct exec_reader *r, unsigned int id)
{
	for (unsigned int i = 0; i < r->nr_seen; i++) {
		const struct kvt_obj *obj = r->seen[i];
		enum check_found found = CHECK_FOUND_INTACT;
		char what[48];

		/*
		 * The reader may still use what it reached: tell the checker
		 * whether the object lives, with the same identity (it catches
		 * an early free when it happens; this is the second opinion).
		 */
		if (!sim_obj_live(obj))
			found = CHECK_FOUND_FREED;
		else if (obj->serial != r->seen_serial[i] || obj->canary != KVT_OBJ_CANARY)
			found = CHECK_FOUND_CORRUPT;
		if (found == CHECK_FOUND_INTACT)
			continue;
		snprintf(what, sizeof(what), "object #%llu", (unsigned long long)r->seen_serial[i]);
		check_reader_found((int)id, (int)r->cpu, obj, found, what);
	}
	sim_reader_end(r->sim_id);
	r->sim_id = -1;
	r->nr_seen = 0;
}

/*
 * PROGRESS between ops, once the sim ran everything runnable: each CPU with
 * pending objects has its monitor armed or a batch busy (B1: a monitor that
 * stops while a channel is still pending).  Not while a spawned task lives: a
 * barrier cancels the monitor while it waits, and re-arms it afterwards.  The
 * latency half of check_progress() is off (bound UINT64_MAX): a batch's GP
 * cookie covers its newest object, so an old object may rightly wait for GPs
 * that a reader holds back long after it was queued.
 */
static void check_at_rest(void)
{
	if (!sim_tasks_alive())
		check_progress(sim_now(), UINT64_MAX);
}

/* The shared slots readers reach: retire, publish, unpublish. */
static bool exec_slot_op(enum kvt_opcode code, struct exec_call *c, const struct kvt_args *args)
{
	struct exec_slot *s = &ex.slots[args->v[KVT_ARG_SLOT]];

	switch (code) {
	case KVT_OP_RETIRE:
		if (!s->obj || !cpu_usable(c->cpu))
			return false;
		/* rcu_assign_pointer(slot, NULL), then kvfree_rcu(old). */
		if (s->published)
			check_obj_unpublish(s->obj);
		c->obj = s->obj;
		s->obj = NULL;
		s->published = false;
		if (!start_in_ctx(c, body_queue, "kvt-retire")) {
			s->obj = c->obj;
			return false;
		}
		return true;
	case KVT_OP_PUBLISH:
		if (s->obj)
			return false;
		s->obj = obj_new(c->vmalloc);
		s->published = true;
		check_obj_publish(s->obj);
		return true;
	case KVT_OP_UNPUBLISH:
		if (!s->obj || !s->published)
			return false;
		check_obj_unpublish(s->obj);
		s->published = false;
		return true;
	default:
		return false;
	}
}

/* A reader reaches a slot's published object: remember what it saw. */
static bool reader_deref(struct exec_reader *r, unsigned int id, struct exec_slot *s)
{
	unsigned int i;

	if (r->sim_id < 0 || !s->obj || !s->published)
		return false;
	sim_reader_deref(r->sim_id, s->obj);
	if (s->obj->canary != KVT_OBJ_CANARY) {
		char what[96];

		snprintf(what, sizeof(what), "published object #%llu (canary %#llx, want %#llx)",
			 (unsigned long long)s->obj->serial,
			 (unsigned long long)s->obj->canary, KVT_OBJ_CANARY);
		check_reader_found((int)id, (int)r->cpu, s->obj, CHECK_FOUND_CORRUPT, what);
	}
	for (i = 0; i < r->nr_seen; i++)
		if (r->seen[i] == s->obj)
			return true;
	/* Keep the newest few; the checker tracks every one anyway. */
	i = r->nr_seen < READER_SEEN_MAX ? r->nr_seen++ : (unsigned int)(s->obj->serial %
								 READER_SEEN_MAX);
	r->seen[i] = s->obj;
	r->seen_serial[i] = s->obj->serial;
	return true;
}

/* The explicit readers: begin, deref, end. */
static bool exec_reader_op(enum kvt_opcode code, struct exec_call *c, const struct kvt_args *args)
{
	unsigned int id = (unsigned int)args->v[KVT_ARG_ID];
	struct exec_reader *r = &ex.readers[id];

	switch (code) {
	case KVT_OP_READER_BEGIN:
		if (r->sim_id >= 0 || !cpu_usable(c->cpu))
			return false;
		r->sim_id = sim_reader_begin(c->cpu);
		r->cpu = c->cpu;
		r->nr_seen = 0;
		return r->sim_id >= 0;
	case KVT_OP_READER_DEREF:
		return reader_deref(r, id, &ex.slots[args->v[KVT_ARG_SLOT]]);
	case KVT_OP_READER_END:
		if (r->sim_id < 0)
			return false;
		reader_end(r, id);
		return true;
	default:
		return false;
	}
}

/*
 * An NMI that calls kvfree_rcu(), which must refuse it: injected at the next
 * point (inject-nmi) or run now (misuse-nmi).
 */
static bool exec_nmi(enum kvt_opcode code, struct exec_call *c)
{
	bool ran;

	if (!cpu_usable(c->cpu))
		return false;
	c->obj = obj_new(c->vmalloc);
	if (code == KVT_OP_INJECT_NMI)
		ran = sim_inject(c->cpu, KENV_CTX_NMI, body_nmi, c);
	else
		ran = sim_call_irq(c->cpu, KENV_CTX_NMI, body_nmi, c);
	/*
	 * Not accepted (the CPU's injection queue is full): queue the
	 * object normally from the driver on that CPU, so none is left
	 * allocated and never queued.
	 */
	if (!ran) {
		sim_set_driver_cpu(c->cpu);
		obj_queue(c->obj, false, CHECK_EXPECT_FREE);
	}
	return ran;
}

/* Execute one op; false if it could not apply (traced by the caller). */
static bool exec_op(const struct kvt_prog *prog, size_t idx)
{
	const struct kvt_op *op = &prog->ops[idx];
	struct exec_call *c = &ex.calls[idx];
	struct kvt_args a;

	kvt_op_args(op, &a);
	c->cpu = (unsigned int)a.v[KVT_ARG_CPU];
	c->ctx = (enum kenv_ctx)a.v[KVT_ARG_CTX];
	c->headless = a.v[KVT_ARG_FORM] == KVT_FORM_HEADLESS;
	c->vmalloc = a.v[KVT_ARG_CH] == KVT_CH_VMALLOC;
	c->mask = (enum kvt_mask)a.v[KVT_ARG_MASK];
	c->why = (enum kvt_why)a.v[KVT_ARG_WHY];
	c->n = (unsigned long)a.v[KVT_ARG_N];
	c->obj = NULL;

	switch ((enum kvt_opcode)op->code) {
	case KVT_OP_QUEUE:
		return start_in_ctx(c, body_queue, "kvt-queue");
	case KVT_OP_RETIRE:
	case KVT_OP_PUBLISH:
	case KVT_OP_UNPUBLISH:
		return exec_slot_op((enum kvt_opcode)op->code, c, &a);
	case KVT_OP_READER_BEGIN:
	case KVT_OP_READER_DEREF:
	case KVT_OP_READER_END:
		return exec_reader_op((enum kvt_opcode)op->code, c, &a);
	case KVT_OP_GP_START:
		sim_gp_start();
		return true;
	case KVT_OP_GP_TRY_END:
		return sim_gp_try_end();
	case KVT_OP_GP_COMPLETE:
		return sim_gp_complete();
	case KVT_OP_ADVANCE:
		sim_advance(c->n);
		check_at_rest();
		return true;
	case KVT_OP_RUN_PENDING: {
		bool ran = sim_run_pending();

		check_at_rest();
		return ran;
	}
	case KVT_OP_INJECT_IRQ:
		if (!cpu_usable(c->cpu))
			return false;
		c->ctx = KENV_CTX_HARDIRQ;
		return sim_inject(c->cpu, KENV_CTX_HARDIRQ, body_queue, c);
	case KVT_OP_INJECT_NMI:
	case KVT_OP_MISUSE_NMI:
		return exec_nmi((enum kvt_opcode)op->code, c);
	case KVT_OP_PREEMPT:
		sim_set_next_preempt(c->cpu, -1);
		return true;
	case KVT_OP_MIGRATE:
		sim_set_next_preempt(c->cpu, (int)a.v[KVT_ARG_TO]);
		return true;
	case KVT_OP_FAIL_ALLOCS:
		sim_fail_next_allocs((unsigned int)c->n);
		return true;
	case KVT_OP_RCU_WORK_EARLY:
		/* Only an implementation that promises to notice can be tested so. */
		if (!kvfree_rcu_rechecks_gp())
			return false;
		sim_rcu_work_early((unsigned int)c->n);
		return true;
	case KVT_OP_SHRINK_COUNT:
		c->ctx = KENV_CTX_KTHREAD;
		return start_in_ctx(c, body_shrink_count, "kvt-shrink-count");
	case KVT_OP_SHRINK_SCAN:
		c->ctx = KENV_CTX_KTHREAD;
		/* The top of the field asks for everything: the API's unsigned long edge. */
		if (c->n == KVT_SCAN_ALL)
			c->n = ULONG_MAX;
		return start_in_ctx(c, body_shrink_scan, "kvt-shrink-scan");
	case KVT_OP_BARRIER:
		if (ex.barriers_running >= EXEC_BARRIERS_MAX)
			return false;
		return start_in_ctx(c, body_barrier, "kvt-barrier");
	case KVT_OP_CPU_OFFLINE:
		/*
		 * The offline hook runs to completion on the driver's behalf
		 * and may wait for a GP (flushing busy batches), which an
		 * explicit reader inside would block forever: not now.
		 */
		if (sim_readers_inside())
			return false;
		return sim_cpu_offline(c->cpu);
	case KVT_OP_CPU_ONLINE:
		return sim_cpu_online(c->cpu);
	case KVT_OP_QUEUE_LOOP:
		return start_in_ctx(c, body_queue_loop, "kvt-queue-loop");
	case KVT_OP_MISUSE_DOUBLE:
		return start_in_ctx(c, body_misuse_double, "kvt-misuse-double");
	case KVT_OP_PCT_CHANGE:
		return sim_pct_change_after(c->n);
	case KVT_OP_API_EDGES:
		/*
		 * At rest only: no task alive (one may hold a krc lock), and
		 * nothing runnable (no work, softirq or injected interrupt that
		 * the driver's own scheduling points could let in between the
		 * snapshots).
		 */
		if (sim_tasks_alive())
			return false;
		sim_run_pending();
		if (sim_tasks_alive())
			return false;
		check_api_edges((int)c->cpu);
		return true;
	case KVT_OP_MISUSE_HEADLESS_ATOMIC:
		if (c->why == KVT_WHY_SOFTIRQ)
			c->ctx = KENV_CTX_SOFTIRQ;
		else if (c->why == KVT_WHY_HARDIRQ)
			c->ctx = KENV_CTX_HARDIRQ;
		else
			c->ctx = KENV_CTX_TASK;
		return start_in_ctx(c, body_misuse_headless_atomic, "kvt-misuse-headless");
	case KVT_OP_NR:
		break;
	}
	return false;
}

/* ---------------------------------------------------------------------------
 * The run
 */

_Static_assert(KVT_PCT_DEPTH_MAX == SIM_PCT_DEPTH_MAX, "the text's PCT depth is the sim's");

/* Under PCT: the program asks for a depth, or takes change points from its ops. */
static void sim_config_from(const struct kvt_prog *prog, struct sim_config *sc)
{
	const struct kvt_config *kc = &prog->cfg;

	sim_config_default(sc);
	sc->nr_cpus = kc->nr_cpus;
	sc->seed = kc->seed;
	sc->auto_gp = kc->gp_mode == KVT_GP_AUTO;
	sc->gp_duration_ns = kc->gp_ns;
	sc->irq_permille = kc->irq_permille;
	sc->nmi_permille = kc->nmi_permille;
	sc->preempt_permille = kc->preempt_permille;
	sc->migrate_permille = kc->migrate_permille;
	sc->alloc_fail_permille = kc->alloc_fail_permille;
	sc->page_limit = kc->page_limit;
	sc->pool_pages = kc->pool_pages;
	sc->driver_cpu = 0;
	if (kc->irq_permille)
		sc->irq_fn = explore_irq;
	if (kc->nmi_permille)
		sc->nmi_fn = explore_nmi;
	sc->pct_depth = kc->pct_depth;
	sc->pct_steps = kc->pct_steps;
	if (!sc->pct_depth && kvt_prog_uses_pct(prog))
		sc->pct_depth = 1;
}

static void kvfree_config_from(const struct kvt_config *kc, struct kvfree_rcu_config *fc)
{
	kvfree_rcu_config_default(fc);
	fc->policy = (enum kvfree_policy)kc->policy;
	fc->nr_cpus = kc->nr_cpus;
	fc->page_entries = kc->page_entries;
	fc->cache_pages = kc->cache_pages;
	fc->drain_delay_ns = kc->drain_ns;
	fc->short_delay_ns = kc->short_ns;
	fc->refill_kick_ns = kc->refill_kick_ns;
	fc->backoff_ns = kc->backoff_ns;
	fc->watermark = kc->watermark;
	fc->rate_calls = kc->rate_calls;
	fc->rate_window_ns = kc->rate_window_ns;
}

static void trace_line(int fd, size_t idx, const struct kvt_op *op, bool applied)
{
	char line[256];

	kvt_op_format(op, line, sizeof(line));
	dprintf(fd, "[%llu ns] op %zu: %s%s\n", (unsigned long long)sim_now(), idx, line,
		applied ? "" : "   (skipped)");
}

/*
 * Bring the run to rest: readers leave, slot objects are retired from the
 * driver, everything pending runs and GPs complete, then a barrier.
 */
static void quiesce(void)
{
	unsigned int cpu;

	ex.ready = false;
	for (unsigned int i = 0; i < KVT_READERS; i++)
		if (ex.readers[i].sim_id >= 0)
			reader_end(&ex.readers[i], i);
	for (cpu = 0; cpu < (unsigned int)kenv_nr_cpus(); cpu++)
		if (kenv_cpu_online((int)cpu))
			break;
	sim_set_driver_cpu(cpu);
	for (unsigned int i = 0; i < KVT_SLOTS; i++) {
		struct exec_slot *s = &ex.slots[i];

		if (!s->obj)
			continue;
		if (s->published)
			check_obj_unpublish(s->obj);
		obj_queue(s->obj, false, CHECK_EXPECT_FREE);
		s->obj = NULL;
		s->published = false;
	}
	sim_quiesce();
	check_barrier_begin();
	kvfree_rcu_barrier();
	check_barrier_end();
	sim_quiesce();
}

/*
 * @nr zeroed call records.  The array outlives a run and grows to the
 * longest program seen: a fuzz target runs one program after another, and a
 * fresh allocation each time was fresh memory each time under ASan's
 * quarantine (a page fault per 4 KiB of calls).  Only the first @nr are used.
 */
static struct exec_call *calls_for(size_t nr)
{
	static struct exec_call *buf;
	static size_t cap;

	if (nr > cap) {
		free(buf);
		buf = calloc(nr, sizeof(*buf));
		if (!buf)
			KENV_DIE("out of memory for the op call records");
		cap = nr;
	} else {
		memset(buf, 0, nr * sizeof(*buf));
	}
	return buf;
}

int kvt_run(const struct kvt_prog *prog, const struct kvt_run_opts *opts_in)
{
	struct kvt_run_opts opts;
	struct sim_config sc;
	struct sim_stats st;
	struct kvfree_rcu_config fc;
	bool final_ok = false;
	const char *why = NULL;

	if (opts_in)
		opts = *opts_in;
	else
		kvt_run_opts_default(&opts);

	memset(&ex.last, 0, sizeof(ex.last));
	ex.last.violated = INV_NR;
	memset(ex.slots, 0, sizeof(ex.slots));
	for (unsigned int i = 0; i < KVT_READERS; i++) {
		ex.readers[i].sim_id = -1;
		ex.readers[i].nr_seen = 0;
	}
	ex.next_serial = 0;
	ex.ready = false;
	ex.nr_nmi_stash = 0;
	ex.barriers_running = 0;

	kvfree_config_from(&prog->cfg, &fc);
	if (!kvfree_rcu_config_valid(&fc, &why)) {
		fprintf(stderr, "kvtorture: configuration refused: %s\n", why ? why : "?");
		return 2;
	}

	sim_config_from(prog, &sc);
	sim_init(&sc);
	check_set_quiet(opts.quiet);
	check_set_mode(opts.mode);
	if (opts.repro)
		check_set_repro(opts.repro);
	if (opts.abort_hook)
		check_set_abort_hook(opts.abort_hook);
	sim_set_hotplug_hooks(kvfree_rcu_cpu_offline, kvfree_rcu_cpu_online);

	ex.calls = calls_for(prog->nr ? prog->nr : 1);

	if (!kvfree_rcu_init(&fc)) {
		fprintf(stderr, "kvtorture: kvfree_rcu_init() refused the configuration\n");
		ex.calls = NULL;
		sim_fini();
		return 2;
	}
	check_set_structure_at_unlock(!opts.no_structure_checks);
	check_set_trace_hash(!opts.no_trace_hash);
	if (prog->cfg.nmi_permille)
		while (ex.nr_nmi_stash < NMI_STASH)
			ex.nmi_stash[ex.nr_nmi_stash++] = obj_new(false);
	ex.ready = true;

	for (size_t i = 0; i < prog->nr; i++) {
		const struct kvt_op *op = &prog->ops[i];
		bool applied;

		check_trace("kvt op %zu %s %u %u %u", i, kvt_op_name(op->code), op->a, op->b,
			    op->c);
		applied = exec_op(prog, i);
		if (!applied) {
			ex.last.ops_skipped++;
			check_trace("kvt op %zu skipped", i);
		}
		/*
		 * Between ops no krc lock is held (raw lock holders are never
		 * switched out) and nothing runs: every krc is whole.
		 */
		if (!opts.no_structure_checks)
			check_structure(false);
		if (opts.trace_fd >= 0)
			trace_line(opts.trace_fd, i, op, applied);
		ex.last.ops_run++;
		if (opts.after_op)
			opts.after_op(i, opts.after_op_arg);
		/* After a violation the implementation's state is suspect: stop. */
		if (check_violated(NULL) != INV_NR)
			break;
	}

	if (check_violated(NULL) == INV_NR) {
		quiesce();
		final_ok = check_accounting();
		final_ok = check_final() && final_ok;
		kvfree_rcu_exit();
		final_ok = check_after_exit() && final_ok;
	}
	check_set_structure_at_unlock(false);
	ex.last.violated = check_violated(NULL);
	ex.last.trace_hash = check_trace_hash();
	check_set_trace_hash(true);
	sim_stats(&st);
	ex.last.pct_steps = st.pct_steps;
	if (opts.trace_fd >= 0)
		check_trace_dump(opts.trace_fd);
	sim_fini();
	ex.calls = NULL;
	return ex.last.violated == INV_NR && final_ok ? 0 : 1;
}

struct kvt_obj *kvt_run_slot(unsigned int slot)
{
	return slot < KVT_SLOTS ? ex.slots[slot].obj : NULL;
}

void kvt_run_last(struct kvt_run_result *res)
{
	*res = ex.last;
}

uint64_t kvt_run_trace_hash(void)
{
	return ex.last.trace_hash;
}
