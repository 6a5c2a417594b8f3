/*
 * driver.c - runs a fuzz target's LLVMFuzzerTestOneInput on files, without
 * libFuzzer: each argument is a file or a directory of files.  CTest runs
 * every target this way on its corpus (testdata/ and fuzz/corpus/), so a
 * crash once found stays fixed.  Exit 0 when every input went through.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static unsigned long runs;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			if (!(buf = realloc(buf, cap))) {
				fclose(f);
				return -1;
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	runs++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat sb;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (stat(path, &sb) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode))
		return run_file(path);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)) != NULL) {
		char sub[4096];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		rc |= run_path(sub);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++)
		rc |= run_path(argv[i]);
	printf("%s: %lu inputs\n", argc ? argv[0] : "driver", runs);
	return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}
