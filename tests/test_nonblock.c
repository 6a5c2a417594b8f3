/*
 * test_nonblock.c - the writer's non-blocking mode (hvlog_writer_config
 * .nonblocking): producers never wait for the sink; when a stream's
 * buffers all wait for it, events are dropped, counted and reported.
 *
 * The rule checked everywhere, per stream and exactly:
 *   emitted = decoded + reported lost,
 * and the decoded events are exactly the ones the emitter accepted, in
 * order.  Run under ThreadSanitizer by scripts/test.sh.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hvlog/hvlog.h"
#include "testutil.h"

static char dir[PATH_MAX];

static void setup(void)
{
	tu_mkdtemp(dir, sizeof dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
}

static void sleep_us(long us)
{
	struct timespec d = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
}

/* ---- a slow, gated, sometimes failing memory sink ------------------------ */

struct sink {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	uint8_t *p;
	size_t len, cap;
	unsigned calls;
	long delay_us;      /* per call */
	int gate_closed;    /* calls wait while set */
	unsigned fail_every; /* refuse every n-th chunk write (calls > 2); 0: never */
	unsigned failed;
};

static void sink_init(struct sink *k)
{
	memset(k, 0, sizeof *k);
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cv, NULL);
}

static void sink_free(struct sink *k)
{
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cv);
	free(k->p);
}

static void sink_gate(struct sink *k, int closed)
{
	pthread_mutex_lock(&k->lock);
	k->gate_closed = closed;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->lock);
}

static int sink_fn(void *user, const void *buf, size_t len)
{
	struct sink *k = user;
	int rc = 0;

	if (k->delay_us)
		sleep_us(k->delay_us);
	pthread_mutex_lock(&k->lock);
	while (k->gate_closed)
		pthread_cond_wait(&k->cv, &k->lock);
	k->calls++;
	if (k->fail_every && k->calls > 2 && k->calls % k->fail_every == 0) {
		k->failed++;
		rc = EIO;
	} else {
		if (k->len + len > k->cap) {
			size_t nc = k->cap ? 2 * k->cap : 1 << 16;
			while (nc < k->len + len)
				nc *= 2;
			uint8_t *np = realloc(k->p, nc);
			if (!np) {
				pthread_mutex_unlock(&k->lock);
				return ENOMEM;
			}
			k->p = np;
			k->cap = nc;
		}
		memcpy(k->p + k->len, buf, len);
		k->len += len;
	}
	pthread_mutex_unlock(&k->lock);
	return rc;
}

/* ---- producers ---------------------------------------------------------- */

struct producer {
	hvlog_stream *s;
	uint32_t id;
	size_t n;            /* events to emit */
	size_t burst;        /* pause after this many (0: never) */
	long pause_us;
	tu_event *accepted;  /* n entries */
	size_t naccepted;
	uint64_t *dropped;   /* timestamps, n entries */
	size_t ndropped;
	size_t errors;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	const hvlog_schema *sch = hvlog_schema_builtin();
	tu_rng rng = { 0x5eed0000u + p->id };
	uint64_t ts = 1000 * (p->id + 1);

	for (size_t i = 0; i < p->n; i++) {
		const hvlog_event *ev = &sch->events[tu_rand_below(&rng, sch->nevents)];
		tu_event e = { .stream = p->id, .number = ev->number, .nparams = ev->nparams };
		hvlog_status st;

		ts += 1 + tu_rand_below(&rng, 3);
		e.ts = ts;
		for (uint32_t k = 0; k < ev->nparams; k++)
			e.v[k] = tu_rand_value(&rng, &ev->params[k]);
		st = hvlog_emit(p->s, ts, ev, e.v);
		if (st == HVLOG_OK)
			p->accepted[p->naccepted++] = e;
		else if (st == HVLOG_FULL)
			p->dropped[p->ndropped++] = ts;
		else
			p->errors++;
		if (p->burst && i % p->burst == p->burst - 1)
			sleep_us(p->pause_us);
	}
	return NULL;
}

static void producer_init(struct producer *p, hvlog_writer *w, uint32_t id, size_t n)
{
	memset(p, 0, sizeof *p);
	p->s = hvlog_writer_stream(w, id);
	p->id = id;
	p->n = n;
	p->accepted = malloc(n * sizeof *p->accepted);
	p->dropped = malloc(n * sizeof *p->dropped);
	ck_assert_ptr_nonnull(p->accepted);
	ck_assert_ptr_nonnull(p->dropped);
}

static void producer_free(struct producer *p)
{
	free(p->accepted);
	free(p->dropped);
}

/* ---- checking ------------------------------------------------------------ */

struct totals {
	uint64_t emitted, decoded, lost, dropped;
};

/* Read the trace and check, per stream: the decoded events are exactly
 * the accepted ones, in order; the reported lost count equals the drops
 * (plus the events of refused chunks when the sink failed, `exact_windows`
 * 0), so emitted = decoded + lost.  With exact_windows, the LOST records
 * partition the dropped timestamps in order: each covers a run of drops,
 * from its first to its last timestamp. */
static void check_trace(const char *name, const struct sink *k, struct producer *p, uint32_t n, int exact_windows,
			struct totals *tot)
{
	char path[PATH_MAX];
	tu_trace t;

	tu_path(path, sizeof path, dir, name);
	tu_save(path, k->p, k->len);
	tu_read_path(path, 0, &t);
	memset(tot, 0, sizeof *tot);
	if (exact_windows)
		ck_assert_msg(t.ndmg == 0, "%s: damage in a trace written without sink errors: %s", name,
			      tu_damage_summary(&t));
	for (uint32_t s = 0; s < n; s++) {
		size_t got = 0, drop = 0, at = 0;
		uint64_t lost = 0;

		for (size_t i = 0; i < t.ev.n; i++) {
			const tu_event *e = &t.ev.v[i], *x;
			if (e->stream != s)
				continue;
			int same = 0;
			/* without sink failures the next accepted event; with them,
			 * refused chunks leave holes: a later one */
			do {
				TU_CHECK(at < p[s].naccepted, "%s: stream %u: decoded event #%zu (0x%x at %" PRIu64
					 ") is not among the accepted ones", name, s, got, e->number, e->ts);
				x = &p[s].accepted[at++];
				same = x->ts == e->ts && x->number == e->number && x->nparams == e->nparams;
				for (uint32_t j = 0; same && j < x->nparams; j++)
					same = x->v[j] == e->v[j];
				TU_CHECK(same || !exact_windows,
					 "%s: stream %u: decoded event #%zu (0x%x at %" PRIu64
					 ") is not accepted event #%zu (0x%x at %" PRIu64 ")",
					 name, s, got, e->number, e->ts, got, x->number, x->ts);
			} while (!same);
			got++;
		}
		if (exact_windows)
			ck_assert_msg(got == p[s].naccepted, "%s: stream %u: %zu events decoded, %zu accepted", name, s, got,
				      p[s].naccepted);
		for (size_t i = 0; i < t.nlost; i++) {
			const tu_lost *l = &t.lost[i];
			if (l->stream != s)
				continue;
			ck_assert_msg(l->count > 0, "%s: stream %u: empty LOST record", name, s);
			lost += l->count;
			if (!exact_windows)
				continue;
			ck_assert_msg(drop + l->count <= p[s].ndropped,
				      "%s: stream %u: LOST records count more than the %zu drops", name, s, p[s].ndropped);
			ck_assert_msg(l->first == p[s].dropped[drop] && l->last == p[s].dropped[drop + l->count - 1],
				      "%s: stream %u: LOST window [%" PRIu64 ", %" PRIu64 "] for %" PRIu64
				      " drops from %" PRIu64 " to %" PRIu64,
				      name, s, l->first, l->last, l->count, p[s].dropped[drop],
				      p[s].dropped[drop + l->count - 1]);
			drop += (size_t)l->count;
		}
		ck_assert_msg(p[s].errors == 0, "%s: stream %u: %zu emits failed otherwise", name, s, p[s].errors);
		ck_assert_msg(p[s].n == got + lost,
			      "%s: stream %u: emitted %zu != decoded %zu + reported lost %" PRIu64 " (dropped %zu)", name, s,
			      p[s].n, got, lost, p[s].ndropped);
		if (exact_windows)
			ck_assert_msg(lost == p[s].ndropped, "%s: stream %u: %" PRIu64 " reported lost, %zu dropped", name,
				      s, lost, p[s].ndropped);
		tot->emitted += p[s].n;
		tot->decoded += got;
		tot->lost += lost;
		tot->dropped += p[s].ndropped;
	}
	ck_assert_uint_eq(t.stats.lost_events, tot->lost);
	tu_trace_free(&t);
}

/* ---- tests ------------------------------------------------------------------- */

enum { NTHREADS = 4, PER_THREAD = 40000 };

/* Several producers against a slow sink: many events are dropped, the
 * rest decode exactly, and every drop is reported. */
START_TEST(test_overflow_threads)
{
	hvlog_writer_config cfg = { .nstreams = NTHREADS, .chunk_size = 1024, .nonblocking = 1, .buffers = 3 };
	struct producer p[NTHREADS];
	pthread_t th[NTHREADS];
	uint64_t lost_total[NTHREADS];
	struct sink k;
	struct totals tot;
	hvlog_writer *w;
	hvlog_error err;

	sink_init(&k);
	k.delay_us = 100;
	ck_assert_int_eq(hvlog_writer_open_sink(&w, sink_fn, &k, &cfg, &err), HVLOG_OK);
	for (uint32_t i = 0; i < NTHREADS; i++) {
		producer_init(&p[i], w, i, PER_THREAD);
		p[i].burst = 500;
		p[i].pause_us = 1000;
		ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &p[i]), 0);
	}
	for (uint32_t i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		lost_total[i] = hvlog_stream_lost_total(p[i].s);
		ck_assert_msg(lost_total[i] == p[i].ndropped, "stream %u: lost_total %" PRIu64 ", %zu dropped", i,
			      lost_total[i], p[i].ndropped);
	}
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	check_trace("overflow.hvl", &k, p, NTHREADS, 1, &tot);
	printf("nonblock: %" PRIu64 " events emitted by %d threads: %" PRIu64 " decoded, %" PRIu64
	       " dropped and reported lost\n",
	       tot.emitted, NTHREADS, tot.decoded, tot.lost);
	ck_assert_msg(tot.dropped > 0, "the slow sink never made a producer drop an event");
	ck_assert_msg(tot.decoded > 0, "nothing was decoded");
	for (uint32_t i = 0; i < NTHREADS; i++)
		producer_free(&p[i]);
	sink_free(&k);
}
END_TEST

/* A gated sink, one stream, two buffers: exactly two chunks fit, the rest
 * of the events are dropped; the losses come out at close (their chunk
 * full: the LOST record needs a chunk of its own before the final one). */
START_TEST(test_overflow_deterministic)
{
	hvlog_writer_config cfg = { .nstreams = 1, .chunk_size = 1024, .nonblocking = 1, .buffers = 2 };
	struct producer p;
	struct sink k;
	struct totals tot;
	hvlog_writer *w;
	hvlog_error err;

	sink_init(&k);
	ck_assert_int_eq(hvlog_writer_open_sink(&w, sink_fn, &k, &cfg, &err), HVLOG_OK);
	sink_gate(&k, 1);
	producer_init(&p, w, 0, 2000);
	produce(&p);
	ck_assert_msg(p.naccepted > 0 && p.ndropped > 0, "%zu accepted, %zu dropped", p.naccepted, p.ndropped);
	/* the flusher holds chunk 0; chunk 1 is full: nothing can move */
	ck_assert_int_eq(hvlog_stream_flush(p.s), HVLOG_FULL);
	ck_assert_uint_eq(hvlog_stream_lost_total(p.s), p.ndropped);
	sink_gate(&k, 0);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	check_trace("gated.hvl", &k, &p, 1, 1, &tot);
	ck_assert_uint_eq(tot.lost, p.ndropped);
	producer_free(&p);
	sink_free(&k);
}
END_TEST

/* Drops, then room again: the LOST record ends the next sealed chunk, the
 * producer goes on; flush queues a partial chunk. */
START_TEST(test_overflow_then_room)
{
	hvlog_writer_config cfg = { .nstreams = 2, .chunk_size = 512, .nonblocking = 1, .buffers = 2 };
	struct producer p[2];
	struct sink k;
	struct totals tot;
	hvlog_writer *w;
	hvlog_error err;

	sink_init(&k);
	ck_assert_int_eq(hvlog_writer_open_sink(&w, sink_fn, &k, &cfg, &err), HVLOG_OK);
	for (uint32_t i = 0; i < 2; i++)
		producer_init(&p[i], w, i, 3000);
	for (int round = 0; round < 3; round++) {
		sink_gate(&k, 1);
		for (uint32_t i = 0; i < 2; i++) {
			/* the next 1000 events (the same as last round's:
			 * time goes back, TIME records) */
			struct producer q = p[i];
			q.n = 1000;
			q.accepted = p[i].accepted + p[i].naccepted;
			q.dropped = p[i].dropped + p[i].ndropped;
			q.naccepted = q.ndropped = 0;
			q.id = i;
			produce(&q);
			p[i].naccepted += q.naccepted;
			p[i].ndropped += q.ndropped;
			p[i].errors += q.errors;
		}
		sink_gate(&k, 0);
		for (uint32_t i = 0; i < 2; i++) {
			hvlog_status st;
			/* wait until the flusher gave the buffers back */
			while ((st = hvlog_stream_flush(p[i].s)) == HVLOG_FULL)
				sleep_us(200);
			ck_assert_int_eq(st, HVLOG_OK);
		}
	}
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	check_trace("rounds.hvl", &k, p, 2, 1, &tot);
	ck_assert_msg(tot.dropped > 0, "nothing dropped");
	for (uint32_t i = 0; i < 2; i++)
		producer_free(&p[i]);
	sink_free(&k);
}
END_TEST

/* The sink fails now and then: the refused chunks' events are reported
 * lost too (a sequence gap and a LOST record), still exactly. */
START_TEST(test_failing_slow_sink)
{
	hvlog_writer_config cfg = { .nstreams = NTHREADS, .chunk_size = 1024, .nonblocking = 1, .buffers = 4 };
	struct producer p[NTHREADS];
	pthread_t th[NTHREADS];
	struct sink k;
	struct totals tot;
	hvlog_writer *w;
	hvlog_error err;
	hvlog_status st;

	sink_init(&k);
	k.delay_us = 50;
	k.fail_every = 7;
	ck_assert_int_eq(hvlog_writer_open_sink(&w, sink_fn, &k, &cfg, &err), HVLOG_OK);
	for (uint32_t i = 0; i < NTHREADS; i++) {
		producer_init(&p[i], w, i, PER_THREAD / 4);
		p[i].burst = 300;
		p[i].pause_us = 500;
		ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &p[i]), 0);
	}
	for (uint32_t i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	/* The final chunks must get through: a refused final chunk's events
	 * cannot be reported by a later one (the reader then says the stream
	 * ends without its final chunk). */
	pthread_mutex_lock(&k.lock);
	k.fail_every = 0;
	pthread_mutex_unlock(&k.lock);
	st = hvlog_writer_close(w, &err);
	ck_assert_msg(st == HVLOG_IO, "close after sink failures returned %s", hvlog_status_str(st));
	ck_assert_msg(k.failed > 0, "the sink never failed");
	check_trace("failing.hvl", &k, p, NTHREADS, 0, &tot);
	ck_assert_msg(tot.lost > tot.dropped, "refused chunks were not reported lost (%" PRIu64 " lost, %" PRIu64
		      " dropped)", tot.lost, tot.dropped);
	for (uint32_t i = 0; i < NTHREADS; i++)
		producer_free(&p[i]);
	sink_free(&k);
}
END_TEST

/* Losses noted while the chunk is full must not be written past its end
 * (hvlog_chunk_seal appends them; emit.h keeps HVLOG_LOST_MAX bytes for
 * them).  Wide events (16 9-byte values, an escaped number and a TIME
 * record: 159 bytes) fill the chunk; fillers of 21 to 28 bytes move the
 * end of the last one through every remainder; then a loss with 9-byte
 * fields (28 bytes) is noted and the writer closed.  Both modes; ASan
 * finds an overflow. */
#define P16(n) { "p" #n, "P" #n, HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE }
static const hvlog_param params16[16] = {
	P16(0), P16(1), P16(2), P16(3), P16(4), P16(5), P16(6), P16(7),
	P16(8), P16(9), P16(10), P16(11), P16(12), P16(13), P16(14), P16(15),
};
static const hvlog_group wide_groups[] = { { "g0", "Group Zero", 1 } };
static const hvlog_event wide_events[] = { { 0xFFFF, "HV_TR_WIDE", "Wide", 0, params16, 16, 0 } };
static const hvlog_schema wide_schema = { "wide", 1, wide_groups, 1, wide_events, 1, NULL, 0, 16 };

START_TEST(test_lost_when_full)
{
	hvlog_writer_config cfg = { .schema = &wide_schema, .nstreams = 1, .chunk_size = HVLOG_CHUNK_MIN };
	struct sink k;
	hvlog_writer *w;
	hvlog_error err;
	hvlog_stream *s;
	char path[PATH_MAX];
	tu_trace t;

	sink_init(&k);
	tu_path(path, sizeof path, dir, "full.hvl");
	for (int mode = 0; mode < 2; mode++)
		for (int fillers = 0; fillers < 9; fillers++)
			for (int extra = 0; extra < 8; extra++) {
				uint64_t big[16], small[16] = { 0 }, ts = UINT64_MAX / 2;
				size_t n = 0;

				for (int i = 0; i < 16; i++)
					big[i] = UINT64_MAX;
				cfg.nonblocking = mode;
				k.len = 0;
				ck_assert_int_eq(hvlog_writer_open_sink(&w, sink_fn, &k, &cfg, &err), HVLOG_OK);
				s = hvlog_writer_stream(w, 0);
				for (int i = 0; i < fillers; i++, n++) {
					small[0] = i == 0 && extra ? 1ull << (7 * extra) : 0;
					ck_assert_int_eq(hvlog_emit(s, ts += 1, &wide_events[0], small), HVLOG_OK);
				}
				/* time goes back at every wide event: a TIME record each */
				for (; s->cur <= s->end; n++)
					ck_assert_int_eq(hvlog_emit(s, ts -= 1, &wide_events[0], big), HVLOG_OK);
				TU_CHECK(s->cur + 28 <= s->buf + s->cap, "no room for a LOST record");
				hvlog_stream_note_lost(s, 1ull << 60, UINT64_MAX - 10, UINT64_MAX - 1);
				ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
				tu_save(path, k.p, k.len);
				tu_read_path(path, 0, &t);
				ck_assert_msg(t.ndmg == 0, "mode %d: %s", mode, tu_damage_summary(&t));
				ck_assert_uint_eq(t.ev.n, n);
				ck_assert_uint_eq(t.nlost, 1);
				ck_assert_uint_eq(t.lost[0].count, 1ull << 60);
				ck_assert_uint_eq(t.lost[0].last, UINT64_MAX - 1);
				tu_trace_free(&t);
			}
	sink_free(&k);
}
END_TEST

START_TEST(test_bad_buffers)
{
	hvlog_writer_config cfg = { .nonblocking = 1, .buffers = 1 };
	struct sink k;
	hvlog_writer *w;
	hvlog_error err;

	sink_init(&k);
	ck_assert_int_eq(hvlog_writer_open_sink(&w, sink_fn, &k, &cfg, &err), HVLOG_INVALID);
	cfg.buffers = 100000;
	ck_assert_int_eq(hvlog_writer_open_sink(&w, sink_fn, &k, &cfg, &err), HVLOG_INVALID);
	cfg.buffers = 0; /* default */
	ck_assert_int_eq(hvlog_writer_open_sink(&w, sink_fn, &k, &cfg, &err), HVLOG_OK);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	sink_free(&k);
}
END_TEST

static Suite *nonblock_suite(void)
{
	Suite *s = suite_create("nonblock");
	TCase *tc = tcase_create("nonblock");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_overflow_threads);
	tcase_add_test(tc, test_overflow_deterministic);
	tcase_add_test(tc, test_overflow_then_room);
	tcase_add_test(tc, test_failing_slow_sink);
	tcase_add_test(tc, test_lost_when_full);
	tcase_add_test(tc, test_bad_buffers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nonblock_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
