/*
 * select.c - selections: names to masks and tables, then the predicate.
 * See hvlog/select.h for what passes; the --where language is in expr.c.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hvlog/select.h"
#include "expr.h"
#include "internal.h"
#include "run.h"

/* User text quoted in a message is cut here, so that the hint after it
 * still fits into hvlog_error.msg. */
#define QUOTE_MAX 64

struct hvlog_select {
	const hvlog_meta *m;
	uint64_t t0;
	uint32_t nevents;
	/* the group and event criteria as added; ev_ok is what they make */
	int includes;          /* a group or event was added: only those pass */
	uint64_t gin, gex;     /* group masks added and excluded */
	uint8_t *ein, *eex;    /* per event index: added, excluded */
	uint8_t *ev_ok;        /* per event index: may pass */
	uint64_t group_mask;   /* groups of the events that may pass */
	uint8_t *stream_ok;    /* per stream; NULL: every stream */
	uint64_t *parts;       /* partitions added; nparts 0: any */
	size_t nparts;
	int8_t *part_param;    /* per event index: its PARTITION_ID parameter or -1 */
	uint64_t lo, hi;       /* tick range, inclusive */
	hvlog__expr **where;   /* all must hold */
	size_t nwhere;
	int narrowed;          /* a stream, partition, time or where was added */
	int all_events;        /* nothing narrows: every item passes */
	int by_mask;           /* the groups of group_mask are what passes, whole */
	const hvlog_event *events; /* m->schema->events, one load fewer per item */
};

/* ---- helpers shared with expr.c ------------------------------------------- */

int hvlog__parse_u64(const char *s, uint64_t *out)
{
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	uint64_t v = 0;
	const char *p = s + (hex ? 2 : 0);
	int over = 0;

	if (!*p)
		return -1;
	for (; *p; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / (hex ? 16 : 10))
			over = 1; /* (the rest must still be digits) */
		v = v * (hex ? 16 : 10) + d;
	}
	if (over)
		return -2;
	*out = v;
	return 0;
}


static int fold(int c)
{
	return c == ' ' ? '_' : tolower((unsigned char)c);
}

int hvlog__same_name(const char *a, const char *b, size_t len)
{
	size_t i;

	if (!a)
		return 0;
	for (i = 0; i < len && a[i]; i++)
		if (fold(a[i]) != fold(b[i]))
			return 0;
	return i == len && !a[i];
}

const char *hvlog__shown(char *out, size_t cap, const char *s, size_t len)
{
	size_t i = 0;

	for (; i < len && i + 1 < cap; i++)
		out[i] = hvlog__control(s, i, len) ? '?' : s[i];
	out[i] = 0;
	return out;
}

int hvlog__control(const char *s, size_t i, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	/* a C1 control is U+0080..U+009F: C2 80..C2 9F in UTF-8 */
	int c1 = (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) ||
		 (i > 0 && u[i - 1] == 0xc2 && u[i] >= 0x80 && u[i] <= 0x9f);

	return u[i] < 0x20 || u[i] == 0x7f || c1;
}

/* s quoted in a message: control characters as '?', cut at QUOTE_MAX. */
static const char *quoted(char (*buf)[QUOTE_MAX + 4], const char *s)
{
	size_t n = strlen(s);

	hvlog__shown(*buf, QUOTE_MAX + 1, s, n);
	if (n > QUOTE_MAX)
		strcpy(*buf + QUOTE_MAX, "...");
	return *buf;
}

/* An option's number that is no number (-1), or one too large for it
 * (-2, or above max): its message. */
static hvlog_status bad_number(hvlog_error *err, const char *opt, const char *arg, int rc, uint64_t max)
{
	char q[QUOTE_MAX + 4];

	if (rc == -1)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "%s wants a number, not '%s'", opt, quoted(&q, arg));
	return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "%s %s is too large (at most %llu)", opt, quoted(&q, arg),
			   (unsigned long long)max);
}

/* ---- did you mean ----------------------------------------------------------- */

void hvlog__near_init(hvlog__near *n, const char *word, size_t len)
{
	n->word = word;
	n->len = len;
	n->best = NULL;
	n->dist = UINT32_MAX;
}

/* Edit distance of a and b (insertions, deletions, substitutions and
 * swaps of neighbours, each 1), any case; names are short (HVLOG_MAX_NAME). */
static unsigned distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned rows[3][HVLOG_MAX_NAME * 2 + 2], *pp = rows[0], *p = rows[1], *c = rows[2];

	for (size_t j = 0; j <= lb; j++)
		p[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned *t;
		c[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned sub = p[j - 1] + (fold(a[i - 1]) != fold(b[j - 1]));
			unsigned v = p[j] + 1 < c[j - 1] + 1 ? p[j] + 1 : c[j - 1] + 1;
			if (sub < v)
				v = sub;
			if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) && fold(a[i - 2]) == fold(b[j - 1]) &&
			    pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
		}
		t = pp, pp = p, p = c, c = t;
	}
	return p[lb];
}

void hvlog__near_add(hvlog__near *n, const char *cand)
{
	size_t lc = cand ? strlen(cand) : 0;
	unsigned d, most;

	if (!lc || lc > HVLOG_MAX_NAME * 2 || !n->len || n->len > HVLOG_MAX_NAME * 2)
		return;
	/* a typo is a slip or two, not a different word: at most 1 edit in
	 * up to 4 letters, 2 in longer words, and never half the word */
	most = n->len <= 4 ? 1 : 2;
	if ((d = distance(n->word, n->len, cand, lc)) > most || 2 * d >= n->len || d >= n->dist)
		return;
	n->dist = d;
	n->best = cand;
}

/* ---- names ------------------------------------------------------------------- */

uint32_t hvlog_schema_param_index(const hvlog_schema *sc, const char *name, size_t len, int8_t *idx)
{
	uint32_t n = 0;

	for (uint32_t e = 0; e < sc->nevents; e++) {
		const hvlog_event *ev = &sc->events[e];
		idx[e] = -1;
		for (uint32_t i = 0; i < ev->nparams; i++)
			if (hvlog__same_name(ev->params[i].key, name, len) || hvlog__same_name(ev->params[i].name, name, len)) {
				idx[e] = (int8_t)i;
				n++;
				break;
			}
	}
	return n;
}

/* One group: alias, full name, or masks and names joined by '|'; ORs its
 * mask into *mask.  0 or -1. */
static int group_spec(const hvlog_schema *sc, const char *arg, size_t len, uint64_t *mask)
{
	const hvlog_group *g;
	uint64_t m = 0, all = 0;
	char piece[HVLOG_MAX_NAME * 2];

	for (uint32_t i = 0; i < sc->ngroups; i++)
		all |= sc->groups[i].mask;
	for (const char *p = arg, *end = arg + len;;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		size_t n = bar ? (size_t)(bar - p) : (size_t)(end - p);
		uint64_t v;
		while (n && isspace((unsigned char)*p))
			p++, n--;
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		if (!n || n >= sizeof piece)
			return -1;
		memcpy(piece, p, n);
		piece[n] = 0;
		if ((g = hvlog_schema_lookup_group(sc, piece)))
			m |= g->mask;
		else if (hvlog__parse_u64(piece, &v) == 0 && (v & all))
			m |= v;
		else
			return -1;
		if (!bar)
			break;
		p = bar + 1;
	}
	*mask |= m;
	return 0;
}

/* The group names closest to arg, for "did you mean". */
static const char *near_group(const hvlog_schema *sc, const char *arg, size_t len)
{
	hvlog__near n;

	hvlog__near_init(&n, arg, len);
	for (uint32_t i = 0; i < sc->ngroups; i++) {
		hvlog__near_add(&n, sc->groups[i].alias);
		hvlog__near_add(&n, sc->groups[i].name);
	}
	return n.best;
}

static hvlog_status unknown_group(const hvlog_schema *sc, const char *arg, size_t len, hvlog_error *err)
{
	char q[QUOTE_MAX + 4], *whole = strndup(arg, len);
	const char *near = near_group(sc, arg, len);
	hvlog_status st;

	if (!whole)
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	if (near)
		st = hvlog__fail(err, HVLOG_UNKNOWN, UINT64_MAX, "unknown group '%s': did you mean '%s'? (see `hvlog events`)",
				 quoted(&q, whole), near);
	else
		st = hvlog__fail(err, HVLOG_UNKNOWN, UINT64_MAX, "unknown group '%s' (see `hvlog events`)", quoted(&q, whole));
	free(whole);
	return st;
}

hvlog_status hvlog_schema_parse_groups(const hvlog_schema *sc, const char *list, uint64_t *mask, hvlog_error *err)
{
	uint64_t m = 0;

	/* empty items are skipped, as strtok(3) would ("a,,b") */
	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n && group_spec(sc, p, n, &m) != 0)
			return unknown_group(sc, p, n, err);
		if (!comma)
			break;
		p = comma + 1;
	}
	*mask |= m;
	return HVLOG_OK;
}

static const char *bare_symbol(const char *sym)
{
	return strncasecmp(sym, "HV_TR_", 6) ? sym : sym + 6;
}

/* Mark the events named by arg in mark[]; -1 if it names none. */
static int mark_events(const hvlog_schema *sc, const char *arg, uint8_t *mark)
{
	const hvlog_event *ev;
	int n = 0;

	if (strpbrk(arg, "*?[")) {
		for (uint32_t e = 0; e < sc->nevents; e++) {
			const char *sym = sc->events[e].symbol;
			if (!fnmatch(arg, sym, FNM_CASEFOLD) || !fnmatch(arg, bare_symbol(sym), FNM_CASEFOLD) ||
			    !fnmatch(bare_symbol(arg), bare_symbol(sym), FNM_CASEFOLD)) {
				mark[e] = 1;
				n++;
			}
		}
		return n ? 0 : -1;
	}
	if (!(ev = hvlog_schema_lookup_event(sc, arg)))
		return -1;
	mark[ev - sc->events] = 1;
	return 0;
}

static hvlog_status unknown_event(const hvlog_schema *sc, const char *arg, hvlog_error *err)
{
	char q[QUOTE_MAX + 4];
	const char *a = bare_symbol(arg);
	hvlog__near n;

	hvlog__near_init(&n, a, strlen(a));
	if (!strpbrk(arg, "*?[")) /* a glob is no misspelt name */
		for (uint32_t e = 0; e < sc->nevents; e++)
			hvlog__near_add(&n, bare_symbol(sc->events[e].symbol));
	if (n.best)
		return hvlog__fail(err, HVLOG_UNKNOWN, UINT64_MAX, "unknown event '%s': did you mean '%s'? (see `hvlog events`)",
				   quoted(&q, arg), n.best);
	return hvlog__fail(err, HVLOG_UNKNOWN, UINT64_MAX, "unknown event '%s' (see `hvlog events`)", quoted(&q, arg));
}

/* A time argument (HVLOG_SEL_SINCE): with round_up, the first tick at or
 * after the time; else the last tick at or before it (ns precision, as
 * decode prints).  0, -1 (no time) or -2 (beyond 2^64 ns or ticks). */
static int parse_time(const char *arg, uint64_t t0, uint64_t hz, int round_up, uint64_t *ticks)
{
	const char *p = arg;
	unsigned __int128 ip = 0, fp = 0, fscale = 1, ns, d;
	uint64_t unit;
	int absolute = 0, digits = 0;

	if (*p == '@')
		absolute = 1, p++;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		ip = ip * 10 + (unsigned)(*p - '0');
		if (ip > UINT64_MAX)
			return -2;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (fscale < (unsigned __int128)1000000000000000000u) {
				fp = fp * 10 + (unsigned)(*p - '0');
				fscale *= 10;
			}
	}
	if (!digits)
		return -1;
	if (!strcmp(p, "t") || !strcmp(p, "ticks")) {
		if (fscale != 1)
			return -1;
		d = ip;
	} else {
		if (!*p || !strcmp(p, "s"))
			unit = 1000000000u;
		else if (!strcmp(p, "ms"))
			unit = 1000000u;
		else if (!strcmp(p, "us"))
			unit = 1000u;
		else if (!strcmp(p, "ns"))
			unit = 1u;
		else
			return -1;
		if (hz == 0)
			hz = 1000000000u;
		ns = ip * unit + fp * unit / fscale;
		if (ns > UINT64_MAX)
			return -2;
		/* decode prints floor((t - t0) * 1e9 / hz) ns: since T keeps the
		 * ticks printed at T or later, until T those printed at T or before */
		if (round_up)
			d = (ns * hz + 999999999u) / 1000000000u;
		else
			d = ((ns + 1) * hz + 999999999u) / 1000000000u - 1;
	}
	d += absolute ? 0 : t0;
	*ticks = d > UINT64_MAX ? UINT64_MAX : (uint64_t)d;
	return 0;
}

/* ---- building ------------------------------------------------------------------ */

hvlog_status hvlog_select_create(hvlog_select **out, const hvlog_meta *m, uint64_t t0, hvlog_error *err)
{
	hvlog_select *s = calloc(1, sizeof *s);
	size_t ne;

	*out = NULL;
	if (!s)
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	s->m = m;
	s->events = m->schema->events;
	s->t0 = t0;
	s->nevents = m->schema->nevents;
	s->hi = UINT64_MAX;
	ne = s->nevents ? s->nevents : 1;
	/* the per-event tables in one block (freed with ein) */
	if (!(s->ein = calloc(ne, 4))) {
		hvlog_select_free(s);
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	}
	s->eex = s->ein + ne;
	s->ev_ok = s->eex + ne;
	s->part_param = (int8_t *)(s->ev_ok + ne);
	for (uint32_t e = 0; e < s->nevents; e++) {
		s->part_param[e] = (int8_t)hvlog_event_param_by_role(&m->schema->events[e], HVLOG_ROLE_PARTITION_ID);
		s->ev_ok[e] = 1;
		s->group_mask |= m->schema->groups[m->schema->events[e].group].mask;
	}
	s->all_events = 1;
	*out = s;
	return HVLOG_OK;
}

/* ev_ok, group_mask and all_events from the criteria added so far. */
static void settle(hvlog_select *s)
{
	const hvlog_schema *sc = s->m->schema;
	int all = !s->narrowed;

	s->group_mask = 0;
	for (uint32_t e = 0; e < s->nevents; e++) {
		uint64_t gm = sc->groups[sc->events[e].group].mask;
		int ok = !s->includes || (s->gin & gm) || s->ein[e];
		if ((s->gex & gm) || s->eex[e])
			ok = 0;
		s->ev_ok[e] = (uint8_t)ok;
		if (ok)
			s->group_mask |= gm;
		else
			all = 0;
	}
	s->all_events = all;
	/* only whole groups (no single event in or out, nothing narrowed):
	 * a reader given group_mask hands out exactly what passes */
	s->by_mask = !s->narrowed && s->group_mask != 0;
	for (uint32_t e = 0; e < s->nevents && s->by_mask; e++)
		s->by_mask = s->ev_ok[e] == ((sc->groups[sc->events[e].group].mask & s->group_mask) != 0);
}

int hvlog__select_done_by(const hvlog_select *s, const hvlog_reader *r)
{
	return s->all_events || (s->by_mask && hvlog__reader_group_mask(r) == s->group_mask);
}

static hvlog_status add_group(hvlog_select *s, const char *arg, uint64_t *mask, int include, hvlog_error *err)
{
	if (group_spec(s->m->schema, arg, strlen(arg), mask) != 0)
		return unknown_group(s->m->schema, arg, strlen(arg), err);
	s->includes |= include;
	return HVLOG_OK;
}

static hvlog_status add_event(hvlog_select *s, const char *arg, uint8_t *mark, int include, hvlog_error *err)
{
	uint8_t *tmp = calloc(s->nevents ? s->nevents : 1, 1);

	if (!tmp)
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	if (mark_events(s->m->schema, arg, tmp) != 0) {
		free(tmp);
		return unknown_event(s->m->schema, arg, err);
	}
	for (uint32_t e = 0; e < s->nevents; e++)
		mark[e] |= tmp[e];
	free(tmp);
	s->includes |= include;
	return HVLOG_OK;
}

/* Streams of this trace that arg names (by name or id, or for a VP its
 * index) into keep[]; how many. */
static uint32_t find_streams(const hvlog_meta *m, const char *arg, int vp, uint8_t *keep)
{
	uint32_t found = 0;
	uint64_t v;

	if (vp) {
		if (hvlog__parse_u64(arg, &v) != 0)
			return 0;
		for (uint32_t k = 0; k < m->nstreams; k++)
			if (m->streams[k].vp_index != UINT32_MAX && m->streams[k].vp_index == v)
				keep[k] = 1, found++;
		return found;
	}
	for (uint32_t k = 0; k < m->nstreams; k++)
		if (m->streams[k].name && !strcmp(m->streams[k].name, arg))
			keep[k] = 1, found++;
	if (!found && hvlog__parse_u64(arg, &v) == 0 && v < m->nstreams)
		keep[v] = 1, found++;
	return found;
}

static hvlog_status add_stream(hvlog_select *s, const char *arg, int vp, hvlog_error *err)
{
	const hvlog_meta *m = s->m;
	uint32_t ns = m->nstreams ? m->nstreams : 1;
	uint8_t *keep = calloc(ns, 1);
	char q[QUOTE_MAX + 4];
	uint64_t v;

	if (!keep)
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	if (!find_streams(m, arg, vp, keep)) {
		free(keep);
		if (!vp)
			return hvlog__fail(err, HVLOG_UNKNOWN, UINT64_MAX,
					   "no stream '%s' in this trace (it has %u: ids 0..%u; `hvlog info` lists them)",
					   quoted(&q, arg), m->nstreams, m->nstreams ? m->nstreams - 1 : 0);
		int rc = hvlog__parse_u64(arg, &v);
		if (rc != 0 || v > UINT32_MAX)
			return bad_number(err, "--vp", arg, rc ? rc : -2, UINT32_MAX - 1); /* UINT32_MAX: no VP */
		return hvlog__fail(err, HVLOG_UNKNOWN, UINT64_MAX,
				   "no stream of this trace is virtual processor %s (`hvlog info` lists them)", quoted(&q, arg));
	}
	if (s->stream_ok) {
		for (uint32_t k = 0; k < m->nstreams; k++)
			s->stream_ok[k] |= keep[k];
		free(keep);
	} else {
		s->stream_ok = keep;
	}
	s->narrowed = 1;
	return HVLOG_OK;
}

static hvlog_status add_partition(hvlog_select *s, const char *arg, hvlog_error *err)
{
	uint64_t v, *np;
	int rc;

	if ((rc = hvlog__parse_u64(arg, &v)) != 0)
		return bad_number(err, "--partition", arg, rc, UINT64_MAX);
	if (!(np = realloc(s->parts, (s->nparts + 1) * sizeof *np)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	s->parts = np;
	s->parts[s->nparts++] = v;
	s->narrowed = 1;
	return HVLOG_OK;
}

static hvlog_status add_time(hvlog_select *s, const char *arg, int since, hvlog_error *err)
{
	char q[QUOTE_MAX + 4];
	int rc = parse_time(arg, s->t0, s->m->clock_hz, since, since ? &s->lo : &s->hi);

	if (rc == -2)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
				   "time '%s' for %s is too large (at most 18446744073709551615 ns or ticks, about 584 years)",
				   quoted(&q, arg), since ? "--since" : "--until");
	if (rc != 0)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
				   "bad time '%s' for %s (seconds like 1.5 or 2s, or 10ms, 5us, 100ns, 1000t; "
				   "'@' first for absolute)", quoted(&q, arg), since ? "--since" : "--until");
	s->narrowed = 1;
	return HVLOG_OK;
}

static hvlog_status add_where(hvlog_select *s, const char *arg, hvlog_error *err)
{
	hvlog__expr **nw = realloc(s->where, (s->nwhere + 1) * sizeof *nw);
	hvlog__expr *x;

	if (!nw)
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	s->where = nw;
	if (!(x = hvlog__expr_parse(arg, s->m->schema, err)))
		return err ? err->status : HVLOG_INVALID;
	s->where[s->nwhere++] = x;
	s->narrowed = 1;
	return HVLOG_OK;
}

hvlog_status hvlog_select_add(hvlog_select *s, hvlog_select_kind kind, const char *arg, hvlog_error *err)
{
	hvlog_status st;

	if (!s || !arg)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "no selection or no argument");
	switch (kind) {
	case HVLOG_SEL_GROUP: st = add_group(s, arg, &s->gin, 1, err); break;
	case HVLOG_SEL_EXCLUDE_GROUP: st = add_group(s, arg, &s->gex, 0, err); break;
	case HVLOG_SEL_EVENT: st = add_event(s, arg, s->ein, 1, err); break;
	case HVLOG_SEL_EXCLUDE_EVENT: st = add_event(s, arg, s->eex, 0, err); break;
	case HVLOG_SEL_STREAM: st = add_stream(s, arg, 0, err); break;
	case HVLOG_SEL_VP: st = add_stream(s, arg, 1, err); break;
	case HVLOG_SEL_PARTITION: st = add_partition(s, arg, err); break;
	case HVLOG_SEL_WHERE: st = add_where(s, arg, err); break;
	case HVLOG_SEL_SINCE: st = add_time(s, arg, 1, err); break;
	case HVLOG_SEL_UNTIL: st = add_time(s, arg, 0, err); break;
	default: return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "unknown selection kind %d", (int)kind);
	}
	if (st == HVLOG_OK)
		settle(s);
	return st;
}

/* ---- using ---------------------------------------------------------------------- */

void hvlog_select_apply(const hvlog_select *s, hvlog_reader *r)
{
	/* a mask of 0 would mean "every group" to the reader: keep them all
	 * and let hvlog_select_match drop everything then */
	hvlog_reader_set_group_mask(r, s->group_mask);
	if (s->stream_ok)
		hvlog_reader_set_streams(r, s->stream_ok, s->m->nstreams);
	hvlog_reader_set_time_range(r, s->lo, s->hi);
}

int hvlog_select_match(const hvlog_select *s, const hvlog_item *it)
{
	uint32_t e;

	if (s->all_events || it->kind == HVLOG_ITEM_DAMAGE)
		return 1;
	if (!s->narrowed) /* groups and events only (decode --group): the common case */
		return it->kind != HVLOG_ITEM_EVENT || s->ev_ok[it->event - s->events];
	if (s->stream_ok && (it->stream >= s->m->nstreams || !s->stream_ok[it->stream]))
		return 0;
	if (it->ts < s->lo || it->ts > s->hi)
		return 0;
	if (it->kind != HVLOG_ITEM_EVENT)
		return 1;
	e = (uint32_t)(it->event - s->events);
	if (!s->ev_ok[e])
		return 0;
	if (s->nparts) {
		int pi = s->part_param[e];
		uint64_t p;
		size_t k;
		if (pi >= 0)
			p = it->values[pi];
		else if (it->stream < s->m->nstreams && s->m->streams[it->stream].partition_id)
			p = s->m->streams[it->stream].partition_id;
		else
			return 0;
		for (k = 0; k < s->nparts && s->parts[k] != p; k++)
			;
		if (k == s->nparts)
			return 0;
	}
	for (size_t i = 0; i < s->nwhere; i++)
		if (!hvlog__expr_eval(s->where[i], it->event, it->values))
			return 0;
	return 1;
}

uint64_t hvlog_select_group_mask(const hvlog_select *s)
{
	return s->group_mask;
}

int hvlog_select_everything(const hvlog_select *s)
{
	return s->all_events;
}

int hvlog_select_keeps_event(const hvlog_select *s, const hvlog_event *ev)
{
	size_t e = (size_t)(ev - s->m->schema->events);

	return e < s->nevents && s->ev_ok[e];
}

int hvlog_select_keeps_stream(const hvlog_select *s, uint32_t stream)
{
	return stream < s->m->nstreams && (!s->stream_ok || s->stream_ok[stream]);
}

void hvlog_select_time_range(const hvlog_select *s, uint64_t *lo, uint64_t *hi)
{
	*lo = s->lo;
	*hi = s->hi;
}

void hvlog_select_free(hvlog_select *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nwhere; i++)
		hvlog__expr_free(s->where[i]);
	free(s->where);
	free(s->ein); /* and the other per-event tables */
	free(s->stream_ok);
	free(s->parts);
	free(s);
}

/* ---- the item pipeline ---------------------------------------------------- */

hvlog_status hvlog_select_run(hvlog_reader *r, const hvlog_select *s, uint64_t limit, hvlog_item_fn fn, void *ctx,
			      hvlog_run_counts *counts, hvlog_error *err)
{
	return hvlog__run(r, s, limit, fn, ctx, counts, err);
}
