"""Validation of domain names and e-mail addresses (DATA-MODEL.md §3)."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TLD = re.compile(r"^(?:[a-z]{2,25}|xn--[a-z0-9-]{1,59})$")
_MAILBOX_LOCAL = re.compile(r"^[a-z0-9_#&-]+(?:\.[a-z0-9_#&-]+)*$")
_DESTINATION_LOCAL = re.compile(r"^[a-z0-9_#&+=/-]+(?:\.[a-z0-9_#&+=/-]+)*$")
MAX_DOMAIN_LENGTH = 253
MAX_ADDRESS_LENGTH = 254


def is_domain(value: str) -> bool:
    """A lower-case ASCII (IDNA) domain with at least one dot and a 2–25 letter TLD."""
    if not value or len(value) > MAX_DOMAIN_LENGTH or not value.isascii():
        return False
    labels = value.split(".")
    if len(labels) < 2:
        return False
    if not all(_LABEL.match(label) for label in labels):
        return False
    return bool(_TLD.match(labels[-1]))


def _is_address(value: str, local_pattern: re.Pattern) -> bool:
    if not value or len(value) > MAX_ADDRESS_LENGTH or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    return bool(local_pattern.match(local)) and is_domain(domain)


def is_mailbox_address(value: str) -> bool:
    """An address that may name a new account: no `+`, `=`, `/`, no leading/double/trailing dot."""
    return _is_address(value, _MAILBOX_LOCAL)


def is_destination_address(value: str) -> bool:
    """An address that may receive mail (members, forwardings, BCC): `+`, `=`, `/` allowed."""
    return _is_address(value, _DESTINATION_LOCAL)


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1]


def parse_address(value: str):
    """An IP address (IPv4-mapped IPv6 as IPv4), or None."""
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def in_networks(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)
