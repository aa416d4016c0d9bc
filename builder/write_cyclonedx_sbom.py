#!/usr/bin/env python3
"""Write omero-web's CycloneDX 1.6 SBOM from the toolkit's description of it.

    python3 write_cyclonedx_sbom.py DESCRIPTION.json SBOM.cdx.json

DESCRIPTION.json is builder/sbom.py's SbomDescription: everything the SBOM
says, decided by the toolkit.  This script only puts it in CycloneDX's form,
with cyclonedx-python-lib's model and its JSON outputter.  It runs in the
build container, in the venv that locks/tools/cyclonedx.txt pins
(builder/tool_venv.py), where the toolkit itself is not: it imports only the
standard library and that library.  The unit tests run it on the host.

The SBOM is part of the .deb, which must be reproducible: nothing here reads
the clock or the machine, and the library orders components, hashes and
properties itself, so the same description gives the same bytes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

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
from packageurl import PackageURL

Facts = Mapping[str, Any]  # one dataclass of builder/sbom.py, as JSON


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print("usage: write_cyclonedx_sbom.py DESCRIPTION.json SBOM.cdx.json", file=sys.stderr)
        return 2
    description_path, sbom_path = argv
    with open(description_path, encoding="utf-8") as file:
        description = json.load(file)
    with open(sbom_path, "w", encoding="utf-8", newline="\n") as file:
        file.write(cyclonedx_json(description))
    return 0


def cyclonedx_json(description: Facts) -> str:
    """The SBOM, CycloneDX 1.6 JSON: the package as the metadata's
    component, depending on every other component."""
    root = component(description["root"])
    components = [component(facts) for facts in description["components"]]
    bom = Bom(
        serial_number=UUID(description["serial_number"]),
        metadata=BomMetaData(
            component=root,
            timestamp=datetime.fromtimestamp(description["timestamp"], tz=timezone.utc),
        ),
        components=components,
    )
    bom.register_dependency(root, components)
    return JsonV1Dot6(bom).output_as_string(indent=1) + "\n"


def component(facts: Facts) -> Component:
    pedigree = facts["pedigree"]
    return Component(
        name=facts["name"],
        version=facts["version"],
        type=ComponentType(facts["type"]),
        bom_ref=facts["bom_ref"],
        purl=package_url(facts["purl"]),
        description=facts["description"],
        scope=ComponentScope(facts["scope"]) if facts["scope"] else None,
        licenses=[license_of(license) for license in facts["licenses"]],
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=sha256) for sha256 in facts["sha256"]],
        properties=[Property(name=name, value=value) for name, value in facts["properties"]],
        pedigree=None if pedigree is None else pedigree_of(pedigree),
    )


def pedigree_of(facts: Facts) -> Pedigree:
    return Pedigree(
        ancestors=[component(ancestor) for ancestor in facts["ancestors"]],
        patches=[
            Patch(
                type=PatchClassification.UNOFFICIAL,
                diff=Diff(text=AttachedText(content=diff, content_type="text/x-diff")),
            )
            for diff in facts["patches"]
        ],
        notes=facts["notes"],
    )


def license_of(facts: Facts) -> License:
    """An SPDX id or expression where the text is one (else a name), or a name."""
    factory = LicenseFactory()
    if facts["spdx_or_name"]:
        return factory.make_from_string(facts["text"])
    return factory.make_with_name(facts["text"])


def package_url(facts: Facts) -> PackageURL:
    return PackageURL(
        facts["type"],
        facts["namespace"],
        facts["name"],
        facts["version"],
        dict(facts["qualifiers"]) or None,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
