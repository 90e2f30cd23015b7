"""Secure execution (AT_SECURE): a privileged program the library reaches
ignores every SOCKSHIM_* variable and shows no sign of the library.

glibc preloads a library into a set-user-ID program when LD_PRELOAD names it
by bare name, it lies in a system library directory and is set-user-ID
itself. The test makes that true without changing the machine: in a private
mount namespace (unshare -m) it lays an overlay holding a set-user-ID copy of
libsockshim.so over the system library directory, and runs a set-user-ID
root copy of tests/programs/secure_probe as nobody, next to a plain copy run
the same way. Everything it mounts goes away with the namespace.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, SANITIZED, TIMEOUT, program

LIBDIR = "/usr/lib/x86_64-linux-gnu"

# $W: a fresh directory every user may enter; the rest as named.
SCRIPT = r"""
set -u
mount --make-rprivate / || exit 90
mount -t tmpfs -o mode=755 tmpfs "$W" || exit 90
mkdir "$W/upper" "$W/work" "$W/bin" "$W/out"
cp "$LIB" "$W/upper/libsockshim.so"
chmod 4755 "$W/upper/libsockshim.so"
mount -t overlay overlay -o "lowerdir=$LIBDIR,upperdir=$W/upper,workdir=$W/work" "$LIBDIR" \
    || exit 91
cp "$PROBE" "$W/bin/plain"
cp "$PROBE" "$W/bin/suid"
chmod 4755 "$W/bin/suid"
chown nobody "$W/out"
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env -i LD_PRELOAD=libsockshim.so SOCKSHIM_FAULTS=send:error=EPERM "$@"
}
echo "== plain"
as_nobody SOCKSHIM_OUTPUT="$W/out/plain.txt" "$W/bin/plain" 2>"$W/plain.err"
echo "== plain trace"
cat "$W/out/plain.txt"
echo "== suid"
as_nobody SOCKSHIM_OUTPUT="$W/root-only.txt" "$W/bin/suid" 2>"$W/suid.err"
echo "== suid stderr"
cat "$W/suid.err"
echo "== suid, no SOCKSHIM_OUTPUT"
as_nobody "$W/bin/suid" 2>"$W/suid2.err"
echo "== suid stderr, no SOCKSHIM_OUTPUT"
cat "$W/suid2.err"
echo "== files"
ls "$W"
"""


def sections(text):
    out, name = {}, None
    for line in text.splitlines():
        if line.startswith("== "):
            name = line[3:]
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def test_setuid_program_ignores_sockshim_variables():
    """Guards: getauxval(AT_SECURE) in the library's initialisation
    (shim/core/preload.c): without it the set-user-ID run would create
    root-only.txt as root, fail its send with the injected EPERM, and write
    its trace to nobody's stderr."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a private mount namespace and a set-user-ID file")
    if SANITIZED:
        pytest.skip("a sanitizer build of the library needs its runtime preloaded by "
                    "path, which glibc refuses in secure-execution mode")
    for tool in ("unshare", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing (util-linux)")
    if not os.path.isdir(LIBDIR):
        pytest.skip(f"no {LIBDIR}: the test lays its overlay over that directory")
    work = tempfile.mkdtemp(prefix="sockshim-secure-", dir="/tmp")
    try:
        os.chmod(work, 0o755)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "W": work, "LIBDIR": LIBDIR,
               "LIB": str(BUILD / "libsockshim.so"), "PROBE": program("secure_probe")}
        proc = subprocess.run(["unshare", "-m", "sh", "-c", SCRIPT], capture_output=True,
                              text=True, timeout=TIMEOUT, env=env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if proc.returncode in (90, 91) or "unshare: unshare failed" in proc.stderr:
        pytest.skip("the kernel refused the private mount namespace or the overlay: "
                    + proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    got = sections(proc.stdout)

    # the same program, not set-user-ID: the library loads, traces and faults
    assert got["plain"] == ["shim loaded: yes", "secure execution: no", "send: -1 EPERM",
                            "recv: 0"]
    assert "# sockshim " in got["plain trace"][0] and "/bin/plain'" in got["plain trace"][0]
    assert any("fault #1" in line for line in got["plain trace"])

    # set-user-ID root: loaded all the same, and nothing it does shows it
    for run in ("suid", "suid, no SOCKSHIM_OUTPUT"):
        assert got[run] == ["shim loaded: yes", "secure execution: yes", "send: 4",
                            "recv: 4"], run
    assert got["suid stderr"] == []
    assert got["suid stderr, no SOCKSHIM_OUTPUT"] == []
    assert "root-only.txt" not in got["files"]
