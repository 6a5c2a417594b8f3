/*
 * fuzz_decode.c - libFuzzer target: the decode path of `hvlog decode`:
 * every item of an arbitrary file (as it is and resealed, fuzz.h) through
 * the text and the JSON formatter.
 */
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *copy;

	if (len > (8u << 20))
		return 0;
	fuzz_read_all(data, len, 1);
	if ((copy = malloc(len + 1)) == NULL)
		abort();
	if (fuzz_reseal(data, len, copy))
		fuzz_read_all(copy, len, 1);
	free(copy);
	return 0;
}
