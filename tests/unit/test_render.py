from pathlib import Path

from debian.changelog import Changelog
from debian.deb822 import Deb822

from builder.config import BuildConfig
from builder.debian_tree import render_debian_templates
from builder.targets import get_target

ROOT = Path(__file__).resolve().parents[2]


def make_config(target="debian-12", revision=2):
    return BuildConfig(
        target=get_target(target),
        project_root=ROOT,
        output_dir=ROOT / "dist",
        cache_dir=ROOT / ".cache",
        omero_web_version="5.33.2",
        revision=revision,
        maintainer="Facility Admin <admin@example.org>",
        source_date_epoch=1764300000,
    )


def test_changelog_carries_version_suite_and_fixed_date():
    changelog = Changelog(render_debian_templates(make_config())["changelog"])
    assert str(changelog.version) == "5.33.2-2~deb12"
    assert changelog.distributions == "bookworm"
    assert changelog.package == "omero-web"
    assert changelog.author == "Facility Admin <admin@example.org>"
    # dpkg derives SOURCE_DATE_EPOCH from this date: it must be the given one.
    assert changelog.date == "Fri, 28 Nov 2025 03:20:00 -0000"


def test_control_declares_computed_and_fixed_depends():
    paragraphs = list(
        Deb822.iter_paragraphs(render_debian_templates(make_config("debian-13"))["control"])
    )
    source, binary = paragraphs
    assert source["Source"] == "omero-web"
    assert "debhelper-compat (= 13)" in source["Build-Depends"]
    assert source["Rules-Requires-Root"] == "no"
    assert binary["Package"] == "omero-web"
    assert binary["Architecture"] == "amd64"
    depends = [d.strip() for d in binary["Depends"].split(",")]
    assert "${shlibs:Depends}" in depends  # from our IcePy extension
    assert "${venv:Depends}" in depends  # the exact python3.X, from debian/rules
    assert "adduser" in depends and "nginx | httpd" in depends
    assert "OMERO.web 5.33.2" in binary["Description"]


def test_lintian_summary_counts_each_kind():
    from builder.package import summarise_lintian

    report = "E: omero-web: a\nW: omero-web: b\nW: omero-web: c\nN: note\nrunning with root\n"
    assert summarise_lintian(report).startswith("1 errors, 2 warnings, 0 info")
