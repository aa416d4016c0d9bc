"""debconf: preseeded installs, dpkg-reconfigure end to end, bad answers
(refused and asked again when interactive, replaced and logged when not),
nginx's check before any reload, and the consent to become nginx's default
site."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import docker
import pytest

from builder.targets import Target

from .hosts import (
    apt_install,
    debconf_answers,
    get,
    gunicorn_master,
    omero_config,
    prepared_host,
    preseed,
    status,
    wait_for,
)

ONE_TARGET = "debian-12"
LOGIN = "/webclient/login/"
STATIC = "/static/webgateway/css/ome.body.css"
DROPIN = "/etc/omero-web/10-debconf.omero"
SITE = "/etc/nginx/sites-available/omero-web"


# The main path (a preseeded install, then dpkg-reconfigure of every
# answer) runs on every target; the refusals and repairs, whose code is the
# same shell everywhere, on one.
one_target = pytest.mark.parametrize("target", [ONE_TARGET], indirect=True)


def reconfigure(host, check: bool = True) -> str:  # type: ignore[no-untyped-def]
    return host.sh("dpkg-reconfigure -fnoninteractive omero-web 2>&1", check=check)


BAD = {
    "http_port": "70000",
    "prefix": "omero",
    "server_list": "localhost:abc",
    "server_names": "a;b",
    "workers": "0",
    "threads": "0",
    "worker_class": "eventlet",
    "session_store": "memcached",
    "redis_url": "redis://:secret@127.0.0.1",
    "cors_origins": "viewer.example.org",
}


@one_target
def test_bad_answers_are_refused(client: docker.DockerClient, target: Target, deb: Path) -> None:
    with prepared_host(client, target, deb) as host:
        # Noninteractive, fresh install: every bad preseeded answer is
        # replaced by its default, the log says so, the install goes on.
        # (default_site: not the default site, whose suggestion on a stock
        # host is to take over: these tests read plain "listen" lines.)
        preseed(host, default_site="false", **BAD)
        out = apt_install(host, deb)
        for name, bad in BAD.items():
            if name in ("worker_class", "session_store"):
                continue  # debconf itself puts back a select's default
            assert f'invalid answer "{bad}" to omero-web/{name} ignored' in out, name
        answers = debconf_answers(host)
        assert answers["worker_class"] == "sync" and answers["session_store"] == "files"
        assert answers["http_port"] == "80" and answers["prefix"] == ""
        assert answers["server_list"] == "localhost:4064:omero"
        assert answers["redis_url"] == "redis://127.0.0.1:6379/0"
        dropin = host.run("cat", DROPIN)
        for bad in ("70000", "localhost:abc", "a;b", "eventlet", "memcached", "secret", "viewer"):
            assert bad not in dropin and bad not in host.run("cat", SITE)
        assert "secret" not in host.run("cat", "/var/lib/omero-web/debconf-applied")
        wait_for(host, LOGIN)

        # Noninteractive reconfigure: the previous valid answer is kept.
        preseed(host, http_port="8081", prefix="/omero")
        reconfigure(host)
        wait_for(host, f"/omero{LOGIN}", port=8081)
        preseed(host, http_port="abc", prefix="/omero/")
        out = reconfigure(host)
        assert 'invalid answer "abc" to omero-web/http_port ignored; keeping "8081"' in out
        assert 'invalid answer "/omero/" to omero-web/prefix ignored; keeping "/omero"' in out
        assert debconf_answers(host)["http_port"] == "8081"
        assert "listen 8081;" in host.run("cat", SITE)
        wait_for(host, f"/omero{LOGIN}", port=8081)

        # Interactive (debconf's teletype frontend, answers on stdin, one a
        # question in the config script's order): the bad port is refused
        # with the error and asked again.
        answers_in = [
            "localhost:4064:omero",  # server_list
            "yes",  # manage_nginx
            "0",  # http_port: refused ...
            "8082",  # ... and asked again
            "localhost",  # server_names
            "no",  # default_site
            "none",  # https (https_port and hsts are not asked then)
            "",  # trusted_proxies
            "/omero",  # prefix
            "auto",  # workers
            "sync",  # worker_class
            "1",  # threads
            "files",  # session_store
            "",  # cors_origins
        ]
        host.container.write_file(
            PurePosixPath("/root/answers.txt"), ("\n".join(answers_in) + "\n").encode()
        )
        out = host.sh(
            "DEBIAN_FRONTEND=teletype dpkg-reconfigure omero-web < /root/answers.txt 2>&1",
            check=False,
        )
        assert "Invalid port" in out, out[-3000:]
        assert '"0" is not a port' in out
        assert debconf_answers(host)["http_port"] == "8082", out[-3000:]
        assert "listen 8082;" in host.run("cat", SITE)
        wait_for(host, f"/omero{LOGIN}", port=8082)


def test_preseeded_install_and_reconfigure_apply_every_answer(
    client: docker.DockerClient, target: Target, deb: Path
) -> None:
    with prepared_host(client, target, deb) as host:
        # Preseeded fresh install.
        preseed(
            host,
            server_list="localhost:4064:omero, omero2.example.org:4064:archive",
            default_site="false",
            http_port="8080",
            server_names="omero.example.org localhost",
            prefix="/omero",
            workers="3",
            worker_class="gevent",
            worker_connections="50",
            cors_origins="https://viewer.example.org",
        )
        apt_install(host, deb)
        wait_for(host, f"/omero{LOGIN}", port=8080)
        config = omero_config(host)
        assert config["omero.web.prefix"] == "/omero"
        assert config["omero.web.static_url"] == "/omero/static/"
        assert config["omero.web.server_list"] == (
            '[["localhost", 4064, "omero"], ["omero2.example.org", 4064, "archive"]]'
        )
        assert config["omero.web.wsgi_worker_class"] == "gevent"
        site = host.run("cat", SITE)
        assert "listen 8080;" in site and "server_name omero.example.org localhost;" in site
        assert status(get(host, f"/omero{STATIC}", port=8080)) == 200
        login = get(host, f"/omero{LOGIN}", port=8080)
        assert "archive" in login
        _, cmdline = gunicorn_master(host)
        assert "--workers 3" in cmdline and "--worker-class gevent" in cmdline
        assert "--worker-connections 50" in cmdline
        allowed = get(host, f"/omero{LOGIN}", port=8080, origin="https://viewer.example.org")
        assert "access-control-allow-origin: https://viewer.example.org" in allowed.lower()
        other = get(host, f"/omero{LOGIN}", port=8080, origin="https://evil.example.org")
        assert "access-control-allow-origin" not in other.lower()

        # The admin's own settings: a later drop-in, and a key set by hand.
        host.sh("printf 'config set omero.web.wsgi_timeout 123\\n' > /etc/omero-web/50-local.omero")
        host.run(
            "/usr/lib/omero-web/omero-web-cli", "config", "set", "omero.web.ui.top_links", "[]"
        )
        local_before = host.run("sha256sum", "/etc/omero-web/50-local.omero")
        # The service user can write config.xml, but nginx's master runs as
        # root: the site is made from root's drop-ins only, so a directive a
        # compromised app puts in config.xml never reaches nginx.
        injected = '["error_log /etc/cron.d/omero-web-injected;"]'
        host.run(
            "/usr/lib/omero-web/omero-web-cli",
            "config",
            "set",
            "--",
            "omero.web.nginx_server_extra_config",
            injected,
        )

        # dpkg-reconfigure applies a change end to end: config, the nginx
        # site (checked, then reloaded), the service restarted.
        old_pid, _ = gunicorn_master(host)
        preseed(
            host,
            server_list="localhost:4064:omero",
            http_port="8090",
            prefix="",
            workers="2",
            worker_class="sync",
            threads="4",
            cors_origins="",
        )
        reconfigure(host)
        wait_for(host, LOGIN, port=8090)
        assert status(get(host, STATIC, port=8090)) == 200
        assert status(get(host, f"/omero{LOGIN}", port=8080)) == 0, "old port still served"
        new_pid, cmdline = gunicorn_master(host)
        assert new_pid != old_pid
        assert "--workers 2" in cmdline and "--threads 4" in cmdline
        assert "--timeout 123" in cmdline, "the admin's drop-in was not loaded"
        config = omero_config(host)
        for removed in (
            "omero.web.prefix",
            "omero.web.static_url",
            "omero.web.cors_origin_whitelist",
        ):
            assert removed not in config, removed
        assert config["omero.web.ui.top_links"] == "[]"
        assert config["omero.web.nginx_server_extra_config"] == injected
        assert "omero-web-injected" not in host.run("cat", "/etc/nginx/sites-enabled/omero-web")
        assert host.exit_code("test -e /etc/cron.d/omero-web-injected") != 0
        assert host.run("sha256sum", "/etc/omero-web/50-local.omero") == local_before
        assert (
            "access-control-allow-origin"
            not in get(host, LOGIN, port=8090, origin="https://viewer.example.org").lower()
        )

        # Redis sessions, then back to files.
        host.run("apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server")
        host.sh("/etc/init.d/redis-server start || redis-server --daemonize yes")
        preseed(host, session_store="redis", redis_url="redis://127.0.0.1:6379/1")
        reconfigure(host)
        wait_for(host, LOGIN, port=8090)
        config = omero_config(host)
        assert config["omero.web.session_engine"] == "django.contrib.sessions.backends.cache"
        assert '"LOCATION": "redis://127.0.0.1:6379/1"' in config["omero.web.caches"]
        preseed(host, session_store="files")
        reconfigure(host)
        wait_for(host, LOGIN, port=8090)
        config = omero_config(host)
        assert config["omero.web.session_engine"] == "django.contrib.sessions.backends.file"
        assert "omero.web.caches" not in config


@one_target
def test_nginx_refusal_is_repaired_and_default_site_needs_consent(
    client: docker.DockerClient, target: Target, deb: Path
) -> None:
    with prepared_host(client, target, deb) as host:
        # Another default server on port 80: consenting to become the
        # default there makes nginx -t fail, so the install fails and
        # nothing is activated.
        host.sh(
            "printf 'server {\\n  listen 80 default_server;\\n  server_name other;\\n"
            "  return 418;\\n}\\n' > /etc/nginx/sites-enabled/other && "
            "rm /etc/nginx/sites-enabled/default && /etc/init.d/nginx reload"
        )
        preseed(host, default_site="true")
        out = apt_install(host, deb, check=False)
        assert "duplicate default server" in out, out[-3000:]
        assert "omero-web: not configured" in out
        assert "half-configured" in host.run("dpkg-query", "-W", "-f=${Status}", "omero-web")
        assert host.exit_code("test -e /etc/nginx/sites-enabled/omero-web") != 0
        assert host.exit_code("test -e /etc/omero-web/10-debconf.omero") != 0
        assert status(get(host, LOGIN, host_header="anything.example.org")) == 418
        # A fixed answer and `dpkg --configure -a` repair it.
        preseed(host, default_site="false")
        host.run("dpkg", "--configure", "-a")
        wait_for(host, LOGIN)
        assert status(get(host, LOGIN, host_header="anything.example.org")) == 418

        # Same refusal by dpkg-reconfigure: the admin is told, nginx and
        # OMERO.web keep their previous configuration and keep serving.
        dropin_before = host.run("cat", DROPIN)
        preseed(host, default_site="true", prefix="/omero")
        out = reconfigure(host, check=False)
        assert "duplicate default server" in out
        assert host.run("cat", DROPIN) == dropin_before
        assert "default_server" not in host.run("cat", SITE)
        # (debconf's answers stay as preseeded: dpkg-reconfigure does not
        # save its database when postinst fails.)
        assert "omero.web.prefix" not in omero_config(host), "refused settings applied"
        wait_for(host, LOGIN)
        preseed(host, default_site="false", prefix="")
        reconfigure(host)
        host.run("rm", "/etc/nginx/sites-enabled/other")
        host.run("ln", "-s", "/etc/nginx/sites-available/default", "/etc/nginx/sites-enabled/")
        host.run("/etc/init.d/nginx", "reload")

        # Consent on port 80: Debian's default site makes way, and comes
        # back when the consent is withdrawn or the package removed.
        preseed(host, default_site="true")
        reconfigure(host)
        assert host.exit_code("test -e /etc/nginx/sites-enabled/default") != 0
        assert "listen 80 default_server;" in host.run("cat", SITE)
        wait_for(host, LOGIN)
        assert status(get(host, LOGIN, host_header="anything.example.org")) == 200
        preseed(host, default_site="false")
        reconfigure(host)
        assert host.exit_code("test -L /etc/nginx/sites-enabled/default") == 0
        assert status(get(host, LOGIN, host_header="anything.example.org")) == 404
        wait_for(host, LOGIN)
        preseed(host, default_site="true")
        reconfigure(host)
        assert host.exit_code("test -e /etc/nginx/sites-enabled/default") != 0
        host.run("apt-get", "remove", "-y", "-q", "omero-web")
        assert host.exit_code("test -L /etc/nginx/sites-enabled/default") == 0
        assert host.exit_code("test -e /etc/nginx/sites-enabled/omero-web") != 0
        assert status(get(host, LOGIN)) == 404


@one_target
def test_a_site_the_admin_owns_is_left_alone(
    client: docker.DockerClient, target: Target, deb: Path
) -> None:
    """omero-web/manage_nginx false: the package never writes, disables or
    removes the nginx site, even one at the path it would use."""
    own_site = (
        "server {\n  listen 8085;\n  server_name localhost;\n"
        "  location / { proxy_pass http://127.0.0.1:4080; }\n}\n"
    )
    with prepared_host(client, target, deb) as host:
        host.container.write_file(PurePosixPath(SITE), own_site.encode())
        host.run("ln", "-s", SITE, "/etc/nginx/sites-enabled/omero-web")
        preseed(host, manage_nginx="false")
        out = apt_install(host, deb)
        assert "nginx is not managed by this package" in out
        assert host.run("cat", SITE) == own_site
        host.run("/etc/init.d/nginx", "reload")
        wait_for(host, LOGIN, port=8085)
        host.run("apt-get", "remove", "-y", "-q", "omero-web")
        assert host.exit_code("test -L /etc/nginx/sites-enabled/omero-web") == 0
        host.run("apt-get", "purge", "-y", "-q", "omero-web")
        assert host.run("cat", SITE) == own_site
        assert host.exit_code("test -L /etc/nginx/sites-enabled/omero-web") == 0


@one_target
def test_a_configuration_that_fails_to_load_is_rolled_back(
    client: docker.DockerClient, target: Target, deb: Path
) -> None:
    """An admin's drop-in the omero CLI cannot load: postinst fails, puts
    debconf's drop-in and config.xml back as they were, and keeps them so
    through a second failing run (the backup is not lost); once the drop-in
    is fixed, the new answers apply.  Root never reads config.xml itself: a
    link the service user put there is read as that user, who cannot read
    root's files, and postinst stops before changing anything."""
    local = "/etc/omero-web/50-local.omero"
    with prepared_host(client, target, deb) as host:
        apt_install(host, deb)
        wait_for(host, LOGIN)
        dropin_before = host.run("cat", DROPIN)
        host.sh(f"printf 'config set omero.web.wsgi_timeout 60\\nno-such-command\\n' > {local}")
        preseed(host, prefix="/omero")
        for _ in range(2):
            out = reconfigure(host, check=False)
            assert "omero-web: not configured: OMERO.web could not load the settings" in out, out
            assert host.run("cat", DROPIN) == dropin_before
            assert host.exit_code(f"test -e {DROPIN}.dpkg-old") != 0
            # (The restart after the rollback loads the admin's drop-in
            # again up to its bad line: only debconf's settings are asserted.)
            assert "omero.web.prefix" not in omero_config(host), "refused settings applied"
        host.run("rm", local)
        reconfigure(host)
        wait_for(host, f"/omero{LOGIN}")
        assert omero_config(host)["omero.web.prefix"] == "/omero"
        dropin_after = host.run("cat", DROPIN)

        # config.xml replaced by a link to a file only root can read: the
        # copy postinst keeps aside is made by the service user, so it
        # fails, and root's file stays out of the package's state folder.
        grid = "/opt/omero/web/omero-web/etc/grid"
        host.sh(
            f"runuser -u omero-web -- sh -c 'cp {grid}/config.xml {grid}/real.xml && "
            f"ln -sf /etc/shadow {grid}/config.xml'"
        )
        preseed(host, prefix="")
        out = reconfigure(host, check=False)
        assert "cannot read /opt/omero/web/omero-web/etc/grid/config.xml" in out, out
        assert host.run("cat", DROPIN) == dropin_after
        leaked = host.sh("grep -rl '^root:' /var/lib/omero-web || true")
        assert leaked.strip() == "", f"root's file copied by postinst: {leaked}"
