"""The identity service's token-signing keys: generated here, private parts encrypted at rest, rotated.

The active key signs; retired keys stay in the JWKS until every token they signed has expired, so a
rotation never invalidates a token in flight. Private keys are held decrypted only in memory.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.identity.tables import signing_keys

ALGORITHM = "RS256"
# Tokens signed by a retired key must still verify until they expire; ID and access tokens live at most this.
PUBLISHED_AFTER_RETIREMENT = timedelta(hours=2)

Seal = Callable[[bytes, bytes], Awaitable[bytes]]  # (plaintext, context) -> sealed


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    public_jwk: dict[str, Any]
    private_pem: bytes
    retired_at: datetime | None

    @functools.cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        """Parsed once: loading a PEM re-checks the RSA key, ~50 ms, which capped tokens at ~17/s."""
        loaded = serialization.load_pem_private_key(self.private_pem, password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        return loaded

    @functools.cached_property
    def jose_key(self) -> RSAKey:
        """The same key for Authlib's ID tokens (joserfc), imported once."""
        return RSAKey.import_key(self.private_pem)


class SigningKeys:
    """The keys as last loaded; ``current`` signs, ``jwks`` publishes."""

    def __init__(self) -> None:
        self._keys: list[SigningKey] = []

    @property
    def current(self) -> SigningKey:
        active = [key for key in self._keys if key.retired_at is None]
        if not active:
            raise RuntimeError("no active signing key: load or create one first")
        return active[-1]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk for key in self._keys]}

    async def load(self, session: AsyncSession, *, unseal: Seal, now: datetime) -> None:
        rows = (
            await session.execute(
                select(signing_keys)
                .where(
                    (signing_keys.c.retired_at.is_(None))
                    | (signing_keys.c.retired_at > now - PUBLISHED_AFTER_RETIREMENT)
                )
                .order_by(signing_keys.c.created_at)
            )
        ).mappings()
        keys = []
        for row in rows:
            private = await unseal(row["private_key"], _context(row["kid"]))
            keys.append(
                SigningKey(row["kid"], row["algorithm"], json.loads(row["public_jwk"]), private, row["retired_at"])
            )
        self._keys = keys

    async def ensure_active(self, session: AsyncSession, *, seal: Seal, now: datetime) -> bool:
        """Create a first key when none is active; True when one was created (the caller commits)."""
        active = await session.scalar(select(signing_keys.c.kid).where(signing_keys.c.retired_at.is_(None)).limit(1))
        if active is not None:
            return False
        await _create(session, seal=seal, now=now)
        return True

    @staticmethod
    async def rotate(session: AsyncSession, *, seal: Seal, now: datetime) -> str:
        """Retire the active keys and create a new one (the caller commits, then every instance reloads)."""
        await session.execute(update(signing_keys).where(signing_keys.c.retired_at.is_(None)).values(retired_at=now))
        return await _create(session, seal=seal, now=now)


async def _create(session: AsyncSession, *, seal: Seal, now: datetime) -> str:
    kid = uuid.uuid4().hex
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    public.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    await session.execute(
        insert(signing_keys).values(
            kid=kid,
            algorithm=ALGORITHM,
            public_jwk=json.dumps(public),
            private_key=await seal(pem, _context(kid)),
            created_at=now,
        )
    )
    return kid


def _context(kid: str) -> bytes:
    return f"identity.signing_keys.private_key:{kid}".encode()
