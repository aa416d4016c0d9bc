"""OMERO.web apps as packages of their own, on every target: every app
the toolkit knows, built once against the tree's omero-web (builds.py),
installed with one apt command, removed and purged one at a time,
refused beside an omero-web that does not provide what they were built
for, and holding back an omero-web built for another Python.  One host
per target."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import docker
import pytest
from debian.deb822 import Deb822

from builder.apps.known import KNOWN_APPS
from builder.paths import APPS_DIR, CONFIG_DIR, STATIC_DIR
from builder.targets import Target

from .builds import APPS
from .conftest import package, record
from .harness import Host, deb_control, deb_member_names
from .hosts import apt_install, get, gunicorn_master, prepared_host, status, wait_for
from .test_piuparts import PIUPARTS, base_tarball, flat_repository, piuparts_argv

LOGIN = "/webclient/login/"
CLI = "/usr/lib/omero-web/omero-web-cli"
REMOVED = "omero-tagsearch"


@pytest.fixture(scope="session")
def app_debs(target: Target, deb: Path, build_root: Path) -> dict[str, Path]:
    """Every known app, built with the CLI in one call against the tree's
    omero-web .deb (builds.py: in the controller's lanes under xdist)."""
    output = package(target, "apps", build_root, against=deb)
    debs = {}
    for name in APPS:
        found = sorted(output.glob(f"{KNOWN_APPS[name].package}_*.deb"))
        assert len(found) == 1, f"no single {name} package in {output}"
        debs[name] = found[0]
    record(
        target,
        **{f"{KNOWN_APPS[n].short}_deb_kb": d.stat().st_size // 1024 for n, d in debs.items()},
    )
    return debs


def static_file(deb: Path) -> str:
    """One of the app's static files, as its URL path under /static/."""
    names = deb_member_names(deb)
    prefix = f"./{STATIC_DIR.relative_to('/')}/"
    files = sorted(n for n in names if n.startswith(prefix) and n.endswith((".js", ".css")))
    assert files, f"{deb.name} ships no static file under {STATIC_DIR}"
    return "/static/" + files[0].removeprefix(prefix)


def redirects_to_login(host: Host, path: str) -> bool:
    response = get(host, path)
    location = next(
        (line for line in response.splitlines() if line.lower().startswith("location:")), ""
    )
    return status(response) == 302 and LOGIN in location


def configured_apps(host: Host) -> str:
    return host.run(CLI, "config", "get", "omero.web.apps").strip()


@pytest.fixture(scope="module")
def with_apps(
    client: docker.DockerClient,
    target: Target,
    deb: Path,
    previous_deb: Path,
    app_debs: dict[str, Path],
) -> Iterator[Host]:
    with prepared_host(client, target, deb) as host:
        # The previous release provides no omero-web-abi-*: apt refuses the
        # apps and changes nothing.
        apt_install(host, previous_deb)
        paths = [host.copy_deb(d) for d in app_debs.values()]
        refused = host.sh(f"apt-get install -y -q {' '.join(paths)} 2>&1", check=False)
        assert f"omero-web-abi-{target.python_abi}" in refused, refused
        assert host.exit_code("dpkg-query -W omero-web-app-figure") != 0

        apt_install(host, deb)
        wait_for(host, LOGIN)
        before, _ = gunicorn_master(host)
        start = time.monotonic()
        output = host.sh(f"apt-get install -y -q {' '.join(paths)} 2>&1")
        wait_for(host, KNOWN_APPS["omero-figure"].url, code=302)
        record(target, apps_install_to_serving_s=round(time.monotonic() - start, 1))
        # One restart for all the apps: dpkg ran omero-web's trigger once, and
        # a new gunicorn master serves.
        assert output.count("Processing triggers for omero-web") == 1, output
        after, _ = gunicorn_master(host)
        assert after != before, "the apps' trigger did not restart the service"
        yield host


def test_every_app_serves_through_nginx_after_one_apt_install(
    with_apps: Host, app_debs: dict[str, Path]
) -> None:
    host = with_apps
    assert status(get(host, LOGIN)) == 200
    for name, deb in app_debs.items():
        app = KNOWN_APPS[name]
        assert redirects_to_login(host, app.url), f"{app.url}:\n{get(host, app.url)[:800]}"
        path = static_file(deb)
        response = get(host, path)
        # nginx itself: Django serves no static file without DEBUG.
        assert status(response) == 200, f"{path}: {response[:300]}"
        assert "server: nginx" in response.lower()
        assert f'"{app.module}"' in configured_apps(host)


def test_removing_one_app_leaves_the_others_serving_and_purge_leaves_nothing(
    with_apps: Host, app_debs: dict[str, Path]
) -> None:
    host = with_apps
    removed = KNOWN_APPS[REMOVED]
    static = static_file(app_debs[REMOVED])
    host.run("apt-get", "remove", "-y", "-q", removed.package)
    wait_for(host, removed.url, code=404)
    assert status(get(host, LOGIN)) == 200
    for name in app_debs:
        if name != REMOVED:
            assert redirects_to_login(host, KNOWN_APPS[name].url)
    assert removed.module not in configured_apps(host)
    assert status(get(host, static)) == 404
    # The conffile stays until purge; the rest goes with the package.
    assert host.exit_code(f"test -e {CONFIG_DIR}/{removed.dropin_name}") == 0

    host.run("apt-get", "purge", "-y", "-q", removed.package)
    leftovers = host.sh(
        f"ls -d {CONFIG_DIR}/{removed.dropin_name} {APPS_DIR}/{removed.short} "
        f"{STATIC_DIR}/{static.split('/')[2]} /usr/share/doc/{removed.package} "
        f"$(find /opt/omero/web/venv3 -name '{removed.package}.pth') 2>/dev/null; "
        f"dpkg-query -W {removed.package} 2>&1",
        check=False,
    )
    assert "no packages found" in leftovers.lower() or "not installed" in leftovers.lower()
    assert str(CONFIG_DIR) not in leftovers and "/opt/" not in leftovers, leftovers


def test_app_packages_are_small_pure_python_and_pinned(
    target: Target, app_debs: dict[str, Path]
) -> None:
    for name, deb in app_debs.items():
        control = deb_control(deb)
        assert control["Architecture"] == "all", f"{name} ships compiled code"
        depends = control["Depends"]
        assert f"omero-web-abi-{target.python_abi}" in depends
        assert "omero-web (>= " in depends and "omero-web (<< " in depends
        assert deb.stat().st_size < 20e6, f"{deb.name} is {deb.stat().st_size / 1e6:.1f} MB"
        report = deb.with_name(deb.name.removesuffix(".deb") + ".lintian.txt").read_text()
        findings = [line for line in report.splitlines() if line[:2] in ("E:", "W:")]
        assert not findings, "\n".join(findings)


def built_for_another_python(deb: Path, target: Target, folder: Path) -> Path:
    """omero-web's .deb as its build for the next Python would declare
    itself to apt: the same files, a newer version within the release (so
    the apps' version range still holds), and the next ABI in Provides.
    No target has two Pythons to build it with for real."""
    tree = folder / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control_file = tree / "DEBIAN" / "control"
    control = Deb822(control_file.read_text())
    major, minor = target.python.split(".")
    ours, next_abi = (
        f"omero-web-abi-{target.python_abi}",
        f"omero-web-abi-cp{major}{int(minor) + 1}",
    )
    assert ours in control["Provides"], control["Provides"]
    control["Provides"] = control["Provides"].replace(ours, next_abi)
    control["Version"] += "+py"
    control_file.write_text(control.dump())
    built = folder / f"omero-web_{control['Version']}_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "-Zgzip", "-z1", str(tree), str(built)],
        check=True,
        capture_output=True,
    )
    return built


def test_an_omero_web_for_another_python_is_held_back_while_its_apps_are_installed(
    with_apps: Host, target: Target, deb: Path, tmp_path: Path
) -> None:
    """From the facility's repository: `apt-get upgrade` keeps omero-web
    back, an install that may not remove the apps is refused, and the apps
    go on serving."""
    host = with_apps
    other = built_for_another_python(deb, target, tmp_path)
    repo = flat_repository([other], tmp_path / "repo")
    host.container.copy_into(repo, PurePosixPath("/srv"))
    source = "/etc/apt/sources.list.d/omero-web.list"
    host.sh(
        f"chmod -R a+rX /srv/repo && echo 'deb [trusted=yes] file:/srv/repo ./' > {source} && "
        f"apt-get update -q -o Dir::Etc::sourcelist={source} -o Dir::Etc::sourceparts=- "
        "-o APT::Get::List-Cleanup=0"
    )
    version = deb_control(deb)["Version"]
    candidate = host.run("apt-cache", "policy", "omero-web")
    assert f"Candidate: {deb_control(other)['Version']}" in candidate, candidate

    def installed() -> str:
        return host.run("dpkg-query", "-W", "-f=${Version}", "omero-web")

    upgrade = host.sh("apt-get upgrade -y -q 2>&1")
    assert installed() == version, upgrade
    refused = host.sh("apt-get install -y -q --no-remove omero-web 2>&1; echo exit=$?")
    assert installed() == version, refused
    assert not refused.rstrip().endswith("exit=0"), refused
    # apt says why: the apps it would have to remove.
    assert KNOWN_APPS["omero-figure"].package in refused, refused
    assert redirects_to_login(host, KNOWN_APPS["omero-figure"].url)


@pytest.mark.skipif(os.geteuid() != 0, reason="piuparts needs root")
def test_piuparts_installs_and_purges_an_app_package(
    client: docker.DockerClient,
    target: Target,
    deb: Path,
    app_debs: dict[str, Path],
    tmp_path: Path,
) -> None:
    """omero-web installed as the app's dependency, the app installed and
    purged: nothing of it left behind, on every target."""
    assert PIUPARTS, "piuparts is not installed (apt-get install piuparts; .ci/run does)"
    repo = flat_repository([deb], tmp_path / "omero-web")
    log = tmp_path / "piuparts.log"
    argv = piuparts_argv(target, base_tarball(client, target), repo, log, app_debs["omero-figure"])
    argv[1:1] = ["--no-upgrade-test"]
    print("+", " ".join(argv), flush=True)
    start = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True)
    record(target, piuparts_app_s=round(time.monotonic() - start, 1))
    text = log.read_text() if log.exists() else result.stdout + result.stderr
    assert result.returncode == 0, text[-6000:]
    assert "PASS: Installation and purging test" in text
