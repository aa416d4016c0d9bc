"""An app's debian/ tree (templates/app/), its staged files, the .deb and
lintian's report, copied out to the output folder.

The package's files are staged under root/ in the source folder at their
installed paths: the app's folder, its .pth file in the venv, its static
files and its drop-in (a conffile: debhelper marks every file in /etc).
"""

from __future__ import annotations

import email.utils
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.apps.base import OmeroWebDeb
from builder.apps.install import InstalledApp, app_folder, pth_file
from builder.apps.known import KnownApp
from builder.apps.request import AppRequest
from builder.apps.static import AppStatic
from builder.context import BuildContext
from builder.debian_tree import template_environment
from builder.lintian_overrides import for_lintian
from builder.package import run_lintian
from builder.paths import APPS_DIR, BUILD_ROOT, CONFIG_DIR, path_tokens

DEB_SUFFIXES = (".deb", ".buildinfo", ".changes")


@dataclass(frozen=True)
class AppPackage:
    """What is known of an app's package before it is built."""

    installed: InstalledApp
    omero_web: OmeroWebDeb
    static: AppStatic
    revision: int
    suffix: str  # the target's: deb12

    @property
    def app(self) -> KnownApp:
        return self.installed.request.app

    @property
    def version(self) -> str:
        """8.0.1-1~deb12: the app's version, our revision, the target."""
        upstream = self.installed.request.debian_version
        return f"{upstream}-{self.revision}~{self.suffix}"

    @property
    def architecture(self) -> str:
        """all when everything it ships is pure Python."""
        return "amd64" if self.installed.compiled else "all"

    @property
    def stem(self) -> str:
        return f"{self.app.package}_{self.version}_{self.architecture}"

    @property
    def source_dir(self) -> PurePosixPath:
        return source_dir_for(self.installed.request)

    @property
    def root(self) -> PurePosixPath:
        return staged_root(self.installed.request)

    def artifact(self, suffix: str) -> PurePosixPath:
        return BUILD_ROOT / f"{self.stem}{suffix}"


def source_dir_for(request: AppRequest) -> PurePosixPath:
    return BUILD_ROOT / f"{request.app.package}-{request.debian_version}"


def staged_root(request: AppRequest) -> PurePosixPath:
    """The package's files at their installed paths, below this folder."""
    return source_dir_for(request) / "root"


def render_app_debian(context: BuildContext, package: AppPackage, lintian: str) -> dict[str, str]:
    """File name in debian/ -> text, from templates/app/*.j2."""
    env = template_environment(context.config.project_root)
    app = package.app
    values = {
        "app": app,
        "version": package.installed.request.version,
        "patched": package.installed.patched,
        "package_version": package.version,
        "architecture": package.architecture,
        "omero_web": package.omero_web,
        "target": context.config.target,
        "maintainer": context.config.maintainer,
        "date": email.utils.formatdate(context.config.source_date_epoch, usegmt=False),
        "folder": app_folder(app),
        "dropin": CONFIG_DIR / app.dropin_name,
        "paths": path_tokens(),
    }
    rendered = {}
    for name in env.list_templates(
        filter_func=lambda n: n.startswith("app/") and n.endswith(".j2")
    ):
        rendered[Path(name).name.removesuffix(".j2")] = env.get_template(name).render(values)
    overrides = rendered.pop("lintian-overrides")
    rendered[f"{app.package}.lintian-overrides"] = for_lintian(overrides, lintian)
    return rendered


def assemble_app_source(context: BuildContext, package: AppPackage) -> None:
    """debian/ and root/ in the app's source folder."""
    container, app = context.container, package.app
    lintian = container.call(["dpkg-query", "-W", "-f=${Version}", "lintian"]).stdout.strip()
    files = {
        PurePosixPath("debian") / name: (text.encode(), 0o755 if name == "rules" else 0o644)
        for name, text in render_app_debian(context, package, lintian).items()
    }
    finish = context.config.project_root / "debian" / "finish-deb"
    files[PurePosixPath("debian/finish-deb")] = (finish.read_bytes(), 0o755)
    root = package.root
    dropin = root / CONFIG_DIR.relative_to("/") / app.dropin_name
    files[dropin.relative_to(package.source_dir)] = (
        app.dropin(package.installed.request.version).encode(),
        0o644,
    )
    pth = pth_file(context, app)
    files[(root / pth.relative_to("/")).relative_to(package.source_dir)] = (
        f"{app_folder(app)}\n".encode(),
        0o644,
    )
    container.write_tree(package.source_dir, files)
    apps_root = root / APPS_DIR.relative_to("/")
    container.call(["mkdir", "-p", str(apps_root)])
    container.call(["cp", "-a", str(APPS_DIR / app.short), str(apps_root)])


def build_app_deb(context: BuildContext, package: AppPackage) -> str:
    """dpkg-buildpackage, then lintian; lintian's one-line summary."""
    context.container.call(["dpkg-buildpackage", "-b", "-us", "-uc"], workdir=package.source_dir)
    changes = context.container.call(
        ["sh", "-c", f"ls {BUILD_ROOT}/{package.app.package}_{package.version}_*.changes"]
    ).stdout.split()
    return run_lintian(context, PurePosixPath(changes[0]), package.artifact(".lintian.txt"))


def collect_app_artifacts(context: BuildContext, package: AppPackage) -> list[Path]:
    """Copy the app's .deb, .buildinfo, .changes and lintian report out;
    the output folder gets whole files or none."""
    prefix = f"{package.app.package}_{package.version}_"
    names = context.container.call(
        ["sh", "-c", f"cd {BUILD_ROOT} && ls {prefix}*.buildinfo {prefix}*.changes"]
    ).stdout.split()
    names = [f"{package.stem}.deb", *names, f"{package.stem}.lintian.txt"]
    output_dir = context.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=output_dir, prefix=f".partial-{uuid.uuid4().hex[:6]}-"
    ) as partial:
        for name in names:
            context.container.copy_out(BUILD_ROOT / name, Path(partial))
        for name in names:
            shutil.move(Path(partial) / name, output_dir / name)
    return [output_dir / name for name in names]
