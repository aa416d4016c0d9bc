"""omero-web.service's ExecStart: become OMERO.web's gunicorn master.

`omero web start --foreground` runs gunicorn as its child, collects the
static files at every start (seconds of Django start-up, even when nothing
changed) and exits 0 when gunicorn dies.  Under systemd this script
replaces it: it builds gunicorn's command line with the omero CLI's own
code (`omero.plugins.web`, the version in the venv), adds --preload for
sync workers, sets what `omero web start` sets, and execs gunicorn.  The master is then the unit's main
process: a kill -9 of it is a failure that Restart=on-failure restarts at
once, and SIGTERM (`systemctl stop`) a clean exit.  The command line is
worked out, and the static files collected, only when config.xml or the
venv's packages changed: a restart after a crash takes seconds less.

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
from pathlib import Path
from typing import Any

OMERODIR = Path(os.environ["OMERODIR"])
VENV = Path(sys.prefix)
CONFIG_XML = OMERODIR / "etc" / "grid" / "config.xml"
PID_FILE = OMERODIR / "var" / "django.pid"
# The command line and environment worked out for the inputs it records.
PREPARED = OMERODIR / "var" / "omero" / "gunicorn-command.json"


def inputs() -> str:
    """What the command line and the collected static files depend on: the
    configuration and the distributions installed in the venv."""
    digest = hashlib.sha256(CONFIG_XML.read_bytes() if CONFIG_XML.exists() else b"")
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
    # Sync workers fork from a master that has loaded the app once: a start
    # costs one import of OMERO.web, not one a worker all at once on the
    # same cores (seconds when a crash is being recovered), and the workers
    # share its memory.  gevent's workers must patch the standard library
    # before the app is imported, so they load it themselves.
    if settings.WSGI_WORKER_CLASS == "sync" and "--preload" not in argv:
        argv.insert(-1, "--preload")
    # `omero web start` hands the URL prefix to the app this way.
    environment = {}
    script_name = getattr(settings, "FORCE_SCRIPT_NAME", None)
    if script_name:
        environment["SCRIPT_NAME"] = script_name
    return {"argv": argv, "environment": environment}


def prepared() -> dict[str, Any]:
    """The command for the current inputs; static files collected for them.
    Worked out again only when the inputs changed, so a restart after a
    crash starts gunicorn at once."""
    current = inputs()
    try:
        cached = json.loads(PREPARED.read_text())
        if cached["inputs"] == current:
            return cached
    except (OSError, ValueError, KeyError):
        pass
    collect_static()
    command = {"inputs": current, **gunicorn_command()}
    PREPARED.parent.mkdir(parents=True, exist_ok=True)
    PREPARED.write_text(json.dumps(command))
    return command


def main() -> None:
    command = prepared()
    argv = [str(arg) for arg in command["argv"]]
    os.environ.update(command["environment"])
    os.chdir(omeroweb_dir())
    # Nothing else runs the app under systemd: a pid file left by a killed
    # master is stale, and gunicorn refuses to start while its pid lives.
    PID_FILE.unlink(missing_ok=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
