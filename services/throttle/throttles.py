"""Throttle resources: /throttle/global/{direction} and /throttle/{account}/{direction}."""

from __future__ import annotations

from shared import audit
from shared.envelope import answer
from shared.params import Params
from shared.rules import access
from shared.rules import throttles as rules


class ThrottleResource:
    def _target(self, req, account: str, direction: str) -> tuple[str, str, int]:
        kind = rules.direction_of(direction)
        resolved, priority = rules.resolve_account(req.context.identity, account)
        return resolved, kind, priority

    def on_get(self, req, resp, direction, account="global"):
        resolved, kind, _ = self._target(req, account, direction)
        answer(resp, rules.get_throttle(resolved, kind))

    def on_post(self, req, resp, direction, account="global"):
        access.require_write(req.context.identity)
        resolved, kind, priority = self._target(req, account, direction)
        params = Params.from_request(req)
        rules.set_throttle(resolved, kind, priority, params)
        values = ", ".join(f"{k}={params.get_str(k)}" for k in sorted(params.names()))
        audit.record(req.context.identity, "update", f"Set {kind} throttle of {resolved}: {values}",
                     domain=resolved.rsplit("@", 1)[-1].lstrip("."), username=resolved)  # fmt: skip
        answer(resp)

    def on_delete(self, req, resp, direction, account="global"):
        access.require_write(req.context.identity)
        resolved, kind, _ = self._target(req, account, direction)
        rules.delete_throttle(resolved, kind)
        audit.record(req.context.identity, "delete", f"Delete {kind} throttle of {resolved}",
                     domain=resolved.rsplit("@", 1)[-1].lstrip("."), username=resolved)  # fmt: skip
        answer(resp)
