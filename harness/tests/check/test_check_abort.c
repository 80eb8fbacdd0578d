/* SPDX-License-Identifier: MIT */
/*
 * test_check_abort.c - CHECK_ABORT mode: the first violation prints its report
 * to fd 2, runs the abort hook once with the report text, and exits with
 * status 1 (a forked child is the run; the parent inspects it).  Also the
 * checker's own assertion: a _locked function called without the shadow lock
 * dies with status 99; and so does a shadow heap with no record left, counting
 * what it holds.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "check_internal.h"
#include "fake_env.h"

static int hook_fd;

static void abort_hook(enum check_inv inv, const char *report)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "hook %s %zu\n", check_inv_name(inv),
			 strlen(report));

	if (write(hook_fd, line, (size_t)n) != n)
		_exit(3);
}

static void child(int err_fd, int hook_pipe)
{
	static char obj[32];

	dup2(err_fd, 2);
	hook_fd = hook_pipe;
	fake_ctx_default();
	fake_impl_reset();
	check_set_mode(CHECK_ABORT);
	check_set_abort_hook(abort_hook);
	check_set_repro("kvtorture replay corpus/found/x.kvt");
	check_reset();
	check_trace("op queue obj0 cpu0");
	check_obj_new(obj, sizeof(obj), false);
	check_obj_queued(obj, 0, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	check_obj_freed(obj, "kfree_bulk");	/* GP-SAFETY: exits 1 here */
	check_obj_freed(obj, "kfree_bulk");	/* never reached */
	_exit(0);
}

/* A _locked function without its lock: the assertion on its first line dies. */
static void child_unlocked(int err_fd, int hook_pipe)
{
	struct check_shadow_sums sums;

	(void)hook_pipe;
	dup2(err_fd, 2);
	fake_ctx_default();
	fake_impl_reset();
	check_reset();
	check_shadow_lock();
	check_shadow_sums_locked(&sums);	/* held: fine */
	check_shadow_unlock();
	check_shadow_sums_locked(&sums);	/* not held: exits 99 here */
	_exit(0);
}

/*
 * More live objects than the shadow has records: it dies (99) and counts what
 * it holds: 4 queued, 2 new (one of them an NMI call's, refused).
 */
static void child_heap_full(int err_fd, int hook_pipe)
{
	static char objs[8][32];

	(void)hook_pipe;
	dup2(err_fd, 2);
	fake_ctx_default();
	fake_impl_reset();
	check_set_capacity(6);
	check_reset();
	for (int i = 0; i < 4; i++) {
		check_obj_new(objs[i], 32, false);
		check_obj_queued(objs[i], 0, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	}
	check_obj_new(objs[4], 32, false);
	check_obj_queued(objs[4], 0, KENV_CTX_NMI, false, CHECK_EXPECT_REFUSED);
	check_obj_new(objs[5], 32, false);
	check_obj_new(objs[6], 32, false);	/* the seventh record: exits 99 here */
	_exit(0);
}

static size_t slurp(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t r;

	while (len + 1 < size && (r = read(fd, buf + len, size - len - 1)) > 0)
		len += (size_t)r;
	buf[len] = 0;
	return len;
}

/*
 * Run @body(err_fd, hook_fd) in a forked child; its fd 2 and hook output into
 * @out and @hooked.  Returns its wait status, or -1 if it could not start.
 */
static int run_child(void (*body)(int err_fd, int hook_fd), char *out, size_t out_size,
		     char *hooked, size_t hooked_size)
{
	int err[2], hook[2], status = 0;
	pid_t pid;

	if (pipe(err) || pipe(hook))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(err[0]);
		close(hook[0]);
		body(err[1], hook[1]);
	}
	close(err[1]);
	close(hook[1]);
	slurp(err[0], out, out_size);
	slurp(hook[0], hooked, hooked_size);
	waitpid(pid, &status, 0);
	close(err[0]);
	close(hook[0]);
	return status;
}

int main(void)
{
	static char out[16384], hooked[256];
	int status = run_child(child, out, sizeof(out), hooked, sizeof(hooked));

	if (status < 0)
		return 99;
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 1, "abort: exit status 1");
	tap_ok(strstr(out, "kvtorture: VIOLATION GP-SAFETY obj=") == out,
	       "abort: the report goes to fd 2 and names the invariant first");
	tap_ok(strstr(out, "needs gp_ended >= 1") && strstr(out, "#1 op queue obj0 cpu0") &&
	       strstr(out, "reproduce: kvtorture replay corpus/found/x.kvt"),
	       "abort: both sides, the trace and the reproducer are in the report");
	tap_ok(!strstr(out, "EXACTLY-ONCE"), "abort: nothing runs after the first violation");
	tap_ok(strncmp(hooked, "hook GP-SAFETY ", 15) == 0 && !strchr(hooked + 15, 'h'),
	       "abort: the hook ran once, with the report");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
		tap_diag("status 0x%x\n%s\n%s", status, out, hooked);

	status = run_child(child_unlocked, out, sizeof(out), hooked, sizeof(hooked));
	if (status < 0)
		return 99;
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 99 &&
	       strstr(out, "check_shadow_sums_locked") && strstr(out, "without the shadow lock"),
	       "assert: a _locked function without the shadow lock dies (99)");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 99)
		tap_diag("status 0x%x\n%s", status, out);

	status = run_child(child_heap_full, out, sizeof(out), hooked, sizeof(hooked));
	if (status < 0)
		return 99;
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 99 &&
	       strstr(out, "shadow heap full of live objects (6 records: 2 new, 1 of them "
		      "refused calls; 4 queued, 0 of them may leak; 0 freed)"),
	       "heap full: dies (99) and counts the records it holds by state");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 99)
		tap_diag("status 0x%x\n%s", status, out);
	return tap_done();
}
