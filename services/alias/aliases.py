"""Resources of the alias service: /alias/{mail}…, /aliases/{domain}, /maillist/{mail}."""

from __future__ import annotations

from shared import audit, paging
from shared.db import stream_rows
from shared.envelope import answer, stream_list
from shared.errors import ApiError
from shared.models.vmail import Alias, Domain
from shared.params import Params, path_domain, path_mailbox
from shared.rules import access
from shared.rules import aliases as rules
from shared.validation import domain_of


class AliasResource:
    """An alias; also served as /maillist/{mail} (the LDAP edition's names, backed by an alias)."""

    def on_get(self, req, resp, mail):
        address = path_mailbox(mail)
        access.require_domain(req.context.identity, domain_of(address))
        answer(resp, rules.alias_profile(address))

    def on_post(self, req, resp, mail):
        address = access.writable_account(req.context.identity, mail)
        rules.create_alias(req.context.identity, address, Params.from_request(req))
        audit.record_account(req.context.identity, "create", f"Create alias: {address}", address)
        answer(resp)

    def on_put(self, req, resp, mail):
        address = access.writable_account(req.context.identity, mail)
        params = Params.from_request(req)
        rules.update_alias(req.context.identity, address, params)
        summary = f"Update alias: {address} ({audit.changes(params)})"
        audit.record_account(req.context.identity, "update", summary, address)
        answer(resp)

    def on_delete(self, req, resp, mail):
        address = access.writable_account(req.context.identity, mail)
        rules.delete_alias(address)
        audit.record_account(req.context.identity, "delete", f"Delete alias: {address}", address)
        answer(resp)


class AliasChangeEmailResource:
    def on_post(self, req, resp, mail, new_mail):
        address = access.writable_account(req.context.identity, mail)
        new = path_mailbox(new_mail)
        rules.rename_alias(address, new)
        audit.record_account(
            req.context.identity, "update", f"Rename alias: {address} -> {new}", new
        )
        answer(resp)


def _address(row: dict) -> str:
    return row["address"]


class AliasesResource:
    def on_get(self, req, resp, domain):
        domain = path_domain(domain)
        access.require_domain(req.context.identity, domain)
        params = Params.from_request(req)
        if not Domain.select().where(Domain.domain == domain).exists():
            raise ApiError("NO_SUCH_DOMAIN", domain)
        query = rules.aliases_query(domain, params)
        to_json = dict
        if params.get_bool("email_only", False):
            query = query.select(Alias.address)
            to_json = _address
        if paging.wants_page(params):
            rows, extra = paging.page(query, rules.ALIAS_SEARCH_FIELDS, params, to_json)
            answer(resp, rows, **extra)
            return
        resp.content_type = "application/json; charset=utf-8"
        query = paging.searched(query, rules.ALIAS_SEARCH_FIELDS, params)
        resp.stream = stream_list(stream_rows(query), key=to_json)
