/*
 * hvlog/timeline.h - events over time, per stream and group, in a fixed
 * number of bins that widen as the trace goes on.
 *
 * The first event's timestamp is the timeline's origin; bins start 1024
 * ticks wide and, whenever an event falls past the last one, neighbouring
 * bins are merged in pairs (the width doubles), so a trace of any length
 * ends in at most nbins bins of equal width, in one pass and bounded
 * memory: 4 bytes per stream and group, and nbins counters for each
 * (stream, group) pair that has events, made at its first (if that
 * allocation fails, the event is not counted).  An event before the
 * origin (time going back) counts in the first bin.  What `hvlog report`
 * draws.
 *
 * Not thread-safe: one object per thread.
 */
#ifndef HVLOG_TIMELINE_H
#define HVLOG_TIMELINE_H

#include <stdint.h>

#include "hvlog/export.h"
#include "hvlog/reader.h"
#include "hvlog/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvlog_timeline hvlog_timeline;

/* For the items of a trace with metadata m (copied what is needed), in
 * nbins bins (2 to 4096).  HVLOG_INVALID, HVLOG_NOMEM. */
HVLOG_API hvlog_status hvlog_timeline_create(hvlog_timeline **out, const hvlog_meta *m, uint32_t nbins,
					     hvlog_error *err);

/* Counts an event item (others are ignored). */
HVLOG_API void hvlog_timeline_add(hvlog_timeline *t, const hvlog_item *it);

typedef struct hvlog_timeline_info {
	uint64_t origin;     /* tick of bin 0's start (the first event's) */
	uint64_t bin_ticks;  /* width of a bin */
	uint32_t nbins;      /* bins in use: up to the last event's (0 without events) */
	uint32_t nstreams, ngroups;
} hvlog_timeline_info;
HVLOG_API void hvlog_timeline_info_get(const hvlog_timeline *t, hvlog_timeline_info *info);

/* Events of stream s and group g (UINT32_MAX: every group) in bin b; 0
 * out of range. */
HVLOG_API uint64_t hvlog_timeline_count(const hvlog_timeline *t, uint32_t s, uint32_t g, uint32_t b);

HVLOG_API void hvlog_timeline_free(hvlog_timeline *t); /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_TIMELINE_H */
