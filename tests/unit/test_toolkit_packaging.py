"""The toolkit as something to install: the wheel and sdist carry what a
build reads, an installed copy finds it away from any checkout, the version
comes from one place, and the Debian package's source tree and manual page.
No Docker: the wheel and sdist are built with this venv's setuptools."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner

from builder import __version__, resources
from builder.cli import main
from builder.config import DEFAULT_OMERO_WEB_VERSION
from builder.manpage import manual_page, roff
from builder.resources import SOURCE_DATE_STAMP, source_date_epoch
from builder.toolkit_deb import (
    DEPENDS,
    PACKAGE,
    PYTHON_DEPENDS,
    RECOMMENDS,
    RULES_MANPAGE,
    build_in,
    debianized_dir,
    source_tree,
    stdeb_cfg,
)

from .fakes import Answer, FakeContainer

ROOT = Path(__file__).resolve().parents[2]
# What the wheel is built from: what `git archive` of the project would hold
# for it (tests, .ci and docs are not part of the toolkit).
SOURCES = ("builder", "debian", "templates", "locks", "pyproject.toml", "setup.py", "README.md")
EXECUTABLE = 0o111


def packaging_sources() -> dict[str, int]:
    """Every file of debian/, templates/ and locks/, relative to the top, with its mode."""
    return {
        file.relative_to(ROOT).as_posix(): file.stat().st_mode & 0o777
        for folder in resources.DATA_FOLDERS
        for file in resources.packaging_files(ROOT / folder)
    }


def test_setup_py_packages_every_data_folder() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text())
    (value,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "DATA_FOLDERS"
    ]
    assert ast.literal_eval(value) == resources.DATA_FOLDERS


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel and sdist, built from a copy of the tree (the build writes
    egg-info and build/ beside its sources)."""
    work = tmp_path_factory.mktemp("toolkit")
    source = work / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name)
        else:
            shutil.copy2(ROOT / name, source / name)
    out = work / "dist"
    for hook in ("build_wheel", "build_sdist"):  # one process each, as a build frontend does
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from setuptools import build_meta; build_meta.{hook}({str(out)!r})",
            ],
            cwd=source,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_wheel_carries_every_file_a_build_reads(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in wheel.infolist()}
        metadata = wheel.read(f"omero_web_deb-{__version__}.dist-info/METADATA").decode()
        stamp = wheel.read(f"builder/data/{SOURCE_DATE_STAMP}").decode()
    expected = packaging_sources()
    assert expected, "no packaging sources found"
    for name, mode in expected.items():
        packaged = f"builder/data/{name}"
        assert packaged in modes, f"{name} is missing from the wheel"
        # debian/rules and the scripts must stay executable where they are built.
        assert modes[packaged] & EXECUTABLE == mode & EXECUTABLE, name
    assert "builder/patches/icepy/series" in modes and "builder/icepy_build.py" in modes
    parade = "builder/patches/apps/omero-parade/0001-numpy-version-without-distutils.patch"
    assert parade in modes
    assert "builder/write_cyclonedx_sbom.py" in modes
    assert "builder/data/locks/tools/cyclonedx.txt" in modes
    # The toolkit needs no cyclonedx-python-lib: its tests do (the test extra).
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not [line for line in requires if "cyclonedx" in line and "extra ==" not in line]
    assert not [name for name in modes if "__pycache__" in name or name.endswith(".pyc")]
    assert f"\nVersion: {__version__}\n" in metadata
    # The sources' date, by the toolkit's own rule (the copy keeps the files' times).
    assert stamp == f"{source_date_epoch(os.environ, None, ROOT)}\n"


def test_the_sdist_carries_the_sources_the_wheel_is_built_from(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as sdist:
        names = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"setup.py", "pyproject.toml", "README.md"} <= names
    assert set(packaging_sources()) <= names


def test_an_installed_wheel_finds_its_data_away_from_any_checkout(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """As pip unpacks it; run from an empty folder, with this checkout's
    editable install out of the way (its finder comes after PYTHONPATH)."""
    site = tmp_path / "site"
    with zipfile.ZipFile(built["wheel"]) as wheel:
        wheel.extractall(site)
    for info in zipfile.ZipFile(built["wheel"]).infolist():
        (site / info.filename).chmod((info.external_attr >> 16) & 0o777 or 0o644)
    empty = tmp_path / "empty"
    empty.mkdir()
    script = (
        "from builder import resources\n"
        "from builder.debian_tree import render_static_files, template_environment\n"
        "root = resources.packaging_root()\n"
        "tree = render_static_files(root / 'debian')\n"
        "print(resources.checkout_root(), root, len(tree), oct(tree[__import__('pathlib')"
        ".PurePosixPath('rules')].mode))\n"
        "print(sorted(template_environment(root).list_templates()))\n"
        "print(resources.source_date_epoch({}, resources.checkout_root(), root))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=empty,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    first, templates, epoch = result.stdout.splitlines()
    checkout, root, count, rules_mode = first.split()
    assert checkout == "None" and root == str(site / "builder" / "data")
    assert int(count) == len([n for n in packaging_sources() if n.startswith("debian/")])
    assert rules_mode == "0o755"
    assert "debian/control.j2" in templates
    # Unpacked files are dated now, as pip dates them: the date is the stamp's.
    stamp = (site / "builder" / "data" / SOURCE_DATE_STAMP).read_text()
    assert epoch == stamp.strip()


def test_from_the_checkout_the_checkout_s_own_folders_are_used() -> None:
    assert resources.checkout_root() == ROOT
    assert resources.packaging_root() == ROOT
    assert resources.icepy_patches_dir() == ROOT / "builder" / "patches" / "icepy"


def test_version_comes_from_one_place() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "builder.__version__" }' in pyproject
    assert not re.search(r'^version = "', pyproject, re.MULTILINE)
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == (
        f"omero-web-deb {__version__} (builds omero-web {DEFAULT_OMERO_WEB_VERSION} by default, "
        "for ubuntu-22.04)\n"
    )


def test_source_date_epoch(tmp_path: Path) -> None:
    assert source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}, ROOT, ROOT) == 1700000000
    if shutil.which("git") and (ROOT / ".git").exists():
        last_commit = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert source_date_epoch({}, ROOT, ROOT) == int(last_commit)
    # Installed: the newest packaging file, the same for every build.
    for folder in resources.PACKAGING_FOLDERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "file").write_text("x")
        os.utime(tmp_path / folder / "file", (1600000000, 1600000000))
    os.utime(tmp_path / "debian" / "file", (1650000000, 1650000000))
    assert source_date_epoch({}, None, tmp_path) == 1650000000
    # Installed from a wheel: the date it was built with, whatever its files' times.
    (tmp_path / SOURCE_DATE_STAMP).write_text("1500000000\n")
    assert source_date_epoch({}, None, tmp_path) == 1500000000
    assert abs(source_date_epoch({}, None, None) - time.time()) < 60


def test_the_manual_page_lists_every_command_and_option() -> None:
    page = manual_page({"SOURCE_DATE_EPOCH": "1764300000"})
    assert page.startswith('.TH OMERO-WEB-DEB 1 "2025-11-28" "omero-web-deb ' + __version__)
    for command in ("build", "targets", "repo init", "repo publish", "repo list"):
        assert f".SS {roff(command)}\n" in page
    for option in ("--target", "--omero-web-version", "--revision", "--repo", "--gnupghome"):
        assert f"\\fB{roff(option)}" in page
    # No text line that roff would take for a request.
    body = [line for line in page.splitlines() if not line.startswith((".TH", ".SH", ".SS"))]
    assert not [line for line in body if line.startswith(("'", ".")) and line not in (".PP", ".TP")]


@pytest.mark.skipif(not shutil.which("groff"), reason="needs groff")
def test_the_manual_page_renders_without_warnings(tmp_path: Path) -> None:
    page = tmp_path / "omero-web-deb.1"
    page.write_text(manual_page({"SOURCE_DATE_EPOCH": "1764300000"}))
    result = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == ""


def test_the_debian_package_s_tree_puts_the_packaging_sources_under_builder_data() -> None:
    tree = source_tree(ROOT, "A <a@example.org>")
    names = {str(path) for path in tree}
    for name in packaging_sources():
        assert f"builder/data/{name}" in names
    # stdeb writes its own debian/ at the top: nothing of ours may be there.
    assert not [n for n in names if n.startswith(("debian/", "templates/"))]
    assert {"setup.py", "pyproject.toml", "stdeb.cfg", "debian-copyright", "README.md"} <= names
    readme = tree[PurePosixPath("README.md")][0].decode()
    assert all(len(line) <= 80 for line in readme.splitlines())  # the long description
    assert tree[PurePosixPath("builder/data/debian/rules")][1] & EXECUTABLE


def test_stdeb_cfg_names_the_distribution_s_packages() -> None:
    cfg = stdeb_cfg("A <a@example.org>")
    assert f"Package3: {PACKAGE}\n" in cfg
    assert f"Depends3: {', '.join(DEPENDS)}\n" in cfg
    assert "Recommends3: docker.io | docker-ce, apt-utils, gnupg\n" in cfg
    assert RECOMMENDS[0] == "docker.io | docker-ce"
    assert f"Build-Depends: {', '.join(PYTHON_DEPENDS)}\n" in cfg
    assert "Maintainer: A <a@example.org>\n" in cfg


def test_the_package_is_built_by_stdeb_with_its_manual_page_then_checked() -> None:
    container = FakeContainer({"cat ": Answer(stdout="Source: x\nHomepage: None\n")})
    deb = build_in(container, ROOT, "A <a@example.org>")
    tree = debianized_dir(deb.parent.parent)
    argvs = [" ".join(argv) for argv in container.argvs]
    stdeb = next(i for i, a in enumerate(argvs) if "sdist_dsc" in a)
    build = argvs.index("dpkg-buildpackage -b -us -uc")
    lintian = next(i for i, a in enumerate(argvs) if a.startswith("lintian "))
    assert stdeb < build < lintian
    assert "--fail-on error,warning" in argvs[lintian]
    assert container.calls[build].workdir == str(tree)
    rules = container.files[tree / "debian" / "rules"]
    assert rules[0].decode().endswith(RULES_MANPAGE) and rules[1] == 0o755
    assert container.files[tree / "debian" / "control"][0] == b"Source: x\n"
    manpages = container.files[tree / "debian" / f"{PACKAGE}.manpages"][0]
    assert manpages == b"debian/omero-web-deb.1\n"
    assert deb.name == f"{PACKAGE}_{__version__}-1_all.deb"
