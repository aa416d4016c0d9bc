"""Every shell script we ship parses and passes shellcheck."""

import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from builder.debian_tree import render_static_files
from tests.unit.rendered_scripts import load_rendered_script

ROOT = Path(__file__).resolve().parents[2]
DEBIAN = ROOT / "debian"
ANSWERS = DEBIAN / "scripts" / "debconf-answers.sh"
SCRIPTS = sorted(
    [
        *DEBIAN.glob("omero-web.post*"),
        *DEBIAN.glob("omero-web.pre*"),
        DEBIAN / "omero-web.config",
        DEBIAN / "omero-web.init",
        *(p for p in (DEBIAN / "scripts").iterdir() if p.suffix != ".py"),
        ROOT / ".ci" / "run",
    ]
)
MAINTAINER_SCRIPTS = [p for p in SCRIPTS if re.fullmatch(r"omero-web\.(pre|post)(inst|rm)", p.name)]


def assembled_config_script(tmp_path: Path) -> Path:
    """The config script as the package ships it: the answer checks pasted
    in at its marker line, the paths filled in (builder/debian_tree.py)."""
    text = (DEBIAN / "omero-web.config").read_text()
    assert text.count("# @DEBCONF_ANSWERS_SH@\n") == 1
    path = tmp_path / "config"
    path.write_text(render_static_files(DEBIAN)[PurePosixPath("omero-web.config")].text)
    return path


def shellcheck(script: Path, *options: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert binary, "shellcheck is installed with the lint extra"
    return subprocess.run(
        [binary, "-s", "sh", *options, str(script)], capture_output=True, text=True
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_parses(script):
    first = script.read_text().splitlines()[0]
    if script == ANSWERS:
        # A library postinst sources: no #!, so it is not mistaken for a
        # program (lintian: script-not-executable).
        assert first == "# shellcheck shell=sh"
    else:
        assert first == "#!/bin/sh", "maintainer scripts are POSIX sh"
    subprocess.run(["sh", "-n", str(script)], check=True)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_passes_shellcheck(script):
    result = shellcheck(script)
    assert result.returncode == 0, result.stdout


def test_assembled_config_script_parses_and_passes_shellcheck(tmp_path):
    config = assembled_config_script(tmp_path)
    subprocess.run(["sh", "-n", str(config)], check=True)
    # SC2329: the library's rendering functions are postinst's, unused here.
    result = shellcheck(config, "-e", "SC2329")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", MAINTAINER_SCRIPTS, ids=lambda p: p.name)
def test_maintainer_scripts_name_every_dpkg_argument(script):
    text = script.read_text()
    assert "set -e" in text and "#DEBHELPER#" in text
    expected = {
        "postinst": ["configure", "abort-upgrade", "abort-remove", "abort-deconfigure"],
        "prerm": ["remove", "upgrade", "deconfigure", "failed-upgrade"],
        "postrm": [
            "purge",
            "remove",
            "upgrade",
            "failed-upgrade",
            "abort-install",
            "abort-upgrade",
            "disappear",
        ],
        "preinst": ["install", "upgrade", "abort-upgrade"],
    }[script.name.split(".")[1]]
    for argument in expected:
        assert argument in text, f"{script.name} does not handle {argument}"


def test_postinst_stops_debconf_before_the_service_starts():
    text = (DEBIAN / "omero-web.postinst").read_text()
    assert text.index("\ndb_stop\n") < text.index("#DEBHELPER#")


def test_postrm_recognises_the_nginx_site_the_package_writes(tmp_path: Path) -> None:
    """postrm removes the site only when its first line is the header
    `omero_web_helper.py nginx write` writes; both must spell it the same."""
    helper = load_rendered_script("omero_web_helper.py", tmp_path)
    postrm = re.search(
        r'^NGINX_SITE_HEADER="(.*)"$', (DEBIAN / "omero-web.postrm").read_text(), re.M
    )
    assert postrm and postrm.group(1) == helper.HEADER
