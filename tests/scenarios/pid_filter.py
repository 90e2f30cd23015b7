"""pid=: the process execs itself with a rule aimed at its own pid, then
connects, and so does a child it forks (another pid). Prints
"parent RESULT" and "child RESULT": 0 or the errno of connect_ex.
argv: the port of a listener of its own."""
import os
import socket
import sys

port = int(sys.argv[1])
if os.environ.get("PID_FILTER_STAGE") != "2":
    env = dict(os.environ, PID_FILTER_STAGE="2",
               SOCKSHIM_FAULTS=f"connect:error=ECONNREFUSED:pid={os.getpid()}")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

listener = socket.create_server(("127.0.0.1", port))


def attempt():
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port))


child = os.fork()
if child == 0:
    print("child", attempt(), flush=True)
    os._exit(0)
os.waitpid(child, 0)
print("parent", attempt(), flush=True)
