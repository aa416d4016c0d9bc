"""The package's Python helpers as the package ships them: rendered by
builder/debian_tree.py (installed paths filled in), then imported."""

from __future__ import annotations

import importlib.util
from pathlib import Path, PurePosixPath
from types import ModuleType

from builder.debian_tree import render_static_files

ROOT = Path(__file__).resolve().parents[2]
DEBIAN = ROOT / "debian"


def rendered_text(name: str) -> str:
    """debian/NAME as the package ships it."""
    return render_static_files(DEBIAN)[PurePosixPath(name)].text


def load_rendered_script(name: str, directory: Path) -> ModuleType:
    """debian/scripts/NAME, rendered into DIRECTORY and imported from there."""
    path = directory / Path(name).name
    path.write_text(rendered_text(f"scripts/{name}"))
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
