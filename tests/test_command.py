"""The sockshim command: what it refuses, what it passes through to the
program (argv, streams, exit status, signals, environment), and how -o,
--format, -s and -e shape the trace.

Every test runs the real command on real programs in its own tmp_path.
"""
import fcntl
import ast
import json
import os
import re
import resource
import select
import shutil
import signal
import stat
import subprocess
import termios
import time

import pytest

from conftest import (BUILD, LINE_RE, PYTHON, SCENARIOS, SOCKSHIM, base_env, gcc_or_skip, normalize,
                      preload_list, program, run_bare, run_traced)

TIMEOUT = 20
LIBRARY = BUILD / "libsockshim.so"
VERSION = "0.1.0"

# A program that, if it ever ran, would leave MARKER in its working directory.
TOUCH = ["sh", "-c", "touch MARKER"]


# ------------------------------------------------------------------ helpers

def sockshim(args, cwd, env=None, input=None, preexec_fn=None, command=SOCKSHIM):
    """Runs `sockshim ARGS` in cwd and waits for it."""
    return subprocess.run([str(command), *args], cwd=cwd, env=base_env(env),
                          input=input, capture_output=True, timeout=TIMEOUT,
                          preexec_fn=preexec_fn)


def py(code, *args):
    return [PYTHON, "-c", code, *args]


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def text_bodies(path):
    """The text trace's lines after `TIME [PID] `, each checked against LINE_RE."""
    bodies = []
    for line in path.read_text().splitlines():
        m = LINE_RE.match(line)
        assert m, f"not a trace line: {line!r}"
        bodies.append(m.group(4))
    return bodies


def default_signals():
    """preexec_fn: the signals a test sends start at their default in
    sockshim, whatever the test runner inherited (a shell's background job
    ignores SIGINT, and sockshim leaves an ignored signal ignored)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)


def no_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def wait_for_line(proc, expected=b"ready\n"):
    """The readiness handshake: the program prints a line once it is set up."""
    readable, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    assert readable, "the program never said it was ready"
    assert proc.stdout.readline() == expected


@pytest.fixture
def spawn(tmp_path):
    """spawn(args, **popen_kwargs) starts sockshim in the background, in a
    session of its own so that whatever is left of it at the end of the test
    (sockshim and its program) can be killed together."""
    procs = []

    def start(args, env=None, preexec_fn=default_signals, **kwargs):
        proc = subprocess.Popen([str(SOCKSHIM), *args], cwd=tmp_path,
                                env=base_env(env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=preexec_fn, **kwargs)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def libm():
    """The path of libm.so.6, a harmless library to preload."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("libm.so.6 (") and "x86-64" in line:
            return line.split("=>")[1].strip()
    for path in ("/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"):
        if os.path.exists(path):
            return path
    pytest.skip("no libm.so.6 found")


# ---------------------------------------------------------------- bad input

@pytest.fixture
def workdir(tmp_path):
    """tmp_path with the files the bad-input cases point at."""
    (tmp_path / "adir").mkdir()
    (tmp_path / "real.txt").write_text("keep\n")
    (tmp_path / "link").symlink_to("real.txt")
    # each would touch MARKER if anything ran it
    (tmp_path / "noexec").write_text("#!/bin/sh\ntouch MARKER\n")
    (tmp_path / "noexec").chmod(0o644)
    (tmp_path / "noshebang").write_text("touch MARKER\n")
    (tmp_path / "noshebang").chmod(0o755)
    (tmp_path / "badinterp").write_text("#!/nonexistent/interpreter\ntouch MARKER\n")
    (tmp_path / "badinterp").chmod(0o755)
    (tmp_path / "a b").mkdir()
    shutil.copy(LIBRARY, tmp_path / "a b" / "libsockshim.so")
    return tmp_path


def bad(name, args, says, env=None, marks=()):
    """A refused command line: sockshim's args, what its stderr must contain,
    the environment it runs in ({tmp} stands for the test's directory)."""
    return pytest.param(args, says, env or {}, id=name, marks=marks)


BAD_INPUT = [
    # options sockshim does not know
    bad("unknown-long", ["--bogus", *TOUCH], "unknown option '--bogus'"),
    bad("unknown-long-with-value", ["--bogus=1", *TOUCH], "unknown option '--bogus'"),
    bad("unknown-short", ["-x", *TOUCH], "unknown option '-x'"),
    bad("help-with-value", ["--help=yes", *TOUCH], "'--help' does not take an argument"),
    # an option at the end, without its argument
    bad("missing-o", ["-o"], "option '-o' requires an argument"),
    bad("missing-s", ["-s"], "option '-s' requires an argument"),
    bad("missing-e", ["-e"], "option '-e' requires an argument"),
    bad("missing-format", ["--format"], "option '--format' requires an argument"),
    bad("missing-output", ["--output"], "option '--output' requires an argument"),
    # -s
    bad("s-abc", ["-s", "abc", *TOUCH], "-s: bad string size 'abc'"),
    bad("s-negative", ["-s", "-1", *TOUCH], "-s: bad string size '-1'"),
    bad("s-huge", ["-s", "99999999999", *TOUCH], "-s: bad string size '99999999999'"),
    bad("s-over-max", ["-s", "1048577", *TOUCH], "-s: bad string size '1048577'"),
    bad("string-limit-empty", ["--string-limit=", *TOUCH], "--string-limit: bad string size ''"),
    # --format
    bad("format-xml", ["--format=xml", *TOUCH], "--format: unknown trace format 'xml'"),
    bad("format-uppercase", ["--format", "JSON", *TOUCH], "unknown trace format 'JSON'"),
    # -e
    bad("e-typo", ["-e", "conect", *TOUCH],
        "-e: unknown method 'conect' (did you mean 'connect'?)"),
    bad("e-bad-group", ["-e", "%bogus", *TOUCH], "-e: unknown method group '%bogus'"),
    bad("e-group-typo", ["-e", "%ios", *TOUCH], "'%ios' (did you mean '%io'?)"),
    bad("e-empty", ["-e", "", *TOUCH], "-e: empty method list ''"),
    bad("e-a,,b", ["-e", "a,,b", *TOUCH], "-e: unknown method 'a'"),
    bad("e-empty-element", ["-e", "connect,,accept", *TOUCH], "'connect,,accept'"),
    bad("e-trailing-comma", ["--trace=connect,", *TOUCH], "--trace: empty method name"),
    bad("e-negated-nothing", ["-e", "!", *TOUCH], "-e: empty method list"),
    # -o
    bad("o-empty", ["-o", "", *TOUCH], "-o: empty output path ''"),
    bad("o-missing-dir", ["-o", "/nonexistent/dir/t.txt", *TOUCH],
        "cannot write trace file '/nonexistent/dir/t.txt'"),
    bad("o-symlink", ["-o", "link", *TOUCH], "trace file '{tmp}/link' is a symbolic link"),
    bad("o-directory", ["-o", "adir", *TOUCH], "cannot write trace file '{tmp}/adir'"),
    bad("o-bad-escape", ["-o", "t%x", *TOUCH], "-o: bad escape in output path 't%x'"),
    bad("o-pid-in-directory", ["-o", "d%p/t", *TOUCH],
        "-o 'd%p/t': %p may only appear in the file name"),
    bad("o-per-pid-missing-dir", ["-o", "nodir/t.%p", *TOUCH],
        "cannot create trace files in '{tmp}/nodir'"),
    # --max-size
    bad("max-size-without-output", ["--max-size=1M", *TOUCH],
        "--max-size bounds a trace file: give one with -o FILE"),
    bad("max-size-too-small", ["-o", "t.txt", "--max-size=100", *TOUCH],
        "--max-size: bad size '100' (expected a byte count of at least 4k"),
    bad("max-size-unit", ["-o", "t.txt", "--max-size=1T", *TOUCH], "--max-size: bad size '1T'"),
    # the program
    bad("no-program", [], "no program to run"),
    bad("only-dashdash", ["--"], "no program to run"),
    bad("only-options", ["-s", "4", "--format=json"], "no program to run"),
    bad("program-not-found", ["no-such-program-for-sockshim"],
        "cannot run 'no-such-program-for-sockshim': No such file or directory"),
    bad("program-path-not-found", ["./no-such-program"], "cannot run './no-such-program'"),
    bad("program-not-executable", ["./noexec"], "cannot run './noexec': Permission denied"),
    bad("program-is-directory", ["./adir"], "cannot run './adir': Permission denied"),
    # execv, unlike execvp, does not hand a file without #! to /bin/sh
    bad("program-without-shebang", ["./noshebang"],
        "cannot run './noshebang': Exec format error"),
    bad("program-interpreter-missing", ["./badinterp"],
        "cannot run './badinterp': No such file or directory (the file exists"),
    # the library
    bad("library-missing", TOUCH, "SOCKSHIM_LIBRARY='{tmp}/none.so'",
        env={"SOCKSHIM_LIBRARY": "{tmp}/none.so"}),
    bad("library-is-directory", TOUCH, "SOCKSHIM_LIBRARY='{tmp}/adir': not a regular file",
        env={"SOCKSHIM_LIBRARY": "{tmp}/adir"}),
    # ld.so splits LD_PRELOAD at blanks
    bad("library-path-with-blank", TOUCH, "cannot preload '{tmp}/a b/libsockshim.so'",
        env={"SOCKSHIM_LIBRARY": "{tmp}/a b/libsockshim.so"}),
]


@pytest.mark.parametrize("args, says, env", BAD_INPUT)
def test_bad_input_is_refused_before_the_program_starts(workdir, args, says, env):
    tmp = str(workdir.resolve())
    env = {k: v.replace("{tmp}", tmp) for k, v in env.items()}
    proc = sockshim(args, cwd=workdir, env=env)
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2, stderr
    assert proc.stdout == b""
    assert stderr.startswith("sockshim: ")
    assert says.replace("{tmp}", tmp) in stderr
    assert not (workdir / "MARKER").exists()


@pytest.mark.parametrize("args", [
    ["-s", "abc", *TOUCH],
    ["no-such-program-for-sockshim"],
    ["./noexec"],
    ["./noshebang"],
    ["./badinterp"],
], ids=["bad-option", "program-not-found", "not-executable", "no-shebang",
        "missing-interpreter"])
def test_refused_run_leaves_an_existing_trace_file_alone(workdir, args):
    trace = workdir / "t.txt"
    trace.write_text("earlier trace\n")
    proc = sockshim(["-o", "t.txt", *args], cwd=workdir)
    assert proc.returncode == 2
    assert trace.read_text() == "earlier trace\n"


# --------------------------------------------------------- help and version

def test_help_lists_every_option(tmp_path):
    proc = sockshim(["--help"], cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, b"")
    out = proc.stdout.decode()
    assert out.startswith("Usage: sockshim [options] [--] PROGRAM [ARGS...]\n")
    for option in ("-o, --output=FILE", "--format=FORMAT", "-s, --string-limit=N",
                   "-e, --trace=METHODS", "-h, --help", "--version"):
        assert option in out


def test_short_help_is_the_long_help(tmp_path):
    assert sockshim(["-h"], cwd=tmp_path).stdout == sockshim(["--help"], cwd=tmp_path).stdout


def test_version(tmp_path):
    proc = sockshim(["--version"], cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"sockshim {VERSION}\n".encode(), b"")


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_do_not_run_the_program(tmp_path, option):
    proc = sockshim([option, *TOUCH], cwd=tmp_path)
    assert proc.returncode == 0
    assert not (tmp_path / "MARKER").exists()


# -------------------------------------------------------------- exit status

@pytest.mark.parametrize("status", [0, 1, 7, 255])
def test_exit_status_is_the_programs(tmp_path, status):
    proc = sockshim(["-o", "t", "sh", "-c", f"exit {status}"], cwd=tmp_path)
    assert proc.returncode == status


@pytest.mark.parametrize("name, status", [("TERM", 143), ("KILL", 137), ("SEGV", 139)])
def test_program_killed_by_signal_gives_128_plus_signal(tmp_path, name, status):
    # in the ASan pass the runtime preloaded into sh would catch the SIGSEGV
    asan = os.environ.get("ASAN_OPTIONS")
    env = {"ASAN_OPTIONS": f"{asan}:handle_segv=0"} if asan else None
    proc = sockshim(["-o", "t", "sh", "-c", f"kill -{name} $$"], cwd=tmp_path,
                    env=env, preexec_fn=no_core_dumps)
    assert proc.returncode == status


def test_program_starts_with_sigpipe_at_default(tmp_path):
    def ignore_sigpipe():
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # a shell cannot un-ignore a signal it inherited ignored, so this shell
    # only dies of its own SIGPIPE if sockshim reset it to the default
    proc = sockshim(["-o", "t", "sh", "-c", "kill -PIPE $$; echo survived"],
                    cwd=tmp_path, preexec_fn=ignore_sigpipe)
    assert (proc.returncode, proc.stdout) == (128 + signal.SIGPIPE, b"")


# ------------------------------------------------------- signal forwarding

# Catches the forwarded signals, says which one came, exits 3.
SIGNAL_CATCHER = r"""
import signal, sys
def caught(signum, frame):
    print("got", signal.Signals(signum).name, flush=True)
    sys.exit(3)
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, caught)
print("ready", flush=True)
while True:
    signal.pause()
"""

# Counts SIG<name>s; after the first, waits a little for a duplicate, then
# prints the count.
SIGNAL_COUNTER = r"""
import signal, sys, time
count = 0
def caught(signum, frame):
    global count
    count += 1
signal.signal(signal.SIG{name}, caught)
print("ready", flush=True)
while count == 0:
    time.sleep(0.005)
time.sleep(0.1)
print(count, flush=True)
"""

FORWARDED = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


@pytest.mark.parametrize("sig", FORWARDED, ids=lambda s: s.name)
def test_signal_to_sockshim_reaches_the_program(spawn, sig):
    proc = spawn(["-o", "t", "--", *py(SIGNAL_CATCHER)])
    wait_for_line(proc)
    sent = time.monotonic()
    os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert time.monotonic() - sent < 5
    assert (proc.returncode, out, err) == (3, f"got {sig.name}\n".encode(), b"")


@pytest.mark.parametrize("sig", FORWARDED, ids=lambda s: s.name)
def test_signal_to_sockshim_kills_a_program_that_does_not_catch_it(spawn, sig):
    proc = spawn(["-o", "t", "sh", "-c", "echo ready; exec sleep 30"])
    wait_for_line(proc)
    sent = time.monotonic()
    os.kill(proc.pid, sig)
    proc.wait(timeout=TIMEOUT)
    assert time.monotonic() - sent < 5
    assert proc.returncode == 128 + sig


def test_terminal_ctrl_c_reaches_the_program_once(spawn):
    # The terminal sends SIGINT to the whole foreground group, sockshim and
    # program alike; sockshim must not pass its copy on as well.
    master, slave = os.openpty()

    def controlling_tty():
        default_signals()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = spawn(["-o", "t", *py(SIGNAL_COUNTER.replace("{name}", "INT"))],
                     stdin=slave, preexec_fn=controlling_tty)
        wait_for_line(proc)
        os.write(master, b"\x03")
        out, _ = proc.communicate(timeout=TIMEOUT)
    finally:
        os.close(slave)
        os.close(master)
    assert (proc.returncode, out) == (0, b"1\n")


# ---------------------------------------------------- what the program sees

def test_stdin_stdout_stderr_pass_through(tmp_path):
    data = bytes(range(256)) * 400
    echo = ("import sys; d = sys.stdin.buffer.read(); "
            "sys.stdout.buffer.write(d[::-1]); sys.stderr.buffer.write(d)")
    proc = sockshim(["-o", "t", *py(echo)], cwd=tmp_path, input=data)
    assert proc.returncode == 0
    assert proc.stdout == data[::-1]
    assert proc.stderr == data


PRINT_CMDLINE = "import sys; sys.stdout.buffer.write(open('/proc/self/cmdline', 'rb').read())"


@pytest.mark.parametrize("argv0", ["pyargv", "./bin/pyargv", "{tmp}/bin/pyargv"],
                         ids=["found-in-PATH", "relative", "absolute"])
@pytest.mark.parametrize("args", [
    [],
    ["a b", '"double"', "it's", "", "  ", "tab\there", "new\nline"],
    ["-o", "x", "--help", "-e", "none", "--"],
    ["ünïcode", "$HOME", "*", "\\"],
], ids=["none", "spaces-quotes", "sockshim-options", "special"])
def test_argv_arrives_unchanged(tmp_path, argv0, args):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pyargv").symlink_to(PYTHON)
    argv0 = argv0.replace("{tmp}", str(tmp_path))
    argv = [argv0, "-c", PRINT_CMDLINE, *args]
    env = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    proc = sockshim(["-o", "t", *argv], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"".join(os.fsencode(a) + b"\0" for a in argv)


PRINT_SOCKSHIM_ENV = ("import os; print(sorted((k, v) for k, v in os.environ.items() "
                      "if k.startswith('SOCKSHIM_') and k != 'SOCKSHIM_TEST_PRELOAD'))")


@pytest.mark.parametrize("options, expected", [
    ([], {}),
    (["--format", "json", "-s", "7", "-e", "connect"],
     {"SOCKSHIM_FORMAT": "json", "SOCKSHIM_STRSIZE": "7", "SOCKSHIM_TRACE": "connect"}),
], ids=["no-options", "all-options"])
def test_environment_holds_exactly_the_options_given(tmp_path, options, expected):
    # inherited settings (say, of an outer sockshim) must not leak in
    inherited = {"SOCKSHIM_FORMAT": "text", "SOCKSHIM_STRSIZE": "3",
                 "SOCKSHIM_TRACE": "close", "SOCKSHIM_OUTPUT": str(tmp_path / "stray")}
    proc = sockshim(["-o", "t", *options, *py(PRINT_SOCKSHIM_ENV)], cwd=tmp_path,
                    env=inherited)
    expected = {**expected, "SOCKSHIM_OUTPUT": str(tmp_path.resolve() / "t")}
    assert proc.returncode == 0, proc.stderr
    seen = dict(ast.literal_eval(proc.stdout.decode()))
    # -o onto a regular file: the command hands the run its trace ring, a
    # memfd it names in SOCKSHIM_SINK_RING as FD:DEV:INODE:PID:FD, the
    # program's fd and the command's copy (shim/core/share.h)
    assert re.fullmatch(r"(\d+):\d+:\d+:\d+:\1", seen.pop("SOCKSHIM_SINK_RING"))
    # and its place box, where the library asks what a location is
    assert re.fullmatch(r"(\d+):\d+:\d+:\d+:\1", seen.pop("SOCKSHIM_PLACE_BOX"))
    assert sorted(seen.items()) == sorted(expected.items())
    assert not (tmp_path / "stray").exists()


PRINT_PRELOAD = "import os; print(os.environ['LD_PRELOAD'])"


def test_users_ld_preload_is_kept_in_front(tmp_path):
    user = preload_list(libm())
    proc = sockshim(["-o", "t", *py(PRINT_PRELOAD)], cwd=tmp_path, env={"LD_PRELOAD": user})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == f"{user}:{LIBRARY.resolve()}\n"


def test_ld_preload_gets_the_library_when_the_user_has_none(tmp_path):
    proc = sockshim(["-o", "t", *py(PRINT_PRELOAD)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == preload_list(str(LIBRARY.resolve())) + "\n"


# ------------------------------------------------------------------ -o FILE

def make_a_socket(chdir="."):
    return py(f"import os, socket; os.chdir({chdir!r}); socket.socket().close()")


@pytest.mark.parametrize("pattern", ["t.txt", "t.%p"])
def test_trace_file_is_created_with_mode_0600(tmp_path, pattern):
    proc = sockshim(["-o", pattern, *make_a_socket()], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [trace] = tmp_path.glob("t.*")
    assert "socket(" in trace.read_text()
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600


def test_existing_trace_file_is_truncated(tmp_path):
    trace = tmp_path / "t.txt"
    trace.write_text("JUNK FROM AN EARLIER RUN\n" * 100)
    proc = sockshim(["-o", "t.txt", *make_a_socket()], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    bodies = text_bodies(trace)
    assert bodies[0].startswith("# sockshim")
    assert "JUNK" not in trace.read_text()


@pytest.mark.parametrize("pattern", ["rel.txt", "rel.%p"])
def test_relative_trace_path_is_relative_to_where_sockshim_started(tmp_path, pattern):
    (tmp_path / "elsewhere").mkdir()
    proc = sockshim(["-o", pattern, *make_a_socket("elsewhere")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [trace] = tmp_path.glob("rel.*")
    assert any(b.startswith("sock3 = socket(") for b in text_bodies(trace))
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize("pattern", ["t.txt", "t.%p"])
def test_percent_signs_in_the_working_directory_stay_themselves(tmp_path, pattern):
    cwd = tmp_path / "50%p of 100%"
    cwd.mkdir()
    proc = sockshim(["-o", pattern, *make_a_socket()], cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    [trace] = cwd.glob("t.*")
    assert "socket(" in trace.read_text()


def test_double_percent_is_a_literal_percent(tmp_path):
    proc = sockshim(["-o", "t%%p.txt", *make_a_socket()], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["t%p.txt"]


def test_per_pid_trace_files_hold_only_their_own_pid(tmp_path):
    run_traced([program("tcp_echo")], tmp_path, fmt="text", per_pid=True, check_exit=0)
    files = {int(f.name.split(".")[1]): f for f in tmp_path.glob("trace.*")}
    assert len(files) == 2          # tcp_echo and its forked client
    for pid, path in files.items():
        lines = path.read_text().splitlines()
        assert lines
        assert {int(LINE_RE.match(line).group(2)) for line in lines} == {pid}
    parent = next(pid for pid, path in files.items() if "fork() -> " in path.read_text())
    [child] = set(files) - {parent}
    assert f"fork() -> {child}" in files[parent].read_text()


def test_without_o_the_trace_goes_to_stderr(tmp_path):
    proc = sockshim(make_a_socket(), cwd=tmp_path)
    assert proc.returncode == 0
    lines = proc.stderr.decode().splitlines()
    assert all(LINE_RE.match(line) for line in lines)
    assert any(" sock3 = socket(" in line for line in lines)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ --format

def test_text_format_lines_match_the_line_pattern(tmp_path):
    trace = run_traced([program("tcp_echo")], tmp_path, fmt="text", check_exit=0)
    assert len(trace.lines) > 10    # parse_text checked each against LINE_RE


def test_default_format_is_text(tmp_path):
    proc = sockshim(["-o", "t", program("tcp_echo")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(text_bodies(tmp_path / "t")) > 10


def test_json_format_lines_are_json(tmp_path):
    trace = run_traced([program("tcp_echo")], tmp_path, fmt="json", check_exit=0)
    assert len(trace.events) > 10   # run_traced json.loads()ed every line
    # tcp_echo's C programs send without MSG_NOSIGNAL: findings, and a summary
    assert {e["type"] for e in trace.events} == {"start", "call", "finding", "summary"}
    assert all(e["v"] == 2 for e in trace.events)


# ----------------------------------------------------------------------- -s

@pytest.mark.parametrize("size, client, server", [
    ("4", "sock3.send(b'hell'... (5 bytes)) -> 5", "sock4.send(b'HELL'... (5 bytes)) -> 5"),
    ("0", "sock3.send(b''... (5 bytes)) -> 5", "sock4.send(b''... (5 bytes)) -> 5"),
    ("5", "sock3.send(b'hello' (5 bytes)) -> 5", "sock4.send(b'HELLO' (5 bytes)) -> 5"),
])
def test_string_limit_cuts_text_data(tmp_path, size, client, server):
    trace = run_traced([program("tcp_echo")], tmp_path, fmt="text", options=["-s", size],
                       check_exit=0)
    sends = [b for b in trace.bodies() if ".send(" in b]
    assert sorted(sends) == sorted([client, server])


@pytest.mark.parametrize("size, hexes", [
    ("4", {"68656c6c", "48454c4c"}),
    ("0", {""}),
    ("5", {"68656c6c6f", "48454c4c4f"}),
])
def test_string_limit_cuts_json_data(tmp_path, size, hexes):
    trace = run_traced([program("tcp_echo")], tmp_path, options=["-s", size], check_exit=0)
    sends = [c for c in trace.calls if c["op"] == "send"]
    assert len(sends) == 2
    assert {s["args"]["data"]["hex"] for s in sends} == hexes
    assert all(s["args"]["data"]["len"] == 5 for s in sends)


# ----------------------------------------------------------------------- -e

# Every method tcp_echo's trace shows.
TCP_ECHO_OPS = {"socket", "setsockopt", "bind", "listen", "getsockname", "fork",
                "close", "connect", "accept", "send", "recv", "shutdown"}

# The method of a text body: `sock3 = socket(...`, `sock3.connect(...`, `fork() -> 7`.
METHOD_RE = re.compile(r"^(?:[\w, ]+ = )?(?:(?:sock|fd)\d+\.)?(\w+)\(")


def filtered(tmp_path, fmt, spec):
    """tcp_echo traced with -e spec: (start records or header lines, methods)."""
    trace = run_traced([program("tcp_echo")], tmp_path, fmt=fmt, options=["-e", spec],
                       check_exit=0)
    # a process has a header when it wrote anything: call lines, or the
    # findings and summary of the audit, which -e does not filter
    if fmt == "json":
        assert {e["type"] for e in trace.events} <= {"start", "call", "finding", "summary"}
        starts = [e["pid"] for e in trace.events if e["type"] == "start"]
        return (starts, {c["op"] for c in trace.calls},
                {e["pid"] for e in trace.events if e["type"] != "start"})
    headers = [l.pid for l in trace.lines if l.body.startswith("# sockshim")]
    calls = [l for l in trace.lines if not l.body.startswith("#")]
    return (headers, {METHOD_RE.match(normalize(l.body)).group(1) for l in calls},
            {l.pid for l in trace.lines if not l.body.startswith("# sockshim")})


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("spec, expected", [
    ("connect,accept", {"connect", "accept"}),
    ("trace=connect", {"connect"}),
    ("!close", TCP_ECHO_OPS - {"close"}),
    ("%io", {"send", "recv"}),
    ("%connection,send", {"bind", "listen", "accept", "connect", "shutdown",
                          "getsockname", "send"}),
    ("!%lifecycle", TCP_ECHO_OPS - {"socket", "close", "fork"}),
    ("all", TCP_ECHO_OPS),
])
def test_trace_filter_keeps_only_the_methods_named(tmp_path, fmt, spec, expected):
    starts, methods, pids = filtered(tmp_path, fmt, spec)
    # one header for each process that wrote a line (a forked child too)
    assert sorted(s_pid for s_pid in starts) == sorted(pids)
    assert methods == expected


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_trace_filter_none_is_pure_pass_through(tmp_path, fmt):
    """-e none traces nothing, not even the header: the library only passes
    calls on to libc (the configuration the benchmarks call 'loaded')."""
    starts, methods, _ = filtered(tmp_path, fmt, "none")
    assert (len(starts), methods) == (0, set())


# ------------------------------------------ processes that touch no socket

# A shell that runs a shell: the outer one's fork (dash's vfork) is the only
# call the library sees; dash leaves through _exit, so it has no summary.
SHELL_IN_SHELL = ["sh", "-c", "sh -c true"]
# A Python process that forks and touches no socket; it leaves through
# exit(), so a summary would come (its child _exits: nothing).
PY_FORK = py("import os\npid = os.fork()\npid or os._exit(0)\nos.waitpid(pid, 0)")
HEADER_RE = r"# sockshim " + re.escape(VERSION) + r" traces pid {pid} '{exe}', parent \d+"


def trace_lines(path):
    """(pids, bodies) of a text trace file."""
    matches = [LINE_RE.match(line) for line in path.read_text().splitlines()]
    assert all(matches), path.read_text()
    return {int(m.group(2)) for m in matches}, [m.group(4) for m in matches]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("options", [[], ["--summary"], ["-e", "!close"], ["-e", "all"]])
@pytest.mark.parametrize("argv", [SHELL_IN_SHELL, PY_FORK], ids=["sh", "python"])
def test_a_process_that_touches_no_socket_writes_nothing(tmp_path, fmt, options, argv):
    proc = sockshim(["-o", "t", "--format", fmt, *options, "--", *argv], cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert (tmp_path / "t").read_bytes() == b""


def test_without_o_stderr_holds_only_the_programs_own(tmp_path):
    proc = sockshim(["--", "sh", "-c", "sh -c true; echo own >&2"], cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"own\n")


@pytest.mark.parametrize("options", [["--all-processes"], ["-e", "fork"],
                                     ["-e", "trace=connect,fork"]])
def test_all_processes_or_e_fork_shows_the_shell_and_its_fork(tmp_path, options):
    """The shell (dash) leaves through _exit: its summary says so. The
    child it forked execs the inner shell without a call of its own."""
    proc = sockshim(["-o", "t", *options, "--", *SHELL_IN_SHELL], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [shell], bodies = trace_lines(tmp_path / "t")
    assert len(bodies) == 5, bodies
    assert re.fullmatch(HEADER_RE.format(pid=shell, exe="sh"), bodies[0])
    assert re.fullmatch(r"vfork\(\) -> \d+", bodies[1])
    assert bodies[2:4] == [
        f"# summary of pid {shell} 'sh', ended by _exit(0): 0 sockets, 0 findings",
        "# method            calls  errors  faults        bytes      time"]
    assert re.fullmatch(r"# fork                  1       0       0            -  "
                        r"\d+\.\d{3} ms", bodies[4])


@pytest.mark.parametrize("options", [["--all-processes"], ["-e", "fork"]])
def test_all_processes_or_e_fork_writes_the_fork_and_the_summary(tmp_path, options):
    proc = sockshim(["-o", "t", *options, "--", *PY_FORK], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [pid], bodies = trace_lines(tmp_path / "t")
    assert len(bodies) == 5, bodies
    assert re.fullmatch(HEADER_RE.format(pid=pid, exe=re.escape(PYTHON)), bodies[0])
    assert re.fullmatch(r"fork\(\) -> \d+", bodies[1])
    assert bodies[2:4] == [
        f"# summary of pid {pid} '{PYTHON}': 0 sockets, 0 findings",
        "# method            calls  errors  faults        bytes      time"]
    assert re.fullmatch(r"# fork                  1       0       0            -  "
                        r"\d+\.\d{3} ms", bodies[4])


def test_all_processes_with_summary_writes_only_the_summary(tmp_path):
    proc = sockshim(["-o", "t", "--all-processes", "--summary", "--", *PY_FORK], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [pid], bodies = trace_lines(tmp_path / "t")
    assert len(bodies) == 4, bodies
    assert re.fullmatch(HEADER_RE.format(pid=pid, exe=re.escape(PYTHON)), bodies[0])
    assert bodies[1:3] == [
        f"# summary of pid {pid} '{PYTHON}': 0 sockets, 0 findings",
        "# method            calls  errors  faults        bytes      time"]
    assert re.fullmatch(r"# fork                  1       0       0            -  "
                        r"\d+\.\d{3} ms", bodies[3])


def test_all_processes_json_records(tmp_path):
    proc = sockshim(["-o", "t", "--format", "json", "--all-processes", "--", *PY_FORK],
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    start, fork, summary = records(tmp_path / "t")
    assert (start["type"], start["exe"]) == ("start", PYTHON)
    assert (fork["type"], fork["op"], fork["call"], fork["pid"]) == (
        "call", "fork", "fork", start["pid"])
    assert fork["ret"] > 0
    assert (summary["type"], summary["pid"], summary["sockets"], summary["findings"]) == (
        "summary", start["pid"], [], [])
    assert [(m["op"], m["calls"]) for m in summary["methods"]] == [("fork", 1)]


def test_a_fork_before_the_first_socket_call_is_counted_not_written(tmp_path):
    code = ("import os, socket\npid = os.fork()\npid or os._exit(0)\nos.waitpid(pid, 0)\n"
            "socket.socket().close()")
    proc = sockshim(["-o", "t", "--", *py(code)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [pid], bodies = trace_lines(tmp_path / "t")
    assert bodies[1:3] == ["sock3 = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)",
                           "sock3.close()"]
    assert bodies[3] == f"# summary of pid {pid} '{PYTHON}': 1 socket, 0 findings"
    assert [b.split()[1:3] for b in bodies[5:8]] == [["socket", "1"], ["close", "1"],
                                                     ["fork", "1"]]


def test_a_shell_running_a_python_socket_writes_only_pythons_trace(tmp_path):
    code = "import socket; socket.socket().close()"
    proc = sockshim(["-o", "t", "--no-summary", "--", "sh", "-c", f"{PYTHON} -c '{code}'; true"],
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [pid], bodies = trace_lines(tmp_path / "t")
    assert re.fullmatch(HEADER_RE.format(pid=pid, exe=re.escape(PYTHON)), bodies[0])
    assert bodies[1:] == ["sock3 = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)",
                          "sock3.close()"]


# ------------------------------------------------------ finding the library

def test_library_is_found_from_any_working_directory(tmp_path):
    proc = sockshim(["-o", "t", program("tcp_echo")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "sock3 = socket(AF_INET, SOCK_STREAM, 0)" in text_bodies(tmp_path / "t")


def test_library_is_found_through_a_symlink_to_the_command(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "sockshim").symlink_to(SOCKSHIM)
    proc = sockshim(["-o", "t", *py(PRINT_PRELOAD)], cwd=tmp_path,
                    command=tmp_path / "bin" / "sockshim")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == preload_list(str(LIBRARY.resolve())) + "\n"


def test_sockshim_library_variable_overrides_the_library(tmp_path):
    copy = tmp_path / "lib" / "libsockshim.so"
    copy.parent.mkdir()
    shutil.copy(LIBRARY, copy)
    proc = sockshim(["-o", "t", *py(PRINT_PRELOAD)], cwd=tmp_path,
                    env={"SOCKSHIM_LIBRARY": str(copy)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == preload_list(str(copy.resolve())) + "\n"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The prefix of `cmake --install BUILD`."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    prefix = tmp_path_factory.mktemp("install") / "prefix"
    subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix)],
                   check=True, capture_output=True, timeout=60)
    return prefix


def test_installed_command_traces(installed, tmp_path):
    proc = sockshim(["-o", "t", program("tcp_echo")], cwd=tmp_path,
                    command=installed / "bin" / "sockshim")
    assert proc.returncode == 0, proc.stderr
    assert "sock3 = socket(AF_INET, SOCK_STREAM, 0)" in text_bodies(tmp_path / "t")


def test_installed_command_preloads_the_installed_library(installed, tmp_path):
    proc = sockshim(["-o", "t", *py(PRINT_PRELOAD)], cwd=tmp_path,
                    command=installed / "bin" / "sockshim")
    assert proc.returncode == 0, proc.stderr
    [library] = installed.resolve().rglob("libsockshim.so")
    assert proc.stdout.decode() == preload_list(str(library)) + "\n"


# ------------------------------------------------------------ static binary

@pytest.fixture
def static_binary(tmp_path):
    gcc = gcc_or_skip()
    src = tmp_path / "static.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("static ran"); return 5; }\n')
    exe = tmp_path / "static"
    built = subprocess.run([gcc, "-static", "-o", str(exe), str(src)], capture_output=True)
    if built.returncode != 0:
        pytest.skip("gcc cannot link statically: " + built.stderr.decode(errors="replace"))
    return exe


def test_static_binary_gets_a_warning_and_still_runs(tmp_path, static_binary):
    proc = sockshim(["-o", "t", str(static_binary)], cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (5, b"static ran\n")
    stderr = proc.stderr.decode()
    assert stderr.startswith("sockshim: warning: ")
    assert f"'{static_binary}' is statically linked" in stderr
    assert (tmp_path / "t").read_text() == ""


# --------------------------------------------- the library without the command

PRINT_RAN = 'print("ran")'


def test_library_preloaded_by_hand_runs_the_program(tmp_path):
    env = {"LD_PRELOAD": preload_list(str(LIBRARY)), "SOCKSHIM_FORMAT": "json",
           "SOCKSHIM_TRACE": "connect", "SOCKSHIM_OUTPUT": str(tmp_path / "t")}
    proc = run_bare(py(PRINT_RAN), env=env, cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"ran\n", b"")
    # the trace is opened at start; a process without socket calls writes
    # nothing into it, not even its header
    assert (tmp_path / "t").read_bytes() == b""


@pytest.mark.parametrize("var, value, says", [
    ("SOCKSHIM_FORMAT", "xml", "unknown trace format 'xml'"),
    ("SOCKSHIM_TRACE", "conect", "unknown method 'conect' (did you mean 'connect'?)"),
    ("SOCKSHIM_STRSIZE", "abc", "bad string size 'abc'"),
    ("SOCKSHIM_OUTPUT", "t%x", "bad escape in output path 't%x'"),
    ("SOCKSHIM_ALL_PROCESSES", "yes", "bad setting 'yes' (expected 0 or 1)"),
])
def test_library_preloaded_by_hand_refuses_a_bad_setting(tmp_path, var, value, says):
    env = {"LD_PRELOAD": preload_list(str(LIBRARY)), var: value}
    proc = run_bare(py(PRINT_RAN), env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert f"sockshim: {var}: {says}" in proc.stderr.decode()


@pytest.mark.parametrize("args, message", [
    (["--fault-file", "missing.txt", "--", "true"],
     "sockshim: --fault-file: cannot read 'missing.txt': No such file or directory "
     "(give a readable file of rules, one a line)"),
    (["-o", "no/such/dir/t.txt", "--", "true"],
     "sockshim: cannot write trace file 'TMP/no/such/dir/t.txt': No such file or directory "
     "(its directory does not exist: create it, or choose another path)"),
    (["--pcap", ".", "--", "true"],
     "sockshim: cannot write capture file '.': Is a directory "
     "(that is a directory: give a file name in it)"),
    (["--", "no-such-program-anywhere"],
     "sockshim: cannot run 'no-such-program-anywhere': No such file or directory "
     "(check the name; one without '/' is looked for in PATH)"),
    (["--", "./data.txt"],
     "sockshim: cannot run './data.txt': Permission denied "
     "(it is not executable: chmod +x it, or run it through its interpreter)"),
    (["--seed", "soon", "--", "true"],
     "sockshim: --seed: bad seed 'soon' (expected a whole number, such as the one a "
     "trace header shows)"),
    (["--frobnicate", "--", "true"],
     "sockshim: unknown option '--frobnicate'\nTry 'sockshim --help' for more information."),
])
def test_every_refusal_says_what_to_do_next(tmp_path, args, message):
    (tmp_path / "data.txt").write_text("not a program\n")
    proc = sockshim(args, tmp_path)
    assert proc.returncode == 2
    # the trace file's path is made absolute (the program may change directory)
    assert proc.stderr.decode() == message.replace("TMP", str(tmp_path)) + "\n"


# ------------------------------------------------------------- --max-size

MAX_SIZE = 1 << 20
DROPPED_RE = re.compile(r"^# (\d+) lines? dropped: the trace reached --max-size "
                        r"\(1048576 bytes\)$")


@pytest.mark.parametrize("per_pid", [False, True], ids=["one-file", "per-pid"])
def test_max_size_bounds_a_text_trace_and_keeps_the_summary(tmp_path, per_pid):
    """60,000 one-byte round trips make a trace of several MiB; under
    --max-size=1M the file stays within 1 MiB, says how many lines it
    dropped, and still ends with the whole summary, whose counts add up
    with the lines kept and dropped."""
    name = "t.%p" if per_pid else "t.txt"
    proc = sockshim(["-o", name, "--max-size=1M", "--", PYTHON,
                     str(SCENARIOS / "round_trips.py"), "30000"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [path] = [p for p in tmp_path.iterdir() if p.name.startswith("t.")]
    assert path.stat().st_size <= MAX_SIZE
    bodies = [LINE_RE.match(l).group(4) for l in path.read_text().splitlines()]
    [dropped] = [int(DROPPED_RE.match(b).group(1)) for b in bodies if DROPPED_RE.match(b)]
    calls_kept = sum(1 for b in bodies if not b.startswith("#"))
    table = [b.split() for b in bodies if re.match(r"# \w+ +\d+ +\d+ +\d+ ", b)]
    calls_made = sum(int(row[2]) for row in table)
    assert calls_kept + dropped == calls_made
    assert ["send", "30000"] in [row[1:3] for row in table]
    assert dropped > 30000


def test_max_size_bounds_a_json_trace_and_keeps_the_summary(tmp_path):
    proc = sockshim(["-o", "t.jsonl", "--format=json", "--max-size=1M", "--", PYTHON,
                     str(SCENARIOS / "round_trips.py"), "30000"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "t.jsonl"
    assert path.stat().st_size <= MAX_SIZE
    records = [json.loads(l) for l in path.read_text().splitlines()]
    [dropped] = [r for r in records if r["type"] == "dropped"]
    assert (dropped["reason"], dropped["max_size"]) == ("max-size", MAX_SIZE)
    [summary] = [r for r in records if r["type"] == "summary"]
    calls_made = sum(m["calls"] for m in summary["methods"])
    calls_kept = sum(1 for r in records if r["type"] == "call")
    assert calls_kept + dropped["lines"] == calls_made
    assert records[-1]["type"] == "summary"


def test_max_size_leaves_a_small_trace_whole(tmp_path):
    proc = sockshim(["-o", "small.txt", "--max-size=1M", "--", PYTHON,
                     str(SCENARIOS / "round_trips.py"), "10"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    bare = sockshim(["-o", "bare.txt", "--", PYTHON, str(SCENARIOS / "round_trips.py"), "10"],
                    cwd=tmp_path)
    assert bare.returncode == 0
    small = (tmp_path / "small.txt").read_text()
    assert "dropped" not in small
    assert len(small.splitlines()) == len((tmp_path / "bare.txt").read_text().splitlines())


# ------------------------------------------ the files sockshim writes, safely

NOBODY = 65534
UNSAFE_KINDS = ["other-users-fifo", "symlink", "other-users-file", "hard-link"]
REASONS = {
    "other-users-fifo": "is a FIFO that belongs to another user",
    "symlink": "is a symbolic link, which sockshim does not follow",
    "other-users-file": "belongs to another user",
    "hard-link": "has another hard link",
}


def give_to_nobody(path):
    """Makes path another user's: the tests run as root, so the owner must
    really be another uid."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    assert os.lstat(path).st_uid != os.geteuid()


def unsafe_output(kind, tmp_path):
    """An output path of the given kind, and how to read back what it
    holds (to show nothing was written). A FIFO has a reader (as the other
    user's would), so that its open succeeds and only the owner check can
    refuse it."""
    path = tmp_path / "trace.out"
    if kind == "other-users-fifo":
        os.mkfifo(path, 0o666)
        give_to_nobody(path)
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

        def read_back():
            try:
                return os.read(reader, 65536)
            except BlockingIOError:
                return b""
        return path, read_back
    if kind == "symlink":
        target = tmp_path / "victim"
        target.write_bytes(b"precious\n")
        path.symlink_to(target)
        return path, target.read_bytes
    path.write_bytes(b"precious\n")
    if kind == "other-users-file":
        give_to_nobody(path)
        path.chmod(0o666)  # writable by anyone: only the owner check protects it
    else:
        os.link(path, tmp_path / "second-name")
    return path, path.read_bytes


@pytest.mark.parametrize("option", ["-o", "--pcap"])
@pytest.mark.parametrize("kind", UNSAFE_KINDS)
def test_unsafe_output_is_refused_before_the_program_starts(tmp_path, kind, option):
    """Guards: ss_output_refusal and ss_output_open_refusal (options.c) as
    the command's open_output_file uses them, with O_NOFOLLOW|O_NONBLOCK."""
    path, read_back = unsafe_output(kind, tmp_path)
    before = read_back()
    proc = sockshim([option, str(path), *TOUCH], cwd=tmp_path)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert proc.stdout == b""
    what = "trace file" if option == "-o" else "capture file"
    assert stderr.startswith(f"sockshim: {what} '{path}' {REASONS[kind]}"), stderr
    assert stderr.count("\n") == 1
    assert not (tmp_path / "MARKER").exists()
    assert read_back() == before


@pytest.mark.parametrize("kind", UNSAFE_KINDS)
def test_library_refuses_an_unsafe_output_with_status_2(tmp_path, kind):
    """Guards: the same check in the library's open of SOCKSHIM_OUTPUT
    (sink.c), before main()."""
    path, read_back = unsafe_output(kind, tmp_path)
    before = read_back()
    proc = subprocess.run([*TOUCH], cwd=tmp_path, capture_output=True, timeout=TIMEOUT,
                          env=base_env({"LD_PRELOAD": preload_list(str(LIBRARY)),
                                        "SOCKSHIM_OUTPUT": str(path)}))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.decode() == f"sockshim: SOCKSHIM_OUTPUT: '{path}' {REASONS[kind]}" + (
        "" if kind != "hard-link" else " (a second name for the same file)") + "\n"
    assert not (tmp_path / "MARKER").exists()
    assert read_back() == before


def test_fifo_nobody_reads_is_refused_not_waited_on(tmp_path):
    """Guards: O_NONBLOCK on the open: without it sockshim (or the program)
    would hang in open() until a reader came."""
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo, 0o600)
    proc = sockshim(["-o", str(fifo), *TOUCH], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.decode() == (f"sockshim: trace file '{fifo}' is a FIFO that no one "
                                    "reads (start its reader first)\n")
    assert not (tmp_path / "MARKER").exists()


def test_own_fifo_with_a_reader_takes_the_whole_trace(tmp_path):
    """A FIFO of the user's own is opened once and handed to the program,
    as stderr is: its reader sees no end of file between processes."""
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo, 0o600)
    # the reader is there before sockshim opens the FIFO (a few KiB of trace
    # fit in the pipe's buffer)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    proc = sockshim(["-o", str(fifo), "--", "sh", "-c",
                     f"{program('udp_pair')} >/dev/null; {program('udp_pair')} >/dev/null"],
                    cwd=tmp_path)
    out = b""
    while chunk := os.read(reader, 65536):
        out += chunk
    os.close(reader)
    assert proc.returncode == 0, proc.stderr
    assert out.decode().count("# sockshim ") == 2


@pytest.mark.parametrize("name", ["/dev/stderr", "/dev/stdout", "/dev/fd/{fd}",
                                  "/proc/self/fd/{fd}"])
def test_output_named_as_a_descriptor_is_that_descriptor(tmp_path, name):
    """-o /dev/stderr, /dev/stdout, /dev/fd/N: symbolic links that
    O_NOFOLLOW refuses, so the command writes the descriptor they name (a
    pipe here) and hands it to the program."""
    r, w = os.pipe()
    fd_name = name.replace("{fd}", str(w))
    kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if name == "/dev/stderr":
        kwargs["stderr"] = w
    elif name == "/dev/stdout":
        kwargs["stdout"] = w
    proc = subprocess.Popen([str(SOCKSHIM), "-o", fd_name, program("udp_pair")], cwd=tmp_path,
                            env=base_env(), pass_fds=(w,), **kwargs)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    trace = [line for line in got.decode().splitlines() if LINE_RE.match(line)]
    assert "# sockshim " in trace[0]
    assert any("socket(AF_INET, SOCK_DGRAM, 0)" in line for line in trace)


def test_pcap_refuses_a_descriptor(tmp_path):
    proc = sockshim(["--pcap", "/dev/stderr", *TOUCH], cwd=tmp_path)
    assert proc.returncode == 2
    assert "--pcap: '/dev/stderr' is not a regular file" in proc.stderr.decode()
    assert not (tmp_path / "MARKER").exists()


def in_pid_namespace_or_skip(tmp_path, script, env):
    """Runs sh -c script as pid 1 of a new pid namespace (with its own
    /proc), so that the pids of the run are known in advance."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to make a pid namespace")
    proc = subprocess.run(["unshare", "--pid", "--fork", "--mount", "--mount-proc",
                           "sh", "-c", script], cwd=tmp_path, capture_output=True,
                          timeout=TIMEOUT, env=base_env(env))
    if b"unshare failed" in proc.stderr:
        pytest.skip("the kernel refused a pid namespace: " + proc.stderr.decode().strip())
    return proc


STALE_PIDS = range(2, 9)


def test_per_pid_file_left_by_an_earlier_run_is_not_reused(tmp_path):
    """Guards: O_EXCL on the drain's %p files (drain.c open_pid_file) and
    ss_output_made_by_run: a file at the name, changed before the run
    started, is refused with its name, status 2, and left as it was."""
    for pid in STALE_PIDS:
        (tmp_path / f"t.{pid}").write_bytes(b"stale\n")
    time.sleep(0.05)  # a clock tick later: the files are older than the run
    proc = in_pid_namespace_or_skip(
        tmp_path, f"exec {SOCKSHIM} -o t.%p -- {program('udp_pair')}", None)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert re.search(r"^sockshim: trace file '\S+/t\.\d' exists already and was not made by "
                     r"this run; the lines of pid \d are not written", stderr, re.M), stderr
    assert proc.stdout.decode().startswith("sendto a->b: 4")  # the program ran
    for pid in STALE_PIDS:
        assert (tmp_path / f"t.{pid}").read_bytes() == b"stale\n"


def test_library_refuses_a_per_pid_file_left_by_an_earlier_run(tmp_path):
    """The library by itself (no command): the same rule at its start."""
    (tmp_path / "t.1").write_bytes(b"stale\n")
    time.sleep(0.05)
    preload = preload_list(str(LIBRARY))
    proc = in_pid_namespace_or_skip(
        tmp_path, f"exec env LD_PRELOAD={preload} SOCKSHIM_OUTPUT=t.%p {program('udp_pair')}",
        None)
    assert proc.returncode == 2
    assert proc.stderr.decode() == ("sockshim: SOCKSHIM_OUTPUT: 't.1' exists already and was "
                                    "not made by this run\n")
    assert (tmp_path / "t.1").read_bytes() == b"stale\n"


def test_per_pid_file_reopened_after_exec_and_by_the_drain_is_appended_to(tmp_path):
    """The files the run made are its own to reopen: a process's file after
    it exec'd (library alone), and a file the drain closed to keep at most
    64 open (70 children come between the parent's two sockets)."""
    code = ("import os, socket\n"
            "socket.socket().close()\n"
            "for i in range(70):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        socket.socket().close(); os._exit(0)\n"
            "    os.waitpid(pid, 0)\n"
            "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()\n")
    proc = sockshim(["-o", "t.%p", "-e", "socket", PYTHON, "-c", code], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    files = sorted(tmp_path.glob("t.*"))
    assert len(files) == 71
    parent = [f for f in files if "SOCK_DGRAM" in f.read_text()]
    assert len(parent) == 1 and "SOCK_STREAM" in parent[0].read_text()

    env = base_env({"LD_PRELOAD": preload_list(str(LIBRARY)), "SOCKSHIM_OUTPUT": "x.%p"})
    proc = subprocess.run(["sh", "-c", f"exec {PYTHON} -c 'import socket; socket.socket()'"],
                          cwd=tmp_path, capture_output=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stderr
    [made] = tmp_path.glob("x.*")
    assert "SOCK_STREAM" in made.read_text()
