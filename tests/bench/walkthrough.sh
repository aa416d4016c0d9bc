#!/bin/sh
# The OMERO.web install walkthrough's manual steps, as root, on a host that
# already has its prerequisites (python3, python3-venv, nginx running):
# https://omero.readthedocs.io/en/stable/sysadmins/unix/install-web/walkthrough/omeroweb-install-ubuntu-ice3.6.html
# tests/bench/run.py times it from the first step to the first 200 of
# /webclient/login/ through nginx.
#
# Usage: walkthrough.sh ICEPY_WHEEL OMERO_WEB_VERSION
set -eu

wheel=$1
version=$2
venv=/opt/omero/web/venv3
export OMERODIR=/opt/omero/web/omero-web

# The walkthrough's "run as the omero-web system user", with its
# `export OMERODIR=...` and `export PATH=/opt/omero/web/venv3/bin:$PATH`.
as_omero_web() {
    runuser -u omero-web -- env OMERODIR="$OMERODIR" PATH="$venv/bin:$PATH" "$@"
}

# A local system user omero-web, and OMERODIR owned by it.
useradd -m omero-web
mkdir -p "$OMERODIR/etc/grid"
chown -R omero-web "$OMERODIR"

# The virtual environment.
python3 -m venv "$venv"

# ZeroC IcePy 3.6: the wheel the package was built with.
"$venv/bin/pip" install "$wheel"

# Upgrade pip and install OMERO.web from PyPI: the package's version.
"$venv/bin/pip" install --upgrade pip
"$venv/bin/pip" install "omero-web==$version"

# Configure OMERO.web (the OMERO.server to offer) and write the nginx site.
as_omero_web omero config set omero.web.server_list '[["localhost", 4064, "omero"]]'
as_omero_web omero web config nginx --http 80 >/etc/nginx/conf.d/omeroweb.conf

# Disable nginx's default site and start nginx: it already runs on this
# host (apt started it), so it reloads to take the new site.
rm /etc/nginx/sites-enabled/default
service nginx reload

# Start OMERO.web (it collects the static files, then starts gunicorn).
as_omero_web omero web start
