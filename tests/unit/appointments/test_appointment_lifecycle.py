"""An appointment's life: the transitions its status allows, and the stream that records them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kairos.appointments.domain.appointment import (
    Appointment,
    IllegalTransition,
    Period,
    ReasonRequired,
    Requested,
    Status,
)

NOON = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
PROFESSIONAL = "doctor-1"


def requested_appointment(*, needs_approval: bool = True) -> Appointment:
    return Appointment.request(
        Requested(
            appointment_id=uuid.uuid4(),
            actor="patient-1",
            occurred_at=NOON,
            resource_id=uuid.uuid4(),
            patient="patient-1",
            organisation_id=uuid.uuid4(),
            appointment_type="consultation",
            period=Period(NOON + timedelta(days=1), NOON + timedelta(days=1, minutes=30)),
            message="Back pain",
            needs_approval=needs_approval,
        )
    )


def test_a_request_waits_for_the_practice_unless_approval_is_not_needed() -> None:
    assert requested_appointment().status == Status.PENDING
    assert requested_appointment(needs_approval=False).status == Status.BOOKED


def test_an_approved_request_is_booked_and_the_stream_records_who_approved() -> None:
    approved = requested_appointment().approve(by=PROFESSIONAL, at=NOON)
    assert approved.status == Status.BOOKED
    assert [event.kind for event in approved.pending_events] == ["requested", "approved"]
    assert approved.pending_events[-1].actor == PROFESSIONAL
    assert approved.version == 2


def test_a_declined_request_cannot_be_approved() -> None:
    declined = requested_appointment().decline(by=PROFESSIONAL, at=NOON, reason_code="fully_booked")
    assert declined.status == Status.CANCELLED
    with pytest.raises(IllegalTransition):
        declined.approve(by=PROFESSIONAL, at=NOON)


def test_a_decline_without_a_reason_code_is_refused() -> None:
    with pytest.raises(ReasonRequired):
        requested_appointment().decline(by=PROFESSIONAL, at=NOON, reason_code="")


def test_a_cancellation_needs_a_reason_and_happens_once() -> None:
    booked = requested_appointment().approve(by=PROFESSIONAL, at=NOON)
    with pytest.raises(ReasonRequired):
        booked.cancel(by="patient-1", at=NOON, reason="  ")
    cancelled = booked.cancel(by="patient-1", at=NOON, reason="Feeling better")
    with pytest.raises(IllegalTransition):
        cancelled.cancel(by="patient-1", at=NOON, reason="again")


def test_replaying_the_stream_gives_the_same_state() -> None:
    lived = requested_appointment().approve(by=PROFESSIONAL, at=NOON).cancel(by="patient-1", at=NOON, reason="Moved")
    replayed = Appointment.replay(list(lived.pending_events))
    assert replayed == lived.committed()


@pytest.mark.parametrize(
    ("status", "holds"),
    [(Status.PENDING, True), (Status.BOOKED, True), (Status.CANCELLED, False), (Status.NOSHOW, False)],
)
def test_only_live_appointments_hold_their_time(status: Status, holds: bool) -> None:
    assert status.holds_time is holds


def test_times_must_be_aware_and_in_order() -> None:
    with pytest.raises(ValueError, match="aware"):
        Period(datetime(2027, 1, 1, 9), datetime(2027, 1, 1, 10))
    with pytest.raises(ValueError, match="ends after"):
        Period(NOON, NOON)
