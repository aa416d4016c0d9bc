"""The internal apt repository served over HTTP by a real web server: a fresh
host installs omero-web with apt alone, upgrades to a newer build with its
configuration kept, rolls back to the older version, and refuses a
repository signed by another key or with a tampered index.

Installing, upgrading and rolling back run on every target (their apt
differs); apt's refusals are apt's own, shown on one target.
"""

from __future__ import annotations

import functools
import gzip
import ipaddress
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest

from builder.paths import CONFIG_DIR, OMERODIR
from builder.repo.index import CLIENT_KEYRING, CLIENT_SOURCES, index_dir
from builder.targets import Target
from tests.fake_debs import make_deb

from .conftest import record
from .harness import ROOT, Host, deb_control, fresh_host
from .hosts import prepared_host

REPO_TARGET = "debian-12"
LOGIN = "/webclient/login/"
ADMIN_DROP_IN = CONFIG_DIR / "50-admin.omero"
SECRET_KEY = OMERODIR / "var" / "django_secret_key"
SETTING = "omero.web.session_expire_at_browser_close"  # an admin's choice, in a drop-in
CLI = "/usr/lib/omero-web/omero-web-cli"


@dataclass(frozen=True)
class WebServer:
    root: Path  # holds one symlink per repository it serves
    url: str

    def serve(self, name: str, folder: Path) -> str:
        (self.root / name).symlink_to(folder)
        return f"{self.url}/{name}"


@pytest.fixture(scope="module")
def web(
    client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebServer]:
    """`python3 -m http.server`'s server, on the Docker bridge's gateway:
    the host address containers reach.  It follows the repository's
    `public` symlink on every request, as nginx does."""
    try:
        ipam = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
        # Docker leaves Gateway out when it is the subnet's first address.
        gateway = ipam.get("Gateway") or str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))
        root = tmp_path_factory.mktemp("www")
        handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
        server = ThreadingHTTPServer((gateway, 0), handler)
    except (docker.errors.NotFound, KeyError, IndexError, OSError) as e:
        pytest.skip(f"cannot serve on the Docker bridge's gateway: {e!r}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebServer(root, f"http://{gateway}:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def omero_web_deb(*args: str | Path) -> str:
    """The real command line, as an admin runs it."""
    argv = [sys.executable, "-m", "builder", *map(str, args)]
    print("+", " ".join(argv), flush=True)
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    print(result.stdout, result.stderr, flush=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def repos() -> Iterator[Path]:
    """Where the tests' repositories live.  Each signing key's GnuPG home is
    inside its repository, and gpg-agent's socket paths are short (107
    bytes): pytest-xdist's temporary folders can be too deep."""
    folder = Path(tempfile.mkdtemp(prefix="owd-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def new_repository(web: WebServer, name: str, target: Target, folder: Path) -> Path:
    repo = folder / name
    url = web.serve(name, repo / "public")
    omero_web_deb("repo", "init", "--repo", repo, "--suite", target.codename, "--url", url)
    return repo


def trust(host: Host, repo: Path, target: Target, work: Path) -> None:
    """What an admin puts on a client: the keyring and the .sources file."""
    client_files = work / "client"
    omero_web_deb("repo", "client-config", "--repo", repo, "--suite", target.codename,
                  "--output", client_files)  # fmt: skip
    host.container.copy_into(client_files / CLIENT_KEYRING.name, CLIENT_KEYRING.parent)
    host.container.copy_into(client_files / CLIENT_SOURCES.name, CLIENT_SOURCES.parent)


def version_of(deb: Path) -> str:
    return deb_control(deb)["Version"]


def installed_version(host: Host) -> str:
    return host.run("dpkg-query", "-W", "-f", "${Version}", "omero-web").strip()


def kept_state(host: Host) -> str:
    """The admin's drop-in and the Django secret key the first start made."""
    return host.run("sha256sum", str(ADMIN_DROP_IN), str(SECRET_KEY))


def test_install_upgrade_and_roll_back_with_apt(
    client: docker.DockerClient, target: Target, deb: Path, previous_deb: Path, web: WebServer,
    tmp_path: Path, repos: Path,
) -> None:  # fmt: skip
    repo = new_repository(web, "omero", target, repos)
    omero_web_deb("repo", "publish", previous_deb, "--repo", repo)
    older = version_of(previous_deb)
    # The dependencies are on the host already: what apt fetches from the
    # repository is omero-web alone.
    with prepared_host(client, target, deb) as host:
        trust(host, repo, target, tmp_path)
        start = time.monotonic()
        host.run("apt-get", "update", "-q")
        host.run("apt-get", "install", "-y", "-q", "omero-web")
        host.wait_for_status(LOGIN)
        record(target, repo_install_to_serving_s=round(time.monotonic() - start, 1))
        assert installed_version(host) == older

        host.container.write_file(ADMIN_DROP_IN, f"config set {SETTING} false\n".encode())
        host.run("/etc/init.d/omero-web", "restart")
        host.wait_for_status(LOGIN)
        state = kept_state(host)

        newer_deb = deb
        newer = version_of(newer_deb)
        omero_web_deb("repo", "publish", newer_deb, "--repo", repo)
        host.run("apt-get", "update", "-q")
        assert f"Candidate: {newer}" in host.run("apt-cache", "policy", "omero-web")
        host.run("apt-get", "upgrade", "-y", "-q")
        assert installed_version(host) == newer
        host.wait_for_status(LOGIN)
        assert kept_state(host) == state
        assert host.run(CLI, "config", "get", SETTING).strip() == "false"

        # Rolling back: the older build is still in the repository.
        host.run("apt-get", "install", "-y", "-q", "--allow-downgrades", f"omero-web={older}")
        assert installed_version(host) == older
        host.wait_for_status(LOGIN)
        assert kept_state(host) == state


@pytest.mark.parametrize("target", [REPO_TARGET], indirect=True)
def test_apt_refuses_another_key_and_a_tampered_index(
    client: docker.DockerClient, target: Target, web: WebServer, tmp_path: Path, repos: Path
) -> None:
    # A stand-in package: what is checked here is apt's trust, not omero-web.
    deb = make_deb(tmp_path, f"5.33.2-1~{target.version_suffix}", target.codename)
    trusted = new_repository(web, "trusted", target, repos)
    omero_web_deb("repo", "publish", deb, "--repo", trusted)
    stranger = new_repository(web, "stranger", target, repos)  # a key of its own
    omero_web_deb("repo", "publish", deb, "--repo", stranger)
    tampered = tmp_path / "tampered"
    shutil.copytree(trusted / "public", tampered)
    tamper_with_index(index_dir(tampered, target.codename))
    urls = {name: f"{web.url}/{name}" for name in ("trusted", "stranger")}
    urls["tampered"] = web.serve("tampered-copy", tampered)

    with fresh_host(client, target) as host:
        trust(host, trusted, target, tmp_path)

        def update_from(url: str) -> tuple[int, str]:
            host.sh(
                f"sed -i 's|^URIs: .*|URIs: {url}|' {CLIENT_SOURCES}; rm -rf /var/lib/apt/lists/*"
            )
            out = host.sh("apt-get update 2>&1; echo rc=$?", check=False)
            return int(out.rsplit("rc=", 1)[1]), out

        code, out = update_from(urls["trusted"])
        assert code == 0 and "W: GPG error" not in out, out
        code, out = update_from(urls["stranger"])
        assert code != 0 and "NO_PUBKEY" in out and "is not signed" in out, out
        code, out = update_from(urls["tampered"])
        assert code != 0 and ("Hash Sum mismatch" in out or "Hashes of expected file" in out), out
        # apt ignored the forged index: nothing to install from it.
        assert host.exit_code("apt-get install -y --simulate omero-web") != 0


def tamper_with_index(directory: Path) -> None:
    """Change a version in Packages, wherever it is served (by-hash too),
    keeping the signed Release as it was: what a compromised mirror does."""
    original = (directory / "Packages").read_bytes()
    forged = original.replace(b"5.33.2-1~", b"5.33.2-9~")
    assert forged != original
    forged_gz = gzip.compress(forged)
    original_gz = (directory / "Packages.gz").read_bytes()
    for path in [p for p in directory.rglob("*") if p.is_file()]:
        content = path.read_bytes()
        if content == original:
            path.write_bytes(forged)
        elif content == original_gz:
            path.write_bytes(forged_gz)
