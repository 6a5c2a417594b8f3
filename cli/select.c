/*
 * select.c - the selection model: options, compilation, the predicate.
 * See select.h for what passes.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "select.h"

/* ---- small helpers ------------------------------------------------------ */

static void set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!err || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/* A whole string as a number: "0x..." hex, else decimal. */
static int parse_u64(const char *s, uint64_t *out)
{
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	uint64_t v = 0;
	const char *p = s + (hex ? 2 : 0);

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
			return -1;
		v = v * (hex ? 16 : 10) + d;
	}
	*out = v;
	return 0;
}

/* Schema spelling `a` (a key or a display name) against the user's `b` of
 * len bytes: any case, a space in either counts as '_'. */
static int same_name(const char *a, const char *b, size_t len)
{
	size_t i;

	if (!a)
		return 0;
	for (i = 0; i < len && a[i]; i++) {
		int x = a[i] == ' ' ? '_' : tolower((unsigned char)a[i]);
		int y = b[i] == ' ' ? '_' : tolower((unsigned char)b[i]);
		if (x != y)
			return 0;
	}
	return i == len && !a[i];
}

uint32_t sel_param_index(const hvlog_schema *sc, const char *name, size_t len, int8_t *idx)
{
	uint32_t n = 0;

	for (uint32_t e = 0; e < sc->nevents; e++) {
		const hvlog_event *ev = &sc->events[e];
		idx[e] = -1;
		for (uint32_t i = 0; i < ev->nparams; i++)
			if (same_name(ev->params[i].key, name, len) || same_name(ev->params[i].name, name, len)) {
				idx[e] = (int8_t)i;
				n++;
				break;
			}
	}
	return n;
}

static int list_add(sel_list *l, const char *arg)
{
	const char **nv = realloc(l->v, (size_t)(l->n + 1) * sizeof *nv);

	if (!nv)
		return -1;
	l->v = nv;
	l->v[l->n++] = arg;
	return 0;
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
	case 'n':
		if (parse_u64(arg, &s->limit) != 0)
			argp_error(state, "--limit wants a number, not '%s'", arg);
		return 0;
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

/* ---- groups, events, time -------------------------------------------------- */

int sel_group_mask(const hvlog_schema *sc, const char *arg, uint64_t *mask)
{
	const hvlog_group *g = hvlog_schema_lookup_group(sc, arg);
	uint64_t m = 0, all = 0;
	char piece[HVLOG_MAX_NAME * 2];

	if (g) {
		*mask |= g->mask;
		return 0;
	}
	for (uint32_t i = 0; i < sc->ngroups; i++)
		all |= sc->groups[i].mask;
	for (const char *p = arg;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
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
		else if (parse_u64(piece, &v) == 0 && (v & all))
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

int sel_parse_time(const char *arg, uint64_t t0, uint64_t hz, int round_up, uint64_t *ticks)
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
			return -1;
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
			return -1;
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

/* ---- --where ---------------------------------------------------------------- */

enum { N_AND, N_OR, N_NOT, N_CMP, N_IN };
enum { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

/* How deep '(' and '!' may nest: the parser and the evaluation recurse
 * once per level (a chain of && or || is one node, walked in a loop). */
#define WHERE_MAX_DEPTH 256

struct wnode {
	uint8_t op, cmp;
	int a, b;              /* NOT: a; AND, OR: first and last operand */
	int next;              /* the next operand of the AND or OR above, or -1 */
	int key;               /* into keys (CMP, IN) */
	uint64_t v;            /* CMP */
	uint64_t *set;         /* IN */
	size_t nset;
};

struct sel_where {
	const hvlog_schema *sc;
	struct wnode *n;
	int nn, capn;
	int8_t **keys;         /* per key: parameter index by event index */
	int nkeys;
	int root;
};

enum tok { T_END, T_IDENT, T_NUM, T_AND, T_OR, T_NOT, T_LP, T_RP, T_LB, T_RB, T_COMMA,
	   T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_BAD };

struct parser {
	const char *src, *p;
	sel_where *w;
	char *err;
	size_t cap;
	int *column;
	int failed;
	int depth;             /* '(' and '!' open around the token */
	enum tok tok;
	const char *ts;        /* token start */
	size_t tlen;
	uint64_t num;
};

static void perr(struct parser *ps, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void perr(struct parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = 1;
	*ps->column = (int)(at - ps->src) + 1;
	if (ps->err && ps->cap) {
		va_start(ap, fmt);
		vsnprintf(ps->err, ps->cap, fmt, ap);
		va_end(ap);
	}
}

static int ident_char(int c)
{
	return isalnum(c) || c == '_';
}

static void next(struct parser *ps)
{
	const char *p = ps->p;

	while (isspace((unsigned char)*p))
		p++;
	ps->ts = p;
	if (!*p) {
		ps->tok = T_END;
		ps->tlen = 0;
		ps->p = p;
		return;
	}
	if (isdigit((unsigned char)*p)) {
		const char *s = p;
		char buf[32];
		while (ident_char((unsigned char)*p))
			p++;
		ps->tlen = (size_t)(p - s);
		if (ps->tlen >= sizeof buf) {
			ps->tok = T_BAD;
			perr(ps, s, "number '%.*s' is too long", (int)ps->tlen, s);
		} else {
			memcpy(buf, s, ps->tlen);
			buf[ps->tlen] = 0;
			if (parse_u64(buf, &ps->num) == 0) {
				ps->tok = T_NUM;
			} else {
				ps->tok = T_BAD;
				perr(ps, s, "bad number '%s' (decimal or 0x hex, at most 64 bits)", buf);
			}
		}
		ps->p = p;
		return;
	}
	if (isalpha((unsigned char)*p) || *p == '_') {
		const char *s = p;
		while (ident_char((unsigned char)*p))
			p++;
		ps->tok = T_IDENT;
		ps->tlen = (size_t)(p - s);
		ps->p = p;
		return;
	}
	ps->tlen = 2;
	switch (*p) {
	case '&': ps->tok = p[1] == '&' ? T_AND : T_BAD; break;
	case '|': ps->tok = p[1] == '|' ? T_OR : T_BAD; break;
	case '=': ps->tok = p[1] == '=' ? T_EQ : T_BAD; break;
	case '!': ps->tok = p[1] == '=' ? T_NE : (ps->tlen = 1, T_NOT); break;
	case '<': ps->tok = p[1] == '=' ? T_LE : (ps->tlen = 1, T_LT); break;
	case '>': ps->tok = p[1] == '=' ? T_GE : (ps->tlen = 1, T_GT); break;
	case '(': ps->tok = T_LP, ps->tlen = 1; break;
	case ')': ps->tok = T_RP, ps->tlen = 1; break;
	case '{': ps->tok = T_LB, ps->tlen = 1; break;
	case '}': ps->tok = T_RB, ps->tlen = 1; break;
	case ',': ps->tok = T_COMMA, ps->tlen = 1; break;
	default: ps->tok = T_BAD; break;
	}
	if (ps->tok == T_BAD) {
		if (*p == '&' || *p == '|' || *p == '=')
			perr(ps, p, "'%c' is not an operator: did you mean '%c%c'?", *p, *p, *p);
		else
			perr(ps, p, "unexpected character '%c'", *p);
		ps->tlen = 1;
	}
	ps->p = p + ps->tlen;
}

static int new_node(struct parser *ps, int op)
{
	sel_where *w = ps->w;

	if (w->nn == w->capn) {
		int nc = w->capn ? 2 * w->capn : 16;
		struct wnode *nn = realloc(w->n, (size_t)nc * sizeof *nn);
		if (!nn) {
			perr(ps, ps->ts, "out of memory");
			return -1;
		}
		w->n = nn;
		w->capn = nc;
	}
	memset(&w->n[w->nn], 0, sizeof w->n[w->nn]);
	w->n[w->nn].op = (uint8_t)op;
	w->n[w->nn].next = -1;
	return w->nn++;
}

static const char *tok_desc(const struct parser *ps, char *buf, size_t cap)
{
	if (ps->tok == T_END)
		return "the end";
	snprintf(buf, cap, "'%.*s'", (int)(ps->tlen > 40 ? 40 : ps->tlen), ps->ts);
	return buf;
}

/* The key slot for parameter name [s, s+len), or -1 (error set). */
static int key_slot(struct parser *ps, const char *s, size_t len)
{
	sel_where *w = ps->w;
	int8_t *idx, **nk;

	if (!(idx = malloc(w->sc->nevents ? w->sc->nevents : 1)) ||
	    !(nk = realloc(w->keys, (size_t)(w->nkeys + 1) * sizeof *nk))) {
		free(idx);
		perr(ps, s, "out of memory");
		return -1;
	}
	w->keys = nk;
	if (!sel_param_index(w->sc, s, len, idx)) {
		free(idx);
		perr(ps, s, "unknown parameter '%.*s': no event of the schema has it (see `hvlog events`)", (int)len,
		     s);
		return -1;
	}
	w->keys[w->nkeys] = idx;
	return w->nkeys++;
}

/* A value: a number, true/false, or a name from a value table of the
 * parameter (index == IA32_EFER). */
static int parse_value(struct parser *ps, int key, uint64_t *v)
{
	const hvlog_schema *sc = ps->w->sc;
	char tmp[64];

	if (ps->tok == T_NUM) {
		*v = ps->num;
		next(ps);
		return 0;
	}
	if (ps->tok == T_IDENT) {
		if (same_name("true", ps->ts, ps->tlen) || same_name("false", ps->ts, ps->tlen)) {
			*v = tolower((unsigned char)ps->ts[0]) == 't';
			next(ps);
			return 0;
		}
		for (uint32_t e = 0; e < sc->nevents; e++) {
			int pi = ps->w->keys[key][e];
			const hvlog_valtab *t = pi >= 0 ? sc->events[e].params[pi].values : NULL;
			for (uint32_t k = 0; t && k < t->nvalues; k++)
				if (same_name(t->values[k].name, ps->ts, ps->tlen)) {
					*v = t->values[k].value;
					next(ps);
					return 0;
				}
		}
		perr(ps, ps->ts, "'%.*s' is not a number nor a value name of this parameter", (int)ps->tlen, ps->ts);
		return -1;
	}
	if (ps->tok != T_BAD)
		perr(ps, ps->ts, "expected a number, found %s", tok_desc(ps, tmp, sizeof tmp));
	return -1;
}

static int parse_or(struct parser *ps);

static int parse_cmp(struct parser *ps)
{
	const char *name = ps->ts;
	size_t len = ps->tlen;
	char tmp[64];
	int key, i;

	if ((key = key_slot(ps, name, len)) < 0)
		return -1;
	next(ps);
	if (ps->tok == T_IDENT && same_name("in", ps->ts, ps->tlen)) {
		struct wnode *n;
		next(ps);
		if (ps->tok != T_LB) {
			if (ps->tok != T_BAD)
				perr(ps, ps->ts, "expected '{' after 'in', found %s", tok_desc(ps, tmp, sizeof tmp));
			return -1;
		}
		if ((i = new_node(ps, N_IN)) < 0)
			return -1;
		ps->w->n[i].key = key;
		next(ps);
		for (;;) {
			uint64_t v, *ns;
			if (parse_value(ps, key, &v) != 0)
				return -1;
			n = &ps->w->n[i];
			if (!(ns = realloc(n->set, (n->nset + 1) * sizeof *ns))) {
				perr(ps, ps->ts, "out of memory");
				return -1;
			}
			n->set = ns;
			n->set[n->nset++] = v;
			if (ps->tok == T_RB)
				break;
			if (ps->tok != T_COMMA) {
				if (ps->tok != T_BAD)
					perr(ps, ps->ts, "expected ',' or '}', found %s", tok_desc(ps, tmp, sizeof tmp));
				return -1;
			}
			next(ps);
		}
		next(ps);
		return i;
	}
	if (ps->tok < T_EQ || ps->tok > T_GE) {
		if (ps->tok != T_BAD)
			perr(ps, ps->ts, "expected a comparison (== != < <= > >= in) after '%.*s', found %s", (int)len,
			     name, tok_desc(ps, tmp, sizeof tmp));
		return -1;
	}
	if ((i = new_node(ps, N_CMP)) < 0)
		return -1;
	ps->w->n[i].cmp = (uint8_t)(C_EQ + (ps->tok - T_EQ));
	ps->w->n[i].key = key;
	next(ps);
	return parse_value(ps, key, &ps->w->n[i].v) == 0 ? i : -1;
}

static int parse_unary(struct parser *ps)
{
	char tmp[64];
	int a, i;

	if ((ps->tok == T_NOT || ps->tok == T_LP) && ps->depth >= WHERE_MAX_DEPTH) {
		perr(ps, ps->ts, "more than %d levels of '(' and '!'", WHERE_MAX_DEPTH);
		return -1;
	}
	switch (ps->tok) {
	case T_NOT:
		next(ps);
		ps->depth++;
		a = parse_unary(ps);
		ps->depth--;
		if (a < 0 || (i = new_node(ps, N_NOT)) < 0)
			return -1;
		ps->w->n[i].a = a;
		return i;
	case T_LP: {
		const char *open = ps->ts;
		next(ps);
		ps->depth++;
		a = parse_or(ps);
		ps->depth--;
		if (a < 0)
			return -1;
		if (ps->tok != T_RP) {
			if (ps->tok == T_END)
				perr(ps, open, "'(' is never closed");
			else if (ps->tok != T_BAD)
				perr(ps, ps->ts, "expected ')' or an operator, found %s", tok_desc(ps, tmp, sizeof tmp));
			return -1;
		}
		next(ps);
		return a;
	}
	case T_IDENT:
		return parse_cmp(ps);
	case T_BAD:
		return -1;
	default:
		perr(ps, ps->ts, "expected a parameter name, '!' or '(', found %s", tok_desc(ps, tmp, sizeof tmp));
		return -1;
	}
}

/* x OP y OP z ... (OP is t): one node of kind op with the operands
 * chained by `next`, built in a loop however long the chain. */
static int parse_chain(struct parser *ps, int op, enum tok t, int (*operand)(struct parser *))
{
	int a = operand(ps), i, b;

	if (a < 0 || ps->tok != t)
		return a;
	if ((i = new_node(ps, op)) < 0)
		return -1;
	ps->w->n[i].a = ps->w->n[i].b = a;
	while (ps->tok == t) {
		next(ps);
		if ((b = operand(ps)) < 0)
			return -1;
		ps->w->n[ps->w->n[i].b].next = b;
		ps->w->n[i].b = b;
	}
	return i;
}

static int parse_and(struct parser *ps)
{
	return parse_chain(ps, N_AND, T_AND, parse_unary);
}

static int parse_or(struct parser *ps)
{
	return parse_chain(ps, N_OR, T_OR, parse_and);
}

void sel_where_free(sel_where *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->nn; i++)
		free(w->n[i].set);
	for (int i = 0; i < w->nkeys; i++)
		free(w->keys[i]);
	free(w->n);
	free(w->keys);
	free(w);
}

sel_where *sel_where_parse(const char *expr, const hvlog_schema *sc, char *err, size_t cap, int *column)
{
	int col = 0;
	struct parser ps = { .src = expr, .p = expr, .err = err, .cap = cap, .column = column ? column : &col };
	char tmp[64];

	*ps.column = 0;
	if (!(ps.w = calloc(1, sizeof *ps.w))) {
		set_err(err, cap, "out of memory");
		return NULL;
	}
	ps.w->sc = sc;
	next(&ps);
	if (ps.tok == T_END && !ps.failed)
		perr(&ps, ps.ts, "empty expression");
	ps.w->root = parse_or(&ps);
	if (!ps.failed && ps.tok != T_END)
		perr(&ps, ps.ts, "unexpected %s (missing '&&' or '||'?)", tok_desc(&ps, tmp, sizeof tmp));
	if (ps.failed || ps.w->root < 0) {
		sel_where_free(ps.w);
		return NULL;
	}
	return ps.w;
}

/* Kleene logic: 0 false, 1 true, 2 unknown (a parameter is missing). */
static int eval3(const sel_where *w, int i, uint32_t e, const uint64_t *vals)
{
	const struct wnode *n = &w->n[i];
	int a, b, pi;
	uint64_t x;

	switch (n->op) {
	case N_AND:
	case N_OR:
		/* AND is 0 as soon as an operand is 0, OR 1 as soon as one is 1;
		 * otherwise unknown if an operand is, else 1 (AND) or 0 (OR) */
		b = n->op == N_AND ? 1 : 0;
		for (int c = n->a; c >= 0; c = w->n[c].next) {
			if ((a = eval3(w, c, e, vals)) == (n->op == N_OR))
				return a;
			if (a == 2)
				b = 2;
		}
		return b;
	case N_NOT:
		a = eval3(w, n->a, e, vals);
		return a == 2 ? 2 : !a;
	case N_IN:
		if ((pi = w->keys[n->key][e]) < 0)
			return 2;
		x = vals[pi];
		for (size_t k = 0; k < n->nset; k++)
			if (n->set[k] == x)
				return 1;
		return 0;
	default:
		if ((pi = w->keys[n->key][e]) < 0)
			return 2;
		x = vals[pi];
		switch (n->cmp) {
		case C_EQ: return x == n->v;
		case C_NE: return x != n->v;
		case C_LT: return x < n->v;
		case C_LE: return x <= n->v;
		case C_GT: return x > n->v;
		default: return x >= n->v;
		}
	}
}

int sel_where_eval(const sel_where *w, const hvlog_event *ev, const uint64_t *values)
{
	return eval3(w, w->root, (uint32_t)(ev - w->sc->events), values) == 1;
}

/* ---- compile, apply, match ----------------------------------------------- */

int sel_compile(hvsel *s, const hvlog_meta *m, uint64_t t0, char *err, size_t cap)
{
	const hvlog_schema *sc = m->schema;
	uint32_t ne = sc->nevents;
	uint64_t gin = 0, gex = 0;
	uint8_t *ein = NULL, *eex = NULL;
	int rc = -1;

	s->meta = m;
	s->nevents = ne;
	if (!(s->ev_ok = calloc(ne ? ne : 1, 1)) || !(ein = calloc(ne ? ne : 1, 1)) ||
	    !(eex = calloc(ne ? ne : 1, 1))) {
		set_err(err, cap, "out of memory");
		goto out;
	}
	for (int i = 0; i < s->groups.n; i++)
		if (sel_group_mask(sc, s->groups.v[i], &gin) != 0) {
			set_err(err, cap, "unknown group '%s' (see `hvlog events`)", s->groups.v[i]);
			goto out;
		}
	for (int i = 0; i < s->xgroups.n; i++)
		if (sel_group_mask(sc, s->xgroups.v[i], &gex) != 0) {
			set_err(err, cap, "unknown group '%s' (see `hvlog events`)", s->xgroups.v[i]);
			goto out;
		}
	for (int i = 0; i < s->events.n; i++)
		if (mark_events(sc, s->events.v[i], ein) != 0) {
			set_err(err, cap, "unknown event '%s' (see `hvlog events`)", s->events.v[i]);
			goto out;
		}
	for (int i = 0; i < s->xevents.n; i++)
		if (mark_events(sc, s->xevents.v[i], eex) != 0) {
			set_err(err, cap, "unknown event '%s' (see `hvlog events`)", s->xevents.v[i]);
			goto out;
		}
	s->all_events = 1;
	s->group_mask = 0;
	for (uint32_t e = 0; e < ne; e++) {
		uint64_t gm = sc->groups[sc->events[e].group].mask;
		int ok = (!s->groups.n && !s->events.n) || (gin & gm) || ein[e];
		if ((gex & gm) || eex[e])
			ok = 0;
		s->ev_ok[e] = (uint8_t)ok;
		if (ok)
			s->group_mask |= gm;
		else
			s->all_events = 0;
	}

	if (s->streams.n || s->vps.n) {
		if (!(s->stream_ok = calloc(m->nstreams ? m->nstreams : 1, 1))) {
			set_err(err, cap, "out of memory");
			goto out;
		}
		for (int i = 0; i < s->streams.n; i++) {
			uint64_t v;
			int found = 0;
			for (uint32_t k = 0; k < m->nstreams; k++)
				if (m->streams[k].name && !strcmp(m->streams[k].name, s->streams.v[i]))
					s->stream_ok[k] = 1, found = 1;
			if (!found && parse_u64(s->streams.v[i], &v) == 0 && v < m->nstreams)
				s->stream_ok[v] = 1, found = 1;
			if (!found) {
				set_err(err, cap, "no stream '%s' in this trace (it has %u: ids 0..%u; `hvlog info` lists them)",
					s->streams.v[i], m->nstreams, m->nstreams ? m->nstreams - 1 : 0);
				goto out;
			}
		}
		for (int i = 0; i < s->vps.n; i++) {
			uint64_t v;
			int found = 0;
			if (parse_u64(s->vps.v[i], &v) != 0) {
				set_err(err, cap, "--vp wants a number, not '%s'", s->vps.v[i]);
				goto out;
			}
			for (uint32_t k = 0; k < m->nstreams; k++)
				if (m->streams[k].vp_index != UINT32_MAX && m->streams[k].vp_index == v)
					s->stream_ok[k] = 1, found = 1;
			if (!found) {
				set_err(err, cap, "no stream of this trace is virtual processor %s (`hvlog info` lists them)",
					s->vps.v[i]);
				goto out;
			}
		}
		s->all_events = 0;
	}

	if (s->partitions.n) {
		if (!(s->parts = calloc((size_t)s->partitions.n, sizeof *s->parts)) ||
		    !(s->part_param = malloc(ne ? ne : 1))) {
			set_err(err, cap, "out of memory");
			goto out;
		}
		for (int i = 0; i < s->partitions.n; i++)
			if (parse_u64(s->partitions.v[i], &s->parts[s->nparts++]) != 0) {
				set_err(err, cap, "--partition wants a number, not '%s'", s->partitions.v[i]);
				goto out;
			}
		sel_param_index(sc, "partition_id", strlen("partition_id"), s->part_param);
		s->all_events = 0;
	}

	if (s->since && sel_parse_time(s->since, t0, m->clock_hz, 1, &s->lo) != 0) {
		set_err(err, cap, "bad time '%s' for --since (seconds like 1.5 or 2s, or 10ms, 5us, 100ns, 1000t; "
			"'@' first for absolute)", s->since);
		goto out;
	}
	if (s->until && sel_parse_time(s->until, t0, m->clock_hz, 0, &s->hi) != 0) {
		set_err(err, cap, "bad time '%s' for --until (seconds like 1.5 or 2s, or 10ms, 5us, 100ns, 1000t; "
			"'@' first for absolute)", s->until);
		goto out;
	}
	if (s->since || s->until)
		s->all_events = 0;

	if (s->wheres.n) {
		if (!(s->where = calloc((size_t)s->wheres.n, sizeof *s->where))) {
			set_err(err, cap, "out of memory");
			goto out;
		}
		for (int i = 0; i < s->wheres.n; i++) {
			char msg[256];
			int col;
			if (!(s->where[i] = sel_where_parse(s->wheres.v[i], sc, msg, sizeof msg, &col))) {
				set_err(err, cap, "--where: column %d: %s\n  %s\n  %*s^", col, msg, s->wheres.v[i], col - 1,
					"");
				goto out;
			}
			s->nwhere++;
		}
		s->all_events = 0;
	}
	rc = 0;
out:
	free(ein);
	free(eex);
	return rc;
}

void sel_apply(const hvsel *s, hvlog_reader *r)
{
	/* a mask of 0 would mean "every group": keep them all and let
	 * sel_match drop everything then */
	hvlog_reader_set_group_mask(r, s->group_mask);
	if (s->stream_ok)
		hvlog_reader_set_streams(r, s->stream_ok, s->meta->nstreams);
	hvlog_reader_set_time_range(r, s->lo, s->hi);
	/* a count does not depend on the order: skip the merge (not with a
	 * limit, which counts the first N in time order) */
	if (s->count && s->limit == UINT64_MAX)
		hvlog_reader_set_ordered(r, 0);
}

int sel_match(const hvsel *s, const hvlog_item *it)
{
	uint32_t e;

	if (s->all_events || it->kind == HVLOG_ITEM_DAMAGE)
		return 1;
	if (s->stream_ok && (it->stream >= s->meta->nstreams || !s->stream_ok[it->stream]))
		return 0;
	if (it->ts < s->lo || it->ts > s->hi)
		return 0;
	if (it->kind != HVLOG_ITEM_EVENT)
		return 1;
	e = (uint32_t)(it->event - s->meta->schema->events);
	if (!s->ev_ok[e])
		return 0;
	if (s->nparts) {
		int pi = s->part_param[e];
		uint64_t p;
		size_t k;
		if (pi >= 0)
			p = it->values[pi];
		else if (it->stream < s->meta->nstreams && s->meta->streams[it->stream].partition_id)
			p = s->meta->streams[it->stream].partition_id;
		else
			return 0;
		for (k = 0; k < s->nparts && s->parts[k] != p; k++)
			;
		if (k == s->nparts)
			return 0;
	}
	for (int i = 0; i < s->nwhere; i++)
		if (!sel_where_eval(s->where[i], it->event, it->values))
			return 0;
	return 1;
}

/* The compiled part of s as sel_init leaves it (nothing freed). */
static void clear_compiled(hvsel *s)
{
	s->meta = NULL;
	s->nevents = 0;
	s->ev_ok = s->stream_ok = NULL;
	s->group_mask = 0;
	s->parts = NULL;
	s->nparts = 0;
	s->part_param = NULL;
	s->lo = 0;
	s->hi = UINT64_MAX;
	s->where = NULL;
	s->nwhere = 0;
	s->all_events = 0;
}

void sel_free_compiled(hvsel *s)
{
	free(s->ev_ok);
	free(s->stream_ok);
	free(s->parts);
	free(s->part_param);
	for (int i = 0; i < s->nwhere; i++)
		sel_where_free(s->where[i]);
	free(s->where);
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
