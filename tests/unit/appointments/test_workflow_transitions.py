"""The status workflow (FHIR R4 Appointment.status): every (status, command) pair is allowed or refused as
specified here, independently of the table in the domain, and any lived stream replays to the same state."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kairos.appointments.domain.appointment import (
    TRANSITIONS,
    Appointment,
    Command,
    IllegalTransition,
    NotYet,
    Period,
    ReasonRequired,
    Requested,
    Status,
)

NOON = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
STARTS = NOON + timedelta(days=1)
LATER = Period(STARTS + timedelta(hours=2), STARTS + timedelta(hours=2, minutes=30))
AFTER_START = STARTS + timedelta(days=1)  # after any start the tests use
S = Status

# The specification, written out: the statuses each command may start from, and where it leads.
SPECIFIED: dict[Command, tuple[set[Status], Status | None]] = {
    Command.APPROVE: ({S.PENDING}, S.BOOKED),
    Command.DECLINE: ({S.PENDING}, S.CANCELLED),
    Command.PROPOSE: ({S.PENDING, S.PROPOSED}, S.PROPOSED),
    Command.ACCEPT_PROPOSAL: ({S.PROPOSED}, S.BOOKED),
    Command.REJECT_PROPOSAL: ({S.PROPOSED}, S.CANCELLED),
    Command.RESCHEDULE: ({S.PENDING, S.BOOKED}, None),
    Command.CANCEL: ({S.PROPOSED, S.PENDING, S.BOOKED}, S.CANCELLED),
    Command.ARRIVE: ({S.BOOKED}, S.ARRIVED),
    Command.CHECK_IN: ({S.BOOKED, S.ARRIVED}, S.CHECKED_IN),
    Command.FULFIL: ({S.ARRIVED, S.CHECKED_IN}, S.FULFILLED),
    Command.MARK_NO_SHOW: ({S.BOOKED}, S.NOSHOW),
    Command.MARK_ENTERED_IN_ERROR: (set(Status) - {S.ENTERED_IN_ERROR}, S.ENTERED_IN_ERROR),
}


def requested() -> Appointment:
    return Appointment.request(
        Requested(
            appointment_id=uuid.uuid4(),
            actor="patient-1",
            occurred_at=NOON,
            resource_id=uuid.uuid4(),
            patient="patient-1",
            organisation_id=uuid.uuid4(),
            appointment_type="consultation",
            period=Period(STARTS, STARTS + timedelta(minutes=30)),
            message=None,
        )
    ).committed()


def run(appointment: Appointment, command: Command) -> Appointment:
    """Each command with valid arguments, at a time that suits every command (after the start)."""
    by, at = "someone", AFTER_START
    match command:
        case Command.APPROVE:
            return appointment.approve(by=by, at=at)
        case Command.DECLINE:
            return appointment.decline(by=by, at=at, reason_code="fully_booked")
        case Command.PROPOSE:
            return appointment.propose(LATER, by=by, at=at)
        case Command.ACCEPT_PROPOSAL:
            return appointment.accept_proposal(by=by, at=at)
        case Command.REJECT_PROPOSAL:
            return appointment.reject_proposal(by=by, at=at, reason="Not that day")
        case Command.RESCHEDULE:
            return appointment.reschedule(LATER, by=by, at=at, reason="Train strike")
        case Command.CANCEL:
            return appointment.cancel(by=by, at=at, reason="Feeling better")
        case Command.ARRIVE:
            return appointment.arrive(by=by, at=at)
        case Command.CHECK_IN:
            return appointment.check_in(by=by, at=at)
        case Command.FULFIL:
            return appointment.fulfil(by=by, at=at)
        case Command.MARK_NO_SHOW:
            return appointment.mark_no_show(by=by, at=at)
        case Command.MARK_ENTERED_IN_ERROR:
            return appointment.mark_entered_in_error(by=by, at=at, reason="Wrong patient")


def test_the_domain_table_is_the_specification() -> None:
    assert {command: (set(t.allowed_from), t.to) for command, t in TRANSITIONS.items()} == SPECIFIED


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("command", list(Command))
def test_every_status_and_command(status: Status, command: Command) -> None:
    appointment = replace(requested(), status=status)
    allowed_from, to = SPECIFIED[command]
    if status not in allowed_from:
        with pytest.raises(IllegalTransition):
            run(appointment, command)
        return
    changed = run(appointment, command)
    assert changed.status == (to or status)
    assert changed.version == appointment.version + 1
    assert len(changed.pending_events) == 1
    assert changed.pending_events[0].command == command


def test_a_proposal_moves_the_appointment_and_the_patient_books_it_by_accepting() -> None:
    proposed = requested().propose(LATER, by="doctor-1", at=NOON, reason="Morning is full")
    assert (proposed.status, proposed.period) == (Status.PROPOSED, LATER)
    accepted = proposed.accept_proposal(by="patient-1", at=NOON)
    assert (accepted.status, accepted.period) == (Status.BOOKED, LATER)


def test_a_reschedule_keeps_the_status_counts_and_needs_a_reason_unless_the_policy_waives_it() -> None:
    booked = requested().approve(by="doctor-1", at=NOON).committed()
    with pytest.raises(ReasonRequired):
        booked.reschedule(LATER, by="patient-1", at=NOON, reason=" ")
    moved = booked.reschedule(LATER, by="patient-1", at=NOON, reason="", reason_required=False)
    assert (moved.status, moved.period, moved.reschedules) == (Status.BOOKED, LATER, 1)
    with pytest.raises(IllegalTransition, match="already"):
        moved.reschedule(LATER, by="patient-1", at=NOON, reason="again")


def test_a_no_show_only_once_the_appointment_has_started() -> None:
    booked = requested().approve(by="doctor-1", at=NOON)
    with pytest.raises(NotYet):
        booked.mark_no_show(by="staff-1", at=STARTS - timedelta(minutes=1))
    assert booked.mark_no_show(by="staff-1", at=STARTS).status == Status.NOSHOW


def test_entered_in_error_needs_a_reason() -> None:
    with pytest.raises(ReasonRequired):
        requested().mark_entered_in_error(by="staff-1", at=NOON, reason="")


def test_a_cancellation_reason_may_be_waived_by_the_policy() -> None:
    assert requested().cancel(by="p", at=NOON, reason="", reason_required=False).status == Status.CANCELLED
    with pytest.raises(ReasonRequired):
        requested().cancel(by="p", at=NOON, reason="")


@given(st.lists(st.sampled_from(list(Command)), max_size=12))
def test_any_lived_stream_replays_to_the_same_state_and_ends_in_a_reachable_status(commands: list[Command]) -> None:
    appointment = requested()
    stream = [*Appointment.request(_first_event(appointment)).pending_events]
    for command in commands:
        if not appointment.allows(command):
            with pytest.raises(IllegalTransition):
                run(appointment, command)
            continue
        if command in {Command.PROPOSE, Command.RESCHEDULE} and appointment.period == LATER:
            continue  # already there: nothing to move
        appointment = run(appointment, command)
        stream.extend(appointment.pending_events)
        appointment = appointment.committed()
    assert Appointment.replay(stream) == appointment
    assert appointment.version == len(stream)
    assert appointment.status.holds_time == (
        appointment.status not in {Status.CANCELLED, Status.NOSHOW, Status.ENTERED_IN_ERROR}
    )


def _first_event(appointment: Appointment) -> Requested:
    return Requested(
        appointment_id=appointment.id,
        actor="patient-1",
        occurred_at=NOON,
        resource_id=appointment.resource_id,
        patient=appointment.patient,
        organisation_id=appointment.organisation_id,
        appointment_type=appointment.appointment_type,
        period=appointment.period,
        message=None,
    )
