"""debian/ assembled, built with debhelper, checked with lintian, copied out.

debian/ holds the static files (rules, maintainer scripts, service files);
templates/debian/*.j2 are the few that depend on the build (control,
changelog), rendered with StrictUndefined so a missing value is an error.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.config import BuildConfig
from builder.container import Container
from builder.debian_tree import DebianFile, render_debian_tree
from builder.lintian_overrides import OVERRIDES, for_lintian
from builder.paths import BUILD_ROOT, PACKAGE_NAME, source_dir


@dataclass(frozen=True)
class Artifacts:
    deb: Path
    others: tuple[Path, ...]
    lintian_report: Path


def deb_filename(config: BuildConfig) -> str:
    return f"{PACKAGE_NAME}_{config.package_version}_amd64.deb"


def assemble_source(container: Container, config: BuildConfig, requirements: str) -> PurePosixPath:
    source = source_dir(config.package_version)
    container.call(["rm", "-rf", str(source)])
    tree = render_debian_tree(config)
    lintian = container.call(["dpkg-query", "-W", "-f=${Version}", "lintian"]).strip()
    overrides = tree[PurePosixPath(OVERRIDES)]
    tree[PurePosixPath(OVERRIDES)] = DebianFile(
        for_lintian(overrides.text, lintian), overrides.mode
    )
    files = {PurePosixPath("debian") / name: (f.text.encode(), f.mode) for name, f in tree.items()}
    files[PurePosixPath("requirements.txt")] = (requirements.encode(), 0o644)
    container.write_tree(source, files)
    return source


def build_deb(container: Container, config: BuildConfig, source: PurePosixPath) -> None:
    container.call(
        ["dpkg-buildpackage", "-b", "-us", "-uc", f"-j{config.jobs}"],
        workdir=source,
        env={"DEB_BUILD_OPTIONS": f"parallel={config.jobs}"},
    )


def run_lintian(container: Container, config: BuildConfig) -> str:
    """Write lintian's findings beside the .changes and return a one-line
    summary.  It never fails the build by itself: the tests hold the
    package to no errors."""
    changes = BUILD_ROOT / f"{PACKAGE_NAME}_{config.package_version}_amd64.changes"
    report = BUILD_ROOT / f"{PACKAGE_NAME}_{config.package_version}_amd64.lintian.txt"
    if not config.lintian:
        container.write_file(report, b"lintian was skipped for this build (--no-lintian)\n")
        return "skipped (--no-lintian)"
    # The first line names the lintian that checked: a report with no
    # findings is then still evidence that it ran.
    container.sh(
        f'{{ echo "# $(lintian --version) on {changes.name}"; '
        f"lintian --display-info --pedantic --fail-on none --tag-display-limit 0 {changes}; "
        f"}} > {report} 2>&1"
    )
    return summarise_lintian(container.call(["cat", str(report)]))


def summarise_lintian(report: str) -> str:
    counts = {kind: 0 for kind in "EWIP"}
    for line in report.splitlines():
        if len(line) > 2 and line[1] == ":" and line[0] in counts:
            counts[line[0]] += 1
    return (
        f"{counts['E']} errors, {counts['W']} warnings, {counts['I']} info, "
        f"{counts['P']} pedantic (after overrides)"
    )


def collect_artifacts(container: Container, config: BuildConfig, output_dir: Path) -> Artifacts:
    """Copy the results out; the output folder gets whole files or none."""
    stem = f"{PACKAGE_NAME}_{config.package_version}_amd64"
    names = [f"{stem}.deb", f"{stem}.buildinfo", f"{stem}.changes", f"{stem}.lintian.txt"]
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=output_dir, prefix=f".partial-{uuid.uuid4().hex[:6]}-"
    ) as partial:
        for name in names:
            container.copy_out(BUILD_ROOT / name, Path(partial))
        for name in names:
            shutil.move(Path(partial) / name, output_dir / name)
    paths = [output_dir / name for name in names]
    return Artifacts(deb=paths[0], others=tuple(paths[1:3]), lintian_report=paths[3])
