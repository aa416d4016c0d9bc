"""Questions for the package index, asked from the host before a build starts."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from builder.errors import NetworkError, UsageError


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def available_versions(index_url: str, project: str, timeout: float = 30) -> set[str]:
    """Versions with files on a PEP 503 simple index."""
    url = f"{index_url.rstrip('/')}/{_normalise(project)}/"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            page = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return set()
        raise NetworkError(f"the package index answered {e.code} for {url}") from e
    except (urllib.error.URLError, OSError) as e:
        raise NetworkError(
            f"cannot reach the package index {index_url}: {getattr(e, 'reason', e)}; "
            "check the network, the proxy variables and PIP_INDEX_URL"
        ) from e
    name_pattern = "[-_.]".join(re.escape(part) for part in _normalise(project).split("-"))
    file_re = re.compile(
        rf"(?i)^{name_pattern}-(?P<version>[^-]+?)(-.*)?\.(whl|tar\.gz|zip|tar\.bz2)$"
    )
    versions = set()
    for filename in re.findall(r">([^<]+)</a>", page):
        match = file_re.match(filename.strip())
        if match:
            versions.add(match.group("version"))
    return versions


def check_release_exists(index_url: str, project: str, version: str) -> None:
    versions = available_versions(index_url, project)
    if version not in versions:
        newest = sorted(versions, key=_version_key)[-5:]
        hint = f" (the newest are: {', '.join(newest)})" if newest else ""
        raise UsageError(
            f"{project} {version} is not on the package index {index_url}{hint}; "
            "pick an existing release with --omero-web-version"
        )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))
