"""Hosts for the lifecycle, debconf and service scenarios.

Each scenario starts from a fresh container of the target.  Downloading the
package's dependencies (python3.X, nginx, ...) again for every scenario would
cost most of its time, so they are installed once into a committed image,
cached like the builder's images; the package itself is always installed
into the fresh container, as an admin would.  Two kinds of host:

- sysv: the harness's kind (a policy-rc.d that allows starts, services run
  through their init scripts), with nginx started as at boot;
- systemd: systemd as PID 1 (CAP_SYS_ADMIN and the host's cgroups, never
  --privileged, which this Docker cannot grant), so the package's units run
  for real.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import docker
import docker.errors

from builder.container import Container, scratch_mounts
from builder.targets import Target

from .harness import (
    PACKAGE_SCRATCH,
    Host,
    base_image,
    deb_control,
    network_environment,
    prepare_sysv_host,
)

IMAGE_REPOSITORY = "omero-web-deb/test-host"
SYSTEMD_PACKAGES = ("systemd", "systemd-sysv", "dbus")
# What an admin's host has besides the package's Depends: its Recommends
# (cron, logrotate), procps for looking at processes, and debconf-utils.
EXTRA_PACKAGES = ("cron", "logrotate", "procps", "debconf-utils")

_IMAGES: dict[tuple[str, str], str] = {}


def runtime_dependencies(deb: Path) -> list[str]:
    """The first alternative of each Depends entry, without versions."""
    control = deb_control(deb)
    names = []
    for entry in control["Depends"].split(","):
        first = entry.split("|")[0].strip()
        names.append(first.split()[0].split(":")[0])
    return names


def prepared_image(client: docker.DockerClient, target: Target, deb: Path, init: str) -> str:
    """The target's base image with the package's dependencies, cached like
    the builder's images: its tag names what went into it.  The systemd
    kind is the sysv kind plus systemd, so the dependencies are downloaded
    and installed once per target."""
    key = (target.name, init)
    if key in _IMAGES:
        return _IMAGES[key]
    if init == "systemd":
        parent = prepared_image(client, target, deb, "sysv")
        packages = list(SYSTEMD_PACKAGES)
    else:
        parent = base_image(client, target)
        packages = [*runtime_dependencies(deb), *EXTRA_PACKAGES]
    digest = hashlib.sha256(
        "\n".join([str(client.images.get(parent).id), init, *sorted(packages)]).encode()
    ).hexdigest()[:12]
    image = f"{IMAGE_REPOSITORY}:{target.name}-{init}-{digest}"
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        with Container(
            client, parent, log=print, name_prefix=f"omero-web-deb-prepare-{target.name}",
            environment={"DEBIAN_FRONTEND": "noninteractive", **network_environment()},
        ) as container:  # fmt: skip
            host = Host(container)
            if init == "sysv":
                prepare_sysv_host(host)
            host.run("apt-get", "install", "-y", "-q", "--no-install-recommends", *packages)
            if init == "systemd":
                # systemd decides what starts, as on a real host; nginx was
                # installed before systemd came, so enable it as its
                # postinst would have.
                host.run("rm", "-f", "/usr/sbin/policy-rc.d")
                host.run("systemctl", "enable", "nginx.service", "cron.service")
            # Services started by the installs above die with this
            # container; the image keeps what they installed.
            repository, tag = image.split(":")
            container.commit(repository, tag)
    _IMAGES[key] = image
    return image


class SystemdContainer(Container):
    """A Container whose PID 1 is systemd."""

    def __enter__(self) -> SystemdContainer:
        self.log(f"+ docker run {self.image} /sbin/init as {self.name}")
        options: dict[str, Any] = {
            "mounts": scratch_mounts(self.scratch),
            "cap_add": ["SYS_ADMIN"],
            "cgroupns": "host",
            "volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
            "tmpfs": {"/run": "", "/run/lock": ""},
            "stop_signal": "SIGRTMIN+3",
        }
        self._container = self.client.containers.run(
            self.image,
            ["/sbin/init"],
            name=self.name,
            detach=True,
            environment={"container": "docker", **self.environment},
            **options,
        )
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline:
            state = self.call(["systemctl", "is-system-running"], check=False).output.strip()
            if state in ("running", "degraded"):
                return self
            time.sleep(0.5)
        raise AssertionError(f"systemd did not boot in {self.name}: {state}")


@contextmanager
def prepared_host(
    client: docker.DockerClient, target: Target, deb: Path, init: str = "sysv"
) -> Iterator[Host]:
    """A fresh container with the package's dependencies installed and, as
    on a real host, nginx running; the package itself is not installed."""
    image = prepared_image(client, target, deb, init)
    env = {"DEBIAN_FRONTEND": "noninteractive", **network_environment()}
    kind = SystemdContainer if init == "systemd" else Container
    keep = bool(os.environ.get("OMERO_WEB_DEB_KEEP_CONTAINERS"))
    with kind(
        client,
        image,
        log=print,
        name_prefix=f"omero-web-deb-test-{target.name}-{init}",
        environment=env,
        scratch=PACKAGE_SCRATCH,
        keep=keep,
    ) as c:
        host = Host(c)
        if init != "systemd":
            host.run("/etc/init.d/nginx", "start")
        yield host


def apt_install(host: Host, deb: Path, *options: str, check: bool = True) -> str:
    """apt install ./x.deb, as the README says; its whole output."""
    path = host.copy_deb(deb)
    return host.sh(f"apt-get install -y -q {' '.join(options)} {path} 2>&1", check=check)


def preseed(host: Host, **answers: str) -> None:
    """debconf-set-selections, as an admin preseeds: omero-web/NAME answers."""
    types = {
        "manage_nginx": "boolean",
        "default_site": "boolean",
        "worker_class": "select",
        "session_store": "select",
    }
    lines = "".join(
        f"omero-web omero-web/{name} {types.get(name, 'string')} {value}\n"
        for name, value in answers.items()
    )
    host.container.write_file(PurePosixPath("/root/preseed.txt"), lines.encode())
    host.run("debconf-set-selections", "/root/preseed.txt")


def debconf_answers(host: Host) -> dict[str, str]:
    out = host.sh("debconf-show omero-web", check=False)
    answers = {}
    for line in out.splitlines():
        name, _, value = line.lstrip("* ").partition(":")
        name = name.removeprefix("omero-web/")
        # Error templates are in the list too, never with a value.
        if not name.startswith("invalid_") and name != "nginx_failed":
            answers[name] = value.strip()
    return answers


def omero_config(host: Host) -> dict[str, str]:
    """OMERO.web's config.xml, as `omero config get` prints it."""
    out = host.run("/usr/lib/omero-web/omero-web-cli", "config", "get")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def gunicorn_master(host: Host) -> tuple[int, str]:
    """The gunicorn master's pid and command line: the gunicorn whose
    children are gunicorn workers.  Workers orphaned by a killed master run
    on with the same command line, but have no children."""
    table = host.sh("ps -ww -eo pid=,ppid=,args=", check=False)
    gunicorns: dict[int, tuple[int, str]] = {}
    for line in table.splitlines():
        pid, ppid, args = line.split(None, 2)
        if "bin/gunicorn" in args:
            gunicorns[int(pid)] = (int(ppid), args)
    masters = sorted({ppid for ppid, _ in gunicorns.values() if ppid in gunicorns})
    assert len(masters) == 1, f"no single gunicorn master:\n{table}"
    return masters[0], gunicorns[masters[0]][1]


def gunicorn_running(host: Host) -> bool:
    return host.exit_code("pgrep -f '[b]in/gunicorn'") == 0


def get(
    host: Host, path: str, port: int = 80, host_header: str = "localhost", origin: str = ""
) -> str:
    """Status line and headers (lower-cased names) of a GET, then the body."""
    origin_header = f"-H 'Origin: {origin}'" if origin else ""
    return host.sh(
        f"curl -s -i -H 'Host: {host_header}' {origin_header} http://127.0.0.1:{port}{path}",
        check=False,
    ).replace("\r\n", "\n")


def status(response: str) -> int:
    match = re.match(r"HTTP/\S+ (\d+)", response)
    return int(match.group(1)) if match else 0


def wait_for(host: Host, path: str, port: int = 80, code: int = 200, timeout: float = 90) -> None:
    host.sh(
        f"for i in $(seq {int(timeout * 2)}); do "
        f"[ \"$(curl -s -o /dev/null -w '%{{http_code}}' -H 'Host: localhost' "
        f'http://127.0.0.1:{port}{path})" = {code} ] && exit 0; sleep 0.5; done; exit 1'
    )


# Run "$@" (if given), then ask nginx for PATH every 50 ms until it answers
# 200; print the host's clock at the start and at that answer.
TO_SERVING = """
path=$1 timeout=$2
shift 2
start=$(date +%s.%N)
if [ $# -gt 0 ]; then "$@" >&2 || exit; fi
deadline=$(($(date +%s) + timeout))
until [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: localhost' "http://127.0.0.1$path")" = 200 ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "$path did not answer 200 within $timeout s" >&2
        exit 1
    fi
    sleep 0.05
done
echo "$start $(date +%s.%N)"
"""


def seconds_to_serving(
    host: Host, *argv: str, path: str = "/webclient/login/", timeout: int = 90
) -> float:
    """Seconds from now (and the start of ARGV, run in HOST, if given) to the
    first 200 of PATH through nginx, on the host's own clock: no `docker
    exec` round trip and no coarse polling step in the figure."""
    script = ["sh", "-c", TO_SERVING, "sh", path, str(timeout), *argv]
    start, end = host.container.call(script).stdout.split()[-2:]
    return float(end) - float(start)


# A relative expiry (an int) never expires a file session: Django's file
# store measures it from each load.  A timedelta becomes a date, which does.
MAKE_SESSIONS = """
import os
from datetime import timedelta
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omeroweb.settings")
import django
django.setup()
from django.contrib.sessions.backends.file import SessionStore
live = SessionStore()
live["who"] = "live"
live.set_expiry(timedelta(hours=1))
live.save()
stale = SessionStore()
stale["who"] = "stale"
stale.set_expiry(timedelta(seconds=1))
stale.save()
print(live.session_key, stale.session_key)
"""


def make_sessions(host: Host) -> tuple[str, str]:
    """Two file sessions in the app's store, made by the app's own Django:
    one live for an hour, one already expired.  Their keys."""
    live, stale = host.run(
        "/usr/lib/omero-web/omero-web-cli", "--python", "-c", MAKE_SESSIONS
    ).split()[-2:]
    time.sleep(2)
    return live, stale


def cron_job(host: Host) -> list[str]:
    """/etc/cron.d/omero-web's job: its five time fields, user and command."""
    line = next(
        line
        for line in host.run("cat", "/etc/cron.d/omero-web").splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    )
    return line.split(None, 6)


LOGIN_ATTEMPT = r"""
set -e
cd "$(mktemp -d)"
url="http://127.0.0.1$1"
curl -s -c jar -b jar -H 'Host: localhost' -o form.html "$url"
token=$(sed -n 's/.*name="csrfmiddlewaretoken" value="\([^"]*\)".*/\1/p' form.html | head -n 1)
test -n "$token"
curl -s -c jar -b jar -H 'Host: localhost' -H "Referer: http://localhost$1" \
    --data-urlencode "csrfmiddlewaretoken=$token" --data-urlencode username=root \
    --data-urlencode password=omero --data-urlencode server=1 \
    -o answer.html -w '%{http_code}\n' "$url"
cat answer.html
"""


def login_attempt(host: Host, path: str = "/webclient/login/") -> tuple[int, str]:
    """POST the login form as a browser does (its CSRF cookie and token, a
    Referer): the status and the page that comes back."""
    out = host.container.call(["sh", "-c", LOGIN_ATTEMPT, "sh", path], check=False).output
    code, _, body = out.partition("\n")
    return int(code) if code.isdigit() else 0, body
