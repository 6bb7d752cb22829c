"""Password hashing with the standard library: scrypt, a per-password salt, a self-describing text.

Stored form: ``scrypt$n=16384,r=8,p=1$<salt b64>$<hash b64>``. The parameters travel with each
hash so that they can be raised later without invalidating the passwords already stored.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass

ALGORITHM = "scrypt"
SALT_BYTES = 16
HASH_BYTES = 32


@dataclass(frozen=True)
class ScryptParams:
    n: int = 2**14
    r: int = 8
    p: int = 1

    def encode(self) -> str:
        return f"n={self.n},r={self.r},p={self.p}"

    @classmethod
    def decode(cls, text: str) -> ScryptParams:
        fields = dict(item.split("=", 1) for item in text.split(","))
        return cls(n=int(fields["n"]), r=int(fields["r"]), p=int(fields["p"]))


DEFAULT_PARAMS = ScryptParams()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    # maxmem must cover 128 * n * r bytes plus slack, or OpenSSL refuses larger parameters.
    maxmem = 128 * params.n * params.r * 2 + 1024 * 1024
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=params.n, r=params.r,
                          p=params.p, maxmem=maxmem, dklen=HASH_BYTES)


def hash_password(password: str, params: ScryptParams = DEFAULT_PARAMS) -> str:
    """Return the stored form of `password` with a fresh random salt."""
    salt = os.urandom(SALT_BYTES)
    digest = _derive(password, salt, params)
    return f"{ALGORITHM}${params.encode()}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; a malformed stored value never matches."""
    try:
        algorithm, params_text, salt_text, digest_text = stored.split("$")
        if algorithm != ALGORITHM:
            return False
        params = ScryptParams.decode(params_text)
        salt = base64.b64decode(salt_text, validate=True)
        expected = base64.b64decode(digest_text, validate=True)
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(_derive(password, salt, params), expected)


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the user does not exist.

    A wrong user name then costs as much time as a wrong password, so response times do not
    reveal which user names exist. Computed on first use, not at import.
    """
    return hash_password("neutrino-no-such-user")
