"""Fault-injection tests of three small clients, with sockshim's pytest plugin.

    PYTHONPATH=$(sockshim --python-path) python3 -m pytest -p sockshim.pytest_plugin \
        docs/examples/test_with_sockshim.py
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_client_retries_three_refused_connects_then_succeeds(sockshim):
    result = sockshim.run([sys.executable, str(HERE / "retry.py")],
                          faults=["connect:error=ECONNREFUSED:when=1..3"],
                          capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "attempt 4 connected"
    connects = result.ops("connect")
    assert [c.get("error", {}).get("name") for c in connects] == ["ECONNREFUSED"] * 3 + [None]
    assert ["fault" in c for c in connects] == [True, True, True, False]


def test_sendall_loses_no_bytes_when_every_send_moves_one_byte(sockshim):
    result = sockshim.run([sys.executable, str(HERE / "sendall.py")],
                          faults=["send:short=1"], capture_output=True, text=True)
    assert result.stdout == "received b'0123456789'\n"
    assert len(result.ops("send")) == 10        # ten real one-byte sends
    assert result.findings_with("lost-bytes") == []


def test_client_retries_two_temporary_name_failures_then_connects(sockshim):
    result = sockshim.run([sys.executable, str(HERE / "resolve_retry.py")],
                          faults=["resolve:error=EAI_AGAIN:when=1..2"],
                          capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "attempt 3 connected"
    lookups = result.ops("getaddrinfo")
    assert [l.get("error", {}).get("name") for l in lookups] == ["EAI_AGAIN"] * 2 + [None]
    assert lookups[-1]["out"]["addresses"][0]["addr"]["host"] == "127.0.0.1"


def test_client_reconnects_after_its_server_goes_away_for_a_second(sockshim, tmp_path):
    """Live control: the program runs under sockshim.start(); inside the
    with block its connection is reset and new connects are refused; after
    it, the client reconnects and its pings go through again."""
    import socket
    import time

    with socket.socket() as s:          # a free port for the example's server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "client.out"
    with open(out, "w") as sink:
        run = sockshim.start([sys.executable, str(HERE / "reconnecting_client.py"), str(port)],
                             stdout=sink)

    def lines():
        return out.read_text().splitlines()

    def wait_until(done):
        deadline = time.monotonic() + 10
        while not done():
            assert time.monotonic() < deadline
            time.sleep(0.05)

    wait_until(lambda: "ok" in lines())
    with run.fault(f"recv:reset:port={port}"), \
            run.fault(f"connect:error=ECONNREFUSED:port={port}"):
        time.sleep(1)
    during = len(lines())
    wait_until(lambda: lines()[-1] == "ok" and len(lines()) > during)
    result = run.stop()
    seen = lines()
    assert "ConnectionResetError" in seen and "ConnectionRefusedError" in seen
    assert seen[-1] == "ok"
    changes = [(r["rule"], r["change"]) for r in result.events if r.get("type") == "rule"]
    # both rules came in, then both went (a process takes changes that come
    # together at once)
    assert [c for _, c in changes] == ["added", "added", "removed", "removed"]
    assert sorted(changes) == [(1, "added"), (1, "removed"), (2, "added"), (2, "removed")]
