"""Locations a person can read: the function, file and line of a finding
and of a summary row, in the live text trace, in JSON and in `sockshim
report`.

Under the sockshim command the library asks the command (a thread reading
the programs' debug information with libdwfl, docs/architecture.md,
"Locations") once per address; without the command (the library preloaded
by hand) the trace keeps module+offset and `sockshim report` reads the
line offline, opening the module read-only and running nothing, whatever
the trace says. A CPython program's socket(), connect(), bind(), sendto()
and sendmsg() are placed in the Python code that made them.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import (BUILD, PYTHON, ROOT, SANITIZED, SOCKSHIM, base_env, program, run_bare,
                      run_traced)

LIBRARY = BUILD / "libsockshim.so"
SOURCES = ROOT / "tests" / "programs"

# (program, its argument, the function that makes the call, the call as
# written on its line of the source): find_leak's listener is made in
# open_listener(), leaky_pair's leaked connection is accepted in main()
CASES = [
    ("find_leak", "wrong", "open_listener", "int fd = socket(AF_INET, SOCK_STREAM, 0)"),
    ("leaky_pair", "leak", "main", "accept(listener, NULL, NULL)"),
]


def line_of(name, text):
    """The number of the one line of tests/programs/NAME.c holding text."""
    lines = (SOURCES / f"{name}.c").read_text().splitlines()
    [number] = [i + 1 for i, line in enumerate(lines) if text in line]
    return number


def preload_list(*paths):
    first = os.environ.get("SOCKSHIM_TEST_PRELOAD")
    return ":".join(p for p in (first, *paths) if p)


def leak_lines(text):
    """The text trace's leak finding lines and created-by rows."""
    bodies = [line.split("] ", 1)[1] for line in text.splitlines() if "] # " in line]
    return ([b for b in bodies if b.startswith("# finding leak ")],
            [b for b in bodies if re.match(r"# sock\d+  ", b) and "open at exit" in b])


def json_records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


def leak_wheres(records):
    """The where of every leak finding, live and in the summaries."""
    out = [r["where"] for r in records if r["type"] == "finding" and r["code"] == "leak"]
    for r in records:
        if r["type"] == "summary":
            out += [f["where"] for f in r["findings"] if f["code"] == "leak"]
    return out


sanitizer_caller = pytest.mark.skipif(
    SANITIZED, reason="the preloaded sanitizer runtime intercepts accept: it is the caller")


# ---- under the command: function (file:line) ----------------------------------

@sanitizer_caller
@pytest.mark.parametrize("name, arg, function, call", CASES)
def test_live_text_trace_names_function_file_and_line(tmp_path, name, arg, function, call):
    trace = run_traced([program(name), arg], tmp_path, fmt="text", per_pid=True)
    text = "".join(p.read_text() for p in tmp_path.glob("trace.*"))
    place = f"{function} ({name}.c:{line_of(name, call)})"
    findings, rows = leak_lines(text)
    assert trace.proc.returncode == 0
    assert len(findings) == 2                     # the live line and the summary's
    assert all(f.endswith(f" at {place}") or f.endswith(f" at {place} (once)")
               for f in findings), findings
    assert len(rows) == 1 and rows[0].endswith(f"() at {place}"), rows


@sanitizer_caller
@pytest.mark.parametrize("name, arg, function, call", CASES)
def test_json_where_has_function_file_and_line(tmp_path, name, arg, function, call):
    run_traced([program(name), arg], tmp_path, per_pid=True)
    records = [r for p in tmp_path.glob("trace.*") for r in json_records(p)]
    wheres = leak_wheres(records)
    assert len(wheres) == 2
    for w in wheres:
        assert (w["function"], Path(w["file"]).resolve(), w["line"]) == \
            (function, (SOURCES / f"{name}.c").resolve(), line_of(name, call))
        assert w["text"] == f"{function} ({name}.c:{line_of(name, call)})"
        assert w["module"].endswith("/" + name) and w["offset"].startswith("0x")


# ---- without the command: module+offset, and the report reads the line ----------

def bare_trace(tmp_path, name="find_leak", arg="wrong", fmt="json"):
    out = tmp_path / f"bare.{fmt}"
    env = {"LD_PRELOAD": preload_list(str(LIBRARY)), "SOCKSHIM_FORMAT": fmt,
           "SOCKSHIM_OUTPUT": str(out)}
    proc = run_bare([program(name), arg], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return out


@sanitizer_caller
def test_without_the_command_the_trace_keeps_module_and_offset(tmp_path):
    text = bare_trace(tmp_path, fmt="text").read_text()
    findings, rows = leak_lines(text)
    assert len(findings) == 2 and len(rows) == 1
    assert all(re.search(r" at find_leak\+0x[0-9a-f]+( \(once\))?$", f) for f in findings)
    records = json_records(bare_trace(tmp_path))
    for w in leak_wheres(records):
        assert (w["function"], w["file"], w["line"]) == (None, None, None)
        assert w["text"] == f"find_leak+{w['offset']}"


def report(*args, cwd):
    return subprocess.run([str(SOCKSHIM), "report", *map(str, args)], capture_output=True,
                          timeout=60, env=base_env(), cwd=cwd)


@sanitizer_caller
def test_report_reads_the_line_of_a_trace_written_without_the_command(tmp_path):
    trace = bare_trace(tmp_path)
    proc = report(trace, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = line_of("find_leak", "int fd = socket(AF_INET, SOCK_STREAM, 0)")
    source = (SOURCES / "find_leak.c").resolve()
    leaks = [l for l in proc.stdout.decode().splitlines() if l.startswith("  leak ")]
    assert len(leaks) == 1
    assert re.search(rf" at find_leak\+0x[0-9a-f]+ \(open_listener, {re.escape(str(source))}"
                     rf":{line}\)$", leaks[0]), leaks[0]


HOSTILE = [
    ("0x1;touch pwned", None),
    ("0x13c6", "$(touch pwned)"),
    ("0x13c6", "/nonexistent/`touch pwned`;touch pwned"),
    ("0x13c6 ; touch pwned", "/bin/sh"),
    ("0x13c6", "/dev/zero"),
    ("0x13c6", "|touch pwned"),
]


@pytest.mark.parametrize("offset, module", HOSTILE)
def test_report_runs_nothing_a_hostile_where_names(tmp_path, offset, module):
    records = json_records(bare_trace(tmp_path))
    for r in records:
        wheres = [r] if r["type"] == "finding" else \
            r["findings"] + r["sockets"] if r["type"] == "summary" else []
        for w in wheres:
            w["where"]["offset"] = offset
            if module is not None:
                w["where"]["module"] = module
            w["where"]["text"] = "\x1b[31mred\x07\r" + w["where"]["text"]
    hostile = tmp_path / "hostile.json"
    hostile.write_text("".join(json.dumps(r) + "\n" for r in records))
    before = set(os.listdir(tmp_path))
    proc = report(hostile, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert set(os.listdir(tmp_path)) == before        # nothing created: nothing ran
    assert not (Path.cwd() / "pwned").exists()
    out = proc.stdout + proc.stderr
    assert not [b for b in out if b < 0x20 and b != 0x0a], out   # no raw control bytes
    assert b"\\x1b[31mred\\x07\\r" in proc.stdout  # the text trace's escaping


# ---- Python: the script's own line -------------------------------------------------

LEAKY_SCRIPT = '''\
import socket


def fetch(port):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    return s.detach()  # the fd stays open; no socket object will close it


fd = fetch(0)
print("fd", fd)
'''


def test_python_leak_names_the_scripts_file_line_and_function(tmp_path):
    script = tmp_path / "client.py"
    script.write_text(LEAKY_SCRIPT)
    run_traced([PYTHON, str(script)], tmp_path, fmt="text")
    findings, rows = leak_lines((tmp_path / "trace").read_text())
    place = "client.py:5 in fetch()"                 # s = socket.socket()
    assert len(findings) == 2 and len(rows) == 1, (findings, rows)
    assert all(f.endswith(f" at {place}") or f.endswith(f" at {place} (once)")
               for f in findings), findings
    assert rows[0].endswith(f"created by socket() at {place}"), rows


def test_python_where_in_json(tmp_path):
    script = tmp_path / "client.py"
    script.write_text(LEAKY_SCRIPT)
    run_traced([PYTHON, str(script)], tmp_path)
    records = json_records(tmp_path / "trace")
    wheres = leak_wheres(records)
    assert len(wheres) == 2
    for w in wheres:
        assert (w["function"], w["file"], w["line"], w["text"]) == \
            ("fetch", str(script), 5, "client.py:5 in fetch()")
        assert (w["address"], w["module"], w["offset"], w["symbol"]) == (None,) * 4
    # bind's call record is placed too: the summary's bound socket was made at line 5
    binds = [r for r in records if r.get("op") == "bind"]
    assert len(binds) == 1


@sanitizer_caller
def test_report_reads_a_main_program_named_by_a_relative_path(tmp_path):
    # the loader names the main program by its argv[0]: relative to the
    # directory it ran in, where the report is run too
    out = tmp_path / "bare.json"
    env = {"LD_PRELOAD": preload_list(str(LIBRARY)), "SOCKSHIM_FORMAT": "json",
           "SOCKSHIM_OUTPUT": str(out)}
    proc = run_bare(["programs/find_leak", "wrong"], env=env, cwd=BUILD)
    assert proc.returncode == 0, proc.stderr
    assert {w["module"] for w in leak_wheres(json_records(out))} == {"programs/find_leak"}
    proc = report(out, cwd=BUILD)
    line = line_of("find_leak", "int fd = socket(AF_INET, SOCK_STREAM, 0)")
    [leak] = [l for l in proc.stdout.decode().splitlines() if l.startswith("  leak ")]
    assert leak.endswith(f"/find_leak.c:{line})") and "(open_listener, " in leak, leak


@sanitizer_caller
def test_report_adds_nothing_to_a_where_the_command_placed(tmp_path):
    run_traced([program("find_leak"), "wrong"], tmp_path)
    proc = report(tmp_path / "trace", cwd=tmp_path)
    line = line_of("find_leak", "int fd = socket(AF_INET, SOCK_STREAM, 0)")
    [leak] = [l for l in proc.stdout.decode().splitlines() if l.startswith("  leak ")]
    assert leak.endswith(f" (1 time) at open_listener (find_leak.c:{line})"), leak
