"""The application venv, built at its installed path in the build container.

It is created with the target's own interpreter at /opt/omero/web/venv3, so
no path inside it has to be rewritten and the package can depend on exactly
that interpreter.  What the service never reads is left out (trim_venv), and
the bytecode is compiled here and shipped (compile_bytecode): the service
cannot write the venv, and compiling at install took half a minute.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

from builder.context import BuildContext
from builder.errors import BuildError, CommandFailed
from builder.paths import BUILD_PATH_MARKERS, STATIC_DIR, VENV, VENV_REQUIREMENTS
from builder.requirement_lock import Lock, install_requirements

# Optional back ends the debconf questions can switch on: gevent workers and
# the Redis session store (upstream's "redis" extra).
EXTRA_REQUIREMENTS = ("gevent",)
# Build tools that must not stay in the shipped venv.
BUILD_ONLY = ("pip", "setuptools", "wheel")
VENV_PYTHON = str(VENV / "bin" / "python")
# Message catalogs kept: OMERO.web fixes LANGUAGE_CODE to en-gb and has no
# LocaleMiddleware, so Django reads no other language's catalog.
KEPT_LANGUAGES = frozenset({"en", "en_GB"})
# Django's contrib apps this venv cannot run: GeoDjango needs the GDAL and
# GEOS libraries, the PostgreSQL one psycopg; omero-web depends on neither,
# and OMERO.web keeps its sessions in files or Redis.
UNUSABLE_PACKAGES = ("django/contrib/gis", "django/contrib/postgres")
# Files only a compiler or a type checker reads: stubs, C headers and sources.
UNREAD_SUFFIXES = (".pyi", ".h", ".c")
# pip's report of a file whose hash is not the one required (pip 22 to 26;
# some add `(from -r FILE (line N))` before the colon):
#     zeroc-ice==3.6.5 from file:///.../zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl:
#         Expected sha256 <hex>
#              Got        <hex>
_HASH_MISMATCH = re.compile(
    r"^\s+(?P<requirement>\S+) from (?P<url>\S+?)(?: \(from [^\n]*\))?:?\n"
    r"(?P<expected>(?:\s+(?:Expected|or) sha256 [0-9a-f]{64}\n)+)"
    r"\s+Got\s+(?P<got>[0-9a-f]{64})",
    re.MULTILINE,
)


def requested_requirements(omero_web_version: str) -> tuple[str, ...]:
    """What the venv is resolved from: omero-web (with the Redis session
    store's extra) and the optional back ends."""
    return (f"omero-web[redis]=={omero_web_version}", *EXTRA_REQUIREMENTS)


def hash_mismatches(pip_output: str) -> list[str]:
    """pip's refusals of files whose hash is not the locked one, as
    `file: expected sha256 X, got Y` lines."""
    found = []
    for match in _HASH_MISMATCH.finditer(pip_output):
        filename = match.group("url").rsplit("/", 1)[-1].split("#")[0]
        expected = " or ".join(re.findall(r"[0-9a-f]{64}", match.group("expected")))
        found.append(f"{filename}: expected sha256 {expected}, got {match.group('got')}")
    return found


def target_interpreter(context: BuildContext) -> PurePosixPath:
    """The real file behind /usr/bin/python3, checked against the target table."""
    target = context.config.target
    found = context.container.call(["readlink", "-f", "/usr/bin/python3"]).stdout
    real = PurePosixPath(found.strip())
    if real.name != f"python{target.python}":
        raise BuildError(
            f"{target.name} should have Python {target.python}, but its "
            f"/usr/bin/python3 is {real}: the base image is not the target's; remove it "
            "with `docker rmi` and build again"
        )
    return real


def create_venv(context: BuildContext, lock: Lock, icepy_sha256: str, lock_name: str) -> str:
    """Create and fill the venv from the lock, every file hash-checked by
    pip (the IcePy wheel against `icepy_sha256`); return the pinned
    requirements it holds.  `lock_name` names the lock in errors."""
    container, config = context.container, context.config
    python = target_interpreter(context)
    pip = [VENV_PYTHON, "-m", "pip"]
    container.call(["rm", "-rf", str(VENV)])
    container.call([str(python), "-m", "venv", str(VENV)])
    container.write_file(VENV_REQUIREMENTS, install_requirements(lock, icepy_sha256).encode())
    # --find-links rather than the wheel's path: pip then records no
    # direct_url.json, which would carry a build path into the package.
    pip_install_locked(
        context,
        pip,
        ["--find-links", str(context.wheel_dir)],
        VENV_REQUIREMENTS,
        pinned_by=f"{lock_name} (or, for IcePy, the wheel's recorded hash)",
        remake="`omero-web-deb lock`",
        what="omero-web into the venv",
    )
    installed_icepy = container.call([*pip, "show", "-f", "zeroc-ice"]).stdout
    if f"IcePy.cpython-{config.target.python_abi[2:]}" not in installed_icepy:
        raise BuildError("the venv's IcePy is not the compiled wheel that was provided")
    frozen = container.call([*pip, "freeze", "--all", "--exclude-editable"]).stdout
    requirements = "".join(
        line + "\n"
        for line in frozen.splitlines()
        if line and line.split("==")[0].lower() not in BUILD_ONLY
    )
    container.call([*pip, "uninstall", "-y", "-q", *BUILD_ONLY[::-1]], check=False)
    # Without pip, `python -m pip` fails ("No module named pip", on stderr).
    remaining = container.call([*pip, "--version"], check=False)
    if remaining.returncode == 0:
        raise BuildError(
            f"pip is still in the venv after uninstalling it: {remaining.stdout.strip()}"
        )
    container.call(
        ["find", str(VENV), "-name", "__pycache__", "-prune", "-exec", "rm", "-rf", "{}", "+"]
    )
    # Python 3.13's venv keeps itself out of git with a .gitignore: a build
    # tree's concern, not an installed system's.
    container.call(["rm", "-f", str(VENV / ".gitignore")])
    return requirements


def pip_install_locked(
    context: BuildContext,
    pip: Sequence[str],
    options: Sequence[str],
    requirements: PurePosixPath,
    *,
    pinned_by: str,
    remake: str,
    what: str,
) -> None:
    """`pip install --require-hashes` from a lock's `requirements` file in
    the container.  A refused file is named with both hashes and `pinned_by`
    (where the expected ones come from), with `remake`, the command that
    makes the lock anew; any other failure says what to check."""
    install = [
        *pip,
        "install",
        "--no-compile",
        "--require-hashes",
        *options,
        "--requirement",
        str(requirements),
    ]
    result = context.container.call(install, check=False)
    if result.returncode == 0:
        return
    refused = hash_mismatches(result.output)
    if refused:
        raise BuildError(
            f"pip refused files whose sha256 is not the one in {pinned_by}; nothing was "
            "installed:\n  "
            + "\n  ".join(refused)
            + "\nA changed or tampered file: find out why before anything else; if the "
            f"index rightly serves new files, make the lock anew with {remake}"
        )
    raise CommandFailed(
        install,
        result.returncode,
        "\n".join(result.output.splitlines()[-25:]),
        f"pip could not install {what}: check the network, the proxy variables, "
        "PIP_INDEX_URL and --ca-cert",
    )


def check_no_build_paths(
    context: BuildContext, folders: Iterable[PurePosixPath] = (VENV, STATIC_DIR)
) -> None:
    """Fail when a build-time path leaked into any file about to be packaged."""
    argv = ["grep", "-rlF", "--binary-files=text"]
    for marker in BUILD_PATH_MARKERS:
        argv += ["-e", marker]
    argv += [str(folder) for folder in folders]
    # grep exits 0 when it found a marker, 1 when it found none, 2 on error.
    found = context.container.call(argv, check=False)
    if found.returncode not in (0, 1):
        raise CommandFailed(argv, found.returncode, found.output.strip())
    if found.returncode == 0:
        raise BuildError(
            "build-time paths leaked into packaged files (these would point nowhere on "
            "the installed host):\n  " + "\n  ".join(found.stdout.splitlines()[:20])
        )


def unshipped_folders(folders: Iterable[str]) -> list[str]:
    """The venv's folders (as `find -type d` lists them) left out of the
    package: the test suites wheels carry (numpy's, gevent's, greenlet's;
    django-pipeline even installs a top-level `tests`), and the message
    catalogs of languages OMERO.web never speaks (Django's contrib apps
    carry about a hundred each), and UNUSABLE_PACKAGES.  Every file costs dpkg time at each install
    and lintian time at each build; none of these is imported or read by
    the service."""
    listed = set(folders)
    chosen: list[str] = []
    for folder in sorted(listed):
        if chosen and folder.startswith(chosen[-1] + "/"):
            continue  # inside a folder already left out
        path = PurePosixPath(folder)
        is_test_suite = path.name == "tests" and "site-packages" in path.parts
        is_catalog = (
            path.parent.name == "locale"
            and path.name not in KEPT_LANGUAGES
            and f"{folder}/LC_MESSAGES" in listed
        )
        is_unusable = "site-packages" in path.parts and any(
            folder.endswith(f"/site-packages/{package}") for package in UNUSABLE_PACKAGES
        )
        if is_test_suite or is_catalog or is_unusable:
            chosen.append(folder)
    return chosen


def trim_venv(context: BuildContext) -> int:
    """Remove what the service never reads (unshipped_folders, the catalogs'
    sources, UNREAD_SUFFIXES, then the folders left empty); return how many
    folders unshipped_folders chose."""
    container = context.container
    lib = str(VENV / "lib")
    folders = container.call(["find", lib, "-type", "d"]).stdout.splitlines()
    unshipped = unshipped_folders(folders)
    if unshipped:
        container.call(["rm", "-rf", *unshipped])
    # The catalogs' sources: gettext reads only the compiled .mo beside them.
    container.call(["find", lib, "-path", "*/locale/*/LC_MESSAGES/*.po", "-delete"])
    unread = [arg for suffix in UNREAD_SUFFIXES for arg in ("-o", "-name", f"*{suffix}")][1:]
    folders_read = [lib, str(VENV / "include")]
    container.call(["find", *folders_read, "-type", "f", "(", *unread, ")", "-delete"])
    container.call(["find", *folders_read, "-mindepth", "1", "-type", "d", "-empty", "-delete"])
    return len(unshipped)


def compile_bytecode(context: BuildContext, folder: PurePosixPath = VENV / "lib") -> None:
    """Compile the venv's bytecode where it is installed, hash-checked (PEP
    552): no file time enters the package, and a source edited on the host is
    recompiled rather than served stale.  Forced: the build's own imports
    (collectstatic) left mtime-based bytecode behind.  A source that does not
    compile (a wheel's template or test data) gets none, as at runtime;
    compileall then exits 1 after listing it."""
    argv = [VENV_PYTHON, "-m", "compileall", "-q", "-f", "-j", "0"]
    argv += ["--invalidation-mode", "checked-hash", str(folder)]
    result = context.container.call(argv, check=False)
    if result.returncode not in (0, 1):
        raise CommandFailed(argv, result.returncode, result.output.strip())
