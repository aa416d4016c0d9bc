"""Where the toolkit's own files are: the omero-web package's sources
(debian/, templates/) and the IcePy patches and build script.

Installed from the wheel (pip, pipx) or as the Debian package, debian/ and
templates/ are package data under builder/data/ (pyproject.toml and setup.py
put them there).  In a source checkout (`make`, `pip install -e`) they are
the checkout's own top-level folders, so an edit there is used at once.
Nothing else in the toolkit works out where it is installed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from builder.errors import BuildError

# The folders a build reads, relative to packaging_root().
PACKAGING_FOLDERS = ("debian", "templates")
# Everything the wheel carries under builder/data/ (setup.py's list): the
# requirement locks too, where the checkout has them.
DATA_FOLDERS = (*PACKAGING_FOLDERS, "locks")

_PACKAGE_DIR = Path(str(files("builder")))
_INSTALLED_DATA = _PACKAGE_DIR / "data"
_CHECKOUT = _PACKAGE_DIR.parent


def checkout_root() -> Path | None:
    """The source checkout the toolkit runs from, or None when installed."""
    if _INSTALLED_DATA.is_dir():
        return None
    if all((_CHECKOUT / name).is_dir() for name in PACKAGING_FOLDERS):
        return _CHECKOUT
    return None


def packaging_root() -> Path:
    """The folder holding debian/ and templates/."""
    root = checkout_root() or _INSTALLED_DATA
    missing = [name for name in PACKAGING_FOLDERS if not (root / name).is_dir()]
    if missing:
        # Only a broken installation gets here: say so, not "file not found" later.
        raise BuildError(
            f"omero-web-deb is installed without its {', '.join(missing)} folder(s) in {root}: "
            "reinstall it from its wheel or Debian package"
        )
    return root


def icepy_patches_dir() -> Path:
    """builder/patches/icepy: the series and the patches it names."""
    return _PACKAGE_DIR / "patches" / "icepy"


def icepy_build_script() -> Path:
    """The script that patches and compiles IcePy inside the build container."""
    return _PACKAGE_DIR / "icepy_build.py"


def packaging_files(folder: Path) -> list[Path]:
    """Every file under a packaging folder, in name order, without the
    bytecode that pip and dh_python3 compile beside installed .py files."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
