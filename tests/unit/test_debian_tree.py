"""The debian/ tree as the build packages it (builder/debian_tree.py): every
installed path comes from builder/paths.py, shared text is pasted in, and
nothing is left unfilled."""

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from builder import paths
from builder.debian_tree import fill_paths, render_static_files
from builder.errors import BuildError

ROOT = Path(__file__).resolve().parents[2]
DEBIAN = ROOT / "debian"
RENDERED = render_static_files(DEBIAN)
PACKAGING_SOURCES = sorted(
    p for p in [*DEBIAN.rglob("*"), *(ROOT / "templates").rglob("*")] if p.is_file()
)
# Every installed path in both spellings (/opt/omero/web, opt/omero/web).
LITERALS = sorted(
    {str(p) for p in paths.INSTALLED.values()}
    | {str(p).lstrip("/") for p in paths.INSTALLED.values()}
)


@pytest.mark.parametrize("source", PACKAGING_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_installed_path_is_written_outside_builder_paths(source):
    text = source.read_text()
    for literal in LITERALS:
        assert literal not in text, (
            f"{source.relative_to(ROOT)} spells out {literal}: use its token from "
            f"builder/paths.py INSTALLED (@NAME@, or {{{{ paths.NAME }}}} in templates)"
        )


def test_every_file_renders_with_no_token_left():
    assert PurePosixPath("rules") in RENDERED
    for name, rendered in RENDERED.items():
        left = re.findall(r"@[A-Z][A-Z0-9_]*@", rendered.text)
        assert not left, f"debian/{name} still has {left}"


def test_paths_are_filled_in_with_the_installed_layout():
    rules = RENDERED[PurePosixPath("rules")].text
    assert "VENV := /opt/omero/web/venv3\n" in rules
    postinst = RENDERED[PurePosixPath("omero-web.postinst")].text
    assert "OMERODIR=/opt/omero/web/omero-web\n" in postinst
    install = RENDERED[PurePosixPath("omero-web.install")].text
    assert "debian/scripts/omero-web-cli usr/lib/omero-web/\n" in install
    overrides = RENDERED[PurePosixPath("omero-web.lintian-overrides")].text
    assert "embedded-library * [opt/omero/web/venv3/*]\n" in overrides


def test_modes_are_kept():
    assert RENDERED[PurePosixPath("rules")].mode & 0o111
    assert RENDERED[PurePosixPath("scripts/omero-web-cli")].mode & 0o111
    assert not RENDERED[PurePosixPath("omero-web.templates")].mode & 0o111


def test_both_units_carry_the_one_hardening_block():
    hardening = (DEBIAN / "systemd-hardening.inc").read_text()
    assert "ProtectSystem=strict" in hardening
    for unit in ("omero-web.service", "omero-web.omero-web-clearsessions.service"):
        text = RENDERED[PurePosixPath(unit)].text
        assert fill_paths(hardening, unit) in text
        assert text.count("ProtectSystem=strict") == 1
        assert (
            "ReadWritePaths=/opt/omero/web/omero-web/etc/grid /opt/omero/web/omero-web/var\n"
            in text
        )
        # systemd's own @-names are not tokens.
        assert "SystemCallFilter=@system-service\n" in text


def test_config_script_carries_the_answer_checks(tmp_path):
    config = RENDERED[PurePosixPath("omero-web.config")].text
    assert config.count("\nvalid_answer() {") == 1
    assert "@DEBCONF_ANSWERS_SH@" not in config
    script = tmp_path / "config"
    script.write_text(config)
    subprocess.run(["sh", "-n", str(script)], check=True)


def test_an_unknown_token_names_the_file_and_the_fix():
    with pytest.raises(BuildError, match=r"debian/x: unknown token @VENV3@.*builder/paths.py"):
        fill_paths("VENV=@VENV3@\n", "debian/x")
    # Lower case after @ is nginx's or systemd's, not ours.
    assert fill_paths("location @proxy_to_app {", "debian/x") == "location @proxy_to_app {"
