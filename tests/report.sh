#!/bin/sh
# report.sh HVLOG HVCORE TESTDATA - `hvlog report`: the page's figures
# against `hvlog stats --format json` (report_check.py), self-contained
# (no script, nothing fetched), rendered by headless chromium with no
# console error, a screenshot that is not blank and a DOM with the same
# figures; --baseline shows as many differences as `hvlog diff`; a damaged
# trace gives exit 1 and a page that says so.  Without chromium (Debian
# package `chromium`, scripts/deps.sh) or where it cannot run, the browser
# checks are skipped with a message; the rest still runs.
set -u
HVLOG=$1
HVCORE=$2
DATA=$3
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$HERE/testlib.sh"

"$HVCORE" -w mixed -v 4 -n 200000 -o "$tmp/t.hvlog" 2>/dev/null
"$HVCORE" -w mixed -v 4 -n 200000 -g interrupt,profiler,scheduler,gva,vp,object,partition \
	-o "$tmp/nohc.hvlog" 2>/dev/null

expect 0 "report" "$HVLOG" report "$tmp/t.hvlog" -o "$tmp/r.html"
"$HVLOG" stats --format json --top port=10 --top index=10 --top input_value=10 "$tmp/t.hvlog" > "$tmp/st.json"
if "$PY" "$HERE/report_check.py" "$tmp/r.html" "$tmp/st.json" > "$tmp/check"; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	cat "$tmp/check"
fi
expect 0 "report to standard output" sh -c "'$HVLOG' report '$tmp/t.hvlog' > '$tmp/r2.html'"
same "$tmp/r.html" "$tmp/r2.html" "the same page on standard output"

# the baseline: as many differences as hvlog diff finds
expect 0 "report --baseline" "$HVLOG" report --baseline "$tmp/t.hvlog" "$tmp/nohc.hvlog" -o "$tmp/b.html"
n=$("$HVLOG" diff --format json "$tmp/t.hvlog" "$tmp/nohc.hvlog" | jq .differing)
grep -q "<p data-k=\"differing\">$n</p>" "$tmp/b.html" && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL: the baseline section does not show $n differences"; }
grep -q '<td>group</td><td>hypercall</td>' "$tmp/b.html" && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL: the baseline section does not list group hypercall"; }

# damage: exit 1, and the page says so
expect 1 "a damaged trace" "$HVLOG" report "$DATA/damaged/payload-bitflip.bin" -o "$tmp/d.html"
grep -q 'data-k="damaged_regions" class="bad">[1-9]' "$tmp/d.html" && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL: the page of a damaged trace does not say so"; }
expect 2 "no trace" "$HVLOG" report -o "$tmp/x.html"
expect 3 "a missing trace" "$HVLOG" report "$tmp/missing.hvlog" -o "$tmp/x.html"
[ ! -e "$tmp/x.html" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: a page written for a missing trace"; }

# a real browser
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "SKIP: chromium not installed (scripts/deps.sh installs it): the page was not rendered"
elif ! timeout 120 "$browser" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
	--window-size=1100,2600 --screenshot="$tmp/shot.png" "file://$tmp/r.html" > "$tmp/chromium.out" 2> "$tmp/chromium.err" ||
	[ ! -s "$tmp/shot.png" ]; then
	echo "SKIP: chromium cannot run here: $(tail -1 "$tmp/chromium.err")"
else
	if grep -E 'CONSOLE|Uncaught|Refused to' "$tmp/chromium.err" > "$tmp/console"; then
		fail=$((fail + 1))
		echo "FAIL: console messages:"
		head -5 "$tmp/console"
	else
		pass=$((pass + 1))
	fi
	# not blank: the PNG decoded (zlib), many colours and most rows not white
	if "$PY" - "$tmp/shot.png" <<'PYEOF'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
i, idat, w = 8, b"", 0
while i < len(d):
    n, t = struct.unpack(">I4s", d[i:i + 8])
    if t == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", d[i + 8:i + 18])
        bpp = {2: 3, 6: 4}[ctype]
    elif t == b"IDAT":
        idat += d[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
stride = 1 + w * bpp
colours, busy = set(), 0
prev = bytearray(w * bpp)
for y in range(h):
    f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
    for x in range(len(line)):  # PNG filters: none, sub, up, average, Paeth
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    px = {bytes(line[k:k + 3]) for k in range(0, (w - 30) * bpp, bpp * 7)}  # (not the scroll bar)
    colours |= px
    busy += px != {b"\xff\xff\xff"}
print("%dx%d, %d colours sampled, %d of %d rows not white" % (w, h, len(colours), busy, h))
sys.exit(0 if len(colours) >= 8 and busy > h // 4 else 1)
PYEOF
	then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: the screenshot is blank"; fi
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --dump-dom "file://$tmp/r.html" \
		> "$tmp/dom.html" 2>/dev/null
	if "$PY" "$HERE/report_check.py" "$tmp/r.html" "$tmp/st.json" "$tmp/dom.html" > "$tmp/check"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		cat "$tmp/check"
	fi
fi
testlib_done report
