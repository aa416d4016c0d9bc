"""Resolving a lock in the target's build container.

pip resolves the venv's requirements with the target's own Python (its
version, markers and platform tags decide which distributions and which
wheels); the index says the sha256 of each file.  pip's --report (pip >=
22.2, so a throwaway venv's pip is upgraded first) lists what it chose; the
lock keeps, for each of those releases, every file the target may install
(`installable_files`), and checks that the one pip chose is among them.

IcePy is compiled here, not fetched: pip reads its (dependency-free)
metadata from a stand-in wheel, so resolving never compiles it, and the lock
leaves it out.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from builder.config import ICEPY_VERSION
from builder.context import BuildContext
from builder.errors import BuildError
from builder.paths import LOCK_WORK
from builder.pypi import index_files
from builder.requirement_lock import (
    ICEPY_NAME,
    IndexFile,
    Lock,
    LockedRequirement,
    canonical,
    installable_files,
)
from builder.venv import requested_requirements, target_interpreter

# The interpreter's supported wheel tags, most preferred first, as pip
# computes them (its vendored `packaging`).
SUPPORTED_TAGS = "from pip._vendor.packaging import tags; print(*tags.sys_tags(), sep='\\n')"
STAND_IN = f"zeroc_ice-{ICEPY_VERSION}-py3-none-any.whl"


def icepy_stand_in() -> bytes:
    """A wheel holding only IcePy's metadata (it has no dependencies)."""
    info = f"zeroc_ice-{ICEPY_VERSION}.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for name, text in (
            ("METADATA", f"Metadata-Version: 2.1\nName: {ICEPY_NAME}\nVersion: {ICEPY_VERSION}\n"),
            ("WHEEL", "Wheel-Version: 1.0\nGenerator: omero-web-deb\nRoot-Is-Purelib: true\n"),
            ("RECORD", ""),
        ):
            wheel.writestr(zipfile.ZipInfo(f"{info}/{name}", (1980, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def resolve_lock(context: BuildContext) -> Lock:
    """Resolve the venv's requirements in the build container; hash every
    file the target may install from what the index states."""
    container, config = context.container, context.config
    python = target_interpreter(context)
    venv_python = str(LOCK_WORK / "venv" / "bin" / "python")
    pip = [venv_python, "-m", "pip"]
    report = LOCK_WORK / "report.json"
    hint = "check the network, the proxy variables, PIP_INDEX_URL and --ca-cert"
    container.call(["rm", "-rf", str(LOCK_WORK)])
    container.call([str(python), "-m", "venv", str(LOCK_WORK / "venv")])
    container.call([*pip, "install", "-q", "--upgrade", "pip"], hint=f"pip cannot upgrade: {hint}")
    container.write_file(LOCK_WORK / "stand-in" / STAND_IN, icepy_stand_in())
    requested = requested_requirements(config.omero_web_version)
    container.call(
        [
            *pip,
            "install",
            "--dry-run",
            "--quiet",
            "--ignore-installed",
            "--report",
            str(report),
            "--find-links",
            str(LOCK_WORK / "stand-in"),
            *requested,
        ],
        hint=f"pip could not resolve {' '.join(requested)} for {config.target.name}: {hint}",
    )
    chosen = json.loads(container.call(["cat", str(report)]).stdout)
    tags = container.call([venv_python, "-c", SUPPORTED_TAGS]).stdout.split()
    container.call(["rm", "-rf", str(LOCK_WORK)])
    index_url = config.network.index_url
    return lock_from_report(
        chosen,
        tags,
        lambda name: index_files(index_url, name),
        config.target.name,
        config.target.python,
        config.omero_web_version,
        requested,
    )


def lock_from_report(
    report: Mapping[str, Any],
    supported_tags: Iterable[str],
    served: Callable[[str], Iterable[IndexFile]],
    target: str,
    python: str,
    omero_web_version: str,
    requested: tuple[str, ...],
) -> Lock:
    """The lock of what pip's installation report chose."""
    tags = list(supported_tags)
    requirements = []
    for item in report["install"]:
        name = canonical(item["metadata"]["name"])
        if name == ICEPY_NAME:
            continue
        version = item["metadata"]["version"]
        download = item["download_info"]
        picked = IndexFile(
            download["url"].rsplit("/", 1)[-1].split("#")[0],
            download["archive_info"]["hashes"]["sha256"],
        )
        files = installable_files(served(name), version, tags)
        if picked not in files:
            raise BuildError(
                f"pip chose {picked.filename} (sha256 {picked.sha256}) for {name}=={version}, "
                "but the package index does not list that file with that hash among the "
                f"{len(files)} it serves for {target}; the index changed while resolving, "
                "or PIP_INDEX_URL serves other files than it lists: resolve again"
            )
        requirements.append(LockedRequirement(name, version, files))
    return Lock(
        target,
        python,
        omero_web_version,
        requested,
        tuple(sorted(requirements, key=lambda r: r.name)),
    )
