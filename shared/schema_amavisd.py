"""What iRedMail's `amavisd` schema has beyond tables: the trigger that fills `maddr.email_raw`
(Amavisd's sender address without its `+extension`, for iRedAdmin's quarantine views), and
the global spam policy its installer writes into a new database."""

from __future__ import annotations

from shared import db

# MySQL: one statement, so no DELIMITER is needed (`%%`: the driver formats the statement).
MYSQL_MADDR_TRIGGER = """
CREATE TRIGGER maddr_email_raw BEFORE INSERT ON maddr FOR EACH ROW
SET NEW.email_raw = IF(NEW.email LIKE '%%+%%',
    CONCAT(SUBSTRING_INDEX(NEW.email, '+', 1), '@', SUBSTRING_INDEX(NEW.email, '@', -1)),
    NEW.email)
"""

POSTGRESQL_MADDR_TRIGGER = """
CREATE OR REPLACE FUNCTION maddr_set_email_raw() RETURNS TRIGGER AS $body$
DECLARE
    address text := convert_from(NEW.email, 'UTF8');
BEGIN
    IF position('+' IN address) > 0 THEN
        NEW.email_raw := split_part(address, '+', 1) || '@' || split_part(address, '@', 2);
    ELSE
        NEW.email_raw := address;
    END IF;
    RETURN NEW;
END;
$body$ LANGUAGE plpgsql;
CREATE TRIGGER maddr_email_raw BEFORE INSERT ON maddr
    FOR EACH ROW EXECUTE PROCEDURE maddr_set_email_raw();
"""

# iRedMail's global policy (`@.`): spam is delivered and not quarantined, viruses and banned
# files are quarantined, bad headers are let through, nothing is bypassed.
DEFAULT_GLOBAL_POLICY = {
    "spam_lover": "Y", "virus_lover": "N", "banned_files_lover": "N", "bad_header_lover": "Y",
    "bypass_spam_checks": "N", "bypass_virus_checks": "N", "bypass_banned_checks": "N",
    "bypass_header_checks": "N", "spam_quarantine_to": "", "virus_quarantine_to":
    "virus-quarantine", "banned_quarantine_to": "banned-quarantine",
    "bad_header_quarantine_to": "",
}  # fmt: skip


def create_maddr_trigger(database) -> None:
    """The trigger on a `maddr` table init-db just created (MySQL and PostgreSQL: Amavisd
    stores its log there; the embedded SQLite store has no Amavisd)."""
    if db.is_mysql(database):
        database.execute_sql(MYSQL_MADDR_TRIGGER)
    elif db.is_postgresql(database):
        database.execute_sql(POSTGRESQL_MADDR_TRIGGER)


def seed_global_policy() -> None:
    """The global policy and its `@.` account, as iRedMail's installer writes them into a new
    database (init-db calls it when it made the `policy` table)."""
    from shared.models.amavisd import AmavisdUser, Policy

    with db.amavisd_db.atomic():
        policy_id = Policy.insert(policy_name="@.", **DEFAULT_GLOBAL_POLICY).execute()
        AmavisdUser.insert(email="@.", priority=0, policy_id=policy_id).execute()
