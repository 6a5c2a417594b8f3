/*
 * wire.h - private: byte layout of the file header and chunk header, and
 * little-endian load/store.  docs/FORMAT.md is the normative description.
 */
#ifndef HVLOG_WIRE_H
#define HVLOG_WIRE_H

#include <stdint.h>

/* File header: 32 bytes. */
#define WIRE_FILE_MAGIC "\x89HVL\r\n\x1a\n"
#define WIRE_FILE_HEADER_SIZE 32u

/* Whether the first n (<= 8) bytes of an input can be the start of a trace
 * whose magic took a bit flip or two: an input is refused as "not a trace"
 * on its first bytes (before anything is spooled) only when they are
 * further from the magic than that, so that a damaged magic can still be
 * read from a pipe through a metadata copy, as from a file. */
static inline int wire_magic_near(const uint8_t *p, unsigned n)
{
	unsigned bits = 0;
	for (unsigned i = 0; i < n && i < 8; i++)
		bits += (unsigned)__builtin_popcount((unsigned)(p[i] ^ (uint8_t)WIRE_FILE_MAGIC[i]));
	return bits <= 2;
}
#define WIRE_FH_MAJOR 8      /* u16 */
#define WIRE_FH_MINOR 10     /* u16 */
#define WIRE_FH_FLAGS 12     /* u32, 0 */
#define WIRE_FH_META_LEN 16  /* u32 */
#define WIRE_FH_META_CRC 20  /* u32 CRC-32C of the metadata */
#define WIRE_FH_RESERVED 24  /* u32, 0 */
#define WIRE_FH_CRC 28       /* u32 CRC-32C of bytes 0..27 */

/* Chunk header: HVLOG_CHUNK_HEADER_SIZE (64) bytes. */
#define WIRE_CHUNK_SYNC "\xc3HVCHUNK"
#define WIRE_CH_CRC 8          /* u32 CRC-32C of bytes 12..63 */
#define WIRE_CH_LEN 12         /* u32 payload bytes */
#define WIRE_CH_STREAM 16      /* u16 */
#define WIRE_CH_FLAGS 18       /* u16: WIRE_CHUNK_* bits, others 0 */
#define WIRE_CH_META_FP 20     /* u32 schema fingerprint (hvlog__schema_fp); 0: not stated */
#define WIRE_CH_SEQ 24         /* u64, 0 for a stream's first chunk */
#define WIRE_CH_BASE_TS 32     /* u64 */
#define WIRE_CH_FIRST_TS 40    /* u64 timestamp of the first event */
#define WIRE_CH_LAST_TS 48     /* u64 timestamp of the last record */
#define WIRE_CH_NEVENTS 56     /* u32 event records */
#define WIRE_CH_PAYLOAD_CRC 60 /* u32 CRC-32C of the payload */
#define WIRE_CHUNK_FINAL 1u     /* the last chunk of its stream */
#define WIRE_CHUNK_BACKWARDS 2u /* time goes back inside: first/last are not bounds */
#define WIRE_CHUNK_META 4u      /* the payload is a copy of the metadata block */
#define WIRE_CHUNK_KNOWN_FLAGS 7u

/* Trailer: WIRE_TRAILER_SIZE bytes at the very end of a closed file,
 * pointing at the last metadata copy (a WIRE_CHUNK_META chunk). */
#define WIRE_TRAILER_MAGIC "\x89HVLTRL\n"
#define WIRE_TRAILER_SIZE 24u
#define WIRE_TR_META_OFF 8     /* u64 offset of the metadata chunk's header */
#define WIRE_TR_RESERVED 16    /* u32, 0 */
#define WIRE_TR_CRC 20         /* u32 CRC-32C of bytes 0..19 */

/* The writer's default distance between metadata copies (FORMAT.md §4.6). */
#define WIRE_META_COPY_INTERVAL (16u << 20)

/* Caps a reader enforces (docs/FORMAT.md, "Limits"). */
#define WIRE_MAX_META (1u << 20)
#define WIRE_MAX_CHUNK_PAYLOAD (16u << 20)
#define WIRE_MAX_STREAMS 65536u
#define WIRE_MAX_EVENTS 65536u
#define WIRE_MAX_GROUPS 64u
#define WIRE_MAX_VALTABS 256u
#define WIRE_MAX_VALUES 65536u
#define WIRE_MAX_DECODER_STATE (256u << 20) /* streams with chunks x (slots + KEYED) x 8 */
#define WIRE_MAX_META_DEPTH 16u

struct hvlog_stream;
/* emit.c: add n events dropped in [first, last] to the stream's pending
 * lost count without counting them again in its total. */
void hvlog__pend_lost(struct hvlog_stream *s, uint64_t n, uint64_t first, uint64_t last);

/* Bytes of the prefix varint whose first byte is b (1..9). */
static inline unsigned wire_varint_len(uint8_t b)
{
	return b ? (unsigned)__builtin_ctz(b) + 1 : 9;
}

/* The value bits of an n-byte prefix varint's 8 loaded bytes, by n - 1. */
static const uint64_t wire_varint_mask[8] = {
	0xFFull, 0xFFFFull, 0xFFFFFFull, 0xFFFFFFFFull, 0xFFFFFFFFFFull, 0xFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFull,
	~0ull,
};

/* Decode the prefix varint at p; the caller made sure its bytes are there
 * and that 9 bytes can be read from p (so the loads need no branch on
 * the length).
 *
 * Where the next varint starts depends on this one's first byte: decoded
 * without a branch, every position waits for the load before it, a chain
 * of load latencies through the whole chunk.  One- and two-byte varints,
 * most of them, take a branch instead: the CPU predicts the length and
 * runs ahead.  The others mask off the bytes beyond the varint and shift
 * out the n length bits. */
static inline const uint8_t *wire_get_varint(const uint8_t *p, uint64_t *v)
{
	uint64_t w;

	if (__builtin_expect(p[0] & 1, 1)) {
		*v = p[0] >> 1;
		return p + 1;
	}
	if (__builtin_expect((p[0] & 3) == 2, 1)) {
		*v = (uint64_t)(p[0] | p[1] << 8) >> 2;
		return p + 2;
	}
	__builtin_memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	if (__builtin_expect(p[0] != 0, 1)) {
		unsigned z = (unsigned)__builtin_ctzll(w); /* n - 1: the first byte is not 0 */
		*v = (w & wire_varint_mask[z]) >> (z + 1);
		return p + z + 1;
	}
	__builtin_memcpy(&w, p + 1, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	*v = w;
	return p + 9;
}

/* The varint after the one at p, without decoding it (the same predicted
 * branch as wire_get_varint). */
static inline const uint8_t *wire_skip_varint(const uint8_t *p)
{
	return __builtin_expect(p[0] & 1, 1) ? p + 1 : p + wire_varint_len(p[0]);
}

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void wire_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t wire_get64(const uint8_t *p)
{
	return (uint64_t)wire_get32(p) | (uint64_t)wire_get32(p + 4) << 32;
}

#endif
