"""The bench's bulk loader: mailboxes (with their self forwardings) written straight into the
database, 5,000 rows a statement batch and a transaction, never through the API and never all
in memory (a million rows take about a minute). Names are "User <n>" for name searches."""

from __future__ import annotations

import itertools

from shared import db
from shared.models.vmail import Forwarding, Mailbox
from shared.passwords import hash_password
from shared.timeutil import utcnow

CHUNK = 5_000
PASSWORD = "Us3r-Passw0rd"
MAILBOX_FIELDS = ("username", "domain", "name", "password", "storagebasedirectory", "storagenode",
                  "maildir", "created", "modified", "passwordlastchange")  # fmt: skip
FORWARDING_FIELDS = ("address", "forwarding", "domain", "dest_domain", "is_forwarding")


def address(domain: str, n: int) -> str:
    return f"u{n}@{domain}"


def load_mailboxes(domain: str, start: int, stop: int) -> None:
    """Mailboxes u<start>…u<stop-1>@domain; the domain row must exist."""
    now = utcnow()
    stored = hash_password(PASSWORD)
    numbers = iter(range(start, stop))
    while chunk := list(itertools.islice(numbers, CHUNK)):
        mailboxes = [
            (address(domain, n), domain, f"User {n}", stored, "/var/vmail", "vmail1",
             f"{domain}/u/{n}/u{n}-2026.01.01.00.00.00/", now, now, now)
            for n in chunk
        ]  # fmt: skip
        forwardings = [(m[0], m[0], domain, domain, 1) for m in mailboxes]
        with db.vmail_db.atomic():
            db.insert_rows(Mailbox, MAILBOX_FIELDS, mailboxes)
            db.insert_rows(Forwarding, FORWARDING_FIELDS, forwardings)
    db.release_connections()
