/*
 * testutil.c - shared helpers of the Check unit tests (see testutil.h).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "wire.h"

/* ---- files and directories ---------------------------------------- */

void tu_mkdtemp(char *path, size_t cap)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(path, cap, "%s/hvlog-test-XXXXXX", tmp);
	ck_assert_msg(n > 0 && (size_t)n < cap, "temporary directory name too long");
	ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp(%s): %s", path, strerror(errno));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);
	ck_assert_msg(n > 0 && (size_t)n < cap, "path too long: %s/%s", dir, name);
}

uint8_t *tu_load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long size;

	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_msg(size >= 0, "ftell(%s) failed", path);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_msg(fread(buf, 1, (size_t)size, f) == (size_t)size, "short read of %s", path);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

void tu_save(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
	ck_assert_msg(len == 0 || fwrite(buf, 1, len, f) == len, "short write to %s", path);
	ck_assert_msg(fclose(f) == 0, "closing %s failed", path);
}

/* ---- generator ------------------------------------------------------ */

uint64_t tu_rand(tu_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t tu_rand_below(tu_rng *r, uint64_t n)
{
	return tu_rand(r) % n;
}

uint64_t tu_rand_value(tu_rng *r, const hvlog_param *p)
{
	uint64_t max = hvlog_type_max(p->type);
	unsigned k = (unsigned)tu_rand_below(r, 8);

	if (p->type == HVLOG_TYPE_BOOL)
		return tu_rand(r) & 1;
	if (k == 0)
		return 0;
	if (k == 1)
		return max;
	/* random width, so that varints of every length occur */
	/* two draws in two statements: C leaves the order of calls in one
	 * expression open, and the same seed must give the same trace */
	uint64_t v = tu_rand(r);
	return (v >> tu_rand_below(r, 64)) & max;
}

/* ---- events ---------------------------------------------------------- */

void tu_events_push(tu_events *l, const tu_event *e)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 256;
		tu_event *nv = realloc(l->v, nc * sizeof *nv);
		TU_CHECK(nv != NULL, "out of memory");
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *e;
}

void tu_events_free(tu_events *l)
{
	free(l->v);
	*l = (tu_events){ 0 };
}

static int cmp_reader_order(const void *a, const void *b)
{
	const tu_event *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->stream != y->stream)
		return x->stream < y->stream ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

void tu_events_sort_reader_order(tu_events *l)
{
	qsort(l->v, l->n, sizeof *l->v, cmp_reader_order);
}

void tu_emit(hvlog_stream *s, const hvlog_event *ev, tu_event *e, tu_events *want)
{
	hvlog_status st;

	e->number = ev->number;
	e->nparams = ev->nparams;
	st = hvlog_emit(s, e->ts, ev, e->v);
	TU_CHECK(st == HVLOG_OK, "hvlog_emit(%s, ts %" PRIu64 ") returned %s", ev->symbol, e->ts,
		      hvlog_status_str(st));
	if (want) {
		e->seq = want->n;
		tu_events_push(want, e);
	}
}

void tu_emit_random(hvlog_writer *w, uint32_t nstreams, size_t n, tu_rng *rng, uint64_t *ts,
		    tu_events *want)
{
	const hvlog_schema *sch = hvlog_schema_builtin();

	for (size_t i = 0; i < n; i++) {
		const hvlog_event *ev =
			&sch->events[i < sch->nevents ? i : tu_rand_below(rng, sch->nevents)];
		tu_event e = { .stream = (uint32_t)tu_rand_below(rng, nstreams) };

		/* increments of 0..3 ticks give many ties across streams, with an
		 * occasional large jump (long varints) */
		*ts += tu_rand_below(rng, 100) == 0 ? tu_rand(rng) >> 40 : tu_rand_below(rng, 4);
		e.ts = *ts;
		for (uint32_t k = 0; k < ev->nparams; k++)
			e.v[k] = tu_rand_value(rng, &ev->params[k]);
		tu_emit(hvlog_writer_stream(w, e.stream), ev, &e, want);
	}
}

static void describe(char *out, size_t cap, const tu_event *e)
{
	int n = snprintf(out, cap, "stream %u ts %" PRIu64 " event 0x%x [", e->stream, e->ts, e->number);

	for (uint32_t k = 0; k < e->nparams && n > 0 && (size_t)n < cap; k++)
		n += snprintf(out + n, cap - (size_t)n, "%s0x%" PRIx64, k ? " " : "", e->v[k]);
	if (n > 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, "]");
}

void tu_assert_events_equal(const char *what, const tu_events *want, const tu_events *got)
{
	size_t n = want->n < got->n ? want->n : got->n;
	char a[400], b[400];

	for (size_t i = 0; i < n; i++) {
		const tu_event *x = &want->v[i], *y = &got->v[i];
		int same = x->stream == y->stream && x->ts == y->ts && x->number == y->number &&
			   x->nparams == y->nparams;
		for (uint32_t k = 0; same && k < x->nparams; k++)
			same = x->v[k] == y->v[k];
		if (!same) {
			describe(a, sizeof a, x);
			describe(b, sizeof b, y);
			ck_abort_msg("%s: event #%zu of %zu differs: expected %s, read %s (file offset %" PRIu64 ")",
				     what, i, want->n, a, b, y->offset);
		}
	}
	if (want->n != got->n) {
		if (want->n > got->n)
			describe(a, sizeof a, &want->v[n]);
		else
			describe(a, sizeof a, &got->v[n]);
		ck_abort_msg("%s: expected %zu events, read %zu; first %s: %s", what, want->n, got->n,
			     want->n > got->n ? "missing" : "extra", a);
	}
}

/* ---- reading ------------------------------------------------------------ */

void tu_read_reader(hvlog_reader *r, tu_trace *t, size_t max_items)
{
	const hvlog_meta *m = hvlog_reader_meta(r);
	const hvlog_item *it;
	hvlog_error err;
	hvlog_status st;
	size_t caplost = 0, capdmg = 0;

	*t = (tu_trace){ 0 };
	while ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		t->nitems++;
		if (max_items && t->nitems > max_items)
			ck_abort_msg("the reader handed out more than %zu items (runaway?)", max_items);
		switch (it->kind) {
		case HVLOG_ITEM_EVENT: {
			tu_event e = { .stream = it->stream, .ts = it->ts, .offset = it->offset, .seq = t->ev.n };
			TU_CHECK(it->event != NULL, "event item without an event at offset %" PRIu64, it->offset);
			TU_CHECK(it->stream < m->nstreams, "event item of stream %u (of %u)", it->stream,
				      m->nstreams);
			TU_CHECK(it->event->nparams <= HVLOG_MAX_PARAMS, "event with %u params",
				      it->event->nparams);
			e.number = it->event->number;
			e.nparams = it->event->nparams;
			for (uint32_t k = 0; k < e.nparams; k++) {
				e.v[k] = it->values[k];
				TU_CHECK(e.v[k] <= hvlog_type_max(it->event->params[k].type),
					      "%s parameter %u = 0x%" PRIx64 " does not fit its type (offset %" PRIu64 ")",
					      it->event->symbol, k, e.v[k], it->offset);
			}
			tu_events_push(&t->ev, &e);
			break;
		}
		case HVLOG_ITEM_LOST:
			if (t->nlost == caplost) {
				caplost = caplost ? 2 * caplost : 16;
				t->lost = realloc(t->lost, caplost * sizeof *t->lost);
				TU_CHECK(t->lost != NULL, "out of memory");
			}
			t->lost[t->nlost++] = (tu_lost){ it->stream, it->ts, it->offset, it->lost_count,
							 it->lost_first_ts, it->lost_last_ts };
			break;
		case HVLOG_ITEM_DAMAGE: {
			tu_damage *d;
			if (t->ndmg == capdmg) {
				capdmg = capdmg ? 2 * capdmg : 16;
				t->dmg = realloc(t->dmg, capdmg * sizeof *t->dmg);
				TU_CHECK(t->dmg != NULL, "out of memory");
			}
			d = &t->dmg[t->ndmg++];
			*d = (tu_damage){ it->damage, it->stream, it->ts, it->offset, it->damage_len,
					  it->damage_events, it->chunk_seq, "" };
			snprintf(d->msg, sizeof d->msg, "%s", it->damage_msg ? it->damage_msg : "(no message)");
			break;
		}
		default:
			ck_abort_msg("item of unknown kind %d", (int)it->kind);
		}
	}
	t->end = st;
	hvlog_reader_stats_get(r, &t->stats);
}

void tu_read_path(const char *path, uint64_t group_mask, tu_trace *t)
{
	hvlog_reader *r = NULL;
	hvlog_error err = { 0 };
	hvlog_status st = hvlog_reader_open_path(&r, path, &err);

	ck_assert_msg(st == HVLOG_OK, "opening %s: %s: %s (offset %" PRIu64 ")", path, hvlog_status_str(st),
		      err.msg, err.offset);
	if (group_mask)
		hvlog_reader_set_group_mask(r, group_mask);
	tu_read_reader(r, t, 0);
	hvlog_reader_close(r);
	ck_assert_msg(t->end == HVLOG_END, "reading %s stopped with %s", path, hvlog_status_str(t->end));
}

void tu_trace_free(tu_trace *t)
{
	tu_events_free(&t->ev);
	free(t->lost);
	free(t->dmg);
	*t = (tu_trace){ 0 };
}

const char *tu_damage_summary(const tu_trace *t)
{
	static char buf[2048];
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < t->ndmg && n < sizeof buf - 1; i++) {
		const tu_damage *d = &t->dmg[i];
		int k = snprintf(buf + n, sizeof buf - n,
				 "%s[%s at %" PRIu64 " len %" PRIu64 " stream %d seq %" PRId64 ": %s]", i ? " " : "",
				 hvlog_status_str(d->kind), d->offset, d->len,
				 d->stream == UINT32_MAX ? -1 : (int)d->stream,
				 d->seq == UINT64_MAX ? (int64_t)-1 : (int64_t)d->seq, d->msg);
		if (k < 0)
			break;
		n += (size_t)k;
	}
	if (!t->ndmg)
		snprintf(buf, sizeof buf, "(no damage items)");
	return buf;
}

/* ---- chunks ------------------------------------------------------------- */

uint64_t tu_data_offset(const uint8_t *buf, size_t len)
{
	ck_assert_msg(len >= WIRE_FILE_HEADER_SIZE && !memcmp(buf, WIRE_FILE_MAGIC, 8),
		      "not a trace (%zu bytes)", len);
	return WIRE_FILE_HEADER_SIZE + (uint64_t)wire_get32(buf + WIRE_FH_META_LEN);
}

size_t tu_chunks(const uint8_t *buf, size_t len, tu_chunk **out)
{
	uint64_t off = tu_data_offset(buf, len);
	size_t n = 0, cap = 0;
	tu_chunk *c = NULL;

	/* a closed file ends with a trailer (FORMAT.md §4.6) */
	if (len >= WIRE_TRAILER_SIZE && !memcmp(buf + len - WIRE_TRAILER_SIZE, WIRE_TRAILER_MAGIC, 8))
		len -= WIRE_TRAILER_SIZE;
	while (off < len) {
		const uint8_t *h = buf + off;
		TU_CHECK(off + HVLOG_CHUNK_HEADER_SIZE <= len, "chunk header at %" PRIu64 " cut short", off);
		TU_CHECK(!memcmp(h, WIRE_CHUNK_SYNC, 8), "no chunk sync marker at %" PRIu64, off);
		TU_CHECK(wire_get32(h + WIRE_CH_CRC) ==
				      hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN),
			      "chunk header at %" PRIu64 ": bad checksum", off);
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			c = realloc(c, cap * sizeof *c);
			TU_CHECK(c != NULL, "out of memory");
		}
		c[n] = (tu_chunk){
			.off = off,
			.len = wire_get32(h + WIRE_CH_LEN),
			.stream = wire_get16(h + WIRE_CH_STREAM),
			.nevents = wire_get32(h + WIRE_CH_NEVENTS),
			.flags = wire_get16(h + WIRE_CH_FLAGS),
			.seq = wire_get64(h + WIRE_CH_SEQ),
			.base_ts = wire_get64(h + WIRE_CH_BASE_TS),
			.first_ts = wire_get64(h + WIRE_CH_FIRST_TS),
			.last_ts = wire_get64(h + WIRE_CH_LAST_TS),
		};
		TU_CHECK(off + HVLOG_CHUNK_HEADER_SIZE + c[n].len <= len, "chunk at %" PRIu64 " cut short", off);
		off += HVLOG_CHUNK_HEADER_SIZE + c[n].len;
		if (!(c[n].flags & WIRE_CHUNK_META)) /* metadata copies are no stream's */
			n++;
	}
	*out = c;
	return n;
}

long tu_chunk_at(const tu_chunk *c, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (off >= c[i].off && off < c[i].off + HVLOG_CHUNK_HEADER_SIZE + c[i].len)
			return (long)i;
	return -1;
}

const tu_damage *tu_damage_at(const tu_trace *t, uint64_t off, size_t *count)
{
	const tu_damage *d = NULL;

	*count = 0;
	for (size_t i = 0; i < t->ndmg; i++)
		if (t->dmg[i].offset == off && t->dmg[i].len) {
			d = d ? d : &t->dmg[i];
			(*count)++;
		}
	return d;
}
