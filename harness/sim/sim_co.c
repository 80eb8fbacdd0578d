/* SPDX-License-Identifier: MIT */
/*
 * sim_co.c - coroutines: their stacks, creation and reuse, and the switch
 * between main and a coroutine, with the sanitizers' fiber annotations.
 *
 * Switches happen only between main (the driver and the scheduler it calls)
 * and one coroutine: sim_co_resume() from main, sim_co_suspend() from the
 * coroutine.  A coroutine's stack is kept for the next one when it finishes
 * (a finished body returns into co_trampoline, which waits to be reused),
 * and across runs: sim_init() only marks blocked ones to be re-made.
 */
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

#ifdef SIM_ASAN
#define SIM_STACK_SIZE (256u * 1024u)
#else
#define SIM_STACK_SIZE (128u * 1024u)
#endif

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
	size_t page;
	unsigned int i;

	for (i = 0; i < sim.nr_co_used; i++)
		if (sim.co[i]->state == SIM_CO_FREE)
			return sim.co[i];
	/* A slot an earlier run allocated, free since sim_co_reset(). */
	if (sim.nr_co_used < sim.nr_co)
		return sim.co[sim.nr_co_used++];
	if (sim.nr_co == SIM_CO_MAX)
		return NULL;

	co = calloc(1, sizeof(*co));
	if (!co)
		KENV_DIE("out of memory for a coroutine");
	/* Asked only here: a call per spawn was 0.7 % of a plain fuzz run. */
	page = (size_t)sysconf(_SC_PAGESIZE);
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
	sim.nr_co_used = sim.nr_co;
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

/*
 * main -> @co.  Returns when @co switches back (it blocked, was preempted or
 * finished).  The driver's base frame is set aside meanwhile.
 */
__attribute__((noinline)) void sim_co_resume(struct sim_co *co)
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
__attribute__((noinline)) void sim_co_suspend(struct sim_co *co)
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

static void co_trampoline(void)
{
	struct sim_co *co = sim.cur;

	san_finish_switch(NULL, &main_stack_bottom, &main_stack_size);
	for (;;) {
		co->fn(co->arg);
		sim_context_ended(co->name);
		check_trace("exit co%d %s", co->id, co->name);
		if (co->worker && sim.cpu[co->cpu].workers_active)
			sim.cpu[co->cpu].workers_active--;
		co->state = SIM_CO_FREE;
		co->id = -1;
		sim_wake_note(SIM_WAIT_TASK);
		sim_co_suspend(co);
		/* Reused: main set up a new fn and switched back in. */
		co = sim.cur;
	}
}

struct sim_co *sim_co_spawn(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg,
			    const char *name, bool worker)
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
	co->name = name ? name : sim_ctx_names[ctx];
	co->wait = NULL;
	memset(&co->ct, 0, sizeof(co->ct));
	co->ct.name = co->name;
	memset(&co->frame, 0, sizeof(co->frame));
	co->frame.ctx = ctx;
	co->frame.softirq = ctx == KENV_CTX_SOFTIRQ;
	co->frame.cpu = cpu;
	co->frame.ct = &co->ct;
	co->frame.co = co;
	co->state = SIM_CO_RUNNABLE;
	sim_pct_spawned(co);
	sim_runq_add(co);
	if (worker)
		sim.cpu[cpu].workers_active++;
	check_trace("spawn co%d %s %s cpu%u", co->id, co->name, sim_ctx_names[ctx], cpu);
	return co;
}

/*
 * sim_init(): coroutines still blocked from the last run are abandoned.  The
 * slots above nr_co_used were not handed out since the last reset, and are
 * free already.
 */
void sim_co_reset(void)
{
	unsigned int i;

	for (i = 0; i < sim.nr_co_used; i++) {
		struct sim_co *co = sim.co[i];

		if (co->state != SIM_CO_FREE)
			co->fresh = true;
		co->state = SIM_CO_FREE;
		co->id = -1;
		co->wait = NULL;
	}
	sim.nr_co_used = 0;
}
