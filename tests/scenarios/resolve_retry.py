"""A client that resolves its server's name and retries while resolution
fails temporarily: for the resolve faults (tests/test_resolve.py).

srv = socket(); srv.bind(127.0.0.1); srv.listen(); then
socket.getaddrinfo('localhost', port, AF_INET, SOCK_STREAM) until it
succeeds (at most 5 tries, no pause), printing
    port N
    attempt I: gaierror CODE     for each failed try
    connected after I resolutions
then a connection to the address it got, closed at once.
"""
import signal
import socket
import sys

signal.alarm(10)

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
print("port", port)
for attempt in range(1, 6):
    try:
        infos = socket.getaddrinfo("localhost", port, socket.AF_INET, socket.SOCK_STREAM)
        break
    except socket.gaierror as e:
        print(f"attempt {attempt}: gaierror {e.errno}")
else:
    sys.exit(1)
family, kind, proto, _, addr = infos[0]
cli = socket.socket(family, kind, proto)
cli.connect(addr)
print(f"connected after {attempt} resolutions")
cli.close()
srv.close()
