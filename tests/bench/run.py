"""`make bench`: per target, one after another (a build takes every core):

1. the first build of the package, with the builder (its caches as they are);
2. the package's install to serving: on the integration tests' prepared
   host (the package's dependencies installed, nginx running), seconds from
   `apt-get install -y ./x.deb` to the first 200 of /webclient/login/
   through nginx; under sysv (the init script) and under systemd, each the
   median of --repeat installs on fresh hosts;
3. the walkthrough's install to serving: walkthrough.sh's manual steps on
   the same host image, with the IcePy wheel the package was built with and
   omero-web of the package's version from PyPI;
4. a warm rebuild: the same build again, caches hot, only --revision
   changed, lintian included;
5. the upgrade from the first build to that rebuild, and then a
   `dpkg-reconfigure`, each to the first 200 (sysv);
6. the .deb's size and its Installed-Size.

A benchmark, not a test: it asserts nothing and prints a Markdown table,
also written to OUTPUT/bench-results.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import docker
import docker.errors

from builder.container import docker_client
from builder.errors import BuildError
from builder.icepy import cached_wheel
from builder.targets import TARGETS, Target, get_target
from tests.integration.harness import CACHE_DIR, build_deb, deb_control
from tests.integration.hosts import prepared_host, seconds_to_serving

LOGIN = "/webclient/login/"
WALKTHROUGH = Path(__file__).with_name("walkthrough.sh")
WORK = PurePosixPath("/root/bench")
# Generous: the walkthrough downloads omero-web and its dependencies.
SERVING_TIMEOUT_S = 900


@dataclass(frozen=True)
class Row:
    target: str
    package_s: float  # sysv
    systemd_s: float
    walkthrough_s: float
    warm_rebuild_s: float
    upgrade_s: float
    reconfigure_s: float
    deb_mb: float
    installed_mb: float
    first_build_s: float

    def cells(self) -> list[str]:
        return [
            self.target,
            f"{self.package_s:.1f}",
            f"{self.systemd_s:.1f}",
            f"{self.walkthrough_s:.1f}",
            f"{self.walkthrough_s / self.package_s:.1f}",
            f"{self.warm_rebuild_s:.0f}",
            f"{self.upgrade_s:.1f}",
            f"{self.reconfigure_s:.1f}",
            f"{self.deb_mb:.1f}",
            f"{self.installed_mb:.1f}",
            f"{self.first_build_s:.0f}",
        ]


HEADER = [
    "target",
    "package install→200 s (sysv)",
    "(systemd)",
    "walkthrough install→200 s",
    "walkthrough/package",
    "warm rebuild s",
    "upgrade→200 s",
    "reconfigure→200 s",
    ".deb MB",
    "installed MB",
    "first build s",
]


def markdown_table(rows: list[Row]) -> str:
    lines = [HEADER, ["---"] * len(HEADER), *(row.cells() for row in rows)]
    return "".join(f"| {' | '.join(line)} |\n" for line in lines)


def timed_build(target: Target, output: Path, revision: int) -> tuple[Path, float]:
    """`omero-web-deb build` as `make deb` runs it; the .deb and the
    command's wall time."""
    start = time.monotonic()
    deb = build_deb(target, output, "--revision", str(revision))
    return deb, time.monotonic() - start


def package_install_to_serving(
    client: docker.DockerClient, target: Target, deb: Path, init: str, repeat: int
) -> float:
    """The median of REPEAT installs, each on a fresh host of INIT."""
    times = []
    for _ in range(repeat):
        with prepared_host(client, target, deb, init) as host:
            times.append(
                seconds_to_serving(
                    host,
                    "apt-get",
                    "install",
                    "-y",
                    "-q",
                    host.copy_deb(deb),
                    timeout=SERVING_TIMEOUT_S,
                )
            )
    print(f"    {init}: {', '.join(f'{t:.1f}' for t in times)} s", flush=True)
    return statistics.median(times)


def walkthrough_install_to_serving(
    client: docker.DockerClient, target: Target, deb: Path, wheel: Path, version: str
) -> float:
    with prepared_host(client, target, deb) as host:
        # The walkthrough's prerequisites the package's dependencies lack
        # (python3 and its venv module), installed before the clock
        # starts, as the package's dependencies are.
        host.run("apt-get", "update", "-q")
        host.run("apt-get", "install", "-y", "-q", "--no-install-recommends", "python3-venv")
        host.container.copy_into(wheel, WORK)
        host.container.copy_into(WALKTHROUGH, WORK)
        return seconds_to_serving(
            host,
            "sh",
            str(WORK / WALKTHROUGH.name),
            str(WORK / wheel.name),
            version,
            timeout=SERVING_TIMEOUT_S,
        )


def upgrade_and_reconfigure_to_serving(
    client: docker.DockerClient, target: Target, first: Path, rebuilt: Path
) -> tuple[float, float]:
    """On one host with FIRST installed and serving: `apt-get install` of
    REBUILT (an upgrade), then `dpkg-reconfigure`, each to the first 200."""
    with prepared_host(client, target, first) as host:
        host.run("apt-get", "install", "-y", "-q", host.copy_deb(first))
        host.wait_for_status(LOGIN, timeout=SERVING_TIMEOUT_S)
        upgrade = seconds_to_serving(
            host,
            "apt-get",
            "install",
            "-y",
            "-q",
            host.copy_deb(rebuilt),
            timeout=SERVING_TIMEOUT_S,
        )
        reconfigure = seconds_to_serving(
            host, "dpkg-reconfigure", "-fnoninteractive", "omero-web", timeout=SERVING_TIMEOUT_S
        )
        return upgrade, reconfigure


def bench_target(client: docker.DockerClient, target: Target, output: Path, repeat: int) -> Row:
    # A run starts from nothing of an earlier one: the toolkit's wheel is
    # made once per folder, and one from before a change would build the
    # packages the change was meant to measure without it.
    shutil.rmtree(output / target.name, ignore_errors=True)
    deb, first_build_s = timed_build(target, output / target.name / "first", revision=1)
    control = deb_control(deb)
    wheel = cached_wheel(CACHE_DIR, target)
    if wheel is None:
        raise BuildError(f"no IcePy wheel for {target.name} in {CACHE_DIR}/icepy after its build")
    upstream_version = control["Version"].rsplit("-", 1)[0]
    package_s = package_install_to_serving(client, target, deb, "sysv", repeat)
    systemd_s = package_install_to_serving(client, target, deb, "systemd", repeat)
    walkthrough_s = walkthrough_install_to_serving(client, target, deb, wheel, upstream_version)
    rebuilt, warm_rebuild_s = timed_build(target, output / target.name / "warm", revision=2)
    upgrade_s, reconfigure_s = upgrade_and_reconfigure_to_serving(client, target, deb, rebuilt)
    return Row(
        target.name,
        package_s,
        systemd_s,
        walkthrough_s,
        warm_rebuild_s,
        upgrade_s,
        reconfigure_s,
        deb.stat().st_size / 1e6,
        int(control["Installed-Size"]) / 1024,
        first_build_s,
    )


def chosen_targets(names: str | None) -> list[Target]:
    if not names:
        return list(TARGETS.values())
    return [get_target(name.strip()) for name in names.split(",") if name.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.run",
        description="Time install-to-serving (package and walkthrough), rebuilds and sizes.",
    )
    parser.add_argument(
        "--targets",
        default=os.environ.get("OMERO_WEB_DEB_TARGETS"),
        help="comma-separated targets (default: $OMERO_WEB_DEB_TARGETS, else all)",
    )
    parser.add_argument("--output", type=Path, default=Path("dist/bench"))
    parser.add_argument(
        "--repeat",
        type=lambda text: max(1, int(text)),
        default=3,
        help="installs per init system, at least 1; the median counts",
    )
    args = parser.parse_args(argv)
    try:
        targets = chosen_targets(args.targets)
        client = docker_client()
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    rows: list[Row] = []
    failures: list[str] = []
    with closing(client):
        for target in targets:
            print(f"=== {target.name}", flush=True)
            try:
                rows.append(bench_target(client, target, args.output.resolve(), args.repeat))
            except (BuildError, AssertionError, docker.errors.DockerException) as e:
                # A failed build's assertion carries its output's end: the
                # builder's own "error: ..." explains what to do.
                failures.append(f"{target.name}: {str(e)[-2000:]}")
    table = markdown_table(rows)
    args.output.mkdir(parents=True, exist_ok=True)
    results = args.output / "bench-results.md"
    results.write_text(table)
    print(f"\n{table}\n(written to {results})")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
