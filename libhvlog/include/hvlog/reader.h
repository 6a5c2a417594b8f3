/*
 * hvlog/reader.h - read a trace: metadata, then events in time order.
 *
 * The reader walks the events of all streams in global timestamp order
 * (ties: lower stream id first, then file order).  It trusts nothing in the
 * file: every length and count is checked against the bytes present and the
 * caps in docs/FORMAT.md, chunks are verified by checksum, and damage is
 * handed out as items of its own (where it was, what was lost) between the
 * intact events.  Memory is bounded by the number of streams times the
 * largest chunk, whatever the trace size.
 */
#ifndef HVLOG_READER_H
#define HVLOG_READER_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/export.h"

#include "hvlog/schema.h"
#include "hvlog/status.h"
#include "hvlog/writer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvlog_reader hvlog_reader;

/* The file's metadata; owned by the reader. */
typedef struct hvlog_meta {
	uint16_t version_major, version_minor;
	const char *producer;
	const char *clock_name;
	uint64_t clock_hz;
	int64_t clock_epoch_ns;
	const hvlog_schema *schema;       /* as embedded in the file */
	uint32_t nstreams;
	const hvlog_stream_info *streams;
	uint64_t data_offset;             /* where the first chunk starts */
	const void *internal;             /* private to libhvlog (formatting tables); NULL is fine */
	uint32_t nprops;                  /* the producer's key/value pairs (FORMAT.md §3.2) */
	const hvlog_meta_prop *props;
	uint64_t flush_interval_ns;       /* the producer's flush interval; 0: not stated */
	uint32_t schema_fp;               /* the schema fingerprint (FORMAT.md §4.1) */
	/* Where this metadata came from: 0 the block after the file header;
	 * otherwise the file offset of the metadata chunk it was read from,
	 * or UINT64_MAX for a fallback (hvlog_reader_options). */
	uint64_t source;
} hvlog_meta;

/* The value of key `key` in m's props, or NULL. */
HVLOG_API const char *hvlog_meta_prop_get(const hvlog_meta *m, const char *key);

typedef enum hvlog_item_kind {
	HVLOG_ITEM_EVENT,
	HVLOG_ITEM_LOST,    /* the producer dropped events (count, window) */
	HVLOG_ITEM_DAMAGE,  /* bytes that could not be decoded */
} hvlog_item_kind;

/* One item.  A view: valid until the next call on the same reader. */
typedef struct hvlog_item {
	hvlog_item_kind kind;
	uint32_t stream;          /* UINT32_MAX if unknown (damage) */
	uint64_t ts;              /* ticks */
	uint64_t offset;          /* file offset of the record or damage */
	/* HVLOG_ITEM_EVENT */
	const hvlog_event *event;
	const uint64_t *values;   /* event->nparams entries */
	/* HVLOG_ITEM_LOST: count events dropped between first_ts and last_ts */
	uint64_t lost_count;
	uint64_t lost_first_ts, lost_last_ts;
	/* HVLOG_ITEM_DAMAGE */
	hvlog_status damage;      /* TRUNCATED, CHECKSUM, MALFORMED, ... */
	uint64_t damage_len;      /* bytes skipped */
	uint64_t damage_events;   /* events known lost (0 if unknown) */
	uint64_t chunk_seq;       /* UINT64_MAX if unknown */
	const char *damage_msg;   /* a sentence, without the offset */
} hvlog_item;

/* Open a trace at `path` ("-" is standard input).  Reads the header and
 * metadata; fails with a status and err filled (offset and message) if
 * they are damaged or of a newer major version.  A trace compressed with
 * zstd, gzip, xz or bzip2 (recognised by its first bytes, from a file,
 * pipe or FIFO) is decompressed as it is read, by a thread of the reader;
 * offsets are then those of the decompressed data, and a compressed
 * stream that ends early or is corrupt is a damage item after the last
 * event (HVLOG_UNKNOWN if this build has no library for it). */
HVLOG_API hvlog_status hvlog_reader_open_path(hvlog_reader **out, const char *path, hvlog_error *err);

/* As above on an open descriptor, which may be a pipe; the reader never
 * closes fd.  A descriptor that cannot seek is spooled to an unlinked
 * temporary file (in $TMPDIR) first, so memory stays bounded; its first
 * bytes must be the magic before anything is spooled (HVLOG_MALFORMED at
 * offset 0 otherwise, as for a file). */
HVLOG_API hvlog_status hvlog_reader_open_fd(hvlog_reader **out, int fd, hvlog_error *err);

/* How to open a trace whose metadata may be lost (FORMAT.md §6.1).  When
 * the block after the header and every copy of it are damaged, the reader
 * decodes with the fallback instead: `meta`, another trace's metadata
 * (its schema and clock; it must outlive the reader), or else `schema`
 * (e.g. hvlog_schema_builtin(), with a 1 GHz clock and streams named
 * stream<N>).  Only chunks whose schema fingerprint matches the fallback
 * are decoded; the others, and the fact that a fallback was used, come
 * out as damage items.  With `force`, the fallback is used even when the
 * file's own metadata is intact. */
typedef struct hvlog_reader_options {
	const hvlog_schema *schema;
	const hvlog_meta *meta;
	int force;
	/* Live reading (docs/EMBEDDING.md, "Live reading"): with `live`, a
	 * descriptor that cannot seek (a pipe, socket, FIFO or terminal) is
	 * decoded as its bytes arrive, in bounded memory, instead of being
	 * spooled; with `follow`, a regular file is read the same way from
	 * its start and waited on at its end, like tail -f, until the
	 * writer's closing record.  A live reader has no chunk index: no
	 * siblings, partitions or time-range skipping, its stats grow as it
	 * reads, and the fallbacks above are not used (a damaged header or
	 * metadata is the open's error). */
	int live;
	int follow;
	/* A live reader that waits returns as soon as *cancel is nonzero (set
	 * from a signal handler, say): what it has already read still comes
	 * out, in order, then HVLOG_END, without damage for what the writer
	 * did not finish.  NULL: never. */
	const volatile int *cancel;
} hvlog_reader_options;

/* hvlog_reader_open_path / _fd with options; opts NULL: as those. */
HVLOG_API hvlog_status hvlog_reader_open_path_with(hvlog_reader **out, const char *path,
						   const hvlog_reader_options *opts, hvlog_error *err);
HVLOG_API hvlog_status hvlog_reader_open_fd_with(hvlog_reader **out, int fd, const hvlog_reader_options *opts,
						 hvlog_error *err);

/* Another reader over base's input, for another thread: it shares, read-
 * only, base's descriptor (or spool file; read with pread), its parsed
 * metadata (the same hvlog_meta pointers) and its chunk index, so nothing
 * is read or parsed again and a pipe is read once.  It has its own
 * settings (group mask, streams, time range, order, partition: the
 * defaults at first) and position, and starts from the beginning, with
 * base's stats of right after the open.  base and its siblings may be
 * used at the same time on different threads, each by one thread at a
 * time; opening a sibling reads only what never changes after base's
 * open, so it too may run while base is in use elsewhere.  The shared
 * part is reference-counted: base and its siblings may be closed in any
 * order, and the last one closed frees it (and closes a descriptor that
 * hvlog_reader_open_path opened).  A sibling of a sibling is a sibling
 * of the same input. */
HVLOG_API hvlog_status hvlog_reader_open_sibling(hvlog_reader **out, const hvlog_reader *base, hvlog_error *err);

HVLOG_API const hvlog_meta *hvlog_reader_meta(const hvlog_reader *r);

/* Record only the events of these groups (mask of group bits; 0: all).
 * Call before the first hvlog_reader_next(). */
HVLOG_API void hvlog_reader_set_group_mask(hvlog_reader *r, uint64_t mask);

/* Decode only the chunks of the streams s < n with keep[s] != 0; keep
 * NULL: every stream.  The other streams' chunks are not read at all:
 * their events, lost-event records and checksum damage are not seen.
 * Damage found while indexing is still reported.  Call before the first
 * hvlog_reader_next(). */
HVLOG_API void hvlog_reader_set_streams(hvlog_reader *r, const uint8_t *keep, uint32_t n);

/* Skip, without reading them, the chunks whose header proves that all
 * their records lie before tick lo or after tick hi (chunk base_ts and
 * last_ts; chunks whose time goes back, BACKWARDS, are always read).  A
 * header's bound is believed only where the stream's neighbouring chunk
 * agrees (the next chunk's base_ts for last_ts, the previous one's
 * last_ts for base_ts), so a stream's last chunk is always read when its
 * last_ts is before lo, and its first when its base_ts is after hi: a
 * damaged time is then reported, never silently empties the range.
 * Chunks that straddle a bound are decoded whole, so items outside
 * [lo, hi] still come out: the caller tests each item's ts.  lo 0 and
 * hi UINT64_MAX skip nothing.  Call before the first hvlog_reader_next(). */
HVLOG_API void hvlog_reader_set_time_range(hvlog_reader *r, uint64_t lo, uint64_t hi);

/* ordered 1 (the default): items in global time order, merged across
 * streams.  0: stream after stream, each stream's items in its own time
 * order, damage found while indexing first; no merge, so faster, for
 * consumers that do not need one global order (counting, statistics).
 * Call before the first hvlog_reader_next(). */
HVLOG_API void hvlog_reader_set_ordered(hvlog_reader *r, int ordered);

/* Decode only every nparts-th chunk of the file, starting with chunk
 * `part` (0 <= part < nparts), counting chunks in file order: nparts
 * readers on nparts threads, with parts 0..nparts-1, together hand out
 * every event exactly once, each in time order within its share.  For
 * consumers that do not need one global order (counting, statistics,
 * conversion to per-chunk files).  Damage found while indexing is
 * reported by part 0 only.  nparts 0 or 1: every chunk.  Call before the
 * first hvlog_reader_next(). */
HVLOG_API void hvlog_reader_set_partition(hvlog_reader *r, uint32_t part, uint32_t nparts);

/* The next item in time order: HVLOG_OK with *item set, HVLOG_END at the
 * end, or HVLOG_IO/HVLOG_NOMEM (err filled) if reading itself failed.
 * Damage in the file is not a failure: it comes out as items. */
HVLOG_API hvlog_status hvlog_reader_next(hvlog_reader *r, const hvlog_item **item, hvlog_error *err);

/* Batches, for consumers that want throughput (counting, statistics,
 * conversion, a language binding): the next items, exactly those and in
 * the order hvlog_reader_next would hand out, decoded into an array in
 * one call.  Calls of the two kinds may be mixed on one reader.
 *
 * A batch is made by hvlog_batch_new (cap items, 1 to 2^20; NULL if out
 * of memory) and owns its storage: items[0..n) and the parameter values
 * the event items point into, valid until the batch is filled again or
 * freed.  A damage item ends its batch: its message lives until the next
 * call on the reader.  Only the fields of an item's kind are meaningful.
 *
 * hvlog_reader_next_batch returns HVLOG_OK with 1 <= n <= cap, HVLOG_END
 * with n = 0, or HVLOG_IO/HVLOG_NOMEM (err filled) with the n items read
 * before the failure still valid.  A live reader blocks as
 * hvlog_reader_next does; a batch may then be shorter than cap. */
typedef struct hvlog_batch {
	hvlog_item *items;
	size_t n;             /* items filled by the last call */
	size_t cap;
	uint64_t *values;     /* storage for the events' values (cap * HVLOG_MAX_PARAMS) */
} hvlog_batch;
HVLOG_API hvlog_batch *hvlog_batch_new(size_t cap);
HVLOG_API void hvlog_batch_free(hvlog_batch *b);
HVLOG_API hvlog_status hvlog_reader_next_batch(hvlog_reader *r, hvlog_batch *b, hvlog_error *err);

/* Live reading.  The open of a live input reads the file header, the
 * metadata and as much more as it takes to know the first item (it
 * blocks until then).  hvlog_reader_next() then blocks until the next
 * item is ready; hvlog_reader_try_next() never blocks: it returns what
 * hvlog_reader_next() would, or HVLOG_AGAIN with *wait telling what to
 * wait for before calling again: fd readable (poll(2) POLLIN; -1: no
 * descriptor, a followed file) or timeout_ms passing (-1: no timeout),
 * whichever comes first.  Items come out in global time order as long as
 * every stream's writer flushes it at least every flush interval (the
 * metadata's flush_interval_ns); a stream quiet for longer than twice
 * that plus 100 ms (1 s when the interval is not stated), counted from
 * the arrival of the item that waits, is not waited for, and items it
 * hands out later come out late (FORMAT.md §6.6).
 * Damage, lost events and a torn tail (a producer that died mid-chunk)
 * come out as items, each once, as for a file.  Memory stays bounded:
 * one chunk being read, at most 64 MiB of chunks queued for the merge,
 * and the decoder state per stream.  On a reader that is not live,
 * hvlog_reader_try_next() is hvlog_reader_next(). */
typedef struct hvlog_reader_wait {
	int fd;
	int timeout_ms;
} hvlog_reader_wait;
HVLOG_API hvlog_status hvlog_reader_try_next(hvlog_reader *r, const hvlog_item **item, hvlog_reader_wait *wait,
					     hvlog_error *err);

/* Call fn(ctx) each time a live reader is about to wait for its input
 * (in hvlog_reader_next and the calls built on it, hvlog_select_run):
 * the place to flush what was written of the items so far, so that
 * output keeps up with the input.  fn NULL: none. */
HVLOG_API void hvlog_reader_set_wait_hook(hvlog_reader *r, void (*fn)(void *ctx), void *ctx);

/* Whether r reads a live input (hvlog_reader_options.live / .follow). */
HVLOG_API int hvlog_reader_is_live(const hvlog_reader *r);

/* Totals so far (complete after HVLOG_END). */
typedef struct hvlog_reader_stats {
	uint64_t events;         /* decoded and handed out or filtered */
	uint64_t lost_events;    /* reported by lost-events records */
	uint64_t damaged_regions;
	uint64_t damaged_bytes;
	uint64_t chunks;         /* intact chunks decoded */
	uint64_t file_size;
	/* From the chunk headers, known right after open: */
	uint64_t chunks_indexed; /* chunks holding events */
	uint64_t first_ts;       /* first event's timestamp (of chunks whose time only goes forward) */
	uint64_t last_ts;        /* last record's timestamp */
} hvlog_reader_stats;
HVLOG_API void hvlog_reader_stats_get(const hvlog_reader *r, hvlog_reader_stats *st);

/* NULL is fine. */
HVLOG_API void hvlog_reader_close(hvlog_reader *r);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_READER_H */
