"""Building and providing the IcePy wheel, on a recording container."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from types import SimpleNamespace

import pytest

from builder import icepy
from builder.errors import BuildError, CommandFailed, UsageError
from tests.unit.fakes import Answer, Call, FakeContainer, fake_context, make_config

WORK = "/omero-web-deb-build/icepy"
WHEEL = "zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"
PIP = [f"{WORK}/venv/bin/python", "-m", "pip"]


SDIST = f"{WORK}/zeroc-ice-3.6.5.tar.gz"
SDIST_SHA256 = "4235ffeb605bcd4e22e716577f7d61e4aa1bc82f65276bb542701a81b7933356"


def built_by(answer: str, sdist_sha256: str = SDIST_SHA256) -> FakeContainer:
    return FakeContainer(
        {
            f"ls {WORK}/dist/*.whl": Answer(answer),
            "sha256sum": Answer(f"{sdist_sha256}  {SDIST}\n"),
        }
    )


def test_the_build_patches_the_sdist_and_compiles_it_on_every_core(tmp_path):
    container = built_by(f"{WORK}/dist/{WHEEL}\n")
    icepy.build_icepy_wheel(fake_context(make_config(tmp_path, jobs=4), container))
    patches = [
        ["patch", "-p1", "--forward", "-i", f"{WORK}/icepy/{patch.name}"]
        for patch in icepy.patch_series()
    ]
    assert container.argvs == [
        ["dpkg-query", "-W", "-f", "${Package} ${Version} ${Architecture}\n"],
        ["mkdir", "-p", f"{WORK}/dist"],
        ["python3", "-m", "venv", f"{WORK}/venv"],
        [*PIP, "install", "-q", "--require-hashes", "--requirement",
         f"{WORK}/build-requirements.txt"],
        [*PIP, "download", "--no-deps", "--no-binary", ":all:", "--dest", WORK,
         "zeroc-ice==3.6.5"],
        ["sha256sum", SDIST],
        ["tar", "-xzf", SDIST, "-C", WORK],
        *patches,
        [f"{WORK}/venv/bin/python", f"{WORK}/icepy_build.py", "--source",
         f"{WORK}/zeroc-ice-3.6.5", "--jobs", "4", "--out", f"{WORK}/dist"],
        ["sh", "-c", f"ls {WORK}/dist/*.whl"],
    ]  # fmt: skip
    # The build tools are pinned by hash: they name themselves in the wheel.
    assert container.files[PurePosixPath(f"{WORK}/build-requirements.txt")] == (
        icepy.ICEPY_BUILD_REQUIREMENTS.encode(),
        0o644,
    )
    assert icepy.ICEPY_BUILD_REQUIREMENTS.startswith("setuptools==")
    # The wheel's files are dated by a fixed time, not the compile's.
    compile_call = next(call for call in container.calls if f"{WORK}/icepy_build.py" in call.argv)
    assert compile_call.env == {"SOURCE_DATE_EPOCH": "1564602578"}
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


def test_an_sdist_with_another_hash_is_not_built(tmp_path):
    container = built_by(f"{WORK}/dist/{WHEEL}\n", sdist_sha256="0" * 64)
    with pytest.raises(BuildError) as error:
        icepy.build_icepy_wheel(fake_context(make_config(tmp_path), container))
    assert str(error.value).startswith(
        f"the package index served zeroc-ice-3.6.5.tar.gz with sha256 {'0' * 64}, but IcePy is "
        f"built only from the sdist with sha256 {SDIST_SHA256}"
    )
    assert not any(argv[0] == "tar" for argv in container.argvs)


def test_the_built_wheels_hash_is_recorded_beside_it(tmp_path):
    config = make_config(tmp_path)
    wheel = icepy.build_icepy_wheel(fake_context(config, built_by(f"{WORK}/dist/{WHEEL}\n")))
    assert icepy.recorded_sha256(wheel) == icepy.file_sha256(wheel)


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
    provided = icepy.provide_icepy_wheel(
        fake_context(make_config(tmp_path, icepy_wheel=str(given)), container, icepy_wheel=given)
    )
    assert provided == icepy.IcePyWheel(
        PurePosixPath(f"/omero-web-deb-build/wheels/{WHEEL}"),
        hashlib.sha256(b"PK").hexdigest(),
        f"given: {given}",
    )
    assert container.copied_in == [(given, PurePosixPath("/omero-web-deb-build/wheels"))]
    assert container.calls == []


def test_without_a_given_or_cached_wheel_one_is_built_then_copied_in(tmp_path):
    config = make_config(tmp_path)
    container = built_by(f"{WORK}/dist/{WHEEL}\n")
    icepy.provide_icepy_wheel(fake_context(config, container))
    assert Call(["sh", "-c", f"ls {WORK}/dist/*.whl"]) in container.calls
    cached = icepy.cached_wheel(config.cache_dir, config.target)
    assert container.copied_in[-1] == (cached, PurePosixPath("/omero-web-deb-build/wheels"))


def test_a_wheel_another_toolchain_compiled_is_compiled_anew(tmp_path):
    """The build image's packages key the cached wheel too: after a --refresh
    (a newer g++ or libssl), the wheel is compiled again and replaces it."""
    config = make_config(tmp_path)

    def with_packages(listing: str) -> FakeContainer:
        container = built_by(f"{WORK}/dist/{WHEEL}\n")
        container.answers["dpkg-query"] = Answer(listing)
        return container

    first = with_packages("g++ 4:12.2.0-3 amd64\nlibssl-dev 3.0.15-1 amd64\n")
    icepy.provide_icepy_wheel(fake_context(config, first))
    # The same packages, listed in another order: the cached wheel.
    same = with_packages("libssl-dev 3.0.15-1 amd64\ng++ 4:12.2.0-3 amd64\n")
    provided = icepy.provide_icepy_wheel(fake_context(config, same))
    assert "cached" in provided.origin and ["sh", "-c", f"ls {WORK}/dist/*.whl"] not in same.argvs
    newer = with_packages("g++ 4:12.2.0-3 amd64\nlibssl-dev 3.0.16-1 amd64\n")
    provided = icepy.provide_icepy_wheel(fake_context(config, newer))
    assert "by this build" in provided.origin
    assert ["sh", "-c", f"ls {WORK}/dist/*.whl"] in newer.argvs
    # Without a toolchain to compare (the tests' own look-up), the entry is found.
    assert icepy.cached_wheel(config.cache_dir, config.target) is not None


def test_the_compile_links_in_name_order_without_debug_info(monkeypatch):
    """setup.py lists the sources in the file system's order; the link
    order, and so the module's bytes, must not depend on it."""
    from setuptools import Extension
    from setuptools.command.build_ext import build_ext

    from builder import icepy_build

    seen: list[tuple[list[str], list[str]]] = []

    def original(self):
        seen.extend((ext.sources, ext.extra_compile_args) for ext in self.extensions)

    # monkeypatch puts back the class's own methods after the test.
    monkeypatch.setattr(build_ext, "build_extensions", original)
    monkeypatch.setattr(build_ext, "build_extension", build_ext.build_extension)
    icepy_build.install_build_ext_hooks(jobs=2)
    extension = Extension("IcePy", ["src/b/z.cpp", "src/a.cpp", "src/b/a.c"])
    extension.extra_compile_args = ["-w"]
    command = SimpleNamespace(compiler=SimpleNamespace(), extensions=[extension])
    build_ext.build_extensions(command)
    assert seen == [(["src/a.cpp", "src/b/a.c", "src/b/z.cpp"], ["-w", "-g0"])]
    # The compile on a thread pool, for this compiler only.
    assert command.compiler.compile.__self__ is command.compiler
