"""What a string column holds, the same answer on every backend, and a model base class that
refuses any write that would not fit (MySQL would fail with "Data too long", SQLite would store
it as is): the limits come from the models, so a new column cannot forget them."""

from __future__ import annotations

import peewee

from shared.errors import ApiError

TEXT_BYTES = 65_535  # MySQL's TEXT; SQLite and PostgreSQL hold more, the API holds no more


def capacity(field) -> tuple[int, str] | None:
    """(limit, unit) of a string column: characters for (VAR)CHAR(n), bytes for TEXT."""
    if isinstance(field, peewee.TextField):
        return TEXT_BYTES, "bytes"
    if isinstance(field, peewee.CharField | peewee.FixedCharField) and field.max_length:
        return field.max_length, "characters"
    return None


def misfit(field, value: str) -> str | None:
    """Why `value` cannot be stored in `field` on some backend, or None when it fits."""
    if "\x00" in value:
        return "no NUL characters"
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid Unicode"
    limit = capacity(field)
    if limit is None:
        return None
    size = len(encoded) if limit[1] == "bytes" else len(value)
    if size > limit[0]:
        return f"at most {limit[0]} {limit[1]}"
    if field.field_type == "ASCII255" and not value.isascii():
        return "ASCII only"
    return None


def require_fit(field, value, name: str | None = None) -> None:
    """INVALID_PARAM naming `name` (a parameter; else the column) when `value` does not fit."""
    if isinstance(value, str):
        reason = misfit(field, value)
        if reason:
            raise ApiError("INVALID_PARAM", f"{name or field.column_name}: {reason}")


def truncated(field, value: str) -> str:
    """`value` cut to what the column holds (for text the API composes, like audit messages)."""
    limit = capacity(field)
    if limit is None:
        return value
    if limit[1] == "characters":
        return value[: limit[0]]
    return value.encode("utf-8")[: limit[0]].decode("utf-8", "ignore")


def _field(model, key):
    if isinstance(key, peewee.Field):
        return key
    return model._meta.fields.get(key) or model._meta.columns.get(key)


def check_values(model, values: dict) -> None:
    for key, value in values.items():
        field = _field(model, key)
        if field is not None:
            require_fit(field, value)


class CheckedModel(peewee.Model):
    """Every string a write carries is checked against its column before SQL is built."""

    @classmethod
    def insert(cls, __data=None, **insert):
        check_values(cls, {**(__data or {}), **insert})
        return super().insert(__data, **insert)

    @classmethod
    def update(cls, __data=None, **update):
        check_values(cls, {**(__data or {}), **update})
        return super().update(__data, **update)

    @classmethod
    def insert_many(cls, rows, fields=None):
        rows = list(rows)
        for row in rows:
            check_values(cls, row if isinstance(row, dict) else dict(zip(fields, row, strict=True)))
        return super().insert_many(rows, fields)
