"""The package's SBOM: CycloneDX JSON, made with cyclonedx-python-lib.

It lists every Python distribution in the venv (version, license from its
own metadata, the sha256 of the locked files), the IcePy wheel (its hash,
the sdist it was compiled from and the patch set applied to it) and the
package's Debian dependencies, and is installed as
/usr/share/doc/omero-web/sbom.cdx.json.  It is made on the host, before
dpkg-buildpackage, from the lock, the venv's metadata (read in the build
container) and the package's relationships as the build computes them.

It is part of the .deb, so it must be reproducible: its serial number is
derived from what it describes and its timestamp is SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import AttachedText, HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import (
    Component,
    ComponentScope,
    ComponentType,
    Diff,
    Patch,
    PatchClassification,
    Pedigree,
)
from cyclonedx.model.license import License
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from debian.deb822 import Deb822
from packageurl import PackageURL

from builder.config import ICEPY_SDIST_SHA256, ICEPY_VERSION, BuildConfig
from builder.context import BuildContext
from builder.debian_tree import render_debian_templates
from builder.errors import BuildError
from builder.icepy import IcePyWheel, patch_series
from builder.paths import ARCHITECTURE, PACKAGE_NAME, VENV
from builder.requirement_lock import ICEPY_NAME, IndexFile, Lock, LockedRequirement, canonical

SBOM_NAME = "sbom.cdx.json"
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


def licenses_of(metadata: Mapping[str, object]) -> list[License]:
    """A distribution's licenses: its License-Expression (PEP 639), else
    its License field when that is a name and not the license's text,
    else its license classifiers."""
    factory = LicenseFactory()
    expression = metadata.get("license_expression")
    if isinstance(expression, str) and expression.strip():
        return [factory.make_from_string(expression.strip())]
    field = str(metadata.get("license") or "").strip()
    if field and "\n" not in field and len(field) <= 100 and field.upper() != "UNKNOWN":
        return [factory.make_from_string(field)]
    classifiers = metadata.get("classifiers")
    listed = classifiers if isinstance(classifiers, list) else []
    names = [str(c).split(" :: ")[-1] for c in listed]
    return [factory.make_with_name(name) for name in names]


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


def make_sbom(
    config: BuildConfig,
    lock: Lock,
    installed: Sequence[Mapping[str, object]],
    icepy: IcePyWheel,
    relations: Iterable[DebianRelation],
) -> str:
    """The CycloneDX 1.6 JSON document, checked against its schema."""
    target = config.target
    distro = f"{target.distribution}-{target.release}"
    root = Component(
        name=PACKAGE_NAME,
        version=config.package_version,
        type=ComponentType.APPLICATION,
        bom_ref=f"deb:{PACKAGE_NAME}",
        purl=PackageURL(
            "deb",
            target.distribution,
            PACKAGE_NAME,
            config.package_version,
            {"arch": ARCHITECTURE, "distro": distro},
        ),
        description=f"OMERO.web {config.omero_web_version} for {target.name}",
    )
    locked = {r.name: r for r in lock.requirements}
    components = [
        icepy_component(icepy, licenses_of(metadata))
        if canonical(str(metadata["name"])) == ICEPY_NAME
        else python_component(metadata, locked)
        for metadata in installed
    ]
    components += [debian_component(relation, distro) for relation in relations]
    serial = uuid.uuid5(
        uuid.NAMESPACE_URL,
        f"{PACKAGE_NAME}/{config.package_version}/{target.name}/{lock.sha256}/{icepy.sha256}",
    )
    bom = Bom(
        serial_number=serial,
        metadata=BomMetaData(
            component=root,
            timestamp=datetime.fromtimestamp(config.source_date_epoch, tz=timezone.utc),
        ),
        components=components,
    )
    bom.register_dependency(root, components)
    text = JsonV1Dot6(bom).output_as_string(indent=1)
    problem = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if problem is not None:
        raise BuildError(f"the SBOM does not match CycloneDX 1.6's schema: {problem}")
    return text + "\n"


def python_component(
    metadata: Mapping[str, object], locked: Mapping[str, LockedRequirement]
) -> Component:
    """A distribution of the venv, with the hashes of its locked files."""
    name, version = canonical(str(metadata["name"])), str(metadata["version"])
    if name not in locked or locked[name].version != version:
        raise BuildError(
            f"the venv holds {name} {version}, which the lock does not pin: the venv "
            "and the lock disagree; build again"
        )
    return pypi_component(name, version, licenses_of(metadata), locked[name].files)


def pypi_component(
    name: str,
    version: str,
    licenses: Iterable[License],
    files: Iterable[IndexFile],
    pedigree: Pedigree | None = None,
) -> Component:
    """A Python distribution in the venv, by the files it may come from."""
    return Component(
        name=name,
        version=version,
        bom_ref=f"pypi:{name}",
        purl=PackageURL("pypi", None, name, version),
        scope=ComponentScope.REQUIRED,
        licenses=licenses,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=f.sha256) for f in files],
        properties=[Property(name=f"{PROPERTY}:file", value=f.filename) for f in files],
        pedigree=pedigree,
    )


def debian_component(relation: DebianRelation, distro: str) -> Component:
    """A package the Debian package depends on, with the relation naming it."""
    properties = [
        Property(name=f"{PROPERTY}:debian-field", value=relation.field),
        Property(name=f"{PROPERTY}:debian-relation", value=relation.alternatives),
    ]
    if relation.constraint:
        properties.append(
            Property(name=f"{PROPERTY}:version-constraint", value=relation.constraint)
        )
    distribution = distro.split("-")[0]
    return Component(
        name=relation.name,
        bom_ref=f"deb:{relation.field}:{relation.alternatives}:{relation.name}",
        # No version and no architecture: a relation names neither.
        purl=PackageURL("deb", distribution, relation.name, None, {"distro": distro}),
        scope=(
            ComponentScope.OPTIONAL if relation.field == "Recommends" else ComponentScope.REQUIRED
        ),
        properties=properties,
    )


def icepy_component(icepy: IcePyWheel, licenses: list[License]) -> Component:
    """IcePy as built here: its wheel, the sdist it came from, the patches."""
    sdist = Component(
        name=ICEPY_NAME,
        version=ICEPY_VERSION,
        bom_ref=f"pypi:{ICEPY_NAME}:sdist",
        purl=PackageURL(
            "pypi",
            None,
            ICEPY_NAME,
            ICEPY_VERSION,
            {"file_name": f"{ICEPY_NAME}-{ICEPY_VERSION}.tar.gz"},
        ),
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=ICEPY_SDIST_SHA256)],
    )
    patches = [
        Patch(
            type=PatchClassification.UNOFFICIAL,
            diff=Diff(text=AttachedText(content=patch.read_text(), content_type="text/x-diff")),
        )
        for patch in patch_series()
    ]
    return pypi_component(
        ICEPY_NAME,
        ICEPY_VERSION,
        licenses,
        [IndexFile(icepy.path.name, icepy.sha256)],
        Pedigree(ancestors=[sdist], patches=patches, notes=patch_notes()),
    )


def patch_notes() -> str:
    names = ", ".join(patch.name for patch in patch_series())
    return (
        f"Compiled from the zeroc-ice {ICEPY_VERSION} sdist with omero-web-deb's patch "
        f"set (builder/patches/icepy/series: {names}), without debug info, stripped."
    )
