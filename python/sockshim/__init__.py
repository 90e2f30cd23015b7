"""Run programs under sockshim from Python: fault-injection tests in a few lines.

    import sockshim

    result = sockshim.run(["./client", "127.0.0.1", "8080"],
                          faults=["connect:error=ECONNREFUSED:when=1..3"],
                          capture_output=True)
    assert result.returncode == 0
    assert [c["op"] for c in result.calls if c["op"] == "connect"] == ["connect"] * 4
    assert not result.findings_with("lost-bytes")

`run` starts the program under the `sockshim` command with a JSON trace, waits
for it as `subprocess.run` does, and returns a `Result`: a
`subprocess.CompletedProcess` (returncode, stdout, stderr) that also holds the
parsed trace of every process of the run (`events`) and the audit's findings
(`findings`). The trace format is docs/trace-format.md; the findings are
docs/findings.md.

The module needs nothing beyond the standard library. It finds the command
in $SOCKSHIM_COMMAND, next to itself (an installation or a build tree), or
on $PATH. `sockshim --python-path` prints the directory to put on sys.path.
A pytest plugin (`sockshim.pytest_plugin`) gives tests a `sockshim` fixture.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["run", "start", "command", "find_command", "read_trace", "text_bytes",
           "address_bytes", "Result", "Running", "SockshimError"]

FORMATS = ("json", "text")

# A string of a JSON record that is not UTF-8 (a unix path, a program's
# name) has U+FFFD for each bad byte and its exact bytes in hex in the
# member of this suffix beside it: "path" and "path_hex" (SS_JSON_HEX_SUFFIX
# in shim/common/escape.h; docs/trace-format.md, "Strings").
HEX_SUFFIX = "_hex"


class SockshimError(Exception):
    """sockshim cannot be used as asked (no command, bad argument)."""


def find_command():
    """The path of the sockshim command this module belongs to."""
    override = os.environ.get("SOCKSHIM_COMMAND")
    if override:
        return override
    here = Path(__file__).resolve().parent            # .../sockshim (the package)
    candidates = [here.parent.parent / "sockshim"]     # build tree: build/python/sockshim
    if len(here.parents) > 3:                           # installed: P/share/sockshim/python/sockshim
        candidates.append(here.parents[3] / "bin" / "sockshim")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("sockshim")
    if found:
        return found
    raise SockshimError("cannot find the sockshim command: set SOCKSHIM_COMMAND to its "
                        "path, or put its directory on PATH")


def command(argv, faults=(), seed=None, trace=True, *, output=None, format="json",
            calls=False, strict=False, string_limit=None, methods=None, pcap=None,
            all_processes=False, options=(), sockshim=None):
    """The argv that runs argv under sockshim with these settings (for
    Popen, when a program must run in the background; `read_trace` reads
    what it wrote). `output` is the trace file (%p in it: one per process;
    None: the trace goes to the program's stderr).
    """
    if isinstance(argv, (str, bytes)):
        raise SockshimError("argv must be a list of arguments, not a string")
    if not argv:
        raise SockshimError("argv is empty: there is no program to run")
    if isinstance(faults, str):
        faults = [faults]
    if format not in FORMATS:
        raise SockshimError(f"format {format!r}: expected one of {', '.join(FORMATS)}")
    cmd = [str(sockshim or find_command()), "--format", format]
    if output is not None:
        cmd += ["-o", os.fspath(output)]
    for rule in faults:
        cmd += ["--fault", rule]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if not trace:
        cmd.append("--summary")
    if calls:
        cmd.append("--calls")
    if strict:
        cmd.append("--strict")
    if string_limit is not None:
        cmd += ["-s", str(string_limit)]
    if methods is not None:
        cmd += ["-e", methods if isinstance(methods, str) else ",".join(methods)]
    if pcap is not None:
        cmd += ["--pcap", os.fspath(pcap)]
    if all_processes:
        cmd.append("--all-processes")
    cmd += [*options, "--", *argv]
    return cmd


def _output_pattern(name):
    """A file name as -o reads it ('%p': a pid, '%%': '%'): (the regular
    expression of the names it stands for, whether it holds a %p)."""
    parts, per_process = [], False
    for token in re.split(r"(%%|%p)", name):
        if token == "%p":
            parts.append(r"(\d+)")
            per_process = True
        else:
            parts.append(re.escape("%" if token == "%%" else token))
    return re.compile("".join(parts) + "$"), per_process


def trace_files(output):
    """The files a run with -o output wrote: output itself, or with %p in
    it, one per process (in pid order)."""
    directory, name = os.path.split(os.fspath(output))
    pattern, per_process = _output_pattern(name)
    directory = directory or "."
    if not per_process:
        path = Path(directory, name.replace("%%", "%"))
        return [path] if path.exists() else []
    found = [(int(m.group(1)), Path(directory, entry)) for entry in os.listdir(directory)
             for m in [pattern.match(entry)] if m]
    return [path for _, path in sorted(found)]


def read_trace(output, format="json", skip=()):
    """(text, events) of the trace files a run wrote (but those in skip):
    their contents, and for a JSON trace the records, one dict a line. A
    last line without its newline (a file cut short by a full disk) is
    left out of the records."""
    texts = [f.read_text(errors="surrogateescape") for f in trace_files(output)
             if f not in skip]
    text = "".join(texts)
    if format != "json":
        return text, []
    lines = [line for t in texts for line in t.split("\n")[:-1] if line]
    return text, [json.loads(line) for line in lines]


def text_bytes(record, key):
    """The exact bytes of the string member `key` of a JSON record (an
    address's "path" or "abstract", "exe", where's "module"...): its hex
    twin when the writer put one there, else the string as UTF-8."""
    hexed = record.get(key + HEX_SUFFIX)
    if hexed is not None:
        return bytes.fromhex(hexed)
    return record[key].encode("utf-8")


def address_bytes(addr):
    """An AF_UNIX address object as Python's socket module gives it: a
    path's bytes, or an abstract name's with its leading NUL."""
    if "path" in addr:
        return text_bytes(addr, "path")
    return b"\0" + text_bytes(addr, "abstract")


def findings_of(events):
    """The audit's findings in a JSON trace: each process's summary has them
    with their counts (its last summary: one written before an exec that
    failed is written again at the end). A process that left no summary,
    or was killed and got one from the command ("written_by": "sockshim",
    which knows only the leaks), has its finding records instead. Each gets
    the pid (and tid) of its process."""
    last = {e["pid"]: e for e in events if e.get("type") == "summary"}
    own = {pid for pid, e in last.items() if e.get("written_by") != "sockshim"}
    found = []
    for e in events:
        if e.get("type") == "summary" and e["pid"] in own and last[e["pid"]] is e:
            found += [dict(f, pid=e["pid"], tid=e["tid"]) for f in e.get("findings", [])]
        elif e.get("type") == "finding" and e["pid"] not in own:
            found.append(dict(e, count=1))
    return found


class Result(subprocess.CompletedProcess):
    """What `run` returns: `returncode`, `stdout`, `stderr` and `args` (the
    sockshim command line) as for subprocess.run, and

    - `argv`: the program's argv;
    - `trace`: the trace as written (text or JSON Lines);
    - `events`: the JSON records of every process (call, loop, finding,
      start, summary...; [] for a text trace);
    - `findings`: the audit's findings (dicts with `code`, `message`,
      `sock`, `where`, `count`, `pid`...; None for a text trace).
    """

    def __init__(self, args, returncode, stdout=None, stderr=None, *, argv=(), trace="",
                 events=(), findings=None):
        super().__init__(args, returncode, stdout, stderr)
        self.argv = list(argv)
        self.trace = trace
        self.events = list(events)
        self.findings = findings

    @property
    def calls(self):
        """The call records, in trace order."""
        return [e for e in self.events if e.get("type") == "call"]

    def ops(self, *names):
        """The call records whose op is one of names (all with no names)."""
        return [e for e in self.calls if not names or e.get("op") in names]

    def findings_with(self, code):
        """The findings with this code (docs/findings.md)."""
        if self.findings is None:
            raise SockshimError("findings need a JSON trace: run with format='json'")
        return [f for f in self.findings if f["code"] == code]

    @property
    def codes(self):
        """The set of finding codes of the run."""
        return {f["code"] for f in self.findings or ()}

    def __repr__(self):
        return (f"Result(argv={self.argv!r}, returncode={self.returncode!r}, "
                f"events={len(self.events)}, findings={sorted(self.codes)!r})")


def run(argv, faults=(), seed=None, trace=True, *, format="json", output=None, calls=False,
        strict=False, string_limit=None, methods=None, pcap=None, all_processes=False,
        options=(), sockshim=None, **subprocess_kwargs):
    """Runs argv under sockshim and returns a Result.

    faults: fault rules (docs/faults.md), e.g. ["send:short=1"].
    seed: seed of the rules' p= draws, to replay a run exactly.
    trace: False records no call, only each process's summary (findings).
    format: "json" (events and findings parsed) or "text".
    output: where the trace goes (%p: one file per process); by default a
        temporary file, read and removed.
    calls, strict, string_limit, methods, pcap, all_processes: --calls,
        --strict, -s, -e, --pcap, --all-processes (the records of processes
        that touch no socket, such as a shell around the program); options:
        any other sockshim options.
    sockshim: the command (default: find_command()).
    The other keyword arguments go to subprocess.run (capture_output,
    input, timeout, env, cwd, check...). With check=True, a non-zero exit
    raises subprocess.CalledProcessError once the trace is read.
    """
    check = subprocess_kwargs.pop("check", False)
    with tempfile.TemporaryDirectory(prefix="sockshim-") as scratch:
        where = Path(scratch) / "trace" if output is None else Path(output)
        # sockshim reads a relative -o from the program's directory
        where = Path(subprocess_kwargs.get("cwd") or os.getcwd(), where)
        # per-process files are appended to: those of earlier runs are not this run's
        earlier = set(trace_files(where)) if _output_pattern(where.name)[1] else set()
        cmd = command(argv, faults, seed, trace, output=where, format=format, calls=calls,
                      strict=strict, string_limit=string_limit, methods=methods, pcap=pcap,
                      all_processes=all_processes, options=options, sockshim=sockshim)
        proc = subprocess.run(cmd, **subprocess_kwargs)
        text, events = read_trace(where, format, skip=earlier)
    result = Result(cmd, proc.returncode, proc.stdout, proc.stderr, argv=argv, trace=text,
                    events=events, findings=findings_of(events) if format == "json" else None)
    if check:
        result.check_returncode()
    return result


# ---- a program in the background, its faults changed while it runs ----------


class Running:
    """A program started by start(), running under sockshim with a control
    channel (docs/control.md): its fault rules can be added and removed
    while it runs.

        with sockshim.start(["redis-server", "--port", "6400"]) as server:
            ...                                    # the program is up
            with server.fault("recv:blackhole:port=6400"):
                ...                                # redis is silent here
            ...                                    # and answers again
        result = server.result                     # the whole run's Result
    """

    def __init__(self, popen, argv, cmd, output, format, control, scratch):
        self.popen = popen
        self.argv = argv
        self.args = cmd
        self.output = output
        self.format = format
        self.control = control            # the control socket's path
        self._scratch = scratch
        self.result = None

    @property
    def pid(self):
        """The sockshim command's pid: the run's id for `sockshim ctl`."""
        return self.popen.pid

    def _ask(self, request):
        """Sends one request; returns the reply's lines (SockshimError with
        the message on an 'error' reply)."""
        import socket
        if "\n" in request or "\r" in request:    # the protocol is one line a request
            raise SockshimError(f"a request is one line: {request!r}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            try:
                s.connect(str(self.control))
            except (FileNotFoundError, ConnectionRefusedError) as e:
                raise SockshimError(f"the run has ended ({self.control}: {e.strerror})") \
                    from None
            reply = b""
            try:
                s.sendall(request.encode() + b"\n")
                s.shutdown(socket.SHUT_WR)  # one request: the run answers and closes
                while chunk := s.recv(65536):
                    reply += chunk
            except (ConnectionResetError, BrokenPipeError) as e:
                # the run ended while it had the request (its socket closed)
                raise SockshimError(f"the run has ended ({self.control}: {e.strerror})") \
                    from None
        lines = [l for l in reply.decode(errors="replace").split("\n") if l]
        # an error of several lines: "error-" before each but the last
        errors = [l[len("error "):] for l in lines if l.startswith(("error ", "error-"))]
        if errors:
            raise SockshimError("\n".join(errors))
        if not lines or not (lines[-1] == "ok" or lines[-1].startswith("ok ")):
            raise SockshimError(f"no answer from the run at {self.control}")
        return lines

    def add_fault(self, rule):
        """Adds a rule (docs/faults.md) while the program runs; returns its
        number (#N in the trace). A bad rule raises SockshimError with the
        message the command line would give."""
        return int(self._ask(f"add {rule}")[-1].split()[1])

    def remove(self, number):
        """Removes rule number (as add_fault returned it)."""
        self._ask(f"del {number}")

    def clear(self):
        """Removes every rule."""
        self._ask("clear")

    def rules(self):
        """The rules in force: [(number, text)] in their order."""
        out = []
        for line in self._ask("list")[:-1]:
            number, _, text = line.partition(" ")
            out.append((int(number.lstrip("#")), text))
        return out

    def fault(self, rule):
        """A context manager: the rule is in force inside the with block."""
        import contextlib

        @contextlib.contextmanager
        def window():
            number = self.add_fault(rule)
            try:
                yield number
            finally:
                self.remove(number)
        return window()

    def pause(self):
        """Stops writing calls to the trace (faults, the audit and --pcap go
        on); each process writes "# tracing paused" where it stops."""
        self._ask("pause")

    def resume(self):
        """Writes calls to the trace again."""
        self._ask("resume")

    def stats(self):
        """The live summary (docs/control.md): a dict with "processes" (one
        dict per running process: pid, exe, running_ns, sockets_open,
        sockets_made, methods {name: {calls, errors, faults, bytes,
        time_ns}}, findings {code: count}), "ended" (the processes that
        ended, summed) and "not_counted"."""
        import json
        return json.loads(self._ask("stats json")[0])

    def events(self):
        """The JSON records the run has written so far (complete lines)."""
        return read_trace(self.output, self.format)[1]

    def stop(self, timeout=10):
        """Ends the program (SIGTERM, which the command hands on; SIGKILL
        after timeout seconds) and returns the run's Result."""
        import signal
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout=None):
        """Waits for the program to end; returns the run's Result."""
        if self.result is not None:
            return self.result
        try:
            stdout, stderr = self.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            stdout, stderr = self.popen.communicate()
        text, events = read_trace(self.output, self.format)
        self.result = Result(self.args, self.popen.returncode, stdout, stderr, argv=self.argv,
                             trace=text, events=events,
                             findings=findings_of(events) if self.format == "json" else None)
        if self._scratch is not None:
            self._scratch.cleanup()
        return self.result

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def start(argv, faults=(), seed=None, trace=True, *, format="json", output=None,
          control_dir=None, ready_timeout=10, sockshim=None, options=(), **popen_kwargs):
    """Starts argv under sockshim in the background with a control channel
    and returns a Running handle (add_fault, remove, fault, pause, resume,
    stats, events, stop).
    The arguments are run()'s; control_dir is where the control socket goes
    (default: a private temporary directory). The other keyword arguments go
    to subprocess.Popen (stdout, stderr, env, cwd...)."""
    import time
    scratch = tempfile.TemporaryDirectory(prefix="sockshim-")
    where = Path(scratch.name) / "trace" if output is None else Path(output)
    where = Path(popen_kwargs.get("cwd") or os.getcwd(), where)
    directory = Path(control_dir) if control_dir is not None else Path(scratch.name) / "control"
    cmd = command(argv, faults, seed, trace, output=where, format=format, sockshim=sockshim,
                  options=["--control-dir", str(directory), *options])
    popen = subprocess.Popen(cmd, **popen_kwargs)
    control = directory / f"{popen.pid}.sock"
    deadline = time.monotonic() + ready_timeout
    while not control.exists():
        if popen.poll() is not None or time.monotonic() > deadline:
            popen.kill()
            popen.wait()
            scratch.cleanup()
            raise SockshimError(f"the run did not open its control socket {control}")
        time.sleep(0.01)
    return Running(popen, argv, cmd, where, format, control, scratch)
