"""The audit: findings, the sendall rebuild and the summary, on real programs.

Every finding code has a C program tests/programs/find_*.c that commits it
when run with `wrong` and does the same work correctly when run with
`right` (with no argument it runs `wrong`, for test_programs.py's bare-versus-
traced run of every program); a code may have a second such program, whose
`right` is an idiom the audit once took for the mistake (a variant). Each program prints "fd N", the socket the
finding is about (the shim keeps its own fds out of the program's way, so
the number is the same bare and traced), and makes the offending call from
a function of its own (named in CASES), so a test can check the finding's
socket and, with addr2line, its place. The
programs are built with -g (RelWithDebInfo) but without -rdynamic: the
"where" of a finding names the module and an offset, no symbol, and the
function, file and line the command read from the debug information.

Python scenarios (tests/scenarios/audit_*.py) check that idiomatic CPython
code finds nothing, and that a sendall() through a slow reader is rebuilt
into one sendall line per call. find_summary checks each process's summary
against the call lines.

The audit is shim/model/audit.c; the codes are include/sockshim/findings.h; loops
are rebuilt in shim/record/trace.c.
"""
import os
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, program, run_traced, scenario


# ---- the finding table -------------------------------------------------------

@dataclass(frozen=True)
class Case:
    code: str
    name: str        # tests/programs/NAME.c
    function: str    # the function of NAME that makes the offending call
    count: int       # times `NAME wrong` commits it (all on the one socket)
    options: tuple = ()
    variant: str = ""  # a second program for the code: what its test ids add

    @property
    def id(self):
        return f"{self.code}-{self.variant}" if self.variant else self.code


SHORT_SENDS = ("--fault", "send:short=1")

CASES = [
    # two messages sent with one send() each, both cut short: 9 + 19 bytes lost
    Case("lost-bytes", "find_lost_bytes", "naive_send", 2, SHORT_SENDS),
    # the listener is open when main returns
    Case("leak", "find_leak", "open_listener", 1),
    # two sends on the number of a closed socket
    Case("use-after-close", "find_use_after_close", "send_late", 2),
    # two sends after shutdown(SHUT_WR)
    Case("send-after-shutdown", "find_send_after_shutdown", "send_after_shutdown", 2),
    # three sends without MSG_NOSIGNAL, SIGPIPE at its default
    Case("sigpipe-risk", "find_sigpipe_risk", "send_messages", 3),
    # the same from a second thread; right: that thread blocks SIGPIPE
    Case("sigpipe-risk", "find_sigpipe_blocked", "send_messages", 3, variant="thread"),
    # recv() returns 0 three times: the finding comes with the third
    Case("eof-spin", "find_eof_spin", "read_reply_spinning", 1),
    # two rounds of two small sends and a recv, over TCP, Nagle on
    Case("nagle-small-writes", "find_nagle", "ask", 2),
    # the same on an accepted socket whose listener has Nagle on; right: the
    # listener sets TCP_NODELAY, which the accepted socket inherits
    Case("nagle-small-writes", "find_nagle_accepted", "greet", 2, variant="accepted"),
    # a send after a non-blocking connect, SO_ERROR never read
    Case("unchecked-connect", "find_unchecked_connect", "send_request", 1),
    # listen on a fixed port bound without SO_REUSEADDR
    Case("reuseaddr-missing", "find_reuseaddr", "serve_on", 1),
    # close() of a closed socket's number
    Case("double-close", "find_double_close", "close_again", 1),
]
# Found by these tests (see the reason): a finding on the number of a closed
# socket is recorded anew at each occurrence.
CLOSED_FD_REPEATS = (
    "a finding on a closed socket's fd is never counted: audit.c calls "
    "note_finding(NULL, ...) for it, so each occurrence takes a new record "
    "(and writes a new '# finding' line) with count 1; find_use_after_close "
    "wrong (2 sends on the closed fd) gives 2 records '(once)', not one "
    "'(2 times)'")


def cases(xfail=None):
    """CASES as pytest params named by Case.id; xfail: {id: reason}."""
    xfail = xfail or {}
    return [pytest.param(c, id=c.id,
                         marks=[pytest.mark.xfail(strict=True, reason=xfail[c.id])]
                         if c.id in xfail else [])
            for c in CASES]


# ---- helpers -------------------------------------------------------------------

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """run(argv, fmt="json", options=()) -> Trace; each run happens once
    per module, and must exit 0."""
    cache = {}

    def run_once(argv, fmt="json", options=()):
        key = (tuple(argv), fmt, tuple(options))
        if key not in cache:
            cache[key] = run_traced(list(argv), tmp_path_factory.mktemp("audit"), fmt=fmt,
                                    options=list(options), check_exit=0)
        return cache[key]
    return run_once


def run_case(run, case, mode, fmt="json"):
    return run([program(case.name), mode], fmt=fmt, options=case.options)


def stdout(trace):
    return trace.proc.stdout.decode()


def printed_fd(trace):
    """The "fd N" a find_* program printed: the socket of its finding."""
    return int(re.search(r"^fd (\d+)$", stdout(trace), re.M).group(1))


def records(trace, kind):
    return [e for e in trace.events if e["type"] == kind]


def summary(trace):
    [record] = records(trace, "summary")
    return record


def main_pid(trace):
    """The pid (and tid of the main thread) of the process sockshim started."""
    [start] = records(trace, "start")
    return start["pid"]


def calls(trace, op=None, fd=None):
    return [c for c in trace.calls
            if (op is None or c["op"] == op) and (fd is None or c["fd"] == fd)]


FINDING_RE = re.compile(r"^# finding (?P<code>\S+) sock(?P<fd>\d+): (?P<message>.*) "
                        r"at (?P<where>.+?)(?: \((?P<count>once|\d+ times)\))?$")


def text_findings(trace):
    """The '# finding' lines written as the calls happen (not the summary's)."""
    found = [FINDING_RE.match(l.body) for l in trace.lines
             if l.body.startswith("# finding ")]
    assert all(found)
    return [m.groupdict() for m in found if m["count"] is None]


def text_summary_findings(trace):
    found = [FINDING_RE.match(l.body) for l in trace.lines
             if l.body.startswith("# finding ")]
    return [m.groupdict() for m in found if m and m["count"] is not None]


def times(count):
    return "once" if count == 1 else f"{count} times"


def skip_if_sanitizer_caller(where):
    """In the sanitizer pass ($SOCKSHIM_TEST_PRELOAD) the ASan runtime is
    preloaded in front of the shim and intercepts send, recv...: the shim's
    caller is then the runtime, not the program."""
    preload = os.environ.get("SOCKSHIM_TEST_PRELOAD")
    if preload and where["module"] and Path(where["module"]).resolve() == Path(preload).resolve():
        pytest.skip("the preloaded sanitizer runtime made the call on the program's behalf")


def function_at(path, offset):
    """The function addr2line finds at offset of the executable path."""
    if shutil.which("addr2line") is None:
        pytest.skip("addr2line (binutils) is not installed")
    out = subprocess.run(["addr2line", "-f", "-e", path, offset], capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()[0]


# ---- every finding: committed by `wrong`, absent from `right` ------------------

@pytest.mark.parametrize("case", cases())
def test_wrong_program_commits_only_its_finding(run, case):
    trace = run_case(run, case, "wrong")
    assert {f["code"] for f in records(trace, "finding")} == {case.code}
    assert {f["code"] for f in summary(trace)["findings"]} == {case.code}


@pytest.mark.parametrize("case", cases())
def test_finding_is_about_the_programs_socket(run, case):
    trace = run_case(run, case, "wrong")
    fd = printed_fd(trace)
    assert records(trace, "finding")
    assert {f["fd"] for f in records(trace, "finding")} == {fd}
    assert {f["fd"] for f in summary(trace)["findings"]} == {fd}


@pytest.mark.parametrize("case", cases())
def test_finding_message_is_the_codes(run, case):
    trace = run_case(run, case, "wrong")
    messages = {f["message"] for f in records(trace, "finding") + summary(trace)["findings"]}
    assert len(messages) == 1 and messages.pop() != ""


@pytest.mark.parametrize("case", cases())
def test_json_finding_record_written_once_per_socket(run, case):
    trace = run_case(run, case, "wrong")
    assert len(records(trace, "finding")) == 1


@pytest.mark.parametrize("case", cases())
def test_where_names_the_programs_module(run, case):
    trace = run_case(run, case, "wrong")
    for f in records(trace, "finding") + summary(trace)["findings"]:
        where = f["where"]
        skip_if_sanitizer_caller(where)
        assert where["module"].endswith("/" + case.name)
        assert Path(where["module"]).resolve() == Path(program(case.name)).resolve()
        assert where["symbol"] is None                  # no -rdynamic: nothing exported
        # the command read the line from the program's debug information
        assert where["function"] == case.function
        assert Path(where["file"]).resolve() == (ROOT / "tests" / "programs" / f"{case.name}.c").resolve()
        assert where["text"] == f"{case.function} ({case.name}.c:{where['line']})"


@pytest.mark.parametrize("case", cases())
def test_where_offset_is_in_the_function_that_made_the_call(run, case):
    trace = run_case(run, case, "wrong")
    wheres = [f["where"] for f in records(trace, "finding")]
    assert wheres
    for where in wheres:
        skip_if_sanitizer_caller(where)
    for offset in {where["offset"] for where in wheres}:
        assert function_at(program(case.name), offset) == case.function


@pytest.mark.parametrize("case", cases())
def test_text_finding_line_names_code_socket_and_place(run, case):
    text = run_case(run, case, "wrong", fmt="text")
    first = records(run_case(run, case, "wrong"), "finding")[0]
    found = text_findings(text)
    assert found
    line = found[0]
    assert line["code"] == case.code
    assert int(line["fd"]) == printed_fd(text)
    assert line["message"].startswith(first["message"])
    assert line["where"] == first["where"]["text"]      # same binary, same offset


@pytest.mark.parametrize("case", cases())
def test_text_finding_line_written_once_per_socket(run, case):
    text = run_case(run, case, "wrong", fmt="text")
    assert len(text_findings(text)) == 1


@pytest.mark.parametrize("case", cases())
def test_json_summary_counts_every_occurrence(run, case):
    trace = run_case(run, case, "wrong")
    assert [(f["code"], f["fd"], f["count"]) for f in summary(trace)["findings"]] == \
        [(case.code, printed_fd(trace), case.count)]


@pytest.mark.parametrize("case", cases())
def test_text_summary_counts_every_occurrence(run, case):
    text = run_case(run, case, "wrong", fmt="text")
    assert [(f["code"], int(f["fd"]), f["count"]) for f in text_summary_findings(text)] == \
        [(case.code, printed_fd(text), times(case.count))]


@pytest.mark.parametrize("case", cases())
def test_right_program_does_not_commit_it(run, case):
    trace = run_case(run, case, "right")
    assert case.code not in {f["code"] for f in records(trace, "finding")}
    assert case.code not in {f["code"] for f in summary(trace)["findings"]}
    text = run_case(run, case, "right", fmt="text")
    assert case.code not in {f["code"] for f in text_findings(text)}


@pytest.mark.parametrize("case", cases())
def test_right_program_finds_nothing_at_all(run, case):
    # the twins send with MSG_NOSIGNAL, close everything...: no finding of any code
    trace = run_case(run, case, "right")
    assert records(trace, "finding") == []
    assert summary(trace)["findings"] == []


def test_sigpipe_ignored_is_no_risk(run):
    # signal(SIGPIPE, SIG_IGN), then the same sends with flags 0
    trace = run([program("find_sigpipe_risk"), "ignore"])
    assert records(trace, "finding") == []
    assert summary(trace)["findings"] == []


def test_sigpipe_blocked_in_the_sending_thread_is_no_risk(run):
    # the idiom works: the send to the closed peer fails with EPIPE, the
    # SIGPIPE waits in the thread, sigtimedwait takes it, the program lives
    trace = run([program("find_sigpipe_blocked"), "right"])
    assert stdout(trace).splitlines()[1:] == [
        "sent 3 messages", "send after the peer closed: -1 EPIPE",
        "pending SIGPIPE taken: yes", "peer received 'one two three'"]
    fd = printed_fd(trace)
    sends = calls(trace, "send", fd)
    assert [(c["args"]["flags"], c.get("ret"), c.get("error", {}).get("name"))
            for c in sends] == [("0", 4, None), ("0", 4, None), ("0", 6, None),
                                ("0", None, "EPIPE")]
    assert main_pid(trace) not in {c["tid"] for c in sends}   # the second thread's
    assert records(trace, "finding") == []
    assert summary(trace)["findings"] == []


def test_sigpipe_risk_is_found_in_the_thread_that_does_not_block_it(run):
    # the sender thread blocks SIGPIPE; the main thread, which does not,
    # sends once more on the same socket: that send is the one finding
    trace = run([program("find_sigpipe_blocked"), "mixed"])
    fd = printed_fd(trace)
    pid = main_pid(trace)
    sends = calls(trace, "send", fd)
    assert [c["tid"] != pid for c in sends] == [True, True, True, False]
    [finding] = records(trace, "finding")
    assert (finding["code"], finding["fd"], finding["tid"]) == ("sigpipe-risk", fd, pid)
    skip_if_sanitizer_caller(finding["where"])
    assert function_at(program("find_sigpipe_blocked"),
                       finding["where"]["offset"]) == "send_from_main"
    assert [(f["code"], f["count"]) for f in summary(trace)["findings"]] == \
        [("sigpipe-risk", 1)]


def test_sigpipe_risk_variant_is_found_in_the_sender_thread(run):
    trace = run([program("find_sigpipe_blocked"), "wrong"])
    [finding] = records(trace, "finding")
    assert finding["tid"] != finding["pid"]


# find_nagle_accepted's accepted socket, by mode: the TCP_NODELAY the kernel
# says it has, and the options the summary says it took from its listener.
ACCEPTED_OPTIONS = {
    "wrong": (0, [("SOL_SOCKET", "SO_REUSEADDR", 1)]),
    "right": (1, [("SOL_SOCKET", "SO_REUSEADDR", 1), ("SOL_TCP", "TCP_NODELAY", 1)]),
    "adopted": (1, [("SOL_TCP", "TCP_NODELAY", 1)]),
}


def socket_row(trace, fd):
    [row] = [x for x in summary(trace)["sockets"] if x["fd"] == fd]
    return row


def options_of(row):
    return [(o["level"], o["optname"], o["value"]) for o in row["options"]]


@pytest.mark.parametrize("mode", sorted(ACCEPTED_OPTIONS))
def test_accepted_socket_starts_with_its_listeners_options(run, mode):
    trace = run([program("find_nagle_accepted"), mode])
    nodelay, options = ACCEPTED_OPTIONS[mode]
    assert f"\naccepted TCP_NODELAY: {nodelay}\n" in stdout(trace)
    row = socket_row(trace, printed_fd(trace))
    assert (row["created_by"], options_of(row)) == ("accept", options)


def test_adopted_listener_with_tcp_nodelay_finds_nothing(run):
    # the listener got TCP_NODELAY behind the shim's back: the kernel is
    # asked when the listener is adopted, and its accepted socket inherits it
    trace = run([program("find_nagle_accepted"), "adopted"])
    [listen] = calls(trace, "listen")
    [adoption] = calls(trace, "fromfd")
    assert adoption["fd"] == listen["fd"] and adoption["sock"]["state"] == ["adopted"]
    row = socket_row(trace, listen["fd"])
    assert (row["created_by"], options_of(row)) == ("", [("SOL_TCP", "TCP_NODELAY", 1)])
    assert records(trace, "finding") == []
    assert summary(trace)["findings"] == []


def test_unchecked_connect_program_really_connects_in_the_background(run):
    # the finding needs EINPROGRESS; a connect that completed at once would
    # make the test vacuous
    for mode in ("wrong", "right"):
        trace = run([program("find_unchecked_connect"), mode])
        assert "connect: -1 EINPROGRESS" in stdout(trace)


def test_reuseaddr_program_binds_a_fixed_port(run):
    trace = run([program("find_reuseaddr"), "wrong"])
    fd = printed_fd(trace)
    [bind] = calls(trace, "bind", fd)[-1:]
    assert bind["args"]["addr"]["port"] != 0


# ---- lost-bytes: how many, and the correct loop under short sends ---------------

MESSAGES = [b"0123456789", b"abcdefghijklmnopqrst"]   # find_lost_bytes's two sends


def test_lost_bytes_record_says_the_bytes_never_sent(run):
    trace = run([program("find_lost_bytes"), "wrong"], options=SHORT_SENDS)
    [first] = records(trace, "finding")
    assert first["bytes"] == len(MESSAGES[0]) - 1     # one byte of message 1 went


def test_lost_bytes_summary_adds_up_the_bytes_never_sent(run):
    trace = run([program("find_lost_bytes"), "wrong"], options=SHORT_SENDS)
    received = int(re.search(r"^peer received (\d+) bytes", stdout(trace), re.M).group(1))
    [f] = summary(trace)["findings"]
    assert received == 2
    assert f["bytes"] == sum(map(len, MESSAGES)) - received == 28


def test_lost_bytes_text_says_the_bytes_never_sent(run):
    text = run([program("find_lost_bytes"), "wrong"], fmt="text", options=SHORT_SENDS)
    [line] = text_findings(text)
    assert line["message"].endswith(": 9 bytes never sent")
    [total] = text_summary_findings(text)
    assert total["message"].endswith(": 28 bytes never sent")
    assert total["count"] == "2 times"


def test_sockets_closed_by_close_range_and_closefrom(run):
    """close_range and closefrom close sockets as close() does: a short send
    left unfinished is lost bytes, and each socket is in the summary, closed,
    with the addresses the kernel gave it."""
    trace = run([program("range_close")], options=("--fault", "send:short=5"))
    assert "server got 5 bytes: hello\n" in stdout(trace)
    assert [(f["code"], f["bytes"]) for f in summary(trace)["findings"]] == [("lost-bytes", 7)]
    [lost] = records(trace, "finding")
    [client_close, _] = [e for e in trace.calls if e["op"] == "close_range"]
    assert (lost["code"], lost["fd"]) == ("lost-bytes", client_close["out"]["closed"][0])
    sockets = summary(trace)["sockets"]
    assert sorted(s["created_by"] for s in sockets) == ["accept", "socket", "socket"]
    for s in sockets:
        assert "closed" in s["sock"]["state"] and s["closed"] is not None
        assert s["sock"]["laddr"]["port"] != 0


def test_correct_loop_under_short_sends_is_one_sendall_per_message(run):
    text = run([program("find_lost_bytes"), "right"], fmt="text", options=SHORT_SENDS)
    fd = printed_fd(text)
    # each loop's last send asks for the one byte left: short=1 cuts nothing
    assert [b for b in text.bodies() if b.startswith(f"sock{fd}.send")] == [
        f"sock{fd}.sendall(b'0123456789' (10 bytes), MSG_NOSIGNAL) -> None "
        "[10 sends, 9 faulted: fault #1 short=1]",
        f"sock{fd}.sendall(b'abcdefghijklmnopqrst' (20 bytes), MSG_NOSIGNAL) -> None "
        "[20 sends, 19 faulted: fault #1 short=1]",
    ]
    assert "peer received 30 bytes" in stdout(text)


def test_correct_loop_under_short_sends_keeps_every_send_in_json(run):
    trace = run([program("find_lost_bytes"), "right"], options=SHORT_SENDS)
    loops = records(trace, "loop")
    assert [(l["op"], l["calls"], l["args"]["data"]["len"]) for l in loops] == \
        [("sendall", 10, 10), ("sendall", 20, 20)]
    sends = calls(trace, "send")
    assert Counter(s["loop"] for s in sends) == {l["loop"]: l["calls"] for l in loops}
    assert all(s["ret"] == 1 for s in sends)
    # every send was cut but the last of each loop, which asked for 1 byte
    assert ["fault" in s for s in sends] == [True] * 9 + [False] + [True] * 19 + [False]
    assert [l["faults"] for l in loops] == [9, 19]


def test_chunked_correct_loop_under_short_sends_loses_nothing(run):
    trace = run([program("find_lost_bytes"), "chunked"], options=SHORT_SENDS)
    assert "peer received 30 bytes" in stdout(trace)
    assert "lost-bytes" not in {f["code"] for f in summary(trace)["findings"]}


def test_json_loop_record_counts_its_faulted_sends(run):
    trace = run([program("find_lost_bytes"), "right"], options=SHORT_SENDS)
    faulted = Counter(s["loop"] for s in calls(trace, "send") if "fault" in s)
    assert {l["loop"]: l["faults"] for l in records(trace, "loop")} == faulted


# ---- CPython idioms: nothing to find ---------------------------------------------

SERVERS = ["threading", "plain"]


@pytest.mark.parametrize("server", SERVERS)
def test_cpython_idioms_find_nothing_json(run, server):
    trace = run(scenario("audit_clean_python.py") + [server])
    assert records(trace, "finding") == []
    assert summary(trace)["findings"] == []


@pytest.mark.parametrize("server", SERVERS)
def test_cpython_idioms_find_nothing_text(run, server):
    text = run(scenario("audit_clean_python.py") + [server], fmt="text")
    assert [l.body for l in text.lines if l.body.startswith("# finding")] == []
    [head] = [l.body for l in text.lines if l.body.startswith("# summary of pid")]
    assert head.endswith(" 0 findings")


@pytest.mark.parametrize("server", SERVERS)
def test_cpython_idioms_do_the_work_the_audit_watches(run, server):
    trace = run(scenario("audit_clean_python.py") + [server])
    assert stdout(trace).splitlines() == [
        "b'HELLO\\n'", "b'WORLD\\n'", "100001 True", "rest b''", "done"]
    # a server bound to a fixed port with SO_REUSEADDR (reuseaddr-missing's case)
    [listen] = calls(trace, "listen")
    fd = listen["fd"]
    assert [c["args"]["value"] for c in calls(trace, "setsockopt", fd)
            if c["args"]["optname"] == "SO_REUSEADDR"] == [1]
    assert calls(trace, "bind", fd)[-1]["args"]["addr"]["port"] != 0
    # create_connection(timeout=...): a non-blocking connect (unchecked-connect's case)
    [connect] = calls(trace, "connect_ex")
    assert connect["error"]["name"] == "EINPROGRESS"
    assert calls(trace, "getsockopt", connect["fd"])[0]["args"]["optname"] == "SO_ERROR"


# ---- the sendall rebuild through a slow reader -------------------------------------

SLOW_WRITES = [8 * 1024 * 1024, 1024 * 1024]    # audit_slow_reader.py's two sendall()s


def slow_reader(run, fmt="json", options=()):
    trace = run(scenario("audit_slow_reader.py"), fmt=fmt, options=options)
    assert stdout(trace).endswith(f"received {sum(SLOW_WRITES)} bytes, intact: True\n")
    return trace


SENDALL_RE = re.compile(r"^sock\d+\.sendall\(b'(.)\1*'\.\.\. \((\d+) bytes\)\) -> None "
                        r"\[(\d+) sends\]$")


def test_slow_reader_text_has_one_sendall_line_per_write(run):
    text = slow_reader(run, fmt="text")
    fd = printed_fd(text)
    lines = [b for b in text.bodies() if b.startswith(f"sock{fd}.send")]
    found = [SENDALL_RE.match(b) for b in lines]
    assert all(found), lines
    assert [(m.group(1), int(m.group(2))) for m in found] == \
        [("a", SLOW_WRITES[0]), ("b", SLOW_WRITES[1])]
    assert all(int(m.group(3)) > 1 for m in found)


def test_slow_reader_json_loop_calls_add_up_to_the_sends(run):
    trace = slow_reader(run)
    fd = printed_fd(trace)
    loops = [l for l in records(trace, "loop") if l["fd"] == fd]
    assert [(l["op"], l["args"]["data"]["len"]) for l in loops] == \
        [("sendall", n) for n in SLOW_WRITES]
    sends = calls(trace, "send", fd)
    assert len(sends) > len(loops)
    assert sum(l["calls"] for l in loops) == len(sends)
    assert Counter(s.get("loop") for s in sends) == {l["loop"]: l["calls"] for l in loops}
    moved = defaultdict(int)
    for s in sends:
        moved[s["loop"]] += s.get("ret") or 0
    assert [moved[l["loop"]] for l in loops] == SLOW_WRITES


def test_slow_reader_calls_option_shows_every_send_in_its_loop(run):
    text = slow_reader(run, fmt="text", options=["--calls"])
    fd = printed_fd(text)
    lines = [b for b in text.bodies() if b.startswith(f"sock{fd}.send")]
    assert not any(b.startswith(f"sock{fd}.sendall(") for b in lines)
    loops = [re.search(r" \[loop (\d+)\]", b) for b in lines]
    assert all(loops), [b for b, m in zip(lines, loops) if not m][:3]
    ids = list(dict.fromkeys(m.group(1) for m in loops))
    assert len(ids) == 2
    sizes = [int(re.search(r"\((\d+) bytes\)", b).group(1)) for b in lines]
    firsts = [sizes[[m.group(1) for m in loops].index(i)] for i in ids]
    assert firsts == SLOW_WRITES       # each loop's first send asks for the whole write


def test_slow_reader_finds_nothing(run):
    trace = slow_reader(run)
    assert records(trace, "finding") == []
    assert summary(trace)["findings"] == []


# ---- the summary -------------------------------------------------------------------

# find_summary: listener L, client C, accepted S, socketpair A, B (printed as
# "fds L C S A B"); C sends 5 and receives 12, S the reverse, A sends 100 to B.
SUMMARY_BYTES = {"L": (0, 0), "C": (5, 12), "S": (12, 5), "A": (100, 0), "B": (0, 100)}
TRANSFERS = {"send", "sendto", "sendmsg", "recv", "recvfrom", "recvmsg"}


def summary_fds(trace):
    """{role: fd} from find_summary's "fds L C S A B" line."""
    fds = re.search(r"^fds (\d+) (\d+) (\d+) (\d+) (\d+)$", stdout(trace), re.M).groups()
    return dict(zip("LCSAB", map(int, fds)))


CALL_LINE_RE = re.compile(r"^(?:sock\d+(?:, sock\d+)? = )?(?:sock(?P<fd>\d+)\.)?(?P<op>\w+)\(")
METHOD_ROW_RE = re.compile(r"^# (?P<op>\w+) +(?P<calls>\d+) +(?P<errors>\d+) +(?P<faults>\d+) "
                           r"+(?P<bytes>\d+|-) +\d+\.\d+ m?s$")
SOCKET_ROW_RE = re.compile(r"^# sock(?P<fd>\d+)  \S+  .*  sent (?P<sent>\d+), "
                           r"received (?P<received>\d+), lived ")


def text_call_stats(text):
    """From the text call lines: {op: [calls, errors, bytes]}, {fd: [sent, received]}."""
    methods = defaultdict(lambda: [0, 0, 0])
    sockets = defaultdict(lambda: [0, 0])
    for body in text.bodies():
        m = CALL_LINE_RE.match(body)
        assert m, body
        op = m["op"]
        methods[op][0] += 1
        if " raises " in body:
            methods[op][1] += 1
            continue
        if op.startswith("send"):
            moved = int(re.search(r" -> (\d+)$", body).group(1))
            sockets[int(m["fd"])][0] += moved
        elif op.startswith("recv"):
            moved = int(re.search(r"\((\d+) bytes\)$", body).group(1))
            sockets[int(m["fd"])][1] += moved
        else:
            continue
        methods[op][2] += moved
    return dict(methods), dict(sockets)


def text_method_table(text):
    rows = [METHOD_ROW_RE.match(l.body) for l in text.lines]
    return {m["op"]: [int(m["calls"]), int(m["errors"]),
                      0 if m["bytes"] == "-" else int(m["bytes"])] for m in rows if m}


def text_socket_table(text):
    rows = [SOCKET_ROW_RE.match(l.body) for l in text.lines]
    return [(int(m["fd"]), int(m["sent"]), int(m["received"])) for m in rows if m]


def json_call_stats(trace):
    methods = defaultdict(lambda: [0, 0, 0])
    sockets = defaultdict(lambda: [0, 0])
    for c in trace.calls:
        methods[c["op"]][0] += 1
        if "error" in c:
            methods[c["op"]][1] += 1
        elif c["op"] in TRANSFERS:
            methods[c["op"]][2] += c["ret"]
            sockets[c["fd"]][0 if c["op"].startswith("send") else 1] += c["ret"]
    return dict(methods), dict(sockets)


def test_text_summary_method_table_counts_the_call_lines(run):
    text = run([program("find_summary")], fmt="text")
    methods, _ = text_call_stats(text)
    assert text_method_table(text) == methods
    assert methods["recv"] == [5, 1, 117] and methods["send"] == [3, 0, 117]


def test_text_summary_has_one_row_per_socket_with_its_bytes(run):
    text = run([program("find_summary")], fmt="text")
    fds = summary_fds(text)
    _, moved = text_call_stats(text)
    rows = text_socket_table(text)
    assert sorted(fd for fd, _, _ in rows) == sorted(fds.values())
    by_fd = {fd: (sent, received) for fd, sent, received in rows}
    assert by_fd == {fd: tuple(moved.get(fd, (0, 0))) for fd in fds.values()}
    assert {role: by_fd[fd] for role, fd in fds.items()} == SUMMARY_BYTES


def test_text_summary_header_counts_sockets_and_findings(run):
    text = run([program("find_summary")], fmt="text")
    [head] = [l.body for l in text.lines if l.body.startswith("# summary of pid")]
    assert head.endswith(": 5 sockets, 1 finding")
    assert [(f["code"], int(f["fd"]), f["count"]) for f in text_summary_findings(text)] == \
        [("sigpipe-risk", summary_fds(text)["C"], "once")]


def test_json_summary_matches_the_call_records(run):
    trace = run([program("find_summary")])
    methods, moved = json_call_stats(trace)
    s = summary(trace)
    assert {m["op"]: [m["calls"], m["errors"], m["bytes"]] for m in s["methods"]} == methods
    assert sorted(x["fd"] for x in s["sockets"]) == sorted(summary_fds(trace).values())
    assert {x["fd"]: [x["bytes_sent"], x["bytes_received"]] for x in s["sockets"]} == \
        {fd: moved.get(fd, [0, 0]) for fd in summary_fds(trace).values()}


def test_json_summary_agrees_with_the_text_summary(run):
    trace = run([program("find_summary")])
    text = run([program("find_summary")], fmt="text")
    s = summary(trace)
    assert {m["op"]: [m["calls"], m["errors"], m["bytes"]] for m in s["methods"]} == \
        text_method_table(text)
    assert sorted((x["fd"], x["bytes_sent"], x["bytes_received"]) for x in s["sockets"]) == \
        sorted(text_socket_table(text))
    assert [(f["code"], f["fd"], times(f["count"])) for f in s["findings"]] == \
        [(f["code"], int(f["fd"]), f["count"]) for f in text_summary_findings(text)]


def test_json_summary_names_the_sockets_real_addresses(run):
    trace = run([program("find_summary")])
    fds = summary_fds(trace)
    rows = {x["fd"]: x["sock"] for x in summary(trace)["sockets"]}
    [name] = calls(trace, "getsockname", fds["L"])
    [accept] = calls(trace, "accept", fds["L"])
    assert rows[fds["L"]]["laddr"] == name["out"]["addr"]
    assert rows[fds["C"]]["laddr"] == accept["out"]["addr"]
    assert rows[fds["S"]]["raddr"] == accept["out"]["addr"]


ADDRESS_ROW_RE = re.compile(r"^# sock(?P<fd>\d+)  \S+  (?P<laddr>.*) -> (?P<raddr>.*?)  \S+  "
                            r"sent ")


def test_text_summary_names_the_sockets_real_addresses(run):
    text = run([program("find_summary")], fmt="text")
    fds = summary_fds(text)
    rows = {int(m["fd"]): m for m in map(ADDRESS_ROW_RE.match, (l.body for l in text.lines)) if m}
    bodies = [l.body for l in text.lines]
    [name] = [b.split(" -> ")[1] for b in bodies if b.startswith(f"sock{fds['L']}.getsockname()")]
    [peer] = [re.search(r"\(sock\d+, (.*)\)$", b).group(1) for b in bodies
              if b.startswith(f"sock{fds['L']}.accept()")]
    assert rows[fds["S"]]["raddr"] == peer
    assert rows[fds["L"]]["laddr"] == name
    assert rows[fds["C"]]["laddr"] == peer


SUMMARY_ONLY_BUG = (
    "--summary writes nothing at all: render_line.c's ss_render_summary() returns "
    "unless the trace header was written, and the header is only written with the "
    "first call, loop or finding line, none of which --summary writes; "
    "`sockshim --summary -- build/programs/find_summary` leaves stderr (or -o FILE) empty")


def test_summary_option_writes_only_the_text_summary(run):
    text = run([program("find_summary")], fmt="text", options=["--summary"])
    assert text.bodies() == []                       # no call lines
    assert text_findings(text) == []                 # no per-call finding lines
    full = run([program("find_summary")], fmt="text")
    assert text_method_table(text) == text_method_table(full)
    assert text_socket_table(text) == text_socket_table(full)
    assert len(text_summary_findings(text)) == 1


def test_summary_option_writes_only_the_json_summary(run):
    trace = run([program("find_summary")], options=["--summary"])
    assert {e["type"] for e in trace.events} <= {"start", "summary"}
    assert len(summary(trace)["findings"]) == 1


def test_no_summary_option_writes_no_text_summary(run):
    text = run([program("find_summary")], fmt="text", options=["--no-summary"])
    assert not any(l.body.startswith("# summary of pid") for l in text.lines)
    assert text_method_table(text) == {} and text_socket_table(text) == []
    assert text_summary_findings(text) == []
    assert len(text_findings(text)) == 1              # the per-call line stays
    assert len(text.bodies()) == len(run([program("find_summary")], fmt="text").bodies())


def test_no_summary_option_writes_no_json_summary(run):
    trace = run([program("find_summary")], options=["--no-summary"])
    assert records(trace, "summary") == []
    assert len(records(trace, "finding")) == 1
    assert len(trace.calls) == len(run([program("find_summary")]).calls)
