/*
 * live.c - framing a trace as it arrives.
 *
 * The bytes of a pipe (or of a file a writer is still appending to) are
 * read into one buffer as they come.  A chunk is taken out of it once its
 * header and whole payload are there and verified; it then waits in its
 * stream's queue until the merge (reader.c) decodes it.  Nothing that is
 * still arriving is ever judged: a chunk cut short is only damage once the
 * input has ended.  Memory is bounded: the buffer holds at most one chunk
 * beyond what is framed (or, behind a header whose sequence number the
 * input has not reached yet, at most LIVE_MAX_HELD bytes), and the queues
 * at most LIVE_MAX_QUEUED bytes (past that the merge stops waiting for
 * quiet streams, and reading stops until it has taken some).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "decompress.h"
#include "internal.h"
#include "live.h"
#include "wire.h"

#define LIVE_MAX_QUEUED (64u << 20)
#define LIVE_FILE_POLL_MS 20 /* how often a followed file is looked at for more */
#define LIVE_DEFAULT_FLUSH_NS 1000000000u
#define LIVE_MARGIN_NS 100000000u
#define LIVE_MAX_RUNS 64 /* runs of sequence numbers remembered per stream */
/* A duplicate is weighed against an earlier copy still queued at most
 * this many entries back in its stream's queue (a file of many copies
 * costs a bounded amount per chunk). */
#define LIVE_DUP_LOOKBACK 4
/* A header whose sequence number is above the bytes read so far waits for
 * the input to reach it (the file reader judges it by the file's size);
 * at most this many bytes are held for it, counted from the header. */
#define LIVE_MAX_HELD LIVE_MAX_QUEUED

struct lq {
	struct chunk c;
	uint8_t *p;
	uint64_t arrived_ns;   /* when it was framed */
	int crc;               /* its payload matches its checksum: 1, 0, -1 not known yet */
};

/* Sequence numbers [lo, hi) of a stream's chunks taken. */
struct seqrun {
	uint64_t lo, hi;
};

struct lstream {
	struct lq *q;          /* ring of cap entries (a power of two) */
	size_t head, n, cap;
	struct chunk cur;      /* the chunk last taken */
	uint8_t *curp;
	uint64_t cur_arrived_ns;
	uint64_t hw;           /* the last time seen (a chunk's last_ts) */
	uint64_t expect;       /* the sequence number after the last chunk taken */
	struct seqrun *runs;   /* the numbers taken, in order, at most LIVE_MAX_RUNS (the lowest merged) */
	size_t nruns;
	uint64_t end_off;      /* where its last chunk ended */
	uint64_t progress_ns;  /* when its time last moved on */
	int any, final;        /* its last chunk taken has FINAL */
	/* A chunk above a gap is kept back (held) until the stream's next
	 * chunk, which says whether the gap is one (a number after it) or
	 * its number lies (numbers below it: the file reader puts it after
	 * them), or the stream ends, or it waited as long as a quiet stream
	 * is waited for. */
	struct lq held;
	uint64_t held_first_ts;
	int has_held;
	/* the chunk with the highest number taken: the end of the stream in
	 * sequence order, as the file reader judges it */
	uint64_t top_ts, top_end, top_next;
	int top_final;
};

struct hvlog__live {
	int fd;
	int follow;            /* a regular file: wait at its end */
	int eof;               /* the input ended (pipe closed) */
	int closed;            /* the input is taken as ended at the writer's closing record (a followed file) */
	int at_close;          /* the last thing framed was a closing record (trailer, last metadata copy) */
	uint64_t trailer_at;   /* where a valid trailer just framed starts; UINT64_MAX: none */
	int finished;          /* the end was framed: leftovers and unclosed streams reported */
	int shrunk;            /* a followed file is now shorter than what was read of it */
	const volatile int *cancel; /* hvlog_reader_options.cancel */
	uint8_t *buf;
	size_t cap, lo, hi;    /* bytes [lo, hi) not framed yet */
	uint64_t base;         /* file offset of buf[0] */
	uint64_t skip_from;    /* start of bytes being skipped (no valid header); UINT64_MAX: none */
	uint64_t skip_unheld;  /* the seq of a header in them judged before the input reached it; UINT64_MAX: none */
	int held;              /* framing waits for the input to reach the seq of the header at lo */
	int end_known;         /* a followed file ends where its bytes end (it holds the writer's closing record) */
	uint64_t ts_hint;      /* last chunk's time, for damage between chunks */
	uint64_t quiet_ns;
	uint64_t since_ns;     /* when the item the merge last waited with arrived */
	uint64_t queued;       /* payload bytes in the queues */
	uint32_t ord;
	uint32_t schema_fp;
	uint32_t meta_len, meta_crc; /* the metadata block in use */
	uint32_t nstreams;
	struct lstream *s;
	struct foreign fr;     /* a run of chunks of another schema, not reported yet */
	struct damage *dmg;
	size_t ndmg, capdmg, nextdmg;
	hvlog_reader_stats *st;
	struct hvlog__unz *unz; /* a compressed input's decompressor, or NULL */
	int nomem;             /* out of memory where it could not be said: the next pump says it */
	uint32_t nheld;        /* streams holding a chunk back */
	uint64_t proved;       /* payload bytes checksummed while framing (prove) */
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int add_damage(hvlog__live *l, hvlog_status kind, uint64_t ts, uint64_t off, uint64_t len, uint32_t stream,
		      uint64_t seq, uint64_t events, const char *fmt, ...) HVLOG_PRINTF(9, 10);

static int push_damage(hvlog__live *l, const struct damage *d);

static int add_damage(hvlog__live *l, hvlog_status kind, uint64_t ts, uint64_t off, uint64_t len, uint32_t stream,
		      uint64_t seq, uint64_t events, const char *fmt, ...)
{
	struct damage d = { ts, off, len, events, seq, stream, kind, 0, "" };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d.msg, sizeof d.msg, fmt, ap);
	va_end(ap);
	return push_damage(l, &d);
}

/* The run of chunks of another schema, if any, as damage. */
static int flush_foreign(hvlog__live *l)
{
	struct damage d;

	return hvlog__foreign_damage(&l->fr, l->schema_fp, &d) ? push_damage(l, &d) : 0;
}

static int push_damage(hvlog__live *l, const struct damage *d)
{
	uint64_t len = d->len;

	if (l->nextdmg && l->nextdmg == l->ndmg)
		l->nextdmg = l->ndmg = 0;
	if (hvlog__damage_push(&l->dmg, &l->ndmg, &l->capdmg, d))
		return -1;
	/* the damage not handed out yet stays in time order, then file
	 * order, as the file reader sorts it */
	for (size_t i = l->ndmg - 1; i > l->nextdmg; i--) {
		struct damage *a = &l->dmg[i - 1], *b = &l->dmg[i], t;
		if (a->ts < b->ts || (a->ts == b->ts && a->off <= b->off))
			break;
		t = *a, *a = *b, *b = t;
	}
	l->st->damaged_regions++;
	l->st->damaged_bytes += len;
	return 0;
}

/* Read once into the buffer (at most wait_ms for data: 0 not at all, -1
 * without limit): 1 if bytes came, 0 if none (l->eof at the end of a
 * pipe), -1 on an error (errno). */
static int fill(hvlog__live *l, int wait_ms, size_t want)
{
	struct pollfd pfd = { l->fd, POLLIN, 0 };
	ssize_t n;

	if (l->eof)
		return 0;
	if (l->lo && l->lo == l->hi)
		l->base += l->lo, l->lo = l->hi = 0;
	if (l->lo > l->cap / 2) {
		memmove(l->buf, l->buf + l->lo, l->hi - l->lo);
		l->base += l->lo;
		l->hi -= l->lo;
		l->lo = 0;
	}
	if (want < 1 << 16)
		want = 1 << 16;
	if (l->cap - l->hi < want) {
		size_t nc = l->cap ? l->cap : 1 << 17;
		while (nc - l->hi < want)
			nc *= 2;
		uint8_t *nb = realloc(l->buf, nc);
		if (!nb) {
			errno = ENOMEM;
			return -1;
		}
		l->buf = nb;
		l->cap = nc;
	}
	if (!l->follow) {
		int k = poll(&pfd, 1, wait_ms);
		if (k < 0)
			return errno == EINTR ? 0 : -1; /* (a signal: the caller looks at cancel) */
		if (k == 0)
			return 0;
	}
	while ((n = read(l->fd, l->buf + l->hi, l->cap - l->hi)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		struct stat st;
		if (!l->follow) {
			l->eof = 1;
		} else if (fstat(l->fd, &st) == 0 && (uint64_t)st.st_size < l->base + l->hi) {
			l->shrunk = 1; /* truncated under the reader: what follows is not this trace */
			errno = 0;
			return -1;
		} else if (wait_ms) {
			int ms = wait_ms < 0 || wait_ms > LIVE_FILE_POLL_MS ? LIVE_FILE_POLL_MS : wait_ms;
			struct timespec t = { 0, (long)ms * 1000000L };
			nanosleep(&t, NULL);
		}
		return 0;
	}
	l->hi += (size_t)n;
	l->st->file_size += (uint64_t)n;
	return 1;
}

/* A read error, or a followed file that shrank (copytruncate rotation):
 * the status, err set. */
static hvlog_status read_failed(hvlog__live *l, hvlog_error *err)
{
	int e = errno;
	hvlog_status st;

	if (l->shrunk)
		return hvlog__fail(err, HVLOG_IO, l->base + l->hi,
				   "the followed file was truncated under the reader at offset %llu (rotated?); "
				   "what is written there now is another trace: read it on its own",
				   (unsigned long long)(l->base + l->hi));
	st = hvlog__fail(err, e == ENOMEM ? HVLOG_NOMEM : HVLOG_IO, l->base + l->hi, "read error: %s", strerror(e));
	if (err)
		err->sys_errno = e;
	return st;
}

/* Fill until `need` bytes wait to be framed, or the input ends; the
 * magic is checked on the first bytes as they come.  -1 on an error. */
static int fill_to(hvlog__live *l, size_t need, hvlog_error *err)
{
	while (l->hi - l->lo < need && !l->eof) {
		if (l->cancel && *l->cancel) {
			hvlog__fail(err, HVLOG_IO, l->base + l->hi, "interrupted");
			return -1;
		}
		if (fill(l, -1, need - (l->hi - l->lo)) < 0) {
			read_failed(l, err);
			return -1;
		}
		if (l->base == 0 && l->lo == 0) {
			size_t k = l->hi < 8 ? l->hi : 8;
			if (!wire_magic_near(l->buf, (unsigned)k)) {
				hvlog__fail(err, HVLOG_MALFORMED, 0, "not an hvlog trace (bad magic)");
				return -1;
			}
		}
	}
	return 0;
}

hvlog_status hvlog__live_open(hvlog__live **out, int fd, int follow, const volatile int *cancel, hvlog_reader_stats *st,
			      struct hvlog__meta_store **store, hvlog_meta *meta, int *recover, hvlog_error *err)
{
	hvlog__live *l = calloc(1, sizeof *l);
	uint32_t meta_len, meta_crc;
	hvlog_status s;
	int fatal = 1;

	*out = NULL;
	*recover = 0;
	if (!l)
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	l->fd = fd;
	l->follow = follow;
	l->cancel = cancel;
	l->st = st;
	l->skip_from = UINT64_MAX;
	l->skip_unheld = UINT64_MAX;
	l->trailer_at = UINT64_MAX;
	if (fill_to(l, WIRE_FILE_HEADER_SIZE, err)) {
		hvlog__live_free(l);
		return err ? err->status : HVLOG_IO;
	}
	s = hvlog__file_header(l->buf, l->hi, &meta->version_major, &meta->version_minor, &meta_len, &meta_crc,
			       &fatal, err);
	if (s == HVLOG_OK && meta_len > WIRE_MAX_META) {
		fatal = 1;
		s = hvlog__fail(err, HVLOG_LIMIT, WIRE_FH_META_LEN, "metadata of %u bytes exceeds the %u-byte cap",
				meta_len, WIRE_MAX_META);
	}
	if (s == HVLOG_OK && fill_to(l, WIRE_FILE_HEADER_SIZE + (size_t)meta_len, err))
		s = err ? err->status : HVLOG_IO;
	if (s == HVLOG_OK && l->hi < WIRE_FILE_HEADER_SIZE + (size_t)meta_len)
		s = hvlog__fail(err, HVLOG_TRUNCATED, l->hi,
				"file truncated inside the metadata (%u bytes expected, %zu present)", meta_len,
				l->hi - WIRE_FILE_HEADER_SIZE);
	if (s == HVLOG_OK && meta_crc != hvlog_crc32c(0, l->buf + WIRE_FILE_HEADER_SIZE, meta_len))
		s = hvlog__fail(err, HVLOG_CHECKSUM, WIRE_FILE_HEADER_SIZE, "metadata checksum mismatch");
	if (s == HVLOG_OK) {
		uint16_t major = meta->version_major, minor = meta->version_minor;
		s = hvlog__meta_decode(l->buf + WIRE_FILE_HEADER_SIZE, meta_len, WIRE_FILE_HEADER_SIZE, store, meta, err);
		meta->version_major = major;
		meta->version_minor = minor;
	}
	if (s == HVLOG_OK && !(l->s = calloc(meta->nstreams ? meta->nstreams : 1, sizeof *l->s))) {
		fatal = 1;
		s = hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	}
	if (s != HVLOG_OK) {
		if (!fatal && s != HVLOG_IO && s != HVLOG_NOMEM && !(l->cancel && *l->cancel)) {
			*recover = 1;
			*out = l;
		} else {
			hvlog__live_free(l);
		}
		return s;
	}
	meta->data_offset = WIRE_FILE_HEADER_SIZE + (uint64_t)meta_len;
	meta->source = 0;
	l->lo = (size_t)meta->data_offset;
	l->nstreams = meta->nstreams;
	l->schema_fp = meta->schema_fp;
	l->meta_len = meta_len;
	l->meta_crc = meta_crc;
	l->quiet_ns = 2 * (meta->flush_interval_ns ? meta->flush_interval_ns : LIVE_DEFAULT_FLUSH_NS) + LIVE_MARGIN_NS;
	uint64_t t = now_ns();
	for (uint32_t i = 0; i < l->nstreams; i++)
		l->s[i].progress_ns = t;
	*out = l;
	return HVLOG_OK;
}

void hvlog__live_buffered(const hvlog__live *l, const uint8_t **p, size_t *n)
{
	*p = l->buf;
	*n = l->hi;
}

void hvlog__live_free(hvlog__live *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; l->s && i < l->nstreams; i++) {
		struct lstream *ls = &l->s[i];
		for (size_t k = 0; k < ls->n; k++)
			free(ls->q[(ls->head + k) & (ls->cap - 1)].p);
		free(ls->q);
		free(ls->curp);
		free(ls->runs);
		if (ls->has_held)
			free(ls->held.p);
	}
	free(l->s);
	free(l->buf);
	free(l->dmg);
	free(l);
}

/* The bytes skipped since skip_from end at `to`. */
static int end_skip(hvlog__live *l, uint64_t to)
{
	uint64_t from = l->skip_from, n = to - from, seq = l->skip_unheld;
	int at_end = l->eof && to == l->base + l->hi;
	char why[80] = "";

	if (from == UINT64_MAX)
		return 0;
	l->skip_from = UINT64_MAX;
	l->skip_unheld = UINT64_MAX;
	if (flush_foreign(l))
		return -1;
	/* not what the file reader would say, if the file is that long: the
	 * reader would have had to hold more than it may to find out */
	if (seq != UINT64_MAX)
		snprintf(why, sizeof why, " (sequence number %" PRIu64 " too far ahead to wait for)", seq);
	return add_damage(l, at_end ? HVLOG_TRUNCATED : HVLOG_MALFORMED, l->ts_hint, from, n, UINT32_MAX, UINT64_MAX, 0,
			  "no valid chunk header: %" PRIu64 " bytes skipped%s%s", n, at_end ? " to the end of the file" : "",
			  why);
}

/* The first of ls's runs that ends after seq (ls->nruns if none). */
static size_t run_after(const struct lstream *ls, uint64_t seq)
{
	size_t a = 0, b = ls->nruns;

	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (ls->runs[m].hi > seq)
			b = m;
		else
			a = m + 1;
	}
	return a;
}

/* Whether ls took chunk seq already (as far as its runs remember). */
static int taken(const struct lstream *ls, uint64_t seq)
{
	size_t i = run_after(ls, seq);

	return i < ls->nruns && ls->runs[i].lo <= seq;
}

/* Remember that ls took chunk seq, not among its runs; i = run_after(seq).
 * -1: out of memory. */
static int run_add(struct lstream *ls, size_t i, uint64_t seq)
{
	struct seqrun *r = ls->runs;

	if (i && r[i - 1].hi == seq) {
		r[i - 1].hi++;
		if (i < ls->nruns && r[i].lo == seq + 1) { /* the two runs meet */
			r[i - 1].hi = r[i].hi;
			memmove(r + i, r + i + 1, (ls->nruns - i - 1) * sizeof *r);
			ls->nruns--;
		}
		return 0;
	}
	if (i < ls->nruns && r[i].lo == seq + 1) {
		r[i].lo = seq;
		return 0;
	}
	if (!r && !(r = ls->runs = malloc(LIVE_MAX_RUNS * sizeof *r)))
		return -1;
	/* Bounded: the two lowest runs become one, the numbers between them
	 * taken as taken (a chunk of them that comes later is refused as a
	 * duplicate, rather than a duplicate decoded twice).  So a stream's
	 * runs cost at most LIVE_MAX_RUNS entries. */
	if (ls->nruns == LIVE_MAX_RUNS) {
		if (!i) { /* below them all: the lowest run reaches down to it */
			r[0].lo = seq;
			return 0;
		}
		r[0].hi = r[1].hi;
		memmove(r + 1, r + 2, (ls->nruns - 2) * sizeof *r);
		ls->nruns--;
		if (i == 1) /* (it lay between the two) */
			return 0;
		i--;
	}
	memmove(r + i + 1, r + i, (ls->nruns - i) * sizeof *r);
	r[i] = (struct seqrun){ seq, seq + 1 };
	ls->nruns++;
	return 0;
}

/* Whether the payload of queue entry e matches its checksum (computed once). */
static int entry_crc(struct lq *e)
{
	if (e->crc < 0)
		e->crc = hvlog_crc32c(0, e->p, e->c.len) == e->c.payload_crc;
	return e->crc;
}

/* Damage not handed out yet that take() said of the chunk at off of
 * stream s (a gap, or times that disagree): withdrawn when that chunk is
 * dropped for a better copy, so that it is said once, of the copy kept. */
static void withdraw(hvlog__live *l, uint64_t off, uint32_t s)
{
	size_t k = l->nextdmg, w = l->nextdmg;

	for (; k < l->ndmg; k++) {
		struct damage *d = &l->dmg[k];
		if (d->off == off && d->stream == s && d->len == 0 && d->kind == HVLOG_MALFORMED) {
			l->st->damaged_regions--;
			continue;
		}
		l->dmg[w++] = *d;
	}
	l->ndmg = w;
}

/* How much a copy is to be believed, as the file reader weighs copies:
 * its payload verifies, then its start continues the chunk before it,
 * then the chunk after it continues its end, then more events. */
static uint64_t copy_score(int crc, const struct chunk *c, const struct chunk *prev, const struct chunk *after)
{
	uint64_t sc = crc != 0;

	sc = sc << 1 | (prev && prev->seq + 1 == c->seq && prev->last_ts == c->base_ts);
	sc = sc << 1 | (after && after->seq == c->seq + 1 && after->base_ts == c->last_ts);
	return sc << 32 | c->nevents;
}

/* A chunk c whose number ls took already: if the earlier copy is still
 * queued (not decoded yet), the two are weighed as the file reader
 * weighs them and the better is kept in the queue, the other reported in
 * the file reader's words.  1 if c was dealt with so, 0 if not (the
 * earlier copy is gone: c is the duplicate), -1: out of memory.  `own`
 * is c's payload if malloc'd (then the queue's or freed). */
static int better_copy(hvlog__live *l, struct lstream *ls, const struct chunk *c, const uint8_t *payload,
		       uint8_t *own)
{
	size_t k, j = ls->n;

	for (k = 0; k < ls->n && k < LIVE_DUP_LOOKBACK; k++) {
		j = ls->n - 1 - k;
		if (ls->q[(ls->head + j) & (ls->cap - 1)].c.seq == c->seq)
			break;
	}
	if (k == ls->n || k == LIVE_DUP_LOOKBACK)
		return 0;
	struct lq *e = &ls->q[(ls->head + j) & (ls->cap - 1)];
	/* (cur_arrived_ns: a chunk was handed to the decoder) */
	const struct chunk *prev = j ? &ls->q[(ls->head + j - 1) & (ls->cap - 1)].c
				     : ls->cur_arrived_ns ? &ls->cur : NULL;
	const struct chunk *after = j + 1 < ls->n ? &ls->q[(ls->head + j + 1) & (ls->cap - 1)].c : NULL;
	int crc = hvlog_crc32c(0, payload, c->len) == c->payload_crc;
	uint64_t sold = copy_score(entry_crc(e), &e->c, prev, after), snew = copy_score(crc, c, prev, after);
	const struct chunk *drop = c, *kept = &e->c;
	struct chunk gone;
	if (snew > sold) {
		uint8_t *p = own;
		if (!p && c->len) {
			if (!(p = malloc(c->len)))
				return -1;
			memcpy(p, payload, c->len);
		}
		gone = e->c;
		withdraw(l, gone.off, gone.stream);
		free(e->p);
		l->queued += c->len;
		l->queued -= gone.len;
		uint32_t ord = e->c.ord;
		e->c = *c;
		e->c.ord = ord;
		e->p = p;
		e->crc = crc;
		own = NULL;
		drop = &gone;
		kept = &e->c;
		if (j + 1 == ls->n) { /* it is the stream's last: its end is the new copy's */
			ls->hw = c->last_ts;
			ls->end_off = c->off + HVLOG_CHUNK_HEADER_SIZE + c->len;
			ls->final = (c->flags & WIRE_CHUNK_FINAL) != 0;
		}
		if (ls->top_next == c->seq + 1) {
			ls->top_ts = c->last_ts;
			ls->top_end = c->off + HVLOG_CHUNK_HEADER_SIZE + c->len;
			ls->top_final = (c->flags & WIRE_CHUNK_FINAL) != 0;
		}
		if (prev && prev->seq + 1 == c->seq && c->base_ts != prev->last_ts &&
		    add_damage(l, HVLOG_MALFORMED, c->base_ts < prev->last_ts ? c->base_ts : prev->last_ts, c->off, 0,
			       c->stream, c->seq, 0,
			       "chunk %" PRIu64 " of stream %u starts at %" PRIu64 " but chunk %" PRIu64
			       " ended at %" PRIu64 ": a header's time is damaged",
			       c->seq, c->stream, c->base_ts, c->seq - 1, prev->last_ts))
			return -1;
	}
	free(own);
	uint64_t lost = (snew > sold ? snew : sold) >> 32 & ~((snew > sold ? sold : snew) >> 32);
	const char *why = lost & 4 ? "its payload fails its checksum"
			  : lost & 2 ? "its start time disagrees with the end of the chunk before it"
			  : lost & 1 ? "its end time disagrees with the start of the chunk after it"
				     : NULL;
	int same = drop->len == kept->len && drop->payload_crc == kept->payload_crc && drop->nevents == kept->nevents;
	return add_damage(l, HVLOG_MALFORMED, drop->base_ts, drop->off, HVLOG_CHUNK_HEADER_SIZE + drop->len, drop->stream,
			  drop->seq, same ? 0 : drop->nevents, "duplicate chunk %" PRIu64 " of stream %u ignored%s%s",
			  drop->seq, drop->stream, why ? ": " : same ? "" : " (it differs from the copy kept)",
			  why ? why : "") ? -1 : 1;
}

/* A chunk of stream c->stream, checked against the stream's chunks taken
 * before it, then queued.  A chunk whose number was taken already is a
 * duplicate; any other is kept, even one that comes after a higher number
 * (a damaged number, or chunks out of order), so that one lying header
 * costs no intact chunk after it.  The payload is `own` (malloc'd, now the
 * queue's) or else copied from `payload`; arrived_ns: when it was framed.
 * -1: out of memory. */
static int take(hvlog__live *l, const struct chunk *c0, uint64_t first_ts, const uint8_t *payload, uint8_t *own,
		uint64_t arrived_ns)
{
	struct chunk c = *c0;
	struct lstream *ls = &l->s[c.stream];
	int oom = 0;

	size_t ri = run_after(ls, c.seq);
	if (taken(ls, c.seq)) {
		int r = better_copy(l, ls, &c, payload ? payload : own, own);
		if (r)
			return r < 0 ? -1 : 0;
		free(own);
		return add_damage(l, HVLOG_MALFORMED, c.base_ts, c.off, HVLOG_CHUNK_HEADER_SIZE + c.len, c.stream, c.seq,
				  0, "duplicate chunk %" PRIu64 " of stream %u ignored", c.seq, c.stream);
	}
	int top = ri == ls->nruns;
	/* the chunks missing below this one: after the highest number taken
	 * below it */
	uint64_t from = ri ? ls->runs[ri - 1].hi : 0;
	if (ls->final)
		oom |= add_damage(l, HVLOG_MALFORMED, c.base_ts, c.off, 0, c.stream, c.seq, 0,
				  "stream %u has chunks after its final chunk %" PRIu64, c.stream, ls->expect - 1);
	if (c.seq != from)
		oom |= add_damage(l, HVLOG_MALFORMED, ls->hw, c.off, 0, c.stream, from, 0,
				  "chunks %" PRIu64 "..%" PRIu64 " of stream %u are missing", from, c.seq - 1, c.stream);
	else if (ls->any && c.seq == ls->expect && c.base_ts != ls->hw)
		oom |= add_damage(l, HVLOG_MALFORMED, c.base_ts < ls->hw ? c.base_ts : ls->hw, c.off, 0, c.stream, c.seq,
				  0, "chunk %" PRIu64 " of stream %u starts at %" PRIu64 " but chunk %" PRIu64
				  " ended at %" PRIu64 ": a header's time is damaged",
				  c.seq, c.stream, c.base_ts, c.seq - 1, ls->hw);
	if (run_add(ls, ri, c.seq)) {
		free(own);
		return -1;
	}
	if (ls->n == ls->cap) {
		size_t nc = ls->cap ? 2 * ls->cap : 8;
		struct lq *nq = malloc(nc * sizeof *nq);
		if (!nq) {
			free(own);
			return -1;
		}
		for (size_t k = 0; k < ls->n; k++)
			nq[k] = ls->q[(ls->head + k) & (ls->cap - 1)];
		free(ls->q);
		ls->q = nq;
		ls->cap = nc;
		ls->head = 0;
	}
	struct lq *e = &ls->q[(ls->head + ls->n) & (ls->cap - 1)];
	e->p = own;
	if (!own && c.len) {
		if (!(e->p = malloc(c.len)))
			return -1;
		memcpy(e->p, payload, c.len);
	}
	c.ord = l->ord++;
	e->c = c;
	e->arrived_ns = arrived_ns;
	e->crc = -1;
	ls->n++;
	l->queued += c.len;
	if (c.nevents) {
		if (first_ts < l->st->first_ts || !l->st->chunks_indexed)
			l->st->first_ts = first_ts;
		if (c.last_ts > l->st->last_ts)
			l->st->last_ts = c.last_ts;
		l->st->chunks_indexed++;
	}
	if (!ls->any || c.last_ts > ls->hw || c.nevents)
		ls->progress_ns = now_ns();
	ls->hw = c.last_ts;
	ls->any = 1;
	ls->expect = c.seq + 1;
	ls->end_off = c.off + HVLOG_CHUNK_HEADER_SIZE + c.len;
	/* only the chunk right after a final one is reported (as the file
	 * reader does), and a stream goes on being waited for once a chunk
	 * without FINAL follows it: that FINAL was damage */
	ls->final = (c.flags & WIRE_CHUNK_FINAL) != 0;
	if (top) {
		ls->top_ts = c.last_ts;
		ls->top_end = ls->end_off;
		ls->top_next = c.seq + 1;
		ls->top_final = (c.flags & WIRE_CHUNK_FINAL) != 0;
	}
	return oom;
}

/* The chunk ls holds back, taken now.  -1: out of memory. */
static int release(hvlog__live *l, struct lstream *ls)
{
	if (!ls->has_held)
		return 0;
	ls->has_held = 0;
	l->nheld--;
	l->queued -= ls->held.c.len;
	return take(l, &ls->held.c, ls->held_first_ts, NULL, ls->held.p, ls->held.arrived_ns);
}

/* When the chunk ls holds back stops waiting: once no chunk of its stream
 * has come for as long as a quiet stream is waited for (§6.6). */
static uint64_t held_due(const hvlog__live *l, const struct lstream *ls)
{
	uint64_t t = ls->progress_ns > ls->held.arrived_ns ? ls->progress_ns : ls->held.arrived_ns;

	return t + l->quiet_ns;
}

/* The chunk ls holds back, taken if it waited long enough (held_due), or
 * the queues are full.  -1: out of memory. */
static int release_due(hvlog__live *l, struct lstream *ls, uint64_t now)
{
	if (!ls->has_held || (now <= held_due(l, ls) && l->queued < LIVE_MAX_QUEUED && !l->finished))
		return 0;
	return release(l, ls);
}

/* A verified chunk, as it arrives: a metadata copy is checked, a chunk of
 * another schema noted, any other taken (take), or held back when it
 * is above a gap: whether the chunks of the gap are missing, or its own
 * number lies, is known only from the chunks of its stream that come
 * after it; the file reader, which sees them all, puts a chunk whose
 * number lies after the chunks below it, and words the gap from the
 * highest of those.  -1: out of memory. */
static int accept(hvlog__live *l, const struct chunk *c0, const uint8_t *h)
{
	struct chunk c = *c0;
	struct lstream *ls = &l->s[c.stream];
	uint32_t fp = wire_get32(h + WIRE_CH_META_FP);
	uint64_t first_ts = wire_get64(h + WIRE_CH_FIRST_TS);
	const uint8_t *payload = h + HVLOG_CHUNK_HEADER_SIZE;
	int oom = 0;

	if (c.flags & WIRE_CHUNK_META) { /* a metadata copy, checked as the file reader checks it */
		l->at_close = (c.flags & WIRE_CHUNK_FINAL) != 0;
		if (hvlog_crc32c(0, payload, c.len) != c.payload_crc)
			return add_damage(l, HVLOG_CHECKSUM, l->ts_hint, c.off, HVLOG_CHUNK_HEADER_SIZE + c.len, UINT32_MAX,
					  UINT64_MAX, 0, "metadata copy %" PRIu64 " is damaged (checksum mismatch)", c.seq);
		if (c.len != l->meta_len || c.payload_crc != l->meta_crc || fp != l->schema_fp)
			return add_damage(l, HVLOG_MALFORMED, l->ts_hint, c.off, HVLOG_CHUNK_HEADER_SIZE + c.len, UINT32_MAX,
					  UINT64_MAX, 0, "metadata copy %" PRIu64 " differs from the metadata in use", c.seq);
		return 0;
	}
	l->at_close = 0;
	if (fp != l->schema_fp && fp) {
		if (l->fr.chunks && (l->fr.end != c.off || l->fr.fp != fp))
			oom |= flush_foreign(l);
		hvlog__foreign_add(&l->fr, &c, fp);
		return oom;
	}
	oom |= flush_foreign(l);
	if (ls->has_held) {
		/* a number at or above the held one: it goes first; below it:
		 * it stays held, unless the stream ends here */
		if (c.seq >= ls->held.c.seq)
			oom |= release(l, ls);
		if (!taken(ls, c.seq))
			l->ts_hint = c.last_ts;
		oom |= take(l, &c, first_ts, payload, NULL, now_ns());
		if (ls->has_held && (c.flags & WIRE_CHUNK_FINAL))
			oom |= release(l, ls);
		return oom;
	}
	if (!taken(ls, c.seq))
		l->ts_hint = c.last_ts; /* (that of a duplicate is not) */
	size_t ri = run_after(ls, c.seq);
	uint64_t from = ri ? ls->runs[ri - 1].hi : 0;
	if (ri == ls->nruns && c.seq != from && !ls->final && !(c.flags & WIRE_CHUNK_FINAL) &&
	    l->queued + c.len <= LIVE_MAX_QUEUED) {
		struct lq *e = &ls->held;
		e->p = NULL;
		if (c.len && !(e->p = malloc(c.len)))
			return -1;
		if (c.len)
			memcpy(e->p, payload, c.len);
		e->c = c;
		e->arrived_ns = now_ns();
		ls->held_first_ts = first_ts;
		ls->has_held = 1;
		l->nheld++;
		l->queued += c.len;
		return oom;
	}
	return oom | take(l, &c, first_ts, payload, NULL, now_ns());
}

/* The input has ended: what is left unframed, and the streams the writer
 * did not close, are damage (as the file reader reports them). */
static int finish(hvlog__live *l)
{
	uint64_t at = l->base + l->lo, left = l->hi - l->lo, size = l->base + l->hi;
	int oom = 0;

	l->finished = 1;
	oom |= flush_foreign(l);
	for (uint32_t s = 0; s < l->nstreams; s++)
		oom |= release(l, &l->s[s]);
	if (l->closed)
		left = 0;
	if (l->skip_from != UINT64_MAX) {
		oom |= end_skip(l, size);
	} else if (left && left < HVLOG_CHUNK_HEADER_SIZE) {
		oom |= add_damage(l, HVLOG_TRUNCATED, l->ts_hint, at, left, UINT32_MAX, UINT64_MAX, 0,
				  "file truncated: %" PRIu64 " bytes of a chunk header", left);
	} else if (left) { /* a valid header whose chunk the end cut (framing stopped there) */
		struct chunk c;
		uint64_t first_ts;
		hvlog__chunk_header(l->buf + l->lo, l->nstreams, size, &c, &first_ts, at);
		if (c.flags & WIRE_CHUNK_META)
			oom |= add_damage(l, HVLOG_TRUNCATED, l->ts_hint, at, left, UINT32_MAX, UINT64_MAX, 0,
					  "file truncated at offset %" PRIu64 " inside a copy of the metadata "
					  "(no events lost)", size);
		else
			oom |= add_damage(l, HVLOG_TRUNCATED, c.base_ts, at, left, c.stream, c.seq, c.nevents,
					  "file truncated at offset %" PRIu64 ": %" PRIu64
					  " bytes of a chunk lost (stream %u, chunk %" PRIu64 ", %u events)",
					  size, c.len - (left - HVLOG_CHUNK_HEADER_SIZE), c.stream, c.seq, c.nevents);
	}
	/* Consecutive streams without chunks are one item, as the file
	 * reader reports them (a damaged stream id can make most of a
	 * fallback schema's streams such); one stream keeps its wording. */
	uint32_t none = UINT32_MAX;
	for (uint32_t s = 0; s <= l->nstreams; s++) {
		struct lstream *ls = s < l->nstreams ? &l->s[s] : NULL;
		if (ls && !ls->any) {
			if (none == UINT32_MAX)
				none = s;
			continue;
		}
		if (none != UINT32_MAX && none + 1 == s)
			oom |= add_damage(l, HVLOG_TRUNCATED, 0, size, 0, none, 0, 0,
					  "stream %u has no chunks: all its events are lost", none);
		else if (none != UINT32_MAX)
			oom |= add_damage(l, HVLOG_TRUNCATED, 0, size, 0, none, 0, 0,
					  "streams %u..%u have no chunks: all their events are lost", none, s - 1);
		none = UINT32_MAX;
		if (ls && !ls->top_final) /* (its highest number ends it, as in the file reader) */
			oom |= add_damage(l, HVLOG_TRUNCATED, ls->top_ts, ls->top_end, 0, s, ls->top_next, 0,
					  "stream %u ends without its final chunk (the producer did not close the "
					  "trace; later events of this stream are lost)",
					  s);
	}
	/* a decompressor stopped early: at the end of the data, one tick after
	 * its last event, as the file reader places it */
	const char *msg;
	hvlog_status us = l->unz ? hvlog__unz_result(l->unz, &msg) : HVLOG_OK;
	if (us != HVLOG_OK) {
		uint64_t last = 0;
		for (uint32_t s = 0; s < l->nstreams; s++)
			if (l->s[s].any && l->s[s].hw > last)
				last = l->s[s].hw;
		oom |= add_damage(l, us, last + (last < UINT64_MAX), size, 0, UINT32_MAX, UINT64_MAX, 0, "%s", msg);
	}
	return oom;
}

void hvlog__live_set_unz(hvlog__live *l, struct hvlog__unz *u)
{
	l->unz = u;
}

/* Where the next chunk marker or trailer after p's first byte starts
 * (avail - 7 or more: none in the avail bytes). */
static size_t next_marker(const uint8_t *p, size_t avail)
{
	size_t k = 1;
	for (; k + 8 <= avail; k++)
		if (p[k] == 0xc3 ? !memcmp(p + k, WIRE_CHUNK_SYNC, 8)
				 : p[k] == 0x89 && !memcmp(p + k, WIRE_TRAILER_MAGIC, 8))
			break;
	return k;
}

/* Whether the len bytes at p have checksum crc.  Past a budget of 4 x
 * the bytes read + 64 MiB (that of the file reader's index, §6.2), a
 * payload is believed unread, as the file reader believes it there: else
 * forged headers, each claiming 16 MiB, would cost 16 MiB of checksum
 * each; so framing is linear in the input.  The decoder still checks a
 * payload so believed. */
static int prove(hvlog__live *l, const uint8_t *p, uint32_t len, uint32_t crc)
{
	uint64_t budget = 4 * (l->base + l->hi) + (64u << 20);

	if (l->proved + len > budget)
		return 1;
	l->proved += len;
	return hvlog_crc32c(0, p, len) == crc;
}

/* Frame what the buffer holds.  -1: out of memory. */
static int frame(hvlog__live *l)
{
	int oom = 0;

	l->held = 0;
	while (!l->closed && !oom) {
		size_t avail = l->hi - l->lo;
		const uint8_t *p = l->buf + l->lo;
		uint64_t at = l->base + l->lo;
		struct chunk c;
		uint64_t first_ts;

		/* A trailer is the end only if nothing follows it (§6.2: the
		 * file reader looks for it at the end); with bytes after it,
		 * it is bytes without a chunk header, as there. */
		if (avail && l->trailer_at != UINT64_MAX) {
			if (l->skip_from == UINT64_MAX)
				l->skip_from = l->trailer_at;
			l->trailer_at = UINT64_MAX;
			l->at_close = 0;
		}
		if (avail < 8)
			break;
		if (!memcmp(p, WIRE_TRAILER_MAGIC, 8)) {
			if (avail < WIRE_TRAILER_SIZE)
				break;
			if (wire_get32(p + WIRE_TR_CRC) == hvlog_crc32c(0, p, WIRE_TR_CRC)) {
				oom |= end_skip(l, at);
				l->trailer_at = at;
				l->at_close = 1;
				l->lo += WIRE_TRAILER_SIZE;
				continue;
			}
		} else if (!memcmp(p, WIRE_CHUNK_SYNC, 8)) {
			if (avail < HVLOG_CHUNK_HEADER_SIZE)
				break;
			/* A sequence number above the file's size is absurd (§6.2),
			 * but the size of an input still arriving is not known: a
			 * header valid but for that waits until the input reaches
			 * its number, or ends, and is judged then as the file reader
			 * judges it.  Unless that is more than may be held: then it
			 * is judged now, by the bytes read, and the damage says so. */
			uint64_t size = l->base + l->hi;
			l->held = 0;
			if (!l->eof && !l->end_known &&
			    hvlog__chunk_header(p, l->nstreams, UINT64_MAX, &c, &first_ts, at) && c.seq > size) {
				if (c.seq - at <= LIVE_MAX_HELD) {
					l->held = 1;
					break;
				}
				if (l->skip_unheld == UINT64_MAX)
					l->skip_unheld = c.seq;
			}
			if (hvlog__chunk_header(p, l->nstreams, size, &c, &first_ts, at)) {
				size_t need = HVLOG_CHUNK_HEADER_SIZE + (size_t)c.len;
				/* Still arriving, or cut by the end of the input.  But
				 * an ended input with a chunk marker inside the length
				 * this header claims says the length lies: resume at
				 * that marker, as the file reader does, rather than
				 * lose every chunk behind it. */
				if (avail < need && !(l->eof && next_marker(p, avail) + 8 <= avail))
					break;
				/* A payload that fails its checksum is the chunk's own
				 * damage (the decoder reports it) if a chunk or the
				 * end follows it; otherwise its length is not to be
				 * trusted and the bytes are skipped. */
				int ok = avail >= need && prove(l, p + HVLOG_CHUNK_HEADER_SIZE, c.len, c.payload_crc);
				if (!ok && avail >= need && avail < need + 8 && !l->eof)
					break;
				if (!ok && avail >= need + 8)
					ok = !memcmp(p + need, WIRE_CHUNK_SYNC, 8) || !memcmp(p + need, WIRE_TRAILER_MAGIC, 8);
				if (ok || avail == need) {
					oom |= end_skip(l, at);
					oom |= accept(l, &c, p);
					l->lo += need;
					continue;
				}
				/* A length that lies: the chunk ends where the next
				 * valid header starts, if its payload verifies with
				 * that length, as the file reader's relength finds it
				 * (within the buffer, so within one chunk's length). */
				size_t m = next_marker(p, avail);
				struct chunk n;
				uint64_t nf;
				if (!(c.flags & WIRE_CHUNK_META) && m >= HVLOG_CHUNK_HEADER_SIZE &&
				    m + HVLOG_CHUNK_HEADER_SIZE <= avail && m - HVLOG_CHUNK_HEADER_SIZE != c.len &&
				    m - HVLOG_CHUNK_HEADER_SIZE <= WIRE_MAX_CHUNK_PAYLOAD &&
				    m - HVLOG_CHUNK_HEADER_SIZE >= c.nevents &&
				    (!memcmp(p + m, WIRE_TRAILER_MAGIC, 8) ||
				     hvlog__chunk_header(p + m, l->nstreams, UINT64_MAX, &n, &nf, at + m)) &&
				    prove(l, p + HVLOG_CHUNK_HEADER_SIZE, (uint32_t)(m - HVLOG_CHUNK_HEADER_SIZE),
					  c.payload_crc)) {
					uint32_t claimed = c.len;
					c.len = (uint32_t)(m - HVLOG_CHUNK_HEADER_SIZE);
					oom |= end_skip(l, at);
					oom |= add_damage(l, HVLOG_MALFORMED, c.base_ts, at, HVLOG_CHUNK_HEADER_SIZE, c.stream,
							  c.seq, 0,
							  "chunk %" PRIu64 " of stream %u: its header's length is damaged "
							  "(%u bytes claimed, its payload verifies with %u)",
							  c.seq, c.stream, claimed, c.len);
					oom |= accept(l, &c, p);
					l->lo += m;
					continue;
				}
			}
		}
		/* no valid chunk here: skip to the next marker */
		if (l->skip_from == UINT64_MAX)
			l->skip_from = at;
		l->lo += next_marker(p, avail);
	}
	if (l->eof && !l->finished && !oom)
		oom |= finish(l); /* what could not be framed at the end */
	return oom ? -1 : 0;
}

/* Whether the bytes read end with a closing record of the writer (§4.6):
 * a valid trailer, or a last metadata copy of the metadata in use. */
static int ends_closed(const hvlog__live *l)
{
	size_t n = l->hi - l->lo, k = HVLOG_CHUNK_HEADER_SIZE + (size_t)l->meta_len;
	const uint8_t *e = l->buf + l->hi;
	struct chunk c;
	uint64_t first_ts;

	if (n >= WIRE_TRAILER_SIZE && !memcmp(e - WIRE_TRAILER_SIZE, WIRE_TRAILER_MAGIC, 8) &&
	    wire_get32(e - WIRE_TRAILER_SIZE + WIRE_TR_CRC) == hvlog_crc32c(0, e - WIRE_TRAILER_SIZE, WIRE_TR_CRC))
		return 1;
	return n >= k && hvlog__chunk_header(e - k, l->nstreams, UINT64_MAX, &c, &first_ts, 0) &&
	       (c.flags & (WIRE_CHUNK_META | WIRE_CHUNK_FINAL)) == (WIRE_CHUNK_META | WIRE_CHUNK_FINAL) &&
	       c.len == l->meta_len && c.payload_crc == l->meta_crc;
}

hvlog_status hvlog__live_pump(hvlog__live *l, int wait_ms, hvlog_error *err)
{
	if (l->cancel && *l->cancel && !l->finished) {
		/* what is queued (or held) still goes out; nothing more is read
		 * or judged */
		l->eof = l->finished = 1;
		for (uint32_t s = 0; s < l->nstreams; s++)
			if (release(l, &l->s[s]))
				return hvlog__fail(err, HVLOG_NOMEM, l->base + l->lo, "out of memory");
		return HVLOG_OK;
	}
	if (l->nomem)
		return hvlog__fail(err, HVLOG_NOMEM, l->base + l->lo, "out of memory");
	for (int round = 0; round < 64 && !l->closed && !l->eof && l->queued < LIVE_MAX_QUEUED; round++) {
		size_t need = 0;
		if (l->hi - l->lo >= HVLOG_CHUNK_HEADER_SIZE && !memcmp(l->buf + l->lo, WIRE_CHUNK_SYNC, 8))
			need = HVLOG_CHUNK_HEADER_SIZE + wire_get32(l->buf + l->lo + WIRE_CH_LEN) - (l->hi - l->lo);
		if (need > WIRE_MAX_CHUNK_PAYLOAD + HVLOG_CHUNK_HEADER_SIZE)
			need = 0;
		int k = fill(l, round ? 0 : wait_ms, need);
		if (k < 0)
			return read_failed(l, err);
		if (frame(l))
			return hvlog__fail(err, HVLOG_NOMEM, l->base + l->lo, "out of memory");
		/* a followed file whose bytes end with the writer's closing
		 * record has no more to come: a header held for its sequence
		 * number is judged by the size there is (else --follow would
		 * wait for ever at the end of a closed trace) */
		if (k == 0 && l->follow && l->held && ends_closed(l)) {
			l->end_known = 1;
			if (frame(l))
				return hvlog__fail(err, HVLOG_NOMEM, l->base + l->lo, "out of memory");
		}
		/* a followed file ends at the writer's closing record once
		 * nothing follows it; a pipe ends where it ends */
		if (k == 0 && l->follow && l->at_close && l->lo == l->hi)
			l->closed = 1;
		if (k == 0)
			break;
	}
	if (l->closed && !l->finished) {
		l->eof = 1;
		if (finish(l))
			return hvlog__fail(err, HVLOG_NOMEM, l->base + l->lo, "out of memory");
	}
	uint64_t t = l->nheld ? now_ns() : 0;
	for (uint32_t s = 0; l->nheld && s < l->nstreams; s++)
		if (l->s[s].has_held && release_due(l, &l->s[s], t))
			return hvlog__fail(err, HVLOG_NOMEM, l->base + l->lo, "out of memory");
	return HVLOG_OK;
}

int hvlog__live_take(hvlog__live *l, uint32_t s, const struct chunk **c, const uint8_t **payload)
{
	struct lstream *ls = &l->s[s];

	/* (after its final chunk a stream may still have chunks, damage the
	 * file reader decodes too: it ends with the input) */
	if (!ls->n)
		return l->finished ? -1 : 0;
	struct lq *e = &ls->q[ls->head];
	ls->head = (ls->head + 1) & (ls->cap - 1);
	ls->n--;
	free(ls->curp);
	ls->cur = e->c;
	ls->curp = e->p;
	ls->cur_arrived_ns = e->arrived_ns;
	l->queued -= e->c.len;
	*c = &ls->cur;
	*payload = ls->curp;
	return 1;
}

int hvlog__live_blocks(hvlog__live *l, uint32_t s, uint32_t by, uint64_t *hw)
{
	struct lstream *ls = &l->s[s];
	uint64_t since = l->s[by].cur_arrived_ns;

	if (ls->has_held)
		l->nomem |= release_due(l, ls, now_ns()) != 0;
	*hw = ls->n ? ls->q[ls->head].c.base_ts : ls->hw;
	if (ls->n || ls->has_held)
		return 1;
	if (ls->final || l->finished || l->queued >= LIVE_MAX_QUEUED)
		return 0;
	/* quiet: its time has not moved on within the bound, counted from
	 * when the item arrived (streams that all paused together, a
	 * producer stopped, are waited for again when it goes on) */
	if (ls->progress_ns > since)
		since = ls->progress_ns;
	l->since_ns = since;
	return now_ns() - since <= l->quiet_ns;
}

const struct damage *hvlog__live_damage_peek(const hvlog__live *l)
{
	return l->nextdmg < l->ndmg ? &l->dmg[l->nextdmg] : NULL;
}

void hvlog__live_damage_pop(hvlog__live *l)
{
	l->nextdmg++;
}

int hvlog__live_ended(const hvlog__live *l)
{
	return l->finished;
}

void hvlog__live_wait(const hvlog__live *l, int *fd, int *timeout_ms)
{
	uint64_t t = now_ns(), soonest = UINT64_MAX;

	for (uint32_t s = 0; s < l->nstreams; s++) {
		const struct lstream *ls = &l->s[s];
		if (ls->n || (ls->final && !ls->has_held))
			continue;
		uint64_t due = ls->has_held ? held_due(l, ls)
					    : (ls->progress_ns > l->since_ns ? ls->progress_ns : l->since_ns) + l->quiet_ns;
		uint64_t left = due > t ? due - t : 0;
		if (left < soonest)
			soonest = left;
	}
	*fd = l->follow ? -1 : l->fd;
	*timeout_ms = soonest == UINT64_MAX ? -1 : (int)((soonest + 999999u) / 1000000u) + 1;
	if (l->follow && (*timeout_ms < 0 || *timeout_ms > LIVE_FILE_POLL_MS))
		*timeout_ms = LIVE_FILE_POLL_MS;
}
