"""What a .deb says about itself: name, version, architecture, and which
suite (target codename) it was built for, if it was built for one.

The toolkit's own package (python3-omero-web-deb, Architecture: all, a
plain Debian revision) is built once for every distribution: its suite is
None, and `repo publish` puts it in every suite the repository serves."""

from __future__ import annotations

import lzma
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from debian.arfile import ArError
from debian.debfile import DebFile

from builder.errors import PackageRejected
from builder.paths import artifact_stem
from builder.targets import TARGETS

# The target part of our versions: 5.33.2-1~deb12 (builder/config.py).
_SUFFIX_RE = re.compile(r"~([a-z]+[0-9][0-9.]*)$")
SUITE_BY_SUFFIX = {t.version_suffix: t.codename for t in TARGETS.values()}
KNOWN_SUITES = tuple(t.codename for t in TARGETS.values())


@dataclass(frozen=True)
class PackageInfo:
    path: Path
    package: str
    version: str
    architecture: str
    suite: str | None  # None: any suite (Architecture: all, no target in its version)

    @property
    def pool_name(self) -> str:
        """The Debian file name (no epoch), whatever the file was called."""
        return f"{self.package}_{self.version.rpartition(':')[2]}_{self.architecture}.deb"


# What python-debian raises for a file that is not a whole .deb: not an ar
# archive (ArError, DebError), cut short, a member that does not decompress,
# or a control file without its fields.
UNREADABLE_DEB_ERRORS = (
    ArError, OSError, EOFError, KeyError, ValueError, tarfile.TarError, zlib.error, lzma.LZMAError,
)  # fmt: skip


def inspect_deb(path: Path) -> PackageInfo:
    """Read the control file; refuse what is not a .deb for a known target."""
    if not path.is_file():
        raise PackageRejected(f"{path}: no such file; give the path of a built .deb")
    try:
        with DebFile(filename=str(path)) as deb:
            control = deb.debcontrol()
            package, version = control["Package"], control["Version"]
            architecture = control["Architecture"]
            suite = suite_from_version(version) or _suite_from_changelog(deb)
            if suite is None and architecture != "all":
                raise PackageRejected(_no_suite_message(path, version, deb))
    except UNREADABLE_DEB_ERRORS as e:
        raise PackageRejected(
            f"{path} is not a Debian binary package ({str(e) or type(e).__name__}): publish the "
            f"{artifact_stem('<version>')}.deb that `omero-web-deb build` writes to its output folder"
        ) from e
    return PackageInfo(path, package, version, architecture, suite)


def suite_from_version(version: str) -> str | None:
    """bookworm for 5.33.2-1~deb12: the suffix is what keeps one file name per target."""
    match = _SUFFIX_RE.search(version)
    return SUITE_BY_SUFFIX.get(match.group(1)) if match else None


def _changelog_distribution(deb: DebFile) -> str | None:
    changelog = deb.changelog()
    return str(changelog.distributions) if changelog is not None else None


def _suite_from_changelog(deb: DebFile) -> str | None:
    """For a version without a target suffix, the changelog's distribution
    if it is a known suite.

    Only then: the changelog sits at the end of data.tar, so reading it
    decompresses the whole payload (about 10 s for omero-web)."""
    distribution = _changelog_distribution(deb)
    return distribution if distribution in KNOWN_SUITES else None


def _no_suite_message(path: Path, version: str, deb: DebFile) -> str:
    suffixes = ", ".join(f"~{s}" for s in SUITE_BY_SUFFIX)
    distribution = _changelog_distribution(deb)
    return (
        f"{path}: cannot tell which distribution it is for: its version {version} ends in "
        f"none of {suffixes} and its changelog names {distribution or 'none'}; build it "
        "with `omero-web-deb build --target ...`"
    )
