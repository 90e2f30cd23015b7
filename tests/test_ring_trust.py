"""The command does not trust the run's ring (docs/limits.md, "Security
properties"): tests/programs/ring_forge writes, between two socket calls of
its own, a record that claims 1 GiB and a record with a pid the kernel
never gives (2^30 - 1). The
drain drops both, says so, and writes the program's own lines as ever."""
import json

from conftest import PYTHON, SOCKSHIM, TIMEOUT, base_env, program, run_traced
import subprocess

FORGE = program("ring_forge")


def test_forged_records_are_dropped_and_counted(tmp_path):
    trace = run_traced([FORGE], tmp_path, fmt="text", check_exit=0)
    assert trace.proc.stdout == b"forged 2\n"
    assert b"2 malformed ring records dropped: a process of the run wrote into the trace's " \
           b"shared memory" in trace.proc.stderr
    bodies = [l.body for l in trace.lines]
    pid = trace.lines[0].pid
    assert [b for b in bodies if not b.startswith("#")] == ["sock3 = socket(AF_INET, SOCK_STREAM, 0)",
                                                           "sock3.close()"]
    [said] = [l for l in trace.lines if "malformed" in l.body]
    assert said.body == "# 2 malformed ring records dropped" and said.pid != pid
    assert "FORGED" not in trace.raw
    # a length taken on trust would have copied the command's memory out
    assert (tmp_path / "trace").stat().st_size < 4096


def test_a_forged_pid_chooses_no_file(tmp_path):
    out = tmp_path / "t.%p"
    proc = subprocess.run([SOCKSHIM, "-o", str(out), "--", FORGE], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert (proc.returncode, proc.stdout) == (0, b"forged 2\n"), proc.stderr
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 1 and files[0] != f"t.{2**30 - 1}", files
    assert b"malformed ring records dropped" in proc.stderr


def test_json_trace_says_it_in_a_record(tmp_path):
    trace = run_traced([FORGE], tmp_path, fmt="json", check_exit=0)
    [dropped] = [e for e in trace.events if e["type"] == "dropped"]
    assert dropped == {"v": 2, "type": "dropped", "lines": 2,
                       "reason": "malformed ring records"}
    assert [e["op"] for e in trace.calls] == ["socket", "close"]
    for line in (tmp_path / "trace").read_text().splitlines():
        json.loads(line)


def fds_of_exec(tmp_path, keep_env):
    """What /proc/self/fd holds in a program a traced Python process execs,
    with its own environment or a clean one."""
    env = "os.environ" if keep_env else "{'PATH': '/usr/bin:/bin'}"
    code = ("import os, socket\nsocket.socket().close()\n"
            f"os.execve('/bin/ls', ['ls', '-l', '/proc/self/fd/'], {env})")
    trace = run_traced([PYTHON, "-c", code], tmp_path, fmt="text", check_exit=0)
    return trace.proc.stdout.decode()


def test_the_ring_stays_from_a_program_exec_d_with_a_clean_environment(tmp_path):
    """A helper started with a clean environment does not load the library:
    the ring (the whole run's trace, writable) is closed at its exec."""
    listing = fds_of_exec(tmp_path, keep_env=False)
    assert "total" in listing and "sockshim-ring" not in listing, listing


def test_a_traced_program_exec_d_still_joins_the_ring(tmp_path):
    listing = fds_of_exec(tmp_path, keep_env=True)
    assert "memfd:sockshim-ring" in listing, listing
