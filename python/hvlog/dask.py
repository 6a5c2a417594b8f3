"""hvlog.dask: traces as Dask DataFrames, and statistics that merge.

    import hvlog.dask
    df = hvlog.dask.read_hvlog(["a.hvlog", "b.hvlog"], group="interrupt")
    df.groupby("event").size().compute()

Each partition is a share of one file's chunks (the reader's partition
call: share p of n decodes every n-th chunk from chunk p), so the shares
of a file together hold each of its events exactly once and are decoded
on the workers, which open the files themselves.  The DataFrame's columns
and dtypes come from the metadata and the selection alone: nothing is
decoded to build it.  Rows of a share are in time order; across shares
they are not (sort by ts, or use pandas, when the order matters).
"""
import dask
import dask.dataframe as dd

import hvlog

# Chunks per partition when npartitions is not given: 64 chunks of the
# default 64 KiB are a few million events, a fair task for one worker.
CHUNKS_PER_PARTITION = 64


def _shares(paths, npartitions):
    out = []
    for p in paths:
        with hvlog.open(p) as t:
            chunks = t.meta["chunks"]
        n = npartitions if npartitions else max(1, -(-chunks // CHUNKS_PER_PARTITION))
        n = max(1, min(n, chunks)) if chunks else 1
        out.extend((p, i, n) for i in range(n))
    return out


def _read_share(path, part, nparts, sel, host, names):
    with hvlog.open(path) as t:
        df = t.read(part=part, nparts=nparts, ordered=True, **sel).to_pandas(names=names)
    return _with_host(df, path, host)


def _with_host(df, path, host):
    if host:
        df.insert(0, "file", path)
    return df


def read_hvlog(paths, npartitions=None, file_column=False, names=True, **sel):
    """A dask DataFrame of the selected events of one or more traces, as
    hvlog.read(...).to_pandas() gives for each (the same columns; rows of
    all files, file_column=True adds a `file` column).  npartitions: shares
    per file (default: one per 64 chunks).  Selection keywords as
    hvlog.read.  The files must share one schema."""
    if isinstance(paths, (str, bytes)) or not hasattr(paths, "__iter__"):
        paths = [paths]
    paths = [str(p) for p in paths]
    if not paths:
        raise ValueError("no traces")
    with hvlog.open(paths[0]) as t:
        schema = t.schema
        meta = _with_host(t.read(limit=0, **sel).to_pandas(names=names), paths[0], file_column)
    for p in paths[1:]:
        with hvlog.open(p) as t:
            if t.schema != schema:
                raise ValueError("%s has another schema than %s" % (p, paths[0]))
    parts = [dask.delayed(_read_share)(p, i, n, sel, file_column, names) for p, i, n in _shares(paths, npartitions)]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)


def _stats_share(path, part, nparts, tops, sel):
    with hvlog.open(path) as t:
        s = t.stats(tops, part=part, nparts=nparts, **sel)
    s.pop("first_ts")
    s.pop("last_ts")
    return s


def _add_counts(into, d):
    for k, v in d.items():
        into[k] = into.get(k, 0) + v


def merge_stats(a, b):
    """The statistics of a's items and b's (as Trace.stats returns them,
    or merge_stats did): counts add up; intervals keep count, min and max
    (their quantiles need the histograms, which stay in the workers: they
    come out None); top values add up, exact while both sides were."""
    out = {}
    for k in ("events", "lost", "damaged"):
        out[k] = a[k] + b[k]
    for k in ("by_event", "by_group", "by_stream", "lost_by_stream", "by_partition"):
        out[k] = dict(a[k])
        _add_counts(out[k], b[k])
    out["intervals"] = dict(a["intervals"])
    for k, v in b["intervals"].items():
        w = out["intervals"].get(k)
        if w is None or not w[0]:
            out["intervals"][k] = (v[0], v[1], None, None, None, v[5]) if w is None or v[0] else w
        elif v[0]:
            out["intervals"][k] = (w[0] + v[0], min(w[1], v[1]), None, None, None, max(w[5], v[5]))
    out["tops"] = {}
    for k, ta in a["tops"].items():
        tb = b["tops"][k]
        vals = {}
        for v, c, e in ta["values"] + tb["values"]:
            c0, e0 = vals.get(v, (0, 0))
            vals[v] = (c0 + c, e0 + e)
        n = max(len(ta["values"]), len(tb["values"]), ta.get("n", 0), tb.get("n", 0))
        merged = sorted(((v, c, e) for v, (c, e) in vals.items()), key=lambda x: (-x[1], x[0]))
        out["tops"][k] = {"events": ta["events"] + tb["events"], "exact": ta["exact"] and tb["exact"],
                          "n": n, "values": merged}
    return out


def _trim_tops(s, tops):
    for key, n in tops:
        s["tops"][key]["values"] = s["tops"][key]["values"][:n]
    return s


def stats(paths, tops=(), npartitions=None, **sel):
    """Statistics of the selected items of one or more traces, computed per
    share on the Dask workers (hvlog/stats.h) and merged (merge_stats).
    Returns a dask.delayed: call .compute().  Each share's top table
    counts the whole share, so the merged top values are exact when every
    share's was (their tables hold max(4096, 64 n) values)."""
    if isinstance(paths, (str, bytes)):
        paths = [paths]
    tops = [(k, n) for k, n in tops]
    # each share counts more values than asked, so the merge can rank them
    wide = [(k, max(n, 4096 // 64)) for k, n in tops]
    parts = [dask.delayed(_stats_share)(str(p), i, n, wide, sel) for p, i, n in _shares([str(p) for p in paths], npartitions)]
    while len(parts) > 1:
        parts = [dask.delayed(merge_stats)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return dask.delayed(_trim_tops)(parts[0], tops)
