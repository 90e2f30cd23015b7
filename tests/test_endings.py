"""A summary for every process, however it ends (docs/limits.md, "Ends of a
process"): exit runs the library's destructor; _exit, _Exit and exec run
none, so their wrappers write the summary first. tests/programs/end_ways
makes a bound TCP socket with SOCK_CLOEXEC (sock3) and a UDP socket
without it (sock4), then ends as told."""
import json
import re
import subprocess

import pytest

from conftest import PYTHON, SOCKSHIM, TIMEOUT, base_env, program, run_traced

END_WAYS = program("end_ways")
STATIC = str(program("static_exit"))


def summary_lines(trace):
    """The bodies of the '# ' lines from the summary header on, per pid."""
    out = {}
    for line in trace.lines:
        if line.body.startswith("# summary of pid") or line.pid in out:
            out.setdefault(line.pid, []).append(line.body)
    return out


def only_summary(trace):
    [(pid, lines)] = summary_lines(trace).items()
    return pid, lines


def rows(lines):
    return {m.group(1): line for line in lines
            for m in [re.match(r"# (sock\d+)  ", line)] if m}


def test_exit_by__exit_writes_summary_and_leaks(tmp_path):
    trace = run_traced([END_WAYS, "_exit"], tmp_path, fmt="text", check_exit=3)
    pid, lines = only_summary(trace)
    assert lines[0] == (f"# summary of pid {pid} '{END_WAYS}', ended by _exit(3): "
                        "2 sockets, 2 findings")
    sockets = rows(lines)
    assert re.match(r"# sock3  AF_INET/SOCK_STREAM  \('127\.0\.0\.1', \d+\) -> None  "
                    r"bound,open at exit  sent 0, received 0, lived [\d.]+ ms, "
                    r"created by socket\(\) at ", sockets["sock3"]), sockets["sock3"]
    assert "  created,open at exit  " in sockets["sock4"], sockets["sock4"]
    leaks = [l for l in lines if l.startswith("# finding leak")]
    assert [l.split(":")[0] for l in leaks] == ["# finding leak sock3", "# finding leak sock4"]
    # the live trace has them too, before the summary
    live = [l.body for l in trace.lines if l.body.startswith("# finding leak")]
    assert len(live) == 4


def test_exit_by__Exit_json_says_how(tmp_path):
    trace = run_traced([END_WAYS, "_Exit"], tmp_path, fmt="json", check_exit=4)
    [summary] = [e for e in trace.events if e["type"] == "summary"]
    assert summary["end"] == {"by": "_exit", "status": 4, "program": None}
    assert [s["at_end"] for s in summary["sockets"]] == ["open", "open"]
    assert [s["closed"] for s in summary["sockets"]] == [None, None]
    assert sorted(f["code"] for f in summary["findings"]) == ["leak", "leak"]


def test_exec_of_a_static_program_writes_summary_first(tmp_path):
    trace = run_traced([END_WAYS, "exec", STATIC], tmp_path, fmt="text", check_exit=0)
    assert trace.proc.stdout == b"static\n"
    pid, lines = only_summary(trace)
    assert lines[0] == (f"# summary of pid {pid} '{END_WAYS}', ended by exec of "
                        f"'{STATIC}': 2 sockets, 0 findings")
    sockets = rows(lines)
    # SOCK_CLOEXEC: the kernel closes it; the other passes to the program
    assert "  bound,closed by exec  " in sockets["sock3"], sockets["sock3"]
    assert "  created,passed on by exec  " in sockets["sock4"], sockets["sock4"]
    assert not [l for l in trace.lines if l.body.startswith("# finding")]


def test_exec_json_rows_say_what_the_exec_did(tmp_path):
    trace = run_traced([END_WAYS, "exec", STATIC], tmp_path, fmt="json", check_exit=0)
    [summary] = [e for e in trace.events if e["type"] == "summary"]
    assert summary["end"] == {"by": "exec", "status": None, "program": STATIC}
    by_fd = {s["fd"]: s for s in summary["sockets"]}
    assert by_fd[3]["at_end"] == "closed_on_exec" and by_fd[3]["closed"] is not None
    assert by_fd[4]["at_end"] == "passed_on_exec" and by_fd[4]["closed"] is None
    assert summary["findings"] == []


def test_failed_exec_says_so_and_the_process_goes_on(tmp_path):
    trace = run_traced([END_WAYS, "execfail", "/nonexistent/prog"], tmp_path, fmt="text",
                       check_exit=0)
    assert trace.proc.stdout == b"exec: ENOENT\n"
    [pid] = {l.pid for l in trace.lines}
    bodies = [l.body for l in trace.lines]
    first = bodies.index(f"# summary of pid {pid} '{END_WAYS}', ended by exec of "
                         "'/nonexistent/prog': 2 sockets, 0 findings")
    failed = bodies.index("# exec of '/nonexistent/prog' raises error(2, 'No such file or "
                          f"directory'): pid {pid} goes on, and writes its summary again "
                          "when it ends")
    last = bodies.index(f"# summary of pid {pid} '{END_WAYS}': 2 sockets, 0 findings")
    assert first < failed < bodies.index("sock3.close()") < last
    # the final summary lists each socket once, closed by the program
    final = rows(bodies[last:])
    assert len([b for b in bodies[last:] if re.match(r"# sock\d", b)]) == 2
    assert "  closed  " in final["sock3"] and "  closed  " in final["sock4"]


def test_failed_exec_json(tmp_path):
    trace = run_traced([END_WAYS, "execfail", "/nonexistent/prog"], tmp_path, fmt="json",
                       check_exit=0)
    kinds = [e["type"] for e in trace.events if e["type"] in ("summary", "exec_failed")]
    assert kinds == ["summary", "exec_failed", "summary"]
    [failed] = [e for e in trace.events if e["type"] == "exec_failed"]
    assert failed["program"] == "/nonexistent/prog"
    assert failed["error"] == {"errno": 2, "name": "ENOENT",
                               "message": "No such file or directory"}
    last = [e for e in trace.events if e["type"] == "summary"][-1]
    assert last["end"] == {"by": "exit", "status": None, "program": None}
    assert [s["at_end"] for s in last["sockets"]] == ["closed", "closed"]


# ---- ends the process has no part in: the command writes the summary -----

KILLED_HEADER = ("# summary of pid {pid} '{exe}', {how} (written by sockshim: the process ran "
                 "no code at its end): 2 sockets open, 2 findings")


def command_summary(trace, how):
    pid, lines = only_summary(trace)
    assert lines[0] == KILLED_HEADER.format(pid=pid, exe=END_WAYS, how=how)
    sockets = rows(lines)
    # the command names the line, from the program's debug information
    assert re.fullmatch(r"# sock3  AF_INET/SOCK_STREAM  open at its end, created by socket\(\) "
                        r"at main \(end_ways\.c:\d+\)", sockets["sock3"]), sockets["sock3"]
    assert re.fullmatch(r"# sock4  AF_INET/SOCK_DGRAM  open at its end, created by socket\(\) "
                        r"at main \(end_ways\.c:\d+\)", sockets["sock4"]), sockets["sock4"]
    assert [l.split(":")[0] for l in lines[3:]] == ["# finding leak sock3",
                                                     "# finding leak sock4"]
    return sockets


@pytest.mark.parametrize("how, status, signal", [("kill", -9, "SIGKILL"),
                                                 ("segv", -11, "SIGSEGV")])
def test_killed_process_gets_its_summary_from_the_command(tmp_path, how, status, signal):
    trace = run_traced([END_WAYS, how], tmp_path, fmt="text")
    assert trace.proc.returncode == 128 - status
    sockets = command_summary(trace, f"killed by {signal}")
    # where each socket was made is the library's own "where" for it: the
    # same as a leak at _exit names
    (tmp_path / "x").mkdir()
    exited = run_traced([END_WAYS, "_exit"], tmp_path / "x", fmt="text", check_exit=3)
    assert rows(only_summary(exited)[1])["sock4"].endswith(sockets["sock4"].split(" at ")[-1])


def test_killed_process_json_summary(tmp_path):
    trace = run_traced([END_WAYS, "kill"], tmp_path, fmt="json")
    assert trace.proc.returncode == 137
    findings = [e for e in trace.events if e["type"] == "finding"]
    [summary] = [e for e in trace.events if e["type"] == "summary"]
    assert summary["end"] == {"by": "signal", "status": None, "program": None,
                              "signal": "SIGKILL", "core_dumped": False}
    assert summary["written_by"] == "sockshim"
    assert summary["exe"] == str(END_WAYS)
    assert [(s["fd"], s["sock"]["type"], s["at_end"], s["created_by"])
            for s in summary["sockets"]] == [(3, "SOCK_STREAM", "open", "socket"),
                                             (4, "SOCK_DGRAM", "open", "socket")]
    assert [(f["code"], f["fd"]) for f in findings] == [("leak", 3), ("leak", 4)]
    assert all(f["where"]["module"] == str(END_WAYS) for f in findings)
    assert [(f["where"]["function"], f["where"]["file"].endswith("end_ways.c"))
            for f in findings] == [("main", True), ("main", True)]
    assert [f["where"] for f in findings] == [s["where"] for s in summary["sockets"]]


def test_killed_process_summary_under_the_jsonl_spelling_is_json(tmp_path):
    """--format jsonl is --format json: the command's own summary too."""
    out = tmp_path / "trace"
    proc = subprocess.run([str(SOCKSHIM), "--format", "jsonl", "-o", str(out), "--",
                           str(END_WAYS), "kill"], capture_output=True, timeout=TIMEOUT,
                          env=base_env())
    assert proc.returncode == 137, proc.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    [summary] = [r for r in records if r["type"] == "summary"]
    assert summary["written_by"] == "sockshim"
    assert [r["code"] for r in records if r["type"] == "finding"] == ["leak", "leak"]


def test_killed_process_json_strings_are_written_as_the_library_writes_them(tmp_path):
    """A name that is not UTF-8 (argv[0] through a symlink named so): the
    command's summary writes it as the library's start record does, U+FFFD
    for the bad byte and the exact bytes in exe_hex, and report reads both."""
    link = tmp_path / "end\udcffways"
    link.symlink_to(END_WAYS)
    trace = run_traced([bytes(link), "kill"], tmp_path, fmt="json")
    assert trace.proc.returncode == 137
    [start] = [e for e in trace.events if e["type"] == "start"]
    [summary] = [e for e in trace.events if e["type"] == "summary"]
    assert summary["written_by"] == "sockshim"
    for record in (start, summary):
        assert record["exe"] == f"{tmp_path}/end\ufffdways", record
        assert bytes.fromhex(record["exe_hex"]) == bytes(link)
    proc = subprocess.run([SOCKSHIM, "report", str(tmp_path / "trace")], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0, proc.stderr
    assert f"{tmp_path}/end\\udcffways (parent " in proc.stdout.decode()


def test_killed_child_of_a_forking_program(tmp_path):
    """A process the command did not start: killed while its parent waits.
    How it ended is known when the command saw it as a zombie, before its
    parent reaped it; otherwise the summary says it is not known."""
    code = ("import os, signal, socket, time\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "time.sleep(0.3)\n"   # the command looks every 100 ms: a zombie first
            "os.waitpid(pid, 0)\n")
    trace = run_traced([PYTHON, "-c", code], tmp_path, fmt="text", check_exit=0)
    # the parent touched no socket: quiet
    [(child, lines)] = summary_lines(trace).items()
    assert {l.pid for l in trace.lines} == {child}, trace.raw
    by_pid = {child: lines}
    assert re.fullmatch(
        rf"# summary of pid {child} '{re.escape(PYTHON)}', (killed by SIGKILL|ended \(how: "
        r"not known, its parent reaped it\)) \(written by sockshim: the process ran no code at "
        r"its end\): 1 socket open, 1 finding", by_pid[child][0]), by_pid[child][0]
    assert re.fullmatch(r"# sock3  AF_INET/SOCK_DGRAM  open at its end, created by socket\(\) "
                        r"at .+", by_pid[child][1])


def test_without_a_trace_file_a_killed_process_writes_nothing_more(tmp_path):
    """No -o: each process writes its own lines to stderr, there is no ring,
    and no one is left to write a killed process's summary (docs/limits.md)."""
    proc = subprocess.run([SOCKSHIM, "--", END_WAYS, "kill"], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 137
    assert b"sock4 = socket(AF_INET, SOCK_DGRAM, 0)" in proc.stderr
    assert b"summary" not in proc.stderr


def test_report_reads_the_commands_summary(tmp_path):
    trace = run_traced([END_WAYS, "kill"], tmp_path, fmt="json")
    assert trace.proc.returncode == 137
    report = subprocess.run([SOCKSHIM, "report", str(tmp_path / "trace")], capture_output=True,
                            timeout=TIMEOUT, env=base_env())
    assert report.returncode == 0, report.stderr
    found = [l for l in report.stdout.decode().splitlines() if l.startswith("  leak ")]
    assert len(found) == 2, report.stdout.decode()


def test_python_os__exit_keeps_the_summary_and_the_leak(tmp_path):
    """The case as a user meets it: a Python program that leaves through
    os._exit (as forked workers do)."""
    code = ("import socket, os\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\n"
            "os._exit(0)")
    trace = run_traced([PYTHON, "-c", code], tmp_path, fmt="text", check_exit=0)
    pid, lines = only_summary(trace)
    assert lines[0] == (f"# summary of pid {pid} '{PYTHON}', ended by _exit(0): "
                        "1 socket, 1 finding")
    assert "  bound,open at exit  " in rows(lines)["sock3"]
    assert lines[-1].startswith("# finding leak sock3: a socket created here was never closed")
