"""Resources of one domain: /domain/{domain} and /domain/{domain}/keep_mailbox_days/{days}."""

from __future__ import annotations

from shared import audit
from shared.envelope import answer
from shared.errors import ApiError
from shared.params import Params, path_domain
from shared.rules import access
from shared.rules import domains as rules


def keep_days(value: str) -> int:
    if not value.isdigit():
        raise ApiError("INVALID_NUMBER", "keep_mailbox_days must be a non-negative integer")
    return int(value)


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
        access.require_global(caller)
        params = Params.from_request(req)
        rules.create_domain(domain, params, self._config)
        audit.record(caller, "create", f"Create domain: {domain}", domain=domain)
        answer(resp)

    def on_delete(self, req, resp, domain, days: str | None = None):
        domain = path_domain(domain)
        caller = req.context.identity
        access.require_write(caller)
        access.require_global(caller)
        kept = keep_days(days) if days is not None else None
        rules.delete_domain(domain, caller.admin, kept)
        audit.record(caller, "delete", f"Delete domain: {domain}", domain=domain)
        answer(resp)


class DomainKeepDaysResource:
    """DELETE with mailboxes scheduled for removal after <days> days (0 keeps them forever)."""

    def __init__(self, domain_resource: DomainResource):
        self._domain = domain_resource

    def on_delete(self, req, resp, domain, days):
        self._domain.on_delete(req, resp, domain, days)
