"""pytest plugin: a `sockshim` fixture that runs programs under sockshim.

Enable it with `-p sockshim.pytest_plugin` on the pytest command line, or
`pytest_plugins = ["sockshim.pytest_plugin"]` in a conftest.py, with
`sockshim --python-path` on PYTHONPATH.

    def test_client_survives_short_sends(sockshim):
        result = sockshim.run(["./client"], faults=["send:short=1"], capture_output=True)
        assert result.returncode == 0
        assert result.findings_with("lost-bytes") == []

The fixture's run() is sockshim.run() with the trace kept in the test's
tmp_path (sockshim-1.trace, sockshim-2.trace...), so that a failing test
leaves it to read; the traces of the test's runs are listed in its report
when it fails.
"""
import pytest

import sockshim as _sockshim


class Runner:
    """The fixture: run() as sockshim.run(), traces kept in tmp_path."""

    def __init__(self, directory):
        self.directory = directory
        self.runs = []
        self.started = []

    def output_for(self, per_process=False, format="json"):
        """A fresh trace path in the test's directory."""
        suffix = "jsonl" if format == "json" else "txt"
        n = len(self.runs) + 1
        name = f"sockshim-{n}.%p.{suffix}" if per_process else f"sockshim-{n}.{suffix}"
        return self.directory / name

    def run(self, argv, faults=(), seed=None, trace=True, *, per_process=False, **kwargs):
        """sockshim.run(); per_process=True writes one trace file a process."""
        if kwargs.get("output") is None:
            kwargs["output"] = self.output_for(per_process, kwargs.get("format", "json"))
        self.runs.append(kwargs["output"])
        return _sockshim.run(argv, faults, seed, trace, **kwargs)

    __call__ = run

    def start(self, argv, faults=(), seed=None, trace=True, **kwargs):
        """sockshim.start(): the program in the background, its faults
        changed while it runs; stopped when the test ends if still running."""
        if kwargs.get("output") is None:
            kwargs["output"] = self.output_for(False, kwargs.get("format", "json"))
        self.runs.append(kwargs["output"])
        running = _sockshim.start(argv, faults, seed, trace, **kwargs)
        self.started.append(running)
        return running

    def stop_all(self):
        for running in self.started:
            running.stop()

    def command(self, argv, faults=(), seed=None, trace=True, **kwargs):
        """sockshim.command(), with a fresh trace path when none is given."""
        if kwargs.get("output") is None:
            kwargs["output"] = self.output_for(False, kwargs.get("format", "json"))
        self.runs.append(kwargs["output"])
        return _sockshim.command(argv, faults, seed, trace, **kwargs)


@pytest.fixture
def sockshim(tmp_path, request):
    runner = Runner(tmp_path)
    request.node._sockshim_runner = runner
    yield runner
    runner.stop_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    runner = getattr(item, "_sockshim_runner", None)
    if runner is not None and report.failed and runner.runs:
        report.sections.append(("sockshim traces",
                                "\n".join(str(path) for path in runner.runs)))
