/*
 * convert_csv.c - `hvlog convert --to csv`: RFC 4180, one row per item.
 *
 * Columns (the header row names them):
 *   type         event, lost or damage
 *   time_ns, ts  nanoseconds since the first event (as decode), ticks
 *   stream, stream_name
 *   group, event, number   the event's group alias, symbol and number
 *   then one column per parameter key of the events the selection allows
 *   (in schema order, each key once, from the file's embedded schema, so
 *   no first pass over the trace is needed), and after a parameter that
 *   has a value-name table a KEY_name column with the value's name;
 *   detail       for lost and damage rows: what was lost, what is damaged
 * A value is written as the schema displays it: hex parameters as 0x...,
 * others in decimal (bool as 0 or 1).  A cell is empty when the event has
 * no such parameter.  Lines end with CRLF, as RFC 4180 says.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"

struct col_ref {
	uint32_t col;    /* parameter column index (0 = first after "number") */
	uint8_t param;
	uint8_t is_name; /* the KEY_name column */
};

struct csv {
	uint32_t ncols;          /* columns in names[] */
	uint32_t nfixed;         /* the fixed ones first, then the parameter columns */
	char **names;            /* their header names */
	uint32_t *first;         /* per schema event: start in refs (nevents + 1) */
	struct col_ref *refs;
	cv_pieces pieces;        /* per stream its name field; per event group,symbol,number */
};

/* The fields that depend only on the file, quoted once (cv_pieces). */
static void stream_piece(cv_out *o, const cv_ctx *c, uint32_t s)
{
	cv_csv_field(o, cv_stream_name(c, s));
}

static void event_piece(cv_out *o, const cv_ctx *c, const hvlog_event *ev)
{
	cv_csv_field(o, cv_group_alias(c, ev));
	cv_ch(o, ',');
	cv_csv_field(o, ev->symbol);
	cv_ch(o, ',');
	cv_dec(o, ev->number);
}

static const cv_piece_writers csv_pieces = { stream_piece, event_piece, NULL };

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* The column named `name`, added if new; UINT32_MAX when out of memory. */
static uint32_t column(struct csv *v, uint32_t *tab, size_t tabsize, const char *name)
{
	size_t i = hash(name) & (tabsize - 1);

	for (; tab[i] != UINT32_MAX; i = (i + 1) & (tabsize - 1))
		if (!strcmp(v->names[tab[i]], name))
			return tab[i];
	if (!(v->names[v->ncols] = strdup(name)))
		return UINT32_MAX;
	tab[i] = v->ncols;
	return v->ncols++;
}

static const char *const fixed_cols[] = {
	"type", "time_ns", "ts", "stream", "stream_name", "group", "event", "number", "detail",
};

/* The column of a parameter (or KEY_name) column, renamed param_KEY if
 * KEY is a fixed column's name; its index among the parameter columns. */
static uint32_t param_column(struct csv *v, uint32_t *tab, size_t tabsize, const char *key)
{
	char name[HVLOG_MAX_NAME + 32];
	uint32_t col;

	for (size_t i = 0; i < sizeof fixed_cols / sizeof fixed_cols[0]; i++)
		if (!strcmp(key, fixed_cols[i])) {
			snprintf(name, sizeof name, "param_%s", key);
			key = name;
			break;
		}
	col = column(v, tab, tabsize, key);
	return col == UINT32_MAX ? col : col - v->nfixed;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct col_ref *x = a, *y = b;
	return (x->col > y->col) - (x->col < y->col);
}

static void commas(cv_out *o, uint64_t n)
{
	while (n) {
		size_t k = n > 4096 ? 4096 : (size_t)n;
		cv_reserve(o, k);
		memset(o->p, ',', k);
		o->p += k;
		n -= k;
	}
}

static int csv_begin(cv_ctx *c)
{
	const hvlog_schema *s = c->m->schema;
	struct csv *v = calloc(1, sizeof *v);
	size_t maxcols = 2 * (size_t)s->nslots + 1, tabsize = 16;
	uint32_t *tab = NULL;
	size_t nrefs = 0;
	cv_out *o = &c->out;

	maxcols += sizeof fixed_cols / sizeof fixed_cols[0];
	while (tabsize < 2 * maxcols)
		tabsize *= 2;
	if (!v)
		goto nomem;
	c->priv = v; /* csv_end frees it, whatever happens here */
	if (!(v->names = calloc(maxcols, sizeof *v->names)) ||
	    !(v->first = calloc((size_t)s->nevents + 1, sizeof *v->first)) ||
	    !(v->refs = calloc(maxcols, sizeof *v->refs)) || !(tab = malloc(tabsize * sizeof *tab)))
		goto nomem;
	memset(tab, 0xff, tabsize * sizeof *tab);
	/* the fixed columns first, so that a parameter key equal to one of
	 * them ("type") gets a column of its own, param_KEY */
	for (size_t i = 0; i < sizeof fixed_cols / sizeof fixed_cols[0]; i++)
		if (column(v, tab, tabsize, fixed_cols[i]) == UINT32_MAX)
			goto nomem;
	v->nfixed = v->ncols;
	for (uint32_t e = 0; e < s->nevents; e++) {
		const hvlog_event *ev = &s->events[e];
		v->first[e] = (uint32_t)nrefs;
		if (c->ev_ok && !c->ev_ok[e])
			continue;
		for (uint32_t i = 0; i < ev->nparams; i++) {
			char name[HVLOG_MAX_NAME + 16];
			uint32_t col = param_column(v, tab, tabsize, ev->params[i].key);
			if (col == UINT32_MAX)
				goto nomem;
			v->refs[nrefs++] = (struct col_ref){ col, (uint8_t)i, 0 };
			if (ev->params[i].values) {
				snprintf(name, sizeof name, "%s_name", ev->params[i].key);
				if ((col = param_column(v, tab, tabsize, name)) == UINT32_MAX)
					goto nomem;
				v->refs[nrefs++] = (struct col_ref){ col, (uint8_t)i, 1 };
			}
		}
		/* two keys of one event could share a column: keep the first */
		qsort(v->refs + v->first[e], nrefs - v->first[e], sizeof *v->refs, cmp_ref);
		size_t w = v->first[e];
		for (size_t r = v->first[e]; r < nrefs; r++)
			if (w == v->first[e] || v->refs[w - 1].col != v->refs[r].col)
				v->refs[w++] = v->refs[r];
		nrefs = w;
	}
	v->first[s->nevents] = (uint32_t)nrefs;
	free(tab);

	if (cv_pieces_build(&v->pieces, c, &csv_pieces) != 0)
		return EXIT_IO;
	cv_reserve(o, 256);
	cv_str(o, "type,time_ns,ts,stream,stream_name,group,event,number");
	for (uint32_t i = v->nfixed; i < v->ncols; i++) {
		cv_reserve(o, 2 * HVLOG_MAX_NAME + 16);
		cv_ch(o, ',');
		cv_csv_field(o, v->names[i]);
	}
	cv_str(o, ",detail\r\n");
	return 0;
nomem:
	free(tab);
	cli_error(NULL, UINT64_MAX, "out of memory for the CSV columns");
	return EXIT_IO;
}

static void fixed(cv_ctx *c, const char *type, const hvlog_item *it)
{
	cv_out *o = &c->out;

	cv_str(o, type);
	cv_ch(o, ',');
	cv_dec(o, hvlog_ticks_to_ns(it->ts, c->t0, c->m->clock_hz));
	cv_ch(o, ',');
	cv_dec(o, it->ts);
	cv_ch(o, ',');
	if (it->stream != UINT32_MAX) {
		cv_dec(o, it->stream);
		cv_ch(o, ',');
		cv_put_piece(o, ((const struct csv *)c->priv)->pieces.stream[it->stream]);
	} else {
		cv_ch(o, ',');
	}
	cv_ch(o, ',');
}

static int csv_item(cv_ctx *c, const hvlog_item *it)
{
	struct csv *v = c->priv;
	cv_out *o = &c->out;

	cv_reserve(o, CV_ITEM_MAX);
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const hvlog_event *ev = it->event;
		uint32_t e = cv_event_index(c, ev), cursor = 0;
		fixed(c, "event", it);
		cv_put_piece(o, v->pieces.event[e]);
		for (uint32_t r = v->first[e]; r < v->first[e + 1]; r++) {
			const struct col_ref *ref = &v->refs[r];
			const hvlog_param *p = &ev->params[ref->param];
			uint64_t val = it->values[ref->param];
			commas(o, ref->col - cursor + 1);
			cv_reserve(o, 4 * HVLOG_MAX_NAME);
			cursor = ref->col + 1;
			if (ref->is_name) {
				const char *name = hvlog_valtab_name(p->values, val);
				if (name)
					cv_csv_field(o, name);
			} else if (p->display == HVLOG_DISPLAY_HEX || p->display == HVLOG_DISPLAY_ENUM) {
				cv_hex(o, val);
			} else {
				cv_dec(o, val);
			}
		}
		commas(o, v->ncols - v->nfixed - cursor + 1);
		break;
	}
	case HVLOG_ITEM_LOST:
		fixed(c, "lost", it);
		cv_str(o, ",LOST,");
		commas(o, v->ncols - v->nfixed + 1);
		cv_reserve(o, 256);
		cv_str(o, "count=");
		cv_dec(o, it->lost_count);
		cv_str(o, " first_ts=");
		cv_dec(o, it->lost_first_ts);
		cv_str(o, " last_ts=");
		cv_dec(o, it->lost_last_ts);
		break;
	case HVLOG_ITEM_DAMAGE: {
		char detail[512];
		fixed(c, "damage", it);
		cv_str(o, ",DAMAGE,");
		commas(o, v->ncols - v->nfixed + 1);
		snprintf(detail, sizeof detail, "offset=%llu length=%llu events_lost=%llu kind=%s: %s",
			 (unsigned long long)it->offset, (unsigned long long)it->damage_len,
			 (unsigned long long)it->damage_events, hvlog_status_str(it->damage),
			 it->damage_msg ? it->damage_msg : "");
		cv_reserve(o, 2 * sizeof detail);
		cv_csv_field(o, detail);
		break;
	}
	}
	cv_reserve(o, 2);
	cv_str(o, "\r\n");
	return 0;
}

static int csv_end(cv_ctx *c)
{
	struct csv *v = c->priv;

	if (v) {
		for (uint32_t i = 0; i < v->ncols; i++)
			free(v->names[i]);
		free(v->names);
		free(v->first);
		free(v->refs);
		cv_pieces_free(&v->pieces);
		free(v);
		c->priv = NULL;
	}
	return 0;
}

const cv_format cv_format_csv = { "csv", 0, 0, csv_begin, csv_item, csv_end };
