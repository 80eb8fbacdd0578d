/* SPDX-License-Identifier: MIT */
/* kvstress: the stress runner as a program of its own (see stress.h). */
#include "stress.h"

int main(int argc, char **argv)
{
	return kvt_stress_main(argc, argv);
}
