"""Resources of the domain service: /domains, /domain/{domain}, …/keep_mailbox_days, /admins."""

from __future__ import annotations

from shared import audit, paging
from shared.db import stream_rows
from shared.envelope import answer, stream_list
from shared.params import Params, path_domain, path_keep_days
from shared.rules import access, admins
from shared.rules import domains as rules
from shared.rules.domain_admins import update_domain_admins


class DomainsResource:
    """GET /domains: profiles (streamed), or names with name_only=yes."""

    def on_get(self, req, resp):
        params = Params.from_request(req)
        query = rules.domains_query(req.context.identity, params)
        to_json = rules.row_to_profile
        if params.get_bool("name_only", False):
            query = query.select(rules.Domain.domain)
            to_json = _domain_name
        if paging.wants_page(params):
            rows, extra = paging.page(query, rules.DOMAIN_SEARCH_FIELDS, params, to_json)
            answer(resp, rows, **extra)
            return
        resp.content_type = "application/json; charset=utf-8"
        query = paging.searched(query, rules.DOMAIN_SEARCH_FIELDS, params)
        resp.stream = stream_list(stream_rows(query), key=to_json)


def _domain_name(row: dict) -> str:
    return row["domain"]


class DomainResource:
    def __init__(self, config):
        self._config = config

    def on_get(self, req, resp, domain):
        domain = path_domain(domain)
        access.require_domain(req.context.identity, domain)
        answer(resp, rules.domain_profile(domain))

    def on_post(self, req, resp, domain):
        domain = path_domain(domain)
        caller = req.context.identity
        access.require_write(caller)
        params = Params.from_request(req)
        rules.create_domain(caller, domain, params, self._config)
        audit.record(caller, "create", f"Create domain: {domain}", domain=domain)
        answer(resp)

    def on_put(self, req, resp, domain):
        caller = req.context.identity
        domain = access.writable_domain(caller, domain)
        params = Params.from_request(req)
        rules.update_domain(caller, domain, params, self._config)
        audit.record(caller, "update", f"Update domain: {domain} ({audit.changes(params)})",
                     domain=domain)  # fmt: skip
        answer(resp)

    def on_delete(self, req, resp, domain, days: str | None = None):
        domain = path_domain(domain)
        caller = req.context.identity
        access.require_write(caller)
        if not caller.is_global:
            access.require_domain(caller, domain)
            admins.require_domain_creator(caller)
        kept = path_keep_days(days) if days is not None else None
        rules.delete_domain(domain, caller.admin, kept)
        audit.record(caller, "delete", f"Delete domain: {domain}", domain=domain)
        answer(resp)


class DomainKeepDaysResource:
    """DELETE with mailboxes scheduled for removal after <days> days (0 keeps them forever)."""

    def __init__(self, domain_resource: DomainResource):
        self._domain = domain_resource

    def on_delete(self, req, resp, domain, days):
        self._domain.on_delete(req, resp, domain, days)


class DomainAdminsResource:
    def on_put(self, req, resp, domain):
        caller = req.context.identity
        domain = access.writable_domain(caller, domain)
        params = Params.from_request(req)
        update_domain_admins(caller, domain, params)
        audit.record(caller, "update", f"Update admins of domain: {domain}", domain=domain)
        answer(resp)
