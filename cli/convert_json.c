/*
 * convert_json.c - `hvlog convert --to json`: JSON Lines.
 *
 * Line 1 is the metadata ({"type":"meta", ...}, cv_json_meta), so that
 * `convert --from json` can rebuild the file.  Then one object per item:
 *
 *   {"type":"event","time_ns":750,"ts":1001500,"stream":1,"stream_name":"vp1",
 *    "group":"interrupt","event":"HV_TR_IM_MSR_READ","number":33,
 *    "params":{"guest_rip":"0xfffff80000001000","index":27,"value":"0x2a"},
 *    "names":{"index":"IA32_APIC_BASE"}}
 *   {"type":"lost","time_ns":..,"ts":..,"stream":0,"stream_name":"vp0",
 *    "count":3,"first_ts":..,"last_ts":..,"first_ns":..,"last_ns":..}
 *   {"type":"damage","time_ns":..,"ts":..,"stream":null,"offset":..,"kind":"checksum mismatch",
 *    "length":..,"events_lost":..,"message":".."}
 *
 * Hex parameters are "0x..." strings, as `decode --format json` writes
 * them, and every other integer above 2^53 a decimal string: a reader
 * that parses numbers as doubles (JavaScript, jq 1.6) would round it.
 * --json-integers writes them all as JSON numbers instead (exact in the
 * text only).  "names" holds the schema's name for values that have one.  time_ns counts from tick t0 (the meta line's
 * "t0", the first event), as `hvlog decode` does.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"

/* The parts of a line that depend only on the file, escaped once when the
 * conversion begins (c->priv): per stream ,"stream_name":"NAME"; per
 * event ,"group":"G","event":"SYM","number":N,"params":{; per parameter
 * ,"KEY": */
static void stream_piece(cv_out *o, const cv_ctx *c, uint32_t s)
{
	cv_str(o, ",\"stream_name\":");
	cv_json_str(o, cv_stream_name(c, s));
}

static void event_piece(cv_out *o, const cv_ctx *c, const hvlog_event *ev)
{
	cv_str(o, ",\"group\":");
	cv_json_str(o, cv_group_alias(c, ev));
	cv_str(o, ",\"event\":");
	cv_json_str(o, ev->symbol);
	cv_str(o, ",\"number\":");
	cv_dec(o, ev->number);
	cv_str(o, ",\"params\":{");
}

static void param_piece(cv_out *o, const cv_ctx *c, const hvlog_param *p)
{
	(void)c;
	cv_ch(o, ',');
	cv_json_str(o, p->key);
	cv_ch(o, ':');
}

static const cv_piece_writers json_pieces = { stream_piece, event_piece, param_piece };

static void head(cv_ctx *c, const char *type, const hvlog_item *it)
{
	const cv_pieces *pc = c->priv;
	cv_out *o = &c->out;

	cv_str(o, "{\"type\":\"");
	cv_str(o, type);
	cv_str(o, "\",\"time_ns\":");
	cv_json_uint(o, hvlog_ticks_to_ns(it->ts, c->t0, c->m->clock_hz));
	cv_str(o, ",\"ts\":");
	cv_json_uint(o, it->ts);
	cv_str(o, ",\"stream\":");
	if (it->stream == UINT32_MAX) {
		cv_str(o, "null");
	} else {
		cv_dec(o, it->stream);
		cv_put_piece(o, pc->stream[it->stream]);
	}
}

static int json_begin(cv_ctx *c)
{
	int code = cv_pieces_attach(c, &json_pieces);

	if (!code)
		cv_json_meta(&c->out, c->m, c->t0);
	return code;
}

static int json_item(cv_ctx *c, const hvlog_item *it)
{
	cv_out *o = &c->out;

	cv_reserve(o, CV_ITEM_MAX);
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const cv_pieces *pc = c->priv;
		const hvlog_event *ev = it->event;
		const cv_piece *key = &pc->param[ev->slot];
		int named = 0;
		head(c, "event", it);
		cv_put_piece(o, pc->event[cv_event_index(c, ev)]);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			/* the key's piece starts with a comma, for every parameter but the first */
			cv_mem(o, key[i].s + !i, key[i].n - !i);
			if (ev->params[i].display == HVLOG_DISPLAY_HEX && !o->json_ints) {
				cv_ch(o, '"');
				cv_hex(o, it->values[i]);
				cv_ch(o, '"');
			} else {
				cv_json_uint(o, it->values[i]);
			}
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
		cv_json_uint(o, it->lost_count);
		cv_str(o, ",\"first_ts\":");
		cv_json_uint(o, it->lost_first_ts);
		cv_str(o, ",\"last_ts\":");
		cv_json_uint(o, it->lost_last_ts);
		cv_str(o, ",\"first_ns\":");
		cv_json_uint(o, hvlog_ticks_to_ns(it->lost_first_ts, c->t0, c->m->clock_hz));
		cv_str(o, ",\"last_ns\":");
		cv_json_uint(o, hvlog_ticks_to_ns(it->lost_last_ts, c->t0, c->m->clock_hz));
		break;
	case HVLOG_ITEM_DAMAGE:
		head(c, "damage", it);
		cv_str(o, ",\"offset\":");
		cv_json_uint(o, it->offset);
		cv_str(o, ",\"kind\":");
		cv_json_str(o, hvlog_status_str(it->damage));
		cv_json_damage_tail(o, it);
		break;
	}
	cv_str(o, "}\n");
	return 0;
}

static int json_end(cv_ctx *c)
{
	cv_pieces_detach(c);
	return 0;
}

const cv_format cv_format_json = { "json", 0, 0, json_begin, json_item, json_end };
