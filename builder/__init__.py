"""Build a native Debian package of OMERO.web with its own IcePy 3.6 venv."""

# The toolkit's version, read by pyproject.toml (setuptools' `attr:`), the
# CLI's --version and the toolkit's Debian package: one place to change it.
__version__ = "0.1.0"
