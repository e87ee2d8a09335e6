"""gunicorn settings for civitrack, read from the working directory by ``gunicorn civitrack.wsgi``.

Threaded workers (``gthread``): a request waiting on a slow upstream (a URL hash may
take up to ``HASH_TIMEOUT``) holds one thread, not the whole worker, so ``/healthz``
and every other page keep answering. Together with the per-process cap on concurrent
URL hashes (``HASH_MAX_CONCURRENT``, below ``threads``) some threads of every worker
are always free for other requests. See README, "Web processes".

Flags on the command line override these (``--workers 4``); so do gunicorn's own
environment variables (``WEB_CONCURRENCY``, ``GUNICORN_CMD_ARGS``).
"""

import os

wsgi_app = "civitrack.wsgi"
bind = "0.0.0.0:8000"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = 8
# gthread workers heartbeat from their main thread, so a long request does not trip
# this; it catches a worker that is truly stuck.
timeout = 30
graceful_timeout = 30
keepalive = 5
accesslog = "-"
