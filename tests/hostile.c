/*
 * hostile.c - hostile traces (hostile.h).  Byte layout:
 * libhvlog/src/wire.h; the metadata is the writer's CBOR, edited in place
 * where an edit is simpler than a second encoder.
 */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "internal.h"
#include "wire.h"

struct mem {
	uint8_t *p;
	size_t n, cap;
	int oom;
};

static int mem_sink(void *user, const void *buf, size_t len)
{
	struct mem *m = user;

	if (m->n + len > m->cap) {
		size_t nc = m->cap ? m->cap : 1 << 16;
		while (nc < m->n + len)
			nc *= 2;
		uint8_t *np = realloc(m->p, nc);
		if (!np)
			return m->oom = 1, 12; /* ENOMEM */
		m->p = np;
		m->cap = nc;
	}
	memcpy(m->p + m->n, buf, len);
	m->n += len;
	return 0;
}

uint8_t *hx_plain(uint64_t n, uint32_t chunk_size, size_t *len)
{
	hvlog_writer_config cfg = { .nstreams = 4, .chunk_size = chunk_size };
	struct mem m = { 0 };
	hvlog_writer *w;

	if (hvlog_writer_open_sink(&w, mem_sink, &m, &cfg, NULL) != HVLOG_OK)
		return free(m.p), NULL;
	for (uint64_t i = 0; i < n; i++)
		hvlog_emit_im_msr_read(hvlog_writer_stream(w, (uint32_t)(i & 3)), 1000 + i, 0x1000 + (i & 0xff), 0x10,
				       i);
	if (hvlog_writer_close(w, NULL) != HVLOG_OK || m.oom)
		return free(m.p), NULL;
	/* Without the metadata copy and trailer of the close: the hostile
	 * metadata a test puts after the header is then the only one, as in a
	 * trace that was never closed (test_damage.c covers the copies). */
	*len = m.n;
	if (m.n >= WIRE_TRAILER_SIZE && !memcmp(m.p + m.n - WIRE_TRAILER_SIZE, WIRE_TRAILER_MAGIC, 8))
		*len = (size_t)wire_get64(m.p + m.n - WIRE_TRAILER_SIZE + WIRE_TR_META_OFF);
	return m.p;
}

const uint8_t *hx_meta(const uint8_t *trace, size_t len, size_t *meta_len)
{
	if (len < WIRE_FILE_HEADER_SIZE)
		return NULL;
	*meta_len = wire_get32(trace + WIRE_FH_META_LEN);
	if (*meta_len > len - WIRE_FILE_HEADER_SIZE)
		return NULL;
	return trace + WIRE_FILE_HEADER_SIZE;
}

/* A file header for metadata meta. */
static void put_header(uint8_t *h, const uint8_t *meta, size_t meta_len)
{
	memset(h, 0, WIRE_FILE_HEADER_SIZE);
	memcpy(h, WIRE_FILE_MAGIC, 8);
	wire_put16(h + WIRE_FH_MAJOR, HVLOG_FORMAT_MAJOR);
	wire_put16(h + WIRE_FH_MINOR, HVLOG_FORMAT_MINOR);
	wire_put32(h + WIRE_FH_META_LEN, (uint32_t)meta_len);
	wire_put32(h + WIRE_FH_META_CRC, hvlog_crc32c(0, meta, meta_len));
	wire_put32(h + WIRE_FH_CRC, hvlog_crc32c(0, h, WIRE_FH_CRC));
}

uint8_t *hx_rewrap(const uint8_t *trace, size_t len, const uint8_t *meta, size_t meta_len, size_t *out_len)
{
	size_t old_meta, rest;
	uint8_t *out;

	if (!hx_meta(trace, len, &old_meta))
		return NULL;
	rest = len - WIRE_FILE_HEADER_SIZE - old_meta;
	if (!(out = malloc(WIRE_FILE_HEADER_SIZE + meta_len + rest)))
		return NULL;
	put_header(out, meta, meta_len);
	memcpy(out + WIRE_FILE_HEADER_SIZE, meta, meta_len);
	memcpy(out + WIRE_FILE_HEADER_SIZE + meta_len, trace + WIRE_FILE_HEADER_SIZE + old_meta, rest);
	*out_len = WIRE_FILE_HEADER_SIZE + meta_len + rest;
	return out;
}

uint8_t *hx_zero_streams(size_t *len)
{
	const hvlog__meta_in in = { hvlog_schema_builtin(), "hostile", "ns", 1000000000u, 0, 0, NULL, 0, NULL, 0 };
	uint8_t *meta, *out;
	size_t meta_len;

	if (hvlog__meta_encode(&in, &meta, &meta_len) != HVLOG_OK)
		return NULL;
	if ((out = malloc(WIRE_FILE_HEADER_SIZE + meta_len))) {
		put_header(out, meta, meta_len);
		memcpy(out + WIRE_FILE_HEADER_SIZE, meta, meta_len);
		*len = WIRE_FILE_HEADER_SIZE + meta_len;
	}
	free(meta);
	return out;
}

/* The writer's metadata of trace with its top-level map header (0xA5,
 * five pairs) replaced by hdr and `extra` bytes of room at the end. */
static uint8_t *edit_root(const uint8_t *trace, size_t len, const uint8_t *hdr, size_t hdr_len, size_t extra,
			  size_t *out_len)
{
	size_t meta_len;
	const uint8_t *meta = hx_meta(trace, len, &meta_len);
	uint8_t *m;

	if (!meta || !meta_len || meta[0] != 0xA5 || !(m = malloc(hdr_len + meta_len - 1 + extra)))
		return NULL;
	memcpy(m, hdr, hdr_len);
	memcpy(m + hdr_len, meta + 1, meta_len - 1);
	*out_len = hdr_len + meta_len - 1;
	return m;
}

uint8_t *hx_big_meta(uint64_t n, size_t meta_bytes, size_t *len)
{
	static const uint8_t six = 0xA6;
	size_t tlen, mlen, items;
	uint8_t *t = hx_plain(n, 0, &tlen), *m, *out = NULL;

	if (!t)
		return NULL;
	items = meta_bytes > 16 * 1024 ? meta_bytes - 16 * 1024 : 0; /* the real metadata is < 16 KiB */
	if ((m = edit_root(t, tlen, &six, 1, 9 + items, &mlen))) {
		/* "pad": [0, 0, ...] */
		memcpy(m + mlen, "\x63pad\x9a", 5); /* text(3) "pad", array with a 4-byte big-endian count */
		for (int i = 0; i < 4; i++)
			m[mlen + 5 + i] = (uint8_t)(items >> (24 - 8 * i));
		memset(m + mlen + 9, 0, items);
		mlen += 9 + items;
		if (mlen <= WIRE_MAX_META) /* within the cap: the cost of a legal file is what is wanted */
			out = hx_rewrap(t, tlen, m, mlen, len);
	}
	free(m);
	free(t);
	return out;
}

uint8_t *hx_huge_map(uint64_t pairs, size_t *len)
{
	uint8_t hdr[9] = { 0xBB };
	size_t tlen, mlen;
	uint8_t *t = hx_plain(10, 0, &tlen), *m, *out = NULL;

	if (!t)
		return NULL;
	for (int i = 0; i < 8; i++)
		hdr[1 + i] = (uint8_t)(pairs >> (56 - 8 * i));
	if ((m = edit_root(t, tlen, hdr, sizeof hdr, 0, &mlen)))
		out = hx_rewrap(t, tlen, m, mlen, len);
	free(m);
	free(t);
	return out;
}

uint8_t *hx_damaged(size_t regions, size_t *len)
{
	static const uint8_t garbage[16] = "garbage-garbage";
	size_t tlen, off, k = 0, nchunks = 0;
	uint8_t *t = hx_plain(regions * 64, HVLOG_CHUNK_MIN, &tlen), *out;
	struct mem m = { 0 };
	size_t meta_len;

	if (!t || !hx_meta(t, tlen, &meta_len))
		return free(t), NULL;
	off = WIRE_FILE_HEADER_SIZE + meta_len;
	mem_sink(&m, t, off);
	while (off + HVLOG_CHUNK_HEADER_SIZE <= tlen) {
		size_t clen = HVLOG_CHUNK_HEADER_SIZE + wire_get32(t + off + WIRE_CH_LEN);
		size_t at = m.n;
		mem_sink(&m, t + off, clen);
		if (clen > HVLOG_CHUNK_HEADER_SIZE && k < regions) {
			/* garbage after an intact chunk (after a damaged one, it
			 * would be part of the same region) */
			if (++nchunks % 10 == 0)
				mem_sink(&m, garbage, sizeof garbage);
			else
				m.p[at + HVLOG_CHUNK_HEADER_SIZE] ^= 0x40;
			k++;
		}
		off += clen;
	}
	free(t);
	if (m.oom)
		return free(m.p), NULL;
	out = m.p;
	*len = m.n;
	return out;
}

uint8_t *hx_lost_meta(uint64_t n, size_t *len)
{
	uint8_t *t = hx_plain(n, 0, len);

	if (t && *len > WIRE_FILE_HEADER_SIZE + 100)
		t[WIRE_FILE_HEADER_SIZE + 100] ^= 1;
	return t;
}

uint8_t *hx_c1_names(size_t *len)
{
	static const hvlog_param params[] = { { "v\xc2\x9b[31m", "V", HVLOG_TYPE_U8, HVLOG_DISPLAY_DEC,
						HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE } };
	static const hvlog_event events[] = { { 0x20, "E\xc2\x9b[31mVIL", "evil", 0, params, 1, 0 } };
	static const hvlog_group groups[] = { { "g\xc2\x85x", "G", 1 } };
	static const hvlog_schema schema = { "c1", 1, groups, 1, events, 1, NULL, 0, 1 };
	static const hvlog_stream_info streams[] = { { "vp\xc2\x9b[2J", 0, 0 } };
	hvlog_writer_config cfg = { .schema = &schema, .nstreams = 1, .streams = streams };
	struct mem m = { 0 };
	hvlog_writer *w;
	const uint64_t v = 7;

	if (hvlog_writer_open_sink(&w, mem_sink, &m, &cfg, NULL) != HVLOG_OK)
		return free(m.p), NULL;
	hvlog_emit(hvlog_writer_stream(w, 0), 1000, &events[0], &v);
	if (hvlog_writer_close(w, NULL) != HVLOG_OK || m.oom)
		return free(m.p), NULL;
	*len = m.n;
	return m.p;
}

/* Bytes of the CBOR integer or text item at p (n bytes left); 0 if it is
 * neither or does not fit. */
static size_t int_or_text_len(const uint8_t *p, size_t n)
{
	unsigned major = p[0] >> 5, ai = p[0] & 31;
	size_t head = ai < 24 ? 1 : ai < 28 ? 1 + ((size_t)1 << (ai - 24)) : 0, body = 0;

	if (!head || head > n || (major != 0 && major != 3))
		return 0;
	if (major == 3) {
		uint64_t v = ai < 24 ? ai : 0;
		for (size_t i = 1; i < head; i++)
			v = v << 8 | p[i];
		if (v > n - head)
			return 0;
		body = (size_t)v;
	}
	return head + body;
}

uint8_t *hx_float_field(const char *key, size_t *len)
{
	static const uint8_t f15[9] = { 0xFB, 0x3F, 0xF8 }; /* double 1.5 */
	uint8_t k[32];
	size_t tlen, mlen, klen = strlen(key), at, vlen;
	uint8_t *t = hx_plain(10, 0, &tlen), *m, *out = NULL;
	const uint8_t *meta = t ? hx_meta(t, tlen, &mlen) : NULL;

	if (!meta || klen >= 24)
		return free(t), NULL;
	k[0] = (uint8_t)(0x60 + klen);
	memcpy(k + 1, key, klen);
	for (at = 0; at + klen + 1 < mlen && memcmp(meta + at, k, klen + 1); at++)
		;
	at += klen + 1;
	if (at >= mlen || !(vlen = int_or_text_len(meta + at, mlen - at)) || !(m = malloc(mlen + sizeof f15)))
		return free(t), NULL;
	memcpy(m, meta, at);
	memcpy(m + at, f15, sizeof f15);
	memcpy(m + at + sizeof f15, meta + at + vlen, mlen - at - vlen);
	out = hx_rewrap(t, tlen, m, mlen - vlen + sizeof f15, len);
	free(m);
	free(t);
	return out;
}

uint8_t *hx_wide(uint32_t nstreams, size_t *len)
{
	static const hvlog_event events[] = { { 0x10, "WIDE", "wide", 63, NULL, 0, 0 } };
	static hvlog_group groups[WIRE_MAX_GROUPS];
	static char names[WIRE_MAX_GROUPS][4];
	hvlog_schema schema = { "wide", 1, groups, WIRE_MAX_GROUPS, events, 1, NULL, 0, 0 };
	hvlog_stream_info *st = malloc(nstreams * sizeof *st);
	struct mem m = { 0 };
	hvlog_writer *w = NULL;
	hvlog_status s = HVLOG_LIMIT;

	if (!st)
		return NULL;
	for (uint32_t g = 0; g < WIRE_MAX_GROUPS; g++) {
		snprintf(names[g], sizeof names[g], "g%u", g);
		groups[g] = (hvlog_group){ names[g], names[g], 1ull << g };
	}
	for (uint32_t i = 0; i < nstreams; i++)
		st[i] = (hvlog_stream_info){ "s", 0, 0 };
	/* the most streams whose metadata fits the cap */
	for (; nstreams && s == HVLOG_LIMIT; nstreams -= nstreams / 64 + 1) {
		hvlog_writer_config cfg = { .schema = &schema, .nstreams = nstreams, .streams = st,
					    .chunk_size = HVLOG_CHUNK_MIN };
		m.n = 0;
		s = hvlog_writer_open_sink(&w, mem_sink, &m, &cfg, NULL);
	}
	free(st);
	if (s != HVLOG_OK)
		return free(m.p), NULL;
	hvlog_emit(hvlog_writer_stream(w, 0), 1000, &events[0], NULL);
	hvlog_emit(hvlog_writer_stream(w, 0), 1000 + (1ull << 40), &events[0], NULL);
	if (hvlog_writer_close(w, NULL) != HVLOG_OK || m.oom)
		return free(m.p), NULL;
	*len = m.n;
	return m.p;
}
