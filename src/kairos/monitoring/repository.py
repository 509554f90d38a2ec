"""Loading and saving monitoring's records; never commits (the unit of work does)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.contracts.events.audit import AuditRecorded
from kairos.monitoring.domain.audit_chain import GENESIS, AuditEntry, StoredEntry, link_hash
from kairos.monitoring.tables import audit_trail, service_instances
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import PageRequest, keyset


class ServiceInstanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record_start(self, *, service: str, instance: str, version: str, started_at: datetime) -> None:
        values = {"service": service, "instance": instance, "version": version, "started_at": started_at}
        await self._session.execute(
            pg_insert(service_instances)
            .values(**values)
            .on_conflict_do_update(index_elements=["instance"], set_=values)
        )

    async def page(self, page: PageRequest, *, service: str | None = None) -> list[Any]:
        statement = select(service_instances)
        if service is not None:
            statement = statement.where(service_instances.c.service == service)
        order = [service_instances.c.service, service_instances.c.instance]
        return list((await self._session.execute(keyset(statement, order, page))).mappings())


# Appends take this transaction-scoped advisory lock, so the chain has one head at a time.
AUDIT_CHAIN_LOCK = 0x6B616972_61756474  # "kairaudt"


@dataclass(frozen=True)
class AuditFilter:
    data_subject: str | None = None
    actor: str | None = None
    service: str | None = None
    recorded_from: datetime | None = None
    recorded_before: datetime | None = None


class AuditTrailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, event: AuditRecorded, *, event_id: UUID) -> StoredEntry | None:
        """Chain the record after the newest entry; None when this event is already in the trail."""
        await self._session.execute(select(func.pg_advisory_xact_lock(AUDIT_CHAIN_LOCK)))
        if await self._session.scalar(select(audit_trail.c.position).where(audit_trail.c.event_id == event_id)):
            return None
        head = (
            await self._session.execute(
                select(audit_trail.c.position, audit_trail.c.hash).order_by(audit_trail.c.position.desc()).limit(1)
            )
        ).first()
        position, previous_hash = (head.position + 1, head.hash) if head is not None else (1, GENESIS)
        entry = AuditEntry(
            position=position,
            event_id=str(event_id),
            service=event.service,
            actor=event.actor,
            actor_client=event.actor_client,
            action=event.action,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            data_subject=event.data_subject,
            fields=tuple(event.fields),
            purpose=event.purpose,
            recorded_at=event.recorded_at,
        )
        stored = StoredEntry(entry=entry, previous_hash=previous_hash, hash=link_hash(previous_hash, entry))
        await self._session.execute(
            audit_trail.insert().values(
                position=position,
                event_id=event_id,
                service=entry.service,
                actor=entry.actor,
                actor_client=entry.actor_client,
                action=entry.action,
                resource_type=entry.resource_type,
                resource_id=entry.resource_id,
                data_subject=entry.data_subject,
                fields=list(entry.fields),
                purpose=entry.purpose,
                recorded_at=entry.recorded_at,
                previous_hash=stored.previous_hash,
                hash=stored.hash,
            )
        )
        return stored

    async def page(self, criteria: AuditFilter, page: PageRequest) -> list[StoredEntry]:
        """Entries that match, oldest first (by position)."""
        statement = select(audit_trail)
        if criteria.data_subject is not None:
            statement = statement.where(audit_trail.c.data_subject == criteria.data_subject)
        if criteria.actor is not None:
            statement = statement.where(audit_trail.c.actor == criteria.actor)
        if criteria.service is not None:
            statement = statement.where(audit_trail.c.service == criteria.service)
        if criteria.recorded_from is not None:
            statement = statement.where(audit_trail.c.recorded_at >= criteria.recorded_from)
        if criteria.recorded_before is not None:
            statement = statement.where(audit_trail.c.recorded_at < criteria.recorded_before)
        rows = await self._session.execute(keyset(statement, [audit_trail.c.position], page))
        return [_stored(row) for row in rows.mappings()]

    async def in_order(self, *, batch: int = 1000) -> AsyncIterator[StoredEntry]:
        """Every entry by position, read in batches (the trail may be long)."""
        after = 0
        while True:
            rows = (
                await self._session.execute(
                    select(audit_trail)
                    .where(audit_trail.c.position > after)
                    .order_by(audit_trail.c.position)
                    .limit(batch)
                )
            ).mappings()
            found = [_stored(row) for row in rows]
            for stored in found:
                yield stored
            if len(found) < batch:
                return
            after = found[-1].entry.position


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(
        entry=AuditEntry(
            position=row["position"],
            event_id=str(row["event_id"]),
            service=row["service"],
            actor=row["actor"],
            actor_client=row["actor_client"],
            action=row["action"],
            resource_type=row["resource_type"],
            resource_id=row["resource_id"],
            data_subject=row["data_subject"],
            fields=tuple(row["fields"]),
            purpose=row["purpose"],
            recorded_at=row["recorded_at"],
        ),
        previous_hash=row["previous_hash"],
        hash=row["hash"],
    )


class MonitoringUnitOfWork(UnitOfWork):
    instances: ServiceInstanceRepository
    audit: AuditTrailRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.instances = ServiceInstanceRepository(self.session)
        self.audit = AuditTrailRepository(self.session)
        return self
