/*
 * test_roundtrip.c - write traces with the writer, read them back with the
 * reader, and compare exactly: events of every type over many streams and
 * chunks, extreme values, the typed emitters, timestamps going backwards,
 * group masks, concurrent producers, the three sinks, pipes, lost events
 * and failing sinks.
 *
 * The reader's order (reader.h, reader.c hvlog_reader_next): global
 * timestamp order; ties go to the lower stream id, then file order within
 * a stream.  tu_events_sort_reader_order() builds the expected list that way.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvlog/hvlog.h"
#include "testutil.h"
#include "wire.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------- */

static char dir[PATH_MAX];

static void setup(void)
{
	tu_mkdtemp(dir, sizeof dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
}

static void file_in_dir(char *out, const char *name)
{
	tu_path(out, PATH_MAX, dir, name);
}

static hvlog_writer *open_writer(const char *path, const hvlog_writer_config *cfg)
{
	hvlog_writer *w = NULL;
	hvlog_error err = { 0 };
	hvlog_status st = hvlog_writer_open_path(&w, path, cfg, &err);

	ck_assert_msg(st == HVLOG_OK, "hvlog_writer_open_path(%s): %s: %s", path, hvlog_status_str(st), err.msg);
	ck_assert_ptr_nonnull(w);
	return w;
}

static void close_writer(hvlog_writer *w)
{
	hvlog_error err = { 0 };
	hvlog_status st = hvlog_writer_close(w, &err);

	ck_assert_msg(st == HVLOG_OK, "hvlog_writer_close: %s: %s", hvlog_status_str(st), err.msg);
}

static const hvlog_event *event(uint32_t number)
{
	const hvlog_event *ev = hvlog_schema_find_event(hvlog_schema_builtin(), number);

	ck_assert_msg(ev != NULL, "no event 0x%X in the built-in schema", number);
	return ev;
}

/* The events of `all` that belong to stream s (in order). */
static void events_of_stream(const tu_events *all, uint32_t s, tu_events *out)
{
	*out = (tu_events){ 0 };
	for (size_t i = 0; i < all->n; i++)
		if (all->v[i].stream == s)
			tu_events_push(out, &all->v[i]);
}

static void assert_no_damage(const char *what, const tu_trace *t)
{
	ck_assert_msg(t->ndmg == 0, "%s: %zu damage items: %s", what, t->ndmg, tu_damage_summary(t));
	ck_assert_msg(t->stats.damaged_regions == 0 && t->stats.damaged_bytes == 0,
		      "%s: stats report %" PRIu64 " damaged regions, %" PRIu64 " bytes", what,
		      t->stats.damaged_regions, t->stats.damaged_bytes);
}

/* Deep comparison of the schema embedded in a file with the built-in one. */
static void assert_schema_equal(const hvlog_schema *a, const hvlog_schema *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_uint_eq(a->version, b->version);
	ck_assert_uint_eq(a->ngroups, b->ngroups);
	ck_assert_uint_eq(a->nevents, b->nevents);
	ck_assert_uint_eq(a->nvaltabs, b->nvaltabs);
	ck_assert_uint_eq(a->nslots, b->nslots);
	for (uint32_t i = 0; i < a->ngroups; i++) {
		ck_assert_str_eq(a->groups[i].alias, b->groups[i].alias);
		ck_assert_str_eq(a->groups[i].name, b->groups[i].name);
		ck_assert_uint_eq(a->groups[i].mask, b->groups[i].mask);
	}
	for (uint32_t i = 0; i < a->nvaltabs; i++) {
		ck_assert_str_eq(a->valtabs[i].alias, b->valtabs[i].alias);
		ck_assert_uint_eq(a->valtabs[i].nvalues, b->valtabs[i].nvalues);
		for (uint32_t j = 0; j < a->valtabs[i].nvalues; j++) {
			ck_assert_uint_eq(a->valtabs[i].values[j].value, b->valtabs[i].values[j].value);
			ck_assert_str_eq(a->valtabs[i].values[j].name, b->valtabs[i].values[j].name);
		}
	}
	for (uint32_t i = 0; i < a->nevents; i++) {
		const hvlog_event *x = &a->events[i], *y = &b->events[i];
		ck_assert_uint_eq(x->number, y->number);
		ck_assert_str_eq(x->symbol, y->symbol);
		ck_assert_str_eq(x->description, y->description);
		ck_assert_uint_eq(x->group, y->group);
		ck_assert_uint_eq(x->nparams, y->nparams);
		ck_assert_uint_eq(x->slot, y->slot);
		for (uint32_t k = 0; k < x->nparams; k++) {
			const hvlog_param *p = &x->params[k], *q = &y->params[k];
			ck_assert_str_eq(p->key, q->key);
			ck_assert_str_eq(p->name, q->name);
			ck_assert_msg(p->type == q->type && p->display == q->display && p->coding == q->coding,
				      "%s.%s: type/display/coding differ", x->symbol, p->name);
			ck_assert_msg((p->values == NULL) == (q->values == NULL) &&
					      (!p->values || !strcmp(p->values->alias, q->values->alias)),
				      "%s.%s: value tables differ", x->symbol, p->name);
		}
	}
}

/* ---- (a) random events of every type, many streams, many chunks ---------- */

static const uint32_t small_chunks[] = { HVLOG_CHUNK_MIN, 4096 };

START_TEST(test_random_every_type)
{
	enum { NSTREAMS = 7, NEVENTS = 40000 };
	static const hvlog_stream_info info[NSTREAMS] = {
		{ "vp0", 1, 0 }, { "vp1", 1, 1 }, { NULL, 0, UINT32_MAX }, { "vp0", 2, 0 },
		{ "a-rather-long-stream-name-of-fifty-characters-xxxx", 3, 7 }, { "root", 0, UINT32_MAX },
		{ "vp9", UINT64_MAX, 9 },
	};
	hvlog_writer_config cfg = { .nstreams = NSTREAMS, .streams = info, .chunk_size = small_chunks[_i],
				    .clock_hz = 2500000000u, .clock_name = "tsc", .clock_epoch_ns = -12345,
				    .producer = "test_roundtrip" };
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_rng rng = { 1000 + (uint64_t)_i };
	uint64_t ts = 1ull << 40, nindexed = 0;
	tu_chunk *chunks;
	size_t nchunks, len;
	uint8_t *buf;
	hvlog_reader *r;
	hvlog_error err;
	tu_trace t;

	file_in_dir(path, "random.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	tu_emit_random(w, NSTREAMS, NEVENTS, &rng, &ts, &want);
	close_writer(w);

	buf = tu_load(path, &len);
	nchunks = tu_chunks(buf, len, &chunks);
	ck_assert_msg(nchunks > 100, "only %zu chunks with chunk size %u", nchunks, cfg.chunk_size);
	for (size_t i = 0; i < nchunks; i++)
		nindexed += chunks[i].nevents != 0;

	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	{
		const hvlog_meta *m = hvlog_reader_meta(r);
		ck_assert_uint_eq(m->version_major, HVLOG_FORMAT_MAJOR);
		ck_assert_uint_eq(m->version_minor, HVLOG_FORMAT_MINOR);
		ck_assert_str_eq(m->producer, "test_roundtrip");
		ck_assert_str_eq(m->clock_name, "tsc");
		ck_assert_uint_eq(m->clock_hz, 2500000000u);
		ck_assert_int_eq(m->clock_epoch_ns, -12345);
		ck_assert_uint_eq(m->nstreams, NSTREAMS);
		ck_assert_uint_eq(m->data_offset, tu_data_offset(buf, len));
		for (uint32_t s = 0; s < NSTREAMS; s++) {
			char name[32];
			snprintf(name, sizeof name, "stream%u", s);
			ck_assert_str_eq(m->streams[s].name, info[s].name ? info[s].name : name);
			ck_assert_uint_eq(m->streams[s].partition_id, info[s].partition_id);
			ck_assert_uint_eq(m->streams[s].vp_index, info[s].vp_index);
		}
		assert_schema_equal(m->schema, hvlog_schema_builtin());
	}
	tu_read_reader(r, &t, 0);
	hvlog_reader_close(r);
	ck_assert_int_eq(t.end, HVLOG_END);

	tu_events_sort_reader_order(&want);
	tu_assert_events_equal("random events", &want, &t.ev);
	assert_no_damage("random events", &t);
	ck_assert_uint_eq(t.nlost, 0);
	ck_assert_uint_eq(t.nitems, NEVENTS);
	ck_assert_uint_eq(t.stats.events, NEVENTS);
	ck_assert_uint_eq(t.stats.lost_events, 0);
	ck_assert_msg(t.stats.chunks == nchunks, "stats.chunks %" PRIu64 ", file has %zu", t.stats.chunks, nchunks);
	ck_assert_msg(t.stats.chunks_indexed == nindexed, "stats.chunks_indexed %" PRIu64 ", expected %" PRIu64,
		      t.stats.chunks_indexed, nindexed);
	ck_assert_uint_eq(t.stats.file_size, len);
	ck_assert_uint_eq(t.stats.first_ts, want.v[0].ts);
	ck_assert_uint_eq(t.stats.last_ts, want.v[want.n - 1].ts);
	/* every record offset lies inside a chunk payload of its stream */
	for (size_t i = 0; i < t.ev.n; i += 97) {
		long c = tu_chunk_at(chunks, nchunks, t.ev.v[i].offset);
		TU_CHECK(c >= 0 && t.ev.v[i].offset >= chunks[c].off + HVLOG_CHUNK_HEADER_SIZE &&
				      chunks[c].stream == t.ev.v[i].stream,
			      "event #%zu: offset %" PRIu64 " is not in a payload of stream %u", i, t.ev.v[i].offset,
			      t.ev.v[i].stream);
	}
	free(chunks);
	free(buf);
	tu_trace_free(&t);
	tu_events_free(&want);
}
END_TEST

/* Ties: equal timestamps come out lower stream first even when the higher
 * stream's chunk comes first in the file; within a stream, file order. */
START_TEST(test_tie_order)
{
	hvlog_writer_config cfg = { .nstreams = 3 };
	char path[PATH_MAX];
	tu_events want = { 0 };
	const hvlog_event *hlt = event(0x25);
	tu_trace t;

	file_in_dir(path, "ties.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	for (uint32_t s = 3; s-- > 0;) {
		for (uint64_t k = 0; k < 3; k++) {
			tu_event e = { .stream = s, .ts = 500, .v = { 0x1000 * s + k } };
			tu_emit(hvlog_writer_stream(w, s), hlt, &e, &want);
		}
		ck_assert_int_eq(hvlog_stream_flush(hvlog_writer_stream(w, s)), HVLOG_OK);
	}
	close_writer(w);
	tu_read_path(path, 0, &t);
	tu_events_sort_reader_order(&want);
	ck_assert_uint_eq(want.v[0].stream, 0); /* the sort put stream 0 first */
	tu_assert_events_equal("equal timestamps", &want, &t.ev);
	tu_trace_free(&t);
	tu_events_free(&want);
}
END_TEST

/* ---- (b) extreme values --------------------------------------------------- */

/* The encoder's varint at every length boundary: its size is the one
 * FORMAT.md gives (n bytes for up to 7n bits, n <= 8, else 9), and the
 * decoder reads back the value and the size. */
START_TEST(test_varint_every_length)
{
	for (unsigned b = 0; b <= 64; b++) {
		uint64_t base = b == 64 ? 0 : 1ull << b;
		uint64_t vs[4] = { base - 1, base, base + 1, base ? base | (base - 1) : UINT64_MAX };
		for (unsigned k = 0; k < 4; k++) {
			uint8_t buf[32] = { 0 };
			uint64_t v = vs[k], got = ~v;
			unsigned bits = 0;
			while (bits < 64 && (v >> bits))
				bits++;
			size_t want = bits <= 7 ? 1 : bits <= 56 ? (bits + 6) / 7 : 9;
			size_t n = (size_t)(hvlog__put_varint(buf, v) - buf);
			ck_assert_msg(n == want, "value %#" PRIx64 ": %zu bytes, want %zu", v, n, want);
			ck_assert_uint_eq((size_t)(wire_get_varint(buf, &got) - buf), want);
			ck_assert_uint_eq(got, v);
		}
	}
}
END_TEST

START_TEST(test_extreme_values)
{
	const hvlog_schema *sch = hvlog_schema_builtin();
	hvlog_writer_config cfg = { .nstreams = 2, .chunk_size = HVLOG_CHUNK_MIN };
	char path[PATH_MAX];
	tu_events want = { 0 };
	uint64_t ts = 0;
	tu_trace t;

	file_in_dir(path, "extreme.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	hvlog_stream *s0 = hvlog_writer_stream(w, 0), *s1 = hvlog_writer_stream(w, 1);
	for (int round = 0; round < 12; round++) {
		for (uint32_t i = 0; i < sch->nevents; i++) {
			const hvlog_event *ev = &sch->events[i];
			tu_event e = { .stream = 0, .ts = ts++ };
			uint64_t raw[HVLOG_MAX_PARAMS];
			for (uint32_t k = 0; k < ev->nparams; k++) {
				const hvlog_param *p = &ev->params[k];
				uint64_t max = hvlog_type_max(p->type);
				switch (round % 4) {
				case 0: raw[k] = 0; break;
				case 1: raw[k] = max; break;
				/* DELTA: UINT64_MAX alternating with 0, the largest steps */
				case 2: raw[k] = p->coding == HVLOG_CODING_DELTA ? UINT64_MAX : max; break;
				default: raw[k] = p->coding == HVLOG_CODING_DELTA ? 0 : 1; break;
				}
				if (round >= 8) /* out-of-range input is masked to the type */
					raw[k] = round % 2 ? UINT64_MAX : max + 1 + (max != UINT64_MAX);
				e.v[k] = p->type == HVLOG_TYPE_BOOL ? raw[k] != 0 : raw[k] & max;
			}
			TU_CHECK(hvlog_emit(s0, e.ts, ev, raw) == HVLOG_OK, "hvlog_emit(%s) failed", ev->symbol);
			e.number = ev->number;
			e.nparams = ev->nparams;
			e.seq = want.n;
			tu_events_push(&want, &e);
		}
	}
	/* timestamps: the largest step from 0 to UINT64_MAX, and repeats of it */
	static const uint64_t big_ts[] = { 0, UINT64_MAX, UINT64_MAX, UINT64_MAX };
	for (size_t i = 0; i < NELEMS(big_ts); i++) {
		tu_event e = { .stream = 1, .ts = big_ts[i], .v = { i % 2 ? UINT64_MAX : 0 } };
		tu_emit(s1, event(0x25), &e, &want);
	}
	close_writer(w);
	tu_read_path(path, 0, &t);
	tu_events_sort_reader_order(&want);
	tu_assert_events_equal("extreme values", &want, &t.ev);
	assert_no_damage("extreme values", &t);
	ck_assert_uint_eq(t.stats.last_ts, UINT64_MAX);
	ck_assert_uint_eq(t.stats.first_ts, 0);
	tu_trace_free(&t);
	tu_events_free(&want);
}
END_TEST

/* ---- (c) the typed emitters of hvlog/events.h ------------------------------ */

/* Call the typed emitter of event `number` with v[] (values narrowed by the
 * emitter's own parameter types, as a caller's would be). */
static hvlog_status emit_typed(hvlog_stream *s, uint64_t ts, uint32_t number, const uint64_t *v)
{
	switch (number) {
	case HVLOG_EV_HC_HYPERCALL:
		return hvlog_emit_hc_hypercall(s, ts, v[0], v[1]);
	case HVLOG_EV_IM_GUEST_EXCEPTION:
		return hvlog_emit_im_guest_exception(s, ts, v[0], (uint8_t)v[1]);
	case HVLOG_EV_IM_MSR_READ:
		return hvlog_emit_im_msr_read(s, ts, v[0], (uint32_t)v[1], v[2]);
	case HVLOG_EV_IM_MSR_WRITE:
		return hvlog_emit_im_msr_write(s, ts, v[0], (uint32_t)v[1], v[2]);
	case HVLOG_EV_IM_CR_READ:
		return hvlog_emit_im_cr_read(s, ts, v[0], (uint8_t)v[1], v[2]);
	case HVLOG_EV_IM_CR_WRITE:
		return hvlog_emit_im_cr_write(s, ts, v[0], (uint8_t)v[1], v[2]);
	case HVLOG_EV_IM_HLT_INSTRUCTION:
		return hvlog_emit_im_hlt_instruction(s, ts, v[0]);
	case HVLOG_EV_IM_MWAIT_INSTRUCTION:
		return hvlog_emit_im_mwait_instruction(s, ts, v[0], (uint32_t)v[1], (uint32_t)v[2]);
	case HVLOG_EV_IM_CPUID_INSTRUCTION:
		return hvlog_emit_im_cpuid_instruction(s, ts, v[0], (uint32_t)v[1], (uint32_t)v[2]);
	case HVLOG_EV_IM_IO_PORT_READ:
		return hvlog_emit_im_io_port_read(s, ts, v[0], (uint16_t)v[1], (uint32_t)v[2]);
	case HVLOG_EV_IM_IO_PORT_WRITE:
		return hvlog_emit_im_io_port_write(s, ts, v[0], (uint16_t)v[1], (uint32_t)v[2]);
	case HVLOG_EV_IM_EXTERNAL_INTERRUPT:
		return hvlog_emit_im_external_interrupt(s, ts, (uint8_t)v[0]);
	case HVLOG_EV_IM_INTERRUPT_PENDING:
		return hvlog_emit_im_interrupt_pending(s, ts, v[0]);
	case HVLOG_EV_IM_GUEST_SHUTDOWN:
		return hvlog_emit_im_guest_shutdown(s, ts, v[0]);
	case HVLOG_EV_IM_EMULATED_INSTRUCTION:
		return hvlog_emit_im_emulated_instruction(s, ts, v[0]);
	case HVLOG_EV_IM_NMI_INTERRUPT:
		return hvlog_emit_im_nmi_interrupt(s, ts, v[0]);
	case HVLOG_EV_IM_INVLPG_INSTRUCTION:
		return hvlog_emit_im_invlpg_instruction(s, ts, v[0], v[1]);
	case HVLOG_EV_IM_IRET_INSTRUCTION:
		return hvlog_emit_im_iret_instruction(s, ts, v[0]);
	case HVLOG_EV_IM_TASK_SWITCH:
		return hvlog_emit_im_task_switch(s, ts, v[0]);
	case HVLOG_EV_IM_INVD_INSTRUCTION:
		return hvlog_emit_im_invd_instruction(s, ts, v[0]);
	case HVLOG_EV_IM_DR_ACCESS:
		return hvlog_emit_im_dr_access(s, ts, v[0]);
	case HVLOG_EV_IM_FERR_FREEZE:
		return hvlog_emit_im_ferr_freeze(s, ts, v[0]);
	case HVLOG_EV_IM_REAL_MODE_INTERRUPT:
		return hvlog_emit_im_real_mode_interrupt(s, ts, v[0]);
	case HVLOG_EV_IM_MEMORY_INTERCEPT:
		return hvlog_emit_im_memory_intercept(s, ts, v[0], v[1], (uint8_t)v[2]);
	case HVLOG_EV_IM_REFLECTED_EXCEPTION:
		return hvlog_emit_im_reflected_exception(s, ts, v[0], (uint8_t)v[1]);
	case HVLOG_EV_OB_CREATE_PARTITION:
		return hvlog_emit_ob_create_partition(s, ts, v[0], (uint16_t)v[1]);
	case HVLOG_EV_OB_DELETE_PARTITION:
		return hvlog_emit_ob_delete_partition(s, ts, v[0], (uint16_t)v[1]);
	case HVLOG_EV_PT_REFERENCE_TIME:
		return hvlog_emit_pt_reference_time(s, ts, v[0], v[1]);
	case HVLOG_EV_VP_CREATE_VP:
		return hvlog_emit_vp_create_vp(s, ts, v[0], (uint32_t)v[1], (uint16_t)v[2]);
	case HVLOG_EV_VP_DELETE_VP:
		return hvlog_emit_vp_delete_vp(s, ts, v[0], (uint32_t)v[1], (uint16_t)v[2]);
	case HVLOG_EV_AM_GVA_GROW_VIRTUAL_TLB:
		return hvlog_emit_am_gva_grow_virtual_tlb(s, ts, (uint32_t)v[0], (uint32_t)v[1]);
	case HVLOG_EV_AM_GVA_SHRINK_VIRTUAL_TLB:
		return hvlog_emit_am_gva_shrink_virtual_tlb(s, ts, (uint32_t)v[0],
			(uint32_t)v[1], (uint32_t)v[2]);
	case HVLOG_EV_AM_GVA_FLUSH_VIRTUAL_TLB:
		return hvlog_emit_am_gva_flush_virtual_tlb(s, ts, v[0]);
	case HVLOG_EV_SCH_CONTEXT_SWITCH:
		return hvlog_emit_sch_context_switch(s, ts, v[0], (uint32_t)v[1], v[2]);
	case HVLOG_EV_KE_OVERRUN:
		return hvlog_emit_ke_overrun(s, ts, v[0], (uint32_t)v[1], (int)v[2], (uint32_t)v[3]);
	case HVLOG_EV_KE_OVERRUN_PARAMS:
		return hvlog_emit_ke_overrun_params(s, ts, v[0], v[1], v[2], v[3]);
	case HVLOG_EV_KE_OVERRUN500:
		return hvlog_emit_ke_overrun500(s, ts, v[0], (uint32_t)v[1], (int)v[2], (uint32_t)v[3]);
	case HVLOG_EV_KE_OVERRUN500_PARAMS:
		return hvlog_emit_ke_overrun500_params(s, ts, v[0], v[1], v[2], v[3]);
	case HVLOG_EV_SCH_PROFILER_SAMPLE:
		return hvlog_emit_sch_profiler_sample(s, ts, v[0], (uint32_t)v[1], v[2]);
	case HVLOG_EV_PROFILER_HV_MODULE:
		return hvlog_emit_profiler_hv_module(s, ts, v[0], (uint32_t)v[1]);
	default:
		ck_abort_msg("no typed emitter for event 0x%X", number);
	}
	return HVLOG_INVALID;
}

START_TEST(test_typed_emitters)
{
	const hvlog_schema *sch = hvlog_schema_builtin();
	hvlog_writer_config cfg = { .nstreams = 2, .chunk_size = 1024 };
	char path[PATH_MAX];
	tu_events generic = { 0 }, typed = { 0 }, got0, got1;
	tu_rng rng = { 77 };
	uint64_t ts = 1000;
	tu_chunk *chunks;
	size_t nchunks, len;
	uint8_t *buf, *pay[2] = { NULL, NULL };
	size_t paylen[2] = { 0, 0 };
	tu_trace t;

	file_in_dir(path, "typed.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	for (size_t i = 0; i < 6000; i++) {
		const hvlog_event *ev = &sch->events[i < sch->nevents ? i : tu_rand_below(&rng, sch->nevents)];
		tu_event e = { .ts = ts += tu_rand_below(&rng, 1000), .number = ev->number, .nparams = ev->nparams };
		uint64_t raw[HVLOG_MAX_PARAMS];
		for (uint32_t k = 0; k < ev->nparams; k++) {
			const hvlog_param *p = &ev->params[k];
			/* full 64-bit input: both paths must narrow it the same way */
			raw[k] = p->type == HVLOG_TYPE_BOOL ? tu_rand_below(&rng, 3) : tu_rand(&rng) >> tu_rand_below(&rng, 64);
			e.v[k] = p->type == HVLOG_TYPE_BOOL ? raw[k] != 0 : raw[k] & hvlog_type_max(p->type);
		}
		TU_CHECK(hvlog_emit(hvlog_writer_stream(w, 0), e.ts, ev, raw) == HVLOG_OK, "hvlog_emit(%s) failed",
			 ev->symbol);
		e.stream = 0;
		e.seq = generic.n;
		tu_events_push(&generic, &e);
		TU_CHECK(emit_typed(hvlog_writer_stream(w, 1), e.ts, ev->number, raw) == HVLOG_OK,
			 "typed emitter of %s failed", ev->symbol);
		e.stream = 1;
		e.seq = typed.n;
		tu_events_push(&typed, &e);
	}
	close_writer(w);

	tu_read_path(path, 0, &t);
	assert_no_damage("typed emitters", &t);
	events_of_stream(&t.ev, 0, &got0);
	events_of_stream(&t.ev, 1, &got1);
	tu_assert_events_equal("hvlog_emit stream", &generic, &got0);
	tu_assert_events_equal("typed emitter stream", &typed, &got1);

	/* and the encodings are byte for byte the same */
	buf = tu_load(path, &len);
	nchunks = tu_chunks(buf, len, &chunks);
	for (size_t i = 0; i < nchunks; i++) {
		uint32_t s = chunks[i].stream;
		pay[s] = realloc(pay[s], paylen[s] + chunks[i].len + 1);
		ck_assert_ptr_nonnull(pay[s]);
		memcpy(pay[s] + paylen[s], buf + chunks[i].off + HVLOG_CHUNK_HEADER_SIZE, chunks[i].len);
		paylen[s] += chunks[i].len;
	}
	ck_assert_msg(paylen[0] == paylen[1], "payload bytes: hvlog_emit %zu, typed %zu", paylen[0], paylen[1]);
	ck_assert_msg(!memcmp(pay[0], pay[1], paylen[0]), "typed emitters encode differently from hvlog_emit");
	free(pay[0]);
	free(pay[1]);
	free(chunks);
	free(buf);
	tu_events_free(&got0);
	tu_events_free(&got1);
	tu_events_free(&generic);
	tu_events_free(&typed);
	tu_trace_free(&t);
}
END_TEST

/* ---- (d) timestamps going backwards within a stream ------------------------- */

/* Emit the timestamps ts[] on one stream (a flush where ts is 0 and the
 * flush flag set), read back, expect them in file order. */
static void check_time_sequence(const char *what, const uint64_t *ts, const int *flush_before, size_t n)
{
	hvlog_writer_config cfg = { .nstreams = 1 };
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_trace t;

	file_in_dir(path, "backwards.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	hvlog_stream *s = hvlog_writer_stream(w, 0);
	for (size_t i = 0; i < n; i++) {
		tu_event e = { .ts = ts[i], .v = { 0x4000 + i, 0x5c } };
		if (flush_before && flush_before[i])
			ck_assert_int_eq(hvlog_stream_flush(s), HVLOG_OK);
		tu_emit(s, event(0x1A), &e, &want);
	}
	close_writer(w);
	tu_read_path(path, 0, &t);
	ck_assert_msg(t.ndmg == 0, "%s: the reader reports damage in an intact trace: %s", what,
		      tu_damage_summary(&t));
	tu_assert_events_equal(what, &want, &t.ev); /* one stream: file order */
	tu_trace_free(&t);
	tu_events_free(&want);
}

START_TEST(test_time_back_within_chunk)
{
	static const uint64_t ts[] = { 1000, 2000, 1500, 1600, 1600, 3000 };
	check_time_sequence("time back to after the chunk's first event", ts, NULL, NELEMS(ts));
}
END_TEST

/* BUG (libhvlog/src/reader.c valid_header): a chunk whose last record is
 * older than its first event (time went back below the chunk's first
 * timestamp) has last_ts < first_ts; the reader rejects the chunk header
 * as invalid and reports the whole intact chunk as damage. */
START_TEST(test_time_back_below_chunk_start)
{
	static const uint64_t ts[] = { 1000, 2000, 500, 600 };
	check_time_sequence("time back before the chunk's first event", ts, NULL, NELEMS(ts));
}
END_TEST

/* BUG (libhvlog/src/reader.c valid_header): after a flush the next chunk's
 * base_ts is the previous chunk's last timestamp; if the first event of the
 * new chunk is older, first_ts < base_ts and the reader rejects the chunk. */
START_TEST(test_time_back_across_chunks)
{
	static const uint64_t ts[] = { 1000, 2000, 1500, 1700, 0, 5 };
	static const int flush[] = { 0, 0, 1, 0, 1, 0 };
	check_time_sequence("time back at a chunk start", ts, flush, NELEMS(ts));
}
END_TEST

/* ---- (e) group masks ------------------------------------------------------- */

START_TEST(test_writer_group_mask)
{
	const uint64_t mask = HVLOG_GROUP_INTERRUPT | HVLOG_GROUP_KERNEL;
	const hvlog_schema *sch = hvlog_schema_builtin();
	hvlog_writer_config cfg = { .nstreams = 2, .chunk_size = 2048, .group_mask = mask };
	char path[PATH_MAX];
	tu_events all = { 0 }, want = { 0 };
	tu_rng rng = { 5 };
	uint64_t ts = 10;
	size_t dropped = 0;
	tu_trace t;

	file_in_dir(path, "mask.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	tu_emit_random(w, 2, 5000, &rng, &ts, &all);
	/* typed emitters of filtered groups record nothing and report OK */
	ck_assert_int_eq(hvlog_emit_hc_hypercall(hvlog_writer_stream(w, 0), ts, 1, 2), HVLOG_OK);
	ck_assert_int_eq(hvlog_emit_sch_context_switch(hvlog_writer_stream(w, 1), ts, 1, 2, 3), HVLOG_OK);
	close_writer(w);
	for (size_t i = 0; i < all.n; i++) {
		const hvlog_event *ev = hvlog_schema_find_event(sch, all.v[i].number);
		if (sch->groups[ev->group].mask & mask)
			tu_events_push(&want, &all.v[i]);
		else
			dropped++;
	}
	ck_assert_msg(dropped > 1000 && want.n > 1000, "workload does not exercise the mask (%zu kept, %zu dropped)",
		      want.n, dropped);
	tu_read_path(path, 0, &t);
	tu_events_sort_reader_order(&want);
	tu_assert_events_equal("writer group mask", &want, &t.ev);
	ck_assert_uint_eq(t.stats.events, want.n);
	ck_assert_uint_eq(t.nlost, 0); /* filtered events are not lost events */
	tu_trace_free(&t);
	tu_events_free(&all);
	tu_events_free(&want);
}
END_TEST

START_TEST(test_reader_group_mask)
{
	const uint64_t mask = HVLOG_GROUP_HYPERCALL | HVLOG_GROUP_PROFILER | HVLOG_GROUP_GVA;
	const hvlog_schema *sch = hvlog_schema_builtin();
	hvlog_writer_config cfg = { .nstreams = 3, .chunk_size = 1024 };
	char path[PATH_MAX];
	tu_events all = { 0 }, want = { 0 };
	tu_rng rng = { 6 };
	uint64_t ts = 10;
	tu_trace t;

	file_in_dir(path, "rmask.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	tu_emit_random(w, 3, 8000, &rng, &ts, &all);
	close_writer(w);
	tu_events_sort_reader_order(&all);
	for (size_t i = 0; i < all.n; i++) {
		const hvlog_event *ev = hvlog_schema_find_event(sch, all.v[i].number);
		if (sch->groups[ev->group].mask & mask)
			tu_events_push(&want, &all.v[i]);
	}
	ck_assert_msg(want.n > 100 && want.n < all.n / 2, "workload does not exercise the mask");
	tu_read_path(path, mask, &t);
	tu_assert_events_equal("reader group mask", &want, &t.ev);
	ck_assert_msg(t.stats.events == all.n, "stats.events %" PRIu64 " should count filtered events too (%zu)",
		      t.stats.events, all.n);
	tu_trace_free(&t);
	/* mask 0 means every group */
	tu_read_path(path, 0, &t);
	tu_assert_events_equal("reader without a mask", &all, &t.ev);
	tu_trace_free(&t);
	tu_events_free(&all);
	tu_events_free(&want);
}
END_TEST

/* Unordered reading hands out each stream whole, in stream order, with
 * the same events in the same order per stream as the merge; with a group
 * mask it skips the others' values without decoding them.  Partitions of
 * the chunks together hand out every event once. */
START_TEST(test_unordered_and_partitions)
{
	enum { NSTREAMS = 5, NEVENTS = 30000, NPARTS = 3 };
	const uint64_t mask = HVLOG_GROUP_INTERRUPT | HVLOG_GROUP_SCHEDULER;
	const hvlog_schema *sch = hvlog_schema_builtin();
	hvlog_writer_config cfg = { .nstreams = NSTREAMS, .chunk_size = 2048 };
	char path[PATH_MAX];
	tu_events all = { 0 }, want = { 0 }, got = { 0 };
	tu_rng rng = { 77 };
	uint64_t ts = 5;
	hvlog_reader *r;
	hvlog_error err;
	tu_trace t;

	file_in_dir(path, "unordered.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	tu_emit_random(w, NSTREAMS, NEVENTS, &rng, &ts, &all);
	close_writer(w);
	tu_events_sort_reader_order(&all);

	for (int masked = 0; masked < 2; masked++) {
		/* expected: the merged order, regrouped by stream */
		want.n = 0;
		for (uint32_t s = 0; s < NSTREAMS; s++)
			for (size_t i = 0; i < all.n; i++) {
				const hvlog_event *ev = hvlog_schema_find_event(sch, all.v[i].number);
				if (all.v[i].stream == s && (!masked || (sch->groups[ev->group].mask & mask)))
					tu_events_push(&want, &all.v[i]);
			}
		ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
		hvlog_reader_set_ordered(r, 0);
		if (masked)
			hvlog_reader_set_group_mask(r, mask);
		tu_read_reader(r, &t, 0);
		hvlog_reader_close(r);
		ck_assert_int_eq(t.end, HVLOG_END);
		tu_assert_events_equal(masked ? "unordered, masked" : "unordered", &want, &t.ev);
		ck_assert_uint_eq(t.stats.events, NEVENTS);
		tu_trace_free(&t);
	}

	got.n = 0;
	for (uint32_t part = 0; part < NPARTS; part++) {
		ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
		hvlog_reader_set_partition(r, part, NPARTS);
		tu_read_reader(r, &t, 0);
		hvlog_reader_close(r);
		ck_assert_int_eq(t.end, HVLOG_END);
		ck_assert_msg(t.ev.n > NEVENTS / NPARTS / 2 && t.ev.n < 2 * NEVENTS / NPARTS,
			      "part %u of %u has %zu of %u events", part, NPARTS, t.ev.n, NEVENTS);
		for (size_t i = 1; i < t.ev.n; i++)
			TU_CHECK(t.ev.v[i - 1].ts <= t.ev.v[i].ts, "part %u: time goes back at item %zu", part, i);
		for (size_t i = 0; i < t.ev.n; i++) {
			t.ev.v[i].seq = t.ev.v[i].offset; /* ties across parts: file order */
			tu_events_push(&got, &t.ev.v[i]);
		}
		tu_trace_free(&t);
	}
	tu_events_sort_reader_order(&got);
	tu_assert_events_equal("partitions together", &all, &got);
	tu_events_free(&all);
	tu_events_free(&want);
	tu_events_free(&got);
}
END_TEST

/* ---- (f) concurrent producers ------------------------------------------------ */

enum { NTHREADS = 4, PER_THREAD = 200000 };

/* The deterministic event sequence of stream s: same seed, same events. */
static void next_event(tu_rng *rng, uint64_t *ts, uint32_t s, tu_event *e, const hvlog_event **ev)
{
	const hvlog_schema *sch = hvlog_schema_builtin();

	*ev = &sch->events[tu_rand_below(rng, sch->nevents)];
	*ts += 1 + tu_rand_below(rng, 7);
	*e = (tu_event){ .stream = s, .ts = *ts, .number = (*ev)->number, .nparams = (*ev)->nparams };
	for (uint32_t k = 0; k < (*ev)->nparams; k++)
		e->v[k] = tu_rand_value(rng, &(*ev)->params[k]);
}

struct producer {
	hvlog_stream *s;
	uint32_t id;
	int failures;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	tu_rng rng = { 0xabc0 + p->id };
	uint64_t ts = 0;

	for (int i = 0; i < PER_THREAD; i++) {
		const hvlog_event *ev;
		tu_event e;
		next_event(&rng, &ts, p->id, &e, &ev);
		if (hvlog_emit(p->s, e.ts, ev, e.v) != HVLOG_OK)
			p->failures++;
	}
	return NULL;
}

START_TEST(test_threads)
{
	hvlog_writer_config cfg = { .nstreams = NTHREADS, .chunk_size = 4096 };
	struct producer prod[NTHREADS];
	pthread_t th[NTHREADS];
	tu_rng rng[NTHREADS];
	uint64_t ts[NTHREADS] = { 0 }, count[NTHREADS] = { 0 }, prev_ts = 0, n = 0;
	uint32_t prev_stream = 0;
	char path[PATH_MAX];
	const hvlog_item *it;
	hvlog_reader *r;
	hvlog_error err;
	hvlog_status st;

	file_in_dir(path, "threads.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	for (uint32_t i = 0; i < NTHREADS; i++) {
		prod[i] = (struct producer){ hvlog_writer_stream(w, i), i, 0 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &prod[i]), 0);
	}
	for (uint32_t i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_msg(prod[i].failures == 0, "thread %u: %d emits failed", i, prod[i].failures);
	}
	close_writer(w);

	for (uint32_t i = 0; i < NTHREADS; i++)
		rng[i] = (tu_rng){ 0xabc0 + i };
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	while ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		const hvlog_event *ev;
		tu_event e;
		TU_CHECK(it->kind == HVLOG_ITEM_EVENT, "item %" PRIu64 " is not an event (kind %d)", n, it->kind);
		TU_CHECK(it->stream < NTHREADS, "stream %u", it->stream);
		TU_CHECK(it->ts > prev_ts || (it->ts == prev_ts && it->stream >= prev_stream),
			      "item %" PRIu64 " (stream %u ts %" PRIu64 ") out of order after stream %u ts %" PRIu64, n,
			      it->stream, it->ts, prev_stream, prev_ts);
		prev_ts = it->ts;
		prev_stream = it->stream;
		TU_CHECK(count[it->stream] < PER_THREAD, "stream %u: more than %d events", it->stream, PER_THREAD);
		next_event(&rng[it->stream], &ts[it->stream], it->stream, &e, &ev);
		TU_CHECK(it->event->number == e.number && it->ts == e.ts,
			      "stream %u event #%" PRIu64 ": read 0x%X at %" PRIu64 ", expected 0x%X at %" PRIu64,
			      it->stream, count[it->stream], it->event->number, it->ts, e.number, e.ts);
		for (uint32_t k = 0; k < e.nparams; k++)
			TU_CHECK(it->values[k] == e.v[k],
				      "stream %u event #%" PRIu64 " param %u: read 0x%" PRIx64 ", expected 0x%" PRIx64,
				      it->stream, count[it->stream], k, it->values[k], e.v[k]);
		count[it->stream]++;
		n++;
	}
	ck_assert_int_eq(st, HVLOG_END);
	for (uint32_t i = 0; i < NTHREADS; i++)
		ck_assert_msg(count[i] == PER_THREAD, "stream %u: %" PRIu64 " events read, %d written", i, count[i],
			      PER_THREAD);
	hvlog_reader_close(r);
}
END_TEST

/* ---- (g) the three sinks ------------------------------------------------------ */

struct membuf {
	uint8_t *p;
	size_t len, cap;
	int calls;
	int fail_at;               /* first call that fails with EIO (0: none) */
	int fail_count;            /* how many calls from there fail (0: 1) */
	uint32_t failed_nevents;   /* events of the chunks refused */
	uint64_t failed_seq;       /* sequence number of the first one */
	int failed_chunks;
};

static void membuf_add(struct membuf *m, const void *buf, size_t len)
{
	if (m->len + len > m->cap) {
		size_t nc = m->cap ? m->cap : 4096;
		while (nc < m->len + len)
			nc *= 2;
		m->p = realloc(m->p, nc);
		TU_CHECK(m->p != NULL, "out of memory");
		m->cap = nc;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
}

static int mem_sink(void *user, const void *buf, size_t len)
{
	struct membuf *m = user;

	m->calls++;
	if (m->fail_at && m->calls >= m->fail_at && m->calls < m->fail_at + (m->fail_count ? m->fail_count : 1)) {
		const uint8_t *h = buf;
		if (len >= HVLOG_CHUNK_HEADER_SIZE && !memcmp(h, WIRE_CHUNK_SYNC, 8)) {
			m->failed_nevents += wire_get32(h + WIRE_CH_NEVENTS);
			if (!m->failed_chunks++)
				m->failed_seq = wire_get64(h + WIRE_CH_SEQ);
		}
		return EIO;
	}
	membuf_add(m, buf, len);
	return 0;
}

struct drain {
	int fd;
	struct membuf m;
};

static void *drain_pipe(void *arg)
{
	struct drain *d = arg;
	uint8_t buf[8192];
	ssize_t n;

	while ((n = read(d->fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		membuf_add(&d->m, buf, (size_t)n);
	}
	return NULL;
}

/* Write the same workload through writer w (already open). */
static void sink_workload(hvlog_writer *w, tu_events *want)
{
	tu_rng rng = { 4242 };
	uint64_t ts = 99;

	tu_emit_random(w, 3, 20000, &rng, &ts, want);
	hvlog_stream_note_lost(hvlog_writer_stream(w, 1), 2, ts - 5, ts - 1);
	ck_assert_int_eq(hvlog_stream_flush(hvlog_writer_stream(w, 1)), HVLOG_OK);
	tu_emit_random(w, 3, 100, &rng, &ts, want);
	close_writer(w);
}

START_TEST(test_three_sinks)
{
	hvlog_writer_config cfg = { .nstreams = 3, .chunk_size = 2048, .producer = "sinks" };
	char p_path[PATH_MAX], p_fd[PATH_MAX], p_cb[PATH_MAX];
	tu_events want[3] = { { 0 } };
	struct membuf cb = { 0 };
	struct drain d = { 0 };
	int pfd[2];
	pthread_t th;
	hvlog_writer *w;
	hvlog_error err;
	uint8_t *a;
	size_t alen;
	tu_trace t;

	file_in_dir(p_path, "sink-path.hvl");
	file_in_dir(p_fd, "sink-fd.hvl");
	file_in_dir(p_cb, "sink-callback.hvl");

	/* path */
	sink_workload(open_writer(p_path, &cfg), &want[0]);

	/* fd: a pipe drained by a thread */
	ck_assert_int_eq(pipe(pfd), 0);
	d.fd = pfd[0];
	ck_assert_int_eq(pthread_create(&th, NULL, drain_pipe, &d), 0);
	ck_assert_int_eq(hvlog_writer_open_fd(&w, pfd[1], &cfg, &err), HVLOG_OK);
	sink_workload(w, &want[1]);
	ck_assert_msg(fcntl(pfd[1], F_GETFD) != -1, "the writer closed the caller's descriptor");
	close(pfd[1]);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	close(pfd[0]);
	tu_save(p_fd, d.m.p, d.m.len);

	/* callback */
	ck_assert_int_eq(hvlog_writer_open_sink(&w, mem_sink, &cb, &cfg, &err), HVLOG_OK);
	sink_workload(w, &want[2]);
	ck_assert_msg(cb.calls > 10, "callback called %d times", cb.calls);
	tu_save(p_cb, cb.p, cb.len);

	/* same input, same bytes */
	a = tu_load(p_path, &alen);
	ck_assert_msg(d.m.len == alen && !memcmp(a, d.m.p, alen), "fd sink output differs from the path sink's");
	ck_assert_msg(cb.len == alen && !memcmp(a, cb.p, alen), "callback sink output differs from the path sink's");

	const char *paths[3] = { p_path, p_fd, p_cb };
	for (int i = 0; i < 3; i++) {
		tu_read_path(paths[i], 0, &t);
		tu_events_sort_reader_order(&want[i]);
		tu_assert_events_equal(paths[i], &want[i], &t.ev);
		assert_no_damage(paths[i], &t);
		ck_assert_msg(t.nlost == 1 && t.lost[0].count == 2 && t.lost[0].stream == 1, "%s: lost item missing",
			      paths[i]);
		tu_trace_free(&t);
		tu_events_free(&want[i]);
	}
	free(a);
	free(d.m.p);
	free(cb.p);
}
END_TEST

/* Each stream of a writer is written by its own thread: the streams lie at
 * least a cache line apart, so that producers do not slow each other down
 * (false sharing took 2-thread encoding from 1.9x to 1.4x of one). */
START_TEST(test_streams_apart)
{
	hvlog_writer_config cfg = { .nstreams = 3 };
	char path[PATH_MAX];

	file_in_dir(path, "apart.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	for (uint32_t i = 0; i + 1 < 3; i++) {
		uintptr_t a = (uintptr_t)hvlog_writer_stream(w, i), b = (uintptr_t)hvlog_writer_stream(w, i + 1);
		ck_assert_uint_ge(b - a, sizeof(hvlog_stream) + 64);
	}
	close_writer(w);
}
END_TEST

START_TEST(test_writer_bad_arguments)
{
	hvlog_writer_config cfg = { .chunk_size = HVLOG_CHUNK_MIN - 1 };
	char path[PATH_MAX];
	hvlog_writer *w = (hvlog_writer *)&cfg; /* not NULL: a failed open must clear it */
	hvlog_error err = { 0 };

	file_in_dir(path, "bad.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_INVALID);
	ck_assert_ptr_null(w);
	cfg = (hvlog_writer_config){ .nstreams = 65537 };
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_INVALID);
	ck_assert_int_eq(hvlog_writer_open_fd(&w, -1, NULL, &err), HVLOG_INVALID);
	ck_assert_int_eq(hvlog_writer_open_sink(&w, NULL, NULL, NULL, &err), HVLOG_INVALID);
	file_in_dir(path, "no/such/dir/x.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, NULL, &err), HVLOG_IO);
	ck_assert_int_eq(err.sys_errno, ENOENT);
	ck_assert_int_eq(hvlog_writer_close(NULL, NULL), HVLOG_OK);
	ck_assert_ptr_null(hvlog_writer_stream(NULL, 0));
}
END_TEST

/* ---- (h) the reader on a pipe ----------------------------------------------------- */

struct feeder {
	int fd;
	const uint8_t *p;
	size_t len;
};

static void *feed_pipe(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;

	while (off < f->len) {
		ssize_t n = write(f->fd, f->p + off, f->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

START_TEST(test_reader_on_pipe)
{
	hvlog_writer_config cfg = { .nstreams = 4, .chunk_size = 1024 };
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_rng rng = { 31337 };
	uint64_t ts = 0;
	struct feeder f;
	pthread_t th;
	int pfd[2];
	size_t len;
	uint8_t *buf;
	hvlog_reader *r;
	hvlog_error err;
	tu_trace tf, tp;

	file_in_dir(path, "pipe.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	tu_emit_random(w, 4, 30000, &rng, &ts, &want);
	close_writer(w);
	buf = tu_load(path, &len);
	ck_assert_msg(len > (1u << 17), "trace of %zu bytes is smaller than a pipe buffer", len);

	tu_read_path(path, 0, &tf);
	ck_assert_int_eq(pipe(pfd), 0);
	f = (struct feeder){ pfd[1], buf, len };
	ck_assert_int_eq(pthread_create(&th, NULL, feed_pipe, &f), 0);
	ck_assert_int_eq(hvlog_reader_open_fd(&r, pfd[0], &err), HVLOG_OK);
	tu_read_reader(r, &tp, 0);
	hvlog_reader_close(r);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(fcntl(pfd[0], F_GETFD) != -1, "the reader closed the caller's descriptor");
	close(pfd[0]);

	ck_assert_int_eq(tp.end, HVLOG_END);
	tu_events_sort_reader_order(&want);
	tu_assert_events_equal("from the file", &want, &tf.ev);
	tu_assert_events_equal("from a pipe", &tf.ev, &tp.ev);
	for (size_t i = 0; i < tf.ev.n; i++)
		ck_assert_msg(tf.ev.v[i].offset == tp.ev.v[i].offset, "event #%zu: offset %" PRIu64 " vs %" PRIu64, i,
			      tf.ev.v[i].offset, tp.ev.v[i].offset);
	ck_assert_uint_eq(tp.stats.file_size, len);
	ck_assert_uint_eq(tp.stats.chunks, tf.stats.chunks);
	ck_assert_uint_eq(tp.ndmg, 0);
	tu_trace_free(&tf);
	tu_trace_free(&tp);
	tu_events_free(&want);
	free(buf);
}
END_TEST

/* ---- (i) lost events ---------------------------------------------------------------- */

START_TEST(test_lost_reported)
{
	hvlog_writer_config cfg = { .nstreams = 2 };
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_trace t;

	file_in_dir(path, "lost.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	hvlog_stream *s = hvlog_writer_stream(w, 1);
	for (uint64_t i = 0; i < 10; i++) {
		tu_event e = { .stream = 1, .ts = 100 + 10 * i, .v = { 0xfff0 + i } };
		tu_emit(s, event(0x25), &e, &want);
	}
	/* two notes merge: counts add up, the window is their union */
	hvlog_stream_note_lost(s, 3, 150, 160);
	hvlog_stream_note_lost(s, 4, 120, 170);
	hvlog_stream_note_lost(s, 0, 1, 1000); /* nothing lost: ignored */
	ck_assert_uint_eq(hvlog_stream_lost_total(s), 7);
	ck_assert_int_eq(hvlog_stream_flush(s), HVLOG_OK);
	for (uint64_t i = 0; i < 5; i++) {
		tu_event e = { .stream = 1, .ts = 300 + i, .v = { 0xfff0 + i } };
		tu_emit(s, event(0x25), &e, &want);
	}
	close_writer(w);
	tu_read_path(path, 0, &t);
	tu_assert_events_equal("events around a lost record", &want, &t.ev);
	ck_assert_msg(t.nlost == 1, "%zu lost items, expected 1", t.nlost);
	ck_assert_uint_eq(t.lost[0].stream, 1);
	ck_assert_uint_eq(t.lost[0].count, 7);
	ck_assert_uint_eq(t.lost[0].first, 120);
	ck_assert_uint_eq(t.lost[0].last, 170);
	ck_assert_uint_eq(t.stats.lost_events, 7);
	assert_no_damage("lost events", &t);
	tu_trace_free(&t);
	tu_events_free(&want);
}
END_TEST

/* BUG (libhvlog/src/emit.c hvlog_chunk_seal + writer.c write_chunk): lost
 * events noted while the stream's chunk is empty are written only by the
 * next hvlog_chunk_restart(); a flush of an empty chunk writes nothing, and
 * hvlog_writer_close() writes the final chunk first and restarts after it,
 * so the lost-events record is never written: the drop goes unreported. */
START_TEST(test_lost_on_empty_chunk_then_flush)
{
	hvlog_writer_config cfg = { .nstreams = 1 };
	char path[PATH_MAX];
	tu_trace t;

	file_in_dir(path, "lost-empty.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	hvlog_stream *s = hvlog_writer_stream(w, 0);
	hvlog_stream_note_lost(s, 5, 1000, 2000);
	ck_assert_int_eq(hvlog_stream_flush(s), HVLOG_OK);
	close_writer(w);
	tu_read_path(path, 0, &t);
	ck_assert_msg(t.nlost == 1 && t.lost[0].count == 5 && t.lost[0].first == 1000 && t.lost[0].last == 2000,
		      "5 events lost in [1000, 2000] noted on an empty chunk, flushed: %zu lost items read "
		      "(stats.lost_events %" PRIu64 ")",
		      t.nlost, t.stats.lost_events);
	tu_trace_free(&t);
}
END_TEST

/* BUG (same cause): lost events noted after the last chunk restart and
 * followed by hvlog_writer_close() are never reported. */
START_TEST(test_lost_then_close)
{
	hvlog_writer_config cfg = { .nstreams = 1 };
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_trace t;

	file_in_dir(path, "lost-close.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	hvlog_stream *s = hvlog_writer_stream(w, 0);
	tu_event e = { .ts = 10, .v = { 1 } };
	tu_emit(s, event(0x25), &e, &want);
	hvlog_stream_note_lost(s, 3, 11, 12);
	close_writer(w);
	tu_read_path(path, 0, &t);
	tu_assert_events_equal("event before the lost ones", &want, &t.ev);
	ck_assert_msg(t.nlost == 1 && t.lost[0].count == 3,
		      "3 events noted lost before hvlog_writer_close(): %zu lost items read", t.nlost);
	tu_trace_free(&t);
	tu_events_free(&want);
}
END_TEST

/* ---- (j) a sink that fails ---------------------------------------------------------- */

START_TEST(test_failing_sink)
{
	hvlog_writer_config cfg = { .nstreams = 1, .chunk_size = 1024 };
	/* calls 1 and 2 are the file header and the metadata; 4 is the 2nd chunk */
	struct membuf m = { .fail_at = 4 };
	char path[PATH_MAX];
	tu_events want = { 0 }, expect = { 0 };
	tu_rng rng = { 9 };
	uint64_t ts = 5;
	hvlog_writer *w;
	hvlog_error err = { 0 };
	hvlog_status st;
	size_t off, n0;
	tu_trace t;

	ck_assert_int_eq(hvlog_writer_open_sink(&w, mem_sink, &m, &cfg, &err), HVLOG_OK);
	tu_emit_random(w, 1, 3000, &rng, &ts, &want);
	ck_assert_msg(m.calls >= 4, "the sink was called only %d times", m.calls);
	ck_assert_msg(m.failed_nevents > 0, "the refused write was not a chunk with events");
	ck_assert_uint_eq(m.failed_seq, 1);
	ck_assert_uint_eq(hvlog_stream_lost_total(hvlog_writer_stream(w, 0)), m.failed_nevents);
	st = hvlog_writer_close(w, &err);
	ck_assert_msg(st == HVLOG_IO, "hvlog_writer_close returned %s after a sink failure", hvlog_status_str(st));
	ck_assert_int_eq(err.status, HVLOG_IO);
	ck_assert_int_eq(err.sys_errno, EIO);
	ck_assert_uint_eq(err.stream, 0);

	file_in_dir(path, "failing.hvl");
	tu_save(path, m.p, m.len);
	/* chunk 0, then zeros in place of the refused chunk 1 (a callback
	 * cannot say how much of it went out: docs/FORMAT.md §4.5) */
	off = tu_data_offset(m.p, m.len);
	ck_assert_uint_eq(wire_get64(m.p + off + WIRE_CH_SEQ), 0);
	n0 = wire_get32(m.p + off + WIRE_CH_NEVENTS);
	off += HVLOG_CHUNK_HEADER_SIZE + wire_get32(m.p + off + WIRE_CH_LEN);
	ck_assert_msg(off + 8 < m.len && !memcmp(m.p + off, "\0\0\0\0\0\0\0\0", 8), "no zeros after chunk 0");
	for (size_t i = 0; i < want.n; i++)
		if (i < n0 || i >= n0 + m.failed_nevents)
			tu_events_push(&expect, &want.v[i]);

	tu_read_path(path, 0, &t);
	tu_assert_events_equal("events of the chunks written", &expect, &t.ev);
	ck_assert_msg(t.nlost == 1, "%zu lost items, expected 1", t.nlost);
	ck_assert_msg(t.lost[0].count == m.failed_nevents, "lost count %" PRIu64 ", the failed chunk held %u",
		      t.lost[0].count, m.failed_nevents);
	ck_assert_msg(t.lost[0].first <= want.v[n0].ts && t.lost[0].last == want.v[n0 + m.failed_nevents - 1].ts,
		      "lost window [%" PRIu64 ", %" PRIu64 "] should cover [%" PRIu64 ", %" PRIu64 "]", t.lost[0].first,
		      t.lost[0].last, want.v[n0].ts, want.v[n0 + m.failed_nevents - 1].ts);
	ck_assert_msg(want.n == t.ev.n + t.lost[0].count, "emitted %zu != decoded %zu + lost %" PRIu64, want.n,
		      t.ev.n, t.lost[0].count);
	ck_assert_uint_eq(t.stats.lost_events, m.failed_nevents);
	free(m.p);
	tu_trace_free(&t);
	tu_events_free(&want);
	tu_events_free(&expect);
}
END_TEST

/* Two chunk writes in a row fail: the second refused chunk carried the
 * lost-events record of the first, so the record that finally gets written
 * must count the events of both. */
START_TEST(test_failing_sink_twice)
{
	hvlog_writer_config cfg = { .nstreams = 1, .chunk_size = 1024 };
	/* chunk 1, then the zeros owed for it: chunk 2 is dropped unwritten */
	struct membuf m = { .fail_at = 4, .fail_count = 2 };
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_rng rng = { 10 };
	uint64_t ts = 5;
	hvlog_writer *w;
	hvlog_error err = { 0 };
	tu_trace t;

	ck_assert_int_eq(hvlog_writer_open_sink(&w, mem_sink, &m, &cfg, &err), HVLOG_OK);
	tu_emit_random(w, 1, 3000, &rng, &ts, &want);
	ck_assert_msg(m.failed_chunks == 1, "%d chunk writes refused, expected 1", m.failed_chunks);
	ck_assert_uint_gt(hvlog_stream_lost_total(hvlog_writer_stream(w, 0)), m.failed_nevents);
	m.failed_nevents = (uint32_t)hvlog_stream_lost_total(hvlog_writer_stream(w, 0));
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_IO);
	file_in_dir(path, "failing2.hvl");
	tu_save(path, m.p, m.len);
	tu_read_path(path, 0, &t);
	ck_assert_msg(t.nlost == 1, "%zu lost items, expected 1", t.nlost);
	ck_assert_msg(t.lost[0].count == m.failed_nevents, "lost count %" PRIu64 ", the two failed chunks held %u",
		      t.lost[0].count, m.failed_nevents);
	ck_assert_msg(want.n == t.ev.n + t.lost[0].count, "emitted %zu != decoded %zu + lost %" PRIu64, want.n,
		      t.ev.n, t.lost[0].count);
	free(m.p);
	tu_trace_free(&t);
	tu_events_free(&want);
}
END_TEST

START_TEST(test_failing_sink_at_open)
{
	struct membuf m = { .fail_at = 2 }; /* the metadata */
	hvlog_writer *w = (hvlog_writer *)&m;
	hvlog_error err = { 0 };
	hvlog_status st = hvlog_writer_open_sink(&w, mem_sink, &m, NULL, &err);

	ck_assert_msg(st == HVLOG_IO, "open with a failing sink returned %s", hvlog_status_str(st));
	ck_assert_ptr_null(w);
	ck_assert_int_eq(err.status, HVLOG_IO);
	ck_assert_int_eq(err.sys_errno, EIO);
	free(m.p);
}
END_TEST

/* ---- a custom schema: escaped event numbers, 16 parameters ------------------------- */

#define P16(n) { "p" #n, "P" #n, HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE }
static const hvlog_param params16[16] = {
	P16(0), P16(1), P16(2), P16(3), P16(4), P16(5), P16(6), P16(7),
	P16(8), P16(9), P16(10), P16(11), P16(12), P16(13), P16(14), P16(15),
};
static const hvlog_param params_mixed[] = {
	{ "a", "A", HVLOG_TYPE_U8, HVLOG_DISPLAY_DEC, HVLOG_CODING_DELTA, NULL, HVLOG_ROLE_NONE },
	{ "b", "B", HVLOG_TYPE_U16, HVLOG_DISPLAY_HEX, HVLOG_CODING_KEYED, NULL, HVLOG_ROLE_NONE },
	{ "c", "C", HVLOG_TYPE_U32, HVLOG_DISPLAY_HEX, HVLOG_CODING_DELTA, NULL, HVLOG_ROLE_NONE },
	{ "d", "D", HVLOG_TYPE_BOOL, HVLOG_DISPLAY_BOOL, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
	{ "e", "E", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_DELTA, NULL, HVLOG_ROLE_NONE },
};
static const hvlog_group custom_groups[] = { { "g0", "Group Zero", 1 }, { "g1", "Group One", 1ull << 63 } };
static const hvlog_event custom_events[] = {
	{ 0x00, "HV_TR_ZERO", "Zero", 0, params_mixed, 5, 0 },
	{ 0x01, "HV_TR_LIKE_TIME", "Like TIME", 0, params_mixed, 5, 5 },
	{ 0x0F, "HV_TR_BELOW", "Below", 1, params16, 16, 10 },
	{ 0x10, "HV_TR_FIRST", "First", 1, params_mixed, 5, 26 },
	{ 0xFE, "HV_TR_EDGE", "Edge", 0, params16, 1, 31 },
	{ 0xFF, "HV_TR_ESCAPE", "Escape", 0, params16, 16, 32 },
	{ 0x1234, "HV_TR_BIG", "Big", 1, NULL, 0, 48 },
	{ 0xFFFF, "HV_TR_MAX", "Max", 1, params16, 16, 48 },
};
static const hvlog_schema custom_schema = {
	"custom", 3, custom_groups, 2, custom_events, NELEMS(custom_events), NULL, 0, 64,
};

START_TEST(test_custom_schema)
{
	hvlog_writer_config cfg = { .schema = &custom_schema, .nstreams = 2, .chunk_size = HVLOG_CHUNK_MIN };
	char path[PATH_MAX];
	tu_events want = { 0 };
	tu_rng rng = { 12 };
	uint64_t ts = 0;
	hvlog_reader *r;
	hvlog_error err;
	tu_trace t;

	file_in_dir(path, "custom.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	for (int i = 0; i < 4000; i++) {
		const hvlog_event *ev = &custom_events[i < (int)NELEMS(custom_events) ? i : (int)tu_rand_below(&rng, NELEMS(custom_events))];
		tu_event e = { .stream = (uint32_t)tu_rand_below(&rng, 2), .ts = ts += tu_rand_below(&rng, 3) };
		for (uint32_t k = 0; k < ev->nparams; k++)
			e.v[k] = tu_rand_value(&rng, &ev->params[k]);
		tu_emit(hvlog_writer_stream(w, e.stream), ev, &e, &want);
	}
	close_writer(w);
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	ck_assert_str_eq(hvlog_reader_meta(r)->schema->name, "custom");
	ck_assert_uint_eq(hvlog_reader_meta(r)->schema->nevents, NELEMS(custom_events));
	tu_read_reader(r, &t, 0);
	hvlog_reader_close(r);
	tu_events_sort_reader_order(&want);
	tu_assert_events_equal("custom schema", &want, &t.ev);
	assert_no_damage("custom schema", &t);
	tu_trace_free(&t);
	tu_events_free(&want);
}
END_TEST

/* The bytes of a file's chunks (headers and payloads) per event. */
static double chunk_bytes_per_event(const char *path, size_t events)
{
	size_t len, bytes = 0;
	uint8_t *buf = tu_load(path, &len);
	tu_chunk *ch;
	size_t nch = tu_chunks(buf, len, &ch);

	for (size_t k = 0; k < nch; k++)
		bytes += HVLOG_CHUNK_HEADER_SIZE + ch[k].len;
	free(ch);
	free(buf);
	return (double)bytes / (double)events;
}

/* KEYED parameters: an MSR's value is coded against the last value of the
 * same MSR, so interleaved MSRs whose values each change a little take one
 * byte each; and the shared predictors stay in step when a group filter
 * drops events that use them: a context switch's tsc_offset (scheduler)
 * and an MSR value (interrupt) are made to share one predictor, then read
 * with only the scheduler group. */
START_TEST(test_keyed)
{
	hvlog_writer_config cfg = { .nstreams = 1 };
	char path[PATH_MAX];
	tu_events all = { 0 }, sched = { 0 };
	uint32_t msr = 0, thread = 0x1000;
	uint64_t ts = 1000;
	hvlog_stream *s;
	tu_trace t;

	/* a thread id and an MSR index whose keyed predictors collide */
	for (msr = 0;; msr++)
		if (hvlog__keyed_index(HVLOG_SLOT_IM_MSR_READ + 2, msr) ==
		    hvlog__keyed_index(HVLOG_SLOT_SCH_CONTEXT_SWITCH + 2, thread))
			break;
	file_in_dir(path, "keyed.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	s = hvlog_writer_stream(w, 0);
	for (int i = 0; i < 3000; i++) {
		tu_event e = { .ts = ts += 7 };
		if (i % 3 == 2) {
			e = (tu_event){ .ts = ts, .number = HVLOG_EV_SCH_CONTEXT_SWITCH, .nparams = 3,
					.v = { 2, thread, 0xffffff3a12345678ull + 16 * (uint64_t)i } };
			ck_assert_int_eq(hvlog_emit_sch_context_switch(s, e.ts, e.v[0], (uint32_t)e.v[1], e.v[2]),
					 HVLOG_OK);
			tu_events_push(&sched, &e);
		} else {
			/* two MSRs, each value a little above its last */
			uint32_t index = i % 3 ? msr : 0x6e0;
			e = (tu_event){ .ts = ts, .number = HVLOG_EV_IM_MSR_READ, .nparams = 3,
					.v = { 0xfffff80000001000ull, index, (index == msr ? 1ull << 40 : 5ull << 50) + (uint64_t)i } };
			ck_assert_int_eq(hvlog_emit_im_msr_read(s, e.ts, e.v[0], (uint32_t)e.v[1], e.v[2]), HVLOG_OK);
		}
		e.seq = all.n;
		tu_events_push(&all, &e);
	}
	close_writer(w);

	tu_read_path(path, 0, &t);
	tu_assert_events_equal("keyed, every event", &all, &t.ev);
	tu_trace_free(&t);
	tu_read_path(path, HVLOG_GROUP_SCHEDULER, &t);
	tu_assert_events_equal("keyed, scheduler only", &sched, &t.ev);
	tu_trace_free(&t);

	/* Without the collision: two MSRs interleaved, each value a little
	 * above its last, take tag, time delta, a RIP cache hit, index (2 bytes)
	 * and a one-byte value delta. */
	ck_assert_uint_ne(hvlog__keyed_index(HVLOG_SLOT_IM_MSR_READ + 2, 0x6e0),
			  hvlog__keyed_index(HVLOG_SLOT_IM_MSR_READ + 2, 0x830));
	file_in_dir(path, "keyed-size.hvl");
	w = open_writer(path, &cfg);
	s = hvlog_writer_stream(w, 0);
	for (int i = 0; i < 30000; i++)
		hvlog_emit_im_msr_read(s, ts += 7, 0xfffff80000001000ull, i % 2 ? 0x6e0 : 0x830,
				       (i % 2 ? 1ull << 40 : 5ull << 50) + (uint64_t)i);
	close_writer(w);
	double per = chunk_bytes_per_event(path, 30000);
	ck_assert_msg(per < 6.1, "%.2f bytes per MSR read", per);
	tu_events_free(&all);
	tu_events_free(&sched);
}
END_TEST

/* RIP parameters (FORMAT.md §5.5): the stream's RIP cache, shared by the
 * guest_rip of every event, gives a RIP seen before in the chunk one
 * byte whatever the event; a difference of about 2^63 takes the escape;
 * 0 (entry 0, never a hit) and two RIPs of one entry decode too; and a
 * reader that hands out one group keeps the cache in step through the
 * events it drops. */
START_TEST(test_rip_cache)
{
	static const uint64_t rips[] = { 1ull << 63, 0, 1ull << 63, 0xfffff8034a2b1234ull, 0x00007ff6a1230010ull,
					 0xfffff8034a2b1234ull, 0x7fffffffffffffffull, 0, 0x00007ff6a1230010ull };
	hvlog_writer_config cfg = { .nstreams = 1 };
	char path[PATH_MAX];
	tu_events all = { 0 }, hcall = { 0 };
	uint64_t ts = 1000;
	tu_trace t;

	file_in_dir(path, "rip.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	hvlog_stream *s = hvlog_writer_stream(w, 0);
	for (int i = 0; i < 3000; i++) {
		uint64_t rip = rips[i % (sizeof rips / sizeof rips[0])] + (uint64_t)(i / 1000);
		tu_event e = { .ts = ts += 5, .seq = all.n };
		if (i % 4 == 1) {
			e.number = HVLOG_EV_HC_HYPERCALL;
			e.nparams = 2;
			e.v[0] = rip;
			e.v[1] = (uint64_t)i;
			ck_assert_int_eq(hvlog_emit_hc_hypercall(s, e.ts, rip, e.v[1]), HVLOG_OK);
			tu_events_push(&hcall, &e);
		} else {
			e.number = HVLOG_EV_IM_HLT_INSTRUCTION;
			e.nparams = 1;
			e.v[0] = rip;
			ck_assert_int_eq(hvlog_emit_im_hlt_instruction(s, e.ts, rip), HVLOG_OK);
		}
		tu_events_push(&all, &e);
	}
	close_writer(w);
	tu_read_path(path, 0, &t);
	tu_assert_events_equal("RIP cache, every event", &all, &t.ev);
	assert_no_damage("RIP cache", &t);
	tu_trace_free(&t);
	tu_read_path(path, HVLOG_GROUP_HYPERCALL, &t);
	tu_assert_events_equal("RIP cache, hypercalls only", &hcall, &t.ev);
	tu_trace_free(&t);

	/* Four RIPs of different pages, in turn: after the first of each, a
	 * HLT is its tag, a one-byte time delta and a one-byte hit. */
	file_in_dir(path, "rip-size.hvl");
	w = open_writer(path, &cfg);
	s = hvlog_writer_stream(w, 0);
	for (int i = 0; i < 30000; i++)
		hvlog_emit_im_hlt_instruction(s, ts += 7, rips[3 + i % 4]);
	close_writer(w);
	double per = chunk_bytes_per_event(path, 30000);
	ck_assert_msg(per < 3.1, "%.2f bytes per HLT", per);
	tu_events_free(&all);
	tu_events_free(&hcall);
}
END_TEST

/* A KEYED first parameter has no key: the writer's generic emitter and
 * the reader's metadata check refuse it. */
static const hvlog_param keyed_first[] = {
	{ "k", "K", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_KEYED, NULL, HVLOG_ROLE_NONE },
};
static const hvlog_group keyed_groups[] = { { "g", "G", 1 } };
static const hvlog_event keyed_events[] = { { 0x10, "HV_TR_K", "K", 0, keyed_first, 1, 0 } };
static const hvlog_schema keyed_schema = { "keyed-first", 1, keyed_groups, 1, keyed_events, 1, NULL, 0, 1 };

START_TEST(test_keyed_first_refused)
{
	hvlog_writer_config cfg = { .schema = &keyed_schema, .nstreams = 1 };
	char path[PATH_MAX];
	uint64_t v = 1;
	hvlog_reader *r;
	hvlog_error err;

	/* the writer refuses what its reader would: nothing is written */
	file_in_dir(path, "keyed-first.hvl");
	hvlog_writer *w;
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_INVALID);
	ck_assert_msg(strstr(err.msg, "keyed") != NULL, "%s", err.msg);
	(void)v;
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_TRUNCATED);
}
END_TEST

/* Regression (HVLOG_RECORD_MAX once left out the TIME record that
 * hvlog__begin() writes when time goes backwards): a 16-parameter event
 * with an escaped number, emitted at a backwards full-width timestamp when
 * the chunk is exactly at its refill threshold, must stay inside the
 * chunk buffer. */
static int seal_count;

static hvlog_status refill_discard(hvlog_stream *s)
{
	const uint8_t *chunk;

	hvlog_chunk_seal(s, 0, &chunk);
	hvlog_chunk_restart(s);
	seal_count++;
	return HVLOG_OK;
}

/* Names come from the file: a stream named with an escape sequence must
 * not reach a terminal as one (text), and must survive exactly (JSON). */
START_TEST(test_hostile_names_in_text)
{
	hvlog_stream_info info = { "\x1b[31mred\x07", 1, 0 };
	hvlog_writer_config cfg = { .nstreams = 1, .streams = &info };
	char path[PATH_MAX], line[HVLOG_FORMAT_MAX];
	const hvlog_item *it;
	hvlog_reader *r;
	hvlog_error err;

	file_in_dir(path, "names.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	hvlog_emit_im_hlt_instruction(hvlog_writer_stream(w, 0), 10, 0x1000);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	ck_assert_int_eq(hvlog_reader_next(r, &it, &err), HVLOG_OK);
	hvlog_format_item(hvlog_reader_meta(r), it, HVLOG_FORMAT_TEXT, 0, line, sizeof line);
	ck_assert_msg(!strchr(line, 0x1b) && !strchr(line, 0x07), "control characters in the text line: %s", line);
	ck_assert_msg(strstr(line, "?[31mred?") != NULL, "name not shown with '?' for controls: %s", line);
	hvlog_format_item(hvlog_reader_meta(r), it, HVLOG_FORMAT_JSON, 0, line, sizeof line);
	ck_assert_msg(strstr(line, "\"\\u001b[31mred\\u0007\"") != NULL, "name not escaped exactly in JSON: %s", line);
	hvlog_reader_close(r);
}
END_TEST

/* A producer that seals its own chunks (hvlog_chunk_seal, no file
 * writer) states the schema's fingerprint in the header, under a header
 * checksum that covers it: a reader given the same schema as a fallback
 * decodes the chunk instead of skipping it as "not stated". */
START_TEST(test_seal_states_fingerprint)
{
	static uint8_t mem[4096];
	uint64_t slots[HVLOG_BUILTIN_NSLOTS];
	const uint8_t *chunk;
	hvlog_stream s;

	ck_assert_int_eq(hvlog_stream_init(&s, 0, hvlog_schema_builtin(), UINT64_MAX, mem, sizeof mem, slots,
					   refill_discard, NULL),
			 HVLOG_OK);
	ck_assert_int_eq(hvlog_emit_im_hlt_instruction(&s, 100, 0x1000), HVLOG_OK);
	size_t n = hvlog_chunk_seal(&s, 1, &chunk);
	ck_assert_uint_gt(n, HVLOG_CHUNK_HEADER_SIZE);
	uint32_t fp = (uint32_t)chunk[20] | (uint32_t)chunk[21] << 8 | (uint32_t)chunk[22] << 16 |
		      (uint32_t)chunk[23] << 24;
	ck_assert_msg(fp == 0xFF7C6AAAu, "sealed chunk states fingerprint %08x, not the built-in schema's", fp);
	uint32_t crc = (uint32_t)chunk[8] | (uint32_t)chunk[9] << 8 | (uint32_t)chunk[10] << 16 |
		       (uint32_t)chunk[11] << 24;
	ck_assert_uint_eq(crc, hvlog_crc32c(0, chunk + 12, HVLOG_CHUNK_HEADER_SIZE - 12));
}
END_TEST

/* FORMAT.md §9.9, a chunk whose time goes back, byte for byte: the trace
 * format 1.0 is frozen, so these bytes never change (FORMAT.md §7). */
START_TEST(test_worked_example_backwards)
{
	static const uint8_t payload[] = { 0x25, 0xA2, 0x0F, 0x0A, 0x02, 0x01, 0xD2, 0x07, 0x25, 0x01,
					   0x0A, 0x02, 0x25, 0x22, 0x03, 0x0A, 0x02, 0x25, 0xC9, 0x9F };
	hvlog_writer_config cfg = { .nstreams = 1 };
	char path[PATH_MAX];
	size_t len;
	tu_chunk *ch;

	file_in_dir(path, "backwards.hvl");
	hvlog_writer *w = open_writer(path, &cfg);
	hvlog_stream *s = hvlog_writer_stream(w, 0);
	hvlog_emit_im_hlt_instruction(s, 1000, 1);
	hvlog_emit_im_hlt_instruction(s, 500, 2);
	hvlog_emit_im_hlt_instruction(s, 700, 3);
	hvlog_emit_im_hlt_instruction(s, 800, 1);
	ck_assert_int_eq(hvlog_stream_flush(s), HVLOG_OK);
	close_writer(w);
	uint8_t *buf = tu_load(path, &len);
	ck_assert_uint_ge(tu_chunks(buf, len, &ch), 1);
	const uint8_t *h = buf + ch[0].off;
	ck_assert_msg(ch[0].len == sizeof payload &&
			      !memcmp(h + HVLOG_CHUNK_HEADER_SIZE, payload, sizeof payload),
		      "the trace format 1.0 is frozen: the chunk of FORMAT.md §9.9 is no longer written byte for byte");
	ck_assert_uint_eq(wire_get16(h + WIRE_CH_FLAGS), WIRE_CHUNK_BACKWARDS);
	ck_assert_uint_eq(wire_get64(h + WIRE_CH_BASE_TS), 0);
	ck_assert_uint_eq(wire_get64(h + WIRE_CH_FIRST_TS), 1000);
	ck_assert_uint_eq(wire_get64(h + WIRE_CH_LAST_TS), 800);
	ck_assert_uint_eq(wire_get32(h + WIRE_CH_NEVENTS), 4);
	free(ch);
	free(buf);
}
END_TEST

START_TEST(test_record_max_bound)
{
	enum { GUARD = 64 };
	static uint8_t mem[HVLOG_CHUNK_MIN + GUARD];
	uint64_t slots[64];
	const uint64_t T = UINT64_MAX - 1000; /* a 9-byte varint */
	const hvlog_event *filler = &custom_events[4]; /* 0xFE, one U64 VARINT param */
	const hvlog_event *big = &custom_events[7];    /* 0xFFFF, 16 U64 params */
	uint64_t v[HVLOG_MAX_PARAMS];
	hvlog_stream s;

	memset(mem, 0xA5, sizeof mem);
	ck_assert_int_eq(hvlog_stream_init(&s, 0, &custom_schema, UINT64_MAX, mem, HVLOG_CHUNK_MIN, slots,
					   refill_discard, NULL),
			 HVLOG_OK);
	/* fill the payload to exactly the refill threshold */
	v[0] = 0;
	ck_assert_int_eq(hvlog_emit(&s, T, filler, v), HVLOG_OK);
	while (s.cur < s.end) {
		size_t rem = (size_t)(s.end - s.cur);
		size_t size = rem >= 15 ? 12 : rem <= 12 ? rem : rem - 3; /* records are 3..12 bytes */
		size_t L = size - 2;                                      /* tag, delta 0, L-byte value */
		ck_assert_msg(size >= 3, "cannot fill %zu bytes", rem);
		v[0] = L == 1 ? 0 : 1ull << (7 * (L - 1));
		ck_assert_int_eq(hvlog_emit(&s, T, filler, v), HVLOG_OK);
	}
	ck_assert_msg(s.cur == s.end && seal_count == 0, "filling missed the threshold");
	for (int k = 0; k < 16; k++)
		v[k] = UINT64_MAX;
	ck_assert_int_eq(hvlog_emit(&s, T - 1, big, v), HVLOG_OK);
	ck_assert_msg(s.cur <= s.buf + s.cap,
		      "a %td-byte record (TIME + escaped tag + 16 values; HVLOG_RECORD_MAX is %u) ran %td bytes past "
		      "the %zu-byte chunk buffer",
		      s.cur - s.end, HVLOG_RECORD_MAX, s.cur - (s.buf + s.cap), s.cap);
	for (size_t i = HVLOG_CHUNK_MIN; i < sizeof mem; i++)
		ck_assert_msg(mem[i] == 0xA5, "byte %zu past the chunk buffer was overwritten", i - HVLOG_CHUNK_MIN);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------ */

static Suite *roundtrip_suite(void)
{
	Suite *s = suite_create("roundtrip");
	TCase *tc;

	tc = tcase_create("events");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_random_every_type, 0, (int)NELEMS(small_chunks));
	tcase_add_test(tc, test_tie_order);
	tcase_add_test(tc, test_varint_every_length);
	tcase_add_test(tc, test_extreme_values);
	tcase_add_test(tc, test_typed_emitters);
	tcase_add_test(tc, test_custom_schema);
	tcase_add_test(tc, test_keyed);
	tcase_add_test(tc, test_keyed_first_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_time_back_within_chunk);
	tcase_add_test(tc, test_time_back_below_chunk_start);
	tcase_add_test(tc, test_time_back_across_chunks);
	suite_add_tcase(s, tc);

	tc = tcase_create("masks");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_writer_group_mask);
	tcase_add_test(tc, test_reader_group_mask);
	tcase_add_test(tc, test_unordered_and_partitions);
	suite_add_tcase(s, tc);

	tc = tcase_create("io");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_three_sinks);
	tcase_add_test(tc, test_streams_apart);
	tcase_add_test(tc, test_writer_bad_arguments);
	tcase_add_test(tc, test_reader_on_pipe);
	suite_add_tcase(s, tc);

	tc = tcase_create("lost");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lost_reported);
	tcase_add_test(tc, test_lost_on_empty_chunk_then_flush);
	tcase_add_test(tc, test_lost_then_close);
	tcase_add_test(tc, test_failing_sink);
	tcase_add_test(tc, test_failing_sink_twice);
	tcase_add_test(tc, test_failing_sink_at_open);
	tcase_add_test(tc, test_record_max_bound);
	tcase_add_test(tc, test_rip_cache);
	tcase_add_test(tc, test_seal_states_fingerprint);
	tcase_add_test(tc, test_worked_example_backwards);
	tcase_add_test(tc, test_hostile_names_in_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(roundtrip_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
