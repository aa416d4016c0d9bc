"""An app installed beside omero-web's venv, in the build container.

omero-web's .deb is unpacked (its OMERO_WEB_ROOT), so the venv is at its
real path exactly as shipped.  pip goes into it for the build only.  Each app is
installed into the venv constrained by the venv's own `pip freeze`; what is
new in site-packages afterwards (the app and any dependency the venv
lacks) moves to the app's own folder, APPS_DIR/<short>/site-packages,
patched where the project must (builder/patches/apps/) and compiled to
hash-checked bytecode like the venv.  A `.pth` file in the
venv's site-packages names that folder: the app package ships it, a file
of its own, so no file omero-web owns is ever edited.  Apps are installed
one after another, each against the bare venv: an app never relies on a
dependency another app's package brings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.apps.freeze import (
    check_no_pin_changes,
    constraints,
    locked_installs,
    parse_freeze,
    planned_installs,
)
from builder.apps.known import KnownApp
from builder.apps.request import AppRequest
from builder.context import BuildContext
from builder.errors import BuildError
from builder.paths import APPS_DIR, BUILD_ROOT, OMERO_WEB_ROOT, VENV
from builder.requirement_lock import LockedRequirement
from builder.resources import app_patches
from builder.venv import VENV_PYTHON, compile_bytecode

APPS_WORK = BUILD_ROOT / "apps"
CONSTRAINTS = APPS_WORK / "venv-constraints.txt"
PIP = (VENV_PYTHON, "-m", "pip")
# pip's --dry-run --report came with pip 22.2; Ubuntu 22.04's ensurepip has 22.0.
PIP_FOR_REPORTS = "pip>=23.1"
BUILD_TOOLS = ("setuptools", "wheel")
# A patch applies whole or not at all: no fuzz, and no .orig file to ship.
PATCH = ("patch", "-p1", "--forward", "--batch", "--fuzz=0", "--no-backup-if-mismatch")


def site_packages(context: BuildContext) -> PurePosixPath:
    return VENV / "lib" / f"python{context.config.target.python}" / "site-packages"


def app_folder(app: KnownApp) -> PurePosixPath:
    """APPS_DIR/<short>/site-packages: what the .pth file names."""
    return APPS_DIR / app.short / "site-packages"


def pth_file(context: BuildContext, app: KnownApp) -> PurePosixPath:
    return site_packages(context) / f"{app.package}.pth"


def unpack_omero_web(context: BuildContext, deb: Path) -> dict[str, str]:
    """omero-web's files at their installed paths, pip in its venv; the
    venv's pins."""
    container = context.container
    container.copy_into(deb, APPS_WORK)
    # Its files under OMERO_WEB_ROOT only: `dpkg -x` to / would also unpack
    # its ./lib/ (systemd units on bookworm) over the merged-/usr link.
    member = f"./{OMERO_WEB_ROOT.relative_to('/')}"
    container.sh(f"dpkg-deb --fsys-tarfile {APPS_WORK / deb.name} | tar -xf - -C / {member}")
    pins = prepare_pip(context)
    if "omero-web" not in pins:
        raise BuildError(f"{deb.name} has no omero-web in its venv ({VENV})")
    return pins


def prepare_pip(context: BuildContext) -> dict[str, str]:
    """pip in the venv for the build only (omero-web ships none), and
    nothing else: a setuptools an app needs at runtime must then come with
    the app.  The venv's pins (its `pip freeze` before any app), written as
    the constraints every app is installed with."""
    container = context.container
    container.call([VENV_PYTHON, "-m", "ensurepip", "--default-pip"])
    container.call([*PIP, "uninstall", "-y", "-q", *BUILD_TOOLS], check=False)
    pins = parse_freeze(container.call([*PIP, "freeze"]).stdout)
    reports = container.call([*PIP, "install", "--help"]).stdout
    if "--report" not in reports:
        container.call([*PIP, "install", "-q", "--no-compile", PIP_FOR_REPORTS])
    container.write_file(CONSTRAINTS, constraints(pins).encode())
    return pins


def listing(context: BuildContext, folder: PurePosixPath) -> set[str]:
    return set(context.container.call(["ls", "-A", str(folder)]).stdout.split())


@dataclass(frozen=True)
class InstalledApp:
    request: AppRequest
    entries: tuple[str, ...]  # what moved into its folder
    compiled: bool  # ships a compiled extension (Architecture: amd64)
    locked: tuple[LockedRequirement, ...] = ()  # the distributions it added, hashed
    patched: tuple[str, ...] = ()  # the Subject: of each patch applied


def install_app(context: BuildContext, request: AppRequest, pins: dict[str, str]) -> InstalledApp:
    container, app = context.container, request.app
    site = site_packages(context)
    before, bin_before = listing(context, site), listing(context, VENV / "bin")
    report = container.call(
        [*PIP, "install", "--dry-run", "--quiet", "--report", "-", request.requirement],
        hint=f"pip could not resolve {request.requirement} for this venv",
    )
    planned = planned_installs(report.stdout)
    check_no_pin_changes(request.requirement, pins, planned)
    added = [name for name in planned if name not in pins and name not in BUILD_TOOLS]
    container.call(
        [
            *PIP,
            "install",
            "-q",
            "--no-compile",
            "--no-warn-script-location",
            "-c",
            str(CONSTRAINTS),
            request.requirement,
        ],
        hint=f"pip could not install {request.requirement} within the venv's pins",
    )
    after = parse_freeze(container.call([*PIP, "freeze"]).stdout)
    check_no_pin_changes(request.requirement, pins, after)
    # omero-web's venv ships without setuptools and wheel (builder/venv.py),
    # which django-pipeline's metadata still names: pip adds them for any
    # app that requires omero-web.  The service runs without them, as
    # omero-web itself does; no app ships them.
    container.call([*PIP, "uninstall", "-y", "-q", *BUILD_TOOLS], check=False)
    new = sorted(listing(context, site) - before)
    scripts = sorted(listing(context, VENV / "bin") - bin_before)
    if scripts:
        # Command-line tools of a dependency: the service never runs them,
        # and the venv's bin/ is omero-web's.
        container.call(["rm", "-f", *(str(VENV / "bin" / name) for name in scripts)])
    folder = app_folder(app)
    container.call(["rm", "-rf", str(folder)])
    container.call(["mkdir", "-p", str(folder)])
    if new:
        container.call(["mv", *(str(site / name) for name in new), str(folder)])
    check_is_django_app(context, app, folder)
    patched = apply_patches(context, request, folder)
    if app.unused:
        container.call(["rm", "-f", *(str(folder / app.module / name) for name in app.unused)])
    compile_bytecode(context, folder)
    container.write_file(pth_file(context, app), f"{folder}\n".encode())
    extensions = container.call(["find", str(folder), "-name", "*.so"]).stdout.strip()
    locked = locked_installs(report.stdout, added)
    return InstalledApp(
        request, tuple(new), compiled=bool(extensions), locked=locked, patched=patched
    )


def check_is_django_app(context: BuildContext, app: KnownApp, folder: PurePosixPath) -> None:
    """The distribution holds the Django app the table names."""
    module = folder / app.module
    found = context.container.call(
        ["sh", "-c", 'test -f "$1/__init__.py" && { test -f "$1/urls.py" || test -f "$1/apps.py"; }',
         "sh", str(module)],
        check=False,
    )  # fmt: skip
    if found.returncode != 0:
        raise BuildError(
            f"{app.name} installed no Django app {app.module} (no {module}/__init__.py with "
            "urls.py or apps.py): it is not an OMERO.web app this tool can package"
        )


def apply_patches(
    context: BuildContext, request: AppRequest, folder: PurePosixPath
) -> tuple[str, ...]:
    """The project's patches for the app (builder/patches/apps/<name>/), in
    name order, to its installed files: each must apply whole.  Their
    subjects, for the package's changelog."""
    subjects = []
    for patch in app_patches(request.app.name):
        inside = APPS_WORK / "patches" / request.app.name
        context.container.copy_into(patch, inside)
        applied = context.container.call(
            [*PATCH, "-i", str(inside / patch.name)],
            workdir=folder,
            check=False,
        )
        if applied.returncode != 0:
            raise BuildError(
                f"the patch {patch.name} does not apply to {request.app.name} "
                f"{request.version}:\n{applied.output.strip()}\n"
                f"build a version it was written for, or refresh it in {patch.parent} "
                "(remove it if this release has the fix)"
            )
        subjects.append(patch_subject(patch))
    return tuple(subjects)


def patch_subject(patch: Path) -> str:
    """A DEP-3 header's Subject:, else the file's name."""
    for line in patch.read_text().splitlines():
        if line.startswith("Subject:"):
            return line.removeprefix("Subject:").strip()
        if line.startswith("---"):
            break
    return patch.name


def remove_pth(context: BuildContext, app: KnownApp) -> None:
    """The next app is installed against the bare venv."""
    context.container.call(["rm", "-f", str(pth_file(context, app))])
