/*
 * fuzz_chunks.c - libFuzzer target: the whole reader (open, index,
 * resynchronisation, chunk and record decoding, merge) on an arbitrary
 * file, as it is and "resealed" (every checksum recomputed, fuzz.h) so
 * that mutated chunk headers and payloads reach the record decoder.
 */
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *copy;

	if (len > (8u << 20))
		return 0;
	fuzz_read_all(data, len, 0);
	if ((copy = malloc(len + 1)) == NULL)
		abort();
	if (fuzz_reseal(data, len, copy))
		fuzz_read_all(copy, len, 0);
	free(copy);
	return 0;
}
