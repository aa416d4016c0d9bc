"""Can a target's base image be had on this host, and if not, why not."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from builder.errors import NetworkError
from builder.images import base_image_tag, check_mirror, image_exists
from builder.targets import Target


@dataclass(frozen=True)
class Availability:
    available: bool
    how: str  # how the image is had, or why it cannot be


def check_availability(
    client: docker.DockerClient, target: Target, mirror: str | None = None
) -> Availability:
    mirror = (mirror or target.mirror).rstrip("/")
    tag = base_image_tag(target, mirror)
    if image_exists(client, tag):
        return Availability(True, f"cached image {tag}")
    if image_exists(client, target.image):
        return Availability(True, f"local image {target.image}")
    try:
        client.api.inspect_distribution(target.image)  # type: ignore[no-untyped-call]
        return Availability(True, f"pull {target.image}")
    except docker.errors.APIError as e:
        pull = f"pull {target.image}: {str(e.explanation or e).splitlines()[0][:120]}"
    tool = shutil.which("mmdebstrap") or shutil.which("debootstrap")
    if tool is None:
        return Availability(False, f"{pull}; bootstrap: install mmdebstrap")
    if not Path(target.keyring).is_file():
        return Availability(False, f"{pull}; bootstrap: no keyring {target.keyring}")
    try:
        check_mirror(target, mirror, timeout=10)
    except NetworkError as e:
        return Availability(False, f"{pull}; bootstrap: {e}")
    return Availability(True, f"bootstrap from {mirror} with {Path(tool).name}")
