/*
 * select.c - the selection options: argp parsing, then thin glue over the
 * library's selection (hvlog/select.h), which compiles and matches.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

static int list_add(sel_list *l, const char *arg)
{
	const char **nv = realloc(l->v, (size_t)(l->n + 1) * sizeof *nv);

	if (!nv)
		return -1;
	l->v = nv;
	l->v[l->n++] = arg;
	return 0;
}

/* A whole string as a number: "0x..." hex, else decimal (--limit); 0, -1
 * (not a number) or -2 (too large). */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!((*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (*end)
		return -1;
	return errno == ERANGE ? -2 : errno ? -1 : 0;
}

/* ---- options ------------------------------------------------------------- */

enum {
	OPT_XGROUP = 0x1000,
	OPT_XEVENT,
	OPT_VP,
	OPT_SINCE,
	OPT_UNTIL,
};

static const struct argp_option sel_options[] = {
	{ "group", 'g', "GROUP", 0,
	  "events of GROUP: alias (interrupt), full name in any case, or a mask (0x800, 0x400|0x800); repeatable", 0 },
	{ "exclude-group", OPT_XGROUP, "GROUP", 0, "not the events of GROUP; repeatable", 0 },
	{ "event", 'e', "EVENT", 0,
	  "EVENT: symbol with or without HV_TR_, any case, a glob (IM_MSR_*) or a number (0x21); repeatable", 0 },
	{ "exclude-event", OPT_XEVENT, "EVENT", 0, "not EVENT (same forms); repeatable", 0 },
	{ "stream", 's', "N", 0, "stream N (its id or name, as decode shows it); repeatable", 0 },
	{ "vp", OPT_VP, "N", 0, "the streams of virtual processor N (any partition); repeatable", 0 },
	{ "partition", 'p', "ID", 0,
	  "events of partition ID: their Partition ID parameter, else their stream's partition; repeatable", 0 },
	{ "since", OPT_SINCE, "T", 0,
	  "events at or after T: seconds (1.5, 2s), ms, us, ns or ticks (1000t) from the trace start; "
	  "'@' before T counts from tick 0",
	  0 },
	{ "until", OPT_UNTIL, "T", 0, "events at or before T (same forms)", 0 },
	{ "where", 'w', "EXPR", 0,
	  "events whose parameters satisfy EXPR, e.g. 'port == 0x3f8 && value != 0', "
	  "'index in {0x1b, 0xc0000080}', '!(type == 14)'; repeatable (all must hold)",
	  0 },
	{ "limit", 'n', "N", 0, "stop after N matching events", 0 },
	{ "count", 'c', NULL, 0, "print only the number of matching events", 0 },
	{ 0 }
};

static error_t sel_parse(int key, char *arg, struct argp_state *state)
{
	hvsel *s = state->input;
	sel_list *l;

	switch (key) {
	case 'g': l = &s->groups; break;
	case OPT_XGROUP: l = &s->xgroups; break;
	case 'e': l = &s->events; break;
	case OPT_XEVENT: l = &s->xevents; break;
	case 's': l = &s->streams; break;
	case OPT_VP: l = &s->vps; break;
	case 'p': l = &s->partitions; break;
	case 'w': l = &s->wheres; break;
	case OPT_SINCE:
		s->since = arg;
		return 0;
	case OPT_UNTIL:
		s->until = arg;
		return 0;
	case 'n': {
		int rc = parse_u64(arg, &s->limit);
		if (rc == -2)
			argp_error(state, "--limit %s is too large (at most %llu)", arg, (unsigned long long)UINT64_MAX);
		else if (rc != 0)
			argp_error(state, "--limit wants a number, not '%s'", arg);
		return 0;
	}
	case 'c':
		s->count = 1;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	if (list_add(l, arg) != 0)
		argp_failure(state, 3, ENOMEM, "options");
	return 0;
}

const struct argp sel_argp = { sel_options, sel_parse, NULL, NULL, NULL, NULL, NULL };

void sel_init(hvsel *s)
{
	memset(s, 0, sizeof *s);
	s->limit = UINT64_MAX;
	s->hi = UINT64_MAX;
}

uint32_t sel_param_index(const hvlog_schema *sc, const char *name, size_t len, int8_t *idx)
{
	return hvlog_schema_param_index(sc, name, len, idx);
}

/* ---- compile, apply, match ----------------------------------------------- */

/* The options in the order they are checked (the first bad one is reported). */
static void given(const hvsel *s, const sel_list *lists[HVLOG_SEL_KIND_COUNT_], sel_list one[2])
{
	one[0] = (sel_list){ (const char **)&s->since, s->since != NULL };
	one[1] = (sel_list){ (const char **)&s->until, s->until != NULL };
	lists[HVLOG_SEL_GROUP] = &s->groups;
	lists[HVLOG_SEL_EXCLUDE_GROUP] = &s->xgroups;
	lists[HVLOG_SEL_EVENT] = &s->events;
	lists[HVLOG_SEL_EXCLUDE_EVENT] = &s->xevents;
	lists[HVLOG_SEL_STREAM] = &s->streams;
	lists[HVLOG_SEL_VP] = &s->vps;
	lists[HVLOG_SEL_PARTITION] = &s->partitions;
	lists[HVLOG_SEL_SINCE] = &one[0];
	lists[HVLOG_SEL_UNTIL] = &one[1];
	lists[HVLOG_SEL_WHERE] = &s->wheres;
}

/* The order of hvlog_select_kind, but times before expressions, as ever. */
static const hvlog_select_kind order[] = {
	HVLOG_SEL_GROUP, HVLOG_SEL_EXCLUDE_GROUP, HVLOG_SEL_EVENT, HVLOG_SEL_EXCLUDE_EVENT, HVLOG_SEL_STREAM,
	HVLOG_SEL_VP, HVLOG_SEL_PARTITION, HVLOG_SEL_SINCE, HVLOG_SEL_UNTIL, HVLOG_SEL_WHERE,
};

/* A --where error: the library's message at its column, then the
 * expression (control characters as '?': C0, DEL and both bytes of a C1
 * control, UTF-8 C2 80..C2 9F; so that none reaches the terminal and the
 * caret stays under its byte) and a caret. */
static void where_error(char *err, size_t cap, const char *expr, const hvlog_error *e)
{
	size_t n = strlen(expr);
	char *shown = malloc(n + 1);
	int col = (int)e->offset + 1;

	if (!shown) {
		snprintf(err, cap, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const unsigned char *u = (const unsigned char *)expr + i;
		int c1 = (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f) || (i && u[-1] == 0xc2 && u[0] >= 0x80 && u[0] <= 0x9f);
		shown[i] = u[0] < 0x20 || u[0] == 0x7f || c1 ? '?' : expr[i];
	}
	shown[n] = 0;
	snprintf(err, cap, "--where: column %d: %s\n  %s\n  %*s^", col, e->msg, shown, col - 1, "");
	free(shown);
}

int sel_compile(hvsel *s, const hvlog_meta *m, uint64_t t0, char *err, size_t cap)
{
	const sel_list *lists[HVLOG_SEL_KIND_COUNT_];
	sel_list one[2];
	hvlog_error e;

	given(s, lists, one);
	if (hvlog_select_create(&s->lib, m, t0, &e) != HVLOG_OK)
		goto fail;
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
		for (int i = 0; i < lists[order[k]]->n; i++)
			if (hvlog_select_add(s->lib, order[k], lists[order[k]]->v[i], &e) != HVLOG_OK) {
				if (order[k] == HVLOG_SEL_WHERE && e.status != HVLOG_NOMEM)
					where_error(err, cap, lists[order[k]]->v[i], &e);
				else
					snprintf(err, cap, "%s", e.msg);
				return -1;
			}

	/* the parts the commands read */
	s->meta = m;
	s->nevents = m->schema->nevents;
	s->group_mask = hvlog_select_group_mask(s->lib);
	s->all_events = hvlog_select_everything(s->lib);
	hvlog_select_time_range(s->lib, &s->lo, &s->hi);
	if (!(s->ev_ok = malloc(s->nevents ? s->nevents : 1)))
		goto nomem;
	for (uint32_t i = 0; i < s->nevents; i++)
		s->ev_ok[i] = (uint8_t)hvlog_select_keeps_event(s->lib, &m->schema->events[i]);
	if (s->streams.n || s->vps.n) {
		if (!(s->stream_ok = malloc(m->nstreams ? m->nstreams : 1)))
			goto nomem;
		for (uint32_t i = 0; i < m->nstreams; i++)
			s->stream_ok[i] = (uint8_t)hvlog_select_keeps_stream(s->lib, i);
	}
	return 0;
nomem:
	snprintf(err, cap, "out of memory");
	return -1;
fail:
	snprintf(err, cap, "%s", e.msg);
	return -1;
}

void sel_apply(const hvsel *s, hvlog_reader *r)
{
	hvlog_select_apply(s->lib, r);
	/* a count does not depend on the order: skip the merge (not with a
	 * limit, which counts the first N in time order) */
	if (s->count && s->limit == UINT64_MAX)
		hvlog_reader_set_ordered(r, 0);
}

/* The compiled part of s as sel_init leaves it (nothing freed). */
static void clear_compiled(hvsel *s)
{
	s->lib = NULL;
	s->meta = NULL;
	s->nevents = 0;
	s->ev_ok = s->stream_ok = NULL;
	s->group_mask = 0;
	s->lo = 0;
	s->hi = UINT64_MAX;
	s->all_events = 0;
}

void sel_free_compiled(hvsel *s)
{
	hvlog_select_free(s->lib);
	free(s->ev_ok);
	free(s->stream_ok);
	clear_compiled(s);
}

hvsel sel_copy_given(const hvsel *s)
{
	hvsel c = *s; /* the option lists are borrowed */

	clear_compiled(&c);
	return c;
}

void sel_free(hvsel *s)
{
	sel_list *lists[] = { &s->groups, &s->xgroups, &s->events, &s->xevents,
			      &s->streams, &s->vps, &s->partitions, &s->wheres };

	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		free(lists[i]->v);
	sel_free_compiled(s);
	sel_init(s);
}
