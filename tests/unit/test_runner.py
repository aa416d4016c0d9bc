"""The host runner's log is what a user pastes into a shell to retry a step."""

from __future__ import annotations

import pytest

from builder.errors import CommandFailed
from builder.runner import Runner


def test_logged_command_is_quoted_as_a_shell_would_need_it() -> None:
    log: list[str] = []
    Runner(log.append).run(["true", "--passphrase", "", "a b"])
    assert log[0] == "+ true --passphrase '' 'a b'"


def test_failure_names_the_quoted_command_and_its_output() -> None:
    with pytest.raises(CommandFailed) as failed:
        Runner(lambda _line: None).run(["sh", "-c", "echo no such key; exit 3", ""])
    message = str(failed.value)
    assert "exit code 3: sh -c 'echo no such key; exit 3' ''" in message
    assert message.endswith("no such key")
