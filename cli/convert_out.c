/*
 * convert_out.c - the output buffer, JSON/CSV text pieces, the metadata
 * object and the progress bar shared by the `hvlog convert` writers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "convert.h"

int cv_out_init(cv_out *o, FILE *f, size_t cap)
{
	*o = (cv_out){ .f = f };
	if (cap < 2 * CV_ITEM_MAX)
		cap = 2 * CV_ITEM_MAX;
	if (!(o->buf = malloc(cap)))
		return -1;
	o->p = o->buf;
	o->end = o->buf + cap;
	return 0;
}

void cv_out_flush(cv_out *o)
{
	size_t n = (size_t)(o->p - o->buf);

	if (n && !o->failed && fwrite(o->buf, 1, n, o->f) != n) {
		o->failed = 1;
		o->err = errno;
	}
	o->p = o->buf;
}

void cv_out_free(cv_out *o)
{
	free(o->buf);
	o->buf = o->p = o->end = NULL;
}

void cv_mem(cv_out *o, const void *s, size_t n)
{
	memcpy(o->p, s, n);
	o->p += n;
}

void cv_str(cv_out *o, const char *s)
{
	cv_mem(o, s, strlen(s));
}

void cv_dec(cv_out *o, uint64_t v)
{
	o->p += hvlog_format_dec(o->p, v);
}

void cv_sdec(cv_out *o, int64_t v)
{
	if (v < 0) {
		cv_ch(o, '-');
		cv_dec(o, (uint64_t)0 - (uint64_t)v);
	} else {
		cv_dec(o, (uint64_t)v);
	}
}

void cv_hex(cv_out *o, uint64_t v)
{
	o->p += hvlog_format_hex(o->p, v);
}

void cv_usec(cv_out *o, uint64_t ns)
{
	unsigned f = (unsigned)(ns % 1000);

	cv_dec(o, ns / 1000);
	cv_ch(o, '.');
	cv_ch(o, (char)('0' + f / 100));
	cv_ch(o, (char)('0' + f / 10 % 10));
	cv_ch(o, (char)('0' + f % 10));
}

void cv_json_str(cv_out *o, const char *s)
{
	o->p += hvlog_format_json_str(o->p, s);
}

void cv_json_uint(cv_out *o, uint64_t v)
{
	if (v <= CV_JSON_EXACT || o->json_ints) {
		cv_dec(o, v);
		return;
	}
	cv_ch(o, '"');
	cv_dec(o, v);
	cv_ch(o, '"');
}

void cv_json_sint(cv_out *o, int64_t v)
{
	if (v >= 0 || o->json_ints || (uint64_t)0 - (uint64_t)v <= CV_JSON_EXACT) {
		if (v >= 0)
			cv_json_uint(o, (uint64_t)v);
		else
			cv_sdec(o, v);
		return;
	}
	cv_ch(o, '"');
	cv_sdec(o, v);
	cv_ch(o, '"');
}

void cv_json_damage_tail(cv_out *o, const hvlog_item *it)
{
	cv_str(o, ",\"length\":");
	cv_json_uint(o, it->damage_len);
	cv_str(o, ",\"events_lost\":");
	cv_json_uint(o, it->damage_events);
	cv_str(o, ",\"message\":");
	cv_json_str(o, it->damage_msg ? it->damage_msg : "");
}

void cv_csv_field(cv_out *o, const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		cv_str(o, s);
		return;
	}
	cv_ch(o, '"');
	for (; *s; s++) {
		if (*s == '"')
			cv_ch(o, '"');
		cv_ch(o, *s);
	}
	cv_ch(o, '"');
}

const char *cv_short_symbol(const char *symbol)
{
	return strncmp(symbol, "HV_TR_", 6) || !symbol[6] ? symbol : symbol + 6;
}

/* ---- the metadata as one JSON object ------------------------------------ */

static void key(cv_out *o, const char *k, int comma)
{
	if (comma)
		cv_ch(o, ',');
	cv_json_str(o, k);
	cv_ch(o, ':');
}

/* Large objects (schema, streams) reserve as they go: one entry at a time. */
void cv_json_meta(cv_out *o, const hvlog_meta *m, uint64_t t0)
{
	const hvlog_schema *s = m->schema;

	cv_reserve(o, CV_ITEM_MAX);
	cv_str(o, "{\"type\":\"meta\"");
	key(o, "format", 1);
	cv_str(o, "\"hvlog\"");
	key(o, "version", 1);
	cv_ch(o, '[');
	cv_dec(o, m->version_major);
	cv_ch(o, ',');
	cv_dec(o, m->version_minor);
	cv_ch(o, ']');
	key(o, "producer", 1);
	cv_json_str(o, m->producer ? m->producer : "");
	key(o, "clock", 1);
	cv_ch(o, '{');
	key(o, "name", 0);
	cv_json_str(o, m->clock_name ? m->clock_name : "");
	key(o, "hz", 1);
	cv_json_uint(o, m->clock_hz);
	key(o, "epoch_ns", 1);
	cv_json_sint(o, m->clock_epoch_ns);
	cv_ch(o, '}');
	key(o, "t0", 1);
	cv_json_uint(o, t0);
	key(o, "streams", 1);
	cv_ch(o, '[');
	for (uint32_t i = 0; i < m->nstreams; i++) {
		const hvlog_stream_info *si = &m->streams[i];
		cv_reserve(o, 1024);
		if (i)
			cv_ch(o, ',');
		cv_str(o, "{\"id\":");
		cv_dec(o, i);
		key(o, "name", 1);
		cv_json_str(o, si->name ? si->name : "");
		key(o, "partition", 1);
		cv_json_uint(o, si->partition_id);
		key(o, "vp", 1);
		cv_dec(o, si->vp_index);
		cv_ch(o, '}');
	}
	cv_ch(o, ']');
	key(o, "schema", 1);
	cv_ch(o, '{');
	key(o, "name", 0);
	cv_json_str(o, s->name ? s->name : "");
	key(o, "version", 1);
	cv_dec(o, s->version);
	key(o, "groups", 1);
	cv_ch(o, '[');
	for (uint32_t g = 0; g < s->ngroups; g++) {
		cv_reserve(o, 1024);
		cv_str(o, g ? ",{" : "{");
		key(o, "alias", 0);
		cv_json_str(o, s->groups[g].alias);
		key(o, "name", 1);
		cv_json_str(o, s->groups[g].name);
		key(o, "mask", 1);
		cv_json_uint(o, s->groups[g].mask);
		cv_ch(o, '}');
	}
	cv_ch(o, ']');
	key(o, "valtabs", 1);
	cv_ch(o, '[');
	for (uint32_t t = 0; t < s->nvaltabs; t++) {
		const hvlog_valtab *vt = &s->valtabs[t];
		cv_reserve(o, 1024);
		cv_str(o, t ? ",{" : "{");
		key(o, "alias", 0);
		cv_json_str(o, vt->alias);
		key(o, "values", 1);
		cv_ch(o, '[');
		for (uint32_t v = 0; v < vt->nvalues; v++) {
			cv_reserve(o, 1024);
			cv_str(o, v ? ",[" : "[");
			cv_json_uint(o, vt->values[v].value);
			cv_ch(o, ',');
			cv_json_str(o, vt->values[v].name);
			cv_ch(o, ']');
		}
		cv_str(o, "]}");
	}
	cv_ch(o, ']');
	key(o, "events", 1);
	cv_ch(o, '[');
	for (uint32_t e = 0; e < s->nevents; e++) {
		const hvlog_event *ev = &s->events[e];
		cv_reserve(o, CV_ITEM_MAX);
		cv_str(o, e ? ",{" : "{");
		key(o, "number", 0);
		cv_dec(o, ev->number);
		key(o, "symbol", 1);
		cv_json_str(o, ev->symbol);
		key(o, "description", 1);
		cv_json_str(o, ev->description);
		key(o, "group", 1);
		cv_dec(o, ev->group);
		key(o, "params", 1);
		cv_ch(o, '[');
		for (uint32_t i = 0; i < ev->nparams; i++) {
			const hvlog_param *p = &ev->params[i];
			cv_str(o, i ? ",{" : "{");
			key(o, "key", 0);
			cv_json_str(o, p->key);
			key(o, "name", 1);
			cv_json_str(o, p->name);
			key(o, "type", 1);
			cv_json_str(o, hvlog_type_name(p->type));
			key(o, "display", 1);
			cv_json_str(o, hvlog_display_name(p->display));
			key(o, "coding", 1);
			cv_json_str(o, hvlog_coding_name(p->coding));
			if (p->values) {
				key(o, "values", 1);
				cv_dec(o, (uint64_t)(p->values - s->valtabs));
			}
			cv_ch(o, '}');
		}
		cv_str(o, "]}");
	}
	cv_str(o, "]}}\n");
}

/* ---- progress ------------------------------------------------------------ */

void cv_progress_start(cv_progress *p, const char *label, uint64_t total)
{
	*p = (cv_progress){ .on = total > 0 && isatty(STDERR_FILENO), .total = total, .pct = 101,
			    .label = label };
	cv_progress_update(p, 0);
}

void cv_progress_update(cv_progress *p, uint64_t done)
{
	enum { WIDTH = 40 };
	char bar[WIDTH + 1];
	unsigned pct, fill;

	if (!p->on)
		return;
	if (done > p->total)
		done = p->total;
	pct = (unsigned)((unsigned __int128)done * 100 / p->total);
	if (pct == p->pct)
		return;
	p->pct = pct;
	fill = pct * WIDTH / 100;
	memset(bar, '#', fill);
	memset(bar + fill, '.', WIDTH - fill);
	bar[WIDTH] = 0;
	fprintf(stderr, "\r%s [%s] %3u%%", p->label, bar, pct);
	fflush(stderr);
}

void cv_progress_end(cv_progress *p)
{
	if (!p->on)
		return;
	/* clear the line: the bar is not part of the output */
	fprintf(stderr, "\r%*s\r", (int)strlen(p->label) + 50, "");
	fflush(stderr);
	p->on = 0;
}

/* ---- per-file pieces ------------------------------------------------------ */

enum { PIECE_MAX = 4096 }; /* any one piece: names are at most 64 bytes */

enum piece_kind { PIECE_STREAM, PIECE_EVENT, PIECE_PARAM };

/* Write one piece at mem + *total, or only measure it (mem NULL). */
static void one_piece(const cv_ctx *c, const cv_piece_writers *w, enum piece_kind k, uint32_t s, const void *what,
		      char *mem, size_t *total, cv_piece *slot)
{
	static char scratch[PIECE_MAX];
	char *at = mem ? mem + *total : scratch;
	cv_out o = { .buf = at, .p = at, .end = at + PIECE_MAX };

	if (k == PIECE_STREAM && w->stream)
		w->stream(&o, c, s);
	else if (k == PIECE_EVENT && w->event)
		w->event(&o, c, what);
	else if (k == PIECE_PARAM && w->param)
		w->param(&o, c, what);
	if (mem)
		*slot = (cv_piece){ at, (size_t)(o.p - at) };
	*total += (size_t)(o.p - at);
}

/* Every piece, in one block: measured (mem NULL), then written. */
static size_t pieces_pass(cv_pieces *pc, const cv_ctx *c, const cv_piece_writers *w, char *mem)
{
	const hvlog_schema *sc = c->m->schema;
	size_t total = 0;

	for (uint32_t s = 0; s < c->m->nstreams; s++)
		one_piece(c, w, PIECE_STREAM, s, NULL, mem, &total, mem ? &pc->stream[s] : NULL);
	for (uint32_t e = 0; e < sc->nevents; e++) {
		const hvlog_event *ev = &sc->events[e];
		one_piece(c, w, PIECE_EVENT, 0, ev, mem, &total, mem ? &pc->event[e] : NULL);
		for (uint32_t i = 0; i < ev->nparams; i++)
			one_piece(c, w, PIECE_PARAM, 0, &ev->params[i], mem, &total,
				  mem ? &pc->param[ev->slot + i] : NULL);
	}
	return total;
}

int cv_pieces_build(cv_pieces *pc, const cv_ctx *c, const cv_piece_writers *w)
{
	const hvlog_schema *sc = c->m->schema;
	size_t total;

	*pc = (cv_pieces){ 0 };
	total = pieces_pass(pc, c, w, NULL);
	if (!(pc->stream = calloc(c->m->nstreams + 1, sizeof *pc->stream)) ||
	    !(pc->event = calloc(sc->nevents + 1, sizeof *pc->event)) ||
	    !(pc->param = calloc(sc->nslots + 1, sizeof *pc->param)) || !(pc->mem = malloc(total + PIECE_MAX))) {
		cv_pieces_free(pc);
		cli_error(NULL, UINT64_MAX, "out of memory");
		return -1;
	}
	pieces_pass(pc, c, w, pc->mem);
	return 0;
}

void cv_pieces_free(cv_pieces *pc)
{
	free(pc->stream);
	free(pc->event);
	free(pc->param);
	free(pc->mem);
	*pc = (cv_pieces){ 0 };
}

int cv_pieces_attach(cv_ctx *c, const cv_piece_writers *w)
{
	cv_pieces *pc = malloc(sizeof *pc);

	if (!pc) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	if (cv_pieces_build(pc, c, w) != 0) {
		free(pc);
		return EXIT_IO;
	}
	c->priv = pc;
	return 0;
}

void cv_pieces_detach(cv_ctx *c)
{
	if (c->priv)
		cv_pieces_free(c->priv);
	free(c->priv);
	c->priv = NULL;
}
