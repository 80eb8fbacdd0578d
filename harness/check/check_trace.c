/* SPDX-License-Identifier: MIT */
/*
 * check_trace.c - the event trace: a fixed ring for reports and a hash of
 * every event for determinism checks.
 *
 * Events are recorded, not formatted: a slot holds the call site (its format)
 * and the raw argument words (check.h); check_fmt_words() makes the text only
 * when a report, a tail or a dump reads the ring.  Formatting every event had
 * cost about half of a fuzz input's time.
 *
 * Lock-free so that any context (an NMI handler included) may trace:
 *   - an event is folded into the hash with a CAS loop.  In the
 *     single-threaded simulation that is a plain sequential fold, so the hash
 *     is a function of the event sequence; with real threads the order, and
 *     so the hash, is whatever the run did;
 *   - a writer takes a position with a fetch_add on trace_pos; its slot is a
 *     seqlock whose version is odd while written and 2 * (pos + 1) once it
 *     holds event pos.  The writer claims the slot with a CAS that succeeds
 *     only from an even version older than its own, so two writers a ring
 *     apart (one preempted mid-event) never write it together and an older
 *     event never overwrites a newer one: the loser's event is dropped from
 *     the ring (not from the hash).  The words are atomics, so a reader
 *     racing a writer reads a torn copy at worst, which the version check
 *     then discards;
 *   - a call site's kind and shape are worked out by its first event and
 *     published with a release store: concurrent first events compute the
 *     same values, so whichever store lands is right;
 *   - on one thread (check_set_one_thread()) the claims are plain stores.
 * Rendered text longer than a slot's TRACE_TEXT is truncated (as before the
 * ring held words; the hash never depended on it).
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "check_fmt.h"
#include "check_internal.h"

#define TRACE_SLOTS 256
#define TRACE_TEXT 128

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

_Static_assert((TRACE_SLOTS & (TRACE_SLOTS - 1)) == 0, "TRACE_SLOTS must be a power of two");
_Static_assert(CHECK_TRACE_ARGS <= 8, "a site's shape keeps string bits for 8 arguments");

struct trace_slot {
	_Atomic(uint64_t) ver;	/* odd: being written; 2 * (pos + 1): holds event pos */
	_Atomic(uint64_t) seq;	/* the event's number in check_seq */
	_Atomic(uintptr_t) site;	/* the struct check_trace_site of its call site */
	_Atomic(uint64_t) words[CHECK_TRACE_ARGS];
};

/* A site's shape: the number of arguments, and bit 8 + i for a string argument i. */
#define SHAPE_NARGS(shape) ((shape) & 0xffu)
#define SHAPE_IS_STR(shape, i) (((shape) >> (8 + (i))) & 1u)

_Atomic(uint64_t) check_seq;
static struct trace_slot trace_ring[TRACE_SLOTS];
static _Atomic(uint64_t) trace_pos;
static _Atomic(uint64_t) trace_hash = FNV_OFFSET;
static bool trace_hash_on = true;

/*
 * The hashes of recently traced strings, by address: a string argument lives
 * and stays as it is for the whole run (check.h), and most events name one
 * of a few.  One thread only: a {pointer, hash} pair is two words, which real
 * threads could tear.
 */
#define STR_CACHE 64
static struct {
	const char *s;
	uint64_t hash;
} str_cache[STR_CACHE];

void check_trace_reset(void)
{
	/*
	 * Relaxed: a reset runs on a quiescent system, before any other thread
	 * or handler uses the checker again (thread creation orders it).
	 */
	atomic_store_explicit(&check_seq, 0, memory_order_relaxed);
	atomic_store_explicit(&trace_pos, 0, memory_order_relaxed);
	atomic_store_explicit(&trace_hash, FNV_OFFSET, memory_order_relaxed);
	for (unsigned int i = 0; i < TRACE_SLOTS; i++) {
		atomic_store_explicit(&trace_ring[i].ver, 0, memory_order_relaxed);
	}
	/* A string of the last run may share an address with one of the next. */
	memset(str_cache, 0, sizeof(str_cache));
}

/* Always inlined: a sanitizer build would call them otherwise (see SIM_HOT). */
#define TRACE_HOT static inline __attribute__((always_inline))

TRACE_HOT uint64_t fold_word(uint64_t h, uint64_t w)
{
	return (h ^ w) * FNV_PRIME;
}

/*
 * A string's hash: its bytes, eight per multiply, gathered a byte at a time
 * (no strlen() or memcpy(), which sanitizers intercept at a price higher than
 * the event's), closed by the length, so "ab" + "c" and "a" + "bc" differ.
 */
static uint64_t str_hash(const char *s)
{
	uint64_t h = FNV_OFFSET, w = 0, n = 0;

	if (!s)
		s = "(null)";
	for (; *s; s++, n++) {
		w |= (uint64_t)(unsigned char)*s << (8 * (n & 7));
		if ((n & 7) == 7) {
			h = fold_word(h, w);
			w = 0;
		}
	}
	return fold_word(h, w ^ (n << 56) ^ 0xff);
}

static uint64_t fold_str(uint64_t h, const char *s)
{
	unsigned int i = ((uintptr_t)s >> 3) % STR_CACHE;

	if (!check_one_thread)
		return fold_word(h, str_hash(s));
	if (str_cache[i].s != s || !s) {
		str_cache[i].s = s;
		str_cache[i].hash = str_hash(s);
	}
	return fold_word(h, str_cache[i].hash);
}

/* The first event of a call site: its kind (a hash of the format) and shape. */
static uint64_t site_learn(struct check_trace_site *site, uint32_t *shape)
{
	uint32_t strs;
	unsigned int n = check_fmt_args(site->fmt, &strs);
	uint64_t kind = str_hash(site->fmt);

	if (n > CHECK_TRACE_ARGS)
		n = CHECK_TRACE_ARGS;
	*shape = n | (strs & ((1u << CHECK_TRACE_ARGS) - 1)) << 8;
	if (!kind)
		kind = 1;	/* 0 means "not learnt yet" */
	atomic_store_explicit(&site->shape, *shape, memory_order_relaxed);
	/* Publishes the shape: pairs with the acquire load in check_trace_event_(). */
	atomic_store_explicit(&site->kind, kind, memory_order_release);
	return kind;
}

/* Fold argument @i, the word @w, if the site has it. */
TRACE_HOT uint64_t fold_arg(uint64_t h, uint32_t shape, unsigned int i, uint64_t w)
{
	if (i >= SHAPE_NARGS(shape))
		return h;
	return SHAPE_IS_STR(shape, i) ? fold_str(h, (const char *)(uintptr_t)w) : fold_word(h, w);
}

void check_trace_event_(struct check_trace_site *site, uint64_t a0, uint64_t a1, uint64_t a2,
			uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t pos = check_fetch_add_relaxed(&trace_pos, 1);
	struct trace_slot *slot = &trace_ring[pos & (TRACE_SLOTS - 1)];
	uint64_t seq = check_next_seq();
	uint64_t kind = atomic_load_explicit(&site->kind, memory_order_acquire);
	uint64_t old, h, ev, v;
	uint32_t shape;

	if (kind)
		shape = atomic_load_explicit(&site->shape, memory_order_relaxed);
	else
		kind = site_learn(site, &shape);

	if (!trace_hash_on)
		goto record;
	/*
	 * The event's own hash first, then one fold into the chain: the CAS
	 * loop (real threads) only redoes that fold.  Arguments one by one,
	 * without an array: a sanitizer build would give one redzones.
	 */
	ev = fold_word(FNV_OFFSET, kind);
	ev = fold_arg(ev, shape, 0, a0);
	ev = fold_arg(ev, shape, 1, a1);
	ev = fold_arg(ev, shape, 2, a2);
	ev = fold_arg(ev, shape, 3, a3);
	ev = fold_arg(ev, shape, 4, a4);
	ev = fold_arg(ev, shape, 5, a5);
	_Static_assert(CHECK_TRACE_ARGS == 6, "check_trace_event_() takes six words");
	old = atomic_load_explicit(&trace_hash, memory_order_relaxed);
	if (check_one_thread) {
		atomic_store_explicit(&trace_hash, fold_word(old, ev), memory_order_relaxed);
	} else {
		do {
			h = fold_word(old, ev);
		} while (!atomic_compare_exchange_weak_explicit(&trace_hash, &old, h,
								memory_order_relaxed,
								memory_order_relaxed));
	}
record:
	if (check_one_thread) {
		/* Nothing else writes: the slot is this event's. */
		atomic_store_explicit(&slot->ver, 2 * pos + 1, memory_order_relaxed);
	} else {
		v = atomic_load_explicit(&slot->ver, memory_order_relaxed);
		if ((v & 1) || v >= 2 * pos + 1 ||
		    !atomic_compare_exchange_strong_explicit(&slot->ver, &v, 2 * pos + 1,
							     memory_order_relaxed,
							     memory_order_relaxed))
			return;
	}
	/* Readers must see the odd version before any word of the new event. */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&slot->seq, seq, memory_order_relaxed);
	atomic_store_explicit(&slot->site, (uintptr_t)site, memory_order_relaxed);
	atomic_store_explicit(&slot->words[0], a0, memory_order_relaxed);
	atomic_store_explicit(&slot->words[1], a1, memory_order_relaxed);
	atomic_store_explicit(&slot->words[2], a2, memory_order_relaxed);
	atomic_store_explicit(&slot->words[3], a3, memory_order_relaxed);
	atomic_store_explicit(&slot->words[4], a4, memory_order_relaxed);
	atomic_store_explicit(&slot->words[5], a5, memory_order_relaxed);
	/* Publishes the event: pairs with the acquire load in read_slot(). */
	atomic_store_explicit(&slot->ver, 2 * (pos + 1), memory_order_release);
}

uint64_t check_trace_hash(void)
{
	return trace_hash_on ? atomic_load(&trace_hash) : 0;
}

void check_set_trace_hash(bool on)
{
	trace_hash_on = on;
}

/*
 * Render event @pos into @text (TRACE_TEXT bytes) if the ring still holds it
 * intact; false otherwise.  The words are copied and checked against the
 * version before they are rendered (a string argument lives for the run).
 */
static bool read_slot(uint64_t pos, uint64_t *seq, char *text)
{
	struct trace_slot *slot = &trace_ring[pos & (TRACE_SLOTS - 1)];
	uint64_t v = atomic_load_explicit(&slot->ver, memory_order_acquire);
	uint64_t words[CHECK_TRACE_ARGS];
	const struct check_trace_site *site;

	if (v != 2 * (pos + 1))
		return false;
	*seq = atomic_load_explicit(&slot->seq, memory_order_relaxed);
	site = (const struct check_trace_site *)atomic_load_explicit(&slot->site,
								     memory_order_relaxed);
	for (unsigned int i = 0; i < CHECK_TRACE_ARGS; i++)
		words[i] = atomic_load_explicit(&slot->words[i], memory_order_relaxed);
	/* The copy must be complete before the version is checked again. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&slot->ver, memory_order_relaxed) != v)
		return false;
	check_fmt_words(text, TRACE_TEXT, site->fmt, words, CHECK_TRACE_ARGS);
	return true;
}

size_t check_trace_tail(char *buf, size_t size, unsigned int n)
{
	uint64_t end = atomic_load(&trace_pos);
	uint64_t start = end > n ? end - n : 0;
	char text[TRACE_TEXT];
	size_t len = 0;
	uint64_t seq;

	if (end == 0)
		return check_fmt(buf, size, "    (none)\n");
	for (uint64_t pos = start; pos < end && len + 1 < size; pos++) {
		if (read_slot(pos, &seq, text))
			len += check_fmt(buf + len, size - len, "    #%llu %s\n",
					 (unsigned long long)seq, text);
		else
			len += check_fmt(buf + len, size - len, "    (event being written)\n");
	}
	return len;
}

void check_trace_dump(int fd)
{
	uint64_t end = atomic_load(&trace_pos);
	uint64_t start = end > TRACE_SLOTS ? end - TRACE_SLOTS : 0;
	char line[TRACE_TEXT + 32];
	char text[TRACE_TEXT];
	uint64_t seq;

	for (uint64_t pos = start; pos < end; pos++) {
		size_t n;

		if (!read_slot(pos, &seq, text))
			continue;
		n = check_fmt(line, sizeof(line), "#%llu %s\n", (unsigned long long)seq, text);
		for (const char *p = line; n;) {
			ssize_t w = write(fd, p, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			p += w;
			n -= (size_t)w;
		}
	}
}
