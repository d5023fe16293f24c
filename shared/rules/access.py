"""Who may touch what: global admins everything, domain admins their own domains."""

from __future__ import annotations

from shared.errors import ApiError
from shared.identity import Identity


def require_write(caller: Identity) -> None:
    if caller.read_only:
        raise ApiError("PERMISSION_DENIED", "this API key is read-only")


def require_domain(caller: Identity, domain: str) -> None:
    if not caller.manages(domain):
        raise ApiError("PERMISSION_DENIED", f"not an admin of {domain}")


def require_global(caller: Identity) -> None:
    if not caller.is_global:
        raise ApiError("PERMISSION_DENIED", "global admins only")
