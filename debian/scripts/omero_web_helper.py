"""The omero-web package's own commands, run by the venv's python.

    python3 @LIB_DIR@/omero_web_helper.py COMMAND ...

gunicorn [--daemon]
    Become OMERO.web's gunicorn master: omero-web.service's ExecStart, and
    the init script's start (--daemon).  Through `omero-web-cli --python`,
    which runs it as the service user with OMERODIR, HOME and TMPDIR set.
apply-config
    Load the drop-ins @CONFIG_DIR@/*.omero into config.xml, unless nothing
    changed since the last load, then make gunicorn's command line for the
    start, unless it is made for these settings (omero-web-apply-config:
    before each start, and in postinst), as the service user through
    `omero-web-cli --python`.
nginx write [--default-server] PORT NAME... | nginx disable | nginx is-ours
    The package's nginx site, checked with `nginx -t` before nginx reloads
    (postinst, prerm; as root, with python -I).
nginx-site PORT NAMES DROPIN...
    Print `omero web config nginx` for the drop-ins' settings (`nginx write`
    runs it as root, with OMERODIR a private folder).
drop-all-sessions
    Empty the session store: every session, live or expired (postinst, when
    Django's major version changes).  The daily omero-web-clearsessions
    removes only expired ones.

Only the standard library is imported here: omero, omeroweb and Django are
imported, from the venv, by the commands that need them.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

# python -I leaves this file's folder off sys.path (3.11+); its modules
# (omero_web_nginx_tls.py) are imported from there, when needed.  No
# __pycache__ is written beside them: the folder is dpkg's, and a purge
# would leave it behind.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True
if TYPE_CHECKING:
    from omero_web_nginx_tls import Transport

CONFIG_DIR = Path("@CONFIG_DIR@")
OMERODIR = Path("@OMERODIR@")
VENV = Path("@VENV@")
STATE_DIR = Path("@STATE_DIR@")


class HelperError(Exception):
    """A failure the caller is told about in one message (exit status 1)."""


def say(message: str) -> None:
    print(f"omero-web: {message}", file=sys.stderr)


# --- gunicorn ---------------------------------------------------------------
#
# `omero web start --foreground` runs gunicorn as its child, collects the
# static files at every start (seconds of Django start-up) and exits 0 when
# gunicorn dies.  `gunicorn` replaces it: it builds gunicorn's command line
# with the omero CLI's own code (`omero.plugins.web`, the version in the
# venv), adds --preload for sync workers (and WARM_UP, gunicorn's
# configuration file whose hook warms the app up before the workers fork),
# sets what `omero web start` sets,
# and execs gunicorn, whose command line `ps` then shows.  The command line
# is kept in GUNICORN_COMMAND for the inputs it was made from (apply-config
# makes it ahead of the start).  The master is thus
# the unit's main process: a kill -9 of it is a failure that
# Restart=on-failure restarts at once, SIGTERM (`systemctl stop`) a clean
# exit, and it tells systemd when the app is loaded and its port bound
# (Type=notify).
#
# The static files are the package's, collected when it was built
# (omero.web.static_root is STATIC_DIR): nothing is collected at a start.
# An admin who points static_root at a folder of the service's own (for an
# app installed by hand) gets STATIC_DIR's files copied there (the venv has
# no sources for them) and the app's collected, at a start after config.xml,
# the venv or this file changed.
#
# --preload: a unit drop-in with Environment=OMERO_WEB_GUNICORN_PRELOAD=no
# turns it off, and the warm-up with it (apps that open sockets or threads
# at import, or when their views are imported).

STATIC_DIR = Path("@STATIC_DIR@")
# Where OMERO.web app packages install themselves: APPS_DIR/<short>/site-packages.
APPS_DIR = Path("@APPS_DIR@")
CONFIG_XML = Path("etc/grid/config.xml")  # under OMERODIR, as the rest here
PID_FILE = Path("var/django.pid")
# What the static files in a folder of the admin's were collected for.
STATIC_STAMP = Path("var/omero/static-collected")
# gunicorn's command line as OMERO.web's settings make it, and the inputs it
# was made for: importing the settings takes a second or more, a start that
# finds it current does not.
GUNICORN_COMMAND = Path("var/omero/gunicorn-command.json")
WORKER_CLASS_OPTIONS = ("-k", "--worker-class")
# gunicorn's configuration file for preloaded workers: its hook warms the
# app up in the master, before the workers fork.
WARM_UP = Path(__file__).with_name("omero_web_warm_up.py")


def inputs(config_xml: Path) -> str:
    """What collected static files and gunicorn's command depend on: the
    configuration (config.xml, OMERO_CONFIG), the distributions in the venv,
    the app packages' folders and OMERODIR/var/lib, Python, and this file."""
    digest = hashlib.sha256(config_xml.read_bytes() if config_xml.exists() else b"")
    digest.update(Path(__file__).read_bytes())
    digest.update(sys.version.encode())
    # The omero library reads the profile config.xml's settings come from.
    digest.update(os.environ.get("OMERO_CONFIG", "").encode() + b"\n")
    omerodir = config_xml.parents[2]
    sites = [
        *Path(sys.prefix).glob("lib/python3*/site-packages"),
        *APPS_DIR.glob("*/site-packages"),
        omerodir / "var" / "lib",  # apps installed by hand
    ]
    for site in sorted(sites):
        for entry in sorted(site.glob("*.dist-info")):
            digest.update(entry.name.encode() + b"\n")
    return digest.hexdigest()


def omeroweb_dir() -> Path:
    spec = importlib.util.find_spec("omeroweb")
    if not spec or not spec.submodule_search_locations:
        raise HelperError(f"omeroweb is not installed in {sys.prefix}")
    return Path(next(iter(spec.submodule_search_locations)))


def collect_static(static_root: str) -> None:
    # As `omero web start` does it: Django's manage.py in omeroweb's folder.
    # nginx (www-data) reads what it collects: not omero-web-cli's umask 027.
    previous = os.umask(0o022)
    try:
        # The package's own files first: the venv does not carry their
        # sources (collected when the package was built), and
        # django-pipeline makes its bundles from the copies.
        shutil.copytree(STATIC_DIR, static_root, dirs_exist_ok=True)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput"],
            cwd=omeroweb_dir(),
            check=True,
        )
    finally:
        os.umask(previous)


def collect_static_where_needed(omerodir: Path, static_root: str) -> None:
    """Collect the static files unless they are the package's, or were
    collected into the admin's folder for the current inputs."""
    if Path(static_root) == STATIC_DIR:
        return
    stamp = omerodir / STATIC_STAMP
    current = f"{static_root}\n{inputs(omerodir / CONFIG_XML)}\n"
    try:
        if stamp.read_text() == current:
            return
    except OSError:
        pass
    collect_static(static_root)
    write_atomically(stamp, current)


def gunicorn_command(omerodir: Path) -> dict[str, Any]:
    """gunicorn's command line and environment as `omero web start
    --foreground` builds them, and the static files' folder."""
    import omeroweb.settings as settings
    from omero.plugins.web import WebControl

    if settings.APPLICATION_SERVER != settings.WSGITCP:
        raise HelperError(
            f"omero.web.application_server is {settings.APPLICATION_SERVER!r}; "
            f"the service runs only {settings.WSGITCP!r} (gunicorn)"
        )
    control = WebControl()
    no_cli_options = argparse.Namespace(wsgi_args=None, workers=None, worker_connections=None)
    deprecated = control._deprecated_args(no_cli_options, settings)
    command = control._build_run_cmd(settings) % {
        "daemon": "",
        "base": omerodir,
        "host": settings.APPLICATION_SERVER_HOST,
        "port": settings.APPLICATION_SERVER_PORT,
        "maxrequests": settings.APPLICATION_SERVER_MAX_REQUESTS,
        "workers": deprecated["workers"],
        "timeout": settings.WSGI_TIMEOUT,
        "wsgi_args": deprecated["wsgi_args"],
    }
    argv = str(command).split()
    argv[0] = str(Path(sys.prefix) / "bin" / "gunicorn")
    script_name = getattr(settings, "FORCE_SCRIPT_NAME", None)
    return {
        "argv": argv,
        "script_name": str(script_name) if script_name else "",
        "static_root": str(settings.STATIC_ROOT),
    }


def cached_gunicorn_command(omerodir: Path) -> dict[str, Any] | None:
    """The command saved for the current inputs, else None."""
    try:
        saved = json.loads((omerodir / GUNICORN_COMMAND).read_text())
        if saved["inputs"] == inputs(omerodir / CONFIG_XML):
            return dict(saved["command"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def saved_gunicorn_command(omerodir: Path) -> dict[str, Any]:
    """gunicorn_command, from the cache where its inputs are unchanged, else
    made (OMERO.web's settings imported) and saved."""
    command = cached_gunicorn_command(omerodir)
    if command is not None:
        return command
    current = inputs(omerodir / CONFIG_XML)
    command = gunicorn_command(omerodir)
    try:
        saved = json.dumps({"inputs": current, "command": command}) + "\n"
        write_atomically(omerodir / GUNICORN_COMMAND, saved)
    except OSError as error:
        # Only the next start's second is lost: not a reason not to start.
        say(f"could not save gunicorn's command line ({error}); the next start makes it again")
    return command


def write_atomically(path: Path, text: str) -> None:
    """PATH holds TEXT, whole, or is as it was (no temporary file left)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as new:
        try:
            new.write(text)
            new.close()
            os.replace(new.name, path)
        except BaseException:
            Path(new.name).unlink(missing_ok=True)
            raise


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
    cores, the first request finds a worker ready, and the workers share the
    master's memory.  The master also does what each worker would do at its
    first request (WARM_UP, first on the line so that an admin's own -c
    replaces it; left out for one named in GUNICORN_CMD_ARGS).  Other worker
    classes (gevent patches the standard library in each worker, before the
    app) load it themselves."""
    if os.environ.get("OMERO_WEB_GUNICORN_PRELOAD", "yes") == "no":
        return argv
    if worker_class(argv) != "sync":
        return argv
    options = argv[1:] if "--preload" in argv else [*argv[1:-1], "--preload", argv[-1]]
    if names_config_file(os.environ.get("GUNICORN_CMD_ARGS", "")):
        return [argv[0], *options]
    return [argv[0], "--config", str(WARM_UP), *options]


def names_config_file(cmd_args: str) -> bool:
    """Whether gunicorn's GUNICORN_CMD_ARGS (a unit drop-in's Environment=)
    names a configuration file: gunicorn reads it only where the command
    line names none."""
    try:
        words = shlex.split(cmd_args)
    except ValueError:  # gunicorn refuses it with its own message
        return False
    return any(word in ("-c", "--config") or word.startswith("--config=") for word in words)


def final_argv(argv: list[Any], *, daemon: bool) -> list[str]:
    """The command line as gunicorn is run: --preload where it applies,
    --daemon for the init script (gunicorn's own detaching)."""
    argv = with_preload([str(arg) for arg in argv])
    return [argv[0], "--daemon", *argv[1:]] if daemon else argv


def add_omerodir_lib(omerodir: Path) -> None:
    """OMERODIR/var/lib on Python's path, as `omero web start` puts it
    (apps installed there by hand): for this process, which imports the
    settings, where PYTHONPATH would have put it, and for gunicorn."""
    lib = str(omerodir / "var" / "lib")
    sys.path.insert(1, lib)
    pythonpath = [os.environ.get("PYTHONPATH", ""), lib]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, pythonpath))


def start_gunicorn(options: argparse.Namespace) -> NoReturn:
    omerodir = omerodir_from_environment()
    add_omerodir_lib(omerodir)
    command = saved_gunicorn_command(omerodir)
    collect_static_where_needed(omerodir, command["static_root"])
    argv = final_argv(command["argv"], daemon=options.daemon)
    if command["script_name"]:
        os.environ["SCRIPT_NAME"] = command["script_name"]
    os.chdir(omeroweb_dir())
    # Both callers start only what is not running (systemd: the unit; the
    # init script checks the pid first): a pid file left by a killed master
    # is stale, and gunicorn refuses to start while its pid lives.
    (omerodir / PID_FILE).unlink(missing_ok=True)
    os.execv(argv[0], argv)


# --- apply-config -----------------------------------------------------------
#
# The drop-ins CONFIG_DIR/*.omero, in name order, loaded into OMERO.web's
# config.xml: omero CLI lines, as the OMERO documentation writes them
# (`config set omero.web.prefix /omero`).  Run as the service user before
# every start (the unit's ExecStartPre, the init script) and by postinst, so
# an edited drop-in takes effect at the next restart.  Skipped when neither
# the drop-ins nor config.xml changed since the last load (a restart after a
# crash); a key set by hand in config.xml changes it, so the drop-ins'
# values are asserted again.  Then gunicorn's command line is made for the
# settings loaded, where it is not yet, so that the start need not import
# them (in postinst, beside the nginx site's rendering).

DROPINS_STAMP = Path("var/omero/dropins-loaded")
# An OMERO.web app package's drop-in, 50-app-<short>.omero, and its folder
# APPS_DIR/<short>: after `apt remove` the drop-in stays (a conffile, until
# purge) but the folder is gone, and the drop-in is left out.
APP_DROPIN = re.compile(r"[0-9]+-app-(?P<short>[a-z0-9][a-z0-9.+-]*)\.omero")


def dropin_files(config_dir: Path) -> list[Path]:
    """The drop-ins in name order; a hidden file is not one."""
    return [
        path
        for path in sorted(config_dir.glob("*.omero"))
        if path.is_file() and not path.name.startswith(".")
    ]


def installed_app_dropins(dropins: Sequence[Path], apps_dir: Path) -> tuple[list[Path], list[Path]]:
    """The drop-ins to load, and those of apps no longer installed."""
    loaded: list[Path] = []
    left_out: list[Path] = []
    for path in dropins:
        app = APP_DROPIN.fullmatch(path.name)
        gone = app is not None and not (apps_dir / app["short"]).is_dir()
        (left_out if gone else loaded).append(path)
    return loaded, left_out


def dropin_keys(dropins: Sequence[Path], verbs: Sequence[str]) -> set[str]:
    """The keys the drop-ins' `config VERB [--option] KEY ...` lines name."""
    keys = set()
    for path in dropins:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue  # the CLI's load reports it
            if len(words) < 3 or words[0] != "config" or words[1] not in verbs:
                continue
            key = next((word for word in words[2:] if not word.startswith("--")), None)
            if key:
                keys.add(key)
    return keys


def keys_to_reset(loaded: Sequence[Path], left_out: Sequence[Path]) -> list[str]:
    """Keys unset before a load: `config append` adds to what is there, so a
    list a drop-in appends to is rebuilt from the drop-ins at each load (no
    entry twice, none of a removed app); every key a left-out app's drop-in
    wrote goes too (its viewer, its settings)."""
    appended = dropin_keys(loaded, ("append",))
    return sorted(appended | dropin_keys(left_out, ("set", "append")))


def dropins_state(dropins: Sequence[Path], config_xml: Path) -> str:
    """The drop-ins (names and contents) and config.xml, as one checksum."""
    digest = hashlib.sha256()
    for path in dropins:
        digest.update(str(path).encode() + b"\n")
    for path in dropins:
        digest.update(path.read_bytes())
    if config_xml.exists():
        digest.update(config_xml.read_bytes())
    return digest.hexdigest()


def omero_cli(*, web: bool) -> Any:
    """The omero CLI with only the commands the drop-ins and the nginx site
    use (load, config, web): loading every plugin costs a second more."""
    from omero.cli import CLI
    from omero.plugins.basics import LOAD_HELP, LoadControl
    from omero.plugins.prefs import HELP as CONFIG_HELP
    from omero.plugins.prefs import PrefsControl

    cli = CLI()
    cli.register("load", LoadControl, LOAD_HELP)
    cli.register("config", PrefsControl, CONFIG_HELP)
    if web:
        from omero.plugins.web import HELP as WEB_HELP
        from omero.plugins.web import WebControl

        cli.register("web", WebControl, WEB_HELP)
    return cli


def run_omero(cli: Any, commands: Sequence[Sequence[str]]) -> None:
    from omero.cli import NonZeroReturnCode

    for command in commands:
        try:
            cli.invoke(list(command), strict=True)
        except NonZeroReturnCode:
            raise HelperError(f"`omero {' '.join(command)}` failed (above)") from None


def omerodir_from_environment() -> Path:
    if "OMERODIR" not in os.environ:
        raise HelperError("OMERODIR is not set: run this through omero-web-cli --python")
    return Path(os.environ["OMERODIR"])


def apply_config(options: argparse.Namespace) -> int:
    omerodir = omerodir_from_environment()
    load_dropins(omerodir)
    refresh_gunicorn_command(omerodir)
    return 0


def load_dropins(omerodir: Path) -> None:
    dropins, left_out = installed_app_dropins(dropin_files(CONFIG_DIR), APPS_DIR)
    if not dropins and not left_out:
        return
    config_xml = omerodir / CONFIG_XML
    stamp = omerodir / DROPINS_STAMP
    try:
        if stamp.read_text() == dropins_state(dropins, config_xml):
            return
    except OSError:
        pass
    for path in left_out:
        say(f"left out {path}: its app is no longer installed (purge its package to remove it)")
    commands = [["config", "set", key] for key in keys_to_reset(dropins, left_out)]
    if dropins:
        commands.append(["load", *map(str, dropins)])
    run_omero(omero_cli(web=False), commands)
    write_atomically(stamp, dropins_state(dropins, config_xml))


def refresh_gunicorn_command(omerodir: Path) -> None:
    """Make gunicorn's command for the settings just loaded, here, so that
    the start that follows need not (postinst: in the second the nginx site
    takes to render).  Settings that cannot be imported are the start's to
    report, with everything it reports: then nothing is saved."""
    try:
        add_omerodir_lib(omerodir)
        saved_gunicorn_command(omerodir)  # from the cache where it is current
    except Exception:  # upstream's settings module may raise anything
        pass


# --- nginx-site -------------------------------------------------------------
#
# The drop-ins are loaded into a config.xml in an empty private OMERODIR, and
# the omero CLI's own nginx template is filled from it.  The site nginx's
# master (root) loads is thus made only from files root owns, never from the
# live config.xml, which the service user can write: a compromised app
# cannot put directives in it.  The omero CLI's entry point refuses root to
# keep root-owned files out of a live OMERODIR; this drives the CLI
# in-process on a folder of root's own, which is what that check protects.


def nginx_site_commands(port: str, names: str, dropins: Sequence[str]) -> list[list[str]]:
    """The omero CLI commands that print the site for the drop-ins."""
    commands = [["load", *dropins]] if dropins else []  # no file: load reads stdin
    commands.append(["web", "config", "nginx", "--http", port, "--servername", names])
    return commands


def print_nginx_site(options: argparse.Namespace) -> int:
    commands = nginx_site_commands(options.port, options.names, options.dropins)
    run_omero(omero_cli(web=True), commands)
    return 0


# --- nginx write | disable | is-ours ----------------------------------------
#
# --default-server is the admin's consent (debconf omero-web/default_site):
# the site becomes nginx's default on PORT, and Debian's own default site is
# disabled if it is the default there.  That is recorded, and undone when the
# consent is withdrawn or the site disabled (package removal).

NGINX_SITE = Path("@NGINX_SITE@")
NGINX_SITE_ENABLED = Path("@NGINX_SITE_ENABLED@")
DEBIAN_SITE = Path("/etc/nginx/sites-available/default")
DEBIAN_SITE_ENABLED = Path("/etc/nginx/sites-enabled/default")
# Holds the port for which Debian's default site was disabled.
DEBIAN_SITE_DISABLED = STATE_DIR / "nginx-default-site-disabled"
# The first line of every site written here.  A site without it is the
# admin's (omero-web/manage_nginx false): never disabled or removed.
HEADER = "# Written by the omero-web package from its debconf answers (port, names,"
NOTICE = [
    HEADER,
    "# default site) and the settings in @CONFIG_DIR@/*.omero (omero web config nginx).",
    "# Do not edit: dpkg-reconfigure omero-web rewrites it.  Add directives",
    "# with omero.web.nginx_server_extra_config in @CONFIG_DIR@/50-local.omero,",
    "# or answer no to omero-web/manage_nginx and own this file.",
]
MAINTENANCE = "error_page 502 @maintenance"
# Static files: OMERO.web versions their URLs (`?_5.33.2`, omeroweb's
# url_suffix), so a release changes every URL and such a file can be kept a
# year; an unversioned one (an image a stylesheet names) for an hour.
STATIC_EXPIRY = [
    "map $args $omero_web_static_expires {",
    "    ~^_ 1y;",
    "    default 1h;",
    "}",
    "",
]
# Debian's nginx.conf compresses text/html only: the scripts, stylesheets
# and JSON of OMERO.web are most of a page's bytes.  Left out where the
# admin's own directives (omero.web.nginx_server_extra_config) set gzip:
# nginx refuses a directive twice in one block.
COMPRESSION = [
    "gzip on;",
    "gzip_vary on;",
    "gzip_proxied any;",
    "gzip_types text/css text/plain text/javascript application/javascript application/json image/svg+xml;",
]
# invoke-rc.d's status when policy-rc.d forbids the action.
POLICY_FORBIDS = 101
# grep's [[:space:]]: the ASCII blanks.
BLANKS = " \t\n\v\f\r"
BLANK = f"[{BLANKS}]"


class Runner(Protocol):
    def __call__(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]: ...


def run(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """ARGV run from /, its output captured; one that cannot be run exits
    127, as in the shell."""
    try:
        return subprocess.run(
            list(argv),
            env=env,
            cwd="/",
            capture_output=True,
            check=False,
            encoding="utf-8",
            errors="surrogateescape",
        )
    except OSError as e:
        return subprocess.CompletedProcess(list(argv), 127, "", f"{argv[0]}: {e.strerror}\n")


def site_text(upstream: str, port: str, *, default_server: bool) -> str:
    """The site: the notice and the static files' expiry map, then
    upstream's with `listen PORT;` made the default server when asked, text
    compressed, static files' expiry set, and its maintenance page repeated
    where it works.  Upstream's error_page for that page sits in the location that
    hands over to @proxy_to_app, where the 502 of a stopped app never
    reaches it: it is repeated in the @proxy_to_app location
    (ome/omero-web#112)."""
    listen = re.compile(rf"({BLANK}*)listen {re.escape(port)};")
    proxy = re.compile(rf"({BLANK}*)location @proxy_to_app([A-Za-z0-9_]*) {{")
    sendfile = re.compile(rf"({BLANK}*)sendfile on;")
    static = re.compile(rf"({BLANK}*)alias {BLANK}*[^;]*;")
    compress = not re.search(rf"(^|{BLANK})gzip{BLANK}", upstream)
    lines = [*NOTICE, *STATIC_EXPIRY]
    for line in upstream.split("\n"):
        if default_server and (found := listen.fullmatch(line)):
            line = f"{found[1]}listen {port} default_server;"
        lines.append(line)
        if found := proxy.fullmatch(line):
            lines.append(f"{found[1]}    {MAINTENANCE}{found[2]};")
        elif found := static.fullmatch(line):
            lines.append(f"{found[1]}expires $omero_web_static_expires;")
        elif compress and (found := sendfile.fullmatch(line)):
            lines.extend(f"{found[1]}{directive}" for directive in COMPRESSION)
    return "\n".join(lines)


def check_site_text(text: str, port: str, *, default_server: bool) -> None:
    """Fail unless site_text found what it changes in upstream's site."""
    lines = text.split("\n")
    proxy = re.compile(rf"{BLANK}*location @proxy_to_app")
    if not any(
        MAINTENANCE in following
        for i, line in enumerate(lines)
        if proxy.match(line)
        for following in lines[i : i + 2]
    ):
        raise HelperError(
            "found no @proxy_to_app location in 'omero web config nginx' for the maintenance page"
        )
    if default_server and f"listen {port} default_server;" not in text:
        raise HelperError(
            f"found no 'listen {port};' line in 'omero web config nginx' to make the default server"
        )


class Nginx:
    """The package's nginx site, and Debian's default site as it affects
    it, on the file system under ROOT (/, or a unit test's folder), with
    commands (nginx, invoke-rc.d) run by RUN where WHICH finds them."""

    def __init__(
        self,
        root: Path = Path("/"),
        run: Runner = run,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        self.root = root
        self.run = run
        self.which = which
        self.site = self.at(NGINX_SITE)
        self.enabled = self.at(NGINX_SITE_ENABLED)
        self.backup = self.site.with_name(self.site.name + ".dpkg-old")
        self.debian_site = self.at(DEBIAN_SITE)
        self.debian_enabled = self.at(DEBIAN_SITE_ENABLED)
        self.debian_disabled = self.at(DEBIAN_SITE_DISABLED)

    def at(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    def current_text(self) -> str | None:
        try:
            return self.site.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None

    def is_ours(self) -> bool:
        if not self.site.is_file():
            return False
        try:
            with self.site.open(encoding="utf-8", errors="surrogateescape") as site:
                return site.readline().rstrip("\n") == HEADER
        except OSError:
            return False

    def nginx_check(self) -> subprocess.CompletedProcess[str]:
        return self.run(["nginx", "-t"])

    def reload(self) -> None:
        # invoke-rc.d honours policy-rc.d (chroots, image builds); a stopped
        # nginx reads the new site when it starts.
        if self.which("invoke-rc.d"):
            result = self.run(["invoke-rc.d", "nginx", "reload"])
            sys.stderr.write(result.stdout + result.stderr)

    def serve(self, port: str) -> None:
        """Reload nginx with the new site, or start it if it is not running
        (a port that was held when the package was configured, now free):
        when it still cannot run, say so in one warning with the fix.  A
        start policy-rc.d forbids (chroots, image builds) is no failure."""
        if not self.which("invoke-rc.d"):
            return
        for action in ("reload", "start"):
            result = self.run(["invoke-rc.d", "nginx", action])
            sys.stderr.write(result.stdout + result.stderr)
            if result.returncode == POLICY_FORBIDS:
                return
            if self.run(["invoke-rc.d", "nginx", "status"]).returncode == 0:
                return
        say(
            f"WARNING: nginx is not running, so OMERO.web cannot be reached: it failed to start "
            f"(above).  If another program holds port {port}, stop it or choose another port; "
            "then run 'dpkg-reconfigure omero-web', which starts nginx."
        )

    def debian_site_claims(self, port: str) -> bool:
        """Debian's default site is the default server on PORT."""
        if not self.debian_site.is_file():
            return False
        listen = re.compile(
            rf"{BLANK}*listen{BLANK}+([^;{BLANKS}]*:)?{re.escape(port)}{BLANK}[^;]*default_server"
        )
        text = self.debian_site.read_text(encoding="utf-8", errors="surrogateescape")
        return any(listen.match(line) for line in text.split("\n"))

    def debian_site_enabled(self) -> bool:
        """Enabled the way nginx's postinst enables it, as a link; anything
        else there is the admin's and left alone."""
        resolved = Path(os.path.realpath(self.debian_enabled))
        root = Path(os.path.realpath(self.root))
        return self.debian_enabled.is_symlink() and resolved == root / DEBIAN_SITE.relative_to("/")

    def restore_debian_site(self, *, check: bool) -> None:
        """Enable Debian's default site again if it was disabled here,
        unless nginx would then fail its check (with CHECK; without, nginx is
        not installed and there is nothing to check)."""
        if not self.debian_disabled.exists():
            return
        if not os.path.lexists(self.debian_enabled) and self.debian_site.is_file():
            self.debian_enabled.symlink_to(self.debian_site)
            if check and self.nginx_check().returncode != 0:
                self.debian_enabled.unlink()
                say(
                    "left Debian's default nginx site disabled: enabling it again fails 'nginx -t'."
                )
                return
            say("enabled Debian's default nginx site again.")
        self.debian_disabled.unlink(missing_ok=True)

    def upstream_site(self, port: str, names: str) -> str:
        """`omero web config nginx` for the settings in the drop-ins, which
        only root can write; not from the live config.xml, which the
        service user can (see nginx-site).  Rendered as root in a private
        OMERODIR, whose paths are then put back to the real one."""
        # The files apply-config loads.
        dropins = [str(path) for path in dropin_files(self.at(CONFIG_DIR))]
        with tempfile.TemporaryDirectory() as private:
            (Path(private) / "etc" / "grid").mkdir(parents=True)
            environment = {
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C.UTF-8",
                "OMERODIR": private,
                "HOME": private,
            }
            python = str(VENV / "bin" / "python3")
            helper = str(Path(__file__).resolve())
            result = self.run(
                [python, "-I", helper, "nginx-site", port, names, *dropins], env=environment
            )
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            # The omero CLI reports some failures on its standard output.
            sys.stderr.write(result.stdout)
            raise HelperError("could not render the nginx site (above)")
        return result.stdout.replace(private, str(OMERODIR))

    def write(
        self,
        port: str,
        names: Sequence[str],
        *,
        default_server: bool,
        if_changed: bool = False,
        transport: Transport | None = None,
        upstream: str | None = None,
    ) -> None:
        """Write the site and enable it; check the whole configuration with
        `nginx -t`, and only then reload nginx.  A site that fails the check
        is not activated: everything is put back as it was.  IF_CHANGED (the
        apps' trigger): an enabled site with the same text stays, unreloaded.
        TRANSPORT: HTTPS, trusted proxies (omero_web_nginx_tls.py).
        UPSTREAM: upstream_site()'s text for the same port and names, if
        rendered already (`nginx render`, run beside apply-config)."""
        if upstream is None:
            upstream = self.upstream_site(port, " ".join(names))
        text = site_text(upstream, port, default_server=default_server)
        check_site_text(text, port, default_server=default_server)
        if transport is not None:
            text = secure_transport(text, port, names, default_server, transport)
        if if_changed and self.enabled.is_symlink() and self.current_text() == text:
            return
        fd, name = tempfile.mkstemp(prefix=f"{self.site.name}.new.", dir=self.site.parent)
        new = Path(name)
        try:
            with open(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
            new.chmod(0o644)
            self.activate(new, port, default_server=default_server)
        finally:
            new.unlink(missing_ok=True)

    def activate(self, new: Path, port: str, *, default_server: bool) -> None:
        had_site = self.site.exists()
        if had_site:
            shutil.copy2(self.site, self.backup)  # cp -p: mode, times and owner
            owner = self.site.stat()
            os.chown(self.backup, owner.st_uid, owner.st_gid)
        was_enabled = self.enabled.is_symlink()
        disabled_debian = (
            default_server and self.debian_site_claims(port) and self.debian_site_enabled()
        )
        if disabled_debian:
            self.debian_enabled.unlink()
        os.replace(new, self.site)
        self.enabled.unlink(missing_ok=True)
        self.enabled.symlink_to(self.site)

        check = self.nginx_check()
        if check.returncode != 0:
            if had_site:
                os.replace(self.backup, self.site)
            else:
                self.site.unlink(missing_ok=True)
            if not was_enabled:
                self.enabled.unlink(missing_ok=True)
            if disabled_debian:
                self.debian_enabled.symlink_to(self.debian_site)
            output = (check.stdout + check.stderr).rstrip("\n")
            raise HelperError(
                "the new nginx site fails 'nginx -t'; nginx keeps its previous configuration:\n"
                + output
            )
        self.backup.unlink(missing_ok=True)
        if disabled_debian:
            self.debian_disabled.parent.mkdir(parents=True, exist_ok=True)
            self.debian_disabled.write_text(f"{port}\n")
            say(
                f"disabled Debian's default nginx site: OMERO.web is the default site on port {port}."
            )
        elif not (default_server and self.debian_site_claims(port)):
            self.restore_debian_site(check=True)
        self.serve(port)

    def disable(self) -> None:
        """Disable the site if it is ours, enable Debian's default site again
        if it was disabled here, and reload nginx.  Run by prerm; postrm has
        no copy, so Debian's site is linked back even when nginx is no
        longer installed (only the check and the reload need nginx)."""
        if not ((self.enabled.is_symlink() and self.is_ours()) or self.debian_disabled.exists()):
            return
        if self.is_ours():
            self.enabled.unlink(missing_ok=True)
        have_nginx = self.which("nginx") is not None
        self.restore_debian_site(check=have_nginx)
        if have_nginx and self.nginx_check().returncode == 0:
            self.reload()


def secure_transport(
    text: str, port: str, names: Sequence[str], default_server: bool, transport: Transport
) -> str:
    """The site with HTTPS or trusted proxies (omero_web_nginx_tls.py)."""
    from omero_web_nginx_tls import TLSSiteError, secure

    try:
        return secure(
            text, port, " ".join(names), default_server=default_server, transport=transport
        )
    except TLSSiteError as e:
        raise HelperError(str(e)) from None


def transport_from(options: argparse.Namespace) -> Transport | None:
    """HTTPS and trusted proxies from `nginx write`'s options, if any."""
    if options.https_port is None and not options.trusted_proxy:
        return None
    from omero_web_nginx_tls import Transport

    if options.https_port is not None and not (options.certificate and options.key):
        raise HelperError("--https-port needs --certificate and --key")
    return Transport(
        https_port=options.https_port,
        certificate=options.certificate,
        key=options.key,
        hsts=options.hsts,
        trusted_proxies=tuple(options.trusted_proxy),
    )


def nginx_command(options: argparse.Namespace) -> int:
    nginx = Nginx()
    if options.action == "render":
        sys.stdout.write(nginx.upstream_site(options.port, " ".join(options.names)))
    elif options.action == "write":
        upstream = None
        if options.upstream_site is not None:
            upstream = Path(options.upstream_site).read_text(
                encoding="utf-8", errors="surrogateescape"
            )
        nginx.write(
            options.port,
            options.names,
            default_server=options.default_server,
            if_changed=options.if_changed,
            transport=transport_from(options),
            upstream=upstream,
        )
    elif options.action == "disable":
        nginx.disable()
    elif options.action == "is-ours":
        return 0 if nginx.is_ours() else 1
    return 0


# --- drop-all-sessions ------------------------------------------------------
#
# Every user logs in again.  Upstream's upgrade notes require it for a new
# Django major version: sessions pickled by one Django need not load in the
# next.


def session_stores(engine: str) -> list[str]:
    """Where Django's SESSION_ENGINE keeps sessions: "files", "cache",
    "database" (cached_db: the last two)."""
    stores = []
    if engine.endswith(".file"):
        stores.append("files")
    if engine.endswith((".cache", ".cached_db")):
        stores.append("cache")
    if engine.endswith((".db", ".cached_db")):
        stores.append("database")
    return stores


def remove_session_files(folder: str, cookie_name: str) -> int:
    """Remove Django's file sessions (named after the cookie) from FOLDER."""
    files = glob.glob(os.path.join(folder, glob.escape(cookie_name) + "*"))
    for name in files:
        os.remove(name)
    return len(files)


def drop_all_sessions(options: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omeroweb.settings")
    import django

    django.setup()
    from django.conf import settings

    stores = session_stores(settings.SESSION_ENGINE)
    if "files" in stores:
        removed = remove_session_files(settings.SESSION_FILE_PATH, settings.SESSION_COOKIE_NAME)
        print(f"omero-web: removed {removed} session files from {settings.SESSION_FILE_PATH}")
    if "cache" in stores:
        from django.core.cache import caches

        caches[settings.SESSION_CACHE_ALIAS].clear()
        print(f"omero-web: cleared the {settings.SESSION_CACHE_ALIAS!r} cache")
    if "database" in stores:
        from django.contrib.sessions.models import Session

        removed, _ = Session.objects.all().delete()
        print(f"omero-web: removed {removed} sessions from the database")
    return 0


# --- command line -----------------------------------------------------------


def argument_parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="omero_web_helper.py", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)

    gunicorn = commands.add_parser("gunicorn", help="become OMERO.web's gunicorn master")
    gunicorn.add_argument(
        "--daemon",
        action="store_true",
        help="gunicorn detaches (the init script); its pid file appears once it serves",
    )
    gunicorn.set_defaults(run=start_gunicorn)

    apply = commands.add_parser(
        "apply-config",
        help="load the drop-ins into config.xml, unless they are loaded, and make "
        "gunicorn's command line for them",
    )
    apply.set_defaults(run=apply_config)

    nginx = commands.add_parser("nginx", help="the package's nginx site")
    actions = nginx.add_subparsers(dest="action", required=True)
    write = actions.add_parser("write", help="write, check and enable the site; reload nginx")
    write.add_argument("--default-server", action="store_true")
    write.add_argument(
        "--if-changed", action="store_true", help="leave a site with the same text alone"
    )
    write.add_argument("--https-port", type=port_number, help="serve HTTPS there")
    write.add_argument("--certificate", help="with --https-port: the certificate chain")
    write.add_argument("--key", help="with --https-port: its private key")
    write.add_argument("--hsts", action="store_true", help="with --https-port: send HSTS")
    write.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a TLS-terminating proxy whose forwarded headers count (repeatable)",
    )
    write.add_argument(
        "--upstream-site",
        metavar="FILE",
        help="`nginx render`'s output for the same port and names: not rendered again",
    )
    write.add_argument("port", type=port_number)
    write.add_argument("names", nargs="+", metavar="name")
    render = actions.add_parser(
        "render", help="print `omero web config nginx` for the drop-ins (nothing is written)"
    )
    render.add_argument("port", type=port_number)
    render.add_argument("names", nargs="+", metavar="name")
    actions.add_parser("disable", help="disable the site; bring back Debian's default site")
    actions.add_parser("is-ours", help="exit 0 when the site is the package's own")
    nginx.set_defaults(run=nginx_command)

    site = commands.add_parser("nginx-site", help="print `omero web config nginx`")
    site.add_argument("port")
    site.add_argument("names")
    site.add_argument("dropins", nargs="*", metavar="dropin")
    site.set_defaults(run=print_nginx_site)

    drop = commands.add_parser("drop-all-sessions", help="empty the session store")
    drop.set_defaults(run=drop_all_sessions)
    return top


def port_number(value: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,4}", value) or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    options = argument_parser().parse_args(argv)
    try:
        status: int = options.run(options)
    except (HelperError, OSError, subprocess.CalledProcessError) as e:
        say(str(e))
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
