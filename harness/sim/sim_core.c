/* SPDX-License-Identifier: MIT */
/*
 * sim_core.c - virtual CPUs, execution contexts, coroutines and the scheduler
 * of the deterministic simulation; the context, lock, irq, preemption and bh
 * parts of kenv.h; run lifecycle, hotplug and quiescence of sim.h.
 *
 * Execution model.  Only one thing runs at a time: either main (the driver,
 * and the scheduler it calls) or one coroutine.  Switches happen only between
 * main and a coroutine, and only where the coroutine is preemptible or
 * blocks, so at a switch every CPU's irq, preemption, bh and RCU-reader state
 * is back to zero: that state can live in the CPU, not in the task.
 * Interrupts, NMIs and softirqs never switch stacks: they are frames pushed
 * on the running stack (sim.frames) and popped before anything switches.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_internal.h"

#ifdef SIM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
/*
 * Switching stacks.  On x86-64 a few instructions of our own: save the
 * callee-saved registers on the current stack, swap stack pointers, restore
 * them from the other stack.  Nothing else has to survive a call under the
 * SysV ABI (the FP control words are never changed here).  ASan intercepts
 * _longjmp and unpoisons the whole stack it leaves on every call (about 17 us
 * per switch with a large main stack); this switch is invisible to it, and
 * the fiber annotations below tell it what happened.  Elsewhere, ucontext
 * starts a coroutine and _setjmp/_longjmp switch.
 */
#if defined(__x86_64__)
#define SIM_ASM_SWITCH 1
/* Save the caller's context, store its stack pointer in *@save_sp, resume @new_sp. */
void sim_ctx_switch(void **save_sp, void *new_sp);
__asm__(".text\n"
	".globl sim_ctx_switch\n"
	".hidden sim_ctx_switch\n"
	".type sim_ctx_switch, @function\n"
	"sim_ctx_switch:\n"
	"\tpushq %rbp\n"
	"\tpushq %rbx\n"
	"\tpushq %r12\n"
	"\tpushq %r13\n"
	"\tpushq %r14\n"
	"\tpushq %r15\n"
	"\tmovq %rsp, (%rdi)\n"
	"\tmovq %rsi, %rsp\n"
	"\tpopq %r15\n"
	"\tpopq %r14\n"
	"\tpopq %r13\n"
	"\tpopq %r12\n"
	"\tpopq %rbx\n"
	"\tpopq %rbp\n"
	"\tret\n"
	".size sim_ctx_switch, .-sim_ctx_switch\n"
	".section .note.GNU-stack,\"\",@progbits\n"
	".text\n");
#endif

#ifdef SIM_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned int flags);
void __tsan_switch_to_fiber(void *fiber, unsigned int flags);
#endif

struct sim_state sim;

#ifdef SIM_ASAN
#define SIM_STACK_SIZE (256u * 1024u)
#else
#define SIM_STACK_SIZE (128u * 1024u)
#endif

static const char *const ctx_names[KENV_CTX_NR] = {
	[KENV_CTX_TASK] = "task",
	[KENV_CTX_KTHREAD] = "kthread",
	[KENV_CTX_SOFTIRQ] = "softirq",
	[KENV_CTX_HARDIRQ] = "hardirq",
	[KENV_CTX_NMI] = "nmi",
};

/* main's stack and switch state, learnt on every switch into a coroutine. */
#ifdef SIM_ASM_SWITCH
static void *main_sp;
#else
static jmp_buf main_jb;
static ucontext_t uc_template;
static bool uc_template_ready;
#endif
static const void *main_stack_bottom;
static size_t main_stack_size;
static void *main_asan_fake;
#ifdef SIM_TSAN
static void *main_tsan_fiber;
#endif
static unsigned int nr_blocked;

/* ---------------------------------------------------------------------------
 * PRNG: splitmix64 seeds xoshiro256**.  Only draws made in a fixed order by
 * single-threaded code, so a seed names a run.
 */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
	uint64_t *s = sim.rng;
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

static uint64_t rng_below(uint64_t n)
{
	/* Multiply-high: unbiased enough for scheduling, and one draw only. */
	return n ? (uint64_t)(((unsigned __int128)rng_next() * n) >> 64) : 0;
}

uint64_t sim_random(void)
{
	uint64_t v = rng_next();

	check_trace("random %016" PRIx64, v);
	return v;
}

uint64_t sim_random_below(uint64_t n)
{
	uint64_t v = rng_below(n);

	check_trace("random %" PRIu64 "/%" PRIu64, v, n);
	return v;
}

bool sim_chance(unsigned int permille)
{
	return permille && rng_below(1000) < permille;
}

unsigned int sim_first_online_cpu(int avoid)
{
	unsigned int cpu;

	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if (sim.cpu[cpu].online && (int)cpu != avoid)
			return cpu;
	return 0;
}

unsigned int sim_random_online_cpu(int avoid)
{
	unsigned int cpu, n = 0, pick;

	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		n += sim.cpu[cpu].online && (int)cpu != avoid;
	if (!n)
		return sim_first_online_cpu(-1);
	pick = (unsigned int)rng_below(n);
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if (sim.cpu[cpu].online && (int)cpu != avoid && pick-- == 0)
			return cpu;
	return sim_first_online_cpu(-1);
}

/* ---------------------------------------------------------------------------
 * Configuration and run lifecycle
 */

void sim_config_default(struct sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = 1;
	cfg->seed = 1;
	cfg->gp_duration_ns = 1000000;
	cfg->pool_pages = 4;
}

const struct sim_config *sim_config(void)
{
	return &sim.cfg;
}

static const char *config_invalid(const struct sim_config *cfg)
{
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > KENV_NR_CPUS_MAX)
		return "sim_config.nr_cpus out of 1..KENV_NR_CPUS_MAX";
	if (cfg->irq_permille > 1000 || cfg->nmi_permille > 1000 ||
	    cfg->preempt_permille > 1000 || cfg->migrate_permille > 1000 ||
	    cfg->alloc_fail_permille > 1000)
		return "sim_config: a permille above 1000";
	if (cfg->pool_pages > SIM_POOL_MAX)
		return "sim_config.pool_pages above SIM_POOL_MAX";
	if (cfg->driver_cpu >= cfg->nr_cpus)
		return "sim_config.driver_cpu is not a CPU";
	return NULL;
}

void sim_assert_driver(const char *fn)
{
	if (!sim.ready)
		kenv_die(__FILE__, __LINE__, fn, "called before sim_init()");
	if (sim.cur || sim.depth)
		kenv_die(__FILE__, __LINE__, fn,
			 "driver-only function called from inside the simulation");
}

static void driver_frame_reset(unsigned int cpu)
{
	memset(&sim.driver_ct, 0, sizeof(sim.driver_ct));
	sim.driver_ct.name = "driver";
	memset(&sim.frames[0], 0, sizeof(sim.frames[0]));
	sim.frames[0].ctx = KENV_CTX_TASK;
	sim.frames[0].cpu = cpu;
	sim.frames[0].ct = &sim.driver_ct;
	sim.depth = 0;
	sim.base = 0;
}

void sim_init(const struct sim_config *cfg)
{
	const char *why = config_invalid(cfg);
	uint64_t x;
	unsigned int i;

	if (why)
		kenv_die(__FILE__, __LINE__, __func__, why);
	if (sim.cur || sim.depth)
		kenv_die(__FILE__, __LINE__, __func__, "called from inside the simulation");
	if (sim.ready)
		sim_fini();

	sim.cfg = *cfg;
	sim.now = 0;
	x = cfg->seed;
	for (i = 0; i < 4; i++)
		sim.rng[i] = splitmix64(&x);
	memset(&sim.st, 0, sizeof(sim.st));

	/* Only the configured CPUs are touched by the run, so only they reset. */
	for (i = 0; i < cfg->nr_cpus; i++) {
		struct sim_cpu *c = &sim.cpu[i];

		memset(c, 0, offsetof(struct sim_cpu, pool));
		c->online = true;
		c->next_preempt = SIM_NO_PREEMPT;
		c->cb_tail = &c->cb_head;
		c->pool_nr = 0;
		memset(&c->idle_ct, 0, sizeof(c->idle_ct));
		c->idle_ct.name = "idle";
	}
	driver_frame_reset(cfg->driver_cpu);

	/* Coroutines still blocked from the last run are abandoned: re-made. */
	for (i = 0; i < sim.nr_co; i++) {
		struct sim_co *co = sim.co[i];

		if (co->state != SIM_CO_FREE)
			co->fresh = true;
		co->state = SIM_CO_FREE;
		co->id = -1;
		co->wait = NULL;
	}
	sim.cur = NULL;
	sim.runq_nr = 0;
	sim.next_id = 0;
	sim.driver_wait = NULL;
	nr_blocked = 0;

	sim.hook_offline = NULL;
	sim.hook_online = NULL;
	sim.fail_next = 0;
	sim.page_limit = cfg->page_limit;

	check_reset();
	sim_work_reset();
	sim_rcu_reset();
	sim.ready = true;
	sim_mem_init();
	check_trace("sim init cpus=%u seed=%" PRIu64 " auto_gp=%d", cfg->nr_cpus, cfg->seed,
		    (int)cfg->auto_gp);
}

void sim_fini(void)
{
	if (!sim.ready)
		return;
	if (sim.cur || sim.depth)
		kenv_die(__FILE__, __LINE__, __func__, "called from inside the simulation");
	sim_mem_fini();
	sim.timers = NULL;
	sim.ready = false;
}

/* ---------------------------------------------------------------------------
 * Coroutines
 */

static void co_trampoline(void);

static void san_start_switch(void **fake_save, const void *bottom, size_t size)
{
#ifdef SIM_ASAN
	__sanitizer_start_switch_fiber(fake_save, bottom, size);
#else
	(void)fake_save;
	(void)bottom;
	(void)size;
#endif
}

static void san_finish_switch(void *fake_save, const void **bottom_old, size_t *size_old)
{
#ifdef SIM_ASAN
	__sanitizer_finish_switch_fiber(fake_save, bottom_old, size_old);
#else
	(void)fake_save;
	(void)bottom_old;
	(void)size_old;
#endif
}

#ifndef SIM_ASM_SWITCH
/*
 * getcontext returns twice in principle and makes a system call: kept out of
 * line, and done once per process, not per run.
 */
static __attribute__((noinline)) void uc_template_init(void)
{
	if (getcontext(&uc_template))
		KENV_DIE("getcontext failed");
	uc_template_ready = true;
}
#endif

static struct sim_co *co_alloc(void)
{
	struct sim_co *co;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned int i;

	for (i = 0; i < sim.nr_co; i++)
		if (sim.co[i]->state == SIM_CO_FREE)
			return sim.co[i];
	if (sim.nr_co == SIM_CO_MAX)
		return NULL;

	co = calloc(1, sizeof(*co));
	if (!co)
		KENV_DIE("out of memory for a coroutine");
	/* A PROT_NONE page below the stack turns an overflow into a crash. */
	co->map_size = SIM_STACK_SIZE + page;
	co->stack_map = mmap(NULL, co->map_size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (co->stack_map == MAP_FAILED)
		KENV_DIE("mmap of a coroutine stack failed");
	if (mprotect(co->stack_map, page, PROT_NONE))
		KENV_DIE("mprotect of a stack guard page failed");
	co->stack = (char *)co->stack_map + page;
	co->stack_size = SIM_STACK_SIZE;
	co->fresh = true;
	co->slot = sim.nr_co;
	co->id = -1;
#ifndef SIM_ASM_SWITCH
	if (!uc_template_ready)
		uc_template_init();
#endif
#ifdef SIM_TSAN
	co->tsan_fiber = __tsan_create_fiber(0);
#endif
	sim.co[sim.nr_co++] = co;
	return co;
}

/* A fresh coroutine starts in co_trampoline on an empty stack. */
static void co_make(struct sim_co *co)
{
	/* An abandoned coroutine may have left poisoned redzones behind. */
	SIM_UNPOISON(co->stack, co->stack_size);
#ifdef SIM_ASM_SWITCH
	{
		/*
		 * What sim_ctx_switch pops: six zeroed registers, then the
		 * "return address" co_trampoline, entered as if called (rsp + 8
		 * 16-byte aligned), above it a null return address it never uses.
		 */
		uintptr_t top = ((uintptr_t)co->stack + co->stack_size) & ~(uintptr_t)15;
		void **sp = (void **)top;

		*--sp = NULL;
		*--sp = (void *)(uintptr_t)co_trampoline;
		sp -= 6;
		memset(sp, 0, 6 * sizeof(*sp));
		co->sp = sp;
	}
#else
	co->uc = uc_template;
	co->uc.uc_stack.ss_sp = co->stack;
	co->uc.uc_stack.ss_size = co->stack_size;
	co->uc.uc_link = NULL;
	makecontext(&co->uc, co_trampoline, 0);
#endif
}

static void runq_add(struct sim_co *co)
{
	sim.runq[sim.runq_nr++] = co;
}

static struct sim_co *runq_take(unsigned int i)
{
	struct sim_co *co = sim.runq[i];

	memmove(&sim.runq[i], &sim.runq[i + 1], (sim.runq_nr - i - 1) * sizeof(sim.runq[0]));
	sim.runq_nr--;
	return co;
}

/*
 * main -> @co.  Returns when @co switches back (it blocked, was preempted or
 * finished).  The driver's base frame is set aside meanwhile.
 */
static __attribute__((noinline)) void co_resume(struct sim_co *co)
{
	struct sim_frame driver = sim.frames[0];

	co->frame.cpu = co->cpu;
	sim.frames[0] = co->frame;
	sim.cur = co;
	co->state = SIM_CO_RUNNING;
	sim.st.switches++;

	san_start_switch(&main_asan_fake, co->stack, co->stack_size);
#ifdef SIM_TSAN
	main_tsan_fiber = __tsan_get_current_fiber();
	__tsan_switch_to_fiber(co->tsan_fiber, 0);
#endif
#ifdef SIM_ASM_SWITCH
	if (co->fresh) {
		co->fresh = false;
		co_make(co);
	}
	sim_ctx_switch(&main_sp, co->sp);
#else
	if (_setjmp(main_jb) == 0) {
		if (sim.cur->fresh) {
			sim.cur->fresh = false;
			co_make(sim.cur);
			setcontext(&sim.cur->uc);
			KENV_DIE("setcontext returned");
		}
		_longjmp(sim.cur->jb, 1);
	}
#endif
	san_finish_switch(main_asan_fake, NULL, NULL);

	sim.cur = NULL;
	sim.frames[0] = driver;
}

/*
 * The running coroutine -> main.  Returns when main resumes it (then it is
 * sim.cur again; locals are not trusted across the jump).
 */
static __attribute__((noinline)) void co_suspend(struct sim_co *co)
{
	co->frame = sim.frames[0];
	san_start_switch(&co->asan_fake, main_stack_bottom, main_stack_size);
#ifdef SIM_TSAN
	__tsan_switch_to_fiber(main_tsan_fiber, 0);
#endif
#ifdef SIM_ASM_SWITCH
	sim_ctx_switch(&co->sp, main_sp);
#else
	if (_setjmp(co->jb) == 0)
		_longjmp(main_jb, 1);
#endif
	san_finish_switch(sim.cur->asan_fake, &main_stack_bottom, &main_stack_size);
}

/*
 * A context (task, kthread, work item) ended: it must have given back every
 * lock and re-enabled what it disabled.  If not, report LOCKING and repair
 * the CPU, so the rest of the run is not poisoned by one bug.
 */
void sim_check_balanced(const char *who)
{
	struct sim_frame *f = sim_top();
	struct sim_cpu *c = &sim.cpu[f->cpu];

	if (f->locks || c->irqs_off || c->preempt || c->bh || c->rcu_nest) {
		check_fail(INV_LOCKING, NULL, (int)f->cpu,
			   "%s ended with %u raw locks held, irqs %s, preempt count %u, bh count %u, rcu nesting %u (all must be 0)",
			   who, f->locks, c->irqs_off ? "off" : "on", c->preempt, c->bh,
			   c->rcu_nest);
		f->locks = 0;
		c->irqs_off = false;
		c->preempt = 0;
		c->bh = 0;
		c->rcu_nest = 0;
	}
}

static void co_trampoline(void)
{
	struct sim_co *co = sim.cur;

	san_finish_switch(NULL, &main_stack_bottom, &main_stack_size);
	for (;;) {
		co->fn(co->arg);
		sim_check_balanced(co->name);
		check_trace("exit co%d %s", co->id, co->name);
		if (co->worker && sim.cpu[co->cpu].workers_active)
			sim.cpu[co->cpu].workers_active--;
		co->state = SIM_CO_FREE;
		co->id = -1;
		co_suspend(co);
		/* Reused: main set up a new fn and switched back in. */
		co = sim.cur;
	}
}

static struct sim_co *co_spawn(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *),
			       void *arg, const char *name, bool worker)
{
	struct sim_co *co = co_alloc();

	if (!co)
		return NULL;
	co->id = sim.next_id++;
	co->ctx = ctx;
	co->worker = worker;
	co->cpu = cpu;
	co->fn = fn;
	co->arg = arg;
	co->name = name ? name : ctx_names[ctx];
	co->wait = NULL;
	memset(&co->ct, 0, sizeof(co->ct));
	co->ct.name = co->name;
	memset(&co->frame, 0, sizeof(co->frame));
	co->frame.ctx = ctx;
	co->frame.cpu = cpu;
	co->frame.ct = &co->ct;
	co->frame.co = co;
	co->state = SIM_CO_RUNNABLE;
	runq_add(co);
	if (worker)
		sim.cpu[cpu].workers_active++;
	check_trace("spawn co%d %s %s cpu%u", co->id, co->name, ctx_names[ctx], cpu);
	return co;
}

int sim_spawn(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg,
	      const char *name)
{
	struct sim_co *co;
	int id;

	if (!sim.ready)
		kenv_die(__FILE__, __LINE__, __func__, "called before sim_init()");
	if (ctx != KENV_CTX_TASK && ctx != KENV_CTX_KTHREAD)
		kenv_die(__FILE__, __LINE__, __func__, "ctx must be KENV_CTX_TASK or KENV_CTX_KTHREAD");
	if (cpu >= sim.cfg.nr_cpus || !sim.cpu[cpu].online)
		return -1;
	co = co_spawn(cpu, ctx, fn, arg, name, false);
	if (!co)
		return -1;
	/* The slot is free again (id -1) if it finishes now: keep the id. */
	id = co->id;
	if (!sim.cur && !sim.depth) {
		runq_take(sim.runq_nr - 1);
		co_resume(co);
	}
	return id;
}

bool sim_task_done(int id)
{
	unsigned int i;

	for (i = 0; i < sim.nr_co; i++)
		if (sim.co[i]->state != SIM_CO_FREE && sim.co[i]->id == id)
			return false;
	return true;
}

unsigned int sim_tasks_alive(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < sim.nr_co; i++)
		n += sim.co[i]->state != SIM_CO_FREE && !sim.co[i]->worker;
	return n;
}

bool sim_start_worker(unsigned int cpu)
{
	return co_spawn(cpu, KENV_CTX_KTHREAD, sim_worker_main, NULL, "kworker", true) != NULL;
}

void sim_set_driver_cpu(unsigned int cpu)
{
	sim_assert_driver(__func__);
	if (cpu >= sim.cfg.nr_cpus || !sim.cpu[cpu].online || !sim_sleepable())
		kenv_die(__FILE__, __LINE__, __func__,
			 "the CPU must be online and the driver context idle");
	sim.frames[0].cpu = cpu;
	sim.cfg.driver_cpu = cpu;
	check_trace("driver cpu%u", cpu);
}

/* ---------------------------------------------------------------------------
 * Waiting
 */

static bool wait_done(const struct sim_wait *w)
{
	switch (w->kind) {
	case SIM_WAIT_GP:
		return sim_rcu_cookie_done(w->cookie);
	case SIM_WAIT_BARRIER:
		return sim_rcu_barrier_done(w);
	case SIM_WAIT_WORK:
		return sim_work_done(w);
	case SIM_WAIT_TASK:
		return sim_task_done(w->task);
	}
	return true;
}

static bool wake_blocked(void)
{
	bool any = false;
	unsigned int i;

	for (i = 0; i < sim.nr_co && nr_blocked; i++) {
		struct sim_co *co = sim.co[i];

		if (co->state != SIM_CO_BLOCKED || !wait_done(co->wait))
			continue;
		co->state = SIM_CO_RUNNABLE;
		nr_blocked--;
		if (co->worker)
			sim.cpu[co->cpu].workers_active++;
		runq_add(co);
		check_trace("wake co%d %s", co->id, co->name);
		any = true;
	}
	return any;
}

/* Deliver one interrupt injected for a CPU that ran nothing to take it. */
static bool deliver_idle_injection(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++) {
		struct sim_cpu *c = &sim.cpu[cpu];
		struct sim_injectq *q = NULL;
		enum kenv_ctx ctx;
		void (*fn)(void *);
		void *arg;

		if (!c->online)
			continue;
		if (c->nmis.count) {
			q = &c->nmis;
			ctx = KENV_CTX_NMI;
		} else if (c->irqs.count && !c->irqs_off) {
			q = &c->irqs;
			ctx = KENV_CTX_HARDIRQ;
		} else {
			continue;
		}
		fn = q->slot[q->head].fn;
		arg = q->slot[q->head].arg;
		q->head = (q->head + 1) % SIM_INJECT_MAX;
		q->count--;
		check_trace("%s cpu%u (idle)", ctx_names[ctx], cpu);
		sim_run_on(cpu, ctx, fn, arg);
		return true;
	}
	return false;
}

/*
 * One scheduling step from main, in a fixed order of priority: wake-ups,
 * automatic GP transitions, due timers (hardirqs), ksoftirqd, kworkers and
 * other coroutines, interrupts injected for idle CPUs.  True if anything
 * happened.
 */
static bool sched_step(void)
{
	unsigned int cpu;

	if (nr_blocked && wake_blocked())
		return true;
	if (sim.cfg.auto_gp && sim_rcu_auto_step())
		return true;
	if (sim_timer_fire_due())
		return true;
	if (sim_ksoftirqd())
		return true;
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if (sim.cpu[cpu].online && !sim.cpu[cpu].workers_active &&
		    sim_work_eligible(cpu))
			sim_start_worker(cpu);
	if (sim.runq_nr) {
		unsigned int i = 0;
		struct sim_co *co;

		if (sim.cfg.sched_random && sim.runq_nr > 1)
			i = (unsigned int)rng_below(sim.runq_nr);
		co = runq_take(i);
		check_trace("run co%d %s cpu%u", co->id, co->name, co->cpu);
		co_resume(co);
		return true;
	}
	if (deliver_idle_injection())
		return true;
	/* Idle: the lock-free pools fill up in the background. */
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if (sim.cpu[cpu].online && sim.cpu[cpu].pool_nr < sim.cfg.pool_pages)
			sim_pool_refill(cpu);
	return false;
}

bool sim_run_pending(void)
{
	unsigned int n;

	sim_assert_driver(__func__);
	for (n = 0; sched_step(); n++) {
		if (n >= SIM_RUN_STEPS_MAX) {
			check_fail(INV_PROGRESS, NULL, -1,
				   "livelock: still busy after %u scheduler steps at virtual time %" PRIu64 " ns",
				   n, sim.now);
			break;
		}
	}
	return n != 0;
}

static bool next_event(uint64_t *when)
{
	uint64_t t, best = 0;
	bool found = false;

	if (sim_timer_next(&t)) {
		best = t;
		found = true;
	}
	if (sim.cfg.auto_gp && sim_rcu_auto_end_time(&t) && sim_rcu_readers_allow() &&
	    (!found || t < best)) {
		best = t;
		found = true;
	}
	if (found)
		*when = best;
	return found;
}

bool sim_next_event(uint64_t *when)
{
	return next_event(when);
}

static void set_time(uint64_t t)
{
	if (t > sim.now) {
		sim.now = t;
		check_trace("time %" PRIu64, t);
	}
}

void sim_advance(uint64_t ns)
{
	uint64_t target = ns > UINT64_MAX - sim.now ? UINT64_MAX : sim.now + ns;
	uint64_t next;
	unsigned int n;

	sim_assert_driver(__func__);
	sim_run_pending();
	for (n = 0; n < SIM_DRIVE_STEPS_MAX; n++) {
		if (!next_event(&next) || next > target)
			break;
		set_time(next);
		/* An event due now that cannot be taken (irqs off) ends the walk. */
		if (!sim_run_pending())
			break;
	}
	set_time(target);
	sim_run_pending();
}

uint64_t sim_now(void)
{
	return sim.now;
}

enum drive { DRIVE_MOVED, DRIVE_IDLE, DRIVE_READERS };

/*
 * One step towards quiescence, for the driver when it waits or quiesces:
 * run what is runnable, else end or start a GP (in explicit mode too), else
 * jump to the next timer.
 */
static enum drive drive_once(void)
{
	uint64_t t;
	bool timer = sim_timer_next(&t);

	if (sched_step())
		return DRIVE_MOVED;
	if (sim_gp_in_progress()) {
		uint64_t end;

		if (!sim_rcu_readers_allow()) {
			if (!timer)
				return DRIVE_READERS;
			set_time(t);
			return DRIVE_MOVED;
		}
		if (sim.cfg.auto_gp && sim_rcu_auto_end_time(&end) && end > sim.now) {
			set_time(timer && t < end ? t : end);
			return DRIVE_MOVED;
		}
		sim_rcu_end_gp();
		return DRIVE_MOVED;
	}
	if (sim_gp_needed()) {
		sim_rcu_start_gp();
		return DRIVE_MOVED;
	}
	if (timer) {
		set_time(t);
		return DRIVE_MOVED;
	}
	return DRIVE_IDLE;
}

static void driver_wait(struct sim_wait *w)
{
	unsigned int n;

	sim.driver_wait = w;
	check_trace("driver waits: %s", w->what);
	for (n = 0; !wait_done(w); n++) {
		enum drive r;

		if (n >= SIM_DRIVE_STEPS_MAX) {
			check_fail(INV_PROGRESS, NULL, (int)sim.cfg.driver_cpu,
				   "the driver waited %u steps for %s", n, w->what);
			break;
		}
		r = drive_once();
		if (r == DRIVE_MOVED)
			continue;
		check_fail(INV_PROGRESS, NULL, (int)sim.cfg.driver_cpu,
			   "the driver waits for %s but nothing can run%s", w->what,
			   r == DRIVE_READERS ? " (a reader blocks the grace period)" : "");
		break;
	}
	sim.driver_wait = NULL;
}

void sim_block(struct sim_wait *w)
{
	struct sim_co *co = sim.cur;

	if (wait_done(w))
		return;
	sim.st.sleeps++;
	if (!co) {
		driver_wait(w);
		return;
	}
	check_trace("sleep co%d %s: %s", co->id, co->name, w->what);
	co->wait = w;
	co->state = SIM_CO_BLOCKED;
	nr_blocked++;
	if (co->worker && sim.cpu[co->cpu].workers_active)
		sim.cpu[co->cpu].workers_active--;
	co_suspend(co);
	co->wait = NULL;
}

bool sim_quiesce(void)
{
	unsigned int n, i, blocked;

	sim_assert_driver(__func__);
	for (n = 0; n < SIM_DRIVE_STEPS_MAX; n++) {
		enum drive r = drive_once();

		if (r == DRIVE_MOVED)
			continue;
		if (r == DRIVE_READERS) {
			check_trace("quiesce: readers hold the grace period");
			return false;
		}
		for (i = 0, blocked = 0; i < sim.nr_co; i++)
			blocked += sim.co[i]->state == SIM_CO_BLOCKED;
		if (blocked) {
			check_fail(INV_PROGRESS, NULL, -1,
				   "quiesce: %u coroutines stay blocked with nothing left to run",
				   blocked);
			return false;
		}
		check_trace("quiet at %" PRIu64, sim.now);
		return true;
	}
	check_fail(INV_PROGRESS, NULL, -1, "quiesce: still busy after %u steps at %" PRIu64 " ns",
		   n, sim.now);
	return false;
}

/* ---------------------------------------------------------------------------
 * Frames: interrupts, NMIs and softirqs nested on the running stack
 */

static void noop(void *arg)
{
	(void)arg;
}

static void run_nested(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg)
{
	struct sim_cpu *c = &sim.cpu[cpu];
	struct sim_frame *f;
	struct check_task *ct;
	unsigned int want_bh;
	bool want_irqs_off;

	if (sim.depth + 1 >= SIM_FRAMES_MAX)
		KENV_DIE("interrupts nested deeper than SIM_FRAMES_MAX");
	f = &sim.frames[++sim.depth];
	ct = &sim.frame_ct[sim.depth];
	memset(ct, 0, sizeof(*ct));
	ct->name = ctx_names[ctx];
	memset(f, 0, sizeof(*f));
	f->ctx = ctx;
	f->cpu = cpu;
	f->ct = ct;
	f->saved_irqs_off = c->irqs_off;
	f->saved_preempt = c->preempt;
	f->saved_bh = c->bh;
	f->saved_rcu = c->rcu_nest;

	/* A softirq is served with bh counted and irqs on; handlers with irqs off. */
	if (ctx == KENV_CTX_SOFTIRQ) {
		c->bh++;
		c->irqs_off = false;
	} else {
		c->irqs_off = true;
		if (ctx == KENV_CTX_HARDIRQ)
			sim.st.irqs_delivered++;
		else
			sim.st.nmis_delivered++;
	}

	(fn ? fn : noop)(arg);

	want_bh = f->saved_bh + (ctx == KENV_CTX_SOFTIRQ);
	want_irqs_off = ctx != KENV_CTX_SOFTIRQ;
	if (f->locks || c->preempt != f->saved_preempt || c->bh != want_bh ||
	    c->rcu_nest != f->saved_rcu || c->irqs_off != want_irqs_off)
		check_fail(INV_LOCKING, NULL, (int)cpu,
			   "%s handler returned with %u raw locks held, preempt %u (entered %u), bh %u (entered %u), rcu nesting %u (entered %u), irqs %s",
			   ctx_names[ctx], f->locks, c->preempt, f->saved_preempt, c->bh, want_bh,
			   c->rcu_nest, f->saved_rcu, c->irqs_off ? "off" : "on");
	c->irqs_off = f->saved_irqs_off;
	c->preempt = f->saved_preempt;
	c->bh = f->saved_bh;
	c->rcu_nest = f->saved_rcu;
	sim.depth--;
	if (ctx == KENV_CTX_HARDIRQ)
		sim_irq_exit(cpu);
}

void sim_run_on(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg)
{
	struct sim_frame *idle;
	int saved_base;

	if (cpu == sim_cur_cpu()) {
		run_nested(cpu, ctx, fn, arg);
		return;
	}
	/* Another CPU is only reachable from main: it interrupts that CPU's idle loop. */
	if (sim.cur)
		KENV_DIE("code on one CPU tried to run a handler on another");
	if (sim.depth + 2 >= SIM_FRAMES_MAX)
		KENV_DIE("interrupts nested deeper than SIM_FRAMES_MAX");
	saved_base = sim.base;
	idle = &sim.frames[++sim.depth];
	memset(idle, 0, sizeof(*idle));
	idle->ctx = KENV_CTX_KTHREAD;
	idle->cpu = cpu;
	idle->idle = true;
	idle->ct = &sim.cpu[cpu].idle_ct;
	idle->ct->nr_held = 0;
	sim.base = sim.depth;
	run_nested(cpu, ctx, fn, arg);
	sim.depth--;
	sim.base = saved_base;
}

static bool inject_push(struct sim_injectq *q, void (*fn)(void *), void *arg)
{
	unsigned int i;

	if (q->count == SIM_INJECT_MAX)
		return false;
	i = (q->head + q->count) % SIM_INJECT_MAX;
	q->slot[i].fn = fn;
	q->slot[i].arg = arg;
	q->count++;
	return true;
}

static void inject_pop(struct sim_injectq *q, void (**fn)(void *), void **arg)
{
	*fn = q->slot[q->head].fn;
	*arg = q->slot[q->head].arg;
	q->head = (q->head + 1) % SIM_INJECT_MAX;
	q->count--;
}

bool sim_inject(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg)
{
	struct sim_cpu *c;

	if (cpu >= sim.cfg.nr_cpus || (ctx != KENV_CTX_HARDIRQ && ctx != KENV_CTX_NMI))
		kenv_die(__FILE__, __LINE__, __func__, "bad cpu or ctx (HARDIRQ or NMI)");
	c = &sim.cpu[cpu];
	if (!inject_push(ctx == KENV_CTX_NMI ? &c->nmis : &c->irqs, fn, arg))
		return false;
	check_trace("inject %s cpu%u", ctx_names[ctx], cpu);
	return true;
}

bool sim_call_irq(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg)
{
	sim_assert_driver(__func__);
	if (cpu >= sim.cfg.nr_cpus || ctx < KENV_CTX_SOFTIRQ || ctx >= KENV_CTX_NR)
		kenv_die(__FILE__, __LINE__, __func__, "bad cpu or ctx (SOFTIRQ, HARDIRQ or NMI)");
	if (!sim.cpu[cpu].online)
		return false;
	if (ctx == KENV_CTX_HARDIRQ && sim.cpu[cpu].irqs_off) {
		inject_push(&sim.cpu[cpu].irqs, fn, arg);
		check_trace("hardirq cpu%u held back", cpu);
		return false;
	}
	check_trace("%s cpu%u", ctx_names[ctx], cpu);
	sim_run_on(cpu, ctx, fn, arg);
	return true;
}

void sim_set_next_preempt(unsigned int cpu, int migrate_to_cpu)
{
	if (cpu >= sim.cfg.nr_cpus)
		kenv_die(__FILE__, __LINE__, __func__, "bad cpu");
	sim.cpu[cpu].next_preempt = migrate_to_cpu >= 0 ? migrate_to_cpu : -1;
}

/* ---------------------------------------------------------------------------
 * Instrumentation points
 */

static void preempt_current(int migrate_to, const char *site)
{
	struct sim_co *co = sim.cur;
	unsigned int from = co->cpu;

	if (migrate_to >= 0 && co->ctx == KENV_CTX_TASK && (unsigned int)migrate_to != from &&
	    (unsigned int)migrate_to < sim.cfg.nr_cpus && sim.cpu[migrate_to].online) {
		co->cpu = (unsigned int)migrate_to;
		sim.st.migrations++;
	}
	sim.st.preemptions++;
	check_trace("preempt co%d %s cpu%u->cpu%u at %s", co->id, co->name, from, co->cpu, site);
	co->state = SIM_CO_RUNNABLE;
	runq_add(co);
	co_suspend(co);
}

void sim_point(const char *site)
{
	struct sim_frame *f = sim_top();
	unsigned int cpu = f->cpu;
	struct sim_cpu *c = &sim.cpu[cpu];
	void (*fn)(void *);
	void *arg;
	unsigned int n;

	f->ct->last_site = site;
	if (f->ctx == KENV_CTX_NMI)
		return;

	/* NMIs ignore the irq mask. */
	if (c->nmis.count) {
		inject_pop(&c->nmis, &fn, &arg);
		check_trace("nmi cpu%u at %s", cpu, site);
		run_nested(cpu, KENV_CTX_NMI, fn, arg);
	}
	if (sim.cfg.nmi_permille && sim_chance(sim.cfg.nmi_permille)) {
		check_trace("nmi cpu%u at %s (random)", cpu, site);
		run_nested(cpu, KENV_CTX_NMI, sim.cfg.nmi_fn, sim.cfg.nmi_arg);
	}

	/* Hardirqs only while this CPU has irqs on; re-checked after each. */
	for (n = 0; c->irqs.count && !c->irqs_off && n < SIM_INJECT_MAX; n++) {
		inject_pop(&c->irqs, &fn, &arg);
		check_trace("hardirq cpu%u at %s", cpu, site);
		run_nested(cpu, KENV_CTX_HARDIRQ, fn, arg);
	}
	if (!c->irqs_off && sim.nr_timers)
		sim_timer_fire_due_on(cpu);
	if (!c->irqs_off && sim.cfg.irq_permille && sim_chance(sim.cfg.irq_permille)) {
		check_trace("hardirq cpu%u at %s (random)", cpu, site);
		run_nested(cpu, KENV_CTX_HARDIRQ, sim.cfg.irq_fn, sim.cfg.irq_arg);
	}

	if (!sim_sleepable())
		return;
	if (c->pool_nr < sim.cfg.pool_pages)
		sim_pool_refill(cpu);
	if (!sim.cur)
		return;		/* main (the driver) is never preempted */
	if (c->next_preempt != SIM_NO_PREEMPT) {
		int to = c->next_preempt;

		c->next_preempt = SIM_NO_PREEMPT;
		preempt_current(to, site);
	} else if (sim.cfg.preempt_permille && sim_chance(sim.cfg.preempt_permille)) {
		int to = -1;

		if (sim.cfg.migrate_permille && sim_chance(sim.cfg.migrate_permille))
			to = (int)sim_random_online_cpu((int)cpu);
		preempt_current(to, site);
	}
}

void kenv_sched_point(const char *site)
{
	sim_point(site);
}

/* ---------------------------------------------------------------------------
 * Contexts
 */

const char *kenv_ctx_name(enum kenv_ctx ctx)
{
	return (unsigned int)ctx < KENV_CTX_NR ? ctx_names[ctx] : "?";
}

enum kenv_ctx kenv_context(void)
{
	return sim_top()->ctx;
}

bool kenv_in_hardirq(void)
{
	return sim_top()->ctx == KENV_CTX_HARDIRQ;
}

bool kenv_in_softirq(void)
{
	int i;

	for (i = sim.base; i <= sim.depth; i++)
		if (sim.frames[i].ctx == KENV_CTX_SOFTIRQ)
			return true;
	return false;
}

bool kenv_in_nmi(void)
{
	return sim_top()->ctx == KENV_CTX_NMI;
}

bool kenv_irqs_disabled(void)
{
	return sim_this_cpu()->irqs_off;
}

bool sim_sleepable(void)
{
	const struct sim_frame *f = sim_top();
	const struct sim_cpu *c = &sim.cpu[f->cpu];

	return sim.depth == sim.base && !f->idle &&
	       (f->ctx == KENV_CTX_TASK || f->ctx == KENV_CTX_KTHREAD) &&
	       !c->irqs_off && !c->preempt && !c->bh && !c->rcu_nest && !f->locks;
}

bool kenv_preemptible(void)
{
	return sim_sleepable();
}

int kenv_cpu(void)
{
	return (int)sim_cur_cpu();
}

int kenv_nr_cpus(void)
{
	return (int)sim.cfg.nr_cpus;
}

bool kenv_cpu_online(int cpu)
{
	return cpu >= 0 && (unsigned int)cpu < sim.cfg.nr_cpus && sim.cpu[cpu].online;
}

struct check_task *check_current(void)
{
	return sim_top()->ct;
}

bool sim_might_block(const char *site)
{
	check_might_sleep(site);
	return sim_sleepable();
}

bool sim_nmi_forbidden(const char *fn)
{
	if (sim_top()->ctx != KENV_CTX_NMI)
		return false;
	check_fail(INV_LOCKING, NULL, (int)sim_cur_cpu(), "%s called from NMI context", fn);
	return true;
}

void sim_no_raw_lock(const char *fn)
{
	const struct check_task *ct = sim_top()->ct;
	unsigned int locks = 0;
	int i;

	for (i = sim.base; i <= sim.depth; i++)
		locks += sim.frames[i].locks;
	if (locks)
		check_fail(INV_NO_ALLOC_ATOMIC, NULL, (int)sim_cur_cpu(),
			   "%s called with %u raw locks held (innermost %s); it takes allocator locks",
			   fn, locks,
			   ct->nr_held ? ct->held[ct->nr_held - 1]->name : "unknown");
}

/* ---------------------------------------------------------------------------
 * Raw locks, irq masking, preemption, bh
 */

void kenv_lock_init(struct kenv_lock *lock, const char *name)
{
	atomic_store_explicit(&lock->word, 0, memory_order_relaxed);
	lock->name = name;
	lock->cpu = -1;
	lock->depth = 0;
}

void kenv_raw_spin_lock(struct kenv_lock *lock)
{
	struct sim_frame *f;
	unsigned long before;
	bool held;

	/* An interrupt may arrive just before the lock is taken. */
	sim_point("raw_spin_lock");
	f = sim_top();
	sim.cpu[f->cpu].preempt++;
	held = check_lock_would_deadlock(lock) ||
	       atomic_load_explicit(&lock->word, memory_order_relaxed);
	before = check_count(INV_LOCKING);
	check_lock_acquire(lock);
	/*
	 * Held already: nothing else can run to release it on one OS thread, so
	 * this is a self-deadlock.  The checker reports it; if it did not, the
	 * sim does.  Then go on as if acquired, so the run can finish.
	 */
	if (held && check_count(INV_LOCKING) == before)
		check_fail(INV_LOCKING, lock, (int)f->cpu,
			   "self-deadlock: %s is already held (taken on cpu %d) and cannot be released while this context spins",
			   lock->name, lock->cpu);
	atomic_store_explicit(&lock->word, (uintptr_t)f->ct, memory_order_relaxed);
	lock->cpu = (int)f->cpu;
	f->locks++;
}

void kenv_raw_spin_unlock(struct kenv_lock *lock)
{
	struct sim_frame *f = sim_top();
	struct sim_cpu *c = &sim.cpu[f->cpu];

	check_lock_release(lock);
	atomic_store_explicit(&lock->word, 0, memory_order_relaxed);
	lock->cpu = -1;
	if (f->locks)
		f->locks--;
	if (c->preempt)
		c->preempt--;
	sim_point("raw_spin_unlock");
}

bool kenv_lock_held(const struct kenv_lock *lock)
{
	return atomic_load_explicit(&lock->word, memory_order_relaxed) ==
	       (uintptr_t)sim_top()->ct;
}

unsigned long kenv_local_irq_save(void)
{
	struct sim_cpu *c = sim_this_cpu();
	unsigned long was_off = c->irqs_off;

	c->irqs_off = true;
	return was_off;
}

void kenv_local_irq_restore(unsigned long flags)
{
	sim_this_cpu()->irqs_off = flags != 0;
	/* Interrupts held back while masked arrive here. */
	sim_point("irq_restore");
}

void kenv_preempt_disable(void)
{
	sim_nmi_forbidden("kenv_preempt_disable");
	sim_this_cpu()->preempt++;
}

void kenv_preempt_enable(void)
{
	struct sim_cpu *c = sim_this_cpu();

	sim_nmi_forbidden("kenv_preempt_enable");
	if (!c->preempt) {
		check_fail(INV_LOCKING, NULL, (int)sim_cur_cpu(),
			   "kenv_preempt_enable without a matching disable (count 0)");
		return;
	}
	if (--c->preempt == 0)
		sim_point("preempt_enable");
}

void kenv_local_bh_disable(void)
{
	enum kenv_ctx ctx = sim_top()->ctx;

	if (ctx == KENV_CTX_HARDIRQ || ctx == KENV_CTX_NMI)
		check_fail(INV_LOCKING, NULL, (int)sim_cur_cpu(),
			   "kenv_local_bh_disable from %s context", ctx_names[ctx]);
	sim_this_cpu()->bh++;
}

void kenv_local_bh_enable(void)
{
	unsigned int cpu = sim_cur_cpu();
	struct sim_cpu *c = &sim.cpu[cpu];
	enum kenv_ctx ctx = sim_top()->ctx;

	if (!c->bh) {
		check_fail(INV_LOCKING, NULL, (int)cpu,
			   "kenv_local_bh_enable without a matching disable (count 0)");
		return;
	}
	/* Softirqs raised meanwhile run now, as local_bh_enable() does. */
	if (--c->bh == 0 && c->softirq_pending && !c->irqs_off &&
	    (ctx == KENV_CTX_TASK || ctx == KENV_CTX_KTHREAD))
		sim_do_softirq(cpu);
	sim_point("bh_enable");
}

/* A declaration only, as kenv.h has it: kenv_sched_point() is the point. */
void kenv_might_sleep(const char *site)
{
	sim_might_block(site);
}

void kenv_cond_resched(void)
{
	if (sim_might_block("cond_resched"))
		sim_point("cond_resched");
}

/* ---------------------------------------------------------------------------
 * Clock, warnings
 */

uint64_t kenv_clock_ns(void)
{
	return sim.now;
}

void kenv_warn(enum kenv_warn_kind kind, const char *invariant, const char *cond,
	       const void *obj, const char *file, int line, const char *func)
{
	check_warned(kind, invariant, cond, obj, file, line, func);
}

_Noreturn void kenv_die(const char *file, int line, const char *func, const char *msg)
{
	/* No stdio buffering: this may run on a coroutine stack in any state. */
	dprintf(STDERR_FILENO, "kvtorture: fatal (sim): %s:%d: %s: %s\n", file, line, func, msg);
	exit(99);
}

/* ---------------------------------------------------------------------------
 * CPU hotplug
 */

static struct {
	void (*fn)(int cpu);
	int cpu;
} hook_call;

static void hook_body(void *arg)
{
	(void)arg;
	hook_call.fn(hook_call.cpu);
}

void sim_set_hotplug_hooks(void (*offline)(int cpu), void (*online)(int cpu))
{
	sim.hook_offline = offline;
	sim.hook_online = online;
}

/* Run @fn(@cpu) in a task on @on and wait (driving the sim) until it ends. */
static void run_hook(void (*fn)(int cpu), int cpu, unsigned int on, const char *name)
{
	struct sim_wait w;
	int id;

	if (!fn)
		return;
	hook_call.fn = fn;
	hook_call.cpu = cpu;
	id = sim_spawn(on, KENV_CTX_TASK, hook_body, NULL, name);
	if (id < 0)
		KENV_DIE("no coroutine left for a hotplug hook");
	memset(&w, 0, sizeof(w));
	w.kind = SIM_WAIT_TASK;
	w.what = name;
	w.task = id;
	sim_block(&w);
}

bool sim_cpu_offline(unsigned int cpu)
{
	struct sim_cpu *c;
	unsigned int to, i, online = 0;

	sim_assert_driver(__func__);
	if (cpu >= sim.cfg.nr_cpus || !sim.cpu[cpu].online)
		return false;
	for (i = 0; i < sim.cfg.nr_cpus; i++)
		online += sim.cpu[i].online;
	if (online < 2)
		return false;
	c = &sim.cpu[cpu];
	to = sim_first_online_cpu((int)cpu);
	check_trace("cpu%u going offline, tasks to cpu%u", cpu, to);

	/* ksoftirqd drains what is pending before the CPU parks. */
	sim_do_softirq(cpu);
	if (c->irqs.count || c->nmis.count)
		check_trace("cpu%u offline drops %u injected interrupts", cpu,
			    c->irqs.count + c->nmis.count);
	c->irqs.count = 0;
	c->nmis.count = 0;
	c->next_preempt = SIM_NO_PREEMPT;
	c->online = false;

	/* Everything that would run on @cpu moves: affinity is broken. */
	for (i = 0; i < sim.nr_co; i++) {
		struct sim_co *co = sim.co[i];

		if (co->state == SIM_CO_FREE || co->cpu != cpu)
			continue;
		co->cpu = to;
		if (co->worker && co->state != SIM_CO_BLOCKED) {
			c->workers_active--;
			sim.cpu[to].workers_active++;
		}
		check_trace("co%d %s moves cpu%u->cpu%u", co->id, co->name, cpu, to);
	}
	if (sim.cfg.driver_cpu == cpu) {
		sim.cfg.driver_cpu = to;
		sim.frames[0].cpu = to;
	}
	sim_work_migrate(cpu, to);
	sim_timer_migrate(cpu, to);
	sim_rcu_migrate_callbacks(cpu, to);

	check_cpu_offline((int)cpu);
	check_trace("cpu%u offline", cpu);
	run_hook(sim.hook_offline, (int)cpu, to, "cpu-offline");
	return true;
}

bool sim_cpu_online(unsigned int cpu)
{
	struct sim_cpu *c;

	sim_assert_driver(__func__);
	if (cpu >= sim.cfg.nr_cpus || sim.cpu[cpu].online)
		return false;
	c = &sim.cpu[cpu];
	c->irqs_off = false;
	c->preempt = 0;
	c->bh = 0;
	c->rcu_nest = 0;
	c->softirq_pending = 0;
	c->workers_active = 0;
	c->online = true;
	check_cpu_online((int)cpu);
	check_trace("cpu%u online", cpu);
	sim_pool_refill(cpu);
	run_hook(sim.hook_online, (int)cpu, cpu, "cpu-online");
	return true;
}

/* ---------------------------------------------------------------------------
 * Statistics
 */

void sim_stats(struct sim_stats *st)
{
	unsigned int cpu;

	*st = sim.st;
	st->pool_pages = 0;
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		st->pool_pages += sim.cpu[cpu].pool_nr;
}
