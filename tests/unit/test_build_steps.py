"""The build as a whole: its steps in order over one context, and the
names and paths the context derives (no Docker: a recording container)."""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath

from builder import build
from builder.build import build_in_container, committed_lock, log_path_for
from builder.config import NetworkSettings
from tests.unit.fakes import ROOT, Answer, FakeContainer, fake_context, make_config
from tests.unit.test_requirement_lock import LOCK
from tests.unit.test_sbom import INSTALLED
from tests.unit.test_venv import A_DEBIAN_12_VENV

IMAGES = ("debian:12 sha256:1111", "omero-web-deb/build:debian-12-abc sha256:2222")

VENV_PYTHON = "/opt/omero/web/venv3/bin/python"
TOOL_PYTHON = "/omero-web-deb-build/tools/cyclonedx/bin/python"
TOOL_LOCK = ROOT / "locks" / "tools" / "cyclonedx.txt"
COLLECTED_SOURCES_FOUND = Answer(json.dumps({"removed": 296, "kept": []}))


def test_the_steps_run_in_order_over_one_container(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    wheel = tmp_path / "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"PK")
    config = make_config(tmp_path, network=NetworkSettings((ca,)))
    answers = {
        **A_DEBIAN_12_VENV,
        "command -v update-ca-certificates": Answer("/usr/sbin/update-ca-certificates\n"),
        "grep -rlF": Answer(returncode=1),
        "find /opt/omero/web/static": Answer("/opt/omero/web/static/webclient/css/layout.css\n"),
        "filecmp": COLLECTED_SOURCES_FOUND,
        "import omeroweb.settings": Answer("[]"),
        "dpkg-query -W": Answer("2.116.3"),
        "cat ": Answer("E: omero-web: x\n"),
        "importlib.metadata": Answer(json.dumps(INSTALLED)),
        "readlink -f /opt/omero/web/venv3/bin/python": Answer("/usr/bin/python3.11\n"),
        "dpkg-shlibdeps": Answer("shlibs:Depends=libc6 (>= 2.34)\n"),
    }
    container = FakeContainer(answers)
    context = fake_context(config, container, icepy_wheel=wheel)
    artifacts = build_in_container(context, LOCK, IMAGES)
    assert [call.argv[0] for call in container.calls] == [
        "sh", "update-ca-certificates",  # the host's CAs
        "readlink", "rm", "/usr/bin/python3.11", *[VENV_PYTHON] * 5, "find", "rm",  # venv
        "find", "find", "find", "find",  # trimmed
        "rm", "rm", "mkdir", *[VENV_PYTHON] * 3, "rm", "find",  # static files collected
        "rm", "mkdir", VENV_PYTHON, VENV_PYTHON, "rm", VENV_PYTHON,  # ... their sources left out
        VENV_PYTHON,  # bytecode
        "grep",  # no build path in the venv or the static files
        "rm", "python3", TOOL_PYTHON,  # the SBOM writer's venv, from its lock
        "rm", "dpkg-query",  # debian/ assembled
        VENV_PYTHON, "readlink", "dpkg-query", "find", "dpkg-shlibdeps",  # the SBOM's facts
        TOOL_PYTHON,  # the SBOM written
        "dpkg-buildpackage",
        "sh", "cat",  # lintian
    ]  # fmt: skip
    assert container.copied_in[0] == (wheel, PurePosixPath("/omero-web-deb-build/wheels"))
    assert [name for name, _ in context.progress.timings] == [
        "IcePy wheel", "venv", "static files", "bytecode", "SBOM writer", "debian package",
        "lintian", "copy artifacts",
    ]  # fmt: skip
    said = context.progress.terminal.getvalue()  # type: ignore[attr-defined]
    assert "    lintian: 1 errors, 0 warnings, 0 info, 0 pedantic (after overrides)\n" in said
    assert artifacts.deb == tmp_path / "out" / "omero-web_5.33.2-2~deb12_amd64.deb"
    assert artifacts.deb.is_file()
    # The SBOM is written into the package source by the tool venv's
    # python, from the description of the venv the build made.
    tool = PurePosixPath("/omero-web-deb-build/tools")
    assert container.files[tool / "cyclonedx.txt"][0] == TOOL_LOCK.read_bytes()
    source = PurePosixPath("/omero-web-deb-build/omero-web-5.33.2-2~deb12")
    writer = [call.argv for call in container.calls if call.argv[0] == TOOL_PYTHON][-1]
    assert writer[1:] == [
        "/omero-web-deb-build/sbom/write_cyclonedx_sbom.py",
        "/omero-web-deb-build/sbom/description.json",
        f"{source}/sbom.cdx.json",
    ]
    description = json.loads(container.files[PurePosixPath(writer[2])][0])
    assert [c["name"] for c in description["components"][:3]] == ["django", "numpy", "zeroc-ice"]
    # The lock and the inputs go beside the .deb.
    stem = tmp_path / "out" / "omero-web_5.33.2-2~deb12_amd64"
    assert stem.with_name(stem.name + ".lock.txt").read_text() == LOCK.render()
    inputs = stem.with_name(stem.name + ".build-inputs").read_text()
    assert f"Requirements-Lock: {LOCK.sha256} locks/debian-12/omero-web-5.33.2.txt\n" in inputs
    assert f"IcePy-Wheel: {hashlib.sha256(b'PK').hexdigest()} {wheel.name}\n" in inputs
    assert f"Base-Image: {IMAGES[0]}\n" in inputs


def test_without_a_committed_lock_one_is_resolved_and_the_build_says_so(tmp_path, monkeypatch):
    wheel = tmp_path / "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"PK")
    answers = {
        **A_DEBIAN_12_VENV,
        "grep -rlF": Answer(returncode=1),
        "find /opt/omero/web/static": Answer("/opt/omero/web/static/webclient/css/layout.css\n"),
        "filecmp": COLLECTED_SOURCES_FOUND,
        "import omeroweb.settings": Answer("[]"),
        "dpkg-query -W": Answer("2.116.3"),
        "importlib.metadata": Answer(json.dumps(INSTALLED)),
    }
    resolved = []
    monkeypatch.setattr(build, "resolve_lock", lambda context: resolved.append(1) or LOCK)
    context = fake_context(make_config(tmp_path), FakeContainer(answers), icepy_wheel=wheel)
    artifacts = build.build_in_container(context, None, IMAGES)
    assert resolved == [1]
    said = context.progress.terminal.getvalue()  # type: ignore[attr-defined]
    assert (
        "    no lock is committed for omero-web 5.33.2 on debian-12: resolved one, written "
        "beside the artifacts as omero-web_5.33.2-2~deb12_amd64.lock.txt; check it and commit "
        "it as locks/debian-12/omero-web-5.33.2.txt\n"
    ) in said
    lock_file = artifacts.deb.with_name("omero-web_5.33.2-2~deb12_amd64.lock.txt")
    assert lock_file.read_text() == LOCK.render()
    assert "resolve a lock" in [name for name, _ in context.progress.timings]


def test_the_committed_lock_is_the_targets_and_versions(tmp_path):
    assert committed_lock(make_config(tmp_path)) is not None
    assert committed_lock(make_config(tmp_path, omero_web_version="0.0.1")) is None


def test_the_context_derives_every_work_path_and_name(tmp_path):
    context = fake_context(make_config(tmp_path), FakeContainer())
    assert context.artifact_stem == "omero-web_5.33.2-2~deb12_amd64"
    assert context.source_dir == PurePosixPath("/omero-web-deb-build/omero-web-5.33.2-2~deb12")
    # dpkg-buildpackage writes its results beside the source folder.
    assert context.artifact(".changes") == PurePosixPath(
        "/omero-web-deb-build/omero-web_5.33.2-2~deb12_amd64.changes"
    )
    assert context.output_dir == tmp_path / "out"
    assert context.pip_cache_dir == tmp_path / "cache" / "pip" / "debian-12"
    assert context.wheel_dir == PurePosixPath("/omero-web-deb-build/wheels")


def test_the_build_log_is_named_like_the_artifacts(tmp_path):
    config = make_config(tmp_path)
    assert log_path_for(config) == tmp_path / "out" / "omero-web_5.33.2-2~deb12_amd64.build.log"


def test_the_build_inputs_are_a_deb822_paragraph_naming_each_input_by_hash(tmp_path):
    from builder.build_record import BuildInputs
    from builder.icepy import IcePyWheel, file_sha256, patch_series

    wheel = IcePyWheel(
        PurePosixPath("/w/zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"), "f" * 64, "cached"
    )
    text = BuildInputs("debian-12", "5.33.2", *IMAGES, "locks/x.txt", "e" * 64, wheel).render()
    patches = "".join(f" {file_sha256(p)} {p.name}\n" for p in patch_series())
    assert text == (
        "Target: debian-12\n"
        "OMERO-Web-Version: 5.33.2\n"
        f"Base-Image: {IMAGES[0]}\n"
        f"Build-Image: {IMAGES[1]}\n"
        f"Requirements-Lock: {'e' * 64} locks/x.txt\n"
        f"IcePy-Wheel: {'f' * 64} zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl\n"
        "IcePy-Wheel-Origin: cached\n"
        f"IcePy-Patches:\n{patches}"
    )


def test_an_image_is_identified_by_tag_id_and_registry_digest():
    from types import SimpleNamespace

    from builder.build_record import image_identity

    pulled = SimpleNamespace(id="sha256:1111", attrs={"RepoDigests": ["debian@sha256:2222"]})
    made = SimpleNamespace(id="sha256:3333", attrs={"RepoDigests": []})
    images = {"debian:12": pulled, "omero-web-deb/base:debian-12-x": made}
    client = SimpleNamespace(images=SimpleNamespace(get=images.__getitem__))
    assert image_identity(client, "debian:12") == "debian:12 sha256:1111 debian@sha256:2222"  # type: ignore[arg-type]
    assert image_identity(client, "omero-web-deb/base:debian-12-x") == (  # type: ignore[arg-type]
        "omero-web-deb/base:debian-12-x sha256:3333"
    )
