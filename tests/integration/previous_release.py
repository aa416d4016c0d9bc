"""The package users have today: the last release, built from its own commit.

Upgrade tests (lifecycle, piuparts, the apt repository) start from it, so
they exercise that release's maintainer scripts handing over to this tree's,
as an admin's `apt upgrade` does.  It is built with that release's own
toolkit, checked out from git (the commit is pinned here; the tag names it),
on today's base and build images and with the IcePy wheel this session built
for the tree under test: the same target, Python ABI and IcePy version, so
nothing is compiled twice.  The tree under test is built as revision 2 so
that it sorts above the release's revision 1.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import docker

from builder.icepy import cached_wheel
from builder.targets import Target

from .harness import CACHE_DIR, ROOT, base_image, build_image

TAG = "v0.1.0"
COMMIT = "8d573a875349859767df11013ad58f7a7ac6e69f"
REVISION = 1  # what that release was built as
CURRENT_REVISION = 2  # the tree under test, one above it


def release_tree(directory: Path) -> Path:
    """The release's files, as `git archive` of its commit gives them:
    extracted aside, then renamed into place, so that a concurrent build
    sees the whole tree or none."""
    tree = directory / f"omero-web-deb-{TAG}"
    if tree.is_dir():
        return tree
    directory.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=directory, prefix=".partial-"))
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "-C", str(ROOT), "archive", COMMIT], stdout=archive, check=True)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(partial, filter="data")
    try:
        partial.rename(tree)
    except OSError:  # the other lane was first
        shutil.rmtree(partial)
    return tree


def release_python(tree: Path, code: str) -> str:
    """Run code against the release's own `builder` package."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def build_previous_release(
    client: docker.DockerClient, target: Target, output: Path, work: Path
) -> Path:
    tree = release_tree(work)
    # The release looks its base image up under a tag of its own making;
    # today's base answers to it, so the release neither bootstraps a base
    # (it could not verify Ubuntu's archive on a Debian host) nor installs
    # a second build image: its build packages are today's.
    base = client.images.get(base_image(client, target))
    old_base, old_build = release_python(
        tree,
        "from builder.images import BUILD_IMAGE_REPOSITORY, BUILD_PACKAGES, _short_hash\n"
        "from builder.images import base_image_tag\n"
        "from builder.targets import TARGETS\n"
        f"t = TARGETS[{target.name!r}]\n"
        "print(base_image_tag(t, t.mirror))\n"
        f"key = _short_hash({base.id!r}, *BUILD_PACKAGES)\n"
        "print(f'{BUILD_IMAGE_REPOSITORY}:{t.name}-{key}')",
    ).split()
    base.tag(*old_base.split(":"))
    # Today's build image has every package the release's had, and more.
    client.images.get(build_image(client, target)).tag(*old_build.split(":"))
    wheel = cached_wheel(CACHE_DIR, target)
    assert wheel is not None, "the tree under test is built first: its IcePy wheel is reused"
    argv = [
        sys.executable, "-m", "builder", "build", "--target", target.name,
        "--revision", str(REVISION), "--icepy-wheel", str(wheel), "--no-lintian",
        "--output", str(output),
    ]  # fmt: skip
    print(f"+ [{TAG}]", shlex.join(argv), flush=True)
    commit_time = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%ct", COMMIT],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    result = subprocess.run(
        argv,
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "SOURCE_DATE_EPOCH": commit_time},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    print(result.stdout, flush=True)
    assert result.returncode == 0, f"{TAG} build failed:\n{result.stdout[-4000:]}"
    debs = sorted(output.glob(f"omero-web_*-{REVISION}~{target.version_suffix}_amd64.deb"))
    assert len(debs) == 1, f"no single .deb of {TAG} in {output}: {debs}"
    return debs[0]
