/* SPDX-License-Identifier: MIT */
/*
 * check_structure.c - the structural checks (check.h): each CPU's krc as the
 * implementation's walk finds it (kvfree_rcu_walk_locked()), against the
 * implementation's counters and the shadow.
 *
 * Two entry points.  check_structure() walks every CPU, for a system at rest
 * (the sim between ops) or paused (a stress checkpoint, taking each krc lock),
 * and also asks the shadow about every page and object it finds.  The debug
 * mode walks the one krc whose lock is being released, from
 * check_lock_release() while the lock is still held: no shadow there (a
 * handler may interrupt its own thread inside the shadow lock), only what the
 * krc says about itself, and not its batch slots (check_structure() walks
 * those), which keeps the cost per release to the krc's pages and list.
 *
 * A walk never nests: a krc unlock inside check_structure()'s own locked walk,
 * or in whatever a report runs, finds in_walk set and returns.  The shadow
 * lock is taken per page and per list object, after the krc lock if one is
 * held, and never across a krc lock or unlock.  Reports are lock-free.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "check_fmt.h"
#include "check_internal.h"
#include "kvfree_rcu.h"

/* Object reports per walk: the first few name the problem; the rest repeat it. */
#define OBJ_REPORTS_MAX 4

static const char *const ch_names[KVFREE_CH_NR + 1] = { "slab", "vmalloc", "list", "none" };

struct walk {
	int cpu;
	bool shadow;		/* also compare with the shadow (check_structure()) */
	bool shadow_held;	/* ... whose lock the caller holds for the whole walk */
	bool have_cs;
	struct check_ctx cs;	/* the context of the check, taken at the first report */
	unsigned int obj_reports;
};

/*
 * A walk's state, a field at a time (no memset: a sanitizer build checks its
 * whole range, at every krc unlock); the context is taken at a first report.
 */
static void walk_init(struct walk *w, int cpu, bool shadow, bool shadow_held)
{
	w->cpu = cpu;
	w->shadow = shadow;
	w->shadow_held = shadow_held;
	w->have_cs = false;
	w->obj_reports = 0;
}

/* This thread is inside a walk (its own locked walk releases a krc lock). */
static _Thread_local bool in_walk;

/*
 * With the debug mode on, releases of each CPU's krc lock since the mode was
 * set, and the count at that CPU's last walk by check_structure(false): a krc
 * whose lock was not released since cannot have changed, and is not walked
 * again.  Written by the releasing context (the debug mode is for the sim,
 * or a posix debug run where check_structure(false) is not used).
 */
static unsigned long krc_releases[KENV_NR_CPUS_MAX], krc_walked_at[KENV_NR_CPUS_MAX];
static _Atomic(bool) at_unlock_on;

static void w_report(struct walk *w, enum check_inv inv, const void *obj, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void w_report(struct walk *w, enum check_inv inv, const void *obj, const char *fmt, ...)
{
	va_list ap;

	if (!w->have_cs) {
		check_ctx_take(&w->cs);
		w->have_cs = true;
	}
	va_start(ap, fmt);
	check_vreport(inv, obj, w->cpu, &w->cs, fmt, ap);
	va_end(ap);
}

static const char *place_name(enum kvfree_page_place place)
{
	switch (place) {
	case KVFREE_PAGE_KRC:
		return "krc";
	case KVFREE_PAGE_BATCH:
		return "batch slot";
	case KVFREE_PAGE_CACHE:
		return "page cache";
	}
	return "?";
}

static const char *ch_name(enum kvfree_channel ch)
{
	return (unsigned int)ch <= KVFREE_CH_NR ? ch_names[ch] : "?";
}

/*
 * EXACTLY-ONCE: @obj, found on @cpu's @place (on @page of channel @ch, or on
 * an rcu_head list when @page is NULL), is queued and not freed.  Shadow lock
 * held.
 */
static void obj_known(struct walk *w, int cpu, const void *obj, enum kvfree_page_place place,
		      enum kvfree_channel ch, const void *page)
{
	uint64_t seq;
	enum check_known k = check_shadow_obj_known_locked(obj, &seq);
	char where[48];

	if (k == CHECK_KNOWN_QUEUED || w->obj_reports >= OBJ_REPORTS_MAX)
		return;
	w->obj_reports++;
	if (page)
		check_fmt(where, sizeof(where), "%s channel, page %p", ch_name(ch), page);
	else
		check_fmt(where, sizeof(where), "rcu_head list");
	switch (k) {
	case CHECK_KNOWN_FREED:
		w_report(w, INV_EXACTLY_ONCE, obj,
			 "object %p on cpu%d's %s (%s) was already freed at #%llu: it would be "
			 "freed a second time", obj, cpu, place_name(place), where,
			 (unsigned long long)seq);
		break;
	case CHECK_KNOWN_NEW:
		w_report(w, INV_EXACTLY_ONCE, obj,
			 "object %p on cpu%d's %s (%s) was never handed to kvfree_rcu()", obj, cpu,
			 place_name(place), where);
		break;
	default:
		w_report(w, INV_EXACTLY_ONCE, obj,
			 "%p on cpu%d's %s (%s) is no object the checker knows queued (never "
			 "queued, or freed long ago)", obj, cpu, place_name(place), where);
		break;
	}
}

static void on_page(void *arg, int cpu, const struct kvfree_rcu_page_view *v)
{
	struct walk *w = arg;
	bool reported = false;
	int owner;

	if (v->place != KVFREE_PAGE_CACHE) {
		if (v->records > v->capacity)
			w_report(w, INV_BOUNDED, v->page,
				 "page %p on cpu%d's %s (%s channel) holds %lu records, more than "
				 "its capacity %lu", v->page, cpu, place_name(v->place),
				 ch_name(v->ch), v->records, v->capacity);
		if (v->guard == 0)
			w_report(w, INV_BOUNDED, v->page,
				 "the guard word after the last slot of page %p (capacity %lu, %lu "
				 "records) on cpu%d's %s was overwritten: a record was stored past "
				 "the page's capacity", v->page, v->capacity, v->records, cpu,
				 place_name(v->place));
		if (v->owner != -1 && v->owner != cpu)
			w_report(w, INV_PER_CPU, v->page,
				 "page %p on cpu%d's %s (%s channel) says it belongs to cpu%d",
				 v->page, cpu, place_name(v->place), ch_name(v->ch), v->owner);
	}
	if (!w->shadow)
		return;

	if (!w->shadow_held)
		check_shadow_lock();
	owner = check_shadow_page_owner_locked(v->page, &reported);
	if (reported && v->place == KVFREE_PAGE_CACHE && owner >= 0)
		w_report(w, INV_PER_CPU, v->page,
			 "page %p is in cpu%d's page cache but still attached to cpu%d's krc "
			 "(check_page_owner)", v->page, cpu, owner);
	else if (reported && v->place != KVFREE_PAGE_CACHE && owner < 0)
		w_report(w, INV_PER_CPU, v->page,
			 "page %p on cpu%d's %s (%s channel) is owned by no krc per "
			 "check_page_owner()", v->page, cpu, place_name(v->place), ch_name(v->ch));
	else if (reported && v->place != KVFREE_PAGE_CACHE && owner != cpu)
		w_report(w, INV_PER_CPU, v->page,
			 "page %p on cpu%d's %s (%s channel) is owned by cpu%d per "
			 "check_page_owner()", v->page, cpu, place_name(v->place), ch_name(v->ch),
			 owner);
	if (v->place != KVFREE_PAGE_CACHE && v->recs) {
		unsigned long n = v->records < v->slots ? v->records : v->slots;

		for (unsigned long i = 0; i < n; i++)
			obj_known(w, cpu, v->recs[i], v->place, v->ch, v->page);
	}
	if (!w->shadow_held)
		check_shadow_unlock();
}

static void on_list_obj(void *arg, int cpu, const void *obj, enum kvfree_page_place place)
{
	struct walk *w = arg;

	if (!w->shadow)
		return;
	if (!w->shadow_held)
		check_shadow_lock();
	obj_known(w, cpu, obj, place, KVFREE_CH_LIST, NULL);
	if (!w->shadow_held)
		check_shadow_unlock();
}

/*
 * A count against what the walk found: equal, or with the list counted only
 * in part (partial), at least as large.
 */
static bool count_matches(unsigned long count, unsigned long found, bool partial)
{
	return partial ? count >= found : count == found;
}

/* The per-CPU comparisons of counters with what the walk found. */
static void compare_cpu(struct walk *w, const struct kvfree_rcu_structure *s)
{
	const char *at_least = s->partial ? "at least " : "";
	unsigned long found = 0;

	if (s->truncated)
		return;
	for (unsigned int ch = 0; ch < KVFREE_CH_NR; ch++)
		found += s->records[ch];
	if (s->per_channel_counts) {
		for (unsigned int ch = 0; ch < KVFREE_CH_NR; ch++) {
			if (count_matches(s->count[ch], s->records[ch], s->partial))
				continue;
			w_report(w, INV_ACCOUNTING, NULL,
				 "cpu%d's %s channel counts %ld object(s) but its krc holds %s%lu (%s)",
				 s->cpu, ch_names[ch], (long)s->count[ch], at_least, s->records[ch],
				 ch == KVFREE_CH_LIST ? "entries on its rcu_head list"
						      : "records on its pages");
		}
	} else if (!count_matches(s->count[KVFREE_CH_SLAB], found, s->partial)) {
		w_report(w, INV_ACCOUNTING, NULL,
			 "cpu%d counts %ld pending object(s) but its krc holds %s%lu (slab %lu, "
			 "vmalloc %lu on pages, list %s%lu)", s->cpu, (long)s->count[KVFREE_CH_SLAB],
			 at_least, found, s->records[KVFREE_CH_SLAB], s->records[KVFREE_CH_VMALLOC],
			 at_least, s->records[KVFREE_CH_LIST]);
	}
	if (s->cached != s->cache_len)
		w_report(w, INV_ACCOUNTING, NULL,
			 "cpu%d's cached-page count is %ld but its cache list holds %lu page(s)",
			 s->cpu, (long)s->cached, s->cache_len);
	if (s->cache_len > s->cache_cap)
		w_report(w, INV_BOUNDED, NULL,
			 "cpu%d's cache list holds %lu page(s), more than its cap cache_pages=%lu",
			 s->cpu, s->cache_len, s->cache_cap);
	if (w->shadow && s->offline && found)
		w_report(w, INV_HOTPLUG, NULL,
			 "cpu%d is offline but its krc still holds %lu object(s) (slab %lu, "
			 "vmalloc %lu, list %lu): going offline hands them to batches", s->cpu,
			 found, s->records[KVFREE_CH_SLAB], s->records[KVFREE_CH_VMALLOC],
			 s->records[KVFREE_CH_LIST]);
}

static unsigned long total_violations(void)
{
	unsigned long n = 0;

	for (unsigned int i = 0; i < INV_NR; i++)
		n += check_count((enum check_inv)i);
	return n;
}

/*
 * What a walk may cost per op (check_structure() between ops in the debug
 * mode) and per release (structure_at_release()), in entries (records, list
 * entries, pages), amortized: a krc larger than the budget is walked at one
 * changed op, or release, in (its size / budget), so that a long list of
 * fallbacks does not make every op and every call cost a walk of everything
 * queued before it (half of a fuzz input's time was walks, growing with the
 * square of its length).  A small krc, where the edge cases live, is walked
 * at every op and release; every krc is walked whole by check_structure(true)
 * at the end of a run and at stress checkpoints.  A walk between ops asks
 * the shadow about each entry where a release only counts them, so it has
 * the smaller budget.
 */
#define STRUCTURE_REST_BUDGET 16
#define STRUCTURE_UNLOCK_BUDGET 32
/*
 * A release walks at most this many pages of each krc channel and entries of
 * its rcu_head list, from the head: following a long list is a cache miss an
 * entry.  Past it the counts are checked as lower bounds there, and whole
 * between ops.
 */
#define STRUCTURE_UNLOCK_HEAD 16
/* Per CPU: changed ops, or releases, to let pass before the next walk. */
static unsigned long rest_skip[KENV_NR_CPUS_MAX], unlock_skip[KENV_NR_CPUS_MAX];

/*
 * The entries a walk went through: between ops every record, list entry and
 * page of the krc and its batch slots (@at_rest); at a release the pages and
 * list entries of the krc (a page's records are not visited there).
 */
static unsigned long walk_size(const struct kvfree_rcu_structure *s, bool at_rest)
{
	unsigned long n = s->records[KVFREE_CH_LIST] + s->krc_pages + s->cache_len;

	if (at_rest)
		n += s->records[KVFREE_CH_SLAB] + s->records[KVFREE_CH_VMALLOC] +
		     s->batch_records + s->batch_pages;
	return n;
}

bool check_structure(bool lock_krcs)
{
	const struct kvfree_rcu_config *cfg = kvfree_rcu_config();
	unsigned long before = total_violations();
	struct walk w;
	const struct kvfree_rcu_walk_fns fns = { .page = on_page, .list_obj = on_list_obj, .arg = &w };
	bool skip_unchanged = !lock_krcs && atomic_load(&at_unlock_on);
	int n;

	if (!cfg || in_walk)
		return true;
	/* Without krc locks to order against, the shadow lock is held throughout. */
	walk_init(&w, -1, true, !lock_krcs);
	n = (int)cfg->nr_cpus < kenv_nr_cpus() ? (int)cfg->nr_cpus : kenv_nr_cpus();
	in_walk = true;
	if (w.shadow_held)
		check_shadow_lock();
	for (int cpu = 0; cpu < n; cpu++) {
		struct kvfree_rcu_structure s;
		bool ok;

		if (skip_unchanged && cpu < KENV_NR_CPUS_MAX) {
			if (krc_walked_at[cpu] == krc_releases[cpu])
				continue;
			if (rest_skip[cpu]) {
				rest_skip[cpu]--;
				continue;
			}
			krc_walked_at[cpu] = krc_releases[cpu];
		}
		w.cpu = cpu;
		w.obj_reports = 0;
		ok = lock_krcs ? kvfree_rcu_walk(cpu, &s, &fns) : kvfree_rcu_walk_locked(cpu, &s, &fns);
		if (ok)
			compare_cpu(&w, &s);
		if (ok && skip_unchanged && cpu < KENV_NR_CPUS_MAX)
			rest_skip[cpu] = walk_size(&s, true) / STRUCTURE_REST_BUDGET;
	}
	if (w.shadow_held)
		check_shadow_unlock();
	in_walk = false;
	return total_violations() == before;
}

/* The debug mode's hook (check_lock_release(), the lock still held). */
static void structure_at_release(const struct kenv_lock *lock)
{
	int cpu = kvfree_rcu_krc_cpu(lock);
	struct walk w;
	/*
	 * The batch slots' pages are walked between ops: a release looks at the
	 * krc, at the head of each of its lists (where calls add).
	 */
	const struct kvfree_rcu_walk_fns fns = { .page = on_page, .arg = &w, .krc_only = true,
						 .krc_max = STRUCTURE_UNLOCK_HEAD };
	struct kvfree_rcu_structure s;
	struct check_task *t;

	if (cpu < 0 || cpu >= KENV_NR_CPUS_MAX || in_walk || !kenv_lock_held(lock))
		return;
	krc_releases[cpu]++;
	t = check_task_take();
	if (t->reading_krc == (unsigned int)cpu + 1) {
		/* Spent here: a later release in this context (a handler) is walked. */
		t->reading_krc = 0;
		return;
	}
	if (unlock_skip[cpu]) {
		unlock_skip[cpu]--;
		return;
	}
	in_walk = true;
	walk_init(&w, cpu, false, false);
	if (kvfree_rcu_walk_locked(cpu, &s, &fns)) {
		compare_cpu(&w, &s);
		unlock_skip[cpu] = walk_size(&s, false) / STRUCTURE_UNLOCK_BUDGET;
	}
	in_walk = false;
}

/* The search of check_structure_where(): the first place @obj is found. */
struct where {
	const void *obj;
	bool found;
	int cpu, batch;
	enum kvfree_page_place place;
	enum kvfree_channel ch;
	const void *page;
};

static void where_page(void *arg, int cpu, const struct kvfree_rcu_page_view *v)
{
	struct where *w = arg;
	unsigned long n = v->records < v->slots ? v->records : v->slots;

	if (w->found || v->place == KVFREE_PAGE_CACHE || !v->recs)
		return;
	for (unsigned long i = 0; i < n; i++) {
		if (v->recs[i] != w->obj)
			continue;
		*w = (struct where){ .obj = w->obj, .found = true, .cpu = cpu, .batch = v->batch,
				     .place = v->place, .ch = v->ch, .page = v->page };
		return;
	}
}

static void where_list(void *arg, int cpu, const void *obj, enum kvfree_page_place place)
{
	struct where *w = arg;

	if (w->found || obj != w->obj)
		return;
	*w = (struct where){ .obj = obj, .found = true, .cpu = cpu, .batch = -1, .place = place,
			     .ch = KVFREE_CH_LIST };
}

size_t check_structure_where(const void *obj, char *buf, size_t size)
{
	const struct kvfree_rcu_config *cfg = kvfree_rcu_config();
	struct where w = { .obj = obj, .batch = -1 };
	const struct kvfree_rcu_walk_fns fns = { .page = where_page, .list_obj = where_list,
						 .arg = &w };
	char slot[16] = "";
	int n;

	if (!cfg || in_walk)
		return check_fmt(buf, size, "not looked for (no krc to walk)");
	n = (int)cfg->nr_cpus < kenv_nr_cpus() ? (int)cfg->nr_cpus : kenv_nr_cpus();
	in_walk = true;
	for (int cpu = 0; cpu < n && !w.found; cpu++) {
		struct kvfree_rcu_structure s;

		if (check_one_thread)
			kvfree_rcu_walk_locked(cpu, &s, &fns);
		else
			kvfree_rcu_walk(cpu, &s, &fns);
	}
	in_walk = false;
	if (!w.found)
		return check_fmt(buf, size, "on no CPU's krc or batch slot (freed since, or "
				 "taken off them by a work or a call still running)");
	if (w.batch >= 0)
		check_fmt(slot, sizeof(slot), " %d", w.batch);
	if (w.page)
		return check_fmt(buf, size, "on cpu%d's %s%s (%s channel, page %p)", w.cpu,
				 place_name(w.place), slot, ch_name(w.ch), w.page);
	return check_fmt(buf, size, "on cpu%d's %s%s (rcu_head list)", w.cpu, place_name(w.place),
			 slot);
}

bool check_krc_snapshot(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	struct check_task *t = check_task_take();
	unsigned int was = t->reading_krc;
	bool ok;

	/*
	 * Per context, for one release: a handler nested at the lock's
	 * scheduling points is walked (or, sharing the context and arriving
	 * first, leaves the same krc to the snapshot's walked release).
	 */
	t->reading_krc = cpu >= 0 ? (unsigned int)cpu + 1 : 0;
	ok = kvfree_rcu_snapshot(cpu, st);
	t->reading_krc = was;
	return ok;
}

void check_set_structure_at_unlock(bool on)
{
	/* Every krc counts as changed: the next check_structure() walks them all. */
	for (unsigned int c = 0; c < KENV_NR_CPUS_MAX; c++) {
		krc_releases[c] = 1;
		krc_walked_at[c] = 0;
		unlock_skip[c] = 0;
		rest_skip[c] = 0;
	}
	atomic_store(&at_unlock_on, on);
	atomic_store(&check_lock_release_hook, on ? structure_at_release : NULL);
}
