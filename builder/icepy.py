"""The IcePy 3.6.5 wheel for a target.

Three sources, in this order: the wheel the user gave (file or URL, checked
against the target's Python), the cache, or a build from the PyPI sdist with
the project's patches (builder/patches/icepy), compiled on every core.
Cache entries are keyed by target, Python ABI and a hash of the patch set and
build script, so changing a patch rebuilds the wheel and nothing else does.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.config import ICEPY_VERSION, BuildConfig
from builder.context import BuildContext
from builder.errors import CommandFailed, NetworkError, UsageError
from builder.locks import cache_lock
from builder.paths import ARCHITECTURE
from builder.targets import Target

PATCHES_DIR = Path(__file__).parent / "patches" / "icepy"
BUILD_SCRIPT = Path(__file__).parent / "icepy_build.py"


@dataclass(frozen=True)
class WheelName:
    """The parts of a wheel file name (PEP 427) that matter here."""

    distribution: str
    version: str
    python_tags: tuple[str, ...]
    abi_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]

    @classmethod
    def parse(cls, filename: str) -> WheelName:
        if not filename.endswith(".whl"):
            raise UsageError(f"{filename} is not a wheel (the name must end in .whl)")
        parts = filename[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            raise UsageError(
                f"{filename} is not a wheel file name (name-version-python-abi-platform.whl)"
            )
        name, version, python, abi, platform = parts[0], parts[1], *parts[-3:]
        return cls(
            name,
            version,
            tuple(python.split(".")),
            tuple(abi.split(".")),
            tuple(platform.split(".")),
        )


def check_wheel_for_target(filename: str, target: Target) -> None:
    """Refuse a wheel that would give a broken venv on the target."""
    wheel = WheelName.parse(filename)
    if wheel.distribution.lower().replace("-", "_") != "zeroc_ice":
        raise UsageError(
            f"{filename} is not an IcePy wheel (distribution {wheel.distribution!r}, expected zeroc_ice)"
        )
    if wheel.version != ICEPY_VERSION:
        raise UsageError(f"{filename} is IcePy {wheel.version}; OMERO needs IcePy {ICEPY_VERSION}")
    if target.python_abi not in wheel.python_tags:
        raise UsageError(
            f"{filename} is built for {', '.join(wheel.python_tags)}, but {target.name} has "
            f"Python {target.python} ({target.python_abi}); give a {target.python_abi} wheel "
            "or leave out --icepy-wheel to build one"
        )
    if not any(p.endswith("x86_64") for p in wheel.platform_tags):
        raise UsageError(
            f"{filename} is for {', '.join(wheel.platform_tags)}, not x86_64 ({ARCHITECTURE})"
        )


def patch_series() -> list[Path]:
    series = (PATCHES_DIR / "series").read_text().split()
    return [PATCHES_DIR / name for name in series]


def cache_key(target: Target) -> str:
    digest = hashlib.sha256()
    digest.update(f"{ICEPY_VERSION}\0{target.name}\0{target.python_abi}\0".encode())
    for path in [*patch_series(), BUILD_SCRIPT]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{target.name}-{target.python_abi}-{digest.hexdigest()[:12]}"


def cached_wheel(cache_dir: Path, target: Target) -> Path | None:
    entry = cache_dir / "icepy" / cache_key(target)
    wheels = sorted(entry.glob("*.whl")) if entry.is_dir() else []
    return wheels[0] if wheels else None


def fetch_given_wheel(location: str, cache_dir: Path) -> Path:
    """A local path for --icepy-wheel, downloading it when it is a URL."""
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme in ("http", "https"):
        filename = Path(parsed.path).name
        destination = cache_dir / "downloads" / filename
        if destination.is_file():
            return destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            with (
                urllib.request.urlopen(location, timeout=120) as response,
                tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as partial,
            ):
                shutil.copyfileobj(response, partial)
        except (urllib.error.URLError, OSError) as e:
            raise NetworkError(
                f"cannot download the IcePy wheel {location}: {getattr(e, 'reason', e)}"
            ) from e
        Path(partial.name).rename(destination)
        return destination
    path = Path(parsed.path if parsed.scheme == "file" else location)
    if not path.is_file():
        raise UsageError(f"IcePy wheel {location} does not exist")
    return path


def resolve_given_wheel(config: BuildConfig) -> Path | None:
    """Check --icepy-wheel before anything slow starts."""
    if config.icepy_wheel is None:
        return None
    filename = Path(urllib.parse.urlparse(config.icepy_wheel).path).name
    check_wheel_for_target(filename, config.target)
    return fetch_given_wheel(config.icepy_wheel, config.cache_dir)


def build_icepy_wheel(context: BuildContext) -> Path:
    """Compile the patched sdist in the build container; return the cached wheel."""
    container, config = context.container, context.config
    work = context.icepy_work
    source = work / f"zeroc-ice-{ICEPY_VERSION}"
    container.call(["mkdir", "-p", str(work / "dist")])
    # A throwaway venv with the build tools: the target's python3 has no pip.
    pip = [str(work / "venv/bin/python"), "-m", "pip"]
    container.call(["python3", "-m", "venv", str(work / "venv")])
    container.call(
        [*pip, "install", "-q", "setuptools", "wheel"],
        hint="the build container cannot install from the package index: check the proxy "
        "variables, PIP_INDEX_URL and --ca-cert",
    )
    container.call(
        [
            *pip,
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            str(work),
            f"zeroc-ice=={ICEPY_VERSION}",
        ]
    )
    container.call(
        ["tar", "-xzf", str(work / f"zeroc-ice-{ICEPY_VERSION}.tar.gz"), "-C", str(work)]
    )
    container.copy_into(PATCHES_DIR, work)
    for patch in patch_series():
        container.call(
            ["patch", "-p1", "--forward", "-i", str(work / "icepy" / patch.name)], workdir=source
        )
    container.copy_into(BUILD_SCRIPT, work)
    container.call(
        [
            str(work / "venv/bin/python"),
            str(work / BUILD_SCRIPT.name),
            "--source",
            str(source),
            "--jobs",
            str(config.jobs),
            "--out",
            str(work / "dist"),
        ]
    )
    wheels = container.call(["sh", "-c", f"ls {work}/dist/*.whl"]).stdout.split()
    if len(wheels) != 1:
        raise CommandFailed(["icepy_build.py"], 1, f"expected one wheel, found: {wheels}")
    built = PurePosixPath(wheels[0])
    check_wheel_for_target(built.name, config.target)
    entry = config.cache_dir / "icepy" / cache_key(config.target)
    # Copy out beside the entry, then rename: a cache entry is whole or absent.
    entry.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=entry.parent) as partial:
        container.copy_out(built, Path(partial) / "wheel")
        shutil.rmtree(entry, ignore_errors=True)
        Path(partial, "wheel").rename(entry)
    return entry / built.name


def provide_icepy_wheel(context: BuildContext) -> PurePosixPath:
    """Put the IcePy wheel into the container (the given one, the cached
    one, or one built now); return its path there."""
    config = context.config
    wheel = context.icepy_wheel or cached_wheel(config.cache_dir, config.target)
    if wheel is None:
        with cache_lock(
            config.cache_dir, f"icepy-{cache_key(config.target)}", context.progress.log
        ):
            # Another build may have made it while this one waited.
            wheel = cached_wheel(config.cache_dir, config.target) or build_icepy_wheel(context)
    context.container.copy_into(wheel, context.wheel_dir)
    return context.wheel_dir / wheel.name
