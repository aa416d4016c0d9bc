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
    SETTINGS_FILES,
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
        Call(["rm", "-rf", "/opt/omero/web/static"]),
        Call(["rm", "-rf", OMERODIR]),
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


def run_collected_sources(site: Path, collected: Path, *named: Path) -> dict[str, object]:
    """COLLECTED_SOURCES as the build runs it, here with this Python."""
    argv = [sys.executable, "-c", COLLECTED_SOURCES, str(site), str(collected), *map(str, named)]
    return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_only_static_folders_collected_byte_for_byte_are_left_out(tmp_path):
    site, collected = tmp_path / "site-packages", tmp_path / "static"
    for app in ("webclient", "webgateway", "admin"):
        put(site / "omeroweb" / app / "__init__.py", "")
    css = put(site / "omeroweb" / "webclient" / "static" / "webclient" / "css" / "a.css", "a {}")
    put(collected / "webclient" / "css" / "a.css", "a {}")
    # One file with other bytes than the collected one: that folder stays.
    js = put(site / "omeroweb" / "webgateway" / "static" / "webgateway" / "b.js", "var b;")
    put(collected / "webgateway" / "b.js", "var b = 1;")
    # Django's admin is not an installed app: its files were never collected.
    admin = put(site / "omeroweb" / "admin" / "static" / "admin" / "c.css", "c {}")
    # A static folder that is not a package's (no __init__.py beside it).
    data = put(site / "data" / "static" / "webclient" / "css" / "a.css", "a {}")
    found = run_collected_sources(site, collected)
    assert found == {"removed": 1, "kept": []}
    assert not css.exists() and not (site / "omeroweb" / "webclient" / "static").exists()
    assert js.exists() and admin.exists() and data.exists()


def test_files_the_settings_name_stay_where_they_are(tmp_path):
    # omeroweb/settings.py: DEFAULT_IMG, opened by the webclient from there.
    site, collected = tmp_path / "site-packages", tmp_path / "static"
    put(site / "omeroweb" / "webgateway" / "__init__.py", "")
    img = site / "omeroweb" / "webgateway" / "static" / "webgateway" / "img"
    default_img = put(img / "image128.png", "PNG")
    other = put(img / "other.png", "PNG2")
    put(collected / "webgateway" / "img" / "image128.png", "PNG")
    put(collected / "webgateway" / "img" / "other.png", "PNG2")
    found = run_collected_sources(site, collected, default_img)
    assert found == {"removed": 1, "kept": [str(default_img)]}
    assert default_img.read_text() == "PNG" and not other.exists()


def test_leaving_out_keeps_what_the_settings_name(tmp_path):
    site = "/opt/omero/web/venv3/lib"
    named = f"{site}/python3.11/site-packages/omeroweb/webgateway/static/webgateway/img/x.png"
    container = FakeContainer(
        {
            "import omeroweb.settings": Answer(json.dumps([named])),
            "filecmp": Answer(json.dumps({"removed": 263, "kept": [named]})),
        }
    )
    assert leave_out_collected_sources(fake_context(make_config(tmp_path), container)) == 263
    env = {"OMERODIR": OMERODIR}
    assert [call.argv[:3] for call in container.calls] == [
        ["rm", "-rf", OMERODIR],
        ["mkdir", "-p", f"{OMERODIR}/etc/grid"],
        [PYTHON, "-c", SET_CONFIG],
        [PYTHON, "-c", SETTINGS_FILES],
        ["rm", "-rf", OMERODIR],
        [PYTHON, "-c", COLLECTED_SOURCES],
    ]
    assert container.calls[3] == Call([PYTHON, "-c", SETTINGS_FILES, site], env=env)
    assert container.calls[5].argv[3:] == [site, "/opt/omero/web/static", named]


def test_a_later_collection_starts_from_the_packages_files_older_than_any_source(tmp_path):
    container = FakeContainer({"import omeroweb": Answer(OMEROWEB + "\n")})
    context = fake_context(make_config(tmp_path), container)
    run_collectstatic(context, PurePosixPath("/build/apps-static"), seed=STATIC_DIR)
    assert container.calls[:3] == [
        Call(["rm", "-rf", "/build/apps-static"]),
        Call(["cp", "-a", "/opt/omero/web/static", "/build/apps-static"]),
        Call(["find", "/build/apps-static", "-exec", "touch", "-h", "-d", "@0", "{}", "+"]),
    ]
