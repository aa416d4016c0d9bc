"""OMERO.web apps as Debian packages of their own (`omero-web-deb app`).

known.py: the apps this tool knows and what each needs configured;
request.py: NAME[==VERSION] checked against the table and the index;
base.py: the omero-web .deb an app is built against; freeze.py: pip's
pins and what an install would change; install.py: an app installed
beside the venv in the build container; static.py: its static files;
package.py: its debian/ tree, .deb and lintian; build.py: the steps.
"""
