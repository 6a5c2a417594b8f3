/*
 * hvlog/emit.h - the hot-path encoder: one stream's chunk under construction.
 *
 * This part of libhvlog (library hvlog_emit) allocates nothing and calls no
 * libc function, so a hypervisor can call it on its exit path.  A stream
 * encodes records into a chunk buffer the caller provides; when the buffer
 * is nearly full it calls the stream's `refill` hook, which seals the chunk
 * (hvlog_chunk_seal), hands it on and restarts the stream.  hvlog/writer.h
 * provides such a hook that writes to a file; a hypervisor may provide its
 * own (a shared-memory ring, a debug port).
 *
 * One producer per stream: a stream is never used by two threads at once.
 * The generated typed emitters (hvlog/events.h) and hvlog_emit() are the
 * entry points; the hvlog__ helpers are for them.
 */
#ifndef HVLOG_EMIT_H
#define HVLOG_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/export.h"

#include "hvlog/schema.h"
#include "hvlog/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HVLOG_CHUNK_HEADER_SIZE 64u
/* Largest encoding of one event: a TIME record (1 + 9) when time went
 * back, the tag with an escaped number (1 + 3), the timestamp delta (9)
 * and HVLOG_MAX_PARAMS parameters (10 each: a RIP parameter's escape and
 * a varint), plus the 7 bytes the last varint store may write beyond its
 * end; a refill is asked for when less is left. */
#define HVLOG_RECORD_MAX (10u + 4u + 9u + HVLOG_MAX_PARAMS * 10u + 7u)
/* A LOST record (tag and three varints, plus the last store's 7 extra
 * bytes): sealing a chunk may append one after its last record, so the
 * refill threshold keeps room for it too. */
#define HVLOG_LOST_MAX (1u + 3u * 9u + 7u)
#define HVLOG_CHUNK_MIN (HVLOG_CHUNK_HEADER_SIZE + 2u * HVLOG_RECORD_MAX + HVLOG_LOST_MAX)

/* Record tags below this are control records (docs/FORMAT.md). */
#define HVLOG_TAG_TIME 0x01u   /* absolute timestamp (time went backwards) */
#define HVLOG_TAG_LOST 0x02u   /* lost events: count, first, last */
#define HVLOG_TAG_FIRST_EVENT 0x10u
#define HVLOG_TAG_ESCAPE 0xFFu /* event number as a varint follows */

typedef struct hvlog_stream hvlog_stream;

/* Predictors of KEYED parameters per stream (docs/FORMAT.md §5.5). */
#define HVLOG_KEYED_SLOTS 256u
/* Entries of a stream's RIP cache, shared by its RIP parameters (DELTA
 * parameters whose role is GUEST_RIP, docs/FORMAT.md §5.5); entry 0 is
 * never a hit: code 0 is the escape. */
#define HVLOG_RIP_SLOTS 128u

/* Called when the chunk buffer has less than HVLOG_RECORD_MAX (plus
 * HVLOG_LOST_MAX) bytes left.
 * It must leave the stream ready for at least one more record (normally by
 * sealing, handing on and restarting the chunk) and return HVLOG_OK, or
 * return an error, in which case the record being emitted is dropped and
 * counted as lost. */
typedef hvlog_status (*hvlog_refill_fn)(hvlog_stream *s);

/* The fields are private: they are in this header only so that emitting
 * can be inlined.  Set them up with hvlog_stream_init(). */
struct hvlog_stream {
	uint8_t *cur;          /* next record goes here */
	uint8_t *end;          /* buffer end minus HVLOG_RECORD_MAX + HVLOG_LOST_MAX */
	uint64_t last_ts;      /* timestamp of the previous record */
	uint64_t group_mask;   /* groups recorded; others cost one test */
	uint64_t *slots;       /* DELTA predictor state, one per parameter */
	uint32_t nrec;         /* records in the current chunk */
	uint32_t id;           /* stream id */
	hvlog_refill_fn refill;
	void *user;            /* for the refill hook */
	uint8_t *buf;          /* chunk buffer (header first) */
	size_t cap;
	const hvlog_schema *schema;
	uint64_t seq;          /* sequence number of the current chunk */
	uint64_t base_ts;      /* timestamp the first delta is taken from */
	uint64_t lost;         /* events dropped and not yet reported */
	uint64_t lost_first, lost_last;
	uint64_t lost_total;   /* all events ever dropped */
	uint64_t carried;      /* lost count in the current chunk's LOST record */
	uint64_t carried_first, carried_last;
	uint32_t nslots;
	uint32_t flags;        /* chunk header flags gathered while encoding */
	uint32_t meta_fp;      /* the schema's fingerprint, for the chunk header */
	uint64_t keyed[HVLOG_KEYED_SLOTS]; /* KEYED predictors, shared by all parameters */
	uint64_t rips[HVLOG_RIP_SLOTS];    /* RIP cache, shared by all RIP parameters */
};

/* Set up stream `id` on caller memory: `buf` of `cap` bytes (at least
 * HVLOG_CHUNK_MIN) and `slots` of schema->nslots entries.  Records only the
 * groups in `group_mask`.  Never fails for valid arguments; returns
 * HVLOG_INVALID otherwise. */
HVLOG_API hvlog_status hvlog_stream_init(hvlog_stream *s, uint32_t id,
			       const hvlog_schema *schema, uint64_t group_mask,
			       uint8_t *buf, size_t cap, uint64_t *slots,
			       hvlog_refill_fn refill, void *user);

/* Finish the current chunk: write its header (length, count, time range,
 * the schema's fingerprint, checksums) into the buffer.  *chunk and the return value give the bytes
 * to hand on; 0 when the chunk holds no record and no lost count.  `final`
 * marks the stream's last chunk. */
HVLOG_API size_t hvlog_chunk_seal(hvlog_stream *s, int final, const uint8_t **chunk);

/* Start the next chunk in the same buffer (after the sealed one was handed
 * on): resets the predictors, bumps the sequence number, and writes a
 * pending lost-events record first if events were dropped. */
HVLOG_API void hvlog_chunk_restart(hvlog_stream *s);

/* The sealed chunk could not be handed on: count its events (and the
 * losses its LOST record carried) as lost, to be reported by the next
 * chunk.  Call before hvlog_chunk_restart(). */
HVLOG_API void hvlog_chunk_drop(hvlog_stream *s);

/* Count `n` events dropped between timestamps first and last; they are
 * reported in the stream by a lost-events record at the next chunk start. */
HVLOG_API void hvlog_stream_note_lost(hvlog_stream *s, uint64_t n, uint64_t first, uint64_t last);

/* Emit event `ev` (an entry of the stream's schema) with params[ev->nparams].
 * The generic, table-driven path; hvlog/events.h has typed inline ones. */
HVLOG_API hvlog_status hvlog_emit(hvlog_stream *s, uint64_t ts, const hvlog_event *ev,
			const uint64_t *params);

/* CRC-32C (Castagnoli) of buf, continuing from crc (0 to start). */
HVLOG_API uint32_t hvlog_crc32c(uint32_t crc, const void *buf, size_t len);

/* ---- inline helpers for the emitters; not API ---------------------- */

#if defined(__GNUC__)
#define HVLOG_LIKELY(x) __builtin_expect(!!(x), 1)
#define HVLOG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define HVLOG_LIKELY(x) (x)
#define HVLOG_UNLIKELY(x) (x)
#endif

/* Store the 8 bytes of w at p, little-endian: one unaligned store (the
 * builtin with a constant size is expanded inline, never a libc call). */
static inline void hvlog__store64(uint8_t *p, uint64_t w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	__builtin_memcpy(p, &w, 8);
}

/* Prefix varint (docs/FORMAT.md, "Integers"): a value of up to 7n bits,
 * n <= 8, takes n bytes, the low bits of the first byte saying n in unary
 * (n - 1 zero bits, then a one); larger values take a 0x00 byte and the 8
 * bytes of the value.  Same size as LEB128, but no loop and no branch on
 * the length: the encoder always stores 8 bytes (the buffer's margin,
 * HVLOG_RECORD_MAX, covers it) and moves by n.
 *
 * hvlog__put_varint56 is the n <= 8 case, for a value below 2^56: the
 * bytes are (2v + 1) << (n - 1), the value above its unary length, and
 * n - 1 = (9b + 8) >> 6 for b = 0..55, the bit scan of v | 1: no table
 * load in the chain from the value to the next record's address.  The
 * scan is of a value used for nothing else, so that the compiler scans
 * it in place: bsr's result register is also an input, and scanning into
 * another register would make it wait for that register's last writer,
 * a chain running across records. */
static inline uint8_t *hvlog__put_varint56(uint8_t *p, uint64_t v)
{
	uint64_t t = (9 * (uint64_t)(unsigned)(__builtin_clzll(v | 1) ^ 63) + 8) >> 6;

	hvlog__store64(p, (2 * v + 1) << t);
	return p + t + 1;
}

static inline uint8_t *hvlog__put_varint(uint8_t *p, uint64_t v)
{
	if (HVLOG_LIKELY(v < (1ull << 56)))
		return hvlog__put_varint56(p, v);
	p[0] = 0;
	hvlog__store64(p + 1, v);
	return p + 9;
}

/* A difference as an unsigned number: 0, -1, 1, -2, 2 ... as 0, 1, 2 ... */
static inline uint64_t hvlog__zigzag(uint64_t d)
{
	return (d << 1) ^ (uint64_t)-(int64_t)(d >> 63);
}

static inline uint8_t *hvlog__put_delta(uint8_t *p, uint64_t *slot, uint64_t v)
{
	uint64_t d = v - *slot;
	*slot = v;
	return hvlog__put_varint(p, hvlog__zigzag(d));
}

/* The KEYED predictor of the parameter in predictor slot `slot` when the
 * parameter before it has value `key` (docs/FORMAT.md §5.5): a
 * multiplicative hash to 0..HVLOG_KEYED_SLOTS - 1.  Different parameters
 * and keys may share one; encoder and decoder share it the same way. */
static inline uint32_t hvlog__keyed_index(uint32_t slot, uint64_t key)
{
	return (uint32_t)(((key + (uint64_t)slot * 0x9E3779B97F4A7C15ull) * 0xD6E8FEB86659FD93ull) >> 56);
}

static inline uint8_t *hvlog__put_keyed(uint8_t *p, hvlog_stream *s, uint32_t slot, uint64_t key, uint64_t v)
{
	return hvlog__put_delta(p, &s->keyed[hvlog__keyed_index(slot, key)], v);
}

/* Whether parameter p is a RIP parameter: coded against the stream's RIP
 * cache (docs/FORMAT.md §5.5). */
static inline int hvlog__param_is_rip(const hvlog_param *p)
{
	return p->coding == HVLOG_CODING_DELTA && p->role == HVLOG_ROLE_GUEST_RIP;
}

/* The RIP cache entry of value v: the top 7 bits of a multiplicative
 * hash, 0..HVLOG_RIP_SLOTS - 1. */
static inline uint32_t hvlog__rip_index(uint64_t v)
{
	return (uint32_t)((v * 0x9E3779B97F4A7C15ull) >> 57);
}

/* A RIP parameter (docs/FORMAT.md §5.5): the cache entry's index if the
 * entry holds v (one byte, the varint of 1..127), else 128 + the zigzag
 * difference from the parameter's own slot; code 0 then the value, for
 * the few differences whose code would not fit in 64 bits.  Both update
 * the entry and the slot.  Hit or miss is a select, not a branch: both
 * codes are one varint56 (a hit's index is the varint 1..127), and on a
 * mix of events hits and misses alternate too irregularly to predict
 * (the peers' mix of bench/ encodes about 8 % faster than with a branch).
 * The one test left, whether the miss's code is a varint56, also rules
 * out the code that would not fit, and is nearly always true. */
static inline uint8_t *hvlog__put_rip(uint8_t *p, hvlog_stream *s, uint64_t *slot, uint64_t v)
{
	uint64_t h = hvlog__rip_index(v), z = hvlog__zigzag(v - *slot);
	uint64_t hit = (uint64_t)(s->rips[h] == v) & (uint64_t)(h != 0);

	s->rips[h] = v;
	*slot = v;
	if (HVLOG_LIKELY(z < (1ull << 56) - HVLOG_RIP_SLOTS))
		return hvlog__put_varint56(p, hit ? h : z + HVLOG_RIP_SLOTS);
	if (hit) {
		*p = (uint8_t)(2 * h + 1);
		return p + 1;
	}
	if (z >= (uint64_t)-(int64_t)HVLOG_RIP_SLOTS) {
		*p++ = 0x01; /* the varint 0 */
		return hvlog__put_varint(p, v);
	}
	return hvlog__put_varint(p, z + HVLOG_RIP_SLOTS);
}

HVLOG_API hvlog_status hvlog__stream_full(hvlog_stream *s, uint64_t ts);

/* Reserve room and write the record header; NULL if the record must be
 * dropped (the refill hook failed, the drop is already counted). */
static inline uint8_t *hvlog__begin(hvlog_stream *s, uint64_t ts, uint32_t number)
{
	uint8_t *p;

	if (HVLOG_UNLIKELY(s->cur > s->end) && hvlog__stream_full(s, ts) != HVLOG_OK)
		return NULL;
	p = s->cur;
	if (HVLOG_UNLIKELY(ts < s->last_ts)) {
		*p++ = HVLOG_TAG_TIME;
		p = hvlog__put_varint(p, ts);
		s->last_ts = ts;
		s->flags |= 2u; /* chunk header: time goes back */
	}
	if (HVLOG_LIKELY(number >= HVLOG_TAG_FIRST_EVENT && number < HVLOG_TAG_ESCAPE)) {
		*p++ = (uint8_t)number;
	} else {
		*p++ = HVLOG_TAG_ESCAPE;
		p = hvlog__put_varint(p, number);
	}
	p = hvlog__put_varint(p, ts - s->last_ts);
	s->last_ts = ts;
	return p;
}

static inline void hvlog__commit(hvlog_stream *s, uint8_t *p)
{
	s->cur = p;
	s->nrec++;
}

/* Whether stream s records group mask m; emitters test this first. */
static inline int hvlog_stream_wants(const hvlog_stream *s, uint64_t m)
{
	return (s->group_mask & m) != 0;
}

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_EMIT_H */
