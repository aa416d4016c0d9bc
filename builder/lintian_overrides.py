"""debian/omero-web.lintian-overrides in the form the target's lintian reads.

The file is written for lintian 2.115 and later, whose hints point at a file
in brackets (`tag [opt/omero/web/venv3/*]`) and whose overrides match that
pointer.  Older lintian (2.114, Ubuntu 22.04's) prints the path as plain
context and matches an override's text against it: a bracketed override is
then a mismatched-override, and every hint it meant comes back.  For such a
lintian each override becomes `tag *PATH`: `*` stands for whatever context
comes before the path (`repeated-path-segment webgateway opt/...`), and the
path's own trailing `*` for what follows it (`... please use libjs-jquery`).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from debian.debian_support import Version

POINTED_HINTS_SINCE = Version("2.115")
OVERRIDES = "omero-web.lintian-overrides"

_POINTED = re.compile(r"^(?P<tag>\S+)(?: [^[]*)? \[(?P<path>[^\]]+)\]\s*$")


def reads_pointed_hints(lintian_version: str) -> bool:
    return Version(lintian_version) >= POINTED_HINTS_SINCE


def for_lintian(overrides: str, lintian_version: str) -> str:
    """The override file's text for that lintian version."""
    if reads_pointed_hints(lintian_version):
        return overrides
    lines = []
    for line in overrides.splitlines():
        match = _POINTED.match(line)
        lines.append(f"{match['tag']} *{match['path']}" if match else line)
    return "\n".join(lines) + "\n"


def widened_to(overrides: str, root: PurePosixPath) -> str:
    """OVERRIDES with every override pointed under ROOT pointed at all of
    ROOT, one line per tag: for the apps baked into omero-web (`build
    --app`), PyPI releases installed as the venv's are.  A line of its own
    for the apps' folder would be a mismatched-override for each tag the
    venv has and the apps lack (and the venv's line one for each the apps
    alone have): lintian 2.114 and 2.116 both said so."""
    prefix = f"[{root.relative_to('/')}/"
    lines, seen = [], set()
    for line in overrides.splitlines():
        head, bracket, _ = line.partition(prefix)
        if bracket and line.endswith("]") and not line.startswith("#"):
            line = f"{head}{prefix}*]"
            if line in seen:
                continue
            seen.add(line)
        lines.append(line)
    return "\n".join(lines) + "\n"
