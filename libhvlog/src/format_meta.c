/*
 * format_meta.c - the JSON meta item: the file's metadata (format,
 * producer, clock, streams, schema) in the layout of docs/FORMAT.md
 * section 3, plus "type":"meta" and the time origin "t0", as the first
 * line of JSON Lines (what `hvlog convert --from json` rebuilds a file
 * from).  Its size is the metadata's, so it is written into a buffer that
 * grows, once, when the formatter is made.
 */
#include <stdlib.h>
#include <string.h>

#include "format_int.h"

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

/* The most one entry (a stream, group, value name or parameter) takes:
 * a few names of HVLOG_MAX_NAME bytes, each at most 6 bytes per byte
 * escaped, and numbers. */
#define ENTRY_MAX 4096

static void key(struct out *o, const char *k, int comma)
{
	if (comma)
		put_ch(o, ',');
	hvlog__put_json_str(o, k);
	put_ch(o, ':');
}

/* A name as a JSON string, with room made for it whatever its length (a
 * hand-built hvlog_meta has no caps). */
static void str(struct grow *g, const char *s)
{
	s = s ? s : "";
	hvlog__grow_reserve(g, 2 + 6 * strlen(s) + ENTRY_MAX);
	hvlog__put_json_str(&g->o, s);
}

static void sdec(struct out *o, int64_t v)
{
	if (v < 0) {
		put_ch(o, '-');
		hvlog__put_dec(o, (uint64_t)0 - (uint64_t)v);
	} else {
		hvlog__put_dec(o, (uint64_t)v);
	}
}

static void json_param(struct grow *g, const hvlog_schema *s, const hvlog_param *p, int comma)
{
	struct out *o = &g->o;

	put_str(o, comma ? ",{" : "{");
	key(o, "key", 0);
	str(g, p->key);
	key(o, "name", 1);
	str(g, p->name);
	key(o, "type", 1);
	str(g, hvlog_type_name(p->type));
	key(o, "display", 1);
	str(g, hvlog_display_name(p->display));
	key(o, "coding", 1);
	str(g, hvlog_coding_name(p->coding));
	if (p->values) {
		key(o, "values", 1);
		hvlog__put_dec(o, (uint64_t)(p->values - s->valtabs));
	}
	put_ch(o, '}');
}

static void json_event(struct grow *g, const hvlog_schema *s, const hvlog_event *ev, int comma)
{
	struct out *o = &g->o;

	hvlog__grow_reserve(g, ENTRY_MAX);
	put_str(o, comma ? ",{" : "{");
	key(o, "number", 0);
	hvlog__put_dec(o, ev->number);
	key(o, "symbol", 1);
	str(g, ev->symbol);
	key(o, "description", 1);
	str(g, ev->description);
	key(o, "group", 1);
	hvlog__put_dec(o, ev->group);
	key(o, "params", 1);
	put_ch(o, '[');
	for (uint32_t i = 0; i < ev->nparams; i++) {
		hvlog__grow_reserve(g, ENTRY_MAX);
		json_param(g, s, &ev->params[i], i > 0);
	}
	put_str(o, "]}");
}

int hvlog__json_meta(hvlog_formatter *f)
{
	const hvlog_meta *m = f->m;
	const hvlog_schema *s = m->schema;
	struct grow g = { 0 };
	struct out *o = &g.o;

	hvlog__grow_reserve(&g, ENTRY_MAX);
	put_str(o, "{\"type\":\"meta\"");
	key(o, "format", 1);
	put_str(o, "\"hvlog\"");
	key(o, "version", 1);
	put_ch(o, '[');
	hvlog__put_dec(o, m->version_major);
	put_ch(o, ',');
	hvlog__put_dec(o, m->version_minor);
	put_ch(o, ']');
	key(o, "producer", 1);
	str(&g, m->producer);
	key(o, "clock", 1);
	put_ch(o, '{');
	key(o, "name", 0);
	str(&g, m->clock_name);
	key(o, "hz", 1);
	hvlog__put_dec(o, m->clock_hz);
	key(o, "epoch_ns", 1);
	sdec(o, m->clock_epoch_ns);
	put_ch(o, '}');
	key(o, "t0", 1);
	hvlog__put_dec(o, f->t0);
	key(o, "streams", 1);
	put_ch(o, '[');
	for (uint32_t i = 0; i < m->nstreams; i++) {
		const hvlog_stream_info *si = &m->streams[i];
		hvlog__grow_reserve(&g, ENTRY_MAX);
		if (i)
			put_ch(o, ',');
		put_str(o, "{\"id\":");
		hvlog__put_dec(o, i);
		key(o, "name", 1);
		str(&g, si->name);
		key(o, "partition", 1);
		hvlog__put_dec(o, si->partition_id);
		key(o, "vp", 1);
		hvlog__put_dec(o, si->vp_index);
		put_ch(o, '}');
	}
	put_ch(o, ']');
	hvlog__grow_reserve(&g, ENTRY_MAX);
	key(o, "schema", 1);
	put_ch(o, '{');
	key(o, "name", 0);
	str(&g, s->name);
	key(o, "version", 1);
	hvlog__put_dec(o, s->version);
	key(o, "groups", 1);
	put_ch(o, '[');
	for (uint32_t i = 0; i < s->ngroups; i++) {
		hvlog__grow_reserve(&g, ENTRY_MAX);
		put_str(o, i ? ",{" : "{");
		key(o, "alias", 0);
		str(&g, s->groups[i].alias);
		key(o, "name", 1);
		str(&g, s->groups[i].name);
		key(o, "mask", 1);
		hvlog__put_dec(o, s->groups[i].mask);
		put_ch(o, '}');
	}
	put_ch(o, ']');
	key(o, "valtabs", 1);
	put_ch(o, '[');
	for (uint32_t t = 0; t < s->nvaltabs; t++) {
		const hvlog_valtab *vt = &s->valtabs[t];
		hvlog__grow_reserve(&g, ENTRY_MAX);
		put_str(o, t ? ",{" : "{");
		key(o, "alias", 0);
		str(&g, vt->alias);
		key(o, "values", 1);
		put_ch(o, '[');
		for (uint32_t v = 0; v < vt->nvalues; v++) {
			hvlog__grow_reserve(&g, ENTRY_MAX);
			put_str(o, v ? ",[" : "[");
			hvlog__put_dec(o, vt->values[v].value);
			put_ch(o, ',');
			str(&g, vt->values[v].name);
			put_ch(o, ']');
		}
		put_str(o, "]}");
	}
	put_ch(o, ']');
	key(o, "events", 1);
	put_ch(o, '[');
	for (uint32_t e = 0; e < s->nevents; e++)
		json_event(&g, s, &s->events[e], e > 0);
	hvlog__grow_reserve(&g, ENTRY_MAX);
	put_str(o, "]}}\n");
	return hvlog__grow_keep(f, &g);
}
