"""A connection the peer resets after bytes were sent under a delay:
listens on argv[1], connects to itself, sends b"hello", and the peer
resets the connection (SO_LINGER 0, close) before those bytes are due;
the client waits past their due time and then, by argv[2]:
  recv  receives, then sends twice
  send  sends twice, then receives
Prints one line per call: "recv B", "send N" or the call's error's name
(ConnectionResetError, BrokenPipeError). The kernel says what it says
without a delay: the reset is the next call's error, whichever it is, and
the connection stays reset."""
import signal
import socket
import struct
import sys
import time

from scenario_helpers import connected_pair

signal.signal(signal.SIGPIPE, signal.SIG_IGN)
port, order = int(sys.argv[1]), sys.argv[2]
srv, c, peer = connected_pair(port)
c.send(b"hello")
peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
peer.close()
time.sleep(0.4)


def call(name, *args):
    try:
        print(name, getattr(c, name)(*args), flush=True)
    except OSError as e:
        print(name, type(e).__name__, flush=True)


for name, *args in ([("recv", 10), ("send", b"x"), ("send", b"y")] if order == "recv"
                    else [("send", b"x"), ("send", b"y"), ("recv", 10)]):
    call(name, *args)
