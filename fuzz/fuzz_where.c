/*
 * fuzz_where.c - libFuzzer target: the --where expression parser and the
 * selection compiler of the command line (cli/select.c).
 *
 * The input, up to its first NUL byte (a command-line argument has none),
 * is a --where expression:
 *   - parsed by sel_where_parse against the built-in schema: a failure
 *     says why and points at a column within the input (1 to its length
 *     + 1, the end); a success is evaluated on every event of the schema
 *     with three sets of values, each in an array of exactly the event's
 *     parameter count (so that ASan sees a read past it);
 *   - compiled by sel_compile as the only --where of a selection, against
 *     a fixed three-stream metadata: a failure's message carries the same
 *     column; a success is matched (sel_match) on a few fixed items:
 *     events, a lost record, damage (which always passes);
 *   - if short, compiled as the argument of each of the other selection
 *     options (--group, --event, --stream, --vp, --partition, --since,
 *     --until and their exclusions): a failure says why, a success matches.
 * No leak: every selection is freed (LeakSanitizer checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

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

/* A selection that compiled: every fixed item through sel_match. */
static void match_items(const hvsel *s)
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
			if ((unsigned)sel_match(s, &it) > 1)
				abort();
		}
	memset(&it, 0, sizeof it);
	it.kind = HVLOG_ITEM_LOST;
	it.stream = 1;
	it.ts = t0 + 5;
	it.lost_count = 3;
	if ((unsigned)sel_match(s, &it) > 1)
		abort();
	memset(&it, 0, sizeof it);
	it.kind = HVLOG_ITEM_DAMAGE;
	it.stream = UINT32_MAX;
	it.damage = HVLOG_CHECKSUM;
	it.damage_msg = "fuzz";
	if (sel_match(s, &it) != 1)
		abort(); /* damage always passes */
}

static void where_alone(const char *expr, size_t n)
{
	const hvlog_schema *sc = meta.schema;
	char err[256] = "";
	int col = -1;
	sel_where *w = sel_where_parse(expr, sc, err, sizeof err, &col);

	if (!w) {
		if (col < 1 || (size_t)col > n + 1 || !err[0])
			abort(); /* an error says why and where, within the input */
		return;
	}
	for (uint32_t e = 0; e < sc->nevents; e++)
		for (int k = 0; k < NVEC; k++)
			if ((unsigned)sel_where_eval(w, &sc->events[e], values[e * NVEC + k]) > 1)
				abort();
	sel_where_free(w);
}

static void where_compiled(const char *expr, size_t n)
{
	hvsel s;
	char err[1024] = "";
	int col = -1;

	sel_init(&s);
	s.wheres.v = &expr;
	s.wheres.n = 1;
	if (sel_compile(&s, &meta, t0, err, sizeof err) != 0) {
		if (sscanf(err, "--where: column %d:", &col) != 1 || col < 1 || (size_t)col > n + 1)
			abort();
	} else {
		match_items(&s);
	}
	s.wheres.v = NULL; /* not ours to free */
	s.wheres.n = 0;
	sel_free(&s);
}

/* The input as the argument of one other option (which: 0..8). */
static void other_option(const char *arg, int which)
{
	hvsel s;
	sel_list *l = NULL;
	char err[1024] = "";

	sel_init(&s);
	switch (which) {
	case 0: l = &s.groups; break;
	case 1: l = &s.xgroups; break;
	case 2: l = &s.events; break;
	case 3: l = &s.xevents; break;
	case 4: l = &s.streams; break;
	case 5: l = &s.vps; break;
	case 6: l = &s.partitions; break;
	case 7: s.since = arg; break;
	default: s.until = arg; break;
	}
	if (l) {
		l->v = &arg;
		l->n = 1;
	}
	if (sel_compile(&s, &meta, t0, err, sizeof err) != 0) {
		if (!err[0])
			abort();
	} else {
		if (s.lo > s.hi && s.since && s.until)
			abort(); /* only one of them is set here */
		match_items(&s);
	}
	if (l) {
		l->v = NULL;
		l->n = 0;
	}
	sel_free(&s);
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
	where_alone(expr, n);
	where_compiled(expr, n);
	/* the other options' parsers are small; fnmatch(3) patterns (--event)
	 * can cost a lot by design, so only short arguments go there */
	if (n <= 64)
		for (int which = 0; which < 9; which++)
			other_option(expr, which);
	free(expr);
	return 0;
}
