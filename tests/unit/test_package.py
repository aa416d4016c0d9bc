"""The package steps' exact commands and files, on a recording container:
the source folder, dpkg-buildpackage, lintian, the artifacts copied out."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from builder.debian_tree import render_debian_templates, render_debian_tree
from builder.lintian_overrides import OVERRIDES, for_lintian
from builder.package import (
    SKIPPED_LINTIAN_CHECKS,
    assemble_source,
    build_deb,
    collect_artifacts,
    run_lintian,
)
from builder.targets import get_target
from tests.unit.fakes import ROOT, Answer, Call, FakeContainer, fake_context, make_config

SOURCE = PurePosixPath("/omero-web-deb-build/omero-web-5.33.2-2~deb12")
STEM = "omero-web_5.33.2-2~deb12_amd64"
REQUIREMENTS = "Django==4.2.20\nomero-web==5.33.2\nzeroc-ice==3.6.5\n"

CONTROL_DEBIAN_13 = """\
Source: omero-web
Section: web
Priority: optional
Maintainer: Facility Admin <admin@example.org>
Build-Depends: debhelper-compat (= 13), python3-dev, python3-venv, libssl-dev, libbz2-dev
Standards-Version: 4.6.2
Homepage: https://www.openmicroscopy.org/omero/
Rules-Requires-Root: no

Package: omero-web
Architecture: amd64
Pre-Depends: ${misc:Pre-Depends}
Depends: ${misc:Depends}, ${shlibs:Depends}, ${venv:Depends}, adduser, tzdata, nginx | httpd, openssl, ssl-cert
Recommends: cron | cron-daemon, logrotate
Provides: omero-web-abi-cp313
Description: OMERO.web, the web client of the OMERO image data server
 OMERO.web 5.33.2 with its own Python environment (IcePy
 3.6.5, Django, gunicorn) under /opt/omero/web/venv3, set up the
 way the official OMERO.web install walkthrough does it: an omero-web system
 user, a gunicorn service, an nginx site and a daily clearsessions job
 (a systemd timer where systemd runs, cron elsewhere).
 .
 Options (OMERO servers, nginx port and name, URL prefix, workers, session
 store, CORS) are debconf questions; change them with
 `dpkg-reconfigure omero-web`.
"""


def test_the_whole_control_file(tmp_path):
    config = make_config(tmp_path, target=get_target("debian-13"))
    assert render_debian_templates(config)["control"] == CONTROL_DEBIAN_13


# --- assemble_source -------------------------------------------------------


def assembled(tmp_path: Path, lintian: str = "2.116.3") -> FakeContainer:
    container = FakeContainer({"dpkg-query -W": Answer(lintian)})
    assemble_source(fake_context(make_config(tmp_path), container), REQUIREMENTS)
    return container


def test_assemble_source_starts_afresh_and_asks_which_lintian_will_read_it(tmp_path):
    assert assembled(tmp_path).argvs == [
        ["rm", "-rf", str(SOURCE)],
        ["dpkg-query", "-W", "-f=${Version}", "lintian"],
    ]


def test_assemble_source_writes_debian_and_the_requirements_and_nothing_else(tmp_path):
    written = assembled(tmp_path).files
    static = {
        SOURCE / "debian" / path.relative_to(ROOT / "debian").as_posix(): path.stat().st_mode
        & 0o777
        for path in (ROOT / "debian").rglob("*")
        if path.is_file()
    }
    rendered = {SOURCE / "debian/control": 0o644, SOURCE / "debian/changelog": 0o644}
    expected = {**static, **rendered, SOURCE / "requirements.txt": 0o644}
    assert {path: mode for path, (_, mode) in written.items()} == expected
    # What dpkg-buildpackage and dh cannot do without, whatever else debian/ holds.
    for needed, mode in [
        ("debian/rules", 0o755),
        ("debian/control", 0o644),
        ("debian/changelog", 0o644),
        ("debian/copyright", 0o644),
        ("debian/source/format", 0o644),
        ("debian/omero-web.templates", 0o644),
        ("requirements.txt", 0o644),
        ("debian/omero-web.postinst", 0o644),  # dh_installdeb makes it executable
    ]:
        assert written[SOURCE / needed][1] == mode, needed


def test_assemble_source_writes_the_rendered_text(tmp_path):
    written = assembled(tmp_path).files
    assert written[SOURCE / "requirements.txt"][0].decode() == REQUIREMENTS
    control = written[SOURCE / "debian/control"][0].decode()
    assert control == render_debian_templates(make_config(tmp_path))["control"]
    rules = written[SOURCE / "debian/rules"][0].decode()
    assert "VENV := /opt/omero/web/venv3\n" in rules and "@VENV@" not in rules


def test_the_lintian_overrides_are_fitted_to_the_build_images_lintian(tmp_path):
    # Ubuntu 22.04's lintian reads no [path] pointers: the overrides change.
    written = assembled(tmp_path, lintian="2.114.0").files
    rendered = render_debian_tree(make_config(tmp_path))[PurePosixPath(OVERRIDES)].text
    overrides = written[SOURCE / "debian" / OVERRIDES][0].decode()
    assert overrides == for_lintian(rendered, "2.114.0") != rendered


# --- build_deb, run_lintian ------------------------------------------------


def test_build_deb_runs_dpkg_buildpackage_in_the_source_on_every_core(tmp_path):
    container = FakeContainer()
    build_deb(fake_context(make_config(tmp_path, jobs=6), container))
    assert container.calls == [
        Call(
            ["dpkg-buildpackage", "-b", "-us", "-uc", "-j6"],
            env={"DEB_BUILD_OPTIONS": "parallel=6"},
            workdir=str(SOURCE),
        )
    ]


LINTIAN_REPORT = """\
# Lintian v2.116.3 on omero-web_5.33.2-2~deb12_amd64.changes
W: omero-web: a
I: omero-web: b
I: omero-web: c
P: omero-web: d
"""


def test_run_lintian_writes_its_report_beside_the_changes_and_sums_it_up(tmp_path):
    container = FakeContainer({"cat ": Answer(LINTIAN_REPORT)})
    summary = run_lintian(fake_context(make_config(tmp_path), container))
    assert container.argvs == [
        [
            "sh",
            "-euc",
            f'{{ echo "# $(lintian --version) on {STEM}.changes"; lintian --display-info '
            "--pedantic --fail-on none --tag-display-limit 0 "
            "--dont-check-part languages/javascript/embedded,binaries/spelling "
            f"/omero-web-deb-build/{STEM}.changes; "
            f"}} > /omero-web-deb-build/{STEM}.lintian.txt 2>&1",
        ],
        ["cat", f"/omero-web-deb-build/{STEM}.lintian.txt"],
    ]
    assert summary == "0 errors, 1 warnings, 2 info, 1 pedantic (after overrides)"


def test_each_lintian_check_left_out_is_answered_by_an_override_for_all_it_ships():
    """A check the build leaves out must only ever report what is overridden:
    its tag is overridden for the venv and the static files in omero-web's
    overrides, and for all of /opt in the apps' template.  Removing one of
    those overrides means running the check again."""
    omero_web = (ROOT / "debian" / OVERRIDES).read_text().splitlines()
    app = (ROOT / "templates" / "app" / "lintian-overrides.j2").read_text().splitlines()
    for tag in SKIPPED_LINTIAN_CHECKS.values():
        assert f"{tag} * [opt/*]" in app, tag
        assert f"{tag} * [@VENV_REL@/*]" in omero_web, tag
    # JavaScript is shipped in the static files too.
    assert "embedded-javascript-library * [@STATIC_DIR_REL@/*]" in omero_web


def test_no_lintian_still_leaves_a_report_that_says_so(tmp_path):
    container = FakeContainer()
    summary = run_lintian(fake_context(make_config(tmp_path, lintian=False), container))
    assert summary == "skipped (--no-lintian)"
    assert container.calls == []
    assert container.files == {
        PurePosixPath(f"/omero-web-deb-build/{STEM}.lintian.txt"): (
            b"lintian was skipped for this build (--no-lintian)\n",
            0o644,
        )
    }


# --- collect_artifacts -----------------------------------------------------


def test_collect_artifacts_copies_the_six_files_into_the_output_folder(tmp_path):
    container = FakeContainer()
    artifacts = collect_artifacts(fake_context(make_config(tmp_path), container))
    suffixes = (".deb", ".buildinfo", ".changes", ".build-inputs", ".lock.txt", ".lintian.txt")
    assert container.copied_out == [
        PurePosixPath(f"/omero-web-deb-build/{STEM}{suffix}") for suffix in suffixes
    ]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{STEM}{s}" for s in suffixes)
    assert artifacts.deb == out / f"{STEM}.deb"
    assert artifacts.others == tuple(out / f"{STEM}{s}" for s in suffixes[1:-1])
    assert artifacts.lintian_report == out / f"{STEM}.lintian.txt"
    assert artifacts.deb.read_text() == f"copied from /omero-web-deb-build/{STEM}.deb\n"


def test_a_failed_copy_leaves_nothing_in_the_output_folder(tmp_path):
    class FailsOnTheChanges(FakeContainer):
        def copy_out(self, source, destination):
            if source.name.endswith(".changes"):
                raise OSError("No space left on device")
            return super().copy_out(source, destination)

    with pytest.raises(OSError, match="No space left"):
        collect_artifacts(fake_context(make_config(tmp_path), FailsOnTheChanges()))
    assert list((tmp_path / "out").iterdir()) == []
