"""Password hashing with Argon2id (argon2-cffi), off the event loop (ASVS 5.0 V11.4.2, 800-63B-4 §3.1.1.2).

Passwords are normalised (NFKC, 800-63B-4 §3.1.1.2) before hashing and before verifying, so a password
typed with composed or decomposed accents verifies either way; nothing else is changed (no trimming, no
truncation, no case folding: ASVS 5.0 V6.2.8). Each hash is a PHC string that records its own salt (16
random bytes; §3.1.1.2 asks for at least 32 bits) and its parameters, so ``needs_rehash`` can tell the
sign-in step to store a new hash once the parameters here are raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from kairos.identity.domain.passwords import normalise


@dataclass(frozen=True)
class Argon2Parameters:
    memory_kib: int
    iterations: int
    lanes: int
    hash_bytes: int = 32
    salt_bytes: int = 16


# OWASP Password Storage Cheat Sheet, the first of its equivalent Argon2id settings: 19 MiB, 2 passes,
# 1 lane; about 30 ms a hash on one core. Raise them in settings as hardware allows; old hashes are
# replaced at the next sign-in.
OWASP_RECOMMENDED = Argon2Parameters(memory_kib=19 * 1024, iterations=2, lanes=1)


class UnreadablePasswordHash(Exception):
    """A stored value is not an Argon2 hash this service can read (corrupt or from another scheme)."""


class PasswordHasher:
    """Hashes and verifies passwords; the ``*_async`` methods run the work in a thread."""

    def __init__(self, parameters: Argon2Parameters = OWASP_RECOMMENDED) -> None:
        self.parameters = parameters
        self._argon2 = argon2.PasswordHasher(
            time_cost=parameters.iterations,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.lanes,
            hash_len=parameters.hash_bytes,
            salt_len=parameters.salt_bytes,
            type=argon2.Type.ID,
        )
        # Verified against when the account does not exist, so that a wrong e-mail address costs the same
        # time as a wrong password and response times do not reveal who has an account (ASVS 5.0 V6.3.8).
        self._unknown_account_hash = self._argon2.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        return self._argon2.hash(_encoded(password))

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` is the one ``stored_hash`` was made from, compared in constant time."""
        try:
            return self._argon2.verify(stored_hash, _encoded(password))
        except InvalidHashError as error:
            raise UnreadablePasswordHash from error
        except VerificationError:
            return False

    def verify_unknown_account(self, password: str) -> bool:
        """Spend the time of one verification and fail, for a sign-in naming no account."""
        with contextlib.suppress(VerificationError):
            self._argon2.verify(self._unknown_account_hash, _encoded(password))
        return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether ``stored_hash`` was made with other parameters than these, and should be replaced."""
        try:
            return self._argon2.check_needs_rehash(stored_hash)
        except InvalidHashError as error:
            raise UnreadablePasswordHash from error

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, stored_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self.verify, stored_hash, password)

    async def verify_unknown_account_async(self, password: str) -> bool:
        return await asyncio.to_thread(self.verify_unknown_account, password)


def _encoded(password: str) -> bytes:
    # "surrogatepass" so that a lone surrogate sent at sign-in fails verification instead of raising;
    # the policy never lets one into a stored password.
    return normalise(password).encode("utf-8", "surrogatepass")
