"""epoll registrations of a socket whose sends are held, as its fds close:
listens on argv[1] and connects to itself; registers the client's fd with
one epoll instance, dup()s it and registers the dup with another; sends
(held by the rule), closes the first fd and has the peer send; then reads
that through the dup, sends again, closes the dup (the socket's last fd)
and has the peer send again. Prints
  open_events N   events the first instance reports while the dup is
                  open (the kernel keeps a registration while any fd of
                  the socket is open: 1)
  closed_events N events the second instance reports after the last fd
                  closed (the registration went with it: 0)
  peer_read B     what the peer read of the held bytes"""
import os
import select
import sys

from scenario_helpers import connected_pair

port = int(sys.argv[1])
srv, c, peer = connected_pair(port)
peer.settimeout(10)
ep = select.epoll()
ep.register(c.fileno(), select.EPOLLIN)
other = os.dup(c.fileno())
ep2 = select.epoll()
ep2.register(other, select.EPOLLIN)
c.send(b"one")
c.close()
peer.send(b"hello")
print("open_events", len(ep.poll(1.0)), flush=True)
os.read(other, 100)  # nothing unread: the last close does not reset
os.write(other, b"two")
os.close(other)
peer.send(b"again")
print("closed_events", len(ep2.poll(0.3)), flush=True)
got = b""
while len(got) < 6:
    data = peer.recv(10)
    if not data:
        break
    got += data
print("peer_read", got.decode(), flush=True)
