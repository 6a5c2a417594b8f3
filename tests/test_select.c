/*
 * test_select.c - the selection of the library (hvlog/select.h) and the
 * options of the command line over it (cli/select.c): the --where
 * expression language (parse, evaluate, errors with columns), times,
 * groups, events, streams, partitions by their role, what passes,
 * suggestions for misspelt names and control characters in messages;
 * and the reader's chunk skipping (hvlog_reader_set_streams and
 * hvlog_reader_set_time_range) that the selection relies on.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvlog/hvlog.h"
#include "select.h"

static const hvlog_schema *S(void)
{
	return hvlog_schema_builtin();
}

static const hvlog_event *EV(const char *name)
{
	const hvlog_event *e = hvlog_schema_lookup_event(S(), name);
	ck_assert_msg(e != NULL, "no event %s", name);
	return e;
}

static const hvlog_stream_info infos[] = {
	{ "hv", 0, UINT32_MAX }, { "vp0", 1, 0 }, { "vp1", 1, 1 }, { "p2vp0", 2, 0 },
};

static hvlog_meta fake_meta(void)
{
	return (hvlog_meta){ .version_major = 1, .clock_hz = 1000000000u, .schema = S(), .nstreams = 4,
			     .streams = infos };
}

/* A library selection of m with one argument of kind added; NULL (and e
 * filled) if the argument is refused. */
static hvlog_select *one(const hvlog_meta *m, uint64_t t0, hvlog_select_kind kind, const char *arg, hvlog_error *e)
{
	hvlog_select *s;

	ck_assert_int_eq(hvlog_select_create(&s, m, t0, e), HVLOG_OK);
	if (hvlog_select_add(s, kind, arg, e) == HVLOG_OK)
		return s;
	hvlog_select_free(s);
	return NULL;
}

/* Evaluate expr on event `name` with values (through the public API). */
static int eval(const char *expr, const char *name, const uint64_t *values)
{
	hvlog_meta m = fake_meta();
	hvlog_error e;
	hvlog_select *s = one(&m, 0, HVLOG_SEL_WHERE, expr, &e);
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 1, .event = EV(name), .values = values };
	int r;

	ck_assert_msg(s != NULL, "'%s' does not parse: column %d: %s", expr, (int)e.offset + 1, e.msg);
	r = hvlog_select_match(s, &it);
	hvlog_select_free(s);
	return r;
}

/* expr must fail at column col with a message containing `what`. */
static void bad(const char *expr, int col, const char *what)
{
	hvlog_meta m = fake_meta();
	hvlog_error e = { .msg = "" };
	hvlog_select *s = one(&m, 0, HVLOG_SEL_WHERE, expr, &e);
	int c = (int)e.offset + 1;

	ck_assert_msg(s == NULL, "'%s' parsed but should not", expr);
	ck_assert_msg(e.status == HVLOG_INVALID || e.status == HVLOG_UNKNOWN, "'%s': status %d", expr, e.status);
	ck_assert_msg(c == col, "'%s': column %d, expected %d (%s)", expr, c, col, e.msg);
	ck_assert_msg(strstr(e.msg, what) != NULL, "'%s': message '%s' lacks '%s'", expr, e.msg, what);
}

START_TEST(test_where_eval)
{
	const uint64_t pw[] = { 0xfffff80000001000ull, 0x3f8, 5 };    /* IO_PORT_WRITE rip port value */
	const uint64_t pw0[] = { 0xfffff80000001000ull, 0x3f8, 0 };
	const uint64_t pw60[] = { 0x1000, 0x60, 7 };
	const uint64_t msr[] = { 0xfffff80000002000ull, 0x1b, 0xfee00900 }; /* MSR_READ rip index value */
	const uint64_t efer[] = { 0x1000, 0xc0000080, 0x500 };
	const uint64_t msr10[] = { 0x1000, 0x10, 1 };
	const uint64_t exc14[] = { 0x1000, 14 }, exc3[] = { 0x1000, 3 };
	const uint64_t hlt[] = { 0x1000 };
	const uint64_t max[] = { UINT64_MAX, 0x3f8, 5 };

	ck_assert_int_eq(eval("port == 0x3f8 && value != 0", "IM_IO_PORT_WRITE", pw), 1);
	ck_assert_int_eq(eval("port == 0x3f8 && value != 0", "IM_IO_PORT_WRITE", pw0), 0);
	ck_assert_int_eq(eval("port == 0x3f8 && value != 0", "IM_IO_PORT_WRITE", pw60), 0);
	ck_assert_int_eq(eval("port==0x3f8&&value!=0", "IM_IO_PORT_WRITE", pw), 1);
	ck_assert_int_eq(eval("port == 1016", "IM_IO_PORT_WRITE", pw), 1); /* decimal */
	/* an event without the parameter never matches a predicate on it */
	ck_assert_int_eq(eval("port == 0x3f8", "IM_MSR_READ", msr), 0);
	ck_assert_int_eq(eval("port != 0x3f8", "IM_MSR_READ", msr), 0);
	ck_assert_int_eq(eval("!(port == 0x3f8)", "IM_MSR_READ", msr), 0);
	/* ... but || with a parameter it has still can */
	ck_assert_int_eq(eval("port == 1 || index == 0x1b", "IM_MSR_READ", msr), 1);
	ck_assert_int_eq(eval("index == 0x1b || port == 1", "IM_MSR_READ", msr), 1);
	ck_assert_int_eq(eval("port == 1 && index == 0x1b", "IM_MSR_READ", msr), 0);
	ck_assert_int_eq(eval("index in {0x1b, 0xc0000080}", "IM_MSR_READ", msr), 1);
	ck_assert_int_eq(eval("index in {0x1b, 0xc0000080}", "IM_MSR_READ", efer), 1);
	ck_assert_int_eq(eval("index in {0x1b, 0xc0000080}", "IM_MSR_READ", msr10), 0);
	ck_assert_int_eq(eval("index IN {16}", "IM_MSR_READ", msr10), 1);
	ck_assert_int_eq(eval("!(type == 14)", "IM_GUEST_EXCEPTION", exc14), 0);
	ck_assert_int_eq(eval("!(type == 14)", "IM_GUEST_EXCEPTION", exc3), 1);
	ck_assert_int_eq(eval("!(type == 14)", "IM_HLT_INSTRUCTION", hlt), 0);
	ck_assert_int_eq(eval("!!(type == 14)", "IM_GUEST_EXCEPTION", exc14), 1);
	/* keys any case, display names with '_' for spaces */
	ck_assert_int_eq(eval("GUEST_RIP >= 0xfffff80000000000", "IM_MSR_READ", msr), 1);
	ck_assert_int_eq(eval("Guest_RIP >= 0xfffff80000000000", "IM_MSR_READ", efer), 0);
	ck_assert_int_eq(eval("guest_rip == 0xffffffffffffffff", "IM_IO_PORT_WRITE", max), 1);
	ck_assert_int_eq(eval("guest_rip == 18446744073709551615", "IM_IO_PORT_WRITE", max), 1);
	/* comparisons at their bounds */
	ck_assert_int_eq(eval("value < 5", "IM_IO_PORT_WRITE", pw), 0);
	ck_assert_int_eq(eval("value <= 5", "IM_IO_PORT_WRITE", pw), 1);
	ck_assert_int_eq(eval("value > 5", "IM_IO_PORT_WRITE", pw), 0);
	ck_assert_int_eq(eval("value >= 5", "IM_IO_PORT_WRITE", pw), 1);
	ck_assert_int_eq(eval("value > 4 && value < 6", "IM_IO_PORT_WRITE", pw), 1);
	/* && binds tighter than ||; parentheses regroup */
	ck_assert_int_eq(eval("port == 0x3f8 || port == 1 && value == 99", "IM_IO_PORT_WRITE", pw), 1);
	ck_assert_int_eq(eval("(port == 0x3f8 || port == 1) && value == 99", "IM_IO_PORT_WRITE", pw), 0);
	ck_assert_int_eq(eval("((((port == 0x3f8))))", "IM_IO_PORT_WRITE", pw), 1);
	/* value names from the parameter's table, true/false */
	ck_assert_int_eq(eval("index == IA32_EFER", "IM_MSR_READ", efer), 1);
	ck_assert_int_eq(eval("index == ia32_efer", "IM_MSR_READ", msr), 0);
	ck_assert_int_eq(eval("index in {IA32_EFER, 0x1b}", "IM_MSR_READ", msr), 1);
	{
		const uint64_t ov[] = { 10, 0x20, 1, 0x30 };
		ck_assert_int_eq(eval("entering_guest == true && run_time > 9", "KE_OVERRUN", ov), 1);
		ck_assert_int_eq(eval("entering_guest == false", "KE_OVERRUN", ov), 0);
	}
}
END_TEST

START_TEST(test_where_errors)
{
	bad("prot == 1", 1, "unknown parameter 'prot'");
	bad("port == 1 && prot != 0", 14, "unknown parameter 'prot'");
	bad("port = 1", 6, "'=' is not an operator");
	bad("port == 1 & value", 11, "'&' is not an operator");
	bad("port == 1 | value", 11, "'|' is not an operator");
	bad("port ==", 8, "expected a number");
	bad("port == ", 9, "expected a number");
	bad("(port == 1", 1, "never closed");
	bad("port == 1)", 10, "unexpected ')'");
	bad("port == 1 port == 2", 11, "unexpected 'port'");
	bad("port == 0x", 9, "bad number");
	bad("port == 0xfg", 9, "bad number");
	bad("port == 99999999999999999999", 9, "bad number");
	bad("port == 12ab", 9, "bad number");
	bad("", 1, "empty expression");
	bad("   ", 4, "empty expression");
	bad("port in {1, }", 13, "expected a number");
	bad("port in 1", 9, "expected '{'");
	bad("port in {1 2}", 12, "expected ',' or '}'");
	bad("port in {1", 11, "expected ',' or '}'");
	bad("port 1", 6, "expected a comparison");
	bad("port", 5, "expected a comparison");
	bad("port == $", 9, "unexpected character '$'");
	bad("port == -1", 9, "unexpected character '-'");
	bad("index == NOT_AN_MSR", 10, "not a number nor a value name");
	bad("&& port == 1", 1, "expected a parameter name");
	bad("port == 1 &&", 13, "expected a parameter name");
	bad("!", 2, "expected a parameter name");
	bad("()", 2, "expected a parameter name");
}
END_TEST

START_TEST(test_param_index)
{
	const hvlog_schema *s = S();
	int8_t *a = malloc(s->nevents), *b = malloc(s->nevents), *c = malloc(s->nevents);
	uint32_t n = sel_param_index(s, "guest_rip", 9, a);

	ck_assert_uint_gt(n, 20);
	ck_assert_uint_eq(sel_param_index(s, "GUEST RIP", 9, b), n);
	ck_assert_uint_eq(sel_param_index(s, "Guest_Rip", 9, c), n);
	ck_assert_int_eq(memcmp(a, b, s->nevents), 0);
	ck_assert_int_eq(memcmp(a, c, s->nevents), 0);
	ck_assert_int_eq(a[EV("IM_IO_PORT_WRITE") - s->events], 0);
	ck_assert_int_eq(a[EV("IM_EXTERNAL_INTERRUPT") - s->events], -1);
	ck_assert_uint_eq(sel_param_index(s, "port", 4, a), 2);
	ck_assert_int_eq(a[EV("IM_IO_PORT_READ") - s->events], 1);
	ck_assert_uint_eq(sel_param_index(s, "guest_ri", 8, a), 0);
	ck_assert_uint_eq(sel_param_index(s, "guest_ripx", 10, a), 0);
	free(a);
	free(b);
	free(c);
}
END_TEST

/* A time as --since (round_up) or --until takes it: 0 and the tick, or -1. */
static int sel_parse_time(const char *arg, uint64_t t0, uint64_t hz, int round_up, uint64_t *ticks)
{
	hvlog_meta m = fake_meta();
	hvlog_error e;
	hvlog_select *s;
	uint64_t lo, hi;

	m.clock_hz = hz;
	if (!(s = one(&m, t0, round_up ? HVLOG_SEL_SINCE : HVLOG_SEL_UNTIL, arg, &e)))
		return -1;
	hvlog_select_time_range(s, &lo, &hi);
	*ticks = round_up ? lo : hi;
	hvlog_select_free(s);
	return 0;
}

START_TEST(test_time)
{
	uint64_t t;

	ck_assert_int_eq(sel_parse_time("1.5", 100, 1000000000u, 1, &t), 0);
	ck_assert_uint_eq(t, 100 + 1500000000u);
	ck_assert_int_eq(sel_parse_time("2s", 100, 1000000000u, 0, &t), 0);
	ck_assert_uint_eq(t, 100 + 2000000000u);
	ck_assert_int_eq(sel_parse_time("10ms", 0, 1000000000u, 1, &t), 0);
	ck_assert_uint_eq(t, 10000000u);
	ck_assert_int_eq(sel_parse_time("2.5us", 0, 1000000000u, 1, &t), 0);
	ck_assert_uint_eq(t, 2500u);
	ck_assert_int_eq(sel_parse_time("100ns", 7, 1000000000u, 1, &t), 0);
	ck_assert_uint_eq(t, 107u);
	ck_assert_int_eq(sel_parse_time("1000t", 7, 2000000000u, 1, &t), 0);
	ck_assert_uint_eq(t, 1007u);
	ck_assert_int_eq(sel_parse_time("1000ticks", 7, 2000000000u, 0, &t), 0);
	ck_assert_uint_eq(t, 1007u);
	ck_assert_int_eq(sel_parse_time("@1000t", 7, 2000000000u, 1, &t), 0);
	ck_assert_uint_eq(t, 1000u);
	ck_assert_int_eq(sel_parse_time("@1s", 7, 2000000000u, 1, &t), 0);
	ck_assert_uint_eq(t, 2000000000u);
	/* 2 GHz: 1 ns is 2 ticks; "until 0ns" keeps ticks 0 and 1 (printed 0 ns) */
	ck_assert_int_eq(sel_parse_time("1ns", 0, 2000000000u, 1, &t), 0);
	ck_assert_uint_eq(t, 2u);
	ck_assert_int_eq(sel_parse_time("0ns", 0, 2000000000u, 0, &t), 0);
	ck_assert_uint_eq(t, 1u);
	/* saturates instead of wrapping */
	ck_assert_int_eq(sel_parse_time("18446744073709551615t", 10, 1000000000u, 0, &t), 0);
	ck_assert_uint_eq(t, UINT64_MAX);
	const char *bads[] = { "", "@", "abc", "1x", "1.5t", "s", "1.5 s", "-1", "1e3", "99999999999999999999" };
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
		ck_assert_msg(sel_parse_time(bads[i], 0, 1000000000u, 1, &t) != 0, "'%s' accepted", bads[i]);
	/* --since/--until agree with what decode prints, at odd clock rates */
	static const uint64_t hzs[] = { 1000000000u, 2000000000u, 3579545u, 2399999999u, 1u, 7u };
	uint64_t rng = 1;
	for (size_t h = 0; h < sizeof hzs / sizeof hzs[0]; h++)
		for (int i = 0; i < 2000; i++) {
			uint64_t t0 = 12345, d, ns, lo, hi;
			char arg[40];
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			d = (rng >> 20) % (hzs[h] < 1000 ? 1000000000ull : 100000000000ull);
			ns = hvlog_ticks_to_ns(t0 + d, t0, hzs[h]);
			snprintf(arg, sizeof arg, "%lluns", (unsigned long long)ns);
			ck_assert_int_eq(sel_parse_time(arg, t0, hzs[h], 1, &lo), 0);
			ck_assert_int_eq(sel_parse_time(arg, t0, hzs[h], 0, &hi), 0);
			ck_assert_msg(lo <= t0 + d && t0 + d <= hi, "hz %llu d %llu ns %llu: %llu..%llu",
				      (unsigned long long)hzs[h], (unsigned long long)d, (unsigned long long)ns,
				      (unsigned long long)lo, (unsigned long long)hi);
			ck_assert(lo == t0 || hvlog_ticks_to_ns(lo - 1, t0, hzs[h]) < ns);
			ck_assert(hvlog_ticks_to_ns(hi + 1, t0, hzs[h]) > ns);
		}
}
END_TEST

/* The groups of the events one --group argument selects. */
static int sel_group_mask(const hvlog_schema *sc, const char *arg, uint64_t *mask)
{
	hvlog_meta m = fake_meta();
	hvlog_error e;
	hvlog_select *s;

	m.schema = sc;
	if (!(s = one(&m, 0, HVLOG_SEL_GROUP, arg, &e)))
		return -1;
	*mask |= hvlog_select_group_mask(s);
	hvlog_select_free(s);
	return 0;
}

START_TEST(test_groups)
{
	uint64_t m = 0;

	ck_assert_int_eq(sel_group_mask(S(), "interrupt", &m), 0);
	ck_assert_uint_eq(m, 0x800);
	m = 0;
	ck_assert_int_eq(sel_group_mask(S(), "INTERRUPT MANAGER", &m), 0);
	ck_assert_uint_eq(m, 0x800);
	m = 0;
	ck_assert_int_eq(sel_group_mask(S(), "0x800", &m), 0);
	ck_assert_uint_eq(m, 0x800);
	m = 0;
	ck_assert_int_eq(sel_group_mask(S(), "0x400|0x800", &m), 0);
	ck_assert_uint_eq(m, 0xc00);
	m = 0;
	ck_assert_int_eq(sel_group_mask(S(), "hypercall | interrupt", &m), 0);
	ck_assert_uint_eq(m, 0xc00);
	m = 0;
	ck_assert_int_eq(sel_group_mask(S(), "3072", &m), 0);
	ck_assert_uint_eq(m, 0xc00);
	const char *bads[] = { "nosuch", "0x1", "0", "", "|", "interrupt|", "0x800|nosuch", "-1" };
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
		ck_assert_msg(sel_group_mask(S(), bads[i], &m) != 0, "'%s' accepted", bads[i]);
}
END_TEST

/* ---- whole selections on a made-up trace's metadata ------------------- */

/* Parse argv (selection options only) and compile; returns sel_compile's result. */
static int compile(hvsel *s, const hvlog_meta *m, char *err, size_t cap, ...)
{
	char *argv[32] = { "test" };
	int argc = 1;
	va_list ap;
	const char *a;

	va_start(ap, cap);
	while ((a = va_arg(ap, const char *)))
		argv[argc++] = (char *)a;
	va_end(ap);
	sel_init(s);
	ck_assert_int_eq(argp_parse(&sel_argp, argc, argv, ARGP_NO_EXIT | ARGP_NO_ERRS | ARGP_NO_HELP, NULL, s),
			 0);
	return sel_compile(s, m, 1000, err, cap);
}

static hvlog_item event_item(const char *name, uint32_t stream, uint64_t ts, const uint64_t *v)
{
	return (hvlog_item){ .kind = HVLOG_ITEM_EVENT, .stream = stream, .ts = ts, .event = EV(name), .values = v };
}

static uint32_t nselected(const hvsel *s)
{
	uint32_t n = 0;
	for (uint32_t e = 0; e < s->nevents; e++)
		n += s->ev_ok[e];
	return n;
}

START_TEST(test_select_events)
{
	hvlog_meta m = fake_meta();
	hvsel s;
	char err[512];

	ck_assert_int_eq(compile(&s, &m, err, sizeof err, NULL), 0);
	ck_assert_uint_eq(nselected(&s), S()->nevents);
	ck_assert(s.all_events);
	sel_free(&s);

	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--event", "IM_MSR_*", NULL), 0);
	ck_assert_uint_eq(nselected(&s), 2);
	ck_assert(s.ev_ok[EV("IM_MSR_WRITE") - S()->events]);
	ck_assert_uint_eq(s.group_mask, 0x800);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "-e", "hv_tr_im_msr_?ead", "-e", "0x22", NULL), 0);
	ck_assert_uint_eq(nselected(&s), 2);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "-e", "im_msr_read", "-e", "HV_TR_HC_HYPERCALL", NULL), 0);
	ck_assert_uint_eq(nselected(&s), 2);
	ck_assert_uint_eq(s.group_mask, 0xc00);
	sel_free(&s);
	/* groups and events add up; exclusions subtract */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--group", "hypercall", "--event", "33", NULL), 0);
	ck_assert_uint_eq(nselected(&s), 2);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--group", "interrupt", "--exclude-event", "IM_MSR_*",
				 "--exclude-event", "0x25", NULL), 0);
	uint32_t irq = 0;
	for (uint32_t e = 0; e < S()->nevents; e++)
		irq += S()->groups[S()->events[e].group].mask == 0x800;
	ck_assert_uint_eq(nselected(&s), irq - 3);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--exclude-group", "interrupt", NULL), 0);
	ck_assert_uint_eq(nselected(&s), S()->nevents - irq);
	ck_assert(!s.all_events);
	sel_free(&s);
	/* nothing at all: an empty result, not an error */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "-g", "interrupt", "--exclude-group", "0x800", NULL), 0);
	ck_assert_uint_eq(nselected(&s), 0);
	{
		const uint64_t v[] = { 1, 2, 3 };
		hvlog_item it = event_item("IM_MSR_READ", 1, 2000, v);
		ck_assert(!sel_match(&s, &it));
	}
	sel_free(&s);

	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--event", "NOPE_*", NULL), -1);
	ck_assert_msg(strstr(err, "unknown event 'NOPE_*'"), "%s", err);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--exclude-event", "IM_MSR_REED", NULL), -1);
	ck_assert_msg(strstr(err, "unknown event 'IM_MSR_REED'"), "%s", err);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--group", "nosuch", NULL), -1);
	ck_assert_msg(strstr(err, "unknown group 'nosuch'"), "%s", err);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--exclude-group", "0x1", NULL), -1);
	sel_free(&s);
}
END_TEST

START_TEST(test_select_match)
{
	hvlog_meta m = fake_meta();
	hvsel s;
	char err[512];
	const uint64_t io[] = { 0x1000, 0x3f8, 5 }, io0[] = { 0x1000, 0x3f8, 0 };
	const uint64_t cs1[] = { 1, 0x1001, 0 }, cs2[] = { 2, 0x1001, 0 }; /* SCH_CONTEXT_SWITCH partition_id first */
	hvlog_item lost = { .kind = HVLOG_ITEM_LOST, .stream = 2, .ts = 5000, .lost_count = 3 };
	hvlog_item damage = { .kind = HVLOG_ITEM_DAMAGE, .stream = UINT32_MAX, .ts = 0 };
	hvlog_item it;

	/* streams by id, by name, and by VP (over partitions) */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--stream", "1", "--stream", "p2vp0", NULL), 0);
	it = event_item("IM_IO_PORT_WRITE", 1, 2000, io);
	ck_assert(sel_match(&s, &it));
	it.stream = 3;
	ck_assert(sel_match(&s, &it));
	it.stream = 2;
	ck_assert(!sel_match(&s, &it));
	ck_assert(!sel_match(&s, &lost)); /* the lost records of other streams go too */
	lost.stream = 1;
	ck_assert(sel_match(&s, &lost));
	ck_assert(sel_match(&s, &damage));
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--vp", "0", NULL), 0);
	ck_assert(s.stream_ok[1] && s.stream_ok[3] && !s.stream_ok[0] && !s.stream_ok[2]);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--stream", "4", NULL), -1);
	ck_assert_msg(strstr(err, "no stream '4'"), "%s", err);
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--vp", "7", NULL), -1);
	ck_assert_msg(strstr(err, "virtual processor 7"), "%s", err);
	sel_free(&s);

	/* partition: the event's own Partition ID first, else its stream's */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--partition", "2", NULL), 0);
	it = event_item("IM_IO_PORT_WRITE", 3, 2000, io);
	ck_assert(sel_match(&s, &it));
	it.stream = 1;
	ck_assert(!sel_match(&s, &it));
	it.stream = 0; /* the hv stream has no partition */
	ck_assert(!sel_match(&s, &it));
	it = event_item("SCH_CONTEXT_SWITCH", 0, 2000, cs2);
	ck_assert(sel_match(&s, &it));
	it = event_item("SCH_CONTEXT_SWITCH", 3, 2000, cs1);
	ck_assert(!sel_match(&s, &it));
	ck_assert(sel_match(&s, &lost)); /* lost events pass the event criteria */
	sel_free(&s);

	/* time: relative to t0 = 1000 here, both ends inclusive */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--since", "1us", "--until", "2000t", NULL), 0);
	ck_assert_uint_eq(s.lo, 2000);
	ck_assert_uint_eq(s.hi, 3000);
	it = event_item("IM_IO_PORT_WRITE", 1, 1999, io);
	ck_assert(!sel_match(&s, &it));
	it.ts = 2000;
	ck_assert(sel_match(&s, &it));
	it.ts = 3000;
	ck_assert(sel_match(&s, &it));
	it.ts = 3001;
	ck_assert(!sel_match(&s, &it));
	ck_assert(!sel_match(&s, &lost)); /* at 5000 */
	ck_assert(sel_match(&s, &damage));
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--since", "soon", NULL), -1);
	ck_assert_msg(strstr(err, "bad time 'soon' for --since"), "%s", err);
	sel_free(&s);

	/* --where: several must all hold; errors carry the column */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "-w", "port == 0x3f8", "--where", "value != 0", NULL), 0);
	it = event_item("IM_IO_PORT_WRITE", 1, 2000, io);
	ck_assert(sel_match(&s, &it));
	it.values = io0;
	ck_assert(!sel_match(&s, &it));
	it = event_item("SCH_CONTEXT_SWITCH", 1, 2000, cs1);
	ck_assert(!sel_match(&s, &it));
	ck_assert(sel_match(&s, &lost));
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--where", "port == 1 && prot != 0", NULL), -1);
	ck_assert_msg(strstr(err, "--where: column 14: unknown parameter 'prot'"), "%s", err);
	sel_free(&s);

	/* combined: group + stream + where + time */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "-g", "interrupt", "--vp", "1", "-w", "value >= 5",
				 "--until", "1us", NULL), 0);
	it = event_item("IM_IO_PORT_WRITE", 2, 2000, io);
	ck_assert(sel_match(&s, &it));
	it.stream = 1;
	ck_assert(!sel_match(&s, &it));
	it.stream = 2;
	it.ts = 2001;
	ck_assert(!sel_match(&s, &it));
	sel_free(&s);

	/* --limit and --count are parsed here too */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--limit", "7", "--count", NULL), 0);
	ck_assert_uint_eq(s.limit, 7);
	ck_assert_int_eq(s.count, 1);
	sel_free(&s);
}
END_TEST

/* ---- errors: suggestions, control characters ------------------------------ */

START_TEST(test_did_you_mean)
{
	hvlog_meta m = fake_meta();
	hvlog_error e;
	hvsel s;
	char err[512];

	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_GROUP, "interupt", &e));
	ck_assert_int_eq(e.status, HVLOG_UNKNOWN);
	ck_assert_str_eq(e.msg, "unknown group 'interupt': did you mean 'interrupt'? (see `hvlog events`)");
	ck_assert_uint_eq(e.offset, UINT64_MAX);
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_EXCLUDE_GROUP, "Hypercal", &e));
	ck_assert_msg(strstr(e.msg, "did you mean 'hypercall'?"), "%s", e.msg);
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_EVENT, "IM_MSR_REED", &e));
	ck_assert_str_eq(e.msg, "unknown event 'IM_MSR_REED': did you mean 'IM_MSR_READ'? (see `hvlog events`)");
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_EVENT, "hv_tr_im_msr_wrtie", &e));
	ck_assert_msg(strstr(e.msg, "did you mean 'IM_MSR_WRITE'?"), "%s", e.msg);
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_WHERE, "port == 1 && prot != 0", &e));
	ck_assert_str_eq(e.msg, "unknown parameter 'prot': no event of the schema has it; did you mean 'port'? "
				"(see `hvlog events`)");
	ck_assert_uint_eq(e.offset, 13);
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_WHERE, "guest_ripp > 0", &e));
	ck_assert_msg(strstr(e.msg, "did you mean 'guest_rip'?"), "%s", e.msg);
	/* nothing close: no guess; a glob is not a misspelt name */
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_GROUP, "nosuch", &e));
	ck_assert_str_eq(e.msg, "unknown group 'nosuch' (see `hvlog events`)");
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_EVENT, "IM_MSR_REE*", &e));
	ck_assert_str_eq(e.msg, "unknown event 'IM_MSR_REE*' (see `hvlog events`)");
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_WHERE, "xyzzy == 1", &e));
	ck_assert_msg(!strstr(e.msg, "did you mean"), "%s", e.msg);
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_GROUP, "vq", &e)); /* 1 of 2 letters is not a typo */
	ck_assert_msg(!strstr(e.msg, "did you mean"), "%s", e.msg);
	/* the command line prints the same */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "-g", "interupt", NULL), -1);
	ck_assert_str_eq(err, "unknown group 'interupt': did you mean 'interrupt'? (see `hvlog events`)");
	sel_free(&s);
}
END_TEST

static int has_control(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f)
			return 1;
	return 0;
}

START_TEST(test_error_controls)
{
	hvlog_meta m = fake_meta();
	hvlog_error e;
	hvsel s;
	char err[512];

	/* a raw ESC in an expression: neither the message nor the echo of
	 * the expression carries it to the terminal; the caret stays under it */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--where", "port == \x1b[2J", NULL), -1);
	ck_assert_msg(!has_control(err), "control character in '%s'", err);
	ck_assert_str_eq(err, "--where: column 9: unexpected character '?'\n  port == ?[2J\n          ^");
	sel_free(&s);
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--where", "\tport = 1\x7f", NULL), -1);
	ck_assert_str_eq(err, "--where: column 7: '=' is not an operator: did you mean '=='?\n  ?port = 1?\n        ^");
	sel_free(&s);
	/* the other options quote their argument the same way */
	ck_assert_int_eq(compile(&s, &m, err, sizeof err, "--group", "\x1b]0;x\a", NULL), -1);
	ck_assert_str_eq(err, "unknown group '?]0;x?' (see `hvlog events`)");
	sel_free(&s);
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_STREAM, "vp\x1b", &e));
	ck_assert_msg(!has_control(e.msg), "%s", e.msg);
	ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_SINCE, "1\x1bs", &e));
	ck_assert_msg(!has_control(e.msg), "%s", e.msg);
	/* a long argument is cut, the hint after it kept */
	{
		char longname[300];
		memset(longname, 'x', sizeof longname - 1);
		longname[sizeof longname - 1] = 0;
		ck_assert_ptr_null(one(&m, 0, HVLOG_SEL_UNTIL, longname, &e));
		ck_assert_msg(strstr(e.msg, "...' for --until (seconds like"), "%s", e.msg);
		ck_assert_msg(strstr(e.msg, "'@' first for absolute)"), "%s", e.msg);
	}
}
END_TEST

/* ---- parameter roles, group lists ---------------------------------------------- */

/* A custom schema whose partition parameter is not called partition_id. */
static const hvlog_param vm_params[] = {
	{ "vm", "VM", HVLOG_TYPE_U64, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_PARTITION_ID },
	{ "partition_id", "Not the partition", HVLOG_TYPE_U64, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL,
	  HVLOG_ROLE_NONE },
};
static const hvlog_group vm_groups[] = { { "vm", "VM", 1 } };
static const hvlog_event vm_events[] = { { 0x300, "VM_EXIT", "VM Exit", 0, vm_params, 2, 0 } };
static const hvlog_schema vm_schema = { "vmtool", 1, vm_groups, 1, vm_events, 1, NULL, 0, 2 };

START_TEST(test_roles)
{
	const hvlog_schema *b = S();
	hvlog_meta m = fake_meta();
	hvlog_error e;
	hvlog_select *s;
	const uint64_t v1[] = { 7, 2 }, v2[] = { 2, 7 };
	hvlog_item it = { .kind = HVLOG_ITEM_EVENT, .stream = 0, .event = &vm_events[0], .values = v1 };

	/* marked in the built-in schema */
	ck_assert_int_eq(hvlog_event_param_by_role(EV("SCH_CONTEXT_SWITCH"), HVLOG_ROLE_PARTITION_ID), 0);
	ck_assert_int_eq(hvlog_event_param_by_role(EV("SCH_CONTEXT_SWITCH"), HVLOG_ROLE_THREAD_ID), 1);
	ck_assert_int_eq(hvlog_event_param_by_role(EV("IM_IO_PORT_WRITE"), HVLOG_ROLE_GUEST_RIP), 0);
	ck_assert_int_eq(hvlog_event_param_by_role(EV("IM_IO_PORT_WRITE"), HVLOG_ROLE_PARTITION_ID), -1);
	ck_assert_int_eq(hvlog_event_param_by_role(EV("IM_IO_PORT_WRITE"), HVLOG_ROLE_NONE), -1);
	for (uint32_t e2 = 0; e2 < b->nevents; e2++)
		for (uint32_t i = 0; i < b->events[e2].nparams; i++)
			ck_assert_int_eq(b->events[e2].params[i].role == HVLOG_ROLE_PARTITION_ID,
					 !strcmp(b->events[e2].params[i].key, "partition_id"));
	ck_assert_str_eq(hvlog_role_name(HVLOG_ROLE_PARTITION_ID), "partition_id");
	ck_assert_str_eq(hvlog_role_name(HVLOG_ROLE_COUNT_), "?");
	/* a schema read from a file has no roles: the built-in ones by number and key */
	{
		hvlog_param p[3];
		hvlog_event ev = *EV("SCH_CONTEXT_SWITCH");
		memcpy(p, ev.params, sizeof p);
		for (int i = 0; i < 3; i++)
			p[i].role = HVLOG_ROLE_NONE;
		ev.params = p;
		ck_assert_int_eq(hvlog_event_param_by_role(&ev, HVLOG_ROLE_PARTITION_ID), 0);
		ev.number = 0x3333; /* not a built-in event */
		ck_assert_int_eq(hvlog_event_param_by_role(&ev, HVLOG_ROLE_PARTITION_ID), -1);
	}
	/* --partition follows the role, not the key */
	m.schema = &vm_schema;
	ck_assert_ptr_nonnull(s = one(&m, 0, HVLOG_SEL_PARTITION, "7", &e));
	ck_assert(hvlog_select_match(s, &it));
	it.values = v2;
	ck_assert(!hvlog_select_match(s, &it));
	hvlog_select_free(s);
}
END_TEST

START_TEST(test_parse_groups)
{
	hvlog_error e;
	uint64_t m = 0x1;

	ck_assert_int_eq(hvlog_schema_parse_groups(S(), "interrupt,Hypercall", &m, &e), HVLOG_OK);
	ck_assert_uint_eq(m, 0xc01);
	m = 0;
	ck_assert_int_eq(hvlog_schema_parse_groups(S(), ",interrupt,,0x400|scheduler,", &m, &e), HVLOG_OK);
	ck_assert_uint_eq(m, 0xc00 | hvlog_schema_lookup_group(S(), "scheduler")->mask);
	m = 0;
	ck_assert_int_eq(hvlog_schema_parse_groups(S(), "", &m, &e), HVLOG_OK);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(hvlog_schema_parse_groups(S(), "interrupt,nosuch", &m, &e), HVLOG_UNKNOWN);
	ck_assert_uint_eq(m, 0);
	ck_assert_str_eq(e.msg, "unknown group 'nosuch' (see `hvlog events`)");
	ck_assert_int_eq(hvlog_schema_parse_groups(S(), "interupt", &m, &e), HVLOG_UNKNOWN);
	ck_assert_str_eq(e.msg, "unknown group 'interupt': did you mean 'interrupt'? (see `hvlog events`)");
}
END_TEST

/* ---- the reader skips chunks by stream and time -------------------------- */

START_TEST(test_reader_skip)
{
	char path[] = "/tmp/hvlog-select-XXXXXX";
	int fd = mkstemp(path);
	hvlog_writer_config cfg = { .nstreams = 3, .chunk_size = 1024 };
	hvlog_writer *w;
	hvlog_reader *r;
	hvlog_error err;
	hvlog_reader_stats st;
	const hvlog_item *it;
	uint64_t all[3] = { 0 }, got[3] = { 0 }, inrange = 0, chunks_all;
	const uint8_t keep[] = { 0, 1, 0 };

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(hvlog_writer_open_fd(&w, fd, &cfg, &err), HVLOG_OK);
	for (uint64_t i = 0; i < 30000; i++) {
		uint32_t s = (uint32_t)(i % 3);
		hvlog_emit_im_io_port_write(hvlog_writer_stream(w, s), 1000 + i * 10, 0x1000 + i, 0x3f8, (uint32_t)i);
		all[s]++;
		if (1000 + i * 10 >= 100000 && 1000 + i * 10 <= 150000 && s == 1)
			inrange++;
	}
	/* a chunk whose time goes back: never skipped by time */
	hvlog_emit_im_hlt_instruction(hvlog_writer_stream(w, 1), 5000000, 1);
	hvlog_emit_im_hlt_instruction(hvlog_writer_stream(w, 1), 120000, 2);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	close(fd);

	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
		;
	hvlog_reader_stats_get(r, &st);
	chunks_all = st.chunks;
	ck_assert_uint_gt(chunks_all, 30);
	hvlog_reader_close(r);

	/* streams */
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	hvlog_reader_set_streams(r, keep, 3);
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
		if (it->kind == HVLOG_ITEM_EVENT && it->event->number == 0x29)
			got[it->stream]++;
	hvlog_reader_stats_get(r, &st);
	ck_assert_uint_eq(got[0], 0);
	ck_assert_uint_eq(got[1], all[1]);
	ck_assert_uint_eq(got[2], 0);
	ck_assert_uint_lt(st.chunks, chunks_all / 2);
	hvlog_reader_close(r);

	/* time range and streams together */
	uint64_t n = 0, hlt = 0;
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	hvlog_reader_set_streams(r, keep, 3);
	hvlog_reader_set_time_range(r, 100000, 150000);
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK) {
		if (it->kind != HVLOG_ITEM_EVENT)
			continue;
		if (it->event->number == 0x25)
			hlt++;
		else if (it->ts >= 100000 && it->ts <= 150000)
			n++;
	}
	hvlog_reader_stats_get(r, &st);
	ck_assert_uint_eq(n, inrange);
	ck_assert_uint_eq(hlt, 2); /* the BACKWARDS chunk was read although 5000000 is out of range */
	ck_assert_uint_lt(st.chunks, chunks_all / 9); /* a sixth of one stream of three, and the last chunk */
	hvlog_reader_close(r);

	/* NULL keep and an open range: everything again */
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	hvlog_reader_set_streams(r, NULL, 0);
	hvlog_reader_set_time_range(r, 0, UINT64_MAX);
	n = 0;
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
		n += it->kind == HVLOG_ITEM_EVENT;
	ck_assert_uint_eq(n, 30002);
	hvlog_reader_close(r);
	unlink(path);
}
END_TEST

/* The item pipeline: the same items as the loop it stands for, the limit
 * counted in events only, a step that stops, counts that add up, and a
 * damaged trace whose damage passes whatever the selection. */
struct run_seen {
	uint64_t items, events, stop_at;
};

static int run_count(void *ctx, const hvlog_item *it)
{
	struct run_seen *v = ctx;

	v->items++;
	v->events += it->kind == HVLOG_ITEM_EVENT;
	return v->stop_at && v->items == v->stop_at;
}

START_TEST(test_select_run)
{
	static const char *const traces[] = { HVLOG_SOURCE_DIR "/testdata/golden/all.bin",
					      HVLOG_SOURCE_DIR "/testdata/damaged/payload-bitflip.bin" };

	for (size_t t = 0; t < sizeof traces / sizeof traces[0]; t++) {
		hvlog_reader *base, *r;
		hvlog_reader_stats st;
		hvlog_select *s;
		hvlog_error err;
		const hvlog_item *it;
		hvlog_run_counts n = { 0 };
		struct run_seen v = { 0 };
		uint64_t want_ev = 0, want_lost = 0, want_dmg = 0;

		/* the selection is compiled against base's metadata, which its
		 * siblings share; the reference: the loop written out */
		ck_assert_int_eq(hvlog_reader_open_path(&base, traces[t], &err), HVLOG_OK);
		hvlog_reader_stats_get(base, &st);
		ck_assert_int_eq(hvlog_select_create(&s, hvlog_reader_meta(base), st.first_ts, &err), HVLOG_OK);
		ck_assert_int_eq(hvlog_reader_open_sibling(&r, base, &err), HVLOG_OK);
		ck_assert_int_eq(hvlog_select_add(s, HVLOG_SEL_GROUP, "interrupt", &err), HVLOG_OK);
		while (hvlog_reader_next(r, &it, &err) == HVLOG_OK) {
			if (!hvlog_select_match(s, it))
				continue;
			want_ev += it->kind == HVLOG_ITEM_EVENT;
			want_lost += it->kind == HVLOG_ITEM_LOST;
			want_dmg += it->kind == HVLOG_ITEM_DAMAGE;
		}
		hvlog_reader_close(r);
		ck_assert_uint_gt(want_ev, 3);
		ck_assert_uint_eq(want_dmg > 0, t == 1);

		ck_assert_int_eq(hvlog_reader_open_sibling(&r, base, &err), HVLOG_OK);
		ck_assert_int_eq(hvlog_select_run(r, s, UINT64_MAX, run_count, &v, &n, &err), HVLOG_END);
		ck_assert_uint_eq(n.events, want_ev);
		ck_assert_uint_eq(n.lost, want_lost);
		ck_assert_uint_eq(n.damage, want_dmg);
		ck_assert_uint_eq(v.items, want_ev + want_lost + want_dmg);
		hvlog_reader_close(r);

		/* the same with the selection applied to the reader (its group
		 * mask then does all of it, and the run tests no item), and
		 * applied but the reader's mask widened again afterwards (the
		 * run must test every item itself) */
		for (int widen = 0; widen < 2; widen++) {
			hvlog_run_counts m = { 0 };
			ck_assert_int_eq(hvlog_reader_open_sibling(&r, base, &err), HVLOG_OK);
			hvlog_select_apply(s, r);
			if (widen)
				hvlog_reader_set_group_mask(r, 0);
			ck_assert_int_eq(hvlog_select_run(r, s, UINT64_MAX, run_count, &v, &m, &err), HVLOG_END);
			ck_assert_uint_eq(m.events, want_ev);
			ck_assert_uint_eq(m.lost, want_lost);
			ck_assert_uint_eq(m.damage, want_dmg);
			hvlog_reader_close(r);
		}

		/* a group less one of its events, applied: the reader's mask
		 * keeps the whole group, so the run still tests every item */
		{
			hvlog_select *s2;
			hvlog_run_counts m = { 0 };
			uint64_t want2 = 0;
			ck_assert_int_eq(hvlog_select_create(&s2, hvlog_reader_meta(base), st.first_ts, &err), HVLOG_OK);
			ck_assert_int_eq(hvlog_select_add(s2, HVLOG_SEL_GROUP, "interrupt", &err), HVLOG_OK);
			ck_assert_int_eq(hvlog_select_add(s2, HVLOG_SEL_EXCLUDE_EVENT, "IM_MSR_READ", &err), HVLOG_OK);
			ck_assert_int_eq(hvlog_reader_open_sibling(&r, base, &err), HVLOG_OK);
			while (hvlog_reader_next(r, &it, &err) == HVLOG_OK)
				want2 += it->kind == HVLOG_ITEM_EVENT && hvlog_select_match(s2, it);
			hvlog_reader_close(r);
			ck_assert_uint_gt(want2, 0);
			ck_assert_uint_lt(want2, want_ev);
			ck_assert_int_eq(hvlog_reader_open_sibling(&r, base, &err), HVLOG_OK);
			hvlog_select_apply(s2, r);
			ck_assert_int_eq(hvlog_select_run(r, s2, UINT64_MAX, run_count, &v, &m, &err), HVLOG_END);
			ck_assert_uint_eq(m.events, want2);
			hvlog_reader_close(r);
			hvlog_select_free(s2);
		}

		/* a limit of 3 events: exactly 3 events, and HVLOG_END; counts add up */
		ck_assert_int_eq(hvlog_reader_open_sibling(&r, base, &err), HVLOG_OK);
		v = (struct run_seen){ 0 };
		ck_assert_int_eq(hvlog_select_run(r, s, 3, run_count, &v, &n, &err), HVLOG_END);
		ck_assert_uint_eq(v.events, 3);
		ck_assert_uint_eq(n.events, want_ev + 3);
		hvlog_reader_close(r);

		/* a step that stops: HVLOG_OK, no more items; NULL selection and counts */
		ck_assert_int_eq(hvlog_reader_open_sibling(&r, base, &err), HVLOG_OK);
		v = (struct run_seen){ .stop_at = 2 };
		ck_assert_int_eq(hvlog_select_run(r, NULL, UINT64_MAX, run_count, &v, NULL, &err), HVLOG_OK);
		ck_assert_uint_eq(v.items, 2);
		hvlog_reader_close(r);
		hvlog_select_free(s);
		hvlog_reader_close(base);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("select");
	TCase *tc = tcase_create("where");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_where_eval);
	tcase_add_test(tc, test_where_errors);
	tcase_add_test(tc, test_param_index);
	suite_add_tcase(s, tc);
	tc = tcase_create("options");
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_select_events);
	tcase_add_test(tc, test_select_match);
	tcase_add_test(tc, test_did_you_mean);
	tcase_add_test(tc, test_error_controls);
	tcase_add_test(tc, test_roles);
	tcase_add_test(tc, test_parse_groups);
	suite_add_tcase(s, tc);
	tc = tcase_create("reader");
	tcase_add_test(tc, test_reader_skip);
	tcase_add_test(tc, test_select_run);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
