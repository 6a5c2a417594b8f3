#!/usr/bin/env python3
"""The damage campaign on a real trace (issue: format 1.0, final).

A 200 012-event trace of `hvcore -w mixed -v 4 -n 200000` is damaged in
every way a disk, a copy or a careless tool damages files, one damage at a
time, and `hvlog decode --count` must keep every event of every intact
chunk, say that something was wrong (exit status not 0) and never crash:

- every bit of the file header flipped, and 60 bits of the metadata;
- chunk lengths changed by +-1, +-1000, +1 MiB and +8 MiB, and the other
  header fields (sequence, stream, timestamps, count, flags) set to absurd
  values, each with the header checksum made consistent;
- sequence numbers raised by 1000, and far (to just under the file's size,
  and past it), checksum consistent;
- 60 bits flipped inside chunk payloads;
- 40 truncations;
- chunks swapped, duplicated, and garbage spliced between chunks.

Usage: damage_campaign.py HVCORE HVLOG [--pipe].  With --pipe every
damaged file goes through a pipe (`cat F | hvlog decode --count -`), which
the live reader reads as it arrives (FORMAT.md §6.6); two swapped chunks
may be damage there, because a live reader takes a stream's chunks in the
order they come (one that comes after a later one of its stream is
reported missing when that one arrives), but both are kept.  The seed is fixed:
the same damage every run.  Chunks are found by their sync marker and header
checksum (docs/FORMAT.md §4), with nothing from the decoder's code.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile

HVCORE, HVLOG = sys.argv[1], sys.argv[2]
PIPE = "--pipe" in sys.argv[3:]
SYNC = b"\xc3HVCHUNK"
HEADER = 64
META = 4  # chunk flag: a metadata copy

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = TABLE[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def chunks_of(data):
    """(offset, len, flags, nevents) of every chunk with a valid header."""
    out, p = [], data.find(SYNC)
    while p >= 0:
        h = data[p : p + HEADER]
        if len(h) == HEADER and struct.unpack_from("<I", h, 8)[0] == crc32c(h[12:]):
            ln, _, fl = struct.unpack_from("<IHH", h, 12)
            out.append((p, ln, fl, struct.unpack_from("<I", h, 56)[0]))
        p = data.find(SYNC, p + 1)
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="hvlog-campaign.")
    src, work = os.path.join(tmp, "t.hvlog"), os.path.join(tmp, "x.hvlog")
    subprocess.run([HVCORE, "--no-progress", "-w", "mixed", "-v", "4", "-n", "200000", "-o", src],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = open(src, "rb").read()
    events = [c for c in chunks_of(data) if not c[2] & META]
    total = sum(c[3] for c in events)
    meta_end = chunks_of(data)[0][0]
    rng = random.Random(1)
    results, failures = {}, []

    def decode(buf, follow=False):
        with open(work, "wb") as f:
            f.write(buf)
        try:
            cmd = [HVLOG, "decode", "--count", work]
            if follow:
                cmd = [HVLOG, "decode", "--follow", "--count", work]
            elif PIPE:
                cmd = ["sh", "-c", 'cat "$1" | "$2" decode --count -', "sh", work, HVLOG]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30 if follow else 120)
        except subprocess.TimeoutExpired:
            return -1, "timeout", ""
        if r.returncode < 0 or r.returncode > 3:
            return -1, r.returncode, r.stderr
        return int(r.stdout.split()[0]) if r.stdout.strip() else 0, r.returncode, r.stderr

    def lines(err):
        return sorted(err.replace("(stdin):", work + ":").splitlines())

    def check(kind, buf, want_events, damaged=True, what="", follow=False, as_file=False):
        n, rc, err = decode(buf, follow)
        ok = n >= want_events and (damaged is None or (rc != 0) == damaged)
        if ok and as_file and PIPE:
            # what the file reader gives: the same events, each damage
            # said once, in the same words, at the same offset
            r = subprocess.run([HVLOG, "decode", "--count", work], capture_output=True, text=True, timeout=120)
            n1 = int(r.stdout.split()[0]) if r.stdout.strip() else 0
            if (n, rc, lines(err)) != (n1, r.returncode, lines(r.stderr)):
                ok = False
                err = f"not what the file gives ({n1} events, exit {r.returncode}: {r.stderr[:300]}): {err}"
        a = results.setdefault(kind, [0, 0])
        a[0] += ok
        a[1] += 1
        if not ok:
            failures.append(f"{kind} {what}: {n} events (want >= {want_events}), exit {rc}: {str(err)[:300]}")

    def consistent(b, p):
        struct.pack_into("<I", b, p + 8, crc32c(bytes(b[p + 12 : p + HEADER])))

    for i in range(32 * 8):
        b = bytearray(data)
        b[i // 8] ^= 1 << (i % 8)
        check("header bit flipped", bytes(b), total, what=f"bit {i}")
    for _ in range(60):
        i = rng.randrange(32 * 8, meta_end * 8)
        b = bytearray(data)
        b[i // 8] ^= 1 << (i % 8)
        check("metadata bit flipped", bytes(b), total, what=f"bit {i}")
    for p, ln, _, nev in rng.sample(events, 12):
        for d in (1, -1, 1000, -1000, 1 << 20, 8 << 20):
            b = bytearray(data)
            struct.pack_into("<I", b, p + 12, (ln + d) & 0xFFFFFFFF)
            consistent(b, p)
            check("chunk length changed, checksum consistent", bytes(b), total - nev, what=f"at {p} by {d}")
    for p, ln, _, nev in rng.sample(events, 12):
        for off, size, val in ((24, 8, 1 << 40), (16, 2, 0x7FFF), (32, 8, 1 << 62), (40, 8, 5),
                               (48, 8, 1 << 63), (56, 4, 0xFFFFFF), (18, 2, 0x8)):
            b = bytearray(data)
            b[p + off : p + off + size] = val.to_bytes(size, "little")
            consistent(b, p)
            check("chunk header field absurd, checksum consistent", bytes(b), total - nev, what=f"at {p}+{off}")
    # a sequence number raised: a gap, and the chunks after it still count
    # (a raise onto a later chunk's number costs that one, a duplicate)
    for p, ln, _, nev in rng.sample(events, 6):
        b = bytearray(data)
        struct.pack_into("<Q", b, p + 24, struct.unpack_from("<Q", b, p + 24)[0] + 1000)
        consistent(b, p)
        check("chunk sequence number raised, checksum consistent", bytes(b), total, what=f"at {p}", as_file=True)
    # a sequence number raised far, yet not above the file's size: valid
    # (§6.2 bounds it by the size), so it costs no events; a live reader
    # must wait for the bytes to reach it rather than judge it by the
    # bytes read so far, and a followed file, closed, must still end
    # (its own generator: the other classes keep their damage); one above
    # the size is absurd, on a pipe too, once the pipe has ended, and one
    # too far ahead to wait for is judged at once, the message says so
    for p, ln, _, nev in events[:3] + random.Random(2).sample(events[3:], 3):
        for seq in (len(data) - 1, len(data), (p + len(data)) // 2, min(p + HEADER + ln + 70000, len(data)),
                    len(data) + 1, p + (64 << 20) + 1):
            b = bytearray(data)
            struct.pack_into("<Q", b, p + 24, seq)
            consistent(b, p)
            kind, want = "chunk sequence number raised within the file's size, checksum consistent", total
            if seq > len(data):
                kind, want = "chunk sequence number raised above the file's size, checksum consistent", total - nev
            far = seq > p + (64 << 20)
            check(kind, bytes(b), want, what=f"at {p} to {seq}", as_file=not far)
            if PIPE:
                check(kind + ", the file followed", bytes(b), want, what=f"at {p} to {seq}", follow=True,
                      as_file=not far)
            if PIPE and seq > p + (64 << 20):
                n, rc, err = decode(bytes(b))
                if "too far ahead to wait for" not in err:
                    failures.append(f"{kind} at {p} to {seq}: no word of why it was not waited for: {err[:300]}")
    if not PIPE:
        # a sequence number raised or lowered by one onto its stream's
        # neighbour: the intact chunk keeps its place, and the liar's times
        # fit the gap it left, where the index puts it back (a live reader
        # has passed that gap when the liar comes, FORMAT.md §6.6)
        def stream_seq(p):
            return struct.unpack_from("<H", data, p + 16)[0], struct.unpack_from("<Q", data, p + 24)[0]
        pairs = []
        for i, (p, _, _, _) in enumerate(events):
            s, q = stream_seq(p)
            nxt = next((c for c in events[i + 1 :] if stream_seq(c[0])[0] == s), None)
            if nxt and stream_seq(nxt[0])[1] == q + 1:
                pairs.append((p, nxt[0], q))
        # (a generator of their own: the cases after these stay the same)
        for p, pn, q in random.Random(2).sample(pairs, 6):
            for at, seq in ((p, q + 1), (pn, q)):
                b = bytearray(data)
                struct.pack_into("<Q", b, at + 24, seq)
                consistent(b, at)
                check("chunk sequence number moved onto its neighbour's, checksum consistent", bytes(b), total,
                      what=f"at {at} to {seq}")
        # a length raised over the last metadata copy alone, to end at the
        # trailer: no stream's chunk is missing, yet the copy the trailer
        # names was not reached, so the chunk proves its length by its payload
        last = [c for c in chunks_of(data) if c[2] & META][-1][0]
        p, ln, _, _ = next(c for c in events if c[0] + HEADER + c[1] == last)
        b = bytearray(data)
        struct.pack_into("<I", b, p + 12, len(data) - 24 - p - HEADER)
        consistent(b, p)
        check("chunk length raised over the last metadata copy, checksum consistent", bytes(b), total, what=f"at {p}")
    # a copy of a chunk whose payload is damaged, right before an intact
    # copy of it; and a chunk whose stream id lies onto the next chunk's
    # stream and number: the file reader keeps the copy that verifies and
    # continues its stream's time, and so must a pipe while both are
    # queued (its own generator: the other classes keep their damage)
    g = random.Random(4)
    for p, ln, fl, nev in g.sample(events[8:-8], 4):
        blob = bytearray(data[p : p + HEADER + ln])
        blob[HEADER + ln // 2] ^= 1
        b = data[:p] + bytes(blob) + data[p:]
        check("a damaged copy of a chunk before an intact one", b, total, what=f"at {p}", as_file=True)
    pairs = [(a, z) for a, z in zip(events, events[1:])
             if data[a[0] + 24 : a[0] + 32] == data[z[0] + 24 : z[0] + 32] and data[a[0] + 16 : a[0] + 18] !=
             data[z[0] + 16 : z[0] + 18]]
    for a, z in g.sample(pairs[4:-4], 4):
        b = bytearray(data)
        b[a[0] + 16 : a[0] + 18] = data[z[0] + 16 : z[0] + 18]
        consistent(b, a[0])
        check("a chunk's stream id changed onto the next chunk's, checksum consistent", bytes(b), 0,
              what=f"at {a[0]}", as_file=True)
    # a chunk length that lies (checksum consistent), where no later
    # header lines up with it: the chunk ends where the next valid header
    # starts, its payload verifying there, on a pipe as in the file
    for p, ln, fl, nev in random.Random(5).sample(events[8:-8], 3):
        for dl in (1, -1, 64, -64, 1000):
            b = bytearray(data)
            struct.pack_into("<I", b, p + 12, (ln + dl) & 0xFFFFFFFF)
            consistent(b, p)
            check("chunk length off a little, checksum consistent", bytes(b), total, what=f"at {p} by {dl}",
                  as_file=True)
    # FINAL set on a chunk in the middle of its stream: one damage item,
    # for the chunk right after it, as the file reader reports it (its
    # own generator: the other classes keep their damage)
    for p, ln, fl, nev in random.Random(3).sample(events[8:-8], 4):
        b = bytearray(data)
        struct.pack_into("<H", b, p + 18, fl | 1)
        consistent(b, p)
        check("FINAL set on a middle chunk, checksum consistent", bytes(b), total, what=f"at {p}", as_file=True)
    for _ in range(60):
        p, ln, _, nev = rng.choice(events)
        i = rng.randrange((p + HEADER) * 8, (p + HEADER + ln) * 8)
        b = bytearray(data)
        b[i // 8] ^= 1 << (i % 8)
        check("payload bit flipped", bytes(b), total - nev, what=f"bit {i}")
    for _ in range(40):
        cut = rng.randrange(meta_end + 1, len(data))
        kept = sum(c[3] for c in events if c[0] + HEADER + c[1] <= cut)
        check("truncated", data[:cut], kept, what=f"at {cut}")
    trailer = data[-24:]
    copies = [c for c in chunks_of(data) if c[2] & META]
    p, ln = copies[-1][0], copies[-1][1]
    last_copy = data[p : p + HEADER + ln]
    b = bytearray(last_copy)
    b[HEADER + ln // 2] ^= 1
    struct.pack_into("<I", b, 60, crc32c(bytes(b[HEADER:])))
    consistent(b, 0)
    other_copy = bytes(b)
    for _ in range(10):
        a, z = sorted(rng.sample(range(len(events)), 2))
        A, Z = events[a], events[z]
        ea, ez = A[0] + HEADER + A[1], Z[0] + HEADER + Z[1]
        swapped = data[: A[0]] + data[Z[0] : ez] + data[ea : Z[0]] + data[A[0] : ea] + data[ez:]
        # a live reader takes a stream's chunks as they come: one that
        # comes after a later one of its stream was missing then (damage)
        check("two chunks swapped", swapped, total, damaged=None if PIPE else False, what=f"{a} and {z}")
        check("a chunk duplicated", data[: Z[0]] + data[A[0] : ea] + data[Z[0] :], total, what=f"{a}")
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5000)))
        check("garbage spliced between chunks", data[: A[0]] + garbage + data[A[0] :], total, what=f"before {a}")
        # the writer's closing records are the end only at the end: a
        # trailer spliced in is bytes without a chunk header, a copy of
        # the last metadata copy spliced in is no damage
        check("a trailer spliced between chunks", data[: A[0]] + trailer + data[A[0] :], total, what=f"before {a}")
        check("the last metadata copy spliced between chunks", data[: A[0]] + last_copy + data[A[0] :], total,
              damaged=False, what=f"before {a}")
        check("a metadata copy that differs spliced between chunks", data[: A[0]] + other_copy + data[A[0] :], total,
              what=f"before {a}")
    # forged chunk headers (valid checksums), each claiming 16 MiB, then
    # zeros: proving each claimed length by its payload checksum is
    # budgeted, in the live reader as in the file reader's index, so the
    # pipe costs about what the file costs (without the budget: 16 MiB of
    # checksum per header, seconds per thousand headers)
    if PIPE:
        import time
        forged = bytearray(data[:meta_end])
        h0 = data[events[0][0] : events[0][0] + HEADER]
        for i in range(5000):
            h = bytearray(h0)
            struct.pack_into("<IHH", h, 12, 16 << 20, 1, 0)
            struct.pack_into("<QQQQII", h, 24, i, 0, 0, 0, 0, 0x12345678)
            consistent(h, 0)
            forged += h
        forged += bytes(17 << 20)
        t0 = time.monotonic()
        n, rc, err = decode(bytes(forged))
        took = time.monotonic() - t0
        results.setdefault("forged headers claiming 16 MiB, in linear time", [0, 0])
        results["forged headers claiming 16 MiB, in linear time"][1] += 1
        if rc == -1 or took > 5:
            failures.append(f"forged headers claiming 16 MiB: {took:.1f} s, exit {rc}")
        else:
            results["forged headers claiming 16 MiB, in linear time"][0] += 1
    # more gaps in one stream than a live reader remembers runs of
    # numbers for (copies of one chunk numbered 0, 2, 4, ...), then a copy
    # numbered 0 again: a duplicate, never decoded twice (the count is
    # the file's; its words differ, the copies' times disagree)
    if PIPE:
        p, ln = events[0][0], events[0][1]
        out = bytearray(data[: events[-1][0]])
        for k in list(range(0, 300, 2)) + [0]:
            c = bytearray(data[p : p + HEADER + ln])
            struct.pack_into("<Q", c, 24, 1000 + k)
            consistent(c, 0)
            out += c
        out += data[events[-1][0] :]
        n, rc, err = decode(bytes(out))
        r = subprocess.run([HVLOG, "decode", "--count", work], capture_output=True, text=True, timeout=120)
        n1 = int(r.stdout.split()[0]) if r.stdout.strip() else 0
        a = results.setdefault("more gaps than runs remembered, then a duplicate", [0, 0])
        a[1] += 1
        if n == n1:
            a[0] += 1
        else:
            failures.append(f"more gaps than runs remembered, then a duplicate: {n} events, the file {n1}")
    # a second trace after the first (`cat a b`): its header and metadata
    # are bytes without a chunk header, its chunks duplicates
    check("the trace twice, one after the other", data + data, total)

    print(f"damage_campaign{' through a pipe' if PIPE else ''}: {len(events)} event chunks, {total} events")
    for kind, (ok, n) in results.items():
        print(f"  {ok}/{n}  {kind}")
    for f in failures[:20]:
        print("FAIL:", f)
    for f in (src, work):
        if os.path.exists(f):
            os.unlink(f)
    os.rmdir(tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
