"""Use cases of the appointments service: each one business step in one unit of work.

Authorisation is decided here, in the service that owns the data: patients act on their own
appointments; professionals and staff on their organisation's; operators see all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import String, select

from kairos.appointments import calendar_store, patients
from kairos.appointments.access_audit import record_reads
from kairos.appointments.domain.appointment import Appointment, Period, Requested
from kairos.appointments.domain.availability import AppointmentType, Booking, Schedule
from kairos.appointments.domain.configuration import (
    AutoApprovalRule,
    CancellationPolicy,
    DomainConfiguration,
    UnknownAppointmentType,
)
from kairos.appointments.domain.slots import Explanation, InvalidSlotQuery, Reason, Slot, explain, find_slots
from kairos.appointments.repository import AppointmentsUnitOfWork, NotFound, Resource, TimeTaken
from kairos.appointments.seats import Terms
from kairos.appointments.tables import resources
from kairos.appointments.waitlist import offer_freed_time
from kairos.contracts.events import appointments as contracts
from kairos.platform.auth import Principal
from kairos.platform.http.pagination import PageRequest
from kairos.platform.ids import new_id


class Forbidden(Exception):
    """The caller may not do this."""


class MissingEnd(Exception):
    """The request gives no end and no domain gives the duration."""


class NotOffered(Exception):
    """The requested time is not one the resource offers (outside hours, too soon, too far ahead…)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"not offered: {', '.join(reasons)}")
        self.reasons = reasons

    @property
    def problem_extensions(self) -> dict[str, object]:
        return {"reasons": self.reasons}


# Who recorded an approval that a domain's rule gave (the history names the rule as the reason).
AUTO_APPROVAL_ACTOR = "kairos:auto-approval"


def _is_member(by: Principal, organisation_id: UUID) -> bool:
    return by.organisation_id == str(organisation_id)


def _may_see(by: Principal, appointment: Appointment) -> bool:
    if by.has_role("operator"):
        return True
    if appointment.patient == by.subject:
        return True
    return _is_member(by, appointment.organisation_id) and by.has_permission("appointments:read")


async def put_domain(*, uow: AppointmentsUnitOfWork, by: Principal, configuration: DomainConfiguration) -> int:
    """Register a domain or change its configuration (a new version); domain admins and operators only."""
    if not (by.has_role("operator") or by.has_permission("domains:manage")):
        raise Forbidden("only domain admins and operators configure domains")
    async with uow:
        if not by.has_role("operator") and await _booked_by_other_organisations(uow, configuration.name, by):
            # A domain admin configures their own domain: one that other organisations' resources are booked
            # under changes their patients' forms and policies, so only an operator changes it.
            raise Forbidden("this domain is used by other organisations; only an operator changes it")
        version = await uow.appointments.put_domain(configuration, at=uow.clock.now())
        uow.publish(
            contracts.DomainChanged(name=configuration.name, version=version), subject=f"domain:{configuration.name}"
        )
        await uow.commit()
        return version


async def _booked_by_other_organisations(uow: AppointmentsUnitOfWork, domain: str, by: Principal) -> bool:
    """Whether a resource of another organisation than the caller's is booked under ``domain``."""
    others = resources.c.domain == domain
    if by.organisation_id is not None:  # without an organisation of its own, every organisation is another one
        others &= resources.c.organisation_id.cast(String) != by.organisation_id
    return (await uow.session.execute(select(resources.c.id).where(others).limit(1))).first() is not None


async def list_domains(*, uow: AppointmentsUnitOfWork) -> list[tuple[DomainConfiguration, int]]:
    async with uow:
        return await uow.appointments.all_domains()


async def read_domain(*, uow: AppointmentsUnitOfWork, name: str) -> tuple[DomainConfiguration, int]:
    async with uow:
        return await uow.appointments.domain(name)


async def list_resources(
    *, uow: AppointmentsUnitOfWork, page: PageRequest, organisation_id: UUID | None, domain: str | None
) -> list[Resource]:
    async with uow:
        return await uow.appointments.resources(page, organisation_id=organisation_id, domain=domain)


async def register_resource(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    organisation_id: UUID,
    kind: str,
    display_name: str,
    zone: str,
    user_id: str | None,
    domain: str | None = None,
) -> Resource:
    if not (by.has_role("operator") or (_is_member(by, organisation_id) and by.has_role("domain_admin"))):
        raise Forbidden("only a domain admin of the organisation (or an operator) adds bookable resources")
    async with uow:
        if domain is not None:
            await uow.appointments.domain(domain)  # it must exist
        resource = await uow.appointments.add_resource(
            Resource(
                id=new_id(),
                resource_no=0,
                organisation_id=organisation_id,
                kind=kind,
                display_name=display_name,
                zone=zone,
                user_id=user_id,
                domain=domain,
            )
        )
        resource_changed(uow, resource.id)
        await uow.commit()
        return resource


async def request_appointment(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    resource_id: UUID,
    appointment_type: str,
    starts_at: datetime,
    ends_at: datetime | None,
    message: str | None,
    answers: dict[str, Any],
    hold_id: UUID | None = None,
) -> Appointment:
    """A patient asks for a time; the request holds it until the practice decides (or is booked at once
    when the domain says this appointment type needs no approval, or one of its auto-approval rules
    matches). With ``hold_id`` the request takes the time the patient's hold reserved."""
    if not by.has_permission("appointments:request"):
        raise Forbidden("this account cannot request appointments")
    async with uow:
        resource = await uow.appointments.resource(resource_id)
        needs_approval, terms, rule = True, Terms(), None
        if resource.domain is not None:
            configuration, _ = await uow.appointments.domain(resource.domain)
            settings = configuration.appointment_type(appointment_type)
            configuration.check_answers(answers)
            needs_approval = settings.needs_approval
            terms = Terms(settings.buffer_before, settings.buffer_after, settings.capacity)
            ends_at = ends_at or starts_at + settings.duration
            if hold_id is None:  # a hold was placed at an offered time, and keeps it from others
                await _require_offered(uow, resource.id, settings.for_slot_search(), starts_at)
            if needs_approval:
                rule = await _auto_approval(uow, configuration, by, resource, appointment_type, starts_at, answers)
        if ends_at is None:
            raise MissingEnd("ends_at is required when the resource has no domain to give the duration")
        period = Period(starts_at, ends_at)
        appointment = Appointment.request(
            Requested(
                appointment_id=new_id(),
                actor=by.subject,
                occurred_at=uow.clock.now(),
                resource_id=resource.id,
                patient=by.subject,
                organisation_id=resource.organisation_id,
                appointment_type=appointment_type,
                period=period,
                message=message,
                answers=answers,
                needs_approval=needs_approval,
            )
        )
        requested = appointment
        if rule is not None:
            appointment = appointment.approve(
                by=AUTO_APPROVAL_ACTOR, at=uow.clock.now(), reason=f"auto-approval rule {rule.name}"
            )
        await uow.appointments.save(appointment, resource=resource, terms=terms, hold_id=hold_id)
        uow.publish(
            # No message or answers: health data does not travel through the broker (see the contract).
            contracts.AppointmentRequested(**_common(requested, actor=by.subject), has_message=bool(message)),
            subject=f"appointment:{appointment.id}",
        )
        if rule is not None:
            uow.publish(
                contracts.AppointmentApproved(**_common(appointment, actor=AUTO_APPROVAL_ACTOR)),
                subject=f"appointment:{appointment.id}",
            )
        await uow.commit()
        return appointment.committed()


async def _auto_approval(
    uow: AppointmentsUnitOfWork,
    configuration: DomainConfiguration,
    by: Principal,
    resource: Resource,
    appointment_type: str,
    starts_at: datetime,
    answers: dict[str, Any],
) -> AutoApprovalRule | None:
    if not configuration.auto_approval:
        return None
    is_returning = any(rule.returning_patients_only for rule in configuration.auto_approval) and (
        await uow.appointments.has_fulfilled(patient=by.subject, organisation_id=resource.organisation_id)
    )
    return configuration.auto_approval_rule(
        appointment_type=appointment_type,
        starts_at=starts_at,
        now=uow.clock.now(),
        answers=answers,
        is_returning_patient=is_returning,
    )


async def change_policy(uow: AppointmentsUnitOfWork, resource: Resource) -> CancellationPolicy:
    """The cancellation and reschedule policy of the resource's domain (the defaults without a domain)."""
    if resource.domain is None:
        return CancellationPolicy()
    configuration, _ = await uow.appointments.domain(resource.domain)
    return configuration.cancellation


async def _require_offered(
    uow: AppointmentsUnitOfWork,
    resource_id: UUID,
    kind: AppointmentType,
    starts_at: datetime,
    *,
    excluding: UUID | None = None,
) -> None:
    """A request must be for a time the slot engine offers (when the resource has working hours);
    ``excluding`` is an appointment being moved, whose own time does not stand in its way."""
    schedule = await uow.appointments.schedule(resource_id)
    if schedule is None:
        return
    margin = kind.buffer_before + kind.buffer_after + kind.duration + timedelta(days=1)
    busy = await uow.appointments.bookings(
        resource_id, start=starts_at - margin, end=starts_at + margin, excluding=excluding
    )
    busy += await calendar_store.imported_busy(
        uow.session, resource_id, start=starts_at - margin, end=starts_at + margin
    )
    explanation = explain(schedule, kind, busy, starts_at=starts_at, now=uow.clock.now())
    if explanation.is_bookable:
        return
    if set(explanation.reasons) <= {Reason.BOOKED, Reason.HELD, Reason.FULL}:
        raise TimeTaken(str(starts_at))
    raise NotOffered([reason.value for reason in explanation.reasons])


async def nearest_free_slots(
    *, uow: AppointmentsUnitOfWork, resource_id: UUID, appointment_type: str, around: datetime, count: int = 3
) -> list[Slot]:
    """The free slots closest to a time, to offer whoever just lost it."""
    try:
        slots = await find_free_slots(
            uow=uow,
            resource_id=resource_id,
            appointment_type=appointment_type,
            window_start=around - timedelta(days=2),
            window_end=around + timedelta(days=14),
            asker_zone="UTC",
        )
    except (NoSchedule, UnknownAppointmentType, NotFound):
        return []
    return sorted(slots, key=lambda slot: abs(slot.starts_at - around))[:count]


async def approve(*, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID) -> Appointment:
    async with uow:
        appointment, resource = await _decidable(uow, by, appointment_id)
        approved = appointment.approve(by=by.subject, at=uow.clock.now())
        await uow.appointments.save(approved, resource=resource)
        uow.publish(
            contracts.AppointmentApproved(**_common(approved, actor=by.subject)),
            subject=f"appointment:{approved.id}",
        )
        await uow.commit()
        return approved.committed()


async def decline(
    *, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID, reason_code: str, reason: str | None
) -> Appointment:
    async with uow:
        appointment, resource = await _decidable(uow, by, appointment_id)
        declined = appointment.decline(by=by.subject, at=uow.clock.now(), reason_code=reason_code, reason=reason)
        await uow.appointments.save(declined, resource=resource)
        uow.publish(
            contracts.AppointmentDeclined(
                **_common(declined, actor=by.subject), reason_code=reason_code, reason=reason
            ),
            subject=f"appointment:{declined.id}",
        )
        await offer_freed_time(uow, freed_by=declined, resource=resource, period=appointment.period)
        await uow.commit()
        return declined.committed()


async def cancel(*, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID, reason: str) -> Appointment:
    """Cancel under the domain's policy: the patient until the cut-off before the start, the practice always."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        if not _may_see(by, appointment):
            raise NotFound(f"appointment {appointment_id}")
        is_staff = _is_member(by, appointment.organisation_id) and by.has_permission("appointments:decide")
        if appointment.patient != by.subject and not is_staff:
            raise Forbidden("only the patient or the practice can cancel")
        resource = await uow.appointments.resource(appointment.resource_id)
        policy = await change_policy(uow, resource)
        now = uow.clock.now()
        if not is_staff:
            policy.check_patient_change(starts_at=appointment.period.starts_at, now=now)
        cancelled = appointment.cancel(by=by.subject, at=now, reason=reason, reason_required=policy.reason_required)
        await uow.appointments.save(cancelled, resource=resource)
        uow.publish(
            contracts.AppointmentCancelled(**_common(cancelled, actor=by.subject), reason=reason),
            subject=f"appointment:{cancelled.id}",
        )
        await offer_freed_time(uow, freed_by=cancelled, resource=resource, period=appointment.period)
        await uow.commit()
        return cancelled.committed()


async def read(*, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID) -> tuple[Appointment, list[Any]]:
    """The appointment and its decision log, to whoever may see it (others get 404: no existence leak)."""
    record = await read_record(uow=uow, by=by, appointment_id=appointment_id)
    return record.appointment, record.history


@dataclass(frozen=True)
class AppointmentRecord:
    appointment: Appointment
    history: list[Any]
    patient_name: str | None


async def read_record(*, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID) -> AppointmentRecord:
    """The appointment, its decision log and its patient's name, to whoever may see it (others get 404)."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        if not _may_see(by, appointment):
            raise NotFound(f"appointment {appointment_id}")
        history = await uow.appointments.history(appointment_id)
        names = await patients.names_of(uow.session, uow.cipher, [appointment.patient])
        record_reads(uow, by, [appointment])
        await uow.commit()  # the audit record is published with the read, or the read fails
        return AppointmentRecord(appointment, history, names.get(appointment.patient))


async def _decidable(uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID) -> tuple[Appointment, Resource]:
    appointment = await uow.appointments.get(appointment_id)
    if not _may_see(by, appointment):
        raise NotFound(f"appointment {appointment_id}")
    if not (_is_member(by, appointment.organisation_id) and by.has_permission("appointments:decide")):
        raise Forbidden("only the practice's professionals and staff decide on requests")
    return appointment, await uow.appointments.resource(appointment.resource_id)


def _common(appointment: Appointment, *, actor: str) -> dict[str, Any]:
    return {
        "appointment_id": appointment.id,
        "resource_id": appointment.resource_id,
        "organisation_id": appointment.organisation_id,
        "patient": appointment.patient,
        "starts_at": appointment.period.starts_at,
        "ends_at": appointment.period.ends_at,
        "status": appointment.status.value,
        "actor": actor,
    }


# --- availability and slot search -------------------------------------------------------------------------

SEARCH_WINDOW_LIMIT = timedelta(days=62)


class NoSchedule(Exception):
    """The resource has no working hours yet."""


async def put_schedule(*, uow: AppointmentsUnitOfWork, by: Principal, schedule: Schedule) -> None:
    """Set a resource's working hours; its organisation's domain admins, staff and professionals only."""
    async with uow:
        resource = await uow.appointments.resource(schedule.resource_id)
        allowed = by.has_role("operator") or (
            _is_member(by, resource.organisation_id)
            and (by.has_role("domain_admin") or by.has_permission("availability:manage") or by.has_role("staff"))
        )
        if not allowed:
            raise Forbidden("only the organisation's people manage its availability")
        await uow.appointments.put_schedule(schedule, at=uow.clock.now())
        resource_changed(uow, schedule.resource_id)
        await uow.commit()


def resource_changed(uow: AppointmentsUnitOfWork, resource_id: UUID) -> None:
    """A resource was added or its hours rewritten: readers (and caches) of its schedule and times are told."""
    uow.publish(contracts.ResourceChanged(resource_id=resource_id), subject=f"resource:{resource_id}")


async def read_schedule(*, uow: AppointmentsUnitOfWork, resource_id: UUID) -> Schedule:
    async with uow:
        await uow.appointments.resource(resource_id)
        schedule = await uow.appointments.schedule(resource_id)
    if schedule is None:
        raise NoSchedule(f"resource {resource_id} has no working hours yet")
    return schedule


async def _search_inputs(
    uow: AppointmentsUnitOfWork, resource_id: UUID, appointment_type: str, start: datetime, end: datetime
) -> tuple[Schedule, AppointmentType, list[Booking]]:
    resource = await uow.appointments.resource(resource_id)
    schedule = await uow.appointments.schedule(resource_id)
    if schedule is None:
        raise NoSchedule(f"resource {resource_id} has no working hours yet")
    if resource.domain is None:
        raise UnknownAppointmentType(f"resource {resource_id} belongs to no domain")
    configuration, _ = await uow.appointments.domain(resource.domain)
    kind = configuration.appointment_type(appointment_type).for_slot_search()
    margin = kind.buffer_before + kind.buffer_after + kind.duration
    busy = await uow.appointments.bookings(resource_id, start=start - margin, end=end + margin)
    busy += await calendar_store.imported_busy(uow.session, resource_id, start=start - margin, end=end + margin)
    return schedule, kind, busy


async def find_free_slots(
    *,
    uow: AppointmentsUnitOfWork,
    resource_id: UUID,
    appointment_type: str,
    window_start: datetime,
    window_end: datetime,
    asker_zone: str,
) -> list[Slot]:
    """Free slots of one resource for one appointment type, presented in the asker's zone."""
    if window_end - window_start > SEARCH_WINDOW_LIMIT:
        raise InvalidSlotQuery(f"search at most {SEARCH_WINDOW_LIMIT.days} days at once")
    async with uow:
        schedule, kind, busy = await _search_inputs(uow, resource_id, appointment_type, window_start, window_end)
        now = uow.clock.now()
    return find_slots(
        schedule, kind, busy, window_start=window_start, window_end=window_end, now=now, asker_zone=asker_zone
    )


async def explain_time(
    *, uow: AppointmentsUnitOfWork, resource_id: UUID, appointment_type: str, starts_at: datetime
) -> Explanation:
    """Why a given time is, or is not, offered."""
    async with uow:
        schedule, kind, busy = await _search_inputs(
            uow, resource_id, appointment_type, starts_at - timedelta(days=1), starts_at + timedelta(days=1)
        )
        now = uow.clock.now()
    return explain(schedule, kind, busy, starts_at=starts_at, now=now)
