/*
 * hvlog/writer.h - write a trace file: header, metadata, chunks.
 *
 * A writer owns one buffer per stream and a sink (a path, a file descriptor
 * or a callback).  Each stream is fed by one producer thread through the
 * emitters of hvlog/events.h; different streams may be fed from different
 * threads at once.  When a stream's chunk fills, the producer seals it and
 * writes it to the sink (sink writes are serialised by the writer).  No
 * event is dropped silently: a record the sink cannot take is counted and
 * reported in the stream as a lost-events record.
 */
#ifndef HVLOG_WRITER_H
#define HVLOG_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/export.h"

#include "hvlog/emit.h"
#include "hvlog/schema.h"
#include "hvlog/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvlog_writer hvlog_writer;

/* What a stream is; stored in the metadata. */
typedef struct hvlog_stream_info {
	const char *name;        /* "vp0"; NULL: "stream<N>" */
	uint64_t partition_id;   /* 0: none */
	uint32_t vp_index;       /* UINT32_MAX: not a virtual processor */
} hvlog_stream_info;

/* The bytes of CBOR the `streams` array takes in the metadata a writer
 * writes for these n streams (streams NULL: n of the defaults): to refuse
 * a stream list that the 1 MiB metadata cap cannot hold before anything
 * is built for it.  UINT64_MAX if memory ran out. */
HVLOG_API uint64_t hvlog_meta_streams_size(const hvlog_stream_info *streams, uint32_t n);

/* A producer-defined key/value pair stored in the metadata (FORMAT.md
 * §3.2 `props`): provenance, host names, command lines.  Both are UTF-8
 * text; key at most HVLOG_MAX_NAME bytes, value at most
 * HVLOG_MAX_PROP_VALUE; at most HVLOG_MAX_PROPS pairs, keys distinct. */
typedef struct hvlog_meta_prop {
	const char *key;
	const char *value;
} hvlog_meta_prop;
#define HVLOG_MAX_PROPS 256
#define HVLOG_MAX_PROP_VALUE 1024

/* Writes `len` bytes; returns 0 or an errno value.
 *
 * A failed write (docs/FORMAT.md §4.5): the writer cannot know how much of
 * it a callback took, so before anything else it writes as many zero bytes
 * as the failed write had; readers skip them to the next chunk.  The fd
 * and path sinks retry EINTR, EAGAIN and short writes, and on a descriptor
 * that can seek cut the file back to where the failed write began.  Either
 * way the chunk's events are counted as lost (a lost-events record in the
 * stream's next chunk), the writer goes on, and hvlog_writer_close()
 * returns the first error. */
typedef int (*hvlog_sink_fn)(void *user, const void *buf, size_t len);

/* Zero means the default for every field. */
typedef struct hvlog_writer_config {
	const hvlog_schema *schema;        /* NULL: the built-in schema */
	uint32_t nstreams;                 /* 0: 1 (then streams is not read) */
	const hvlog_stream_info *streams;  /* NULL or nstreams entries; only those are read */
	uint32_t chunk_size;               /* bytes per chunk; 0: 64 KiB */
	uint64_t clock_hz;                 /* timestamp ticks per second; 0: 1e9 */
	const char *clock_name;            /* NULL: "ns" or "tsc" */
	int64_t clock_epoch_ns;            /* Unix time (ns) of tick 0; 0: unknown */
	const char *producer;              /* NULL: "libhvlog" */
	uint64_t group_mask;               /* groups recorded; 0: all */
	/* Non-blocking mode: never make a producer wait for the sink.  Each
	 * stream gets `buffers` chunk buffers (0: 4; 2..1024) and the writer a
	 * thread that writes sealed chunks to the sink.  When all of a
	 * stream's buffers wait for the sink, its events are dropped (the
	 * emitter returns HVLOG_FULL), counted, and reported by a lost-events
	 * record that ends the next chunk the stream seals.  0: blocking (a producer
	 * whose chunk is full writes it itself, under the writer's lock). */
	int nonblocking;
	uint32_t buffers;
	/* Stored in the metadata for readers (FORMAT.md §3.2): */
	const hvlog_meta_prop *props;      /* NULL or nprops pairs, copied at open */
	uint32_t nprops;
	uint64_t flush_interval_ns;        /* how often the producer flushes each stream
					    * (hvlog_stream_flush), for live readers'
					    * watermarks; 0: not stated */
	/* Bytes of chunks between copies of the metadata (FORMAT.md §4.6);
	 * 0: 16 MiB; UINT64_MAX: none but the one at close. */
	uint64_t meta_copy_interval;
} hvlog_writer_config;

struct hvlog_meta;

/* A configuration that writes what a trace's metadata `m` (of an open
 * reader, hvlog_reader_meta) describes: its schema, streams, clock, and
 * producer with its key/value pairs, as filtering or rewriting a trace
 * keeps them.  The writing parameters (chunk size, group mask,
 * non-blocking mode, flush and copy intervals) are left 0, the defaults.
 * Borrows from m: valid while m is (the writer keeps using the schema:
 * close it before the reader). */
HVLOG_API hvlog_writer_config hvlog_writer_config_from_meta(const struct hvlog_meta *m);

/* Create `path` (truncating it) and write the file header and metadata.
 * On success *out owns the writer; close it with hvlog_writer_close().
 * Before anything is allocated from them, the configuration's counts are
 * checked against what a reader accepts (docs/FORMAT.md §8.1): too many
 * streams for the metadata, or a schema over a cap, is HVLOG_INVALID;
 * metadata over 1 MiB is HVLOG_LIMIT.  So is a count whose array is NULL
 * and an event whose predictor slots lie past the schema's nslots
 * (HVLOG_INVALID): the writer reads no array past its count. */
HVLOG_API hvlog_status hvlog_writer_open_path(hvlog_writer **out, const char *path,
				    const hvlog_writer_config *cfg, hvlog_error *err);

/* As above onto an open descriptor (a file, pipe or socket); the writer
 * never closes fd. */
HVLOG_API hvlog_status hvlog_writer_open_fd(hvlog_writer **out, int fd,
				  const hvlog_writer_config *cfg, hvlog_error *err);

/* As above onto a callback, called under the writer's lock (in
 * non-blocking mode, from the writer's thread). */
HVLOG_API hvlog_status hvlog_writer_open_sink(hvlog_writer **out, hvlog_sink_fn sink, void *user,
				    const hvlog_writer_config *cfg, hvlog_error *err);

/* Stream `index` (< nstreams), borrowed: valid until hvlog_writer_close(). */
HVLOG_API hvlog_stream *hvlog_writer_stream(hvlog_writer *w, uint32_t index);

/* Seal and write stream s's partial chunk now.  Call from s's producer
 * (bounds what a crash can lose to the events since the last flush).  In
 * non-blocking mode the chunk is queued for the writer's thread instead,
 * or, if no buffer is free, kept (HVLOG_FULL; nothing is lost). */
HVLOG_API hvlog_status hvlog_stream_flush(hvlog_stream *s);

/* Events dropped by stream s so far (sink errors), all reported or pending. */
HVLOG_API uint64_t hvlog_stream_lost_total(const hvlog_stream *s);

/* What the writer did so far (a consistent snapshot; any thread). */
typedef struct hvlog_writer_stats {
	uint64_t bytes;            /* handed to the sink */
	uint64_t chunks;           /* chunks written */
	uint64_t chunks_dropped;   /* chunks the sink refused (their events count as lost) */
	uint64_t events_dropped;   /* events in those chunks */
	uint64_t write_errors;     /* failed writes, each one followed by recovery (FORMAT.md §4.5) */
	uint64_t meta_copies;      /* metadata copies written after the header's */
} hvlog_writer_stats;
HVLOG_API void hvlog_writer_stats_get(hvlog_writer *w, hvlog_writer_stats *st);

/* Flush every stream (its producers must have stopped), write each stream's
 * final chunk, free everything.  Returns the first error met during the
 * writer's life (a sink failure), so a caller that checks only close still
 * learns of it.  NULL is fine. */
HVLOG_API hvlog_status hvlog_writer_close(hvlog_writer *w, hvlog_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_WRITER_H */
