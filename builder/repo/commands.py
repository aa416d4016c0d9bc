"""An internal apt repository: one signed suite per target, every version kept.

`repo init` makes the repository and its key, `repo publish` adds packages,
`repo client-config` writes what a client installs.  The layout on disk is
layout.py's; how a new tree is built and served atomically, tree.py's;
apt-ftparchive (apt-utils) writes the indices (index.py) and gpg signs them
(signing.py).
"""

from __future__ import annotations

import dataclasses
import filecmp
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Packages
from debian.debian_support import Version

from builder.errors import PackageRejected, RepositoryError, SigningError, UsageError
from builder.paths import ARCHITECTURE
from builder.repo.debinfo import PackageInfo, inspect_deb
from builder.repo.index import KEYRING_NAME, index_dir, render_sources
from builder.repo.layout import RepositoryConfig, RepositoryPaths, load_config, parse_suites
from builder.repo.signing import (
    SigningKey,
    create_signing_key,
    find_signing_key,
    stop_agent,
)
from builder.repo.tree import build_tree, locked, pool_path, prune_trees, serve
from builder.runner import Runner

DEFAULT_KEY_USER_ID = "omero-web-deb repository <omero-web-deb@localhost>"
DEFAULT_KEY_EXPIRY = "5y"


@dataclass(frozen=True)
class SigningOptions:
    """Which key signs: by default the one recorded at `repo init`."""

    gnupghome: Path | None = None
    key: str | None = None
    passphrase_file: Path | None = None


@dataclass(frozen=True)
class PublishResult:
    tree: Path
    added: tuple[PackageInfo, ...] = ()
    unchanged: tuple[PackageInfo, ...] = ()


def init_repository(
    root: Path,
    suites: tuple[str, ...],
    url: str | None,
    signing: SigningOptions,
    runner: Runner,
    *,
    key_user_id: str = DEFAULT_KEY_USER_ID,
    key_expiry: str = DEFAULT_KEY_EXPIRY,
) -> tuple[RepositoryConfig, PublishResult]:
    """A new repository serving empty, signed suites; with a new key unless one is given."""
    paths = RepositoryPaths(root.resolve())
    if paths.config.exists():
        raise RepositoryError(f"{root} is already a repository: publish to it with `repo publish`")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise RepositoryError(f"{root} exists and is not an empty folder: choose a new --repo")
    if signing.key and not signing.gnupghome:
        raise UsageError("--key needs --gnupghome: the GnuPG home that holds the key")
    created = not root.exists()
    try:
        paths.private.mkdir(mode=0o700, parents=True)
        paths.releases.mkdir()
        paths.lock.touch()
        if signing.gnupghome and signing.key:
            key = find_signing_key(signing.gnupghome.resolve(), signing.key, runner,
                                   signing.passphrase_file)  # fmt: skip
        else:
            gnupghome = (signing.gnupghome or paths.own_gnupghome).resolve()
            key = create_signing_key(gnupghome, key_user_id, key_expiry, runner)
        gnupghome = key.gnupghome
        stored = (
            gnupghome.relative_to(paths.root) if gnupghome.is_relative_to(paths.root) else gnupghome
        )
        config = RepositoryConfig(suites, key.fingerprint, str(stored), url)
        with locked(paths):
            tree = build_tree(paths, config, key, None, (), runner)
            serve(paths, tree)
        paths.config.write_text(config.to_json())
    except BaseException:
        _stop_own_agent(paths, runner)
        _remove_contents(root, remove_root=created)
        raise
    _stop_own_agent(paths, runner)
    return config, PublishResult(tree)


def publish(
    root: Path, debs: Sequence[Path], signing: SigningOptions, runner: Runner
) -> PublishResult:
    """Add packages to their suites, keep every older version, re-sign, switch."""
    paths = RepositoryPaths(root.resolve())
    config = load_config(paths)
    packages = [fitted for deb in debs for fitted in _check_fits(inspect_deb(deb), config, paths)]
    try:
        key = _signing_key(paths, config, signing, runner)
        with locked(paths):
            served = paths.served_tree()
            added, unchanged = _plan_additions(served, packages)
            if not added and served is not None:
                return PublishResult(served, (), tuple(unchanged))
            tree = build_tree(paths, config, key, served, added, runner)
            serve(paths, tree)
            prune_trees(paths)
            return PublishResult(tree, tuple(added), tuple(unchanged))
    finally:
        _stop_own_agent(paths, runner)


def client_sources(root: Path, suite: str, url: str | None) -> str:
    """The deb822 .sources text for one suite of this repository."""
    config = load_config(RepositoryPaths(root.resolve()))
    (suite,) = parse_suites([suite])
    if suite not in config.suites:
        raise RepositoryError(f"this repository serves {', '.join(config.suites)}, not {suite}")
    url = url or config.url
    if not url:
        raise UsageError("no URL recorded at `repo init`: pass --url, where clients reach public/")
    return render_sources(url, suite)


def write_client_config(root: Path, suite: str, url: str | None, output: Path) -> list[Path]:
    """The keyring and .sources file to install on a client, in `output`."""
    text = client_sources(root, suite, url)
    served = RepositoryPaths(root.resolve()).served_tree()
    assert served is not None, "an initialised repository always serves a tree"
    output.mkdir(parents=True, exist_ok=True)
    keyring = output / KEYRING_NAME
    shutil.copyfile(served / KEYRING_NAME, keyring)
    sources = output / "omero-web-deb.sources"
    sources.write_text(text)
    return [keyring, sources]


def published_versions(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Suite -> (package, version) pairs served, oldest version first."""
    paths = RepositoryPaths(root.resolve())
    config = load_config(paths)
    served = paths.served_tree()
    result: dict[str, list[tuple[str, str]]] = {}
    for suite in config.suites:
        index = index_dir(served, suite) / "Packages" if served else None
        text = index.read_text() if index and index.is_file() else ""
        stanzas = Packages.iter_paragraphs(text, use_apt_pkg=False)
        pairs = [(str(p["Package"]), str(p["Version"])) for p in stanzas]
        result[suite] = sorted(pairs, key=lambda pair: (pair[0], Version(pair[1])))
    return result


# --- steps ---------------------------------------------------------------


def _check_fits(
    info: PackageInfo, config: RepositoryConfig, paths: RepositoryPaths
) -> list[PackageInfo]:
    """The package once per suite it goes to: its target's, or, for one
    built for any suite (the toolkit's own), every suite served."""
    if info.architecture not in (ARCHITECTURE, "all"):
        raise PackageRejected(
            f"{info.path} is for {info.architecture}; this repository serves {ARCHITECTURE} "
            "(and Architecture: all) packages only"
        )
    if info.suite is None:
        return [dataclasses.replace(info, suite=suite) for suite in config.suites]
    if info.suite not in config.suites:
        raise PackageRejected(
            f"{info.path} is for {info.suite}, which this repository does not serve (it serves "
            f"{', '.join(config.suites)}): publish it to a repository that does, or add "
            f'"{info.suite}" to "suites" in {paths.config} and publish again'
        )
    return [info]


def _signing_key(
    paths: RepositoryPaths, config: RepositoryConfig, signing: SigningOptions, runner: Runner
) -> SigningKey:
    gnupghome = (signing.gnupghome or paths.gnupghome(config)).resolve()
    key = find_signing_key(gnupghome, signing.key or config.fingerprint, runner,
                           signing.passphrase_file)  # fmt: skip
    if key.fingerprint != config.fingerprint:
        raise SigningError(
            f"key {key.fingerprint} is not this repository's: its clients trust "
            f"{config.fingerprint} (the published {KEYRING_NAME}) and apt would refuse "
            "everything signed by another key. Sign with the repository's key (--gnupghome "
            "where it is kept); to change keys, create a new repository with `repo init` and "
            "give clients its keyring"
        )
    return key


def _plan_additions(
    served: Path | None, packages: Sequence[PackageInfo]
) -> tuple[list[PackageInfo], list[PackageInfo]]:
    """New packages, and those already published with the same bytes.

    A published version never changes: clients keep its hashes, and a
    rollback must install what was tested."""
    added: dict[Path, PackageInfo] = {}
    unchanged: list[PackageInfo] = []
    for info in packages:
        relative = pool_path(info)
        existing = served / relative if served is not None else None
        earlier = added.get(relative)
        same_as = existing if existing is not None and existing.is_file() else None
        same_as = same_as or (earlier.path if earlier else None)
        if same_as is None:
            added[relative] = info
        elif filecmp.cmp(same_as, info.path, shallow=False):
            unchanged.append(info)
        else:
            raise PackageRejected(
                f"{info.package} {info.version} is already published for {info.suite} with "
                f"different contents ({info.path}): a published version never changes, clients "
                "keep its hashes. Build it again with a higher --revision"
            )
    return list(added.values()), unchanged


def _stop_own_agent(paths: RepositoryPaths, runner: Runner) -> None:
    if paths.own_gnupghome.is_dir():
        stop_agent(paths.own_gnupghome, runner)


def _remove_contents(root: Path, *, remove_root: bool) -> None:
    if remove_root:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()
