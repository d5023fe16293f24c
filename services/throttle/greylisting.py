"""Greylisting resources (CONTRACT §4.8): /greylisting/all, /greylisting/{global,<domain>,<mail>}
(settings), …/whitelists, and /greylisting/whitelist_spf_domains."""

from __future__ import annotations

from shared import audit
from shared.envelope import answer
from shared.params import Params
from shared.rules import access, policy_accounts
from shared.rules import greylisting as rules
from shared.rules.policy_accounts import PolicyAccount


def _account(req, account: str, write: bool) -> PolicyAccount:
    if write:
        access.require_write(req.context.identity)
    resolved = policy_accounts.resolve(req.context.identity, account)
    resolved.require_exists()
    return resolved


def _record(req, event: str, msg: str, account: PolicyAccount) -> None:
    audit.record(req.context.identity, event, msg, domain=account.domain,
                 username=account.account)  # fmt: skip


class GreylistingAllResource:
    def on_get(self, req, resp):
        answer(resp, rules.all_settings(req.context.identity))


class GreylistingResource:
    def on_get(self, req, resp, account="global"):
        answer(resp, rules.get_setting(_account(req, account, write=False).account))

    def on_post(self, req, resp, account="global"):
        resolved = _account(req, account, write=True)
        active = rules.status_param(Params.from_request(req))
        rules.set_setting(resolved, active)
        word = "Enable" if active else "Disable"
        _record(req, "update", f"{word} greylisting for {resolved.account}", resolved)
        answer(resp)

    def on_delete(self, req, resp, account="global"):
        resolved = _account(req, account, write=True)
        rules.delete_setting(resolved.account)
        _record(req, "delete", f"Delete the greylisting setting of {resolved.account}", resolved)
        answer(resp)


class GreylistingWhitelistsResource:
    def on_get(self, req, resp, account="global"):
        answer(resp, rules.whitelists(_account(req, account, write=False).account))

    def on_post(self, req, resp, account="global"):
        resolved = _account(req, account, write=True)
        added, removed = rules.change_whitelists(resolved.account, Params.from_request(req))
        msg = f"Greylisting whitelists of {resolved.account}: {added} added, {removed} removed"
        _record(req, "update", msg, resolved)
        answer(resp)


class SpfDomainsResource:
    def on_get(self, req, resp):
        policy_accounts.global_account(req.context.identity)
        answer(resp, rules.spf_domains())

    def on_post(self, req, resp):
        access.require_write(req.context.identity)
        account = policy_accounts.global_account(req.context.identity)
        added, removed = rules.change_spf_domains(Params.from_request(req))
        msg = f"SPF-whitelisted sender domains: {added} added, {removed} removed"
        _record(req, "update", msg, account)
        answer(resp)
