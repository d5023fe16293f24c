"""The Falcon app factory shared by the gateway and the services.

It registers the one error handler that puts every failure, Falcon's own 400/404/405 included,
into the JSON envelope, and the middleware of a service (identity check, pooled connections).
"""

from __future__ import annotations

import logging

import falcon
import peewee
from playhouse.pool import MaxConnectionsExceeded

from shared import db, identity, mlmmjadmin
from shared.envelope import answer_failure
from shared.errors import ApiError
from shared.routes import CATALOGUE, CONVERTERS

log = logging.getLogger("mailapi")

FALCON_STATUS_CODES = {
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    400: "MALFORMED_BODY",
}
DATABASE_FAULTS = (peewee.OperationalError, peewee.InterfaceError, MaxConnectionsExceeded)


def error_code_of(exc: Exception) -> tuple[str, str | None, dict]:
    """The contract code, detail and extra headers for any exception."""
    if isinstance(exc, ApiError):
        return exc.code, exc.detail, exc.headers
    if isinstance(exc, falcon.HTTPError):
        status = exc.status_code
        code = FALCON_STATUS_CODES.get(status) or (
            "INVALID_PARAM" if status < 500 else "INTERNAL_ERROR"
        )
        headers = {"Allow": exc.headers["Allow"]} if exc.headers and "Allow" in exc.headers else {}
        return code, None, headers
    if isinstance(exc, DATABASE_FAULTS):
        log.warning("database fault: %s", exc)
        return "DATABASE_UNAVAILABLE", None, {}
    log.exception("unexpected error", exc_info=exc)
    return "INTERNAL_ERROR", None, {}


def make_error_handler(mode: str):
    def handle(req, resp, exc, params):
        code, detail, headers = error_code_of(exc)
        answer_failure(resp, code, detail, mode)
        for name, value in headers.items():
            resp.set_header(name, value)

    return handle


def new_app(config, middleware=()) -> falcon.App:
    """A Falcon app whose every error, of any kind, answers the envelope."""
    app = falcon.App(middleware=list(middleware))
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    app.router_options.converters.update(CONVERTERS)
    app.resp_options.default_media_type = "application/json"
    handler = make_error_handler(config.api_error_status)
    app.add_error_handler(Exception, handler)
    app.add_error_handler(falcon.HTTPError, handler)
    return app


def request_target(req: falcon.Request) -> str:
    """The decoded path plus the raw query string: what the identity signature covers."""
    return req.path + ("?" + req.query_string if req.query_string else "")


class IdentityMiddleware:
    """A service answers only requests the gateway signed within the last few seconds."""

    def __init__(self, config):
        self._secret = config.internal_secret
        self._max_age = config.identity_max_age

    def process_request(self, req, resp):
        # The signature covers the body: read it once here, the parser takes it from the context.
        req.context.body = req.bounded_stream.read()
        caller = identity.verify(
            req.get_header,
            req.method,
            request_target(req),
            req.context.body,
            self._secret,
            self._max_age,
        )
        if caller is None:
            raise ApiError("NOT_AUTHORIZED", "the request was not signed by the gateway")
        req.context.identity = caller


class DatabaseMiddleware:
    """Connections open on first use and go back to their pools after every request."""

    def process_response(self, req, resp, resource, req_succeeded):
        db.release_connections()


def create_service_app(config, service: str, resources: dict[str, object]) -> falcon.App:
    """A service app: signed identity required, the service's routes from the catalogue."""
    if not config.internal_secret:
        raise ValueError("INTERNAL_SECRET must be set")
    db.bind_databases(config)
    # mlmmjadmin: the lists' own calls and the cascades' (domain and user deletes, renames).
    middleware = [
        IdentityMiddleware(config),
        DatabaseMiddleware(),
        mlmmjadmin.ClientMiddleware(config),
    ]
    app = new_app(config, middleware)
    for route in CATALOGUE[service]:
        app.add_route(route.template, resources[route.resource])
    return app
