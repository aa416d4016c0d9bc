"""Build a native Debian package of OMERO.web with its own IcePy 3.6 venv."""
