"""A build tool's venv in the build container: its exact commands from the
committed lock, and what a refused file says (no Docker)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from builder.errors import BuildError, CommandFailed
from builder.paths import BUILD_PATH_MARKERS, TOOLS_WORK
from builder.requirement_lock import read_tool_lock, tool_lock_path
from builder.tool_venv import CYCLONEDX, install_tool
from tests.unit.fakes import ROOT, Answer, FakeContainer, fake_context, make_config

VENV = "/omero-web-deb-build/tools/cyclonedx"
REQUIREMENTS = PurePosixPath("/omero-web-deb-build/tools/cyclonedx.txt")
PIP = [f"{VENV}/bin/python", "-m", "pip"]


def test_the_tool_venv_is_made_with_the_targets_python_from_its_lock(tmp_path):
    container = FakeContainer()
    python = install_tool(fake_context(make_config(tmp_path), container), CYCLONEDX)
    assert python == PurePosixPath(f"{VENV}/bin/python")
    # Its own pip, not an upgraded one: the distribution's reads the
    # system CA store, where the host's extra CAs are.
    assert container.argvs == [
        ["rm", "-rf", VENV],
        ["python3", "-m", "venv", VENV],
        [*PIP, "install", "--no-compile", "--require-hashes", "--only-binary", ":all:",
         "--requirement", str(REQUIREMENTS)],
    ]  # fmt: skip
    lock = (ROOT / "locks" / "tools" / "cyclonedx.txt").read_bytes()
    assert container.files == {REQUIREMENTS: (lock, 0o644)}


def test_the_tool_venv_is_never_packaged():
    """Under the build root, which no packaged file may even name."""
    assert TOOLS_WORK.is_relative_to(PurePosixPath(BUILD_PATH_MARKERS[0]))


def test_a_tool_file_whose_hash_is_not_the_locked_one_names_the_tools_lock(tmp_path):
    refusal = (
        "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n"
        "    cyclonedx-python-lib==11.12.0 from https://files.example.org/"
        "cyclonedx_python_lib-11.12.0-py3-none-any.whl:\n"
        f"        Expected sha256 {'a' * 64}\n"
        f"             Got        {'b' * 64}\n"
    )
    container = FakeContainer({"pip install": Answer(stderr=refusal, returncode=1)})
    with pytest.raises(BuildError) as error:
        install_tool(fake_context(make_config(tmp_path), container), CYCLONEDX)
    assert str(error.value) == (
        "pip refused files whose sha256 is not the one in locks/tools/cyclonedx.txt; nothing "
        "was installed:\n"
        f"  cyclonedx_python_lib-11.12.0-py3-none-any.whl: expected sha256 {'a' * 64}, "
        f"got {'b' * 64}\n"
        "A changed or tampered file: find out why before anything else; if the index rightly "
        "serves new files, make the lock anew with `omero-web-deb lock --tool cyclonedx`"
    )


def test_a_failed_tool_install_says_what_to_check(tmp_path):
    container = FakeContainer({"pip install": Answer(stderr="ERROR: no network\n", returncode=1)})
    with pytest.raises(CommandFailed) as error:
        install_tool(fake_context(make_config(tmp_path), container), CYCLONEDX)
    assert str(error.value).endswith(
        "ERROR: no network\npip could not install the cyclonedx build tool: check the "
        "network, the proxy variables, PIP_INDEX_URL and --ca-cert"
    )


def test_a_toolkit_without_the_tools_lock_says_so(tmp_path):
    config = make_config(tmp_path, project_root=tmp_path)
    with pytest.raises(BuildError, match=r"the cyclonedx build tool has no lock at "):
        install_tool(fake_context(config, FakeContainer()), CYCLONEDX)


def test_the_committed_cyclonedx_lock_is_pure_python_without_the_schema_validator():
    lock = read_tool_lock(tool_lock_path(ROOT, "cyclonedx"), "cyclonedx")
    assert lock.requested == CYCLONEDX.requested
    names = {r.name for r in lock.requirements}
    assert {"cyclonedx-python-lib", "packageurl-python", "py-serializable"} <= names
    assert not names & {"jsonschema", "rpds-py", "lxml"}
    files = [f.filename for r in lock.requirements for f in r.files]
    assert files and all(name.endswith("-none-any.whl") for name in files)
