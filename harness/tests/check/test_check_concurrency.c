/* SPDX-License-Identifier: MIT */
/*
 * test_check_concurrency.c - the checker under real threads and signals: no
 * false report, no deadlock, nothing lost.
 *
 * Four workers, each its own "CPU", cycle disjoint objects through
 * new/publish/unpublish/queue/free (freeing only after two more grace periods
 * than they saw at queue time), take and release their own krc-like lock with
 * a pool allocation inside, and trace.  A grace-period thread advances the GP
 * model; a signaller thread interrupts the workers with SIGUSR1, whose handler
 * runs as a hardirq with its own check_task: it traces, takes its own lock and
 * queues a fresh object, often while its thread is inside the checker (so the
 * operation is deferred).  The workers free the handlers' objects after a GP.
 * At the end the run must have no violation and check_final() must pass.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "check_internal.h"
#include "fake_env.h"

#define WORKERS 4
#define SLOTS 64
#define ROUNDS 400		/* each round cycles SLOTS objects */
#define HANDLER_OBJS 4096

struct worker {
	pthread_t thr;
	int id;
	char objs[SLOTS][48];
	uint64_t ready_at[SLOTS];	/* gp count at which the slot may be freed */
	bool queued[SLOTS];
	struct kenv_lock lock;
	struct kenv_lock irq_lock;
	struct check_task irq_task;
	char hobjs[HANDLER_OBJS][32];
	_Atomic(unsigned int) h_made;	/* written by the handler */
	unsigned int h_freed;
	_Atomic(bool) done;
};

static struct worker workers[WORKERS];
static _Atomic(uint64_t) gps_done;
static _Atomic(bool) stop_gp, stop_irq;
static _Atomic(unsigned long) irqs_sent;
static _Thread_local struct worker *self;

static void wait_gps(uint64_t target)
{
	while (atomic_load(&gps_done) < target)
		sched_yield();
}

static void on_irq(int sig)
{
	struct worker *w = self;
	struct fake_ctx saved, *f;
	unsigned int i;

	(void)sig;
	if (!w)
		return;
	f = fake_ctx();
	saved = *f;
	f->ctx = KENV_CTX_HARDIRQ;
	f->irqs_off = true;
	f->task = &w->irq_task;
	check_trace("irq on cpu%d", w->id);
	check_lock_acquire(&w->irq_lock);
	i = atomic_load(&w->h_made);
	if (i < HANDLER_OBJS) {
		check_obj_new(w->hobjs[i], 32, false);
		check_obj_queued(w->hobjs[i], w->id, KENV_CTX_HARDIRQ, false, CHECK_EXPECT_FREE);
		check_obj_queue_returned(w->hobjs[i]);
		atomic_store(&w->h_made, i + 1);
	}
	check_lock_release(&w->irq_lock);
	*f = saved;
}

/* Free the handlers' objects queued so far, after a full grace period. */
static void free_handler_objs(struct worker *w)
{
	unsigned int made = atomic_load(&w->h_made);

	if (made == w->h_freed)
		return;
	wait_gps(atomic_load(&gps_done) + 2);
	for (; w->h_freed < made; w->h_freed++)
		check_obj_freed(w->hobjs[w->h_freed], "kfree");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fake_ctx *f;

	self = w;
	f = fake_ctx();
	f->cpu = w->id;
	f->task->name = "worker";
	for (unsigned int round = 0; round < ROUNDS; round++) {
		for (unsigned int s = 0; s < SLOTS; s++) {
			void *o = w->objs[s];

			if (w->queued[s]) {
				wait_gps(w->ready_at[s]);
				check_obj_freed(o, "kfree_bulk");
				w->queued[s] = false;
			}
			check_obj_new(o, 48, false);
			check_obj_publish(o);
			check_obj_unpublish(o);
			f->irqs_off = true;
			check_lock_acquire(&w->lock);
			check_alloc(KENV_GFP_POOL, "worker");
			check_lock_release(&w->lock);
			f->irqs_off = false;
			check_obj_queued(o, w->id, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
			check_obj_queue_returned(o);
			w->ready_at[s] = atomic_load(&gps_done) + 2;
			w->queued[s] = true;
			if (s % 16 == 0)
				check_trace("worker %d round %u slot %u", w->id, round, s);
		}
		free_handler_objs(w);
	}
	for (unsigned int s = 0; s < SLOTS; s++) {
		if (w->queued[s]) {
			wait_gps(w->ready_at[s]);
			check_obj_freed(w->objs[s], "kfree_bulk");
		}
	}
	atomic_store(&w->done, true);
	/* Handlers may still arrive until the signaller stops; drain them at the end. */
	return NULL;
}

static void *gp_main(void *arg)
{
	(void)arg;
	fake_ctx()->ctx = KENV_CTX_KTHREAD;
	while (!atomic_load(&stop_gp)) {
		check_gp_started();
		sched_yield();
		check_gp_ended();
		atomic_fetch_add(&gps_done, 1);
	}
	return NULL;
}

static void *irq_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_irq)) {
		for (int i = 0; i < WORKERS; i++) {
			if (!atomic_load(&workers[i].done)) {
				pthread_kill(workers[i].thr, SIGUSR1);
				atomic_fetch_add(&irqs_sent, 1);
			}
		}
		usleep(50);
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	pthread_t gp_thr, irq_thr;
	unsigned long handled = 0;
	const char *report;
	bool final_ok;

	fake_ctx_default();
	fake_impl_reset();
	check_set_mode(CHECK_RECORD);
	check_set_capacity(WORKERS * (SLOTS + HANDLER_OBJS) + 64);
	check_reset();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_irq;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);

	pthread_create(&gp_thr, NULL, gp_main, NULL);
	for (int i = 0; i < WORKERS; i++) {
		struct worker *w = &workers[i];

		w->id = i;
		w->lock = (struct kenv_lock){ .name = "krc.lock" };
		w->irq_lock = (struct kenv_lock){ .name = "test.irq" };
		w->irq_task.name = "worker/hardirq";
		pthread_create(&w->thr, NULL, worker_main, w);
	}
	pthread_create(&irq_thr, NULL, irq_main, NULL);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(workers[i].thr, NULL);
	atomic_store(&stop_irq, true);
	pthread_join(irq_thr, NULL);

	/* Handler objects queued after their worker finished: free them here. */
	for (int i = 0; i < WORKERS; i++) {
		self = NULL;
		free_handler_objs(&workers[i]);
		handled += workers[i].h_freed;
	}
	atomic_store(&stop_gp, true);
	pthread_join(gp_thr, NULL);

	final_ok = check_final();
	tap_ok(check_violated(&report) == INV_NR, "concurrency: no false report");
	if (check_violated(NULL) != INV_NR)
		tap_diag("%s", report);
	tap_ok(final_ok, "concurrency: check_final() passes (nothing lost or left queued)");
	tap_ok(handled > 0, "concurrency: handlers queued objects (%lu of %lu signals)",
	       handled, atomic_load(&irqs_sent));
	tap_diag("grace periods %llu, deferred from handlers %lu",
		 (unsigned long long)atomic_load(&gps_done), check_shadow_deferred_total());
	{
		/* The ring after a concurrent run: 256 intact lines (a pipe holds them all). */
		static char dump[65536];
		int fds[2], lines = 0, bad = 0;
		ssize_t n;

		if (pipe(fds))
			return 99;
		check_trace_dump(fds[1]);
		close(fds[1]);
		n = read(fds[0], dump, sizeof(dump) - 1);
		dump[n > 0 ? n : 0] = 0;
		for (char *l = dump; *l; l = strchr(l, '\n') + 1) {
			lines++;
			bad += l[0] != '#' || !strchr(l, '\n');
			if (!strchr(l, '\n'))
				break;
		}
		tap_ok(lines == 256 && !bad,
		       "concurrency: trace dump has 256 intact events (%d, %d bad)", lines, bad);
	}
	return tap_done();
}
