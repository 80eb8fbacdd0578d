/* SPDX-License-Identifier: MIT */
/*
 * check_shadow.c - the shadow heap and the object, GP, reader, barrier,
 * hotplug, misuse and page-ownership checks.
 *
 * Every operation on the shadow state is a struct shadow_op applied under the
 * shadow lock, a spinlock on a C11 atomic whose word names the owning OS
 * thread.  The calling context is taken before the lock (the environment's
 * queries never touch the checker).  The lock is safe against signal handlers:
 * a call that finds the lock held by its own thread - a handler that
 * interrupted the checker's critical section - must not spin (the holder
 * cannot resume until the handler returns), so it appends its operation to the
 * thread's deferred queue instead.  The holder drains that queue before it
 * releases the lock, and looks once more after releasing, so a deferred
 * operation is applied as if it happened right after the critical section it
 * interrupted; its context (CPU, handler, task) is the one snapshotted when
 * the handler made the call.  A handler that interrupts its thread while the
 * thread merely spins for the lock spins too: nobody on this thread holds it.
 *
 * The shadow heap: records in a fixed array (allocated at check_reset()), an
 * open-addressing index of record numbers keyed by object address (linear
 * probing, load <= 1/2), and a doubly-linked list of outstanding records in
 * queue order.  When no record is free, every freed record is forgotten (and
 * the index rebuilt): only a double free of a forgotten object goes unseen.
 */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_fmt.h"
#include "check_internal.h"

#define NIL UINT32_MAX
#define MAX_READERS 256
#define MAX_BARRIERS 16
#define DEFER_MAX 256
#define SPINS_BEFORE_YIELD 256

enum obj_state { OBJ_UNUSED, OBJ_NEW, OBJ_QUEUED, OBJ_FREED };

static const char *const obj_state_names[] = { "unused", "new", "queued", "freed" };

struct shadow_obj {
	const void *obj;
	uint64_t queue_seq, returned_seq, publish_seq, unpublish_seq, free_seq;
	uint64_t deref_seq, deref_begin_seq;
	uint64_t gp_started_at_queue, gp_ended_at_free, queue_ns;
	const char *how;		/* how it was freed (static string) */
	uint32_t prev, next;		/* outstanding list, or free-record list (next) */
	size_t size;
	int deref_reader;		/* last reader that reached it */
	int cpu;			/* queue CPU */
	uint8_t state, ctx, expect, refused_ctx;
	bool headless, vmalloc, published, unpublished, refused, double_queued;
	bool gp_in_progress_at_queue;
	unsigned int misuse_pending;	/* misuse warnings still expected for it */
	unsigned int free_count;
};

struct shadow_reader {
	int id;
	unsigned int depth;
	uint64_t begin_seq;
};

struct shadow_barrier {
	const struct check_task *task;
	uint64_t begin_seq;
};

struct shadow_page {
	const void *page;
	int cpu;		/* owner, -1: none */
	uint32_t gen;		/* the slot is empty unless gen == page_gen */
};

/* ---- state; everything below is protected by the shadow lock ------------- */

static struct shadow_obj *recs;
static uint32_t nr_recs;		/* capacity */
static uint32_t recs_bump;		/* records [0, recs_bump) were handed out once */
static uint32_t recs_free = NIL;	/* free-record list through .next */
/*
 * Index slots hold (generation << 32 | record number + 1); a slot of another
 * generation is empty.  check_reset() and compact() empty the whole index by
 * bumping index_gen: the simulation resets once per fuzz input, so a reset
 * must cost what the last run used, not the table size.
 */
static uint64_t *index_slots;
static uint32_t index_bits, index_gen;
static uint32_t out_head = NIL, out_tail = NIL;
static unsigned long out_count;

static struct shadow_reader readers[MAX_READERS];
static unsigned int nr_readers;
static struct shadow_barrier barriers[MAX_BARRIERS];
static unsigned int nr_barriers;
static uint64_t gp_started, gp_ended;
static uint64_t offline_seq[KENV_NR_CPUS_MAX];
static bool cpu_offline_now[KENV_NR_CPUS_MAX];
static unsigned long misuse_warned, expected_refused, expected_double, expected_headless_atomic;

static struct shadow_page *pages;	/* generation-tagged like the index */
static struct shadow_page *pages_scratch;	/* compaction: the pages kept */
static uint32_t page_bits, page_gen, nr_pages_used;
static unsigned long pages_owned[KENV_NR_CPUS_MAX];
static bool pages_reported;
static const struct kenv_lock *krc_lock_of[KENV_NR_CPUS_MAX];

/* ---- the shadow lock and the deferred queue ------------------------------ */

/* 0 when free, else the owner thread's token (the address of its tl_token). */
static _Atomic(uintptr_t) shadow_lock_word;
static _Thread_local char tl_token;

/*
 * The deferred queue, per thread: written by this thread's signal handlers
 * while the thread holds the lock, read by whichever frame of this thread
 * holds it.  Slots are claimed by bumping tl_defer_head before they are
 * filled, so a nested handler claims the next slot, and a slot is consumed
 * only once its ready flag is set.  Signal fences order these for the same
 * thread.
 */
enum shadow_op_kind {
	OP_NEW, OP_PUBLISH, OP_UNPUBLISH, OP_QUEUED, OP_RETURNED, OP_FREED,
	OP_GP_START, OP_GP_END, OP_READER_BEGIN, OP_READER_DEREF, OP_READER_END,
	OP_BARRIER_BEGIN, OP_CPU_OFFLINE, OP_CPU_ONLINE, OP_MISUSE_WARNED, OP_PAGE_OWNER,
	OP_RCU_WORK_EARLY,
};

/*
 * At most 64 bytes: every object hook zeroes one on its stack, and a
 * sanitizer build checks a larger memset byte range by byte range of shadow,
 * a smaller one at five points.
 */
struct shadow_op {
	const void *obj;
	const void *aux;	/* how (FREED), lock (PAGE_OWNER), cond (MISUSE_WARNED) */
	union {
		size_t size;	/* NEW */
		uint64_t ns;	/* QUEUED */
	};
	int cpu, id;
	uint8_t kind;		/* enum shadow_op_kind */
	uint8_t ctx;		/* enum kenv_ctx */
	uint8_t expect;		/* enum check_expect */
	bool flag;		/* vmalloc (NEW), headless (QUEUED), lock held (PAGE_OWNER) */
	struct check_ctx cs;
};
_Static_assert(sizeof(struct shadow_op) <= 64, "a shadow op is zeroed at five shadow points");
_Static_assert(OP_RCU_WORK_EARLY <= UINT8_MAX && KENV_CTX_NR <= UINT8_MAX,
	       "an op kind and a context fit a byte");

struct deferred_slot {
	volatile sig_atomic_t ready;
	struct shadow_op op;
};

static _Thread_local struct deferred_slot tl_defer[DEFER_MAX];
static _Thread_local volatile unsigned int tl_defer_head, tl_defer_tail;

static uintptr_t my_token(void)
{
	return (uintptr_t)&tl_token;
}

uintptr_t check_thread_token(void)
{
	return my_token();
}

uintptr_t check_lock_holder_token(void)
{
	return atomic_load_explicit(&shadow_lock_word, memory_order_relaxed);
}

static void spin_lock(void)
{
	unsigned int spins = 0;

	/* One thread: the lock is free (its holder would be this thread, which defers). */
	if (check_one_thread) {
		atomic_store_explicit(&shadow_lock_word, my_token(), memory_order_relaxed);
		return;
	}
	for (;;) {
		uintptr_t free_word = 0;

		/* Acquire: the shadow state written by the previous holder is visible. */
		if (atomic_compare_exchange_weak_explicit(&shadow_lock_word, &free_word,
							  my_token(), memory_order_acquire,
							  memory_order_relaxed))
			return;
		/* The holder may be a preempted thread: let it run. */
		if (++spins % SPINS_BEFORE_YIELD == 0)
			sched_yield();
	}
}

static void spin_unlock(void)
{
	atomic_store_explicit(&shadow_lock_word, 0, memory_order_release);
}

/* Whether this OS thread holds the shadow lock (then a handler must defer). */
static bool held_by_this_thread(void)
{
	return atomic_load_explicit(&shadow_lock_word, memory_order_relaxed) == my_token();
}

static void apply(const struct shadow_op *op);

static _Atomic(unsigned long) deferred_total;

unsigned long check_shadow_deferred_total(void)
{
	return atomic_load(&deferred_total);
}

static void defer(const struct shadow_op *op)
{
	unsigned int i = tl_defer_head++;
	struct deferred_slot *slot;

	atomic_fetch_add_explicit(&deferred_total, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	/*
	 * Only handlers that interrupt this thread's short critical section
	 * land here, so the queue holds what arrives during one section.
	 */
	if (i - tl_defer_tail >= DEFER_MAX)
		KENV_DIE("checker: too many operations deferred from signal handlers");
	slot = &tl_defer[i % DEFER_MAX];
	slot->op = *op;
	atomic_signal_fence(memory_order_seq_cst);
	slot->ready = 1;
}

static void drain_deferred(void)
{
	for (;;) {
		struct deferred_slot *slot;
		struct shadow_op op;

		atomic_signal_fence(memory_order_seq_cst);
		if (tl_defer_tail == tl_defer_head)
			return;
		slot = &tl_defer[tl_defer_tail % DEFER_MAX];
		if (!slot->ready)
			return;	/* cannot happen: its writer ran to completion first */
		op = slot->op;
		slot->ready = 0;
		atomic_signal_fence(memory_order_seq_cst);
		tl_defer_tail++;
		apply(&op);
	}
}

static void shadow_leave(void)
{
	for (;;) {
		drain_deferred();
		spin_unlock();
		atomic_signal_fence(memory_order_seq_cst);
		/* A handler that ran between the drain and the unlock deferred. */
		if (tl_defer_tail == tl_defer_head)
			return;
		spin_lock();
	}
}

static void shadow_run(const struct shadow_op *op)
{
	if (held_by_this_thread()) {
		defer(op);
		return;
	}
	spin_lock();
	apply(op);
	shadow_leave();
}

void check_shadow_lock(void)
{
	if (held_by_this_thread())
		KENV_DIE("checker: end-of-run check called from inside the checker");
	spin_lock();
}

void check_shadow_unlock(void)
{
	shadow_leave();
}

void check_shadow_assert_held_(const char *func)
{
	if (!held_by_this_thread())
		kenv_die(__FILE__, __LINE__, func, "checker: called without the shadow lock");
}

/* ---- the shadow heap ----------------------------------------------------- */

static void need_tables(void)
{
	if (!recs)
		KENV_DIE("checker: an object hook ran before check_reset()");
}

/*
 * The slot of address @p in a table of 2^@bits: its 1 KiB
 * block hashed, plus its 16-byte unit within the block, so that objects
 * handed out side by side are looked up side by side in the table (one
 * cache line for several, where a hash of the whole address made every
 * lookup a miss), while blocks scatter, whatever pattern an allocator's
 * addresses follow.
 */
#define HASH_BLOCK_BITS 10
#define HASH_UNIT_BITS 4
static uint32_t hash_ptr(const void *p, uint32_t bits)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	uint64_t h = (a >> HASH_BLOCK_BITS) * 0x9e3779b97f4a7c15ULL;
	uint32_t unit = (uint32_t)(a >> HASH_UNIT_BITS) &
			((1u << (HASH_BLOCK_BITS - HASH_UNIT_BITS)) - 1);

	return ((uint32_t)(h >> (64 - bits)) + unit) & ((1u << bits) - 1);
}

static uint32_t lookup(const void *obj)
{
	uint32_t mask = (1u << index_bits) - 1;

	for (uint32_t i = hash_ptr(obj, index_bits);; i = (i + 1) & mask) {
		uint64_t v = index_slots[i];
		uint32_t r = (uint32_t)v;

		if ((uint32_t)(v >> 32) != index_gen || !r)
			return NIL;
		if (recs[r - 1].obj == obj)
			return r - 1;
	}
}

static void index_insert(uint32_t r)
{
	uint32_t mask = (1u << index_bits) - 1;
	uint32_t i = hash_ptr(recs[r].obj, index_bits);

	while ((uint32_t)(index_slots[i] >> 32) == index_gen && (uint32_t)index_slots[i])
		i = (i + 1) & mask;
	index_slots[i] = (uint64_t)index_gen << 32 | (r + 1);
}

/* Forget every freed object to make room; rebuilds the index. */
/* Empty the index: a new generation, or a real clear when the counter wraps. */
static void index_clear(void)
{
	if (++index_gen == 0) {
		memset(index_slots, 0, sizeof(*index_slots) << index_bits);
		index_gen = 1;
	}
}

static void pages_clear(void)
{
	nr_pages_used = 0;
	if (++page_gen == 0) {
		memset(pages, 0, sizeof(*pages) << page_bits);
		page_gen = 1;
	}
}

static void compact(void)
{
	index_clear();
	for (uint32_t r = 0; r < recs_bump; r++) {
		if (recs[r].state == OBJ_FREED) {
			memset(&recs[r], 0, sizeof(recs[r]));
			recs[r].next = recs_free;
			recs_free = r;
		} else if (recs[r].state != OBJ_UNUSED) {
			index_insert(r);
		}
	}
}

/*
 * No record left after compaction.  The message counts the records by state:
 * what a run that dies here piled up tells which of its sources outran the
 * harness's flow control.
 */
static _Noreturn void heap_full(void)
{
	static char msg[256];
	unsigned long state[4] = { 0 }, refused = 0, may_leak = 0;

	for (uint32_t r = 0; r < recs_bump; r++) {
		state[recs[r].state & 3]++;
		refused += recs[r].state == OBJ_NEW && recs[r].refused;
		may_leak += recs[r].state == OBJ_QUEUED &&
			    recs[r].expect == CHECK_EXPECT_MAY_LEAK;
	}
	check_fmt(msg, sizeof(msg), "checker: shadow heap full of live objects (%u records: "
		  "%lu new, %lu of them refused calls; %lu queued, %lu of them may leak; %lu "
		  "freed); raise check_set_capacity()", nr_recs, state[OBJ_NEW], refused,
		  state[OBJ_QUEUED], may_leak, state[OBJ_FREED]);
	KENV_DIE(msg);
}

static uint32_t alloc_rec(const void *obj)
{
	uint32_t r;

	if (recs_free == NIL && recs_bump == nr_recs)
		compact();
	if (recs_free != NIL) {
		r = recs_free;
		recs_free = recs[r].next;
	} else if (recs_bump < nr_recs) {
		r = recs_bump++;
	} else {
		heap_full();
	}
	memset(&recs[r], 0, sizeof(recs[r]));
	recs[r].obj = obj;
	recs[r].state = OBJ_NEW;
	recs[r].prev = recs[r].next = NIL;
	recs[r].cpu = -1;
	recs[r].deref_reader = -1;
	index_insert(r);
	return r;
}

static struct shadow_obj *get_rec(const void *obj)
{
	uint32_t r = lookup(obj);

	return &recs[r == NIL ? alloc_rec(obj) : r];
}

static void out_link(struct shadow_obj *o)
{
	uint32_t r = (uint32_t)(o - recs);

	o->prev = out_tail;
	o->next = NIL;
	if (out_tail != NIL)
		recs[out_tail].next = r;
	else
		out_head = r;
	out_tail = r;
	out_count++;
}

static void out_unlink(struct shadow_obj *o)
{
	if (o->prev != NIL)
		recs[o->prev].next = o->next;
	else
		out_head = o->next;
	if (o->next != NIL)
		recs[o->next].prev = o->prev;
	else
		out_tail = o->prev;
	o->prev = o->next = NIL;
	out_count--;
}

static uint32_t round_bits(uint64_t n)
{
	uint32_t bits = 4;

	while ((1ULL << bits) < n)
		bits++;
	return bits;
}

void check_shadow_reset(size_t capacity)
{
	uint32_t want = capacity > UINT32_MAX / 4 ? UINT32_MAX / 4 : (uint32_t)capacity;
	uint32_t want_page_bits = round_bits(2ULL * (want / 2 + 1024));

	if (held_by_this_thread())
		KENV_DIE("checker: check_reset() called from inside the checker");
	if (want != nr_recs) {
		free(recs);
		free(index_slots);
		nr_recs = want;
		index_bits = round_bits(2ULL * want);
		recs = calloc(nr_recs, sizeof(*recs));
		index_slots = calloc(1ULL << index_bits, sizeof(*index_slots));
		if (!recs || !index_slots)
			KENV_DIE("checker: cannot allocate the shadow heap");
		index_gen = 1;
	} else {
		/*
		 * The records need no zeroing: none is read before alloc_rec()
		 * hands it out again, and that zeroes it.
		 */
		index_clear();
	}
	if (want_page_bits != page_bits) {
		free(pages);
		free(pages_scratch);
		page_bits = want_page_bits;
		pages = calloc(1ULL << page_bits, sizeof(*pages));
		pages_scratch = calloc((1ULL << page_bits) / 2, sizeof(*pages_scratch));
		if (!pages || !pages_scratch)
			KENV_DIE("checker: cannot allocate the page owner table");
		page_gen = 1;
		nr_pages_used = 0;
	} else {
		pages_clear();
	}
	recs_bump = 0;
	recs_free = NIL;
	out_head = out_tail = NIL;
	out_count = 0;
	nr_readers = 0;
	nr_barriers = 0;
	gp_started = gp_ended = 0;
	memset(offline_seq, 0, sizeof(offline_seq));
	memset(cpu_offline_now, 0, sizeof(cpu_offline_now));
	misuse_warned = expected_refused = expected_double = expected_headless_atomic = 0;
	memset(pages_owned, 0, sizeof(pages_owned));
	pages_reported = false;
	memset(krc_lock_of, 0, sizeof(krc_lock_of));
	tl_defer_head = tl_defer_tail = 0;
	atomic_store(&deferred_total, 0);
	atomic_store(&shadow_lock_word, 0);
}

/* ---- readers ------------------------------------------------------------- */

static struct shadow_reader *find_reader(int id)
{
	for (unsigned int i = 0; i < nr_readers; i++) {
		if (readers[i].id == id)
			return &readers[i];
	}
	return NULL;
}

/*
 * The active reader that makes freeing @o unsafe: one that dereferenced it
 * (the most direct evidence), else any that began before it was unpublished
 * (or any at all while it is still published).  NULL when none.
 */
static const struct shadow_reader *unsafe_reader(const struct shadow_obj *o)
{
	const struct shadow_reader *found = NULL;

	if (!o->published)
		return NULL;
	for (unsigned int i = 0; i < nr_readers; i++) {
		const struct shadow_reader *r = &readers[i];

		if (o->unpublished && r->begin_seq > o->unpublish_seq)
			continue;
		if (r->id == o->deref_reader && r->begin_seq == o->deref_begin_seq)
			return r;
		if (!found)
			found = r;
	}
	return found;
}

/* ---- the operations ------------------------------------------------------ */

static void op_new(const struct shadow_op *op)
{
	uint32_t r = lookup(op->obj);
	struct shadow_obj *o;

	if (r == NIL) {
		/* A new address: alloc_rec() set the record up as new. */
		o = &recs[alloc_rec(op->obj)];
		o->size = op->size;
		o->vmalloc = op->flag;
		return;
	}
	o = &recs[r];
	if (o->state == OBJ_QUEUED) {
		check_report(INV_EXACTLY_ONCE, op->obj, o->cpu, &op->cs,
			     "allocated again (check_obj_new) while still queued since #%llu "
			     "on cpu%d: it was never freed",
			     (unsigned long long)o->queue_seq, o->cpu);
		out_unlink(o);
	}
	/* Memory reuse: a new object at the same address. Off every list now. */
	memset(o, 0, sizeof(*o));
	o->obj = op->obj;
	o->prev = o->next = NIL;
	o->state = OBJ_NEW;
	o->size = op->size;
	o->vmalloc = op->flag;
	o->cpu = -1;
	o->deref_reader = -1;
}

static void op_queued(const struct shadow_op *op, uint64_t seq)
{
	struct shadow_obj *o = get_rec(op->obj);
	enum check_expect expect = (enum check_expect)op->expect;

	/* An NMI call can only be refused, whatever the driver declared. */
	if ((enum kenv_ctx)op->ctx == KENV_CTX_NMI || op->cs.nmi)
		expect = CHECK_EXPECT_REFUSED;

	switch (expect) {
	case CHECK_EXPECT_REFUSED:
		o->refused = true;
		o->refused_ctx = (uint8_t)op->ctx;
		o->misuse_pending++;
		expected_refused++;
		return;
	case CHECK_EXPECT_DOUBLE:
		if (o->state != OBJ_QUEUED) {
			check_report(INV_MISUSE, op->obj, op->cpu, &op->cs,
				     "a second kvfree_rcu() was declared (CHECK_EXPECT_DOUBLE) but "
				     "the object is %s, not queued", obj_state_names[o->state]);
			return;
		}
		o->double_queued = true;
		o->misuse_pending++;
		expected_double++;
		return;
	case CHECK_EXPECT_FREE:
	default:
		break;
	}

	if (o->state == OBJ_QUEUED) {
		check_report(INV_MISUSE, op->obj, op->cpu, &op->cs,
			     "queued again (CHECK_EXPECT_FREE) while already queued since #%llu on "
			     "cpu%d; a second call must be declared CHECK_EXPECT_DOUBLE",
			     (unsigned long long)o->queue_seq, o->cpu);
		/* Expect what the implementation must do with it: warn and leak. */
		o->double_queued = true;
		o->misuse_pending++;
		expected_double++;
		return;
	}
	if (o->state == OBJ_FREED)
		check_report(INV_MISUSE, op->obj, op->cpu, &op->cs,
			     "queued after it was freed at #%llu by %s, without check_obj_new()",
			     (unsigned long long)o->free_seq, o->how ? o->how : "?");
	o->state = OBJ_QUEUED;
	o->cpu = op->cpu;
	o->ctx = (uint8_t)op->ctx;
	o->headless = op->flag;
	o->expect = CHECK_EXPECT_FREE;
	o->queue_seq = seq;
	o->returned_seq = 0;
	o->queue_ns = op->ns;
	o->free_count = 0;
	o->free_seq = 0;
	o->how = NULL;
	/*
	 * The GP that must end before the free is the first to start after this
	 * point: number gp_started + 1, whether or not one is in progress now
	 * (one in progress may predate readers that can still reach the object).
	 */
	o->gp_started_at_queue = gp_started;
	o->gp_in_progress_at_queue = gp_started != gp_ended;
	out_link(o);
	if (op->flag && !op->cs.preemptible) {
		/* A headless call from atomic context: reported, and counted as misuse. */
		o->misuse_pending++;
		expected_headless_atomic++;
	}
}

/*
 * Compared here rather than with strcmp(): a fuzzing engine intercepts strcmp
 * in every object, instrumented or not, and would take the checker's own
 * comparisons, made for every free, as feedback.
 */
static bool same_str(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static bool is_vfree(const char *how)
{
	return how && same_str(how, "vfree");
}

static bool is_kfree(const char *how)
{
	return how && (same_str(how, "kfree") || same_str(how, "kfree_bulk"));
}

static void op_freed(const struct shadow_op *op, uint64_t seq)
{
	const char *how = op->aux ? op->aux : "?";
	struct shadow_obj *o = get_rec(op->obj);
	const struct shadow_reader *r;

	switch (o->state) {
	case OBJ_FREED:
		o->free_count++;
		check_report(INV_EXACTLY_ONCE, op->obj, o->cpu, &op->cs,
			     "freed %u times: first by %s at #%llu, now again by %s%s",
			     o->free_count, o->how ? o->how : "?", (unsigned long long)o->free_seq,
			     how,
			     o->double_queued ? "\n(it was queued twice: the second kvfree_rcu() "
						"must have been detected and leaked)" : "");
		return;
	case OBJ_QUEUED:
		break;
	default:
		if (o->refused)
			check_report(INV_EXACTLY_ONCE, op->obj, o->cpu, &op->cs,
				     "freed by %s but never queued: its kvfree_rcu() from %s "
				     "context was refused and must have leaked it",
				     how, kenv_ctx_name((enum kenv_ctx)o->refused_ctx));
		else
			check_report(INV_EXACTLY_ONCE, op->obj, o->cpu, &op->cs,
				     "freed by %s but never queued", how);
		o->state = OBJ_FREED;
		o->free_count = 1;
		o->free_seq = seq;
		o->how = how;
		return;
	}

	if (gp_ended < o->gp_started_at_queue + 1)
		check_report(INV_GP_SAFETY, op->obj, o->cpu, &op->cs,
			     "freed by %s after gp_ended=%llu but queued at gp_started=%llu "
			     "(needs gp_ended >= %llu)%s",
			     how, (unsigned long long)gp_ended,
			     (unsigned long long)o->gp_started_at_queue,
			     (unsigned long long)o->gp_started_at_queue + 1,
			     o->gp_in_progress_at_queue ?
			     "\na grace period already in progress when it was queued "
			     "does not count" :
			     "");
	r = unsafe_reader(o);
	if (r) {
		char unpub[64], deref[128];

		if (o->unpublished)
			check_fmt(unpub, sizeof(unpub), "was unpublished at #%llu",
				  (unsigned long long)o->unpublish_seq);
		else
			check_fmt(unpub, sizeof(unpub), "is still published (since #%llu)",
				  (unsigned long long)o->publish_seq);
		if (r->id == o->deref_reader && r->begin_seq == o->deref_begin_seq)
			check_fmt(deref, sizeof(deref),
				  "\nreader %d dereferenced it at #%llu: a use after free",
				  r->id, (unsigned long long)o->deref_seq);
		else
			deref[0] = 0;
		check_report(INV_GP_SAFETY, op->obj, o->cpu, &op->cs,
			     "freed by %s at #%llu while reader %d, inside since #%llu, could "
			     "still reach it: the object %s (reader began at #%llu <= #%llu)%s",
			     how, (unsigned long long)seq, r->id, (unsigned long long)r->begin_seq,
			     unpub, (unsigned long long)r->begin_seq,
			     (unsigned long long)(o->unpublished ? o->unpublish_seq : seq), deref);
	}
	if ((o->vmalloc && is_kfree(how)) || (!o->vmalloc && o->size && is_vfree(how)))
		check_report(INV_EXACTLY_ONCE, op->obj, o->cpu, &op->cs,
			     "a %s object freed by %s: the wrong channel's free function",
			     o->vmalloc ? "vmalloc" : "slab", how);
	out_unlink(o);
	o->state = OBJ_FREED;
	o->free_count = 1;
	o->free_seq = seq;
	o->gp_ended_at_free = gp_ended;
	o->how = how;
}

static void op_reader_deref(const struct shadow_op *op, uint64_t seq)
{
	struct shadow_reader *r = find_reader(op->id);
	uint32_t idx = lookup(op->obj);
	struct shadow_obj *o = idx == NIL ? NULL : &recs[idx];

	if (!r) {
		check_report(INV_GP_SAFETY, op->obj, o ? o->cpu : -1, &op->cs,
			     "reader %d dereferenced the object outside a read-side "
			     "critical section",
			     op->id);
		return;
	}
	if (!o)
		return;
	if (o->state == OBJ_FREED) {
		check_report(INV_GP_SAFETY, op->obj, o->cpu, &op->cs,
			     "reader %d (inside since #%llu) reached the object at #%llu, "
			     "but it was freed at #%llu by %s",
			     op->id, (unsigned long long)r->begin_seq, (unsigned long long)seq,
			     (unsigned long long)o->free_seq, o->how ? o->how : "?");
		return;
	}
	o->deref_reader = op->id;
	o->deref_begin_seq = r->begin_seq;
	o->deref_seq = seq;
}

static void op_misuse_warned(const struct shadow_op *op)
{
	uint32_t idx = op->obj ? lookup(op->obj) : NIL;
	struct shadow_obj *o = idx == NIL ? NULL : &recs[idx];

	misuse_warned++;
	if (!op->obj)
		return;	/* unattributed: only the run's totals are compared */
	if (o && o->misuse_pending) {
		o->misuse_pending--;
		return;
	}
	check_report(INV_MISUSE, op->obj, o ? o->cpu : op->cs.cpu, &op->cs,
		     "the implementation warned \"%s\" about an object no call was expected to "
		     "misuse (object %s)",
		     op->aux ? (const char *)op->aux : "?",
		     o ? obj_state_names[o->state] : "unknown to the checker");
}

static struct shadow_page *page_slot(const void *page, bool insert)
{
	uint32_t mask = (1u << page_bits) - 1;

	for (uint32_t i = hash_ptr(page, page_bits);; i = (i + 1) & mask) {
		struct shadow_page *p = &pages[i];

		if (p->gen != page_gen) {
			if (!insert || nr_pages_used + 1 > (1u << page_bits) / 2)
				return NULL;
			nr_pages_used++;
			*p = (struct shadow_page){ .page = page, .cpu = -1, .gen = page_gen };
			return p;
		}
		if (p->page == page)
			return p;
	}
}

/* Forget the pages no krc owns, to make room in the page table. */
static void compact_pages(void)
{
	uint32_t n = 1u << page_bits, kept = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (pages[i].gen == page_gen && pages[i].cpu >= 0)
			pages_scratch[kept++] = pages[i];
	}
	if (kept + 1 > n / 2)
		KENV_DIE("checker: page owner table full; raise check_set_capacity()");
	pages_clear();
	for (uint32_t i = 0; i < kept; i++)
		page_slot(pages_scratch[i].page, true)->cpu = pages_scratch[i].cpu;
}

static void op_page_owner(const struct shadow_op *op)
{
	const struct kenv_lock *lock = op->aux;
	struct shadow_page *p;
	int cpu = op->cpu;

	pages_reported = true;
	if (cpu >= KENV_NR_CPUS_MAX) {
		check_report(INV_PER_CPU, op->obj, cpu, &op->cs,
			     "page attached to cpu%d, beyond KENV_NR_CPUS_MAX", cpu);
		return;
	}
	p = page_slot(op->obj, cpu >= 0);
	if (!p && cpu >= 0) {
		compact_pages();
		p = page_slot(op->obj, true);
	}
	if (cpu < 0) {
		if (!p || p->cpu < 0) {
			check_report(INV_PER_CPU, op->obj, -1, &op->cs,
				     "page released from krc ownership, but no krc owned it");
			return;
		}
		if (lock && !op->flag)
			check_report(INV_PER_CPU, op->obj, p->cpu, &op->cs,
				     "page of cpu%d released without holding %s",
				     p->cpu, lock->name ? lock->name : "its krc lock");
		pages_owned[p->cpu]--;
		p->cpu = -1;
		return;
	}
	if (p->cpu >= 0) {
		check_report(INV_PER_CPU, op->obj, cpu, &op->cs,
			     "page attached to cpu%d's krc while cpu%d's krc still owns it",
			     cpu, p->cpu);
		pages_owned[p->cpu]--;
		p->cpu = -1;
	}
	if (!lock || !op->flag)
		check_report(INV_PER_CPU, op->obj, cpu, &op->cs,
			     "page attached to cpu%d's krc without holding its lock %s "
			     "(the caller runs on cpu%d)",
			     cpu, lock && lock->name ? lock->name : "(none given)", op->cs.cpu);
	if (lock) {
		if (!krc_lock_of[cpu])
			krc_lock_of[cpu] = lock;
		else if (krc_lock_of[cpu] != lock)
			check_report(INV_PER_CPU, op->obj, cpu, &op->cs,
				     "page attached to cpu%d's krc under lock %p (%s), but earlier "
				     "pages of cpu%d were attached under lock %p (%s)",
				     cpu, (const void *)lock, lock->name ? lock->name : "?", cpu,
				     (const void *)krc_lock_of[cpu],
				     krc_lock_of[cpu]->name ? krc_lock_of[cpu]->name : "?");
	}
	p->cpu = cpu;
	pages_owned[cpu]++;
}

static void apply(const struct shadow_op *op)
{
	uint64_t seq = check_next_seq();
	struct shadow_reader *r;
	struct shadow_obj *o;
	uint32_t idx;

	switch ((enum shadow_op_kind)op->kind) {
	case OP_NEW:
		op_new(op);
		break;
	case OP_PUBLISH:
		o = get_rec(op->obj);
		o->published = true;
		o->unpublished = false;
		o->publish_seq = seq;
		break;
	case OP_UNPUBLISH:
		o = get_rec(op->obj);
		o->unpublished = true;
		o->unpublish_seq = seq;
		break;
	case OP_QUEUED:
		op_queued(op, seq);
		break;
	case OP_RETURNED:
		idx = lookup(op->obj);
		if (idx != NIL && !recs[idx].returned_seq)
			recs[idx].returned_seq = seq;
		break;
	case OP_FREED:
		op_freed(op, seq);
		break;
	case OP_GP_START:
		if (gp_started != gp_ended)
			KENV_DIE("checker: check_gp_started() while a grace period is in progress");
		gp_started++;
		break;
	case OP_GP_END:
		if (gp_started == gp_ended)
			KENV_DIE("checker: check_gp_ended() without a grace period in progress");
		gp_ended++;
		break;
	case OP_READER_BEGIN:
		r = find_reader(op->id);
		if (r) {
			r->depth++;
			break;
		}
		if (nr_readers == MAX_READERS)
			KENV_DIE("checker: more than 256 readers inside at once");
		readers[nr_readers++] = (struct shadow_reader){ .id = op->id, .depth = 1,
								 .begin_seq = seq };
		break;
	case OP_READER_DEREF:
		op_reader_deref(op, seq);
		break;
	case OP_READER_END:
		r = find_reader(op->id);
		if (!r)
			KENV_DIE("checker: check_reader_end() for a reader that is not inside");
		if (--r->depth == 0)
			*r = readers[--nr_readers];
		break;
	case OP_BARRIER_BEGIN:
		if (nr_barriers == MAX_BARRIERS)
			KENV_DIE("checker: more than 16 barriers in progress");
		barriers[nr_barriers++] = (struct shadow_barrier){ .task = op->cs.task,
								    .begin_seq = seq };
		break;
	case OP_CPU_OFFLINE:
		offline_seq[op->cpu] = seq;
		cpu_offline_now[op->cpu] = true;
		break;
	case OP_CPU_ONLINE:
		cpu_offline_now[op->cpu] = false;
		break;
	case OP_MISUSE_WARNED:
		op_misuse_warned(op);
		break;
	case OP_PAGE_OWNER:
		op_page_owner(op);
		break;
	case OP_RCU_WORK_EARLY:
		/* Whatever is queued may be on the batch that runs now: it may leak. */
		for (idx = out_head; idx != NIL; idx = recs[idx].next)
			if (recs[idx].expect == CHECK_EXPECT_FREE)
				recs[idx].expect = CHECK_EXPECT_MAY_LEAK;
		break;
	}
}

/* ---- public hooks -------------------------------------------------------- */

static void run_obj_op(enum shadow_op_kind kind, const void *obj, struct shadow_op *op)
{
	/* kfree(NULL) and friends are no-ops: there is no object to track. */
	if (!obj && kind <= OP_FREED)
		return;
	op->kind = (uint8_t)kind;
	op->obj = obj;
	check_ctx_take(&op->cs);
	need_tables();
	shadow_run(op);
}

void check_obj_new(const void *obj, size_t size, bool vmalloc)
{
	struct shadow_op op = { .size = size, .flag = vmalloc };

	run_obj_op(OP_NEW, obj, &op);
}

void check_obj_publish(const void *obj)
{
	struct shadow_op op = { 0 };

	run_obj_op(OP_PUBLISH, obj, &op);
}

void check_obj_unpublish(const void *obj)
{
	struct shadow_op op = { 0 };

	run_obj_op(OP_UNPUBLISH, obj, &op);
}

void check_obj_queued(const void *obj, int cpu, enum kenv_ctx ctx, bool headless,
		      enum check_expect expect)
{
	struct shadow_op op = { .cpu = cpu, .ctx = (uint8_t)ctx, .flag = headless,
				.expect = (uint8_t)expect, .ns = kenv_clock_ns() };

	run_obj_op(OP_QUEUED, obj, &op);
	/* The call that follows starts with no lock dropped (PER-CPU across a drop). */
	if (obj)
		check_locks_call_begin(op.cs.task);
}

void check_obj_queue_returned(const void *obj)
{
	struct shadow_op op = { 0 };

	run_obj_op(OP_RETURNED, obj, &op);
}

void check_obj_freed(const void *obj, const char *how)
{
	struct shadow_op op = { .aux = how };

	run_obj_op(OP_FREED, obj, &op);
}

void check_rcu_work_early(void)
{
	struct shadow_op op = { 0 };

	check_trace("check: an rcu work runs before its GP: queued objects may leak");
	run_obj_op(OP_RCU_WORK_EARLY, NULL, &op);
}

void check_gp_started(void)
{
	struct shadow_op op = { 0 };

	run_obj_op(OP_GP_START, NULL, &op);
}

void check_gp_ended(void)
{
	struct shadow_op op = { 0 };

	run_obj_op(OP_GP_END, NULL, &op);
}

void check_reader_begin(int id)
{
	struct shadow_op op = { .id = id };

	run_obj_op(OP_READER_BEGIN, NULL, &op);
}

void check_reader_deref(int id, const void *obj)
{
	struct shadow_op op = { .id = id };

	run_obj_op(OP_READER_DEREF, obj, &op);
}

void check_reader_end(int id)
{
	struct shadow_op op = { .id = id };

	run_obj_op(OP_READER_END, NULL, &op);
}

void check_barrier_begin(void)
{
	struct shadow_op op = { 0 };

	run_obj_op(OP_BARRIER_BEGIN, NULL, &op);
}

void check_cpu_offline(int cpu)
{
	struct shadow_op op = { .cpu = cpu };

	if (cpu < 0 || cpu >= KENV_NR_CPUS_MAX)
		KENV_DIE("checker: check_cpu_offline() with a CPU out of range");
	run_obj_op(OP_CPU_OFFLINE, NULL, &op);
}

void check_cpu_online(int cpu)
{
	struct shadow_op op = { .cpu = cpu };

	if (cpu < 0 || cpu >= KENV_NR_CPUS_MAX)
		KENV_DIE("checker: check_cpu_online() with a CPU out of range");
	run_obj_op(OP_CPU_ONLINE, NULL, &op);
}

void check_shadow_misuse_warned(const void *obj, const char *cond)
{
	struct shadow_op op = { .aux = cond };

	run_obj_op(OP_MISUSE_WARNED, obj, &op);
}

/* Whether the current context holds @lock (its check_task's held list). */
static bool task_holds(const struct check_task *t, const struct kenv_lock *lock)
{
	for (unsigned int i = 0; i < t->nr_held && i < CHECK_MAX_HELD; i++) {
		if (t->held[i] == lock)
			return true;
	}
	return false;
}

void check_page_owner(const void *page, int cpu, const struct kenv_lock *krc_lock)
{
	struct shadow_op op = { .cpu = cpu, .aux = krc_lock };

	op.kind = OP_PAGE_OWNER;
	op.obj = page;
	check_ctx_take(&op.cs);
	op.flag = krc_lock && task_holds(op.cs.task, krc_lock);
	if (cpu >= 0)
		check_locks_page_attach(page, cpu, krc_lock, &op.cs);
	need_tables();
	shadow_run(&op);
}

/* ---- barrier end and the queries of the end-of-run checks ---------------- */

/*
 * check_structure.c's, in every program that has an implementation to walk;
 * weak here, so that the shadow does not pull the structural checks into the
 * sim's own unit tests, which link none.
 */
#pragma weak check_structure_where

void check_barrier_end(void)
{
	struct check_ctx cs;
	uint64_t begin = 0;
	unsigned long late = 0;
	char list[1024], where[160];
	size_t len = 0;
	const void *first = NULL;
	int first_cpu = -1;
	bool found = false;

	check_ctx_take(&cs);
	need_tables();
	check_shadow_lock();
	for (unsigned int i = nr_barriers; i-- > 0;) {
		if (barriers[i].task == cs.task) {
			begin = barriers[i].begin_seq;
			barriers[i] = barriers[--nr_barriers];
			found = true;
			break;
		}
	}
	if (!found)
		KENV_DIE("checker: check_barrier_end() without check_barrier_begin() here");
	list[0] = 0;
	/*
	 * The list is in queue order: an object queued after the barrier began
	 * returned after it, and so does every one behind it.
	 */
	for (uint32_t r = out_head; r != NIL && recs[r].queue_seq <= begin; r = recs[r].next) {
		const struct shadow_obj *o = &recs[r];

		if (o->expect != CHECK_EXPECT_FREE || !o->returned_seq || o->returned_seq > begin)
			continue;
		if (!late++) {
			first = o->obj;
			first_cpu = o->cpu;
		}
		if (late <= 4)
			len += check_fmt(list + len, sizeof(list) - len,
					 "\n%p queued on cpu%d at #%llu, call returned at #%llu%s",
					 o->obj, o->cpu, (unsigned long long)o->queue_seq,
					 (unsigned long long)o->returned_seq,
					 o->headless ? " (headless)" : "");
	}
	check_shadow_unlock();
	if (!late)
		return;
	/* Where the implementation keeps the first of them: a walk takes krc locks. */
	if (check_structure_where)
		check_structure_where(first, where, sizeof(where));
	else
		check_fmt(where, sizeof(where), "not looked for (no structure walk here)");
	check_report(INV_BARRIER, first, first_cpu, &cs,
		     "kvfree_rcu_barrier() returned, but %lu object(s) whose kvfree_rcu() "
		     "returned before the barrier began (#%llu) are not freed:%s%s\n"
		     "the first of them, %p, is now %s",
		     late, (unsigned long long)begin, list, late > 4 ? "\n..." : "", first, where);
}

void check_shadow_sums_locked(struct check_shadow_sums *sums)
{
	check_shadow_assert_held();
	memset(sums, 0, sizeof(*sums));
	sums->outstanding = out_count;
	memcpy(sums->pages_owned, pages_owned, sizeof(pages_owned));
	sums->pages_reported = pages_reported;
	memcpy(sums->offline, cpu_offline_now, sizeof(cpu_offline_now));
	sums->expected_refused = expected_refused;
	sums->expected_double = expected_double;
	sums->expected_headless_atomic = expected_headless_atomic;
	sums->misuse_expected = expected_refused + expected_double + expected_headless_atomic;
	sums->misuse_warned = misuse_warned;
	sums->gp_ended = gp_ended;
	for (unsigned int c = 0; c < KENV_NR_CPUS_MAX; c++)
		sums->went_offline += offline_seq[c] != 0;
}

void check_shadow_each_outstanding_locked(bool (*fn)(const struct check_obj_view *v, void *arg),
					  void *arg)
{
	check_shadow_assert_held();
	if (!recs)
		return;
	for (uint32_t r = out_head; r != NIL; r = recs[r].next) {
		const struct shadow_obj *o = &recs[r];
		struct check_obj_view v = {
			.obj = o->obj,
			.cpu = o->cpu,
			.ctx = (enum kenv_ctx)o->ctx,
			.headless = o->headless,
			.expect = (enum check_expect)o->expect,
			.queue_seq = o->queue_seq,
			.returned_seq = o->returned_seq,
			.queue_ns = o->queue_ns,
			.gp_started_at_queue = o->gp_started_at_queue,
			.cpu_went_offline = o->cpu >= 0 && o->cpu < KENV_NR_CPUS_MAX &&
					    offline_seq[o->cpu] > o->queue_seq,
		};

		if (!fn(&v, arg))
			return;
	}
}

/* ---- queries of the structural checks (check_structure.c) ---------------- */

int check_shadow_page_owner_locked(const void *page, bool *reported)
{
	const struct shadow_page *p;

	check_shadow_assert_held();
	*reported = pages_reported;
	if (!pages)
		return -1;
	p = page_slot(page, false);
	return p ? p->cpu : -1;
}

enum check_known check_shadow_obj_known_locked(const void *obj, uint64_t *seq)
{
	uint32_t r;

	check_shadow_assert_held();
	*seq = 0;
	if (!recs || (r = lookup(obj)) == NIL)
		return CHECK_KNOWN_NONE;
	switch (recs[r].state) {
	case OBJ_QUEUED:
		*seq = recs[r].queue_seq;
		return CHECK_KNOWN_QUEUED;
	case OBJ_FREED:
		*seq = recs[r].free_seq;
		return CHECK_KNOWN_FREED;
	default:
		return CHECK_KNOWN_NEW;
	}
}
