"""Where the team's unmodified upstream parts live (`../shared/upstream` beside the repository).

Tests read iRedMail's own Postfix maps and Dovecot queries from there instead of copies.
`MAILAPI_UPSTREAM` names the folder when the checkout is somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_DB = os.environ.get("TEST_DB", "sqlite")
CANDIDATES = (
    os.environ.get("MAILAPI_UPSTREAM", ""),
    str(ROOT.parent / "shared" / "upstream"),
    "/work/shared/upstream",
)


def upstream_dir() -> Path | None:
    for candidate in CANDIDATES:
        if candidate and (Path(candidate) / "iredmail" / "samples").is_dir():
            return Path(candidate)
    return None


def server_backend(url: str) -> str:
    """'mysql' or 'pgsql', as iRedMail's samples name them, for a server database's URL."""
    return "mysql" if url.startswith("mysql") else "pgsql"


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """iRedMail's samples carry `PH_NAME` placeholders that its installer replaces."""
    for name in sorted(values, key=len, reverse=True):  # PH_X_Y before PH_X
        text = text.replace(name, values[name])
    return text


def samples_for(installed: bool, packages: str, requirement: str) -> Path:
    """iRedMail's samples for a test of a real program: fail when `requirement` (an environment
    variable such as REQUIRE_POSTFIX) is 1 and the program is missing, else skip."""
    if not installed:
        if os.environ.get(requirement) == "1":
            pytest.fail(f"{requirement}=1 but {packages} are not installed")
        pytest.skip(f"{packages} are not installed")
    samples = upstream_dir()
    if samples is None:
        pytest.fail("iRedMail's samples are missing: set MAILAPI_UPSTREAM to ../shared/upstream")
    return samples / "iredmail" / "samples"


def run_databases(request) -> dict[str, str]:
    """The URLs of the run's server databases (MariaDB or PostgreSQL)."""
    name = "mysql_databases" if TEST_DB == "mysql" else "pgsql_run_databases"
    return request.getfixturevalue(name)
