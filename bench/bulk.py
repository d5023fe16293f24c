"""The bench's bulk loader: mailboxes (with their self forwardings) written straight into the
database, 5,000 rows a batch and a transaction (COPY on PostgreSQL), never through the API and
never all in memory. Names are "User <n>" for name searches."""

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


def _copy_rows(model, fields, rows) -> None:
    """PostgreSQL's COPY (psycopg sends rows, not one INSERT each)."""
    columns = ", ".join(f'"{getattr(model, f).column_name}"' for f in fields)
    cursor = db.vmail_db.connection().cursor()
    with cursor.copy(f'COPY "{model._meta.table_name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


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
            write = _copy_rows if db.is_postgresql(db.vmail_db) else db.insert_rows
            write(Mailbox, MAILBOX_FIELDS, mailboxes)
            write(Forwarding, FORWARDING_FIELDS, forwardings)
    # Fresh planner statistics, as autovacuum (PostgreSQL) and InnoDB's automatic recalculation
    # give a server after a bulk change; without them PostgreSQL plans a million-row table as
    # an empty one (a profile read took 14 ms instead of 0.1 ms). SQLite keeps no statistics.
    if db.is_postgresql(db.vmail_db):
        db.vmail_db.execute_sql("ANALYZE mailbox, forwardings")
    elif db.is_mysql(db.vmail_db):
        db.vmail_db.execute_sql("ANALYZE TABLE mailbox, forwardings").fetchall()
    db.release_connections()
