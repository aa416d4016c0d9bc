"""The static files collected at build time (builder/static.py), on a
recording container (no Docker)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from builder.errors import BuildError
from builder.paths import STATIC_DIR
from builder.static import (
    COLLECTED_SOURCES,
    SET_CONFIG,
    collect_static,
    leave_out_collected_sources,
    run_collectstatic,
)
from tests.unit.fakes import Answer, Call, FakeContainer, fake_context, make_config

PYTHON = "/opt/omero/web/venv3/bin/python"
OMERODIR = "/omero-web-deb-build/collectstatic-omerodir"
OMEROWEB = "/opt/omero/web/venv3/lib/python3.11/site-packages/omeroweb"


def test_static_files_are_collected_into_the_packages_folder(tmp_path):
    container = FakeContainer(
        {
            "import omeroweb": Answer(OMEROWEB + "\n"),
            "find /opt/omero/web/static -type f": Answer("a.css\nb.js\n"),
        }
    )
    assert collect_static(fake_context(make_config(tmp_path), container)) == 2
    env = {"OMERODIR": OMERODIR}
    assert container.calls == [
        Call(["rm", "-rf", "/opt/omero/web/static", OMERODIR]),
        Call(["mkdir", "-p", f"{OMERODIR}/etc/grid"]),
        Call(
            [
                PYTHON,
                "-c",
                SET_CONFIG,
                f"{OMERODIR}/etc/grid/config.xml",
                "omero.web.static_root",
                "/opt/omero/web/static",
            ]
        ),
        Call(
            [PYTHON, "-c", "import omeroweb, os; print(os.path.dirname(omeroweb.__file__))"],
            env=env,
        ),
        Call(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            env=env,
            workdir=OMEROWEB,
        ),
        Call(["rm", "-rf", OMERODIR]),
        Call(["find", "/opt/omero/web/static", "-type", "f"]),
    ]
    # The folder is named in config.xml with omero's own ConfigXml.
    assert "config[key] = value" in SET_CONFIG


def test_nothing_collected_fails_the_build(tmp_path):
    container = FakeContainer({"import omeroweb": Answer(OMEROWEB + "\n")})
    with pytest.raises(BuildError, match="collectstatic put no file in /opt/omero/web/static"):
        collect_static(fake_context(make_config(tmp_path), container))


def run_collected_sources(site: Path, collected: Path) -> dict[str, object]:
    """COLLECTED_SOURCES as the build runs it, here with this Python."""
    argv = [sys.executable, "-c", COLLECTED_SOURCES, str(site), str(collected)]
    return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)


def put(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_only_static_folders_collected_byte_for_byte_are_left_out(tmp_path):
    site, collected = tmp_path / "site-packages", tmp_path / "static"
    for app in ("webclient", "webgateway", "admin"):
        put(site / "omeroweb" / app / "__init__.py", "")
    put(site / "omeroweb" / "webclient" / "static" / "webclient" / "css" / "a.css", "a {}")
    put(collected / "webclient" / "css" / "a.css", "a {}")
    # One file with other bytes than the collected one: that folder stays.
    put(site / "omeroweb" / "webgateway" / "static" / "webgateway" / "b.js", "var b;")
    put(collected / "webgateway" / "b.js", "var b = 1;")
    # Django's admin is not an installed app: its files were never collected.
    put(site / "omeroweb" / "admin" / "static" / "admin" / "c.css", "c {}")
    # A static folder that is not a package's (no __init__.py beside it).
    put(site / "data" / "static" / "webclient" / "css" / "a.css", "a {}")
    found = run_collected_sources(site, collected)
    assert found == {"folders": [str(site / "omeroweb" / "webclient" / "static")], "files": 1}


def test_leaving_out_removes_the_folders_found(tmp_path):
    folder = "/opt/omero/web/venv3/lib/python3.11/site-packages/omeroweb/webclient/static"
    container = FakeContainer({"filecmp": Answer(json.dumps({"folders": [folder], "files": 263}))})
    assert leave_out_collected_sources(fake_context(make_config(tmp_path), container)) == 263
    assert container.calls[0].argv == [
        PYTHON,
        "-c",
        COLLECTED_SOURCES,
        "/opt/omero/web/venv3/lib",
        "/opt/omero/web/static",
    ]
    assert container.calls[1:] == [Call(["rm", "-rf", folder])]


def test_a_later_collection_starts_from_the_packages_files(tmp_path):
    container = FakeContainer({"import omeroweb": Answer(OMEROWEB + "\n")})
    context = fake_context(make_config(tmp_path), container)
    run_collectstatic(context, PurePosixPath("/build/apps-static"), seed=STATIC_DIR)
    assert container.calls[:2] == [
        Call(["rm", "-rf", "/build/apps-static", OMERODIR]),
        Call(["cp", "-a", "/opt/omero/web/static", "/build/apps-static"]),
    ]
