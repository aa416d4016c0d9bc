"""OMERO.web's static files, collected at build time.

`omero web start` runs Django's collectstatic at every start: seconds of
Django start-up, into a folder the service writes.  The package collects
them once, here, into STATIC_DIR at its installed path; the package owns
them, read-only, and nginx serves them from there (postinst's drop-in sets
omero.web.static_root to it).  An OMERO.web app's package ships its own
part of the folder the same way.

The apps' own static folders in the venv, the sources collectstatic copied
from, are then left out (leave_out_collected_sources), but for the files
OMERO.web's settings name by path (its default thumbnail and avatar): they
were a second copy of each file for dpkg to unpack, and only collectstatic
reads them.  A later collectstatic starts from a copy of STATIC_DIR
instead: an app package's build (run_collectstatic's `seed`), and the
service's start for a static_root of the admin's (omero_web_helper.py).
"""

from __future__ import annotations

import json
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


# The files under a site-packages folder (argv[1]) that OMERO.web's settings
# name by path, as a JSON list: its settings module points DEFAULT_IMG and
# DEFAULT_USER (the thumbnail and the avatar shown when the server has none)
# into webgateway's own static folder, and the webclient opens them there.
SETTINGS_FILES = """
import json, os, sys
import omeroweb.settings as settings
site = sys.argv[1]
named = {
    value for name, value in vars(settings).items()
    if name.isupper() and isinstance(value, str) and value.startswith(site) and os.path.isfile(value)
}
print(json.dumps(sorted(named)))
"""
# Removes the files of the static folders of the Python packages under a
# site-packages folder (argv[1]) whose every file is in the collected folder
# (argv[2]) with the same bytes, but for the files named after them; prints
# {"removed": N, "kept": [...]} as JSON.  A folder with one file that was
# not collected (Django's admin, not an installed app) is kept whole.
COLLECTED_SOURCES = """
import filecmp, json, os, sys
site, collected, named = sys.argv[1], sys.argv[2], set(sys.argv[3:])
found = {"removed": 0, "kept": []}
for folder, subfolders, _ in os.walk(site):
    subfolders.sort()
    if "static" not in subfolders or not os.path.exists(os.path.join(folder, "__init__.py")):
        continue
    subfolders.remove("static")
    static = os.path.join(folder, "static")
    files = sorted(os.path.join(top, name) for top, _, names in os.walk(static) for name in names)
    copies = [os.path.join(collected, os.path.relpath(path, static)) for path in files]
    if not files or not all(
        os.path.isfile(copy) and filecmp.cmp(path, copy, shallow=False)
        for path, copy in zip(files, copies)
    ):
        continue
    for path in files:
        if path in named:
            found["kept"].append(path)
        else:
            os.remove(path)
            found["removed"] += 1
    for top, _, _ in sorted(os.walk(static), reverse=True):
        if not os.listdir(top):
            os.rmdir(top)
print(json.dumps(found))
"""


def collect_static(context: BuildContext) -> int:
    """Collect the static files into STATIC_DIR; return how many there are."""
    container = context.container
    run_collectstatic(context, STATIC_DIR)
    count = container.call(["find", str(STATIC_DIR), "-type", "f"]).stdout.count("\n")
    if count == 0:
        raise BuildError(f"collectstatic put no file in {STATIC_DIR}")
    return count


def leave_out_collected_sources(context: BuildContext, site: PurePosixPath = VENV / "lib") -> int:
    """Remove the files of the static folders under SITE (the venv's
    packages) that are all in STATIC_DIR, byte for byte, but those OMERO.web's
    settings name; return how many files went."""
    container = context.container
    environment = prepare_omerodir(context, {})
    named = json.loads(
        container.call([VENV_PYTHON, "-c", SETTINGS_FILES, str(site)], env=environment).stdout
    )
    container.call(["rm", "-rf", str(COLLECT_OMERODIR)])
    found = json.loads(
        container.call(
            [VENV_PYTHON, "-c", COLLECTED_SOURCES, str(site), str(STATIC_DIR), *named]
        ).stdout
    )
    return int(found["removed"])


def prepare_omerodir(context: BuildContext, settings: Mapping[str, str]) -> dict[str, str]:
    """COLLECT_OMERODIR made anew with SETTINGS in its config.xml; the
    environment that points OMERO.web's settings at it."""
    container = context.container
    container.call(["rm", "-rf", str(COLLECT_OMERODIR)])
    container.call(["mkdir", "-p", str(COLLECT_OMERODIR / "etc" / "grid")])
    config_xml = str(COLLECT_OMERODIR / "etc" / "grid" / "config.xml")
    pairs = [item for pair in settings.items() for item in pair]
    container.call([VENV_PYTHON, "-c", SET_CONFIG, config_xml, *pairs])
    return {"OMERODIR": str(COLLECT_OMERODIR)}


def run_collectstatic(
    context: BuildContext,
    static_root: PurePosixPath,
    settings: Mapping[str, str] | None = None,
    *,
    seed: PurePosixPath | None = None,
) -> None:
    """Django's collectstatic into STATIC_ROOT, with SETTINGS in config.xml
    (an app package's build adds its app to omero.web.apps).  With SEED,
    STATIC_ROOT starts as a copy of it: the files whose sources the venv no
    longer has, which django-pipeline's bundles are made from."""
    container = context.container
    container.call(["rm", "-rf", str(static_root)])
    if seed is not None:
        container.call(["cp", "-a", str(seed), str(static_root)])
        # Older than any source: collectstatic copies over a file it finds
        # at least as new as its source, so an app's own version of one of
        # these (a clash, refused after) would otherwise be skipped.
        container.call(["find", str(static_root), "-exec", "touch", "-h", "-d", "@0", "{}", "+"])
    environment = prepare_omerodir(
        context, {"omero.web.static_root": str(static_root), **(settings or {})}
    )
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
