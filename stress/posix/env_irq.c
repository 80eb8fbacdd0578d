/* SPDX-License-Identifier: MIT */
/*
 * env_irq.c - interrupts as signals (checked flavour only).
 *
 * A hardirq is the signal POSIX_SIG_IRQ sent to one CPU thread.  Its handler
 * checks the soft mask of the interrupted frame; when irqs are off (or held
 * back by posix_irq_hold) it only records the interrupt (irq_pending), and
 * the thread replays it when it turns irqs back on.  A replayed or injected
 * interrupt runs in ordinary thread context, so its irq exit may run
 * softirqs inline; an interrupt taken in a real signal handler hands them to
 * their runner (ksoftirqd or the CPU thread), because softirq handlers
 * allocate and malloc is not async-signal-safe.  An NMI is a second signal,
 * POSIX_SIG_NMI, that ignores the soft mask.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "env_internal.h"

#if !POSIX_CHECKED
#error "env_irq.c belongs to the checked flavour only"
#endif

#define POSIX_SIG_IRQ (SIGRTMIN + 4)
#define POSIX_SIG_NMI (SIGRTMIN + 5)

/* Set once before the flood, read by handlers: plain atomics of function pointers. */
static void (*_Atomic irq_handler)(int cpu);
static void (*_Atomic nmi_handler)(int cpu);

static void irq_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, POSIX_SIG_IRQ);
	sigaddset(set, POSIX_SIG_NMI);
}

void posix_irq_block(sigset_t *old)
{
	sigset_t set;

	irq_sigset(&set);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void posix_irq_cpu_thread_begin(int cpu)
{
	sigset_t set;

	atomic_store(&posix_cpus[cpu].cpu_tid, posix_me->tid);
	irq_sigset(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void posix_irq_cpu_thread_end(int cpu)
{
	sigset_t set;

	irq_sigset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	atomic_store(&posix_cpus[cpu].cpu_tid, 0);
}

/* ---------------------------------------------------------------------------
 * Running the handlers
 */

static void irq_run(struct posix_thread *t, bool in_signal, bool replayed)
{
	int cpu = atomic_load_explicit(&t->cpu, memory_order_relaxed);
	struct posix_cpu *c = &posix_cpus[cpu];
	void (*fn)(int) = atomic_load(&irq_handler);

	/* An interrupt still in flight when the CPU went offline is dropped. */
	if (!atomic_load(&c->online))
		return;
	posix_frame_push(KENV_CTX_HARDIRQ);
	atomic_fetch_add_explicit(&c->irqs, 1, memory_order_relaxed);
	if (replayed)
		atomic_fetch_add_explicit(&c->irqs_replayed, 1, memory_order_relaxed);
	if (fn)
		fn(cpu);
	posix_frame_pop();
	/* irq exit: softirqs inline, unless this is a real signal handler. */
	if (!atomic_load(&c->softirq_pending) || posix_in_interrupt(t) || t->bh)
		return;
	if (in_signal)
		posix_softirq_kick(cpu);
	else
		posix_do_softirq(cpu);
}

void posix_irq_replay(struct posix_thread *t, bool in_signal)
{
	while (!t->irq_off && !t->irq_hold && atomic_exchange(&t->irq_pending, 0))
		irq_run(t, in_signal, true);
}

static void nmi_run(struct posix_thread *t)
{
	int cpu = atomic_load_explicit(&t->cpu, memory_order_relaxed);
	struct posix_cpu *c = &posix_cpus[cpu];
	void (*fn)(int) = atomic_load(&nmi_handler);

	if (!atomic_load(&c->online) || kenv_in_nmi())
		return;
	posix_frame_push(KENV_CTX_NMI);
	atomic_fetch_add_explicit(&c->nmis, 1, memory_order_relaxed);
	if (fn)
		fn(cpu);
	posix_frame_pop();
}

void posix_irq_inject(struct posix_thread *t)
{
	irq_run(t, false, false);
}

void posix_nmi_inject(struct posix_thread *t)
{
	nmi_run(t);
}

static void irq_signal(int sig)
{
	struct posix_thread *t = posix_me;
	int saved_errno = errno;

	(void)sig;
	if (!t || t->role != POSIX_ROLE_CPU)
		goto out;
	if (t->irq_off || t->irq_hold) {
		/* The soft mask: remember it; kenv_local_irq_restore() replays it. */
		atomic_store(&t->irq_pending, 1);
		goto out;
	}
	irq_run(t, true, false);
	posix_irq_replay(t, true);
out:
	errno = saved_errno;
}

static void nmi_signal(int sig)
{
	struct posix_thread *t = posix_me;
	int saved_errno = errno;

	(void)sig;
	if (t && t->role == POSIX_ROLE_CPU)
		nmi_run(t);
	errno = saved_errno;
}

/* ---------------------------------------------------------------------------
 * Holding back, handlers, sending
 */

void posix_irq_hold(void)
{
	posix_cur()->irq_hold++;
	atomic_signal_fence(memory_order_seq_cst);
}

void posix_irq_unhold(void)
{
	struct posix_thread *t = posix_cur();

	atomic_signal_fence(memory_order_seq_cst);
	if (--t->irq_hold == 0 && !t->irq_off &&
	    atomic_load_explicit(&t->irq_pending, memory_order_relaxed))
		posix_irq_replay(t, false);
}

void posix_set_irq_handler(void (*fn)(int cpu))
{
	atomic_store(&irq_handler, fn);
}

void posix_set_nmi_handler(void (*fn)(int cpu))
{
	atomic_store(&nmi_handler, fn);
}

static bool send_to_cpu(int cpu, int sig)
{
	pid_t tid;

	if (!kenv_cpu_online(cpu))
		return false;
	tid = atomic_load(&posix_cpus[cpu].cpu_tid);
	if (!tid)
		return false;
	return syscall(SYS_tgkill, getpid(), tid, sig) == 0;
}

bool posix_raise_irq(int cpu)
{
	return send_to_cpu(cpu, POSIX_SIG_IRQ);
}

bool posix_raise_nmi(int cpu)
{
	return send_to_cpu(cpu, POSIX_SIG_NMI);
}

static void install_handler(int sig, void (*fn)(int), bool block_irq)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	/* An NMI handler is never interrupted by an irq; an irq handler may be by an NMI. */
	if (block_irq)
		sigaddset(&sa.sa_mask, POSIX_SIG_IRQ);
	if (sigaction(sig, &sa, NULL))
		KENV_DIE("sigaction");
}

void posix_irq_start(void)
{
	posix_irq_block(NULL);
	install_handler(POSIX_SIG_IRQ, irq_signal, false);
	install_handler(POSIX_SIG_NMI, nmi_signal, true);
}
