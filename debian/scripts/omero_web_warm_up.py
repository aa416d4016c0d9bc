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

It is bounded by gunicorn's worker timeout (--timeout, omero.web.wsgi_timeout),
as the same imports were in a worker's first request: an app whose URLconf
blocks at import (a connection made at import, say) would otherwise keep
the master from ever forking a worker, and the master handles no signal
until it has.  Cut short, or failed, the warm-up is logged and the start
goes on; the workers then do it at their first request.

An admin's own configuration file (-c in omero.web.wsgi_args) comes later
on the command line and replaces this one, and omero_web_helper.py leaves
this one out where GUNICORN_CMD_ARGS names one (gunicorn reads a file
named there only when the command line names none); the workers then warm
up at their first request, as without --preload.
"""

from __future__ import annotations

import signal
import time
from typing import Any

# The page a visitor meets first.  omero.web.login_view may name another
# app's view: then only the URLconf is warmed up, and the warning says so.
LOGIN_TEMPLATE = "webclient/login.html"


class WarmUpTooLong(Exception):
    pass


def too_long(signum: int, frame: Any) -> None:
    raise WarmUpTooLong("it took longer than gunicorn's worker timeout")


def warm_up() -> None:
    from django.template.loader import get_template
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - the property builds the index
    get_template(LOGIN_TEMPLATE)


def when_ready(server: Any) -> None:
    """gunicorn's hook, in the master, once the app is loaded (--preload)
    and the port bound, before the workers fork."""
    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, too_long)
    # --timeout 0: no bound for the workers, nor here.
    signal.alarm(max(0, int(server.cfg.timeout)))
    try:
        warm_up()
    except Exception as error:  # the workers do it at their first request
        server.log.warning("OMERO.web not warmed up before the workers fork: %s", error)
        return
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    server.log.info(
        "OMERO.web warmed up before the workers fork (URLconf, %s) in %.2f s",
        LOGIN_TEMPLATE,
        time.monotonic() - start,
    )
