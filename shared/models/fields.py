"""Column constructors that produce iRedMail's exact DDL (types and SQL defaults)."""

from __future__ import annotations

import peewee
from peewee import SQL

EPOCH = "1970-01-01 01:01:01"
NEVER = "9999-12-31 00:00:00"


class TinyIntField(peewee.IntegerField):
    """TINYINT(1), read as an integer (the contract answers `active: 1`, not `true`)."""

    field_type = "TINYINT(1)"


class Int10Field(peewee.IntegerField):
    field_type = "INT(10)"


class UnsignedTinyIntField(peewee.IntegerField):
    field_type = "TINYINT UNSIGNED"


class UnsignedBigAutoField(peewee.BigAutoField):
    field_type = "BIGAUTO_UNSIGNED"


class AsciiVarcharField(peewee.CharField):
    """VARCHAR(255) CHARACTER SET ascii on MySQL (see db.MYSQL_FIELD_TYPES)."""

    field_type = "ASCII255"

    def get_modifiers(self):
        return None


def default_sql(value) -> list:
    if isinstance(value, str):
        quoted = value.replace("'", "''")
        return [SQL(f"DEFAULT '{quoted}'")]
    return [SQL(f"DEFAULT {value}")]


def varchar(length: int = 255, default: str = "", **kwargs) -> peewee.CharField:
    return peewee.CharField(
        max_length=length, default=default, constraints=default_sql(default), **kwargs
    )


def ascii_varchar(**kwargs) -> AsciiVarcharField:
    return AsciiVarcharField(default="", constraints=default_sql(""), **kwargs)


def text(**kwargs) -> peewee.TextField:
    return peewee.TextField(null=True, **kwargs)


def flag(default: int = 1, **kwargs) -> TinyIntField:
    return TinyIntField(default=default, constraints=default_sql(default), **kwargs)


def integer(default: int = 0, **kwargs) -> Int10Field:
    return Int10Field(default=default, constraints=default_sql(default), **kwargs)


def bigint(default: int = 0, **kwargs) -> peewee.BigIntegerField:
    return peewee.BigIntegerField(default=default, constraints=default_sql(default), **kwargs)


def char1(default: str | None, **kwargs) -> peewee.FixedCharField:
    """CHAR(1), e.g. the SOGo switches 'y'/'n'."""
    constraints = default_sql(default) if default is not None else []
    return peewee.FixedCharField(1, default=default, constraints=constraints, **kwargs)


def date(default: str, **kwargs) -> peewee.DateField:
    return peewee.DateField(default=default, constraints=default_sql(default), **kwargs)


def datetime(default: str = EPOCH, **kwargs) -> peewee.DateTimeField:
    return peewee.DateTimeField(default=default, constraints=default_sql(default), **kwargs)


class TimestampField(peewee.DateTimeField):
    field_type = "TIMESTAMP"


def timestamp_now(**kwargs) -> TimestampField:
    """TIMESTAMP DEFAULT CURRENT_TIMESTAMP (the API still writes it explicitly, in UTC)."""
    return TimestampField(constraints=[SQL("DEFAULT CURRENT_TIMESTAMP")], **kwargs)
