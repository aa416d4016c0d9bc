"""The omero-web .deb an app is built against: found, read, checked.

The .deb is the exact input: its venv is unpacked at its real path in the
build container, and its version and Python ABI (the virtual package it
Provides) go into the app's Depends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from debian.debfile import DebFile
from debian.debian_support import Version

from builder.errors import UsageError
from builder.paths import PACKAGE_NAME
from builder.repo.debinfo import UNREADABLE_DEB_ERRORS
from builder.targets import Target

ABI_PREFIX = f"{PACKAGE_NAME}-abi-"


@dataclass(frozen=True)
class OmeroWebDeb:
    path: Path
    version: str  # the Debian version: 5.33.2-1~deb12
    abi_package: str  # omero-web-abi-cp311

    @property
    def upstream_version(self) -> str:
        """5.33.2: apps accept any Debian revision of it."""
        return self.version.rsplit("-", 1)[0]


def newest_deb(output_dir: Path, target: Target) -> Path:
    """The newest omero-web .deb for TARGET in the output folder."""
    pattern = f"{PACKAGE_NAME}_*~{target.version_suffix}_amd64.deb"
    found = list(output_dir.glob(pattern))
    if not found:
        raise UsageError(
            f"no omero-web package for {target.name} in {output_dir} ({pattern}): build it first "
            f"with `omero-web-deb build --target {target.name}`, or name one with --omero-web-deb"
        )
    return max(found, key=lambda p: Version(p.name.split("_")[1]))


def read_omero_web_deb(path: Path, target: Target) -> OmeroWebDeb:
    """The .deb's version and ABI, checked against the target."""
    try:
        with DebFile(str(path)) as package:
            control = dict(package.debcontrol())
    except UNREADABLE_DEB_ERRORS as e:
        raise UsageError(f"{path} is not a readable .deb: {e}") from e
    if control.get("Package") != PACKAGE_NAME:
        raise UsageError(f"{path} is {control.get('Package')!r}, not the omero-web package")
    version = control["Version"]
    if not version.endswith(f"~{target.version_suffix}"):
        raise UsageError(
            f"{path} ({version}) was not built for {target.name} (~{target.version_suffix}): "
            f"pass --target to match it, or an omero-web .deb built for {target.name}"
        )
    provides = [p.strip().split()[0] for p in control.get("Provides", "").split(",") if p.strip()]
    abis = [p for p in provides if p.startswith(ABI_PREFIX)]
    expected = f"{ABI_PREFIX}{target.python_abi}"
    if abis != [expected]:
        raise UsageError(
            f"{path} provides {', '.join(abis) or 'no omero-web-abi-* package'}, not {expected}: "
            "apps need an omero-web built by this version of omero-web-deb; rebuild it"
        )
    if not re.fullmatch(r"[0-9][0-9A-Za-z.+~]*-[0-9A-Za-z.+~]+", version):
        raise UsageError(f"{path} has an unexpected version {version!r}")
    return OmeroWebDeb(path, version, expected)
