/* SPDX-License-Identifier: MIT */
/*
 * env_core.c - the posix environment's life cycle and what every other file
 * leans on: configuration, start and stop, statistics, the clock, kenv_die
 * and kenv_warn, output that never allocates, sleeping.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "env_internal.h"

struct posix_cpu posix_cpus[KENV_NR_CPUS_MAX];
struct posix_env_config posix_cfg;
_Atomic(bool) posix_stopping;
_Atomic(unsigned int) posix_env_generation;
_Atomic(uint64_t) posix_stat_works, posix_stat_timers, posix_stat_rcu_cbs;

static _Atomic(uint64_t) stat_warnings[2];
static struct timespec clock_base;
static bool env_started;

/* ---------------------------------------------------------------------------
 * Output without allocation, sleeping
 */

void posix_write_all(int fd, const char *buf, size_t len)
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
void posix_fd_printf(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	posix_write_all(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void posix_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

void posix_sem_wait_ns(sem_t *sem, uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec += (long)(ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	sem_timedwait(sem, &ts);
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
	posix_fd_printf(2, "kvtorture: posix env: %s:%d: %s(): %s (errno %d)\n", file, line,
			func, msg, errno);
	_exit(99);
}

/* The first report per site is printed; every one is counted (and checked). */
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
		posix_fd_printf(2, "kvtorture: %s %s at %s:%d %s(): %s obj=%p [%s]\n",
				kind == KENV_WARN_BUG ? "WARNING" : "misuse", invariant, file,
				line, func, cond, obj, posix_thread_name());
#if POSIX_CHECKED
	ENV_CHECK(check_warned(kind, invariant, cond, obj, file, line, func));
#else
	/* No checker to judge it: a broken invariant makes every number of the run meaningless. */
	if (kind == KENV_WARN_BUG)
		_exit(1);
#endif
}

/* ---------------------------------------------------------------------------
 * Start, stop
 */

void posix_env_config_default(struct posix_env_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = 2;
	cfg->seed = 1;
	cfg->pool_pages = 8;
	cfg->reclaim = POSIX_RECLAIM_WORKER;
	cfg->ksoftirqd = true;
	cfg->chaos.spin_max_ns = 20 * 1000;
	cfg->chaos.sleep_max_ns = 200 * 1000;
}

/* A new run's per-CPU state: online, nothing pending, counters at 0. */
static void cpus_reset(int nr_cpus)
{
	for (int cpu = 0; cpu < nr_cpus; cpu++) {
		struct posix_cpu *c = &posix_cpus[cpu];

		atomic_store(&c->pending, 0);
		atomic_store(&c->cpu_idle, false);
		atomic_store(&c->softirq_pending, 0);
		atomic_store(&c->softirq_running, 0);
		for (int wq = 0; wq < KENV_WQ_NR; wq++)
			atomic_store(&c->wq_inbox[wq], NULL);
		atomic_store(&c->kworker_idle, false);
		atomic_store(&c->online, true);
		atomic_store(&c->users, 0);
		atomic_store(&c->cpu_tid, 0);
		atomic_store(&c->cpu_parked, 0);
		atomic_store(&c->irqs, 0);
		atomic_store(&c->irqs_replayed, 0);
		atomic_store(&c->nmis, 0);
		atomic_store(&c->softirqs, 0);
		if (sem_init(&c->cpu_wake, 0, 0) || sem_init(&c->ksoftirqd_wake, 0, 0) ||
		    sem_init(&c->kworker_wake, 0, 0))
			KENV_DIE("sem_init");
	}
}

void posix_env_start(const struct posix_env_config *cfg)
{
	if (env_started)
		KENV_DIE("posix_env_start called twice");
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > KENV_NR_CPUS_MAX)
		KENV_DIE("nr_cpus out of range");
	if ((unsigned int)cfg->reclaim >= POSIX_RECLAIM_NR)
		KENV_DIE("reclaim mode out of range");
	env_started = true;
	posix_cfg = *cfg;
	clock_gettime(CLOCK_MONOTONIC, &clock_base);
	atomic_fetch_add(&posix_env_generation, 1);
	atomic_store(&posix_stopping, false);
	atomic_store(&posix_stat_works, 0);
	atomic_store(&posix_stat_timers, 0);
	atomic_store(&posix_stat_rcu_cbs, 0);
	atomic_store(&stat_warnings[0], 0);
	atomic_store(&stat_warnings[1], 0);
	posix_registry_reset();
#if POSIX_CHECKED
	posix_irq_start();
#endif
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

	cpus_reset(cfg->nr_cpus);
	posix_page_start();
	posix_obj_start();
	posix_rcu_start();
	posix_timer_start();
	posix_work_start();
	posix_softirq_start();
	posix_cpus_start();
}

void posix_env_stop(void)
{
	if (!env_started)
		return;
	posix_set_cpu_workload(NULL, NULL);
	atomic_store(&posix_stopping, true);
	posix_cpus_stop();
	posix_softirq_stop();
	posix_work_stop();
	posix_timer_stop();
	posix_rcu_stop();
	posix_obj_stop();
	posix_page_stop();
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		sem_destroy(&posix_cpus[cpu].cpu_wake);
		sem_destroy(&posix_cpus[cpu].ksoftirqd_wake);
		sem_destroy(&posix_cpus[cpu].kworker_wake);
	}
	urcu_memb_unregister_thread();
	env_started = false;
}

/* ---------------------------------------------------------------------------
 * Statistics
 */

void posix_env_stats(struct posix_env_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->gps = posix_rcu_gps();
	st->gp_seq = posix_rcu_seq();
#if POSIX_CHECKED
	for (int i = 0; i < posix_nr_threads(); i++)
		st->sched_points += atomic_load(&posix_thread_table[i].points);
	st->interpose_reports = atomic_load(&posix_interpose_reports);
#endif
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
	posix_page_stats(st);
}
