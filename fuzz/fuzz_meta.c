/*
 * fuzz_meta.c - libFuzzer target: opening a file, the file header and
 * the CBOR metadata above all.  The input is a metadata block, put behind
 * a valid file header (its length and both CRCs right), so that every
 * mutation reaches the CBOR checks and the metadata decoder; an input that
 * is a whole trace (it starts with the magic) is opened as it is, and its
 * metadata also behind a fresh header.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

static void open_with_meta(const uint8_t *meta, size_t len)
{
	uint8_t *f = malloc(WIRE_FILE_HEADER_SIZE + len + 1);

	if (!f)
		abort();
	memset(f, 0, WIRE_FILE_HEADER_SIZE);
	memcpy(f, WIRE_FILE_MAGIC, 8);
	wire_put16(f + WIRE_FH_MAJOR, HVLOG_FORMAT_MAJOR);
	wire_put16(f + WIRE_FH_MINOR, HVLOG_FORMAT_MINOR);
	wire_put32(f + WIRE_FH_META_LEN, (uint32_t)len);
	wire_put32(f + WIRE_FH_META_CRC, hvlog_crc32c(0, meta, len));
	wire_put32(f + WIRE_FH_CRC, hvlog_crc32c(0, f, WIRE_FH_CRC));
	if (len)
		memcpy(f + WIRE_FILE_HEADER_SIZE, meta, len);
	fuzz_read_all(f, WIRE_FILE_HEADER_SIZE + len, 0);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len > WIRE_MAX_META + WIRE_FILE_HEADER_SIZE)
		return 0;
	if (len >= WIRE_FILE_HEADER_SIZE && !memcmp(data, WIRE_FILE_MAGIC, 8)) {
		uint64_t m = wire_get32(data + WIRE_FH_META_LEN);
		fuzz_read_all(data, len, 0);
		if (m > len - WIRE_FILE_HEADER_SIZE)
			m = len - WIRE_FILE_HEADER_SIZE;
		open_with_meta(data + WIRE_FILE_HEADER_SIZE, m);
		return 0;
	}
	open_with_meta(data, len);
	return 0;
}
