"""API models of organisations' identity providers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr

from kairos.identity.domain.federation import ENTRA_AUTHORITY, ProviderKind
from kairos.identity.domain.roles import Role

Domain = Annotated[str, Field(min_length=3, max_length=253, examples=["harbour-clinic.example"])]
TenantId = Annotated[str, Field(min_length=1, max_length=64)]


class IdentityProviderCreate(BaseModel):
    display_name: str = Field(min_length=1, max_length=100, description='shown as "Sign in with <display name>"')
    kind: ProviderKind
    issuer: str | None = Field(
        default=None, max_length=2000, description="OpenID Connect: the issuer, discovered at its .well-known URL"
    )
    tenant: TenantId | None = Field(
        default=None, description="Entra ID: the tenant id, or organizations / common for a multi-tenant app"
    )
    authority: str = Field(
        default=ENTRA_AUTHORITY, max_length=2000, description="Entra ID: the cloud's login host (national clouds)"
    )
    allowed_tenants: list[TenantId] = Field(
        default_factory=list, max_length=100, description="Entra ID multi-tenant: the tenants whose people may sign in"
    )
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=2000, description="kept encrypted, never shown again")
    allowed_email_domains: list[Domain] = Field(
        default_factory=list,
        max_length=100,
        description="addresses in these domains are trusted from this provider (to confirm, or to offer a link)",
    )
    default_role: Role = Field(default=Role.PATIENT, description="patient, professional or staff")
    is_jit_allowed: bool = Field(default=False, description="create an account at a person's first sign-in")


class IdentityProviderUpdate(BaseModel):
    """The fields sent are changed, checked as at registration; the kind stays. A new issuer (OpenID Connect) or
    tenant or authority (Entra ID) removes the provider's links: people link their accounts again."""

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    issuer: str | None = Field(default=None, max_length=2000)
    tenant: TenantId | None = None
    authority: str | None = Field(default=None, max_length=2000)
    allowed_tenants: list[TenantId] | None = Field(default=None, max_length=100)
    client_id: str | None = Field(default=None, min_length=1, max_length=200)
    client_secret: SecretStr | None = Field(default=None, min_length=1, max_length=2000)
    allowed_email_domains: list[Domain] | None = Field(default=None, max_length=100)
    default_role: Role | None = None
    is_jit_allowed: bool | None = None
    is_enabled: bool | None = Field(default=None, description="false: nobody signs in through it (links stay)")

    def changes(self) -> dict[str, object]:
        sent = self.model_dump(exclude_unset=True)
        if self.client_secret is not None:
            sent["client_secret"] = self.client_secret.get_secret_value()
        for listed in ("allowed_tenants", "allowed_email_domains"):
            if listed in sent and sent[listed] is None:
                sent[listed] = []
        return sent


class IdentityProviderRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    display_name: str
    kind: ProviderKind
    issuer: str
    tenant: str | None
    allowed_tenants: list[str]
    client_id: str
    allowed_email_domains: list[str]
    default_role: Role
    is_jit_allowed: bool
    is_enabled: bool
    created_at: datetime
    updated_at: datetime | None
