"""Real Postfix lookups (`postmap -q`) against the test's MariaDB `vmail` database.

The map files carry iRedMail's queries (DATA-MODEL.md §2). `resolve_alias` asks the
virtual_alias_maps in the order iRedMail's main.cf lists them; the first answer wins.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playhouse import db_url

MAPS = {
    "virtual_mailbox_domains":
        "SELECT domain FROM domain WHERE domain='%s' AND backupmx=0 AND active=1",
    "relay_domains":
        "SELECT domain FROM domain WHERE domain='%s' AND backupmx=1 AND active=1 LIMIT 1",
    "transport_maps_user":
        "SELECT mailbox.transport FROM mailbox,domain WHERE mailbox.username='%s'"
        " AND mailbox.domain='%d' AND mailbox.domain=domain.domain AND mailbox.transport<>''"
        " AND mailbox.active=1 AND mailbox.enabledeliver=1 AND domain.backupmx=0"
        " AND domain.active=1",
    "transport_maps_domain":
        "SELECT transport FROM domain WHERE domain='%s' AND active=1",
    "virtual_mailbox_maps":
        "SELECT CONCAT(mailbox.storagenode, '/', mailbox.maildir, '/Maildir/') FROM mailbox,domain"
        " WHERE mailbox.username='%s' AND mailbox.active=1 AND mailbox.enabledeliver=1"
        " AND domain.domain = mailbox.domain AND domain.active=1",
    "virtual_alias_maps":
        "SELECT forwardings.forwarding FROM forwardings WHERE forwardings.address='%s'"
        " AND forwardings.active=1",
    "domain_alias_maps":
        "SELECT forwardings.forwarding FROM forwardings,alias_domain,domain"
        " WHERE alias_domain.alias_domain='%d'"
        " AND forwardings.address=CONCAT('%u', '@', alias_domain.target_domain)"
        " AND alias_domain.target_domain=domain.domain AND forwardings.active=1"
        " AND alias_domain.active=1 AND domain.backupmx=0",
    "catchall_maps":
        "SELECT forwardings.forwarding FROM forwardings WHERE forwardings.address='%d'"
        " AND forwardings.active=1",
    "domain_alias_catchall_maps":
        "SELECT forwardings.forwarding FROM forwardings,alias_domain"
        " WHERE alias_domain.alias_domain='%d' AND forwardings.address=alias_domain.target_domain"
        " AND forwardings.active=1 AND alias_domain.active=1",
    "sender_bcc_maps_domain":
        "SELECT bcc_address FROM sender_bcc_domain WHERE domain='%d'",
    "recipient_bcc_maps_domain":
        "SELECT bcc_address FROM recipient_bcc_domain WHERE domain='%d'",
    "sender_bcc_maps_user":
        "SELECT sender_bcc_user.bcc_address FROM sender_bcc_user,domain"
        " WHERE sender_bcc_user.username='%s' AND sender_bcc_user.domain='%d'"
        " AND sender_bcc_user.domain=domain.domain AND domain.backupmx=0 AND domain.active=1"
        " AND sender_bcc_user.active=1",
    "recipient_bcc_maps_user":
        "SELECT recipient_bcc_user.bcc_address FROM recipient_bcc_user,domain"
        " WHERE recipient_bcc_user.username='%s' AND recipient_bcc_user.domain='%d'"
        " AND recipient_bcc_user.domain=domain.domain AND domain.backupmx=0"
        " AND domain.active=1 AND recipient_bcc_user.active=1",
    "sender_dependent_relayhost_maps":
        "SELECT relayhost FROM sender_relayhost WHERE account='%s' LIMIT 1",
    "sender_login_maps":
        "SELECT mailbox.username FROM mailbox,domain WHERE mailbox.username='%s'"
        " AND mailbox.domain='%d' AND mailbox.domain=domain.domain AND mailbox.enablesmtp=1"
        " AND mailbox.active=1 AND domain.backupmx=0 AND domain.active=1",
}  # fmt: skip
# iRedMail's main.cf: virtual_alias_maps, in this order.
ALIAS_MAPS = ("virtual_alias_maps", "domain_alias_maps", "catchall_maps",
              "domain_alias_catchall_maps")  # fmt: skip


class Postfix:
    def __init__(self, folder: Path, vmail_url: str):
        params = db_url.parse(vmail_url)
        self.folder = folder
        for name, query in MAPS.items():
            (folder / f"{name}.cf").write_text(
                f"hosts = {params.get('host', '127.0.0.1')}:{params.get('port', 3306)}\n"
                f"user = {params.get('user', 'root')}\n"
                f"password = {params.get('passwd', '')}\n"
                f"dbname = {params['database']}\n"
                f"query = {query}\n"
            )

    def lookup(self, table: str, key: str) -> list[str] | None:
        """What Postfix's table answers for the key (None: not found)."""
        result = subprocess.run(
            ["postmap", "-q", key, f"mysql:{self.folder / table}.cf"],
            capture_output=True,
            text=True,
        )
        if result.returncode == 1:
            return None
        assert result.returncode == 0, result.stderr
        return sorted(item.strip() for item in result.stdout.strip().split(","))

    def resolve_alias(self, address: str) -> list[str] | None:
        """virtual_alias_maps as Postfix walks them: the first map with an answer wins.

        Catch-all maps are not asked for an address with a `+extension` (iRedMail's rule)."""
        for table in ALIAS_MAPS:
            if "catchall" in table and "+" in address.split("@")[0]:
                continue
            found = self.lookup(table, address)
            if found is not None:
                return found
        return None


@pytest.fixture
def postfix(config, tmp_path):
    if not config.vmail_db_url.startswith("mysql"):
        pytest.skip("Postfix's mysql: maps need TEST_DB=mysql")
    if not shutil.which("postmap"):
        if os.environ.get("REQUIRE_POSTFIX") == "1":
            pytest.fail("REQUIRE_POSTFIX=1 but postmap is not installed")
        pytest.skip("postfix and postfix-mysql are not installed")
    folder = tmp_path / "postfix"
    folder.mkdir()
    return Postfix(folder, config.vmail_db_url)
