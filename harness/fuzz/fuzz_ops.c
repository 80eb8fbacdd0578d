// SPDX-License-Identifier: MIT
/*
 * fuzz_ops.c - fuzz the reference implementation through the op language.
 *
 * The input is a binary op program (ops.h): a configuration header, then
 * 4-byte op records.  Every byte string is a valid program; it runs in the
 * deterministic simulation under the invariant checker (the structural
 * checks included), all three refill policies reachable from the header.
 * A pct-change record turns on PCT scheduling for the input, with the change
 * points its pct-change records choose.  A violation prints the checker's report
 * and aborts, so every engine (libFuzzer, AFL++, the replay main) records it
 * as a crash; `kvtorture replay CRASH-FILE` reproduces it.
 */
#include <stdlib.h>

#include "exec.h"
#include "fuzz.h"
#include "ops.h"

static void fuzz_abort(enum check_inv inv, const char *report)
{
	(void)inv;
	(void)report;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvt_run_opts opts;
	struct kvt_prog prog;

	if (size > KVT_MAX_INPUT)
		return 0;
	kvt_prog_decode(data, size, &prog);
	kvt_run_opts_default(&opts);
	opts.mode = CHECK_ABORT;
	opts.abort_hook = fuzz_abort;
	opts.repro = "kvtorture replay <this input>";
	/* Nothing here reads the trace hash; a replay computes it. */
	opts.no_trace_hash = true;
	kvt_run(&prog, &opts);
	kvt_prog_free(&prog);
	return 0;
}
