"""HTTPS and trusted proxies in the package's nginx site.

The helper (omero_web_helper.py `nginx write`) makes the site from
upstream's `omero web config nginx`, which knows plain HTTP only; `secure`
here turns that text into the site the debconf answers ask for:

- HTTPS (omero-web/https): the OMERO.web server listens on the HTTPS port
  with the certificate and key, TLS 1.2 and 1.3 only, HSTS if asked; a
  server of its own on the HTTP port answers every request with a 301 to
  the same URL over HTTPS.
- A TLS-terminating proxy in front (omero-web/trusted_proxies): the
  client's address (X-Forwarded-For), scheme (X-Forwarded-Proto) and host
  (X-Forwarded-Host) are taken from requests of those addresses only;
  anyone else's are replaced by what nginx saw.

Either way nginx sets X-Forwarded-Proto itself on every request it hands to
OMERO.web, which believes it (omero.web.secure_proxy_ssl_header, set by the
debconf drop-in): a client cannot claim HTTPS over plain HTTP.

A certificate renewed in place is read at the next `nginx reload`; one that
disappeared makes that reload fail its check, and nginx serves on with the
configuration it has.

Only the standard library: the helper runs as root with python -I.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

BLANK = "[ \t\n\v\f\r]"
# TLS 1.0 and 1.1 are deprecated (RFC 8996).
PROTOCOLS = "TLSv1.2 TLSv1.3"
# Two years, as hstspreload.org asks; no includeSubDomains: other hosts of
# the domain are not this package's to commit.
HSTS = 'add_header Strict-Transport-Security "max-age=63072000" always;'


class TLSSiteError(Exception):
    """Upstream's site lacks what `secure` changes."""


class Transport(NamedTuple):
    """How requests reach OMERO.web: HTTPS_PORT with CERTIFICATE and KEY
    (HTTPS), and the addresses of proxies whose forwarded headers count."""

    https_port: str | None = None
    certificate: str | None = None
    key: str | None = None
    hsts: bool = False
    trusted_proxies: Sequence[str] = ()

    @property
    def https(self) -> bool:
        return self.https_port is not None


def proxy_maps(proxies: Sequence[str]) -> list[str]:
    """http-context variables: whether the connection comes from a trusted
    proxy (its own address, before realip), and the scheme and host to
    hand on."""
    return [
        "geo $realip_remote_addr $omero_web_from_proxy {",
        "    default 0;",
        *(f"    {proxy} 1;" for proxy in proxies),
        "}",
        "map $omero_web_from_proxy:$http_x_forwarded_proto $omero_web_scheme {",
        "    default $scheme;",
        '    "~^1:(?<proto>https?)$" $proto;',
        "}",
        "map $omero_web_from_proxy:$http_x_forwarded_host $omero_web_host {",
        "    default $host;",
        '    "~^1:(?<fhost>[^,]+)$" $fhost;',
        "}",
        "",
    ]


def redirect_server(http_port: str, https_port: str, names: str, default: str) -> list[str]:
    port = "" if https_port == "443" else f":{https_port}"
    return [
        "server {",
        f"    listen {http_port}{default};",
        f"    server_name {names};",
        f"    return 301 https://$host{port}$request_uri;",
        "}",
        "",
    ]


def secure(
    text: str, http_port: str, names: str, *, default_server: bool, transport: Transport
) -> str:
    """TEXT, the site for plain HTTP on HTTP_PORT, as TRANSPORT asks."""
    default = " default_server" if default_server else ""
    listen = re.compile(rf"({BLANK}*)listen {re.escape(http_port)}( default_server)?;")
    proxy = re.compile(rf"({BLANK}*)location @proxy_to_app[A-Za-z0-9_]* {{")
    proxies = list(transport.trusted_proxies)
    scheme = "$omero_web_scheme" if proxies else "$scheme"
    head: list[str] = []
    if proxies:
        head += proxy_maps(proxies)
    if transport.https:
        assert transport.https_port is not None
        head += redirect_server(http_port, transport.https_port, names, default)
    lines: list[str] = []
    found_listen = found_proxy = False
    for line in text.split("\n"):
        if (found := listen.fullmatch(line)) and not found_listen:
            found_listen = True
            indent = found[1]
            if transport.https:
                lines.append(f"{indent}listen {transport.https_port} ssl{default};")
                lines.append(f"{indent}ssl_certificate {transport.certificate};")
                lines.append(f"{indent}ssl_certificate_key {transport.key};")
                lines.append(f"{indent}ssl_protocols {PROTOCOLS};")
                lines.append(f"{indent}ssl_session_cache shared:omero_web_tls:10m;")
                if transport.hsts:
                    lines.append(f"{indent}{HSTS}")
            else:
                lines.append(line)
            for address in proxies:
                lines.append(f"{indent}set_real_ip_from {address};")
            if proxies:
                lines.append(f"{indent}real_ip_header X-Forwarded-For;")
                lines.append(f"{indent}real_ip_recursive on;")
            continue
        lines.append(line)
        if found := proxy.fullmatch(line):
            found_proxy = True
            lines.append(f"{found[1]}    proxy_set_header X-Forwarded-Proto {scheme};")
            if proxies:
                lines.append(f"{found[1]}    proxy_set_header X-Forwarded-Host $omero_web_host;")
    if not found_listen:
        raise TLSSiteError(f"found no 'listen {http_port};' line in 'omero web config nginx'")
    if not found_proxy:
        raise TLSSiteError("found no @proxy_to_app location in 'omero web config nginx'")
    first_server = next((i for i, line in enumerate(lines) if line.startswith("server {")), 0)
    return "\n".join(lines[:first_server] + head + lines[first_server:])
