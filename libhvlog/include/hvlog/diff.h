/*
 * hvlog/diff.h - what differs between two runs: two hvlog_stats compared.
 *
 * Given the statistics of trace A and of trace B (hvlog/stats.h, each with
 * the metadata of its trace, which must outlive the diff: names point into
 * it), hvlog_diff_compute() lists, matched by name (the two schemas may
 * differ):
 *   - totals: events, lost events, damage items;
 *   - per group, per event type, per value of each top parameter (ports,
 *     MSR indexes, hypercall inputs...): the count and the rate (per
 *     second of the trace's span) on each side and the relative change;
 *   - per event type with intervals on both sides: p50, p90 and p99 of the
 *     intervals on each side (ns), and the two-sample Kolmogorov-Smirnov
 *     distance D between the two distributions with its p-value.
 *
 * Significance, at a stated level of 1 % (two-sided):
 *   - a count row differs when its rate changed by at least the threshold
 *     (relative; hvlog_diff_config.threshold, default 10 %) and the change
 *     is beyond chance for two Poisson counts (|z| >= 2.576, z the rate
 *     difference over its standard error), or when it is present on one
 *     side only;
 *   - an interval row differs when D >= the threshold and its p-value
 *     (Kolmogorov's asymptotic distribution, n m / (n + m) effective
 *     samples) is below 0.01.  D is computed from the library's
 *     histograms through 100 quantiles of each side (p1 .. p100), so it
 *     is exact to about 0.01 plus the histogram's 3.2 % in value.
 * Rows are sorted with those that differ first, by effect size: for a
 * count |log2| of the rate ratio (counts + 1, so a row on one side only is
 * finite), for intervals D.
 */
#ifndef HVLOG_DIFF_H
#define HVLOG_DIFF_H

#include <stdint.h>

#include "hvlog/export.h"
#include "hvlog/reader.h"
#include "hvlog/stats.h"
#include "hvlog/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hvlog_diff_kind {
	HVLOG_DIFF_TOTAL,    /* name: "events", "lost" or "damaged" */
	HVLOG_DIFF_GROUP,    /* name: the group's alias */
	HVLOG_DIFF_EVENT,    /* name: the event's symbol */
	HVLOG_DIFF_VALUE,    /* name: the parameter's key; value: its value */
	HVLOG_DIFF_INTERVAL, /* name: the event's symbol; the intervals between its events */
	HVLOG_DIFF_KIND_COUNT_
} hvlog_diff_kind;

/* "total", "group", "event", "value", "interval"; "?" out of range. */
HVLOG_API const char *hvlog_diff_kind_name(hvlog_diff_kind k);

typedef struct hvlog_diff_row {
	hvlog_diff_kind kind;
	const char *name;
	uint64_t value;       /* HVLOG_DIFF_VALUE */
	int side;             /* 0: on both sides; 1: in A only; 2: in B only */
	uint64_t count[2];    /* A, B: events (or intervals) */
	double rate[2];       /* per second; 0 for a trace without a span */
	double change;        /* rate[1] / rate[0] - 1; +inf when rate[0] is 0 */
	/* HVLOG_DIFF_INTERVAL: percentiles in ns, the KS distance, its p-value */
	uint64_t p50[2], p90[2], p99[2];
	double ks, p_value;
	double effect;        /* the sort key */
	int differs;          /* beyond the threshold and significant */
} hvlog_diff_row;

typedef struct hvlog_diff_config {
	double threshold;           /* relative change and least D; 0: 0.10 */
	/* The top parameters both statistics were made with (the same keys
	 * in the same order as their hvlog_stats_config.tops). */
	const char *const *top_keys;
	uint32_t ntops;
} hvlog_diff_config;

typedef struct hvlog_diff hvlog_diff;

/* Compares a (trace ma) with b (trace mb).  HVLOG_NOMEM, or HVLOG_INVALID
 * for a NULL argument. */
HVLOG_API hvlog_status hvlog_diff_compute(hvlog_diff **out, const hvlog_stats *a, const hvlog_meta *ma,
					  const hvlog_stats *b, const hvlog_meta *mb, const hvlog_diff_config *cfg,
					  hvlog_error *err);

HVLOG_API uint32_t hvlog_diff_count(const hvlog_diff *d);     /* rows */
HVLOG_API uint32_t hvlog_diff_differing(const hvlog_diff *d); /* rows with differs set (the first ones) */
HVLOG_API const hvlog_diff_row *hvlog_diff_row_get(const hvlog_diff *d, uint32_t i); /* NULL out of range */
HVLOG_API double hvlog_diff_threshold(const hvlog_diff *d);
HVLOG_API void hvlog_diff_free(hvlog_diff *d); /* NULL is fine */

/* The parameters whose top values are worth comparing (hvlog diff,
 * hvlog report): of "port", "index" (MSRs) and "input_value" (hypercalls),
 * in that order, those the schemas of both a and b have (b may be a).
 * Fills up to cap keys (static strings) and returns how many. */
HVLOG_API uint32_t hvlog_diff_top_keys(const hvlog_meta *a, const hvlog_meta *b, const char **keys, uint32_t cap);

/* The asymptotic p-value of a two-sample Kolmogorov-Smirnov distance D
 * between samples of n and m values (1 for n or m 0). */
HVLOG_API double hvlog_ks_p_value(double d, uint64_t n, uint64_t m);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_DIFF_H */
