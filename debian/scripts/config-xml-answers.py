"""config.xml's settings as debconf answers: NAME=VALUE lines, for the
settings debconf can express.

    python3 -I - CONFIG_XML <config-xml-answers.py

The config script runs this, as the service user, to start from what the
admin set with `omero config set` when there is no debconf drop-in yet.  It
runs before the package is unpacked (apt's preconfigure), so
builder/debian_tree.py pastes this file into the script's here-document
rather than installing it.  Standard library only: it runs on the venv's
Python, as old as 3.10.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator

# config.xml key -> answer, for the values taken as they are.
WSGI_KEYS = {
    "omero.web.wsgi_workers": "workers",
    "omero.web.wsgi_worker_class": "worker_class",
    "omero.web.wsgi_threads": "threads",
    "omero.web.wsgi_worker_connections": "worker_connections",
}
REDIS_BACKEND = "django_redis.cache.RedisCache"


def active_settings(path: str) -> dict[str, str]:
    """The settings of config.xml's active profile (`omero config`'s
    layout: a properties element per profile, __ACTIVE__ naming it)."""
    profiles: dict[str, dict[str, str]] = {}
    for properties in ET.parse(path).iter("properties"):
        values = profiles.setdefault(properties.get("id", ""), {})
        for item in properties.iter("property"):
            values[item.get("name", "")] = item.get("value", "")
    active = profiles.get("__ACTIVE__", {}).get("omero.config.profile", "default")
    return profiles.get(active, {})


def bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def server_list(value: str) -> str | None:
    """omero.web.server_list's JSON, a list of [host, port, name] lists, as the answer
    writes it: HOST:PORT:NAME, comma-separated, IPv6 hosts in brackets."""
    try:
        servers = json.loads(value)
        if not servers:
            return None
        return ", ".join(f"{bracketed(host)}:{port}:{name}" for host, port, name in servers)
    except (ValueError, TypeError):
        return None


def redis_url(session_engine: str, caches: str) -> str | None:
    """The Redis URL of a cache session store on django-redis."""
    if not session_engine.endswith(".cache"):
        return None
    try:
        cache = json.loads(caches)["default"]
        return str(cache["LOCATION"]) if cache["BACKEND"] == REDIS_BACKEND else None
    except (ValueError, KeyError, TypeError):
        return None


def cors_origins(allow_all: str, whitelist: str) -> str | None:
    if allow_all.lower() == "true":
        return "*"
    try:
        return ", ".join(json.loads(whitelist))
    except (ValueError, TypeError):
        return None


def answers(settings: dict[str, str]) -> Iterator[tuple[str, str]]:
    servers = server_list(settings.get("omero.web.server_list", "null"))
    if servers is not None:
        yield "server_list", servers
    if "omero.web.prefix" in settings:
        yield "prefix", settings["omero.web.prefix"].rstrip("/")
    for key, name in WSGI_KEYS.items():
        if key in settings:
            yield name, settings[key]
    engine = settings.get("omero.web.session_engine", "")
    redis = redis_url(engine, settings.get("omero.web.caches", "{}"))
    if engine.endswith(".file"):
        yield "session_store", "files"
    elif redis is not None:
        yield "session_store", "redis"
        yield "redis_url", redis
    origins = cors_origins(
        settings.get("omero.web.cors_origin_allow_all", ""),
        settings.get("omero.web.cors_origin_whitelist", "[]"),
    )
    if origins is not None:
        yield "cors_origins", origins


def main(argv: list[str]) -> None:
    for name, value in answers(active_settings(argv[0])):
        print(f"{name}={value}")


if __name__ == "__main__":
    main(sys.argv[1:])
