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


LONG = "a" * 60 + "/" + "b" * 60 + ".py"  # past ustar's 100 characters


def built_deb(tmp_path: Path, *, owner: str = "") -> Path:
    root = tmp_path / "root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: probe\nVersion: 1\nArchitecture: all\nMaintainer: A <a@example.org>\n"
        "Description: probe\n probe\n"
    )
    venv = root / "opt" / "omero" / "web" / "venv3"
    (venv / LONG).parent.mkdir(parents=True)
    (venv / "a.py").write_text("A = 1\n")
    (venv / "run").write_text("#!/bin/sh\n")
    (venv / "run").chmod(0o755)
    (venv / "link").symlink_to("a.py")
    (venv / LONG).write_text("B = 2\n")
    (venv / "hard.py").hardlink_to(venv / "a.py")
    deb = tmp_path / "probe_1_all.deb"
    argv = ["dpkg-deb", "--build", "-Znone", "--root-owner-group", str(root), str(deb)]
    if owner:
        # As a package whose file someone else owns would be built.
        argv = ["fakeroot", "sh", "-c", f'chown -R {owner} "$0" && exec "$@"', str(venv), *argv]
        argv.remove("--root-owner-group")
    subprocess.run(argv, check=True, capture_output=True)
    return deb


def tar_entries(archive: tarfile.TarFile) -> list[tuple[object, ...]]:
    """Every header field dpkg uses, and the bytes, entry by entry."""
    return [
        (m.name, m.type, m.mode, m.uid, m.gid, m.size, m.mtime, m.linkname)
        + ((archive.extractfile(m).read(),) if m.isreg() else (b"",))  # type: ignore[union-attr]
        for m in archive.getmembers()
    ]


def data_members(
    deb: Path, tmp_path: Path
) -> tuple[list[tarfile.TarInfo], list[tuple[object, ...]]]:
    work = tmp_path / "members"
    work.mkdir()
    subprocess.run(["ar", "x", str(deb)], cwd=work, check=True)
    assert sorted(p.name for p in work.iterdir()) == [
        "control.tar.xz",
        "data.tar.xz",
        "debian-binary",
    ]
    with lzma.open(work / "data.tar.xz") as data, tarfile.open(fileobj=data) as archive:
        return archive.getmembers(), tar_entries(archive)


def test_the_data_archive_loses_opt_and_owner_names_and_nothing_else(tmp_path):
    deb = built_deb(tmp_path)
    unpacked = tmp_path / "before"
    unpacked.mkdir()
    subprocess.run(["ar", "x", str(deb)], cwd=unpacked, check=True)
    with tarfile.open(unpacked / "data.tar") as before:
        expected = [entry for entry in tar_entries(before) if entry[0] != "./opt"]
    subprocess.run([sys.executable, str(FINISH), str(deb)], check=True)
    members, entries = data_members(deb, tmp_path)
    assert entries == expected
    assert [m.name for m in members][:2] == [".", "./opt/omero"]
    assert {(m.uname, m.gname, m.uid, m.gid) for m in members} == {("", "", 0, 0)}
    assert any(m.name.endswith(LONG) for m in members)
    assert any(m.islnk() and m.name.endswith("hard.py") for m in members)
    # dpkg reads it: the contents, with owners as numbers.
    listed = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], check=True, capture_output=True, text=True
    ).stdout
    assert "0/0" in listed and "./opt/omero/web/venv3/a.py" in listed
    assert "./opt/\n" not in listed


def test_the_same_deb_finishes_the_same_bytes(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    deb = built_deb(first)
    second.mkdir()
    copy = second / deb.name
    shutil.copy(deb, copy)
    for made in (deb, copy):
        subprocess.run([sys.executable, str(FINISH), str(made)], check=True)
    assert deb.read_bytes() == copy.read_bytes()


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
