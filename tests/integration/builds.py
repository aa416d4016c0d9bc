"""The packages the integration tests install, built once per session.

Per target there are three: the tree under test (revision 2, lintian
included), the OMERO.web apps built against it (every app the toolkit
knows, in one `omero-web-deb app` call), and the previous release (see
previous_release.py), which needs the first one's IcePy wheel.  One
target, REBUILT_TARGET, gets a fourth: the tree under test built again as
another machine would build it (test_reproducible.py), last in its lane.
Under pytest-xdist
the controller starts them all at once in two lanes of builds (two cores:
one compile per core), in the order the workers take the targets, so a
target's packages are usually done, or nearly, when its worker reaches it,
and the cores build while the workers' tests wait on apt and dpkg.  Each
finished build leaves a result file; a worker's fixture waits for it.
Without xdist, the fixture builds.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from builder.apps.known import KNOWN_APPS
from builder.container import docker_client
from builder.targets import Target

from .harness import build_app_debs, build_deb
from .previous_release import CURRENT_REVISION, build_previous_release

# In a lane's order: the apps need the current build's .deb.
KINDS = ("current", "apps", "previous")
APPS = tuple(KNOWN_APPS)


# The tree under test, the same revision as "current", built again as on
# another machine: by a second installation of the toolkit (harness.build_deb
# makes one per build folder), in another folder, from an empty cache of its
# own, so IcePy is compiled and every wheel downloaded anew.  The Docker
# images are reused: they are inputs, named by id in the .build-inputs that
# the .buildinfo lists, not caches of outputs.
AGAIN = "again"
# The one target built again.  Its rebuild is the last build of its lane:
# it compiles IcePy (ten minutes on two cores), and before the packages of
# the lane's next target it held back that target's tests, the last the
# workers take, by as much (a cold CI run here: 600 s).  Its tests are a
# group of their own, taken after every target's (conftest.py), so that no
# worker sits waiting for it while a target's tests could run.
REBUILT_TARGET = "debian-12"
PREBUILD_DIR = "OMERO_WEB_DEB_PREBUILD_DIR"  # set by the controller for its workers
WAIT_LIMIT_S = 60 * 60  # the whole suite's budget


def output_dir(root: Path, target: Target, kind: str) -> Path:
    # The rebuild's folder holds its own toolkit installation and cache too.
    folder = root / AGAIN if kind == AGAIN else root
    return folder / f"{target.name}-{kind}"


def again_cache_dir(again_output: Path) -> Path:
    """The rebuild's own cache, beside its output folder."""
    return again_output.parent / "cache"


def result_file(root: Path, target: Target, kind: str) -> Path:
    return root / f"{target.name}-{kind}.result.json"


def build(root: Path, target: Target, kind: str, against: Path | None = None) -> Path:
    """Build one kind here and now; its .deb (the apps: their folder, built
    AGAINST an omero-web .deb, by default the current build's)."""
    output = output_dir(root, target, kind)
    if kind == "current":
        return build_deb(target, output, "--revision", str(CURRENT_REVISION))
    if kind == "apps":
        if against is None:
            current = sorted(output_dir(root, target, "current").glob("omero-web_*.deb"))
            assert current, f"the apps of {target.name} need its current build first"
            against = current[-1]
        return build_app_debs(target, output, against, APPS)
    if kind == AGAIN:
        return build_deb(
            target,
            output,
            "--revision",
            str(CURRENT_REVISION),
            "--cache-dir",
            str(again_cache_dir(output)),
            # The bytes are the test; lintian read the same bytes in "current".
            "--no-lintian",
        )
    with closing(docker_client()) as client:
        return build_previous_release(client, target, output, root / "trees")


def build_and_record(root: Path, target: Target, kind: str) -> None:
    """build(), leaving the outcome in the result file for the workers."""
    start = time.monotonic()
    try:
        outcome = {"path": str(build(root, target, kind))}
    except Exception as e:  # an assertion or a crash: the worker reports it
        outcome = {"error": f"{type(e).__name__}: {e}"[-6000:]}
    outcome["seconds"] = str(round(time.monotonic() - start, 1))
    partial = result_file(root, target, kind).with_suffix(".partial")
    partial.write_text(json.dumps(outcome))
    partial.rename(result_file(root, target, kind))


def wait_for_result(root: Path, target: Target, kind: str) -> tuple[Path, float]:
    """What the controller built (build()'s path), and how long it took."""
    path = result_file(root, target, kind)
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not path.exists():
        assert time.monotonic() < deadline, f"no {kind} build of {target.name} after waiting"
        time.sleep(2)
    outcome = json.loads(path.read_text())
    assert "path" in outcome, f"the {kind} build of {target.name} failed:\n{outcome['error']}"
    return Path(outcome["path"]), float(outcome["seconds"])


def lane_plan(targets: Sequence[Target], lanes: int = 2) -> list[list[tuple[Target, str]]]:
    """Each lane's builds in order: its share of the targets, each's KINDS,
    and for the lane of REBUILT_TARGET, its rebuild after all of them."""
    plan = []
    for lane in range(lanes):
        share = targets[lane::lanes]
        builds = [(target, kind) for target in share for kind in KINDS]
        builds += [(target, AGAIN) for target in share if target.name == REBUILT_TARGET]
        plan.append(builds)
    return plan


class BuildLanes:
    """Two threads, each building its share of the targets in turn."""

    def __init__(self, root: Path, targets: Sequence[Target], lanes: int = 2) -> None:
        self.root = root
        self.threads = [
            threading.Thread(target=self._run, args=(builds,), daemon=True, name=f"lane{i}")
            for i, builds in enumerate(lane_plan(targets, lanes))
        ]

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for thread in self.threads:
            thread.start()

    def _run(self, builds: list[tuple[Target, str]]) -> None:
        for target, kind in builds:
            build_and_record(self.root, target, kind)


# The order pytest-xdist's workers take the targets in: the groups with the
# most tests first, the rest in collection order, so debian-12's (its
# one-target tests) and ubuntu-22.04's at once, one each, then
# ubuntu-24.04's and debian-13's, then the rebuild's (conftest.py).  Lane 0
# builds debian-12, then ubuntu-24.04, then debian-12's rebuild; lane 1
# ubuntu-22.04, then debian-13.  A wrong order costs time, not correctness:
# a worker waits for whichever lane has its target.
FIRST = "debian-12"


def chosen_targets(all_targets: Sequence[Target]) -> list[Target]:
    chosen = os.environ.get("OMERO_WEB_DEB_TARGETS")
    targets = [t for t in all_targets if not chosen or t.name in chosen.split(",")]
    return sorted(targets, key=lambda t: t.name != FIRST)
