/*
 * bench_encode.c - encode and size figures, each against a fixed-width
 * record copied in the same loop (the floor), measured in the same run.
 *
 * Two workloads: the hypervisor core's mixed trace, loaded into memory and
 * re-encoded through the typed emitters by the generated replay table; and
 * the peers' event mix, generated and encoded by a hand-written switch.
 * Timing is best of N passes, each encode pass followed by its floor pass,
 * so a slow minute of the shared machine hits both.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { ENC_REPS = 5 };

/* ---- the mixed trace, replayed ----------------------------------------- */

struct replay_figs {
	double t_enc, t_floor;  /* best pass, seconds */
	uint64_t events;        /* per timed pass */
	size_t allocs;          /* in the timed loop of the last pass */
	/* From one pass over the events (not repeated): */
	uint64_t size_events;
	size_t bytes;           /* the chunks the writer wrote (file header and metadata left out) */
	size_t floor_bytes;     /* the same events as fixed-width records */
	size_t zbytes;          /* bytes after zstd -3; 0 without libzstd */
};

static hvlog_writer *open_writer(uint32_t nstreams, uint64_t hz, hvlog_sink_fn sink, void *user,
				 hvlog_stream **st)
{
	hvlog_writer_config cfg = { .nstreams = nstreams, .clock_hz = hz };
	hvlog_writer *w;
	hvlog_error err;

	if (hvlog_writer_open_sink(&w, sink, user, &cfg, &err) != HVLOG_OK) {
		fprintf(stderr, "hvlog_bench: writer: %s\n", err.msg);
		exit(1);
	}
	for (uint32_t i = 0; i < nstreams; i++)
		st[i] = hvlog_writer_stream(w, i);
	return w;
}

/* The file header and metadata a writer of this configuration writes
 * before any chunk (the schema, about 13 KB): left out of the sizes,
 * which are of the events (chunk headers included), so that a workload
 * of a few thousand events is not dominated by it. */
static size_t trace_head_bytes(uint32_t nstreams, uint64_t hz)
{
	static hvlog_stream *st[BENCH_MAX_STREAMS];
	size_t bytes = 0;
	hvlog_writer_close(open_writer(nstreams, hz, sink_discard, &bytes, st), NULL);
	return bytes;
}

/* Timing: ev[0..n) replayed `loops` times, each time `span` ticks later
 * than the one before (time never goes back: no TIME record), best of
 * ENC_REPS passes, each followed by its floor pass.  Size: one pass, the
 * bytes kept for zstd; a repeated sequence would flatter zstd. */
static void measure_replay(uint32_t nstreams, uint64_t hz, const uint64_t *vals, const struct wev *ev, size_t n,
			   uint64_t loops, uint64_t span, struct replay_figs *f)
{
	static hvlog_stream *st[BENCH_MAX_STREAMS];
	struct floor_bufs fb;
	struct capture c = { 0 };
	hvlog_writer *w;

	memset(f, 0, sizeof *f);
	f->t_enc = f->t_floor = 1e30;
	f->events = (uint64_t)n * loops;
	floor_init(&fb, nstreams);
	for (int rep = 0; rep < ENC_REPS; rep++) {
		size_t bytes = 0;
		w = open_writer(nstreams, hz, sink_discard, &bytes, st);
		size_t a0 = bench_allocs();
		double t0 = now();
		for (uint64_t k = 0; k < loops; k++)
			replay(st, vals, ev, n, k * span);
		double t = now() - t0;
		f->allocs = bench_allocs() - a0;
		hvlog_writer_close(w, NULL);
		if (t < f->t_enc)
			f->t_enc = t;

		fb.total = 0;
		memset(fb.off, 0, sizeof fb.off);
		t0 = now();
		for (uint64_t k = 0; k < loops; k++)
			floor_record(&fb, vals, ev, n, k * span);
		t = now() - t0;
		if (t < f->t_floor)
			f->t_floor = t;
	}
	floor_free(&fb);

	size_t head = trace_head_bytes(nstreams, hz);
	w = open_writer(nstreams, hz, sink_capture, &c, st);
	replay(st, vals, ev, n, 0);
	hvlog_writer_close(w, NULL);
	f->size_events = n;
	f->bytes = c.len - head;
	f->zbytes = zstd3_size(c.buf + head, c.len - head);
	free(c.buf);
	for (size_t i = 0; i < n; i++)
		f->floor_bytes += 16u + 8u * ev[i].np;
}

static void print_figs(const char *what, const char *wname, const struct replay_figs *f, int allocs_line)
{
	char label[160];
	double ev = (double)f->events;

	snprintf(label, sizeof label, "%s%s%s", wname, *what ? " " : "", what);
	report("encode", label, f->t_enc * 1e9 / ev, "ns/event", f->t_enc / f->t_floor, "floor record copy",
	       f->t_floor * 1e9 / ev);
	if (allocs_line) {
		snprintf(label, sizeof label, "%s allocations while encoding", wname);
		report_count("encode", label, f->allocs, "allocs", f->events, "must be 0");
	}
	ev = (double)f->size_events;
	snprintf(label, sizeof label, "%s", wname);
	report("size", label, (double)f->bytes / ev, "B/event", (double)f->bytes / (double)f->floor_bytes,
	       "fixed record", (double)f->floor_bytes / ev);
	snprintf(label, sizeof label, "%s, zstd -3", wname);
	if (f->zbytes)
		report("size", label, (double)f->zbytes / ev, "B/event", (double)f->zbytes / (double)f->floor_bytes,
		       "fixed record", (double)f->floor_bytes / ev);
	else
		report_skip("size", label, have_zstd() ? "zstd failed" : "libzstd was not found at build time");
}

/* Two threads on two streams of one writer: each replays half of the trace
 * into its own stream, as two VPs of a hypervisor do.  The writer's lock is
 * taken only when a chunk is handed to the (discarding) sink. */
struct half {
	const struct workload *wl;
	const struct wev *ev;
	size_t n;
	hvlog_stream *st[BENCH_MAX_STREAMS]; /* every entry the thread's stream */
	double cpu;                          /* the thread's CPU time for it */
};

static void *encode_half(void *arg)
{
	struct half *h = arg;
	double c0 = thread_cpu();
	replay(h->st, h->wl->vals, h->ev, h->n, 0);
	h->cpu = thread_cpu() - c0;
	return NULL;
}

static void two_threads(const struct workload *wl, const char *wname, int reps)
{
	static struct half h[2];
	hvlog_stream *st[2];
	double one = 1e30, two = 1e30, cpu1 = 1e30, cpu2 = 1e30;
	size_t allocs = 0;
	char label[160];

	for (int rep = 0; rep < reps; rep++) {
		size_t bytes = 0;
		hvlog_writer *w;

		for (int k = 0; k < 2; k++) {
			w = open_writer(2, wl->clock_hz, sink_discard, &bytes, st);
			for (int i = 0; i < 2; i++) {
				h[i].wl = wl;
				h[i].ev = wl->ev + (i ? wl->n / 2 : 0);
				h[i].n = i ? wl->n - wl->n / 2 : wl->n / 2;
				for (int s = 0; s < BENCH_MAX_STREAMS; s++)
					h[i].st[s] = st[i];
			}
			size_t a0 = bench_allocs();
			double t0 = now(), t;
			if (k == 0) { /* one thread: both halves, one after the other */
				encode_half(&h[0]);
				encode_half(&h[1]);
				t = now() - t0;
				if (t < one)
					one = t;
				if (h[0].cpu + h[1].cpu < cpu1)
					cpu1 = h[0].cpu + h[1].cpu;
			} else {
				pthread_t th[2];
				for (int i = 0; i < 2; i++)
					if (pthread_create(&th[i], NULL, encode_half, &h[i]) != 0) {
						fprintf(stderr, "hvlog_bench: pthread_create failed\n");
						exit(1);
					}
				for (int i = 0; i < 2; i++)
					pthread_join(th[i], NULL);
				t = now() - t0;
				if (t < two)
					two = t;
				if (h[0].cpu + h[1].cpu < cpu2)
					cpu2 = h[0].cpu + h[1].cpu;
				allocs = bench_allocs() - a0;
			}
			hvlog_writer_close(w, NULL);
		}
	}
	snprintf(label, sizeof label, "%s 2 threads, 2 streams", wname);
	report("encode", label, (double)wl->n / two / 1e6, "M events/s", one / two, "1 thread",
	       (double)wl->n / one / 1e6);
	/* On a shared machine the two threads rarely get both cores for the
	 * whole pass; their CPU time says whether splitting costs anything
	 * (1.00: none, so 2 free cores would give 2x). */
	snprintf(label, sizeof label, "%s 2 threads, 2 streams, CPU time", wname);
	report("encode", label, cpu2 * 1e9 / (double)wl->n, "ns/event", cpu2 / cpu1, "1 thread",
	       cpu1 * 1e9 / (double)wl->n);
	snprintf(label, sizeof label, "%s 2 threads allocations", wname);
	report_count("encode", label, allocs, "allocs", wl->n, "must be 0");
}

static int by_count_desc(const void *a, const void *b)
{
	const size_t *x = a, *y = b;
	return (x[0] < y[0]) - (x[0] > y[0]);
}

void bench_encode_trace(const struct bench_opts *o, const struct workload *wl, const char *wname)
{
	const hvlog_schema *b = hvlog_schema_builtin();
	struct replay_figs f;
	size_t (*count)[2] = calloc(b->nevents, sizeof *count); /* events, index */
	char label[160], cn[32];
	size_t total_allocs = 0;

	measure_replay(wl->nstreams, wl->clock_hz, wl->vals, wl->ev, wl->n, 1, 0, &f);
	print_figs("typed emitters (replay table)", wname, &f, 1);

	/* Each event type of the trace alone: its events, in trace order,
	 * with their values gathered (as the mix's are, so neither side
	 * waits on scattered memory), replayed until about 1M events (or the
	 * trace's size) for timing.  Types under 0.1 % of the trace (setup
	 * events) are left out. */
	if (!count)
		exit(1);
	for (size_t i = 0; i < b->nevents; i++)
		count[i][1] = i;
	for (size_t i = 0; i < wl->n; i++)
		count[wl->ev[i].idx][0]++;
	qsort(count, b->nevents, sizeof count[0], by_count_desc);
	uint64_t target = wl->n < 1000000 ? wl->n : 1000000, shape_events = 0;
	struct wev *sub = malloc(wl->n * sizeof *sub);
	uint64_t *subvals = malloc(wl->nvals * sizeof *subvals);
	if (!sub || !subvals)
		exit(1);
	for (size_t k = 0; k < b->nevents && count[k][0] > 0 && count[k][0] * 1000 >= wl->n; k++) {
		size_t idx = count[k][1], m = 0, nv = 0;
		for (size_t i = 0; i < wl->n; i++)
			if (wl->ev[i].idx == idx) {
				sub[m] = wl->ev[i];
				sub[m].voff = (uint32_t)nv;
				memcpy(subvals + nv, wl->vals + wl->ev[i].voff, wl->ev[i].np * sizeof *subvals);
				nv += wl->ev[i].np;
				m++;
			}
		uint64_t loops = (target + m - 1) / m;
		uint64_t span = sub[m - 1].ts - sub[0].ts + 1;
		measure_replay(wl->nstreams, wl->clock_hz, subvals, sub, m, loops, span, &f);
		snprintf(label, sizeof label, "%s/%s (%s ev)", wname, b->events[idx].symbol + 6,
			 count_name(m, cn, sizeof cn));
		print_figs("", label, &f, 0);
		total_allocs += f.allocs;
		shape_events += f.events;
	}
	free(sub);
	free(subvals);
	free(count);
	snprintf(label, sizeof label, "%s/each type, allocations while encoding", wname);
	report_count("encode", label, total_allocs, "allocs", shape_events, "must be 0");

	two_threads(wl, wname, o->reps > ENC_REPS ? o->reps : ENC_REPS);
}

/* ---- the peers' event mix ----------------------------------------------- */

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

/* The mix of the peers' benchmark, after its documentation: port writes
 * 30 %, port reads 10 %, MSR reads 14 %, MSR writes 11 %, hypercalls
 * 12 %, HLT 10 %, CPUID 8 %, context switches 5 %; the clock grows by 50
 * to 2000 ticks per event; 4 VPs, 70 % of events stay on the previous VP;
 * RIPs from 6 code pages x 32 sites, half of the hits on 4 hot sites;
 * ports, MSRs, CPUID leaves and hypercall codes from small skewed sets;
 * values that follow the port or MSR (PCI config addresses, a counting
 * PM timer, TSC deadlines, EOI = 0, constant MSRs). */
enum { NPAGES = 6, NSITES = 32 };
enum { PAGE_MSR = 0, PAGE_IO = 2, PAGE_HCALL = 4, PAGE_USER = 5 };
static const uint64_t page_base[NPAGES] = {
	0xfffff8034a2b1000ull, 0xfffff8034a2b2000ull, 0xfffff8034a00a000ull,
	0xfffff80351c43000ull, 0xfffff80340001000ull, 0x00007ff6a1230000ull,
};

/* How a port's or an MSR's value is made. */
enum vrule { V_BYTE, V_WORD, V_CMOS, V_PCI_ADDR, V_PM_TIMER, V_CLOCK, V_CLOCK_FUTURE, V_CLOCK_REF,
	     V_ZERO, V_ICR, V_FS_BASE, V_CONST };
struct valsrc {
	uint32_t id;
	enum vrule rule;
	uint64_t k;           /* V_CONST: the value */
};

static const struct valsrc port_w[] = {
	{ 0x3f8, V_BYTE, 0 }, { 0xcf8, V_PCI_ADDR, 0 }, { 0xcfc, V_BYTE, 0 }, { 0x70, V_CMOS, 0 },
	{ 0x71, V_BYTE, 0 },  { 0x3fd, V_BYTE, 0 },     { 0x60, V_BYTE, 0 },  { 0x64, V_BYTE, 0 },
	{ 0x80, V_BYTE, 0 },  { 0x1f0, V_BYTE, 0 },     { 0x1f7, V_BYTE, 0 }, { 0x402, V_BYTE, 0 },
	{ 0xb008, V_BYTE, 0 }, { 0x5658, V_BYTE, 0 },   { 0xc000, V_BYTE, 0 }, { 0xc004, V_BYTE, 0 },
};
static const struct valsrc port_r[] = {
	{ 0x3f8, V_BYTE, 0 }, { 0xcf8, V_BYTE, 0 },       { 0xcfc, V_WORD, 0 }, { 0x70, V_BYTE, 0 },
	{ 0x71, V_BYTE, 0 },  { 0x3fd, V_BYTE, 0 },       { 0x60, V_BYTE, 0 },  { 0x64, V_BYTE, 0 },
	{ 0x80, V_BYTE, 0 },  { 0x1f0, V_BYTE, 0 },       { 0x1f7, V_BYTE, 0 }, { 0x402, V_BYTE, 0 },
	{ 0xb008, V_PM_TIMER, 0 }, { 0x5658, V_BYTE, 0 }, { 0xc000, V_BYTE, 0 }, { 0xc004, V_BYTE, 0 },
};
static const struct valsrc msr_r[] = {
	{ 0x10, V_CLOCK, 0 },           { 0x1b, V_CONST, 0xfee00900 }, { 0x40000020, V_CLOCK_REF, 0 },
	{ 0xc0000080, V_CONST, 0xd01 }, { 0x6e0, V_CLOCK_FUTURE, 0 },  { 0x17, V_CONST, 0x600000005ull },
	{ 0x3a, V_CONST, 0x700000005ull }, { 0x40000001, V_CONST, 0x800000005ull },
};
static const struct valsrc msr_w[] = {
	{ 0x6e0, V_CLOCK_FUTURE, 0 },  { 0x830, V_ICR, 0 },           { 0x80b, V_ZERO, 0 },
	{ 0xc0000100, V_FS_BASE, 0 },  { 0x40000070, V_CONST, 0x5000000 }, { 0xc0000102, V_CONST, 0x6000000 },
	{ 0x40000001, V_CONST, 0x7000000 }, { 0x1b, V_CONST, 0x8000000 },
};
static const uint32_t cpuid_leaf[8] = { 0x1, 0x40000001, 0x40000003, 0x7, 0xb, 0x0, 0x80000001, 0xd };
static const uint16_t hcall_code[8] = { 0x02, 0x03, 0x08, 0x5c, 0x5d, 0x13, 0x14, 0x4e };

struct gen {
	uint64_t rng, ts;
	uint16_t site[NPAGES][NSITES];
	unsigned vp;
	uint32_t pm_timer;
	uint64_t partition[4];
};

/* Skewed pick of n (a power of two >= 8): half of the picks go to the
 * first n/8 entries. */
static unsigned skew(struct gen *g, unsigned n)
{
	uint64_t x = rng_next(&g->rng);
	return (x & 1) ? (unsigned)((x >> 1) % (n / 8)) : (unsigned)((x >> 1) % n);
}

static uint64_t rip(struct gen *g, unsigned page)
{
	return page_base[page] + g->site[page][skew(g, NSITES)];
}

static uint64_t value(struct gen *g, const struct valsrc *v)
{
	uint64_t x = rng_next(&g->rng);

	switch (v->rule) {
	case V_BYTE: return x & 0xff;
	case V_WORD: return x & 0xffffffffu;
	case V_CMOS: return x & 0x7f;
	case V_PCI_ADDR: return 0x80000000u | (x & 0xff) << 8 | (x >> 16 & 0xfc);
	case V_PM_TIMER: return (g->pm_timer += (uint32_t)(x & 0xfff)) & 0xffffff;
	case V_CLOCK: return g->ts + 0x1000;
	case V_CLOCK_FUTURE: return g->ts + 20000 + (x & 0xfffff);
	case V_CLOCK_REF: return g->ts / 250;
	case V_ZERO: return 0;
	case V_ICR: return (x % 4) << 32 | 0xfd;
	case V_FS_BASE: return 0xc2d5e00000ull + ((x & 0xff) << 12);
	case V_CONST: return v->k;
	}
	return 0;
}

static struct ev *make_events(size_t n)
{
	struct ev *e = malloc(n * sizeof *e);
	struct gen g = { .rng = 42, .ts = 0x123456789abcull, .pm_timer = 0x123456, .partition = { 1, 2, 3, 4 } };

	if (!e)
		return NULL;
	for (unsigned p = 0; p < NPAGES; p++)
		for (unsigned s = 0; s < NSITES; s++)
			g.site[p][s] = (uint16_t)(rng_next(&g.rng) & 0xfff);
	for (size_t i = 0; i < n; i++) {
		uint64_t x = rng_next(&g.rng);
		unsigned k = (unsigned)(x % 1000), j;
		struct ev *v = &e[i];

		g.ts += 50 + (x >> 16) % 1951;
		if ((x >> 32) % 10 >= 7)
			g.vp = (unsigned)(x >> 40) % 4;
		*v = (struct ev){ .ts = g.ts, .vp = (uint8_t)g.vp };
		if (k < 300) {
			j = skew(&g, 16);
			*v = (struct ev){ g.ts, rip(&g, PAGE_IO + (x >> 48 & 1)), port_w[j].id, value(&g, &port_w[j]), 0, v->vp };
		} else if (k < 400) {
			j = skew(&g, 16);
			*v = (struct ev){ g.ts, rip(&g, PAGE_IO + (x >> 48 & 1)), port_r[j].id, value(&g, &port_r[j]), 1, v->vp };
		} else if (k < 540) {
			j = skew(&g, 8);
			*v = (struct ev){ g.ts, rip(&g, PAGE_MSR + (x >> 48 & 1)), msr_r[j].id, value(&g, &msr_r[j]), 2, v->vp };
		} else if (k < 650) {
			j = skew(&g, 8);
			*v = (struct ev){ g.ts, rip(&g, PAGE_MSR + (x >> 48 & 1)), msr_w[j].id, value(&g, &msr_w[j]), 3, v->vp };
		} else if (k < 770) {
			j = skew(&g, 8);
			*v = (struct ev){ g.ts, page_base[PAGE_HCALL] + (x >> 48 & 1) * 0x10,
					  hcall_code[j] | (x >> 49 & 1) << 16 | (j == 1 ? (1 + (x >> 52 & 15)) << 32 : 0),
					  0, 4, v->vp };
		} else if (k < 870) {
			*v = (struct ev){ g.ts, page_base[PAGE_IO] + g.site[PAGE_IO][x >> 48 & 1], 0, 0, 5, v->vp };
		} else if (k < 950) {
			j = skew(&g, 8);
			*v = (struct ev){ g.ts, rip(&g, PAGE_USER), cpuid_leaf[j],
					  (cpuid_leaf[j] == 7 || cpuid_leaf[j] == 0xb || cpuid_leaf[j] == 0xd) ? x >> 48 & 1 : 0,
					  6, v->vp };
		} else {
			if ((x >> 50 & 7) == 0) /* now and then a VP runs another partition */
				g.partition[g.vp] = 1 + (x >> 53) % 4;
			uint64_t part = g.partition[g.vp];
			/* rip carries the thread id for the fixed-width floor */
			*v = (struct ev){ g.ts, 0x1000 + 4 * (x >> 56 & 15) + 0x100 * part, part,
					  0xffffff3a12345678ull - 0x100000000ull * part, 7, v->vp };
		}
	}
	return e;
}

static const char *const peer_names[8] = {
	"IM_IO_PORT_WRITE", "IM_IO_PORT_READ",	    "IM_MSR_READ",	    "IM_MSR_WRITE",
	"HC_HYPERCALL",	    "IM_HLT_INSTRUCTION", "IM_CPUID_INSTRUCTION", "SCH_CONTEXT_SWITCH",
};

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
		default: hvlog_emit_sch_context_switch(st, x->ts, x->a, (uint32_t)x->rip, x->b); break;
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
		memcpy(b + off, &r, REC(np));                                          \
		off += REC(np);                                                        \
	} while (0)

/* The floor: the same dispatch as encode(), each event copied as a
 * fixed-width record (memcpy of a constant size) into its VP's chunk-sized
 * buffer, handed on (counted) when full: the memory the encoder writes. */
static double floor_copy(const struct ev *e, size_t n, struct floor_bufs *fb)
{
	double t0 = now();

	fb->total = 0;
	memset(fb->off, 0, sizeof fb->off);
	for (size_t i = 0; i < n; i++) {
		const struct ev *x = &e[i];
		uint8_t *b = fb->mem + (size_t)x->vp * BENCH_CHUNK;
		size_t off = fb->off[x->vp];
		if (off + sizeof(struct rec) > BENCH_CHUNK) {
			fb->total += off;
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
		default: PUT(3, 0xb0, x->a, x->rip, x->b); break;
		}
		fb->off[x->vp] = off;
	}
	return now() - t0;
}

static void measure_peers(const struct ev *e, size_t n, struct replay_figs *f)
{
	hvlog_writer_config cfg = { .nstreams = 4, .clock_hz = 2000000000u };
	struct floor_bufs fb;
	hvlog_writer *w;
	hvlog_error err;

	memset(f, 0, sizeof *f);
	f->t_enc = f->t_floor = 1e30;
	f->events = n;
	floor_init(&fb, 4);
	for (int rep = 0; rep < ENC_REPS; rep++) {
		size_t bytes = 0;
		if (hvlog_writer_open_sink(&w, sink_discard, &bytes, &cfg, &err) != HVLOG_OK) {
			fprintf(stderr, "hvlog_bench: writer: %s\n", err.msg);
			exit(1);
		}
		size_t a0 = bench_allocs();
		double t0 = now();
		encode(w, e, n);
		double t = now() - t0;
		f->allocs = bench_allocs() - a0;
		hvlog_writer_close(w, NULL);
		double fl = floor_copy(e, n, &fb);
		if (t < f->t_enc)
			f->t_enc = t;
		if (fl < f->t_floor)
			f->t_floor = fl;
	}
	f->size_events = n;
	f->floor_bytes = floor_bytes(&fb);
	floor_free(&fb);

	struct capture c = { 0 };
	size_t head = trace_head_bytes(cfg.nstreams, cfg.clock_hz);
	if (hvlog_writer_open_sink(&w, sink_capture, &c, &cfg, &err) != HVLOG_OK)
		exit(1);
	encode(w, e, n);
	hvlog_writer_close(w, NULL);
	f->bytes = c.len - head;
	f->zbytes = zstd3_size(c.buf + head, c.len - head);
	free(c.buf);
}

void bench_encode_peers(uint64_t n)
{
	struct ev *e = make_events(n), *sub;
	struct replay_figs f;
	char wname[64], label[160], cn[32];
	size_t total_allocs = 0;

	if (!e || !(sub = malloc(n * sizeof *sub))) {
		fprintf(stderr, "hvlog_bench: out of memory\n");
		exit(1);
	}
	snprintf(wname, sizeof wname, "peers-%s", count_name(n, cn, sizeof cn));
	measure_peers(e, n, &f);
	print_figs("typed emitters (switch)", wname, &f, 1);
	/* Each type of the mix alone: its events of the mix, in order (5 %
	 * of N and up). */
	for (unsigned t = 0; t < 8; t++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (e[i].type == t)
				sub[m++] = e[i];
		if (!m)
			continue;
		measure_peers(sub, m, &f);
		snprintf(label, sizeof label, "%s/%s (%s ev)", wname, peer_names[t], count_name(m, cn, sizeof cn));
		print_figs("", label, &f, 0);
		total_allocs += f.allocs;
	}
	snprintf(label, sizeof label, "%s/each type, allocations while encoding", wname);
	report_count("encode", label, total_allocs, "allocs", n, "must be 0");
	free(sub);
	free(e);
}
