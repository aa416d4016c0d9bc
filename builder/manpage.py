"""omero-web-deb(1), written from the CLI's own help at package build time.

Every command and option comes from click's help records, so the page
cannot drift from the code.  Run as `python3 -m builder.manpage`: the
toolkit's Debian package (builder/toolkit_deb.py) does so in debian/rules.
The date is SOURCE_DATE_EPOCH's (dpkg-buildpackage sets it from the
changelog), so the page is the same on every rebuild.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping

import click

from builder import __version__
from builder.cli import main

NAME = "omero-web-deb"


def roff(text: str) -> str:
    """Text safe in a roff page: backslashes and hyphens escaped, and no
    line starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(
        f"\\&{line}" if line.startswith((".", "'")) else line for line in text.splitlines()
    )


def paragraphs(text: str) -> list[str]:
    """Help text as roff paragraphs: click's wrapped lines joined again."""
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in text.split("\n\n")]
    lines: list[str] = []
    for block in (b for b in blocks if b and b != "\b"):
        lines += [".PP", roff(block.removeprefix("\b ").strip())]
    return lines


def walk(
    command: click.Command, ctx: click.Context
) -> Iterator[tuple[click.Command, click.Context]]:
    """The command and every subcommand under it, depth first, by name."""
    yield command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, click.Context(sub, info_name=name, parent=ctx))


def options(command: click.Command, ctx: click.Context) -> list[str]:
    lines = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is not None:
            lines += [".TP", f"\\fB{roff(record[0])}\\fR", roff(record[1]) or "\\&"]
    return lines


def manual_page(environ: Mapping[str, str] = os.environ) -> str:
    epoch = int(environ.get("SOURCE_DATE_EPOCH") or time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(epoch))
    root = click.Context(main, info_name=NAME)
    lines = [
        f'.TH {NAME.upper()} 1 "{date}" "{NAME} {__version__}" "User Commands"',
        ".SH NAME",
        f"{roff(NAME)} \\- build native Debian packages of OMERO.web",
        ".SH SYNOPSIS",
        f"\\fB{roff(NAME)}\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        *paragraphs(main.help or ""),
        ".SH OPTIONS",
        *options(main, root),
        ".SH COMMANDS",
    ]
    for command, ctx in walk(main, root):
        if command is main:
            continue
        path = ctx.command_path.removeprefix(f"{NAME} ")
        lines += [
            ".SS " + roff(path),
            f"\\fB{roff(ctx.command_path)}\\fR {roff(' '.join(command.collect_usage_pieces(ctx)))}",
            *paragraphs(command.help or ""),
            *options(command, ctx),
        ]
    lines += [
        ".SH ENVIRONMENT",
        ".TP",
        "\\fBOMERO_WEB_DEB_KEEP_CONTAINERS=1\\fR",
        "Keep build containers for debugging.",
        ".TP",
        "\\fBhttp_proxy\\fR, \\fBhttps_proxy\\fR, \\fBno_proxy\\fR, \\fBPIP_INDEX_URL\\fR",
        "Passed into the build containers.",
        ".SH FILES",
        ".TP",
        "\\fI~/.cache/omero\\-web\\-deb\\fR",
        "Cached IcePy wheels, keyrings, pip downloads and build logs.",
        ".SH SEE ALSO",
        "\\fBdpkg\\-buildpackage\\fR(1), \\fBmmdebstrap\\fR(1), \\fBapt\\-ftparchive\\fR(1)",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(manual_page())
