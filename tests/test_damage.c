/*
 * test_damage.c - the reader on damaged traces: a trace is made here
 * (several streams, many chunks), damaged in one precise way, and read
 * back.  Damage must be reported where it is, and every event outside the
 * damaged region must still be decoded identically.  Random garbage must
 * never crash or hang the reader.
 *
 * Byte layout: libhvlog/src/wire.h.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvlog/hvlog.h"
#include "internal.h"
#include "testutil.h"
#include "wire.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static char dir[PATH_MAX];

static void setup(void)
{
	tu_mkdtemp(dir, sizeof dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
}

/* ---- the intact trace ---------------------------------------------------- */

enum { NSTREAMS = 5, NEVENTS = 20000, CHUNK = 1024 };

typedef struct base {
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len;
	tu_chunk *c;
	size_t nc;
	tu_trace t;      /* as read from the intact file */
	long *chunk_of;  /* chunk index of each event of t */
} base;

static void base_make(base *b)
{
	hvlog_writer_config cfg = { .nstreams = NSTREAMS, .chunk_size = CHUNK };
	hvlog_writer *w;
	hvlog_error err;
	tu_events want = { 0 };
	tu_rng rng = { 2024 };
	uint64_t ts = 1000000;

	memset(b, 0, sizeof *b);
	tu_path(b->path, sizeof b->path, dir, "base.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, b->path, &cfg, &err), HVLOG_OK);
	tu_emit_random(w, NSTREAMS, NEVENTS, &rng, &ts, &want);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	b->buf = tu_load(b->path, &b->len);
	b->nc = tu_chunks(b->buf, b->len, &b->c);
	ck_assert_msg(b->nc > 50, "base trace has only %zu chunks", b->nc);
	tu_read_path(b->path, 0, &b->t);
	tu_events_sort_reader_order(&want);
	tu_assert_events_equal("intact base trace", &want, &b->t.ev);
	ck_assert_msg(b->t.ndmg == 0, "intact base trace: %s", tu_damage_summary(&b->t));
	b->chunk_of = malloc(b->t.ev.n * sizeof *b->chunk_of);
	ck_assert_ptr_nonnull(b->chunk_of);
	for (size_t i = 0; i < b->t.ev.n; i++) {
		b->chunk_of[i] = tu_chunk_at(b->c, b->nc, b->t.ev.v[i].offset);
		TU_CHECK(b->chunk_of[i] >= 0, "event at %" PRIu64 " is in no chunk", b->t.ev.v[i].offset);
	}
	tu_events_free(&want);
}

static void base_free(base *b)
{
	free(b->buf);
	free(b->c);
	free(b->chunk_of);
	tu_trace_free(&b->t);
}

/* The base events outside chunks skip1 and skip2 (-1: none). */
static void expect_without(const base *b, long skip1, long skip2, tu_events *out)
{
	*out = (tu_events){ 0 };
	for (size_t i = 0; i < b->t.ev.n; i++)
		if (b->chunk_of[i] != skip1 && b->chunk_of[i] != skip2)
			tu_events_push(out, &b->t.ev.v[i]);
}

/* Events of chunks that end at or before `cut`. */
static void expect_before(const base *b, uint64_t cut, tu_events *out)
{
	*out = (tu_events){ 0 };
	for (size_t i = 0; i < b->t.ev.n; i++) {
		const tu_chunk *c = &b->c[b->chunk_of[i]];
		if (c->off + HVLOG_CHUNK_HEADER_SIZE + c->len <= cut)
			tu_events_push(out, &b->t.ev.v[i]);
	}
}

/* A chunk in the middle of the file holding events, not its stream's first
 * or final chunk. */
static long middle_chunk(const base *b, size_t from)
{
	for (size_t i = from; i < b->nc; i++)
		if (b->c[i].nevents > 3 && b->c[i].seq > 0 && !(b->c[i].flags & WIRE_CHUNK_FINAL))
			return (long)i;
	ck_abort_msg("no middle chunk after %zu", from);
	return -1;
}

/* Write buf as name in the test directory; its path into out. */
static void save_variant(char *out, const char *name, const void *buf, size_t len)
{
	tu_path(out, PATH_MAX, dir, name);
	tu_save(out, buf, len);
}

static hvlog_status open_fails(const char *path, hvlog_error *err)
{
	hvlog_reader *r = (hvlog_reader *)err; /* not NULL: a failed open must clear it */
	hvlog_status st;

	memset(err, 0, sizeof *err);
	st = hvlog_reader_open_path(&r, path, err);
	ck_assert_msg(st != HVLOG_OK, "%s opened although it is damaged", path);
	ck_assert_msg(r == NULL, "failed open left *out set");
	ck_assert_msg(err->status == st, "err.status %d, returned %d", err->status, st);
	ck_assert_msg(err->msg[0], "no error message");
	return st;
}

static const tu_damage *find_damage(const tu_trace *t, uint64_t offset)
{
	for (size_t i = 0; i < t->ndmg; i++)
		if (t->dmg[i].offset == offset)
			return &t->dmg[i];
	return NULL;
}

/* ---- the file header and metadata ---------------------------------------- */

START_TEST(test_empty_file)
{
	char path[PATH_MAX];
	hvlog_error err;

	save_variant(path, "empty.hvl", "", 0);
	ck_assert_int_eq(open_fails(path, &err), HVLOG_TRUNCATED);
	ck_assert_uint_eq(err.offset, 0);
}
END_TEST

START_TEST(test_short_header)
{
	base b;
	char path[PATH_MAX];
	hvlog_error err;

	base_make(&b);
	for (size_t n = 1; n < WIRE_FILE_HEADER_SIZE; n += 5) {
		save_variant(path, "short.hvl", b.buf, n);
		ck_assert_msg(open_fails(path, &err) == HVLOG_TRUNCATED, "%zu-byte header prefix: %s", n,
			      hvlog_status_str(err.status));
	}
	/* header intact, metadata cut */
	save_variant(path, "short.hvl", b.buf, WIRE_FILE_HEADER_SIZE + 10);
	ck_assert_int_eq(open_fails(path, &err), HVLOG_TRUNCATED);
	base_free(&b);
}
END_TEST

/* path, a damaged copy of b, opens from a metadata copy: one damage item
 * at `off` saying what was wrong (`why`) and which copy was used, and
 * every event of b. */
static void expect_copy(const base *b, const char *path, uint64_t off, const char *why)
{
	tu_trace t;

	tu_read_path(path, 0, &t);
	ck_assert_msg(t.ndmg == 1 && t.dmg[0].offset == off && strstr(t.dmg[0].msg, why) &&
			      strstr(t.dmg[0].msg, "copy"),
		      "%s: %s", path, tu_damage_summary(&t));
	tu_assert_events_equal("every event, from the copy", &b->t.ev, &t.ev);
	tu_trace_free(&t);
}

START_TEST(test_bad_magic)
{
	base b;
	char path[PATH_MAX];
	hvlog_error err;

	base_make(&b);
	for (size_t i = 0; i < 8; i++) {
		b.buf[i] ^= 0x20;
		save_variant(path, "magic.hvl", b.buf, b.len);
		b.buf[i] ^= 0x20;
		expect_copy(&b, path, 0, "magic");
	}
	save_variant(path, "text.hvl", "hello, world\n", 13);
	ck_assert_int_eq(open_fails(path, &err), HVLOG_MALFORMED);
	base_free(&b);
}
END_TEST

/* Set the header's version and recompute its checksum. */
static void set_version(uint8_t *h, uint16_t major, uint16_t minor)
{
	wire_put16(h + WIRE_FH_MAJOR, major);
	wire_put16(h + WIRE_FH_MINOR, minor);
	wire_put32(h + WIRE_FH_CRC, hvlog_crc32c(0, h, WIRE_FH_CRC));
}

START_TEST(test_newer_major_version)
{
	base b;
	char path[PATH_MAX];
	hvlog_error err;

	base_make(&b);
	set_version(b.buf, 2, 0);
	save_variant(path, "v2.hvl", b.buf, b.len);
	ck_assert_int_eq(open_fails(path, &err), HVLOG_VERSION);
	ck_assert_msg(strstr(err.msg, "newer") != NULL, "message does not say a newer version is needed: \"%s\"",
		      err.msg);
	set_version(b.buf, 0, 9);
	save_variant(path, "v0.hvl", b.buf, b.len);
	ck_assert_int_eq(open_fails(path, &err), HVLOG_VERSION);
	base_free(&b);
}
END_TEST

/* A newer minor version of the same major is read as usual. */
START_TEST(test_newer_minor_version)
{
	base b;
	char path[PATH_MAX];
	hvlog_reader *r;
	hvlog_error err;
	tu_trace t;

	base_make(&b);
	set_version(b.buf, HVLOG_FORMAT_MAJOR, 7);
	save_variant(path, "v1.7.hvl", b.buf, b.len);
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	ck_assert_uint_eq(hvlog_reader_meta(r)->version_minor, 7);
	tu_read_reader(r, &t, 0);
	hvlog_reader_close(r);
	tu_assert_events_equal("minor version 7", &b.t.ev, &t.ev);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

START_TEST(test_header_checksum)
{
	base b;
	char path[PATH_MAX];
	hvlog_error err;

	base_make(&b);
	b.buf[WIRE_FH_MINOR] ^= 1; /* without fixing the CRC */
	save_variant(path, "hcrc.hvl", b.buf, b.len);
	expect_copy(&b, path, 0, "header checksum");
	(void)err;
	base_free(&b);
}
END_TEST

START_TEST(test_metadata_flipped)
{
	base b;
	char path[PATH_MAX];
	hvlog_error err;
	uint64_t data = 0;

	base_make(&b);
	data = tu_data_offset(b.buf, b.len);
	for (uint64_t at = WIRE_FILE_HEADER_SIZE; at < data; at += (data - WIRE_FILE_HEADER_SIZE) / 7 + 1) {
		b.buf[at] ^= 0x01;
		save_variant(path, "meta.hvl", b.buf, b.len);
		b.buf[at] ^= 0x01;
		expect_copy(&b, path, WIRE_FILE_HEADER_SIZE, "metadata checksum");
		(void)err;
	}
	base_free(&b);
}
END_TEST

/* ---- metadata copies, fingerprints, lying lengths --------------------------- */

/* A small trace of n events over 2 streams at path, copies every
 * `interval` bytes of chunks; its events into *want. */
static void small_trace(const char *path, size_t n, uint64_t interval, const hvlog_writer_config *extra,
			tu_events *want)
{
	hvlog_writer_config cfg = extra ? *extra : (hvlog_writer_config){ 0 };
	hvlog_writer *w;
	hvlog_error err;
	tu_rng rng = { 77 };
	uint64_t ts = 1000;

	cfg.nstreams = 2;
	cfg.chunk_size = HVLOG_CHUNK_MIN;
	cfg.meta_copy_interval = interval;
	ck_assert_msg(hvlog_writer_open_path(&w, path, &cfg, &err) == HVLOG_OK, "%s", err.msg);
	tu_emit_random(w, 2, n, &rng, &ts, want);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	tu_events_sort_reader_order(want);
}

/* Events and damage items of path (opts may be NULL); the open's status. */
static hvlog_status count_items(const char *path, const hvlog_reader_options *opts, uint64_t *events,
				size_t *ndmg, uint64_t *first_off)
{
	hvlog_reader *r;
	hvlog_error err;
	const hvlog_item *it;
	hvlog_status st = hvlog_reader_open_path_with(&r, path, opts, &err);

	*events = 0;
	*ndmg = 0;
	*first_off = UINT64_MAX;
	if (st != HVLOG_OK)
		return st;
	while ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		if (it->kind == HVLOG_ITEM_EVENT)
			++*events;
		else if (it->kind == HVLOG_ITEM_DAMAGE && !(*ndmg)++)
			*first_off = it->offset;
	}
	hvlog_reader_close(r);
	return st == HVLOG_END ? HVLOG_OK : st;
}

/* Every bit of the file header and of the metadata flipped: the trailer's
 * copy saves every event, and the damage is one item at the header (0)
 * or the metadata (32). */
/* A small schema, so that every bit of its metadata is quick to try;
 * HVLOG_DAMAGE_FULL=1 tries the built-in schema's 14 KB instead. */
static const hvlog_param tiny_params[] = {
	{ "rip", "RIP", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_DELTA, NULL, HVLOG_ROLE_GUEST_RIP },
	{ "v", "Value", HVLOG_TYPE_U32, HVLOG_DISPLAY_DEC, HVLOG_CODING_KEYED, NULL, HVLOG_ROLE_NONE },
};
static const hvlog_event tiny_events[] = { { 0x20, "T_ONE", "one", 0, tiny_params, 2, 0 },
					   { 0x300, "T_TWO", "two", 1, tiny_params, 1, 2 } };
static const hvlog_group tiny_groups[] = { { "a", "A", 1 }, { "b", "B", 2 } };
static const hvlog_schema tiny = { "tiny", 1, tiny_groups, 2, tiny_events, 2, NULL, 0, 3 };

START_TEST(test_every_header_meta_bit)
{
	char path[PATH_MAX];
	tu_events want = { 0 };
	size_t len, ndmg, tried = 0;
	uint64_t events, off;
	const char *full = getenv("HVLOG_DAMAGE_FULL");

	tu_path(path, sizeof path, dir, "bits.hvl");
	if (full && *full == '1') {
		small_trace(path, 300, 0, NULL, &want);
	} else {
		hvlog_writer_config cfg = { .schema = &tiny, .nstreams = 2, .chunk_size = HVLOG_CHUNK_MIN };
		hvlog_writer *w;
		hvlog_error err;
		ck_assert_msg(hvlog_writer_open_path(&w, path, &cfg, &err) == HVLOG_OK, "%s", err.msg);
		for (uint64_t i = 0; i < 300; i++) {
			const uint64_t vals[2] = { 0x1000 + i, i & 7 };
			ck_assert_int_eq(hvlog_emit(hvlog_writer_stream(w, (uint32_t)(i & 1)), 100 * i,
						    &tiny_events[i % 3 == 0], vals),
					 HVLOG_OK);
		}
		ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
		want.n = 300;
	}
	uint8_t *buf = tu_load(path, &len);
	uint64_t data = tu_data_offset(buf, len);
	FILE *f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	for (uint64_t at = 0; at < data; at++)
		for (unsigned bit = 0; bit < 8; bit++) {
			uint8_t v = buf[at] ^ (uint8_t)(1u << bit);
			ck_assert(fseek(f, (long)at, SEEK_SET) == 0 && fwrite(&v, 1, 1, f) == 1 && fflush(f) == 0);
			hvlog_status st = count_items(path, NULL, &events, &ndmg, &off);
			ck_assert_msg(st == HVLOG_OK && events == want.n && ndmg == 1 &&
					      off == (at < WIRE_FILE_HEADER_SIZE ? 0 : WIRE_FILE_HEADER_SIZE),
				      "bit %u of byte %" PRIu64 ": %s, %" PRIu64 " of %zu events, %zu damage items, first at %" PRIu64,
				      bit, at, hvlog_status_str(st), events, want.n, ndmg, off);
			ck_assert(fseek(f, (long)at, SEEK_SET) == 0 && fwrite(&buf[at], 1, 1, f) == 1 && fflush(f) == 0);
			tried++;
		}
	fclose(f);
	printf("damage: %zu bits of the header and %" PRIu64 " bytes of metadata flipped one at a time: every "
	       "event kept each time\n", tried, data - WIRE_FILE_HEADER_SIZE);
	free(buf);
	tu_events_free(&want);
}
END_TEST

/* A trace never closed (no trailer) with its first metadata damaged: a
 * periodic copy found by searching saves it; without copies the fallback
 * schema does, and only when asked. */
START_TEST(test_periodic_copy_and_fallback)
{
	char path[PATH_MAX];
	tu_events want = { 0 };
	size_t len, ndmg;
	uint64_t events, off;
	const hvlog_reader_options builtin = { .schema = hvlog_schema_builtin() };

	tu_path(path, sizeof path, dir, "open.hvl");
	small_trace(path, 3000, 4096, NULL, &want);
	uint8_t *buf = tu_load(path, &len);
	uint64_t cut = wire_get64(buf + len - WIRE_TRAILER_SIZE + WIRE_TR_META_OFF);
	buf[100] ^= 1;
	tu_save(path, buf, (size_t)cut); /* no final copy, no trailer */
	ck_assert_int_eq(count_items(path, NULL, &events, &ndmg, &off), HVLOG_OK);
	ck_assert_msg(events == want.n && ndmg == 1 && off == WIRE_FILE_HEADER_SIZE, "%" PRIu64 " events, %zu items",
		      events, ndmg);

	/* no copy at all: the data after the metadata, without the copies */
	tu_events_free(&want);
	want = (tu_events){ 0 };
	small_trace(path, 3000, UINT64_MAX, NULL, &want);
	free(buf);
	buf = tu_load(path, &len);
	cut = wire_get64(buf + len - WIRE_TRAILER_SIZE + WIRE_TR_META_OFF);
	buf[100] ^= 1;
	tu_save(path, buf, (size_t)cut);
	ck_assert_int_eq(count_items(path, NULL, &events, &ndmg, &off), HVLOG_CHECKSUM);
	ck_assert_int_eq(count_items(path, &builtin, &events, &ndmg, &off), HVLOG_OK);
	ck_assert_msg(events == want.n && ndmg == 1 && off == WIRE_FILE_HEADER_SIZE, "fallback: %" PRIu64 " events, %zu items",
		      events, ndmg);
	free(buf);
	tu_events_free(&want);
}
END_TEST

/* Every metadata copy is checked, not only the one the open uses: a copy
 * whose payload is damaged (its header intact) is one damage item at its
 * offset, no event lost, wherever it is (among the chunks, or the last
 * one that the trailer names), and `info --verify` lists it. */
START_TEST(test_damaged_copy_reported)
{
	char path[PATH_MAX];
	tu_events want = { 0 };
	size_t len;

	tu_path(path, sizeof path, dir, "copies.hvl");
	small_trace(path, 3000, 4096, NULL, &want);
	uint8_t *buf = tu_load(path, &len);
	/* the first copy among the chunks, and the last (the trailer's) */
	uint64_t copies[2] = { UINT64_MAX, UINT64_MAX };
	for (uint64_t off = tu_data_offset(buf, len); off + HVLOG_CHUNK_HEADER_SIZE <= len - WIRE_TRAILER_SIZE;
	     off += HVLOG_CHUNK_HEADER_SIZE + wire_get32(buf + off + WIRE_CH_LEN))
		if (wire_get16(buf + off + WIRE_CH_FLAGS) & WIRE_CHUNK_META)
			copies[copies[0] != UINT64_MAX] = off;
	ck_assert_msg(copies[0] != UINT64_MAX && copies[1] != UINT64_MAX && copies[0] != copies[1],
		      "the trace has fewer than two metadata copies");
	for (int k = 0; k < 2; k++) {
		uint8_t *v = malloc(len);
		memcpy(v, buf, len);
		v[copies[k] + HVLOG_CHUNK_HEADER_SIZE + 40] ^= 0x10;
		char vpath[PATH_MAX];
		save_variant(vpath, "copy-bad.hvl", v, len);
		tu_trace t;
		tu_read_path(vpath, 0, &t);
		ck_assert_msg(t.ev.n == want.n && t.ndmg == 1 && t.dmg[0].offset == copies[k] &&
				      t.dmg[0].kind == HVLOG_CHECKSUM && t.dmg[0].events == 0,
			      "copy at %" PRIu64 ": %zu of %zu events, %s", copies[k], t.ev.n, want.n,
			      tu_damage_summary(&t));
		tu_trace_free(&t);
		free(v);
	}
	free(buf);
	tu_events_free(&want);
}
END_TEST

/* A chunk header whose length lies, its checksum made consistent: the
 * chunks behind it all decode, the lie is one region at its offset. */
START_TEST(test_length_lies)
{
	base b;
	char path[PATH_MAX];
	static const int64_t deltas[] = { 1, -1, 64, -64, 1000, 1 << 20, -(int64_t)100 };

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 3);
	for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++) {
		uint8_t *v = malloc(b.len);
		tu_trace t;
		size_t n;
		memcpy(v, b.buf, b.len);
		uint8_t *h = v + b.c[k].off;
		wire_put32(h + WIRE_CH_LEN, (uint32_t)((int64_t)b.c[k].len + deltas[i]));
		wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
		save_variant(path, "len.hvl", v, b.len);
		tu_read_path(path, 0, &t);
		/* the chunk ends where the next one starts, and its payload
		 * proves that length: only the header is reported */
		const tu_damage *d = tu_damage_at(&t, b.c[k].off, &n);
		ck_assert_msg(d && n == 1 && t.ndmg == 1 && d->len == HVLOG_CHUNK_HEADER_SIZE && d->events == 0,
			      "len %+lld: %s", (long long)deltas[i], tu_damage_summary(&t));
		tu_assert_events_equal("a lying length", &b.t.ev, &t.ev);
		tu_trace_free(&t);
		free(v);
	}
	base_free(&b);
}
END_TEST

/* A length raised (the header's checksum made consistent) so that the chunk
 * ends exactly on a later chunk's header, or at the trailer: the chunks it
 * claims are found and decoded; with its payload damaged too, only its own
 * events are lost, reported once. */
START_TEST(test_length_swallows)
{
	base b;
	char path[PATH_MAX];

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 3);
	const tu_chunk *c = &b.c[k];
	ck_assert(!memcmp(b.buf + b.len - WIRE_TRAILER_SIZE, WIRE_TRAILER_MAGIC, 8));
	uint64_t ends[] = { b.c[k + 2].off, b.c[k + 5].off, b.len - WIRE_TRAILER_SIZE };
	for (size_t i = 0; i < 2 * sizeof ends / sizeof ends[0]; i++) {
		uint8_t *v = malloc(b.len);
		uint8_t *h = v + c->off;
		int flip = i & 1;
		tu_events want;
		tu_trace t;
		memcpy(v, b.buf, b.len);
		wire_put32(h + WIRE_CH_LEN, (uint32_t)(ends[i / 2] - c->off - HVLOG_CHUNK_HEADER_SIZE));
		wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
		if (flip)
			h[HVLOG_CHUNK_HEADER_SIZE + c->len / 2] ^= 0x10;
		save_variant(path, "swallow.hvl", v, b.len);
		tu_read_path(path, 0, &t);
		ck_assert_msg(t.ndmg == 1 && t.dmg[0].offset == c->off && t.dmg[0].stream == c->stream &&
				      t.dmg[0].len == HVLOG_CHUNK_HEADER_SIZE + (flip ? c->len : 0) &&
				      t.dmg[0].events == (flip ? c->nevents : 0),
			      "end %zu, flip %d: %s", i / 2, flip, tu_damage_summary(&t));
		expect_without(&b, flip ? k : -1, -1, &want);
		tu_assert_events_equal("chunks inside a lying length", &want, &t.ev);
		tu_events_free(&want);
		tu_trace_free(&t);
		free(v);
	}
	base_free(&b);
}
END_TEST

/* Raise the length of the chunk at off (checksum made consistent) so that
 * it ends at `to`. */
static void raise_len(uint8_t *v, uint64_t off, uint64_t to)
{
	uint8_t *h = v + off;

	wire_put32(h + WIRE_CH_LEN, (uint32_t)(to - off - HVLOG_CHUNK_HEADER_SIZE));
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
}

/* The length of the chunk before a metadata copy raised over it, to end
 * where the copy does: at the trailer (the last copy), or on the next
 * chunk's header (a periodic one).  No stream's chunk is missing, yet the
 * chunk decodes with the length its payload verifies with, that is the
 * one damage item, and the copy is still checked: with its payload
 * damaged too, it is reported as well. */
START_TEST(test_length_swallows_copy)
{
	char path[PATH_MAX], vpath[PATH_MAX];
	tu_events want = { 0 };
	size_t len;

	tu_path(path, sizeof path, dir, "copies.hvl");
	small_trace(path, 3000, 4096, NULL, &want);
	uint8_t *buf = tu_load(path, &len);
	ck_assert(!memcmp(buf + len - WIRE_TRAILER_SIZE, WIRE_TRAILER_MAGIC, 8));
	uint64_t end = len - WIRE_TRAILER_SIZE;
	/* the first periodic copy and the last one (the trailer's), each
	 * with the chunk before it and where it ends */
	uint64_t copy[2] = { 0, 0 }, before[2] = { 0, 0 }, to[2] = { 0, 0 }, prev = 0;
	for (uint64_t off = tu_data_offset(buf, len); off < end;
	     off += HVLOG_CHUNK_HEADER_SIZE + wire_get32(buf + off + WIRE_CH_LEN)) {
		uint64_t next = off + HVLOG_CHUNK_HEADER_SIZE + wire_get32(buf + off + WIRE_CH_LEN);
		int k = next == end;
		if ((wire_get16(buf + off + WIRE_CH_FLAGS) & WIRE_CHUNK_META) && !copy[k]) {
			copy[k] = off;
			before[k] = prev;
			to[k] = next; /* the header after a periodic copy, or the trailer */
		}
		prev = off;
	}
	ck_assert_msg(copy[0] && copy[1] && before[0] && before[1], "no periodic copy");
	for (int k = 0; k < 4; k++) {
		uint64_t liar = before[k / 2], at = copy[k / 2];
		uint8_t *v = malloc(len);
		tu_trace t;
		size_t n;

		ck_assert(!(wire_get16(buf + liar + WIRE_CH_FLAGS) & WIRE_CHUNK_META));
		memcpy(v, buf, len);
		raise_len(v, liar, to[k / 2]);
		if (k & 1)
			v[at + HVLOG_CHUNK_HEADER_SIZE + 40] ^= 0x10;
		save_variant(vpath, "swallow-copy.hvl", v, len);
		tu_read_path(vpath, 0, &t);
		const tu_damage *d = tu_damage_at(&t, liar, &n);
		const tu_damage *dc = tu_damage_at(&t, at, &n);
		ck_assert_msg(d && d->len == HVLOG_CHUNK_HEADER_SIZE && d->events == 0 &&
				      strstr(d->msg, "length is damaged") && t.ndmg == 1u + (k & 1) &&
				      (!(k & 1) || (dc && dc->kind == HVLOG_CHECKSUM && dc->events == 0)),
			      "copy at %" PRIu64 "%s: %s", at, k & 1 ? " (damaged)" : "", tu_damage_summary(&t));
		tu_assert_events_equal("a length raised over a copy", &want, &t.ev);
		tu_trace_free(&t);
		free(v);
	}
	free(buf);
	tu_events_free(&want);
}
END_TEST

/* A payload bit flipped in each of two neighbouring chunks, and the file
 * cut after them as by a crash: no stream has its final chunk, so the
 * index runs its second pass, where the chunks there must prove their
 * lengths by their payloads, and neither can.  Each is still one region
 * of its own with its own events lost: the first is not stretched over
 * the second, whose header is at its claimed end. */
START_TEST(test_two_flips_second_pass)
{
	base b;
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_trace t;
	size_t n;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	ck_assert(k + 2 < (long)b.nc && b.c[k + 1].nevents && !(b.c[k + 1].flags & WIRE_CHUNK_FINAL));
	uint64_t cut = b.c[k + 2].off + HVLOG_CHUNK_HEADER_SIZE + b.c[k + 2].len / 2;
	uint8_t *v = malloc(cut);
	memcpy(v, b.buf, cut);
	for (int i = 0; i < 2; i++)
		v[b.c[k + i].off + HVLOG_CHUNK_HEADER_SIZE + b.c[k + i].len / 2] ^= 0x10;
	save_variant(path, "2flips.hvl", v, cut);
	tu_read_path(path, 0, &t);
	for (int i = 0; i < 2; i++) {
		const tu_chunk *c = &b.c[k + i];
		const tu_damage *d = tu_damage_at(&t, c->off, &n);
		ck_assert_msg(d && n == 1 && d->kind == HVLOG_CHECKSUM && d->len == HVLOG_CHUNK_HEADER_SIZE + c->len &&
				      d->events == c->nevents,
			      "chunk %ld: %s", k + i, tu_damage_summary(&t));
	}
	for (size_t i = 0; i < b.t.ev.n; i++) {
		const tu_chunk *c = &b.c[b.chunk_of[i]];
		if (c->off + HVLOG_CHUNK_HEADER_SIZE + c->len <= cut && b.chunk_of[i] != k && b.chunk_of[i] != k + 1)
			tu_events_push(&want, &b.t.ev.v[i]);
	}
	tu_assert_events_equal("the chunks around two damaged ones", &want, &t.ev);
	tu_events_free(&want);
	tu_trace_free(&t);
	free(v);
	base_free(&b);
}
END_TEST

/* The metadata damaged, no trailer, then n forged headers of metadata
 * copies one after the other, each claiming 1 MiB (a wrong payload
 * checksum), then `tail` bytes of the base trace from its first chunk (if
 * any; else 1 MiB of zeros) without its trailer.  Into path. */
static void forged_copies(const base *b, size_t n, int tail, char *path)
{
	uint64_t data = tu_data_offset(b->buf, b->len);
	size_t rest = tail ? b->len - WIRE_TRAILER_SIZE - data : 1u << 20;
	size_t len = data + n * HVLOG_CHUNK_HEADER_SIZE + rest;
	uint8_t *v = calloc(1, len), *h = v + data;

	ck_assert_ptr_nonnull(v);
	memcpy(v, b->buf, data);
	v[data - 1] ^= 1; /* the metadata's checksum fails */
	for (size_t i = 0; i < n; i++, h += HVLOG_CHUNK_HEADER_SIZE) {
		memcpy(h, WIRE_CHUNK_SYNC, 8);
		wire_put32(h + WIRE_CH_LEN, 1u << 20);
		wire_put16(h + WIRE_CH_FLAGS, WIRE_CHUNK_META);
		wire_put64(h + WIRE_CH_SEQ, 1);
		wire_put32(h + WIRE_CH_PAYLOAD_CRC, 0x12345678);
		wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	}
	if (tail)
		memcpy(h, b->buf + data, rest);
	save_variant(path, "forged.hvl", v, len);
	free(v);
}

/* Searching for a metadata copy reads each candidate's claimed payload:
 * forged candidates every 64 bytes cost bounded reading, not 1 MiB each
 * (16 000 of them: 6.6 s, growing with the square of the file's size),
 * and a few do not hide the copy behind them. */
/* The bytes this process has read (rchar of /proc/self/io), UINT64_MAX
 * where there is no such file. */
static uint64_t read_chars(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	unsigned long long v;
	int ok = f && fscanf(f, "rchar: %llu", &v) == 1;

	if (f)
		fclose(f);
	return ok ? (uint64_t)v : UINT64_MAX;
}

START_TEST(test_forged_copies_bounded)
{
	base b;
	char path[PATH_MAX];
	hvlog_error err;
	tu_trace t;
	base_make(&b);
	forged_copies(&b, 16000, 0, path);
	/* what the open reads, not how long it takes: the bytes this process
	 * read (Linux's rchar), within the budgets of FORMAT.md §8.2 (two of
	 * 4 x the file + 64 MiB); 16 000 forged copies of 1 MiB read 16 GB */
	struct stat sb;
	ck_assert_int_eq(stat(path, &sb), 0);
	uint64_t r0 = read_chars(), size = (uint64_t)sb.st_size;
	ck_assert_int_eq(open_fails(path, &err), HVLOG_CHECKSUM);
	uint64_t r1 = read_chars();
	if (r0 != UINT64_MAX && r1 != UINT64_MAX)
		ck_assert_msg(r1 - r0 <= 2 * (4 * size + (64u << 20)) + size, "the open read %" PRIu64 " bytes of a %" PRIu64 "-byte file",
			      r1 - r0, size);
	ck_assert_msg(strstr(err.msg, "no intact copy"), "%s", err.msg);

	forged_copies(&b, 20, 1, path);
	tu_read_path(path, 0, &t);
	tu_assert_events_equal("the copy behind forged ones", &b.t.ev, &t.ev);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

/* A valid header declaring metadata of 1 MiB + 1 byte: refused with the
 * cap, whatever copies the file holds (its writer broke the cap). */
START_TEST(test_meta_over_cap)
{
	char path[PATH_MAX];
	tu_events want = { 0 };
	size_t len;
	hvlog_error err;

	tu_path(path, sizeof path, dir, "overcap.hvl");
	small_trace(path, 100, 0, NULL, &want);
	uint8_t *buf = tu_load(path, &len);
	uint8_t *big = calloc(1, len + WIRE_MAX_META + 1);
	ck_assert_ptr_nonnull(big);
	memcpy(big, buf, len);
	wire_put32(big + WIRE_FH_META_LEN, WIRE_MAX_META + 1);
	wire_put32(big + WIRE_FH_CRC, hvlog_crc32c(0, big, WIRE_FH_CRC));
	save_variant(path, "overcap.hvl", big, len + WIRE_MAX_META + 1);
	ck_assert_int_eq(open_fails(path, &err), HVLOG_LIMIT);
	ck_assert_uint_eq(err.offset, WIRE_FH_META_LEN);
	ck_assert_msg(strstr(err.msg, "exceeds the 1048576-byte cap"), "%s", err.msg);
	free(big);
	free(buf);
	tu_events_free(&want);
}
END_TEST

/* What a writer refuses at open: metadata its reader would refuse. */
START_TEST(test_writer_refuses_senseless_meta)
{
	static const hvlog_param p0[] = { { "a", "A", HVLOG_TYPE_U8, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL,
					    HVLOG_ROLE_NONE } };
	static const hvlog_event ev[] = { { 0x10, "E", "e", 0, p0, 1, 0 } };
	static const hvlog_group g0[] = { { "g", "G", 0 } };
	const hvlog_schema bad = { "custom", 1, g0, 1, ev, 1, NULL, 0, 1 };
	const hvlog_meta_prop props[] = { { "k", "v" }, { "k", "w" } };
	hvlog_writer_config cfg = { .schema = &bad };
	char path[PATH_MAX];
	hvlog_writer *w;
	hvlog_error err;

	tu_path(path, sizeof path, dir, "refused.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_INVALID);
	ck_assert_msg(strstr(err.msg, "mask 0"), "%s", err.msg);
	cfg = (hvlog_writer_config){ .props = props, .nprops = 2 };
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_INVALID);
	ck_assert_msg(strstr(err.msg, "twice"), "%s", err.msg);
}
END_TEST

/* props, the flush interval and parameter roles come back from the file. */
START_TEST(test_meta_additions_read_back)
{
	const hvlog_meta_prop props[] = { { "host", "box1" }, { "cmd", "hvcore -w mixed" } };
	hvlog_writer_config cfg = { .props = props, .nprops = 2, .flush_interval_ns = 5000000 };
	char path[PATH_MAX];
	tu_events want = { 0 };
	hvlog_reader *r;
	hvlog_error err;

	tu_path(path, sizeof path, dir, "props.hvl");
	small_trace(path, 10, 0, &cfg, &want);
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	const hvlog_meta *m = hvlog_reader_meta(r);
	ck_assert_uint_eq(m->nprops, 2);
	ck_assert_str_eq(hvlog_meta_prop_get(m, "cmd"), "hvcore -w mixed");
	ck_assert_ptr_null(hvlog_meta_prop_get(m, "nope"));
	ck_assert_uint_eq(m->flush_interval_ns, 5000000);
	ck_assert_uint_eq(m->schema_fp, hvlog__schema_fp(hvlog_schema_builtin()));
	int roles = 0;
	for (uint32_t i = 0; i < m->schema->nevents; i++)
		for (uint32_t k = 0; k < m->schema->events[i].nparams; k++) {
			ck_assert_int_eq(m->schema->events[i].params[k].role,
					 hvlog_schema_builtin()->events[i].params[k].role);
			roles += m->schema->events[i].params[k].role != HVLOG_ROLE_NONE;
		}
	ck_assert_int_gt(roles, 0);
	hvlog_reader_close(r);
	tu_events_free(&want);
}
END_TEST

/* A value over its type's maximum in the middle of a chunk: the damage
 * item counts exactly the events not handed out, the bad one included.
 * Written as u64, the type then edited to u16 in the metadata (same
 * length), the fingerprints redone, the copies cut off.  Loop 1: the
 * value delta-coded, 2^63 + 250 after 499, whose difference decoded a
 * second time against its own result would give 1, in range. */
START_TEST(test_lost_count_exact)
{
	static const hvlog_param p64[2][1] = {
		{ { "v", "V", HVLOG_TYPE_U64, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE } },
		{ { "v", "V", HVLOG_TYPE_U64, HVLOG_DISPLAY_DEC, HVLOG_CODING_DELTA, NULL, HVLOG_ROLE_NONE } },
	};
	static const hvlog_event ev[2] = { { 0x20, "E", "e", 0, p64[0], 1, 0 }, { 0x20, "E", "e", 0, p64[1], 1, 0 } };
	static const hvlog_group g[] = { { "g", "G", 1 } };
	static const hvlog_schema sch[2] = { { "s", 1, g, 1, &ev[0], 1, NULL, 0, 1 },
					     { "s", 1, g, 1, &ev[1], 1, NULL, 0, 1 } };
	hvlog_writer_config cfg = { .schema = &sch[_i], .nstreams = 1, .chunk_size = 4096 };
	char path[PATH_MAX];
	hvlog_writer *w;
	hvlog_error err;
	size_t len, nc;
	tu_chunk *c;
	tu_trace t;

	tu_path(path, sizeof path, dir, "over.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_OK);
	for (uint64_t i = 0; i < 1000; i++) {
		const uint64_t v = i != 500 ? i : _i ? (1ull << 63) + 250 : 70000; /* > 0xFFFF */
		ck_assert_int_eq(hvlog_emit(hvlog_writer_stream(w, 0), i, &ev[_i], &v), HVLOG_OK);
	}
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	uint8_t *buf = tu_load(path, &len);
	len = (size_t)wire_get64(buf + len - WIRE_TRAILER_SIZE + WIRE_TR_META_OFF);
	size_t meta_len = wire_get32(buf + WIRE_FH_META_LEN);
	uint8_t *u = memmem(buf + WIRE_FILE_HEADER_SIZE, meta_len, "cu64", 4);
	ck_assert_ptr_nonnull(u);
	memcpy(u, "cu16", 4);
	wire_put32(buf + WIRE_FH_META_CRC, hvlog_crc32c(0, buf + WIRE_FILE_HEADER_SIZE, meta_len));
	wire_put32(buf + WIRE_FH_CRC, hvlog_crc32c(0, buf, WIRE_FH_CRC));
	hvlog__meta_store *store;
	hvlog_meta m;
	ck_assert_int_eq(hvlog__meta_decode(buf + WIRE_FILE_HEADER_SIZE, meta_len, 32, &store, &m, &err), HVLOG_OK);
	nc = tu_chunks(buf, len, &c);
	long bad = -1;
	uint32_t before = 0;
	for (size_t i = 0; i < nc; i++) {
		uint8_t *h = buf + c[i].off;
		wire_put32(h + WIRE_CH_META_FP, m.schema_fp);
		wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
		if (bad < 0 && before + c[i].nevents > 500)
			bad = (long)i;
		else if (bad < 0)
			before += c[i].nevents;
	}
	hvlog__meta_free(store);
	save_variant(path, "over2.hvl", buf, len);
	tu_read_path(path, 0, &t);
	/* the chunk's events from the 500th on are lost: 500 - before decoded */
	uint64_t lost = c[bad].nevents - (500 - before);
	ck_assert_msg(t.ndmg == 1 && t.dmg[0].events == lost && t.ev.n == 1000 - lost, "%zu events, lost %" PRIu64
		      " expected: %s", t.ev.n, lost, tu_damage_summary(&t));
	/* at the bad record's own time (its delta counted once, though the
	 * unchecked loop met it before the careful one), and the stream's
	 * statistics count only the events handed out */
	ck_assert_msg(t.dmg[0].ts == 500, "damage at time %" PRIu64 ", the bad record is at 500", t.dmg[0].ts);
	for (size_t i = 0; i < t.ev.n; i++)
		ck_assert_msg(t.ev.v[i].ts != 500, "the malformed record was handed out as an event");
	hvlog_reader *r;
	hvlog_reader_stats st;
	const hvlog_item *it;
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
		;
	hvlog_reader_stats_get(r, &st);
	ck_assert_uint_eq(st.events, 1000 - lost);
	hvlog_reader_close(r);
	tu_trace_free(&t);
	free(c);
	free(buf);
}
END_TEST

/* ---- chunks ---------------------------------------------------------------- */

START_TEST(test_payload_bit_flipped)
{
	base b;
	char path[PATH_MAX];
	tu_events want;
	tu_trace t;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	const tu_chunk *c = &b.c[k];
	b.buf[c->off + HVLOG_CHUNK_HEADER_SIZE + c->len / 2] ^= 0x10;
	save_variant(path, "payload.hvl", b.buf, b.len);
	tu_read_path(path, 0, &t);

	ck_assert_msg(t.ndmg == 1, "expected exactly one damage item, got %zu: %s", t.ndmg, tu_damage_summary(&t));
	ck_assert_msg(t.dmg[0].kind == HVLOG_CHECKSUM, "damage kind %s", hvlog_status_str(t.dmg[0].kind));
	ck_assert_msg(t.dmg[0].offset == c->off, "damage at %" PRIu64 ", the chunk is at %" PRIu64, t.dmg[0].offset,
		      c->off);
	ck_assert_uint_eq(t.dmg[0].stream, c->stream);
	ck_assert_uint_eq(t.dmg[0].seq, c->seq);
	ck_assert_uint_eq(t.dmg[0].len, HVLOG_CHUNK_HEADER_SIZE + c->len);
	ck_assert_uint_eq(t.dmg[0].events, c->nevents);
	ck_assert_uint_eq(t.stats.damaged_regions, 1);
	ck_assert_uint_eq(t.nlost, 0);
	expect_without(&b, k, -1, &want);
	tu_assert_events_equal("events of the other chunks", &want, &t.ev);
	ck_assert_uint_eq(t.stats.chunks, b.nc - 1);
	tu_events_free(&want);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

/* A byte of a chunk header changed: the sync marker, the header checksum,
 * the length, the sequence number, the payload checksum. */
static const size_t header_bytes[] = { 0, 5, WIRE_CH_CRC, WIRE_CH_LEN, WIRE_CH_LEN + 3, WIRE_CH_STREAM,
				       WIRE_CH_SEQ, WIRE_CH_FIRST_TS, WIRE_CH_NEVENTS, WIRE_CH_PAYLOAD_CRC };

START_TEST(test_chunk_header_flipped)
{
	base b;
	char path[PATH_MAX];
	tu_events want;
	tu_trace t;
	const tu_damage *d;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 3);
	const tu_chunk *c = &b.c[k];
	b.buf[c->off + header_bytes[_i]] ^= 0x04;
	save_variant(path, "header.hvl", b.buf, b.len);
	tu_read_path(path, 0, &t);

	d = find_damage(&t, c->off);
	ck_assert_msg(d != NULL, "header byte %zu changed: no damage item at the chunk's offset %" PRIu64 ": %s",
		      header_bytes[_i], c->off, tu_damage_summary(&t));
	ck_assert_msg(d->kind == HVLOG_MALFORMED || d->kind == HVLOG_CHECKSUM, "damage kind %s",
		      hvlog_status_str(d->kind));
	if (d->kind == HVLOG_MALFORMED) /* the header was skipped: up to the next chunk */
		ck_assert_uint_eq(d->len, HVLOG_CHUNK_HEADER_SIZE + c->len);
	ck_assert_msg(t.stats.damaged_regions == t.ndmg, "stats count %" PRIu64 " damaged regions, %zu items",
		      t.stats.damaged_regions, t.ndmg);
	expect_without(&b, k, -1, &want);
	tu_assert_events_equal("events of the other chunks", &want, &t.ev);
	tu_events_free(&want);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

/* The file cut inside its last chunk with a payload. */
static const char *const cuts[] = { "in the middle of the payload", "one byte short", "after the header",
				    "inside the header" };

START_TEST(test_truncated)
{
	base b;
	char path[PATH_MAX];
	tu_events want;
	tu_trace t;
	const tu_chunk *last;
	uint64_t cut;
	size_t i;

	base_make(&b);
	for (i = b.nc - 1; i > 0 && b.c[i].len < 4; i--)
		;
	last = &b.c[i];
	switch (_i) {
	case 0: cut = last->off + HVLOG_CHUNK_HEADER_SIZE + last->len / 2; break;
	case 1: cut = last->off + HVLOG_CHUNK_HEADER_SIZE + last->len - 1; break;
	case 2: cut = last->off + HVLOG_CHUNK_HEADER_SIZE; break;
	default: cut = last->off + 40; break;
	}
	save_variant(path, "cut.hvl", b.buf, cut);
	tu_read_path(path, 0, &t);

	const tu_damage *d = find_damage(&t, last->off);
	ck_assert_msg(d != NULL && d->kind == HVLOG_TRUNCATED,
		      "cut %s (at %" PRIu64 ", chunk at %" PRIu64 "): no TRUNCATED damage at the chunk: %s", cuts[_i], cut,
		      last->off, tu_damage_summary(&t));
	ck_assert_uint_eq(d->len, cut - last->off);
	expect_before(&b, cut, &want);
	tu_assert_events_equal("events of the complete chunks", &want, &t.ev);
	tu_events_free(&want);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

/* Cut exactly between chunks: nothing partial, but streams lose their final
 * chunks, which is reported. */
START_TEST(test_truncated_at_chunk_boundary)
{
	base b;
	char path[PATH_MAX];
	tu_events want;
	tu_trace t;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	uint64_t cut = b.c[k].off;
	save_variant(path, "cut.hvl", b.buf, cut);
	tu_read_path(path, 0, &t);
	ck_assert_msg(t.ndmg >= 1, "a trace cut at chunk %ld (of %zu) reports no damage", k, b.nc);
	for (size_t i = 0; i < t.ndmg; i++)
		ck_assert_msg(t.dmg[i].kind == HVLOG_TRUNCATED, "damage %zu is %s, expected TRUNCATED", i,
			      hvlog_status_str(t.dmg[i].kind));
	expect_before(&b, cut, &want);
	tu_assert_events_equal("events before the cut", &want, &t.ev);
	tu_events_free(&want);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

static uint8_t *splice(const uint8_t *a, size_t alen, size_t at, const uint8_t *ins, size_t inslen, size_t del,
		       size_t *outlen)
{
	uint8_t *out = malloc(alen + inslen + 1);

	ck_assert_ptr_nonnull(out);
	memcpy(out, a, at);
	if (inslen) /* ins may be NULL when nothing is inserted */
		memcpy(out + at, ins, inslen);
	memcpy(out + at + inslen, a + at + del, alen - at - del);
	*outlen = alen + inslen - del;
	return out;
}

START_TEST(test_garbage_between_chunks)
{
	base b;
	char path[PATH_MAX];
	uint8_t garbage[100];
	tu_rng rng = { 100 };
	uint8_t *v;
	size_t vlen;
	tu_trace t;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	for (size_t i = 0; i < sizeof garbage; i++)
		garbage[i] = (uint8_t)tu_rand(&rng);
	garbage[10] = 0xc3; /* the first byte of a sync marker, for good measure */
	v = splice(b.buf, b.len, b.c[k].off, garbage, sizeof garbage, 0, &vlen);
	save_variant(path, "garbage.hvl", v, vlen);
	tu_read_path(path, 0, &t);

	ck_assert_msg(t.ndmg == 1, "expected one damage item, got %zu: %s", t.ndmg, tu_damage_summary(&t));
	ck_assert_msg(t.dmg[0].kind == HVLOG_MALFORMED, "damage kind %s", hvlog_status_str(t.dmg[0].kind));
	ck_assert_msg(t.dmg[0].offset == b.c[k].off, "damage at %" PRIu64 ", garbage at %" PRIu64, t.dmg[0].offset,
		      b.c[k].off);
	ck_assert_uint_eq(t.dmg[0].len, 100);
	ck_assert_uint_eq(t.stats.damaged_bytes, 100);
	tu_assert_events_equal("every event", &b.t.ev, &t.ev);
	ck_assert_uint_eq(t.stats.chunks, b.nc);
	free(v);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

START_TEST(test_garbage_at_end)
{
	base b;
	char path[PATH_MAX];
	uint8_t garbage[300];
	tu_rng rng = { 300 };
	uint8_t *v;
	size_t vlen;
	tu_trace t;

	base_make(&b);
	for (size_t i = 0; i < sizeof garbage; i++)
		garbage[i] = (uint8_t)tu_rand(&rng);
	v = splice(b.buf, b.len, b.len, garbage, sizeof garbage, 0, &vlen);
	save_variant(path, "tail.hvl", v, vlen);
	tu_read_path(path, 0, &t);
	/* the trailer is no longer the file's end: it and the garbage are
	 * one region */
	ck_assert_msg(t.ndmg == 1 && t.dmg[0].offset == b.len - WIRE_TRAILER_SIZE &&
			      t.dmg[0].len == sizeof garbage + WIRE_TRAILER_SIZE,
		      "300 bytes of garbage at the end (offset %zu): %s", b.len, tu_damage_summary(&t));
	tu_assert_events_equal("every event", &b.t.ev, &t.ev);
	free(v);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

START_TEST(test_duplicated_chunk)
{
	base b;
	char path[PATH_MAX];
	uint8_t *v;
	size_t vlen;
	tu_trace t;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	const tu_chunk *c = &b.c[k];
	uint64_t end = c->off + HVLOG_CHUNK_HEADER_SIZE + c->len;
	v = splice(b.buf, b.len, end, b.buf + c->off, HVLOG_CHUNK_HEADER_SIZE + c->len, 0, &vlen);
	save_variant(path, "dup.hvl", v, vlen);
	tu_read_path(path, 0, &t);

	ck_assert_msg(t.ndmg == 1, "expected one damage item, got %zu: %s", t.ndmg, tu_damage_summary(&t));
	ck_assert_msg(t.dmg[0].offset == end, "duplicate reported at %" PRIu64 ", it is at %" PRIu64, t.dmg[0].offset,
		      end);
	ck_assert_uint_eq(t.dmg[0].stream, c->stream);
	ck_assert_uint_eq(t.dmg[0].seq, c->seq);
	tu_assert_events_equal("events, none twice", &b.t.ev, &t.ev);
	free(v);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

/* Copies of one chunk: the one whose payload verifies and whose time
 * continues the stream is kept, wherever it is, and a copy dropped that
 * differs from it counts its events lost. */
START_TEST(test_duplicate_choice)
{
	base b;
	char path[PATH_MAX];
	uint8_t *v;
	size_t vlen, n;
	tu_events want;
	tu_trace t;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 3);
	const tu_chunk *c = &b.c[k];
	/* an intact copy further on, the original's payload damaged */
	v = splice(b.buf, b.len, b.c[k + 3].off, b.buf + c->off, HVLOG_CHUNK_HEADER_SIZE + c->len, 0, &vlen);
	v[c->off + HVLOG_CHUNK_HEADER_SIZE + c->len / 2] ^= 0x10;
	save_variant(path, "dupdmg.hvl", v, vlen);
	tu_read_path(path, 0, &t);
	tu_assert_events_equal("the intact copy of a damaged chunk", &b.t.ev, &t.ev);
	const tu_damage *d = tu_damage_at(&t, c->off, &n);
	ck_assert_msg(t.ndmg == 1 && d && d->events == 0, "%s", tu_damage_summary(&t));
	tu_trace_free(&t);
	free(v);

	/* a chunk claiming the sequence number of one further on */
	v = malloc(b.len);
	memcpy(v, b.buf, b.len);
	wire_put64(v + c->off + WIRE_CH_SEQ, c->seq + 2);
	wire_put32(v + c->off + WIRE_CH_CRC,
		   hvlog_crc32c(0, v + c->off + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	save_variant(path, "seqlie.hvl", v, b.len);
	tu_read_path(path, 0, &t);
	expect_without(&b, k, -1, &want);
	tu_assert_events_equal("a lying sequence number", &want, &t.ev);
	d = find_damage(&t, c->off);
	ck_assert_msg(d && d->events == c->nevents, "%s", tu_damage_summary(&t));
	tu_events_free(&want);
	tu_trace_free(&t);
	free(v);
	base_free(&b);
}
END_TEST

/* The chunk of the same stream right after chunk k, or -1. */
static long next_of_stream(const base *b, long k)
{
	for (size_t i = (size_t)k + 1; i < b->nc; i++)
		if (b->c[i].stream == b->c[k].stream)
			return b->c[i].seq == b->c[k].seq + 1 ? (long)i : -1;
	return -1;
}

/* A chunk's seq raised or lowered by one onto its neighbour's (header
 * checksum made consistent): the intact chunk with that seq keeps its
 * place, and the liar, whose times fit exactly the gap it left, fills it
 * again; the one damage item is the liar's header.  So for a stream's
 * first chunk (which starts at 0) raised to 1, and its second lowered to
 * 0. */
START_TEST(test_seq_lie_fills_gap)
{
	base b;
	char path[PATH_MAX], want[160];

	base_make(&b);
	long mid = middle_chunk(&b, b.nc / 3), first = -1;
	for (size_t i = 0; i < b.nc && first < 0; i++)
		if (b.c[i].seq == 0 && b.c[i].nevents && next_of_stream(&b, (long)i) >= 0)
			first = (long)i;
	ck_assert(first >= 0 && next_of_stream(&b, mid) >= 0);
	for (int k = 0; k < 4; k++) {
		long lo = k < 2 ? mid : first, hi = next_of_stream(&b, lo);
		long liar = k & 1 ? hi : lo;
		const tu_chunk *c = &b.c[liar];
		uint64_t claim = k & 1 ? c->seq - 1 : c->seq + 1;
		uint8_t *v = malloc(b.len);
		tu_trace t;

		memcpy(v, b.buf, b.len);
		wire_put64(v + c->off + WIRE_CH_SEQ, claim);
		wire_put32(v + c->off + WIRE_CH_CRC,
			   hvlog_crc32c(0, v + c->off + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
		save_variant(path, "seqgap.hvl", v, b.len);
		tu_read_path(path, 0, &t);
		snprintf(want, sizeof want, "chunk %" PRIu64 " of stream %u decoded as chunk %" PRIu64 ":", claim,
			 c->stream, c->seq);
		ck_assert_msg(t.ndmg == 1 && t.dmg[0].offset == c->off && t.dmg[0].len == HVLOG_CHUNK_HEADER_SIZE &&
				      t.dmg[0].events == 0 && t.dmg[0].seq == c->seq && !strncmp(t.dmg[0].msg, want, strlen(want)),
			      "chunk %ld's seq %" PRIu64 " made %" PRIu64 ": %s", liar, c->seq, claim, tu_damage_summary(&t));
		tu_assert_events_equal("every event, the liar's in its place", &b.t.ev, &t.ev);
		tu_trace_free(&t);
		free(v);
	}
	base_free(&b);
}
END_TEST

/* A dropped copy of a chunk says why it lost to the copy kept when one of
 * the tests that choose it decided: its payload, or its header's times
 * against its stream's neighbours.  An identical copy, and one that only
 * differs, keep their sentences. */
START_TEST(test_duplicate_why)
{
	enum { IDENTICAL, PAYLOAD, START, END, FEWER };
	static const char *const why[] = { "", ": its payload fails its checksum",
					   ": its start time disagrees with the end of the chunk before it",
					   ": its end time disagrees with the start of the chunk after it",
					   " (it differs from the copy kept)" };
	char path[PATH_MAX], want[200];
	base b;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	const tu_chunk *c = &b.c[k];
	size_t clen = HVLOG_CHUNK_HEADER_SIZE + c->len;
	uint8_t *copy = malloc(clen);
	ck_assert_ptr_nonnull(copy);
	for (int kind = IDENTICAL; kind <= FEWER; kind++) {
		uint8_t *v;
		size_t vlen;
		tu_trace t;

		/* the copy goes first, so that only its score, not its place,
		 * has it dropped */
		memcpy(copy, b.buf + c->off, clen);
		if (kind == PAYLOAD)
			copy[HVLOG_CHUNK_HEADER_SIZE + c->len / 2] ^= 0x10;
		else if (kind == START)
			wire_put64(copy + WIRE_CH_BASE_TS, c->base_ts - 1);
		else if (kind == END)
			wire_put64(copy + WIRE_CH_LAST_TS, c->last_ts + 1);
		else if (kind == FEWER)
			wire_put32(copy + WIRE_CH_NEVENTS, c->nevents - 1);
		wire_put32(copy + WIRE_CH_CRC, hvlog_crc32c(0, copy + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
		v = splice(b.buf, b.len, c->off, copy, clen, 0, &vlen);
		save_variant(path, "dupwhy.hvl", v, vlen);
		tu_read_path(path, 0, &t);
		snprintf(want, sizeof want, "duplicate chunk %" PRIu64 " of stream %u ignored%s", c->seq, c->stream,
			 why[kind]);
		/* of identical copies, the first is kept */
		uint64_t at = kind == IDENTICAL ? c->off + clen : c->off;
		ck_assert_msg(t.ndmg == 1 && t.dmg[0].offset == at && !strcmp(t.dmg[0].msg, want),
			      "kind %d: want \"%s\" at %" PRIu64 ", got %s", kind, want, at, tu_damage_summary(&t));
		/* the kept copy holds the events of a copy that differs only by
		 * its damage; one with another count may have others */
		ck_assert_uint_eq(t.dmg[0].events, kind == FEWER ? c->nevents - 1 : 0);
		tu_assert_events_equal("every event, once", &b.t.ev, &t.ev);
		tu_trace_free(&t);
		free(v);
	}
	free(copy);
	base_free(&b);
}
END_TEST

/* A stream's final chunk whose last_ts was lowered (header checksum made
 * consistent) below a time window's start: the window does not skip it
 * on that word alone (nothing comes after it to agree), so its events in
 * the window are read and the lie is reported. */
START_TEST(test_window_lying_last_ts)
{
	base b;
	char path[PATH_MAX];
	hvlog_reader *r;
	hvlog_error err;
	tu_trace t;
	long k = -1;

	base_make(&b);
	for (size_t i = 0; i < b.nc; i++)
		if ((b.c[i].flags & WIRE_CHUNK_FINAL) && b.c[i].nevents > 3 && b.c[i].last_ts > b.c[i].first_ts)
			k = (long)i;
	ck_assert_int_ge(k, 0);
	const tu_chunk *c = &b.c[k];
	uint8_t *v = malloc(b.len), *h;
	memcpy(v, b.buf, b.len);
	h = v + c->off;
	wire_put64(h + WIRE_CH_LAST_TS, c->first_ts);
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	save_variant(path, "lastts.hvl", v, b.len);
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	hvlog_reader_set_time_range(r, c->first_ts + 1, UINT64_MAX);
	tu_read_reader(r, &t, 0);
	hvlog_reader_close(r);
	size_t in = 0;
	for (size_t i = 0; i < t.ev.n; i++)
		in += tu_chunk_at(b.c, b.nc, t.ev.v[i].offset) == k && t.ev.v[i].ts > c->first_ts;
	ck_assert_msg(in > 0, "no event of the chunk in the window");
	ck_assert_msg(find_damage(&t, c->off), "the lie is not reported: %s", tu_damage_summary(&t));
	tu_trace_free(&t);
	free(v);
	base_free(&b);
}
END_TEST

/* A header's first_ts made to lie (its checksum consistent) is reported
 * once at the chunk, the chunk's events kept: it sets the trace's start
 * (relative times) and the chunk's place in a time window, and was taken
 * on its word. */
START_TEST(test_lying_first_ts)
{
	base b;
	char path[PATH_MAX];
	tu_trace t;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	const tu_chunk *c = &b.c[k];
	ck_assert_msg(c->last_ts > c->first_ts, "chunk %ld spans no time", k);
	uint8_t *v = malloc(b.len), *h;
	ck_assert_ptr_nonnull(v);
	memcpy(v, b.buf, b.len);
	h = v + c->off;
	wire_put64(h + WIRE_CH_FIRST_TS, c->first_ts + 1); /* still between base_ts and last_ts */
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	save_variant(path, "firstts.hvl", v, b.len);
	tu_read_path(path, 0, &t);
	tu_assert_events_equal("lying first_ts", &b.t.ev, &t.ev);
	ck_assert_msg(t.ndmg == 1, "want one damage item: %s", tu_damage_summary(&t));
	ck_assert_uint_eq(t.dmg[0].offset, c->off);
	ck_assert_uint_eq(t.dmg[0].events, 0);
	ck_assert_msg(strstr(t.dmg[0].msg, "first timestamp"), "%s", t.dmg[0].msg);
	tu_trace_free(&t);
	free(v);
	base_free(&b);
}
END_TEST

/* A LOST record with a count of 0 is malformed (FORMAT.md §5.4: no writer
 * writes one, and a LOST item claims at least one event): its chunk's
 * rest is skipped, as for any malformed record, instead of a LOST item
 * that convert --from json|cbor then refuses. */
START_TEST(test_lost_count_zero)
{
	hvlog_writer_config cfg = { .nstreams = 1, .chunk_size = 4096 };
	char path[PATH_MAX];
	hvlog_writer *w;
	hvlog_error err;
	tu_trace t;
	size_t len;

	tu_path(path, sizeof path, dir, "lost0.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_OK);
	hvlog_stream *s = hvlog_writer_stream(w, 0);
	for (uint64_t i = 0; i < 100; i++) {
		if (i == 50)
			hvlog_stream_note_lost(s, 1, 1000 + i, 1000 + i);
		ck_assert_int_eq(hvlog_emit_im_hlt_instruction(s, 1000 + i, 0x1000 + i), HVLOG_OK);
	}
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	tu_read_path(path, 0, &t);
	ck_assert_uint_eq(t.nlost, 1);
	ck_assert_uint_eq(t.ndmg, 0);
	uint64_t at = t.lost[0].offset;
	tu_trace_free(&t);

	uint8_t *buf = tu_load(path, &len);
	tu_chunk *c;
	size_t nc = tu_chunks(buf, len, &c);
	long k = tu_chunk_at(c, nc, at);
	ck_assert_int_ge(k, 0);
	ck_assert_uint_eq(buf[at], HVLOG_TAG_LOST);
	ck_assert_uint_eq(buf[at + 1], 0x03); /* the varint 1 */
	buf[at + 1] = 0x01;                   /* the varint 0 */
	uint8_t *h = buf + c[k].off;
	wire_put32(h + WIRE_CH_PAYLOAD_CRC, hvlog_crc32c(0, h + HVLOG_CHUNK_HEADER_SIZE, c[k].len));
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	save_variant(path, "lost0.hvl", buf, len);
	tu_read_path(path, 0, &t);
	ck_assert_uint_eq(t.nlost, 0);
	ck_assert_msg(t.ndmg == 1 && t.dmg[0].kind == HVLOG_MALFORMED && t.dmg[0].offset == at,
		      "want one malformed record at %" PRIu64 ": %s", at, tu_damage_summary(&t));
	tu_trace_free(&t);
	free(c);
	free(buf);
}
END_TEST

START_TEST(test_removed_chunk)
{
	base b;
	char path[PATH_MAX];
	tu_events want;
	uint8_t *v;
	size_t vlen;
	tu_trace t;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	const tu_chunk *c = &b.c[k];
	v = splice(b.buf, b.len, c->off, NULL, 0, HVLOG_CHUNK_HEADER_SIZE + c->len, &vlen);
	save_variant(path, "gap.hvl", v, vlen);
	tu_read_path(path, 0, &t);

	ck_assert_msg(t.ndmg == 1, "expected one damage item (the gap), got %zu: %s", t.ndmg, tu_damage_summary(&t));
	ck_assert_uint_eq(t.dmg[0].stream, c->stream);
	ck_assert_msg(t.dmg[0].seq == c->seq, "gap reported at chunk %" PRIu64 ", chunk %" PRIu64 " was removed",
		      t.dmg[0].seq, c->seq);
	ck_assert_msg(strstr(t.dmg[0].msg, "missing") != NULL, "message: %s", t.dmg[0].msg);
	expect_without(&b, k, -1, &want);
	tu_assert_events_equal("events of the other chunks", &want, &t.ev);
	tu_events_free(&want);
	free(v);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

/* Two chunks of different streams swapped in the file: nothing is damaged,
 * the reader orders by sequence number and timestamp, not file position. */
START_TEST(test_swapped_chunks)
{
	base b;
	char path[PATH_MAX];
	uint8_t *v;
	size_t vlen;
	tu_trace t;

	base_make(&b);
	long k = middle_chunk(&b, b.nc / 2);
	const tu_chunk *c1 = &b.c[k], *c2 = &b.c[k + 1];
	size_t l1 = HVLOG_CHUNK_HEADER_SIZE + c1->len, l2 = HVLOG_CHUNK_HEADER_SIZE + c2->len;
	v = malloc(b.len);
	ck_assert_ptr_nonnull(v);
	vlen = b.len;
	memcpy(v, b.buf, b.len);
	memcpy(v + c1->off, b.buf + c2->off, l2);
	memcpy(v + c1->off + l2, b.buf + c1->off, l1);
	save_variant(path, "swap.hvl", v, vlen);
	tu_read_path(path, 0, &t);
	ck_assert_msg(t.ndmg == 0, "swapped chunks reported as damage: %s", tu_damage_summary(&t));
	tu_assert_events_equal("every event", &b.t.ev, &t.ev);
	free(v);
	tu_trace_free(&t);
	base_free(&b);
}
END_TEST

/* ---- streams without chunks ---------------------------------------------- */

/* Read buf (len bytes) from a pipe with the live reader, as `cat F |
 * hvlog decode -` does: a child process writes it. */
static void read_live(const uint8_t *buf, size_t len, tu_trace *t)
{
	const hvlog_reader_options live = { .live = 1 };
	hvlog_reader *r;
	hvlog_error err;
	int pfd[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		close(pfd[0]);
		for (size_t off = 0; off < len;) {
			ssize_t n = write(pfd[1], buf + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(pfd[1]);
	ck_assert_msg(hvlog_reader_open_fd_with(&r, pfd[0], &live, &err) == HVLOG_OK, "%s", err.msg);
	tu_read_reader(r, t, 0);
	hvlog_reader_close(r);
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status), "the writing child failed");
}

/* The items of t whose message says a stream has no chunks, joined by
 * "; " into out. */
static void no_chunk_items(const tu_trace *t, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = 0;
	for (size_t i = 0; i < t->ndmg && n < cap; i++)
		if (strstr(t->dmg[i].msg, "no chunks"))
			n += (size_t)snprintf(out + n, cap - n, "%s%u: %s", n ? "; " : "", t->dmg[i].stream,
					      t->dmg[i].msg);
}

/* A trace cut before the writer closed it, with every chunk of some of
 * its streams removed: consecutive streams without chunks are one damage
 * item (one region in the stats), a stream alone keeps its own sentence,
 * and the file reader and the live reader say the same. */
START_TEST(test_streams_without_chunks)
{
	static const struct {
		unsigned keep; /* bit s: stream s keeps its chunks */
		const char *want;
	} cases[] = {
		{ 0x09, "1: streams 1..2 have no chunks: all their events are lost; "
			"4: stream 4 has no chunks: all its events are lost" },
		{ 0x04, "0: streams 0..1 have no chunks: all their events are lost; "
			"3: streams 3..4 have no chunks: all their events are lost" },
		{ 0x0a, "0: stream 0 has no chunks: all its events are lost; "
			"2: stream 2 has no chunks: all its events are lost; "
			"4: stream 4 has no chunks: all its events are lost" },
	};
	char path[PATH_MAX], got[600];
	base b;

	base_make(&b);
	uint64_t data = tu_data_offset(b.buf, b.len);
	for (size_t k = 0; k < NELEMS(cases); k++) {
		uint8_t *v = malloc(b.len);
		size_t vlen = data;
		tu_trace tf, tl;

		ck_assert_ptr_nonnull(v);
		memcpy(v, b.buf, data);
		/* up to the writer's close (its final chunks), metadata copies kept */
		for (size_t i = 0; i < b.nc && !(b.c[i].flags & WIRE_CHUNK_FINAL); i++) {
			if (!(b.c[i].flags & WIRE_CHUNK_META) && !(cases[k].keep >> b.c[i].stream & 1))
				continue;
			memcpy(v + vlen, b.buf + b.c[i].off, HVLOG_CHUNK_HEADER_SIZE + b.c[i].len);
			vlen += HVLOG_CHUNK_HEADER_SIZE + b.c[i].len;
		}
		save_variant(path, "nochunks.hvl", v, vlen);
		tu_read_path(path, 0, &tf);
		read_live(v, vlen, &tl);

		no_chunk_items(&tf, got, sizeof got);
		ck_assert_msg(!strcmp(got, cases[k].want), "case %zu, file reader: %s", k, got);
		no_chunk_items(&tl, got, sizeof got);
		ck_assert_msg(!strcmp(got, cases[k].want), "case %zu, live reader: %s", k, got);
		ck_assert_msg(tf.ndmg == tl.ndmg, "case %zu: %zu items from the file, %zu live: %s", k, tf.ndmg,
			      tl.ndmg, tu_damage_summary(&tl));
		for (size_t i = 0; i < tf.ndmg; i++)
			ck_assert_msg(!strcmp(tf.dmg[i].msg, tl.dmg[i].msg) && tf.dmg[i].offset == tl.dmg[i].offset &&
					      tf.dmg[i].stream == tl.dmg[i].stream,
				      "case %zu, item %zu: \"%s\" from the file, \"%s\" live", k, i, tf.dmg[i].msg,
				      tl.dmg[i].msg);
		ck_assert_uint_eq(tf.stats.damaged_regions, tf.ndmg);
		ck_assert_uint_eq(tl.stats.damaged_regions, tl.ndmg);
		tu_assert_events_equal("the live reader's events", &tf.ev, &tl.ev);
		tu_trace_free(&tf);
		tu_trace_free(&tl);
		free(v);
	}
	base_free(&b);
}
END_TEST

/* Metadata lost without a copy, and a chunk's stream id damaged into
 * 65535 (its header checksum made consistent): the fallback schema counts
 * 65536 streams, nearly all without chunks.  They are one damage item,
 * not one line each. */
START_TEST(test_stream_id_flood)
{
	const hvlog_reader_options builtin = { .schema = hvlog_schema_builtin() };
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_chunk *c;
	hvlog_reader *r;
	hvlog_error err;
	size_t len, nc, n = 0;
	tu_trace t;
	long k = -1;

	tu_path(path, sizeof path, dir, "flood.hvl");
	small_trace(path, 3000, UINT64_MAX, NULL, &want);
	uint8_t *buf = tu_load(path, &len);
	nc = tu_chunks(buf, len, &c);
	len = (size_t)wire_get64(buf + len - WIRE_TRAILER_SIZE + WIRE_TR_META_OFF); /* no copy, no trailer */
	for (size_t i = 0; i < nc && k < 0; i++)
		if (c[i].stream == 1 && c[i].seq > 0 && !(c[i].flags & (WIRE_CHUNK_FINAL | WIRE_CHUNK_META)))
			k = (long)i;
	ck_assert_int_ge(k, 0);
	uint8_t *h = buf + c[k].off;
	wire_put16(h + WIRE_CH_STREAM, 65535);
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	buf[100] ^= 1;
	tu_save(path, buf, len);

	ck_assert_msg(hvlog_reader_open_path_with(&r, path, &builtin, &err) == HVLOG_OK, "%s", err.msg);
	ck_assert_uint_eq(hvlog_reader_meta(r)->nstreams, 65536);
	tu_read_reader(r, &t, 0);
	hvlog_reader_close(r);
	for (size_t i = 0; i < t.ndmg; i++) {
		if (!strstr(t.dmg[i].msg, "no chunks"))
			continue;
		n++;
		ck_assert_str_eq(t.dmg[i].msg, "streams 2..65534 have no chunks: all their events are lost");
		ck_assert_uint_eq(t.dmg[i].stream, 2);
		ck_assert_uint_eq(t.dmg[i].len, 0);
		ck_assert_uint_eq(t.dmg[i].offset, len);
	}
	ck_assert_msg(n == 1 && t.ndmg < 10, "%zu items of streams without chunks: %s", n, tu_damage_summary(&t));
	ck_assert_uint_eq(t.stats.damaged_regions, t.ndmg);
	tu_trace_free(&t);
	tu_events_free(&want);
	free(c);
	free(buf);
}
END_TEST

/* ---- garbage never crashes or hangs the reader ---------------------------- */

/* Open and read everything; the reader may refuse, but must not crash, loop
 * or hand out more items than the bytes allow. */
static void read_anything(const char *path, size_t len, const char *what)
{
	hvlog_reader *r = NULL;
	hvlog_error err;
	hvlog_status st = hvlog_reader_open_path(&r, path, &err);
	tu_trace t;

	if (st != HVLOG_OK) {
		ck_assert_msg(r == NULL, "%s: failed open left a reader", what);
		ck_assert_msg(st == HVLOG_TRUNCATED || st == HVLOG_MALFORMED || st == HVLOG_CHECKSUM ||
				      st == HVLOG_VERSION || st == HVLOG_LIMIT,
			      "%s: open returned %s: %s", what, hvlog_status_str(st), err.msg);
		return;
	}
	tu_read_reader(r, &t, 2 * len + 1000);
	hvlog_reader_close(r);
	ck_assert_msg(t.end == HVLOG_END, "%s: reading stopped with %s", what, hvlog_status_str(t.end));
	tu_trace_free(&t);
}

START_TEST(test_random_garbage)
{
	static const size_t sizes[] = { 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 1000, 4096, 70000, 200000 };
	char path[PATH_MAX], what[128];
	tu_rng rng = { 555 };
	base b;

	base_make(&b);
	uint64_t data = tu_data_offset(b.buf, b.len);
	for (size_t i = 0; i < NELEMS(sizes); i++) {
		for (int kind = 0; kind < 3; kind++) {
			size_t len = sizes[i] + (kind ? data : 0);
			uint8_t *g = malloc(len);
			ck_assert_ptr_nonnull(g);
			for (size_t j = 0; j < len; j++)
				g[j] = (uint8_t)tu_rand(&rng);
			if (kind) /* a valid header and metadata, then garbage */
				memcpy(g, b.buf, data);
			if (kind == 2) /* ... sprinkled with chunk sync markers and headers */
				for (size_t j = data; j + HVLOG_CHUNK_HEADER_SIZE <= len; j += 1 + tu_rand_below(&rng, 300)) {
					uint64_t src = b.c[tu_rand_below(&rng, b.nc)].off;
					memcpy(g + j, b.buf + src, tu_rand_below(&rng, 2) ? 8 : HVLOG_CHUNK_HEADER_SIZE);
				}
			snprintf(what, sizeof what, "garbage kind %d, %zu bytes", kind, len);
			save_variant(path, "garbage.hvl", g, len);
			read_anything(path, len, what);
			free(g);
		}
	}
	base_free(&b);
}
END_TEST

START_TEST(test_random_flips_and_cuts)
{
	char path[PATH_MAX], what[128];
	tu_rng rng = { 777 };
	base b;

	base_make(&b);
	uint64_t data = tu_data_offset(b.buf, b.len);
	uint8_t *v = malloc(b.len);
	ck_assert_ptr_nonnull(v);
	for (int round = 0; round < 150; round++) {
		size_t len = b.len, nflips = 1 + tu_rand_below(&rng, 20);
		memcpy(v, b.buf, b.len);
		for (size_t f = 0; f < nflips; f++)
			v[data + tu_rand_below(&rng, b.len - data)] ^= (uint8_t)(1u << tu_rand_below(&rng, 8));
		if (round % 3 == 0)
			len = data + tu_rand_below(&rng, b.len - data);
		snprintf(what, sizeof what, "round %d: %zu flips, %zu bytes", round, nflips, len);
		save_variant(path, "flipped.hvl", v, len);
		read_anything(path, len, what);
	}
	free(v);
	base_free(&b);
}
END_TEST

/* Payloads and headers changed with their checksums recomputed, so that the
 * record decoder and the header checks see the nonsense. */
static void reseal(uint8_t *buf, const tu_chunk *c)
{
	uint8_t *h = buf + c->off;
	uint32_t len = wire_get32(h + WIRE_CH_LEN);

	if (len == c->len)
		wire_put32(h + WIRE_CH_PAYLOAD_CRC, hvlog_crc32c(0, h + HVLOG_CHUNK_HEADER_SIZE, len));
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
}

START_TEST(test_resealed_nonsense)
{
	static const size_t fields[] = { WIRE_CH_LEN, WIRE_CH_STREAM, WIRE_CH_FLAGS, WIRE_CH_SEQ, WIRE_CH_BASE_TS,
					 WIRE_CH_FIRST_TS, WIRE_CH_LAST_TS, WIRE_CH_NEVENTS };
	char path[PATH_MAX], what[160];
	tu_rng rng = { 999 };
	base b;

	base_make(&b);
	uint8_t *v = malloc(b.len);
	ck_assert_ptr_nonnull(v);
	for (int round = 0; round < 400; round++) {
		size_t nmut = 1 + tu_rand_below(&rng, 4);
		memcpy(v, b.buf, b.len);
		for (size_t m = 0; m < nmut; m++) {
			const tu_chunk *c = &b.c[tu_rand_below(&rng, b.nc)];
			if (round % 2 && c->len) { /* payload bytes */
				size_t n = 1 + tu_rand_below(&rng, 8);
				for (size_t j = 0; j < n; j++) {
					uint8_t *p = v + c->off + HVLOG_CHUNK_HEADER_SIZE + tu_rand_below(&rng, c->len);
					*p = tu_rand_below(&rng, 4) ? (uint8_t)tu_rand(&rng) : 0xFF;
				}
			} else { /* a header field */
				size_t f = fields[tu_rand_below(&rng, NELEMS(fields))];
				v[c->off + f + tu_rand_below(&rng, 4)] ^= (uint8_t)(1u << tu_rand_below(&rng, 8));
			}
			reseal(v, c);
		}
		snprintf(what, sizeof what, "round %d: %zu resealed mutations", round, nmut);
		save_variant(path, "resealed.hvl", v, b.len);
		read_anything(path, b.len, what);
	}
	free(v);
	base_free(&b);
}
END_TEST

static Suite *damage_suite(void)
{
	Suite *s = suite_create("damage");
	TCase *tc;

	tc = tcase_create("header");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_short_header);
	tcase_add_test(tc, test_bad_magic);
	tcase_add_test(tc, test_periodic_copy_and_fallback);
	tcase_add_test(tc, test_damaged_copy_reported);
	tcase_add_test(tc, test_length_lies);
	tcase_add_test(tc, test_length_swallows);
	tcase_add_test(tc, test_length_swallows_copy);
	tcase_add_test(tc, test_forged_copies_bounded);
	tcase_add_test(tc, test_writer_refuses_senseless_meta);
	tcase_add_test(tc, test_meta_additions_read_back);
	tcase_add_loop_test(tc, test_lost_count_exact, 0, 2);
	tcase_add_test(tc, test_meta_over_cap);
	tcase_add_test(tc, test_newer_major_version);
	tcase_add_test(tc, test_newer_minor_version);
	tcase_add_test(tc, test_header_checksum);
	tcase_add_test(tc, test_metadata_flipped);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunks");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_payload_bit_flipped);
	tcase_add_test(tc, test_lying_first_ts);
	tcase_add_test(tc, test_lost_count_zero);
	tcase_add_test(tc, test_two_flips_second_pass);
	tcase_add_loop_test(tc, test_chunk_header_flipped, 0, (int)NELEMS(header_bytes));
	tcase_add_loop_test(tc, test_truncated, 0, (int)NELEMS(cuts));
	tcase_add_test(tc, test_truncated_at_chunk_boundary);
	tcase_add_test(tc, test_garbage_between_chunks);
	tcase_add_test(tc, test_garbage_at_end);
	tcase_add_test(tc, test_duplicated_chunk);
	tcase_add_test(tc, test_duplicate_choice);
	tcase_add_test(tc, test_duplicate_why);
	tcase_add_test(tc, test_seq_lie_fills_gap);
	tcase_add_test(tc, test_window_lying_last_ts);
	tcase_add_test(tc, test_removed_chunk);
	tcase_add_test(tc, test_swapped_chunks);
	tcase_add_test(tc, test_streams_without_chunks);
	tcase_add_test(tc, test_stream_id_flood);
	suite_add_tcase(s, tc);

	tc = tcase_create("garbage");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_random_garbage);
	tcase_add_test(tc, test_random_flips_and_cuts);
	tcase_add_test(tc, test_resealed_nonsense);
	suite_add_tcase(s, tc);
	tc = tcase_create("copies");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 1200); /* HVLOG_DAMAGE_FULL: 112 000 opens */
	tcase_add_test(tc, test_every_header_meta_bit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(damage_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
