/*
 * internal.h - private declarations shared by the library's modules.
 */
#ifndef HVLOG_INTERNAL_H
#define HVLOG_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hvlog/reader.h"
#include "hvlog/schema.h"
#include "hvlog/status.h"
#include "hvlog/writer.h"

#if defined(__GNUC__)
#define HVLOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HVLOG_PRINTF(a, b)
#endif

/* a + b, at most UINT64_MAX: counts of lost events come from the file,
 * and two of 2^64 - 1 must not add up to 2^64 - 2. */
static inline uint64_t hvlog__sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* Fill err (if not NULL) and return st. */
hvlog_status hvlog__fail(hvlog_error *err, hvlog_status st, uint64_t offset, const char *fmt, ...)
	HVLOG_PRINTF(4, 5);

int hvlog__name_index(const char *const *names, int n, const char *name);
const char *const *hvlog__type_names(void);
const char *const *hvlog__display_names(void);
const char *const *hvlog__coding_names(void);
const char *const *hvlog__role_names(void);
/* Index in t->values of the entry for value (the one hvlog_valtab_name
 * names), or -1; t NULL: -1. */
long hvlog__valtab_index(const hvlog_valtab *t, uint64_t value);

/* What the writer puts into the metadata block. */
typedef struct hvlog__meta_in {
	const hvlog_schema *schema;
	const char *producer;
	const char *clock_name;
	uint64_t clock_hz;
	int64_t clock_epoch_ns;
	uint32_t nstreams;
	const hvlog_stream_info *streams;
	uint64_t flush_interval_ns;        /* 0: not stated */
	const hvlog_meta_prop *props;
	uint32_t nprops;
} hvlog__meta_in;

/* The schema fingerprint of FORMAT.md §4.1 (never 0): what a chunk header
 * carries so that it is decoded only with a schema of the same layout. */
uint32_t hvlog__schema_fp(const hvlog_schema *s);

/* Whether metadata built from `in` makes sense to a reader: every rule of
 * FORMAT.md §3 that a decoded hvlog_meta could break (caps, name lengths,
 * group masks, indexes, codings, duplicate numbers).  The writer calls it
 * before it writes anything, the reader on what it decoded, so a writer
 * never produces a file its reader refuses.  Errors carry `offset`. */
hvlog_status hvlog__meta_check(const hvlog__meta_in *in, uint64_t offset, hvlog_error *err);

/* Encode the metadata as CBOR into a malloc'd buffer (caller frees). */
hvlog_status hvlog__meta_encode(const hvlog__meta_in *in, uint8_t **out, size_t *len);

/* A decoded metadata block: the hvlog_meta view plus the memory behind it. */
typedef struct hvlog__meta_store hvlog__meta_store;
hvlog_status hvlog__meta_decode(const uint8_t *buf, size_t len, uint64_t file_offset,
				hvlog__meta_store **out, hvlog_meta *meta, hvlog_error *err);
void hvlog__meta_free(hvlog__meta_store *st);

/* All n bytes of p to fd, through EINTR and short writes: 0, or -1 with
 * errno set (EPIPE once the reader of a pipe is gone). */
int hvlog__write_all(int fd, const uint8_t *p, size_t n);

/* The group mask r hands out (hvlog_reader_set_group_mask; all ones for
 * every group). */
uint64_t hvlog__reader_group_mask(const hvlog_reader *r);

/* Ticks to nanoseconds for one clock rate, exactly as hvlog_ticks_to_ns
 * but without a division per call (format.c). */
typedef struct hvlog__clock {
	uint64_t hz, k, f; /* k = 10^9 / hz; f = 2^64 * (10^9 % hz) / hz */
} hvlog__clock;
void hvlog__clock_init(hvlog__clock *c, uint64_t hz); /* hz > 0 */
uint64_t hvlog__clock_ns(const hvlog__clock *c, uint64_t t, uint64_t t0);

/* Formatting tables (format.c): the parts of the formatted lines that
 * depend only on the metadata m (its schema, streams and clock), rendered
 * once.  hvlog__meta_decode builds them into the meta store (alloc(ctx, n)
 * returns zeroed memory freed with it) and points hvlog_meta.internal at
 * them; NULL if an allocation failed (formatting works without them). */
typedef struct hvlog__fmt hvlog__fmt;
const hvlog__fmt *hvlog__fmt_build(const hvlog_meta *m, void *(*alloc)(void *ctx, size_t size), void *ctx);

#endif
