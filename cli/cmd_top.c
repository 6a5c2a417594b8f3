/*
 * hvlog top [FILE|-]: a live view of a trace as it is written.
 *
 * Each interval (wall clock) the items read in it are counted in an
 * hvlog_stats object of their own (hvlog/stats.h), shown, and merged into
 * the totals since the start.  The input is read live (a pipe as it
 * arrives, a file followed until its writer closes it), with the
 * non-blocking hvlog_reader_try_next, so a refresh comes on time whether
 * items arrive or not.  On a terminal the screen is redrawn; otherwise
 * each interval is one block of text, or one JSON object per line.
 */
#include <argp.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { SORT_RATE, SORT_TOTAL, SORT_NAME };
static const char *const sort_names[] = { "rate", "total", "name", NULL };

struct top_opts {
	struct cli_io io; /* io.format 1: json */
	double interval;
	int sort;
	unsigned rows;
};

static const struct argp_option options[] = {
	{ "interval", 'i', "SECONDS", 0, "refresh every SECONDS (default 1; 0.01 to 3600)", 0 },
	{ "sort", 's', "KEY", 0, "order of the rows: rate (events/s in the interval, default), total or name", 0 },
	{ "rows", 'n', "N", 0, "rows per table (default 10; 0: all)", 0 },
	{ 0 }
};

static const struct argp_option io_options[] = {
	CLI_FORMAT_OPTION("text (default) or json (one object per interval)"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);
static const struct argp_child children[] = { { &io_argp, 0, NULL, 0 }, CLI_FOLLOW_CHILD, { 0 } };

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct top_opts *o = state->input;
	char *end;

	if (key == ARGP_KEY_INIT)
		return cli_inputs(state, NULL, &o->io);
	switch (key) {
	case 'i':
		o->interval = strtod(arg, &end);
		if (*end || !(o->interval >= 0.01 && o->interval <= 3600))
			argp_error(state, "--interval wants seconds from 0.01 to 3600");
		return 0;
	case 's':
		o->sort = cli_choice_arg(state, "sort key", arg, sort_names);
		return 0;
	case 'n': {
		unsigned long v = strtoul(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end || v > 100000)
			argp_error(state, "--rows wants a number up to 100000");
		o->rows = (unsigned)v;
		return 0;
	}
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One row of a table. */
struct row {
	const char *name;
	uint64_t n, total;   /* in the interval, since the start */
	uint32_t index;      /* the schema event, for the percentiles */
};

static int sort_key;

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (sort_key == SORT_NAME)
		return strcmp(x->name, y->name);
	uint64_t kx = sort_key == SORT_RATE ? x->n : x->total, ky = sort_key == SORT_RATE ? y->n : y->total;
	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

struct view {
	const struct top_opts *o;
	const hvlog_meta *m;
	const char *shown;
	int tty;
	struct row *rows;
	char (*names)[48];
	unsigned blocks;
};

/* The rows of one table: kind 0 groups, 1 events, 2 partitions, 3 streams;
 * only rows with events since the start. */
static size_t fill_rows(struct view *v, int kind, const hvlog_stats *cur, const hvlog_stats *all)
{
	const hvlog_schema *sc = v->m->schema;
	size_t n = 0;

	if (kind == 0)
		for (uint32_t g = 0; g < sc->ngroups; g++)
			v->rows[n++] = (struct row){ sc->groups[g].alias ? sc->groups[g].alias : sc->groups[g].name,
						     hvlog_stats_group_count(cur, g), hvlog_stats_group_count(all, g), g };
	else if (kind == 1)
		for (uint32_t e = 0; e < sc->nevents; e++)
			v->rows[n++] = (struct row){ sc->events[e].symbol + (strncmp(sc->events[e].symbol, "HV_TR_", 6) ? 0 : 6), hvlog_stats_event_count(cur, e),
						     hvlog_stats_event_count(all, e), e };
	else if (kind == 3)
		for (uint32_t s = 0; s < v->m->nstreams; s++)
			v->rows[n++] = (struct row){ v->m->streams[s].name, hvlog_stats_stream_count(cur, s),
						     hvlog_stats_stream_count(all, s), s };
	else {
		uint64_t ids[256], cnt[256], cids[256], ccnt[256];
		uint32_t k = hvlog_stats_partitions(all, ids, cnt, 256), kc = hvlog_stats_partitions(cur, cids, ccnt, 256);
		for (uint32_t i = 0; i < k; i++) {
			uint64_t c = 0;
			for (uint32_t j = 0; j < kc; j++)
				if (cids[j] == ids[i])
					c = ccnt[j];
			snprintf(v->names[i], sizeof v->names[i], "partition %llu", (unsigned long long)ids[i]);
			v->rows[n++] = (struct row){ v->names[i], c, cnt[i], i };
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v->rows[i].total)
			v->rows[k++] = v->rows[i];
	sort_key = v->o->sort;
	qsort(v->rows, k, sizeof *v->rows, cmp_row);
	return v->o->rows && k > v->o->rows ? v->o->rows : k;
}

static uint64_t quantile_ns(const struct view *v, const hvlog_stats *s, uint32_t e, double q, int *ok)
{
	uint64_t t;

	*ok = hvlog_stats_interval_quantile(s, e, q, &t) == HVLOG_OK;
	return *ok ? hvlog_ticks_to_ns(t, 0, v->m->clock_hz) : 0;
}

static const char *const table_names[] = { "groups", "events", "partitions", "streams" };
static const char *const json_names[] = { "groups", "event_types", "partitions", "streams" };

static void show_text(struct view *v, const hvlog_stats *cur, const hvlog_stats *all, double secs, int last)
{
	hvlog_stats_totals tc, ta;

	hvlog_stats_totals_get(cur, &tc);
	hvlog_stats_totals_get(all, &ta);
	if (v->tty)
		fputs("\033[H\033[2J", stdout);
	printf("hvlog top  %s  %s%.3f s  events %llu (%.0f/s)  lost %llu  damaged %llu  total %llu events, %llu lost\n",
	       cli_tty(v->shown), last ? "end, last interval " : "", secs, (unsigned long long)tc.events,
	       secs > 0 ? (double)tc.events / secs : 0.0, (unsigned long long)tc.lost, (unsigned long long)tc.damaged,
	       (unsigned long long)ta.events, (unsigned long long)ta.lost);
	for (int kind = 0; kind < 4; kind++) {
		size_t n = fill_rows(v, kind, cur, all);
		printf("\n%-32s %12s %12s%s\n", table_names[kind], "events/s", "total",
		       kind == 1 ? "       p50 ns       p99 ns" : "");
		for (size_t i = 0; i < n; i++) {
			const struct row *r = &v->rows[i];
			printf("%s %12.0f %12llu", cli_pad(r->name, 32), secs > 0 ? (double)r->n / secs : 0.0,
			       (unsigned long long)r->total);
			if (kind == 1) {
				int ok50, ok99;
				uint64_t p50 = quantile_ns(v, cur, r->index, 0.5, &ok50),
					 p99 = quantile_ns(v, cur, r->index, 0.99, &ok99);
				if (ok50 && ok99)
					printf(" %12llu %12llu", (unsigned long long)p50, (unsigned long long)p99);
				else
					printf(" %12s %12s", "-", "-");
			}
			if (kind == 3 && hvlog_stats_stream_lost(all, r->index))
				printf("  lost %llu", (unsigned long long)hvlog_stats_stream_lost(all, r->index));
			putchar('\n');
		}
	}
	if (!v->tty)
		putchar('\n');
}

static void show_json(struct view *v, const hvlog_stats *cur, const hvlog_stats *all, double secs, int last)
{
	hvlog_stats_totals tc, ta;

	hvlog_stats_totals_get(cur, &tc);
	hvlog_stats_totals_get(all, &ta);
	printf("{\"interval\":%u,\"seconds\":%.6f,\"end\":%s,\"events\":%llu,\"rate\":%.1f,\"lost\":%llu,\"damaged\":%llu,"
	       "\"total_events\":%llu,\"total_lost\":%llu",
	       v->blocks, secs, last ? "true" : "false", (unsigned long long)tc.events,
	       secs > 0 ? (double)tc.events / secs : 0.0, (unsigned long long)tc.lost, (unsigned long long)tc.damaged,
	       (unsigned long long)ta.events, (unsigned long long)ta.lost);
	for (int kind = 0; kind < 4; kind++) {
		size_t n = fill_rows(v, kind, cur, all);
		printf(",\"%s\":[", json_names[kind]);
		for (size_t i = 0; i < n; i++) {
			const struct row *r = &v->rows[i];
			printf("%s{\"name\":", i ? "," : "");
			cli_json_str(r->name);
			printf(",\"events\":%llu,\"rate\":%.1f,\"total\":%llu", (unsigned long long)r->n,
			       secs > 0 ? (double)r->n / secs : 0.0, (unsigned long long)r->total);
			if (kind == 1) {
				int ok50, ok99;
				uint64_t p50 = quantile_ns(v, cur, r->index, 0.5, &ok50),
					 p99 = quantile_ns(v, cur, r->index, 0.99, &ok99);
				if (ok50 && ok99)
					printf(",\"p50_ns\":%llu,\"p99_ns\":%llu", (unsigned long long)p50,
					       (unsigned long long)p99);
			}
			if (kind == 3)
				printf(",\"lost\":%llu", (unsigned long long)hvlog_stats_stream_lost(all, r->index));
			putchar('}');
		}
		putchar(']');
	}
	puts("}");
}

int cmd_top(int argc, char **argv)
{
	static const char doc[] =
		"A live view of a trace being written (a pipe, or a file followed until its writer closes it): "
		"each interval, events/s per group, event, partition and stream, lost events and the interval "
		"percentiles of each event type.  A redrawn screen on a terminal; else one block (or JSON object) "
		"per interval.";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, children, NULL, NULL };
	struct top_opts o = { .io.formats = cli_text_json, .interval = 1.0, .rows = 10 };
	hvlog_stats *cur = NULL, *all = NULL;
	hvlog_reader *r = NULL;
	hvlog_error err = { 0 };
	hvlog_status st = HVLOG_OK;
	struct view v = { 0 };
	int code = EXIT_OK;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0)
		return EXIT_USAGE;
	cli_follow_always();
	if (!(r = cli_open(o.io.file, &code)))
		return code;
	v = (struct view){ &o, hvlog_reader_meta(r), cli_shown(o.io.file), !o.io.format && isatty(STDOUT_FILENO), NULL, NULL, 0 };
	size_t nrows = v.m->schema->nevents + v.m->schema->ngroups + v.m->nstreams + 256;
	v.rows = calloc(nrows, sizeof *v.rows);
	v.names = calloc(256, sizeof *v.names);
	if (!v.rows || !v.names || hvlog_stats_create(&cur, v.m, NULL, &err) != HVLOG_OK ||
	    hvlog_stats_create(&all, v.m, NULL, &err) != HVLOG_OK) {
		code = err.msg[0] ? cli_fail(NULL, &err) : (cli_error(NULL, UINT64_MAX, "out of memory"), EXIT_IO);
		goto out;
	}
	uint64_t period = (uint64_t)(o.interval * 1e9 + 0.5), start = mono_ns(), due = start + period;
	for (;;) {
		const hvlog_item *it;
		hvlog_reader_wait w;
		int end;

		st = hvlog_reader_try_next(r, &it, &w, &err);
		if (st == HVLOG_OK) {
			if (it->kind == HVLOG_ITEM_DAMAGE)
				code = EXIT_DATA;
			if (hvlog_stats_add(cur, it) != HVLOG_OK) {
				cli_error(NULL, UINT64_MAX, "out of memory");
				code = EXIT_IO;
				goto out;
			}
			if (mono_ns() < due)
				continue;
		}
		end = st != HVLOG_OK && st != HVLOG_AGAIN;
		uint64_t now = mono_ns();
		if (st == HVLOG_AGAIN && now < due) {
			struct pollfd pfd = { w.fd, POLLIN, 0 };
			uint64_t left_ms = (due - now + 999999u) / 1000000u;
			int ms = w.timeout_ms >= 0 && (uint64_t)w.timeout_ms < left_ms ? w.timeout_ms : (int)left_ms;
			poll(&pfd, w.fd >= 0, ms);
			continue;
		}
		double secs = (double)(now - (due - period)) / 1e9;
		if (hvlog_stats_merge(all, cur, &err) != HVLOG_OK) {
			code = cli_fail(NULL, &err);
			goto out;
		}
		v.blocks++;
		(o.io.format ? show_json : show_text)(&v, cur, all, secs, end);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(errno));
			code = EXIT_IO;
			goto out;
		}
		hvlog_stats_free(cur);
		cur = NULL;
		if (end)
			break;
		if (hvlog_stats_create(&cur, v.m, NULL, &err) != HVLOG_OK) {
			code = cli_fail(NULL, &err);
			goto out;
		}
		due = now + period;
	}
	if (st != HVLOG_END)
		code = cli_fail(cli_shown(o.io.file), &err);
out:
	hvlog_stats_free(cur);
	hvlog_stats_free(all);
	free(v.rows);
	free(v.names);
	hvlog_reader_close(r);
	return code;
}
