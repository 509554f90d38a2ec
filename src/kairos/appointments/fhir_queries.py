"""Reads the FHIR facade needs that the repository does not offer (yet): searching appointments by patient,
resource, start and status, and loading several appointments' streams, resources and type labels at once.

They read through the unit of work's session and never write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from kairos.appointments.domain.appointment import Appointment, AppointmentEvent
from kairos.appointments.fhir_mapping import RESOURCE_TYPES, AppointmentRecord
from kairos.appointments.fhir_scopes import Context
from kairos.appointments.fhir_search import AppointmentSearch, DateCriterion, ReferenceValue, as_uuid
from kairos.appointments.repository import AppointmentsUnitOfWork, Resource, decode_configuration
from kairos.appointments.tables import appointment_events, appointments, domains, resources
from kairos.platform.auth import Principal
from kairos.platform.http.pagination import PageRequest, keyset, page_of

KINDS = {resource_type: kind for kind, resource_type in RESOURCE_TYPES.items()}


def visible_to(by: Principal, contexts: frozenset[Context]) -> ColumnElement[bool]:
    """The appointments the caller may find in the contexts its scopes grant.

    The ``user`` context is the service's own rule (``service._may_see``) as a filter: operators see all,
    patients their own, members of the organisation with ``appointments:read`` the organisation's.
    """
    if Context.SYSTEM in contexts:
        return true()
    reachable: list[ColumnElement[bool]] = []
    if Context.PATIENT in contexts or Context.USER in contexts:
        reachable.append(appointments.c.patient == by.subject)
    if Context.USER in contexts:
        if by.has_role("operator"):
            return true()
        organisation_id = as_uuid(by.organisation_id or "")
        is_member = organisation_id is not None and str(organisation_id) == by.organisation_id
        if is_member and by.has_permission("appointments:read"):
            reachable.append(appointments.c.organisation_id == organisation_id)
    return or_(*reachable) if reachable else false()


async def search(
    uow: AppointmentsUnitOfWork, criteria: AppointmentSearch, *, visible: ColumnElement[bool]
) -> tuple[list[AppointmentRecord], str | None]:
    """One page of the appointments that match, by start then id, and the cursor of the next page."""
    statement = (
        select(appointments.c.id, appointments.c.starts_at)
        .select_from(appointments.join(resources, resources.c.id == appointments.c.resource_id))
        .where(visible, *_matching(criteria))
    )
    page = PageRequest(cursor=criteria.cursor, limit=criteria.count)
    async with uow:
        rows = (await uow.session.execute(keyset(statement, [appointments.c.starts_at, appointments.c.id], page))).all()
        found, next_cursor = page_of(rows, page, key=lambda row: (row.starts_at, row.id))
        records = await _records(uow, [row.id for row in found])
    return records, next_cursor


async def load(uow: AppointmentsUnitOfWork, appointment_id: UUID) -> AppointmentRecord:
    """One appointment with no authorisation applied: the caller decides who may see it."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        return (await _describe(uow, [(appointment, await uow.appointments.history(appointment_id))]))[0]


async def describe(
    uow: AppointmentsUnitOfWork, appointment: Appointment, history: Sequence[AppointmentEvent]
) -> AppointmentRecord:
    """Add what the appointment books and its type's label to an appointment the service already gave."""
    async with uow:
        return (await _describe(uow, [(appointment, history)]))[0]


async def resource(uow: AppointmentsUnitOfWork, resource_id: UUID) -> Resource:
    async with uow:
        return await uow.appointments.resource(resource_id)


def _matching(criteria: AppointmentSearch) -> list[ColumnElement[bool]]:
    clauses = [or_(*(_refers_to(value) for value in values)) for _, values in criteria.references]
    clauses += [_starting(criterion) for criterion in criteria.dates]
    clauses += [appointments.c.status.in_([status.value for status in statuses]) for statuses in criteria.statuses]
    return clauses


def _refers_to(value: ReferenceValue) -> ColumnElement[bool]:
    patient = appointments.c.patient == value.id
    if value.resource_type == "Patient":
        return patient
    resource_id = as_uuid(value.id)
    booked = appointments.c.resource_id == resource_id if resource_id is not None else false()
    if value.resource_type is None:
        return or_(patient, booked)
    return and_(booked, resources.c.kind == KINDS[value.resource_type])


def _starting(criterion: DateCriterion) -> ColumnElement[bool]:
    # FHIR R4 search §3.1.1.4.2: the value is a range; Appointment.start is a point. See DateCriterion.matches.
    start = appointments.c.starts_at
    match criterion.prefix:
        case "eq":
            return and_(start >= criterion.low, start < criterion.high)
        case "ne":
            return or_(start < criterion.low, start >= criterion.high)
        case "gt":
            return start >= criterion.high
        case "ge":
            return start >= criterion.low
        case "lt":
            return start < criterion.low
        case _:  # le
            return start < criterion.high


async def _records(uow: AppointmentsUnitOfWork, appointment_ids: list[UUID]) -> list[AppointmentRecord]:
    if not appointment_ids:
        return []
    rows = (
        await uow.session.execute(
            select(appointment_events)
            .where(appointment_events.c.appointment_id.in_(appointment_ids))
            .order_by(appointment_events.c.appointment_id, appointment_events.c.sequence)
        )
    ).mappings()
    streams: dict[UUID, list[AppointmentEvent]] = defaultdict(list)
    for event in await uow.appointments.decode_events(rows):
        streams[event.appointment_id].append(event)
    # Each resource is its stream replayed, exactly as a read shows it; the projection only found it.
    return await _describe(uow, [(Appointment.replay(streams[id_]), streams[id_]) for id_ in appointment_ids])


async def _describe(
    uow: AppointmentsUnitOfWork, found: Sequence[tuple[Appointment, Sequence[AppointmentEvent]]]
) -> list[AppointmentRecord]:
    resource_ids = {appointment.resource_id for appointment, _ in found}
    rows = (await uow.session.execute(select(resources).where(resources.c.id.in_(resource_ids)))).mappings()
    booked = {row["id"]: Resource(**{name: row[name] for name in Resource.__dataclass_fields__}) for row in rows}
    names = {resource.domain for resource in booked.values() if resource.domain is not None}
    labels: dict[tuple[str, str], str] = {}
    if names:
        for row in (await uow.session.execute(select(domains).where(domains.c.name.in_(names)))).mappings():
            configuration = decode_configuration(row["configuration"])
            labels |= {(configuration.name, kind.code): kind.label for kind in configuration.appointment_types}
    return [
        AppointmentRecord(
            appointment=appointment,
            history=list(history),
            resource=booked[appointment.resource_id],
            type_label=labels.get((booked[appointment.resource_id].domain or "", appointment.appointment_type)),
        )
        for appointment, history in found
    ]
