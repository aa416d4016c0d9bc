"""Every shell script we ship parses and passes shellcheck."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(
    [
        *(ROOT / "debian").glob("omero-web.post*"),
        *(ROOT / "debian").glob("omero-web.pre*"),
        *(ROOT / "debian").glob("omero-web.config"),
        ROOT / "debian" / "omero-web.init",
        *(ROOT / "debian" / "scripts").iterdir(),
        ROOT / ".ci" / "run",
    ]
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_parses(script):
    assert script.read_text().startswith("#!/bin/sh"), "maintainer scripts are POSIX sh"
    subprocess.run(["sh", "-n", str(script)], check=True)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_passes_shellcheck(script):
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck, "shellcheck is installed with the lint extra"
    result = subprocess.run([shellcheck, "-s", "sh", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", [p for p in SCRIPTS if p.name.startswith("omero-web.p")])
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
