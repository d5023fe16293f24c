"""SHA-512/SHA-256 crypt ($6$/$5$), Dovecot's SHA512-CRYPT, computed by the system's crypt(3)
(glibc/libxcrypt) through `crypt_r`, the maintained copy of the `crypt` module that Python 3.13
removed. Tests check it against the specification's vectors and `doveadm pw`."""

from __future__ import annotations

import hmac
import secrets

import crypt_r

ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crypt(password: bytes, setting: str) -> str | None:
    """crypt(3) of `password` with `setting` ($6$[rounds=N$]salt…); None when it refuses."""
    try:
        result = crypt_r.crypt(password.decode(), setting)
    except (ValueError, UnicodeDecodeError):  # a NUL, or bytes that are not UTF-8
        return None
    if not result or result.startswith("*"):  # libxcrypt's failure tokens
        return None
    return result


def sha512_crypt(password: bytes, salt: str | None = None, rounds: int | None = None) -> str:
    salt = salt or "".join(secrets.choice(ALPHABET) for _ in range(16))
    setting = "$6$" + (f"rounds={rounds}$" if rounds else "") + salt
    result = crypt(password, setting)
    if result is None:
        raise ValueError("crypt(3) refused the password")
    return result


def verify(password: bytes, stored: str) -> bool:
    if not stored.startswith(("$5$", "$6$")) or not stored.isascii():
        return False
    computed = crypt(password, stored)
    return computed is not None and hmac.compare_digest(computed, stored)
