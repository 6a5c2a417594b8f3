/*
 * hvlog/stats.h - statistics of a sequence of items, mergeable.
 *
 * An hvlog_stats object takes items as a reader hands them out and keeps,
 * in memory bounded whatever the number of items:
 *   - counts of events per event type, group, stream and partition, lost
 *     events in all and per stream, damage items, the first and last
 *     event timestamps;
 *   - per event type, the intervals between consecutive events of that
 *     type in the order they were added (over all streams): their number,
 *     min and max exact, quantiles from a log-linear histogram (values
 *     below 16 ticks exact, then 16 sub-buckets per power of two; a
 *     quantile is its bucket's midpoint, clamped to [min, max], within
 *     1/32 = 3.2 % of the true value), 8 KiB per event type seen twice;
 *     an event earlier than the previous one of its type (time went back)
 *     gives no interval;
 *   - for each parameter asked for, the most frequent values, counted by
 *     Space-Saving (Metwally et al.) in a table of max(4096, 64 n)
 *     values: exact while the parameter shows no more distinct values
 *     than that; beyond, each count may be over by at most its error,
 *     and every value more frequent than 1/table-size of the events that
 *     have the parameter is in the table.
 *
 * Merging: hvlog_stats_merge(a, b) makes a the statistics of a's items
 * followed by b's.  Counts, totals and top values do not depend on the
 * order; the intervals do, and the merge joins them exactly (it adds the
 * interval from a's last event of each type to b's first).  So items cut
 * into consecutive runs (time ranges of a trace, say), counted on
 * threads or machines and merged in order, give exactly the statistics
 * of the whole run, top values included while they are exact.  Runs
 * that interleave in time (the chunk shares of hvlog_reader_set_partition)
 * merge exactly in everything but the intervals.  Merging two inexact
 * top tables follows the mergeable-summaries construction (Agarwal et
 * al., 2012): a value missing from a table that had to evict is counted
 * as that table's least count, with the same added to its error; then
 * the largest counts are kept.  In the merged table each count is still
 * at least the true count and at most its error over it, each error at
 * most the two inputs' least counts added up, and a value left out has a
 * true count of at most the table's least count (so every value counted
 * more often than that is in it).  Merging can raise the least count
 * above events / table-size, the bound of a table never merged.
 *
 * Not thread-safe: one object per thread, merged afterwards.
 */
#ifndef HVLOG_STATS_H
#define HVLOG_STATS_H

#include <stdint.h>

#include "hvlog/export.h"

#include "hvlog/reader.h"
#include "hvlog/select.h"
#include "hvlog/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvlog_stats hvlog_stats;

/* One parameter whose most frequent values are counted. */
typedef struct hvlog_stats_top {
	/* The parameter: its key ("port", "guest_rip"), in every event of
	 * the schema that has a parameter of that key. */
	const char *param;
	/* Or NULL: else one entry per schema event, the index of the
	 * parameter to count in that event or -1 (param is then only a
	 * label), for callers that match names their own way. */
	const int8_t *index;
	/* How many values are wanted (1 to 100000); the table holds
	 * max(4096, 64 n). */
	uint32_t n;
} hvlog_stats_top;

typedef struct hvlog_stats_config {
	const hvlog_stats_top *tops;
	uint32_t ntops;
} hvlog_stats_config;

/* New, empty statistics for items of a trace with metadata m (which need
 * not outlive the object: what is needed of it is copied).  cfg NULL: no
 * top values.  HVLOG_INVALID (err filled) for a bad configuration (an
 * unknown parameter key, n out of range), HVLOG_NOMEM. */
HVLOG_API hvlog_status hvlog_stats_create(hvlog_stats **out, const hvlog_meta *m, const hvlog_stats_config *cfg,
					  hvlog_error *err);

/* Add one item of the reader that opened m (events, lost events and
 * damage; the caller does any selection).  No allocation in the steady
 * state: only the first interval of an event type allocates its
 * histogram.  HVLOG_OK, or HVLOG_NOMEM with the item not counted. */
HVLOG_API hvlog_status hvlog_stats_add(hvlog_stats *s, const hvlog_item *it);

/* hvlog_select_run (hvlog/select.h) with every item that passes added to
 * s, without a call per item: what `hvlog stats` runs.  fn (NULL: none)
 * sees only the lost and damage items, after they are added, and may stop
 * the run as there.  Returns what hvlog_select_run does, or HVLOG_NOMEM
 * (err filled) with the item that needed memory not added. */
HVLOG_API hvlog_status hvlog_stats_run(hvlog_stats *s, hvlog_reader *r, const hvlog_select *sel, uint64_t limit,
				       hvlog_item_fn fn, void *ctx, hvlog_run_counts *counts, hvlog_error *err);

/* into becomes the statistics of into's items followed by from's.  Both
 * must have been made for the same trace layout (schema size, streams
 * and partitions, clock) and configuration: else HVLOG_INVALID with into
 * unchanged.  HVLOG_NOMEM: into unchanged. */
HVLOG_API hvlog_status hvlog_stats_merge(hvlog_stats *into, const hvlog_stats *from, hvlog_error *err);

/* NULL is fine. */
HVLOG_API void hvlog_stats_free(hvlog_stats *s);

/* ---- read-out ------------------------------------------------------------ */

typedef struct hvlog_stats_totals {
	uint64_t events;           /* event items */
	uint64_t lost;             /* events reported lost (LOST items) */
	uint64_t damaged;          /* damage items */
	uint64_t first_ts, last_ts; /* least and greatest event timestamp; 0 without events */
} hvlog_stats_totals;
HVLOG_API void hvlog_stats_totals_get(const hvlog_stats *s, hvlog_stats_totals *t);

/* Events of schema event e, of group g, of stream i; events reported lost
 * in stream i.  0 for an index out of range. */
HVLOG_API uint64_t hvlog_stats_event_count(const hvlog_stats *s, uint32_t e);
HVLOG_API uint64_t hvlog_stats_group_count(const hvlog_stats *s, uint32_t g);
HVLOG_API uint64_t hvlog_stats_stream_count(const hvlog_stats *s, uint32_t i);
HVLOG_API uint64_t hvlog_stats_stream_lost(const hvlog_stats *s, uint32_t i);

/* The partitions of the streams with events (a stream's partition_id from
 * the metadata), in the order of their first such stream, with the events
 * of their streams: fills up to cap entries of ids and counts (either may
 * be NULL) and returns how many there are. */
HVLOG_API uint32_t hvlog_stats_partitions(const hvlog_stats *s, uint64_t *ids, uint64_t *counts, uint32_t cap);

/* The intervals between consecutive events of schema event e, in ticks. */
typedef struct hvlog_stats_interval {
	uint64_t count;    /* how many (0: min and max are 0) */
	uint64_t min, max; /* exact */
} hvlog_stats_interval;
HVLOG_API void hvlog_stats_interval_get(const hvlog_stats *s, uint32_t e, hvlog_stats_interval *iv);

/* The q-quantile (0 < q <= 1: the value of rank ceil(q * count)) of the
 * intervals of event e, in ticks, within 3.2 %.  HVLOG_INVALID if e is out
 * of range, q is not in (0, 1] or the event has no interval. */
HVLOG_API hvlog_status hvlog_stats_interval_quantile(const hvlog_stats *s, uint32_t e, double q, uint64_t *value);

/* The top values of the t-th configured parameter. */
typedef struct hvlog_stats_top_info {
	uint64_t events;   /* events that have the parameter */
	uint32_t n;        /* values wanted (the configuration's n) */
	uint32_t distinct; /* values in the table (at most its capacity) */
	uint32_t capacity; /* max(4096, 64 n) */
	int exact;         /* 1: every count exact, every error 0 */
} hvlog_stats_top_info;
HVLOG_API hvlog_status hvlog_stats_top_info_get(const hvlog_stats *s, uint32_t t, hvlog_stats_top_info *info);

typedef struct hvlog_stats_value {
	uint64_t value;
	uint64_t count; /* at least the true count... */
	uint64_t error; /* ...and at most this much over it */
} hvlog_stats_value;

/* The up to cap most frequent values of the t-th parameter, most frequent
 * first (equal counts: lower value first); returns how many were written
 * (0 for t out of range).  No allocation. */
HVLOG_API uint32_t hvlog_stats_top_values(const hvlog_stats *s, uint32_t t, hvlog_stats_value *out, uint32_t cap);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_STATS_H */
