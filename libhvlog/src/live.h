/*
 * live.h - the reader's input when it decodes a trace as it arrives (a
 * pipe, socket or FIFO, or a file a writer is still appending to): the
 * framing of the byte stream into verified chunks, kept per stream in a
 * bounded queue until the merge takes them (live.c).  The merge itself,
 * and the decoding, are reader.c's.
 */
#ifndef HVLOG_LIVE_H
#define HVLOG_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/reader.h"

/* One entry of the chunk index, kept for every chunk while the reader is
 * open: what decoding needs, nothing more (56 bytes).  first_ts is only
 * used while indexing. */
struct chunk {
	uint64_t off;          /* of the header */
	uint64_t seq;
	uint64_t base_ts, last_ts;
	uint64_t first_ts;     /* checked against the first event record when decoded */
	uint32_t len;          /* payload bytes */
	uint32_t stream;
	uint32_t nevents;
	uint32_t payload_crc;
	uint32_t ord;          /* position in the file, in chunks, mod 2^32: only spreads partitions */
	uint8_t flags;         /* WIRE_CHUNK_* (checked against the known ones) */
};

/* Whether the 64 bytes at h are a valid chunk header for a trace of
 * nstreams streams and (at most) size bytes; if so *c and *first_ts are
 * its fields (c->off = off). */
int hvlog__chunk_header(const uint8_t *h, uint32_t nstreams, uint64_t size, struct chunk *c, uint64_t *first_ts,
			uint64_t off);

/* The 32-byte file header h (avail bytes of the input present, fewer if
 * it is that short): its version and the metadata's length and checksum.
 * *fatal: no copy of the metadata can save the file (not a trace,
 * another major version, metadata over the cap). */
hvlog_status hvlog__file_header(const uint8_t *h, uint64_t avail, uint16_t *major, uint16_t *minor,
				uint32_t *meta_len, uint32_t *meta_crc, int *fatal, hvlog_error *err);

typedef struct hvlog__live hvlog__live;

/* Damage found while indexing, or while framing a live input. */
struct damage {
	uint64_t ts;           /* where it goes in time order */
	uint64_t off, len;
	uint64_t events;       /* events known lost */
	uint64_t seq;
	uint32_t stream;
	hvlog_status kind;
	uint32_t order;        /* found order: ties keep it */
	char msg[160];
};

/* Append d to the array *v of *n entries (*cap allocated); -1: out of
 * memory. */
int hvlog__damage_push(struct damage **v, size_t *n, size_t *cap, const struct damage *d);

/* Neighbouring chunks of another schema, reported as one damage item. */
struct foreign {
	uint64_t off, end, ts, chunks, events;
	uint32_t fp;
};
/* Chunk c (fingerprint fp) joins the run f (which must be empty, or end
 * where c starts with the same fp). */
void hvlog__foreign_add(struct foreign *f, const struct chunk *c, uint32_t fp);
/* 1 and *d the damage item of the run f, which is emptied; 0 if f is empty. */
int hvlog__foreign_damage(struct foreign *f, uint32_t schema_fp, struct damage *d);

/* Read the file header and the metadata from fd (blocking; with follow,
 * waiting at the end of a regular file for the writer), decode the
 * metadata into *store / *meta and set up the framing.  st: the totals
 * that the framing keeps up to date (bytes read, chunks, first and last
 * time).  If the header or metadata is damaged but the input is a trace
 * (a copy of the metadata may save it), *recover is set and *out kept,
 * holding the bytes read (hvlog__live_buffered). */
hvlog_status hvlog__live_open(hvlog__live **out, int fd, int follow, const volatile int *cancel, hvlog_reader_stats *st,
			      struct hvlog__meta_store **store, hvlog_meta *meta, int *recover, hvlog_error *err);
/* The decompressor whose pipe l reads (decompress.h), or NULL: when the
 * input ends, what stopped it early is damage after the last event. */
void hvlog__live_set_unz(hvlog__live *l, struct hvlog__unz *u);
void hvlog__live_free(hvlog__live *l);

/* The bytes read so far (after a failed open that left *recover set). */
void hvlog__live_buffered(const hvlog__live *l, const uint8_t **p, size_t *n);

/* Read what fd has (waiting at most wait_ms for it: 0 not at all, -1
 * without limit) and frame it.  HVLOG_OK, or HVLOG_IO / HVLOG_NOMEM. */
hvlog_status hvlog__live_pump(hvlog__live *l, int wait_ms, hvlog_error *err);

/* Stream s's next chunk, moved out of the queue: 1 with *c and *payload
 * set (valid until the next call for s), 0 if none has arrived yet, -1
 * if the input has ended (even after its final chunk, a stream may have
 * more, damage that is decoded as the file reader decodes it). */
int hvlog__live_take(hvlog__live *l, uint32_t s, const struct chunk **c, const uint8_t **payload);

/* What the merge needs of stream s while it has no item and stream by's
 * item is the earliest: *hw the time before which s will hand out nothing
 * more; 1 if it may still hand out items at or after hw (the merge waits
 * for it), 0 if it is quiet (its time has not moved on for longer than
 * the bound of docs/FORMAT.md §6.6 since by's item arrived) or ended. */
int hvlog__live_blocks(hvlog__live *l, uint32_t s, uint32_t by, uint64_t *hw);

/* The next damage item found, or NULL; it is taken. */
const struct damage *hvlog__live_damage_peek(const hvlog__live *l);
void hvlog__live_damage_pop(hvlog__live *l);

/* Whether the input has ended: end of a pipe, or (a followed file) the
 * writer's closing record (the trailer, or the last metadata copy) with
 * nothing after it. */
int hvlog__live_ended(const hvlog__live *l);

/* How to wait for more: the descriptor to poll (-1: none, a file) and the
 * milliseconds until a quiet bound passes (-1: none). */
void hvlog__live_wait(const hvlog__live *l, int *fd, int *timeout_ms);

#endif
