/* SPDX-License-Identifier: MIT */
/*
 * env_watchdog.c - the watchdog's scan and the hang dump (checked flavour
 * only).
 *
 * Both read other threads' records without synchronisation, by design: a
 * hung thread cannot cooperate, and a torn read in a report about a hang is
 * better than no report.  Neither allocates.
 */
#include <string.h>

#include "env_internal.h"

#if !POSIX_CHECKED
#error "env_watchdog.c belongs to the checked flavour only"
#endif

#ifdef POSIX_TSAN
/* ThreadSanitizer's dynamic annotations (its runtime has them, clang's and gcc's). */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#endif

void posix_race_checks_off(void)
{
#ifdef POSIX_TSAN
	AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
	AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
#endif
}

void posix_race_checks_on(void)
{
#ifdef POSIX_TSAN
	AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
	AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#endif
}

/* The context of @t's frame @d, in range even if the record is torn. */
RACY_READER static const char *frame_ctx_name(const struct posix_thread *t, int d)
{
	return posix_ctx_name((enum kenv_ctx)(t->frames[d].ctx % KENV_CTX_NR));
}

RACY_READER static void dump_locks(int fd, const struct posix_thread *t, int depth)
{
	for (int d = 0; d < depth; d++) {
		const struct check_task *ct = &t->frames[d].ct;
		unsigned int n = ct->nr_held < CHECK_MAX_HELD ? ct->nr_held : CHECK_MAX_HELD;

		for (unsigned int k = 0; k < n; k++)
			if (ct->held[k])
				posix_fd_printf(fd, "    holds %s (frame %s)\n",
						ct->held[k]->name ? ct->held[k]->name : "?",
						frame_ctx_name(t, d));
		if (t->frames[d].nr_locks && !n)
			posix_fd_printf(fd, "    %u raw lock(s) held in frame %s\n",
					t->frames[d].nr_locks, frame_ctx_name(t, d));
	}
}

/* The thread and frame whose owner tag @w is (checked flavour: a frame), or none. */
RACY_READER static void dump_holder(int fd, uintptr_t w)
{
	for (int i = 0; i < posix_nr_threads(); i++) {
		const struct posix_thread *h = &posix_thread_table[i];

		for (int d = 0; d < POSIX_MAX_FRAMES; d++)
			if (w == (uintptr_t)&h->frames[d]) {
				posix_fd_printf(fd, "held by %s (frame %d, %s)\n", h->name, d,
						frame_ctx_name(h, d));
				return;
			}
	}
	posix_fd_printf(fd, "%s\n", w ? "held by no registered thread's frame" : "free now");
}

RACY_READER static void dump_spin(int fd, const struct posix_thread *t)
{
	const struct kenv_lock *lock = atomic_load_explicit(&((struct posix_thread *)t)->spins_on,
							     memory_order_relaxed);
	uintptr_t w;

	if (!lock)
		return;
	w = atomic_load_explicit(&((struct kenv_lock *)lock)->word, memory_order_relaxed);
	posix_fd_printf(fd, "    spins on %s: ", lock->name ? lock->name : "?");
	dump_holder(fd, w);
}

/* Who holds the checker's own lock: threads spin on it without a scheduling point. */
RACY_READER static void dump_checker_lock(int fd)
{
	uintptr_t holder = check_lock_holder_token();

	posix_fd_printf(fd, "checker lock: ");
	if (!holder) {
		posix_fd_printf(fd, "free\n");
		return;
	}
	/*
	 * Newest first: a token is the address of a thread-local, which a
	 * thread started after another exited may reuse.
	 */
	for (int i = posix_nr_threads() - 1; i >= 0; i--)
		if (posix_thread_table[i].check_token == holder) {
			posix_fd_printf(fd, "held by %s\n", posix_thread_table[i].name);
			return;
		}
	posix_fd_printf(fd, "held by an unregistered thread\n");
}

/*
 * When the watchdog's scan last saw each thread's scheduling points move
 * (posix_watchdog_scan(), every thread, atomic or not), for the dump: a
 * thread that has not reached a point for seconds is stuck or not running
 * at all, whatever it was last seen doing.  Generation of the environment
 * they belong to: posix_env_generation.
 */
static uint64_t seen_points[POSIX_MAX_THREADS], seen_ns[POSIX_MAX_THREADS];
static unsigned int seen_generation;

RACY_READER static void dump_seen(int fd, int i, uint64_t now)
{
	if (seen_generation != atomic_load(&posix_env_generation) || !seen_ns[i] ||
	    now < seen_ns[i])
		posix_fd_printf(fd, "\n");
	else
		posix_fd_printf(fd, " (moved %llu ms ago)\n",
				(unsigned long long)((now - seen_ns[i]) / 1000000u));
}

RACY_READER void posix_dump_threads(int fd)
{
	uint64_t now = kenv_clock_ns();

	posix_fd_printf(fd, "--- threads (%d registered) ---\n", posix_nr_threads());
	for (int i = 0; i < posix_nr_threads(); i++) {
		const struct posix_thread *t = &posix_thread_table[i];
		const char *site = atomic_load(&t->last_site);
		int depth = t->depth;

		if (depth < 1 || depth > POSIX_MAX_FRAMES)
			depth = 1;
		posix_fd_printf(fd, "%-20s cpu=%d ctx=%s irqs=%s preempt=%u bh=%u rcu=%u points=%llu last=%s",
				t->name, atomic_load(&t->cpu), frame_ctx_name(t, depth - 1),
				t->irq_off ? "off" : "on", t->preempt, t->bh, t->rcu_nest,
				(unsigned long long)atomic_load(&t->points), site ? site : "-");
		dump_seen(fd, i, now);
		dump_locks(fd, t, depth);
		dump_spin(fd, t);
		posix_dump_thread_work(fd, t);
	}
	posix_fd_printf(fd, "--- work on the inboxes ---\n");
	posix_dump_inboxes(fd);
	posix_fd_printf(fd, "--- grace periods ---\n");
	posix_dump_rcu(fd);
	posix_fd_printf(fd, "--- locks outside the implementation ---\n");
	posix_dump_page_lock(fd);
	dump_checker_lock(fd);
}

/* Whether @t is atomic now: irqs, preemption or bh off, a raw lock held, or in a handler. */
RACY_READER static bool looks_atomic(const struct posix_thread *t)
{
	int depth = t->depth;

	if (t->irq_off || t->preempt || t->bh)
		return true;
	if (depth < 1 || depth > POSIX_MAX_FRAMES)
		return false;
	for (int d = 0; d < depth; d++)
		if (t->frames[d].nr_locks || t->frames[d].ctx == KENV_CTX_SOFTIRQ ||
		    t->frames[d].ctx == KENV_CTX_HARDIRQ || t->frames[d].ctx == KENV_CTX_NMI)
			return true;
	return false;
}

RACY_READER int posix_watchdog_scan(uint64_t bound_ns)
{
	/* Since when each thread has stayed atomic without reaching a point. */
	static uint64_t atomic_since[POSIX_MAX_THREADS];
	static unsigned int generation;
	uint64_t now = kenv_clock_ns();

	/*
	 * A new start of the environment (the next phase of a run) has new
	 * threads in the table and a clock that starts again from 0: what was
	 * seen of the old ones says nothing.
	 */
	if (generation != atomic_load(&posix_env_generation)) {
		generation = atomic_load(&posix_env_generation);
		memset(atomic_since, 0, sizeof(atomic_since));
		memset(seen_points, 0, sizeof(seen_points));
		memset(seen_ns, 0, sizeof(seen_ns));
		seen_generation = generation;
	}
	for (int i = 0; i < posix_nr_threads(); i++) {
		const struct posix_thread *t = &posix_thread_table[i];
		uint64_t points = atomic_load(&t->points);

		if (points != seen_points[i] || !seen_ns[i] || now < seen_ns[i]) {
			seen_points[i] = points;
			seen_ns[i] = now;
			atomic_since[i] = now;
			continue;
		}
		if (!looks_atomic(t) || now < atomic_since[i]) {
			atomic_since[i] = now;
			continue;
		}
		if (now - atomic_since[i] > bound_ns)
			return i;
	}
	return -1;
}

void posix_points_snapshot(uint64_t *points)
{
	int n = posix_nr_threads();

	for (int i = 0; i < POSIX_MAX_THREADS; i++)
		points[i] = i < n ? atomic_load(&posix_thread_table[i].points) : 0;
}

RACY_READER int posix_stuck_since(const uint64_t *points)
{
	for (int i = 0; i < posix_nr_threads(); i++) {
		const struct posix_thread *t = &posix_thread_table[i];

		if (atomic_load(&t->points) == points[i] && looks_atomic(t))
			return i;
	}
	return -1;
}
