#!/usr/bin/env python3
"""Trace format 1.0 is frozen: pin its bytes.

    format_frozen.py TRACEGEN FORMAT.md TESTDATA_DIR

- `tracegen all` and `tracegen mix 2000` must write the bytes whose
  SHA-256 is pinned below, and so must the golden traces in testdata/;
- every byte that the worked example of FORMAT.md §9 shows (the hex dumps
  with addresses, and the record bytes under "offset N = 0xN") must be the
  byte at that offset of the file `tracegen all` writes.

A change to the wire layout fails here whatever else is regenerated with it:
1.0 readers could not read it.  FORMAT.md §7 says what may change in 1.x.
"""
import hashlib
import os
import re
import subprocess
import sys
import tempfile

PINNED = {
    ("all",): "bc9112959b0f82d3e8ed04b39bb454780dcb8ad820f248f9385a7c55fa3d0cbb",
    ("mix", "2000"): "927d4e4e8157b4fb46abe3b4c2743a5f4721de001194980757131b97f046e594",
}
FROZEN = ("the trace format 1.0 is frozen (docs/FORMAT.md §7): %s. A change to "
          "the wire layout is a new major version, not a regenerated golden file.")

HEXDUMP = re.compile(r"^([0-9A-F]{8}): (.*)$", re.M)
AT_OFFSET = re.compile(r"offset\s+(\d[\d ]*) = 0x([0-9A-F]+)(?:(?!```).)*?\n```\n(.*?)```", re.S)
BYTE = re.compile(r"^[0-9A-F]{2}$")


def leading_bytes(line):
    """The hex bytes a line of a record listing starts with."""
    out = []
    for tok in line.split():
        if not BYTE.match(tok):
            break
        out.append(int(tok, 16))
    return out


def worked_example(doc):
    """(offset, bytes) pairs that FORMAT.md §9 states."""
    sec = doc[doc.index("\n## 9 Worked example"):]
    sec = sec[:sec.index("\n### 9.9")]  # 9.9 is a chunk of its own, not of the file
    shown = []
    for m in HEXDUMP.finditer(sec):
        shown.append((int(m.group(1), 16), bytes(leading_bytes(m.group(2)))))
    for m in AT_OFFSET.finditer(sec):
        dec, hexa = int(m.group(1).replace(" ", "")), int(m.group(2), 16)
        if dec != hexa:
            sys.exit("FORMAT.md §9: offset %s is not 0x%s" % (m.group(1), m.group(2)))
        listed = b"".join(bytes(leading_bytes(ln)) for ln in m.group(3).splitlines())
        if listed:
            shown.append((dec, listed))
    return shown


def main(argv):
    tracegen, fmt, data = argv[1:4]
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for args, want in PINNED.items():
            out = os.path.join(tmp, args[0] + ".bin")
            subprocess.run([tracegen, args[0], *args[1:], out], check=True)
            files[args[0]] = open(out, "rb").read()
            got = hashlib.sha256(files[args[0]]).hexdigest()
            if got != want:
                fails.append("tracegen %s writes bytes of SHA-256 %s, pinned %s" % (" ".join(args), got, want))
            gold = os.path.join(data, "golden", args[0] + ".bin")
            got = hashlib.sha256(open(gold, "rb").read()).hexdigest()
            if got != want:
                fails.append("testdata/golden/%s.bin has SHA-256 %s, pinned %s" % (args[0], got, want))
    doc = open(fmt, encoding="utf-8").read()
    shown = worked_example(doc)
    if len(shown) < 10:
        fails.append("FORMAT.md §9 shows only %d byte listings: the parser lost them" % len(shown))
    for off, want in shown:
        got = files["all"][off:off + len(want)]
        if got != want:
            fails.append("FORMAT.md §9 shows %s at offset %d (0x%X), tracegen all writes %s"
                         % (want.hex(" ").upper(), off, off, got.hex(" ").upper()))
    for f in fails:
        print("FAIL: " + FROZEN % f)
    print("format_frozen: %d byte listings of §9 and %d pinned traces checked, %d failed"
          % (len(shown), len(PINNED), len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
