"""The SBOM: what the toolkit says in it (plain data, no cyclonedx on the
host), the CycloneDX 1.6 JSON the writer script makes of that (valid for the
library's strict validator, the same bytes from the same description), and
the build step that runs the writer in the build container."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path, PurePosixPath

import pytest
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from builder import write_cyclonedx_sbom
from builder.errors import BuildError
from builder.icepy import IcePyWheel, patch_series
from builder.requirement_lock import IndexFile, LockedRequirement
from builder.resources import app_patches
from builder.sbom import (
    SBOM_WRITER,
    DebianRelation,
    License,
    PackageUrl,
    SbomDescription,
    debian_relations,
    describe_sbom,
    licenses_of,
    write_sbom,
)
from tests.unit.fakes import FakeContainer, fake_context, make_config
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
SBOM_PYTHON = PurePosixPath("/omero-web-deb-build/tools/cyclonedx/bin/python")
# Derived from what the SBOM describes: package version, target, lock, IcePy wheel.
SERIAL = uuid.uuid5(
    uuid.NAMESPACE_URL, f"omero-web/5.33.2-2~deb12/debian-12/{LOCK.sha256}/{'f' * 64}"
)


def describe(tmp_path: Path) -> SbomDescription:
    return describe_sbom(make_config(tmp_path), LOCK, INSTALLED, ICEPY, RELATIONS)


def written(description: SbomDescription, folder: Path) -> bytes:
    """What the writer script makes of the description, run as the build
    container runs it: a script, reading and writing files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "description.json").write_text(description.to_json())
    subprocess.run(
        [sys.executable, str(SBOM_WRITER), "description.json", "sbom.cdx.json"],
        cwd=folder,
        check=True,
    )
    return (folder / "sbom.cdx.json").read_bytes()


@pytest.fixture(scope="module")
def sbom(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """The SBOM of the test inputs, checked against CycloneDX 1.6's schema."""
    work = tmp_path_factory.mktemp("sbom")
    text = written(describe(work), work / "written").decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    return json.loads(text)  # type: ignore[no-any-return]


def component(document: dict, ref: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in document["components"] if c["bom-ref"] == ref)  # type: ignore[no-any-return]


def test_the_description_is_plain_data_that_reads_back_as_json(tmp_path):
    description = describe(tmp_path)
    assert description.serial_number == str(SERIAL)
    assert description.timestamp == 1764300000  # SOURCE_DATE_EPOCH
    assert description.root.purl == PackageUrl(
        "deb", "debian", "omero-web", "5.33.2-2~deb12", (("arch", "amd64"), ("distro", "debian-12"))
    )
    django = description.components[0]
    assert (django.bom_ref, django.scope, django.sha256) == ("pypi:django", "required", ("a" * 64,))
    assert django.licenses == (License("BSD-3-Clause", spdx_or_name=True),)
    read_back = json.loads(description.to_json())
    assert read_back["root"]["purl"]["qualifiers"] == [["arch", "amd64"], ["distro", "debian-12"]]
    assert [c["bom_ref"] for c in read_back["components"]][:3] == [
        "pypi:django",
        "pypi:numpy",
        "pypi:zeroc-ice",
    ]


def test_the_sbom_is_valid_cyclonedx_describing_the_package(sbom):
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.6"
    assert sbom["serialNumber"] == SERIAL.urn
    root = sbom["metadata"]["component"]
    assert root["name"] == "omero-web" and root["version"] == "5.33.2-2~deb12"
    assert root["purl"] == "pkg:deb/debian/omero-web@5.33.2-2~deb12?arch=amd64&distro=debian-12"
    assert root["type"] == "application"
    assert root["description"] == "OMERO.web 5.33.2 for debian-12"


def test_each_python_distribution_has_its_version_license_and_locked_hashes(sbom):
    django = component(sbom, "pypi:django")
    assert django["version"] == "5.2.19"
    assert django["purl"] == "pkg:pypi/django@5.2.19"
    assert django["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
    assert django["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    assert django["properties"] == [
        {"name": "omero-web-deb:file", "value": "django-5.2.19-py3-none-any.whl"}
    ]
    numpy = component(sbom, "pypi:numpy")
    # The License field holds the license's text: the classifier names it.
    assert numpy["licenses"] == [{"license": {"name": "BSD License"}}]
    assert {h["content"] for h in numpy["hashes"]} == {"b" * 64, "c" * 64}


def test_icepy_has_its_wheel_hash_its_sdist_and_its_patch_set(sbom):
    icepy = component(sbom, "pypi:zeroc-ice")
    assert icepy["hashes"] == [{"alg": "SHA-256", "content": "f" * 64}]
    assert icepy["licenses"] == [{"license": {"name": "GPL v2 with exceptions"}}]
    pedigree = icepy["pedigree"]
    (sdist,) = pedigree["ancestors"]
    assert sdist["purl"] == "pkg:pypi/zeroc-ice@3.6.5?file_name=zeroc-ice-3.6.5.tar.gz"
    assert sdist["hashes"] == [
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


def test_the_debian_dependencies_are_listed_with_their_field_and_constraint(sbom):
    debian = {
        c["name"]: {p["name"]: p["value"] for p in c["properties"]}
        for c in sbom["components"]
        if c["purl"].startswith("pkg:deb/")
    }
    assert debian["libc6"] == {
        "omero-web-deb:debian-field": "Depends",
        "omero-web-deb:debian-relation": "libc6 (>= 2.34)",
        "omero-web-deb:version-constraint": ">= 2.34",
    }
    assert debian["httpd"]["omero-web-deb:debian-relation"] == "nginx | httpd"
    libc6 = component(sbom, "deb:Depends:libc6 (>= 2.34):libc6")
    assert libc6["purl"] == "pkg:deb/debian/libc6?distro=debian-12" and "version" not in libc6
    assert component(sbom, "deb:Recommends:cron | cron-daemon:cron")["scope"] == "optional"
    root_dependencies = next(d for d in sbom["dependencies"] if d["ref"] == "deb:omero-web")[
        "dependsOn"
    ]
    assert "deb:Depends:libc6 (>= 2.34):libc6" in root_dependencies
    assert "pypi:zeroc-ice" in root_dependencies
    assert len(root_dependencies) == len(sbom["components"])


def test_the_same_inputs_give_the_same_bytes(tmp_path):
    first = describe(tmp_path)
    again = describe_sbom(make_config(tmp_path), LOCK, list(INSTALLED), ICEPY, list(RELATIONS))
    assert again.to_json() == first.to_json()
    sbom = written(first, tmp_path / "first")
    assert written(again, tmp_path / "again") == sbom
    assert b'"timestamp": "2025-11-28T03:20:00+00:00"' in sbom  # SOURCE_DATE_EPOCH


def test_a_venv_distribution_the_lock_does_not_pin_stops_the_build(tmp_path):
    extra = [*INSTALLED, {"name": "evil", "version": "1.0", "classifiers": []}]
    with pytest.raises(BuildError, match=r"the venv holds evil 1\.0, which the lock does not pin"):
        describe_sbom(make_config(tmp_path), LOCK, extra, ICEPY, RELATIONS)


def test_licenses_come_from_the_expression_the_field_or_the_classifiers():
    assert licenses_of({"license_expression": "MIT OR Apache-2.0", "license": "MIT"}) == (
        License("MIT OR Apache-2.0", spdx_or_name=True),
    )
    assert licenses_of({"license": "MIT License"}) == (License("MIT License", spdx_or_name=True),)
    assert licenses_of({"license": "UNKNOWN", "classifiers": []}) == ()
    classified = {"license": "a\nlong text", "classifiers": ["License :: OSI Approved :: MIT"]}
    assert licenses_of(classified) == (License("MIT", spdx_or_name=False),)


def test_the_writer_makes_an_spdx_id_an_expression_or_a_name_of_each_license():
    def made(text: str, spdx_or_name: bool) -> tuple[str, str | None]:
        license = write_cyclonedx_sbom.license_of({"text": text, "spdx_or_name": spdx_or_name})
        if isinstance(license, LicenseExpression):
            return "expression", license.value
        assert isinstance(license, DisjunctiveLicense)
        return ("id", license.id) if license.id else ("name", license.name)

    assert made("BSD-3-Clause", True) == ("id", "BSD-3-Clause")
    assert made("MIT OR Apache-2.0", True) == ("expression", "MIT OR Apache-2.0")
    assert made("MIT License", True) == ("name", "MIT License")
    # A classifier's name stays a name, even where it spells an SPDX id.
    assert made("MIT", False) == ("name", "MIT")


def test_the_writer_needs_nothing_of_the_toolkit():
    """It runs in the build container's tool venv, where builder is not."""
    tree = ast.parse(SBOM_WRITER.read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - set(sys.stdlib_module_names) == {"cyclonedx", "packageurl"}


def test_the_toolkit_builds_without_cyclonedx_on_the_host():
    script = (
        "import sys, builder.cli, builder.build, builder.sbom\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cyclonedx', 'packageurl')))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout == "[]\n", result.stderr


def test_the_writer_runs_in_the_build_container_with_the_tool_venvs_python(tmp_path):
    container = FakeContainer()
    context = fake_context(make_config(tmp_path), container)
    description = describe(tmp_path)
    write_sbom(context, description, SBOM_PYTHON)
    work = PurePosixPath("/omero-web-deb-build/sbom")
    assert container.files == {
        work / "description.json": (description.to_json().encode(), 0o644),
        work / "write_cyclonedx_sbom.py": (SBOM_WRITER.read_bytes(), 0o644),
    }
    assert container.argvs[-1] == [
        str(SBOM_PYTHON),
        f"{work}/write_cyclonedx_sbom.py",
        f"{work}/description.json",
        "/omero-web-deb-build/omero-web-5.33.2-2~deb12/sbom.cdx.json",
    ]


def test_alternatives_become_one_relation_each():
    assert debian_relations({"Depends": "nginx | httpd, adduser"}) == [
        DebianRelation("Depends", "nginx | httpd", "nginx", ""),
        DebianRelation("Depends", "nginx | httpd", "httpd", ""),
        DebianRelation("Depends", "adduser", "adduser", ""),
    ]


def test_an_app_baked_in_with_patches_has_them_in_its_pedigree(tmp_path):
    """omero-parade is patched as the build installs it (builder/patches/
    apps/): the SBOM says so, beside the index's file it came from."""
    wheel = IndexFile("omero_parade-0.2.4-py3-none-any.whl", "d" * 64)
    lock = replace(
        LOCK,
        requirements=(*LOCK.requirements, LockedRequirement("omero-parade", "0.2.4", (wheel,))),
    )
    parade = {"name": "omero-parade", "version": "0.2.4", "license_expression": None,
              "license": "AGPL-3.0", "classifiers": []}  # fmt: skip
    config = make_config(tmp_path, apps=("omero-parade==0.2.4",))
    description = describe_sbom(config, lock, [*INSTALLED, parade], ICEPY, RELATIONS)
    text = written(description, tmp_path / "written").decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document = json.loads(text)
    component_ = component(document, "pypi:omero-parade")
    # Patched, its files are not the index's: only its ancestor has hashes.
    assert "hashes" not in component_
    pedigree = component_["pedigree"]
    (upstream,) = pedigree["ancestors"]
    assert upstream["purl"] == "pkg:pypi/omero-parade@0.2.4"
    assert upstream["hashes"] == [{"alg": "SHA-256", "content": "d" * 64}]
    patches = app_patches("omero-parade")
    assert [p["diff"]["text"]["content"] for p in pedigree["patches"]] == [
        patch.read_text() for patch in patches
    ]
    assert "0001-numpy-version-without-distutils.patch" in pedigree["notes"]
    # An unpatched distribution, and the same app not baked in, have none.
    assert "pedigree" not in component(document, "pypi:django")
    unbaked = describe_sbom(make_config(tmp_path), lock, [*INSTALLED, parade], ICEPY, RELATIONS)
    assert all(c.pedigree is None for c in unbaked.components if c.name == "omero-parade")
