/* SPDX-License-Identifier: MIT */
/*
 * env_watchdog.c - the watchdog's scan and the hang dump (checked flavour
 * only).
 *
 * Both read other threads' records without synchronisation, by design: a
 * hung thread cannot cooperate, and a torn read in a report about a hang is
 * better than no report.  Neither allocates.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
 * What the host's scheduler did with a thread (Linux's
 * /proc/self/task/TID/schedstat): nanoseconds on a CPU, and runnable but
 * waiting for one.  A thread that reaches no point for seconds is stuck
 * (on a CPU, or blocked) or starved (waiting for a CPU: a loaded host, a
 * sanitizer's runtime); the two say which.  False where the file is not
 * there (another kernel, a thread that has exited).
 */
struct sched_times {
	uint64_t run_ns, wait_ns;
};

/* Reads up to @size - 1 bytes of /proc/self/task/@tid/@what; no allocation. */
static ssize_t read_task_file(pid_t tid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static const char *parse_u64(const char *s, uint64_t *v)
{
	*v = 0;
	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		*v = *v * 10 + (uint64_t)(*s++ - '0');
	return s;
}

static bool read_sched_times(pid_t tid, struct sched_times *st)
{
	char buf[128];
	const char *s = buf;

	if (tid <= 0 || read_task_file(tid, "schedstat", buf, sizeof(buf)) <= 0)
		return false;
	s = parse_u64(s, &st->run_ns);
	return s && parse_u64(s, &st->wait_ns);
}

/* The thread's state letter (R running or runnable, S sleeping, ...), or '?'. */
static char task_state(pid_t tid)
{
	char buf[512];
	const char *paren;

	if (tid <= 0 || read_task_file(tid, "stat", buf, sizeof(buf)) <= 0)
		return '?';
	/* "tid (comm) S ...": the name may hold spaces and parentheses. */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] ? paren[2] : '?';
}

/*
 * When the watchdog's scan last saw each thread's scheduling points move
 * (posix_watchdog_scan(), every thread, atomic or not), and its scheduler
 * times then, for the dump: a thread that has not reached a point for
 * seconds is stuck or not running at all, whatever it was last seen doing.
 * Generation of the environment they belong to: posix_env_generation.
 */
static uint64_t seen_points[POSIX_MAX_THREADS], seen_ns[POSIX_MAX_THREADS];
static struct sched_times seen_sched[POSIX_MAX_THREADS];
static bool seen_sched_ok[POSIX_MAX_THREADS];
static unsigned int seen_generation;

RACY_READER static void dump_seen(int fd, int i, uint64_t now)
{
	const struct posix_thread *t = &posix_thread_table[i];
	struct sched_times st;

	if (seen_generation != atomic_load(&posix_env_generation) || !seen_ns[i] ||
	    now < seen_ns[i]) {
		posix_fd_printf(fd, "\n");
		return;
	}
	posix_fd_printf(fd, " (moved %llu ms ago",
			(unsigned long long)((now - seen_ns[i]) / 1000000u));
	if (seen_sched_ok[i] && read_sched_times(t->tid, &st) &&
	    st.run_ns >= seen_sched[i].run_ns && st.wait_ns >= seen_sched[i].wait_ns)
		posix_fd_printf(fd, "; since: on a CPU %llu ms, waiting for one %llu ms; state %c",
				(unsigned long long)((st.run_ns - seen_sched[i].run_ns) / 1000000u),
				(unsigned long long)((st.wait_ns - seen_sched[i].wait_ns) / 1000000u),
				task_state(t->tid));
	posix_fd_printf(fd, ")\n");
}

/*
 * posix_starved_ns(): each registered thread's scheduler times and state at
 * the last sample, under starve_lock (the watchdog and a checkpoint's wait
 * both ask).
 *
 * A reclaiming thread found runnable (R) at both ends of an interval wanted
 * a CPU all along: what of the interval it did not spend on one, it was
 * starved.  Any thread found blocked in the host's kernel (D) at both ends
 * was held up by the host (a page fault waiting below a guest, the host's
 * memory management): a flooder there makes no call, a reader there holding
 * the checker's lock stops everyone who takes it next, and none of that is
 * the run's doing.  Anything else counts nothing: a thread that sleeps (S),
 * a hang's kworker or the GP thread between its polls, a flooder waiting for
 * frees, and the short waits of a thread that wakes (Linux accounts a wait
 * for a CPU only once the thread gets one, and R is running as well as
 * runnable: one found R once may just have woken).  A thread on a CPU
 * throughout, spinning, counts nothing either; nor does any other thread
 * found runnable, for the readers, always runnable, would count whenever
 * the flood's own threads keep them off the CPUs.  The figure is the worst
 * thread's in each interval, summed.
 */
#define STARVE_SAMPLE_NS (50 * 1000 * 1000ull)

struct starve_seen {
	uint64_t run_ns;
	char state;
	bool ok;
};

static pthread_mutex_t starve_lock = PTHREAD_MUTEX_INITIALIZER;
static struct starve_seen starve_seen[POSIX_MAX_THREADS];
static _Atomic(uint64_t) starve_total_ns;
static uint64_t starve_sampled_ns;
static unsigned int starve_generation;

RACY_READER static bool reclaims(const struct posix_thread *t)
{
	return t->role == POSIX_ROLE_KWORKER || t->role == POSIX_ROLE_ENV;
}

RACY_READER uint64_t posix_starved_ns(void)
{
	uint64_t now = kenv_clock_ns(), dt, worst = 0, total;

	/* Another caller samples now: its figure will do (and a hang report never waits). */
	if (pthread_mutex_trylock(&starve_lock))
		return atomic_load(&starve_total_ns);
	if (starve_generation != atomic_load(&posix_env_generation)) {
		/* New threads, and a clock that starts again from 0. */
		starve_generation = atomic_load(&posix_env_generation);
		memset(starve_seen, 0, sizeof(starve_seen));
		starve_sampled_ns = now;
	}
	dt = now - starve_sampled_ns;
	if (now >= starve_sampled_ns && dt < STARVE_SAMPLE_NS) {
		pthread_mutex_unlock(&starve_lock);
		return atomic_load(&starve_total_ns);
	}
	for (int i = 0; i < posix_nr_threads(); i++) {
		const struct posix_thread *t = &posix_thread_table[i];
		struct starve_seen *seen = &starve_seen[i];
		struct sched_times st;
		char state;

		/*
		 * The caller runs: it would read R with little time on a CPU.  A
		 * thread in no state that counts needs no schedstat read.
		 */
		state = t == posix_me ? 0 : task_state(t->tid);
		if ((state != 'D' && (state != 'R' || !reclaims(t))) ||
		    !read_sched_times(t->tid, &st)) {
			seen->ok = false;
			continue;
		}
		if (seen->ok && now > starve_sampled_ns && st.run_ns >= seen->run_ns &&
		    state == seen->state &&
		    dt > st.run_ns - seen->run_ns && dt - (st.run_ns - seen->run_ns) > worst)
			worst = dt - (st.run_ns - seen->run_ns);
		seen->run_ns = st.run_ns;
		seen->state = state;
		seen->ok = true;
	}
	total = atomic_fetch_add(&starve_total_ns, worst) + worst;
	starve_sampled_ns = now;
	pthread_mutex_unlock(&starve_lock);
	return total;
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
	posix_fd_printf(fd, "held up by the host (reclaiming threads starved, threads blocked in "
			"its kernel): %llu ms in all\n",
			(unsigned long long)(atomic_load(&starve_total_ns) / 1000000u));
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
		memset(seen_sched_ok, 0, sizeof(seen_sched_ok));
		seen_generation = generation;
	}
	for (int i = 0; i < posix_nr_threads(); i++) {
		const struct posix_thread *t = &posix_thread_table[i];
		uint64_t points = atomic_load(&t->points);

		if (points != seen_points[i] || !seen_ns[i] || now < seen_ns[i]) {
			seen_points[i] = points;
			seen_ns[i] = now;
			seen_sched_ok[i] = read_sched_times(t->tid, &seen_sched[i]);
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
