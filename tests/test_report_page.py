"""The HTML report's page (tools/sockshim/report_page/page.html), opened in
headless Chromium: it loads with no console error and no error caught by
the page, and its structure (lanes, sequence arrows, connection rows,
findings) matches its data, for an empty run, one lane, hundreds of lanes,
hostile strings and a million calls; a screenshot is not blank.

The page is filled with data the way `sockshim report --html` fills it
(the contract in docs/report.md, "The page"). Until the command writes
pages, fake_report_html() below stands in for it with the sample data of
tools/sockshim/report_page/sample_data.py. The tests at the end run the
real `sockshim report --html` over real traces (curl and http.server,
redis-benchmark and redis-server, a fault run); they skip while the
command has no --html.

Chromium (Debian's `chromium`, which tools/check installs) runs with
--dump-dom, --screenshot and its console on stderr; a machine without it
skips these tests.
"""
import html.parser
import importlib.util
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import (PYTHON, ROOT, SANITIZED, SOCKSHIM, TIMEOUT, base_env, run_traced,
                      scenario)

PAGE = ROOT / "tools" / "sockshim" / "report_page" / "page.html"
PLACEHOLDER = "@SOCKSHIM_DATA@"
HOSTILE_MARK = "</script><img src=x onerror=alert(1)>"


def load_sample_data():
    path = ROOT / "tools" / "sockshim" / "report_page" / "sample_data.py"
    spec = importlib.util.spec_from_file_location("sample_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sample = load_sample_data()


# ---- standing in for `sockshim report --html` ---------------------------------

def fake_report_html(data, out):
    """STANDS IN FOR `sockshim report --html OUT TRACE...` until the command
    writes pages: page.html with DATA in place of its one placeholder,
    every <, > and & of the JSON written as \\u003c, \\u003e, \\u0026 (the
    contract), so no </script> or <!-- can appear inside the data."""
    page = PAGE.read_text(encoding="utf-8")
    assert page.count(PLACEHOLDER) == 1
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    out.write_text(page.replace(PLACEHOLDER, text), encoding="utf-8")
    return out


# ---- Chromium -----------------------------------------------------------------

def chromium_or_skip():
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is missing (apt-get install chromium; tools/check installs it)")
    return path


def browser_env():
    """Chromium runs without the sanitizer pass's preload: it is the viewer,
    not a program under test."""
    env = base_env()
    env.pop("LD_PRELOAD", None)
    return env


# Chromium writes the page's console messages to stderr as
# "...:INFO:CONSOLE:12] "message", source: ..." (older builds: CONSOLE(12)).
CONSOLE_RE = re.compile(r":CONSOLE[:(]|Uncaught")


def chromium(page, tmp_path, *args, fragment="", budget=20000, window="1280,900"):
    """Runs headless Chromium on the page; its stdout. Fails on any console
    message: the page writes none unless something went wrong."""
    profile = tmp_path / "chromium-profile"
    argv = [chromium_or_skip(), "--headless", "--no-sandbox", "--disable-gpu",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
            "--no-first-run", "--hide-scrollbars", f"--window-size={window}",
            f"--virtual-time-budget={budget}", *args, page.resolve().as_uri() + fragment]
    proc = subprocess.run(argv, capture_output=True, timeout=max(TIMEOUT, 180),
                          env=browser_env())
    err = proc.stderr.decode(errors="replace")
    console = [line for line in err.splitlines() if CONSOLE_RE.search(line)]
    assert not console, "console messages:\n" + "\n".join(console)
    assert proc.returncode == 0, err[-3000:]
    return proc.stdout.decode()


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text = [], []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def all(self, tag=None, cls=None):
        return [n for n in self.walk() if (tag is None or n.tag == tag)
                and (cls is None or cls in n.classes)]

    def by_id(self, ident):
        found = [n for n in self.walk() if n.attrs.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements with id {ident}"
        return found[0]

    def text_content(self):
        return "".join(t if isinstance(t, str) else t.text_content() for t in self.text)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class DomParser(html.parser.HTMLParser):
    """The dumped DOM as a tree of Nodes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.cur.text.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.cur.text.append(node)

    def handle_endtag(self, tag):
        node = self.cur
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.text.append(data)


def parse_dom(text):
    parser = DomParser()
    parser.feed(text)
    parser.close()
    return parser.root


def open_page(page, tmp_path, fragment="", budget=20000):
    """Loads the page; its DOM, once it says it is drawn and caught no error."""
    dom = parse_dom(chromium(page, tmp_path, "--dump-dom", fragment=fragment, budget=budget))
    body = dom.all("body")[0]
    assert body.attrs.get("data-ready") == "1", "the page never finished drawing"
    assert body.attrs.get("data-errors") == "0", body.by_id("page-error").text_content()
    return dom


def check_structure(dom, data):
    """The DOM hooks of the contract hold one element per lane, connection
    and finding of the data."""
    timeline = dom.by_id("timeline")
    lanes = timeline.all(cls="lane")
    assert len(lanes) == len(data["lanes"])
    assert sorted((int(n.attrs["data-pid"]), int(n.attrs["data-tid"])) for n in lanes) == \
        sorted((lane["pid"], lane["tid"]) for lane in data["lanes"])
    groups = dom.by_id("sequence").all(cls="conn-arrows")
    assert [int(g.attrs["data-conn"]) for g in groups] == list(range(len(data["connections"])))
    for g, conn in zip(groups, data["connections"]):
        arrows = [n for n in g.all(cls="arrow") if n.tag in ("line", "path")]
        more = int(g.attrs.get("data-more", "0"))
        assert len(arrows) + more == len(conn["events"])
    rows = dom.by_id("connections").all("tr", "conn-row")
    assert len(rows) == len(data["connections"])
    assert all(r.all("svg", "bytes-plot") for r in rows)
    findings = dom.by_id("findings").all("li", "finding")
    assert len(findings) == len(data["findings"])
    assert all(f.all("a") for f in findings)
    assert dom.by_id("title").text_content() == data["title"]
    return lanes, groups, rows, findings


# The tests of the page alone run no program of sockshim's: the sanitizer
# passes of tools/check (the same suite again) leave them out.
page_only = pytest.mark.skipif(SANITIZED, reason="the page alone: the first pass ran it")


# ---- the page's own file ------------------------------------------------------

def test_page_is_one_self_contained_file():
    """One file, its style and script inline: no element loads anything
    (no src, no link, no external URL but the SVG namespace), the data's
    placeholder is there once, and nothing in it uses innerHTML, eval or
    document.write."""
    text = PAGE.read_text(encoding="utf-8")
    assert text.count(PLACEHOLDER) == 1
    assert f'<script id="sockshim-data" type="application/json">{PLACEHOLDER}</script>' in text
    dom = parse_dom(text)
    assert not [n for n in dom.walk() if "src" in n.attrs or n.tag in ("link", "iframe", "img")]
    urls = set(re.findall(r"https?://[^\s\"')]+", text))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    for word in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "document.write",
                 "new Function"):
        assert word not in text, word


def test_page_runs_only_its_own_scripts():
    """The page's Content-Security-Policy names its two scripts by their
    SHA-256 (after editing them: sample_data.py --update-csp page.html) and
    allows no other script, no network, no image, no frame: markup that
    got in from the data could not run anything."""
    text = PAGE.read_text(encoding="utf-8")
    m = sample.CSP_RE.search(text)
    assert m, "no Content-Security-Policy"
    assert m.group(2) == sample.page_csp(text), \
        "the scripts changed: run tools/sockshim/report_page/sample_data.py --update-csp " + str(PAGE)
    assert len(sample.SCRIPT_RE.findall(text)) == 2
    assert "unsafe-inline" not in m.group(2).split("style-src")[0]


@page_only
def test_page_without_data_loads(tmp_path):
    """The page as written by hand, placeholder and all, opens and says it
    holds no run."""
    page = tmp_path / "page.html"
    shutil.copy(PAGE, page)
    dom = open_page(page, tmp_path)
    assert "no" in dom.by_id("summary").text_content()
    assert not dom.by_id("timeline").all(cls="lane")


# ---- sample runs ----------------------------------------------------------------

SAMPLES = {
    "empty": lambda: sample.empty(),
    "one-lane": lambda: sample.make(calls=300, lanes=1),
    "small": lambda: sample.make(calls=3000, lanes=8, hosts=2),
    "300-lanes": lambda: sample.make(calls=60000, lanes=300, conns=400),
    "no-text": lambda: sample.make(calls=5000, lanes=12, text=False),
    "10000-connections": lambda: sample.make(calls=100000, lanes=60, conns=10000),
}


@page_only
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_page_structure(tmp_path, name):
    data = SAMPLES[name]()
    page = fake_report_html(data, tmp_path / "report.html")
    dom = open_page(page, tmp_path)
    check_structure(dom, data)
    if name == "empty":
        assert "No calls" in dom.by_id("timeline").text_content()
    # the table shows its rows 500 at a time
    rows = dom.by_id("connections").all("tr", "conn-row")
    assert len([r for r in rows if "hidden" not in r.attrs]) == min(500, len(rows))
    # the sequence diagram draws at most 1500 events in all
    arrows = dom.by_id("sequence").all(cls="arrow")
    conns = data["connections"]
    share = max(1, min(200, 1500 // len(conns))) if conns else 0
    assert len(arrows) == min(1500, sum(min(len(c["events"]), share) for c in conns))


@page_only
def test_hostile_strings_stay_text(tmp_path):
    """Strings from a stranger's trace (exe names, addresses, labels, call
    texts, messages, places, rules, the title, host names) carry markup, a
    </script>, quotes, control and bidirectional characters: the page shows
    them as text, and no element comes of them."""
    data = sample.make(calls=2000, lanes=10, hosts=2, hostile_strings=True)
    page = fake_report_html(data, tmp_path / "report.html")
    raw = page.read_text(encoding="utf-8")
    assert raw.count("</script>") == 3      # the page's two scripts and the data's element
    dom = open_page(page, tmp_path)
    check_structure(dom, data)
    everything = list(dom.walk())
    own_b = set(map(id, dom.by_id("summary").all("b")))    # the page's own: its counts
    assert not [n for n in everything if n.tag in ("img", "iframe", "object", "embed")
                or (n.tag == "b" and id(n) not in own_b)]
    assert not [n for n in own_b_nodes(dom) if "bold" in n.text_content()]
    assert not [n for n in everything for a in n.attrs if a.startswith("on")]
    assert len(dom.all("script")) == 3
    svg_tags = {n.tag for n in dom.by_id("sequence").walk()} | \
        {n.tag for r in dom.by_id("connections").all("tr", "conn-row") for n in r.walk()}
    assert svg_tags <= {"div", "svg", "defs", "marker", "path", "line", "text", "title", "g",
                        "polyline", "tr", "td", "p"}, svg_tags
    # as text: the lanes' labels, the finding messages, the hosts
    labels = [n.text_content() for n in dom.by_id("timeline").all(cls="lane")]
    shown = dom.by_id("findings").text_content() + dom.by_id("hosts").text_content() + \
        dom.by_id("connections").text_content() + "".join(labels)
    strings = [lane["label"] for lane in data["lanes"]] + \
        [f["message"] for f in data["findings"]] + [h["name"] for h in data["hosts"]] + \
        [c["label"] for c in data["connections"]]
    for s in strings:
        assert s in shown, s


def own_b_nodes(dom):
    return dom.by_id("summary").all("b")


@page_only
def test_malformed_data_draws_without_error(tmp_path):
    """Data that breaks the contract (nulls, wrong types, indexes out of
    range, an event that is no list) is drawn as far as it goes, with no
    error: the page trusts nothing in it."""
    data = sample.make(calls=500, lanes=4)
    data["lanes"] += [{"host": 99, "pid": "x", "tid": None, "exe": 5, "label": None}, None]
    calls = data["calls"]
    calls["lane"][3], calls["op"][4], calls["conn"][5] = 999, 77, 12345
    calls["t"][6], calls["dur"][7], calls["text"][8] = None, "x", None
    data["connections"] += [
        {"a": None, "b": None, "events": [None, [1], ["x", 9, 3, "y"]], "rtt_us": [None, 5]},
        None,
        {"a": {"lane": 999, "addr": 3}, "b": {"lane": -5}, "label": 7, "events": "no"}]
    data["findings"] += [None, {"call": 10**9, "lane": 10**9, "t": "x"}, {"code": None}]
    data["faults"] += [None, {"call": -7}]
    data["hosts"].append(None)
    data["title"] = None
    page = fake_report_html(data, tmp_path / "report.html")
    dom = open_page(page, tmp_path, fragment="#finding=1000")
    assert len(dom.by_id("timeline").all(cls="lane")) == len(data["lanes"])
    assert len(dom.by_id("sequence").all(cls="conn-arrows")) == len(data["connections"])
    assert len(dom.by_id("findings").all("li", "finding")) == len(data["findings"])


@page_only
def test_a_finding_link_selects_its_call(tmp_path):
    """A finding's link (#finding=K) zooms the timeline to its call and
    selects it, as does a #call=I link."""
    data = sample.make(calls=5000, lanes=6)
    page = fake_report_html(data, tmp_path / "report.html")
    dom = open_page(page, tmp_path)
    links = [f.all("a")[0].attrs["href"] for f in dom.by_id("findings").all("li", "finding")]
    assert links == [f"#finding={k}" for k in range(len(data["findings"]))]
    k, finding = next((k, f) for k, f in enumerate(data["findings"]) if f["call"] >= 0)
    dom = open_page(page, tmp_path, fragment=f"#finding={k}")
    assert dom.by_id("timeline").attrs.get("data-selected") == str(finding["call"])
    assert data["calls"]["text"][finding["call"]] in dom.by_id("call-detail").text_content()
    dom = open_page(page, tmp_path, fragment="#call=17")
    assert dom.by_id("timeline").attrs.get("data-selected") == "17"


EXERCISE = """
<script>
// the tests' hands: zoom, pan, hover, click, links, resize
(function () {
  var c = document.querySelector("#timeline canvas.tl-canvas");
  var r = c.getBoundingClientRect();
  function mouse(type, x, y, target) {
    (target || c).dispatchEvent(new MouseEvent(type, {bubbles: true, clientX: r.left + x,
      clientY: r.top + y, button: 0}));
  }
  var hits = 0, tip = document.getElementById("tip");
  for (var i = 0; i < 12; i++) {
    c.dispatchEvent(new WheelEvent("wheel", {bubbles: true, cancelable: true,
      clientX: r.left + r.width * 0.3, clientY: r.top + 20, deltaY: -100}));
    for (var x = 0; x < r.width; x += 7) for (var y = 4; y < Math.min(r.height, 200); y += 9) {
      mouse("mousemove", x, y);
      if (!tip.hidden) hits++;
    }
  }
  mouse("mousedown", 200, 30); mouse("mousemove", 260, 30, window); mouse("mouseup", 260, 30, window);
  mouse("mousedown", 100, 30); mouse("mouseup", 100, 30, window);
  ["+", "+", "ArrowLeft", "ArrowRight", "ArrowDown", "-", "0", "+"].forEach(function (key) {
    c.dispatchEvent(new KeyboardEvent("keydown", {key: key, bubbles: true, cancelable: true}));
  });
  ["zoom-in", "zoom-out", "zoom-fit", "zoom-out", "zoom-in"].forEach(function (id) {
    document.getElementById(id).click();
  });
  var rows = document.querySelectorAll("tr.conn-row");
  if (rows.length) rows[rows.length - 1].click();
  var links = document.querySelectorAll("li.finding a");
  for (var k = 0; k < links.length && k < 5; k++) links[k].click();
  document.querySelector("#timeline .tl-scroll").scrollTop = 100000;
  window.dispatchEvent(new Event("resize"));
  var pages = getComputedStyle(document.getElementById("conn-pages")).display !== "none";
  requestAnimationFrame(function () {
    document.body.dataset.hovered = String(hits);
    document.body.dataset.pagesShown = String(pages);
  });
})();
</script>
"""


@page_only
@pytest.mark.parametrize("name", ["small", "300-lanes", "empty", "10000-connections"])
def test_zoom_pan_hover_and_links_raise_nothing(tmp_path, name):
    """Zooming in with the wheel while hovering over every part of the
    timeline, dragging, clicking, the buttons, a connection row, the
    findings' links, scrolling to the last lane and a resize: no error, and
    hovering finds calls."""
    data = SAMPLES[name]()
    page = fake_report_html(data, tmp_path / "report.html")
    text = page.read_text(encoding="utf-8").replace("</body>", EXERCISE + "</body>")
    # the page runs only the scripts its policy names: this one too
    text = sample.CSP_RE.sub(lambda m: m.group(1) + sample.page_csp(text) + m.group(3), text)
    page.write_text(text, encoding="utf-8")
    dom = open_page(page, tmp_path)
    body = dom.all("body")[0]
    if data["calls"]["t"]:
        assert int(body.attrs["data-hovered"]) > 0
    else:
        assert body.attrs["data-hovered"] == "0"
    # the buttons that page through the connections only when there are pages
    assert body.attrs["data-pages-shown"] == str(len(data["connections"]) > 500).lower()


# ---- the screenshot -------------------------------------------------------------

def png_pixels(path):
    """(width, height, rows of pixel tuples) of an 8-bit RGB or RGBA PNG."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = header
    assert depth == 8 and ctype in (2, 6) and interlace == 0, header
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        base = y * (stride + 1)
        kind, line = raw[base], bytearray(raw[base + 1:base + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    pixels = [[tuple(row[i:i + 3]) for i in range(0, stride, bpp)] for row in rows]
    return width, height, pixels


@page_only
def test_screenshot_is_not_blank(tmp_path):
    """A screenshot of a page shows many colours, among them the timeline's
    send and receive marks (drawn on its canvas) and the sequence arrows'."""
    data = sample.make(calls=3000, lanes=8)
    page = fake_report_html(data, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    chromium(page, tmp_path, f"--screenshot={shot}", window="1000,700")
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1000, 700)
    colours = {p for row in pixels for p in row}
    assert len(colours) >= 32, len(colours)
    send, recv = (0x1f, 0x77, 0xb4), (0x2c, 0xa0, 0x2c)
    # the canvas's pixels: the timeline's marks are the colours of their kind
    assert send in colours and recv in colours


# ---- a million calls ------------------------------------------------------------

@page_only
def test_a_million_calls_load(tmp_path):
    """A run of 1,000,000 calls over 300 lanes (no call texts, as the
    command leaves them out above 200,000 calls) loads without error; the
    page notes how long it took (data-load-ms: from navigation start to
    drawn), and the docs state it (docs/report.md)."""
    data = sample.make(calls=1_000_000, lanes=300)
    page = fake_report_html(data, tmp_path / "report.html")
    del data["calls"]
    size = page.stat().st_size
    dom = open_page(page, tmp_path, budget=60000)
    body = dom.all("body")[0]
    print(f"1,000,000 calls: page {size / 1e6:.1f} MB, drawn in {body.attrs['data-load-ms']} ms")
    assert len(dom.by_id("timeline").all(cls="lane")) == 300
    assert "1,000,000" in dom.by_id("summary").text_content()


# ---- `sockshim report --html` of real traces ------------------------------------

def report_has_html():
    proc = subprocess.run([str(SOCKSHIM), "report", "--help"], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    return b"--html" in proc.stdout + proc.stderr


needs_html = pytest.mark.skipif(not SOCKSHIM.exists() or not report_has_html(),
                                reason="sockshim report has no --html yet")


def report_html(tmp_path, traces):
    out = tmp_path / "report.html"
    proc = subprocess.run([str(SOCKSHIM), "report", "--html", str(out), *map(str, traces)],
                          capture_output=True, timeout=TIMEOUT, env=base_env())
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    assert out.exists()
    return out


def embedded_data(page):
    """The data a page carries, read back from its data element."""
    text = page.read_text(encoding="utf-8")
    m = re.search(r'<script id="sockshim-data" type="application/json">(.*?)</script>', text,
                  re.S)
    assert m, "no data element"
    assert "<" not in m.group(1) and ">" not in m.group(1) and "&" not in m.group(1)
    return json.loads(m.group(1))


def trace_records(traces):
    return [json.loads(line) for t in traces for line in Path(t).read_text().splitlines()
            if line.strip()]


def traced_threads(traces):
    return {(r["pid"], r["tid"]) for r in trace_records(traces) if r.get("type") == "call"}


def check_real_page(tmp_path, traces):
    page = report_html(tmp_path, traces)
    data = embedded_data(page)
    dom = open_page(page, tmp_path, budget=30000)
    check_structure(dom, data)
    lanes = dom.by_id("timeline").all(cls="lane")
    assert {(int(n.attrs["data-pid"]), int(n.attrs["data-tid"])) for n in lanes} == \
        traced_threads(traces)
    calls = [r for r in trace_records(traces) if r.get("type") == "call"]
    assert len(data["calls"]["t"]) == len(calls)
    shot = tmp_path / "shot.png"
    chromium(page, tmp_path, f"--screenshot={shot}", window="900,600")
    _, _, pixels = png_pixels(shot)
    assert len({p for row in pixels for p in row}) >= 16
    return data, dom


def both_ends_drawn(data, dom):
    """The connections with both ends traced, each drawn with arrows each way."""
    groups = dom.by_id("sequence").all(cls="conn-arrows")
    paired = [k for k, c in enumerate(data["connections"]) if c["a"] and c["b"]]
    for k in paired:
        sides = {e[1] for e in data["connections"][k]["events"]}
        assert sides == {0, 1}, data["connections"][k]
        assert len(groups[k].all(cls="arrow")) >= 2
    return paired


@needs_html
def test_html_report_of_curl_and_http_server(tmp_path):
    from test_real_programs import Server, free_port, run_client, traced_argv
    from conftest import curl_or_skip
    curl = curl_or_skip()
    www = tmp_path / "www"
    www.mkdir()
    (www / "file").write_bytes(os.urandom(50_000))
    port = free_port()
    server = Server(traced_argv([PYTHON, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                                tmp_path, "server"), www, tmp_path, "server")
    try:
        server.wait_listening(port)
        got = run_client(traced_argv([curl, "-s", "-S", f"http://127.0.0.1:{port}/file"],
                                     tmp_path, "curl"))
        assert got.returncode == 0, got.stderr
    finally:
        server.stop(signal.SIGTERM)
    traces = sorted(tmp_path.glob("server.*")) + sorted(tmp_path.glob("curl.*"))
    traces = [t for t in traces if not t.name.endswith((".stdout", ".stderr"))]
    data, dom = check_real_page(tmp_path, traces)
    paired = [k for k in both_ends_drawn(data, dom) if data["connections"][k]["proto"] == "tcp"]
    assert paired, "curl's connection to the server is not paired"
    # (curl's own socketpair is paired too, within curl)
    curl_conn = data["connections"][paired[0]]
    assert max(curl_conn["bytes_ab"], curl_conn["bytes_ba"]) > 50_000


@needs_html
def test_html_report_of_redis_benchmark(tmp_path):
    from test_real_programs import Server, free_port, run_client, tool, traced_argv
    for name in ("redis-server", "redis-benchmark"):
        if tool(name) is None:
            pytest.skip(f"{name} is missing (apt-get install redis-server redis-tools)")
    port = free_port()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = Server(traced_argv([tool("redis-server"), "--bind", "127.0.0.1", "--port", str(port),
                                 "--save", "", "--appendonly", "no", "--dir", str(data_dir),
                                 "--daemonize", "no", "--logfile", ""], tmp_path, "server"),
                    data_dir, tmp_path, "server")
    try:
        server.wait_listening(port)
        bench = run_client(traced_argv([tool("redis-benchmark"), "-h", "127.0.0.1", "-p",
                                        str(port), "-q", "-n", "200", "-c", "2", "-t", "set,get"],
                                       tmp_path, "bench"))
        assert bench.returncode == 0, bench.stderr
    finally:
        server.stop(signal.SIGTERM)
    traces = [t for t in sorted(tmp_path.glob("server.*")) + sorted(tmp_path.glob("bench.*"))
              if not t.name.endswith((".stdout", ".stderr"))]
    data, dom = check_real_page(tmp_path, traces)
    assert len(both_ends_drawn(data, dom)) >= 2    # -c 2: two clients at least


@needs_html
def test_html_report_of_a_fault_run(tmp_path):
    """A client and a server thread (tests/scenarios/client_server.py) with
    every send cut to 10 bytes: the page lists the faults and flags their
    calls."""
    run_traced(scenario("client_server.py"), tmp_path, per_pid=True, check_exit=0,
               faults=("send:short=10",))
    traces = sorted(tmp_path.glob("trace.*"))
    data, dom = check_real_page(tmp_path, traces)
    faulted = [r for r in trace_records(traces) if r.get("type") == "call" and "fault" in r]
    assert faulted
    assert len(data["faults"]) == len(faulted)
    assert sum(1 for f in data["calls"]["flags"] if f & 2) == len(faulted)
    assert f"faults {len(faulted)}" in dom.by_id("summary").text_content()
