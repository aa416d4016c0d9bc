"""Finding and fetching archive keyrings, without the network."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from builder.errors import KeyringUnavailable
from builder.keyrings import (
    INDEX,
    ArchiveFile,
    checked,
    ensure_keyring,
    find_keyring,
    package_entry,
    release_entry,
)
from builder.runner import Runner
from builder.targets import TARGETS, Target

INDEX_SHA256 = "a" * 64
RELEASE = f"""\
Origin: Debian
Suite: stable
Codename: trixie
SHA256:
 {"b" * 64}   1234 main/binary-all/Packages.xz
 {INDEX_SHA256}  56789 {INDEX}
 {"c" * 64}    999 contrib/binary-amd64/Packages.xz
"""

UBUNTU_KEYRING_SHA256 = "d" * 64
PACKAGES = f"""\
Package: debian-archive-keyring
Version: 2025.1
Architecture: all
Filename: pool/main/d/debian-archive-keyring/debian-archive-keyring_2025.1_all.deb
SHA256: {"e" * 64}

Package: ubuntu-keyring
Version: 2023.11.28.1-0.2
Architecture: all
Filename: pool/main/u/ubuntu-keyring/ubuntu-keyring_2023.11.28.1-0.2_all.deb
SHA256: {UBUNTU_KEYRING_SHA256}
""".encode()


def with_keyring(name: str, keyring: Path) -> Target:
    return replace(TARGETS[name], keyring=str(keyring))


def recording_runner() -> tuple[Runner, list[str]]:
    log: list[str] = []
    return Runner(log=log.append), log


# --- release_entry, package_entry, checked --------------------------------


def test_release_entry_is_the_hash_of_the_named_index():
    assert release_entry(RELEASE, INDEX) == ArchiveFile(INDEX, INDEX_SHA256)


def test_release_entry_for_an_unlisted_index_is_refused():
    with pytest.raises(KeyringUnavailable) as error:
        release_entry(RELEASE, "main/binary-arm64/Packages.xz")
    assert str(error.value) == "the signed Release file lists no main/binary-arm64/Packages.xz"


def test_release_without_sha256_lists_nothing():
    with pytest.raises(KeyringUnavailable, match=f"lists no {INDEX}"):
        release_entry("Origin: Debian\nCodename: trixie\n", INDEX)


def test_package_entry_is_the_packages_file_and_hash():
    assert package_entry(PACKAGES, "ubuntu-keyring") == ArchiveFile(
        "pool/main/u/ubuntu-keyring/ubuntu-keyring_2023.11.28.1-0.2_all.deb",
        UBUNTU_KEYRING_SHA256,
    )


def test_package_entry_for_a_missing_package_is_refused():
    with pytest.raises(KeyringUnavailable) as error:
        package_entry(PACKAGES, "ubuntu-keyring-udeb")
    assert str(error.value) == "the signed index lists no package ubuntu-keyring-udeb"


def test_checked_returns_data_whose_hash_matches():
    data = b"keyring bytes"
    expected = ArchiveFile("pool/k.deb", hashlib.sha256(data).hexdigest())
    assert checked(data, expected, "http://mirror.example/pool/k.deb") is data


def test_checked_names_both_hashes_when_they_differ():
    data = b"tampered"
    actual = hashlib.sha256(data).hexdigest()
    with pytest.raises(KeyringUnavailable) as error:
        checked(data, ArchiveFile("pool/k.deb", "f" * 64), "http://mirror.example/pool/k.deb")
    assert str(error.value) == (
        f"http://mirror.example/pool/k.deb has sha256 {actual}, "
        f"but the signed index says {'f' * 64}"
    )


# --- find_keyring ----------------------------------------------------------


def test_find_keyring_prefers_the_host_file_over_the_cache(tmp_path):
    host = tmp_path / "host" / "ubuntu-archive-keyring.gpg"
    host.parent.mkdir()
    host.write_bytes(b"host")
    cached = tmp_path / "cache" / "keyrings" / "ubuntu-archive-keyring.gpg"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    target = with_keyring("ubuntu-22.04", host)
    assert find_keyring(target, tmp_path / "cache") == host


def test_find_keyring_falls_back_to_the_cache_by_file_name(tmp_path):
    cached = tmp_path / "cache" / "keyrings" / "ubuntu-archive-keyring.gpg"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    target = with_keyring("ubuntu-22.04", tmp_path / "host" / "ubuntu-archive-keyring.gpg")
    assert find_keyring(target, tmp_path / "cache") == cached


def test_find_keyring_finds_nothing_when_neither_exists(tmp_path):
    target = with_keyring("ubuntu-22.04", tmp_path / "ubuntu-archive-keyring.gpg")
    assert find_keyring(target, tmp_path / "cache") is None


# --- ensure_keyring --------------------------------------------------------


def test_ensure_keyring_returns_the_host_keyring(tmp_path):
    host = tmp_path / "debian-archive-keyring.gpg"
    host.write_bytes(b"host")
    runner, log = recording_runner()
    assert ensure_keyring(with_keyring("debian-12", host), tmp_path / "cache", runner) == host
    assert log == []


def test_ensure_keyring_returns_a_cached_keyring(tmp_path):
    cached = tmp_path / "cache" / "keyrings" / "ubuntu-archive-keyring.gpg"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    target = with_keyring("ubuntu-24.04", tmp_path / "missing" / "ubuntu-archive-keyring.gpg")
    runner, log = recording_runner()
    found = ensure_keyring(
        target, tmp_path / "cache", runner, debian_keyring=tmp_path / "no-debian.gpg"
    )
    assert found == cached
    assert log == []


def test_debian_target_without_its_keyring_says_what_to_install(tmp_path):
    keyring = tmp_path / "debian-archive-keyring.gpg"
    runner, log = recording_runner()
    with pytest.raises(KeyringUnavailable) as error:
        ensure_keyring(with_keyring("debian-12", keyring), tmp_path / "cache", runner)
    assert str(error.value) == (
        f"debian-12 needs the archive keyring {keyring}, which this host lacks: "
        "apt-get install debian-archive-keyring"
    )
    assert log == []


def test_ubuntu_target_on_a_host_without_debians_keyring_names_ubuntu_keyring(tmp_path):
    keyring = tmp_path / "ubuntu-archive-keyring.gpg"
    runner, log = recording_runner()
    with pytest.raises(KeyringUnavailable) as error:
        ensure_keyring(
            with_keyring("ubuntu-22.04", keyring),
            tmp_path / "cache",
            runner,
            debian_keyring=tmp_path / "debian-archive-keyring.gpg",
        )
    assert str(error.value) == (
        f"ubuntu-22.04 needs the archive keyring {keyring}, which this host lacks: "
        "apt-get install ubuntu-keyring (or debian-archive-keyring)"
    )
    assert error.value.exit_code == 4
    # Nothing was fetched: without Debian's keyring nothing could be verified.
    assert log == []
