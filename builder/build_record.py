"""What a build was made from, for the .buildinfo.

dpkg-genbuildinfo writes only the fields deb-buildinfo(5) defines, and has
no option for others: the inputs go into a file of their own,
<stem>.build-inputs (deb822), which debian/rules registers with
dpkg-distaddfile.  The .buildinfo and .changes then list it, with its
sha256, among the build's files: the .buildinfo pins the inputs, and the
file names them (base and build image, lock, IcePy wheel and its patches),
so anyone can rebuild from the same ones and compare.  Nothing in it
depends on the time or the machine: two builds from the same inputs write
the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

import docker

from builder.context import BuildContext
from builder.icepy import IcePyWheel, file_sha256, patch_series
from builder.requirement_lock import Lock
from builder.sbom import describe_sbom, package_relations, venv_metadata, write_sbom


@dataclass(frozen=True)
class BuildInputs:
    target: str
    omero_web_version: str
    base_image: str  # tag and image id (and registry digest, where pulled)
    build_image: str
    lock_name: str
    lock_sha256: str
    icepy: IcePyWheel

    def render(self) -> str:
        patches = "".join(f"\n {file_sha256(patch)} {patch.name}" for patch in patch_series())
        fields = [
            ("Target", self.target),
            ("OMERO-Web-Version", self.omero_web_version),
            ("Base-Image", self.base_image),
            ("Build-Image", self.build_image),
            ("Requirements-Lock", f"{self.lock_sha256} {self.lock_name}"),
            ("IcePy-Wheel", f"{self.icepy.sha256} {self.icepy.path.name}"),
            ("IcePy-Wheel-Origin", self.icepy.origin),
            ("IcePy-Patches", patches),
        ]
        # A multi-line value (the patches) starts on the line after its name.
        return "".join(
            f"{name}:{value}\n" if value.startswith("\n") else f"{name}: {value}\n"
            for name, value in fields
        )


def image_identity(client: docker.DockerClient, tag: str) -> str:
    """`tag id` (plus its registry digests, where it was pulled): the id is
    the digest of the image's configuration, which names its layers."""
    image = client.images.get(tag)
    digests = image.attrs.get("RepoDigests") or []
    return " ".join([tag, str(image.id), *digests])


def write_build_records(
    context: BuildContext,
    lock: Lock,
    lock_name: str,
    icepy: IcePyWheel,
    images: tuple[str, str],
    sbom_python: PurePosixPath,
) -> None:
    """The SBOM into the package source (debian/omero-web.docs installs
    it; written by `sbom_python`, the cyclonedx tool venv's), and beside
    the artifacts the lock the venv was installed from and the build's
    inputs (debian/rules adds them to the .buildinfo)."""
    config, container = context.config, context.container
    sbom = describe_sbom(config, lock, venv_metadata(context), icepy, package_relations(context))
    write_sbom(context, sbom, sbom_python)
    container.write_file(context.artifact(".lock.txt"), lock.render().encode())
    inputs = BuildInputs(
        config.target.name,
        config.omero_web_version,
        *images,
        lock_name,
        lock.sha256,
        icepy,
    )
    container.write_file(context.artifact(".build-inputs"), inputs.render().encode())
