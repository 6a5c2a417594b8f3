/*
 * hvlog/format.h - items as text lines or JSON objects.
 *
 * Formatters write into a caller's buffer and never allocate.  A line is
 * at most HVLOG_FORMAT_MAX bytes: names are capped at HVLOG_MAX_NAME and an
 * event has at most HVLOG_MAX_PARAMS parameters, so even the JSON line of a
 * schema whose every name is made of control characters (six bytes each
 * as \u00XX, about 19 KiB in all) fits.  A smaller buffer cuts the line.
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

#ifdef __cplusplus
extern "C" {
#endif

#define HVLOG_FORMAT_MAX 32768

typedef enum hvlog_format_kind {
	HVLOG_FORMAT_TEXT, /* aligned, human-readable, one line */
	HVLOG_FORMAT_JSON, /* one JSON object (JSON Lines) */
} hvlog_format_kind;

/* Format `it` of a trace with metadata `m`.  Times are shown relative to
 * tick `t0` (normally the first item's).  Writes a NUL-terminated line with
 * a final '\n' into buf (cap >= HVLOG_FORMAT_MAX) and returns its length
 * without the NUL.  The bytes of buf after the NUL (up to cap) may be
 * changed too: numbers and names are copied in fixed-size blocks. */
HVLOG_API size_t hvlog_format_item(const hvlog_meta *m, const hvlog_item *it,
			 hvlog_format_kind kind, uint64_t t0, char *buf, size_t cap);

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

/* Nanoseconds from tick t0 to tick t with clock rate hz, rounded down; 0 if
 * t < t0, UINT64_MAX if it does not fit (over 584 years). */
HVLOG_API uint64_t hvlog_ticks_to_ns(uint64_t t, uint64_t t0, uint64_t hz);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_FORMAT_H */
