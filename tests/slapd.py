"""A scratch OpenLDAP (Debian's slapd) with iRedMail's schema, for proving LDIF exports.

Its config is iRedMail's schema list (core, cosine, inetorgperson, nis, then amavisd and iredmail,
read from `../shared/upstream/iredmail/samples/`), back-mdb and pw-sha2, one database for the
suffix `dc=example,dc=com` in a temp dir. It never listens on a network port: `start()` serves
`ldapi://` (a unix socket in the temp dir). Every tool's stderr and exit code are checked: a
refused entry fails the test, never reads as "not found".
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import ldif
import pytest

from tests.upstream import upstream_dir

SUFFIX = "dc=example,dc=com"
ROOT_DN, ROOT_PW = f"cn=Manager,{SUFFIX}", "secret"
BASE_DN, ADMINS_DN = f"o=domains,{SUFFIX}", f"o=domainAdmins,{SUFFIX}"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
BASE_LDIF = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: example

dn: {BASE_DN}
objectClass: organization
o: domains

dn: {ADMINS_DN}
objectClass: organization
o: domainAdmins

"""
REQUIRE = os.environ.get("REQUIRE_SLAPD") == "1"


class LdapError(AssertionError):
    """An OpenLDAP tool refused or failed."""


class Slapd:
    def __init__(self, folder: Path, samples: Path):
        self.folder = folder
        self.config = folder / "slapd.conf"
        self.socket = folder / "ldapi"
        self.url = "ldapi://" + urllib.parse.quote(str(self.socket), safe="")
        self.process: subprocess.Popen | None = None
        (folder / "db").mkdir()
        schemas = [SCHEMA_DIR / f"{n}.schema" for n in ("core", "cosine", "inetorgperson", "nis")]
        schemas += [samples / "amavisd/amavisd.schema", samples / "iredmail/iredmail.schema"]
        lines = [f"include {schema}" for schema in schemas] + [
            f"modulepath {MODULE_DIR}", "moduleload back_mdb", "moduleload pw-sha2",
            f"pidfile {folder / 'slapd.pid'}", "database mdb", f'suffix "{SUFFIX}"',
            f'rootdn "{ROOT_DN}"', f"rootpw {ROOT_PW}", f"directory {folder / 'db'}",
            "maxsize 104857600",
            # Dovecot binds as the user (auth_bind); what iRedMail's slapd.conf allows: a user
            # authenticates with its userPassword, the rootdn reads everything.
            "access to attrs=userPassword by anonymous auth by self write by * none",
            "access to * by * read",
        ]  # fmt: skip
        self.config.write_text("\n".join(lines) + "\n")
        self._run(["slaptest", "-f", str(self.config), "-u"])
        self.slapadd(BASE_LDIF)

    def _run(self, command: list[str], stdin: str | None = None) -> str:
        command = [tool(command[0]), *command[1:]]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True)
        if result.returncode != 0:
            raise LdapError(f"{' '.join(command[:1])} exit {result.returncode}: {result.stderr}"
                            f"{result.stdout}")  # fmt: skip
        return result.stdout

    # -- offline ------------------------------------------------------------------------
    def slapadd(self, text: str) -> None:
        """Load entries offline (schema checked: slapadd runs without -s)."""
        assert self.process is None, "stop slapd first"
        path = self.folder / "load.ldif"
        path.write_text(text)
        self._run(["slapadd", "-f", str(self.config), "-b", SUFFIX, "-l", str(path)])

    def slapschema(self) -> None:
        """Re-check every entry of the database against the schema."""
        self._run(["slapschema", "-f", str(self.config), "-b", SUFFIX])

    def slapcat(self) -> str:
        return self._run(["slapcat", "-f", str(self.config), "-b", SUFFIX])

    # -- online, on the unix socket only ------------------------------------------------
    def start(self) -> None:
        self.process = subprocess.Popen(
            [tool("slapd"), "-d", "0", "-f", str(self.config), "-h", self.url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LdapError(f"slapd exited: {self.process.stderr.read().decode()}")
            try:
                self.search(SUFFIX, "(objectClass=*)", scope="base")
                return
            except LdapError:
                time.sleep(0.05)
        raise LdapError("slapd did not answer on its socket")

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
            self.process = None

    def ldapadd(self, text: str) -> None:
        self._run(["ldapadd", "-H", self.url, "-x", "-D", ROOT_DN, "-w", ROOT_PW], stdin=text)

    def bind(self, dn: str, password: str) -> bool:
        """Whether `dn` binds with `password` (what Dovecot's auth_bind does)."""
        result = subprocess.run(
            [tool("ldapwhoami"), "-H", self.url, "-x", "-D", dn, "-w", password],
            capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode == 49:  # invalidCredentials
            return False
        if result.returncode != 0:
            raise LdapError(f"ldapwhoami exit {result.returncode}: {result.stderr}")
        return True

    def search(self, base: str, query: str, *attributes: str, scope: str = "sub") -> list[dict]:
        """Entries as {attribute: [values]} (`dn` included), via `ldapsearch -LLL`."""
        output = self._run(["ldapsearch", "-H", self.url, "-x", "-D", ROOT_DN, "-w", ROOT_PW,
                            "-LLL", "-o", "ldif-wrap=no", "-s", scope, "-b", base, query,
                            *attributes])  # fmt: skip
        parser = ldif.LDIFParser(io.BytesIO(output.encode()))
        entries = []
        for dn, attrs in parser.parse():
            entry = {k: [v.decode() if isinstance(v, bytes) else v for v in vs]
                     for k, vs in attrs.items()}  # fmt: skip
            entry["dn"] = [dn]
            entries.append(entry)
        return entries


def tool(name: str) -> str:
    """The program's path (slapd's tools live in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which(name) or str(Path("/usr/sbin") / name)


TOOLS = ("slapd", "slapadd", "slapschema", "slapcat", "slaptest", "ldapadd", "ldapsearch",
         "ldapwhoami")  # fmt: skip


def slapd_missing() -> str | None:
    if upstream_dir() is None:
        return "../shared/upstream (iRedMail's schema) not found"
    for name in TOOLS:
        if not Path(tool(name)).exists():
            return f"{name} is not installed (apt-get install slapd ldap-utils)"
    return None


@pytest.fixture
def slapd():
    missing = slapd_missing()
    if missing:
        if REQUIRE:
            pytest.fail(f"REQUIRE_SLAPD=1 but {missing}")
        pytest.skip(missing)
    # Readable by others: Dovecot's unprivileged auth process reaches the socket.
    folder = Path(tempfile.mkdtemp(prefix="mailapi-slapd-"))
    folder.chmod(0o755)
    server = Slapd(folder, upstream_dir() / "iredmail" / "samples")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)
