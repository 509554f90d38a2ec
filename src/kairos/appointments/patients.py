"""Who a practice's patients are: their display names, kept from identity's events.

Appointments know a patient by identity's subject only; the practice needs a name to greet them by. Identity
says it twice: ``identity.user.registered`` (the name given at sign-up) and ``identity.profile.updated`` (each
change). Each is applied as an upsert that keeps the newest by the event's own time, so a redelivered or late
older event changes nothing. The name is personal data: sealed with the service's data cipher like an
appointment's message (``kairos.platform.crypto``), each read of it audited with the appointment it is shown
with (``access_audit.READ_FIELDS``), deleted on erasure (``privacy``). Names are kept for every account, since
a registration arrives before its first request; the row is small and the same as identity's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.appointments.tables import patient_names
from kairos.platform.crypto.cipher import DataCipher


def name_context(user_id: str) -> bytes:
    return f"appointments.patient_names.display_name:{user_id}".encode()


async def record_name(
    session: AsyncSession, cipher: DataCipher, *, user_id: str, display_name: str, changed_at: datetime
) -> None:
    """Keep a person's display name, unless a newer one is kept already."""
    sealed = await cipher.encrypt_text(display_name, context=name_context(user_id))
    incoming = pg_insert(patient_names).values(user_id=user_id, display_name=sealed, changed_at=changed_at)
    await session.execute(
        incoming.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"display_name": incoming.excluded.display_name, "changed_at": incoming.excluded.changed_at},
            where=patient_names.c.changed_at <= changed_at,
        )
    )


async def names_of(session: AsyncSession, cipher: DataCipher, user_ids: Iterable[str]) -> dict[str, str]:
    """The display names known of these people (the caller audits the read with what it shows them with)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    rows = await session.execute(select(patient_names).where(patient_names.c.user_id.in_(wanted)))
    return {row.user_id: await cipher.decrypt_text(row.display_name, context=name_context(row.user_id)) for row in rows}


async def forget_name(session: AsyncSession, user_id: str) -> int:
    """Erasure: the name goes (appointments keep a pseudonym instead of the account); how many rows went."""
    deleted = await session.execute(delete(patient_names).where(patient_names.c.user_id == user_id))
    return int(deleted.rowcount)  # type: ignore[attr-defined]
