/*
 * convert_cbor.c - `hvlog convert --to cbor`: an RFC 8742 CBOR sequence.
 *
 * The same items as the JSON Lines output (convert_json.c), with the same
 * keys, as CBOR maps (RFC 8949, encoded with libcbor's streaming encoder,
 * definite lengths, no tags): first the metadata map ("type": "meta",
 * "format", "version", "producer", "clock", "t0", "streams", "schema" in
 * the layout of docs/FORMAT.md section 3), then one map per item.
 * Integers are CBOR unsigned integers (negative only for a negative
 * clock epoch), so every 64-bit value is exact.
 */
#include <cbor.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"

static size_t room(cv_out *o)
{
	return (size_t)(o->end - o->p);
}

static void cb_uint(cv_out *o, uint64_t v)
{
	o->p += cbor_encode_uint(v, (unsigned char *)o->p, room(o));
}

static void cb_int(cv_out *o, int64_t v)
{
	if (v >= 0)
		cb_uint(o, (uint64_t)v);
	else
		o->p += cbor_encode_negint((uint64_t)(-(v + 1)), (unsigned char *)o->p, room(o));
}

static void cb_str(cv_out *o, const char *s)
{
	size_t n = strlen(s);

	o->p += cbor_encode_string_start(n, (unsigned char *)o->p, room(o));
	cv_mem(o, s, n);
}

static void cb_map(cv_out *o, size_t n)
{
	o->p += cbor_encode_map_start(n, (unsigned char *)o->p, room(o));
}

static void cb_array(cv_out *o, size_t n)
{
	o->p += cbor_encode_array_start(n, (unsigned char *)o->p, room(o));
}

static void kv_uint(cv_out *o, const char *k, uint64_t v)
{
	cb_str(o, k);
	cb_uint(o, v);
}

static void kv_str(cv_out *o, const char *k, const char *v)
{
	cb_str(o, k);
	cb_str(o, v ? v : "");
}

static void meta(cv_out *o, const hvlog_meta *m, uint64_t t0)
{
	const hvlog_schema *s = m->schema;

	cv_reserve(o, CV_ITEM_MAX);
	cb_map(o, 8);
	kv_str(o, "type", "meta");
	kv_str(o, "format", "hvlog");
	cb_str(o, "version");
	cb_array(o, 2);
	cb_uint(o, m->version_major);
	cb_uint(o, m->version_minor);
	kv_str(o, "producer", m->producer);
	cb_str(o, "clock");
	cb_map(o, 3);
	kv_str(o, "name", m->clock_name);
	kv_uint(o, "hz", m->clock_hz);
	cb_str(o, "epoch_ns");
	cb_int(o, m->clock_epoch_ns);
	kv_uint(o, "t0", t0);
	cb_str(o, "streams");
	cb_array(o, m->nstreams);
	for (uint32_t i = 0; i < m->nstreams; i++) {
		cv_reserve(o, 1024);
		cb_map(o, 4);
		kv_uint(o, "id", i);
		kv_str(o, "name", m->streams[i].name);
		kv_uint(o, "partition", m->streams[i].partition_id);
		kv_uint(o, "vp", m->streams[i].vp_index);
	}
	cv_reserve(o, 1024);
	cb_str(o, "schema");
	cb_map(o, 5);
	kv_str(o, "name", s->name);
	kv_uint(o, "version", s->version);
	cb_str(o, "groups");
	cb_array(o, s->ngroups);
	for (uint32_t g = 0; g < s->ngroups; g++) {
		cv_reserve(o, 1024);
		cb_map(o, 3);
		kv_str(o, "alias", s->groups[g].alias);
		kv_str(o, "name", s->groups[g].name);
		kv_uint(o, "mask", s->groups[g].mask);
	}
	cv_reserve(o, 1024);
	cb_str(o, "valtabs");
	cb_array(o, s->nvaltabs);
	for (uint32_t t = 0; t < s->nvaltabs; t++) {
		const hvlog_valtab *vt = &s->valtabs[t];
		cv_reserve(o, 1024);
		cb_map(o, 2);
		kv_str(o, "alias", vt->alias);
		cb_str(o, "values");
		cb_array(o, vt->nvalues);
		for (uint32_t v = 0; v < vt->nvalues; v++) {
			cv_reserve(o, 1024);
			cb_array(o, 2);
			cb_uint(o, vt->values[v].value);
			cb_str(o, vt->values[v].name);
		}
	}
	cv_reserve(o, 1024);
	cb_str(o, "events");
	cb_array(o, s->nevents);
	for (uint32_t e = 0; e < s->nevents; e++) {
		const hvlog_event *ev = &s->events[e];
		cv_reserve(o, CV_ITEM_MAX);
		cb_map(o, 5);
		kv_uint(o, "number", ev->number);
		kv_str(o, "symbol", ev->symbol);
		kv_str(o, "description", ev->description);
		kv_uint(o, "group", ev->group);
		cb_str(o, "params");
		cb_array(o, ev->nparams);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			const hvlog_param *p = &ev->params[i];
			cb_map(o, p->values ? 6 : 5);
			kv_str(o, "key", p->key);
			kv_str(o, "name", p->name);
			kv_str(o, "type", hvlog_type_name(p->type));
			kv_str(o, "display", hvlog_display_name(p->display));
			kv_str(o, "coding", hvlog_coding_name(p->coding));
			if (p->values)
				kv_uint(o, "values", (uint64_t)(p->values - s->valtabs));
		}
	}
}

/* What depends only on the file, encoded once (c->priv): per stream its
 * "stream_name" pair, per event its group, event, number pairs and the
 * "params" key with its map's head, per parameter its key. */
static void stream_piece(cv_out *o, const cv_ctx *c, uint32_t s)
{
	kv_str(o, "stream_name", cv_stream_name(c, s));
}

static void event_piece(cv_out *o, const cv_ctx *c, const hvlog_event *ev)
{
	kv_str(o, "group", cv_group_alias(c, ev));
	kv_str(o, "event", ev->symbol);
	kv_uint(o, "number", ev->number);
	cb_str(o, "params");
	cb_map(o, ev->nparams);
}

static void param_piece(cv_out *o, const cv_ctx *c, const hvlog_param *p)
{
	(void)c;
	cb_str(o, p->key);
}

static const cv_piece_writers cbor_pieces = { stream_piece, event_piece, param_piece };

static int cbor_begin(cv_ctx *c)
{
	int code = cv_pieces_attach(c, &cbor_pieces);

	if (!code)
		meta(&c->out, c->m, c->t0);
	return code;
}

/* type, time_ns, ts, stream[, stream_name]: 4 or 5 pairs */
static void head(cv_ctx *c, const char *type, const hvlog_item *it)
{
	cv_out *o = &c->out;

	kv_str(o, "type", type);
	kv_uint(o, "time_ns", hvlog_ticks_to_ns(it->ts, c->t0, c->m->clock_hz));
	kv_uint(o, "ts", it->ts);
	cb_str(o, "stream");
	if (it->stream == UINT32_MAX) {
		o->p += cbor_encode_null((unsigned char *)o->p, room(o));
	} else {
		cb_uint(o, it->stream);
		cv_put_piece(o, ((const cv_pieces *)c->priv)->stream[it->stream]);
	}
}

static int cbor_item(cv_ctx *c, const hvlog_item *it)
{
	cv_out *o = &c->out;
	size_t nhead = it->stream == UINT32_MAX ? 4 : 5;

	cv_reserve(o, CV_ITEM_MAX);
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const cv_pieces *pc = c->priv;
		const hvlog_event *ev = it->event;
		const cv_piece *key = &pc->param[ev->slot];
		const char *names[HVLOG_MAX_PARAMS];
		size_t named = 0;
		for (uint32_t i = 0; i < ev->nparams; i++)
			named += (names[i] = hvlog_valtab_name(ev->params[i].values, it->values[i])) != NULL;
		cb_map(o, nhead + 4 + (named != 0));
		head(c, "event", it);
		cv_put_piece(o, pc->event[cv_event_index(c, ev)]);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			cv_put_piece(o, key[i]);
			cb_uint(o, it->values[i]);
		}
		if (named) {
			cb_str(o, "names");
			cb_map(o, named);
			for (uint32_t i = 0; i < ev->nparams; i++)
				if (names[i]) {
					cv_put_piece(o, key[i]);
					cb_str(o, names[i]);
				}
		}
		break;
	}
	case HVLOG_ITEM_LOST:
		cb_map(o, nhead + 5);
		head(c, "lost", it);
		kv_uint(o, "count", it->lost_count);
		kv_uint(o, "first_ts", it->lost_first_ts);
		kv_uint(o, "last_ts", it->lost_last_ts);
		kv_uint(o, "first_ns", hvlog_ticks_to_ns(it->lost_first_ts, c->t0, c->m->clock_hz));
		kv_uint(o, "last_ns", hvlog_ticks_to_ns(it->lost_last_ts, c->t0, c->m->clock_hz));
		break;
	case HVLOG_ITEM_DAMAGE:
		cb_map(o, nhead + 5);
		head(c, "damage", it);
		kv_uint(o, "offset", it->offset);
		kv_str(o, "kind", hvlog_status_str(it->damage));
		kv_uint(o, "length", it->damage_len);
		kv_uint(o, "events_lost", it->damage_events);
		kv_str(o, "message", it->damage_msg);
		break;
	}
	return 0;
}

static int cbor_end(cv_ctx *c)
{
	cv_pieces_detach(c);
	return 0;
}

const cv_format cv_format_cbor = { "cbor", 0, 1, cbor_begin, cbor_item, cbor_end };
