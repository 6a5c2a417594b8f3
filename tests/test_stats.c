/*
 * test_stats.c - the library's statistics (hvlog/stats.h): a sequence of
 * items cut into consecutive runs, each counted on its own and merged in
 * order, gives exactly the statistics of the whole (counts, intervals,
 * top values while exact); the intervals and quantiles against a brute
 * force; an inexact top table after merging keeps its documented bounds;
 * merging what does not fit is refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "testutil.h"

enum { NSTREAMS = 5 };

static const hvlog_stream_info streams[NSTREAMS] = {
	{ "vp0", 7, 0 }, { "vp1", 7, 1 }, { "vp2", 9, 0 }, { "hv", 0, UINT32_MAX }, { "vp3", 9, 1 },
};

static hvlog_meta meta(uint32_t nstreams)
{
	return (hvlog_meta){ .clock_hz = 1000000000, .schema = hvlog_schema_builtin(), .nstreams = nstreams,
			     .streams = streams };
}

/* An item sequence: events of a few types (with time going back now and
 * then, ties, and the same type on several streams), lost records and
 * damage; values of `port` and `guest_rip` from `distinct` values, skewed:
 * power 0, half of them one of 8 hot values; else distinct * u^power for
 * u uniform in [0, 1), a continuum from frequent to rare. */
typedef struct seq {
	hvlog_item *it;
	uint64_t (*v)[HVLOG_MAX_PARAMS];
	size_t n;
} seq;

static const char *const types[] = { "HV_TR_IM_IO_PORT_READ", "HV_TR_IM_IO_PORT_WRITE", "HV_TR_IM_HLT_INSTRUCTION",
				     "HV_TR_IM_MSR_READ" };

static void seq_make(seq *q, size_t n, uint64_t distinct, uint64_t seed, int power)
{
	const hvlog_schema *sc = hvlog_schema_builtin();
	tu_rng rng = { seed };
	uint64_t ts = 1000;

	q->n = n;
	q->it = calloc(n, sizeof *q->it);
	q->v = calloc(n, sizeof *q->v);
	ck_assert(q->it && q->v);
	for (size_t i = 0; i < n; i++) {
		hvlog_item *it = &q->it[i];
		uint64_t r = tu_rand_below(&rng, 1000);
		it->stream = (uint32_t)tu_rand_below(&rng, NSTREAMS);
		if (r < 5) {
			it->kind = HVLOG_ITEM_LOST;
			it->lost_count = 1 + tu_rand_below(&rng, 100);
		} else if (r < 7) {
			it->kind = HVLOG_ITEM_DAMAGE;
			it->stream = UINT32_MAX;
		} else {
			it->kind = HVLOG_ITEM_EVENT;
			it->event = hvlog_schema_lookup_event(sc, types[tu_rand_below(&rng, 4)]);
			ck_assert(it->event != NULL);
			for (uint32_t p = 0; p < it->event->nparams; p++) {
				/* skewed: half the time one of 8 hot values */
				uint64_t k = tu_rand_below(&rng, 2) ? tu_rand_below(&rng, 8) : tu_rand_below(&rng, distinct);
				if (power) {
					double u = (double)tu_rand_below(&rng, 1u << 30) / (double)(1u << 30), x = u;
					for (int j = 1; j < power; j++)
						x *= u;
					k = (uint64_t)((double)distinct * x);
				}
				q->v[i][p] = 0x100 + k;
			}
			it->values = q->v[i];
		}
		/* mostly forward in small and large steps, some ties, some back */
		r = tu_rand_below(&rng, 100);
		ts = r < 2 && ts > 5000 ? ts - tu_rand_below(&rng, 5000) : r < 10 ? ts : ts + 1 + tu_rand_below(&rng, r < 90 ? 50 : 100000);
		it->ts = ts;
	}
}

static void seq_free(seq *q)
{
	free(q->it);
	free(q->v);
}

static hvlog_stats *make(const hvlog_meta *m, const hvlog_stats_config *cfg)
{
	hvlog_stats *s;
	hvlog_error err = { 0 };

	ck_assert_msg(hvlog_stats_create(&s, m, cfg, &err) == HVLOG_OK, "create: %s", err.msg);
	return s;
}

static void add_range(hvlog_stats *s, const seq *q, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		TU_CHECK(hvlog_stats_add(s, &q->it[i]) == HVLOG_OK, "add item %zu", i);
}

/* Every read-out of a and b equal; the top values if a's are exact (else
 * only how many events have the parameter). */
static void assert_same(const hvlog_stats *a, const hvlog_stats *b, uint32_t ntops, const char *what)
{
	const hvlog_schema *sc = hvlog_schema_builtin();
	hvlog_stats_totals ta, tb;
	uint64_t ia[NSTREAMS], ib[NSTREAMS], ca[NSTREAMS], cb[NSTREAMS];
	uint32_t na, nb;

	hvlog_stats_totals_get(a, &ta);
	hvlog_stats_totals_get(b, &tb);
	ck_assert_msg(!memcmp(&ta, &tb, sizeof ta), "%s: totals differ (events %llu vs %llu)", what,
		      (unsigned long long)ta.events, (unsigned long long)tb.events);
	for (uint32_t g = 0; g < sc->ngroups; g++)
		ck_assert_uint_eq(hvlog_stats_group_count(a, g), hvlog_stats_group_count(b, g));
	for (uint32_t i = 0; i < NSTREAMS; i++) {
		ck_assert_uint_eq(hvlog_stats_stream_count(a, i), hvlog_stats_stream_count(b, i));
		ck_assert_uint_eq(hvlog_stats_stream_lost(a, i), hvlog_stats_stream_lost(b, i));
	}
	na = hvlog_stats_partitions(a, ia, ca, NSTREAMS);
	nb = hvlog_stats_partitions(b, ib, cb, NSTREAMS);
	ck_assert_uint_eq(na, nb);
	ck_assert(!memcmp(ia, ib, na * sizeof *ia) && !memcmp(ca, cb, na * sizeof *ca));
	for (uint32_t e = 0; e < sc->nevents; e++) {
		hvlog_stats_interval va, vb;
		ck_assert_uint_eq(hvlog_stats_event_count(a, e), hvlog_stats_event_count(b, e));
		hvlog_stats_interval_get(a, e, &va);
		hvlog_stats_interval_get(b, e, &vb);
		ck_assert_msg(!memcmp(&va, &vb, sizeof va), "%s: intervals of %s differ: %llu [%llu, %llu] vs %llu [%llu, %llu]",
			      what, sc->events[e].symbol, (unsigned long long)va.count, (unsigned long long)va.min,
			      (unsigned long long)va.max, (unsigned long long)vb.count, (unsigned long long)vb.min,
			      (unsigned long long)vb.max);
		for (int k = 1; va.count && k <= 100; k++) {
			uint64_t qa = 0, qb = 1;
			ck_assert(hvlog_stats_interval_quantile(a, e, k / 100.0, &qa) == HVLOG_OK);
			ck_assert(hvlog_stats_interval_quantile(b, e, k / 100.0, &qb) == HVLOG_OK);
			ck_assert_msg(qa == qb, "%s: %s quantile %d%%: %llu vs %llu", what, sc->events[e].symbol, k,
				      (unsigned long long)qa, (unsigned long long)qb);
		}
	}
	for (uint32_t t = 0; t < ntops; t++) {
		hvlog_stats_top_info fa, fb;
		static hvlog_stats_value va[8192], vb[8192];
		ck_assert(hvlog_stats_top_info_get(a, t, &fa) == HVLOG_OK && hvlog_stats_top_info_get(b, t, &fb) == HVLOG_OK);
		ck_assert_uint_eq(fa.events, fb.events);
		if (!fa.exact)
			continue;
		ck_assert_msg(!memcmp(&fa, &fb, sizeof fa), "%s: top %u info differs", what, t);
		na = hvlog_stats_top_values(a, t, va, 8192);
		nb = hvlog_stats_top_values(b, t, vb, 8192);
		ck_assert_uint_eq(na, nb);
		for (uint32_t i = 0; i < na; i++)
			ck_assert_msg(!memcmp(&va[i], &vb[i], sizeof va[i]), "%s: top %u value %u differs", what, t, i);
	}
}

static const hvlog_stats_top tops[] = { { "port", NULL, 10 }, { "guest_rip", NULL, 3 } };
static const hvlog_stats_config cfg = { tops, 2 };

/* Runs cut at random points, merged in order, equal the whole; so does
 * merging into an empty object; and merge(a, b) is not merge(b, a) for
 * the intervals but is for the counts. */
START_TEST(test_merge_runs_exact)
{
	hvlog_meta m = meta(NSTREAMS);
	seq q;
	tu_rng rng = { 42 };

	seq_make(&q, 60000, 2000, 7 + (uint64_t)_i, 0);
	hvlog_stats *whole = make(&m, &cfg);
	add_range(whole, &q, 0, q.n);
	for (int round = 0; round < 4; round++) {
		size_t cut[9];
		int k = 2 + (int)tu_rand_below(&rng, 7);
		hvlog_stats *acc = make(&m, &cfg);
		cut[0] = 0;
		for (int i = 1; i < k; i++)
			cut[i] = cut[i - 1] + tu_rand_below(&rng, (q.n - cut[i - 1]) / 2 + 1);
		cut[k] = q.n;
		for (int i = 0; i < k; i++) {
			hvlog_stats *part = make(&m, &cfg);
			add_range(part, &q, cut[i], cut[i + 1]);
			ck_assert(hvlog_stats_merge(acc, part, NULL) == HVLOG_OK);
			hvlog_stats_free(part);
		}
		assert_same(whole, acc, 2, "runs merged in order");
		hvlog_stats_free(acc);
	}
	{
		hvlog_stats_top_info info;
		ck_assert(hvlog_stats_top_info_get(whole, 0, &info) == HVLOG_OK);
		ck_assert_msg(info.exact && info.distinct > 1000, "the exact case: %u distinct", info.distinct);
	}
	hvlog_stats_free(whole);
	seq_free(&q);
}
END_TEST

/* The intervals against a brute force: per type, consecutive events in
 * sequence order, going back gives none; min and max exact, quantiles
 * within 1/32 of the true value of their rank. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

START_TEST(test_intervals_brute_force)
{
	const hvlog_schema *sc = hvlog_schema_builtin();
	hvlog_meta m = meta(NSTREAMS);
	seq q;
	uint64_t *d = malloc(60000 * sizeof *d);

	seq_make(&q, 60000, 50, 99, 0);
	hvlog_stats *s = make(&m, NULL);
	add_range(s, &q, 0, q.n);
	for (uint32_t e = 0; e < sc->nevents; e++) {
		hvlog_stats_interval iv;
		size_t n = 0, seen = 0;
		uint64_t last = 0;
		for (size_t i = 0; i < q.n; i++) {
			if (q.it[i].kind != HVLOG_ITEM_EVENT || q.it[i].event != &sc->events[e])
				continue;
			if (seen++ && q.it[i].ts >= last)
				d[n++] = q.it[i].ts - last;
			last = q.it[i].ts;
		}
		ck_assert_uint_eq(hvlog_stats_event_count(s, e), seen);
		hvlog_stats_interval_get(s, e, &iv);
		ck_assert_uint_eq(iv.count, n);
		if (!n) {
			uint64_t v;
			ck_assert(hvlog_stats_interval_quantile(s, e, 0.5, &v) == HVLOG_INVALID);
			continue;
		}
		qsort(d, n, sizeof *d, cmp_u64);
		ck_assert_uint_eq(iv.min, d[0]);
		ck_assert_uint_eq(iv.max, d[n - 1]);
		for (int k = 1; k <= 100; k++) {
			uint64_t v, rank = (uint64_t)(k / 100.0 * (double)n + 0.999999), want;
			rank = rank < 1 ? 1 : rank > n ? n : rank;
			want = d[rank - 1];
			ck_assert(hvlog_stats_interval_quantile(s, e, k / 100.0, &v) == HVLOG_OK);
			ck_assert_msg((double)(v > want ? v - want : want - v) <= (double)want / 32.0,
				      "%s p%d: %llu, true %llu", sc->events[e].symbol, k, (unsigned long long)v,
				      (unsigned long long)want);
		}
	}
	{
		uint64_t v;
		ck_assert(hvlog_stats_interval_quantile(s, 0, 0.0, &v) == HVLOG_INVALID);
		ck_assert(hvlog_stats_interval_quantile(s, 0, 1.5, &v) == HVLOG_INVALID);
		ck_assert(hvlog_stats_interval_quantile(s, sc->nevents, 0.5, &v) == HVLOG_INVALID);
	}
	hvlog_stats_free(s);
	seq_free(&q);
	free(d);
}
END_TEST

/* Counts and top values do not depend on the order: runs that interleave
 * (every other item), merged in any order, give the whole's. */
START_TEST(test_merge_interleaved_counts)
{
	const hvlog_schema *sc = hvlog_schema_builtin();
	hvlog_meta m = meta(NSTREAMS);
	seq q;

	seq_make(&q, 30000, 1000, 5, 0);
	hvlog_stats *whole = make(&m, &cfg), *a = make(&m, &cfg), *b = make(&m, &cfg);
	add_range(whole, &q, 0, q.n);
	for (size_t i = 0; i < q.n; i++)
		ck_assert(hvlog_stats_add(i % 2 ? a : b, &q.it[i]) == HVLOG_OK);
	ck_assert(hvlog_stats_merge(a, b, NULL) == HVLOG_OK);
	for (uint32_t e = 0; e < sc->nevents; e++)
		ck_assert_uint_eq(hvlog_stats_event_count(a, e), hvlog_stats_event_count(whole, e));
	for (uint32_t t = 0; t < 2; t++) {
		static hvlog_stats_value va[4096], vw[4096];
		uint32_t na = hvlog_stats_top_values(a, t, va, 4096), nw = hvlog_stats_top_values(whole, t, vw, 4096);
		ck_assert_uint_eq(na, nw);
		ck_assert(!memcmp(va, vw, na * sizeof *va));
	}
	hvlog_stats_free(whole);
	hvlog_stats_free(a);
	hvlog_stats_free(b);
	seq_free(&q);
}
END_TEST

/* More distinct values than the table: merged partials are inexact, and
 * each reported count c with error e bounds the true count t as
 * c - e <= t <= c, e is at most the least counts of the last merge's two
 * tables added up (and at most the merged table's least count), and
 * every value more frequent than the table's least count is reported. */
START_TEST(test_merge_inexact_bounds)
{
	hvlog_meta m = meta(NSTREAMS);
	static const hvlog_stats_top one[] = { { "port", NULL, 1 } };
	static const hvlog_stats_config c1 = { one, 1 };
	enum { DISTINCT = 50000, PARTS = 5 };
	uint64_t *truth = calloc(DISTINCT + 8, sizeof *truth), floors = 0, total = 0, least = 0;
	static hvlog_stats_value v[4096];
	hvlog_stats_top_info info;
	seq q;

	seq_make(&q, 300000, DISTINCT, 11, 3);
	for (size_t i = 0; i < q.n; i++)
		if (q.it[i].kind == HVLOG_ITEM_EVENT && q.it[i].event->nparams > 1 &&
		    !strcmp(q.it[i].event->params[1].key, "port")) {
			truth[q.v[i][1] - 0x100]++;
			total++;
		}
	hvlog_stats *acc = make(&m, &c1);
	for (int p = 0; p < PARTS; p++) {
		hvlog_stats *part = make(&m, &c1);
		uint32_t n;
		add_range(part, &q, q.n * p / PARTS, q.n * (p + 1) / PARTS);
		ck_assert(hvlog_stats_top_info_get(part, 0, &info) == HVLOG_OK);
		ck_assert(!info.exact && info.distinct == info.capacity);
		/* the least counts of the two full tables of the last merge */
		n = hvlog_stats_top_values(part, 0, v, 4096);
		ck_assert_uint_eq(n, 4096);
		floors = v[n - 1].count + least;
		ck_assert(hvlog_stats_merge(acc, part, NULL) == HVLOG_OK);
		hvlog_stats_free(part);
		n = hvlog_stats_top_values(acc, 0, v, 4096);
		least = v[n - 1].count;
	}
	ck_assert(hvlog_stats_top_info_get(acc, 0, &info) == HVLOG_OK);
	ck_assert(!info.exact);
	ck_assert_uint_eq(info.events, total);
	ck_assert_uint_eq(info.capacity, 4096);
	uint32_t n = hvlog_stats_top_values(acc, 0, v, 4096);
	ck_assert_uint_eq(n, 4096);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = truth[v[i].value - 0x100];
		ck_assert_msg(v[i].count >= t && v[i].count - v[i].error <= t,
			      "value 0x%llx: count %llu error %llu, true %llu", (unsigned long long)v[i].value,
			      (unsigned long long)v[i].count, (unsigned long long)v[i].error, (unsigned long long)t);
		ck_assert_uint_le(v[i].error, floors);
		ck_assert_uint_le(v[i].error, least);
		if (i)
			ck_assert(v[i - 1].count > v[i].count ||
				  (v[i - 1].count == v[i].count && v[i - 1].value < v[i].value));
	}
	uint32_t checked = 0;
	for (uint64_t x = 0; x < DISTINCT + 8; x++) {
		int found = 0;
		if (truth[x] <= least)
			continue;
		checked++;
		for (uint32_t i = 0; i < n && !found; i++)
			found = v[i].value == x + 0x100;
		ck_assert_msg(found, "frequent value 0x%llx (%llu of %llu) missing", (unsigned long long)(x + 0x100),
			      (unsigned long long)truth[x], (unsigned long long)total);
	}
	ck_assert_uint_gt(checked, 10);
	hvlog_stats_free(acc);
	seq_free(&q);
	free(truth);
}
END_TEST

/* Merging statistics of another layout or configuration is refused and
 * leaves the target as it was; so are bad configurations. */
START_TEST(test_merge_refused)
{
	hvlog_meta m = meta(NSTREAMS), m4 = meta(4);
	static const hvlog_stats_top other[] = { { "port", NULL, 11 }, { "guest_rip", NULL, 3 } };
	static const hvlog_stats_config cother = { other, 2 };
	static const hvlog_stats_top unknown[] = { { "no_such_parameter", NULL, 10 } };
	static const hvlog_stats_config cunknown = { unknown, 1 };
	static const hvlog_stats_top zero[] = { { "port", NULL, 0 } };
	static const hvlog_stats_config czero = { zero, 1 };
	hvlog_error err = { 0 };
	hvlog_stats *s = NULL;
	seq q;

	seq_make(&q, 2000, 10, 3, 0);
	hvlog_stats *a = make(&m, &cfg), *ref = make(&m, &cfg), *b = make(&m, &cother), *c = make(&m4, &cfg);
	add_range(a, &q, 0, q.n);
	add_range(ref, &q, 0, q.n);
	add_range(b, &q, 0, q.n);
	ck_assert(hvlog_stats_merge(a, b, &err) == HVLOG_INVALID);
	ck_assert(err.status == HVLOG_INVALID && err.msg[0]);
	ck_assert(hvlog_stats_merge(a, c, NULL) == HVLOG_INVALID);
	ck_assert(hvlog_stats_merge(a, a, NULL) == HVLOG_INVALID);
	assert_same(a, ref, 2, "after refused merges");
	ck_assert(hvlog_stats_create(&s, &m, &cunknown, &err) == HVLOG_INVALID && s == NULL);
	ck_assert(strstr(err.msg, "no_such_parameter") != NULL);
	ck_assert(hvlog_stats_create(&s, &m, &czero, &err) == HVLOG_INVALID && s == NULL);
	ck_assert(hvlog_stats_create(&s, NULL, NULL, &err) == HVLOG_INVALID && s == NULL);
	hvlog_stats_free(a);
	hvlog_stats_free(ref);
	hvlog_stats_free(b);
	hvlog_stats_free(c);
	hvlog_stats_free(NULL);
	seq_free(&q);
}
END_TEST

/* An item of another schema's event table is not counted. */
START_TEST(test_foreign_event)
{
	hvlog_meta m = meta(NSTREAMS);
	hvlog_event ev = hvlog_schema_builtin()->events[0];
	uint64_t vals[HVLOG_MAX_PARAMS] = { 0 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .event = &ev, .values = vals };
	hvlog_stats_totals t;
	hvlog_stats *s = make(&m, &cfg);

	ck_assert(hvlog_stats_add(s, &it) == HVLOG_INVALID);
	hvlog_stats_totals_get(s, &t);
	ck_assert_uint_eq(t.events, 0);
	hvlog_stats_free(s);
}
END_TEST

/* What the CLI does with -j: a trace file read on one reader in time
 * order, and on N readers each a tick range (hvlog_reader_set_time_range,
 * items outside the range dropped), merged in range order: the same. */
START_TEST(test_time_range_shares)
{
	char dir[4096], path[4096];
	hvlog_stream_info si[3] = { { "a", 1, 0 }, { "b", 1, 1 }, { "c", 2, 0 } };
	hvlog_writer_config wc = { .nstreams = 3, .streams = si, .chunk_size = 4096 };
	tu_events want = { 0 };
	tu_rng rng = { 1234 };
	uint64_t ts = 10;
	hvlog_writer *w;
	hvlog_reader *r;
	hvlog_reader_stats rst;
	hvlog_error err = { 0 };
	const hvlog_item *it;

	tu_mkdtemp(dir, sizeof dir);
	tu_path(path, sizeof path, dir, "t.hvlog");
	ck_assert(hvlog_writer_open_path(&w, path, &wc, &err) == HVLOG_OK);
	tu_emit_random(w, 3, 50000, &rng, &ts, &want);
	ck_assert(hvlog_writer_close(w, &err) == HVLOG_OK);

	ck_assert(hvlog_reader_open_path(&r, path, &err) == HVLOG_OK);
	hvlog_reader_stats_get(r, &rst);
	hvlog_stats *whole = make(hvlog_reader_meta(r), &cfg);
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
		ck_assert(hvlog_stats_add(whole, it) == HVLOG_OK);
	hvlog_reader_close(r);
	/* hvlog_stats_run: the same as adding each item, and it stops at the limit */
	{
		hvlog_run_counts rc = { 0 };
		hvlog_stats_totals t;
		ck_assert(hvlog_reader_open_path(&r, path, &err) == HVLOG_OK);
		hvlog_stats *run = make(hvlog_reader_meta(r), &cfg);
		ck_assert(hvlog_stats_run(run, r, NULL, UINT64_MAX, NULL, NULL, &rc, &err) == HVLOG_END);
		assert_same(whole, run, 2, "hvlog_stats_run");
		hvlog_stats_free(run);
		hvlog_reader_close(r);
		ck_assert(hvlog_reader_open_path(&r, path, &err) == HVLOG_OK);
		run = make(hvlog_reader_meta(r), &cfg);
		rc = (hvlog_run_counts){ 0 };
		ck_assert(hvlog_stats_run(run, r, NULL, 100, NULL, NULL, &rc, &err) == HVLOG_END);
		hvlog_stats_totals_get(run, &t);
		ck_assert_uint_eq(t.events, 100);
		ck_assert_uint_eq(rc.events, 100);
		hvlog_stats_free(run);
		hvlog_reader_close(r);
	}
	for (uint64_t n = 2; n <= 5; n++) {
		uint64_t step = (rst.last_ts - rst.first_ts) / n;
		hvlog_stats *acc = NULL;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t lo = k ? rst.first_ts + step * k : 0, hi = k + 1 < n ? rst.first_ts + step * (k + 1) - 1 : UINT64_MAX;
			ck_assert(hvlog_reader_open_path(&r, path, &err) == HVLOG_OK);
			hvlog_reader_set_time_range(r, lo, hi);
			hvlog_stats *part = make(hvlog_reader_meta(r), &cfg);
			while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
				if (it->ts >= lo && it->ts <= hi)
					ck_assert(hvlog_stats_add(part, it) == HVLOG_OK);
			hvlog_reader_close(r);
			if (!acc) {
				acc = part;
				continue;
			}
			ck_assert(hvlog_stats_merge(acc, part, NULL) == HVLOG_OK);
			hvlog_stats_free(part);
		}
		assert_same(whole, acc, 2, "time-range shares");
		hvlog_stats_free(acc);
	}
	hvlog_stats_free(whole);
	tu_events_free(&want);
	tu_rmtree(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_merge_runs_exact, 0, 3);
	tcase_add_test(tc, test_intervals_brute_force);
	tcase_add_test(tc, test_merge_interleaved_counts);
	tcase_add_test(tc, test_merge_inexact_bounds);
	tcase_add_test(tc, test_merge_refused);
	tcase_add_test(tc, test_foreign_event);
	tcase_add_test(tc, test_time_range_shares);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
