/*
 * hvlog stats [FILE|-]: what happened in a trace, in numbers.
 *
 * Counts and shares per group, event, stream and partition (a stream's
 * partition from the metadata); events per second over the time span of
 * the selected events; lost events per stream; the most frequent values
 * of parameters (--top); and per event type the intervals between
 * consecutive events of that type (in time order over all streams) as
 * min / median / p95 / p99 / max.
 *
 * Memory is bounded whatever the trace size:
 *   - intervals: min and max exact; the percentiles come from a log-linear
 *     histogram (values below 16 ticks exact, then 16 sub-buckets per power
 *     of two; a percentile is its bucket's midpoint, within 1/32 = 3.2% of
 *     the true value), 8 KiB per event type seen;
 *   - --top: the Space-Saving algorithm (Metwally et al.) with a fixed table
 *     of max(4096, 64 N) values per parameter.  While a parameter shows no
 *     more distinct values than the table holds, the counts are exact;
 *     beyond, each count may be over by at most its reported error, and
 *     every value more frequent than 1/table-size of the events is found.
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define HIST_BUCKETS 1024

struct evstat {
	uint64_t count;
	uint64_t last_ts;
	uint64_t nint, min, max;
	uint64_t *hist;        /* HIST_BUCKETS, allocated on the second event */
};

struct ss_entry {
	uint64_t value, count, err;
	uint32_t heap_pos;
};

struct top {
	const char *arg;       /* as given: NAME or NAME=N */
	char name[HVLOG_MAX_NAME + 1];
	uint32_t want;         /* N */
	int8_t *idx;           /* parameter index per event */
	const hvlog_param *param; /* how to show the values */
	uint64_t total;        /* events that have the parameter */
	uint32_t cap, n, hmask;
	struct ss_entry *e;
	uint32_t *heap;        /* entry indices, a min-heap by count */
	uint32_t *hash;        /* entry index + 1; 0 empty */
	int approx;
};

struct stats_opts {
	const char *file;
	int json;
	struct top *tops;
	int ntops;
	hvsel sel;
};

enum { OPT_TOP = 0x3000 };

static const struct argp_option options[] = {
	{ "format", 'f', "FORMAT", 0, "text (default) or json (one object)", 0 },
	{ "top", OPT_TOP, "PARAM[=N]", 0,
	  "the N (default 10) most frequent values of parameter PARAM (port, index, guest_rip...); repeatable", 0 },
	{ 0 }
};

static const struct argp_child children[] = {
	{ &sel_argp, 0, "Selection (the numbers cover the selected events):", 0 },
	{ 0 }
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct stats_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &o->sel;
		return 0;
	case 'f':
		if (!strcmp(arg, "text"))
			o->json = 0;
		else if (!strcmp(arg, "json"))
			o->json = 1;
		else
			argp_error(state, "unknown format '%s' (text or json)", arg);
		return 0;
	case OPT_TOP: {
		struct top *nt = realloc(o->tops, (size_t)(o->ntops + 1) * sizeof *nt), *t;
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		char *end;
		if (!nt)
			argp_failure(state, EXIT_IO, ENOMEM, "options");
		o->tops = nt;
		t = memset(&o->tops[o->ntops++], 0, sizeof *t);
		t->arg = arg;
		t->want = 10;
		if (!len || len > HVLOG_MAX_NAME)
			argp_error(state, "--top wants PARAM or PARAM=N, not '%s'", arg);
		memcpy(t->name, arg, len);
		if (eq) {
			errno = 0;
			unsigned long v = strtoul(eq + 1, &end, 10);
			if (errno || *end || end == eq + 1 || v == 0 || v > 100000)
				argp_error(state, "--top %s: N must be a number from 1 to 100000", arg);
			t->want = (uint32_t)v;
		}
		return 0;
	}
	case ARGP_KEY_ARG:
		if (o->file)
			argp_error(state, "more than one FILE given");
		o->file = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* ---- the interval histogram -------------------------------------------------- */

static unsigned hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < 16)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return 16u + (e - 4u) * 16u + (unsigned)((v >> (e - 4u)) & 15u);
}

static uint64_t hist_mid(unsigned b)
{
	unsigned e, sub;

	if (b < 16)
		return b;
	e = (b - 16u) / 16u + 4u;
	sub = (b - 16u) % 16u;
	return ((uint64_t)(16u + sub) << (e - 4u)) + (((uint64_t)1 << (e - 4u)) >> 1);
}

/* The p-quantile (0 < p <= 1) of the intervals of s. */
static uint64_t hist_pct(const struct evstat *s, double p)
{
	uint64_t rank = (uint64_t)(p * (double)s->nint + 0.999999), seen = 0, v;

	if (rank < 1)
		rank = 1;
	if (rank > s->nint)
		rank = s->nint;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += s->hist[b];
		if (seen >= rank) {
			v = hist_mid(b);
			return v < s->min ? s->min : v > s->max ? s->max : v;
		}
	}
	return s->max;
}

/* ---- Space-Saving top values --------------------------------------------------- */

static uint32_t ss_home(const struct top *t, uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	return (uint32_t)v & t->hmask;
}

static int top_init(struct top *t)
{
	uint32_t h = 1;

	t->cap = t->want * 64 > 4096 ? t->want * 64 : 4096;
	while (h < 2 * t->cap)
		h <<= 1;
	t->hmask = h - 1;
	t->e = calloc(t->cap, sizeof *t->e);
	t->heap = calloc(t->cap, sizeof *t->heap);
	t->hash = calloc(h, sizeof *t->hash);
	return t->e && t->heap && t->hash ? 0 : -1;
}

static void heap_swap(struct top *t, uint32_t a, uint32_t b)
{
	uint32_t x = t->heap[a];
	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->e[t->heap[a]].heap_pos = a;
	t->e[t->heap[b]].heap_pos = b;
}

static void sift_down(struct top *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n && t->e[t->heap[l]].count < t->e[t->heap[m]].count)
			m = l;
		if (r < t->n && t->e[t->heap[r]].count < t->e[t->heap[m]].count)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void sift_up(struct top *t, uint32_t i)
{
	while (i && t->e[t->heap[(i - 1) / 2]].count > t->e[t->heap[i]].count) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/* Remove the hash slot holding entry ix (linear probing, backward shift). */
static void hash_remove(struct top *t, uint32_t ix)
{
	uint32_t i = ss_home(t, t->e[ix].value), j;

	while (t->hash[i] != ix + 1)
		i = (i + 1) & t->hmask;
	for (j = i;;) {
		uint32_t k;
		j = (j + 1) & t->hmask;
		if (!t->hash[j])
			break;
		k = ss_home(t, t->e[t->hash[j] - 1].value);
		/* move j back to i unless its home lies cyclically in (i, j] */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			t->hash[i] = t->hash[j];
			i = j;
		}
	}
	t->hash[i] = 0;
}

static void top_add(struct top *t, uint64_t v)
{
	uint32_t i = ss_home(t, v), ix;

	t->total++;
	for (; t->hash[i]; i = (i + 1) & t->hmask)
		if (t->e[t->hash[i] - 1].value == v) {
			ix = t->hash[i] - 1;
			t->e[ix].count++;
			sift_down(t, t->e[ix].heap_pos);
			return;
		}
	if (t->n < t->cap) {
		ix = t->n++;
		t->e[ix] = (struct ss_entry){ v, 1, 0, t->n - 1 };
		t->heap[t->n - 1] = ix;
		t->hash[i] = ix + 1;
		sift_up(t, t->n - 1);
		return;
	}
	/* full: the least counted value makes room, and its count carries over
	 * as the newcomer's possible overcount */
	ix = t->heap[0];
	hash_remove(t, ix);
	t->e[ix].err = t->e[ix].count;
	t->e[ix].count++;
	t->e[ix].value = v;
	for (i = ss_home(t, v); t->hash[i]; i = (i + 1) & t->hmask)
		;
	t->hash[i] = ix + 1;
	sift_down(t, 0);
	t->approx = 1;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ss_entry *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->value > y->value) - (x->value < y->value);
}

static void top_free(struct top *t)
{
	free(t->idx);
	free(t->e);
	free(t->heap);
	free(t->hash);
}

/* ---- output ------------------------------------------------------------------ */

static void fmt_value(char *buf, size_t cap, const hvlog_param *p, uint64_t v)
{
	const char *name = p ? hvlog_valtab_name(p->values, v) : NULL;

	if (name)
		snprintf(buf, cap, "%s (0x%llx)", name, (unsigned long long)v);
	else if (p && p->display == HVLOG_DISPLAY_BOOL)
		snprintf(buf, cap, "%s", v ? "true" : "false");
	else if (p && p->display == HVLOG_DISPLAY_DEC)
		snprintf(buf, cap, "%llu", (unsigned long long)v);
	else
		snprintf(buf, cap, "0x%llx", (unsigned long long)v);
}

static void fmt_dur(char *buf, size_t cap, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, cap, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, cap, "%.3gus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, cap, "%.3gms", (double)ns / 1e6);
	else
		snprintf(buf, cap, "%.4gs", (double)ns / 1e9);
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

struct rank {
	uint32_t i;
	uint64_t n;
};

static int cmp_rank(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i);
}

/* Indices 0..n-1 with nonzero counts, most first; returns how many. */
static uint32_t ranked(const uint64_t *counts, uint32_t n, struct rank *out)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++)
		if (counts[i])
			out[k++] = (struct rank){ i, counts[i] };
	if (k)
		qsort(out, k, sizeof *out, cmp_rank);
	return k;
}

struct totals {
	uint64_t n, first, last, lost, damaged;
	uint64_t *gcount, *ecount, *scount, *slost;
	struct evstat *ev;
	uint64_t *pid, *pcount; /* partitions seen (stream partitions) */
	uint32_t npart;
};

static void report(const struct stats_opts *o, const hvlog_meta *m, const struct totals *T, struct rank *rk)
{
	const hvlog_schema *sc = m->schema;
	uint64_t span = T->n ? T->last - T->first : 0;
	uint64_t span_ns = hvlog_ticks_to_ns(span, 0, m->clock_hz);
	double rate = span_ns ? (double)T->n * 1e9 / (double)span_ns : 0;
	char a[64], b[64], c[64], d[64], e[64];
	uint32_t k;

	if (o->json) {
		printf("{\"file\":");
		cli_json_str(cli_shown(o->file));
		printf(",\"events\":%llu,\"first_ts\":%llu,\"last_ts\":%llu,\"span_ns\":%llu,\"events_per_s\":",
		       (unsigned long long)T->n, (unsigned long long)(T->n ? T->first : 0),
		       (unsigned long long)(T->n ? T->last : 0), (unsigned long long)span_ns);
		if (span_ns)
			printf("%.1f", rate);
		else
			printf("null");
		printf(",\"lost_events\":%llu,\"damaged_regions\":%llu,\"groups\":[", (unsigned long long)T->lost,
		       (unsigned long long)T->damaged);
		k = ranked(T->gcount, sc->ngroups, rk);
		for (uint32_t i = 0; i < k; i++) {
			printf("%s{\"group\":", i ? "," : "");
			cli_json_str(sc->groups[rk[i].i].alias);
			printf(",\"name\":");
			cli_json_str(sc->groups[rk[i].i].name);
			printf(",\"events\":%llu,\"share\":%.6f}", (unsigned long long)rk[i].n, share(rk[i].n, T->n));
		}
		printf("],\"interval_method\":\"log-linear histogram, 16 sub-buckets per power of two: "
		       "min and max exact, percentiles within 3.2%%\",\"event_types\":[");
		k = ranked(T->ecount, sc->nevents, rk);
		for (uint32_t i = 0; i < k; i++) {
			const struct evstat *s = &T->ev[rk[i].i];
			printf("%s{\"event\":", i ? "," : "");
			cli_json_str(sc->events[rk[i].i].symbol);
			printf(",\"group\":");
			cli_json_str(sc->groups[sc->events[rk[i].i].group].alias);
			printf(",\"events\":%llu,\"share\":%.6f,\"interval_ns\":", (unsigned long long)rk[i].n,
			       share(rk[i].n, T->n));
			if (!s->nint) {
				printf("null}");
				continue;
			}
			printf("{\"count\":%llu,\"min\":%llu,\"median\":%llu,\"p95\":%llu,\"p99\":%llu,\"max\":%llu}}",
			       (unsigned long long)s->nint, (unsigned long long)hvlog_ticks_to_ns(s->min, 0, m->clock_hz),
			       (unsigned long long)hvlog_ticks_to_ns(hist_pct(s, 0.5), 0, m->clock_hz),
			       (unsigned long long)hvlog_ticks_to_ns(hist_pct(s, 0.95), 0, m->clock_hz),
			       (unsigned long long)hvlog_ticks_to_ns(hist_pct(s, 0.99), 0, m->clock_hz),
			       (unsigned long long)hvlog_ticks_to_ns(s->max, 0, m->clock_hz));
		}
		printf("],\"streams\":[");
		for (uint32_t i = 0, first = 1; i < m->nstreams; i++) {
			if (!T->scount[i] && !T->slost[i])
				continue;
			printf("%s{\"stream\":%u,\"name\":", first ? "" : ",", i);
			first = 0;
			cli_json_str(m->streams[i].name ? m->streams[i].name : "");
			printf(",\"partition\":%llu,\"vp\":", (unsigned long long)m->streams[i].partition_id);
			if (m->streams[i].vp_index == UINT32_MAX)
				printf("null");
			else
				printf("%u", m->streams[i].vp_index);
			printf(",\"events\":%llu,\"share\":%.6f,\"lost\":%llu}", (unsigned long long)T->scount[i],
			       share(T->scount[i], T->n), (unsigned long long)T->slost[i]);
		}
		printf("],\"partitions\":[");
		for (uint32_t i = 0; i < T->npart; i++)
			printf("%s{\"partition\":%llu,\"events\":%llu,\"share\":%.6f}", i ? "," : "",
			       (unsigned long long)T->pid[i], (unsigned long long)T->pcount[i],
			       share(T->pcount[i], T->n));
		printf("],\"top\":[");
		for (int t = 0; t < o->ntops; t++) {
			const struct top *tp = &o->tops[t];
			printf("%s{\"param\":", t ? "," : "");
			cli_json_str(tp->name);
			printf(",\"events_with_param\":%llu,\"exact\":%s,\"values\":[", (unsigned long long)tp->total,
			       tp->approx ? "false" : "true");
			for (uint32_t i = 0; i < tp->n && i < tp->want; i++) {
				const char *name = hvlog_valtab_name(tp->param->values, tp->e[i].value);
				printf("%s{\"value\":\"0x%llx\",", i ? "," : "", (unsigned long long)tp->e[i].value);
				if (name) {
					printf("\"name\":");
					cli_json_str(name);
					putchar(',');
				}
				printf("\"count\":%llu,\"share\":%.6f,\"error\":%llu}", (unsigned long long)tp->e[i].count,
				       share(tp->e[i].count, tp->total), (unsigned long long)tp->e[i].err);
			}
			printf("]}");
		}
		printf("]}\n");
		return;
	}

	printf("trace:      %s\n", cli_shown(o->file));
	printf("events:     %llu\n", (unsigned long long)T->n);
	fmt_dur(a, sizeof a, span_ns);
	printf("time span:  %s (ticks %llu..%llu at %llu Hz)\n", a, (unsigned long long)(T->n ? T->first : 0),
	       (unsigned long long)(T->n ? T->last : 0), (unsigned long long)m->clock_hz);
	if (span_ns)
		printf("rate:       %.0f events/s\n", rate);
	else
		printf("rate:       -\n");
	printf("lost:       %llu events\n", (unsigned long long)T->lost);
	printf("damaged:    %llu regions\n", (unsigned long long)T->damaged);

	k = ranked(T->gcount, sc->ngroups, rk);
	printf("\n%-12s %-32s %12s %7s\n", "GROUP", "NAME", "EVENTS", "SHARE");
	for (uint32_t i = 0; i < k; i++)
		printf("%-12s %-32s %12llu %6.2f%%\n", cli_tty(sc->groups[rk[i].i].alias), cli_tty(sc->groups[rk[i].i].name),
		       (unsigned long long)rk[i].n, 100 * share(rk[i].n, T->n));

	k = ranked(T->ecount, sc->nevents, rk);
	printf("\n%-32s %12s %7s   %-9s %9s %9s %9s %9s\n", "EVENT", "EVENTS", "SHARE", "INTERVAL: MIN", "MEDIAN",
	       "P95", "P99", "MAX");
	for (uint32_t i = 0; i < k; i++) {
		const struct evstat *s = &T->ev[rk[i].i];
		const char *sym = sc->events[rk[i].i].symbol;
		printf("%-32s %12llu %6.2f%%", cli_tty(strncmp(sym, "HV_TR_", 6) ? sym : sym + 6), (unsigned long long)rk[i].n,
		       100 * share(rk[i].n, T->n));
		if (s->nint) {
			fmt_dur(a, sizeof a, hvlog_ticks_to_ns(s->min, 0, m->clock_hz));
			fmt_dur(b, sizeof b, hvlog_ticks_to_ns(hist_pct(s, 0.5), 0, m->clock_hz));
			fmt_dur(c, sizeof c, hvlog_ticks_to_ns(hist_pct(s, 0.95), 0, m->clock_hz));
			fmt_dur(d, sizeof d, hvlog_ticks_to_ns(hist_pct(s, 0.99), 0, m->clock_hz));
			fmt_dur(e, sizeof e, hvlog_ticks_to_ns(s->max, 0, m->clock_hz));
			printf("   %13s %9s %9s %9s %9s", a, b, c, d, e);
		}
		putchar('\n');
	}
	printf("(intervals between consecutive events of a type over all streams; percentiles from a "
	       "log-linear histogram, within 3.2%%)\n");

	printf("\n%-6s %-12s %10s %6s %12s %7s %10s\n", "STREAM", "NAME", "PARTITION", "VP", "EVENTS", "SHARE", "LOST");
	for (uint32_t i = 0; i < m->nstreams; i++) {
		if (!T->scount[i] && !T->slost[i])
			continue;
		if (m->streams[i].vp_index == UINT32_MAX)
			snprintf(a, sizeof a, "-");
		else
			snprintf(a, sizeof a, "%u", m->streams[i].vp_index);
		printf("%-6u %-12s %10llu %6s %12llu %6.2f%% %10llu\n", i, cli_tty(m->streams[i].name),
		       (unsigned long long)m->streams[i].partition_id, a, (unsigned long long)T->scount[i],
		       100 * share(T->scount[i], T->n), (unsigned long long)T->slost[i]);
	}
	printf("\n%-10s %12s %7s\n", "PARTITION", "EVENTS", "SHARE");
	for (uint32_t i = 0; i < T->npart; i++) {
		if (T->pid[i])
			snprintf(a, sizeof a, "%llu", (unsigned long long)T->pid[i]);
		else
			snprintf(a, sizeof a, "none");
		printf("%-10s %12llu %6.2f%%\n", a, (unsigned long long)T->pcount[i], 100 * share(T->pcount[i], T->n));
	}
	for (int t = 0; t < o->ntops; t++) {
		const struct top *tp = &o->tops[t];
		printf("\nTOP %s (%llu events have it%s)\n", cli_tty(tp->name), (unsigned long long)tp->total,
		       tp->approx ? "; counts approximate: each may be over by at most its ERROR" : "");
		printf("%-40s %12s %7s%s\n", "VALUE", "COUNT", "SHARE", tp->approx ? "      ERROR" : "");
		for (uint32_t i = 0; i < tp->n && i < tp->want; i++) {
			fmt_value(a, sizeof a, tp->param, tp->e[i].value);
			printf("%-40s %12llu %6.2f%%", cli_tty(a), (unsigned long long)tp->e[i].count,
			       100 * share(tp->e[i].count, tp->total));
			if (tp->approx)
				printf(" %10llu", (unsigned long long)tp->e[i].err);
			putchar('\n');
		}
	}
}

int cmd_stats(int argc, char **argv)
{
	static const char doc[] =
		"Summarise a trace: events per group, event type, stream and partition with their shares, "
		"the rate and time span, lost events, intervals between events of each type "
		"(min/median/p95/p99/max), and with --top the most frequent values of a parameter.";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, children, NULL, NULL };
	struct stats_opts o = { 0 };
	struct totals T = { 0 };
	struct rank *rk = NULL;
	const hvlog_meta *m;
	const hvlog_schema *sc;
	const hvlog_item *it;
	hvlog_reader *r = NULL;
	hvlog_error err = { 0 };
	hvlog_status st = HVLOG_END;
	uint64_t t0;
	int code = EXIT_OK;

	sel_init(&o.sel);
	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0) {
		code = EXIT_USAGE;
		goto out;
	}
	if (!o.file)
		o.file = "-";
	if (!(r = cli_open_selected(o.file, &o.sel, &t0, &code)))
		goto out;
	if (o.sel.count) {
		code = cli_print_selected(r, cli_shown(o.file), &o.sel, HVLOG_FORMAT_TEXT, t0);
		goto out;
	}
	m = hvlog_reader_meta(r);
	sc = m->schema;
	for (int t = 0; t < o.ntops; t++) {
		struct top *tp = &o.tops[t];
		if (!(tp->idx = malloc(sc->nevents ? sc->nevents : 1)) || top_init(tp) != 0) {
			cli_error(NULL, UINT64_MAX, "out of memory");
			code = EXIT_IO;
			goto out;
		}
		if (!sel_param_index(sc, tp->name, strlen(tp->name), tp->idx)) {
			cli_error(NULL, UINT64_MAX, "--top %s: unknown parameter '%s': no event of the schema has it "
				  "(see `hvlog events`)", tp->arg, tp->name);
			code = EXIT_USAGE;
			goto out;
		}
		for (uint32_t e = 0; e < sc->nevents && !tp->param; e++)
			if (tp->idx[e] >= 0)
				tp->param = &sc->events[e].params[tp->idx[e]];
	}
	T.gcount = calloc(sc->ngroups + 1, sizeof *T.gcount);
	T.ecount = calloc(sc->nevents + 1, sizeof *T.ecount);
	T.ev = calloc(sc->nevents + 1, sizeof *T.ev);
	T.scount = calloc(m->nstreams + 1, sizeof *T.scount);
	T.slost = calloc(m->nstreams + 1, sizeof *T.slost);
	T.pid = calloc(m->nstreams + 1, sizeof *T.pid);
	T.pcount = calloc(m->nstreams + 1, sizeof *T.pcount);
	rk = calloc((sc->nevents > sc->ngroups ? sc->nevents : sc->ngroups) + 1, sizeof *rk);
	if (!T.gcount || !T.ecount || !T.ev || !T.scount || !T.slost || !T.pid || !T.pcount || !rk) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		code = EXIT_IO;
		goto out;
	}

	while (T.n < o.sel.limit && (st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		if (!sel_match(&o.sel, it))
			continue;
		if (it->kind == HVLOG_ITEM_DAMAGE) {
			cli_error(cli_shown(o.file), it->offset, "%s", it->damage_msg);
			T.damaged++;
			code = EXIT_DATA;
			continue;
		}
		if (it->kind == HVLOG_ITEM_LOST) {
			T.lost += it->lost_count;
			T.slost[it->stream] += it->lost_count;
			continue;
		}
		uint32_t e = (uint32_t)(it->event - sc->events);
		struct evstat *s = &T.ev[e];
		if (!T.n++ || it->ts < T.first)
			T.first = it->ts;
		if (it->ts > T.last)
			T.last = it->ts;
		T.ecount[e]++;
		T.scount[it->stream]++;
		if (s->count++ && it->ts >= s->last_ts) {
			uint64_t d = it->ts - s->last_ts;
			if (!s->hist && !(s->hist = calloc(HIST_BUCKETS, sizeof *s->hist))) {
				cli_error(NULL, UINT64_MAX, "out of memory");
				code = EXIT_IO;
				goto out;
			}
			s->hist[hist_bucket(d)]++;
			if (!s->nint++ || d < s->min)
				s->min = d;
			if (d > s->max)
				s->max = d;
		}
		s->last_ts = it->ts;
		for (int t = 0; t < o.ntops; t++)
			if (o.tops[t].idx[e] >= 0)
				top_add(&o.tops[t], it->values[o.tops[t].idx[e]]);
	}
	if (T.n < o.sel.limit && st != HVLOG_END) {
		code = cli_fail(cli_shown(o.file), &err);
		goto out;
	}
	for (uint32_t e = 0; e < sc->nevents; e++)
		T.gcount[sc->events[e].group] += T.ecount[e];
	for (uint32_t s = 0; s < m->nstreams; s++) {
		uint32_t i;
		if (!T.scount[s])
			continue;
		for (i = 0; i < T.npart && T.pid[i] != m->streams[s].partition_id; i++)
			;
		if (i == T.npart)
			T.pid[T.npart++] = m->streams[s].partition_id;
		T.pcount[i] += T.scount[s];
	}
	for (int t = 0; t < o.ntops; t++)
		if (o.tops[t].n)
			qsort(o.tops[t].e, o.tops[t].n, sizeof *o.tops[t].e, cmp_entry);
	report(&o, m, &T, rk);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(errno));
		code = EXIT_IO;
	}
out:
	if (T.ev)
		for (uint32_t e = 0; r && e < hvlog_reader_meta(r)->schema->nevents; e++)
			free(T.ev[e].hist);
	free(T.ev);
	free(T.gcount);
	free(T.ecount);
	free(T.scount);
	free(T.slost);
	free(T.pid);
	free(T.pcount);
	free(rk);
	for (int t = 0; t < o.ntops; t++)
		top_free(&o.tops[t]);
	free(o.tops);
	hvlog_reader_close(r);
	sel_free(&o.sel);
	return code;
}
