"""sendall() of SIZE bytes to 127.0.0.1:PORT (a sink_server), for fault
tests of send:short= and send:corrupt= on a careful sender.

Usage: fault_sender.py PORT SIZE

Byte i of the data is 'a' + i % 26, as in naive_client. Calls:
create_connection (socket, connect), sendall (send until all is sent),
close. Prints "sent SIZE".
"""
import signal
import socket
import sys

signal.alarm(120)
port, size = int(sys.argv[1]), int(sys.argv[2])
data = bytes(ord("a") + i % 26 for i in range(size))
cli = socket.create_connection(("127.0.0.1", port))
cli.sendall(data)
cli.close()
print("sent", size)
