"""Errors a user can act on.

Each class carries its exit code; its message says what failed and what to do
next.  The CLI prints the message and exits with the code; anything else is a
bug and gets a traceback.
"""

from __future__ import annotations

import shlex


class BuildError(Exception):
    """A build or publish step failed for a reason the user can fix."""

    exit_code = 1


class UsageError(BuildError):
    """A bad option or argument: nothing was started."""

    exit_code = 2


class DockerUnavailable(BuildError):
    exit_code = 3


class ImageUnavailable(BuildError):
    exit_code = 4


class NetworkError(BuildError):
    exit_code = 5


class RepositoryError(BuildError):
    """The repository or a package given to it is not usable: nothing changed."""

    exit_code = 7


class PackageRejected(RepositoryError):
    """A file given to `repo publish` cannot go into the repository."""


class SigningError(BuildError):
    """The signing key is missing, wrong or unusable: nothing was published."""

    exit_code = 8


class KeyringUnavailable(ImageUnavailable):
    """The archive keyring a base image needs is missing or does not verify."""


class CommandFailed(BuildError):
    """An external command exited non-zero; the message has its output's tail."""

    exit_code = 6

    def __init__(self, argv: list[str], returncode: int, output_tail: str, hint: str = "") -> None:
        self.argv = argv
        self.returncode = returncode
        self.output_tail = output_tail
        message = f"command failed with exit code {returncode}: {shlex.join(argv)}"
        if output_tail:
            message += "\n--- last lines of its output ---\n" + output_tail
        if hint:
            message += "\n" + hint
        super().__init__(message)
