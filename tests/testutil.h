/*
 * testutil.h - shared helpers of the Check unit tests: temporary
 * directories, files, a seeded generator, reading a whole trace into
 * arrays, comparing event lists, walking the chunks of a trace file.
 *
 * The helpers that can fail use ck_assert_*, so they are meant to be
 * called from inside a test.
 */
#ifndef HVLOG_TESTUTIL_H
#define HVLOG_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/hvlog.h"

/* ck_assert_msg for hot loops: a passing ck_assert_* costs Check a write to
 * its result channel (the last location seen), this costs nothing. */
#define TU_CHECK(cond, ...)                          \
	do {                                         \
		if (!(cond))                         \
			ck_abort_msg(__VA_ARGS__);   \
	} while (0)

/* ---- files and directories ---------------------------------------- */

/* A fresh directory under $TMPDIR (or /tmp); path has room for PATH_MAX. */
void tu_mkdtemp(char *path, size_t cap);
/* Remove the directory and everything below it. */
void tu_rmtree(const char *path);
/* dir "/" name into out. */
void tu_path(char *out, size_t cap, const char *dir, const char *name);
/* The whole file (malloc'd, caller frees); *len its size. */
uint8_t *tu_load(const char *path, size_t *len);
void tu_save(const char *path, const void *buf, size_t len);

/* ---- seeded generator (splitmix64) -------------------------------- */

typedef struct tu_rng {
	uint64_t s;
} tu_rng;

uint64_t tu_rand(tu_rng *r);
uint64_t tu_rand_below(tu_rng *r, uint64_t n); /* 0..n-1, n > 0 */
/* A value for parameter p: fits its type (bool 0/1); a mix of 0, the
 * maximum and random values of random widths. */
uint64_t tu_rand_value(tu_rng *r, const hvlog_param *p);

/* ---- events -------------------------------------------------------- */

typedef struct tu_event {
	uint32_t stream;
	uint32_t number;
	uint64_t ts;
	uint64_t seq;     /* emission order (expected lists) */
	uint64_t offset;  /* file offset of the record (lists read back) */
	uint32_t nparams;
	uint64_t v[HVLOG_MAX_PARAMS];
} tu_event;

typedef struct tu_events {
	tu_event *v;
	size_t n, cap;
} tu_events;

void tu_events_push(tu_events *l, const tu_event *e);
void tu_events_free(tu_events *l);
/* Sort an expected list into the reader's order: timestamp, then stream,
 * then emission order. */
void tu_events_sort_reader_order(tu_events *l);

/* Emit e (fills e->nparams from ev) on stream s with hvlog_emit and, when
 * `want` is not NULL, append it there with the next seq. */
void tu_emit(hvlog_stream *s, const hvlog_event *ev, tu_event *e, tu_events *want);

/* Emit n random events of every type of the built-in schema (each type at
 * least once when n >= nevents) over nstreams streams of w, timestamps
 * non-decreasing globally from *ts (advanced), with ties.  Appends to want. */
void tu_emit_random(hvlog_writer *w, uint32_t nstreams, size_t n, tu_rng *rng, uint64_t *ts,
		    tu_events *want);

/* Assert that got equals want (stream, event, timestamp, values; not
 * offsets), naming the first difference. */
void tu_assert_events_equal(const char *what, const tu_events *want, const tu_events *got);

/* ---- reading ------------------------------------------------------- */

typedef struct tu_lost {
	uint32_t stream;
	uint64_t ts, offset, count, first, last;
} tu_lost;

typedef struct tu_damage {
	hvlog_status kind;
	uint32_t stream;
	uint64_t ts, offset, len, events, seq;
	char msg[200];
} tu_damage;

typedef struct tu_trace {
	tu_events ev;
	tu_lost *lost;
	size_t nlost;
	tu_damage *dmg;
	size_t ndmg;
	size_t nitems;
	hvlog_reader_stats stats;
	hvlog_status end;  /* HVLOG_END, or the error that stopped reading */
} tu_trace;

/* Read every item of an open reader (at most max_items; 0: no cap). */
void tu_read_reader(hvlog_reader *r, tu_trace *t, size_t max_items);
/* Open path (asserting success), set the group mask, read it all. */
void tu_read_path(const char *path, uint64_t group_mask, tu_trace *t);
void tu_trace_free(tu_trace *t);
/* A one-line description of the trace's damage items, for messages. */
const char *tu_damage_summary(const tu_trace *t);

/* ---- chunk layout (libhvlog/src/wire.h) --------------------------- */

typedef struct tu_chunk {
	uint64_t off;     /* of the chunk header */
	uint32_t len;     /* payload bytes */
	uint32_t stream, nevents, flags;
	uint64_t seq, base_ts, first_ts, last_ts;
} tu_chunk;

/* Offset of the first chunk (file header + metadata). */
uint64_t tu_data_offset(const uint8_t *buf, size_t len);
/* Walk the chunks of an intact trace (asserting each is well formed);
 * returns how many, *out malloc'd. */
/* The damage items that cover bytes from off (not the zero-length notes
 * about a stream's gap or end): the first, and how many. */
const tu_damage *tu_damage_at(const tu_trace *t, uint64_t off, size_t *count);
size_t tu_chunks(const uint8_t *buf, size_t len, tu_chunk **out);
/* Index of the chunk holding file offset off, or -1. */
long tu_chunk_at(const tu_chunk *c, size_t n, uint64_t off);

#endif
