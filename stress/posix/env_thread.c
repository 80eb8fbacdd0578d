/* SPDX-License-Identifier: MIT */
/*
 * env_thread.c - the thread registry of the posix environment: thread
 * records, registration, creating registered threads, and the seeded
 * per-thread random numbers.
 *
 * A record is a slot of a static table, taken once and not reused while the
 * environment runs (no memset races the watchdog reading a thread that has
 * exited); posix_env_start() empties the table for a new run, when every
 * thread of the previous one has been joined.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "env_internal.h"

struct posix_thread posix_thread_table[POSIX_MAX_THREADS];
_Atomic(int) posix_nr_registered;
POSIX_TLS struct posix_thread *posix_me;
POSIX_TLS struct posix_thread posix_anon = { .depth = 1, .top = POSIX_FRAME_OFFSET(0) };
POSIX_TLS _Atomic(unsigned int) *posix_my_pending;

uint64_t posix_random(void)
{
	return splitmix64_next(&posix_cur()->rng);
}

static enum kenv_ctx base_ctx(enum posix_role role)
{
	switch (role) {
	case POSIX_ROLE_KWORKER:
	case POSIX_ROLE_KSOFTIRQD:
	case POSIX_ROLE_KTHREAD:
	case POSIX_ROLE_ENV:
		return KENV_CTX_KTHREAD;
	default:
		return KENV_CTX_TASK;
	}
}

void posix_register_self(const char *name, enum posix_role role, int cpu)
{
	int id = atomic_fetch_add(&posix_nr_registered, 1);
	struct posix_thread *t;

	if (id >= POSIX_MAX_THREADS)
		KENV_DIE("too many registered threads");
	/* The slot is still zero: posix_registry_reset() cleared it before the run. */
	t = &posix_thread_table[id];
	t->id = id;
	t->role = role;
	atomic_store(&t->cpu, cpu);
	t->tid = (pid_t)syscall(SYS_gettid);
	snprintf(t->name, sizeof(t->name), "%s", name);
	/*
	 * Each thread its own stream of the run's seed: the seed XOR id + 1
	 * increments.  Recorded seeds depend on this formula: keep it.
	 */
	t->rng = posix_cfg.seed ^ (SPLITMIX64_GAMMA * (uint64_t)(id + 1));
	t->depth = 1;
	t->top = POSIX_FRAME_OFFSET(0);
	t->frames[0].ctx = base_ctx(role);
#if POSIX_CHECKED
	for (int c = 0; c < KENV_CTX_NR; c++)
		snprintf(t->frame_names[c], sizeof(t->frame_names[c]), "%s/%s", t->name,
			 posix_ctx_name((enum kenv_ctx)c));
	t->frames[0].ct.name = t->frame_names[t->frames[0].ctx];
	atomic_store(&t->last_site, "registered");
	t->check_token = check_thread_token();
#endif
	t->registered = true;
	posix_me = t;
	if (role == POSIX_ROLE_CPU)
		posix_my_pending = &posix_cpus[cpu].pending;
}

void posix_registry_reset(void)
{
	memset(posix_thread_table, 0, sizeof(posix_thread_table[0]) * (size_t)posix_nr_threads());
	atomic_store(&posix_nr_registered, 0);
	posix_me = NULL;
	posix_my_pending = NULL;
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

/* ---------------------------------------------------------------------------
 * Creating registered threads
 */

struct thread_start {
	char name[32];
	enum posix_role role;
	int cpu;
	void *(*fn)(void *);
	void *arg;
	sem_t started;
};

static void *thread_trampoline(void *p)
{
	struct thread_start *ts = p;
	void *(*fn)(void *) = ts->fn;
	void *arg = ts->arg;
	enum posix_role role = ts->role;
	int cpu = ts->cpu;
	char comm[16];
	void *ret;

	/* For perf and top; the kernel keeps 15 characters. */
	memcpy(comm, ts->name, sizeof(comm) - 1);
	comm[sizeof(comm) - 1] = 0;
	pthread_setname_np(pthread_self(), comm);
	urcu_memb_register_thread();
	posix_register_self(ts->name, role, cpu);
#if POSIX_CHECKED
	if (role == POSIX_ROLE_CPU)
		posix_irq_cpu_thread_begin(cpu);
#endif
	/* @ts lives on the creator's stack: not touched after this. */
	sem_post(&ts->started);
	ret = fn(arg);
#if POSIX_CHECKED
	if (role == POSIX_ROLE_CPU)
		posix_irq_cpu_thread_end(cpu);
#endif
	urcu_memb_unregister_thread();
#if POSIX_CHECKED
	atomic_store(&posix_me->last_site, "exited");
#endif
	posix_my_pending = NULL;
	return ret;
}

void posix_thread_create(pthread_t *thr, const char *name, enum posix_role role, int cpu,
			 void *(*fn)(void *), void *arg)
{
	struct thread_start ts = { .role = role, .cpu = cpu, .fn = fn, .arg = arg };
	int err;
#if POSIX_CHECKED
	sigset_t old;
#endif

	snprintf(ts.name, sizeof(ts.name), "%s", name);
	if (sem_init(&ts.started, 0, 0))
		KENV_DIE("sem_init");
#if POSIX_CHECKED
	/* The new thread inherits the mask: interrupts stay blocked until it registered. */
	posix_irq_block(&old);
#endif
	posix_cur()->env_internal++;
	err = pthread_create(thr, NULL, thread_trampoline, &ts);
	posix_cur()->env_internal--;
#if POSIX_CHECKED
	pthread_sigmask(SIG_SETMASK, &old, NULL);
#endif
	if (err) {
		errno = err;
		KENV_DIE("pthread_create");
	}
	while (sem_wait(&ts.started) && errno == EINTR)
		;
	sem_destroy(&ts.started);
}
