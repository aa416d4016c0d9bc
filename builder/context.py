"""What every build step works on, as mkosi's steps work on its Context.

A step is `verb(context)`.  The context owns the configuration, where
commands run and every path derived from them, so no step assembles a work
path or an artifact name of its own.  Two stages, two contexts:

- HostContext: before the build container exists (the images);
- BuildContext: the same, plus the running build container.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath

import docker

from builder.config import BuildConfig
from builder.container import ContainerLike
from builder.paths import ICEPY_WORK, WHEEL_DIR, artifact_stem, source_dir
from builder.progress import Progress
from builder.runner import Runner


@dataclass(frozen=True)
class HostContext:
    """What the steps before the build container work on: making the images."""

    config: BuildConfig
    client: docker.DockerClient
    runner: Runner  # commands on this host
    progress: Progress
    icepy_wheel: Path | None  # --icepy-wheel, checked and on this host

    @property
    def artifact_stem(self) -> str:
        """omero-web_<version>_amd64"""
        return artifact_stem(self.config.package_version)

    @property
    def output_dir(self) -> Path:
        return self.config.output_dir

    @property
    def pip_cache_dir(self) -> Path:
        """pip's cache on this host, kept between builds; one per target,
        whose wheels are built for its own Python."""
        return self.config.cache_dir / "pip" / self.config.target.name

    @property
    def source_dir(self) -> PurePosixPath:
        """Where debian/ is assembled and dpkg-buildpackage runs (in the container)."""
        return source_dir(self.config.package_version)

    @property
    def wheel_dir(self) -> PurePosixPath:
        """Where the IcePy wheel waits for pip (in the container)."""
        return WHEEL_DIR

    @property
    def icepy_work(self) -> PurePosixPath:
        """Where the IcePy sdist is patched and compiled (in the container)."""
        return ICEPY_WORK

    def artifact(self, suffix: str) -> PurePosixPath:
        """A build result in the container: dpkg-buildpackage writes them
        beside the source folder, and the lintian report goes with them."""
        return self.source_dir.parent / f"{self.artifact_stem}{suffix}"

    def with_container(self, container: ContainerLike) -> BuildContext:
        stage = {field.name: getattr(self, field.name) for field in fields(HostContext)}
        return BuildContext(**stage, container=container)


@dataclass(frozen=True)
class BuildContext(HostContext):
    """What the steps in the build container work on."""

    container: ContainerLike  # the running build container
