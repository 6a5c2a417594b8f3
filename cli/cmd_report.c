/*
 * hvlog report [--baseline A] TRACE -o report.html: one self-contained
 * HTML page (inline CSS and SVG, no script, nothing fetched) that shows a
 * trace at a glance: identity and integrity, a timeline per stream with
 * the event density by group, exits/s over time per partition, the top
 * events, ports, MSRs and hypercall inputs, the interval distributions of
 * the busiest event types, and with --baseline what differs from A.
 *
 * Every figure is the library's: hvlog/stats.h (counts, intervals, top
 * values), hvlog/timeline.h (the bins), hvlog/diff.h (the baseline); this
 * file reads the trace once and draws summaries, never single events, so
 * the page stays small whatever the trace's size.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hvlog/diff.h"
#include "hvlog/timeline.h"
#include "output.h"

#define NBINS 200
#define W 900 /* plot width, px */
#define TOP_N 10
#define NHIST 8 /* interval histograms drawn */

/* titles of the keys hvlog_diff_top_keys() gives */
static const char *const top_keys[] = { "port", "index", "input_value" };
static const char *const top_titles[] = { "I/O ports", "MSRs (index)", "Hypercall inputs" };
#define NTOPS 8
static const char *const palette[] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
				       "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac" };
#define NCOLORS (sizeof palette / sizeof palette[0])

struct report_opts {
	struct cli_io io; /* TRACE is io.file */
	const char *baseline;
};

static const struct argp_option io_options[] = {
	CLI_OUTPUT_OPTION("FILE", "write the page to FILE (default standard output)"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);
static const struct argp_child children[] = { { &io_argp, 0, NULL, 0 }, { 0 } };

static const struct argp_option options[] = {
	{ "baseline", 'b', "A", 0, "add what differs from trace A (hvlog diff A TRACE)", 0 },
	{ 0 }
};

CLI_PARSE_ONE_ARG(parse, struct report_opts, 'b', baseline)

/* One trace read into statistics (and a timeline). */
typedef struct run {
	const char *file;
	hvlog_reader *r;
	const hvlog_meta *m;
	hvlog_stats *s;
	hvlog_timeline *tl;
	hvlog_reader_stats rs;
	hvlog_stats_totals t;
	uint32_t ntops;
	const char *keys[NTOPS];
	int damaged;
} run;

/* Opens and counts a trace; 0 or an exit code (reported). */
static int read_run(run *u, const char *file, int timeline)
{
	hvlog_stats_top tops[NTOPS];
	hvlog_error err = { 0 };
	const hvlog_item *it;
	hvlog_status st;
	int code = 0;

	u->file = file;
	if (!(u->r = cli_open(file, &code)))
		return code;
	u->m = hvlog_reader_meta(u->r);
	u->ntops = hvlog_diff_top_keys(u->m, u->m, u->keys, NTOPS);
	for (uint32_t k = 0; k < u->ntops; k++)
		tops[k] = (hvlog_stats_top){ u->keys[k], NULL, TOP_N };
	hvlog_stats_config cfg = { tops, u->ntops };
	if (hvlog_stats_create(&u->s, u->m, &cfg, &err) != HVLOG_OK ||
	    (timeline && hvlog_timeline_create(&u->tl, u->m, NBINS, &err) != HVLOG_OK))
		return cli_fail(cli_shown(file), &err);
	while ((st = hvlog_reader_next(u->r, &it, &err)) == HVLOG_OK) {
		if (it->kind == HVLOG_ITEM_DAMAGE) {
			cli_error(cli_shown(file), it->offset, "%s", it->damage_msg);
			u->damaged = 1;
		}
		if (hvlog_stats_add(u->s, it) != HVLOG_OK) {
			cli_error(NULL, UINT64_MAX, "out of memory");
			return EXIT_IO;
		}
		hvlog_timeline_add(u->tl, it);
	}
	if (st != HVLOG_END) {
		code = cli_fail(cli_shown(file), &err);
		if (code != EXIT_DATA)
			return code;
		u->damaged = 1;
	}
	hvlog_reader_stats_get(u->r, &u->rs);
	hvlog_stats_totals_get(u->s, &u->t);
	return 0;
}

static void free_run(run *u)
{
	hvlog_timeline_free(u->tl);
	hvlog_stats_free(u->s);
	hvlog_reader_close(u->r);
}

static void esc(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

static uint64_t ns(const hvlog_meta *m, uint64_t ticks)
{
	return hvlog_ticks_to_ns(ticks, 0, m->clock_hz);
}

static const char *short_sym(const char *s)
{
	return strncmp(s, "HV_TR_", 6) ? s : s + 6;
}

static void head(FILE *f, const run *u)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hvlog report: ", f);
	esc(f, cli_shown(u->file));
	fputs("</title>\n<style>\n"
	      "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}\n"
	      "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}\n"
	      "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right}th{background:#eee}\n"
	      "td:first-child,th:first-child{text-align:left}.bad{color:#c00;font-weight:bold}.ok{color:#070}\n"
	      ".legend span{display:inline-block;margin-right:14px}.sw{width:10px;height:10px;display:inline-block;"
	      "margin-right:4px}\nsvg{background:#fafafa;border:1px solid #ddd}.grid{display:flex;flex-wrap:wrap;gap:12px}\n"
	      "</style></head><body>\n", f);
}

static void identity(FILE *f, const run *u)
{
	uint64_t span = u->t.events ? ns(u->m, u->t.last_ts - u->t.first_ts) : 0;
	int clean = !u->t.damaged && !u->damaged;

	fputs("<h1>hvlog report: ", f);
	esc(f, cli_shown(u->file));
	fputs("</h1>\n<table>\n", f);
	fprintf(f, "<tr><td>file size</td><td data-k=\"file_size\">%llu</td><td>bytes</td></tr>\n",
		(unsigned long long)u->rs.file_size);
	fputs("<tr><td>producer</td><td>", f);
	esc(f, u->m->producer ? u->m->producer : "?");
	fputs("</td><td></td></tr>\n<tr><td>clock</td><td>", f);
	esc(f, u->m->clock_name ? u->m->clock_name : "?");
	fprintf(f, "</td><td>%llu Hz</td></tr>\n", (unsigned long long)u->m->clock_hz);
	fprintf(f, "<tr><td>events</td><td data-k=\"events\">%llu</td><td></td></tr>\n",
		(unsigned long long)u->t.events);
	fprintf(f, "<tr><td>span</td><td data-k=\"span_ns\">%llu</td><td>ns (%.6f s)</td></tr>\n",
		(unsigned long long)span, (double)span / 1e9);
	fprintf(f, "<tr><td>rate</td><td>%.1f</td><td>events/s</td></tr>\n",
		span ? (double)u->t.events * 1e9 / (double)span : 0.0);
	fprintf(f, "<tr><td>streams</td><td data-k=\"streams\">%u</td><td></td></tr>\n", u->m->nstreams);
	fprintf(f, "<tr><td>lost events</td><td data-k=\"lost_events\" class=\"%s\">%llu</td><td></td></tr>\n",
		u->t.lost ? "bad" : "ok", (unsigned long long)u->t.lost);
	fprintf(f, "<tr><td>damaged regions</td><td data-k=\"damaged_regions\" class=\"%s\">%llu</td><td>%s</td></tr>\n",
		clean ? "ok" : "bad", (unsigned long long)u->t.damaged, clean ? "intact" : "damaged");
	fputs("</table>\n", f);
}

static void legend(FILE *f, const hvlog_meta *m, const uint8_t *used)
{
	fputs("<p class=\"legend\">", f);
	for (uint32_t g = 0; g < m->schema->ngroups; g++)
		if (used[g]) {
			fprintf(f, "<span><i class=\"sw\" style=\"background:%s\"></i>", palette[g % NCOLORS]);
			esc(f, m->schema->groups[g].alias);
			fputs("</span>", f);
		}
	fputs("</p>\n", f);
}

/* Per stream: stacked bars of the events of each group in each bin. */
static void timelines(FILE *f, const run *u)
{
	hvlog_timeline_info ti;
	uint64_t max = 1;
	uint8_t used[256] = { 0 };
	uint32_t ng;

	hvlog_timeline_info_get(u->tl, &ti);
	ng = ti.ngroups < 256 ? ti.ngroups : 256;
	for (uint32_t s = 0; s < ti.nstreams; s++)
		for (uint32_t b = 0; b < ti.nbins; b++) {
			uint64_t n = hvlog_timeline_count(u->tl, s, UINT32_MAX, b);
			max = n > max ? n : max;
			for (uint32_t g = 0; g < ng; g++)
				used[g] |= hvlog_timeline_count(u->tl, s, g, b) != 0;
		}
	fprintf(f, "<h2>Timeline per stream</h2>\n<p>Events per bin of %.3f ms, by group (the same scale for every "
		"stream; the tallest bin holds %llu events).</p>\n",
		(double)ns(u->m, ti.bin_ticks) / 1e6, (unsigned long long)max);
	legend(f, u->m, used);
	for (uint32_t s = 0; s < ti.nstreams && s < u->m->nstreams; s++) {
		double bw = (double)W / (ti.nbins ? ti.nbins : 1);
		fputs("<div><b>", f);
		esc(f, u->m->streams[s].name ? u->m->streams[s].name : "?");
		fprintf(f, "</b> <span data-stream=\"%u\">%llu</span> events<br>\n", s,
			(unsigned long long)hvlog_stats_stream_count(u->s, s));
		fprintf(f, "<svg width=\"%d\" height=\"50\" role=\"img\">", W);
		for (uint32_t b = 0; b < ti.nbins; b++) {
			double y = 50;
			for (uint32_t g = 0; g < ng; g++) {
				uint64_t n = hvlog_timeline_count(u->tl, s, g, b);
				if (!n)
					continue;
				double h = 48.0 * (double)n / (double)max;
				y -= h;
				fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", b * bw,
					y, bw, h, palette[g % NCOLORS]);
			}
		}
		fputs("</svg></div>\n", f);
	}
}

/* Per partition: events per second over time, a line. */
static void partition_rates(FILE *f, const run *u)
{
	hvlog_timeline_info ti;
	uint64_t ids[64];
	uint32_t np = hvlog_stats_partitions(u->s, ids, NULL, 64);

	hvlog_timeline_info_get(u->tl, &ti);
	double bin_s = (double)ns(u->m, ti.bin_ticks) / 1e9;
	fputs("<h2>Exits per second, per partition</h2>\n<div class=\"grid\">\n", f);
	for (uint32_t p = 0; p < np && p < 64; p++) {
		double rate[NBINS], max = 1;
		for (uint32_t b = 0; b < ti.nbins; b++) {
			uint64_t n = 0;
			for (uint32_t s = 0; s < u->m->nstreams; s++)
				if (u->m->streams[s].partition_id == ids[p])
					n += hvlog_timeline_count(u->tl, s, UINT32_MAX, b);
			rate[b] = bin_s > 0 ? (double)n / bin_s : 0;
			max = rate[b] > max ? rate[b] : max;
		}
		fprintf(f, "<div><b>%s %llu</b>, peak %.0f/s<br><svg width=\"%d\" height=\"120\" role=\"img\"><polyline "
			"fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"1.5\" points=\"",
			ids[p] ? "partition" : "no partition", (unsigned long long)ids[p], max, W);
		for (uint32_t b = 0; b < ti.nbins; b++)
			fprintf(f, "%.1f,%.1f ", (b + 0.5) * W / ti.nbins, 118 - 112 * rate[b] / max);
		fputs("\"/></svg></div>\n", f);
	}
	fputs("</div>\n", f);
}

static int cmp_count_desc(const void *a, const void *b, void *s)
{
	uint64_t x = hvlog_stats_event_count(s, *(const uint32_t *)a), y = hvlog_stats_event_count(s, *(const uint32_t *)b);
	return (x < y) - (x > y);
}

static void top_events(FILE *f, const run *u, uint32_t *order, uint32_t *nused)
{
	const hvlog_schema *sc = u->m->schema;
	uint32_t n = 0;

	for (uint32_t e = 0; e < sc->nevents; e++)
		if (hvlog_stats_event_count(u->s, e))
			order[n++] = e;
	qsort_r(order, n, sizeof *order, cmp_count_desc, u->s);
	*nused = n;
	fputs("<h2>Events</h2>\n<table><tr><th>event</th><th>group</th><th>events</th><th>share</th></tr>\n", f);
	for (uint32_t i = 0; i < n; i++) {
		const hvlog_event *ev = &sc->events[order[i]];
		uint64_t c = hvlog_stats_event_count(u->s, order[i]);
		fprintf(f, "<tr><td>%s</td><td>", short_sym(ev->symbol));
		esc(f, ev->group < sc->ngroups ? sc->groups[ev->group].alias : "?");
		fprintf(f, "</td><td data-event=\"%s\">%llu</td><td>%.2f%%</td></tr>\n", ev->symbol, (unsigned long long)c,
			u->t.events ? 100.0 * (double)c / (double)u->t.events : 0.0);
	}
	fputs("</table>\n", f);
}

static void top_values(FILE *f, const run *u)
{
	hvlog_stats_value v[TOP_N];

	fputs("<h2>Top values</h2>\n<div class=\"grid\">\n", f);
	for (uint32_t t = 0; t < u->ntops; t++) {
		size_t k = 0;
		while (k < sizeof top_keys / sizeof top_keys[0] && strcmp(top_keys[k], u->keys[t]))
			k++;
		uint32_t n = hvlog_stats_top_values(u->s, t, v, TOP_N);
		fprintf(f, "<div><b>%s</b> (<code>%s</code>)<table><tr><th>value</th><th>events</th></tr>\n",
			k < sizeof top_keys / sizeof top_keys[0] ? top_titles[k] : "Values", u->keys[t]);
		for (uint32_t i = 0; i < n; i++)
			fprintf(f, "<tr><td>0x%llx</td><td data-top=\"%s\" data-value=\"0x%llx\">%llu</td></tr>\n",
				(unsigned long long)v[i].value, u->keys[t], (unsigned long long)v[i].value,
				(unsigned long long)v[i].count);
		fputs("</table></div>\n", f);
	}
	fputs("</div>\n", f);
}

/* log2 of x >= 1 without libm: whole powers of two, then linear within
 * one (enough to place bars on a log axis) */
static double approx_log2(double x)
{
	double n = 0;

	while (x >= 2 && n < 1100) {
		x /= 2;
		n++;
	}
	return n + (x > 1 ? x - 1 : 0);
}

/* The intervals of the busiest event types: a histogram over log-spaced
 * bins, drawn from 100 quantiles of the library's histogram. */
static void intervals(FILE *f, const run *u, const uint32_t *order, uint32_t n)
{
	fputs("<h2>Intervals between events of a type</h2>\n<div class=\"grid\">\n", f);
	for (uint32_t i = 0, drawn = 0; i < n && drawn < NHIST; i++) {
		hvlog_stats_interval iv;
		uint64_t q[100], p50 = 0, p95 = 0, p99 = 0;
		uint32_t e = order[i], bins[40] = { 0 }, bmax = 1;
		hvlog_stats_interval_get(u->s, e, &iv);
		if (iv.count < 2)
			continue;
		drawn++;
		for (int k = 0; k < 100; k++) {
			hvlog_stats_interval_quantile(u->s, e, (k + 1) / 100.0, &q[k]);
			q[k] = ns(u->m, q[k]);
		}
		hvlog_stats_interval_quantile(u->s, e, 0.5, &p50);
		hvlog_stats_interval_quantile(u->s, e, 0.95, &p95);
		hvlog_stats_interval_quantile(u->s, e, 0.99, &p99);
		double lo = (double)(q[0] ? q[0] : 1), hi = (double)(q[99] > q[0] ? q[99] : q[0] + 1), ratio = hi / lo;
		double span = approx_log2(ratio);
		for (int k = 0; k < 100; k++) { /* the bin of each percent of the intervals */
			double x = (double)(q[k] ? q[k] : 1) / lo;
			uint32_t b = span > 0 ? (uint32_t)(approx_log2(x) / span * 39.999) : 0;
			bins[b < 40 ? b : 39]++;
		}
		for (int b = 0; b < 40; b++)
			bmax = bins[b] > bmax ? bins[b] : bmax;
		fprintf(f, "<div><b>%s</b> <span data-interval=\"%s\" data-p50=\"%llu\" data-p95=\"%llu\" "
			"data-p99=\"%llu\">p50 %llu ns, p95 %llu ns, p99 %llu ns</span><br>"
			"<svg width=\"440\" height=\"90\" role=\"img\">",
			short_sym(u->m->schema->events[e].symbol), u->m->schema->events[e].symbol,
			(unsigned long long)ns(u->m, p50), (unsigned long long)ns(u->m, p95),
			(unsigned long long)ns(u->m, p99), (unsigned long long)ns(u->m, p50),
			(unsigned long long)ns(u->m, p95), (unsigned long long)ns(u->m, p99));
		for (int b = 0; b < 40; b++)
			if (bins[b])
				fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"10\" height=\"%.1f\" fill=\"#59a14f\"/>",
					b * 11, 72 - 70.0 * bins[b] / bmax, 70.0 * bins[b] / bmax);
		fprintf(f, "<text x=\"0\" y=\"86\" font-size=\"11\">%llu ns</text><text x=\"439\" y=\"86\" "
			"font-size=\"11\" text-anchor=\"end\">%llu ns (log scale)</text></svg></div>\n",
			(unsigned long long)q[0], (unsigned long long)q[99]);
	}
	fputs("</div>\n", f);
}

static void baseline(FILE *f, const run *a, const run *b)
{
	hvlog_diff_config dc = { 0.10, a->keys, a->ntops };
	hvlog_diff *d = NULL;
	hvlog_error err;

	fputs("<h2>Against the baseline ", f);
	esc(f, cli_shown(a->file));
	fputs("</h2>\n", f);
	if (a->ntops != b->ntops || hvlog_diff_compute(&d, a->s, a->m, b->s, b->m, &dc, &err) != HVLOG_OK) {
		fputs("<p class=\"bad\">The two traces cannot be compared.</p>\n", f);
		return;
	}
	fprintf(f, "<p data-k=\"differing\">%u</p><p>rows differ (of %u; rates changed by 10%% or more and "
		"significant at 1%%, or on one side only; intervals with a KS distance of 0.1 or more, p &lt; 0.01), "
		"largest effect first:</p>\n<table><tr><th>kind</th><th>name</th><th>baseline</th><th>this trace</th>"
		"<th>change</th></tr>\n",
		hvlog_diff_differing(d), hvlog_diff_count(d));
	for (uint32_t i = 0; i < hvlog_diff_differing(d) && i < 50; i++) {
		const hvlog_diff_row *r = hvlog_diff_row_get(d, i);
		fprintf(f, "<tr><td>%s</td><td>", hvlog_diff_kind_name(r->kind));
		esc(f, r->name);
		if (r->kind == HVLOG_DIFF_VALUE)
			fprintf(f, "=0x%llx", (unsigned long long)r->value);
		if (r->kind == HVLOG_DIFF_INTERVAL)
			fprintf(f, "</td><td>p50 %llu ns</td><td>p50 %llu ns</td><td>KS %.2f</td></tr>\n",
				(unsigned long long)r->p50[0], (unsigned long long)r->p50[1], r->ks);
		else if (r->side)
			fprintf(f, "</td><td>%llu</td><td>%llu</td><td>only in %s</td></tr>\n", (unsigned long long)r->count[0],
				(unsigned long long)r->count[1], r->side == 1 ? "the baseline" : "this trace");
		else
			fprintf(f, "</td><td>%llu</td><td>%llu</td><td>%+.1f%%</td></tr>\n", (unsigned long long)r->count[0],
				(unsigned long long)r->count[1], 100 * r->change);
	}
	fputs("</table>\n", f);
	hvlog_diff_free(d);
}

int cmd_report(int argc, char **argv)
{
	static const char doc[] =
		"Write one self-contained HTML page (inline SVG, no script, nothing fetched) that shows TRACE at a "
		"glance: identity and integrity, a timeline per stream by group, exits/s per partition, the top "
		"events, ports, MSRs and hypercall inputs, interval distributions; with --baseline, what differs "
		"from trace A.\v"
		"Examples:\n"
		"  hvlog report trace.hvlog -o report.html\n"
		"  hvlog report --baseline before.hvlog after.hvlog -o report.html\n"
		"\nExit status: 0, 1 a trace is damaged (the page is still written, and says so), 2, 3 as for every "
		"command.";
	static const struct argp argp = { options, parse, "TRACE", doc, children, NULL, NULL };
	struct report_opts o = { .io = { .more = "more than one TRACE given", .none = "no TRACE given" } };
	run u = { 0 }, base = { 0 };
	cli_output out = { .fd = -1 };
	const char *inputs[2];
	uint32_t *order = NULL, nused = 0;
	FILE *f = NULL;
	int code;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0)
		return EXIT_USAGE;
	inputs[0] = o.io.file;
	inputs[1] = o.baseline ? o.baseline : o.io.file;
	if ((code = read_run(&u, o.io.file, 1)) != 0 || (o.baseline && (code = read_run(&base, o.baseline, 0)) != 0))
		goto done;
	if (!(order = malloc(((size_t)u.m->schema->nevents + 1) * sizeof *order))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		code = EXIT_IO;
		goto done;
	}
	if ((code = cli_output_open(&out, o.io.out, inputs, 2)) != 0)
		goto done;
	if (!(f = out.fd == STDOUT_FILENO ? stdout : fdopen(out.fd, "w"))) {
		cli_error(o.io.out, UINT64_MAX, "cannot create: %s", strerror(errno));
		code = EXIT_IO;
		goto done;
	}
	if (f != stdout)
		out.fd = -1; /* fclose closes it */
	head(f, &u);
	identity(f, &u);
	timelines(f, &u);
	partition_rates(f, &u);
	top_events(f, &u, order, &nused);
	top_values(f, &u);
	intervals(f, &u, order, nused);
	if (o.baseline)
		baseline(f, &base, &u);
	fputs("<p style=\"color:#888\">Written by hvlog report.</p>\n</body></html>\n", f);
	if (fflush(f) != 0 || ferror(f)) {
		cli_error(o.io.out, UINT64_MAX, "writing the page failed: %s", strerror(errno));
		code = EXIT_IO;
	} else {
		code = u.damaged || base.damaged ? EXIT_DATA : EXIT_OK;
	}
done:
	if (f && f != stdout && fclose(f) != 0 && code != EXIT_IO) {
		cli_error(o.io.out, UINT64_MAX, "writing the page failed: %s", strerror(errno));
		code = EXIT_IO;
	}
	if (out.path || out.final || out.tmp)
		if (cli_output_close(&out, code == EXIT_OK || code == EXIT_DATA) != 0)
			code = EXIT_IO;
	free(order);
	free_run(&base);
	free_run(&u);
	return code;
}
