"""The toolkit as users install it, made once per test session.

- its wheel, pip-installed into a fresh venv outside the checkout: the
  harness builds every package under test with that venv's omero-web-deb,
  from an empty folder, so each build shows that the wheel carries all a
  build reads (builder/resources.py);
- its Debian package, python3-omero-web-deb, built by `make toolkit-deb`'s
  code (builder/toolkit_deb.py) with stdeb, for test_toolkit_package.py.

The controller's build lanes and the xdist workers share them: the first
caller makes each under a file lock in the session's build folder, the
others wait and reuse it.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builder.toolkit_deb import DEFAULT_TARGET, deb_name

from .harness import ROOT

# What the toolkit is built from: the project's sources, not its tests.
SOURCES = ("builder", "debian", "templates", "locks", "pyproject.toml", "setup.py", "README.md")
_THREAD_LOCK = threading.Lock()
SECONDS: dict[str, float] = {}  # how long each took to make, in the process that made it


@contextmanager
def made_once(folder: Path) -> Iterator[bool]:
    """Holds the folder's lock; yields whether it still has to be made."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCK, (folder.parent / f".{folder.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / ".done"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        yield not done.exists()
        done.touch()


def run(argv: list[str], cwd: Path) -> None:
    print("+", " ".join(argv), flush=True)
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f"{argv[:3]} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )


def toolkit_from_wheel(root: Path) -> Path:
    """omero-web-deb from the wheel, in a venv of its own; its path."""
    folder = root / "toolkit-wheel"
    with made_once(folder) as to_make:
        if to_make:
            start = time.monotonic()
            source = folder / "src"
            source.mkdir()
            for name in SOURCES:
                copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
                copy(ROOT / name, source / name)
            run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder / "wheel"),
                 str(source)], folder)  # fmt: skip
            (wheel,) = (folder / "wheel").glob("omero_web_deb-*.whl")
            run([sys.executable, "-m", "venv", str(folder / "venv")], folder)
            run([str(folder / "venv" / "bin" / "pip"), "install", "-q", str(wheel)], folder)
            shutil.rmtree(source)
            SECONDS["toolkit_wheel_venv_s"] = round(time.monotonic() - start, 1)
    return folder / "venv" / "bin" / "omero-web-deb"


def toolkit_deb(root: Path) -> Path:
    """python3-omero-web-deb_<version>-1_all.deb, as `make toolkit-deb` builds it."""
    folder = root / "toolkit-deb"
    with made_once(folder) as to_make:
        if to_make:
            start = time.monotonic()
            run([sys.executable, "-m", "builder.toolkit_deb", "--target", DEFAULT_TARGET,
                 "--output", str(folder)], ROOT)  # fmt: skip
            SECONDS["toolkit_deb_build_s"] = round(time.monotonic() - start, 1)
    return folder / deb_name()
