/*
 * hvlog/format.h - items as text lines, JSON Lines, CSV rows or CBOR maps.
 *
 * An hvlog_formatter is made once from a reader's metadata and a
 * configuration (kind, flags, time origin, the selected events); it
 * renders what depends only on the file (names escaped and padded, keys,
 * CSV columns) when it is made, and then writes one item at a time into a
 * caller's buffer, without allocating.  Formatting does not change it:
 * threads may share one.
 *
 * The JSON dialect (one for `hvlog decode --format json`, `hvlog filter
 * --format json` and `hvlog convert --to json`, docs/EMBEDDING.md), made
 * for jq, pandas and JavaScript, which read numbers as doubles:
 *   - first a "meta" item (hvlog_formatter_header): the file's metadata in
 *     the layout of docs/FORMAT.md section 3 plus "type":"meta" and "t0";
 *   - then one object per item with the same fields whatever the command:
 *     type, time_ns, ts, stream, stream_name, ["offset"], then for an event
 *     group, event, number, params, [names]; for lost events count,
 *     first_ts, last_ts, first_ns, last_ns; for damage offset, kind,
 *     length, events_lost, message;
 *   - a parameter displayed as hex is a string "0x1b"; a bool true or
 *     false; any other integer (a parameter, a time, a count, a number of
 *     the meta item) above 2^53, where a reader that parses numbers as
 *     doubles rounds, a decimal string "18446744073709551615"; the rest
 *     JSON integers.
 * HVLOG_FMT_JSON_INTEGERS writes every integer as a JSON number (bools 0
 * and 1: `convert --json-integers`); HVLOG_FMT_JSON_DECODE_V1 writes what
 * `decode --format json` wrote at first (no meta item, an offset in
 * every item, lost items without first_ns/last_ns, large decimal values
 * as numbers).
 *
 * hvlog_format_item() is the older one-call form for text and JSON lines
 * (the JSON_DECODE_V1 dialect); it needs no formatter; CSV and CBOR need one.
 *
 * A text or JSON line is at most HVLOG_FORMAT_MAX bytes: names are capped
 * at HVLOG_MAX_NAME and an event has at most HVLOG_MAX_PARAMS parameters,
 * so even the JSON line of a schema whose every name is made of control
 * characters (six bytes each as \u00XX, about 19 KiB in all) fits.  A
 * smaller buffer cuts the line.
 *
 * The metadata of a reader carries tables that make formatting faster
 * (hvlog_meta.internal); a hand-built hvlog_meta without them (NULL) gives
 * the same lines.
 */
#ifndef HVLOG_FORMAT_H
#define HVLOG_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/export.h"

#include "hvlog/reader.h"
#include "hvlog/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HVLOG_FORMAT_MAX 32768

typedef enum hvlog_format_kind {
	HVLOG_FORMAT_TEXT, /* aligned, human-readable, one line */
	HVLOG_FORMAT_JSON, /* one JSON object (JSON Lines) */
	HVLOG_FORMAT_CSV,  /* RFC 4180 rows, CRLF, after a header row (formatters only) */
	HVLOG_FORMAT_CBOR, /* an RFC 8742 CBOR sequence, one map per item (formatters only) */
} hvlog_format_kind;

/* Format `it` of a trace with metadata `m` (a text line, or a JSON line in
 * the JSON_DECODE_V1 dialect, without formatter; CSV and CBOR give the text
 * line).  Times are shown relative to
 * tick `t0` (normally the first item's).  Writes a NUL-terminated line with
 * a final '\n' into buf (cap >= HVLOG_FORMAT_MAX) and returns its length
 * without the NUL.  The bytes of buf after the NUL (up to cap) may be
 * changed too: numbers and names are copied in fixed-size blocks. */
HVLOG_API size_t hvlog_format_item(const hvlog_meta *m, const hvlog_item *it,
			 hvlog_format_kind kind, uint64_t t0, char *buf, size_t cap);

/* ---- formatters ------------------------------------------------------- */

typedef struct hvlog_formatter hvlog_formatter;

enum {
	/* TEXT: ANSI colours (time dim, group cyan, event bold, values green,
	 * lost yellow, damage bold red), put in as the line is written; the
	 * text between the escapes is the uncoloured line's */
	HVLOG_FMT_COLOR = 1u << 0,
	/* JSON, CBOR: the item's file offset ("offset") in event and lost
	 * items too (damage items always have it) */
	HVLOG_FMT_OFFSETS = 1u << 1,
	/* JSON: every integer a JSON number (bools 0 and 1), no strings */
	HVLOG_FMT_JSON_INTEGERS = 1u << 2,
	/* JSON: the dialect of hvlog decode --format json before the one
	 * above; implies HVLOG_FMT_OFFSETS */
	HVLOG_FMT_JSON_DECODE_V1 = 1u << 3,
};

/* How an item's time is shown (`hvlog decode --time`): put into a
 * formatter's flags as HVLOG_FMT_TIME(mode), for every kind (none:
 * RELATIVE).  In text it is the
 * time column, and the times of a lost-events line take the same form
 * (seconds since t0 with DELTA).  JSON, CSV and CBOR always carry time_ns
 * (nanoseconds since t0) and ts (ticks), so RELATIVE and TICKS write the
 * same there; ABSOLUTE adds "time_utc" (the ISO-8601 string) and DELTA
 * "delta_ns" after ts (a column after ts in CSV). */
typedef enum hvlog_time_mode {
	HVLOG_TIME_RELATIVE, /* seconds since tick t0: "12.000345678", right-aligned in 15 columns */
	HVLOG_TIME_ABSOLUTE, /* UTC wall-clock from the clock's epoch_ns (which must be known, not 0):
			      * "2026-12-03T05:33:59.123456789Z" */
	HVLOG_TIME_TICKS,    /* the raw timestamp in ticks, right-aligned in 20 columns */
	HVLOG_TIME_DELTA,    /* "+0.000001234": seconds since the previous item (the tick given
			      * to hvlog_formatter_item_since; t0 for hvlog_formatter_item) */
} hvlog_time_mode;

#define HVLOG_FMT_TIME_SHIFT 8
#define HVLOG_FMT_TIME_MASK (0xfu << HVLOG_FMT_TIME_SHIFT)
#define HVLOG_FMT_TIME(mode) ((unsigned)(mode) << HVLOG_FMT_TIME_SHIFT)

typedef struct hvlog_formatter_config {
	hvlog_format_kind kind;
	unsigned flags;          /* HVLOG_FMT_* that apply to kind */
	uint64_t t0;             /* times are shown relative to this tick */
	/* CSV: per schema event index, nonzero if its items will be written:
	 * the parameter columns are the keys of these events; NULL: all */
	const uint8_t *events;
} hvlog_formatter_config;

/* Make a formatter for items of the trace with metadata m, which must
 * outlive it.  HVLOG_OK, HVLOG_INVALID (a flag that does not apply to the
 * kind; HVLOG_TIME_ABSOLUTE with a clock whose epoch is unknown (0); a hand-built m with a name over HVLOG_MAX_NAME bytes or an event
 * over HVLOG_MAX_PARAMS parameters, which a reader never hands out) or
 * HVLOG_NOMEM, with err filled. */
HVLOG_API hvlog_status hvlog_formatter_create(hvlog_formatter **out, const hvlog_meta *m,
					      const hvlog_formatter_config *cfg, hvlog_error *err);

/* What goes before the first item, owned by f: the CSV header row, the
 * JSON or CBOR meta item; empty for text.  *len gets its length. */
HVLOG_API const char *hvlog_formatter_header(const hvlog_formatter *f, size_t *len);

/* The most bytes one item takes (text and JSON: HVLOG_FORMAT_MAX; CSV: more
 * with many columns). */
HVLOG_API size_t hvlog_formatter_item_max(const hvlog_formatter *f);

/* Write item it (of f's trace) at buf and return its length in bytes; text,
 * JSON and CSV end with their line end and a NUL (not counted).  With cap
 * below hvlog_formatter_item_max(f) a line may be cut (it still ends with
 * its line end), and a CBOR item that does not fit is not written (0).
 * The bytes after the item, up to cap, may change. */
HVLOG_API size_t hvlog_formatter_item(const hvlog_formatter *f, const hvlog_item *it, char *buf, size_t cap);

/* As hvlog_formatter_item, with HVLOG_TIME_DELTA's delta measured from
 * tick prev (the previous item's timestamp) instead of t0; the formatter
 * itself keeps no state, so threads may still share it.  Other modes
 * ignore prev. */
HVLOG_API size_t hvlog_formatter_item_since(const hvlog_formatter *f, const hvlog_item *it, uint64_t prev,
					    char *buf, size_t cap);

/* NULL is fine. */
HVLOG_API void hvlog_formatter_free(hvlog_formatter *f);

/* Building blocks for formats of one's own (hvlog convert uses them).
 * Each writes at out, without a NUL, and returns the bytes written. */
#define HVLOG_DEC_MAX 20 /* digits of UINT64_MAX */
/* The decimal digits of v; out has room for HVLOG_DEC_MAX bytes. */
HVLOG_API size_t hvlog_format_dec(char *out, uint64_t v);
#define HVLOG_HEX_MAX 18 /* "0x" and 16 digits */
/* v in hex with a 0x prefix and no leading zeros ("0x1b", "0x0"); out has
 * room for HVLOG_HEX_MAX bytes, and those after the digits may change. */
HVLOG_API size_t hvlog_format_hex(char *out, uint64_t v);
/* s as a JSON string, quotes included (", \ and control characters
 * escaped); out has room for 2 + 6 * strlen(s) bytes. */
HVLOG_API size_t hvlog_format_json_str(char *out, const char *s);

/* ---- one walk over the metadata ------------------------------------------
 *
 * hvlog_meta_walk() calls a visitor for the entries of the lists asked
 * for, in this order: streams, groups, value tables (each value after its
 * table), events (each parameter after its event).  Each list is
 * announced with its length (list) and closed (list_end).  The meta item
 * of JSON and CBOR formatters is written with it, and `hvlog events` lists
 * a schema with it.  A NULL callback is skipped. */
enum {
	HVLOG_LIST_STREAMS = 1u << 0, /* needs the hvlog_meta */
	HVLOG_LIST_GROUPS = 1u << 1,
	HVLOG_LIST_VALTABS = 1u << 2,
	HVLOG_LIST_EVENTS = 1u << 3,
};

typedef struct hvlog_meta_visitor {
	void (*list)(void *ctx, unsigned list, uint32_t n); /* list: one HVLOG_LIST_* */
	void (*list_end)(void *ctx, unsigned list);
	void (*stream)(void *ctx, uint32_t i, const hvlog_stream_info *si);
	void (*group)(void *ctx, uint32_t i, const hvlog_group *g);
	void (*valtab)(void *ctx, uint32_t i, const hvlog_valtab *t);
	void (*value)(void *ctx, const hvlog_valtab *t, const hvlog_value_name *v);
	void (*valtab_end)(void *ctx, const hvlog_valtab *t);
	void (*event)(void *ctx, uint32_t i, const hvlog_event *ev);
	void (*param)(void *ctx, const hvlog_event *ev, uint32_t i, const hvlog_param *p);
	void (*event_end)(void *ctx, const hvlog_event *ev);
} hvlog_meta_visitor;

/* Walk the lists (HVLOG_LIST_* ored) of metadata m, or of schema s alone
 * (m NULL: no streams); s NULL is m's schema. */
HVLOG_API void hvlog_meta_walk(const hvlog_meta *m, const hvlog_schema *s, unsigned lists,
			       const hvlog_meta_visitor *v, void *ctx);

/* Nanoseconds from tick t0 to tick t with clock rate hz, rounded down; 0 if
 * t < t0, UINT64_MAX if it does not fit (over 584 years).  hz must not be
 * 0 (it is divided by; hvlog_ticks_to_ns_n of hvlog/clock.h takes 0). */
HVLOG_API uint64_t hvlog_ticks_to_ns(uint64_t t, uint64_t t0, uint64_t hz);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_FORMAT_H */
