"""send:rate= on one stream: two sink threads of this process, one
listening on argv[1] (the rule is aimed at peer=127.0.0.1:PORT), the other
on a port of the kernel's choice; a blocking client sendall()s argv[2]
bytes to each, the other first. With argv[3] = "sndbuf" each client sets
SO_SNDBUF to 32 KiB before it connects; with "default" it leaves it alone.
Prints, per transfer,
  NAME SENDALL_S DONE_S N INTACT
the seconds inside sendall(), the seconds from the sendall() to the sink's
end of stream (the client closes right after its sendall), the bytes the
sink read and whether they are the bytes sent, in order. NAME is "other",
then "paced"."""
import socket
import sys
import threading
import time

port, size, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
payload = (bytes(range(251)) * (size // 251 + 1))[:size]
paced = socket.socket()
paced.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
paced.bind(("127.0.0.1", port))
paced.listen()
other = socket.socket()
other.bind(("127.0.0.1", 0))
other.listen()
done = {}


def sink(listener, name):
    conn, _ = listener.accept()
    with conn:
        got = []
        while data := conn.recv(65536):
            got.append(data)
    done[name] = (time.monotonic(), b"".join(got))


def transfer(listener, name):
    th = threading.Thread(target=sink, args=(listener, name))
    th.start()
    c = socket.socket()
    if mode == "sndbuf":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
    c.connect(listener.getsockname())
    t = time.monotonic()
    c.sendall(payload)
    inside = time.monotonic() - t
    c.close()
    th.join(30)
    end, got = done[name]
    print(name, round(inside, 2), round(end - t, 2), len(got), got == payload, flush=True)


transfer(other, "other")
transfer(paced, "paced")
