"""hvlog: read and write hvlog traces from Python (docs/PYTHON.md).

    import hvlog
    t = hvlog.read("t.hvlog", group="interrupt", where="port == 0x3f8")
    df = t.to_pandas()            # one row per event
    t.lost, t.damage              # lost-event records and damage, as tables

The decoding is libhvlog's, in C (hvlog._core): columnar reads fill numpy
arrays without creating a Python object per event.
"""
import os
import tempfile

import numpy as np

from . import _core
from ._core import Error, Item

__all__ = ["Error", "Item", "Trace", "Table", "Writer", "open", "read", "stats", "builtin_schema"]
__version__ = _core.version

# The keyword arguments of a selection and the hvlog_select_kind each is
# (hvlog/select.h); each takes a string or a list of strings, as the
# repeatable options of `hvlog decode` do.
SELECT_KINDS = {
    "group": 0, "exclude_group": 1, "event": 2, "exclude_event": 3, "stream": 4,
    "vp": 5, "partition": 6, "where": 7, "since": 8, "until": 9,
}

# Per parameter type of libhvlog (_core.types: name and largest value),
# its numpy dtype (a type whose largest value is 1 holds booleans) and its
# rank by range, which the widest type of a key over several events
# follows.
_INT_DTYPES = {name: "bool" if top == 1 else np.min_scalar_type(top).name for name, top in _core.types}
_WIDTH = {name: rank for rank, (name, _) in enumerate(sorted(_core.types, key=lambda t: t[1]))}


def builtin_schema():
    """The built-in schema (schema/hvlog_schema.def) as a dict."""
    return _core.builtin_schema()


def _selection(sel):
    pairs = []
    for name, arg in sel.items():
        if name not in SELECT_KINDS:
            raise TypeError("unknown selection %r (one of %s)" % (name, ", ".join(SELECT_KINDS)))
        if arg is None:
            continue
        for a in [arg] if isinstance(arg, (str, int)) else arg:
            pairs.append((SELECT_KINDS[name], str(a)))
    return pairs


def _event_name(symbol):
    return symbol[6:] if symbol.startswith("HV_TR_") else symbol


class Trace:
    """An open trace: a path (str, bytes, os.PathLike), an open descriptor,
    or a file object (with a fileno(), read in place; without one, such as
    io.BytesIO, copied to an unlinked temporary file first)."""

    def __init__(self, source):
        self._tmp = None
        if isinstance(source, (str, bytes, os.PathLike)):
            self._source = os.fspath(source)
        elif isinstance(source, int):
            self._source = source
        elif hasattr(source, "read"):
            try:
                self._source = source.fileno()
                self._keep = source
            except (AttributeError, OSError, ValueError):
                self._tmp = tempfile.TemporaryFile()
                while True:
                    b = source.read(1 << 20)
                    if not b:
                        break
                    self._tmp.write(b)
                self._tmp.flush()
                self._source = self._tmp.fileno()
        else:
            raise TypeError("a trace is a path, a descriptor or a file object, not %r" % type(source).__name__)
        self._reader = _core.Reader(self._source, getattr(self, "_keep", self._tmp))
        self.meta = self._reader.meta()
        self.schema = self._reader.schema()

    def reader(self, part=0, nparts=1, ordered=True, **sel):
        """A fresh reader of the trace (a sibling: nothing is parsed again)
        with a selection, a chunk share and an order."""
        r = self._reader.sibling()
        if nparts > 1:
            r.partition(part, nparts)
        if not ordered:
            r.ordered(False)
        pairs = _selection(sel)
        if pairs:
            r.select(pairs)
        return r

    def __iter__(self):
        return iter(self.reader())

    def items(self, **sel):
        """The selected items, as hvlog.Item objects, in time order."""
        return iter(self.reader(**sel))

    def read(self, limit=None, part=0, nparts=1, ordered=True, **sel):
        """The selected events as a Table (columnar, in numpy arrays)."""
        r = self.reader(part, nparts, ordered, **sel)
        cols = r.columns(-1 if limit is None else limit)
        return Table(cols, self)

    def stats(self, tops=(), part=0, nparts=1, **sel):
        """Statistics of the selected items (hvlog/stats.h): counts by
        event, group, stream and partition, intervals, top values of the
        (key, n) pairs in tops."""
        r = self.reader(part, nparts, False, **sel)
        return r.stats(list(tops))

    def close(self):
        self._reader.close()
        if self._tmp is not None:
            self._tmp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open(source):
    """Open a trace (see Trace)."""
    return Trace(source)


def read(source, limit=None, **sel):
    """Open a trace and read its selected events: hvlog.read(path,
    group="interrupt", where="port == 0x3f8").  Selection keywords:
    group, exclude_group, event, exclude_event, stream, vp, partition,
    where, since, until (the options of `hvlog decode`)."""
    t = source if isinstance(source, Trace) else Trace(source)
    return t.read(limit=limit, **sel)


def stats(source, tops=(), **sel):
    """Statistics of a trace's selected items (Trace.stats)."""
    t = source if isinstance(source, Trace) else Trace(source)
    return t.stats(tops, **sel)


class Table:
    """Selected events in columns, as numpy arrays: ts, time_ns (since the
    trace's first event), stream, event (index in the schema's events),
    values (each row's parameters one row after the other); params
    {key: (values, missing)} a column per parameter key of the selected
    event types, made on first use; lost and damage records as their own
    pandas DataFrames."""

    def __init__(self, cols, trace):
        self.ts = cols["ts"]
        self.time_ns = cols["time_ns"]
        self.stream = cols["stream"]
        self.event = cols["event"]
        self.values = cols["values"]
        self.t0 = cols["t0"]
        self.kept = cols["kept"]
        self.schema = trace.schema
        self.meta = trace.meta
        self._lost = cols["lost"]
        self._damage = cols["damage"]
        self._params = None
        self._rows = None

    def rows_by_event(self):
        """{schema event index: its rows (an index array)}, for the event
        types present."""
        if self._rows is None:
            order = np.argsort(self.event, kind="stable")
            counts = np.bincount(self.event, minlength=len(self.schema["events"]))
            ends = np.cumsum(counts)
            self._rows = {e: order[ends[e] - n:ends[e]] for e, n in enumerate(counts) if n}
        return self._rows

    def _param_at(self):
        """Where each row's parameters start in values."""
        nparams = np.array([len(e["params"]) for e in self.schema["events"]], dtype=np.int64)
        counts = nparams[self.event]
        return np.cumsum(counts) - counts

    @property
    def params(self):
        if self._params is None:
            at, rows = self._param_at(), self.rows_by_event()
            keys = []
            for e in self.kept:
                for p in self.schema["events"][e]["params"]:
                    if p["key"] not in keys:
                        keys.append(p["key"])
            out = {k: (np.zeros(len(self), np.uint64), np.ones(len(self), np.bool_)) for k in keys}
            for e, r in rows.items():
                for i, p in enumerate(self.schema["events"][e]["params"]):
                    vals, missing = out[p["key"]]
                    vals[r] = self.values[at[r] + i]
                    missing[r] = False
            self._params = out
        return self._params

    def __len__(self):
        return len(self.ts)

    @property
    def lost(self):
        """Lost-event records: offset, stream, ts, count, first_ts, last_ts."""
        import pandas as pd
        return pd.DataFrame(self._lost, columns=list(LOST_COLUMNS)).astype(LOST_COLUMNS)

    @property
    def damage(self):
        """Damage: offset, stream, ts, status, length, events, chunk_seq, message."""
        import pandas as pd
        return pd.DataFrame(self._damage, columns=list(DAMAGE_COLUMNS)).astype(DAMAGE_COLUMNS)

    def event_names(self):
        return [_event_name(ev["symbol"]) for ev in self.schema["events"]]

    def to_pandas(self, by_event=False, names=True):
        """One long DataFrame (ts, time_ns, stream, event, and a column per
        parameter key of the selected event types, nullable where an event
        type lacks it); by_event=True: a dict of one DataFrame per event
        type present, with only its own parameters.  names: a parameter
        with a value table also gets a <key>_name categorical of its names
        (NaN for values without one)."""
        import pandas as pd
        if by_event:
            return self._by_event(pd, names)
        cols = {
            "ts": self.ts, "time_ns": self.time_ns, "stream": self.stream,
            "event": pd.Categorical.from_codes(self.event.astype(np.int32), self.event_names()),
        }
        for key, (vals, missing) in self.params.items():
            info = _key_info(self.schema, self.kept, key)
            _put_param(pd, self.schema, cols, key, info, vals, missing, not info["everywhere"], names, self.event)
        return pd.DataFrame(cols, copy=False)

    def _by_event(self, pd, names):
        at, out = self._param_at(), {}
        for e, idx in self.rows_by_event().items():
            ev = self.schema["events"][e]
            cols = {"ts": self.ts[idx], "time_ns": self.time_ns[idx], "stream": self.stream[idx]}
            none = np.zeros(len(idx), np.bool_)
            for i, p in enumerate(ev["params"]):
                info = {"type": p["type"], "tabs": {e: p["values"]} if p["values"] else {}}
                _put_param(pd, self.schema, cols, p["key"], info, self.values[at[idx] + i], none, False, names)
            out[_event_name(ev["symbol"])] = pd.DataFrame(cols, copy=False)
        return out


LOST_COLUMNS = {"offset": "uint64", "stream": "uint32", "ts": "uint64", "count": "uint64",
                "first_ts": "uint64", "last_ts": "uint64"}
DAMAGE_COLUMNS = {"offset": "uint64", "stream": "UInt32", "ts": "UInt64", "status": "object",
                  "length": "uint64", "events": "uint64", "chunk_seq": "UInt64", "message": "object"}


def _key_info(schema, kept, key):
    """The widest type of parameter `key` over the kept events of the
    schema, the value table of each kept event that has one for it, and
    whether every kept event has the key.  From the schema and the
    selection only, so every partition of a Dask read gets the same
    dtypes."""
    ty, tabs, have = "bool", {}, 0
    for e in kept:
        for p in schema["events"][e]["params"]:
            if p["key"] == key:
                have += 1
                if _WIDTH[p["type"]] > _WIDTH[ty]:
                    ty = p["type"]
                if p["values"]:
                    tabs[e] = p["values"]
    return {"type": ty, "tabs": tabs, "everywhere": have == len(kept)}


def _put_param(pd, schema, cols, key, info, vals, missing, nullable, names, events=None):
    """Column `key` (nullable where some rows lack it) and, if it has value
    tables, `<key>_name`: a categorical of the names, each row's from its
    own event's table (NaN: a value without a name, or no value)."""
    dt = _INT_DTYPES[info["type"]]
    if nullable:
        arr = vals.astype(dt, copy=False)
        cols[key] = (pd.arrays.BooleanArray(arr, missing) if dt == "bool"
                     else pd.arrays.IntegerArray(arr, missing))
    else:
        cols[key] = vals.astype(dt, copy=False)
    if names and info["tabs"]:
        cols[key + "_name"] = _names(pd, schema, info["tabs"], vals, missing, events)


def _names(pd, schema, tabs, vals, missing, events):
    aliases = sorted(set(tabs.values()))
    labels = sorted({n for a in aliases for n in schema["valtabs"].get(a, {}).values()})
    label_code = {n: i for i, n in enumerate(labels)}
    codes = np.full(len(vals), -1, np.int32)
    for a in aliases:
        t = schema["valtabs"].get(a, {})
        if not t:
            continue
        keys = np.array(sorted(t), dtype=np.uint64)
        lab = np.array([label_code[t[k]] for k in keys.tolist()], dtype=np.int32)
        rows = ~missing
        if events is not None and len(aliases) > 1:
            rows &= np.isin(events, [e for e, x in tabs.items() if x == a])
        pos = np.minimum(np.searchsorted(keys, vals), len(keys) - 1)
        hit = rows & (keys[pos] == vals)
        codes[hit] = lab[pos[hit]]
    return pd.Categorical.from_codes(codes, labels)


class Writer:
    """Write a trace with the built-in schema: Writer(path, streams=[("vp0",
    partition_id, vp_index), ...], clock_hz=..., chunk_size=...).  emit(stream,
    ts, event, *values) takes an event name or number; emit_<event>(stream,
    ts, *values or key=value) is there for every event of the schema
    (emit_im_msr_read, emit_hc_hypercall, ...)."""

    def __init__(self, path, streams=None, clock_hz=0, chunk_size=0, producer=None, clock_name=None):
        self._w = _core.Writer(os.fspath(path), streams, clock_hz, chunk_size, producer, clock_name)

    def emit(self, stream, ts, event, *values):
        ev = _EVENTS_BY_NAME[event.upper()] if isinstance(event, str) else _EVENTS_BY_NUMBER[event]
        self._w.emit(stream, ts, ev["number"], values)

    def close(self):
        self._w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_EVENTS_BY_NAME, _EVENTS_BY_NUMBER = {}, {}


def _typed_emitter(ev):
    keys = [p["key"] for p in ev["params"]]
    number = ev["number"]

    def emit(self, stream, ts, *values, **kw):
        if kw:
            try:
                values = values + tuple(kw.pop(k) for k in keys[len(values):])
            except KeyError as e:
                raise TypeError("%s needs %s" % (name, e)) from None
            if kw:
                raise TypeError("%s has no parameter %s" % (name, ", ".join(kw)))
        self._w.emit(stream, ts, number, values)
    name = "emit_" + _event_name(ev["symbol"]).lower()
    emit.__name__ = name
    emit.__doc__ = "%s: %s(stream, ts, %s)" % (ev["description"], name, ", ".join(keys))
    return name, emit


for _ev in builtin_schema()["events"]:
    _EVENTS_BY_NAME[_ev["symbol"].upper()] = _EVENTS_BY_NAME[_event_name(_ev["symbol"]).upper()] = _ev
    _EVENTS_BY_NUMBER[_ev["number"]] = _ev
    _n, _f = _typed_emitter(_ev)
    setattr(Writer, _n, _f)
del _ev, _n, _f
