"""Standalone admins (the `admin` table plus `domain_admins`)."""

from __future__ import annotations

from shared.db import vmail_db
from shared.errors import ApiError
from shared.models.vmail import Admin, DomainAdmin
from shared.passwords import check_policy, hash_password
from shared.timeutil import utcnow
from shared.validation import is_mailbox_address


def create_global_admin(username: str, password: str, config, replace: bool = False) -> None:
    """A global admin: an `admin` row and `domain_admins(username, 'ALL')`, in one transaction."""
    username = username.strip().lower()
    if not is_mailbox_address(username):
        raise ApiError("INVALID_MAIL", username)
    check_policy(password, config)
    now = utcnow()
    row = {
        "password": hash_password(password, config.default_password_scheme),
        "passwordlastchange": now,
        "modified": now,
        "active": 1,
    }
    with vmail_db.atomic():
        exists = Admin.select().where(Admin.username == username).exists()
        if exists and not replace:
            raise ApiError("ALREADY_EXISTS", username)
        if exists:
            Admin.update(**row).where(Admin.username == username).execute()
        else:
            Admin.insert(username=username, created=now, **row).execute()
        DomainAdmin.insert(
            username=username, domain="ALL", created=now, modified=now, active=1
        ).on_conflict_ignore().execute()
