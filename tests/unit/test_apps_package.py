"""An app package's control, Depends and names (builder/apps/base.py,
builder/apps/package.py), and the omero-web .deb it is built against."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest
from debian.changelog import Changelog

from builder.apps.base import OmeroWebDeb, newest_deb, read_omero_web_deb
from builder.apps.install import InstalledApp, install_app
from builder.apps.known import KNOWN_APPS
from builder.apps.package import AppPackage, render_app_debian
from builder.apps.request import AppRequest
from builder.apps.static import AppStatic
from builder.debian_tree import render_debian_templates
from builder.errors import BuildError, UsageError
from builder.runner import CommandResult
from builder.targets import get_target
from tests.unit.fakes import Answer, Call, FakeContainer, fake_context, make_config

DEBIAN_12 = get_target("debian-12")
OMERO_WEB = OmeroWebDeb(
    Path("omero-web_5.33.2-2~deb12_amd64.deb"), "5.33.2-2~deb12", "omero-web-abi-cp311"
)


def package(compiled: bool = False) -> AppPackage:
    installed = InstalledApp(
        AppRequest(KNOWN_APPS["omero-figure"], "8.0.1"), ("omero_figure",), compiled
    )
    static = AppStatic(("figure/js/figure.js", "figure/css/figure.css"), 3)
    return AppPackage(installed, OMERO_WEB, static, 1, "deb12")


def test_names_and_architecture() -> None:
    assert package().stem == "omero-web-app-figure_8.0.1-1~deb12_all"
    assert package(compiled=True).architecture == "amd64"
    assert package().static.labels == ("figure",)


def test_depends_pin_the_omero_web_release_and_the_venv_s_abi(tmp_path: Path) -> None:
    context = fake_context(make_config(tmp_path), FakeContainer())
    rendered = render_app_debian(context, package(), "2.116.3")
    control = rendered["control"]
    assert (
        "Depends: ${misc:Depends}, omero-web (>= 5.33.2), omero-web (<< 5.33.2+~), "
        "omero-web-abi-cp311\n" in control
    )
    assert "Package: omero-web-app-figure\nArchitecture: all\n" in control
    assert "/opt/omero/web/apps/figure/site-packages" in control
    assert rendered["changelog"].startswith(
        "omero-web-app-figure (8.0.1-1~deb12) bookworm; urgency=medium"
    )
    assert "omero-web-app-figure.lintian-overrides" in rendered
    compiled = render_app_debian(context, package(compiled=True), "2.116.3")["control"]
    assert "${misc:Depends}, ${shlibs:Depends}, omero-web" in compiled


@pytest.mark.parametrize(
    ("version", "accepted"),
    [
        ("5.33.2-1~deb12", True),
        ("5.33.2-2~deb12", True),
        ("5.33.2-10", True),
        ("5.33.1-9~deb12", False),
        ("5.33.2+dfsg-1", False),
        ("5.33.2.post1-1", False),
        ("5.33.3-1~deb12", False),
    ],
)
def test_the_version_range_is_any_debian_revision_of_the_release(
    version: str, accepted: bool
) -> None:
    def holds(op: str, bound: str) -> bool:
        return subprocess.run(["dpkg", "--compare-versions", version, op, bound]).returncode == 0

    assert (holds("ge", "5.33.2") and holds("lt", "5.33.2+~")) == accepted


def make_deb(folder: Path, version: str, provides: str = "omero-web-abi-cp311") -> Path:
    root = folder / f"root-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    fields = [
        "Package: omero-web",
        f"Version: {version}",
        "Architecture: amd64",
        "Maintainer: x <x@example.org>",
        "Description: test",
    ]
    if provides:
        fields.insert(3, f"Provides: {provides}")
    (root / "DEBIAN" / "control").write_text("\n".join(fields) + "\n")
    deb = folder / f"omero-web_{version}_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "-Zgzip", "--build", str(root), str(deb)], check=True, capture_output=True
    )
    return deb


def test_the_newest_omero_web_for_the_target_is_read(tmp_path: Path) -> None:
    make_deb(tmp_path, "5.33.2-2~deb12")
    make_deb(tmp_path, "5.33.2-10~deb12")
    make_deb(tmp_path, "5.33.2-11~ubuntu22.04", "omero-web-abi-cp310")
    found = read_omero_web_deb(newest_deb(tmp_path, DEBIAN_12), DEBIAN_12)
    assert (found.version, found.upstream_version, found.abi_package) == (
        "5.33.2-10~deb12",
        "5.33.2",
        "omero-web-abi-cp311",
    )


def test_no_omero_web_built_yet_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="omero-web-deb build --target debian-12"):
        newest_deb(tmp_path, DEBIAN_12)


def test_an_omero_web_of_another_target_or_without_its_abi_is_refused(tmp_path: Path) -> None:
    other = make_deb(tmp_path, "5.33.2-1~ubuntu22.04", "omero-web-abi-cp310")
    with pytest.raises(UsageError, match="not built for debian-12"):
        read_omero_web_deb(other, DEBIAN_12)
    older = make_deb(tmp_path, "5.33.2-1~deb12", provides="")
    with pytest.raises(
        UsageError, match="provides no omero-web-abi-\\* package, not omero-web-abi-cp311"
    ):
        read_omero_web_deb(older, DEBIAN_12)


def test_a_file_that_is_not_a_deb_is_refused_with_its_name(tmp_path: Path) -> None:
    bogus = tmp_path / "omero-web_5.33.2-1~deb12_amd64.deb"
    bogus.write_text("<html>not found</html>\n")  # a download that went wrong
    with pytest.raises(UsageError, match=f"{re.escape(str(bogus))} is not a readable .deb"):
        read_omero_web_deb(bogus, DEBIAN_12)
    cut_short = make_deb(tmp_path, "5.33.2-1~deb12")
    cut_short.write_bytes(cut_short.read_bytes()[:300])  # a download that stopped
    with pytest.raises(UsageError, match=r"is not a readable \.deb"):
        read_omero_web_deb(cut_short, DEBIAN_12)


def test_an_app_that_would_change_a_pin_fails_before_pip_installs_it(tmp_path: Path) -> None:
    report = (
        '{"install": [{"metadata": {"name": "omero-parade", "version": "0.2.4"}},'
        ' {"metadata": {"name": "numpy", "version": "2.3.0"}}]}'
    )
    container = FakeContainer({"--dry-run": Answer(report)})
    request = AppRequest(KNOWN_APPS["omero-parade"], "0.2.4")
    with pytest.raises(
        BuildError,
        match=re.escape("numpy: omero-web's venv has 1.26.4, omero-parade==0.2.4 needs 2.3.0"),
    ):
        install_app(fake_context(make_config(tmp_path), container), request, {"numpy": "1.26.4"})
    assert not any("--dry-run" not in argv and "install" in argv for argv in container.argvs)


SITE = "/opt/omero/web/venv3/lib/python3.11/site-packages"


def installed_in(
    tmp_path: Path,
    name: str,
    version: str,
    module: str,
    answers: dict[str, Answer] | None = None,
) -> tuple[FakeContainer, InstalledApp]:
    """install_app of NAME on a fake container whose site-packages gains
    MODULE and its dist-info; the container, for its calls, and the app."""
    before, after = "django\nomero\n", f"django\nomero\n{module}\n{module}-{version}.dist-info\n"
    listings = iter([before, "", after, ""])  # site-packages and bin/, before and after

    class Listing(FakeContainer):
        def call(self, argv, **kwargs):  # type: ignore[no-untyped-def]
            if argv[:2] == ["ls", "-A"]:
                self.calls.append(Call([str(a) for a in argv]))
                return CommandResult(next(listings), "", "", 0)
            return super().call(argv, **kwargs)

    container = Listing({"--dry-run": Answer('{"install": []}'), **(answers or {})})
    request = AppRequest(KNOWN_APPS[name], version)
    installed = install_app(fake_context(make_config(tmp_path), container), request, {})
    assert installed.entries == (module, f"{module}-{version}.dist-info")
    return container, installed


def test_the_app_s_new_distributions_move_to_its_folder_with_a_pth_file(tmp_path: Path) -> None:
    container, installed = installed_in(tmp_path, "omero-figure", "8.0.1", "omero_figure")
    assert installed.patched == ()
    folder = "/opt/omero/web/apps/figure/site-packages"
    assert [
        "mv",
        f"{SITE}/omero_figure",
        f"{SITE}/omero_figure-8.0.1.dist-info",
        folder,
    ] in container.argvs
    assert container.files[PurePosixPath(f"{SITE}/omero-web-app-figure.pth")] == (
        f"{folder}\n".encode(),
        0o644,
    )
    assert not [
        argv for argv in container.argvs if argv[:2] == ["rm", "-f"] and "static" in argv[-1]
    ]


def test_demo_pages_with_remote_scripts_are_left_out(tmp_path: Path) -> None:
    """tagsearch ships chosen's demo pages, which load jQuery from a CDN."""
    container, _ = installed_in(tmp_path, "omero-tagsearch", "4.3.0", "omero_tagsearch")
    chosen = "/opt/omero/web/apps/tagsearch/site-packages/omero_tagsearch/static/tagsearch/3rd-party/chosen"
    assert ["rm", "-f", f"{chosen}/index.html", f"{chosen}/index.proto.html"] in container.argvs


PARADE = "/opt/omero/web/apps/parade/site-packages"


def test_parade_is_patched_to_run_without_distutils_and_says_so(tmp_path: Path) -> None:
    """omero-parade 0.2.4 imports distutils, which Python 3.12 removed: on
    ubuntu-24.04 and debian-13 every OMERO.web page answered 500 with it."""
    container, installed = installed_in(tmp_path, "omero-parade", "0.2.4", "omero_parade")
    patches = [c for c in container.calls if c.argv[:2] == ["patch", "-p1"]]
    assert [c.workdir for c in patches] == [PARADE]
    assert patches[0].argv[-1].endswith("/0001-numpy-version-without-distutils.patch")
    assert installed.patched == ("Compare numpy's version without distutils (Python 3.12)",)
    context = fake_context(make_config(tmp_path), FakeContainer())
    app = AppPackage(installed, OMERO_WEB, AppStatic((), 0), 1, "deb12")
    changelog = render_app_debian(context, app, "2.116.3")["changelog"]
    assert "built by omero-web-deb.\n  * Patched: Compare numpy's version without distutils" in (
        changelog
    )


def test_a_patch_that_does_not_apply_names_the_version_and_what_to_do(tmp_path: Path) -> None:
    refused = {"patch -p1": Answer("1 out of 2 hunks FAILED", returncode=1)}
    with pytest.raises(
        BuildError,
        match=r"does not apply to omero-parade 0\.1\.0:\n1 out of 2 hunks FAILED\n"
        r"build a version it was written for, or refresh it in .*patches/apps/omero-parade",
    ):
        installed_in(tmp_path, "omero-parade", "0.1.0", "omero_parade", refused)


def test_baked_apps_are_provided_conflicted_and_replaced(tmp_path: Path) -> None:
    config = make_config(tmp_path, apps=("omero-figure==8.0.1", "omero-parade==0.2.4"))
    control = render_debian_templates(config)["control"]
    assert (
        "Provides: omero-web-abi-cp311, omero-web-app-figure, omero-web-app-parade\n"
        "Conflicts: omero-web-app-figure, omero-web-app-parade\n"
        "Replaces: omero-web-app-figure, omero-web-app-parade\n"
    ) in control
    assert "Conflicts" not in render_debian_templates(make_config(tmp_path))["control"]


def test_baked_apps_and_their_patches_are_in_the_changelog(tmp_path: Path) -> None:
    config = make_config(tmp_path, apps=("omero-figure==8.0.1", "omero-parade==0.2.4"))
    changelog = Changelog(render_debian_templates(config)["changelog"])
    changes = "\n".join(changelog[0].changes())
    assert (
        "  * OMERO.figure 8.0.1 baked in (in place of omero-web-app-figure).\n"
        "  * OMERO.parade 0.2.4 baked in (in place of omero-web-app-parade).\n"
        "    Patched: Compare numpy's version without distutils (Python 3.12).\n"
    ) in changes + "\n"
    plain = render_debian_templates(make_config(tmp_path))["changelog"]
    assert "baked in" not in plain
