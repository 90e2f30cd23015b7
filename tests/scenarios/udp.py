"""Datagrams between two UDP sockets on 127.0.0.1.

a = socket(AF_INET, SOCK_DGRAM); a.bind(); a.getsockname();
b = socket(AF_INET, SOCK_DGRAM); b.bind(); b.getsockname();
a.sendto(b'ping', b_addr); b.recvfrom(); b.sendto(b'pong', from);
a.recvfrom(); b.close(); a.close().
"""
import signal
import socket

signal.alarm(10)

a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind(("127.0.0.1", 0))
a_addr = a.getsockname()
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(("127.0.0.1", 0))
b_addr = b.getsockname()

a.sendto(b"ping", b_addr)
data, peer = b.recvfrom(1024)
print("b got", data, "from a:", peer == a_addr)
b.sendto(b"pong", peer)
data, peer = a.recvfrom(1024)
print("a got", data, "from b:", peer == b_addr)
b.close()
a.close()
