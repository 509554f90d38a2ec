"""The gateway's reactions to other services' events: cached answers about what changed are dropped.

Every event that changes something a service marks cacheable is here, by the tags the service gives its answers
(``kairos.contracts.cache_tags``) and the ids in their paths. Appointments says a directory entry changed only
once it has applied identity's event (``appointment.directory_changed``): dropping entries on identity's own event
could let a read of the not-yet-updated directory be cached again after it.
"""

from __future__ import annotations

from uuid import UUID

from kairos.contracts.cache_tags import APPOINTMENT_DIRECTORY, APPOINTMENT_DOMAINS, APPOINTMENT_RESOURCES
from kairos.contracts.events.appointments import (
    AppointmentApproved,
    AppointmentArrived,
    AppointmentCancelled,
    AppointmentChanged,
    AppointmentCheckedIn,
    AppointmentDeclined,
    AppointmentEnteredInError,
    AppointmentFulfilled,
    AppointmentNoShow,
    AppointmentProposalAccepted,
    AppointmentProposalRejected,
    AppointmentProposed,
    AppointmentRequested,
    AppointmentRescheduled,
    AppointmentWaitlistOffered,
    DirectoryChanged,
    DomainChanged,
    ResourceChanged,
    SlotHeld,
    SlotHoldReleased,
)
from kairos.contracts.events.identity import ProfileUpdated
from kairos.gateway.caching import ResponseCache
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events import EventHandlers, EventMeta


class GatewayUnitOfWork(UnitOfWork):
    """The platform's unit of work (its inbox makes a redelivered event a no-op), with the response cache."""

    cache: ResponseCache | None = None  # given by the gateway's app when it builds its consumer's units


handlers = EventHandlers[GatewayUnitOfWork]()

APPOINTMENT_CHANGES = (
    AppointmentRequested,
    AppointmentApproved,
    AppointmentDeclined,
    AppointmentCancelled,
    AppointmentProposed,
    AppointmentProposalAccepted,
    AppointmentProposalRejected,
    AppointmentRescheduled,
    AppointmentArrived,
    AppointmentCheckedIn,
    AppointmentFulfilled,
    AppointmentNoShow,
    AppointmentEnteredInError,
)


async def _invalidate(uow: GatewayUnitOfWork, *tags: UUID | str) -> None:
    if uow.cache is not None:
        await uow.cache.invalidate([str(tag) for tag in tags])


async def appointment_changed(event: AppointmentChanged, meta: EventMeta, uow: GatewayUnitOfWork) -> None:
    """The appointment's own answers and its resource's (schedule, free times in the directory) are out of date."""
    await _invalidate(uow, event.appointment_id, event.resource_id)


for _contract in APPOINTMENT_CHANGES:
    handlers.on(_contract)(appointment_changed)


async def time_taken_or_freed(
    event: SlotHeld | SlotHoldReleased | AppointmentWaitlistOffered, meta: EventMeta, uow: GatewayUnitOfWork
) -> None:
    """A hold takes or gives back a resource's time: its free times (in the directory) change."""
    await _invalidate(uow, event.resource_id)


handlers.on(SlotHeld)(time_taken_or_freed)
handlers.on(SlotHoldReleased)(time_taken_or_freed)
handlers.on(AppointmentWaitlistOffered)(time_taken_or_freed)


@handlers.on(DomainChanged)
async def domain_changed(event: DomainChanged, meta: EventMeta, uow: GatewayUnitOfWork) -> None:
    """Its form and types are published anew; the directory's earliest free times follow its types."""
    await _invalidate(uow, APPOINTMENT_DOMAINS, APPOINTMENT_DIRECTORY)


@handlers.on(ResourceChanged)
async def resource_changed(event: ResourceChanged, meta: EventMeta, uow: GatewayUnitOfWork) -> None:
    """A new resource joins the lists and its professional's entry; new hours change its schedule and times."""
    await _invalidate(uow, event.resource_id, APPOINTMENT_RESOURCES, APPOINTMENT_DIRECTORY)


@handlers.on(DirectoryChanged)
async def directory_changed(event: DirectoryChanged, meta: EventMeta, uow: GatewayUnitOfWork) -> None:
    """A professional listed, unlisted, renamed or erased: searches and their profile's answers."""
    await _invalidate(uow, event.user_id, APPOINTMENT_DIRECTORY)


@handlers.on(ProfileUpdated)
async def profile_updated(event: ProfileUpdated, meta: EventMeta, uow: GatewayUnitOfWork) -> None:
    await _invalidate(uow, event.user_id)
