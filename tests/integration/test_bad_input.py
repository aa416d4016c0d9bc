"""Bad input that needs the real network or engine to be seen: a short
error that says what to do, a non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .harness import ROOT


def run_build(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "builder", "build", "--output", str(tmp_path / "out"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_clean_failure(
    result: subprocess.CompletedProcess[str], code: int, tmp_path: Path
) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert "error: " in result.stderr
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())


def test_omero_web_version_not_on_the_index(tmp_path: Path) -> None:
    result = run_build(tmp_path, "--target", "debian-12", "--omero-web-version", "5.99.0")
    assert_clean_failure(result, 2, tmp_path)
    assert "omero-web 5.99.0 is not on the package index" in result.stderr
    assert "5.33.2" in result.stderr  # it lists the releases that exist


def test_unreachable_mirror(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    result = run_build(tmp_path, "--target", "debian-12", "--mirror", "http://127.0.0.1:9/debian")
    assert_clean_failure(result, 4, tmp_path)
    assert "http://127.0.0.1:9/debian does not serve bookworm" in result.stderr
    assert "--mirror" in result.stderr


def test_ubuntu_target_without_registry_or_mirror_names_the_way_out(tmp_path: Path) -> None:
    targets = subprocess.run(
        [sys.executable, "-m", "builder", "targets"], cwd=ROOT, capture_output=True, text=True
    )
    ubuntu_line = next(
        line for line in targets.stdout.splitlines() if line.startswith("ubuntu-22.04")
    )
    if " yes: " in ubuntu_line:
        pytest.skip("this host can have Ubuntu images: nothing to refuse")
    result = run_build(tmp_path, "--target", "ubuntu-22.04")
    assert_clean_failure(result, 4, tmp_path)
    assert "docker pull ubuntu:22.04" in result.stderr
    assert "bootstrap from http://archive.ubuntu.com/ubuntu" in result.stderr
    assert "TARGET=debian-12" in result.stderr
