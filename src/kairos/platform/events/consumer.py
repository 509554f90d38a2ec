"""The receiving side: inbox de-duplication and the handler in one transaction, the same on both transports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum

import structlog
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kairos.platform.db.schema import inbox
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events.envelope import Envelope, EventMeta
from kairos.platform.events.handlers import EventHandlers, UnknownEventVersion
from kairos.platform.observability import metrics
from kairos.platform.observability.context import correlation_id_var
from kairos.platform.observability.tracing import continue_trace

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class PermanentEventError(Exception):
    """No retry can help (the data does not match the contract): the event is parked at once."""


class EventConsumer:
    """One service's consumer: its name is the queue, its handlers decide the bindings."""

    def __init__(
        self,
        *,
        name: str,
        handlers: EventHandlers[UnitOfWork],
        unit_of_work: Callable[[], UnitOfWork],
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        self.name = name
        self.handlers = handlers
        self.unit_of_work = unit_of_work
        self.sessionmaker = sessionmaker

    @property
    def event_types(self) -> tuple[str, ...]:
        return self.handlers.event_types

    async def handle(self, envelope: Envelope, *, attempt: int = 1) -> Outcome:
        """Handle an event exactly once: record its id in the inbox and run the handler in one commit.

        Raises what the handler raised (the transport retries), or ``PermanentEventError``.
        """
        try:
            resolved = self.handlers.resolve(envelope)
        except (UnknownEventVersion, ValidationError) as error:
            raise PermanentEventError(f"{envelope.type} v{envelope.version}: {error}") from error
        if resolved is None:
            metrics.EVENTS_HANDLED.labels(self.name, envelope.type, Outcome.IGNORED).inc()
            return Outcome.IGNORED
        handler, event = resolved
        meta = EventMeta(
            id=envelope.id,
            occurred_at=envelope.occurred_at,
            producer=envelope.producer,
            subject=envelope.subject,
            correlation_id=envelope.correlation_id,
            attempt=attempt,
        )
        token = correlation_id_var.set(envelope.correlation_id)
        try:
            with (
                structlog.contextvars.bound_contextvars(
                    service=self.name,
                    correlation_id=envelope.correlation_id,
                    event_id=str(envelope.id),
                    event_type=envelope.type,
                ),
                continue_trace(
                    f"{envelope.type} process",
                    traceparent=envelope.traceparent,
                    kind=SpanKind.CONSUMER,
                    service=self.name,
                ),
            ):
                async with self.unit_of_work() as uow:
                    first_time = await uow.session.execute(
                        pg_insert(inbox)
                        .values(event_id=envelope.id, consumer=self.name, type=envelope.type)
                        .on_conflict_do_nothing()
                        .returning(inbox.c.event_id)
                    )
                    if first_time.first() is None:
                        metrics.EVENTS_HANDLED.labels(self.name, envelope.type, Outcome.DUPLICATE).inc()
                        return Outcome.DUPLICATE
                    try:
                        await handler(event, meta, uow)
                    except Exception:
                        metrics.EVENT_HANDLER_FAILURES.labels(self.name, envelope.type).inc()
                        raise
                    await uow.commit()
        finally:
            correlation_id_var.reset(token)
        metrics.EVENTS_HANDLED.labels(self.name, envelope.type, Outcome.HANDLED).inc()
        metrics.EVENT_DELIVERY_DELAY.labels(self.name, envelope.type).observe(
            max(0.0, (datetime.now(UTC) - envelope.occurred_at).total_seconds())
        )
        return Outcome.HANDLED
