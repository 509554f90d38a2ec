"""The professional verification workflow, as a pure state machine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kairos.identity.domain.verification import (
    DEFAULT_VALIDITY,
    MAXIMUM_VALIDITY,
    REMINDER_LEAD,
    Credentials,
    IllegalTransition,
    IncompleteCredentials,
    InvalidExpiry,
    Lapsed,
    ProfessionalProfile,
    ReasonRequired,
    Rejected,
    ReverificationDue,
    Submitted,
    VerificationStatus,
    Verified,
)

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
VERIFIER = "verifier-1"
COMPLETE = Credentials(
    specialty="General practice",
    licence_number="GMC-1234567",
    issuing_authority="General Medical Council",
    languages=("en", "ar"),
    location="Harbour Street 1",
)


def draft(credentials: Credentials = COMPLETE) -> ProfessionalProfile:
    return ProfessionalProfile.draft(user_id=uuid.uuid4(), organisation_id=uuid.uuid4(), credentials=credentials)


def verified(at: datetime = NOON, expires_at: datetime | None = None) -> ProfessionalProfile:
    return draft().submit(at=at).verify(by=VERIFIER, at=at, expires_at=expires_at)


def kinds(profile: ProfessionalProfile) -> list[type]:
    return [type(event) for event in profile.pending_events]


def test_a_draft_is_submitted_then_verified_for_a_year_by_default() -> None:
    submitted = draft().submit(at=NOON)
    decided = submitted.verify(by=VERIFIER, at=NOON + timedelta(hours=1))

    assert submitted.status is VerificationStatus.SUBMITTED
    assert decided.status is VerificationStatus.VERIFIED
    assert decided.expires_at == NOON + timedelta(hours=1) + DEFAULT_VALIDITY
    assert decided.decided_by == VERIFIER
    assert decided.is_listed(NOON + timedelta(hours=2))
    assert kinds(decided) == [Submitted, Verified]


def test_a_submission_names_what_is_missing() -> None:
    with pytest.raises(IncompleteCredentials, match="licence_number, issuing_authority, languages"):
        draft(Credentials(specialty="Family law", licence_number="  ")).submit(at=NOON)


def test_a_rejection_needs_a_reason_and_is_recorded_with_it() -> None:
    submitted = draft().submit(at=NOON)
    with pytest.raises(ReasonRequired):
        submitted.reject(by=VERIFIER, at=NOON, reason="   ")

    rejected = submitted.reject(by=VERIFIER, at=NOON, reason=" Licence not in the register ")

    assert rejected.status is VerificationStatus.REJECTED
    assert rejected.rejection_reason == "Licence not in the register"
    assert not rejected.is_listed(NOON)
    assert kinds(rejected) == [Submitted, Rejected]


@pytest.mark.parametrize("status", ["draft", "verified", "rejected"])
def test_only_a_submitted_profile_is_decided(status: str) -> None:
    profile = {
        "draft": draft(),
        "verified": verified(),
        "rejected": draft().submit(at=NOON).reject(by=VERIFIER, at=NOON, reason="no"),
    }[status]
    with pytest.raises(IllegalTransition):
        profile.verify(by=VERIFIER, at=NOON)
    with pytest.raises(IllegalTransition):
        profile.reject(by=VERIFIER, at=NOON, reason="no")


def test_a_submitted_profile_is_not_submitted_twice_nor_revised() -> None:
    submitted = draft().submit(at=NOON)
    with pytest.raises(IllegalTransition):
        submitted.submit(at=NOON)
    with pytest.raises(IllegalTransition):
        submitted.revise(COMPLETE)


def test_a_rejected_profile_is_revised_and_submitted_again() -> None:
    rejected = draft().submit(at=NOON).reject(by=VERIFIER, at=NOON, reason="Document unreadable")
    revised = rejected.revise(Credentials(**{**COMPLETE.__dict__, "document_ids": (uuid.uuid4(),)}))

    resubmitted = revised.submit(at=NOON + timedelta(days=1))

    assert revised.status is VerificationStatus.DRAFT
    assert resubmitted.status is VerificationStatus.SUBMITTED
    assert resubmitted.rejection_reason is None


@pytest.mark.parametrize(
    ("expires_at", "valid"),
    [
        (NOON, False),
        (NOON - timedelta(days=1), False),
        (NOON + MAXIMUM_VALIDITY + timedelta(seconds=1), False),
        (NOON + MAXIMUM_VALIDITY, True),
        (NOON + timedelta(days=1), True),
    ],
)
def test_a_verification_expires_in_the_future_within_the_maximum(expires_at: datetime, valid: bool) -> None:
    submitted = draft().submit(at=NOON)
    if valid:
        assert submitted.verify(by=VERIFIER, at=NOON, expires_at=expires_at).expires_at == expires_at
    else:
        with pytest.raises(InvalidExpiry):
            submitted.verify(by=VERIFIER, at=NOON, expires_at=expires_at)


def test_a_naive_expiry_is_refused() -> None:
    with pytest.raises(InvalidExpiry):
        draft().submit(at=NOON).verify(by=VERIFIER, at=NOON, expires_at=datetime(2027, 1, 1))


def test_a_reminder_is_due_once_within_the_lead_before_expiry() -> None:
    expiry = NOON + timedelta(days=90)
    profile = verified(expires_at=expiry)

    assert not profile.is_reverification_due(expiry - REMINDER_LEAD - timedelta(seconds=1))
    assert profile.is_reverification_due(expiry - REMINDER_LEAD)
    reminded = profile.remind(at=expiry - timedelta(days=10))

    assert isinstance(reminded.pending_events[-1], ReverificationDue)
    assert reminded.pending_events[-1].expires_at == expiry
    assert not reminded.is_reverification_due(expiry - timedelta(days=9))
    with pytest.raises(IllegalTransition):
        reminded.remind(at=expiry - timedelta(days=9))


def test_a_verification_lapses_at_its_expiry() -> None:
    expiry = NOON + timedelta(days=30)
    profile = verified(expires_at=expiry)
    with pytest.raises(IllegalTransition):
        profile.lapse(at=expiry - timedelta(seconds=1))

    lapsed = profile.lapse(at=expiry)

    assert lapsed.status is VerificationStatus.EXPIRED
    assert not lapsed.is_listed(expiry)
    assert isinstance(lapsed.pending_events[-1], Lapsed)
    assert lapsed.revise(COMPLETE).submit(at=expiry).status is VerificationStatus.SUBMITTED


def test_a_renewal_keeps_the_professional_listed_until_the_old_verification_ends() -> None:
    expiry = NOON + timedelta(days=60)
    renewing = verified(expires_at=expiry).submit(at=NOON + timedelta(days=40))

    assert renewing.status is VerificationStatus.SUBMITTED
    assert renewing.is_listed(NOON + timedelta(days=50))
    assert not renewing.is_reverification_due(NOON + timedelta(days=50))

    lapsed = renewing.lapse(at=expiry)
    assert lapsed.status is VerificationStatus.SUBMITTED  # still waiting for its decision
    assert not lapsed.is_listed(expiry)

    renewed = renewing.verify(by=VERIFIER, at=NOON + timedelta(days=45))
    assert renewed.expires_at == NOON + timedelta(days=45) + DEFAULT_VALIDITY
    assert renewed.reminded_at is None


def test_a_rejected_renewal_ends_the_listing_at_once() -> None:
    renewing = verified(expires_at=NOON + timedelta(days=60)).submit(at=NOON + timedelta(days=40))

    rejected = renewing.reject(by=VERIFIER, at=NOON + timedelta(days=41), reason="Licence suspended")

    assert not rejected.is_listed(NOON + timedelta(days=41))
    assert [type(event) for event in rejected.pending_events[-2:]] == [Rejected, Lapsed]


def test_a_verified_profile_changes_only_by_a_new_submission() -> None:
    with pytest.raises(IllegalTransition):
        verified().revise(COMPLETE)


def test_a_rejected_renewal_whose_old_verification_ran_out_unnoticed_still_tells_the_directory() -> None:
    expiry = NOON + timedelta(days=60)
    renewing = verified(expires_at=expiry).submit(at=NOON + timedelta(days=40))

    rejected = renewing.reject(by=VERIFIER, at=expiry + timedelta(hours=1), reason="Licence suspended")

    assert isinstance(rejected.pending_events[-1], Lapsed)
    assert rejected.expires_at is None


def test_withdrawing_ends_a_listing_at_once_and_nothing_else() -> None:
    listed = verified(expires_at=NOON + timedelta(days=100))

    withdrawn = listed.withdraw(at=NOON + timedelta(days=1))

    assert withdrawn.status is VerificationStatus.EXPIRED
    assert not withdrawn.is_listed(NOON + timedelta(days=1))
    assert isinstance(withdrawn.pending_events[-1], Lapsed)
    unlisted = draft()
    assert unlisted.withdraw(at=NOON) is unlisted
