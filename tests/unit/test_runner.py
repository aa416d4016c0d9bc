"""The host runner: its log is what a user pastes into a shell to retry a
step, and a caller that parses a command's output gets stdout only."""

from __future__ import annotations

import shlex

import pytest

from builder.errors import CommandFailed
from builder.runner import CommandOutput, Runner

OUT_AND_ERR = ["sh", "-c", "echo result; echo 'warning: odd' >&2"]


def test_logged_command_is_quoted_as_a_shell_would_need_it() -> None:
    log: list[str] = []
    argv = ["true", "--passphrase", "", "a b"]
    Runner(log.append).call(argv)
    assert log[0] == "+ " + shlex.join(argv) == "+ true --passphrase '' 'a b'"


def test_stdout_and_stderr_are_returned_apart() -> None:
    result = Runner(lambda _line: None).call(OUT_AND_ERR)
    assert (result.stdout, result.stderr, result.returncode) == ("result\n", "warning: odd\n", 0)
    assert sorted(result.output.splitlines()) == ["result", "warning: odd"]


def test_stderr_lines_are_marked_in_the_log() -> None:
    log: list[str] = []
    Runner(log.append).call(OUT_AND_ERR)
    assert sorted(log[1:]) == ["result", "stderr: warning: odd"]


def test_failure_names_the_quoted_command_its_output_and_the_hint() -> None:
    argv = ["sh", "-c", "echo no such key; echo gpg: failed >&2; exit 3", ""]
    with pytest.raises(CommandFailed) as failed:
        Runner(lambda _line: None).call(argv, hint="pass --key with a full fingerprint")
    assert failed.value.returncode == 3
    message = str(failed.value)
    assert message.startswith(
        "command failed with exit code 3: sh -c 'echo no such key; echo gpg: failed >&2; exit 3' ''"
    )
    assert "\nno such key\n" in message and "\ngpg: failed\n" in message
    assert message.endswith("\npass --key with a full fingerprint")


def test_the_failure_carries_the_last_25_lines() -> None:
    with pytest.raises(CommandFailed) as failed:
        Runner(lambda _line: None).call(["sh", "-c", "seq 1 100; exit 1"])
    assert failed.value.output_tail == "\n".join(str(n) for n in range(76, 101))


def test_unchecked_failure_returns_its_exit_code() -> None:
    result = Runner(lambda _line: None).call(["sh", "-c", "echo x; exit 4"], check=False)
    assert (result.stdout, result.returncode) == ("x\n", 4)


def test_a_missing_binary_is_exit_127_not_installed_even_unchecked() -> None:
    with pytest.raises(CommandFailed) as failed:
        Runner(lambda _line: None).call(["no-such-tool-here", "-v"], check=False, hint="apt it")
    assert failed.value.returncode == 127
    assert failed.value.output_tail == "no-such-tool-here: not installed"
    assert str(failed.value).endswith("\napt it")


def test_workdir_and_env_apply_to_the_command(tmp_path) -> None:
    result = Runner(lambda _line: None).call(
        ["sh", "-c", 'pwd; echo "$EXTRA"; test -n "$PATH"'], workdir=tmp_path, env={"EXTRA": "x"}
    )
    assert result.stdout == f"{tmp_path}\nx\n"


def test_output_split_inside_a_character_or_a_line_is_put_back_together() -> None:
    log: list[str] = []
    output = CommandOutput(log.append)
    text = "é\nlast".encode()
    for byte in text:
        output.add(bytes([byte]), stderr=False)
    output.add(b"err", stderr=True)
    result = output.finish(["x"], 0, check=True, hint="")
    assert (result.stdout, result.stderr) == ("é\nlast", "err")
    assert log == ["é", "last", "stderr: err"]
