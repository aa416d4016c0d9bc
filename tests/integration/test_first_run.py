"""The first run as a new user makes it, day one as a sysadmin lives it,
production as a facility runs it (issue 11), on one host per target:

- port 80 held at install: one warning, exit 0; freed, dpkg-reconfigure
  brings nginx up;
- stock nginx: OMERO.web is the default site, at http://127.0.0.1/, and the
  install prints where it answers;
- the documented CLI command: web status and config get without a
  traceback, config set of a debconf key refused with the way to change it;
- HTTPS with a test CA's certificate: the redirect, TLS 1.2+ only, secure
  cookies, a login POST not refused by CSRF; renewal by reload; a vanished
  certificate fails the reload safe; bad certificates refused with nothing
  half-written; back to HTTP;
- a Redis password in no file other users can read;
- purge, then a host whose default site the admin changed: left alone, and
  OMERO.web answers by name.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path, PurePosixPath

import docker
import pytest

from builder.targets import Target

from .conftest import record
from .harness import Host
from .hosts import (
    apt_install,
    debconf_answers,
    get,
    omero_config,
    prepared_host,
    preseed,
    status,
    wait_for,
)

LOGIN = "/webclient/login/"
SITE = "/etc/nginx/sites-available/omero-web"
DROPIN = "/etc/omero-web/10-debconf.omero"
CLI = "omero-web-cli"
TLS_DIR = PurePosixPath("/etc/ssl/omero-test")
SECRET = "Redis-Pa55-w0rd-7f3a"
# The config script alone, as debconf runs it: the answers checked, nothing
# applied.
CONFIG_SCRIPT = "/usr/share/debconf/frontend /var/lib/dpkg/info/omero-web.config configure"


def reconfigure(host: Host, check: bool = True) -> str:
    return host.sh("dpkg-reconfigure -fnoninteractive omero-web 2>&1", check=check)


def openssl(*argv: str) -> None:
    subprocess.run(["openssl", *argv], check=True, capture_output=True)


def make_test_pki(folder: Path) -> None:
    """A test CA; certificates for localhost it signed (one to renew with,
    one expired); and a key that matches none of them."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=omero-web test CA",
            "-days", "2", "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem"))  # fmt: skip
    extensions = folder / "san.ext"
    extensions.write_text("subjectAltName=DNS:localhost\n")
    for name, days in (("server", 2), ("renewed", 2), ("expired", -1)):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.csr"))  # fmt: skip
        openssl("x509", "-req", "-in", str(folder / f"{name}.csr"), "-CA", str(folder / "ca.pem"),
                "-CAkey", str(folder / "ca.key"), "-set_serial", str(1000 + days + len(name)),
                "-days", str(days), "-extfile", str(extensions), "-out", str(folder / f"{name}.pem"))  # fmt: skip
    openssl("genpkey", "-algorithm", "RSA", "-out", str(folder / "other.key"))


def https(host: Host, path: str, *options: str) -> str:
    """curl over HTTPS to localhost, trusting the test CA: headers and body."""
    return host.sh(
        f"curl -s -i --cacert {TLS_DIR}/ca.pem --resolve localhost:443:127.0.0.1 "
        f"{' '.join(options)} 'https://localhost{path}'",
        check=False,
    ).replace("\r\n", "\n")


def wait_for_https(host: Host, path: str, timeout: float = 90) -> str:
    """The first 200 over HTTPS (the service restarts after a reconfigure)."""
    deadline = time.monotonic() + timeout
    while (page := https(host, path)) and status(page) != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    return page


def handshake(host: Host, *options: str) -> bool:
    """Whether a TLS handshake with the given client options succeeds."""
    return (
        host.exit_code(
            f"echo | openssl s_client -connect 127.0.0.1:443 -servername localhost {' '.join(options)}"
        )
        == 0
    )


def served_serial(host: Host) -> str:
    return host.sh(
        "echo | openssl s_client -connect 127.0.0.1:443 -servername localhost 2>/dev/null | "
        "openssl x509 -noout -serial",
        check=False,
    ).strip()


HTTPS_LOGIN = r"""
set -e
cd "$(mktemp -d)"
curl="curl -s --cacert $1/ca.pem --resolve localhost:443:127.0.0.1 -c jar -b jar"
$curl -o form.html https://localhost/webclient/login/
token=$(sed -n 's/.*name="csrfmiddlewaretoken" value="\([^"]*\)".*/\1/p' form.html | head -n 1)
test -n "$token"
$curl -H "Referer: https://localhost/webclient/login/" \
    --data-urlencode "csrfmiddlewaretoken=$token" --data-urlencode username=root \
    --data-urlencode password=omero --data-urlencode server=1 \
    -o answer.html -w '%{http_code}\n' https://localhost/webclient/login/
cat answer.html
"""


def files_under(host: Host, *folders: str) -> str:
    return host.sh(f"find {' '.join(folders)} -type f 2>/dev/null | sort", check=False)


def test_first_run_day_one_and_https(
    client: docker.DockerClient, target: Target, deb: Path, tmp_path: Path
) -> None:
    make_test_pki(tmp_path)
    with prepared_host(client, target, deb) as host:
        start = time.monotonic()
        for name in ("ca.pem", "server.pem", "server.key", "renewed.pem", "renewed.key",
                     "expired.pem", "expired.key", "other.key"):  # fmt: skip
            host.container.copy_into(tmp_path / name, TLS_DIR)
        host.run("chmod", "600", *(f"{TLS_DIR}/{k}" for k in ("server.key", "other.key")))

        # Port 80 held by another server at install: one warning, exit 0.
        # (The init script's stop waits for a process the container's PID 1
        # never reaps, and says it failed: wait for the port instead.)
        host.sh(
            "/etc/init.d/nginx stop; for i in $(seq 100); do "
            "curl -s -o /dev/null http://127.0.0.1/ || exit 0; sleep 0.1; done; exit 1"
        )
        host.sh(f"nohup python{target.python} -m http.server 80 >/dev/null 2>&1 &")
        host.sh(
            "for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1/ && exit 0; sleep 0.1; done; exit 1"
        )
        out = apt_install(host, deb)
        assert out.count("WARNING: nginx is not running") == 1, out[-3000:]
        assert "dpkg-reconfigure omero-web" in out
        # Stock nginx: OMERO.web becomes the default site, and says where.
        assert "omero-web: disabled Debian's default nginx site" in out, out[-3000:]
        assert "omero-web: OMERO.web answers at: http://localhost/" in out, out[-3000:]
        # Freed: dpkg-reconfigure starts nginx.
        host.sh("pkill -f '[h]ttp.server 80'")
        reconfigure(host)
        wait_for(host, LOGIN)
        by_address = host.sh("curl -s http://127.0.0.1/webclient/login/ -w '\n%{http_code}'")
        assert by_address.rstrip().endswith("\n200") and 'name="username"' in by_address

        # The documented CLI, on PATH.
        assert host.run("sh", "-c", f"command -v {CLI}").strip() == "/usr/sbin/omero-web-cli"
        for argv in (["web", "status"], ["config", "get"]):
            out = host.sh(f"{CLI} {' '.join(argv)} 2>&1")
            assert "Traceback" not in out and "PermissionError" not in out, out
        workers = omero_config(host)["omero.web.wsgi_workers"]
        out = host.sh(f"{CLI} config set omero.web.wsgi_workers 2 2>&1; echo rc=$?")
        assert out.strip().endswith("rc=1"), out
        assert DROPIN in out and "dpkg-reconfigure omero-web" in out
        assert omero_config(host)["omero.web.wsgi_workers"] == workers
        host.run(CLI, "config", "set", "omero.web.ui.top_links", "[]")  # not debconf's
        assert "omero-web-cli" in host.sh("zcat -f /usr/share/doc/omero-web/README.Debian*")
        site_http = host.run("cat", SITE)

        # HTTPS with the test CA's certificate.
        preseed(host, https=f"{TLS_DIR}/server.pem {TLS_DIR}/server.key")
        out = reconfigure(host)
        assert "https://localhost/" in out
        wait_for(host, LOGIN, code=301)
        assert "location: https://localhost/webclient/login/" in get(host, LOGIN).lower()
        page = wait_for_https(host, LOGIN)
        assert status(page) == 200 and 'name="username"' in page, page[:2000]
        cookies = [line for line in page.lower().splitlines() if line.startswith("set-cookie:")]
        assert cookies and all("; secure" in line for line in cookies), cookies
        code, _, body = host.container.call(
            ["sh", "-c", HTTPS_LOGIN, "sh", str(TLS_DIR)], check=False
        ).output.partition("\n")
        assert code == "200", body[-2000:]
        assert "Server is not responding, please contact administrator." in body
        assert handshake(host, "-tls1_2")
        for old in ("-tls1", "-tls1_1"):
            assert not handshake(host, old, "-cipher", "DEFAULT@SECLEVEL=0"), old

        # Renewed in place: a reload serves it.  Vanished: the reload is
        # refused, and nginx serves on with what it has.
        first = served_serial(host)
        host.sh(f"cp {TLS_DIR}/renewed.pem {TLS_DIR}/server.pem && "
                f"cp {TLS_DIR}/renewed.key {TLS_DIR}/server.key")  # fmt: skip
        host.run("/etc/init.d/nginx", "reload")
        deadline = time.monotonic() + 15  # the old workers finish their requests
        while served_serial(host) in ("", first) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert served_serial(host) not in ("", first)
        host.run("mv", f"{TLS_DIR}/server.pem", f"{TLS_DIR}/server.pem.away")
        out = host.sh("/etc/init.d/nginx reload 2>&1; echo rc=$?", check=False)
        # Debian's init script says "failed", Ubuntu's "...fail!".
        assert "fail" in out and not out.strip().endswith("rc=0"), out
        assert "server.pem" in host.sh("nginx -t 2>&1", check=False)
        assert status(https(host, LOGIN)) == 200
        host.run("mv", f"{TLS_DIR}/server.pem.away", f"{TLS_DIR}/server.pem")

        # Bad answers: refused, the previous one kept, nothing half-written.
        # The first through dpkg-reconfigure (config script and postinst),
        # the others through the config script alone, which refuses them.
        site = host.run("cat", SITE)
        for bad, why, run in (
            (f"{TLS_DIR}/server.pem {TLS_DIR}/other.key", "does not match the certificate",
             "dpkg-reconfigure -fnoninteractive omero-web"),
            (f"{TLS_DIR}/expired.pem {TLS_DIR}/expired.key", "has expired", CONFIG_SCRIPT),
            (f"{TLS_DIR}/gone.pem {TLS_DIR}/server.key", "gone.pem does not exist", CONFIG_SCRIPT),
        ):  # fmt: skip
            preseed(host, https=bad)
            out = host.sh(f"{run} 2>&1")
            assert f'invalid answer "{bad}" to omero-web/https ignored (' in out, out[-2000:]
            assert why in out
            assert debconf_answers(host)["https"] == f"{TLS_DIR}/server.pem {TLS_DIR}/server.key"
            assert host.run("cat", SITE) == site
            assert host.run("ls", "/etc/nginx/sites-available").split() == ["default", "omero-web"]
            assert status(wait_for_https(host, LOGIN)) == 200

        # Back to HTTP, with Redis sessions behind a password, which is in no
        # file other users can read.
        preseed(host, https="none", session_store="redis")
        host.sh(
            f"echo 'omero-web omero-web/redis_password password {SECRET}' | debconf-set-selections"
        )
        reconfigure(host)
        # (No Redis server runs here: nginx's own static files say HTTP is back.)
        assert status(get(host, "/static/webgateway/css/ome.body.css")) == 200
        assert host.run("cat", SITE) == site_http
        config = omero_config(host)
        assert "omero.web.session_cookie_secure" not in config
        assert SECRET in config["omero.web.caches"], "the password was not applied"
        readable = host.sh(
            "find / /opt -xdev -perm -o+r -type f 2>/dev/null | "
            f"xargs -d '\\n' grep -l -F '{SECRET}' 2>/dev/null || true"
        )
        assert readable.strip() == "", readable

        # Purge leaves nothing of it, and Debian's default site is back.
        host.run("apt-get", "purge", "-y", "-q", "omero-web")
        assert files_under(host, "/etc/omero-web", "/var/lib/omero-web").strip() == ""
        assert host.exit_code(f"test -e {SITE}") != 0
        assert host.exit_code("test -L /etc/nginx/sites-enabled/default") == 0

        # A default site the admin changed is left alone; OMERO.web answers
        # by name.
        host.sh("echo '# changed by the admin' >> /etc/nginx/sites-available/default")
        out = apt_install(host, deb)
        assert "disabled Debian's default nginx site" not in out
        wait_for(host, LOGIN)
        assert host.exit_code("test -L /etc/nginx/sites-enabled/default") == 0
        assert status(get(host, LOGIN, host_header="127.0.0.1")) == 404
        assert "Welcome to nginx" in get(host, "/", host_header="127.0.0.1")
        record(target, first_run_test_s=round(time.monotonic() - start, 1))


@pytest.fixture(autouse=True)
def _needs_openssl() -> None:
    if subprocess.run(["openssl", "version"], capture_output=True).returncode != 0:
        pytest.fail("the test CA is made with the host's openssl: install it")
