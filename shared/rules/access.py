"""Who may touch what: global admins everything, domain admins their own domains."""

from __future__ import annotations

from shared.errors import ApiError
from shared.identity import Identity
from shared.params import path_domain, path_mailbox
from shared.validation import domain_of


def require_write(caller: Identity) -> None:
    if caller.read_only:
        raise ApiError("PERMISSION_DENIED", "this API key is read-only")


def require_domain(caller: Identity, domain: str) -> None:
    if not caller.manages(domain):
        raise ApiError("PERMISSION_DENIED", f"not an admin of {domain}")


def require_global(caller: Identity) -> None:
    if not caller.is_global:
        raise ApiError("PERMISSION_DENIED", "global admins only")


def writable_account(caller: Identity, placeholder: str) -> str:
    """The address from the path, when the caller may change accounts of its domain."""
    address = path_mailbox(placeholder)
    require_write(caller)
    require_domain(caller, domain_of(address))
    return address


def writable_domain(caller: Identity, placeholder: str) -> str:
    """The domain from the path, when the caller may change it."""
    domain = path_domain(placeholder)
    require_write(caller)
    require_domain(caller, domain)
    return domain
