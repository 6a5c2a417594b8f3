#!/usr/bin/python3
"""Checks `hvlog convert` output with independent readers, against
`hvlog decode --format json` (REF, JSON Lines) of the same trace.

  convert_check.py csv   OUT.csv REF
  convert_check.py cbor  OUT.cbor REF OUT.jsonl   (meta compared with the JSON meta line)
  convert_check.py json  OUT.jsonl REF           (exact 64-bit values; jq checks the rest)
  convert_check.py ctf   CYCLES.txt SECONDS.txt REF OUT.jsonl   (babeltrace2 text output)

Prints one line per failed check and exits 1 if any failed."""
import csv
import json
import re
import sys

FIXED = ["type", "time_ns", "ts", "stream", "stream_name", "group", "event", "number"]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("  " + msg)
    if failures > 20:
        print("  (stopping after 20 failures)")
        sys.exit(1)


def norm(v):
    """decode --format json: hex parameters are strings, bools are bools."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        return int(v, 0)
    return v


NUMERIC = re.compile(r"^(0x[0-9a-f]+|-?[0-9]+)$")


def exact(v):
    """convert --to json: hex parameters are "0x.." strings and integers
    above 2^53 decimal strings (both exact through readers that use
    doubles); as integers, recursively."""
    if isinstance(v, str) and NUMERIC.match(v):
        return int(v, 0)
    if isinstance(v, dict):
        return {k: exact(x) for k, x in v.items()}
    if isinstance(v, list):
        return [exact(x) for x in v]
    return v


def load_ref(path):
    items = [json.loads(line) for line in open(path)]
    return [i for i in items if i["type"] == "event"], [i for i in items if i["type"] == "lost"]


def check_csv(path, ref_path):
    events, lost = load_ref(ref_path)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    if header[:8] != FIXED or header[-1] != "detail":
        fail("header %r does not start with the fixed columns and end with detail" % header[:9])
    if len(set(header)) != len(header):
        fail("header has duplicate columns")
    col = {name: i for i, name in enumerate(header)}
    for n, r in enumerate(rows[1:], 2):
        if len(r) != len(header):
            fail("row %d has %d cells, header %d" % (n, len(r), len(header)))
    rows_ev = [r for r in rows[1:] if r[0] == "event"]
    rows_lost = [r for r in rows[1:] if r[0] == "lost"]
    if len(rows_ev) != len(events):
        fail("%d event rows, decode has %d events" % (len(rows_ev), len(events)))
    if len(rows_lost) != len(lost):
        fail("%d lost rows, decode has %d" % (len(rows_lost), len(lost)))
    for r, e in zip(rows_ev, events):
        if (int(r[2]), int(r[3]), r[6], int(r[7])) != (e["ts"], e["stream"], e["event"], e["number"]):
            fail("row %r differs from %r" % (r[:8], e))
            continue
        for k, v in e["params"].items():
            c = col.get("param_" + k, col.get(k)) if k in FIXED + ["detail"] else col.get(k)
            if c is None or r[c] == "" or int(r[c], 0) != norm(v):
                fail("%s ts %d: %s=%r in CSV, %r in decode" % (e["event"], e["ts"], k, c is not None and r[c], v))
        for k, name in e.get("names", {}).items():
            c = col.get(k + "_name")
            if c is None or r[c] != name:
                fail("%s ts %d: %s_name is %r, decode says %r" % (e["event"], e["ts"], k, c is not None and r[c], name))
    print("csv: %d rows, %d columns, %d events, %d lost" % (len(rows) - 1, len(header), len(rows_ev), len(rows_lost)))


def compare_items(items, events, lost, what):
    ev = [i for i in items if i.get("type") == "event"]
    lo = [i for i in items if i.get("type") == "lost"]
    if len(ev) != len(events):
        fail("%s: %d events, decode has %d" % (what, len(ev), len(events)))
    if len(lo) != len(lost):
        fail("%s: %d lost items, decode has %d" % (what, len(lo), len(lost)))
    for a, e in zip(ev, events):
        want = (e["ts"], e["time_ns"], e["stream"], e["event"], e["number"],
                {k: norm(v) for k, v in e["params"].items()}, e.get("names", {}))
        got = (a["ts"], a["time_ns"], a["stream"], a["event"], a["number"], a["params"], a.get("names", {}))
        if got != want:
            fail("%s: %r\n    decode: %r" % (what, got, want))
    for a, e in zip(lo, lost):
        if (a["ts"], a["stream"], a["count"], a["first_ts"], a["last_ts"]) != \
           (e["ts"], e["stream"], e["count"], e["first_ts"], e["last_ts"]):
            fail("%s: lost %r, decode %r" % (what, a, e))
    return len(ev), len(lo)


def check_json(path, ref_path):
    events, lost = load_ref(ref_path)
    items = [exact(json.loads(line)) for line in open(path)]
    if items[0].get("type") != "meta":
        fail("the first line is not the metadata")
    n, nl = compare_items(items[1:], events, lost, "json")
    print("json: %d events, %d lost, every value exact" % (n, nl))


def check_cbor(path, ref_path, json_path):
    import cbor2
    events, lost = load_ref(ref_path)
    items = []
    with open(path, "rb") as f:
        dec = cbor2.CBORDecoder(f)
        while f.peek(1):
            items.append(dec.decode())
    meta = exact(json.loads(open(json_path).readline()))
    if items[0] != meta:
        fail("CBOR metadata differs from the JSON meta line")
    n, nl = compare_items(items[1:], events, lost, "cbor")
    print("cbor: %d items, metadata and %d events, %d lost exact" % (len(items), n, nl))


LINE = re.compile(r"^\[([0-9.]+)\] \([^)]*\) (\S+): \{ cpu_id = (\d+), partition_id = \d+, vp_index = \d+ \}(?:, \{ (.*) \})?$")


def parse_bt(path):
    out = []
    for line in open(path):
        m = LINE.match(line.rstrip("\n"))
        if not m:
            fail("babeltrace2 line not understood: %r" % line[:200])
            continue
        fields = {}
        if m.group(4):
            for kv in m.group(4).split(", "):
                k, v = kv.split(" = ")
                fields[k] = int(v, 0) if v.lower().startswith("0x") else int(v)
        out.append((m.group(1), m.group(2), int(m.group(3)), fields))
    return out


def check_ctf(cycles_path, seconds_path, ref_path, json_path):
    events, _ = load_ref(ref_path)
    meta = exact(json.loads(open(json_path).readline()))
    hz, epoch = meta["clock"]["hz"], meta["clock"]["epoch_ns"]
    cyc, sec = parse_bt(cycles_path), parse_bt(seconds_path)
    if len(cyc) != len(events) or len(sec) != len(events):
        fail("babeltrace2 lists %d/%d events, decode %d" % (len(cyc), len(sec), len(events)))
    # babeltrace2 may order equal timestamps of different streams its own
    # way: compare each stream's sequence
    by_stream, ref_stream = {}, {}
    for c, s in zip(cyc, sec):
        by_stream.setdefault(c[2], []).append((c, s))
    for e in events:
        ref_stream.setdefault(e["stream"], []).append(e)
    if sorted(by_stream) != sorted(ref_stream):
        fail("streams %r in CTF, %r in decode" % (sorted(by_stream), sorted(ref_stream)))
    checked = 0
    for sid, evs in ref_stream.items():
        for (c, s), e in zip(by_stream.get(sid, []), evs):
            ns_want = e["ts"] * 10**9 // hz + epoch
            sec_s, _, frac = s[0].partition(".")
            ns_got = int(sec_s) * 10**9 + int(frac.ljust(9, "0"))
            if int(c[0]) != e["ts"] or c[1] != e["event"] or abs(ns_got - ns_want) > 1:
                fail("stream %d: babeltrace2 %r / %s, decode ts %d (%d ns) %s" % (sid, c[:2], s[0], e["ts"], ns_want, e["event"]))
                continue
            want = {k: norm(v) for k, v in e["params"].items()}
            if c[3] != want:
                fail("stream %d ts %d %s: fields %r, decode %r" % (sid, e["ts"], e["event"], c[3], want))
            checked += 1
    print("ctf: %d events in %d streams: names, cycles, ns and every field value match" % (checked, len(by_stream)))


def main():
    kind, args = sys.argv[1], sys.argv[2:]
    {"csv": check_csv, "json": check_json, "cbor": check_cbor, "ctf": check_ctf}[kind](*args)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
