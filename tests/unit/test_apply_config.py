"""`omero_web_helper.py apply-config` (omero-web-apply-config, before each
start and in postinst): the drop-ins are loaded into config.xml in name
order, and loaded again only when they or config.xml changed."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.fakes import FakeOmeroCLI
from tests.unit.rendered_scripts import load_rendered_script


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    module = load_rendered_script("omero_web_helper.py", tmp_path)
    monkeypatch.setattr(module, "CONFIG_DIR", tmp_path / "etc-omero-web")
    monkeypatch.setenv("OMERODIR", str(tmp_path / "omerodir"))
    return module


@pytest.fixture
def omero_cli(helper: ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakeOmeroCLI:
    return FakeOmeroCLI().install(helper, monkeypatch)


def dropin(helper: ModuleType, name: str, text: str) -> Path:
    path = Path(helper.CONFIG_DIR) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_drop_ins_are_loaded_in_name_order_without_hidden_files(
    helper: ModuleType, omero_cli: FakeOmeroCLI
) -> None:
    local = dropin(helper, "50-local.omero", "config set omero.web.wsgi_timeout 99\n")
    debconf = dropin(helper, "10-debconf.omero", "config set omero.web.prefix\n")
    dropin(helper, ".50-local.omero.swp", "")
    dropin(helper, "README", "")
    assert helper.main(["apply-config"]) == 0
    assert omero_cli.invoked == [["load", str(debconf), str(local)]]
    # The drop-ins are all the CLI needs: no `web` plugin.
    assert omero_cli.made_with_web == [False]


def test_nothing_is_loaded_again_until_a_drop_in_or_config_xml_changes(
    helper: ModuleType, omero_cli: FakeOmeroCLI, tmp_path: Path
) -> None:
    local = dropin(helper, "50-local.omero", "config set omero.web.wsgi_timeout 99\n")
    config_xml = tmp_path / "omerodir" / "etc" / "grid" / "config.xml"
    config_xml.parent.mkdir(parents=True)
    config_xml.write_text("<icegrid/>")
    for _ in range(2):
        assert helper.main(["apply-config"]) == 0
    assert len(omero_cli.invoked) == 1

    local.write_text("config set omero.web.wsgi_timeout 120\n")
    assert helper.main(["apply-config"]) == 0
    config_xml.write_text("<icegrid><properties/></icegrid>")  # a key set by hand
    assert helper.main(["apply-config"]) == 0
    dropin(helper, "60-more.omero", "")
    assert helper.main(["apply-config"]) == 0
    assert len(omero_cli.invoked) == 4


def test_a_drop_in_the_cli_refuses_fails_and_is_tried_again_next_time(
    helper: ModuleType, omero_cli: FakeOmeroCLI, capsys: pytest.CaptureFixture[str]
) -> None:
    local = dropin(helper, "50-local.omero", "config sett omero.web.wsgi_timeout 99\n")
    omero_cli.failing = "load"
    assert helper.main(["apply-config"]) == 1
    assert f"omero-web: `omero load {local}` failed (above)" in capsys.readouterr().err
    omero_cli.failing = None
    assert helper.main(["apply-config"]) == 0
    assert len(omero_cli.invoked) == 2


def test_no_drop_in_loads_nothing(helper: ModuleType, omero_cli: FakeOmeroCLI) -> None:
    assert helper.main(["apply-config"]) == 0
    assert omero_cli.invoked == []


def test_lists_drop_ins_append_to_are_rebuilt_at_each_load(
    helper: ModuleType, omero_cli: FakeOmeroCLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `config append` adds to what config.xml has: without the reset a
    # reload would list an app twice.
    monkeypatch.setattr(helper, "APPS_DIR", tmp_path / "apps")
    (tmp_path / "apps" / "figure").mkdir(parents=True)
    debconf = dropin(helper, "10-debconf.omero", "config set omero.web.prefix\n")
    figure = dropin(
        helper,
        "50-app-figure.omero",
        "# OMERO.figure\n"
        "config append --set omero.web.apps '\"omero_figure\"'\n"
        'config append omero.web.ui.top_links \'["Figure", "figure_index"]\'\n',
    )
    assert helper.main(["apply-config"]) == 0
    assert omero_cli.invoked == [
        ["config", "set", "omero.web.apps"],
        ["config", "set", "omero.web.ui.top_links"],
        ["load", str(debconf), str(figure)],
    ]


def test_a_removed_app_s_drop_in_is_left_out_and_its_keys_unset(
    helper: ModuleType,
    omero_cli: FakeOmeroCLI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `apt remove` keeps the conffile until purge; the app's folder is gone.
    monkeypatch.setattr(helper, "APPS_DIR", tmp_path / "apps")
    (tmp_path / "apps" / "figure").mkdir(parents=True)
    figure = dropin(
        helper, "50-app-figure.omero", "config append --set omero.web.apps '\"omero_figure\"'\n"
    )
    iviewer = dropin(
        helper,
        "50-app-iviewer.omero",
        "config append --set omero.web.apps '\"omero_iviewer\"'\n"
        "config set omero.web.viewer.view omero_iviewer.views.index\n",
    )
    assert helper.main(["apply-config"]) == 0
    assert omero_cli.invoked == [
        ["config", "set", "omero.web.apps"],
        ["config", "set", "omero.web.viewer.view"],
        ["load", str(figure)],
    ]
    err = capsys.readouterr().err
    assert f"omero-web: left out {iviewer}: its app is no longer installed" in err
    assert len(err.splitlines()) == 1
    # Nothing changed since: nothing loaded again, nothing said.
    assert helper.main(["apply-config"]) == 0
    assert len(omero_cli.invoked) == 3
    assert capsys.readouterr().err == ""


def test_the_admin_s_own_drop_in_named_like_an_app_s_is_only_skipped_for_an_app_gone(
    helper: ModuleType, omero_cli: FakeOmeroCLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(helper, "APPS_DIR", tmp_path / "apps")
    local = dropin(helper, "50-local.omero", "config set omero.web.wsgi_timeout 99\n")
    assert helper.main(["apply-config"]) == 0
    assert omero_cli.invoked == [["load", str(local)]]


def test_a_load_makes_gunicorns_command_for_the_start_that_follows(
    helper: ModuleType, omero_cli: FakeOmeroCLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    command = {"argv": ["/venv/bin/gunicorn", "app"], "script_name": "", "static_root": "/s"}
    monkeypatch.setattr(helper, "gunicorn_command", lambda _: dict(command))
    monkeypatch.setattr(helper.sys, "path", list(helper.sys.path))
    monkeypatch.setenv("PYTHONPATH", "")
    dropin(helper, "10-debconf.omero", "config set omero.web.prefix /omero\n")
    assert helper.main(["apply-config"]) == 0
    assert helper.cached_gunicorn_command(tmp_path / "omerodir") == command


def test_settings_that_cannot_be_imported_leave_the_start_to_say_so(
    helper: ModuleType, omero_cli: FakeOmeroCLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(omerodir: Path) -> None:
        raise ImportError("No module named 'an_app'")

    monkeypatch.setattr(helper, "gunicorn_command", broken)
    monkeypatch.setattr(helper.sys, "path", list(helper.sys.path))
    monkeypatch.setenv("PYTHONPATH", "")
    debconf = dropin(helper, "10-debconf.omero", "config set omero.web.prefix /omero\n")
    # The load stands, and apply-config succeeds: postinst must not roll the
    # settings back for what only the start can explain.
    assert helper.main(["apply-config"]) == 0
    assert omero_cli.invoked == [["load", str(debconf)]]
    assert helper.cached_gunicorn_command(tmp_path / "omerodir") is None
