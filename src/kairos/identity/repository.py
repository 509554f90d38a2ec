"""Accounts at rest: the e-mail address and the display name are encrypted with the service's data cipher, each
under a context naming its table, column and person (``identity.users.email:<user id>``); the address is found by
its keyed lookup hash (``users.email_lookup``, unique; ``kairos.platform.crypto.lookup``), never by its value.

Every reader goes through ``load_account_record`` (or ``open_account`` for rows it selected itself), every writer
through ``sealed_account``: nothing else in identity encrypts or decrypts these two columns.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import RowMapping, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kairos.identity.tables import users
from kairos.platform.crypto import DataCipher
from kairos.platform.db.uow import UnitOfWork

log = structlog.get_logger(__name__)

EMAIL_LOOKUP = "identity.users.email"  # the lookup hash's purpose: a hash made for another column never matches

ACCOUNT_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.display_name,
    users.c.locale,
    users.c.zone,
    users.c.global_roles,
    users.c.email_verified_at,
    users.c.disabled_at,
    users.c.created_at,
    users.c.erased_at,
)  # never the password hash


def field_context(table: str, column: str, user_id: uuid.UUID) -> bytes:
    """The encryption context of one personal field: where it lives, so a copied value does not decrypt."""
    return f"identity.{table}.{column}:{user_id}".encode()


def normalised_email(email: str) -> str:
    return email.strip().lower()


async def email_lookup(cipher: DataCipher, email: str) -> bytes:
    """What ``users.email_lookup`` holds for this address (normalised here): compare with it, never with ``email``."""
    return await cipher.lookup_hash(normalised_email(email), purpose=EMAIL_LOOKUP)


async def sealed_account(
    cipher: DataCipher, user_id: uuid.UUID, *, email: str | None = None, display_name: str | None = None
) -> dict[str, Any]:
    """The ``users`` values to write for a new address and/or display name: encrypted, and the address's hash."""
    values: dict[str, Any] = {}
    if email is not None:
        normalised = normalised_email(email)
        values["email"] = await cipher.encrypt_text(normalised, context=field_context("users", "email", user_id))
        values["email_lookup"] = await email_lookup(cipher, normalised)
    if display_name is not None:
        context = field_context("users", "display_name", user_id)
        values["display_name"] = await cipher.encrypt_text(display_name, context=context)
    return values


async def sealed_user_agent(cipher: DataCipher, session_id: uuid.UUID, user_agent: str) -> str | None:
    """What ``browser_sessions.user_agent`` holds: the browser's self-description, encrypted (it can single a
    person out); None for a browser that sent none."""
    if not user_agent:
        return None
    context = field_context("browser_sessions", "user_agent", session_id)
    return await cipher.encrypt_text(user_agent[:500], context=context)


async def open_user_agent(cipher: DataCipher, session_id: uuid.UUID, sealed: str | None) -> str | None:
    if sealed is None:
        return None
    return await cipher.decrypt_text(sealed, context=field_context("browser_sessions", "user_agent", session_id))


async def open_display_name(cipher: DataCipher, user_id: uuid.UUID, sealed: str) -> str:
    """A display name selected with another table's row (a professional profile joined to its account)."""
    return await cipher.decrypt_text(sealed, context=field_context("users", "display_name", user_id))


@dataclass(frozen=True)
class AccountRecord:
    """An account as stored, its address and name decrypted; never the password hash."""

    id: uuid.UUID
    email: str
    display_name: str
    locale: str
    zone: str
    global_roles: tuple[str, ...]
    email_verified_at: datetime | None
    disabled_at: datetime | None
    created_at: datetime
    erased_at: datetime | None

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_at is not None


async def open_account(cipher: DataCipher, row: RowMapping) -> AccountRecord:
    """An account from a row of ``ACCOUNT_COLUMNS``."""
    user_id = row["id"]
    email = await cipher.decrypt_text(row["email"], context=field_context("users", "email", user_id))
    display_name = await open_display_name(cipher, user_id, row["display_name"])
    return _record(row, email=email, display_name=display_name)


async def load_account_record(
    session: AsyncSession,
    cipher: DataCipher,
    *,
    user_id: uuid.UUID | None = None,
    email: str | None = None,
    is_enabled: bool = False,
) -> AccountRecord | None:
    """The account with this id, or using this address (``is_enabled``: only if not disabled)."""
    query = _account_query(user_id=user_id, email_hash=None if email is None else await email_lookup(cipher, email))
    if is_enabled:
        query = query.where(users.c.disabled_at.is_(None))
    row = (await session.execute(query)).mappings().first()
    return None if row is None else await open_account(cipher, row)


def load_account_record_sync(
    session: Session, cipher: DataCipher, user_id: uuid.UUID, *, is_enabled: bool = False
) -> AccountRecord | None:
    """``load_account_record`` by id, for the OAuth grants (Authlib runs them in worker threads on a sync session)."""
    query = _account_query(user_id=user_id, email_hash=None)
    if is_enabled:
        query = query.where(users.c.disabled_at.is_(None))
    row = session.execute(query).mappings().first()
    if row is None:
        return None
    email = cipher.decrypt_text_sync(row["email"], context=field_context("users", "email", user_id), session=session)
    name_context = field_context("users", "display_name", user_id)
    display_name = cipher.decrypt_text_sync(row["display_name"], context=name_context, session=session)
    return _record(row, email=email, display_name=display_name)


async def display_name_of(session: AsyncSession, cipher: DataCipher, user_id: uuid.UUID) -> str | None:
    sealed = await session.scalar(select(users.c.display_name).where(users.c.id == user_id))
    return None if sealed is None else await open_display_name(cipher, user_id, sealed)


async def seal_clear_accounts(*, unit_of_work: Callable[[], UnitOfWork], batch: int = 200) -> int:
    """Encrypt the addresses and names written in clear before migration 0009 (rows without a lookup hash), in
    batches; how many were sealed. Run at start-up: instances starting together share the rows (SKIP LOCKED)."""
    sealed = 0
    while True:
        async with unit_of_work() as uow:
            rows = (
                await uow.session.execute(
                    select(users.c.id, users.c.email, users.c.display_name)
                    .where(users.c.email_lookup.is_(None))
                    .order_by(users.c.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                values = await sealed_account(uow.cipher, row.id, email=row.email, display_name=row.display_name)
                await uow.session.execute(update(users).where(users.c.id == row.id).values(**values))
            await uow.commit()
        if not rows:
            break
        sealed += len(rows)
    if sealed:
        log.info("identity.accounts_sealed", count=sealed)
    return sealed


def _account_query(*, user_id: uuid.UUID | None, email_hash: bytes | None) -> Select[Any]:
    if (user_id is None) == (email_hash is None):
        raise ValueError("give either a user id or an e-mail address")
    found_by = users.c.id == user_id if user_id is not None else users.c.email_lookup == email_hash
    return select(*ACCOUNT_COLUMNS).where(found_by)


def _record(row: RowMapping, *, email: str, display_name: str) -> AccountRecord:
    return AccountRecord(
        id=row["id"],
        email=email,
        display_name=display_name,
        locale=row["locale"],
        zone=row["zone"],
        global_roles=tuple(row["global_roles"]),
        email_verified_at=row["email_verified_at"],
        disabled_at=row["disabled_at"],
        created_at=row["created_at"],
        erased_at=row["erased_at"],
    )
