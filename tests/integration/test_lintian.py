"""lintian's report of each build, as `make deb` leaves it in the output
folder: no errors and no warnings.  What the package cannot change is
overridden in debian/omero-web.lintian-overrides, each with its reason."""

from __future__ import annotations

from pathlib import Path

from builder.targets import Target

from .conftest import record


def test_lintian_reports_no_errors_or_warnings(target: Target, deb: Path) -> None:
    report = deb.with_name(deb.name.removesuffix(".deb") + ".lintian.txt").read_text()
    lines = report.splitlines()
    assert lines and lines[0].startswith("# Lintian v"), f"lintian did not run: {report[:500]}"
    findings = [line for line in lines if line[:2] in ("E:", "W:")]
    record(target, lintian_errors_and_warnings=len(findings))
    assert findings == [], "\n".join(findings)
