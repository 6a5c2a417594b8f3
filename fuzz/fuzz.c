/*
 * fuzz.c - helpers of the fuzz targets (fuzz.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "wire.h"

int fuzz_file(const uint8_t *data, size_t len)
{
	static int fd = -1;

	if (fd < 0 && (fd = memfd_create("hvlog-fuzz", MFD_CLOEXEC)) < 0) {
		perror("memfd_create");
		abort();
	}
	if (ftruncate(fd, 0) != 0 || (len && pwrite(fd, data, len, 0) != (ssize_t)len)) {
		perror("fuzz_file");
		abort();
	}
	return fd;
}

void fuzz_read_all(const uint8_t *data, size_t len, int format)
{
	static char line[HVLOG_FORMAT_MAX];
	hvlog_reader *r = NULL;
	hvlog_error err;
	hvlog_status st = hvlog_reader_open_fd(&r, fuzz_file(data, len), &err);
	hvlog_reader_stats stats;
	const hvlog_item *it;
	uint64_t n = 0;

	if (st != HVLOG_OK) {
		if (r || err.status != st || !err.msg[0] || st == HVLOG_OK)
			abort(); /* a failed open leaves nothing and says why */
		return;
	}
	hvlog_reader_stats_get(r, &stats);
	while ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		if (it->kind != HVLOG_ITEM_EVENT && it->kind != HVLOG_ITEM_LOST && it->kind != HVLOG_ITEM_DAMAGE)
			abort();
		if (it->kind == HVLOG_ITEM_EVENT && (!it->event || it->stream >= hvlog_reader_meta(r)->nstreams))
			abort();
		if (format)
			for (int k = 0; k < 2; k++) {
				size_t m = hvlog_format_item(hvlog_reader_meta(r), it,
							     k ? HVLOG_FORMAT_JSON : HVLOG_FORMAT_TEXT, stats.first_ts,
							     line, sizeof line);
				if (m == 0 || m >= sizeof line || strlen(line) != m || line[m - 1] != '\n')
					abort();
			}
		/* every item costs input bytes: a runaway reader is a bug */
		if (++n > 4 * (uint64_t)len + 1000)
			abort();
	}
	if (st != HVLOG_END && st != HVLOG_NOMEM)
		abort();
	hvlog_reader_close(r);
}

int fuzz_reseal(const uint8_t *data, size_t len, uint8_t *out)
{
	uint64_t data_off, meta_len;

	if (len < WIRE_FILE_HEADER_SIZE || memcmp(data, WIRE_FILE_MAGIC, 8))
		return 0;
	memcpy(out, data, len);
	meta_len = wire_get32(out + WIRE_FH_META_LEN);
	if (meta_len <= len - WIRE_FILE_HEADER_SIZE)
		wire_put32(out + WIRE_FH_META_CRC, hvlog_crc32c(0, out + WIRE_FILE_HEADER_SIZE, meta_len));
	wire_put32(out + WIRE_FH_CRC, hvlog_crc32c(0, out, WIRE_FH_CRC));
	data_off = WIRE_FILE_HEADER_SIZE + meta_len;
	for (uint64_t p = data_off; p + HVLOG_CHUNK_HEADER_SIZE <= len; p++) {
		uint8_t *h = out + p, *q = memmem(h, len - p, WIRE_CHUNK_SYNC, 8);
		uint32_t plen;
		if (!q || (uint64_t)(q - out) + HVLOG_CHUNK_HEADER_SIZE > len)
			break;
		p = (uint64_t)(q - out);
		h = q;
		plen = wire_get32(h + WIRE_CH_LEN);
		if (plen <= len - p - HVLOG_CHUNK_HEADER_SIZE)
			wire_put32(h + WIRE_CH_PAYLOAD_CRC, hvlog_crc32c(0, h + HVLOG_CHUNK_HEADER_SIZE, plen));
		wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	}
	return 1;
}
