"""The package's nginx site (`omero_web_helper.py nginx write|disable|is-ours`,
and `nginx-site`, which renders upstream's part), run against a temporary
file-system root with a fake nginx: what is written, what nginx -t refusing
puts back, and when Debian's own default site makes way and comes back."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.fakes import FakeOmeroCLI
from tests.unit.rendered_scripts import load_rendered_script

# What `omero web config nginx --http PORT --servername NAMES` prints, in the
# shape of upstream's template; OMERODIR stands for the folder it ran in.
UPSTREAM = """\
upstream omeroweb_omero {
    server 127.0.0.1:4080 fail_timeout=0;
}

server {
    listen PORT;
    server_name NAMES;

    sendfile on;
    client_max_body_size 0;

    # maintenance page serve from here
    location @maintenance_omero {
        root OMERODIR/etc/templates/error;
        try_files $uri /maintainance.html =502;
    }

    # weblitz django apps serve media from here
    location /static {
        alias OMERODIR/var/static;
    }

    location @proxy_to_app_omero {
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_pass http://omeroweb_omero;
    }

    location / {
        error_page 502 @maintenance_omero;
        # checks for static file, if not found proxy to app
        try_files $uri @proxy_to_app_omero;
    }
}
"""
DEBIAN_DEFAULT_SITE = """\
server {
\tlisten 80 default_server;
\tlisten [::]:80 default_server;
\troot /var/www/html;
\tserver_name _;
}
"""
OTHER_DEFAULT_SITE = "server {\n  listen 80 default_server;\n  return 418;\n}\n"
NGINX_OK = "nginx: configuration file /etc/nginx/nginx.conf test is successful\n"


def completed(
    argv: Sequence[str], status: int, out: str = "", err: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(list(argv), status, out, err)


class FakeHost:
    """nginx, invoke-rc.d and `nginx-site` as the helper runs them, on a
    file system under ROOT.  The fake `nginx -t` checks the one thing these
    tests need: no two enabled sites are the default server on a port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.commands: list[list[str]] = []
        self.environments: list[Mapping[str, str] | None] = []
        self.installed = {"nginx", "invoke-rc.d"}
        self.upstream = UPSTREAM
        self.render_status = 0
        self.nginx_running = True
        self.port_free = True

    def which(self, name: str) -> str | None:
        return f"/usr/sbin/{name}" if name in self.installed else None

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(argv))
        self.environments.append(env)
        if "nginx-site" in argv:
            assert env is not None
            port, names = argv[argv.index("nginx-site") + 1 :][:2]
            text = self.upstream.replace("PORT", port).replace("NAMES", names)
            return completed(argv, self.render_status, text.replace("OMERODIR", env["OMERODIR"]))
        if list(argv) == ["nginx", "-t"]:
            return self.nginx_test()
        if list(argv) == ["invoke-rc.d", "nginx", "reload"]:
            return completed(argv, 0)
        if list(argv) == ["invoke-rc.d", "nginx", "start"]:
            self.nginx_running = self.port_free
            return completed(argv, 0 if self.port_free else 1, "", "" if self.port_free else BIND)
        if list(argv) == ["invoke-rc.d", "nginx", "status"]:
            return completed(argv, 0 if self.nginx_running else 3)
        raise AssertionError(f"unexpected command {argv}")

    def nginx_test(self) -> subprocess.CompletedProcess[str]:
        defaults: Counter[str] = Counter()
        for site in sorted((self.root / "etc/nginx/sites-enabled").iterdir()):
            text = site.read_text()
            defaults.update(set(re.findall(r"listen (?:\S*:)?(\d+) default_server;", text)))
        for port, count in defaults.items():
            if count > 1:
                emerg = f"nginx: [emerg] a duplicate default server for 0.0.0.0:{port}\n"
                return completed(["nginx", "-t"], 1, "", emerg)
        return completed(["nginx", "-t"], 0, "", NGINX_OK)

    def ran(self, *argv: str) -> int:
        return self.commands.count(list(argv))


@pytest.fixture
def helper(tmp_path: Path) -> ModuleType:
    return load_rendered_script("omero_web_helper.py", tmp_path)


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    """A host with nginx's Debian layout, its default site enabled, and the
    package's drop-ins."""
    root = tmp_path / "root"
    for folder in ("etc/nginx/sites-available", "etc/nginx/sites-enabled", "etc/omero-web"):
        (root / folder).mkdir(parents=True)
    (root / "etc/nginx/sites-available/default").write_text(DEBIAN_DEFAULT_SITE)
    (root / "etc/nginx/sites-enabled/default").symlink_to(
        root / "etc/nginx/sites-available/default"
    )
    for dropin in ("50-local.omero", "10-debconf.omero", ".hidden.omero"):
        (root / "etc/omero-web" / dropin).write_text("config set omero.web.prefix\n")
    (root / "etc/omero-web/README").write_text("not a drop-in\n")
    return FakeHost(root)


@pytest.fixture
def nginx(helper: ModuleType, host: FakeHost) -> Any:
    return helper.Nginx(root=host.root, run=host.run, which=host.which)


def test_write_puts_upstreams_site_in_place_with_the_maintenance_page_fixed(
    helper: ModuleType, host: FakeHost, nginx: Any
) -> None:
    nginx.write("8080", ["localhost", "web.example.org"], default_server=False)

    text = nginx.site.read_text()
    lines = text.splitlines()
    assert lines[0] == helper.HEADER
    assert all(line.startswith("# ") for line in lines[:5])
    assert "    listen 8080;" in lines
    assert "    server_name localhost web.example.org;" in lines
    # The maintenance page also where a stopped app's 502 arises.
    proxy = lines.index("    location @proxy_to_app_omero {")
    assert lines[proxy + 1] == "        error_page 502 @maintenance_omero;"
    # Rendered in a private OMERODIR; the site names the real one.
    assert f"root {helper.OMERODIR}/etc/templates/error;" in text
    assert f"alias {helper.OMERODIR}/var/static;" in text
    assert text.endswith("}\n")
    assert nginx.site.stat().st_mode & 0o777 == 0o644
    assert nginx.enabled.is_symlink() and nginx.enabled.resolve() == nginx.site
    assert sorted(p.name for p in nginx.site.parent.iterdir()) == ["default", "omero-web"]
    assert nginx.debian_enabled.is_symlink()
    assert host.commands[1:] == [
        ["nginx", "-t"],
        ["invoke-rc.d", "nginx", "reload"],
        ["invoke-rc.d", "nginx", "status"],
    ]


def test_a_site_rendered_ahead_is_written_without_rendering_it_again(
    helper: ModuleType, host: FakeHost, nginx: Any
) -> None:
    """postinst renders upstream's part (`nginx render`) while apply-config
    loads the drop-ins, then hands it to `nginx write --upstream-site`."""
    rendered = nginx.upstream_site("8080", "localhost")
    assert host.commands[0][-4:-2] == ["8080", "localhost"]
    host.commands.clear()
    nginx.write("8080", ["localhost"], default_server=False, upstream=rendered)
    assert not [argv for argv in host.commands if "nginx-site" in argv]
    assert host.commands[0] == ["nginx", "-t"]
    assert "    listen 8080;" in nginx.site.read_text().splitlines()


BIND = "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)\n"


def test_a_stopped_nginx_is_started_and_one_that_cannot_start_is_a_warning(
    host: FakeHost, nginx: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Port 80 held: the site is written, nginx cannot start, one warning
    says why and what to do; once the port is free, the next write (a
    dpkg-reconfigure) starts it."""
    host.nginx_running = False
    host.port_free = False
    nginx.write("80", ["localhost"], default_server=False)
    err = capsys.readouterr().err
    assert BIND in err
    assert err.count("WARNING") == 1 and "dpkg-reconfigure omero-web" in err
    assert nginx.enabled.is_symlink()
    host.port_free = True
    nginx.write("80", ["localhost"], default_server=False)
    assert host.nginx_running and "WARNING" not in capsys.readouterr().err


def test_static_files_are_cached_by_version_and_text_compressed(
    helper: ModuleType, host: FakeHost, nginx: Any
) -> None:
    nginx.write("80", ["localhost"], default_server=False)
    lines = nginx.site.read_text().splitlines()
    # In http context (the site is included there), before the server.
    mapping = lines.index("map $args $omero_web_static_expires {")
    assert lines[mapping : mapping + 4] == [
        "map $args $omero_web_static_expires {",
        "    ~^_ 1y;",
        "    default 1h;",
        "}",
    ]
    assert mapping < lines.index("server {")
    alias = next(i for i, line in enumerate(lines) if line.startswith("        alias "))
    assert lines[alias + 1] == "        expires $omero_web_static_expires;"
    sendfile = lines.index("    sendfile on;")
    assert lines[sendfile + 1 : sendfile + 3] == ["    gzip on;", "    gzip_vary on;"]
    assert any(line.startswith("    gzip_types text/css ") for line in lines)


def test_the_admins_own_gzip_directives_are_not_repeated(
    helper: ModuleType, host: FakeHost, nginx: Any
) -> None:
    host.upstream = UPSTREAM.replace(
        "    sendfile on;\n", "    sendfile on;\n    gzip on;\n    gzip_types text/css;\n"
    )
    nginx.write("80", ["localhost"], default_server=False)
    text = nginx.site.read_text()
    assert text.count("gzip on;") == 1 and "gzip_vary" not in text


def test_upstreams_site_is_rendered_as_root_from_the_dropins_only(
    helper: ModuleType, host: FakeHost, nginx: Any
) -> None:
    nginx.write("80", ["localhost", "*.example.org"], default_server=False)
    render = host.commands[0]
    dropins = host.root / "etc/omero-web"
    assert render[:3] == [str(helper.VENV / "bin" / "python3"), "-I", render[2]]
    assert Path(render[2]).name == "omero_web_helper.py"
    assert render[3:] == [
        "nginx-site",
        "80",
        "localhost *.example.org",
        str(dropins / "10-debconf.omero"),
        str(dropins / "50-local.omero"),
    ]
    env = host.environments[0]
    assert env is not None and set(env) == {"PATH", "LANG", "OMERODIR", "HOME"}
    assert env["HOME"] == env["OMERODIR"] != str(helper.OMERODIR)
    assert not Path(env["OMERODIR"]).exists(), "the private OMERODIR is removed"


def test_default_server_consent_disables_debians_default_site_on_that_port(
    host: FakeHost, nginx: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    nginx.write("80", ["localhost"], default_server=True)
    assert "    listen 80 default_server;" in nginx.site.read_text().splitlines()
    assert not nginx.debian_enabled.exists() and not nginx.debian_enabled.is_symlink()
    assert nginx.debian_disabled.read_text() == "80\n"
    assert "disabled Debian's default nginx site" in capsys.readouterr().err

    # Consent withdrawn: Debian's site comes back, checked by nginx -t.
    nginx.write("80", ["localhost"], default_server=False)
    assert nginx.debian_enabled.is_symlink()
    assert nginx.debian_enabled.resolve() == nginx.debian_site
    assert not nginx.debian_disabled.exists()
    assert "enabled Debian's default nginx site again." in capsys.readouterr().err


def test_debians_site_stays_where_it_does_not_claim_the_port(host: FakeHost, nginx: Any) -> None:
    nginx.write("8080", ["localhost"], default_server=True)
    assert "listen 8080 default_server;" in nginx.site.read_text()
    assert nginx.debian_enabled.is_symlink()
    assert not nginx.debian_disabled.exists()


def test_debians_site_enabled_as_a_file_is_the_admins_and_stays(host: FakeHost, nginx: Any) -> None:
    nginx.debian_enabled.unlink()
    nginx.debian_enabled.write_text("server {\n  listen 8081;\n}\n")
    nginx.write("80", ["localhost"], default_server=True)
    assert nginx.debian_enabled.read_text() == "server {\n  listen 8081;\n}\n"
    assert not nginx.debian_disabled.exists()


def test_a_site_nginx_refuses_is_rolled_back_to_the_previous_one(
    helper: ModuleType, host: FakeHost, nginx: Any
) -> None:
    nginx.write("80", ["localhost"], default_server=False)
    previous = nginx.site.read_text()
    # Another default server on port 80 (the admin's), Debian's disabled.
    nginx.debian_enabled.unlink()
    (host.root / "etc/nginx/sites-enabled/other").write_text(OTHER_DEFAULT_SITE)

    with pytest.raises(helper.HelperError) as refused:
        nginx.write("80", ["localhost"], default_server=True)
    message = str(refused.value)
    assert message.startswith("the new nginx site fails 'nginx -t'; nginx keeps its previous")
    assert message.endswith("\nnginx: [emerg] a duplicate default server for 0.0.0.0:80")
    assert nginx.site.read_text() == previous
    assert nginx.enabled.is_symlink()
    assert not nginx.backup.exists()
    assert sorted(p.name for p in nginx.site.parent.iterdir()) == ["default", "omero-web"]
    assert host.ran("invoke-rc.d", "nginx", "reload") == 1  # the first write's only


def test_a_first_site_nginx_refuses_leaves_nothing_behind(
    helper: ModuleType, host: FakeHost, nginx: Any
) -> None:
    (host.root / "etc/nginx/sites-enabled/other").write_text(OTHER_DEFAULT_SITE)
    host.nginx_test = lambda: completed(["nginx", "-t"], 1, "", "nginx: [emerg] refused\n")
    with pytest.raises(helper.HelperError, match="refused"):
        nginx.write("80", ["localhost"], default_server=True)
    assert not nginx.site.exists()
    assert not nginx.enabled.exists() and not nginx.enabled.is_symlink()
    # Debian's default site, disabled for the new one, is back.
    assert nginx.debian_enabled.resolve() == nginx.debian_site
    assert not nginx.debian_disabled.exists()
    assert host.ran("invoke-rc.d", "nginx", "reload") == 0


@pytest.mark.parametrize(
    ("upstream", "default_server", "complaint"),
    [
        (UPSTREAM.replace("@proxy_to_app", "@app"), False, "found no @proxy_to_app location"),
        (UPSTREAM.replace("listen PORT;", "listen PORT ssl;"), True, "found no 'listen 80;' line"),
    ],
)
def test_a_site_without_what_the_package_changes_is_refused_before_nginx(
    helper: ModuleType,
    host: FakeHost,
    nginx: Any,
    upstream: str,
    default_server: bool,
    complaint: str,
) -> None:
    host.upstream = upstream
    with pytest.raises(helper.HelperError, match=complaint):
        nginx.write("80", ["localhost"], default_server=default_server)
    assert sorted(p.name for p in nginx.site.parent.iterdir()) == ["default"]
    assert host.ran("nginx", "-t") == 0


def test_a_failed_rendering_writes_nothing_and_shows_the_clis_output(
    helper: ModuleType,
    host: FakeHost,
    nginx: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host.upstream = "Error: bad setting\n"
    host.render_status = 1
    with pytest.raises(helper.HelperError, match="could not render the nginx site"):
        nginx.write("80", ["localhost"], default_server=False)
    assert "Error: bad setting" in capsys.readouterr().err
    assert sorted(p.name for p in nginx.site.parent.iterdir()) == ["default"]


def test_disable_removes_the_link_and_brings_debians_site_back(host: FakeHost, nginx: Any) -> None:
    nginx.write("80", ["localhost"], default_server=True)
    nginx.disable()
    assert not nginx.enabled.is_symlink()
    assert nginx.site.exists(), "the file stays until purge"
    assert nginx.debian_enabled.resolve() == nginx.debian_site
    assert not nginx.debian_disabled.exists()
    assert host.commands[-2:] == [["nginx", "-t"], ["invoke-rc.d", "nginx", "reload"]]


def test_disable_without_nginx_still_brings_debians_site_back(host: FakeHost, nginx: Any) -> None:
    """nginx removed first (not purged): its default site is still there,
    and postrm, which runs without the helper, does not link it back."""
    nginx.write("80", ["localhost"], default_server=True)
    host.installed.clear()
    ran = len(host.commands)
    nginx.disable()
    assert nginx.debian_enabled.resolve() == nginx.debian_site
    assert not nginx.debian_disabled.exists()
    assert not nginx.enabled.is_symlink()
    assert host.commands[ran:] == []


def test_disable_leaves_debians_site_off_where_nginx_would_refuse_it(
    host: FakeHost, nginx: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    nginx.write("80", ["localhost"], default_server=True)
    (host.root / "etc/nginx/sites-enabled/other").write_text(OTHER_DEFAULT_SITE)
    nginx.disable()
    assert not nginx.debian_enabled.exists() and not nginx.debian_enabled.is_symlink()
    assert nginx.debian_disabled.exists()
    assert "left Debian's default nginx site disabled" in capsys.readouterr().err


def test_disable_leaves_the_admins_site_alone(host: FakeHost, nginx: Any) -> None:
    nginx.site.write_text("server {\n  listen 80;\n}\n")
    nginx.enabled.symlink_to(nginx.site)
    assert not nginx.is_ours()
    nginx.disable()
    assert nginx.enabled.is_symlink()
    assert host.commands == []


def test_is_ours_reads_the_header(helper: ModuleType, host: FakeHost, nginx: Any) -> None:
    assert not nginx.is_ours()  # no site
    nginx.site.write_text(helper.HEADER + "\nserver {}\n")
    assert nginx.is_ours()
    nginx.site.write_text("# " + helper.HEADER + "\n")
    assert not nginx.is_ours()


def test_the_nginx_commands_reach_the_site_under_their_arguments(
    helper: ModuleType, nginx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(helper, "Nginx", lambda: nginx)
    assert helper.main(["nginx", "is-ours"]) == 1
    assert helper.main(["nginx", "write", "--default-server", "80", "localhost", "a.b"]) == 0
    assert "listen 80 default_server;" in nginx.site.read_text()
    assert "server_name localhost a.b;" in nginx.site.read_text()
    assert helper.main(["nginx", "is-ours"]) == 0
    assert helper.main(["nginx", "disable"]) == 0
    assert not nginx.enabled.is_symlink()


@pytest.mark.parametrize("port", ["0", "65536", "080", "80;", "x"])
def test_write_refuses_a_port_that_is_not_one(
    helper: ModuleType, port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:
        helper.main(["nginx", "write", port, "localhost"])
    assert usage.value.code == 2
    assert "not a port number" in capsys.readouterr().err


def test_nginx_site_loads_the_dropins_then_prints_the_site(helper: ModuleType) -> None:
    web = ["web", "config", "nginx", "--http", "80", "--servername", "localhost a.b"]
    assert helper.nginx_site_commands("80", "localhost a.b", ["10.omero", "50.omero"]) == [
        ["load", "10.omero", "50.omero"],
        web,
    ]
    # No drop-in: no `load`, which would read standard input.
    assert helper.nginx_site_commands("80", "localhost a.b", []) == [web]


@pytest.fixture
def omero_cli(helper: ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakeOmeroCLI:
    return FakeOmeroCLI().install(helper, monkeypatch)


def test_nginx_site_runs_its_arguments_through_the_omero_cli(
    helper: ModuleType, omero_cli: FakeOmeroCLI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert helper.main(["nginx-site", "80", "localhost a.b", "/x/10.omero"]) == 0
    assert omero_cli.invoked == [
        ["load", "/x/10.omero"],
        ["web", "config", "nginx", "--http", "80", "--servername", "localhost a.b"],
    ]
    omero_cli.invoked = []
    omero_cli.failing = "load"
    assert helper.main(["nginx-site", "80", "localhost", "/x/10.omero"]) == 1
    assert omero_cli.invoked == [["load", "/x/10.omero"]]
    assert "omero-web: `omero load /x/10.omero` failed (above)" in capsys.readouterr().err
    # Only the commands the site needs are loaded into the CLI, `web` among them.
    assert omero_cli.made_with_web == [True, True]


def test_if_changed_leaves_a_site_with_the_same_text_and_nginx_alone(
    host: FakeHost, nginx: Any
) -> None:
    """The apps' trigger: an app rarely changes the site, and then nginx is
    neither checked nor reloaded; a changed site is written as always."""
    nginx.write("80", ["localhost"], default_server=False)
    before = nginx.site.stat().st_mtime_ns
    host.commands.clear()
    nginx.write("80", ["localhost"], default_server=False, if_changed=True)
    assert [c for c in host.commands if "nginx-site" not in c] == []
    assert nginx.site.stat().st_mtime_ns == before
    nginx.write("80", ["localhost", "web.example.org"], default_server=False, if_changed=True)
    assert "server_name localhost web.example.org;" in nginx.site.read_text()
    assert host.ran("nginx", "-t") == 1
