#!/usr/bin/env python3
"""Writes sample data for the HTML report's page (report_page/page.html), in
the shape of the contract between `sockshim report --html` and the page
(docs/report.md, "The page"): a made-up run of clients and servers talking
over connections, of any size.

For developing and testing the page without the C side:

    sample_data.py --calls 1000000 --lanes 300 -o big.json
    sample_data.py --calls 1000000 --lanes 300 --page page.html -o big.html
    sample_data.py --empty -o empty.json
    sample_data.py --hostile --calls 500 -o hostile.json
    sample_data.py --update-csp page.html

--page writes the page with the data in place of its placeholder, escaped
as the contract says (every <, > and & as \\u003c, \\u003e, \\u0026), the
way `sockshim report --html` writes it.

--hostile puts strings a stranger's trace could carry (markup, a closing
</script>, quotes, control and bidirectional characters) into every string
the page shows: the title, host names, exe names, labels, addresses, call
texts, finding messages and places, fault rules.

--update-csp: the page allows only its own two scripts to run, named by
their SHA-256 in its Content-Security-Policy; after editing them, this
writes the new hashes in (tests/test_report_page.py checks them).

The same seed gives the same data.
"""
import argparse
import base64
import hashlib
import json
import random
import re
import sys

PLACEHOLDER = "@SOCKSHIM_DATA@"
TEXT_LIMIT = 200000     # above it the C side leaves out calls.text

HOSTILE = [
    "</script><img src=x onerror=alert(1)>",
    "<svg onload=alert(2)>",
    "\"'><b>bold</b>&amp;&lt;",
    "<!-- comment -->\u202eevil\u202c",
    "x\x1b[31mred\x07\nnewline",
    "javascript:alert(3)",
]

OPS = ["socket", "connect", "connect_ex", "accept", "send", "recv", "sendto", "recvfrom",
       "shutdown", "close", "getsockopt", "setsockopt", "epoll_poll", "poll", "bind",
       "listen", "getsockname"]
OP = {name: i for i, name in enumerate(OPS)}

RAISED, FAULTED, FINDING, WAIT, BLOCKED = 1, 2, 4, 8, 16
FINDING_CODES = ["lost-bytes", "leak", "sigpipe-risk", "unchecked-short-send",
                 "busy-loop", "double-close"]


def hostile(rng, plain):
    return rng.choice(HOSTILE) + plain


def make(calls=2000, lanes=6, conns=None, hosts=1, seed=1, hostile_strings=False,
         text=None, outside=0.15, fault_rate=1 / 300, findings_every=1499):
    """The data as a dict. calls: about how many calls (exactly, unless the
    connections need more for their opening and closing); lanes: threads;
    conns: connections (default: scaled with lanes and calls)."""
    rng = random.Random(seed)
    if calls <= 0 or lanes <= 0:
        return empty(hosts, hostile_strings, rng)
    if conns is None:
        conns = max(1, min(lanes * 4, calls // 40, 5000))
    hs = lambda plain: hostile(rng, plain) if hostile_strings else plain  # noqa: E731

    host_list = [{"name": hs(f"host{h + 1}"), "offset_us": 0 if h == 0 else rng.randint(-900, 900),
                  "basis": "reference clock" if h == 0 else hs("from 12 connections")}
                 for h in range(hosts)]
    exes = ["curl", "python3", "redis-server", "redis-benchmark", "nginx", "node"]
    lane_list = []
    pid = 1000
    while len(lane_list) < lanes:
        pid += rng.randint(1, 40)
        exe = hs(rng.choice(exes))
        host = (len(lane_list) * hosts) // lanes
        threads = min(rng.choice([1, 1, 1, 2, 3]), lanes - len(lane_list))
        for k in range(threads):
            tid = pid + k * 3
            label = f"{exe} {pid}" if k == 0 else f"{exe} {pid}:{tid}"
            lane_list.append({"host": host, "pid": pid, "tid": tid, "exe": exe, "label": label})

    span = max(10000, calls * 20)       # µs
    rows = []   # (t, dur_ns, lane, op, conn, bytes, flags, text)
    conn_list = []
    per_conn = max(1, (calls - 8 * conns) // (4 * conns))   # request/response exchanges
    for c in range(conns):
        a = rng.randrange(lanes)
        traced_peer = lanes > 1 and rng.random() >= outside
        b = rng.randrange(lanes - 1) if traced_peer else None
        if b is not None and b >= a:
            b += 1
        unix = rng.random() < 0.1
        port = 30000 + c % 30000
        if unix:
            a_addr, b_addr = hs("") + "''", hs("/run/app.sock")
        else:
            a_addr = f"127.0.0.{1 + c % 3}:{40000 + c % 20000}"
            b_addr = hs(f"127.0.0.1:{port}")
        fd_a, fd_b = 3 + c % 50, 4 + c % 50
        t = rng.randrange(0, max(1, span - per_conn * 200 - 1000))
        conn = {"proto": "unix" if unix else "tcp",
                "a": {"lane": a, "addr": a_addr},
                "b": {"lane": b, "addr": b_addr} if b is not None else None,
                "label": f"{a_addr} \u2192 {b_addr}"}
        conn_list.append(conn)

        def call(lane, op, dur_ns, nbytes=0, flags=0, line=""):
            nonlocal t
            rows.append((t, dur_ns, lane, OP[op], c, nbytes, flags, line))
            t += max(1, dur_ns // 1000) + rng.randint(1, 15)

        call(a, "socket", 3000, line=f"sock{fd_a} = socket(AF_INET, SOCK_STREAM, 0)")
        call(a, "connect", 40000, line=f"sock{fd_a}.connect({hs(repr(b_addr))}) -> None")
        if b is not None:
            call(b, "accept", 20000, line=f"sock9.accept() -> (sock{fd_b}, {hs(repr(a_addr))})")
        for k in range(per_conn):
            req = rng.choice([18, 77, 120, 512])
            resp = rng.choice([5, 1480, 4096, 65536])
            flags = 0
            if rng.random() < fault_rate:
                flags |= FAULTED
            call(a, "send", rng.randint(2000, 30000), req, flags,
                 f"sock{fd_a}.send(b{hs('GET / HTTP/1.1')!r} ({req} bytes)) -> {req}")
            if b is not None:
                call(b, "recv", rng.randint(2000, 20000), req,
                     line=f"sock{fd_b}.recv(4096) -> b'GET / ' ({req} bytes)")
                if k % 3 == 0:
                    long_wait = rng.random() < 0.1
                    dur = rng.randint(1_000_000, 20_000_000) if long_wait else rng.randint(5000, 90000)
                    call(b, "epoll_poll", dur, 0, WAIT | (BLOCKED if dur >= 1_000_000 else 0),
                         "epoll8.poll(-1, 64) -> [(%d, EPOLLIN)]" % fd_b)
                call(b, "send", rng.randint(2000, 30000), resp,
                     line=f"sock{fd_b}.send(b'HTTP/1.1 200 OK' ({resp} bytes)) -> {resp}")
            raised = (len(rows) + 1) % 211 == 0
            call(a, "recv", rng.randint(2000, 60000), 0 if raised else resp,
                 RAISED if raised else 0,
                 f"sock{fd_a}.recv(65536) raises error(104, 'Connection reset by peer')"
                 if raised else f"sock{fd_a}.recv(65536) -> b'HTTP/1.1 200 OK' ({resp} bytes)")
        call(a, "shutdown", 2000, line=f"sock{fd_a}.shutdown(SHUT_WR) -> None")
        call(a, "close", 3000, line=f"sock{fd_a}.close()")
        if b is not None:
            call(b, "close", 3000, line=f"sock{fd_b}.close()")

    # lanes without connections still make calls (setsockopt, polls)
    extra = calls - len(rows)
    for k in range(max(0, extra)):
        lane = k % lanes
        t = rng.randrange(0, span)
        if k % 5 == 0:
            rows.append((t, rng.randint(10000, 900000), lane, OP["poll"], -1, 0, WAIT,
                         "poll([(5, POLLIN)], 100) -> []"))
        else:
            rows.append((t, rng.randint(500, 5000), lane, OP["setsockopt"], -1, 0, 0,
                         "sock5.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1) -> None"))
    rows.sort(key=lambda r: r[0])
    if len(rows) > calls:
        rows = rows[:calls]

    # findings and faults on some of the calls
    findings, faults = [], []
    out = [list(r) for r in rows]
    for i, r in enumerate(out):
        if r[6] & FAULTED:
            faults.append({"t": r[0], "lane": r[2], "call": i,
                           "rule": hs("send:short=10")})
        if i % findings_every == findings_every // 2:
            r[6] |= FINDING
            code = FINDING_CODES[(i // findings_every) % len(FINDING_CODES)]
            findings.append({"code": code, "lane": r[2], "t": r[0], "call": i,
                             "message": hs(f"{code} on this call: the program did not look"),
                             "where": hs("client.c:42 (main)") if i % 2 else ""})
    # a finding with no call, at the end of a process
    last = out[-1]
    findings.append({"code": "leak", "lane": last[2], "t": last[0], "call": -1,
                     "message": hs("a socket created here was never closed"),
                     "where": hs("server.c:7 (serve)")})

    # per connection: start, end, bytes, events (bursts), round trips
    lane_of_side = [(c["a"]["lane"], c["b"]["lane"] if c["b"] else None) for c in conn_list]
    seen = [[] for _ in conn_list]
    for i, r in enumerate(out):
        if r[4] >= 0:
            seen[r[4]].append(i)
    kept, index = [], {}
    for c, conn in enumerate(conn_list):
        if not seen[c]:
            continue
        index[c] = len(kept)
        kept.append(conn)
        a_lane, _ = lane_of_side[c]
        events, bytes_ab, bytes_ba, rtt = [], 0, 0, []
        burst = None
        req_t = None
        for i in seen[c]:
            t, dur, lane, op, _, nbytes, flags, _ = out[i]
            side = 0 if lane == a_lane else 1
            name = OPS[op]
            if name == "send":
                if side == 0:
                    bytes_ab += nbytes
                    req_t = t
                else:
                    bytes_ba += nbytes
                if burst and burst[1] == side:
                    burst[3] += nbytes
                else:
                    burst = [t, side, "data", nbytes]
                    events.append(burst)
                if flags & FAULTED:
                    events.append([t, side, "fault", 0])
                    burst = None
                continue
            if name == "recv":
                if side == 0 and req_t is not None and conn["b"] is not None:
                    rtt.append(t - req_t)
                    req_t = None
                if nbytes == 0 and flags & RAISED:
                    events.append([t, side, "reset", 0])
                    burst = None
                continue
            kind = {"connect": "connect", "accept": "accept", "shutdown": "shutdown",
                    "close": "close"}.get(name)
            if kind:
                events.append([t, side, kind, 0])
                burst = None
        if conn["b"] is None:
            # the peer was not traced: only a's side was seen
            events = [e for e in events if e[1] == 0]
            bytes_ba = sum(out[i][5] for i in seen[c] if OPS[out[i][3]] == "recv")
        conn["start"] = out[seen[c][0]][0]
        last_i = seen[c][-1]
        conn["end"] = out[last_i][0] + out[last_i][1] // 1000
        conn["bytes_ab"], conn["bytes_ba"] = bytes_ab, bytes_ba
        conn["events"] = events[:2000]
        conn["rtt_us"] = rtt[:2000]
    for r in out:
        r[4] = index.get(r[4], -1)

    n = len(out)
    columns = {"t": [r[0] for r in out], "dur": [r[1] for r in out],
               "lane": [r[2] for r in out], "op": [r[3] for r in out],
               "conn": [r[4] for r in out], "bytes": [r[5] for r in out],
               "flags": [r[6] for r in out]}
    if text is None:
        text = n <= TEXT_LIMIT
    if text:
        columns["text"] = [r[7] for r in out]
    span_us = max((r[0] + r[1] // 1000 for r in out), default=0)
    return {
        "version": 1,
        "title": "sockshim report: " + hs("sample.jsonl"),
        "t0_unix_us": 1796616616169294,
        "span_us": span_us,
        "hosts": host_list,
        "lanes": lane_list,
        "ops": OPS,
        "calls": columns,
        "connections": kept,
        "findings": findings,
        "faults": faults,
    }


def empty(hosts=1, hostile_strings=False, rng=None):
    """A run with no call at all."""
    rng = rng or random.Random(1)
    name = (lambda p: hostile(rng, p)) if hostile_strings else (lambda p: p)
    return {"version": 1, "title": "sockshim report: " + name("empty.jsonl"),
            "t0_unix_us": 1796616616169294, "span_us": 0,
            "hosts": [{"name": name(f"host{h + 1}"), "offset_us": 0, "basis": "reference clock"}
                      for h in range(hosts)],
            "lanes": [], "ops": OPS,
            "calls": {"t": [], "dur": [], "lane": [], "op": [], "conn": [], "bytes": [],
                      "flags": [], "text": []},
            "connections": [], "findings": [], "faults": []}


SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.S)
CSP_RE = re.compile(r'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(">)')


def page_csp(page):
    """The Content-Security-Policy the page must carry: its own inline
    scripts (those without a type: not the data) by their SHA-256, and
    nothing else; styles inline; no network, no image, no frame."""
    hashes = " ".join("'sha256-%s'" % base64.b64encode(hashlib.sha256(m.encode()).digest()).decode()
                      for m in SCRIPT_RE.findall(page))
    return f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'"


def update_csp(path):
    """Writes page_csp() into the page's <meta> (after editing its scripts)."""
    with open(path, encoding="utf-8") as f:
        page = f.read()
    new, n = CSP_RE.subn(lambda m: m.group(1) + page_csp(page) + m.group(3), page)
    assert n == 1, "the page has no Content-Security-Policy <meta>"
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


def embedded_json(data):
    """The data as `sockshim report --html` writes it into the page."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fill_page(page, data):
    """page.html's text with the data in place of its one placeholder."""
    assert page.count(PLACEHOLDER) == 1, "the page must hold the placeholder exactly once"
    return page.replace(PLACEHOLDER, embedded_json(data))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--output", default="-", help="where to write (default: stdout)")
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--lanes", type=int, default=6)
    p.add_argument("--conns", type=int, default=None)
    p.add_argument("--hosts", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hostile", action="store_true", help="hostile strings everywhere")
    p.add_argument("--empty", action="store_true", help="a run with no calls")
    p.add_argument("--text", choices=["auto", "yes", "no"], default="auto",
                   help="calls.text: present up to 200000 calls (auto), always, never")
    p.add_argument("--page", metavar="PAGE.html",
                   help="write this page with the data in it instead of the JSON")
    p.add_argument("--update-csp", metavar="PAGE.html",
                   help="after editing the page's scripts: write their hashes into its "
                        "Content-Security-Policy, and nothing else")
    args = p.parse_args()
    if args.update_csp:
        update_csp(args.update_csp)
        return
    if args.empty:
        data = empty(args.hosts, args.hostile)
    else:
        data = make(args.calls, args.lanes, args.conns, args.hosts, args.seed, args.hostile,
                    text={"auto": None, "yes": True, "no": False}[args.text])
    if args.page:
        with open(args.page, encoding="utf-8") as f:
            out = fill_page(f.read(), data)
    else:
        out = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if args.output == "-":
        sys.stdout.write(out)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out)


if __name__ == "__main__":
    main()
