"""The answer of a service that holds no personal data to identity's GDPR sagas (docs/privacy.md).

Every service answers every export and erasure request, also when it holds nothing, so that the saga knows it
was heard. A service that starts keeping personal data replaces this with handlers of its own (see
``kairos.appointments.privacy`` and ``kairos.monitoring.privacy``). The answer goes through the outbox in the
handler's transaction: sent once, and only once the work is done.
"""

from __future__ import annotations

from typing import TypeVar

from kairos.contracts.events.privacy import ErasureDone, ErasureRequested, ExportReady, ExportRequested
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers, EventMeta

UowT = TypeVar("UowT", bound=UnitOfWork)


def answer_holding_nothing(handlers: EventHandlers[UowT]) -> EventHandlers[UowT]:
    """Add to a service's handlers the answers of one that holds no personal data."""
    handlers.on(ExportRequested)(export_nothing)
    handlers.on(ErasureRequested)(erase_nothing)
    return handlers


def request_subject(request_id: object) -> str:
    """The envelope subject of every answer to one request (they stay in order)."""
    return f"data-request:{request_id}"


async def export_nothing(event: ExportRequested, meta: EventMeta, uow: UnitOfWork) -> None:
    """Nothing held: an empty part."""
    uow.publish(
        ExportReady(service=uow.producer, request_id=event.request_id, data={}, prepared_at=uow.clock.now()),
        subject=request_subject(event.request_id),
    )


async def erase_nothing(event: ErasureRequested, meta: EventMeta, uow: UnitOfWork) -> None:
    """Nothing held: nothing deleted, nothing kept."""
    uow.publish(
        ErasureDone(service=uow.producer, request_id=event.request_id, completed_at=uow.clock.now()),
        subject=request_subject(event.request_id),
    )
