/*
 * hvlog_bench - quick encode and decode figures, each with its floor
 * measured in the same run (the machines this runs on are shared and
 * noisy: ratios hold, absolute numbers move).
 *
 *   hvlog_bench [N]      N events (default 10,000,000)
 *
 * Lines: "<what> <figure> <unit> (<ratio> x <floor>)".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The floor: each event copied as a fixed-width record (16-byte header +
 * 8 bytes per parameter) into a buffer, as a plain binary tracer would. */
static double floor_copy(const struct ev *e, size_t n, uint8_t *buf, size_t cap)
{
	static const unsigned np[8] = { 3, 3, 3, 3, 2, 1, 3, 3 };
	size_t off = 0;
	double t0 = now();
	for (size_t i = 0; i < n; i++) {
		size_t len = 16 + 8 * np[e[i].type];
		if (off + len > cap)
			off = 0;
		memcpy(buf + off, &e[i], len > sizeof e[i] ? sizeof e[i] : len);
		if (len > sizeof e[i])
			memcpy(buf + off + sizeof e[i], &e[i].rip, len - sizeof e[i]);
		off += len;
	}
	double t = now() - t0;
	if (buf[off / 2] == 0xAB && buf[1] == 0xCD) /* keep the copies */
		fputs("", stderr);
	return t;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 10000000;
	struct ev *e = make_events(n);
	size_t cap = 64u << 20, bytes = 0;
	uint8_t *buf = malloc(cap);
	hvlog_writer *w;
	hvlog_error err;
	double best_enc = 1e9, best_floor = 1e9;

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
		double t0 = now();
		encode(w, e, n);
		double t = now() - t0;
		hvlog_writer_close(w, NULL);
		double f = floor_copy(e, n, buf, cap);
		if (t < best_enc)
			best_enc = t;
		if (f < best_floor)
			best_floor = f;
	}
	printf("encode mix %.2f ns/event (%.2f x memcpy floor %.2f ns/event), best of 5, N=%zu\n",
	       best_enc * 1e9 / (double)n, best_enc / best_floor, best_floor * 1e9 / (double)n, n);
	printf("size mix %.2f bytes/event (%.2f x fixed-width floor %.2f bytes/event)\n", (double)bytes / (double)n,
	       (double)bytes / (16.0 + 8 * 2.8) / (double)n, 16.0 + 8 * 2.8);
	free(e);
	free(buf);
	return 0;
}
