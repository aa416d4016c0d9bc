"""The repository's OpenPGP key, with GnuPG: create, export, sign, verify.

apt checks a repository by the signature on its Release file (InRelease,
clearsigned, or Release plus the detached Release.gpg), made by a key the
client holds in /etc/apt/keyrings and names in `Signed-By:`.  Keys are
Ed25519 with SHA-512 signatures: what current apt (gpgv, or sqv since
trixie) accepts without the weak-algorithm warnings RSA-1024/SHA-1 draw.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from builder.errors import CommandFailed, SigningError
from builder.runner import Runner

# GnuPG puts its agent's sockets in GNUPGHOME; a Unix socket path is at
# most 107 bytes (unix(7)), and "/S.gpg-agent.browser" is the longest name.
_LONGEST_SOCKET = "/S.gpg-agent.browser"
_MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class SigningKey:
    gnupghome: Path
    fingerprint: str  # full, upper case: what `Signed-By` and gpg --list-keys print
    passphrase_file: Path | None = None


def _gpg(gnupghome: Path) -> list[str]:
    return ["gpg", "--homedir", str(gnupghome), "--batch", "--no-tty"]


def check_gnupghome(gnupghome: Path) -> None:
    """GnuPG cannot start its agent where the socket path would be too long."""
    if len(str(gnupghome.resolve()) + _LONGEST_SOCKET) > _MAX_SOCKET_PATH:
        raise SigningError(
            f"the GnuPG home {gnupghome} is too deep for gpg-agent's sockets "
            f"(at most {_MAX_SOCKET_PATH - len(_LONGEST_SOCKET)} characters): keep the "
            "repository in a shorter path, or pass --gnupghome with a short one"
        )


def create_signing_key(gnupghome: Path, user_id: str, expiry: str, runner: Runner) -> SigningKey:
    """A new Ed25519 signing key without a passphrase, for unattended publishing.

    Its secrecy is the folder's: GNUPGHOME is made mode 0700.
    """
    check_gnupghome(gnupghome)
    gnupghome.mkdir(mode=0o700, parents=True, exist_ok=True)
    gnupghome.chmod(0o700)
    before = set(secret_key_fingerprints(gnupghome, runner))
    argv = [
        *_gpg(gnupghome), "--pinentry-mode", "loopback", "--passphrase", "",
        "--quick-generate-key", user_id, "ed25519", "sign", expiry,
    ]  # fmt: skip
    runner.call(
        argv,
        hint="GnuPG could not create the key: check that gnupg is installed "
        "(apt-get install gnupg) and that --key-expiry is like 2y, 5y or never",
    )
    created = [f for f in secret_key_fingerprints(gnupghome, runner) if f not in before]
    if len(created) != 1:
        raise SigningError(f"GnuPG made {len(created)} new keys in {gnupghome}, expected one")
    return SigningKey(gnupghome, created[0])


def secret_key_fingerprints(gnupghome: Path, runner: Runner, key: str = "") -> list[str]:
    """Fingerprints of the usable signing keys in GNUPGHOME (matching `key`)."""
    argv = [*_gpg(gnupghome), "--with-colons", "--list-secret-keys"]
    try:
        out = runner.call([*argv, key] if key else argv).stdout
    except CommandFailed:
        return []  # gpg exits 2 when nothing matches
    fingerprints: list[str] = []
    expecting_fingerprint = False
    for line in out.splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            # Field 2 is validity (e expired, r revoked), 12 the capabilities;
            # upper case S: the key or one of its subkeys can sign.
            expecting_fingerprint = fields[1] not in ("e", "r") and "S" in fields[11]
        elif fields[0] == "fpr" and expecting_fingerprint:
            fingerprints.append(fields[9])
            expecting_fingerprint = False
    return fingerprints


def find_signing_key(
    gnupghome: Path, key: str, runner: Runner, passphrase_file: Path | None = None
) -> SigningKey:
    """The one usable secret key in GNUPGHOME that `key` names."""
    check_gnupghome(gnupghome)
    if not gnupghome.is_dir():
        raise SigningError(
            f"no GnuPG home at {gnupghome}: pass --gnupghome where the repository's "
            "secret key is kept"
        )
    found = secret_key_fingerprints(gnupghome, runner, key)
    if len(found) != 1:
        what = "no usable (unexpired, signing) secret key" if not found else "several secret keys"
        raise SigningError(
            f"{what} matching {key!r} in {gnupghome}: pass --gnupghome where the "
            "repository's key is kept and --key with its full fingerprint "
            "(`gpg --homedir DIR --list-secret-keys` lists them)"
        )
    return SigningKey(gnupghome, found[0], passphrase_file)


def export_public_key(key: SigningKey, output: Path, runner: Runner, *, armor: bool) -> None:
    """The public key, as a keyring apt reads from /etc/apt/keyrings."""
    armor_flag = ["--armor"] if armor else []
    argv = [*_gpg(key.gnupghome), "--yes", *armor_flag, "--output", str(output)]
    runner.call([*argv, "--export", key.fingerprint])
    if not output.is_file() or output.stat().st_size == 0:
        raise SigningError(f"GnuPG exported nothing for key {key.fingerprint} from {key.gnupghome}")


def sign_release(key: SigningKey, release: Path, runner: Runner) -> tuple[Path, Path]:
    """InRelease (clearsigned) and Release.gpg (detached) beside `release`."""
    inrelease = release.with_name("InRelease")
    detached = release.with_name("Release.gpg")
    argv = [
        *_gpg(key.gnupghome), "--yes", "--pinentry-mode", "loopback",
        "--local-user", key.fingerprint, "--digest-algo", "SHA512",
    ]  # fmt: skip
    if key.passphrase_file is not None:
        argv += ["--passphrase-file", str(key.passphrase_file)]
    try:
        runner.call([*argv, "--clearsign", "--output", str(inrelease), str(release)])
        runner.call([*argv, "--detach-sign", "--armor", "--output", str(detached), str(release)])
    except CommandFailed as e:
        raise SigningError(
            f"GnuPG could not sign with key {key.fingerprint} from {key.gnupghome}: if the "
            "key has a passphrase, pass --passphrase-file\n" + e.output_tail
        ) from e
    return inrelease, detached


def verify_release(keyring: Path, release: Path, runner: Runner) -> None:
    """Check both signatures with gpgv against the published keyring only, as apt does."""
    gpgv = ["gpgv", "--keyring", str(keyring.resolve())]
    try:
        runner.call([*gpgv, str(release.with_name("InRelease"))])
        runner.call([*gpgv, str(release.with_name("Release.gpg")), str(release)])
    except CommandFailed as e:
        raise SigningError(
            f"the signatures on {release.parent.name}'s Release do not verify with the "
            f"published keyring {keyring.name}: apt would refuse them; check the key "
            "with `gpg --list-secret-keys`\n" + e.output_tail
        ) from e


def stop_agent(gnupghome: Path, runner: Runner) -> None:
    """Stop the gpg-agent started for a GNUPGHOME this tool owns."""
    with contextlib.suppress(CommandFailed):  # nothing to stop
        runner.call(["gpgconf", "--homedir", str(gnupghome), "--kill", "gpg-agent"])
