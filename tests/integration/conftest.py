"""Integration fixtures: one build per target per session, fresh hosts to
install it in.  Ubuntu targets skip, with the reason, where their base image
cannot be had (no registry, no Ubuntu mirror)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import docker
import pytest

from builder.availability import check_availability
from builder.container import docker_client
from builder.targets import TARGETS, Target

from .harness import Host, build_deb, fresh_host

MEASUREMENTS: dict[str, dict[str, float | int | str]] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)
        # Under pytest-xdist (--dist loadgroup), one worker per target: its
        # builds and images are made once, in that worker.
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "target" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(callspec.params["target"]))


@pytest.fixture(scope="session")
def client() -> Iterator[docker.DockerClient]:
    with closing(docker_client()) as c:
        yield c


@pytest.fixture(scope="session", params=list(TARGETS), ids=list(TARGETS))
def target(request: pytest.FixtureRequest, client: docker.DockerClient) -> Target:
    target = TARGETS[request.param]
    availability = check_availability(client, target)
    if not availability.available:
        pytest.skip(f"{target.name}: no base image here ({availability.how})")
    return target


@pytest.fixture(scope="session")
def build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("builds")


_BUILDS: dict[tuple[str, int], Path] = {}


def built(target: Target, build_root: Path, revision: int = 1) -> Path:
    """The .deb of `revision` for the target, built once per session.

    OMERO_WEB_DEB_PREBUILT=DIR reuses a matching .deb from DIR instead (for
    iterating on tests; CI always builds)."""
    key = (target.name, revision)
    prebuilt = os.environ.get("OMERO_WEB_DEB_PREBUILT")
    if key not in _BUILDS and prebuilt:
        matches = sorted(
            Path(prebuilt).glob(f"omero-web_*-{revision}~{target.version_suffix}_amd64.deb")
        )
        if matches:
            _BUILDS[key] = matches[-1]
    if key not in _BUILDS:
        # lintian checks revision 1; later revisions exist to upgrade to.
        extra = ("--revision", str(revision)) + (("--no-lintian",) if revision > 1 else ())
        _BUILDS[key] = build_deb(target, build_root / f"{target.name}-r{revision}", *extra)
    return _BUILDS[key]


@pytest.fixture(scope="session")
def deb(target: Target, build_root: Path) -> Path:
    return built(target, build_root)


@pytest.fixture
def host(client: docker.DockerClient, target: Target) -> Iterator[Host]:
    with fresh_host(client, target) as h:
        yield h


def record(target: Target, **values: float | int | str) -> None:
    MEASUREMENTS.setdefault(target.name, {}).update(values)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # An xdist worker hands its measurements to the controller.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["measurements"] = json.dumps(MEASUREMENTS)


def pytest_testnodedown(node, error) -> None:  # type: ignore[no-untyped-def]
    for name, values in json.loads(node.workeroutput.get("measurements", "{}")).items():
        MEASUREMENTS.setdefault(name, {}).update(values)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if MEASUREMENTS:
        terminalreporter.section("measurements")
        terminalreporter.write_line(json.dumps(MEASUREMENTS, indent=2, sort_keys=True))
