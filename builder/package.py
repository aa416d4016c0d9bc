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

from builder.context import BuildContext
from builder.debian_tree import DebianFile, render_debian_tree
from builder.lintian_overrides import OVERRIDES, for_lintian, widened_to
from builder.paths import OMERO_WEB_ROOT

# What a build leaves in the output folder, after the artifact stem: what
# dpkg-buildpackage writes, and lintian's report.
ARTIFACT_SUFFIXES = (
    ".deb",
    ".buildinfo",
    ".changes",
    # What the build was made from (builder/build_record.py), and the lock
    # the venv was installed from: the committed one, or one resolved now.
    ".build-inputs",
    ".lock.txt",
    ".lintian.txt",
)
# lintian checks left out: on these packages every hint they can give is
# overridden.  Their JavaScript and their ELF objects are upstream's (the
# wheels in the venv and the apps' folders, the static files collected from
# them), all under /opt, where `embedded-javascript-library` and
# `spelling-error-in-binary` are overridden (debian/omero-web.lintian-overrides,
# templates/app/lintian-overrides.j2).  The two took 15 s of lintian's 53 on
# omero-web (debian-12), over a quarter, to report only what is overridden.
# A plain `lintian` on the .deb runs them, and the overrides answer them.
SKIPPED_LINTIAN_CHECKS = {
    "languages/javascript/embedded": "embedded-javascript-library",
    "binaries/spelling": "spelling-error-in-binary",
}


@dataclass(frozen=True)
class Artifacts:
    deb: Path
    others: tuple[Path, ...]
    lintian_report: Path


def assemble_source(context: BuildContext, requirements: str) -> None:
    """debian/ and the venv's pinned requirements, in the source folder."""
    container, source = context.container, context.source_dir
    container.call(["rm", "-rf", str(source)])
    tree = render_debian_tree(context.config)
    # The overrides are fitted to the lintian that will read them.
    lintian = container.call(["dpkg-query", "-W", "-f=${Version}", "lintian"]).stdout.strip()
    overrides = tree[PurePosixPath(OVERRIDES)]
    text = overrides.text
    if context.config.apps:
        text = widened_to(text, OMERO_WEB_ROOT)
    tree[PurePosixPath(OVERRIDES)] = DebianFile(for_lintian(text, lintian), overrides.mode)
    files = {PurePosixPath("debian") / name: (f.text.encode(), f.mode) for name, f in tree.items()}
    files[PurePosixPath("requirements.txt")] = (requirements.encode(), 0o644)
    container.write_tree(source, files)


def build_deb(context: BuildContext) -> None:
    jobs = context.config.jobs
    context.container.call(
        ["dpkg-buildpackage", "-b", "-us", "-uc", f"-j{jobs}"],
        workdir=context.source_dir,
        env={"DEB_BUILD_OPTIONS": f"parallel={jobs}"},
    )


def run_lintian(
    context: BuildContext,
    changes: PurePosixPath | None = None,
    report: PurePosixPath | None = None,
) -> str:
    """Write lintian's findings beside the .changes and return a one-line
    summary.  It never fails the build by itself: the tests hold the
    package to no errors.  CHANGES and REPORT: omero-web's unless given
    (an app package's)."""
    changes = changes or context.artifact(".changes")
    report = report or context.artifact(".lintian.txt")
    if not context.config.lintian:
        context.container.write_file(report, b"lintian was skipped for this build (--no-lintian)\n")
        return "skipped (--no-lintian)"
    # The first line names the lintian that checked: a report with no
    # findings is then still evidence that it ran.
    context.container.sh(
        f'{{ echo "# $(lintian --version) on {changes.name}"; '
        f"lintian --display-info --pedantic --fail-on none --tag-display-limit 0 "
        f"--dont-check-part {','.join(SKIPPED_LINTIAN_CHECKS)} {changes}; "
        f"}} > {report} 2>&1"
    )
    return summarise_lintian(context.container.call(["cat", str(report)]).stdout)


def summarise_lintian(report: str) -> str:
    counts = {kind: 0 for kind in "EWIP"}
    for line in report.splitlines():
        if len(line) > 2 and line[1] == ":" and line[0] in counts:
            counts[line[0]] += 1
    return (
        f"{counts['E']} errors, {counts['W']} warnings, {counts['I']} info, "
        f"{counts['P']} pedantic (after overrides)"
    )


def collect_artifacts(context: BuildContext) -> Artifacts:
    """Copy the results out; the output folder gets whole files or none."""
    output_dir = context.output_dir
    names = [context.artifact(suffix).name for suffix in ARTIFACT_SUFFIXES]
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=output_dir, prefix=f".partial-{uuid.uuid4().hex[:6]}-"
    ) as partial:
        for suffix in ARTIFACT_SUFFIXES:
            context.container.copy_out(context.artifact(suffix), Path(partial))
        for name in names:
            shutil.move(Path(partial) / name, output_dir / name)
    deb, *others, report = [output_dir / name for name in names]
    return Artifacts(deb=deb, others=tuple(others), lintian_report=report)
