#!/usr/bin/python3
"""Writes the seed corpora of the fuzz harnesses: tests/fuzz/corpus/<harness>/.

The seeds are committed; this script says where each comes from and makes
them again (it replaces the files it names and leaves others alone).
Run: /usr/bin/python3 tests/fuzz/make_corpus.py

Not corpus/callrec: a call record holds the build's struct ss_call, so
fuzz_callrec writes its own (FUZZ_CALLREC_SEEDS, tests/fuzz/README.md).
"""
import json
import socket
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ---- fuzz_rules: rules of docs/faults.md, good and bad ----------------------

RULES_VALID = {
    "connect-refused-when": "connect:error=ECONNREFUSED:when=1..3",
    "send-short": "send:short=1",
    "recv-delay": "recv:delay=200ms",
    "port-delay": "send,recv:delay=200ms:port=6379",
    "eof-after": "recv:eof:after=4096",
    "eof-after-mib": "recv:eof:after=1MiB",
    "reset-when": "send:reset:when=3",
    "timeout-delay": "connect:timeout:delay=2s",
    "timeout": "recv:timeout",
    "corrupt": "recv:corrupt=3",
    "short-p": "recv:short=7:p=0.5",
    "accept-emfile": "accept:error=EMFILE:when=2+",
    "eintr-p": "%io:error=EINTR:p=0.01",
    "peer-v4-port": "send:short=1:peer=127.0.0.1:6379",
    "peer-v6-port": "send:short=1:peer=[::1]:80",
    "peer-v6": "send:short=1:peer=::1",
    "peer-v6-fd": "send:short=1:peer=fe80::1:fd=3",
    "peer-unix-fd": "recv:short=1:peer=/run/x.sock:fd=3",
    "family-unix": "send:error=EPIPE:family=unix",
    "all-jitter": "%all:delay=1.5s:jitter=500us",
    "corrupt-max-step": "send:corrupt=65536:when=2..10+3",
    "short-k-percent": "recv:short=4k:p=25%",
    "short-dot-p": "recv:short=1:p=.25",
    "close-eio": "close:error=EIO",
    "when-step": "send:delay=1ms:when=2+3",
    "errno-number": "connect:error=111",
    "groups": "%lifecycle,%connection,%options:delay=1us",
    "every-term": "send,recv:short=2:delay=1ms:jitter=1ms:corrupt=1:when=1..9+2:p=50%:"
                  "after=1k:port=80:family=inet6:fd=7:type=stream",
    "type-dgram": "send:delay=1ms:type=dgram",
    "type-socket": "socket,socketpair:error=EMFILE:type=seqpacket",
    "type-raw-family": "%io:corrupt=1:type=raw:family=inet",
    "warn-recv-eaddrinuse": "recv:error=EADDRINUSE",
    "warn-connect-enoent": "connect:error=ENOENT",
    "warn-short-dgram": "send:short=1:type=dgram",
    "warn-short-seqpacket": "recv:short=4:delay=1ms:type=seqpacket",
    "resolve-again": "resolve:error=EAI_AGAIN:when=1..2",
    "resolve-host-suffix": "getaddrinfo:error=EAI_NONAME:host=*.test",
    "resolve-herrno": "gethostbyname,gethostbyaddr:error=TRY_AGAIN:p=50%",
    "resolve-delay-host": "%resolve:delay=2s:jitter=1ms:host=db.local",
    "resolve-all-narrowed": "%all:delay=1ms:host=10.0.0.5",
}

RULES_BROKEN = {
    "typo-action": "send:shrot=1",
    "typo-method": "sedn:short=1",
    "no-colon": "send",
    "empty": "",
    "when-open": "send:short=1:when=1..",
    "when-reversed": "send:short=1:when=5..2",
    "p-too-big": "send:short=1:p=2",
    "port-zero": "send:short=1:port=0",
    "accept-short": "accept:short=1",
    "send-eof": "send:eof",
    "unknown-errno": "send:error=EFOO",
    "unknown-group": "%bogus:eof",
    "semicolon": "send:short=1;recv:eof",
    "short-zero": "send:short=0",
    "delay-too-long": "send:delay=2h",
    "two-outcomes": "send:error=ECONNREFUSED:eof",
    "term-twice": "send:short=1:short=2",
    "peer-unclosed": "send:peer=[::1:short=1",
    "peer-bad-v4": "send:peer=999.1.1.1:short=1",
    "family-ipx": "send:family=ipx:short=1",
    "type-typo": "send:short=1:type=dgarm",
    "type-constant": "recv:eof:type=SOCK_DGRAM",
    "type-unknown": "send:short=1:type=packet",
    "type-twice": "send:delay=1ms:type=dgram:type=stream",
    "delay-two-dots": "send:delay=1.5.5s",
    "after-huge": "send:after=99999999999999999999G:eof",
    "empty-term": "send::short=1",
    "empty-method": ",send:short=1",
    "no-action": "send:when=1",
    "long": "send:short=1:peer=/" + "x" * 600,
    "binary": b"send:short=\x01\xff\x7f:peer=\x80",
    "resolve-errno": "resolve:error=ECONNREFUSED",
    "resolve-eai-on-connect": "connect:error=EAI_AGAIN",
    "resolve-host-on-send": "send:delay=1ms:host=db.local",
    "resolve-reset": "resolve:reset",
    "resolve-eai-system": "getaddrinfo:error=EAI_SYSTEM",
    "resolve-port": "resolve:delay=1ms:port=53",
}

# ---- fuzz_options: values of the options and SOCKSHIM_* variables ----------

OPTIONS = {
    "format-text": "text", "format-json": "json", "format-jsonl": "jsonl",
    "format-bad": "xml",
    "flag-0": "0", "flag-1": "1",
    "strsize-default": "32", "strsize-max": "1048576", "strsize-over": "1048577",
    "strsize-negative": "-1", "strsize-huge": "99999999999999999999",
    "strsize-hex": "0x20",
    "trace-list": "connect,accept", "trace-prefix": "trace=connect,accept",
    "trace-not": "!close", "trace-group": "%io", "trace-bad-group": "%network",
    "trace-resolve": "%resolve,resolve", "trace-not-resolve": "!resolve",
    "trace-all": "all", "trace-none": "none", "trace-empty": "trace=", "trace-bang": "!",
    "trace-typo": "conect", "trace-empty-item": "send,,recv",
    "trace-long-word": "a" * 40,
    "empty": "",
    "output-pid": "trace.%p", "output-mixed": "/tmp/trace-%p-%%p.txt",
    "output-percent": "%%", "output-lone-percent": "%", "output-trailing": "100%",
    "output-many-pids": "%p%p%p%p",
    "fd-ok": "2:2049:123456", "fd-zeros": "2:0:0", "fd-too-big": "1073741825:1:1",
    "fd-missing": "3:4:", "fd-letters": "a:b:c", "fd-max": "0:18446744073709551615:1",
    "fd-overflow": "0:18446744073709551616:1", "fd-long": "1:" + "9" * 30 + ":1",
    "fd-holder": "140:22:3071:4242:140", "fd-holder-pid0": "140:22:3071:0:140",
    "fd-holder-short": "140:22:3071:4242", "fd-holder-pid-big": "140:22:3071:4194305:140",
    "summary-on": "on", "summary-off": "off", "summary-only": "only",
    "summary-typo": "onn",
    "utf8": "caf\u00e9,\u20ac",
    "binary": b"\x01\x7f\xff%p\x00tail",
}

# ---- fuzz_render: socket addresses, names and data --------------------------


def sin(host, port):
    return struct.pack("<H", socket.AF_INET) + struct.pack("!H", port) + \
        socket.inet_aton(host) + b"\0" * 8


def sin6(host, port, flowinfo=0, scope=0):
    return struct.pack("<H", socket.AF_INET6) + struct.pack("!HI", port, flowinfo) + \
        socket.inet_pton(socket.AF_INET6, host) + struct.pack("<I", scope)


def sun(path):
    return struct.pack("<H", socket.AF_UNIX) + path


def snl(pid, groups):
    return struct.pack("<HHII", socket.AF_NETLINK, 0, pid, groups)


RENDER = {
    "in-loopback": sin("127.0.0.1", 8080),
    "in-any": sin("0.0.0.0", 0),
    "in-broadcast": sin("255.255.255.255", 65535),
    "in-short": sin("127.0.0.1", 80)[:8],
    "in6-loopback": sin6("::1", 443),
    "in6-scoped": sin6("fe80::1", 22, flowinfo=0xfffff, scope=2),
    "in6-v4mapped": sin6("::ffff:127.0.0.1", 6379),
    "in6-short": sin6("::1", 1)[:20],
    "un-path": sun(b"/tmp/x.sock\0"),
    "un-path-no-nul": sun(b"/run/app.sock"),
    "un-abstract": sun(b"\0name\0with nul"),
    "un-unnamed": sun(b""),
    "un-invalid-utf8": sun(b"/tmp/\xff\xfe\xc3(\0"),
    "un-quotes": sun(b"/tmp/it's \"here\"\\\0"),
    "un-full": sun(b"p" * 108),
    "un-overlong": sun(b"q" * 140),
    "un-controls": sun(b"/tmp/\x1b[31m\r\n\t\x7f\0"),
    "un-c1-bidi": sun("/tmp/\u0085\u202e\u200b\ufeff\u00ad".encode()),
    "nl": snl(1234, 0xffffffff),
    "nl-short": snl(1, 1)[:6],
    "unspec": struct.pack("<H", socket.AF_UNSPEC) + b"\0" * 14,
    "packet": struct.pack("<H", socket.AF_PACKET) + bytes(range(1, 19)),
    "family-unknown": b"\xff\xff\x01\x02",
    "family-only": struct.pack("<H", socket.AF_INET),
    "one-byte": b"\x02",
    "every-byte": bytes(range(256)),
    "utf8-valid": "h\u00e9llo \u20ac \U0001f600 \u4e2d".encode(),
    "utf8-overlong": b"\xc0\x80\xe0\x80\xaf\xf0\x80\x80\xaf",
    "utf8-surrogates": b"\xed\xa0\x80\xed\xbf\xbf",
    "utf8-truncated": b"\xe2\x82 \xf0\x9f\x98",
    "utf8-beyond": b"\xf4\x90\x80\x80\xf5\xff",
    "quotes-single": b"it's",
    "quotes-both": b"'\"'\"",
    "backslashes": b"\\\\x41\\u0041\\",
    "http": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "nuls": b"\0" * 40,
}


# ---- fuzz_report: traces, as sockshim writes them and as a forger would -----

def _rec(**fields):
    rec = {"v": 2, "ts": "2026-12-06T00:00:01.000000Z", "pid": 7, "tid": 7}
    rec.update(fields)
    return json.dumps(rec)


def _sock(sid, laddr=None, raddr=None, stype="SOCK_STREAM"):
    return {"id": sid, "family": "AF_INET", "type": stype, "proto": 0, "laddr": laddr,
            "raddr": raddr, "state": ["connected"], "blocking": True}


_A = {"family": "AF_INET", "host": "127.0.0.1", "port": 80}
_B = {"family": "AF_INET", "host": "127.0.0.1", "port": 4242}
_WHERE = {"address": "0x1", "module": None, "offset": "0x10", "symbol": None,
          "text": "prog+0x10"}
_START = _rec(type="start", ppid=1, exe="prog", version="0.1.0", strsize=32)


def _lines(*recs):
    return "\n".join(recs) + "\n"


REPORT = {
    "run": _lines(
        _START,
        _rec(type="call", op="connect", call="connect", fd=3, sock=_sock(1, _B, _A), ret=0,
             dur_ns=10),
        _rec(type="call", op="send", call="send", fd=3, sock=_sock(1, _B, _A), ret=5,
             dur_ns=10),
        _rec(pid=8, type="call", op="recv", call="recv", fd=4, sock=_sock(1, _A, _B), ret=5,
             dur_ns=10),
        _rec(type="finding", code="leak", message="never closed", fd=3, sock=_sock(1),
             where=_WHERE),
        _rec(type="summary", exe="prog", methods=[], sockets=[], sockets_dropped=0,
             findings=[dict(code="leak", message="never closed", fd=3, sock=_sock(1),
                            where=_WHERE, count=2, first="x")])),
    "hostile-names": _lines(
        _rec(type="start", ppid=1, exe="\x1b]0;t\x07\n\u202e", exe_hex="1b5d303b7407ff"),
        _rec(type="call", op="accept", fd=3, ret=4,
             sock=_sock(1, {"family": "AF_UNIX", "path": "a\ufffd\n", "path_hex": "61ff0a"},
                        {"family": "AF_UNIX", "abstract": "\u0000x\ufffd",
                         "abstract_hex": "0078ff"})),
        _rec(type="call", op="accept", fd=5, ret=6,
             sock=_sock(2, {"family": "AF_UNIX", "abstract": "\u0000x\ufffd",
                            "abstract_hex": "0078ff"},
                        {"family": "AF_UNIX", "path": "a\ufffd\n", "path_hex": "61ff0a"}))),
    "huge-sums": _lines(_START, *[_rec(type="call", op="send", fd=3, sock=_sock(1),
                                       ret=2**63 - 1, dur_ns=2**63 - 1)] * 3),
    "negative": _lines(_START, _rec(type="call", op="send", fd=3, sock=_sock(1), ret=-1)),
    "wrong-types": _lines(_START, _rec(type="call", op=5, fd="3", sock=[1], ret="x")),
    "bad-hex": _lines(_rec(type="start", exe="x", exe_hex="f")),
    "lone-surrogate": '{"v": 1, "type": "start", "pid": 1, "exe": "\\udcff"}\n',
    "nul-bytes": '{"v": 2, "type": "start", "pid": 1, "exe": "a\\u0000b"}\n\0\n',
    "invalid-utf8": b'{"v": 2, "type": "start", "pid": 1, "exe": "\xff\xfe"}\n',
    "deep": "[" * 3000 + "\n" + "{\"a\": " * 3000 + "\n",
    "duplicate-keys": '{"v": 2, "v": 2, "type": "start", "pid": 1}\n',
    "cut-last-line": _START + "\n" + _START[:30],
    "self-pair": _lines(_rec(type="call", op="connect", fd=3, sock=_sock(1, _A, _A), ret=0)),
}

# ---- fuzz_rawfile: record files (--format=raw), framed by hand -------------
#
# A record of a real run holds the build's struct ss_call: tools/check
# records one with the build it fuzzes (build-fuzz/scratch/seed-rawfile).
# These are the frames around it, which do not depend on the build.

def _frame(kind, payload, pid=1234):
    return struct.pack("=IIiHH", 0x52485353, len(payload), pid, kind, 0) + payload


def _start(version=1, callrec=1, call_size=544, sockshim=b"0.1.0"):
    payload = (b"sockshim raw\n".ljust(16, b"\0") +
               struct.pack("=IIII", 0x01020304, version, callrec, call_size) +
               sockshim.ljust(32, b"\0"))
    return _frame(1, payload, pid=0)


_TEXT = b"20:00:00.000000 [1234] sock3.close()\n"
_JSON = b'{"v": 2, "type": "call", "pid": 1234, "op": "close"}\n'
RAWFILE = {
    "start-only": _start(),
    "lines": _start() + _frame(2, _TEXT) + _frame(3, _JSON),
    "two-starts": _start() + _frame(2, _TEXT) + _start(),
    "other-build": _start(call_size=512, sockshim=b"0.0.9"),
    "swapped": _start()[:16] + _start()[16:32] + struct.pack(">I", 0x01020304) + _start()[36:],
    "cut-header": _start() + _frame(2, _TEXT)[:9],
    "cut-payload": _start() + _frame(2, _TEXT)[:30],
    "unknown-kind": _start() + _frame(9, b"x"),
    "huge-length": _start() + struct.pack("=IIiHH", 0x52485353, 0xffffffff, 1, 2, 0),
    "bad-json": _start() + _frame(3, b'{"v": 2,\n'),
    "escape": _start() + _frame(2, b"20:00:00.000000 [1] \x1b[2J\n"),
    "call-kind-short": _start() + _frame(4, b"\x30"),
    "capture-short": _start() + _frame(4, b"\x01\x00\x00"),
    "ledger": _start() + _frame(4, b"\x40" + b"\0" * 31),
    "pid-zero": _start() + _frame(2, _TEXT, pid=0),
    "text-trace": _TEXT,
}


def write(harness, name, data):
    d = HERE / "corpus" / harness
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    (d / name).write_bytes(data)


def main():
    for name, rule in RULES_VALID.items():
        write("rules", "valid-" + name, rule)
    for name, rule in RULES_BROKEN.items():
        write("rules", "bad-" + name, rule)
    for name, value in OPTIONS.items():
        write("options", name, value)
    for name, data in RENDER.items():
        write("render", name, data)
    for name, data in REPORT.items():
        write("report", name, data)
    for name, data in RAWFILE.items():
        write("rawfile", name, data)


if __name__ == "__main__":
    main()
