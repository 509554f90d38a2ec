"""The audit trail: every read or write of personal or health data, by whom, of whose data (ARCHITECTURE
"Audit"). Every service publishes these through ``kairos.platform.audit``; monitoring keeps them.

A record names fields, never their values: the trail is itself kept outside the producer's encryption.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from kairos.platform.events.envelope import IntegrationEvent

AuditAction = Literal["read", "create", "update", "delete"]


class AuditRecorded(IntegrationEvent):
    event_type: ClassVar[str] = "audit.recorded"

    service: str
    actor: str  # the token's subject: a user id, or a client id for a client's own token
    actor_client: str | None = None  # the OAuth client the actor used
    action: AuditAction
    resource_type: str  # "<service>.<kind>", e.g. identity.profile
    resource_id: str
    data_subject: str | None = None  # whose personal data it is (a user id), when it is a person's
    fields: list[str] = Field(default_factory=list)  # names of the fields, never their values
    purpose: str | None = None  # why, when the actor is not the data subject (e.g. verification)
    recorded_at: datetime
