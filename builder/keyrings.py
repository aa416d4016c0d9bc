"""The archive keyrings that verify a target's mirror.

mmdebstrap checks every Release file it reads against the target's keyring.
A Debian host has Debian's keyring (debian-archive-keyring) but not
Ubuntu's, which Debian ships as the `ubuntu-keyring` package (trixie,
bookworm-backports).  Where the host lacks it, it is fetched from the Debian
archive, and trust stays anchored in a signed archive: the suite's InRelease
is checked with gpgv against the host's Debian keyring, the Packages index
against the hash in that Release file, the .deb against the hash in the
index.  Nothing unverified is ever used, and the result is cached.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Packages, Release
from debian.debfile import DebError, DebFile

from builder.errors import CommandFailed, KeyringUnavailable, NetworkError
from builder.paths import ARCHITECTURE
from builder.runner import Runner
from builder.targets import DEBIAN_KEYRING, DEBIAN_MIRROR, Target

# Where Debian keeps Ubuntu's keys.
KEYRING_PACKAGES = {"ubuntu": "ubuntu-keyring", "debian": "debian-archive-keyring"}
KEYRING_SUITE = "trixie"
# The index apt itself reads on the build host, which is of the package's
# architecture (binary-all is not read, and mirrors let it lag).
INDEX = f"main/binary-{ARCHITECTURE}/Packages.xz"
# gpgv status words that void an InRelease, whatever else signed it.
REFUSED_SIGNATURES = {"BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "KEYEXPIRED"}


@dataclass(frozen=True)
class ArchiveFile:
    """A file the verified Release (or index) names, with its hash."""

    path: str
    sha256: str


def find_keyring(target: Target, cache_dir: Path) -> Path | None:
    """The host's keyring for the target, else one fetched earlier."""
    host = Path(target.keyring)
    if host.is_file():
        return host
    cached = cache_dir / "keyrings" / host.name
    return cached if cached.is_file() else None


def ensure_keyring(
    target: Target,
    cache_dir: Path,
    runner: Runner,
    *,
    debian_mirror: str = DEBIAN_MIRROR,
    debian_keyring: Path = Path(DEBIAN_KEYRING),
) -> Path:
    """A keyring file that verifies the target's archive."""
    found = find_keyring(target, cache_dir)
    if found is not None:
        return found
    package = KEYRING_PACKAGES[target.distribution]
    if target.distribution == "debian" or not debian_keyring.is_file():
        also = "" if target.distribution == "debian" else f" (or {KEYRING_PACKAGES['debian']})"
        raise KeyringUnavailable(
            f"{target.name} needs the archive keyring {target.keyring}, which this host "
            f"lacks: apt-get install {package}{also}"
        )
    runner.log(f"{target.keyring} is missing: fetching {package} from {debian_mirror}")
    try:
        keyring = fetch_keyring_package(
            package, Path(target.keyring), debian_mirror, debian_keyring, runner
        )
    except (KeyringUnavailable, NetworkError) as e:
        raise KeyringUnavailable(
            f"cannot fetch {package} from {debian_mirror} for {target.keyring}: {e}\n"
            f"Install it yourself: apt-get install {package}"
        ) from e
    destination = cache_dir / "keyrings" / Path(target.keyring).name
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as partial:
        partial.write(keyring)
    # apt's gpgv runs as _apt, which must read it (0600 gives NO_PUBKEY).
    os.chmod(partial.name, 0o644)
    os.replace(partial.name, destination)
    runner.log(f"cached {destination}")
    return destination


def download(url: str, timeout: float = 60) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bytes(response.read())
    except (urllib.error.URLError, OSError) as e:
        raise NetworkError(f"cannot download {url}: {getattr(e, 'reason', e)}") from e


def signature_accepted(gpgv_status: str) -> bool:
    """apt's rule: a valid signature, none bad, and no error but a signer
    the keyring does not have (ERRSIG then NO_PUBKEY for that key)."""
    records = [
        line.split()[1:] for line in gpgv_status.splitlines() if line.startswith("[GNUPG:] ")
    ]
    words = {r[0] for r in records if r}
    errors = {r[1] for r in records if len(r) > 1 and r[0] == "ERRSIG"}
    unknown = {r[1] for r in records if len(r) > 1 and r[0] == "NO_PUBKEY"}
    good = {"GOODSIG", "VALIDSIG"} <= words
    return good and not words & REFUSED_SIGNATURES and errors <= unknown


def verified_release(inrelease: bytes, keyring: Path, url: str, runner: Runner) -> str:
    """The signed text of an InRelease file, checked with gpgv as apt checks
    it: one good signature by a key in the keyring is enough (an archive is
    signed by several keys, and an older keyring lacks the newest), and no
    signature may be bad, expired or revoked."""
    with tempfile.TemporaryDirectory(prefix="omero-web-deb-gpgv-") as work:
        signed = Path(work) / "InRelease"
        signed.write_bytes(inrelease)
        plain = Path(work) / "Release"
        try:
            status = runner.call(
                ["gpgv", "--status-fd", "1", "--keyring", str(keyring), "--output", str(plain),
                 str(signed)],
                check=False,
            ).stdout  # fmt: skip
        except CommandFailed as e:
            raise KeyringUnavailable("gpgv is not installed: apt-get install gpgv") from e
        if not signature_accepted(status) or not plain.is_file():
            raise KeyringUnavailable(f"{url} is not signed by a key in {keyring}")
        return plain.read_text()


def checked(data: bytes, expected: ArchiveFile, url: str) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.sha256:
        raise KeyringUnavailable(
            f"{url} has sha256 {actual}, but the signed index says {expected.sha256}"
        )
    return data


def release_entry(release_text: str, path: str) -> ArchiveFile:
    for entry in Release(release_text).get("SHA256", []):
        if entry["name"] == path:
            return ArchiveFile(path, entry["sha256"])
    raise KeyringUnavailable(f"the signed Release file lists no {path}")


def package_entry(index: bytes, package: str) -> ArchiveFile:
    for paragraph in Packages.iter_paragraphs(io.BytesIO(index), use_apt_pkg=False):
        if paragraph.get("Package") == package:
            return ArchiveFile(paragraph["Filename"], paragraph["SHA256"])
    raise KeyringUnavailable(f"the signed index lists no package {package}")


def fetch_keyring_package(
    package: str, member: Path, mirror: str, debian_keyring: Path, runner: Runner
) -> bytes:
    """The keyring file `member` from `package` in the Debian archive."""
    base = f"{mirror.rstrip('/')}/dists/{KEYRING_SUITE}"
    release = verified_release(
        download(f"{base}/InRelease"), debian_keyring, f"{base}/InRelease", runner
    )
    index_url = f"{base}/{INDEX}"
    index = lzma.decompress(checked(download(index_url), release_entry(release, INDEX), index_url))
    entry = package_entry(index, package)
    deb_url = f"{mirror.rstrip('/')}/{entry.path}"
    deb = checked(download(deb_url), entry, deb_url)
    with tempfile.NamedTemporaryFile(suffix=".deb") as file:
        file.write(deb)
        file.flush()
        with DebFile(file.name) as package_file:
            try:
                data = package_file.data.get_content(f".{member}")
            except (DebError, KeyError) as e:  # python-debian before 0.1.49 raises KeyError
                raise KeyringUnavailable(f"{deb_url} holds no {member}") from e
    if not data:
        raise KeyringUnavailable(f"{deb_url} holds no {member}")
    runner.log(f"verified {deb_url} (sha256 {entry.sha256})")
    return bytes(data)
