"""Events the identity service publishes about accounts, profiles, roles and professionals.

They carry ids and what other services' read models need; never an e-mail address, a password or anything a
consumer does not need (data minimisation: events are kept in queues and logs outside identity's encryption).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from kairos.platform.events.envelope import IntegrationEvent


class UserRegistered(IntegrationEvent):
    """A new account exists (self-registered, created by an operator, or just-in-time from single sign-on)."""

    event_type: ClassVar[str] = "identity.user.registered"

    user_id: UUID
    organisation_id: UUID | None = None
    roles: list[str]
    locale: str | None = None
    registered_at: datetime
    display_name: str | None = None  # the name the account was given (what practices greet their patients by)


class EmailVerified(IntegrationEvent):
    event_type: ClassVar[str] = "identity.user.email_verified"

    user_id: UUID
    verified_at: datetime


class ProfileUpdated(IntegrationEvent):
    """The public face of a profile changed (what other services show: name, locale, time zone)."""

    event_type: ClassVar[str] = "identity.profile.updated"

    user_id: UUID
    display_name: str
    locale: str | None = None
    time_zone: str | None = None
    updated_at: datetime


class ProfessionalVerificationRequested(IntegrationEvent):
    """A professional submitted credentials for verification: the organisation's verifiers have work."""

    event_type: ClassVar[str] = "identity.professional.submitted"

    user_id: UUID
    organisation_id: UUID
    submitted_at: datetime


class ProfessionalVerified(IntegrationEvent):
    """A professional's credentials were verified: from now until ``expires_at`` they may be listed and booked.

    The appointments service keeps its directory of bookable professionals from this event and the two below.
    """

    event_type: ClassVar[str] = "identity.professional.verified"

    user_id: UUID
    organisation_id: UUID
    display_name: str
    specialty: str
    languages: list[str]
    location: str | None = None
    expires_at: datetime | None = None
    verified_at: datetime


class ProfessionalVerificationRejected(IntegrationEvent):
    event_type: ClassVar[str] = "identity.professional.rejected"

    user_id: UUID
    organisation_id: UUID
    reason: str
    rejected_at: datetime


class ProfessionalVerificationLapsed(IntegrationEvent):
    """A verification expired or was withdrawn: the professional leaves the directory until verified again."""

    event_type: ClassVar[str] = "identity.professional.lapsed"

    user_id: UUID
    organisation_id: UUID
    lapsed_at: datetime


class ProfessionalReverificationDue(IntegrationEvent):
    """A verification expires soon: the professional is reminded to submit fresh evidence."""

    event_type: ClassVar[str] = "identity.professional.reverification_due"

    user_id: UUID
    organisation_id: UUID
    expires_at: datetime


class RoleAssigned(IntegrationEvent):
    event_type: ClassVar[str] = "identity.role.assigned"

    user_id: UUID
    organisation_id: UUID | None = None
    role: str
    actor: str
    assigned_at: datetime


class RoleRevoked(IntegrationEvent):
    event_type: ClassVar[str] = "identity.role.revoked"

    user_id: UUID
    organisation_id: UUID | None = None
    role: str
    actor: str
    revoked_at: datetime


class ConsentGranted(IntegrationEvent):
    """A person agreed to a version of a purpose's text (e.g. ``reminders_by_sms``): services that act on the
    purpose may now do so."""

    event_type: ClassVar[str] = "identity.consent.granted"

    user_id: UUID
    purpose: str
    version: str
    granted_at: datetime


class ConsentWithdrawn(IntegrationEvent):
    """A person withdrew their consent to a purpose: services stop acting on it from now on."""

    event_type: ClassVar[str] = "identity.consent.withdrawn"

    user_id: UUID
    purpose: str
    withdrawn_at: datetime
