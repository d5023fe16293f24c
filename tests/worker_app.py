"""The WSGI app `tests/test_worker.py` runs under gunicorn (no test imports: gunicorn loads it)."""

import time

BODY = b'{"_success":true}'


def app(environ, start_response):
    """A few answers of each framing gunicorn writes."""
    path = environ["PATH_INFO"]
    if path == "/stream":  # no length: chunked
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (part for part in (b"one ", b"two ", b"three"))
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/slow":
        time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY)))])  # fmt: skip
    return [BODY]
