"""The request parameter parser of CONTRACT.md §1.

Parameters are the query string merged with the body (form, multipart or JSON object); a key in
the body replaces the same key of the query string. Old parameter names map to the new ones.
Typed getters raise ApiError with the contract's codes.
"""

from __future__ import annotations

import io
import json
import os
import re
from urllib.parse import parse_qsl

import falcon
import falcon.media

from shared.api_params import DECLARED, LEGACY_NAMES, Endpoint
from shared.config import FALSE_WORDS, TRUE_WORDS
from shared.errors import ApiError
from shared.models.base import require_fit
from shared.validation import is_destination_address, is_domain, is_mailbox_address

# With MAILAPI_STRICT_PARAMS=1 (the tests, the fuzzer), reading a parameter the endpoint's
# declaration (shared/api_params.py) lacks, or as another kind, is a fault.
STRICT = os.environ.get("MAILAPI_STRICT_PARAMS") == "1"
ACTIVE_WORDS = {"active", "enable", "enabled", "yes", "1"}
DISABLED_WORDS = {"disabled", "disable", "no", "0"}
MAX_LIST_ENTRIES = 10_000
BIGINT_MAX = 2**63 - 1
MAX_KEEP_DAYS = 36_500
LANGUAGE = re.compile(r"^[a-z]{2}(?:_[A-Z]{2})?$")

_MISSING = object()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("MALFORMED_BODY", "the body is not valid UTF-8") from None


def _pairs_from_query(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ApiError("MALFORMED_BODY", "parameters are not valid percent-encoded UTF-8") from None


def _encodable(text: str) -> str:
    """A JSON string may hold a lone surrogate (`"\\ud800"`), which is not text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError("MALFORMED_BODY", "the JSON body holds an invalid \\u escape") from None
    return text


def _json_value(key: str, value) -> list[str]:
    _encodable(key)
    if isinstance(value, str):
        return [_encodable(value)]
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if value is None:
        return [""]
    if isinstance(value, (int, float, str)):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [_encodable(",".join(str(v) for v in value))]
    raise ApiError("INVALID_PARAM", f"{key}: must be a string, number, boolean or list")


def _pairs_from_json(raw: bytes) -> list[tuple[str, str]]:
    try:
        document = json.loads(_decode(raw))
    except ValueError:
        raise ApiError("MALFORMED_BODY", "the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise ApiError("MALFORMED_BODY", "a JSON body must be an object")
    return [(key, text) for key, value in document.items() for text in _json_value(key, value)]


def _pairs_from_multipart(raw: bytes, content_type: str) -> list[tuple[str, str]]:
    boundary = content_type.partition("boundary=")[2].split(";", 1)[0].strip().strip('"')
    if not boundary or b"--" + boundary.encode() not in raw:
        raise ApiError("MALFORMED_BODY", "the multipart body has no boundary")
    handler = falcon.media.MultipartFormHandler()
    try:
        form = handler.deserialize(io.BytesIO(raw), content_type, len(raw))
        return [(part.name, part.get_text() or "") for part in form if part.name]
    except (falcon.HTTPError, ValueError) as exc:
        raise ApiError("MALFORMED_BODY", "the multipart body cannot be parsed") from exc


def body_pairs(raw: bytes, content_type: str | None) -> list[tuple[str, str]]:
    """The body's parameters, by content type; an empty body has none."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not raw.strip():
        return []
    if media_type == "multipart/form-data":
        return _pairs_from_multipart(raw, content_type)
    if media_type in ("", "application/x-www-form-urlencoded") or media_type.startswith("text/"):
        return _pairs_from_query(_decode(raw))
    if media_type == "application/json" or media_type.endswith("+json"):
        return _pairs_from_json(raw)
    raise ApiError("MALFORMED_BODY", f"unsupported content type {media_type}")


class UndeclaredParameter(Exception):
    """An endpoint read a parameter its declaration lacks (a fault of the code, not the client)."""


class Params:
    """The merged parameters of one request, read through typed getters."""

    def __init__(self, query: list[tuple[str, str]], body: list[tuple[str, str]],
                 declared: Endpoint | None = None):  # fmt: skip
        self._kinds = {p.name: p.kind for p in declared.params} if declared else None
        merged: dict[str, list[str]] = {}
        self._sent_as: dict[str, str] = {}  # new name → the (old) name the client sent
        for source in (query, body):
            seen: dict[str, list[str]] = {}
            for key, value in source:
                name = LEGACY_NAMES.get(key, key)
                seen.setdefault(name, []).append(value)
                self._sent_as[name] = key
            merged.update(seen)  # the body's keys replace the query string's
        self._values = merged

    def label(self, name: str) -> str:
        """The name to give in an error: the one the client used (`cn` for `name`)."""
        return self._sent_as.get(name, name)

    @classmethod
    def from_request(cls, req: falcon.Request) -> Params:
        """The request's parameters (the body as a middleware read it into `req.context.body`)."""
        raw_body = getattr(req.context, "body", None)
        if raw_body is None:
            raw_body = req.bounded_stream.read()
        return cls(
            _pairs_from_query(req.query_string or ""),
            body_pairs(raw_body, req.content_type),
            DECLARED.get((req.uri_template, req.method)),
        )

    def _read(self, name: str, getter: str) -> None:
        if not STRICT or self._kinds is None:
            return
        kind = self._kinds.get(name)
        if kind is None:
            raise UndeclaredParameter(f"{name!r} is not declared for this endpoint")
        if getter not in kind.getters:
            raise UndeclaredParameter(f"{name!r} is declared {kind.name}, read by {getter}")

    def __contains__(self, name: str) -> bool:
        self._read(name, "get_str")
        return name in self._values

    def names(self) -> set[str]:
        return set(self._values)

    def reject_undeclared(self) -> None:
        """INVALID_PARAM for a name the endpoint does not declare (where a misspelt name must
        not pass for success: mlmmjadmin ignores what it does not know)."""
        unknown = sorted(self.names() - set(self._kinds or ()))
        if self._kinds is not None and unknown:
            raise ApiError("INVALID_PARAM", f"unknown parameter(s): {', '.join(unknown[:5])}")

    def get_str(self, name: str, default=None, *, required: bool = False, column=None):
        """The value, trimmed; with `column` (the model field it is written to), INVALID_PARAM
        naming the parameter when it does not fit there."""
        self._read(name, "get_str")
        values = self._values.get(name)
        if values is None:
            if required:
                raise ApiError("MISSING_PARAM", f"{name} is required")
            return default
        value = values[-1].strip()
        if column is not None:
            require_fit(column, value, self.label(name))
        return value

    def get_int(self, name: str, default=None, *, minimum: int | None = None, maximum=None):
        """An integer; never beyond what a BIGINT column holds, whatever `maximum` says."""
        self._read(name, "get_int")
        raw = self.get_str(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError("INVALID_NUMBER", f"{self.label(name)} must be an integer") from None
        maximum = BIGINT_MAX if maximum is None else min(maximum, BIGINT_MAX)
        if (minimum is not None and value < minimum) or value > maximum or value < -BIGINT_MAX:
            raise ApiError("INVALID_NUMBER", f"{self.label(name)} is out of range")
        return value

    def get_bool(self, name: str, default=None):
        self._read(name, "get_bool")
        raw = self.get_str(name)
        if raw is None:
            return default
        word = raw.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS and word:
            return False
        raise ApiError("INVALID_PARAM", f"{name} must be yes or no")

    def get_language(self, name: str = "language", default=None):
        """A language code (`en_US`, `de`); INVALID_LANGUAGE otherwise. Empty is returned as ''."""
        self._read(name, "get_language")
        value = self.get_str(name)
        if value is None:
            return default
        if value and not LANGUAGE.match(value):
            raise ApiError("INVALID_LANGUAGE", value[:20])
        return value

    def get_status(self, name: str = "accountStatus", default=None):
        """`active`/`disabled` as 1/0."""
        self._read(name, "get_status")
        raw = self.get_str(name)
        if raw is None:
            return default
        word = raw.lower()
        if word in ACTIVE_WORDS:
            return 1
        if word in DISABLED_WORDS:
            return 0
        raise ApiError("INVALID_PARAM", f"{name} must be active or disabled")

    def get_list(self, name: str, default=None, *, lower: bool = False) -> list[str] | None:
        """A comma-separated list, trimmed, duplicates dropped (order kept); empty means []."""
        self._read(name, "get_list")
        values = self._values.get(name)
        if values is None:
            return default
        items: dict[str, None] = {}
        for value in values:
            for item in value.split(","):
                item = item.strip()
                if item:
                    items[item.lower() if lower else item] = None
        if len(items) > MAX_LIST_ENTRIES:
            raise ApiError("INVALID_PARAM", f"{name} holds more than {MAX_LIST_ENTRIES} entries")
        return list(items)

    def get_domain_list(self, name: str, default=None):
        self._read(name, "get_domain_list")
        items = self.get_list(name, default, lower=True)
        for item in items or ():
            if not is_domain(item):
                raise ApiError("INVALID_DOMAIN_NAME", f"{name}: {item}")
        return items

    def get_address_list(self, name: str, default=None):
        """Destination addresses (members, forwardings, BCC)."""
        self._read(name, "get_address_list")
        items = self.get_list(name, default, lower=True)
        for item in items or ():
            if not is_destination_address(item):
                raise ApiError("INVALID_MAIL", f"{name}: {item}")
        return items

    def get_address(self, name: str, default=None):
        """One destination address; an empty value is returned as ''."""
        self._read(name, "get_address")
        raw = self.get_str(name)
        if raw is None:
            return default
        value = raw.lower()
        if value and not is_destination_address(value):
            raise ApiError("INVALID_MAIL", f"{name}: {value}")
        return value

    def reject_combined(self, replace: str, *pair: str) -> None:
        """A replace-all list may not come with its add/remove pair."""
        if replace in self._values:
            clash = [name for name in pair if name in self._values]
            if clash:
                raise ApiError(
                    "INVALID_PARAM", f"{replace} cannot be combined with {', '.join(clash)}"
                )


def path_domain(value: str) -> str:
    """A domain placeholder from the path, lower-cased and validated."""
    domain = value.strip().lower()
    if not is_domain(domain):
        raise ApiError("INVALID_DOMAIN_NAME", domain[:300])
    return domain


def path_mailbox(value: str) -> str:
    """An address placeholder from the path naming an account, lower-cased and validated."""
    address = value.strip().lower()
    if not is_mailbox_address(address):
        raise ApiError("INVALID_MAIL", address[:300])
    return address


def path_keep_days(value: str) -> int:
    """`…/keep_mailbox_days/<n>`: a non-negative integer (0 keeps the mailbox forever)."""
    if not value.isdigit() or int(value) > MAX_KEEP_DAYS:
        raise ApiError("INVALID_NUMBER", f"keep_mailbox_days must be 0 to {MAX_KEEP_DAYS}")
    return int(value)


def list_change(current: set, replace, add, remove) -> set:
    """The wanted set from a replace-all list (None when absent) or an add/remove pair."""
    if replace is not None:
        return set(replace)
    return (set(current) | set(add or ())) - set(remove or ())
