"""Every path the package installs and every work path inside containers.

This is the one place an installed path is written.  The Python side imports
it; the files under debian/ name each path by a token (`@OMERODIR@`) that
builder/debian_tree.py fills in from `INSTALLED` when it assembles the
package source, so a maintainer script, a unit file and the lintian
overrides cannot disagree with the builder or with each other.
"""

from __future__ import annotations

from pathlib import PurePosixPath

PACKAGE_NAME = "omero-web"
SERVICE_USER = "omero-web"
# The one architecture the package is built for: the venv holds compiled
# x86_64 wheels (IcePy, numpy, Pillow, ...).
ARCHITECTURE = "amd64"

# The installed layout keeps the official walkthrough's paths.
OMERO_WEB_ROOT = PurePosixPath("/opt/omero/web")
VENV = OMERO_WEB_ROOT / "venv3"
OMERODIR = OMERO_WEB_ROOT / "omero-web"
# OMERO.web's static files, collected at build time (builder/static.py):
# the package's, read-only, served by nginx (omero.web.static_root).
STATIC_DIR = OMERO_WEB_ROOT / "static"
# OMERO.web apps packaged on their own (omero-web-app-<short>): one folder
# each, APPS_DIR/<short>/site-packages, made visible to the venv by a .pth
# file; omero-web's dpkg trigger watches APPS_DIR (debian/omero-web.triggers).
APPS_DIR = OMERO_WEB_ROOT / "apps"
CONFIG_DIR = PurePosixPath("/etc/omero-web")
STATE_DIR = PurePosixPath("/var/lib/omero-web")
LIB_DIR = PurePosixPath("/usr/lib/omero-web")
LOG_LINK = PurePosixPath("/var/log/omero-web")  # -> OMERODIR/var/log (Debian Policy 10.8)
NGINX_SITE = PurePosixPath("/etc/nginx/sites-available/omero-web")
NGINX_SITE_ENABLED = PurePosixPath("/etc/nginx/sites-enabled/omero-web")

# Token name -> installed path, for the files under debian/.  Each path is
# also offered relative to the root as NAME_REL (`opt/omero/web/venv3`), the
# form debhelper's .install/.dirs files and lintian's overrides use.
INSTALLED: dict[str, PurePosixPath] = {
    "OMERO_WEB_ROOT": OMERO_WEB_ROOT,
    "VENV": VENV,
    "OMERODIR": OMERODIR,
    "STATIC_DIR": STATIC_DIR,
    "APPS_DIR": APPS_DIR,
    "CONFIG_DIR": CONFIG_DIR,
    "STATE_DIR": STATE_DIR,
    "LIB_DIR": LIB_DIR,
    "LOG_LINK": LOG_LINK,
    "NGINX_SITE": NGINX_SITE,
    "NGINX_SITE_ENABLED": NGINX_SITE_ENABLED,
}


def path_tokens() -> dict[str, str]:
    """Token name -> text, for every installed path and the service user."""
    tokens = {"SERVICE_USER": SERVICE_USER}
    for name, path in INSTALLED.items():
        tokens[name] = str(path)
        tokens[f"{name}_REL"] = str(path.relative_to("/"))
    return tokens


# Work paths inside build containers.  The build root has a name that occurs
# nowhere else, so finding it in a packaged file proves a build path leaked.
BUILD_ROOT = PurePosixPath("/omero-web-deb-build")
CA_DIR = PurePosixPath("/usr/local/share/ca-certificates/omero-web-deb")
WHEEL_DIR = BUILD_ROOT / "wheels"
ICEPY_WORK = BUILD_ROOT / "icepy"
# Where a lock is resolved (builder/lock_resolution.py), and the requirements
# file pip installs the venv from: the lock plus the IcePy wheel's hash.
LOCK_WORK = BUILD_ROOT / "lock"
VENV_REQUIREMENTS = BUILD_ROOT / "venv-requirements.txt"
# The build tools' venvs (builder/tool_venv.py), and where the SBOM's
# description and writer wait for the cyclonedx one (builder/sbom.py):
# under the build root, so never in the package.
TOOLS_WORK = BUILD_ROOT / "tools"
SBOM_WORK = BUILD_ROOT / "sbom"
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


def artifact_stem(version: str) -> str:
    """`omero-web_<version>_amd64`: the name dpkg-buildpackage gives the
    .deb, .buildinfo and .changes, and ours for the lintian report and log."""
    return f"{PACKAGE_NAME}_{version}_{ARCHITECTURE}"
