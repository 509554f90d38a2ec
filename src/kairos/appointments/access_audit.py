"""Audit records of access to appointments' personal and health data (``kairos.platform.audit``).

- **Writes**: every event saved to an appointment's stream (requests, decisions, proposals, reschedules,
  cancellations, attendance) is recorded when its unit of work commits (``AppointmentsUnitOfWork.commit``),
  whoever made it, the patient included: one record per appointment per transaction, ``create`` for a
  request and ``update`` otherwise, naming the fields it wrote.
- **Reads**: the API's reads (an appointment, its history, lists, FHIR reads and searches, ``.ics``) are
  recorded in the same transaction as the read, committed before the answer leaves (no record, no answer).
  A list is one record per appointment shown (a page is at most 200; the records go to the outbox in one
  statement with the read's commit); each names one resource, as the event's subject must. A patient
  reading their own appointments is not recorded: that is no access to someone else's data.
Records name fields, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kairos.appointments.domain.appointment import Appointment, AppointmentEvent, Requested
from kairos.platform import audit
from kairos.platform.auth import Principal
from kairos.platform.db.uow import UnitOfWork

APPOINTMENT = "appointments.appointment"
# What a read of an appointment shows of its patient's data.
READ_FIELDS = ("patient", "patient_name", "message", "answers", "starts_at", "status")
REQUEST_FIELDS = ("patient", "message", "answers", "starts_at", "ends_at", "status")
MOVE_KINDS = frozenset({"proposed", "rescheduled"})


def record_reads(uow: UnitOfWork, by: Principal, appointments: Iterable[Appointment]) -> None:
    """Queue the records of one request's reads: one per appointment shown, the patient's own reads included
    (ARCHITECTURE: every read of health data; the trail also shows a person their own accesses)."""
    for appointment in appointments:
        audit.record(
            uow,
            actor=by,
            action="read",
            resource_type=APPOINTMENT,
            resource_id=appointment.id,
            data_subject=appointment.patient,
            fields=READ_FIELDS,
        )


async def commit_reads(uow: UnitOfWork, by: Principal, appointments: Sequence[Appointment]) -> None:
    """Record reads made outside a unit of work (e.g. a FHIR search) in one of their own, and commit it."""
    if not appointments:
        return
    async with uow:
        record_reads(uow, by, appointments)
        await uow.commit()


def written_fields(events: Iterable[AppointmentEvent]) -> list[str]:
    fields: set[str] = set()
    for event in events:
        if isinstance(event, Requested):
            fields.update(REQUEST_FIELDS)
            continue
        fields.add("status")
        if event.kind in MOVE_KINDS:
            fields.update(("starts_at", "ends_at"))
        if event.reason:
            fields.add("reason")
    return sorted(fields)


def record_writes(uow: UnitOfWork, saved: Iterable[tuple[Appointment, Sequence[AppointmentEvent]]]) -> None:
    """Queue one record per appointment written in this unit of work, by whoever made its first new event."""
    for appointment, events in saved:
        if not events:
            continue
        audit.record(
            uow,
            actor=events[0].actor,
            action="create" if isinstance(events[0], Requested) else "update",
            resource_type=APPOINTMENT,
            resource_id=appointment.id,
            data_subject=appointment.patient,
            fields=written_fields(events),
        )
