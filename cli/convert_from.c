/*
 * convert_from.c - rebuild an hvlog trace from the items of `convert --to
 * json|cbor`, whatever parsed them (cv_node_ops, convert.h).
 *
 * The metadata item gives the schema, clock, producer and streams: the
 * writer is opened with exactly them (config.schema = the rebuilt schema),
 * so the new file decodes like the old one.  Then each item in input
 * order: an event is emitted on its stream with hvlog_emit; a lost item
 * is noted (hvlog_stream_note_lost) and the stream flushed, which puts
 * the LOST record where it was, after the stream's previous event (its
 * time is that event's, as in every file libhvlog writes); damage items
 * cannot be rebuilt and are counted, the events one is known to have
 * cost its stream written as a LOST record.  Events are looked up by "number"
 * or else by "event" (a symbol, with or without HV_TR_); "ts" (ticks) or
 * else "time_ns" (from the meta item's t0) gives the time; parameters are
 * looked up by key in "params", as integers or "0x..." strings.  Without
 * a metadata item the built-in schema, a nanosecond clock and one stream
 * are used, so small traces can be written by hand.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"

int cv_parse_uint(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

/* ---- a tiny arena for the rebuilt schema ---------------------------------- */
struct block {
	struct block *next;
	max_align_t data[];
};

struct cv_rebuild {
	const cv_node_ops *ops;
	const char *in_shown, *out_shown;
	int out_fd;
	struct block *blocks;
	const hvlog_schema *sc;    /* the metadata's or the built-in one */
	const hvlog_stream_info *streams;
	uint32_t nstreams;
	uint32_t *by_number;       /* event number -> index, UINT32_MAX: none */
	uint64_t hz, t0;
	hvlog_writer *w;
	uint64_t events, lost, skipped;
	int damage_warned;
};

static void *arena(cv_rebuild *b, size_t n)
{
	struct block *bl = calloc(1, sizeof *bl + (n ? n : 1)); /* zeroed: absent fields are 0/NULL */

	if (!bl)
		return NULL;
	bl->next = b->blocks;
	b->blocks = bl;
	return bl->data;
}

/* ---- reading the metadata -------------------------------------------------- */

/* Whether s is UTF-8 as RFC 3629 has it (no overlong form, no surrogate,
 * nothing above U+10FFFF).  Every text of the metadata must be: it is
 * written as CBOR text, which the reader checks, and json-c's own check
 * lets some through (0xC0 0x80 and other overlong forms). */
static int utf8_ok(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned c = *s++, n;
		uint32_t cp;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (unsigned i = 0; i < n; i++, s++) {
			if ((*s & 0xc0) != 0x80) /* also the terminating NUL */
				return 0;
			cp = cp << 6 | (*s & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

/* The library's document ops over the parser's (hvlog_meta_from_doc
 * reads the metadata with them, as the reader does a file's); ctx is the
 * rebuild. */
static const void *d_get(void *ctx, const void *n, const char *k)
{
	return ((cv_rebuild *)ctx)->ops->get((cv_node *)n, k);
}
static long d_len(void *ctx, const void *n)
{
	return n ? ((cv_rebuild *)ctx)->ops->len((cv_node *)n) : -1;
}
static const void *d_at(void *ctx, const void *n, size_t i)
{
	return ((cv_rebuild *)ctx)->ops->at((cv_node *)n, i);
}
static int d_uint(void *ctx, const void *n, uint64_t *v)
{
	return ((cv_rebuild *)ctx)->ops->uint((cv_node *)n, v);
}
static int d_sint(void *ctx, const void *n, int64_t *v)
{
	return ((cv_rebuild *)ctx)->ops->sint((cv_node *)n, v);
}
static int d_null(void *ctx, const void *n)
{
	return ((cv_rebuild *)ctx)->ops->is_null((cv_node *)n);
}
/* What str gives for text the parser copied into buf (0) or not (-1). */
static long str_result(const cv_node_ops *ops, cv_node *n, int got, const char *buf, size_t cap)
{
	char big[HVLOG_MAX_PROP_VALUE + 2];

	if (got == 0)
		return utf8_ok(buf) ? (long)strlen(buf) : -2;
	/* too long for buf, or not text at all */
	return n && cap < sizeof big && ops->str(n, big, sizeof big) == 0 ? (long)strlen(big) : -1;
}
static long d_str(void *ctx, const void *n, char *buf, size_t cap)
{
	const cv_node_ops *ops = ((cv_rebuild *)ctx)->ops;

	return str_result(ops, (cv_node *)n, ops->str((cv_node *)n, buf, cap), buf, cap);
}
/* A props entry; a props that is not a map reads as none, as it always
 * has here (the parser's entry gives 0 for it). */
static long d_entry(void *ctx, const void *n, size_t i, char *kbuf, size_t cap, const void **v)
{
	const cv_node_ops *ops = ((cv_rebuild *)ctx)->ops;
	cv_node *val = NULL;
	int r = ops->entry((cv_node *)n, i, kbuf, cap, &val);

	*v = val;
	return r <= 0 ? r : utf8_ok(kbuf) ? (long)strlen(kbuf) : -2;
}
static void *d_alloc(void *ctx, size_t n)
{
	return arena(ctx, n);
}
static const hvlog_doc_ops doc_ops = { d_get, d_len, d_at, d_uint, d_str, d_alloc, d_entry, d_sint, d_null };

static int meta_error(cv_rebuild *b, const char *msg)
{
	cli_error(b->in_shown, UINT64_MAX, "%s", msg);
	return -1;
}

static int read_meta(cv_rebuild *b, cv_node *meta, hvlog_writer_config *cfg)
{
	hvlog_meta m;
	hvlog_error err = { 0 };
	cv_node *n;

	if (hvlog_meta_from_doc(&m, &doc_ops, b, meta, HVLOG_DOC_DEFAULTS, &err) != HVLOG_OK)
		return meta_error(b, err.msg);
	if (meta && (n = b->ops->get(meta, "t0")) && b->ops->uint(n, &b->t0) != 0)
		b->t0 = 0;
	/* bad input, said so here: the writer would take it for its caller's limit */
	if (hvlog_meta_streams_size(m.streams, m.nstreams) > CV_META_MAX)
		return meta_error(b, "metadata: 'streams' alone take more than the 1 MiB of metadata a trace may have");
	b->sc = m.schema;
	b->streams = m.streams;
	b->nstreams = m.nstreams ? m.nstreams : 1; /* stream0, written by the writer's defaults */
	for (uint32_t i = 0; i <= HVLOG_MAX_EVENT_NUMBER; i++)
		b->by_number[i] = UINT32_MAX;
	for (uint32_t i = b->sc->nevents; i-- > 0;) /* the first of a number, as hvlog_schema_find_event */
		b->by_number[b->sc->events[i].number] = i;
	b->hz = m.clock_hz;
	*cfg = hvlog_writer_config_from_meta(&m);
	return 0;
}

cv_rebuild *cv_rebuild_open(const cv_node_ops *ops, cv_node *meta, int out_fd, const char *out_shown,
			    const char *in_shown, int *code)
{
	cv_rebuild *b = calloc(1, sizeof *b);
	hvlog_writer_config cfg = { 0 };
	hvlog_error err = { 0 };
	hvlog_status st;

	*code = EXIT_IO;
	if (!b || !(b->by_number = malloc((HVLOG_MAX_EVENT_NUMBER + 1) * sizeof *b->by_number))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		free(b);
		return NULL;
	}
	b->ops = ops;
	b->in_shown = in_shown;
	b->out_fd = out_fd;
	b->out_shown = out_shown;
	if (read_meta(b, meta, &cfg) != 0) {
		*code = EXIT_DATA;
		cv_rebuild_close(b, 0);
		return NULL;
	}
	st = hvlog_writer_open_fd(&b->w, b->out_fd, &cfg, &err);
	if (st != HVLOG_OK) {
		/* the configuration is all the input's: a metadata the writer
		 * refuses (HVLOG_INVALID) is bad input, not a usage error */
		*code = cli_fail(st == HVLOG_INVALID ? b->in_shown : b->out_shown, &err);
		if (st == HVLOG_INVALID)
			*code = EXIT_DATA;
		cv_rebuild_close(b, 0);
		return NULL;
	}
	*code = 0;
	return b;
}

static int item_error(cv_rebuild *b, uint64_t where, const char *msg, const char *arg)
{
	char text[256];

	snprintf(text, sizeof text, msg, arg);
	cli_error(b->in_shown, where, "%s", text);
	return EXIT_DATA;
}

int cv_rebuild_item(cv_rebuild *b, cv_node *item, uint64_t where)
{
	const cv_node_ops *ops = b->ops;
	char type[16] = "event";
	cv_node *n, *params;
	uint64_t stream = 0, ts;
	const hvlog_event *ev = NULL;
	uint64_t values[HVLOG_MAX_PARAMS];

	if ((n = ops->get(item, "type")) && ops->str(n, type, sizeof type) != 0)
		return item_error(b, where, "'type' is not %s", "event, lost or damage");
	if (!strcmp(type, "meta"))
		return item_error(b, where, "a second %s item", "metadata");
	if (!strcmp(type, "damage")) {
		/* not rebuilt, but the events it is known to have cost its
		 * stream are: a LOST record of that count at its time */
		uint64_t lost = 0;
		b->skipped++;
		if ((n = ops->get(item, "events_lost")) && ops->uint(n, &lost) == 0 && lost &&
		    (n = ops->get(item, "stream")) && ops->uint(n, &stream) == 0 && stream < b->nstreams &&
		    (n = ops->get(item, "ts")) && ops->uint(n, &ts) == 0) {
			hvlog_stream *s = hvlog_writer_stream(b->w, (uint32_t)stream);
			hvlog_stream_note_lost(s, lost, ts, ts);
			hvlog_stream_flush(s);
			b->lost += lost;
		}
		return 0;
	}
	if ((n = ops->get(item, "stream")) && (ops->uint(n, &stream) != 0 || stream >= b->nstreams))
		return item_error(b, where, "'stream' is not a stream of the %s", "metadata");
	if ((n = ops->get(item, "ts"))) {
		if (ops->uint(n, &ts) != 0)
			return item_error(b, where, "'%s' is not an unsigned integer", "ts");
	} else if ((n = ops->get(item, "time_ns"))) {
		uint64_t ns;
		if (ops->uint(n, &ns) != 0)
			return item_error(b, where, "'%s' is not an unsigned integer", "time_ns");
		unsigned __int128 t = (unsigned __int128)ns * b->hz / 1000000000u + b->t0;
		if (t > UINT64_MAX)
			return item_error(b, where, "'%s' is beyond the last tick of the clock", "time_ns");
		ts = (uint64_t)t;
	} else {
		return item_error(b, where, "no time: give '%s' (ticks) or 'time_ns'", "ts");
	}
	if (!strcmp(type, "lost")) {
		uint64_t count, first = ts, last = ts;
		hvlog_stream *s = hvlog_writer_stream(b->w, (uint32_t)stream);
		if (!(n = ops->get(item, "count")) || ops->uint(n, &count) != 0 || !count)
			return item_error(b, where, "a lost item needs a '%s' of at least 1", "count");
		if ((n = ops->get(item, "first_ts")) && ops->uint(n, &first) != 0)
			return item_error(b, where, "'%s' is not an unsigned integer", "first_ts");
		if ((n = ops->get(item, "last_ts")) && ops->uint(n, &last) != 0)
			return item_error(b, where, "'%s' is not an unsigned integer", "last_ts");
		hvlog_stream_note_lost(s, count, first, last);
		hvlog_stream_flush(s); /* the LOST record goes right here */
		b->lost += count;
		return 0;
	}
	if (strcmp(type, "event"))
		return item_error(b, where, "unknown item type '%s'", type);
	if ((n = ops->get(item, "number"))) {
		uint64_t num;
		if (ops->uint(n, &num) != 0 || num > HVLOG_MAX_EVENT_NUMBER || b->by_number[num] == UINT32_MAX)
			return item_error(b, where, "'number' is not an event of the %s", "schema");
		ev = &b->sc->events[b->by_number[num]];
	} else if ((n = ops->get(item, "event"))) {
		char name[HVLOG_MAX_NAME + 1];
		if (ops->str(n, name, sizeof name) != 0 || !(ev = hvlog_schema_lookup_event(b->sc, name)))
			return item_error(b, where, "'event' is not an event of the %s", "schema");
	} else {
		return item_error(b, where, "an event needs a '%s' or an 'event' symbol", "number");
	}
	params = ops->get(item, "params");
	for (uint32_t i = 0; i < ev->nparams; i++) {
		const hvlog_param *p = &ev->params[i];
		if (!params || !(n = ops->get(params, p->key)))
			return item_error(b, where, "parameter '%s' is missing", p->key);
		if (ops->uint(n, &values[i]) != 0)
			return item_error(b, where, "parameter '%s' is not an unsigned integer", p->key);
		if (values[i] > hvlog_type_max(p->type))
			return item_error(b, where, "parameter '%s' is too large for its type", p->key);
	}
	/* a time back in its stream is kept: the writer records it (a TIME
	 * record, docs/FORMAT.md §5.3), as in the trace it was converted from */
	if (hvlog_emit(hvlog_writer_stream(b->w, (uint32_t)stream), ts, ev, values) != HVLOG_OK) {
		/* only a failing output gets here; close reports it */
		return 0;
	}
	b->events++;
	return 0;
}

void cv_rebuild_counts(const cv_rebuild *b, uint64_t *events, uint64_t *lost, uint64_t *skipped)
{
	*events = b->events;
	*lost = b->lost;
	*skipped = b->skipped;
}

int cv_rebuild_close(cv_rebuild *b, int code)
{
	hvlog_error err = { 0 };

	if (!b)
		return code;
	if (b->w && hvlog_writer_close(b->w, &err) != HVLOG_OK)
		code = cli_fail(b->out_shown, &err);
	if (b->skipped && !code)
		cli_error(b->in_shown, UINT64_MAX, "%llu damage item(s) cannot be rebuilt and were left out",
			  (unsigned long long)b->skipped);
	while (b->blocks) {
		struct block *next = b->blocks->next;
		free(b->blocks);
		b->blocks = next;
	}
	free(b->by_number);
	free(b);
	return code;
}
