"""The Python API (python/sockshim): sockshim.run, Result, the pytest plugin.

The rest of the suite runs its programs through this API too (conftest's
run_traced); these tests pin down what the API itself promises.
"""
import os
import signal
import subprocess
import textwrap

import pytest

from conftest import (BUILD, PYTHON, ROOT, SOCKSHIM, TIMEOUT, base_env, program, scenario,
                      sockshim)


def api_run(argv, **kwargs):
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("env", base_env())
    return sockshim.run(argv, sockshim=SOCKSHIM, **kwargs)


def python_path():
    proc = subprocess.run([str(SOCKSHIM), "--python-path"], capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def run_pytest(args, cwd):
    """pytest in a child, with the plugin and the module from --python-path."""
    env = base_env({"PYTHONPATH": python_path()})
    return subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "sockshim.pytest_plugin", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT * 2, env=env)


def test_python_path_is_the_directory_holding_the_module():
    path = python_path()
    assert os.path.isfile(os.path.join(path, "sockshim", "__init__.py"))
    assert os.path.isfile(os.path.join(path, "sockshim", "pytest_plugin.py"))


def test_the_documented_example_passes_under_the_plugin(tmp_path):
    """docs/examples/test_with_sockshim.py, as docs/python.md runs it."""
    proc = run_pytest([str(ROOT / "docs" / "examples" / "test_with_sockshim.py")], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("4 passed")


def test_a_failing_test_names_its_traces(tmp_path):
    (tmp_path / "test_fails.py").write_text(textwrap.dedent(f"""\
        def test_fails(sockshim):
            result = sockshim.run([{program("find_lost_bytes")!r}],
                                  faults=["send:short=1"], capture_output=True)
            assert result.findings_with("lost-bytes") == []
        """))
    proc = run_pytest(["test_fails.py"], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    section = proc.stdout.split("sockshim traces", 1)[1].splitlines()
    trace = section[1].strip()
    assert trace.endswith("/sockshim-1.jsonl")
    assert os.path.getsize(trace) > 0  # kept, to read


def test_result_is_a_completed_process_with_events_and_findings():
    result = api_run([program("find_lost_bytes")], faults=["send:short=1"], text=True)
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "peer received 2 bytes: '0a'"
    assert result.argv == [program("find_lost_bytes")]
    assert result.args[0] == str(SOCKSHIM) and "--fault" in result.args
    [start] = [e for e in result.events if e["type"] == "start"]
    assert {e["pid"] for e in result.events} == {start["pid"]}
    assert [c["op"] for c in result.calls] == ["socketpair", "send", "send", "close",
                                               "recv", "recv", "close"]
    lost = result.findings_with("lost-bytes")
    assert [(f["count"], f["pid"]) for f in lost] == [(2, start["pid"])]
    assert result.codes == {"lost-bytes"}


def test_the_fixed_program_has_no_lost_bytes():
    result = api_run([program("find_lost_bytes"), "right"], faults=["send:short=1"], text=True)
    assert result.returncode == 0
    assert result.findings_with("lost-bytes") == []
    assert len(result.ops("send")) == 30  # one byte each


def test_events_of_every_process_one_file_or_one_per_process(tmp_path):
    one = api_run(scenario("forking_server.py"))
    assert one.returncode == 0, one.stderr
    starts = [e for e in one.events if e["type"] == "start"]
    assert len(starts) == 2
    parent, child = sorted(starts, key=lambda e: e["ppid"] == starts[0]["pid"])
    assert child["ppid"] == parent["pid"]
    assert {e["pid"] for e in one.calls} == {parent["pid"], child["pid"]}

    split = api_run(scenario("forking_server.py"), output=tmp_path / "t.%p.jsonl")
    assert split.returncode == 0, split.stderr
    files = sockshim.trace_files(tmp_path / "t.%p.jsonl")
    assert len(files) == 2
    assert sorted(e["pid"] for e in split.events if e["type"] == "start") == \
        sorted(int(f.name.split(".")[1]) for f in files)


def test_findings_of_a_killed_process_come_from_its_finding_records():
    code = ("import os, signal, socket\n"
            "a, b = socket.socketpair()\n"
            "a.send(b'0123456789')\n"            # one byte goes: 9 lost
            "a.send(b'x')\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    result = api_run([PYTHON, "-c", code], faults=["send:short=1:when=1"])
    assert result.returncode == 128 + signal.SIGKILL
    # the command's summary of it knows only the sockets left open
    [summary] = [e for e in result.events if e["type"] == "summary"]
    assert summary["written_by"] == "sockshim"
    [lost] = result.findings_with("lost-bytes")
    assert (lost["bytes"], lost["count"]) == (9, 1)
    assert sorted(f["fd"] for f in result.findings_with("leak")) == [3, 4]


def test_trace_false_keeps_the_findings_without_the_calls():
    result = api_run([program("find_lost_bytes")], faults=["send:short=1"], trace=False)
    assert result.calls == []
    assert [e["type"] for e in result.events] == ["start", "summary"]
    assert result.codes == {"lost-bytes"}


def test_all_processes_keeps_the_records_of_a_shell_that_touches_no_socket():
    argv = [PYTHON, "-c", "import os\npid = os.fork()\npid or os._exit(0)\nos.waitpid(pid, 0)"]
    assert api_run(argv).events == []
    result = api_run(argv, all_processes=True)
    assert result.args[-5:-3] == ["--all-processes", "--"]
    assert [(e["type"], e.get("op")) for e in result.events] == [
        ("start", None), ("call", "fork"), ("summary", None)]


def test_the_same_seed_replays_the_same_draws():
    def faulted(seed):
        result = api_run(scenario("fault_sends.py") + ["40"], faults=["send:short=1:p=0.5"], seed=seed)
        assert result.returncode == 0, result.stderr
        return ["fault" in c for c in result.ops("send")]
    first = faulted(7)
    assert True in first and False in first
    assert faulted(7) == first


def test_text_format_keeps_the_text_and_has_no_findings():
    result = api_run([program("find_lost_bytes")], faults=["send:short=1"], format="text")
    assert result.events == [] and result.findings is None
    assert "= socketpair(AF_UNIX, SOCK_STREAM, 0)" in result.trace
    assert "# finding lost-bytes" in result.trace
    with pytest.raises(sockshim.SockshimError, match="JSON"):
        result.findings_with("lost-bytes")


def test_check_raises_after_reading_the_trace():
    with pytest.raises(subprocess.CalledProcessError) as raised:
        api_run([program("naive_client"), "1", "10"], check=True)
    assert raised.value.returncode == 1


def test_a_bad_rule_is_sockshims_refusal_with_status_2():
    result = api_run(["/bin/true"], faults=["send:shortt=1"], text=True)
    assert result.returncode == 2
    assert "'shortt'" in result.stderr
    assert result.events == []


@pytest.mark.parametrize("argv, message", [
    ("/bin/true", "a list of arguments"),
    ([], "no program"),
])
def test_bad_argv_is_refused_before_anything_runs(argv, message):
    with pytest.raises(sockshim.SockshimError, match=message):
        sockshim.run(argv)


def test_bad_format_is_refused():
    with pytest.raises(sockshim.SockshimError, match="'xml'"):
        sockshim.run(["/bin/true"], format="xml")


def test_the_command_is_found_beside_the_module_or_from_the_environment(monkeypatch):
    monkeypatch.delenv("SOCKSHIM_COMMAND", raising=False)
    assert sockshim.find_command() == str(BUILD / "sockshim")
    monkeypatch.setenv("SOCKSHIM_COMMAND", "/opt/elsewhere/sockshim")
    assert sockshim.find_command() == "/opt/elsewhere/sockshim"


def test_output_paths_as_sockshim_reads_them(tmp_path):
    """A relative output is the program's directory's (cwd=), %% is a
    percent sign, and a second run with %p reads only its own files."""
    work = tmp_path / "work"
    work.mkdir()
    argv = [program("find_lost_bytes")]
    relative = api_run(argv, output="t.jsonl", cwd=work)
    assert (work / "t.jsonl").exists() and relative.calls
    percent = api_run(argv, output=tmp_path / "t100%%.jsonl")
    assert (tmp_path / "t100%.jsonl").exists() and percent.calls
    literal = api_run(argv, output=tmp_path / "x%%p.jsonl")
    assert (tmp_path / "x%p.jsonl").exists() and literal.calls
    first = api_run(argv, output=tmp_path / "p.%p.jsonl")
    second = api_run(argv, output=tmp_path / "p.%p.jsonl")
    assert len(sockshim.trace_files(tmp_path / "p.%p.jsonl")) == 2
    for result in (first, second):
        assert len([e for e in result.events if e["type"] == "start"]) == 1
    assert first.events[0]["pid"] != second.events[0]["pid"]
