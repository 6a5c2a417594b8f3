/*
 * format_cbor.c - items as CBOR maps (RFC 8949; a sequence of them is an
 * RFC 8742 CBOR sequence): the same items with the same keys as the JSON
 * Lines, first the meta map, encoded as libcbor's streaming encoder does
 * (definite lengths, shortest forms, no tags) but inline.  Integers are CBOR
 * unsigned integers (negative only for a negative clock epoch), so every
 * 64-bit value is exact.
 */
#include "format_int.h"

struct fmt_cbor {
	const struct piece *streams; /* per stream its "stream_name" pair */
	const struct piece *events;  /* per event group, event, number, "params" and its map's head */
	const struct piece *keys;    /* per parameter (event.slot + i) its key */
	const uint32_t *slot;        /* per event: its first key in keys (nevents + 1) */
};

/* A CBOR head: major type and argument in the shortest form (RFC 8949
 * section 4.2.1, as libcbor's encoder writes it): below 24 in the initial
 * byte, then 1, 2, 4 or 8 bytes big-endian. */
enum { CB_UINT = HVLOG__CB_UINT, CB_NEGINT = HVLOG__CB_NEGINT, CB_TEXT = HVLOG__CB_TEXT, CB_ARRAY = HVLOG__CB_ARRAY,
       CB_MAP = HVLOG__CB_MAP };

static char *cb_head_at(char *p, unsigned major, uint64_t v)
{
	unsigned n = v < 24 ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;

	if (!n) {
		*p = (char)(major | v);
		return p + 1;
	}
	*p++ = (char)(major | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
	for (unsigned i = n; i--; v >>= 8)
		p[i] = (char)(v & 0xff);
	return p + n;
}

static inline void cb_head(struct out *o, unsigned major, uint64_t v)
{
	char tmp[9];

	if (o->end - o->p >= 9)
		o->p = cb_head_at(o->p, major, v);
	else
		put_mem(o, tmp, (size_t)(cb_head_at(tmp, major, v) - tmp));
}

static inline void cb_uint(struct out *o, uint64_t v)
{
	cb_head(o, CB_UINT, v);
}

void hvlog__cb_head(struct out *o, unsigned major, uint64_t v)
{
	cb_head(o, major, v);
}

static void cb_str(struct out *o, const char *s)
{
	size_t n;

	s = s ? s : "";
	n = strlen(s);
	cb_head(o, CB_TEXT, n);
	put_mem(o, s, n);
}

/* A text string known when compiling, under 24 bytes: a one-byte head (an
 * array of negative size stops a longer one). */
#define cb_lit(o, lit)                                                                         \
	(put_ch(o, (char)(CB_TEXT + sizeof lit - 1 + 0 * sizeof(char[sizeof lit - 1 < 24 ? 1 : -1]))), \
	 put_lit(o, lit))

static void cb_map(struct out *o, size_t n)
{
	cb_head(o, CB_MAP, n);
}

#define kv_uint(o, k, v) (cb_lit(o, k), cb_uint(o, v))
#define kv_str(o, k, v) (cb_lit(o, k), cb_str(o, v))

/* ---- the pieces -------------------------------------------------------------- */

int hvlog__cbor_build(hvlog_formatter *f)
{
	const hvlog_meta *m = f->m;
	const hvlog_schema *s = m->schema;
	struct arena a = { NULL, 0, hvlog__fmt_alloc, f };
	struct fmt_cbor *c = hvlog__fmt_alloc(f, sizeof *c);
	struct piece *streams = hvlog__fmt_alloc(f, (m->nstreams + 1) * sizeof *streams);
	struct piece *events = hvlog__fmt_alloc(f, (s->nevents + 1) * sizeof *events);
	uint32_t *slot = hvlog__fmt_alloc(f, (s->nevents + 1) * sizeof *slot);
	struct piece *keys;
	size_t nkeys = 0;
	char buf[PIECE_MAX];
	struct out o;

	for (uint32_t e = 0; e < s->nevents; e++)
		nkeys += s->events[e].nparams;
	if (!c || !streams || !events || !slot || !(keys = hvlog__fmt_alloc(f, (nkeys + 1) * sizeof *keys)))
		return 0;
	for (uint32_t i = 0; i < m->nstreams; i++) {
		SCRATCH(o, buf);
		kv_str(&o, "stream_name", hvlog__fmt_stream_name(m, i));
		if (!hvlog__fmt_keep(&a, &streams[i], buf, &o))
			return 0;
	}
	nkeys = 0;
	for (uint32_t e = 0; e < s->nevents; e++) {
		const hvlog_event *ev = &s->events[e];
		SCRATCH(o, buf);
		kv_str(&o, "group", hvlog__fmt_group_alias(m, ev));
		kv_str(&o, "event", ev->symbol);
		kv_uint(&o, "number", ev->number);
		cb_lit(&o, "params");
		cb_map(&o, ev->nparams);
		if (!hvlog__fmt_keep(&a, &events[e], buf, &o))
			return 0;
		slot[e] = (uint32_t)nkeys;
		for (uint32_t i = 0; i < ev->nparams; i++, nkeys++) {
			SCRATCH(o, buf);
			cb_str(&o, ev->params[i].key);
			if (!hvlog__fmt_keep(&a, &keys[nkeys], buf, &o))
				return 0;
		}
	}
	slot[s->nevents] = (uint32_t)nkeys;
	*c = (struct fmt_cbor){ streams, events, keys, slot };
	f->cbor = c;
	return 1;
}

/* ---- items ------------------------------------------------------------------- */

/* type, time_ns, ts, stream[, stream_name][, offset]: its pairs */
/* The time of an item beyond time_ns and ts: time_utc or delta_ns, as the
 * formatter's time mode asks (hvlog_formatter_item_since). */
struct cb_time {
	hvlog_time_mode mode; /* RELATIVE: none */
	uint64_t prev;
};

static size_t head_pairs(const hvlog_formatter *f, const hvlog_item *it, const struct cb_time *tm)
{
	return 4 + (it->stream != UINT32_MAX) + ((f->flags & HVLOG_FMT_OFFSETS) && it->kind != HVLOG_ITEM_DAMAGE) +
	       (tm->mode != HVLOG_TIME_RELATIVE);
}

static void head(const hvlog_formatter *f, struct out *o, const char *type, const hvlog_item *it,
		 const struct cb_time *tm)
{
	kv_str(o, "type", type);
	kv_uint(o, "time_ns", fmt_ns(f, it->ts));
	kv_uint(o, "ts", it->ts);
	if (tm->mode == HVLOG_TIME_ABSOLUTE) {
		char utc[HVLOG__UTC_LEN];
		cb_lit(o, "time_utc");
		hvlog__cb_head(o, HVLOG__CB_TEXT, HVLOG__UTC_LEN);
		put_mem(o, utc, (size_t)(hvlog__fmt_utc_at(utc, f, it->ts) - utc));
	} else if (tm->mode == HVLOG_TIME_DELTA) {
		kv_uint(o, "delta_ns", hvlog__clock_ns(&f->clock, it->ts, tm->prev));
	}
	cb_lit(o, "stream");
	if (it->stream == UINT32_MAX) {
		put_ch(o, (char)0xf6); /* null */
	} else {
		cb_uint(o, it->stream);
		if (it->stream < f->m->nstreams)
			put_piece(o, f->cbor->streams[it->stream]);
		else
			kv_str(o, "stream_name", hvlog__fmt_stream_name(f->m, it->stream));
	}
	if ((f->flags & HVLOG_FMT_OFFSETS) && it->kind != HVLOG_ITEM_DAMAGE)
		kv_uint(o, "offset", it->offset);
}

static void event_map(const hvlog_formatter *f, struct out *o, const hvlog_item *it, const struct cb_time *tm)
{
	const hvlog_event *ev = it->event;
	uint32_t e = fmt_event_index(f, ev);
	const struct piece *key = e != UINT32_MAX ? &f->cbor->keys[f->cbor->slot[e]] : NULL;
	const char *names[HVLOG_MAX_PARAMS];
	uint32_t n = ev->nparams < HVLOG_MAX_PARAMS ? ev->nparams : HVLOG_MAX_PARAMS;
	size_t named = 0;

	for (uint32_t i = 0; i < n; i++)
		named += (names[i] = hvlog_valtab_name(ev->params[i].values, it->values[i])) != NULL;
	cb_map(o, head_pairs(f, it, tm) + 4 + (named != 0));
	head(f, o, "event", it, tm);
	if (key) {
		put_piece(o, f->cbor->events[e]);
	} else { /* an event from elsewhere */
		kv_str(o, "group", hvlog__fmt_group_alias(f->m, ev));
		kv_str(o, "event", ev->symbol);
		kv_uint(o, "number", ev->number);
		cb_lit(o, "params");
		cb_map(o, n);
	}
	for (uint32_t i = 0; i < n; i++) {
		if (key)
			put_piece(o, key[i]);
		else
			cb_str(o, ev->params[i].key);
		cb_uint(o, it->values[i]);
	}
	if (!named)
		return;
	cb_lit(o, "names");
	cb_map(o, named);
	for (uint32_t i = 0; i < n; i++)
		if (names[i]) {
			if (key)
				put_piece(o, key[i]);
			else
				cb_str(o, ev->params[i].key);
			cb_str(o, names[i]);
		}
}

size_t hvlog__cbor_item(const hvlog_formatter *f, const hvlog_item *it, hvlog_time_mode time, uint64_t prev,
			char *buf, size_t cap)
{
	struct out o = { buf, buf + cap };
	const struct cb_time tm = { time, prev };

	/* the largest map (16 parameters with a 64-byte key and name each) is a
	 * few KiB: with less room than that, nothing */
	if (cap < f->item_max)
		return 0;
	switch (it->kind) {
	case HVLOG_ITEM_EVENT:
		event_map(f, &o, it, &tm);
		break;
	case HVLOG_ITEM_LOST:
		cb_map(&o, head_pairs(f, it, &tm) + 5);
		head(f, &o, "lost", it, &tm);
		kv_uint(&o, "count", it->lost_count);
		kv_uint(&o, "first_ts", it->lost_first_ts);
		kv_uint(&o, "last_ts", it->lost_last_ts);
		kv_uint(&o, "first_ns", fmt_ns(f, it->lost_first_ts));
		kv_uint(&o, "last_ns", fmt_ns(f, it->lost_last_ts));
		break;
	case HVLOG_ITEM_DAMAGE:
		cb_map(&o, head_pairs(f, it, &tm) + 5);
		head(f, &o, "damage", it, &tm);
		kv_uint(&o, "offset", it->offset);
		kv_str(&o, "kind", hvlog_status_str(it->damage));
		kv_uint(&o, "length", it->damage_len);
		kv_uint(&o, "events_lost", it->damage_events);
		kv_str(&o, "message", it->damage_msg);
		break;
	}
	/* cut (names longer than a reader allows, in a hand-built hvlog_meta):
	 * half a map is no CBOR */
	return o.p < o.end ? (size_t)(o.p - buf) : 0;
}
