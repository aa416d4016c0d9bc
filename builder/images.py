"""Base and build images for a target.

Base image: pulled from the registry where one answers, else bootstrapped
with mmdebstrap (or debootstrap) from the target's mirror and imported.
Build image: the base plus the compilers and debhelper, committed once.
Both are tagged by a hash of their inputs, so a change of mirror, package
list or base rebuilds them, and nothing else does.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from builder.config import NetworkSettings
from builder.container import Container
from builder.errors import CommandFailed, ImageUnavailable, NetworkError
from builder.runner import Runner
from builder.targets import Target
from builder.trust import install_ca_certificates

IMAGE_REPOSITORY = "omero-web-deb/base"
BUILD_IMAGE_REPOSITORY = "omero-web-deb/build"

# What dpkg-buildpackage, the IcePy compile and lintian need.  IcePy links
# OpenSSL and bzip2 (its setup.py); python3-dev and python3-venv are the
# target's own interpreter.
BUILD_PACKAGES = (
    "build-essential",
    "debhelper",
    "dpkg-dev",
    "fakeroot",
    "lintian",
    "patch",
    "file",
    "python3-dev",
    "python3-venv",
    "libssl-dev",
    "libbz2-dev",
    "ca-certificates",
)

LogFn = Callable[[str], None]


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def base_image_tag(target: Target, mirror: str) -> str:
    key = _short_hash(target.codename, mirror, ",".join(target.components), "apt+ca-certificates")
    return f"{IMAGE_REPOSITORY}:{target.name}-{key}"


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def check_mirror(target: Target, mirror: str, timeout: float = 20) -> None:
    """Fail fast, with the URL, when the mirror does not serve the suite."""
    url = f"{mirror}/dists/{target.codename}/InRelease"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            pass
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise NetworkError(
            f"mirror {mirror} does not serve {target.codename}: {url}: {reason}"
        ) from e


def ensure_base_image(
    client: docker.DockerClient,
    target: Target,
    mirror: str,
    runner: Runner,
    *,
    custom_mirror: bool = False,
) -> str:
    """A local image tag for the target's base system."""
    tag = base_image_tag(target, mirror)
    if image_exists(client, tag):
        runner.log(f"base image {tag} is cached")
        return tag
    if image_exists(client, target.image) and not custom_mirror:
        return target.image
    pull_error = "skipped: a mirror was given, so the image is bootstrapped from it"
    if not custom_mirror:
        try:
            runner.log(f"+ docker pull {target.image}")
            client.images.pull(target.image)
            return target.image
        except docker.errors.APIError as e:
            pull_error = str(e.explanation or e)
    try:
        check_mirror(target, mirror)
        bootstrap_image(client, target, mirror, tag, runner)
    except (NetworkError, CommandFailed) as e:
        advice = (
            f"set --mirror (make deb MIRROR=...) to a {target.distribution} mirror you can reach"
        )
        if target.distribution != "debian":
            advice += ", or build TARGET=debian-12, which needs only the Debian mirror"
        raise ImageUnavailable(
            f"no base image for {target.name}:\n"
            f"  docker pull {target.image}: {pull_error}\n"
            f"  bootstrap from {mirror}: {e}\n"
            f"To fix: {advice}."
        ) from e
    return tag


def bootstrap_image(
    client: docker.DockerClient, target: Target, mirror: str, tag: str, runner: Runner
) -> None:
    with tempfile.TemporaryDirectory(prefix="omero-web-deb-rootfs-") as work:
        tarball = Path(work) / "rootfs.tar"
        if shutil.which("mmdebstrap"):
            runner.run(
                [
                    "mmdebstrap",
                    "--variant=apt",
                    "--include=ca-certificates",
                    f"--components={','.join(target.components)}",
                    f"--keyring={target.keyring}",
                    target.codename,
                    str(tarball),
                    mirror,
                ]
            )
        elif shutil.which("debootstrap"):
            rootfs = Path(work) / "rootfs"
            runner.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=ca-certificates",
                    f"--components={','.join(target.components)}",
                    f"--keyring={target.keyring}",
                    target.codename,
                    str(rootfs),
                    mirror,
                ]
            )
            runner.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."])
        else:
            raise CommandFailed(
                ["mmdebstrap"],
                127,
                "neither mmdebstrap nor debootstrap is installed",
                "install one: apt-get install mmdebstrap",
            )
        repository, _, version = tag.partition(":")
        runner.log(f"+ docker import {tarball} {tag}")
        client.api.import_image_from_file(
            str(tarball), repository=repository, tag=version, changes=['CMD ["bash"]']
        )


def ensure_build_image(
    client: docker.DockerClient,
    base_tag: str,
    target: Target,
    network: NetworkSettings,
    log: LogFn,
) -> str:
    base_id = str(client.images.get(base_tag).id)
    tag = f"{BUILD_IMAGE_REPOSITORY}:{target.name}-{_short_hash(base_id, *BUILD_PACKAGES)}"
    if image_exists(client, tag):
        log(f"build image {tag} is cached")
        return tag
    apt_env = {"DEBIAN_FRONTEND": "noninteractive", **network.environment}
    with Container(client, base_tag, log=log, environment=apt_env) as container:
        install_ca_certificates(container, network.ca_certificates)
        container.call(["apt-get", "update", "-q"])
        container.call(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *BUILD_PACKAGES]
        )
        container.call(["apt-get", "clean"])
        repository, _, version = tag.partition(":")
        container.commit(repository, version)
    return tag
