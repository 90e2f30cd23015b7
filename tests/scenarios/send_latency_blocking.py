"""A blocking client under a send-side latency; an echo server thread of
the same process listens on argv[1] (a rule aimed at peer=127.0.0.1:PORT
delays the client's sends only: the server's peer is the client's port).

Prints one line per step, "name value...":
  send_ms MAX            longest time inside one send() of 5 round trips
  rtt_ms MIN MAX         those round trips, send to echo back
  burst_ms TOTAL         20 sends, through send, sendall, sendmsg, write, writev
  burst_echo_ms T        from the burst's first send to its whole echo
  order True             the echo is the burst, byte for byte, in order
  shutdown_ms T          time inside shutdown(SHUT_WR) right after a sendall
  tail True N            the echo of that sendall came whole
  tail_first_ms T        from the sendall to the first echoed byte
  eof_ms T               from the shutdown to the end of the stream (the
                         server closes when it reads the client's FIN)
"""
import socket
import struct
import sys
import time

from scenario_helpers import echo_server, send_every_way

srv = echo_server(int(sys.argv[1]))


def recv_exactly(s, n):
    got = b""
    while len(got) < n:
        data = s.recv(n - len(got))
        assert data, "end of stream too early"
        got += data
    return got


def ms(t):
    return round((time.monotonic() - t) * 1000, 1)


c = socket.create_connection(srv.getsockname())
# a watchdog that leaves the socket blocking (settimeout() would make it
# non-blocking and poll before each call): a receive gives up after 10 s
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 10, 0))

inside, rtts = [], []
for _ in range(5):
    t = time.monotonic()
    assert c.send(b"ping") == 4
    inside.append(ms(t))
    assert recv_exactly(c, 4) == b"ping"
    rtts.append(ms(t))
print("send_ms", max(inside))
print("rtt_ms", min(rtts), max(rtts))

messages = [b"msg%02d;" % i for i in range(20)]
t = time.monotonic()
send_every_way(c, messages, 3)
print("burst_ms", ms(t))
burst = b"".join(messages)
echo = recv_exactly(c, len(burst))
print("burst_echo_ms", ms(t))
print("order", echo == burst)

tail = (bytes(range(251)) * 120)[:30000]
t = time.monotonic()
c.sendall(tail)
s = time.monotonic()
c.shutdown(socket.SHUT_WR)
print("shutdown_ms", ms(s))
got = c.recv(65536)
print("tail_first_ms", ms(t))
while data := c.recv(65536):
    got += data
print("eof_ms", ms(s))
print("tail", got == tail, len(got))
c.close()
