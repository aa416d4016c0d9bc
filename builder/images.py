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
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import docker
import docker.errors

from builder.config import NetworkSettings
from builder.container import Container
from builder.context import HostContext
from builder.errors import CommandFailed, ImageUnavailable, KeyringUnavailable, NetworkError
from builder.keyrings import KEYRING_PACKAGES, download, ensure_keyring, verified_release
from builder.locks import cache_lock
from builder.runner import LogFn, Runner
from builder.targets import Target
from builder.trust import trust_ca_certificates

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

# A base older than this misses security updates: the build says so.
MAX_BASE_AGE_DAYS = 14


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class BaseSource:
    """Where a bootstrapped base comes from: the target's suites on its
    mirrors, like the registry's images (release, -updates, -security)."""

    target: Target
    mirror: str
    security_mirror: str
    custom_mirror: bool = False  # the user chose the mirror: never pull instead

    @classmethod
    def for_target(
        cls, target: Target, mirror: str | None = None, security_mirror: str | None = None
    ) -> BaseSource:
        archive = (mirror or target.mirror).rstrip("/")
        if security_mirror is None:
            # Ubuntu's archive serves its -security suite; a Debian mirror
            # does not, so Debian's security archive stays the default.
            same = mirror is not None and target.security_mirror == target.mirror
            security_mirror = archive if same else target.security_mirror
        custom = mirror is not None or security_mirror.rstrip("/") != target.security_mirror
        return cls(target, archive, security_mirror.rstrip("/"), custom)

    def suite_urls(self) -> tuple[tuple[str, str], ...]:
        """(mirror, suite) for each suite the base carries."""
        release, updates, security = self.target.suites
        return (
            (self.mirror, release),
            (self.mirror, updates),
            (self.security_mirror, security),
        )

    def apt_lines(self) -> list[str]:
        components = " ".join(self.target.components)
        return [f"deb {mirror} {suite} {components}" for mirror, suite in self.suite_urls()]


def base_image_tag(source: BaseSource) -> str:
    key = _short_hash(*source.apt_lines(), "apt+ca-certificates")
    return f"{IMAGE_REPOSITORY}:{source.target.name}-{key}"


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def image_age_days(client: docker.DockerClient, tag: str, now: float | None = None) -> float:
    created = str(client.images.get(tag).attrs["Created"])
    # Docker writes nanoseconds; seconds are plenty.
    when = datetime.strptime(created[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return ((now or time.time()) - when.timestamp()) / 86400


def check_mirror(mirror: str, suite: str, timeout: float = 20) -> bytes:
    """The suite's InRelease, or an error with the URL when it is not served."""
    try:
        return download(f"{mirror}/dists/{suite}/InRelease", timeout)
    except NetworkError as e:
        raise NetworkError(f"mirror {mirror} does not serve {suite}: {e}") from e


def check_suites(source: BaseSource, keyring: Path, runner: Runner) -> None:
    """Every suite answers and is signed by the keyring, before mmdebstrap
    starts (whose own errors drown in its output)."""
    for mirror, suite in source.suite_urls():
        url = f"{mirror}/dists/{suite}/InRelease"
        try:
            verified_release(check_mirror(mirror, suite), keyring, url, runner)
        except KeyringUnavailable as e:
            package = KEYRING_PACKAGES[source.target.distribution]
            raise KeyringUnavailable(
                f"{e}.\nEither the mirror is not a {source.target.distribution} archive, or the "
                f"keyring is not {source.target.distribution}'s: apt-get install {package} "
                f"(a keyring this tool fetched into its cache is fetched again once removed)"
            ) from e


def provide_base_image(context: HostContext) -> str:
    """The target's base image: cached, pulled or bootstrapped."""
    config = context.config
    return ensure_base_image(
        context.client,
        BaseSource.for_target(config.target, config.mirror, config.security_mirror),
        context.runner,
        cache_dir=config.cache_dir,
        refresh=config.refresh_base,
        say=context.progress.say,
    )


def provide_build_image(context: HostContext, base_image: str) -> str:
    """The base plus the build tools: cached or made now."""
    config = context.config
    return ensure_build_image(
        context.client,
        base_image,
        config.target,
        config.network,
        context.progress.log,
        config.cache_dir,
    )


def ensure_base_image(
    client: docker.DockerClient,
    source: BaseSource,
    runner: Runner,
    *,
    cache_dir: Path,
    refresh: bool = False,
    say: LogFn | None = None,
) -> str:
    """A local image tag for the target's base system."""
    tag = base_image_tag(source)
    with cache_lock(cache_dir, tag, runner.log):
        return _ensure_base_image(
            client, source, runner, tag, cache_dir, refresh, say or runner.log
        )


def _ensure_base_image(
    client: docker.DockerClient,
    source: BaseSource,
    runner: Runner,
    tag: str,
    cache_dir: Path,
    refresh: bool,
    say: LogFn,
) -> str:
    target = source.target
    for cached in (tag, target.image):
        if cached == target.image and source.custom_mirror:
            break  # a chosen mirror is bootstrapped from, never stood in for
        if not image_exists(client, cached):
            continue
        if refresh:
            continue
        age = image_age_days(client, cached)
        runner.log(f"base image {cached} is cached ({age:.1f} days old)")
        if age > MAX_BASE_AGE_DAYS:
            say(
                f"    note: the base image {cached} is {age:.0f} days old; build with --refresh "
                "(make deb REFRESH=1) to pick up the security updates since"
            )
        return cached
    pull_error = "skipped: a mirror was given, so the image is bootstrapped from it"
    if not source.custom_mirror:
        try:
            runner.log(f"+ docker pull {target.image}")
            client.images.pull(target.image)
            if refresh and image_exists(client, tag):
                # The stale bootstrapped base must not be found again by the
                # next build (a new bootstrap re-tags it, so only here).
                runner.log(f"+ docker rmi {tag} (refreshed by the pull)")
                try:
                    client.images.remove(tag)
                except docker.errors.APIError as e:
                    runner.log(f"    could not untag it: {e}")
            return target.image
        except docker.errors.APIError as e:
            pull_error = str(e.explanation or e).splitlines()[0]
    try:
        keyring = ensure_keyring(target, cache_dir, runner)
        check_suites(source, keyring, runner)
        bootstrap_image(client, source, keyring, tag, runner)
    except (NetworkError, CommandFailed) as e:  # KeyringUnavailable says enough itself
        advice = (
            f"set --mirror (make deb MIRROR=...) to a {target.distribution} mirror you can reach"
        )
        if target.distribution != "debian":
            advice += ", or build TARGET=debian-12, which needs only the Debian mirror"
        raise ImageUnavailable(
            f"no base image for {target.name}:\n"
            f"  docker pull {target.image}: {pull_error}\n"
            f"  bootstrap from {source.mirror}: {e}\n"
            f"To fix: {advice}."
        ) from e
    return tag


def bootstrap_image(
    client: docker.DockerClient, source: BaseSource, keyring: Path, tag: str, runner: Runner
) -> None:
    target = source.target
    with tempfile.TemporaryDirectory(prefix="omero-web-deb-rootfs-") as work:
        tarball = Path(work) / "rootfs.tar"
        # apt checks signatures as the _apt user, which cannot read a keyring
        # under root's home (or a private temp folder): give it a copy it can.
        readable = Path(work) / "keyring"
        readable.mkdir()
        keyring = Path(shutil.copy(keyring, readable / keyring.name))
        for path, mode in ((Path(work), 0o755), (readable, 0o755), (keyring, 0o644)):
            path.chmod(mode)
        if shutil.which("mmdebstrap"):
            runner.call(
                [
                    "mmdebstrap",
                    "--variant=apt",
                    "--include=ca-certificates",
                    f"--keyring={keyring}",
                    target.codename,
                    str(tarball),
                    *source.apt_lines(),
                ],
                hint=f"mmdebstrap could not bootstrap {target.codename} from {source.mirror}",
            )
        elif shutil.which("debootstrap"):
            rootfs = Path(work) / "rootfs"
            runner.call(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=ca-certificates",
                    f"--components={','.join(target.components)}",
                    f"--keyring={keyring}",
                    target.codename,
                    str(rootfs),
                    source.mirror,
                ]
            )
            # debootstrap knows one suite: add the other two, and their updates.
            (rootfs / "etc/apt/sources.list").write_text("\n".join(source.apt_lines()) + "\n")
            runner.call(["chroot", str(rootfs), "apt-get", "update", "-q"])
            runner.call(["chroot", str(rootfs), "apt-get", "dist-upgrade", "-y", "-q"])
            runner.call(["chroot", str(rootfs), "apt-get", "clean"])
            runner.call(["tar", "-C", str(rootfs), "-cf", str(tarball), "."])
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
    cache_dir: Path,
) -> str:
    base_id = str(client.images.get(base_tag).id)
    tag = f"{BUILD_IMAGE_REPOSITORY}:{target.name}-{_short_hash(base_id, *BUILD_PACKAGES)}"
    with cache_lock(cache_dir, tag, log):
        return _ensure_build_image(client, base_tag, tag, network, log)


def _ensure_build_image(
    client: docker.DockerClient, base_tag: str, tag: str, network: NetworkSettings, log: LogFn
) -> str:
    if image_exists(client, tag):
        log(f"build image {tag} is cached")
        return tag
    apt_env = {"DEBIAN_FRONTEND": "noninteractive", **network.environment}
    with Container(client, base_tag, log=log, environment=apt_env) as container:
        trust_ca_certificates(container, network.ca_certificates)
        container.call(["apt-get", "update", "-q"])
        container.call(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *BUILD_PACKAGES]
        )
        container.call(["apt-get", "clean"])
        repository, _, version = tag.partition(":")
        container.commit(repository, version)
    return tag
