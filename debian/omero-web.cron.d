# Remove expired OMERO.web sessions once a day (the walkthrough's cron job).
# Where systemd runs, omero-web-clearsessions.timer does it instead, so this
# line does nothing there; it also does nothing once the package is removed.
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
17 4 * * *	omero-web	[ -x /usr/lib/omero-web/omero-web-clearsessions ] && [ ! -d /run/systemd/system ] && /usr/lib/omero-web/omero-web-clearsessions >/dev/null
