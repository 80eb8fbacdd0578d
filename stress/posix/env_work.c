/* SPDX-License-Identifier: MIT */
/*
 * env_work.c - work queues, delayed work and rcu_work of the posix
 * environment.
 *
 * work->state holds PENDING (queued, or waiting for its timer or GP),
 * RUNNING, TIMER (a delayed work's timer still has to queue it), LINKED (the
 * work is on an inbox, or on the list a runner took from one), HELD (a
 * cancel took the timer and waits for a fire in flight), and above
 * WORK_GEN_SHIFT a generation bumped at each queueing; work->seq is the
 * generation of the last completed run, which is what flush waits for, and
 * work->env_priv the generation of the run in progress, which is what a
 * cancel waits for.
 * Whoever makes a work ready to run (a queue without delay, its timer's
 * fire, its GP's callback) sets LINKED in the same step and, if it was not
 * set, pushes the work on a lock-free per-CPU inbox (one per queue; highpri
 * is served first) and wakes the CPU's runner: its kworker thread in worker
 * mode (only if it waits), its CPU thread in inline mode (posix_cpu_post).
 * A runner that reaches a work clears LINKED and runs it if it is still
 * pending and not waiting for its timer, and otherwise leaves it.  So a
 * cancel drops a pending instance at once, as the kernel takes it off its
 * worklist: the entry stays linked, and a queue meanwhile uses it again.
 * A work never runs concurrently with itself: queued again while it runs,
 * it goes to the CPU running it, and a runner that finds it still running
 * elsewhere waits for it, as the kernel's work queues are non-reentrant.
 */
#include <stdio.h>

#include "env_internal.h"

#define WORK_PENDING 1u
#define WORK_RUNNING 2u
#define WORK_TIMER 4u
#define WORK_LINKED 8u
#define WORK_HELD 16u
#define WORK_GEN_SHIFT 8
#define WORK_GEN_MASK 0xffffffu

/* Backstop only: a push posts kworker_wake while the kworker idles. */
#define KWORKER_IDLE_NS (20u * 1000 * 1000)
#define WORK_POLL_NS (50u * 1000)
#define REENTRY_POLL_NS (20u * 1000)

/* ---------------------------------------------------------------------------
 * Queueing
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

/* Link a work the caller made LINKED on @cpu's inbox, and wake its runner. */
static void work_push(struct kenv_work *work, int cpu)
{
	struct posix_cpu *c;
	struct kenv_work *old;
	enum kenv_wq wq;

	/* Non-reentrancy: a work still running goes to the runner running it. */
	if (atomic_load(&work->state) & WORK_RUNNING)
		cpu = __atomic_load_n(&work->cpu, __ATOMIC_RELAXED);
	__atomic_store_n(&work->cpu, cpu, __ATOMIC_RELAXED);
	c = &posix_cpus[cpu];
	wq = __atomic_load_n(&work->wq, __ATOMIC_RELAXED);
	old = atomic_load_explicit(&c->wq_inbox[wq], memory_order_relaxed);
	/*
	 * Release: the queuer's writes happen before the work function runs.
	 * seq_cst with the kworker's idle flag: either it sees the work, or we
	 * see it idle and wake it.
	 */
	do {
		work->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&c->wq_inbox[wq], &old, work,
							 memory_order_seq_cst,
							 memory_order_relaxed));
	if (posix_cfg.reclaim == POSIX_RECLAIM_INLINE)
		posix_cpu_post(cpu, POSIX_PEND_WORK);
	else if (atomic_load(&c->kworker_idle))
		sem_post(&c->kworker_wake);
}

static unsigned int gen_of(unsigned int state)
{
	return (state >> WORK_GEN_SHIFT) & WORK_GEN_MASK;
}

/*
 * Make @work PENDING (plus @extra) and bump its generation; false if it
 * already was.  *@old, if not NULL: the state before.
 */
static bool work_claim(struct kenv_work *work, unsigned int extra, unsigned int *old)
{
	unsigned int s = atomic_load(&work->state);
	unsigned int ns;

	do {
		if (s & WORK_PENDING)
			return false;
		ns = (s | WORK_PENDING | extra) + (1u << WORK_GEN_SHIFT);
	} while (!atomic_compare_exchange_weak(&work->state, &s, ns));
	if (old)
		*old = s;
	return true;
}

/*
 * Make a pending @work ready to run: set LINKED, and clear TIMER if @timer
 * (only its holder may, so a stale re-armed expiry finds it clear and does
 * nothing).  Whether the caller must push it: it was not linked already.
 */
static bool work_ready(struct kenv_work *work, bool timer, bool *push)
{
	unsigned int s = atomic_load(&work->state);

	do {
		if (timer && !(s & WORK_TIMER))
			return false;
	} while (!atomic_compare_exchange_weak(&work->state, &s,
					       (s & ~(timer ? WORK_TIMER : 0)) | WORK_LINKED));
	*push = !(s & WORK_LINKED);
	return true;
}

bool kenv_queue_work(enum kenv_wq wq, struct kenv_work *work)
{
	unsigned int old;

	if (!work_claim(work, WORK_LINKED, &old))
		return false;
	__atomic_store_n(&work->wq, wq, __ATOMIC_RELAXED);
	/* Still linked from a cancelled instance: its runner runs this one. */
	if (!(old & WORK_LINKED))
		work_push(work, kenv_cpu());
	return true;
}

static void dwork_timer_fn(struct kenv_timer *timer)
{
	struct kenv_delayed_work *dwork = (struct kenv_delayed_work *)
		((char *)timer - offsetof(struct kenv_delayed_work, timer));
	bool push;

	if (work_ready(&dwork->work, true, &push) && push)
		work_push(&dwork->work, kenv_cpu());
}

bool kenv_queue_delayed_work(enum kenv_wq wq, struct kenv_delayed_work *dwork,
			     uint64_t delay_ns)
{
	if (!delay_ns)
		return kenv_queue_work(wq, &dwork->work);
	if (!work_claim(&dwork->work, WORK_TIMER, NULL))
		return false;
	/*
	 * Relaxed: a mod_delayed_work() of the last instance that saw TIMER just
	 * before the instance was fired or cancelled re-arms the timer late; if
	 * that arming lands after this one, the timer fires at the mod's delay,
	 * and its fire takes TIMER and pushes this instance then, early or late,
	 * reading the queue it goes to.  Rare; never lost.  A fire claimed before
	 * a cancel cannot do the same: the cancel waits for it (below).
	 */
	__atomic_store_n(&dwork->work.wq, wq, __ATOMIC_RELAXED);
	kenv_timer_start(&dwork->timer, delay_ns);
	return true;
}

bool kenv_mod_delayed_work(enum kenv_wq wq, struct kenv_delayed_work *dwork,
			   uint64_t delay_ns)
{
	unsigned int s = atomic_load(&dwork->work.state);

	if (s & WORK_PENDING) {
		/* Still waiting for its timer: move the expiry (a late fire is ignored). */
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

static void rwork_gp_cb(struct kenv_rcu_head *head)
{
	struct kenv_rcu_work *rwork = (struct kenv_rcu_work *)
		((char *)head - offsetof(struct kenv_rcu_work, rcu));
	bool push;

	if (work_ready(&rwork->work, false, &push) && push)
		work_push(&rwork->work, __atomic_load_n(&rwork->work.cpu, __ATOMIC_RELAXED));
}

void (*_Atomic posix_queue_rcu_work_hook)(void);

bool kenv_queue_rcu_work(enum kenv_wq wq, struct kenv_rcu_work *rwork)
{
	posix_run_hook(&posix_queue_rcu_work_hook);
	if (!work_claim(&rwork->work, 0, NULL))
		return false;
	rwork->wq = wq;
	__atomic_store_n(&rwork->work.wq, wq, __ATOMIC_RELAXED);
	__atomic_store_n(&rwork->work.cpu, kenv_cpu(), __ATOMIC_RELAXED);
	kenv_call_rcu(&rwork->rcu, rwork_gp_cb);
	return true;
}

bool kenv_work_busy(const struct kenv_work *work)
{
	return atomic_load(&((struct kenv_work *)work)->state) & (WORK_PENDING | WORK_RUNNING);
}

bool kenv_rcu_work_busy(const struct kenv_rcu_work *rwork)
{
	return kenv_work_busy(&rwork->work);
}

/* ---------------------------------------------------------------------------
 * Flushing and cancelling
 */

/* Whether generation @a is @b or earlier (modulo the wrap). */
static bool gen_le(unsigned int a, unsigned int b)
{
	return ((b - a) & WORK_GEN_MASK) < (WORK_GEN_MASK + 1) / 2;
}

static bool gen_reached(const struct kenv_work *work, unsigned int gen)
{
	return gen_le(gen, (unsigned int)__atomic_load_n(&work->seq, __ATOMIC_ACQUIRE));
}

/*
 * Whether an instance of @work of generation @gen or earlier is still
 * running.  An instance queued since is not waited for: the kernel's cancel
 * keeps it from being queued meanwhile, and under a flood that re-arms a
 * delayed work at every call, waiting for every instance would wait for ever.
 */
static bool older_busy(struct kenv_work *work, unsigned int gen)
{
	unsigned int s = atomic_load(&work->state);

	return (s & WORK_RUNNING) &&
	       gen_le((unsigned int)(uintptr_t)__atomic_load_n(&work->env_priv, __ATOMIC_RELAXED),
		      gen);
}

/* What a hang dump shows for a thread waiting in a flush or a cancel. */
static void wait_begin(struct kenv_work *work, const char *site)
{
#if POSIX_CHECKED
	struct posix_thread *t = posix_cur();

	atomic_store(&t->wait_work, work);
	atomic_store(&t->last_site, site);
#else
	(void)work;
	(void)site;
#endif
}

static void wait_end(void)
{
#if POSIX_CHECKED
	atomic_store(&posix_cur()->wait_work, NULL);
#endif
}

void kenv_flush_work(struct kenv_work *work)
{
	unsigned int s;

	ENV_CHECK(check_might_sleep("flush_work"));
	s = atomic_load(&work->state);
	if (!(s & (WORK_PENDING | WORK_RUNNING)))
		return;
	wait_begin(work, "flush_work");
	while (!gen_reached(work, (s >> WORK_GEN_SHIFT) & WORK_GEN_MASK) &&
	       !atomic_load(&posix_stopping))
		posix_sleep_ns(WORK_POLL_NS);
	wait_end();
}

void kenv_flush_rcu_work(struct kenv_rcu_work *rwork)
{
	kenv_flush_work(&rwork->work);
}

bool kenv_cancel_delayed_work_sync(struct kenv_delayed_work *dwork)
{
	struct kenv_work *work = &dwork->work;
	bool was_pending = false;
	unsigned int s;

	ENV_CHECK(check_might_sleep("cancel_delayed_work_sync"));
	kenv_timer_cancel(&dwork->timer);
	/*
	 * The latest instance now: the cancel waits for it and those before.
	 * Taking TIMER, it holds the instance: pending, so nobody queues, and
	 * HELD, so a runner that reaches a linked entry of the work leaves it.
	 */
	s = atomic_load(&work->state);
	while ((s & WORK_TIMER) &&
	       !atomic_compare_exchange_weak(&work->state, &s, (s & ~WORK_TIMER) | WORK_HELD))
		;
	if (s & WORK_TIMER) {
		/*
		 * We took TIMER: nobody pushed it, so the pending instance is ours
		 * to drop.  Not before a fire claimed earlier has ended (the
		 * kernel's del_timer_sync()): it finds TIMER clear while PENDING
		 * still keeps anyone from queueing; once PENDING is gone, a new
		 * instance's TIMER would be its to take, and that instance would
		 * run at once instead of after its delay.  Cancel again first: a
		 * mod may have re-armed the timer since the cancel above.
		 */
		kenv_timer_cancel(&dwork->timer);
		posix_timer_sync(&dwork->timer);
		atomic_fetch_and(&work->state, ~(WORK_PENDING | WORK_HELD));
		was_pending = true;
	} else if (s & WORK_HELD) {
		/* Another cancel holds this instance: wait until it has dropped it. */
		wait_begin(work, "cancel_work");
		while ((atomic_load(&work->state) & WORK_HELD) && !atomic_load(&posix_stopping))
			posix_sleep_ns(WORK_POLL_NS);
		wait_end();
	} else if (s & WORK_PENDING) {
		/*
		 * Ready to run, linked: dropped now, as the kernel takes it off
		 * the worklist.  The runner that reaches the entry finds it not
		 * pending and leaves it.  Only if it is still this instance: one
		 * queued since is not ours to drop.
		 */
		unsigned int cur = s;

		while ((cur & WORK_PENDING) && !(cur & WORK_HELD) && gen_of(cur) == gen_of(s) &&
		       !atomic_compare_exchange_weak(&work->state, &cur, cur & ~WORK_PENDING))
			;
		was_pending = true;
	}
	wait_begin(work, "cancel_work");
	while (older_busy(work, gen_of(s)) && !atomic_load(&posix_stopping))
		posix_sleep_ns(WORK_POLL_NS);
	wait_end();
	return was_pending;
}

/* ---------------------------------------------------------------------------
 * Running
 */

/*
 * Take @work, reached on a runner's list, off it, and for running: false if
 * there is nothing to run (cancelled, or queued again with a delay whose
 * timer will push it anew).
 */
static bool work_take(struct kenv_work *work, unsigned int *gen)
{
	unsigned int s = atomic_load(&work->state);

	for (;;) {
		if (!(s & WORK_PENDING) || (s & (WORK_TIMER | WORK_HELD))) {
			if (atomic_compare_exchange_weak(&work->state, &s, s & ~WORK_LINKED))
				return false;
			continue;
		}
		/*
		 * Non-reentrant, like the kernel's work queues: an instance queued
		 * again while the previous one still runs (on another runner)
		 * waits for it.  Otherwise the new instance could finish first and
		 * satisfy a flush (kvfree_rcu_barrier() flushes the batch work)
		 * while the old one is still freeing what it took.
		 */
		if (s & WORK_RUNNING) {
			posix_sleep_ns(REENTRY_POLL_NS);
			s = atomic_load(&work->state);
			continue;
		}
		/* Which instance runs, for a cancel: set before RUNNING shows it. */
		__atomic_store_n(&work->env_priv, (void *)(uintptr_t)gen_of(s), __ATOMIC_RELAXED);
		if (atomic_compare_exchange_weak(&work->state, &s,
						 (s & ~(WORK_PENDING | WORK_LINKED)) | WORK_RUNNING))
			break;
	}
	*gen = gen_of(s);
	return true;
}

static void run_work(struct posix_thread *self, struct kenv_work *work, int cpu)
{
	/* On a CPU thread (inline mode) the work runs in a kthread frame of its own. */
	bool inline_run = self->role != POSIX_ROLE_KWORKER;
	unsigned int gen;

	if (!work_take(work, &gen))
		return;
	atomic_store_explicit(&self->cpu, posix_effective_cpu(cpu), memory_order_relaxed);
#if POSIX_CHECKED
	atomic_store(&self->last_site, "work");
#endif
	if (inline_run)
		posix_frame_push(KENV_CTX_KTHREAD);
	work->func(work);
	if (inline_run)
		posix_frame_pop();
	/* Release: what the function did is visible to whoever flush saw finish. */
	__atomic_store_n(&work->seq, gen, __ATOMIC_RELEASE);
	atomic_fetch_and(&work->state, ~WORK_RUNNING);
	atomic_fetch_add_explicit(&posix_stat_works, 1, memory_order_relaxed);
}

/* Take @wq's inbox of @cpu and run it in queue order; whether anything ran. */
static bool run_queue(struct posix_thread *self, int cpu, enum kenv_wq wq)
{
	struct kenv_work *list, *rev = NULL;
	bool ran = false;

	list = atomic_exchange_explicit(&posix_cpus[cpu].wq_inbox[wq], NULL,
					memory_order_acquire);
	/* LIFO inbox: reverse to run in queue order. */
	while (list) {
		struct kenv_work *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct kenv_work *next = rev->next;

#if POSIX_CHECKED
		atomic_store_explicit(&self->run_next, next, memory_order_relaxed);
		atomic_store_explicit(&self->run_work, rev, memory_order_relaxed);
#endif
		run_work(self, rev, cpu);
		rev = next;
		ran = true;
	}
#if POSIX_CHECKED
	atomic_store_explicit(&self->run_work, NULL, memory_order_relaxed);
	atomic_store_explicit(&self->run_next, NULL, memory_order_relaxed);
#endif
	return ran;
}

void posix_run_inbox(int cpu)
{
	struct posix_thread *self = posix_cur();
	bool ran;

	do {
		ran = run_queue(self, cpu, KENV_WQ_HIGHPRI);
		ran |= run_queue(self, cpu, KENV_WQ_RECLAIM);
	} while (ran);
}

static bool inbox_empty(const struct posix_cpu *c)
{
	for (int wq = 0; wq < KENV_WQ_NR; wq++)
		if (atomic_load(&((struct posix_cpu *)c)->wq_inbox[wq]))
			return false;
	return true;
}

#if POSIX_CHECKED
/* At most this many works of one list are shown: a racy walk may meet a cycle. */
#define DUMP_LIST_MAX 8

RACY_READER static void dump_work(int fd, const char *what, const struct kenv_work *w)
{
	unsigned int s = atomic_load_explicit(&((struct kenv_work *)w)->state,
					      memory_order_relaxed);

	posix_fd_printf(fd, "    %s work %p: state%s%s%s%s%s gen %u, running gen %u, done gen %u, "
			"cpu %d\n", what, (const void *)w,
			s & WORK_PENDING ? " pending" : "", s & WORK_TIMER ? " timer" : "",
			s & WORK_RUNNING ? " running" : "", s & WORK_LINKED ? " linked" : "",
			s & WORK_HELD ? " held" : "",
			gen_of(s), (unsigned int)(uintptr_t)w->env_priv & WORK_GEN_MASK,
			(unsigned int)w->seq & WORK_GEN_MASK, w->cpu);
}

RACY_READER static void dump_list(int fd, const char *what, const struct kenv_work *w)
{
	for (int n = 0; w && n < DUMP_LIST_MAX; n++, w = w->next)
		dump_work(fd, what, w);
	if (w)
		posix_fd_printf(fd, "    (more)\n");
}

RACY_READER void posix_dump_thread_work(int fd, const struct posix_thread *t)
{
	const struct kenv_work *w = atomic_load_explicit(&((struct posix_thread *)t)->wait_work,
							 memory_order_relaxed);

	if (w)
		dump_work(fd, "waits for", w);
	w = atomic_load_explicit(&((struct posix_thread *)t)->run_work, memory_order_relaxed);
	if (!w)
		return;
	dump_work(fd, "runs", w);
	dump_list(fd, "then runs",
		  atomic_load_explicit(&((struct posix_thread *)t)->run_next, memory_order_relaxed));
}

RACY_READER void posix_dump_inboxes(int fd)
{
	static const char *const names[KENV_WQ_NR] = { "reclaim", "highpri" };

	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++)
		for (int wq = 0; wq < KENV_WQ_NR; wq++) {
			const struct kenv_work *w = atomic_load_explicit(
				&posix_cpus[cpu].wq_inbox[wq], memory_order_relaxed);

			if (!w)
				continue;
			posix_fd_printf(fd, "cpu%d %s inbox, newest first:\n", cpu, names[wq]);
			dump_list(fd, "queued", w);
		}
}
#endif

static void *kworker_main(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct posix_cpu *c = &posix_cpus[cpu];

	while (!atomic_load(&posix_stopping)) {
		atomic_store(&c->kworker_idle, true);
		if (inbox_empty(c))
			posix_sem_wait_ns(&c->kworker_wake, KWORKER_IDLE_NS);
		atomic_store(&c->kworker_idle, false);
		posix_run_inbox(cpu);
		kenv_sched_point("kworker");
	}
	return NULL;
}

void posix_work_start(void)
{
	char name[32];

	if (posix_cfg.reclaim != POSIX_RECLAIM_WORKER)
		return;
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		snprintf(name, sizeof(name), "cpu%d/kworker", cpu);
		posix_thread_create(&posix_cpus[cpu].kworker_thr, name, POSIX_ROLE_KWORKER, cpu,
				    kworker_main, (void *)(intptr_t)cpu);
	}
}

void posix_work_stop(void)
{
	if (posix_cfg.reclaim != POSIX_RECLAIM_WORKER)
		return;
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		sem_post(&posix_cpus[cpu].kworker_wake);
		pthread_join(posix_cpus[cpu].kworker_thr, NULL);
	}
}
