"""Use cases of an appointment's workflow after its request: listing and history, the practice's status
changes (arrived, checked in, fulfilled, no-show, entered in error), proposals of another time and the
patient's answer, reschedules under the domain's policy, and batch decisions.

Authorisation as in ``service``: patients act on their own appointments; the organisation's professionals
and staff (``appointments:decide``) on the organisation's; others get 404 (no existence leak) or 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from kairos.appointments import patients, service
from kairos.appointments.access_audit import record_reads
from kairos.appointments.domain.appointment import Appointment, AppointmentEvent, Command, Period, Status
from kairos.appointments.domain.configuration import CancellationPolicy
from kairos.appointments.repository import AppointmentFilter, AppointmentsUnitOfWork, NotFound, Resource
from kairos.appointments.seats import Terms
from kairos.appointments.service import Forbidden, _common, _decidable, _is_member, _may_see, _require_offered
from kairos.appointments.waitlist import offer_freed_time
from kairos.contracts.events import appointments as contracts
from kairos.platform.auth import Principal
from kairos.platform.http.pagination import PageRequest


class MissingTime(Exception):
    """The change needs a new start time."""


# --- reading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    appointments: list[Appointment]
    patient_names: dict[str, str]  # by patient subject, those known


def _visible(by: Principal) -> AppointmentFilter:
    if by.has_role("operator"):
        return AppointmentFilter(sees_all=True)
    reads_organisation = by.organisation_id is not None and by.has_permission("appointments:read")
    organisation = _uuid(by.organisation_id) if reads_organisation else None
    return AppointmentFilter(visible_to_patient=by.subject, visible_in_organisation=organisation)


async def list_appointments(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    page: PageRequest,
    statuses: Sequence[Status] = (),
    resource_id: UUID | None = None,
    patient: str | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
    newest_first: bool = False,
) -> Listing:
    """The appointments the caller may see, by start (or latest first): a patient's own, an organisation's for
    its people; with their patients' names."""
    visible = _visible(by)
    if patient == "me":
        patient = by.subject
    if patient is not None and patient != by.subject and not (visible.sees_all or visible.visible_in_organisation):
        raise Forbidden("patients see their own appointments only")
    criteria = AppointmentFilter(
        visible_to_patient=visible.visible_to_patient,
        visible_in_organisation=visible.visible_in_organisation,
        sees_all=visible.sees_all,
        statuses=tuple(statuses),
        resource_id=resource_id,
        patient=patient,
        starts_from=starts_from,
        starts_before=starts_before,
    )
    async with uow:
        found = await uow.appointments.find(criteria, page, newest_first=newest_first)
        names = await patients.names_of(uow.session, uow.cipher, (appointment.patient for appointment in found))
        record_reads(uow, by, found)
        await uow.commit()  # the audit records are published with the read, or the read fails
        return Listing(found, names)


async def history(*, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID) -> list[AppointmentEvent]:
    """The appointment's event stream: who did what, when and why."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        if not _may_see(by, appointment):
            raise NotFound(f"appointment {appointment_id}")
        events = await uow.appointments.history(appointment_id)
        record_reads(uow, by, [appointment])
        await uow.commit()
        return events


# --- the practice's status changes ------------------------------------------------------------------------

PRACTICE_COMMANDS = (
    Command.ARRIVE,
    Command.CHECK_IN,
    Command.FULFIL,
    Command.MARK_NO_SHOW,
    Command.MARK_ENTERED_IN_ERROR,
)


async def record_attendance(
    *, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID, command: Command, reason: str | None
) -> Appointment:
    """The practice records what happened: arrived, checked in, fulfilled, no-show, or entered in error."""
    if command not in PRACTICE_COMMANDS:
        raise ValueError(f"{command} is not a status change of the practice")
    async with uow:
        appointment, resource = await _decidable(uow, by, appointment_id)
        at = uow.clock.now()
        match command:
            case Command.ARRIVE:
                changed = appointment.arrive(by=by.subject, at=at)
                event: contracts.AppointmentChanged = contracts.AppointmentArrived(**_common(changed, actor=by.subject))
            case Command.CHECK_IN:
                changed = appointment.check_in(by=by.subject, at=at)
                event = contracts.AppointmentCheckedIn(**_common(changed, actor=by.subject))
            case Command.FULFIL:
                changed = appointment.fulfil(by=by.subject, at=at)
                event = contracts.AppointmentFulfilled(**_common(changed, actor=by.subject))
            case Command.MARK_NO_SHOW:
                changed = appointment.mark_no_show(by=by.subject, at=at)
                event = contracts.AppointmentNoShow(**_common(changed, actor=by.subject))
            case _:
                changed = appointment.mark_entered_in_error(by=by.subject, at=at, reason=reason or "")
                event = contracts.AppointmentEnteredInError(**_common(changed, actor=by.subject), reason=reason or "")
        await uow.appointments.save(changed, resource=resource)
        uow.publish(event, subject=f"appointment:{changed.id}")
        if appointment.status.holds_time and not changed.status.holds_time:
            await offer_freed_time(uow, freed_by=changed, resource=resource, period=appointment.period)
        await uow.commit()
        return changed.committed()


# --- another time: proposals and reschedules ----------------------------------------------------------------


async def _terms(
    uow: AppointmentsUnitOfWork, resource: Resource, appointment: Appointment
) -> tuple[Terms, CancellationPolicy]:
    if resource.domain is None:
        return Terms(), CancellationPolicy()
    configuration, _ = await uow.appointments.domain(resource.domain)
    settings = configuration.appointment_type(appointment.appointment_type)
    return Terms(settings.buffer_before, settings.buffer_after, settings.capacity), configuration.cancellation


def _new_period(appointment: Appointment, starts_at: datetime, ends_at: datetime | None) -> Period:
    # The appointment keeps its length unless told otherwise.
    return Period(starts_at, ends_at or starts_at + appointment.period.duration)


async def propose(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    appointment_id: UUID,
    starts_at: datetime,
    ends_at: datetime | None = None,
    reason: str | None = None,
) -> Appointment:
    """The practice proposes another time; the appointment takes it at once (so the patient's yes cannot
    fail) and gives its old time back."""
    async with uow:
        appointment, resource = await _decidable(uow, by, appointment_id)
        terms, _ = await _terms(uow, resource, appointment)
        period = _new_period(appointment, starts_at, ends_at)
        proposed = appointment.propose(period, by=by.subject, at=uow.clock.now(), reason=reason)
        await uow.appointments.save(proposed, resource=resource, terms=terms)
        uow.publish(
            contracts.AppointmentProposed(
                **_common(proposed, actor=by.subject),
                previous_starts_at=appointment.period.starts_at,
                previous_ends_at=appointment.period.ends_at,
                reason=reason,
            ),
            subject=f"appointment:{proposed.id}",
        )
        await offer_freed_time(uow, freed_by=proposed, resource=resource, period=appointment.period)
        await uow.commit()
        return proposed.committed()


async def answer_proposal(
    *, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID, accept: bool, reason: str | None = None
) -> Appointment:
    """The patient accepts the proposed time (booked) or rejects it (cancelled)."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        if not _may_see(by, appointment):
            raise NotFound(f"appointment {appointment_id}")
        if appointment.patient != by.subject:
            raise Forbidden("only the patient answers a proposal")
        resource = await uow.appointments.resource(appointment.resource_id)
        at = uow.clock.now()
        if accept:
            answered = appointment.accept_proposal(by=by.subject, at=at)
            event: contracts.AppointmentChanged = contracts.AppointmentProposalAccepted(
                **_common(answered, actor=by.subject)
            )
        else:
            answered = appointment.reject_proposal(by=by.subject, at=at, reason=reason)
            event = contracts.AppointmentProposalRejected(**_common(answered, actor=by.subject), reason=reason)
        await uow.appointments.save(answered, resource=resource)
        uow.publish(event, subject=f"appointment:{answered.id}")
        if not accept:
            await offer_freed_time(uow, freed_by=answered, resource=resource, period=appointment.period)
        await uow.commit()
        return answered.committed()


async def reschedule(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    appointment_id: UUID,
    starts_at: datetime,
    ends_at: datetime | None,
    reason: str,
) -> Appointment:
    """Move an appointment to another time, keeping its id and history. Patients move their own, before the
    domain's cut-off, at most its limit of times, to a time the resource offers; the practice moves any of
    its organisation's. The database refuses a time that is taken."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        if not _may_see(by, appointment):
            raise NotFound(f"appointment {appointment_id}")
        is_practice = _is_member(by, appointment.organisation_id) and by.has_permission("appointments:decide")
        if appointment.patient != by.subject and not is_practice:
            raise Forbidden("only the patient or the practice can reschedule")
        resource = await uow.appointments.resource(appointment.resource_id)
        terms, policy = await _terms(uow, resource, appointment)
        now = uow.clock.now()
        period = _new_period(appointment, starts_at, ends_at)
        moved = appointment.reschedule(
            period, by=by.subject, at=now, reason=reason, reason_required=policy.reason_required
        )
        if not is_practice:
            policy.check_patient_change(starts_at=appointment.period.starts_at, now=now)
            policy.check_reschedule(reschedules_so_far=appointment.reschedules)
        if not is_practice and resource.domain is not None:
            configuration, _ = await uow.appointments.domain(resource.domain)
            kind = configuration.appointment_type(appointment.appointment_type).for_slot_search()
            await _require_offered(uow, resource.id, kind, period.starts_at, excluding=appointment.id)
        await uow.appointments.save(moved, resource=resource, terms=terms)
        uow.publish(
            contracts.AppointmentRescheduled(
                **_common(moved, actor=by.subject),
                previous_starts_at=appointment.period.starts_at,
                previous_ends_at=appointment.period.ends_at,
                reason=reason or None,
            ),
            subject=f"appointment:{moved.id}",
        )
        await offer_freed_time(uow, freed_by=moved, resource=resource, period=appointment.period)
        await uow.commit()
        return moved.committed()


# --- batch decisions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    appointment_id: UUID
    decision: Literal["approve", "decline", "propose"]
    reason_code: str | None = None
    reason: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


async def decide(*, uow: AppointmentsUnitOfWork, by: Principal, decision: Decision) -> Appointment:
    match decision.decision:
        case "approve":
            return await service.approve(uow=uow, by=by, appointment_id=decision.appointment_id)
        case "decline":
            return await service.decline(
                uow=uow,
                by=by,
                appointment_id=decision.appointment_id,
                reason_code=decision.reason_code or "",
                reason=decision.reason,
            )
        case _:
            if decision.starts_at is None:
                raise MissingTime("a proposal needs starts_at")
            return await propose(
                uow=uow,
                by=by,
                appointment_id=decision.appointment_id,
                starts_at=decision.starts_at,
                ends_at=decision.ends_at,
                reason=decision.reason,
            )


async def decide_each(
    *, uow: AppointmentsUnitOfWork, by: Principal, decisions: Sequence[Decision]
) -> list[Appointment | Exception]:
    """Each decision in its own transaction, in order: one failing leaves the others as they went."""
    outcomes: list[Appointment | Exception] = []
    for decision in decisions:
        try:
            outcomes.append(await decide(uow=uow, by=by, decision=decision))
        except Exception as error:  # reported for this item; the route says which problem it is
            outcomes.append(error)
    return outcomes


def _uuid(text: str | None) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        return None
