/* SPDX-License-Identifier: MIT */
/*
 * fake_env.c - the fake environment and implementation snapshot (fake_env.h).
 */
#include "fake_env.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local struct check_task fake_default_task = { .name = "fake/task" };
static _Thread_local struct fake_ctx fake_state = {
	.ctx = KENV_CTX_TASK,
	.task = NULL,
};

struct kvfree_rcu_cpu_stats fake_stats[KENV_NR_CPUS_MAX];
struct fake_walk_cpu fake_walk[4];
struct kenv_lock fake_krc_lock[4];
struct kvfree_rcu_config fake_config;
bool fake_impl_up;
uint64_t fake_now_ns;

struct fake_ctx *fake_ctx(void)
{
	if (!fake_state.task)
		fake_state.task = &fake_default_task;
	return &fake_state;
}

void fake_ctx_default(void)
{
	memset(&fake_default_task, 0, sizeof(fake_default_task));
	fake_default_task.name = "fake/task";
	fake_state = (struct fake_ctx){ .ctx = KENV_CTX_TASK, .task = &fake_default_task };
}

void fake_impl_reset(void)
{
	fake_edge_fault = FAKE_EDGE_NONE;
	memset(fake_stats, 0, sizeof(fake_stats));
	memset(&fake_config, 0, sizeof(fake_config));
	fake_config.nr_cpus = 4;
	fake_config.page_entries = 4;
	fake_config.cache_pages = 5;
	for (int c = 0; c < 4; c++)
		fake_stats[c].online = true;
	memset(fake_walk, 0, sizeof(fake_walk));
	for (int c = 0; c < 4; c++) {
		fake_walk[c].s.cpu = c;
		fake_walk[c].s.per_channel_counts = true;
		fake_walk[c].s.cache_cap = 5;
		fake_krc_lock[c] = (struct kenv_lock){ .name = "krc.lock" };
	}
	fake_impl_up = true;
	fake_now_ns = 0;
	fake_snapshot_locks = false;
	fake_snapshot_handler = NULL;
}

/* ---- the environment: only what the checker calls ------------------------ */

struct check_task *check_current(void)
{
	return fake_ctx()->task;
}

const char *kenv_ctx_name(enum kenv_ctx ctx)
{
	static const char *const names[KENV_CTX_NR] = { "task", "kthread", "softirq",
							"hardirq", "nmi" };

	return (unsigned int)ctx < KENV_CTX_NR ? names[ctx] : "?";
}

enum kenv_ctx kenv_context(void)
{
	return fake_ctx()->ctx;
}

bool kenv_in_hardirq(void)
{
	return fake_ctx()->ctx == KENV_CTX_HARDIRQ;
}

bool kenv_in_softirq(void)
{
	return fake_ctx()->ctx == KENV_CTX_SOFTIRQ;
}

bool kenv_in_nmi(void)
{
	return fake_ctx()->ctx == KENV_CTX_NMI;
}

bool kenv_irqs_disabled(void)
{
	return fake_ctx()->irqs_off;
}

bool kenv_preemptible(void)
{
	const struct fake_ctx *f = fake_ctx();

	return (f->ctx == KENV_CTX_TASK || f->ctx == KENV_CTX_KTHREAD) && !f->irqs_off &&
	       !f->preempt_off && f->task->nr_held == 0;
}

int kenv_cpu(void)
{
	return fake_ctx()->cpu;
}

int kenv_nr_cpus(void)
{
	return (int)fake_config.nr_cpus;
}

uint64_t kenv_clock_ns(void)
{
	return fake_now_ns;
}

_Noreturn void kenv_die(const char *file, int line, const char *func, const char *msg)
{
	fprintf(stderr, "%s:%d: %s: %s\n", file, line, func, msg);
	exit(99);
}

/* ---- the implementation's snapshot --------------------------------------- */

const struct kvfree_rcu_config *kvfree_rcu_config(void)
{
	return fake_impl_up ? &fake_config : NULL;
}

bool fake_snapshot_locks;
void (*fake_snapshot_handler)(int cpu);

bool kvfree_rcu_snapshot(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	bool irqs_off;

	if ((!fake_impl_up && fake_edge_fault != FAKE_EDGE_ANSWERS_AFTER_EXIT) || cpu < 0 ||
	    (unsigned int)cpu >= fake_config.nr_cpus)
		return false;
	if (!fake_snapshot_locks || cpu >= 4) {
		*st = fake_stats[cpu];
		return true;
	}
	if (fake_snapshot_handler)
		fake_snapshot_handler(cpu);
	irqs_off = fake_ctx()->irqs_off;
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&fake_krc_lock[cpu]);
	*st = fake_stats[cpu];
	check_lock_release(&fake_krc_lock[cpu]);
	fake_ctx()->irqs_off = irqs_off;
	return true;
}

enum fake_edge_fault fake_edge_fault;

static bool fake_cpu_exists(int cpu)
{
	return cpu >= 0 && (unsigned int)cpu < fake_config.nr_cpus;
}

void kvfree_rcu_cpu_offline(int cpu)
{
	if (!fake_cpu_exists(cpu) && fake_edge_fault == FAKE_EDGE_OFFLINE_CHANGES)
		fake_stats[0].cached_pages++;
}

void kvfree_rcu_cpu_online(int cpu)
{
	(void)cpu;
}

bool kvfree_rcu_snapshot_racy(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	if (!fake_cpu_exists(cpu)) {
		memset(st, 0, sizeof(*st));
		return fake_edge_fault == FAKE_EDGE_RACY_BAD_CPU;
	}
	*st = fake_stats[cpu];
	st->pending[KVFREE_CH_SLAB] += fake_edge_fault == FAKE_EDGE_RACY_DIFFERS;
	return true;
}

bool kvfree_rcu_init(const struct kvfree_rcu_config *cfg)
{
	(void)cfg;
	return fake_edge_fault == FAKE_EDGE_INIT_TAKES_BAD;
}

bool kenv_lock_held(const struct kenv_lock *lock)
{
	const struct check_task *t = fake_ctx()->task;

	for (unsigned int i = 0; i < t->nr_held && i < CHECK_MAX_HELD; i++)
		if (t->held[i] == lock)
			return true;
	return false;
}

/* ---- the implementation's structure walk --------------------------------- */

bool kvfree_rcu_walk_locked(int cpu, struct kvfree_rcu_structure *s,
			    const struct kvfree_rcu_walk_fns *fns)
{
	const struct fake_walk_cpu *w;

	if (cpu == -1 && fake_edge_fault == FAKE_EDGE_WALK_BAD_CPU) {
		memset(s, 0, sizeof(*s));
		return true;
	}
	if (!fake_impl_up || cpu < 0 || cpu >= 4 || (unsigned int)cpu >= fake_config.nr_cpus)
		return false;
	w = &fake_walk[cpu];
	*s = w->s;
	/* A capped count of the krc's list, as the real walks stop it. */
	if (fns && fns->krc_max && s->records[KVFREE_CH_LIST] > fns->krc_max) {
		s->records[KVFREE_CH_LIST] = fns->krc_max;
		s->partial = true;
	}
	for (unsigned int i = 0; fns && fns->page && i < w->nr_pages; i++)
		if (!fns->krc_only || w->pages[i].place != KVFREE_PAGE_BATCH)
			fns->page(fns->arg, cpu, &w->pages[i]);
	for (unsigned int i = 0; fns && fns->list_obj && i < w->nr_list; i++)
		if (fns->page || fake_edge_fault != FAKE_EDGE_LIST_ONLY_MISSES)
			fns->list_obj(fns->arg, cpu, w->list_objs[i], KVFREE_PAGE_KRC);
	return true;
}

bool kvfree_rcu_walk(int cpu, struct kvfree_rcu_structure *s,
		     const struct kvfree_rcu_walk_fns *fns)
{
	return kvfree_rcu_walk_locked(cpu, s, fns);
}

int kvfree_rcu_krc_cpu(const struct kenv_lock *lock)
{
	for (int c = 0; c < 4; c++)
		if (lock == &fake_krc_lock[c])
			return c;
	return -1;
}
