"""The venv step's exact commands, on a recording container (no Docker)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from builder.errors import BuildError, CommandFailed
from builder.requirement_lock import install_requirements
from builder.venv import (
    check_no_build_paths,
    compile_bytecode,
    create_venv,
    target_interpreter,
    trim_venv,
    unshipped_folders,
)
from tests.unit.fakes import Answer, Call, FakeContainer, fake_context, make_config
from tests.unit.test_requirement_lock import LOCK

ICEPY_SHA256 = "f" * 64
LOCK_NAME = "locks/debian-12/omero-web-5.33.2.txt"


def venv(context):
    """create_venv with the test lock and IcePy hash."""
    return create_venv(context, LOCK, ICEPY_SHA256, LOCK_NAME)


PIP = ["/opt/omero/web/venv3/bin/python", "-m", "pip"]
FREEZE = "Django==4.2.20\nomero-web==5.33.2\npip==24.0\nsetuptools==70.0.0\nwheel==0.43.0\nzeroc-ice==3.6.5\n"
A_DEBIAN_12_VENV = {
    "readlink -f /usr/bin/python3": Answer("/usr/bin/python3.11\n"),
    "pip show -f zeroc-ice": Answer("Files:\n  IcePy.cpython-311-x86_64-linux-gnu.so\n"),
    "pip freeze": Answer(FREEZE),
    # Once uninstalled, pip is gone: python says so on stderr and fails.
    "pip --version": Answer(
        stderr="/opt/omero/web/venv3/bin/python: No module named pip\n", returncode=1
    ),
}
GREP = [
    "grep", "-rlF", "--binary-files=text",
    "-e", "/omero-web-deb-build", "-e", "/root/.cache/pip",
    "/opt/omero/web/venv3", "/opt/omero/web/static",
]  # fmt: skip


def test_create_venv_runs_exactly_these_commands(tmp_path):
    container = FakeContainer(A_DEBIAN_12_VENV)
    venv(fake_context(make_config(tmp_path), container))
    assert container.argvs == [
        ["readlink", "-f", "/usr/bin/python3"],
        ["rm", "-rf", "/opt/omero/web/venv3"],
        ["/usr/bin/python3.11", "-m", "venv", "/opt/omero/web/venv3"],
        [*PIP, "install", "--no-compile", "--require-hashes", "--find-links",
         "/omero-web-deb-build/wheels", "--requirement", "/omero-web-deb-build/venv-requirements.txt"],
        [*PIP, "show", "-f", "zeroc-ice"],
        [*PIP, "freeze", "--all", "--exclude-editable"],
        [*PIP, "uninstall", "-y", "-q", "wheel", "setuptools", "pip"],
        [*PIP, "--version"],
        ["find", "/opt/omero/web/venv3", "-name", "__pycache__", "-prune",
         "-exec", "rm", "-rf", "{}", "+"],
        ["rm", "-f", "/opt/omero/web/venv3/.gitignore"],
    ]  # fmt: skip


def test_pip_installs_the_lock_and_the_icepy_wheel_every_hash_required(tmp_path):
    container = FakeContainer(A_DEBIAN_12_VENV)
    venv(fake_context(make_config(tmp_path), container))
    written, _ = container.files[PurePosixPath("/omero-web-deb-build/venv-requirements.txt")]
    assert written.decode() == install_requirements(LOCK, ICEPY_SHA256)
    # The uninstall may find a tool already gone; the check after it decides.
    uninstall = next(call for call in container.calls if "uninstall" in call.argv)
    assert uninstall.check is False


def test_pip_install_says_what_to_check_when_it_fails(tmp_path):
    answers = {
        **A_DEBIAN_12_VENV,
        "pip install": Answer(stderr="ERROR: no network\n", returncode=1),
    }
    with pytest.raises(CommandFailed) as error:
        venv(fake_context(make_config(tmp_path), FakeContainer(answers)))
    assert str(error.value).endswith(
        "ERROR: no network\npip could not install omero-web into the venv: check the network, "
        "the proxy variables, PIP_INDEX_URL and --ca-cert"
    )


# What pip 23 to 26 print when a file's hash is not the required one.
PIP_HASH_ERROR = f"""\
Processing /omero-web-deb-build/wheels/zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl
ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the package versions, please update the hashes. Otherwise, examine the package contents carefully; someone may have tampered with them.
    zeroc-ice==3.6.5 from file:///omero-web-deb-build/wheels/zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl:
        Expected sha256 {ICEPY_SHA256}
             Got        {"e" * 64}

    django==5.2.19 from https://files.pythonhosted.org/packages/ab/cd/django-5.2.19-py3-none-any.whl (from -r /omero-web-deb-build/venv-requirements.txt (line 32)):
        Expected sha256 {"a" * 64}
             or sha256 {"b" * 64}
             Got        {"c" * 64}

"""


def test_a_file_whose_hash_is_not_the_locked_one_stops_the_build_naming_both(tmp_path):
    answers = {**A_DEBIAN_12_VENV, "pip install": Answer(stderr=PIP_HASH_ERROR, returncode=1)}
    with pytest.raises(BuildError) as error:
        venv(fake_context(make_config(tmp_path), FakeContainer(answers)))
    assert str(error.value) == (
        "pip refused files whose sha256 is not the one in locks/debian-12/omero-web-5.33.2.txt "
        "(or, for IcePy, the wheel's recorded hash); nothing was installed:\n"
        f"  zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl: expected sha256 {ICEPY_SHA256}, "
        f"got {'e' * 64}\n"
        f"  django-5.2.19-py3-none-any.whl: expected sha256 {'a' * 64} or {'b' * 64}, "
        f"got {'c' * 64}\n"
        "A changed or tampered file: find out why before anything else; if the index rightly "
        "serves new files, make the lock anew with `omero-web-deb lock`"
    )


def test_the_pinned_requirements_leave_out_the_build_tools(tmp_path):
    container = FakeContainer(A_DEBIAN_12_VENV)
    requirements = venv(fake_context(make_config(tmp_path), container))
    assert requirements == "Django==4.2.20\nomero-web==5.33.2\nzeroc-ice==3.6.5\n"


def test_a_warning_on_stderr_is_not_a_requirement(tmp_path):
    answers = {**A_DEBIAN_12_VENV, "pip freeze": Answer(FREEZE, "WARNING: cache is odd\n")}
    requirements = venv(fake_context(make_config(tmp_path), FakeContainer(answers)))
    assert "WARNING" not in requirements


def test_pip_left_in_the_venv_fails_the_build(tmp_path):
    answers = {**A_DEBIAN_12_VENV, "pip --version": Answer("pip 24.0 from /opt/omero/web/venv3\n")}
    with pytest.raises(BuildError) as error:
        venv(fake_context(make_config(tmp_path), FakeContainer(answers)))
    assert str(error.value) == (
        "pip is still in the venv after uninstalling it: pip 24.0 from /opt/omero/web/venv3"
    )


def test_an_icepy_not_compiled_for_the_target_fails_the_build(tmp_path):
    answers = {
        **A_DEBIAN_12_VENV,
        "pip show -f zeroc-ice": Answer("  IcePy.cpython-310-x86_64-linux-gnu.so\n"),
    }
    with pytest.raises(BuildError, match="the venv's IcePy is not the compiled wheel"):
        venv(fake_context(make_config(tmp_path), FakeContainer(answers)))


def test_a_base_image_with_another_python_is_refused_with_the_fix(tmp_path):
    container = FakeContainer({"readlink": Answer("/usr/bin/python3.9\n")})
    with pytest.raises(BuildError) as error:
        target_interpreter(fake_context(make_config(tmp_path), container))
    assert str(error.value) == (
        "debian-12 should have Python 3.11, but its /usr/bin/python3 is /usr/bin/python3.9: "
        "the base image is not the target's; remove it with `docker rmi` and build again"
    )


def test_no_build_path_found_passes(tmp_path):
    container = FakeContainer({"grep": Answer(returncode=1)})
    check_no_build_paths(fake_context(make_config(tmp_path), container))
    assert container.calls == [Call(GREP, check=False)]


def test_a_leaked_build_path_names_the_files(tmp_path):
    leaked = (
        "/opt/omero/web/venv3/lib/python3.11/site-packages/a/RECORD\n/opt/omero/web/venv3/b.pth\n"
    )
    container = FakeContainer({"grep": Answer(leaked)})
    with pytest.raises(BuildError) as error:
        check_no_build_paths(fake_context(make_config(tmp_path), container))
    assert str(error.value) == (
        "build-time paths leaked into packaged files (these would point nowhere on the "
        "installed host):\n"
        "  /opt/omero/web/venv3/lib/python3.11/site-packages/a/RECORD\n"
        "  /opt/omero/web/venv3/b.pth"
    )


def test_grep_failing_is_not_taken_for_a_leak(tmp_path):
    answer = Answer(stderr="grep: /opt/omero/web/venv3: No such file or directory\n", returncode=2)
    container = FakeContainer({"grep": answer})
    with pytest.raises(CommandFailed) as error:
        check_no_build_paths(fake_context(make_config(tmp_path), container))
    assert error.value.returncode == 2
    assert error.value.output_tail == "grep: /opt/omero/web/venv3: No such file or directory"


SITE = "/opt/omero/web/venv3/lib/python3.11/site-packages"


def test_test_suites_and_other_languages_catalogs_are_left_out():
    folders = [
        f"{SITE}/numpy/_core/tests",
        f"{SITE}/numpy/_core/tests/data",
        f"{SITE}/numpy/testing",  # imported by numpy itself
        f"{SITE}/tests",  # django-pipeline's
        f"{SITE}/tests/assets",
        f"{SITE}/django/test",  # Django's test client: a module, not a suite
        f"{SITE}/django/conf/locale",
        f"{SITE}/django/conf/locale/de",
        f"{SITE}/django/conf/locale/de/LC_MESSAGES",
        f"{SITE}/django/conf/locale/en",
        f"{SITE}/django/conf/locale/en/LC_MESSAGES",
        f"{SITE}/django/conf/locale/en_GB",
        f"{SITE}/django/conf/locale/en_GB/LC_MESSAGES",
        f"{SITE}/django/conf/locale/__pycache__",  # no catalog: kept
        f"{SITE}/django/contrib/admin/locale/pt_BR",
        f"{SITE}/django/contrib/admin/locale/pt_BR/LC_MESSAGES",
        "/opt/omero/web/venv3/tests",  # outside site-packages: not a wheel's
        f"{SITE}/django/contrib/gis",  # needs GDAL and GEOS
        f"{SITE}/django/contrib/gis/db",
        f"{SITE}/django/contrib/postgres",  # needs psycopg
        f"{SITE}/django/contrib/sessions",
    ]
    assert unshipped_folders(reversed(folders)) == [
        f"{SITE}/django/conf/locale/de",
        f"{SITE}/django/contrib/admin/locale/pt_BR",
        f"{SITE}/django/contrib/gis",
        f"{SITE}/django/contrib/postgres",
        f"{SITE}/numpy/_core/tests",
        f"{SITE}/tests",
    ]


VENV_FOLDERS = ("/opt/omero/web/venv3/lib", "/opt/omero/web/venv3/include")


def test_trim_removes_the_chosen_folders_and_the_catalogs_sources(tmp_path):
    listed = f"{SITE}/gevent\n{SITE}/gevent/tests\n{SITE}/gevent/tests/data\n"
    container = FakeContainer({"find /opt/omero/web/venv3/lib -type d": Answer(listed)})
    assert trim_venv(fake_context(make_config(tmp_path), container)) == 1
    assert [call.argv for call in container.calls] == [
        ["find", "/opt/omero/web/venv3/lib", "-type", "d"],
        ["rm", "-rf", f"{SITE}/gevent/tests"],
        ["find", "/opt/omero/web/venv3/lib", "-path", "*/locale/*/LC_MESSAGES/*.po", "-delete"],
        ["find", *VENV_FOLDERS, "-type", "f",
         "(", "-name", "*.pyi", "-o", "-name", "*.h", "-o", "-name", "*.c", ")", "-delete"],
        ["find", *VENV_FOLDERS, "-mindepth", "1", "-type", "d", "-empty", "-delete"],
    ]  # fmt: skip


COMPILEALL = [
    "/opt/omero/web/venv3/bin/python", "-m", "compileall", "-q", "-f", "-j", "0",
    "--invalidation-mode", "checked-hash", "/opt/omero/web/venv3/lib",
]  # fmt: skip


def test_bytecode_is_compiled_in_place_hash_checked_and_forced(tmp_path):
    # 1: some source did not compile (a template named .py); it gets none.
    container = FakeContainer({"compileall": Answer("*** Error compiling x.py\n", returncode=1)})
    compile_bytecode(fake_context(make_config(tmp_path), container))
    assert container.calls == [Call(COMPILEALL, check=False)]


def test_compileall_crashing_fails_the_build(tmp_path):
    container = FakeContainer({"compileall": Answer(stderr="Killed\n", returncode=137)})
    with pytest.raises(CommandFailed) as error:
        compile_bytecode(fake_context(make_config(tmp_path), container))
    assert error.value.returncode == 137
