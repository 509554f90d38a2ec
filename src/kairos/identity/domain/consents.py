"""Consent records (GDPR Art. 7): for each purpose, which version of its text a person agreed to, when, and
when they withdrew. Records are never changed but to close them, so the history proves what was agreed.

A purpose's text changes by a new version; agreeing to the new version closes the record of the old one
(``superseded``). Withdrawing is as easy as giving (Art. 7(3)): one call, for the current record of a purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID


@dataclass(frozen=True)
class Purpose:
    name: str
    version: str  # the version of the text people agree to now
    description: str


# The purposes Kairos asks consent for, and the current version of each one's text.
PURPOSES: dict[str, Purpose] = {
    purpose.name: purpose
    for purpose in (
        Purpose("terms_of_service", "2026-11", "The terms of using Kairos."),
        Purpose("health_data_processing", "2026-11", "Processing of health data to arrange and hold appointments."),
        Purpose(
            "assistant_processing",
            "2026-11",
            "Conversations with the booking assistant, processed by a language model.",
        ),
        Purpose("reminders_by_sms", "2026-11", "Appointment reminders by text message."),
        Purpose("product_news", "2026-11", "Occasional news about Kairos by e-mail."),
    )
}


class UnknownPurpose(Exception):
    """No such purpose."""


class OutdatedVersion(Exception):
    """Consent is given to the current version of a purpose's text only."""


class NoConsentToWithdraw(Exception):
    """The person has no current consent for this purpose."""


class ClosedBy(StrEnum):
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"  # the person agreed to a newer version


@dataclass(frozen=True)
class ConsentRecord:
    id: UUID
    user_id: UUID
    purpose: str
    version: str
    granted_at: datetime
    closed_at: datetime | None = None
    closed_by: ClosedBy | None = None

    @property
    def is_current(self) -> bool:
        return self.closed_at is None


def purpose(name: str) -> Purpose:
    found = PURPOSES.get(name)
    if found is None:
        raise UnknownPurpose(f"no purpose {name!r}; known: {', '.join(sorted(PURPOSES))}")
    return found


@dataclass(frozen=True)
class Grant:
    """What granting decided: the record to add (None when the same version is already agreed) and the ones closed."""

    added: ConsentRecord | None
    closed: tuple[ConsentRecord, ...]


def grant(
    records: Iterable[ConsentRecord], *, record_id: UUID, user_id: UUID, purpose_name: str, version: str, at: datetime
) -> Grant:
    """Agree to ``version`` of a purpose; agreeing again to what is current changes nothing."""
    wanted = purpose(purpose_name)
    if version != wanted.version:
        raise OutdatedVersion(f"the current version of {purpose_name} is {wanted.version}")
    current = [record for record in records if record.purpose == purpose_name and record.is_current]
    if any(record.version == version for record in current):
        return Grant(None, ())
    closed = tuple(replace(record, closed_at=at, closed_by=ClosedBy.SUPERSEDED) for record in current)
    added = ConsentRecord(id=record_id, user_id=user_id, purpose=purpose_name, version=version, granted_at=at)
    return Grant(added, closed)


def withdraw(records: Iterable[ConsentRecord], *, purpose_name: str, at: datetime) -> ConsentRecord:
    """Close the current record of a purpose as withdrawn; the closed record is returned."""
    purpose(purpose_name)
    current = [record for record in records if record.purpose == purpose_name and record.is_current]
    if not current:
        raise NoConsentToWithdraw(f"no current consent for {purpose_name}")
    return replace(current[0], closed_at=at, closed_by=ClosedBy.WITHDRAWN)
