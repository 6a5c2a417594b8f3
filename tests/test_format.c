/*
 * test_format.c - the formatters' precomputed tables (hvlog_meta.internal)
 * change nothing: every line is the same byte for byte with the tables and
 * without them (a hand-built hvlog_meta), for every event of the built-in
 * schema and for a schema whose names hold control characters, quotes and
 * backslashes; the division-free clock conversion equals
 * hvlog_ticks_to_ns; numbers match printf; a short buffer gets the start
 * of the line and nothing is written past it.
 *
 * The metadata goes through the library's own encoder and decoder
 * (hvlog__meta_encode, hvlog__meta_decode), which is where the tables are
 * built; items are made by hand, so every case is reached directly.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "internal.h"
#include "testutil.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------- */

/* Metadata as a reader sees it: encoded, then decoded (with tables). */
typedef struct decoded {
	hvlog__meta_store *store;
	hvlog_meta meta;
} decoded;

static void decode_meta(decoded *d, const hvlog_schema *schema, const hvlog_stream_info *streams, uint32_t n,
			uint64_t hz)
{
	hvlog__meta_in in = { schema, "test_format", "tsc", hz, 0, n, streams, 0, NULL, 0 };
	hvlog_error err = { 0 };
	uint8_t *buf;
	size_t len;

	ck_assert_int_eq(hvlog__meta_encode(&in, &buf, &len), HVLOG_OK);
	ck_assert_msg(hvlog__meta_decode(buf, len, 0, &d->store, &d->meta, &err) == HVLOG_OK, "decode: %s", err.msg);
	free(buf);
	ck_assert_msg(d->meta.internal != NULL, "no formatting tables");
}

static const hvlog_format_kind kinds[] = { HVLOG_FORMAT_TEXT, HVLOG_FORMAT_JSON };

/* it formatted with m's tables and without them: the same bytes. */
static void assert_same(const hvlog_meta *m, const hvlog_item *it, uint64_t t0, const char *what)
{
	hvlog_meta bare = *m;
	char a[HVLOG_FORMAT_MAX], b[HVLOG_FORMAT_MAX];

	bare.internal = NULL;
	for (size_t k = 0; k < NELEMS(kinds); k++) {
		size_t na = hvlog_format_item(m, it, kinds[k], t0, a, sizeof a);
		size_t nb = hvlog_format_item(&bare, it, kinds[k], t0, b, sizeof b);
		TU_CHECK(na == nb && !memcmp(a, b, na + 1), "%s (%s): with tables\n%swithout\n%s", what,
			 kinds[k] == HVLOG_FORMAT_JSON ? "json" : "text", a, b);
	}
}

/* Values for each parameter of ev: random, zero, the maximum, and each
 * named value of its table, then one past each.  Calls check(values) per
 * set. */
static void each_value_set(const hvlog_event *ev, tu_rng *rng, void (*check)(const uint64_t *v, void *ctx),
			   void *ctx)
{
	uint64_t v[HVLOG_MAX_PARAMS];
	uint32_t most = 0;

	for (int round = 0; round < 24; round++) {
		for (uint32_t i = 0; i < ev->nparams; i++)
			v[i] = round == 0 ? 0 : round == 1 ? hvlog_type_max(ev->params[i].type)
							   : tu_rand_value(rng, &ev->params[i]);
		check(v, ctx);
	}
	for (uint32_t i = 0; i < ev->nparams; i++)
		if (ev->params[i].values && ev->params[i].values->nvalues > most)
			most = ev->params[i].values->nvalues;
	for (uint32_t j = 0; j < 2 * most; j++) {
		for (uint32_t i = 0; i < ev->nparams; i++) {
			const hvlog_valtab *t = ev->params[i].values;
			v[i] = t && t->nvalues ? t->values[(j / 2) % t->nvalues].value + (j & 1)
					       : tu_rand_value(rng, &ev->params[i]);
		}
		check(v, ctx);
	}
}

struct event_case {
	const hvlog_meta *m;
	hvlog_item *it;
	uint64_t t0;
	const char *what;
};

static void check_event_values(const uint64_t *v, void *ctx)
{
	struct event_case *c = ctx;

	c->it->values = v;
	assert_same(c->m, c->it, c->t0, c->what);
}

/* Every event of m's schema on every stream (and on none, and on one that
 * does not exist), with many values and times; then lost and damage items. */
static void check_all_items(const hvlog_meta *m, tu_rng *rng)
{
	const hvlog_schema *s = m->schema;
	static const uint64_t t0s[] = { 0, 1000, UINT64_MAX - 5 };
	char what[160];

	for (uint32_t e = 0; e < s->nevents; e++) {
		for (uint32_t st = 0; st <= m->nstreams + 1; st++) {
			hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .event = &s->events[e] };
			uint64_t t0 = t0s[tu_rand_below(rng, NELEMS(t0s))];
			struct event_case c = { m, &it, t0, what };
			it.stream = st == m->nstreams + 1 ? UINT32_MAX : st;
			it.ts = t0 + (tu_rand(rng) >> tu_rand_below(rng, 64));
			it.offset = tu_rand(rng) >> tu_rand_below(rng, 64);
			snprintf(what, sizeof what, "event %s on stream %u", s->events[e].symbol, it.stream);
			each_value_set(&s->events[e], rng, check_event_values, &c);
		}
	}
	for (int i = 0; i < 200; i++) {
		hvlog_item it = {
			.kind = i & 1 ? HVLOG_ITEM_LOST : HVLOG_ITEM_DAMAGE,
			.stream = (uint32_t)tu_rand_below(rng, m->nstreams + 2),
			.ts = tu_rand(rng) >> tu_rand_below(rng, 64),
			.offset = tu_rand(rng),
			.lost_count = tu_rand(rng) >> tu_rand_below(rng, 64),
			.lost_first_ts = tu_rand(rng) >> tu_rand_below(rng, 64),
			.lost_last_ts = tu_rand(rng),
			.damage = HVLOG_CHECKSUM,
			.damage_len = tu_rand(rng) >> 40,
			.damage_events = i % 3 ? 0 : 17,
			.damage_msg = "chunk checksum mismatch \"quoted\"\x1b",
		};
		if (it.stream == m->nstreams + 1)
			it.stream = UINT32_MAX;
		assert_same(m, &it, tu_rand_below(rng, 3) ? 0 : it.ts - 3, "lost or damage");
	}
}

static const hvlog_stream_info plain_streams[] = {
	{ "hv", 0, UINT32_MAX }, { "p1/vp0", 1, 0 }, { "p1/vp1", 1, 1 }, { "a-stream-name-longer-than-8", 2, 0 },
};

/* Clock rates: 1 GHz (no conversion), divisors and multiples of it, TSC-like
 * and odd ones, the extremes. */
static const uint64_t rates[] = {
	1000000000u, 1, 3, 1000, 10000000, 14318180, 999999999, 1000000001, 2000000000u,
	2400000000u, 2893437000u, 3000000007u, UINT64_MAX / 3, UINT64_MAX,
};

/* ---- the built-in schema ----------------------------------------------- */

START_TEST(test_builtin_same_with_tables)
{
	decoded d;
	tu_rng rng = { 1 + (uint64_t)_i };

	decode_meta(&d, hvlog_schema_builtin(), plain_streams, NELEMS(plain_streams), rates[_i]);
	check_all_items(&d.meta, &rng);
	hvlog__meta_free(d.store);
}
END_TEST

/* A hand-built hvlog_meta on the built-in schema (no tables) formats
 * events like the decoded one (tables) formats the same events. */
START_TEST(test_builtin_hand_built_meta)
{
	const hvlog_schema *bs = hvlog_schema_builtin();
	hvlog_meta hand = { .producer = "hand", .clock_name = "tsc", .clock_hz = 2400000000u, .schema = bs,
			    .nstreams = NELEMS(plain_streams), .streams = plain_streams };
	char a[HVLOG_FORMAT_MAX], b[HVLOG_FORMAT_MAX];
	tu_rng rng = { 7 };
	decoded d;

	decode_meta(&d, bs, plain_streams, NELEMS(plain_streams), hand.clock_hz);
	ck_assert_uint_eq(d.meta.schema->nevents, bs->nevents);
	for (uint32_t e = 0; e < bs->nevents; e++) {
		for (int round = 0; round < 50; round++) {
			uint64_t v[HVLOG_MAX_PARAMS];
			hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = (uint32_t)tu_rand_below(&rng, 4),
					  .ts = tu_rand(&rng) >> 8, .offset = tu_rand(&rng) >> 30, .values = v };
			for (uint32_t i = 0; i < bs->events[e].nparams; i++)
				v[i] = tu_rand_value(&rng, &bs->events[e].params[i]);
			for (size_t k = 0; k < NELEMS(kinds); k++) {
				it.event = &bs->events[e];
				size_t na = hvlog_format_item(&hand, &it, kinds[k], 5, a, sizeof a);
				it.event = &d.meta.schema->events[e];
				size_t nb = hvlog_format_item(&d.meta, &it, kinds[k], 5, b, sizeof b);
				TU_CHECK(na == nb && !memcmp(a, b, na + 1), "hand-built\n%sdecoded\n%s", a, b);
			}
		}
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* Tables that do not belong to the item or the view are not used: an
 * event from another schema, a copy of the view with fewer streams. */
START_TEST(test_tables_not_for_this_item)
{
	const hvlog_schema *bs = hvlog_schema_builtin();
	uint64_t v[HVLOG_MAX_PARAMS] = { 0x1b, 2, 3 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 3, .ts = 77, .values = v };
	hvlog_meta fewer;
	decoded d;

	decode_meta(&d, bs, plain_streams, NELEMS(plain_streams), 1000000000u);
	for (uint32_t e = 0; e < bs->nevents; e++) {
		it.event = &bs->events[e]; /* not the decoded schema's */
		assert_same(&d.meta, &it, 0, "event of another schema");
	}
	fewer = d.meta;
	fewer.nstreams = 2; /* stream 3 is "?" now */
	it.event = &d.meta.schema->events[0];
	assert_same(&fewer, &it, 0, "view with fewer streams");
	hvlog__meta_free(d.store);
}
END_TEST

/* ---- hostile names ------------------------------------------------------- */

/* Names with everything the formatters must neutralise: control characters
 * (text: '?', JSON: \u00XX), DEL, quotes and backslashes (JSON), bytes
 * above 0x7f (kept), and lengths around the column widths and at the
 * 64-byte limit. */
static const hvlog_value_name hostile_values[] = {
	{ 0, "ZERO" }, { 1, "\x1b[31mred\x07" }, { 2, "quote\"back\\slash" }, { 3, "del\x7f" },
	{ 4, "tab\there\nnewline" }, { 0x10, "caf\xc3\xa9" }, { UINT64_MAX, "MAX" },
	{ 5, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a"
	     "\x1b\x1c\x1d\x1e\x1f\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
	     "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f" },
};
static const hvlog_valtab hostile_valtabs[] = {
	{ "evil\x1b", hostile_values, NELEMS(hostile_values) },
	{ "empty", NULL, 0 },
};

#define KEY64 "k123456789012345678901234567890123456789012345678901234567890123"
#define CTL64                                                                                                  \
	"\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b" \
	"\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b" \
	"\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b"

static const hvlog_param hostile_params[] = {
	{ "plain", "Plain", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
	{ "ke\x1by", "Esc", HVLOG_TYPE_U64, HVLOG_DISPLAY_DEC, HVLOG_CODING_DELTA, NULL, HVLOG_ROLE_NONE },
	{ "q\"k\\", "Quote", HVLOG_TYPE_U64, HVLOG_DISPLAY_ENUM, HVLOG_CODING_VARINT, &hostile_valtabs[0], HVLOG_ROLE_NONE },
	{ "b\x7f", "Bool", HVLOG_TYPE_BOOL, HVLOG_DISPLAY_BOOL, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
	{ "hexbool", "Hex bool", HVLOG_TYPE_BOOL, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
	{ KEY64, "Long", HVLOG_TYPE_U32, HVLOG_DISPLAY_ENUM, HVLOG_CODING_VARINT, &hostile_valtabs[0], HVLOG_ROLE_NONE },
	{ CTL64, "Controls", HVLOG_TYPE_U64, HVLOG_DISPLAY_ENUM, HVLOG_CODING_VARINT, &hostile_valtabs[0], HVLOG_ROLE_NONE },
	{ "", "Empty key", HVLOG_TYPE_U8, HVLOG_DISPLAY_ENUM, HVLOG_CODING_VARINT, &hostile_valtabs[1], HVLOG_ROLE_NONE },
	{ "\xc3\xa9t\xc3\xa9", "Utf8", HVLOG_TYPE_U16, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
};
/* 16 parameters, each with a 64-byte key of control characters and a
 * named value of them: the longest JSON line a schema can ask for. */
static const hvlog_param ctl_params[16] = {
#define CTL_PARAM { CTL64, "Controls", HVLOG_TYPE_U64, HVLOG_DISPLAY_ENUM, HVLOG_CODING_VARINT, &hostile_valtabs[0], HVLOG_ROLE_NONE }
	CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM,
	CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM, CTL_PARAM,
#undef CTL_PARAM
};
static const hvlog_group hostile_groups[] = {
	{ "g\x1b", "Escape", 1 }, { "exactly10c", "Ten", 2 }, { "a-group-alias-longer-than-ten", "Long", 4 },
	{ "q\"\\", "Quote", 8 }, { "", "Empty", 16 },
};
static const hvlog_event hostile_events[] = {
	{ 1, "HV_TR_\x1b[2J", "Clear screen", 0, hostile_params, NELEMS(hostile_params), 0 },
	{ 2, "NO_PREFIX", "No prefix", 1, hostile_params, 3, 0 },
	{ 3, "HV_TR_", "Only the prefix", 2, hostile_params + 3, 4, 0 },
	{ 4, "HV_TR_EXACTLY_26_CHARACTERS_", "26 columns", 3, NULL, 0, 0 },
	{ 5, "HV_TR_AN_EVENT_NAME_LONGER_THAN_ITS_26_COLUMNS", "Long", 4, hostile_params + 5, 4, 0 },
	{ 6, "hv_tr_lower\"q\\", "Lower", 0, hostile_params + 1, 2, 0 },
	{ 7, "HV_TR_CONTROLS", "Controls", 1, ctl_params, 16, 0 },
	{ 0xFFFF, "HV_TR_MAX", "Max number", 2, hostile_params, 1, 0 },
};
/* (the slots are the decoder's business: not encoded) */
static const hvlog_schema hostile_schema = {
	"hostile\x1b", 1, hostile_groups, NELEMS(hostile_groups), hostile_events, NELEMS(hostile_events),
	hostile_valtabs, NELEMS(hostile_valtabs), 0,
};
static const hvlog_stream_info hostile_streams[] = {
	{ "\x1b[31mred\x07", 1, 0 }, { "q\"\\", 1, 1 }, { "", 0, 0 }, { "exactly8", 0, 0 }, { "del\x7f", 0, 0 },
	{ "caf\xc3\xa9", 0, 0 }, { KEY64, 0, 0 },
};

START_TEST(test_hostile_same_with_tables)
{
	decoded d;
	tu_rng rng = { 100 + (uint64_t)_i };

	decode_meta(&d, &hostile_schema, hostile_streams, NELEMS(hostile_streams), rates[_i]);
	check_all_items(&d.meta, &rng);
	hvlog__meta_free(d.store);
}
END_TEST

/* What the hostile names become (the expectations of the old formatter). */
START_TEST(test_hostile_names_rendered)
{
	uint64_t v[HVLOG_MAX_PARAMS] = { 0xab, 12, 1, 1, 1, 2, 4, 0, 65535 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 0, .ts = 1500000123, .offset = 99, .values = v };
	char line[HVLOG_FORMAT_MAX], want[1024], q64[65];
	decoded d;

	decode_meta(&d, &hostile_schema, hostile_streams, NELEMS(hostile_streams), 1000000000u);
	it.event = &d.meta.schema->events[0];
	hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_TEXT, 0, line, sizeof line);
	memset(q64, '?', 64); /* (not in a literal: "??=" is a trigraph) */
	q64[64] = 0;
	snprintf(want, sizeof want,
		 "    1.500000123 ?[31mred? g?         ?[2J                       plain=0xab ke?y=12 "
		 "q\"k\\=?[31mred? b?=true hexbool=0x1 " KEY64 "=quote\"back\\slash %s=tab?here?newline "
		 "=0x0 \xc3\xa9t\xc3\xa9=65535\n", q64);
	ck_assert_str_eq(line, want);
	hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_JSON, 0, line, sizeof line);
	ck_assert_msg(strstr(line, "\"stream_name\":\"\\u001b[31mred\\u0007\",") != NULL, "%s", line);
	ck_assert_msg(strstr(line, ",\"event\":\"HV_TR_\\u001b[2J\",") != NULL, "%s", line);
	ck_assert_msg(strstr(line, "\"params\":{\"plain\":\"0xab\",\"ke\\u001by\":12,\"q\\\"k\\\\\":1,"
				   "\"b\x7f\":true,\"hexbool\":true,") != NULL, "%s", line);
	ck_assert_msg(strstr(line, "\"names\":{\"q\\\"k\\\\\":\"\\u001b[31mred\\u0007\",\"" KEY64
				   "\":\"quote\\\"back\\\\slash\",") != NULL, "%s", line);
	hvlog__meta_free(d.store);
}
END_TEST

/* ---- short buffers ----------------------------------------------------- */

/* With any cap, the line is the start of the whole one, then "\n\0", and
 * nothing is written at or past buf + cap. */
START_TEST(test_short_buffers)
{
	enum { GUARD = 64 };
	static char full[1 << 15], buf[(1 << 15) + GUARD];
	uint64_t v[HVLOG_MAX_PARAMS];
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 6, .ts = 12345678901234, .offset = 1u << 30,
			  .values = v };
	decoded d;

	decode_meta(&d, &hostile_schema, hostile_streams, NELEMS(hostile_streams), 2400000000u);
	for (uint32_t i = 0; i < HVLOG_MAX_PARAMS; i++)
		v[i] = i & 1 ? 5 : UINT64_MAX - i;
	for (int tables = 0; tables < 2; tables++) {
		hvlog_meta m = d.meta;
		if (!tables)
			m.internal = NULL;
		for (uint32_t e = 0; e < d.meta.schema->nevents; e++) {
			it.event = &d.meta.schema->events[e];
			for (size_t k = 0; k < NELEMS(kinds); k++) {
				size_t n = hvlog_format_item(&m, &it, kinds[k], 0, full, sizeof full);
				ck_assert_uint_gt(n, 0);
				/* (up to the room the text line checks for once, with
				 * every value at its longest and the slack of the
				 * copies) */
				for (size_t cap = 0; cap <= n + 4096; cap++) {
					size_t want = cap < 2 ? 0 : (cap - 2 < n - 1 ? cap - 2 : n - 1) + 1, got;
					memset(buf, 0x5a, cap + GUARD);
					got = hvlog_format_item(&m, &it, kinds[k], 0, buf, cap);
					TU_CHECK(got == want, "cap %zu: length %zu, want %zu", cap, got, want);
					if (cap)
						TU_CHECK(buf[got] == 0, "cap %zu: no NUL", cap);
					if (got)
						TU_CHECK(!memcmp(buf, full, got - 1) && buf[got - 1] == '\n',
							 "cap %zu: not the start of the line", cap);
					for (size_t g = cap; g < cap + GUARD; g++)
						TU_CHECK(buf[g] == 0x5a, "cap %zu: byte %zu written", cap, g);
				}
			}
		}
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* The longest JSON line (event 7 of the hostile schema: 16 keys of 64
 * control characters, each with a named value of them) fits in
 * HVLOG_FORMAT_MAX, the same with and without tables; a smaller buffer
 * cuts it, the same way with and without tables. */
START_TEST(test_longest_json_line)
{
	enum { SMALL = 4096 };
	static char a[HVLOG_FORMAT_MAX], b[SMALL], c[SMALL], full[HVLOG_FORMAT_MAX];
	uint64_t v[HVLOG_MAX_PARAMS];
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 6, .values = v };
	hvlog_meta bare;
	decoded d;

	decode_meta(&d, &hostile_schema, hostile_streams, NELEMS(hostile_streams), 1000000000u);
	bare = d.meta;
	bare.internal = NULL;
	for (uint32_t i = 0; i < HVLOG_MAX_PARAMS; i++)
		v[i] = 5;
	it.event = &d.meta.schema->events[6];
	size_t n = hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_JSON, 0, a, sizeof a);
	ck_assert_msg(n > 16 * 2 * 64 * 6 && n < HVLOG_FORMAT_MAX - 1 && a[n - 1] == '\n' && a[n - 2] == '}',
		      "longest JSON line: %zu bytes, not whole", n);
	ck_assert_uint_eq(hvlog_format_item(&bare, &it, HVLOG_FORMAT_JSON, 0, full, sizeof full), n);
	ck_assert(!memcmp(a, full, n + 1));
	ck_assert_uint_eq(hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_JSON, 0, b, sizeof b), SMALL - 1);
	ck_assert_uint_eq(hvlog_format_item(&bare, &it, HVLOG_FORMAT_JSON, 0, c, sizeof c), SMALL - 1);
	ck_assert(!memcmp(b, c, sizeof b) && !memcmp(a, b, SMALL - 2));
	hvlog__meta_free(d.store);
}
END_TEST

/* ---- numbers and time --------------------------------------------------- */

/* Values of every decimal and hex length, and their neighbours. */
static uint64_t edge_value(tu_rng *rng, int i)
{
	uint64_t p10 = 1, p16 = 1;

	switch (i % 4) {
	case 0:
		for (int k = (int)tu_rand_below(rng, 20); k > 0; k--)
			p10 *= 10;
		return p10 + tu_rand_below(rng, 3) - 1;
	case 1:
		p16 <<= 4 * tu_rand_below(rng, 16);
		return p16 + tu_rand_below(rng, 3) - 1;
	case 2:
		return UINT64_MAX - tu_rand_below(rng, 3);
	default:
		return tu_rand(rng) >> tu_rand_below(rng, 64);
	}
}

static const hvlog_param number_params[] = {
	{ "d", "Dec", HVLOG_TYPE_U64, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
	{ "h", "Hex", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
};
static const hvlog_group number_groups[] = { { "g", "G", 1 } };
static const hvlog_event number_events[] = { { 1, "HV_TR_N", "N", 0, number_params, 2, 0 } };
static const hvlog_schema number_schema = { "n", 1, number_groups, 1, number_events, 1, NULL, 0, 2 };

START_TEST(test_numbers_match_printf)
{
	static const hvlog_stream_info one[] = { { "s", 0, 0 } };
	char line[HVLOG_FORMAT_MAX], want[512];
	uint64_t v[2];
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 0, .values = v };
	tu_rng rng = { 3 };
	decoded d;

	decode_meta(&d, &number_schema, one, 1, 1000000000u);
	it.event = &d.meta.schema->events[0];
	for (int i = 0; i < 200000; i++) {
		uint64_t ns;
		v[0] = edge_value(&rng, i);
		v[1] = edge_value(&rng, i + 1);
		it.ts = edge_value(&rng, i + 2);
		it.offset = edge_value(&rng, i + 3);
		ns = it.ts;
		hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_TEXT, 0, line, sizeof line);
		snprintf(want, sizeof want, "%*" PRIu64 ".%09" PRIu64 " s        g          N                          d=%" PRIu64
			 " h=0x%" PRIx64 "\n", 5, ns / 1000000000u, ns % 1000000000u, v[0], v[1]);
		TU_CHECK(!strcmp(line, want), "text\n%s\nwant\n%s", line, want);
		hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_JSON, 0, line, sizeof line);
		snprintf(want, sizeof want, "{\"type\":\"event\",\"time_ns\":%" PRIu64 ",\"ts\":%" PRIu64 ",\"stream\":0,"
			 "\"stream_name\":\"s\",\"offset\":%" PRIu64 ",\"group\":\"g\",\"event\":\"HV_TR_N\",\"number\":1,"
			 "\"params\":{\"d\":%" PRIu64 ",\"h\":\"0x%" PRIx64 "\"}}\n", ns, it.ts, it.offset, v[0], v[1]);
		TU_CHECK(!strcmp(line, want), "json\n%s\nwant\n%s", line, want);
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* "%5" above pads the seconds so that with the point and nine digits they
 * fill 15 columns: check that the reference itself pads as the time
 * column does, on a short and a long time. */
/* The building blocks: decimal against printf; JSON strings against a
 * byte-at-a-time reference, with the character that needs an escape at
 * every position of strings of every length up to 64 (the 8-byte scan
 * must not miss one or stop short). */
static size_t json_ref(char *out, const char *s)
{
	char *p = out;

	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			p += sprintf(p, "\\%c", c);
		else if (c < 0x20)
			p += sprintf(p, "\\u%04x", c);
		else
			*p++ = (char)c;
	}
	*p++ = '"';
	return (size_t)(p - out);
}

START_TEST(test_building_blocks)
{
	static const char special[] = { '"', '\\', 0x01, 0x1f, '\n', 0x7f, (char)0xc3, ' ' };
	char got[HVLOG_MAX_NAME * 6 + 8], want[HVLOG_MAX_NAME * 6 + 8], s[HVLOG_MAX_NAME + 1];
	tu_rng rng = { 11 };

	for (int i = 0; i < 100000; i++) {
		uint64_t v = edge_value(&rng, i);
		size_t n = hvlog_format_dec(got, v);
		TU_CHECK(n == (size_t)snprintf(want, sizeof want, "%" PRIu64, v) && !memcmp(got, want, n),
			 "hvlog_format_dec(%" PRIu64 ") = %.*s", v, (int)n, got);
		n = hvlog_format_hex(got, v);
		TU_CHECK(n == (size_t)snprintf(want, sizeof want, "0x%" PRIx64, v) && !memcmp(got, want, n),
			 "hvlog_format_hex(0x%" PRIx64 ") = %.*s", v, (int)n, got);
	}
	for (size_t len = 0; len <= HVLOG_MAX_NAME; len++)
		for (size_t at = 0; at <= len; at++)
			for (size_t k = 0; k < sizeof special; k++) {
				for (size_t j = 0; j < len; j++)
					s[j] = (char)('a' + (j % 26));
				if (at < len)
					s[at] = special[k];
				s[len] = 0;
				size_t n = hvlog_format_json_str(got, s), m = json_ref(want, s);
				TU_CHECK(n == m && !memcmp(got, want, n), "json string of %zu bytes, 0x%02x at %zu: %.*s",
					 len, (unsigned char)special[k], at, (int)n, got);
			}
}
END_TEST

START_TEST(test_time_column)
{
	static const hvlog_stream_info one[] = { { "s", 0, 0 } };
	char line[HVLOG_FORMAT_MAX];
	uint64_t v[2] = { 0, 0 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 0, .ts = 1, .values = v };
	decoded d;

	decode_meta(&d, &number_schema, one, 1, 1000000000u);
	it.event = &d.meta.schema->events[0];
	hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_TEXT, 0, line, sizeof line);
	ck_assert(!strncmp(line, "    0.000000001 s ", 18));
	it.ts = UINT64_MAX;
	hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_TEXT, 0, line, sizeof line);
	ck_assert(!strncmp(line, "18446744073.709551615 s ", 24));
	/* times of every length, on both sides of 10^5 s (where the column
	 * stops being padded and its writer changes), against printf */
	{
		static const uint64_t edges[] = { 0, 9, 999999999, 1000000000, 9999999999, 99999999999999,
						  100000000000000, 100000000000001, 999999999999999 };
		tu_rng rng = { 5 };
		char want[64];
		for (int i = 0; i < 200000; i++) {
			uint64_t p10 = 1, ns;
			for (int k = i % 17; k > 0; k--)
				p10 *= 10;
			ns = i < (int)NELEMS(edges) ? edges[i] : tu_rand(&rng) % (10 * p10);
			it.ts = ns;
			hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_TEXT, 0, line, sizeof line);
			snprintf(want, sizeof want, "%5" PRIu64 ".%09" PRIu64 " s ", ns / 1000000000u, ns % 1000000000u);
			TU_CHECK(!strncmp(line, want, strlen(want)), "%" PRIu64 " ns: %s", ns, line);
		}
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* The names of enum values, looked up by the tables' hash and by the
 * table's search: the same name (the first of a value named twice) for
 * values named and not, in a table large enough to collide. */
START_TEST(test_value_names)
{
	static const hvlog_stream_info one[] = { { "s", 0, 0 } };
	static hvlog_value_name names[600];
	static char text[600][16];
	static const hvlog_valtab tab = { "t", names, NELEMS(names) };
	static const hvlog_param p = { "e", "Enum", HVLOG_TYPE_U64, HVLOG_DISPLAY_ENUM, HVLOG_CODING_VARINT, &tab,
				       HVLOG_ROLE_NONE };
	static const hvlog_event ev = { 1, "HV_TR_N", "N", 0, &p, 1, 0 };
	static const hvlog_schema schema = { "n", 1, number_groups, 1, &ev, 1, &tab, 1, 1 };
	char line[HVLOG_FORMAT_MAX], want[64];
	uint64_t v[1];
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 0, .ts = 0, .values = v };
	tu_rng rng = { 9 };
	decoded d;

	for (uint32_t i = 0; i < NELEMS(names); i++) {
		/* spaced values, a few named twice, and the largest */
		uint64_t value = i == NELEMS(names) - 1 ? UINT64_MAX
				 : i % 7 == 6		 ? names[i - 1].value
							 : (uint64_t)i << (i % 3 * 20);
		snprintf(text[i], sizeof text[i], "V%u", i);
		names[i] = (hvlog_value_name){ value, text[i] };
	}
	decode_meta(&d, &schema, one, 1, 1000000000u);
	it.event = &d.meta.schema->events[0];
	for (uint32_t i = 0; i < 3 * NELEMS(names) + 1000; i++) {
		const hvlog_valtab *t = &d.meta.schema->valtabs[0];
		const char *name;
		v[0] = i < 3 * NELEMS(names) ? t->values[i / 3].value + i % 3 - 1 : tu_rand(&rng) >> tu_rand_below(&rng, 64);
		assert_same(&d.meta, &it, 0, "enum value");
		hvlog_format_item(&d.meta, &it, HVLOG_FORMAT_TEXT, 0, line, sizeof line);
		name = hvlog_valtab_name(t, v[0]);
		if (name)
			snprintf(want, sizeof want, " e=%s\n", name);
		else
			snprintf(want, sizeof want, " e=0x%" PRIx64 "\n", v[0]);
		TU_CHECK(strlen(line) >= strlen(want) && !strcmp(line + strlen(line) - strlen(want), want),
			 "0x%" PRIx64 ": %s, want %s", v[0], line, want);
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* --time's modes (HVLOG_FMT_TIME): the text column, the JSON, CSV and CBOR
 * fields, the wall-clock time at the ends of its range, and the refusal of
 * ABSOLUTE when the clock's epoch is unknown. */
static size_t time_line(const hvlog_meta *m, hvlog_format_kind kind, unsigned flags, const hvlog_item *it,
			uint64_t prev, char *line)
{
	hvlog_formatter_config cfg = { kind, flags, 0, NULL };
	hvlog_formatter *f;
	hvlog_error err = { 0 };
	size_t n;

	ck_assert_msg(hvlog_formatter_create(&f, m, &cfg, &err) == HVLOG_OK, "%s", err.msg);
	n = hvlog_formatter_item_since(f, it, prev, line, HVLOG_FORMAT_MAX);
	if (kind == HVLOG_FORMAT_CSV) { /* the header row, then the row */
		size_t hn;
		const char *h = hvlog_formatter_header(f, &hn);
		memmove(line + hn, line, n + 1);
		memcpy(line, h, hn);
		n += hn;
	}
	hvlog_formatter_free(f);
	return n;
}

START_TEST(test_time_modes)
{
	static const hvlog_stream_info one[] = { { "s", 0, 0 } };
	static const struct {
		int64_t epoch;
		uint64_t ts;
		const char *utc;
	} utc[] = {
		{ 951782400123456789, 0, "2000-02-29T00:00:00.123456789Z s " },
		{ -1, 0, "1969-12-31T23:59:59.999999999Z s " },
		{ INT64_MIN, 0, "1677-09-21T00:12:43.145224192Z s " },
		{ INT64_MAX, UINT64_MAX, "2846-10-30T23:21:50.564327422Z s " },
	};
	char line[HVLOG_FORMAT_MAX];
	uint64_t v[2] = { 0, 0 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 0, .ts = 7, .values = v };
	hvlog_formatter_config cfg = { HVLOG_FORMAT_TEXT, HVLOG_FMT_TIME(HVLOG_TIME_ABSOLUTE), 0, NULL };
	hvlog_formatter *f;
	hvlog_error err = { 0 };
	decoded d;

	decode_meta(&d, &number_schema, one, 1, 1000000000u);
	it.event = &d.meta.schema->events[0];
	/* epoch 0 is unknown: no wall-clock time */
	ck_assert_int_eq(hvlog_formatter_create(&f, &d.meta, &cfg, &err), HVLOG_INVALID);
	ck_assert_msg(strstr(err.msg, "epoch is unknown") != NULL, "%s", err.msg);
	cfg.flags = HVLOG_FMT_TIME(9);
	ck_assert_int_eq(hvlog_formatter_create(&f, &d.meta, &cfg, &err), HVLOG_INVALID);
	for (size_t i = 0; i < NELEMS(utc); i++) {
		d.meta.clock_epoch_ns = utc[i].epoch;
		it.ts = utc[i].ts;
		time_line(&d.meta, HVLOG_FORMAT_TEXT, HVLOG_FMT_TIME(HVLOG_TIME_ABSOLUTE), &it, 0, line);
		ck_assert_msg(!strncmp(line, utc[i].utc, strlen(utc[i].utc)), "%s", line);
	}
	d.meta.clock_epoch_ns = 951782400123456789;
	it.ts = 7;
	/* ticks: right-aligned in 20 columns; delta: since the tick given */
	time_line(&d.meta, HVLOG_FORMAT_TEXT, HVLOG_FMT_TIME(HVLOG_TIME_TICKS), &it, 0, line);
	ck_assert_msg(!strncmp(line, "                   7 s ", 23), "%s", line);
	time_line(&d.meta, HVLOG_FORMAT_TEXT, HVLOG_FMT_TIME(HVLOG_TIME_DELTA), &it, 5, line);
	ck_assert_msg(!strncmp(line, "   +0.000000002 s ", 18), "%s", line);
	time_line(&d.meta, HVLOG_FORMAT_TEXT, HVLOG_FMT_TIME(HVLOG_TIME_DELTA) | HVLOG_FMT_COLOR, &it, 5, line);
	ck_assert_msg(!strncmp(line, "   \033[2m+0.000000002\033[0m s ", 26), "%s", line);
	/* the relative mode given explicitly is the default line */
	{
		char def[HVLOG_FORMAT_MAX];
		size_t n = time_line(&d.meta, HVLOG_FORMAT_TEXT, 0, &it, 5, def);
		ck_assert_uint_eq(time_line(&d.meta, HVLOG_FORMAT_TEXT, HVLOG_FMT_TIME(HVLOG_TIME_RELATIVE), &it, 5, line), n);
		ck_assert_str_eq(line, def);
		ck_assert(!strncmp(line, "    0.000000007 s ", 18));
	}
	/* JSON: time_utc or delta_ns after ts; ticks as relative */
	time_line(&d.meta, HVLOG_FORMAT_JSON, HVLOG_FMT_TIME(HVLOG_TIME_ABSOLUTE), &it, 0, line);
	ck_assert_msg(strstr(line, "\"ts\":7,\"time_utc\":\"2000-02-29T00:00:00.123456796Z\",\"stream\"") != NULL,
		      "%s", line);
	time_line(&d.meta, HVLOG_FORMAT_JSON, HVLOG_FMT_TIME(HVLOG_TIME_DELTA), &it, 5, line);
	ck_assert_msg(strstr(line, "\"ts\":7,\"delta_ns\":2,\"stream\"") != NULL, "%s", line);
	time_line(&d.meta, HVLOG_FORMAT_JSON, HVLOG_FMT_TIME(HVLOG_TIME_TICKS), &it, 5, line);
	ck_assert_msg(strstr(line, "\"ts\":7,\"stream\"") != NULL, "%s", line);
	/* CSV: a column after ts */
	time_line(&d.meta, HVLOG_FORMAT_CSV, HVLOG_FMT_TIME(HVLOG_TIME_ABSOLUTE), &it, 0, line);
	ck_assert_msg(!strncmp(line, "type,time_ns,ts,time_utc,stream,", 32), "%s", line);
	ck_assert_msg(strstr(line, "\r\nevent,7,7,2000-02-29T00:00:00.123456796Z,0,") != NULL, "%s", line);
	time_line(&d.meta, HVLOG_FORMAT_CSV, HVLOG_FMT_TIME(HVLOG_TIME_DELTA), &it, 5, line);
	ck_assert_msg(strstr(line, "type,time_ns,ts,delta_ns,stream,") != NULL, "%s", line);
	ck_assert_msg(strstr(line, "\r\nevent,7,7,2,0,") != NULL, "%s", line);
	/* CBOR: one pair more */
	{
		size_t n0 = time_line(&d.meta, HVLOG_FORMAT_CBOR, 0, &it, 5, line);
		unsigned char head0 = (unsigned char)line[0];
		size_t n = time_line(&d.meta, HVLOG_FORMAT_CBOR, HVLOG_FMT_TIME(HVLOG_TIME_ABSOLUTE), &it, 0, line);
		ck_assert_uint_eq((unsigned char)line[0], head0 + 1u);
		ck_assert_uint_eq(n, n0 + 9 + 2 + 30);
		ck_assert(memmem(line, n, "\x68time_utc\x78\x1e" "2000-02-29T00:00:00.123456796Z", 41) != NULL);
		n = time_line(&d.meta, HVLOG_FORMAT_CBOR, HVLOG_FMT_TIME(HVLOG_TIME_DELTA), &it, 5, line);
		ck_assert(memmem(line, n, "\x68" "delta_ns\x02", 10) != NULL);
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* The conversion without division equals hvlog_ticks_to_ns (128-bit
 * division) for every rate, on random, edge and overflowing tick counts. */
START_TEST(test_clock_exact)
{
	static const uint64_t more_rates[] = { 2, 7, 999, 1000000, 33333333, 1000000007, 1193182, 3579545,
					       25000000, 19200000, 24000000, 2100000000, 3700000000u,
					       (uint64_t)1 << 32, ((uint64_t)1 << 63) + 1 };
	tu_rng rng = { 11 };

	for (size_t r = 0; r < NELEMS(rates) + NELEMS(more_rates) + 2000; r++) {
		uint64_t hz = r < NELEMS(rates)			       ? rates[r]
			      : r < NELEMS(rates) + NELEMS(more_rates) ? more_rates[r - NELEMS(rates)]
								       : 1 + (tu_rand(&rng) >> tu_rand_below(&rng, 64));
		hvlog__clock c;
		hvlog__clock_init(&c, hz);
		for (int i = 0; i < 2000; i++) {
			uint64_t t0 = i % 7 ? 0 : tu_rand(&rng) >> tu_rand_below(&rng, 64);
			uint64_t d = i < 8 ? (uint64_t)i : i < 16 ? UINT64_MAX - (uint64_t)(i - 8)
							   : i % 3 ? tu_rand(&rng) >> tu_rand_below(&rng, 64)
								   : hz * tu_rand_below(&rng, 1000) + tu_rand_below(&rng, 3) - 1;
			uint64_t t = t0 + d;
			TU_CHECK(hvlog__clock_ns(&c, t, t0) == hvlog_ticks_to_ns(t, t0, hz),
				 "hz %" PRIu64 " t %" PRIu64 " t0 %" PRIu64 ": %" PRIu64 ", want %" PRIu64, hz, t, t0,
				 hvlog__clock_ns(&c, t, t0), hvlog_ticks_to_ns(t, t0, hz));
			TU_CHECK(hvlog__clock_ns(&c, t0, t) == hvlog_ticks_to_ns(t0, t, hz), "backwards");
		}
	}
}
END_TEST

/* ---- the formatter object against the code it replaces -------------------
 *
 * Every kind and dialect of hvlog_formatter, item by item over the testdata
 * traces (golden and damaged) and the hostile schema, against what the
 * command line wrote before it: hvlog_format_item (guarded by the golden files) for text and the decode
 * JSON dialect; and for colour the re-tokenising colouriser `hvlog decode`
 * used before (kept below as the reference), byte for byte. */

/* Output collected in memory. */
struct sink {
	char *p;
	size_t n;
	FILE *f;
};

static void sink_open(struct sink *s)
{
	s->p = NULL;
	s->n = 0;
	ck_assert_ptr_nonnull(s->f = open_memstream(&s->p, &s->n));
}

/* The colouriser of cli/color.c as it was: colours put around the columns
 * of a finished text line, found by position (the reference). */
#define OLD_SGR_RESET "\033[0m"
static size_t old_span(const char *s, const char *end, int spaces)
{
	const char *p = s;

	while (p < end && (*p == ' ') == spaces)
		p++;
	return (size_t)(p - s);
}

static void old_put(FILE *f, const char *sgr, const char *s, size_t n)
{
	if (!n)
		return;
	if (sgr)
		fputs(sgr, f);
	fwrite(s, 1, n, f);
	if (sgr)
		fputs(OLD_SGR_RESET, f);
}

static void old_color_write(FILE *f, const char *line, size_t n, const hvlog_item *it)
{
	const char *p = line, *end = line + n;
	size_t k;

	if (n && end[-1] == '\n')
		end--;
	old_put(f, NULL, p, k = old_span(p, end, 1)), p += k;
	old_put(f, "\033[2m", p, k = old_span(p, end, 0)), p += k;
	old_put(f, NULL, p, k = old_span(p, end, 1)), p += k;
	old_put(f, NULL, p, k = old_span(p, end, 0)), p += k;
	old_put(f, NULL, p, k = old_span(p, end, 1)), p += k;
	if (it->kind != HVLOG_ITEM_EVENT) {
		old_put(f, it->kind == HVLOG_ITEM_LOST ? "\033[33m" : "\033[1;31m", p, (size_t)(end - p));
	} else {
		old_put(f, "\033[36m", p, k = old_span(p, end, 0)), p += k;
		old_put(f, NULL, p, k = old_span(p, end, 1)), p += k;
		old_put(f, "\033[1m", p, k = old_span(p, end, 0)), p += k;
		while (p < end) {
			const char *eq = memchr(p, '=', (size_t)(end - p)), *v, *next = end, *sp;
			if (!eq) {
				old_put(f, NULL, p, (size_t)(end - p));
				break;
			}
			old_put(f, NULL, p, (size_t)(eq + 1 - p));
			v = eq + 1;
			for (sp = v; sp < end && (sp = memchr(sp, ' ', (size_t)(end - sp))); sp++) {
				const char *t = sp + 1;
				while (t < end && *t != ' ' && *t != '=')
					t++;
				if (t < end && *t == '=') {
					next = sp;
					break;
				}
			}
			old_put(f, "\033[32m", v, (size_t)(next - v));
			p = next;
		}
	}
	fwrite(end, 1, (size_t)(line + n - end), f);
}

/* Whether the old colouriser found the columns of it's line where they
 * are: every name in it non-empty (the key may be empty) and without a
 * space or '='.  Where not, it coloured the wrong text (see
 * test_color_columns). */
static int plain_name(const char *s, int may_be_empty)
{
	return (may_be_empty || *s) && !strpbrk(s, " =");
}

static int old_color_exact(const hvlog_meta *m, const hvlog_item *it)
{
	const hvlog_event *ev = it->event;

	if (it->stream != UINT32_MAX && (it->stream >= m->nstreams || !plain_name(m->streams[it->stream].name, 0)))
		return 0;
	if (it->kind != HVLOG_ITEM_EVENT)
		return 1;
	if (ev->group >= m->schema->ngroups || !plain_name(m->schema->groups[ev->group].alias, 0) ||
	    !plain_name(strncmp(ev->symbol, "HV_TR_", 6) ? ev->symbol : ev->symbol + 6, 0))
		return 0;
	for (uint32_t i = 0; i < ev->nparams; i++) {
		const char *name = hvlog_valtab_name(ev->params[i].values, it->values[i]);
		if (!plain_name(ev->params[i].key, 1) ||
		    (ev->params[i].display == HVLOG_DISPLAY_ENUM && name && !plain_name(name, 1)))
			return 0;
	}
	return 1;
}

enum ref_kind { REF_LINE, REF_COLOR };

/* One comparison: a formatter and the code path it must match. */
struct lane {
	const char *name;
	enum ref_kind ref;
	hvlog_format_kind line_kind;  /* REF_LINE */
	hvlog_format_kind kind;
	unsigned flags;
	hvlog_formatter *f;
	struct sink want, got;
	uint64_t items, skipped;
};

#define NLANES 3

static void lanes_init(struct lane *l, const hvlog_meta *m, uint64_t t0, const uint8_t *ev_ok)
{
#define LANE(n, r, w, lk, k, fl) { .name = n, .ref = r, .line_kind = lk, .kind = k, .flags = fl }
	const struct lane proto[NLANES] = {
		LANE("decode text", REF_LINE, NULL, HVLOG_FORMAT_TEXT, HVLOG_FORMAT_TEXT, 0),
		LANE("decode json", REF_LINE, NULL, HVLOG_FORMAT_JSON, HVLOG_FORMAT_JSON, HVLOG_FMT_JSON_DECODE_V1),
		LANE("decode --color", REF_COLOR, NULL, HVLOG_FORMAT_TEXT, HVLOG_FORMAT_TEXT, HVLOG_FMT_COLOR),
	};
#undef LANE

	for (int i = 0; i < NLANES; i++) {
		hvlog_formatter_config cfg = { proto[i].kind, proto[i].flags, t0, ev_ok };
		hvlog_error err = { 0 };
		const char *h;
		size_t hn;
		l[i] = proto[i];
		sink_open(&l[i].want);
		sink_open(&l[i].got);
		ck_assert_msg(hvlog_formatter_create(&l[i].f, m, &cfg, &err) == HVLOG_OK, "%s: %s", l[i].name,
			      err.msg);
		h = hvlog_formatter_header(l[i].f, &hn);
		ck_assert_uint_eq(hn, 0); /* text and the old decode dialect have no header */
		fwrite(h, 1, hn, l[i].got.f);
	}
}

static void lanes_item(struct lane *l, const hvlog_meta *m, uint64_t t0, const uint8_t *ev_ok, const hvlog_item *it)
{
	static char line[HVLOG_FORMAT_MAX], buf[4 * HVLOG_FORMAT_MAX];

	/* a selection passes on only the items of the selected events */
	if (ev_ok && it->kind == HVLOG_ITEM_EVENT && !ev_ok[it->event - m->schema->events])
		return;
	for (int i = 0; i < NLANES; i++) {
		size_t n = hvlog_format_item(m, it, l[i].line_kind, t0, line, sizeof line);
		if (l[i].ref == REF_LINE) {
			fwrite(line, 1, n, l[i].want.f);
		} else if (old_color_exact(m, it)) {
			old_color_write(l[i].want.f, line, n, it);
		} else {
			l[i].skipped++;
			continue;
		}
		ck_assert_uint_le(hvlog_formatter_item_max(l[i].f), sizeof buf);
		n = hvlog_formatter_item(l[i].f, it, buf, sizeof buf);
		ck_assert_uint_gt(n, 0);
		fwrite(buf, 1, n, l[i].got.f);
		l[i].items++;
	}
}

/* Close the lanes and compare: the same bytes, or where they part. */
static void lanes_end(struct lane *l, const char *what)
{
	for (int i = 0; i < NLANES; i++) {
		size_t k = 0;
		fclose(l[i].want.f);
		fclose(l[i].got.f);
		while (k < l[i].want.n && k < l[i].got.n && l[i].want.p[k] == l[i].got.p[k])
			k++;
		TU_CHECK(l[i].want.n == l[i].got.n && k == l[i].want.n,
			 "%s, %s: %zu and %zu bytes, apart at byte %zu:\nwant %.200s\ngot  %.200s", what, l[i].name,
			 l[i].want.n, l[i].got.n, k, l[i].want.p + (k > 40 ? k - 40 : 0),
			 l[i].got.p + (k > 40 ? k - 40 : 0));
		free(l[i].want.p);
		free(l[i].got.p);
		hvlog_formatter_free(l[i].f);
	}
}

/* Every second event selected, for the CSV columns of a selection. */
static uint8_t *every_other_event(const hvlog_schema *s)
{
	uint8_t *ok = calloc(s->nevents + 1, 1);

	for (uint32_t e = 0; e < s->nevents; e += 2)
		ok[e] = 1;
	return ok;
}

/* One trace of testdata/: 1 if it opens (damaged headers do not). */
static int compare_trace(const char *path, int selected)
{
	hvlog_reader *r;
	hvlog_reader_stats st;
	hvlog_error err = { 0 };
	const hvlog_item *it;
	struct lane l[NLANES];
	uint8_t *ev_ok = NULL;
	const hvlog_meta *m;
	uint64_t items = 0;

	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK)
		return 0;
	m = hvlog_reader_meta(r);
	hvlog_reader_stats_get(r, &st);
	if (selected)
		ev_ok = every_other_event(m->schema);
	lanes_init(l, m, st.first_ts, ev_ok);
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK) {
		lanes_item(l, m, st.first_ts, ev_ok, it);
		items++;
	}
	ck_assert_uint_gt(items, 0);
	lanes_end(l, path);
	free(ev_ok);
	hvlog_reader_close(r);
	return 1;
}

static int compare_dir(const char *dir, int selected)
{
	static const char *const names[] = { "all", "mix", "empty", "garbage", "header-bitflip", "header-checksum",
					     "meta-bitflip", "not-a-trace", "payload-bitflip", "truncated" };
	char path[512];
	int opened = 0;

	for (size_t i = 0; i < NELEMS(names); i++) {
		snprintf(path, sizeof path, "%s/testdata/%s/%s.bin", HVLOG_SOURCE_DIR, dir, names[i]);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		fclose(f);
		opened += compare_trace(path, selected);
	}
	return opened;
}

START_TEST(test_formatter_testdata)
{
	/* all and mix; payload-bitflip and truncated have damage items */
	ck_assert_int_eq(compare_dir("golden", _i), 2);
	ck_assert_int_ge(compare_dir("damaged", _i), 2);
}
END_TEST

struct lanes_case {
	struct lane *l;
	const hvlog_meta *m;
	hvlog_item *it;
	uint64_t t0;
};

static void lanes_values(const uint64_t *v, void *ctx)
{
	struct lanes_case *c = ctx;

	c->it->values = v;
	lanes_item(c->l, c->m, c->t0, NULL, c->it);
}

/* The hostile schema: every event on every stream and none, many values;
 * lost and damage items, with and without a stream. */
START_TEST(test_formatter_hostile)
{
	decoded d;
	tu_rng rng = { 7 + (uint64_t)_i };
	struct lane l[NLANES];
	const uint64_t t0 = 1000;
	uint64_t colored = 0;

	decode_meta(&d, &hostile_schema, hostile_streams, NELEMS(hostile_streams), rates[_i]);
	lanes_init(l, &d.meta, t0, NULL);
	for (uint32_t e = 0; e < d.meta.schema->nevents; e++)
		for (uint32_t st = 0; st <= d.meta.nstreams; st++) {
			hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .event = &d.meta.schema->events[e],
					  .stream = st < d.meta.nstreams ? st : UINT32_MAX, .ts = tu_rand(&rng),
					  .offset = tu_rand(&rng) };
			struct lanes_case c = { l, &d.meta, &it, t0 };
			each_value_set(it.event, &rng, lanes_values, &c);
		}
	for (uint32_t st = 0; st <= d.meta.nstreams; st++) {
		hvlog_item lost = { .kind = HVLOG_ITEM_LOST, .stream = st < d.meta.nstreams ? st : UINT32_MAX,
				    .ts = 5000, .offset = 77, .lost_count = 3, .lost_first_ts = 900,
				    .lost_last_ts = UINT64_MAX };
		hvlog_item dmg = { .kind = HVLOG_ITEM_DAMAGE, .stream = lost.stream, .ts = 6000, .offset = 1234,
				   .damage = HVLOG_CHECKSUM, .damage_len = 4096, .damage_events = st,
				   .chunk_seq = UINT64_MAX, .damage_msg = "chunk \"7\" checksum\x1b mismatch, a long "
							     "message, with commas" };
		lanes_item(l, &d.meta, t0, NULL, &lost);
		lanes_item(l, &d.meta, t0, NULL, &dmg);
	}
	colored = l[2].items; /* the colour lane */
	lanes_end(l, "hostile schema");
	/* the old colouriser was exact on a good share of them */
	ck_assert_uint_gt(colored, 1000);
	hvlog__meta_free(d.store);
}
END_TEST

/* The colours go on the columns, also where the old colouriser, which
 * looked for them in the finished line, missed: an empty group or event
 * name, an empty stream name. */
START_TEST(test_color_columns)
{
	uint64_t v[HVLOG_MAX_PARAMS] = { 1, 0xc, 2, 1 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 2, .ts = 1500000123, .values = v };
	hvlog_formatter_config cfg = { HVLOG_FORMAT_TEXT, HVLOG_FMT_COLOR, 0, NULL };
	hvlog_formatter *f;
	hvlog_error err;
	char line[HVLOG_FORMAT_MAX], want[1024], q64[65];
	decoded d;

	decode_meta(&d, &hostile_schema, hostile_streams, NELEMS(hostile_streams), 1000000000u);
	ck_assert_int_eq(hvlog_formatter_create(&f, &d.meta, &cfg, &err), HVLOG_OK);
	it.event = &d.meta.schema->events[2]; /* "HV_TR_": no name; group 2, a long alias */
	memset(q64, '?', 64);
	q64[64] = 0;
	hvlog_formatter_item(f, &it, line, sizeof line);
	snprintf(want, sizeof want,
		 "    \033[2m1.500000123\033[0m          \033[36ma-group-alias-longer-than-ten\033[0m "
		 "                           b?=\033[32mtrue\033[0m hexbool=\033[32m0xc\033[0m " KEY64
		 "=\033[32mquote\"back\\slash\033[0m %s=\033[32m?[31mred?\033[0m\n", q64);
	ck_assert_str_eq(line, want);
	/* an empty group alias, a long event name, an empty key */
	it.event = &d.meta.schema->events[4];
	v[0] = 0, v[1] = 0x10, v[2] = 7, v[3] = 3;
	hvlog_formatter_item(f, &it, line, sizeof line);
	snprintf(want, sizeof want,
		 "    \033[2m1.500000123\033[0m                     \033[1mAN_EVENT_NAME_LONGER_THAN_ITS_26_COLUMNS"
		 "\033[0m " KEY64 "=\033[32mZERO\033[0m %s=\033[32mcaf\xc3\xa9\033[0m =\033[32m0x7\033[0m "
		 "\xc3\xa9t\xc3\xa9=\033[32m3\033[0m\n", q64);
	ck_assert_str_eq(line, want);
	hvlog_formatter_free(f);
	hvlog__meta_free(d.store);
}
END_TEST

/* The one JSON dialect and its flags, on one event of each display and a
 * lost item: hex strings, decimal strings above 2^53 (not at it), bools;
 * raw integers with JSON_INTEGERS; offsets with OFFSETS; the decode
 * dialect with JSON_DECODE_V1. */
START_TEST(test_json_dialect)
{
	static const hvlog_param params[] = {
		{ "h", "Hex", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
		{ "d", "Dec", HVLOG_TYPE_U64, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
		{ "e", "Exact", HVLOG_TYPE_U64, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
		{ "b", "Bool", HVLOG_TYPE_BOOL, HVLOG_DISPLAY_BOOL, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
		{ "n", "Enum", HVLOG_TYPE_U64, HVLOG_DISPLAY_ENUM, HVLOG_CODING_VARINT, &hostile_valtabs[0], HVLOG_ROLE_NONE },
	};
	static const hvlog_group groups[] = { { "g", "Group", 1 } };
	static const hvlog_event events[] = { { 9, "HV_TR_E", "E", 0, params, NELEMS(params), 0 } };
	static const hvlog_schema schema = { "s", 1, groups, 1, events, 1, hostile_valtabs, NELEMS(hostile_valtabs), 0 };
	static const hvlog_stream_info streams[] = { { "vp0", 1, 0 } };
	static const struct {
		unsigned flags;
		const char *event, *lost;
	} cases[] = {
		{ 0,
		  "{\"type\":\"event\",\"time_ns\":5,\"ts\":15,\"stream\":0,\"stream_name\":\"vp0\",\"group\":\"g\","
		  "\"event\":\"HV_TR_E\",\"number\":9,\"params\":{\"h\":\"0xffffffffffffffff\",\"d\":\"9007199254740993\","
		  "\"e\":9007199254740992,\"b\":true,\"n\":16},\"names\":{\"n\":\"caf\xc3\xa9\"}}\n",
		  "{\"type\":\"lost\",\"time_ns\":10,\"ts\":20,\"stream\":0,\"stream_name\":\"vp0\",\"count\":3,"
		  "\"first_ts\":11,\"last_ts\":19,\"first_ns\":1,\"last_ns\":9}\n" },
		{ HVLOG_FMT_JSON_INTEGERS,
		  "{\"type\":\"event\",\"time_ns\":5,\"ts\":15,\"stream\":0,\"stream_name\":\"vp0\",\"group\":\"g\","
		  "\"event\":\"HV_TR_E\",\"number\":9,\"params\":{\"h\":18446744073709551615,\"d\":9007199254740993,"
		  "\"e\":9007199254740992,\"b\":1,\"n\":16},\"names\":{\"n\":\"caf\xc3\xa9\"}}\n",
		  NULL },
		{ HVLOG_FMT_OFFSETS,
		  "{\"type\":\"event\",\"time_ns\":5,\"ts\":15,\"stream\":0,\"stream_name\":\"vp0\",\"offset\":77,"
		  "\"group\":\"g\",\"event\":\"HV_TR_E\",\"number\":9,\"params\":{\"h\":\"0xffffffffffffffff\","
		  "\"d\":\"9007199254740993\",\"e\":9007199254740992,\"b\":true,\"n\":16},\"names\":{\"n\":\"caf\xc3\xa9\"}}\n",
		  "{\"type\":\"lost\",\"time_ns\":10,\"ts\":20,\"stream\":0,\"stream_name\":\"vp0\",\"offset\":88,"
		  "\"count\":3,\"first_ts\":11,\"last_ts\":19,\"first_ns\":1,\"last_ns\":9}\n" },
		{ HVLOG_FMT_JSON_DECODE_V1,
		  "{\"type\":\"event\",\"time_ns\":5,\"ts\":15,\"stream\":0,\"stream_name\":\"vp0\",\"offset\":77,"
		  "\"group\":\"g\",\"event\":\"HV_TR_E\",\"number\":9,\"params\":{\"h\":\"0xffffffffffffffff\","
		  "\"d\":9007199254740993,\"e\":9007199254740992,\"b\":true,\"n\":16},\"names\":{\"n\":\"caf\xc3\xa9\"}}\n",
		  "{\"type\":\"lost\",\"time_ns\":10,\"ts\":20,\"stream\":0,\"stream_name\":\"vp0\",\"offset\":88,"
		  "\"count\":3,\"first_ts\":11,\"last_ts\":19}\n" },
	};
	const uint64_t v[] = { UINT64_MAX, (1ull << 53) + 1, 1ull << 53, 1, 0x10 };
	char line[HVLOG_FORMAT_MAX];
	decoded d;

	decode_meta(&d, &schema, streams, 1, 1000000000u);
	for (int bare = 0; bare < 2; bare++) {
		hvlog_meta m = d.meta;
		if (bare)
			m.internal = NULL; /* the same without the tables */
		for (size_t i = 0; i < NELEMS(cases); i++) {
			hvlog_formatter_config cfg = { HVLOG_FORMAT_JSON, cases[i].flags, 10, NULL };
			hvlog_item ev = { .kind = HVLOG_ITEM_EVENT, .stream = 0, .ts = 15, .offset = 77,
					  .event = &m.schema->events[0], .values = v };
			hvlog_item lost = { .kind = HVLOG_ITEM_LOST, .stream = 0, .ts = 20, .offset = 88,
					    .lost_count = 3, .lost_first_ts = 11, .lost_last_ts = 19 };
			hvlog_formatter *f;
			hvlog_error err;
			size_t hn;
			ck_assert_int_eq(hvlog_formatter_create(&f, &m, &cfg, &err), HVLOG_OK);
			hvlog_formatter_header(f, &hn);
			/* a meta item first, but in the old decode dialect */
			ck_assert(!hn == !!(cases[i].flags & HVLOG_FMT_JSON_DECODE_V1));
			ck_assert_uint_eq(hvlog_formatter_item(f, &ev, line, sizeof line), strlen(cases[i].event));
			ck_assert_str_eq(line, cases[i].event);
			hvlog_formatter_item(f, &lost, line, sizeof line);
			if (cases[i].lost)
				ck_assert_str_eq(line, cases[i].lost);
			hvlog_formatter_free(f);
		}
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* Times, counts and offsets above 2^53 are strings in the default dialect
 * too (a TSC past 52 days at 2 GHz is one), numbers with JSON_INTEGERS; so
 * are the meta item's numbers. */
START_TEST(test_json_large_integers)
{
	static const hvlog_group groups[] = { { "g", "Group", 1ull << 63 } };
	static const hvlog_event events[] = { { 9, "HV_TR_E", "E", 0, NULL, 0, 0 } };
	static const hvlog_schema schema = { "s", 1, groups, 1, events, 1, NULL, 0, 0 };
	static const hvlog_stream_info streams[] = { { "vp0", 1, 0 } };
	const uint64_t big = (1ull << 53) + 1;
	char line[HVLOG_FORMAT_MAX];
	decoded d;

	decode_meta(&d, &schema, streams, 1, 1000000000u);
	for (int ints = 0; ints < 2; ints++) {
		hvlog_formatter_config cfg = { HVLOG_FORMAT_JSON, ints ? HVLOG_FMT_JSON_INTEGERS : 0, 0, NULL };
		hvlog_item lost = { .kind = HVLOG_ITEM_LOST, .stream = 0, .ts = big, .lost_count = big,
				    .lost_first_ts = 1, .lost_last_ts = big };
		hvlog_formatter *f;
		hvlog_error err;
		const char *h;
		size_t hn;
		ck_assert_int_eq(hvlog_formatter_create(&f, &d.meta, &cfg, &err), HVLOG_OK);
		hvlog_formatter_item(f, &lost, line, sizeof line);
		ck_assert_str_eq(line, ints ? "{\"type\":\"lost\",\"time_ns\":9007199254740993,\"ts\":9007199254740993,"
					      "\"stream\":0,\"stream_name\":\"vp0\",\"count\":9007199254740993,"
					      "\"first_ts\":1,\"last_ts\":9007199254740993,\"first_ns\":1,"
					      "\"last_ns\":9007199254740993}\n"
					    : "{\"type\":\"lost\",\"time_ns\":\"9007199254740993\",\"ts\":\"9007199254740993\","
					      "\"stream\":0,\"stream_name\":\"vp0\",\"count\":\"9007199254740993\","
					      "\"first_ts\":1,\"last_ts\":\"9007199254740993\",\"first_ns\":1,"
					      "\"last_ns\":\"9007199254740993\"}\n");
		h = hvlog_formatter_header(f, &hn);
		ck_assert_ptr_nonnull(strstr(h, ints ? "\"mask\":9223372036854775808}" : "\"mask\":\"9223372036854775808\"}"));
		hvlog_formatter_free(f);
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* The walk: every entry of the lists asked for, in order, each list
 * announced with its length and closed. */
struct walk_log {
	char s[8192];
	size_t n;
};

#define WLOG(ctx, ...) \
	(((struct walk_log *)(ctx))->n += (size_t)snprintf(((struct walk_log *)(ctx))->s + ((struct walk_log *)(ctx))->n, \
		sizeof((struct walk_log *)(ctx))->s - ((struct walk_log *)(ctx))->n, __VA_ARGS__))

static void w_list(void *c, unsigned l, uint32_t n) { WLOG(c, "L%u:%u(", l, n); }
static void w_end(void *c, unsigned l) { WLOG(c, ")%u ", l); }
static void w_stream(void *c, uint32_t i, const hvlog_stream_info *si) { WLOG(c, "s%u=%s ", i, si->name); }
static void w_group(void *c, uint32_t i, const hvlog_group *g) { WLOG(c, "g%u=%s ", i, g->alias); }
static void w_valtab(void *c, uint32_t i, const hvlog_valtab *t) { WLOG(c, "t%u=%s[", i, t->alias); }
static void w_value(void *c, const hvlog_valtab *t, const hvlog_value_name *v)
{
	(void)t;
	WLOG(c, "%llu ", (unsigned long long)v->value);
}
static void w_valtab_end(void *c, const hvlog_valtab *t) { WLOG(c, "]%s ", t->alias); }
static void w_event(void *c, uint32_t i, const hvlog_event *ev) { WLOG(c, "e%u=%u{", i, ev->number); }
static void w_param(void *c, const hvlog_event *ev, uint32_t i, const hvlog_param *p)
{
	(void)ev;
	WLOG(c, "p%u=%s ", i, p->key);
}
static void w_event_end(void *c, const hvlog_event *ev) { WLOG(c, "}%u ", ev->number); }

START_TEST(test_meta_walk)
{
	static const hvlog_param params[] = {
		{ "a", "A", HVLOG_TYPE_U8, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
		{ "b", "B", HVLOG_TYPE_U8, HVLOG_DISPLAY_ENUM, HVLOG_CODING_VARINT, &hostile_valtabs[0], HVLOG_ROLE_NONE },
	};
	static const hvlog_group groups[] = { { "g0", "G0", 1 }, { "g1", "G1", 2 } };
	static const hvlog_event events[] = { { 7, "E7", "", 0, params, 2, 0 }, { 8, "E8", "", 1, NULL, 0, 2 } };
	static const hvlog_schema schema = { "s", 1, groups, 2, events, 2, hostile_valtabs, 1, 2 };
	static const hvlog_stream_info streams[] = { { "vp0", 1, 0 }, { "vp1", 1, 1 } };
	static const hvlog_meta_visitor v = { w_list, w_end, w_stream, w_group, w_valtab, w_value, w_valtab_end,
					      w_event, w_param, w_event_end };
	hvlog_meta m = { .schema = &schema, .streams = streams, .nstreams = 2 };
	struct walk_log log = { "", 0 }, part = { "", 0 };
	char want[1024];
	size_t k = 0;

	k += (size_t)snprintf(want + k, sizeof want - k, "L1:2(s0=vp0 s1=vp1 )1 L2:2(g0=g0 g1=g1 )2 L4:1(t0=%s[",
			      hostile_valtabs[0].alias);
	for (uint32_t i = 0; i < hostile_valtabs[0].nvalues; i++)
		k += (size_t)snprintf(want + k, sizeof want - k, "%llu ", (unsigned long long)hostile_valtabs[0].values[i].value);
	snprintf(want + k, sizeof want - k, "]%s )4 L8:2(e0=7{p0=a p1=b }7 e1=8{}8 )8 ", hostile_valtabs[0].alias);
	hvlog_meta_walk(&m, NULL, HVLOG_LIST_STREAMS | HVLOG_LIST_GROUPS | HVLOG_LIST_VALTABS | HVLOG_LIST_EVENTS, &v,
			&log);
	ck_assert_str_eq(log.s, want);
	/* a schema alone has no streams; one list; NULL callbacks are skipped */
	hvlog_meta_walk(NULL, &schema, HVLOG_LIST_STREAMS | HVLOG_LIST_GROUPS, &v, &part);
	ck_assert_str_eq(part.s, "L2:2(g0=g0 g1=g1 )2 ");
	hvlog_meta_walk(&m, NULL, HVLOG_LIST_EVENTS, &(hvlog_meta_visitor){ .event = w_event }, &part);
	ck_assert_str_eq(part.s, "L2:2(g0=g0 g1=g1 )2 e0=7{e1=8{");
}
END_TEST

/* Flags that do not apply to a kind, an unknown kind: refused, with a
 * message; CBOR with OFFSETS gets the offset pair (and a map one larger). */
START_TEST(test_formatter_config)
{
	static const struct {
		hvlog_format_kind kind;
		unsigned flags;
	} bad[] = {
		{ HVLOG_FORMAT_TEXT, HVLOG_FMT_OFFSETS }, { HVLOG_FORMAT_JSON, HVLOG_FMT_COLOR },
		{ HVLOG_FORMAT_CSV, HVLOG_FMT_JSON_INTEGERS }, { HVLOG_FORMAT_CBOR, HVLOG_FMT_COLOR },
		{ (hvlog_format_kind)7, 0 }, { HVLOG_FORMAT_TEXT, 1u << 20 },
	};
	hvlog_stream_info streams[] = { { "vp0", 1, 0 } };
	uint64_t v[HVLOG_MAX_PARAMS] = { 0 };
	hvlog_item it = { .kind = HVLOG_ITEM_LOST, .stream = 0, .ts = 5, .offset = 300, .values = v };
	char a[HVLOG_FORMAT_MAX], b[HVLOG_FORMAT_MAX];
	hvlog_formatter *f;
	hvlog_error err;
	size_t na, nb;
	decoded d;

	decode_meta(&d, &hostile_schema, streams, 1, 1000000000u);
	for (size_t i = 0; i < NELEMS(bad); i++) {
		hvlog_formatter_config cfg = { bad[i].kind, bad[i].flags, 0, NULL };
		err.msg[0] = 0;
		f = (hvlog_formatter *)&err;
		ck_assert_int_eq(hvlog_formatter_create(&f, &d.meta, &cfg, &err), HVLOG_INVALID);
		ck_assert_ptr_null(f);
		ck_assert_msg(err.msg[0] != 0, "no message");
	}
	{
		/* a hand-built meta with a name over the limit */
		char long_name[HVLOG_MAX_NAME + 2];
		hvlog_stream_info ls[] = { { long_name, 1, 0 } };
		hvlog_meta m = d.meta;
		hvlog_formatter_config cfg = { HVLOG_FORMAT_CBOR, 0, 0, NULL };
		memset(long_name, 'x', sizeof long_name - 1);
		long_name[sizeof long_name - 1] = 0;
		m.streams = ls;
		m.internal = NULL;
		ck_assert_int_eq(hvlog_formatter_create(&f, &m, &cfg, &err), HVLOG_INVALID);
		ck_assert_msg(strstr(err.msg, "stream name") != NULL, "%s", err.msg);
		long_name[HVLOG_MAX_NAME] = 0; /* at the limit: fine */
		ck_assert_int_eq(hvlog_formatter_create(&f, &m, &cfg, &err), HVLOG_OK);
		hvlog_formatter_free(f);
	}
	for (int k = 0; k < 2; k++) {
		hvlog_formatter_config cfg = { HVLOG_FORMAT_CBOR, k ? HVLOG_FMT_OFFSETS : 0, 0, NULL };
		ck_assert_int_eq(hvlog_formatter_create(&f, &d.meta, &cfg, &err), HVLOG_OK);
		*(k ? &nb : &na) = hvlog_formatter_item(f, &it, k ? b : a, HVLOG_FORMAT_MAX);
		hvlog_formatter_free(f);
	}
	/* the map head one more, then "offset": 300 after the stream's pairs */
	ck_assert_uint_eq((unsigned char)a[0], 0xa0 + 10);
	ck_assert_uint_eq((unsigned char)b[0], 0xa0 + 11);
	ck_assert_uint_eq(nb, na + 7 + 3);
	ck_assert_msg(memmem(b, nb, "\x66offset\x19\x01\x2c", 10) != NULL, "no offset pair");
	hvlog__meta_free(d.store);
}
END_TEST

/* Short buffers: text, JSON and CSV lines are cut and still end with their
 * line end, nothing is written past cap; a CBOR item that does not fit is
 * not written at all. */
START_TEST(test_formatter_short_buffers)
{
	static const hvlog_format_kind fkinds[] = { HVLOG_FORMAT_TEXT, HVLOG_FORMAT_JSON, HVLOG_FORMAT_CSV,
						    HVLOG_FORMAT_CBOR };
	uint64_t v[HVLOG_MAX_PARAMS] = { 0xab, 12, 1, 1, 1, 2, 4, 0, 65535 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 1, .ts = 77, .offset = 5, .values = v };
	static char full[4 * HVLOG_FORMAT_MAX], buf[4 * HVLOG_FORMAT_MAX + 64];
	decoded d;

	decode_meta(&d, &hostile_schema, hostile_streams, NELEMS(hostile_streams), 2400000000u);
	it.event = &d.meta.schema->events[0];
	for (size_t k = 0; k < NELEMS(fkinds); k++) {
		hvlog_formatter_config cfg = { fkinds[k], 0, 0, NULL };
		const char *eol = fkinds[k] == HVLOG_FORMAT_CSV ? "\r\n" : "\n";
		hvlog_formatter *f;
		hvlog_error err;
		size_t n, max;
		ck_assert_int_eq(hvlog_formatter_create(&f, &d.meta, &cfg, &err), HVLOG_OK);
		max = hvlog_formatter_item_max(f);
		ck_assert_uint_le(max, sizeof full);
		n = hvlog_formatter_item(f, &it, full, sizeof full);
		ck_assert_uint_gt(n, 20);
		for (size_t cap = 0; cap <= n + 4; cap++) {
			size_t got;
			memset(buf, 0x5a, cap + 64);
			got = hvlog_formatter_item(f, &it, buf, cap);
			for (size_t i = cap; i < cap + 64; i++)
				ck_assert_msg(buf[i] == 0x5a, "kind %zu cap %zu: byte %zu written", k, cap, i);
			if (fkinds[k] == HVLOG_FORMAT_CBOR) {
				ck_assert_uint_eq(got, (cap < max ? 0 : n));
				continue;
			}
			if (cap < strlen(eol) + 1) {
				ck_assert_uint_eq(got, 0);
				continue;
			}
			size_t body = got - strlen(eol);
			ck_assert_uint_lt(got, cap);
			ck_assert_uint_eq(got, (n < cap ? n : cap - 1));
			ck_assert(!memcmp(buf, full, body));
			ck_assert(!memcmp(buf + body, eol, strlen(eol)) && buf[got] == 0);
		}
		ck_assert_uint_eq(hvlog_formatter_item(f, &it, buf, max), n); /* the most an item takes is enough */
		hvlog_formatter_free(f);
	}
	hvlog__meta_free(d.store);
}
END_TEST

/* ---- the JSON event line's writer against the reference ------------------
 *
 * With tables, a JSON event line that surely fits is written without a
 * check of the room per piece and number (json_event_roomy); without them
 * (a hand-built hvlog_meta) by the checked writer, the reference.  Every
 * dialect, every event on every stream, many values and times: the same
 * bytes; and with every short buffer, the same start of the line and
 * nothing written past the buffer. */

static const unsigned json_dialects[] = {
	0, HVLOG_FMT_OFFSETS, HVLOG_FMT_JSON_INTEGERS, HVLOG_FMT_JSON_INTEGERS | HVLOG_FMT_OFFSETS,
	HVLOG_FMT_JSON_DECODE_V1, HVLOG_FMT_TIME(HVLOG_TIME_ABSOLUTE), HVLOG_FMT_TIME(HVLOG_TIME_DELTA),
	HVLOG_FMT_TIME(HVLOG_TIME_TICKS), HVLOG_FMT_TIME(HVLOG_TIME_DELTA) | HVLOG_FMT_JSON_INTEGERS,
	HVLOG_FMT_TIME(HVLOG_TIME_ABSOLUTE) | HVLOG_FMT_JSON_DECODE_V1 | HVLOG_FMT_OFFSETS,
};

/* A clock epoch for the wall-clock times (the decoded metadata has none). */
#define TEST_EPOCH_NS 1700000000123456789ull

struct json_pair {
	hvlog_formatter *fast[NELEMS(json_dialects)], *ref[NELEMS(json_dialects)];
	hvlog_meta m, bare; /* the metadata with a clock epoch, and without tables */
	hvlog_item *it;
	const char *what;
	uint64_t lines;
};

static void json_pair_check(const uint64_t *v, void *ctx)
{
	static char a[HVLOG_FORMAT_MAX], b[HVLOG_FORMAT_MAX];
	struct json_pair *c = ctx;

	c->it->values = v;
	for (size_t k = 0; k < NELEMS(json_dialects); k++) {
		/* (the tick before: for --time=delta, before the item or after it) */
		uint64_t prev = c->lines & 1 ? c->it->ts - (c->it->ts >> (c->lines % 64)) : c->it->ts + 5;
		size_t na = hvlog_formatter_item_since(c->fast[k], c->it, prev, a, sizeof a);
		size_t nb = hvlog_formatter_item_since(c->ref[k], c->it, prev, b, sizeof b);
		TU_CHECK(na == nb && !memcmp(a, b, na + 1), "%s, flags 0x%x: with tables\n%swithout\n%s", c->what,
			 json_dialects[k], a, b);
		c->lines++;
	}
}

static void json_pair_open(struct json_pair *c, const hvlog_meta *m, uint64_t t0)
{
	c->m = *m;
	c->m.clock_epoch_ns = TEST_EPOCH_NS;
	c->bare = c->m;
	c->bare.internal = NULL;
	c->lines = 0;
	for (size_t k = 0; k < NELEMS(json_dialects); k++) {
		hvlog_formatter_config cfg = { HVLOG_FORMAT_JSON, json_dialects[k], t0, NULL };
		hvlog_error err = { 0 };
		ck_assert_int_eq(hvlog_formatter_create(&c->fast[k], &c->m, &cfg, &err), HVLOG_OK);
		ck_assert_int_eq(hvlog_formatter_create(&c->ref[k], &c->bare, &cfg, &err), HVLOG_OK);
	}
}

static void json_pair_close(struct json_pair *c)
{
	ck_assert_uint_gt(c->lines, 1000);
	for (size_t k = 0; k < NELEMS(json_dialects); k++) {
		hvlog_formatter_free(c->fast[k]);
		hvlog_formatter_free(c->ref[k]);
	}
}

static void json_pair_run(const hvlog_meta *m, uint64_t t0, tu_rng *rng)
{
	static const uint64_t tss[] = { 0, 1, 999999999, 1000000000, (1ull << 53) - 1, 1ull << 53,
					(1ull << 53) + 1, UINT64_MAX };
	struct json_pair c;
	char what[160];

	json_pair_open(&c, m, t0);
	for (uint32_t e = 0; e < m->schema->nevents; e++)
		for (uint32_t st = 0; st <= m->nstreams + 1; st++) {
			hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .event = &m->schema->events[e] };
			it.stream = st == m->nstreams + 1 ? UINT32_MAX : st;
			/* the times at the edges of the decimal strings, and random */
			it.ts = st < NELEMS(tss) ? tss[st] : t0 + (tu_rand(rng) >> tu_rand_below(rng, 64));
			it.offset = tu_rand_below(rng, 2) ? UINT64_MAX - st : tu_rand(rng) >> tu_rand_below(rng, 64);
			c.it = &it;
			c.what = what;
			snprintf(what, sizeof what, "event %s on stream %u, ts %" PRIu64, it.event->symbol, it.stream,
				 it.ts);
			each_value_set(it.event, rng, json_pair_check, &c);
		}
	json_pair_close(&c);
}

/* Numbers of every decimal and hex length and their neighbours, as times
 * (after t0 0), offsets and values. */
static void json_pair_numbers(const hvlog_meta *m, tu_rng *rng)
{
	uint64_t v[2];
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .event = &m->schema->events[0], .values = v };
	struct json_pair c;

	json_pair_open(&c, m, 0);
	c.it = &it;
	c.what = "numbers";
	for (int i = 0; i < 20000; i++) {
		it.ts = edge_value(rng, i);
		it.offset = edge_value(rng, i + 1);
		v[0] = edge_value(rng, i + 2);
		v[1] = edge_value(rng, i + 3);
		json_pair_check(v, &c);
	}
	json_pair_close(&c);
}

START_TEST(test_json_roomy_same)
{
	const hvlog_schema *schemas[] = { hvlog_schema_builtin(), &hostile_schema };
	const hvlog_stream_info *streams[] = { plain_streams, hostile_streams };
	const uint32_t nstreams[] = { NELEMS(plain_streams), NELEMS(hostile_streams) };
	static const uint64_t t0s[] = { 0, 1000, UINT64_MAX - 5 };

	for (int sc = 0; sc < 2; sc++) {
		tu_rng rng = { 300 + (uint64_t)_i + 17 * (uint64_t)sc };
		decoded d;
		decode_meta(&d, schemas[sc], streams[sc], nstreams[sc], rates[_i]);
		json_pair_run(&d.meta, t0s[(size_t)_i % NELEMS(t0s)], &rng);
		hvlog__meta_free(d.store);
	}
	{
		hvlog_stream_info st = { "s", 0, 0 };
		tu_rng rng = { 900 + (uint64_t)_i };
		decoded d;
		decode_meta(&d, &number_schema, &st, 1, rates[_i]);
		json_pair_numbers(&d.meta, &rng);
		hvlog__meta_free(d.store);
	}
}
END_TEST

/* Short buffers, every dialect: the start of the reference line, then
 * "\n\0", nothing at or past buf + cap; the room the writer checks for
 * once is crossed on the way up. */
START_TEST(test_json_roomy_short_buffers)
{
	enum { GUARD = 64 };
	static char want[HVLOG_FORMAT_MAX], buf[HVLOG_FORMAT_MAX + GUARD];
	const hvlog_schema *schemas[] = { hvlog_schema_builtin(), &hostile_schema };
	const hvlog_stream_info *streams[] = { plain_streams, hostile_streams };
	const uint32_t nstreams[] = { NELEMS(plain_streams), NELEMS(hostile_streams) };
	uint64_t v[HVLOG_MAX_PARAMS];
	tu_rng rng = { 5 };

	for (int sc = 0; sc < 2; sc++) {
		decoded d;
		hvlog_meta m, bare;
		decode_meta(&d, schemas[sc], streams[sc], nstreams[sc], 2400000000u);
		m = d.meta;
		m.clock_epoch_ns = TEST_EPOCH_NS;
		bare = m;
		bare.internal = NULL;
		for (size_t k = 0; k < NELEMS(json_dialects); k++) {
			hvlog_formatter_config cfg = { HVLOG_FORMAT_JSON, json_dialects[k], 0, NULL };
			hvlog_formatter *fast, *ref;
			hvlog_error err = { 0 };
			ck_assert_int_eq(hvlog_formatter_create(&fast, &m, &cfg, &err), HVLOG_OK);
			ck_assert_int_eq(hvlog_formatter_create(&ref, &bare, &cfg, &err), HVLOG_OK);
			for (uint32_t e = 0; e < d.meta.schema->nevents; e += sc ? 1 : 7) {
				const hvlog_event *ev = &d.meta.schema->events[e];
				hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .event = ev,
						  .stream = (uint32_t)tu_rand_below(&rng, nstreams[sc]),
						  .ts = UINT64_MAX - tu_rand_below(&rng, 9), .offset = UINT64_MAX,
						  .values = v };
				for (uint32_t i = 0; i < ev->nparams; i++) {
					const hvlog_valtab *t = ev->params[i].values;
					/* a named value where there are names, else the longest */
					v[i] = t && t->nvalues ? t->values[tu_rand_below(&rng, t->nvalues)].value
							       : hvlog_type_max(ev->params[i].type);
				}
				size_t n = hvlog_formatter_item(ref, &it, want, sizeof want);
				ck_assert_uint_gt(n, 1);
				for (size_t cap = 0; cap <= sizeof want; cap += cap < n + 1200 ? 1 : 61) {
					size_t w = cap < 2 ? 0 : (cap - 2 < n - 1 ? cap - 2 : n - 1) + 1, got;
					memset(buf, 0x5a, cap + GUARD);
					got = hvlog_formatter_item(fast, &it, buf, cap);
					TU_CHECK(got == w, "%s flags 0x%x cap %zu: length %zu, want %zu", ev->symbol,
						 json_dialects[k], cap, got, w);
					if (cap)
						TU_CHECK(buf[got] == 0, "cap %zu: no NUL", cap);
					if (got)
						TU_CHECK(!memcmp(buf, want, got - 1) && buf[got - 1] == '\n',
							 "%s cap %zu: not the start of the line", ev->symbol, cap);
					for (size_t g = cap; g < cap + GUARD; g++)
						TU_CHECK(buf[g] == 0x5a, "%s cap %zu: byte %zu written", ev->symbol,
							 cap, g);
				}
			}
			hvlog_formatter_free(fast);
			hvlog_formatter_free(ref);
		}
		hvlog__meta_free(d.store);
	}
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

static Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc;

	tc = tcase_create("tables");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_builtin_same_with_tables, 0, (int)NELEMS(rates));
	tcase_add_test(tc, test_builtin_hand_built_meta);
	tcase_add_test(tc, test_tables_not_for_this_item);
	tcase_add_loop_test(tc, test_hostile_same_with_tables, 0, (int)NELEMS(rates));
	tcase_add_test(tc, test_hostile_names_rendered);
	tcase_add_test(tc, test_short_buffers);
	tcase_add_test(tc, test_longest_json_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("formatter");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_formatter_testdata, 0, 2);
	tcase_add_loop_test(tc, test_formatter_hostile, 0, (int)NELEMS(rates));
	tcase_add_test(tc, test_color_columns);
	tcase_add_test(tc, test_json_dialect);
	tcase_add_test(tc, test_json_large_integers);
	tcase_add_test(tc, test_meta_walk);
	tcase_add_test(tc, test_formatter_config);
	tcase_add_test(tc, test_formatter_short_buffers);
	tcase_add_loop_test(tc, test_json_roomy_same, 0, (int)NELEMS(rates));
	tcase_add_test(tc, test_json_roomy_short_buffers);
	suite_add_tcase(s, tc);

	tc = tcase_create("numbers");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_numbers_match_printf);
	tcase_add_test(tc, test_building_blocks);
	tcase_add_test(tc, test_time_column);
	tcase_add_test(tc, test_value_names);
	tcase_add_test(tc, test_time_modes);
	tcase_add_test(tc, test_clock_exact);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(format_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
