/*
 * format_csv.c - items as CSV rows (RFC 4180, CRLF line ends).
 *
 * Columns (the header row names them):
 *   type         event, lost or damage
 *   time_ns, ts  nanoseconds since tick t0, ticks
 *   stream, stream_name
 *   group, event, number   the event's group alias, symbol and number
 *   then one column per parameter key of the selected events (in schema
 *   order, each key once, from the file's embedded schema, so no first
 *   pass over the trace is needed), and after a parameter that has a
 *   value-name table a KEY_name column with the value's name; a key equal
 *   to a fixed column's name gets the column param_KEY;
 *   detail       for lost and damage rows: what was lost, what is damaged
 * A value is written as the schema displays it: hex and enum parameters as
 * 0x..., others in decimal (bool as 0 or 1).  A cell is empty when the
 * event has no such parameter.
 */
#include <stdio.h>
#include <stdlib.h>

#include "format_int.h"

struct col_ref {
	uint32_t col;    /* parameter column index (0 = first after "number") */
	uint8_t param;
	uint8_t is_name; /* the KEY_name column */
};

struct fmt_csv {
	uint32_t ncols;            /* all columns, the fixed ones first */
	uint32_t nfixed;
	const uint32_t *first;     /* per schema event: its start in refs (nevents + 1) */
	const struct col_ref *refs;
	const struct piece *streams; /* per stream its name field */
	const struct piece *events;  /* per event group,symbol,number */
};

/* s as one field: quoted only if it must be. */
static void field(struct out *o, const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		put_str(o, s);
		return;
	}
	put_ch(o, '"');
	for (; *s; s++) {
		if (*s == '"')
			put_ch(o, '"');
		put_ch(o, *s);
	}
	put_ch(o, '"');
}

/* n commas; eight at a time where there is room for the last eight
 * (what is written past the n-th is overwritten or past the row). */
static inline void commas(struct out *o, size_t n)
{
	static const char c8[8] = ",,,,,,,,";
	size_t room = (size_t)(o->end - o->p);

	if (n + sizeof c8 <= room) {
		for (size_t i = 0; i < n; i += sizeof c8)
			memcpy(o->p + i, c8, sizeof c8);
	} else {
		if (n > room)
			n = room;
		memset(o->p, ',', n);
	}
	o->p += n;
}

/* ---- the columns ----------------------------------------------------------- */

static const char *const fixed_cols[] = {
	"type", "time_ns", "ts", "stream", "stream_name", "group", "event", "number", "detail",
};
#define NFIXED (sizeof fixed_cols / sizeof fixed_cols[0])

/* While the columns are found: their names and an open-addressing table of
 * them. */
struct cols {
	char **names;
	uint32_t n;
	uint32_t *tab;
	size_t tabsize;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* The column named `name`, added if new; UINT32_MAX out of memory. */
static uint32_t column(struct cols *c, const char *name)
{
	size_t i = hash(name) & (c->tabsize - 1);

	for (; c->tab[i] != UINT32_MAX; i = (i + 1) & (c->tabsize - 1))
		if (!strcmp(c->names[c->tab[i]], name))
			return c->tab[i];
	if (!(c->names[c->n] = strdup(name)))
		return UINT32_MAX;
	c->tab[i] = c->n;
	return c->n++;
}

/* The column of a parameter (or KEY_name), renamed param_KEY if KEY is a
 * fixed column's name; its index among the parameter columns. */
static uint32_t param_column(struct cols *c, const char *key)
{
	char name[2 * HVLOG_MAX_NAME + 32];
	uint32_t col;

	for (size_t i = 0; i < NFIXED; i++)
		if (!strcmp(key, fixed_cols[i])) {
			snprintf(name, sizeof name, "param_%s", key);
			key = name;
			break;
		}
	col = column(c, key);
	return col == UINT32_MAX ? col : col - (uint32_t)NFIXED;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct col_ref *x = a, *y = b;
	return (x->col > y->col) - (x->col < y->col);
}

/* The columns of the selected events' parameters into v (first, refs) and
 * c (names); 0 out of memory. */
static int find_columns(hvlog_formatter *f, struct fmt_csv *v, struct cols *c, const uint8_t *events,
			uint32_t *first, struct col_ref *refs)
{
	const hvlog_schema *s = f->m->schema;
	size_t nrefs = 0;

	for (size_t i = 0; i < NFIXED; i++)
		if (column(c, fixed_cols[i]) == UINT32_MAX)
			return 0;
	for (uint32_t e = 0; e < s->nevents; e++) {
		const hvlog_event *ev = &s->events[e];
		size_t w;
		first[e] = (uint32_t)nrefs;
		if (events && !events[e])
			continue;
		for (uint32_t i = 0; i < ev->nparams && i < HVLOG_MAX_PARAMS; i++) {
			char name[HVLOG_MAX_NAME + 16];
			uint32_t col = param_column(c, ev->params[i].key);
			if (col == UINT32_MAX)
				return 0;
			refs[nrefs++] = (struct col_ref){ col, (uint8_t)i, 0 };
			if (ev->params[i].values) {
				snprintf(name, sizeof name, "%s_name", ev->params[i].key);
				if ((col = param_column(c, name)) == UINT32_MAX)
					return 0;
				refs[nrefs++] = (struct col_ref){ col, (uint8_t)i, 1 };
			}
		}
		/* two keys of one event could share a column: keep the first */
		qsort(refs + first[e], nrefs - first[e], sizeof *refs, cmp_ref);
		w = first[e];
		for (size_t r = first[e]; r < nrefs; r++)
			if (w == first[e] || refs[w - 1].col != refs[r].col)
				refs[w++] = refs[r];
		nrefs = w;
	}
	first[s->nevents] = (uint32_t)nrefs;
	v->ncols = c->n;
	v->nfixed = (uint32_t)NFIXED;
	return 1;
}

/* The header row from the column names. */
static int header_row(hvlog_formatter *f, const struct cols *c)
{
	struct grow g = { 0 };

	hvlog__grow_reserve(&g, 256);
	put_str(&g.o, "type,time_ns,ts,stream,stream_name,group,event,number");
	for (uint32_t i = (uint32_t)NFIXED; i < c->n; i++) {
		hvlog__grow_reserve(&g, 2 * strlen(c->names[i]) + 16);
		put_ch(&g.o, ',');
		field(&g.o, c->names[i]);
	}
	hvlog__grow_reserve(&g, 16);
	put_str(&g.o, ",detail\r\n");
	return hvlog__grow_keep(f, &g);
}

/* The fields that depend only on the file, quoted once. */
static int pieces(hvlog_formatter *f, struct fmt_csv *v)
{
	const hvlog_meta *m = f->m;
	struct arena a = { NULL, 0, hvlog__fmt_alloc, f };
	struct piece *streams = hvlog__fmt_alloc(f, (m->nstreams + 1) * sizeof *streams);
	struct piece *events = hvlog__fmt_alloc(f, (m->schema->nevents + 1) * sizeof *events);
	char buf[PIECE_MAX];
	struct out o;

	if (!streams || !events)
		return 0;
	for (uint32_t i = 0; i < m->nstreams; i++) {
		SCRATCH(o, buf);
		field(&o, hvlog__fmt_stream_name(m, i));
		if (!hvlog__fmt_keep(&a, &streams[i], buf, &o))
			return 0;
	}
	for (uint32_t e = 0; e < m->schema->nevents; e++) {
		const hvlog_event *ev = &m->schema->events[e];
		SCRATCH(o, buf);
		field(&o, hvlog__fmt_group_alias(m, ev));
		put_ch(&o, ',');
		field(&o, ev->symbol);
		put_ch(&o, ',');
		hvlog__put_dec(&o, ev->number);
		if (!hvlog__fmt_keep(&a, &events[e], buf, &o))
			return 0;
	}
	v->streams = streams;
	v->events = events;
	return 1;
}

int hvlog__csv_build(hvlog_formatter *f, const uint8_t *events)
{
	const hvlog_schema *s = f->m->schema;
	size_t nparams = 0, maxcols, tabsize = 16;
	struct fmt_csv *v = hvlog__fmt_alloc(f, sizeof *v);
	uint32_t *first = hvlog__fmt_alloc(f, ((size_t)s->nevents + 1) * sizeof *first);
	struct col_ref *refs = NULL;
	struct cols c = { 0 };
	int ok = 0;

	/* (counted here: a hand-built schema has no slot count) */
	for (uint32_t e = 0; e < s->nevents; e++)
		nparams += s->events[e].nparams < HVLOG_MAX_PARAMS ? s->events[e].nparams : HVLOG_MAX_PARAMS;
	maxcols = 2 * nparams + NFIXED; /* a column per key and per KEY_name at most */
	while (tabsize < 2 * maxcols)
		tabsize *= 2;
	if (!v || !first || !(refs = hvlog__fmt_alloc(f, maxcols * sizeof *refs)) ||
	    !(c.names = calloc(maxcols, sizeof *c.names)) || !(c.tab = malloc(tabsize * sizeof *c.tab)))
		goto out;
	memset(c.tab, 0xff, tabsize * sizeof *c.tab);
	c.tabsize = tabsize;
	if (!find_columns(f, v, &c, events, first, refs) || !header_row(f, &c) || !pieces(f, v))
		goto out;
	v->first = first;
	v->refs = refs;
	f->csv = v;
	/* the commas of the empty cells come on top of a line's contents */
	f->item_max = HVLOG_FORMAT_MAX + v->ncols;
	ok = 1;
out:
	if (c.names)
		for (uint32_t i = 0; i < c.n; i++)
			free(c.names[i]);
	free(c.names);
	free(c.tab);
	return ok;
}

/* ---- rows ------------------------------------------------------------------ */

static void fixed(const hvlog_formatter *f, struct out *o, const char *type, const hvlog_item *it)
{
	put_str(o, type);
	put_ch(o, ',');
	hvlog__put_dec(o, fmt_ns(f, it->ts));
	put_ch(o, ',');
	hvlog__put_dec(o, it->ts);
	put_ch(o, ',');
	if (it->stream != UINT32_MAX) {
		hvlog__put_dec(o, it->stream);
		put_ch(o, ',');
		if (it->stream < f->m->nstreams)
			put_piece(o, f->csv->streams[it->stream]);
		else
			field(o, hvlog__fmt_stream_name(f->m, it->stream));
	} else {
		put_ch(o, ',');
	}
	put_ch(o, ',');
}

static void event_row(const hvlog_formatter *f, struct out *o, const hvlog_item *it)
{
	const struct fmt_csv *v = f->csv;
	const hvlog_event *ev = it->event;
	uint32_t e = fmt_event_index(f, ev), cursor = 0;

	fixed(f, o, "event", it);
	if (e == UINT32_MAX) { /* an event from elsewhere: its fields, no parameters */
		field(o, hvlog__fmt_group_alias(f->m, ev));
		put_ch(o, ',');
		field(o, ev->symbol);
		put_ch(o, ',');
		hvlog__put_dec(o, ev->number);
		commas(o, v->ncols - v->nfixed + 1);
		return;
	}
	put_piece(o, v->events[e]);
	for (uint32_t r = v->first[e]; r < v->first[e + 1]; r++) {
		const struct col_ref *ref = &v->refs[r];
		const hvlog_param *p = &ev->params[ref->param];
		uint64_t val = it->values[ref->param];
		commas(o, ref->col - cursor + 1);
		cursor = ref->col + 1;
		if (ref->is_name) {
			const char *name = hvlog_valtab_name(p->values, val);
			if (name)
				field(o, name);
		} else if (p->display == HVLOG_DISPLAY_HEX || p->display == HVLOG_DISPLAY_ENUM) {
			hvlog__put_hex(o, val);
		} else {
			hvlog__put_dec(o, val);
		}
	}
	commas(o, v->ncols - v->nfixed - cursor + 1);
}

void hvlog__csv_item(const hvlog_formatter *f, struct out *o, const hvlog_item *it)
{
	const struct fmt_csv *v = f->csv;

	switch (it->kind) {
	case HVLOG_ITEM_EVENT:
		event_row(f, o, it);
		break;
	case HVLOG_ITEM_LOST:
		fixed(f, o, "lost", it);
		put_str(o, ",LOST,");
		commas(o, v->ncols - v->nfixed + 1);
		put_str(o, "count=");
		hvlog__put_dec(o, it->lost_count);
		put_str(o, " first_ts=");
		hvlog__put_dec(o, it->lost_first_ts);
		put_str(o, " last_ts=");
		hvlog__put_dec(o, it->lost_last_ts);
		break;
	case HVLOG_ITEM_DAMAGE: {
		char detail[512];
		fixed(f, o, "damage", it);
		put_str(o, ",DAMAGE,");
		commas(o, v->ncols - v->nfixed + 1);
		snprintf(detail, sizeof detail, "offset=%llu length=%llu events_lost=%llu kind=%s: %s",
			 (unsigned long long)it->offset, (unsigned long long)it->damage_len,
			 (unsigned long long)it->damage_events, hvlog_status_str(it->damage),
			 it->damage_msg ? it->damage_msg : "");
		field(o, detail);
		break;
	}
	}
}
