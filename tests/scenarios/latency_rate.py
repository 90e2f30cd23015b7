"""Two servers each send SIZE (argv[2]) bytes to a client of this
process; the first listens on the port argv[1] names. Prints, per
transfer, the bytes received and the seconds it took: the other
server's first, then the first's."""
import socket, sys, threading, time
port = int(sys.argv[1]); size = int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port)); srv.listen()
other = socket.socket(); other.bind(('127.0.0.1', 0)); other.listen()
def send_to(l, n):
    c, _ = l.accept(); c.sendall(b'x' * n); c.close()
threading.Thread(target=send_to, args=(srv, size)).start()
threading.Thread(target=send_to, args=(other, size)).start()
def fetch(addr):
    c = socket.create_connection(addr); t = time.monotonic(); got = 0
    while (d := c.recv(65536)):
        got += len(d)
    return got, time.monotonic() - t
o = fetch(other.getsockname()); print("other", o[0], round(o[1], 2))
r = fetch(srv.getsockname()); print("paced", r[0], round(r[1], 2))
