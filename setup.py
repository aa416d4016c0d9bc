"""Which files the wheel and sdist carry; the metadata is pyproject.toml's.

A build reads the omero-web package's sources, debian/ and templates/, at
the top of this checkout.  Installed, they are package data, builder/data/
(builder/resources.py finds them either way): here they are mapped there.
The toolkit's own Debian package (builder/toolkit_deb.py) is built from a
tree in which they already sit under builder/data/, because stdeb writes
its own debian/ at the top of the tree it packages.

The wheel also carries the date of those sources, builder/data/
SOURCE_DATE_EPOCH (builder/resources.py says why and how it is found).
"""

import os
import sys
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# What a build reads besides the code; "locks" (the requirement locks) only
# where the checkout has them.
DATA_FOLDERS = ("debian", "templates", "locks")
HERE = Path(__file__).resolve().parent
# The toolkit's own rule for the date, from the tree being built.
sys.path.insert(0, str(HERE))
from builder.resources import SOURCE_DATE_STAMP, source_date_epoch  # noqa: E402

relocated = [name for name in DATA_FOLDERS if (HERE / "builder" / "data" / name).is_dir()]
mapped = [name for name in DATA_FOLDERS if name not in relocated and (HERE / name).is_dir()]
data_packages = [f"builder.data.{name}" for name in [*relocated, *mapped]]


class build_py_with_date(build_py):
    """build_py, then the sources' date into builder/data/."""

    def run(self) -> None:
        super().run()
        packaging_root = HERE / "builder" / "data" if relocated else HERE
        checkout = HERE if (HERE / ".git").exists() else None
        stamp = Path(self.build_lib, "builder", "data", SOURCE_DATE_STAMP)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"{source_date_epoch(os.environ, checkout, packaging_root)}\n")


setup(
    cmdclass={"build_py": build_py_with_date},
    packages=[*find_packages(include=["builder", "builder.*"]), *data_packages],
    package_dir={f"builder.data.{name}": name for name in mapped},
    package_data={
        # Scripts the build runs in its container.
        "builder": [
            "patches/icepy/*",
            "patches/apps/*/*",
            "icepy_build.py",
            "write_cyclonedx_sbom.py",
        ],
        # Every file, by glob: a new template folder needs no change here.
        **{package: ["**/*"] for package in data_packages},
    },
    exclude_package_data={package: ["**/__pycache__/*"] for package in data_packages},
)
