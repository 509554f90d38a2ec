"""Use cases of the appointments service: each one business step in one unit of work.

Authorisation is decided here, in the service that owns the data: patients act on their own
appointments; professionals and staff on their organisation's; operators see all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from kairos.appointments.domain.appointment import Appointment, Period, Requested
from kairos.appointments.domain.configuration import DomainConfiguration
from kairos.appointments.repository import AppointmentsUnitOfWork, NotFound, Resource
from kairos.contracts.events import appointments as contracts
from kairos.platform.auth import Principal
from kairos.platform.http.pagination import PageRequest
from kairos.platform.ids import new_id


class Forbidden(Exception):
    """The caller may not do this."""


class MissingEnd(Exception):
    """The request gives no end and no domain gives the duration."""


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
        version = await uow.appointments.put_domain(configuration, at=uow.clock.now())
        await uow.commit()
        return version


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
) -> Appointment:
    """A patient asks for a time; the request holds it until the practice decides (or is booked at once
    when the domain says this appointment type needs no approval)."""
    if not by.has_permission("appointments:request"):
        raise Forbidden("this account cannot request appointments")
    async with uow:
        resource = await uow.appointments.resource(resource_id)
        needs_approval, buffers = True, (timedelta(0), timedelta(0))
        if resource.domain is not None:
            configuration, _ = await uow.appointments.domain(resource.domain)
            settings = configuration.appointment_type(appointment_type)
            configuration.check_answers(answers)
            needs_approval = settings.needs_approval
            buffers = (settings.buffer_before, settings.buffer_after)
            ends_at = ends_at or starts_at + settings.duration
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
        await uow.appointments.save(appointment, resource=resource, buffers=buffers)
        uow.publish(
            contracts.AppointmentRequested(**_common(appointment, actor=by.subject), message=message),
            subject=f"appointment:{appointment.id}",
        )
        await uow.commit()
        return appointment.committed()


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
        await uow.commit()
        return declined.committed()


async def cancel(*, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID, reason: str) -> Appointment:
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        if not _may_see(by, appointment):
            raise NotFound(f"appointment {appointment_id}")
        is_staff = _is_member(by, appointment.organisation_id) and by.has_permission("appointments:decide")
        if appointment.patient != by.subject and not is_staff:
            raise Forbidden("only the patient or the practice can cancel")
        resource = await uow.appointments.resource(appointment.resource_id)
        cancelled = appointment.cancel(by=by.subject, at=uow.clock.now(), reason=reason)
        await uow.appointments.save(cancelled, resource=resource)
        uow.publish(
            contracts.AppointmentCancelled(**_common(cancelled, actor=by.subject), reason=reason),
            subject=f"appointment:{cancelled.id}",
        )
        await uow.commit()
        return cancelled.committed()


async def read(*, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID) -> tuple[Appointment, list[Any]]:
    """The appointment and its decision log, to whoever may see it (others get 404: no existence leak)."""
    async with uow:
        appointment = await uow.appointments.get(appointment_id)
        if not _may_see(by, appointment):
            raise NotFound(f"appointment {appointment_id}")
        return appointment, await uow.appointments.history(appointment_id)


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
