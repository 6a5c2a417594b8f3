/*
 * test_robust.c - the damage-containment campaign (issue 6, points 1-3).
 *
 * A reference trace of 120 000 events over 8 streams (about 190 chunks)
 * is damaged in many ways, and each variant read back:
 *
 *  - bit flips: every bit of every byte at 10 032 sampled positions (all
 *    of the file header, a sample of the metadata, a sample of the chunks)
 *    and every bit of one whole chunk (one sealed early by a flush, as
 *    producers with a flush interval do: a full one would be 65 536
 *    variants on its own).  A flip in a chunk must be reported
 *    at the chunk's offset and cost that chunk only: every other chunk
 *    decodes exactly as before (same events, values and offsets).  A flip
 *    in the header or metadata must fail the open with a clear error.
 *  - truncation at every byte offset within the last chunks and at
 *    sampled offsets everywhere else: every complete chunk before the cut
 *    decodes, the cut is reported once at the cut chunk's offset.
 *  - resynchronisation: garbage inserted between and inside chunks, a
 *    chunk duplicated, chunks reordered, a chunk missing: each detected,
 *    everything else decoded in order.
 *
 * A full decode costs ~4 ms, too much for ~90 000 variants, so most
 * variants are read with the reader's stream and time-range selection
 * (hvlog_reader_set_streams, hvlog_reader_set_time_range): the stream of
 * the damaged chunk, around its time.  The chunk index is still built
 * over the whole file and all damage found there reported.  One variant
 * in FULL_EVERY is read whole and compared with the whole reference.
 *
 * The campaign is in parts, each a tcase with its own reference trace:
 * flips_head, flips_sample1, flips_sample2 and flips_whole (the bit
 * flips, FLIP_PARTS), cut_tail1, cut_tail2 and cut_rest (truncation,
 * CUT_PARTS) and resync.  CTest runs each as a test of its own
 * (CK_RUN_CASE=<tcase>), in parallel; without CK_RUN_CASE all run in
 * turn, several minutes.
 *
 * HVLOG_ROBUST_SCALE (percent, default 100; 10 under sanitizers) scales
 * the sample sizes; HVLOG_ROBUST_KEEP keeps the files.
 * Byte layout: libhvlog/src/wire.h.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hvlog/hvlog.h"
#include "testutil.h"
#include "wire.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DEFAULT_SCALE 10
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define DEFAULT_SCALE 10
#endif
#endif
#ifndef DEFAULT_SCALE
#define DEFAULT_SCALE 100
#endif

enum {
	NSTREAMS = 8,
	NEVENTS = 120000,
	CHUNK = 8192,
	FLUSHED = 3,             /* stream with a chunk sealed early */
	FLUSHED_EVENTS = 400,    /* ~50 of them on that stream */
	HEADER_POSITIONS = WIRE_FILE_HEADER_SIZE, /* all of them */
	META_POSITIONS = 2000,
	CHUNK_POSITIONS = 8000,
	FULL_EVERY = 97,         /* one variant in this many is read whole */
	TAIL_CHUNKS = 3,         /* every cut offset within the last chunks */
	SAMPLED_CUTS = 1500,
	RESYNC_ROUNDS = 40,
};

static char dir[PATH_MAX];
static int scale = DEFAULT_SCALE;

/* ---- the reference --------------------------------------------------------- */

typedef struct ref {
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len;
	uint64_t data;          /* first chunk */
	tu_chunk *c;            /* in file order */
	size_t nc;
	tu_trace t;             /* as read from the intact file */
	/* per stream, in record order */
	tu_event *sev[NSTREAMS];
	size_t nsev[NSTREAMS];
	size_t *first_ev;       /* per chunk: index of its first event in sev[stream] */
	size_t *sch[NSTREAMS];  /* per stream: its chunk indices, in seq order */
	size_t nsch[NSTREAMS];
	uint64_t flushed_seq;   /* the chunk of stream FLUSHED sealed by a flush */
} ref;

static ref R;

static long chunk_of(uint64_t off)
{
	size_t lo = 0, hi = R.nc;

	while (lo < hi) { /* the last chunk starting at or before off */
		size_t mid = lo + (hi - lo) / 2;
		if (R.c[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || off >= R.c[lo - 1].off + HVLOG_CHUNK_HEADER_SIZE + R.c[lo - 1].len)
		return -1;
	return (long)lo - 1;
}

static void ref_make(void)
{
	/* No metadata copy but the one at close, which is cut off below: the
	 * header's metadata is then the only one, as in a trace never closed
	 * (test_damage.c, "copies", covers the copies). */
	hvlog_writer_config cfg = { .nstreams = NSTREAMS, .chunk_size = CHUNK, .meta_copy_interval = UINT64_MAX };
	hvlog_writer *w;
	hvlog_error err;
	tu_events want = { 0 };
	tu_rng rng = { 0x6006 };
	uint64_t ts = 5000000;
	const char *env = getenv("HVLOG_ROBUST_SCALE");

	if (env && atoi(env) > 0)
		scale = atoi(env);
	tu_mkdtemp(dir, sizeof dir);
	tu_path(R.path, sizeof R.path, dir, "ref.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, R.path, &cfg, &err), HVLOG_OK);
	/* Half the events; then a chunk of stream FLUSHED sealed early by two
	 * flushes (as a producer's flush interval does), which the whole-chunk
	 * campaign flips bit by bit; then the rest. */
	tu_emit_random(w, NSTREAMS, NEVENTS / 2, &rng, &ts, &want);
	ck_assert_int_eq(hvlog_stream_flush(hvlog_writer_stream(w, FLUSHED)), HVLOG_OK);
	tu_emit_random(w, NSTREAMS, FLUSHED_EVENTS, &rng, &ts, &want);
	R.flushed_seq = hvlog_writer_stream(w, FLUSHED)->seq;
	ck_assert_int_eq(hvlog_stream_flush(hvlog_writer_stream(w, FLUSHED)), HVLOG_OK);
	tu_emit_random(w, NSTREAMS, NEVENTS - NEVENTS / 2 - FLUSHED_EVENTS, &rng, &ts, &want);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	R.buf = tu_load(R.path, &R.len);
	ck_assert(R.len > WIRE_TRAILER_SIZE && !memcmp(R.buf + R.len - WIRE_TRAILER_SIZE, WIRE_TRAILER_MAGIC, 8));
	R.len = (size_t)wire_get64(R.buf + R.len - WIRE_TRAILER_SIZE + WIRE_TR_META_OFF);
	ck_assert_int_eq(truncate(R.path, (off_t)R.len), 0);
	R.data = tu_data_offset(R.buf, R.len);
	R.nc = tu_chunks(R.buf, R.len, &R.c);
	tu_read_path(R.path, 0, &R.t);
	tu_events_sort_reader_order(&want);
	tu_assert_events_equal("reference trace", &want, &R.t.ev);
	ck_assert_msg(R.t.ndmg == 0 && R.t.nlost == 0, "reference trace: %s", tu_damage_summary(&R.t));
	tu_events_free(&want);

	R.first_ev = calloc(R.nc, sizeof *R.first_ev);
	ck_assert_ptr_nonnull(R.first_ev);
	for (uint32_t s = 0; s < NSTREAMS; s++) {
		R.sev[s] = malloc(R.t.ev.n * sizeof *R.sev[s]);
		R.sch[s] = malloc(R.nc * sizeof *R.sch[s]);
		ck_assert(R.sev[s] && R.sch[s]);
	}
	for (size_t i = 0; i < R.nc; i++) { /* file order is seq order within a stream here */
		uint32_t s = R.c[i].stream;
		ck_assert_uint_eq(R.c[i].seq, R.nsch[s]);
		R.sch[s][R.nsch[s]++] = i;
	}
	for (size_t i = 0; i < R.t.ev.n; i++) {
		const tu_event *e = &R.t.ev.v[i];
		long k = chunk_of(e->offset);
		TU_CHECK(k >= 0 && R.c[k].stream == e->stream, "event at %" PRIu64 " in no chunk of its stream", e->offset);
		if (R.nsev[e->stream] == 0 || R.c[chunk_of(R.sev[e->stream][R.nsev[e->stream] - 1].offset)].off != R.c[k].off)
			R.first_ev[k] = R.nsev[e->stream];
		R.sev[e->stream][R.nsev[e->stream]++] = *e;
	}
	for (size_t i = 0; i < R.nc; i++) /* every chunk's events are where first_ev says */
		for (uint32_t j = 0; j < R.c[i].nevents; j++)
			TU_CHECK(chunk_of(R.sev[R.c[i].stream][R.first_ev[i] + j].offset) == (long)i,
				 "chunk %zu event %u misplaced", i, j);
	printf("robust: reference trace %zu bytes: %zu events, %u streams, %zu chunks, metadata %" PRIu64
	       " bytes; sample scale %d%%\n",
	       R.len, R.t.ev.n, NSTREAMS, R.nc, R.data - WIRE_FILE_HEADER_SIZE, scale);
}

static void ref_free(void)
{
	free(R.buf);
	free(R.c);
	free(R.first_ev);
	for (uint32_t s = 0; s < NSTREAMS; s++) {
		free(R.sev[s]);
		free(R.sch[s]);
	}
	tu_trace_free(&R.t);
	if (getenv("HVLOG_ROBUST_KEEP"))
		printf("robust: kept %s\n", dir);
	else
		tu_rmtree(dir);
	R = (ref){ 0 }; /* the next tcase makes its own */
}

static size_t scaled(size_t n)
{
	size_t k = n * (size_t)scale / 100;
	return k ? k : 1;
}

/* ---- reading a variant and comparing ---------------------------------------- */

/* What a read of a variant is expected to decode: the reference chunks of
 * `stream` (UINT32_MAX: all) that the time range [lo, hi] keeps, minus
 * chunk `skip` (-1: none), and only those that end at or before `cut`. */
typedef struct sel {
	uint32_t stream;
	uint64_t lo, hi;
	long skip;
	uint64_t cut;
} sel;

static sel sel_all(void)
{
	return (sel){ UINT32_MAX, 0, UINT64_MAX, -1, UINT64_MAX };
}

static int sel_keeps(const sel *q, size_t j)
{
	const tu_chunk *c = &R.c[j];

	return (q->stream == UINT32_MAX || c->stream == q->stream) && !(c->last_ts < q->lo || c->base_ts > q->hi) &&
	       (long)j != q->skip && c->off + HVLOG_CHUNK_HEADER_SIZE + c->len <= q->cut;
}

/* Read fd with selection q (hvlog_reader_open_fd); the open status. */
static hvlog_status read_fd(int fd, const sel *q, tu_trace *t, hvlog_error *err)
{
	hvlog_reader *r = NULL;
	hvlog_status st = hvlog_reader_open_fd(&r, fd, err);
	uint8_t keep[NSTREAMS];

	if (st != HVLOG_OK) {
		TU_CHECK(r == NULL, "a failed open left a reader");
		TU_CHECK(err->msg[0] != 0, "a failed open gave no message");
		*t = (tu_trace){ 0 };
		return st;
	}
	if (q->stream != UINT32_MAX) {
		for (uint32_t s = 0; s < NSTREAMS; s++)
			keep[s] = s == q->stream;
		hvlog_reader_set_streams(r, keep, NSTREAMS);
	}
	if (q->lo || q->hi != UINT64_MAX)
		hvlog_reader_set_time_range(r, q->lo, q->hi);
	tu_read_reader(r, t, 4 * R.t.ev.n + 1000);
	hvlog_reader_close(r);
	TU_CHECK(t->end == HVLOG_END, "reading stopped with %s", hvlog_status_str(t->end));
	return HVLOG_OK;
}

/* The events read are exactly the reference events q keeps: per stream in
 * record order, same event, timestamp, values and (shift 0) file offset;
 * across streams in reader order (timestamp, then stream). */
static void check_events(const char *what, const sel *q, const tu_trace *t, int64_t shift)
{
	size_t ci[NSTREAMS] = { 0 }, ei[NSTREAMS] = { 0 };
	uint64_t prev_ts = 0;
	uint32_t prev_s = 0;

	for (size_t i = 0; i < t->ev.n; i++) {
		const tu_event *e = &t->ev.v[i], *x;
		uint32_t s = e->stream;
		TU_CHECK(s < NSTREAMS, "%s: event of stream %u", what, s);
		/* the next kept chunk of s with events left */
		while (ci[s] < R.nsch[s] &&
		       (!sel_keeps(q, R.sch[s][ci[s]]) || ei[s] == R.c[R.sch[s][ci[s]]].nevents)) {
			ci[s]++;
			ei[s] = 0;
		}
		TU_CHECK(ci[s] < R.nsch[s], "%s: stream %u: more events than expected (ts %" PRIu64 " at %" PRIu64 ")",
			 what, s, e->ts, e->offset);
		size_t j = R.sch[s][ci[s]];
		x = &R.sev[s][R.first_ev[j] + ei[s]++];
		int same = x->ts == e->ts && x->number == e->number && x->nparams == e->nparams &&
			   (shift == INT64_MIN || x->offset + (uint64_t)shift == e->offset);
		for (uint32_t k = 0; same && k < x->nparams; k++)
			same = x->v[k] == e->v[k];
		TU_CHECK(same,
			 "%s: stream %u: read 0x%x at ts %" PRIu64 " offset %" PRIu64 ", expected 0x%x at ts %" PRIu64
			 " offset %" PRIu64 " (chunk at %" PRIu64 ")",
			 what, s, e->number, e->ts, e->offset, x->number, x->ts, x->offset, R.c[j].off);
		TU_CHECK(e->ts > prev_ts || (e->ts == prev_ts && s >= prev_s) || i == 0,
			 "%s: items out of order at ts %" PRIu64, what, e->ts);
		prev_ts = e->ts;
		prev_s = s;
	}
	for (uint32_t s = 0; s < NSTREAMS; s++)
		for (; ci[s] < R.nsch[s]; ci[s]++, ei[s] = 0) {
			size_t j = R.sch[s][ci[s]];
			TU_CHECK(!sel_keeps(q, j) || ei[s] == R.c[j].nevents,
				 "%s: stream %u: events of the chunk at %" PRIu64 " (seq %" PRIu64 ") missing: %zu of %u read",
				 what, s, R.c[j].off, R.c[j].seq, ei[s], R.c[j].nevents);
		}
}


/* A fresh read-write copy of the reference in the test directory. */
static int ref_copy(const char *name)
{
	char path[PATH_MAX];
	int fd;

	tu_path(path, sizeof path, dir, name);
	tu_save(path, R.buf, R.len);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "cannot open %s", path);
	return fd;
}

static void put_byte(int fd, uint64_t off, uint8_t b)
{
	TU_CHECK(pwrite(fd, &b, 1, (off_t)off) == 1, "pwrite at %" PRIu64 " failed", off);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A part of a campaign: its tcase (run with CK_RUN_CASE=tcase) and what
 * its summary line calls it.  tests/CMakeLists.txt reads the tcase names
 * from the PART initializers, one a line, to make each a CTest test of
 * its own: the names live here only. */
typedef struct part {
	const char *tcase, *what;
} part;
#define PART(tcase, what) { tcase, what }

/* ---- bit flips ----------------------------------------------------------------- */

typedef struct flip_stats {
	size_t tried, detected, chunk, full_reads;
	size_t chunk_header, chunk_payload;
} flip_stats;

/* Flip bit `bit` of byte `at` in fd (the reference elsewhere), read, check,
 * restore.  `variant` numbers the flip in the whole campaign (from 1): one
 * in FULL_EVERY is read whole. */
static void flip_one(int fd, uint64_t at, unsigned bit, size_t variant, flip_stats *fs)
{
	char what[160];
	hvlog_error err = { 0 };
	hvlog_status st;
	tu_trace t;
	sel q;

	snprintf(what, sizeof what, "bit %u of byte %" PRIu64 " flipped", bit, at);
	put_byte(fd, at, R.buf[at] ^ (uint8_t)(1u << bit));
	fs->tried++;
	if (at < R.data) {
		/* the file header or the metadata: a clear error */
		q = sel_all();
		st = read_fd(fd, &q, &t, &err);
		TU_CHECK(st != HVLOG_OK, "%s: the damaged %s was accepted", what, at < WIRE_FILE_HEADER_SIZE ? "header" : "metadata");
		if (at < 8)
			TU_CHECK(st == HVLOG_MALFORMED && err.offset == 0 && strstr(err.msg, "magic"),
				 "%s (magic): %s at %" PRIu64 ": %s", what, hvlog_status_str(st), err.offset, err.msg);
		else if (at < WIRE_FILE_HEADER_SIZE)
			TU_CHECK(st == HVLOG_CHECKSUM && err.offset == WIRE_FH_CRC && strstr(err.msg, "header checksum"),
				 "%s (header): %s at %" PRIu64 ": %s", what, hvlog_status_str(st), err.offset, err.msg);
		else
			TU_CHECK(st == HVLOG_CHECKSUM && err.offset == WIRE_FILE_HEADER_SIZE && strstr(err.msg, "metadata"),
				 "%s (metadata): %s at %" PRIu64 ": %s", what, hvlog_status_str(st), err.offset, err.msg);
		fs->detected++;
		put_byte(fd, at, R.buf[at]);
		return;
	}

	long k = chunk_of(at);
	TU_CHECK(k >= 0, "%s: in no chunk", what);
	const tu_chunk *c = &R.c[k];
	int in_header = at < c->off + HVLOG_CHUNK_HEADER_SIZE;
	int full = variant % FULL_EVERY == 0;
	size_t n;

	if (full) {
		q = sel_all();
		fs->full_reads++;
	} else {
		q = (sel){ c->stream, c->base_ts, c->last_ts, -1, UINT64_MAX };
	}
	st = read_fd(fd, &q, &t, &err);
	TU_CHECK(st == HVLOG_OK, "%s: open failed: %s: %s", what, hvlog_status_str(st), err.msg);
	const tu_damage *d = tu_damage_at(&t, c->off, &n);
	TU_CHECK(d != NULL && n == 1, "%s: %zu damage items at the chunk's offset %" PRIu64 ": %s", what, n, c->off,
		 tu_damage_summary(&t));
	if (in_header) {
		/* the header is invalid: skipped like garbage up to the next
		 * chunk, and its stream has a gap (or lost its end) */
		uint64_t next = c->off + HVLOG_CHUNK_HEADER_SIZE + c->len;
		TU_CHECK(d->kind == (next == R.len ? HVLOG_TRUNCATED : HVLOG_MALFORMED) && d->len == next - c->off,
			 "%s: chunk header damage: %s", what, tu_damage_summary(&t));
		for (size_t i = 0; i < t.ndmg; i++)
			TU_CHECK(&t.dmg[i] == d || (t.dmg[i].stream == c->stream && t.dmg[i].len == 0),
				 "%s: damage beyond the chunk: %s", what, tu_damage_summary(&t));
		TU_CHECK(t.ndmg == 2, "%s: expected the skipped header and the stream's gap or lost end: %s", what,
			 tu_damage_summary(&t));
		fs->chunk_header++;
	} else {
		TU_CHECK(t.ndmg == 1 && d->kind == HVLOG_CHECKSUM && d->len == HVLOG_CHUNK_HEADER_SIZE + c->len &&
				 d->events == c->nevents && d->stream == c->stream && d->seq == c->seq,
			 "%s: payload damage: %s", what, tu_damage_summary(&t));
		fs->chunk_payload++;
	}
	q.skip = k;
	check_events(what, &q, &t, 0);
	tu_trace_free(&t);
	fs->chunk++;
	fs->detected++;
	put_byte(fd, at, R.buf[at]);
}

/* The campaign's positions, in the order flipped, of four kinds: every
 * byte of the file header; one random byte in each of n equal slices of
 * the metadata, then of the chunks; every byte of one whole chunk in the
 * middle (header and payload), the one sealed by a flush (a full one has
 * 65 536 bits).  Every bit of each is flipped: bit b of position i is
 * variant 8 i + b + 1, whichever part (FLIP_PARTS) flips it. */
enum { POS_HEADER, POS_META, POS_CHUNKS, POS_WHOLE, POS_KINDS };

typedef struct flip_plan {
	uint64_t *at;
	size_t end[POS_KINDS]; /* positions [end[k - 1], end[k]) are of kind k */
	long whole;            /* the chunk flipped whole */
} flip_plan;

static void plan_make(flip_plan *p)
{
	tu_rng rng = { 0xf11b };
	size_t nmeta = scaled(META_POSITIONS), nchunk = scaled(CHUNK_POSITIONS), n = 0;
	long whole = -1;

	for (size_t i = 0; i < R.nc && whole < 0; i++)
		if (R.c[i].stream == FLUSHED && R.c[i].seq == R.flushed_seq)
			whole = (long)i;
	ck_assert(whole >= 0 && R.c[whole].nevents > 10 && !(R.c[whole].flags & WIRE_CHUNK_FINAL));
	uint64_t wend = R.c[whole].off + HVLOG_CHUNK_HEADER_SIZE + R.c[whole].len;
	p->at = malloc((WIRE_FILE_HEADER_SIZE + nmeta + nchunk + (wend - R.c[whole].off)) * sizeof *p->at);
	ck_assert_ptr_nonnull(p->at);
	p->whole = whole;
	for (uint64_t at = 0; at < WIRE_FILE_HEADER_SIZE; at++)
		p->at[n++] = at;
	p->end[POS_HEADER] = n;
	for (size_t i = 0; i < nmeta; i++) {
		uint64_t span = R.data - WIRE_FILE_HEADER_SIZE;
		uint64_t at = WIRE_FILE_HEADER_SIZE + span * i / nmeta + tu_rand_below(&rng, span / nmeta + 1);
		p->at[n++] = at < R.data ? at : R.data - 1;
	}
	p->end[POS_META] = n;
	for (size_t i = 0; i < nchunk; i++) {
		uint64_t span = R.len - R.data;
		uint64_t at = R.data + span * i / nchunk + tu_rand_below(&rng, span / nchunk + 1);
		p->at[n++] = at < R.len ? at : R.len - 1;
	}
	p->end[POS_CHUNKS] = n;
	for (uint64_t at = R.c[whole].off; at < wend; at++)
		p->at[n++] = at;
	p->end[POS_WHOLE] = n;
	/* the sample, whichever part of it is flipped here */
	if (scale >= 100)
		ck_assert_uint_ge(p->end[POS_CHUNKS], 10000);
}

/* The campaign in parts, each a tcase (and a CTest test) of its own, so
 * that they run in parallel and each does a fraction of the work: the
 * file header and the metadata; the sampled chunk positions, in halves
 * (most of the work); the whole chunk.  Part k flips the positions
 * [bound k, bound k+1). */
enum { FLIPS_HEAD, FLIPS_SAMPLE1, FLIPS_SAMPLE2, FLIPS_WHOLE, FLIP_PARTS };
static const part flip_part[FLIP_PARTS] = {
	PART("flips_head", "file header and metadata"),
	PART("flips_sample1", "chunk sample, first half"),
	PART("flips_sample2", "chunk sample, second half"),
	PART("flips_whole", "one whole chunk"),
};

static size_t plan_bound(const flip_plan *p, int k)
{
	switch (k) {
	case FLIPS_HEAD: return 0;
	case FLIPS_SAMPLE1: return p->end[POS_META];
	case FLIPS_SAMPLE2: return p->end[POS_META] + (p->end[POS_CHUNKS] - p->end[POS_META]) / 2;
	case FLIPS_WHOLE: return p->end[POS_CHUNKS];
	default: return p->end[POS_WHOLE];
	}
}

/* Loop test: _i is the part. */
START_TEST(test_bit_flips)
{
	flip_stats fs = { 0 };
	flip_plan p;
	size_t npos[POS_KINDS] = { 0 }, kind = POS_HEADER;
	double t0 = now_s();

	plan_make(&p);
	size_t lo = plan_bound(&p, _i), hi = plan_bound(&p, _i + 1);
	ck_assert_uint_lt(lo, hi);
	int fd = ref_copy("flips.hvl");
	for (size_t i = lo; i < hi; i++) {
		while (i >= p.end[kind])
			kind++;
		npos[kind]++;
		for (unsigned b = 0; b < 8; b++)
			flip_one(fd, p.at[i], b, 8 * i + b + 1, &fs);
	}
	close(fd);
	printf("robust: bit flips, %s: %zu tried, %zu detected and contained (%zu positions, %zu to %zu of the "
	       "campaign's %zu: %zu in the file header, %zu in the metadata, %zu sampled in chunks, %zu of the %zu-byte "
	       "chunk at offset %" PRIu64 " flipped whole); %zu in chunk headers, %zu in payloads; %zu variants read "
	       "whole; %.1f s\n",
	       flip_part[_i].what, fs.tried, fs.detected, hi - lo, lo, hi - 1, p.end[POS_WHOLE], npos[POS_HEADER],
	       npos[POS_META], npos[POS_CHUNKS], npos[POS_WHOLE], p.end[POS_WHOLE] - p.end[POS_CHUNKS],
	       R.c[p.whole].off, fs.chunk_header, fs.chunk_payload, fs.full_reads, now_s() - t0);
	free(p.at);
	ck_assert_uint_eq(fs.detected, fs.tried);
}
END_TEST

/* ---- truncation --------------------------------------------------------------------- */

typedef struct cut_stats {
	size_t tried, in_header_meta, in_chunk_header, in_payload, at_boundary, full_reads;
} cut_stats;

/* The file (fd) cut at `cut` bytes: check what the reader makes of it. */
static void check_cut(int fd, uint64_t cut, int full, cut_stats *cs)
{
	char what[96];
	hvlog_error err = { 0 };
	hvlog_status st;
	tu_trace t;
	sel q = sel_all();
	size_t n;

	snprintf(what, sizeof what, "cut at %" PRIu64 " of %zu", cut, R.len);
	TU_CHECK(ftruncate(fd, (off_t)cut) == 0, "ftruncate to %" PRIu64 ": %s", cut, strerror(errno));
	cs->tried++;
	if (cut < R.data) {
		st = read_fd(fd, &q, &t, &err);
		TU_CHECK(st == HVLOG_TRUNCATED, "%s: open returned %s: %s", what, hvlog_status_str(st), err.msg);
		cs->in_header_meta++;
		return;
	}
	long k = cut < R.len ? chunk_of(cut) : -1;
	/* Only the chunks from the cut chunk on can change; read from the
	 * earliest time any of them covers, unless asked for a full read. */
	if (!full && k >= 0) {
		uint64_t lo = UINT64_MAX;
		for (size_t j = (size_t)k; j < R.nc; j++)
			lo = R.c[j].base_ts < lo ? R.c[j].base_ts : lo;
		q.lo = lo;
	} else {
		cs->full_reads++;
	}
	q.cut = cut;
	st = read_fd(fd, &q, &t, &err);
	TU_CHECK(st == HVLOG_OK, "%s: open failed: %s: %s", what, hvlog_status_str(st), err.msg);
	for (size_t i = 0; i < t.ndmg; i++)
		TU_CHECK(t.dmg[i].kind == HVLOG_TRUNCATED, "%s: damage other than TRUNCATED: %s", what,
			 tu_damage_summary(&t));
	if (k >= 0 && cut > R.c[k].off) {
		const tu_chunk *c = &R.c[k];
		const tu_damage *d = tu_damage_at(&t, c->off, &n);
		char want[120];
		TU_CHECK(d != NULL && n == 1 && d->len == cut - c->off, "%s: the cut chunk (at %" PRIu64 ") is not reported once: %s",
			 what, c->off, tu_damage_summary(&t));
		if (cut - c->off < HVLOG_CHUNK_HEADER_SIZE) {
			snprintf(want, sizeof want, "%" PRIu64 " bytes of a chunk header", cut - c->off);
			cs->in_chunk_header++;
		} else {
			snprintf(want, sizeof want, "truncated at offset %" PRIu64 ": %" PRIu64 " bytes of a chunk lost", cut,
				 c->off + HVLOG_CHUNK_HEADER_SIZE + c->len - cut);
			TU_CHECK(d->stream == c->stream && d->seq == c->seq && d->events == c->nevents,
				 "%s: cut chunk reported as stream %u seq %" PRIu64 " events %" PRIu64, what, d->stream, d->seq,
				 d->events);
			cs->in_payload++;
		}
		TU_CHECK(strstr(d->msg, want) != NULL, "%s: message \"%s\" does not say \"%s\"", what, d->msg, want);
	} else {
		cs->at_boundary++;
	}
	/* Every stream whose final chunk is cut off says so (or that it has
	 * no chunks at all); nothing else is reported. */
	for (uint32_t s = 0; s < NSTREAMS; s++) {
		const tu_chunk *fin = &R.c[R.sch[s][R.nsch[s] - 1]];
		int lost_end = fin->off + HVLOG_CHUNK_HEADER_SIZE + fin->len > cut;
		size_t m = 0;
		for (size_t i = 0; i < t.ndmg; i++) {
			/* consecutive streams without chunks are one item,
			 * "streams A..B have no chunks", carrying A */
			unsigned a, b;
			if (sscanf(t.dmg[i].msg, "streams %u..%u have no chunks", &a, &b) == 2)
				m += t.dmg[i].len == 0 && a <= s && s <= b;
			else
				m += t.dmg[i].stream == s && t.dmg[i].len == 0;
		}
		TU_CHECK(m == (size_t)lost_end, "%s: stream %u: %zu reports of a missing end, expected %d: %s", what, s, m,
			 lost_end, tu_damage_summary(&t));
	}
	check_events(what, &q, &t, 0);
	tu_trace_free(&t);
}

/* The campaign in parts, each a tcase of its own (as the flips'): every
 * offset within the last chunks (most of the work), in halves, the end's
 * first; the sampled offsets everywhere before, chunk boundaries, the
 * metadata and the header.  A cut file is the reference's first bytes
 * whichever cuts came before, so the parts are the one campaign split. */
enum { CUT_TAIL1, CUT_TAIL2, CUT_REST, CUT_PARTS };
static const part cut_part[CUT_PARTS] = {
	PART("cut_tail1", "every offset of the last chunks, the later half"),
	PART("cut_tail2", "every offset of the last chunks, the earlier half"),
	PART("cut_rest", "sampled offsets, chunk boundaries, metadata and header"),
};

/* Loop test: _i is the part. */
START_TEST(test_truncation)
{
	cut_stats cs = { 0 };
	tu_rng rng = { 0xc07 };
	int fd = ref_copy("cut.hvl");
	uint64_t tail = R.c[R.nc - TAIL_CHUNKS].off, *cuts;
	size_t ncuts = scaled(SAMPLED_CUTS), every = 0;
	double t0 = now_s();

	if (_i != CUT_REST) {
		/* every offset within the last chunks, from the end (the file
		 * only ever gets shorter: no rewriting): R.len - j step for j
		 * from 1 to ncut, the first half of them or the second */
		uint64_t step = scale >= 100 ? 1 : (uint64_t)(100 / scale), ncut = (R.len - tail) / step;
		uint64_t j0 = _i == CUT_TAIL1 ? 1 : ncut / 2 + 1, j1 = _i == CUT_TAIL1 ? ncut / 2 : ncut;
		for (uint64_t j = j0; j <= j1; j++) {
			uint64_t cut = R.len - j * step;
			check_cut(fd, cut, cut % FULL_EVERY == 0, &cs);
			every++;
		}
		ck_assert_uint_gt(every, 0);
		close(fd);
	} else {
		/* sampled offsets everywhere before, largest first */
		cuts = malloc(ncuts * sizeof *cuts);
		ck_assert_ptr_nonnull(cuts);
		for (size_t i = 0; i < ncuts; i++)
			cuts[i] = tail - 1 - (tail * i / ncuts + tu_rand_below(&rng, tail / ncuts)) % tail;
		for (size_t i = 0; i < ncuts; i++)
			if (i == 0 || cuts[i] < cuts[i - 1])
				check_cut(fd, cuts[i], i % 10 == 0, &cs);
		free(cuts);
		close(fd);
		/* exactly at chunk boundaries, then in the metadata and the header */
		fd = ref_copy("cut2.hvl");
		for (size_t i = R.nc - 1; i > 0; i = i > 37 ? i - 37 : 0)
			check_cut(fd, R.c[i].off, 1, &cs);
		for (uint64_t cut = R.data;;) {
			cut -= cut > 2 * WIRE_FILE_HEADER_SIZE + 97 ? 97 : 1; /* never below 0 */
			check_cut(fd, cut, 0, &cs);
			if (!cut)
				break;
		}
		close(fd);
	}
	printf("robust: truncation, %s: %zu offsets tried (%zu of the last %" PRIu64 " bytes = last %d chunks, the "
	       "rest sampled): %zu inside a chunk payload, %zu inside a chunk header, %zu at a chunk boundary, %zu "
	       "in the file header or metadata; %zu read whole; %.1f s\n",
	       cut_part[_i].what, cs.tried, every, R.len - tail, TAIL_CHUNKS, cs.in_payload, cs.in_chunk_header,
	       cs.at_boundary, cs.in_header_meta, cs.full_reads, now_s() - t0);
}
END_TEST

/* ---- resynchronisation ------------------------------------------------------------------ */

static uint8_t *splice_buf(const uint8_t *a, size_t alen, size_t at, const uint8_t *ins, size_t inslen, size_t del,
		       size_t *outlen)
{
	uint8_t *out = malloc(alen + inslen + 1);

	ck_assert_ptr_nonnull(out);
	memcpy(out, a, at);
	if (inslen)
		memcpy(out + at, ins, inslen);
	memcpy(out + at + inslen, a + at + del, alen - at - del);
	*outlen = alen + inslen - del;
	return out;
}

/* Read buf (written to a file) in full. */
static void read_buf(const uint8_t *buf, size_t len, tu_trace *t)
{
	char path[PATH_MAX];
	hvlog_error err;
	sel q = sel_all();
	int fd;

	tu_path(path, sizeof path, dir, "resync.hvl");
	tu_save(path, buf, len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert(fd >= 0);
	ck_assert_int_eq(read_fd(fd, &q, t, &err), HVLOG_OK);
	close(fd);
}

/* A chunk in the middle: neither the first nor the final of its stream. */
static long pick_middle(tu_rng *rng)
{
	for (;;) {
		long k = 1 + (long)tu_rand_below(rng, R.nc - 2);
		if (R.c[k].seq > 0 && !(R.c[k].flags & WIRE_CHUNK_FINAL) && R.c[k].nevents > 0)
			return k;
	}
}

/* Events compared without offsets (the bytes moved). */
#define NO_OFFSETS INT64_MIN

static const part resync_part = PART("resync", "garbage, duplicated, reordered and missing chunks");

START_TEST(test_resync)
{
	tu_rng rng = { 0x5e5c };
	size_t rounds = scaled(RESYNC_ROUNDS), counts[6] = { 0 };
	uint8_t garbage[3000], *v;
	size_t vlen, n;
	tu_trace t;
	double t0 = now_s();

	for (size_t round = 0; round < rounds; round++) {
		/* 1. garbage between two chunks: one MALFORMED region of its length */
		{
			long k = pick_middle(&rng);
			size_t glen = 1 + tu_rand_below(&rng, sizeof garbage);
			for (size_t i = 0; i < glen; i++)
				garbage[i] = (uint8_t)tu_rand(&rng);
			if (glen > 20) /* a stray sync marker in it */
				memcpy(garbage + tu_rand_below(&rng, glen - 8), WIRE_CHUNK_SYNC, 8);
			v = splice_buf(R.buf, R.len, R.c[k].off, garbage, glen, 0, &vlen);
			read_buf(v, vlen, &t);
			const tu_damage *d = tu_damage_at(&t, R.c[k].off, &n);
			ck_assert_msg(t.ndmg == 1 && d && d->kind == HVLOG_MALFORMED && d->len == glen,
				      "%zu bytes of garbage before the chunk at %" PRIu64 ": %s", glen, R.c[k].off,
				      tu_damage_summary(&t));
			sel q = sel_all();
			check_events("garbage between chunks", &q, &t, NO_OFFSETS);
			tu_trace_free(&t);
			free(v);
			counts[0]++;
		}
		/* 2. garbage inside a chunk's payload: nothing valid follows the
		 * length its header claims, so its payload must prove it and
		 * fails its checksum: the chunk ends where the next one starts,
		 * and the chunk and the garbage are one region, its events lost */
		{
			long k = pick_middle(&rng);
			const tu_chunk *c = &R.c[k];
			size_t glen = 1 + tu_rand_below(&rng, 200);
			uint64_t at = c->off + HVLOG_CHUNK_HEADER_SIZE + tu_rand_below(&rng, c->len);
			for (size_t i = 0; i < glen; i++)
				garbage[i] = (uint8_t)tu_rand(&rng);
			v = splice_buf(R.buf, R.len, at, garbage, glen, 0, &vlen);
			read_buf(v, vlen, &t);
			const tu_damage *d = tu_damage_at(&t, c->off, &n);
			ck_assert_msg(t.ndmg == 1 && d && d->kind == HVLOG_CHECKSUM &&
					      d->len == HVLOG_CHUNK_HEADER_SIZE + c->len + glen && d->events == c->nevents,
				      "%zu bytes of garbage inside the chunk at %" PRIu64 ": %s", glen, c->off,
				      tu_damage_summary(&t));
			sel q = sel_all();
			q.skip = k;
			check_events("garbage inside a chunk", &q, &t, NO_OFFSETS);
			tu_trace_free(&t);
			free(v);
			counts[1]++;
		}
		/* 3. a chunk duplicated somewhere later in the file */
		{
			long k = pick_middle(&rng);
			const tu_chunk *c = &R.c[k];
			size_t to = (size_t)k + 1 + tu_rand_below(&rng, R.nc - (size_t)k - 1);
			uint64_t at = R.c[to].off;
			v = splice_buf(R.buf, R.len, at, R.buf + c->off, HVLOG_CHUNK_HEADER_SIZE + c->len, 0, &vlen);
			read_buf(v, vlen, &t);
			const tu_damage *d = tu_damage_at(&t, at, &n);
			ck_assert_msg(t.ndmg == 1 && d && d->stream == c->stream && d->seq == c->seq && strstr(d->msg, "duplicate"),
				      "chunk at %" PRIu64 " copied to %" PRIu64 ": %s", c->off, at, tu_damage_summary(&t));
			sel q = sel_all();
			check_events("duplicated chunk", &q, &t, NO_OFFSETS);
			tu_trace_free(&t);
			free(v);
			counts[2]++;
		}
		/* 4. a chunk moved elsewhere (reordered, maybe past later chunks
		 * of its own stream): nothing is damaged, order comes from the
		 * sequence numbers */
		{
			long k = pick_middle(&rng);
			const tu_chunk *c = &R.c[k];
			size_t clen = HVLOG_CHUNK_HEADER_SIZE + c->len, to = tu_rand_below(&rng, R.nc);
			uint8_t *w = splice_buf(R.buf, R.len, c->off, NULL, 0, clen, &vlen);
			uint64_t at = R.c[to].off > c->off ? R.c[to].off - clen : R.c[to].off;
			v = splice_buf(w, vlen, at, R.buf + c->off, clen, 0, &vlen);
			free(w);
			read_buf(v, vlen, &t);
			ck_assert_msg(t.ndmg == 0, "chunk at %" PRIu64 " moved to %" PRIu64 ": %s", c->off, at,
				      tu_damage_summary(&t));
			sel q = sel_all();
			check_events("reordered chunk", &q, &t, NO_OFFSETS);
			tu_trace_free(&t);
			free(v);
			counts[3]++;
		}
		/* 5. a chunk missing: a sequence gap */
		{
			long k = pick_middle(&rng);
			const tu_chunk *c = &R.c[k];
			v = splice_buf(R.buf, R.len, c->off, NULL, 0, HVLOG_CHUNK_HEADER_SIZE + c->len, &vlen);
			read_buf(v, vlen, &t);
			ck_assert_msg(t.ndmg == 1 && t.dmg[0].stream == c->stream && t.dmg[0].seq == c->seq &&
					      strstr(t.dmg[0].msg, "missing"),
				      "chunk at %" PRIu64 " removed: %s", c->off, tu_damage_summary(&t));
			sel q = sel_all();
			q.skip = k;
			check_events("missing chunk", &q, &t, NO_OFFSETS);
			tu_trace_free(&t);
			free(v);
			counts[4]++;
		}
		/* 6. all of it at once, in different places */
		{
			long a = pick_middle(&rng), b = pick_middle(&rng);
			if (a == b || a + 1 == b || b + 1 == a)
				continue;
			if (a > b) {
				long x = a;
				a = b;
				b = x;
			}
			/* remove b, then insert garbage and a copy of a's chunk before b's old place */
			const tu_chunk *ca = &R.c[a], *cb = &R.c[b];
			size_t glen = 1 + tu_rand_below(&rng, 500);
			for (size_t i = 0; i < glen; i++)
				garbage[i] = (uint8_t)tu_rand(&rng);
			uint8_t *w1 = splice_buf(R.buf, R.len, cb->off, NULL, 0, HVLOG_CHUNK_HEADER_SIZE + cb->len, &vlen);
			uint8_t *w2 = splice_buf(w1, vlen, cb->off, R.buf + ca->off, HVLOG_CHUNK_HEADER_SIZE + ca->len, 0, &vlen);
			v = splice_buf(w2, vlen, cb->off, garbage, glen, 0, &vlen);
			free(w1);
			free(w2);
			read_buf(v, vlen, &t);
			ck_assert_msg(t.ndmg == 3, "garbage, a duplicate and a missing chunk: %s", tu_damage_summary(&t));
			sel q = sel_all();
			q.skip = b;
			check_events("combined damage", &q, &t, NO_OFFSETS);
			tu_trace_free(&t);
			free(v);
			counts[5]++;
		}
	}
	printf("robust: resync: %zu garbage between chunks, %zu garbage inside a chunk, %zu duplicated, %zu "
	       "reordered, %zu missing, %zu combined: all detected, the rest decoded in order; %.1f s\n",
	       counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], now_s() - t0);
}
END_TEST

/* A tcase of its own for each of the n parts of loop test `tf` (part k
 * is loop index k); each makes its reference, and has its own timeout. */
static void add_parts(Suite *s, const TTest *tf, const part *parts, int n)
{
	for (int k = 0; k < n; k++) {
		TCase *tc = tcase_create(parts[k].tcase);

		tcase_add_unchecked_fixture(tc, ref_make, ref_free);
		tcase_set_timeout(tc, 600);
		tcase_add_loop_test(tc, tf, k, k + 1);
		suite_add_tcase(s, tc);
	}
}

/* The tcases, one per part; tests/CMakeLists.txt runs each as a CTest
 * test of its own, test_robust_<tcase>, by the names of the PARTs. */
static Suite *robust_suite(void)
{
	Suite *s = suite_create("robust");

	add_parts(s, test_bit_flips, flip_part, FLIP_PARTS);
	add_parts(s, test_truncation, cut_part, CUT_PARTS);
	add_parts(s, test_resync, &resync_part, 1);
	return s;
}

/* Without CK_RUN_CASE, every tcase in turn. */
int main(void)
{
	SRunner *sr = srunner_create(robust_suite());
	int failed, run;

	setvbuf(stdout, NULL, _IOLBF, 0);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (!run) /* CK_RUN_CASE or CK_RUN_SUITE named no tcase here */
		fprintf(stderr, "test_robust: no test run (CK_RUN_CASE=%s)\n",
			getenv("CK_RUN_CASE") ? getenv("CK_RUN_CASE") : "");
	return failed || !run ? EXIT_FAILURE : EXIT_SUCCESS;
}
