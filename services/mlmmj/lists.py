"""Resources of the mlmmj service: /ml/{mail} and /mls/{domain}."""

from __future__ import annotations

from shared import audit
from shared.envelope import answer
from shared.params import Params, path_domain, path_mailbox
from shared.rules import access
from shared.rules import mlmmj_lists as rules
from shared.validation import domain_of


class ListResource:
    def on_get(self, req, resp, mail):
        address = path_mailbox(mail)
        access.require_domain(req.context.identity, domain_of(address))
        params = Params.from_request(req)
        answer(resp, rules.profile(address, params.get_bool("with_subscribers", False)))

    def on_post(self, req, resp, mail):
        address = access.writable_account(req.context.identity, mail)
        rules.create(address, Params.from_request(req))
        msg = f"Create mailing list: {address}"
        audit.record_account(req.context.identity, "create", msg, address)
        answer(resp)

    def on_put(self, req, resp, mail):
        address = access.writable_account(req.context.identity, mail)
        params = Params.from_request(req)
        rules.update(address, params)
        summary = f"Update mailing list: {address} ({audit.changes(params)})"
        audit.record_account(req.context.identity, "update", summary, address)
        answer(resp)

    def on_delete(self, req, resp, mail):
        address = access.writable_account(req.context.identity, mail)
        keep = Params.from_request(req).get_bool("keep_archive", True)
        rules.delete(address, keep)
        msg = f"Delete mailing list: {address}" + ("" if keep else " (and its archive)")
        audit.record_account(req.context.identity, "delete", msg, address)
        answer(resp)


class DomainListsResource:
    def on_get(self, req, resp, domain):
        domain = path_domain(domain)
        access.require_domain(req.context.identity, domain)
        params = Params.from_request(req)
        answer(resp, rules.domain_lists(domain, params.get_bool("email_only", False)))
