"""The unit of work: one business transaction, owning the commit of state and outbox together."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kairos.platform.clock import Clock, SystemClock
from kairos.platform.db.schema import OUTBOX_CHANNEL, outbox
from kairos.platform.events.envelope import Envelope, IntegrationEvent
from kairos.platform.ids import new_id
from kairos.platform.observability.context import current_correlation_id, current_traceparent

if TYPE_CHECKING:
    from kairos.platform.crypto.cipher import DataCipher


class UnitOfWork:
    """``async with uow: ...; await uow.commit()`` — leaving the block without a commit rolls back.

    Events given to ``publish`` are written to the outbox by ``commit`` in the same transaction as the
    change, so a rolled-back transaction publishes nothing and a committed one is never lost. Services
    subclass it to add their repositories in ``__aenter__``.
    """

    session: AsyncSession

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        producer: str,
        clock: Clock | None = None,
        cipher: Callable[[], DataCipher] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.producer = producer
        self.clock: Clock = clock or SystemClock()
        self._cipher = cipher
        self._pending: list[Envelope] = []

    @property
    def cipher(self) -> DataCipher:
        """The service's cipher for personal data at rest, for code that gets only a unit of work (event handlers)."""
        if self._cipher is None:
            raise LookupError("this unit of work was made without the service's cipher (ServiceRuntime gives it)")
        return self._cipher()

    async def __aenter__(self) -> Self:
        self.session = self._sessionmaker()
        self._pending = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()
            self._pending = []

    def publish(self, event: IntegrationEvent, *, subject: str) -> Envelope:
        """Queue an integration event; it is written to the outbox when the unit of work commits."""
        envelope = Envelope(
            id=new_id(),
            type=event.event_type,
            version=event.event_version,
            occurred_at=self.clock.now(),
            producer=self.producer,
            correlation_id=current_correlation_id(),
            subject=subject,
            data=event.model_dump(mode="json"),
            traceparent=current_traceparent(),
        )
        self._pending.append(envelope)
        return envelope

    async def commit(self) -> None:
        if self._pending:
            await self.session.execute(insert(outbox), [_outbox_row(envelope) for envelope in self._pending])
            # Delivered to the relay's LISTEN only when the transaction commits.
            await self.session.execute(select(func.pg_notify(OUTBOX_CHANNEL, self.producer)))
        await self.session.commit()
        self._pending = []

    async def rollback(self) -> None:
        await self.session.rollback()
        self._pending = []


def _outbox_row(envelope: Envelope) -> dict[str, object]:
    return {
        "id": envelope.id,
        "type": envelope.type,
        "version": envelope.version,
        "occurred_at": envelope.occurred_at,
        "producer": envelope.producer,
        "correlation_id": envelope.correlation_id,
        "subject": envelope.subject,
        "data": envelope.data,
        "traceparent": envelope.traceparent,
    }
