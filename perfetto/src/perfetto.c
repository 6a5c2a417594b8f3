/*
 * perfetto.c - hvlog/perfetto.h: items as Perfetto TracePackets, packed
 * with protobuf-c from perfetto/perfetto_trace.proto.
 *
 * A Trace is `repeated TracePacket packet = 1`, so the file is one
 * length-delimited field 1 after another: each packet is packed on its
 * own and appended, and nothing is held but the packet being written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/format.h"
#include "hvlog/perfetto.h"
#include "perfetto_trace.pb-c.h"

typedef Perfetto__Protos__TracePacket Packet;
typedef Perfetto__Protos__TrackEvent TrackEvent;
typedef Perfetto__Protos__TrackDescriptor TrackDescriptor;
typedef Perfetto__Protos__DebugAnnotation Annotation;
typedef Perfetto__Protos__InternedData InternedData;
typedef Perfetto__Protos__EventName EventName;
typedef Perfetto__Protos__EventCategory EventCategory;
typedef Perfetto__Protos__DebugAnnotationName AnnotationName;

/* Track uuids: a kind in the top bits, an index below (never 0, the
 * implicit global track). */
enum { K_PROCESS = 1, K_STREAM, K_STREAM_COUNTER, K_GROUP_COUNTER, K_HYPERVISOR, K_DAMAGE };
#define UUID(kind, i) (((uint64_t)(kind) << 48) | (uint64_t)(i))
/* Thread ids: never equal to a process id (a pid equal to a tid would make
 * that thread the process's main thread). */
#define TID_BASE 1000000
#define SEQ_GLOBAL 1u      /* descriptors, group counters, damage */
#define SEQ_STREAM(s) (2u + (s))
/* The clocks: BOOTTIME (the trace's) holds nanoseconds since t0; on each
 * stream's sequence clock 64 is incremental, so an instant's timestamp is
 * the nanoseconds since the previous one (a byte or three, not five).
 * Counter values, written a bin late, give BOOTTIME times instead. */
#define CLOCK_BOOTTIME 6u
#define CLOCK_DELTA 64u

/* The names hvlog adds to the schema's: two event names, one category and
 * the annotation keys of LOST and DAMAGE. */
static const char *const own_keys[] = { "count", "first_ns", "last_ns", "offset", "length", "events_lost", "message" };
enum { KEY_COUNT, KEY_FIRST, KEY_LAST, KEY_OFFSET, KEY_LENGTH, KEY_EVENTS_LOST, KEY_MESSAGE, NOWN_KEYS };

typedef struct counter {
	uint64_t bin;   /* current bin, UINT64_MAX before the first value */
	uint64_t count; /* items in it */
	uint64_t lo, hi; /* its times [lo, hi): most items need no division */
} counter;

struct hvlog_perfetto {
	const hvlog_meta *m;
	hvlog_sink_fn sink;
	void *user;
	uint64_t t0, bin_ns;
	uint32_t nevents, ngroups, nkeys, nseq;
	/* key iid (1-based) of every parameter slot, then of own_keys */
	uint32_t *slot_key, own_key[NOWN_KEYS];
	const char **keys;     /* by key iid - 1 */
	uint64_t *process_uuid; /* per stream: its process (or hypervisor) track */
	/* per sequence, whether each name was interned on it: event names
	 * (nevents + LOST + DAMAGE), categories (ngroups + "hvlog"), keys */
	uint8_t *known;
	size_t known_stride;
	/* value-string iids: valtab t's entry k is vt_base[t] + k + 1 */
	uint32_t *vt_base, nvalues;
	int reference; /* every packet packed by protobuf-c */
	counter *stream_ctr, *group_ctr;
	uint64_t *last_ns; /* per stream: clock 64's value */
	/* per sequence and event: its name, category and keys are interned */
	uint8_t *ev_ready;
	const char **short_sym; /* per event: the symbol without "HV_TR_" */
	uint8_t *buf; /* packets waiting for the sink */
	size_t len, cap;
	uint8_t *scratch;
	size_t scratch_cap;
	uint64_t bytes, packets;
	hvlog_status failed;
	int failed_errno;
};

#define BUF_CAP (256u * 1024u)

static hvlog_status fail(hvlog_error *err, hvlog_status st, int sys_errno, const char *msg)
{
	if (err) {
		*err = (hvlog_error){ .status = st, .sys_errno = sys_errno, .offset = UINT64_MAX, .stream = UINT32_MAX,
				      .chunk_seq = UINT64_MAX };
		snprintf(err->msg, sizeof err->msg, "%s%s%s", msg, sys_errno ? ": " : "",
			 sys_errno ? strerror(sys_errno) : "");
	}
	return st;
}

static void drain(hvlog_perfetto *w)
{
	if (w->len && !w->failed) {
		int e = w->sink(w->user, w->buf, w->len);
		if (e) {
			w->failed = HVLOG_IO;
			w->failed_errno = e;
		}
	}
	w->len = 0;
}

/* Appends packet p as field 1 of Trace (tag 0x0a, varint length, bytes). */
static void emit(hvlog_perfetto *w, const Packet *p)
{
	size_t n = perfetto__protos__trace_packet__get_packed_size(p);
	uint8_t *d;

	if (w->failed)
		return;
	if (n + 11 > w->cap - w->len)
		drain(w);
	if (n + 11 > w->cap - w->len) { /* larger than the whole buffer */
		if (n + 11 > w->scratch_cap) {
			uint8_t *s = realloc(w->scratch, n + 11);
			if (!s) {
				w->failed = HVLOG_NOMEM;
				return;
			}
			w->scratch = s;
			w->scratch_cap = n + 11;
		}
		d = w->scratch;
	} else {
		d = w->buf + w->len;
	}
	size_t k = 0;
	d[k++] = 0x0a;
	for (uint64_t v = n; ; v >>= 7) {
		d[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		if (v <= 0x7f)
			break;
	}
	k += perfetto__protos__trace_packet__pack(p, d + k);
	w->bytes += k;
	w->packets++;
	if (d == w->scratch) {
		int e = w->sink(w->user, d, k);
		if (e) {
			w->failed = HVLOG_IO;
			w->failed_errno = e;
		}
	} else {
		w->len += k;
	}
}

static uint64_t ns_of(const hvlog_perfetto *w, uint64_t ts)
{
	return hvlog_ticks_to_ns(ts, w->t0, w->m->clock_hz);
}

static void on_sequence(Packet *p, uint32_t seq)
{
	p->optional_trusted_packet_sequence_id_case =
		PERFETTO__PROTOS__TRACE_PACKET__OPTIONAL_TRUSTED_PACKET_SEQUENCE_ID_TRUSTED_PACKET_SEQUENCE_ID;
	p->trusted_packet_sequence_id = seq;
}

/* ---- descriptors ---------------------------------------------------------- */

static void descriptor(hvlog_perfetto *w, TrackDescriptor *d)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;

	on_sequence(&p, SEQ_GLOBAL);
	p.data_case = PERFETTO__PROTOS__TRACE_PACKET__DATA_TRACK_DESCRIPTOR;
	p.track_descriptor = d;
	emit(w, &p);
}

static void named_track(hvlog_perfetto *w, uint64_t uuid, uint64_t parent, char *name,
			Perfetto__Protos__CounterDescriptor *cd)
{
	TrackDescriptor d = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;

	d.has_uuid = 1;
	d.uuid = uuid;
	d.has_parent_uuid = parent != 0;
	d.parent_uuid = parent;
	d.static_or_dynamic_name_case = PERFETTO__PROTOS__TRACK_DESCRIPTOR__STATIC_OR_DYNAMIC_NAME_NAME;
	d.name = name;
	d.counter = cd;
	descriptor(w, &d);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static const char *stream_name(const hvlog_meta *m, uint32_t s, char *buf, size_t cap)
{
	if (m->streams[s].name)
		return m->streams[s].name;
	snprintf(buf, cap, "stream%" PRIu32, s);
	return buf;
}

/* Process tracks (one per partition), the hypervisor and damage tracks,
 * a thread track and a counter track per stream, a counter per group. */
static int descriptors(hvlog_perfetto *w)
{
	const hvlog_meta *m = w->m;
	uint64_t *parts = malloc(((size_t)m->nstreams + 1) * sizeof *parts);
	uint32_t nparts = 0;
	char name[128], sname[32];
	Perfetto__Protos__CounterDescriptor rate = PERFETTO__PROTOS__COUNTER_DESCRIPTOR__INIT;

	if (!parts)
		return -1;
	for (uint32_t i = 0; i < m->nstreams; i++)
		if (m->streams[i].partition_id)
			parts[nparts++] = m->streams[i].partition_id;
	qsort(parts, nparts, sizeof *parts, cmp_u64);
	uint32_t u = 0;
	for (uint32_t i = 0; i < nparts; i++)
		if (!u || parts[i] != parts[u - 1])
			parts[u++] = parts[i];
	nparts = u;
	for (uint32_t i = 0; i < nparts; i++) {
		TrackDescriptor d = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
		Perfetto__Protos__ProcessDescriptor pd = PERFETTO__PROTOS__PROCESS_DESCRIPTOR__INIT;
		d.has_uuid = 1;
		d.uuid = UUID(K_PROCESS, i);
		pd.has_pid = 1;
		pd.pid = parts[i] <= INT32_MAX - TID_BASE ? (int32_t)parts[i] : (int32_t)(INT32_MAX - i);
		snprintf(name, sizeof name, "partition %" PRIu64, parts[i]);
		pd.process_name = name;
		d.process = &pd;
		descriptor(w, &d);
	}
	named_track(w, UUID(K_HYPERVISOR, 0), 0, "hypervisor", NULL);
	named_track(w, UUID(K_DAMAGE, 0), 0, "damage", NULL);
	rate.has_unit = 1;
	rate.unit = PERFETTO__PROTOS__COUNTER_DESCRIPTOR__UNIT__UNIT_COUNT;
	rate.unit_name = "/s";
	for (uint32_t s = 0; s < m->nstreams; s++) {
		const hvlog_stream_info *si = &m->streams[s];
		const char *sn = stream_name(m, s, sname, sizeof sname);
		TrackDescriptor d = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
		Perfetto__Protos__ThreadDescriptor td = PERFETTO__PROTOS__THREAD_DESCRIPTOR__INIT;
		d.has_uuid = 1;
		d.uuid = UUID(K_STREAM, s);
		if (si->partition_id) {
			uint64_t *k = bsearch(&si->partition_id, parts, nparts, sizeof *parts, cmp_u64);
			uint32_t pi = (uint32_t)(k - parts);
			w->process_uuid[s] = UUID(K_PROCESS, pi);
			td.has_pid = 1;
			td.pid = parts[pi] <= INT32_MAX - TID_BASE ? (int32_t)parts[pi] : (int32_t)(INT32_MAX - pi);
			td.has_tid = 1;
			td.tid = TID_BASE + (int64_t)s;
			td.thread_name = (char *)sn;
			d.thread = &td;
		} else {
			w->process_uuid[s] = UUID(K_HYPERVISOR, 0);
			d.has_parent_uuid = 1;
			d.parent_uuid = UUID(K_HYPERVISOR, 0);
			d.static_or_dynamic_name_case = PERFETTO__PROTOS__TRACK_DESCRIPTOR__STATIC_OR_DYNAMIC_NAME_NAME;
			d.name = (char *)sn;
		}
		descriptor(w, &d);
		snprintf(name, sizeof name, "%s %s/s", sn, si->vp_index != UINT32_MAX ? "exits" : "events");
		named_track(w, UUID(K_STREAM_COUNTER, s), w->process_uuid[s], name, &rate);
	}
	for (uint32_t g = 0; g < w->ngroups; g++) {
		snprintf(name, sizeof name, "%s events/s", m->schema->groups[g].alias);
		named_track(w, UUID(K_GROUP_COUNTER, g), 0, name, &rate);
	}
	free(parts);
	return 0;
}

/* The first packet of each stream's sequence: its incremental state
 * starts here, and the stream's track is the default of its events. */
static void sequence_starts(hvlog_perfetto *w)
{
	for (uint32_t s = 0; s < w->m->nstreams; s++) {
		Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
		Perfetto__Protos__TracePacketDefaults def = PERFETTO__PROTOS__TRACE_PACKET_DEFAULTS__INIT;
		Perfetto__Protos__TrackEventDefaults ted = PERFETTO__PROTOS__TRACK_EVENT_DEFAULTS__INIT;
		Perfetto__Protos__ClockSnapshot cs = PERFETTO__PROTOS__CLOCK_SNAPSHOT__INIT;
		Perfetto__Protos__ClockSnapshot__Clock boot = PERFETTO__PROTOS__CLOCK_SNAPSHOT__CLOCK__INIT;
		Perfetto__Protos__ClockSnapshot__Clock delta = PERFETTO__PROTOS__CLOCK_SNAPSHOT__CLOCK__INIT;
		Perfetto__Protos__ClockSnapshot__Clock *clocks[2] = { &boot, &delta };
		boot.has_clock_id = boot.has_timestamp = 1;
		boot.clock_id = CLOCK_BOOTTIME;
		delta.has_clock_id = delta.has_timestamp = delta.has_is_incremental = 1;
		delta.clock_id = CLOCK_DELTA;
		delta.is_incremental = 1;
		cs.n_clocks = 2;
		cs.clocks = clocks;
		p.data_case = PERFETTO__PROTOS__TRACE_PACKET__DATA_CLOCK_SNAPSHOT;
		p.clock_snapshot = &cs;
		def.has_timestamp_clock_id = 1;
		def.timestamp_clock_id = CLOCK_DELTA;
		on_sequence(&p, SEQ_STREAM(s));
		p.has_sequence_flags = 1;
		p.sequence_flags = PERFETTO__PROTOS__TRACE_PACKET__SEQUENCE_FLAGS__SEQ_INCREMENTAL_STATE_CLEARED;
		p.has_first_packet_on_sequence = 1;
		p.first_packet_on_sequence = 1;
		ted.has_track_uuid = 1;
		ted.track_uuid = UUID(K_STREAM, s);
		def.track_event_defaults = &ted;
		p.trace_packet_defaults = &def;
		emit(w, &p);
	}
}

/* ---- interning ------------------------------------------------------------- */

/* Names interned with one packet: at most one event name, one category
 * and every annotation key of one event. */
typedef struct interning {
	InternedData d;
	EventName name, *names[1];
	EventCategory cat, *cats[1];
	AnnotationName key[HVLOG_MAX_PARAMS + NOWN_KEYS], *keys[HVLOG_MAX_PARAMS + NOWN_KEYS];
	Perfetto__Protos__InternedString str[HVLOG_MAX_PARAMS], *strs[HVLOG_MAX_PARAMS];
	char text[HVLOG_MAX_PARAMS][HVLOG_MAX_NAME + 24];
	int used; /* d holds something (set up on the first name) */
} interning;

/* Sets d up the first time a packet interns something: most intern nothing. */
static void interning_begin(interning *in)
{
	if (in->used)
		return;
	in->used = 1;
	in->d = (InternedData)PERFETTO__PROTOS__INTERNED_DATA__INIT;
	in->d.event_names = in->names;
	in->d.event_categories = in->cats;
	in->d.debug_annotation_names = in->keys;
	in->d.debug_annotation_string_values = in->strs;
}

/* Whether name `i` of a table is known on sequence `seq`; marks it. */
static int seen(hvlog_perfetto *w, uint32_t seq, size_t i)
{
	uint8_t *k = &w->known[(size_t)(seq - 1) * w->known_stride + i];
	int was = *k;

	*k = 1;
	return was;
}

static void intern_name(hvlog_perfetto *w, interning *in, uint32_t seq, uint32_t iid, const char *name)
{
	if (seen(w, seq, iid - 1))
		return;
	interning_begin(in);
	in->name = (EventName)PERFETTO__PROTOS__EVENT_NAME__INIT;
	in->name.has_iid = 1;
	in->name.iid = iid;
	in->name.name = (char *)name;
	in->names[0] = &in->name;
	in->d.n_event_names = 1;
}

static void intern_cat(hvlog_perfetto *w, interning *in, uint32_t seq, uint32_t iid, const char *name)
{
	if (seen(w, seq, w->nevents + 2 + iid - 1))
		return;
	interning_begin(in);
	in->cat = (EventCategory)PERFETTO__PROTOS__EVENT_CATEGORY__INIT;
	in->cat.has_iid = 1;
	in->cat.iid = iid;
	in->cat.name = (char *)name;
	in->cats[0] = &in->cat;
	in->d.n_event_categories = 1;
}

static void intern_key(hvlog_perfetto *w, interning *in, uint32_t seq, uint32_t iid)
{
	size_t n;

	if (seen(w, seq, w->nevents + 2 + w->ngroups + 1 + iid - 1))
		return;
	interning_begin(in);
	n = in->d.n_debug_annotation_names;
	in->key[n] = (AnnotationName)PERFETTO__PROTOS__DEBUG_ANNOTATION_NAME__INIT;
	in->key[n].has_iid = 1;
	in->key[n].iid = iid;
	in->key[n].name = (char *)w->keys[iid - 1];
	in->keys[n] = &in->key[n];
	in->d.n_debug_annotation_names = n + 1;
}

/* A named value, "NAME (0x..)" as `convert --to chrome` writes it, by
 * its iid (interned on first use); 0 for a value without a name or a
 * table outside the schema's. */
static uint64_t intern_value(hvlog_perfetto *w, interning *in, uint32_t seq, const hvlog_valtab *t, uint64_t v)
{
	const hvlog_schema *sc = w->m->schema;
	size_t lo = 0, hi, n;

	if (!t || t < sc->valtabs || t >= sc->valtabs + sc->nvaltabs)
		return 0;
	for (hi = t->nvalues; lo < hi;) { /* the entry (t->values is sorted) */
		size_t mid = lo + (hi - lo) / 2;
		if (t->values[mid].value < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->nvalues || t->values[lo].value != v)
		return 0;
	const char *name = t->values[lo].name;
	uint64_t iid = w->vt_base[t - sc->valtabs] + lo + 1;
	if (seen(w, seq, w->nevents + 2 + w->ngroups + 1 + w->nkeys + iid - 1))
		return iid;
	interning_begin(in);
	n = in->d.n_debug_annotation_string_values;
	int len = snprintf(in->text[n], sizeof in->text[n], "%s (0x%" PRIx64 ")", name, v);
	in->str[n] = (Perfetto__Protos__InternedString)PERFETTO__PROTOS__INTERNED_STRING__INIT;
	in->str[n].has_iid = 1;
	in->str[n].iid = iid;
	in->str[n].has_str = 1;
	in->str[n].str.data = (uint8_t *)in->text[n];
	in->str[n].str.len = len < (int)sizeof in->text[n] ? (size_t)len : sizeof in->text[n] - 1;
	in->strs[n] = &in->str[n];
	in->d.n_debug_annotation_string_values = n + 1;
	return iid;
}

static int interned_any(const interning *in)
{
	return in->used;
}

/* ---- instants and counters -------------------------------------------------- */

/* One debug annotation: its key's iid and its value, kind being the
 * protobuf-c value case (BOOL, UINT, POINTER, STRING, STRING_VALUE_IID). */
typedef struct arg {
	uint32_t key;
	Perfetto__Protos__DebugAnnotation__ValueCase kind;
	uint64_t v;
	const char *s; /* STRING */
} arg;

#define V(x) PERFETTO__PROTOS__DEBUG_ANNOTATION__VALUE_##x

/* ---- the packer of instants and counters ----------------------------------
 * protobuf-c packs by walking descriptors and needs its message structs
 * filled first, several times slower than the rest of a conversion; an
 * instant without interned data and a counter value, nearly every packet,
 * are packed here straight into the buffer instead, field by field in
 * ascending number as protobuf-c does, into the same bytes
 * (tests/perfetto_ref.c compares the two on whole traces).  Every other
 * packet goes through protobuf-c. */
static size_t vlen(uint64_t v)
{
	size_t n = 1;

	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *vput(uint8_t *d, uint64_t v)
{
	while (v > 0x7f) {
		*d++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*d++ = (uint8_t)v;
	return d;
}

static size_t arg_size(const arg *a)
{
	size_t n = 1 + vlen(a->key);

	switch (a->kind) {
	case V(BOOL_VALUE):
		return n + 2;
	case V(STRING_VALUE_IID):
		return n + 2 + vlen(a->v);
	case V(STRING_VALUE):
		return n + 1 + vlen(a->v) + a->v; /* v: the string's length */
	default:
		return n + 1 + vlen(a->v);
	}
}

static uint8_t *arg_put(uint8_t *d, const arg *a)
{
	/* tags: 1 name_iid, 2 bool_value, 3 uint_value, 6 string_value,
	 * 7 pointer_value, 17 string_value_iid (two bytes) */
	*d++ = 0x08;
	d = vput(d, a->key);
	switch (a->kind) {
	case V(BOOL_VALUE):
		*d++ = 0x10;
		*d++ = a->v != 0;
		return d;
	case V(UINT_VALUE):
		*d++ = 0x18;
		return vput(d, a->v);
	case V(POINTER_VALUE):
		*d++ = 0x38;
		return vput(d, a->v);
	case V(STRING_VALUE_IID):
		*d++ = 0x88;
		*d++ = 0x01;
		return vput(d, a->v);
	default: /* STRING_VALUE */
		*d++ = 0x32;
		d = vput(d, a->v);
		memcpy(d, a->s, a->v);
		return d + a->v;
	}
}

/* Room for n more bytes in the buffer, or NULL (after a failure). */
static uint8_t *room(hvlog_perfetto *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (n > w->cap - w->len)
		drain(w);
	return w->failed || n > w->cap - w->len ? NULL : w->buf + w->len;
}

/* The packet's own timestamp fields (8, and 58 after the rest). */
typedef struct stamp {
	uint64_t ts;
	uint32_t clock; /* 0: the sequence's default */
} stamp;

/* TracePacket{timestamp, trusted_packet_sequence_id, track_event{te},
 * sequence_flags?, timestamp_clock_id?} around a TrackEvent of te_len
 * bytes that put_te writes; the packet's size must fit the buffer. */
static uint8_t *packet_head(hvlog_perfetto *w, stamp t, uint32_t seq, size_t te_len, int flags, size_t *total)
{
	size_t n = 1 + vlen(t.ts) + 1 + vlen(seq) + 1 + vlen(te_len) + te_len + (flags ? 2 : 0) +
		   (t.clock ? 2 + vlen(t.clock) : 0);
	uint8_t *d = room(w, n + 11);

	if (!d)
		return NULL;
	*total = n;
	*d++ = 0x0a; /* Trace.packet */
	d = vput(d, n);
	*d++ = 0x40; /* 8: timestamp */
	d = vput(d, t.ts);
	*d++ = 0x50; /* 10: trusted_packet_sequence_id */
	d = vput(d, seq);
	*d++ = 0x5a; /* 11: track_event */
	return vput(d, te_len);
}

static void packet_tail(hvlog_perfetto *w, uint8_t *d, stamp t, int flags, size_t total)
{
	if (flags) {
		*d++ = 0x68; /* 13: sequence_flags */
		*d++ = PERFETTO__PROTOS__TRACE_PACKET__SEQUENCE_FLAGS__SEQ_NEEDS_INCREMENTAL_STATE;
	}
	if (t.clock) {
		*d++ = 0xd0; /* 58: timestamp_clock_id */
		*d++ = 0x03;
		d = vput(d, t.clock);
	}
	w->bytes += 1 + vlen(total) + total;
	w->packets++;
	w->len = (size_t)(d - w->buf);
}

/* -1 if the packet is too large for the buffer (protobuf-c's packer
 * takes it then). */
static int put_instant(hvlog_perfetto *w, stamp t, uint32_t seq, uint64_t track, uint32_t name_iid, uint32_t cat_iid,
		       const arg *a, size_t n)
{
	size_t sz[HVLOG_MAX_PARAMS + NOWN_KEYS], te = 1 + vlen(cat_iid) + 2 + 1 + vlen(name_iid), total;
	uint8_t *d;

	for (size_t i = 0; i < n; i++) {
		sz[i] = arg_size(&a[i]);
		te += 1 + vlen(sz[i]) + sz[i];
	}
	if (track)
		te += 1 + vlen(track);
	if (te + 64 > w->cap)
		return -1;
	if (!(d = packet_head(w, t, seq, te, 1, &total)))
		return 0;
	*d++ = 0x18; /* 3: category_iids */
	d = vput(d, cat_iid);
	for (size_t i = 0; i < n; i++) {
		*d++ = 0x22; /* 4: debug_annotations */
		d = vput(d, sz[i]);
		d = arg_put(d, &a[i]);
	}
	*d++ = 0x48; /* 9: type */
	*d++ = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT;
	*d++ = 0x50; /* 10: name_iid */
	d = vput(d, name_iid);
	if (track) {
		*d++ = 0x58; /* 11: track_uuid */
		d = vput(d, track);
	}
	packet_tail(w, d, t, 1, total);
	return 0;
}

static void put_counter(hvlog_perfetto *w, stamp t, uint32_t seq, uint64_t track, int64_t v)
{
	size_t te = 2 + 1 + vlen(track) + 2 + vlen((uint64_t)v), total;
	uint8_t *d = packet_head(w, t, seq, te, 0, &total);

	if (!d)
		return;
	*d++ = 0x48; /* 9: type */
	*d++ = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_COUNTER;
	*d++ = 0x58; /* 11: track_uuid */
	d = vput(d, track);
	*d++ = 0xf0; /* 30: counter_value */
	*d++ = 0x01;
	d = vput(d, (uint64_t)v);
	packet_tail(w, d, t, 0, total);
}

/* ---- the same packets through protobuf-c -------------------------------------- */

static void packet_init(Packet *p, TrackEvent *te, stamp t, uint32_t seq)
{
	p->has_timestamp = 1;
	p->timestamp = t.ts;
	p->has_timestamp_clock_id = t.clock != 0;
	p->timestamp_clock_id = t.clock;
	on_sequence(p, seq);
	p->data_case = PERFETTO__PROTOS__TRACE_PACKET__DATA_TRACK_EVENT;
	p->track_event = te;
}

static void pack_instant(hvlog_perfetto *w, stamp t, uint32_t seq, uint64_t track, uint32_t name_iid, uint64_t cat_iid,
			 const arg *a, size_t n, interning *in)
{
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	TrackEvent te = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	Annotation an[HVLOG_MAX_PARAMS + NOWN_KEYS], *ap[HVLOG_MAX_PARAMS + NOWN_KEYS];

	for (size_t i = 0; i < n; i++) {
		an[i] = (Annotation)PERFETTO__PROTOS__DEBUG_ANNOTATION__INIT;
		an[i].name_field_case = PERFETTO__PROTOS__DEBUG_ANNOTATION__NAME_FIELD_NAME_IID;
		an[i].name_iid = a[i].key;
		an[i].value_case = a[i].kind;
		switch (a[i].kind) {
		case V(BOOL_VALUE):
			an[i].bool_value = a[i].v != 0;
			break;
		case V(UINT_VALUE):
			an[i].uint_value = a[i].v;
			break;
		case V(POINTER_VALUE):
			an[i].pointer_value = a[i].v;
			break;
		case V(STRING_VALUE_IID):
			an[i].string_value_iid = a[i].v;
			break;
		default:
			an[i].string_value = (char *)a[i].s;
			break;
		}
		ap[i] = &an[i];
	}
	packet_init(&p, &te, t, seq);
	p.has_sequence_flags = 1;
	p.sequence_flags = PERFETTO__PROTOS__TRACE_PACKET__SEQUENCE_FLAGS__SEQ_NEEDS_INCREMENTAL_STATE;
	if (interned_any(in))
		p.interned_data = &in->d;
	te.has_type = 1;
	te.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT;
	te.has_track_uuid = track != 0;
	te.track_uuid = track;
	te.name_field_case = PERFETTO__PROTOS__TRACK_EVENT__NAME_FIELD_NAME_IID;
	te.name_iid = name_iid;
	te.n_category_iids = 1;
	te.category_iids = &cat_iid;
	te.n_debug_annotations = n;
	te.debug_annotations = ap;
	emit(w, &p);
}

/* An instant on sequence seq (its default track unless track != 0): on
 * a stream's sequence its time is a delta of the incremental clock. */
static void instant(hvlog_perfetto *w, uint32_t seq, uint64_t track, uint64_t ns, uint32_t name_iid, uint32_t cat_iid,
		    const arg *a, size_t n, interning *in)
{
	stamp t = { ns, 0 };

	if (seq != SEQ_GLOBAL) {
		uint64_t *last = &w->last_ns[seq - SEQ_STREAM(0)];
		if (ns >= *last) {
			t.ts = ns - *last;
			*last = ns;
		} else { /* time went back (damage): this one in BOOTTIME */
			t.clock = CLOCK_BOOTTIME;
		}
	}
	if (w->reference || interned_any(in) || put_instant(w, t, seq, track, name_iid, cat_iid, a, n) != 0)
		pack_instant(w, t, seq, track, name_iid, cat_iid, a, n, in);
}

/* A counter value, in BOOTTIME on a stream's sequence (it comes a bin
 * late, before the clock's current value). */
static void counter_value(hvlog_perfetto *w, uint32_t seq, uint64_t track, uint64_t ns, int64_t v)
{
	stamp t = { ns, seq != SEQ_GLOBAL ? CLOCK_BOOTTIME : 0 };
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	TrackEvent te = PERFETTO__PROTOS__TRACK_EVENT__INIT;

	if (!w->reference) {
		put_counter(w, t, seq, track, v);
		return;
	}
	packet_init(&p, &te, t, seq);
	te.has_type = 1;
	te.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_COUNTER;
	te.has_track_uuid = 1;
	te.track_uuid = track;
	te.counter_value_field_case = PERFETTO__PROTOS__TRACK_EVENT__COUNTER_VALUE_FIELD_COUNTER_VALUE;
	te.counter_value = v;
	emit(w, &p);
}

/* The rate of a finished bin at its start, and a zero after it when the
 * next bin with items is not the next one. */
static void counter_flush(hvlog_perfetto *w, counter *c, uint32_t seq, uint64_t track, uint64_t next_bin)
{
	double per_s = 1e9 / (double)w->bin_ns;

	if (c->bin == UINT64_MAX)
		return;
	counter_value(w, seq, track, c->bin * w->bin_ns, (int64_t)((double)c->count * per_s + 0.5));
	if (next_bin != c->bin + 1)
		counter_value(w, seq, track, (c->bin + 1) * w->bin_ns, 0);
}

static void counter_add(hvlog_perfetto *w, counter *c, uint32_t seq, uint64_t track, uint64_t ns)
{
	if (ns >= c->lo && ns < c->hi) {
		c->count++;
		return;
	}
	uint64_t b = ns / w->bin_ns;
	if (c->bin == b) { /* (the last bin, whose end does not fit) */
		c->count++;
		return;
	}
	if (c->bin != UINT64_MAX && b < c->bin)
		return; /* time went back (the reader orders by time; damage aside): counted in the current bin */
	counter_flush(w, c, seq, track, b);
	c->bin = b;
	c->count = 1;
	c->lo = b * w->bin_ns;
	c->hi = c->lo + w->bin_ns > c->lo ? c->lo + w->bin_ns : UINT64_MAX;
}

static void event(hvlog_perfetto *w, const hvlog_item *it)
{
	const hvlog_event *ev = it->event;
	uint32_t s = it->stream < w->m->nstreams ? it->stream : UINT32_MAX;
	uint32_t seq = s != UINT32_MAX ? SEQ_STREAM(s) : SEQ_GLOBAL;
	uint32_t ei = (uint32_t)(ev - w->m->schema->events);
	uint64_t ns = ns_of(w, it->ts);
	arg a[HVLOG_MAX_PARAMS];
	char text[HVLOG_MAX_PARAMS][HVLOG_MAX_NAME + 24];
	uint32_t n = ev->nparams < HVLOG_MAX_PARAMS ? ev->nparams : HVLOG_MAX_PARAMS;
	interning in;

	uint8_t *ready = &w->ev_ready[(size_t)(seq - 1) * w->nevents + ei];

	in.used = 0;
	if (!*ready) {
		*ready = 1;
		intern_name(w, &in, seq, ei + 1, w->short_sym[ei]);
		intern_cat(w, &in, seq, ev->group + 1,
			   ev->group < w->ngroups ? w->m->schema->groups[ev->group].alias : "?");
		for (uint32_t i = 0; i < n; i++)
			intern_key(w, &in, seq, w->slot_key[ev->slot + i]);
	}
	for (uint32_t i = 0; i < n; i++) {
		const hvlog_param *p = &ev->params[i];
		uint64_t v = it->values[i], viid;
		const char *name = NULL;
		a[i].key = w->slot_key[ev->slot + i];
		a[i].v = v;
		if (p->values && (viid = intern_value(w, &in, seq, p->values, v))) {
			a[i].kind = V(STRING_VALUE_IID);
			a[i].v = viid;
		} else if (p->values && (name = hvlog_valtab_name(p->values, v))) {
			int len = snprintf(text[i], sizeof text[i], "%s (0x%" PRIx64 ")", name, v);
			a[i].kind = V(STRING_VALUE);
			a[i].s = text[i];
			a[i].v = len < (int)sizeof text[i] ? (uint64_t)len : sizeof text[i] - 1;
		} else if (p->display == HVLOG_DISPLAY_BOOL || p->type == HVLOG_TYPE_BOOL) {
			a[i].kind = V(BOOL_VALUE);
		} else if (p->display == HVLOG_DISPLAY_DEC) {
			a[i].kind = V(UINT_VALUE);
		} else {
			a[i].kind = V(POINTER_VALUE);
		}
	}
	instant(w, seq, s != UINT32_MAX ? 0 : UUID(K_DAMAGE, 0), ns, ei + 1, ev->group + 1, a, n, &in);
	if (s != UINT32_MAX)
		counter_add(w, &w->stream_ctr[s], seq, UUID(K_STREAM_COUNTER, s), ns);
	if (ev->group < w->ngroups)
		counter_add(w, &w->group_ctr[ev->group], SEQ_GLOBAL, UUID(K_GROUP_COUNTER, ev->group), ns);
}

/* LOST or DAMAGE (name iid nevents + 1 or + 2, category "hvlog"): the
 * values of own keys k0.. as unsigned annotations, then msg if not NULL
 * as the string of KEY_MESSAGE. */
static void own_instant(hvlog_perfetto *w, uint32_t seq, uint64_t track, uint64_t ts, uint32_t which,
			int k0, const uint64_t *v, size_t nv, const char *msg)
{
	arg a[NOWN_KEYS];
	size_t n = 0;
	interning in;

	in.used = 0;
	intern_name(w, &in, seq, w->nevents + which, which == 1 ? "LOST" : "DAMAGE");
	intern_cat(w, &in, seq, w->ngroups + 1, "hvlog");
	for (; n < nv; n++) {
		a[n] = (arg){ w->own_key[k0 + n], V(UINT_VALUE), v[n], NULL };
		intern_key(w, &in, seq, a[n].key);
	}
	if (msg) {
		a[n] = (arg){ w->own_key[KEY_MESSAGE], V(STRING_VALUE), strlen(msg), msg };
		intern_key(w, &in, seq, a[n++].key);
	}
	instant(w, seq, track, ns_of(w, ts), w->nevents + which, w->ngroups + 1, a, n, &in);
}

static void lost(hvlog_perfetto *w, const hvlog_item *it)
{
	uint64_t v[3] = { it->lost_count, ns_of(w, it->lost_first_ts), ns_of(w, it->lost_last_ts) };

	if (it->stream < w->m->nstreams)
		own_instant(w, SEQ_STREAM(it->stream), 0, it->ts, 1, KEY_COUNT, v, 3, NULL);
	else
		own_instant(w, SEQ_GLOBAL, UUID(K_DAMAGE, 0), it->ts, 1, KEY_COUNT, v, 3, NULL);
}

static void damage(hvlog_perfetto *w, const hvlog_item *it)
{
	uint64_t v[3] = { it->offset, it->damage_len, it->damage_events };

	own_instant(w, SEQ_GLOBAL, UUID(K_DAMAGE, 0), it->ts, 2, KEY_OFFSET, v, 3,
		    it->damage_msg ? it->damage_msg : "");
}

/* ---- the writer -------------------------------------------------------------- */

/* Key iids: one per distinct parameter key of the schema, then hvlog's own
 * (a key already in the schema keeps its iid). */
static int build_keys(hvlog_perfetto *w)
{
	const hvlog_schema *sc = w->m->schema;

	w->slot_key = malloc(((size_t)sc->nslots + 1) * sizeof *w->slot_key);
	w->keys = malloc(((size_t)sc->nslots + NOWN_KEYS) * sizeof *w->keys);
	if (!w->slot_key || !w->keys)
		return -1;
	for (uint32_t e = 0; e < sc->nevents; e++)
		for (uint32_t i = 0; i < sc->events[e].nparams; i++) {
			const char *k = sc->events[e].params[i].key;
			uint32_t j = 0;
			while (j < w->nkeys && strcmp(w->keys[j], k))
				j++;
			if (j == w->nkeys)
				w->keys[w->nkeys++] = k;
			if (sc->events[e].slot + i < sc->nslots)
				w->slot_key[sc->events[e].slot + i] = j + 1;
		}
	for (uint32_t o = 0; o < NOWN_KEYS; o++) {
		uint32_t j = 0;
		while (j < w->nkeys && strcmp(w->keys[j], own_keys[o]))
			j++;
		if (j == w->nkeys)
			w->keys[w->nkeys++] = own_keys[o];
		w->own_key[o] = j + 1;
	}
	return 0;
}

hvlog_status hvlog_perfetto_open(hvlog_perfetto **out, const hvlog_meta *m, const hvlog_perfetto_config *cfg,
				 hvlog_sink_fn sink, void *user, hvlog_error *err)
{
	hvlog_perfetto *w;

	*out = NULL;
	if (!m || !m->schema || !sink || (m->nstreams && !m->streams))
		return fail(err, HVLOG_INVALID, 0, "hvlog_perfetto_open: no metadata or no sink");
	if (!(w = calloc(1, sizeof *w)))
		return fail(err, HVLOG_NOMEM, 0, "out of memory");
	w->m = m;
	w->sink = sink;
	w->user = user;
	w->t0 = cfg ? cfg->t0 : 0;
	w->bin_ns = cfg && cfg->bin_ns ? cfg->bin_ns : 1000000;
	w->reference = cfg ? cfg->reference_packer : 0;
	w->nevents = m->schema->nevents;
	w->ngroups = m->schema->ngroups;
	w->nseq = m->nstreams + 1;
	w->cap = BUF_CAP;
	if (build_keys(w) != 0)
		goto nomem;
	if (!(w->vt_base = malloc(((size_t)m->schema->nvaltabs + 1) * sizeof *w->vt_base)))
		goto nomem;
	for (uint32_t t = 0; t < m->schema->nvaltabs; t++) {
		w->vt_base[t] = w->nvalues;
		w->nvalues += m->schema->valtabs[t].nvalues;
	}
	w->known_stride = (size_t)w->nevents + 2 + w->ngroups + 1 + w->nkeys + w->nvalues;
	w->known = calloc(w->nseq, w->known_stride);
	w->process_uuid = calloc((size_t)m->nstreams + 1, sizeof *w->process_uuid);
	w->stream_ctr = malloc(((size_t)m->nstreams + 1) * sizeof *w->stream_ctr);
	w->group_ctr = malloc(((size_t)w->ngroups + 1) * sizeof *w->group_ctr);
	w->buf = malloc(w->cap);
	w->last_ns = calloc((size_t)m->nstreams + 1, sizeof *w->last_ns);
	w->ev_ready = calloc(w->nseq, (size_t)w->nevents + 1);
	w->short_sym = malloc(((size_t)w->nevents + 1) * sizeof *w->short_sym);
	if (!w->ev_ready || !w->short_sym)
		goto nomem;
	for (uint32_t e = 0; e < w->nevents; e++) {
		const char *sym = m->schema->events[e].symbol;
		w->short_sym[e] = strncmp(sym, "HV_TR_", 6) ? sym : sym + 6;
	}
	if (!w->last_ns || !w->known || !w->process_uuid || !w->stream_ctr || !w->group_ctr || !w->buf)
		goto nomem;
	for (uint32_t s = 0; s < m->nstreams; s++)
		w->stream_ctr[s] = (counter){ UINT64_MAX, 0, 0, 0 };
	for (uint32_t g = 0; g < w->ngroups; g++)
		w->group_ctr[g] = (counter){ UINT64_MAX, 0, 0, 0 };
	if (descriptors(w) != 0)
		goto nomem;
	sequence_starts(w);
	if (w->failed) {
		hvlog_status st = fail(err, w->failed, w->failed_errno, "writing the Perfetto trace failed");
		hvlog_perfetto_close(w, NULL);
		return st;
	}
	*out = w;
	return HVLOG_OK;
nomem:
	hvlog_perfetto_close(w, NULL);
	return fail(err, HVLOG_NOMEM, 0, "out of memory");
}

hvlog_status hvlog_perfetto_item(hvlog_perfetto *w, const hvlog_item *it, hvlog_error *err)
{
	if (!w || !it)
		return fail(err, HVLOG_INVALID, 0, "hvlog_perfetto_item: no writer or no item");
	switch (it->kind) {
	case HVLOG_ITEM_EVENT:
		event(w, it);
		break;
	case HVLOG_ITEM_LOST:
		lost(w, it);
		break;
	case HVLOG_ITEM_DAMAGE:
		damage(w, it);
		break;
	}
	if (w->failed)
		return fail(err, w->failed, w->failed_errno, "writing the Perfetto trace failed");
	return HVLOG_OK;
}

hvlog_status hvlog_perfetto_close(hvlog_perfetto *w, hvlog_error *err)
{
	hvlog_status st;

	if (!w)
		return HVLOG_OK;
	if (w->buf && w->stream_ctr && w->group_ctr && w->process_uuid) {
		for (uint32_t s = 0; s < w->m->nstreams; s++)
			counter_flush(w, &w->stream_ctr[s], SEQ_STREAM(s), UUID(K_STREAM_COUNTER, s), UINT64_MAX);
		for (uint32_t g = 0; g < w->ngroups; g++)
			counter_flush(w, &w->group_ctr[g], SEQ_GLOBAL, UUID(K_GROUP_COUNTER, g), UINT64_MAX);
		drain(w);
	}
	st = w->failed ? fail(err, w->failed, w->failed_errno, "writing the Perfetto trace failed") : HVLOG_OK;
	free(w->slot_key);
	free(w->keys);
	free(w->known);
	free(w->vt_base);
	free(w->last_ns);
	free(w->ev_ready);
	free(w->short_sym);
	free(w->process_uuid);
	free(w->stream_ctr);
	free(w->group_ctr);
	free(w->buf);
	free(w->scratch);
	free(w);
	return st;
}

void hvlog_perfetto_counts(const hvlog_perfetto *w, uint64_t *bytes, uint64_t *packets)
{
	if (bytes)
		*bytes = w ? w->bytes : 0;
	if (packets)
		*packets = w ? w->packets : 0;
}
