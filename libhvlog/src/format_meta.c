/*
 * format_meta.c - one walk over a trace's metadata (hvlog_meta_walk), and
 * the meta item written with it: the file's metadata (format, producer,
 * clock, streams, schema) in the layout of docs/FORMAT.md section 3, plus
 * "type":"meta" and the time origin "t0", as the first JSON line or CBOR
 * map of a formatter's output (what `hvlog convert --from json|cbor`
 * rebuilds a file from).  The document is written once, through a small
 * encoder with a JSON and a CBOR back end, so the two cannot drift apart;
 * `hvlog events` walks the same lists for its tables.  Its size is the
 * metadata's, so it goes into a buffer that grows, once, when the
 * formatter is made.
 *
 * (The binary metadata codec, meta.c, writes the file's CBOR with libcbor
 * and reads every schema document, the file's and `convert --from`'s,
 * through hvlog_schema_from_doc.)
 */
#include <stdlib.h>
#include <string.h>

#include "format_int.h"

/* ---- the walk ------------------------------------------------------------- */

void hvlog_meta_walk(const hvlog_meta *m, const hvlog_schema *s, unsigned lists, const hvlog_meta_visitor *v,
		     void *ctx)
{
#define CALL(fn, ...) (v->fn ? v->fn(ctx, __VA_ARGS__) : (void)0)
	if (!s && m)
		s = m->schema;
	if ((lists & HVLOG_LIST_STREAMS) && m) {
		CALL(list, HVLOG_LIST_STREAMS, m->nstreams);
		for (uint32_t i = 0; i < m->nstreams; i++)
			CALL(stream, i, &m->streams[i]);
		CALL(list_end, HVLOG_LIST_STREAMS);
	}
	if (!s)
		return;
	if (lists & HVLOG_LIST_GROUPS) {
		CALL(list, HVLOG_LIST_GROUPS, s->ngroups);
		for (uint32_t i = 0; i < s->ngroups; i++)
			CALL(group, i, &s->groups[i]);
		CALL(list_end, HVLOG_LIST_GROUPS);
	}
	if (lists & HVLOG_LIST_VALTABS) {
		CALL(list, HVLOG_LIST_VALTABS, s->nvaltabs);
		for (uint32_t t = 0; t < s->nvaltabs; t++) {
			const hvlog_valtab *vt = &s->valtabs[t];
			CALL(valtab, t, vt);
			for (uint32_t k = 0; k < vt->nvalues; k++)
				CALL(value, vt, &vt->values[k]);
			CALL(valtab_end, vt);
		}
		CALL(list_end, HVLOG_LIST_VALTABS);
	}
	if (lists & HVLOG_LIST_EVENTS) {
		CALL(list, HVLOG_LIST_EVENTS, s->nevents);
		for (uint32_t e = 0; e < s->nevents; e++) {
			const hvlog_event *ev = &s->events[e];
			CALL(event, e, ev);
			for (uint32_t i = 0; i < ev->nparams; i++)
				CALL(param, ev, i, &ev->params[i]);
			CALL(event_end, ev);
		}
		CALL(list_end, HVLOG_LIST_EVENTS);
	}
#undef CALL
}

/* ---- output that grows ------------------------------------------------------ */

void hvlog__grow_reserve(struct grow *g, size_t n)
{
	size_t used = (size_t)(g->o.p - g->buf), cap;
	char *nb;

	if (g->failed || (size_t)(g->o.end - g->o.p) >= n)
		return;
	for (cap = g->cap ? g->cap : 4096; cap - used < n; cap *= 2)
		;
	if (!(nb = realloc(g->buf, cap))) {
		g->failed = 1;
		g->o.p = g->o.end; /* everything more is cut */
		return;
	}
	g->buf = nb;
	g->cap = cap;
	g->o = (struct out){ nb + used, nb + cap };
}

/* Keep what was written as f's header (0 if an allocation failed). */
int hvlog__grow_keep(hvlog_formatter *f, struct grow *g)
{
	if (g->failed) {
		free(g->buf);
		return 0;
	}
	f->header = g->buf;
	f->header_len = (size_t)(g->o.p - g->buf);
	return 1;
}

/* ---- a document encoder: JSON or CBOR -----------------------------------------
 *
 * Maps and arrays are given their length when they begin (CBOR writes
 * definite lengths) and closed with doc_end (JSON's bracket).  JSON puts
 * the commas itself: each level counts what it holds. */

#define DOC_DEPTH 8 /* the meta document is 6 deep */
#define NUM_MAX 32  /* the most a number or a head takes */

struct doc {
	struct grow g;
	int cbor;
	int json_ints;         /* JSON: integers above 2^53 as numbers too */
	int depth, after_key;
	uint32_t n[DOC_DEPTH]; /* JSON: entries so far at each level */
	char close[DOC_DEPTH]; /* JSON: '}' or ']' */
};

/* Before a value or a key: JSON's comma. */
static void doc_sep(struct doc *d)
{
	hvlog__grow_reserve(&d->g, NUM_MAX);
	if (d->cbor)
		return;
	if (d->after_key)
		d->after_key = 0;
	else if (d->n[d->depth]++)
		put_ch(&d->g.o, ',');
}

static void doc_open(struct doc *d, unsigned cb_major, char open, char close, uint32_t n)
{
	doc_sep(d);
	if (d->cbor) {
		hvlog__cb_head(&d->g.o, cb_major, n);
		return;
	}
	put_ch(&d->g.o, open);
	if (d->depth + 1 < DOC_DEPTH) {
		d->depth++;
		d->n[d->depth] = 0;
		d->close[d->depth] = close;
	}
}

static void doc_map(struct doc *d, uint32_t n)
{
	doc_open(d, HVLOG__CB_MAP, '{', '}', n);
}

static void doc_array(struct doc *d, uint32_t n)
{
	doc_open(d, HVLOG__CB_ARRAY, '[', ']', n);
}

static void doc_end(struct doc *d)
{
	if (d->cbor || !d->depth)
		return;
	hvlog__grow_reserve(&d->g, NUM_MAX);
	put_ch(&d->g.o, d->close[d->depth--]);
}

static void doc_str(struct doc *d, const char *s)
{
	size_t n;

	s = s ? s : "";
	n = strlen(s);
	doc_sep(d);
	hvlog__grow_reserve(&d->g, 2 + 6 * n + NUM_MAX); /* JSON escapes take up to 6 bytes a byte */
	if (d->cbor) {
		hvlog__cb_head(&d->g.o, HVLOG__CB_TEXT, n);
		put_mem(&d->g.o, s, n);
	} else {
		hvlog__put_json_str(&d->g.o, s);
	}
}

static void doc_key(struct doc *d, const char *k)
{
	doc_str(d, k);
	if (!d->cbor) {
		put_ch(&d->g.o, ':');
		d->after_key = 1;
	}
}

/* An integer; in JSON a decimal string above 2^53, where a reader that
 * parses numbers as doubles would round it (format.h). */
static void doc_int(struct doc *d, uint64_t mag, int neg)
{
	int quoted = !d->cbor && !d->json_ints && mag > HVLOG__JSON_EXACT_MAX;

	doc_sep(d);
	if (d->cbor) {
		hvlog__cb_head(&d->g.o, neg ? HVLOG__CB_NEGINT : HVLOG__CB_UINT, neg ? mag - 1 : mag);
		return;
	}
	if (quoted)
		put_ch(&d->g.o, '"');
	if (neg)
		put_ch(&d->g.o, '-');
	hvlog__put_dec(&d->g.o, mag);
	if (quoted)
		put_ch(&d->g.o, '"');
}

static void doc_uint(struct doc *d, uint64_t v)
{
	doc_int(d, v, 0);
}

static void doc_sint(struct doc *d, int64_t v)
{
	doc_int(d, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

static void kv_str(struct doc *d, const char *k, const char *v)
{
	doc_key(d, k);
	doc_str(d, v);
}

static void kv_uint(struct doc *d, const char *k, uint64_t v)
{
	doc_key(d, k);
	doc_uint(d, v);
}

/* ---- the meta document, as a visitor of the walk -------------------------------- */

static const char *const list_keys[] = {
	[HVLOG_LIST_STREAMS] = "streams", [HVLOG_LIST_GROUPS] = "groups",
	[HVLOG_LIST_VALTABS] = "valtabs", [HVLOG_LIST_EVENTS] = "events",
};

static void m_list(void *ctx, unsigned list, uint32_t n)
{
	doc_key(ctx, list_keys[list]);
	doc_array(ctx, n);
}

static void m_end(void *ctx, unsigned list)
{
	(void)list;
	doc_end(ctx);
}

static void m_stream(void *ctx, uint32_t i, const hvlog_stream_info *si)
{
	doc_map(ctx, 4);
	kv_uint(ctx, "id", i);
	kv_str(ctx, "name", si->name);
	kv_uint(ctx, "partition", si->partition_id);
	kv_uint(ctx, "vp", si->vp_index);
	doc_end(ctx);
}

static void m_group(void *ctx, uint32_t i, const hvlog_group *g)
{
	(void)i;
	doc_map(ctx, 3);
	kv_str(ctx, "alias", g->alias);
	kv_str(ctx, "name", g->name);
	kv_uint(ctx, "mask", g->mask);
	doc_end(ctx);
}

static void m_valtab(void *ctx, uint32_t i, const hvlog_valtab *t)
{
	(void)i;
	doc_map(ctx, 2);
	kv_str(ctx, "alias", t->alias);
	doc_key(ctx, "values");
	doc_array(ctx, t->nvalues);
}

static void m_value(void *ctx, const hvlog_valtab *t, const hvlog_value_name *v)
{
	(void)t;
	doc_array(ctx, 2);
	doc_uint(ctx, v->value);
	doc_str(ctx, v->name);
	doc_end(ctx);
}

static void m_valtab_end(void *ctx, const hvlog_valtab *t)
{
	(void)t;
	doc_end(ctx);
	doc_end(ctx);
}

static void m_event(void *ctx, uint32_t i, const hvlog_event *ev)
{
	(void)i;
	doc_map(ctx, 5);
	kv_uint(ctx, "number", ev->number);
	kv_str(ctx, "symbol", ev->symbol);
	kv_str(ctx, "description", ev->description);
	kv_uint(ctx, "group", ev->group);
	doc_key(ctx, "params");
	doc_array(ctx, ev->nparams);
}

struct meta_ctx {
	struct doc d; /* first: the visitors take either */
	const hvlog_schema *s;
};

static void m_param(void *ctx, const hvlog_event *ev, uint32_t i, const hvlog_param *p)
{
	const hvlog_schema *s = ((struct meta_ctx *)ctx)->s;

	(void)ev;
	(void)i;
	doc_map(ctx, 5u + (p->values != NULL) + (p->role != HVLOG_ROLE_NONE));
	kv_str(ctx, "key", p->key);
	kv_str(ctx, "name", p->name);
	kv_str(ctx, "type", hvlog_type_name(p->type));
	kv_str(ctx, "display", hvlog_display_name(p->display));
	kv_str(ctx, "coding", hvlog_coding_name(p->coding));
	if (p->values)
		kv_uint(ctx, "values", (uint64_t)(p->values - s->valtabs));
	if (p->role != HVLOG_ROLE_NONE) /* as the file's metadata has it (FORMAT.md 3.5) */
		kv_str(ctx, "role", hvlog_role_name(p->role));
	doc_end(ctx);
}

static void m_event_end(void *ctx, const hvlog_event *ev)
{
	(void)ev;
	doc_end(ctx);
	doc_end(ctx);
}

static const hvlog_meta_visitor meta_visitor = {
	.list = m_list,
	.list_end = m_end,
	.stream = m_stream,
	.group = m_group,
	.valtab = m_valtab,
	.value = m_value,
	.valtab_end = m_valtab_end,
	.event = m_event,
	.param = m_param,
	.event_end = m_event_end,
};

/* The meta item of f (JSON line or CBOR map) as its header; 0 out of memory. */
int hvlog__meta_item(hvlog_formatter *f)
{
	const hvlog_meta *m = f->m;
	struct meta_ctx c = { .d = { .cbor = f->kind == HVLOG_FORMAT_CBOR,
				      .json_ints = !!(f->flags & HVLOG_FMT_JSON_INTEGERS) },
			      .s = m->schema };
	struct doc *d = &c.d;

	doc_map(d, m->nprops ? 9 : 8);
	kv_str(d, "type", "meta");
	kv_str(d, "format", "hvlog");
	doc_key(d, "version");
	doc_array(d, 2);
	doc_uint(d, m->version_major);
	doc_uint(d, m->version_minor);
	doc_end(d);
	kv_str(d, "producer", m->producer);
	doc_key(d, "clock");
	doc_map(d, 3);
	kv_str(d, "name", m->clock_name);
	kv_uint(d, "hz", m->clock_hz);
	doc_key(d, "epoch_ns");
	doc_sint(d, m->clock_epoch_ns);
	doc_end(d);
	kv_uint(d, "t0", f->t0);
	if (m->nprops) { /* the producer's own pairs (FORMAT.md 3.2), only when there are some */
		doc_key(d, "props");
		doc_map(d, m->nprops);
		for (uint32_t i = 0; i < m->nprops; i++)
			kv_str(d, m->props[i].key, m->props[i].value);
		doc_end(d);
	}
	hvlog_meta_walk(m, NULL, HVLOG_LIST_STREAMS, &meta_visitor, &c);
	doc_key(d, "schema");
	doc_map(d, 5);
	kv_str(d, "name", m->schema->name);
	kv_uint(d, "version", m->schema->version);
	hvlog_meta_walk(NULL, m->schema, HVLOG_LIST_GROUPS | HVLOG_LIST_VALTABS | HVLOG_LIST_EVENTS, &meta_visitor,
			&c);
	doc_end(d);
	doc_end(d);
	if (!d->cbor) {
		hvlog__grow_reserve(&d->g, NUM_MAX);
		put_ch(&d->g.o, '\n');
	}
	return hvlog__grow_keep(f, &d->g);
}
