"""The SBOM: CycloneDX 1.6 JSON that the library's validator accepts, with
what an auditor looks for (versions, licenses, hashes, IcePy's patches, the
Debian dependencies), and the same bytes from the same inputs."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from builder.errors import BuildError
from builder.icepy import IcePyWheel, patch_series
from builder.sbom import DebianRelation, debian_relations, licenses_of, make_sbom
from tests.unit.fakes import make_config
from tests.unit.test_requirement_lock import LOCK

ICEPY = IcePyWheel(
    PurePosixPath("/omero-web-deb-build/wheels/zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"),
    "f" * 64,
    "compiled from the zeroc-ice 3.6.5 sdist, cached",
)
INSTALLED = [
    {"name": "Django", "version": "5.2.19", "license_expression": "BSD-3-Clause",
     "license": None, "classifiers": []},
    {"name": "numpy", "version": "2.4.6", "license_expression": None,
     "license": "Copyright (c) 2005-2025, NumPy Developers.\nAll rights reserved.\n...",
     "classifiers": ["License :: OSI Approved :: BSD License"]},
    {"name": "zeroc-ice", "version": "3.6.5", "license_expression": None,
     "license": "GPL v2 with exceptions", "classifiers": []},
]  # fmt: skip
RELATIONS = debian_relations(
    {
        "Pre-Depends": "",
        "Depends": "libc6 (>= 2.34), python3.11 (>= 3.11.2), nginx | httpd",
        "Recommends": "cron | cron-daemon",
    }
)


def sbom(tmp_path) -> dict:  # type: ignore[type-arg]
    text = make_sbom(make_config(tmp_path), LOCK, INSTALLED, ICEPY, RELATIONS)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    return json.loads(text)  # type: ignore[no-any-return]


def component(document: dict, ref: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in document["components"] if c["bom-ref"] == ref)  # type: ignore[no-any-return]


def test_the_sbom_is_valid_cyclonedx_describing_the_package(tmp_path):
    document = sbom(tmp_path)
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    root = document["metadata"]["component"]
    assert root["name"] == "omero-web" and root["version"] == "5.33.2-2~deb12"
    assert root["purl"] == "pkg:deb/debian/omero-web@5.33.2-2~deb12?arch=amd64&distro=debian-12"


def test_each_python_distribution_has_its_version_license_and_locked_hashes(tmp_path):
    document = sbom(tmp_path)
    django = component(document, "pypi:django")
    assert django["version"] == "5.2.19"
    assert django["purl"] == "pkg:pypi/django@5.2.19"
    assert django["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
    assert django["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    numpy = component(document, "pypi:numpy")
    # The License field holds the license's text: the classifier names it.
    assert numpy["licenses"] == [{"license": {"name": "BSD License"}}]
    assert {h["content"] for h in numpy["hashes"]} == {"b" * 64, "c" * 64}


def test_icepy_has_its_wheel_hash_its_sdist_and_its_patch_set(tmp_path):
    icepy = component(sbom(tmp_path), "pypi:zeroc-ice")
    assert icepy["hashes"] == [{"alg": "SHA-256", "content": "f" * 64}]
    pedigree = icepy["pedigree"]
    assert pedigree["ancestors"][0]["hashes"] == [
        {
            "alg": "SHA-256",
            "content": "4235ffeb605bcd4e22e716577f7d61e4aa1bc82f65276bb542701a81b7933356",
        }
    ]
    # The library orders them by content; the series' order is in the notes.
    patches = sorted(p["diff"]["text"]["content"] for p in pedigree["patches"])
    assert patches == sorted(patch.read_text() for patch in patch_series())
    assert ", ".join(patch.name for patch in patch_series()) in pedigree["notes"]
    assert all(p["type"] == "unofficial" for p in pedigree["patches"])


def test_the_debian_dependencies_are_listed_with_their_field_and_constraint(tmp_path):
    document = sbom(tmp_path)
    debian = {
        c["name"]: {p["name"]: p["value"] for p in c["properties"]}
        for c in document["components"]
        if c["purl"].startswith("pkg:deb/")
    }
    assert debian["libc6"] == {
        "omero-web-deb:debian-field": "Depends",
        "omero-web-deb:debian-relation": "libc6 (>= 2.34)",
        "omero-web-deb:version-constraint": ">= 2.34",
    }
    assert debian["httpd"]["omero-web-deb:debian-relation"] == "nginx | httpd"
    assert component(document, "deb:Recommends:cron | cron-daemon:cron")["scope"] == "optional"
    root_dependencies = next(d for d in document["dependencies"] if d["ref"] == "deb:omero-web")[
        "dependsOn"
    ]
    assert "deb:Depends:libc6 (>= 2.34):libc6" in root_dependencies
    assert "pypi:zeroc-ice" in root_dependencies


def test_the_same_inputs_give_the_same_bytes(tmp_path):
    config = make_config(tmp_path)
    first = make_sbom(config, LOCK, INSTALLED, ICEPY, RELATIONS)
    assert make_sbom(config, LOCK, list(INSTALLED), ICEPY, list(RELATIONS)) == first
    assert '"timestamp": "2025-11-28T03:20:00+00:00"' in first  # SOURCE_DATE_EPOCH


def test_a_venv_distribution_the_lock_does_not_pin_stops_the_build(tmp_path):
    extra = [*INSTALLED, {"name": "evil", "version": "1.0", "classifiers": []}]
    with pytest.raises(BuildError, match=r"the venv holds evil 1\.0, which the lock does not pin"):
        make_sbom(make_config(tmp_path), LOCK, extra, ICEPY, RELATIONS)


def test_licenses_come_from_the_expression_the_field_or_the_classifiers():
    assert [lic.name for lic in licenses_of({"license": "MIT License"})] == ["MIT License"]  # type: ignore[union-attr]
    assert licenses_of({"license": "UNKNOWN", "classifiers": []}) == []


def test_alternatives_become_one_relation_each():
    assert debian_relations({"Depends": "nginx | httpd, adduser"}) == [
        DebianRelation("Depends", "nginx | httpd", "nginx", ""),
        DebianRelation("Depends", "nginx | httpd", "httpd", ""),
        DebianRelation("Depends", "adduser", "adduser", ""),
    ]
