"""Bad input that needs the real network or engine to be seen: a short
error that says what to do, a non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from builder.images import BaseSource, base_image_tag, image_exists
from builder.targets import DEBIAN_KEYRING, TARGETS, UBUNTU_KEYRING

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


def test_unreachable_mirror_for_an_ubuntu_target_names_the_debian_way_out(tmp_path: Path) -> None:
    result = run_build(
        tmp_path, "--target", "ubuntu-22.04", "--mirror", "http://127.0.0.1:9/ubuntu"
    )
    assert_clean_failure(result, 4, tmp_path)
    assert "http://127.0.0.1:9/ubuntu does not serve jammy" in result.stderr
    assert "TARGET=debian-12" in result.stderr


def test_keyring_that_does_not_verify_the_release_file(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    """Ubuntu's archive checked against Debian's keys: refused before
    mmdebstrap starts, with the file and the URL, not a page of output."""
    if Path(UBUNTU_KEYRING).is_file():
        pytest.skip(f"the host has {UBUNTU_KEYRING}, which the builder prefers")
    cache = tmp_path / "cache"
    (cache / "keyrings").mkdir(parents=True)
    wrong = cache / "keyrings" / Path(UBUNTU_KEYRING).name
    shutil.copy(DEBIAN_KEYRING, wrong)
    base = base_image_tag(BaseSource.for_target(TARGETS["ubuntu-24.04"]))
    had_base = image_exists(client, base)
    # --mirror: never pulled; --refresh: bootstrapped even where the suite
    # run already has this base (the mirror is the default one).
    result = run_build(
        tmp_path, "--target", "ubuntu-24.04", "--cache-dir", str(cache),
        "--mirror", "http://archive.ubuntu.com/ubuntu", "--refresh",
    )  # fmt: skip
    assert_clean_failure(result, 4, tmp_path)
    assert f"dists/noble/InRelease is not signed by a key in {wrong}" in result.stderr
    assert "apt-get install ubuntu-keyring" in result.stderr
    assert "Usage:" not in result.stderr and len(result.stderr.splitlines()) < 15
    assert image_exists(client, base) == had_base, "the cached base was touched"


def test_an_icepy_wheel_that_is_not_the_one_its_hash_names(tmp_path: Path) -> None:
    """A tampered (or simply other) wheel file: refused before anything
    starts, naming the file and both hashes."""
    wheel = tmp_path / "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"PK not the wheel you meant")
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    expected = "0" * 64
    result = run_build(
        tmp_path, "--target", "debian-12", "--icepy-wheel", str(wheel), "--icepy-sha256", expected
    )
    assert_clean_failure(result, 1, tmp_path)
    assert f"the IcePy wheel {wheel} has sha256 {actual}, but {expected} was expected" in (
        result.stderr
    )


def test_an_icepy_wheel_url_needs_its_hash(tmp_path: Path) -> None:
    url = "https://example.org/zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"
    result = run_build(tmp_path, "--target", "debian-12", "--icepy-wheel", url)
    assert_clean_failure(result, 2, tmp_path)
    assert f"--icepy-wheel {url} is a download: give its --icepy-sha256 too" in result.stderr


def test_a_lock_the_index_does_not_match_stops_the_venv(tmp_path: Path) -> None:
    """A lock whose hash for Django's wheel is not what the index serves
    (as after a re-upload or a tampered mirror): pip refuses the file, the
    build names it with both hashes, and nothing reaches the output."""
    committed = ROOT / "locks" / "debian-12" / "omero-web-5.33.2.txt"
    text = committed.read_text()
    django = re.search(r"^django==\S+ \\\n {4}--hash=sha256:([0-9a-f]{64})$", text, re.MULTILINE)
    assert django, "the committed lock pins no django wheel"
    served = django.group(1)
    wrong = hashlib.sha256(b"not django").hexdigest()
    lock = tmp_path / "tampered.txt"
    lock.write_text(text.replace(served, wrong))
    result = run_build(tmp_path, "--target", "debian-12", "--lock", str(lock), "--no-lintian")
    assert_clean_failure(result, 1, tmp_path)
    assert f"pip refused files whose sha256 is not the one in {lock}" in result.stderr
    assert re.search(
        rf"django-\S+-py3-none-any\.whl: expected sha256 {wrong}, got {served}", result.stderr
    ), result.stderr
