"""Refuse an `omero config set|append|remove KEY` that a drop-in would undo.

    python3 -I @LIB_DIR@/omero_web_owned_keys.py config set KEY [VALUE]

Run by omero-web-cli before it hands a `config` command to the omero CLI.
Every start loads the drop-ins @CONFIG_DIR@/*.omero into config.xml again
(omero-web-apply-config), so a key one of them sets, appends to or removes
would be silently undone at the next restart: the command is refused (exit
status 1) with the file that owns the key and how to change it there.  Any
other command exits 0 without a word.

A drop-in the current user cannot read is passed over: the service user
reads them all (they are root:omero-web), and root reads everything.

Only the standard library, here and in the helper: this runs before every
`config` command.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

# python -I leaves the script's own folder off sys.path (3.11+): the helper
# next to this file, which lists the drop-ins the way apply-config loads them.
sys.dont_write_bytecode = True  # that folder is dpkg's (see omero_web_helper.py)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from omero_web_helper import CONFIG_DIR, dropin_files  # noqa: E402 (after the path)

DEBCONF_DROPIN = "10-debconf.omero"
# The `omero config` subcommands that change one key (the first word after
# their options).
CHANGING = ("set", "append", "remove")


def changed_key(argv: Sequence[str]) -> str | None:
    """The key `omero ARGV` changes, if ARGV is a `config set|append|remove`."""
    if len(argv) < 2 or argv[0] != "config" or argv[1] not in CHANGING:
        return None
    words = list(argv[2:])
    while words and words[0].startswith("-") and words[0] != "--":
        words.pop(0)  # --set, --report: flags without a value
    if words and words[0] == "--":
        words.pop(0)
    return words[0] if words else None


def keys_in(text: str) -> set[str]:
    """The keys a drop-in's lines change (the omero CLI splits each line
    with shlex too); a line shlex cannot split is the loader's to refuse."""
    keys = set()
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        key = changed_key(words)
        if key:
            keys.add(key)
    return keys


def owner(key: str, config_dir: Path = CONFIG_DIR) -> Path | None:
    """The last drop-in (the one that wins) that changes KEY."""
    found = None
    for path in dropin_files(config_dir):
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            continue
        if key in keys_in(text):
            found = path
    return found


def refusal(key: str, path: Path) -> str:
    if path.name == DEBCONF_DROPIN:
        how = (
            "it is a debconf answer: change it with `dpkg-reconfigure omero-web`, or override "
            f"it in a later drop-in such as {path.parent}/50-local.omero"
        )
    else:
        how = f"change it in {path}, then restart the service (service omero-web restart)"
    return (
        f"omero-web-cli: {key} is set by {path}, which is loaded again before every start: "
        f"a value set here would be undone.  Not changed; {how}."
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    key = changed_key(argv)
    if key is None:
        return 0
    path = owner(key)
    if path is None:
        return 0
    print(refusal(key, path), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
