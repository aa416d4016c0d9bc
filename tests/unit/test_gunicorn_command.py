"""The systemd unit's gunicorn command line (debian/scripts/omero-web-gunicorn.py):
which worker class gunicorn will run, and when --preload is added."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "debian" / "scripts" / "omero-web-gunicorn.py"
APP = "omeroweb.wsgi:application"
BASE = ["/opt/omero/web/venv3/bin/gunicorn", "--workers", "5", "--threads", "1"]


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    monkeypatch.setenv("OMERODIR", str(tmp_path))
    monkeypatch.delenv("OMERO_WEB_GUNICORN_PRELOAD", raising=False)
    spec = importlib.util.spec_from_file_location("omero_web_gunicorn", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    script: ModuleType, options: list[str], expected: str
) -> None:
    assert script.worker_class([*BASE, *options, APP]) == expected


def test_sync_workers_get_preload_before_the_app(script: ModuleType) -> None:
    assert script.with_preload([*BASE, APP]) == [*BASE, "--preload", APP]


def test_preload_is_not_added_twice(script: ModuleType) -> None:
    argv = [*BASE, "--preload", APP]
    assert script.with_preload(argv) == argv


def test_gevent_workers_load_the_app_themselves(script: ModuleType) -> None:
    argv = [*BASE, "--worker-class=gevent", APP]
    assert script.with_preload(argv) == argv


def test_a_unit_drop_in_turns_preload_off(
    script: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMERO_WEB_GUNICORN_PRELOAD", "no")
    assert script.with_preload([*BASE, APP]) == [*BASE, APP]


def test_the_init_script_gets_the_units_command_detached(script: ModuleType) -> None:
    unit = script.final_argv([*BASE, APP], daemon=False)
    init = script.final_argv([*BASE, APP], daemon=True)
    assert unit == [*BASE, "--preload", APP]
    assert init == [BASE[0], "--daemon", *BASE[1:], "--preload", APP]
