/*
 * hvlog/select.h - which items of a trace to keep, from the strings users type.
 *
 * A selection is compiled against the metadata of one trace (its own
 * schema and streams) from the same arguments `hvlog decode` takes:
 *
 *   hvlog_select *s;
 *   hvlog_reader_stats st;
 *   hvlog_reader_stats_get(r, &st);
 *   hvlog_select_create(&s, hvlog_reader_meta(r), st.first_ts, &err);
 *   hvlog_select_add(s, HVLOG_SEL_GROUP, "interrupt", &err);
 *   hvlog_select_add(s, HVLOG_SEL_WHERE, "port == 0x3f8 && value != 0", &err);
 *   hvlog_select_apply(s, r);            -- the reader skips what it can
 *   while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
 *           if (hvlog_select_match(s, it)) ...
 *   hvlog_select_free(s);
 *
 * Which items pass:
 *   events - in the selected groups or events (all if neither is given;
 *            the two add up), minus the excluded groups and events; from a
 *            selected stream (streams and VPs add up); with a selected
 *            partition; inside [since, until]; and every WHERE true.
 *   lost   - LOST records pass every event criterion (group, event,
 *            partition, where) but keep to the streams and the time range:
 *            they belong to a stream and a time, and the reader skips whole
 *            chunks by stream and time.
 *   damage - always passes.
 *
 * Errors are values: hvlog_select_add returns HVLOG_UNKNOWN (a name or
 * number the trace does not have) or HVLOG_INVALID (an argument of the
 * wrong form) and fills err->msg with a sentence that quotes the argument
 * (control characters shown as '?') and, for a misspelt name, the closest
 * one ("did you mean 'interrupt'?").  For WHERE, err->offset is the byte
 * offset of the fault in the expression (its column is offset + 1);
 * otherwise it is UINT64_MAX.  A failed add leaves the selection as it was.
 *
 * A selection is read-only once built: several threads may match with
 * one selection at a time.
 */
#ifndef HVLOG_SELECT_H
#define HVLOG_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/export.h"
#include "hvlog/reader.h"
#include "hvlog/schema.h"
#include "hvlog/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvlog_select hvlog_select;

/* What the argument of hvlog_select_add selects (the option of `hvlog
 * decode` that takes the same string). */
typedef enum hvlog_select_kind {
	HVLOG_SEL_GROUP,         /* --group: alias, full name (any case) or mask ("0x800", "0x400|interrupt") */
	HVLOG_SEL_EXCLUDE_GROUP, /* --exclude-group */
	HVLOG_SEL_EVENT,         /* --event: symbol with or without HV_TR_ (any case), glob, or number */
	HVLOG_SEL_EXCLUDE_EVENT, /* --exclude-event */
	HVLOG_SEL_STREAM,        /* --stream: a stream's name or id */
	HVLOG_SEL_VP,            /* --vp: the streams of virtual processor N, any partition */
	HVLOG_SEL_PARTITION,     /* --partition: the event's HVLOG_ROLE_PARTITION_ID parameter,
				  * else its stream's partition */
	HVLOG_SEL_WHERE,         /* --where: an expression over parameters (its grammar: hvlog(1)) */
	HVLOG_SEL_SINCE,         /* --since: seconds ("1.5", "2s"), "ms", "us", "ns" or ticks ("1000t")
				  * after t0; '@' first: after tick 0 */
	HVLOG_SEL_UNTIL,         /* --until (same forms; both ends are inclusive) */
	HVLOG_SEL_KIND_COUNT_
} hvlog_select_kind;

/* A selection of everything in the trace with metadata m, which must
 * outlive it.  t0 is the tick relative times count from (a reader's
 * hvlog_reader_stats.first_ts, as decode prints times).  HVLOG_NOMEM. */
HVLOG_API hvlog_status hvlog_select_create(hvlog_select **out, const hvlog_meta *m, uint64_t t0,
					   hvlog_error *err);

/* Narrow s by one argument of the given kind (see the list above). */
HVLOG_API hvlog_status hvlog_select_add(hvlog_select *s, hvlog_select_kind kind, const char *arg,
					hvlog_error *err);

/* Tell reader r what it may skip without decoding (call before its first
 * hvlog_reader_next): the groups, the streams and the time range.  s must
 * outlive r's use of them. */
HVLOG_API void hvlog_select_apply(const hvlog_select *s, hvlog_reader *r);

/* 1 if item it (from a reader of s's trace) passes s, else 0. */
HVLOG_API int hvlog_select_match(const hvlog_select *s, const hvlog_item *it);

/* Parts of the compiled selection. */
/* The groups of the selected events (0: none). */
HVLOG_API uint64_t hvlog_select_group_mask(const hvlog_select *s);
/* 1 if s passes every item (nothing was added but what selects all). */
HVLOG_API int hvlog_select_everything(const hvlog_select *s);
/* 1 if event ev of s's schema may pass (its group and event criteria). */
HVLOG_API int hvlog_select_keeps_event(const hvlog_select *s, const hvlog_event *ev);
/* 1 if items of stream `stream` may pass. */
HVLOG_API int hvlog_select_keeps_stream(const hvlog_select *s, uint32_t stream);
/* The tick range kept, both ends inclusive (0..UINT64_MAX: all). */
HVLOG_API void hvlog_select_time_range(const hvlog_select *s, uint64_t *lo, uint64_t *hi);

/* Free s; NULL is fine. */
HVLOG_API void hvlog_select_free(hvlog_select *s);

/* ---- the item pipeline ---------------------------------------------------
 *
 * The loop every consumer of a selection writes: read r's items in order,
 * keep those s passes (s NULL: all), and hand each to fn, until the trace
 * ends, `limit` events have passed (UINT64_MAX: no limit; lost and damage
 * items do not count), fn returns nonzero (to stop), or reading fails.
 * Counts what passed.  `hvlog decode`, `filter`, `stats`, `info` and
 * `convert` are this loop with their own fn. */
typedef struct hvlog_run_counts {
	uint64_t events, lost, damage; /* items of each kind that passed */
} hvlog_run_counts;

typedef int (*hvlog_item_fn)(void *ctx, const hvlog_item *it);

/* HVLOG_END when the trace ended or the limit was reached; HVLOG_OK when
 * fn stopped the run; else what reading failed with (err filled).  counts
 * may be NULL; it is added to, not reset. */
HVLOG_API hvlog_status hvlog_select_run(hvlog_reader *r, const hvlog_select *s, uint64_t limit,
					hvlog_item_fn fn, void *ctx, hvlog_run_counts *counts, hvlog_error *err);

/* Without a trace: OR into *mask the groups of `list` in schema sc, a
 * comma-separated list of groups (each as HVLOG_SEL_GROUP takes it);
 * hvcore --groups.  On error *mask is unchanged (messages as above). */
HVLOG_API hvlog_status hvlog_schema_parse_groups(const hvlog_schema *sc, const char *list, uint64_t *mask,
						 hvlog_error *err);

/* Fill idx[e] (one per event of sc) with the index of the parameter of
 * event e named by the len bytes at name (its key or its display name, any
 * case, a space the same as '_'), or -1; returns how many events have it. */
HVLOG_API uint32_t hvlog_schema_param_index(const hvlog_schema *sc, const char *name, size_t len, int8_t *idx);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_SELECT_H */
