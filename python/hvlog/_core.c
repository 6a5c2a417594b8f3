/*
 * hvlog._core - the C part of the Python package: a reader over libhvlog,
 * its items as light objects, columnar reads into numpy arrays, the
 * statistics of hvlog/stats.h, and a writer.  The Python modules beside
 * it (__init__.py, dask.py) build the friendly API on these calls.
 *
 * Columnar reads decode with the GIL released and keep everything in C
 * buffers until the end, where the buffers become numpy arrays without a
 * copy.  All decoding goes through fill_columns(), so a batch decode call
 * of the reader can replace its item loop in one place.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "hvlog/clock.h"

static PyObject *hvlog_error_type;

/* ---- errors ---------------------------------------------------------------- */

static PyObject *u64_or_none(uint64_t v, uint64_t none)
{
	if (v == none)
		Py_RETURN_NONE;
	return PyLong_FromUnsignedLongLong(v);
}

/* Raise hvlog.Error(message) with status, offset, stream and chunk_seq
 * attributes (None where they do not apply); returns NULL. */
static PyObject *raise_hvlog(hvlog_status st, const hvlog_error *err)
{
	const char *msg = err && err->msg[0] ? err->msg : hvlog_status_str(st);
	PyObject *e = PyObject_CallFunction(hvlog_error_type, "s", msg);

	if (!e)
		return NULL;
	uint64_t off = err ? err->offset : UINT64_MAX;
	PyObject *attrs[][2] = {
		{ PyUnicode_FromString("status"), PyUnicode_FromString(hvlog_status_str(st)) },
		{ PyUnicode_FromString("code"), PyLong_FromLong((long)st) },
		{ PyUnicode_FromString("offset"), u64_or_none(off, UINT64_MAX) },
		{ PyUnicode_FromString("stream"), u64_or_none(err ? err->stream : UINT32_MAX, UINT32_MAX) },
		{ PyUnicode_FromString("chunk_seq"), u64_or_none(err ? err->chunk_seq : UINT64_MAX, UINT64_MAX) },
		{ PyUnicode_FromString("message"), PyUnicode_FromString(msg) },
	};
	for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
		if (attrs[i][0] && attrs[i][1])
			PyObject_SetAttr(e, attrs[i][0], attrs[i][1]);
		Py_XDECREF(attrs[i][0]);
		Py_XDECREF(attrs[i][1]);
	}
	PyErr_SetObject(hvlog_error_type, e);
	Py_DECREF(e);
	return NULL;
}

/* ---- the reader ------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD
	hvlog_reader *r;
	hvlog_select *sel;   /* NULL: everything */
	PyObject *keep;      /* the file object whose descriptor r reads, or NULL */
	uint64_t t0;         /* first_ts: time_ns counts from here, as decode does */
	int started;         /* hvlog_reader_next called: no more settings */
	int closed;          /* close() called: no more reads */
	int busy;            /* a columnar read runs without the GIL */
} ReaderObject;

static PyTypeObject ReaderType;

static int reader_usable(ReaderObject *self, int setting)
{
	if (!self->r || self->closed) {
		PyErr_SetString(PyExc_ValueError, "the reader is closed");
		return 0;
	}
	if (self->busy) {
		PyErr_SetString(PyExc_RuntimeError, "the reader is in use by another thread");
		return 0;
	}
	if (setting && self->started) {
		PyErr_SetString(PyExc_ValueError, "settings must come before the first item is read");
		return 0;
	}
	return 1;
}

static int reader_finish_open(ReaderObject *self)
{
	hvlog_reader_stats st;

	hvlog_reader_stats_get(self->r, &st);
	self->t0 = st.first_ts;
	return 0;
}

/* Reader(source, keep=None): source a path (str, bytes, os.PathLike) or an
 * open descriptor (int; never closed, keep is held as long as the reader). */
static int reader_init(ReaderObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "source", "keep", NULL };
	PyObject *src, *keep = NULL;
	hvlog_error err = { 0 };
	hvlog_status st;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O", kwlist, &src, &keep))
		return -1;
	if (self->r) {
		PyErr_SetString(PyExc_ValueError, "the reader is already open");
		return -1;
	}
	if (PyLong_Check(src)) {
		int fd = PyLong_AsLong(src);
		if (fd == -1 && PyErr_Occurred())
			return -1;
		Py_BEGIN_ALLOW_THREADS
		st = hvlog_reader_open_fd(&self->r, fd, &err);
		Py_END_ALLOW_THREADS
	} else {
		PyObject *bytes;
		if (!PyUnicode_FSConverter(src, &bytes))
			return -1;
		const char *path = PyBytes_AS_STRING(bytes);
		Py_BEGIN_ALLOW_THREADS
		st = hvlog_reader_open_path(&self->r, path, &err);
		Py_END_ALLOW_THREADS
		Py_DECREF(bytes);
	}
	if (st != HVLOG_OK) {
		self->r = NULL;
		raise_hvlog(st, &err);
		return -1;
	}
	Py_XINCREF(keep);
	self->keep = keep;
	return reader_finish_open(self);
}

static void reader_dealloc(ReaderObject *self)
{
	hvlog_select_free(self->sel);
	hvlog_reader_close(self->r);
	Py_XDECREF(self->keep);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* close(): the reader's memory goes when the last item made by it does
 * (items point into its metadata); close only stops further reads. */
static PyObject *reader_close(ReaderObject *self, PyObject *noargs)
{
	(void)noargs;
	if (self->busy) {
		PyErr_SetString(PyExc_RuntimeError, "the reader is in use by another thread");
		return NULL;
	}
	self->closed = 1;
	Py_RETURN_NONE;
}

static PyObject *reader_sibling(ReaderObject *self, PyObject *noargs)
{
	hvlog_error err = { 0 };
	hvlog_status st;
	ReaderObject *o;

	(void)noargs;
	if (!reader_usable(self, 0))
		return NULL;
	o = (ReaderObject *)ReaderType.tp_alloc(&ReaderType, 0);
	if (!o)
		return NULL;
	st = hvlog_reader_open_sibling(&o->r, self->r, &err);
	if (st != HVLOG_OK) {
		o->r = NULL;
		Py_DECREF(o);
		return raise_hvlog(st, &err);
	}
	Py_XINCREF(self->keep);
	o->keep = self->keep;
	reader_finish_open(o);
	return (PyObject *)o;
}

/* select([(kind, arg), ...]): kind an index of hvlog_select_kind (the
 * Python side maps the keyword names); replaces any earlier selection. */
static PyObject *reader_select(ReaderObject *self, PyObject *list)
{
	hvlog_error err = { 0 };
	hvlog_select *s;
	hvlog_status st;
	PyObject *seq;

	if (!reader_usable(self, 1))
		return NULL;
	seq = PySequence_Fast(list, "select takes a list of (kind, argument) pairs");
	if (!seq)
		return NULL;
	st = hvlog_select_create(&s, hvlog_reader_meta(self->r), self->t0, &err);
	if (st != HVLOG_OK) {
		Py_DECREF(seq);
		return raise_hvlog(st, &err);
	}
	for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
		int kind;
		const char *arg;
		if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "is", &kind, &arg))
			goto fail;
		if (kind < 0 || kind >= HVLOG_SEL_KIND_COUNT_) {
			PyErr_SetString(PyExc_ValueError, "unknown selection kind");
			goto fail;
		}
		st = hvlog_select_add(s, (hvlog_select_kind)kind, arg, &err);
		if (st != HVLOG_OK) {
			raise_hvlog(st, &err);
			goto fail;
		}
	}
	Py_DECREF(seq);
	hvlog_select_apply(s, self->r);
	hvlog_select_free(self->sel);
	self->sel = s;
	Py_RETURN_NONE;
fail:
	Py_DECREF(seq);
	hvlog_select_free(s);
	return NULL;
}

static PyObject *reader_partition(ReaderObject *self, PyObject *args)
{
	unsigned part, nparts;

	if (!PyArg_ParseTuple(args, "II", &part, &nparts))
		return NULL;
	if (!reader_usable(self, 1))
		return NULL;
	if (nparts > 1 && part >= nparts) {
		PyErr_SetString(PyExc_ValueError, "part must be below nparts");
		return NULL;
	}
	hvlog_reader_set_partition(self->r, part, nparts);
	Py_RETURN_NONE;
}

static PyObject *reader_ordered(ReaderObject *self, PyObject *arg)
{
	int on = PyObject_IsTrue(arg);

	if (on < 0 || !reader_usable(self, 1))
		return NULL;
	hvlog_reader_set_ordered(self->r, on);
	Py_RETURN_NONE;
}

/* ---- metadata and schema as plain Python values --------------------------- */

/* Build a dict from (key, new reference) pairs; NULL values fail it. */
static PyObject *dict_of(size_t n, const char *const *keys, PyObject *const *vals)
{
	PyObject *d = PyDict_New();
	int ok = d != NULL;

	for (size_t i = 0; i < n; i++) {
		if (ok && (!vals[i] || PyDict_SetItemString(d, keys[i], vals[i]) < 0))
			ok = 0;
		Py_XDECREF(vals[i]);
	}
	if (!ok)
		Py_CLEAR(d);
	return d;
}
#define DICT(keys, ...) dict_of(sizeof keys / sizeof keys[0], keys, (PyObject *const[]){ __VA_ARGS__ })

static PyObject *str_or_none(const char *s)
{
	if (!s)
		Py_RETURN_NONE;
	return PyUnicode_FromString(s);
}

static PyObject *valtab_dict(const hvlog_valtab *t)
{
	PyObject *d = PyDict_New();

	for (uint32_t i = 0; d && i < t->nvalues; i++) {
		PyObject *k = PyLong_FromUnsignedLongLong(t->values[i].value);
		PyObject *v = PyUnicode_FromString(t->values[i].name);
		if (!k || !v || PyDict_SetItem(d, k, v) < 0)
			Py_CLEAR(d);
		Py_XDECREF(k);
		Py_XDECREF(v);
	}
	return d;
}

static PyObject *param_dict(const hvlog_event *ev, uint32_t i)
{
	static const char *const keys[] = { "key", "name", "type", "display", "coding", "values", "role" };
	const hvlog_param *p = &ev->params[i];
	hvlog_role role = HVLOG_ROLE_NONE;

	/* the role as the tools see it (a file's metadata carries none) */
	for (int r = HVLOG_ROLE_NONE + 1; r < HVLOG_ROLE_COUNT_; r++)
		if (hvlog_event_param_by_role(ev, (hvlog_role)r) == (int)i)
			role = (hvlog_role)r;
	return DICT(keys, PyUnicode_FromString(p->key), PyUnicode_FromString(p->name),
		    PyUnicode_FromString(hvlog_type_name(p->type)), PyUnicode_FromString(hvlog_display_name(p->display)),
		    PyUnicode_FromString(hvlog_coding_name(p->coding)), str_or_none(p->values ? p->values->alias : NULL),
		    PyUnicode_FromString(hvlog_role_name(role)));
}

static PyObject *event_dict(const hvlog_schema *sc, const hvlog_event *ev)
{
	static const char *const keys[] = { "number", "symbol", "description", "group", "params" };
	PyObject *params = PyList_New(ev->nparams);

	for (uint32_t i = 0; params && i < ev->nparams; i++) {
		PyObject *p = param_dict(ev, i);
		if (!p) {
			Py_CLEAR(params);
			break;
		}
		PyList_SET_ITEM(params, i, p);
	}
	return DICT(keys, PyLong_FromUnsignedLong(ev->number), PyUnicode_FromString(ev->symbol),
		    PyUnicode_FromString(ev->description),
		    PyUnicode_FromString(ev->group < sc->ngroups ? sc->groups[ev->group].alias : "?"), params);
}

/* A list of n objects made by make(base, i). */
static PyObject *list_of(uint32_t n, PyObject *(*make)(const void *, uint32_t), const void *base)
{
	PyObject *l = PyList_New(n);

	for (uint32_t i = 0; l && i < n; i++) {
		PyObject *o = make(base, i);
		if (!o)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, i, o);
	}
	return l;
}

static PyObject *make_group(const void *base, uint32_t i)
{
	static const char *const keys[] = { "alias", "name", "mask" };
	const hvlog_group *g = &((const hvlog_schema *)base)->groups[i];

	return DICT(keys, PyUnicode_FromString(g->alias), PyUnicode_FromString(g->name),
		    PyLong_FromUnsignedLongLong(g->mask));
}

static PyObject *make_event(const void *base, uint32_t i)
{
	const hvlog_schema *sc = base;

	return event_dict(sc, &sc->events[i]);
}

static PyObject *make_valtab(const void *base, uint32_t i)
{
	const hvlog_valtab *t = &((const hvlog_schema *)base)->valtabs[i];

	return Py_BuildValue("(sN)", t->alias, valtab_dict(t));
}

static PyObject *make_stream(const void *base, uint32_t i)
{
	static const char *const keys[] = { "id", "name", "partition_id", "vp_index" };
	const hvlog_stream_info *s = &((const hvlog_stream_info *)base)[i];

	return DICT(keys, PyLong_FromUnsignedLong(i), str_or_none(s->name), PyLong_FromUnsignedLongLong(s->partition_id),
		    u64_or_none(s->vp_index, UINT32_MAX));
}

static PyObject *schema_dict(const hvlog_schema *sc)
{
	static const char *const keys[] = { "name", "version", "groups", "events", "valtabs" };
	PyObject *tabs = list_of(sc->nvaltabs, make_valtab, sc);
	PyObject *d = tabs ? PyDict_New() : NULL;

	for (Py_ssize_t i = 0; d && i < PyList_GET_SIZE(tabs); i++) {
		PyObject *t = PyList_GET_ITEM(tabs, i);
		if (PyDict_SetItem(d, PyTuple_GET_ITEM(t, 0), PyTuple_GET_ITEM(t, 1)) < 0)
			Py_CLEAR(d);
	}
	Py_XDECREF(tabs);
	return DICT(keys, PyUnicode_FromString(sc->name), PyLong_FromUnsignedLong(sc->version),
		    list_of(sc->ngroups, make_group, sc), list_of(sc->nevents, make_event, sc), d);
}

static PyObject *reader_meta(ReaderObject *self, PyObject *noargs)
{
	static const char *const keys[] = { "version", "producer", "clock_name", "clock_hz", "clock_epoch_ns",
					    "streams", "data_offset", "first_ts", "last_ts", "chunks", "file_size" };
	hvlog_reader_stats st;
	const hvlog_meta *m;

	(void)noargs;
	if (!self->r) {
		PyErr_SetString(PyExc_ValueError, "the reader is closed");
		return NULL;
	}
	m = hvlog_reader_meta(self->r);
	hvlog_reader_stats_get(self->r, &st);
	return DICT(keys, Py_BuildValue("(HH)", m->version_major, m->version_minor), str_or_none(m->producer),
		    str_or_none(m->clock_name), PyLong_FromUnsignedLongLong(m->clock_hz),
		    PyLong_FromLongLong(m->clock_epoch_ns), list_of(m->nstreams, make_stream, m->streams),
		    PyLong_FromUnsignedLongLong(m->data_offset), PyLong_FromUnsignedLongLong(st.first_ts),
		    PyLong_FromUnsignedLongLong(st.last_ts), PyLong_FromUnsignedLongLong(st.chunks_indexed),
		    PyLong_FromUnsignedLongLong(st.file_size));
}

static PyObject *reader_schema(ReaderObject *self, PyObject *noargs)
{
	(void)noargs;
	if (!self->r) {
		PyErr_SetString(PyExc_ValueError, "the reader is closed");
		return NULL;
	}
	return schema_dict(hvlog_reader_meta(self->r)->schema);
}

static PyObject *reader_totals(ReaderObject *self, PyObject *noargs)
{
	static const char *const keys[] = { "events", "lost_events", "damaged_regions", "damaged_bytes", "chunks" };
	hvlog_reader_stats st;

	(void)noargs;
	if (!self->r) {
		PyErr_SetString(PyExc_ValueError, "the reader is closed");
		return NULL;
	}
	hvlog_reader_stats_get(self->r, &st);
	return DICT(keys, PyLong_FromUnsignedLongLong(st.events), PyLong_FromUnsignedLongLong(st.lost_events),
		    PyLong_FromUnsignedLongLong(st.damaged_regions), PyLong_FromUnsignedLongLong(st.damaged_bytes),
		    PyLong_FromUnsignedLongLong(st.chunks));
}

/* ---- items as light objects ------------------------------------------------ */

/* A copy of one hvlog_item (the reader's view changes on the next call);
 * holds its reader, whose metadata its event points into. */
typedef struct {
	PyObject_HEAD
	ReaderObject *owner;
	hvlog_item it;
	uint64_t values[HVLOG_MAX_PARAMS];
	char msg[200];
} ItemObject;

static PyTypeObject ItemType;

static void item_dealloc(ItemObject *self)
{
	Py_XDECREF(self->owner);
	PyObject_Free(self);
}

static const char *const kind_names[] = { [HVLOG_ITEM_EVENT] = "event", [HVLOG_ITEM_LOST] = "lost",
					  [HVLOG_ITEM_DAMAGE] = "damage" };

static const char *event_name(const hvlog_event *ev)
{
	return strncmp(ev->symbol, "HV_TR_", 6) ? ev->symbol : ev->symbol + 6;
}

static PyObject *item_get(ItemObject *self, void *which)
{
	const hvlog_item *it = &self->it;
	const hvlog_event *ev = it->kind == HVLOG_ITEM_EVENT ? it->event : NULL;
	const hvlog_schema *sc = hvlog_reader_meta(self->owner->r)->schema;

	switch ((intptr_t)which) {
	case 0: return PyUnicode_FromString(kind_names[it->kind]);
	case 1: return u64_or_none(it->stream, UINT32_MAX);
	case 2: return PyLong_FromUnsignedLongLong(it->ts);
	case 3: return PyLong_FromUnsignedLongLong(it->offset);
	case 4: return ev ? PyUnicode_FromString(event_name(ev)) : (Py_INCREF(Py_None), Py_None);
	case 5: return ev ? PyLong_FromUnsignedLong(ev->number) : (Py_INCREF(Py_None), Py_None);
	case 6: return ev ? PyUnicode_FromString(ev->group < sc->ngroups ? sc->groups[ev->group].alias : "?")
			  : (Py_INCREF(Py_None), Py_None);
	case 7: {
		uint32_t n = ev ? ev->nparams : 0;
		PyObject *t = PyTuple_New(n);
		for (uint32_t i = 0; t && i < n; i++) {
			PyObject *v = PyLong_FromUnsignedLongLong(self->values[i]);
			if (!v) {
				Py_CLEAR(t);
				break;
			}
			PyTuple_SET_ITEM(t, i, v);
		}
		return t;
	}
	case 8: {
		PyObject *d = PyDict_New();
		for (uint32_t i = 0; d && ev && i < ev->nparams; i++) {
			PyObject *v = PyLong_FromUnsignedLongLong(self->values[i]);
			if (!v || PyDict_SetItemString(d, ev->params[i].key, v) < 0)
				Py_CLEAR(d);
			Py_XDECREF(v);
		}
		return d;
	}
	case 9: return PyLong_FromUnsignedLongLong(hvlog_ticks_to_ns(it->ts, self->owner->t0,
								      hvlog_reader_meta(self->owner->r)->clock_hz));
	case 10: return PyLong_FromUnsignedLongLong(it->kind == HVLOG_ITEM_LOST ? it->lost_count : it->damage_events);
	case 11: return it->kind == HVLOG_ITEM_DAMAGE ? PyUnicode_FromString(self->msg) : (Py_INCREF(Py_None), Py_None);
	case 12: return it->kind == HVLOG_ITEM_DAMAGE ? PyLong_FromUnsignedLongLong(it->damage_len) : (Py_INCREF(Py_None), Py_None);
	case 13: return it->kind == HVLOG_ITEM_DAMAGE ? PyUnicode_FromString(hvlog_status_str(it->damage))
						       : (Py_INCREF(Py_None), Py_None);
	case 14: return it->kind == HVLOG_ITEM_LOST ? Py_BuildValue("(KK)", (unsigned long long)it->lost_first_ts,
								   (unsigned long long)it->lost_last_ts)
						     : (Py_INCREF(Py_None), Py_None);
	}
	Py_RETURN_NONE;
}

#define ITEM_GET(name, n, doc) { name, (getter)item_get, NULL, doc, (void *)(intptr_t)(n) }
static PyGetSetDef item_getset[] = {
	ITEM_GET("kind", 0, "'event', 'lost' or 'damage'"),
	ITEM_GET("stream", 1, "stream id (None for damage of unknown stream)"),
	ITEM_GET("ts", 2, "timestamp in ticks"),
	ITEM_GET("offset", 3, "file offset of the record or damage"),
	ITEM_GET("event", 4, "event name without HV_TR_ (None unless an event)"),
	ITEM_GET("number", 5, "event wire number"),
	ITEM_GET("group", 6, "group alias"),
	ITEM_GET("values", 7, "parameter values, in schema order"),
	ITEM_GET("params", 8, "parameter values by key"),
	ITEM_GET("time_ns", 9, "nanoseconds since the trace's first event"),
	ITEM_GET("count", 10, "lost: events dropped; damage: events known lost"),
	ITEM_GET("message", 11, "damage: what was wrong"),
	ITEM_GET("length", 12, "damage: bytes skipped"),
	ITEM_GET("status", 13, "damage: the status name"),
	ITEM_GET("window", 14, "lost: (first_ts, last_ts)"),
	{ NULL, NULL, NULL, NULL, NULL },
};

/* item["port"]: a parameter by key. */
static PyObject *item_subscript(ItemObject *self, PyObject *key)
{
	const hvlog_event *ev = self->it.kind == HVLOG_ITEM_EVENT ? self->it.event : NULL;
	const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;

	for (uint32_t i = 0; k && ev && i < ev->nparams; i++)
		if (!strcmp(ev->params[i].key, k))
			return PyLong_FromUnsignedLongLong(self->values[i]);
	if (!PyErr_Occurred())
		PyErr_SetObject(PyExc_KeyError, key);
	return NULL;
}

static PyMappingMethods item_mapping = { .mp_subscript = (binaryfunc)item_subscript };

static PyObject *item_repr(ItemObject *self)
{
	const hvlog_item *it = &self->it;
	PyObject *p, *r;

	switch (it->kind) {
	case HVLOG_ITEM_EVENT:
		p = item_get(self, (void *)(intptr_t)8);
		if (!p)
			return NULL;
		r = PyUnicode_FromFormat("<hvlog.Item event %s ts=%llu stream=%u %R>", event_name(it->event),
					 (unsigned long long)it->ts, it->stream, p);
		Py_DECREF(p);
		return r;
	case HVLOG_ITEM_LOST:
		return PyUnicode_FromFormat("<hvlog.Item lost %llu ts=%llu stream=%u>", (unsigned long long)it->lost_count,
					    (unsigned long long)it->ts, it->stream);
	default:
		return PyUnicode_FromFormat("<hvlog.Item damage at %llu: %s>", (unsigned long long)it->offset, self->msg);
	}
}

static PyTypeObject ItemType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "hvlog.Item",
	.tp_basicsize = sizeof(ItemObject),
	.tp_dealloc = (destructor)item_dealloc,
	.tp_repr = (reprfunc)item_repr,
	.tp_as_mapping = &item_mapping,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "One item of a trace: an event, a lost-events record or damage.",
	.tp_getset = item_getset,
};

/* The next item that passes the selection, or HVLOG_END. */
static hvlog_status next_selected(ReaderObject *self, const hvlog_item **it, hvlog_error *err)
{
	hvlog_status st;

	self->started = 1;
	while ((st = hvlog_reader_next(self->r, it, err)) == HVLOG_OK)
		if (!self->sel || hvlog_select_match(self->sel, *it))
			break;
	return st;
}

static PyObject *reader_iternext(ReaderObject *self)
{
	hvlog_error err = { 0 };
	const hvlog_item *it;
	ItemObject *o;
	hvlog_status st;

	if (!reader_usable(self, 0))
		return NULL;
	st = next_selected(self, &it, &err);
	if (st == HVLOG_END)
		return NULL;
	if (st != HVLOG_OK)
		return raise_hvlog(st, &err);
	/* no GC tracking and no tp_alloc zeroing: the hot path of iteration */
	o = PyObject_Malloc(sizeof *o);
	if (!o)
		return PyErr_NoMemory();
	PyObject_Init((PyObject *)o, &ItemType);
	Py_INCREF(self);
	o->owner = self;
	o->it = *it;
	if (it->kind == HVLOG_ITEM_EVENT) {
		memcpy(o->values, it->values, it->event->nparams * sizeof *it->values);
		o->it.values = o->values;
	} else if (it->kind == HVLOG_ITEM_DAMAGE) {
		snprintf(o->msg, sizeof o->msg, "%s", it->damage_msg ? it->damage_msg : "");
		o->it.damage_msg = o->msg;
	}
	return (PyObject *)o;
}

/* ---- columnar reads -------------------------------------------------------- */

typedef struct {
	uint64_t offset, ts, count, first_ts, last_ts;
	uint32_t stream;
} lost_row;

typedef struct {
	uint64_t offset, ts, len, events, chunk_seq;
	uint32_t stream;
	hvlog_status status;
	char msg[200];
} damage_row;

/* The selected events under construction, compact: a row per event (ts,
 * stream, schema event index) and the parameter values of all rows one
 * after the other (each row's event->nparams of them).  The per-key
 * columns of the long table are made from these in numpy: decoding
 * writes some 35 bytes per event instead of a column for every key. */
typedef struct {
	size_t n, cap, limit;
	uint64_t *ts;
	uint32_t *stream;
	uint16_t *event;              /* index in the schema's events */
	uint64_t *vals;
	size_t nvals, capvals;
	lost_row *lost;
	size_t nlost, caplost;
	damage_row *damage;
	size_t ndamage, capdamage;
} columns;

static void columns_free(columns *c)
{
	free(c->ts);
	free(c->stream);
	free(c->event);
	free(c->vals);
	free(c->lost);
	free(c->damage);
}

/* Room for row c->n.  The first size is a guess from the file size
 * (c->cap preset): large buffers are mapped lazily, so the guess costs
 * address space only, and growing by copying is rare. */
static int columns_grow(columns *c)
{
	size_t cap = c->ts ? c->cap * 2 : c->cap;
	void *p;

#define GROW(ptr)                                               \
	do {                                                    \
		if (!(p = realloc(ptr, cap * sizeof *(ptr)))) \
			return -1;                              \
		ptr = p;                                        \
	} while (0)
	GROW(c->ts);
	GROW(c->stream);
	GROW(c->event);
#undef GROW
	c->cap = cap;
	return 0;
}

/* Room for HVLOG_MAX_PARAMS more values. */
static int values_grow(columns *c)
{
	size_t cap = c->vals ? c->capvals * 2 : c->capvals;
	uint64_t *p = realloc(c->vals, cap * sizeof *p);

	if (!p)
		return -1;
	c->vals = p;
	c->capvals = cap;
	return 0;
}

static int add_lost(columns *c, const hvlog_item *it)
{
	if (c->nlost == c->caplost) {
		size_t cap = c->caplost ? 2 * c->caplost : 16;
		lost_row *p = realloc(c->lost, cap * sizeof *p);
		if (!p)
			return -1;
		c->lost = p;
		c->caplost = cap;
	}
	c->lost[c->nlost++] = (lost_row){ it->offset, it->ts, it->lost_count, it->lost_first_ts, it->lost_last_ts,
					  it->stream };
	return 0;
}

static int add_damage(columns *c, const hvlog_item *it)
{
	damage_row *d;

	if (c->ndamage == c->capdamage) {
		size_t cap = c->capdamage ? 2 * c->capdamage : 16;
		damage_row *p = realloc(c->damage, cap * sizeof *p);
		if (!p)
			return -1;
		c->damage = p;
		c->capdamage = cap;
	}
	d = &c->damage[c->ndamage++];
	*d = (damage_row){ it->offset, it->ts, it->damage_len, it->damage_events, it->chunk_seq, it->stream,
			   it->damage, "" };
	snprintf(d->msg, sizeof d->msg, "%s", it->damage_msg ? it->damage_msg : "");
	return 0;
}

/* Decode the selected items of r into c (the one place that walks the
 * reader for columns).  Runs without the GIL.  HVLOG_END when done (or the
 * limit reached), HVLOG_NOMEM, or the reader's failure. */
static hvlog_status fill_columns(ReaderObject *self, columns *c, hvlog_error *err)
{
	const hvlog_event *events = hvlog_reader_meta(self->r)->schema->events;
	const hvlog_item *it;
	hvlog_status st = HVLOG_END;

	while (c->n < c->limit && (st = next_selected(self, &it, err)) == HVLOG_OK) {
		if (it->kind == HVLOG_ITEM_LOST) {
			if (add_lost(c, it) < 0)
				return HVLOG_NOMEM;
			continue;
		}
		if (it->kind == HVLOG_ITEM_DAMAGE) {
			if (add_damage(c, it) < 0)
				return HVLOG_NOMEM;
			continue;
		}
		if (((!c->ts || c->n == c->cap) && columns_grow(c) < 0) ||
		    ((!c->vals || c->capvals - c->nvals < HVLOG_MAX_PARAMS) && values_grow(c) < 0))
			return HVLOG_NOMEM;
		size_t row = c->n++;
		c->ts[row] = it->ts;
		c->stream[row] = it->stream;
		c->event[row] = (uint16_t)(it->event - events);
		memcpy(c->vals + c->nvals, it->values, it->event->nparams * sizeof *it->values);
		c->nvals += it->event->nparams;
	}
	return c->n >= c->limit ? HVLOG_END : st;
}

static void free_capsule(PyObject *cap)
{
	free(PyCapsule_GetPointer(cap, NULL));
}

/* A 1-D numpy array of n elements owning buf (shrunk to n; freed with the
 * array); on failure buf is freed. */
static PyObject *array_owning(void *buf, size_t n, size_t elem, int type)
{
	npy_intp dims[1] = { (npy_intp)n };
	void *p = n ? realloc(buf, n * elem) : NULL;
	PyObject *a, *cap;

	if (!n) {
		free(buf);
		return PyArray_SimpleNew(1, dims, type);
	}
	if (p)
		buf = p;
	a = PyArray_SimpleNewFromData(1, dims, type, buf);
	cap = a ? PyCapsule_New(buf, NULL, free_capsule) : NULL;
	if (!cap || PyArray_SetBaseObject((PyArrayObject *)a, cap) < 0) {
		Py_XDECREF(cap);
		Py_XDECREF(a);
		if (!cap)
			free(buf);
		return NULL;
	}
	return a;
}

static PyObject *lost_list(const columns *c)
{
	PyObject *l = PyList_New((Py_ssize_t)c->nlost);

	for (size_t i = 0; l && i < c->nlost; i++) {
		const lost_row *r = &c->lost[i];
		PyObject *t = Py_BuildValue("(KIKKKK)", (unsigned long long)r->offset, r->stream,
					    (unsigned long long)r->ts, (unsigned long long)r->count,
					    (unsigned long long)r->first_ts, (unsigned long long)r->last_ts);
		if (!t)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, (Py_ssize_t)i, t);
	}
	return l;
}

static PyObject *damage_list(const columns *c)
{
	PyObject *l = PyList_New((Py_ssize_t)c->ndamage);

	for (size_t i = 0; l && i < c->ndamage; i++) {
		const damage_row *r = &c->damage[i];
		PyObject *t = Py_BuildValue("(KNNsKKNs)", (unsigned long long)r->offset, u64_or_none(r->stream, UINT32_MAX),
					    u64_or_none(r->ts, UINT64_MAX), hvlog_status_str(r->status),
					    (unsigned long long)r->len, (unsigned long long)r->events,
					    u64_or_none(r->chunk_seq, UINT64_MAX), r->msg);
		if (!t)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, (Py_ssize_t)i, t);
	}
	return l;
}

/* columns(limit=None) -> dict: ts, time_ns, stream, event (uint64, uint64,
 * uint32, uint16 arrays), values (uint64: each row's parameters, one row
 * after the other), lost and damage (lists of tuples), t0, kept (the
 * indices of the schema events the selection may keep). */
static PyObject *reader_columns(ReaderObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "limit", NULL };
	static const char *const keys[] = { "ts", "time_ns", "stream", "event", "values", "lost", "damage", "t0",
					    "kept" };
	long long limit = -1;
	columns c = { 0 };
	hvlog_error err = { 0 };
	hvlog_status st;
	const hvlog_meta *m;
	uint64_t *nsbuf;
	PyObject *kept, *out;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|L", kwlist, &limit))
		return NULL;
	if (!reader_usable(self, 0))
		return NULL;
	m = hvlog_reader_meta(self->r);
	c.limit = limit < 0 ? SIZE_MAX : (size_t)limit;
	{
		/* a record takes at least 2 bytes; most of hvcore's 3 to 8 */
		hvlog_reader_stats rs;
		hvlog_reader_stats_get(self->r, &rs);
		c.cap = rs.file_size / 2 < 65536 ? 65536 : rs.file_size / 2;
		if (c.cap > c.limit)
			c.cap = c.limit < 65536 ? 65536 : c.limit;
		c.capvals = 2 * c.cap;
	}
	self->busy = 1;
	Py_BEGIN_ALLOW_THREADS
	st = fill_columns(self, &c, &err);
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (st != HVLOG_END) {
		columns_free(&c);
		return st == HVLOG_NOMEM && !err.msg[0] ? PyErr_NoMemory() : raise_hvlog(st, &err);
	}
	nsbuf = malloc((c.n ? c.n : 1) * sizeof *nsbuf);
	kept = PyList_New(0);
	if (!nsbuf || !kept) {
		free(nsbuf);
		Py_XDECREF(kept);
		columns_free(&c);
		return PyErr_NoMemory();
	}
	Py_BEGIN_ALLOW_THREADS
	hvlog_ticks_to_ns_n(c.ts, c.n, self->t0, m->clock_hz, nsbuf);
	Py_END_ALLOW_THREADS
	for (uint32_t e = 0; kept && e < m->schema->nevents; e++) {
		PyObject *i = !self->sel || hvlog_select_keeps_event(self->sel, &m->schema->events[e]) ? PyLong_FromUnsignedLong(e)
													 : NULL;
		if (i && PyList_Append(kept, i) < 0)
			Py_CLEAR(kept);
		Py_XDECREF(i);
	}
	/* the arrays take the buffers (and free them on failure) */
	out = DICT(keys, array_owning(c.ts, c.n, sizeof *c.ts, NPY_UINT64), array_owning(nsbuf, c.n, sizeof *nsbuf, NPY_UINT64),
		   array_owning(c.stream, c.n, sizeof *c.stream, NPY_UINT32),
		   array_owning(c.event, c.n, sizeof *c.event, NPY_UINT16),
		   array_owning(c.vals, c.nvals, sizeof *c.vals, NPY_UINT64), lost_list(&c), damage_list(&c),
		   PyLong_FromUnsignedLongLong(self->t0), kept);
	c.ts = c.vals = NULL;
	c.stream = NULL;
	c.event = NULL;
	columns_free(&c);
	return out;
}

/* ---- statistics (hvlog/stats.h) -------------------------------------------- */

static PyObject *interval_tuple(const hvlog_stats *s, uint32_t e)
{
	hvlog_stats_interval iv;
	uint64_t q[3] = { 0, 0, 0 };
	static const double qs[3] = { 0.5, 0.95, 0.99 };

	hvlog_stats_interval_get(s, e, &iv);
	for (int i = 0; i < 3 && iv.count; i++)
		hvlog_stats_interval_quantile(s, e, qs[i], &q[i]);
	return Py_BuildValue("(KKKKKK)", (unsigned long long)iv.count, (unsigned long long)iv.min,
			     (unsigned long long)q[0], (unsigned long long)q[1], (unsigned long long)q[2],
			     (unsigned long long)iv.max);
}

/* The statistics as plain values: totals, counts by event symbol, group
 * alias, stream, partition; intervals per event (count, min, p50, p95,
 * p99, max); tops per configured key. */
static PyObject *stats_dict(const hvlog_stats *s, const hvlog_meta *m, const hvlog_stats_config *cfg)
{
	static const char *const keys[] = { "events", "lost", "damaged", "first_ts", "last_ts", "by_event",
					    "by_group", "by_stream", "lost_by_stream", "by_partition", "intervals",
					    "tops" };
	const hvlog_schema *sc = m->schema;
	hvlog_stats_totals t;
	PyObject *ev = PyDict_New(), *gr = PyDict_New(), *stv = PyDict_New(), *lo = PyDict_New();
	PyObject *pa = PyDict_New(), *iv = PyDict_New(), *tops = PyDict_New();
	int ok = ev && gr && stv && lo && pa && iv && tops;

#define PUT(d, k, v)                                              \
	do {                                                      \
		PyObject *v_ = (v);                               \
		if (!v_ || PyDict_SetItem(d, k, v_) < 0)          \
			ok = 0;                                   \
		Py_XDECREF(v_);                                   \
	} while (0)
	hvlog_stats_totals_get(s, &t);
	for (uint32_t e = 0; ok && e < sc->nevents; e++) {
		uint64_t n = hvlog_stats_event_count(s, e);
		PyObject *k;
		if (!n)
			continue;
		k = PyUnicode_FromString(event_name(&sc->events[e]));
		if (!k)
			break;
		PUT(ev, k, PyLong_FromUnsignedLongLong(n));
		PUT(iv, k, interval_tuple(s, e));
		Py_DECREF(k);
	}
	for (uint32_t g = 0; ok && g < sc->ngroups; g++) {
		uint64_t n = hvlog_stats_group_count(s, g);
		PyObject *k = n ? PyUnicode_FromString(sc->groups[g].alias) : NULL;
		if (k)
			PUT(gr, k, PyLong_FromUnsignedLongLong(n));
		Py_XDECREF(k);
	}
	for (uint32_t i = 0; ok && i < m->nstreams; i++) {
		PyObject *k = PyLong_FromUnsignedLong(i);
		if (!k)
			break;
		if (hvlog_stats_stream_count(s, i))
			PUT(stv, k, PyLong_FromUnsignedLongLong(hvlog_stats_stream_count(s, i)));
		if (hvlog_stats_stream_lost(s, i))
			PUT(lo, k, PyLong_FromUnsignedLongLong(hvlog_stats_stream_lost(s, i)));
		Py_DECREF(k);
	}
	uint32_t np = hvlog_stats_partitions(s, NULL, NULL, 0);
	uint64_t *ids = calloc(np + 1, sizeof *ids), *cnt = calloc(np + 1, sizeof *cnt);
	if (ok && ids && cnt) {
		hvlog_stats_partitions(s, ids, cnt, np);
		for (uint32_t i = 0; ok && i < np; i++) {
			PyObject *k = PyLong_FromUnsignedLongLong(ids[i]);
			if (k)
				PUT(pa, k, PyLong_FromUnsignedLongLong(cnt[i]));
			Py_XDECREF(k);
		}
	} else {
		ok = 0;
	}
	free(ids);
	free(cnt);
	for (uint32_t ti = 0; ok && cfg && ti < cfg->ntops; ti++) {
		hvlog_stats_top_info info;
		hvlog_stats_value *vals;
		hvlog_stats_top_info_get(s, ti, &info);
		vals = calloc(info.n ? info.n : 1, sizeof *vals);
		if (!vals) {
			ok = 0;
			break;
		}
		uint32_t n = hvlog_stats_top_values(s, ti, vals, info.n);
		PyObject *l = PyList_New(n);
		for (uint32_t i = 0; l && i < n; i++)
			PyList_SET_ITEM(l, i, Py_BuildValue("(KKK)", (unsigned long long)vals[i].value,
							    (unsigned long long)vals[i].count,
							    (unsigned long long)vals[i].error));
		free(vals);
		PyObject *k = PyUnicode_FromString(cfg->tops[ti].param);
		if (k && l)
			PUT(tops, k, Py_BuildValue("{sKsOsN}", "events", (unsigned long long)info.events, "exact",
						   info.exact ? Py_True : Py_False, "values", l));
		else
			ok = 0;
		Py_XDECREF(k);
	}
#undef PUT
	if (!ok) {
		Py_XDECREF(ev);
		Py_XDECREF(gr);
		Py_XDECREF(stv);
		Py_XDECREF(lo);
		Py_XDECREF(pa);
		Py_XDECREF(iv);
		Py_XDECREF(tops);
		return PyErr_Occurred() ? NULL : PyErr_NoMemory();
	}
	return DICT(keys, PyLong_FromUnsignedLongLong(t.events), PyLong_FromUnsignedLongLong(t.lost),
		    PyLong_FromUnsignedLongLong(t.damaged), PyLong_FromUnsignedLongLong(t.first_ts),
		    PyLong_FromUnsignedLongLong(t.last_ts), ev, gr, stv, lo, pa, iv, tops);
}

/* stats(tops=[(key, n), ...]) -> dict (stats_dict) of the selected items. */
static PyObject *reader_stats(ReaderObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "tops", NULL };
	PyObject *tops = NULL, *seq = NULL, *out = NULL;
	hvlog_stats_top tt[64];
	hvlog_stats_config cfg = { tt, 0 };
	hvlog_error err = { 0 };
	hvlog_stats *s = NULL;
	hvlog_status st;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O", kwlist, &tops))
		return NULL;
	if (!reader_usable(self, 0))
		return NULL;
	if (tops && tops != Py_None) {
		seq = PySequence_Fast(tops, "tops is a list of (key, n) pairs");
		if (!seq)
			return NULL;
		if (PySequence_Fast_GET_SIZE(seq) > 64) {
			PyErr_SetString(PyExc_ValueError, "at most 64 tops");
			goto done;
		}
		for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
			unsigned n;
			if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "sI", &tt[i].param, &n))
				goto done;
			tt[i].index = NULL;
			tt[i].n = n;
			cfg.ntops++;
		}
	}
	st = hvlog_stats_create(&s, hvlog_reader_meta(self->r), &cfg, &err);
	if (st != HVLOG_OK) {
		raise_hvlog(st, &err);
		goto done;
	}
	self->busy = 1;
	Py_BEGIN_ALLOW_THREADS
	const hvlog_item *it;
	while ((st = next_selected(self, &it, &err)) == HVLOG_OK)
		if ((st = hvlog_stats_add(s, it)) != HVLOG_OK)
			break;
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (st != HVLOG_END)
		raise_hvlog(st, &err);
	else
		out = stats_dict(s, hvlog_reader_meta(self->r), &cfg);
done:
	hvlog_stats_free(s);
	Py_XDECREF(seq); /* after the stats: the keys point into it */
	return out;
}

static PyObject *reader_enter(ReaderObject *self, PyObject *noargs)
{
	(void)noargs;
	Py_INCREF(self);
	return (PyObject *)self;
}

static PyObject *reader_exit(ReaderObject *self, PyObject *args)
{
	(void)args;
	return reader_close(self, NULL);
}

static PyMethodDef reader_methods[] = {
	{ "meta", (PyCFunction)reader_meta, METH_NOARGS, "The file's metadata as a dict." },
	{ "schema", (PyCFunction)reader_schema, METH_NOARGS, "The file's embedded schema as a dict." },
	{ "totals", (PyCFunction)reader_totals, METH_NOARGS, "The reader's totals so far." },
	{ "sibling", (PyCFunction)reader_sibling, METH_NOARGS, "Another reader of the same input." },
	{ "select", (PyCFunction)reader_select, METH_O, "Narrow to [(kind, argument), ...]." },
	{ "partition", (PyCFunction)reader_partition, METH_VARARGS, "Decode only chunk share part of nparts." },
	{ "ordered", (PyCFunction)reader_ordered, METH_O, "Global time order (True, the default) or per stream." },
	{ "columns", (PyCFunction)(void (*)(void))reader_columns, METH_VARARGS | METH_KEYWORDS,
	  "Decode the selected items into numpy arrays." },
	{ "stats", (PyCFunction)(void (*)(void))reader_stats, METH_VARARGS | METH_KEYWORDS,
	  "Statistics of the selected items (hvlog/stats.h)." },
	{ "close", (PyCFunction)reader_close, METH_NOARGS, "Stop reading." },
	{ "__enter__", (PyCFunction)reader_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)reader_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject ReaderType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "hvlog._core.Reader",
	.tp_basicsize = sizeof(ReaderObject),
	.tp_dealloc = (destructor)reader_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Reader(source, keep=None): a trace by path or open descriptor.",
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)reader_iternext,
	.tp_methods = reader_methods,
	.tp_init = (initproc)reader_init,
	.tp_new = PyType_GenericNew,
};

/* ---- the writer ------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD
	hvlog_writer *w;
	uint32_t nstreams;
} WriterObject;

/* Writer(path, streams=[(name, partition_id, vp_index)], clock_hz=0,
 * chunk_size=0, producer=None): the built-in schema. */
static int writer_init(WriterObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "path", "streams", "clock_hz", "chunk_size", "producer", "clock_name", NULL };
	PyObject *path, *streams = NULL, *bytes = NULL, *seq = NULL;
	unsigned long long hz = 0;
	unsigned chunk = 0;
	const char *producer = NULL, *clock_name = NULL;
	hvlog_stream_info *info = NULL;
	hvlog_error err = { 0 };
	hvlog_status st;
	int rc = -1;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OKIzz", kwlist, &path, &streams, &hz, &chunk, &producer,
					 &clock_name))
		return -1;
	if (self->w) {
		PyErr_SetString(PyExc_ValueError, "the writer is already open");
		return -1;
	}
	if (!PyUnicode_FSConverter(path, &bytes))
		return -1;
	hvlog_writer_config cfg = { .chunk_size = chunk, .clock_hz = hz, .producer = producer,
				    .clock_name = clock_name };
	if (streams && streams != Py_None) {
		seq = PySequence_Fast(streams, "streams is a list of (name, partition_id, vp_index)");
		if (!seq)
			goto done;
		cfg.nstreams = (uint32_t)PySequence_Fast_GET_SIZE(seq);
		info = calloc(cfg.nstreams ? cfg.nstreams : 1, sizeof *info);
		if (!info) {
			PyErr_NoMemory();
			goto done;
		}
		for (uint32_t i = 0; i < cfg.nstreams; i++) {
			unsigned long long part = 0;
			unsigned vp = UINT32_MAX;
			if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "z|KI", &info[i].name, &part, &vp))
				goto done;
			info[i].partition_id = part;
			info[i].vp_index = vp;
		}
		cfg.streams = info;
	}
	st = hvlog_writer_open_path(&self->w, PyBytes_AS_STRING(bytes), &cfg, &err);
	if (st != HVLOG_OK) {
		self->w = NULL;
		raise_hvlog(st, &err);
		goto done;
	}
	self->nstreams = cfg.nstreams ? cfg.nstreams : 1;
	rc = 0;
done:
	free(info);
	Py_XDECREF(seq);
	Py_XDECREF(bytes);
	return rc;
}

/* emit(stream, ts, number, values): event `number` of the built-in schema
 * with its parameters in schema order (the Python side adds typed
 * emit_<event> methods). */
static PyObject *writer_emit(WriterObject *self, PyObject *args)
{
	unsigned stream, number;
	unsigned long long ts;
	PyObject *vals, *seq;
	uint64_t v[HVLOG_MAX_PARAMS];
	const hvlog_event *ev;
	hvlog_status st;

	if (!PyArg_ParseTuple(args, "IKIO", &stream, &ts, &number, &vals))
		return NULL;
	if (!self->w) {
		PyErr_SetString(PyExc_ValueError, "the writer is closed");
		return NULL;
	}
	if (stream >= self->nstreams) {
		PyErr_SetString(PyExc_ValueError, "no such stream");
		return NULL;
	}
	ev = hvlog_schema_find_event(hvlog_schema_builtin(), number);
	if (!ev) {
		PyErr_Format(PyExc_ValueError, "no event number %u in the schema", number);
		return NULL;
	}
	seq = PySequence_Fast(vals, "values is a sequence of integers");
	if (!seq)
		return NULL;
	if ((uint32_t)PySequence_Fast_GET_SIZE(seq) != ev->nparams) {
		PyErr_Format(PyExc_TypeError, "%s takes %u parameters", event_name(ev), ev->nparams);
		Py_DECREF(seq);
		return NULL;
	}
	for (uint32_t i = 0; i < ev->nparams; i++) {
		v[i] = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, i));
		if (PyErr_Occurred() || v[i] > hvlog_type_max(ev->params[i].type)) {
			if (!PyErr_Occurred())
				PyErr_Format(PyExc_OverflowError, "%s: %s does not fit in %s", event_name(ev),
					     ev->params[i].key, hvlog_type_name(ev->params[i].type));
			Py_DECREF(seq);
			return NULL;
		}
	}
	Py_DECREF(seq);
	st = hvlog_emit(hvlog_writer_stream(self->w, stream), ts, ev, v);
	if (st != HVLOG_OK)
		return raise_hvlog(st, NULL);
	Py_RETURN_NONE;
}

static PyObject *writer_close(WriterObject *self, PyObject *noargs)
{
	hvlog_error err = { 0 };
	hvlog_status st;

	(void)noargs;
	if (!self->w)
		Py_RETURN_NONE;
	st = hvlog_writer_close(self->w, &err);
	self->w = NULL;
	if (st != HVLOG_OK)
		return raise_hvlog(st, &err);
	Py_RETURN_NONE;
}

static void writer_dealloc(WriterObject *self)
{
	hvlog_writer_close(self->w, NULL);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef writer_methods[] = {
	{ "emit", (PyCFunction)writer_emit, METH_VARARGS, "emit(stream, ts, number, values)" },
	{ "close", (PyCFunction)writer_close, METH_NOARGS, "Write the final chunks and close." },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject WriterType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "hvlog._core.Writer",
	.tp_basicsize = sizeof(WriterObject),
	.tp_dealloc = (destructor)writer_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Writer(path, streams=None, clock_hz=0, chunk_size=0, producer=None, clock_name=None)",
	.tp_methods = writer_methods,
	.tp_init = (initproc)writer_init,
	.tp_new = PyType_GenericNew,
};

/* ---- the module ------------------------------------------------------------ */

static PyObject *mod_builtin_schema(PyObject *mod, PyObject *noargs)
{
	(void)mod;
	(void)noargs;
	return schema_dict(hvlog_schema_builtin());
}

/* types: ((name, largest value), ...), the parameter types in wire order
 * (HVLOG_TYPE_LIST), for the Python side's dtypes. */
static PyObject *type_list(void)
{
	PyObject *t = PyTuple_New(HVLOG_TYPE_COUNT_);

	for (int i = 0; t && i < HVLOG_TYPE_COUNT_; i++) {
		PyObject *e = Py_BuildValue("(sK)", hvlog_type_name((hvlog_type)i),
					    (unsigned long long)hvlog_type_max((hvlog_type)i));
		if (!e)
			Py_CLEAR(t);
		else
			PyTuple_SET_ITEM(t, i, e);
	}
	return t;
}

static PyMethodDef module_methods[] = {
	{ "builtin_schema", mod_builtin_schema, METH_NOARGS, "The built-in schema as a dict." },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef core_module = {
	PyModuleDef_HEAD_INIT, "hvlog._core", "libhvlog for Python (the C part).", -1, module_methods,
	NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void);
PyMODINIT_FUNC PyInit__core(void)
{
	PyObject *m;

	import_array();
	if (PyType_Ready(&ReaderType) < 0 || PyType_Ready(&ItemType) < 0 || PyType_Ready(&WriterType) < 0)
		return NULL;
	m = PyModule_Create(&core_module);
	if (!m)
		return NULL;
	hvlog_error_type = PyErr_NewExceptionWithDoc("hvlog.Error",
		"A libhvlog failure: status, offset (a byte offset in the file, or in a where expression), "
		"stream, chunk_seq and message attributes.", NULL, NULL);
	Py_INCREF(&ReaderType);
	Py_INCREF(&ItemType);
	Py_INCREF(&WriterType);
	if (!hvlog_error_type || PyModule_AddObject(m, "Error", hvlog_error_type) < 0 ||
	    PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0 ||
	    PyModule_AddObject(m, "Item", (PyObject *)&ItemType) < 0 ||
	    PyModule_AddObject(m, "Writer", (PyObject *)&WriterType) < 0 ||
	    PyModule_AddStringConstant(m, "version", hvlog_version()) < 0 ||
	    PyModule_AddObject(m, "types", type_list()) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	Py_INCREF(hvlog_error_type); /* the module's reference and ours */
	return m;
}
