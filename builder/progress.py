"""Progress on the terminal, everything in the build log.

A build is a list of named steps; each one prints its name when it starts and
its wall time when it ends.  Every command and every line it prints goes to
the log file, which ends up beside the artifacts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


@dataclass
class Progress:
    log_path: Path | None = None
    terminal: TextIO = sys.stderr
    verbose: bool = False
    timings: list[tuple[str, float]] = field(default_factory=list)
    _log: TextIO | None = None
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("w", encoding="utf-8")

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self, line: str) -> None:
        """A line for the log only (the terminal too with --verbose).  In
        the file each line starts with the seconds since the build began,
        so the log is also the build's profile."""
        if self._log is not None:
            self._log.write(f"{time.monotonic() - self._started:8.1f} {line.rstrip()}\n")
            self._log.flush()
        if self.verbose:
            print(line.rstrip("\n"), file=self.terminal, flush=True)

    def say(self, line: str) -> None:
        """A line for the terminal and the log."""
        print(line, file=self.terminal, flush=True)
        if self._log is not None:
            self._log.write(line + "\n")
            self._log.flush()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.say(f"==> {name}")
        start = time.monotonic()
        try:
            yield
        except BaseException:
            self.say(f"    {name}: failed after {time.monotonic() - start:.1f} s")
            raise
        elapsed = time.monotonic() - start
        self.timings.append((name, elapsed))
        self.say(f"    {name}: done in {elapsed:.1f} s")
