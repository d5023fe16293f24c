"""Small helpers shared by the tests."""

from __future__ import annotations

from shared import db
from shared.models.vmail import Domain, DomainAdmin, Mailbox
from shared.passwords import hash_password
from shared.timeutil import utcnow


def rows(query) -> list[dict]:
    """The query's rows as dicts (and the connection back to its pool)."""
    result = list(query.dicts())
    db.release_connections()
    return result


def run_together(*functions, timeout: float = 10) -> None:
    """Start each function in a thread of its own, then wait for all of them."""
    import threading

    threads = [threading.Thread(target=function) for function in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)


def ok(response) -> None:
    """An envelope that must be a plain success."""
    assert response.json == {"_success": True}, response.json


def failure(response) -> str:
    """The `_msg` of an envelope that must be a failure."""
    body = response.json
    assert body["_success"] is False, body
    assert set(body) <= {"_success", "_msg", "_detail"}, body
    assert response.content_type == "application/json"
    return body["_msg"]


def add_domain(domain: str, **columns) -> None:
    now = utcnow()
    Domain.insert(domain=domain, created=now, modified=now, **columns).execute()
    db.release_connections()


def add_mailbox(username: str, password: str = "Passw0rd!", **columns) -> None:
    now = utcnow()
    local, domain = username.split("@")
    values = {
        "password": hash_password(password),
        "domain": domain,
        "storagebasedirectory": "/var/vmail",
        "storagenode": "vmail1",
        "maildir": f"{domain}/{local[0]}/{local}-2026.01.01.00.00.00/",
        "created": now,
        "modified": now,
        "passwordlastchange": now,
    }
    values.update(columns)
    Mailbox.insert(username=username, **values).execute()
    db.release_connections()


def add_domain_admin(username: str, domain: str) -> None:
    now = utcnow()
    DomainAdmin.insert(username=username, domain=domain, created=now, modified=now).execute()
    db.release_connections()


def add_user_rows(address: str, **columns) -> None:
    """A working mailbox as DATA-MODEL.md §2 defines it: the mailbox row plus its self row."""
    from shared.models.vmail import Forwarding

    add_mailbox(address, **columns)
    domain = address.split("@")[1]
    Forwarding.insert(
        address=address, forwarding=address, domain=domain, dest_domain=domain, is_forwarding=1
    ).execute()
    db.release_connections()
