#!/usr/bin/env python3
"""perfetto_check.py MODDIR TRACE.pftrace DECODE.jsonl BIN_NS

Reads a `hvlog convert --to perfetto` file with python3-protobuf (the
module protoc generated from perfetto/perfetto_trace.proto into MODDIR),
follows each sequence's incremental state as a Perfetto reader does
(interned names, categories, keys and strings, the incremental clock,
the default track) and checks every instant against `hvlog decode
--format json`: time, stream, name, group and each parameter; LOST and
DAMAGE against the lost and damage items; and that the exits/s counters
of each stream and group add up to its events."""
import json
import sys

sys.path.insert(0, sys.argv[1])
import perfetto_trace_pb2 as pb  # noqa: E402

BOOTTIME, DELTA = 6, 64


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


trace = pb.Trace()
with open(sys.argv[2], "rb") as f:
    trace.ParseFromString(f.read())
bin_ns = int(sys.argv[4])

tracks = {}      # uuid -> name
seqs = {}        # sequence id -> state
instants = []    # (ns, track name, name, category, {key: value})
counters = {}    # track name -> sum of values
for p in trace.packet:
    sid = p.trusted_packet_sequence_id
    if p.sequence_flags & pb.TracePacket.SEQ_INCREMENTAL_STATE_CLEARED:
        seqs[sid] = {"names": {}, "cats": {}, "keys": {}, "strs": {}, "clock": None, "track": 0, "delta": 0}
    st = seqs.setdefault(sid, {"names": {}, "cats": {}, "keys": {}, "strs": {}, "clock": None, "track": 0,
                              "delta": 0})
    if p.HasField("trace_packet_defaults"):
        d = p.trace_packet_defaults
        st["clock"] = d.timestamp_clock_id if d.HasField("timestamp_clock_id") else None
        st["track"] = d.track_event_defaults.track_uuid
    if p.HasField("clock_snapshot"):
        for c in p.clock_snapshot.clocks:
            if c.clock_id == DELTA:
                st["delta"] = c.timestamp
    if p.HasField("interned_data"):
        i = p.interned_data
        for n in i.event_names:
            st["names"][n.iid] = n.name
        for n in i.event_categories:
            st["cats"][n.iid] = n.name
        for n in i.debug_annotation_names:
            st["keys"][n.iid] = n.name
        for n in i.debug_annotation_string_values:
            st["strs"][n.iid] = n.str.decode()
    if p.HasField("track_descriptor"):
        t = p.track_descriptor
        tracks[t.uuid] = t.thread.thread_name if t.HasField("thread") else (
            t.process.process_name if t.HasField("process") else t.name)
        continue
    if not p.HasField("track_event"):
        continue
    clock = p.timestamp_clock_id if p.HasField("timestamp_clock_id") else st["clock"]
    if clock == DELTA:
        st["delta"] += p.timestamp
        ns = st["delta"]
    elif clock in (None, BOOTTIME):
        ns = p.timestamp
    else:
        fail("unknown clock %d" % clock)
    e = p.track_event
    track = tracks.get(e.track_uuid if e.HasField("track_uuid") else st["track"], "?")
    if e.type == pb.TrackEvent.TYPE_COUNTER:
        if ns % bin_ns:
            fail("counter value at %d, not at a bin's start" % ns)
        counters[track] = counters.get(track, 0) + e.counter_value
        continue
    if e.type != pb.TrackEvent.TYPE_INSTANT:
        fail("an event of type %d" % e.type)
    args = {}
    for a in e.debug_annotations:
        key = st["keys"][a.name_iid]
        kind = a.WhichOneof("value")
        args[key] = st["strs"][a.string_value_iid] if kind == "string_value_iid" else getattr(a, kind)
    instants.append((ns, track, st["names"][e.name_iid], st["cats"][e.category_iids[0]], args))

def number(v):
    """The JSON dialect's integers: hex strings, decimal strings above 2^53."""
    if isinstance(v, str) and v.startswith("0x"):
        return int(v, 16)
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return v


want = []
per_stream, per_group = {}, {}
with open(sys.argv[3]) as f:
    for line in f:
        it = json.loads(line)
        if it["type"] == "event":
            args = {}
            names = it.get("names", {})
            for k, v in it["params"].items():
                num = number(v)
                if k in names:
                    args[k] = "%s (0x%x)" % (names[k], num)
                else:
                    args[k] = num
            ev = it["event"][6:] if it["event"].startswith("HV_TR_") else it["event"]
            want.append((number(it["time_ns"]), it["stream_name"], ev, it["group"], args))
            per_stream[it["stream_name"]] = per_stream.get(it["stream_name"], 0) + 1
            per_group[it["group"]] = per_group.get(it["group"], 0) + 1
        elif it["type"] == "lost":
            # (first_ns and last_ns: the window in ns, checked for order only)
            want.append((number(it["time_ns"]), it["stream_name"], "LOST", "hvlog", {"count": number(it["count"])}))
        elif it["type"] == "damage":
            want.append((None, "damage", "DAMAGE", "hvlog", {"offset": number(it["offset"])}))

if len(instants) != len(want):
    fail("%d instants, %d items decoded" % (len(instants), len(want)))
for n, (got, exp) in enumerate(zip(instants, want)):
    if exp[2] == "DAMAGE":
        got = (None, got[1], got[2], got[3], {"offset": got[4]["offset"]})
    elif exp[2] == "LOST":
        if not got[4]["first_ns"] <= got[4]["last_ns"]:
            fail("item %d: a lost window that ends before it begins" % n)
        got = got[:4] + ({"count": got[4]["count"]},)
    if got != exp:
        fail("item %d: got %r, want %r" % (n, got, exp))
per_s = 10**9 // bin_ns
for s, count in per_stream.items():
    got = [v for k, v in counters.items() if k.startswith(s + " ") and k[len(s) + 1:] in ("exits/s", "events/s")]
    if not got or got[0] != count * per_s:
        fail("stream %s: counter sum %r, want %d" % (s, got, count * per_s))
for g, count in per_group.items():
    if counters.get(g + " events/s") != count * per_s:
        fail("group %s: counter sum %r, want %d" % (g, counters.get(g + " events/s"), count * per_s))
print("ok: %d instants, %d streams, %d groups" % (len(instants), len(per_stream), len(per_group)))
