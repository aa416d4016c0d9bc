"""One complete repository tree: built beside the served one, signed,
checked, then served by swapping a symlink with rename(2).

Clients see the old tree or the new one, never a mix; a publish that fails
at any step removes its tree and leaves the old one served, untouched.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from builder.repo.debinfo import PackageInfo
from builder.repo.index import (
    ARMORED_KEYRING_NAME,
    KEYRING_NAME,
    SuiteInfo,
    pool_dir,
    render_sources,
    sources_file_name,
    write_packages_index,
    write_release,
)
from builder.repo.layout import RepositoryConfig, RepositoryPaths
from builder.repo.signing import SigningKey, export_public_key, sign_release, verify_release
from builder.runner import Runner
from builder.targets import find_target_by_codename

TREES_KEPT = 2  # the served tree and the one before, for clients mid-download


def pool_path(info: PackageInfo) -> Path:
    """Where a package lives in every tree: one pool folder per suite."""
    assert info.suite is not None, "publish() gives every package its suites"
    return Path("pool", info.suite, info.package, info.pool_name)


def build_tree(
    paths: RepositoryPaths,
    config: RepositoryConfig,
    key: SigningKey,
    previous: Path | None,
    added: Sequence[PackageInfo],
    runner: Runner,
) -> Path:
    staging = paths.releases / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir()
        _link_pool(previous, staging, config.suites)
        for info in added:
            destination = staging / pool_path(info)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(info.path, destination)
        for suite in config.suites:
            write_packages_index(staging, suite, runner, previous)
        _write_client_files(staging, config, key, runner)
        # Checked against the keyring clients already have, when there is one.
        trusted = (previous or staging) / KEYRING_NAME
        for suite in config.suites:
            release = write_release(staging, _suite_info(config, suite), runner)
            sign_release(key, release, runner)
            verify_release(trusted, release, runner)
        _make_readable(staging)
        tree = paths.releases / _next_tree_name(paths)
        staging.rename(tree)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return tree


def _link_pool(previous: Path | None, tree: Path, suites: Sequence[str]) -> None:
    for suite in suites:
        pool_dir(tree, suite).mkdir(parents=True)
        if previous is None or not pool_dir(previous, suite).is_dir():
            continue
        for deb in sorted(pool_dir(previous, suite).rglob("*.deb")):
            destination = tree / deb.relative_to(previous)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.link(deb, destination)


def _write_client_files(
    tree: Path, config: RepositoryConfig, key: SigningKey, runner: Runner
) -> None:
    export_public_key(key, tree / KEYRING_NAME, runner, armor=False)
    export_public_key(key, tree / ARMORED_KEYRING_NAME, runner, armor=True)
    if config.url:
        for suite in config.suites:
            (tree / sources_file_name(suite)).write_text(render_sources(config.url, suite))


def _suite_info(config: RepositoryConfig, suite: str) -> SuiteInfo:
    target = find_target_by_codename(suite)
    name = f"{target.distribution.title()} {target.release}" if target else suite
    return SuiteInfo(suite, config.origin, config.label, f"OMERO.web for {name} ({suite})")


def _make_readable(tree: Path) -> None:
    """World-readable whatever the umask: the web server is another user."""
    for path in [tree, *tree.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _next_tree_name(paths: RepositoryPaths) -> str:
    numbers = [int(p.name) for p in paths.releases.iterdir() if p.name.isdigit()]
    return f"{max(numbers, default=0) + 1:06d}"


def serve(paths: RepositoryPaths, tree: Path) -> None:
    """Point `public` at the new tree: rename(2) replaces the link atomically.
    If that fails, the new tree goes and the old one stays served."""
    link = paths.root / f".public-{uuid.uuid4().hex[:8]}"
    try:
        os.symlink(tree.relative_to(paths.root), link)
        os.replace(link, paths.public)
    except BaseException:
        link.unlink(missing_ok=True)
        shutil.rmtree(tree, ignore_errors=True)
        raise


def prune_trees(paths: RepositoryPaths) -> None:
    served = paths.served_tree()
    trees = sorted(p for p in paths.releases.iterdir() if p.name.isdigit())
    for tree in trees[:-TREES_KEPT]:
        if tree != served:
            shutil.rmtree(tree)
    for leftover in paths.releases.glob(".staging-*"):
        shutil.rmtree(leftover)  # from a publish that was killed


@contextmanager
def locked(paths: RepositoryPaths) -> Iterator[None]:
    """One publish at a time; a second waits."""
    with paths.lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
