"""The data-subject request saga's state machine: answers, duplicates, deadlines, export availability."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kairos.identity.domain.privacy import (
    ANSWER_DEADLINE,
    EXPORT_RETENTION,
    PARTICIPANTS,
    REAUTHENTICATION_WINDOW,
    AnswerOutcome,
    DataSubjectRequest,
    ExportExpired,
    ExportNotReady,
    ReauthenticationRequired,
    RequestKind,
    RequestStatus,
    open_request_of,
    require_recent_sign_in,
)

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PERSON = uuid.uuid4()


def requested(kind: RequestKind = RequestKind.EXPORT, participants: tuple[str, ...] = ("appointments", "chat")):
    return DataSubjectRequest.open(
        request_id=uuid.uuid4(),
        subject_id=PERSON,
        kind=kind,
        requested_by=str(PERSON),
        at=NOON,
        participants=participants,
    )


def test_a_new_request_waits_for_every_participant_until_its_deadline() -> None:
    request = DataSubjectRequest.open(
        request_id=uuid.uuid4(), subject_id=PERSON, kind=RequestKind.ERASURE, requested_by="operator", at=NOON
    )

    assert request.status is RequestStatus.REQUESTED
    assert request.waiting_for == frozenset(PARTICIPANTS)
    assert request.deadline == NOON + ANSWER_DEADLINE


def test_the_first_answer_starts_collecting_and_the_last_completes() -> None:
    request = requested()

    collecting, first = request.answer("chat", at=NOON + timedelta(seconds=1))
    complete, last = collecting.answer("appointments", at=NOON + timedelta(seconds=2))

    assert (first, collecting.status, collecting.waiting_for) == (
        AnswerOutcome.RECORDED,
        RequestStatus.COLLECTING,
        frozenset({"appointments"}),
    )
    assert (last, complete.status, complete.completed_at) == (
        AnswerOutcome.RECORDED,
        RequestStatus.COMPLETE,
        NOON + timedelta(seconds=2),
    )


def test_a_service_answering_twice_counts_once() -> None:
    collecting, _ = requested().answer("chat", at=NOON)

    again, outcome = collecting.answer("chat", at=NOON + timedelta(seconds=5))

    assert outcome is AnswerOutcome.DUPLICATE
    assert again == collecting
    assert again.status is RequestStatus.COLLECTING


def test_an_answer_from_a_service_that_was_not_asked_is_not_counted() -> None:
    request = requested()

    after, outcome = request.answer("gateway", at=NOON)

    assert outcome is AnswerOutcome.UNEXPECTED
    assert after == request


def test_an_open_request_fails_at_its_deadline_naming_who_did_not_answer() -> None:
    collecting, _ = requested().answer("chat", at=NOON)

    assert collecting.expire(at=collecting.deadline - timedelta(seconds=1)) == collecting
    failed = collecting.expire(at=collecting.deadline)

    assert failed.status is RequestStatus.FAILED
    assert failed.failed_at == collecting.deadline
    assert failed.failure_reason == "no answer by the deadline from: appointments"


def test_a_complete_request_never_expires() -> None:
    complete, _ = requested(participants=("chat",)).answer("chat", at=NOON)

    assert not complete.is_overdue(NOON + ANSWER_DEADLINE * 2)
    assert complete.expire(at=NOON + ANSWER_DEADLINE * 2) == complete


def test_a_late_answer_is_kept_without_reopening_a_failed_request() -> None:
    failed = requested().expire(at=NOON + ANSWER_DEADLINE)

    late, outcome = failed.answer("chat", at=NOON + ANSWER_DEADLINE + timedelta(hours=1))

    assert outcome is AnswerOutcome.LATE
    assert late.status is RequestStatus.FAILED
    assert late.answered == frozenset({"chat"})


def test_an_export_is_downloadable_only_complete_and_within_its_retention() -> None:
    request = requested(participants=("chat",))
    with pytest.raises(ExportNotReady):
        request.require_export_available(NOON)

    complete, _ = request.answer("chat", at=NOON)
    complete.require_export_available(NOON + EXPORT_RETENTION - timedelta(seconds=1))
    with pytest.raises(ExportExpired):
        complete.require_export_available(NOON + EXPORT_RETENTION)


def test_an_erasure_is_no_export_to_download() -> None:
    complete, _ = requested(RequestKind.ERASURE, participants=("chat",)).answer("chat", at=NOON)

    with pytest.raises(ExportNotReady):
        complete.require_export_available(NOON)


def test_asking_again_finds_the_open_request_of_the_same_kind_only() -> None:
    export = requested(RequestKind.EXPORT)
    finished, _ = requested(RequestKind.ERASURE, participants=("chat",)).answer("chat", at=NOON)

    assert open_request_of([finished, export], RequestKind.EXPORT) == export
    assert open_request_of([finished, export], RequestKind.ERASURE) is None


def test_erasure_needs_a_recent_sign_in() -> None:
    require_recent_sign_in(NOON - REAUTHENTICATION_WINDOW, at=NOON)

    with pytest.raises(ReauthenticationRequired):
        require_recent_sign_in(NOON - REAUTHENTICATION_WINDOW - timedelta(seconds=1), at=NOON)
    with pytest.raises(ReauthenticationRequired):
        require_recent_sign_in(None, at=NOON)


def test_a_request_needs_a_participant() -> None:
    with pytest.raises(ValueError, match="at least one participating service"):
        requested(participants=())
