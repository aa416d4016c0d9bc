"""The venv's pins and what installing an app would change.

An app is installed with the venv's own `pip freeze` as constraints, so
nothing the venv pins can change.  First pip resolves the app without
them (`pip install --dry-run --report`): a distribution the venv has that
the resolution wants at another version is a build error naming both,
rather than pip's bare "ResolutionImpossible".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from builder.errors import BuildError
from builder.requirement_lock import IndexFile, LockedRequirement

# Tools the build puts into the venv for pip itself; never pins for an app.
PIP_TOOLS = frozenset({"pip", "setuptools", "wheel"})


def normalise(name: str) -> str:
    """PEP 503: Django, django and DJANGO are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_freeze(text: str) -> dict[str, str]:
    """`pip freeze` output -> normalised name -> version (name==version lines)."""
    pins = {}
    for line in text.splitlines():
        name, separator, version = line.strip().partition("==")
        if separator and name and not line.startswith("#"):
            pins[normalise(name)] = version.strip()
    return {name: version for name, version in pins.items() if name not in PIP_TOOLS}


def constraints(pins: Mapping[str, str]) -> str:
    return "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def planned_installs(report: str) -> dict[str, str]:
    """pip's installation report (--report) -> what it would install."""
    try:
        items = json.loads(report)["install"]
        return {
            normalise(item["metadata"]["name"]): str(item["metadata"]["version"]) for item in items
        }
    except (ValueError, KeyError, TypeError) as e:
        raise BuildError(f"pip's installation report is not what this tool reads: {e}") from e


def locked_installs(report: str, names: Iterable[str]) -> tuple[LockedRequirement, ...]:
    """NAMES' entries of pip's report as a lock pins them: the file pip
    installed and its sha256, as pip checked it (for the SBOM of a package
    the apps are baked into)."""
    wanted = {normalise(name) for name in names}
    locked = []
    try:
        for item in json.loads(report)["install"]:
            name = normalise(item["metadata"]["name"])
            if name not in wanted:
                continue
            info = item["download_info"]
            archive = info["archive_info"]
            # "hashes" since pip 23.1; "hash" (sha256=...) before.
            digest = archive.get("hashes", {}).get("sha256") or archive["hash"].split("=", 1)[1]
            filename = info["url"].rsplit("/", 1)[-1]
            files = (IndexFile(filename, digest),)
            locked.append(LockedRequirement(name, str(item["metadata"]["version"]), files))
    except (ValueError, KeyError, TypeError) as e:
        raise BuildError(f"pip's installation report has no file or sha256 for {e}") from e
    return tuple(sorted(locked, key=lambda r: r.name))


def changed_pins(pins: Mapping[str, str], planned: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(name, pinned, wanted) for each pinned distribution the plan changes."""
    return sorted(
        (name, pins[name], version)
        for name, version in planned.items()
        if name in pins and pins[name] != version
    )


def check_no_pin_changes(
    requirement: str, pins: Mapping[str, str], planned: Mapping[str, str]
) -> None:
    changes = changed_pins(pins, planned)
    if changes:
        listed = "\n  ".join(
            f"{name}: omero-web's venv has {pinned}, {requirement} needs {wanted}"
            for name, pinned, wanted in changes
        )
        raise BuildError(
            f"{requirement} would change versions the omero-web package pins:\n  {listed}\n"
            "An app package cannot replace them (they are omero-web's files): pick a version "
            "of the app that works with these, or build omero-web with the versions it needs."
        )
