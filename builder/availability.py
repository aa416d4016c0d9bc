"""Can a target's base image be had on this host, and if not, why not."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from builder.errors import NetworkError
from builder.images import BaseSource, base_image_tag, check_mirror, image_exists
from builder.keyrings import KEYRING_PACKAGES, find_keyring
from builder.targets import DEBIAN_KEYRING, Target


@dataclass(frozen=True)
class Availability:
    available: bool
    how: str  # how the image is had, or why it cannot be


def keyring_state(target: Target, cache_dir: Path) -> str | None:
    """How the archive keyring is had, or None where it cannot be."""
    found = find_keyring(target, cache_dir)
    if found is not None:
        return str(found)
    if target.distribution == "ubuntu" and Path(DEBIAN_KEYRING).is_file():
        return f"{KEYRING_PACKAGES['ubuntu']} fetched from Debian when needed"
    return None


def check_availability(
    client: docker.DockerClient, target: Target, cache_dir: Path, mirror: str | None = None
) -> Availability:
    source = BaseSource.for_target(target, mirror)
    tag = base_image_tag(source)
    if image_exists(client, tag):
        return Availability(True, f"cached image {tag}")
    if image_exists(client, target.image) and mirror is None:
        return Availability(True, f"local image {target.image}")
    try:
        client.api.inspect_distribution(target.image)  # type: ignore[no-untyped-call]
        return Availability(True, f"pull {target.image}")
    except docker.errors.APIError as e:
        pull = f"pull {target.image}: {str(e.explanation or e).splitlines()[0][:120]}"
    tool = shutil.which("mmdebstrap") or shutil.which("debootstrap")
    if tool is None:
        return Availability(False, f"{pull}; bootstrap: install mmdebstrap")
    keyring = keyring_state(target, cache_dir)
    if keyring is None:
        package = KEYRING_PACKAGES[target.distribution]
        return Availability(
            False, f"{pull}; bootstrap: no keyring {target.keyring} (apt-get install {package})"
        )
    try:
        for suite_mirror, suite in source.suite_urls():
            check_mirror(suite_mirror, suite, timeout=10)
    except NetworkError as e:
        return Availability(False, f"{pull}; bootstrap: {e}")
    return Availability(True, f"bootstrap from {source.mirror} with {Path(tool).name} ({keyring})")
