"""Data keys in the service's own database (table ``data_keys``): created on first use, rotated, re-wrapped.

These functions run inside the caller's transaction and never commit. Creating, rotating and re-wrapping
take a transaction-scoped advisory lock, so processes starting or rotating together agree on one active
key; the unique index ``data_keys_one_active`` enforces it in any case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kairos.platform.crypto.keyring import WRAP_ALGORITHM, Keyring, WrappedKey
from kairos.platform.crypto.tokens import DataKey
from kairos.platform.db.schema import data_keys

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('kairos.data_keys'))")


@dataclass(frozen=True)
class DataKeyRecord:
    """What may be shown of a data key: never its material, wrapped or not."""

    id: UUID
    kek_id: str
    wrap_algorithm: str
    created_at: datetime
    retired_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


async def list_data_keys(session: AsyncSession) -> list[DataKeyRecord]:
    rows = await session.execute(
        select(
            data_keys.c.id,
            data_keys.c.kek_id,
            data_keys.c.wrap_algorithm,
            data_keys.c.created_at,
            data_keys.c.retired_at,
        ).order_by(data_keys.c.created_at, data_keys.c.id)
    )
    return [DataKeyRecord(**row._mapping) for row in rows]


async def load_data_key(session: AsyncSession, keyring: Keyring, data_key_id: UUID) -> DataKey | None:
    row = (await session.execute(select(data_keys).where(data_keys.c.id == data_key_id))).first()
    return None if row is None else _unwrapped(keyring, row)


def load_data_key_sync(session: Session, keyring: Keyring, data_key_id: UUID) -> DataKey | None:
    """``load_data_key`` for code on a synchronous session (identity's OAuth grants run in worker threads)."""
    row = session.execute(select(data_keys).where(data_keys.c.id == data_key_id)).first()
    return None if row is None else _unwrapped(keyring, row)


async def first_data_key(session: AsyncSession, keyring: Keyring) -> DataKey | None:
    """The database's oldest data key, active or retired: what its lookup key is derived from (data keys are never
    deleted, and keep their material when re-wrapped)."""
    row = (await session.execute(select(data_keys).order_by(data_keys.c.created_at, data_keys.c.id).limit(1))).first()
    return None if row is None else _unwrapped(keyring, row)


async def active_data_key(session: AsyncSession, keyring: Keyring) -> DataKey | None:
    row = (await session.execute(select(data_keys).where(data_keys.c.retired_at.is_(None)))).first()
    return None if row is None else _unwrapped(keyring, row)


async def ensure_active_data_key(session: AsyncSession, keyring: Keyring) -> DataKey:
    """The active data key, created (wrapped by the active key-encryption key) if the database has none."""
    found = await active_data_key(session, keyring)
    if found is not None:
        return found
    await session.execute(_LOCK)
    found = await active_data_key(session, keyring)  # created by another process while we waited
    return found if found is not None else await _create(session, keyring)


async def rotate_data_key(session: AsyncSession, keyring: Keyring) -> DataKey:
    """Retire the active data key and make a new one active; retired keys still decrypt what they encrypted."""
    await session.execute(_LOCK)
    await session.execute(update(data_keys).where(data_keys.c.retired_at.is_(None)).values(retired_at=func.now()))
    return await _create(session, keyring)


async def rewrap_data_keys(session: AsyncSession, keyring: Keyring) -> list[UUID]:
    """Wrap every data key not yet under the active key-encryption key with it; return their ids.

    Afterwards the other key-encryption keys wrap nothing in this database and may leave the keyring.
    """
    await session.execute(_LOCK)
    rows = (
        await session.execute(
            select(data_keys)
            .where(or_(data_keys.c.kek_id != keyring.active_id, data_keys.c.wrap_algorithm != WRAP_ALGORITHM))
            .order_by(data_keys.c.created_at, data_keys.c.id)
            .with_for_update()
        )
    ).all()
    for row in rows:
        material = _unwrapped(keyring, row).material
        rewrapped = keyring.wrap(material, data_key_id=row.id)
        await session.execute(
            update(data_keys)
            .where(data_keys.c.id == row.id)
            .values(wrapped_key=rewrapped.wrapped, kek_id=rewrapped.kek_id, wrap_algorithm=rewrapped.algorithm)
        )
    return [row.id for row in rows]


async def _create(session: AsyncSession, keyring: Keyring) -> DataKey:
    key = DataKey.generate()
    wrapped = keyring.wrap(key.material, data_key_id=key.id)
    await session.execute(
        insert(data_keys).values(
            id=key.id, wrapped_key=wrapped.wrapped, kek_id=wrapped.kek_id, wrap_algorithm=wrapped.algorithm
        )
    )
    return key


def _unwrapped(keyring: Keyring, row: Any) -> DataKey:
    wrapped = WrappedKey(kek_id=row.kek_id, algorithm=row.wrap_algorithm, wrapped=row.wrapped_key)
    return DataKey(row.id, keyring.unwrap(wrapped, data_key_id=row.id))
