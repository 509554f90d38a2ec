"""API models of the identity service's own API (the OAuth endpoints speak their RFCs' form and JSON).

No model here carries a password hash or a client-secret digest: a client secret appears once, in
``ClientCreated``, and passwords only ever come in.
"""

from __future__ import annotations

import functools
import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, model_validator

from kairos.identity.domain.consents import ClosedBy
from kairos.identity.domain.profiles import Channel, NotificationKind
from kairos.identity.domain.roles import Role
from kairos.identity.domain.verification import VerificationStatus

# A sanity check only: whoever holds the address proves it by answering mail.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _scoped(role: Role, organisation_id: uuid.UUID | None) -> None:
    if role.is_organisational and organisation_id is None:
        raise ValueError(f"the role {role.value} is held inside an organisation: give organisation_id")
    if not role.is_organisational and organisation_id is not None:
        raise ValueError(f"the role {role.value} is held globally: give no organisation_id")


def _redirect_uri(value: str) -> str:
    # Absolute, without a fragment (RFC 6749 §3.1.2); matched later as the exact string registered.
    parts = urlsplit(value)
    if not parts.scheme or parts.fragment or "#" in value:
        raise ValueError("a redirect URI is absolute and has no fragment")
    return value


RedirectUri = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_redirect_uri)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, pattern=EMAIL_PATTERN)
    display_name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    organisation_id: uuid.UUID | None = Field(default=None, description="where the organisational roles are held")
    password: SecretStr | None = Field(
        default=None, max_length=1024, description="none: the person sets one through a password reset"
    )
    is_email_verified: bool = False

    @model_validator(mode="after")
    def _roles_fit_the_organisation(self) -> Self:
        organisational = [role for role in self.roles if role.is_organisational]
        if organisational and self.organisation_id is None:
            raise ValueError(f"the roles {sorted(organisational)} are held inside an organisation: give one")
        if self.organisation_id is not None and not organisational:
            raise ValueError("organisation_id is for organisational roles (professional, staff, domain_admin)")
        return self


class MembershipRead(BaseModel):
    organisation_id: uuid.UUID
    role: Role


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str
    locale: str
    zone: str
    roles: list[Role] = Field(description="roles held globally (patient, operator)")
    memberships: list[MembershipRead] = Field(description="roles held inside an organisation")
    is_email_verified: bool
    is_disabled: bool
    created_at: datetime


class RoleAssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    organisation_id: uuid.UUID | None = Field(default=None, description="required for organisational roles")

    @model_validator(mode="after")
    def _scoped_as_the_role_is(self) -> Self:
        _scoped(self.role, self.organisation_id)
        return self


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    grant_types: list[str] = Field(
        min_length=1, max_length=3, description="authorization_code, refresh_token, client_credentials"
    )
    redirect_uris: list[RedirectUri] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[RedirectUri] = Field(default_factory=list, max_length=20)
    scopes: list[Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$")]] = Field(
        default_factory=lambda: ["openid", "profile", "email", "offline_access"], max_length=50
    )
    is_public: bool = Field(default=False, description="a browser or native app: PKCE, no secret")
    is_first_party: bool = Field(default=False, description="a Kairos application: no consent screen")


class ClientRead(BaseModel):
    client_id: str
    name: str
    grant_types: list[str]
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[str]
    is_public: bool
    is_first_party: bool
    created_at: datetime


class ClientCreated(ClientRead):
    client_secret: str | None = Field(description="shown this once; only a digest is kept. None: a public client")


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime = Field(description="when the person signed in")
    last_seen_at: datetime
    expires_at: datetime = Field(description="the absolute timeout")
    user_agent: str | None
    is_current: bool = Field(description="the session the calling access token was obtained in")


# --- profiles, professional verification, role management, consents ---------------------------------------------

# BCP 47 language tags as the web app and notifications use them: language, optional script and region.
LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"
# E.164: a plus sign, then up to 15 digits, the first not zero.
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _iana_zone(value: str) -> str:
    if value not in _known_zones():
        raise ValueError("not an IANA time zone name (like Europe/Paris)")
    return value


LanguageTag = Annotated[str, Field(max_length=35, pattern=LANGUAGE_TAG_PATTERN, examples=["en", "fr-CA"])]
TimeZoneName = Annotated[str, Field(max_length=64, examples=["Europe/Paris"]), AfterValidator(_iana_zone)]
NotificationChannels = dict[NotificationKind, Annotated[list[Channel], Field(max_length=len(Channel))]]


class ProfileRead(BaseModel):
    user_id: uuid.UUID
    email: str
    display_name: str = Field(description="what others are shown")
    given_name: str | None
    family_name: str | None
    phone: str | None = Field(description="E.164")
    locale: str = Field(description="BCP 47 language tag")
    zone: str = Field(description="IANA time zone")
    notifications: NotificationChannels = Field(description="for each kind of notification, its channels")
    updated_at: datetime | None


class ProfileUpdate(BaseModel):
    """The fields to change; those left out are kept, and ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    locale: LanguageTag = Field(default=None)  # type: ignore[assignment]
    zone: TimeZoneName = Field(default=None)  # type: ignore[assignment]
    notifications: NotificationChannels = Field(
        default=None,  # type: ignore[assignment]
        description="the kinds named get exactly these channels; the others are kept",
    )

    @model_validator(mode="after")
    def _required_fields_are_not_cleared(self) -> Self:
        for name in ("display_name", "locale", "zone", "notifications"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self


class CredentialsWrite(BaseModel):
    """A professional's credentials; a draft may be incomplete, a submission may not."""

    model_config = ConfigDict(extra="forbid")

    specialty: str = Field(default="", max_length=200, description="or the practice area, in a law firm")
    licence_number: str = Field(default="", max_length=100)
    issuing_authority: str = Field(default="", max_length=200)
    languages: list[LanguageTag] = Field(default_factory=list, max_length=20)
    location: str | None = Field(default=None, min_length=1, max_length=200)
    document_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=20, description="supporting documents, held by the documents service"
    )


class ProfessionalProfileRead(BaseModel):
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    display_name: str
    status: VerificationStatus
    specialty: str
    licence_number: str
    issuing_authority: str
    languages: list[str]
    location: str | None
    document_ids: list[uuid.UUID]
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    rejection_reason: str | None
    verified_at: datetime | None
    expires_at: datetime | None = Field(description="when the verification valid now ends")
    is_listed: bool = Field(description="shown in the directory of bookable professionals now")


class VerificationDecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["verify", "reject"]
    reason: str | None = Field(default=None, max_length=2000, description="required to reject")
    expires_at: AwareDatetime | None = Field(
        default=None, description="when the verification ends (a licence's expiry); default: in a year"
    )

    @model_validator(mode="after")
    def _fits_the_decision(self) -> Self:
        if self.decision == "reject" and (self.reason is None or not self.reason.strip()):
            raise ValueError("a rejection says why: give reason")
        if self.decision == "reject" and self.expires_at is not None:
            raise ValueError("expires_at is for a verification")
        return self


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str
    display_name: str
    roles: list[Role] = Field(description="roles held in this organisation")


class MyOrganisationRead(BaseModel):
    organisation_id: uuid.UUID
    name: str
    kind: str
    roles: list[Role] = Field(description="your roles in this organisation")
    is_acting: bool = Field(
        description="whether this request's token acts for it; to act for another, authorize again with "
        "organisation=<organisation_id>"
    )


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=50, description="the version of the purpose's text agreed to")


class ConsentRead(BaseModel):
    id: uuid.UUID
    purpose: str
    version: str
    granted_at: datetime
    closed_at: datetime | None
    closed_by: ClosedBy | None = Field(description="withdrawn, or superseded by consent to a newer version")
    is_current: bool


class PurposeRead(BaseModel):
    name: str
    version: str = Field(description="the current version of its text")
    description: str


# --- data-subject requests (GDPR export and erasure; kairos.identity.privacy) ---------------------------------------


class DataRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["export", "erasure"] = Field(
        description="export: a machine-readable copy of your data (GDPR Art. 15, 20); erasure: your account and "
        "data erased, or anonymised where a law requires keeping the record (Art. 17; needs a sign-in in the last "
        "10 minutes, and locks the account at once)"
    )


class DataRequestRead(BaseModel):
    id: uuid.UUID
    kind: Literal["export", "erasure"]
    status: Literal["requested", "collecting", "complete", "failed"]
    requested_at: datetime
    deadline: datetime = Field(description="when a request still waiting for a service's answer fails")
    completed_at: datetime | None
    failed_at: datetime | None
    failure_reason: str | None
    answered: list[str] = Field(description="the services that have answered")
    waiting_for: list[str] = Field(description="the services whose answer is still awaited")
    download_url: str | None = Field(description="a complete export: where its subject downloads it")
    receipt_url: str | None = Field(
        description="an erasure: where an operator reads its receipt (the person gets it by mail once complete)"
    )


class ErasureStatementRead(BaseModel):
    deleted: list[str] = Field(default_factory=list)
    anonymised: list[dict[str, str]] = Field(default_factory=list, description="what was kept, how, and why")
    completed_at: datetime | None = None


class ErasureReceiptRead(BaseModel):
    """An erasure's receipt: each service's statement, no personal data."""

    id: uuid.UUID
    status: Literal["requested", "collecting", "complete", "failed"]
    requested_at: datetime
    completed_at: datetime | None
    failed_at: datetime | None
    failure_reason: str | None
    statements: dict[str, ErasureStatementRead]
