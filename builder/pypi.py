"""Questions for the package index, asked from the host before a build starts."""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.parse
import urllib.request

from builder.errors import NetworkError, UsageError
from builder.requirement_lock import IndexFile


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_page(
    index_url: str, project: str, timeout: float, accept: str = "text/html"
) -> tuple[str, str] | None:
    """The index's page for `project`: its content type and text; None
    when the index has no such project (404)."""
    url = f"{index_url.rstrip('/')}/{_normalise(project)}/"
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            kind = response.headers.get_content_type()
            return kind, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise NetworkError(f"the package index answered {e.code} for {url}") from e
    except (urllib.error.URLError, OSError) as e:
        raise NetworkError(
            f"cannot reach the package index {index_url}: {getattr(e, 'reason', e)}; "
            "check the network, the proxy variables and PIP_INDEX_URL"
        ) from e


def available_versions(index_url: str, project: str, timeout: float = 30) -> set[str]:
    """Versions with files on a PEP 503 simple index."""
    found = project_page(index_url, project, timeout)
    if found is None:
        return set()
    page = found[1]
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


# PEP 691's JSON form of the simple index, else its HTML form (PEP 503),
# whose links carry the hash as a #sha256= fragment.
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_HTML_LINK = re.compile(r"<a\s[^>]*href=\"([^\"]*)\"[^>]*>([^<]+)</a>", re.IGNORECASE)


def index_files(index_url: str, project: str, timeout: float = 60) -> tuple[IndexFile, ...]:
    """Every file the index lists for `project`, with the sha256 it states."""
    found = project_page(index_url, project, timeout, f"{_SIMPLE_JSON}, text/html;q=0.1")
    if found is None:
        raise NetworkError(f"the package index {index_url} has no project {project}")
    kind, body = found
    if kind == _SIMPLE_JSON:
        return tuple(
            IndexFile(f["filename"], f["hashes"]["sha256"])
            for f in json.loads(body)["files"]
            if "sha256" in f.get("hashes", {})
        )
    files = []
    for href, text in _HTML_LINK.findall(body):
        fragment = urllib.parse.urlparse(html.unescape(href)).fragment
        if fragment.startswith("sha256="):
            files.append(IndexFile(html.unescape(text).strip(), fragment[len("sha256=") :]))
    return tuple(files)


def check_release_exists(index_url: str, project: str, version: str) -> None:
    versions = available_versions(index_url, project)
    if version not in versions:
        newest = sorted(versions, key=version_key)[-5:]
        hint = f" (the newest are: {', '.join(newest)})" if newest else ""
        raise UsageError(
            f"{project} {version} is not on the package index {index_url}{hint}; "
            "pick an existing release with --omero-web-version"
        )


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))
