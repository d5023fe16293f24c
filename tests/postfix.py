"""Real Postfix lookups (`postmap -q`) against the test's MariaDB `vmail` database.

The lookup tables are iRedMail's own (`upstream/iredmail/samples/postfix/mysql/*.cf`) and the
fixture's main.cf is iRedMail's `main.cf.mysql`, both with the installer's placeholders filled
in (and `proxy:` left out: no proxymap daemon runs). postmap and postconf run with that
configuration directory (`-c`), so the machine's own Postfix set-up plays no part, and anything
they print on stderr (`fatal:`, `warning:`) fails the lookup: an exit code of 1 means "not found"
only when Postfix said nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playhouse import db_url

from tests.upstream import fill_placeholders, samples_for


class PostfixError(AssertionError):
    """postmap or postconf failed (as opposed to a key that is not in the table)."""


class Postfix:
    def __init__(self, folder: Path, vmail_url: str, samples: Path):
        params = db_url.parse(vmail_url)
        values = {
            "PH_SQL_SERVER_ADDRESS": params.get("host", "127.0.0.1"),
            "PH_SQL_SERVER_PORT": str(params.get("port", 3306)),
            "PH_VMAIL_DB_BIND_USER": params.get("user", "root"),
            "PH_VMAIL_DB_BIND_PASSWD": params.get("passwd", params.get("password", "")),
            "PH_VMAIL_DB_NAME": params["database"],
            "PH_POSTFIX_LOOKUP_DIR": str(folder),
        }
        self.folder = folder
        for table in sorted((samples / "postfix" / "mysql").glob("*.cf")):
            (folder / table.name).write_text(fill_placeholders(table.read_text(), values))
        self.config_dir = folder / "etc"
        self.config_dir.mkdir()
        main_cf = fill_placeholders((samples / "postfix" / "main.cf.mysql").read_text(), values)
        (self.config_dir / "main.cf").write_text(
            # A fixed host name: Postfix would otherwise ask DNS for this machine's name.
            "compatibility_level = 3.6\nmyhostname = mail.test.invalid\n"
            + main_cf.replace("proxy:mysql:", "mysql:")
        )
        (self.config_dir / "master.cf").write_text("")  # no daemons: lookups only

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [args[0], "-c", str(self.config_dir), *args[1:]], capture_output=True, text=True
        )
        if result.stderr.strip() or result.returncode not in (0, 1):
            raise PostfixError(f"{' '.join(args)}: exit {result.returncode}: {result.stderr}")
        return result

    def lookup(self, table: str, key: str) -> list[str] | None:
        """What the table `table` (a .cf name, or a Postfix map) answers (None: not found)."""
        map_name = table if ":" in table else f"mysql:{self.folder / table}.cf"
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


def postfix_samples() -> Path:
    installed = shutil.which("postmap") and Path("/usr/lib/postfix/postfix-mysql.so").exists()
    return samples_for(bool(installed), "postfix and postfix-mysql", "REQUIRE_POSTFIX")


@pytest.fixture
def postfix(config, tmp_path):
    if not config.vmail_db_url.startswith("mysql"):
        pytest.skip("Postfix's mysql: maps need TEST_DB=mysql")
    folder = tmp_path / "postfix"
    folder.mkdir()
    return Postfix(folder, config.vmail_db_url, postfix_samples())
