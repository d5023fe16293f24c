"""`GET /api/openapi.json` and `GET /api/docs`: the API's OpenAPI document and an interactive
reference rendered from it by Swagger UI, whose files come with the swagger-ui-py package
(nothing is fetched from elsewhere). No authentication; the API switch and the IP allow-list
still apply (GatewayMiddleware runs first)."""

from __future__ import annotations

import importlib.resources

import falcon
import orjson

from shared.errors import ApiError
from shared.openapi import document

STATIC = importlib.resources.files("swagger_ui") / "static"
ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
          "swagger-ui.css": "text/css; charset=utf-8"}  # fmt: skip
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mailapi reference</title>
<link rel="stylesheet" href="{base}/docs/swagger-ui.css"></head>
<body><div id="reference"></div>
<script src="{base}/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "{base}/openapi.json", dom_id: "#reference",
  docExpansion: "list", defaultModelsExpandDepth: -1}});</script>
</body></html>
"""


class OpenApiResource:
    auth_required = False
    methods = frozenset({"GET"})

    def __init__(self, config):
        self._body = orjson.dumps(document(config))

    def on_get(self, req, resp):
        resp.content_type = "application/json; charset=utf-8"
        resp.data = self._body


class DocsResource:
    auth_required = False
    methods = frozenset({"GET"})

    def __init__(self, config):
        base = config.api_path_prefixes[0] if config.api_path_prefixes else "/api"
        self._page = PAGE.format(base=base).encode()

    def on_get(self, req, resp):
        resp.content_type = "text/html; charset=utf-8"
        resp.set_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self' "
            "'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
        )
        resp.data = self._page


class DocsAssetResource:
    auth_required = False
    methods = frozenset({"GET"})

    def on_get(self, req, resp, name):
        if name not in ASSETS:
            raise ApiError("NOT_FOUND", name[:80])
        resp.content_type = ASSETS[name]
        resp.cache_control = ["public", "max-age=86400"]
        resp.data = (STATIC / name).read_bytes()
        resp.status = falcon.HTTP_200
