"""The toolkit's own Debian package on a fresh host of each target: apt
installs it with the distribution's packages alone (no pip), its commands
answer, and on one target it builds omero-web with an app baked in
(`build --app`) through the host's Docker, lintian-clean, and that package
serves the app on a fresh host.

The package is built once per session (installed_toolkit.py).  The build
host of REAL_BUILD_TARGET gets the host's Docker socket, and the cache and
output folders at the same paths as on the host: the toolkit hands those
paths to the Docker daemon as bind mounts, and the daemon reads the host's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import docker
import pytest

from builder import __version__
from builder.apps.known import KNOWN_APPS
from builder.config import DEFAULT_OMERO_WEB_VERSION, network_from_environment
from builder.container import Container
from builder.paths import CONFIG_DIR
from builder.targets import TARGETS, Target
from builder.toolkit_deb import PACKAGE
from builder.trust import trust_ca_certificates

from .builds import PREBUILD_DIR
from .conftest import record
from .harness import (
    CACHE_DIR,
    Host,
    base_image,
    deb_changelog,
    deb_control,
    network_environment,
)
from .hosts import apt_install, get, prepared_host, wait_for
from .installed_toolkit import SECONDS, toolkit_deb

# The oldest libraries of the four (click 8.0, docker 5.0, python-debian
# 0.1.43, jinja2 3.0): the build that shows the lowered minimums hold.
REAL_BUILD_TARGET = "ubuntu-22.04"
SOCKET = "/var/run/docker.sock"
REVISION = 3  # not the suite's 2: a build of its own, beside the tree under test
BAKED = "omero-tagsearch"  # the smallest app with a page of its own


def same_path(*paths: Path) -> dict[str, dict[str, str]]:
    return {str(p): {"bind": str(p), "mode": "rw"} for p in paths}


def test_the_toolkit_package_installs_with_apt_and_builds(
    client: docker.DockerClient, target: Target, build_root: Path, request: pytest.FixtureRequest
) -> None:
    package = toolkit_deb(Path(os.environ.get(PREBUILD_DIR, build_root)))
    record(target, **SECONDS)  # the toolkit's build, if this process made it
    real_build = target.name == REAL_BUILD_TARGET
    cache, output = CACHE_DIR.resolve(), (build_root / f"toolkit-{target.name}").resolve()
    output.mkdir(parents=True, exist_ok=True)
    volumes = same_path(Path(SOCKET), *((cache, output) if real_build else ()))
    with Container(
        client,
        base_image(client, target),
        log=print,
        name_prefix=f"omero-web-deb-test-toolkit-{target.name}",
        environment={"DEBIAN_FRONTEND": "noninteractive", **network_environment()},
        volumes=volumes,
    ) as container:
        host = Host(container)
        trust_ca_certificates(container, network_from_environment(os.environ).ca_certificates)
        host.run("apt-get", "update", "-q")
        start = time.monotonic()
        # Without Recommends: the engine is the host's (docker.io would add
        # 120 MB and 100 packages per target for nothing).
        deb_path = host.copy_deb(package)
        host.run("apt-get", "install", "-y", "-q", "--no-install-recommends", deb_path)
        record(target, toolkit_package_install_s=round(time.monotonic() - start, 1))

        # The distribution's own libraries, no pip anywhere.
        assert host.exit_code("python3 -m pip --version") != 0
        assert host.exit_code("ls /usr/local/lib/python3*/dist-packages/* ") != 0
        libraries = host.run(
            "dpkg-query", "-W", "python3-click", "python3-docker", "python3-debian"
        )
        record(target, toolkit_libraries=" ".join(libraries.split()))

        assert host.run("omero-web-deb", "--version") == (
            f"omero-web-deb {__version__} (builds omero-web {DEFAULT_OMERO_WEB_VERSION} "
            "by default, for ubuntu-22.04)\n"
        )
        usage = host.run("omero-web-deb", "--help")
        assert all(command in usage for command in ("build", "targets", "repo"))
        assert "/usr/share/man/man1/omero-web-deb.1.gz" in host.run("dpkg", "-L", PACKAGE)

        # Through the host's Docker: the base image this suite uses is there.
        listing = host.run("omero-web-deb", "targets")
        rows = {line.split()[0]: line for line in listing.splitlines()[1:]}
        assert set(rows) == set(TARGETS), listing
        assert "yes: cached image" in rows[target.name], listing

        if real_build:
            start = time.monotonic()
            # With an app baked in (`build --app`): the facility's one-package path.
            argv = ["omero-web-deb", "build", "--target", target.name, "--revision", str(REVISION),
                    "--app", BAKED, "--cache-dir", str(cache), "--output", str(output)]  # fmt: skip
            result = container.call(argv, check=False)
            record(target, toolkit_package_warm_build_s=round(time.monotonic() - start, 1))
            assert result.returncode == 0, result.output[-4000:]
            (built,) = output.glob(f"omero-web_*-{REVISION}~{target.version_suffix}_amd64.deb")
            # The same package as the tree under test, built from the checkout's wheel.
            ours, theirs = deb_control(request.getfixturevalue("deb")), deb_control(built)
            for field in ("Package", "Architecture", "Depends", "Pre-Depends", "Recommends"):
                assert ours.get(field) == theirs.get(field), field
            assert theirs["Version"] == ours["Version"].replace("-2~", f"-{REVISION}~")
            app = KNOWN_APPS[BAKED]
            assert app.package in theirs["Provides"] and app.package in theirs["Conflicts"]
            changelog = deb_changelog(built)
            assert f"baked in (in place of {app.package})" in changelog, changelog
            report = built.with_name(built.name.removesuffix(".deb") + ".lintian.txt").read_text()
            findings = [line for line in report.splitlines() if line[:2] in ("E:", "W:")]
            assert not findings, "\n".join(findings)

    if real_build:
        # The baked app serves, configured by its drop-in, on a fresh host.
        with prepared_host(client, target, request.getfixturevalue("deb")) as host:
            apt_install(host, built)
            wait_for(host, "/webclient/login/")
            assert host.exit_code(f"test -f {CONFIG_DIR}/{app.dropin_name}") == 0
            wait_for(host, app.url, code=302)
            assert "/webclient/login/" in get(host, app.url)
