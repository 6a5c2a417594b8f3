/*
 * meta.c - the metadata block: CBOR (RFC 8949) through libcbor, and the
 * schema from any document tree (hvlog_schema_from_doc).
 *
 * The writer embeds the full schema, the clock, the producer and the
 * streams, so a reader needs nothing but the file.  Layout: docs/FORMAT.md,
 * "Metadata".  Unknown keys are ignored (newer minor versions may add some).
 */
#include <cbor.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "internal.h"
#include "wire.h"

/* ---- encoding ---------------------------------------------------------- */

/* Adds key -> val to map, taking val's reference; false (and val freed)
 * on any failure, so callers can chain with &&. */
static bool put(cbor_item_t *map, const char *key, cbor_item_t *val)
{
	cbor_item_t *k = cbor_build_string(key);
	bool ok = k && val && cbor_map_add(map, (struct cbor_pair){ .key = k, .value = val });

	if (k)
		cbor_decref(&k);
	if (val)
		cbor_decref(&val);
	return ok;
}

static bool push(cbor_item_t *arr, cbor_item_t *val)
{
	bool ok = val && cbor_array_push(arr, val);

	if (val)
		cbor_decref(&val);
	return ok;
}

static cbor_item_t *str(const char *s)
{
	return cbor_build_string(s ? s : "");
}

/* The schema map, built through hvlog_meta_walk (the walk the meta item
 * of the JSON and CBOR formatters and `hvlog events` take): each list's
 * entries go into its array, each value table's values and each event's
 * parameters into the entry's own. */
struct enc {
	const hvlog_schema *s;
	cbor_item_t *m, *list, *entry, *sub;
	bool ok;
};

static void enc_list(void *ctx, unsigned list, uint32_t n)
{
	struct enc *e = ctx;
	(void)list;
	e->ok = e->ok && (e->list = cbor_new_definite_array(n));
}

static void enc_list_end(void *ctx, unsigned list)
{
	struct enc *e = ctx;
	const char *key = list == HVLOG_LIST_GROUPS ? "groups" : list == HVLOG_LIST_VALTABS ? "valtabs" : "events";

	e->ok = put(e->m, key, e->list) && e->ok;
	e->list = NULL;
}

static void enc_group(void *ctx, uint32_t i, const hvlog_group *g)
{
	struct enc *e = ctx;
	cbor_item_t *gm = e->ok ? cbor_new_definite_map(3) : NULL;
	(void)i;
	e->ok = gm && put(gm, "alias", str(g->alias)) && put(gm, "name", str(g->name)) &&
		put(gm, "mask", cbor_build_uint64(g->mask));
	e->ok = push(e->list, gm) && e->ok;
}

/* An entry with a sub-array (a table's values, an event's params): the
 * entry map is begun here and ends in enc_entry_end. */
static void enc_entry(struct enc *e, size_t pairs, size_t n)
{
	e->entry = e->ok ? cbor_new_definite_map(pairs) : NULL;
	e->sub = e->ok ? cbor_new_definite_array(n) : NULL;
	e->ok = e->entry && e->sub;
}

static void enc_entry_end(struct enc *e, const char *key)
{
	if (e->sub)
		e->ok = put(e->entry, key, e->sub) && e->ok;
	if (e->entry)
		e->ok = push(e->list, e->entry) && e->ok;
	e->entry = e->sub = NULL;
}

static void enc_valtab(void *ctx, uint32_t i, const hvlog_valtab *t)
{
	struct enc *e = ctx;
	(void)i;
	enc_entry(e, 2, t->nvalues);
	e->ok = e->ok && put(e->entry, "alias", str(t->alias));
}

static void enc_value(void *ctx, const hvlog_valtab *t, const hvlog_value_name *v)
{
	struct enc *e = ctx;
	cbor_item_t *pair = e->ok ? cbor_new_definite_array(2) : NULL;
	(void)t;
	e->ok = pair && push(pair, cbor_build_uint64(v->value)) && push(pair, str(v->name));
	e->ok = push(e->sub, pair) && e->ok;
}

static void enc_valtab_end(void *ctx, const hvlog_valtab *t)
{
	(void)t;
	enc_entry_end(ctx, "values");
}

static void enc_event(void *ctx, uint32_t i, const hvlog_event *ev)
{
	struct enc *e = ctx;
	(void)i;
	enc_entry(e, 5, ev->nparams);
	e->ok = e->ok && put(e->entry, "number", cbor_build_uint32(ev->number)) &&
		put(e->entry, "symbol", str(ev->symbol)) && put(e->entry, "description", str(ev->description)) &&
		put(e->entry, "group", cbor_build_uint32(ev->group));
}

static void enc_param(void *ctx, const hvlog_event *ev, uint32_t i, const hvlog_param *p)
{
	struct enc *e = ctx;
	cbor_item_t *pm = e->ok ? cbor_new_definite_map(5u + (p->values != NULL) + (p->role != HVLOG_ROLE_NONE))
				: NULL;
	(void)ev;
	(void)i;
	e->ok = pm && put(pm, "key", str(p->key)) && put(pm, "name", str(p->name)) &&
		put(pm, "type", str(hvlog_type_name(p->type))) &&
		put(pm, "display", str(hvlog_display_name(p->display))) &&
		put(pm, "coding", str(hvlog_coding_name(p->coding))) &&
		(!p->values || put(pm, "values", cbor_build_uint32((uint32_t)(p->values - e->s->valtabs)))) &&
		(p->role == HVLOG_ROLE_NONE || put(pm, "role", str(hvlog_role_name(p->role))));
	e->ok = push(e->sub, pm) && e->ok;
}

static void enc_event_end(void *ctx, const hvlog_event *ev)
{
	(void)ev;
	enc_entry_end(ctx, "params");
}

static const hvlog_meta_visitor enc_visitor = {
	.list = enc_list, .list_end = enc_list_end, .group = enc_group, .valtab = enc_valtab,
	.value = enc_value, .valtab_end = enc_valtab_end, .event = enc_event, .param = enc_param,
	.event_end = enc_event_end,
};

static cbor_item_t *encode_schema(const hvlog_schema *s)
{
	struct enc e = { s, cbor_new_definite_map(5), NULL, NULL, NULL, false };

	e.ok = e.m && put(e.m, "name", str(s->name)) && put(e.m, "version", cbor_build_uint32(s->version));
	hvlog_meta_walk(NULL, s, HVLOG_LIST_GROUPS | HVLOG_LIST_VALTABS | HVLOG_LIST_EVENTS, &enc_visitor, &e);
	if (!e.ok && e.m)
		cbor_decref(&e.m);
	return e.ok ? e.m : NULL;
}

/* Stream i's map in the streams array; NULL: out of memory. */
static cbor_item_t *encode_stream(uint32_t i, const hvlog_stream_info *si)
{
	cbor_item_t *sm = cbor_new_definite_map(4);

	if (sm && !(put(sm, "id", cbor_build_uint32(i)) && put(sm, "name", str(si->name)) &&
		    put(sm, "partition", cbor_build_uint64(si->partition_id)) &&
		    put(sm, "vp", cbor_build_uint32(si->vp_index))))
		cbor_decref(&sm);
	return sm;
}

hvlog_writer_config hvlog_writer_config_from_meta(const hvlog_meta *m)
{
	/* what the metadata says of the data; the writing parameters stay 0 */
	hvlog_writer_config c = { .schema = m->schema, .nstreams = m->nstreams, .streams = m->streams };

	c.clock_hz = m->clock_hz;
	c.clock_name = m->clock_name;
	c.clock_epoch_ns = m->clock_epoch_ns;
	c.producer = m->producer;
	c.props = m->props;
	c.nprops = m->nprops;
	return c;
}

uint64_t hvlog_meta_streams_size(const hvlog_stream_info *streams, uint32_t n)
{
	unsigned char head[9];
	uint64_t total = cbor_encode_array_start(n, head, sizeof head);

	for (uint32_t i = 0; i < n; i++) {
		hvlog_stream_info si = streams ? streams[i] : (hvlog_stream_info){ NULL, 0, UINT32_MAX };
		char name[24];
		unsigned char *buf = NULL;
		size_t cap = 0, len = 0;

		if (!si.name) { /* as the writer names it */
			snprintf(name, sizeof name, "stream%u", i);
			si.name = name;
		}
		cbor_item_t *sm = encode_stream(i, &si);
		if (sm) {
			len = cbor_serialize_alloc(sm, &buf, &cap);
			cbor_decref(&sm);
		}
		free(buf);
		if (!len)
			return UINT64_MAX;
		total += len;
	}
	return total;
}

hvlog_status hvlog__meta_encode(const hvlog__meta_in *in, uint8_t **out, size_t *len)
{
	cbor_item_t *root = cbor_new_definite_map(5u + (in->nprops != 0) + (in->flush_interval_ns != 0));
	cbor_item_t *props = in->nprops ? cbor_new_definite_map(in->nprops) : NULL;
	cbor_item_t *clock = cbor_new_definite_map(3);
	cbor_item_t *streams = cbor_new_definite_array(in->nstreams);
	cbor_item_t *epoch = in->clock_epoch_ns >= 0 ? cbor_build_uint64((uint64_t)in->clock_epoch_ns)
						     : cbor_build_negint64((uint64_t)(-(in->clock_epoch_ns + 1)));
	unsigned char *buf = NULL;
	size_t cap = 0;
	bool ok = root && clock && streams && (props || !in->nprops);

	for (uint32_t i = 0; ok && i < in->nprops; i++) {
		cbor_item_t *k = str(in->props[i].key), *v = str(in->props[i].value);
		ok = k && v && cbor_map_add(props, (struct cbor_pair){ .key = k, .value = v });
		if (k)
			cbor_decref(&k);
		if (v)
			cbor_decref(&v);
	}
	ok = ok && put(clock, "name", str(in->clock_name)) && put(clock, "hz", cbor_build_uint64(in->clock_hz)) &&
	     put(clock, "epoch_ns", epoch);
	for (uint32_t i = 0; ok && i < in->nstreams; i++)
		ok = push(streams, encode_stream(i, &in->streams[i]));
	ok = ok && put(root, "format", str("hvlog")) && put(root, "producer", str(in->producer));
	ok = put(root, "clock", clock) && ok;
	ok = put(root, "streams", streams) && ok;
	ok = ok && put(root, "schema", encode_schema(in->schema));
	if (props)
		ok = put(root, "props", props) && ok;
	if (in->flush_interval_ns)
		ok = ok && put(root, "flush_ns", cbor_build_uint64(in->flush_interval_ns));
	if (ok)
		*len = cbor_serialize_alloc(root, &buf, &cap);
	if (root)
		cbor_decref(&root);
	if (!ok || !buf || !*len) {
		free(buf);
		return HVLOG_NOMEM;
	}
	*out = buf;
	return HVLOG_OK;
}

/* ---- decoding ---------------------------------------------------------- */

/* Everything a decoded metadata block owns, freed at once. */
struct hvlog__meta_store {
	void **blocks;
	size_t n, cap;
};

static void *store_alloc(hvlog__meta_store *st, size_t size)
{
	void *p;

	if (st->n == st->cap) {
		size_t nc = st->cap ? 2 * st->cap : 64;
		void **nb = realloc(st->blocks, nc * sizeof *nb);
		if (!nb)
			return NULL;
		st->blocks = nb;
		st->cap = nc;
	}
	p = calloc(1, size ? size : 1);
	if (p)
		st->blocks[st->n++] = p;
	return p;
}

static void *fmt_alloc(void *st, size_t size)
{
	return store_alloc(st, size);
}

void hvlog__meta_free(hvlog__meta_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		free(st->blocks[i]);
	free(st->blocks);
	free(st);
}

/* ---- reading a document: the schema from any tree, the rest from CBOR ----
 *
 * Everything is read through hvlog_doc_ops, so the schema comes out of
 * the file's CBOR (below) and out of `hvlog convert --from json|cbor`'s
 * meta item (whatever parsed it) by the same code, with the same caps. */
struct dec {
	const hvlog_doc_ops *ops;
	void *ctx;
	hvlog_error *err;
	uint64_t off;
	hvlog_status status;
};

static bool bad(struct dec *d, hvlog_status st, const char *what, const char *why)
{
	if (d->status == HVLOG_OK) {
		d->status = st;
		hvlog__fail(d->err, st, d->off, "metadata: %s %s", what, why);
	}
	return false;
}

static const void *get(struct dec *d, const void *map, const char *key)
{
	return map ? d->ops->get(d->ctx, map, key) : NULL;
}

static void *alloc(struct dec *d, size_t size, const char *what)
{
	void *p = d->ops->alloc(d->ctx, size);

	if (!p)
		bad(d, HVLOG_NOMEM, what, "could not be stored");
	return p;
}

static bool get_uint(struct dec *d, const void *map, const char *key, uint64_t max, uint64_t *out)
{
	const void *v = get(d, map, key);

	if (!v)
		return bad(d, HVLOG_MALFORMED, key, "is missing");
	if (d->ops->uint(d->ctx, v, out) != 0)
		return bad(d, HVLOG_MALFORMED, key, "is not an unsigned integer");
	if (*out > max)
		return bad(d, HVLOG_LIMIT, key, "is out of range");
	return true;
}

/* A NUL-terminated copy of text v (at most maxlen <= HVLOG_MAX_PROP_VALUE bytes). */
static bool copy_str(struct dec *d, const void *v, const char *key, size_t maxlen, const char **out)
{
	char buf[HVLOG_MAX_PROP_VALUE + 1];
	long n = d->ops->str(d->ctx, v, buf, maxlen + 1);
	char *s;

	if (n == -2)
		return bad(d, HVLOG_MALFORMED, key, "is not valid text (a NUL byte, or not UTF-8)");
	if (n < 0)
		return bad(d, HVLOG_MALFORMED, key, "is not a text string");
	if ((size_t)n > maxlen)
		return bad(d, HVLOG_LIMIT, key, "is too long");
	if (!(s = alloc(d, (size_t)n + 1, key)))
		return false;
	memcpy(s, buf, (size_t)n);
	*out = s;
	return true;
}

/* A copy of text `key` of map. */
static bool get_str(struct dec *d, const void *map, const char *key, size_t maxlen, const char **out)
{
	const void *v = get(d, map, key);

	if (!v)
		return bad(d, HVLOG_MALFORMED, key, "is missing");
	return copy_str(d, v, key, maxlen, out);
}

static bool get_array(struct dec *d, const void *map, const char *key, size_t max, const void **arr, size_t *n)
{
	const void *v = get(d, map, key);
	long len = v ? d->ops->len(d->ctx, v) : -1;

	if (len < 0)
		return bad(d, HVLOG_MALFORMED, key, v ? "is not an array" : "is missing");
	if ((size_t)len > max)
		return bad(d, HVLOG_LIMIT, key, "has too many entries");
	*arr = v;
	*n = (size_t)len;
	return true;
}

static const void *at(struct dec *d, const void *arr, size_t i)
{
	return d->ops->at(d->ctx, arr, i);
}

static bool get_enum(struct dec *d, const void *map, const char *key, const char *const *names, int n, int *out)
{
	const char *s;

	if (!get_str(d, map, key, HVLOG_MAX_NAME, &s))
		return false;
	*out = hvlog__name_index(names, n, s);
	return *out >= 0 || bad(d, HVLOG_MALFORMED, key, "has an unknown value");
}

static int cmp_values(const void *a, const void *b)
{
	const hvlog_value_name *x = a, *y = b;
	return (x->value > y->value) - (x->value < y->value);
}

static bool decode_groups(struct dec *d, const void *m, hvlog_schema *s)
{
	const void *arr;
	size_t n;
	hvlog_group *groups;

	if (!get_array(d, m, "groups", WIRE_MAX_GROUPS, &arr, &n) || !(groups = alloc(d, n * sizeof *groups, "groups")))
		return false;
	for (size_t i = 0; i < n; i++) {
		const void *g = at(d, arr, i);
		if (!get_str(d, g, "alias", HVLOG_MAX_NAME, &groups[i].alias) ||
		    !get_str(d, g, "name", HVLOG_MAX_NAME, &groups[i].name) ||
		    !get_uint(d, g, "mask", UINT64_MAX, &groups[i].mask))
			return false;
	}
	s->groups = groups;
	s->ngroups = (uint32_t)n;
	return true;
}

static bool decode_valtabs(struct dec *d, const void *m, hvlog_schema *s)
{
	const void *arr, *vals;
	size_t n, nv;
	hvlog_valtab *valtabs;
	hvlog_value_name *names;

	if (!get_array(d, m, "valtabs", WIRE_MAX_VALTABS, &arr, &n) ||
	    !(valtabs = alloc(d, n * sizeof *valtabs, "valtabs")))
		return false;
	for (size_t i = 0; i < n; i++) {
		const void *t = at(d, arr, i);
		if (!get_str(d, t, "alias", HVLOG_MAX_NAME, &valtabs[i].alias) ||
		    !get_array(d, t, "values", WIRE_MAX_VALUES, &vals, &nv) ||
		    !(names = alloc(d, nv * sizeof *names, "values")))
			return false;
		for (size_t j = 0; j < nv; j++) {
			const void *pair = at(d, vals, j);
			if (d->ops->len(d->ctx, pair) != 2 || d->ops->uint(d->ctx, at(d, pair, 0), &names[j].value) != 0)
				return bad(d, HVLOG_MALFORMED, "values", "entry is not [uint, text]");
			if (!copy_str(d, at(d, pair, 1), "value name", HVLOG_MAX_NAME, &names[j].name))
				return false;
		}
		qsort(names, nv, sizeof *names, cmp_values);
		valtabs[i].values = names;
		valtabs[i].nvalues = (uint32_t)nv;
	}
	s->valtabs = valtabs;
	s->nvaltabs = (uint32_t)n;
	return true;
}

static bool decode_param(struct dec *d, const void *pm, uint32_t j, const hvlog_schema *s, hvlog_param *p)
{
	int t, f, c;
	uint64_t u;

	if (!get_str(d, pm, "key", HVLOG_MAX_NAME, &p->key) || !get_str(d, pm, "name", HVLOG_MAX_NAME, &p->name) ||
	    !get_enum(d, pm, "type", hvlog__type_names(), HVLOG_TYPE_COUNT_, &t) ||
	    !get_enum(d, pm, "display", hvlog__display_names(), HVLOG_DISPLAY_COUNT_, &f) ||
	    !get_enum(d, pm, "coding", hvlog__coding_names(), HVLOG_CODING_COUNT_, &c))
		return false;
	p->type = (hvlog_type)t;
	p->display = (hvlog_display)f;
	p->coding = (hvlog_coding)c;
	p->role = HVLOG_ROLE_NONE;
	if (get(d, pm, "role")) {
		/* optional; a role this reader does not know is none (a newer
		 * minor version may add roles) */
		const char *rn;
		if (!get_str(d, pm, "role", HVLOG_MAX_NAME, &rn))
			return false;
		int ri = hvlog__name_index(hvlog__role_names(), HVLOG_ROLE_COUNT_, rn);
		p->role = ri > 0 ? (hvlog_role)ri : HVLOG_ROLE_NONE;
	}
	if (j == 0 && p->coding == HVLOG_CODING_KEYED)
		return bad(d, HVLOG_MALFORMED, "coding", "is keyed on a first parameter, which has no key");
	if (get(d, pm, "values")) {
		if (!s->nvaltabs)
			return bad(d, HVLOG_MALFORMED, "values", "names a table that does not exist");
		if (!get_uint(d, pm, "values", s->nvaltabs - 1, &u))
			return false;
		p->values = &s->valtabs[u];
	} else if (p->display == HVLOG_DISPLAY_ENUM) {
		p->display = HVLOG_DISPLAY_HEX;
	}
	return true;
}

static bool decode_events(struct dec *d, const void *m, hvlog_schema *s)
{
	const void *arr, *ps;
	size_t n, np;
	uint64_t u;
	hvlog_event *events;
	hvlog_param *params;
	uint32_t slot = 0;
	uint8_t *seen = alloc(d, (HVLOG_MAX_EVENT_NUMBER + 1) / 8, "events");

	if (!seen || !get_array(d, m, "events", WIRE_MAX_EVENTS, &arr, &n) ||
	    !(events = alloc(d, n * sizeof *events, "events")))
		return false;
	for (size_t i = 0; i < n; i++) {
		const void *em = at(d, arr, i);
		hvlog_event *e = &events[i];
		if (!get_uint(d, em, "number", HVLOG_MAX_EVENT_NUMBER, &u))
			return false;
		e->number = (uint32_t)u;
		if (seen[u >> 3] & (1u << (u & 7)))
			return bad(d, HVLOG_MALFORMED, "events", "has a duplicate number");
		seen[u >> 3] |= (uint8_t)(1u << (u & 7));
		if (!get_str(d, em, "symbol", HVLOG_MAX_NAME, &e->symbol) ||
		    !get_str(d, em, "description", HVLOG_MAX_NAME, &e->description) ||
		    !get_uint(d, em, "group", s->ngroups ? s->ngroups - 1 : 0, &u))
			return false;
		if (!s->ngroups)
			return bad(d, HVLOG_MALFORMED, "events", "exist but there are no groups");
		e->group = (uint32_t)u;
		if (!get_array(d, em, "params", HVLOG_MAX_PARAMS, &ps, &np) ||
		    !(params = alloc(d, np * sizeof *params, "params")))
			return false;
		for (size_t j = 0; j < np; j++)
			if (!decode_param(d, at(d, ps, j), (uint32_t)j, s, &params[j]))
				return false;
		e->params = params;
		e->nparams = (uint32_t)np;
		e->slot = slot;
		slot += (uint32_t)np;
	}
	s->events = events;
	s->nevents = (uint32_t)n;
	s->nslots = slot;
	return true;
}

static bool decode_schema(struct dec *d, const void *m, hvlog_schema *s)
{
	uint64_t u;

	*s = (hvlog_schema){ 0 };
	if (!get_str(d, m, "name", HVLOG_MAX_NAME, &s->name) || !get_uint(d, m, "version", UINT32_MAX, &u))
		return false;
	s->version = (uint32_t)u;
	return decode_groups(d, m, s) && decode_valtabs(d, m, s) && decode_events(d, m, s);
}

static hvlog_status check_schema_at(const hvlog_schema *s, uint64_t offset, hvlog_error *err);

hvlog_status hvlog_schema_from_doc(hvlog_schema *s, const hvlog_doc_ops *ops, void *ctx, const void *doc,
				   hvlog_error *err)
{
	struct dec d = { ops, ctx, err, UINT64_MAX, HVLOG_OK };

	if (!s || !ops || !ops->get || !ops->len || !ops->at || !ops->uint || !ops->str || !ops->alloc)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "hvlog_schema_from_doc: no schema or ops");
	if (!decode_schema(&d, doc, s))
		return d.status;
	return check_schema_at(s, UINT64_MAX, err);
}

/* The optional `props` map: text keys to text values, through ops->entry. */
static bool decode_props(struct dec *d, const void *m, hvlog_meta *meta)
{
	hvlog_meta_prop *props;
	size_t n = 0;

	meta->props = NULL;
	meta->nprops = 0;
	if (!m || !d->ops->entry)
		return true;
	if (!(props = alloc(d, HVLOG_MAX_PROPS * sizeof *props, "props")))
		return false;
	for (;; n++) {
		char key[HVLOG_MAX_NAME + 1];
		const void *v = NULL;
		long r = d->ops->entry(d->ctx, m, n, key, sizeof key, &v);
		char *k;
		if (!r)
			break;
		if (r == -1)
			return bad(d, HVLOG_MALFORMED, n ? "props key" : "props", n ? "is not a text string" : "is not a map");
		if (r == -2)
			return bad(d, HVLOG_MALFORMED, "props key", "is not valid text (a NUL byte, or not UTF-8)");
		if (n == HVLOG_MAX_PROPS)
			return bad(d, HVLOG_LIMIT, "props", "has too many entries");
		if (r > HVLOG_MAX_NAME)
			return bad(d, HVLOG_LIMIT, "props key", "is too long");
		if (!(k = alloc(d, (size_t)r + 1, "props key")))
			return false;
		memcpy(k, key, (size_t)r);
		props[n].key = k;
		if (!copy_str(d, v, "props value", HVLOG_MAX_PROP_VALUE, &props[n].value))
			return false;
	}
	meta->props = props;
	meta->nprops = (uint32_t)n;
	return true;
}

/* A top-level field: NULL if absent, or null and defaults are allowed. */
static const void *field(struct dec *d, const void *root, const char *key, unsigned flags)
{
	const void *v = get(d, root, key);

	if (v && (flags & HVLOG_DOC_DEFAULTS) && d->ops->null && d->ops->null(d->ctx, v))
		return NULL;
	return v;
}

static bool decode_streams(struct dec *d, const void *root, hvlog_meta *meta, unsigned flags)
{
	bool dflt = flags & HVLOG_DOC_DEFAULTS;
	hvlog_stream_info *streams;
	const void *items;
	size_t n;
	uint64_t u;

	meta->streams = NULL;
	meta->nstreams = 0;
	if (dflt && !field(d, root, "streams", flags))
		return true;
	if (!get_array(d, root, "streams", WIRE_MAX_STREAMS, &items, &n))
		return false;
	if (!n) /* no chunk could belong to a stream, and no writer makes such
		 * a file (nstreams 0 means one stream) */
		return bad(d, HVLOG_MALFORMED, "streams", "is empty (a trace has at least one stream)");
	if (!(streams = alloc(d, n * sizeof *streams, "streams")))
		return false;
	for (size_t i = 0; i < n; i++) {
		const void *si = at(d, items, i);
		u = i;
		if ((!dflt || get(d, si, "id")) && !get_uint(d, si, "id", UINT32_MAX, &u))
			return false;
		if (u != i)
			return bad(d, HVLOG_MALFORMED, "streams", "are not numbered 0, 1, 2...");
		u = UINT32_MAX;
		if (!get_str(d, si, "name", HVLOG_MAX_NAME, &streams[i].name) ||
		    ((!dflt || get(d, si, "partition")) &&
		     !get_uint(d, si, "partition", UINT64_MAX, &streams[i].partition_id)) ||
		    ((!dflt || get(d, si, "vp")) && !get_uint(d, si, "vp", UINT32_MAX, &u)))
			return false;
		streams[i].vp_index = (uint32_t)u;
	}
	meta->streams = streams;
	meta->nstreams = (uint32_t)n;
	return true;
}

static bool decode_meta(struct dec *d, const void *root, hvlog_meta *meta, unsigned flags)
{
	bool dflt = flags & HVLOG_DOC_DEFAULTS;
	const void *clock, *epoch, *sm;
	const char *fmt;
	hvlog_schema *schema;
	int64_t e;

	meta->producer = meta->clock_name = NULL;
	meta->clock_hz = 1000000000u;
	meta->clock_epoch_ns = 0;
	meta->flush_interval_ns = 0;
	if (!dflt || get(d, root, "format")) {
		if (!get_str(d, root, "format", 16, &fmt))
			return false;
		if (strcmp(fmt, "hvlog"))
			return bad(d, HVLOG_MALFORMED, "format", "is not \"hvlog\"");
	}
	if ((!dflt || field(d, root, "producer", flags)) && !get_str(d, root, "producer", 256, &meta->producer))
		return false;
	clock = field(d, root, "clock", flags);
	if (!dflt || clock) {
		if (!get_str(d, clock, "name", HVLOG_MAX_NAME, &meta->clock_name) ||
		    !get_uint(d, clock, "hz", UINT64_MAX, &meta->clock_hz))
			return false;
		if (!meta->clock_hz)
			return bad(d, HVLOG_MALFORMED, "clock hz", "is zero");
		epoch = get(d, clock, "epoch_ns");
		if (epoch && d->ops->sint && d->ops->sint(d->ctx, epoch, &e) == 0)
			meta->clock_epoch_ns = e;
	}
	if (!decode_streams(d, root, meta, flags))
		return false;
	meta->schema = hvlog_schema_builtin();
	sm = field(d, root, "schema", flags);
	if (!dflt || sm) {
		if (!(schema = alloc(d, sizeof *schema, "schema")) || !decode_schema(d, sm, schema))
			return false;
		meta->schema = schema;
	}
	if (!decode_props(d, field(d, root, "props", flags), meta))
		return false;
	if (!dflt && get(d, root, "flush_ns") && !get_uint(d, root, "flush_ns", UINT64_MAX, &meta->flush_interval_ns))
		return false;
	meta->schema_fp = hvlog__schema_fp(meta->schema);
	return true;
}

static hvlog_status check_meta(const hvlog_meta *m, uint64_t offset, hvlog_error *err)
{
	return hvlog__meta_check(&(hvlog__meta_in){ m->schema, m->producer, m->clock_name, m->clock_hz, 0,
						    m->nstreams, m->streams, 0, m->props, m->nprops },
				 offset, err);
}

hvlog_status hvlog_meta_from_doc(hvlog_meta *meta, const hvlog_doc_ops *ops, void *ctx, const void *doc,
				 unsigned flags, hvlog_error *err)
{
	struct dec d = { ops, ctx, err, UINT64_MAX, HVLOG_OK };

	if (!meta || !ops || !ops->get || !ops->len || !ops->at || !ops->uint || !ops->str || !ops->alloc)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "hvlog_meta_from_doc: no meta or ops");
	*meta = (hvlog_meta){ 0 };
	if (!decode_meta(&d, doc, meta, flags))
		return d.status;
	if (flags & HVLOG_DOC_DEFAULTS) /* a writer checks the rest */
		return meta->schema == hvlog_schema_builtin() ? HVLOG_OK : check_schema_at(meta->schema, UINT64_MAX, err);
	return check_meta(meta, UINT64_MAX, err);
}

/* The document ops over libcbor's tree; ctx is the meta store. */
static const void *cb_get(void *ctx, const void *map, const char *key)
{
	struct cbor_pair *pairs;
	size_t n = strlen(key);

	(void)ctx;
	if (!cbor_isa_map(map))
		return NULL;
	pairs = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		cbor_item_t *k = pairs[i].key;
		if (cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == n &&
		    !memcmp(cbor_string_handle(k), key, n))
			return pairs[i].value;
	}
	return NULL;
}

static long cb_len(void *ctx, const void *arr)
{
	(void)ctx;
	return arr && cbor_isa_array(arr) ? (long)cbor_array_size(arr) : -1;
}

static const void *cb_at(void *ctx, const void *arr, size_t i)
{
	(void)ctx;
	return cbor_array_handle(arr)[i];
}

static int cb_uint(void *ctx, const void *v, uint64_t *out)
{
	(void)ctx;
	if (!v || !cbor_isa_uint(v))
		return -1;
	*out = cbor_get_int(v);
	return 0;
}

static long cb_str(void *ctx, const void *v, char *buf, size_t cap)
{
	size_t n;

	(void)ctx;
	if (!v || !cbor_isa_string(v) || !cbor_string_is_definite(v))
		return -1;
	n = cbor_string_length(v);
	if (n >= cap)
		return (long)(n < LONG_MAX ? n : LONG_MAX);
	if (n && memchr(cbor_string_handle(v), 0, n))
		return -2;
	if (n)
		memcpy(buf, cbor_string_handle(v), n);
	buf[n] = 0;
	return (long)n;
}

static void *cb_alloc(void *ctx, size_t size)
{
	return store_alloc(ctx, size);
}

static long cb_entry(void *ctx, const void *m, size_t i, char *kbuf, size_t cap, const void **v)
{
	struct cbor_pair *pairs;

	if (!cbor_isa_map(m))
		return -1;
	if (i >= cbor_map_size(m))
		return 0;
	pairs = cbor_map_handle(m);
	*v = pairs[i].value;
	return cb_str(ctx, pairs[i].key, kbuf, cap);
}

static int cb_sint(void *ctx, const void *v, int64_t *out)
{
	(void)ctx;
	if (!(cbor_isa_uint(v) || cbor_isa_negint(v)) || cbor_get_int(v) > INT64_MAX)
		return -1;
	*out = cbor_isa_uint(v) ? (int64_t)cbor_get_int(v) : -1 - (int64_t)cbor_get_int(v);
	return 0;
}

static int cb_null(void *ctx, const void *v)
{
	(void)ctx;
	return cbor_is_null(v) || cbor_is_undef(v);
}

static const hvlog_doc_ops cbor_doc = { cb_get, cb_len, cb_at, cb_uint, cb_str, cb_alloc, cb_entry, cb_sint, cb_null };

/* ---- fingerprint and validation ------------------------------------------ */

/* hvlog__schema_fp() is in emit.c: hvlog_chunk_seal states it too. */

struct check {
	hvlog_error *err;
	uint64_t off;
	hvlog_status st;
};

static bool refuse(struct check *c, hvlog_status st, const char *fmt, ...) HVLOG_PRINTF(3, 4);

static bool refuse(struct check *c, hvlog_status st, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->st = st;
	hvlog__fail(c->err, st, c->off, "metadata: %s", msg);
	return false;
}

/* s (NULL is "") fits in max bytes. */
static bool fits(struct check *c, const char *what, uint32_t index, const char *s, size_t max)
{
	if (!s || strlen(s) <= max)
		return true;
	return refuse(c, HVLOG_LIMIT, "%s %u is longer than %zu bytes", what, index, max);
}

static bool check_schema(struct check *c, const hvlog_schema *s)
{
	uint8_t *seen;
	bool ok = true;

	if (!fits(c, "schema name", 0, s->name, HVLOG_MAX_NAME))
		return false;
	if (s->ngroups > WIRE_MAX_GROUPS || s->nevents > WIRE_MAX_EVENTS || s->nvaltabs > WIRE_MAX_VALTABS)
		return refuse(c, HVLOG_LIMIT, "the schema has more groups (%u), events (%u) or value tables (%u) "
			      "than the caps (%u, %u, %u)", s->ngroups, s->nevents, s->nvaltabs, WIRE_MAX_GROUPS,
			      WIRE_MAX_EVENTS, WIRE_MAX_VALTABS);
	for (uint32_t g = 0; g < s->ngroups; g++) {
		if (!fits(c, "group alias", g, s->groups[g].alias, HVLOG_MAX_NAME) ||
		    !fits(c, "group name", g, s->groups[g].name, HVLOG_MAX_NAME))
			return false;
		if (!s->groups[g].mask)
			return refuse(c, HVLOG_MALFORMED, "group %u has mask 0: no filter could select it", g);
	}
	for (uint32_t v = 0; v < s->nvaltabs; v++) {
		const hvlog_valtab *t = &s->valtabs[v];
		if (!fits(c, "value table alias", v, t->alias, HVLOG_MAX_NAME))
			return false;
		if (t->nvalues > WIRE_MAX_VALUES)
			return refuse(c, HVLOG_LIMIT, "value table %u has more than %u values", v, WIRE_MAX_VALUES);
		for (uint32_t k = 0; k < t->nvalues; k++)
			if (!fits(c, "value name of table", v, t->values[k].name, HVLOG_MAX_NAME))
				return false;
	}
	if (!(seen = calloc(1, (HVLOG_MAX_EVENT_NUMBER + 1) / 8)))
		return refuse(c, HVLOG_NOMEM, "out of memory checking the schema");
	for (uint32_t i = 0; ok && i < s->nevents; i++) {
		const hvlog_event *e = &s->events[i];
		if (e->number > HVLOG_MAX_EVENT_NUMBER)
			ok = refuse(c, HVLOG_LIMIT, "event %u has number %u, over 0xFFFF", i, e->number);
		else if (seen[e->number >> 3] & (1u << (e->number & 7)))
			ok = refuse(c, HVLOG_MALFORMED, "event %u has the number 0x%x of an earlier event", i, e->number);
		else if (e->group >= s->ngroups)
			ok = refuse(c, HVLOG_MALFORMED, "event %u (0x%x) has group %u of %u", i, e->number, e->group,
				    s->ngroups);
		else if (e->nparams > HVLOG_MAX_PARAMS)
			ok = refuse(c, HVLOG_LIMIT, "event %u (0x%x) has %u parameters, over %u", i, e->number,
				    e->nparams, HVLOG_MAX_PARAMS);
		else
			ok = fits(c, "event symbol", i, e->symbol, HVLOG_MAX_NAME) &&
			     fits(c, "event description", i, e->description, HVLOG_MAX_NAME);
		if (!ok)
			break;
		seen[e->number >> 3] |= (uint8_t)(1u << (e->number & 7));
		for (uint32_t k = 0; ok && k < e->nparams; k++) {
			const hvlog_param *p = &e->params[k];
			if (!fits(c, "parameter key of event", i, p->key, HVLOG_MAX_NAME) ||
			    !fits(c, "parameter name of event", i, p->name, HVLOG_MAX_NAME))
				ok = false;
			else if ((unsigned)p->type >= HVLOG_TYPE_COUNT_ || (unsigned)p->display >= HVLOG_DISPLAY_COUNT_ ||
				 (unsigned)p->coding >= HVLOG_CODING_COUNT_ || (unsigned)p->role >= HVLOG_ROLE_COUNT_)
				ok = refuse(c, HVLOG_MALFORMED, "parameter %u of event 0x%x has an unknown type, "
					    "display, coding or role", k, e->number);
			else if (k == 0 && p->coding == HVLOG_CODING_KEYED)
				ok = refuse(c, HVLOG_MALFORMED, "parameter 0 of event 0x%x is keyed, but no "
					    "parameter comes before it to key it", e->number);
			else if (p->values && (p->values < s->valtabs || p->values >= s->valtabs + s->nvaltabs))
				ok = refuse(c, HVLOG_MALFORMED, "parameter %u of event 0x%x names a value table "
					    "that is not in the schema", k, e->number);
		}
	}
	free(seen);
	return ok;
}

static hvlog_status check_schema_at(const hvlog_schema *s, uint64_t offset, hvlog_error *err)
{
	struct check c = { err, offset, HVLOG_OK };

	check_schema(&c, s);
	return c.st;
}

hvlog_status hvlog__meta_check(const hvlog__meta_in *in, uint64_t offset, hvlog_error *err)
{
	struct check c = { err, offset, HVLOG_OK };

	if (!fits(&c, "producer", 0, in->producer, 256) || !fits(&c, "clock name", 0, in->clock_name, HVLOG_MAX_NAME))
		return c.st;
	if (!in->clock_hz)
		return refuse(&c, HVLOG_MALFORMED, "the clock rate is 0"), c.st;
	if (!in->nstreams || in->nstreams > WIRE_MAX_STREAMS)
		return refuse(&c, in->nstreams ? HVLOG_LIMIT : HVLOG_MALFORMED, "%u streams (1 to %u)", in->nstreams,
			      WIRE_MAX_STREAMS), c.st;
	for (uint32_t i = 0; i < in->nstreams; i++)
		if (!fits(&c, "the name of stream", i, in->streams[i].name, HVLOG_MAX_NAME))
			return c.st;
	if (in->nprops > HVLOG_MAX_PROPS)
		return refuse(&c, HVLOG_LIMIT, "%u props, over %u", in->nprops, HVLOG_MAX_PROPS), c.st;
	for (uint32_t i = 0; i < in->nprops; i++) {
		if (!in->props[i].key || !in->props[i].value)
			return refuse(&c, HVLOG_INVALID, "prop %u has no key or no value", i), c.st;
		if (!fits(&c, "the key of prop", i, in->props[i].key, HVLOG_MAX_NAME) ||
		    !fits(&c, "the value of prop", i, in->props[i].value, HVLOG_MAX_PROP_VALUE))
			return c.st;
		for (uint32_t k = 0; k < i; k++)
			if (!strcmp(in->props[k].key, in->props[i].key))
				return refuse(&c, HVLOG_MALFORMED, "prop key \"%s\" appears twice", in->props[i].key),
				       c.st;
	}
	check_schema(&c, in->schema);
	return c.st;
}

/* hvlog_cbor_shape: a pass with libcbor's streaming decoder, before
 * cbor_load() builds the tree.  A root container of one entry stands
 * below the item, so that depth 0 means the item is complete. */
struct shape {
	uint64_t room;                           /* bytes the item may take from the current value on */
	uint64_t todo[HVLOG_CBOR_MAX_DEPTH + 1]; /* entries left per open container */
	unsigned depth;
	uint64_t values, max_values;
	const char *bad;
	hvlog_status why;
};

static void shape_fail(struct shape *s, hvlog_status why, const char *bad)
{
	if (!s->bad) {
		s->bad = bad;
		s->why = why;
	}
}

static void shape_item(struct shape *s)
{
	if (++s->values > s->max_values)
		shape_fail(s, HVLOG_LIMIT, "more values in one item than the metadata of a trace can have");
	while (s->depth && --s->todo[s->depth - 1] == 0)
		s->depth--;
}

static void shape_open(struct shape *s, uint64_t entries)
{
	if (s->bad)
		return;
	if (entries > s->room) /* each entry takes at least a byte */
		shape_fail(s, HVLOG_MALFORMED, "declares more entries than there are bytes");
	else if (!entries)
		shape_item(s);
	else if (s->depth == HVLOG_CBOR_MAX_DEPTH + 1)
		shape_fail(s, HVLOG_LIMIT, "is nested too deeply");
	else
		s->todo[s->depth++] = entries;
}

static void sh_array(void *c, size_t n) { shape_open(c, n); }
/* A map of n pairs holds 2n items; 2n saturates (n may be up to 2^64 - 1,
 * and a wrapped 2^63 * 2 would be 0: an empty map, let through). */
static void sh_map(void *c, size_t n) { shape_open(c, (uint64_t)n > UINT64_MAX / 2 ? UINT64_MAX : (uint64_t)n * 2); }
static void sh_u8(void *c, uint8_t v) { (void)v; shape_item(c); }
static void sh_u16(void *c, uint16_t v) { (void)v; shape_item(c); }
static void sh_u32(void *c, uint32_t v) { (void)v; shape_item(c); }
static void sh_u64(void *c, uint64_t v) { (void)v; shape_item(c); }
static void sh_str(void *c, cbor_data d, size_t n) { (void)d; (void)n; shape_item(c); }
static void sh_simple(void *c) { shape_item(c); }
static void sh_bool(void *c, bool v) { (void)v; shape_item(c); }
static void sh_f4(void *c, float v) { (void)v; shape_item(c); }
static void sh_f8(void *c, double v) { (void)v; shape_item(c); }
static void sh_indef(void *c) { shape_fail(c, HVLOG_MALFORMED, "uses an indefinite length"); }
static void sh_tag(void *c, uint64_t v) { (void)v; shape_fail(c, HVLOG_MALFORMED, "uses a CBOR tag"); }

hvlog_status hvlog_cbor_shape(const void *p, size_t n, uint64_t room, uint64_t max_values, size_t *len,
			      const char **why)
{
	static const struct cbor_callbacks cb = {
		.uint8 = sh_u8, .uint16 = sh_u16, .uint32 = sh_u32, .uint64 = sh_u64,
		.negint8 = sh_u8, .negint16 = sh_u16, .negint32 = sh_u32, .negint64 = sh_u64,
		.byte_string = sh_str, .string = sh_str, .array_start = sh_array, .map_start = sh_map,
		.byte_string_start = sh_indef, .string_start = sh_indef, .indef_array_start = sh_indef,
		.indef_map_start = sh_indef, .indef_break = sh_indef, .tag = sh_tag,
		.float2 = sh_f4, .float4 = sh_f4, .float8 = sh_f8,
		.undefined = sh_simple, .null = sh_simple, .boolean = sh_bool,
	};
	struct shape s = { .depth = 1, .todo = { 1 }, .max_values = max_values };
	size_t off = 0;

	*why = NULL;
	while (s.depth) {
		struct cbor_decoder_result res;
		*len = off;
		if (off == n)
			return HVLOG_TRUNCATED;
		s.room = room > off ? room - off : 0;
		res = cbor_stream_decode((const unsigned char *)p + off, n - off, &cb, &s);
		if (res.status == CBOR_DECODER_NEDATA)
			return HVLOG_TRUNCATED;
		if (res.status != CBOR_DECODER_FINISHED || s.bad) {
			*why = s.bad;
			return s.bad ? s.why : HVLOG_MALFORMED;
		}
		off += res.read;
	}
	*len = off;
	return HVLOG_OK;
}

/* The metadata block is one CBOR item of the shape hvlog_cbor_shape
 * accepts, and nothing after it. */
static hvlog_status check_shape(const uint8_t *buf, size_t len, uint64_t file_offset, hvlog_error *err)
{
	const char *why;
	size_t at;
	hvlog_status st = hvlog_cbor_shape(buf, len, len, UINT64_MAX, &at, &why);

	if (st == HVLOG_TRUNCATED)
		return hvlog__fail(err, st, file_offset + at, at == len ? "metadata: the CBOR item is incomplete"
									: "metadata: incomplete CBOR item");
	if (st != HVLOG_OK && !why)
		return hvlog__fail(err, st, file_offset + at, "metadata: invalid CBOR item");
	if (st != HVLOG_OK)
		return hvlog__fail(err, st, file_offset + at, "metadata: a CBOR item %s", why);
	if (at != len)
		return hvlog__fail(err, HVLOG_MALFORMED, file_offset + at, "metadata: bytes after its CBOR item");
	return HVLOG_OK;
}

hvlog_status hvlog__meta_decode(const uint8_t *buf, size_t len, uint64_t file_offset, hvlog__meta_store **out,
				hvlog_meta *meta, hvlog_error *err)
{
	struct cbor_load_result res;
	cbor_item_t *root;
	hvlog__meta_store *st;
	struct dec d = { &cbor_doc, NULL, err, file_offset, HVLOG_OK };
	hvlog_status shape = check_shape(buf, len, file_offset, err);

	meta->internal = NULL;
	if (shape != HVLOG_OK)
		return shape;
	root = cbor_load(buf, len, &res);
	st = d.ctx = calloc(1, sizeof *st);
	if (!st) {
		if (root)
			cbor_decref(&root);
		return hvlog__fail(err, HVLOG_NOMEM, file_offset, "out of memory reading the metadata");
	}
	if (!root) {
		hvlog__meta_free(st);
		return hvlog__fail(err, res.error.code == CBOR_ERR_MEMERROR ? HVLOG_NOMEM : HVLOG_MALFORMED,
				   file_offset + res.error.position, "metadata: not valid CBOR (libcbor error %d)",
				   (int)res.error.code);
	}
	if (res.read != len) {
		bad(&d, HVLOG_MALFORMED, "block", "has bytes after its CBOR item");
		goto fail;
	}
	if (!decode_meta(&d, root, meta, 0))
		goto fail;
	meta->source = 0;
	if ((d.status = check_meta(meta, file_offset, err)) != HVLOG_OK)
		goto fail;
	/* Rendered once here rather than per formatted item; without them
	 * (out of memory) formatting only takes longer. */
	meta->internal = hvlog__fmt_build(meta, fmt_alloc, st);
	cbor_decref(&root);
	*out = st;
	return HVLOG_OK;
fail:
	cbor_decref(&root);
	hvlog__meta_free(st);
	return d.status;
}

const char *hvlog_meta_prop_get(const hvlog_meta *m, const char *key)
{
	for (uint32_t i = 0; m && key && i < m->nprops; i++)
		if (!strcmp(m->props[i].key, key))
			return m->props[i].value;
	return NULL;
}
