"""Path normalisation: prefixes, repeated slashes, one trailing slash (CONTRACT.md §1)."""

from __future__ import annotations

import re

_SLASHES = re.compile(r"/{2,}")


def api_relative_path(path: str, prefixes: tuple[str, ...]) -> str | None:
    """`/iredadmin/api//domain/x/` → `/domain/x`; None when the path is under no API prefix."""
    path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    for prefix in prefixes:
        prefix = prefix.rstrip("/")
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return None
