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
 * Every figure comes from the library's statistics (hvlog/stats.h; how
 * the intervals and top values are kept, in bounded memory, is described
 * there); this file selects the items, runs the threads and prints.
 * With -j N the trace is cut into N time ranges counted on N threads and
 * merged in order, which gives the same output as one thread.
 */
#include <argp.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "threads.h"

struct top {
	const char *arg;       /* as given: NAME or NAME=N */
	char name[HVLOG_MAX_NAME + 1];
	uint32_t want;         /* N */
	int8_t *idx;           /* parameter index per event */
	const hvlog_param *param; /* how to show the values */
};

struct stats_opts {
	struct cli_io io;      /* io.format 1: json */
	struct top *tops;
	int ntops;
	unsigned threads;      /* 0: one per CPU the process may run on */
	hvsel sel;
};

enum { OPT_TOP = 0x3000 };

static const struct argp_option io_options[] = {
	CLI_FORMAT_OPTION("text (default) or json (one object)"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);

static const struct argp_option options[] = {
	{ "top", OPT_TOP, "PARAM[=N]", 0,
	  "the N (default 10) most frequent values of parameter PARAM (port, index, guest_rip...); repeatable", 0 },
	{ "threads", 'j', "N", 0,
	  "on N threads, each a time range of the trace (default: one per CPU; the output is the same)", 0 },
	{ 0 }
};
static const struct argp_child children[] = CLI_SELECTION_CHILDREN("Selection (the numbers cover the selected events):",
								   io_argp);

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct stats_opts *o = state->input;

	if (key == ARGP_KEY_INIT)
		return cli_inputs(state, &o->sel, &o->io);
	switch (key) {
	case 'j':
		cli_threads_arg(state, arg, &o->threads);
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
	default:
		return ARGP_ERR_UNKNOWN;
	}
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

/* A column as wide as the widest of its cells, at least min. */
static size_t widen(size_t w, const char *cell)
{
	size_t c = cli_width(cli_tty(cell));

	return c > w ? c : w;
}

static const char *short_symbol(const char *sym)
{
	return strncmp(sym, "HV_TR_", 6) ? sym : sym + 6;
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

/* What report() prints, read out of the statistics object. */
struct interval {
	hvlog_stats_interval iv;
	uint64_t q[3]; /* median, p95, p99 */
};

struct topout {
	hvlog_stats_top_info info;
	hvlog_stats_value *v;
	uint32_t nv;
};

struct totals {
	uint64_t n, first, last, lost, damaged;
	uint64_t *gcount, *ecount, *scount, *slost;
	struct interval *ev;
	uint64_t *pid, *pcount; /* partitions seen (stream partitions) */
	uint32_t npart;
	struct topout *top;
};

static void report(const struct stats_opts *o, const hvlog_meta *m, const struct totals *T, struct rank *rk)
{
	const hvlog_schema *sc = m->schema;
	uint64_t span = T->n ? T->last - T->first : 0;
	uint64_t span_ns = hvlog_ticks_to_ns(span, 0, m->clock_hz);
	double rate = span_ns ? (double)T->n * 1e9 / (double)span_ns : 0;
	char a[64], b[64], c[64], d[64], e[64];
	uint32_t k;

	if (o->io.format) {
		printf("{\"file\":");
		cli_json_str(cli_shown(o->io.file));
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
			const struct interval *s = &T->ev[rk[i].i];
			printf("%s{\"event\":", i ? "," : "");
			cli_json_str(sc->events[rk[i].i].symbol);
			printf(",\"group\":");
			cli_json_str(sc->groups[sc->events[rk[i].i].group].alias);
			printf(",\"events\":%llu,\"share\":%.6f,\"interval_ns\":", (unsigned long long)rk[i].n,
			       share(rk[i].n, T->n));
			if (!s->iv.count) {
				printf("null}");
				continue;
			}
			printf("{\"count\":%llu,\"min\":%llu,\"median\":%llu,\"p95\":%llu,\"p99\":%llu,\"max\":%llu}}",
			       (unsigned long long)s->iv.count, (unsigned long long)hvlog_ticks_to_ns(s->iv.min, 0, m->clock_hz),
			       (unsigned long long)hvlog_ticks_to_ns(s->q[0], 0, m->clock_hz),
			       (unsigned long long)hvlog_ticks_to_ns(s->q[1], 0, m->clock_hz),
			       (unsigned long long)hvlog_ticks_to_ns(s->q[2], 0, m->clock_hz),
			       (unsigned long long)hvlog_ticks_to_ns(s->iv.max, 0, m->clock_hz));
		}
		printf("],\"streams\":[");
		for (uint32_t i = 0, first = 1; i < m->nstreams; i++) {
			if (!T->scount[i] && !T->slost[i])
				continue;
			printf("%s{", first ? "" : ",");
			first = 0;
			cli_json_stream(m, i);
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
			const struct topout *tp = &T->top[t];
			printf("%s{\"param\":", t ? "," : "");
			cli_json_str(o->tops[t].name);
			printf(",\"events_with_param\":%llu,\"exact\":%s,\"values\":[", (unsigned long long)tp->info.events,
			       tp->info.exact ? "true" : "false");
			for (uint32_t i = 0; i < tp->nv; i++) {
				const char *name = hvlog_valtab_name(o->tops[t].param->values, tp->v[i].value);
				printf("%s{\"value\":\"0x%llx\",", i ? "," : "", (unsigned long long)tp->v[i].value);
				if (name) {
					printf("\"name\":");
					cli_json_str(name);
					putchar(',');
				}
				printf("\"count\":%llu,\"share\":%.6f,\"error\":%llu}", (unsigned long long)tp->v[i].count,
				       share(tp->v[i].count, tp->info.events), (unsigned long long)tp->v[i].error);
			}
			printf("]}");
		}
		printf("]}\n");
		return;
	}

	printf("trace:      %s\n", cli_shown(o->io.file));
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

	/* the name columns as wide as their widest cell (display columns) */
	size_t wa = 12, wn = 32, we = 32, ws = 12;
	k = ranked(T->gcount, sc->ngroups, rk);
	for (uint32_t i = 0; i < k; i++) {
		wa = widen(wa, sc->groups[rk[i].i].alias);
		wn = widen(wn, sc->groups[rk[i].i].name);
	}
	printf("\n%s %s %12s %7s\n", cli_pad("GROUP", wa), cli_pad("NAME", wn), "EVENTS", "SHARE");
	for (uint32_t i = 0; i < k; i++)
		printf("%s %s %12llu %6.2f%%\n", cli_pad(sc->groups[rk[i].i].alias, wa), cli_pad(sc->groups[rk[i].i].name, wn),
		       (unsigned long long)rk[i].n, 100 * share(rk[i].n, T->n));

	k = ranked(T->ecount, sc->nevents, rk);
	for (uint32_t i = 0; i < k; i++)
		we = widen(we, short_symbol(sc->events[rk[i].i].symbol));
	printf("\n%s %12s %7s   %-9s %9s %9s %9s %9s\n", cli_pad("EVENT", we), "EVENTS", "SHARE", "INTERVAL: MIN", "MEDIAN",
	       "P95", "P99", "MAX");
	for (uint32_t i = 0; i < k; i++) {
		const struct interval *s = &T->ev[rk[i].i];
		printf("%s %12llu %6.2f%%", cli_pad(short_symbol(sc->events[rk[i].i].symbol), we), (unsigned long long)rk[i].n,
		       100 * share(rk[i].n, T->n));
		if (s->iv.count) {
			fmt_dur(a, sizeof a, hvlog_ticks_to_ns(s->iv.min, 0, m->clock_hz));
			fmt_dur(b, sizeof b, hvlog_ticks_to_ns(s->q[0], 0, m->clock_hz));
			fmt_dur(c, sizeof c, hvlog_ticks_to_ns(s->q[1], 0, m->clock_hz));
			fmt_dur(d, sizeof d, hvlog_ticks_to_ns(s->q[2], 0, m->clock_hz));
			fmt_dur(e, sizeof e, hvlog_ticks_to_ns(s->iv.max, 0, m->clock_hz));
			printf("   %13s %9s %9s %9s %9s", a, b, c, d, e);
		}
		putchar('\n');
	}
	printf("(intervals between consecutive events of a type over all streams; percentiles from a "
	       "log-linear histogram, within 3.2%%)\n");

	for (uint32_t i = 0; i < m->nstreams; i++)
		if (T->scount[i] || T->slost[i])
			ws = widen(ws, m->streams[i].name);
	printf("\n%-6s %s %10s %6s %12s %7s %10s\n", "STREAM", cli_pad("NAME", ws), "PARTITION", "VP", "EVENTS", "SHARE", "LOST");
	for (uint32_t i = 0; i < m->nstreams; i++) {
		if (!T->scount[i] && !T->slost[i])
			continue;
		cli_vp_cell(a, sizeof a, m->streams[i].vp_index);
		printf("%-6u %s %10llu %6s %12llu %6.2f%% %10llu\n", i, cli_pad(m->streams[i].name, ws),
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
		const struct topout *tp = &T->top[t];
		int approx = !tp->info.exact;
		printf("\nTOP %s (%llu events have it%s)\n", cli_tty(o->tops[t].name), (unsigned long long)tp->info.events,
		       approx ? "; counts approximate: each may be over by at most its ERROR" : "");
		printf("%-40s %12s %7s%s\n", "VALUE", "COUNT", "SHARE", approx ? "      ERROR" : "");
		for (uint32_t i = 0; i < tp->nv; i++) {
			fmt_value(a, sizeof a, o->tops[t].param, tp->v[i].value);
			printf("%-40s %12llu %6.2f%%", cli_tty(a), (unsigned long long)tp->v[i].count,
			       100 * share(tp->v[i].count, tp->info.events));
			if (approx)
				printf(" %10llu", (unsigned long long)tp->v[i].error);
			putchar('\n');
		}
	}
}

/* Read the figures report() prints out of s; -1 if out of memory. */
static int totals_read(struct totals *T, const hvlog_stats *s, const hvlog_meta *m, const struct stats_opts *o)
{
	static const double q[3] = { 0.5, 0.95, 0.99 };
	const hvlog_schema *sc = m->schema;
	hvlog_stats_totals t;

	hvlog_stats_totals_get(s, &t);
	T->n = t.events;
	T->first = t.first_ts;
	T->last = t.last_ts;
	T->lost = t.lost;
	T->damaged = t.damaged;
	T->gcount = calloc(sc->ngroups + 1, sizeof *T->gcount);
	T->ecount = calloc(sc->nevents + 1, sizeof *T->ecount);
	T->ev = calloc(sc->nevents + 1, sizeof *T->ev);
	T->scount = calloc(m->nstreams + 1, sizeof *T->scount);
	T->slost = calloc(m->nstreams + 1, sizeof *T->slost);
	T->pid = calloc(m->nstreams + 1, sizeof *T->pid);
	T->pcount = calloc(m->nstreams + 1, sizeof *T->pcount);
	T->top = calloc((size_t)o->ntops + 1, sizeof *T->top);
	if (!T->gcount || !T->ecount || !T->ev || !T->scount || !T->slost || !T->pid || !T->pcount || !T->top)
		return -1;
	for (uint32_t g = 0; g < sc->ngroups; g++)
		T->gcount[g] = hvlog_stats_group_count(s, g);
	for (uint32_t e = 0; e < sc->nevents; e++) {
		T->ecount[e] = hvlog_stats_event_count(s, e);
		hvlog_stats_interval_get(s, e, &T->ev[e].iv);
		for (int k = 0; k < 3 && T->ev[e].iv.count; k++)
			hvlog_stats_interval_quantile(s, e, q[k], &T->ev[e].q[k]);
	}
	for (uint32_t i = 0; i < m->nstreams; i++) {
		T->scount[i] = hvlog_stats_stream_count(s, i);
		T->slost[i] = hvlog_stats_stream_lost(s, i);
	}
	T->npart = hvlog_stats_partitions(s, T->pid, T->pcount, m->nstreams);
	for (int k = 0; k < o->ntops; k++) {
		struct topout *tp = &T->top[k];
		hvlog_stats_top_info_get(s, (uint32_t)k, &tp->info);
		if (!(tp->v = malloc(tp->info.n * sizeof *tp->v)))
			return -1;
		tp->nv = hvlog_stats_top_values(s, (uint32_t)k, tp->v, tp->info.n);
	}
	return 0;
}

static void totals_free(struct totals *T, int ntops)
{
	for (int k = 0; T->top && k < ntops; k++)
		free(T->top[k].v);
	free(T->top);
	free(T->ev);
	free(T->gcount);
	free(T->ecount);
	free(T->scount);
	free(T->slost);
	free(T->pid);
	free(T->pcount);
}

/* ---- one thread: the trace in time order ------------------------------------ */

/* The exit code; *failed if reading failed (no report then). */
static int stats_sequential(hvlog_reader *r, const struct stats_opts *o, hvlog_stats *s, int *failed)
{
	struct cli_run run = { .shown = cli_shown(o->io.file), .sel = &o->sel, .stats = s };
	int code = cli_run(r, &run);

	*failed = run.read_failed;
	return code;
}

/* ---- several threads: each a time range ------------------------------------
 *
 * The intervals between events of a type depend on the order of the
 * events, so the shares are not the reader's chunk partitions (which
 * interleave in time) but consecutive tick ranges: thread k reads in time
 * order only what lies in its range (hvlog_reader_set_time_range skips
 * the other chunks unread), and merging the shares in range order gives
 * exactly what one pass in time order gives.  That holds while the
 * reader's order is the order of time, which is so unless a stream's
 * time goes back: a share that sees time go back, or damage (whose
 * messages must come out in order), or anything unusual makes the whole
 * count fall back to one thread.  So does a stream whose items come out
 * of two shares in an order their file offsets contradict. */

struct share {
	const hvlog_reader *base; /* the shares are its siblings */
	const hvsel *given;
	const hvlog_stats_config *cfg;
	uint64_t lo, hi;        /* the share's ticks, inclusive */
	uint32_t nstreams;
	uint64_t *off;          /* per stream: least and greatest offset of its items, 2 each */
	hvlog_stats *st;
	int ok;                 /* read to the end, in time order, without damage */
};

/* What a share keeps of the items in its range: out of time order or
 * damage stops it (the count falls back to one thread). */
struct share_pass {
	struct share *c;
	const hvsel *sel;
	uint64_t prev;
	int stopped;
};

static int share_step(void *ctx, const hvlog_item *it)
{
	struct share_pass *p = ctx;
	struct share *c = p->c;

	if (it->kind == HVLOG_ITEM_DAMAGE || it->ts < p->prev)
		return p->stopped = 1;
	p->prev = it->ts;
	if (it->ts < c->lo || it->ts > c->hi || !sel_match(p->sel, it))
		return 0;
	if (it->stream < c->nstreams) {
		uint64_t *o = &c->off[2 * (size_t)it->stream];
		if (it->offset < o[0])
			o[0] = it->offset;
		if (it->offset > o[1] || o[1] == UINT64_MAX)
			o[1] = it->offset;
	}
	return p->stopped = hvlog_stats_add(c->st, it) != HVLOG_OK;
}

static void *stats_share(void *arg)
{
	struct share *c = arg;
	hvsel sel = sel_copy_given(c->given);
	hvlog_reader_stats rst;
	hvlog_error err = { 0 };
	hvlog_reader *r = NULL;
	struct share_pass pass = { c, &sel, 0, 0 };
	char msg[1024];

	/* a sibling: the metadata and chunk index of the open, not read again */
	if (hvlog_reader_open_sibling(&r, c->base, &err) != HVLOG_OK)
		goto out;
	hvlog_reader_stats_get(r, &rst);
	if (hvlog_reader_meta(r)->nstreams != c->nstreams ||
	    sel_compile(&sel, hvlog_reader_meta(r), rst.first_ts, msg, sizeof msg) != 0 ||
	    hvlog_stats_create(&c->st, hvlog_reader_meta(r), c->cfg, &err) != HVLOG_OK)
		goto out;
	sel_apply(&sel, r);
	hvlog_reader_set_time_range(r, c->lo > sel.lo ? c->lo : sel.lo, c->hi < sel.hi ? c->hi : sel.hi);
	/* (every item, to see time go back and damage; the selection in the step) */
	c->ok = hvlog_select_run(r, NULL, UINT64_MAX, share_step, &pass, NULL, &err) == HVLOG_END && !pass.stopped;
out:
	sel_free_compiled(&sel);
	hvlog_reader_close(r);
	return NULL;
}

/* Whether every stream's items come out of the shares in file order: the
 * items of share k before those of share k + 1. */
static int shares_in_order(const struct share *c, unsigned n)
{
	for (uint32_t s = 0; s < c[0].nstreams; s++) {
		uint64_t last = 0;
		int any = 0;
		for (unsigned k = 0; k < n; k++) {
			const uint64_t *o = &c[k].off[2 * (size_t)s];
			if (o[1] == UINT64_MAX)
				continue;
			if (any && o[0] <= last)
				return 0;
			last = o[1];
			any = 1;
		}
	}
	return 1;
}

/* The statistics of the selected items of o->io.file on n threads, into *out;
 * 0 if they could not be had exactly so (the caller counts on one thread
 * then, and reports whatever went wrong). */
static int stats_threads(const struct stats_opts *o, hvlog_reader *r, const hvlog_stats_config *cfg, unsigned n,
			 hvlog_stats **out)
{
	struct share c[CLI_MAX_THREADS];
	pthread_t t[CLI_MAX_THREADS];
	hvlog_reader_stats rst;
	uint32_t ns = hvlog_reader_meta(r)->nstreams;
	uint64_t lo, hi, step;
	unsigned started = 0;
	int ok = 1;

	*out = NULL;
	hvlog_reader_stats_get(r, &rst);
	lo = rst.first_ts > o->sel.lo ? rst.first_ts : o->sel.lo;
	hi = rst.last_ts < o->sel.hi ? rst.last_ts : o->sel.hi;
	/* damage found while indexing: its messages come out in time order */
	if (rst.damaged_regions || lo >= hi || (step = (hi - lo) / n) == 0)
		return 0;
	memset(c, 0, sizeof c);
	for (unsigned k = 0; k < n; k++) {
		c[k] = (struct share){ .base = r, .given = &o->sel, .cfg = cfg, .nstreams = ns,
				       .lo = k ? lo + step * k : 0, .hi = k + 1 < n ? lo + step * (k + 1) - 1 : UINT64_MAX };
		if (!(c[k].off = malloc((2 * (size_t)ns + 1) * sizeof *c[k].off))) {
			ok = 0;
			break;
		}
		for (size_t i = 0; i < 2 * (size_t)ns; i += 2) {
			c[k].off[i] = UINT64_MAX;
			c[k].off[i + 1] = UINT64_MAX;
		}
	}
	for (unsigned k = 0; ok && k < n && pthread_create(&t[k], NULL, stats_share, &c[k]) == 0; k++)
		started++;
	for (unsigned k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	ok = ok && started == n && shares_in_order(c, n);
	for (unsigned k = 0; k < n && ok; k++)
		ok = c[k].ok;
	for (unsigned k = 1; k < n && ok; k++)
		ok = hvlog_stats_merge(c[0].st, c[k].st, NULL) == HVLOG_OK;
	if (ok) {
		*out = c[0].st;
		c[0].st = NULL;
	}
	for (unsigned k = 0; k < n; k++) {
		hvlog_stats_free(c[k].st);
		free(c[k].off);
	}
	return ok;
}

/* The threads: -j, else cli_default_threads().  One for what only one
 * pass in order can do (--limit: the first N).  Standard input and pipes
 * too have several: the shares are siblings of the one reader, which
 * read the input once. */
static unsigned stats_nthreads(const struct stats_opts *o)
{
	if (o->sel.limit != UINT64_MAX)
		return 1;
	return o->threads ? o->threads : cli_default_threads();
}

int cmd_stats(int argc, char **argv)
{
	static const char doc[] =
		"Summarise a trace: events per group, event type, stream and partition with their shares, "
		"the rate and time span, lost events, intervals between events of each type "
		"(min/median/p95/p99/max), and with --top the most frequent values of a parameter.";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, children, NULL, NULL };
	struct stats_opts o = { .io.formats = cli_text_json };
	struct totals T = { 0 };
	struct rank *rk = NULL;
	hvlog_stats_top *tcfg = NULL;
	hvlog_stats_config cfg = { 0 };
	hvlog_stats *s = NULL;
	const hvlog_meta *m;
	const hvlog_schema *sc;
	hvlog_reader *r = NULL;
	hvlog_error err = { 0 };
	unsigned nthreads;
	uint64_t t0;
	int code = EXIT_OK;

	sel_init(&o.sel);
	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0) {
		code = EXIT_USAGE;
		goto out;
	}
	nthreads = stats_nthreads(&o);
	if (!(r = cli_open_selected(o.io.file, &o.sel, &t0, &code)))
		goto out;
	if (o.sel.count) {
		code = cli_print_selected(r, cli_shown(o.io.file), &o.sel, HVLOG_FORMAT_TEXT, t0);
		goto out;
	}
	m = hvlog_reader_meta(r);
	sc = m->schema;
	nthreads = cli_threads_for(nthreads, m);
	if (!(tcfg = calloc((size_t)o.ntops + 1, sizeof *tcfg))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		code = EXIT_IO;
		goto out;
	}
	for (int t = 0; t < o.ntops; t++) {
		struct top *tp = &o.tops[t];
		if (!(tp->idx = malloc(sc->nevents ? sc->nevents : 1))) {
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
		tcfg[t] = (hvlog_stats_top){ tp->name, tp->idx, tp->want };
	}
	cfg = (hvlog_stats_config){ tcfg, (uint32_t)o.ntops };
	if (nthreads < 2 || hvlog_reader_is_live(r) || !stats_threads(&o, r, &cfg, nthreads, &s)) {
		if (hvlog_stats_create(&s, m, &cfg, &err) != HVLOG_OK) {
			code = cli_fail(NULL, &err);
			goto out;
		}
		int failed = 0;
		code = stats_sequential(r, &o, s, &failed);
		if (failed)
			goto out;
	}
	rk = calloc((sc->nevents > sc->ngroups ? sc->nevents : sc->ngroups) + 1, sizeof *rk);
	if (!rk || totals_read(&T, s, m, &o) != 0) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		code = EXIT_IO;
		goto out;
	}
	report(&o, m, &T, rk);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(errno));
		code = EXIT_IO;
	}
out:
	totals_free(&T, o.ntops);
	free(rk);
	free(tcfg);
	hvlog_stats_free(s);
	for (int t = 0; t < o.ntops; t++)
		free(o.tops[t].idx);
	free(o.tops);
	hvlog_reader_close(r);
	sel_free(&o.sel);
	return code;
}
