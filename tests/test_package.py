"""The Debian package: `cpack -G DEB` from a scratch build directory
(RelWithDebInfo, CMAKE_INSTALL_PREFIX=/usr), as the README builds it.

What it covers:
- the control fields (`dpkg-deb -f`): name, the project's version, dpkg's
  architecture, section, a maintainer, no homepage; Depends computed by
  dpkg-shlibdeps names libc6, libjansson4 and libdw1 (the command's
  locations) and nothing Python; python3 and
  python3-pytest are only suggested (the command itself runs no Python);
- the contents (`dpkg-deb -c`): everything under /usr, owned by root, the
  command in /usr/bin, the library in /usr/lib/<multiarch>, the man page,
  the docs with the copyright file, the Python module; exactly the files
  `cmake --install` puts under DESTDIR with the prefix /usr, so the
  package and the install rules cannot drift apart;
- the installed tree working: `dpkg-deb -x` into a temporary root, then the
  extracted /usr/bin/sockshim, run from another directory, preloads the
  extracted library (found relative to itself, as in /usr) and traces a
  Python socket; `--python-path` names the extracted module;
- apt accepting the package: `apt-get install --simulate ./sockshim_*.deb`
  resolves its dependencies against this machine's packages (nothing is
  installed).

What it cannot cover: a real `apt-get install` on a clean Debian 12, which
needs root, a chroot and a download of the base system (by hand: debootstrap
--variant=minbase bookworm, then `apt-get install ./sockshim_*.deb` in the
chroot, which fetches libjansson4; sockshim then traces a program there and
`apt-get remove` takes it away); the maintainer scripts (postinst and postrm
only run ldconfig); the library found through the real /usr/lib rather than a
copy of it.

It skips when cmake, cpack or dpkg-deb is missing (tools/check installs
dpkg-dev, which brings dpkg-shlibdeps), and in the sanitizer passes: the
package is built from the sources, not from the build under test, so a
second run would check the same thing.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import PYTHON, ROOT, SANITIZED, TIMEOUT, base_env

CMAKE = shutil.which("cmake")
CPACK = shutil.which("cpack")
DPKG_DEB = shutil.which("dpkg-deb")
DPKG_SHLIBDEPS = shutil.which("dpkg-shlibdeps")

pytestmark = [
    pytest.mark.skipif(SANITIZED, reason="the package is built from the sources, not the build "
                       "under test; the normal pass checks it"),
    pytest.mark.skipif(CMAKE is None or CPACK is None,
                       reason="cmake or cpack is missing (apt-get install cmake)"),
    pytest.mark.skipif(DPKG_DEB is None, reason="dpkg-deb is missing (apt-get install dpkg)"),
]

BUILD_TIMEOUT = 900


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(sockshim VERSION ([0-9.]+)", text).group(1)


def tool_env():
    """The environment of cmake, cpack and dpkg: no preload, no SOCKSHIM_*."""
    env = base_env()
    env.pop("LD_PRELOAD", None)
    return env


def run(argv, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, env=tool_env(), **kwargs)
    assert proc.returncode == 0, f"{argv}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """(the .deb, its build directory), built as the README says."""
    if DPKG_SHLIBDEPS is None:
        pytest.skip("dpkg-shlibdeps is missing (apt-get install dpkg-dev): without it "
                    "the package's Depends line is not computed")
    build = tmp_path_factory.mktemp("package-build")
    run([CMAKE, "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
         "-DCMAKE_INSTALL_PREFIX=/usr"], timeout=BUILD_TIMEOUT)
    run([CMAKE, "--build", str(build), f"-j{os.cpu_count() or 1}"], timeout=BUILD_TIMEOUT)
    run([CPACK, "-G", "DEB"], cwd=build, timeout=BUILD_TIMEOUT)
    debs = sorted(build.glob("sockshim_*.deb"))
    assert len(debs) == 1, debs
    return debs[0], build


def field(deb, name):
    return run([DPKG_DEB, "-f", str(deb), name], timeout=TIMEOUT).stdout.strip()


def contents(deb):
    """{path: (mode, owner)} of the package's files and directories."""
    entries = {}
    for line in run([DPKG_DEB, "-c", str(deb)], timeout=TIMEOUT).stdout.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        entries[path.split(" -> ")[0]] = (mode, owner)
    return entries


def multiarch():
    if shutil.which("dpkg-architecture") is None:
        return None
    return run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], timeout=TIMEOUT).stdout.strip()


def test_control_fields_name_the_package_and_its_dependencies(package):
    deb, _ = package
    assert field(deb, "Package") == "sockshim"
    assert field(deb, "Version") == project_version()
    arch = run(["dpkg", "--print-architecture"], timeout=TIMEOUT).stdout.strip()
    assert field(deb, "Architecture") == arch
    assert field(deb, "Section") == "net"
    assert field(deb, "Maintainer") != ""
    assert field(deb, "Description").startswith("trace, break and audit")
    assert field(deb, "Homepage") == ""
    depends = [d.strip() for d in field(deb, "Depends").split(",")]
    names = {re.match(r"[a-z0-9.+-]+", d).group(0) for d in depends}
    assert {"libc6", "libjansson4", "libdw1"} <= names, depends
    # the command runs no Python: the module's needs are only suggested
    assert not any(n.startswith("python") for n in names), depends
    assert {"python3", "python3-pytest"} <= {
        s.strip() for s in field(deb, "Suggests").split(",")}
    # glibc 2.35 at least (README: _dl_find_object; close_range, closefrom, _Fork)
    [libc] = [d for d in depends if d.startswith("libc6")]
    version = re.search(r"\(>= ([0-9.]+)", libc)
    assert version and tuple(map(int, version.group(1).split("."))) >= (2, 35), libc


def test_contents_are_the_install_rules_under_usr(package, tmp_path):
    deb, build = package
    entries = contents(deb)
    assert all(p.startswith("./usr/") for p in entries), sorted(entries)
    assert {owner for _, owner in entries.values()} == {"root/root"}
    files = {p[1:] for p, (mode, _) in entries.items() if mode.startswith("-")}
    tuple_dir = multiarch()
    libdir = f"/usr/lib/{tuple_dir}" if tuple_dir else None
    [library] = [f for f in files if f.endswith("/libsockshim.so")]
    if libdir:
        assert library == f"{libdir}/libsockshim.so"
    else:
        assert re.fullmatch(r"/usr/lib/[^/]+-linux-gnu/libsockshim\.so", library), library
    for path in ["/usr/bin/sockshim",
                 "/usr/share/man/man1/sockshim.1",
                 "/usr/include/sockshim/ops.h",
                 "/usr/include/sockshim/findings.h",
                 "/usr/share/doc/sockshim/copyright",
                 "/usr/share/doc/sockshim/faults.md",
                 "/usr/share/doc/sockshim/examples/test_with_sockshim.py",
                 "/usr/share/sockshim/python/sockshim/__init__.py",
                 "/usr/share/sockshim/python/sockshim/pytest_plugin.py"]:
        assert path in files, path
    assert entries["./usr/bin/sockshim"][0] == "-rwxr-xr-x"
    # nothing of the build tree's test programs or benchmark
    assert not [f for f in files if "/programs/" in f or f.endswith("/workload")]
    # only what a user includes: the library's call record stays inside
    assert "/usr/include/sockshim/call.h" not in files
    # exactly what cmake --install puts there
    destdir = tmp_path / "destdir"
    proc = subprocess.run([CMAKE, "--install", str(build), "--prefix", "/usr"],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          env=dict(tool_env(), DESTDIR=str(destdir)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = {"/" + str(p.relative_to(destdir)) for p in destdir.rglob("*") if p.is_file()}
    assert files == installed


def test_copyright_file_states_the_licence_as_the_sources_do(package, tmp_path):
    deb, _ = package
    root = tmp_path / "root"
    run([DPKG_DEB, "-x", str(deb), str(root)], timeout=TIMEOUT)
    text = (root / "usr/share/doc/sockshim/copyright").read_text()
    assert text == (ROOT / "packaging" / "deb" / "copyright").read_text()
    licence_files = [p for p in ROOT.iterdir() if re.match(r"(LICEN[CS]E|COPYING)", p.name)]
    if not licence_files:
        assert "Licence: not stated" in text


def test_extracted_package_traces_with_its_own_library(package, tmp_path):
    deb, _ = package
    root = tmp_path / "root"
    run([DPKG_DEB, "-x", str(deb), str(root)], timeout=TIMEOUT)
    command = root / "usr" / "bin" / "sockshim"
    [library] = list((root / "usr" / "lib").rglob("libsockshim.so"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import os, socket\n"
            "print(os.environ['LD_PRELOAD'])\n"
            "socket.socket().close()\n")
    proc = subprocess.run([str(command), "-o", "t.txt", "--", PYTHON, "-c", code],
                          cwd=elsewhere, capture_output=True, text=True, timeout=TIMEOUT,
                          env=base_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().split(":")[-1] == str(library)
    trace = (elsewhere / "t.txt").read_text()
    assert re.search(r"\] sock(\d+) = socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC, 0\)\n"
                     r"(.*\n)*?.*\] sock\1\.close\(\)\n", trace), trace
    assert f"# sockshim {project_version()} traces pid" in trace

    proc = subprocess.run([str(command), "--python-path"], capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(root / "usr" / "share" / "sockshim" / "python")
    proc = subprocess.run([str(command), "--version"], capture_output=True, text=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0 and project_version() in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="apt-get is missing")
def test_apt_resolves_the_package_dependencies(package):
    deb, _ = package
    proc = subprocess.run(["apt-get", "install", "--simulate", "--no-install-recommends",
                           str(deb)], capture_output=True, text=True, timeout=TIMEOUT * 2,
                          env=dict(tool_env(), LC_ALL="C"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # (on a machine that has this very package installed, apt has nothing to do)
    assert (re.search(r"^Inst sockshim ", proc.stdout, re.M)
            or "sockshim is already the newest version" in proc.stdout), proc.stdout
