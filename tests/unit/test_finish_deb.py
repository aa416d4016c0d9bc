"""debian/finish-deb on a real .deb made by dpkg-deb -Znone, as
dh_builddeb makes it in the build: what dpkg will read afterwards."""

from __future__ import annotations

import lzma
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

FINISH = Path(__file__).parents[2] / "debian" / "finish-deb"
pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("dpkg-deb", "ar", "xz")),
    reason="needs dpkg-deb, ar (binutils) and xz",
)


def built_deb(tmp_path: Path, *, owner: str = "") -> Path:
    root = tmp_path / "root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: probe\nVersion: 1\nArchitecture: all\nMaintainer: A <a@example.org>\n"
        "Description: probe\n probe\n"
    )
    venv = root / "opt" / "omero" / "web" / "venv3"
    venv.mkdir(parents=True)
    (venv / "a.py").write_text("A = 1\n")
    (venv / "link").symlink_to("a.py")
    deb = tmp_path / "probe_1_all.deb"
    argv = ["dpkg-deb", "--build", "-Znone", "--root-owner-group", str(root), str(deb)]
    if owner:
        # As a package whose file someone else owns would be built.
        argv = ["fakeroot", "sh", "-c", f'chown -R {owner} "$0" && exec "$@"', str(venv), *argv]
        argv.remove("--root-owner-group")
    subprocess.run(argv, check=True, capture_output=True)
    return deb


def data_members(deb: Path, tmp_path: Path) -> list[tarfile.TarInfo]:
    work = tmp_path / "members"
    work.mkdir()
    subprocess.run(["ar", "x", str(deb)], cwd=work, check=True)
    assert sorted(p.name for p in work.iterdir()) == [
        "control.tar.xz",
        "data.tar.xz",
        "debian-binary",
    ]
    with lzma.open(work / "data.tar.xz") as data, tarfile.open(fileobj=data) as archive:
        return archive.getmembers()


def test_the_data_archive_loses_opt_and_owner_names_and_nothing_else(tmp_path):
    deb = built_deb(tmp_path)
    subprocess.run([sys.executable, str(FINISH), str(deb)], check=True)
    members = data_members(deb, tmp_path)
    names = [m.name for m in members]
    assert names == [
        ".",
        "./opt/omero",
        "./opt/omero/web",
        "./opt/omero/web/venv3",
        "./opt/omero/web/venv3/a.py",
        "./opt/omero/web/venv3/link",
    ]
    assert {(m.uname, m.gname, m.uid, m.gid) for m in members} == {("", "", 0, 0)}
    assert members[-1].issym() and members[-1].linkname == "a.py"
    # dpkg reads it: the contents, with owners as numbers.
    listed = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], check=True, capture_output=True, text=True
    ).stdout
    assert "0/0" in listed and "./opt/omero/web/venv3/a.py" in listed
    assert "./opt/\n" not in listed


@pytest.mark.skipif(not shutil.which("fakeroot"), reason="needs fakeroot")
def test_a_file_not_roots_is_refused_and_the_deb_left_alone(tmp_path):
    deb = built_deb(tmp_path, owner="1000:1000")
    before = deb.read_bytes()
    finished = subprocess.run(
        [sys.executable, str(FINISH), str(deb)], capture_output=True, text=True
    )
    assert finished.returncode == 1
    assert "is owned by 1000:1000, not root" in finished.stderr
    assert deb.read_bytes() == before


def test_a_compressed_deb_is_refused_with_what_to_do(tmp_path):
    deb = built_deb(tmp_path)
    subprocess.run(["dpkg-deb", "--build", "-Zxz", str(tmp_path / "root"), str(deb)], check=True)
    finished = subprocess.run(
        [sys.executable, str(FINISH), str(deb)], capture_output=True, text=True
    )
    assert finished.returncode == 1
    assert "build probe_1_all.deb with dh_builddeb -- -Znone" in finished.stderr
