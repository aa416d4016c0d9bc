"""The distributions a package can be built for."""

from __future__ import annotations

from dataclasses import dataclass

from builder.errors import UsageError


@dataclass(frozen=True)
class Target:
    name: str  # what users type: debian-12
    distribution: str  # debian | ubuntu
    release: str  # 12, 22.04
    codename: str  # bookworm
    python: str  # the distribution's python3: 3.11
    image: str  # the registry image to try first
    mirror: str  # default package mirror for bootstrapping
    components: tuple[str, ...]
    keyring: str  # host keyring that verifies the mirror's Release file
    version_suffix: str  # appended to the Debian revision: 5.33.2-1~deb12
    security_mirror: str  # where the -security suite is served
    # The release's glibc (libc6 in its archive): the newest manylinux
    # wheel (PEP 600) its Python can load is manylinux_<glibc>.
    glibc: tuple[int, int]

    @property
    def suites(self) -> tuple[str, ...]:
        """What a registry image and a user's host carry: the release, its
        stable updates and its security updates."""
        return (self.codename, f"{self.codename}-updates", f"{self.codename}-security")

    @property
    def python_abi(self) -> str:
        """The CPython wheel tag of the target's interpreter: cp311."""
        return "cp" + self.python.replace(".", "")

    @property
    def python_package(self) -> str:
        return f"python{self.python}"


DEBIAN_MIRROR = "http://deb.debian.org/debian"
# Debian's security suites are a separate archive; Ubuntu's main archive
# carries its -security suites too.
DEBIAN_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
UBUNTU_MIRROR = "http://archive.ubuntu.com/ubuntu"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
UBUNTU_KEYRING = "/usr/share/keyrings/ubuntu-archive-keyring.gpg"

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "ubuntu-22.04",
            "ubuntu",
            "22.04",
            "jammy",
            "3.10",
            "ubuntu:22.04",
            UBUNTU_MIRROR,
            ("main", "universe"),
            UBUNTU_KEYRING,
            "ubuntu22.04",
            UBUNTU_MIRROR,
            (2, 35),
        ),
        Target(
            "ubuntu-24.04",
            "ubuntu",
            "24.04",
            "noble",
            "3.12",
            "ubuntu:24.04",
            UBUNTU_MIRROR,
            ("main", "universe"),
            UBUNTU_KEYRING,
            "ubuntu24.04",
            UBUNTU_MIRROR,
            (2, 39),
        ),
        Target(
            "debian-12",
            "debian",
            "12",
            "bookworm",
            "3.11",
            "debian:12",
            DEBIAN_MIRROR,
            ("main",),
            DEBIAN_KEYRING,
            "deb12",
            DEBIAN_SECURITY_MIRROR,
            (2, 36),
        ),
        Target(
            "debian-13",
            "debian",
            "13",
            "trixie",
            "3.13",
            "debian:13",
            DEBIAN_MIRROR,
            ("main",),
            DEBIAN_KEYRING,
            "deb13",
            DEBIAN_SECURITY_MIRROR,
            (2, 41),
        ),
    )
}

DEFAULT_TARGET = "ubuntu-22.04"


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        known = ", ".join(TARGETS)
        raise UsageError(
            f"unknown target {name!r}; choose one of: {known} "
            "(`omero-web-deb targets` shows which can be built here)"
        ) from None


def oldest_python_target() -> Target:
    """The target with the oldest Python: the one whose environment markers
    ask for the most backports (`typing_extensions; python_version < "3.13"`)."""
    return min(TARGETS.values(), key=lambda t: tuple(int(n) for n in t.python.split(".")))


def find_target_by_codename(codename: str) -> Target | None:
    for target in TARGETS.values():
        if target.codename == codename:
            return target
    return None
