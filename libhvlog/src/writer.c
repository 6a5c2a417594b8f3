/*
 * writer.c - the file writer: sinks, per-stream buffers, the refill hook.
 *
 * Blocking mode (the default): a producer whose chunk is full seals it and
 * writes it to the sink itself, under the writer's lock.
 *
 * Non-blocking mode (hvlog_writer_config.nonblocking): each stream has a
 * ring of chunk buffers and the writer a flusher thread.  A producer whose
 * chunk is full seals it, queues it and moves on to the next buffer of the
 * ring; the flusher writes queued chunks to the sink and hands their
 * buffers back.  When every buffer of the ring is still queued, the refill
 * hook returns without room: the event is dropped and counted
 * (hvlog__stream_full), and the lost-events record goes out at the end
 * of the next chunk the stream seals.  Per stream the ring is single-producer single-consumer, with
 * two counters: `head` (chunks the producer queued) and `tail` (chunks the
 * flusher finished with); the buffer being filled is head % nbufs.  The
 * producer never takes a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvlog/hvlog.h"
#include "internal.h"
#include "wire.h"

#define DEFAULT_CHUNK (64u << 10)
#define DEFAULT_NB_BUFFERS 4u
#define MAX_NB_BUFFERS 1024u

/* What the producer knew of a queued chunk, in case the sink refuses it
 * (the non-blocking equivalent of hvlog_chunk_drop's state). */
struct nb_chunk {
	size_t len;
	uint32_t nevents;
	uint64_t first_ts, last_ts;
	uint64_t carried, carried_first, carried_last;
	int failed;            /* set by the flusher */
};

/* One stream's ring (non-blocking mode). */
struct nb_ring {
	_Atomic uint64_t head;  /* chunks queued (written by the producer) */
	_Atomic uint64_t tail;  /* chunks written or refused (by the flusher) */
	uint64_t reclaimed;     /* producer: chunks up to here are accounted */
	uint8_t **bufs;         /* nbufs buffers of chunk_size bytes */
	struct nb_chunk *info;  /* nbufs entries */
};

/* Streams are written by different threads: a cache line apart, so that
 * one producer's stores never make another's line bounce (false sharing);
 * their predictor slots likewise (SLOT_GAP entries between streams). */
struct padded_stream {
	hvlog_stream s;
	uint8_t gap[64];
};
#define SLOT_GAP 8u

struct hvlog_writer {
	pthread_mutex_t lock;   /* serialises sink writes and error state */
	hvlog_sink_fn sink;
	void *user;
	int fd;                 /* for the fd and path sinks */
	int own_fd;             /* close fd at the end (path sink) */
	hvlog_status first_error;
	hvlog_error err;        /* context of first_error */
	uint64_t offset;        /* bytes handed to the sink so far */
	/* After a failed write (see sink_write): */
	int rewound;            /* fd_sink took back what it wrote of it */
	uint64_t owed;          /* zero bytes to write before the next chunk */
	const hvlog_schema *schema;
	uint32_t schema_fp;     /* in every chunk header (FORMAT.md §4.1) */
	/* Metadata copies (FORMAT.md §4.6): a ready metadata chunk (header
	 * then the block), rewritten per copy for its sequence number. */
	uint8_t *copy;
	size_t copy_len;
	uint64_t copy_interval; /* chunk bytes between copies */
	uint64_t since_copy;    /* chunk bytes since the last copy */
	hvlog_writer_stats stats;
	uint32_t nstreams;
	struct padded_stream *streams;
	uint8_t *bufs;
	uint64_t *slots;
	/* non-blocking mode */
	int nonblocking;
	uint32_t nbufs;
	struct nb_ring *rings;
	pthread_t flusher;
	int flusher_started;
	sem_t wake;             /* posted when a chunk is queued or at close */
	_Atomic int stop;
};

/* Writes all of buf, through EINTR, EAGAIN (a non-blocking descriptor:
 * wait until it takes more) and short writes.  If a write fails, what
 * went out of buf is taken back when the descriptor can seek (the file is
 * cut where buf started), and w->rewound says so. */
static int fd_sink(void *user, const void *buf, size_t len)
{
	hvlog_writer *w = user;
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK) {
				struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
				if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
					continue;
			}
			if (p != buf) {
				off_t at = lseek(w->fd, 0, SEEK_CUR);
				off_t start = at - (off_t)(p - (const uint8_t *)buf);
				w->rewound = at >= 0 && lseek(w->fd, start, SEEK_SET) == start &&
					     ftruncate(w->fd, start) == 0;
			} else {
				w->rewound = 1; /* nothing went out */
			}
			return e;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Note the first failure, so that hvlog_writer_close() reports it. */
static void note_error(hvlog_writer *w, int e, size_t len, uint32_t stream)
{
	if (w->first_error != HVLOG_OK)
		return;
	w->first_error = HVLOG_IO;
	if (stream == UINT32_MAX) /* the file header, a metadata copy, the trailer */
		hvlog__fail(&w->err, HVLOG_IO, w->offset, "writing %zu bytes of the file's header or metadata failed: %s",
			    len, strerror(e));
	else
		hvlog__fail(&w->err, HVLOG_IO, w->offset, "writing %zu bytes of stream %u failed: %s", len, stream,
			    strerror(e));
	w->err.sys_errno = e;
	w->err.stream = stream;
}

/* Pay the zero bytes owed after a failed write; 0 or an errno value.  A
 * block that fails may have gone out in part: only whole blocks count as
 * paid, the rest is owed again (more zeros are harmless). */
static int pay_owed(hvlog_writer *w)
{
	static const uint8_t zeros[4096];

	while (w->owed) {
		size_t n = w->owed < sizeof zeros ? (size_t)w->owed : sizeof zeros;
		int e = w->sink(w->user, zeros, n);
		if (e)
			return e;
		w->owed -= n;
		w->offset += n;
	}
	return 0;
}

/* Hand bytes to the sink; caller holds w->lock.
 *
 * A failed write must not hide the chunks written after it (docs/FORMAT.md
 * §4.5): the sink may have taken part of it, and a chunk header that made
 * it out claims a payload that the next chunk would then fill.  So after a
 * failure either the bytes are taken back (fd_sink on a descriptor that
 * can seek: the file is cut where the write began), or, when that cannot
 * be done (a pipe, a socket, a callback), as many zero bytes as the failed
 * write had are owed, and written before anything else: whatever part of
 * it went out, the chunk it claims then ends inside the zeros, and a
 * reader, finding no chunk header there, skips the zeros to the next
 * chunk.  The caller counts the chunk's events as lost and goes on. */
static hvlog_status sink_write(hvlog_writer *w, const void *buf, size_t len, uint32_t stream)
{
	int e = pay_owed(w);

	if (!e)
		e = w->sink(w->user, buf, len);
	if (e) {
		note_error(w, e, len, stream);
		w->stats.write_errors++;
		if (!w->rewound && !w->owed)
			w->owed = len;
		w->rewound = 0;
		return HVLOG_IO;
	}
	w->offset += len;
	return HVLOG_OK;
}

/* The file's schema fingerprint into a sealed chunk's header, and the
 * header checksum again.  hvlog_chunk_seal already states the fingerprint
 * of the schema its stream was set up with, which is the writer's own; this
 * makes every chunk of the file carry the fingerprint of the metadata the
 * file was opened with, whatever a stream was initialised from. */
static void set_fp(hvlog_writer *w, const uint8_t *chunk)
{
	uint8_t *h = (uint8_t *)chunk;

	wire_put32(h + WIRE_CH_META_FP, w->schema_fp);
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
}

/* Write the next metadata copy; caller holds w->lock.  A copy the sink
 * refuses is only counted: the next one is due as soon as more chunks
 * went out. */
static hvlog_status write_copy(hvlog_writer *w, int final)
{
	uint8_t *h = w->copy;
	hvlog_status st;

	wire_put16(h + WIRE_CH_FLAGS, (uint16_t)(WIRE_CHUNK_META | (final ? WIRE_CHUNK_FINAL : 0)));
	wire_put64(h + WIRE_CH_SEQ, w->stats.meta_copies + 1);
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	w->since_copy = 0;
	if ((st = sink_write(w, h, w->copy_len, UINT32_MAX)) == HVLOG_OK)
		w->stats.meta_copies++;
	return st;
}

/* Hand a sealed chunk to the sink, after a metadata copy if one is due;
 * caller holds w->lock.  A refused chunk is counted here; its events are
 * the caller's to account. */
static hvlog_status put_chunk(hvlog_writer *w, const uint8_t *chunk, size_t len, uint32_t stream,
			      uint32_t nevents)
{
	hvlog_status st;

	if (w->since_copy >= w->copy_interval)
		write_copy(w, 0);
	st = sink_write(w, chunk, len, stream);
	if (st == HVLOG_OK) {
		w->stats.chunks++;
		w->since_copy += len;
	} else {
		w->stats.chunks_dropped++;
		w->stats.events_dropped += nevents;
	}
	return st;
}

/* Seal the stream's chunk and write it.  If the sink fails, the chunk's
 * events are counted as lost (reported by the stream's next chunk). */
static hvlog_status write_chunk(hvlog_stream *s, int final)
{
	hvlog_writer *w = s->user;
	const uint8_t *chunk;
	size_t len = hvlog_chunk_seal(s, final, &chunk);
	hvlog_status st = HVLOG_OK;

	if (len) {
		set_fp(w, chunk);
		pthread_mutex_lock(&w->lock);
		st = put_chunk(w, chunk, len, s->id, s->nrec);
		pthread_mutex_unlock(&w->lock);
		if (st != HVLOG_OK)
			hvlog_chunk_drop(s);
		hvlog_chunk_restart(s);
	}
	return st;
}

/* ---- non-blocking mode ------------------------------------------------- */

/* Producer side: account for the chunks the flusher finished with since
 * the last call; those the sink refused become pending losses, exactly as
 * hvlog_chunk_drop counts them in blocking mode.  Returns the tail. */
static uint64_t nb_reclaim(hvlog_writer *w, hvlog_stream *s)
{
	struct nb_ring *r = &w->rings[s->id];
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	for (; r->reclaimed < tail; r->reclaimed++) {
		const struct nb_chunk *c = &r->info[r->reclaimed % w->nbufs];
		if (!c->failed)
			continue;
		hvlog__pend_lost(s, c->carried, c->carried_first, c->carried_last);
		if (c->nevents) {
			uint64_t a = c->first_ts, b = c->last_ts;
			hvlog_stream_note_lost(s, c->nevents, a < b ? a : b, a < b ? b : a);
		}
	}
	return tail;
}

/* Producer side: seal the current chunk, queue it for the flusher and go
 * on in the next buffer of the ring.  HVLOG_FULL (and nothing changed) if
 * that buffer is still queued. */
static hvlog_status nb_queue(hvlog_stream *s)
{
	hvlog_writer *w = s->user;
	struct nb_ring *r = &w->rings[s->id];
	uint64_t tail = nb_reclaim(w, s);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	const uint8_t *chunk;
	struct nb_chunk *c;
	size_t len;

	if (head + 1 - tail >= w->nbufs)
		return HVLOG_FULL; /* every other buffer waits for the sink */
	len = hvlog_chunk_seal(s, 0, &chunk); /* pending losses fit: emit.h keeps room */
	if (!len)
		return HVLOG_OK;
	set_fp(w, chunk);
	c = &r->info[head % w->nbufs];
	*c = (struct nb_chunk){
		.len = len,
		.nevents = s->nrec,
		.first_ts = wire_get64(chunk + WIRE_CH_FIRST_TS),
		.last_ts = s->last_ts,
		.carried = s->carried,
		.carried_first = s->carried_first,
		.carried_last = s->carried_last,
	};
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	sem_post(&w->wake);
	s->end = r->bufs[(head + 1) % w->nbufs] + (s->end - s->buf); /* same margin */
	s->buf = r->bufs[(head + 1) % w->nbufs];
	hvlog_chunk_restart(s); /* pending losses lead the new chunk */
	return HVLOG_OK;
}

/* Flusher side: write stream i's queued chunks; 1 if there were any. */
static int nb_drain(hvlog_writer *w, uint32_t i)
{
	struct nb_ring *r = &w->rings[i];
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	int any = 0;

	for (; tail < head; tail++) {
		struct nb_chunk *c = &r->info[tail % w->nbufs];
		pthread_mutex_lock(&w->lock);
		c->failed = put_chunk(w, r->bufs[tail % w->nbufs], c->len, i, c->nevents) != HVLOG_OK;
		pthread_mutex_unlock(&w->lock);
		atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
		any = 1;
	}
	return any;
}

static void *flusher_main(void *arg)
{
	hvlog_writer *w = arg;

	for (;;) {
		int stop, any;
		while (sem_wait(&w->wake) != 0 && errno == EINTR)
			;
		do {
			stop = atomic_load_explicit(&w->stop, memory_order_acquire);
			any = 0;
			for (uint32_t i = 0; i < w->nstreams; i++)
				any |= nb_drain(w, i);
		} while (any);
		if (stop)
			return NULL;
	}
}

static hvlog_status refill(hvlog_stream *s)
{
	hvlog_writer *w = s->user;

	if (w->nonblocking)
		return nb_queue(s); /* HVLOG_FULL: no room, the event is dropped */
	return write_chunk(s, 0);
}

hvlog_status hvlog_stream_flush(hvlog_stream *s)
{
	if (!s)
		return HVLOG_INVALID;
	/* A stream of the caller's own (hvlog_stream_init): its own hook. */
	return s->refill(s);
}

uint64_t hvlog_stream_lost_total(const hvlog_stream *s)
{
	return s ? s->lost_total : 0;
}

hvlog_stream *hvlog_writer_stream(hvlog_writer *w, uint32_t index)
{
	return w && index < w->nstreams ? &w->streams[index].s : NULL;
}

static void writer_free(hvlog_writer *w)
{
	if (!w)
		return;
	if (w->flusher_started) {
		atomic_store_explicit(&w->stop, 1, memory_order_release);
		sem_post(&w->wake);
		pthread_join(w->flusher, NULL);
	}
	if (w->own_fd && w->fd >= 0)
		close(w->fd);
	free(w->copy);
	pthread_mutex_destroy(&w->lock);
	sem_destroy(&w->wake);
	if (w->rings)
		for (uint32_t i = 0; i < w->nstreams; i++) {
			if (w->rings[i].bufs)
				for (uint32_t k = 1; k < w->nbufs; k++) /* bufs[0] is in w->bufs */
					free(w->rings[i].bufs[k]);
			free(w->rings[i].bufs);
			free(w->rings[i].info);
		}
	free(w->rings);
	free(w->streams);
	free(w->bufs);
	free(w->slots);
	free(w);
}

/* The fewest metadata bytes a stream's entry takes (FORMAT.md §3.4): a
 * map header, the keys "id", "name", "partition" and "vp" (3 + 5 + 10 + 3
 * bytes) and four one-byte values.  More streams than the metadata cap
 * holds at that rate can never be written: refused before anything is
 * allocated for them. */
#define MIN_STREAM_ENTRY 26u

/* One count of a configuration against its cap; HVLOG_INVALID if over. */
static hvlog_status check_cap(const char *what, uint64_t n, uint64_t max, hvlog_error *err)
{
	if (n <= max)
		return HVLOG_OK;
	return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
			   "writer: %llu %s is more than a trace's metadata can hold (at most %llu)",
			   (unsigned long long)n, what, (unsigned long long)max);
}

/* An array the configuration counts n entries in: NULL with n > 0 would
 * be read as if it held them; HVLOG_INVALID. */
static hvlog_status check_given(const char *what, const void *array, uint64_t n, hvlog_error *err)
{
	if (array || !n)
		return HVLOG_OK;
	return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "writer: %llu %s but no array of them",
			   (unsigned long long)n, what);
}

/* The arrays of a schema and the configuration's props: each there for
 * its count, and every event's predictor slots (slot .. slot + nparams,
 * indexes into the nslots the writer allocates per stream) inside
 * nslots. */
static hvlog_status check_arrays(const hvlog_writer_config *c, hvlog_error *err)
{
	const hvlog_schema *s = c->schema;
	hvlog_status st = HVLOG_OK;

	if ((st = check_given("props", c->props, c->nprops, err)) != HVLOG_OK ||
	    (st = check_given("schema groups", s->groups, s->ngroups, err)) != HVLOG_OK ||
	    (st = check_given("schema events", s->events, s->nevents, err)) != HVLOG_OK ||
	    (st = check_given("schema value tables", s->valtabs, s->nvaltabs, err)) != HVLOG_OK)
		return st;
	for (uint32_t i = 0; i < s->nvaltabs && st == HVLOG_OK; i++)
		st = check_given("values in a value table", s->valtabs[i].values, s->valtabs[i].nvalues, err);
	for (uint32_t i = 0; i < s->nevents && st == HVLOG_OK; i++) {
		const hvlog_event *e = &s->events[i];
		st = check_given("parameters of an event", e->params, e->nparams, err);
		if (st == HVLOG_OK && (uint64_t)e->slot + e->nparams > s->nslots)
			st = hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
					 "writer: event 0x%x has predictor slots %llu..%llu, past the schema's %u",
					 e->number, (unsigned long long)e->slot,
					 (unsigned long long)e->slot + e->nparams - 1, s->nslots);
	}
	return st;
}

/* The counts of a configuration against what a reader accepts
 * (FORMAT.md §8.1), checked before anything is allocated from them: a
 * count the metadata could not hold is the caller's mistake.  The arrays'
 * lengths first, then what is in them. */
static hvlog_status check_counts(const hvlog_writer_config *c, hvlog_error *err)
{
	const hvlog_schema *s = c->schema;
	const struct {
		const char *what;
		uint64_t n, max;
	} caps[] = {
		{ "streams", c->nstreams, WIRE_MAX_META / MIN_STREAM_ENTRY },
		{ "schema groups", s->ngroups, WIRE_MAX_GROUPS },
		{ "schema events", s->nevents, WIRE_MAX_EVENTS },
		{ "schema value tables", s->nvaltabs, WIRE_MAX_VALTABS },
	};
	hvlog_status st = HVLOG_OK;

	for (size_t i = 0; i < sizeof caps / sizeof caps[0] && st == HVLOG_OK; i++)
		st = check_cap(caps[i].what, caps[i].n, caps[i].max, err);
	if (st == HVLOG_OK)
		st = check_arrays(c, err);
	for (uint32_t i = 0; i < s->nvaltabs && st == HVLOG_OK; i++)
		st = check_cap("values in a value table", s->valtabs[i].nvalues, WIRE_MAX_VALUES, err);
	for (uint32_t i = 0; i < s->nevents && st == HVLOG_OK; i++)
		st = check_cap("parameters of an event", s->events[i].nparams, HVLOG_MAX_PARAMS, err);
	return st;
}

static hvlog_status writer_start(hvlog_writer **out, hvlog_writer *w, const hvlog_writer_config *cfg,
				 hvlog_error *err)
{
	hvlog_writer_config c = cfg ? *cfg : (hvlog_writer_config){ 0 };
	hvlog_stream_info *info = NULL;
	char (*names)[24] = NULL;
	uint8_t hdr[WIRE_FILE_HEADER_SIZE] = { 0 };
	uint8_t *meta = NULL;
	size_t meta_len = 0;
	hvlog_status st;

	*out = NULL;
	if (!c.schema)
		c.schema = hvlog_schema_builtin();
	/* nstreams 0 means one stream; a streams list given with it has no
	 * entry to describe that stream, so it is not read (the writer reads
	 * exactly nstreams entries of a list, never more). */
	if (!c.nstreams) {
		c.nstreams = 1;
		c.streams = NULL;
	}
	if (!c.chunk_size)
		c.chunk_size = DEFAULT_CHUNK;
	if (!c.clock_hz)
		c.clock_hz = 1000000000u;
	if (!c.clock_name)
		c.clock_name = c.clock_hz == 1000000000u ? "ns" : "tsc";
	if (!c.producer)
		c.producer = "libhvlog " HVLOG_VERSION_STRING;
	if (!c.group_mask)
		c.group_mask = UINT64_MAX;
	if (!c.buffers)
		c.buffers = DEFAULT_NB_BUFFERS;
	if (c.nonblocking && (c.buffers < 2 || c.buffers > MAX_NB_BUFFERS)) {
		writer_free(w);
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "writer: %u buffers per stream out of range (2..%u)",
				   c.buffers, MAX_NB_BUFFERS);
	}
	if (c.nstreams > WIRE_MAX_STREAMS || c.chunk_size < HVLOG_CHUNK_MIN ||
	    c.chunk_size > HVLOG_CHUNK_HEADER_SIZE + WIRE_MAX_CHUNK_PAYLOAD) {
		writer_free(w);
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
				   "writer: %u streams or chunk size %u out of range (1..%u, %u..%u)", c.nstreams,
				   c.chunk_size, WIRE_MAX_STREAMS, HVLOG_CHUNK_MIN,
				   HVLOG_CHUNK_HEADER_SIZE + WIRE_MAX_CHUNK_PAYLOAD);
	}

	if ((st = check_counts(&c, err)) != HVLOG_OK) {
		writer_free(w);
		return st;
	}

	/* The metadata first: the streams' buffers are allocated only for a
	 * configuration whose metadata readers will accept. */
	info = calloc(c.nstreams, sizeof *info);
	names = calloc(c.nstreams, sizeof *names);
	if (!info || !names) {
		st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory for %u streams", c.nstreams);
		goto fail;
	}
	for (uint32_t i = 0; i < c.nstreams; i++) {
		info[i] = c.streams ? c.streams[i] : (hvlog_stream_info){ NULL, 0, UINT32_MAX };
		if (!info[i].name) {
			snprintf(names[i], sizeof names[i], "stream%u", i);
			info[i].name = names[i];
		}
	}
	hvlog__meta_in in = { c.schema, c.producer, c.clock_name, c.clock_hz, c.clock_epoch_ns, c.nstreams,
			      info, c.flush_interval_ns, c.props, c.nprops };
	/* what the reader would refuse, refused before anything is written */
	if (hvlog__meta_check(&in, UINT64_MAX, err) != HVLOG_OK) {
		st = HVLOG_INVALID; /* the configuration's mistake */
		if (err)
			err->status = st;
		goto fail;
	}
	st = hvlog__meta_encode(&in, &meta, &meta_len);
	if (st != HVLOG_OK) {
		hvlog__fail(err, st, UINT64_MAX, "writer: could not encode the metadata");
		goto fail;
	}
	if (meta_len > WIRE_MAX_META) {
		st = hvlog__fail(err, HVLOG_LIMIT, UINT64_MAX,
				 "writer: the metadata (%zu bytes: schema and %u streams) exceeds the %u-byte cap readers enforce",
				 meta_len, c.nstreams, WIRE_MAX_META);
		goto fail;
	}

	w->schema = c.schema;
	w->schema_fp = hvlog__schema_fp(c.schema);
	w->copy_interval = c.meta_copy_interval ? c.meta_copy_interval : WIRE_META_COPY_INTERVAL;
	w->copy_len = HVLOG_CHUNK_HEADER_SIZE + meta_len;
	if (!(w->copy = calloc(1, w->copy_len))) {
		st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory");
		goto fail;
	}
	memcpy(w->copy, WIRE_CHUNK_SYNC, 8);
	wire_put32(w->copy + WIRE_CH_LEN, (uint32_t)meta_len);
	wire_put32(w->copy + WIRE_CH_META_FP, w->schema_fp);
	wire_put32(w->copy + WIRE_CH_PAYLOAD_CRC, hvlog_crc32c(0, meta, meta_len));
	memcpy(w->copy + HVLOG_CHUNK_HEADER_SIZE, meta, meta_len);
	/* Predictor slots per stream: the schema's, but at least the
	 * built-in schema's, which the typed emitters of hvlog/events.h
	 * index without looking at the stream's schema: so that they never
	 * write past what is allocated on a writer of a smaller schema. */
	const uint32_t builtin_slots = hvlog_schema_builtin()->nslots;
	const size_t stride = (size_t)(c.schema->nslots > builtin_slots ? c.schema->nslots : builtin_slots) + SLOT_GAP;
	w->nstreams = c.nstreams;
	w->streams = calloc(c.nstreams, sizeof *w->streams);
	w->bufs = malloc((size_t)c.nstreams * c.chunk_size);
	w->slots = calloc((size_t)c.nstreams * stride, sizeof *w->slots);
	if (!w->streams || !w->bufs || !w->slots) {
		st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory for %u streams of %u bytes",
				 c.nstreams, c.chunk_size);
		goto fail;
	}
	for (uint32_t i = 0; i < c.nstreams; i++)
		hvlog_stream_init(&w->streams[i].s, i, c.schema, c.group_mask, w->bufs + (size_t)i * c.chunk_size,
				  c.chunk_size, w->slots + (size_t)i * stride, refill, w);
	if (c.nonblocking) {
		w->nbufs = c.buffers;
		if (!(w->rings = calloc(c.nstreams, sizeof *w->rings))) {
			st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory");
			goto fail;
		}
		for (uint32_t i = 0; i < c.nstreams; i++) {
			struct nb_ring *r = &w->rings[i];
			atomic_init(&r->head, 0);
			atomic_init(&r->tail, 0);
			r->bufs = calloc(w->nbufs, sizeof *r->bufs);
			r->info = calloc(w->nbufs, sizeof *r->info);
			if (!r->bufs || !r->info) {
				st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory");
				goto fail;
			}
			r->bufs[0] = w->bufs + (size_t)i * c.chunk_size;
			for (uint32_t k = 1; k < w->nbufs; k++)
				if (!(r->bufs[k] = malloc(c.chunk_size))) {
					st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX,
							 "writer: out of memory for %u buffers of %u bytes per stream",
							 w->nbufs, c.chunk_size);
					goto fail;
				}
		}
	}

	memcpy(hdr, WIRE_FILE_MAGIC, 8);
	wire_put16(hdr + WIRE_FH_MAJOR, HVLOG_FORMAT_MAJOR);
	wire_put16(hdr + WIRE_FH_MINOR, HVLOG_FORMAT_MINOR);
	wire_put32(hdr + WIRE_FH_META_LEN, (uint32_t)meta_len);
	wire_put32(hdr + WIRE_FH_META_CRC, hvlog_crc32c(0, meta, meta_len));
	wire_put32(hdr + WIRE_FH_CRC, hvlog_crc32c(0, hdr, WIRE_FH_CRC)); /* covers bytes 0..27 */
	if (sink_write(w, hdr, sizeof hdr, UINT32_MAX) != HVLOG_OK || sink_write(w, meta, meta_len, UINT32_MAX) != HVLOG_OK) {
		st = HVLOG_IO;
		if (err)
			*err = w->err;
		goto fail;
	}
	if (c.nonblocking) {
		int e = pthread_create(&w->flusher, NULL, flusher_main, w);
		if (e) {
			st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: cannot start the flusher thread: %s",
					 strerror(e));
			goto fail;
		}
		w->flusher_started = 1;
		w->nonblocking = 1;
	}
	free(meta);
	free(info);
	free(names);
	*out = w;
	return HVLOG_OK;
fail:
	free(meta);
	free(info);
	free(names);
	writer_free(w);
	return st;
}

static hvlog_writer *writer_new(void)
{
	hvlog_writer *w = calloc(1, sizeof *w);

	if (w) {
		pthread_mutex_init(&w->lock, NULL);
		sem_init(&w->wake, 0, 0);
		atomic_init(&w->stop, 0);
		w->fd = -1;
	}
	return w;
}

hvlog_status hvlog_writer_open_sink(hvlog_writer **out, hvlog_sink_fn sink, void *user,
				    const hvlog_writer_config *cfg, hvlog_error *err)
{
	hvlog_writer *w;

	if (!out || !sink)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "writer: no output given");
	if (!(w = writer_new()))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory");
	w->sink = sink;
	w->user = user;
	return writer_start(out, w, cfg, err);
}

hvlog_status hvlog_writer_open_fd(hvlog_writer **out, int fd, const hvlog_writer_config *cfg, hvlog_error *err)
{
	hvlog_writer *w;

	if (!out || fd < 0)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "writer: no output given");
	if (!(w = writer_new()))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory");
	w->sink = fd_sink;
	w->user = w;
	w->fd = fd;
	return writer_start(out, w, cfg, err);
}

hvlog_status hvlog_writer_open_path(hvlog_writer **out, const char *path, const hvlog_writer_config *cfg,
				    hvlog_error *err)
{
	hvlog_writer *w;
	int fd;

	if (!out || !path)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "writer: no output given");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		hvlog__fail(err, HVLOG_IO, UINT64_MAX, "cannot create: %s", strerror(errno));
		if (err)
			err->sys_errno = errno;
		return HVLOG_IO;
	}
	if (!(w = writer_new())) {
		close(fd);
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory");
	}
	w->sink = fd_sink;
	w->user = w;
	w->fd = fd;
	w->own_fd = 1;
	return writer_start(out, w, cfg, err);
}

void hvlog_writer_stats_get(hvlog_writer *w, hvlog_writer_stats *st)
{
	pthread_mutex_lock(&w->lock);
	*st = w->stats;
	st->bytes = w->offset;
	pthread_mutex_unlock(&w->lock);
}

hvlog_status hvlog_writer_close(hvlog_writer *w, hvlog_error *err)
{
	hvlog_status st;

	if (!w)
		return HVLOG_OK;
	if (w->flusher_started) {
		/* The flusher writes what is queued and ends; from here on the
		 * streams are written directly, as in blocking mode. */
		atomic_store_explicit(&w->stop, 1, memory_order_release);
		sem_post(&w->wake);
		pthread_join(w->flusher, NULL);
		w->flusher_started = 0;
		for (uint32_t i = 0; i < w->nstreams; i++)
			nb_reclaim(w, &w->streams[i].s);
	}
	for (uint32_t i = 0; i < w->nstreams; i++) {
		write_chunk(&w->streams[i].s, 1);
	}
	/* The last metadata copy and the trailer that points at it, so that a
	 * reader finds the metadata from the end of the file when the block
	 * after the header is damaged (FORMAT.md §4.6). */
	pthread_mutex_lock(&w->lock);
	uint64_t at = w->offset + w->owed;
	if (write_copy(w, 1) == HVLOG_OK) {
		uint8_t t[WIRE_TRAILER_SIZE] = { 0 };
		memcpy(t, WIRE_TRAILER_MAGIC, 8);
		wire_put64(t + WIRE_TR_META_OFF, at);
		wire_put32(t + WIRE_TR_CRC, hvlog_crc32c(0, t, WIRE_TR_CRC));
		sink_write(w, t, sizeof t, UINT32_MAX);
	}
	pthread_mutex_unlock(&w->lock);
	if (w->own_fd && w->fd >= 0) {
		if (close(w->fd) != 0 && w->first_error == HVLOG_OK) {
			w->first_error = HVLOG_IO;
			hvlog__fail(&w->err, HVLOG_IO, w->offset, "closing the output failed: %s", strerror(errno));
		}
		w->fd = -1;
	}
	st = w->first_error;
	if (st != HVLOG_OK && err)
		*err = w->err;
	writer_free(w);
	return st;
}
