/*
 * bench_decode.c - decode figures over one trace file, each against the
 * time it takes to read the file's bytes (the floor), measured in the same
 * run: in this process for the library, as a child process for the CLI
 * (so both sides pay for starting a program and for the page cache alike).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* The floor for decoding: read the file's bytes, as cat does. */
static double read_floor(const char *path, size_t *bytes)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t k;
	double t0 = now();

	*bytes = 0;
	if (fd < 0)
		return 0;
	while ((k = read(fd, buf, sizeof buf)) > 0)
		*bytes += (size_t)k;
	close(fd);
	return now() - t0;
}

/* `hvlog_bench read FILE`: the floor as a child process, for the CLI. */
int child_read(const char *path)
{
	size_t bytes;
	read_floor(path, &bytes);
	printf("%zu\n", bytes);
	return 0;
}

/* `hvlog_bench iterate FILE`: the library decode as a child process, for
 * the peak RSS of one decode alone; prints the events and the allocations
 * made from opening to closing the reader. */
int child_iterate(const char *path)
{
	hvlog_reader *r;
	hvlog_error err;
	const hvlog_item *it;
	uint64_t n = 0;
	size_t a0 = bench_allocs();

	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK) {
		fprintf(stderr, "hvlog_bench: %s: %s\n", path, err.msg);
		return 1;
	}
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
		n += it->kind == HVLOG_ITEM_EVENT;
	hvlog_reader_close(r);
	printf("%llu %zu\n", (unsigned long long)n, bench_allocs() - a0);
	return 0;
}

enum { D_ITERATE, D_GROUP, D_TEXT, D_JSON, D_F_COLOR, D_F_JSON, D_F_CSV, D_F_CBOR, D_B_ITERATE, D_B_GROUP,
       D_B_UNORDERED, D_MODES };
#define BATCH 256 /* items per hvlog_reader_next_batch() in the batch modes */
static const char *const mode_names[D_MODES] = {
	"library iterate",                /* hvlog_reader_next() alone */
	"library count, group interrupt", /* hvlog_reader_set_group_mask() */
	"library text into a buffer",     /* hvlog_format_item() */
	"library JSON into a buffer",
	"library formatter, coloured text", /* hvlog_formatter_item() */
	"library formatter, JSON",
	"library formatter, CSV",
	"library formatter, CBOR",
	"library iterate, batches of 256", /* hvlog_reader_next_batch() */
	"library count, group interrupt, batches of 256",
	"library count, group interrupt, unordered batches", /* hvlog_reader_set_ordered(r, 0) */
};

/* The formatter of a D_F_ mode. */
static hvlog_formatter *mode_formatter(int mode, const hvlog_meta *m, uint64_t t0)
{
	static const hvlog_formatter_config cfgs[] = {
		[D_F_COLOR] = { HVLOG_FORMAT_TEXT, HVLOG_FMT_COLOR, 0, NULL },
		[D_F_JSON] = { HVLOG_FORMAT_JSON, 0, 0, NULL },
		[D_F_CSV] = { HVLOG_FORMAT_CSV, 0, 0, NULL },
		[D_F_CBOR] = { HVLOG_FORMAT_CBOR, 0, 0, NULL },
	};
	hvlog_formatter_config cfg = cfgs[mode];
	hvlog_formatter *f;
	hvlog_error err;

	cfg.t0 = t0;
	if (hvlog_formatter_create(&f, m, &cfg, &err) != HVLOG_OK) {
		fprintf(stderr, "hvlog_bench: %s\n", err.msg);
		exit(1);
	}
	return f;
}

/* One pass over the trace: iterate only, count with a group mask, or
 * format each item as text or JSON into a buffer (not written).  Returns
 * seconds, reader open included; *events: the events handed out. */
static double decode_pass(const char *path, int mode, uint64_t group_mask, uint64_t *events, size_t *allocated,
			  size_t *iter_allocated)
{
	hvlog_reader *r;
	hvlog_error err;
	const hvlog_item *it;
	hvlog_reader_stats st;
	static char line[4 * HVLOG_FORMAT_MAX];
	hvlog_formatter *f = NULL;
	size_t sum = 0, a0 = bench_allocs(), a1 = 0;
	double t0 = now();

	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK) {
		fprintf(stderr, "hvlog_bench: %s: %s\n", path, err.msg);
		exit(1);
	}
	hvlog_reader_stats_get(r, &st);
	if (mode == D_GROUP || mode == D_B_GROUP || mode == D_B_UNORDERED)
		hvlog_reader_set_group_mask(r, group_mask);
	if (mode == D_B_UNORDERED)
		hvlog_reader_set_ordered(r, 0);
	if (mode >= D_F_COLOR && mode <= D_F_CBOR) {
		f = mode_formatter(mode, hvlog_reader_meta(r), st.first_ts);
		if (hvlog_formatter_item_max(f) > sizeof line) {
			fprintf(stderr, "hvlog_bench: items too large for the buffer\n");
			exit(1);
		}
	}
	*events = 0;
	if (mode >= D_B_ITERATE) {
		hvlog_batch *b = hvlog_batch_new(BATCH);
		if (!b) {
			fprintf(stderr, "hvlog_bench: out of memory\n");
			exit(1);
		}
		while (hvlog_reader_next_batch(r, b, &err) == HVLOG_OK) {
			if (!a1)
				a1 = bench_allocs();
			for (size_t i = 0; i < b->n; i++) {
				sum += b->items[i].ts;
				*events += b->items[i].kind == HVLOG_ITEM_EVENT;
			}
		}
		hvlog_batch_free(b);
	}
	while (mode < D_B_ITERATE && hvlog_reader_next(r, &it, &err) == HVLOG_OK) {
		if (!a1)
			a1 = bench_allocs(); /* after the first item */
		if (mode == D_TEXT || mode == D_JSON)
			sum += hvlog_format_item(hvlog_reader_meta(r), it,
						 mode == D_JSON ? HVLOG_FORMAT_JSON : HVLOG_FORMAT_TEXT, st.first_ts, line,
						 sizeof line);
		else if (f)
			sum += hvlog_formatter_item(f, it, line, sizeof line);
		else
			sum += it->ts;
		*events += it->kind == HVLOG_ITEM_EVENT;
	}
	*iter_allocated = a1 ? bench_allocs() - a1 : 0;
	hvlog_formatter_free(f);
	hvlog_reader_close(r);
	double t = now() - t0;
	*allocated = bench_allocs() - a0;
	if (sum == 42) /* the formatting is used */
		fputs("", stderr);
	return t;
}

/* n readers on one file, one per thread, each decoding its share, as an
 * order-insensitive consumer (counting, statistics) can: by streams
 * (hvlog_reader_set_streams: reader i takes the streams s % n == i) or by
 * chunks (hvlog_reader_set_partition: reader i every n-th chunk from i).
 * Each share comes out in time order; there is no merge across readers. */
struct share {
	const char *path;
	int how;
	uint32_t part, parts;
	uint64_t events;
	double cpu; /* the thread's CPU time for its share */
};

static void *decode_share(void *arg)
{
	struct share *h = arg;
	hvlog_reader *r;
	hvlog_error err;
	const hvlog_item *it;
	static const uint32_t want_max = 4096;
	uint8_t keep[4096] = { 0 };
	double c0 = thread_cpu();

	if (hvlog_reader_open_path(&r, h->path, &err) != HVLOG_OK)
		return NULL;
	if (h->how == SPLIT_STREAMS) {
		for (uint32_t s = 0; s < hvlog_reader_meta(r)->nstreams && s < want_max; s++)
			keep[s] = s % h->parts == h->part;
		hvlog_reader_set_streams(r, keep, want_max);
	} else {
#ifdef HVLOG_BENCH_PARTITION
		hvlog_reader_set_partition(r, h->part, h->parts);
#endif
	}
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
		h->events += it->kind == HVLOG_ITEM_EVENT;
	hvlog_reader_close(r);
	h->cpu = thread_cpu() - c0;
	return NULL;
}

double decode_split(const char *path, int how, uint32_t parts, uint64_t *events, double *cpu)
{
	pthread_t t[8];
	struct share h[8];
	double t0 = now();

	for (uint32_t i = 0; i < parts; i++) {
		h[i] = (struct share){ path, how, i, parts, 0, 0 };
		if (parts == 1)
			decode_share(&h[i]); /* one reader: no thread to start */
		else if (pthread_create(&t[i], NULL, decode_share, &h[i]) != 0) {
			fprintf(stderr, "hvlog_bench: pthread_create failed\n");
			exit(1);
		}
	}
	*events = 0;
	*cpu = 0;
	for (uint32_t i = 0; i < parts; i++) {
		if (parts > 1)
			pthread_join(t[i], NULL);
		*events += h[i].events;
		*cpu += h[i].cpu;
	}
	return now() - t0;
}

int have_partition(void)
{
#ifdef HVLOG_BENCH_PARTITION
	return 1;
#else
	return 0;
#endif
}

/* Speed-up of 2 readers on 2 threads over 1 reader, best of reps each. */
void report_split(const char *section, const char *label, const char *path, int how, int reps)
{
	double one = 1e30, two = 1e30, cpu1 = 1e30, cpu2 = 1e30, c;
	uint64_t e1 = 0, e2 = 0;
	char cl[200];

	for (int rep = 0; rep < reps; rep++) {
		double t = decode_split(path, how, 1, &e1, &c);
		if (t < one)
			one = t;
		if (c < cpu1)
			cpu1 = c;
		t = decode_split(path, how, 2, &e2, &c);
		if (t < two)
			two = t;
		if (c < cpu2)
			cpu2 = c;
	}
	report(section, label, (double)e2 / two / 1e6, "M events/s", one / two, "1 thread", (double)e1 / one / 1e6);
	/* As for encoding: the threads' CPU time, which the other users of
	 * the machine do not change (1.00: splitting costs nothing). */
	snprintf(cl, sizeof cl, "%s, CPU time", label);
	report(section, cl, cpu2 * 1e9 / (double)e2, "ns/event", cpu2 / cpu1, "1 thread", cpu1 * 1e9 / (double)e1);
	if (e1 != e2)
		printf("WARNING %s: 1 thread saw %llu events, 2 threads %llu\n", label, (unsigned long long)e1,
		       (unsigned long long)e2);
}

uint64_t bench_decode_lib(const struct bench_opts *o, const char *path, const char *wname)
{
	double best[D_MODES], floor_t = 1e30;
	uint64_t n[D_MODES] = { 0 }, mask = 0;
	size_t bytes = 0, allocated[D_MODES] = { 0 }, iter_allocated[D_MODES] = { 0 };
	char label[160];
	hvlog_reader *r;
	hvlog_error err;

	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK) {
		fprintf(stderr, "hvlog_bench: %s: %s\n", path, err.msg);
		exit(1);
	}
	const hvlog_group *g = hvlog_schema_lookup_group(hvlog_reader_meta(r)->schema, "interrupt");
	mask = g ? g->mask : 0;
	hvlog_reader_close(r);

	for (int m = 0; m < D_MODES; m++)
		best[m] = 1e30;
	for (int rep = 0; rep < o->reps; rep++) {
		double f = read_floor(path, &bytes);
		if (f < floor_t)
			floor_t = f;
		for (int m = 0; m < D_MODES; m++) {
			double t = decode_pass(path, m, mask, &n[m], &allocated[m], &iter_allocated[m]);
			if (t < best[m])
				best[m] = t;
		}
	}
	/* Rates are of the trace's events (all of them, also when a filter
	 * hands out fewer), so the lines compare. */
	uint64_t ev = n[D_ITERATE];
	printf("# decode %s: %llu events, %zu bytes, %.2f bytes/event; interrupt group: %llu events\n", wname,
	       (unsigned long long)ev, bytes, ev ? (double)bytes / (double)ev : 0.0, (unsigned long long)n[D_GROUP]);
	for (int m = 0; m < D_MODES; m++) {
		snprintf(label, sizeof label, "%s %s", wname, mode_names[m]);
		report("decode", label, (double)ev / best[m] / 1e6, "M events/s", best[m] / floor_t, "read floor",
		       (double)ev / floor_t / 1e6);
	}
	for (int m = 0; m < D_MODES; m++) {
		snprintf(label, sizeof label, "%s %s, allocations", wname, mode_names[m]);
		report_count("memory", label, allocated[m], "allocs", ev, "reader open and close included");
		snprintf(label, sizeof label, "%s %s, allocations after the first item", wname, mode_names[m]);
		report_count("memory", label, iter_allocated[m], "allocs", ev,
			     "each stream's chunk buffer and slots, once: none per event");
	}
	snprintf(label, sizeof label, "%s library iterate, 2 threads, by streams", wname);
	report_split("decode", label, path, SPLIT_STREAMS, o->reps);
	snprintf(label, sizeof label, "%s library iterate, 2 threads, by chunks", wname);
	if (have_partition())
		report_split("decode", label, path, SPLIT_CHUNKS, o->reps);
	else
		report_skip("decode", label, "hvlog_reader_set_partition() was not in reader.h at build time");
	return ev;
}

/* ---- the CLI ------------------------------------------------------------ */

struct cli_case {
	const char *label;
	const char *args[8]; /* after the program name, before the file */
};

static const struct cli_case cli_cases[] = {
	{ "hvlog decode (text)", { "decode", "--color=never" } },
	{ "hvlog decode -f json", { "decode", "-f", "json" } },
	{ "hvlog decode --count -j1", { "decode", "--count", "-j1" } },
	{ "hvlog decode --count --group interrupt -j1", { "decode", "--count", "--group", "interrupt", "-j1" } },
	{ "hvlog decode --count -j2", { "decode", "--count", "-j2" } },
	{ "hvlog decode --count --group interrupt -j2", { "decode", "--count", "--group", "interrupt", "-j2" } },
	{ "hvlog stats --top port -j1", { "stats", "--top", "port", "-j1" } },
	{ "hvlog stats --top port -j2", { "stats", "--top", "port", "-j2" } },
	{ "hvlog convert --to json", { "convert", "--no-progress", "--to", "json" } },
	{ "hvlog convert --to csv", { "convert", "--no-progress", "--to", "csv" } },
	{ "hvlog convert --to cbor", { "convert", "--no-progress", "--to", "cbor" } },
	{ "hvlog convert --to chrome", { "convert", "--no-progress", "--to", "chrome" } },
	{ "hvlog convert --to ctf -o DIR", { "convert", "--no-progress", "--to", "ctf", "-o", NULL } },
};
enum { NCLI = sizeof cli_cases / sizeof cli_cases[0] };

/* The case that is case k ("... -j2") on one thread ("... -j1"), or -1. */
static int one_thread_twin(int k)
{
	const char *l = cli_cases[k].label;
	size_t n = strlen(l);

	if (n < 4 || strcmp(l + n - 4, " -j2"))
		return -1;
	for (int i = 0; i < NCLI; i++)
		if (strlen(cli_cases[i].label) == n && !strncmp(cli_cases[i].label, l, n - 1) &&
		    cli_cases[i].label[n - 1] == '1')
			return i;
	return -1;
}

void bench_decode_cli(const struct bench_opts *o, const char *path, const char *wname, uint64_t events)
{
	double best[NCLI], floor_t = 1e30;
	int failed[NCLI] = { 0 };
	char ctfdir[4096], label[160];
	struct child c;

	snprintf(ctfdir, sizeof ctfdir, "%s/ctf", o->tmpdir);
	for (int k = 0; k < NCLI; k++)
		best[k] = 1e30;
	for (int rep = 0; rep < o->reps; rep++) {
		char *floor_argv[] = { (char *)o->self, "read", (char *)path, NULL };
		if (run_child(floor_argv, NULL, NULL, &c) == 0 && c.secs < floor_t)
			floor_t = c.secs;
		for (int k = 0; k < NCLI; k++) {
			char *argv[16];
			int a = 0;
			argv[a++] = (char *)o->hvlog;
			for (int i = 0; i < 8 && cli_cases[k].args[i]; i++)
				argv[a++] = (char *)cli_cases[k].args[i];
			if (!strcmp(argv[a - 1], "-o")) /* ctf writes a directory */
				argv[a++] = ctfdir;
			argv[a++] = (char *)path;
			argv[a] = NULL;
			remove_tree(ctfdir);
			if (run_child(argv, NULL, NULL, &c) != 0)
				failed[k] = c.status;
			else if (c.secs < best[k])
				best[k] = c.secs;
		}
	}
	remove_tree(ctfdir);
	for (int k = 0; k < NCLI; k++) {
		snprintf(label, sizeof label, "%s %s", wname, cli_cases[k].label);
		if (failed[k]) {
			char why[64];
			snprintf(why, sizeof why, "the command failed (exit status %d)", failed[k]);
			report_skip("decode", label, why);
			continue;
		}
		report("decode", label, (double)events / best[k] / 1e6, "M events/s", best[k] / floor_t,
		       "read floor, child", (double)events / floor_t / 1e6);
		int one = one_thread_twin(k);
		if (one >= 0 && !failed[one]) {
			snprintf(label, sizeof label, "%s %s, speed-up", wname, cli_cases[k].label);
			report("decode", label, (double)events / best[k] / 1e6, "M events/s", best[one] / best[k],
			       "1 thread", (double)events / best[one] / 1e6);
		}
	}
}
