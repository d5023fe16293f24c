"""The OpenAPI 3.1 document of the API, made from the route catalogue (shared/routes.py) and the
endpoint declarations (shared/api_params.py): nothing here names an endpoint of its own.

Parameters go in the query string for GET and DELETE and in the body (form, multipart or JSON)
for POST and PUT, although the API takes both anywhere (CONTRACT §1). Every answer is the JSON
envelope, with HTTP 200 (API_ERROR_STATUS=compat) or the code's status (rest).
"""

from __future__ import annotations

import re

from shared.api_params import ENDPOINTS, GATEWAY_ROUTES, UNAUTHENTICATED, Endpoint
from shared.errors import ERROR_CODES
from shared.routes import CATALOGUE

PLACEHOLDER = re.compile(r"\{(\w+)(?::oneof\(([^)]*)\))?\}")
# What every authenticated endpoint may answer besides its own codes.
COMMON_ERRORS = ("API_DISABLED", "NOT_AUTHORIZED", "LOGIN_REQUIRED", "SESSION_EXPIRED",
                 "PERMISSION_DENIED", "INVALID_PARAM", "MISSING_PARAM", "INVALID_NUMBER",
                 "MALFORMED_BODY", "REQUEST_TOO_LARGE", "METHOD_NOT_ALLOWED", "NOT_FOUND",
                 "TOO_MANY_REQUESTS", "DATABASE_UNAVAILABLE", "SERVICE_UNAVAILABLE",
                 "UPSTREAM_TIMEOUT")  # fmt: skip
PATH_SCHEMAS = {
    "mail": {"type": "string", "format": "email"},
    "new_mail": {"type": "string", "format": "email"},
    "domain": {"type": "string", "format": "hostname"},
    "days": {"type": "integer", "minimum": 0},
}
TAGS = {
    "domain": "Domains", "user": "Users", "alias": "Aliases", "admin": "Admins and API keys",
    "ldif": "LDIF export", "amavisd": "Spam policy and white/blacklists",
    "throttle": "Throttling and greylisting", "mlmmj": "Subscribable mailing lists",
    "gateway": "Sessions and this document",
}  # fmt: skip
BODY_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")


def _path_parameters(template: str) -> list[dict]:
    found = []
    for name, words in PLACEHOLDER.findall(template):
        schema = dict(PATH_SCHEMAS.get(name, {"type": "string"}))
        if words:
            schema = {"type": "string", "enum": [w.strip("'\" ") for w in words.split(",")]}
        found.append({"name": name, "in": "path", "required": True, "schema": schema})
    return found


def _openapi_path(prefix: str, template: str) -> str:
    return prefix + PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", template)


def _operation_id(method: str, template: str) -> str:
    """`get_user_mail` for GET /user/{mail}: unique, as the paths are."""
    words = re.findall(r"[A-Za-z0-9]+", PLACEHOLDER.sub(lambda m: m.group(1), template))
    return "_".join([method.lower(), *words])


def _param_schema(param) -> dict:
    schema = dict(param.kind.schema)
    text = "; ".join(t for t in (param.description, param.kind.description) if t)
    if param.aliases:
        text = "; ".join(filter(None, [text, "old name: " + ", ".join(param.aliases)]))
    if text:
        schema["description"] = text
    return schema


def _answer_schema(endpoint: Endpoint) -> dict:
    if endpoint.answer is None:
        return {"$ref": "#/components/schemas/Envelope"}
    data = {"object": {"type": "object"}, "array": {"type": "array"}}.get(endpoint.answer, {})
    return {"oneOf": [
        {"allOf": [{"$ref": "#/components/schemas/Success"},
                   {"type": "object", "properties": {"_data": data}}]},
        {"$ref": "#/components/schemas/Failure"},
    ]}  # fmt: skip


def _operation(service: str, resource: str, method: str, template: str) -> dict:
    endpoint = ENDPOINTS[resource][method]
    codes = sorted(set(endpoint.errors) | set(COMMON_ERRORS))
    operation = {
        "operationId": _operation_id(method, template),
        "summary": endpoint.summary,
        "tags": [TAGS[service]],
        "parameters": _path_parameters(template),
        "responses": {
            "200": {
                "description": "The envelope (HTTP 200 whatever the outcome, by default). "
                "Error codes: " + ", ".join(codes),
                "content": {"application/json": {"schema": _answer_schema(endpoint)}},
            },
            "default": {
                "description": "With API_ERROR_STATUS=rest: a failure with its code's status",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Failure"}}},
            },
        },
        "x-error-codes": codes,
    }  # fmt: skip
    if endpoint.answer == "html":
        operation["responses"]["200"]["content"] = {"text/html": {"schema": {"type": "string"}}}
    if resource in UNAUTHENTICATED:
        operation["security"] = []
    params = endpoint.params
    if method in ("GET", "DELETE"):
        operation["parameters"] += [
            {"name": p.name, "in": "query", "required": p.required, "schema": _param_schema(p)}
            for p in params
        ]
    elif params:
        body = {"type": "object",
                "properties": {p.name: _param_schema(p) for p in params}}  # fmt: skip
        required = [p.name for p in params if p.required]
        if required:
            body["required"] = required
        operation["requestBody"] = {
            "required": bool(required),
            "content": {media: {"schema": body} for media in BODY_TYPES},
        }
    return operation


def _components(cookie: str) -> dict:
    failure_codes = sorted(ERROR_CODES)
    return {
        "schemas": {
            "Envelope": {"oneOf": [{"$ref": "#/components/schemas/Success"},
                                   {"$ref": "#/components/schemas/Failure"}]},
            "Success": {
                "type": "object", "required": ["_success"],
                "properties": {
                    "_success": {"const": True}, "_data": {},
                    "_total": {"type": "integer"}, "_next": {"type": ["string", "null"]},
                    "_warnings": {"type": "array"},
                },
            },
            "Failure": {
                "type": "object", "required": ["_success", "_msg"],
                "additionalProperties": False,
                "properties": {
                    "_success": {"const": False},
                    "_msg": {"type": "string", "description": "the error code: one of "
                             + ", ".join(failure_codes)},
                    "_detail": {"type": "string"},
                },
            },
        },
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": cookie,
                        "description": "the cookie POST /api/login sets"},
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "an API key (`mak_…`): Authorization: Bearer <key>"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        },
    }  # fmt: skip


def document(config) -> dict:
    prefix = config.api_path_prefixes[0] if config.api_path_prefixes else "/api"
    routes = [(service, r.resource, sorted(r.methods), r.template)
              for service, rs in CATALOGUE.items() for r in rs]  # fmt: skip
    routes += [("gateway", name, sorted(ENDPOINTS[name]), t) for t, name in GATEWAY_ROUTES]
    paths: dict[str, dict] = {}
    for service, resource, methods, template in routes:
        item = paths.setdefault(_openapi_path(prefix, template), {})
        for method in methods:
            item[method.lower()] = _operation(service, resource, method, template)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mailapi: an iRedAdmin-Pro compatible RESTful API",
            "version": "0.1.0",
            "description": "Parameters are accepted in the query string or the body of any "
            "method (form, multipart or JSON); lists are comma-separated; booleans yes/no. "
            'Every answer is the envelope `{"_success": …}`.',
        },
        "servers": [{"url": "/"}],
        "security": [{"session": []}, {"bearer": []}, {"apiKey": []}],
        "tags": [{"name": name} for name in TAGS.values()],
        "paths": paths,
        "components": _components(config.session_cookie_name),
    }
