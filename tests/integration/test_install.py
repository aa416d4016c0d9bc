"""Install the built .deb in a fresh container of its target and check what
an admin checks after following the OMERO.web walkthrough."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from debian.deb822 import Deb822
from debian.debfile import DebFile

from builder.icepy import patch_series as icepy_patch_series
from builder.paths import OMERODIR, STATIC_DIR, VENV
from builder.requirement_lock import canonical
from builder.targets import Target

from .conftest import record
from .harness import ROOT, Host, deb_control, venv_python
from .hosts import cron_job, gunicorn_master, login_attempt, make_sessions, prepared_host

LOGIN = "/webclient/login/"


@pytest.fixture(scope="module")
def installed(client: docker.DockerClient, target: Target, deb: Path) -> Iterator[Host]:
    """One host per target for the checks that only look: the package
    installed with apt on a host whose dependencies are already there (a
    fleet's hosts, CI images), the time to its first 200 recorded."""
    with prepared_host(client, target, deb) as host:
        path = host.copy_deb(deb)
        start = time.monotonic()
        host.run("apt-get", "install", "-y", "-q", path)
        host.wait_for_status(LOGIN)
        elapsed = time.monotonic() - start
        record(target, install_to_serving_s=round(elapsed, 1))
        # The goal is reported in the summary; this bound only catches a
        # pathological regression on a loaded machine.
        assert elapsed < 180, f"install to first 200 took {elapsed:.0f} s"
        yield host


def test_deb_is_small_and_declares_its_runtime(target: Target, deb: Path) -> None:
    size = deb.stat().st_size
    control = deb_control(deb)
    record(
        target,
        deb_size_mb=round(size / 1e6, 1),
        installed_size_mb=round(int(control["Installed-Size"]) / 1024, 1),
    )
    assert size < 60e6, f"{deb.name} is {size / 1e6:.1f} MB"
    depends = control["Depends"]
    assert f"python{target.python} (>= {target.python}" in depends
    for library in ("libssl", "libstdc++6", "libc6", "libbz2"):
        assert library in depends, f"{library} missing from Depends: {depends}"
    assert "nginx" in depends and "adduser" in depends


def test_postinst_reloads_systemd_once_and_starts_the_service_and_timer_together(
    deb: Path,
) -> None:
    # Each `systemctl daemon-reload` costs an install under systemd a few
    # tenths of a second; debhelper's snippets for the two units are one.
    with DebFile(str(deb)) as package:
        postinst = package.control.get_content("postinst", encoding="utf-8")
    assert postinst.count("systemctl --system daemon-reload") == 1, postinst
    assert postinst.count("deb-systemd-invoke $_dh_action") == 1, postinst
    both = "deb-systemd-invoke $_dh_action 'omero-web-clearsessions.timer' 'omero-web.service'"
    assert both in postinst, postinst
    for unit in ("omero-web.service", "omero-web-clearsessions.timer"):
        assert f"deb-systemd-helper enable '{unit}'" in postinst


def test_package_ships_hash_checked_bytecode_and_no_build_tools(target: Target, deb: Path) -> None:
    # Every module has its bytecode, and no .pyc carries a file time
    # (PEP 552: flags 0b11, hash-checked), so nothing is compiled at install.
    tag = f"cpython-{target.python.replace('.', '')}"
    with DebFile(str(deb)) as package:
        data = package.data.tgz()
        members = data.getmembers()
        names = [str(m.name) for m in members]
        headers = {
            str(m.name): data.extractfile(m).read(16)  # type: ignore[union-attr]
            for m in members
            if str(m.name).endswith(".pyc")
        }
    sources = [n for n in names if n.endswith(".py") and "/site-packages/" in n]
    compiled = {
        f"{n.rsplit('/', 1)[0]}/__pycache__/{n.rsplit('/', 1)[1][:-3]}.{tag}.pyc" for n in sources
    }
    missing = sorted(compiled - set(headers))
    assert len(missing) < len(sources) // 100, (
        f"{len(missing)} sources without bytecode: {missing[:5]}"
    )
    assert not [n for n, h in headers.items() if int.from_bytes(h[4:8], "little") != 0b11]
    assert any(n.endswith(".so") and "IcePy" in n for n in names)
    for tool in ("pip", "setuptools", "wheel"):
        assert not [n for n in names if f"/site-packages/{tool}/" in n], f"{tool} left in the venv"
    record(target, deb_files=len(names))
    # Translations ship compiled only (gettext reads the .mo files), and
    # only English ones: OMERO.web fixes its language to en-gb.
    assert not [n for n in names if n.endswith(".po") and "/LC_MESSAGES/" in n]
    assert any(n.endswith("/django/conf/locale/en_GB/LC_MESSAGES/django.mo") for n in names)
    assert not [n for n in names if "/locale/de/" in n]
    # No wheel's test suite: none is imported, each file costs every install.
    suites = [n for n in names if "/site-packages/" in n and "/tests/" in n]
    assert not suites, suites[:5]
    # The static files, collected at build time, are the package's; the
    # venv does not carry the sources they were collected from.
    static = [n for n in names if n.startswith(f".{STATIC_DIR}/")]
    assert f".{STATIC_DIR}/webgateway/css/ome.body.css" in static
    assert len(static) > 300, len(static)
    # ... but for the default thumbnail and avatar, which its settings name
    # by path in webgateway's folder (DEFAULT_IMG, DEFAULT_USER).
    sources = [
        m.name for m in members if m.isreg() and "/site-packages/omeroweb/" in m.name
        and "/static/" in m.name
    ]  # fmt: skip
    assert sorted(n.rsplit("/", 1)[1] for n in sources) == ["image128.png", "personal32.png"]
    # Every entry is root's by number, with no owner name for dpkg to look up.
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}


def test_login_page_is_served_through_nginx(installed: Host) -> None:
    status, headers, body = installed.http_get(LOGIN)
    assert status == 200
    assert headers.get("Server", "").startswith("nginx")
    assert "<form" in body and 'name="username"' in body and 'name="password"' in body


def test_static_files_are_served_by_nginx_itself(installed: Host) -> None:
    path = "/static/webgateway/css/ome.body.css"
    assert installed.http_get(path)[0] == 200
    # From the package's read-only folder, collected when it was built;
    # nothing is collected at a start.
    site = installed.run("cat", "/etc/nginx/sites-available/omero-web")
    assert f"alias {STATIC_DIR};" in site, site
    owner = installed.run("stat", "-c", "%U %a", f"{STATIC_DIR}/webgateway/css/ome.body.css")
    assert owner.strip() == "root 644"
    assert installed.exit_code(f"test -e {OMERODIR}/var/static") != 0
    # As the login page names them (?_<omero-web version>): kept a year by
    # browsers, and sent compressed to those that accept it.
    login = installed.http_get(LOGIN)[2]
    versioned = re.search(r'/static/[^"?]+\.css\?_[0-9][^"]*', login)
    assert versioned, "the login page names no versioned stylesheet"
    headers = installed.sh(
        "curl -s -o /dev/null -D - -H 'Host: localhost' -H 'Accept-Encoding: gzip' "
        f"'http://127.0.0.1{versioned.group(0)}'"
    ).lower()
    assert "cache-control: max-age=31536000" in headers, headers
    assert "content-encoding: gzip" in headers, headers
    unversioned = installed.sh(
        f"curl -s -o /dev/null -D - -H 'Host: localhost' 'http://127.0.0.1{path}'"
    ).lower()
    assert "cache-control: max-age=3600" in unversioned, unversioned
    installed.run("/etc/init.d/omero-web", "stop")
    try:
        # With the app stopped, nginx still has the file ...
        status, _, body = installed.http_get(path)
        assert status == 200 and "body" in body
        # ... while the login page, which only the app makes, is gone.
        assert installed.http_get(LOGIN)[0] != 200
    finally:
        installed.run("/etc/init.d/omero-web", "start")
    installed.wait_for_status(LOGIN)


def test_app_runs_as_the_service_user(installed: Host) -> None:
    owners = installed.sh(
        "for d in /proc/[0-9]*; do "
        "  if tr '\\0' ' ' < $d/cmdline 2>/dev/null | grep -q '[g]unicorn'; then "
        "    stat -c %U $d; fi; done"
    ).split()
    assert owners, "no gunicorn process"
    assert set(owners) == {"omero-web"}
    assert "[RUNNING]" in installed.as_service_user(f"{VENV}/bin/omero", "web", "status")


def test_the_default_thumbnail_and_avatar_are_where_the_settings_say(installed: Host) -> None:
    # The webclient opens them from there when the server has no thumbnail
    # or no photo of a user: a 500 for every such avatar otherwise.
    script = (
        "import os, omeroweb.settings as s\n"
        "from PIL import Image\n"
        "for path in (s.DEFAULT_IMG, s.DEFAULT_USER):\n"
        "    print(os.path.basename(path), Image.open(path).format)\n"
    )
    out = installed.as_service_user(venv_python(), "-c", script)
    assert "image128.png PNG" in out and "personal32.png PNG" in out, out


def test_venv_imports_and_ice_initialises_as_service_user(installed: Host) -> None:
    script = (
        "import Ice, omero.clients, omeroweb\n"
        "c = Ice.initialize()\n"
        "p = c.stringToProxy('omero:tcp -h 127.0.0.1 -p 4064')\n"
        "print('proxy', p)\n"
        "c.destroy()\n"
        "client = omero.client('127.0.0.1')\n"
        "client.__del__()\n"
        "print('Ice', Ice.stringVersion())\n"
    )
    out = installed.as_service_user(venv_python(), "-c", script)
    assert "Ice 3.6.5" in out and "proxy omero" in out


def test_shipped_bytecode_names_the_installed_sources(installed: Host) -> None:
    # A traceback from the shipped .pyc names the file an admin can open.
    script = (
        "import marshal, omeroweb as m\n"
        "f = open(m.__cached__, 'rb'); f.read(16)\n"
        "print(m.__cached__, marshal.load(f).co_filename == m.__file__, m.__file__)\n"
    )
    out = installed.as_service_user(venv_python(), "-c", script)
    cached, same, source = out.split()[-3:]
    assert same == "True", out
    assert source.startswith(f"{VENV}/lib/") and "/__pycache__/" in cached


def test_service_user_is_a_system_account_without_login(installed: Host) -> None:
    _, _, uid, _, _, home, shell = installed.run("getent", "passwd", "omero-web").strip().split(":")
    assert int(uid) < 1000
    assert shell in ("/usr/sbin/nologin", "/bin/false")
    assert home == str(OMERODIR)
    assert installed.exit_code("runuser -u omero-web -- touch /opt/omero/web/venv3/x") != 0, (
        "venv writable"
    )


def test_init_script_speaks_lsb(installed: Host) -> None:
    """start, stop, restart, force-reload and status with the LSB init
    script specification's exit codes (the host has no systemd)."""
    init = "/etc/init.d/omero-web"
    pid = "cat /opt/omero/web/omero-web/var/django.pid"
    assert installed.exit_code(f"{init} status") == 0
    # The same command as omero-web.service (preloaded sync workers, the
    # master warming the app up before it forks them).
    command = gunicorn_master(installed)[1]
    assert "--preload" in command
    assert "--config /usr/lib/omero-web/omero_web_warm_up.py" in command
    assert installed.exit_code(f"{init} start") == 0, "start when running succeeds"
    before = installed.sh(pid)
    for action in ("restart", "force-reload"):
        assert installed.exit_code(f"{init} {action}") == 0, action
        installed.wait_for_status(LOGIN)
        after = installed.sh(pid)
        assert after != before, f"{action} did not restart the app"
        before = after
    assert installed.exit_code(f"{init} stop") == 0
    assert installed.exit_code("pgrep -f '[b]in/gunicorn'") != 0, "gunicorn still runs"
    assert installed.exit_code(f"{init} status") == 3, "stopped: status 3"
    assert installed.exit_code(f"{init} stop") == 0, "stop when stopped succeeds"
    assert installed.exit_code(f"{init} reload-everything") == 2, "unknown action: 2"
    assert installed.exit_code(f"{init} start") == 0
    installed.wait_for_status(LOGIN)
    assert installed.exit_code(f"{init} status") == 0


def test_an_admins_static_folder_gets_the_packages_files_and_is_served(installed: Host) -> None:
    """omero.web.static_root pointed at a folder of the service user's (for
    an app installed by hand): the start fills it, though the venv has no
    sources for OMERO.web's own files, and the nginx site serves it."""
    dropin = "/etc/omero-web/60-static-root.omero"
    ours = f"{OMERODIR}/var/static"
    installed.sh(f"echo 'config set omero.web.static_root {ours}' > {dropin}")
    try:
        installed.run("dpkg-reconfigure", "-fnoninteractive", "omero-web")
        installed.wait_for_status(LOGIN)
        site = installed.run("cat", "/etc/nginx/sites-available/omero-web")
        assert f"alias {ours};" in site, site
        status, _, body = installed.http_get("/static/webgateway/json/luts.json")
        assert status == 200 and '"luts"' in body, body[:500]
        owner = installed.run("stat", "-c", "%U %a", f"{ours}/webgateway/css/ome.body.css")
        assert owner.strip() == "omero-web 644"
        # As many files as the package's folder: the copy, and nothing lost.
        count = "find {} -type f | wc -l"
        assert installed.sh(count.format(ours)) == installed.sh(count.format(STATIC_DIR))
    finally:
        installed.run("rm", "-rf", dropin, ours)
        installed.run("dpkg-reconfigure", "-fnoninteractive", "omero-web")
        installed.wait_for_status(LOGIN)
    assert f"alias {STATIC_DIR};" in installed.run("cat", "/etc/nginx/sites-available/omero-web")


def test_daily_clearsessions_job_runs_as_service_user(installed: Host) -> None:
    fields = cron_job(installed)
    assert fields[:5] != ["*"] * 5 and fields[2:5] == ["*", "*", "*"], "runs once a day"
    assert fields[5] == "omero-web"
    live, stale = make_sessions(installed)
    out = installed.run("runuser", "-u", "omero-web", "--", "sh", "-c", fields[6] + "; echo rc=$?")
    assert out.strip().endswith("rc=0"), out
    sessions = installed.sh(f"ls {OMERODIR}/var/tmp/")
    assert f"sessionid{live}" in sessions and f"sessionid{stale}" not in sessions, sessions


def test_login_attempt_reaches_ice_and_gets_omero_webs_own_answer(installed: Host) -> None:
    """The login form, posted with its CSRF token through nginx for the
    configured server (localhost:4064, where no OMERO.server runs): Django
    accepts the form, OMERO.web's Ice client tries the server and answers
    with the login page and its own connection error: not a 403 (CSRF) or
    a 500 (a broken Ice)."""
    installed.wait_for_status(LOGIN)  # serving, whatever the tests before did
    code, body = login_attempt(installed)
    assert code == 200, body[-2000:]
    assert "Server is not responding, please contact administrator." in body, body[-2000:]
    assert 'name="username"' in body and 'name="password"' in body


def test_the_sbom_lists_what_is_installed(installed: Host, target: Target, deb: Path) -> None:
    """/usr/share/doc/omero-web/sbom.cdx.json, as an auditor reads it on the
    host: valid CycloneDX, every distribution the venv holds with its
    version, a license where the distribution states one and the hashes of
    the build's lock (IcePy: its wheel's, from the .build-inputs), and
    Debian dependencies the installed package really declares."""
    text = installed.run("cat", "/usr/share/doc/omero-web/sbom.cdx.json")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    sbom = json.loads(text)
    script = (
        "import importlib.metadata as m\n"
        "for d in m.distributions(): print(d.metadata['Name'], d.version)\n"
    )
    venv = dict(line.split() for line in installed.run(venv_python(), "-c", script).splitlines())
    python = {c["name"]: c for c in sbom["components"] if c["purl"].startswith("pkg:pypi/")}
    assert {canonical(name): version for name, version in venv.items()} == {
        name: c["version"] for name, c in python.items()
    }
    lock = deb.with_name(deb.name.removesuffix(".deb") + ".lock.txt").read_text()
    for name, component in python.items():
        for digest in component["hashes"]:
            assert digest["content"] in lock or name == "zeroc-ice", name
    unlicensed = sorted(name for name, c in python.items() if not c.get("licenses"))
    assert len(unlicensed) <= 3, f"no license found for {unlicensed}"
    inputs = deb.with_name(deb.name.removesuffix(".deb") + ".build-inputs").read_text()
    icepy = python["zeroc-ice"]
    assert f"IcePy-Wheel: {icepy['hashes'][0]['content']} " in inputs
    assert len(icepy["pedigree"]["patches"]) == len(icepy_patch_series())
    declared = installed.run(
        "dpkg-query", "-W", "-f=${Pre-Depends}, ${Depends}, ${Recommends}", "omero-web"
    )
    debian = [c for c in sbom["components"] if c["purl"].startswith("pkg:deb/")]
    assert debian, "no Debian dependency in the SBOM"
    for component in debian:
        relation = {p["name"]: p["value"] for p in component["properties"]}
        assert relation["omero-web-deb:debian-relation"] in declared, relation
    assert f"python{target.python} (>=" in str(debian) or any(
        c["name"] == f"python{target.python}" for c in debian
    )


def test_the_buildinfo_pins_the_builds_inputs(target: Target, deb: Path) -> None:
    """The .buildinfo lists <stem>.build-inputs with its sha256, and that
    file names the base image, the lock and the IcePy wheel by hash."""
    stem = deb.name.removesuffix(".deb")
    inputs = deb.with_name(f"{stem}.build-inputs")
    buildinfo = Deb822(deb.with_name(f"{stem}.buildinfo").read_text())
    sha256 = hashlib.sha256(inputs.read_bytes()).hexdigest()
    listed = buildinfo["Checksums-Sha256"].split("\n")
    assert any(line.split()[::2] == [sha256, inputs.name] for line in listed if line), listed
    fields = Deb822(inputs.read_text())
    lock = deb.with_name(f"{stem}.lock.txt").read_bytes()
    assert fields["Requirements-Lock"] == (
        f"{hashlib.sha256(lock).hexdigest()} locks/{target.name}/omero-web-5.33.2.txt"
    )
    assert lock == (ROOT / "locks" / target.name / "omero-web-5.33.2.txt").read_bytes()
    assert re.fullmatch(r"\S+ sha256:[0-9a-f]{64}( .*)?", fields["Base-Image"])
    assert re.fullmatch(r"[0-9a-f]{64} zeroc_ice-3\.6\.5-\S+\.whl", fields["IcePy-Wheel"])
    patches = [line.split() for line in fields["IcePy-Patches"].splitlines() if line.strip()]
    assert [name for _, name in patches] == [patch.name for patch in icepy_patch_series()]
