"""`omero_web_helper.py gunicorn`, the unit's ExecStart and the init
script's start: which worker class gunicorn will run, when --preload is
added, when the prepared command is worked out again, and what is exec'd."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.rendered_scripts import load_rendered_script

APP = "omeroweb.wsgi:application"
BASE = ["/venv/bin/gunicorn", "--workers", "5", "--threads", "1"]
# Under OMERODIR: the file the unit's ExecStopPost and the init script's
# stop remove.
PREPARED = Path("var/omero/gunicorn-command.json")


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    monkeypatch.delenv("OMERO_WEB_GUNICORN_PRELOAD", raising=False)
    return load_rendered_script("omero_web_helper.py", tmp_path)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], "sync"),
        (["--worker-connections", "1000", "--worker-class", "gevent"], "gevent"),
        (["-k", "gevent"], "gevent"),
        (["--worker-class=gevent"], "gevent"),
        (["-k", "gevent", "--worker-class", "sync"], "sync"),  # the last one wins
    ],
)
def test_worker_class_is_read_from_the_whole_command_line(
    helper: ModuleType, options: list[str], expected: str
) -> None:
    assert helper.worker_class([*BASE, *options, APP]) == expected


def test_sync_workers_get_preload_before_the_app(helper: ModuleType) -> None:
    assert helper.with_preload([*BASE, APP]) == [*BASE, "--preload", APP]


def test_preload_is_not_added_twice(helper: ModuleType) -> None:
    argv = [*BASE, "--preload", APP]
    assert helper.with_preload(argv) == argv


def test_gevent_workers_load_the_app_themselves(helper: ModuleType) -> None:
    argv = [*BASE, "--worker-class=gevent", APP]
    assert helper.with_preload(argv) == argv


def test_a_unit_drop_in_turns_preload_off(
    helper: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMERO_WEB_GUNICORN_PRELOAD", "no")
    assert helper.with_preload([*BASE, APP]) == [*BASE, APP]


def test_the_init_script_gets_the_units_command_detached(helper: ModuleType) -> None:
    unit = helper.final_argv([*BASE, APP], daemon=False)
    init = helper.final_argv([*BASE, APP], daemon=True)
    assert unit == [*BASE, "--preload", APP]
    assert init == [BASE[0], "--daemon", *BASE[1:], "--preload", APP]


@pytest.fixture
def preparations(helper: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each time the command is worked out (and the static files collected):
    the OMERODIR it was for."""
    made: list[Path] = []

    def gunicorn_command(omerodir: Path) -> dict[str, Any]:
        made.append(omerodir)
        return {"argv": [*BASE, APP], "environment": {"PYTHONPATH": str(omerodir)}}

    monkeypatch.setattr(helper, "collect_static", lambda: None)
    monkeypatch.setattr(helper, "gunicorn_command", gunicorn_command)
    return made


def test_the_command_is_prepared_once_for_the_same_configuration(
    helper: ModuleType, preparations: list[Path], tmp_path: Path
) -> None:
    config_xml = put(tmp_path / "etc" / "grid" / "config.xml", "<icegrid/>")
    first = helper.prepared(tmp_path)
    cache = tmp_path / PREPARED
    assert json.loads(cache.read_text()) == first
    assert first["argv"] == [*BASE, APP]
    assert helper.prepared(tmp_path) == first
    assert preparations == [tmp_path]

    config_xml.write_text("<icegrid><properties/></icegrid>")
    helper.prepared(tmp_path)
    assert len(preparations) == 2
    cache.unlink()  # a clean stop
    helper.prepared(tmp_path)
    assert len(preparations) == 3


def test_a_damaged_prepared_command_is_worked_out_again(
    helper: ModuleType, preparations: list[Path], tmp_path: Path
) -> None:
    put(tmp_path / PREPARED, "{not json")
    assert helper.prepared(tmp_path)["argv"] == [*BASE, APP]
    assert preparations == [tmp_path]


def test_gunicorn_is_execd_with_the_prepared_command(
    helper: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    omerodir = tmp_path / "omerodir"
    pid_file = put(omerodir / "var" / "django.pid", "12345\n")  # left by a killed master
    monkeypatch.setenv("OMERODIR", str(omerodir))
    monkeypatch.setenv("SCRIPT_NAME", "before")  # restored after the test
    monkeypatch.setattr(
        helper,
        "prepared",
        lambda _: {"argv": [*BASE, APP], "environment": {"SCRIPT_NAME": "/omero"}},
    )
    monkeypatch.setattr(helper, "omeroweb_dir", lambda: tmp_path)
    execd: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(helper.os, "execv", lambda path, argv: execd.append((path, argv)))
    monkeypatch.chdir(tmp_path)

    helper.main(["gunicorn", "--daemon"])
    assert execd == [(BASE[0], [BASE[0], "--daemon", *BASE[1:], "--preload", APP])]
    assert helper.os.environ["SCRIPT_NAME"] == "/omero"
    assert not pid_file.exists()


def test_gunicorn_needs_omerodir_from_omero_web_cli(
    helper: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OMERODIR", raising=False)
    assert helper.main(["gunicorn"]) == 1
    assert "omero-web: OMERODIR is not set: run this through omero-web-cli --python" in (
        capsys.readouterr().err
    )
