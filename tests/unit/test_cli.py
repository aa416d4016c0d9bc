"""Bad input: a short message, a non-zero exit, no traceback, nothing written."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def invoke(*args, env=None):
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def assert_refused(result, code, *fragments, output_dir: Path):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ") or "\nerror: " in result.output
    for fragment in fragments:
        assert fragment in result.output
    assert not output_dir.exists() or not any(output_dir.iterdir())


def test_unknown_target(run, tmp_path):
    out = tmp_path / "out"
    result = run("build", "--target", "centos-7", "--output", str(out))
    assert_refused(result, 2, "unknown target 'centos-7'", "debian-12", output_dir=out)


def test_icepy_wheel_for_the_wrong_python(run, tmp_path):
    out = tmp_path / "out"
    wheel = tmp_path / "zeroc_ice-3.6.5-cp310-cp310-linux_x86_64.whl"
    wheel.write_bytes(b"PK")
    result = run(
        "build", "--target", "debian-12", "--icepy-wheel", str(wheel), "--output", str(out)
    )
    assert_refused(result, 2, "cp310", "Python 3.11", output_dir=out)


def test_malformed_omero_web_version(run, tmp_path):
    out = tmp_path / "out"
    result = run(
        "build", "--target", "debian-12", "--omero-web-version", "latest", "--output", str(out)
    )
    assert_refused(result, 2, "'latest' is not a release version", output_dir=out)


def test_ca_cert_that_is_not_a_certificate(run, tmp_path):
    out = tmp_path / "out"
    bogus = tmp_path / "bogus.crt"
    bogus.write_text("hello")
    result = run("build", "--target", "debian-12", "--ca-cert", str(bogus), "--output", str(out))
    assert_refused(result, 2, "not a PEM certificate", output_dir=out)


def test_no_docker_engine(tmp_path):
    # A real process: the Docker SDK's failed connection must not leak into
    # this test session.
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    result = subprocess.run(
        [sys.executable, "-m", "builder", "targets"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 3
    assert result.stderr.startswith("error: cannot reach a Docker engine")
    assert "DOCKER_HOST" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_the_traceback(run, tmp_path):
    result = run("--debug", "build", "--target", "centos-7", "--output", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "Traceback" in result.output


def test_help_lists_the_documented_options(run):
    result = run("build", "--help")
    for option in (
        "--target",
        "--omero-web-version",
        "--icepy-wheel",
        "--mirror",
        "--ca-cert",
        "--jobs",
        "--output",
    ):
        assert option in result.output
