/* SPDX-License-Identifier: MIT */
/*
 * check.c - run lifecycle, invariant names and the violation report path.
 *
 * The report path is lock-free and allocation-free: a report is formatted with
 * check_fmt into a per-thread buffer (one per nesting level, so a signal
 * handler reporting while its thread is in the middle of a report gets its own)
 * and written to fd 2 with write(2).  The first violation of the run is kept
 * for check_violated(): the thread that wins a CAS on first_inv copies its text
 * into first_report and then publishes it with first_ready.
 */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "check_fmt.h"
#include "check_internal.h"

#define REPORT_MAX 8192
#define REPORT_MSG_MAX 2048
#define REPORT_NEST 3
#define REPORT_TRACE_EVENTS 32
#define REPRO_MAX 512

static const char *const inv_names[INV_NR] = {
	[INV_GP_SAFETY] = "GP-SAFETY",
	[INV_EXACTLY_ONCE] = "EXACTLY-ONCE",
	[INV_BARRIER] = "BARRIER",
	[INV_NO_ALLOC_ATOMIC] = "NO-ALLOC-ATOMIC",
	[INV_LOCKING] = "LOCKING",
	[INV_PROGRESS] = "PROGRESS",
	[INV_BOUNDED] = "BOUNDED",
	[INV_ACCOUNTING] = "ACCOUNTING",
	[INV_PER_CPU] = "PER-CPU",
	[INV_HOTPLUG] = "HOTPLUG",
	[INV_MISUSE] = "MISUSE",
};

const char *check_inv_name(enum check_inv inv)
{
	if ((unsigned int)inv >= INV_NR)
		return NULL;
	return inv_names[inv];
}

bool check_inv_parse(const char *name, enum check_inv *inv)
{
	if (!name)
		return false;
	for (unsigned int i = 0; i < INV_NR; i++) {
		if (strcmp(name, inv_names[i]) == 0) {
			*inv = (enum check_inv)i;
			return true;
		}
	}
	return false;
}

/* ---- configuration: written in sleep context, read anywhere -------------- */

static _Atomic(int) check_mode_now = CHECK_ABORT;
static _Atomic(bool) check_quiet_now;
static void (*_Atomic check_abort_hook_fn)(enum check_inv inv, const char *report);
/* Written by check_set_repro() only, before the run (sleep context). */
static char check_repro[REPRO_MAX];
static size_t check_capacity = 65536;

void check_set_repro(const char *cmd)
{
	check_fmt(check_repro, sizeof(check_repro), "%s", cmd ? cmd : "");
}

void check_set_mode(enum check_mode mode)
{
	atomic_store(&check_mode_now, (int)mode);
}

bool check_one_thread;

void check_set_one_thread(bool one)
{
	check_one_thread = one;
}

void check_set_quiet(bool quiet)
{
	atomic_store(&check_quiet_now, quiet);
}

void check_set_abort_hook(void (*hook)(enum check_inv inv, const char *report))
{
	atomic_store(&check_abort_hook_fn, hook);
}

void check_set_capacity(size_t objs)
{
	check_capacity = objs ? objs : 1;
}

void check_reset(void)
{
	check_report_reset();
	check_trace_reset();
	check_locks_reset();
	check_shadow_reset(check_capacity);
}

/* ---- the calling context ------------------------------------------------- */

/*
 * A thread the environment does not know (check_current() returns NULL) still
 * needs a record for the lock checker; a thread-local one keeps threads apart.
 */
static _Thread_local struct check_task check_unknown_task = { .name = "unregistered" };

__attribute__((weak)) void check_env_context(struct check_ctx *cs)
{
	cs->task = check_current();
	cs->cpu = kenv_cpu();
	cs->ctx = kenv_context();
	cs->nmi = kenv_in_nmi();
	cs->hardirq = kenv_in_hardirq();
	cs->softirq = kenv_in_softirq();
	cs->irqs_off = kenv_irqs_disabled();
	cs->preemptible = kenv_preemptible();
}

void check_ctx_take(struct check_ctx *cs)
{
	check_env_context(cs);
	if (!cs->task)
		cs->task = &check_unknown_task;
}

struct check_task *check_task_take(void)
{
	struct check_task *t = check_current();

	return t ? t : &check_unknown_task;
}

/* ---- violations ---------------------------------------------------------- */

static _Atomic(unsigned long) check_counts[INV_NR];
static _Atomic(int) first_inv = INV_NR;
static _Atomic(bool) first_ready;
static char first_report[REPORT_MAX];	/* written once, by the first_inv CAS winner */
static _Atomic(bool) check_aborting;
/* This thread runs the abort: its own nested reports just return. */
static _Thread_local bool check_i_abort;

struct report_buf {
	char msg[REPORT_MSG_MAX];
	char text[REPORT_MAX];
};
static _Thread_local struct report_buf report_bufs[REPORT_NEST];
static _Thread_local unsigned int report_nest;

void check_report_reset(void)
{
	for (unsigned int i = 0; i < INV_NR; i++)
		atomic_store(&check_counts[i], 0);
	atomic_store(&first_ready, false);
	atomic_store(&first_inv, INV_NR);
	first_report[0] = 0;
}

enum check_inv check_violated(const char **report)
{
	int inv = atomic_load(&first_inv);

	if (report)
		*report = inv != INV_NR && atomic_load(&first_ready) ? first_report : "";
	return (enum check_inv)inv;
}

unsigned long check_count(enum check_inv inv)
{
	if ((unsigned int)inv >= INV_NR)
		return 0;
	return atomic_load(&check_counts[inv]);
}

/* write(2) all of it; async-signal-safe. */
static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Append @src to @dst at *@len, indenting each line after the first by @indent. */
static void append_indented(char *dst, size_t size, size_t *len, const char *src,
			    const char *indent)
{
	for (; *src && *len + 1 < size; src++) {
		dst[(*len)++] = *src;
		if (*src == '\n' && src[1])
			*len += check_fmt(dst + *len, size - *len, "%s", indent);
	}
	dst[*len] = 0;
}

static void format_report(char *out, size_t size, const char *msg, enum check_inv inv,
			  const void *obj, int cpu, const struct check_ctx *cs)
{
	size_t len = 0;
	char where[16];

	if (cpu >= 0)
		check_fmt(where, sizeof(where), "%d", cpu);
	else
		check_fmt(where, sizeof(where), "-");
	len += check_fmt(out + len, size - len,
			 "kvtorture: VIOLATION %s obj=%p cpu=%s ctx=%s task=%s\n  ",
			 check_inv_name(inv), obj, where, kenv_ctx_name(cs->ctx),
			 cs->task->name ? cs->task->name : "?");
	append_indented(out, size, &len, msg, "  ");
	len += check_fmt(out + len, size - len, "\n");
	if (cs->task->last_site)
		len += check_fmt(out + len, size - len, "  last sched point: %s\n",
				 cs->task->last_site);
	len += check_fmt(out + len, size - len, "  last events:\n");
	len += check_trace_tail(out + len, size - len, REPORT_TRACE_EVENTS);
	check_fmt(out + len, size - len, "  reproduce: %s\n",
		  check_repro[0] ? check_repro : "(no reproducer command was set)");
}

void check_vreport(enum check_inv inv, const void *obj, int cpu, const struct check_ctx *cs,
		   const char *fmt, va_list ap)
{
	struct report_buf *rb;
	unsigned long nth;
	bool abort_mode = atomic_load(&check_mode_now) == CHECK_ABORT;
	int none = INV_NR;
	char small[256];
	char *text;
	size_t size;

	if ((unsigned int)inv >= INV_NR)
		inv = INV_MISUSE;
	if (check_i_abort)
		return;
	nth = atomic_fetch_add(&check_counts[inv], 1);
	if (abort_mode && atomic_exchange(&check_aborting, true)) {
		/* Another thread is writing the reproducer and will exit. */
		for (;;)
			pause();
	}

	if (report_nest < REPORT_NEST) {
		rb = &report_bufs[report_nest];
		text = rb->text;
		size = sizeof(rb->text);
		report_nest++;
		atomic_signal_fence(memory_order_seq_cst);
		check_vfmt(rb->msg, sizeof(rb->msg), fmt, ap);
		format_report(text, size, rb->msg, inv, obj, cpu, cs);
	} else {
		/* Nested too deep for a buffer of its own: the header only. */
		text = small;
		size = sizeof(small);
		report_nest++;
		check_fmt(small, size, "kvtorture: VIOLATION %s obj=%p cpu=%d (nested report)\n",
			  check_inv_name(inv), obj, cpu);
	}

	if (atomic_compare_exchange_strong(&first_inv, &none, (int)inv)) {
		check_fmt(first_report, sizeof(first_report), "%s", text);
		atomic_store(&first_ready, true);
	}
	if (abort_mode || (nth == 0 && !atomic_load(&check_quiet_now)))
		write_all(2, text, strlen(text));

	if (abort_mode) {
		void (*hook)(enum check_inv, const char *) = atomic_load(&check_abort_hook_fn);

		check_i_abort = true;
		if (hook)
			hook(inv, text);
		_exit(1);
	}
	atomic_signal_fence(memory_order_seq_cst);
	report_nest--;
}

void check_report(enum check_inv inv, const void *obj, int cpu, const struct check_ctx *cs,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vreport(inv, obj, cpu, cs, fmt, ap);
	va_end(ap);
}

void check_fail(enum check_inv inv, const void *obj, int cpu, const char *fmt, ...)
{
	struct check_ctx cs;
	va_list ap;

	check_ctx_take(&cs);
	va_start(ap, fmt);
	check_vreport(inv, obj, cpu, &cs, fmt, ap);
	va_end(ap);
}
