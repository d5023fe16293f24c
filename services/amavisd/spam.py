"""Spam policy and white/blacklist resources (CONTRACT §4.8):
/spampolicy/{global,domain/<domain>,user/<mail>} and
/wblist/{inbound,outbound}/{whitelist,blacklist}/{global,<domain>,<mail>}."""

from __future__ import annotations

from shared import audit
from shared.envelope import answer
from shared.errors import ApiError
from shared.params import Params
from shared.rules import access, policy_accounts, sender_forms, spam_policies, wblists
from shared.rules.policy_accounts import PolicyAccount


def _record(req, event: str, msg: str, account: PolicyAccount) -> None:
    audit.record(req.context.identity, event, msg, domain=account.domain,
                 username=account.account)  # fmt: skip


class SpamPolicyResource:
    """One of the three path forms; `resolve(caller, *placeholder)` names its account."""

    def __init__(self, config, resolve):
        self._config = config
        self._resolve = resolve

    def _account(self, req, args, write: bool) -> PolicyAccount:
        if write:
            access.require_write(req.context.identity)
        account = self._resolve(req.context.identity, *args.values())
        account.require_exists()
        return account

    def on_get(self, req, resp, **args):
        answer(resp, spam_policies.get(self._account(req, args, write=False)))

    def on_put(self, req, resp, **args):
        account = self._account(req, args, write=True)
        params = Params.from_request(req)
        values = spam_policies.parse(params, self._config.amavisd_ban_rules)
        spam_policies.put(account, values, self._config.amavisd_spam_subject_prefix)
        given = ", ".join(sorted(values)) or "defaults"
        _record(req, "update", f"Set spam policy of {account.account}: {given}", account)
        answer(resp)

    def on_delete(self, req, resp, **args):
        account = self._account(req, args, write=True)
        spam_policies.delete(account)
        _record(req, "delete", f"Delete spam policy of {account.account}", account)
        answer(resp)


class WblistResource:
    def _account(self, req, account: str, write: bool) -> PolicyAccount:
        if write:
            access.require_write(req.context.identity)
        resolved = policy_accounts.resolve(req.context.identity, account)
        resolved.require_exists()
        return resolved

    @staticmethod
    def _addresses(req) -> dict[str, str]:
        params = Params.from_request(req)
        entries = params.get_list("addresses")
        if entries is None:
            raise ApiError("MISSING_PARAM", "addresses is required")
        return sender_forms.classify_all(entries)

    def on_get(self, req, resp, direction, listname, account="global"):
        resolved = self._account(req, account, write=False)
        answer(resp, wblists.entries(resolved.account, direction, listname))

    def on_post(self, req, resp, direction, listname, account="global"):
        resolved = self._account(req, account, write=True)
        addresses = self._addresses(req)
        wblists.add(resolved, direction, listname, addresses)
        msg = f"Add {len(addresses)} address(es) to the {direction} {listname} of "
        _record(req, "update", msg + resolved.account, resolved)
        answer(resp)

    def on_put(self, req, resp, direction, listname, account="global"):
        resolved = self._account(req, account, write=True)
        addresses = self._addresses(req)
        wblists.remove(resolved, direction, listname, addresses)
        msg = f"Remove {len(addresses)} address(es) from the {direction} {listname} of "
        _record(req, "update", msg + resolved.account, resolved)
        answer(resp)

    def on_delete(self, req, resp, direction, listname, account="global"):
        resolved = self._account(req, account, write=True)
        wblists.remove_all(resolved, direction, listname)
        msg = f"Remove every address from the {direction} {listname} of {resolved.account}"
        _record(req, "delete", msg, resolved)
        answer(resp)
