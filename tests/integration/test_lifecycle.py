"""The package's life on a host: install, reinstall twice, upgrade from the
previous build, remove, purge, as an admin does them with apt; and what
happens along the way (maintenance page, log rotation, a new Django major
version).  On every target: these are the maintainer scripts' main paths."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path, PurePosixPath

import docker
import pytest

from builder.paths import OMERODIR
from builder.targets import Target

from .conftest import record
from .hosts import (
    apt_install,
    cron_job,
    debconf_answers,
    get,
    gunicorn_master,
    gunicorn_running,
    omero_config,
    prepared_host,
    status,
    wait_for,
)

LOGIN = "/webclient/login/"
CLI = "/usr/lib/omero-web/omero-web-cli"
SECRET = f"{OMERODIR}/var/django_secret_key"
LOCAL = "/etc/omero-web/50-local.omero"


def test_upgrade_from_the_release_reinstall_remove_purge(
    client: docker.DockerClient, target: Target, deb: Path, previous_deb: Path
) -> None:
    with prepared_host(client, target, deb) as host:
        # What a facility runs today: the previous release, with the
        # admin's own additions: a drop-in, a key set by hand.
        apt_install(host, previous_deb)
        wait_for(host, LOGIN)
        host.sh(f"printf 'config set omero.web.wsgi_timeout 99\\n' > {LOCAL}")
        host.run(CLI, "config", "set", "omero.web.ui.top_links", "[]")
        secret = host.run("sha256sum", SECRET)
        local = host.run("sha256sum", LOCAL)

        # Upgrade to this tree's package: the release's prerm and postrm
        # hand over to this package's preinst and postinst.
        before, _ = gunicorn_master(host)
        start = time.monotonic()
        apt_install(host, deb)
        wait_for(host, LOGIN)
        record(target, upgrade_to_serving_s=round(time.monotonic() - start, 1))
        assert gunicorn_master(host)[0] != before, "the upgrade did not restart the service"
        version = host.run("dpkg-query", "-W", "-f=${Version}", "omero-web")
        assert version == deb.name.split("_")[1]
        assert host.run("sha256sum", SECRET) == secret
        assert host.run("sha256sum", LOCAL) == local
        assert omero_config(host)["omero.web.ui.top_links"] == "[]"
        assert "--timeout 99" in gunicorn_master(host)[1]

        # Reinstall twice in a row: each restarts the service, nothing lost.
        path = host.copy_deb(deb)
        for _ in range(2):
            before, _ = gunicorn_master(host)
            host.run("apt-get", "install", "--reinstall", "-y", "-q", path)
            wait_for(host, LOGIN)
            assert gunicorn_master(host)[0] != before
        assert host.run("sha256sum", SECRET) == secret

        # While dpkg replaces the venv the running app serves on: every
        # request during the unpack is answered 200; the restart comes
        # only once postinst has configured the new files.
        host.sh(
            "(while :; do curl -s -o /dev/null -w '%{http_code}\\n' -H 'Host: localhost' "
            f"http://127.0.0.1{LOGIN}; done) > /tmp/codes & poller=$!; "
            f"dpkg --unpack {path} >/dev/null; kill $poller"
        )
        codes = host.run("cat", "/tmp/codes").split()
        assert codes and set(codes) == {"200"}, Counter(codes)
        host.run("dpkg", "--configure", "-a")
        wait_for(host, LOGIN)

        # The app stopped: nginx answers with the maintenance page.
        host.run("/etc/init.d/omero-web", "stop")
        response = get(host, LOGIN)
        assert status(response) == 502
        assert "OMERO.web is not available" in response
        host.run("/etc/init.d/omero-web", "start")
        wait_for(host, LOGIN)

        # logrotate rotates OMERO.web's log; the app writes on in a new file.
        host.run("logrotate", "-f", "/etc/logrotate.d/omero-web")
        rotated = host.sh(f"ls {OMERODIR}/var/log/")
        assert "OMEROweb.log-" in rotated, rotated
        # A page that does not exist is logged (Django's "Not Found", a
        # warning); the first such line after the rotation lands in the new
        # file.  (The login page logs nothing: its views were imported, with
        # their log lines, when the service started.)
        probe = "/omero-web-deb-log-probe/"
        logged = f"grep -q 'Not Found: {probe}' {OMERODIR}/var/log/OMEROweb.log"
        deadline = time.monotonic() + 60
        while True:
            answer = status(get(host, probe))
            assert answer == 404, answer
            if host.exit_code(logged) == 0:
                break
            listing = host.sh(f"ls -l {OMERODIR}/var/log/")
            assert time.monotonic() < deadline, f"nothing logged:\n{listing}"
            time.sleep(1)
        assert host.run("readlink", "/var/log/omero-web").strip() == f"{OMERODIR}/var/log"

        # A new Django major version clears the session store.
        host.sh(
            f"install -o omero-web -g omero-web -m 600 /dev/null {OMERODIR}/var/tmp/sessionidstale"
            " && echo 4.2.20 > /var/lib/omero-web/django-version"
        )
        start = time.monotonic()
        out = host.sh("dpkg-reconfigure -fnoninteractive omero-web 2>&1")
        wait_for(host, LOGIN)
        record(target, reconfigure_to_serving_s=round(time.monotonic() - start, 1))
        assert "clearing the session store" in out
        assert host.exit_code(f"test -e {OMERODIR}/var/tmp/sessionidstale") != 0
        assert host.run("cat", "/var/lib/omero-web/django-version").startswith("5.")

        # Remove: service stopped, site disabled and nginx reloaded, the
        # clearsessions job inert; configuration, data and user kept.
        host.run("apt-get", "remove", "-y", "-q", "omero-web")
        assert not gunicorn_running(host)
        assert host.exit_code("test -e /etc/nginx/sites-enabled/omero-web") != 0
        assert status(get(host, LOGIN)) == 404, "nginx still serves the site"
        assert host.exit_code("pgrep -x nginx") == 0
        command = cron_job(host)[6]
        out = host.run("runuser", "-u", "omero-web", "--", "sh", "-c", command + "; echo rc=$?")
        assert out.strip() == "rc=0"
        for kept in (
            SECRET,
            f"{OMERODIR}/etc/grid/config.xml",
            LOCAL,
            "/etc/omero-web/10-debconf.omero",
        ):
            assert host.exit_code(f"test -e {kept}") == 0, kept
        assert host.exit_code("getent passwd omero-web") == 0
        assert debconf_answers(host), "debconf answers lost on remove"

        # Purge: everything the package created is gone; /opt, the user
        # (Debian keeps system users) and the admin's own drop-in stay.
        host.run("apt-get", "purge", "-y", "-q", "omero-web")
        for gone in (
            "/opt/omero",
            "/etc/omero-web/10-debconf.omero",
            "/var/lib/omero-web",
            "/etc/nginx/sites-available/omero-web",
            "/etc/cron.d/omero-web",
            "/etc/logrotate.d/omero-web",
            "/var/log/omero-web",
            "/usr/lib/omero-web",
        ):
            left = host.sh(f"find {gone} -maxdepth 2 2>/dev/null | head -n 20", check=False)
            assert left.strip() == "", left
        assert host.exit_code("test -d /opt") == 0
        assert host.exit_code(f"test -e {LOCAL}") == 0
        assert host.exit_code("getent passwd omero-web") == 0
        assert debconf_answers(host) == {}
        assert host.exit_code("pgrep -x nginx") == 0


# The same code path on every target.
@pytest.mark.parametrize("target", ["debian-12"], indirect=True)
def test_install_starts_nothing_where_policy_rc_d_forbids(
    client: docker.DockerClient, target: Target, deb: Path
) -> None:
    with prepared_host(client, target, deb) as host:
        host.container.write_file(
            PurePosixPath("/usr/sbin/policy-rc.d"), b"#!/bin/sh\nexit 101\n", mode=0o755
        )
        out = apt_install(host, deb)
        assert "policy-rc.d denied execution of" in out
        assert not gunicorn_running(host)
        # Configured all the same, ready to start.
        assert host.exit_code("test -L /etc/nginx/sites-enabled/omero-web") == 0
        assert "installed" in host.run("dpkg-query", "-W", "-f=${Status}", "omero-web")
        host.run("/etc/init.d/omero-web", "start")
        host.run("/etc/init.d/nginx", "reload")
        wait_for(host, LOGIN)
