"""Who the client is (socket peer, trusted proxies) and whether it may use the API."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time

from shared.models.iredadmin import Setting
from shared.validation import in_networks, parse_address

log = logging.getLogger("mailapi.gateway")
SETTINGS_CACHE_SECONDS = 30


def parse_networks(entries) -> tuple:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            log.warning("ignoring invalid network in the API client list: %r", entry)
    return tuple(networks)


def client_address(peer: str, forwarded_for: str | None, trusted) -> str:
    """The socket peer, or — when the peer is a trusted proxy — the right-most untrusted hop."""
    if not forwarded_for or not in_networks(parse_address(peer), trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not in_networks(parse_address(hop), trusted):
            return hop
    return hops[0] if hops else peer


class AllowList:
    """RESTFUL_API_CLIENTS plus `iredadmin.settings` (global, restful_api_clients), cached."""

    def __init__(self, config, ttl: float = SETTINGS_CACHE_SECONDS):
        self._restrict = config.restrict_api_access
        self._static = parse_networks(config.restful_api_clients)
        self._ttl = ttl
        self._stored: tuple = ()
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _stored_networks(self) -> tuple:
        now = time.monotonic()
        if now - self._loaded_at > self._ttl:
            with self._lock:
                if now - self._loaded_at > self._ttl:
                    self._stored = parse_networks(self._load())
                    self._loaded_at = now
        return self._stored

    @staticmethod
    def _load() -> list:
        row = Setting.get_or_none(
            (Setting.account == "global") & (Setting.k == "restful_api_clients")
        )
        if row is None or not row.v:
            return []
        try:
            value = json.loads(row.v).get("value", [])
        except (ValueError, AttributeError):
            log.warning('iredadmin.settings restful_api_clients is not JSON {"value": [...]}')
            return []
        return value if isinstance(value, list) else [value]

    def allows(self, client: str) -> bool:
        if not self._restrict:
            return True
        address = parse_address(client)
        return in_networks(address, self._static) or in_networks(address, self._stored_networks())
