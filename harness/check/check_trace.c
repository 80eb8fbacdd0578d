/* SPDX-License-Identifier: MIT */
/*
 * check_trace.c - the event trace: a fixed ring for reports and an FNV-1a hash
 * of every event for determinism checks.
 *
 * Lock-free so that any context (an NMI handler included) may trace:
 *   - an event is formatted into the writer's own buffer and folded into the
 *     hash with a CAS loop.  In the single-threaded simulation that is a
 *     plain sequential fold, so the hash is a function of the event sequence;
 *     with real threads the order, and so the hash, is whatever the run did;
 *   - a writer takes a position with a fetch_add on trace_pos; its slot is a
 *     seqlock whose version is odd while written and 2 * (pos + 1) once it
 *     holds event pos.  The writer claims the slot with a CAS that succeeds
 *     only from an even version older than its own, so two writers a ring
 *     apart (one preempted mid-event) never write it together and an older
 *     event never overwrites a newer one: the loser's text is dropped from the
 *     ring (not from the hash).  Text is stored as atomic words, so a reader
 *     racing a writer reads a torn copy at worst, which the version check
 *     then discards.
 * An event longer than a slot is truncated, and hashed as truncated.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "check_fmt.h"
#include "check_internal.h"

#define TRACE_SLOTS 256
#define TRACE_TEXT 128
#define TRACE_WORDS (TRACE_TEXT / 8)

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

_Static_assert((TRACE_SLOTS & (TRACE_SLOTS - 1)) == 0, "TRACE_SLOTS must be a power of two");
_Static_assert(TRACE_TEXT % 8 == 0, "trace text is stored in 8-byte words");

struct trace_slot {
	_Atomic(uint64_t) ver;	/* odd: being written; 2 * (pos + 1): holds event pos */
	_Atomic(uint64_t) seq;	/* the event's number in check_seq */
	_Atomic(uint64_t) words[TRACE_WORDS];
};

_Atomic(uint64_t) check_seq;
static struct trace_slot trace_ring[TRACE_SLOTS];
static _Atomic(uint64_t) trace_pos;
static _Atomic(uint64_t) trace_hash = FNV_OFFSET;

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
}

/*
 * FNV-1a, folded eight bytes per multiply rather than one: the byte-wise
 * chain (a multiply's latency per byte) cost as much as formatting the event.
 * The hash only has to be a deterministic function of the event texts.
 */
static uint64_t fnv_fold(uint64_t h, const char *s, size_t n)
{
	uint64_t w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h ^= w;
		h *= FNV_PRIME;
	}
	w = 0;
	memcpy(&w, s, n);
	/* The length closes the event, so "ab" + "c" and "a" + "bc" differ. */
	h ^= w ^ ((uint64_t)n << 56) ^ 0xff;
	return h * FNV_PRIME;
}

void check_trace(const char *fmt, ...)
{
	uint64_t pos = atomic_fetch_add_explicit(&trace_pos, 1, memory_order_relaxed);
	struct trace_slot *slot = &trace_ring[pos & (TRACE_SLOTS - 1)];
	uint64_t seq = check_next_seq();
	uint64_t words[TRACE_WORDS];
	uint64_t old, h, v;
	char *text = (char *)words;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = check_vfmt(text, TRACE_TEXT, fmt, ap);
	va_end(ap);
	memset(text + n, 0, TRACE_TEXT - n);

	old = atomic_load_explicit(&trace_hash, memory_order_relaxed);
	do {
		h = fnv_fold(old, text, n);
	} while (!atomic_compare_exchange_weak_explicit(&trace_hash, &old, h,
							memory_order_relaxed,
							memory_order_relaxed));

	v = atomic_load_explicit(&slot->ver, memory_order_relaxed);
	if ((v & 1) || v >= 2 * pos + 1 ||
	    !atomic_compare_exchange_strong_explicit(&slot->ver, &v, 2 * pos + 1,
						     memory_order_relaxed, memory_order_relaxed))
		return;
	/* Readers must see the odd version before any word of the new text. */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&slot->seq, seq, memory_order_relaxed);
	for (unsigned int i = 0; i < TRACE_WORDS; i++)
		atomic_store_explicit(&slot->words[i], words[i], memory_order_relaxed);
	/* Publishes the text: pairs with the acquire load in read_slot(). */
	atomic_store_explicit(&slot->ver, 2 * (pos + 1), memory_order_release);
}

uint64_t check_trace_hash(void)
{
	return atomic_load(&trace_hash);
}

/* Copy event @pos if the ring still holds it intact; false otherwise. */
static bool read_slot(uint64_t pos, uint64_t *seq, char *text)
{
	struct trace_slot *slot = &trace_ring[pos & (TRACE_SLOTS - 1)];
	uint64_t v = atomic_load_explicit(&slot->ver, memory_order_acquire);
	uint64_t words[TRACE_WORDS];

	if (v != 2 * (pos + 1))
		return false;
	*seq = atomic_load_explicit(&slot->seq, memory_order_relaxed);
	for (unsigned int i = 0; i < TRACE_WORDS; i++)
		words[i] = atomic_load_explicit(&slot->words[i], memory_order_relaxed);
	/* The copy must be complete before the version is checked again. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&slot->ver, memory_order_relaxed) != v)
		return false;
	memcpy(text, words, TRACE_TEXT);
	text[TRACE_TEXT - 1] = 0;
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
