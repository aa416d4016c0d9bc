"""One build: a short list of verb-named steps over a context (context.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker

from builder.config import BuildConfig
from builder.container import Container, docker_client
from builder.context import BuildContext, HostContext
from builder.icepy import provide_icepy_wheel, resolve_given_wheel
from builder.images import provide_base_image, provide_build_image
from builder.package import (
    Artifacts,
    assemble_source,
    build_deb,
    collect_artifacts,
    run_lintian,
)
from builder.paths import BUILD_SCRATCH, PIP_CACHE, artifact_stem
from builder.progress import Progress
from builder.pypi import check_release_exists
from builder.runner import Runner
from builder.static import collect_static
from builder.trust import install_ca_certificates
from builder.venv import check_no_build_paths, compile_bytecode, create_venv, trim_venv


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
    if client is None:
        with closing(docker_client()) as own_client:
            return build_with(HostContext(config, own_client, runner, progress, icepy_wheel))
    return build_with(HostContext(config, client, runner, progress, icepy_wheel))


def build_with(host: HostContext) -> BuildResult:
    progress = host.progress
    with progress.step(f"base image for {host.config.target.name}"):
        base_image = provide_base_image(host)
    with progress.step("build image"):
        build_image = provide_build_image(host, base_image)
    with build_container(host, build_image) as context:
        artifacts = build_in_container(context)
    return BuildResult(artifacts, tuple(progress.timings))


def build_in_container(context: BuildContext) -> Artifacts:
    progress = context.progress
    install_ca_certificates(context)
    with progress.step("IcePy wheel"):
        provide_icepy_wheel(context)
    with progress.step("venv"):
        requirements = create_venv(context)
        progress.say(f"    left out {trim_venv(context)} test and translation folders")
    with progress.step("static files"):
        progress.say(f"    {collect_static(context)} files")
    with progress.step("bytecode"):
        compile_bytecode(context)
        check_no_build_paths(context)
    with progress.step("debian package"):
        assemble_source(context, requirements)
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
