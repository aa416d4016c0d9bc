"""`NAME[==VERSION]` as typed, checked against the known apps and the index
before any container starts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from builder.apps.known import KnownApp, known_app
from builder.errors import UsageError
from builder.pypi import available_versions, version_key

_FINAL_RELEASE = re.compile(r"[0-9]+(\.[0-9]+)*")
_PRE_RELEASE = re.compile(r"(?P<base>[0-9]+(?:\.[0-9]+)*)\.?(?P<tag>a|b|rc|dev)(?P<n>[0-9]*)")


@dataclass(frozen=True)
class AppRequest:
    app: KnownApp
    version: str  # on the index

    @property
    def requirement(self) -> str:
        return f"{self.app.name}=={self.version}"

    @property
    def debian_version(self) -> str:
        """The upstream part of the package's version: a pre-release sorts
        before its release (8.0.1rc2 -> 8.0.1~rc2)."""
        return debian_upstream_version(self.version)


def debian_upstream_version(version: str) -> str:
    found = _PRE_RELEASE.fullmatch(version)
    if found is None:
        return version
    return f"{found['base']}~{found['tag']}{found['n']}"


def parse_app_argument(argument: str) -> tuple[KnownApp, str | None]:
    """omero-figure or omero-figure==8.0.1."""
    name, separator, version = argument.partition("==")
    if separator and not re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version):
        raise UsageError(
            f"{argument!r}: write an app as NAME or NAME==VERSION (omero-figure==8.0.1)"
        )
    if not separator and any(c in argument for c in "<>=~! "):
        raise UsageError(
            f"{argument!r}: only an exact version can be asked for: NAME or NAME==VERSION"
        )
    return known_app(name), version or None


def newest_release(versions: set[str]) -> str | None:
    finals = [v for v in versions if _FINAL_RELEASE.fullmatch(v)]
    return max(finals, key=version_key) if finals else None


def resolve_app(argument: str, index_url: str) -> AppRequest:
    """The app and the version to build: the one asked for, which the index
    must have, else its newest final release."""
    app, version = parse_app_argument(argument)
    versions = available_versions(index_url, app.name)
    if not versions:
        raise UsageError(f"{app.name} is not on the package index {index_url}")
    if version is None:
        newest = newest_release(versions)
        if newest is None:
            raise UsageError(
                f"{app.name} has no final release on {index_url}; ask for one of "
                f"{', '.join(sorted(versions, key=version_key)[-5:])} with {app.name}==VERSION"
            )
        return AppRequest(app, newest)
    if version not in versions:
        listed = ", ".join(sorted(versions, key=version_key)[-5:])
        raise UsageError(
            f"{app.name} {version} is not on the package index {index_url} "
            f"(the newest are: {listed}); pick one of them"
        )
    return AppRequest(app, version)


def resolve_apps(arguments: tuple[str, ...], index_url: str) -> tuple[AppRequest, ...]:
    """The apps asked for, each with its version."""
    if not arguments:
        raise UsageError("name at least one app: omero-web-deb app omero-figure --target ...")
    requests = [resolve_app(argument, index_url) for argument in arguments]
    names = [request.app.name for request in requests]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UsageError(f"{', '.join(twice)} asked for more than once: one version per build")
    return tuple(requests)
