/*
 * writer.c - the file writer: sinks, per-stream buffers, the refill hook.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvlog/hvlog.h"
#include "internal.h"
#include "wire.h"

#define DEFAULT_CHUNK (64u << 10)

struct hvlog_writer {
	pthread_mutex_t lock;   /* serialises sink writes and error state */
	hvlog_sink_fn sink;
	void *user;
	int fd;                 /* for the fd and path sinks */
	int own_fd;             /* close fd at the end (path sink) */
	hvlog_status first_error;
	hvlog_error err;        /* context of first_error */
	uint64_t offset;        /* bytes handed to the sink so far */
	const hvlog_schema *schema;
	uint32_t nstreams;
	hvlog_stream *streams;
	uint8_t *bufs;
	uint64_t *slots;
};

static int fd_sink(void *user, const void *buf, size_t len)
{
	hvlog_writer *w = user;
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Hand bytes to the sink; caller holds w->lock.  Remembers the first
 * failure so that hvlog_writer_close() reports it. */
static hvlog_status sink_write(hvlog_writer *w, const void *buf, size_t len, uint32_t stream)
{
	int e = w->sink(w->user, buf, len);

	if (e) {
		if (w->first_error == HVLOG_OK) {
			w->first_error = HVLOG_IO;
			hvlog__fail(&w->err, HVLOG_IO, w->offset, "writing %zu bytes of stream %u failed: %s",
				    len, stream, strerror(e));
			w->err.sys_errno = e;
			w->err.stream = stream;
		}
		return HVLOG_IO;
	}
	w->offset += len;
	return HVLOG_OK;
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
		pthread_mutex_lock(&w->lock);
		st = sink_write(w, chunk, len, s->id);
		pthread_mutex_unlock(&w->lock);
		if (st != HVLOG_OK)
			hvlog_chunk_drop(s);
		hvlog_chunk_restart(s);
	}
	return st;
}

static hvlog_status refill(hvlog_stream *s)
{
	return write_chunk(s, 0);
}

hvlog_status hvlog_stream_flush(hvlog_stream *s)
{
	if (!s)
		return HVLOG_INVALID;
	return write_chunk(s, 0);
}

uint64_t hvlog_stream_lost_total(const hvlog_stream *s)
{
	return s ? s->lost_total : 0;
}

hvlog_stream *hvlog_writer_stream(hvlog_writer *w, uint32_t index)
{
	return w && index < w->nstreams ? &w->streams[index] : NULL;
}

static void writer_free(hvlog_writer *w)
{
	if (!w)
		return;
	if (w->own_fd && w->fd >= 0)
		close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w->streams);
	free(w->bufs);
	free(w->slots);
	free(w);
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
	if (!c.nstreams)
		c.nstreams = 1;
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
	if (c.nstreams > WIRE_MAX_STREAMS || c.chunk_size < HVLOG_CHUNK_MIN ||
	    c.chunk_size > HVLOG_CHUNK_HEADER_SIZE + WIRE_MAX_CHUNK_PAYLOAD) {
		writer_free(w);
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
				   "writer: %u streams or chunk size %u out of range (1..%u, %u..%u)", c.nstreams,
				   c.chunk_size, WIRE_MAX_STREAMS, HVLOG_CHUNK_MIN,
				   HVLOG_CHUNK_HEADER_SIZE + WIRE_MAX_CHUNK_PAYLOAD);
	}

	w->schema = c.schema;
	w->nstreams = c.nstreams;
	w->streams = calloc(c.nstreams, sizeof *w->streams);
	w->bufs = malloc((size_t)c.nstreams * c.chunk_size);
	w->slots = calloc((size_t)c.nstreams * (c.schema->nslots ? c.schema->nslots : 1), sizeof *w->slots);
	info = calloc(c.nstreams, sizeof *info);
	names = calloc(c.nstreams, sizeof *names);
	if (!w->streams || !w->bufs || !w->slots || !info || !names) {
		st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "writer: out of memory for %u streams of %u bytes",
				 c.nstreams, c.chunk_size);
		goto fail;
	}
	for (uint32_t i = 0; i < c.nstreams; i++) {
		info[i] = c.streams ? c.streams[i] : (hvlog_stream_info){ NULL, 0, UINT32_MAX };
		if (!info[i].name) {
			snprintf(names[i], sizeof names[i], "stream%u", i);
			info[i].name = names[i];
		}
		hvlog_stream_init(&w->streams[i], i, c.schema, c.group_mask, w->bufs + (size_t)i * c.chunk_size,
				  c.chunk_size, w->slots + (size_t)i * c.schema->nslots, refill, w);
	}

	st = hvlog__meta_encode(&(hvlog__meta_in){ c.schema, c.producer, c.clock_name, c.clock_hz,
						   c.clock_epoch_ns, c.nstreams, info },
				&meta, &meta_len);
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

hvlog_status hvlog_writer_close(hvlog_writer *w, hvlog_error *err)
{
	hvlog_status st;

	if (!w)
		return HVLOG_OK;
	for (uint32_t i = 0; i < w->nstreams; i++) {
		write_chunk(&w->streams[i], 1);
	}
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
