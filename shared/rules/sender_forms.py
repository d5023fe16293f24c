"""The address forms of white/blacklists and greylisting whitelists, normalised as iRedAPD and
Amavisd compare them: lower case, IP addresses in compressed form, networks as their network
address (iRedAPD ignores a network with host bits), a full-length prefix as the bare address.

Wildcard IPs (`192.0.2.*`) are refused: the vendor documents no such form, and iRedAPD's
greylisting never matches them (CONTRACT §4.8).
"""

from __future__ import annotations

import ipaddress

from shared.errors import ApiError
from shared.validation import is_destination_address, is_domain

MAX_BYTES = 255  # amavisd's VARBINARY(255), iredapd's VARCHAR(100..255)
_TLD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")

# form -> priority in amavisd's `mailaddr` (iRedAPD's and iRedAdmin's MAILADDR_PRIORITIES)
MAILADDR_PRIORITIES = {
    "email": 10, "ip": 9, "cidr": 7, "domain": 5, "subdomain": 3, "tld": 2, "catchall": 0,
}  # fmt: skip


def _ip_form(value: str) -> tuple[str, str] | None:
    try:
        if "/" in value:
            network = ipaddress.ip_network(value, strict=False)
            if network.prefixlen < network.max_prefixlen:
                return "cidr", network.compressed
            return "ip", network.network_address.compressed
        return "ip", ipaddress.ip_address(value).compressed
    except ValueError:
        return None


def classify(entry: str) -> tuple[str, str]:
    """(form, normalised text) of one entry; INVALID_PARAM naming it otherwise."""
    value = entry.strip().lower()
    form = _form(value)
    if form is None or len(form[1].encode("utf-8")) > MAX_BYTES:
        raise ApiError("INVALID_PARAM", f"not a valid address, domain or network: {entry[:300]}")
    return form


def _form(value: str) -> tuple[str, str] | None:
    if value == "@.":
        return "catchall", value
    if value.startswith("@."):
        rest = value[2:]
        if is_domain(rest):
            return "subdomain", value
        if rest and set(rest) <= _TLD_CHARS and not rest.startswith("-"):
            return "tld", value
        return None
    if value.startswith("@"):
        return ("domain", value) if is_domain(value[1:]) else None
    if "@" in value:
        return ("email", value) if is_destination_address(value) else None
    if (":" in value or value[:1].isdigit()) and value.isascii() and "%" not in value:
        return _ip_form(value)  # (no IPv6 scope: iRedAPD compares the client address as text)
    return None


def classify_all(entries: list[str]) -> dict[str, str]:
    """{normalised text: form} of every entry (duplicates after normalising fold)."""
    return {text: form for form, text in map(classify, entries)}
