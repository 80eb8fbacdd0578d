/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what every fuzz target exports.  Each target is one file with
 * LLVMFuzzerTestOneInput() (and optionally LLVMFuzzerInitialize()); the engine
 * is chosen at build time (-Dfuzzing=none|libfuzzer|afl|oss-fuzz).  With
 * "none", replay_main.c supplies main(): it runs every file (or every file in
 * every folder) named on the command line once, so each corpus file is a test.
 */
#ifndef KVTORTURE_FUZZ_H
#define KVTORTURE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif /* KVTORTURE_FUZZ_H */
