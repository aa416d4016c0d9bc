"""`omero-web-deb check-locks`: do the committed locks still hold?

Run by `make test` before the integration tests: for every committed lock,
the venv's (locks/<target>/) and the build tools' (locks/tools/), the index
must still list each locked file with the locked sha256.  No
container, one request per distribution (PEP 691's JSON index).  A
mismatch fails with the file and both hashes; nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from builder.errors import BuildError
from builder.pypi import index_files
from builder.requirement_lock import (
    IndexFile,
    committed_locks,
    committed_tool_locks,
    compare_with_index,
    parse_lock,
    parse_tool_lock,
)


def check_committed_locks(
    project_root: Path,
    index_url: str,
    ask_index: Callable[[str, str], Iterable[IndexFile]] = index_files,
) -> list[str]:
    """One line per lock checked; BuildError listing every mismatch.
    `ask_index(index_url, name)`: the files the index lists for `name`."""

    @cache
    def served(name: str) -> tuple[IndexFile, ...]:
        return tuple(ask_index(index_url, name))

    checked, problems = [], []
    locks = [
        (path, parse_lock(read(path), str(path)).requirements)
        for path in committed_locks(project_root)
    ]
    if not locks:
        raise BuildError(f"no lock is committed under {project_root / 'locks'}")
    locks += [
        (path, parse_tool_lock(read(path), str(path)).requirements)
        for path in committed_tool_locks(project_root)
    ]
    for path, requirements in locks:
        mismatches = compare_with_index(requirements, served)
        files = sum(len(r.files) for r in requirements)
        name = path.relative_to(project_root)
        checked.append(
            f"{name}: {len(requirements)} distributions, {files} files, "
            f"{'all as locked' if not mismatches else f'{len(mismatches)} changed'}"
        )
        problems += [f"{name}: {m}" for m in mismatches]
    if problems:
        raise BuildError(
            "the package index no longer serves these locked files as locked:\n  "
            + "\n  ".join(problems)
            + f"\nfind out why (a re-uploaded or tampered file?) before anything else; if "
            f"the change is legitimate, refresh the lock with `omero-web-deb lock --target T "
            f"--omero-web-version V` (a build tool's: `omero-web-deb lock --tool NAME`) and "
            f"review the diff ({index_url})"
        )
    return checked


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
