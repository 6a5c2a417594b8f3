/*
 * bench_scale.c - how time and memory grow with the trace: traces of 1M,
 * 10M and 100M events (up to --max), each written by hvcore, decoded by
 * child processes (so each decode's peak RSS is its own, from wait4()),
 * then deleted.  Every figure is per event and compared with the smallest
 * size's: a ratio near 1 is linear time, or flat memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* The library writer alone on `total` events: the loaded trace replayed
 * as often as it takes, each round later than the one before, into a
 * writer whose sink discards the chunks. */
static double writer_replay(const struct workload *wl, uint64_t total)
{
	static hvlog_stream *st[BENCH_MAX_STREAMS];
	hvlog_writer_config cfg = { .nstreams = wl->nstreams, .clock_hz = wl->clock_hz };
	hvlog_writer *w;
	hvlog_error err;
	size_t bytes = 0;
	uint64_t span = wl->ev[wl->n - 1].ts - wl->ev[0].ts + 1, done = 0;

	if (hvlog_writer_open_sink(&w, sink_discard, &bytes, &cfg, &err) != HVLOG_OK) {
		fprintf(stderr, "hvlog_bench: writer: %s\n", err.msg);
		exit(1);
	}
	for (uint32_t i = 0; i < wl->nstreams; i++)
		st[i] = hvlog_writer_stream(w, i);
	double t0 = now();
	for (uint64_t k = 0; done < total; k++) {
		size_t m = total - done < wl->n ? (size_t)(total - done) : wl->n;
		replay(st, wl->vals, wl->ev, m, k * span);
		done += m;
	}
	hvlog_writer_close(w, NULL);
	return now() - t0;
}

/* A figure and the same figure at the smallest size (set on the first). */
struct ref {
	double v;
	char name[32];
};

static void scale_line(const char *section, const char *label, double v, const char *unit, struct ref *r,
		       const char *size)
{
	if (!(v < 1e20)) { /* never measured: its child failed */
		report_skip(section, label, "the child process failed");
		return;
	}
	if (r->v == 0) {
		r->v = v;
		snprintf(r->name, sizeof r->name, "%s", size);
	}
	report(section, label, v, unit, v / r->v, r->name, r->v);
}

enum { R_HVCORE, R_WRITER, R_READ, R_ITER, R_TEXT, R_RSS_READ, R_RSS_ITER, R_RSS_TEXT, R_N };

void bench_scale(const struct bench_opts *o, const struct workload *wl)
{
	uint64_t sizes[8];
	int nsizes = 0;
	struct ref ref[R_N];
	char file[4096], out[4096], log[4096], label[160], sz[32], nbuf[32];

	memset(ref, 0, sizeof ref);
	for (uint64_t s = 1000000; s <= o->max && nsizes < 7; s *= 10)
		sizes[nsizes++] = s;
	if (nsizes == 0 || sizes[nsizes - 1] != o->max)
		sizes[nsizes++] = o->max;
	snprintf(out, sizeof out, "%s/child.out", o->tmpdir);
	snprintf(log, sizeof log, "%s/hvcore.log", o->tmpdir);

	for (int i = 0; i < nsizes; i++) {
		uint64_t size = sizes[i], events = 0;
		size_t allocs = 0;
		struct child c;
		int reps = size <= 1000000 ? o->reps : 1; /* large ones take long enough */
		double best[R_TEXT + 1];
		long rss[3] = { 0, 0, 0 };

		count_name(size, sz, sizeof sz);
		snprintf(file, sizeof file, "%s/scale-%s.hvlog", o->tmpdir, sz);
		snprintf(nbuf, sizeof nbuf, "%llu", (unsigned long long)size);

		/* Encode: hvcore running the mixed workload, tracing to the file. */
		char *gen[] = { (char *)o->hvcore, "-w", "mixed", "-v", "4", "-n", nbuf, "-o", file, "--no-progress", NULL };
		if (run_child(gen, NULL, log, &c) != 0) {
			snprintf(label, sizeof label, "%s events", sz);
			report_skip("scale", label, "hvcore failed (its messages are on stderr)");
			print_file(log, stderr);
			remove(file);
			continue;
		}
		best[R_HVCORE] = c.secs;
		for (int k = R_WRITER; k <= R_TEXT; k++)
			best[k] = 1e30;
		for (int rep = 0; rep < reps; rep++) {
			char *rd[] = { (char *)o->self, "read", file, NULL };
			char *it[] = { (char *)o->self, "iterate", file, NULL };
			char *tx[] = { (char *)o->hvlog, "decode", "--color=never", file, NULL };

			if (run_child(rd, NULL, NULL, &c) == 0) {
				best[R_READ] = c.secs < best[R_READ] ? c.secs : best[R_READ];
				rss[0] = c.maxrss_kib > rss[0] ? c.maxrss_kib : rss[0];
			}
			if (run_child(it, out, NULL, &c) == 0) {
				best[R_ITER] = c.secs < best[R_ITER] ? c.secs : best[R_ITER];
				rss[1] = c.maxrss_kib > rss[1] ? c.maxrss_kib : rss[1];
				FILE *f = fopen(out, "r");
				unsigned long long e = 0;
				if (f && fscanf(f, "%llu %zu", &e, &allocs) == 2)
					events = e;
				if (f)
					fclose(f);
			}
			if (run_child(tx, NULL, NULL, &c) == 0) {
				best[R_TEXT] = c.secs < best[R_TEXT] ? c.secs : best[R_TEXT];
				rss[2] = c.maxrss_kib > rss[2] ? c.maxrss_kib : rss[2];
			}
			double t = writer_replay(wl, size);
			best[R_WRITER] = t < best[R_WRITER] ? t : best[R_WRITER];
		}
		if (!events) {
			snprintf(label, sizeof label, "%s events", sz);
			report_skip("scale", label, "the decode child failed");
			remove(file);
			continue;
		}
		printf("# scale %s: hvcore -w mixed -v 4 -n %llu wrote %llu events\n", sz, (unsigned long long)size,
		       (unsigned long long)events);
		double ev = (double)events;
		snprintf(label, sizeof label, "%s hvcore -w mixed -v 4, tracing to a file", sz);
		scale_line("scale", label, best[R_HVCORE] * 1e9 / ev, "ns/event", &ref[R_HVCORE], sz);
		snprintf(label, sizeof label, "%s library writer, replay, discarding sink", sz);
		scale_line("scale", label, best[R_WRITER] * 1e9 / (double)size, "ns/event", &ref[R_WRITER], sz);
		snprintf(label, sizeof label, "%s read floor, child", sz);
		scale_line("scale", label, best[R_READ] * 1e9 / ev, "ns/event", &ref[R_READ], sz);
		snprintf(label, sizeof label, "%s decode iterate, child", sz);
		scale_line("scale", label, best[R_ITER] * 1e9 / ev, "ns/event", &ref[R_ITER], sz);
		snprintf(label, sizeof label, "%s hvlog decode (text), CLI", sz);
		scale_line("scale", label, best[R_TEXT] * 1e9 / ev, "ns/event", &ref[R_TEXT], sz);
		snprintf(label, sizeof label, "%s decode iterate, 2 threads, by chunks", sz);
		if (have_partition())
			report_split("scale", label, file, SPLIT_CHUNKS, reps);
		else {
			snprintf(label, sizeof label, "%s decode iterate, 2 threads, by streams", sz);
			report_split("scale", label, file, SPLIT_STREAMS, reps);
		}
		snprintf(label, sizeof label, "%s peak RSS, read floor, child", sz);
		scale_line("memory", label, rss[0] ? (double)rss[0] : 1e30, "KiB", &ref[R_RSS_READ], sz);
		snprintf(label, sizeof label, "%s peak RSS, decode iterate, child", sz);
		scale_line("memory", label, rss[1] ? (double)rss[1] : 1e30, "KiB", &ref[R_RSS_ITER], sz);
		snprintf(label, sizeof label, "%s peak RSS, hvlog decode (text), CLI", sz);
		scale_line("memory", label, rss[2] ? (double)rss[2] : 1e30, "KiB", &ref[R_RSS_TEXT], sz);
		snprintf(label, sizeof label, "%s allocations, decode iterate, child", sz);
		report_count("memory", label, allocs, "allocs", events, "reader open and close included");
		remove(file);
	}
}
