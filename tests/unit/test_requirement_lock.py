"""The lock: its text, reading it back, which files it pins, and the check
against what the index serves (no network: the index is a function)."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

from builder import lock_resolution
from builder.errors import BuildError
from builder.lock_resolution import icepy_stand_in, lock_from_report
from builder.requirement_lock import (
    IndexFile,
    Lock,
    LockedRequirement,
    ToolLock,
    compare_with_index,
    install_requirements,
    installable_files,
    lock_path,
    parse_lock,
    parse_tool_lock,
    read_lock,
    read_tool_lock,
    tool_lock_path,
)
from builder.targets import get_target, oldest_python_target
from builder.tool_venv import CYCLONEDX
from tests.unit.fakes import ROOT, Answer, FakeContainer, fake_context, make_config

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


PURL = "packageurl_python-0.17.6-py3-none-any.whl"
TOOL_LOCK = ToolLock(
    "cyclonedx",
    "3.10",
    ("cyclonedx-python-lib>=11.12,<12",),
    (LockedRequirement("packageurl-python", "0.17.6", (IndexFile(PURL, A),)),),
)
TOOL_LOCK_TEXT = f"""\
# The cyclonedx build tool's Python distributions, pure-Python wheels for
# every target, each with its sha256; installed in the build container with
# `pip install --require-hashes --only-binary :all:`.
# Made by `omero-web-deb lock --tool cyclonedx`.
# tool: cyclonedx
# python: 3.10
# requested: cyclonedx-python-lib>=11.12,<12
# {PURL}
packageurl-python==0.17.6 \\
    --hash=sha256:{A}
"""


def test_a_tool_lock_has_the_same_requirements_form_and_reads_back():
    assert TOOL_LOCK.render() == TOOL_LOCK_TEXT
    assert parse_tool_lock(TOOL_LOCK_TEXT, "x.txt") == TOOL_LOCK


def test_a_damaged_tool_lock_says_how_to_make_it_anew(tmp_path):
    with pytest.raises(BuildError) as error:
        parse_tool_lock(TOOL_LOCK_TEXT.replace("# tool: cyclonedx\n", ""), "x.txt")
    assert str(error.value) == (
        "x.txt:1: the header lacks tool; make the lock anew with `omero-web-deb lock --tool`"
    )
    path = tool_lock_path(tmp_path, "other")
    path.parent.mkdir(parents=True)
    path.write_text(TOOL_LOCK_TEXT)
    with pytest.raises(BuildError, match=r"is the lock of the cyclonedx build tool, not of other"):
        read_tool_lock(path, "other")


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
    assert compare_with_index(LOCK.requirements, served.__getitem__) == []


def test_a_changed_or_vanished_file_is_a_mismatch_naming_both_hashes():
    served = {"django": [IndexFile("django-5.2.19-py3-none-any.whl", "d" * 64)], "numpy": SERVED}
    mismatches = [str(m) for m in compare_with_index(LOCK.requirements, served.__getitem__)]
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


LOCK_WORK = "/omero-web-deb-build/lock"
LOCK_PIP = [f"{LOCK_WORK}/venv/bin/python", "-m", "pip"]


def resolving_container(python: str, *installed: dict[str, object], **answers: Answer):
    """A build container whose python3 is `python` and in which pip's report
    installs `installed` (report_item's); `answers` for any other command."""
    return FakeContainer(
        {
            "readlink -f /usr/bin/python3": Answer(f"/usr/bin/{python}\n"),
            f"cat {LOCK_WORK}/report.json": Answer(json.dumps({"install": list(installed)})),
            **answers,
        }
    )


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

    tool = tool_lock_path(tmp_path, "cyclonedx")
    tool.parent.mkdir(parents=True)
    tool.write_text(TOOL_LOCK_TEXT)
    served["packageurl-python"] = [IndexFile(PURL, A)]
    lines = check_committed_locks(tmp_path, "https://pypi.org/simple", ask)
    assert lines == [
        "locks/debian-12/omero-web-5.33.2.txt: 2 distributions, 3 files, all as locked",
        "locks/tools/cyclonedx.txt: 1 distributions, 1 files, all as locked",
    ]
    assert [name for _, name in asked] == ["django", "numpy", "packageurl-python"]

    served["numpy"] = SERVED  # the linux_x86_64 wheel is gone
    with pytest.raises(BuildError) as error:
        check_committed_locks(tmp_path, "https://pypi.org/simple", ask)
    assert str(error.value).startswith(
        "the package index no longer serves these locked files as locked:\n"
        "  locks/debian-12/omero-web-5.33.2.txt: numpy: numpy-2.4.6-cp311-cp311-linux_x86_64.whl: "
        f"the lock has sha256 {C}, the index serves nothing"
    )

    served["numpy"] += (IndexFile("numpy-2.4.6-cp311-cp311-linux_x86_64.whl", C),)
    served["packageurl-python"] = [IndexFile(PURL, B)]  # the tool's file changed
    with pytest.raises(BuildError) as error:
        check_committed_locks(tmp_path, "https://pypi.org/simple", ask)
    assert str(error.value).startswith(
        "the package index no longer serves these locked files as locked:\n"
        f"  locks/tools/cyclonedx.txt: packageurl-python: {PURL}: the lock has sha256 {A}, "
        f"the index serves {B}\n"
    )


def test_a_lock_is_resolved_in_the_build_container_by_the_targets_python(tmp_path, monkeypatch):
    work, pip = LOCK_WORK, LOCK_PIP
    container = resolving_container(
        "python3.11",
        report_item("numpy", "2.4.6", NUMPY_WHEEL, B),
        sys_tags=Answer("\n".join(TAGS) + "\n"),
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


def test_a_tool_lock_is_resolved_without_stand_ins_and_keeps_pure_python_wheels(
    tmp_path, monkeypatch
):
    container = resolving_container(
        "python3.10", report_item("packageurl-python", "0.17.6", PURL, A)
    )
    served = (
        IndexFile(PURL, A),
        IndexFile("packageurl_python-0.17.6.tar.gz", B),
        IndexFile("packageurl_python-0.17.6-cp310-cp310-manylinux_2_17_x86_64.whl", C),
    )
    monkeypatch.setattr(lock_resolution, "index_files", lambda url, name: served)
    config = make_config(tmp_path, target=get_target("ubuntu-22.04"))
    lock = lock_resolution.resolve_tool_lock(fake_context(config, container), CYCLONEDX)
    assert container.argvs[4] == [
        *LOCK_PIP, "install", "--dry-run", "--quiet", "--ignore-installed", "--report",
        f"{LOCK_WORK}/report.json", "cyclonedx-python-lib>=11.12,<12",
    ]  # fmt: skip
    assert lock == ToolLock(
        "cyclonedx",
        "3.10",
        ("cyclonedx-python-lib>=11.12,<12",),
        (LockedRequirement("packageurl-python", "0.17.6", (IndexFile(PURL, A),)),),
    )


def test_a_tool_needing_a_compiled_wheel_is_refused(tmp_path, monkeypatch):
    compiled = "rpds_py-0.30.0-cp310-cp310-manylinux_2_17_x86_64.whl"
    container = resolving_container("python3.10", report_item("rpds-py", "0.30.0", compiled, A))
    monkeypatch.setattr(lock_resolution, "index_files", lambda url, name: ())
    config = make_config(tmp_path, target=get_target("ubuntu-22.04"))
    with pytest.raises(BuildError, match=rf"needs {compiled}, which is not a pure-Python wheel"):
        lock_resolution.resolve_tool_lock(fake_context(config, container), CYCLONEDX)


def test_tool_locks_are_resolved_with_the_oldest_python():
    assert oldest_python_target().name == "ubuntu-22.04"
