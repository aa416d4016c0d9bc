"""Print `omero web config nginx PORT NAMES` for the settings in the drop-ins.

    OMERODIR=PRIVATE python3 -I omero-web-nginx-site.py PORT NAMES DROPIN...

omero-web-nginx runs this as root, with OMERODIR an empty private folder:
the drop-ins are loaded into a config.xml there, and the omero CLI's own
nginx template is filled from it.  The site nginx's master (root) loads is
thus made only from files root owns, never from the live config.xml, which
the service user can write: a compromised app cannot put directives in it.

The omero CLI's entry point refuses root to keep root-owned files out of a
live OMERODIR; this script drives the CLI in-process on a folder of root's
own, which is what that check protects.
"""

import sys

from omero.cli import CLI, NonZeroReturnCode


def main() -> int:
    port, names, *dropins = sys.argv[1:]
    cli = CLI()
    cli.loadplugins()
    commands = [["load", *dropins]] if dropins else []  # no file: load reads stdin
    commands.append(["web", "config", "nginx", "--http", port, "--servername", names])
    for command in commands:
        try:
            cli.invoke(command, strict=True)
        except NonZeroReturnCode:
            print(f"omero-web: `omero {' '.join(command)}` failed (above)", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
