"""Where an apt repository keeps what: its settings, key, trees, served link.

On disk, DIR being `--repo`:

    DIR/repository.json            suites, signing key fingerprint, GNUPGHOME, URL
    DIR/private/gnupg/             the key `repo init` made (mode 0700, never served)
    DIR/releases/NNNNNN/           complete signed trees; the newest two are kept
    DIR/public -> releases/NNNNNN  what the web server serves
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from builder.errors import RepositoryError, UsageError
from builder.repo.debinfo import KNOWN_SUITES
from builder.targets import TARGETS

CONFIG_NAME = "repository.json"


@dataclass(frozen=True)
class RepositoryConfig:
    suites: tuple[str, ...]
    fingerprint: str  # the key clients trust: every Release is signed by it
    gnupghome: str  # relative to the repository, or absolute
    url: str | None = None  # where clients reach `public`; for the .sources files
    origin: str = "omero-web-deb"
    label: str = "omero-web-deb"

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "suites": list(self.suites)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RepositoryConfig:
        data = json.loads(text)
        return cls(**{**data, "suites": tuple(data["suites"])})


@dataclass(frozen=True)
class RepositoryPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def private(self) -> Path:
        return self.root / "private"

    @property
    def own_gnupghome(self) -> Path:
        return self.private / "gnupg"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def public(self) -> Path:
        return self.root / "public"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def gnupghome(self, config: RepositoryConfig) -> Path:
        return self.root / config.gnupghome  # an absolute gnupghome stays absolute

    def served_tree(self) -> Path | None:
        return self.public.resolve() if self.public.is_symlink() else None


def parse_suites(names: Sequence[str]) -> tuple[str, ...]:
    """Codenames, or target names (debian-12), in the targets table's order."""
    suites = set()
    for name in names:
        codename = TARGETS[name].codename if name in TARGETS else name
        if codename not in KNOWN_SUITES:
            raise UsageError(
                f"unknown suite {name!r}: a suite is a target's codename, one of "
                f"{', '.join(KNOWN_SUITES)}"
            )
        suites.add(codename)
    return tuple(s for s in KNOWN_SUITES if s in suites)


def load_config(paths: RepositoryPaths) -> RepositoryConfig:
    if not paths.config.is_file():
        raise RepositoryError(
            f"{paths.root} is not a repository (no {CONFIG_NAME}): create it with "
            f"`omero-web-deb repo init --repo {paths.root}`"
        )
    try:
        return RepositoryConfig.from_json(paths.config.read_text())
    except (ValueError, TypeError, KeyError) as e:
        raise RepositoryError(f"{paths.config} is damaged ({e}): restore it from a backup") from e
