"""The gateway's reactions to other services' events: cached answers about what changed are dropped."""

from __future__ import annotations

from uuid import UUID

from kairos.contracts.events.appointments import (
    AppointmentApproved,
    AppointmentCancelled,
    AppointmentChanged,
    AppointmentDeclined,
    AppointmentRequested,
)
from kairos.contracts.events.identity import ProfileUpdated
from kairos.gateway.caching import ResponseCache
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers, EventMeta


class GatewayUnitOfWork(UnitOfWork):
    """The platform's unit of work (its inbox makes a redelivered event a no-op), with the response cache."""

    cache: ResponseCache | None = None  # given by the gateway's app when it builds its consumer's units


handlers = EventHandlers[GatewayUnitOfWork]()


async def _invalidate(uow: GatewayUnitOfWork, *ids: UUID) -> None:
    if uow.cache is not None:
        await uow.cache.invalidate([str(identifier) for identifier in ids])


async def appointment_changed(event: AppointmentChanged, meta: EventMeta, uow: GatewayUnitOfWork) -> None:
    """The appointment's own answers and its resource's (schedule, free slots) are out of date."""
    await _invalidate(uow, event.appointment_id, event.resource_id)


for _contract in (AppointmentRequested, AppointmentApproved, AppointmentDeclined, AppointmentCancelled):
    handlers.on(_contract)(appointment_changed)


@handlers.on(ProfileUpdated)
async def profile_updated(event: ProfileUpdated, meta: EventMeta, uow: GatewayUnitOfWork) -> None:
    await _invalidate(uow, event.user_id)
