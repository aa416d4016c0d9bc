"""Become OMERO.web's gunicorn master: omero-web.service's ExecStart, and
the init script's start (with --daemon), so both run the same command.

`omero web start --foreground` runs gunicorn as its child, collects the
static files at every start (seconds of Django start-up, even when nothing
changed) and exits 0 when gunicorn dies.  This script replaces it: it
builds gunicorn's command line with the omero CLI's own code
(`omero.plugins.web`, the version in the venv), adds --preload for
sync workers, sets what `omero web start` sets, and execs gunicorn.  The
master is then the unit's main process: a kill -9 of it is a failure that
Restart=on-failure restarts at once, and SIGTERM (`systemctl stop`) a
clean exit.

The command line is worked out, and the static files collected, at a start
after a clean stop (the unit's ExecStopPost drops the prepared command then,
so `systemctl restart` does all that `omero web start` does) or when
config.xml, the venv or this script changed; a restart after a crash reuses
them and serves again seconds sooner.

--preload: a unit drop-in with Environment=OMERO_WEB_GUNICORN_PRELOAD=no
turns it off (apps that open sockets or threads at import).

Run by the venv's python through omero-web-cli --python, which sets
OMERODIR, HOME and TMPDIR.
"""

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

OMERODIR = Path(os.environ["OMERODIR"])
VENV = Path(sys.prefix)
CONFIG_XML = OMERODIR / "etc" / "grid" / "config.xml"
PID_FILE = OMERODIR / "var" / "django.pid"
# The command line and environment worked out for the inputs it records;
# omero-web.service's ExecStopPost removes it after a clean stop.
PREPARED = OMERODIR / "var" / "omero" / "gunicorn-command.json"
WORKER_CLASS_OPTIONS = ("-k", "--worker-class")


def inputs() -> str:
    """What the command line and the collected static files depend on: the
    configuration, the venv's distributions and Python, and this script."""
    digest = hashlib.sha256(CONFIG_XML.read_bytes() if CONFIG_XML.exists() else b"")
    digest.update(Path(__file__).read_bytes())
    digest.update(sys.version.encode())
    for site in sorted(VENV.glob("lib/python3*/site-packages")):
        for entry in sorted(site.glob("*.dist-info")):
            digest.update(entry.name.encode() + b"\n")
    return digest.hexdigest()


def omeroweb_dir() -> Path:
    spec = importlib.util.find_spec("omeroweb")
    assert spec and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def collect_static() -> None:
    # As `omero web start` does it: Django's manage.py in omeroweb's folder.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=omeroweb_dir(),
        check=True,
    )


def gunicorn_command() -> dict[str, Any]:
    """gunicorn's command line and environment as `omero web start
    --foreground` builds them (importing the settings takes seconds)."""
    import omeroweb.settings as settings
    from omero.plugins.web import WebControl

    if settings.APPLICATION_SERVER != settings.WSGITCP:
        sys.exit(
            f"omero-web: omero.web.application_server is {settings.APPLICATION_SERVER!r}; "
            f"the service runs only {settings.WSGITCP!r} (gunicorn)"
        )
    control = WebControl()
    no_cli_options = argparse.Namespace(wsgi_args=None, workers=None, worker_connections=None)
    deprecated = control._deprecated_args(no_cli_options, settings)
    command = control._build_run_cmd(settings) % {
        "daemon": "",
        "base": OMERODIR,
        "host": settings.APPLICATION_SERVER_HOST,
        "port": settings.APPLICATION_SERVER_PORT,
        "maxrequests": settings.APPLICATION_SERVER_MAX_REQUESTS,
        "workers": deprecated["workers"],
        "timeout": settings.WSGI_TIMEOUT,
        "wsgi_args": deprecated["wsgi_args"],
    }
    argv = command.split()
    argv[0] = str(VENV / "bin" / "gunicorn")
    # What `omero web start` sets: the URL prefix, and OMERODIR/var/lib on
    # Python's path (the omero CLI's environment).
    pythonpath = [os.environ.get("PYTHONPATH", ""), str(OMERODIR / "var" / "lib")]
    environment = {"PYTHONPATH": os.pathsep.join(filter(None, pythonpath))}
    script_name = getattr(settings, "FORCE_SCRIPT_NAME", None)
    if script_name:
        environment["SCRIPT_NAME"] = script_name
    return {"argv": argv, "environment": environment}


def prepared() -> dict[str, Any]:
    """The command for the current inputs; static files collected for them."""
    current = inputs()
    try:
        cached = json.loads(PREPARED.read_text())
        if cached["inputs"] == current:
            return dict(cached)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    collect_static()
    command = {"inputs": current, **gunicorn_command()}
    PREPARED.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=PREPARED.parent, delete=False) as new:
        json.dump(command, new)
    os.replace(new.name, PREPARED)
    return command


def worker_class(argv: list[str]) -> str:
    """The worker class gunicorn will use: the last -k/--worker-class wins
    (omero.web.wsgi_worker_class, or one in omero.web.wsgi_args)."""
    chosen = "sync"
    for i, arg in enumerate(argv):
        if arg in WORKER_CLASS_OPTIONS and i + 1 < len(argv):
            chosen = argv[i + 1]
        elif arg.startswith("--worker-class="):
            chosen = arg.partition("=")[2]
    return chosen


def with_preload(argv: list[str]) -> list[str]:
    """Sync workers fork from a master that has loaded the app once: a start
    costs one import of OMERO.web, not one a worker all at once on the same
    cores (seconds when a crash is being recovered), and the workers share
    its memory.  Other worker classes (gevent patches the standard library
    in each worker, before the app) load it themselves."""
    if os.environ.get("OMERO_WEB_GUNICORN_PRELOAD", "yes") == "no":
        return argv
    if worker_class(argv) != "sync" or "--preload" in argv:
        return argv
    return [*argv[:-1], "--preload", argv[-1]]


def final_argv(argv: list[Any], *, daemon: bool) -> list[str]:
    """The prepared command line as gunicorn is run: --preload where it
    applies, --daemon for the init script (gunicorn's own detaching)."""
    argv = with_preload([str(arg) for arg in argv])
    return [argv[0], "--daemon", *argv[1:]] if daemon else argv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--daemon",
        action="store_true",
        help="gunicorn detaches (the init script); its pid file appears once it serves",
    )
    options = parser.parse_args()
    command = prepared()
    argv = final_argv(command["argv"], daemon=options.daemon)
    os.environ.update(command["environment"])
    os.chdir(omeroweb_dir())
    # Both callers start only what is not running (systemd: the unit; the
    # init script checks the pid first): a pid file left by a killed master
    # is stale, and gunicorn refuses to start while its pid lives.
    PID_FILE.unlink(missing_ok=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
