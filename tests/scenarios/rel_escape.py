"""Every byte value through every field the trace renders: data, AF_UNIX
paths (bytes 1..255 but '/'), abstract names (bytes 0..255), datagram
addresses. Run in a scratch directory given as argv[1] (the paths are
relative to it, so they fit in sun_path).

Prints a JSON manifest of what it did (every value as hex) on stdout, for
the test to compare the trace with.

Calls, in order:
  a, b = socketpair(AF_UNIX, SOCK_STREAM)
  for each message in MESSAGES: a.send(msg); b.recv(1024) (whole: <= 256
      bytes on a socketpair arrive in one piece)
  for each path chunk: s = socket(AF_UNIX, SOCK_STREAM); s.bind(chunk);
      s.getsockname(); s.close()
  for each abstract chunk: r = socket(AF_UNIX, SOCK_DGRAM); r.bind(name);
      r.getsockname()
  for each of those sockets in turn: r.sendto(all 256 bytes, next one's
      name); next.recvfrom(1024) (its address: r's name)
  each of those sockets closed; a.close(); b.close()
"""
import json
import os
import socket
import sys

ALL = bytes(range(256))
MESSAGES = [
    ALL,
    bytes(range(255, -1, -1)),
    b"it's",                        # quote choice: "..."
    b'say "hi"',                    # '...'
    b"both ' and \"",               # '...' with \'
    b"\\ backslash \\x41 not an escape",
    "caf\u00e9 \u0085 \u202e bidi".encode(),  # UTF-8: still bytes, \x escapes
]

# bytes 1..255 but '/', in file names of at most 60 bytes
PATH_BYTES = bytes(b for b in range(1, 256) if b != ord("/"))
PATH_CHUNKS = [PATH_BYTES[i:i + 60] for i in range(0, len(PATH_BYTES), 60)]
# valid UTF-8 with C0, C1 and bidirectional-formatting characters in it
PATH_CHUNKS.append("c1\u0085\u009b bidi\u202e\u2066 nl\n tab\t end".encode())

# abstract names: NUL, a tag unique to this run, then a chunk of 0..255
TAG = b"rel%d-" % os.getpid()
ABSTRACT_CHUNKS = [ALL[i:i + 90] for i in range(0, 256, 90)]


def main():
    os.chdir(sys.argv[1])
    manifest = {"messages": [], "paths": [], "abstract": []}
    a, b = socket.socketpair()
    for msg in MESSAGES:
        a.send(msg)
        got = b.recv(1024)
        assert got == msg, (got, msg)
        manifest["messages"].append(msg.hex())

    for chunk in PATH_CHUNKS:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(chunk)
        assert s.getsockname() == os.fsdecode(chunk), s.getsockname()
        manifest["paths"].append(chunk.hex())
        s.close()

    receivers = []
    for chunk in ABSTRACT_CHUNKS:
        name = b"\0" + TAG + chunk
        r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        r.bind(name)
        assert r.getsockname() == name
        receivers.append((r, name))
        manifest["abstract"].append(name.hex())
    # each receiver sends all bytes to the next one (the last to the first)
    for i, (r, name) in enumerate(receivers):
        nxt, nxt_name = receivers[(i + 1) % len(receivers)]
        r.sendto(ALL, nxt_name)
        data, addr = nxt.recvfrom(1024)
        assert data == ALL and addr == name, (data, addr, name)
    for r, _ in receivers:
        r.close()
    a.close()
    b.close()
    print(json.dumps(manifest))


main()
