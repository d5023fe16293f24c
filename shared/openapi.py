"""The OpenAPI 3.1 document of the API, made from the route catalogue (shared/routes.py) and the
endpoint declarations (shared/api_params.py): nothing here names an endpoint of its own.

Parameters go in the query string for GET and DELETE and in the body (form, multipart or JSON)
for POST and PUT, although the API takes both anywhere (CONTRACT §1). Every answer is the JSON
envelope, with HTTP 200 (API_ERROR_STATUS=compat) or the code's status (rest).
"""

from __future__ import annotations

import re
import shlex
import urllib.parse
from pathlib import Path

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
README = Path(__file__).resolve().parent.parent / "README.md"


def curl_lines(text: str) -> list[str]:
    """The README's curl commands, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("curl ") and "http://" in line:
            found.append(line.split("  #", 1)[0].split(" | ", 1)[0].strip())
    return found


def parse_curl(line: str) -> tuple[str, str, dict[str, str]]:
    """(method, API path, parameters) of a README curl command."""
    words = shlex.split(line)
    method, url, params = "GET", "", {}
    for i, word in enumerate(words):
        if word == "-X":
            method = words[i + 1]
        elif word.startswith("http://"):
            url = word
        elif word in ("-d", "--data-urlencode"):
            params.update(urllib.parse.parse_qsl(words[i + 1], keep_blank_values=True))
    parts = urllib.parse.urlsplit(url)
    params.update(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return method, parts.path, params


def match_path(paths, path: str) -> str | None:
    """The document path a concrete path is an instance of (literal segments win)."""
    best = None
    for template in paths:
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            literals = template.count("/") - template.count("{")
            if best is None or literals > best[0]:
                best = (literals, template)
    return best[1] if best else None


def _add_examples(paths: dict, text: str) -> None:
    """The README's curl lines as each operation's code samples, the first one's parameters as
    its example."""
    for line in curl_lines(text):
        method, path, params = parse_curl(line)
        template = match_path(paths, path)
        operation = paths.get(template, {}).get(method.lower()) if template else None
        if operation is None:
            continue
        samples = operation.setdefault("x-codeSamples", [])
        samples.append({"lang": "Shell", "label": "curl", "source": line})
        if len(samples) > 1 or not params:
            continue
        for media in operation.get("requestBody", {}).get("content", {}).values():
            media["example"] = params
        for parameter in operation["parameters"]:
            if parameter["in"] == "query" and parameter["name"] in params:
                parameter["example"] = params[parameter["name"]]


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


ANSWERS = {
    "object": ("ObjectAnswer", {"type": "object"}),
    "array": ("ArrayAnswer", {"type": "array", "items": {}}),
    "any": ("AnyAnswer", {}),
}


def _success_schema(data: dict | None) -> dict:
    properties = {
        "_success": {"const": True},
        "_total": {"type": "integer"},
        "_next": {"type": ["string", "null"]},
        "_warnings": {"type": "array", "items": {"type": "string"}},
    }
    if data is not None:
        properties["_data"] = data
    return {"type": "object", "required": ["_success", *(["_data"] if data is not None else [])],
            "properties": properties}  # fmt: skip


def _answer_schema(endpoint: Endpoint) -> dict:
    if endpoint.answer not in ANSWERS:
        return {"$ref": "#/components/schemas/Envelope"}
    name = ANSWERS[endpoint.answer][0]
    return {"oneOf": [{"$ref": f"#/components/schemas/{name}"},
                      {"$ref": "#/components/schemas/Failure"}]}  # fmt: skip


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
            "Success": _success_schema(None),
            **{name: _success_schema(data) for name, data in ANSWERS.values()},
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
    if README.exists():
        _add_examples(paths, README.read_text())
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
