/* SPDX-License-Identifier: MIT */
/*
 * check_final.c - the checks that compare the shadow state with the
 * implementation's own view (kvfree_rcu_snapshot()): end of run, mid-run
 * accounting, reclaim progress, the state after the shrinker and the
 * shrinker's count.
 *
 * This file and check_structure.c are the only ones of the checker that call
 * the implementation, so a program that calls none of their functions links
 * without it.  Snapshots are
 * taken before the shadow lock: kvfree_rcu_snapshot() takes each CPU's krc
 * lock, and a context holding a krc lock may report a violation, so the shadow
 * lock is never held while waiting for a krc lock.  The callers run these on a
 * quiescent system, so nothing changes between the two.
 */
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "check_fmt.h"
#include "check_internal.h"
#include "kvfree_rcu.h"

/* The snapshot buffers; one end-of-run check at a time (sleep context). */
static struct kvfree_rcu_cpu_stats snaps[KENV_NR_CPUS_MAX];
static _Atomic(bool) snaps_busy;

static unsigned long total_violations(void)
{
	unsigned long n = 0;

	for (unsigned int i = 0; i < INV_NR; i++)
		n += check_count((enum check_inv)i);
	return n;
}

/* Snapshot every CPU; returns the number of CPUs, 0 if the implementation is not up. */
/* The first @n CPUs' snapshots into @st (zeroed where there is none). */
static void snapshot_all(struct kvfree_rcu_cpu_stats *st, unsigned int n)
{
	for (unsigned int c = 0; c < n; c++)
		if (!check_krc_snapshot((int)c, &st[c]))
			memset(&st[c], 0, sizeof(st[c]));
}

static unsigned int take_snapshots(const struct kvfree_rcu_config **cfgp)
{
	const struct kvfree_rcu_config *cfg = kvfree_rcu_config();
	unsigned int n;

	if (atomic_exchange(&snaps_busy, true))
		KENV_DIE("checker: two end-of-run checks ran at once");
	*cfgp = cfg;
	if (!cfg)
		return 0;
	n = cfg->nr_cpus < KENV_NR_CPUS_MAX ? cfg->nr_cpus : KENV_NR_CPUS_MAX;
	snapshot_all(snaps, n);
	return n;
}

static void put_snapshots(void)
{
	atomic_store(&snaps_busy, false);
}

/*
 * PROGRESS, first half: pending objects always have an armed monitor or a
 * batch in flight (else nothing will ever detach them).
 */
static void check_monitors(unsigned int n, const struct check_ctx *cs)
{
	for (unsigned int c = 0; c < n; c++) {
		const struct kvfree_rcu_cpu_stats *st = &snaps[c];
		unsigned long pending = check_stats_pending(st);

		if (pending && !st->monitor_armed && !st->batch_busy[0] && !st->batch_busy[1])
			check_report(INV_PROGRESS, NULL, (int)c, cs,
				     "cpu%u has %lu object(s) pending (slab %lu, vmalloc %lu, list "
				     "%lu) but its monitor is not armed and no batch is busy",
				     c, pending, st->pending[KVFREE_CH_SLAB],
				     st->pending[KVFREE_CH_VMALLOC], st->pending[KVFREE_CH_LIST]);
		/*
		 * At rest no refill runs: one still in progress must be about
		 * to (a timer, a work, a softirq on its own CPU), or none ever
		 * will, for the flag stops every later request.
		 */
		if (st->refill_in_progress && !st->refill_pending)
			check_report(INV_PROGRESS, NULL, (int)c, cs,
				     "cpu%u's page-cache refill is in progress but nothing will run it "
				     "(no timer armed, no work pending, no softirq raised on cpu%u): "
				     "no refill will run there again", c, c);
	}
}

/*
 * PROGRESS, the worker half: a refill run stops at its first failed
 * allocation.  A failed NORETRY allocation returns without sleeping, so a run
 * that retries spins its worker (the kernel saw "workqueue lockup ... in-flight:
 * fill_page_cache_func"); at most one failure per run is the bound.
 */
static void check_refill_loops(unsigned int n, const struct check_ctx *cs)
{
	for (unsigned int c = 0; c < n; c++) {
		const struct kvfree_rcu_cpu_stats *st = &snaps[c];

		if (st->refill_failures > st->refill_runs)
			check_report(INV_PROGRESS, NULL, (int)c, cs,
				     "cpu%u's page-cache refill saw %lu failed allocations in %lu "
				     "run(s): a run retried after a failure instead of stopping "
				     "(a worker that loops without sleeping)",
				     c, st->refill_failures, st->refill_runs);
	}
}

/* What the implementation says it leaked (objs_leaked), over the @n snapshots. */
static unsigned long snaps_leaked(unsigned int n)
{
	unsigned long leaked = 0;

	for (unsigned int c = 0; c < n; c++)
		leaked += snaps[c].objs_leaked;
	return leaked;
}

/*
 * ACCOUNTING, BOUNDED, HOTPLUG and PROGRESS against the snapshots; shadow lock
 * held.  The counters are held to the shadow first: the bounds are computed
 * from them, and a wrong counter (B7) must be named as such, not as a bound
 * it made the implementation seem to exceed.
 */
static void compare_locked(const struct kvfree_rcu_config *cfg, unsigned int n,
			   const struct check_shadow_sums *sums, const struct check_ctx *cs)
{
	unsigned long impl_pending = 0, impl_in_flight = 0, impl_leaked = snaps_leaked(n);

	check_shadow_assert_held();
	for (unsigned int c = 0; c < n; c++) {
		impl_pending += check_stats_pending(&snaps[c]);
		impl_in_flight += snaps[c].in_flight;
	}
	/* What it leaked (a batch whose GP had not passed) it holds no more. */
	if (impl_pending + impl_in_flight + impl_leaked != sums->outstanding)
		check_report(INV_ACCOUNTING, NULL, -1, cs,
			     "the implementation holds %lu object(s) (pending %lu + in flight %lu "
			     "over %u CPUs) and leaked %lu, but %lu are queued and not freed",
			     impl_pending + impl_in_flight, impl_pending, impl_in_flight, n,
			     impl_leaked, sums->outstanding);
	for (unsigned int c = 0; c < n; c++)
		if (sums->pages_reported && snaps[c].bulk_pages != sums->pages_owned[c])
			check_report(INV_ACCOUNTING, NULL, (int)c, cs,
				     "cpu%u reports bulk_pages=%lu but %lu pages are attached "
				     "to its krc (check_page_owner)",
				     c, snaps[c].bulk_pages, sums->pages_owned[c]);
	for (unsigned int c = 0; c < n; c++) {
		const struct kvfree_rcu_cpu_stats *st = &snaps[c];
		unsigned long bulk_objs = st->pending[KVFREE_CH_SLAB] +
					  st->pending[KVFREE_CH_VMALLOC] + st->in_flight;
		/*
		 * Six page lists per CPU (two bulk channels on the krc and in each of
		 * two batches) each hold at most one partly filled page, plus what
		 * adoption from offline CPUs may splice in.
		 */
		unsigned long slack = 6 + 6UL * sums->went_offline;
		unsigned long bound = cfg->page_entries ? bulk_objs / cfg->page_entries + slack : 0;

		if (st->cached_pages > cfg->cache_pages)
			check_report(INV_BOUNDED, NULL, (int)c, cs,
				     "cpu%u caches %lu pages, more than cache_pages=%u",
				     c, st->cached_pages, cfg->cache_pages);
		if (cfg->page_entries && st->bulk_pages > bound)
			check_report(INV_BOUNDED, NULL, (int)c, cs,
				     "cpu%u holds %lu bulk pages for %lu bulk objects (pending and "
				     "in flight) at %u per page: more than %lu",
				     c, st->bulk_pages, bulk_objs, cfg->page_entries, bound);
		if (sums->offline[c] && check_stats_pending(st))
			check_report(INV_HOTPLUG, NULL, (int)c, cs,
				     "cpu%u is offline but still holds %lu pending object(s)",
				     c, check_stats_pending(st));
	}
	check_monitors(n, cs);
	check_refill_loops(n, cs);
}

bool check_pages_owned(int cpu, unsigned long *owned)
{
	struct check_shadow_sums sums;

	check_shadow_lock();
	check_shadow_sums_locked(&sums);
	check_shadow_unlock();
	*owned = cpu >= 0 && cpu < KENV_NR_CPUS_MAX ? sums.pages_owned[cpu] : 0;
	return sums.pages_reported;
}

bool check_accounting(void)
{
	const struct kvfree_rcu_config *cfg;
	struct check_shadow_sums sums;
	unsigned long before = total_violations();
	struct check_ctx cs;
	unsigned int n;

	check_ctx_take(&cs);
	n = take_snapshots(&cfg);
	check_shadow_lock();
	check_shadow_sums_locked(&sums);
	if (cfg)
		compare_locked(cfg, n, &sums, &cs);
	check_shadow_unlock();
	put_snapshots();
	return total_violations() == before;
}

bool check_misuse_balance_locked(const struct check_shadow_sums *sums,
				 const struct check_ctx *cs, const char *when)
{
	check_shadow_assert_held();
	if (sums->misuse_warned == sums->misuse_expected)
		return true;
	check_report(INV_MISUSE, NULL, -1, cs,
		     "%s%lu misuse warning(s) expected (refused NMI calls %lu, double queues "
		     "%lu, headless calls from atomic context %lu) but the implementation "
		     "warned %lu time(s)", when,
		     sums->misuse_expected, sums->expected_refused, sums->expected_double,
		     sums->expected_headless_atomic, sums->misuse_warned);
	return false;
}

/* ---- the API's edges ------------------------------------------------------ */

static void count_list_obj(void *arg, int cpu, const void *obj, enum kvfree_page_place place)
{
	(void)cpu;
	(void)obj;
	(void)place;
	(*(unsigned long *)arg)++;
}

/*
 * A walk that asks only for the rcu_head list's objects, of the krc alone,
 * names each object the walk without callbacks (@all) counted there, pages
 * or none.
 */
static void check_list_only_walk(int cpu, const struct kvfree_rcu_structure *all,
				 const struct check_ctx *cs)
{
	unsigned long seen = 0;
	const struct kvfree_rcu_walk_fns fns = {
		.list_obj = count_list_obj, .arg = &seen, .krc_only = true,
	};
	struct kvfree_rcu_structure walk;

	if (!kvfree_rcu_walk(cpu, &walk, &fns))
		check_report(INV_ACCOUNTING, NULL, cpu, cs,
			     "cpu%d's structure walk with a list callback alone was refused", cpu);
	else if (seen != all->records[KVFREE_CH_LIST] ||
		 walk.records[KVFREE_CH_LIST] != all->records[KVFREE_CH_LIST] ||
		 walk.krc_pages != all->krc_pages)
		check_report(INV_ACCOUNTING, NULL, cpu, cs,
			     "cpu%d's structure walk with a list callback alone named %lu list "
			     "object(s) and counted %lu on %lu krc page(s); without callbacks "
			     "it counted %lu on %lu", cpu, seen, walk.records[KVFREE_CH_LIST],
			     walk.krc_pages, all->records[KVFREE_CH_LIST], all->krc_pages);
}

static struct kvfree_rcu_cpu_stats edge_before[KENV_NR_CPUS_MAX], edge_after[KENV_NR_CPUS_MAX];

bool check_api_edges(int cpu)
{
	const struct kvfree_rcu_config *cfg = kvfree_rcu_config();
	unsigned long before = total_violations();
	struct kvfree_rcu_config bad;
	struct kvfree_rcu_cpu_stats st, racy;
	struct kvfree_rcu_structure walk;
	struct check_ctx cs;
	int n = kenv_nr_cpus();
	const int no_cpu[2] = { -1, n };

	if (!cfg)
		return true;
	check_ctx_take(&cs);
	snapshot_all(edge_before, (unsigned int)n);
	/* A CPU that does not exist: refused, and nothing changes. */
	for (unsigned int i = 0; i < 2; i++) {
		kvfree_rcu_cpu_offline(no_cpu[i]);
		kvfree_rcu_cpu_online(no_cpu[i]);
		if (kvfree_rcu_snapshot(no_cpu[i], &st))
			check_report(INV_ACCOUNTING, NULL, cpu, &cs,
				     "kvfree_rcu_snapshot(%d) answered for a CPU that does not "
				     "exist (nr_cpus=%d)", no_cpu[i], n);
	}
	if (kvfree_rcu_snapshot_racy(-1, &st) || kvfree_rcu_snapshot_racy(KENV_NR_CPUS_MAX, &st))
		check_report(INV_ACCOUNTING, NULL, cpu, &cs,
			     "kvfree_rcu_snapshot_racy() answered for CPU -1 or %d, which do not "
			     "exist", KENV_NR_CPUS_MAX);
	for (unsigned int i = 0; i < 2; i++)
		if (kvfree_rcu_walk(no_cpu[i], &walk, NULL) ||
		    kvfree_rcu_walk_locked(no_cpu[i], &walk, NULL))
			check_report(INV_ACCOUNTING, NULL, cpu, &cs,
				     "the structure walk answered for CPU %d, which does not exist",
				     no_cpu[i]);
	/* An init while initialised, with a configuration it must refuse. */
	bad = *cfg;
	bad.page_entries = KVFREE_PAGE_ENTRIES_MIN - 1;
	if (kvfree_rcu_init(&bad))
		check_report(INV_ACCOUNTING, NULL, cpu, &cs,
			     "kvfree_rcu_init() took page_entries=%u, below the minimum %u",
			     bad.page_entries, KVFREE_PAGE_ENTRIES_MIN);
	bad = *cfg;
	bad.nr_cpus = cfg->nr_cpus > 1 ? cfg->nr_cpus - 1 : cfg->nr_cpus + 1;
	if (bad.nr_cpus <= KENV_NR_CPUS_MAX && kvfree_rcu_init(&bad))
		check_report(INV_ACCOUNTING, NULL, cpu, &cs,
			     "kvfree_rcu_init() took nr_cpus=%u on a system of %d CPUs",
			     bad.nr_cpus, n);
	snapshot_all(edge_after, (unsigned int)n);
	for (int c = 0; c < n; c++)
		if (memcmp(&edge_before[c], &edge_after[c], sizeof(edge_before[c])))
			check_report(INV_ACCOUNTING, NULL, c, &cs,
				     "cpu%d's snapshot changed across calls that must be refused "
				     "(offline, online and snapshot of CPUs -1 and %d, init with a "
				     "bad configuration): pending %lu/%lu/%lu -> %lu/%lu/%lu, cached "
				     "%lu -> %lu", c, n,
				     edge_before[c].pending[KVFREE_CH_SLAB],
				     edge_before[c].pending[KVFREE_CH_VMALLOC],
				     edge_before[c].pending[KVFREE_CH_LIST],
				     edge_after[c].pending[KVFREE_CH_SLAB],
				     edge_after[c].pending[KVFREE_CH_VMALLOC],
				     edge_after[c].pending[KVFREE_CH_LIST],
				     edge_before[c].cached_pages, edge_after[c].cached_pages);
	/*
	 * At rest, the racy snapshot tells what the locked one does, as far as
	 * it promises (kvfree_rcu.h: pending may be in one channel, in flight
	 * and bulk pages may be missing).
	 */
	if (cpu >= 0 && cpu < n && check_krc_snapshot(cpu, &st)) {
		if (!kvfree_rcu_snapshot_racy(cpu, &racy))
			check_report(INV_ACCOUNTING, NULL, cpu, &cs,
				     "kvfree_rcu_snapshot_racy(%d) refused a CPU that exists", cpu);
		else if (check_stats_pending(&racy) != check_stats_pending(&st) ||
			 racy.cached_pages != st.cached_pages ||
			 racy.monitor_armed != st.monitor_armed || racy.online != st.online ||
			 racy.objs_freed != st.objs_freed || racy.monitor_runs != st.monitor_runs)
			check_report(INV_ACCOUNTING, NULL, cpu, &cs,
				     "cpu%d's racy snapshot differs from its locked one at rest: "
				     "pending %lu against %lu, cached %lu against %lu, monitor armed "
				     "%d against %d, online %d against %d, freed %lu against %lu, "
				     "monitor runs %lu against %lu", cpu, check_stats_pending(&racy),
				     check_stats_pending(&st), racy.cached_pages, st.cached_pages,
				     racy.monitor_armed, st.monitor_armed, racy.online, st.online,
				     racy.objs_freed, st.objs_freed, racy.monitor_runs,
				     st.monitor_runs);
	}
	/*
	 * The walk under each krc's lock (as real threads take it) with every
	 * structural check, and @cpu's walk without callbacks tells the same.
	 */
	check_structure(true);
	if (cpu >= 0 && cpu < n && kvfree_rcu_walk(cpu, &walk, NULL) && !walk.truncated &&
	    check_krc_snapshot(cpu, &st)) {
		unsigned long found = walk.records[KVFREE_CH_SLAB] +
				      walk.records[KVFREE_CH_VMALLOC] + walk.records[KVFREE_CH_LIST];

		if (walk.cache_len != st.cached_pages || found != check_stats_pending(&st))
			check_report(INV_ACCOUNTING, NULL, cpu, &cs,
				     "cpu%d's walk without callbacks found %lu cached page(s) and "
				     "%lu pending record(s), its snapshot says %lu and %lu", cpu,
				     walk.cache_len, found, st.cached_pages, check_stats_pending(&st));
		check_list_only_walk(cpu, &walk, &cs);
	}
	return total_violations() == before;
}

bool check_after_exit(void)
{
	unsigned long before = total_violations();
	struct kvfree_rcu_cpu_stats st;
	struct kvfree_rcu_structure walk;
	struct check_ctx cs;

	check_ctx_take(&cs);
	for (int c = 0; c < kenv_nr_cpus(); c++) {
		bool snap = check_krc_snapshot(c, &st);
		bool walked = kvfree_rcu_walk(c, &walk, NULL);
		bool walked_locked = kvfree_rcu_walk_locked(c, &walk, NULL);

		if (snap || walked || walked_locked)
			check_report(INV_ACCOUNTING, NULL, c, &cs,
				     "after kvfree_rcu_exit(), cpu%d's %s answered; after exit, as "
				     "before init, every CPU must be refused", c,
				     snap ? "snapshot" : walked ? "structure walk" :
				     "structure walk (locked)");
	}
	return total_violations() == before;
}

/* ---- lost objects and reclaim latency ------------------------------------ */

struct lost_scan {
	unsigned long lost, hotplug, may_leak;
	const void *first_lost, *first_hotplug;
	int first_lost_cpu, first_hotplug_cpu;
	char lost_list[768], hotplug_list[768];
	size_t lost_len, hotplug_len;
};

static bool scan_lost(const struct check_obj_view *v, void *arg)
{
	struct lost_scan *s = arg;
	unsigned long *count = v->cpu_went_offline ? &s->hotplug : &s->lost;
	char *list = v->cpu_went_offline ? s->hotplug_list : s->lost_list;
	size_t *len = v->cpu_went_offline ? &s->hotplug_len : &s->lost_len;

	if (v->expect == CHECK_EXPECT_MAY_LEAK)
		s->may_leak++;
	if (v->expect != CHECK_EXPECT_FREE)
		return true;
	if (!(*count)++) {
		if (v->cpu_went_offline) {
			s->first_hotplug = v->obj;
			s->first_hotplug_cpu = v->cpu;
		} else {
			s->first_lost = v->obj;
			s->first_lost_cpu = v->cpu;
		}
	}
	if (*count <= 4)
		*len += check_fmt(list + *len, 768 - *len,
				  "\n%p queued on cpu%d in %s context at #%llu%s", v->obj, v->cpu,
				  kenv_ctx_name(v->ctx), (unsigned long long)v->queue_seq,
				  v->headless ? " (headless)" : "");
	return true;
}

bool check_final(void)
{
	const struct kvfree_rcu_config *cfg;
	struct check_shadow_sums sums;
	struct lost_scan *s;
	static struct lost_scan scan;	/* large; one end-of-run check at a time */
	struct check_ctx cs;
	unsigned int n;

	check_ctx_take(&cs);
	n = take_snapshots(&cfg);
	check_shadow_lock();
	s = &scan;
	memset(s, 0, sizeof(*s));
	check_shadow_each_outstanding_locked(scan_lost, s);
	if (s->lost)
		check_report(INV_EXACTLY_ONCE, s->first_lost, s->first_lost_cpu, &cs,
			     "%lu queued object(s) never freed after the run quiesced (lost):%s%s",
			     s->lost, s->lost_list, s->lost > 4 ? "\n..." : "");
	if (s->hotplug)
		check_report(INV_HOTPLUG, s->first_hotplug, s->first_hotplug_cpu, &cs,
			     "%lu object(s) queued on a CPU that later went offline were never "
			     "freed:%s%s",
			     s->hotplug, s->hotplug_list, s->hotplug > 4 ? "\n..." : "");
	check_shadow_sums_locked(&sums);
	check_misuse_balance_locked(&sums, &cs, "");
	if (cfg) {
		/* Still queued after an rcu work ran early: exactly what it leaked. */
		if (s->may_leak != snaps_leaked(n))
			check_report(INV_EXACTLY_ONCE, NULL, -1, &cs,
				     "%lu object(s) queued when an rcu work ran before its GP are "
				     "not freed, but the implementation counts %lu leaked",
				     s->may_leak, snaps_leaked(n));
		compare_locked(cfg, n, &sums, &cs);
	}
	check_shadow_unlock();
	put_snapshots();
	return check_violated(NULL) == INV_NR;
}

struct late_scan {
	uint64_t now, bound, gp_ended;
	unsigned long late;
	const struct check_obj_view *first;
	struct check_obj_view first_copy;
};

static bool scan_late(const struct check_obj_view *v, void *arg)
{
	struct late_scan *s = arg;

	if (v->expect != CHECK_EXPECT_FREE || s->now < v->queue_ns ||
	    s->now - v->queue_ns <= s->bound || s->gp_ended < v->gp_started_at_queue + 2)
		return true;
	if (!s->late++) {
		s->first_copy = *v;
		s->first = &s->first_copy;
	}
	return true;
}

bool check_progress(uint64_t now_ns, uint64_t bound_ns)
{
	const struct kvfree_rcu_config *cfg;
	struct check_shadow_sums sums;
	unsigned long before = total_violations();
	struct late_scan s = { .now = now_ns, .bound = bound_ns };
	struct check_ctx cs;
	unsigned int n;

	check_ctx_take(&cs);
	n = take_snapshots(&cfg);
	check_shadow_lock();
	check_shadow_sums_locked(&sums);
	s.gp_ended = sums.gp_ended;
	check_shadow_each_outstanding_locked(scan_late, &s);
	if (s.late) {
		const struct check_obj_view *v = s.first;

		check_report(INV_PROGRESS, v->obj, v->cpu, &cs,
			     "%lu object(s) not freed within %llu ns; the oldest was queued at "
			     "%llu ns (#%llu), %llu ns ago, and gp_ended=%llu >= gp_started at "
			     "queue %llu + 2: grace periods progressed but reclaim did not",
			     s.late, (unsigned long long)bound_ns, (unsigned long long)v->queue_ns,
			     (unsigned long long)v->queue_seq,
			     (unsigned long long)(now_ns - v->queue_ns),
			     (unsigned long long)sums.gp_ended,
			     (unsigned long long)v->gp_started_at_queue);
	}
	if (cfg) {
		check_monitors(n, &cs);
		check_refill_loops(n, &cs);
	}
	check_shadow_unlock();
	put_snapshots();
	return total_violations() == before;
}

bool check_after_shrinker(void)
{
	const struct kvfree_rcu_config *cfg;
	unsigned long before = total_violations();
	struct check_ctx cs;
	unsigned int n;

	check_ctx_take(&cs);
	n = take_snapshots(&cfg);
	for (unsigned int c = 0; c < n; c++) {
		const struct kvfree_rcu_cpu_stats *st = &snaps[c];

		if (!st->online)
			continue;
		if (st->cached_pages)
			check_report(INV_BOUNDED, NULL, (int)c, &cs,
				     "cpu%u still caches %lu page(s) after the shrinker ran",
				     c, st->cached_pages);
		if (!st->backoff)
			check_report(INV_BOUNDED, NULL, (int)c, &cs,
				     "cpu%u's page-cache refill does not back off after the "
				     "shrinker",
				     c);
	}
	put_snapshots();
	return total_violations() == before;
}

bool check_shrink_scan_begin(struct check_shrink_before *b)
{
	struct kvfree_rcu_cpu_stats st;

	b->nr_cpus = kenv_nr_cpus() < KENV_NR_CPUS_MAX ? kenv_nr_cpus() : KENV_NR_CPUS_MAX;
	for (int cpu = 0; cpu < b->nr_cpus; cpu++) {
		if (!check_krc_snapshot(cpu, &st))
			return false;
		b->pending[cpu] = check_stats_pending(&st);
		b->cached[cpu] = st.cached_pages;
	}
	return true;
}

bool check_shrink_scan_end(const struct check_shrink_before *b, unsigned long nr_to_scan)
{
	struct kvfree_rcu_cpu_stats st;
	unsigned long covered = 0;
	struct check_ctx cs;
	int stop = -1;

	for (int cpu = 0; cpu < b->nr_cpus && stop < 0; cpu++) {
		covered += b->pending[cpu] + b->cached[cpu];
		if (covered >= nr_to_scan)
			stop = cpu;
	}
	if (stop < 0)
		return true;	/* a scan of everything: check_after_shrinker() */
	for (int cpu = stop + 1; cpu < b->nr_cpus; cpu++) {
		unsigned long pending;

		if (!b->pending[cpu] && !b->cached[cpu])
			continue;
		if (!check_krc_snapshot(cpu, &st))
			return true;
		pending = check_stats_pending(&st);
		/* Only the scan takes objects or pages away here; a refill may add. */
		if (pending >= b->pending[cpu] && st.cached_pages >= b->cached[cpu])
			continue;
		check_ctx_take(&cs);
		check_report(INV_BOUNDED, NULL, cpu, &cs,
			     "kfree_rcu_shrink_scan(nr_to_scan=%lu) went on past cpu%d, where the "
			     "CPUs' objects and cached pages (%lu) already covered it: cpu%d went "
			     "from %lu pending and %lu cached page(s) to %lu and %lu",
			     nr_to_scan, stop, covered, cpu, b->pending[cpu], b->cached[cpu],
			     pending, st.cached_pages);
		return false;
	}
	return true;
}

bool check_shrink_count(unsigned long count, bool (*unchanged)(void *arg), void *arg)
{
	struct kvfree_rcu_cpu_stats st;
	unsigned long want = 0;
	struct check_ctx cs;

	if (count == 0) {
		check_ctx_take(&cs);
		check_report(INV_ACCOUNTING, NULL, -1, &cs,
			     "kfree_rcu_shrink_count() returned 0 (\"cannot tell\"); an empty "
			     "cache must answer KVFREE_SHRINK_EMPTY (%lu)", KVFREE_SHRINK_EMPTY);
		return false;
	}
	if (!unchanged)
		return true;
	/* Not take_snapshots(): its buffers may be in use, and a failed snapshot ends this. */
	for (int cpu = 0; cpu < kenv_nr_cpus(); cpu++) {
		if (!check_krc_snapshot(cpu, &st))
			return true;
		for (unsigned int ch = 0; ch < KVFREE_CH_NR; ch++)
			want += st.pending[ch];
		want += st.cached_pages;
	}
	if (!unchanged(arg))
		return true;
	if (want == 0)
		want = KVFREE_SHRINK_EMPTY;
	if (count == want)
		return true;
	check_ctx_take(&cs);
	check_report(INV_ACCOUNTING, NULL, -1, &cs,
		     "kfree_rcu_shrink_count() returned %lu, but the CPUs hold %lu (objects "
		     "pending plus pages cached, or KVFREE_SHRINK_EMPTY=%lu for none)",
		     count, want, KVFREE_SHRINK_EMPTY);
	return false;
}
