"""An app's static files, collected at build time like omero-web's.

Django's collectstatic runs with the app in omero.web.apps into a folder
of its own; what omero-web's STATIC_DIR already has byte for byte is left
out, a file there with other bytes is a build error (the app would replace
omero-web's file), and the rest goes into the app package under
STATIC_DIR/<its labels>/, so nginx serves it with nothing collected at
install.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from builder.apps.known import KnownApp
from builder.context import BuildContext
from builder.errors import BuildError
from builder.paths import BUILD_ROOT, STATIC_DIR
from builder.static import run_collectstatic
from builder.venv import VENV_PYTHON

COLLECTED = BUILD_ROOT / "apps-static"
# Sorts the collected files against omero-web's: new, the same, or clashing.
COMPARE = """
import filecmp, json, os, sys
collected, shipped = sys.argv[1], sys.argv[2]
found = {"new": [], "same": 0, "clash": []}
for folder, _, files in os.walk(collected):
    for name in files:
        path = os.path.join(folder, name)
        relative = os.path.relpath(path, collected)
        theirs = os.path.join(shipped, relative)
        if not os.path.lexists(theirs):
            found["new"].append(relative)
        elif filecmp.cmp(path, theirs, shallow=False):
            found["same"] += 1
        else:
            found["clash"].append(relative)
found["new"].sort()
found["clash"].sort()
print(json.dumps(found))
"""


@dataclass(frozen=True)
class AppStatic:
    files: tuple[str, ...]  # relative to STATIC_DIR
    same: int  # collected, already in omero-web's, left out

    @property
    def labels(self) -> tuple[str, ...]:
        """The top folders the app's files are in: figure/, omero_iviewer/, ..."""
        return tuple(sorted({PurePosixPath(f).parts[0] for f in self.files}))


def collect_app_static(context: BuildContext, app: KnownApp, root: PurePosixPath) -> AppStatic:
    """Collect with the app installed (its .pth in place) and copy its own
    files into ROOT/STATIC_DIR (the package's staged tree)."""
    container = context.container
    run_collectstatic(
        context, COLLECTED, {"omero.web.apps": json.dumps([app.module])}, seed=STATIC_DIR
    )
    found = json.loads(
        container.call([VENV_PYTHON, "-c", COMPARE, str(COLLECTED), str(STATIC_DIR)]).stdout
    )
    if found["clash"]:
        raise BuildError(
            f"{app.name}'s static files would replace omero-web's own with other bytes: "
            + ", ".join(found["clash"][:10])
        )
    if not found["new"]:
        raise BuildError(f"{app.name} collected no static file of its own")
    listed = BUILD_ROOT / "apps-static.list"
    container.write_file(listed, "".join(f"{name}\n" for name in found["new"]).encode())
    destination = root / STATIC_DIR.relative_to("/")
    container.call(["mkdir", "-p", str(destination)])
    container.sh(f"tar -C {COLLECTED} -cf - -T {listed} | tar -C {destination} -xf -")
    container.call(["rm", "-rf", str(COLLECTED), str(listed)])
    return AppStatic(tuple(found["new"]), found["same"])
