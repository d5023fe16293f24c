"""The gateway app: checks in the contract's order, then forwards to the owning service.

Order (CONTRACT.md §6): path normalisation → body size → API_DISABLED → IP allow-list →
unknown route / wrong method → authentication → the service.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import quote

import falcon

from gateway.clients import AllowList, client_address, parse_networks
from gateway.docs import DocsAssetResource, DocsResource, OpenApiResource
from gateway.paths import api_relative_path
from gateway.sessions import ApiKeys, Sessions
from gateway.upstream import HttpTransport
from shared import db, identity
from shared.app import DatabaseMiddleware, new_app
from shared.config import Config
from shared.envelope import answer
from shared.errors import ApiError
from shared.params import Params
from shared.routes import CATALOGUE

PATH_SAFE = "/@:+,;=!$&'()*~"
DENIED = b'{"_success":false,"_msg":"PERMISSION_DENIED"'
log = logging.getLogger("mailapi.gateway")


class GatewayMiddleware:
    """Everything decided before routing: path, body size, API switch, client address."""

    def __init__(self, config, allow_list: AllowList):
        self._prefixes = config.api_path_prefixes
        self._max_body = config.api_max_body_bytes
        self._enabled = config.enable_restful_api
        self._trusted = parse_networks(config.trusted_proxies)
        self._allow_list = allow_list

    def process_request(self, req, resp):
        relative = api_relative_path(req.path, self._prefixes)
        if relative is None:
            raise ApiError("NOT_FOUND", "not an API path")
        req.path = relative
        if len(req.query_string) > self._max_body:  # parameters fit the query string as a body
            raise ApiError("REQUEST_TOO_LARGE", f"the query string may hold {self._max_body} bytes")
        req.context.body = self._read_body(req)
        if not self._enabled:
            raise ApiError("API_DISABLED")
        peer = req.remote_addr or ""
        req.context.client_ip = client_address(
            peer, req.get_header("X-Forwarded-For"), self._trusted
        )
        if not self._allow_list.allows(req.context.client_ip):
            raise ApiError("NOT_AUTHORIZED", "this client address may not use the API")

    def _read_body(self, req) -> bytes:
        length = req.content_length
        if length is not None and length > self._max_body:
            raise ApiError("REQUEST_TOO_LARGE", f"the body may hold {self._max_body} bytes")
        body = req.bounded_stream.read(self._max_body + 1)
        if len(body) > self._max_body:
            raise ApiError("REQUEST_TOO_LARGE", f"the body may hold {self._max_body} bytes")
        return body


class AuthMiddleware:
    """Wrong method before authentication; then an API key (`Authorization: Bearer`, or
    `X-API-Key`) or the session cookie; a read-only key only where nothing is written."""

    def __init__(self, config, sessions: Sessions, keys: ApiKeys):
        self._cookie = config.session_cookie_name
        self._sessions = sessions
        self._keys = keys

    def process_resource(self, req, resp, resource, params):
        if resource is None:
            return
        if req.method not in resource.methods:
            raise ApiError(
                "METHOD_NOT_ALLOWED", headers={"Allow": ", ".join(sorted(resource.methods))}
            )
        if not resource.auth_required:
            return
        client_ip = req.context.client_ip
        key = api_key_of(req)
        if key is not None:
            authenticate = functools.partial(self._keys.authenticate, key, client_ip)
        else:
            token = (req.get_cookie_values(self._cookie) or [None])[0]
            authenticate = functools.partial(self._sessions.authenticate, token, client_ip)
        req.context.identity = authenticate()
        req.context.fresh_identity = functools.partial(authenticate, fresh=True)
        if req.context.identity.read_only and req.method not in resource.reads:
            raise ApiError("PERMISSION_DENIED", "this API key is read-only")


def api_key_of(req) -> str | None:
    """The key a request carries, or None (a session cookie is used then)."""
    authorization = req.get_header("Authorization") or ""
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return req.get_header("X-API-Key")


class ForwardResource:
    """Forwards a request to its service with the caller's signed identity."""

    auth_required = True

    def __init__(self, service: str, route, transport, secret: str):
        self.service = service
        self.methods = route.methods
        self.reads = route.reads
        self._transport = transport
        self._secret = secret

    def _send(self, req, caller):
        target = quote(req.path, safe=PATH_SAFE)
        signed_target = req.path
        if req.query_string:
            target += "?" + req.query_string
            signed_target += "?" + req.query_string
        headers = identity.sign(caller, req.method, signed_target, self._secret, req.context.body)
        if req.content_type:
            headers["Content-Type"] = req.content_type
        return self._transport.request(self.service, req.method, target, headers, req.context.body)

    def _forward(self, req, resp, **_params):
        upstream = self._send(req, req.context.identity)
        if upstream.body is not None and upstream.body.startswith(DENIED):
            # The identity may be up to AUTH_CACHE_SECONDS old: a right granted since (a domain
            # this admin just created) is read now. A denied request changed nothing, so it is
            # sent again when the admin's rights did change.
            fresh = req.context.fresh_identity()
            if fresh != req.context.identity:
                req.context.identity = fresh
                upstream = self._send(req, fresh)
        content_type = dict((k.lower(), v) for k, v in upstream.headers).get("content-type", "")
        if not content_type.startswith("application/json"):
            # Never pass on what is not the API's envelope (a server's own HTML error page).
            log.warning("%s service answered %s %s", self.service, upstream.status, content_type)
            raise ApiError("SERVICE_UNAVAILABLE", f"the {self.service} service failed to answer")
        resp.status = falcon.code_to_http_status(upstream.status)
        for name, value in upstream.headers:
            resp.append_header(name, value)
        if upstream.body is not None:
            resp.data = upstream.body
        else:
            resp.stream = upstream.stream

    on_get = on_post = on_put = on_delete = _forward


class LoginResource:
    auth_required = False
    methods = frozenset({"POST"})

    def __init__(self, config, sessions: Sessions):
        self._sessions = sessions
        self._cookie = config.session_cookie_name
        self._secure = config.session_cookie_secure

    def on_post(self, req, resp):
        params = Params.from_request(req)
        username = params.get_str("username", required=True)
        password = params.get_str("password", required=True)
        token = self._sessions.login(username, password, req.context.client_ip)
        resp.set_cookie(
            self._cookie,
            token,
            path="/",
            secure=self._secure,
            http_only=True,
            same_site="Strict",
        )
        answer(resp)


class LogoutResource:
    auth_required = False
    methods = frozenset({"POST"})

    def __init__(self, config, sessions: Sessions):
        self._sessions = sessions
        self._cookie = config.session_cookie_name

    def on_post(self, req, resp):
        token = (req.get_cookie_values(self._cookie) or [None])[0]
        self._sessions.logout(token)
        resp.unset_cookie(self._cookie, path="/", same_site="Strict")
        answer(resp)


def create_app(config: Config | None = None, transport=None) -> falcon.App:
    """The gateway; `transport` defaults to pooled HTTP to the services' bind addresses."""
    config = config or Config.from_env()
    if not config.internal_secret:
        raise ValueError("INTERNAL_SECRET must be set")
    db.bind_databases(config)
    transport = transport or HttpTransport(config)
    sessions = Sessions(config)
    keys = ApiKeys(config)
    app = new_app(
        config,
        [
            GatewayMiddleware(config, AllowList(config)),
            AuthMiddleware(config, sessions, keys),
            DatabaseMiddleware(),
        ],
    )
    app.add_route("/login", LoginResource(config, sessions))
    app.add_route("/logout", LogoutResource(config, sessions))
    app.add_route("/openapi.json", OpenApiResource(config))
    app.add_route("/docs", DocsResource(config))
    app.add_route("/docs/{name}", DocsAssetResource())
    for service, routes in CATALOGUE.items():
        for route in routes:
            app.add_route(
                route.template,
                ForwardResource(service, route, transport, config.internal_secret),
            )
    return app


def get_app():
    """The WSGI entry point gunicorn loads (`gateway.app:get_app()`)."""
    return create_app()
