"""The all-in-one transport: events go from the relay straight to every subscribed service in the process.

``publish`` returns only when each consumer has handled the event or durably deferred it in its own
database (table ``deferred_events``), so an event the relay marks published is never lost. A worker per
consumer retries deferred events with back-off and parks them after the last delay; replaying a parked
event makes it due again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kairos.platform.aio import cancel_and_wait
from kairos.platform.db.schema import deferred_events
from kairos.platform.events.consumer import EventConsumer, PermanentEventError
from kairos.platform.events.envelope import Envelope
from kairos.platform.events.parking import ParkedEvent, next_retry_delay
from kairos.platform.observability import metrics

log = structlog.get_logger(__name__)


class InProcessTransport:
    def __init__(self, *, retry_delays: Sequence[float] = (1.0, 5.0, 30.0, 120.0), poll_interval: float = 0.5) -> None:
        self._retry_delays = tuple(retry_delays)
        self._poll_interval = poll_interval
        self._consumers: dict[str, EventConsumer] = {}
        self._workers: list[asyncio.Task[None]] = []

    def subscribe(self, consumer: EventConsumer) -> None:
        self._consumers[consumer.name] = consumer

    async def start(self) -> None:
        for consumer in self._consumers.values():
            self._workers.append(asyncio.create_task(self._retry_deferred(consumer), name=f"{consumer.name}-retries"))

    async def stop(self) -> None:
        await cancel_and_wait(self._workers)
        self._workers.clear()

    async def is_ready(self) -> bool:
        return True

    async def declare(self, consumer: str, event_types: Sequence[str]) -> None:
        """Nothing to prepare: subscribers are known in-process."""

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            for consumer in self._consumers.values():
                if consumer.handlers.handles(envelope.type):
                    await self._deliver(consumer, envelope, failed_before=0)

    async def _deliver(self, consumer: EventConsumer, envelope: Envelope, *, failed_before: int) -> None:
        failure = await self._attempt(consumer, envelope, failed_before=failed_before)
        if failure is not None:
            statement = pg_insert(deferred_events).values(
                event_id=envelope.id, consumer=consumer.name, envelope=envelope.model_dump(mode="json"), **failure
            )
            async with consumer.sessionmaker() as session, session.begin():
                await session.execute(
                    statement.on_conflict_do_update(index_elements=["event_id", "consumer"], set_=failure)
                )

    async def _attempt(
        self, consumer: EventConsumer, envelope: Envelope, *, failed_before: int
    ) -> dict[str, object] | None:
        """Handle once; None on success, else the ``deferred_events`` values of the next attempt (or parking)."""
        try:
            await consumer.handle(envelope, attempt=failed_before + 1)
            return None
        except PermanentEventError as error:
            return self._failure(consumer, envelope, failed=failed_before + 1, error=error, park=True)
        except Exception as error:
            return self._failure(consumer, envelope, failed=failed_before + 1, error=error, park=False)

    def _failure(
        self, consumer: EventConsumer, envelope: Envelope, *, failed: int, error: Exception, park: bool
    ) -> dict[str, object]:
        delay = None if park else next_retry_delay(failed, self._retry_delays)
        now = datetime.now(UTC)
        outcome = "parked" if delay is None else "retried"
        log.warning(
            f"event.{outcome}",
            consumer=consumer.name,
            event_id=str(envelope.id),
            event_type=envelope.type,
            attempts=failed,
            error=repr(error),
        )
        metrics.EVENTS_HANDLED.labels(consumer.name, envelope.type, outcome).inc()
        return {
            "attempts": failed,
            "last_error": repr(error)[:2000],
            "next_attempt_at": None if delay is None else now + timedelta(seconds=delay),
            "parked_at": now if delay is None else None,
        }

    async def _retry_deferred(self, consumer: EventConsumer) -> None:
        while True:
            try:
                await self.retry_due(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("event.retry_sweep_failed", consumer=consumer.name, error=repr(error))
            await asyncio.sleep(self._poll_interval)

    async def retry_due(self, consumer: EventConsumer) -> int:
        """Attempt every deferred event whose time has come; return how many were attempted."""
        async with consumer.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(deferred_events.c.event_id, deferred_events.c.envelope, deferred_events.c.attempts)
                    .where(
                        deferred_events.c.consumer == consumer.name,
                        deferred_events.c.parked_at.is_(None),
                        deferred_events.c.next_attempt_at <= func.now(),
                    )
                    .order_by(deferred_events.c.next_attempt_at)
                    .limit(50)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            depth = await session.scalar(
                select(func.count()).select_from(deferred_events).where(deferred_events.c.consumer == consumer.name)
            )
            metrics.CONSUMER_QUEUE_DEPTH.labels(consumer.name).set(depth or 0)
            for event_id, envelope_data, attempts in rows:
                this_row = (deferred_events.c.event_id == event_id) & (deferred_events.c.consumer == consumer.name)
                envelope = Envelope.model_validate(envelope_data)
                failure = await self._attempt(consumer, envelope, failed_before=attempts)
                if failure is None:
                    await session.execute(delete(deferred_events).where(this_row))
                else:
                    await session.execute(update(deferred_events).where(this_row).values(**failure))
        return len(rows)

    # Parking lot, for the `kairos events` command and the tests.

    async def list_parked(self, consumer: str, *, limit: int = 100) -> list[ParkedEvent]:
        target = self._consumers[consumer]
        async with target.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(deferred_events)
                    .where(deferred_events.c.consumer == consumer, deferred_events.c.parked_at.is_not(None))
                    .order_by(deferred_events.c.parked_at)
                    .limit(limit)
                )
            ).mappings()
            return [
                ParkedEvent(
                    consumer=consumer,
                    envelope=Envelope.model_validate(row["envelope"]),
                    attempts=row["attempts"],
                    error=row["last_error"],
                    parked_at=row["parked_at"],
                )
                for row in rows
            ]

    async def replay(self, consumer: str, event_ids: Sequence[UUID] | None = None) -> int:
        target = self._consumers[consumer]
        statement = (
            update(deferred_events)
            .where(deferred_events.c.consumer == consumer, deferred_events.c.parked_at.is_not(None))
            .values(parked_at=None, attempts=0, next_attempt_at=func.now())
        )
        if event_ids is not None:
            statement = statement.where(deferred_events.c.event_id.in_(list(event_ids)))
        async with target.sessionmaker() as session, session.begin():
            result = await session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]
