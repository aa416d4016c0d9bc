"""`omero-web-deb app`: app packages built against one omero-web .deb, in
one build container, as a short list of steps."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import docker

from builder.apps.base import OmeroWebDeb, newest_deb, read_omero_web_deb
from builder.apps.install import install_app, remove_pth, unpack_omero_web
from builder.apps.package import (
    AppPackage,
    assemble_app_source,
    build_app_deb,
    collect_app_artifacts,
    staged_root,
)
from builder.apps.request import AppRequest, resolve_apps
from builder.apps.static import collect_app_static
from builder.build import build_container
from builder.config import BuildConfig
from builder.container import docker_client
from builder.context import BuildContext, HostContext
from builder.images import provide_base_image, provide_build_image
from builder.paths import APPS_DIR
from builder.progress import Progress
from builder.runner import Runner
from builder.trust import install_ca_certificates
from builder.venv import check_no_build_paths


@dataclass(frozen=True)
class AppBuildConfig:
    build: BuildConfig  # target, network, caches, maintainer; revision is the apps'
    apps: tuple[str, ...]  # NAME[==VERSION] as typed
    omero_web_deb: Path | None = None  # default: the newest in the output folder


@dataclass(frozen=True)
class BuiltApp:
    package: AppPackage
    files: tuple[Path, ...]  # .deb first, then .buildinfo, .changes, lintian report
    lintian: str


def build_apps(
    config: AppBuildConfig,
    progress: Progress,
    client: docker.DockerClient | None = None,
    runner: Runner | None = None,
) -> list[BuiltApp]:
    runner = runner or Runner(progress.log)
    target = config.build.target
    with progress.step("check inputs"):
        deb = config.omero_web_deb or newest_deb(config.build.output_dir, target)
        omero_web = read_omero_web_deb(deb, target)
        progress.say(f"    against {deb.name}")
        requests = resolve_apps(config.apps, config.build.network.index_url)
        progress.say("    " + ", ".join(f"{r.app.name} {r.version}" for r in requests))
    if client is None:
        with closing(docker_client()) as own_client:
            host = HostContext(config.build, own_client, runner, progress, None)
            return build_apps_with(host, omero_web, requests)
    return build_apps_with(
        HostContext(config.build, client, runner, progress, None), omero_web, requests
    )


def build_apps_with(
    host: HostContext, omero_web: OmeroWebDeb, requests: tuple[AppRequest, ...]
) -> list[BuiltApp]:
    progress = host.progress
    with progress.step(f"base image for {host.config.target.name}"):
        base_image = provide_base_image(host)
    with progress.step("build image"):
        build_image = provide_build_image(host, base_image)
    with build_container(host, build_image) as context:
        install_ca_certificates(context)
        with progress.step("omero-web's venv"):
            pins = unpack_omero_web(context, omero_web.path)
            progress.say(f"    {len(pins)} pinned distributions")
        return [build_app(context, omero_web, pins, request) for request in requests]


def build_app(
    context: BuildContext, omero_web: OmeroWebDeb, pins: dict[str, str], request: AppRequest
) -> BuiltApp:
    progress, app = context.progress, request.app
    with progress.step(f"{app.name} {request.version}"):
        installed = install_app(context, request, pins)
        progress.say(f"    in its folder: {', '.join(installed.entries)}")
        static = collect_app_static(context, app, staged_root(request))
        progress.say(f"    static files: {len(static.files)} in {', '.join(static.labels)}")
        check_no_build_paths(context, (APPS_DIR / app.short, staged_root(request)))
        remove_pth(context, app)
    package = AppPackage(
        installed, omero_web, static, context.config.revision, context.config.target.version_suffix
    )
    with progress.step(f"{app.package} package"):
        assemble_app_source(context, package)
        lintian = build_app_deb(context, package)
        progress.say(f"    lintian: {lintian}")
        files = collect_app_artifacts(context, package)
    return BuiltApp(package, tuple(files), lintian)
