"""The one way host commands are run: argv lists, logged, checked."""

from __future__ import annotations

import shlex
import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from builder.errors import CommandFailed

# What every step logs through: a line at a time, no newline needed.
LogFn = Callable[[str], None]


class Runner:
    """Runs host commands, logging `+ argv` and every output line."""

    def __init__(self, log: LogFn = print) -> None:
        self.log = log

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        hint: str = "",
        check: bool = True,
    ) -> str:
        argv = [str(a) for a in argv]
        self.log("+ " + shlex.join(argv))
        tail: deque[str] = deque(maxlen=25)
        lines: list[str] = []
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except FileNotFoundError as e:
            raise CommandFailed(argv, 127, f"{argv[0]}: not installed", hint) from e
        with proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.log(line)
                tail.append(line.rstrip("\n"))
                lines.append(line)
            returncode = proc.wait()
        if check and returncode != 0:
            raise CommandFailed(argv, returncode, "\n".join(tail), hint)
        return "".join(lines)
