"""A container to run commands in, always removed afterwards.

Built on the Docker SDK.  `Container` is a context manager: whatever happens
inside the `with`, the container is removed on the way out, unless the caller
asked to keep it for debugging.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import tarfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath, PurePosixPath
from types import TracebackType
from typing import Any, Protocol

import docker
import docker.errors
from docker.models.containers import Container as DockerContainer
from docker.types import Mount

from builder.errors import DockerUnavailable
from builder.runner import CommandOutput, CommandResult, CommandTarget, LogFn


def docker_client() -> docker.DockerClient:
    """The engine's client, or an error that says how to get one."""
    client = None
    try:
        # "auto": the engine's own API version.  The docker SDK 5.0 that
        # Debian 12 and Ubuntu 22.04/24.04 package asks for 1.41 otherwise,
        # which Docker 29 (in Ubuntu's -updates) refuses: its oldest is 1.44.
        client = docker.from_env(version="auto", timeout=600)
        client.ping()
    except docker.errors.DockerException as e:
        if client is not None:
            client.close()
        raise DockerUnavailable(
            "cannot reach a Docker engine: start it (e.g. `systemctl start docker`) "
            "or point DOCKER_HOST at one, and make sure you may use its socket "
            f"({e})"
        ) from e
    return client


def scratch_mounts(paths: Sequence[str]) -> list[Mount]:
    """An anonymous volume at each path: a plain folder on the engine's own
    disk, removed with the container.  Writing thousands of files there is
    several times faster than in the container's layered file system (on
    fuse-overlayfs: 100 s against 23 s to unpack the package), and unlike a
    tmpfs, `docker cp` sees it."""
    return [Mount(target=path, source=None, type="volume") for path in paths]


class ContainerLike(CommandTarget, Protocol):
    """What the build steps use of a container: the real one below, or a
    recording stand-in in the unit tests (tests/unit/fakes.py)."""

    name: str

    def sh(self, script: str, *, check: bool = True, hint: str = "") -> CommandResult: ...

    def copy_into(self, source: Path, destination: PurePosixPath) -> None: ...

    def write_file(self, path: PurePosixPath, content: bytes, mode: int = 0o644) -> None: ...

    def write_tree(
        self, destination: PurePosixPath, files: Mapping[PurePosixPath, tuple[bytes, int]]
    ) -> None: ...

    def copy_out(self, source: PurePosixPath, destination: Path) -> Path: ...

    def commit(self, repository: str, tag: str) -> str: ...


class Container:
    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        *,
        log: LogFn,
        name_prefix: str = "omero-web-deb",
        environment: Mapping[str, str] | None = None,
        volumes: Mapping[str, Mapping[str, str]] | None = None,
        scratch: Sequence[str] = (),
        keep: bool = False,
        privileged: bool = False,
        network: str | None = None,
        hostname: str | None = None,
    ) -> None:
        self.client = client
        self.image = image
        self.log = log
        self.name = f"{name_prefix}-{uuid.uuid4().hex[:8]}"
        self.environment = dict(environment or {})
        self.volumes = {k: dict(v) for k, v in (volumes or {}).items()}
        self.scratch = tuple(scratch)
        self.keep = keep
        self.privileged = privileged
        self.network = network
        self.hostname = hostname
        self._container: DockerContainer | None = None

    def __enter__(self) -> Container:
        self.log(f"+ docker run {self.image} as {self.name}")
        kwargs: dict[str, Any] = {}
        if self.network:
            kwargs["network"] = self.network
        if self.hostname:
            kwargs["hostname"] = self.hostname
        if self.scratch:
            kwargs["mounts"] = scratch_mounts(self.scratch)
        self._container = self.client.containers.run(
            self.image,
            ["sleep", "infinity"],
            name=self.name,
            detach=True,
            environment=self.environment,
            volumes=self.volumes,
            privileged=self.privileged,
            **kwargs,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._container is None:
            return
        if self.keep:
            self.log(
                f"keeping container {self.name} (remove it and its volumes with `docker rm -f -v {self.name}`)"
            )
            return
        with contextlib.suppress(docker.errors.NotFound):
            self._container.remove(force=True, v=True)  # and its scratch volumes

    @property
    def container(self) -> DockerContainer:
        if self._container is None:
            raise RuntimeError("container used outside its `with` block")
        return self._container

    def call(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | PurePath | None = None,
        user: str = "",
        check: bool = True,
        hint: str = "",
    ) -> CommandResult:
        """Run argv in the container; `env` adds to the container's environment."""
        argv = [str(a) for a in argv]
        self.log(f"+ [{self.name}] " + shlex.join(argv))
        api = self.client.api
        exec_id = api.exec_create(
            self.container.id,
            argv,
            environment=dict(env or {}),
            workdir=str(workdir) if workdir else None,
            user=user,
        )["Id"]
        output = CommandOutput(self.log)
        # demux: each frame comes as (stdout, stderr), one of them None.
        for stdout, stderr in api.exec_start(exec_id, stream=True, demux=True):
            if stdout:
                output.add(stdout, stderr=False)
            if stderr:
                output.add(stderr, stderr=True)
        returncode = api.exec_inspect(exec_id)["ExitCode"]
        return output.finish(argv, returncode, check=check, hint=hint)

    def sh(self, script: str, *, check: bool = True, hint: str = "") -> CommandResult:
        """Run a shell snippet with `set -eu`; for pipes and redirections."""
        return self.call(["sh", "-euc", script], check=check, hint=hint)

    def copy_into(self, source: Path, destination: PurePosixPath) -> None:
        """Copy a host file or folder into the destination folder."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(source, arcname=source.name)
        self.call(["mkdir", "-p", str(destination)])
        self.container.put_archive(str(destination), buffer.getvalue())

    def write_file(self, path: PurePosixPath, content: bytes, mode: int = 0o644) -> None:
        self.write_tree(path.parent, {PurePosixPath(path.name): (content, mode)})

    def write_tree(
        self, destination: PurePosixPath, files: Mapping[PurePosixPath, tuple[bytes, int]]
    ) -> None:
        """Write files (relative path -> content, mode) below destination, in
        one archive: one round trip however many files."""
        buffer = io.BytesIO()
        now = int(time.time())
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for relative, (content, mode) in sorted(files.items()):
                info = tarfile.TarInfo(str(relative))
                info.size = len(content)
                info.mode = mode
                info.mtime = now
                tar.addfile(info, io.BytesIO(content))
        self.call(["mkdir", "-p", str(destination)])
        self.container.put_archive(str(destination), buffer.getvalue())

    def copy_out(self, source: PurePosixPath, destination: Path) -> Path:
        """Copy a file or folder out of the container into a host folder."""
        stream, _ = self.container.get_archive(str(source))
        buffer = io.BytesIO(b"".join(stream))
        destination.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=buffer) as tar:
            tar.extractall(destination, filter="data")
        return destination / source.name

    def commit(self, repository: str, tag: str) -> str:
        image = self.container.commit(repository=repository, tag=tag, changes=['CMD ["bash"]'])
        return str(image.id)
