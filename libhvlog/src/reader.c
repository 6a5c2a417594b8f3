/*
 * reader.c - the streaming reader.
 *
 * Opening reads the file header and metadata, then indexes the chunks by
 * their headers alone (seeking over payloads), resynchronising on the chunk
 * sync marker past damage.  Reading merges the streams by timestamp: each
 * stream holds one chunk payload at a time and decodes one record ahead.
 * Damage found while indexing or decoding becomes items placed in time
 * order.  Nothing here trusts a length, count or number from the file
 * before checking it against the bytes present and the caps of wire.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decompress.h"
#include "hvlog/hvlog.h"
#include "internal.h"
#include "live.h"
#include "wire.h"

/* Zeroed bytes after a chunk payload in memory: a varint load reads 8
 * bytes whatever its length. */
#define CHUNK_PAD 16

/* Items hvlog_reader_next decodes ahead in one run (see read_ahead). */
#define READ_AHEAD 128

struct rstream {
	struct chunk *chunks;  /* in sequence order */
	size_t nchunks, next;  /* next: index of the chunk to load */
	const struct chunk *cur;
	uint8_t *buf;
	size_t bufcap;
	const uint8_t *p, *end;
	uint64_t ts;
	uint32_t decoded;      /* events decoded from cur */
	uint64_t base_off;     /* file offset of buf[0] */
	uint64_t *slots;
	uint64_t *keyed;       /* HVLOG_KEYED_SLOTS shared KEYED predictors, after the slots */
	uint64_t *rips;        /* HVLOG_RIP_SLOTS RIP cache entries, after those */
	int has;               /* item holds the stream's next item */
	int done;
	int damaged;           /* cur was reported damaged (once is enough) */
	int first_lies;        /* cur's first event is not at its header's first_ts */
	hvlog_item item;
	uint64_t values[HVLOG_MAX_PARAMS];
};

/* How events of one number are decoded, set up at open. */
struct plan {
	const hvlog_event *ev;
	uint32_t slot;         /* first predictor slot */
	uint32_t nparams;
	uint32_t wanted;       /* its group is in the group mask */
	uint32_t keyed;        /* bit i: parameter i is KEYED */
	uint32_t rip;          /* bit i: parameter i is a RIP parameter */
	uint32_t coded;        /* bit i: parameter i is DELTA or KEYED, not RIP */
	uint32_t shape;        /* how the unchecked path reads the parameters (SHAPE) */
	uint64_t max[3];       /* the largest value of the first three parameters' types */
};

/* How the unchecked path reads an event's parameters (struct plan.shape):
 * an event of up to three parameters by code compiled for its sequence
 * of codings, with no test of a coding bit per parameter; longer ones by
 * the loop.  OP_R: a RIP parameter (DELTA and the GUEST_RIP role). */
enum { OP_V, OP_D, OP_K, OP_R };
#define SHAPE(n, a, b, c) ((n) | OP_##a << 2 | OP_##b << 4 | OP_##c << 6)
#define SHAPE_LOOP 0x100u
#define SHAPE_SKIP 0x101u /* not wanted and no KEYED parameter: stepped over */

struct hent {
	uint64_t key;          /* the stream's next item's time */
	uint32_t s;
};

/* What a reader's siblings (hvlog_reader_open_sibling) share with it,
 * read-only once the open is done: the descriptor (read with pread), the
 * metadata, the per-slot tables, the chunk index and the damage found
 * while indexing.  Every sibling holds the same pointers; `refs` counts
 * the readers holding them, and the last one closed frees them. */
struct hvlog_reader {
	_Atomic unsigned *refs;    /* NULL until the open succeeded: then only this reader's */
	int fd;
	int own_fd;
	hvlog__unz *unz;           /* a compressed input's decompressor (shared), or NULL */
	uint64_t size;
	uint64_t end;              /* where the chunks end: size, or before a valid trailer */
	uint64_t proof_budget;     /* payload bytes the index may still read to prove lengths */
	uint64_t copy_budget;      /* metadata copy bytes the open may still read (load_copy) */
	uint64_t *suspect;         /* [lo, hi) pairs, sorted and disjoint: where chunks are missing */
	size_t nsuspect;           /* pairs in suspect (0: the first pass, or nothing missing) */
	uint64_t *copy_gaps;       /* [lo, hi) pairs: where the index walked past a metadata copy */
	size_t ncopy_gaps, capcopy_gaps;
	uint64_t trailer_copy;     /* the metadata chunk a valid trailer names; UINT64_MAX: none */
	hvlog__meta_store *store;
	uint32_t meta_len, meta_crc; /* the metadata block decoded (not a fallback's) */
	hvlog_stream_info *fb_streams; /* a fallback's streams (hvlog_reader_options) */
	char (*fb_names)[24];
	const hvlog_reader_options *opts; /* during the open only */
	hvlog_meta meta;
	uint64_t group_mask;
	uint64_t skip_lo, skip_hi; /* hvlog_reader_set_time_range() */
	uint32_t part, nparts;     /* hvlog_reader_set_partition() */
	struct plan *plans;        /* one per schema event */
	uint64_t *maxv;            /* per predictor slot: the largest value of its type */
	const struct plan *by_tag[256]; /* tags 0x10..0xFE; NULL: not an event */
	const struct plan **escaped; /* events with numbers outside 0x10..0xFE, by number */
	uint32_t nescaped;
	int ordered;               /* hvlog_reader_set_ordered() */
	struct chunk *chunks;
	size_t nchunks, capchunks;
	struct damage *damage;
	size_t ndamage, capdamage, next_damage;
	struct rstream *streams;
	/* The merge (see "the merge" below); pending: cur's item went out. */
	struct hent cur;           /* the stream whose item goes out next */
	struct hent *heap;         /* the others that hold an item */
	uint32_t nheap;
	int hascur, started, pending;
	hvlog_batch *ra;           /* read ahead by hvlog_reader_next (lazily; NULL: none) */
	size_t ra_i;               /* ra->items[ra_i..ra->n) still to hand out */
	hvlog_item out;        /* the damage item handed out */
	char out_msg[160];
	hvlog_reader_stats stats;
	hvlog_reader_stats index_stats; /* stats right after the open (shared: never written after) */
	hvlog__live *live;         /* reading as the input arrives (live.c); NULL: indexed */
	uint32_t live_s;           /* the stream whose item is ready; UINT32_MAX: damage */
	void (*wait_fn)(void *);   /* hvlog_reader_set_wait_hook() */
	void *wait_ctx;
};

/* ---- I/O ---------------------------------------------------------------- */

/* Read exactly len bytes at off; 0 or an errno value (EIO-like short read
 * gives -1, meaning "the file ends first"). */
static int read_at(hvlog_reader *r, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(r->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static hvlog_status io_fail(hvlog_error *err, int e, uint64_t off)
{
	hvlog_status st = hvlog__fail(err, HVLOG_IO, off, "read error: %s", strerror(e));
	if (err)
		err->sys_errno = e;
	return st;
}

static hvlog_status bad_magic(hvlog_error *err)
{
	return hvlog__fail(err, HVLOG_MALFORMED, 0, "not an hvlog trace (bad magic)");
}

int hvlog__write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Copy a pipe into an unlinked temporary file so that it can be indexed
 * (after `prefix`, plen bytes already read from `in`).  For a pipe
 * (pipe_magic) the magic is checked on the first bytes as they arrive,
 * before any is written: an endless input that is not a trace (/dev/zero)
 * fails at once instead of filling $TMPDIR.  A compressed file's
 * decompressed bytes are not checked so: they are bounded by the
 * decompressor's cap, and decode exactly as the decompressed file would
 * (a zeroed file header is saved by a metadata copy there too). */
static hvlog_status spool(int in, const uint8_t *prefix, size_t plen, int pipe_magic, int *out, hvlog_error *err)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	static const size_t bs = 1 << 16;
	uint8_t *buf;
	uint64_t total = plen;
	hvlog_status st;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(path, sizeof path, "%s/hvlog-XXXXXX", dir);
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return io_fail(err, errno, UINT64_MAX);
	if (!(buf = malloc(bs))) {
		close(fd);
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	}
	if (hvlog__write_all(fd, prefix, plen)) {
		st = hvlog__fail(err, HVLOG_IO, UINT64_MAX, "cannot spool standard input to %s: %s", dir, strerror(errno));
		goto fail;
	}
	for (;;) {
		ssize_t n = read(in, buf, bs);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = io_fail(err, errno, UINT64_MAX);
			goto fail;
		}
		if (n == 0)
			break;
		if (pipe_magic && total < 8) {
			uint8_t head[8];
			size_t k = total + (uint64_t)n < 8 ? (size_t)(total + (uint64_t)n) : 8;
			if (total)
				memcpy(head, prefix, (size_t)total);
			memcpy(head + total, buf, k - (size_t)total);
			if (!wire_magic_near(head, (unsigned)k)) {
				st = bad_magic(err);
				goto fail;
			}
		}
		total += (uint64_t)n;
		if (hvlog__write_all(fd, buf, (size_t)n)) {
			st = hvlog__fail(err, HVLOG_IO, UINT64_MAX, "cannot spool standard input to %s: %s", dir,
					 strerror(errno));
			goto fail;
		}
	}
	free(buf);
	*out = fd;
	return HVLOG_OK;
fail:
	free(buf);
	close(fd);
	return st;
}

/* ---- index ---------------------------------------------------------------- */

static int add_damage(hvlog_reader *r, hvlog_status kind, uint64_t ts, uint64_t off, uint64_t len,
		      uint32_t stream, uint64_t seq, uint64_t events, const char *fmt, ...) HVLOG_PRINTF(9, 10);

static int add_damage(hvlog_reader *r, hvlog_status kind, uint64_t ts, uint64_t off, uint64_t len,
		      uint32_t stream, uint64_t seq, uint64_t events, const char *fmt, ...)
{
	struct damage d = { ts, off, len, events, seq, stream, kind, (uint32_t)r->ndamage, "" };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d.msg, sizeof d.msg, fmt, ap);
	va_end(ap);
	return hvlog__damage_push(&r->damage, &r->ndamage, &r->capdamage, &d);
}

int hvlog__damage_push(struct damage **v, size_t *n, size_t *cap, const struct damage *d)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct damage *nd = realloc(*v, nc * sizeof *nd);
		if (!nd)
			return -1;
		*v = nd;
		*cap = nc;
	}
	(*v)[(*n)++] = *d;
	return 0;
}

/* Whether h is a valid chunk header; if so *c and *first_ts are its
 * fields. */
static int valid_header(const hvlog_reader *r, const uint8_t *h, struct chunk *c, uint64_t *first_ts,
			uint64_t off)
{
	return hvlog__chunk_header(h, r->meta.nstreams, r->size, c, first_ts, off);
}

int hvlog__chunk_header(const uint8_t *h, uint32_t nstreams, uint64_t size, struct chunk *c, uint64_t *first_ts,
			uint64_t off)
{
	uint32_t flags;

	if (memcmp(h, WIRE_CHUNK_SYNC, 8) ||
	    wire_get32(h + WIRE_CH_CRC) != hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN))
		return 0;
	flags = wire_get16(h + WIRE_CH_FLAGS);
	*first_ts = wire_get64(h + WIRE_CH_FIRST_TS);
	*c = (struct chunk){
		.off = off,
		.seq = wire_get64(h + WIRE_CH_SEQ),
		.base_ts = wire_get64(h + WIRE_CH_BASE_TS),
		.last_ts = wire_get64(h + WIRE_CH_LAST_TS),
		.first_ts = *first_ts,
		.len = wire_get32(h + WIRE_CH_LEN),
		.stream = wire_get16(h + WIRE_CH_STREAM),
		.nevents = wire_get32(h + WIRE_CH_NEVENTS),
		.payload_crc = wire_get32(h + WIRE_CH_PAYLOAD_CRC),
		.flags = (uint8_t)flags,
	};
	/* A header with a good checksum but impossible fields was written by
	 * a broken producer; treat it like damage. */
	if (c->stream >= nstreams || c->len > WIRE_MAX_CHUNK_PAYLOAD || c->nevents > c->len ||
	    (flags & ~WIRE_CHUNK_KNOWN_FLAGS))
		return 0;
	/* Absurd: more chunks of one stream than the file has bytes (every
	 * chunk takes 64 or more, written or dropped, §6.2). */
	if (c->seq > size)
		return 0;
	if (flags & WIRE_CHUNK_META)
		return c->stream == 0 && c->nevents == 0 && c->len <= WIRE_MAX_META;
	return (c->flags & WIRE_CHUNK_BACKWARDS) || (*first_ts >= c->base_ts && c->last_ts >= *first_ts);
}

/* Whether the `len` bytes at off have CRC-32C crc; -1 on a read error.
 * Past the proof budget (a hostile file of forged headers could make
 * every sync marker a candidate claiming 16 MiB), a length is believed
 * unread, as a reader without this check would: O(file) work at most. */
static int crc_at(hvlog_reader *r, uint64_t off, uint32_t len, uint32_t crc)
{
	uint8_t buf[1 << 14];
	uint32_t c = 0;

	if (len > r->proof_budget)
		return 1;
	r->proof_budget -= len;
	while (len) {
		uint32_t n = len < sizeof buf ? len : (uint32_t)sizeof buf;
		if (read_at(r, buf, n, off))
			return -1;
		c = hvlog_crc32c(c, buf, n);
		off += n;
		len -= n;
	}
	return c == crc;
}

/* Whether [a, b) meets a region where the first pass of the index found
 * chunks missing (find_suspects). */
static int suspect(const hvlog_reader *r, uint64_t a, uint64_t b)
{
	size_t lo = 0, hi = r->nsuspect;

	while (lo < hi) { /* the first pair whose hi > a */
		size_t mid = lo + (hi - lo) / 2;
		if (r->suspect[2 * mid + 1] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nsuspect && r->suspect[2 * lo] < b;
}

/* Whether a valid chunk header starts at q. */
static int header_at(hvlog_reader *r, uint64_t q)
{
	uint8_t h[HVLOG_CHUNK_HEADER_SIZE];
	uint64_t first_ts;
	struct chunk n;

	return q + HVLOG_CHUNK_HEADER_SIZE <= r->end && read_at(r, h, sizeof h, q) == 0 &&
	       valid_header(r, h, &n, &first_ts, q);
}

/* Whether the chunk of valid header c verifies: a valid header, or the end
 * of the chunks, follows it, or else its payload checksum matches.  The
 * length of a damaged header (its checksum made consistent) is never
 * trusted alone: when nothing valid follows the chunk it claims, its
 * payload must prove the length (§6.2); and in the second pass of the
 * index, a chunk that overlaps a region where chunks are missing must
 * prove its length by its payload whatever follows it (it may have
 * swallowed them), unless it is a metadata copy as long as the metadata
 * in use.  -1 on a read error. */
static int verifies(hvlog_reader *r, const struct chunk *c)
{
	uint64_t next = c->off + HVLOG_CHUNK_HEADER_SIZE + c->len;

	if (next > r->end)
		return 0;
	/* A copy as long as the metadata in use has its length confirmed
	 * by that: it swallows nothing, and its damaged payload is
	 * check_copy's to report, as in the first pass. */
	int copy = (c->flags & WIRE_CHUNK_META) && r->meta.source != UINT64_MAX && c->len == r->meta_len;

	if (!copy && suspect(r, c->off + HVLOG_CHUNK_HEADER_SIZE, next))
		/* a chunk may hide in it: only the payload proves the length */
		return crc_at(r, c->off + HVLOG_CHUNK_HEADER_SIZE, c->len, c->payload_crc);
	if (next == r->end || header_at(r, next))
		return 1;
	return crc_at(r, c->off + HVLOG_CHUNK_HEADER_SIZE, c->len, c->payload_crc);
}

/* The offset of the next valid chunk header after `from`, or the file size. */
static uint64_t resync(hvlog_reader *r, uint64_t from, hvlog_status *st, hvlog_error *err)
{
	enum { BS = 1 << 16 };
	uint8_t buf[BS];
	uint8_t h[HVLOG_CHUNK_HEADER_SIZE];
	struct chunk c;
	uint64_t first_ts;

	while (from + HVLOG_CHUNK_HEADER_SIZE <= r->end) {
		size_t n = (size_t)(r->end - from < BS ? r->end - from : BS);
		int e = read_at(r, buf, n, from);
		if (e) {
			*st = io_fail(err, e > 0 ? e : EIO, from);
			return r->end;
		}
		for (uint8_t *p = buf; (p = memmem(p, n - (size_t)(p - buf), WIRE_CHUNK_SYNC, 8)); p++) {
			uint64_t at = from + (uint64_t)(p - buf);
			if (at + HVLOG_CHUNK_HEADER_SIZE > r->end)
				break;
			if (read_at(r, h, sizeof h, at) == 0 && valid_header(r, h, &c, &first_ts, at)) {
				/* a chunk cut by the end of the file still resumes
				 * here (it is reported as truncated) */
				int v = c.off + HVLOG_CHUNK_HEADER_SIZE + c.len > r->end ? 1 : verifies(r, &c);
				if (v < 0) {
					*st = io_fail(err, EIO, at);
					return r->end;
				}
				if (v)
					return at;
			}
		}
		if (n < BS)
			break;
		from += n - 7; /* a marker may straddle blocks */
	}
	return r->end;
}

static int push_chunk(hvlog_reader *r, const struct chunk *c)
{
	if (r->nchunks == r->capchunks) {
		size_t nc = r->capchunks ? 2 * r->capchunks : 64;
		struct chunk *n = realloc(r->chunks, nc * sizeof *n);
		if (!n)
			return -1;
		r->chunks = n;
		r->capchunks = nc;
	}
	r->chunks[r->nchunks++] = *c;
	return 0;
}

/* Chunks of another schema, in a run of neighbours reported as one. */
static int flush_foreign(hvlog_reader *r, struct foreign *f)
{
	struct damage d;

	if (!hvlog__foreign_damage(f, r->meta.schema_fp, &d))
		return 0;
	d.order = (uint32_t)r->ndamage;
	return hvlog__damage_push(&r->damage, &r->ndamage, &r->capdamage, &d);
}

int hvlog__foreign_damage(struct foreign *f, uint32_t schema_fp, struct damage *d)
{
	if (!f->chunks)
		return 0;
	*d = (struct damage){ f->ts, f->off, f->end - f->off, f->events, UINT64_MAX, UINT32_MAX, HVLOG_MALFORMED, 0, "" };
	snprintf(d->msg, sizeof d->msg,
		 "%" PRIu64 " chunk%s written with another schema (fingerprint %08x, this metadata's %08x): skipped",
		 f->chunks, f->chunks == 1 ? "" : "s", f->fp, schema_fp);
	f->chunks = 0;
	return 1;
}

void hvlog__foreign_add(struct foreign *f, const struct chunk *c, uint32_t fp)
{
	if (!f->chunks)
		*f = (struct foreign){ c->off, c->off, c->base_ts, 0, 0, fp };
	f->end = c->off + HVLOG_CHUNK_HEADER_SIZE + c->len;
	f->chunks++;
	f->events += c->nevents;
}

/* A metadata copy at off (header c, fingerprint fp) whose header verified:
 * every copy is checked, not only one the open used, so that `info
 * --verify` finds a damaged one while another copy is used (§4.6).  Its
 * payload must match its checksum and, unless a fallback is used, be the
 * metadata block the file is read with.  1 if out of memory, -1 on a
 * read error. */
static int check_copy(hvlog_reader *r, const struct chunk *c, uint64_t off, uint32_t fp, uint64_t ts_hint)
{
	int ok = crc_at(r, off + HVLOG_CHUNK_HEADER_SIZE, c->len, c->payload_crc);

	if (ok < 0)
		return -1;
	if (!ok)
		return -add_damage(r, HVLOG_CHECKSUM, ts_hint, off, HVLOG_CHUNK_HEADER_SIZE + c->len, UINT32_MAX,
				  UINT64_MAX, 0, "metadata copy %" PRIu64 " is damaged (checksum mismatch)", c->seq);
	if (r->meta.source != UINT64_MAX &&
	    (c->len != r->meta_len || c->payload_crc != r->meta_crc || fp != r->meta.schema_fp))
		return -add_damage(r, HVLOG_MALFORMED, ts_hint, off, HVLOG_CHUNK_HEADER_SIZE + c->len, UINT32_MAX,
				  UINT64_MAX, 0, "metadata copy %" PRIu64 " differs from the metadata in use", c->seq);
	return 0;
}

/* A valid header c (not a metadata copy's) whose chunk does not verify,
 * and `next`, where the next chunk that verifies starts: its length is
 * taken as reaching there, if its events fit, so that a damaged length
 * loses no chunk behind it.  If the payload then matches its checksum,
 * the length alone was damaged (reported here, no event lost); if not,
 * the chunk is indexed all the same and its decoding reports the
 * checksum mismatch, with its events lost.  Except that a length which
 * proves nothing is not stretched over a valid header at the claimed
 * end: in the second pass that header's chunk failed only because its
 * own payload is damaged (it overlaps a suspect region), and stretching
 * would hide its events inside this chunk's.  1 if c is to be indexed, 0
 * if not, -1 on a read error. */
static int relength(hvlog_reader *r, struct chunk *c, uint64_t next, int *oom)
{
	uint64_t len = next - c->off - HVLOG_CHUNK_HEADER_SIZE;
	uint32_t claimed = c->len;
	int ok;

	if (next < c->off + HVLOG_CHUNK_HEADER_SIZE || len > WIRE_MAX_CHUNK_PAYLOAD || c->nevents > len)
		return 0;
	c->len = (uint32_t)len;
	if ((ok = crc_at(r, c->off + HVLOG_CHUNK_HEADER_SIZE, c->len, c->payload_crc)) > 0)
		*oom |= add_damage(r, HVLOG_MALFORMED, c->base_ts, c->off, HVLOG_CHUNK_HEADER_SIZE, c->stream, c->seq, 0,
				   "chunk %" PRIu64 " of stream %u: its header's length is damaged (%u bytes claimed, "
				   "its payload verifies with %u)",
				   c->seq, c->stream, claimed, c->len);
	else if (!ok && len > claimed && header_at(r, c->off + HVLOG_CHUNK_HEADER_SIZE + claimed))
		c->len = claimed;
	return ok < 0 ? -1 : 1;
}

static int push_pair(uint64_t **v, size_t *n, size_t *cap, uint64_t a, uint64_t b);

static hvlog_status build_index(hvlog_reader *r, hvlog_error *err)
{
	uint64_t off = r->meta.data_offset, ts_hint = 0;
	uint8_t h[HVLOG_CHUNK_HEADER_SIZE];
	hvlog_status st = HVLOG_OK;
	struct chunk c;
	struct foreign fr = { 0 };
	uint64_t first_ts;
	/* the metadata copy expected next (they are numbered 1, 2, ... in
	 * file order, §4.6), and where the one before it starts */
	uint64_t copy_seq = 1, copy_from = off;
	int named = r->trailer_copy == UINT64_MAX, oom = 0;

	r->ncopy_gaps = 0;
	while (off < r->end && !oom) {
		uint64_t left = r->end - off;
		if (left < HVLOG_CHUNK_HEADER_SIZE) {
			oom |= add_damage(r, HVLOG_TRUNCATED, ts_hint, off, left, UINT32_MAX, UINT64_MAX, 0,
					  "file truncated: %" PRIu64 " bytes of a chunk header", left);
			break;
		}
		int e = read_at(r, h, sizeof h, off);
		if (e)
			return io_fail(err, e > 0 ? e : EIO, off);
		int v = valid_header(r, h, &c, &first_ts, off), lies = 0;
		uint64_t next = 0;
		if (v && c.len > left - HVLOG_CHUNK_HEADER_SIZE) {
			/* Cut by the end of the file, or a damaged length: a
			 * verified chunk further on says which. */
			next = resync(r, off + 1, &st, err);
			if (st != HVLOG_OK)
				return st;
			v = next == r->end;
			lies = !v;
		} else if (v) {
			int ok = verifies(r, &c);
			if (ok < 0)
				return io_fail(err, EIO, off);
			v = ok;
			lies = !ok;
		}
		if (lies && !(c.flags & WIRE_CHUNK_META)) {
			/* a valid header whose length lies: the chunk ends where
			 * the next one that verifies starts, if it fits there */
			if (!next && (next = resync(r, off + 1, &st, err), st != HVLOG_OK))
				return st;
			if ((v = relength(r, &c, next, &oom)) < 0)
				return io_fail(err, EIO, off);
		}
		if (v) {
			uint32_t fp = wire_get32(h + WIRE_CH_META_FP);
			if (c.len > left - HVLOG_CHUNK_HEADER_SIZE && (c.flags & WIRE_CHUNK_META)) {
				oom |= add_damage(r, HVLOG_TRUNCATED, ts_hint, off, left, UINT32_MAX, UINT64_MAX, 0,
						  "file truncated at offset %" PRIu64 " inside a copy of the metadata "
						  "(no events lost)", r->size);
				break;
			}
			if (c.len > left - HVLOG_CHUNK_HEADER_SIZE) {
				oom |= add_damage(r, HVLOG_TRUNCATED, c.base_ts, off, left, c.stream, c.seq, c.nevents,
						  "file truncated at offset %" PRIu64 ": %" PRIu64
						  " bytes of a chunk lost (stream %u, chunk %" PRIu64 ", %u events)",
						  r->size, c.len - (left - HVLOG_CHUNK_HEADER_SIZE), c.stream, c.seq,
						  c.nevents);
				break;
			}
			if (c.flags & WIRE_CHUNK_META) { /* a metadata copy: not a stream's */
				int k = check_copy(r, &c, off, fp, ts_hint);
				if (k < 0)
					return io_fail(err, EIO, off);
				oom |= k;
				/* A copy the walk did not reach lies between
				 * those around the gap in their numbers; a length
				 * that swallowed it loses no stream's chunk, so
				 * find_suspects learns of it from here. */
				if (c.seq > copy_seq)
					oom |= push_pair(&r->copy_gaps, &r->ncopy_gaps, &r->capcopy_gaps, copy_from, off);
				if (c.seq >= copy_seq) {
					copy_seq = c.seq + 1;
					copy_from = off;
				}
				named |= off == r->trailer_copy;
				off += HVLOG_CHUNK_HEADER_SIZE + c.len;
				continue;
			}
			/* A chunk of another schema, or one whose schema is not
			 * stated under a fallback, is never decoded. */
			if (fp != r->meta.schema_fp && (fp || r->meta.source == UINT64_MAX)) {
				if (fr.chunks && (fr.end != off || fr.fp != fp))
					oom |= flush_foreign(r, &fr);
				hvlog__foreign_add(&fr, &c, fp);
				off = fr.end;
				continue;
			}
			oom |= flush_foreign(r, &fr);
			c.ord = (uint32_t)r->nchunks;
			oom |= push_chunk(r, &c);
			if (c.nevents) {
				if (first_ts < r->stats.first_ts || !r->stats.chunks_indexed)
					r->stats.first_ts = first_ts;
				if (c.last_ts > r->stats.last_ts)
					r->stats.last_ts = c.last_ts;
				r->stats.chunks_indexed++;
			}
			ts_hint = c.last_ts;
			off += HVLOG_CHUNK_HEADER_SIZE + c.len;
			continue;
		}
		oom |= flush_foreign(r, &fr);
		if (!next)
			next = resync(r, off + 1, &st, err);
		if (st != HVLOG_OK)
			return st;
		oom |= add_damage(r, next == r->end ? HVLOG_TRUNCATED : HVLOG_MALFORMED, ts_hint, off, next - off,
				  UINT32_MAX, UINT64_MAX, 0, "no valid chunk header: %" PRIu64 " bytes skipped%s",
				  next - off, next == r->end ? " to the end of the file" : "");
		off = next;
	}
	oom |= flush_foreign(r, &fr);
	/* the last copy, which the trailer names, lies after the last one
	 * walked */
	if (!named)
		oom |= push_pair(&r->copy_gaps, &r->ncopy_gaps, &r->capcopy_gaps, copy_from, r->end);
	if (oom)
		return hvlog__fail(err, HVLOG_NOMEM, off, "out of memory indexing the chunks");
	return HVLOG_OK;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct chunk *x = a, *y = b;
	if (x->seq != y->seq)
		return (x->seq > y->seq) - (x->seq < y->seq);
	return (x->off > y->off) - (x->off < y->off);
}

static int cmp_stream(const void *a, const void *b)
{
	const struct chunk *x = a, *y = b;
	if (x->stream != y->stream)
		return (x->stream > y->stream) - (x->stream < y->stream);
	return cmp_seq(a, b);
}

static int cmp_damage(const void *a, const void *b)
{
	const struct damage *x = a, *y = b;
	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	if (x->off != y->off)
		return (x->off > y->off) - (x->off < y->off);
	return (x->order > y->order) - (x->order < y->order);
}

static int cmp_u64_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return (x[0] > y[0]) - (x[0] < y[0]);
}

static int push_pair(uint64_t **v, size_t *n, size_t *cap, uint64_t a, uint64_t b)
{
	if (*n + 2 > *cap) {
		size_t nc = *cap ? 2 * *cap : 32;
		uint64_t *nv = realloc(*v, nc * sizeof *nv);
		if (!nv) {
			free(*v);
			*v = NULL;
			return -1;
		}
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = a;
	(*v)[(*n)++] = b;
	return 0;
}

/* The regions where chunks the index (sorted by stream and sequence) lacks
 * were written: between the chunks of a stream around a gap in its
 * sequence, from the start before a stream's first chunk if that is not
 * chunk 0, from its last chunk to the end if that is not FINAL, and the
 * whole file for a stream without chunks.  A writer writes each stream's
 * chunks in sequence order, so a chunk lost there lies in such a region,
 * and so does a chunk whose damaged length swallowed it.  The same holds
 * for the metadata copies the walk missed (build_index): a length raised
 * over a copy alone, up to the next header or the end, loses no stream's
 * chunk, only that copy.  Into r->suspect, merged; -1 if out of memory.
 * A file without damage has none, and is indexed once. */
static int find_suspects(hvlog_reader *r)
{
	uint32_t ns = r->meta.nstreams;
	size_t i = 0, n = 0, cap = 0;
	uint64_t *v = NULL;

	if (r->meta.source == UINT64_MAX) /* a fallback: the streams the chunks name */
		ns = r->nchunks ? r->chunks[r->nchunks - 1].stream + 1 : 0;
	for (uint32_t s = 0; s < ns; s++) {
		uint64_t expect = 0, from = r->meta.data_offset;
		int any = 0, final = 0;
		for (; i < r->nchunks && r->chunks[i].stream == s; i++) {
			const struct chunk *c = &r->chunks[i];
			if (any && c->seq < expect)
				continue;
			if (c->seq != expect) {
				if (push_pair(&v, &n, &cap, from, c->off))
					return -1;
			}
			any = 1;
			final = c->flags & WIRE_CHUNK_FINAL;
			expect = c->seq + 1;
			from = c->off;
		}
		if (!final) {
			if (push_pair(&v, &n, &cap, from, r->end))
				return -1;
		}
	}
	for (size_t k = 0; k < r->ncopy_gaps; k += 2)
		if (push_pair(&v, &n, &cap, r->copy_gaps[k], r->copy_gaps[k + 1]))
			return -1;
	if (n)
		qsort(v, n / 2, 2 * sizeof *v, cmp_u64_pair);
	r->nsuspect = 0;
	for (size_t k = 0; k < n; k += 2) {
		if (r->nsuspect && v[k] <= v[2 * r->nsuspect - 1]) {
			if (v[k + 1] > v[2 * r->nsuspect - 1])
				v[2 * r->nsuspect - 1] = v[k + 1];
			continue;
		}
		v[2 * r->nsuspect] = v[k];
		v[2 * r->nsuspect + 1] = v[k + 1];
		r->nsuspect++;
	}
	r->suspect = v;
	return 0;
}

/* Index the chunks, sorted by stream and sequence.  If chunks are missing
 * (find_suspects), index again, each chunk overlapping where they were
 * written proving its length by its payload (§6.2): a damaged length that
 * ends on a later chunk's header, or at the end, may have swallowed them. */
static hvlog_status index_chunks(hvlog_reader *r, hvlog_error *err)
{
	hvlog_reader_stats st0 = r->stats;
	size_t nd0 = r->ndamage;
	hvlog_status st;

	for (int pass = 0;; pass++) {
		if ((st = build_index(r, err)) != HVLOG_OK)
			return st;
		if (r->nchunks)
			qsort(r->chunks, r->nchunks, sizeof *r->chunks, cmp_stream);
		if (!pass && find_suspects(r))
			return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
		free(r->copy_gaps);
		r->copy_gaps = NULL;
		r->ncopy_gaps = r->capcopy_gaps = 0;
		if (pass) {
			free(r->suspect);
			r->suspect = NULL;
			r->nsuspect = 0;
			return HVLOG_OK;
		}
		if (!r->nsuspect)
			return HVLOG_OK;
		r->nchunks = 0;
		r->ndamage = nd0;
		r->stats = st0;
	}
}

/* How much a copy of a chunk is to be believed (best_copy): its payload
 * matches its checksum, then its time continues the chunk before it, then
 * the chunk after it continues its time, then it holds more events.
 * prev_ts is only the end of the chunk right before (seq - 1), or 0 for a
 * stream's first chunk, which starts at 0 (§4.3): compared with the end
 * of a chunk before a gap it would favour a copy whose seq was raised
 * from inside that gap over the intact chunk that has the seq. */
static uint64_t copy_score(hvlog_reader *r, const struct chunk *c, const uint64_t *prev_ts, const struct chunk *after)
{
	uint64_t sc = crc_at(r, c->off + HVLOG_CHUNK_HEADER_SIZE, c->len, c->payload_crc) > 0;

	sc = sc << 1 | (prev_ts && c->base_ts == *prev_ts);
	sc = sc << 1 | (after && after->base_ts == c->last_ts);
	return sc << 32 | c->nevents;
}

/* Why a copy scored sc was dropped for the kept copy, scored best: the
 * first test of copy_score that the kept copy passes and it fails.  NULL
 * if none did (it holds fewer events, or only comes later). */
static const char *dropped_why(uint64_t sc, uint64_t best, uint64_t seq)
{
	uint64_t lost = best >> 32 & ~(sc >> 32);

	if (lost & 4)
		return "its payload fails its checksum";
	if (lost & 2)
		return seq ? "its start time disagrees with the end of the chunk before it"
			   : "its start time is not 0, where a stream's first chunk starts";
	if (lost & 1)
		return "its end time disagrees with the start of the chunk after it";
	return NULL;
}

/* Whether copy x (scored sx) of a chunk is the chunk missing right before
 * copy y, or after it (dir -1, 1), given `from`, the end of the chunk
 * before the gap, or `to`, the start of the one after it (NULL: the
 * stream has none, so x must be the final chunk that y is not).  A
 * chunk's times chain it to both neighbours (§4.3): one whose payload
 * verifies and which starts where the chunk before ends and ends where
 * the next starts is the one missing there. */
static int fits_gap(const struct chunk *x, uint64_t sx, const struct chunk *y, int dir, uint64_t from,
		    const uint64_t *to)
{
	if (x == y || !(sx >> 34 & 1) ||
	    (x->len == y->len && x->payload_crc == y->payload_crc && x->nevents == y->nevents))
		return 0;
	if (dir < 0)
		return x->base_ts == from && x->last_ts == y->base_ts;
	if (x->base_ts != y->last_ts)
		return 0;
	return to ? x->last_ts == *to : (x->flags & WIRE_CHUNK_FINAL) && !(y->flags & WIRE_CHUNK_FINAL);
}

/* Of the copies of one chunk (the same stream and seq) from r->chunks[i]
 * on, sorted by offset, the one to keep goes first: the best by
 * copy_score, the lowest offset of equals.  prev_ts: the last_ts of the
 * stream's chunk right before (see copy_score), if known.  The payloads
 * of duplicates are read (within the proof budget); a file without them
 * reads none.  The others are reported here, where their scores say why
 * they lost (the payloads are not read twice); split_streams then skips
 * them.  Except that a seq raised or lowered by one leaves a gap of one
 * chunk right before or after the copies (or the stream's final chunk
 * lowered leaves its end): then the copy that fits there
 * (fits_gap) against another is that missing chunk, and the other is
 * kept, whatever their scores (with hole_from: the end of the chunk
 * before a gap right before them; NULL if there is none).  The one that
 * fits goes into *fill with the seq of the gap, and *filled says where
 * (-1 before the kept copy, 1 after, 0 none).  -1: out of memory. */
static int best_copy(hvlog_reader *r, size_t i, const uint64_t *prev_ts, const uint64_t *hole_from,
		     struct chunk *fill, int *filled)
{
	size_t j = i, b = i, f = SIZE_MAX;
	uint64_t best = 0, few[16], *sc = few, seq = r->chunks[i].seq;
	int oom = 0;

	*filled = 0;
	while (j < r->nchunks && r->chunks[j].stream == r->chunks[i].stream && r->chunks[j].seq == seq)
		j++;
	int next = j < r->nchunks && r->chunks[j].stream == r->chunks[i].stream;
	const struct chunk *after = next && r->chunks[j].seq == seq + 1 ? &r->chunks[j] : NULL;
	const struct chunk *after2 = next && r->chunks[j].seq == seq + 2 ? &r->chunks[j] : NULL;
	/* more than a few copies of one chunk: a hostile file, bounded by
	 * the index */
	if (j - i > sizeof few / sizeof *few && !(sc = malloc((j - i) * sizeof *sc)))
		return -1;
	for (size_t k = i; k < j; k++) {
		sc[k - i] = copy_score(r, &r->chunks[k], prev_ts, after);
		if (k == i || sc[k - i] > best) {
			best = sc[k - i];
			b = k;
		}
	}
	/* pairs of copies: only for a few (a liar and the chunk it
	 * displaced are two), so that a hostile file costs no square */
	const uint64_t *to = after2 ? &after2->base_ts : NULL;
	int gap_after = after2 || !next;
	for (size_t x = i; (hole_from || gap_after) && j - i <= sizeof few / sizeof *few && x < j; x++)
		for (size_t y = i; y < j && f == SIZE_MAX; y++) {
			/* the copy kept must verify as well */
			if (!(sc[y - i] >> 34 & 1))
				continue;
			if (hole_from && fits_gap(&r->chunks[x], sc[x - i], &r->chunks[y], -1, *hole_from, NULL))
				*filled = -1;
			else if (gap_after && fits_gap(&r->chunks[x], sc[x - i], &r->chunks[y], 1, 0, to))
				*filled = 1;
			else
				continue;
			f = x;
			b = y;
			best = sc[y - i];
		}
	const struct chunk *kc = &r->chunks[b];
	for (size_t k = i; k < j; k++) {
		const struct chunk *c = &r->chunks[k];
		if (k == b || k == f)
			continue;
		/* the kept copy holds the events of one that differs only
		 * by damage it fails on */
		int same = c->len == kc->len && c->payload_crc == kc->payload_crc && c->nevents == kc->nevents;
		const char *why = dropped_why(sc[k - i], best, seq);
		oom |= add_damage(r, HVLOG_MALFORMED, c->base_ts, c->off, HVLOG_CHUNK_HEADER_SIZE + c->len, c->stream,
				  c->seq, same ? 0 : c->nevents, "duplicate chunk %" PRIu64 " of stream %u ignored%s%s",
				  c->seq, c->stream,
				  why ? ": " : same ? "" : " (it differs from the copy kept)", why ? why : "");
	}
	if (f != SIZE_MAX) {
		*fill = r->chunks[f];
		fill->seq = seq + (uint64_t)(int64_t)*filled;
		oom |= add_damage(r, HVLOG_MALFORMED, fill->base_ts, fill->off, HVLOG_CHUNK_HEADER_SIZE, fill->stream,
				  fill->seq, 0,
				  "chunk %" PRIu64 " of stream %u decoded as chunk %" PRIu64
				  ": its header's sequence number is damaged (its times fit the gap there)",
				  seq, fill->stream, fill->seq);
	}
	if (sc != few)
		free(sc);
	struct chunk t = r->chunks[b];
	memmove(&r->chunks[i + 1], &r->chunks[i], (b - i) * sizeof t);
	r->chunks[i] = t;
	return oom;
}

/* Streams from..to (inclusive), none with a chunk, as one damage item: a
 * stream id damaged into a large one makes the fallback schema's stream
 * count (the highest id + 1) mostly streams without chunks, one line each
 * otherwise.  A single stream keeps its own wording. */
static int no_chunks(hvlog_reader *r, uint32_t from, uint32_t to)
{
	if (from == to)
		return add_damage(r, HVLOG_TRUNCATED, 0, r->size, 0, from, 0, 0,
				  "stream %u has no chunks: all its events are lost", from);
	return add_damage(r, HVLOG_TRUNCATED, 0, r->size, 0, from, 0, 0,
			  "streams %u..%u have no chunks: all their events are lost", from, to);
}

/* Split the index by stream, in sequence order; report duplicates, gaps
 * and streams that were never closed. */
static hvlog_status split_streams(hvlog_reader *r, hvlog_error *err)
{
	uint32_t ns = r->meta.nstreams, active = 0;
	uint32_t none = UINT32_MAX; /* the first of a run of streams without chunks */
	size_t i = 0;
	int oom = 0;

	for (uint32_t s = 0; s < ns; s++) {
		struct rstream *rs = &r->streams[s];
		size_t first = i, kept = 0;
		uint64_t expect = 0, prev_ts = 0;

		/* A run ends at a stream with chunks (its first is always
		 * kept): reported before that stream's damage, where each of
		 * its streams was reported alone before. */
		if (i < r->nchunks && r->chunks[i].stream == s) {
			if (none != UINT32_MAX)
				oom |= no_chunks(r, none, s - 1);
			none = UINT32_MAX;
		} else if (none == UINT32_MAX) {
			none = s;
		}

		/* r->chunks is NULL when no chunk was indexed: NULL + 0 is UB */
		rs->chunks = r->chunks ? r->chunks + first : NULL;
		for (; i < r->nchunks && r->chunks[i].stream == s; i++) {
			struct chunk *c = &r->chunks[i], fill;
			int filled = 0;
			/* a copy of the chunk kept last (the index is sorted by
			 * seq): best_copy reported it */
			if (kept && c->seq < expect)
				continue;
			if (i + 1 < r->nchunks && r->chunks[i + 1].stream == s && r->chunks[i + 1].seq == c->seq) {
				/* the end of the chunk right before, and of the one
				 * before a gap of one (chunk 0 starts at 0) */
				uint64_t zero = 0;
				const uint64_t *pred = !c->seq ? &zero : kept && c->seq == expect ? &prev_ts : NULL;
				const uint64_t *hole = c->seq != expect + 1 ? NULL : kept ? &prev_ts : &zero;
				oom |= best_copy(r, i, pred, hole, &fill, &filled);
			}
			/* The chunks kept overwrite the copies of this one, read
			 * and reported by now: with a gap filled, one more. */
			struct chunk cur = *c;
			c = &cur;
			if (filled < 0) {
				rs->chunks[kept++] = fill;
				expect = fill.seq + 1;
				prev_ts = fill.last_ts;
			}
			if (c->seq != expect)
				oom |= add_damage(r, HVLOG_MALFORMED, prev_ts, c->off, 0, s, expect, 0,
						  "chunks %" PRIu64 "..%" PRIu64 " of stream %u are missing", expect,
						  c->seq - 1, s);
			else if (kept && c->base_ts != prev_ts)
				/* a writer starts each chunk where the one before ended
				 * (§4.3): one of the two headers lies about its time */
				oom |= add_damage(r, HVLOG_MALFORMED, c->base_ts < prev_ts ? c->base_ts : prev_ts, c->off, 0,
						  s, c->seq,
						  0, "chunk %" PRIu64 " of stream %u starts at %" PRIu64
						  " but chunk %" PRIu64 " ended at %" PRIu64 ": a header's time is damaged",
						  c->seq, s, c->base_ts, c->seq - 1, prev_ts);
			rs->chunks[kept++] = *c;
			expect = c->seq + 1;
			prev_ts = c->last_ts;
			if (filled > 0) {
				rs->chunks[kept++] = fill;
				expect = fill.seq + 1;
				prev_ts = fill.last_ts;
			}
		}
		rs->nchunks = kept;
		for (size_t k = 0; k + 1 < kept; k++)
			if (rs->chunks[k].flags & WIRE_CHUNK_FINAL)
				oom |= add_damage(r, HVLOG_MALFORMED, rs->chunks[k + 1].base_ts, rs->chunks[k + 1].off, 0, s,
						  rs->chunks[k + 1].seq, 0,
						  "stream %u has chunks after its final chunk %" PRIu64, s,
						  rs->chunks[k].seq);
		if (kept && !(rs->chunks[kept - 1].flags & WIRE_CHUNK_FINAL)) {
			const struct chunk *c = &rs->chunks[kept - 1];
			oom |= add_damage(r, HVLOG_TRUNCATED, c->last_ts, c->off + HVLOG_CHUNK_HEADER_SIZE + c->len, 0,
					  s, c->seq + 1, 0,
					  "stream %u ends without its final chunk (the producer did not close the "
					  "trace; later events of this stream are lost)",
					  s);
		}
		rs->item.stream = s;
		active += kept != 0;
	}
	if (none != UINT32_MAX)
		oom |= no_chunks(r, none, ns - 1);
	/* Each stream with chunks keeps one value per parameter of the schema
	 * the KEYED predictors and the RIP cache while it decodes: refuse
	 * files whose product is absurd. */
	if ((uint64_t)active * (r->meta.schema->nslots + HVLOG_KEYED_SLOTS + HVLOG_RIP_SLOTS) * sizeof(uint64_t) >
	    WIRE_MAX_DECODER_STATE)
		return hvlog__fail(err, HVLOG_LIMIT, UINT64_MAX,
				   "%u streams x (%u parameters + %u keyed predictors + %u RIP cache entries) need "
				   "more decoder state than the %u MiB cap",
				   active, r->meta.schema->nslots, HVLOG_KEYED_SLOTS, HVLOG_RIP_SLOTS,
				   WIRE_MAX_DECODER_STATE >> 20);
	if (r->ndamage)
		qsort(r->damage, r->ndamage, sizeof *r->damage, cmp_damage);
	for (size_t d = 0; d < r->ndamage; d++) {
		r->stats.damaged_regions++;
		r->stats.damaged_bytes += r->damage[d].len;
	}
	if (oom)
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	return HVLOG_OK;
}

/* ---- open --------------------------------------------------------------- */

/* The metadata block of meta_len bytes at off, with CRC meta_crc,
 * decoded into r; source: where it came from (hvlog_meta.source). */
static hvlog_status load_meta(hvlog_reader *r, uint64_t off, uint32_t meta_len, uint32_t meta_crc, uint64_t source,
			      hvlog_error *err)
{
	uint8_t *meta;
	hvlog_status st;
	int e;

	if (meta_len > WIRE_MAX_META)
		return hvlog__fail(err, HVLOG_LIMIT, off - WIRE_FILE_HEADER_SIZE + WIRE_FH_META_LEN,
				   "metadata of %u bytes exceeds the %u-byte cap", meta_len, WIRE_MAX_META);
	if (meta_len > r->size - off)
		return hvlog__fail(err, HVLOG_TRUNCATED, r->size,
				   "file truncated inside the metadata (%u bytes expected, %" PRIu64 " present)",
				   meta_len, r->size - off);
	if (!(meta = malloc(meta_len ? meta_len : 1)))
		return hvlog__fail(err, HVLOG_NOMEM, off, "out of memory for the metadata");
	e = read_at(r, meta, meta_len, off);
	if (e) {
		free(meta);
		return io_fail(err, e > 0 ? e : EIO, off);
	}
	if (meta_crc != hvlog_crc32c(0, meta, meta_len)) {
		free(meta);
		return hvlog__fail(err, HVLOG_CHECKSUM, off, "metadata checksum mismatch");
	}
	hvlog__meta_free(r->store);
	r->store = NULL;
	st = hvlog__meta_decode(meta, meta_len, off, &r->store, &r->meta, err);
	free(meta);
	r->meta.source = source;
	r->meta_len = meta_len;
	r->meta_crc = meta_crc;
	return st;
}

/* The file header and the metadata after it.  *header_ok: the header
 * itself is intact (so data_offset is known even if the metadata is not);
 * *fatal: the file cannot be read whatever copies it holds (not a trace,
 * another major version, an I/O error). */
static hvlog_status read_header(hvlog_reader *r, int *header_ok, int *fatal, hvlog_error *err)
{
	uint8_t h[WIRE_FILE_HEADER_SIZE];
	uint32_t meta_len, meta_crc;
	hvlog_status st;
	int e;

	*header_ok = 0;
	*fatal = 1;
	if (r->size && (e = read_at(r, h, r->size < sizeof h ? r->size : sizeof h, 0)) > 0)
		return io_fail(err, e, 0);
	st = hvlog__file_header(h, r->size, &r->meta.version_major, &r->meta.version_minor, &meta_len, &meta_crc, fatal,
				err);
	if (st != HVLOG_OK)
		return st;
	if (meta_len > WIRE_MAX_META) /* a valid header over the cap: the writer's mistake, no copy helps */
		*fatal = 1;
	else if (meta_len <= r->size - sizeof h) {
		*header_ok = 1;
		r->meta.data_offset = sizeof h + (uint64_t)meta_len;
	}
	return load_meta(r, sizeof h, meta_len, meta_crc, 0, err);
}

hvlog_status hvlog__file_header(const uint8_t *h, uint64_t avail, uint16_t *major, uint16_t *minor,
				uint32_t *meta_len, uint32_t *meta_crc, int *fatal, hvlog_error *err)
{
	*fatal = 1;
	if (avail == 0)
		return hvlog__fail(err, HVLOG_TRUNCATED, 0, "empty file: not an hvlog trace");
	if (avail < WIRE_FILE_HEADER_SIZE)
		return memcmp(h, WIRE_FILE_MAGIC, avail < 8 ? avail : 8)
			       ? bad_magic(err)
			       : hvlog__fail(err, HVLOG_TRUNCATED, avail, "file truncated inside the %u-byte file header",
					     WIRE_FILE_HEADER_SIZE);
	/* From here on a copy of the metadata may still save the file: a
	 * damaged magic too, so that every bit of the header may flip. */
	*fatal = 0;
	if (memcmp(h, WIRE_FILE_MAGIC, 8))
		return bad_magic(err);
	if (wire_get32(h + WIRE_FH_CRC) != hvlog_crc32c(0, h, WIRE_FH_CRC))
		return hvlog__fail(err, HVLOG_CHECKSUM, WIRE_FH_CRC, "file header checksum mismatch");
	*major = wire_get16(h + WIRE_FH_MAJOR);
	*minor = wire_get16(h + WIRE_FH_MINOR);
	if (*major == HVLOG_FORMAT_MAJOR && (wire_get32(h + WIRE_FH_FLAGS) || wire_get32(h + WIRE_FH_RESERVED)))
		return hvlog__fail(err, HVLOG_MALFORMED, WIRE_FH_FLAGS,
				   "file header has flags or reserved bits this reader does not know");
	if (*major != HVLOG_FORMAT_MAJOR) {
		*fatal = 1;
		return hvlog__fail(err, HVLOG_VERSION, WIRE_FH_MAJOR,
				   "format version %u.%u is not supported (this reader reads %u.x; %s)", *major, *minor,
				   HVLOG_FORMAT_MAJOR,
				   *major > HVLOG_FORMAT_MAJOR ? "a newer hvlog is needed" : "version 0 does not exist");
	}
	*meta_len = wire_get32(h + WIRE_FH_META_LEN);
	*meta_crc = wire_get32(h + WIRE_FH_META_CRC);
	return HVLOG_OK;
}

/* A metadata copy: the metadata chunk whose header is at off (§4.6). */
static hvlog_status load_copy(hvlog_reader *r, uint64_t off, hvlog_error *err)
{
	uint8_t h[HVLOG_CHUNK_HEADER_SIZE];

	if (off > r->size || r->size - off < sizeof h || read_at(r, h, sizeof h, off) || memcmp(h, WIRE_CHUNK_SYNC, 8) ||
	    wire_get32(h + WIRE_CH_CRC) != hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN) ||
	    !(wire_get16(h + WIRE_CH_FLAGS) & WIRE_CHUNK_META))
		return hvlog__fail(err, HVLOG_MALFORMED, off, "no metadata chunk here");
	/* a hostile file of forged copies' headers, one every 64 bytes each
	 * claiming 1 MiB, would otherwise cost 16 384 times its size */
	if (wire_get32(h + WIRE_CH_LEN) > r->copy_budget)
		return hvlog__fail(err, HVLOG_LIMIT, off, "metadata copies past the search budget");
	r->copy_budget -= wire_get32(h + WIRE_CH_LEN);
	uint16_t major = r->meta.version_major, minor = r->meta.version_minor;
	hvlog_status st = load_meta(r, off + sizeof h, wire_get32(h + WIRE_CH_LEN), wire_get32(h + WIRE_CH_PAYLOAD_CRC),
				    off, err);
	/* a copy holds no version: the header's if it was read, else ours */
	r->meta.version_major = major ? major : HVLOG_FORMAT_MAJOR;
	r->meta.version_minor = major ? minor : HVLOG_FORMAT_MINOR;
	if (st == HVLOG_OK && r->meta.schema_fp != wire_get32(h + WIRE_CH_META_FP))
		st = hvlog__fail(err, HVLOG_MALFORMED, off, "metadata chunk's fingerprint does not match its schema");
	return st;
}

/* The trailer (§4.6), if the file ends with a valid one: r->end is set
 * before it, and the offset of the metadata chunk it names returned;
 * UINT64_MAX if none. */
static uint64_t read_trailer(hvlog_reader *r)
{
	uint8_t t[WIRE_TRAILER_SIZE];
	uint64_t at;

	r->end = r->size;
	if (r->size < WIRE_FILE_HEADER_SIZE + WIRE_TRAILER_SIZE ||
	    read_at(r, t, sizeof t, r->size - sizeof t) || memcmp(t, WIRE_TRAILER_MAGIC, 8) ||
	    wire_get32(t + WIRE_TR_CRC) != hvlog_crc32c(0, t, WIRE_TR_CRC) || wire_get32(t + WIRE_TR_RESERVED))
		return UINT64_MAX;
	r->end = r->size - sizeof t;
	at = wire_get64(t + WIRE_TR_META_OFF);
	return at < r->end ? at : UINT64_MAX;
}

/* The first metadata copy that loads, searching from `from`; its offset,
 * or UINT64_MAX. */
static uint64_t scan_copies(hvlog_reader *r, uint64_t from)
{
	enum { BS = 1 << 16 };
	uint8_t *buf = malloc(BS);
	hvlog_error e2;

	while (buf && from + HVLOG_CHUNK_HEADER_SIZE <= r->end) {
		size_t n = (size_t)(r->end - from < BS ? r->end - from : BS);
		if (read_at(r, buf, n, from))
			break;
		for (uint8_t *p = buf; (p = memmem(p, n - (size_t)(p - buf), WIRE_CHUNK_SYNC, 8)); p++) {
			uint64_t at = from + (uint64_t)(p - buf);
			if (load_copy(r, at, &e2) == HVLOG_OK) {
				free(buf);
				return at;
			}
		}
		if (n < BS)
			break;
		from += n - 7;
	}
	free(buf);
	return UINT64_MAX;
}

/* A fallback's metadata (hvlog_reader_options): its schema and clock,
 * streams sized by the chunks (set after indexing, fallback_streams). */
static hvlog_status use_fallback(hvlog_reader *r, hvlog_error *err)
{
	const hvlog_reader_options *o = r->opts;

	uint64_t data_offset = r->meta.data_offset;

	hvlog__meta_free(r->store);
	r->store = NULL;
	r->meta = (hvlog_meta){
		.data_offset = data_offset,
		.version_major = HVLOG_FORMAT_MAJOR,
		.version_minor = HVLOG_FORMAT_MINOR,
		.producer = o->meta ? o->meta->producer : "unknown (the trace's metadata is lost)",
		.clock_name = o->meta ? o->meta->clock_name : "ns",
		.clock_hz = o->meta ? o->meta->clock_hz : 1000000000u,
		.clock_epoch_ns = o->meta ? o->meta->clock_epoch_ns : 0,
		.schema = o->meta ? o->meta->schema : o->schema,
		.nstreams = WIRE_MAX_STREAMS, /* until the chunks tell */
		.source = UINT64_MAX,
	};
	if (!r->meta.schema)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "reader options: a fallback without a schema");
	r->meta.schema_fp = hvlog__schema_fp(r->meta.schema);
	return HVLOG_OK;
}

/* After indexing with a fallback: as many streams as the chunks name,
 * called as the fallback's streams where it has them, else stream<N>. */
static hvlog_status fallback_streams(hvlog_reader *r, hvlog_error *err)
{
	const hvlog_meta *fm = r->opts->meta;
	uint32_t n = 1;

	for (size_t i = 0; i < r->nchunks; i++)
		if (r->chunks[i].stream >= n)
			n = r->chunks[i].stream + 1;
	if (!(r->fb_streams = calloc(n, sizeof *r->fb_streams)) || !(r->fb_names = calloc(n, sizeof *r->fb_names)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		if (fm && i < fm->nstreams) {
			r->fb_streams[i] = fm->streams[i];
			continue;
		}
		snprintf(r->fb_names[i], sizeof r->fb_names[i], "stream%u", i);
		r->fb_streams[i] = (hvlog_stream_info){ r->fb_names[i], 0, UINT32_MAX };
	}
	r->meta.streams = r->fb_streams;
	r->meta.nstreams = n;
	return HVLOG_OK;
}

/* The metadata, from the block after the header or else from a copy or
 * a fallback (§6.1); what was damaged becomes a damage item at the
 * start of the file. */
static hvlog_status open_meta(hvlog_reader *r, hvlog_error *err)
{
	hvlog_error first = { 0 };
	int header_ok, fatal;
	hvlog_status st = read_header(r, &header_ok, &fatal, &first);
	uint64_t copy = read_trailer(r), damaged_from, what_len;
	const char *how = "the copy the trailer names";
	char fb_how[128];

	r->trailer_copy = copy;
	if (st == HVLOG_OK && !(r->opts && r->opts->force))
		return HVLOG_OK;
	if (st != HVLOG_OK && (fatal || st == HVLOG_IO || st == HVLOG_NOMEM)) {
		if (err)
			*err = first;
		return st;
	}
	if (st == HVLOG_OK) {
		snprintf(first.msg, sizeof first.msg, "the file's own metadata was set aside");
		first.offset = WIRE_FILE_HEADER_SIZE;
		first.status = HVLOG_MALFORMED;
	} else if (copy == UINT64_MAX || load_copy(r, copy, err) != HVLOG_OK) {
		how = "a copy found by searching the file";
		if ((copy = scan_copies(r, WIRE_FILE_HEADER_SIZE)) == UINT64_MAX) {
			if (!r->opts || (!r->opts->schema && !r->opts->meta)) {
				size_t l = strlen(first.msg);
				snprintf(first.msg + l, sizeof first.msg - l,
					 ", and the file holds no intact copy of the metadata");
				if (err)
					*err = first;
				return first.status;
			}
		}
	}
	if (copy == UINT64_MAX || st == HVLOG_OK) {
		if ((st = use_fallback(r, err)) != HVLOG_OK)
			return st;
		snprintf(fb_how, sizeof fb_how, "the fallback schema \"%.64s\" version %u, only chunks written with it",
			 r->meta.schema->name ? r->meta.schema->name : "", r->meta.schema->version);
		how = fb_how;
	}
	/* Where the chunks start: after the damaged block if the header
	 * still says where that ends, else at the first chunk after the
	 * header, which the index finds. */
	damaged_from = header_ok ? WIRE_FILE_HEADER_SIZE : 0;
	if (!header_ok) {
		hvlog_status rst = HVLOG_OK;
		r->meta.data_offset = resync(r, WIRE_FILE_HEADER_SIZE, &rst, err);
		if (rst != HVLOG_OK)
			return rst;
	}
	what_len = r->meta.data_offset - damaged_from;
	char at[40] = "";
	if (r->meta.source != UINT64_MAX)
		snprintf(at, sizeof at, " at offset %" PRIu64, copy);
	if (add_damage(r, first.status, 0, damaged_from, what_len,
		       UINT32_MAX, UINT64_MAX, 0, "%s (offset %" PRIu64 "); decoding with %s%s", first.msg, first.offset,
		       how, at))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	return HVLOG_OK;
}

static int cmp_event_number(const void *a, const void *b)
{
	const struct plan *x = *(const struct plan *const *)a, *y = *(const struct plan *const *)b;
	return (x->ev->number > y->ev->number) - (x->ev->number < y->ev->number);
}

/* hvlog_type_max(), by type */
static const uint64_t type_max[HVLOG_TYPE_COUNT_] = {
	[HVLOG_TYPE_U8] = 0xFF, [HVLOG_TYPE_U16] = 0xFFFF, [HVLOG_TYPE_U32] = 0xFFFFFFFFu,
	[HVLOG_TYPE_U64] = UINT64_MAX, [HVLOG_TYPE_BOOL] = 1,
};

/* A reader's streams and merge heap, empty. */
static hvlog_status alloc_streams(hvlog_reader *r, hvlog_error *err)
{
	r->ordered = 1;
	if (!(r->streams = calloc(r->meta.nstreams ? r->meta.nstreams : 1, sizeof *r->streams)) ||
	    !(r->heap = calloc(r->meta.nstreams ? r->meta.nstreams : 1, sizeof *r->heap)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	return HVLOG_OK;
}

/* A plan's SHAPE: SHAPE_SKIP, else its parameters' OP_ codes, 2 bits
 * each after the count, or SHAPE_LOOP for more than three. */
static uint32_t plan_shape(const struct plan *pl)
{
	uint32_t shape = pl->nparams;

	if (!pl->wanted && !pl->keyed)
		return SHAPE_SKIP;
	if (pl->nparams > 3)
		return SHAPE_LOOP;
	for (uint32_t i = 0; i < pl->nparams; i++) {
		uint32_t op = pl->rip >> i & 1 ? OP_R : pl->keyed >> i & 1 ? OP_K : pl->coded >> i & 1 ? OP_D : OP_V;
		shape |= op << (2 + 2 * i);
	}
	return shape;
}

/* The decoding plans: per event its slots and how each parameter is
 * coded; the event-number lookups; with `slots`, also the shared table of
 * each slot's largest value (a sibling has its base's). */
static hvlog_status build_plans(hvlog_reader *r, int slots, hvlog_error *err)
{
	const hvlog_schema *s = r->meta.schema;
	uint32_t n = 0;

	if (!(r->plans = calloc(s->nevents ? s->nevents : 1, sizeof *r->plans)) ||
	    (slots && !(r->maxv = calloc(s->nslots ? s->nslots : 1, sizeof *r->maxv))))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	for (uint32_t i = 0; i < s->nevents; i++) {
		const hvlog_event *ev = &s->events[i];
		struct plan *pl = &r->plans[i];
		*pl = (struct plan){ .ev = ev, .slot = ev->slot, .nparams = ev->nparams, .wanted = 1 };
		for (uint32_t k = 0; k < ev->nparams; k++) {
			pl->keyed |= (uint32_t)(ev->params[k].coding == HVLOG_CODING_KEYED) << k;
			pl->rip |= (uint32_t)hvlog__param_is_rip(&ev->params[k]) << k;
			pl->coded |= (uint32_t)(ev->params[k].coding != HVLOG_CODING_VARINT && !(pl->rip >> k & 1)) << k;
			if (k < 3)
				pl->max[k] = type_max[ev->params[k].type];
			if (!slots)
				continue;
			r->maxv[ev->slot + k] = type_max[ev->params[k].type];
		}
		pl->shape = plan_shape(pl);
		if (ev->number >= HVLOG_TAG_FIRST_EVENT && ev->number < HVLOG_TAG_ESCAPE)
			r->by_tag[ev->number] = pl;
		else
			n++;
	}
	if (n && !(r->escaped = malloc(n * sizeof *r->escaped)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	for (uint32_t i = 0; i < s->nevents; i++) {
		uint32_t num = s->events[i].number;
		if (!(num >= HVLOG_TAG_FIRST_EVENT && num < HVLOG_TAG_ESCAPE))
			r->escaped[r->nescaped++] = &r->plans[i];
	}
	if (r->nescaped)
		qsort(r->escaped, r->nescaped, sizeof *r->escaped, cmp_event_number);
	return HVLOG_OK;
}

/* What stopped a compressed input's decompressor early (the input is
 * read whole at open, so it has ended) is damage at the end of the data,
 * one tick after its last event (so it comes after it). */
static hvlog_status unz_damage(hvlog_reader *r, hvlog_error *err)
{
	const char *msg;
	hvlog_status st = r->unz ? hvlog__unz_result(r->unz, &msg) : HVLOG_OK;
	uint64_t ts = r->stats.last_ts + (r->stats.last_ts < UINT64_MAX);

	if (st != HVLOG_OK && add_damage(r, st, ts, r->size, 0, UINT32_MAX, UINT64_MAX, 0, "%s", msg))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	return HVLOG_OK;
}
static hvlog_status open_live(hvlog_reader *r, int follow, int *recover, hvlog_error *err);

hvlog_status hvlog_reader_open_fd(hvlog_reader **out, int fd, hvlog_error *err)
{
	return hvlog_reader_open_fd_with(out, fd, NULL, err);
}

hvlog_status hvlog_reader_open_fd_with(hvlog_reader **out, int fd, const hvlog_reader_options *opts,
				       hvlog_error *err)
{
	hvlog_reader *r;
	struct stat sb;
	hvlog_status st;

	if (!out || fd < 0)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "no input given");
	*out = NULL;
	if (!(r = calloc(1, sizeof *r)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	/* a compressed input is read as the pipe its decompressor writes; a
	 * compressed file is still read as a file is (indexed, from a spool),
	 * not live, so it decodes exactly as the file decompressed would */
	int compressed_file = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	if ((st = hvlog__unz_open(&fd, &r->unz, err)) != HVLOG_OK)
		goto fail;
	compressed_file &= r->unz != NULL;
	r->fd = fd;
	r->opts = opts;
	r->group_mask = UINT64_MAX;
	r->skip_hi = UINT64_MAX;
	r->nparts = 1;
	if (fstat(fd, &sb) != 0) {
		st = io_fail(err, errno, UINT64_MAX);
		goto fail;
	}
	int seekable = S_ISREG(sb.st_mode) && lseek(fd, 0, SEEK_CUR) >= 0;
	if (!seekable && S_ISDIR(sb.st_mode)) {
		st = hvlog__fail(err, HVLOG_IO, UINT64_MAX, "is a directory");
		goto fail;
	}
	if (opts && (opts->follow || (opts->live && !seekable && !compressed_file))) {
		if (seekable && lseek(fd, 0, SEEK_SET) < 0) {
			st = io_fail(err, errno, UINT64_MAX);
			goto fail;
		}
		int recover = 0;
		if ((st = open_live(r, seekable, &recover, err)) == HVLOG_OK) {
			*out = r;
			return HVLOG_OK;
		}
		if (!recover)
			goto fail;
		/* A damaged header or metadata: a copy further on may still
		 * save the trace, which takes the index.  A file is indexed as
		 * it is; a pipe is spooled, after the bytes already read. */
	}
	if (!seekable) {
		const uint8_t *p = NULL;
		size_t plen = 0;
		if (r->live)
			hvlog__live_buffered(r->live, &p, &plen);
		st = spool(fd, p, plen, !compressed_file, &r->fd, err);
		hvlog__live_free(r->live);
		r->live = NULL;
		if (st != HVLOG_OK)
			goto fail;
		r->own_fd = 1;
		if (fstat(r->fd, &sb) != 0) {
			st = io_fail(err, errno, UINT64_MAX);
			goto fail;
		}
	}
	r->size = (uint64_t)sb.st_size;
	r->stats.file_size = r->size;
	r->proof_budget = 4 * r->size + (64u << 20);
	r->copy_budget = r->proof_budget;
	if ((st = open_meta(r, err)) != HVLOG_OK || (st = build_plans(r, 1, err)) != HVLOG_OK ||
	    (st = index_chunks(r, err)) != HVLOG_OK || (st = unz_damage(r, err)) != HVLOG_OK)
		goto fail;
	if (r->meta.source == UINT64_MAX && (st = fallback_streams(r, err)) != HVLOG_OK)
		goto fail;
	if ((st = alloc_streams(r, err)) != HVLOG_OK || (st = split_streams(r, err)) != HVLOG_OK)
		goto fail;
	r->opts = NULL;
	if (!(r->refs = malloc(sizeof *r->refs))) {
		st = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
		goto fail;
	}
	atomic_init(r->refs, 1);
	r->index_stats = r->stats;
	*out = r;
	return HVLOG_OK;
fail:
	hvlog__unz_note(r->unz, err);
	hvlog_reader_close(r);
	return st;
}

hvlog_status hvlog_reader_open_sibling(hvlog_reader **out, const hvlog_reader *base, hvlog_error *err)
{
	hvlog_reader *r;
	hvlog_status st;

	if (!out || !base)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "no reader given");
	if (base->live)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "a reader of a live input has no siblings");
	*out = NULL;
	if (!(r = calloc(1, sizeof *r)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	/* the shared part: the same pointers, one more reference */
	r->refs = base->refs;
	atomic_fetch_add_explicit(r->refs, 1, memory_order_relaxed);
	r->fd = base->fd;
	r->own_fd = base->own_fd;
	r->unz = base->unz;
	r->size = base->size;
	r->store = base->store;
	r->meta = base->meta;
	r->maxv = base->maxv;
	r->chunks = base->chunks;
	r->nchunks = base->nchunks;
	r->damage = base->damage;
	r->ndamage = base->ndamage;
	r->fb_streams = base->fb_streams;
	r->fb_names = base->fb_names;
	r->end = base->end;
	r->index_stats = r->stats = base->index_stats;
	/* its own: the plans (the group mask), the streams' decoding state,
	 * the merge and every setting */
	r->group_mask = UINT64_MAX;
	r->skip_hi = UINT64_MAX;
	r->nparts = 1;
	if ((st = build_plans(r, 0, err)) != HVLOG_OK || (st = alloc_streams(r, err)) != HVLOG_OK) {
		hvlog_reader_close(r);
		return st;
	}
	for (uint32_t s = 0; s < r->meta.nstreams; s++) {
		r->streams[s].chunks = base->streams[s].chunks;
		r->streams[s].nchunks = base->streams[s].nchunks;
		r->streams[s].item.stream = s;
	}
	*out = r;
	return HVLOG_OK;
}

hvlog_status hvlog_reader_open_path(hvlog_reader **out, const char *path, hvlog_error *err)
{
	return hvlog_reader_open_path_with(out, path, NULL, err);
}

hvlog_status hvlog_reader_open_path_with(hvlog_reader **out, const char *path, const hvlog_reader_options *opts,
					 hvlog_error *err)
{
	hvlog_status st;
	int fd;

	if (!path)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "no input given");
	if (!strcmp(path, "-"))
		return hvlog_reader_open_fd_with(out, STDIN_FILENO, opts, err);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		st = hvlog__fail(err, HVLOG_IO, UINT64_MAX, "cannot open: %s", strerror(errno));
		if (err)
			err->sys_errno = errno;
		return st;
	}
	st = hvlog_reader_open_fd_with(out, fd, opts, err);
	if (st != HVLOG_OK) {
		close(fd);
		return st;
	}
	if ((*out)->own_fd)
		close(fd);
	else
		(*out)->own_fd = 1;
	return HVLOG_OK;
}

void hvlog_reader_close(hvlog_reader *r)
{
	if (!r)
		return;
	if (r->streams)
		for (uint32_t s = 0; s < r->meta.nstreams; s++) {
			free(r->streams[s].buf);
			free(r->streams[s].slots);
		}
	free(r->streams);
	free(r->plans);
	free(r->heap);
	hvlog_batch_free(r->ra);
	free(r->escaped);
	/* the shared part, by the last reader that holds it (acq_rel: every
	 * other holder's use of it happens before the free) */
	if (r->refs && atomic_fetch_sub_explicit(r->refs, 1, memory_order_acq_rel) != 1) {
		free(r);
		return;
	}
	free((void *)r->refs);
	if (r->own_fd)
		close(r->fd);
	hvlog__unz_close(r->unz);
	free(r->maxv);
	free(r->chunks);
	free(r->suspect);
	free(r->copy_gaps);
	free(r->damage);
	free(r->fb_streams);
	free(r->fb_names);
	hvlog__live_free(r->live);
	hvlog__meta_free(r->store);
	free(r);
}

const hvlog_meta *hvlog_reader_meta(const hvlog_reader *r)
{
	return &r->meta;
}

void hvlog_reader_set_group_mask(hvlog_reader *r, uint64_t mask)
{
	const hvlog_schema *s = r->meta.schema;

	r->group_mask = mask ? mask : UINT64_MAX;
	for (uint32_t i = 0; i < s->nevents; i++) {
		r->plans[i].wanted = (s->groups[s->events[i].group].mask & r->group_mask) != 0;
		r->plans[i].shape = plan_shape(&r->plans[i]);
	}
}

uint64_t hvlog__reader_group_mask(const hvlog_reader *r)
{
	return r->group_mask;
}

void hvlog_reader_set_ordered(hvlog_reader *r, int ordered)
{
	r->ordered = ordered != 0;
}

void hvlog_reader_set_streams(hvlog_reader *r, const uint8_t *keep, uint32_t n)
{
	for (uint32_t s = 0; s < r->meta.nstreams; s++)
		r->streams[s].done = keep && (s >= n || !keep[s]);
}

void hvlog_reader_set_time_range(hvlog_reader *r, uint64_t lo, uint64_t hi)
{
	r->skip_lo = lo;
	r->skip_hi = hi;
}

void hvlog_reader_set_partition(hvlog_reader *r, uint32_t part, uint32_t nparts)
{
	if (nparts <= 1 || part >= nparts) {
		r->part = 0;
		r->nparts = 1;
		return;
	}
	r->part = part;
	r->nparts = nparts;
	if (part) {
		/* part 0 reports what indexing found */
		r->next_damage = r->ndamage;
		r->stats.damaged_regions = 0;
		r->stats.damaged_bytes = 0;
	}
}

void hvlog_reader_stats_get(const hvlog_reader *r, hvlog_reader_stats *st)
{
	*st = r->stats;
}

/* ---- decoding ------------------------------------------------------------ */

/* A prefix varint within [*pp, end); 0 if it runs past end.  The chunk
 * buffer has CHUNK_PAD readable bytes after end, so the load never
 * leaves the buffer. */
static inline int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;

	if (p >= end || wire_varint_len(*p) > (size_t)(end - p))
		return 0;
	*pp = wire_get_varint(p, v);
	return 1;
}

static const struct plan *find_escaped(const hvlog_reader *r, uint64_t number)
{
	uint32_t lo = 0, hi = r->nescaped;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->escaped[mid]->ev->number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nescaped && r->escaped[lo]->ev->number == number ? r->escaped[lo] : NULL;
}

static void set_damage(struct rstream *rs, hvlog_status kind, uint64_t off, uint64_t len, uint64_t events,
		       const char *msg)
{
	hvlog_item *it = &rs->item;

	it->kind = HVLOG_ITEM_DAMAGE;
	it->ts = rs->ts;
	it->offset = off;
	it->damage = kind;
	it->damage_len = len;
	it->damage_events = events;
	it->chunk_seq = rs->cur ? rs->cur->seq : UINT64_MAX;
	it->damage_msg = msg;
	rs->has = 1;
	rs->damaged = 1;
}

/* Whether the stream's chunk k lies wholly outside the time range asked
 * for (hvlog_reader_set_time_range), to be skipped.  A chunk whose time
 * only goes forward holds records from base_ts to last_ts; the bound that
 * puts it outside is believed only where the neighbouring chunk agrees
 * (a writer starts each chunk where the one before ended, §4.3): a
 * header's damaged time, on a stream's last chunk say, then has the chunk
 * decoded, and the damage reported, instead of its events silently
 * missing from the window. */
static int outside(const hvlog_reader *r, const struct rstream *rs, size_t k)
{
	const struct chunk *c = &rs->chunks[k];

	if (c->flags & WIRE_CHUNK_BACKWARDS)
		return 0;
	if (c->last_ts < r->skip_lo)
		return k + 1 < rs->nchunks && rs->chunks[k + 1].base_ts == c->last_ts;
	if (c->base_ts > r->skip_hi)
		return k > 0 && rs->chunks[k - 1].last_ts == c->base_ts;
	return 0;
}

/* The time of the first event record of the payload [p, end) from base
 * time ts (§4.3 first_ts): the TIME records before it set the time, LOST
 * records leave it; ts itself without an event record.  0 if a record
 * before it is malformed (decoding the chunk reports that). */
static int first_event_ts(const uint8_t *p, const uint8_t *end, uint64_t ts, uint64_t *first)
{
	uint64_t v;

	while (p < end) {
		uint8_t tag = *p++;
		if (tag == HVLOG_TAG_TIME) {
			if (!get_varint(&p, end, &ts))
				return 0;
			continue;
		}
		if (tag == HVLOG_TAG_LOST) {
			for (int i = 0; i < 3; i++)
				if (!get_varint(&p, end, &v))
					return 0;
			continue;
		}
		if (tag < HVLOG_TAG_FIRST_EVENT || (tag == HVLOG_TAG_ESCAPE && !get_varint(&p, end, &v)) ||
		    !get_varint(&p, end, &v))
			return 0;
		*first = ts + v;
		return 1;
	}
	*first = ts;
	return 1;
}

/* Load the stream's next chunk; 1 if a chunk is ready or a damage item was
 * set, 0 at the end of the stream, -1 on a read error. */
static int load_chunk(hvlog_reader *r, struct rstream *rs, hvlog_error *err)
{
	const struct chunk *c;
	const uint8_t *payload = NULL;

	if (r->live) {
		int k = hvlog__live_take(r->live, (uint32_t)(rs - r->streams), &c, &payload);
		if (k <= 0) {
			rs->done = k < 0;
			return 0;
		}
		rs->cur = c;
		goto got;
	}
	while (rs->next < rs->nchunks &&
	       ((r->nparts > 1 && rs->chunks[rs->next].ord % r->nparts != r->part) || outside(r, rs, rs->next)))
		rs->next++;
	if (rs->next == rs->nchunks) {
		rs->done = 1;
		rs->cur = NULL;
		return 0;
	}
	c = rs->cur = &rs->chunks[rs->next++];
got:
	/* The slots, then the shared KEYED predictors and the RIP cache: only for a chunk with
	 * records (a writer closes every stream with a chunk, often empty, so
	 * a trace of many idle streams costs no decoder state for them). */
	if (c->len && !rs->slots &&
	    !(rs->slots = calloc(r->meta.schema->nslots + HVLOG_KEYED_SLOTS + HVLOG_RIP_SLOTS, sizeof *rs->slots))) {
		hvlog__fail(err, HVLOG_NOMEM, c->off, "out of memory");
		return -1;
	}
	if (c->len > rs->bufcap || !rs->buf) {
		uint8_t *nb = realloc(rs->buf, (size_t)c->len + CHUNK_PAD);
		if (!nb) {
			hvlog__fail(err, HVLOG_NOMEM, c->off, "out of memory for a chunk of %u bytes", c->len);
			return -1;
		}
		rs->buf = nb;
		rs->bufcap = c->len;
	}
	memset(rs->buf + c->len, 0, CHUNK_PAD);
	int e = payload || !c->len ? (memcpy(rs->buf, payload ? payload : rs->buf, c->len), 0)
				   : read_at(r, rs->buf, c->len, c->off + HVLOG_CHUNK_HEADER_SIZE);
	if (e) {
		io_fail(err, e > 0 ? e : EIO, c->off);
		return -1;
	}
	rs->ts = c->base_ts;
	rs->base_off = c->off + HVLOG_CHUNK_HEADER_SIZE;
	rs->p = rs->buf;
	rs->end = rs->buf + c->len;
	rs->decoded = 0;
	rs->damaged = 0;
	rs->first_lies = 0;
	if (c->len) {
		rs->keyed = rs->slots + r->meta.schema->nslots;
		rs->rips = rs->keyed + HVLOG_KEYED_SLOTS;
		memset(rs->slots, 0, (r->meta.schema->nslots + HVLOG_KEYED_SLOTS + HVLOG_RIP_SLOTS) * sizeof *rs->slots);
	}
	if (hvlog_crc32c(0, rs->buf, c->len) != c->payload_crc) {
		r->stats.damaged_regions++;
		r->stats.damaged_bytes += HVLOG_CHUNK_HEADER_SIZE + c->len;
		rs->p = rs->end;
		rs->decoded = c->nevents;
		set_damage(rs, HVLOG_CHECKSUM, c->off, HVLOG_CHUNK_HEADER_SIZE + c->len, c->nevents,
			   "chunk checksum mismatch: chunk skipped");
		return 1;
	}
	uint64_t first;
	rs->first_lies = first_event_ts(rs->buf, rs->end, c->base_ts, &first) && first != c->first_ts;
	r->stats.chunks++;
	return 1;
}

/* Decoding a record.  decode_event() is compiled twice: unchecked while
 * a record of the largest size fits before the payload's end (nearly
 * always), and checked in the last FAST_MARGIN bytes, where every varint
 * is tested against the end.  Same code, the checks compiled in or out. */
#define FAST_MARGIN (9u + 10u * HVLOG_MAX_PARAMS + 8u) /* delta, params, one 8-byte load */

enum rec { REC_ITEM, REC_SKIP, REC_BAD };

/* A RIP parameter at p (§5.5), its own slot `slot`: the cache entry
 * (1..127), the slot plus the zigzag difference code - 128, or after a
 * 0 the value; a select, no branch on a hit.  The value into *out, the
 * cache and the slot; the position after it, NULL if cut short. */
static inline __attribute__((always_inline)) const uint8_t *get_rip(struct rstream *rs, const uint8_t *p,
								    const uint8_t *end, uint64_t *slot,
								    uint64_t *out, int checked)
{
	uint64_t v;

	if (checked && !get_varint(&p, end, &v))
		return NULL;
	if (!checked)
		p = wire_get_varint(p, &v);
	if (HVLOG_UNLIKELY(v == 0)) {
		if (checked && !get_varint(&p, end, &v))
			return NULL;
		if (!checked)
			p = wire_get_varint(p, &v);
	} else {
		uint64_t z = v - HVLOG_RIP_SLOTS;
		uint64_t miss = *slot + ((z >> 1) ^ (uint64_t)-(int64_t)(z & 1));
		v = v < HVLOG_RIP_SLOTS ? rs->rips[v & (HVLOG_RIP_SLOTS - 1)] : miss;
	}
	rs->rips[hvlog__rip_index(v)] = v;
	*slot = v;
	*out = v;
	return p;
}

/* Parameter i, coded `op`, of an event of plan pl, unchecked: the value
 * into vals[i], a value above its type's maximum into *bad. */
static inline __attribute__((always_inline)) const uint8_t *param_fast(struct rstream *rs, const struct plan *pl,
								       const uint8_t *p, uint64_t *vals,
								       uint64_t *slot, uint64_t *bad, unsigned i,
								       unsigned op)
{
	uint64_t v;

	if (op == OP_R) {
		p = get_rip(rs, p, NULL, &slot[i], &v, 0);
	} else {
		p = wire_get_varint(p, &v);
		if (op != OP_V) {
			/* a KEYED parameter never comes first (the metadata
			 * is refused otherwise): i - 1 is its key */
			uint64_t *pred = op == OP_K ? &rs->keyed[hvlog__keyed_index(pl->slot + i, vals[i ? i - 1 : 0])]
						    : &slot[i];
			v = *pred + ((v >> 1) ^ (uint64_t)-(int64_t)(v & 1));
			*pred = v;
		}
	}
	*bad |= v > pl->max[i];
	vals[i] = v;
	return p;
}

static inline __attribute__((always_inline)) const uint8_t *params_fast(struct rstream *rs, const struct plan *pl,
									const uint8_t *p, uint64_t *vals,
									uint64_t *slot, uint64_t *bad,
									unsigned n, unsigned a,
									unsigned b, unsigned c)
{
	if (n > 0)
		p = param_fast(rs, pl, p, vals, slot, bad, 0, a);
	if (n > 1)
		p = param_fast(rs, pl, p, vals, slot, bad, 1, b);
	if (n > 2)
		p = param_fast(rs, pl, p, vals, slot, bad, 2, c);
	return p;
}

/* The switch's cases: every shape of up to three parameters. */
#define OPS1(X) X(V) X(D) X(K) X(R)
#define OPS2(X, a) X(a, V) X(a, D) X(a, K) X(a, R)
#define OPS3(X, a, b) X(a, b, V) X(a, b, D) X(a, b, K) X(a, b, R)
#define PARAMS_CASE(n, a, b, c)                                                                   \
	case SHAPE(n, a, b, c):                                                                   \
		p = params_fast(rs, pl, p, vals, slot, &bad, n, OP_##a, OP_##b, OP_##c);       \
		break;
#define CASE3(a, b, c) PARAMS_CASE(3, a, b, c)
#define CASE2(a, b) PARAMS_CASE(2, a, b, V) OPS3(CASE3, a, b)
#define CASE1(a) PARAMS_CASE(1, a, V, V) OPS2(CASE2, a)

/* The body of an event record of plan pl at *pp (after the tag and any
 * escaped number), its values into vals, the stream's time in *ts.
 * REC_ITEM: an event to hand out (*ts is its time); REC_SKIP: decoded but
 * filtered out; both move *pp past the record.  REC_BAD: malformed (*pp
 * not moved).  The caller counts the events decoded. */
static inline __attribute__((always_inline)) enum rec decode_event(struct rstream *rs, const hvlog_reader *r,
								   const struct plan *pl, const uint8_t **pp,
								   uint64_t *ts, uint64_t *vals, int checked)
{
	const uint8_t *end = rs->end, *p = *pp;
	uint64_t v, bad = 0;

	if (checked && !get_varint(&p, end, &v))
		return REC_BAD;
	if (!checked)
		p = wire_get_varint(p, &v);
	*ts += v;
	uint64_t *slot = rs->slots + pl->slot;
	switch (checked ? (!pl->wanted && !pl->keyed ? SHAPE_SKIP : SHAPE_LOOP) : pl->shape) {
	case SHAPE_SKIP:
		/* filtered out: step over the values without decoding them (an
		 * unwanted event's slots are never read by the events handed
		 * out; the KEYED predictors are shared, so events with KEYED
		 * parameters are decoded), except RIP parameters, which keep
		 * the shared RIP cache in step (from their own slot) */
		for (uint32_t i = 0; i < pl->nparams; i++) {
			if (pl->rip >> i & 1) {
				if (!(p = get_rip(rs, p, end, rs->slots + pl->slot + i, &v, checked)))
					return REC_BAD;
				continue;
			}
			if (checked && (p >= end || wire_varint_len(*p) > (size_t)(end - p)))
				return REC_BAD;
			p = wire_skip_varint(p);
		}
		*pp = p;
		return REC_SKIP;
	case SHAPE(0, V, V, V):
		break;
		OPS1(CASE1)
	default: {
		const uint64_t *max = r->maxv + pl->slot;
		for (uint32_t i = 0; i < pl->nparams; i++) {
			if (pl->rip >> i & 1) {
				if (!(p = get_rip(rs, p, end, &slot[i], &v, checked)))
					return REC_BAD;
			} else {
				if (checked && !get_varint(&p, end, &v))
					return REC_BAD;
				if (!checked)
					p = wire_get_varint(p, &v);
				/* DELTA and KEYED: the zigzag difference from
				 * the predictor, the parameter's slot or for
				 * KEYED the shared one of the value before it */
				if (pl->coded >> i & 1) {
					uint64_t *pred = pl->keyed >> i & 1
								 ? &rs->keyed[hvlog__keyed_index(pl->slot + i, vals[i - 1])]
								 : &slot[i];
					v = *pred + ((v >> 1) ^ (uint64_t)-(int64_t)(v & 1));
					*pred = v;
				}
			}
			bad |= v > max[i];
			vals[i] = v;
		}
	}
	}
	if (bad)
		return REC_BAD;
	*pp = p;
	return pl->wanted ? REC_ITEM : REC_SKIP;
}

/* The stream's item: the event just decoded into rs->values. */
static inline __attribute__((always_inline)) void set_event(struct rstream *rs, const struct plan *pl)
{
	rs->item.kind = HVLOG_ITEM_EVENT;
	rs->item.ts = rs->ts;
	rs->item.event = pl->ev;
	rs->item.values = rs->values;
}

/* The malformed record at `start`: the rest of the chunk is skipped, its
 * events not decoded are lost (§6.4); rs->item is the damage.  Returns 1. */
static int bad_record(hvlog_reader *r, struct rstream *rs, const uint8_t *start)
{
	uint64_t lost = rs->cur->nevents > rs->decoded ? rs->cur->nevents - rs->decoded : 0;
	uint64_t len = (uint64_t)(rs->end - start);

	rs->p = rs->end;
	rs->decoded = rs->cur->nevents;
	r->stats.damaged_regions++;
	r->stats.damaged_bytes += len;
	set_damage(rs, HVLOG_MALFORMED, rs->base_off + (uint64_t)(start - rs->buf), len, lost,
		   "malformed record: rest of the chunk skipped");
	return 1;
}

/* The hot loop: events with a one-byte tag while a record of any size
 * fits, no bounds checks.  1: rs->item holds the next item (an event, or
 * the damage of a malformed one); 0: the careful path must go on (end of
 * the chunk, a control record, an escaped number).  A record found
 * malformed here is reported here: decoding it had already moved the
 * time and the predictors, so decoding it again would count its delta
 * twice and could find it well formed. */
static inline __attribute__((always_inline)) int advance_fast(hvlog_reader *r, struct rstream *rs)
{
	const struct plan *pl;

	while ((size_t)(rs->end - rs->p) >= 1 + FAST_MARGIN && (pl = r->by_tag[*rs->p])) {
		const uint8_t *start = rs->p;
		rs->p++;
		enum rec k = decode_event(rs, r, pl, &rs->p, &rs->ts, rs->values, 0);
		if (k != REC_BAD) {
			rs->decoded++; /* counted once whole: a malformed record is one of the events lost */
			r->stats.events++;
		}
		if (HVLOG_LIKELY(k == REC_ITEM)) {
			set_event(rs, pl);
			rs->item.offset = rs->base_off + (uint64_t)(start - rs->buf);
			rs->has = 1;
			return 1;
		}
		if (k == REC_BAD)
			return bad_record(r, rs, start);
	}
	return 0;
}

/* Decode the stream's next item into rs->item; 0 at the stream's end. */
static int advance(hvlog_reader *r, struct rstream *rs, hvlog_error *err)
{
	hvlog_item *it = &rs->item;

	rs->has = 0;
	for (;;) {
		const uint8_t *start;
		const struct plan *pl;
		uint64_t v, off;
		enum rec k;

		if (advance_fast(r, rs))
			return 1;
		start = rs->p;
		if (!rs->cur || rs->p == rs->end) {
			if (rs->cur && rs->decoded != rs->cur->nevents) {
				uint64_t lost = rs->cur->nevents > rs->decoded ? rs->cur->nevents - rs->decoded : 0;
				rs->decoded = rs->cur->nevents;
				r->stats.damaged_regions++;
				set_damage(rs, HVLOG_MALFORMED, rs->cur->off, 0, lost,
					   "chunk's event count does not match its records");
				return 1;
			}
			/* last_ts is the time after the chunk's last record
			 * (FORMAT.md §4.3): a header that says otherwise lies
			 * about the chunk's time range, which decides where its
			 * items go in time order and which chunks a time window
			 * skips.  Its events are kept (their payload verified). */
			if (rs->cur && !rs->damaged && rs->ts != rs->cur->last_ts) {
				r->stats.damaged_regions++;
				set_damage(rs, HVLOG_MALFORMED, rs->cur->off, 0, 0,
					   "chunk's last timestamp does not match its records");
				return 1;
			}
			/* first_ts sets the trace's start (the t0 of relative
			 * times) and the chunk's place in a time window: a lie
			 * there is as much damage */
			if (rs->cur && !rs->damaged && rs->first_lies) {
				r->stats.damaged_regions++;
				set_damage(rs, HVLOG_MALFORMED, rs->cur->off, 0, 0,
					   "chunk's first timestamp does not match its records");
				return 1;
			}
			int e = load_chunk(r, rs, err);
			if (e <= 0)
				return e;
			if (rs->has)
				return 1;
			continue;
		}
		/* the careful path: near the payload's end, control records,
		 * escaped event numbers, damage */
		off = rs->cur->off + HVLOG_CHUNK_HEADER_SIZE + (uint64_t)(start - rs->buf);
		uint8_t tag = *rs->p;
		const uint8_t *p = rs->p + 1;
		if (tag == HVLOG_TAG_TIME) {
			if (!get_varint(&p, rs->end, &rs->ts))
				goto malformed;
			rs->p = p;
			continue;
		}
		if (tag == HVLOG_TAG_LOST) {
			/* a count of 0 says nothing was lost: no writer writes
			 * it (§5.4), and no LOST item may claim it */
			if (!get_varint(&p, rs->end, &it->lost_count) || !get_varint(&p, rs->end, &it->lost_first_ts) ||
			    !get_varint(&p, rs->end, &it->lost_last_ts) || !it->lost_count)
				goto malformed;
			rs->p = p;
			it->kind = HVLOG_ITEM_LOST;
			it->ts = rs->ts;
			it->offset = off;
			r->stats.lost_events = hvlog__sat_add(r->stats.lost_events, it->lost_count);
			rs->has = 1;
			return 1;
		}
		if (tag == HVLOG_TAG_ESCAPE)
			pl = get_varint(&p, rs->end, &v) ? find_escaped(r, v) : NULL;
		else
			pl = r->by_tag[tag];
		if (!pl)
			goto malformed;
		k = decode_event(rs, r, pl, &p, &rs->ts, rs->values, 1);
		if (k != REC_BAD) {
			rs->p = p;
			rs->decoded++;
			r->stats.events++;
		}
		if (k == REC_ITEM) {
			set_event(rs, pl);
			it->offset = off;
			rs->has = 1;
			return 1;
		}
		if (k == REC_SKIP)
			continue;
	malformed:
		return bad_record(r, rs, start);
	}
}

/* ---- the merge ------------------------------------------------------------
 *
 * The stream whose item went out last keeps the floor while its next item
 * still comes first: one comparison with the earliest of the others, which
 * wait in a binary min-heap on (time, stream number).  Streams interleave
 * in runs (a VP runs for a while), so most items cost no heap operation;
 * a switch costs O(log streams).  Unordered, the others are a list taken
 * in stream order and the current stream is never compared. */

static inline int before(const struct hent *a, const struct hent *b)
{
	return a->key < b->key || (a->key == b->key && a->s < b->s);
}

static void sift_down(struct hent *h, uint32_t n, uint32_t i)
{
	struct hent x = h[i];

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(&h[c + 1], &h[c]))
			c++;
		if (!before(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/* Make the earliest waiting stream the current one; 0 if none is left. */
static int take_next(hvlog_reader *r)
{
	if (!r->nheap)
		return r->hascur = 0;
	if (r->ordered) {
		r->cur = r->heap[0];
		r->heap[0] = r->heap[--r->nheap];
		sift_down(r->heap, r->nheap, 0);
	} else {
		r->cur = r->heap[--r->nheap]; /* filled in reverse */
	}
	return r->hascur = 1;
}

/* The first call: ordered, every stream decodes its first item and the
 * heap is built on them; unordered, the streams are listed (last first,
 * as take_next pops from the end). */
static int start(hvlog_reader *r, hvlog_error *err)
{
	uint32_t ns = r->meta.nstreams;

	r->nheap = 0;
	for (uint32_t i = 0; i < ns; i++) {
		uint32_t s = r->ordered ? i : ns - 1 - i;
		struct rstream *rs = &r->streams[s];
		if (r->ordered) {
			if (!rs->done && advance(r, rs, err) < 0)
				return -1;
			if (rs->has)
				r->heap[r->nheap++] = (struct hent){ rs->item.ts, s };
		} else if (!rs->done) {
			r->heap[r->nheap++] = (struct hent){ 0, s };
		}
	}
	for (uint32_t i = r->nheap / 2; r->ordered && i-- > 0;)
		sift_down(r->heap, r->nheap, i);
	take_next(r);
	return 0;
}

/* Give the current stream an item (its last one went out, or it was just
 * taken) and decide who goes next; at the end, no current stream. */
static inline __attribute__((always_inline)) int fill(hvlog_reader *r, hvlog_error *err)
{
	while (r->hascur) {
		struct rstream *rs = &r->streams[r->cur.s];
		if (rs->has || advance_fast(r, rs) || (!rs->done && advance(r, rs, err) > 0)) {
			r->cur.key = rs->item.ts;
			if (r->ordered && r->nheap && before(&r->heap[0], &r->cur)) {
				struct hent t = r->heap[0];
				r->heap[0] = r->cur;
				r->cur = t;
				sift_down(r->heap, r->nheap, 0);
			}
			return 0;
		}
		if (!rs->done) /* a read error */
			return -1;
		take_next(r);
	}
	return 0;
}

static hvlog_status live_next(hvlog_reader *r, const hvlog_item **item, hvlog_reader_wait *wait, hvlog_error *err);

/* Damage d as the item handed out. */
static const hvlog_item *damage_item(hvlog_reader *r, const struct damage *d)
{
	memcpy(r->out_msg, d->msg, sizeof r->out_msg);
	r->out = (hvlog_item){
		.kind = HVLOG_ITEM_DAMAGE,
		.stream = d->stream,
		.ts = d->ts,
		.offset = d->off,
		.damage = d->kind,
		.damage_len = d->len,
		.damage_events = d->events,
		.chunk_seq = d->seq,
		.damage_msg = r->out_msg,
	};
	return &r->out;
}

/* ---- batches ---------------------------------------------------------------
 *
 * The items hvlog_reader_next would hand out, decoded straight into the
 * caller's array while the current stream's items stay before every other
 * stream's next one and the next damage: one comparison per item with a
 * bound fixed for the run, no call per item.  Whatever does not fit that
 * run (a stream switch, a chunk's last records, control records, damage)
 * goes through hvlog_reader_next itself, so the order is the same by
 * construction.  An event that turns out to belong after another stream's
 * is held as the stream's decoded item (rs->has), as fill() leaves it. */

hvlog_batch *hvlog_batch_new(size_t cap)
{
	hvlog_batch *b;

	if (!cap || cap > ((size_t)1 << 20))
		return NULL;
	if (!(b = calloc(1, sizeof *b)))
		return NULL;
	b->cap = cap;
	b->items = calloc(cap, sizeof *b->items);
	b->values = calloc(cap, HVLOG_MAX_PARAMS * sizeof *b->values);
	if (!b->items || !b->values) {
		hvlog_batch_free(b);
		return NULL;
	}
	return b;
}

void hvlog_batch_free(hvlog_batch *b)
{
	if (!b)
		return;
	free(b->items);
	free(b->values);
	free(b);
}

/* The run of the current stream's events that go out before anything
 * else, into items[*np..cap); vals: where the next event's values go.
 * The current stream's item went out (r->pending) and it holds none. */
static inline __attribute__((always_inline)) uint64_t *batch_run(hvlog_reader *r, hvlog_item *items, size_t *np,
								  size_t cap, uint64_t *vals)
{
	struct rstream *rs = &r->streams[r->cur.s];
	uint64_t lim = UINT64_MAX; /* an event later than lim waits */
	const struct plan *pl;
	/* Few values live in the loop, so that they all stay in registers
	 * (the items written could alias the stream's fields, so those are
	 * read once): the next item's address, the position, the last
	 * position where a record of any size fits, the time, the file
	 * offset of the position's address and the events decoded. */
	hvlog_item *it = items + *np, *const it_end = items + cap;
	const uint8_t *p = rs->p;
	const uintptr_t last = (size_t)(rs->end - p) >= 1 + FAST_MARGIN
				       ? (uintptr_t)(rs->end - (1 + FAST_MARGIN))
				       : 0;
	const uint64_t off = rs->base_off - (uint64_t)(uintptr_t)rs->buf;
	uint64_t ts = rs->ts;
	const uint32_t s = r->cur.s;
	uint32_t decoded = 0;

	if (r->ordered && r->nheap) {
		/* at the time of the earliest other stream's item, the lower
		 * stream number goes first */
		const struct hent *h = &r->heap[0];
		if (s > h->s && !h->key)
			return vals;
		lim = s < h->s ? h->key : h->key - 1;
	}
	if (r->next_damage < r->ndamage && r->damage[r->next_damage].ts <= lim) {
		/* damage goes out before the items of its time */
		if (!r->damage[r->next_damage].ts)
			return vals;
		lim = r->damage[r->next_damage].ts - 1;
	}
	while (it < it_end && (uintptr_t)p <= last && (pl = r->by_tag[*p])) {
		const uint8_t *start = p++;
		enum rec k = decode_event(rs, r, pl, &p, &ts, vals, 0);
		if (k == REC_SKIP) {
			decoded++;
			continue;
		}
		if (HVLOG_UNLIKELY(k == REC_BAD)) {
			rs->ts = ts;
			rs->decoded += decoded;
			r->stats.events += decoded;
			bad_record(r, rs, start);
			*np = (size_t)(it - items);
			return vals;
		}
		decoded++;
		if (HVLOG_UNLIKELY(ts > lim)) {
			memcpy(rs->values, vals, pl->nparams * sizeof *vals);
			rs->ts = ts;
			set_event(rs, pl);
			rs->item.offset = (uint64_t)(uintptr_t)start + off;
			rs->has = 1;
			break;
		}
		it->kind = HVLOG_ITEM_EVENT;
		it->stream = s;
		it->ts = ts;
		it->offset = (uint64_t)(uintptr_t)start + off;
		it->event = pl->ev;
		it->values = vals;
		vals += pl->nparams;
		it++;
	}
	rs->p = p;
	rs->ts = ts;
	rs->decoded += decoded;
	r->stats.events += decoded;
	*np = (size_t)(it - items);
	return vals;
}

/* hvlog_reader_next reads ahead: the run of the current stream's events
 * into the reader's own batch, handed out one by one from there (about a
 * tenth of the cost of decoding each in its call).  Not for a live reader
 * (a run must not wait for the input) nor, unordered, while damage found
 * while indexing waits to go out first. */
static inline __attribute__((always_inline)) int can_run(const hvlog_reader *r)
{
	return r->pending && r->hascur && !r->live && !r->streams[r->cur.s].has &&
	       (r->ordered || r->next_damage == r->ndamage);
}

static int read_ahead(hvlog_reader *r)
{
	size_t n = 0;

	if (!r->ra && !(r->ra = hvlog_batch_new(READ_AHEAD)))
		return 0; /* out of memory: one at a time */
	batch_run(r, r->ra->items, &n, r->ra->cap, r->ra->values);
	r->ra->n = n;
	r->ra_i = 0;
	return n > 0;
}

/* hvlog_reader_next once the items read ahead are out. */
static __attribute__((noinline)) hvlog_status next_slow(hvlog_reader *r, const hvlog_item **item, hvlog_error *err)
{
	struct damage *d;
	struct rstream *rs;

	if (HVLOG_UNLIKELY(r->live != NULL))
		return live_next(r, item, NULL, err);

	if (can_run(r) && read_ahead(r)) {
		*item = &r->ra->items[r->ra_i++];
		return HVLOG_OK;
	}
	if (HVLOG_LIKELY(r->pending)) {
		r->pending = 0;
		if (fill(r, err) < 0)
			return err ? err->status : HVLOG_IO;
	} else if (!r->started) {
		r->started = 1;
		if (start(r, err) < 0 || fill(r, err) < 0)
			return err ? err->status : HVLOG_IO;
	}
	rs = r->hascur ? &r->streams[r->cur.s] : NULL;
	d = r->next_damage < r->ndamage ? &r->damage[r->next_damage] : NULL;
	if (HVLOG_UNLIKELY(d != NULL) && (!rs || !r->ordered || d->ts <= rs->item.ts)) {
		r->next_damage++;
		*item = damage_item(r, d);
		return HVLOG_OK;
	}
	if (!rs)
		return HVLOG_END;
	rs->has = 0;
	r->pending = 1;
	*item = &rs->item;
	return HVLOG_OK;
}

/* Most calls hand out an item read ahead: that path saves no register
 * and makes no call (next_slow is a tail call). */
hvlog_status hvlog_reader_next(hvlog_reader *r, const hvlog_item **item, hvlog_error *err)
{
	if (HVLOG_LIKELY(r->ra && r->ra_i < r->ra->n)) {
		*item = &r->ra->items[r->ra_i++];
		return HVLOG_OK;
	}
	return next_slow(r, item, err);
}

hvlog_status hvlog_reader_next_batch(hvlog_reader *r, hvlog_batch *b, hvlog_error *err)
{
	uint64_t *vals = b->values;
	hvlog_status st = HVLOG_OK;

	b->n = 0;
	while (b->n < b->cap) {
		const hvlog_item *it;

		if (HVLOG_LIKELY(can_run(r) && !(r->ra && r->ra_i < r->ra->n))) {
			vals = batch_run(r, b->items, &b->n, b->cap, vals);
			if (b->n == b->cap)
				break;
		}
		if (r->live && b->n) {
			/* live: hand out what is ready rather than wait to fill */
			hvlog_reader_wait w;
			st = hvlog_reader_try_next(r, &it, &w, err);
			if (st != HVLOG_OK) {
				if (st == HVLOG_AGAIN)
					st = HVLOG_OK;
				break;
			}
		} else if ((st = hvlog_reader_next(r, &it, err)) != HVLOG_OK) {
			break;
		}
		hvlog_item *out = &b->items[b->n++];
		*out = *it;
		if (it->kind == HVLOG_ITEM_EVENT) {
			memcpy(vals, it->values, it->event->nparams * sizeof *vals);
			out->values = vals;
			vals += it->event->nparams;
		} else if (it->kind == HVLOG_ITEM_DAMAGE) {
			break; /* its message lives until the next call on r */
		}
	}
	return st == HVLOG_END && b->n ? HVLOG_OK : st;
}

/* ---- live reading ----------------------------------------------------------
 *
 * A live input (hvlog_reader_options.live / .follow) has no index: live.c
 * frames the chunks as they arrive and queues them per stream.  The merge
 * hands out the earliest item of the streams that hold one once no other
 * stream can still come before it: every other stream either holds an
 * item itself, has shown a later time (its last chunk ended after it), has
 * ended, or has been quiet for longer than the bound of FORMAT.md §6.6.
 * Damage the framing found goes out once the items before it in time did. */

/* 1: an item is ready (r->live_s, or damage if live_s is UINT32_MAX);
 * 0: not yet; 2: the end; -1: a read error (err). */
static int live_ready(hvlog_reader *r, hvlog_error *err)
{
	uint32_t ns = r->meta.nstreams, best = UINT32_MAX, open = 0;
	const struct damage *d;

	for (uint32_t s = 0; s < ns; s++) {
		struct rstream *rs = &r->streams[s];
		if (rs->done) { /* not wanted (hvlog_reader_set_streams) or ended: its chunks are dropped */
			const struct chunk *c;
			const uint8_t *p;
			while (hvlog__live_take(r->live, s, &c, &p) > 0)
				;
			continue;
		}
		if (!rs->has && advance(r, rs, err) < 0)
			return -1;
		if (rs->has && (best == UINT32_MAX || rs->item.ts < r->streams[best].item.ts))
			best = s;
		open += !rs->done;
	}
	d = hvlog__live_damage_peek(r->live);
	if (d && (best == UINT32_MAX || d->ts <= r->streams[best].item.ts)) {
		r->live_s = UINT32_MAX;
		return 1;
	}
	if (best == UINT32_MAX)
		return open ? 0 : 2;
	for (uint32_t s = 0; s < ns; s++) {
		const struct rstream *rs = &r->streams[s];
		uint64_t hw, t = r->streams[best].item.ts;
		if (s == best || rs->done || rs->has)
			continue;
		/* it may still hand out (hw, s) or later: wait if that comes first */
		if (hvlog__live_blocks(r->live, s, best, &hw) && (hw < t || (hw == t && s < best)))
			return 0;
	}
	r->live_s = best;
	return 1;
}

/* Pump until an item is ready or, with wait, until there is nothing to
 * read now.  As live_ready. */
static int live_wait(hvlog_reader *r, hvlog_reader_wait *wait, hvlog_error *err)
{
	for (;;) {
		int k = live_ready(r, err), fd, ms;
		if (k)
			return k;
		hvlog__live_wait(r->live, &fd, &ms);
		if (wait) {
			/* what is there to read now, then once more */
			if (hvlog__live_pump(r->live, 0, err) != HVLOG_OK)
				return -1;
			if ((k = live_ready(r, err)))
				return k;
			hvlog__live_wait(r->live, &wait->fd, &wait->timeout_ms);
			return 0;
		}
		if (r->wait_fn)
			r->wait_fn(r->wait_ctx);
		if (hvlog__live_pump(r->live, ms, err) != HVLOG_OK)
			return -1;
	}
}

static hvlog_status live_next(hvlog_reader *r, const hvlog_item **item, hvlog_reader_wait *wait, hvlog_error *err)
{
	int k = live_wait(r, wait, err);

	if (k < 0)
		return err ? err->status : HVLOG_IO;
	if (k == 0)
		return HVLOG_AGAIN;
	if (k == 2)
		return HVLOG_END;
	if (r->live_s == UINT32_MAX) {
		*item = damage_item(r, hvlog__live_damage_peek(r->live));
		hvlog__live_damage_pop(r->live);
		return HVLOG_OK;
	}
	r->streams[r->live_s].has = 0;
	*item = &r->streams[r->live_s].item;
	return HVLOG_OK;
}

/* The open of a live input: the header and metadata, then, so that the
 * first item's time is known as after an indexed open (relative times
 * count from it), the input until the first item is ready. */
static hvlog_status open_live(hvlog_reader *r, int follow, int *recover, hvlog_error *err)
{
	hvlog_status st = hvlog__live_open(&r->live, r->fd, follow, r->opts->cancel, &r->stats, &r->store, &r->meta,
					   recover, err);

	if (st != HVLOG_OK)
		return st;
	hvlog__live_set_unz(r->live, r->unz);
	if ((st = build_plans(r, 1, err)) != HVLOG_OK || (st = alloc_streams(r, err)) != HVLOG_OK)
		return st;
	for (uint32_t s = 0; s < r->meta.nstreams; s++)
		r->streams[s].item.stream = s;
	r->opts = NULL;
	if (live_wait(r, NULL, err) < 0)
		return err ? err->status : HVLOG_IO;
	if (!(r->refs = malloc(sizeof *r->refs)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	atomic_init(r->refs, 1);
	r->index_stats = r->stats;
	return HVLOG_OK;
}

hvlog_status hvlog_reader_try_next(hvlog_reader *r, const hvlog_item **item, hvlog_reader_wait *wait,
				   hvlog_error *err)
{
	hvlog_reader_wait none;

	if (!r->live)
		return hvlog_reader_next(r, item, err);
	return live_next(r, item, wait ? wait : &none, err);
}

void hvlog_reader_set_wait_hook(hvlog_reader *r, void (*fn)(void *ctx), void *ctx)
{
	r->wait_fn = fn;
	r->wait_ctx = ctx;
}

int hvlog_reader_is_live(const hvlog_reader *r)
{
	return r->live != NULL;
}
