"""debian/scripts/omero_web_owned_keys.py: `omero-web-cli config set` of a
key a drop-in sets is refused, with the drop-in and the way to change it;
anything else passes without a word."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.rendered_scripts import load_rendered_script


def load_owned_keys(directory: Path) -> ModuleType:
    """The module, rendered beside the helper it imports."""
    load_rendered_script("omero_web_helper.py", directory)
    return load_rendered_script("omero_web_owned_keys.py", directory)


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["config", "set", "omero.web.prefix", "/omero"], "omero.web.prefix"),
        (["config", "set", "omero.web.prefix"], "omero.web.prefix"),
        (["config", "set", "--", "omero.web.x", "[]"], "omero.web.x"),
        (["config", "append", "--set", "omero.web.apps", '"a"'], "omero.web.apps"),
        (["config", "remove", "omero.web.apps", '"a"'], "omero.web.apps"),
        (["config", "get", "omero.web.prefix"], None),
        (["config", "set"], None),
        (["web", "status"], None),
        ([], None),
    ],
)
def test_changed_key(tmp_path: Path, argv: list[str], key: str | None) -> None:
    owned = load_owned_keys(tmp_path)
    assert owned.changed_key(argv) == key


def test_the_last_dropin_that_sets_a_key_owns_it(tmp_path: Path) -> None:
    owned = load_owned_keys(tmp_path)
    dropins = tmp_path / "etc"
    dropins.mkdir()
    (dropins / "10-debconf.omero").write_text(
        "# config set omero.web.commented 1\n"
        "config set omero.web.wsgi_workers 5\n"
        "config set omero.web.prefix\n"
        "config append --set omero.web.apps '\"corsheaders\"'\n"
    )
    (dropins / "50-local.omero").write_text("config set omero.web.prefix '/a b'\n")
    (dropins / "60-broken.omero").write_text("config set 'unclosed\n")
    assert owned.owner("omero.web.wsgi_workers", dropins) == dropins / "10-debconf.omero"
    assert owned.owner("omero.web.prefix", dropins) == dropins / "50-local.omero"
    assert owned.owner("omero.web.apps", dropins) == dropins / "10-debconf.omero"
    assert owned.owner("omero.web.commented", dropins) is None
    assert owned.owner("omero.web.ui.top_links", dropins) is None
    debconf = owned.refusal("omero.web.wsgi_workers", dropins / "10-debconf.omero")
    assert "dpkg-reconfigure omero-web" in debconf and "50-local.omero" in debconf
    local = owned.refusal("omero.web.prefix", dropins / "50-local.omero")
    assert f"change it in {dropins}/50-local.omero" in local


def test_runs_isolated_beside_the_helper(tmp_path: Path) -> None:
    """As omero-web-cli runs it (python -I): the helper it imports is found
    beside it; a command that changes no key exits 0 silently."""
    load_owned_keys(tmp_path)
    result = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "omero_web_owned_keys.py"), "web", "status"],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
