"""debian/scripts/omero_web_warm_up.py, gunicorn's hook for preloaded
workers: what the master prepares before the workers fork, and that a
failure to prepare it never stops the start.  Django is not in the
toolkit's venv: the two Django functions the hook calls are stood in for
here; the integration tests run it against OMERO.web's own."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests.unit.rendered_scripts import load_rendered_script


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str, *args: Any) -> None:
        self.lines.append(("info", message % args))

    def warning(self, message: str, *args: Any) -> None:
        self.lines.append(("warning", message % args))


class Resolver:
    def __init__(self, fails: bool = False, blocks: bool = False) -> None:
        self.fails = fails
        self.blocks = blocks
        self.built = False

    @property
    def reverse_dict(self) -> dict[str, Any]:
        if self.fails:
            raise ImportError("No module named 'omero_iviewer'")
        if self.blocks:  # an app's view that connects somewhere at import
            time.sleep(30)
        self.built = True
        return {}


def server(log: Log, timeout: int = 60) -> SimpleNamespace:
    return SimpleNamespace(log=log, cfg=SimpleNamespace(timeout=timeout))


def stand_in_django(monkeypatch: pytest.MonkeyPatch, resolver: Resolver) -> list[str]:
    compiled: list[str] = []
    urls = ModuleType("django.urls")
    urls.get_resolver = lambda: resolver  # type: ignore[attr-defined]
    loader = ModuleType("django.template.loader")
    loader.get_template = compiled.append  # type: ignore[attr-defined]
    for name, module in {
        "django": ModuleType("django"),
        "django.urls": urls,
        "django.template": ModuleType("django.template"),
        "django.template.loader": loader,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    return compiled


@pytest.fixture
def hooks(tmp_path: Path) -> ModuleType:
    return load_rendered_script("omero_web_warm_up.py", tmp_path)


def test_the_master_builds_the_url_index_and_compiles_the_login_page(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = Resolver()
    compiled = stand_in_django(monkeypatch, resolver)
    log = Log()
    hooks.when_ready(server(log))
    assert resolver.built
    assert compiled == ["webclient/login.html"]
    [(level, line)] = log.lines
    assert level == "info" and line.startswith("OMERO.web warmed up before the workers fork")


def test_a_failed_warm_up_is_logged_and_the_start_goes_on(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An app's URLconf that cannot be imported: the worker's first request
    # reports it as it would without the hook; the master starts.
    compiled = stand_in_django(monkeypatch, Resolver(fails=True))
    log = Log()
    hooks.when_ready(server(log))
    assert compiled == []
    assert log.lines == [
        (
            "warning",
            "OMERO.web not warmed up before the workers fork: No module named 'omero_iviewer'",
        )
    ]


def test_a_warm_up_that_blocks_is_cut_short_at_gunicorns_worker_timeout(
    hooks: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The master must fork its workers: the same import in a worker's first
    # request would be killed at --timeout.
    compiled = stand_in_django(monkeypatch, Resolver(blocks=True))
    log = Log()
    before = signal.getsignal(signal.SIGALRM)
    start = time.monotonic()
    hooks.when_ready(server(log, timeout=1))
    assert time.monotonic() - start < 10
    assert compiled == []
    assert log.lines == [
        (
            "warning",
            "OMERO.web not warmed up before the workers fork: "
            "it took longer than gunicorn's worker timeout",
        )
    ]
    # Nothing left behind: no alarm pending, the handler as it was.
    assert signal.alarm(0) == 0
    assert signal.getsignal(signal.SIGALRM) is before
