/* SPDX-License-Identifier: MIT */
/*
 * check_locks.c - the lock checker (LOCKING), the allocation and sleep checks
 * (NO-ALLOC-ATOMIC) and the implementation's warnings.
 *
 * Nothing here takes the shadow lock on the success path: raw lock acquire and
 * release are the hottest hooks of a stress run.
 *
 * Per context (struct check_task, written only by its own context): the locks
 * it holds, in order, and whether irqs were off when each was taken.
 *
 * Per OS thread (thread-local): every lock held, or being acquired, by any
 * context running on this thread, with the CPU it was taken on.  A lock that
 * this list shows held on the caller's CPU is held by the caller itself or by
 * a context the caller interrupted: in the posix environment a signal handler
 * runs on the thread it interrupted; in the simulation every coroutine shares
 * the one thread, and a raw lock holder on this CPU that is not running can
 * only be one the running context interrupted (raw lock holders are neither
 * preempted nor migrated).  Taking it again would spin forever: self-deadlock.
 * Entries are claimed with a CAS (0 -> CLAIMED) before they are filled and
 * published by storing the lock, so a handler that interrupts a half-written
 * entry skips it.
 *
 * Per lock class (the lock's name, shared by all CPUs' instances of a lock):
 * whether it was ever taken in hardirq context and ever taken with irqs on
 * (both: an interrupt may arrive while the lock is held and take it again),
 * and which classes were ever taken while it was held (the order matrix; a
 * pair taken both ways may deadlock ABBA).  Slots are claimed with a CAS on the
 * name pointer; flags and matrix rows are atomic bit sets.
 */
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "check_fmt.h"
#include "check_internal.h"

#define LOCK_CLASSES 64
#define TL_LOCKS 128
#define TL_CLAIMED ((uintptr_t)1)

_Static_assert(LOCK_CLASSES <= 64, "the order matrix rows are 64-bit masks");
_Static_assert(LOCK_CLASSES <= 256, "a class number fits the class cache's low byte");

enum {
	CLASS_HARDIRQ = 1u << 0,	/* taken in hardirq context */
	CLASS_IRQS_ON = 1u << 1,	/* taken with irqs enabled */
	CLASS_IRQ_REPORTED = 1u << 2,
};

struct lock_class {
	_Atomic(const char *) name;
	_Atomic(unsigned int) flags;
	/* Where each flag was first seen, for the report: "task@site". */
	_Atomic(const char *) hardirq_task, hardirq_site, irqs_on_task, irqs_on_site;
};

static struct lock_class classes[LOCK_CLASSES];

/*
 * The classes of recently seen names, by name pointer: (pointer << 8 | class),
 * 0 for none.  A user-space pointer fits in 56 bits.  Every acquire needs its
 * lock's class; hashing the name each time was a third of the acquire.
 */
#define CLASS_CACHE 16
static _Atomic(uint64_t) class_cache[CLASS_CACHE];
static _Atomic(uint64_t) order_after[LOCK_CLASSES];	/* bit b: b taken while holding row */
static _Atomic(uint64_t) order_reported[LOCK_CLASSES];

struct tl_lock {
	_Atomic(uintptr_t) lock;	/* 0 free, TL_CLAIMED being filled, else the lock */
	int cpu;
	const struct check_task *task;
};

static _Thread_local struct tl_lock tl_locks[TL_LOCKS];
static _Thread_local _Atomic(unsigned int) tl_nr_locks;

/*
 * PER-CPU across a lock drop.  A kvfree_rcu() call that finds no storage page
 * may drop its krc lock to allocate one, and must then re-take that same lock:
 * the page was wanted by that krc, and re-taking "this CPU's" lock after a
 * migration would hand it to another CPU's krc.  Per context, from the
 * driver's check_obj_queued() on: a raw lock released (RELEASED), then a page
 * allocation with no raw lock held (ALLOCATED), then the next acquire
 * (RELOCKED).  A page attached in RELOCKED state under a lock of the dropped
 * lock's class but not the dropped lock itself is the violation.  The state is
 * kept per OS thread in a small direct-mapped table keyed by the context: a
 * collision forgets a context's state, which can only miss a violation.
 */
enum relock_state { RELOCK_NONE, RELOCK_RELEASED, RELOCK_ALLOCATED, RELOCK_RELOCKED };

struct relock_track {
	const struct check_task *task;
	enum relock_state state;
	const struct kenv_lock *dropped, *relocked;
};

#define RELOCK_SLOTS 64
static _Thread_local struct relock_track tl_relock[RELOCK_SLOTS];

static struct relock_track *relock_of(const struct check_task *t, bool claim)
{
	struct relock_track *r = &tl_relock[((uintptr_t)t >> 4) % RELOCK_SLOTS];

	if (r->task == t)
		return r;
	if (!claim)
		return NULL;
	r->state = RELOCK_NONE;
	r->dropped = r->relocked = NULL;
	r->task = t;
	return r;
}

void check_locks_reset(void)
{
	/*
	 * Relaxed: a reset runs on a quiescent system, before any other thread
	 * or handler uses the checker again (thread creation orders it).
	 */
	for (unsigned int i = 0; i < LOCK_CLASSES; i++) {
		atomic_store_explicit(&classes[i].name, NULL, memory_order_relaxed);
		atomic_store_explicit(&classes[i].flags, 0, memory_order_relaxed);
		atomic_store_explicit(&classes[i].hardirq_task, NULL, memory_order_relaxed);
		atomic_store_explicit(&classes[i].hardirq_site, NULL, memory_order_relaxed);
		atomic_store_explicit(&classes[i].irqs_on_task, NULL, memory_order_relaxed);
		atomic_store_explicit(&classes[i].irqs_on_site, NULL, memory_order_relaxed);
		atomic_store_explicit(&order_after[i], 0, memory_order_relaxed);
		atomic_store_explicit(&order_reported[i], 0, memory_order_relaxed);
	}
	for (unsigned int i = 0; i < CLASS_CACHE; i++)
		atomic_store_explicit(&class_cache[i], 0, memory_order_relaxed);
	for (unsigned int i = 0; i < TL_LOCKS; i++)
		atomic_store_explicit(&tl_locks[i].lock, 0, memory_order_relaxed);
	atomic_store_explicit(&tl_nr_locks, 0, memory_order_relaxed);
	memset(tl_relock, 0, sizeof(tl_relock));
}

static const char *lock_name(const struct kenv_lock *lock)
{
	return lock && lock->name ? lock->name : "(unnamed lock)";
}

static int class_lookup(const char *name);

/* The class of @name, or -1 when the table is full.  Lock-free. */
static int class_of(const char *name)
{
	_Atomic(uint64_t) *slot = &class_cache[((uintptr_t)name >> 3) % CLASS_CACHE];
	uint64_t w = atomic_load_explicit(slot, memory_order_relaxed);
	int c;

	if (w && (w >> 8) == (uintptr_t)name)
		return (int)(w & 0xff);
	c = class_lookup(name);
	/* A word is written whole: a racing reader sees this pair or another. */
	if (c >= 0)
		atomic_store_explicit(slot, (uint64_t)(uintptr_t)name << 8 | (unsigned int)c,
				      memory_order_relaxed);
	return c;
}

static int class_lookup(const char *name)
{
	uint32_t h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (unsigned int n = 0; n < LOCK_CLASSES; n++) {
		struct lock_class *c = &classes[(h + n) % LOCK_CLASSES];
		const char *cur = atomic_load(&c->name);

		if (!cur) {
			if (check_cas(&c->name, &cur, name))
				return (int)(c - classes);
			/* Lost the race: cur now holds the winner's name. */
		}
		if (cur == name || strcmp(cur, name) == 0)
			return (int)(c - classes);
	}
	return -1;
}

/* ---- the OS thread's lock list ------------------------------------------- */

static const struct tl_lock *tl_find_on_cpu(const struct kenv_lock *lock, int cpu)
{
	unsigned int n = atomic_load(&tl_nr_locks);

	for (unsigned int i = 0; i < n && i < TL_LOCKS; i++) {
		if (atomic_load(&tl_locks[i].lock) == (uintptr_t)lock && tl_locks[i].cpu == cpu)
			return &tl_locks[i];
	}
	return NULL;
}

static void tl_push(const struct kenv_lock *lock, int cpu, const struct check_task *t)
{
	unsigned int i, n;

	/* The lowest free slot: with coroutines, releases are not LIFO. */
	for (i = 0; i < TL_LOCKS; i++) {
		uintptr_t zero = 0;

		if (atomic_load(&tl_locks[i].lock) == 0 &&
		    check_cas(&tl_locks[i].lock, &zero, TL_CLAIMED))
			break;
	}
	if (i == TL_LOCKS)
		return;	/* untracked: self-deadlock detection misses this entry */
	tl_locks[i].cpu = cpu;
	tl_locks[i].task = t;
	/* Grow the count to cover the slot; a handler may have shrunk it meanwhile. */
	n = atomic_load(&tl_nr_locks);
	while (n < i + 1 && !check_cas(&tl_nr_locks, &n, i + 1))
		;
	check_store(&tl_locks[i].lock, (uintptr_t)lock);
}

static void tl_remove(const struct kenv_lock *lock, const struct check_task *t)
{
	unsigned int n = atomic_load(&tl_nr_locks);

	for (unsigned int i = n < TL_LOCKS ? n : TL_LOCKS; i-- > 0;) {
		if (atomic_load(&tl_locks[i].lock) == (uintptr_t)lock && tl_locks[i].task == t) {
			check_store(&tl_locks[i].lock, 0);
			break;
		}
	}
	/* Shrink past free slots at the top; a CAS, since a handler may push meanwhile. */
	for (;;) {
		n = atomic_load(&tl_nr_locks);
		if (n == 0 || n > TL_LOCKS || atomic_load(&tl_locks[n - 1].lock) != 0)
			return;
		if (!check_cas(&tl_nr_locks, &n, n - 1))
			continue;
	}
}

bool check_lock_would_deadlock(const struct kenv_lock *lock)
{
	return tl_find_on_cpu(lock, kenv_cpu()) != NULL;
}

/* ---- LOCKING ------------------------------------------------------------- */

static const char *site_of(const struct check_task *t)
{
	return t->last_site ? t->last_site : "?";
}

static void note_first(_Atomic(const char *) *slot, const char *value)
{
	const char *none = NULL;

	if (!atomic_load_explicit(slot, memory_order_relaxed))
		check_cas(slot, &none, value ? value : "?");
}

static void check_irq_safety(const struct kenv_lock *lock, int c, const struct check_ctx *cs)
{
	struct lock_class *cl = &classes[c];
	unsigned int add = 0, old;

	if (cs->hardirq && !cs->irqs_off) {
		/* Counted as the irq-safety violation of this class, too. */
		check_fetch_or(&cl->flags, CLASS_IRQ_REPORTED);
		check_report(INV_LOCKING, lock, cs->cpu, cs,
			     "%s taken in hardirq context with irqs enabled: an interrupt "
			     "arriving now could take it again", lock_name(lock));
	}
	if (cs->hardirq) {
		add |= CLASS_HARDIRQ;
		note_first(&cl->hardirq_task, cs->task->name);
		note_first(&cl->hardirq_site, site_of(cs->task));
	}
	if (!cs->irqs_off) {
		add |= CLASS_IRQS_ON;
		note_first(&cl->irqs_on_task, cs->task->name);
		note_first(&cl->irqs_on_site, site_of(cs->task));
	}
	old = check_fetch_or(&cl->flags, add);
	if (((old | add) & (CLASS_HARDIRQ | CLASS_IRQS_ON)) != (CLASS_HARDIRQ | CLASS_IRQS_ON))
		return;
	if (check_fetch_or(&cl->flags, CLASS_IRQ_REPORTED) & CLASS_IRQ_REPORTED)
		return;
	check_report(INV_LOCKING, lock, cs->cpu, cs,
		     "irq-unsafe lock %s: taken in hardirq context (first by %s at %s) and "
		     "with irqs enabled (first by %s at %s); an interrupt taking it while the "
		     "irqs-enabled holder has it deadlocks",
		     lock_name(lock), atomic_load(&cl->hardirq_task),
		     atomic_load(&cl->hardirq_site), atomic_load(&cl->irqs_on_task),
		     atomic_load(&cl->irqs_on_site));
}

static void check_order(const struct kenv_lock *lock, int c, const struct check_ctx *cs)
{
	const struct check_task *t = cs->task;

	for (unsigned int i = 0; i < t->nr_held && i < CHECK_MAX_HELD; i++) {
		const struct kenv_lock *h = t->held[i];
		int hc = class_of(lock_name(h));
		int lo, hi;

		if (hc < 0 || hc == c)
			continue;
		check_fetch_or(&order_after[hc], 1ULL << c);
		if (!(atomic_load(&order_after[c]) & (1ULL << hc)))
			continue;
		lo = hc < c ? hc : c;
		hi = hc < c ? c : hc;
		if (check_fetch_or(&order_reported[lo], 1ULL << hi) & (1ULL << hi))
			continue;
		check_report(INV_LOCKING, lock, cs->cpu, cs,
			     "lock order inversion: %s taken while holding %s, but %s was "
			     "taken while holding %s before (ABBA deadlock)",
			     lock_name(lock), lock_name(h), lock_name(h), lock_name(lock));
	}
}

void check_lock_acquire(const struct kenv_lock *lock)
{
	struct check_ctx cs;
	struct check_task *t;
	const struct tl_lock *holder;
	struct relock_track *r;
	int c;

	check_ctx_take(&cs);
	t = cs.task;
	holder = tl_find_on_cpu(lock, cs.cpu);
	if (holder)
		check_report(INV_LOCKING, lock, cs.cpu, &cs,
			     "self-deadlock: %s is already held on cpu%d by %s%s",
			     lock_name(lock), cs.cpu,
			     holder->task && holder->task->name ? holder->task->name : "?",
			     holder->task == t ? " (this very context)" :
			     ", which this context interrupted");
	if (cs.nmi)
		check_report(INV_LOCKING, lock, cs.cpu, &cs,
			     "raw lock %s taken in NMI context: an NMI may interrupt its holder",
			     lock_name(lock));
	c = class_of(lock_name(lock));
	if (c >= 0) {
		check_irq_safety(lock, c, &cs);
		check_order(lock, c, &cs);
	}
	if (t->nr_held >= CHECK_MAX_HELD) {
		check_report(INV_LOCKING, lock, cs.cpu, &cs,
			     "%s taken while %u raw locks are held already (at most %d)",
			     lock_name(lock), t->nr_held, CHECK_MAX_HELD);
	} else {
		t->held[t->nr_held] = lock;
		t->held_irqs_off[t->nr_held] = cs.irqs_off;
		/* A handler arriving now sees the entry complete before the count grows. */
		atomic_signal_fence(memory_order_seq_cst);
		t->nr_held++;
	}
	tl_push(lock, cs.cpu, t);

	r = relock_of(t, false);
	if (r && r->state == RELOCK_ALLOCATED) {
		r->state = RELOCK_RELOCKED;
		r->relocked = lock;
	} else if (r) {
		r->state = RELOCK_NONE;
	}
}

void (*_Atomic check_lock_release_hook)(const struct kenv_lock *lock);

void check_lock_release(const struct kenv_lock *lock)
{
	void (*hook)(const struct kenv_lock *) =
		atomic_load_explicit(&check_lock_release_hook, memory_order_relaxed);
	struct check_ctx cs;
	struct check_task *t;
	struct relock_track *r;
	unsigned int i;

	/* The structural checks' debug mode: the krc as it is left, lock still held. */
	if (hook)
		hook(lock);
	/* The task is all a release needs; the whole context only for a report. */
	t = check_task_take();
	for (i = t->nr_held < CHECK_MAX_HELD ? t->nr_held : CHECK_MAX_HELD; i-- > 0;) {
		if (t->held[i] == lock)
			break;
	}
	if (i == (unsigned int)-1) {
		check_ctx_take(&cs);
		check_report(INV_LOCKING, lock, cs.cpu, &cs,
			     "%s released by %s, which does not hold it (%u lock(s) held)",
			     lock_name(lock), t->name ? t->name : "?", t->nr_held);
	} else {
		for (; i + 1 < t->nr_held; i++) {
			t->held[i] = t->held[i + 1];
			t->held_irqs_off[i] = t->held_irqs_off[i + 1];
		}
		t->nr_held--;
	}
	tl_remove(lock, t);

	r = relock_of(t, false);
	if (r) {
		r->state = RELOCK_RELEASED;
		r->dropped = lock;
	}
}

/* ---- NO-ALLOC-ATOMIC ----------------------------------------------------- */

void check_gfp_names(unsigned int gfp, char *buf, size_t size)
{
	static const char *const names[] = { "NOWAIT", "KERNEL", "NORETRY", "NOMEMALLOC",
					     "NOWARN", "POOL" };
	size_t len = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (gfp & (1u << i))
			len += check_fmt(buf + len, size - len, "%s%s", len ? "|" : "", names[i]);
	}
	if (gfp >> (sizeof(names) / sizeof(names[0])))
		len += check_fmt(buf + len, size - len, "%s0x%x", len ? "|" : "",
				 gfp >> (sizeof(names) / sizeof(names[0])));
	if (!len)
		check_fmt(buf, size, "0");
}

/*
 * Why the context @cs is atomic, or NULL if it is not (for a NOWAIT-class
 * allocation: hardirq, NMI, irqs off or a raw lock held).
 */
static const char *atomic_reason(const struct check_ctx *cs, char *buf, size_t size)
{
	const struct check_task *t = cs->task;

	if (cs->nmi)
		return "in NMI context";
	if (cs->hardirq)
		return "in hardirq context";
	if (t->nr_held) {
		check_fmt(buf, size, "under raw lock %s (%u held)",
			  lock_name(t->held[(t->nr_held <= CHECK_MAX_HELD ? t->nr_held :
					     CHECK_MAX_HELD) - 1]), t->nr_held);
		return buf;
	}
	if (cs->irqs_off)
		return "with irqs disabled";
	return NULL;
}

void check_alloc(unsigned int gfp, const char *site)
{
	struct check_ctx cs;
	char why[96], flags[80];
	const char *reason;

	check_ctx_take(&cs);
	if (!cs.task->nr_held) {
		struct relock_track *r = relock_of(cs.task, false);

		if (r && r->state == RELOCK_RELEASED)
			r->state = RELOCK_ALLOCATED;
	}
	if (gfp & KENV_GFP_POOL) {
		/* The lock-free per-CPU pool: allowed anywhere atomic, not in NMI. */
		reason = cs.nmi ? "in NMI context" : NULL;
	} else {
		reason = atomic_reason(&cs, why, sizeof(why));
		if (!reason && (gfp & KENV_GFP_KERNEL)) {
			if (cs.softirq)
				reason = "in softirq context (GFP_KERNEL may sleep)";
			else if (!cs.preemptible)
				reason = "in a non-preemptible section (GFP_KERNEL may sleep)";
		}
	}
	if (!reason)
		return;
	check_gfp_names(gfp, flags, sizeof(flags));
	check_report(INV_NO_ALLOC_ATOMIC, NULL, cs.cpu, &cs,
		     "page allocation with gfp=%s at %s %s%s", flags, site ? site : "?", reason,
		     gfp & KENV_GFP_POOL ? "" :
		     "\nonly KENV_GFP_POOL may allocate under a raw lock or with irqs off");
}

void check_might_sleep(const char *site)
{
	struct check_ctx cs;
	char why[96];
	const char *reason;

	/* The one answer the success path needs; the whole context for a report. */
	if (kenv_preemptible())
		return;
	check_ctx_take(&cs);
	reason = atomic_reason(&cs, why, sizeof(why));
	if (!reason)
		reason = cs.softirq ? "in softirq context" :
			 "with preemption or bh disabled, or inside an RCU read-side section";
	check_report(INV_NO_ALLOC_ATOMIC, NULL, cs.cpu, &cs,
		     "%s may sleep but runs %s", site ? site : "?", reason);
}

/* ---- PER-CPU across a lock drop ------------------------------------------- */

void check_locks_call_begin(const struct check_task *t)
{
	struct relock_track *r = relock_of(t, true);

	r->state = RELOCK_NONE;
	r->dropped = r->relocked = NULL;
}

void check_locks_page_attach(const void *page, int cpu, const struct kenv_lock *lock,
			     const struct check_ctx *cs)
{
	struct relock_track *r = relock_of(cs->task, false);
	int dc, lc;

	if (!r || r->state != RELOCK_RELOCKED || !lock || r->relocked != lock ||
	    r->dropped == lock)
		return;
	dc = class_of(lock_name(r->dropped));
	lc = class_of(lock_name(lock));
	if (dc < 0 || dc != lc)
		return;
	check_report(INV_PER_CPU, page, cpu, cs,
		     "page allocated with %s %p dropped, then attached to cpu%d's krc under "
		     "%p: the lock re-taken after the allocation is not the one dropped "
		     "(the caller now runs on cpu%d)",
		     lock_name(r->dropped), (const void *)r->dropped, cpu, (const void *)lock,
		     cs->cpu);
}

/* ---- the implementation's warnings --------------------------------------- */

void check_warned(enum kenv_warn_kind kind, const char *inv, const char *cond,
		  const void *obj, const char *file, int line, const char *func)
{
	struct check_ctx cs;
	enum check_inv id;

	if (kind == KENV_WARN_MISUSE) {
		check_shadow_misuse_warned(obj, cond);
		return;
	}
	check_ctx_take(&cs);
	/* The batch's GP has not passed because the environment broke RCU. */
	if (cs.task->rcu_work_early && inv && !strcmp(inv, "GP-SAFETY")) {
		check_trace("check: GP-SAFETY warned (%s) in an rcu work run before its GP: "
			    "the implementation's defence", cond ? cond : "?");
		return;
	}
	if (!check_inv_parse(inv, &id)) {
		check_report(INV_MISUSE, obj, cs.cpu, &cs,
			     "the implementation warned \"%s\" (%s:%d in %s) under an unknown "
			     "invariant ID \"%s\"", cond ? cond : "?", file ? file : "?", line,
			     func ? func : "?", inv ? inv : "(null)");
		return;
	}
	check_report(id, obj, cs.cpu, &cs, "the implementation found its own invariant broken: "
		     "WARN_ON_ONCE(%s) at %s:%d in %s", cond ? cond : "?", file ? file : "?",
		     line, func ? func : "?");
}
