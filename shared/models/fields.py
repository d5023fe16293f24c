"""Column constructors that produce iRedMail's exact DDL (types and SQL defaults)."""

from __future__ import annotations

import peewee
from peewee import SQL

EPOCH = "1970-01-01 01:01:01"
NEVER = "9999-12-31 00:00:00"  # MySQL's default; iRedMail's PostgreSQL one is 01:01:01


class PerBackend(peewee.Node):
    """A column clause that differs between iRedMail's MySQL and PostgreSQL schemas: the SQL
    for the backend the DDL is written for (db.*_FIELD_TYPES["DIALECT"]), else `default`."""

    def __init__(self, default: str, **by_dialect: str):
        self.default = default
        self.by_dialect = by_dialect

    def __sql__(self, ctx):
        dialect = (ctx.state.field_types or {}).get("DIALECT")
        return ctx.literal(self.by_dialect.get(dialect, self.default))


class BackendTypeField(peewee.Field):
    """A column whose type iRedMail's MySQL and PostgreSQL schemas spell differently."""

    def __init__(self, mysql: str, postgresql: str, sqlite: str, **kwargs):
        self.types = {"mysql": mysql, "postgresql": postgresql, "sqlite": sqlite}
        super().__init__(**kwargs)

    def ddl_datatype(self, ctx):
        return PerBackend(self.types["sqlite"], **self.types)


class BackendVarcharField(peewee.CharField):
    """VARCHAR(mysql_length) on MySQL, VARCHAR(other_length) elsewhere; values are checked
    against the shorter one (shared.models.base)."""

    def __init__(self, mysql_length: int, other_length: int, **kwargs):
        self.lengths = (mysql_length, other_length)
        super().__init__(max_length=min(mysql_length, other_length), **kwargs)

    def ddl_datatype(self, ctx):
        mysql, other = self.lengths
        return PerBackend(f"VARCHAR({other})", mysql=f"VARCHAR({mysql})")


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


def default_sql(value, postgresql: bool = True) -> list:
    """`DEFAULT value`; `postgresql=False`: none there (iRedMail's PostgreSQL schema has none)."""
    if isinstance(value, str):
        quoted = value.replace("'", "''")
        clause = f"DEFAULT '{quoted}'"
    else:
        clause = f"DEFAULT {value}"
    return [SQL(clause) if postgresql else PerBackend(clause, postgresql="")]


class EpochIntField(peewee.IntegerField):
    """INT on MySQL, BIGINT on PostgreSQL (`last_login`'s epoch seconds)."""

    field_type = "EPOCH_INT"


class SwitchField(peewee.CharField):
    """CHAR(1) on MySQL, VARCHAR(1) on PostgreSQL: the SOGo switches 'y'/'n'."""

    field_type = "SWITCH"


def varchar(
    length: int = 255, default: str = "", pg_default: bool = True, **kwargs
) -> peewee.CharField:
    constraints = default_sql(default, pg_default)
    return peewee.CharField(max_length=length, default=default, constraints=constraints, **kwargs)


def ascii_varchar(pg_default: bool = True, **kwargs) -> AsciiVarcharField:
    return AsciiVarcharField(default="", constraints=default_sql("", pg_default), **kwargs)


def text(empty_default: bool = False, **kwargs) -> peewee.TextField:
    """TEXT, nullable. `empty_default`: iRedMail's PostgreSQL schema has it `NOT NULL DEFAULT ''`
    (MySQL's TEXT cannot), so the API always writes a string, never NULL."""
    if not empty_default:
        return peewee.TextField(null=True, **kwargs)
    constraint = PerBackend("", postgresql="NOT NULL DEFAULT ''")
    return peewee.TextField(null=True, default="", constraints=[constraint], **kwargs)


def flag(default: int = 1, **kwargs) -> TinyIntField:
    return TinyIntField(default=default, constraints=default_sql(default), **kwargs)


def integer(default: int = 0, **kwargs) -> Int10Field:
    return Int10Field(default=default, constraints=default_sql(default), **kwargs)


def bigint(default: int = 0, **kwargs) -> peewee.BigIntegerField:
    return peewee.BigIntegerField(default=default, constraints=default_sql(default), **kwargs)


def char1(default: str | None, pg_default: bool = True, **kwargs) -> peewee.FixedCharField:
    """CHAR(1)."""
    constraints = default_sql(default, pg_default) if default is not None else []
    return peewee.FixedCharField(1, default=default, constraints=constraints, **kwargs)


def switch(default: str = "y", **kwargs) -> SwitchField:
    return SwitchField(max_length=1, default=default, constraints=default_sql(default), **kwargs)


def date(default: str, **kwargs) -> peewee.DateField:
    return peewee.DateField(default=default, constraints=default_sql(default), **kwargs)


# iRedMail's PostgreSQL defaults for the MySQL ones.
POSTGRESQL_DEFAULTS = {EPOCH: "DEFAULT NOW()", NEVER: "DEFAULT '9999-12-31 01:01:01'"}


def datetime(default: str = EPOCH, **kwargs) -> peewee.DateTimeField:
    (mysql,) = default_sql(default)
    constraint = PerBackend(mysql.sql, postgresql=POSTGRESQL_DEFAULTS[default])
    return peewee.DateTimeField(default=default, constraints=[constraint], **kwargs)


class TimestampField(peewee.DateTimeField):
    field_type = "TIMESTAMP"


def timestamp_now(**kwargs) -> TimestampField:
    """TIMESTAMP DEFAULT CURRENT_TIMESTAMP (the API still writes it explicitly, in UTC)."""
    return TimestampField(constraints=[SQL("DEFAULT CURRENT_TIMESTAMP")], **kwargs)
