// SPDX-License-Identifier: MIT
/*
 * replay_main.c - main() for fuzz targets built without a fuzzing engine.
 *
 * Runs LLVMFuzzerTestOneInput() once on every file named on the command line;
 * a folder stands for every regular file in it (sorted, so runs repeat).  A
 * target reports a violation by exiting 1 itself (through the checker); this
 * main exits 0 when every input ran, 2 when an input could not be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Weak default so targets without an initializer link. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
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
	LLVMFuzzerTestOneInput(buf, (size_t)size);
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

int main(int argc, char **argv)
{
	int rc = 0, ran = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
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
