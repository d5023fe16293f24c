"""SHA-256/SHA-512 crypt ($5$/$6$, Ulrich Drepper's specification), as Dovecot's SHA512-CRYPT.

Python's `crypt` module is deprecated and absent from 3.13, so the algorithm lives here;
tests compare it with the C library and with `doveadm pw`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DEFAULT_ROUNDS = 5000
MIN_ROUNDS, MAX_ROUNDS = 1000, 999_999_999

SHA512_ORDER = (
    (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
    (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54),
    (34, 55, 13), (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60),
    (40, 61, 19), (62, 20, 41),
)  # fmt: skip
SHA256_ORDER = (
    (0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14), (15, 25, 5), (6, 16, 26),
    (27, 7, 17), (18, 28, 8), (9, 19, 29),
)  # fmt: skip


def _repeat(block: bytes, length: int) -> bytes:
    return (block * (length // len(block) + 1))[:length]


def _encode(triples, digest: bytes) -> str:
    out = []
    for indexes, count in triples:
        value = 0
        for index in indexes:
            value = (value << 8) | (digest[index] if index is not None else 0)
        for _ in range(count):
            out.append(ALPHABET[value & 0x3F])
            value >>= 6
    return "".join(out)


def _digest(algorithm: str, password: bytes, salt: bytes, rounds: int) -> bytes:
    def h(data: bytes) -> bytes:
        return hashlib.new(algorithm, data).digest()

    b = h(password + salt + password)
    a_input = password + salt + _repeat(b, len(password))
    length = len(password)
    while length:
        a_input += b if length & 1 else password
        length >>= 1
    c = h(a_input)
    p_seq = _repeat(h(password * len(password)), len(password))
    s_seq = _repeat(h(salt * (16 + c[0])), len(salt))
    for i in range(rounds):
        data = p_seq if i & 1 else c
        if i % 3:
            data += s_seq
        if i % 7:
            data += p_seq
        data += c if i & 1 else p_seq
        c = h(data)
    return c


def _crypt(password: bytes, setting: str) -> str:
    magic, _, rest = setting[1:].partition("$")
    rounds, custom_rounds = DEFAULT_ROUNDS, False
    if rest.startswith("rounds="):
        spec, _, rest = rest.partition("$")
        rounds = min(max(int(spec[7:]), MIN_ROUNDS), MAX_ROUNDS)
        custom_rounds = True
    salt = rest.split("$", 1)[0][:16]
    if magic == "6":
        digest = _digest("sha512", password, salt.encode(), rounds)
        triples = [((i, j, k), 4) for i, j, k in SHA512_ORDER] + [((None, None, 63), 2)]
    elif magic == "5":
        digest = _digest("sha256", password, salt.encode(), rounds)
        triples = [((i, j, k), 4) for i, j, k in SHA256_ORDER] + [((None, 31, 30), 3)]
    else:
        raise ValueError("not a SHA-crypt setting")
    prefix = f"${magic}$" + (f"rounds={rounds}$" if custom_rounds else "")
    return prefix + salt + "$" + _encode(triples, digest)


def sha512_crypt(password: bytes, salt: str | None = None, rounds: int | None = None) -> str:
    salt = salt or "".join(secrets.choice(ALPHABET) for _ in range(16))
    setting = "$6$" + (f"rounds={rounds}$" if rounds else "") + salt
    return _crypt(password, setting)


def verify(password: bytes, stored: str) -> bool:
    try:
        return hmac.compare_digest(_crypt(password, stored), stored)
    except (ValueError, IndexError):
        return False
