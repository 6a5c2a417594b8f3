"""hvlog (the package): reading every event type, selection, damage and
lost tables, pandas, items, file objects, errors, writing; checked
against the hvlog command on the same files."""
import io
import json
import os

import numpy as np
import pandas as pd
import pytest

import hvlog
from conftest import jsonl, run


def _expect(js_val, key, row):
    """JSON shows hex as "0x..", decimals as numbers, bools as bools and
    value-table entries by name."""
    if isinstance(js_val, bool) or isinstance(js_val, int):
        assert int(row[key]) == int(js_val), key
    elif js_val.startswith("0x"):
        assert int(row[key]) == int(js_val, 16), key
    elif js_val.isdigit():  # a decimal beyond 2^53, as a string
        assert int(row[key]) == int(js_val), key
    else:
        assert row[key + "_name"] == js_val, key


def _check_against_json(tools, path, table, *args):
    js = [o for o in jsonl(tools, path, *args) if o["type"] == "event"]
    df = table.to_pandas()
    assert len(df) == len(js)
    for i, o in enumerate(js):
        row = df.iloc[i]
        assert int(row.ts) == o["ts"] and int(row.time_ns) == o["time_ns"] and int(row.stream) == o["stream"]
        assert "HV_TR_" + row.event == o["event"]
        for k, v in o["params"].items():
            _expect(v, k, row)
    return df


def test_every_event_type(tools, traces):
    t = hvlog.read(traces["all"])
    df = _check_against_json(tools, traces["all"], t)
    # tracegen all writes every event of the schema on both streams
    names = {hvlog._event_name(e["symbol"]) for e in hvlog.builtin_schema()["events"]}
    assert set(df.event.astype(str)) == names
    assert df.event.dtype == "category"
    assert df.index_name.dtype == "category" and "IA32_EFER" in df.index_name.cat.categories


def test_golden_file(tools):
    # testdata/golden/mix.bin, decoded as its golden JSON says
    path = os.path.join(tools["testdata"], "golden", "mix.bin")
    gold = [json.loads(l) for l in open(os.path.join(tools["testdata"], "golden", "mix.jsonl"))]
    df = hvlog.read(path).to_pandas()
    ev = [o for o in gold if o["type"] == "event"]
    assert len(df) == len(ev)
    assert list(df.ts) == [o["ts"] for o in ev]
    assert list(df.event.astype(str)) == [o["event"][6:] for o in ev]


def test_selection_matches_decode(tools, traces):
    path = traces["sim"]
    cases = [dict(group="interrupt"), dict(group="interrupt", where="port == 0x3f8"),
             dict(event="IM_MSR_*", exclude_event="IM_MSR_WRITE"), dict(stream="0"), dict(vp="1"),
             dict(since="1ms", until="3ms"), dict(group=["hypercall", "vp"], where="guest_rip != 0")]
    for sel in cases:
        args = []
        for k, v in sel.items():
            for a in [v] if isinstance(v, str) else v:
                args.append("--%s=%s" % (k.replace("_", "-"), a))
        want = int(run(tools, "decode", "--count", *args, path))
        t = hvlog.read(path, **sel)
        assert len(t) == want, sel
    t = hvlog.read(path, group="interrupt", where="port == 0x3f8")
    df = t.to_pandas()
    assert len(df) and (df.port == 0x3F8).all()
    assert set(df.event.astype(str)) <= {"IM_IO_PORT_READ", "IM_IO_PORT_WRITE"}
    _check_against_json(tools, path, t, "--group=interrupt", "--where=port == 0x3f8")


def test_columns_are_numpy(traces):
    t = hvlog.read(traces["mix"])
    assert len(t) == 50000
    assert t.ts.dtype == np.uint64 and t.stream.dtype == np.uint32 and t.event.dtype == np.uint16
    assert (np.diff(t.ts.astype(np.int64)) >= 0).all()  # global time order
    vals, missing = t.params["guest_rip"]
    assert vals.dtype == np.uint64 and missing.dtype == np.bool_ and len(vals) == 50000


def test_items_agree_with_columns(traces):
    trace = hvlog.open(traces["all"])
    items = [i for i in trace if i.kind == "event"]
    t = trace.read()
    assert [i.ts for i in items] == t.ts.tolist()
    assert [i.time_ns for i in items] == t.time_ns.tolist()
    df = t.to_pandas()
    for i, (_, row) in zip(items, df.iterrows()):
        assert i.event == row.event
        for k, v in i.params.items():
            assert int(row[k]) == v and i[k] == v
    with pytest.raises(KeyError):
        items[0]["no_such_key"]
    lost = [i for i in trace.items() if i.kind == "lost"]
    assert len(lost) == 1 and lost[0].count == 3


def test_per_event_frames(traces):
    t = hvlog.read(traces["mix"])
    frames = t.to_pandas(by_event=True)
    long = t.to_pandas()
    assert sum(len(f) for f in frames.values()) == len(long)
    for name, f in frames.items():
        sub = long[long.event == name]
        assert list(f.ts) == list(sub.ts)
        ev = next(e for e in t.schema["events"] if hvlog._event_name(e["symbol"]) == name)
        for p in ev["params"]:
            assert f[p["key"]].dtype == np.dtype(hvlog._INT_DTYPES[p["type"]])
            assert list(f[p["key"]]) == [int(x) for x in sub[p["key"]]]


def test_lost_table(tools, traces):
    t = hvlog.read(traces["all"])
    js = [o for o in jsonl(tools, traces["all"]) if o["type"] == "lost"]
    lost = t.lost
    assert len(lost) == len(js) == 1
    assert int(lost["count"][0]) == js[0]["count"] == 3
    assert int(lost.stream[0]) == js[0]["stream"] and int(lost.ts[0]) == js[0]["ts"]


@pytest.mark.parametrize("name", ["garbage", "header-bitflip", "payload-bitflip", "truncated", "header-checksum",
                                  "meta-bitflip", "header-trailer-copy"])
def test_damage_table(tools, name):
    path = os.path.join(tools["testdata"], "damaged", name + ".bin")
    gold = [json.loads(l) for l in open(os.path.join(tools["testdata"], "damaged", name + ".jsonl"))]
    dmg = [o for o in gold if o["type"] == "damage"]
    t = hvlog.read(path)
    d = t.damage
    assert len(d) == len(dmg) > 0
    for (_, row), o in zip(d.iterrows(), dmg):
        assert row.offset == o["offset"] and row.length == o["length"] and row.events == o["events_lost"]
        assert row.message == o["message"] and row.status == o["kind"]
        assert (pd.isna(row.stream) and o["stream"] is None) or row.stream == o["stream"]
    assert len(t) == sum(o["type"] == "event" for o in gold)
    # and as items
    items = [i for i in hvlog.open(path) if i.kind == "damage"]
    assert [i.message for i in items] == [o["message"] for o in dmg]


# (a damaged header or first metadata copy is recovered from another copy:
# those files are in test_damage_table)
@pytest.mark.parametrize("name,offset", [("empty", 0), ("not-a-trace", 0), ("both-copies-bad", 32)])
def test_open_errors(tools, name, offset):
    path = os.path.join(tools["testdata"], "damaged", name + ".bin")
    want = open(os.path.join(tools["testdata"], "damaged", name + ".stderr")).readline()
    with pytest.raises(hvlog.Error) as e:
        hvlog.open(path)
    assert e.value.offset == offset
    assert want.rstrip("\n").endswith(":%d: %s" % (offset, e.value.message))


def test_selection_errors(traces):
    with pytest.raises(hvlog.Error) as e:
        hvlog.read(traces["all"], where="port == = 3")
    assert e.value.offset == 8 and e.value.status == "invalid argument"
    with pytest.raises(hvlog.Error) as e:
        hvlog.read(traces["all"], group="interupt")
    assert "did you mean 'interrupt'" in str(e.value) and e.value.offset is None
    with pytest.raises(TypeError):
        hvlog.read(traces["all"], grup="interrupt")
    with pytest.raises(hvlog.Error):
        hvlog.open("/nonexistent/trace.hvlog")


def test_file_objects(traces):
    want = hvlog.read(traces["mix"]).ts
    with open(traces["mix"], "rb") as f:
        assert (hvlog.read(f).ts == want).all()
    data = open(traces["mix"], "rb").read()
    assert (hvlog.read(io.BytesIO(data)).ts == want).all()
    assert (hvlog.read(hvlog.open(traces["mix"])).ts == want).all()


def test_meta_and_schema(tools, traces):
    t = hvlog.open(traces["sim"])
    info = run(tools, "info", traces["sim"])
    assert t.meta["producer"] in info and t.meta["clock_name"] in info
    assert len(t.meta["streams"]) == 3 and t.meta["streams"][2]["vp_index"] == 1
    assert t.schema["name"] == "hyperv" and "msr" in t.schema["valtabs"]
    ev = {e["symbol"]: e for e in t.schema["events"]}["HV_TR_IM_MSR_READ"]
    assert [p["key"] for p in ev["params"]] == ["guest_rip", "index", "value"]
    assert ev["params"][1]["values"] == "msr" and ev["params"][0]["role"] == "guest_rip"


def test_partitions_cover_once(traces):
    t = hvlog.open(traces["mix"])
    whole = sorted(t.read().ts.tolist())
    shares = []
    for p in range(3):
        shares += t.read(part=p, nparts=3).ts.tolist()
    assert sorted(shares) == whole


def test_stats_match_cli(tools, traces):
    path = traces["sim"]
    s = hvlog.stats(path, tops=[("port", 5)])
    js = json.loads(run(tools, "stats", "-f", "json", "--top=port=5", path))
    assert s["events"] == js["events"] and s["lost"] == js["lost_events"]
    assert {"HV_TR_" + k: v for k, v in s["by_event"].items()} == {e["event"]: e["events"] for e in js["event_types"]}
    assert s["by_group"] == {g["group"]: g["events"] for g in js["groups"]}
    top = js["top"][0]["values"] if "top" in js else None
    if top is not None:
        assert [v for v, c, e in s["tops"]["port"]["values"]] == [int(x["value"], 16) for x in top]


def test_write_and_read_back(tmp_path, tools):
    path = tmp_path / "w.hvlog"
    with hvlog.Writer(path, streams=[("vp0", 1, 0), ("vp1", 1, 1)], clock_hz=1000000000, chunk_size=4096,
                      producer="pytest") as w:
        for i in range(1000):
            w.emit_im_io_port_write(i % 2, 1000 + i, 0xFFFFF80000000000 + i, port=0x3F8, value=i & 0xFF)
            w.emit(i % 2, 1000 + i, "IM_MSR_READ", 0x1000 + i, 0xC0000080, i)
            w.emit(i % 2, 1000 + i, 0x1A, 0x2000, i)  # HC_HYPERCALL by number
    t = hvlog.read(path)
    assert len(t) == 3000 and t.meta["producer"] == "pytest"
    df = t.to_pandas()
    io_ = df[df.event == "IM_IO_PORT_WRITE"]
    assert list(io_.value.astype(int)) == [i & 0xFF for i in range(1000)]
    assert (df[df.event == "IM_MSR_READ"].index_name == "IA32_EFER").all()
    assert int(run(tools, "decode", "--count", "--where=port == 0x3f8", str(path))) == 1000
    with pytest.raises(OverflowError):
        with hvlog.Writer(tmp_path / "x.hvlog") as w:
            w.emit_im_io_port_write(0, 1, 0, 0x10000, 0)
    with pytest.raises(TypeError):
        with hvlog.Writer(tmp_path / "y.hvlog") as w:
            w.emit_im_io_port_write(0, 1, 0, port=1)


def test_installed(tmp_path, traces):
    """cmake --install puts an importable package under the prefix."""
    import subprocess
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", os.environ["HVLOG_BUILD"], "--prefix", str(prefix), "--component",
                    "python"], check=True, stdout=subprocess.DEVNULL)
    site = prefix / "lib" / "python3" / "dist-packages"
    assert (site / "hvlog" / "__init__.py").exists() and (site / "hvlog" / "dask.py").exists()
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([os.environ["HVLOG_PYTHON"], "-c",
                          "import sys, hvlog; print(hvlog.__file__); print(len(hvlog.read(sys.argv[1])))",
                          traces["all"]], env=env, cwd=str(tmp_path), check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    assert out[0].startswith(str(site)) and out[1] == "83"
