/*
 * convert_json.c - `hvlog convert --to json`: JSON Lines.
 *
 * Line 1 is the metadata ({"type":"meta", ...}, cv_json_meta), so that
 * `convert --from json` can rebuild the file.  Then one object per item:
 *
 *   {"type":"event","time_ns":750,"ts":1001500,"stream":1,"stream_name":"vp1",
 *    "group":"interrupt","event":"HV_TR_IM_MSR_READ","number":33,
 *    "params":{"guest_rip":18446735277616533505,"index":27,"value":42},
 *    "names":{"index":"IA32_APIC_BASE"}}
 *   {"type":"lost","time_ns":..,"ts":..,"stream":0,"stream_name":"vp0",
 *    "count":3,"first_ts":..,"last_ts":..,"first_ns":..,"last_ns":..}
 *   {"type":"damage","time_ns":..,"ts":..,"stream":null,"offset":..,"kind":"checksum mismatch",
 *    "length":..,"events_lost":..,"message":".."}
 *
 * Parameter values are the raw integers as JSON numbers, exact in the
 * text (a reader that parses numbers as doubles, like JavaScript or jq
 * 1.6, rounds those above 2^53); "names" holds the schema's name for
 * values that have one.  time_ns counts from tick t0 (the meta line's
 * "t0", the first event), as `hvlog decode` does.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"

/* The parts of a line that depend only on the file, escaped once at the
 * start instead of for every item. */
struct piece {
	const char *s;
	size_t n;
};

struct json_cache {
	struct piece *stream_name; /* per stream: ,"stream_name":"NAME" */
	struct piece *event_head;  /* per event: ,"group":"G","event":"SYM","number":N,"params":{ */
	struct piece *key;         /* per parameter slot (event.slot + i): ,"KEY": */
	char *mem;                 /* the text of all of them */
};

static struct piece put_piece(cv_out *o, const char *start)
{
	return (struct piece){ start, (size_t)(o->p - start) };
}

static void cache_free(struct json_cache *jc)
{
	if (!jc)
		return;
	free(jc->stream_name);
	free(jc->event_head);
	free(jc->key);
	free(jc->mem);
	free(jc);
}

static struct json_cache *cache_build(const hvlog_meta *m)
{
	const hvlog_schema *sc = m->schema;
	struct json_cache *jc = calloc(1, sizeof *jc);
	size_t cap = 0;
	cv_out o;

	/* room for the worst case: every byte escaped as \u00XX */
	for (uint32_t s = 0; s < m->nstreams; s++)
		cap += 32 + 6 * strlen(cv_stream_name(&(cv_ctx){ .m = m }, s));
	for (uint32_t e = 0; e < sc->nevents; e++) {
		const hvlog_event *ev = &sc->events[e];
		cap += 96 + 6 * (strlen(ev->symbol) + strlen(cv_group_alias(&(cv_ctx){ .m = m }, ev)));
		for (uint32_t i = 0; i < ev->nparams; i++)
			cap += 8 + 6 * strlen(ev->params[i].key);
	}
	if (!jc || !(jc->stream_name = calloc(m->nstreams + 1, sizeof *jc->stream_name)) ||
	    !(jc->event_head = calloc(sc->nevents + 1, sizeof *jc->event_head)) ||
	    !(jc->key = calloc(sc->nslots + 1, sizeof *jc->key)) || !(jc->mem = malloc(cap + 1))) {
		cache_free(jc);
		return NULL;
	}
	o = (cv_out){ .buf = jc->mem, .p = jc->mem, .end = jc->mem + cap };
	for (uint32_t s = 0; s < m->nstreams; s++) {
		char *start = o.p;
		cv_str(&o, ",\"stream_name\":");
		cv_json_str(&o, cv_stream_name(&(cv_ctx){ .m = m }, s));
		jc->stream_name[s] = put_piece(&o, start);
	}
	for (uint32_t e = 0; e < sc->nevents; e++) {
		const hvlog_event *ev = &sc->events[e];
		char *start = o.p;
		cv_str(&o, ",\"group\":");
		cv_json_str(&o, cv_group_alias(&(cv_ctx){ .m = m }, ev));
		cv_str(&o, ",\"event\":");
		cv_json_str(&o, ev->symbol);
		cv_str(&o, ",\"number\":");
		cv_dec(&o, ev->number);
		cv_str(&o, ",\"params\":{");
		jc->event_head[e] = put_piece(&o, start);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			start = o.p;
			cv_ch(&o, ',');
			cv_json_str(&o, ev->params[i].key);
			cv_ch(&o, ':');
			jc->key[ev->slot + i] = put_piece(&o, start);
		}
	}
	return jc;
}

static void head(cv_ctx *c, const char *type, const hvlog_item *it)
{
	const struct json_cache *jc = c->priv;
	cv_out *o = &c->out;

	cv_str(o, "{\"type\":\"");
	cv_str(o, type);
	cv_str(o, "\",\"time_ns\":");
	cv_dec(o, hvlog_ticks_to_ns(it->ts, c->t0, c->m->clock_hz));
	cv_str(o, ",\"ts\":");
	cv_dec(o, it->ts);
	cv_str(o, ",\"stream\":");
	if (it->stream == UINT32_MAX) {
		cv_str(o, "null");
	} else {
		cv_dec(o, it->stream);
		cv_mem(o, jc->stream_name[it->stream].s, jc->stream_name[it->stream].n);
	}
}

static int json_begin(cv_ctx *c)
{
	if (!(c->priv = cache_build(c->m))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	cv_json_meta(&c->out, c->m, c->t0);
	return 0;
}

static int json_item(cv_ctx *c, const hvlog_item *it)
{
	cv_out *o = &c->out;

	cv_reserve(o, CV_ITEM_MAX);
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const struct json_cache *jc = c->priv;
		const hvlog_event *ev = it->event;
		const struct piece *key = &jc->key[ev->slot];
		int named = 0;
		head(c, "event", it);
		cv_mem(o, jc->event_head[cv_event_index(c, ev)].s, jc->event_head[cv_event_index(c, ev)].n);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			/* the key's piece starts with a comma, for every parameter but the first */
			cv_mem(o, key[i].s + !i, key[i].n - !i);
			cv_dec(o, it->values[i]);
			named |= ev->params[i].values != NULL;
		}
		cv_ch(o, '}');
		if (named) {
			named = 0;
			for (uint32_t i = 0; i < ev->nparams; i++) {
				const char *name = hvlog_valtab_name(ev->params[i].values, it->values[i]);
				if (!name)
					continue;
				cv_str(o, named++ ? "," : ",\"names\":{");
				cv_mem(o, key[i].s + 1, key[i].n - 1);
				cv_json_str(o, name);
			}
			if (named)
				cv_ch(o, '}');
		}
		break;
	}
	case HVLOG_ITEM_LOST:
		head(c, "lost", it);
		cv_str(o, ",\"count\":");
		cv_dec(o, it->lost_count);
		cv_str(o, ",\"first_ts\":");
		cv_dec(o, it->lost_first_ts);
		cv_str(o, ",\"last_ts\":");
		cv_dec(o, it->lost_last_ts);
		cv_str(o, ",\"first_ns\":");
		cv_dec(o, hvlog_ticks_to_ns(it->lost_first_ts, c->t0, c->m->clock_hz));
		cv_str(o, ",\"last_ns\":");
		cv_dec(o, hvlog_ticks_to_ns(it->lost_last_ts, c->t0, c->m->clock_hz));
		break;
	case HVLOG_ITEM_DAMAGE:
		head(c, "damage", it);
		cv_str(o, ",\"offset\":");
		cv_dec(o, it->offset);
		cv_str(o, ",\"kind\":");
		cv_json_str(o, hvlog_status_str(it->damage));
		cv_str(o, ",\"length\":");
		cv_dec(o, it->damage_len);
		cv_str(o, ",\"events_lost\":");
		cv_dec(o, it->damage_events);
		cv_str(o, ",\"message\":");
		cv_json_str(o, it->damage_msg ? it->damage_msg : "");
		break;
	}
	cv_str(o, "}\n");
	return 0;
}

static int json_end(cv_ctx *c)
{
	cache_free(c->priv);
	c->priv = NULL;
	return 0;
}

const cv_format cv_format_json = { "json", 0, 0, json_begin, json_item, json_end };
