"""The apt indices of one repository tree, made by apt-ftparchive (apt-utils).

Each suite (a target's codename) has its own pool folder, so
`apt-ftparchive packages pool/<suite>` lists exactly that suite's packages,
every version that was ever published: apt then offers them all, and
`apt install omero-web=<older version>` is a rollback.  apt-ftparchive comes
from apt's own source tree, so its Packages and Release files are what apt
parses; nothing here writes an index field by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.errors import CommandFailed
from builder.paths import ARCHITECTURE
from builder.runner import TAIL_LINES, Runner

COMPONENT = "main"
INDEX_FILES = ("Packages", "Packages.gz")
# apt fetches an index by the strongest hash its Release lists
# (apt-pkg/acquire-item.cc); MD5 and SHA-1 are left out, apt ignores them.
BY_HASH_ALGORITHMS = ("SHA256", "SHA512")

KEYRING_NAME = "omero-web-deb.gpg"
ARMORED_KEYRING_NAME = "omero-web-deb.asc"
CLIENT_KEYRING = PurePosixPath("/etc/apt/keyrings") / KEYRING_NAME
CLIENT_SOURCES = PurePosixPath("/etc/apt/sources.list.d/omero-web-deb.sources")


@dataclass(frozen=True)
class SuiteInfo:
    """What the Release file says about a suite."""

    suite: str  # the codename: bookworm
    origin: str
    label: str
    description: str


def suite_dir(tree: Path, suite: str) -> Path:
    return tree / "dists" / suite


def index_dir(tree: Path, suite: str) -> Path:
    return suite_dir(tree, suite) / COMPONENT / f"binary-{ARCHITECTURE}"


def pool_dir(tree: Path, suite: str) -> Path:
    return tree / "pool" / suite


def sources_file_name(suite: str) -> str:
    """The client .sources file for a suite, as published in the tree."""
    return f"omero-web-deb-{suite}.sources"


_INSTALL_HINT = "apt-ftparchive is in apt-utils: apt-get install apt-utils"


def apt_ftparchive(runner: Runner, argv: Sequence[str], output: Path, *, workdir: Path) -> None:
    """Run apt-ftparchive in `workdir` and write what it prints to `output`:
    its stdout only, so an index never holds one of its warnings."""
    result = runner.call(["apt-ftparchive", *argv], workdir=workdir, hint=_INSTALL_HINT)
    # It reports a broken package as "E: ..." and still exits 0.
    if any(line.startswith("E:") for line in result.stderr.splitlines()):
        tail = "\n".join(result.stderr.splitlines()[-TAIL_LINES:])
        raise CommandFailed(["apt-ftparchive", *argv], 0, tail, _INSTALL_HINT)
    output.write_text(result.stdout, encoding="utf-8")


def write_packages_index(tree: Path, suite: str, runner: Runner, previous: Path | None) -> None:
    """Packages and Packages.gz for a suite, with by-hash copies of this
    generation's and the previous tree's, so a client that read the old
    InRelease just before a publish still finds the indices it names."""
    pool_dir(tree, suite).mkdir(parents=True, exist_ok=True)
    directory = index_dir(tree, suite)
    directory.mkdir(parents=True, exist_ok=True)
    packages = directory / "Packages"
    apt_ftparchive(runner, ["packages", f"pool/{suite}"], packages, workdir=tree)
    # mtime 0: the same Packages gives the same Packages.gz.
    (directory / "Packages.gz").write_bytes(gzip.compress(packages.read_bytes(), 9, mtime=0))
    link_by_hash(directory, directory)
    if previous is not None and index_dir(previous, suite).is_dir():
        link_by_hash(directory, index_dir(previous, suite))


def link_by_hash(directory: Path, source: Path) -> None:
    for name in INDEX_FILES:
        index = source / name
        if not index.is_file():
            continue
        content = index.read_bytes()
        for algorithm in BY_HASH_ALGORITHMS:
            folder = directory / "by-hash" / algorithm
            folder.mkdir(parents=True, exist_ok=True)
            link = folder / hashlib.new(algorithm.lower(), content).hexdigest()
            if not link.exists():
                os.link(index, link)


def write_release(tree: Path, info: SuiteInfo, runner: Runner) -> Path:
    """dists/<suite>/Release, listing the suite's indices and their hashes."""
    release = suite_dir(tree, info.suite) / "Release"
    # Written beside dists/, then moved in: apt-ftparchive would list a
    # half-written Release found in the folder it scans.
    draft = tree / f".Release-{info.suite}"
    fields = {
        "Origin": info.origin,
        "Label": info.label,
        "Suite": info.suite,
        "Codename": info.suite,
        "Architectures": ARCHITECTURE,
        "Components": COMPONENT,
        "Description": info.description,
        "Acquire-By-Hash": "yes",
    }
    options = [f"-oAPT::FTPArchive::Release::{name}={value}" for name, value in fields.items()]
    options += ["-oAPT::FTPArchive::Release::MD5=false", "-oAPT::FTPArchive::Release::SHA1=false"]
    apt_ftparchive(runner, [*options, "release", f"dists/{info.suite}"], draft, workdir=tree)
    draft.rename(release)
    return release


def render_sources(url: str, suite: str, keyring: PurePosixPath = CLIENT_KEYRING) -> str:
    """A deb822 sources file (sources.list(5)) that trusts only our key."""
    return (
        "# OMERO.web packages built by omero-web-deb\n"
        "Types: deb\n"
        f"URIs: {url.rstrip('/')}\n"
        f"Suites: {suite}\n"
        f"Components: {COMPONENT}\n"
        f"Architectures: {ARCHITECTURE}\n"
        f"Signed-By: {keyring}\n"
    )
