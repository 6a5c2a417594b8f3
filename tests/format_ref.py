#!/usr/bin/env python3
"""Reference decoder of the hvlog trace format, written from docs/FORMAT.md.

    format_ref.py FILE.bin            print the items as JSON Lines
    format_ref.py --compare FILE.bin HVLOG_JSONL
                                      compare with `hvlog decode --format json`
    format_ref.py --craft FILE.bin DIR
                                      write damaged copies of FILE.bin whose
                                      checksums are made consistent (§6.3, §6.4)

It follows FORMAT.md only (no code of the project was read to write it), so
that a disagreement with `hvlog decode` points at a gap in the document or
in the reader.  Speed does not matter: everything is plain Python.  The
output has the fields of `hvlog decode --format json` for event, lost and
damage items (the damage `message` text is not specified by FORMAT.md and
is left out); --compare normalises what is presentation (hex strings,
decimal strings for big integers, bools) and compares values.
"""
import json
import struct
import sys

import cbor2

MAGIC = b"\x89HVL\r\n\x1a\n"
SYNC = b"\xc3HVCHUNK"
TRAILER_MAGIC = b"\x89HVLTRL\n"
FINAL, BACKWARDS, META = 1, 2, 4
M64 = (1 << 64) - 1
TRUNCATED = "input ends early (more bytes would help)"
MALFORMED = "malformed data"
CHECKSUM = "checksum mismatch"
TYPES = ["u8", "u16", "u32", "u64", "bool"]
TYPE_MAX = [0xFF, 0xFFFF, 0xFFFFFFFF, M64, 1]
CODINGS = ["varint", "delta", "keyed"]


class OpenError(Exception):
    pass


class Malformed(Exception):
    pass


def crc32c(data):
    """§2: CRC-32C, bit-wise reference (slow, clear)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


_crc_table = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ (0x82F63B78 if _c & 1 else 0)
    _crc_table.append(_c)


def crc(data):
    """Table form of crc32c() above (same result, fewer steps)."""
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ _crc_table[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283 == crc(b"123456789")


# ---- §3 metadata --------------------------------------------------------

def _text(m, key, cap=64):
    v = m.get(key)
    if not isinstance(v, str) or "\0" in v or len(v.encode()) > cap:
        raise Malformed("bad text %r" % key)
    return v


def _uint(m, key, cap=M64):
    v = m.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > cap:
        raise Malformed("bad uint %r" % key)
    return v


def parse_meta(raw):
    """Load and check one metadata block (§3); raise Malformed on a breach."""
    try:
        m = cbor2.loads(raw)
    except Exception as e:  # an incomplete or invalid item
        raise Malformed("cbor: %s" % e)
    # cbor2.loads ignores trailing bytes: §3.1 says they make the block invalid
    if len(cbor2.dumps(m)) > len(raw):
        raise Malformed("short item")
    if not isinstance(m, dict) or m.get("format") != "hvlog":
        raise Malformed("format")
    meta = {"producer": _text(m, "producer", 256)}
    clock = m.get("clock")
    if not isinstance(clock, dict):
        raise Malformed("clock")
    hz = _uint(clock, "hz")
    if hz == 0:
        raise Malformed("hz")
    meta["clock"] = {"name": _text(clock, "name"), "hz": hz}
    streams = m.get("streams")
    if not isinstance(streams, list) or not 1 <= len(streams) <= 65536:
        raise Malformed("streams")
    meta["streams"] = []
    for i, s in enumerate(streams):
        if not isinstance(s, dict) or _uint(s, "id") != i:
            raise Malformed("stream id")
        meta["streams"].append({"id": i, "name": _text(s, "name"),
                                "partition": _uint(s, "partition"),
                                "vp": _uint(s, "vp", 0xFFFFFFFF)})
    sch = m.get("schema")
    if not isinstance(sch, dict):
        raise Malformed("schema")
    groups = [{"alias": _text(g, "alias"), "mask": _uint(g, "mask")}
              for g in sch.get("groups") or []]
    valtabs = []
    for v in sch.get("valtabs") or []:
        table = {}
        for pair in v["values"]:
            val, name = pair
            table.setdefault(val, name)
        valtabs.append(table)
    events = []
    slot = 0
    numbers = set()
    for e in sch.get("events") or []:
        num = _uint(e, "number", 0xFFFF)
        if num in numbers:
            raise Malformed("duplicate event number")
        numbers.add(num)
        grp = _uint(e, "group")
        if grp >= len(groups):
            raise Malformed("group")
        params = []
        for i, p in enumerate(e["params"]):
            par = {"key": _text(p, "key"), "type": TYPES.index(p["type"]),
                   "display": p["display"], "coding": CODINGS.index(p["coding"]),
                   "values": p.get("values")}
            if par["display"] not in ("hex", "dec", "bool", "enum"):
                raise Malformed("display")
            if par["coding"] == 2 and i == 0:
                raise Malformed("keyed first parameter")
            # §5.5: a delta parameter whose role is guest_rip is a RIP
            # parameter, coded against the stream's RIP cache (coding 3 in
            # the fingerprint)
            if par["coding"] == 1 and p.get("role") == "guest_rip":
                par["coding"] = 3
            if par["values"] is not None and par["values"] >= len(valtabs):
                raise Malformed("values")
            params.append(par)
        events.append({"number": num, "symbol": _text(e, "symbol"),
                       "group": groups[grp]["alias"], "params": params,
                       "slot": slot})
        slot += len(params)
    meta["events"] = {e["number"]: e for e in events}
    meta["valtabs"] = valtabs
    meta["nslots"] = slot
    # §3.5 schema fingerprint
    fp = struct.pack("<I", len(events))
    for e in events:
        fp += struct.pack("<HB", e["number"], len(e["params"]))
        for p in e["params"]:
            fp += bytes([p["type"], p["coding"]])
    meta["fp"] = crc(fp) or 1
    return meta


# ---- §4 chunk headers ---------------------------------------------------

HDR = struct.Struct("<8sIIHHIQQQQII")


def header_at(data, off):
    (sync, hcrc, length, stream, flags, meta_fp, seq, base_ts, first_ts,
     last_ts, nevents, pcrc) = HDR.unpack_from(data, off)
    return {"sync": sync, "header_crc": hcrc, "len": length, "stream": stream,
            "flags": flags, "meta_fp": meta_fp, "seq": seq, "base_ts": base_ts,
            "first_ts": first_ts, "last_ts": last_ts, "nevents": nevents,
            "payload_crc": pcrc, "off": off}


class Reader:
    def __init__(self, data):
        self.data = data
        self.size = len(data)
        self.open_damage = []
        self.index_damage = []
        self.open()

    # §4.4
    def valid(self, off, nstreams=None):
        d = self.data
        if off + 64 > self.size or d[off:off + 8] != SYNC:
            return None
        h = header_at(d, off)
        if crc(d[off + 12:off + 64]) != h["header_crc"]:
            return None
        ns = self.nstreams if nstreams is None else nstreams
        if ns is not None and h["stream"] >= ns:
            return None
        if h["len"] > 16777216 or h["nevents"] > h["len"]:
            return None
        if h["flags"] & ~7 or h["seq"] > self.size:
            return None
        if h["flags"] & META:
            if h["stream"] != 0 or h["nevents"] != 0 or h["len"] > 1048576:
                return None
        elif not (h["flags"] & BACKWARDS or
                  (h["first_ts"] >= h["base_ts"] and h["last_ts"] >= h["first_ts"])):
            return None
        return h

    def verifies(self, off, h):
        q = off + 64 + h["len"]
        if q == self.end or self.valid(q):
            return True
        return crc(self.data[off + 64:q]) == h["payload_crc"]

    def resync(self, p):
        q = p
        while q + 64 <= self.end:
            q = self.data.find(SYNC, q, self.end)
            if q < 0 or q + 64 > self.end:
                break
            h = self.valid(q)
            if h and (h["len"] > self.end - q - 64 or self.verifies(q, h)):
                return q
            q += 1
        return self.end

    def find_trailer(self):
        d = self.data
        if self.size >= 24:
            t = d[self.size - 24:]
            if (t[:8] == TRAILER_MAGIC and crc(t[:20]) == struct.unpack_from("<I", t, 20)[0]
                    and struct.unpack_from("<I", t, 16)[0] == 0):
                return self.size - 24, struct.unpack_from("<Q", t, 8)[0]
        return self.size, None

    def meta_chunk(self, off):
        """A metadata copy at off (§4.6, §6.1), or None."""
        h = self.valid(off, nstreams=1 << 16)
        if not h or not h["flags"] & META or off + 64 + h["len"] > self.size:
            return None
        payload = self.data[off + 64:off + 64 + h["len"]]
        if crc(payload) != h["payload_crc"]:
            return None
        try:
            m = parse_meta(payload)
        except Malformed:
            return None
        return m if m["fp"] == h["meta_fp"] else None

    # §6.1
    def open(self):
        d, size = self.data, self.size
        self.nstreams = None
        self.end, meta_off = self.find_trailer()
        if size == 0:
            raise OpenError("empty file")
        if size < 32:
            raise OpenError("short file")
        err = None  # (kind, message, header_intact)
        hdr_ok = False
        if d[:8] != MAGIC:
            err = MALFORMED
        else:
            major, minor, flags, meta_len, meta_crc, reserved, hcrc = \
                struct.unpack_from("<HHIIIII", d, 8)
            if crc(d[:28]) != hcrc:
                err = CHECKSUM
            elif major == 1 and (flags or reserved):
                err = MALFORMED
            elif major != 1:
                raise OpenError("unsupported version")
            elif meta_len > 1048576:
                raise OpenError("limit exceeded")
            elif meta_len > size - 32:
                err = TRUNCATED
            else:
                hdr_ok = True
                raw = d[32:32 + meta_len]
                if crc(raw) != meta_crc:
                    err = CHECKSUM
                else:
                    try:
                        self.meta = parse_meta(raw)
                    except Malformed:
                        err = MALFORMED
        if err is None:
            self.data_offset = 32 + meta_len
        else:
            if d[:8] != MAGIC and meta_off is None:
                raise OpenError("not an hvlog file")
            m = self.meta_chunk(meta_off) if meta_off is not None else None
            if m is None:
                q = d.find(SYNC, 32)
                while 0 <= q:
                    h = self.valid(q, nstreams=1 << 16)
                    if h and h["flags"] & META:
                        m = self.meta_chunk(q)
                        break
                    q = d.find(SYNC, q + 1)
            if m is None:
                raise OpenError("no intact copy of the metadata")
            self.meta = m
            self.nstreams = len(m["streams"])
            if hdr_ok:
                self.data_offset = 32 + meta_len
                self.open_damage.append(self.damage(0, None, 32, err, meta_len, 0))
            else:
                self.data_offset = self.resync(32)
                self.open_damage.append(self.damage(0, None, 0, err, self.data_offset, 0))
        self.nstreams = len(self.meta["streams"])
        self.index()
        self.stream_lists()

    def damage(self, ts, stream, off, kind, length, lost, seq=None):
        return {"type": "damage", "ts": ts, "stream": stream, "offset": off,
                "kind": kind, "length": length, "events_lost": lost}

    # §6.2
    def index(self):
        self.chunks = []
        off, ts_hint, end = self.data_offset, 0, self.end
        fp = self.meta["fp"]
        foreign = None
        while off < end:
            if end - off < 64:
                self.index_damage.append(self.damage(ts_hint, None, off, TRUNCATED, end - off, 0))
                break
            h = self.valid(off)
            if h and h["len"] > end - off - 64 and self.resync(off + 1) == end:
                if h["flags"] & META:  # a cut copy of the metadata: no stream's
                    self.index_damage.append(self.damage(ts_hint, None, off, TRUNCATED,
                                                         end - off, 0))
                else:
                    self.index_damage.append(self.damage(h["base_ts"], h["stream"], off,
                                                         TRUNCATED, end - off, h["nevents"]))
                break
            if h and h["len"] <= end - off - 64 and self.verifies(off, h):
                nxt = off + 64 + h["len"]
                if h["flags"] & META:
                    off = nxt
                    continue
                if h["meta_fp"] != fp and h["meta_fp"] != 0:
                    if foreign and foreign["fp"] == h["meta_fp"] and foreign["end"] == off:
                        foreign["item"]["length"] += 64 + h["len"]
                        foreign["item"]["events_lost"] += h["nevents"]
                        foreign["end"] = nxt
                    else:
                        item = self.damage(h["base_ts"], None, off, MALFORMED,
                                           64 + h["len"], h["nevents"])
                        self.index_damage.append(item)
                        foreign = {"fp": h["meta_fp"], "end": nxt, "item": item}
                    off = nxt
                    continue
                self.chunks.append(h)
                ts_hint = h["last_ts"]
                off = nxt
            else:
                nxt = self.resync(off + 1)
                self.index_damage.append(self.damage(
                    ts_hint, None, off, TRUNCATED if nxt == end else MALFORMED, nxt - off, 0))
                off = nxt
        live = [h["first_ts"] for h in self.chunks if h["nevents"]]
        self.t0 = min(live) if live else 0

    # §6.3
    def stream_lists(self):
        self.kept = {}
        dmg = self.index_damage
        for s in range(self.nstreams):
            group = sorted((h for h in self.chunks if h["stream"] == s),
                           key=lambda h: (h["seq"], h["off"]))
            kept = []
            expect = 0
            for h in group:
                if kept and h["seq"] < expect:
                    dmg.append(self.damage(h["base_ts"], s, h["off"], MALFORMED,
                                           64 + h["len"], 0))
                    continue
                if h["seq"] != expect:
                    dmg.append(self.damage(kept[-1]["last_ts"] if kept else 0, s,
                                           h["off"], MALFORMED, 0, 0))
                elif kept and h["base_ts"] != kept[-1]["last_ts"]:
                    dmg.append(self.damage(min(h["base_ts"], kept[-1]["last_ts"]), s,
                                           h["off"], MALFORMED, 0, 0))
                kept.append(h)
                expect = h["seq"] + 1
            for a, b in zip(kept, kept[1:]):
                if a["flags"] & FINAL:
                    dmg.append(self.damage(b["base_ts"], s, b["off"], MALFORMED, 0, 0))
            if not kept:
                dmg.append(self.damage(0, s, self.size, TRUNCATED, 0, 0))
            elif not kept[-1]["flags"] & FINAL:
                last = kept[-1]
                dmg.append(self.damage(last["last_ts"], s, last["off"] + 64 + last["len"],
                                       TRUNCATED, 0, 0))
            self.kept[s] = kept

    # §6.4, §5
    def decode_stream(self, s):
        meta = self.meta
        for h in self.kept[s]:
            off = h["off"] + 64
            payload = self.data[off:off + h["len"]]
            if crc(payload) != h["payload_crc"]:
                yield self.damage(h["base_ts"], s, h["off"], CHECKSUM, 64 + h["len"], h["nevents"])
                continue
            cur = h["base_ts"]
            slots = [0] * meta["nslots"]
            K = [0] * 256
            R = [0] * 128
            pos, decoded, n = 0, 0, len(payload)
            first = None  # the time of the first event record (§4.3 first_ts)

            def varint():
                nonlocal pos
                if pos >= n:
                    raise Malformed("varint")
                b = payload[pos]
                ln = ((b & -b).bit_length()) if b else 9
                if pos + ln > n:
                    raise Malformed("varint")
                if ln == 9:
                    v = int.from_bytes(payload[pos + 1:pos + 9], "little")
                else:
                    v = int.from_bytes(payload[pos:pos + ln], "little") >> ln
                pos += ln
                return v

            while pos < n:
                start = pos
                try:
                    tag = payload[pos]
                    pos += 1
                    if tag == 1:
                        cur = varint()
                        continue
                    if tag == 2:
                        count, fts, lts = varint(), varint(), varint()
                        if count == 0:
                            raise Malformed("lost count")
                        yield {"type": "lost", "ts": cur, "stream": s, "count": count,
                               "first_ts": fts, "last_ts": lts}
                        continue
                    if tag < 0x10:
                        raise Malformed("tag")
                    num = tag
                    if tag == 0xFF:
                        num = varint()
                        if 0x10 <= num <= 0xFE:
                            raise Malformed("escaped number")
                    ev = meta["events"].get(num)
                    if ev is None:
                        raise Malformed("number")
                    cur = (cur + varint()) & M64
                    if first is None:
                        first = cur
                    params, names = {}, {}
                    prev = 0
                    for i, p in enumerate(ev["params"]):
                        z = varint()
                        slot = ev["slot"] + i
                        if p["coding"] == 0:
                            v = z
                        elif p["coding"] == 3:
                            if z == 0:
                                v = varint()
                            elif z < 128:
                                v = R[z]
                            else:
                                z -= 128
                                v = (slots[slot] + ((z >> 1) ^ (-(z & 1) & M64))) & M64
                            slots[slot] = v
                            R[((v * 0x9E3779B97F4A7C15) & M64) >> 57] = v
                        else:
                            d = (z >> 1) ^ (-(z & 1) & M64)
                            if p["coding"] == 1:
                                v = (slots[slot] + d) & M64
                                slots[slot] = v
                            else:
                                hh = ((((prev + slot * 0x9E3779B97F4A7C15) & M64)
                                       * 0xD6E8FEB86659FD93) & M64) >> 56
                                v = (K[hh] + d) & M64
                                K[hh] = v
                        if v > TYPE_MAX[p["type"]]:
                            raise Malformed("value")
                        prev = v
                        params[p["key"]] = v
                        if p["display"] == "enum" and p["values"] is not None:
                            name = meta["valtabs"][p["values"]].get(v)
                            if name is not None:
                                names[p["key"]] = name
                    decoded += 1
                    item = {"type": "event", "ts": cur, "stream": s, "group": ev["group"],
                            "event": ev["symbol"], "number": num, "params": params}
                    if names:
                        item["names"] = names
                    yield item
                except Malformed:
                    yield self.damage(cur, s, off + start, MALFORMED, n - start,
                                      max(0, h["nevents"] - decoded))
                    break
            else:
                if decoded != h["nevents"]:
                    yield self.damage(cur, s, h["off"], MALFORMED, 0,
                                      max(0, h["nevents"] - decoded))
                elif cur != h["last_ts"]:
                    yield self.damage(cur, s, h["off"], MALFORMED, 0, 0)
                elif (h["base_ts"] if first is None else first) != h["first_ts"]:
                    yield self.damage(cur, s, h["off"], MALFORMED, 0, 0)

    # §6.5
    def items(self):
        for it in self.open_damage:
            yield it
        pending = sorted(self.index_damage, key=lambda x: (x["ts"], x["offset"]))
        gens = {s: self.decode_stream(s) for s in range(self.nstreams)}
        heads = {}
        for s, g in gens.items():
            it = next(g, None)
            if it is not None:
                heads[s] = it
        while heads or pending:
            best = min(heads, key=lambda s: (heads[s]["ts"], s)) if heads else None
            if pending and (best is None or pending[0]["ts"] <= heads[best]["ts"]):
                yield pending.pop(0)
                continue
            yield heads[best]
            it = next(gens[best], None)
            if it is None:
                del heads[best]
            else:
                heads[best] = it

    def finish(self, it):
        """Add the derived fields of the JSON output (time_ns, names)."""
        hz = self.meta["clock"]["hz"]

        def ns(t):
            return 0 if t < self.t0 else min(M64, (t - self.t0) * 10**9 // hz)
        it["time_ns"] = ns(it["ts"])
        if it.get("stream") is not None:
            it["stream_name"] = self.meta["streams"][it["stream"]]["name"]
        if it["type"] == "lost":
            it["first_ns"] = ns(it["first_ts"])
            it["last_ns"] = ns(it["last_ts"])
        return it


def decode(path):
    """The items of a file, or an OpenError."""
    with open(path, "rb") as f:
        data = f.read()
    r = Reader(data)
    return [r.finish(it) for it in r.items()]


# ---- comparison with `hvlog decode --format json` ------------------------

def norm(v):
    """Presentation to value: "0x.." and decimal strings to ints, bools to ints."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        if v.startswith("0x"):
            return int(v, 16)
        if v.isdigit():
            return int(v)
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def comparable(it):
    it = {k: v for k, v in it.items() if k != "message"}
    return norm(it)


# ---- damaged copies with consistent checksums, for the test -------------

def craft(src, outdir):
    """Copies of an intact trace that break one rule of §6.2-§6.4 each, with
    the header (and payload) CRCs recomputed so that only the rule fires."""
    meta_len = struct.unpack_from("<I", src, 16)[0]
    offs, o = [], 32 + meta_len
    while o < len(src) - 24:
        offs.append(o)
        o += 64 + struct.unpack_from("<I", src, o + 12)[0]

    def chunk(i):
        return src[offs[i]:offs[i] + 64 + struct.unpack_from("<I", src, offs[i] + 12)[0]]

    def edit(i, fmt=None, at=0, value=0, payload_byte=None):
        d = bytearray(src)
        off = offs[i]
        if fmt:
            struct.pack_into(fmt, d, off + at, value)
        if payload_byte is not None:
            d[off + 64 + payload_byte[0]] = payload_byte[1]
            ln = struct.unpack_from("<I", d, off + 12)[0]
            struct.pack_into("<I", d, off + 60, crc(d[off + 64:off + 64 + ln]))
        struct.pack_into("<I", d, off + 8, crc(d[off + 12:off + 64]))
        return d
    cases = {
        "foreign": edit(2, "<I", 20, 0x12345678),      # another schema's chunk
        "fp0": edit(2, "<I", 20, 0),                   # fingerprint not stated
        "times-disagree": edit(2, "<Q", 32, 1031000),  # base_ts != previous last_ts
        "first-ts": edit(2, "<Q", 40, struct.unpack_from("<Q", src, offs[2] + 40)[0] + 1),
        "nevents-more": edit(2, "<I", 56, 30),
        "nevents-less": edit(2, "<I", 56, 3),
        "escaped-number": edit(2, payload_byte=(0, 0xFF)),
        "unknown-number": edit(2, payload_byte=(0, 0x99)),
        "gap": edit(4, "<Q", 24, 3),
        "final-early": edit(2, "<H", 18, 1),
        # chunk 2 again after chunk 3, trailer dropped
        "duplicate": src[:offs[4]] + chunk(2) + src[offs[4]:len(src) - 24],
        "header-cut": src[:offs[3] + 30],
        "copy-cut": src[:len(src) - 24 - 100],        # inside the closing copy
    }
    d = bytearray(src)
    d[100] ^= 1
    d[len(src) - 5] ^= 1      # metadata and trailer damaged: the first copy found
    cases["meta-no-trailer"] = d
    for name, data in cases.items():
        with open("%s/%s.bin" % (outdir, name), "wb") as f:
            f.write(data)


def main(argv):
    if len(argv) == 2:
        try:
            for it in decode(argv[1]):
                print(json.dumps(it, sort_keys=True))
        except OpenError as e:
            print("format_ref: %s: %s" % (argv[1], e), file=sys.stderr)
            return 1
        return 0
    if len(argv) == 4 and argv[1] == "--compare":
        try:
            mine = [comparable(it) for it in decode(argv[2])]
        except OpenError:
            mine = None
        with open(argv[3]) as f:
            theirs = [comparable(json.loads(line)) for line in f if line.strip()]
        if theirs and theirs[0].get("type") == "meta":
            theirs = theirs[1:]
        elif mine is None:  # both refuse the file
            return 0
        if mine is None:
            print("%s: the reference decoder refuses the file, hvlog decodes it" % argv[2])
            return 1
        bad = 0
        for i in range(max(len(mine), len(theirs))):
            a = mine[i] if i < len(mine) else None
            b = theirs[i] if i < len(theirs) else None
            if a != b:
                print("%s: item %d differs:\n  ref:   %s\n  hvlog: %s" %
                      (argv[2], i, json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)))
                bad += 1
                if bad >= 5:
                    break
        if bad:
            return 1
        print("%s: %d items agree" % (argv[2], len(mine)))
        return 0
    if len(argv) == 4 and argv[1] == "--craft":
        with open(argv[2], "rb") as f:
            craft(f.read(), argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
