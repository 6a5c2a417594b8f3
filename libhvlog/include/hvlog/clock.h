/*
 * hvlog/clock.h - timestamps to nanoseconds, many at a time.
 *
 * For consumers that convert whole columns of timestamps (the Python
 * package's columnar reads): the same values as hvlog_ticks_to_ns one by
 * one, without its 128-bit division per timestamp.
 */
#ifndef HVLOG_CLOCK_H
#define HVLOG_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out[i] = hvlog_ticks_to_ns(ts[i], t0, hz) for i < n (out may be ts).
 * hz 0: every out[i] is 0. */
HVLOG_API void hvlog_ticks_to_ns_n(const uint64_t *ts, size_t n, uint64_t t0, uint64_t hz, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_CLOCK_H */
