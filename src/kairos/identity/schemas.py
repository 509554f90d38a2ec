"""API models of the identity service's own API (the OAuth endpoints speak their RFCs' form and JSON).

No model here carries a password hash or a client-secret digest: a client secret appears once, in
``ClientCreated``, and passwords only ever come in.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from kairos.identity.domain.roles import Role

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
