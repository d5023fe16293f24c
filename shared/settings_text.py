"""The `key:value;key:value;` text of the `settings` columns (DATA-MODEL.md §1)."""

from __future__ import annotations

INTEGER_KEYS = frozenset({
    "default_user_quota", "max_user_quota", "min_passwd_length", "max_passwd_length",
    "create_max_domains", "create_max_users", "create_max_aliases", "create_max_lists",
    "create_max_quota",
})  # fmt: skip
LIST_KEYS = frozenset({
    "enabled_services", "disabled_mail_services", "disabled_domain_profiles",
    "disabled_user_profiles", "disabled_user_preferences",
})  # fmt: skip


def parse(text: str | None) -> dict[str, str]:
    """The raw pairs, in order; malformed pieces and empty values are dropped."""
    pairs: dict[str, str] = {}
    for piece in (text or "").split(";"):
        key, sep, value = piece.partition(":")
        key, value = key.strip(), value.strip()
        if sep and key and value:
            pairs[key] = value
    return pairs


def serialise(pairs: dict[str, str]) -> str:
    return "".join(f"{key}:{value};" for key, value in pairs.items() if value != "")


def as_object(text: str | None) -> dict:
    """The JSON form: integer keys as numbers, list keys as arrays, the rest as text."""
    if not text:  # most accounts' (a list answers one per row)
        return {}
    result: dict = {}
    for key, value in parse(text).items():
        if key in INTEGER_KEYS:
            try:
                result[key] = int(value)
            except ValueError:
                result[key] = value
        elif key in LIST_KEYS:
            result[key] = [item for item in value.split(",") if item]
        else:
            result[key] = value
    return result


def update(text: str | None, **changes) -> str:
    """Rewrite the text with `changes` (None or "" removes a key), keeping unknown keys."""
    pairs = parse(text)
    for key, value in changes.items():
        if value is None or value == "" or value == []:
            pairs.pop(key, None)
        elif isinstance(value, (list, tuple, set)):
            pairs[key] = ",".join(sorted(set(value)))
        else:
            pairs[key] = str(value)
    return serialise(pairs)
