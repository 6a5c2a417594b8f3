/*
 * hvlog diff [--threshold PCT] [--format text|json] [--all] A B: what
 * differs between two traces.
 *
 * Both traces are counted into the library's statistics (hvlog/stats.h),
 * with the top values of the ports, MSR indexes and hypercall inputs, and
 * compared by the library (hvlog/diff.h); this file reads and prints.
 *
 * Exit status: 0 nothing differs beyond the threshold, 1 something does
 * (so a CI job fails on a regression), 2 bad command line, 3 a file could
 * not be read, 4 an input is damaged or not a trace (the comparison of
 * what could be read is still printed).
 */
#include <argp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hvlog/diff.h"

enum { EXIT_DIFF_DAMAGED = 4 };

#define TOP_N 20
#define MAX_TOPS 8

struct diff_opts {
	const char *file[2];
	int nfiles;
	double threshold;
	int all;
	struct cli_io io; /* --format (json: 1); the two traces are file[] */
};

static const struct argp_option io_options[] = {
	CLI_FORMAT_OPTION("text (default) or json (one object)"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);
static const struct argp_child children[] = { { &io_argp, 0, NULL, 0 }, { 0 } };

static const struct argp_option options[] = {
	{ "threshold", 't', "PCT", 0,
	  "least relative change of a rate (and least KS distance, as a fraction) that counts as a difference; "
	  "default 10", 0 },
	{ "all", 'a', NULL, 0, "list every row, not only those that differ", 0 },
	{ 0 }
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct diff_opts *o = state->input;
	char *end;

	switch (key) {
	case 't':
		o->threshold = strtod(arg, &end) / 100;
		if (end == arg || *end || !(o->threshold > 0) || o->threshold > 1e6)
			argp_error(state, "bad threshold '%s' (a percentage above 0)", arg);
		return 0;
	case ARGP_KEY_INIT:
		return cli_inputs(state, NULL, &o->io);
	case 'a':
		o->all = 1;
		return 0;
	case ARGP_KEY_ARG:
		if (o->nfiles == 2)
			argp_error(state, "more than two traces given");
		o->file[o->nfiles++] = arg;
		return 0;
	case ARGP_KEY_END:
		if (o->nfiles != 2)
			argp_error(state, "give two traces, A and B");
		if (!strcmp(o->file[0], "-") && !strcmp(o->file[1], "-"))
			argp_error(state, "only one trace can be standard input");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* Counts every item of r into s; 0, EXIT_DIFF_DAMAGED or EXIT_IO. */
static int count(hvlog_reader *r, hvlog_stats *s, const char *shown)
{
	const hvlog_item *it;
	hvlog_error err = { 0 };
	hvlog_status st;
	int code = 0;

	while ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		if (it->kind == HVLOG_ITEM_DAMAGE) {
			cli_error(shown, it->offset, "%s", it->damage_msg);
			code = EXIT_DIFF_DAMAGED;
		}
		if (hvlog_stats_add(s, it) != HVLOG_OK) {
			cli_error(NULL, UINT64_MAX, "out of memory");
			return EXIT_IO;
		}
	}
	if (st != HVLOG_END) {
		int c = cli_fail(shown, &err);
		return c == EXIT_DATA ? EXIT_DIFF_DAMAGED : c;
	}
	return code;
}

static void print_change(const hvlog_diff_row *r)
{
	if (r->side == 1)
		printf("only in A");
	else if (r->side == 2)
		printf("only in B");
	else if (isinf(r->change))
		printf("new");
	else
		printf("%+.1f%%", 100 * r->change);
}

static void print_text(const hvlog_diff *d, const struct diff_opts *o, const hvlog_stats_totals *t,
		       const hvlog_meta *const *m)
{
	uint32_t n = o->all ? hvlog_diff_count(d) : hvlog_diff_differing(d);

	for (int i = 0; i < 2; i++) {
		uint64_t ns = hvlog_ticks_to_ns(t[i].last_ts, t[i].first_ts, m[i]->clock_hz);
		printf("%s: %s: %llu events over %.6f s\n", i ? "B" : "A", cli_shown(o->file[i]),
		       (unsigned long long)t[i].events, (double)ns / 1e9);
	}
	printf("threshold: %g%% (rates; KS distance %.3g), significance 1%%\n", 100 * hvlog_diff_threshold(d),
	       hvlog_diff_threshold(d));
	printf("differences: %u of %u rows\n", hvlog_diff_differing(d), hvlog_diff_count(d));
	for (uint32_t i = 0; i < n; i++) {
		const hvlog_diff_row *r = hvlog_diff_row_get(d, i);
		char name[HVLOG_MAX_NAME + 24];
		if (r->kind == HVLOG_DIFF_VALUE)
			snprintf(name, sizeof name, "%s=0x%llx", r->name, (unsigned long long)r->value);
		else
			snprintf(name, sizeof name, "%s", r->name);
		printf("%c %-8s %-32s ", r->differs ? '!' : ' ', hvlog_diff_kind_name(r->kind), name);
		if (r->kind == HVLOG_DIFF_INTERVAL) {
			printf("p50 %llu -> %llu ns, p90 %llu -> %llu ns, p99 %llu -> %llu ns, KS D %.3f, p %.2g\n",
			       (unsigned long long)r->p50[0], (unsigned long long)r->p50[1],
			       (unsigned long long)r->p90[0], (unsigned long long)r->p90[1],
			       (unsigned long long)r->p99[0], (unsigned long long)r->p99[1], r->ks, r->p_value);
			continue;
		}
		printf("%llu -> %llu (%.1f/s -> %.1f/s, ", (unsigned long long)r->count[0],
		       (unsigned long long)r->count[1], r->rate[0], r->rate[1]);
		print_change(r);
		printf(")\n");
	}
}

static void print_json(const hvlog_diff *d, const struct diff_opts *o, const hvlog_stats_totals *t,
		       const hvlog_meta *const *m)
{
	uint32_t n = o->all ? hvlog_diff_count(d) : hvlog_diff_differing(d);

	printf("{");
	for (int i = 0; i < 2; i++) {
		uint64_t ns = hvlog_ticks_to_ns(t[i].last_ts, t[i].first_ts, m[i]->clock_hz);
		printf("\"%s\":{\"file\":", i ? "b" : "a");
		cli_json_str(cli_shown(o->file[i]));
		printf(",\"events\":%llu,\"span_ns\":%llu},", (unsigned long long)t[i].events, (unsigned long long)ns);
	}
	printf("\"threshold\":%g,\"alpha\":0.01,\"rows\":%u,\"differing\":%u,\"list\":[", hvlog_diff_threshold(d),
	       hvlog_diff_count(d), hvlog_diff_differing(d));
	for (uint32_t i = 0; i < n; i++) {
		const hvlog_diff_row *r = hvlog_diff_row_get(d, i);
		printf("%s\n{\"kind\":\"%s\",\"name\":", i ? "," : "", hvlog_diff_kind_name(r->kind));
		cli_json_str(r->name);
		if (r->kind == HVLOG_DIFF_VALUE)
			printf(",\"value\":\"0x%llx\"", (unsigned long long)r->value);
		printf(",\"differs\":%s,\"side\":\"%s\",\"count\":[%llu,%llu]", r->differs ? "true" : "false",
		       r->side == 1 ? "a" : r->side == 2 ? "b" : "both", (unsigned long long)r->count[0],
		       (unsigned long long)r->count[1]);
		if (r->kind == HVLOG_DIFF_INTERVAL)
			printf(",\"p50_ns\":[%llu,%llu],\"p90_ns\":[%llu,%llu],\"p99_ns\":[%llu,%llu],\"ks\":%.6f,"
			       "\"p_value\":%.6g",
			       (unsigned long long)r->p50[0], (unsigned long long)r->p50[1],
			       (unsigned long long)r->p90[0], (unsigned long long)r->p90[1],
			       (unsigned long long)r->p99[0], (unsigned long long)r->p99[1], r->ks, r->p_value);
		else
			printf(",\"rate\":[%.6g,%.6g]", r->rate[0], r->rate[1]);
		if (isinf(r->change))
			printf(",\"change\":null");
		else
			printf(",\"change\":%.6g", r->change);
		printf(",\"effect\":%.6g}", r->effect);
	}
	printf("\n]}\n");
}

int cmd_diff(int argc, char **argv)
{
	static const char doc[] =
		"What differs between two traces A and B: per group, event, port, MSR index and hypercall input, "
		"the counts and rates on each side and the change; per event type the interval percentiles and a "
		"Kolmogorov-Smirnov distance with its p-value. Rows that differ (beyond --threshold and significant "
		"at 1 %) come first, largest effect first.\v"
		"Exit status: 0 nothing differs, 1 something differs, 2 bad command line, 3 a file could not be "
		"read, 4 an input is damaged or not a trace.\n"
		"Examples:\n"
		"  hvlog diff before.hvlog after.hvlog\n"
		"  hvlog diff --threshold 25 --format json before.hvlog after.hvlog | jq '.list[0]'";
	static const struct argp argp = { options, parse, "A B", doc, children, NULL, NULL };
	struct diff_opts o = { .threshold = 0.10, .io = { .formats = cli_text_json, .own_file = 1 } };
	hvlog_reader *r[2] = { NULL, NULL };
	hvlog_stats *s[2] = { NULL, NULL };
	const hvlog_meta *m[2];
	const char *keys[MAX_TOPS];
	hvlog_stats_top tops[MAX_TOPS];
	hvlog_stats_totals t[2];
	hvlog_diff *d = NULL;
	hvlog_error err;
	uint32_t ntops = 0;
	int code = EXIT_OK, damaged = 0;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0)
		return EXIT_USAGE;
	for (int i = 0; i < 2; i++) {
		if (!(r[i] = cli_open(o.file[i], &code))) {
			code = code == EXIT_DATA ? EXIT_DIFF_DAMAGED : code;
			goto out;
		}
		m[i] = hvlog_reader_meta(r[i]);
	}
	ntops = hvlog_diff_top_keys(m[0], m[1], keys, MAX_TOPS);
	for (uint32_t k = 0; k < ntops; k++)
		tops[k] = (hvlog_stats_top){ keys[k], NULL, TOP_N };
	hvlog_stats_config cfg = { tops, ntops };
	for (int i = 0; i < 2; i++) {
		if (hvlog_stats_create(&s[i], m[i], &cfg, &err) != HVLOG_OK) {
			code = cli_fail(cli_shown(o.file[i]), &err);
			goto out;
		}
		int c = count(r[i], s[i], cli_shown(o.file[i]));
		if (c == EXIT_DIFF_DAMAGED)
			damaged = 1;
		else if (c) {
			code = c;
			goto out;
		}
		hvlog_stats_totals_get(s[i], &t[i]);
	}
	hvlog_diff_config dc = { o.threshold, keys, ntops };
	if (hvlog_diff_compute(&d, s[0], m[0], s[1], m[1], &dc, &err) != HVLOG_OK) {
		code = cli_fail(NULL, &err);
		goto out;
	}
	if (o.io.format)
		print_json(d, &o, t, m);
	else
		print_text(d, &o, t, m);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed");
		code = EXIT_IO;
	} else {
		code = damaged ? EXIT_DIFF_DAMAGED : hvlog_diff_differing(d) ? 1 : EXIT_OK;
	}
out:
	hvlog_diff_free(d);
	for (int i = 0; i < 2; i++) {
		hvlog_stats_free(s[i]);
		hvlog_reader_close(r[i]);
	}
	return code;
}
