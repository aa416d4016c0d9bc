"""Where the toolkit's own files are: the omero-web package's sources
(debian/, templates/), the IcePy and app patches, the IcePy build script, and the SBOM's
writer; and the date of those sources, which dates the packages built from
them (source_date_epoch).

Installed from the wheel (pip, pipx) or as the Debian package, debian/ and
templates/ are package data under builder/data/ (pyproject.toml and setup.py
put them there).  In a source checkout (`make`, `pip install -e`) they are
the checkout's own top-level folders, so an edit there is used at once.
Nothing else in the toolkit works out where it is installed.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path

from builder.errors import BuildError

# The folders a build reads, relative to packaging_root().
PACKAGING_FOLDERS = ("debian", "templates")
# Beside them in a wheel, written by setup.py: the date of the packaging
# sources the wheel was built from.  pip dates every file it installs by the
# time of the install, so the files' own times would give each installation
# of one wheel another date, and its packages other bytes.
SOURCE_DATE_STAMP = "SOURCE_DATE_EPOCH"
# Everything the wheel carries under builder/data/ (setup.py's list): the
# requirement locks too, where the checkout has them.
DATA_FOLDERS = (*PACKAGING_FOLDERS, "locks")

_PACKAGE_DIR = Path(str(files("builder")))
_INSTALLED_DATA = _PACKAGE_DIR / "data"
_CHECKOUT = _PACKAGE_DIR.parent


def checkout_root() -> Path | None:
    """The source checkout the toolkit runs from, or None when installed."""
    if _INSTALLED_DATA.is_dir():
        return None
    if all((_CHECKOUT / name).is_dir() for name in PACKAGING_FOLDERS):
        return _CHECKOUT
    return None


def packaging_root() -> Path:
    """The folder holding debian/ and templates/."""
    root = checkout_root() or _INSTALLED_DATA
    missing = [name for name in PACKAGING_FOLDERS if not (root / name).is_dir()]
    if missing:
        # Only a broken installation gets here: say so, not "file not found" later.
        raise BuildError(
            f"omero-web-deb is installed without its {', '.join(missing)} folder(s) in {root}: "
            "reinstall it from its wheel or Debian package"
        )
    return root


def icepy_patches_dir() -> Path:
    """builder/patches/icepy: the series and the patches it names."""
    return _PACKAGE_DIR / "patches" / "icepy"


def app_patches(app_name: str) -> list[Path]:
    """builder/patches/apps/<app>/*.patch, in name order: applied to the
    app's installed files (paths below its site-packages folder)."""
    return sorted((_PACKAGE_DIR / "patches" / "apps" / app_name).glob("*.patch"))


def icepy_build_script() -> Path:
    """The script that patches and compiles IcePy inside the build container."""
    return _PACKAGE_DIR / "icepy_build.py"


def sbom_writer_script() -> Path:
    """The script that writes the CycloneDX SBOM inside the build container."""
    return _PACKAGE_DIR / "write_cyclonedx_sbom.py"


def packaging_files(folder: Path) -> list[Path]:
    """Every file under a packaging folder, in name order, without the
    bytecode that pip and dh_python3 compile beside installed .py files."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def source_date_epoch(
    environ: Mapping[str, str],
    checkout: Path | None = None,
    packaging_root: Path | None = None,
) -> int:
    """SOURCE_DATE_EPOCH if set; in a source checkout, its last commit's
    time; installed from a wheel, the date setup.py stamped it with (this
    same rule, applied where the wheel was built); else the newest file time
    of the packaging sources (a Debian package's keep the times dpkg-deb
    gave them); else now.  Every installation of one wheel or Debian
    package gets the same date.

    A plain subprocess, not the Runner: this is part of computing the
    configuration, before the build log it would write to exists, and git
    failing (no git, a tarball of the tree) is an expected answer, not a
    build error.
    """
    if environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(environ["SOURCE_DATE_EPOCH"])
    if checkout is not None:
        try:
            out = subprocess.run(
                ["git", "-C", str(checkout), "log", "-1", "--format=%ct"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            return int(out)
        except (OSError, subprocess.CalledProcessError, ValueError):
            pass
    if packaging_root is not None:
        stamp = packaging_root / SOURCE_DATE_STAMP
        if stamp.is_file() and stamp.read_text().strip().isdigit():
            return int(stamp.read_text())
        times = [
            int(path.stat().st_mtime)
            for folder in PACKAGING_FOLDERS
            for path in packaging_files(packaging_root / folder)
        ]
        if times:
            return max(times)
    return int(time.time())
