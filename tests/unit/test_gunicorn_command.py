"""`omero_web_helper.py gunicorn`, the unit's ExecStart and the init
script's start: which worker class gunicorn will run, when --preload is
added, when static files are collected, and what is exec'd."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.rendered_scripts import ROOT, load_rendered_script

APP = "omeroweb.wsgi:application"
BASE = ["/venv/bin/gunicorn", "--workers", "5", "--threads", "1"]
# Under OMERODIR: what an admin's static folder was collected for.
STATIC_STAMP = Path("var/omero/static-collected")
GUNICORN_COMMAND = Path("var/omero/gunicorn-command.json")
# What upstream's settings make of a configuration with a URL prefix.
UPSTREAM_COMMAND = {
    "argv": [*BASE, APP],
    "script_name": "/omero",
    "static_root": "/opt/omero/web/static",
}


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    monkeypatch.delenv("OMERO_WEB_GUNICORN_PRELOAD", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
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


def warm_up(helper: ModuleType) -> list[str]:
    """The options that give gunicorn the warm-up hook, right after its path."""
    return [BASE[0], "--config", str(helper.WARM_UP)]


def test_sync_workers_get_preload_before_the_app_and_the_warm_up_first(
    helper: ModuleType,
) -> None:
    assert helper.with_preload([*BASE, APP]) == [*warm_up(helper), *BASE[1:], "--preload", APP]


def test_the_package_installs_the_warm_up_beside_the_helper_that_names_it(
    helper: ModuleType,
) -> None:
    # WARM_UP is found beside the helper: the package must put them together.
    install = (ROOT / "debian" / "omero-web.install").read_text().splitlines()
    destinations = {
        Path(source).name: destination
        for source, destination in (line.split() for line in install if line.startswith("debian/"))
    }
    assert destinations[helper.WARM_UP.name] == destinations["omero_web_helper.py"]


def test_preload_is_not_added_twice(helper: ModuleType) -> None:
    argv = [*BASE, "--preload", APP]
    assert helper.with_preload(argv) == [*warm_up(helper), *argv[1:]]


def test_an_admins_config_file_comes_later_on_the_line_than_the_packages(
    helper: ModuleType,
) -> None:
    # gunicorn keeps the last -c/--config it is given.
    argv = helper.with_preload([*BASE, "-c", "/etc/omero-web/gunicorn.py", APP])
    assert argv.index("-c") > argv.index("--config")


@pytest.mark.parametrize(
    "cmd_args", ["-c /etc/omero-web/gunicorn.py", "--log-level debug --config=/etc/g.py"]
)
def test_a_config_file_in_gunicorn_cmd_args_is_left_to_gunicorn(
    helper: ModuleType, monkeypatch: pytest.MonkeyPatch, cmd_args: str
) -> None:
    # gunicorn reads the environment's file only when the line names none.
    monkeypatch.setenv("GUNICORN_CMD_ARGS", cmd_args)
    assert helper.with_preload([*BASE, APP]) == [*BASE, "--preload", APP]


def test_other_gunicorn_cmd_args_keep_the_warm_up(
    helper: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--log-level debug --capture-output")
    assert helper.with_preload([*BASE, APP])[:3] == warm_up(helper)


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
    assert unit == [*warm_up(helper), *BASE[1:], "--preload", APP]
    assert init == [BASE[0], "--daemon", *warm_up(helper)[1:], *BASE[1:], "--preload", APP]


def test_an_admins_static_folder_starts_from_the_packages_files(
    helper: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The venv has no sources for the package's own files: collectstatic
    # alone would leave them out, and django-pipeline's bundles need them.
    packages = tmp_path / "package-static"
    put(packages / "webgateway" / "json" / "luts.json", "{}")
    monkeypatch.setattr(helper, "STATIC_DIR", packages)
    monkeypatch.setattr(helper, "omeroweb_dir", lambda: tmp_path)
    ran: list[tuple[list[str], bool]] = []

    def run(argv: list[str], **options: object) -> None:
        ran.append((argv[1:], (ours / "webgateway" / "json" / "luts.json").is_file()))
        # What collectstatic writes for the app, with the umask it inherits.
        (ours / "figure").mkdir()
        (ours / "figure" / "app.js").write_text("var app;")

    monkeypatch.setattr(helper.subprocess, "run", run)
    ours = tmp_path / "var" / "static"
    (packages / "webgateway" / "json" / "luts.json").chmod(0o644)
    previous = helper.os.umask(0o077)  # omero-web-cli's is 027
    try:
        helper.collect_static(str(ours))
    finally:
        helper.os.umask(previous)
    assert ran == [(["manage.py", "collectstatic", "--noinput"], True)]
    # nginx (www-data) reads them: folders it can enter, files it can read.
    assert (ours / "webgateway" / "json" / "luts.json").stat().st_mode & 0o777 == 0o644
    assert (ours / "figure").stat().st_mode & 0o777 == 0o755
    assert (ours / "figure" / "app.js").stat().st_mode & 0o777 == 0o644


@pytest.fixture
def collections(helper: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each time the static files are collected at a start."""
    made: list[int] = []
    monkeypatch.setattr(helper, "collect_static", lambda static_root: made.append(1))
    return made


def test_the_packages_static_files_are_never_collected_at_a_start(
    helper: ModuleType, collections: list[int], tmp_path: Path
) -> None:
    helper.collect_static_where_needed(tmp_path, str(helper.STATIC_DIR))
    assert collections == []
    assert Path("/opt/omero/web/static") == helper.STATIC_DIR


def test_an_admins_static_folder_is_collected_once_for_the_same_configuration(
    helper: ModuleType, collections: list[int], tmp_path: Path
) -> None:
    config_xml = put(tmp_path / "etc" / "grid" / "config.xml", "<icegrid/>")
    ours = str(tmp_path / "var" / "static")
    helper.collect_static_where_needed(tmp_path, ours)
    helper.collect_static_where_needed(tmp_path, ours)
    assert collections == [1]
    assert (tmp_path / STATIC_STAMP).read_text().startswith(ours + "\n")

    config_xml.write_text("<icegrid><properties/></icegrid>")
    helper.collect_static_where_needed(tmp_path, ours)
    assert collections == [1, 1]
    put(tmp_path / STATIC_STAMP, "damaged")
    helper.collect_static_where_needed(tmp_path, ours)
    assert collections == [1, 1, 1]


@pytest.fixture
def execd(
    helper: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[tuple[str, list[str]]]:
    """`gunicorn` with upstream's command line faked: what was exec'd."""
    monkeypatch.setenv("OMERODIR", str(tmp_path / "omerodir"))
    monkeypatch.setenv("SCRIPT_NAME", "before")  # restored after the test
    monkeypatch.setenv("PYTHONPATH", "/site")
    monkeypatch.setattr(helper.sys, "path", list(helper.sys.path))
    monkeypatch.setattr(helper, "gunicorn_command", lambda _: dict(UPSTREAM_COMMAND))
    monkeypatch.setattr(helper, "omeroweb_dir", lambda: tmp_path)
    made: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(helper.os, "execv", lambda path, argv: made.append((path, argv)))
    monkeypatch.chdir(tmp_path)
    return made


def test_gunicorn_is_execd_with_upstreams_command_preloaded(
    helper: ModuleType, execd: list[tuple[str, list[str]]], tmp_path: Path
) -> None:
    omerodir = tmp_path / "omerodir"
    pid_file = put(omerodir / "var" / "django.pid", "12345\n")  # left by a killed master
    helper.main(["gunicorn", "--daemon"])
    assert execd == [
        (BASE[0], [BASE[0], "--daemon", *warm_up(helper)[1:], *BASE[1:], "--preload", APP])
    ]
    assert helper.os.environ["SCRIPT_NAME"] == "/omero"
    # OMERODIR/var/lib on the path, as `omero web start` puts it.
    lib = str(omerodir / "var" / "lib")
    assert helper.sys.path[1] == lib
    assert helper.os.environ["PYTHONPATH"] == f"/site:{lib}"
    assert not pid_file.exists()


def test_gunicorn_needs_omerodir_from_omero_web_cli(
    helper: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OMERODIR", raising=False)
    assert helper.main(["gunicorn"]) == 1
    assert "omero-web: OMERODIR is not set: run this through omero-web-cli --python" in (
        capsys.readouterr().err
    )


@pytest.fixture
def settings_imports(helper: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each time OMERO.web's settings are imported to make the command."""
    made: list[Path] = []

    def command(omerodir: Path) -> dict[str, object]:
        made.append(omerodir)
        return dict(UPSTREAM_COMMAND)

    monkeypatch.setattr(helper, "gunicorn_command", command)
    return made


def test_the_command_is_made_once_for_the_same_inputs(
    helper: ModuleType, settings_imports: list[Path], tmp_path: Path
) -> None:
    config_xml = put(tmp_path / "etc" / "grid" / "config.xml", "<icegrid/>")
    assert helper.saved_gunicorn_command(tmp_path) == UPSTREAM_COMMAND
    assert helper.saved_gunicorn_command(tmp_path) == UPSTREAM_COMMAND
    assert settings_imports == [tmp_path]
    # A setting changed by hand, or by a load: made again.
    config_xml.write_text("<icegrid><properties/></icegrid>")
    assert helper.saved_gunicorn_command(tmp_path) == UPSTREAM_COMMAND
    assert settings_imports == [tmp_path, tmp_path]
    # A damaged cache is no answer either.
    put(tmp_path / GUNICORN_COMMAND, "{not json")
    assert helper.saved_gunicorn_command(tmp_path) == UPSTREAM_COMMAND
    assert len(settings_imports) == 3
    assert helper.cached_gunicorn_command(tmp_path) == UPSTREAM_COMMAND


def test_a_start_with_the_command_made_imports_no_settings(
    helper: ModuleType,
    execd: list[tuple[str, list[str]]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    omerodir = tmp_path / "omerodir"
    put(omerodir / "etc" / "grid" / "config.xml", "<icegrid/>")
    helper.main(["gunicorn"])
    monkeypatch.setattr(helper, "gunicorn_command", lambda _: pytest.fail("settings imported"))
    monkeypatch.setenv("SCRIPT_NAME", "before")
    helper.main(["gunicorn"])
    assert execd == [(BASE[0], [*warm_up(helper), *BASE[1:], "--preload", APP])] * 2
    assert helper.os.environ["SCRIPT_NAME"] == "/omero", "the saved prefix was not set"


def test_a_command_that_cannot_be_saved_still_starts(
    helper: ModuleType,
    settings_imports: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put(tmp_path / "etc" / "grid" / "config.xml", "<icegrid/>")
    (tmp_path / "var" / "omero").mkdir(parents=True)

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(helper.os, "replace", full)
    assert helper.saved_gunicorn_command(tmp_path) == UPSTREAM_COMMAND
    assert "could not save gunicorn's command line" in capsys.readouterr().err
    assert list((tmp_path / "var" / "omero").iterdir()) == [], "a temporary file was left"
