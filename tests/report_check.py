#!/usr/bin/env python3
"""report_check.py PAGE.html STATS.json [DOM.html]

Checks the figures of an `hvlog report` page against `hvlog stats
--format json --top port=10 --top index=10 --top input_value=10` of the
same trace: totals, every event count, the top values, the interval
percentiles; that the page is self-contained (no script, no external
reference); and, given chromium's rendered DOM, that it holds the same
figures."""
import json
import sys
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.k, self.events, self.top, self.iv = {}, {}, {}, {}
        self.external = []
        self._cur = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.external.append("<script>")
        for attr in ("src", "href"):
            if attr in a:
                self.external.append("%s=%s" % (attr, a[attr]))
        if "data-k" in a:
            self._cur = ("k", a["data-k"])
        elif "data-event" in a:
            self._cur = ("event", a["data-event"])
        elif "data-top" in a:
            self._cur = ("top", (a["data-top"], a["data-value"]))
        if "data-interval" in a:
            self.iv[a["data-interval"]] = (int(a["data-p50"]), int(a["data-p95"]), int(a["data-p99"]))

    def handle_data(self, data):
        if self._cur and data.strip():
            kind, key = self._cur
            {"k": self.k, "event": self.events, "top": self.top}[kind][key] = int(data.strip())
            self._cur = None


def parse(path):
    p = Page()
    with open(path) as f:
        p.feed(f.read())
    return p


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


page = parse(sys.argv[1])
with open(sys.argv[2]) as f:
    st = json.load(f)
if page.external:
    fail("not self-contained: %s" % page.external[:3])
for k in ("events", "span_ns", "lost_events", "damaged_regions"):
    if page.k.get(k) != st[k]:
        fail("%s: page %r, stats %r" % (k, page.k.get(k), st[k]))
if page.k.get("streams") != len(st["streams"]):
    fail("streams: page %r, stats %d" % (page.k.get("streams"), len(st["streams"])))
want = {e["event"]: e["events"] for e in st["event_types"]}
if page.events != want:
    fail("event counts differ: page %r, stats %r" % (page.events, want))
tops = {(t["param"], v["value"]): v["count"] for t in st["top"] for v in t["values"]}
if page.top != tops:
    fail("top values differ: page %r, stats %r" % (page.top, tops))
n = 0
for e in st["event_types"]:
    if e["event"] in page.iv:
        i = e["interval_ns"]
        if page.iv[e["event"]] != (i["median"], i["p95"], i["p99"]):
            fail("%s intervals: page %r, stats %r" % (e["event"], page.iv[e["event"]], i))
        n += 1
if not n:
    fail("no interval distribution on the page")
if len(sys.argv) > 3:
    dom = parse(sys.argv[3])
    if (dom.k, dom.events, dom.top, dom.iv) != (page.k, page.events, page.top, page.iv):
        fail("the rendered page does not hold the same figures")
print("ok: %d totals, %d events, %d top values, %d interval distributions" % (len(page.k), len(page.events),
      len(page.top), n))
