"""The integration suite's build lanes (tests/integration/builds.py): which
packages each lane builds, in which order, and where."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from builder.targets import TARGETS
from tests.integration.builds import (
    AGAIN,
    KINDS,
    REBUILT_TARGET,
    again_cache_dir,
    chosen_targets,
    lane_plan,
    output_dir,
)
from tests.integration.conftest import REBUILD_GROUP

ROOT = Path(__file__).resolve().parents[2]


def names(plan):
    return [[f"{target.name} {kind}" for target, kind in lane] for lane in plan]


def test_the_rebuild_comes_after_every_other_build_of_its_lane(monkeypatch):
    """debian-12's group is the workers' first, ubuntu-24.04's the last
    target's: lane 0 builds both before debian-12's rebuild, whose tests
    the workers take last."""
    monkeypatch.delenv("OMERO_WEB_DEB_TARGETS", raising=False)
    plan = names(lane_plan(chosen_targets(list(TARGETS.values()))))
    assert REBUILT_TARGET == "debian-12"
    assert plan == [
        [f"{t} {kind}" for t in ("debian-12", "ubuntu-24.04") for kind in KINDS]
        + [f"debian-12 {AGAIN}"],
        [f"{t} {kind}" for t in ("ubuntu-22.04", "debian-13") for kind in KINDS],
    ]


def test_one_target_builds_its_rebuild_after_its_own_packages(monkeypatch):
    monkeypatch.setenv("OMERO_WEB_DEB_TARGETS", "debian-12")
    plan = names(lane_plan(chosen_targets(list(TARGETS.values()))))
    assert plan == [[f"debian-12 {kind}" for kind in (*KINDS, AGAIN)], []]


def test_no_rebuild_when_its_target_is_not_chosen(monkeypatch):
    monkeypatch.setenv("OMERO_WEB_DEB_TARGETS", "debian-13")
    plan = names(lane_plan(chosen_targets(list(TARGETS.values()))))
    assert plan == [[f"debian-13 {kind}" for kind in KINDS], []]


def test_the_rebuild_has_folders_and_a_cache_of_its_own():
    root, target = Path("/builds"), TARGETS[REBUILT_TARGET]
    current, again = output_dir(root, target, "current"), output_dir(root, target, AGAIN)
    assert current == root / f"{REBUILT_TARGET}-current"
    assert again == root / "again" / f"{REBUILT_TARGET}-again"
    # harness.build_deb installs the toolkit once per output folder's parent.
    assert current.parent != again.parent
    assert again_cache_dir(again) == root / "again" / "cache"


# Collects the integration tests (nothing runs, nothing builds: without -n,
# conftest.py starts no build lanes) and prints each one's xdist group, in
# collection order.
COLLECT = """
import json, sys, pytest
class Groups:
    def pytest_collection_finish(self, session):
        self.groups = [
            [m.args[0] for m in item.iter_markers("xdist_group")] for item in session.items
        ]
groups = Groups()
code = pytest.main(["-q", "--collect-only", "-p", "no:cacheprovider", "-m", "integration",
                    "tests/integration"], plugins=[groups])
print(json.dumps(groups.groups))
sys.exit(code)
"""


def test_the_rebuild_tests_are_a_group_of_their_own_handed_out_after_every_targets(
    monkeypatch,
):
    """pytest-xdist's loadgroup hands out the groups with the most tests
    first (its default, --loadscope-reorder), else in collection order: by
    either, the rebuild's group comes after every target's."""
    monkeypatch.delenv("OMERO_WEB_DEB_TARGETS", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)  # no -n from there either
    result = subprocess.run(
        [sys.executable, "-c", COLLECT], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    groups = json.loads(result.stdout.splitlines()[-1])
    # Each test has one group at most: its target's, or the rebuild's.
    assert all(len(g) <= 1 for g in groups)
    order = [g[0] for g in groups if g]
    sizes = {name: order.count(name) for name in order}
    assert set(sizes) == {*TARGETS, REBUILD_GROUP}
    assert sizes[REBUILD_GROUP] == 3  # test_reproducible.py's
    assert all(sizes[REBUILD_GROUP] < sizes[target] for target in TARGETS)
    assert order[-3:] == [REBUILD_GROUP] * 3
