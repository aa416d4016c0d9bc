"""The lock: every Python distribution of the venv, pinned by version and
by the sha256 of each file pip may install on the target.

One lock per target and omero-web version, committed as
locks/<target>/omero-web-<version>.txt and installed with `pip install
--require-hashes`, so a file the index serves differently tomorrow (a
compromised mirror, a re-uploaded release) stops the build instead of
entering the package.  The file is a pip requirements file; the comments
above each requirement name the files its hashes belong to, in the same
order, so a mismatch can name the file.  IcePy is not in it: it is not on
the index as a wheel, and its wheel is pinned by its own hash at build time
(`install_requirements`).

A build tool that runs in the build container (builder/tool_venv.py) has a
lock of the same form, locks/tools/<tool>.txt (`ToolLock`): one for every
target, since it holds pure-Python wheels only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from builder.config import ICEPY_VERSION
from builder.errors import BuildError

LOCKS_DIR = "locks"
TOOL_LOCKS_DIR = "tools"
ICEPY_NAME = "zeroc-ice"
_HEADER = re.compile(r"^# (target|tool|python|omero-web|requested): (.+)$")
_REQUIREMENT = re.compile(r"^([a-z0-9][a-z0-9.-]*)==(\S+) \\$")
_HASH = re.compile(r"^ {4}--hash=sha256:([0-9a-f]{64})( \\)?$")
_FILE_COMMENT = re.compile(r"^# (\S+\.(?:whl|tar\.gz|zip))$")


@dataclass(frozen=True)
class IndexFile:
    """One file of a release as the index lists it."""

    filename: str
    sha256: str


@dataclass(frozen=True)
class LockedRequirement:
    name: str  # canonical (PEP 503): django, zope-interface
    version: str
    files: tuple[IndexFile, ...]


@dataclass(frozen=True)
class Lock:
    target: str
    python: str
    omero_web_version: str
    requested: tuple[str, ...]
    requirements: tuple[LockedRequirement, ...]

    def render(self) -> str:
        lines = [
            "# The venv's Python distributions (all but IcePy, which the build pins by",
            "# its wheel's hash), each with the sha256 of every file pip may install on",
            "# this target; installed with `pip install --require-hashes`.",
            f"# Made by `omero-web-deb lock --target {self.target} "
            f"--omero-web-version {self.omero_web_version}`.",
            f"# target: {self.target}",
            f"# python: {self.python}",
            f"# omero-web: {self.omero_web_version}",
            f"# requested: {' '.join(self.requested)}",
        ]
        return "\n".join(lines + hashed_requirement_lines(self.requirements)) + "\n"

    @property
    def sha256(self) -> str:
        """The hash of the lock file: what the build records as its input."""
        return hashlib.sha256(self.render().encode()).hexdigest()

    def requirements_text(self) -> str:
        """`name==version` lines, as `pip freeze` writes them (IcePy apart)."""
        return "".join(f"{r.name}=={r.version}\n" for r in self.requirements)


@dataclass(frozen=True)
class ToolLock:
    """A build tool's venv: pure-Python wheels, so one lock serves every
    target; resolved with the targets' oldest Python, whose markers ask for
    the most (typing_extensions below 3.13)."""

    tool: str
    python: str  # the Python it was resolved with
    requested: tuple[str, ...]
    requirements: tuple[LockedRequirement, ...]

    def render(self) -> str:
        lines = [
            f"# The {self.tool} build tool's Python distributions, pure-Python wheels for",
            "# every target, each with its sha256; installed in the build container with",
            "# `pip install --require-hashes --only-binary :all:`.",
            f"# Made by `omero-web-deb lock --tool {self.tool}`.",
            f"# tool: {self.tool}",
            f"# python: {self.python}",
            f"# requested: {' '.join(self.requested)}",
        ]
        return "\n".join(lines + hashed_requirement_lines(self.requirements)) + "\n"


def hashed_requirement_lines(requirements: Iterable[LockedRequirement]) -> list[str]:
    """`name==version` with a --hash per file, each file named in a comment above."""
    lines = []
    for requirement in requirements:
        lines += [f"# {file.filename}" for file in requirement.files]
        lines.append(f"{requirement.name}=={requirement.version} \\")
        hashes = [f"    --hash=sha256:{file.sha256}" for file in requirement.files]
        lines += [line + " \\" for line in hashes[:-1]] + hashes[-1:]
    return lines


def lock_path(project_root: Path, target: str, omero_web_version: str) -> Path:
    """Where the committed lock of this target and version lives."""
    return project_root / LOCKS_DIR / target / f"omero-web-{omero_web_version}.txt"


def tool_lock_path(project_root: Path, tool: str) -> Path:
    return project_root / LOCKS_DIR / TOOL_LOCKS_DIR / f"{tool}.txt"


def parse_lock(text: str, where: str) -> Lock:
    """The lock in `text`; a file that is not one (hand-edited, truncated)
    is refused with the line at fault."""
    header, requirements = parse_hashed_requirements(
        text, where, ("target", "python", "omero-web", "requested"), "`omero-web-deb lock`"
    )
    return Lock(
        header["target"],
        header["python"],
        header["omero-web"],
        tuple(header["requested"].split()),
        requirements,
    )


def parse_tool_lock(text: str, where: str) -> ToolLock:
    header, requirements = parse_hashed_requirements(
        text, where, ("tool", "python", "requested"), "`omero-web-deb lock --tool`"
    )
    return ToolLock(
        header["tool"], header["python"], tuple(header["requested"].split()), requirements
    )


def parse_hashed_requirements(
    text: str, where: str, required: tuple[str, ...], remake: str
) -> tuple[dict[str, str], tuple[LockedRequirement, ...]]:
    """A lock's header fields (each of `required` present) and its hashed
    requirements; a damaged file is refused with the line at fault and
    `remake`, the command that makes it anew."""
    header: dict[str, str] = {}
    requirements: list[LockedRequirement] = []
    filenames: list[str] = []
    current: tuple[str, str] | None = None
    hashes: list[str] = []

    def fail(number: int, why: str) -> BuildError:
        return BuildError(f"{where}:{number}: {why}; make the lock anew with {remake}")

    def finish(number: int) -> None:
        nonlocal current, hashes, filenames
        if current is None:
            return
        if len(hashes) != len(filenames) or not hashes:
            raise fail(number, f"{current[0]} has {len(hashes)} hashes for {len(filenames)} files")
        files = tuple(IndexFile(f, h) for f, h in zip(filenames, hashes, strict=True))
        requirements.append(LockedRequirement(current[0], current[1], files))
        current, hashes, filenames = None, [], []

    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if current is not None:
            match = _HASH.match(line)
            if not match:
                raise fail(number, f"expected a --hash line for {current[0]}, found {line!r}")
            hashes.append(match.group(1))
            if not match.group(2):
                finish(number)
            continue
        if (match := _HEADER.match(line)) is not None:
            header[match.group(1)] = match.group(2)
        elif (match := _FILE_COMMENT.match(line)) is not None:
            filenames.append(match.group(1))
        elif (match := _REQUIREMENT.match(line)) is not None:
            current = (match.group(1), match.group(2))
        elif line and not line.startswith("#"):
            raise fail(number, f"not a locked requirement: {line!r}")
    if current is not None:
        raise fail(len(lines), f"{current[0]} ends without its last hash")
    missing = [key for key in required if key not in header]
    if missing:
        raise fail(1, f"the header lacks {', '.join(missing)}")
    return header, tuple(requirements)


def read_lock(path: Path, target: str, omero_web_version: str) -> Lock:
    lock = parse_lock(path.read_text(encoding="utf-8"), str(path))
    if (lock.target, lock.omero_web_version) != (target, omero_web_version):
        raise BuildError(
            f"{path} is the lock of omero-web {lock.omero_web_version} for {lock.target}, "
            f"not of {omero_web_version} for {target}; make it anew with "
            f"`omero-web-deb lock --target {target} --omero-web-version {omero_web_version}`"
        )
    return lock


def read_tool_lock(path: Path, tool: str) -> ToolLock:
    if not path.is_file():
        raise BuildError(
            f"the {tool} build tool has no lock at {path}: the toolkit is incomplete; "
            f"reinstall it, or in a checkout make the lock with `omero-web-deb lock --tool {tool}`"
        )
    lock = parse_tool_lock(path.read_text(encoding="utf-8"), str(path))
    if lock.tool != tool:
        raise BuildError(
            f"{path} is the lock of the {lock.tool} build tool, not of {tool}; make it anew "
            f"with `omero-web-deb lock --tool {tool}`"
        )
    return lock


def install_requirements(lock: Lock, icepy_sha256: str) -> str:
    """What pip installs the venv from: the lock plus the IcePy wheel, pinned
    by the hash of the wheel this build uses."""
    icepy = f"{ICEPY_NAME}=={ICEPY_VERSION} \\\n    --hash=sha256:{icepy_sha256}\n"
    return lock.render() + icepy


def release_version(filename: str) -> Version | None:
    """The version in a wheel's or sdist's file name; None for other files."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def installable_files(
    index_files: Iterable[IndexFile], version: str, supported_tags: Iterable[str]
) -> tuple[IndexFile, ...]:
    """The files of `version` pip may install where `supported_tags` (the
    target interpreter's, `cp311-cp311-manylinux_2_36_x86_64`, ...) hold: its
    compatible wheels, else its sdist."""
    wanted = Version(version)
    tags = set(supported_tags)
    wheels, sdists = [], []
    for file in index_files:
        if release_version(file.filename) != wanted:
            continue
        if file.filename.endswith(".whl"):
            if any(str(tag) in tags for tag in parse_wheel_filename(file.filename)[3]):
                wheels.append(file)
        else:
            sdists.append(file)
    return tuple(sorted(wheels or sdists, key=lambda f: f.filename))


@dataclass(frozen=True)
class Mismatch:
    """A locked file the index no longer serves as locked."""

    requirement: str
    filename: str
    locked_sha256: str
    served_sha256: str | None  # None: the index no longer lists the file

    def __str__(self) -> str:
        served = self.served_sha256 or "nothing (the file is gone from the index)"
        return (
            f"{self.requirement}: {self.filename}: the lock has sha256 {self.locked_sha256}, "
            f"the index serves {served}"
        )


def compare_with_index(
    requirements: Iterable[LockedRequirement], served: Callable[[str], Iterable[IndexFile]]
) -> list[Mismatch]:
    """Every locked file whose hash the index (`served(name)`: the files it
    lists for a distribution) no longer agrees with."""
    mismatches = []
    for requirement in requirements:
        by_name: Mapping[str, str] = {f.filename: f.sha256 for f in served(requirement.name)}
        for file in requirement.files:
            now = by_name.get(file.filename)
            if now != file.sha256:
                mismatches.append(Mismatch(requirement.name, file.filename, file.sha256, now))
    return mismatches


def committed_locks(project_root: Path) -> list[Path]:
    return sorted((project_root / LOCKS_DIR).glob("*/omero-web-*.txt"))


def committed_tool_locks(project_root: Path) -> list[Path]:
    return sorted((project_root / LOCKS_DIR / TOOL_LOCKS_DIR).glob("*.txt"))


def canonical(name: str) -> str:
    return str(canonicalize_name(name))
