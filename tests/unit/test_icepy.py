import functools
import hashlib
import http.server
import threading

import pytest

from builder import icepy
from builder.errors import BuildError, NetworkError, UsageError
from builder.targets import get_target
from tests.unit.fakes import make_config


def test_a_wheel_for_the_targets_python_passes():
    icepy.check_wheel_for_target(
        "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl", get_target("debian-12")
    )
    icepy.check_wheel_for_target(
        "zeroc_ice-3.6.5-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        get_target("ubuntu-22.04"),
    )


def test_a_wheel_for_another_python_is_refused_with_advice():
    with pytest.raises(UsageError) as error:
        icepy.check_wheel_for_target(
            "zeroc_ice-3.6.5-cp310-cp310-linux_x86_64.whl", get_target("debian-12")
        )
    message = str(error.value)
    assert "cp310" in message and "cp311" in message and "3.11" in message


@pytest.mark.parametrize(
    ("filename", "fragment"),
    [
        ("zeroc_ice-3.7.9-cp311-cp311-linux_x86_64.whl", "IcePy 3.6.5"),
        ("numpy-3.6.5-cp311-cp311-linux_x86_64.whl", "not an IcePy wheel"),
        ("zeroc_ice-3.6.5-cp311-cp311-linux_aarch64.whl", "not x86_64"),
        ("zeroc-ice-3.6.5.tar.gz", "not a wheel"),
        ("zeroc_ice-3.6.5.whl", "not a wheel file name"),
    ],
)
def test_other_wrong_wheels_are_refused(filename, fragment):
    with pytest.raises(UsageError, match=fragment):
        icepy.check_wheel_for_target(filename, get_target("debian-12"))


def test_a_missing_wheel_file_is_refused(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        icepy.fetch_given_wheel(
            str(tmp_path / "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"), tmp_path, None
        )


def test_cache_key_changes_with_target_and_patches(tmp_path, monkeypatch):
    key12 = icepy.cache_key(get_target("debian-12"))
    key13 = icepy.cache_key(get_target("debian-13"))
    assert key12.startswith("debian-12-cp311-") and key13.startswith("debian-13-cp313-")
    assert key12 == icepy.cache_key(get_target("debian-12"))

    patches = tmp_path / "patches"
    patches.mkdir()
    for patch in icepy.patch_series():
        (patches / patch.name).write_bytes(patch.read_bytes())
    (patches / "series").write_text("\n".join(p.name for p in icepy.patch_series()))
    monkeypatch.setattr(icepy, "PATCHES_DIR", patches)
    assert icepy.cache_key(get_target("debian-12")) == key12
    first = icepy.patch_series()[0]
    first.write_text(first.read_text() + "\n")
    assert icepy.cache_key(get_target("debian-12")) != key12


def test_cache_key_changes_with_the_pinned_build_tools(monkeypatch):
    key = icepy.cache_key(get_target("debian-12"))
    monkeypatch.setattr(
        icepy, "ICEPY_BUILD_REQUIREMENTS", "setuptools==70.1.0 --hash=sha256:" + "0" * 64
    )
    assert icepy.cache_key(get_target("debian-12")) != key


def test_every_patch_in_the_series_exists():
    series = icepy.patch_series()
    assert series, "the IcePy patch series is empty"
    for patch in series:
        assert patch.is_file(), patch
        assert "--- " in patch.read_text() and "+++ " in patch.read_text()


# --- the platform tag against the target's glibc -----------------------------


@pytest.mark.parametrize(
    ("platform", "target"),
    [
        ("manylinux_2_35_x86_64", "ubuntu-22.04"),
        ("manylinux_2_36_x86_64", "debian-12"),
        ("manylinux2014_x86_64", "debian-12"),
        ("manylinux_2_41_x86_64", "debian-13"),
        ("manylinux_2_39_x86_64.manylinux_2_28_x86_64", "ubuntu-22.04"),
    ],
)
def test_a_manylinux_wheel_no_newer_than_the_targets_glibc_passes(platform, target):
    python = get_target(target).python_abi
    icepy.check_wheel_for_target(
        f"zeroc_ice-3.6.5-{python}-{python}-{platform}.whl", get_target(target)
    )


def test_a_manylinux_wheel_newer_than_the_targets_glibc_is_refused():
    with pytest.raises(UsageError) as error:
        icepy.check_wheel_for_target(
            "zeroc_ice-3.6.5-cp310-cp310-manylinux_2_36_x86_64.whl", get_target("ubuntu-22.04")
        )
    assert str(error.value).startswith(
        "zeroc_ice-3.6.5-cp310-cp310-manylinux_2_36_x86_64.whl needs glibc 2.36 or newer, but "
        "ubuntu-22.04 has glibc 2.35: it would not load there"
    )


def test_a_musllinux_wheel_is_refused():
    with pytest.raises(UsageError, match="needs glibc"):
        icepy.check_wheel_for_target(
            "zeroc_ice-3.6.5-cp311-cp311-musllinux_1_2_x86_64.whl", get_target("debian-12")
        )


# --- hashes: --icepy-sha256, downloads, the cache ---------------------------

WHEEL = "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"
CONTENT = b"PK a wheel"
CONTENT_SHA256 = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def served(tmp_path):
    """An HTTP server on localhost serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    (root / WHEEL).write_bytes(CONTENT)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *args: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_without_its_sha256_is_refused(tmp_path):
    with pytest.raises(UsageError, match="give its --icepy-sha256 too"):
        icepy.fetch_given_wheel(f"https://example.org/{WHEEL}", tmp_path, None)


def test_a_download_is_kept_under_its_hash_once_verified(tmp_path, served):
    path = icepy.fetch_given_wheel(f"{served}/{WHEEL}", tmp_path / "cache", CONTENT_SHA256)
    assert path == tmp_path / "cache" / "downloads" / CONTENT_SHA256 / WHEEL
    assert path.read_bytes() == CONTENT
    assert [p.name for p in path.parent.iterdir()] == [WHEEL]


def test_a_download_with_another_hash_is_refused_and_not_kept(tmp_path, served):
    wrong = "0" * 64
    with pytest.raises(BuildError) as error:
        icepy.fetch_given_wheel(f"{served}/{WHEEL}", tmp_path / "cache", wrong)
    assert str(error.value) == (
        f"the IcePy wheel downloaded from {served}/{WHEEL} has sha256 {CONTENT_SHA256}, but "
        f"--icepy-sha256 is {wrong}: it was not kept; check the URL and the hash"
    )
    assert list((tmp_path / "cache" / "downloads" / wrong).iterdir()) == []


def test_a_failed_download_leaves_no_partial_file(tmp_path, served):
    with pytest.raises(NetworkError, match="cannot download the IcePy wheel"):
        icepy.fetch_given_wheel(f"{served}/missing-{WHEEL}", tmp_path / "cache", CONTENT_SHA256)
    assert list((tmp_path / "cache" / "downloads" / CONTENT_SHA256).iterdir()) == []


def test_a_tampered_cached_download_is_refused(tmp_path, served):
    path = icepy.fetch_given_wheel(f"{served}/{WHEEL}", tmp_path / "cache", CONTENT_SHA256)
    path.write_bytes(b"PK changed")
    with pytest.raises(BuildError, match=f"has sha256 .*, but {CONTENT_SHA256} was expected"):
        icepy.fetch_given_wheel(f"{served}/{WHEEL}", tmp_path / "cache", CONTENT_SHA256)


def test_a_wheel_file_with_another_hash_than_given_is_refused(tmp_path):
    given = tmp_path / WHEEL
    given.write_bytes(CONTENT)
    assert icepy.fetch_given_wheel(str(given), tmp_path, CONTENT_SHA256) == given
    with pytest.raises(BuildError) as error:
        icepy.fetch_given_wheel(str(given), tmp_path, "1" * 64)
    assert str(error.value) == (
        f"the IcePy wheel {given} has sha256 {CONTENT_SHA256}, but {'1' * 64} was expected: "
        "the file changed or is not the one meant; nothing was built"
    )


def test_a_malformed_sha256_is_refused(tmp_path):
    with pytest.raises(UsageError, match="is not a sha256"):
        icepy.fetch_given_wheel(str(tmp_path / WHEEL), tmp_path, "ABC")


def test_a_sha256_without_a_wheel_is_refused(tmp_path):
    config = make_config(tmp_path, icepy_sha256=CONTENT_SHA256)
    with pytest.raises(UsageError, match="--icepy-sha256 is the hash of an --icepy-wheel"):
        icepy.resolve_given_wheel(config)


def test_a_tampered_cached_build_is_refused_naming_both_hashes(tmp_path):
    target = get_target("debian-12")
    entry = tmp_path / "icepy" / icepy.cache_key(target)
    entry.mkdir(parents=True)
    (entry / WHEEL).write_bytes(CONTENT)
    icepy.record_sha256(entry / WHEEL)
    assert (entry / f"{WHEEL}.sha256").read_text() == f"{CONTENT_SHA256}  {WHEEL}\n"
    assert icepy.cached_wheel(tmp_path, target) == entry / WHEEL
    (entry / WHEEL).write_bytes(b"PK tampered")
    tampered = hashlib.sha256(b"PK tampered").hexdigest()
    with pytest.raises(BuildError) as error:
        icepy.cached_wheel(tmp_path, target)
    assert str(error.value).startswith(
        f"the cached IcePy wheel {entry / WHEEL} has sha256 {tampered}, but {CONTENT_SHA256} "
        "was expected"
    )
