"""An app may add distributions, never change one omero-web's venv pins
(builder/apps/freeze.py)."""

from __future__ import annotations

import json

import pytest

from builder.apps.freeze import (
    changed_pins,
    check_no_pin_changes,
    constraints,
    locked_installs,
    parse_freeze,
    planned_installs,
)
from builder.errors import BuildError

FREEZE = """\
Django==4.2.27
omero-web==5.33.2
Pillow==11.3.0
pip==25.3
setuptools==80.9.0
zeroc-ice==3.6.5
"""


def report(*installs: tuple[str, str]) -> str:
    return json.dumps(
        {"version": "1", "install": [{"metadata": {"name": n, "version": v}} for n, v in installs]}
    )


def test_the_freeze_is_read_as_normalised_pins_without_pip_s_own_tools() -> None:
    pins = parse_freeze(FREEZE)
    assert pins == {
        "django": "4.2.27",
        "omero-web": "5.33.2",
        "pillow": "11.3.0",
        "zeroc-ice": "3.6.5",
    }
    assert constraints(pins).splitlines()[0] == "django==4.2.27"


def test_new_distributions_are_fine() -> None:
    planned = planned_installs(report(("omero-figure", "8.0.1"), ("reportlab", "4.2.0")))
    assert changed_pins(parse_freeze(FREEZE), planned) == []
    check_no_pin_changes("omero-figure==8.0.1", parse_freeze(FREEZE), planned)


def test_a_changed_pin_is_an_error_naming_both_versions() -> None:
    planned = planned_installs(report(("omero-figure", "8.0.1"), ("pillow", "12.0.0")))
    with pytest.raises(BuildError) as caught:
        check_no_pin_changes("omero-figure==8.0.1", parse_freeze(FREEZE), planned)
    assert "pillow: omero-web's venv has 11.3.0, omero-figure==8.0.1 needs 12.0.0" in str(
        caught.value
    )


def test_names_compare_as_the_index_spells_them() -> None:
    planned = planned_installs(
        report(
            ("DJANGO", "5.0"),
        )
    )
    assert changed_pins(parse_freeze(FREEZE), planned) == [("django", "4.2.27", "5.0")]


def test_a_report_pip_did_not_write_is_a_clear_error() -> None:
    with pytest.raises(BuildError, match="installation report"):
        planned_installs("Looking in indexes: ...")


def test_what_an_app_adds_is_locked_by_the_file_pip_installed_and_its_hash() -> None:
    item = {
        "metadata": {"name": "Markdown", "version": "3.7"},
        "download_info": {
            "url": "https://files.example.org/packages/ab/markdown-3.7-py3-none-any.whl",
            "archive_info": {"hash": "sha256=" + "a" * 64},
        },
    }
    report = json.dumps({"install": [item, {"metadata": {"name": "omero-web", "version": "5"}}]})
    (locked,) = locked_installs(report, ["markdown"])
    assert (locked.name, locked.version) == ("markdown", "3.7")
    assert [(f.filename, f.sha256) for f in locked.files] == [
        ("markdown-3.7-py3-none-any.whl", "a" * 64)
    ]
