#!/usr/bin/env python3
"""perfetto_fields.py OURS.desc THEIRS.desc [--markdown]

Compares two FileDescriptorSets (protoc -o FILE --include_imports): every
message, enum and field of the first (perfetto/perfetto_trace.proto) must
exist in the second (Perfetto's protos/perfetto/trace/trace.proto) with
the same number, type, label and message or enum type.  With --markdown,
prints the table of docs/PERFETTO.md instead of a summary."""
import sys

from google.protobuf import descriptor_pb2

TYPES = {v: k[5:].lower() for k, v in descriptor_pb2.FieldDescriptorProto.Type.items()}
LABELS = {v: k[6:].lower() for k, v in descriptor_pb2.FieldDescriptorProto.Label.items()}


def load(path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as f:
        fds.ParseFromString(f.read())
    msgs, enums = {}, {}

    def walk(prefix, m, fname):
        name = prefix + "." + m.name
        msgs[name] = (m, fname)
        for n in m.nested_type:
            walk(name, n, fname)
        for e in m.enum_type:
            enums[name + "." + e.name] = e

    for fd in fds.file:
        for m in fd.message_type:
            walk("." + fd.package, m, fd.name)
        for e in fd.enum_type:
            enums["." + fd.package + "." + e.name] = e
    return msgs, enums


ours, our_enums = load(sys.argv[1])
theirs, their_enums = load(sys.argv[2])
md = "--markdown" in sys.argv
bad = 0
rows = []
for name, (m, _) in sorted(ours.items()):
    if name not in theirs:
        print("FAIL: %s is not a Perfetto message" % name)
        bad += 1
        continue
    tm, tfile = theirs[name]
    tf = {f.name: f for f in tm.field}
    for f in m.field:
        t = tf.get(f.name)
        kind = f.type_name or TYPES[f.type]
        if (t is None or t.number != f.number or t.type != f.type or t.label != f.label
                or t.type_name != f.type_name):
            print("FAIL: %s.%s (%d, %s): Perfetto has %s" % (name, f.name, f.number, kind,
                  "none" if t is None else "%d, %s" % (t.number, t.type_name or TYPES[t.type])))
            bad += 1
        rows.append("| %s | %s | %d | %s %s | %s |" % (name[17:], f.name, f.number, LABELS[f.label],
                    kind.split(".")[-1], tfile))
for name, e in sorted(our_enums.items()):
    te = their_enums.get(name)
    theirs_v = {v.name: v.number for v in te.value} if te else {}
    for v in e.value:
        if theirs_v.get(v.name) != v.number:
            print("FAIL: enum %s.%s = %d: Perfetto has %s" % (name, v.name, v.number, theirs_v.get(v.name)))
            bad += 1
if md:
    print("| message | field | number | type | Perfetto's file |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
else:
    print("%s: %d messages, %d fields, %d enums compared" % ("ok" if not bad else "FAIL", len(ours), len(rows),
          len(our_enums)))
sys.exit(1 if bad else 0)
