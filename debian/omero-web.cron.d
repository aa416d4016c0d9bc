# Remove expired OMERO.web sessions once a day (the walkthrough's cron job).
# Where systemd runs, omero-web-clearsessions.timer does it instead, so this
# line does nothing there; it also does nothing once the package is removed.
# Doing nothing exits 0: cron logs no failure for a job that had no work.
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
17 4 * * *	omero-web	if [ -x @LIB_DIR@/omero-web-clearsessions ] && [ ! -d /run/systemd/system ]; then @LIB_DIR@/omero-web-clearsessions >/dev/null; fi
