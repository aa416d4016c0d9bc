"""The package's SBOM: what it says, as plain data; CycloneDX JSON, written
in the build container.

It lists every Python distribution in the venv (version, license from its
own metadata, the sha256 of the locked files; for an app baked in with
patches, those patches), the IcePy wheel (its hash, the sdist it was
compiled from and the patch set applied to it) and the package's Debian
dependencies, and is installed as
/usr/share/doc/omero-web/sbom.cdx.json.  It is described on the host,
before dpkg-buildpackage, from the lock, the venv's metadata (read in the
build container) and the package's relationships as the build computes them.

The toolkit decides what the SBOM says (`describe_sbom`: frozen dataclasses,
handed over as JSON) and never imports cyclonedx-python-lib, which only
some target distributions package.  builder/write_cyclonedx_sbom.py puts the
description in CycloneDX 1.6's form with that library, run by the build
container's cyclonedx tool venv (builder/tool_venv.py).

It is part of the .deb, so it must be reproducible: its serial number is
derived from what it describes, its timestamp is SOURCE_DATE_EPOCH, and the
writer gives the same bytes for the same description.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath

from debian.deb822 import Deb822

from builder.apps.bake import baked_apps
from builder.config import ICEPY_SDIST_SHA256, ICEPY_VERSION, BuildConfig
from builder.context import BuildContext
from builder.debian_tree import render_debian_templates
from builder.errors import BuildError
from builder.icepy import IcePyWheel, patch_series
from builder.paths import ARCHITECTURE, PACKAGE_NAME, SBOM_WORK, VENV
from builder.requirement_lock import ICEPY_NAME, IndexFile, Lock, LockedRequirement, canonical
from builder.resources import app_patches, sbom_writer_script

SBOM_NAME = "sbom.cdx.json"
SBOM_WRITER = sbom_writer_script()
PROPERTY = "omero-web-deb"
# Read in the build container by the venv's own Python: each installed
# distribution's name, version and license fields.
_VENV_METADATA = """
import importlib.metadata as m, json
print(json.dumps(sorted(
    ({"name": d.metadata["Name"], "version": d.version,
      "license_expression": d.metadata.get("License-Expression"),
      "license": d.metadata.get("License"),
      "classifiers": [c for c in d.metadata.get_all("Classifier") or []
                      if c.startswith("License ::")]}
     for d in m.distributions()),
    key=lambda d: d["name"].lower())))
"""


@dataclass(frozen=True)
class PackageUrl:
    """A purl by its parts: the writer encodes them (packageurl-python)."""

    type: str  # pypi, deb
    namespace: str | None
    name: str
    version: str | None
    qualifiers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class License:
    """A license as a distribution states it: `text` is an SPDX id or
    expression where `spdx_or_name` (the writer's LicenseFactory decides;
    what is neither becomes a name), else a name (a classifier's)."""

    text: str
    spdx_or_name: bool


@dataclass(frozen=True)
class Pedigree:
    """What a component was made from, as CycloneDX's pedigree says it."""

    ancestors: tuple[Component, ...]
    patches: tuple[str, ...]  # unofficial diffs, in the series' order
    notes: str


@dataclass(frozen=True)
class Component:
    """One CycloneDX component, by the fields the SBOM fills."""

    bom_ref: str
    name: str
    version: str | None
    purl: PackageUrl
    type: str = "library"  # CycloneDX's component type: library, application
    scope: str | None = None  # required, optional
    description: str | None = None
    licenses: tuple[License, ...] = ()
    sha256: tuple[str, ...] = ()  # the hashes of the files it may come from
    properties: tuple[tuple[str, str], ...] = ()  # name, value
    pedigree: Pedigree | None = None


@dataclass(frozen=True)
class SbomDescription:
    """Everything the SBOM says; the writer adds only CycloneDX's form."""

    serial_number: str  # a UUID, derived from what the SBOM describes
    timestamp: int  # SOURCE_DATE_EPOCH
    root: Component  # the package
    components: tuple[Component, ...]  # what it holds and needs: the root depends on each

    def to_json(self) -> str:
        """The JSON the writer reads: the dataclasses' fields, keys sorted."""
        return json.dumps(asdict(self), indent=1, sort_keys=True) + "\n"


@dataclass(frozen=True)
class DebianRelation:
    field: str  # Depends, Pre-Depends, Recommends
    alternatives: str  # as in the control file: `nginx | httpd`
    name: str  # one package of it
    constraint: str  # `>= 2.34`, or empty


def venv_metadata(context: BuildContext) -> list[dict[str, object]]:
    python = str(VENV / "bin" / "python")
    out = context.container.call([python, "-c", _VENV_METADATA]).stdout
    found: list[dict[str, object]] = json.loads(out)
    return found


def licenses_of(metadata: Mapping[str, object]) -> tuple[License, ...]:
    """A distribution's licenses: its License-Expression (PEP 639), else
    its License field when that is a name and not the license's text,
    else its license classifiers."""
    expression = metadata.get("license_expression")
    if isinstance(expression, str) and expression.strip():
        return (License(expression.strip(), spdx_or_name=True),)
    field = str(metadata.get("license") or "").strip()
    if field and "\n" not in field and len(field) <= 100 and field.upper() != "UNKNOWN":
        return (License(field, spdx_or_name=True),)
    classifiers = metadata.get("classifiers")
    listed = classifiers if isinstance(classifiers, list) else []
    return tuple(License(str(c).split(" :: ")[-1], spdx_or_name=False) for c in listed)


def debian_relations(fields: Mapping[str, str]) -> list[DebianRelation]:
    """`Depends: a (>= 1), b | c` -> one relation per package named."""
    relations = []
    for field, text in fields.items():
        for group in (g.strip() for g in text.split(",")):
            if not group:
                continue
            for alternative in (a.strip() for a in group.split("|")):
                name, _, rest = alternative.partition(" ")
                constraint = rest.strip().removeprefix("(").removesuffix(")")
                relations.append(DebianRelation(field, group, name.split(":")[0], constraint))
    return relations


def package_relations(context: BuildContext) -> list[DebianRelation]:
    """The package's Pre-Depends, Depends and Recommends as control.j2
    declares them, with the values debian/rules substitutes computed the
    same way here: ${venv:Depends} (the venv's interpreter, at least the
    version built with) and ${shlibs:Depends} (dpkg-shlibdeps on our
    IcePy).  ${misc:*}, debhelper's own additions (debconf,
    init-system-helpers), are known only inside dpkg-buildpackage, after
    the SBOM is in the package, and are left out."""
    container = context.container
    python = PurePosixPath(
        container.call(["readlink", "-f", str(VENV / "bin" / "python")]).stdout.strip()
    ).name
    python_version = container.call(
        ["dpkg-query", "-W", "-f=${source:Upstream-Version}", python]
    ).stdout.strip()
    icepy = container.call(["find", str(VENV), "-name", "IcePy.*.so"]).stdout.split()
    shlibs = container.call(
        ["dpkg-shlibdeps", "-O", *(f"-e{so}" for so in icepy)], workdir=context.source_dir
    ).stdout.strip()
    substitutions = {
        "${venv:Depends}": f"{python} (>= {python_version})",
        "${shlibs:Depends}": shlibs.removeprefix("shlibs:Depends="),
        "${misc:Depends}": "",
        "${misc:Pre-Depends}": "",
    }
    control = render_debian_templates(context.config)["control"]
    binary = list(Deb822.iter_paragraphs(control))[-1]
    fields = {}
    for field in ("Pre-Depends", "Depends", "Recommends"):
        text = binary.get(field, "")
        for variable, value in substitutions.items():
            text = text.replace(variable, value)
        fields[field] = text
    return debian_relations(fields)


def describe_sbom(
    config: BuildConfig,
    lock: Lock,
    installed: Sequence[Mapping[str, object]],
    icepy: IcePyWheel,
    relations: Iterable[DebianRelation],
) -> SbomDescription:
    """What the package's SBOM says."""
    target = config.target
    distro = f"{target.distribution}-{target.release}"
    root = Component(
        bom_ref=f"deb:{PACKAGE_NAME}",
        name=PACKAGE_NAME,
        version=config.package_version,
        type="application",
        purl=PackageUrl(
            "deb",
            target.distribution,
            PACKAGE_NAME,
            config.package_version,
            (("arch", ARCHITECTURE), ("distro", distro)),
        ),
        description=f"OMERO.web {config.omero_web_version} for {target.name}",
    )
    locked = {r.name: r for r in lock.requirements}
    patched = {
        canonical(app.name): patches
        for app in baked_apps(config.apps)
        if (patches := app_patches(app.name))
    }
    components = [
        icepy_component(icepy, licenses_of(metadata))
        if canonical(str(metadata["name"])) == ICEPY_NAME
        else python_component(metadata, locked, patched)
        for metadata in installed
    ]
    components += [debian_component(relation, distro) for relation in relations]
    serial = uuid.uuid5(
        uuid.NAMESPACE_URL,
        f"{PACKAGE_NAME}/{config.package_version}/{target.name}/{lock.sha256}/{icepy.sha256}",
    )
    return SbomDescription(str(serial), config.source_date_epoch, root, tuple(components))


def write_sbom(context: BuildContext, description: SbomDescription, python: PurePosixPath) -> None:
    """The SBOM into the package source (debian/omero-web.docs installs
    it): builder/write_cyclonedx_sbom.py, run by `python` (the cyclonedx
    tool venv's), writes the description in CycloneDX's form."""
    described, writer = SBOM_WORK / "description.json", SBOM_WORK / SBOM_WRITER.name
    context.container.write_tree(
        SBOM_WORK,
        {
            PurePosixPath(described.name): (description.to_json().encode(), 0o644),
            PurePosixPath(writer.name): (SBOM_WRITER.read_bytes(), 0o644),
        },
    )
    context.container.call(
        [str(python), str(writer), str(described), str(context.source_dir / SBOM_NAME)],
        hint=f"{SBOM_WRITER.name} could not write the SBOM from {described}: a fault of "
        "omero-web-deb's; report it with the build log",
    )


def python_component(
    metadata: Mapping[str, object],
    locked: Mapping[str, LockedRequirement],
    patched: Mapping[str, Sequence[Path]],
) -> Component:
    """A distribution of the venv, with the hashes of its locked files (and
    for an app baked in with PATCHED's patches, those)."""
    name, version = canonical(str(metadata["name"])), str(metadata["version"])
    if name not in locked or locked[name].version != version:
        raise BuildError(
            f"the venv holds {name} {version}, which the lock does not pin: the venv "
            "and the lock disagree; build again"
        )
    files = locked[name].files
    component = pypi_component(name, version, licenses_of(metadata), files)
    if name not in patched:
        return component
    # Its installed files are not the index's: the hashes are its ancestor's.
    pedigree = patched_app_pedigree(name, version, files, patched[name])
    return replace(component, sha256=(), pedigree=pedigree)


def patched_app_pedigree(
    name: str, version: str, files: Iterable[IndexFile], patches: Sequence[Path]
) -> Pedigree:
    """An app as the build installs it (builder/apps/install.py): the index's
    files, then the project's patches for it applied to what they installed."""
    upstream = Component(
        bom_ref=f"pypi:{name}:upstream",
        name=name,
        version=version,
        purl=PackageUrl("pypi", None, name, version),
        sha256=tuple(f.sha256 for f in files),
    )
    folder = patches[0].parent.name
    return Pedigree(
        ancestors=(upstream,),
        patches=tuple(patch.read_text() for patch in patches),
        notes=(
            f"Installed from the package index's files, then patched by omero-web-deb "
            f"(builder/patches/apps/{folder}/: {', '.join(p.name for p in patches)})."
        ),
    )


def pypi_component(
    name: str,
    version: str,
    licenses: tuple[License, ...],
    files: Iterable[IndexFile],
    pedigree: Pedigree | None = None,
) -> Component:
    """A Python distribution in the venv, by the files it may come from."""
    files = tuple(files)
    return Component(
        bom_ref=f"pypi:{name}",
        name=name,
        version=version,
        purl=PackageUrl("pypi", None, name, version),
        scope="required",
        licenses=licenses,
        sha256=tuple(f.sha256 for f in files),
        properties=tuple((f"{PROPERTY}:file", f.filename) for f in files),
        pedigree=pedigree,
    )


def debian_component(relation: DebianRelation, distro: str) -> Component:
    """A package the Debian package depends on, with the relation naming it."""
    properties = [
        (f"{PROPERTY}:debian-field", relation.field),
        (f"{PROPERTY}:debian-relation", relation.alternatives),
    ]
    if relation.constraint:
        properties.append((f"{PROPERTY}:version-constraint", relation.constraint))
    distribution = distro.split("-")[0]
    return Component(
        bom_ref=f"deb:{relation.field}:{relation.alternatives}:{relation.name}",
        name=relation.name,
        # No version and no architecture: a relation names neither.
        version=None,
        purl=PackageUrl("deb", distribution, relation.name, None, (("distro", distro),)),
        scope="optional" if relation.field == "Recommends" else "required",
        properties=tuple(properties),
    )


def icepy_component(icepy: IcePyWheel, licenses: tuple[License, ...]) -> Component:
    """IcePy as built here: its wheel, the sdist it came from, the patches."""
    sdist = Component(
        bom_ref=f"pypi:{ICEPY_NAME}:sdist",
        name=ICEPY_NAME,
        version=ICEPY_VERSION,
        purl=PackageUrl(
            "pypi",
            None,
            ICEPY_NAME,
            ICEPY_VERSION,
            (("file_name", f"{ICEPY_NAME}-{ICEPY_VERSION}.tar.gz"),),
        ),
        sha256=(ICEPY_SDIST_SHA256,),
    )
    patches = tuple(patch.read_text() for patch in patch_series())
    return pypi_component(
        ICEPY_NAME,
        ICEPY_VERSION,
        licenses,
        [IndexFile(icepy.path.name, icepy.sha256)],
        Pedigree(ancestors=(sdist,), patches=patches, notes=patch_notes()),
    )


def patch_notes() -> str:
    names = ", ".join(patch.name for patch in patch_series())
    return (
        f"Compiled from the zeroc-ice {ICEPY_VERSION} sdist with omero-web-deb's patch "
        f"set (builder/patches/icepy/series: {names}), without debug info, stripped."
    )
