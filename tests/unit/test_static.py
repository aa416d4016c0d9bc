"""The static files collected at build time (builder/static.py), on a
recording container (no Docker)."""

from __future__ import annotations

import pytest

from builder.errors import BuildError
from builder.static import SET_CONFIG, collect_static
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
