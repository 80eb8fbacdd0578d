// SPDX-License-Identifier: MIT
/*
 * count_target.c - a fuzz target that only reports its calls, for the replay
 * main's test: each call writes one line to stdout, "call SIZE SUM", the
 * input's length and the sum of its bytes.  So the test counts the runs an
 * input got and sees that each one was handed the whole file.
 */
#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long sum = 0;

	for (size_t i = 0; i < size; i++)
		sum += data[i];
	printf("call %zu %lu\n", size, sum);
	return 0;
}
