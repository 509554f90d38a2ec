"""A producer and a consumer database with the platform tables, and a probe event that records its arrival.

The probe handler writes one row per handling into ``received`` (no unique constraint on purpose: a
duplicate handling would show as a second row).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kairos.platform.aio import cancel_and_wait
from kairos.platform.db.engine import asyncpg_dsn, create_engine, create_sessionmaker
from kairos.platform.db.migrate import PLATFORM_HISTORY, ensure_database, upgrade
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers, EventMeta, IntegrationEvent
from kairos.platform.events.consumer import EventConsumer
from kairos.platform.events.relay import OutboxRelay
from kairos.platform.events.transport import Transport
from kairos.platform.testing.infrastructure import unique_name


class ProbeHappened(IntegrationEvent):
    event_type: ClassVar[str] = "probe.happened"
    event_version: ClassVar[int] = 1

    seq: int


class UnrelatedHappened(IntegrationEvent):
    event_type: ClassVar[str] = "probe.unrelated"

    note: str


@dataclass
class Database:
    url: URL
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    async def scalar(self, sql: str, **params: object) -> object:
        async with self.engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()

    async def rows(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        async with self.engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql), params)).all()]


async def platform_database(server_url: str, prefix: str, name: str) -> Database:
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=f"{prefix}{unique_name(name + '_')}")
    await ensure_database(url)
    await upgrade(url, [PLATFORM_HISTORY])
    engine = create_engine(url, pool_size=5)
    return Database(url, engine, create_sessionmaker(engine))


@dataclass
class Probe:
    """The consuming side: its handler records every handling, and can be told to fail."""

    database: Database
    name: str
    failing_seqs: set[int] = field(default_factory=set)
    handling_time: float = 0.0  # seconds each handling takes, to keep events in flight
    attempts: dict[int, list[float]] = field(default_factory=dict)

    def consumer(self) -> EventConsumer:
        handlers = EventHandlers[UnitOfWork]()

        @handlers.on(ProbeHappened)
        async def record(event: ProbeHappened, meta: EventMeta, uow: UnitOfWork) -> None:
            self.attempts.setdefault(event.seq, []).append(time.monotonic())
            if event.seq in self.failing_seqs:
                raise RuntimeError(f"probe {event.seq} refused")
            if self.handling_time:
                await asyncio.sleep(self.handling_time)
            await uow.session.execute(
                text("INSERT INTO received (event_id, subject, seq) VALUES (:id, :subject, :seq)"),
                {"id": meta.id, "subject": meta.subject, "seq": event.seq},
            )

        return EventConsumer(
            name=self.name,
            handlers=handlers,
            unit_of_work=lambda: UnitOfWork(self.database.sessionmaker, producer=self.name),
            sessionmaker=self.database.sessionmaker,
        )

    async def received_count(self) -> int:
        return int(await self.database.scalar("SELECT count(*) FROM received"))  # type: ignore[arg-type]

    async def wait_for(self, predicate: Callable[[int], bool], *, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while True:
            count = await self.received_count()
            if predicate(count) or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.05)


async def probe(server_url: str, prefix: str) -> Probe:
    database = await platform_database(server_url, prefix, "consumer")
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TABLE received (n bigserial PRIMARY KEY, event_id uuid NOT NULL, subject text NOT NULL,"
                " seq int NOT NULL, handled_at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
        )
    return Probe(database=database, name=unique_name("probe-"))


async def publish(database: Database, events: list[tuple[str, IntegrationEvent]], *, commit: bool = True) -> None:
    """Write (subject, event) pairs through a unit of work, committing or rolling back."""
    async with UnitOfWork(database.sessionmaker, producer="producer") as uow:
        for subject, event in events:
            uow.publish(event, subject=subject)
        if commit:
            await uow.commit()


@contextlib.asynccontextmanager
async def running_relay(
    producer: Database, transport: Transport, *, batch_size: int = 200
) -> AsyncIterator[OutboxRelay]:
    """The producer's outbox relay, running in the background for the duration of the block."""
    relay = OutboxRelay(
        service="producer",
        sessionmaker=producer.sessionmaker,
        listen_dsn=asyncpg_dsn(producer.url),
        transport=transport,
        batch_size=batch_size,
        poll_interval=0.2,
        retention=timedelta(hours=1),
    )
    running = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        await cancel_and_wait([running])
