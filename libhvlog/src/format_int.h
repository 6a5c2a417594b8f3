/*
 * format_int.h - what the formatter's modules share (format.c: numbers,
 * text and JSON items, the formatter object; format_meta.c: the metadata
 * walk and the JSON and CBOR meta items; format_csv.c; format_cbor.c).
 */
#ifndef HVLOG_FORMAT_INT_H
#define HVLOG_FORMAT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "internal.h"

/* For the writers of the hot paths whose copies per caller (plain and
 * coloured, one dialect and another) must each be as fast as one alone. */
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* The line being written; end is where it must stop (the caller keeps room
 * for the line end after it).  Everything written past end is cut off. */
struct out {
	char *p, *end;
};

static inline void put_mem(struct out *o, const char *s, size_t n)
{
	/* two branches, so that a constant n stays constant for memcpy */
	if (n <= (size_t)(o->end - o->p)) {
		memcpy(o->p, s, n);
		o->p += n;
	} else { /* the line is cut at the end of the buffer */
		memcpy(o->p, s, (size_t)(o->end - o->p));
		o->p = o->end;
	}
}

#define put_lit(o, lit) put_mem(o, lit, sizeof lit - 1)

static inline void put_str(struct out *o, const char *s)
{
	put_mem(o, s, strlen(s));
}

static inline void put_ch(struct out *o, char c)
{
	if (o->p < o->end)
		*o->p++ = c;
}

/* A piece of a line, rendered once.  put_piece copies whole 32-byte blocks
 * (fixed-size copies, without a call to memcpy; most pieces are one
 * block), so the bytes of a piece up to the next multiple of 32 (at least
 * 32) must be readable: the tables keep PIECE_SLACK bytes after each.  It
 * writes as many, so it does that only with PIECE_SLACK bytes of room
 * beyond the piece; the bytes past the piece are overwritten by what comes
 * next, or left behind the end of the line. */
struct piece {
	const char *s;
	uint32_t n;
};

#define PIECE_SLACK 32

static inline void put_piece(struct out *o, struct piece pc)
{
	if ((size_t)(o->end - o->p) >= (size_t)pc.n + PIECE_SLACK) {
		memcpy(o->p, pc.s, 32);
		for (uint32_t i = 32; i < pc.n; i += 32)
			memcpy(o->p + i, pc.s + i, 32);
		o->p += pc.n;
	} else {
		put_mem(o, pc.s, pc.n);
	}
}

/* format.c's number writers, for the other modules: at p, with room for
 * HVLOG__NUM_ROOM bytes (the most one takes); the put forms check the room
 * inline and go out of line only near the end of the buffer. */
#define HVLOG__NUM_ROOM 32
char *hvlog__dec_at(char *p, uint64_t v);
char *hvlog__hex_at(char *p, uint64_t v);
void hvlog__put_num_cut(struct out *o, char *(*at)(char *p, uint64_t v), uint64_t v);

static inline void hvlog__put_dec(struct out *o, uint64_t v)
{
	if ((size_t)(o->end - o->p) >= HVLOG__NUM_ROOM)
		o->p = hvlog__dec_at(o->p, v);
	else
		hvlog__put_num_cut(o, hvlog__dec_at, v);
}

static inline void hvlog__put_hex(struct out *o, uint64_t v)
{
	if ((size_t)(o->end - o->p) >= HVLOG__NUM_ROOM)
		o->p = hvlog__hex_at(o->p, v);
	else
		hvlog__put_num_cut(o, hvlog__hex_at, v);
}
void hvlog__put_json_str(struct out *o, const char *s);

/* Pieces are packed into blocks from an allocator, each with PIECE_SLACK
 * bytes to spare at its end. */
struct arena {
	char *p;
	size_t left;
	void *(*alloc)(void *ctx, size_t size); /* zeroed memory, freed by its owner */
	void *ctx;
};

/* A scratch line: every piece fits (the longest, an event's JSON head with
 * two names of control characters, is under 1 KiB), so none is cut. */
#define PIECE_MAX 1024
#define SCRATCH(o, buf) (o = (struct out){ buf, buf + sizeof buf })

/* Keep what was rendered into scratch[0 .. o->p) as *pc; 0 out of memory. */
int hvlog__fmt_keep(struct arena *a, struct piece *pc, const char *scratch, const struct out *o);

/* Output that grows (malloc) as it is written, for the header items, whose
 * size is the metadata's: reserve the most the next entry takes, then put
 * without checks.  A failed allocation leaves failed set and o full. */
struct grow {
	char *buf;
	size_t cap;
	struct out o;
	int failed;
};

void hvlog__grow_reserve(struct grow *g, size_t n);
struct hvlog_formatter;
/* Keep what g holds as f's header; 0 (and g freed) if an allocation failed. */
int hvlog__grow_keep(struct hvlog_formatter *f, struct grow *g);

/* ---- the formatter ------------------------------------------------------ */

struct fmt_csv;
struct fmt_cbor;

/* A block of the formatter's own memory (its tables and pieces). */
struct fmt_block {
	struct fmt_block *next;
	max_align_t data[];
};

struct hvlog_formatter {
	const hvlog_meta *m;
	const hvlog__fmt *tab;            /* m's tables, or NULL */
	hvlog_format_kind kind;
	unsigned flags;
	uint64_t t0;
	hvlog__clock clock;
	size_t item_max;
	char *header;                     /* malloc'd; NULL for none */
	size_t header_len;
	const struct piece *color_heads;  /* TEXT with COLOR: per schema event */
	const struct fmt_csv *csv;
	const struct fmt_cbor *cbor;
	struct fmt_block *blocks;         /* everything else it allocated */
};

/* Zeroed memory owned by f (freed with it); NULL out of memory. */
void *hvlog__fmt_alloc(void *f, size_t size);

/* Times of f's items. */
static inline uint64_t fmt_ns(const hvlog_formatter *f, uint64_t t)
{
	return hvlog__clock_ns(&f->clock, t, f->t0);
}

/* Index of an item's event in f's schema, or UINT32_MAX for an event from
 * elsewhere (compared as integers: ev may point anywhere). */
static inline uint32_t fmt_event_index(const hvlog_formatter *f, const hvlog_event *ev)
{
	uintptr_t off = (uintptr_t)ev - (uintptr_t)f->m->schema->events;

	return off < f->m->schema->nevents * sizeof *ev && off % sizeof *ev == 0 ? (uint32_t)(off / sizeof *ev)
										 : UINT32_MAX;
}

const char *hvlog__fmt_stream_name(const hvlog_meta *m, uint32_t s);
const char *hvlog__fmt_group_alias(const hvlog_meta *m, const hvlog_event *ev);

/* The meta item of a JSON or CBOR formatter as its header (format_meta.c);
 * 0 out of memory. */
int hvlog__meta_item(hvlog_formatter *f);

/* Above this a JSON number is not exact in a reader that parses numbers as
 * doubles (JavaScript, jq 1.6): the default dialect writes a string. */
#define HVLOG__JSON_EXACT_MAX (1ull << 53)

/* A CBOR head (format_cbor.c): major type and argument in the shortest form. */
enum { HVLOG__CB_UINT = 0x00, HVLOG__CB_NEGINT = 0x20, HVLOG__CB_TEXT = 0x60, HVLOG__CB_ARRAY = 0x80,
       HVLOG__CB_MAP = 0xa0 };
void hvlog__cb_head(struct out *o, unsigned major, uint64_t v);

/* CSV (format_csv.c): columns and header row from cfg->events; 0 out of
 * memory.  Then one row per item. */
int hvlog__csv_build(hvlog_formatter *f, const uint8_t *events);
void hvlog__csv_item(const hvlog_formatter *f, struct out *o, const hvlog_item *it);

/* CBOR (format_cbor.c): the pieces; 0 out of memory.  An item, or 0 if it
 * does not fit in cap. */
int hvlog__cbor_build(hvlog_formatter *f);
size_t hvlog__cbor_item(const hvlog_formatter *f, const hvlog_item *it, char *buf, size_t cap);

#endif
