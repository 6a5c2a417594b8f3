/*
 * convert.h - `hvlog convert`: one trace to another format, streamed.
 *
 * cmd_convert.c parses the options, opens the trace and feeds every item
 * the selection keeps, one at a time, to the writer of the chosen format
 * (convert_fmt.c for json, csv and cbor through the library's formatter;
 * convert_ctf.c, convert_chrome.c).  Nothing holds more than one item, plus per-format
 * state sized by the metadata (schema, streams), never by the trace.
 * The reverse direction, JSON Lines or CBOR back into an hvlog file, is
 * convert_from.c (the format-neutral rebuild) with convert_from_json.c
 * (json-c) and convert_from_cbor.c (libcbor) as the two parsers.
 */
#ifndef HVLOG_CLI_CONVERT_H
#define HVLOG_CLI_CONVERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hvlog/hvlog.h"

/* ---- an output buffer with unchecked puts --------------------------------
 * A writer reserves the most one item can take (cv_reserve), then puts
 * without checks; the buffer goes to the FILE when it fills up. */
#define CV_ITEM_MAX (64u * 1024u) /* > any one item in any format */

typedef struct cv_out {
	FILE *f;
	char *buf, *p, *end;
	int failed; /* a write failed (errno kept in err) */
	int err;
} cv_out;

int cv_out_init(cv_out *o, FILE *f, size_t cap);
/* Make the buffer hold at least 2 * item bytes (flushing it first); 0 or
 * -1 out of memory. */
int cv_out_room(cv_out *o, size_t item);
/* n bytes of any size (a meta item): through the buffer, or past it. */
void cv_put_big(cv_out *o, const void *s, size_t n);
void cv_out_flush(cv_out *o);
void cv_out_free(cv_out *o);

static inline void cv_reserve(cv_out *o, size_t n)
{
	if ((size_t)(o->end - o->p) < n)
		cv_out_flush(o);
}
static inline void cv_ch(cv_out *o, char c)
{
	*o->p++ = c;
}
void cv_mem(cv_out *o, const void *s, size_t n);
void cv_str(cv_out *o, const char *s);
void cv_dec(cv_out *o, uint64_t v);
void cv_hex(cv_out *o, uint64_t v);          /* 0x1b */
void cv_json_str(cv_out *o, const char *s);  /* "..." with JSON escapes */
/* An integer in JSON: a number up to 2^53 (what a reader that parses
 * numbers as doubles, like jq 1.6, keeps exact), above that a decimal
 * string, as the library's JSON dialect (hvlog/format.h). */
#define CV_JSON_EXACT (1ull << 53)
void cv_json_uint(cv_out *o, uint64_t v);
/* A damage item's ,"length":..,"events_lost":..,"message":".." in JSON. */
void cv_json_damage_tail(cv_out *o, const hvlog_item *it);
/* Microseconds with three decimals from nanoseconds: "12.345". */
void cv_usec(cv_out *o, uint64_t ns);

/* ---- the conversion context ------------------------------------------- */
typedef struct cv_ctx {
	const char *in_shown;  /* input name for messages */
	const char *out_path;  /* NULL or "-": standard output (not for ctf) */
	const char *out_shown; /* -o as given, for messages (out_path may be a temporary) */
	const hvlog_meta *m;
	uint64_t t0;           /* time_ns is relative to this tick (as decode) */
	const uint8_t *ev_ok;  /* per schema event index: converted; NULL: all */
	int json_ints;         /* --json-integers */
	cv_out out;            /* standard output or out_path (not for ctf) */
	void *priv;            /* the format's own state */
	size_t item_max;       /* the most one item takes (the library's formatter) */
} cv_ctx;

/* Index of an item's event in the embedded schema. */
static inline uint32_t cv_event_index(const cv_ctx *c, const hvlog_event *ev)
{
	return (uint32_t)(ev - c->m->schema->events);
}
static inline const char *cv_stream_name(const cv_ctx *c, uint32_t s)
{
	return s < c->m->nstreams && c->m->streams[s].name ? c->m->streams[s].name : "?";
}
static inline const char *cv_group_alias(const cv_ctx *c, const hvlog_event *ev)
{
	return ev->group < c->m->schema->ngroups ? c->m->schema->groups[ev->group].alias : "?";
}
/* The symbol without the "HV_TR_" prefix the built-in schema uses. */
const char *cv_short_symbol(const char *symbol);

/* Pieces of text that depend only on the file (names escaped for a
 * format), written once when a conversion begins and copied per item:
 * one per stream, per event (by index) and per parameter slot
 * (event.slot + i).  The format's writers make them; a NULL writer gives
 * empty pieces. */
typedef struct cv_piece {
	const char *s;
	size_t n;
} cv_piece;

typedef struct cv_pieces {
	cv_piece *stream, *event, *param;
	char *mem;
} cv_pieces;

typedef struct cv_piece_writers {
	void (*stream)(cv_out *o, const cv_ctx *c, uint32_t s);
	void (*event)(cv_out *o, const cv_ctx *c, const hvlog_event *ev);
	void (*param)(cv_out *o, const cv_ctx *c, const hvlog_param *p);
} cv_piece_writers;

/* 0, or -1 out of memory (reported). */
int cv_pieces_build(cv_pieces *pc, const cv_ctx *c, const cv_piece_writers *w);
void cv_pieces_free(cv_pieces *pc);
/* For a format whose own state is only its pieces: built into c->priv
 * (0, or EXIT_IO reported), and freed. */
int cv_pieces_attach(cv_ctx *c, const cv_piece_writers *w);
void cv_pieces_detach(cv_ctx *c);
static inline void cv_put_piece(cv_out *o, cv_piece pc)
{
	cv_mem(o, pc.s, pc.n);
}

/* A writer: begin once, item per item, end once; each returns 0 or an
 * exit code (EXIT_IO, ...) after reporting the problem. */
typedef struct cv_format {
	const char *name;
	int needs_dir;      /* -o names a directory (ctf) */
	int binary;         /* refuses a terminal as standard output */
	int (*begin)(cv_ctx *c);
	int (*item)(cv_ctx *c, const hvlog_item *it);
	int (*end)(cv_ctx *c);
} cv_format;

extern const cv_format cv_format_json, cv_format_csv, cv_format_cbor, cv_format_ctf, cv_format_chrome;
extern const cv_format cv_format_perfetto; /* convert_perfetto.c, with libhvlog-perfetto */

/* ---- progress on stderr ------------------------------------------------- */
typedef struct cv_progress {
	int on;
	uint64_t total, last_shown;
	unsigned pct;
	const char *label;
} cv_progress;

void cv_progress_start(cv_progress *p, const char *label, uint64_t total);
void cv_progress_update(cv_progress *p, uint64_t done);
void cv_progress_end(cv_progress *p);

/* ---- the reverse direction (convert_from*.c) ------------------------------
 * A parsed document node, whatever the parser: JSON (json-c) or CBOR
 * (libcbor).  The rebuild in convert_from.c reads only through these. */
typedef struct cv_node cv_node;
typedef struct cv_node_ops {
	/* The value of key k of map n, or NULL (also if n is not a map). */
	cv_node *(*get)(cv_node *n, const char *k);
	/* Entries of array n; -1 if n is not an array. */
	long (*len)(cv_node *n);
	cv_node *(*at)(cv_node *n, size_t i);
	/* An unsigned integer (also "0x.."/decimal text, and false/true as 0/1);
	 * 0 or -1. */
	int (*uint)(cv_node *n, uint64_t *v);
	/* A signed integer; 0 or -1. */
	int (*sint)(cv_node *n, int64_t *v);
	/* Text, copied NUL-terminated into buf; 0, or -1 if not text or too long. */
	int (*str)(cv_node *n, char *buf, size_t cap);
	/* Whether n is null (JSON null, CBOR null/undefined). */
	int (*is_null)(cv_node *n);
	/* Entry i of map n: its key copied NUL-terminated into key (cap bytes)
	 * and its value; 1, 0 past the last entry or if n is not a map, -1 if
	 * the key is not text or too long. */
	int (*entry)(cv_node *n, size_t i, char *key, size_t cap, cv_node **value);
} cv_node_ops;

typedef struct cv_rebuild cv_rebuild;

/* Start a rebuild with the metadata item `meta` (NULL: no metadata item:
 * the built-in schema, a nanosecond clock, one stream), writing the trace
 * to out_fd (named out_shown in messages). */
cv_rebuild *cv_rebuild_open(const cv_node_ops *ops, cv_node *meta, int out_fd, const char *out_shown,
			    const char *in_shown, int *code);
/* One item (event or lost; damage items are skipped); `where` is the
 * input position for messages (line number, byte offset).  0 or an exit
 * code after reporting the problem. */
int cv_rebuild_item(cv_rebuild *b, cv_node *item, uint64_t where);
/* Close the writer; returns 0 or an exit code. */
int cv_rebuild_close(cv_rebuild *b, int code);
/* Counters for the summary. */
void cv_rebuild_counts(const cv_rebuild *b, uint64_t *events, uint64_t *lost, uint64_t *skipped);

/* Text as an unsigned integer: decimal or 0x hex, nothing else; 0 or -1. */
int cv_parse_uint(const char *s, uint64_t *v);

/* The largest metadata a trace may have (docs/FORMAT.md section 8.1). */
#define CV_META_MAX (1u << 20)

/* The longest line --from json reads (the metadata of the largest schema
 * the format allows, every name escaped, is a few MiB). */
#define CV_JSON_LINE_MAX (16u << 20)

/* Read `in` and write the trace to out_fd; 0 only if all of it was
 * converted (the caller then keeps the output). */
int cv_from_json(FILE *in, const char *in_shown, int out_fd, const char *out_shown, uint64_t in_size);
int cv_from_cbor(FILE *in, const char *in_shown, int out_fd, const char *out_shown, uint64_t in_size);

#endif
