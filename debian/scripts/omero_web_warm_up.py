"""gunicorn's configuration file for OMERO.web's preloaded sync workers:
omero_web_helper.py passes it with --config where it adds --preload.

Before the workers fork, the master does what each worker would otherwise
do at its first request: import every app's URLconf (all the views), build
the reverse index of URL names, and compile the login page's template.
That is about a quarter of a second on a 2-core machine, paid once by the
master instead of once a worker while a user waits; the workers inherit
the result.  Nothing here does I/O beyond reading the venv: no request is
made, no session or connection opened before the fork.

The hook is when_ready: gunicorn has written its pid file and bound its
port (and told systemd it is ready), and forks the workers when it
returns.  A request that comes meanwhile waits in the port's backlog for
a worker rather than being refused (nginx's 502), as it would be in
on_starting, which runs before the port is bound but after the pid file
the init script waits for.

An admin's own configuration file (-c in omero.web.wsgi_args) comes later
on the command line and replaces this one; the workers then warm up at
their first request, as without --preload.
"""

from __future__ import annotations

import time
from typing import Any

# What `omero web start` serves first: the login page (omero.web.login_view).
LOGIN_TEMPLATE = "webclient/login.html"


def when_ready(server: Any) -> None:
    """gunicorn's hook, in the master, once the app is loaded (--preload)
    and the port bound, before the workers fork."""
    start = time.monotonic()
    try:
        from django.template.loader import get_template
        from django.urls import get_resolver

        get_resolver().reverse_dict  # noqa: B018 - the property builds the index
        get_template(LOGIN_TEMPLATE)
    except Exception as error:  # the workers do it at their first request
        server.log.warning("OMERO.web not warmed up before the workers fork: %s", error)
        return
    server.log.info(
        "OMERO.web warmed up before the workers fork (URLconf, %s) in %.2f s",
        LOGIN_TEMPLATE,
        time.monotonic() - start,
    )
