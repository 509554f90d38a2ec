"""Storage of calendar feeds and imported busy time, through the unit of work's session; never commits."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.appointments.domain.availability import ImportedBusyTime
from kairos.appointments.live import SLOTS_CHANNEL
from kairos.appointments.tables import calendar_feeds, calendar_imports, imported_busy_times


@dataclass(frozen=True)
class CalendarImport:
    id: UUID
    resource_id: UUID
    source: str  # file, url
    url: str | None
    name: str
    created_by: str
    created_at: datetime
    refreshed_at: datetime | None
    next_refresh_at: datetime | None
    last_error: str | None
    busy_count: int


async def imported_busy(
    session: AsyncSession, resource_id: UUID, *, start: datetime, end: datetime
) -> list[ImportedBusyTime]:
    """A resource's imported busy time that overlaps ``[start, end)``, as the slot engine sees it."""
    return (await imported_busy_of(session, [resource_id], start=start, end=end)).get(resource_id, [])


async def imported_busy_of(
    session: AsyncSession, resource_ids: Iterable[UUID], *, start: datetime, end: datetime
) -> dict[UUID, list[ImportedBusyTime]]:
    wanted = list(resource_ids)
    found: dict[UUID, list[ImportedBusyTime]] = defaultdict(list)
    if not wanted:
        return found
    rows = await session.execute(
        select(imported_busy_times.c.resource_id, imported_busy_times.c.starts_at, imported_busy_times.c.ends_at).where(
            imported_busy_times.c.resource_id.in_(wanted),
            imported_busy_times.c.ends_at > start,
            imported_busy_times.c.starts_at < end,
        )
    )
    for row in rows:
        found[row.resource_id].append(ImportedBusyTime(starts_at=row.starts_at, ends_at=row.ends_at))
    return found


async def put_feed(session: AsyncSession, *, resource_id: UUID, token_hash: str, by: str, at: datetime) -> None:
    """Give the resource a feed with this token (replacing any earlier token: the old URL stops working)."""
    values = {"token_hash": token_hash, "created_by": by, "created_at": at}
    await session.execute(
        pg_insert(calendar_feeds)
        .values(resource_id=resource_id, **values)
        .on_conflict_do_update(index_elements=["resource_id"], set_=values)
    )


async def delete_feed(session: AsyncSession, resource_id: UUID) -> bool:
    deleted = await session.execute(delete(calendar_feeds).where(calendar_feeds.c.resource_id == resource_id))
    return bool(deleted.rowcount)  # type: ignore[attr-defined]


async def feed_resource(session: AsyncSession, token_hash: str) -> UUID | None:
    found: UUID | None = await session.scalar(
        select(calendar_feeds.c.resource_id).where(calendar_feeds.c.token_hash == token_hash)
    )
    return found


async def add_import(session: AsyncSession, calendar_import: CalendarImport) -> None:
    await session.execute(
        insert(calendar_imports).values(
            id=calendar_import.id,
            resource_id=calendar_import.resource_id,
            source=calendar_import.source,
            url=calendar_import.url,
            name=calendar_import.name,
            created_by=calendar_import.created_by,
            created_at=calendar_import.created_at,
            next_refresh_at=calendar_import.next_refresh_at,
        )
    )


async def imports_of(session: AsyncSession, resource_id: UUID) -> list[CalendarImport]:
    rows = (
        await session.execute(
            select(calendar_imports)
            .where(calendar_imports.c.resource_id == resource_id)
            .order_by(calendar_imports.c.created_at, calendar_imports.c.id)
        )
    ).mappings()
    return [CalendarImport(**row) for row in rows]


async def calendar_import(session: AsyncSession, import_id: UUID, *, for_update: bool = False) -> CalendarImport | None:
    statement = select(calendar_imports).where(calendar_imports.c.id == import_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).mappings().first()
    return None if row is None else CalendarImport(**row)


async def delete_import(session: AsyncSession, calendar_import: CalendarImport) -> None:
    await session.execute(delete(calendar_imports).where(calendar_imports.c.id == calendar_import.id))
    await notify_slots_changed(session, calendar_import.resource_id)


async def due_imports(session: AsyncSession, *, now: datetime, limit: int) -> list[CalendarImport]:
    """URL imports due for a refresh, locked so that another instance skips them (FOR UPDATE SKIP LOCKED)."""
    rows = (
        await session.execute(
            select(calendar_imports)
            .where(calendar_imports.c.source == "url", calendar_imports.c.next_refresh_at <= now)
            .order_by(calendar_imports.c.next_refresh_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).mappings()
    return [CalendarImport(**row) for row in rows]


async def replace_busy(
    session: AsyncSession,
    calendar_import: CalendarImport,
    busy: Sequence[ImportedBusyTime],
    *,
    at: datetime,
    next_refresh_at: datetime | None,
) -> None:
    """The import's busy time is now exactly ``busy``; slot watchers of the resource hear of it on commit."""
    await session.execute(delete(imported_busy_times).where(imported_busy_times.c.import_id == calendar_import.id))
    if busy:
        await session.execute(
            insert(imported_busy_times),
            [
                {
                    "import_id": calendar_import.id,
                    "resource_id": calendar_import.resource_id,
                    "starts_at": block.starts_at,
                    "ends_at": block.ends_at,
                }
                for block in busy
            ],
        )
    await session.execute(
        update(calendar_imports)
        .where(calendar_imports.c.id == calendar_import.id)
        .values(refreshed_at=at, next_refresh_at=next_refresh_at, last_error=None, busy_count=len(busy))
    )
    await notify_slots_changed(session, calendar_import.resource_id)


async def record_failure(
    session: AsyncSession, calendar_import: CalendarImport, *, error: str, next_refresh_at: datetime | None
) -> None:
    """A refresh failed: the busy time read last stays, the error is shown, and it is tried again later."""
    await session.execute(
        update(calendar_imports)
        .where(calendar_imports.c.id == calendar_import.id)
        .values(last_error=error[:2000], next_refresh_at=next_refresh_at)
    )


async def notify_slots_changed(session: AsyncSession, resource_id: UUID) -> None:
    # Delivered by PostgreSQL when (and only if) the transaction commits, to every instance listening.
    payload = json.dumps({"resource_id": str(resource_id), "from": None, "until": None})
    await session.execute(select(func.pg_notify(SLOTS_CHANNEL, payload)))
