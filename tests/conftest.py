"""Shared harness: run real programs bare and under sockshim, read traces.

The build under test is $SOCKSHIM_BUILD (tools/check sets it), default
build/. $SOCKSHIM_TEST_PRELOAD (the ASan runtime in the sanitizer pass) is
preloaded into every program, bare or traced, so both runs see the same
process.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("SOCKSHIM_BUILD", ROOT / "build")).resolve()
SOCKSHIM = BUILD / "sockshim"

# The suite runs programs under the shim through the Python API the build
# ships (python/sockshim, copied into the build tree), as its users do.
sys.path.insert(0, str(BUILD / "python"))
import sockshim  # noqa: E402

pytest_plugins = ["sockshim.pytest_plugin"]
PROGRAMS = BUILD / "programs"
SCENARIOS = ROOT / "tests" / "scenarios"
PYTHON = "/usr/bin/python3"
# The sanitizer passes of tools/check preload the runtime into every program:
# they run several times slower, so waits and watchdogs are longer there.
SANITIZED = bool(os.environ.get("SOCKSHIM_TEST_PRELOAD"))
TIMEOUT = 240 if SANITIZED else 60


def program(name):
    """Path of a C scenario program from tests/programs."""
    path = PROGRAMS / name
    if not path.exists():
        pytest.fail(f"{path} is not built")
    return str(path)


def scenario(name):
    """argv running a Python scenario script from tests/scenarios."""
    return [PYTHON, str(SCENARIOS / name)]


def gcc_or_skip():
    """gcc, for a test that builds a program of its own (tools/check installs
    it; a machine without it skips those tests)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    return gcc


def base_env(extra=None):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("SOCKSHIM_") and key != "SOCKSHIM_TEST_PRELOAD":
            del env[key]
    env.pop("LD_PRELOAD", None)
    preload = os.environ.get("SOCKSHIM_TEST_PRELOAD")
    if preload:
        env["LD_PRELOAD"] = preload
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if SANITIZED:
        env["TEST_WATCHDOG"] = "60"   # tests/programs/common.h: start()
    if extra:
        env.update(extra)
    return env


def preload_list(*paths):
    """An LD_PRELOAD value: the test pass's own preload (the ASan runtime,
    which base_env puts in front of everything) first, then paths."""
    first = os.environ.get("SOCKSHIM_TEST_PRELOAD")
    return ":".join(p for p in (first, *paths) if p)


def run_bare(argv, env=None, **kwargs):
    return subprocess.run(argv, capture_output=True, timeout=TIMEOUT,
                          env=base_env(env), **kwargs)


_curl_usable = {}


def curl_or_skip():
    """curl's path; skips when curl is missing, or when it cannot run with
    $SOCKSHIM_TEST_PRELOAD: Debian 12's curl deadlocks in setlocale()
    (__libc_setlocale_lock) at startup when the ASan runtime is preloaded,
    with or without sockshim."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is missing (apt-get install curl)")
    preload = os.environ.get("SOCKSHIM_TEST_PRELOAD")
    if preload:
        if preload not in _curl_usable:
            try:
                ok = run_bare_quick([curl, "--version"]).returncode == 0
            except subprocess.TimeoutExpired:
                ok = False
            _curl_usable[preload] = ok
        if not _curl_usable[preload]:
            pytest.skip(f"curl does not run with {preload} preloaded (it deadlocks in "
                        "setlocale at startup, without sockshim too)")
    return curl


def free_ports(n):
    """n loopback TCP ports free a moment ago (bound together, so distinct)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def run_bare_quick(argv):
    """Runs argv bare, in a session of its own, for at most 5 s."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=base_env(), start_new_session=True)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return proc


@dataclass
class Line:
    """One line of a text trace."""
    time: str
    pid: int
    tid: int
    body: str


@dataclass
class Trace:
    proc: sockshim.Result         # the run: exit status, output, the trace
    lines: list = field(default_factory=list)    # text Line records

    @property
    def raw(self):
        """The trace file(s), concatenated."""
        return self.proc.trace

    @property
    def events(self):
        """The JSON records."""
        return self.proc.events

    @property
    def calls(self):
        return self.proc.calls

    def bodies(self, pid=None):
        """Text bodies (after the pid), ports normalised, header skipped."""
        return [normalize(l.body) for l in self.lines
                if not l.body.startswith("#") and (pid is None or l.pid == pid)]


LINE_RE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{6}) \[(\d+)(?::(\d+))?\] (.*)$")


def parse_text(raw):
    lines = []
    for text in raw.splitlines():
        m = LINE_RE.match(text)
        assert m, f"not a trace line: {text!r}"
        pid = int(m.group(2))
        tid = int(m.group(3)) if m.group(3) else pid
        lines.append(Line(m.group(1), pid, tid, m.group(4)))
    return lines


PORT_RE = re.compile(r"\('(127\.0\.0\.1|::1)', (\d+)")


def normalize(body):
    """Replaces every non-zero port by PORT: ports differ run to run."""
    return PORT_RE.sub(lambda m: f"('{m.group(1)}', "
                       + ("0" if m.group(2) == "0" else "PORT"), body)


def run_traced(argv, tmp_path, fmt="json", options=(), per_pid=False, env=None,
               input=None, check_exit=None, faults=()):
    """Runs argv under sockshim (sockshim.run); returns the Trace."""
    out = tmp_path / ("trace.%p" if per_pid else "trace")
    result = sockshim.run(argv, faults, format=fmt, output=out, options=options,
                          sockshim=SOCKSHIM, capture_output=True, timeout=TIMEOUT,
                          env=base_env(env), input=input)
    trace = Trace(proc=result, lines=parse_text(result.trace) if fmt != "json" else [])
    if check_exit is not None:
        assert result.returncode == check_exit, result.stderr.decode(errors="replace")
    return trace


@pytest.fixture
def traced(tmp_path):
    """traced(argv, fmt=..., options=...) -> Trace, files in tmp_path."""
    def run(argv, **kwargs):
        return run_traced(argv, tmp_path, **kwargs)
    return run
