// SPDX-License-Identifier: MIT
/*
 * benv.c - threads, contexts, locks, softirqs, pages and objects of the
 * timing environment (see benv.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "bench_obj.h"
#include "benv_internal.h"

#define POOL_MAX 64

struct benv_cpu benv_cpus[KENV_NR_CPUS_MAX];
struct benv_config benv_cfg;
_Atomic(bool) benv_stopping;
_Atomic(uint64_t) benv_stat_works, benv_stat_timers, benv_stat_softirqs, benv_stat_cbs;

BENV_TLS _Atomic(unsigned int) *benv_my_pending;
BENV_TLS struct benv_thread *benv_me;
BENV_TLS struct benv_thread benv_anon = { .depth = 1 };

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

static void (*_Atomic softirq_fns[KENV_SOFTIRQ_NR])(void);
static struct timespec clock_base;

/* benv_run_on_cpus(): the job, its generation, and how many CPUs finished it. */
static void (*_Atomic job_fn)(int cpu, void *arg);
static void *_Atomic job_arg;
static _Atomic(unsigned int) job_gen;
static _Atomic(int) job_done;
static sem_t job_finished;

static void *_Atomic pool[KENV_NR_CPUS_MAX][POOL_MAX];
static _Atomic(uint64_t) pages_in_use, pages_peak, pages_allocated, pool_allocs, pool_misses;

static const char *const ctx_names[KENV_CTX_NR] = {
	"task", "kthread", "softirq", "hardirq", "nmi",
};

static const char *const reclaim_names[BENV_RECLAIM_NR] = { "worker", "inline" };

const char *benv_reclaim_name(enum benv_reclaim r)
{
	return (unsigned int)r < BENV_RECLAIM_NR ? reclaim_names[r] : NULL;
}

bool benv_reclaim_parse(const char *name, enum benv_reclaim *r)
{
	for (unsigned int i = 0; i < BENV_RECLAIM_NR; i++) {
		if (!strcmp(name, reclaim_names[i])) {
			*r = (enum benv_reclaim)i;
			return true;
		}
	}
	return false;
}

/* ---------------------------------------------------------------------------
 * Threads and frames
 */

void benv_frame_push(enum kenv_ctx ctx)
{
	struct benv_thread *t = benv_cur();

	if (t->depth >= BENV_MAX_FRAMES)
		KENV_DIE("context frames nested too deep");
	t->saved_irq_off[t->depth] = t->irq_off;
	t->ctx[t->depth++] = ctx;
	if (ctx == KENV_CTX_HARDIRQ)
		t->irq_off = true;
}

void benv_frame_pop(void)
{
	struct benv_thread *t = benv_cur();

	if (t->depth <= 1)
		KENV_DIE("context frame popped below the base");
	t->irq_off = t->saved_irq_off[--t->depth];
}

void benv_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void benv_sem_wait_ns(sem_t *sem, uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec += (long)(ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (sem_timedwait(sem, &ts) && errno == EINTR)
		;
}

struct thread_start {
	enum benv_role role;
	int cpu;
	void *(*fn)(void *);
	void *arg;
	sem_t started;
};

static void register_self(enum benv_role role, int cpu)
{
	struct benv_thread *t = calloc(1, sizeof(*t));

	if (!t)
		KENV_DIE("out of memory for a thread record");
	t->role = role;
	t->cpu = cpu;
	t->depth = 1;
	t->ctx[0] = (role == BENV_ROLE_KWORKER || role == BENV_ROLE_ENV) ?
		    KENV_CTX_KTHREAD : KENV_CTX_TASK;
	benv_me = t;
	if (role == BENV_ROLE_CPU)
		benv_my_pending = &benv_cpus[cpu].pending;
}

static void *thread_trampoline(void *p)
{
	struct thread_start *ts = p;
	void *(*fn)(void *) = ts->fn;
	void *arg = ts->arg;
	void *ret;

	char name[16];

	/* Named for perf and top: kvb-cpu0, kvb-kworker0, kvb-env. */
	snprintf(name, sizeof(name), "kvb-%s%d", ts->role == BENV_ROLE_CPU ? "cpu" :
		 ts->role == BENV_ROLE_KWORKER ? "kworker" : "env", ts->cpu);
	pthread_setname_np(pthread_self(), name);
	urcu_memb_register_thread();
	register_self(ts->role, ts->cpu);
	bench_acct_self();
	sem_post(&ts->started);
	ret = fn(arg);
	bench_acct_release();
	urcu_memb_unregister_thread();
	free(benv_me);
	benv_me = NULL;
	benv_my_pending = NULL;
	return ret;
}

void benv_thread_create(pthread_t *thr, enum benv_role role, int cpu,
			void *(*fn)(void *), void *arg)
{
	struct thread_start ts = { .role = role, .cpu = cpu, .fn = fn, .arg = arg };
	int err;

	if (sem_init(&ts.started, 0, 0))
		KENV_DIE("sem_init");
	err = pthread_create(thr, NULL, thread_trampoline, &ts);
	if (err) {
		errno = err;
		KENV_DIE("pthread_create");
	}
	while (sem_wait(&ts.started) && errno == EINTR)
		;
	sem_destroy(&ts.started);
}

void benv_cpu_post(int cpu, unsigned int bit)
{
	struct benv_cpu *c = &benv_cpus[cpu];

	/*
	 * seq_cst on both sides (here, and the idle flag then the re-check in
	 * the waiter): either the waiter sees the bit, or we see it idle.
	 */
	if (atomic_fetch_or(&c->pending, bit) & bit)
		return;
	if (atomic_load(&c->cpu_idle))
		sem_post(&c->cpu_wake);
}

/* ---------------------------------------------------------------------------
 * CPU threads: jobs, pending work, interrupts
 */

static void run_softirqs(int cpu)
{
	struct benv_thread *t = benv_cur();
	unsigned int mask;

	/* Not inside an interrupt, nor with bh off: the kernel would defer them too. */
	if (t->depth > 1 || t->bh)
		return;
	while ((mask = atomic_exchange(&benv_cpus[cpu].softirq_mask, 0))) {
		benv_frame_push(KENV_CTX_SOFTIRQ);
		t->bh++;
		for (unsigned int nr = 0; nr < KENV_SOFTIRQ_NR; nr++) {
			void (*fn)(void) = atomic_load(&softirq_fns[nr]);

			if ((mask & (1u << nr)) && fn)
				fn();
		}
		t->bh--;
		benv_frame_pop();
		atomic_fetch_add_explicit(&benv_stat_softirqs, 1, memory_order_relaxed);
	}
}

static void run_job(int cpu, unsigned int *seen_gen)
{
	unsigned int gen = atomic_load(&job_gen);
	void (*fn)(int cpu, void *arg);

	if (gen == *seen_gen)
		return;
	*seen_gen = gen;
	fn = atomic_load(&job_fn);
	if (fn)
		fn(cpu, atomic_load(&job_arg));
	if (atomic_fetch_add(&job_done, 1) + 1 == benv_cfg.nr_cpus)
		sem_post(&job_finished);
}

void benv_run_pending(void)
{
	struct benv_thread *t = benv_cur();
	int cpu = t->cpu;
	unsigned int bits;

	if (t->role != BENV_ROLE_CPU || t->depth > 1 || t->irq_off || t->locks)
		return;
	/* Take every bit but JOB, which only the idle loop consumes. */
	while ((bits = atomic_fetch_and(&benv_cpus[cpu].pending, BENV_PEND_JOB) &
			~BENV_PEND_JOB)) {
		if (bits & BENV_PEND_TIMER)
			benv_run_cpu_timers(cpu);
		if (bits & (BENV_PEND_SOFTIRQ | BENV_PEND_TIMER))
			run_softirqs(cpu);
		if (bits & BENV_PEND_WORK)
			benv_run_inbox(cpu);
	}
}

static void *cpu_main(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct benv_cpu *c = &benv_cpus[cpu];
	unsigned int seen_gen = 0;

	while (!atomic_load(&benv_stopping)) {
		atomic_store(&c->cpu_idle, true);
		if (!atomic_load(&c->pending))
			benv_sem_wait_ns(&c->cpu_wake, 20 * 1000 * 1000);
		atomic_store(&c->cpu_idle, false);
		if (atomic_fetch_and(&c->pending, ~BENV_PEND_JOB) & BENV_PEND_JOB)
			run_job(cpu, &seen_gen);
		benv_run_pending();
	}
	return NULL;
}

void benv_cpus_begin(void (*fn)(int cpu, void *arg), void *arg)
{
	atomic_store(&job_fn, fn);
	atomic_store(&job_arg, arg);
	atomic_store(&job_done, 0);
	atomic_fetch_add(&job_gen, 1);
	for (int cpu = 0; cpu < benv_cfg.nr_cpus; cpu++)
		benv_cpu_post(cpu, BENV_PEND_JOB);
}

bool benv_cpus_done(void)
{
	return atomic_load(&job_done) == benv_cfg.nr_cpus;
}

void benv_cpus_wait(void)
{
	while (sem_wait(&job_finished) && errno == EINTR)
		;
}

void benv_run_on_cpus(void (*fn)(int cpu, void *arg), void *arg)
{
	benv_cpus_begin(fn, arg);
	benv_cpus_wait();
}

void benv_irq_enter(void)
{
	benv_frame_push(KENV_CTX_HARDIRQ);
}

void benv_irq_exit(void)
{
	struct benv_thread *t = benv_cur();

	benv_frame_pop();
	/* irq_exit(): softirqs raised by the handler run now, unless nested or masked. */
	if (t->depth == 1 && !t->irq_off &&
	    atomic_load_explicit(&benv_cpus[t->cpu].softirq_mask, memory_order_relaxed))
		run_softirqs(t->cpu);
}

/* ---------------------------------------------------------------------------
 * Contexts
 */

const char *kenv_ctx_name(enum kenv_ctx ctx)
{
	return (unsigned int)ctx < KENV_CTX_NR ? ctx_names[ctx] : "?";
}

enum kenv_ctx kenv_context(void)
{
	struct benv_thread *t = benv_cur();

	return t->ctx[t->depth - 1];
}

static bool any_frame(enum kenv_ctx ctx)
{
	struct benv_thread *t = benv_cur();

	for (int i = 0; i < t->depth; i++)
		if (t->ctx[i] == ctx)
			return true;
	return false;
}

bool kenv_in_hardirq(void)
{
	return any_frame(KENV_CTX_HARDIRQ);
}

bool kenv_in_softirq(void)
{
	return any_frame(KENV_CTX_SOFTIRQ);
}

bool kenv_in_nmi(void)
{
	return false;
}

bool kenv_irqs_disabled(void)
{
	return benv_cur()->irq_off;
}

bool kenv_preemptible(void)
{
	struct benv_thread *t = benv_cur();

	return t->depth == 1 && !t->irq_off && !t->preempt && !t->bh && !t->locks &&
	       !t->rcu_nest;
}

int kenv_cpu(void)
{
	return benv_cur()->cpu;
}

int kenv_nr_cpus(void)
{
	return benv_cfg.nr_cpus;
}

bool kenv_cpu_online(int cpu)
{
	return cpu >= 0 && cpu < benv_cfg.nr_cpus;
}

/* ---------------------------------------------------------------------------
 * Locks, irq mask, preemption, bh, scheduling points
 */

void kenv_lock_init(struct kenv_lock *lock, const char *name)
{
	atomic_store(&lock->word, 0);
	lock->name = name;
	lock->cpu = -1;
	lock->depth = 0;
}

void kenv_raw_spin_lock(struct kenv_lock *lock)
{
	struct benv_thread *t = benv_cur();
	uintptr_t expected = 0;
	unsigned int spins = 0;

	/* Acquire: the critical section cannot float above the lock. */
	while (!atomic_compare_exchange_weak_explicit(&lock->word, &expected, (uintptr_t)t,
						      memory_order_acquire, memory_order_relaxed)) {
		/* Spin on a plain load until it looks free; yield to a preempted holder. */
		while (atomic_load_explicit(&lock->word, memory_order_relaxed)) {
			if (++spins % 256 == 0)
				sched_yield();
			else
				cpu_relax();
		}
		expected = 0;
	}
	t->locks++;
}

void kenv_raw_spin_unlock(struct kenv_lock *lock)
{
	benv_cur()->locks--;
	/* Release: what was written under the lock is seen by the next holder. */
	atomic_store_explicit(&lock->word, 0, memory_order_release);
}

bool kenv_lock_held(const struct kenv_lock *lock)
{
	return atomic_load_explicit(&((struct kenv_lock *)lock)->word, memory_order_relaxed) ==
	       (uintptr_t)benv_cur();
}

unsigned long kenv_local_irq_save(void)
{
	struct benv_thread *t = benv_cur();
	unsigned long flags = t->irq_off;

	t->irq_off = true;
	return flags;
}

void kenv_local_irq_restore(unsigned long flags)
{
	benv_cur()->irq_off = flags != 0;
}

void kenv_preempt_disable(void)
{
	benv_cur()->preempt++;
}

void kenv_preempt_enable(void)
{
	benv_cur()->preempt--;
}

void kenv_local_bh_disable(void)
{
	benv_cur()->bh++;
}

void kenv_local_bh_enable(void)
{
	struct benv_thread *t = benv_cur();

	if (--t->bh == 0 && t->role == BENV_ROLE_CPU &&
	    atomic_load_explicit(&benv_cpus[t->cpu].softirq_mask, memory_order_relaxed))
		run_softirqs(t->cpu);
}

void kenv_might_sleep(const char *site)
{
	(void)site;
}

void kenv_sched_point(const char *site)
{
	(void)site;
}

void kenv_cond_resched(void)
{
}

/* ---------------------------------------------------------------------------
 * Softirqs
 */

void kenv_open_softirq(enum kenv_softirq nr, void (*fn)(void))
{
	if ((unsigned int)nr < KENV_SOFTIRQ_NR)
		atomic_store(&softirq_fns[nr], fn);
}

void kenv_raise_softirq(enum kenv_softirq nr)
{
	int cpu = kenv_cpu();

	atomic_fetch_or(&benv_cpus[cpu].softirq_mask, 1u << nr);
	benv_cpu_post(cpu, BENV_PEND_SOFTIRQ);
}

/* ---------------------------------------------------------------------------
 * Pages and objects
 */

static void page_account(void)
{
	uint64_t n = atomic_fetch_add(&pages_in_use, 1) + 1;
	uint64_t peak = atomic_load(&pages_peak);

	atomic_fetch_add_explicit(&pages_allocated, 1, memory_order_relaxed);
	while (n > peak && !atomic_compare_exchange_weak(&pages_peak, &peak, n))
		;
}

/*
 * Storage pages come from their own mappings, not from malloc: a 4 KiB
 * malloc() is a large-bin request, which makes glibc consolidate every
 * freed 32-byte object sitting in its fastbins first, a cost the kernel's
 * separate page allocator never charges to kfree_rcu().  Pages are carved
 * from 1 MiB mappings and kept on a free list (a mutex is fine: this is
 * never called under a raw lock, and only once per page of objects).
 */
#define PAGE_CHUNK_PAGES 256

static pthread_mutex_t page_mutex = PTHREAD_MUTEX_INITIALIZER;
static void *page_free_list;

static void *page_get(void)
{
	void *page;

	pthread_mutex_lock(&page_mutex);
	if (!page_free_list) {
		char *chunk = mmap(NULL, (size_t)PAGE_CHUNK_PAGES * KENV_PAGE_SIZE,
				   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (chunk == MAP_FAILED) {
			pthread_mutex_unlock(&page_mutex);
			return NULL;
		}
		for (int i = PAGE_CHUNK_PAGES - 1; i >= 0; i--) {
			*(void **)(chunk + (size_t)i * KENV_PAGE_SIZE) = page_free_list;
			page_free_list = chunk + (size_t)i * KENV_PAGE_SIZE;
		}
	}
	page = page_free_list;
	page_free_list = *(void **)page;
	pthread_mutex_unlock(&page_mutex);
	return page;
}

static void page_put(void *page)
{
	pthread_mutex_lock(&page_mutex);
	*(void **)page = page_free_list;
	page_free_list = page;
	pthread_mutex_unlock(&page_mutex);
}

void *kenv_page_alloc(unsigned int gfp)
{
	void *page = NULL;

	if (gfp & KENV_GFP_POOL) {
		int cpu = kenv_cpu();

		/* Look before exchanging: a miss costs loads, not locked writes. */
		for (unsigned int i = 0; i < benv_cfg.pool_pages && i < POOL_MAX && !page; i++)
			if (atomic_load_explicit(&pool[cpu][i], memory_order_relaxed))
				page = atomic_exchange(&pool[cpu][i], NULL);
		atomic_fetch_add_explicit(page ? &pool_allocs : &pool_misses, 1,
					  memory_order_relaxed);
	} else {
		page = page_get();
	}
	if (page)
		page_account();
	return page;
}

void kenv_page_free(void *page)
{
	int cpu = kenv_cpu();

	if (!page)
		return;
	atomic_fetch_sub(&pages_in_use, 1);
	/* Refill this CPU's pool first: the nolocks policy lives on it. */
	for (unsigned int i = 0; i < benv_cfg.pool_pages && i < POOL_MAX; i++) {
		void *expected = NULL;

		if (atomic_compare_exchange_strong(&pool[cpu][i], &expected, page))
			return;
	}
	page_put(page);
}

void kenv_page_owner(const void *page, int cpu, const struct kenv_lock *krc_lock)
{
	(void)page;
	(void)cpu;
	(void)krc_lock;
}

bool kenv_is_vmalloc_addr(const void *ptr)
{
	(void)ptr;
	return false;
}

void kenv_kfree(void *ptr)
{
	bench_obj_reclaimed(ptr);
}

void kenv_kfree_bulk(size_t nr, void **ptrs)
{
	bench_obj_reclaimed_bulk(nr, ptrs);
}

void kenv_vfree(void *ptr)
{
	bench_obj_reclaimed(ptr);
}

bool kenv_debug_obj_queue(void *ptr)
{
	(void)ptr;
	return true;
}

void kenv_debug_obj_unqueue(void *ptr)
{
	(void)ptr;
}

/* ---------------------------------------------------------------------------
 * Clock, warnings, death
 */

uint64_t kenv_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)(ts.tv_sec - clock_base.tv_sec) * 1000000000u +
	       (uint64_t)ts.tv_nsec - (uint64_t)clock_base.tv_nsec;
}

void kenv_warn(enum kenv_warn_kind kind, const char *invariant, const char *cond,
	       const void *obj, const char *file, int line, const char *func)
{
	/* A broken invariant makes every number of the run meaningless: stop. */
	fprintf(stderr, "kvbench: %s warning %s: %s (object %p) at %s:%d %s()\n",
		kind == KENV_WARN_BUG ? "BUG" : "MISUSE", invariant, cond, obj, file, line, func);
	if (kind == KENV_WARN_BUG)
		_exit(1);
}

_Noreturn void kenv_die(const char *file, int line, const char *func, const char *msg)
{
	fprintf(stderr, "kvbench: %s:%d: %s(): %s (errno %d)\n", file, line, func, msg, errno);
	_exit(99);
}

/* ---------------------------------------------------------------------------
 * Start, stop, statistics
 */

void benv_config_default(struct benv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = 1;
	cfg->reclaim = BENV_RECLAIM_WORKER;
	cfg->pool_pages = 8;
	cfg->gp_on_get_state = false;
}

void benv_start(const struct benv_config *cfg)
{
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > KENV_NR_CPUS_MAX)
		KENV_DIE("nr_cpus out of range");
	benv_cfg = *cfg;
	clock_gettime(CLOCK_MONOTONIC, &clock_base);
	atomic_store(&benv_stopping, false);
	atomic_store(&pages_in_use, 0);
	atomic_store(&pages_peak, 0);
	atomic_store(&pages_allocated, 0);
	atomic_store(&pool_allocs, 0);
	atomic_store(&pool_misses, 0);
	atomic_store(&benv_stat_works, 0);
	atomic_store(&benv_stat_timers, 0);
	atomic_store(&benv_stat_softirqs, 0);
	atomic_store(&benv_stat_cbs, 0);
	if (!benv_me)
		register_self(BENV_ROLE_MAIN, 0);
	if (sem_init(&job_finished, 0, 0))
		KENV_DIE("sem_init");
	for (int cpu = 0; cpu < cfg->nr_cpus; cpu++) {
		struct benv_cpu *c = &benv_cpus[cpu];

		atomic_store(&c->pending, 0);
		atomic_store(&c->softirq_mask, 0);
		atomic_store(&c->inbox, NULL);
		if (sem_init(&c->cpu_wake, 0, 0) || sem_init(&c->worker_wake, 0, 0))
			KENV_DIE("sem_init");
		/* The pool starts full, as the allocator's per-CPU lists would be. */
		for (unsigned int i = 0; i < cfg->pool_pages && i < POOL_MAX; i++) {
			void *page = page_get();

			if (!page)
				KENV_DIE("out of memory for the page pool");
			atomic_store(&pool[cpu][i], page);
		}
	}
	benv_rcu_start();
	benv_work_start();
	for (int cpu = 0; cpu < cfg->nr_cpus; cpu++)
		benv_thread_create(&benv_cpus[cpu].cpu_thr, BENV_ROLE_CPU, cpu, cpu_main,
				   (void *)(intptr_t)cpu);
}

void benv_stop(void)
{
	atomic_store(&benv_stopping, true);
	for (int cpu = 0; cpu < benv_cfg.nr_cpus; cpu++) {
		sem_post(&benv_cpus[cpu].cpu_wake);
		pthread_join(benv_cpus[cpu].cpu_thr, NULL);
	}
	benv_work_stop();
	benv_rcu_stop();
	for (int cpu = 0; cpu < benv_cfg.nr_cpus; cpu++) {
		for (int i = 0; i < POOL_MAX; i++) {
			void *page = atomic_exchange(&pool[cpu][i], NULL);

			if (page)
				page_put(page);
		}
		sem_destroy(&benv_cpus[cpu].cpu_wake);
		sem_destroy(&benv_cpus[cpu].worker_wake);
	}
	sem_destroy(&job_finished);
}

void benv_stats(struct benv_stats *st)
{
	st->pages_in_use = atomic_load(&pages_in_use);
	st->pages_peak = atomic_load(&pages_peak);
	st->pages_allocated = atomic_load(&pages_allocated);
	st->pool_allocs = atomic_load(&pool_allocs);
	st->pool_misses = atomic_load(&pool_misses);
	st->gps = benv_rcu_gps();
	st->works_run = atomic_load(&benv_stat_works);
	st->timers_fired = atomic_load(&benv_stat_timers);
	st->softirqs_run = atomic_load(&benv_stat_softirqs);
	st->rcu_callbacks = atomic_load(&benv_stat_cbs);
}

void benv_reset_peak(void)
{
	atomic_store(&pages_peak, atomic_load(&pages_in_use));
}
