"""OMERO.web's static files, collected at build time.

`omero web start` runs Django's collectstatic at every start: seconds of
Django start-up, into a folder the service writes.  The package collects
them once, here, into STATIC_DIR at its installed path; the package owns
them, read-only, and nginx serves them from there (postinst's drop-in sets
omero.web.static_root to it).  An OMERO.web app's package ships its own
part of the folder the same way.

The apps' own static folders in the venv, the sources collectstatic copied
from, are then left out (leave_out_collected_sources): nothing reads them
once the files are collected, and they were a second copy of each file for
dpkg to unpack.  A later collectstatic (an app's build, a static_root of
the admin's) starts from a copy of STATIC_DIR instead (run_collectstatic's
`seed`).
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


# The static folders of the Python packages under a site-packages folder
# whose every file is in the collected folder with the same bytes, as JSON:
# {"folders": [...], "files": N}.  A folder with one file that was not
# collected (Django's admin, not an OMERO.web app) is kept whole.
COLLECTED_SOURCES = """
import filecmp, json, os, sys
site, collected = sys.argv[1], sys.argv[2]
found = {"folders": [], "files": 0}
for folder, subfolders, _ in os.walk(site):
    subfolders.sort()
    if "static" not in subfolders or not os.path.exists(os.path.join(folder, "__init__.py")):
        continue
    static = os.path.join(folder, "static")
    files = [os.path.join(top, name) for top, _, names in os.walk(static) for name in names]
    if files and all(
        os.path.isfile(os.path.join(collected, os.path.relpath(path, static)))
        and filecmp.cmp(path, os.path.join(collected, os.path.relpath(path, static)), shallow=False)
        for path in files
    ):
        found["folders"].append(static)
        found["files"] += len(files)
        subfolders.remove("static")
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
    """Remove the static folders under SITE (the venv's packages) whose
    files are all in STATIC_DIR, byte for byte; return how many files went."""
    container = context.container
    found = json.loads(
        container.call([VENV_PYTHON, "-c", COLLECTED_SOURCES, str(site), str(STATIC_DIR)]).stdout
    )
    if found["folders"]:
        container.call(["rm", "-rf", *found["folders"]])
    return int(found["files"])


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
    container.call(["rm", "-rf", str(static_root), str(COLLECT_OMERODIR)])
    if seed is not None:
        container.call(["cp", "-a", str(seed), str(static_root)])
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
