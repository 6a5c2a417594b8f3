/*
 * format.c - text and JSON lines, without printf on the per-event path.
 */
#include <string.h>

#include "hvlog/hvlog.h"

struct out {
	char *p, *end;
};

static void put_mem(struct out *o, const char *s, size_t n)
{
	if (n > (size_t)(o->end - o->p))
		n = (size_t)(o->end - o->p);
	memcpy(o->p, s, n);
	o->p += n;
}

static void put_str(struct out *o, const char *s)
{
	put_mem(o, s, strlen(s));
}

/* A name from the trace's metadata, for a terminal: control characters
 * (an escape sequence a hostile file could carry) become '?'. */
static void put_name(struct out *o, const char *s)
{
	size_t n = 0;

	while ((unsigned char)s[n] >= 0x20 && s[n] != 0x7f)
		n++;
	put_mem(o, s, n);
	for (s += n; *s; s++)
		if (o->p < o->end)
			*o->p++ = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
}

static void put_ch(struct out *o, char c)
{
	if (o->p < o->end)
		*o->p++ = c;
}

static void pad_to(struct out *o, char *from, size_t width)
{
	while ((size_t)(o->p - from) < width)
		put_ch(o, ' ');
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits of v into the end of tmp[20]; returns the first. */
static char *dec_digits(char *end, uint64_t v)
{
	char *p = end;

	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		p -= 2;
		memcpy(p, digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * v, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

static void put_dec(struct out *o, uint64_t v)
{
	char tmp[20], *p = dec_digits(tmp + sizeof tmp, v);
	put_mem(o, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_hex(struct out *o, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[18];
	int n = v ? (67 - __builtin_clzll(v)) / 4 : 1; /* hex digits */

	tmp[0] = '0';
	tmp[1] = 'x';
	for (int i = n + 1; i >= 2; i--, v >>= 4)
		tmp[i] = digits[v & 15];
	put_mem(o, tmp, (size_t)n + 2);
}

/* Seconds with nanosecond precision: "12.000345678". */
static void put_seconds(struct out *o, uint64_t ns)
{
	char tmp[32], *end = tmp + sizeof tmp, *p;
	uint64_t sec = ns / 1000000000u;
	unsigned frac = (unsigned)(ns % 1000000000u);

	/* nine fraction digits, then the point, then the seconds */
	p = end;
	for (int i = 0; i < 4; i++) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (frac % 100), 2);
		frac /= 100;
	}
	*--p = (char)('0' + frac);
	*--p = '.';
	p = dec_digits(p, sec);
	put_mem(o, p, (size_t)(end - p));
}

static void put_json_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	/* most names need no escape: copy them whole */
	while (s[n] && s[n] != '"' && s[n] != '\\' && (unsigned char)s[n] >= 0x20)
		n++;
	if (!s[n]) {
		put_ch(o, '"');
		put_mem(o, s, n);
		put_ch(o, '"');
		return;
	}
	put_ch(o, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			put_ch(o, '\\');
			put_ch(o, (char)c);
		} else if (c < 0x20) {
			put_mem(o, "\\u00", 4);
			put_ch(o, hex[c >> 4]);
			put_ch(o, hex[c & 15]);
		} else {
			put_ch(o, (char)c);
		}
	}
	put_ch(o, '"');
}

uint64_t hvlog_ticks_to_ns(uint64_t t, uint64_t t0, uint64_t hz)
{
	uint64_t d = t - t0;

	if (t < t0)
		return 0;
	if (hz == 1000000000u)
		return d;
	unsigned __int128 ns = (unsigned __int128)d * 1000000000u / hz;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static const char *event_name(const hvlog_event *ev)
{
	return strncmp(ev->symbol, "HV_TR_", 6) ? ev->symbol : ev->symbol + 6;
}

static const char *stream_name(const hvlog_meta *m, uint32_t s)
{
	return s < m->nstreams ? m->streams[s].name : "?";
}

static void text_value(struct out *o, const hvlog_param *p, uint64_t v)
{
	const char *name;

	switch (p->display) {
	case HVLOG_DISPLAY_DEC:
		put_dec(o, v);
		break;
	case HVLOG_DISPLAY_BOOL:
		put_str(o, v ? "true" : "false");
		break;
	case HVLOG_DISPLAY_ENUM:
		if ((name = hvlog_valtab_name(p->values, v))) {
			put_name(o, name);
			break;
		}
		put_hex(o, v); /* unnamed values show as hex */
		break;
	default:
		put_hex(o, v);
		break;
	}
}

static void text_item(struct out *o, const hvlog_meta *m, const hvlog_item *it, uint64_t t0)
{
	char *col = o->p;

	pad_to(o, col, 0);
	{
		/* time right-aligned in 15 columns */
		char tbuf[32];
		struct out t = { tbuf, tbuf + sizeof tbuf };
		put_seconds(&t, hvlog_ticks_to_ns(it->ts, t0, m->clock_hz));
		for (size_t n = (size_t)(t.p - tbuf); n < 15; n++)
			put_ch(o, ' ');
		put_mem(o, tbuf, (size_t)(t.p - tbuf));
	}
	put_ch(o, ' ');
	col = o->p;
	put_name(o, it->stream == UINT32_MAX ? "-" : stream_name(m, it->stream));
	pad_to(o, col, 8);
	put_ch(o, ' ');
	col = o->p;
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const hvlog_event *ev = it->event;
		put_name(o, ev->group < m->schema->ngroups ? m->schema->groups[ev->group].alias : "?");
		pad_to(o, col, 10);
		put_ch(o, ' ');
		col = o->p;
		put_name(o, event_name(ev));
		pad_to(o, col, 26);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			put_ch(o, ' ');
			put_name(o, ev->params[i].key);
			put_ch(o, '=');
			text_value(o, &ev->params[i], it->values[i]);
		}
		break;
	}
	case HVLOG_ITEM_LOST:
		put_str(o, "--         LOST ");
		put_dec(o, it->lost_count);
		put_str(o, " events between ");
		put_seconds(o, hvlog_ticks_to_ns(it->lost_first_ts, t0, m->clock_hz));
		put_str(o, " and ");
		put_seconds(o, hvlog_ticks_to_ns(it->lost_last_ts, t0, m->clock_hz));
		break;
	case HVLOG_ITEM_DAMAGE:
		put_str(o, "--         DAMAGE at offset ");
		put_dec(o, it->offset);
		put_str(o, " (");
		put_dec(o, it->damage_len);
		put_str(o, " bytes");
		if (it->damage_events) {
			put_str(o, ", ");
			put_dec(o, it->damage_events);
			put_str(o, " events lost");
		}
		put_str(o, "): ");
		put_str(o, it->damage_msg);
		break;
	}
}

/* ,"k": for the formatter's own keys (plain ASCII, nothing to escape) */
static void json_key(struct out *o, const char *k)
{
	put_mem(o, ",\"", 2);
	put_str(o, k);
	put_mem(o, "\":", 2);
}

static void json_item(struct out *o, const hvlog_meta *m, const hvlog_item *it, uint64_t t0)
{
	static const char *const kinds[] = { "event", "lost", "damage" };

	put_str(o, "{\"type\":");
	put_json_str(o, kinds[it->kind]);
	json_key(o, "time_ns");
	put_dec(o, hvlog_ticks_to_ns(it->ts, t0, m->clock_hz));
	json_key(o, "ts");
	put_dec(o, it->ts);
	json_key(o, "stream");
	if (it->stream == UINT32_MAX) {
		put_str(o, "null");
	} else {
		put_dec(o, it->stream);
		json_key(o, "stream_name");
		put_json_str(o, stream_name(m, it->stream));
	}
	json_key(o, "offset");
	put_dec(o, it->offset);
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const hvlog_event *ev = it->event;
		int named = 0;
		json_key(o, "group");
		put_json_str(o, ev->group < m->schema->ngroups ? m->schema->groups[ev->group].alias : "?");
		json_key(o, "event");
		put_json_str(o, ev->symbol);
		json_key(o, "number");
		put_dec(o, ev->number);
		json_key(o, "params");
		put_ch(o, '{');
		for (uint32_t i = 0; i < ev->nparams; i++) {
			const hvlog_param *p = &ev->params[i];
			uint64_t v = it->values[i];
			if (i)
				put_ch(o, ',');
			put_json_str(o, p->key);
			put_ch(o, ':');
			if (p->display == HVLOG_DISPLAY_BOOL || p->type == HVLOG_TYPE_BOOL) {
				put_str(o, v ? "true" : "false");
			} else if (p->display == HVLOG_DISPLAY_HEX) {
				/* as a string: JSON numbers above 2^53 lose precision in many readers */
				put_ch(o, '"');
				put_hex(o, v);
				put_ch(o, '"');
			} else {
				put_dec(o, v);
			}
			named |= hvlog_valtab_name(p->values, v) != NULL;
		}
		put_ch(o, '}');
		if (named) {
			json_key(o, "names");
			put_ch(o, '{');
			named = 0;
			for (uint32_t i = 0; i < ev->nparams; i++) {
				const char *name = hvlog_valtab_name(ev->params[i].values, it->values[i]);
				if (!name)
					continue;
				if (named++)
					put_ch(o, ',');
				put_json_str(o, ev->params[i].key);
				put_ch(o, ':');
				put_json_str(o, name);
			}
			put_ch(o, '}');
		}
		break;
	}
	case HVLOG_ITEM_LOST:
		json_key(o, "count");
		put_dec(o, it->lost_count);
		json_key(o, "first_ts");
		put_dec(o, it->lost_first_ts);
		json_key(o, "last_ts");
		put_dec(o, it->lost_last_ts);
		break;
	case HVLOG_ITEM_DAMAGE:
		json_key(o, "kind");
		put_json_str(o, hvlog_status_str(it->damage));
		json_key(o, "length");
		put_dec(o, it->damage_len);
		json_key(o, "events_lost");
		put_dec(o, it->damage_events);
		json_key(o, "message");
		put_json_str(o, it->damage_msg);
		break;
	}
	put_ch(o, '}');
}

size_t hvlog_format_item(const hvlog_meta *m, const hvlog_item *it, hvlog_format_kind kind, uint64_t t0,
			 char *buf, size_t cap)
{
	struct out o = { buf, buf + (cap ? cap - 2 : 0) };

	if (cap < 2) {
		if (cap)
			*buf = 0;
		return 0;
	}
	if (kind == HVLOG_FORMAT_JSON)
		json_item(&o, m, it, t0);
	else
		text_item(&o, m, it, t0);
	*o.p++ = '\n';
	*o.p = 0;
	return (size_t)(o.p - buf);
}
