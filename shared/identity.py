"""The caller's identity, signed by the gateway and verified by every service (HMAC-SHA256)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time

HEADER_PREFIX = "X-Mailapi-"
FIELDS = ("Admin", "Role", "Domains", "Scoped", "Access", "Client-Ip", "Key", "Timestamp")
SIGNATURE_HEADER = HEADER_PREFIX + "Signature"
GLOBAL, DOMAIN_ADMIN = "global", "domain"


@dataclasses.dataclass(frozen=True)
class Identity:
    admin: str
    role: str  # GLOBAL or DOMAIN_ADMIN
    domains: frozenset[str] = frozenset()
    client_ip: str = ""
    read_only: bool = False
    api_key: str = ""  # the key's name when one was used
    # An API key with its own domains: `domains` is all it may touch, whatever its owner
    # manages (otherwise `domains` is what the owner managed when the identity was read).
    scoped: bool = False

    @property
    def is_global(self) -> bool:
        return self.role == GLOBAL

    def manages(self, domain: str) -> bool:
        return self.is_global or domain in self.domains


def _payload(method: str, target: str, body: bytes, values: dict[str, str]) -> bytes:
    digest = hashlib.sha256(body or b"").hexdigest()
    parts = [method.upper(), target, digest] + [values[name] for name in FIELDS]
    return "\n".join(parts).encode()


def sign(
    identity: Identity, method: str, target: str, secret: str, body: bytes = b"", now=None
) -> dict[str, str]:
    """Headers that carry `identity` for the request `method target` (path and query) whose
    body is `body`: a signed request cannot be replayed with another body."""
    values = {
        "Admin": identity.admin,
        "Role": identity.role,
        "Domains": ",".join(sorted(identity.domains)),
        "Scoped": "yes" if identity.scoped else "",
        "Access": "ro" if identity.read_only else "rw",
        "Client-Ip": identity.client_ip,
        "Key": identity.api_key,
        "Timestamp": str(int(now if now is not None else time.time())),
    }
    payload = _payload(method, target, body, values)
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    headers = {HEADER_PREFIX + name: value for name, value in values.items()}
    headers[SIGNATURE_HEADER] = mac
    return headers


def verify(
    get_header, method: str, target: str, body: bytes, secret: str, max_age: int
) -> Identity | None:
    """The identity of a signed request, or None when the signature is missing, wrong or old."""
    signature = get_header(SIGNATURE_HEADER)
    if not signature or not secret:
        return None
    values = {name: get_header(HEADER_PREFIX + name) or "" for name in FIELDS}
    expected = hmac.new(secret.encode(), _payload(method, target, body, values), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature):
        return None
    try:
        age = abs(time.time() - int(values["Timestamp"]))
    except ValueError:
        return None
    if age > max_age or values["Role"] not in (GLOBAL, DOMAIN_ADMIN):
        return None
    return Identity(
        admin=values["Admin"],
        role=values["Role"],
        domains=frozenset(d for d in values["Domains"].split(",") if d),
        client_ip=values["Client-Ip"],
        read_only=values["Access"] == "ro",
        api_key=values["Key"],
        scoped=values["Scoped"] == "yes",
    )
