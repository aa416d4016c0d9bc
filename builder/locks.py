"""Locks on cache entries shared by concurrent builds.

Two builds of one target (two revisions, or two terminals) would otherwise
bootstrap the same base image or compile the same IcePy wheel side by side.
Each cache entry is made under an exclusive flock(2) on a lock file of its
own; the second build waits, then finds the entry made and uses it.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def cache_lock(cache_dir: Path, name: str, log: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock `name` (a cache key: letters, digits, - . _ :)."""
    path = cache_dir / "locks" / (name.replace("/", "_").replace(":", "_") + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another build that is making {name} ({path})")
            start = time.monotonic()
            fcntl.flock(file, fcntl.LOCK_EX)
            log(f"... waited {time.monotonic() - start:.0f} s for {name}")
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)
