"""The integration suite's build lanes (tests/integration/builds.py): which
packages each lane builds, in which order, and where."""

from __future__ import annotations

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


def names(plan):
    return [[f"{target.name} {kind}" for target, kind in lane] for lane in plan]


def test_the_rebuild_follows_its_targets_own_packages(monkeypatch):
    """debian-12's group is the workers' first: its packages, then its
    rebuild, then ubuntu-24.04's (the last group) in lane 0."""
    monkeypatch.delenv("OMERO_WEB_DEB_TARGETS", raising=False)
    plan = names(lane_plan(chosen_targets(list(TARGETS.values()))))
    assert REBUILT_TARGET == "debian-12"
    assert plan == [
        [f"debian-12 {kind}" for kind in KINDS]
        + [f"debian-12 {AGAIN}"]
        + [f"ubuntu-24.04 {kind}" for kind in KINDS],
        [f"{t} {kind}" for t in ("ubuntu-22.04", "debian-13") for kind in KINDS],
    ]


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
