"""What the integration tests share: building with the real CLI, and fresh
target containers to install the result in, as an admin would."""

from __future__ import annotations

import gzip
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import docker
from debian.debfile import DebFile

from builder.cli import default_cache_dir
from builder.config import network_from_environment
from builder.container import Container
from builder.images import BaseSource, ensure_base_image, ensure_build_image
from builder.paths import OMERODIR, VENV
from builder.runner import Runner
from builder.targets import Target
from builder.trust import trust_ca_certificates

ROOT = Path(__file__).resolve().parents[2]
# The builder's own cache: base images' keyrings, IcePy wheels, locks.
CACHE_DIR = default_cache_dir(os.environ)
# Not under /tmp: systemd mounts a tmpfs there on Debian 13, which hides
# files copied in from outside.
DEB_DIR = PurePosixPath("/root/debs")


def deb_control(deb: Path) -> dict[str, str]:
    """The .deb's control fields (Version, Depends, Installed-Size, ...)."""
    with DebFile(str(deb)) as package:
        return dict(package.debcontrol())


def deb_member_names(deb: Path) -> list[str]:
    """The paths in the .deb's data archive, as tar lists them (./opt/...)."""
    with DebFile(str(deb)) as package:
        return list(package.data.tgz().getnames())


def deb_changelog(deb: Path) -> str:
    """The .deb's /usr/share/doc/<package>/changelog.Debian.gz, as text."""
    with DebFile(str(deb)) as package:
        name = package.debcontrol()["Package"]
        member = package.data.get_content(f"./usr/share/doc/{name}/changelog.Debian.gz")
    return gzip.decompress(member).decode()


def run_toolkit(target: Target, output: Path, command: str, *extra: str) -> None:
    """omero-web-deb COMMAND as a user who installed the toolkit's wheel runs
    it: its omero-web-deb, in a venv outside the checkout, run in an empty
    folder (installed_toolkit.py; the venv is made once per session)."""
    from .installed_toolkit import toolkit_from_wheel

    workdir = output.parent / f".cwd-{output.name}"
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [str(toolkit_from_wheel(output.parent)), command, "--target", target.name]
    argv += ["--output", str(output), *extra]
    print("+", " ".join(argv), flush=True)
    result = subprocess.run(
        argv, cwd=workdir, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    print(result.stdout, flush=True)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}"
    assert not any(workdir.iterdir()), f"{command} wrote into the folder it was run from"


def build_deb(target: Target, output: Path, *extra: str) -> Path:
    """`omero-web-deb build` (run_toolkit); the .deb."""
    run_toolkit(target, output, "build", *extra)
    debs = sorted(output.glob("omero-web_*.deb"))
    assert debs, f"no .deb in {output}"
    return debs[-1]


def build_app_debs(target: Target, output: Path, omero_web: Path, apps: Sequence[str]) -> Path:
    """`omero-web-deb app` (run_toolkit) for APPS, against the OMERO_WEB
    .deb, in one call; the folder holding their packages."""
    run_toolkit(target, output, "app", *apps, "--omero-web-deb", str(omero_web))
    return output


@dataclass
class Host:
    """A fresh container of the target, used the way an admin uses a host."""

    container: Container

    # Each returns what a terminal would show: stdout and stderr as they came.

    def sh(self, script: str, check: bool = True) -> str:
        return self.container.call(["sh", "-c", script], check=check).output

    def run(self, *argv: str, check: bool = True) -> str:
        return self.container.call(list(argv), check=check).output

    def exit_code(self, script: str) -> int:
        out = self.container.call(["sh", "-c", f"{script} >/dev/null 2>&1; echo $?"], check=False)
        return int(out.output.strip().splitlines()[-1])

    def as_service_user(self, *argv: str, check: bool = True) -> str:
        env = [
            f"OMERODIR={OMERODIR}",
            f"OMERO_USERDIR={OMERODIR}/var/omero",
            f"HOME={OMERODIR}/var",
        ]
        return self.container.call(
            ["runuser", "-u", "omero-web", "--", "env", *env, *argv], check=check, workdir="/"
        ).output

    def http_get(
        self, path: str, host: str = "localhost", port: int = 80
    ) -> tuple[int, dict[str, str], str]:
        """Status, headers and body of a GET through nginx, from inside the host."""
        out = self.container.call(
            [
                "sh",
                "-c",
                'curl -s -o /tmp/body -D /tmp/headers -H "Host: $1" "http://127.0.0.1:$2$3"; '
                "cat /tmp/headers; echo; cat /tmp/body",
                "sh",
                host,
                str(port),
                path,
            ],
            check=False,
        ).output
        head, _, body = out.replace("\r\n", "\n").partition("\n\n")
        lines = head.splitlines()
        if not lines or not lines[0].startswith("HTTP/"):
            return 0, {}, out
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        return int(lines[0].split()[1]), headers, body

    def wait_for_status(self, path: str, status: int = 200, timeout: float = 90) -> float:
        """Seconds until `path` answers `status`; fails after the timeout."""
        start = time.monotonic()
        last = None
        while time.monotonic() - start < timeout:
            last = self.http_get(path)
            if last[0] == status:
                return time.monotonic() - start
            time.sleep(0.5)
        raise AssertionError(
            f"{path} did not answer {status} within {timeout} s; last: {last and last[:1]}"
        )

    def copy_deb(self, deb: Path) -> str:
        """Copy a .deb into the host; its path there."""
        self.container.copy_into(deb, DEB_DIR)
        return f"{DEB_DIR}/{deb.name}"

    def install(self, deb: Path) -> None:
        self.run("apt-get", "install", "-y", "-q", self.copy_deb(deb))


def base_image(client: docker.DockerClient, target: Target) -> str:
    """The base image the builder uses for the target (made if missing)."""
    return ensure_base_image(
        client, BaseSource.for_target(target), Runner(print), cache_dir=CACHE_DIR
    )


def network_environment() -> dict[str, str]:
    """The proxy and index variables the builder passes into containers."""
    return dict(network_from_environment(os.environ).environment)


def prepare_sysv_host(host: Host) -> None:
    """The host's CAs, apt lists, curl, and services allowed to start."""
    trust_ca_certificates(host.container, network_from_environment(os.environ).ca_certificates)
    # A container has no init system, and invoke-rc.d then blocks every
    # service start.  Allowing them makes the container behave like a
    # sysvinit host: package scripts start nginx and omero-web through
    # their init scripts, as they would there.
    host.container.write_file(
        PurePosixPath("/usr/sbin/policy-rc.d"), b"#!/bin/sh\nexit 0\n", mode=0o755
    )
    host.run("apt-get", "update", "-q")
    host.run("apt-get", "install", "-y", "-q", "--no-install-recommends", "curl")


def build_image(client: docker.DockerClient, target: Target) -> str:
    """The build image the builder uses for the target (made if missing)."""
    return ensure_build_image(
        client,
        base_image(client, target),
        target,
        network_from_environment(os.environ),
        print,
        CACHE_DIR,
    )


# The package's files (under /opt) on a scratch volume, as on a host's own
# disk: in the container's layered file system (fuse-overlayfs here) dpkg
# took 100 s to unpack them instead of 23 s.  /opt itself is the base
# system's, never the package's, so purge checks lose nothing.
PACKAGE_SCRATCH = ("/opt",)


@contextmanager
def fresh_host(client: docker.DockerClient, target: Target, log=print) -> Iterator[Host]:
    """A new container from the target's base image, with apt lists ready."""
    image = base_image(client, target)
    env = {"DEBIAN_FRONTEND": "noninteractive", **network_environment()}
    with Container(
        client,
        image,
        log=log,
        name_prefix=f"omero-web-deb-test-{target.name}",
        environment=env,
        scratch=PACKAGE_SCRATCH,
    ) as c:
        host = Host(c)
        prepare_sysv_host(host)
        yield host


def venv_python() -> str:
    return str(VENV / "bin" / "python")
