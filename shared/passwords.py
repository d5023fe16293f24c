"""Password policy, hashing and verification in the formats Dovecot reads (DATA-MODEL.md §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import string

import bcrypt

from shared.errors import ApiError

SPECIAL_CHARS = set("#$%&*+-,.:;!=<>'\"?@[]/(){}_`~")
PRINTABLE_ASCII = set(string.printable) - set("\t\n\r\x0b\x0c")
WRITABLE_SCHEMES = ("SSHA512", "BCRYPT", "SHA512-CRYPT", "SSHA", "PLAIN")
ACCEPTED_HASH_PREFIXES = (
    "{SSHA512}", "{SSHA}", "{SHA512}", "{SHA}", "{CRYPT}", "{BLF-CRYPT}", "{SHA512-CRYPT}",
    "{SHA256-CRYPT}", "{ARGON2I}", "{ARGON2ID}", "{PLAIN}",
)  # fmt: skip
BCRYPT_COST = 12
BCRYPT_MAX_BYTES = 72  # bcrypt reads no more (the library refuses longer passwords)
# However long the policy lets passwords be: hashing cost grows with the length (SHA512-CRYPT
# hashes the password thousands of times), and a login is not authenticated yet.
HARD_MAX_LENGTH = 1024


def policy_errors(password: str, min_length: int, max_length: int, config) -> list[str]:
    """Every broken rule, in the contract's order (empty list: the password is acceptable)."""
    if not password:
        return ["PW_EMPTY"]
    errors = []
    if len(password) < min_length:
        errors.append("PW_SHORTER_THAN_MIN_LENGTH")
    if len(password) > min(max_length or HARD_MAX_LENGTH, HARD_MAX_LENGTH):
        errors.append("PW_GREATER_THAN_MAX_LENGTH")
    if config.password_has_letter and not any(c.isascii() and c.isalpha() for c in password):
        errors.append("PW_NO_LETTER")
    if config.password_has_uppercase and not any(c.isascii() and c.isupper() for c in password):
        errors.append("PW_NO_UPPERCASE")
    if config.password_has_number and not any(c.isdigit() and c.isascii() for c in password):
        errors.append("PW_NO_DIGIT_NUMBER")
    if config.password_has_special_char and not any(c in SPECIAL_CHARS for c in password):
        errors.append("PW_NO_SPECIAL_CHAR")
    if not set(password) <= PRINTABLE_ASCII:
        errors.append("PW_NON_ASCII")
    return errors


def check_policy(password: str, config, min_length: int = 0, max_length: int = 0) -> None:
    """Raise one ApiError naming every broken rule (domain overrides win over the settings)."""
    errors = policy_errors(
        password,
        min_length or config.min_password_length,
        max_length or config.max_password_length,
        config,
    )
    if errors:
        raise ApiError(",".join(errors))


def _salted_sha(algorithm: str, password: bytes, salt: bytes) -> bytes:
    return hashlib.new(algorithm, password + salt).digest() + salt


def hash_password(password: str, scheme: str = "SSHA512") -> str:
    """`{SCHEME}…` as Dovecot stores it."""
    secret = password.encode()
    scheme = scheme.upper()
    if scheme == "SSHA512":
        return "{SSHA512}" + base64.b64encode(_salted_sha("sha512", secret, os.urandom(8))).decode()
    if scheme == "SSHA":
        return "{SSHA}" + base64.b64encode(_salted_sha("sha1", secret, os.urandom(8))).decode()
    if scheme == "BCRYPT":
        if len(secret) > BCRYPT_MAX_BYTES:
            raise ApiError("PW_GREATER_THAN_MAX_LENGTH", f"bcrypt takes {BCRYPT_MAX_BYTES} bytes")
        # Dovecot knows bcrypt as {CRYPT} (or {BLF-CRYPT}); never write a {BCRYPT} prefix.
        return "{CRYPT}" + bcrypt.hashpw(secret, bcrypt.gensalt(BCRYPT_COST, b"2b")).decode()
    if scheme == "SHA512-CRYPT":
        from shared import sha_crypt

        return "{SHA512-CRYPT}" + sha_crypt.sha512_crypt(secret)
    if scheme == "PLAIN":
        return "{PLAIN}" + password
    raise ApiError("INVALID_PASSWORD_SCHEME", scheme)


# Verified against when an account is unknown, so that both answers cost the same.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_hash_prefix(password_hash: str) -> str:
    """A client-supplied `{SCHEME}…` hash, refused unless its scheme is one we accept."""
    upper = password_hash.upper()
    if not any(upper.startswith(prefix) for prefix in ACCEPTED_HASH_PREFIXES):
        raise ApiError("INVALID_PASSWORD_SCHEME", "unsupported password hash scheme")
    return password_hash


def _verify_salted(algorithm: str, digest_size: int, encoded: str, password: bytes) -> bool:
    try:
        raw = base64.b64decode(encoded, validate=False)
    except ValueError:
        return False
    digest, salt = raw[:digest_size], raw[digest_size:]
    return hmac.compare_digest(hashlib.new(algorithm, password + salt).digest(), digest)


def _verify_plain_digest(algorithm: str, encoded: str, password: bytes) -> bool:
    try:
        expected = base64.b64decode(encoded)
    except ValueError:
        return False
    return hmac.compare_digest(hashlib.new(algorithm, password).digest(), expected)


def _verify_crypt(value: str, password: bytes) -> bool:
    if value.startswith(("$2a$", "$2b$", "$2y$")):
        try:
            return bcrypt.checkpw(password, value.replace("$2y$", "$2b$", 1).encode())
        except ValueError:
            return False
    if value.startswith(("$5$", "$6$")):
        from shared import sha_crypt

        return sha_crypt.verify(password, value)
    return False


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches a stored `{SCHEME}` hash (constant-time comparisons)."""
    if not stored or not password or len(password) > HARD_MAX_LENGTH:
        return False
    secret = password.encode()
    if not stored.startswith("{"):
        return _verify_crypt(stored, secret)
    scheme, _, value = stored[1:].partition("}")
    scheme = scheme.upper()
    if scheme == "SSHA512":
        return _verify_salted("sha512", 64, value, secret)
    if scheme == "SSHA":
        return _verify_salted("sha1", 20, value, secret)
    if scheme == "SHA512":
        return _verify_plain_digest("sha512", value, secret)
    if scheme == "SHA":
        return _verify_plain_digest("sha1", value, secret)
    if scheme in ("CRYPT", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT"):
        return _verify_crypt(value, secret)
    if scheme == "PLAIN":
        return hmac.compare_digest(value.encode(), secret)
    return False
