/*
 * emit.c - chunk construction for one stream.  The emit target: no libc,
 * no allocation; the caller owns every byte it touches.
 */
#include "hvlog/emit.h"
#include "wire.h"

/* The schema fingerprint (FORMAT.md §3.5), here so that a stream sealing
 * its own chunks states it; declared in internal.h. */
uint32_t hvlog__schema_fp(const hvlog_schema *s);

uint32_t hvlog__schema_fp(const hvlog_schema *s)
{
	uint8_t b[4];
	uint32_t crc;

	wire_put32(b, s->nevents);
	crc = hvlog_crc32c(0, b, 4);
	for (uint32_t i = 0; i < s->nevents; i++) {
		const hvlog_event *e = &s->events[i];
		uint8_t eb[3 + 2 * HVLOG_MAX_PARAMS];
		uint32_t np = e->nparams < HVLOG_MAX_PARAMS ? e->nparams : HVLOG_MAX_PARAMS;
		wire_put16(eb, (uint16_t)e->number);
		eb[2] = (uint8_t)np;
		for (uint32_t k = 0; k < np; k++) {
			eb[3 + 2 * k] = (uint8_t)e->params[k].type;
			/* a RIP parameter decodes unlike other DELTA ones (3) */
			eb[4 + 2 * k] = (uint8_t)(hvlog__param_is_rip(&e->params[k]) ? 3 : e->params[k].coding);
		}
		crc = hvlog_crc32c(crc, eb, 3 + 2 * np);
	}
	return crc ? crc : 1; /* 0 means "not stated" in a chunk header */
}

static void reset_slots(hvlog_stream *s)
{
	for (uint32_t i = 0; i < s->nslots; i++)
		s->slots[i] = 0;
	for (uint32_t i = 0; i < HVLOG_KEYED_SLOTS; i++)
		s->keyed[i] = 0;
	for (uint32_t i = 0; i < HVLOG_RIP_SLOTS; i++)
		s->rips[i] = 0;
}

hvlog_status hvlog_stream_init(hvlog_stream *s, uint32_t id, const hvlog_schema *schema,
			       uint64_t group_mask, uint8_t *buf, size_t cap, uint64_t *slots,
			       hvlog_refill_fn refill, void *user)
{
	if (!s || !schema || !buf || cap < HVLOG_CHUNK_MIN || (cap - HVLOG_CHUNK_HEADER_SIZE) > 0xFFFFFFFFu ||
	    (!slots && schema->nslots) || !refill)
		return HVLOG_INVALID;
	/* Zeroed by a loop, not by assigning a compound literal: the
	 * struct is 3 KiB (the keyed predictors and the RIP cache), and a
	 * compiler may zero that much by calling memset, which this part
	 * of the library never calls (-ffreestanding keeps a loop a loop;
	 * tests/emit_freestanding.sh checks). */
	for (size_t i = 0; i < sizeof *s; i++)
		((unsigned char *)s)[i] = 0;
	s->cur = buf + HVLOG_CHUNK_HEADER_SIZE;
	s->end = buf + cap - HVLOG_RECORD_MAX - HVLOG_LOST_MAX;
	s->group_mask = group_mask;
	s->slots = slots;
	s->id = id;
	s->refill = refill;
	s->user = user;
	s->buf = buf;
	s->cap = cap;
	s->schema = schema;
	s->nslots = schema->nslots;
	s->meta_fp = hvlog__schema_fp(schema);
	reset_slots(s);
	return HVLOG_OK;
}

/* Timestamp of the chunk's first event: the encoder does not track it (that
 * would cost a test per event), so read it back from the first records. */
static uint64_t first_event_ts(const hvlog_stream *s)
{
	const uint8_t *p = s->buf + HVLOG_CHUNK_HEADER_SIZE;
	uint64_t ts = s->base_ts, v = 0;

	if (!s->nrec)
		return s->base_ts;
	for (;;) {
		uint8_t tag = *p++;
		int nvar = tag == HVLOG_TAG_LOST ? 3 : tag == HVLOG_TAG_ESCAPE ? 2 : 1;
		for (int i = 0; i < nvar; i++)
			p = wire_get_varint(p, &v);
		if (tag == HVLOG_TAG_TIME)
			ts = v;
		else if (tag != HVLOG_TAG_LOST)
			return ts + v;
	}
}

/* Write the pending lost count as a LOST record at the cursor; the chunk
 * now carries it (re-counted by hvlog_chunk_drop if the chunk is lost). */
static void put_lost(hvlog_stream *s)
{
	uint8_t *p = s->cur;

	if (!s->lost)
		return;
	*p++ = HVLOG_TAG_LOST;
	p = hvlog__put_varint(p, s->lost);
	p = hvlog__put_varint(p, s->lost_first);
	p = hvlog__put_varint(p, s->lost_last);
	if (!s->carried || s->lost_first < s->carried_first)
		s->carried_first = s->lost_first;
	if (!s->carried || s->lost_last > s->carried_last)
		s->carried_last = s->lost_last;
	s->carried += s->lost;
	s->lost = 0;
	s->cur = p;
}

size_t hvlog_chunk_seal(hvlog_stream *s, int final, const uint8_t **chunk)
{
	uint8_t *h = s->buf;
	size_t len;
	static const char sync[8] = WIRE_CHUNK_SYNC;

	put_lost(s); /* losses noted since the chunk began go out with it */
	len = (size_t)(s->cur - (s->buf + HVLOG_CHUNK_HEADER_SIZE));
	*chunk = h;
	if (!len && !final)
		return 0;
	for (int i = 0; i < 8; i++)
		h[i] = (uint8_t)sync[i];
	wire_put32(h + WIRE_CH_LEN, (uint32_t)len);
	wire_put16(h + WIRE_CH_STREAM, (uint16_t)s->id);
	wire_put16(h + WIRE_CH_FLAGS, (uint16_t)((final ? WIRE_CHUNK_FINAL : 0) | (s->flags & WIRE_CHUNK_BACKWARDS)));
	wire_put32(h + WIRE_CH_META_FP, s->meta_fp);
	wire_put64(h + WIRE_CH_SEQ, s->seq);
	wire_put64(h + WIRE_CH_BASE_TS, s->base_ts);
	wire_put64(h + WIRE_CH_FIRST_TS, first_event_ts(s));
	wire_put64(h + WIRE_CH_LAST_TS, s->last_ts);
	wire_put32(h + WIRE_CH_NEVENTS, s->nrec);
	wire_put32(h + WIRE_CH_PAYLOAD_CRC, hvlog_crc32c(0, h + HVLOG_CHUNK_HEADER_SIZE, len));
	wire_put32(h + WIRE_CH_CRC, hvlog_crc32c(0, h + WIRE_CH_LEN, HVLOG_CHUNK_HEADER_SIZE - WIRE_CH_LEN));
	return HVLOG_CHUNK_HEADER_SIZE + len;
}

void hvlog_chunk_restart(hvlog_stream *s)
{
	uint8_t *p = s->buf + HVLOG_CHUNK_HEADER_SIZE;

	s->seq++;
	s->nrec = 0;
	s->flags = 0;
	s->base_ts = s->last_ts;
	reset_slots(s);
	s->carried = 0;
	s->cur = p;
	put_lost(s); /* losses of a dropped chunk lead the next one */
}

/* Add to the pending lost count without counting the events again (also
 * used by the writer's non-blocking mode). */
void hvlog__pend_lost(hvlog_stream *s, uint64_t n, uint64_t first, uint64_t last)
{
	if (!n)
		return;
	if (!s->lost || first < s->lost_first)
		s->lost_first = first;
	if (!s->lost || last > s->lost_last)
		s->lost_last = last;
	s->lost += n;
}

void hvlog_chunk_drop(hvlog_stream *s)
{
	hvlog__pend_lost(s, s->carried, s->carried_first, s->carried_last);
	s->carried = 0;
	if (s->nrec) {
		/* time may have gone back inside the chunk: keep the window ordered */
		uint64_t a = first_event_ts(s), b = s->last_ts;
		hvlog_stream_note_lost(s, s->nrec, a < b ? a : b, a < b ? b : a);
	}
}

void hvlog_stream_note_lost(hvlog_stream *s, uint64_t n, uint64_t first, uint64_t last)
{
	hvlog__pend_lost(s, n, first, last);
	s->lost_total += n;
}

hvlog_status hvlog__stream_full(hvlog_stream *s, uint64_t ts)
{
	hvlog_status st = s->refill(s);

	if (s->cur > s->end) {
		/* The hook could not make room: this event is dropped. */
		hvlog_stream_note_lost(s, 1, ts, ts);
		return st != HVLOG_OK ? st : HVLOG_FULL;
	}
	return HVLOG_OK;
}

hvlog_status hvlog_emit(hvlog_stream *s, uint64_t ts, const hvlog_event *ev, const uint64_t *params)
{
	const hvlog_group *g;
	uint64_t prev = 0;
	uint8_t *p;

	if (!s || !ev || ev->nparams > HVLOG_MAX_PARAMS || ev->number > HVLOG_MAX_EVENT_NUMBER ||
	    ev->group >= s->schema->ngroups || ev->slot > s->nslots || ev->nparams > s->nslots - ev->slot ||
	    (ev->nparams && ev->params[0].coding == HVLOG_CODING_KEYED))
		return HVLOG_INVALID;
	g = &s->schema->groups[ev->group];
	if (!hvlog_stream_wants(s, g->mask))
		return HVLOG_OK;
	if (!(p = hvlog__begin(s, ts, ev->number)))
		return HVLOG_FULL;
	for (uint32_t i = 0; i < ev->nparams; i++) {
		uint64_t v = ev->params[i].type == HVLOG_TYPE_BOOL ? params[i] != 0
								   : params[i] & hvlog_type_max(ev->params[i].type);
		if (hvlog__param_is_rip(&ev->params[i]))
			p = hvlog__put_rip(p, s, &s->slots[ev->slot + i], v);
		else if (ev->params[i].coding == HVLOG_CODING_DELTA)
			p = hvlog__put_delta(p, &s->slots[ev->slot + i], v);
		else if (ev->params[i].coding == HVLOG_CODING_KEYED)
			p = hvlog__put_keyed(p, s, ev->slot + i, prev, v);
		else
			p = hvlog__put_varint(p, v);
		prev = v;
	}
	hvlog__commit(s, p);
	return HVLOG_OK;
}

uint64_t hvlog_type_max(hvlog_type t)
{
	static const uint64_t max[HVLOG_TYPE_COUNT_] = {
		[HVLOG_TYPE_U8] = 0xFF, [HVLOG_TYPE_U16] = 0xFFFF, [HVLOG_TYPE_U32] = 0xFFFFFFFFu,
		[HVLOG_TYPE_U64] = UINT64_MAX, [HVLOG_TYPE_BOOL] = 1,
	};
	return (unsigned)t < HVLOG_TYPE_COUNT_ ? max[t] : 0;
}
