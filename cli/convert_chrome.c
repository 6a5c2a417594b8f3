/*
 * convert_chrome.c - `hvlog convert --to chrome`: the Trace Event Format
 * (JSON Object Format) that Perfetto UI and chrome://tracing open.
 *
 *   {"displayTimeUnit":"ns","otherData":{...},"traceEvents":[
 *   {"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"partition 1"}},
 *   {"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"vp0"}},
 *   {"name":"IM_MSR_READ","cat":"interrupt","ph":"i","s":"t","ts":1.500,"pid":1,"tid":0,
 *    "args":{"guest_rip":"0xfffff80000001000","index":"IA32_APIC_BASE (0x1b)","value":42}},
 *   ...]}
 *
 * Partitions are processes (pid = partition id, 0 for streams without
 * one), streams are threads (tid = stream id), every event is a
 * thread-scoped instant event named by its embedded symbol (without
 * "HV_TR_"), its group as the category and its parameters as args: hex
 * parameters as "0x..." strings, named values as "NAME (0x..)", decimal
 * ones as numbers (as strings above 2^53, which JavaScript would round).
 * ts is in microseconds, with three decimals (nanoseconds), since the
 * first event.  Lost events are instant events named LOST; damage is a
 * global instant event named DAMAGE.
 */
#include <stdlib.h>

#include "cli.h"
#include "convert.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The start of an item: name, category, instant scope, then "ts":. */
static void start(cv_out *o, const char *name, const char *cat, const char *scope)
{
	cv_str(o, ",\n{\"name\":");
	cv_json_str(o, name);
	cv_str(o, ",\"cat\":");
	cv_json_str(o, cat);
	cv_str(o, ",\"ph\":\"i\",\"s\":\"");
	cv_str(o, scope);
	cv_str(o, "\",\"ts\":");
}

/* After start: the time, process (partition) and thread (stream). */
static void common(cv_ctx *c, const hvlog_item *it)
{
	cv_out *o = &c->out;
	uint32_t s = it->stream;

	cv_usec(o, hvlog_ticks_to_ns(it->ts, c->t0, c->m->clock_hz));
	cv_str(o, ",\"pid\":");
	cv_dec(o, s < c->m->nstreams ? c->m->streams[s].partition_id : 0);
	cv_str(o, ",\"tid\":");
	cv_dec(o, s < c->m->nstreams ? s : 0);
	cv_str(o, ",\"args\":{");
}

/* A lost or damage record's start and its first argument: "KEY":value. */
static void record_start(cv_ctx *c, const hvlog_item *it, const char *name, const char *scope, const char *key,
			 uint64_t value)
{
	start(&c->out, name, "hvlog", scope);
	common(c, it);
	cv_str(&c->out, key);
	cv_dec(&c->out, value);
}

/* An event's start and each parameter's "KEY":, escaped once (c->priv). */
static void event_piece(cv_out *o, const cv_ctx *c, const hvlog_event *ev)
{
	start(o, cv_short_symbol(ev->symbol), cv_group_alias(c, ev), "t");
}

static void param_piece(cv_out *o, const cv_ctx *c, const hvlog_param *p)
{
	(void)c;
	cv_json_str(o, p->key);
	cv_ch(o, ':');
}

static const cv_piece_writers chrome_pieces = { NULL, event_piece, param_piece };

static int chrome_begin(cv_ctx *c)
{
	const hvlog_meta *m = c->m;
	cv_out *o = &c->out;
	uint64_t *parts;
	int code = cv_pieces_attach(c, &chrome_pieces);

	if (code)
		return code;
	if (!(parts = malloc(((size_t)m->nstreams + 1) * sizeof *parts))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	cv_reserve(o, CV_ITEM_MAX);
	cv_str(o, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":");
	cv_json_str(o, m->producer ? m->producer : "");
	cv_str(o, ",\"schema\":");
	cv_json_str(o, m->schema->name ? m->schema->name : "");
	cv_str(o, ",\"clock\":");
	cv_json_str(o, m->clock_name ? m->clock_name : "");
	cv_str(o, ",\"clock_hz\":");
	cv_dec(o, m->clock_hz);
	cv_str(o, ",\"t0_ticks\":");
	cv_dec(o, c->t0);
	cv_str(o, "},\"traceEvents\":[\n");
	/* one metadata event first, so every later one starts with a comma */
	cv_str(o, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"tid\":0,\"args\":{\"name\":\"no partition\"}}");
	for (uint32_t i = 0; i < m->nstreams; i++)
		parts[i] = m->streams[i].partition_id;
	qsort(parts, m->nstreams, sizeof *parts, cmp_u64);
	for (uint32_t i = 0; i < m->nstreams; i++) {
		if (!parts[i] || (i && parts[i] == parts[i - 1]))
			continue;
		cv_reserve(o, 256);
		cv_str(o, ",\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
		cv_dec(o, parts[i]);
		cv_str(o, ",\"tid\":0,\"args\":{\"name\":\"partition ");
		cv_dec(o, parts[i]);
		cv_str(o, "\"}}");
	}
	free(parts);
	for (uint32_t i = 0; i < m->nstreams; i++) {
		cv_reserve(o, 1024);
		cv_str(o, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":");
		cv_dec(o, m->streams[i].partition_id);
		cv_str(o, ",\"tid\":");
		cv_dec(o, i);
		cv_str(o, ",\"args\":{\"name\":");
		cv_json_str(o, cv_stream_name(c, i));
		cv_str(o, "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":");
		cv_dec(o, m->streams[i].partition_id);
		cv_str(o, ",\"tid\":");
		cv_dec(o, i);
		cv_str(o, ",\"args\":{\"sort_index\":");
		cv_dec(o, i);
		cv_str(o, "}}");
	}
	return 0;
}

static int chrome_item(cv_ctx *c, const hvlog_item *it)
{
	cv_out *o = &c->out;

	cv_reserve(o, CV_ITEM_MAX);
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const cv_pieces *pc = c->priv;
		const hvlog_event *ev = it->event;
		cv_put_piece(o, pc->event[cv_event_index(c, ev)]);
		common(c, it);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			const hvlog_param *p = &ev->params[i];
			uint64_t v = it->values[i];
			const char *name = hvlog_valtab_name(p->values, v);
			if (i)
				cv_ch(o, ',');
			cv_put_piece(o, pc->param[ev->slot + i]);
			if (name) {
				cv_json_str(o, name);
				o->p--; /* reopen the string */
				cv_str(o, " (");
				cv_hex(o, v);
				cv_str(o, ")\"");
			} else if (p->display == HVLOG_DISPLAY_BOOL || p->type == HVLOG_TYPE_BOOL) {
				cv_str(o, v ? "true" : "false");
			} else if (p->display == HVLOG_DISPLAY_DEC && v <= (1ull << 53)) {
				cv_dec(o, v);
			} else if (p->display == HVLOG_DISPLAY_DEC) {
				cv_ch(o, '"');
				cv_dec(o, v);
				cv_ch(o, '"');
			} else {
				cv_ch(o, '"');
				cv_hex(o, v);
				cv_ch(o, '"');
			}
		}
		break;
	}
	case HVLOG_ITEM_LOST:
		record_start(c, it, "LOST", "t", "\"count\":", it->lost_count);
		cv_str(o, ",\"first_us\":");
		cv_usec(o, hvlog_ticks_to_ns(it->lost_first_ts, c->t0, c->m->clock_hz));
		cv_str(o, ",\"last_us\":");
		cv_usec(o, hvlog_ticks_to_ns(it->lost_last_ts, c->t0, c->m->clock_hz));
		break;
	case HVLOG_ITEM_DAMAGE:
		record_start(c, it, "DAMAGE", "g", "\"offset\":", it->offset);
		cv_json_damage_tail(o, it);
		break;
	}
	cv_str(o, "}}");
	return 0;
}

static int chrome_end(cv_ctx *c)
{
	cv_pieces_detach(c);
	cv_reserve(&c->out, 16);
	cv_str(&c->out, "\n]}\n");
	return 0;
}

const cv_format cv_format_chrome = { "chrome", 0, 0, chrome_begin, chrome_item, chrome_end };
