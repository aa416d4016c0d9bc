"""The build as a whole: its steps in order over one context, and the
names and paths the context derives (no Docker: a recording container)."""

from __future__ import annotations

from pathlib import PurePosixPath

from builder.build import build_in_container, log_path_for
from builder.config import NetworkSettings
from tests.unit.fakes import Answer, FakeContainer, fake_context, make_config
from tests.unit.test_venv import A_DEBIAN_12_VENV

VENV_PYTHON = "/opt/omero/web/venv3/bin/python"


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
        "dpkg-query -W": Answer("2.116.3"),
        "cat ": Answer("E: omero-web: x\n"),
    }
    container = FakeContainer(answers)
    context = fake_context(config, container, icepy_wheel=wheel)
    artifacts = build_in_container(context)
    assert [call.argv[0] for call in container.calls] == [
        "sh", "update-ca-certificates",  # the host's CAs
        "readlink", "rm", "/usr/bin/python3.11", *[VENV_PYTHON] * 5, "find", "rm",  # venv
        "find", "find",  # trimmed
        "rm", "mkdir", *[VENV_PYTHON] * 3, "rm", "find",  # static files collected
        VENV_PYTHON,  # bytecode
        "grep",  # no build path in the venv or the static files
        "rm", "dpkg-query",  # debian/ assembled
        "dpkg-buildpackage",
        "sh", "cat",  # lintian
    ]  # fmt: skip
    assert container.copied_in[0] == (wheel, PurePosixPath("/omero-web-deb-build/wheels"))
    assert [name for name, _ in context.progress.timings] == [
        "IcePy wheel", "venv", "static files", "bytecode", "debian package", "lintian",
        "copy artifacts",
    ]  # fmt: skip
    said = context.progress.terminal.getvalue()  # type: ignore[attr-defined]
    assert "    lintian: 1 errors, 0 warnings, 0 info, 0 pedantic (after overrides)\n" in said
    assert artifacts.deb == tmp_path / "out" / "omero-web_5.33.2-2~deb12_amd64.deb"
    assert artifacts.deb.is_file()


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
