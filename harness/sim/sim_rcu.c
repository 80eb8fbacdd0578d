/* SPDX-License-Identifier: MIT */
/*
 * sim_rcu.c - simulated RCU: a kernel-style grace-period sequence counter,
 * explicit readers, read-side sections taken by code, callbacks invoked from
 * a per-CPU RCU softirq, rcu_barrier, synchronize_rcu and the polled cookies.
 *
 * The counter's low two bits are the state (0 idle, 1 in progress); a GP
 * start adds 1 and a GP end rounds up to the next multiple of 4.  A cookie is
 * the counter value at which a full GP that starts after the cookie was
 * taken will have ended; it has passed when the counter is at or beyond it,
 * compared modulo the word size.  The counter starts 300 GPs below the wrap
 * so that every run crosses it early.
 *
 * A GP numbered N (the N-th start) may end only when no reader that began
 * while fewer than N GPs had started is still inside: those readers predate
 * it.
 */
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "sim_internal.h"

#define GP_STATE_MASK	3ul
#define GP_SEQ_INIT	((0ul - 300ul) << 2)

static bool seq_ge(unsigned long a, unsigned long b)
{
	return ULONG_MAX / 2 >= a - b;
}

void sim_rcu_reset(void)
{
	sim.gp_seq = GP_SEQ_INIT;
	sim.gp_needed = GP_SEQ_INIT;
	sim.gp_starts = 0;
	sim.gp_start_time = 0;
	memset(sim.reader, 0, sizeof(sim.reader));
	sim.readers_inside = 0;
}

static unsigned long gp_snap(void)
{
	return (sim.gp_seq + 2 * GP_STATE_MASK + 1) & ~GP_STATE_MASK;
}

unsigned long sim_rcu_snap_and_request(void)
{
	unsigned long s = gp_snap();

	if (!seq_ge(sim.gp_needed, s))
		sim.gp_needed = s;
	return s;
}

bool sim_rcu_cookie_done(unsigned long cookie)
{
	return seq_ge(sim.gp_seq, cookie);
}

unsigned long sim_gp_seq(void)
{
	return sim.gp_seq;
}

bool sim_gp_in_progress(void)
{
	return (sim.gp_seq & GP_STATE_MASK) != 0;
}

bool sim_gp_needed(void)
{
	return !seq_ge(sim.gp_seq, sim.gp_needed);
}

bool sim_rcu_readers_allow(void)
{
	uint64_t n = sim.gp_starts;
	unsigned int i;

	if (sim.readers_inside)
		for (i = 0; i < SIM_READERS_MAX; i++)
			if (sim.reader[i].inside && sim.reader[i].gp < n)
				return false;
	for (i = 0; i < sim.cfg.nr_cpus; i++)
		if (sim.cpu[i].rcu_nest && sim.cpu[i].rcu_nest_gp < n)
			return false;
	return true;
}

void sim_rcu_start_gp(void)
{
	if (sim_gp_in_progress())
		return;
	sim.gp_seq++;
	sim_wake_note(SIM_WAIT_GP);
	sim.gp_starts++;
	sim.gp_start_time = sim.now;
	sim.st.gps_started++;
	check_trace("gp %" PRIu64 " starts", sim.gp_starts);
	check_gp_started();
}

void sim_rcu_end_gp(void)
{
	unsigned int cpu;

	if (!sim_gp_in_progress())
		return;
	sim.gp_seq = (sim.gp_seq | GP_STATE_MASK) + 1;
	sim_wake_note(SIM_WAIT_GP);
	sim.st.gps_completed++;
	check_trace("gp %" PRIu64 " ends", sim.gp_starts);
	check_gp_ended();
	/* Callbacks this GP satisfied run from their CPU's RCU softirq. */
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++) {
		struct sim_cpu *c = &sim.cpu[cpu];

		if (c->seg_nr && sim_rcu_cookie_done(c->seg[c->seg_first].cookie))
			c->softirq_pending |= 1u << SIM_SOFTIRQ_RCU;
	}
}

bool sim_rcu_auto_step(void)
{
	if (sim_gp_in_progress()) {
		if (sim.now - sim.gp_start_time >= sim.cfg.gp_duration_ns &&
		    sim_rcu_readers_allow()) {
			sim_rcu_end_gp();
			return true;
		}
		return false;
	}
	if (sim_gp_needed()) {
		sim_rcu_start_gp();
		return true;
	}
	return false;
}

bool sim_rcu_auto_end_time(uint64_t *when)
{
	if (!sim_gp_in_progress())
		return false;
	*when = sim.gp_start_time + sim.cfg.gp_duration_ns;
	return true;
}

/* ---- driver: explicit GPs and readers -------------------------------------- */

void sim_gp_start(void)
{
	sim_assert_driver(__func__);
	sim_rcu_start_gp();
}

bool sim_gp_try_end(void)
{
	sim_assert_driver(__func__);
	if (!sim_gp_in_progress() || !sim_rcu_readers_allow())
		return false;
	sim_rcu_end_gp();
	return true;
}

static void rcu_softirq(void *arg)
{
	sim_rcu_invoke_ready((unsigned int)(uintptr_t)arg);
}

bool sim_gp_complete(void)
{
	unsigned int cpu;

	sim_assert_driver(__func__);
	sim_rcu_start_gp();
	if (!sim_rcu_readers_allow()) {
		check_trace("gp %" PRIu64 " held by a reader", sim.gp_starts);
		return false;
	}
	sim_rcu_end_gp();
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++) {
		struct sim_cpu *c = &sim.cpu[cpu];

		if (!c->online || !(c->softirq_pending & (1u << SIM_SOFTIRQ_RCU)))
			continue;
		c->softirq_pending &= ~(1u << SIM_SOFTIRQ_RCU);
		sim.st.softirqs_run++;
		sim_run_on(cpu, KENV_CTX_SOFTIRQ, rcu_softirq, (void *)(uintptr_t)cpu);
	}
	return true;
}

int sim_reader_begin(unsigned int cpu)
{
	int i;

	if (cpu >= sim.cfg.nr_cpus)
		kenv_die(__FILE__, __LINE__, __func__, "bad cpu");
	for (i = 0; i < SIM_READERS_MAX; i++) {
		if (sim.reader[i].inside)
			continue;
		sim.reader[i].inside = true;
		sim.reader[i].cpu = cpu;
		sim.reader[i].gp = sim.gp_starts;
		sim.readers_inside++;
		check_trace("reader %d begins cpu%u", i, cpu);
		check_reader_begin(i);
		return i;
	}
	return -1;
}

static bool reader_valid(int id)
{
	return id >= 0 && id < SIM_READERS_MAX && sim.reader[id].inside;
}

void sim_reader_deref(int id, const void *obj)
{
	if (!reader_valid(id))
		return;
	check_trace("reader %d derefs", id);
	check_reader_deref(id, obj);
}

void sim_reader_end(int id)
{
	if (!reader_valid(id))
		return;
	sim.reader[id].inside = false;
	sim.readers_inside--;
	check_trace("reader %d ends", id);
	check_reader_end(id);
}

unsigned int sim_readers_inside(void)
{
	return sim.readers_inside;
}

/* ---- kenv: read side, cookies ---------------------------------------------- */

void kenv_rcu_read_lock(void)
{
	struct sim_cpu *c = sim_this_cpu();

	check_nmi_unsafe("kenv_rcu_read_lock");
	if (c->rcu_nest++ == 0)
		c->rcu_nest_gp = sim.gp_starts;
}

void kenv_rcu_read_unlock(void)
{
	struct sim_cpu *c = sim_this_cpu();

	check_nmi_unsafe("kenv_rcu_read_unlock");
	check_nest_exit("kenv_rcu_read_unlock", c->rcu_nest);
	if (!c->rcu_nest)
		return;
	c->rcu_nest--;
}

unsigned long kenv_get_state_synchronize_rcu(void)
{
	check_nmi_unsafe("kenv_get_state_synchronize_rcu");
	/* Like the kernel's get_state: a cookie only, no GP is requested. */
	return gp_snap();
}

bool kenv_poll_state_synchronize_rcu(unsigned long cookie)
{
	return sim_rcu_cookie_done(cookie);
}

/* ---- callbacks ----------------------------------------------------------------- */

/* Append @count callbacks waiting for @cookie to @c's segment ring. */
static void seg_append(struct sim_cpu *c, unsigned long cookie, unsigned long count)
{
	struct sim_cbseg *last = c->seg_nr ?
		&c->seg[(c->seg_first + c->seg_nr - 1) % SIM_CB_SEGS] : NULL;

	if (last && last->cookie == cookie) {
		last->count += count;
		return;
	}
	if (c->seg_nr == SIM_CB_SEGS) {
		/* Full: fold into the newest segment under the later cookie (waits longer, never shorter). */
		if (!seq_ge(last->cookie, cookie))
			last->cookie = cookie;
		last->count += count;
		return;
	}
	last = &c->seg[(c->seg_first + c->seg_nr) % SIM_CB_SEGS];
	last->cookie = cookie;
	last->count = count;
	c->seg_nr++;
}

void sim_rcu_queue(struct kenv_rcu_head *head, void (*func)(struct kenv_rcu_head *))
{
	struct sim_cpu *c = sim_this_cpu();
	unsigned long cookie = sim_rcu_snap_and_request();

	head->func = func;
	head->next = NULL;
	*c->cb_tail = head;
	c->cb_tail = &head->next;
	seg_append(c, cookie, 1);
	c->cb_queued++;
}

void kenv_call_rcu(struct kenv_rcu_head *head, void (*func)(struct kenv_rcu_head *))
{
	if (check_nmi_unsafe("kenv_call_rcu"))
		return;
	check_trace("call_rcu cpu%u", sim_cur_cpu());
	sim_rcu_queue(head, func);
}

void sim_rcu_invoke_ready(unsigned int cpu)
{
	struct sim_cpu *c = &sim.cpu[cpu];

	while (c->seg_nr && sim_rcu_cookie_done(c->seg[c->seg_first].cookie)) {
		unsigned long n = c->seg[c->seg_first].count;

		/* Pop the segment first: callbacks may queue new ones. */
		c->seg_first = (c->seg_first + 1) % SIM_CB_SEGS;
		c->seg_nr--;
		check_trace("rcu callbacks cpu%u: %lu", cpu, n);
		while (n--) {
			struct kenv_rcu_head *head = c->cb_head;

			c->cb_head = head->next;
			if (!c->cb_head)
				c->cb_tail = &c->cb_head;
			c->cb_invoked++;
			sim_wake_note(SIM_WAIT_BARRIER);
			sim.st.callbacks_invoked++;
			head->func(head);
		}
	}
}

bool sim_rcu_barrier_done(const struct sim_wait *w)
{
	unsigned int cpu;

	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if ((long)(sim.cpu[cpu].cb_invoked - w->marks[cpu]) < 0)
			return false;
	return true;
}

static void barrier_follow(struct sim_wait *w, unsigned int from, unsigned int to,
			   unsigned long from_invoked)
{
	if (w && w->kind == SIM_WAIT_BARRIER && (long)(from_invoked - w->marks[from]) < 0)
		w->marks[to] = sim.cpu[to].cb_queued;
}

void sim_rcu_migrate_callbacks(unsigned int from, unsigned int to)
{
	struct sim_cpu *f = &sim.cpu[from], *t = &sim.cpu[to];
	unsigned long n = f->cb_queued - f->cb_invoked, from_invoked = f->cb_invoked;
	unsigned int i;

	if (!n)
		return;
	*t->cb_tail = f->cb_head;
	t->cb_tail = f->cb_tail;
	for (i = 0; i < f->seg_nr; i++) {
		const struct sim_cbseg *s = &f->seg[(f->seg_first + i) % SIM_CB_SEGS];

		seg_append(t, s->cookie, s->count);
	}
	t->cb_queued += n;
	f->cb_invoked = f->cb_queued;
	sim_wake_note(SIM_WAIT_BARRIER);
	f->cb_head = NULL;
	f->cb_tail = &f->cb_head;
	f->seg_nr = 0;
	f->seg_first = 0;

	/* A barrier that waited for them on @from now waits for @to's tail. */
	for (i = 0; i < sim.nr_co_used; i++)
		if (sim.co[i]->state == SIM_CO_BLOCKED)
			barrier_follow(sim.co[i]->wait, from, to, from_invoked);
	barrier_follow(sim.driver_wait, from, to, from_invoked);

	if (t->seg_nr && sim_rcu_cookie_done(t->seg[t->seg_first].cookie))
		t->softirq_pending |= 1u << SIM_SOFTIRQ_RCU;
	check_trace("rcu callbacks cpu%u->cpu%u: %lu", from, to, n);
}

void kenv_rcu_barrier(void)
{
	struct sim_wait w;
	bool can = sim_might_block("rcu_barrier");
	unsigned int cpu;

	memset(&w, 0, sizeof(w));
	w.kind = SIM_WAIT_BARRIER;
	w.what = "rcu_barrier";
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		w.marks[cpu] = sim.cpu[cpu].cb_queued;
	check_trace("rcu_barrier cpu%u", sim_cur_cpu());
	if (!can)
		return;
	sim_block(&w);
}

void kenv_synchronize_rcu(void)
{
	struct sim_wait w;
	bool can = sim_might_block("synchronize_rcu");
	int i;

	memset(&w, 0, sizeof(w));
	w.kind = SIM_WAIT_GP;
	w.what = "synchronize_rcu";
	w.cookie = sim_rcu_snap_and_request();
	check_trace("synchronize_rcu cpu%u", sim_cur_cpu());
	if (can) {
		sim_block(&w);
		return;
	}
	/*
	 * Not allowed to sleep (reported): rather than deadlock, push GPs
	 * through inline if no reader (the caller's own included) forbids it.
	 */
	for (i = 0; i < 2 && !sim_rcu_cookie_done(w.cookie); i++) {
		sim_rcu_start_gp();
		if (!sim_rcu_readers_allow())
			break;
		sim_rcu_end_gp();
	}
}
