"""Building and providing the IcePy wheel, on a recording container."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from builder import icepy
from builder.errors import CommandFailed, UsageError
from tests.unit.fakes import Answer, Call, FakeContainer, fake_context, make_config

WORK = "/omero-web-deb-build/icepy"
WHEEL = "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"
PIP = [f"{WORK}/venv/bin/python", "-m", "pip"]


def built_by(answer: str) -> FakeContainer:
    return FakeContainer({f"ls {WORK}/dist/*.whl": Answer(answer)})


def test_the_build_patches_the_sdist_and_compiles_it_on_every_core(tmp_path):
    container = built_by(f"{WORK}/dist/{WHEEL}\n")
    icepy.build_icepy_wheel(fake_context(make_config(tmp_path, jobs=4), container))
    patches = [
        ["patch", "-p1", "--forward", "-i", f"{WORK}/icepy/{patch.name}"]
        for patch in icepy.patch_series()
    ]
    assert container.argvs == [
        ["mkdir", "-p", f"{WORK}/dist"],
        ["python3", "-m", "venv", f"{WORK}/venv"],
        [*PIP, "install", "-q", "setuptools", "wheel"],
        [*PIP, "download", "--no-deps", "--no-binary", ":all:", "--dest", WORK,
         "zeroc-ice==3.6.5"],
        ["tar", "-xzf", f"{WORK}/zeroc-ice-3.6.5.tar.gz", "-C", WORK],
        *patches,
        [f"{WORK}/venv/bin/python", f"{WORK}/icepy_build.py", "--source",
         f"{WORK}/zeroc-ice-3.6.5", "--jobs", "4", "--out", f"{WORK}/dist"],
        ["sh", "-c", f"ls {WORK}/dist/*.whl"],
    ]  # fmt: skip
    # Every patch is applied inside the unpacked sdist.
    assert {call.workdir for call in container.calls if call.argv[0] == "patch"} == {
        f"{WORK}/zeroc-ice-3.6.5"
    }
    assert container.copied_in == [
        (icepy.PATCHES_DIR, PurePosixPath(WORK)),
        (icepy.BUILD_SCRIPT, PurePosixPath(WORK)),
    ]


def test_the_built_wheel_lands_in_the_cache_under_its_key(tmp_path):
    config = make_config(tmp_path)
    wheel = icepy.build_icepy_wheel(fake_context(config, built_by(f"{WORK}/dist/{WHEEL}\n")))
    assert wheel == tmp_path / "cache" / "icepy" / icepy.cache_key(config.target) / WHEEL
    assert wheel.is_file()
    assert icepy.cached_wheel(config.cache_dir, config.target) == wheel


def test_a_build_that_made_no_single_wheel_fails(tmp_path):
    container = built_by(f"{WORK}/dist/a.whl {WORK}/dist/b.whl\n")
    with pytest.raises(CommandFailed, match="expected one wheel, found"):
        icepy.build_icepy_wheel(fake_context(make_config(tmp_path), container))


def test_a_built_wheel_for_another_python_is_refused(tmp_path):
    container = built_by(f"{WORK}/dist/zeroc_ice-3.6.5-cp310-cp310-linux_x86_64.whl\n")
    with pytest.raises(UsageError, match="built for cp310"):
        icepy.build_icepy_wheel(fake_context(make_config(tmp_path), container))


def test_a_given_wheel_is_copied_in_and_nothing_is_built(tmp_path):
    given = tmp_path / WHEEL
    given.write_bytes(b"PK")
    container = FakeContainer()
    in_container = icepy.provide_icepy_wheel(
        fake_context(make_config(tmp_path), container, icepy_wheel=given)
    )
    assert in_container == PurePosixPath(f"/omero-web-deb-build/wheels/{WHEEL}")
    assert container.copied_in == [(given, PurePosixPath("/omero-web-deb-build/wheels"))]
    assert container.calls == []


def test_without_a_given_or_cached_wheel_one_is_built_then_copied_in(tmp_path):
    config = make_config(tmp_path)
    container = built_by(f"{WORK}/dist/{WHEEL}\n")
    icepy.provide_icepy_wheel(fake_context(config, container))
    assert Call(["sh", "-c", f"ls {WORK}/dist/*.whl"]) in container.calls
    cached = icepy.cached_wheel(config.cache_dir, config.target)
    assert container.copied_in[-1] == (cached, PurePosixPath("/omero-web-deb-build/wheels"))
