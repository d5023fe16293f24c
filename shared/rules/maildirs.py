"""Where a mailbox's mail lies on disk: `storagebasedirectory/storagenode/maildir` (Dovecot's
home). A maildir always lies under its own domain's directory and never shares or nests with
another mailbox's, nor takes the kept mail of a deleted one (CONTRACT §6 "Mailbox location")."""

from __future__ import annotations

import datetime
import re

import peewee

from shared.errors import ApiError
from shared.models.vmail import DeletedMailbox, Mailbox
from shared.params import Params
from shared.validation import domain_of

MAILDIR_FORMATS = frozenset({"maildir", "mdbox", "sdbox"})
# One path segment: what iRedMail's own layout uses (local-part characters, `.`, `-`); nothing
# Dovecot or a shell would read specially (`%`, `~`, `$`, spaces).
MAILDIR_SEGMENT = re.compile(r"^[a-z0-9_#&+=@.-]+$")
FOLDER_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _hashed_maildir(address: str, moment: datetime.datetime) -> str:
    local, domain = address.split("@")
    chars = (local.replace(".", "_") + "___")[:3]
    stamp = moment.strftime("%Y.%m.%d.%H.%M.%S")
    return f"{domain}/{chars[0]}/{chars[1]}/{chars[2]}/{local}-{stamp}/"


def generated_maildir(address: str, now: datetime.datetime, storage: dict[str, str]) -> str:
    """`<domain>/<c1>/<c2>/<c3>/<local>-<timestamp>/` (iRedMail's hashed layout), a second later
    when the address was deleted within the same second and its mail is kept there (a script
    that deletes and re-creates an account must not give the new one the old mail)."""
    kept = {
        row.maildir.lower()
        for row in DeletedMailbox.select(DeletedMailbox.maildir).where(
            DeletedMailbox.username == address
        )
    }
    moment = now
    while absolute_maildir(storage, _hashed_maildir(address, moment)) in kept:
        moment += datetime.timedelta(seconds=1)
    return _hashed_maildir(address, moment)


def storage_columns(config) -> dict[str, str]:
    base, _, node = config.storage_base_directory.rstrip("/").rpartition("/")
    return {"storagebasedirectory": base.lower() or "/", "storagenode": node.lower()}


def absolute_maildir(storage: dict[str, str], maildir: str) -> str:
    """The home Dovecot builds (and `deleted_mailboxes.maildir` records), lower-cased."""
    base = storage["storagebasedirectory"].rstrip("/")
    return f"{base}/{storage['storagenode']}/{maildir}".lower()


def _maildir(value: str, address: str, storage: dict[str, str]) -> str:
    path = value.lower().strip("/")
    domain = domain_of(address)
    parts = path.split("/")
    if len(parts) < 2 or parts[0] != domain:
        raise ApiError("INVALID_PARAM", f"maildir must lie under the domain's directory {domain}/")
    if any(part in (".", "..") or not MAILDIR_SEGMENT.match(part) for part in parts):
        raise ApiError(
            "INVALID_PARAM", "maildir: a relative path of letters, digits and ._#&+=@- segments"
        )
    maildir = path + "/"
    widest = min(Mailbox.maildir.max_length, DeletedMailbox.maildir.max_length)
    if len(absolute_maildir(storage, maildir)) > widest:
        raise ApiError(
            "INVALID_PARAM", f"maildir: the whole path holds at most {widest} characters"
        )
    return maildir


def mailbox_location(params: Params, address: str, storage: dict[str, str]) -> dict[str, str]:
    """The `mailboxFormat`, `mailboxFolder` and `maildir` columns a request gives, validated."""
    columns = {}
    if "mailboxFormat" in params:
        value = params.get_str("mailboxFormat").lower()
        if value not in MAILDIR_FORMATS:
            raise ApiError(
                "INVALID_PARAM", f"mailboxFormat must be one of {sorted(MAILDIR_FORMATS)}"
            )
        columns["mailboxformat"] = value
    if "mailboxFolder" in params:
        value = params.get_str("mailboxFolder", column=Mailbox.mailboxfolder)
        if not FOLDER_NAME.match(value) or value.strip(".") == "":
            raise ApiError("INVALID_PARAM", "mailboxFolder must be a plain folder name")
        columns["mailboxfolder"] = value
    if "maildir" in params:
        columns["maildir"] = _maildir(
            params.get_str("maildir", column=Mailbox.maildir), address, storage
        )
    return columns


def require_free_maildir(address: str, maildir: str, storage: dict[str, str]) -> None:
    """Refuse a maildir that another mailbox of the domain has, or that holds or lies inside
    one (either would read the other's mail), and the kept mail of a deleted mailbox of another
    address. Run inside the write transaction, on the locked domain row: a maildir lies under
    its domain's directory, so only that domain's rows can clash (two indexed lookups)."""
    path = maildir.rstrip("/")
    parts = path.split("/")
    enclosing = {"/".join(parts[:n]) for n in range(1, len(parts) + 1)}
    enclosing |= {prefix + "/" for prefix in enclosing}
    domain = domain_of(address)
    shared_dir = Mailbox.select(Mailbox.username).where(
        (Mailbox.domain == domain)
        & (Mailbox.username != address)
        & (peewee.fn.LOWER(Mailbox.maildir).in_(sorted(enclosing))
           | Mailbox.maildir.startswith(path + "/"))
    )  # fmt: skip
    if shared_dir.exists():
        raise ApiError("INVALID_PARAM", "maildir: another mailbox's mail lies there")
    kept = DeletedMailbox.select(DeletedMailbox.id).where(
        (DeletedMailbox.domain == domain)
        & (DeletedMailbox.username != address)
        & (peewee.fn.LOWER(DeletedMailbox.maildir).in_(
            sorted(absolute_maildir(storage, p) for p in enclosing))
           | DeletedMailbox.maildir.startswith(absolute_maildir(storage, path) + "/"))
    )  # fmt: skip
    if kept.exists():
        raise ApiError("INVALID_PARAM", "maildir: a deleted mailbox's mail is kept there")
