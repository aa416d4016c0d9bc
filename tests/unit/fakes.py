"""Stand-ins for the build's side effects, so unit tests can check the exact
commands and files of each step without Docker, and for the omero CLI the
package's helper drives."""

from __future__ import annotations

import io
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from types import ModuleType
from typing import Any

from builder.config import BuildConfig
from builder.context import BuildContext
from builder.errors import CommandFailed
from builder.progress import Progress
from builder.runner import CommandResult, Runner
from builder.targets import get_target


@dataclass(frozen=True)
class Answer:
    """What a command prints and how it exits."""

    stdout: str = ""
    stderr: str = ""
    returncode: int = 0


@dataclass(frozen=True)
class Call:
    """One command run in the container, with everything it was run with."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    user: str = ""
    check: bool = True
    hint: str = ""


class FakeContainer:
    """builder.container.Container's interface, recording instead of running.

    A command is answered by the first entry of `answers` whose key occurs in
    its shell-quoted command line (`"pip freeze"`, `"readlink -f"`); any
    other command prints nothing and succeeds.
    """

    def __init__(self, answers: Mapping[str, Answer] | None = None) -> None:
        self.answers = dict(answers or {})
        self.name = "fake-container"
        self.logged: list[str] = []
        self.calls: list[Call] = []
        self.files: dict[PurePosixPath, tuple[bytes, int]] = {}  # written by write_*
        self.copied_in: list[tuple[Path, PurePosixPath]] = []
        self.copied_out: list[PurePosixPath] = []
        self.commits: list[tuple[str, str]] = []

    def log(self, line: str) -> None:
        self.logged.append(line)

    @property
    def argvs(self) -> list[list[str]]:
        return [call.argv for call in self.calls]

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
        argv = [str(a) for a in argv]
        self.calls.append(
            Call(argv, dict(env or {}), str(workdir) if workdir else None, user, check, hint)
        )
        command = shlex.join(argv)
        answer = next((a for key, a in self.answers.items() if key in command), Answer())
        if check and answer.returncode != 0:
            raise CommandFailed(argv, answer.returncode, answer.stderr, hint)
        return CommandResult(
            answer.stdout, answer.stderr, answer.stdout + answer.stderr, answer.returncode
        )

    def sh(self, script: str, *, check: bool = True, hint: str = "") -> CommandResult:
        return self.call(["sh", "-euc", script], check=check, hint=hint)

    def copy_into(self, source: Path, destination: PurePosixPath) -> None:
        self.copied_in.append((source, destination))

    def write_file(self, path: PurePosixPath, content: bytes, mode: int = 0o644) -> None:
        self.write_tree(path.parent, {PurePosixPath(path.name): (content, mode)})

    def write_tree(
        self, destination: PurePosixPath, files: Mapping[PurePosixPath, tuple[bytes, int]]
    ) -> None:
        for relative, content_and_mode in files.items():
            self.files[destination / relative] = content_and_mode

    def copy_out(self, source: PurePosixPath, destination: Path) -> Path:
        """A file written earlier keeps its content; any other one says where it came from."""
        self.copied_out.append(source)
        destination.mkdir(parents=True, exist_ok=True)
        content, _ = self.files.get(source, (f"copied from {source}\n".encode(), 0o644))
        (destination / source.name).write_bytes(content)
        return destination / source.name

    def commit(self, repository: str, tag: str) -> str:
        self.commits.append((repository, tag))
        return f"sha256:{repository}:{tag}"


ROOT = Path(__file__).resolve().parents[2]


def make_config(tmp_path: Path, **changes: Any) -> BuildConfig:
    """debian-12, revision 2, 4 jobs; caches and output under tmp_path."""
    values: dict[str, Any] = {
        "target": get_target("debian-12"),
        "project_root": ROOT,
        "output_dir": tmp_path / "out",
        "cache_dir": tmp_path / "cache",
        "omero_web_version": "5.33.2",
        "revision": 2,
        "jobs": 4,
        "maintainer": "Facility Admin <admin@example.org>",
        "source_date_epoch": 1764300000,
    }
    return BuildConfig(**{**values, **changes})


def fake_context(
    config: BuildConfig, container: FakeContainer, icepy_wheel: Path | None = None
) -> BuildContext:
    """A build context around the fake: no Docker client, no log file, and
    what the steps say to the terminal kept in `progress.terminal`."""
    return BuildContext(
        config=config,
        client=None,  # type: ignore[arg-type]  # the steps after the images never use it
        runner=Runner(container.log),
        progress=Progress(terminal=io.StringIO()),
        icepy_wheel=icepy_wheel,
        container=container,
    )


class NonZeroReturnCode(Exception):
    """omero.cli's: a command failed under strict=True."""


class FakeOmeroCLI:
    """The omero CLI as omero_web_helper.omero_cli() returns it, recording
    the commands it is asked to run; the command named `failing` fails."""

    def __init__(self, failing: str | None = None) -> None:
        self.invoked: list[list[str]] = []
        self.failing = failing
        self.made_with_web: list[bool] = []

    def invoke(self, command: list[str], strict: bool) -> None:
        assert strict
        self.invoked.append(command)
        if command[0] == self.failing:
            raise NonZeroReturnCode

    def install(self, helper: Any, monkeypatch: Any) -> FakeOmeroCLI:
        """Stand in for omero.cli in HELPER (a loaded omero_web_helper)."""
        module = ModuleType("omero.cli")
        module.NonZeroReturnCode = NonZeroReturnCode  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "omero", ModuleType("omero"))
        monkeypatch.setitem(sys.modules, "omero.cli", module)

        def omero_cli(*, web: bool) -> FakeOmeroCLI:
            self.made_with_web.append(web)
            return self

        monkeypatch.setattr(helper, "omero_cli", omero_cli)
        return self
