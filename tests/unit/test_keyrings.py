"""Finding and fetching archive keyrings, without the network."""

from __future__ import annotations

import hashlib
import lzma
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from builder import keyrings
from builder.errors import KeyringUnavailable, NetworkError
from builder.keyrings import (
    INDEX,
    KEYRING_SUITE,
    ArchiveFile,
    checked,
    ensure_keyring,
    fetch_keyring_package,
    find_keyring,
    package_entry,
    release_entry,
    verified_release,
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


# --- verified_release: real gpg and gpgv, throwaway keys -------------------

needs_gnupg = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("gpg", "gpgv", "gpgconf")),
    reason="needs gpg and gpgv (apt-get install gnupg gpgv)",
)
needs_dpkg_deb = pytest.mark.skipif(
    not shutil.which("dpkg-deb"), reason="needs dpkg-deb (apt-get install dpkg)"
)

SIGNED_RELEASE = f"""\
Origin: Debian
Suite: stable
Codename: {KEYRING_SUITE}
"""
INRELEASE_URL = "http://deb.example/debian/dists/trixie/InRelease"


@dataclass(frozen=True)
class Keys:
    """One GnuPG home holding the archive's key and a stranger's; the
    keyring file holds only the archive's public key."""

    home: Path
    archive: str
    stranger: str
    keyring: Path


def make_key(home: Path, user_id: str) -> str:
    subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback",
         "--passphrase", "", "--quick-generate-key", user_id, "ed25519", "sign", "never"],
        check=True, capture_output=True,
    )  # fmt: skip
    listing = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--with-colons", "--list-secret-keys", user_id],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    """Made once per module (a short path: gpg-agent's socket lives there)."""
    root = tmp_path_factory.mktemp("keys")
    home = root / "gnupg"
    home.mkdir(mode=0o700)
    archive = make_key(home, "archive <archive@localhost>")
    stranger = make_key(home, "stranger <stranger@localhost>")
    keyring = root / "debian-archive-keyring.gpg"
    export = ["gpg", "--homedir", str(home), "--batch", "--export", archive]
    keyring.write_bytes(subprocess.run(export, check=True, capture_output=True).stdout)
    yield Keys(home, archive, stranger, keyring)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def clearsign(keys: Keys, text: str, *signers: str) -> bytes:
    argv = ["gpg", "--homedir", str(keys.home), "--batch", "--pinentry-mode", "loopback",
            "--passphrase", "", "--clearsign"]  # fmt: skip
    for signer in signers:
        argv += ["-u", signer]
    return subprocess.run(argv, input=text.encode(), check=True, capture_output=True).stdout


@needs_gnupg
def test_verified_release_returns_the_text_signed_by_a_key_in_the_keyring(keys):
    runner, log = recording_runner()
    inrelease = clearsign(keys, SIGNED_RELEASE, keys.archive)
    assert verified_release(inrelease, keys.keyring, INRELEASE_URL, runner) == SIGNED_RELEASE
    assert log[0].startswith(f"+ gpgv --status-fd 1 --keyring {keys.keyring} ")


@needs_gnupg
def test_verified_release_refuses_text_changed_after_signing(keys):
    inrelease = clearsign(keys, SIGNED_RELEASE, keys.archive)
    tampered = inrelease.replace(b"Suite: stable", b"Suite: sid")
    assert tampered != inrelease
    runner, _ = recording_runner()
    with pytest.raises(KeyringUnavailable) as error:
        verified_release(tampered, keys.keyring, INRELEASE_URL, runner)
    assert str(error.value) == f"{INRELEASE_URL} is not signed by a key in {keys.keyring}"


@needs_gnupg
def test_verified_release_refuses_a_signature_by_a_key_not_in_the_keyring(keys):
    inrelease = clearsign(keys, SIGNED_RELEASE, keys.stranger)
    runner, _ = recording_runner()
    with pytest.raises(KeyringUnavailable) as error:
        verified_release(inrelease, keys.keyring, INRELEASE_URL, runner)
    assert str(error.value) == f"{INRELEASE_URL} is not signed by a key in {keys.keyring}"


@needs_gnupg
def test_verified_release_accepts_one_good_signature_beside_an_unknown_one(keys):
    # Debian signs with several keys and an older keyring lacks the newest:
    # apt accepts this, though gpgv itself exits non-zero.
    inrelease = clearsign(keys, SIGNED_RELEASE, keys.archive, keys.stranger)
    runner, _ = recording_runner()
    assert verified_release(inrelease, keys.keyring, INRELEASE_URL, runner) == SIGNED_RELEASE


# --- fetch_keyring_package: a fake mirror, real signatures and .debs --------

MIRROR = "http://deb.example/debian"
MEMBER = Path("/usr/share/keyrings/ubuntu-archive-keyring.gpg")
KEYRING_BYTES = b"ubuntu's keys\x00\x99\n"
DEB_PATH = "pool/main/u/ubuntu-keyring/ubuntu-keyring_2023.11.28.1-0.2_all.deb"
DEB_URL = f"{MIRROR}/{DEB_PATH}"


def keyring_deb(folder: Path, files: dict[str, bytes]) -> bytes:
    """A real ubuntu-keyring .deb holding `files` (paths under its root)."""
    root = folder / "ubuntu-keyring"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: ubuntu-keyring\nVersion: 2023.11.28.1-0.2\nArchitecture: all\n"
        "Maintainer: test <test@localhost>\nDescription: a stand-in for Ubuntu's keys\n"
    )
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    deb = folder / "ubuntu-keyring.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
        check=True, capture_output=True,
    )  # fmt: skip
    return deb.read_bytes()


def mirror_files(keys: Keys, deb: bytes, *, indexed_deb: bytes | None = None) -> dict[str, bytes]:
    """What the mirror serves: an InRelease signed by the archive's key, the
    index it lists, and `deb` where the index (hashing `indexed_deb`, by
    default `deb` itself) says it is."""
    index = lzma.compress(
        f"Package: ubuntu-keyring\nVersion: 2023.11.28.1-0.2\nArchitecture: all\n"
        f"Filename: {DEB_PATH}\n"
        f"SHA256: {hashlib.sha256(deb if indexed_deb is None else indexed_deb).hexdigest()}\n"
        .encode()
    )  # fmt: skip
    release = (
        f"{SIGNED_RELEASE}SHA256:\n"
        f" {'b' * 64}   1234 main/binary-all/Packages.xz\n"
        f" {hashlib.sha256(index).hexdigest()} {len(index):6} {INDEX}\n"
    )
    base = f"{MIRROR}/dists/{KEYRING_SUITE}"
    return {
        f"{base}/InRelease": clearsign(keys, release, keys.archive),
        f"{base}/{INDEX}": index,
        DEB_URL: deb,
    }


def serve(monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]) -> None:
    def download(url: str, timeout: float = 60) -> bytes:
        if url not in files:
            raise NetworkError(f"cannot download {url}: Not Found")
        return files[url]

    monkeypatch.setattr(keyrings, "download", download)


@needs_gnupg
@needs_dpkg_deb
def test_fetch_keyring_package_returns_the_verified_keyring_file(tmp_path, keys, monkeypatch):
    deb = keyring_deb(tmp_path, {str(MEMBER).lstrip("/"): KEYRING_BYTES})
    serve(monkeypatch, mirror_files(keys, deb))
    runner, log = recording_runner()
    keyring = fetch_keyring_package("ubuntu-keyring", MEMBER, MIRROR, keys.keyring, runner)
    assert keyring == KEYRING_BYTES
    assert log[-1] == f"verified {DEB_URL} (sha256 {hashlib.sha256(deb).hexdigest()})"


@needs_gnupg
@needs_dpkg_deb
def test_fetch_keyring_package_refuses_a_deb_unlike_the_index(tmp_path, keys, monkeypatch):
    deb = keyring_deb(tmp_path, {str(MEMBER).lstrip("/"): KEYRING_BYTES})
    served = deb + b"\n"
    serve(monkeypatch, mirror_files(keys, served, indexed_deb=deb))
    runner, log = recording_runner()
    with pytest.raises(KeyringUnavailable) as error:
        fetch_keyring_package("ubuntu-keyring", MEMBER, MIRROR, keys.keyring, runner)
    assert str(error.value) == (
        f"{DEB_URL} has sha256 {hashlib.sha256(served).hexdigest()}, "
        f"but the signed index says {hashlib.sha256(deb).hexdigest()}"
    )
    assert not any(line.startswith("verified ") for line in log)


@needs_gnupg
@needs_dpkg_deb
def test_fetch_keyring_package_refuses_a_deb_without_the_keyring(tmp_path, keys, monkeypatch):
    deb = keyring_deb(tmp_path, {"usr/share/doc/ubuntu-keyring/README": b"no keys here\n"})
    serve(monkeypatch, mirror_files(keys, deb))
    runner, _ = recording_runner()
    with pytest.raises(KeyringUnavailable) as error:
        fetch_keyring_package("ubuntu-keyring", MEMBER, MIRROR, keys.keyring, runner)
    assert str(error.value) == f"{DEB_URL} holds no {MEMBER}"
