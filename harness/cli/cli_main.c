// SPDX-License-Identifier: MIT
/*
 * cli_main.c - the main of one variant of `kvtorture` (cli.h): compiled once
 * per row of the meson variant table, with that row's values.
 */
#include <stddef.h>

#include "cli.h"

#ifndef KVT_VARIANT_IMPL
#define KVT_VARIANT_IMPL "reference"
#endif
#ifndef KVT_VARIANT_BUG
#define KVT_VARIANT_BUG ""
#endif
#ifndef KVT_VARIANT_STRESS
#define KVT_VARIANT_STRESS NULL
#endif
#ifndef KVT_VARIANT_BENCH
#define KVT_VARIANT_BENCH NULL
#endif
#ifndef KVT_VARIANT_KERNEL
#define KVT_VARIANT_KERNEL NULL
#endif

static const struct kvt_cli_variant variant = {
	.impl = KVT_VARIANT_IMPL,
	.injected_bug = KVT_VARIANT_BUG,
	.stress_program = KVT_VARIANT_STRESS,
	.bench_program = KVT_VARIANT_BENCH,
	.kernel_program = KVT_VARIANT_KERNEL,
};

int main(int argc, char **argv)
{
	return kvt_cli_main(&variant, argc, argv);
}
