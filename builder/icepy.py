"""The IcePy 3.6.5 wheel for a target.

Three sources, in this order: the wheel the user gave (file or URL, checked
against the target's Python), the cache, or a build from the PyPI sdist with
the project's patches (builder/patches/icepy), compiled on every core.
Cache entries are keyed by target, Python ABI and a hash of the patch set,
build script and pinned build tools, so changing a patch rebuilds the wheel
and nothing else does.  Two compiles from empty caches give the same wheel
bytes (builder/icepy_build.py says how).

Every wheel is pinned by its sha256: a URL needs --icepy-sha256 and is
downloaded to a temporary name, renamed only once complete and verified; a
file is hashed (and checked, if --icepy-sha256 is given); a compiled wheel's
hash is recorded beside it in the cache and checked at each reuse.  pip
then installs it with that hash required (builder/requirement_lock.py).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.config import ICEPY_SDIST_SHA256, ICEPY_VERSION, BuildConfig
from builder.context import BuildContext
from builder.errors import BuildError, CommandFailed, NetworkError, UsageError
from builder.locks import cache_lock
from builder.paths import ARCHITECTURE
from builder.resources import icepy_build_script, icepy_patches_dir
from builder.targets import Target

PATCHES_DIR = icepy_patches_dir()
BUILD_SCRIPT = icepy_build_script()
# The zeroc-ice 3.6.5 sdist's file times (2019-07-31): the date of every
# file in a wheel compiled here.
ICEPY_SOURCE_DATE_EPOCH = 1564602578
# What compiles and packs the wheel, pinned by hash: bdist_wheel names its
# maker in the wheel ("Generator: setuptools (84.2.1)" in its WHEEL file), so
# whatever setuptools the index serves on the day would change the wheel's
# bytes.  setuptools >= 70.1 packs wheels itself: no `wheel` package.
# 84.2.1 needs Python >= 3.10, the oldest target's (ubuntu-22.04).
ICEPY_BUILD_REQUIREMENTS = (
    "setuptools==84.2.1 \\\n"
    "    --hash=sha256:ca140b45d5325a9478f880e351484f62fef15f336462e449ca0c03c873d589c2\n"
)
# The glibc each legacy manylinux tag stands for (PEP 600).
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class IcePyWheel:
    """The wheel a build installs, as its record names it."""

    path: PurePosixPath  # in the build container
    sha256: str
    origin: str  # given (file or URL), cached, or built


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
    x86_64 = [p.removesuffix("_x86_64") for p in wheel.platform_tags if p.endswith("_x86_64")]
    if not x86_64:
        raise UsageError(
            f"{filename} is for {', '.join(wheel.platform_tags)}, not x86_64 ({ARCHITECTURE})"
        )
    needed = [required_glibc(platform) for platform in x86_64]
    if not any(glibc is None or glibc <= target.glibc for glibc in needed):
        oldest = min(glibc for glibc in needed if glibc is not None)
        raise UsageError(
            f"{filename} needs glibc {oldest[0]}.{oldest[1]} or newer, but {target.name} has "
            f"glibc {target.glibc[0]}.{target.glibc[1]}: it would not load there; give a wheel "
            f"tagged manylinux_{target.glibc[0]}_{target.glibc[1]}_x86_64 or older (or "
            "linux_x86_64, built on the target), or leave out --icepy-wheel to build one"
        )


def required_glibc(platform: str) -> tuple[int, int] | None:
    """The glibc a wheel's platform (its tag less `_x86_64`) needs; None for
    `linux`: a wheel built on the target itself, whose glibc the tag does
    not say."""
    if platform in LEGACY_MANYLINUX:
        return LEGACY_MANYLINUX[platform]
    match = _MANYLINUX.match(platform)
    if match:
        return int(match.group(1)), int(match.group(2))
    if platform == "linux":
        return None
    # musllinux and the like: no glibc this target has.
    return (999, 0)


def patch_series() -> list[Path]:
    series = (PATCHES_DIR / "series").read_text().split()
    return [PATCHES_DIR / name for name in series]


def cache_key(target: Target) -> str:
    digest = hashlib.sha256()
    digest.update(f"{ICEPY_VERSION}\0{target.name}\0{target.python_abi}\0".encode())
    digest.update(ICEPY_BUILD_REQUIREMENTS.encode() + b"\0")
    for path in [*patch_series(), BUILD_SCRIPT]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{target.name}-{target.python_abi}-{digest.hexdigest()[:12]}"


# Beside a cached wheel: the build image's packages that compiled it
# (toolchain_fingerprint), so that a build image with another compiler or
# another libssl compiles anew instead of reusing it.
TOOLCHAIN_RECORD = "toolchain"


def toolchain_fingerprint(context: BuildContext) -> str:
    """Every package of the build image, with its version, hashed: what the
    compile links against and runs, the same on any machine whose image has
    the same packages (an image id would differ per machine)."""
    listing = context.container.call(
        ["dpkg-query", "-W", "-f", "${Package} ${Version} ${Architecture}\n"]
    ).stdout
    packages = "\n".join(sorted(listing.splitlines()))
    return hashlib.sha256(packages.encode()).hexdigest()


def cached_wheel(cache_dir: Path, target: Target, toolchain: str | None = None) -> Path | None:
    """The compiled wheel in the cache, checked against the hash recorded
    when it was built: a changed wheel stops the build.  With TOOLCHAIN, a
    wheel another toolchain compiled (or one without a record) is not the
    build's."""
    entry = cache_dir / "icepy" / cache_key(target)
    wheels = sorted(entry.glob("*.whl")) if entry.is_dir() else []
    if not wheels:
        return None
    record = entry / TOOLCHAIN_RECORD
    if toolchain is not None and (not record.is_file() or record.read_text().strip() != toolchain):
        return None
    recorded = recorded_sha256(wheels[0])
    if recorded is None:
        # An entry from before hashes were recorded: from now on, its hash.
        record_sha256(wheels[0])
    else:
        check_sha256(wheels[0], recorded, "the cached IcePy wheel")
    return wheels[0]


def record_sha256(wheel: Path) -> None:
    """Record the wheel's hash beside it, in sha256sum's format (so that
    `sha256sum -c` checks it by hand too)."""
    wheel.with_name(wheel.name + ".sha256").write_text(f"{file_sha256(wheel)}  {wheel.name}\n")


def recorded_sha256(wheel: Path) -> str | None:
    record = wheel.with_name(wheel.name + ".sha256")
    return record.read_text().split()[0] if record.is_file() else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, what: str) -> None:
    """Stop, naming the file and both hashes, when `path` is not `expected`."""
    actual = file_sha256(path)
    if actual != expected:
        raise BuildError(
            f"{what} {path} has sha256 {actual}, but {expected} was expected: the file "
            "changed or is not the one meant; nothing was built"
        )


def fetch_given_wheel(location: str, cache_dir: Path, sha256: str | None) -> Path:
    """A local path for --icepy-wheel, downloading it when it is a URL.

    A download goes to a temporary name beside its destination and is
    renamed only once complete and of the expected sha256, so neither a
    broken transfer nor a changed file ever sits in the cache; downloads
    are cached by that hash, not by the URL's file name."""
    if sha256 is not None and not _SHA256.match(sha256):
        raise UsageError(f"--icepy-sha256 {sha256!r} is not a sha256 (64 lower-case hex digits)")
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme in ("http", "https"):
        if sha256 is None:
            raise UsageError(
                f"--icepy-wheel {location} is a download: give its --icepy-sha256 too "
                "(`sha256sum` of the file you mean), so that no other file is built in"
            )
        destination = cache_dir / "downloads" / sha256 / Path(parsed.path).name
        if destination.is_file():
            check_sha256(destination, sha256, "the cached download of the IcePy wheel")
            return destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=destination.parent, prefix=".partial-", delete=False
        ) as partial:
            try:
                with urllib.request.urlopen(location, timeout=120) as response:
                    shutil.copyfileobj(response, partial)
            except (urllib.error.URLError, OSError) as e:
                Path(partial.name).unlink()
                raise NetworkError(
                    f"cannot download the IcePy wheel {location}: {getattr(e, 'reason', e)}"
                ) from e
        downloaded = Path(partial.name)
        actual = file_sha256(downloaded)
        if actual != sha256:
            downloaded.unlink()
            raise BuildError(
                f"the IcePy wheel downloaded from {location} has sha256 {actual}, but "
                f"--icepy-sha256 is {sha256}: it was not kept; check the URL and the hash"
            )
        downloaded.rename(destination)
        return destination
    path = Path(parsed.path if parsed.scheme == "file" else location)
    if not path.is_file():
        raise UsageError(f"IcePy wheel {location} does not exist")
    if sha256 is not None:
        check_sha256(path, sha256, "the IcePy wheel")
    return path


def resolve_given_wheel(config: BuildConfig) -> Path | None:
    """Check --icepy-wheel before anything slow starts."""
    if config.icepy_wheel is None:
        if config.icepy_sha256 is not None:
            raise UsageError("--icepy-sha256 is the hash of an --icepy-wheel: give that too")
        return None
    filename = Path(urllib.parse.urlparse(config.icepy_wheel).path).name
    check_wheel_for_target(filename, config.target)
    return fetch_given_wheel(config.icepy_wheel, config.cache_dir, config.icepy_sha256)


def build_icepy_wheel(context: BuildContext, toolchain: str | None = None) -> Path:
    """Compile the patched sdist in the build container; return the cached
    wheel, recorded as TOOLCHAIN's (by default, the container's)."""
    container, config = context.container, context.config
    toolchain = toolchain or toolchain_fingerprint(context)
    work = context.icepy_work
    source = work / f"zeroc-ice-{ICEPY_VERSION}"
    container.call(["mkdir", "-p", str(work / "dist")])
    # A throwaway venv with the build tools: the target's python3 has no pip.
    pip = [str(work / "venv/bin/python"), "-m", "pip"]
    container.call(["python3", "-m", "venv", str(work / "venv")])
    requirements = work / "build-requirements.txt"
    container.write_file(requirements, ICEPY_BUILD_REQUIREMENTS.encode())
    container.call(
        [*pip, "install", "-q", "--require-hashes", "--requirement", str(requirements)],
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
    sdist = work / f"zeroc-ice-{ICEPY_VERSION}.tar.gz"
    served = container.call(["sha256sum", str(sdist)]).stdout.split()[0]
    if served != ICEPY_SDIST_SHA256:
        raise BuildError(
            f"the package index served {sdist.name} with sha256 {served}, but IcePy is "
            f"built only from the sdist with sha256 {ICEPY_SDIST_SHA256}: a changed or "
            "tampered file, or PIP_INDEX_URL serves another one; nothing was built"
        )
    container.call(["tar", "-xzf", str(sdist), "-C", str(work)])
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
        ],
        # bdist_wheel dates the files it packs by SOURCE_DATE_EPOCH where
        # set, else by their build time: two compiles of the same sources
        # then give the same wheel bytes.
        env={"SOURCE_DATE_EPOCH": str(ICEPY_SOURCE_DATE_EPOCH)},
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
        record_sha256(container.copy_out(built, Path(partial) / "wheel"))
        Path(partial, "wheel", TOOLCHAIN_RECORD).write_text(f"{toolchain}\n")
        shutil.rmtree(entry, ignore_errors=True)
        Path(partial, "wheel").rename(entry)
    return entry / built.name


def provide_icepy_wheel(context: BuildContext) -> IcePyWheel:
    """Put the IcePy wheel into the container (the given one, the cached
    one, or one built now); return its path there and its sha256."""
    config = context.config
    origin = f"given: {config.icepy_wheel}"
    wheel = context.icepy_wheel
    if wheel is None:
        origin = f"compiled from the zeroc-ice {ICEPY_VERSION} sdist, cached"
        toolchain = toolchain_fingerprint(context)
        wheel = cached_wheel(config.cache_dir, config.target, toolchain)
        if wheel is None:
            with cache_lock(
                config.cache_dir, f"icepy-{cache_key(config.target)}", context.progress.log
            ):
                # Another build may have made it while this one waited.
                wheel = cached_wheel(config.cache_dir, config.target, toolchain)
                if wheel is None:
                    origin = f"compiled from the zeroc-ice {ICEPY_VERSION} sdist by this build"
                    wheel = build_icepy_wheel(context, toolchain)
    sha256 = file_sha256(wheel)
    context.container.copy_into(wheel, context.wheel_dir)
    return IcePyWheel(context.wheel_dir / wheel.name, sha256, origin)
