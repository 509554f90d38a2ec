"""A professional's credentials and their verification (issue 4 §9).

The professional writes a draft and submits it; a verifier of the same organisation (``professionals:verify``)
verifies it until an expiry date, or rejects it with a reason. A verification lapses at its expiry; some days
before, the professional is reminded once to submit fresh evidence. A verified professional may submit again
before expiry (renewal) and stays listed until the old verification expires or the renewal is rejected.

"Listed" means what the directory of bookable professionals shows: a verification valid now.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

DEFAULT_VALIDITY = timedelta(days=365)
MAXIMUM_VALIDITY = timedelta(days=5 * 365)
REMINDER_LEAD = timedelta(days=30)  # how long before expiry the professional is asked to renew
MAX_REASON_LENGTH = 2000


class VerificationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"


class IllegalTransition(Exception):
    """The step is not allowed in the profile's current status."""


class IncompleteCredentials(Exception):
    """A submission lacks what a verifier needs (specialty, licence number, issuing authority, a language)."""


class ReasonRequired(Exception):
    """A rejection must say why."""


class InvalidExpiry(Exception):
    """A verification expires after it is given, and not further ahead than ``MAXIMUM_VALIDITY``."""


@dataclass(frozen=True)
class Credentials:
    """What the professional declares; ``document_ids`` name supporting documents (the documents service)."""

    specialty: str = ""
    licence_number: str = ""
    issuing_authority: str = ""
    languages: tuple[str, ...] = ()
    location: str | None = None
    document_ids: tuple[UUID, ...] = ()

    def missing(self) -> list[str]:
        """The fields a verifier needs that are still empty, in a stable order."""
        needed = {
            "specialty": self.specialty,
            "licence_number": self.licence_number,
            "issuing_authority": self.issuing_authority,
            "languages": self.languages,
        }
        return [name for name, value in needed.items() if not value or (isinstance(value, str) and not value.strip())]


# --- events: what happened to the verification --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VerificationEvent:
    kind: ClassVar[str]
    user_id: UUID
    organisation_id: UUID
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class Submitted(VerificationEvent):
    kind: ClassVar[str] = "submitted"


@dataclass(frozen=True, kw_only=True)
class Verified(VerificationEvent):
    kind: ClassVar[str] = "verified"
    by: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class Rejected(VerificationEvent):
    kind: ClassVar[str] = "rejected"
    by: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Lapsed(VerificationEvent):
    """The professional is no longer listed: the verification expired, or its renewal was rejected."""

    kind: ClassVar[str] = "lapsed"


@dataclass(frozen=True, kw_only=True)
class ReverificationDue(VerificationEvent):
    kind: ClassVar[str] = "reverification_due"
    expires_at: datetime


# --- the aggregate ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfessionalProfile:
    user_id: UUID
    organisation_id: UUID
    credentials: Credentials = Credentials()
    status: VerificationStatus = VerificationStatus.DRAFT
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    rejection_reason: str | None = None
    verified_at: datetime | None = None
    expires_at: datetime | None = None  # of the verification valid now; None when not listed
    reminded_at: datetime | None = None
    pending_events: tuple[VerificationEvent, ...] = field(default=(), compare=False)

    @classmethod
    def draft(cls, *, user_id: UUID, organisation_id: UUID, credentials: Credentials) -> ProfessionalProfile:
        return cls(user_id=user_id, organisation_id=organisation_id, credentials=credentials)

    def is_listed(self, at: datetime) -> bool:
        """Whether the directory shows the professional at ``at``: a verification is valid then."""
        return self.expires_at is not None and at < self.expires_at

    def is_reverification_due(self, at: datetime) -> bool:
        return (
            self.status is VerificationStatus.VERIFIED
            and self.expires_at is not None
            and self.reminded_at is None
            and self.expires_at - REMINDER_LEAD <= at < self.expires_at
        )

    def has_lapsed(self, at: datetime) -> bool:
        return self.expires_at is not None and at >= self.expires_at

    def revise(self, credentials: Credentials) -> ProfessionalProfile:
        """Change the draft; a submitted or verified profile changes only by submitting again."""
        if self.status not in {VerificationStatus.DRAFT, VerificationStatus.REJECTED, VerificationStatus.EXPIRED}:
            raise IllegalTransition(f"a {self.status.value} profile changes only by a new submission")
        return replace(self, credentials=credentials, status=VerificationStatus.DRAFT)

    def submit(self, *, at: datetime, credentials: Credentials | None = None) -> ProfessionalProfile:
        """Ask for verification; from ``verified`` this is a renewal, and the professional stays listed meanwhile."""
        if self.status is VerificationStatus.SUBMITTED:
            raise IllegalTransition("the profile is already waiting for verification")
        submitted = credentials or self.credentials
        missing = submitted.missing()
        if missing:
            raise IncompleteCredentials(f"a submission needs: {', '.join(missing)}")
        return self._with(
            Submitted(user_id=self.user_id, organisation_id=self.organisation_id, occurred_at=at),
            credentials=submitted,
            status=VerificationStatus.SUBMITTED,
            submitted_at=at,
            decided_at=None,
            decided_by=None,
            rejection_reason=None,
        )

    def verify(self, *, by: str, at: datetime, expires_at: datetime | None = None) -> ProfessionalProfile:
        if self.status is not VerificationStatus.SUBMITTED:
            raise IllegalTransition(f"only a submitted profile is verified, not a {self.status.value} one")
        expiry = expires_at or at + DEFAULT_VALIDITY
        if expiry.tzinfo is None:
            raise InvalidExpiry("the expiry must carry its time zone")
        if expiry <= at:
            raise InvalidExpiry("a verification expires after it is given")
        if expiry > at + MAXIMUM_VALIDITY:
            raise InvalidExpiry(f"a verification lasts at most {MAXIMUM_VALIDITY.days} days")
        return self._with(
            Verified(
                user_id=self.user_id, organisation_id=self.organisation_id, occurred_at=at, by=by, expires_at=expiry
            ),
            status=VerificationStatus.VERIFIED,
            decided_at=at,
            decided_by=by,
            verified_at=at,
            expires_at=expiry,
            reminded_at=None,
        )

    def reject(self, *, by: str, at: datetime, reason: str) -> ProfessionalProfile:
        """Refuse the submission with a reason; a rejected renewal ends the listing at once."""
        if self.status is not VerificationStatus.SUBMITTED:
            raise IllegalTransition(f"only a submitted profile is rejected, not a {self.status.value} one")
        reason = reason.strip()
        if not reason:
            raise ReasonRequired("a rejection says why")
        if len(reason) > MAX_REASON_LENGTH:
            raise ReasonRequired(f"a reason has at most {MAX_REASON_LENGTH} characters")
        events: list[VerificationEvent] = [
            Rejected(user_id=self.user_id, organisation_id=self.organisation_id, occurred_at=at, by=by, reason=reason)
        ]
        # Also when the old verification expired but the periodic check has not lapsed it yet: the directory
        # has not been told, and must be.
        if self.expires_at is not None:
            events.append(Lapsed(user_id=self.user_id, organisation_id=self.organisation_id, occurred_at=at))
        return self._with(
            *events,
            status=VerificationStatus.REJECTED,
            decided_at=at,
            decided_by=by,
            rejection_reason=reason,
            expires_at=None,
        )

    def lapse(self, *, at: datetime) -> ProfessionalProfile:
        """End a verification whose expiry has passed; a pending renewal stays submitted."""
        if not self.has_lapsed(at):
            raise IllegalTransition("the verification has not expired")
        status = VerificationStatus.EXPIRED if self.status is VerificationStatus.VERIFIED else self.status
        return self._with(
            Lapsed(user_id=self.user_id, organisation_id=self.organisation_id, occurred_at=at),
            status=status,
            expires_at=None,
        )

    def withdraw(self, *, at: datetime) -> ProfessionalProfile:
        """End the listing now, whatever the expiry (the person is no longer a professional of the organisation)."""
        if self.expires_at is None:
            return self
        status = VerificationStatus.EXPIRED if self.status is VerificationStatus.VERIFIED else self.status
        return self._with(
            Lapsed(user_id=self.user_id, organisation_id=self.organisation_id, occurred_at=at),
            status=status,
            expires_at=None,
        )

    def remind(self, *, at: datetime) -> ProfessionalProfile:
        """Ask the professional, once per verification, to renew before it expires."""
        if not self.is_reverification_due(at):
            raise IllegalTransition("no reminder is due")
        assert self.expires_at is not None  # is_reverification_due says so
        return self._with(
            ReverificationDue(
                user_id=self.user_id, organisation_id=self.organisation_id, occurred_at=at, expires_at=self.expires_at
            ),
            reminded_at=at,
        )

    def _with(self, *events: VerificationEvent, **changes: object) -> ProfessionalProfile:
        return replace(self, pending_events=(*self.pending_events, *events), **changes)  # type: ignore[arg-type]
