"""debian/scripts/omero_web_helper.py as a program: it runs without the
venv's packages until a command needs them, and `drop-all-sessions` empties
every kind of session store (Django faked: the tests have none)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from tests.unit.rendered_scripts import load_rendered_script


@pytest.fixture
def helper(tmp_path: Path) -> ModuleType:
    return load_rendered_script("omero_web_helper.py", tmp_path)


def run_helper(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    load_rendered_script("omero_web_helper.py", tmp_path)
    return subprocess.run(
        [sys.executable, "-I", str(tmp_path / "omero_web_helper.py"), *arguments],
        capture_output=True,
        text=True,
    )


def test_runs_without_omero_or_django_until_a_command_needs_them(tmp_path: Path) -> None:
    result = run_helper(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in ("gunicorn", "nginx", "nginx-site", "drop-all-sessions"):
        assert command in result.stdout
    assert run_helper(tmp_path, "nginx", "--help").returncode == 0


def test_a_command_is_required(tmp_path: Path) -> None:
    assert run_helper(tmp_path).returncode == 2
    assert run_helper(tmp_path, "clear-session-store").returncode == 2


@pytest.mark.parametrize(
    ("engine", "stores"),
    [
        ("django.contrib.sessions.backends.file", ["files"]),
        ("django.contrib.sessions.backends.cache", ["cache"]),
        ("django.contrib.sessions.backends.cached_db", ["cache", "database"]),
        ("django.contrib.sessions.backends.db", ["database"]),
        ("django.contrib.sessions.backends.signed_cookies", []),
    ],
)
def test_session_stores_follow_the_engine(
    helper: ModuleType, engine: str, stores: list[str]
) -> None:
    assert helper.session_stores(engine) == stores


class FakeCache:
    cleared = 0

    def clear(self) -> None:
        self.cleared += 1


class FakeSessions:
    deleted = 0

    def all(self) -> FakeSessions:
        return self

    def delete(self) -> tuple[int, dict[str, int]]:
        self.deleted += 1
        return 7, {"sessions.Session": 7}


@pytest.fixture
def django(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SimpleNamespace:
    """Django as drop-all-sessions uses it, its settings those of a file
    session store in tmp_path/sessions."""
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    fake = SimpleNamespace(
        setup_calls=0,
        settings=SimpleNamespace(
            SESSION_ENGINE="django.contrib.sessions.backends.file",
            SESSION_FILE_PATH=str(sessions),
            SESSION_COOKIE_NAME="sessionid",
            SESSION_CACHE_ALIAS="default",
        ),
        cache=FakeCache(),
        sessions=FakeSessions(),
    )

    def setup() -> None:
        fake.setup_calls += 1

    modules = {
        "django": {"setup": setup},
        "django.conf": {"settings": fake.settings},
        "django.core": {},
        "django.core.cache": {"caches": {"default": fake.cache}},
        "django.contrib": {},
        "django.contrib.sessions": {},
        "django.contrib.sessions.models": {"Session": SimpleNamespace(objects=fake.sessions)},
    }
    for name, attributes in modules.items():
        module = ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    return fake


def test_drop_all_sessions_removes_every_session_file(
    helper: ModuleType, django: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = Path(django.settings.SESSION_FILE_PATH)
    for name in ("sessionidabc", "sessionid123", "other"):
        (sessions / name).write_text("pickled")
    assert helper.main(["drop-all-sessions"]) == 0
    assert [p.name for p in sessions.iterdir()] == ["other"]
    assert django.setup_calls == 1
    assert helper.os.environ["DJANGO_SETTINGS_MODULE"] == "omeroweb.settings"
    assert capsys.readouterr().out == f"omero-web: removed 2 session files from {sessions}\n"
    assert django.cache.cleared == django.sessions.deleted == 0


def test_drop_all_sessions_clears_the_cache_and_the_database(
    helper: ModuleType, django: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    django.settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    assert helper.main(["drop-all-sessions"]) == 0
    assert django.cache.cleared == django.sessions.deleted == 1
    assert capsys.readouterr().out == (
        "omero-web: cleared the 'default' cache\nomero-web: removed 7 sessions from the database\n"
    )


def test_session_file_names_are_not_patterns(helper: ModuleType, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "s[1]x").touch()
    (sessions / "s1x").touch()
    assert helper.remove_session_files(str(sessions), "s[1]") == 1
    assert [p.name for p in sessions.iterdir()] == ["s1x"]


def test_the_packages_own_calls_parse(helper: ModuleType) -> None:
    """The command lines postinst, prerm, the unit and the init script
    build (debian/): each names its subcommand and arguments as the helper
    reads them."""
    from tests.unit.rendered_scripts import rendered_text

    parser = helper.argument_parser()
    shipped = "\n".join(
        rendered_text(name)
        for name in ("omero-web.postinst", "omero-web.prerm", "omero-web.service", "omero-web.init")
    )
    for call in (
        "nginx write",
        "nginx disable",
        "gunicorn",
        "gunicorn --daemon",
        "drop-all-sessions",
    ):
        assert f"omero_web_helper.py {call}" in shipped or f'"$HELPER" {call}' in shipped, call
    write = parser.parse_args(
        ["nginx", "write", "--default-server", "80", "localhost", "web.example.org"]
    )
    assert write.action == "write" and write.default_server and write.port == "80"
    assert write.names == ["localhost", "web.example.org"]
    assert parser.parse_args(["nginx", "disable"]).action == "disable"
    assert parser.parse_args(["gunicorn", "--daemon"]).daemon is True
    assert parser.parse_args(["drop-all-sessions"]).run is helper.drop_all_sessions
