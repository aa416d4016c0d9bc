"""The application venv, built at its installed path in the build container.

It is created with the target's own interpreter at /opt/omero/web/venv3, so
no path inside it has to be rewritten and the package can depend on exactly
that interpreter.  Bytecode is not shipped: postinst compiles it (see
debian/omero-web.postinst for why).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from builder.config import ICEPY_VERSION, BuildConfig
from builder.container import Container
from builder.errors import BuildError
from builder.paths import BUILD_PATH_MARKERS, VENV, WHEEL_DIR

# Optional back ends the debconf questions can switch on: gevent workers and
# the Redis session store (upstream's "redis" extra).
EXTRA_REQUIREMENTS = ("gevent",)
# Build tools that must not stay in the shipped venv.
BUILD_ONLY = ("pip", "setuptools", "wheel")


def target_interpreter(container: Container, config: BuildConfig) -> PurePosixPath:
    """The real file behind /usr/bin/python3, checked against the target table."""
    real = PurePosixPath(container.call(["readlink", "-f", "/usr/bin/python3"]).strip())
    if real.name != f"python{config.target.python}":
        raise BuildError(
            f"{config.target.name} should have Python {config.target.python}, but its "
            f"/usr/bin/python3 is {real}: the base image is not the target's; remove it "
            "with `docker rmi` and build again"
        )
    return real


def create_venv(container: Container, config: BuildConfig, icepy_wheel: PurePosixPath) -> str:
    """Create and fill the venv; return the pinned requirements it holds."""
    python = target_interpreter(container, config)
    pip = [str(VENV / "bin" / "python"), "-m", "pip"]
    container.call(["rm", "-rf", str(VENV)])
    container.call([str(python), "-m", "venv", str(VENV)])
    # --find-links rather than the wheel's path: pip then records no
    # direct_url.json, which would carry a build path into the package.
    container.call(
        [
            *pip,
            "install",
            "--no-compile",
            "--find-links",
            str(WHEEL_DIR),
            f"zeroc-ice=={ICEPY_VERSION}",
            f"omero-web[redis]=={config.omero_web_version}",
            *EXTRA_REQUIREMENTS,
        ],
        hint="pip could not install omero-web into the venv: check the network, the "
        "proxy variables, PIP_INDEX_URL and --ca-cert",
    )
    installed_icepy = container.call([*pip, "show", "-f", "zeroc-ice"])
    if f"IcePy.cpython-{config.target.python_abi[2:]}" not in installed_icepy:
        raise BuildError("the venv's IcePy is not the compiled wheel that was provided")
    frozen = container.call([*pip, "freeze", "--all", "--exclude-editable"])
    requirements = "".join(
        line + "\n"
        for line in frozen.splitlines()
        if line and line.split("==")[0].lower() not in BUILD_ONLY
    )
    container.call([*pip, "uninstall", "-y", "-q", *BUILD_ONLY[::-1]], check=False)
    remaining = container.call(
        [str(VENV / "bin" / "python"), "-m", "pip", "--version"], check=False
    )
    if "pip " in remaining and "No module named pip" not in remaining:
        raise BuildError(f"pip is still in the venv after uninstalling it: {remaining.strip()}")
    container.call(
        ["find", str(VENV), "-name", "__pycache__", "-prune", "-exec", "rm", "-rf", "{}", "+"]
    )
    # Python 3.13's venv keeps itself out of git with a .gitignore: a build
    # tree's concern, not an installed system's.
    container.call(["rm", "-f", str(VENV / ".gitignore")])
    return requirements


def check_no_build_paths(container: Container, root: PurePosixPath = VENV) -> None:
    """Fail when a build-time path leaked into any file about to be packaged."""
    argv = ["grep", "-rlF", "--binary-files=text"]
    for marker in BUILD_PATH_MARKERS:
        argv += ["-e", marker]
    output = container.call([*argv, str(root)], check=False).strip()
    if output:
        raise BuildError(
            "build-time paths leaked into packaged files (these would point nowhere on "
            "the installed host):\n  " + "\n  ".join(output.splitlines()[:20])
        )
