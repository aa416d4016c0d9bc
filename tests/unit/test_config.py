import pytest

from builder.config import BuildConfig, network_from_environment, validate_version
from builder.errors import UsageError
from builder.targets import get_target

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_package_version_carries_revision_and_target(tmp_path):
    config = BuildConfig(
        target=get_target("debian-12"),
        project_root=tmp_path,
        output_dir=tmp_path,
        cache_dir=tmp_path,
        omero_web_version="5.33.2",
        revision=3,
    )
    assert config.package_version == "5.33.2-3~deb12"


@pytest.mark.parametrize("bad", ["", "latest", "5.33.2; rm -rf /", "5..3", "v5.33.2"])
def test_malformed_versions_are_refused(bad):
    with pytest.raises(UsageError):
        validate_version(bad)


@pytest.mark.parametrize("good", ["5.33.2", "5.29.0", "6.0.0rc1", "5.33.2.post1"])
def test_release_versions_pass(good):
    assert validate_version(good) == good


def test_host_cas_proxies_and_index_are_passed_on(tmp_path):
    ca_dir = tmp_path / "ca"
    (ca_dir / "sub").mkdir(parents=True)
    (ca_dir / "proxy.crt").write_text(PEM)
    (ca_dir / "sub" / "mirror.crt").write_text(PEM)
    (ca_dir / "README").write_text("not a certificate")
    extra = tmp_path / "extra.pem"
    extra.write_text(PEM)
    environ = {
        "https_proxy": "http://proxy:3128",
        "PIP_INDEX_URL": "https://pypi.internal/simple/",
        "HOME": "/root",
        "PIP_CERT": "/ignored",
    }
    network = network_from_environment(environ, [extra], host_ca_dir=ca_dir)
    assert network.ca_certificates == (ca_dir / "proxy.crt", ca_dir / "sub" / "mirror.crt", extra)
    assert network.environment == {
        "https_proxy": "http://proxy:3128",
        "PIP_INDEX_URL": "https://pypi.internal/simple/",
    }
    assert network.index_url == "https://pypi.internal/simple"


def test_a_file_that_is_not_a_certificate_is_refused(tmp_path):
    bogus = tmp_path / "key.pem"
    bogus.write_text("-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(UsageError, match="not a PEM certificate"):
        network_from_environment({}, [bogus], host_ca_dir=tmp_path / "none")
    with pytest.raises(UsageError, match="cannot read"):
        network_from_environment({}, [tmp_path / "missing.crt"], host_ca_dir=tmp_path / "none")


def test_no_host_ca_folder_means_no_certificates(tmp_path):
    assert network_from_environment({}, [], host_ca_dir=tmp_path / "none").ca_certificates == ()


def test_maintainer_comes_from_debemail_as_dch_reads_it():
    from builder.config import maintainer_from_environment

    assert maintainer_from_environment(
        {"DEBFULLNAME": "Ada Admin", "DEBEMAIL": "ada@lab.example"}
    ) == ("Ada Admin <ada@lab.example>")
    assert maintainer_from_environment({"DEBEMAIL": "Bo <bo@lab.example>"}) == "Bo <bo@lab.example>"
    assert "@example.org" in maintainer_from_environment({})
