/*
 * fuzz_where.c - libFuzzer target: the --where expression language and the
 * selection of the library (hvlog/select.h), through its public API.
 *
 * The input, up to its first NUL byte (a command-line argument has none),
 * is a --where expression added to a selection of a fixed three-stream
 * trace with the built-in schema:
 *   - a failure is HVLOG_INVALID or HVLOG_UNKNOWN (or HVLOG_NOMEM) and
 *     says why, without a control character, at an offset within the
 *     input (0 to its length, the end);
 *   - a success is matched (hvlog_select_match) on every event of the
 *     schema with three sets of values, each in an array of exactly the
 *     event's parameter count (so that ASan sees a read past it), on a
 *     lost record and on damage (which always passes).
 * If short, the input is also the argument of each of the other kinds
 * (group, event, stream, VP, partition, since, until and the exclusions):
 * a failure says why, a success matches; and a --groups list.
 * No leak: every selection is freed (LeakSanitizer checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

#define NVEC 3

static const hvlog_stream_info streams[] = {
	{ .name = "vp0", .partition_id = 1, .vp_index = 0 },
	{ .name = "vp1", .partition_id = 2, .vp_index = 1 },
	{ .name = "hv", .partition_id = 0, .vp_index = UINT32_MAX },
};

static hvlog_meta meta = {
	.clock_name = "tsc",
	.clock_hz = 2400000000u, /* times and ticks differ */
	.nstreams = 3,
	.streams = streams,
};

static const uint64_t t0 = 123456789;

/* values[e][k]: NVEC vectors per event, each exactly nparams long */
static uint64_t **values;

static uint64_t pattern(int k, uint32_t e, uint32_t i)
{
	switch (k) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	default: return (uint64_t)e * 0x1000 + i * 0x11 + 0x3f8 - 0x11; /* small, varied, hits port 0x3f8 */
	}
}

static void setup(void)
{
	const hvlog_schema *sc = hvlog_schema_builtin();

	meta.schema = sc;
	if (!(values = calloc((size_t)sc->nevents * NVEC, sizeof *values)))
		abort();
	for (uint32_t e = 0; e < sc->nevents; e++)
		for (int k = 0; k < NVEC; k++) {
			uint32_t np = sc->events[e].nparams;
			uint64_t *v = malloc(np ? np * sizeof *v : 1);
			if (!v)
				abort();
			for (uint32_t i = 0; i < np; i++)
				v[i] = pattern(k, e, i);
			values[e * NVEC + k] = v;
		}
}

/* A selection that was built: every fixed item through hvlog_select_match. */
static void match_items(const hvlog_select *s)
{
	const hvlog_schema *sc = meta.schema;
	hvlog_item it;

	for (uint32_t e = 0; e < sc->nevents; e++)
		for (int k = 0; k < NVEC; k++) {
			memset(&it, 0, sizeof it);
			it.kind = HVLOG_ITEM_EVENT;
			it.stream = (e + (uint32_t)k) % meta.nstreams;
			it.ts = t0 + (uint64_t)e * 2400000u * (uint64_t)(k + 1);
			it.event = &sc->events[e];
			it.values = values[e * NVEC + k];
			if ((unsigned)hvlog_select_match(s, &it) > 1)
				abort();
		}
	memset(&it, 0, sizeof it);
	it.kind = HVLOG_ITEM_LOST;
	it.stream = 1;
	it.ts = t0 + 5;
	it.lost_count = 3;
	if ((unsigned)hvlog_select_match(s, &it) > 1)
		abort();
	memset(&it, 0, sizeof it);
	it.kind = HVLOG_ITEM_DAMAGE;
	it.stream = UINT32_MAX;
	it.damage = HVLOG_CHECKSUM;
	it.damage_msg = "fuzz";
	if (hvlog_select_match(s, &it) != 1)
		abort(); /* damage always passes */
}

/* An error is a value that says why, printable as it is. */
static void check_error(hvlog_status st, const hvlog_error *e)
{
	if (st != HVLOG_INVALID && st != HVLOG_UNKNOWN && st != HVLOG_NOMEM)
		abort();
	if (e->status != st || !e->msg[0])
		abort();
	for (const char *p = e->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

/* arg as one argument of kind: a success matches, a failure is checked;
 * for WHERE, the fault's offset is within the input (n bytes). */
static void add_one(hvlog_select_kind kind, const char *arg, size_t n)
{
	hvlog_select *s;
	hvlog_error e;
	hvlog_status st;

	if (hvlog_select_create(&s, &meta, t0, &e) != HVLOG_OK)
		abort();
	if ((st = hvlog_select_add(s, kind, arg, &e)) != HVLOG_OK) {
		check_error(st, &e);
		if (kind == HVLOG_SEL_WHERE && st != HVLOG_NOMEM && e.offset > n)
			abort();
		if (kind != HVLOG_SEL_WHERE && e.offset != UINT64_MAX)
			abort();
	} else {
		uint64_t lo, hi;
		hvlog_select_time_range(s, &lo, &hi);
		if (lo > hi && kind != HVLOG_SEL_SINCE && kind != HVLOG_SEL_UNTIL)
			abort(); /* only one end is set here, and only by a time */
		match_items(s);
	}
	hvlog_select_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *expr;
	size_t n;

	if (len > 128 * 1024) /* an argument of execve(2) is at most 128 KiB */
		return 0;
	if (!values)
		setup();
	if (!(expr = malloc(len + 1)))
		abort();
	memcpy(expr, data, len);
	expr[len] = 0;
	n = strlen(expr);
	add_one(HVLOG_SEL_WHERE, expr, n);
	/* the other kinds' parsers are small; fnmatch(3) patterns (events)
	 * can cost a lot by design, so only short arguments go there */
	if (n <= 64) {
		uint64_t mask = 0;
		hvlog_error e;
		hvlog_status st;
		for (int k = 0; k < HVLOG_SEL_KIND_COUNT_; k++)
			if (k != HVLOG_SEL_WHERE)
				add_one((hvlog_select_kind)k, expr, n);
		if ((st = hvlog_schema_parse_groups(meta.schema, expr, &mask, &e)) != HVLOG_OK) {
			check_error(st, &e);
			if (mask)
				abort(); /* unchanged on error */
		}
	}
	free(expr);
	return 0;
}
