"""hvlog.dask on a distributed.LocalCluster of 2 worker processes: the
same rows as pandas, statistics equal to `hvlog stats`."""
import json

import pandas as pd
import pytest

import hvlog
import hvlog.dask
from conftest import run

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _sorted(df):
    return df.sort_values(["ts", "stream", "event"], kind="stable").reset_index(drop=True)


def test_dask_equals_pandas(client, traces):
    paths = [traces["mix"], traces["sim"]]
    sel = dict(group="interrupt")
    ddf = hvlog.dask.read_hvlog(paths, npartitions=3, file_column=True, **sel)
    assert ddf.npartitions == 6
    got = ddf.compute()
    want = pd.concat([hvlog.read(p, **sel).to_pandas().assign(file=p) for p in paths], ignore_index=True)
    want = want[got.columns]
    for f in paths:
        a, b = _sorted(got[got.file == f]), _sorted(want[want.file == f])
        pd.testing.assert_frame_equal(a, b, check_categorical=False)
    # the DataFrame's columns come from the metadata alone
    assert list(ddf.columns) == list(got.columns)
    assert (ddf.dtypes == got.dtypes).all()


def test_dask_where(client, traces):
    ddf = hvlog.dask.read_hvlog(traces["sim"], npartitions=2, where="port == 0x3f8")
    n = int(run_count(traces["sim"], "--where=port == 0x3f8"))
    assert len(ddf) == n
    assert int(ddf.groupby("event").size().sum().compute()) == n


def run_count(path, *args):
    import os
    return run({"hvlog": os.environ["HVLOG_CLI"]}, "decode", "--count", *args, path)


def test_dask_stats_equal_cli(client, traces, tools):
    paths = [traces["sim"]] * 3
    s = hvlog.dask.stats(paths, tops=[("port", 4)], npartitions=2).compute()
    js = json.loads(run(tools, "stats", "-f", "json", traces["sim"]))
    assert s["events"] == 3 * js["events"]
    assert s["by_event"] == {e["event"][6:]: 3 * e["events"] for e in js["event_types"]}
    assert s["by_group"] == {g["group"]: 3 * g["events"] for g in js["groups"]}
    one = hvlog.stats(traces["sim"], tops=[("port", 4)])
    assert s["tops"]["port"]["exact"]
    assert [(v, 3 * c) for v, c, e in one["tops"]["port"]["values"]] == [(v, c) for v, c, e in s["tops"]["port"]["values"]]
    # the intervals' quantiles do not merge; their count, min and max do
    assert set(s["intervals"]) == set(one["intervals"])
    assert all(iv[2] is None for iv in s["intervals"].values() if iv[0])
