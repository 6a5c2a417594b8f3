/*
 * tracegen - deterministic traces for the golden tests and quick checks.
 *
 *   tracegen all OUT      every event of the schema on 2 streams, a lost-
 *                         events record, several chunks (small chunk size)
 *   tracegen mix N OUT    N events of a mixed workload over 4 streams
 *   tracegen idle S N OUT N events on the first of S streams; the others
 *                         only get the empty final chunk the writer closes
 *                         every stream with
 *
 * Same arguments, same bytes: the golden files in testdata/ come from here
 * (testdata/README.md says how to regenerate them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int fail(const char *what, const hvlog_error *err)
{
	fprintf(stderr, "tracegen: %s: %s\n", what, err->msg);
	return 1;
}

/* Every event once per stream with values that vary by event and stream;
 * the first stream also reports 3 lost events. */
static int gen_all(const char *out)
{
	static const hvlog_stream_info info[] = { { "vp0", 1, 0 }, { "vp1", 1, 1 } };
	hvlog_writer_config cfg = { .nstreams = 2, .streams = info, .chunk_size = 512,
				    .clock_hz = 2000000000u, .clock_name = "tsc", .producer = "tracegen" };
	const hvlog_schema *s = hvlog_schema_builtin();
	hvlog_writer *w;
	hvlog_error err;
	uint64_t ts = 1000000;

	if (hvlog_writer_open_path(&w, out, &cfg, &err) != HVLOG_OK)
		return fail(out, &err);
	for (uint32_t i = 0; i < s->nevents; i++) {
		for (uint32_t st = 0; st < 2; st++) {
			const hvlog_event *e = &s->events[i];
			uint64_t p[HVLOG_MAX_PARAMS];
			for (uint32_t k = 0; k < e->nparams; k++) {
				const hvlog_param *pp = &e->params[k];
				if (pp->values)
					p[k] = pp->values->values[(i + st + k) % pp->values->nvalues].value;
				else if (pp->type == HVLOG_TYPE_U64 && pp->display == HVLOG_DISPLAY_HEX)
					p[k] = 0xfffff80000001000ull + 0x10 * i + st;
				else
					p[k] = (i * 7 + k + st) & hvlog_type_max(pp->type);
			}
			hvlog_emit(hvlog_writer_stream(w, st), ts, e, p);
			ts += 1500 + 13 * i;
		}
		if (i == 10) {
			hvlog_stream_note_lost(hvlog_writer_stream(w, 0), 3, ts - 900, ts - 100);
			hvlog_stream_flush(hvlog_writer_stream(w, 0));
		}
	}
	/* extremes: zero and all ones at full width */
	hvlog_emit_im_msr_write(hvlog_writer_stream(w, 1), ts, 0, 0, 0);
	hvlog_emit_im_msr_write(hvlog_writer_stream(w, 1), ts + 1, UINT64_MAX, UINT32_MAX, UINT64_MAX);
	hvlog_emit_ke_overrun(hvlog_writer_stream(w, 1), ts + 2, UINT64_MAX, UINT32_MAX, 1, UINT32_MAX);
	if (hvlog_writer_close(w, &err) != HVLOG_OK)
		return fail(out, &err);
	return 0;
}

/* A mixed workload: port I/O, MSRs, hypercalls, HLT, CPUID, context
 * switches, in proportions like a busy guest's.  back: events 300 to 302
 * of stream 2 are stamped 1.5 ms earlier, so that stream's time goes back
 * (a BACKWARDS chunk). */
static int gen_mix(uint64_t n, const char *out, int back)
{
	static const hvlog_stream_info info[] = {
		{ "vp0", 1, 0 }, { "vp1", 1, 1 }, { "vp2", 2, 0 }, { "vp3", 2, 1 } };
	static const uint16_t ports[] = { 0x3f8, 0xcf8, 0xcfc, 0x70, 0x71, 0x3fd, 0x60, 0x64 };
	static const uint32_t msrs[] = { 0x10, 0x1b, 0x40000020, 0xc0000080, 0x6e0, 0x830, 0x80b };
	hvlog_writer_config cfg = { .nstreams = 4, .streams = info, .clock_hz = 2000000000u,
				    .clock_name = "tsc", .producer = "tracegen" };
	hvlog_writer *w;
	hvlog_error err;
	uint64_t rng = 42, ts = 0x123456789abcull, n2 = 0;
	uint64_t rip[4] = { 0xfffff8034a00a100ull, 0xfffff8034a00a100ull, 0xfffff80351c43200ull,
			    0xfffff80351c43200ull };

	if (hvlog_writer_open_path(&w, out, &cfg, &err) != HVLOG_OK)
		return fail(out, &err);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = rng_next(&rng);
		unsigned k = (unsigned)(r % 100), vp = (unsigned)((r >> 8) & 3);
		hvlog_stream *s = hvlog_writer_stream(w, vp);
		uint64_t site = rip[vp] + ((r >> 12) & 0x3f) * 4;

		ts += 50 + ((r >> 20) % 1950);
		uint64_t t = ts;
		if (back && vp == 2 && ++n2 >= 300 && n2 <= 302)
			t -= 3000000;
		if (k < 40)
			hvlog_emit_im_io_port_write(s, t, site, ports[(r >> 32) % 8], (uint32_t)(r >> 40) & 0xff);
		else if (k < 50)
			hvlog_emit_im_io_port_read(s, t, site, ports[(r >> 32) % 8], (uint32_t)(r >> 40) & 0xff);
		else if (k < 65)
			hvlog_emit_im_msr_read(s, t, site, msrs[(r >> 32) % 7], t >> 4);
		else if (k < 75)
			hvlog_emit_im_msr_write(s, t, site, msrs[(r >> 32) % 7], (r >> 40) & 0xffff);
		else if (k < 85)
			hvlog_emit_hc_hypercall(s, t, 0xfffff80340001000ull, 0x5c | ((r >> 32) & 0x10000));
		else if (k < 92)
			hvlog_emit_im_hlt_instruction(s, t, site);
		else if (k < 97)
			hvlog_emit_im_cpuid_instruction(s, t, site, (uint32_t)(r >> 32) & 0xd, 0);
		else
			hvlog_emit_sch_context_switch(s, t, 1 + (vp >> 1), 0x1000 + vp, 0xffffff3a12345678ull);
	}
	if (hvlog_writer_close(w, &err) != HVLOG_OK)
		return fail(out, &err);
	return 0;
}

static int gen_idle(uint32_t nstreams, uint64_t n, const char *out)
{
	hvlog_writer_config cfg = { .nstreams = nstreams };
	hvlog_writer *w;
	hvlog_error err;

	if (hvlog_writer_open_path(&w, out, &cfg, &err) != HVLOG_OK)
		return fail(out, &err);
	for (uint64_t i = 0; i < n; i++)
		hvlog_emit_im_msr_read(hvlog_writer_stream(w, 0), 1000 + i, 0x1000, 0x10, i);
	if (hvlog_writer_close(w, &err) != HVLOG_OK)
		return fail(out, &err);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "all"))
		return gen_all(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "mix"))
		return gen_mix(strtoull(argv[2], NULL, 0), argv[3], 0);
	if (argc == 4 && !strcmp(argv[1], "mix-back"))
		return gen_mix(strtoull(argv[2], NULL, 0), argv[3], 1);
	if (argc == 5 && !strcmp(argv[1], "idle"))
		return gen_idle((uint32_t)strtoul(argv[2], NULL, 0), strtoull(argv[3], NULL, 0), argv[4]);
	fprintf(stderr, "usage: tracegen all OUT | tracegen mix|mix-back N OUT | tracegen idle S N OUT\n");
	return 2;
}
