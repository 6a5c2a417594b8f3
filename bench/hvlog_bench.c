/*
 * hvlog_bench - encode and decode figures, each with its floor measured in
 * the same run (the machines this runs on are shared and noisy: ratios
 * hold, absolute numbers move).  bench/README.md explains the output.
 *
 *   hvlog_bench encode [N]   N events of the peers' event mix (default 10M)
 *   hvlog_bench decode FILE  iterate, text and JSON over a trace file
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "hvlog/hvlog.h"

struct ev {
	uint64_t ts, rip, a, b;
	uint8_t type, vp;
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The mix of the peers' benchmark: port writes 30 %, port reads 10 %,
 * MSR reads 14 %, MSR writes 11 %, hypercalls 12 %, HLT 10 %, CPUID 8 %,
 * context switches 5 %; 4 VPs, 70 % of events stay on the same VP; RIPs
 * from a few code pages, ports and MSRs from small skewed sets. */
static struct ev *make_events(size_t n)
{
	static const uint16_t ports[] = { 0x3f8, 0xcf8, 0xcfc, 0x70, 0x71, 0x3fd, 0x60, 0x64 };
	static const uint32_t msrs[] = { 0x10, 0x1b, 0x40000020, 0xc0000080, 0x6e0, 0x830, 0x80b, 0x17 };
	static const uint64_t pages[] = { 0xfffff8034a2b1000ull, 0xfffff8034a00a000ull, 0xfffff80351c43000ull,
					  0x00007ff6a1230000ull };
	struct ev *e = malloc(n * sizeof *e);
	uint64_t r = 42, ts = 0x123456789abcull;
	unsigned vp = 0;

	if (!e)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint64_t x = rng_next(&r);
		unsigned k = (unsigned)(x % 1000);
		ts += 50 + ((x >> 16) % 1951);
		if ((x >> 32) % 10 >= 7)
			vp = (unsigned)((x >> 40) & 3);
		uint64_t site = pages[(x >> 48) & 3] + ((x & 1) ? ((x >> 8) & 3) * 0x10 : (x >> 20) & 0xfff);
		e[i] = (struct ev){ ts, site, ports[(x >> 44) % 8], (x >> 52) & 0xff, 0, (uint8_t)vp };
		if (k < 300) e[i].type = 0;
		else if (k < 400) e[i].type = 1;
		else if (k < 540) { e[i].type = 2; e[i].a = msrs[(x >> 44) % 8]; e[i].b = ts + 0x1000; }
		else if (k < 650) { e[i].type = 3; e[i].a = msrs[(x >> 44) % 8]; e[i].b = 0x1000000ull * ((x >> 56) & 7); }
		else if (k < 770) { e[i].type = 4; e[i].rip = 0xfffff80340001000ull; e[i].a = 0x5c | ((x >> 49) & 1) << 16; }
		else if (k < 870) e[i].type = 5;
		else if (k < 950) { e[i].type = 6; e[i].a = (x >> 44) & 0xd; e[i].b = 0; }
		else { e[i].type = 7; e[i].a = 1 + (vp >> 1); e[i].b = 0xffffff3a12345678ull; }
	}
	return e;
}

static int discard(void *user, const void *buf, size_t len)
{
	*(size_t *)user += len;
	(void)buf;
	return 0;
}

static void encode(hvlog_writer *w, const struct ev *e, size_t n)
{
	hvlog_stream *s[4];
	for (unsigned i = 0; i < 4; i++)
		s[i] = hvlog_writer_stream(w, i);
	for (size_t i = 0; i < n; i++) {
		const struct ev *x = &e[i];
		hvlog_stream *st = s[x->vp];
		switch (x->type) {
		case 0: hvlog_emit_im_io_port_write(st, x->ts, x->rip, (uint16_t)x->a, (uint32_t)x->b); break;
		case 1: hvlog_emit_im_io_port_read(st, x->ts, x->rip, (uint16_t)x->a, (uint32_t)x->b); break;
		case 2: hvlog_emit_im_msr_read(st, x->ts, x->rip, (uint32_t)x->a, x->b); break;
		case 3: hvlog_emit_im_msr_write(st, x->ts, x->rip, (uint32_t)x->a, x->b); break;
		case 4: hvlog_emit_hc_hypercall(st, x->ts, x->rip, x->a); break;
		case 5: hvlog_emit_im_hlt_instruction(st, x->ts, x->rip); break;
		case 6: hvlog_emit_im_cpuid_instruction(st, x->ts, x->rip, (uint32_t)x->a, (uint32_t)x->b); break;
		default: hvlog_emit_sch_context_switch(st, x->ts, x->a, 0x1000 + x->vp, x->b); break;
		}
	}
}

/* A fixed-width record: 16-byte header (timestamp, event, stream) and 8
 * bytes per parameter, as a plain binary tracer writes it. */
struct rec {
	uint64_t ts;
	uint32_t event, stream;
	uint64_t p[3];
};

#define REC(np) (16 + 8 * (np))
#define PUT(np, num, p0, p1, p2)                                                       \
	do {                                                                           \
		struct rec r = { x->ts, num, x->vp, { p0, p1, p2 } };                  \
		memcpy(buf + off, &r, REC(np));                                        \
		off += REC(np);                                                        \
	} while (0)

/* The floor: the same dispatch as encode(), each event copied as a
 * fixed-width record into a buffer (memcpy of a constant size). */
static double floor_copy(const struct ev *e, size_t n, uint8_t *buf, size_t cap, size_t *bytes)
{
	size_t off = 0, total = 0;
	double t0 = now();

	for (size_t i = 0; i < n; i++) {
		const struct ev *x = &e[i];
		if (off + sizeof(struct rec) > cap) {
			total += off;
			off = 0;
		}
		switch (x->type) {
		case 0: PUT(3, 0x29, x->rip, x->a, x->b); break;
		case 1: PUT(3, 0x28, x->rip, x->a, x->b); break;
		case 2: PUT(3, 0x21, x->rip, x->a, x->b); break;
		case 3: PUT(3, 0x22, x->rip, x->a, x->b); break;
		case 4: PUT(2, 0x1a, x->rip, x->a, 0); break;
		case 5: PUT(1, 0x25, x->rip, 0, 0); break;
		case 6: PUT(3, 0x27, x->rip, x->a, x->b); break;
		default: PUT(3, 0xb0, x->a, 0x1000 + x->vp, x->b); break;
		}
	}
	double t = now() - t0;
	*bytes = total + off;
	if (buf[off / 2] == 0xAB && buf[1] == 0xCD) /* the copies are used */
		fputs("", stderr);
	return t;
}

/* Allocation counting: the bench links libhvlog statically and wraps
 * malloc, calloc and realloc (-Wl,--wrap), so every allocation the
 * library makes is counted. */
static size_t allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) { allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { allocs++; return __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { allocs++; return __real_realloc(p, n); }

static long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

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

enum { D_ITERATE, D_TEXT, D_JSON };
enum { WANT_MAX_STREAMS = 4096 };

/* One pass over the trace: 0 iterate only, 1 text, 2 JSON (formatted into
 * a buffer, not written).  Returns seconds; *events and *allocated for
 * the pass. */
static double decode_pass(const char *path, int mode, uint64_t *events, size_t *allocated)
{
	hvlog_reader *r;
	hvlog_error err;
	const hvlog_item *it;
	hvlog_reader_stats st;
	char line[HVLOG_FORMAT_MAX];
	size_t sum = 0, a0;
	double t0 = now();

	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK) {
		fprintf(stderr, "hvlog_bench: %s: %s\n", path, err.msg);
		exit(1);
	}
	hvlog_reader_stats_get(r, &st);
	a0 = allocs;
	*events = 0;
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK) {
		if (mode != D_ITERATE)
			sum += hvlog_format_item(hvlog_reader_meta(r), it,
						 mode == D_JSON ? HVLOG_FORMAT_JSON : HVLOG_FORMAT_TEXT, st.first_ts, line,
						 sizeof line);
		else
			sum += it->ts;
		(*events)++;
	}
	*allocated = allocs - a0;
	hvlog_reader_close(r);
	double t = now() - t0;
	if (sum == 42)
		fputs("", stderr);
	return t;
}

/* Two readers on one file, each decoding half of the streams, on two
 * threads: what an order-insensitive consumer (counting, statistics) gets
 * from the streams being independent.  The merge order is per reader. */
struct half {
	const char *path;
	uint32_t part, parts;
	uint64_t events;
};

static void *decode_half(void *arg)
{
	struct half *h = arg;
	hvlog_reader *r;
	hvlog_error err;
	const hvlog_item *it;
	uint8_t keep[WANT_MAX_STREAMS] = { 0 };

	if (hvlog_reader_open_path(&r, h->path, &err) != HVLOG_OK)
		return NULL;
	for (uint32_t s = 0; s < hvlog_reader_meta(r)->nstreams && s < WANT_MAX_STREAMS; s++)
		keep[s] = s % h->parts == h->part;
	hvlog_reader_set_streams(r, keep, WANT_MAX_STREAMS);
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
		h->events++;
	hvlog_reader_close(r);
	return NULL;
}

static double decode_split(const char *path, uint32_t parts, uint64_t *events)
{
	pthread_t t[8];
	struct half h[8];
	double t0 = now();

	for (uint32_t i = 0; i < parts; i++) {
		h[i] = (struct half){ path, i, parts, 0 };
		pthread_create(&t[i], NULL, decode_half, &h[i]);
	}
	*events = 0;
	for (uint32_t i = 0; i < parts; i++) {
		pthread_join(t[i], NULL);
		*events += h[i].events;
	}
	return now() - t0;
}

static int bench_decode(const char *path)
{
	static const char *const names[] = { "iterate", "text", "json" };
	double best[3] = { 1e9, 1e9, 1e9 }, floor_t = 1e9;
	uint64_t n = 0;
	size_t bytes = 0, allocated[3] = { 0 };

	for (int rep = 0; rep < 3; rep++) {
		double f = read_floor(path, &bytes);
		if (f < floor_t)
			floor_t = f;
		for (int m = 0; m < 3; m++) {
			double t = decode_pass(path, m, &n, &allocated[m]);
			if (t < best[m])
				best[m] = t;
		}
	}
	printf("file %s: %llu items, %zu bytes, %.2f bytes/item\n", path, (unsigned long long)n, bytes,
	       n ? (double)bytes / (double)n : 0.0);
	printf("floor read %.0f M items/s (%.2f GB/s)\n", (double)n / floor_t / 1e6, (double)bytes / floor_t / 1e9);
	for (int m = 0; m < 3; m++)
		printf("decode %-7s %.1f M items/s (%.3f x read floor), %zu allocations in the pass (%.6f per item)\n",
		       names[m], (double)n / best[m] / 1e6, floor_t / best[m], allocated[m],
		       n ? (double)allocated[m] / (double)n : 0.0);
	double one = 1e9, two = 1e9;
	uint64_t e1 = 0, e2 = 0;
	for (int rep = 0; rep < 3; rep++) {
		double t = decode_split(path, 1, &e1);
		if (t < one)
			one = t;
		t = decode_split(path, 2, &e2);
		if (t < two)
			two = t;
	}
	printf("decode iterate, streams split over 2 threads: %.1f M items/s (%.2f x 1 thread, %llu items)\n",
	       (double)e2 / two / 1e6, one / two, (unsigned long long)e2);
	if (e1 != e2)
		printf("WARNING: 1 thread saw %llu items, 2 threads %llu\n", (unsigned long long)e1,
		       (unsigned long long)e2);
	printf("peak RSS %ld KiB\n", peak_rss_kib());
	return 0;
}

static int bench_encode(size_t n);

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "decode"))
		return bench_decode(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "encode"))
		return bench_encode(argc > 2 ? strtoull(argv[2], NULL, 0) : 10000000);
	fprintf(stderr, "usage: hvlog_bench encode [N] | hvlog_bench decode FILE\n");
	return 2;
}

static int bench_encode(size_t n)
{
	struct ev *e = make_events(n);
	size_t cap = 64u << 20, bytes = 0;
	uint8_t *buf = malloc(cap);
	hvlog_writer *w;
	hvlog_error err;
	double best_enc = 1e9, best_floor = 1e9;
	size_t floor_bytes = 0, enc_allocs = 0;

	if (!e || !buf)
		return 1;
	memset(buf, 0, cap);
	for (int rep = 0; rep < 5; rep++) {
		hvlog_writer_config cfg = { .nstreams = 4, .clock_hz = 2000000000u };
		bytes = 0;
		if (hvlog_writer_open_sink(&w, discard, &bytes, &cfg, &err) != HVLOG_OK) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		size_t a0 = allocs;
		double t0 = now();
		encode(w, e, n);
		double t = now() - t0;
		enc_allocs = allocs - a0;
		hvlog_writer_close(w, NULL);
		double f = floor_copy(e, n, buf, cap, &floor_bytes);
		if (t < best_enc)
			best_enc = t;
		if (f < best_floor)
			best_floor = f;
	}
	printf("encode mix %.2f ns/event (%.2f x memcpy floor %.2f ns/event), best of 5, N=%zu\n",
	       best_enc * 1e9 / (double)n, best_enc / best_floor, best_floor * 1e9 / (double)n, n);
	printf("encode mix allocations %zu in %zu events\n", enc_allocs, n);
	printf("size mix %.2f bytes/event (%.3f x fixed-width record %.2f bytes/event)\n", (double)bytes / (double)n,
	       (double)bytes / (double)floor_bytes, (double)floor_bytes / (double)n);
	free(e);
	free(buf);
	return 0;
}
