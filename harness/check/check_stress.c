/* SPDX-License-Identifier: MIT */
/*
 * check_stress.c - the rules a real-thread stress run checks while it runs
 * (check.h, "real-thread runs"): the online PROGRESS monitor, which watches
 * for pending objects that nothing will ever detach while the flooders go
 * on, and the MISUSE balance at a checkpoint.
 *
 * Like check_final.c, this file calls the implementation's snapshot API;
 * snapshots are taken before the shadow lock (a context holding a krc lock
 * may report a violation, so the shadow lock is never held while waiting for
 * a krc lock).  Unlike the end-of-run checks, the PROGRESS monitor runs on a
 * system that does not stand still: everything it concludes from one
 * observation must hold whatever runs meanwhile.
 */
#include <string.h>

#include "check.h"
#include "check_internal.h"
#include "kvfree_rcu.h"

/*
 * Stranded: objects pending on the krc, no monitor armed to detach them and
 * no batch in flight whose completion would be followed by another monitor
 * run.  Between two observations the monitor may have run (it is not armed
 * while it runs), hence the persistence the caller asks for.
 */
static bool is_stranded(const struct kvfree_rcu_cpu_stats *st)
{
	return st->online && check_stats_pending(st) && !st->monitor_armed && !st->batch_busy[0] &&
	       !st->batch_busy[1];
}

/* The oldest outstanding object queued on @cpu (or on any CPU for -1). */
struct oldest_scan {
	int cpu;
	bool found;
	struct check_obj_view v;
};

static bool scan_oldest(const struct check_obj_view *v, void *arg)
{
	struct oldest_scan *s = arg;

	/* Outstanding objects are visited in queue order: the first match is the oldest. */
	if (v->expect != CHECK_EXPECT_FREE || (s->cpu >= 0 && v->cpu != s->cpu))
		return true;
	s->v = *v;
	s->found = true;
	return false;
}

static bool oldest_locked(int cpu, struct check_obj_view *v)
{
	struct oldest_scan s = { .cpu = cpu };

	check_shadow_assert_held();
	check_shadow_each_outstanding_locked(scan_oldest, &s);
	if (s.found)
		*v = s.v;
	return s.found;
}

static uint64_t age_of(const struct check_obj_view *v, uint64_t now_ns)
{
	return now_ns > v->queue_ns ? now_ns - v->queue_ns : 0;
}

/*
 * Report @cpu stranded since @w->cpu[cpu].since_ns with @v, its oldest
 * object, older than the bound; shadow lock held.
 */
static void report_stranded_locked(const struct check_progress_watch *w, int cpu,
				   const struct kvfree_rcu_cpu_stats *st,
				   const struct check_obj_view *v, uint64_t now_ns,
				   const struct check_ctx *cs)
{
	const struct check_watch_cpu *wc = &w->cpu[cpu];

	check_shadow_assert_held();
	check_report(INV_PROGRESS, v->obj, cpu, cs,
		     "cpu%d has %lu object(s) pending (slab %lu, vmalloc %lu, list %lu) with no "
		     "monitor armed and no batch busy, for at least %llu ms (%lu observations, "
		     "no monitor run or batch queued in between: monitor_runs=%lu, "
		     "batches_queued=%lu); "
		     "its oldest object %p, queued at #%llu in %s context, has been pending for "
		     "%llu ms, beyond the bound of %llu ms (drain delay + grace periods + slack): "
		     "stranded",
		     cpu, check_stats_pending(st), st->pending[KVFREE_CH_SLAB], st->pending[KVFREE_CH_VMALLOC],
		     st->pending[KVFREE_CH_LIST],
		     (unsigned long long)((now_ns - wc->since_ns) / 1000000), wc->sightings,
		     st->monitor_runs, st->batches_queued, v->obj,
		     (unsigned long long)v->queue_seq, kenv_ctx_name(v->ctx),
		     (unsigned long long)(age_of(v, now_ns) / 1000000),
		     (unsigned long long)(w->bound_ns / 1000000));
}

bool check_progress_watch(struct check_progress_watch *w, uint64_t now_ns,
			  uint64_t age_mask)
{
	struct kvfree_rcu_cpu_stats snaps[KENV_NR_CPUS_MAX];
	const struct kvfree_rcu_config *cfg = kvfree_rcu_config();
	bool stranded[KENV_NR_CPUS_MAX] = { false };
	unsigned long before = 0, after = 0;
	struct check_obj_view v;
	struct check_ctx cs;
	unsigned int n;
	bool any = false;

	if (!cfg)
		return true;
	n = cfg->nr_cpus < KENV_NR_CPUS_MAX ? cfg->nr_cpus : KENV_NR_CPUS_MAX;
	for (unsigned int i = 0; i < INV_NR; i++)
		before += check_count((enum check_inv)i);
	check_ctx_take(&cs);
	w->observations++;
	for (unsigned int c = 0; c < n; c++) {
		struct check_watch_cpu *wc = &w->cpu[c];

		if (!check_krc_snapshot((int)c, &snaps[c]))
			continue;
		stranded[c] = is_stranded(&snaps[c]);
		/*
		 * The same stretch only while the monitor has not run and no
		 * batch was queued in between: either would mean something
		 * looked at the krc since the last observation.
		 */
		if (!stranded[c] || !wc->stranded || wc->monitor_runs != snaps[c].monitor_runs ||
		    wc->batches_queued != snaps[c].batches_queued) {
			wc->since_ns = now_ns;
			wc->sightings = 0;
		}
		wc->stranded = stranded[c];
		wc->monitor_runs = snaps[c].monitor_runs;
		wc->batches_queued = snaps[c].batches_queued;
		if (stranded[c]) {
			wc->sightings++;
			w->stranded_sightings++;
			check_figure_max(&w->stranded_longest_ns, now_ns - wc->since_ns);
			any = true;
		}
		if (check_stats_pending(&snaps[c]) && (age_mask >> c) & 1)
			any = true;
	}
	check_shadow_lock();
	if (oldest_locked(-1, &v))
		check_figure_max(&w->oldest_age_ns, age_of(&v, now_ns));
	for (unsigned int c = 0; c < n && any; c++) {
		struct check_watch_cpu *wc = &w->cpu[c];
		uint64_t age;

		if ((!stranded[c] && !(check_stats_pending(&snaps[c]) && (age_mask >> c) & 1)) ||
		    !oldest_locked((int)c, &v))
			continue;
		age = age_of(&v, now_ns);
		if ((age_mask >> c) & 1) {
			w->masked_observations++;
			check_figure_max(&w->masked_oldest_age_ns, age);
		}
		if (!stranded[c])
			continue;
		check_figure_max(&w->stranded_oldest_age_ns, age);
		if (now_ns - wc->since_ns >= w->persist_ns && wc->sightings >= 2 &&
		    age > w->bound_ns)
			report_stranded_locked(w, (int)c, &snaps[c], &v, now_ns, &cs);
	}
	check_shadow_unlock();
	for (unsigned int i = 0; i < INV_NR; i++)
		after += check_count((enum check_inv)i);
	return after == before;
}

bool check_misuse(void)
{
	struct check_shadow_sums sums;
	struct check_ctx cs;
	bool ok;

	check_ctx_take(&cs);
	check_shadow_lock();
	check_shadow_sums_locked(&sums);
	ok = check_misuse_balance_locked(&sums, &cs,
					 "at a checkpoint, with every call returned: ");
	check_shadow_unlock();
	return ok;
}
