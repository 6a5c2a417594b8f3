#!/usr/bin/env python3
"""Python read paths, measured in one run on one trace (docs/PYTHON.md).

    PYTHONPATH=build/python python3 bench/python_bench.py \\
        --hvlog build/hvlog --hvcore build/hvcore/hvcore [--events 2000000]

Makes hvcore's mixed workload (sim backend), then times, on the same file:
  - hvlog.read(): the columnar read into numpy (one long table);
  - .to_pandas() of it;
  - iteration of hvlog.Item objects;
  - `hvlog decode --count -j 1` and `-j 2` (the C decoder on one and two
    threads, a reference; the process start is in its time);
  - `hvlog convert --to json` piped into json.loads per line;
  - the babeltrace2 Python bindings (python3-bt2) over `convert --to ctf`
    (skipped when bt2 is not installed);
  - hvlog.dask.read_hvlog(...).groupby("event").size() on a LocalCluster
    of 1 and of 2 worker processes, over copies of the trace.
Each figure is events per second, best of --repeat runs; the ratios are
between figures of this run.  A benchmark, not a test: nothing fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import hvlog


def best(fn, repeat):
    t = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hvlog", required=True)
    ap.add_argument("--hvcore", required=True)
    ap.add_argument("--events", type=int, default=2000000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--files", type=int, default=8, help="copies of the trace for the Dask figures")
    ap.add_argument("--no-dask", action="store_true")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="hvlog-pybench.")
    try:
        run(a, tmp)
    finally:
        shutil.rmtree(tmp)


def run(a, tmp):
    path = os.path.join(tmp, "mixed.hvlog")
    subprocess.run([a.hvcore, "--no-progress", "-b", "sim", "-w", "mixed", "-v", "2", "-n", str(a.events),
                    "-o", path], check=True, stderr=subprocess.DEVNULL)
    n = len(hvlog.read(path))
    print("trace: hvcore -b sim -w mixed -v 2 -n %d: %d events, %.1f MB" % (a.events, n, os.path.getsize(path) / 1e6))
    rows = []

    def add(name, secs, count=n):
        rows.append((name, count / secs))
        print("  %-44s %12.0f events/s  (%.3f s)" % (name, count / secs, secs), flush=True)

    t, table = best(lambda: hvlog.read(path), a.repeat)
    add("hvlog.read() columnar, numpy", t)
    t, _ = best(lambda: hvlog.read(path).to_pandas(), a.repeat)
    add("hvlog.read().to_pandas()", t)
    t, _ = best(lambda: sum(1 for it in hvlog.open(path) if it.kind == "event"), a.repeat)
    add("iterate hvlog.Item objects", t)
    for j in ("1", "2"):
        t, _ = best(lambda: subprocess.run([a.hvlog, "decode", "--count", "-j", j, path], check=True,
                                           stdout=subprocess.DEVNULL), a.repeat)
        add("hvlog decode --count -j %s (C, a reference)" % j, t)

    def json_parse():
        p = subprocess.Popen([a.hvlog, "convert", "--to", "json", "-o", "-", path], stdout=subprocess.PIPE)
        k = 0
        for line in p.stdout:
            if json.loads(line)["type"] == "event":
                k += 1
        p.wait()
        return k
    t, k = best(json_parse, 1)
    add("convert --to json | json.loads per line", t, k)

    bt = bt2_rate(a, path, tmp)
    if bt:
        add("babeltrace2 Python bindings (bt2), CTF", bt[0], bt[1])

    if not a.no_dask:
        for workers in (1, 2):
            t = dask_time(path, tmp, a.files, workers)
            add("dask groupby(event).size, %d worker%s, %d files" % (workers, "s" * (workers > 1), a.files),
                t, n * a.files)

    rate = dict(rows)
    col = rate["hvlog.read() columnar, numpy"]
    print("ratios (this run):")
    print("  columnar / decode --count -j 1       %.2f" % (col / rate["hvlog decode --count -j 1 (C, a reference)"]))
    print("  Item iteration / json.loads          %.0f" % (rate["iterate hvlog.Item objects"]
                                                       / rate["convert --to json | json.loads per line"]))
    print("  columnar / json.loads                %.0f" % (col / rate["convert --to json | json.loads per line"]))
    if bt:
        print("  columnar / bt2                       %.0f" % (col / rate["babeltrace2 Python bindings (bt2), CTF"]))
    if not a.no_dask:
        d1 = rate["dask groupby(event).size, 1 worker, %d files" % a.files]
        d2 = rate["dask groupby(event).size, 2 workers, %d files" % a.files]
        print("  dask 2 workers / 1 worker            %.2f" % (d2 / d1))


def bt2_rate(a, path, tmp):
    try:
        import bt2
    except ImportError:
        print("  (babeltrace2 Python bindings not installed: python3-bt2; skipped)")
        return None
    # bt2 is slow: a prefix of the trace is enough for its rate
    part = os.path.join(tmp, "part.hvlog")
    ctf = os.path.join(tmp, "ctf")
    subprocess.run([a.hvlog, "filter", "-n", "200000", "-o", part, path], check=True, stderr=subprocess.DEVNULL)
    subprocess.run([a.hvlog, "convert", "--to", "ctf", "-o", ctf, part], check=True, stderr=subprocess.DEVNULL)

    def read():
        k = 0
        for msg in bt2.TraceCollectionMessageIterator(ctf):
            if type(msg) is bt2._EventMessageConst:
                # touch every field, as a Python consumer would
                for f in msg.event.payload_field.values():
                    int(f) if isinstance(f, bt2._IntegerFieldConst) else f
                k += 1
        return k
    t, k = best(read, 1)
    return t, k


def dask_time(path, tmp, files, workers):
    import distributed
    import hvlog.dask
    paths = []
    for i in range(files):
        p = os.path.join(tmp, "host%02d.hvlog" % i)
        if not os.path.exists(p):
            os.link(path, p)
        paths.append(p)
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    try:
        q = lambda: hvlog.dask.read_hvlog(paths, npartitions=2, names=False).groupby("event").size().compute()
        q()  # warm the workers (imports)
        t, _ = best(q, 2)
    finally:
        client.close()
        cluster.close()
    return t


if __name__ == "__main__":
    sys.exit(main())
