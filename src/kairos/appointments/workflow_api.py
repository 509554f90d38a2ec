"""HTTP API of the workflow, under ``/api/v1/appointments``: listing and history, the practice's status
changes, proposals, reschedules, batch decisions, holds and the waitlist."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Query, Response

from kairos.appointments import holds, service, workflow
from kairos.appointments.api import time_taken_problem
from kairos.appointments.domain.appointment import Appointment, Status
from kairos.appointments.repository import AppointmentsUnitOfWork, TimeTaken
from kairos.appointments.schemas import AppointmentRead, HistoryEntry
from kairos.appointments.workflow_schemas import (
    STATUS_COMMANDS,
    BatchDecisionCreate,
    BatchDecisionRead,
    DecisionOutcome,
    HoldCreate,
    HoldRead,
    ProposalAnswer,
    ProposalCreate,
    RescheduleCreate,
    StatusChangeCreate,
    WaitlistCreate,
    WaitlistRead,
)
from kairos.platform.auth import CurrentPrincipal, Principal
from kairos.platform.http.pagination import Page, PageRequest, page_of, page_request
from kairos.platform.http.problems import TYPE_PREFIX, ProblemError, problem_body
from kairos.platform.runtime import unit_of_work

log = structlog.get_logger(__name__)

router = APIRouter(tags=["appointments"])

Uow = Annotated[AppointmentsUnitOfWork, Depends(unit_of_work)]
Paging = Annotated[PageRequest, Depends(page_request)]


@router.get("/appointments")
async def list_appointments(
    uow: Uow,
    me: CurrentPrincipal,
    page: Paging,
    status: Annotated[list[Status] | None, Query(description="FHIR R4 Appointment.status; repeat for several")] = None,
    resource_id: UUID | None = None,
    patient: Annotated[str | None, Query(description="a patient's subject, or `me`", max_length=100)] = None,
    start: Annotated[datetime | None, Query(alias="from", description="starting at or after")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="starting before")] = None,
    sort: Annotated[
        Literal["starts_at", "-starts_at"],
        Query(description="by start time, soonest first, or latest first (`-`); a cursor keeps the sort it came from"),
    ] = "starts_at",
) -> Page[AppointmentRead]:
    """Appointments the caller may see, by start time: a patient's own, an organisation's for its people."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise ProblemError(422, "validation", "The request is not valid", f"{name} needs a time zone offset")
    found = await workflow.list_appointments(
        uow=uow,
        by=me,
        page=page,
        statuses=status or (),
        resource_id=resource_id,
        patient=patient,
        starts_from=start,
        starts_before=end,
        newest_first=sort == "-starts_at",
    )
    items, next_cursor = page_of(
        found.appointments, page, key=lambda appointment: (appointment.period.starts_at, appointment.id)
    )
    return Page(
        items=[
            AppointmentRead.from_domain(appointment, patient_name=found.patient_names.get(appointment.patient))
            for appointment in items
        ],
        next_cursor=next_cursor,
    )


@router.get("/appointments/{appointment_id}/history")
async def read_history(appointment_id: UUID, uow: Uow, me: CurrentPrincipal) -> list[HistoryEntry]:
    """An appointment's event stream: each change with who made it, when and why."""
    events = await workflow.history(uow=uow, by=me, appointment_id=appointment_id)
    return [HistoryEntry.from_domain(event) for event in events]


@router.post("/appointments/{appointment_id}/status")
async def change_status(
    appointment_id: UUID, body: StatusChangeCreate, uow: Uow, me: CurrentPrincipal
) -> AppointmentRead:
    """The practice records arrival, check-in, fulfilment, a no-show, or that the record was entered in error."""
    appointment = await workflow.record_attendance(
        uow=uow, by=me, appointment_id=appointment_id, command=STATUS_COMMANDS[body.status], reason=body.reason
    )
    return AppointmentRead.from_domain(appointment)


async def _move(
    moving: Awaitable[Appointment], *, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID, to: datetime
) -> Appointment:
    """A proposal or a reschedule; losing the new time's race is the 409 that offers the nearest free slots."""
    try:
        return await moving
    except TimeTaken as taken:
        seen, _ = await service.read(uow=uow, by=by, appointment_id=appointment_id)
        raise await time_taken_problem(
            uow, taken, resource_id=seen.resource_id, appointment_type=seen.appointment_type, around=to
        ) from taken


@router.post("/appointments/{appointment_id}/proposal")
async def propose(appointment_id: UUID, body: ProposalCreate, uow: Uow, me: CurrentPrincipal) -> AppointmentRead:
    """The practice proposes another time; it is reserved for the patient, who accepts or rejects it."""
    moving = workflow.propose(
        uow=uow,
        by=me,
        appointment_id=appointment_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
    )
    moved = await _move(moving, uow=uow, by=me, appointment_id=appointment_id, to=body.starts_at)
    return AppointmentRead.from_domain(moved)


@router.post("/appointments/{appointment_id}/proposal/answer")
async def answer_proposal(
    appointment_id: UUID, body: ProposalAnswer, uow: Uow, me: CurrentPrincipal
) -> AppointmentRead:
    """The patient accepts the proposed time (booked) or rejects it (cancelled)."""
    appointment = await workflow.answer_proposal(
        uow=uow, by=me, appointment_id=appointment_id, accept=body.accept, reason=body.reason
    )
    return AppointmentRead.from_domain(appointment)


@router.post("/appointments/{appointment_id}/reschedule")
async def reschedule(appointment_id: UUID, body: RescheduleCreate, uow: Uow, me: CurrentPrincipal) -> AppointmentRead:
    """Move an appointment to another time under the domain's policy, keeping its id and history."""
    moving = workflow.reschedule(
        uow=uow,
        by=me,
        appointment_id=appointment_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
    )
    moved = await _move(moving, uow=uow, by=me, appointment_id=appointment_id, to=body.starts_at)
    return AppointmentRead.from_domain(moved)


@router.post("/appointments/decisions")
async def decide_many(body: BatchDecisionCreate, uow: Uow, me: CurrentPrincipal) -> BatchDecisionRead:
    """Approve, decline or propose another time for many requests; each is decided on its own and reported
    (200 with one outcome per item, in order: `ok` with the appointment, or `problem` with RFC 9457 details)."""
    decisions = [item.to_domain() for item in body.decisions]
    outcomes = await workflow.decide_each(uow=uow, by=me, decisions=decisions)
    results = []
    for decision, outcome in zip(decisions, outcomes, strict=True):
        if not isinstance(outcome, Exception):
            results.append(
                DecisionOutcome(
                    appointment_id=decision.appointment_id,
                    outcome="ok",
                    appointment=AppointmentRead.from_domain(outcome),
                )
            )
            continue
        problem = problem_body(outcome)
        if problem is None:  # a fault of ours: logged with its trace, reported without it
            log.error(
                "appointments.batch_decision_failed", appointment_id=str(decision.appointment_id), exc_info=outcome
            )
            problem = _internal_problem()
        results.append(DecisionOutcome(appointment_id=decision.appointment_id, outcome="problem", problem=problem))
    return BatchDecisionRead(results=results)


def _internal_problem() -> dict[str, object]:
    return {
        "type": f"{TYPE_PREFIX}internal",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "This decision could not be completed; quote the correlation id when reporting it.",
    }


@router.post("/resources/{resource_id}/holds", status_code=201)
async def place_hold(resource_id: UUID, body: HoldCreate, uow: Uow, me: CurrentPrincipal) -> HoldRead:
    """Reserve a free time for a few minutes while the request form is filled in; request with its id."""
    try:
        hold = await holds.place_hold(
            uow=uow,
            by=me,
            resource_id=resource_id,
            appointment_type=body.appointment_type,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
        )
    except TimeTaken as taken:
        raise await time_taken_problem(
            uow, taken, resource_id=resource_id, appointment_type=body.appointment_type, around=body.starts_at
        ) from taken
    return HoldRead.from_domain(hold)


@router.get("/holds/{hold_id}")
async def read_hold(hold_id: UUID, uow: Uow, me: CurrentPrincipal) -> HoldRead:
    """One of the caller's live holds."""
    return HoldRead.from_domain(await holds.read_hold(uow=uow, by=me, hold_id=hold_id))


@router.delete("/holds/{hold_id}", status_code=204)
async def release_hold(hold_id: UUID, uow: Uow, me: CurrentPrincipal) -> Response:
    """Give a hold back before it expires (or decline a waitlist offer)."""
    await holds.release_hold(uow=uow, by=me, hold_id=hold_id)
    return Response(status_code=204)


@router.post("/waitlist", status_code=201)
async def join_waitlist(body: WaitlistCreate, uow: Uow, me: CurrentPrincipal) -> WaitlistRead:
    """Wait for a time on a resource to free up; the first in line is offered it (a hold) when it does."""
    entry = await holds.join_waitlist(
        uow=uow,
        by=me,
        resource_id=body.resource_id,
        appointment_type=body.appointment_type,
        earliest=body.earliest,
        latest=body.latest,
    )
    return WaitlistRead.from_domain(entry)


@router.get("/waitlist")
async def my_waitlist(uow: Uow, me: CurrentPrincipal, page: Paging) -> Page[WaitlistRead]:
    """The caller's waitlist entries, oldest first."""
    found = await holds.my_waitlist(uow=uow, by=me, page=page)
    items, next_cursor = page_of(found, page, key=lambda entry: (entry.joined_at, entry.id))
    return Page(items=[WaitlistRead.from_domain(entry) for entry in items], next_cursor=next_cursor)


@router.delete("/waitlist/{entry_id}", status_code=204)
async def leave_waitlist(entry_id: UUID, uow: Uow, me: CurrentPrincipal) -> Response:
    """Stop waiting (an open offer lapses)."""
    await holds.leave_waitlist(uow=uow, by=me, entry_id=entry_id)
    return Response(status_code=204)
