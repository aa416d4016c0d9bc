"""One build: a short list of verb-named steps over a BuildConfig."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import docker

from builder.config import BuildConfig
from builder.container import Container, docker_client
from builder.icepy import provide_icepy_wheel, resolve_given_wheel
from builder.images import BaseSource, ensure_base_image, ensure_build_image
from builder.package import Artifacts, assemble_source, build_deb, collect_artifacts, run_lintian
from builder.paths import BUILD_SCRATCH, PIP_CACHE
from builder.progress import Progress
from builder.pypi import check_release_exists
from builder.runner import Runner
from builder.trust import install_ca_certificates
from builder.venv import check_no_build_paths, create_venv


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
        given_wheel = resolve_given_wheel(config)
        check_release_exists(config.network.index_url, "omero-web", config.omero_web_version)
    if client is None:
        with closing(docker_client()) as own_client:
            return build_with(config, progress, own_client, runner, given_wheel)
    return build_with(config, progress, client, runner, given_wheel)


def build_with(
    config: BuildConfig,
    progress: Progress,
    client: docker.DockerClient,
    runner: Runner,
    given_wheel: Path | None,
) -> BuildResult:
    with progress.step(f"base image for {config.target.name}"):
        base = ensure_base_image(
            client,
            BaseSource.for_target(config.target, config.mirror, config.security_mirror),
            runner,
            cache_dir=config.cache_dir,
            refresh=config.refresh_base,
            say=progress.say,
        )
    with progress.step("build image"):
        build_image = ensure_build_image(
            client, base, config.target, config.network, progress.log, config.cache_dir
        )
    pip_cache = config.cache_dir / "pip" / config.target.name
    pip_cache.mkdir(parents=True, exist_ok=True)
    with Container(
        client,
        build_image,
        log=progress.log,
        name_prefix=f"omero-web-deb-build-{config.target.name}",
        environment={"DEBIAN_FRONTEND": "noninteractive", **config.network.environment},
        volumes={str(pip_cache): {"bind": str(PIP_CACHE), "mode": "rw"}},
        scratch=BUILD_SCRATCH,
        keep=config.keep_containers,
    ) as container:
        install_ca_certificates(container, config.network.ca_certificates)
        with progress.step("IcePy wheel"):
            wheel = provide_icepy_wheel(container, config, given_wheel)
        with progress.step("venv"):
            requirements = create_venv(container, config, wheel)
            check_no_build_paths(container)
        with progress.step("debian package"):
            source = assemble_source(container, config, requirements)
            build_deb(container, config, source)
        with progress.step("lintian"):
            progress.say(f"    lintian: {run_lintian(container, config)}")
        with progress.step("copy artifacts"):
            artifacts = collect_artifacts(container, config, config.output_dir)
    return BuildResult(artifacts, tuple(progress.timings))


def log_path_for(config: BuildConfig) -> Path:
    return config.output_dir / f"omero-web_{config.package_version}_amd64.build.log"
