import pytest

from builder import icepy
from builder.errors import UsageError
from builder.targets import get_target


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
            str(tmp_path / "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"), tmp_path
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


def test_every_patch_in_the_series_exists():
    series = icepy.patch_series()
    assert series, "the IcePy patch series is empty"
    for patch in series:
        assert patch.is_file(), patch
        assert "--- " in patch.read_text() and "+++ " in patch.read_text()
