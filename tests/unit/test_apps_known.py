"""The known-app table (builder/apps/known.py) and NAME[==VERSION] checks
(builder/apps/request.py): what an admin types, and the drop-ins each app gets."""

from __future__ import annotations

import shlex

import pytest

from builder.apps import request as request_module
from builder.apps.known import KNOWN_APPS, known_app
from builder.apps.request import (
    debian_upstream_version,
    parse_app_argument,
    resolve_app,
    resolve_apps,
)
from builder.errors import UsageError

INDEX = "https://pypi.example.org/simple"
ISSUE_APPS = (
    "omero-figure",
    "omero-iviewer",
    "omero-parade",
    "omero-mapr",
    "omero-autotag",
    "omero-tagsearch",
)


def test_the_issue_s_apps_are_known_with_their_package_and_drop_in_names() -> None:
    assert set(ISSUE_APPS) <= set(KNOWN_APPS)
    figure = KNOWN_APPS["omero-figure"]
    assert (figure.short, figure.package, figure.dropin_name) == (
        "figure",
        "omero-web-app-figure",
        "50-app-figure.omero",
    )
    # One Django module and one URL per app, none shared.
    assert len({app.module for app in KNOWN_APPS.values()}) == len(KNOWN_APPS)
    assert len({app.url for app in KNOWN_APPS.values()}) == len(KNOWN_APPS)


def test_figure_s_drop_in_is_its_readme_s_lines_each_added_once() -> None:
    text = KNOWN_APPS["omero-figure"].dropin("8.0.1")
    commands = [line for line in text.splitlines() if not line.startswith("#")]
    assert commands == [
        """config append --set omero.web.apps '"omero_figure"'""",
        'config append --set omero.web.ui.top_links \'["Figure", "figure_index", '
        '{"title": "Open Figure in new tab", "target": "_blank"}]\'',
        'config append --set omero.web.open_with \'["omero_figure", "new_figure", '
        '{"supported_objects": ["images"], "target": "_blank", "label": "OMERO.figure"}]\'',
    ]
    assert text.startswith("# OMERO.figure 8.0.1 (omero-figure), from the omero-web-app-figure")


def test_iviewer_replaces_the_viewer_and_lengthens_gunicorn_s_request_line() -> None:
    lines = KNOWN_APPS["omero-iviewer"].dropin("0.19.1").splitlines()
    assert "config set omero.web.viewer.view omero_iviewer.views.index" in lines
    wsgi = next(line for line in lines if "wsgi_args" in line)
    # As the omero CLI's load reads it: the value after `--`, one word.
    assert shlex.split(wsgi) == [
        "config",
        "set",
        "omero.web.wsgi_args",
        "--",
        "--limit-request-line 8192",
    ]


def test_parade_is_a_centre_plugin_and_mapr_gets_the_config_it_requires() -> None:
    parade = KNOWN_APPS["omero-parade"].dropin("0.2.4")
    assert "omero.web.ui.center_plugins" in parade and "omero_parade/init.js.html" in parade
    mapr = KNOWN_APPS["omero-mapr"].dropin("0.5.3")
    assert "config append --set omero.web.mapr.config" in mapr
    assert "maprindex_gene" in mapr


def test_every_drop_in_line_parses_as_the_omero_cli_reads_it() -> None:
    for app in KNOWN_APPS.values():
        for line in app.dropin("1.0").splitlines():
            words = shlex.split(line, comments=True)
            assert not words or (words[0] == "config" and words[1] in ("set", "append"))


@pytest.mark.parametrize("typed", ["omero-figure", "OMERO_Figure", "omero_figure"])
def test_names_are_matched_as_the_index_matches_them(typed: str) -> None:
    assert known_app(typed).name == "omero-figure"


def test_an_unknown_app_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"'requests' is not an OMERO.web app .* omero-figure"):
        parse_app_argument("requests==2.0")


@pytest.mark.parametrize("typed", ["omero-figure>=8", "omero-figure==", "omero-figure==x y"])
def test_only_an_exact_version_can_be_asked_for(typed: str) -> None:
    with pytest.raises(UsageError, match="NAME or NAME==VERSION"):
        parse_app_argument(typed)


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    versions = {
        "omero-figure": {"7.2.0", "8.0.0", "8.0.1", "8.0.1rc2", "8.1.0.dev1"},
        "omero-iviewer": {"0.19.1"},
        "omero-parade": {"0.2.dev2"},
    }
    monkeypatch.setattr(
        request_module, "available_versions", lambda url, name: versions.get(name, set())
    )
    return versions


def test_no_version_is_the_newest_final_release(index: dict[str, set[str]]) -> None:
    assert resolve_app("omero-figure", INDEX).version == "8.0.1"
    assert resolve_app("omero-figure==8.0.1rc2", INDEX).debian_version == "8.0.1~rc2"


def test_a_version_the_index_lacks_is_refused_with_the_newest(index: dict[str, set[str]]) -> None:
    with pytest.raises(UsageError, match=r"omero-figure 9.9 is not on .*8\.0\.1"):
        resolve_app("omero-figure==9.9", INDEX)
    with pytest.raises(UsageError, match=r"omero-mapr is not on the package index"):
        resolve_app("omero-mapr", INDEX)
    with pytest.raises(UsageError, match=r"no final release .* omero-parade==VERSION"):
        resolve_app("omero-parade", INDEX)


def test_an_app_asked_for_twice_is_refused(index: dict[str, set[str]]) -> None:
    with pytest.raises(UsageError, match="omero-figure asked for more than once"):
        resolve_apps(("omero-figure", "omero_figure==8.0.0"), INDEX)
    assert [r.requirement for r in resolve_apps(("omero-figure", "omero-iviewer"), INDEX)] == [
        "omero-figure==8.0.1",
        "omero-iviewer==0.19.1",
    ]


@pytest.mark.parametrize(
    ("pep440", "debian"),
    [("8.0.1", "8.0.1"), ("8.0.1rc2", "8.0.1~rc2"), ("0.2.dev2", "0.2~dev2"), ("1.0b1", "1.0~b1")],
)
def test_pre_releases_sort_before_their_release_in_debian(pep440: str, debian: str) -> None:
    assert debian_upstream_version(pep440) == debian
