"""One build: a short list of verb-named steps over a context (context.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import docker

from builder.apps.bake import bake_apps
from builder.apps.request import resolve_apps
from builder.build_record import image_identity, write_build_records
from builder.config import BuildConfig
from builder.container import Container, docker_client
from builder.context import BuildContext, HostContext
from builder.errors import UsageError
from builder.icepy import provide_icepy_wheel, resolve_given_wheel
from builder.images import provide_base_image, provide_build_image
from builder.lock_resolution import resolve_lock, resolve_tool_lock
from builder.package import (
    Artifacts,
    assemble_source,
    build_deb,
    collect_artifacts,
    run_lintian,
)
from builder.paths import APPS_DIR, BUILD_SCRATCH, PIP_CACHE, STATIC_DIR, VENV, artifact_stem
from builder.progress import Progress
from builder.pypi import check_release_exists
from builder.requirement_lock import Lock, lock_path, read_lock, tool_lock_path
from builder.runner import Runner
from builder.static import collect_static, leave_out_collected_sources
from builder.tool_venv import CYCLONEDX, Tool, install_tool
from builder.trust import install_ca_certificates
from builder.venv import check_no_build_paths, compile_bytecode, create_venv, trim_venv

T = TypeVar("T")


@dataclass(frozen=True)
class BuildResult:
    artifacts: Artifacts
    timings: tuple[tuple[str, float], ...]


def build(
    config: BuildConfig,
    progress: Progress,
    client: docker.DockerClient | None = None,
    runner: Runner | None = None,
) -> BuildResult:
    runner = runner or Runner(progress.log)
    with progress.step("check inputs"):
        icepy_wheel = resolve_given_wheel(config)
        check_release_exists(config.network.index_url, "omero-web", config.omero_web_version)
        lock = committed_lock(config)
        if config.apps:
            apps = resolve_apps(config.apps, config.network.index_url)
            config = replace(config, apps=tuple(app.requirement for app in apps))
            progress.say("    apps: " + ", ".join(config.apps))
    if client is None:
        with closing(docker_client()) as own_client:
            return build_with(HostContext(config, own_client, runner, progress, icepy_wheel), lock)
    return build_with(HostContext(config, client, runner, progress, icepy_wheel), lock)


def committed_lock(config: BuildConfig) -> Lock | None:
    """The lock given with --lock, else the one committed for this target
    and omero-web version, if any."""
    target, version = config.target.name, config.omero_web_version
    if config.lock_file is not None:
        if not config.lock_file.is_file():
            raise UsageError(f"--lock {config.lock_file} does not exist")
        return read_lock(config.lock_file, target, version)
    path = lock_path(config.project_root, target, version)
    return read_lock(path, target, version) if path.is_file() else None


def provide_images(host: HostContext) -> tuple[str, str]:
    """The target's base and build images, each made if missing (a step)."""
    with host.progress.step(f"base image for {host.config.target.name}"):
        base_image = provide_base_image(host)
    with host.progress.step("build image"):
        return base_image, provide_build_image(host, base_image)


def build_with(host: HostContext, lock: Lock | None) -> BuildResult:
    progress = host.progress
    base_image, build_image = provide_images(host)
    images = (image_identity(host.client, base_image), image_identity(host.client, build_image))
    with build_container(host, build_image) as context:
        artifacts = build_in_container(context, lock, images)
    return BuildResult(artifacts, tuple(progress.timings))


def build_in_container(
    context: BuildContext, lock: Lock | None, images: tuple[str, str]
) -> Artifacts:
    """`lock`: the committed one, else None (one is resolved and written
    beside the artifacts); `images`: the base and build images' identities."""
    progress, config = context.progress, context.config
    install_ca_certificates(context)
    with progress.step("IcePy wheel"):
        icepy = provide_icepy_wheel(context)
    lock_name = str(
        config.lock_file or lock_path(Path(), config.target.name, config.omero_web_version)
    )
    if lock is None:
        with progress.step("resolve a lock"):
            lock = resolve_lock(context)
        lock_name = context.artifact(".lock.txt").name
        progress.say(
            f"    no lock is committed for omero-web {config.omero_web_version} on "
            f"{config.target.name}: resolved one, written beside the artifacts as "
            f"{lock_name}; check it and commit it as "
            f"{lock_path(Path(), config.target.name, config.omero_web_version)}"
        )
    with progress.step("venv"):
        requirements = create_venv(context, lock, icepy.sha256, lock_name)
        progress.say(f"    left out {trim_venv(context)} test, translation and unusable folders")
    with progress.step("static files"):
        progress.say(f"    {collect_static(context)} files")
        progress.say(f"    left out {leave_out_collected_sources(context)} collected sources")
    if config.apps:
        with progress.step("apps"):
            baked = bake_apps(context)
            lock = replace(lock, requirements=(*lock.requirements, *baked.requirements))
            for said in baked.said:
                progress.say(f"    {said}")
    with progress.step("bytecode"):
        compile_bytecode(context)
        check_no_build_paths(context, (VENV, STATIC_DIR, *((APPS_DIR,) if config.apps else ())))
    with progress.step("SBOM writer"):
        sbom_python = install_tool(context, CYCLONEDX)
    with progress.step("debian package"):
        assemble_source(context, requirements)
        write_build_records(context, lock, lock_name, icepy, images, sbom_python)
        build_deb(context)
    with progress.step("lintian"):
        progress.say(f"    lintian: {run_lintian(context)}")
    with progress.step("copy artifacts"):
        return collect_artifacts(context)


@contextmanager
def build_container(host: HostContext, image: str) -> Iterator[BuildContext]:
    """The build container, removed afterwards; pip's cache is the host's."""
    host.pip_cache_dir.mkdir(parents=True, exist_ok=True)
    with Container(
        host.client,
        image,
        log=host.progress.log,
        name_prefix=f"omero-web-deb-build-{host.config.target.name}",
        environment={"DEBIAN_FRONTEND": "noninteractive", **host.config.network.environment},
        volumes={str(host.pip_cache_dir): {"bind": str(PIP_CACHE), "mode": "rw"}},
        scratch=BUILD_SCRATCH,
        keep=host.config.keep_containers,
    ) as container:
        yield host.with_container(container)


def log_path_for(config: BuildConfig) -> Path:
    """Where the build log ends up: beside the artifacts, named like them."""
    return config.output_dir / f"{artifact_stem(config.package_version)}.build.log"


def make_lock(
    config: BuildConfig, progress: Progress, client: docker.DockerClient | None = None
) -> tuple[Path, bool]:
    """Resolve the lock of config's target and omero-web version in that
    target's build container and write it to locks/; return its path and
    whether it changed."""
    lock = resolve_in_build_container(config, progress, resolve_lock, client)
    path = lock_path(config.project_root, config.target.name, config.omero_web_version)
    return path, write_if_changed(path, lock.render())


def make_tool_lock(
    config: BuildConfig, progress: Progress, tool: Tool, client: docker.DockerClient | None = None
) -> tuple[Path, bool]:
    """Resolve a build tool's lock in config's target's build container and
    write it to locks/tools/; return its path and whether it changed."""
    lock = resolve_in_build_container(
        config, progress, lambda context: resolve_tool_lock(context, tool), client
    )
    path = tool_lock_path(config.project_root, tool.name)
    return path, write_if_changed(path, lock.render())


def resolve_in_build_container(
    config: BuildConfig,
    progress: Progress,
    resolve: Callable[[BuildContext], T],
    client: docker.DockerClient | None = None,
) -> T:
    with closing(client or docker_client()) as own_client:
        host = HostContext(config, own_client, Runner(progress.log), progress, None)
        with build_container(host, provide_images(host)[1]) as context:
            install_ca_certificates(context)
            with progress.step("resolve"):
                return resolve(context)


def write_if_changed(path: Path, text: str) -> bool:
    """Write a lock whole (through a temporary name) if its text changed."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return True
