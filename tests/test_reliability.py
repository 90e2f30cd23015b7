"""The shim never breaks the program it watches: signal handlers, early
constructors, hostile fd handling, trace sinks in trouble, SIGKILL."""
import os
import re
import select
import signal
import subprocess

from conftest import (BUILD, PYTHON, SOCKSHIM, TIMEOUT, base_env, program,
                      run_bare, run_traced)

LIBRARY = str(BUILD / "libsockshim.so")


def preload_env(**settings):
    """The environment of a program preloaded by hand, without the command."""
    env = base_env(settings)
    env["LD_PRELOAD"] = ":".join(p for p in (env.get("LD_PRELOAD"), LIBRARY) if p)
    return env


def test_signal_handler_sending_inside_a_traced_call(tmp_path):
    """A SIGALRM handler sends on a socket while the main thread is inside
    traced send/recv calls: no deadlock, no lost or doubled line."""
    trace = run_traced([program("signal_send")], tmp_path, fmt="text", check_exit=0)
    assert trace.proc.stdout == run_bare([program("signal_send")]).stdout
    handler_sends = int(re.search(rb"handler sends: (\d+)", trace.proc.stderr).group(1))
    bodies = trace.bodies()
    assert handler_sends > 0
    ok = [b for b in bodies if b == "sock5.send(b'!' (1 byte), MSG_DONTWAIT) -> 1"]
    assert len(ok) == handler_sends
    assert bodies.count("sock3.send(b'x' (1 byte)) -> 1") == 20000
    assert bodies.count("sock4.recv(1) -> b'x' (1 byte)") == 20000


def test_calls_from_a_library_constructor_before_ours(tmp_path):
    trace = run_traced([program("early_ctor")], tmp_path, fmt="text", check_exit=0)
    assert trace.proc.stdout == run_bare([program("early_ctor")]).stdout
    assert trace.bodies() == [
        "sock3, sock4 = socketpair(AF_UNIX, SOCK_STREAM, 0)",
        "sock3.send(b'early' (5 bytes)) -> 5",
        "sock3.close()",
        "sock4.recv(64) -> b'early' (5 bytes)",
        "sock4.recv(64) -> b'' (0 bytes)",
        "sock4.close()",
    ]


def test_program_closing_and_dup2ing_over_every_fd_keeps_tracing(tmp_path):
    trace = run_traced([program("fd_hostile")], tmp_path, fmt="text", check_exit=0)
    assert trace.proc.stdout == run_bare([program("fd_hostile")]).stdout
    assert trace.bodies() == [
        "sock3, sock4 = socketpair(AF_UNIX, SOCK_STREAM, 0)",
        "sock3.send(b'still traced' (12 bytes)) -> 12",
        "sock4.recv(64) -> b'still traced' (12 bytes)",
        "sock3.close()",
        "sock4.close()",
    ]


def test_program_closing_every_fd_keeps_tracing_to_stderr():
    """Without -o the trace goes to the run's stderr through an inherited fd
    that the program's closefrom/close_range/dup2 cannot take away."""
    proc = subprocess.run([str(SOCKSHIM), program("fd_hostile")], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0
    assert b"sock3.send(b'still traced' (12 bytes)) -> 12" in proc.stderr


def test_child_stderr_captured_by_the_program_holds_no_trace(tmp_path):
    """subprocess with capture_output: the child's trace must not end up in
    the data the parent reads."""
    code = ("import subprocess, sys\n"
            "r = subprocess.run([sys.executable, '-c', "
            "'import socket; socket.socket().close(); print(\"child ran\")'], "
            "capture_output=True)\n"
            "print(r.stdout, r.stderr)\n")
    proc = subprocess.run([str(SOCKSHIM), PYTHON, "-c", code], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.stdout == b"b'child ran\\n' b''\n"
    assert re.search(rb"\] sock3 = socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC, 0\)",
                     proc.stderr)


CONNECT_REFUSED = ("import socket, errno\n"
                   "l = socket.socket(); l.bind(('127.0.0.1', 0))\n"
                   "s = socket.socket()\n"
                   "try:\n"
                   "    s.connect(l.getsockname())\n"
                   "except OSError as e:\n"
                   "    print(errno.errorcode[e.errno])\n")


def test_errno_survives_a_trace_file_that_cannot_be_opened(tmp_path):
    """The library opens its trace at start; failing to (ENOENT) must not
    leak into the errno the program's own calls report."""
    env = preload_env(SOCKSHIM_OUTPUT=str(tmp_path / "missing" / "t.txt"))
    proc = subprocess.run([PYTHON, "-c", CONNECT_REFUSED], capture_output=True,
                          timeout=TIMEOUT, env=env)
    assert proc.stdout == b"ECONNREFUSED\n"
    assert proc.returncode == 0
    assert b"sockshim: cannot open the trace output, tracing is off" in proc.stderr


def test_full_disk_stops_tracing_once_and_changes_nothing(tmp_path):
    argv = [PYTHON, "-c", CONNECT_REFUSED]
    bare = run_bare(argv)
    proc = subprocess.run([str(SOCKSHIM), "-o", "/dev/full", *argv], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert (proc.returncode, proc.stdout) == (bare.returncode, bare.stdout)
    assert proc.stderr.count(b"sockshim: writing the trace failed, tracing stopped: "
                             b"No space left on device") == 1


def test_trace_reader_going_away_does_not_kill_the_program():
    """The trace goes to a pipe whose reader exits after one line: the
    program must not die of SIGPIPE and must finish its work."""
    code = ("import socket, sys\n"
            "a, b = socket.socketpair()\n"   # a first trace line for the reader
            "sys.stdin.readline()\n"          # wait until the reader is gone
            "for i in range(200):\n"
            "    a.send(b'x'); b.recv(1)\n"
            "print('done')\n")
    proc = subprocess.Popen([str(SOCKSHIM), PYTHON, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base_env())
    ready, _, _ = select.select([proc.stderr], [], [], TIMEOUT)
    assert ready, "no trace line came"
    assert b"# sockshim" in proc.stderr.readline()  # the header line
    proc.stderr.close()                              # the reader goes away
    out, _ = proc.communicate(b"go\n", timeout=TIMEOUT)
    assert out == b"done\n"
    assert proc.returncode == 0


def test_trace_is_complete_when_the_process_is_killed(tmp_path):
    """Every line is in the kernel's hands when its call returns: SIGKILL
    right after the last call loses nothing."""
    code = ("import os, signal, socket\n"
            "a, b = socket.socketpair()\n"
            "for i in range(1000):\n"
            "    a.send(b'x'); b.recv(1)\n"
            "a.send(b'last')\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    trace = run_traced([PYTHON, "-c", code], tmp_path, fmt="text")
    assert trace.proc.returncode == 128 + signal.SIGKILL
    bodies = trace.bodies()
    assert bodies.count("sock3.send(b'x' (1 byte)) -> 1") == 1000
    assert bodies.count("sock4.recv(1) -> b'x' (1 byte)") == 1000
    assert bodies[-1] == "sock3.send(b'last' (4 bytes)) -> 4"


def test_bad_environment_stops_the_program_before_main(tmp_path):
    env = preload_env(SOCKSHIM_FORMAT="xml")
    proc = subprocess.run([PYTHON, "-c", "print('ran')"], capture_output=True,
                          timeout=TIMEOUT, env=env)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert b"SOCKSHIM_FORMAT" in proc.stderr and b"'xml'" in proc.stderr


def test_trace_file_is_private(tmp_path):
    out = tmp_path / "t.txt"
    env = preload_env(SOCKSHIM_OUTPUT=str(out))
    subprocess.run([PYTHON, "-c", "import socket; socket.socket().close()"],
                   timeout=TIMEOUT, env=env, check=True)
    assert os.stat(out).st_mode & 0o777 == 0o600
