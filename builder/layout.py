"""Every path the package installs and every work path inside containers.

Nothing else spells out /opt/omero/web/... : take it from here.
"""

from __future__ import annotations

from pathlib import PurePosixPath

PACKAGE_NAME = "omero-web"
SERVICE_USER = "omero-web"

# The installed layout keeps the official walkthrough's paths.
OMERO_WEB_ROOT = PurePosixPath("/opt/omero/web")
VENV = OMERO_WEB_ROOT / "venv3"
OMERODIR = OMERO_WEB_ROOT / "omero-web"
CONFIG_DIR = PurePosixPath("/etc/omero-web")

# Work paths inside build containers.  The build root has a name that occurs
# nowhere else, so finding it in a packaged file proves a build path leaked.
BUILD_ROOT = PurePosixPath("/omero-web-deb-build")
CA_DIR = PurePosixPath("/usr/local/share/ca-certificates/omero-web-deb")
WHEEL_DIR = BUILD_ROOT / "wheels"
ICEPY_WORK = BUILD_ROOT / "icepy"
PIP_CACHE = PurePosixPath("/root/.cache/pip")

# Where a build writes its ~15,000 files several times over (the venv at its
# installed path, the package tree, lintian's unpacked copy): scratch
# volumes, not the container's layered file system (see
# container.scratch_mounts).
BUILD_SCRATCH = ("/opt", str(BUILD_ROOT), "/tmp")

# Paths that must never appear in a packaged file.
BUILD_PATH_MARKERS = (str(BUILD_ROOT), str(PIP_CACHE))


def source_dir(version: str) -> PurePosixPath:
    """Where the debian/ tree is assembled and dpkg-buildpackage runs."""
    return BUILD_ROOT / f"{PACKAGE_NAME}-{version}"
