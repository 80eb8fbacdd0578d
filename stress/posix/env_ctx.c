/* SPDX-License-Identifier: MIT */
/*
 * env_ctx.c - threads, contexts, interrupts, softirqs, locks and scheduling
 * points of the posix environment (see posix_env.h).
 *
 * Interrupt delivery: a hardirq is the signal POSIX_SIG_IRQ sent to one CPU
 * thread.  Its handler checks the soft mask of the interrupted frame; when
 * irqs are off it only records the interrupt (irq_pending), and the thread
 * replays it when it turns irqs back on.  A replayed or injected interrupt
 * runs in ordinary thread context, so its irq exit may run softirqs inline; an
 * interrupt taken in a real signal handler defers them to ksoftirqd, because
 * softirq handlers allocate and malloc is not async-signal-safe.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "env_internal.h"

/*
 * The watchdog and the hang dump read other threads' records without
 * synchronisation on purpose (a hung thread cannot cooperate): exempt those
 * readers from ThreadSanitizer instead of reporting the intended races.
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RACY_READER __attribute__((no_sanitize("thread")))
#endif
#endif
#if !defined(RACY_READER) && defined(__SANITIZE_THREAD__)
#define RACY_READER __attribute__((no_sanitize_thread))
#endif
#ifndef RACY_READER
#define RACY_READER
#endif

#define POSIX_SIG_IRQ (SIGRTMIN + 4)
#define POSIX_SIG_NMI (SIGRTMIN + 5)

struct posix_thread posix_thread_table[POSIX_MAX_THREADS];
_Atomic(int) posix_nr_registered;
__thread struct posix_thread *posix_me;
__thread struct posix_thread posix_anon;

struct posix_cpu posix_cpus[KENV_NR_CPUS_MAX];
struct posix_env_config posix_cfg;
_Atomic(bool) posix_stopping;
_Atomic(uint64_t) posix_stat_works, posix_stat_timers, posix_stat_rcu_cbs;

static _Atomic(uint64_t) stat_warnings[2];
static struct timespec clock_base;
static bool env_started;

/* Set once before the flood, read by handlers: plain atomics of function pointers. */
static void (*_Atomic irq_handler)(int cpu);
static void (*_Atomic nmi_handler)(int cpu);
static void (*_Atomic softirq_fns[POSIX_SOFTIRQ_NR])(void);
static void (*_Atomic cpu_workload)(int cpu, void *arg);
static void *_Atomic cpu_workload_arg;

/* ---------------------------------------------------------------------------
 * Random numbers, output without allocation, sleeping
 */

uint64_t posix_rand_next(uint64_t *state)
{
	/* splitmix64: any seed, including 0, gives a full-period stream. */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t posix_random(void)
{
	return posix_rand_next(&posix_cur()->rng);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Formats into a stack buffer and writes: no allocation, usable in handlers. */
static void __attribute__((format(printf, 2, 3))) fd_printf(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	write_all(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* ---------------------------------------------------------------------------
 * Clock, die, warn
 */

uint64_t kenv_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)(ts.tv_sec - clock_base.tv_sec) * 1000000000u +
	       (uint64_t)ts.tv_nsec - (uint64_t)clock_base.tv_nsec;
}

_Noreturn void kenv_die(const char *file, int line, const char *func, const char *msg)
{
	fd_printf(2, "kvtorture: posix env: %s:%d: %s(): %s (errno %d)\n", file, line, func,
		  msg, errno);
	_exit(99);
}

/* The first report per site is printed; every one is counted and checked. */
#define WARN_SITES 64
static const char *_Atomic warn_site_file[WARN_SITES];
static _Atomic(int) warn_site_line[WARN_SITES];

static bool warn_site_first(const char *file, int line)
{
	for (int i = 0; i < WARN_SITES; i++) {
		const char *f = atomic_load(&warn_site_file[i]);

		if (!f) {
			const char *expected = NULL;

			if (atomic_compare_exchange_strong(&warn_site_file[i], &expected, file)) {
				atomic_store(&warn_site_line[i], line);
				return true;
			}
			f = expected;
		}
		if (f == file && atomic_load(&warn_site_line[i]) == line)
			return false;
	}
	return false;
}

void kenv_warn(enum kenv_warn_kind kind, const char *invariant, const char *cond,
	       const void *obj, const char *file, int line, const char *func)
{
	atomic_fetch_add(&stat_warnings[kind == KENV_WARN_BUG ? 0 : 1], 1);
	if (warn_site_first(file, line))
		fd_printf(2, "kvtorture: %s %s at %s:%d %s(): %s obj=%p [%s]\n",
			  kind == KENV_WARN_BUG ? "WARNING" : "misuse", invariant, file, line,
			  func, cond, obj, posix_thread_name());
	posix_irq_hold();
	check_warned(kind, invariant, cond, obj, file, line, func);
	posix_irq_unhold();
}

/* ---------------------------------------------------------------------------
 * Contexts
 */

static const char *const ctx_names[KENV_CTX_NR] = {
	[KENV_CTX_TASK] = "task",	[KENV_CTX_KTHREAD] = "kthread",
	[KENV_CTX_SOFTIRQ] = "softirq", [KENV_CTX_HARDIRQ] = "hardirq",
	[KENV_CTX_NMI] = "nmi",
};

const char *kenv_ctx_name(enum kenv_ctx ctx)
{
	return (unsigned int)ctx < KENV_CTX_NR ? ctx_names[ctx] : "?";
}

enum kenv_ctx kenv_context(void)
{
	return posix_cur_frame(posix_cur())->ctx;
}

static bool any_frame(const struct posix_thread *t, enum kenv_ctx ctx)
{
	for (int i = 0; i < t->depth; i++)
		if (t->frames[i].ctx == ctx)
			return true;
	return false;
}

bool kenv_in_nmi(void)
{
	return any_frame(posix_cur(), KENV_CTX_NMI);
}

bool kenv_in_hardirq(void)
{
	struct posix_thread *t = posix_cur();

	return any_frame(t, KENV_CTX_HARDIRQ) && !any_frame(t, KENV_CTX_NMI);
}

bool kenv_in_softirq(void)
{
	return any_frame(posix_cur(), KENV_CTX_SOFTIRQ);
}

static bool in_interrupt(const struct posix_thread *t)
{
	return any_frame(t, KENV_CTX_SOFTIRQ) || any_frame(t, KENV_CTX_HARDIRQ) ||
	       any_frame(t, KENV_CTX_NMI);
}

bool kenv_irqs_disabled(void)
{
	return posix_cur()->irq_off;
}

static bool thread_preemptible(const struct posix_thread *t)
{
	const struct posix_frame *f = posix_cur_frame((struct posix_thread *)t);

	return (f->ctx == KENV_CTX_TASK || f->ctx == KENV_CTX_KTHREAD) && !t->irq_off &&
	       !t->preempt && !t->bh && !t->rcu_nest && !f->nr_locks;
}

bool kenv_preemptible(void)
{
	return thread_preemptible(posix_cur());
}

bool posix_alloc_forbidden(void)
{
	struct posix_thread *t = posix_cur();
	enum kenv_ctx ctx = posix_cur_frame(t)->ctx;

	return t->irq_off || posix_cur_frame(t)->nr_locks || ctx == KENV_CTX_HARDIRQ ||
	       ctx == KENV_CTX_NMI;
}

int kenv_cpu(void)
{
	return atomic_load_explicit(&posix_cur()->cpu, memory_order_relaxed);
}

int kenv_nr_cpus(void)
{
	return posix_cfg.nr_cpus;
}

bool kenv_cpu_online(int cpu)
{
	return cpu >= 0 && cpu < posix_cfg.nr_cpus && atomic_load(&posix_cpus[cpu].online);
}

int posix_effective_cpu(int cpu)
{
	if (kenv_cpu_online(cpu))
		return cpu;
	for (int i = 0; i < posix_cfg.nr_cpus; i++)
		if (atomic_load(&posix_cpus[i].online))
			return i;
	return 0;
}

struct check_task *check_current(void)
{
	struct posix_thread *t = posix_cur();
	struct posix_frame *f = posix_cur_frame(t);

	if (!f->ct.name)
		f->ct.name = "unregistered";
	return &f->ct;
}

/*
 * The depth grows before the frame is filled, and shrinks after it is
 * cleared, so an NMI arriving in between pushes its frame above ours instead
 * of over it; the compiler barriers keep that order against the handler.
 */
void posix_frame_push(enum kenv_ctx ctx)
{
	struct posix_thread *t = posix_cur();
	int d = t->depth;
	struct posix_frame *f;

	if (d >= POSIX_MAX_FRAMES)
		KENV_DIE("context frames nested too deep");
	t->depth = d + 1;
	atomic_signal_fence(memory_order_seq_cst);
	f = &t->frames[d];
	memset(&f->ct, 0, sizeof(f->ct));
	f->ct.name = t->registered ? t->frame_names[ctx] : ctx_names[ctx];
	f->ctx = ctx;
	f->nr_locks = 0;
	f->saved_irq_off = t->irq_off;
	if (ctx == KENV_CTX_HARDIRQ || ctx == KENV_CTX_NMI)
		t->irq_off = true;
	atomic_signal_fence(memory_order_seq_cst);
}

void posix_frame_pop(void)
{
	struct posix_thread *t = posix_cur();
	int d = t->depth;

	if (d <= 1)
		KENV_DIE("context frame popped below the base");
	t->irq_off = t->frames[d - 1].saved_irq_off;
	atomic_signal_fence(memory_order_seq_cst);
	t->depth = d - 1;
}

/* ---------------------------------------------------------------------------
 * Registration and threads
 */

void posix_register_self(const char *name, enum posix_role role, int cpu)
{
	int id = atomic_fetch_add(&posix_nr_registered, 1);
	struct posix_thread *t;

	if (id >= POSIX_MAX_THREADS)
		KENV_DIE("too many registered threads");
	/* Slots are never reused: the record is still zero (no memset to race the watchdog). */
	t = &posix_thread_table[id];
	t->id = id;
	t->role = role;
	t->home_cpu = cpu;
	atomic_store(&t->cpu, cpu);
	t->tid = (pid_t)syscall(SYS_gettid);
	t->pth = pthread_self();
	snprintf(t->name, sizeof(t->name), "%s", name);
	for (int c = 0; c < KENV_CTX_NR; c++)
		snprintf(t->frame_names[c], sizeof(t->frame_names[c]), "%s/%s", t->name,
			 ctx_names[c]);
	t->rng = posix_cfg.seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1));
	t->depth = 1;
	t->frames[0].ctx = (role == POSIX_ROLE_KWORKER || role == POSIX_ROLE_KSOFTIRQD ||
			    role == POSIX_ROLE_KTHREAD || role == POSIX_ROLE_ENV) ?
			   KENV_CTX_KTHREAD : KENV_CTX_TASK;
	t->frames[0].ct.name = t->frame_names[t->frames[0].ctx];
	atomic_store(&t->last_site, "registered");
	t->registered = true;
	posix_me = t;
}

int posix_thread_id(void)
{
	return posix_me ? posix_me->id : -1;
}

const char *posix_thread_name(void)
{
	return posix_me ? posix_me->name : "unregistered";
}

int posix_nr_threads(void)
{
	int n = atomic_load(&posix_nr_registered);

	return n < POSIX_MAX_THREADS ? n : POSIX_MAX_THREADS;
}

RACY_READER bool posix_thread_starvable(int id)
{
	if (id < 0 || id >= posix_nr_threads())
		return false;
	/* Starving env threads would only stall the clock of the run itself. */
	return posix_thread_table[id].role != POSIX_ROLE_ENV &&
	       posix_thread_table[id].role != POSIX_ROLE_MAIN;
}

void posix_starve(int id, uint64_t until_ns)
{
	if (posix_thread_starvable(id))
		atomic_store(&posix_thread_table[id].starve_until, until_ns);
}

struct thread_start {
	char name[32];
	enum posix_role role;
	int cpu;
	void *(*fn)(void *);
	void *arg;
	sem_t started;
};

static void sigs_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, POSIX_SIG_IRQ);
	sigaddset(set, POSIX_SIG_NMI);
}

static void *thread_trampoline(void *p)
{
	struct thread_start *ts = p;
	void *(*fn)(void *) = ts->fn;
	void *arg = ts->arg;
	sigset_t set;
	void *ret;

	urcu_memb_register_thread();
	posix_register_self(ts->name, ts->role, ts->cpu);
	if (ts->role == POSIX_ROLE_CPU) {
		atomic_store(&posix_cpus[ts->cpu].cpu_tid, posix_me->tid);
		sigs_block(&set);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
	sem_post(&ts->started);
	ret = fn(arg);
	if (ts->role == POSIX_ROLE_CPU) {
		sigs_block(&set);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	urcu_memb_unregister_thread();
	atomic_store(&posix_me->last_site, "exited");
	return ret;
}

void posix_thread_create(pthread_t *thr, const char *name, enum posix_role role, int cpu,
			 void *(*fn)(void *), void *arg)
{
	struct thread_start ts = { .role = role, .cpu = cpu, .fn = fn, .arg = arg };
	sigset_t set, old;
	int err;

	snprintf(ts.name, sizeof(ts.name), "%s", name);
	if (sem_init(&ts.started, 0, 0))
		KENV_DIE("sem_init");
	/* The new thread inherits the mask: interrupts stay blocked until it registered. */
	sigs_block(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	posix_cur()->env_internal++;
	err = pthread_create(thr, NULL, thread_trampoline, &ts);
	posix_cur()->env_internal--;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		KENV_DIE("pthread_create");
	}
	while (sem_wait(&ts.started) && errno == EINTR)
		;
	sem_destroy(&ts.started);
}

/* ---------------------------------------------------------------------------
 * Softirqs
 */

void kenv_open_softirq(enum kenv_softirq nr, void (*fn)(void))
{
	posix_open_softirq((unsigned int)nr, fn);
}

void posix_open_softirq(unsigned int nr, void (*fn)(void))
{
	if (nr >= POSIX_SOFTIRQ_NR)
		KENV_DIE("softirq number out of range");
	atomic_store(&softirq_fns[nr], fn);
}

static void ksoftirqd_wake(int cpu)
{
	sem_post(&posix_cpus[cpu].ksoftirqd_wake);
}

void posix_raise_softirq(unsigned int nr)
{
	struct posix_thread *t = posix_cur();
	int cpu = kenv_cpu();

	atomic_fetch_or(&posix_cpus[cpu].softirq_pending, 1u << nr);
	/*
	 * An irq exit, the bh enable or the running softirq pass will see the
	 * bit; anywhere else nothing would, so wake ksoftirqd (sem_post is
	 * async-signal-safe).
	 */
	if (!in_interrupt(t) && !t->bh)
		ksoftirqd_wake(cpu);
}

void kenv_raise_softirq(enum kenv_softirq nr)
{
	posix_raise_softirq((unsigned int)nr);
}

void posix_do_softirq(int cpu)
{
	struct posix_thread *t = posix_cur();
	struct posix_cpu *c = &posix_cpus[cpu];
	int expected = 0;

	/* Softirqs never run concurrently with themselves on one CPU. */
	if (!atomic_compare_exchange_strong(&c->softirq_running, &expected, 1))
		return;
	/* Checked under the flag: posix_cpu_offline() waits for a pass in progress. */
	if (!atomic_load(&c->online)) {
		atomic_store(&c->softirq_running, 0);
		return;
	}
	for (int round = 0; round < 10; round++) {
		unsigned int pending = atomic_exchange(&c->softirq_pending, 0);

		if (!pending)
			break;
		posix_frame_push(KENV_CTX_SOFTIRQ);
		t->bh++;
		for (unsigned int nr = 0; nr < POSIX_SOFTIRQ_NR; nr++) {
			void (*fn)(void) = atomic_load(&softirq_fns[nr]);

			if (!(pending & (1u << nr)) || !fn)
				continue;
			atomic_fetch_add_explicit(&c->softirqs, 1, memory_order_relaxed);
			fn();
		}
		t->bh--;
		posix_frame_pop();
	}
	atomic_store(&c->softirq_running, 0);
	if (atomic_load(&c->softirq_pending))
		ksoftirqd_wake(cpu);
}

static void sem_wait_ns(sem_t *sem, uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)(ns % 1000000000u);
	ts.tv_sec += (time_t)(ns / 1000000000u) + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	sem_timedwait(sem, &ts);
}

static void *ksoftirqd_main(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct posix_cpu *c = &posix_cpus[cpu];

	while (!atomic_load(&posix_stopping)) {
		sem_wait_ns(&c->ksoftirqd_wake, 10 * 1000 * 1000);
		kenv_sched_point("ksoftirqd");
		if (atomic_load(&c->online) && atomic_load(&c->softirq_pending))
			posix_do_softirq(cpu);
	}
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Interrupts
 */

/* The end of a hardirq: run softirqs, inline only when not in a real signal. */
static void irq_exit(struct posix_thread *t, int cpu, bool inline_ok)
{
	if (!atomic_load(&posix_cpus[cpu].softirq_pending) || in_interrupt(t) || t->bh)
		return;
	if (inline_ok)
		posix_do_softirq(cpu);
	else
		ksoftirqd_wake(cpu);
}

static void irq_run(struct posix_thread *t, bool in_signal, bool replayed)
{
	int cpu = atomic_load_explicit(&t->cpu, memory_order_relaxed);
	struct posix_cpu *c = &posix_cpus[cpu];
	void (*fn)(int) = atomic_load(&irq_handler);

	/* An interrupt still in flight when the CPU went offline is dropped. */
	if (!atomic_load(&c->online))
		return;
	posix_frame_push(KENV_CTX_HARDIRQ);
	atomic_fetch_add_explicit(&c->irqs, 1, memory_order_relaxed);
	if (replayed)
		atomic_fetch_add_explicit(&c->irqs_replayed, 1, memory_order_relaxed);
	if (fn)
		fn(cpu);
	posix_frame_pop();
	irq_exit(t, cpu, !in_signal);
}

/* Deliver interrupts held back by the mask, now that irqs are on again. */
static void irq_replay(struct posix_thread *t, bool in_signal)
{
	while (!t->irq_off && !t->irq_hold && atomic_exchange(&t->irq_pending, 0))
		irq_run(t, in_signal, true);
}

static void nmi_run(struct posix_thread *t)
{
	int cpu = atomic_load_explicit(&t->cpu, memory_order_relaxed);
	struct posix_cpu *c = &posix_cpus[cpu];
	void (*fn)(int) = atomic_load(&nmi_handler);

	if (!atomic_load(&c->online) || any_frame(t, KENV_CTX_NMI))
		return;
	posix_frame_push(KENV_CTX_NMI);
	atomic_fetch_add_explicit(&c->nmis, 1, memory_order_relaxed);
	if (fn)
		fn(cpu);
	posix_frame_pop();
}

static void irq_signal(int sig)
{
	struct posix_thread *t = posix_me;
	int saved_errno = errno;

	(void)sig;
	if (!t || t->role != POSIX_ROLE_CPU)
		goto out;
	if (t->irq_off || t->irq_hold) {
		/* The soft mask: remember it; kenv_local_irq_restore() replays it. */
		atomic_store(&t->irq_pending, 1);
		goto out;
	}
	irq_run(t, true, false);
	irq_replay(t, true);
out:
	errno = saved_errno;
}

static void nmi_signal(int sig)
{
	struct posix_thread *t = posix_me;
	int saved_errno = errno;

	(void)sig;
	if (t && t->role == POSIX_ROLE_CPU)
		nmi_run(t);
	errno = saved_errno;
}

void posix_set_irq_handler(void (*fn)(int cpu))
{
	atomic_store(&irq_handler, fn);
}

void posix_set_nmi_handler(void (*fn)(int cpu))
{
	atomic_store(&nmi_handler, fn);
}

static bool send_to_cpu(int cpu, int sig)
{
	pid_t tid;

	if (!kenv_cpu_online(cpu))
		return false;
	tid = atomic_load(&posix_cpus[cpu].cpu_tid);
	if (!tid)
		return false;
	return syscall(SYS_tgkill, getpid(), tid, sig) == 0;
}

bool posix_raise_irq(int cpu)
{
	return send_to_cpu(cpu, POSIX_SIG_IRQ);
}

bool posix_raise_nmi(int cpu)
{
	return send_to_cpu(cpu, POSIX_SIG_NMI);
}

/* ---------------------------------------------------------------------------
 * irq mask, preemption, bh
 */

unsigned long kenv_local_irq_save(void)
{
	struct posix_thread *t = posix_cur();
	unsigned long flags = t->irq_off;

	t->irq_off = true;
	/* Orders the mask against the code it protects, as seen by our handler. */
	atomic_signal_fence(memory_order_seq_cst);
	return flags;
}

void kenv_local_irq_restore(unsigned long flags)
{
	struct posix_thread *t = posix_cur();

	atomic_signal_fence(memory_order_seq_cst);
	if (flags)
		return;
	t->irq_off = false;
	atomic_signal_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&t->irq_pending, memory_order_relaxed))
		irq_replay(t, false);
}

void posix_irq_hold(void)
{
	posix_cur()->irq_hold++;
	atomic_signal_fence(memory_order_seq_cst);
}

void posix_irq_unhold(void)
{
	struct posix_thread *t = posix_cur();

	atomic_signal_fence(memory_order_seq_cst);
	if (--t->irq_hold == 0 && !t->irq_off &&
	    atomic_load_explicit(&t->irq_pending, memory_order_relaxed))
		irq_replay(t, false);
}

void kenv_preempt_disable(void)
{
	posix_cur()->preempt++;
	atomic_signal_fence(memory_order_seq_cst);
}

void kenv_preempt_enable(void)
{
	struct posix_thread *t = posix_cur();

	atomic_signal_fence(memory_order_seq_cst);
	if (KENV_WARN_ON_ONCE(KENV_WARN_BUG, "LOCKING", t->preempt == 0, NULL))
		return;
	if (--t->preempt == 0)
		kenv_sched_point("preempt_enable");
}

void kenv_local_bh_disable(void)
{
	posix_cur()->bh++;
	atomic_signal_fence(memory_order_seq_cst);
}

void kenv_local_bh_enable(void)
{
	struct posix_thread *t = posix_cur();
	int cpu;

	atomic_signal_fence(memory_order_seq_cst);
	if (KENV_WARN_ON_ONCE(KENV_WARN_BUG, "LOCKING", t->bh == 0, NULL))
		return;
	if (--t->bh)
		return;
	cpu = kenv_cpu();
	if (!in_interrupt(t) && atomic_load(&posix_cpus[cpu].softirq_pending))
		posix_do_softirq(cpu);
	kenv_sched_point("local_bh_enable");
}

/* ---------------------------------------------------------------------------
 * Raw spinlocks: test-and-test-and-set on the owner word.  The owner tag is
 * the holder's frame, so a handler re-entering a lock its own thread holds
 * is recognised as a self-deadlock and reported instead of spinning forever.
 */

void kenv_lock_init(struct kenv_lock *lock, const char *name)
{
	atomic_store(&lock->word, 0);
	lock->name = name;
	lock->cpu = -1;
	lock->depth = 0;
}

static bool tag_is_mine(const struct posix_thread *t, uintptr_t w)
{
	return w >= (uintptr_t)&t->frames[0] && w < (uintptr_t)&t->frames[POSIX_MAX_FRAMES];
}

void kenv_raw_spin_lock(struct kenv_lock *lock)
{
	struct posix_thread *t = posix_cur();
	struct posix_frame *f = posix_cur_frame(t);
	uintptr_t me = (uintptr_t)f;
	uintptr_t w;
	unsigned int spins = 0;

	posix_irq_hold();
	check_lock_acquire(lock);
	posix_irq_unhold();
	w = atomic_load_explicit(&lock->word, memory_order_relaxed);
	if (tag_is_mine(t, w)) {
		check_fail(INV_LOCKING, lock, kenv_cpu(),
			   "self-deadlock: lock %s re-taken in %s while this thread's %s holds it",
			   lock->name, f->ct.name ? f->ct.name : "?",
			   ((const struct posix_frame *)w)->ct.name ?
			   ((const struct posix_frame *)w)->ct.name : "?");
		fd_printf(2, "kvtorture: cannot continue past a self-deadlock\n");
		_exit(1);
	}
	for (;;) {
		/* Test before test-and-set: spin on a shared line, CAS only when free. */
		if (!atomic_load_explicit(&lock->word, memory_order_relaxed)) {
			uintptr_t expected = 0;

			/* Acquire: the critical section cannot float above the lock. */
			if (atomic_compare_exchange_weak_explicit(&lock->word, &expected, me,
								  memory_order_acquire,
								  memory_order_relaxed))
				break;
		}
		/* More CPUs than cores: let a descheduled holder run. */
		if (++spins % 128 == 0)
			sched_yield();
		else
			cpu_relax();
	}
	lock->cpu = kenv_cpu();
	f->nr_locks++;
}

void kenv_raw_spin_unlock(struct kenv_lock *lock)
{
	struct posix_thread *t = posix_cur();
	struct posix_frame *f = posix_cur_frame(t);

	posix_irq_hold();
	check_lock_release(lock);
	posix_irq_unhold();
	if (atomic_load_explicit(&lock->word, memory_order_relaxed) != (uintptr_t)f) {
		check_fail(INV_LOCKING, lock, kenv_cpu(), "unlock of %s, not held by %s",
			   lock->name, f->ct.name ? f->ct.name : "?");
		return;
	}
	f->nr_locks--;
	/* Release: everything written under the lock is visible to the next holder. */
	atomic_store_explicit(&lock->word, 0, memory_order_release);
}

bool kenv_lock_held(const struct kenv_lock *lock)
{
	struct posix_thread *t = posix_cur();

	return atomic_load_explicit(&lock->word, memory_order_relaxed) ==
	       (uintptr_t)posix_cur_frame(t);
}

/* ---------------------------------------------------------------------------
 * Sleeping and scheduling points
 */

void kenv_might_sleep(const char *site)
{
	posix_irq_hold();
	check_might_sleep(site);
	posix_irq_unhold();
	kenv_sched_point(site);
}

void kenv_cond_resched(void)
{
	check_might_sleep("cond_resched");
	kenv_sched_point("cond_resched");
}

static bool ppm_hit(struct posix_thread *t, unsigned int ppm)
{
	return ppm && posix_rand_next(&t->rng) % 1000000u < ppm;
}

static void migrate(struct posix_thread *t)
{
	int old = atomic_load(&t->cpu);
	int cpu = (int)(posix_rand_next(&t->rng) % (uint64_t)posix_cfg.nr_cpus);

	if (cpu == old || !atomic_load(&posix_cpus[cpu].online))
		return;
	atomic_fetch_add(&posix_cpus[cpu].users, 1);
	if (!atomic_load(&posix_cpus[cpu].online)) {
		atomic_fetch_sub(&posix_cpus[cpu].users, 1);
		return;
	}
	atomic_store(&t->cpu, cpu);
	atomic_fetch_sub(&posix_cpus[old].users, 1);
}

void kenv_sched_point(const char *site)
{
	struct posix_thread *t = posix_me;
	const struct posix_chaos *ch = &posix_cfg.chaos;
	uint64_t until;

	if (!t)
		return;
	atomic_store_explicit(&t->last_site, site, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->points, 1, memory_order_relaxed);
	if (t->role == POSIX_ROLE_CPU) {
		if (!t->irq_off && atomic_load_explicit(&t->irq_pending, memory_order_relaxed))
			irq_replay(t, false);
		if (ppm_hit(t, ch->nmi_inject_ppm))
			nmi_run(t);
		if (!t->irq_off && !t->irq_hold && ppm_hit(t, ch->irq_inject_ppm))
			irq_run(t, false, false);
	}
	if (ppm_hit(t, ch->spin_ppm) && ch->spin_max_ns) {
		uint64_t end = kenv_clock_ns() + posix_rand_next(&t->rng) % ch->spin_max_ns;

		while (kenv_clock_ns() < end)
			cpu_relax();
	}
	if (!thread_preemptible(t))
		return;
	if (ppm_hit(t, ch->yield_ppm))
		sched_yield();
	if (ppm_hit(t, ch->sleep_ppm) && ch->sleep_max_ns)
		sleep_ns(1 + posix_rand_next(&t->rng) % ch->sleep_max_ns);
	if (t->cpu_enter && t->role == POSIX_ROLE_USER && ppm_hit(t, ch->migrate_ppm))
		migrate(t);
	until = atomic_load_explicit(&t->starve_until, memory_order_relaxed);
	if (until) {
		uint64_t now = kenv_clock_ns();

		if (now < until && !atomic_load(&posix_stopping))
			sleep_ns(until - now);
		atomic_store(&t->starve_until, 0);
	}
}

/* ---------------------------------------------------------------------------
 * CPU threads and hotplug
 */

void posix_set_cpu_workload(void (*fn)(int cpu, void *arg), void *arg)
{
	atomic_store(&cpu_workload_arg, arg);
	atomic_store(&cpu_workload, fn);
}

static void *cpu_main(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	struct posix_cpu *c = &posix_cpus[cpu];

	while (!atomic_load(&posix_stopping)) {
		void (*fn)(int, void *);

		if (!atomic_load(&c->online)) {
			/* Acknowledge: no task of ours runs on the dying CPU. */
			atomic_store(&c->cpu_parked, 1);
			sleep_ns(1000 * 1000);
			continue;
		}
		atomic_store(&c->cpu_parked, 0);
		/* Back from a "system call": pending softirqs run here. */
		if (atomic_load(&c->softirq_pending))
			posix_do_softirq(cpu);
		fn = atomic_load(&cpu_workload);
		if (fn)
			fn(cpu, atomic_load(&cpu_workload_arg));
		else
			sleep_ns(1000 * 1000);	/* idle; signals interrupt the sleep */
		kenv_sched_point("cpu_loop");
	}
	atomic_store(&c->cpu_parked, 1);
	return NULL;
}

bool posix_cpu_offline(int cpu)
{
	struct posix_cpu *c;

	if (cpu <= 0 || cpu >= posix_cfg.nr_cpus)
		return false;
	c = &posix_cpus[cpu];
	if (!atomic_exchange(&c->online, false))
		return false;
	check_might_sleep("posix_cpu_offline");
	while ((!atomic_load(&c->cpu_parked) || atomic_load(&c->users) ||
		atomic_load(&c->softirq_running)) &&
	       !atomic_load(&posix_stopping))
		sleep_ns(100 * 1000);
	return true;
}

void posix_cpu_online(int cpu)
{
	if (cpu < 0 || cpu >= posix_cfg.nr_cpus)
		return;
	/*
	 * A stale acknowledgement must not let the next offline skip the wait:
	 * the CPU thread may be in an interrupt taken before it saw us online.
	 */
	atomic_store(&posix_cpus[cpu].cpu_parked, 0);
	atomic_store(&posix_cpus[cpu].online, true);
	ksoftirqd_wake(cpu);
}

int posix_cpu_enter(void)
{
	struct posix_thread *t = posix_cur();
	int cpu = atomic_load(&t->cpu);

	for (int tries = 0;; tries++) {
		struct posix_cpu *c = &posix_cpus[cpu];

		if (atomic_load(&c->online)) {
			atomic_fetch_add(&c->users, 1);
			/* Re-check: offline sets the flag first, then waits for users. */
			if (atomic_load(&c->online))
				break;
			atomic_fetch_sub(&c->users, 1);
		}
		cpu = tries < 4 ? (int)(posix_rand_next(&t->rng) % (uint64_t)posix_cfg.nr_cpus) : 0;
	}
	atomic_store(&t->cpu, cpu);
	t->cpu_enter++;
	return cpu;
}

void posix_cpu_exit(void)
{
	struct posix_thread *t = posix_cur();

	t->cpu_enter--;
	atomic_fetch_sub(&posix_cpus[atomic_load(&t->cpu)].users, 1);
}

/* ---------------------------------------------------------------------------
 * Start, stop, statistics, hang dump
 */

void posix_env_config_default(struct posix_env_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = 2;
	cfg->seed = 1;
	cfg->pool_pages = 8;
	cfg->chaos.spin_max_ns = 20 * 1000;
	cfg->chaos.sleep_max_ns = 200 * 1000;
}

static void install_handler(int sig, void (*fn)(int), bool block_irq)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	/* An NMI handler is never interrupted by an irq; an irq handler may be by an NMI. */
	if (block_irq)
		sigaddset(&sa.sa_mask, POSIX_SIG_IRQ);
	if (sigaction(sig, &sa, NULL))
		KENV_DIE("sigaction");
}

void posix_env_start(const struct posix_env_config *cfg)
{
	sigset_t set;
	char name[32];

	if (env_started)
		KENV_DIE("posix_env_start called twice");
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > KENV_NR_CPUS_MAX)
		KENV_DIE("nr_cpus out of range");
	env_started = true;
	posix_cfg = *cfg;
	clock_gettime(CLOCK_MONOTONIC, &clock_base);
	atomic_store(&posix_stopping, false);

	sigs_block(&set);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		KENV_DIE("pthread_sigmask");
	install_handler(POSIX_SIG_IRQ, irq_signal, false);
	install_handler(POSIX_SIG_NMI, nmi_signal, true);

	urcu_memb_register_thread();
	posix_register_self("main", POSIX_ROLE_MAIN, 0);
	/*
	 * liburcu 0.13 creates its call_rcu worker lazily (mutex, malloc,
	 * pthread_create: nothing a signal handler may do) and the worker
	 * inherits the creator's signal mask: create it now, interrupts blocked.
	 */
	posix_me->env_internal++;
	urcu_memb_get_default_call_rcu_data();
	posix_me->env_internal--;

	for (int cpu = 0; cpu < cfg->nr_cpus; cpu++) {
		struct posix_cpu *c = &posix_cpus[cpu];

		atomic_store(&c->online, true);
		if (sem_init(&c->ksoftirqd_wake, 0, 0) || sem_init(&c->kworker_wake, 0, 0))
			KENV_DIE("sem_init");
	}
	posix_mem_start();
	posix_rcu_start();
	posix_work_start();
	for (int cpu = 0; cpu < cfg->nr_cpus; cpu++) {
		struct posix_cpu *c = &posix_cpus[cpu];

		snprintf(name, sizeof(name), "cpu%d/ksoftirqd", cpu);
		posix_thread_create(&c->ksoftirqd_thr, name, POSIX_ROLE_KSOFTIRQD, cpu,
				    ksoftirqd_main, (void *)(intptr_t)cpu);
		snprintf(name, sizeof(name), "cpu%d", cpu);
		posix_thread_create(&c->cpu_thr, name, POSIX_ROLE_CPU, cpu, cpu_main,
				    (void *)(intptr_t)cpu);
	}
}

void posix_env_stop(void)
{
	if (!env_started)
		return;
	posix_set_cpu_workload(NULL, NULL);
	atomic_store(&posix_stopping, true);
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		struct posix_cpu *c = &posix_cpus[cpu];

		sem_post(&c->ksoftirqd_wake);
		pthread_join(c->ksoftirqd_thr, NULL);
		pthread_join(c->cpu_thr, NULL);
		atomic_store(&c->cpu_tid, 0);
	}
	posix_work_stop();
	posix_rcu_stop();
	posix_mem_stop();
	env_started = false;
}

void posix_env_stats(struct posix_env_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->gps = posix_rcu_gps();
	st->gp_seq = posix_rcu_seq();
	for (int i = 0; i < posix_nr_threads(); i++)
		st->sched_points += atomic_load(&posix_thread_table[i].points);
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		struct posix_cpu *c = &posix_cpus[cpu];

		st->irqs[cpu] = atomic_load(&c->irqs);
		st->irqs_replayed[cpu] = atomic_load(&c->irqs_replayed);
		st->nmis[cpu] = atomic_load(&c->nmis);
		st->softirqs[cpu] = atomic_load(&c->softirqs);
	}
	st->works_run = atomic_load(&posix_stat_works);
	st->timers_fired = atomic_load(&posix_stat_timers);
	st->rcu_callbacks = atomic_load(&posix_stat_rcu_cbs);
	st->warnings[0] = atomic_load(&stat_warnings[0]);
	st->warnings[1] = atomic_load(&stat_warnings[1]);
	posix_mem_stats(st);
}

uint64_t posix_progress(void)
{
	uint64_t sum = posix_rcu_seq() + atomic_load(&posix_stat_works) +
		       atomic_load(&posix_stat_timers);

	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++)
		sum += atomic_load(&posix_cpus[cpu].irqs) + atomic_load(&posix_cpus[cpu].softirqs);
	return sum;
}

RACY_READER void posix_dump_threads(int fd)
{
	fd_printf(fd, "--- threads (%d registered) ---\n", posix_nr_threads());
	for (int i = 0; i < posix_nr_threads(); i++) {
		const struct posix_thread *t = &posix_thread_table[i];
		const char *site = atomic_load(&t->last_site);
		int depth = t->depth;

		if (depth < 1 || depth > POSIX_MAX_FRAMES)
			depth = 1;
		fd_printf(fd, "%-20s cpu=%d ctx=%s irqs=%s preempt=%u bh=%u rcu=%u points=%llu last=%s\n",
			  t->name, atomic_load(&t->cpu), ctx_names[t->frames[depth - 1].ctx % KENV_CTX_NR],
			  t->irq_off ? "off" : "on", t->preempt, t->bh, t->rcu_nest,
			  (unsigned long long)atomic_load(&t->points), site ? site : "-");
		for (int d = 0; d < depth; d++) {
			const struct check_task *ct = &t->frames[d].ct;
			unsigned int n = ct->nr_held < CHECK_MAX_HELD ? ct->nr_held : CHECK_MAX_HELD;

			for (unsigned int k = 0; k < n; k++)
				if (ct->held[k])
					fd_printf(fd, "    holds %s (frame %s)\n",
						  ct->held[k]->name ? ct->held[k]->name : "?",
						  ctx_names[t->frames[d].ctx % KENV_CTX_NR]);
			if (t->frames[d].nr_locks && !n)
				fd_printf(fd, "    %u raw lock(s) held in frame %s\n",
					  t->frames[d].nr_locks,
					  ctx_names[t->frames[d].ctx % KENV_CTX_NR]);
		}
	}
}

RACY_READER int posix_watchdog_scan(uint64_t bound_ns)
{
	static uint64_t last_points[POSIX_MAX_THREADS];
	static uint64_t last_change[POSIX_MAX_THREADS];
	uint64_t now = kenv_clock_ns();

	for (int i = 0; i < posix_nr_threads(); i++) {
		const struct posix_thread *t = &posix_thread_table[i];
		uint64_t points = atomic_load(&t->points);
		int depth = t->depth;
		bool atomic_now = t->irq_off || t->preempt || t->bh || depth > 1 ||
				  (depth >= 1 && depth <= POSIX_MAX_FRAMES &&
				   t->frames[depth - 1].nr_locks);

		if (points != last_points[i] || !last_change[i] || !atomic_now) {
			last_points[i] = points;
			last_change[i] = now;
			continue;
		}
		if (now - last_change[i] > bound_ns)
			return i;
	}
	return -1;
}
