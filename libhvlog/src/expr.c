/*
 * expr.c - the --where expression language: lexer, parser, evaluator.
 *
 *   expr   := or
 *   or     := and ('||' and)*
 *   and    := unary ('&&' unary)*
 *   unary  := '!' unary | '(' or ')' | cmp
 *   cmp    := NAME ('==' | '!=' | '<' | '<=' | '>' | '>=') value
 *           | NAME 'in' '{' value (',' value)* '}'
 *   value  := NUMBER (decimal or 0x hex, 64 bits) | true | false
 *           | a name from the parameter's value table
 *
 * NAME is a parameter's key or display name (any case, '_' for spaces),
 * looked up over every event of the schema.  An event without the
 * parameter makes the comparison unknown (Kleene logic), and unknown at
 * the top is false.  Errors point at the byte where the fault is.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/select.h"
#include "expr.h"
#include "internal.h"

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

struct hvlog__expr {
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
	hvlog__expr *w;
	hvlog_error *err;
	int failed;
	int depth;             /* '(' and '!' open around the token */
	enum tok tok;
	const char *ts;        /* token start */
	size_t tlen;
	uint64_t num;
};

/* The first fault only: err gets its status, its byte offset in the
 * expression and the message. */
static void vperr(struct parser *ps, hvlog_status st, const char *at, const char *fmt, va_list ap)
{
	if (ps->failed)
		return;
	ps->failed = 1;
	if (!ps->err)
		return;
	ps->err->status = st;
	ps->err->sys_errno = 0;
	ps->err->offset = (uint64_t)(at - ps->src);
	ps->err->stream = UINT32_MAX;
	ps->err->chunk_seq = UINT64_MAX;
	vsnprintf(ps->err->msg, sizeof ps->err->msg, fmt, ap);
}

static void perr_as(struct parser *ps, hvlog_status st, const char *at, const char *fmt, ...) HVLOG_PRINTF(4, 5);
static void perr_as(struct parser *ps, hvlog_status st, const char *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vperr(ps, st, at, fmt, ap);
	va_end(ap);
}

/* A fault of the expression's form. */
static void perr(struct parser *ps, const char *at, const char *fmt, ...) HVLOG_PRINTF(3, 4);
static void perr(struct parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vperr(ps, HVLOG_INVALID, at, fmt, ap);
	va_end(ap);
}

static int ident_char(int c)
{
	return isalnum(c) || c == '_';
}

static void next(struct parser *ps)
{
	const char *p = ps->p;
	char tmp[8];

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
			if (hvlog__parse_u64(buf, &ps->num) == 0) {
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
		/* the whole character: a UTF-8 lead byte and its continuations */
		size_t n = 1;
		while ((unsigned char)*p >= 0xc0 && n < 4 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n++;
		if (*p == '&' || *p == '|' || *p == '=')
			perr(ps, p, "'%c' is not an operator: did you mean '%c%c'?", *p, *p, *p);
		else
			perr(ps, p, "unexpected character '%s'", hvlog__shown(tmp, sizeof tmp, p, n));
		ps->tlen = n;
	}
	ps->p = p + ps->tlen;
}

static int new_node(struct parser *ps, int op)
{
	hvlog__expr *w = ps->w;

	if (w->nn == w->capn) {
		int nc = w->capn ? 2 * w->capn : 16;
		struct wnode *nn = realloc(w->n, (size_t)nc * sizeof *nn);
		if (!nn) {
			perr_as(ps, HVLOG_NOMEM, ps->ts, "out of memory");
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
	char shown[41];

	snprintf(buf, cap, "'%s'", hvlog__shown(shown, sizeof shown, ps->ts, ps->tlen));
	return buf;
}

/* The key slot for parameter name [s, s+len), or -1 (error set). */
static int key_slot(struct parser *ps, const char *s, size_t len)
{
	hvlog__expr *w = ps->w;
	int8_t *idx, **nk;

	if (!(idx = malloc(w->sc->nevents ? w->sc->nevents : 1)) ||
	    !(nk = realloc(w->keys, (size_t)(w->nkeys + 1) * sizeof *nk))) {
		free(idx);
		perr_as(ps, HVLOG_NOMEM, s, "out of memory");
		return -1;
	}
	w->keys = nk;
	if (!hvlog_schema_param_index(w->sc, s, len, idx)) {
		hvlog__near near;
		free(idx);
		hvlog__near_init(&near, s, len);
		for (uint32_t e = 0; e < w->sc->nevents; e++)
			for (uint32_t i = 0; i < w->sc->events[e].nparams; i++)
				hvlog__near_add(&near, w->sc->events[e].params[i].key);
		if (near.best)
			perr_as(ps, HVLOG_UNKNOWN, s, "unknown parameter '%.*s': no event of the schema has it; "
				"did you mean '%s'? (see `hvlog events`)", (int)len, s, near.best);
		else
			perr_as(ps, HVLOG_UNKNOWN, s, "unknown parameter '%.*s': no event of the schema has it "
				"(see `hvlog events`)", (int)len, s);
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
		if (hvlog__same_name("true", ps->ts, ps->tlen) || hvlog__same_name("false", ps->ts, ps->tlen)) {
			*v = tolower((unsigned char)ps->ts[0]) == 't';
			next(ps);
			return 0;
		}
		for (uint32_t e = 0; e < sc->nevents; e++) {
			int pi = ps->w->keys[key][e];
			const hvlog_valtab *t = pi >= 0 ? sc->events[e].params[pi].values : NULL;
			for (uint32_t k = 0; t && k < t->nvalues; k++)
				if (hvlog__same_name(t->values[k].name, ps->ts, ps->tlen)) {
					*v = t->values[k].value;
					next(ps);
					return 0;
				}
		}
		perr_as(ps, HVLOG_UNKNOWN, ps->ts, "'%.*s' is not a number nor a value name of this parameter",
			(int)ps->tlen, ps->ts);
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
	if (ps->tok == T_IDENT && hvlog__same_name("in", ps->ts, ps->tlen)) {
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
				perr_as(ps, HVLOG_NOMEM, ps->ts, "out of memory");
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

void hvlog__expr_free(hvlog__expr *w)
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

hvlog__expr *hvlog__expr_parse(const char *expr, const hvlog_schema *sc, hvlog_error *err)
{
	struct parser ps = { .src = expr, .p = expr, .err = err };
	char tmp[64];

	if (!(ps.w = calloc(1, sizeof *ps.w))) {
		hvlog__fail(err, HVLOG_NOMEM, 0, "out of memory");
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
		hvlog__expr_free(ps.w);
		return NULL;
	}
	return ps.w;
}

/* Kleene logic: 0 false, 1 true, 2 unknown (a parameter is missing). */
static int eval3(const hvlog__expr *w, int i, uint32_t e, const uint64_t *vals)
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

int hvlog__expr_eval(const hvlog__expr *w, const hvlog_event *ev, const uint64_t *values)
{
	return eval3(w, w->root, (uint32_t)(ev - w->sc->events), values) == 1;
}

