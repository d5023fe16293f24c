"""GET /ldif/{domain,catchall,admin,user,alias,maillist}/…: `_data` is the LDIF text of the
entries (`format=json`: `{dn, ldif}` objects), `_warnings` what could not be carried over.
A domain with `with_accounts=yes` streams every account of it, a batch at a time."""

from __future__ import annotations

import orjson

from shared.envelope import CONTENT_TYPE, answer
from shared.errors import ApiError
from shared.params import Params, path_domain, path_mailbox
from shared.rules import access
from shared.rules import ldif as rules
from shared.validation import domain_of


class _Export:
    def __init__(self, config):
        self._config = config
        self._tree = rules.Tree(config.ldap_basedn, config.ldap_domainadmin_dn)

    def _entries(self, hidden) -> rules.Entries:
        return rules.Entries(self._tree, "password" not in hidden, self._config.ldif_amavis_account)

    def _answer(self, req, resp, export: rules.Entries, entries) -> None:
        answer(resp, _shaped(entries, _format(req)), **_warnings(export))


def _format(req) -> str:
    shape = Params.from_request(req).get_str("format") or "ldif"
    if shape not in ("ldif", "json"):
        raise ApiError("INVALID_PARAM", "format must be ldif or json")
    return shape


def _shaped(entries, shape: str):
    if shape == "json":
        return [{"dn": dn, "ldif": attributes} for dn, attributes in entries]
    return rules.ldif_text(entries)


def _warnings(export: rules.Entries) -> dict:
    return {"_warnings": export.warnings} if export.warnings else {}


class DomainExport(_Export):
    def on_get(self, req, resp, domain):
        domain = path_domain(domain)
        access.require_domain(req.context.identity, domain)
        params = Params.from_request(req)
        shape = _format(req)
        export = self._entries(self._config.api_hidden_user_profiles)
        head = rules.domain_entries(export, domain)
        if not params.get_bool("with_accounts", False):
            self._answer(req, resp, export, head)
            return
        resp.content_type = CONTENT_TYPE
        resp.stream = _stream(export, domain, head, shape)


def _stream(export: rules.Entries, domain: str, head: list, shape: str):
    """The envelope around the domain's entries, then its catch-all and accounts, a batch at a
    time; `_warnings` come last, once every entry is written."""
    opening, separator, closing = (b'{"_success":true,"_data":[', b",", b"]") if shape == "json" \
        else (b'{"_success":true,"_data":"', b"", b'"')  # fmt: skip
    yield opening
    written = False

    def chunk(entries) -> bytes:
        nonlocal written
        if not entries:
            return b""
        if shape == "json":
            body = orjson.dumps(_shaped(entries, shape))[1:-1]
            prefix = separator if written else b""
        else:
            body, prefix = orjson.dumps(rules.ldif_text(entries))[1:-1], b""
        written = True
        return prefix + body

    yield chunk(head)
    batches = rules.domain_batches(export, domain)
    next(batches)  # the domain's own entries: read before the answer began (NO_SUCH_DOMAIN)
    for batch in batches:
        yield chunk(batch)
    yield closing
    if export.warnings:
        yield b',"_warnings":' + orjson.dumps(export.warnings)
    yield b"}"


class CatchallExport(_Export):
    def on_get(self, req, resp, domain):
        domain = path_domain(domain)
        access.require_domain(req.context.identity, domain)
        export = self._entries(self._config.api_hidden_user_profiles)
        self._answer(req, resp, export, [rules.catchall_entry(export, domain)])


class UserExport(_Export):
    def on_get(self, req, resp, mail):
        address = path_mailbox(mail)
        access.require_domain(req.context.identity, domain_of(address))
        export = self._entries(self._config.api_hidden_user_profiles)
        entries = rules.user_entries(export, [address])
        if not entries:
            raise ApiError("NO_SUCH_ACCOUNT", address)
        self._answer(req, resp, export, entries)


class AliasExport(_Export):
    """An alias, or on /ldif/maillist an mlmmj list when there is one (else its alias)."""

    def on_get(self, req, resp, mail):
        address = path_mailbox(mail)
        access.require_domain(req.context.identity, domain_of(address))
        export = self._entries(self._config.api_hidden_user_profiles)
        entries = []
        if req.path.startswith("/ldif/maillist/"):
            entries = rules.list_entries(export, [address])
        entries = entries or rules.alias_entries(export, [address])
        if not entries:
            raise ApiError("NO_SUCH_ALIAS", address)
        self._answer(req, resp, export, entries)


class AdminExport(_Export):
    def on_get(self, req, resp, mail):
        address = path_mailbox(mail)
        access.require_global(req.context.identity)
        export = self._entries(self._config.api_hidden_admin_profiles)
        self._answer(req, resp, export, [rules.admin_entry(export, address)])
