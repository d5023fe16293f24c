"""Gunicorn settings shared by the gateway and the four services (see Procfile)."""

import os

from shared.config import Config

# Threaded workers: every process waits on I/O (the database, or the services). ApiWorker is
# gunicorn's gthread worker that answers the JSON envelope even for what it refuses itself.
worker_class = "shared.worker.ApiWorker"
# No cap of gunicorn's own (it caps at 8,190 bytes otherwise): ApiWorker bounds a request line at
# API_MAX_BODY_BYTES plus 8 KiB, so parameters fit in the query string as in a body.
limit_request_line = 0
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Each thread holds at most one connection per database. With fewer connections than threads,
# threads wait for them, and two requests taking two databases in opposite orders (a session,
# then its admin; an account, then the audit log) wait on each other until DB_POOL_TIMEOUT
# ends both: DATABASE_UNAVAILABLE under load. So a process never starts that way.
if Config.from_env().db_pool_size < threads:  # the app's own reading of DB_POOL_SIZE
    raise SystemExit("DB_POOL_SIZE must be at least GUNICORN_THREADS")
# The app is built in each worker, so no database connection exists before the fork.
preload_app = False
# Five masters run side by side: a shared default control socket path would clash.
control_socket_disable = True
# A master restarted by its supervisor binds at once, even while the dead master's orphaned
# workers still hold the old socket for the second it takes them to notice and exit.
reuse_port = True
# The gateway keeps pooled connections to the services open between requests.
keepalive = 75
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
