"""Throttle resources: /throttle/global/{direction} and /throttle/{account}/{direction}.

The route catalogue admits only `inbound` and `outbound` as the direction."""

from __future__ import annotations

from shared import audit
from shared.envelope import answer
from shared.params import Params
from shared.rules import access
from shared.rules import throttles as rules


class ThrottleResource:
    def _target(self, req, account: str, direction: str) -> tuple[str, str, int]:
        resolved, priority = rules.resolve_account(req.context.identity, account)
        return resolved, direction, priority

    def on_get(self, req, resp, direction, account="global"):
        resolved, kind, _ = self._target(req, account, direction)
        answer(resp, rules.get_throttle(resolved, kind))

    def on_post(self, req, resp, direction, account="global"):
        access.require_write(req.context.identity)
        resolved, kind, priority = self._target(req, account, direction)
        values = rules.limit_params(Params.from_request(req))
        rules.set_throttle(resolved, kind, priority, values)
        values = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
        _record(req, "update", f"Set {kind} throttle of {resolved}: {values}", resolved)
        answer(resp)

    def on_delete(self, req, resp, direction, account="global"):
        access.require_write(req.context.identity)
        resolved, kind, _ = self._target(req, account, direction)
        rules.delete_throttle(resolved, kind)
        _record(req, "delete", f"Delete {kind} throttle of {resolved}", resolved)
        answer(resp)


def _record(req, event: str, msg: str, account: str) -> None:
    """Audit a throttle write; `@.` (global) has no domain, `@domain` no user."""
    domain = account.rsplit("@", 1)[-1].lstrip(".")
    audit.record(req.context.identity, event, msg, domain=domain, username=account)
