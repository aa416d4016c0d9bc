"""The packages the integration tests install, built once per session.

Per target there are two: the tree under test (revision 2, lintian
included) and the previous release (see previous_release.py), which needs
the first one's IcePy wheel.  Under pytest-xdist the controller starts them
all at once in two lanes of builds (two cores: one compile per core), in the
order the workers take the targets, so a target's packages are usually done,
or nearly, when its worker reaches it, and the cores build while the
workers' tests wait on apt and dpkg.  Each finished build leaves a result
file; a worker's fixture waits for it.  Without xdist, the fixture builds.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from builder.container import docker_client
from builder.targets import Target

from .harness import build_deb
from .previous_release import CURRENT_REVISION, build_previous_release

KINDS = ("current", "previous")
PREBUILD_DIR = "OMERO_WEB_DEB_PREBUILD_DIR"  # set by the controller for its workers
WAIT_LIMIT_S = 60 * 60  # the whole suite's budget


def output_dir(root: Path, target: Target, kind: str) -> Path:
    return root / f"{target.name}-{kind}"


def result_file(root: Path, target: Target, kind: str) -> Path:
    return root / f"{target.name}-{kind}.result.json"


def build(root: Path, target: Target, kind: str) -> Path:
    """Build one package here and now; its .deb."""
    if kind == "current":
        return build_deb(
            target, output_dir(root, target, kind), "--revision", str(CURRENT_REVISION)
        )
    with closing(docker_client()) as client:
        return build_previous_release(
            client, target, output_dir(root, target, kind), root / "trees"
        )


def build_and_record(root: Path, target: Target, kind: str) -> None:
    """build(), leaving the outcome in the result file for the workers."""
    start = time.monotonic()
    try:
        outcome = {"deb": str(build(root, target, kind))}
    except Exception as e:  # an assertion or a crash: the worker reports it
        outcome = {"error": f"{type(e).__name__}: {e}"[-6000:]}
    outcome["seconds"] = str(round(time.monotonic() - start, 1))
    partial = result_file(root, target, kind).with_suffix(".partial")
    partial.write_text(json.dumps(outcome))
    partial.rename(result_file(root, target, kind))


def wait_for_result(root: Path, target: Target, kind: str) -> tuple[Path, float]:
    """The .deb the controller built, and how long its build took."""
    path = result_file(root, target, kind)
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not path.exists():
        assert time.monotonic() < deadline, f"no {kind} build of {target.name} after waiting"
        time.sleep(2)
    outcome = json.loads(path.read_text())
    assert "deb" in outcome, f"the {kind} build of {target.name} failed:\n{outcome['error']}"
    return Path(outcome["deb"]), float(outcome["seconds"])


class BuildLanes:
    """Two threads, each building its share of the targets in turn."""

    def __init__(self, root: Path, targets: Sequence[Target], lanes: int = 2) -> None:
        self.root = root
        self.threads = [
            threading.Thread(
                target=self._run, args=(list(targets[i::lanes]),), daemon=True, name=f"lane{i}"
            )
            for i in range(lanes)
        ]

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for thread in self.threads:
            thread.start()

    def _run(self, targets: list[Target]) -> None:
        for target in targets:
            for kind in KINDS:
                build_and_record(self.root, target, kind)


# The order pytest-xdist's workers take the targets in: debian-12's group
# comes first (its one-target tests are collected first), then the rest in
# the target table's order.  Lane 0 builds debian-12, then ubuntu-24.04;
# lane 1 ubuntu-22.04, then debian-13.  A wrong order costs time, not
# correctness: a worker waits for whichever lane has its target.
FIRST = "debian-12"


def chosen_targets(all_targets: Sequence[Target]) -> list[Target]:
    chosen = os.environ.get("OMERO_WEB_DEB_TARGETS")
    targets = [t for t in all_targets if not chosen or t.name in chosen.split(",")]
    return sorted(targets, key=lambda t: t.name != FIRST)
