/*
 * test_diff.c - the comparison of two statistics (hvlog/diff.h): the KS
 * p-value against Kolmogorov's published quantiles; identical statistics
 * differ in nothing; a known change of rate and of intervals, and an event
 * on one side only, are found, significant, and listed first; and the
 * timeline (hvlog/timeline.h) that hvlog report draws: bins widen by
 * doubling and keep every event, in the bin of its time.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/diff.h"
#include "hvlog/hvlog.h"
#include "hvlog/timeline.h"

static const hvlog_stream_info streams[1] = { { "vp0", 1, 0 } };

static hvlog_meta meta(void)
{
	return (hvlog_meta){ .clock_hz = 1000000000, .schema = hvlog_schema_builtin(), .nstreams = 1,
			     .streams = streams };
}

static const hvlog_event *event(const char *sym)
{
	const hvlog_schema *s = hvlog_schema_builtin();

	for (uint32_t e = 0; e < s->nevents; e++)
		if (!strcmp(s->events[e].symbol, sym))
			return &s->events[e];
	return NULL;
}

/* n events of sym every step ns from t0, into s. */
static void add_events(hvlog_stats *s, const char *sym, uint64_t t0, uint64_t step, uint32_t n)
{
	uint64_t vals[HVLOG_MAX_PARAMS] = { 0 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .event = event(sym), .values = vals };

	ck_assert_ptr_nonnull(it.event);
	for (uint32_t i = 0; i < n; i++) {
		it.ts = t0 + i * step;
		ck_assert_int_eq(hvlog_stats_add(s, &it), HVLOG_OK);
	}
}

START_TEST(test_ks_p_value)
{
	/* with n = m = 2e12 the small-sample correction vanishes: p is
	 * Kolmogorov's Q(lambda), lambda = D sqrt(n m / (n + m)) */
	const double n = 2e12, se = sqrt(n * n / (2 * n));
	const struct { double lambda, q; } known[] = { { 1.0727, 0.20 }, { 1.3581, 0.05 }, { 1.6276, 0.01 } };

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		double p = hvlog_ks_p_value(known[i].lambda / se, (uint64_t)n, (uint64_t)n);
		ck_assert_msg(fabs(p - known[i].q) < 0.0005, "lambda %g: p %g, want %g", known[i].lambda, p, known[i].q);
	}
	ck_assert(hvlog_ks_p_value(0, 10, 10) == 1);
	ck_assert(hvlog_ks_p_value(0.5, 0, 10) == 1);
	ck_assert(hvlog_ks_p_value(1, 1000, 1000) < 1e-100);
}
END_TEST

START_TEST(test_diff_finds_the_change)
{
	hvlog_meta m = meta();
	hvlog_stats *a, *b, *c;
	hvlog_diff *d;
	hvlog_error err;

	ck_assert_int_eq(hvlog_stats_create(&a, &m, NULL, &err), HVLOG_OK);
	ck_assert_int_eq(hvlog_stats_create(&b, &m, NULL, &err), HVLOG_OK);
	ck_assert_int_eq(hvlog_stats_create(&c, &m, NULL, &err), HVLOG_OK);
	/* A and C: HLT every 1000 ns for 2 ms, MSR reads every 4000 ns;
	 * B: HLT every 2000 ns (half the rate, intervals twice as long), the
	 * same MSR reads, and CPUID exits A never had */
	add_events(a, "HV_TR_IM_HLT_INSTRUCTION", 0, 1000, 2001);
	add_events(c, "HV_TR_IM_HLT_INSTRUCTION", 0, 1000, 2001);
	add_events(b, "HV_TR_IM_HLT_INSTRUCTION", 0, 2000, 1001);
	for (hvlog_stats **s = (hvlog_stats *[]){ a, b, c }, **e = s + 3; s < e; s++)
		add_events(*s, "HV_TR_IM_MSR_READ", 500, 4000, 500);
	add_events(b, "HV_TR_IM_CPUID_INSTRUCTION", 700, 10000, 150);

	ck_assert_int_eq(hvlog_diff_compute(&d, a, &m, c, &m, NULL, &err), HVLOG_OK);
	ck_assert_uint_eq(hvlog_diff_differing(d), 0);
	ck_assert_uint_gt(hvlog_diff_count(d), 0);
	hvlog_diff_free(d);

	ck_assert_int_eq(hvlog_diff_compute(&d, a, &m, b, &m, NULL, &err), HVLOG_OK);
	int hlt_rate = 0, hlt_iv = 0, cpuid = 0, msr_differs = 0;
	double last_effect = INFINITY;
	for (uint32_t i = 0; i < hvlog_diff_differing(d); i++) {
		const hvlog_diff_row *r = hvlog_diff_row_get(d, i);
		ck_assert(r->differs);
		ck_assert(r->effect <= last_effect); /* largest effect first */
		last_effect = r->effect;
		if (r->kind == HVLOG_DIFF_EVENT && !strcmp(r->name, "HV_TR_IM_HLT_INSTRUCTION")) {
			hlt_rate = 1;
			ck_assert(fabs(r->change + 0.5) < 0.01);
		}
		if (r->kind == HVLOG_DIFF_INTERVAL && !strcmp(r->name, "HV_TR_IM_HLT_INSTRUCTION")) {
			hlt_iv = 1;
			ck_assert(r->ks > 0.9);
			ck_assert(r->p_value < 1e-6);
			ck_assert(r->p50[0] >= 968 && r->p50[0] <= 1032);
			ck_assert(r->p50[1] >= 1936 && r->p50[1] <= 2064);
		}
		if (!strcmp(r->name, "HV_TR_IM_CPUID_INSTRUCTION")) {
			cpuid = 1;
			ck_assert_int_eq(r->side, 2);
			ck_assert(isinf(r->change));
		}
		if (!strcmp(r->name, "HV_TR_IM_MSR_READ"))
			msr_differs = 1;
	}
	ck_assert(hlt_rate && hlt_iv && cpuid);
	ck_assert(!msr_differs);
	for (uint32_t i = hvlog_diff_differing(d); i < hvlog_diff_count(d); i++)
		ck_assert(!hvlog_diff_row_get(d, i)->differs);
	ck_assert_ptr_null(hvlog_diff_row_get(d, hvlog_diff_count(d)));
	hvlog_diff_free(d);

	ck_assert_int_eq(hvlog_diff_compute(&d, a, NULL, b, &m, NULL, &err), HVLOG_INVALID);
	ck_assert_ptr_null(d);
	hvlog_stats_free(a);
	hvlog_stats_free(b);
	hvlog_stats_free(c);
}
END_TEST

/* ---- hvlog/timeline.h ---- */
static const hvlog_stream_info streams2[2] = { { "vp0", 1, 0 }, { "vp1", 1, 1 } };

START_TEST(test_widen)
{
	hvlog_meta m = { .clock_hz = 1000000000, .schema = hvlog_schema_builtin(), .nstreams = 2, .streams = streams2 };
	const hvlog_event *ev = &m.schema->events[0];
	uint64_t vals[HVLOG_MAX_PARAMS] = { 0 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .event = ev, .values = vals };
	hvlog_timeline *t;
	hvlog_timeline_info ti;
	hvlog_error err;
	uint64_t total = 0;

	ck_assert_int_eq(hvlog_timeline_create(&t, &m, 1, &err), HVLOG_INVALID);
	ck_assert_int_eq(hvlog_timeline_create(&t, &m, 100, &err), HVLOG_OK);
	/* one event every 1000 ticks from tick 5000 on stream 0, 100000 of
	 * them; every 7th also on stream 1; a LOST item is not counted */
	for (uint64_t i = 0; i < 100000; i++) {
		it.ts = 5000 + i * 1000;
		it.stream = 0;
		hvlog_timeline_add(t, &it);
		if (i % 7 == 0) {
			it.stream = 1;
			hvlog_timeline_add(t, &it);
		}
	}
	hvlog_timeline_add(t, &(hvlog_item){ .kind = HVLOG_ITEM_LOST, .ts = 6000, .lost_count = 5 });
	hvlog_timeline_info_get(t, &ti);
	ck_assert_uint_eq(ti.origin, 5000);
	/* the span is 99999000 ticks: 1024 * 2^k >= 999990 -> 2^20 = 1048576 */
	ck_assert_uint_eq(ti.bin_ticks, 1048576);
	ck_assert_uint_eq(ti.nbins, 99999000 / 1048576 + 1);
	for (uint32_t b = 0; b < 100; b++) {
		uint64_t n = hvlog_timeline_count(t, 0, UINT32_MAX, b);
		ck_assert_uint_eq(n, hvlog_timeline_count(t, 0, ev->group, b));
		/* bin b holds the events with (i * 1000) / 1048576 == b */
		uint64_t lo = (b * 1048576 + 999) / 1000, hi = ((b + 1) * 1048576 + 999) / 1000;
		if (hi > 100000)
			hi = 100000;
		ck_assert_uint_eq(n, lo < hi ? hi - lo : 0);
		total += n + hvlog_timeline_count(t, 1, UINT32_MAX, b);
	}
	ck_assert_uint_eq(total, 100000 + (100000 + 6) / 7);
	ck_assert_uint_eq(hvlog_timeline_count(t, 2, UINT32_MAX, 0), 0);
	ck_assert_uint_eq(hvlog_timeline_count(t, 0, UINT32_MAX, 100), 0);
	hvlog_timeline_free(t);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");
	Suite *s = suite_create("diff");

	tcase_add_test(tc, test_ks_p_value);
	tcase_add_test(tc, test_diff_finds_the_change);
	tcase_add_test(tc, test_widen);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
