"""``DataCipher``: how a service encrypts personal and health data at rest, one per service and process.

Unwrapped data keys stay in memory for the life of the process; the active one is looked up again after
``active_key_max_age`` seconds, so a rotation made by another process is followed without a restart
(until then this process keeps encrypting under the previous key, which stays valid).
"""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from kairos.platform.crypto import data_keys as store
from kairos.platform.crypto.data_keys import DataKeyRecord
from kairos.platform.crypto.keyring import Keyring
from kairos.platform.crypto.lookup import LookupHasher
from kairos.platform.crypto.tokens import DataKey, DecryptionFailed, decode_text, encode_text, token_data_key_id


class DataCipher:
    """``await cipher.encrypt(b"...", context=b"identity.users.email:<user id>")`` and back.

    The context names where the value lives (service, table, field, row id) and must be given again to
    decrypt; it is authenticated, not stored, so a value moved to another row or field does not decrypt.
    """

    def __init__(
        self,
        *,
        keyring: Keyring,
        sessionmaker: async_sessionmaker[AsyncSession],
        active_key_max_age: float = 300.0,
    ) -> None:
        self.keyring = keyring
        self._sessionmaker = sessionmaker
        self._active_key_max_age = active_key_max_age
        self._keys: dict[UUID, DataKey] = {}
        self._active: DataKey | None = None
        self._active_loaded_at = float("-inf")
        self._active_lock = asyncio.Lock()
        self._lookup: LookupHasher | None = None

    async def prepare(self) -> UUID:
        """Load (or create) the active data key now, at start-up, rather than on the first request."""
        return (await self._active_key()).id

    async def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        return (await self._active_key()).encrypt(plaintext, context=context)

    async def decrypt(self, token: bytes, *, context: bytes) -> bytes:
        """The plaintext, or ``DecryptionFailed`` when the token was altered or belongs to another context."""
        key = await self._key(token_data_key_id(token))
        return key.decrypt(token, context=context)

    async def encrypt_text(self, text: str, *, context: bytes) -> str:
        """Encrypt UTF-8 text into URL-safe base64 text, for text and JSON columns."""
        return encode_text(await self.encrypt(text.encode("utf-8"), context=context))

    async def decrypt_text(self, token: str, *, context: bytes) -> str:
        plaintext = await self.decrypt(decode_text(token), context=context)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed("the token holds bytes, not text: use decrypt") from None

    def decrypt_sync(self, token: bytes, *, context: bytes, session: Session) -> bytes:
        """``decrypt`` for code in a worker thread on a synchronous session of the same database (identity's
        OAuth grants): a data key not yet in memory is loaded through ``session``."""
        data_key_id = token_data_key_id(token)
        key = self._keys.get(data_key_id)
        if key is None:
            key = store.load_data_key_sync(session, self.keyring, data_key_id)
            if key is None:
                raise DecryptionFailed(f"this database has no data key {data_key_id}")
            key = self._keys.setdefault(key.id, key)
        return key.decrypt(token, context=context)

    def decrypt_text_sync(self, token: str, *, context: bytes, session: Session) -> str:
        plaintext = self.decrypt_sync(decode_text(token), context=context, session=session)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed("the token holds bytes, not text: use decrypt_sync") from None

    async def lookup_hash(self, value: str, *, purpose: str) -> bytes:
        """The keyed lookup hash ("blind index") of a value stored encrypted: ``kairos.platform.crypto.lookup``."""
        return (await self._lookup_hasher()).digest(value, purpose=purpose)

    async def rotate_data_key(self) -> DataKeyRecord:
        """Make a new data key active for this database; the retired ones still decrypt."""
        async with self._sessionmaker() as session, session.begin():
            key = await store.rotate_data_key(session, self.keyring)
            records = await store.list_data_keys(session)
        self._remember_active(key)
        return next(record for record in records if record.id == key.id)

    async def rewrap_data_keys(self) -> list[UUID]:
        """Re-wrap every data key of this database under the active key-encryption key; return their ids."""
        async with self._sessionmaker() as session, session.begin():
            return await store.rewrap_data_keys(session, self.keyring)

    async def list_data_keys(self) -> list[DataKeyRecord]:
        async with self._sessionmaker() as session:
            return await store.list_data_keys(session)

    async def _active_key(self) -> DataKey:
        if self._active is not None and self._is_fresh():
            return self._active
        async with self._active_lock:
            if self._active is None or not self._is_fresh():
                async with self._sessionmaker() as session, session.begin():
                    self._remember_active(await store.ensure_active_data_key(session, self.keyring))
            assert self._active is not None
            return self._active

    async def _lookup_hasher(self) -> LookupHasher:
        if self._lookup is None:
            await self._active_key()  # a database gets its first data key on first use
            async with self._sessionmaker() as session:
                first = await store.first_data_key(session, self.keyring)
            assert first is not None
            self._lookup = LookupHasher.derived_from(first)
        return self._lookup

    async def _key(self, data_key_id: UUID) -> DataKey:
        found = self._keys.get(data_key_id)
        if found is not None:
            return found
        async with self._sessionmaker() as session:
            loaded = await store.load_data_key(session, self.keyring, data_key_id)
        if loaded is None:
            raise DecryptionFailed(f"this database has no data key {data_key_id}")
        self._keys[loaded.id] = loaded
        return loaded

    def _remember_active(self, key: DataKey) -> None:
        self._active = self._keys.setdefault(key.id, key)
        self._active_loaded_at = time.monotonic()

    def _is_fresh(self) -> bool:
        return time.monotonic() - self._active_loaded_at < self._active_key_max_age
