"""Real Postfix lookups (`postmap -q`) against the test's `vmail` database, MariaDB or PostgreSQL.

The lookup tables are iRedMail's own (`upstream/iredmail/samples/postfix/{mysql,pgsql}/*.cf`)
and the fixture's main.cf is iRedMail's `main.cf.mysql` or `main.cf.pgsql`, both with the
installer's placeholders filled in (and `proxy:` left out: no proxymap daemon runs). On
PostgreSQL they log in as the run's read-only `vmail` role, as iRedMail's Postfix does.
postmap and postconf run with that configuration directory (`-c`), so the machine's own Postfix
set-up plays no part, and anything they print on stderr (`fatal:`, `warning:`) fails the lookup:
an exit code of 1 means "not found" only when Postfix said nothing else.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playhouse import db_url

from tests.upstream import fill_placeholders, samples_for, server_backend


class PostfixError(AssertionError):
    """postmap or postconf failed (as opposed to a key that is not in the table)."""


# The Debian package of Postfix's map type.
PLUGINS = {"mysql": "postfix-mysql", "pgsql": "postfix-pgsql", "ldap": "postfix-ldap"}


class Postfix:
    def __init__(self, folder: Path, map_type: str, values: dict[str, str], samples: Path):
        """iRedMail's `map_type` tables (mysql, pgsql, ldap) and main.cf, `values` filled in."""
        self.map_type = map_type
        self.folder = folder
        values = {**values, "PH_POSTFIX_LOOKUP_DIR": str(folder)}
        for table in sorted((samples / "postfix" / map_type).glob("*.cf")):
            text = fill_placeholders(table.read_text(), values)
            if "server_host_line" in values:  # one URL (ldapi://…), not the sample's host:port
                text = re.sub(r"(?m)^server_host\s*=.*$", values["server_host_line"], text)
            (folder / table.name).write_text(text)
        self.config_dir = folder / "etc"
        self.config_dir.mkdir()
        main_cf = fill_placeholders(
            (samples / "postfix" / f"main.cf.{map_type}").read_text(), values
        )
        (self.config_dir / "main.cf").write_text(
            # A fixed host name: Postfix would otherwise ask DNS for this machine's name.
            "compatibility_level = 3.6\nmyhostname = mail.test.invalid\n"
            + main_cf.replace(f"proxy:{map_type}:", f"{map_type}:")
        )
        (self.config_dir / "master.cf").write_text("")  # no daemons: lookups only

    @classmethod
    def sql(cls, folder: Path, vmail_url: str, samples: Path, login: tuple[str, str]) -> Postfix:
        params = db_url.parse(vmail_url)
        map_type = server_backend(vmail_url)
        default_port = 3306 if map_type == "mysql" else 5432
        values = {
            "PH_SQL_SERVER_ADDRESS": params.get("host", "127.0.0.1"),
            "PH_SQL_SERVER_PORT": str(params.get("port", default_port)),
            "PH_VMAIL_DB_BIND_USER": login[0],
            "PH_VMAIL_DB_BIND_PASSWD": login[1],
            "PH_VMAIL_DB_NAME": params["database"],
        }
        return cls(folder, map_type, values, samples)

    @classmethod
    def ldap(cls, folder: Path, slapd, samples: Path) -> Postfix:
        """iRedMail's LDAP tables, asking `slapd` (tests/slapd.py) on its unix socket."""
        from tests.slapd import BASE_DN, ROOT_DN, ROOT_PW

        values = {
            "server_host_line": f"server_host = {slapd.url}",
            "PH_LDAP_BIND_VERSION": "3",
            "PH_LDAP_BINDDN": ROOT_DN,
            "PH_LDAP_BINDPW": ROOT_PW,
            "PH_LDAP_BASEDN": BASE_DN,
            "PH_LDAP_ATTR_GROUP_USERS": "Users",
        }
        return cls(folder, "ldap", values, samples)

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [args[0], "-c", str(self.config_dir), *args[1:]], capture_output=True, text=True
        )
        if result.stderr.strip() or result.returncode not in (0, 1):
            raise PostfixError(f"{' '.join(args)}: exit {result.returncode}: {result.stderr}")
        return result

    def lookup(self, table: str, key: str) -> list[str] | None:
        """What the table `table` (a .cf name, or a Postfix map) answers (None: not found)."""
        map_name = table if ":" in table else f"{self.map_type}:{self.folder / table}.cf"
        result = self._run("postmap", "-q", key, map_name)
        if result.returncode == 1:
            return None
        return sorted(item.strip() for item in result.stdout.strip().split(","))

    def maps(self, parameter: str) -> list[str]:
        """The lookup tables a main.cf parameter lists, in order (as postconf reads main.cf)."""
        value = self._run("postconf", "-h", parameter).stdout
        return [item for item in value.replace(",", " ").split() if ":" in item]

    def resolve_alias(self, address: str) -> list[str] | None:
        """virtual_alias_maps as Postfix walks them: the first map with an answer wins."""
        for map_name in self.maps("virtual_alias_maps"):
            found = self.lookup(map_name, address)
            if found is not None:
                return found
        return None


def postfix_samples(map_type: str = "mysql") -> Path:
    plugin = Path(f"/usr/lib/postfix/postfix-{map_type}.so")
    installed = shutil.which("postmap") and plugin.exists()
    return samples_for(bool(installed), f"postfix and {PLUGINS[map_type]}", "REQUIRE_POSTFIX")


@pytest.fixture
def postfix(config, tmp_path, request):
    if config.vmail_db_url.startswith("sqlite"):
        pytest.skip("Postfix's maps need TEST_DB=mysql or TEST_DB=pgsql")
    login = request.getfixturevalue("database_roles")["vmail"]
    folder = tmp_path / "postfix"
    folder.mkdir()
    samples = postfix_samples(server_backend(config.vmail_db_url))
    return Postfix.sql(folder, config.vmail_db_url, samples, login)


class Resolver:
    """What Postfix does with one address, asked table by table: where the mail ends up
    (virtual aliases expanded as Postfix expands them), and the per-address maps."""

    def __init__(self, postfix: Postfix, storage_base: str):
        self.postfix = postfix
        self.storage_base = storage_base.rstrip("/")

    def first(self, parameter: str, *keys: str) -> list[str] | None:
        """The first answer of the parameter's tables, key form by key form (user@domain, then
        the fallbacks), as Postfix's mail_addr_find walks them."""
        maps = self.postfix.maps(parameter)
        for key in keys:
            for map_name in maps:
                found = self.postfix.lookup(map_name, key)
                if found is not None:
                    return found
        return None

    def _aliases(self, address: str) -> list[str] | None:
        domain = address.rsplit("@", 1)[-1]
        return self.first("virtual_alias_maps", address, "@" + domain)

    def _final(self, address: str) -> str:
        domain = address.rsplit("@", 1)[-1]
        box = self.first("virtual_mailbox_maps", address)
        if box is not None:
            path = box[0]
            if not path.startswith("/"):  # SQL: relative to the storage base
                path = f"{self.storage_base}/{path}"
            return f"mailbox {path}"
        if self.first("virtual_mailbox_domains", domain) is not None:
            return f"rejected {address}"  # a local domain without such a recipient
        return f"remote {address}"

    def deliveries(self, address: str, depth: int = 0) -> frozenset[str]:
        """Every final destination: `mailbox <path>`, `remote <address>`, `rejected <address>`."""
        if depth > 20:
            raise AssertionError(f"alias loop at {address}")
        targets = self._aliases(address)
        if targets is None:
            return frozenset({self._final(address)})
        found: set[str] = set()
        for target in targets:
            if target == address:  # expands to itself: delivered, not expanded again
                found.add(self._final(target))
            else:
                found |= self.deliveries(target, depth + 1)
        return frozenset(found)

    def sender_maps(self, address: str) -> dict:
        domain = address.rsplit("@", 1)[-1]
        keys = (address, "@" + domain)
        return {
            "sender_bcc": self.first("sender_bcc_maps", *keys),
            "recipient_bcc": self.first("recipient_bcc_maps", *keys),
            "relayhost": self.first("sender_dependent_relayhost_maps", *keys),
            "login": self.first("smtpd_sender_login_maps", *keys),
            "transport": self.first("transport_maps", address, domain),
        }
