"""OMERO.web's static files, collected at build time.

`omero web start` runs Django's collectstatic at every start: seconds of
Django start-up, into a folder the service writes.  The package collects
them once, here, into STATIC_DIR at its installed path; the package owns
them, read-only, and nginx serves them from there (postinst's drop-in sets
omero.web.static_root to it).  An OMERO.web app's package ships its own
part of the folder the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

from builder.context import BuildContext
from builder.errors import BuildError
from builder.paths import BUILD_ROOT, STATIC_DIR, VENV

VENV_PYTHON = str(VENV / "bin" / "python")
# A throwaway OMERODIR: the settings need one (logs, the secret key), and
# its config.xml names the folder to collect into.
COLLECT_OMERODIR = BUILD_ROOT / "collectstatic-omerodir"
# Settings (KEY VALUE ...) set in that config.xml with the omero library's
# own ConfigXml (the omero CLI refuses to run as root).
SET_CONFIG = (
    "import sys\n"
    "from omero.config import ConfigXml\n"
    "config = ConfigXml(sys.argv[1])\n"
    "for key, value in zip(sys.argv[2::2], sys.argv[3::2]):\n"
    "    config[key] = value\n"
    "config.close()\n"
)


def collect_static(context: BuildContext) -> int:
    """Collect the static files into STATIC_DIR; return how many there are."""
    container = context.container
    run_collectstatic(context, STATIC_DIR)
    count = container.call(["find", str(STATIC_DIR), "-type", "f"]).stdout.count("\n")
    if count == 0:
        raise BuildError(f"collectstatic put no file in {STATIC_DIR}")
    return count


def run_collectstatic(
    context: BuildContext, static_root: PurePosixPath, settings: Mapping[str, str] | None = None
) -> None:
    """Django's collectstatic into STATIC_ROOT, with SETTINGS in config.xml
    (an app package's build adds its app to omero.web.apps)."""
    container = context.container
    container.call(["rm", "-rf", str(static_root), str(COLLECT_OMERODIR)])
    container.call(["mkdir", "-p", str(COLLECT_OMERODIR / "etc" / "grid")])
    environment = {"OMERODIR": str(COLLECT_OMERODIR)}
    config_xml = str(COLLECT_OMERODIR / "etc" / "grid" / "config.xml")
    pairs = [
        item
        for pair in {"omero.web.static_root": str(static_root), **(settings or {})}.items()
        for item in pair
    ]
    container.call([VENV_PYTHON, "-c", SET_CONFIG, config_xml, *pairs])
    # As `omero web start` runs it: manage.py in omeroweb's folder.
    omeroweb = container.call(
        [VENV_PYTHON, "-c", "import omeroweb, os; print(os.path.dirname(omeroweb.__file__))"],
        env=environment,
    ).stdout.strip()
    container.call(
        [VENV_PYTHON, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        env=environment,
        workdir=omeroweb,
    )
    container.call(["rm", "-rf", str(COLLECT_OMERODIR)])
