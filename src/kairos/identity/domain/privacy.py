"""Data-subject requests (GDPR Art. 15, 17, 20) as a saga identity orchestrates: the state machine, no I/O.

```
requested ──first answer──▶ collecting ──every participant answered──▶ complete
    │                            │
    └──────── deadline passed ───┴──▶ failed (naming who did not answer)
```

A request expects an answer from each participating service (``PARTICIPANTS``, configurable); the same service
answering twice counts once, an answer from a service that was not asked is not counted, and an answer arriving
after the deadline is kept in the record without reopening the request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

# The services that hold a person's data besides identity; each answers every request, also with "nothing held".
PARTICIPANTS: tuple[str, ...] = ("appointments", "chat", "documents", "notifications", "assistant", "monitoring")

# Services answer within seconds; a week leaves an operator time to repair a parked event and still answer the
# person within the month GDPR Art. 12(3) gives.
ANSWER_DEADLINE = timedelta(days=7)

# Erasure is irreversible: it needs a sign-in this recent (the browser session's start), not just a valid token.
REAUTHENTICATION_WINDOW = timedelta(minutes=10)

# How long a finished export stays downloadable before its parts are deleted.
EXPORT_RETENTION = timedelta(days=30)


class RequestKind(StrEnum):
    EXPORT = "export"  # Art. 15 (access) and Art. 20 (portability): a machine-readable document
    ERASURE = "erasure"  # Art. 17: erased, or anonymised where a law requires keeping the record


class RequestStatus(StrEnum):
    REQUESTED = "requested"
    COLLECTING = "collecting"
    COMPLETE = "complete"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        return self in {RequestStatus.REQUESTED, RequestStatus.COLLECTING}


class ReauthenticationRequired(Exception):
    """Erasing an account needs a recent sign-in: sign in again, then ask."""


class ExportNotReady(Exception):
    """The export is not complete (still collecting, or failed)."""


class ExportExpired(Exception):
    """The export was complete but its retention has passed: its parts are deleted; ask for a new one."""


class AnswerOutcome(StrEnum):
    RECORDED = "recorded"  # counted towards completion
    DUPLICATE = "duplicate"  # this service had answered already
    LATE = "late"  # the request had failed meanwhile: kept in the record, nothing reopens
    UNEXPECTED = "unexpected"  # a service that was not asked: not counted


@dataclass(frozen=True)
class DataSubjectRequest:
    id: UUID
    subject_id: UUID
    kind: RequestKind
    requested_by: str  # the token subject who asked: the person, or an operator on their behalf
    requested_at: datetime
    deadline: datetime
    expected: frozenset[str]
    status: RequestStatus = RequestStatus.REQUESTED
    answered: frozenset[str] = frozenset()
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None

    @classmethod
    def open(
        cls,
        *,
        request_id: UUID,
        subject_id: UUID,
        kind: RequestKind,
        requested_by: str,
        at: datetime,
        participants: Iterable[str] = PARTICIPANTS,
        answer_within: timedelta = ANSWER_DEADLINE,
    ) -> DataSubjectRequest:
        expected = frozenset(participants)
        if not expected:
            raise ValueError("a request needs at least one participating service")
        return cls(
            id=request_id,
            subject_id=subject_id,
            kind=kind,
            requested_by=requested_by,
            requested_at=at,
            deadline=at + answer_within,
            expected=expected,
        )

    @property
    def waiting_for(self) -> frozenset[str]:
        return self.expected - self.answered

    def answer(self, service: str, *, at: datetime) -> tuple[DataSubjectRequest, AnswerOutcome]:
        """The request once ``service`` has answered, and what the answer did."""
        if service not in self.expected:
            return self, AnswerOutcome.UNEXPECTED
        if service in self.answered:
            return self, AnswerOutcome.DUPLICATE
        answered = self.answered | {service}
        if not self.status.is_open:
            return dataclasses.replace(self, answered=answered), AnswerOutcome.LATE
        if answered == self.expected:
            return (
                dataclasses.replace(self, answered=answered, status=RequestStatus.COMPLETE, completed_at=at),
                AnswerOutcome.RECORDED,
            )
        return dataclasses.replace(self, answered=answered, status=RequestStatus.COLLECTING), AnswerOutcome.RECORDED

    def is_overdue(self, at: datetime) -> bool:
        return self.status.is_open and at >= self.deadline

    def expire(self, *, at: datetime) -> DataSubjectRequest:
        """Fail an open request whose deadline has passed, naming the services that did not answer."""
        if not self.is_overdue(at):
            return self
        missing = ", ".join(sorted(self.waiting_for))
        return dataclasses.replace(
            self, status=RequestStatus.FAILED, failed_at=at, failure_reason=f"no answer by the deadline from: {missing}"
        )

    def require_export_available(self, at: datetime) -> None:
        """Raise unless this is a complete export still within its retention."""
        if self.kind is not RequestKind.EXPORT or self.status is not RequestStatus.COMPLETE:
            raise ExportNotReady(f"the request is {self.status.value}")
        assert self.completed_at is not None
        if at >= self.completed_at + EXPORT_RETENTION:
            raise ExportExpired("the export's retention has passed")


def open_request_of(requests: Sequence[DataSubjectRequest], kind: RequestKind) -> DataSubjectRequest | None:
    """The subject's request of this kind still open, if any: asking again returns it rather than a second one."""
    return next((request for request in requests if request.kind is kind and request.status.is_open), None)


def require_recent_sign_in(signed_in_at: datetime | None, *, at: datetime) -> None:
    """Erasure is asked for only within ``REAUTHENTICATION_WINDOW`` of signing in (OIDC ``auth_time``)."""
    if signed_in_at is None or at - signed_in_at > REAUTHENTICATION_WINDOW:
        minutes = int(REAUTHENTICATION_WINDOW.total_seconds() // 60)
        raise ReauthenticationRequired(
            f"sign in again: erasing an account needs a sign-in in the last {minutes} minutes"
        )
