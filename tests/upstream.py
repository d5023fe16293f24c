"""Where the team's unmodified upstream parts live (`../shared/upstream` beside the repository).

Tests read iRedMail's own Postfix maps and Dovecot queries from there instead of copies.
`MAILAPI_UPSTREAM` names the folder when the checkout is somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """iRedMail's samples carry `PH_NAME` placeholders that its installer replaces."""
    for name in sorted(values, key=len, reverse=True):  # PH_X_Y before PH_X
        text = text.replace(name, values[name])
    return text
