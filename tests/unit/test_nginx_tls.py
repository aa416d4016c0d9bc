"""debian/scripts/omero_web_nginx_tls.py: the site for HTTPS (a redirect
from the HTTP port, TLS 1.2+ only, HSTS when asked) and for trusted
TLS-terminating proxies, from upstream's plain-HTTP site; and `nginx write`
passing it through."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.rendered_scripts import load_rendered_script, rendered_text
from tests.unit.test_nginx_site import UPSTREAM, FakeHost

SITE = UPSTREAM.replace("PORT", "80").replace("NAMES", "localhost omero.example.org")


@pytest.fixture
def tls(tmp_path: Path) -> ModuleType:
    return load_rendered_script("omero_web_nginx_tls.py", tmp_path)


def server_blocks(text: str) -> list[str]:
    return re.findall(r"^server \{\n.*?^\}", text, flags=re.M | re.S)


def test_https_redirects_port_80_and_offers_tls_12_and_13_only(tls: ModuleType) -> None:
    transport = tls.Transport(https_port="443", certificate="/c.pem", key="/k.pem")
    text = tls.secure(
        SITE, "80", "localhost omero.example.org", default_server=True, transport=transport
    )
    redirect, omero = server_blocks(text)
    assert "    listen 80 default_server;" in redirect
    assert "    return 301 https://$host$request_uri;" in redirect
    assert "server_name localhost omero.example.org;" in redirect
    assert "    listen 443 ssl default_server;" in omero
    assert "listen 80" not in omero
    assert "    ssl_certificate /c.pem;" in omero and "    ssl_certificate_key /k.pem;" in omero
    assert "    ssl_protocols TLSv1.2 TLSv1.3;" in omero
    assert "Strict-Transport-Security" not in text
    assert "        proxy_set_header X-Forwarded-Proto $scheme;" in omero
    # The upstream block stays ahead of the servers (http context).
    assert text.index("upstream omeroweb_omero") < text.index("server {")


def test_https_on_another_port_keeps_it_in_the_redirect_and_hsts_on_request(
    tls: ModuleType,
) -> None:
    transport = tls.Transport(https_port="8443", certificate="/c", key="/k", hsts=True)
    text = tls.secure(SITE, "80", "localhost", default_server=False, transport=transport)
    redirect, omero = server_blocks(text)
    assert "return 301 https://$host:8443$request_uri;" in redirect
    assert "    listen 80;" in redirect and "listen 8443 ssl;" in omero
    assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in omero


def test_trusted_proxies_alone_believe_forwarded_headers(tls: ModuleType) -> None:
    transport = tls.Transport(trusted_proxies=("10.0.0.0/8", "192.0.2.10"))
    text = tls.secure(SITE, "80", "localhost", default_server=False, transport=transport)
    (omero,) = server_blocks(text)
    assert "    listen 80;" in omero and "ssl" not in omero
    assert "    set_real_ip_from 10.0.0.0/8;" in omero
    assert "    set_real_ip_from 192.0.2.10;" in omero
    assert "    real_ip_header X-Forwarded-For;" in omero
    assert "proxy_set_header X-Forwarded-Proto $omero_web_scheme;" in omero
    assert "proxy_set_header X-Forwarded-Host $omero_web_host;" in omero
    head = text[: text.index("server {")]
    # By the connection's own address, before realip replaces it.
    assert "geo $realip_remote_addr $omero_web_from_proxy {" in head
    assert "    10.0.0.0/8 1;" in head and "    default 0;" in head
    assert "    default $scheme;" in head


def test_a_site_without_the_expected_lines_is_refused(tls: ModuleType) -> None:
    transport = tls.Transport(https_port="443", certificate="/c", key="/k")
    with pytest.raises(tls.TLSSiteError, match="listen 80"):
        tls.secure(SITE.replace("listen 80;", "listen 81;"), "80", "x", default_server=False,
                   transport=transport)  # fmt: skip
    with pytest.raises(tls.TLSSiteError, match="@proxy_to_app"):
        tls.secure(SITE.replace("@proxy_to_app", "@app"), "80", "x", default_server=False,
                   transport=transport)  # fmt: skip


def test_nginx_write_passes_https_to_the_site(tmp_path: Path) -> None:
    """The helper's `nginx write` options, end to end on a fake host."""
    helper = load_rendered_script("omero_web_helper.py", tmp_path)
    load_rendered_script("omero_web_nginx_tls.py", tmp_path)
    root = tmp_path / "root"
    for folder in ("etc/nginx/sites-available", "etc/nginx/sites-enabled", "etc/omero-web"):
        (root / folder).mkdir(parents=True)
    host = FakeHost(root)
    nginx: Any = helper.Nginx(root=root, run=host.run, which=host.which)
    options = helper.argument_parser().parse_args(
        ["nginx", "write", "--https-port", "443", "--certificate", "/c", "--key", "/k",
         "--hsts", "--trusted-proxy", "10.0.0.1", "80", "localhost"]
    )  # fmt: skip
    nginx.write(
        options.port, options.names, default_server=False, transport=helper.transport_from(options)
    )
    text = nginx.site.read_text()
    assert "listen 443 ssl;" in text and "set_real_ip_from 10.0.0.1;" in text
    assert "Strict-Transport-Security" in text
    assert text.startswith(helper.HEADER)
    none = helper.argument_parser().parse_args(["nginx", "write", "80", "localhost"])
    assert helper.transport_from(none) is None
    half = helper.argument_parser().parse_args(["nginx", "write", "--https-port", "443", "80", "x"])
    with pytest.raises(helper.HelperError, match="--certificate and --key"):
        helper.transport_from(half)


def test_every_python_helper_is_installed_beside_the_others() -> None:
    """The helpers import each other from the folder they are installed in:
    a module left out of debian/omero-web.install fails only on a host."""
    debian = Path(__file__).resolve().parents[2] / "debian"
    install = (debian / "omero-web.install").read_text().splitlines()
    for module in sorted((debian / "scripts").glob("omero_web_*.py")):
        assert f"debian/scripts/{module.name} @LIB_DIR_REL@/" in install, module.name


@pytest.mark.parametrize("script", ["omero_web_helper.py", "omero_web_owned_keys.py"])
def test_the_helpers_leave_no_bytecode_beside_themselves(tmp_path: Path, script: str) -> None:
    """/usr/lib/omero-web is dpkg's: a __pycache__ written there by root's
    import of one helper from another outlives a purge (seen on every
    target)."""
    for name in ("omero_web_helper.py", "omero_web_nginx_tls.py", "omero_web_owned_keys.py"):
        (tmp_path / name).write_text(rendered_text(f"scripts/{name}"))
    code = (
        f"import sys; sys.argv = ['x']; path = {str(tmp_path / script)!r}; "
        "exec(compile(open(path).read(), path, 'exec'), {'__file__': path, '__name__': 'x'}); "
        "import omero_web_nginx_tls"
    )
    subprocess.run([sys.executable, "-I", "-c", code], check=True)
    assert not list(tmp_path.rglob("__pycache__"))
