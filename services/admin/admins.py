"""Resources of the admin service: /admin/{mail}, /admins, /verify_password/admin/{mail},
/apikeys, /apikey/{name}. Standalone admins are for global admins only (CONTRACT §4.6); every
admin manages its own API keys (§4.7)."""

from __future__ import annotations

import itertools

from shared import audit, paging
from shared.envelope import answer, stream_list
from shared.errors import ApiError
from shared.params import Params, path_mailbox
from shared.passwords import DUMMY_HASH, verify_password
from shared.rules import access, api_keys
from shared.rules import admins as rules


class AdminResource:
    def __init__(self, config):
        self._config = config

    def on_get(self, req, resp, mail):
        address = path_mailbox(mail)
        access.require_global(req.context.identity)
        answer(resp, rules.admin_profile(address, self._config.api_hidden_admin_profiles))

    def on_post(self, req, resp, mail):
        caller, address = _global_writer(req, mail)
        rules.create_admin(address, Params.from_request(req), self._config)
        audit.record(caller, "create", f"Create admin: {address}", username=address)
        answer(resp)

    def on_put(self, req, resp, mail):
        caller, address = _global_writer(req, mail)
        params = Params.from_request(req)
        rules.update_admin(caller, address, params, self._config)
        summary = f"Update admin: {address} ({audit.changes(params)})"
        audit.record(caller, "update", summary, username=address)
        answer(resp)

    def on_delete(self, req, resp, mail):
        caller, address = _global_writer(req, mail)
        rules.delete_admin(caller, address)
        audit.record(caller, "delete", f"Delete admin: {address}", username=address)
        answer(resp)


def _global_writer(req, mail: str):
    address = path_mailbox(mail)
    caller = req.context.identity
    access.require_global(caller)
    access.require_write(caller)
    return caller, address


class AdminsResource:
    """GET /admins (beyond): profiles, or addresses with email_only=yes; paged or streamed."""

    def __init__(self, config):
        self._config = config

    def on_get(self, req, resp):
        access.require_global(req.context.identity)
        params = Params.from_request(req)
        sides = rules.admin_lists(params)
        hidden = self._config.api_hidden_admin_profiles
        email_only = params.get_bool("email_only", False)
        if paging.wants_page(params):
            rows, extra = paging.merged_page(sides, params, dict)
            answer(resp, _shown(rows, email_only, hidden), **extra)
            return
        rows = paging.merged_stream(sides, params)
        batches = iter(lambda: list(itertools.islice(rows, paging.MAX_PAGE)), [])
        shown = itertools.chain.from_iterable(_shown(b, email_only, hidden) for b in batches)
        resp.content_type = "application/json; charset=utf-8"
        resp.stream = stream_list(shown)


def _shown(rows: list[dict], email_only: bool, hidden) -> list:
    if email_only:
        return [row["username"] for row in rows]
    return rules.profiles(rows, hidden)


class VerifyAdminPasswordResource:
    """Global admins only; `_success` says whether the password matches. An unknown or
    disabled admin is INVALID_CREDENTIALS too (never saying which)."""

    def on_post(self, req, resp, mail):
        address = path_mailbox(mail)
        access.require_global(req.context.identity)
        password = Params.from_request(req).get_str("password", required=True)
        stored = rules.stored_password(address)
        if not verify_password(password, stored or DUMMY_HASH) or stored is None:
            raise ApiError("INVALID_CREDENTIALS")
        answer(resp)


class ApiKeysResource:
    def on_get(self, req, resp):
        answer(resp, api_keys.list_keys(req.context.identity, Params.from_request(req)))


class ApiKeyResource:
    def on_post(self, req, resp, name):
        caller = req.context.identity
        access.require_write(caller)
        created = api_keys.create_key(caller, name, Params.from_request(req))
        summary = f"Create API key: {created['name']} of {created['owner']}"
        audit.record(caller, "create", summary, username=created["owner"])
        answer(resp, created)

    def on_delete(self, req, resp, name):
        caller = req.context.identity
        access.require_write(caller)
        owner = api_keys.revoke_key(caller, name, Params.from_request(req))
        audit.record(caller, "delete", f"Revoke API key: {name} of {owner}", username=owner)
        answer(resp)
