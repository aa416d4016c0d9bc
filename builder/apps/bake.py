"""`omero-web-deb build --app NAME[==VERSION]`: apps baked into the omero-web
package itself, for a facility that wants one package.

The same layout as the app packages (builder/apps/install.py): each app in
APPS_DIR/<short>/site-packages with its .pth file in the venv, its static
files in STATIC_DIR, its drop-in in CONFIG_DIR (a conffile of omero-web's);
debian/rules packages what the build left at those installed paths, and
omero-web then Provides, Conflicts with and Replaces omero-web-app-<short>.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from builder.apps.install import BUILD_TOOLS, PIP, install_app, patch_subject, prepare_pip
from builder.apps.known import KnownApp
from builder.apps.request import AppRequest, parse_app_argument
from builder.apps.static import collect_app_static
from builder.context import BuildContext
from builder.errors import BuildError
from builder.paths import APPS_DIR, CONFIG_DIR, VENV
from builder.requirement_lock import LockedRequirement
from builder.resources import app_patches
from builder.venv import VENV_PYTHON


def baked_apps(requirements: tuple[str, ...]) -> list[KnownApp]:
    """The apps of `BuildConfig.apps` (NAME==VERSION, resolved at the check
    of inputs)."""
    return [parse_app_argument(requirement)[0] for requirement in requirements]


def changelog_entries(requirements: tuple[str, ...]) -> list[dict[str, object]]:
    """What the changelog says of each app baked in: its title, version and
    package, and the subject of each patch install_app applies to it."""
    entries: list[dict[str, object]] = []
    for requirement in requirements:
        app, version = parse_app_argument(requirement)
        patched = [patch_subject(patch) for patch in app_patches(app.name)]
        entries.append(
            {"title": app.title, "version": version, "package": app.package, "patched": patched}
        )
    return entries


@dataclass(frozen=True)
class BakedApps:
    said: tuple[str, ...]  # one line an app, for the build's output
    # What the apps added, as a lock pins it: the build's lock and SBOM
    # then cover everything the package ships.
    requirements: tuple[LockedRequirement, ...]


def bake_apps(context: BuildContext) -> BakedApps:
    """Install the build's apps beside the venv."""
    container = context.container
    pins = prepare_pip(context)
    container.call(["rm", "-rf", str(APPS_DIR)])
    said: list[str] = []
    requirements: list[LockedRequirement] = []
    for requirement in context.config.apps:
        app, version = parse_app_argument(requirement)
        if version is None:
            raise BuildError(f"{requirement}: the build's apps must be resolved to a version")
        installed = install_app(context, AppRequest(app, version), pins)
        static = collect_app_static(context, app, PurePosixPath("/"))
        container.write_file(CONFIG_DIR / app.dropin_name, app.dropin(version).encode())
        requirements.extend(installed.locked)
        said.append(
            f"{app.name} {version}: {len(installed.entries)} entries, {len(static.files)} static files"
        )
    # The venv ships no pip, as without apps (builder/venv.py).
    container.call([*PIP, "uninstall", "-y", "-q", "pip", *BUILD_TOOLS], check=False)
    if container.call([VENV_PYTHON, "-m", "pip", "--version"], check=False).returncode == 0:
        raise BuildError(f"pip is still in {VENV} after baking the apps in")
    return BakedApps(tuple(said), tuple(requirements))
