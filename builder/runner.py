"""The one way commands are run, on this host or in a container.

Both runners (`Runner` here, `Container` in container.py) answer to one
verb, `call(argv, *, env, workdir, check, hint) -> CommandResult`: the argv
is logged shlex-quoted, every output line is logged as it comes, stdout and
stderr are kept apart (a caller that parses output reads stdout only, never
a warning), and a command that fails raises CommandFailed with the last
lines of both.
"""

from __future__ import annotations

import os
import selectors
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Protocol

from builder.errors import CommandFailed

# What every step logs through: a line at a time, no newline needed.
LogFn = Callable[[str], None]

# How many lines of output a CommandFailed carries.
TAIL_LINES = 25
# The log marks what a command wrote to stderr, so a warning stands out
# from the output around it.
STDERR_MARK = "stderr: "


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str
    output: str  # both, as they came: what a terminal would have shown
    returncode: int


class CommandTarget(Protocol):
    """Where commands run: this host (Runner) or a container (Container)."""

    log: LogFn

    def call(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | PurePath | None = None,
        check: bool = True,
        hint: str = "",
    ) -> CommandResult: ...


class CommandOutput:
    """A running command's output, fed in chunks as they arrive: each line
    logged once complete, each stream kept whole, and both in arrival order
    for the result and the failure message."""

    def __init__(self, log: LogFn) -> None:
        self.log = log
        self._streams: dict[bool, bytearray] = {False: bytearray(), True: bytearray()}
        self._pending: dict[bool, bytes] = {False: b"", True: b""}
        self._lines: list[str] = []

    def add(self, data: bytes, *, stderr: bool) -> None:
        self._streams[stderr] += data
        # Split bytes, not text: a chunk may end inside a UTF-8 character.
        *complete, self._pending[stderr] = (self._pending[stderr] + data).split(b"\n")
        for line in complete:
            self._add_line(line + b"\n", stderr)

    def finish(self, argv: list[str], returncode: int, *, check: bool, hint: str) -> CommandResult:
        """The result, once the command has exited; CommandFailed if it
        failed and the caller checks."""
        for stderr in (False, True):
            if self._pending[stderr]:
                self._add_line(self._pending[stderr], stderr)
                self._pending[stderr] = b""
        if check and returncode != 0:
            tail = "\n".join(line.rstrip("\n") for line in self._lines[-TAIL_LINES:])
            raise CommandFailed(argv, returncode, tail, hint)
        return CommandResult(
            stdout=self._streams[False].decode(errors="replace"),
            stderr=self._streams[True].decode(errors="replace"),
            output="".join(self._lines),
            returncode=returncode,
        )

    def _add_line(self, raw: bytes, stderr: bool) -> None:
        line = raw.decode(errors="replace")
        self._lines.append(line)
        self.log((STDERR_MARK if stderr else "") + line.rstrip("\n"))


def pump_pipes(stdout: IO[bytes], stderr: IO[bytes], output: CommandOutput) -> None:
    """Read both pipes until they close, whichever has data first: reading
    one to its end first could leave the command blocked on the other."""
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ, False)
        selector.register(stderr, selectors.EVENT_READ, True)
        while selector.get_map():
            for key, _ in selector.select():
                data = os.read(key.fd, 65536)
                if data:
                    output.add(data, stderr=key.data)
                else:
                    selector.unregister(key.fileobj)


class Runner:
    """Runs commands on this host: argv lists, never a shell."""

    def __init__(self, log: LogFn = print) -> None:
        self.log = log

    def call(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | PurePath | None = None,
        check: bool = True,
        hint: str = "",
    ) -> CommandResult:
        """Run argv; `env` adds to this process's environment, as a
        container's does to its own."""
        argv = [str(a) for a in argv]
        self.log("+ " + shlex.join(argv))
        output = CommandOutput(self.log)
        try:
            proc = subprocess.Popen(
                argv,
                cwd=workdir,
                env={**os.environ, **env} if env else None,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError as e:
            # Even unchecked: a missing tool is never an answer to parse.
            raise CommandFailed(argv, 127, f"{argv[0]}: not installed", hint) from e
        with proc:
            assert proc.stdout is not None and proc.stderr is not None
            pump_pipes(proc.stdout, proc.stderr, output)
            returncode = proc.wait()
        return output.finish(argv, returncode, check=check, hint=hint)
