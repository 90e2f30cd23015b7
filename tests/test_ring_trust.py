"""The command does not trust the run's ring (docs/limits.md, "Security
properties"): tests/programs/ring_forge writes, between two socket calls of
its own, a record that claims 1 GiB and a record with a pid the kernel
never gives (2^30 - 1). The
drain drops both, says so, and writes the program's own lines as ever."""
import json

import pytest

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


def fds_of_spawned(tmp_path, how):
    """What /proc/self/fd holds in `ls`, started by a traced Python process
    through a call where glibc execs out of the library's sight."""
    start = {
        "posix_spawn": "os.waitpid(os.posix_spawn('/bin/ls', LS, {'PATH': '/usr/bin:/bin'}), 0)",
        "system": "os.environ.pop('LD_PRELOAD'); os.system(' '.join(LS))",
        "popen": "os.environ.pop('LD_PRELOAD'); print(os.popen(' '.join(LS)).read(), end='')",
    }[how]
    code = ("import os, socket\nsocket.socket().close()\n"
            f"LS = ['ls', '-l', '/proc/self/fd/']\n{start}\n")
    trace = run_traced([PYTHON, "-c", code], tmp_path, fmt="text", check_exit=0)
    return trace.proc.stdout.decode()


@pytest.mark.parametrize("how", ["posix_spawn", "system", "popen"])
def test_no_shared_memory_reaches_a_program_started_out_of_sight(tmp_path, how):
    """The run's ring and place box are close-on-exec in every process of
    the run (shim/core/share.h): an untraced program started by posix_spawn,
    system or popen, whose exec the library never sees, has neither."""
    listing = fds_of_spawned(tmp_path, how)
    assert "total" in listing, listing
    assert "sockshim-ring" not in listing and "sockshim-places" not in listing, listing


def test_a_traced_program_started_out_of_sight_finds_the_ring(tmp_path):
    """A program posix_spawn starts with the run's environment did not
    inherit the ring; the library opens the command's copy and the child's
    lines are in the trace, its summary named in its place box."""
    child = "import socket; socket.socket().close()"
    code = ("import os, socket, sys\nsocket.socket().close()\n"
            f"pid = os.posix_spawn(sys.executable, [sys.executable, '-c', {child!r}], os.environ)\n"
            "print(pid, flush=True)\nos.waitpid(pid, 0)\n")
    trace = run_traced([PYTHON, "-c", code], tmp_path, fmt="text", check_exit=0)
    pid = int(trace.proc.stdout)
    mine = [l.body for l in trace.lines if l.pid == pid]
    assert [b for b in mine if not b.startswith("#")] == [
        "sock3 = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)", "sock3.close()"]
    [row] = [b for b in mine if b.startswith("# sock3 ")]
    assert row.endswith("created by socket() at <string>:1 in <module>()"), row
