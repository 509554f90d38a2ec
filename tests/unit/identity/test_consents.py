"""Consent records: granting, superseding by a newer version, withdrawing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kairos.identity.domain.consents import (
    PURPOSES,
    ClosedBy,
    ConsentRecord,
    NoConsentToWithdraw,
    OutdatedVersion,
    UnknownPurpose,
    grant,
    withdraw,
)

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PERSON = uuid.uuid4()
SMS = PURPOSES["reminders_by_sms"]


def granted(purpose: str = SMS.name, version: str = SMS.version, at: datetime = NOON) -> ConsentRecord:
    return ConsentRecord(id=uuid.uuid4(), user_id=PERSON, purpose=purpose, version=version, granted_at=at)


def test_a_first_grant_adds_a_current_record() -> None:
    decided = grant([], record_id=uuid.uuid4(), user_id=PERSON, purpose_name=SMS.name, version=SMS.version, at=NOON)

    assert decided.added is not None
    assert decided.added.is_current
    assert decided.added.granted_at == NOON
    assert decided.closed == ()


def test_granting_the_current_version_again_changes_nothing() -> None:
    decided = grant(
        [granted()], record_id=uuid.uuid4(), user_id=PERSON, purpose_name=SMS.name, version=SMS.version, at=NOON
    )
    assert decided.added is None
    assert decided.closed == ()


def test_agreeing_to_the_new_version_supersedes_the_old_record() -> None:
    old = granted(version="2025-01")

    decided = grant([old], record_id=uuid.uuid4(), user_id=PERSON, purpose_name=SMS.name, version=SMS.version, at=NOON)

    assert decided.added is not None
    assert decided.added.version == SMS.version
    assert [(record.id, record.closed_by, record.closed_at) for record in decided.closed] == [
        (old.id, ClosedBy.SUPERSEDED, NOON)
    ]


def test_consent_is_given_to_the_current_version_of_a_known_purpose_only() -> None:
    with pytest.raises(OutdatedVersion):
        grant([], record_id=uuid.uuid4(), user_id=PERSON, purpose_name=SMS.name, version="2020-01", at=NOON)
    with pytest.raises(UnknownPurpose):
        grant([], record_id=uuid.uuid4(), user_id=PERSON, purpose_name="selling_data", version="1", at=NOON)


def test_withdrawing_closes_the_current_record() -> None:
    current = granted()

    closed = withdraw([current], purpose_name=SMS.name, at=NOON + timedelta(days=3))

    assert closed.id == current.id
    assert closed.closed_by is ClosedBy.WITHDRAWN
    assert closed.closed_at == NOON + timedelta(days=3)
    assert not closed.is_current


def test_nothing_to_withdraw_without_a_current_record() -> None:
    already = replace(granted(), closed_at=NOON, closed_by=ClosedBy.WITHDRAWN)
    with pytest.raises(NoConsentToWithdraw):
        withdraw([already], purpose_name=SMS.name, at=NOON)
    with pytest.raises(UnknownPurpose):
        withdraw([], purpose_name="selling_data", at=NOON)
