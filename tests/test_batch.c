/*
 * test_batch.c - hvlog_reader_next_batch hands out exactly the items of
 * hvlog_reader_next, in the same order and with the same fields: on every
 * golden and damaged file of testdata/, and on generated traces of runs
 * and of streams switching at every event, with payload damage, time
 * going back, lost records and a truncated tail; ordered and unordered,
 * with a group mask, a partition, batch sizes from 1 up, and the two
 * calls mixed on one reader.  The reader's totals at the end agree too.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "testutil.h"

/* One item, deep-copied: what a consumer can see of it. */
typedef struct rec {
	hvlog_item it;     /* event NULL: each reader has its own schema */
	uint32_t number;
	uint64_t v[HVLOG_MAX_PARAMS];
	char msg[200];
} rec;

typedef struct recs {
	rec *v;
	size_t n, cap;
	hvlog_status end;
	hvlog_reader_stats stats;
} recs;

static void push(recs *l, const hvlog_item *it)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		ck_assert_ptr_nonnull(l->v);
	}
	rec *r = &l->v[l->n++];
	memset(r, 0, sizeof *r);
	r->it.kind = it->kind;
	r->it.stream = it->stream;
	r->it.ts = it->ts;
	r->it.offset = it->offset;
	switch (it->kind) {
	case HVLOG_ITEM_EVENT:
		r->number = it->event->number;
		memcpy(r->v, it->values, it->event->nparams * sizeof *r->v);
		break;
	case HVLOG_ITEM_LOST:
		r->it.lost_count = it->lost_count;
		r->it.lost_first_ts = it->lost_first_ts;
		r->it.lost_last_ts = it->lost_last_ts;
		break;
	case HVLOG_ITEM_DAMAGE:
		r->it.damage = it->damage;
		r->it.damage_len = it->damage_len;
		r->it.damage_events = it->damage_events;
		r->it.chunk_seq = it->chunk_seq;
		snprintf(r->msg, sizeof r->msg, "%s", it->damage_msg ? it->damage_msg : "");
		break;
	}
}

/* How a reader is set up and read. */
typedef struct cfg {
	int ordered;
	uint64_t mask;
	uint32_t part, nparts;
	size_t cap;   /* 0: hvlog_reader_next only */
	int mixed;    /* every third call a hvlog_reader_next */
} cfg;

/* Read path with c; 0 if it does not open (then both ways must agree). */
static int read_all(const char *path, const cfg *c, recs *out)
{
	hvlog_reader *r;
	hvlog_error err = { 0 };

	memset(out, 0, sizeof *out);
	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK)
		return 0;
	hvlog_reader_set_ordered(r, c->ordered);
	if (c->mask)
		hvlog_reader_set_group_mask(r, c->mask);
	if (c->nparts)
		hvlog_reader_set_partition(r, c->part, c->nparts);
	hvlog_batch *b = c->cap ? hvlog_batch_new(c->cap) : NULL;
	ck_assert(!c->cap || b);
	for (unsigned call = 0;; call++) {
		hvlog_status st;
		if (!b || (c->mixed && call % 3 == 2)) {
			const hvlog_item *it;
			if ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK)
				push(out, it);
		} else {
			st = hvlog_reader_next_batch(r, b, &err);
			TU_CHECK(st != HVLOG_OK || (b->n >= 1 && b->n <= b->cap), "%s: batch of %zu", path, b->n);
			TU_CHECK(st != HVLOG_END || b->n == 0, "%s: END with %zu items", path, b->n);
			for (size_t i = 0; i < b->n; i++) {
				TU_CHECK(b->items[i].kind != HVLOG_ITEM_DAMAGE || i + 1 == b->n,
					 "%s: damage item %zu of %zu does not end its batch", path, i, b->n);
				push(out, &b->items[i]);
			}
		}
		if (st != HVLOG_OK) {
			out->end = st;
			break;
		}
	}
	hvlog_reader_stats_get(r, &out->stats);
	hvlog_batch_free(b);
	hvlog_reader_close(r);
	return 1;
}

static void assert_same(const char *what, const recs *a, const recs *b)
{
	TU_CHECK(a->end == b->end, "%s: ends %s and %s", what, hvlog_status_str(a->end), hvlog_status_str(b->end));
	TU_CHECK(a->n == b->n, "%s: %zu items one at a time, %zu in batches", what, a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const rec *x = &a->v[i], *y = &b->v[i];
		TU_CHECK(x->it.kind == y->it.kind && x->it.stream == y->it.stream && x->it.ts == y->it.ts &&
				 x->it.offset == y->it.offset,
			 "%s: item %zu: kind %d/%d stream %u/%u ts %" PRIu64 "/%" PRIu64 " offset %" PRIu64
			 "/%" PRIu64,
			 what, i, x->it.kind, y->it.kind, x->it.stream, y->it.stream, x->it.ts, y->it.ts,
			 x->it.offset, y->it.offset);
		TU_CHECK(!memcmp(&x->it, &y->it, sizeof x->it) && x->number == y->number && !memcmp(x->v, y->v, sizeof x->v) &&
				 !strcmp(x->msg, y->msg),
			 "%s: item %zu (offset %" PRIu64 ") differs in its fields", what, i, x->it.offset);
	}
	TU_CHECK(!memcmp(&a->stats, &b->stats, sizeof a->stats), "%s: the reader's totals differ", what);
}

static const size_t caps[] = { 1, 2, 7, 256, 4096 };

/* Every configuration on one file. */
static void check_file(const char *path, size_t *items)
{
	const cfg base[] = {
		{ .ordered = 1 },
		{ .ordered = 0 },
		{ .ordered = 1, .mask = 0x800 },  /* interrupt */
		{ .ordered = 1, .mask = 0x8000 }, /* another group */
		{ .ordered = 1, .part = 1, .nparts = 3 },
	};
	for (size_t k = 0; k < sizeof base / sizeof *base; k++) {
		recs one;
		if (!read_all(path, &base[k], &one))
			return;
		*items += one.n;
		for (size_t j = 0; j < sizeof caps / sizeof *caps; j++) {
			for (int mixed = 0; mixed < 2; mixed++) {
				cfg c = base[k];
				recs many;
				char what[PATH_MAX + 64];
				c.cap = caps[j];
				c.mixed = mixed;
				ck_assert(read_all(path, &c, &many));
				snprintf(what, sizeof what, "%s (config %zu, batch %zu%s)", path, k, c.cap,
					 mixed ? ", mixed" : "");
				assert_same(what, &one, &many);
				free(many.v);
			}
		}
		free(one.v);
	}
}

static void check_dir(const char *sub, size_t *files, size_t *items)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/testdata/%s", HVLOG_SOURCE_DIR, sub);
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".bin"))
			continue;
		tu_path(path, sizeof path, dir, de->d_name);
		check_file(path, items);
		++*files;
	}
	closedir(d);
}

START_TEST(test_batch_testdata)
{
	size_t files = 0, items = 0;

	check_dir("golden", &files, &items);
	check_dir("damaged", &files, &items);
	TU_CHECK(files >= 10 && items > 0, "only %zu files, %zu items", files, items);
}
END_TEST

/* A trace of nstreams streams: runs of events on one stream (run 0: the
 * stream changes at every event), many ties; with `back`, time now and
 * then going back, and lost records; 16 KiB chunks.  want: the events
 * emitted (NULL: not kept). */
static void write_trace(const char *path, uint32_t nstreams, size_t n, size_t run, int back, uint64_t seed,
			tu_events *want)
{
	const hvlog_schema *sch = hvlog_schema_builtin();
	hvlog_writer_config wc = { .nstreams = nstreams, .chunk_size = 16384, .clock_hz = 1000000000u };
	hvlog_writer *w;
	hvlog_error err = { 0 };
	tu_rng rng = { seed };
	uint64_t ts[64] = { 0 };

	ck_assert(nstreams <= 64);
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &wc, &err), HVLOG_OK);
	for (size_t i = 0; i < n;) {
		uint32_t s = (uint32_t)tu_rand_below(&rng, nstreams);
		size_t len = run ? 1 + tu_rand_below(&rng, 2 * run) : 1;
		for (size_t k = 0; k < len && i < n; k++, i++) {
			const hvlog_event *ev = &sch->events[tu_rand_below(&rng, sch->nevents)];
			tu_event e = { .stream = s };
			uint64_t r = back ? tu_rand_below(&rng, 1000) : 1000;
			ts[s] += r == 0 ? (uint64_t)-5 : tu_rand_below(&rng, 4); /* ties; 1 in 1000 goes back */
			e.ts = ts[s];
			for (uint32_t p = 0; p < ev->nparams; p++)
				e.v[p] = tu_rand_value(&rng, &ev->params[p]);
			if (r == 1)
				hvlog_stream_note_lost(hvlog_writer_stream(w, s), 3, ts[s], ts[s]);
			tu_emit(hvlog_writer_stream(w, s), ev, &e, want);
		}
	}
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
}

/* Flip a byte inside the payload of every k-th chunk, take out the chunk
 * after it (a sequence gap: damage at the time of the stream's next item,
 * a tie the merge must break the same way), cut the tail. */
static void damage_copy(const char *from, const char *to, size_t every, size_t cut)
{
	size_t len, out = 0;
	uint8_t *buf = tu_load(from, &len);
	tu_chunk *c;
	size_t nc = tu_chunks(buf, len, &c);

	for (size_t i = 1; i < nc; i += every)
		if (c[i].len > 40)
			buf[c[i].off + HVLOG_CHUNK_HEADER_SIZE + c[i].len / 2] ^= 0x5a;
	for (size_t i = 0; i < nc; i++) {
		size_t from_off = i ? c[i].off : 0, to_off = i + 1 < nc ? c[i + 1].off : len;
		if (i % every == 2)
			continue;
		memmove(buf + out, buf + from_off, to_off - from_off);
		out += to_off - from_off;
	}
	len = out;
	tu_save(to, buf, len > cut ? len - cut : len);
	free(c);
	free(buf);
}

START_TEST(test_batch_generated)
{
	static const struct {
		uint32_t nstreams;
		size_t run;
	} shapes[] = { { 1, 8 }, { 4, 0 }, { 5, 40 }, { 17, 3 } };
	char dir[PATH_MAX], path[PATH_MAX], bad[PATH_MAX];
	size_t items = 0;

	tu_mkdtemp(dir, sizeof dir);
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		tu_path(path, sizeof path, dir, "t.hvl");
		tu_path(bad, sizeof bad, dir, "bad.hvl");
		tu_events want = { 0 };
		tu_trace t;
		/* without time going back, the order is known: the reader
		 * (reading ahead) gives every event as written, in it */
		write_trace(path, shapes[i].nstreams, 20000, shapes[i].run, 0, 77 + i, &want);
		tu_read_path(path, 0, &t);
		tu_events_sort_reader_order(&want);
		tu_assert_events_equal("runs of events", &want, &t.ev);
		tu_trace_free(&t);
		tu_events_free(&want);
		check_file(path, &items);
		write_trace(path, shapes[i].nstreams, 20000, shapes[i].run, 1, 77 + i, NULL);
		check_file(path, &items);
		damage_copy(path, bad, 3, 1000);
		check_file(bad, &items);
	}
	tu_rmtree(dir);
	TU_CHECK(items > 100000, "only %zu items", items);
}
END_TEST

/* The edges of the call: a batch of 0 or over 2^20 items is refused; after
 * the end, every call says so again with no items. */
START_TEST(test_batch_edges)
{
	char path[PATH_MAX];
	hvlog_reader *r;
	hvlog_error err = { 0 };
	hvlog_batch *b;

	ck_assert_ptr_null(hvlog_batch_new(0));
	ck_assert_ptr_null(hvlog_batch_new(((size_t)1 << 20) + 1));
	hvlog_batch_free(NULL);
	snprintf(path, sizeof path, "%s/testdata/golden/mix.bin", HVLOG_SOURCE_DIR);
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	ck_assert_ptr_nonnull(b = hvlog_batch_new(1 << 20));
	ck_assert_int_eq(hvlog_reader_next_batch(r, b, &err), HVLOG_OK);
	ck_assert_uint_gt(b->n, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(hvlog_reader_next_batch(r, b, &err), HVLOG_END);
		ck_assert_uint_eq(b->n, 0);
	}
	hvlog_batch_free(b);
	hvlog_reader_close(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("batch");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_batch_testdata);
	tcase_add_test(tc, test_batch_generated);
	tcase_add_test(tc, test_batch_edges);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
