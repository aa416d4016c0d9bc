"""Tiny real .debs that stand in for omero-web in repository tests."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path


def make_deb(
    folder: Path,
    version: str,
    distribution: str | None = None,
    *,
    package: str = "omero-web",
    architecture: str = "amd64",
    payload: str = "",
) -> Path:
    """A tiny real .deb: a control file and, like ours, a changelog."""
    root = folder / f"src-{package}-{version}-{distribution}-{len(payload)}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: {architecture}\n"
        "Maintainer: test <test@localhost>\nDescription: a stand-in for OMERO.web\n"
    )
    doc = root / "usr" / "share" / "doc" / package
    doc.mkdir(parents=True)
    (doc / "payload").write_text(payload)
    if distribution:
        entry = (
            f"{package} ({version}) {distribution}; urgency=medium\n\n  * Test build.\n\n"
            " -- test <test@localhost>  Mon, 01 Jan 2024 00:00:00 +0000\n"
        )
        (doc / "changelog.Debian.gz").write_bytes(gzip.compress(entry.encode(), mtime=0))
    deb = folder / f"{package}_{version}_{architecture}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
        check=True, capture_output=True,
    )  # fmt: skip
    shutil.rmtree(root)
    return deb
