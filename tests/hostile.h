/*
 * hostile.h - traces built to hurt a reader, for the hostile-input tests
 * (tests/test_hostile.c) and the command-line ones (tests/hostile.sh,
 * through tests/hostilegen.c).  Each builder returns a malloc'd file image
 * (*len its size) or NULL if the library refused to write the base trace.
 */
#ifndef HVLOG_HOSTILE_H
#define HVLOG_HOSTILE_H

#include <stddef.h>
#include <stdint.h>

/* A trace of n events over 4 streams in chunks of chunk_size bytes (0:
 * the default), made in memory. */
uint8_t *hx_plain(uint64_t n, uint32_t chunk_size, size_t *len);

/* trace with its metadata replaced by meta (header lengths and checksums
 * fixed); the chunks are kept. */
uint8_t *hx_rewrap(const uint8_t *trace, size_t len, const uint8_t *meta, size_t meta_len, size_t *out_len);

/* The metadata of trace (a pointer into it). */
const uint8_t *hx_meta(const uint8_t *trace, size_t len, size_t *meta_len);

/* Header and metadata only, the metadata listing no stream at all. */
uint8_t *hx_zero_streams(size_t *len);

/* plain trace of n events whose metadata carries an extra key holding
 * one-byte items up to about meta_bytes in all (unknown keys are ignored
 * by readers). */
uint8_t *hx_big_meta(uint64_t n, size_t meta_bytes, size_t *len);

/* The metadata's top-level map declaring `pairs` entries (its real five
 * follow). */
uint8_t *hx_huge_map(uint64_t pairs, size_t *len);

/* A trace of `regions` small chunks, each with one payload byte flipped
 * (checksum damage), plus every tenth gap between chunks filled with
 * garbage (index damage). */
uint8_t *hx_damaged(size_t regions, size_t *len);

/* A trace of n events whose only metadata (no copy) fails its checksum:
 * readable only with a fallback schema. */
uint8_t *hx_lost_meta(uint64_t n, size_t *len);

/* A trace whose stream, group and event names hold C1 controls (U+009B,
 * CSI to many terminals, then "[31m"). */
uint8_t *hx_c1_names(size_t *len);

/* A trace whose schema has 64 groups (the cap) and one event, over as
 * many streams as the metadata holds (one-letter names; at most
 * nstreams), with two events on stream 0 that lie 2^40 ticks apart:
 * what costs most where memory goes by streams x groups. */
uint8_t *hx_wide(uint32_t nstreams, size_t *len);

/* A trace of 10 events whose metadata has the value of the first entry
 * keyed `key` (an integer or a short text) replaced by the CBOR float
 * 1.5; NULL if no such entry. */
uint8_t *hx_float_field(const char *key, size_t *len);

#endif
