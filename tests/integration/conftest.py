"""Integration fixtures: per target, one build of the tree under test and
one of the previous release per session, and fresh hosts to install them in.

Every target runs: a base image that cannot be had is a failure, not a skip.
OMERO_WEB_DEB_TARGETS=debian-12,ubuntu-22.04 narrows a run while iterating."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import docker
import pytest

from builder.container import docker_client
from builder.targets import TARGETS, Target

from .builds import AGAIN, PREBUILD_DIR, BuildLanes, build, chosen_targets, wait_for_result
from .harness import Host, fresh_host
from .previous_release import CURRENT_REVISION
from .previous_release import REVISION as PREVIOUS_REVISION

MEASUREMENTS: dict[str, dict[str, float | int | str]] = {}


# The tests of the rebuild (builds.py's AGAIN), the last build of its lane:
# under pytest-xdist a group of their own, of three tests, which the workers
# take after every target's (loadgroup hands out the groups with the most
# tests first; with --no-loadscope-reorder, in collection order, where the
# sort below puts it last), so that no worker sits waiting for the rebuild
# while a target's tests could run.
REBUILD_GROUP = "rebuild"


def needs_rebuild(item: pytest.Item) -> bool:
    return "deb_again" in getattr(item, "fixturenames", ())


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    # Before every other implementation (pytest-xdist's reads the groups).
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)
        # Under pytest-xdist (--dist loadgroup), one worker per target: its
        # builds and images are made once, in that worker.
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "target" in callspec.params:
            group = REBUILD_GROUP if needs_rebuild(item) else callspec.params["target"]
            item.add_marker(pytest.mark.xdist_group(group))
    yield
    # After pytest's own, which puts each target's tests together.
    items.sort(key=needs_rebuild)


@pytest.fixture(scope="session")
def client() -> Iterator[docker.DockerClient]:
    with closing(docker_client()) as c:
        yield c


@pytest.fixture(scope="session", params=list(TARGETS), ids=list(TARGETS))
def target(request: pytest.FixtureRequest) -> Target:
    target = TARGETS[request.param]
    chosen = os.environ.get("OMERO_WEB_DEB_TARGETS")
    if chosen and target.name not in chosen.split(","):
        pytest.skip(f"{target.name} is not in OMERO_WEB_DEB_TARGETS={chosen}")
    return target


@pytest.fixture(scope="session")
def build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("builds")


def pytest_configure(config: pytest.Config) -> None:
    """An xdist controller builds every chosen target's packages ahead, in
    lanes (builds.py); its workers, started after this, inherit the folder."""
    is_worker = hasattr(config, "workerinput")
    numprocesses = getattr(config.option, "numprocesses", None)
    if is_worker or not numprocesses or PREBUILD_DIR in os.environ:
        return
    if (config.option.markexpr or "").strip() != "integration":
        return
    root = Path(tempfile.mkdtemp(prefix="omero-web-deb-builds-"))
    os.environ[PREBUILD_DIR] = str(root)
    BuildLanes(root, chosen_targets(list(TARGETS.values()))).start()


_BUILDS: dict[tuple[str, str], Path] = {}


def prebuilt(target: Target, revision: int) -> Path | None:
    """OMERO_WEB_DEB_PREBUILT=DIR reuses a matching .deb from DIR (for
    iterating on tests; CI always builds)."""
    folder = os.environ.get("OMERO_WEB_DEB_PREBUILT")
    if not folder:
        return None
    matches = sorted(Path(folder).glob(f"omero-web_*-{revision}~{target.version_suffix}_amd64.deb"))
    return matches[-1] if matches else None


def package(target: Target, kind: str, build_root: Path, against: Path | None = None) -> Path:
    """The KIND of build for TARGET (builds.py), made once per session: by
    the controller's lanes under xdist, else here (the apps AGAINST the
    session's .deb)."""
    key = (target.name, kind)
    if key in _BUILDS:
        return _BUILDS[key]
    revision = PREVIOUS_REVISION if kind == "previous" else CURRENT_REVISION
    # The rebuild is compared with the first build: never a reused file;
    # the apps are a folder of packages built against this session's .deb.
    found = None if kind in (AGAIN, "apps") else prebuilt(target, revision)
    if found is None and PREBUILD_DIR in os.environ:
        found, seconds = wait_for_result(Path(os.environ[PREBUILD_DIR]), target, kind)
        record(target, **{f"build_{kind}_s": seconds})
    elif found is None:
        start = time.monotonic()
        found = build(build_root, target, kind, against)
        record(target, **{f"build_{kind}_s": round(time.monotonic() - start, 1)})
    _BUILDS[key] = found
    return found


@pytest.fixture(scope="session")
def deb(target: Target, build_root: Path) -> Path:
    """The tree under test, built once per session and target, lintian included."""
    return package(target, "current", build_root)


@pytest.fixture(scope="session")
def previous_deb(target: Target, deb: Path, build_root: Path) -> Path:
    """The previous release for the target (see previous_release.py)."""
    return package(target, "previous", build_root)


@pytest.fixture(scope="session")
def deb_again(target: Target, deb: Path, build_root: Path) -> Path:
    """The tree under test built again, as another machine would build it
    (builds.py's AGAIN): for test_reproducible.py, on REBUILT_TARGET."""
    return package(target, AGAIN, build_root)


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
