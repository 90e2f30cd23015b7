"""A connection and a UDP pair on the port argv[1] names, under a
blackhole rule: each side's timeout is what fires. Prints one line per
step."""
import socket
import sys
import time

srv = socket.socket()
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen()
c = socket.create_connection(srv.getsockname())
s, _ = srv.accept()
c.settimeout(0.3)
s.settimeout(0.2)
c.sendall(b"request")
try:
    print("server got", s.recv(100))
except TimeoutError:
    print("server TimeoutError")
s.sendall(b"reply")
t = time.monotonic()
try:
    print("client got", c.recv(100))
except TimeoutError:
    print("client TimeoutError", time.monotonic() - t >= 0.29)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.bind(("127.0.0.1", int(sys.argv[1])))
print("sendto", u.sendto(b"x", v.getsockname()))
v.settimeout(0.2)
try:
    print("udp got", v.recvfrom(10))
except TimeoutError:
    print("udp TimeoutError")
