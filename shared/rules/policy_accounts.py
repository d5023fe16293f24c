"""The accounts that mail-server policies are kept for (throttles, spam policies,
white/blacklists, greylisting): `global` (`@.`), a domain (`@domain`) and a mailbox
(`user@domain`), named in the path as `global`, `<domain>` and `<mail>`."""

from __future__ import annotations

import dataclasses

from shared.errors import ApiError
from shared.identity import Identity
from shared.models.vmail import Domain, Mailbox
from shared.rules import access
from shared.validation import domain_of, is_domain, is_mailbox_address

GLOBAL_ACCOUNT = "@."


@dataclasses.dataclass(frozen=True)
class PolicyAccount:
    scope: str  # "global", "domain" or "user"
    account: str  # the `account` / `email` / `policy_name` value: `@.`, `@domain`, `user@domain`

    @property
    def domain(self) -> str:
        """The domain the account belongs to ('' for global)."""
        return "" if self.scope == "global" else self.account.rsplit("@", 1)[-1]

    def require_exists(self) -> None:
        """NO_SUCH_DOMAIN / NO_SUCH_ACCOUNT unless vmail has the domain or mailbox."""
        if self.scope == "domain":
            if not Domain.select().where(Domain.domain == self.domain).exists():
                raise ApiError("NO_SUCH_DOMAIN", self.domain)
        elif (
            self.scope == "user"
            and not Mailbox.select().where(Mailbox.username == self.account).exists()
        ):
            raise ApiError("NO_SUCH_ACCOUNT", self.account)


GLOBAL = PolicyAccount("global", GLOBAL_ACCOUNT)


def global_account(caller: Identity) -> PolicyAccount:
    access.require_global(caller)
    return GLOBAL


def domain_account(caller: Identity, placeholder: str) -> PolicyAccount:
    domain = placeholder.strip().lower()
    if not is_domain(domain):
        raise ApiError("INVALID_DOMAIN_NAME", domain[:300])
    access.require_domain(caller, domain)
    return PolicyAccount("domain", "@" + domain)


def user_account(caller: Identity, placeholder: str) -> PolicyAccount:
    address = placeholder.strip().lower()
    if not is_mailbox_address(address):
        raise ApiError("INVALID_MAIL", address[:300])
    access.require_domain(caller, domain_of(address))
    return PolicyAccount("user", address)


def resolve(caller: Identity, placeholder: str) -> PolicyAccount:
    """`global`, an address (has `@`) or a domain, when the caller may see it; the existence
    check is the caller's (`require_exists`), after the access check, so a domain admin never
    learns whether another tenant's account exists."""
    if placeholder == "global":
        return global_account(caller)
    if "@" in placeholder:
        return user_account(caller, placeholder)
    return domain_account(caller, placeholder)
