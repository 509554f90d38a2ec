"""Use cases of consent records (issue 4 §10): a person grants, withdraws and reads the history of their own
consents. Decisions are the domain's (``kairos.identity.domain.consents``); every access is audited and every
change published, so that the services acting on a purpose learn of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import RowMapping, insert, select, update

from kairos.contracts.events.identity import ConsentGranted, ConsentWithdrawn
from kairos.identity.domain import consents as domain
from kairos.identity.domain.consents import ClosedBy, ConsentRecord
from kairos.identity.tables import consents
from kairos.platform import audit
from kairos.platform.auth.principal import Principal
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import PageRequest, keyset, page_of
from kairos.platform.ids import new_id

RESOURCE = "identity.consent"


def _record(row: RowMapping) -> ConsentRecord:
    return ConsentRecord(
        id=row["id"],
        user_id=row["user_id"],
        purpose=row["purpose"],
        version=row["version"],
        granted_at=row["granted_at"],
        closed_at=row["closed_at"],
        closed_by=ClosedBy(row["closed_by"]) if row["closed_by"] else None,
    )


async def _current(uow: UnitOfWork, user_id: uuid.UUID, purpose: str) -> list[ConsentRecord]:
    rows = await uow.session.execute(
        select(consents)
        .where(consents.c.user_id == user_id, consents.c.purpose == purpose, consents.c.closed_at.is_(None))
        .with_for_update()
    )
    return [_record(row) for row in rows.mappings()]


async def _close(uow: UnitOfWork, record: ConsentRecord) -> None:
    assert record.closed_by is not None
    await uow.session.execute(
        update(consents)
        .where(consents.c.id == record.id, consents.c.closed_at.is_(None))
        .values(closed_at=record.closed_at, closed_by=record.closed_by.value)
    )


@dataclass(frozen=True)
class Granted:
    record: ConsentRecord
    is_new: bool  # False: this version was agreed already, nothing changed


async def grant_consent(*, uow: UnitOfWork, by: Principal, user_id: uuid.UUID, purpose: str, version: str) -> Granted:
    """Agree to the current version of a purpose; agreeing to it again changes nothing."""
    async with uow:
        current = await _current(uow, user_id, purpose)
        now = uow.clock.now()
        decided = domain.grant(
            current, record_id=new_id(), user_id=user_id, purpose_name=purpose, version=version, at=now
        )
        if decided.added is None:
            same = next(record for record in current if record.version == version)
            return Granted(same, is_new=False)
        for closed in decided.closed:
            await _close(uow, closed)
        added = decided.added
        await uow.session.execute(
            insert(consents).values(
                id=added.id, user_id=user_id, purpose=added.purpose, version=added.version, granted_at=added.granted_at
            )
        )
        uow.publish(
            ConsentGranted(user_id=user_id, purpose=purpose, version=version, granted_at=now), subject=f"user:{user_id}"
        )
        audit.record(
            uow,
            actor=by,
            action="create",
            resource_type=RESOURCE,
            resource_id=added.id,
            data_subject=user_id,
            fields=("purpose", "version"),
        )
        await uow.commit()
    return Granted(added, is_new=True)


async def withdraw_consent(*, uow: UnitOfWork, by: Principal, user_id: uuid.UUID, purpose: str) -> ConsentRecord:
    """Withdraw the current consent to a purpose (GDPR Art. 7(3)); the closed record is returned."""
    async with uow:
        current = await _current(uow, user_id, purpose)
        now = uow.clock.now()
        closed = domain.withdraw(current, purpose_name=purpose, at=now)
        await _close(uow, closed)
        uow.publish(ConsentWithdrawn(user_id=user_id, purpose=purpose, withdrawn_at=now), subject=f"user:{user_id}")
        audit.record(
            uow,
            actor=by,
            action="update",
            resource_type=RESOURCE,
            resource_id=closed.id,
            data_subject=user_id,
            fields=("closed_at", "closed_by"),
        )
        await uow.commit()
    return closed


async def consent_history(
    *, uow: UnitOfWork, by: Principal, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[ConsentRecord], str | None]:
    """Every consent record of the person, oldest first; the read is audited."""
    async with uow:
        query = select(consents).where(consents.c.user_id == user_id)
        rows = (await uow.session.execute(keyset(query, [consents.c.granted_at, consents.c.id], page))).mappings().all()
        items, next_cursor = page_of(rows, page, key=lambda row: (row["granted_at"], row["id"]))
        audit.record(
            uow,
            actor=by,
            action="read",
            resource_type=RESOURCE,
            resource_id=f"user:{user_id}",
            data_subject=user_id,
            fields=("purpose", "version", "granted_at", "closed_at", "closed_by"),
        )
        await uow.commit()
    return [_record(row) for row in items], next_cursor
