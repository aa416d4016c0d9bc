"""Which files the wheel and sdist carry; the metadata is pyproject.toml's.

A build reads the omero-web package's sources, debian/ and templates/, at
the top of this checkout.  Installed, they are package data, builder/data/
(builder/resources.py finds them either way): here they are mapped there.
The toolkit's own Debian package (builder/toolkit_deb.py) is built from a
tree in which they already sit under builder/data/, because stdeb writes
its own debian/ at the top of the tree it packages.
"""

from pathlib import Path

from setuptools import find_packages, setup

# What a build reads besides the code; "locks" (the requirement locks) only
# where the checkout has them.
DATA_FOLDERS = ("debian", "templates", "locks")
HERE = Path(__file__).resolve().parent

relocated = [name for name in DATA_FOLDERS if (HERE / "builder" / "data" / name).is_dir()]
mapped = [name for name in DATA_FOLDERS if name not in relocated and (HERE / name).is_dir()]
data_packages = [f"builder.data.{name}" for name in [*relocated, *mapped]]
setup(
    packages=[*find_packages(include=["builder", "builder.*"]), *data_packages],
    package_dir={f"builder.data.{name}": name for name in mapped},
    package_data={
        "builder": ["patches/icepy/*", "icepy_build.py"],
        # Every file, by glob: a new template folder needs no change here.
        **{package: ["**/*"] for package in data_packages},
    },
    exclude_package_data={package: ["**/__pycache__/*"] for package in data_packages},
)
