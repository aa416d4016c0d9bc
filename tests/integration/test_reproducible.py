"""Reproducible across machines: the tree under test, built a second time as
another machine would build it (builds.py's AGAIN: another installation of
the toolkit, other folders, an empty cache, so IcePy is compiled and every
wheel downloaded anew), gives the same IcePy wheel and the same .deb, byte
for byte.  On a mismatch, diffoscope's report says what differs.

On one target, builds.py's REBUILT_TARGET: the second build costs a cold
IcePy compile, and its steps are the same on every target.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from debian.deb822 import Deb822

from builder.icepy import cached_wheel, file_sha256
from builder.targets import Target

from .builds import REBUILT_TARGET, again_cache_dir
from .harness import CACHE_DIR

pytestmark = pytest.mark.parametrize("target", [REBUILT_TARGET], indirect=True)

# diffoscope's report goes whole into a file beside the rebuild; the log
# gets its start, and the assertion message the members that differ (a
# file list of 9,000 changed times comes first and buries them) and a
# shorter start.
LOG_CHARS = 200_000
MESSAGE_CHARS = 12_000
MEMBER_LINES = 200
DIFFOSCOPE_TIMEOUT_S = 15 * 60


def build_inputs(deb: Path) -> dict[str, str]:
    """The build's .build-inputs (builder/build_record.py), field by field."""
    stem = deb.name.removesuffix(".deb")
    return dict(Deb822(deb.with_name(f"{stem}.build-inputs").read_text()))


def cut(text: str, limit: int, unit: str = "characters") -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more {unit}]"


def diffoscope(first: Path, second: Path, report: Path) -> str:
    """What differs between two files, as diffoscope tells it, for the
    assertion message; the whole report is in REPORT."""
    if shutil.which("diffoscope") is None:
        return "diffoscope is not installed on this host (apt-get install diffoscope-minimal)"
    argv = ["diffoscope", "--no-progress", "--text", str(report), str(first), str(second)]
    print("+", " ".join(argv), flush=True)
    started = time.monotonic()
    try:
        # Exit 1: differences found; 2: diffoscope failed.
        result = subprocess.run(argv, capture_output=True, text=True, timeout=DIFFOSCOPE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"diffoscope gave no report within {DIFFOSCOPE_TIMEOUT_S} s"
    text = report.read_text(errors="replace") if report.is_file() else ""
    print(cut(text, LOG_CHARS), result.stderr, sep="\n", flush=True)
    # Its tree's lines ("│ │ ├── ./opt/...") name each member that differs.
    members = [line for line in text.splitlines() if "├── " in line]
    listed = "\n".join(members[:MEMBER_LINES])
    if len(members) > MEMBER_LINES:
        listed += f"\n[... {len(members) - MEMBER_LINES} more members]"
    return (
        f"diffoscope (exit {result.returncode}, {time.monotonic() - started:.0f} s; "
        f"the whole report: {report}); what differs:\n{listed}\n\n"
        f"{cut(text, MESSAGE_CHARS)}{result.stderr[-2000:]}"
    )


def test_both_builds_had_the_same_inputs(target: Target, deb: Path, deb_again: Path) -> None:
    """Images, lock, IcePy's patches: a difference here, not the build,
    would explain different packages.  The IcePy wheel is the next test's."""
    first, again = build_inputs(deb), build_inputs(deb_again)
    for fields in (first, again):
        del fields["IcePy-Wheel"], fields["IcePy-Wheel-Origin"]
    assert first == again


def test_the_icepy_wheel_compiles_to_the_same_bytes(
    target: Target, deb: Path, deb_again: Path
) -> None:
    first, again = build_inputs(deb), build_inputs(deb_again)
    # The rebuild's cache was empty: its wheel is a cold compile.
    assert again["IcePy-Wheel-Origin"].endswith("by this build"), again["IcePy-Wheel-Origin"]
    if first["IcePy-Wheel"] == again["IcePy-Wheel"]:
        return
    first_wheel = cached_wheel(CACHE_DIR, target)
    again_wheel = cached_wheel(again_cache_dir(deb_again.parent), target)
    report = "a wheel is no longer in its cache: no diffoscope report"
    if first_wheel and again_wheel:
        report = diffoscope(
            first_wheel, again_wheel, deb_again.parent.parent / "diffoscope-icepy.txt"
        )
    pytest.fail(
        f"two compiles of IcePy gave different wheels: {first['IcePy-Wheel']} "
        f"({first['IcePy-Wheel-Origin']}) and {again['IcePy-Wheel']} "
        f"({again['IcePy-Wheel-Origin']})\n{report}"
    )


def test_the_package_is_the_same_byte_for_byte(target: Target, deb: Path, deb_again: Path) -> None:
    first, again = file_sha256(deb), file_sha256(deb_again)
    if first == again:
        return
    report = diffoscope(deb, deb_again, deb_again.parent.parent / "diffoscope-deb.txt")
    pytest.fail(f"two builds gave different packages: {deb} {first}, {deb_again} {again}\n{report}")
