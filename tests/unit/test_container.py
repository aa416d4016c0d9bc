"""What a build or test container is started with, and how a command runs
in it (no Docker: a recording client)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import pytest

from builder.container import Container
from builder.errors import CommandFailed
from builder.paths import BUILD_ROOT, BUILD_SCRATCH, VENV
from tests.unit.fakes import FakeContainer

# What `exec_start(..., demux=True)` yields: (stdout, stderr), one of them None.
Frame = tuple[bytes | None, bytes | None]


class RecordingContainer:
    id = "c0ffee"

    def __init__(self) -> None:
        self.removed: list[dict[str, Any]] = []

    def remove(self, **kwargs: Any) -> None:
        self.removed.append(kwargs)


class RecordingExecApi:
    """docker-py's low-level exec calls; exec_start yields demuxed frames."""

    def __init__(self, frames: list[Frame], exit_code: int) -> None:
        self.frames = frames
        self.exit_code = exit_code
        self.created: list[tuple[str, list[str], dict[str, Any]]] = []
        self.started: list[dict[str, Any]] = []

    def exec_create(self, container_id: str, argv: list[str], **kwargs: Any) -> dict[str, str]:
        self.created.append((container_id, argv, kwargs))
        return {"Id": "exec-1"}

    def exec_start(self, exec_id: str, **kwargs: Any) -> list[Frame]:
        self.started.append({"exec_id": exec_id, **kwargs})
        return self.frames

    def exec_inspect(self, exec_id: str) -> dict[str, int]:
        return {"ExitCode": self.exit_code}


class RecordingClient:
    def __init__(self, frames: Sequence[Frame] = (), exit_code: int = 0) -> None:
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.container = RecordingContainer()
        self.containers = self
        self.api = RecordingExecApi(list(frames), exit_code)

    def run(self, image: str, command: list[str], **kwargs: Any) -> RecordingContainer:
        self.runs.append((image, kwargs))
        return self.container


def test_scratch_folders_are_anonymous_volumes_removed_with_the_container() -> None:
    client = RecordingClient()
    with Container(client, "img", log=lambda _: None, scratch=BUILD_SCRATCH):  # type: ignore[arg-type]
        pass
    ((_, kwargs),) = client.runs
    mounts = kwargs["mounts"]
    assert [m["Target"] for m in mounts] == list(BUILD_SCRATCH)
    assert all(m["Type"] == "volume" and not m.get("Source") for m in mounts)
    assert client.container.removed == [{"force": True, "v": True}]


def test_the_build_writes_its_files_in_scratch() -> None:
    # The venv is built at its installed path; the package tree and the
    # build's work files under the build root.
    assert any(str(VENV).startswith(path + "/") for path in BUILD_SCRATCH)
    assert str(BUILD_ROOT) in BUILD_SCRATCH and "/tmp" in BUILD_SCRATCH


def test_no_scratch_no_mounts() -> None:
    client = RecordingClient()
    with Container(client, "img", log=lambda _: None):  # type: ignore[arg-type]
        pass
    assert "mounts" not in client.runs[0][1]


# --- call: docker exec, stdout and stderr apart ------------------------------

FRAMES = [(b"Version: 2.1", None), (None, b"W: stale lists\n"), (b"16.3\n", None)]


def test_a_command_runs_with_its_environment_workdir_and_user() -> None:
    client = RecordingClient(FRAMES)
    with Container(client, "img", log=lambda _: None) as container:  # type: ignore[arg-type]
        container.call(["dpkg-buildpackage", "-b"], env={"A": "1"}, workdir=BUILD_ROOT, user="1000")
    assert client.api.created == [
        (
            "c0ffee",
            ["dpkg-buildpackage", "-b"],
            {"environment": {"A": "1"}, "workdir": str(BUILD_ROOT), "user": "1000"},
        )
    ]
    assert client.api.started == [{"exec_id": "exec-1", "stream": True, "demux": True}]


def test_stdout_and_stderr_come_back_and_are_logged_apart() -> None:
    log: list[str] = []
    with Container(RecordingClient(FRAMES), "img", log=log.append) as container:  # type: ignore[arg-type]
        result = container.call(["apt-cache", "show", "lintian"])
    assert result.stdout == "Version: 2.116.3\n"
    assert result.stderr == "W: stale lists\n"
    assert result.output == "W: stale lists\nVersion: 2.116.3\n"
    assert log[0] == f"+ docker run img as {container.name}"
    assert log[1:] == [
        f"+ [{container.name}] apt-cache show lintian",
        "stderr: W: stale lists",
        "Version: 2.116.3",
    ]


def test_a_failing_command_raises_with_both_streams_and_the_hint() -> None:
    client = RecordingClient(FRAMES, exit_code=100)
    with Container(client, "img", log=lambda _: None) as container:  # type: ignore[arg-type]
        with pytest.raises(CommandFailed) as failed:
            container.sh("apt-get update", hint="check the mirror")
        unchecked = container.call(["false"], check=False)
    assert failed.value.argv == ["sh", "-euc", "apt-get update"]
    assert failed.value.output_tail == "W: stale lists\nVersion: 2.116.3"
    assert str(failed.value).endswith("\ncheck the mirror")
    assert unchecked.returncode == 100


@pytest.mark.parametrize(
    "method", ["call", "sh", "copy_into", "write_file", "write_tree", "copy_out", "commit"]
)
def test_the_unit_tests_stand_in_takes_what_the_container_takes(method: str) -> None:
    real = inspect.signature(getattr(Container, method)).parameters
    fake = inspect.signature(getattr(FakeContainer, method)).parameters
    assert [(p.name, p.kind, p.default) for p in fake.values()] == [
        (p.name, p.kind, p.default) for p in real.values()
    ]
