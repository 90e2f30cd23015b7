"""Unix socket names a hostile peer could choose, through a real exchange,
for tests/test_report.py. Run in a scratch directory given as argv[1] (the
paths are relative to it).

Calls, in order:
  listener = socket(AF_UNIX, SOCK_STREAM); listener.bind(FORGER); listen
  client = socket(AF_UNIX, SOCK_STREAM); client.bind(NOT_UTF8)
  client.connect(FORGER); conn = listener.accept() (its peer: NOT_UTF8)
  client.send(b"hi"); conn.recv(2)
  abstract listener bound to ABSTRACT, a client connecting to it (its peer
      unnamed), a send and a recv
  everything closed

Prints the names as a JSON object of hex strings on stdout.
"""
import json
import os
import socket
import sys

# a terminal title, a bell, a forged report line, a bidi override
FORGER = "x\x1b]0;pwned\x07\n01:00:00.000000 [1] # FORGED \u202eend".encode()
# bytes that are not UTF-8, with ESC and a newline among them
NOT_UTF8 = b"bad\xff\xfe\x1b[31m\nname"
# an abstract name (after its NUL) with 0xff, a NUL and a forged line
ABSTRACT = b"hostile-%d-\xff\x00\n# FORGED\x1b[2J" % os.getpid()


def exchange(listener, client, address):
    client.connect(address)
    conn, _ = listener.accept()
    client.send(b"hi")
    assert conn.recv(2) == b"hi"
    for s in (conn, client, listener):
        s.close()


def main():
    os.chdir(sys.argv[1])
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(FORGER)
    listener.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.bind(NOT_UTF8)
    exchange(listener, client, FORGER)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(b"\0" + ABSTRACT)
    listener.listen(1)
    exchange(listener, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), b"\0" + ABSTRACT)
    print(json.dumps({"forger": FORGER.hex(), "not_utf8": NOT_UTF8.hex(),
                      "abstract": ABSTRACT.hex()}))


if __name__ == "__main__":
    main()
