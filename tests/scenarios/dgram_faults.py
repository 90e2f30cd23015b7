"""Numbered datagrams between two sockets, for drop, duplicate and reorder=.

dgram_faults.py send COUNT FAMILY
    The sender sends COUNT datagrams (b'0', b'1', ...) with sendto; after
    each one the receiver takes what is queued (recv, non-blocking); after
    the sender's close, what comes until 200 ms pass without a datagram
    (SO_RCVTIMEO). Prints "got N N N...".
dgram_faults.py connected COUNT FAMILY
    The same, but the sender is connected to the receiver and sends with
    send() (no address: its peer's).
dgram_faults.py recv COUNT FAMILY
    The sender sends COUNT datagrams first; then the receiver takes them
    with recvfrom, with SO_RCVTIMEO 300 ms, until it fails. Prints
    "got N N N..." and "end ERRNO-NAME".
dgram_faults.py nonblock FAMILY
    Sends b'a'; a non-blocking recv; sends b'b'; another. Prints what each
    got ("a", "b" or "EAGAIN").
dgram_faults.py block FAMILY
    Sends b'a'; a thread sends b'b' 300 ms later; a blocking recv. Prints
    what it got and whether it waited.
dgram_faults.py peek FAMILY
    Sends b'a' and b'b'; recv with MSG_PEEK, then two recvs (SO_RCVTIMEO
    300 ms). Prints what each got ("recv EAGAIN" for none).
dgram_faults.py asyncio COUNT
    An asyncio datagram endpoint (non-blocking, woken by epoll) receives
    COUNT datagrams a plain socket sends 10 ms apart. Prints "got N N...".
dgram_faults.py tcp
    Three sends over a TCP connection; the other end reads them all.

FAMILY is inet or unix (SOCK_DGRAM sockets bound to paths in a fresh
directory).
"""
import asyncio
import errno
import os
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

signal.alarm(20)


def pair(family):
    """(sender, receiver, receiver's address)."""
    if family == "inet":
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", 0))
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        return tx, rx, rx.getsockname()
    where = tempfile.mkdtemp()
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(os.path.join(where, "rx"))
    tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    tx.bind(os.path.join(where, "tx"))
    return tx, rx, os.path.join(where, "rx")


def drain(rx, got, flags=socket.MSG_DONTWAIT):
    while True:
        try:
            got.append(rx.recv(100, flags).decode())
        except BlockingIOError:
            return


def send(count, family, connected=False):
    tx, rx, to = pair(family)
    if connected:
        tx.connect(to)
    got = []
    for i in range(count):
        data = str(i).encode()
        assert (tx.send(data) if connected else tx.sendto(data, to)) == len(data)
        drain(rx, got)
    tx.close()
    # what is still on its way: until 200 ms pass without a datagram
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200000))
    drain(rx, got, 0)
    print("got", " ".join(got))


def recv(count, family):
    tx, rx, to = pair(family)
    for i in range(count):
        tx.sendto(str(i).encode(), to)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 300000))
    got = []
    try:
        while True:
            got.append(rx.recvfrom(100)[0].decode())
    except OSError as e:
        end = errno.errorcode[e.errno]
    print("got", " ".join(got))
    print("end", end)


def nonblock(family):
    tx, rx, to = pair(family)
    rx.setblocking(False)
    for data in (b"a", b"b"):
        tx.sendto(data, to)
        try:
            print(rx.recv(100).decode())
        except BlockingIOError:
            print("EAGAIN")


def block(family):
    tx, rx, to = pair(family)
    tx.sendto(b"a", to)

    def later():
        time.sleep(0.3)
        tx.sendto(b"b", to)

    threading.Thread(target=later).start()
    start = time.monotonic()
    data = rx.recv(100)
    print(data.decode(), "waited" if time.monotonic() - start >= 0.25 else "at once")


def peek(family):
    tx, rx, to = pair(family)
    tx.sendto(b"a", to)
    tx.sendto(b"b", to)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 300000))
    print("peek", rx.recv(100, socket.MSG_PEEK).decode())
    for _ in range(2):
        try:
            print("recv", rx.recv(100).decode())
        except BlockingIOError:
            print("recv EAGAIN")


def event_loop(count):
    async def main():
        loop = asyncio.get_running_loop()
        got = []

        class Receiver(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                got.append(data.decode())

        transport, _ = await loop.create_datagram_endpoint(Receiver,
                                                           local_addr=("127.0.0.1", 0))
        to = transport.get_extra_info("sockname")
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(count):
            tx.sendto(str(i).encode(), to)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        print("got", " ".join(got))

    asyncio.run(main())


def tcp():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    for data in (b"one", b"two", b"three"):
        client.send(data)
    client.close()
    got = b""
    while True:
        data = server.recv(100)
        if not data:
            break
        got += data
    print("got", got.decode())


mode = sys.argv[1]
if mode in ("send", "connected"):
    send(int(sys.argv[2]), sys.argv[3], connected=mode == "connected")
elif mode == "recv":
    recv(int(sys.argv[2]), sys.argv[3])
elif mode == "nonblock":
    nonblock(sys.argv[2])
elif mode == "block":
    block(sys.argv[2])
elif mode == "peek":
    peek(sys.argv[2])
elif mode == "asyncio":
    event_loop(int(sys.argv[2]))
else:
    tcp()
