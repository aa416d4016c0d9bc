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

A build tool's lock (builder/tool_venv.py) is resolved the same way, on the
target with the oldest Python, and keeps pure-Python wheels alone: one lock
then installs on every target.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    ToolLock,
    canonical,
    installable_files,
)
from builder.tool_venv import Tool
from builder.venv import requested_requirements, target_interpreter

# The interpreter's supported wheel tags, most preferred first, as pip
# computes them (its vendored `packaging`).
SUPPORTED_TAGS = "from pip._vendor.packaging import tags; print(*tags.sys_tags(), sep='\\n')"
STAND_IN = f"zeroc_ice-{ICEPY_VERSION}-py3-none-any.whl"
# What a pure-Python wheel supports whatever the interpreter: a build tool's
# lock keeps these alone (py3-none-any, py2.py3-none-any).
PURE_PYTHON_TAGS = ("py3-none-any",)
HINT = "check the network, the proxy variables, PIP_INDEX_URL and --ca-cert"


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
    config = context.config
    requested = requested_requirements(config.omero_web_version)
    report, tags = pip_report(context, requested, {STAND_IN: icepy_stand_in()})
    index_url = config.network.index_url
    return lock_from_report(
        report,
        tags,
        lambda name: index_files(index_url, name),
        config.target.name,
        config.target.python,
        config.omero_web_version,
        requested,
    )


def resolve_tool_lock(context: BuildContext, tool: Tool) -> ToolLock:
    """Resolve a build tool's venv in the build container: pure-Python
    wheels alone, each hashed from what the index states."""
    config = context.config
    report, _ = pip_report(context, tool.requested, {})
    index_url = config.network.index_url
    chosen = [chosen_file(item).filename for item in report["install"]]
    compiled = [name for name in chosen if not name.endswith("-none-any.whl")]
    if compiled:
        raise BuildError(
            f"the {tool.name} build tool needs {', '.join(compiled)}, which is not a "
            "pure-Python wheel: its lock must serve every target; request versions that "
            "have pure-Python wheels (builder/tool_venv.py)"
        )
    requirements = locked_requirements(
        report["install"],
        PURE_PYTHON_TAGS,
        lambda name: index_files(index_url, name),
        "every target (pure-Python wheels)",
    )
    return ToolLock(tool.name, config.target.python, tool.requested, requirements)


def pip_report(
    context: BuildContext, requested: Sequence[str], stand_ins: Mapping[str, bytes]
) -> tuple[Mapping[str, Any], list[str]]:
    """pip's installation report for `requested`, resolved in a throwaway
    venv of the target's Python (with `stand_ins`, wheel name -> bytes, to
    find besides the index), and that Python's supported wheel tags."""
    container, config = context.container, context.config
    python = target_interpreter(context)
    venv_python = str(LOCK_WORK / "venv" / "bin" / "python")
    pip = [venv_python, "-m", "pip"]
    report = LOCK_WORK / "report.json"
    container.call(["rm", "-rf", str(LOCK_WORK)])
    container.call([str(python), "-m", "venv", str(LOCK_WORK / "venv")])
    container.call([*pip, "install", "-q", "--upgrade", "pip"], hint=f"pip cannot upgrade: {HINT}")
    for name, wheel in stand_ins.items():
        container.write_file(LOCK_WORK / "stand-in" / name, wheel)
    find_links = ["--find-links", str(LOCK_WORK / "stand-in")] if stand_ins else []
    container.call(
        [
            *pip,
            "install",
            "--dry-run",
            "--quiet",
            "--ignore-installed",
            "--report",
            str(report),
            *find_links,
            *requested,
        ],
        hint=f"pip could not resolve {' '.join(requested)} for {config.target.name}: {HINT}",
    )
    chosen = json.loads(container.call(["cat", str(report)]).stdout)
    tags = container.call([venv_python, "-c", SUPPORTED_TAGS]).stdout.split()
    container.call(["rm", "-rf", str(LOCK_WORK)])
    return chosen, tags


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
    items = [i for i in report["install"] if canonical(i["metadata"]["name"]) != ICEPY_NAME]
    return Lock(
        target,
        python,
        omero_web_version,
        requested,
        locked_requirements(items, supported_tags, served, target),
    )


def locked_requirements(
    items: Iterable[Mapping[str, Any]],
    supported_tags: Iterable[str],
    served: Callable[[str], Iterable[IndexFile]],
    where: str,
) -> tuple[LockedRequirement, ...]:
    """Each release pip's report chose (its `install` items), with every
    file of it the index serves that `supported_tags` allow: the files pip
    may install `where` (a target, or every one)."""
    tags = list(supported_tags)
    requirements = []
    for item in items:
        name = canonical(item["metadata"]["name"])
        version = item["metadata"]["version"]
        picked = chosen_file(item)
        files = installable_files(served(name), version, tags)
        if picked not in files:
            raise BuildError(
                f"pip chose {picked.filename} (sha256 {picked.sha256}) for {name}=={version}, "
                "but the package index does not list that file with that hash among the "
                f"{len(files)} it serves for {where}; the index changed while resolving, "
                "or PIP_INDEX_URL serves other files than it lists: resolve again"
            )
        requirements.append(LockedRequirement(name, version, files))
    return tuple(sorted(requirements, key=lambda r: r.name))


def chosen_file(item: Mapping[str, Any]) -> IndexFile:
    """The file pip's report says it chose for one release."""
    download = item["download_info"]
    return IndexFile(
        download["url"].rsplit("/", 1)[-1].split("#")[0],
        download["archive_info"]["hashes"]["sha256"],
    )
