"""piuparts: install and purge, then install the previous build, upgrade to
this one and purge, in a chroot made from the target's base image.

piuparts runs on the host (it needs root and chroot; .ci/run installs it).
Its chroot comes from the same base image the other tests use, exported as
the gzip tarball piuparts wants, so no second bootstrap from the mirror.
piuparts' own policy-rc.d forbids starting services: this is also the
"Docker image or chroot" case."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import time
from pathlib import Path

import docker
import pytest

from builder.images import BaseSource
from builder.targets import Target

from .conftest import record
from .harness import CACHE_DIR, base_image

TRIXIE_LEFTOVERS = (
    "/var/cache/debconf/tmp.ci/",
    "/etc/.pwd.lock",
    "/etc/default/locale",
    "/etc/vconsole.conf",
    "/root/.ssh/",
    "/var/cache/private/",
    "/var/lib/private/",
    "/var/log/private/",
)
# Ubuntu 24.04's own: systemd, which the dependency chain pulls in there and
# piuparts then purges, leaves its state folders; usr-is-merged its marker.
NOBLE_LEFTOVERS = (
    "/lib.usr-is-merged/",
    "/var/lib/systemd/coredump/",
    "/var/lib/systemd/ephemeral-trees/",
    "/var/lib/systemd/pstore/",
)
PIUPARTS = shutil.which("piuparts") or (
    "/usr/sbin/piuparts" if Path("/usr/sbin/piuparts").exists() else None
)


def base_tarball(client: docker.DockerClient, target: Target) -> Path:
    """The base image as piuparts' --basetgz, exported once per image."""
    image = client.images.get(base_image(client, target))
    path = CACHE_DIR / "piuparts" / f"{target.name}-{image.id.split(':')[-1][:12]}.tar.gz"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    container = client.containers.create(image.id, ["true"])
    partial = path.with_suffix(f".partial-{os.getpid()}")
    try:
        with gzip.open(partial, "wb", compresslevel=1) as out:
            for chunk in container.export():
                out.write(chunk)
        partial.rename(path)
    finally:
        container.remove(force=True)
        partial.unlink(missing_ok=True)
    return path


def flat_repository(debs: list[Path], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        shutil.copy2(deb, directory)
    packages = subprocess.run(
        ["apt-ftparchive", "packages", "."], cwd=directory, check=True, capture_output=True
    ).stdout
    (directory / "Packages").write_bytes(packages)
    return directory


def piuparts_argv(target: Target, tarball: Path, repo: Path, log: Path, deb: Path) -> list[str]:
    """piuparts installing DEB in a chroot of the target's base image, with
    REPO (a flat repository) as an extra source."""
    argv = [
        PIUPARTS,
        "--distribution",
        target.codename,
        "--mirror",
        f"{target.mirror} {' '.join(target.components)}",
        "--basetgz",
        str(tarball),
        # The previous build, for the upgrade test: apt installs it, then
        # this build is installed over it.
        "--bindmount",
        str(repo),
        "--extra-repo",
        f"deb [trusted=yes] file://{repo} ./",
        # piuparts writes the release suite alone into the chroot's
        # sources; the base carries -updates and -security too, and the
        # package's dependencies are those of an up-to-date host.
        *(
            arg
            for line in BaseSource.for_target(target).apt_lines()[1:]
            for arg in ("--extra-repo", line)
        ),
        # Keep nginx while purging: what we leave under /etc/nginx shows.
        "--fake-essential-packages=nginx",
        # ... and so do nginx's own temp folders, which `nginx -t` (our
        # postinst's check) creates where nginx never ran: nginx's purge
        # removes them, and piuparts keeps nginx.
        "--ignore-regex",
        "/var/lib/nginx/(body|fastcgi|proxy|scgi|uwsgi)/",
        "--log-file",
        str(log),
        str(deb),
    ]
    if target.distribution == "ubuntu":
        # tzdata's own: Ubuntu's tzdata writes /etc/timezone in its postinst
        # and leaves it when piuparts purges it with our package.
        argv[1:1] = ["--ignore", "/etc/timezone"]
    if target.codename == "noble":
        for path in NOBLE_LEFTOVERS:
            argv[1:1] = ["--ignore", path]
    if target.codename != "bookworm":
        # bookworm's piuparts does not know what trixie's own packages leave
        # behind: debconf's temp folder, and the state of systemd, which
        # trixie's dependency chain pulls in and piuparts then purges
        # (tmpfiles' /root/.ssh and private folders, its locale links).
        # /etc/.pwd.lock is the shadow suite's lock file (adduser).
        for path in TRIXIE_LEFTOVERS:
            argv[1:1] = ["--ignore", path]
    return argv


@pytest.mark.skipif(os.geteuid() != 0, reason="piuparts needs root")
def test_piuparts_install_purge_and_upgrade(
    client: docker.DockerClient,
    target: Target,
    deb: Path,
    previous_deb: Path,
    tmp_path: Path,
) -> None:
    assert PIUPARTS, "piuparts is not installed (apt-get install piuparts; .ci/run does)"
    previous, newer = previous_deb, deb
    tarball = base_tarball(client, target)
    repo = flat_repository([previous], tmp_path / "previous")
    log = tmp_path / "piuparts.log"
    argv = piuparts_argv(target, tarball, repo, log, newer)
    print("+", " ".join(argv), flush=True)
    start = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    record(target, piuparts_s=round(elapsed, 1))
    text = log.read_text() if log.exists() else result.stdout + result.stderr
    assert result.returncode == 0, text[-6000:]
    assert "PASS: Installation and purging test" in text
    assert "PASS: Installation, upgrade and purging tests" in text, "no upgrade was tested"
