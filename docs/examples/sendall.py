"""Sends 10 bytes with sendall() and checks the receiver got all of them."""
import socket

a, b = socket.socketpair()
a.sendall(b"0123456789")
a.close()
got = b""
while chunk := b.recv(64):
    got += chunk
print("received", got)
