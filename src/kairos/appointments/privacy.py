"""Appointments' part of the GDPR sagas identity orchestrates (docs/privacy.md): export and erasure of a person.

Export: the person's appointments as patient, each with its history (the decision log), and their waitlist entries.
Other people appear in it by role only ("patient" for the person, "practice" for anyone else): the right of access
does not reach other people's data (GDPR Art. 15(4)).

Erasure: appointments are medical records, which the law keeps for years after the last visit (France: 20 years,
Code de la santé publique R.1112-7), so they are pseudonymised rather than deleted (GDPR Art. 17(3)(b) and (c)): the
patient's account id is replaced everywhere by one random pseudonym (the same for all of their appointments, so the
record stays whole; nothing maps it back), the free-text message, the form's answers and the reasons the patient
wrote are cleared; times, types, statuses and the practice's decisions stay. Waitlist entries and the person's
display name (``patients``) are deleted; a professional's directory listing is deleted and their bookable resources
unlinked from the account.

Both answer through the outbox in the handler's transaction: the answer is published if and only if the work is done.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import delete, null, select, update

from kairos.appointments import patients
from kairos.appointments.domain.appointment import Appointment, Requested
from kairos.appointments.personal_data import PersonalData, event_context, projection_context, seal
from kairos.appointments.repository import AppointmentsUnitOfWork, encode_event
from kairos.appointments.tables import (
    appointment_events,
    appointments,
    calendar_feeds,
    calendar_imports,
    directory_professionals,
    resources,
    seats,
    waitlist_entries,
)
from kairos.contracts.events.appointments import DirectoryChanged
from kairos.contracts.events.privacy import Anonymised, ErasureDone, ErasureRequested, ExportReady, ExportRequested
from kairos.platform import audit
from kairos.platform.events import EventHandlers, EventMeta
from kairos.platform.ids import new_id
from kairos.platform.privacy import request_subject

UowT = TypeVar("UowT", bound=AppointmentsUnitOfWork)

MEDICAL_RECORDS_KEPT = (
    "appointments are medical records, kept 20 years after the last visit (France, CSP R.1112-7): "
    "pseudonymised instead of deleted (GDPR Art. 17(3)(b), (c))"
)
PATIENT_FIELDS = ("patient", "message", "answers", "history")


def register(handlers: EventHandlers[UowT]) -> EventHandlers[UowT]:
    """Add the privacy handlers to the service's table of handlers."""
    handlers.on(ExportRequested)(export_patient_data)
    handlers.on(ErasureRequested)(pseudonymise_patient)
    return handlers


def _role(actor: str, patient: str) -> str:
    return "patient" if actor == patient else "practice"


async def export_patient_data(event: ExportRequested, meta: EventMeta, uow: AppointmentsUnitOfWork) -> None:
    patient = str(event.subject_user_id)
    exported: list[dict[str, Any]] = []
    for appointment_id in await uow.appointments.patients_appointment_ids(patient):
        history = await uow.appointments.history(appointment_id)  # through the repository, which decodes the stream
        appointment = Appointment.replay(history)
        resource = await uow.appointments.resource(appointment.resource_id)
        exported.append(
            {
                "id": str(appointment.id),
                "organisation_id": str(appointment.organisation_id),
                "with": resource.display_name,
                "appointment_type": appointment.appointment_type,
                "starts_at": appointment.period.starts_at.isoformat(),
                "ends_at": appointment.period.ends_at.isoformat(),
                "status": appointment.status.value,
                "message": appointment.message,
                "answers": appointment.answers,
                "history": [
                    {
                        "what": change.kind,
                        "when": change.occurred_at.isoformat(),
                        "by": _role(change.actor, patient),
                        "reason": change.reason,
                        "details": {
                            name: value for name, value in encode_event(change).items() if name not in {"patient"}
                        },
                    }
                    for change in history
                ],
            }
        )
    waiting = await uow.session.execute(
        select(waitlist_entries).where(waitlist_entries.c.patient == patient).order_by(waitlist_entries.c.joined_at)
    )
    entries = [
        {
            "id": str(row.id),
            "resource_id": str(row.resource_id),
            "appointment_type": row.appointment_type,
            "earliest": row.earliest.isoformat(),
            "latest": row.latest.isoformat(),
            "status": row.status,
            "joined_at": row.joined_at.isoformat(),
        }
        for row in waiting
    ]
    if exported or entries:
        audit.record(
            uow,
            actor=meta.producer,
            action="read",
            resource_type="appointments.patient_record",
            resource_id=patient,
            data_subject=patient,
            fields=PATIENT_FIELDS,
            purpose=f"GDPR export, request {event.request_id}",
        )
    uow.publish(
        ExportReady(
            service=uow.producer,
            request_id=event.request_id,
            data={"appointments": exported, "waitlist_entries": entries},
            prepared_at=uow.clock.now(),
        ),
        subject=request_subject(event.request_id),
    )


async def pseudonymise_patient(event: ErasureRequested, meta: EventMeta, uow: AppointmentsUnitOfWork) -> None:
    subject = str(event.subject_user_id)
    pseudonym = f"erased-{new_id().hex}"  # random: nothing links it back to the account
    session = uow.session
    own = await uow.appointments.patients_appointment_ids(subject)

    # The request event names the patient and holds their sealed message and answers; reasons the patient wrote are
    # their own words.
    rows = await session.execute(select(appointment_events).where(appointment_events.c.appointment_id.in_(own)))
    for row in rows.mappings():
        data = dict(row["data"])
        if row["kind"] == Requested.kind:
            data["patient"] = pseudonym
            for written_before_sealing in ("message", "answers"):  # plaintext of streams older than migration 0007
                data.pop(written_before_sealing, None)
        by_patient = row["actor"] == subject
        await session.execute(
            update(appointment_events)
            .where(
                appointment_events.c.appointment_id == row["appointment_id"],
                appointment_events.c.sequence == row["sequence"],
            )
            .values(
                data=data,
                # The sealed message and answers give way to an empty sealed record (as a request without them).
                personal_data=await seal(
                    uow.cipher, PersonalData(), context=event_context(row["appointment_id"], row["sequence"])
                )
                if row["kind"] == Requested.kind
                else None,
                actor=pseudonym if by_patient else row["actor"],
                reason=None if by_patient else row["reason"],
            )
        )
    for appointment_id in own:
        emptied = await seal(uow.cipher, PersonalData(), context=projection_context(appointment_id))
        await session.execute(
            update(appointments)
            .where(appointments.c.id == appointment_id)
            .values(patient=pseudonym, personal_data=emptied, legacy_message=None, legacy_answers=null())
        )  # null(): SQL NULL; None would store a JSON null in a JSONB column
    # As an actor elsewhere (a professional's decisions on other patients' appointments): the id only is replaced,
    # the reasons are part of those patients' records.
    acted = await session.execute(
        update(appointment_events).where(appointment_events.c.actor == subject).values(actor=pseudonym)
    )
    await session.execute(update(seats).where(seats.c.holder == subject).values(holder=pseudonym))
    waitlisted = await session.execute(delete(waitlist_entries).where(waitlist_entries.c.patient == subject))
    listed = await session.execute(delete(directory_professionals).where(directory_professionals.c.user_id == subject))
    named = await patients.forget_name(session, subject)
    linked = await session.execute(update(resources).where(resources.c.user_id == subject).values(user_id=None))
    for table in (calendar_feeds, calendar_imports):
        await session.execute(update(table).where(table.c.created_by == subject).values(created_by=pseudonym))
    if listed.rowcount or linked.rowcount:  # type: ignore[attr-defined]
        uow.publish(DirectoryChanged(user_id=subject), subject=f"user:{subject}")  # cached entries go too

    deleted = [
        f"{label} ({count})"
        for label, count in (
            ("waitlist entries", waitlisted.rowcount),  # type: ignore[attr-defined]
            ("listing in the directory of professionals", listed.rowcount),  # type: ignore[attr-defined]
            ("display name", named),
        )
        if count
    ]
    anonymised: list[Anonymised] = []
    if own:
        anonymised.append(
            Anonymised(
                what=f"appointments and their history ({len(own)})",
                how="patient replaced by a pseudonym; message, form answers and the patient's own reasons cleared; "
                "times, types, statuses and the practice's decisions kept",
                why=MEDICAL_RECORDS_KEPT,
            )
        )
    if acted.rowcount:  # type: ignore[attr-defined]
        anonymised.append(
            Anonymised(
                what=f"steps the person took in other people's appointments ({acted.rowcount})",  # type: ignore[attr-defined]
                how="the account id replaced by the pseudonym; the steps and their reasons kept",
                why="they are part of those patients' medical records (France, CSP R.1112-7)",
            )
        )
    if linked.rowcount:  # type: ignore[attr-defined]
        anonymised.append(
            Anonymised(
                what=f"bookable resources ({linked.rowcount})",  # type: ignore[attr-defined]
                how="unlinked from the account; their names are the practice's to change",
                why="the practice's schedules and the appointments booked on them are its records",
            )
        )
    if anonymised or deleted:
        audit.record(
            uow,
            actor=meta.producer,
            action="update",
            resource_type="appointments.patient_record",
            resource_id=pseudonym,
            data_subject=subject,
            fields=PATIENT_FIELDS,
            purpose=f"GDPR erasure, request {event.request_id}",
        )
    uow.publish(
        ErasureDone(
            service=uow.producer,
            request_id=event.request_id,
            deleted=deleted,
            anonymised=anonymised,
            completed_at=uow.clock.now(),
        ),
        subject=request_subject(event.request_id),
    )
