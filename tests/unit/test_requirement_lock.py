"""The lock: its text, reading it back, which files it pins, and the check
against what the index serves (no network: the index is a function)."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

from builder.errors import BuildError
from builder.lock_resolution import icepy_stand_in, lock_from_report
from builder.requirement_lock import (
    IndexFile,
    Lock,
    LockedRequirement,
    compare_with_index,
    install_requirements,
    installable_files,
    lock_path,
    parse_lock,
    read_lock,
)
from tests.unit.fakes import ROOT

A = "a" * 64
B = "b" * 64
C = "c" * 64
NUMPY_WHEEL = "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
LOCK = Lock(
    "debian-12",
    "3.11",
    "5.33.2",
    ("omero-web[redis]==5.33.2", "gevent"),
    (
        LockedRequirement("django", "5.2.19", (IndexFile("django-5.2.19-py3-none-any.whl", A),)),
        LockedRequirement(
            "numpy",
            "2.4.6",
            (IndexFile(NUMPY_WHEEL, B), IndexFile("numpy-2.4.6-cp311-cp311-linux_x86_64.whl", C)),
        ),
    ),
)
LOCK_TEXT = f"""\
# The venv's Python distributions (all but IcePy, which the build pins by
# its wheel's hash), each with the sha256 of every file pip may install on
# this target; installed with `pip install --require-hashes`.
# Made by `omero-web-deb lock --target debian-12 --omero-web-version 5.33.2`.
# target: debian-12
# python: 3.11
# omero-web: 5.33.2
# requested: omero-web[redis]==5.33.2 gevent
# django-5.2.19-py3-none-any.whl
django==5.2.19 \\
    --hash=sha256:{A}
# {NUMPY_WHEEL}
# numpy-2.4.6-cp311-cp311-linux_x86_64.whl
numpy==2.4.6 \\
    --hash=sha256:{B} \\
    --hash=sha256:{C}
"""


def test_a_lock_is_a_pip_requirements_file_naming_each_hashs_file():
    assert LOCK.render() == LOCK_TEXT


def test_a_lock_reads_back_as_written():
    assert parse_lock(LOCK_TEXT, "x.txt") == LOCK
    assert LOCK.requirements_text() == "django==5.2.19\nnumpy==2.4.6\n"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((f"    --hash=sha256:{C}\n", ""), "x.txt:15: numpy ends without its last hash"),
        (("django==5.2.19 \\\n", "django>=5 \\\n"), "x.txt:10: not a locked requirement"),
        (("# target: debian-12\n", ""), "x.txt:1: the header lacks target"),
        ((f"# {NUMPY_WHEEL}\n", ""), "x.txt:15: numpy has 2 hashes for 1 files"),
    ],
)
def test_a_damaged_lock_is_refused_with_the_line_at_fault(change, message):
    with pytest.raises(BuildError) as error:
        parse_lock(LOCK_TEXT.replace(*change), "x.txt")
    assert str(error.value).startswith(message)
    assert str(error.value).endswith("make the lock anew with `omero-web-deb lock`")


def test_a_lock_of_another_target_or_version_is_refused(tmp_path):
    path = tmp_path / "omero-web-5.34.0.txt"
    path.write_text(LOCK_TEXT)
    with pytest.raises(
        BuildError, match=r"is the lock of omero-web 5\.33\.2 for debian-12, not of"
    ):
        read_lock(path, "debian-12", "5.34.0")


def test_pip_installs_the_lock_plus_the_icepy_wheel_by_its_hash():
    text = install_requirements(LOCK, "f" * 64)
    assert text == LOCK_TEXT + f"zeroc-ice==3.6.5 \\\n    --hash=sha256:{'f' * 64}\n"


SERVED = (
    IndexFile("numpy-2.4.6.tar.gz", "1" * 64),
    IndexFile(NUMPY_WHEEL, B),
    IndexFile("numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "2" * 64),
    IndexFile("numpy-2.4.6-cp311-cp311-musllinux_1_2_x86_64.whl", "3" * 64),
    IndexFile("numpy-2.4.5-cp311-cp311-manylinux_2_28_x86_64.whl", "4" * 64),
)
TAGS = ["cp311-cp311-manylinux_2_36_x86_64", "cp311-cp311-manylinux_2_28_x86_64", "py3-none-any"]


def test_the_lock_pins_the_releases_wheels_the_target_can_install():
    assert installable_files(SERVED, "2.4.6", TAGS) == (IndexFile(NUMPY_WHEEL, B),)


def test_without_a_wheel_for_the_target_the_sdist_is_pinned():
    assert installable_files(SERVED, "2.4.6", ["cp313-cp313-manylinux_2_41_x86_64"]) == (
        IndexFile("numpy-2.4.6.tar.gz", "1" * 64),
    )


def test_a_lock_that_still_matches_the_index_has_no_mismatch():
    served = {"django": [IndexFile("django-5.2.19-py3-none-any.whl", A)], "numpy": SERVED}
    served["numpy"] += (IndexFile("numpy-2.4.6-cp311-cp311-linux_x86_64.whl", C),)
    assert compare_with_index(LOCK, served.__getitem__) == []


def test_a_changed_or_vanished_file_is_a_mismatch_naming_both_hashes():
    served = {"django": [IndexFile("django-5.2.19-py3-none-any.whl", "d" * 64)], "numpy": SERVED}
    mismatches = [str(m) for m in compare_with_index(LOCK, served.__getitem__)]
    assert mismatches == [
        f"django: django-5.2.19-py3-none-any.whl: the lock has sha256 {A}, the index serves "
        + "d" * 64,
        f"numpy: numpy-2.4.6-cp311-cp311-linux_x86_64.whl: the lock has sha256 {C}, the index "
        "serves nothing (the file is gone from the index)",
    ]


def report_item(name: str, version: str, filename: str, sha256: str) -> dict[str, object]:
    return {
        "metadata": {"name": name, "version": version},
        "download_info": {
            "url": f"https://files.example.org/{filename}",
            "archive_info": {"hashes": {"sha256": sha256}},
        },
    }


def test_a_lock_is_made_from_pips_report_without_icepy():
    report = {
        "install": [
            report_item("numpy", "2.4.6", NUMPY_WHEEL, B),
            report_item("zeroc-ice", "3.6.5", "zeroc_ice-3.6.5-py3-none-any.whl", "9" * 64),
            report_item("Django", "5.2.19", "django-5.2.19-py3-none-any.whl", A),
        ]
    }
    served = {"django": [IndexFile("django-5.2.19-py3-none-any.whl", A)], "numpy": SERVED}
    lock = lock_from_report(
        report, TAGS, served.__getitem__, "debian-12", "3.11", "5.33.2", LOCK.requested
    )
    assert [(r.name, r.version, r.files) for r in lock.requirements] == [
        ("django", "5.2.19", (IndexFile("django-5.2.19-py3-none-any.whl", A),)),
        ("numpy", "2.4.6", (IndexFile(NUMPY_WHEEL, B),)),
    ]


def test_a_file_pip_chose_that_the_index_does_not_list_stops_the_lock():
    report = {"install": [report_item("numpy", "2.4.6", NUMPY_WHEEL, "e" * 64)]}
    with pytest.raises(BuildError) as error:
        lock_from_report(report, TAGS, lambda _: SERVED, "debian-12", "3.11", "5.33.2", ())
    assert str(error.value).startswith(
        f"pip chose {NUMPY_WHEEL} (sha256 {'e' * 64}) for numpy==2.4.6, but the package index "
        "does not list that file with that hash"
    )


def test_the_icepy_stand_in_is_a_wheel_with_only_metadata():
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(icepy_stand_in())) as wheel:
        assert wheel.read("zeroc_ice-3.6.5.dist-info/METADATA").decode().splitlines() == [
            "Metadata-Version: 2.1",
            "Name: zeroc-ice",
            "Version: 3.6.5",
        ]
    assert icepy_stand_in() == icepy_stand_in()


@pytest.mark.parametrize("target", ["ubuntu-22.04", "ubuntu-24.04", "debian-12", "debian-13"])
def test_every_target_has_a_committed_lock_for_the_default_version(target):
    from builder.config import DEFAULT_OMERO_WEB_VERSION

    path = lock_path(ROOT, target, DEFAULT_OMERO_WEB_VERSION)
    lock = read_lock(path, target, DEFAULT_OMERO_WEB_VERSION)
    names = {r.name for r in lock.requirements}
    assert {"omero-web", "omero-py", "django", "gunicorn", "gevent", "redis"} <= names
    assert "zeroc-ice" not in names


def test_check_locks_passes_while_the_index_serves_every_locked_file(tmp_path):
    from builder.lock_check import check_committed_locks

    path = lock_path(tmp_path, "debian-12", "5.33.2")
    path.parent.mkdir(parents=True)
    path.write_text(LOCK_TEXT)
    served = {"django": [IndexFile("django-5.2.19-py3-none-any.whl", A)], "numpy": SERVED}
    served["numpy"] += (IndexFile("numpy-2.4.6-cp311-cp311-linux_x86_64.whl", C),)
    asked = []

    def ask(index_url, name):
        asked.append((index_url, name))
        return served[name]

    lines = check_committed_locks(tmp_path, "https://pypi.org/simple", ask)
    assert lines == [
        "locks/debian-12/omero-web-5.33.2.txt: 2 distributions, 3 files, all as locked"
    ]
    assert asked == [("https://pypi.org/simple", "django"), ("https://pypi.org/simple", "numpy")]

    served["numpy"] = SERVED  # the linux_x86_64 wheel is gone
    with pytest.raises(BuildError) as error:
        check_committed_locks(tmp_path, "https://pypi.org/simple", ask)
    assert str(error.value).startswith(
        "the package index no longer serves these locked files as locked:\n"
        "  locks/debian-12/omero-web-5.33.2.txt: numpy: numpy-2.4.6-cp311-cp311-linux_x86_64.whl: "
        f"the lock has sha256 {C}, the index serves nothing"
    )


def test_a_lock_is_resolved_in_the_build_container_by_the_targets_python(tmp_path, monkeypatch):
    from builder import lock_resolution
    from tests.unit.fakes import Answer, FakeContainer, fake_context, make_config

    work = "/omero-web-deb-build/lock"
    pip = [f"{work}/venv/bin/python", "-m", "pip"]
    report = {"install": [report_item("numpy", "2.4.6", NUMPY_WHEEL, B)]}
    container = FakeContainer(
        {
            "readlink -f /usr/bin/python3": Answer("/usr/bin/python3.11\n"),
            f"cat {work}/report.json": Answer(json.dumps(report)),
            "sys_tags": Answer("\n".join(TAGS) + "\n"),
        }
    )
    asked = []
    monkeypatch.setattr(
        lock_resolution, "index_files", lambda url, name: asked.append((url, name)) or SERVED
    )
    lock = lock_resolution.resolve_lock(fake_context(make_config(tmp_path), container))
    assert container.argvs == [
        ["readlink", "-f", "/usr/bin/python3"],
        ["rm", "-rf", work],
        ["/usr/bin/python3.11", "-m", "venv", f"{work}/venv"],
        [*pip, "install", "-q", "--upgrade", "pip"],
        [*pip, "install", "--dry-run", "--quiet", "--ignore-installed", "--report",
         f"{work}/report.json", "--find-links", f"{work}/stand-in",
         "omero-web[redis]==5.33.2", "gevent"],
        ["cat", f"{work}/report.json"],
        [f"{work}/venv/bin/python", "-c", lock_resolution.SUPPORTED_TAGS],
        ["rm", "-rf", work],
    ]  # fmt: skip
    stand_in = PurePosixPath(f"{work}/stand-in/zeroc_ice-3.6.5-py3-none-any.whl")
    assert container.files[stand_in][0] == icepy_stand_in()
    assert asked == [("https://pypi.org/simple", "numpy")]
    assert lock.requirements == (LockedRequirement("numpy", "2.4.6", (IndexFile(NUMPY_WHEEL, B),)),)
    assert (lock.target, lock.python, lock.requested) == (
        "debian-12",
        "3.11",
        ("omero-web[redis]==5.33.2", "gevent"),
    )
