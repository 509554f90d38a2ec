"""Keyed lookup hashes ("blind indexes") of values stored encrypted, so that they can still be found.

An encrypted column cannot be searched: AES-GCM with random nonces gives a new ciphertext every time. Beside it
goes ``HMAC-SHA256(lookup key, purpose | 0x00 | value)``, equal for equal values and indexable. Keyed, so a stolen
database cannot be matched against a list of candidate values (an unkeyed hash of an e-mail address can).

The lookup key is derived (HKDF-SHA256, RFC 5869) from the database's first data key, which is never deleted and
keeps its material through every rotation: rotating the key-encryption key re-wraps it (the hashes stay valid),
rotating the data key retires it (it still derives the same lookup key). See docs/crypto.md.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kairos.platform.crypto.tokens import DataKey

LOOKUP_KEY_BYTES = 32
_DERIVATION = b"kairos.lookup_key.v1"


class LookupHasher:
    """``hasher.digest("jane@example.org", purpose="identity.users.email")``: 32 bytes, equal for equal values.

    The purpose names the column, so one value hashed for two columns gives two unrelated digests. Normalise the
    value first (lower-case an address): the hash only finds exactly equal strings.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != LOOKUP_KEY_BYTES:
            raise ValueError(f"a lookup key is {LOOKUP_KEY_BYTES} bytes, not {len(key)}")
        self._key = key

    @classmethod
    def derived_from(cls, data_key: DataKey) -> LookupHasher:
        """The lookup key of a database, from its first data key; a separate key, never used to encrypt."""
        derivation = HKDF(algorithm=hashes.SHA256(), length=LOOKUP_KEY_BYTES, salt=None, info=_DERIVATION)
        return cls(derivation.derive(data_key.material))

    def __repr__(self) -> str:
        return "LookupHasher(<key>)"

    def digest(self, value: str, *, purpose: str) -> bytes:
        if not purpose:
            raise ValueError("give a purpose (such as 'identity.users.email') that names the column")
        message = purpose.encode("utf-8") + b"\x00" + value.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()
