"""Extra CA certificates in a container, on a recording container."""

from __future__ import annotations

from pathlib import PurePosixPath

from builder.config import NetworkSettings
from builder.trust import install_ca_certificates
from tests.unit.fakes import Answer, Call, FakeContainer, fake_context, make_config

CA_DIR = PurePosixPath("/usr/local/share/ca-certificates/omero-web-deb")
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
HAS_TOOL = {"command -v update-ca-certificates": Answer("/usr/sbin/update-ca-certificates\n")}


def with_certificates(tmp_path, *names: str):
    paths = []
    for index, name in enumerate(names):
        path = tmp_path / f"from-{index}" / name
        path.parent.mkdir()
        path.write_bytes(PEM + name.encode())
        paths.append(path)
    return make_config(tmp_path, network=NetworkSettings(tuple(paths)))


def test_each_certificate_gets_a_numbered_crt_file(tmp_path):
    # Two files called ca.pem from two folders: neither may replace the other.
    config = with_certificates(tmp_path, "ca.pem", "ca.pem", "proxy.crt")
    container = FakeContainer(HAS_TOOL)
    install_ca_certificates(fake_context(config, container))
    assert container.files == {
        CA_DIR / "00-ca.crt": (PEM + b"ca.pem", 0o644),
        CA_DIR / "01-ca.crt": (PEM + b"ca.pem", 0o644),
        CA_DIR / "02-proxy.crt": (PEM + b"proxy.crt", 0o644),
    }
    assert container.calls == [
        Call(["sh", "-c", "command -v update-ca-certificates || true"]),
        Call(["update-ca-certificates"]),
    ]


def test_a_base_without_the_tool_gets_ca_certificates_first(tmp_path):
    container = FakeContainer()  # `command -v` prints nothing
    install_ca_certificates(fake_context(with_certificates(tmp_path, "ca.crt"), container))
    assert container.calls == [
        Call(["sh", "-c", "command -v update-ca-certificates || true"]),
        Call(["apt-get", "update", "-q"]),
        Call(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "ca-certificates"],
            env={"DEBIAN_FRONTEND": "noninteractive"},
        ),
        Call(["update-ca-certificates"]),
    ]


def test_no_extra_certificates_no_commands(tmp_path):
    container = FakeContainer()
    install_ca_certificates(fake_context(make_config(tmp_path), container))
    assert container.calls == [] and container.files == {}
