"""config.xml's settings as debconf answers (debian/scripts/config-xml-answers.py),
and the config script that carries it and runs it as the service user."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from xml.sax.saxutils import quoteattr

import pytest

from tests.unit.rendered_scripts import DEBIAN, load_rendered_script, rendered_text

SCRIPT = DEBIAN / "scripts" / "config-xml-answers.py"


@pytest.fixture
def reader(tmp_path: Path) -> ModuleType:
    return load_rendered_script("config-xml-answers.py", tmp_path)


def config_xml(
    directory: Path, settings: dict[str, str], *, profile: str = "default", **others: dict[str, str]
) -> Path:
    """A config.xml as `omero config set` writes it, PROFILE active."""

    def properties(name: str, values: dict[str, str]) -> str:
        items = "".join(
            f"    <property name={quoteattr(k)} value={quoteattr(v)} />\n"
            for k, v in values.items()
        )
        return f'  <properties id="{name}">\n{items}  </properties>\n'

    active = {"omero.config.profile": profile, "omero.config.version": "5.1.0"}
    profiles = {"__ACTIVE__": active, profile: settings, **others}
    path = directory / "config.xml"
    path.write_text(
        "<?xml version='1.0' encoding='utf-8'?>\n<icegrid>\n"
        + "".join(properties(name, values) for name, values in profiles.items())
        + "</icegrid>\n"
    )
    return path


def answers(reader: ModuleType, tmp_path: Path, settings: dict[str, str]) -> dict[str, str]:
    return dict(reader.answers(reader.active_settings(str(config_xml(tmp_path, settings)))))


SERVERS = [["localhost", 4064, "omero"], ["2001:db8::1", 14064, "OMERO Production"]]
REDIS = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://r.example.org:6379/1"}
CACHE_ENGINE = "django.contrib.sessions.backends.cache"
# Any config.xml answers cors_origins: "" when it names no origin.
NO_CORS = {"cors_origins": ""}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"omero.web.server_list": json.dumps(SERVERS)},
            {
                **NO_CORS,
                "server_list": "localhost:4064:omero, [2001:db8::1]:14064:OMERO Production",
            },
        ),
        ({"omero.web.server_list": "[]"}, NO_CORS),
        ({"omero.web.server_list": "not json"}, NO_CORS),
        ({"omero.web.server_list": '[["localhost", 4064]]'}, NO_CORS),
        ({"omero.web.prefix": "/omero/"}, {**NO_CORS, "prefix": "/omero"}),
        ({"omero.web.prefix": "/"}, {**NO_CORS, "prefix": ""}),
        (
            {
                "omero.web.wsgi_workers": "5",
                "omero.web.wsgi_worker_class": "gevent",
                "omero.web.wsgi_threads": "2",
                "omero.web.wsgi_worker_connections": "500",
            },
            {
                **NO_CORS,
                "workers": "5",
                "worker_class": "gevent",
                "threads": "2",
                "worker_connections": "500",
            },
        ),
        (
            {"omero.web.session_engine": "django.contrib.sessions.backends.file"},
            {**NO_CORS, "session_store": "files"},
        ),
        (
            {
                "omero.web.session_engine": CACHE_ENGINE,
                "omero.web.caches": json.dumps({"default": REDIS}),
            },
            {**NO_CORS, "session_store": "redis", "redis_url": REDIS["LOCATION"]},
        ),
        (
            {
                "omero.web.session_engine": CACHE_ENGINE,
                "omero.web.caches": '{"default": {"BACKEND": "x.Memcached", "LOCATION": "h"}}',
            },
            NO_CORS,
        ),
        ({"omero.web.session_engine": CACHE_ENGINE, "omero.web.caches": "not json"}, NO_CORS),
        ({"omero.web.cors_origin_allow_all": "True"}, {"cors_origins": "*"}),
        (
            {"omero.web.cors_origin_whitelist": '["https://a.example.org", "http://b:8080"]'},
            {"cors_origins": "https://a.example.org, http://b:8080"},
        ),
        ({"omero.web.cors_origin_whitelist": "not json"}, {}),
    ],
    ids=repr,
)
def test_settings_become_answers(
    reader: ModuleType, tmp_path: Path, settings: dict[str, str], expected: dict[str, str]
) -> None:
    assert answers(reader, tmp_path, settings) == expected


def test_the_active_profile_is_read(tmp_path: Path, reader: ModuleType) -> None:
    path = config_xml(
        tmp_path,
        {"omero.web.prefix": "/lab"},
        profile="lab",
        default={"omero.web.prefix": "/default"},
    )
    assert reader.active_settings(str(path))["omero.web.prefix"] == "/lab"


def test_the_config_script_carries_the_reader_and_runs_it_as_the_service_user(
    tmp_path: Path,
) -> None:
    config = rendered_text("omero-web.config")
    heredoc = re.search(
        r'^    \(cd / && runuser -u "\$SERVICE_USER" -- "\$VENV_PYTHON" -I - "\$CONFIG_XML"\)'
        r" <<'PYTHON'\n(.*?)^PYTHON\n",
        config,
        re.M | re.S,
    )
    assert heredoc, "config_xml_answers runs the reader as the service user"
    assert heredoc.group(1) == SCRIPT.read_text()
    assert "\nSERVICE_USER=omero-web\n" in config
    assert 'getent passwd "$SERVICE_USER" >/dev/null' in config

    # Run as the config script runs it: the program on standard input.
    path = config_xml(tmp_path, {"omero.web.prefix": "/omero", "omero.web.wsgi_workers": "3"})
    result = subprocess.run(
        [sys.executable, "-I", "-", str(path)],
        input=heredoc.group(1),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == ["prefix=/omero", "workers=3", "cors_origins="]
