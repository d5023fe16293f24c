"""UTC time as the databases store it (naive DATETIME in UTC, second precision)."""

import datetime


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def utctoday() -> datetime.date:
    return utcnow().date()
