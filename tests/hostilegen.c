/*
 * hostilegen - hostile traces for the command-line tests (tests/hostile.sh):
 *
 *   hostilegen zero-streams OUT     metadata listing no stream
 *   hostilegen big-meta N BYTES OUT N events, metadata padded to ~BYTES
 *                                   with one-byte items
 *   hostilegen huge-map PAIRS OUT   the metadata's top map declares PAIRS
 *   hostilegen damaged R OUT        R damaged regions
 *   hostilegen wide S OUT           64 groups, up to S streams
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

int main(int argc, char **argv)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *out = argv[argc - 1];
	FILE *f;

	if (argc == 3 && !strcmp(argv[1], "zero-streams"))
		buf = hx_zero_streams(&len);
	else if (argc == 5 && !strcmp(argv[1], "big-meta"))
		buf = hx_big_meta(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0), &len);
	else if (argc == 4 && !strcmp(argv[1], "huge-map"))
		buf = hx_huge_map(strtoull(argv[2], NULL, 0), &len);
	else if (argc == 4 && !strcmp(argv[1], "damaged"))
		buf = hx_damaged(strtoull(argv[2], NULL, 0), &len);
	else if (argc == 4 && !strcmp(argv[1], "lost-meta"))
		buf = hx_lost_meta(strtoull(argv[2], NULL, 0), &len);
	else if (argc == 3 && !strcmp(argv[1], "c1-names"))
		buf = hx_c1_names(&len);
	else if (argc == 4 && !strcmp(argv[1], "wide"))
		buf = hx_wide((uint32_t)strtoul(argv[2], NULL, 0), &len);
	else {
		fprintf(stderr, "usage: hostilegen zero-streams OUT | big-meta N BYTES OUT | huge-map PAIRS OUT | "
				"damaged R OUT | lost-meta N OUT | c1-names OUT | wide S OUT\n");
		return 2;
	}
	if (!buf) {
		fprintf(stderr, "hostilegen: %s: could not build the trace\n", argv[1]);
		return 1;
	}
	if (!(f = fopen(out, "wb")) || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(out);
		return 1;
	}
	free(buf);
	return 0;
}
