"""Build tools the toolkit runs in the build container, each in a venv of its own.

The toolkit depends only on what every target distribution packages, so
that its Debian package installs with apt alone.  A library that not all of
them package, cyclonedx-python-lib for the SBOM (Debian 13 alone has it),
runs in the build container instead: pip installs it into a venv under the
build root (scratch, never packaged) from its committed lock,
locks/tools/<tool>.txt, every file hash-checked and wheels only, through
the pip cache the build mounts, so a warm build fetches no file again.  The
lock holds pure-Python wheels alone and serves every target
(`omero-web-deb lock --tool`, builder/lock_resolution.py).

The venv is made with the target's python3 and keeps its own pip: the
distributions' pip reads the system's CA store, where builder/trust.py
put the host's extra CAs; a pip from the index would read its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from builder.context import BuildContext
from builder.paths import TOOLS_WORK
from builder.requirement_lock import read_tool_lock, tool_lock_path
from builder.venv import pip_install_locked


@dataclass(frozen=True)
class Tool:
    name: str  # its lock is locks/tools/<name>.txt
    requested: tuple[str, ...]  # what its lock is resolved from


# builder/write_cyclonedx_sbom.py's library: its model and JSON outputter,
# without the json-validation extra (jsonschema pulls in rpds-py, compiled;
# the tests validate the output).  Below 12: the writer is written to 11's API.
CYCLONEDX = Tool("cyclonedx", ("cyclonedx-python-lib>=11.12,<12",))
TOOLS = {tool.name: tool for tool in (CYCLONEDX,)}


def install_tool(context: BuildContext, tool: Tool) -> PurePosixPath:
    """Make the tool's venv from its lock; return the venv's python."""
    container, root = context.container, context.config.project_root
    lock_file = tool_lock_path(root, tool.name)
    lock = read_tool_lock(lock_file, tool.name)
    venv = TOOLS_WORK / tool.name
    requirements = TOOLS_WORK / f"{tool.name}.txt"
    python = venv / "bin" / "python"
    container.call(["rm", "-rf", str(venv)])
    container.call(["python3", "-m", "venv", str(venv)])
    container.write_file(requirements, lock.render().encode())
    pip_install_locked(
        context,
        [str(python), "-m", "pip"],
        ["--only-binary", ":all:"],
        requirements,
        pinned_by=str(lock_file.relative_to(root)),
        remake=f"`omero-web-deb lock --tool {tool.name}`",
        what=f"the {tool.name} build tool",
    )
    return python
