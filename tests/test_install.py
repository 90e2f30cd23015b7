"""cmake --install into a temporary prefix: the installed command, library,
headers, man page, docs and Python module work from anywhere; the man page
and --help stay in step with the options, rules, findings and environment
variables the code and the docs define."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, PYTHON, ROOT, SOCKSHIM, TIMEOUT, base_env

MAN = shutil.which("man")


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    where = tmp_path_factory.mktemp("prefix")
    proc = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(where)],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return where


def long_options():
    """The long options the command's parser accepts (tools/sockshim/sockshim.c)."""
    source = (ROOT / "tools" / "sockshim" / "sockshim.c").read_text()
    table = source.split("static const struct option long_options[] = {", 1)[1].split("};")[0]
    return re.findall(r'\{"([a-z-]+)",', table)


def finding_codes():
    table = (ROOT / "docs" / "findings.md").read_text()
    return re.findall(r"^\| \[([a-z-]+)\]\(#", table, re.M)


def rule_terms():
    """Every action and filter of the grammar in docs/faults.md."""
    faults = (ROOT / "docs" / "faults.md").read_text()
    grammar = faults.split("## Grammar", 1)[1].split("```", 2)[1]
    terms = sorted(set(re.findall(r"'([a-z]+=?)'", grammar)))
    assert len(terms) >= 15, terms  # the grammar block was found
    return terms


def environment_variables():
    names = set()
    for header in ("shim/common/options.h", "shim/common/rules.h", "tools/sockshim/sockshim.c"):
        names |= set(re.findall(r'"(SOCKSHIM_[A-Z_]+)"', (ROOT / header).read_text()))
    return sorted(names)


def rendered_man(page):
    # not base_env(): groff is not the program under test, and the sanitizer
    # pass's preloaded runtime would judge groff's own code
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    env.pop("LD_PRELOAD", None)
    proc = subprocess.run([MAN, "--warnings", "-l", str(page)], capture_output=True,
                          text=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no groff warning
    return proc.stdout


def test_install_puts_every_part_in_its_place(prefix):
    lib = prefix / "lib" / "libsockshim.so"
    for path in [prefix / "bin" / "sockshim", lib,
                 prefix / "include" / "sockshim" / "ops.h",
                 prefix / "include" / "sockshim" / "findings.h",
                 prefix / "share" / "man" / "man1" / "sockshim.1",
                 prefix / "share" / "doc" / "sockshim" / "faults.md",
                 prefix / "share" / "doc" / "sockshim" / "examples" / "test_with_sockshim.py",
                 prefix / "share" / "sockshim" / "python" / "sockshim" / "__init__.py",
                 prefix / "share" / "sockshim" / "python" / "sockshim" / "pytest_plugin.py"]:
        assert path.is_file(), path
    assert os.access(prefix / "bin" / "sockshim", os.X_OK)
    assert not (prefix / "share" / "doc" / "sockshim" / "sockshim.1").exists()
    # only what a user includes (docs/architecture.md, "Layout")
    assert sorted(p.name for p in (prefix / "include" / "sockshim").iterdir()) == \
        ["findings.h", "ops.h"]


def test_installed_command_runs_from_another_directory_with_its_own_library(prefix, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import os, socket\n"
            "print(os.environ['LD_PRELOAD'])\n"
            "a, b = socket.socketpair(); a.sendall(b'hi'); print(b.recv(2)); a.close(); b.close()\n")
    proc = subprocess.run([str(prefix / "bin" / "sockshim"), "-o", "t.txt", "--", PYTHON, "-c",
                           code], cwd=elsewhere, capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0, proc.stderr
    preloaded, received = proc.stdout.splitlines()
    assert preloaded.split(":")[-1] == str(prefix / "lib" / "libsockshim.so")
    assert received == "b'hi'"
    trace = (elsewhere / "t.txt").read_text()
    assert ".send(b'hi' (2 bytes)) -> 2" in trace


def test_installed_python_module_finds_the_installed_command(prefix, tmp_path):
    proc = subprocess.run([str(prefix / "bin" / "sockshim"), "--python-path"],
                          capture_output=True, text=True, timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip()
    assert path == str(prefix / "share" / "sockshim" / "python")
    # the installed example, run under the installed plugin
    example = prefix / "share" / "doc" / "sockshim" / "examples" / "test_with_sockshim.py"
    env = base_env({"PYTHONPATH": path})
    proc = subprocess.run([PYTHON, "-c", "import sockshim; print(sockshim.find_command())"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert proc.stdout.strip() == str(prefix / "bin" / "sockshim"), proc.stderr
    proc = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "sockshim.pytest_plugin", str(example)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=TIMEOUT * 2, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("4 passed")


@pytest.mark.skipif(MAN is None, reason="man is missing (apt-get install man-db)")
def test_installed_man_page_renders_and_lists_everything(prefix):
    text = rendered_man(prefix / "share" / "man" / "man1" / "sockshim.1")
    assert text.startswith("SOCKSHIM(1)")
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FAULT RULES", "FINDINGS",
                    "ENVIRONMENT", "EXIT STATUS", "EXAMPLES"]:
        assert re.search(rf"^{section}$", text, re.M), section
    flat = " ".join(text.split())
    missing = [f"--{o}" for o in long_options() if f"--{o}" not in flat]
    findings = " ".join(text.split("\nFINDINGS\n", 1)[1].split("\nREPORT\n", 1)[0].split())
    missing += [c for c in finding_codes() if f" {c} " not in findings]
    missing += [t for t in rule_terms() if t not in flat]
    missing += [v for v in environment_variables() if v not in flat]
    assert missing == []
    # every option with an example (but help and version)
    options = text.split("\nOPTIONS\n", 1)[1].split("\nFAULT RULES\n", 1)[0]
    entries = re.split(r"\n       (?=-)", options)
    for entry in entries:
        if "--help" in entry or "--version" in entry:
            continue
        assert "Example: " in " ".join(entry.split()), entry


def test_help_is_short_and_lists_every_option():
    proc = subprocess.run([str(SOCKSHIM), "--help"], capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert len(lines) <= 70
    assert max(len(line) for line in lines) <= 80
    assert [o for o in long_options() if f"--{o}" not in proc.stdout] == []
    assert "man sockshim" in proc.stdout


def test_readme_has_a_row_and_an_example_for_every_option():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("| option | meaning | example |", 1)[1].split("\n\n", 1)[0]
    rows = [re.split(r"(?<!\\)\|", row) for row in table.splitlines()[2:]]
    for option in long_options():
        [row] = [cells for cells in rows if re.search(f"`--{option}[=`]", cells[1])]
        assert "`sockshim " in row[3] or "sockshim --" in row[3], row
