"""What a build or test container is started with: its scratch folders are
anonymous volumes, removed with it (no Docker: a recording client)."""

from __future__ import annotations

from typing import Any

from builder.container import Container
from builder.paths import BUILD_ROOT, BUILD_SCRATCH, VENV


class RecordingContainer:
    def __init__(self) -> None:
        self.removed: list[dict[str, Any]] = []

    def remove(self, **kwargs: Any) -> None:
        self.removed.append(kwargs)


class RecordingClient:
    def __init__(self) -> None:
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.container = RecordingContainer()
        self.containers = self

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
