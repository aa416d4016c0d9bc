import pytest

from builder.errors import UsageError
from builder.targets import DEFAULT_TARGET, TARGETS, get_target


def test_the_four_targets_of_the_design():
    assert {name: (t.codename, t.python) for name, t in TARGETS.items()} == {
        "ubuntu-22.04": ("jammy", "3.10"),
        "ubuntu-24.04": ("noble", "3.12"),
        "debian-12": ("bookworm", "3.11"),
        "debian-13": ("trixie", "3.13"),
    }
    assert DEFAULT_TARGET == "ubuntu-22.04"


def test_python_abi_and_package():
    target = get_target("debian-13")
    assert target.python_abi == "cp313"
    assert target.python_package == "python3.13"


def test_unknown_target_names_the_known_ones():
    with pytest.raises(UsageError) as error:
        get_target("debian-11")
    assert "debian-12" in str(error.value)
    assert "ubuntu-22.04" in str(error.value)
    assert error.value.exit_code == 2


def test_version_suffixes_sort_older_releases_first():
    from debian.debian_support import Version

    versions = [Version(f"5.33.2-1~{t.version_suffix}") for t in TARGETS.values()]
    by_distribution = {}
    for target, version in zip(TARGETS.values(), versions, strict=True):
        by_distribution.setdefault(target.distribution, []).append(version)
    for same in by_distribution.values():
        assert same == sorted(same)
    # A later Debian revision wins over any target suffix of an earlier one.
    assert Version("5.33.2-2~deb12") > Version("5.33.2-1~deb13")
