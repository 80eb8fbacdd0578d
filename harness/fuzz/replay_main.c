// SPDX-License-Identifier: MIT
/*
 * replay_main.c - main() for fuzz targets built without a fuzzing engine,
 * and for the timing programs of a libFuzzer build (fuzz-ops-time).
 *
 *   PROGRAM [-runs=N] [-timeout=S] FILE|DIR...
 *
 * Runs LLVMFuzzerTestOneInput() on every file named on the command line; a
 * folder stands for every regular file in it (sorted, so runs repeat).  Each
 * input is read once, into an exact-size heap copy, and run N times (default
 * 1) in this process: "Running: FILE" before, "Executed FILE in T us per run
 * (N runs)" after, T in this thread's CPU time.  So a timing of many inputs
 * is the target's own work, without the file system's (libFuzzer's -runs=N
 * replay reads the file again for every run).  -timeout=S ends the program
 * with exit 1, naming the input, when its N runs take more than N x S
 * seconds; 0 (the default) sets no bound.  The options are libFuzzer's
 * spelling, so the same command times a libFuzzer build or this one.
 *
 * A target reports a violation by exiting 1 itself (through the checker);
 * this main exits 0 when every input ran, 2 when an input could not be read
 * or an option is wrong (the message names the argument).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

/* Weak default so targets without an initializer link. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static unsigned long runs = 1, timeout_s;
/* The input being run, for the timeout's message. */
static const char *volatile current;

/* Context: SIGALRM, the input's time is up: name it and leave (async-signal-safe calls only). */
static void on_timeout(int sig)
{
	static const char what[] = "timeout: the runs of ";
	static const char why[] = " took longer than -timeout allows\n";
	const char *path = current ? current : "(no input)";

	(void)sig;
	(void)!write(STDERR_FILENO, what, sizeof(what) - 1);
	(void)!write(STDERR_FILENO, path, strlen(path));
	(void)!write(STDERR_FILENO, why, sizeof(why) - 1);
	_exit(1);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint64_t t0, ns;
	uint8_t *buf;
	long size;

	if (!f) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return 2;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot size: %s\n", path, strerror(errno));
		fclose(f);
		return 2;
	}
	/* An exact-size heap copy, so ASan catches any read past the input. */
	buf = malloc(size ? (size_t)size : 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		free(buf);
		fclose(f);
		return 2;
	}
	fclose(f);
	fprintf(stderr, "Running: %s\n", path);
	current = path;
	if (timeout_s)
		alarm(runs < UINT_MAX / timeout_s ? (unsigned int)(timeout_s * runs) : UINT_MAX);
	t0 = thread_cpu_ns();
	for (unsigned long r = 0; r < runs; r++)
		LLVMFuzzerTestOneInput(buf, (size_t)size);
	ns = thread_cpu_ns() - t0;
	if (timeout_s)
		alarm(0);
	current = NULL;
	fprintf(stderr, "Executed %s in %.2f us per run (%lu runs)\n", path,
		(double)ns / 1000.0 / (double)runs, runs);
	free(buf);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
	struct dirent *de;
	char **names = NULL;
	size_t nr = 0, cap = 0;
	int rc = 0;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "%s: cannot open folder: %s\n", dir, strerror(errno));
		return 2;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (nr == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names) {
				fprintf(stderr, "%s: out of memory\n", dir);
				exit(99);
			}
		}
		if (asprintf(&names[nr], "%s/%s", dir, de->d_name) < 0) {
			fprintf(stderr, "%s: out of memory\n", dir);
			exit(99);
		}
		nr++;
	}
	closedir(d);
	qsort(names, nr, sizeof(*names), by_name);
	for (size_t i = 0; i < nr; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]))
			rc = 2;
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * Argument @i, "-NAME=VALUE", is option @name: its value, a whole number in
 * [@min, @max], into *@val.  False if @arg is not that option; exits 2 if its
 * value is wrong.
 */
static bool parse_option(int i, const char *arg, const char *name, unsigned long min,
			 unsigned long max, unsigned long *val)
{
	size_t len = strlen(name);
	const char *v = arg + 1 + len;
	char *end;

	if (strncmp(arg + 1, name, len) != 0 || *v != '=')
		return false;
	v++;
	errno = 0;
	*val = strtoul(v, &end, 10);
	if (!*v || *end || *v == '-' || errno || *val < min || *val > max) {
		fprintf(stderr, "argument %d: -%s takes a whole number in [%lu, %lu], not '%s'\n",
			i, name, min, max, v);
		exit(2);
	}
	return true;
}

int main(int argc, char **argv)
{
	int rc = 0, ran = 0, first = 1;

	LLVMFuzzerInitialize(&argc, &argv);
	for (; first < argc && argv[first][0] == '-'; first++) {
		const char *arg = argv[first];

		if (parse_option(first, arg, "runs", 1, ULONG_MAX / 2, &runs) ||
		    parse_option(first, arg, "timeout", 0, 86400, &timeout_s))
			continue;
		fprintf(stderr, "argument %d: unknown option '%s' (-runs=N, -timeout=S)\n", first,
			arg);
		return 2;
	}
	if (first == argc) {
		fprintf(stderr, "usage: %s [-runs=N] [-timeout=S] FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (timeout_s)
		signal(SIGALRM, on_timeout);
	for (int i = first; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 2;
			continue;
		}
		if (S_ISDIR(st.st_mode))
			rc |= run_dir(argv[i]);
		else
			rc |= run_file(argv[i]);
		ran++;
	}
	fprintf(stderr, "%s: replayed %d argument(s)\n", argv[0], ran);
	return rc;
}
