/* SPDX-License-Identifier: MIT */
/*
 * env_ctx.c - execution contexts of the posix environment: each thread's
 * frame stack (task or kthread at the base; softirq, hardirq and NMI frames
 * pushed on top), the context queries of kenv.h, CPU ids, the soft irq mask,
 * the preemption and bh counts, and hardirqs emulated on the calling thread.
 *
 * The soft mask: kenv_local_irq_save() sets a thread-local flag and makes no
 * system call.  In the checked flavour an interrupt signal that arrives
 * while the flag is set is only recorded, and kenv_local_irq_restore()
 * replays it (env_irq.c); the unchecked flavour has no interrupt signals, so
 * the flag is all there is.
 */
#include <string.h>

#include "env_internal.h"

static const char *const ctx_names[KENV_CTX_NR] = {
	[KENV_CTX_TASK] = "task",	[KENV_CTX_KTHREAD] = "kthread",
	[KENV_CTX_SOFTIRQ] = "softirq", [KENV_CTX_HARDIRQ] = "hardirq",
	[KENV_CTX_NMI] = "nmi",
};

const char *posix_ctx_name(enum kenv_ctx ctx)
{
	return (unsigned int)ctx < KENV_CTX_NR ? ctx_names[ctx] : "?";
}

const char *kenv_ctx_name(enum kenv_ctx ctx)
{
	return posix_ctx_name(ctx);
}

/* ---------------------------------------------------------------------------
 * Frames
 */

/*
 * The depth grows before the frame is filled, and shrinks after it is
 * cleared, so an NMI arriving in between pushes its frame above ours instead
 * of over it; the compiler barriers keep that order against the handler.
 * The top pointer follows the depth: a handler that runs in between sets
 * it from the depth it saw, which is what we then set it to as well.
 */
void posix_frame_push(enum kenv_ctx ctx)
{
	struct posix_thread *t = posix_cur();
	int d = t->depth;
	struct posix_frame *f;

	if (d >= POSIX_MAX_FRAMES)
		KENV_DIE("context frames nested too deep");
	t->depth = d + 1;
	ENV_SIGNAL_FENCE();
	f = &t->frames[d];
#if POSIX_CHECKED
	memset(&f->ct, 0, sizeof(f->ct));
	f->ct.name = t->registered ? t->frame_names[ctx] : ctx_names[ctx];
#endif
	f->ctx = ctx;
	f->nr_locks = 0;
	f->saved_irq_off = t->irq_off;
	if (ctx == KENV_CTX_HARDIRQ || ctx == KENV_CTX_NMI)
		t->irq_off = true;
	ENV_SIGNAL_FENCE();
	t->top = POSIX_FRAME_OFFSET(d);
}

void posix_frame_pop(void)
{
	struct posix_thread *t = posix_cur();
	int d = t->depth;

	if (d <= 1)
		KENV_DIE("context frame popped below the base");
	t->irq_off = t->frames[d - 1].saved_irq_off;
	ENV_SIGNAL_FENCE();
	t->depth = d - 1;
	ENV_SIGNAL_FENCE();
	t->top = POSIX_FRAME_OFFSET(d - 2);
}

#if POSIX_CHECKED
struct check_task *check_current(void)
{
	struct posix_frame *f = posix_cur_frame(posix_cur());

	if (!f->ct.name)
		f->ct.name = "unregistered";
	return &f->ct;
}
#endif

/* ---------------------------------------------------------------------------
 * Context queries
 */

/* Which contexts are on @t's stack, one bit per enum kenv_ctx. */
static unsigned int frame_mask(const struct posix_thread *t)
{
	unsigned int mask = 0;

	for (int i = 0; i < t->depth; i++)
		mask |= 1u << t->frames[i].ctx;
	return mask;
}

#define CTX_BIT(ctx) (1u << (ctx))
#define INTERRUPT_BITS (CTX_BIT(KENV_CTX_SOFTIRQ) | CTX_BIT(KENV_CTX_HARDIRQ) | CTX_BIT(KENV_CTX_NMI))

enum kenv_ctx kenv_context(void)
{
	return posix_cur_frame(posix_cur())->ctx;
}

bool kenv_in_nmi(void)
{
#if POSIX_CHECKED
	return frame_mask(posix_cur()) & CTX_BIT(KENV_CTX_NMI);
#else
	/* The unchecked flavour has no NMIs. */
	return false;
#endif
}

bool kenv_in_hardirq(void)
{
	unsigned int mask = frame_mask(posix_cur());

	return (mask & CTX_BIT(KENV_CTX_HARDIRQ)) && !(mask & CTX_BIT(KENV_CTX_NMI));
}

bool kenv_in_softirq(void)
{
	return frame_mask(posix_cur()) & CTX_BIT(KENV_CTX_SOFTIRQ);
}

bool posix_in_interrupt(const struct posix_thread *t)
{
	return frame_mask(t) & INTERRUPT_BITS;
}

bool kenv_irqs_disabled(void)
{
	return posix_cur()->irq_off;
}

bool posix_thread_preemptible(const struct posix_thread *t)
{
	const struct posix_frame *f = posix_cur_frame((struct posix_thread *)t);

	return (f->ctx == KENV_CTX_TASK || f->ctx == KENV_CTX_KTHREAD) && !t->irq_off &&
	       !t->preempt && !t->bh && !t->rcu_nest && !*posix_lock_count((struct posix_thread *)t);
}

bool kenv_preemptible(void)
{
	return posix_thread_preemptible(posix_cur());
}

#if POSIX_CHECKED
bool posix_alloc_forbidden(void)
{
	struct posix_thread *t = posix_cur();
	const struct posix_frame *f = posix_cur_frame(t);

	return t->irq_off || f->nr_locks || f->ctx == KENV_CTX_HARDIRQ || f->ctx == KENV_CTX_NMI;
}
#endif

int kenv_cpu(void)
{
	return atomic_load_explicit(&posix_cur()->cpu, memory_order_relaxed);
}

/*
 * kenv.h's checked CPU read: the checker judges whether the caller could
 * migrate (a preemptible task).  Real threads interleave at fine-grained
 * points by themselves, so kenv_fine_points stays false here and
 * kenv_sched_point_fine() is never called; it is a plain point all the same.
 */
_Atomic(bool) kenv_fine_points;

void kenv_sched_point_fine(const char *site)
{
	kenv_sched_point(site);
}

/* kenv.h: the access point of builds with coverage feedback. */
void kenv_access_point_out(const char *site)
{
	if (atomic_load_explicit(&kenv_fine_points, memory_order_relaxed))
		kenv_sched_point_fine(site);
}

int kenv_this_cpu(const char *site)
{
	ENV_CHECK(check_cpu_id_read(site));
	(void)site;
	return kenv_cpu();
}

int kenv_nr_cpus(void)
{
	return posix_cfg.nr_cpus;
}

bool kenv_cpu_online(int cpu)
{
	return cpu >= 0 && cpu < posix_cfg.nr_cpus && atomic_load(&posix_cpus[cpu].online);
}

int posix_effective_cpu(int cpu)
{
	if (kenv_cpu_online(cpu))
		return cpu;
	for (int i = 0; i < posix_cfg.nr_cpus; i++)
		if (atomic_load(&posix_cpus[i].online))
			return i;
	return 0;
}

/* ---------------------------------------------------------------------------
 * irq mask, preemption, bh, emulated hardirqs
 */

unsigned long kenv_local_irq_save(void)
{
	struct posix_thread *t = posix_cur();
	unsigned long flags = t->irq_off;

	t->irq_off = true;
	/* Orders the mask against the code it protects, as seen by our handler. */
	ENV_SIGNAL_FENCE();
	return flags;
}

void kenv_local_irq_restore(unsigned long flags)
{
	struct posix_thread *t = posix_cur();

	ENV_SIGNAL_FENCE();
	/* Off when saved: it still is (a no-op store, but no branch). */
	t->irq_off = flags != 0;
#if POSIX_CHECKED
	ENV_SIGNAL_FENCE();
	if (!flags && atomic_load_explicit(&t->irq_pending, memory_order_relaxed))
		posix_irq_replay(t, false);
#endif
}

void kenv_preempt_disable(void)
{
	posix_cur()->preempt++;
	ENV_SIGNAL_FENCE();
}

void kenv_preempt_enable(void)
{
	struct posix_thread *t = posix_cur();

	if (posix_nest_leave(&t->preempt, "preempt_enable") && t->preempt == 0)
		kenv_sched_point("preempt_enable");
}

void kenv_local_bh_disable(void)
{
	posix_cur()->bh++;
	ENV_SIGNAL_FENCE();
}

void kenv_local_bh_enable(void)
{
	struct posix_thread *t = posix_cur();
	int cpu;

	if (!posix_nest_leave(&t->bh, "local_bh_enable") || t->bh)
		return;
	cpu = kenv_cpu();
	if (!posix_in_interrupt(t) &&
	    atomic_load_explicit(&posix_cpus[cpu].softirq_pending, memory_order_relaxed))
		posix_do_softirq(cpu);
	kenv_sched_point("local_bh_enable");
}

void posix_irq_enter(void)
{
	posix_frame_push(KENV_CTX_HARDIRQ);
}

void posix_irq_exit(void)
{
	struct posix_thread *t = posix_cur();
	int cpu;

	posix_frame_pop();
	/* irq_exit(): softirqs raised by the handler run now, unless nested or masked. */
	cpu = kenv_cpu();
	if (!t->irq_off && !t->bh &&
	    atomic_load_explicit(&posix_cpus[cpu].softirq_pending, memory_order_relaxed) &&
	    !posix_in_interrupt(t))
		posix_do_softirq(cpu);
}
