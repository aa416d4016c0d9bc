"""Configuration: computed once by the CLI, frozen, passed down.

Nothing below the CLI reads the environment; `network_from_environment` is
how the CLI turns the host's proxy, pip and CA settings into values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import UsageError
from builder.targets import Target

DEFAULT_OMERO_WEB_VERSION = "5.33.2"
ICEPY_VERSION = "3.6.5"
# The zeroc-ice 3.6.5 sdist IcePy is compiled from, as PyPI serves it.
ICEPY_SDIST_SHA256 = "4235ffeb605bcd4e22e716577f7d61e4aa1bc82f65276bb542701a81b7933356"
DEFAULT_INDEX_URL = "https://pypi.org/simple"
# Locally added CAs, the Debian way (update-ca-certificates(8)).
HOST_EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")

# Variables passed into containers so builds work behind proxies and with
# internal package indexes.  apt honours the proxy ones, pip all of them.
PASSTHROUGH_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
)

_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+)*([a-z]+[0-9]*)?(\.post[0-9]+|\.dev[0-9]+)?$")


@dataclass(frozen=True)
class NetworkSettings:
    """What a container needs to reach mirrors and indexes from this host."""

    ca_certificates: tuple[Path, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def index_url(self) -> str:
        return self.environment.get("PIP_INDEX_URL", DEFAULT_INDEX_URL).rstrip("/")


@dataclass(frozen=True)
class BuildConfig:
    target: Target
    project_root: Path  # holds debian/ and templates/
    output_dir: Path
    cache_dir: Path
    omero_web_version: str = DEFAULT_OMERO_WEB_VERSION
    revision: int = 1
    icepy_wheel: str | None = None  # URL or file
    icepy_sha256: str | None = None  # the wheel's; required for a URL
    lock_file: Path | None = None  # instead of locks/<target>/omero-web-<version>.txt
    # OMERO.web apps baked into the package (--app), NAME[==VERSION] as
    # typed; NAME==VERSION once the build has checked its inputs.
    apps: tuple[str, ...] = ()
    mirror: str | None = None
    security_mirror: str | None = None
    refresh_base: bool = False  # bootstrap the base image anew (security updates)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    jobs: int = 1
    maintainer: str = "omero-web-deb local build <omero-web-deb@example.org>"
    source_date_epoch: int = 0
    keep_containers: bool = False
    lintian: bool = True

    @property
    def package_version(self) -> str:
        """Upstream, Debian revision, then the target: one apt repository can
        hold the same release built for every target, and `~` sorts the
        build below a plain `-N` revision as backports do."""
        return f"{self.omero_web_version}-{self.revision}~{self.target.version_suffix}"


def maintainer_from_environment(environ: Mapping[str, str]) -> str:
    """DEBFULLNAME and DEBEMAIL, as dch(1) reads them, else a placeholder."""
    name, email = environ.get("DEBFULLNAME"), environ.get("DEBEMAIL")
    if email and "<" in email:
        return email
    if email:
        return f"{name or email.split('@')[0]} <{email}>"
    return BuildConfig.maintainer


def validate_version(version: str) -> str:
    if not _VERSION_RE.match(version):
        raise UsageError(
            f"{version!r} is not a release version of omero-web (expected something like 5.33.2)"
        )
    return version


def find_ca_certificates(
    extra: Iterable[Path], host_dir: Path = HOST_EXTRA_CA_DIR
) -> tuple[Path, ...]:
    """The host's locally added CAs plus any given with --ca-cert."""
    found = sorted(host_dir.rglob("*.crt")) if host_dir.is_dir() else []
    certificates = [*found, *extra]
    for cert in certificates:
        try:
            text = cert.read_text(errors="replace")
        except OSError as e:
            raise UsageError(f"cannot read CA certificate {cert}: {e.strerror}") from e
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise UsageError(f"{cert} is not a PEM certificate (no BEGIN CERTIFICATE line)")
    return tuple(dict.fromkeys(certificates))


def network_from_environment(
    environ: Mapping[str, str], extra_ca: Iterable[Path] = (), host_ca_dir: Path = HOST_EXTRA_CA_DIR
) -> NetworkSettings:
    environment = {k: environ[k] for k in PASSTHROUGH_VARIABLES if environ.get(k)}
    return NetworkSettings(find_ca_certificates(extra_ca, host_ca_dir), environment)
