"""Extra CA certificates inside containers.

Facilities behind TLS-intercepting proxies (and internal mirrors with their
own CA) need the host's extra CAs inside every container, or pip and apt over
HTTPS fail.  They go into the container's system store with
update-ca-certificates, not into PIP_CERT/REQUESTS_CA_BUNDLE: pip lets
REQUESTS_CA_BUNDLE override --cert, and the system store serves apt, pip and
Python's ssl alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from builder.container import ContainerLike
from builder.context import BuildContext
from builder.paths import CA_DIR


def install_ca_certificates(context: BuildContext) -> None:
    """The host's extra CAs (and --ca-cert's) in the build container."""
    trust_ca_certificates(context.container, context.config.network.ca_certificates)


def trust_ca_certificates(container: ContainerLike, certificates: Sequence[Path]) -> None:
    """Add CAs to any container's system store: the build image's, a test host's."""
    if not certificates:
        return
    for index, cert in enumerate(certificates):
        # update-ca-certificates only reads *.crt; number them so two files
        # with one name from different folders cannot overwrite each other.
        name = f"{index:02d}-{cert.stem}.crt"
        container.write_file(CA_DIR / name, cert.read_bytes())
    has_tool = container.call(["sh", "-c", "command -v update-ca-certificates || true"])
    if not has_tool.stdout.strip():
        container.call(["apt-get", "update", "-q"])
        container.call(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "ca-certificates"],
            env={"DEBIAN_FRONTEND": "noninteractive"},
        )
    container.call(["update-ca-certificates"])
