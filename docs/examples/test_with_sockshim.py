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
